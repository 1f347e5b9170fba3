//! `wormgate user add|list|show|disable|enable|rotate|delete`: catalog users, offline on a stopped
//! gateway's data dir or through the admin API of a running one (`--endpoint`, admin key). Offline
//! changes are audited in the data dir's trail like the admin API's (operation `User…`, principal
//! `offline:$USER`); a running gateway picks them up at its next start (online ones at once).

use super::client::{query, AdminClient};
use super::error::CliError;
use super::evidence::Target;
use crate::audit::{AuditEvent, AuditLog, AuditOptions};
use crate::auth::Role;
use crate::datadir::{audit_dir, open_catalog, write_anchor};
use crate::gateway::ADMIN_PREFIX;
use crate::keys::{self, NewKey, UserCommand, UserView};
use clap::{Args, Subcommand, ValueEnum};
use std::fmt::Write as _;
use std::sync::Arc;

/// Output format of `user` commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// `wormgate user …`
#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user with a new key pair; prints the access key and the secret (shown only this once).
    Add(AddArgs),
    /// Every user (config file and catalog), without secrets.
    List(Common),
    /// One user, without its secret.
    Show(NameArgs),
    /// Refuse the user's keys from the next request on (answered `InvalidAccessKeyId`).
    Disable(NameArgs),
    /// Accept a disabled user's keys again.
    Enable(NameArgs),
    /// New key pair; with --grace the old key keeps working that long (`24h`), else it stops at once.
    Rotate(RotateArgs),
    /// Remove a catalog user and its keys.
    Delete(NameArgs),
}

#[derive(Debug, Args)]
pub struct Common {
    #[command(flatten)]
    pub target: Target,
    /// `text` or `json`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct NameArgs {
    /// User name (1-64 of A-Z a-z 0-9 . _ - @).
    pub name: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    pub name: String,
    /// writer, backup, officer, auditor, admin (the config file's role names).
    #[arg(long)]
    pub role: String,
    /// Comma-separated buckets the key may reach: `veeam-*,archive,logs/host1/*` (default: all).
    #[arg(long)]
    pub buckets: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    pub name: String,
    /// How long the old key stays valid (`24h`, `7d`; default: revoked at once).
    #[arg(long)]
    pub grace: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

fn print_key(k: &NewKey, name: &str, format: Format) -> String {
    match format {
        Format::Json => serde_json::json!({ "access_key": k.access_key, "secret_key": k.secret_key.expose() }).to_string() + "\n",
        Format::Text => format!(
            "user {name}\naccess key: {}\nsecret key: {}\n(the secret is shown only now: store it in the backup server's credentials)\n",
            k.access_key,
            k.secret_key.expose()
        ),
    }
}

fn print_views(v: &[UserView], format: Format) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(v).unwrap_or_default() + "\n",
        Format::Text => {
            let mut out = format!(
                "{:<24} {:<8} {:<8} {:<22} {:<9} buckets\n",
                "name", "source", "role", "access key", "state"
            );
            for u in v {
                let _ = writeln!(
                    out,
                    "{:<24} {:<8} {:<8} {:<22} {:<9} {}{}",
                    u.name,
                    u.source,
                    u.role,
                    u.access_key,
                    if u.disabled { "disabled" } else { "enabled" },
                    if u.buckets.is_empty() {
                        "*".to_string()
                    } else {
                        u.buckets.join(",")
                    },
                    match (&u.previous_access_key, &u.previous_valid_until) {
                        (Some(k), Some(t)) => format!(" (old key {k} valid until {t})"),
                        _ => String::new(),
                    }
                );
            }
            out
        }
    }
}

/// The change a command asks for (`None`: list/show).
fn command_of(cmd: &UserCmd) -> Result<Option<UserCommand>, CliError> {
    Ok(Some(match cmd {
        UserCmd::List(_) | UserCmd::Show(_) => return Ok(None),
        UserCmd::Add(a) => UserCommand::Add {
            name: a.name.clone(),
            role: Role::parse(&a.role).map_err(CliError::usage)?,
            buckets: a
                .buckets
                .as_deref()
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        },
        UserCmd::Disable(a) => UserCommand::Disable { name: a.name.clone() },
        UserCmd::Enable(a) => UserCommand::Enable { name: a.name.clone() },
        UserCmd::Rotate(a) => UserCommand::Rotate {
            name: a.name.clone(),
            grace: keys::parse_grace(a.grace.as_deref().unwrap_or(""))?,
        },
        UserCmd::Delete(a) => UserCommand::Delete { name: a.name.clone() },
    }))
}

fn common(cmd: &UserCmd) -> &Common {
    match cmd {
        UserCmd::List(c) => c,
        UserCmd::Show(a) | UserCmd::Disable(a) | UserCmd::Enable(a) | UserCmd::Delete(a) => &a.common,
        UserCmd::Add(a) => &a.common,
        UserCmd::Rotate(a) => &a.common,
    }
}

/// Run a `user` command; exit code.
pub fn run(cmd: &UserCmd) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wormgate: cannot start runtime: {e}");
            return 1;
        }
    };
    match rt.block_on(execute(cmd)) {
        Ok(s) => {
            print!("{s}");
            0
        }
        Err(e) => {
            eprintln!("wormgate: {e}");
            1
        }
    }
}

async fn execute(cmd: &UserCmd) -> Result<String, CliError> {
    let c = common(cmd);
    let change = command_of(cmd)?;
    if let Some(client) = c.target.client()? {
        return online(&client, cmd, change, c.format).await;
    }
    let cat = open_catalog(&c.target.data_dir()).map_err(CliError::failed)?;
    let Some(change) = change else {
        let views = match cmd {
            UserCmd::Show(a) => vec![keys::show(&cat, &[], &a.name).map_err(CliError::failed)?],
            _ => keys::list(&cat, &[]).map_err(CliError::failed)?,
        };
        return Ok(print_views(&views, c.format));
    };
    let state = cat.state().clone();
    let opts = AuditOptions {
        anchor: Some(Arc::new(move |seq, hash: &str| write_anchor(&state, seq, hash))),
        ..Default::default()
    };
    let audit = AuditLog::open_with(&audit_dir(&c.target.data_dir()), opts)?;
    let now = chrono::Utc::now();
    let result = keys::apply(&cat, &change, &[], now);
    let mut ev = AuditEvent::internal(change.operation(), crate::timefmt::format_iso(now));
    ev.principal = Some(format!(
        "offline:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    ));
    ev.detail = Some(match &result {
        Ok((_, d)) => d.clone(),
        Err(e) => {
            ev.decision = "error".into();
            format!("user {}: {e}", change.name())
        }
    });
    audit.append(ev).await?;
    cat.flush_now().map_err(CliError::failed)?;
    let (key, detail) = result.map_err(CliError::failed)?;
    Ok(match key {
        Some(k) => print_key(&k, change.name(), c.format),
        None if c.format == Format::Json => "{\"ok\":true}\n".into(),
        None => format!("{detail}\n"),
    })
}

async fn online(
    client: &AdminClient,
    cmd: &UserCmd,
    change: Option<UserCommand>,
    format: Format,
) -> Result<String, CliError> {
    let base = format!("{ADMIN_PREFIX}users");
    let enc = crate::encoding::encode_component;
    let (method, path) = match (&change, cmd) {
        (None, UserCmd::Show(a)) => ("GET", format!("{base}/{}", enc(&a.name))),
        (None, _) => ("GET", base.clone()),
        (Some(UserCommand::Add { name, role, buckets }), _) => (
            "POST",
            format!(
                "{base}/{}{}",
                enc(name),
                query(&[
                    ("role", Some(role.as_name())),
                    ("buckets", (!buckets.is_empty()).then(|| buckets.join(","))),
                ])
            ),
        ),
        (Some(UserCommand::Disable { name }), _) => ("POST", format!("{base}/{}/disable", enc(name))),
        (Some(UserCommand::Enable { name }), _) => ("POST", format!("{base}/{}/enable", enc(name))),
        (Some(UserCommand::Rotate { name, grace }), _) => (
            "POST",
            format!(
                "{base}/{}/rotate{}",
                enc(name),
                query(&[("grace", grace.map(|g| format!("{}s", g.num_seconds())))])
            ),
        ),
        (Some(UserCommand::Delete { name }), _) => ("DELETE", format!("{base}/{}", enc(name))),
    };
    let out = client.call(method, &path, Vec::new()).await?;
    let v: serde_json::Value = serde_json::from_slice(&out).map_err(|e| CliError::step("bad answer", e))?;
    match change {
        None => {
            let views: Vec<UserView> = if v.is_array() {
                serde_json::from_value(v)
            } else {
                serde_json::from_value(v).map(|one| vec![one])
            }
            .map_err(|e| CliError::step("bad answer", e))?;
            Ok(print_views(&views, format))
        }
        Some(ch) => match (
            v.get("access_key").and_then(|s| s.as_str()),
            v.get("secret_key").and_then(|s| s.as_str()),
        ) {
            (Some(a), Some(s)) => Ok(print_key(
                &NewKey {
                    access_key: a.to_string(),
                    secret_key: s.into(),
                },
                ch.name(),
                format,
            )),
            _ if format == Format::Json => Ok("{\"ok\":true}\n".into()),
            _ => Ok(format!("{} {}: done\n", ch.operation(), ch.name())),
        },
    }
}
