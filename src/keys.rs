//! Users kept in the catalog (`wormgate user add|list|show|disable|enable|rotate|delete`), beside the
//! config file's `[[users]]`: one key pair per backup server, made and rotated without a restart. The
//! same [`apply`] runs offline on a stopped gateway's data dir and behind the admin API, so both write
//! the same record and the same audit detail. The gateway's [`crate::auth::Keyring`] is refreshed from
//! [`users`] after every change.
//!
//! Records live in the catalog `state` tree under `user/NAME` (the catalog directory is 0700). Secrets
//! come from the operating system's CSPRNG, are shown once (at creation and rotation) and never logged.

use crate::auth::{Principal, Role, Scope, SecretKey, User};
use crate::store::Catalog;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Key prefix of user records in the catalog `state` tree.
const USER_PREFIX: &[u8] = b"user/";

/// A user as stored in the catalog.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub name: String,
    pub role: Role,
    /// `auth::scope` entries; empty: every bucket.
    #[serde(default)]
    pub buckets: Vec<String>,
    #[serde(default)]
    pub disabled: bool,
    pub created: String,
    pub access_key: String,
    pub secret_key: SecretKey,
    /// The key a rotation replaced, valid until its grace period ends.
    #[serde(default)]
    pub previous: Option<PreviousKey>,
}

/// The old key of a rotation with a grace period.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreviousKey {
    pub access_key: String,
    pub secret_key: SecretKey,
    pub valid_until_ms: i64,
}

/// What `list`/`show` print: never a secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserView {
    pub name: String,
    pub role: String,
    pub buckets: Vec<String>,
    pub disabled: bool,
    /// `catalog` (managed with `wormgate user`) or `config` (the config file or the environment).
    pub source: String,
    pub access_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_access_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_valid_until: Option<String>,
}

/// A key pair shown once (creation, rotation).
#[derive(Debug, Serialize)]
pub struct NewKey {
    pub access_key: String,
    pub secret_key: SecretKey,
}

/// A change to the catalog's users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCommand {
    Add {
        name: String,
        role: Role,
        buckets: Vec<String>,
    },
    Disable {
        name: String,
    },
    Enable {
        name: String,
    },
    /// New key pair; the old one stays valid for `grace` (none: it stops at once).
    Rotate {
        name: String,
        grace: Option<chrono::Duration>,
    },
    Delete {
        name: String,
    },
}

impl UserCommand {
    /// Audit operation name (the admin API prefixes `Admin`).
    pub fn operation(&self) -> &'static str {
        match self {
            UserCommand::Add { .. } => "UserAdd",
            UserCommand::Disable { .. } => "UserDisable",
            UserCommand::Enable { .. } => "UserEnable",
            UserCommand::Rotate { .. } => "UserRotate",
            UserCommand::Delete { .. } => "UserDelete",
        }
    }

    /// The user the command is about.
    pub fn name(&self) -> &str {
        match self {
            UserCommand::Add { name, .. }
            | UserCommand::Disable { name }
            | UserCommand::Enable { name }
            | UserCommand::Rotate { name, .. }
            | UserCommand::Delete { name } => name,
        }
    }
}

/// Why a user command was refused; `status` is the admin API's answer.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The command is malformed (bad name, role, scope); the message says what.
    #[error("{0}")]
    Invalid(String),
    /// No such user.
    #[error("{0}")]
    NotFound(String),
    /// The user exists already (or is the config file's).
    #[error("{0}")]
    Exists(String),
    /// The catalog (or the OS's randomness) failed; the cause is kept.
    #[error("{what}: {source}")]
    Store {
        /// What failed (`catalog`, `no randomness`, `user x does not decode`).
        what: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl KeyError {
    /// HTTP status of the admin API answer.
    pub fn status(&self) -> u16 {
        match self {
            KeyError::Invalid(_) => 400,
            KeyError::NotFound(_) => 404,
            KeyError::Exists(_) => 409,
            KeyError::Store { .. } => 500,
        }
    }
}

fn store_err(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> KeyError {
    KeyError::Store {
        what: "catalog".into(),
        source: e.into(),
    }
}

/// A `--grace` (or `?grace=`) value that is neither none nor a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--grace {0}")]
pub struct GraceError(#[source] pub crate::config::DurationError);

/// Parse a `--grace` value: `0`/`none` for none, else a duration like `24h`.
pub fn parse_grace(s: &str) -> Result<Option<chrono::Duration>, GraceError> {
    match s.trim() {
        "0" | "0s" | "none" | "" => Ok(None),
        v => crate::config::parse_duration(v).map(Some).map_err(GraceError),
    }
}

/// Whether `name` can be a user name (also a path segment of the admin API).
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
}

/// `n` characters of `alphabet`, uniformly from the OS CSPRNG (rejection sampling: no modulo bias).
fn random_string(alphabet: &[u8], n: usize) -> Result<String, KeyError> {
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        getrandom::getrandom(&mut buf).map_err(|e| KeyError::Store {
            what: "no randomness".into(),
            source: e.to_string().into(),
        })?;
        for &b in &buf {
            if (b as usize) < limit && out.len() < n {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    zeroize::Zeroize::zeroize(&mut buf);
    Ok(out)
}

/// A fresh key pair: a 20-character access key (`WG` + base32) and a 40-character secret (~238 bits).
pub fn generate() -> Result<NewKey, KeyError> {
    let access_key = format!("WG{}", random_string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 18)?);
    let secret_key = random_string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 40)?.into();
    Ok(NewKey { access_key, secret_key })
}

fn record_key(name: &str) -> Vec<u8> {
    [USER_PREFIX, name.as_bytes()].concat()
}

/// Every catalog user record.
pub fn records(cat: &Catalog) -> Result<Vec<UserRecord>, KeyError> {
    let mut out = Vec::new();
    for item in cat.state().scan_prefix(USER_PREFIX) {
        let (_, v) = item.map_err(store_err)?;
        match serde_json::from_slice::<UserRecord>(&v) {
            Ok(r) => out.push(r),
            Err(e) => tracing::error!(error = %e, "a catalog user record does not decode; it is ignored"),
        }
    }
    Ok(out)
}

fn record(cat: &Catalog, name: &str) -> Result<UserRecord, KeyError> {
    let raw = cat
        .state()
        .get(record_key(name))
        .map_err(store_err)?
        .ok_or_else(|| KeyError::NotFound(format!("no catalog user {name}")))?;
    serde_json::from_slice(&raw).map_err(|e| KeyError::Store {
        what: format!("user {name} does not decode"),
        source: e.into(),
    })
}

fn put(cat: &Catalog, r: &UserRecord) -> Result<(), KeyError> {
    let v = serde_json::to_vec(r).map_err(store_err)?;
    cat.state().insert(record_key(&r.name), v).map_err(store_err)?;
    Ok(())
}

/// The keys the catalog's users authenticate with now: enabled users' current keys, plus old keys
/// still in their grace period (which stop by themselves: `User::not_after`).
pub fn users(cat: &Catalog) -> Result<Vec<User>, KeyError> {
    let now_ms = Utc::now().timestamp_millis();
    let mut out = Vec::new();
    for r in records(cat)? {
        if r.disabled {
            continue;
        }
        let scope = match Scope::parse(&r.buckets) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(user = %r.name, error = %e, "catalog user has an invalid bucket scope; its keys are not loaded");
                continue;
            }
        };
        let principal = |access_key: &str| Principal {
            access_key: access_key.to_string(),
            name: r.name.clone(),
            role: r.role,
            scope: scope.clone(),
        };
        out.push(User::new(principal(&r.access_key), r.secret_key.clone()));
        if let Some(p) = r.previous.as_ref().filter(|p| p.valid_until_ms > now_ms) {
            out.push(User {
                principal: principal(&p.access_key),
                secret_key: p.secret_key.clone(),
                not_after: DateTime::from_timestamp_millis(p.valid_until_ms),
            });
        }
    }
    Ok(out)
}

fn view(r: &UserRecord) -> UserView {
    let now_ms = Utc::now().timestamp_millis();
    let prev = r.previous.as_ref().filter(|p| p.valid_until_ms > now_ms);
    UserView {
        name: r.name.clone(),
        role: r.role.as_name(),
        buckets: r.buckets.clone(),
        disabled: r.disabled,
        source: "catalog".into(),
        access_key: r.access_key.clone(),
        created: Some(r.created.clone()),
        previous_access_key: prev.map(|p| p.access_key.clone()),
        previous_valid_until: prev
            .and_then(|p| DateTime::from_timestamp_millis(p.valid_until_ms))
            .map(crate::timefmt::format_iso),
    }
}

/// Every user: the config file's (`config`) and the catalog's (`catalog`), by name.
pub fn list(cat: &Catalog, config_users: &[User]) -> Result<Vec<UserView>, KeyError> {
    let mut out: Vec<UserView> = config_users
        .iter()
        .map(|u| UserView {
            name: u.principal.name.clone(),
            role: u.principal.role.as_name(),
            buckets: u.principal.scope.entries(),
            disabled: false,
            source: "config".into(),
            access_key: u.principal.access_key.clone(),
            created: None,
            previous_access_key: None,
            previous_valid_until: None,
        })
        .collect();
    out.extend(records(cat)?.iter().map(view));
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.source.cmp(&b.source)));
    Ok(out)
}

/// One user by name (catalog first, then the config file).
pub fn show(cat: &Catalog, config_users: &[User], name: &str) -> Result<UserView, KeyError> {
    list(cat, config_users)?
        .into_iter()
        .find(|v| v.name == name)
        .ok_or_else(|| KeyError::NotFound(format!("no user {name}")))
}

/// Apply `cmd` to the catalog (the caller makes it durable and refreshes the keyring). Returns the key
/// pair to show once (add, rotate) and the audit detail (no secret in it).
pub fn apply(
    cat: &Catalog,
    cmd: &UserCommand,
    config_users: &[User],
    now: DateTime<Utc>,
) -> Result<(Option<NewKey>, String), KeyError> {
    let name = cmd.name();
    if !valid_name(name) {
        return Err(KeyError::Invalid(format!(
            "'{name}' is not a user name (1-64 of A-Z a-z 0-9 . _ - @)"
        )));
    }
    let in_config = config_users.iter().any(|u| u.principal.name == name);
    match cmd {
        UserCommand::Add { role, buckets, .. } => {
            if in_config {
                return Err(KeyError::Exists(format!("user {name} is defined in the config file")));
            }
            let scope = Scope::parse(buckets).map_err(|e| KeyError::Invalid(e.to_string()))?;
            let key = generate()?;
            let r = UserRecord {
                name: name.to_string(),
                role: *role,
                buckets: scope.entries(),
                disabled: false,
                created: crate::timefmt::format_iso(now),
                access_key: key.access_key.clone(),
                secret_key: key.secret_key.clone(),
                previous: None,
            };
            let v = serde_json::to_vec(&r).map_err(store_err)?;
            let swapped = cat
                .state()
                .compare_and_swap(record_key(name), None as Option<&[u8]>, Some(v))
                .map_err(store_err)?;
            if swapped.is_err() {
                return Err(KeyError::Exists(format!("user {name} exists")));
            }
            let detail = format!(
                "user {name} added: role {}, buckets {}, access key {}",
                r.role.as_name(),
                if r.buckets.is_empty() {
                    "all".to_string()
                } else {
                    r.buckets.join(",")
                },
                r.access_key
            );
            Ok((Some(key), detail))
        }
        UserCommand::Disable { .. } | UserCommand::Enable { .. } => {
            let disable = matches!(cmd, UserCommand::Disable { .. });
            let mut r = record(cat, name)?;
            r.disabled = disable;
            put(cat, &r)?;
            Ok((
                None,
                format!(
                    "user {name} {}: access key {}",
                    if disable { "disabled" } else { "enabled" },
                    r.access_key
                ),
            ))
        }
        UserCommand::Rotate { grace, .. } => {
            let mut r = record(cat, name)?;
            let key = generate()?;
            let old = std::mem::replace(&mut r.access_key, key.access_key.clone());
            let old_secret = std::mem::replace(&mut r.secret_key, key.secret_key.clone());
            let until = grace.map(|g| now + g);
            r.previous = until.map(|t| PreviousKey {
                access_key: old.clone(),
                secret_key: old_secret,
                valid_until_ms: t.timestamp_millis(),
            });
            put(cat, &r)?;
            let detail = format!(
                "user {name} rotated: new access key {}, old access key {old} {}",
                r.access_key,
                match until {
                    Some(t) => format!("valid until {}", crate::timefmt::format_iso(t)),
                    None => "revoked".into(),
                }
            );
            Ok((Some(key), detail))
        }
        UserCommand::Delete { .. } => {
            let r = record(cat, name)?;
            cat.state().remove(record_key(name)).map_err(store_err)?;
            Ok((None, format!("user {name} deleted: access key {}", r.access_key)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn add_rotate_disable_delete() {
        let dir = tempfile::tempdir().unwrap();
        let cat = Catalog::open(dir.path()).unwrap();
        let now = Utc::now();
        let add = UserCommand::Add {
            name: "veeam1".into(),
            role: Role::Writer,
            buckets: vec!["veeam-*".into()],
        };
        let (key, detail) = apply(&cat, &add, &[], now).unwrap();
        let key = key.unwrap();
        assert_eq!(key.access_key.len(), 20);
        assert_eq!(key.secret_key.len(), 40);
        assert!(
            !detail.contains(key.secret_key.expose()),
            "no secret in the audit detail"
        );
        assert_eq!(apply(&cat, &add, &[], now).unwrap_err().status(), 409);
        let u = users(&cat).unwrap();
        assert_eq!(u.len(), 1);
        assert!(u[0].principal.scope.sees_bucket("veeam-x") && !u[0].principal.scope.sees_bucket("x"));

        let rot = UserCommand::Rotate {
            name: "veeam1".into(),
            grace: Some(chrono::Duration::hours(1)),
        };
        let (new, _) = apply(&cat, &rot, &[], now).unwrap();
        let new = new.unwrap();
        assert_ne!(new.access_key, key.access_key);
        let keys: Vec<String> = users(&cat)
            .unwrap()
            .iter()
            .map(|u| u.principal.access_key.clone())
            .collect();
        assert!(keys.contains(&key.access_key) && keys.contains(&new.access_key));
        let rot0 = UserCommand::Rotate {
            name: "veeam1".into(),
            grace: None,
        };
        apply(&cat, &rot0, &[], now).unwrap();
        assert_eq!(users(&cat).unwrap().len(), 1);

        apply(&cat, &UserCommand::Disable { name: "veeam1".into() }, &[], now).unwrap();
        assert!(users(&cat).unwrap().is_empty());
        assert!(list(&cat, &[]).unwrap()[0].disabled);
        apply(&cat, &UserCommand::Enable { name: "veeam1".into() }, &[], now).unwrap();
        assert_eq!(users(&cat).unwrap().len(), 1);
        apply(&cat, &UserCommand::Delete { name: "veeam1".into() }, &[], now).unwrap();
        assert!(users(&cat).unwrap().is_empty());
        let e = apply(&cat, &UserCommand::Delete { name: "veeam1".into() }, &[], now).unwrap_err();
        assert_eq!(e.status(), 404);
        let bad = UserCommand::Add {
            name: "a/b".into(),
            role: Role::Writer,
            buckets: vec![],
        };
        assert_eq!(apply(&cat, &bad, &[], now).unwrap_err().status(), 400);
        let bad_scope = UserCommand::Add {
            name: "b".into(),
            role: Role::Writer,
            buckets: vec!["x*y".into()],
        };
        assert_eq!(apply(&cat, &bad_scope, &[], now).unwrap_err().status(), 400);
        assert!(records(&cat).unwrap().is_empty(), "a refused add stores nothing");
        // A config-file user's name is taken.
        let cfg = vec![User::new(
            Principal {
                access_key: "AKCFG".into(),
                name: "cfg".into(),
                role: Role::Admin,
                scope: Scope::default(),
            },
            "secret-secret",
        )];
        let dup = UserCommand::Add {
            name: "cfg".into(),
            role: Role::Writer,
            buckets: vec![],
        };
        assert_eq!(apply(&cat, &dup, &cfg, now).unwrap_err().status(), 409);
    }

    #[test]
    fn generated_keys_differ_and_use_their_alphabets() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a.access_key, b.access_key);
        assert_ne!(a.secret_key, b.secret_key);
        assert!(a
            .access_key
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
        assert!(a.secret_key.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(parse_grace("0").unwrap(), None);
        assert_eq!(parse_grace("24h").unwrap(), Some(chrono::Duration::hours(24)));
        assert!(parse_grace("x").is_err());
    }
}
