//! `wormgate evidence bundle|verify`: make the signed evidence bundle an examiner receives
//! (offline from a stopped gateway's `--data-dir` with `--signing-key`, or from a running gateway's
//! admin API with `--endpoint`), and check one (`evidence::manifest`).
//!
//! Exit codes as the other evidence tools: 0 = made / verified; 1 = a problem was found (the bundle
//! does not verify, or the audit trail it packages did not verify); 2 = the command could not run.

use super::client::{query, AdminClient};
use super::error::CliError;
use super::evidence::{Target, EXIT_ERROR, EXIT_PROBLEM};
use crate::audit::export::parse_time_bound;
use crate::datadir::{audit_dir, open_catalog, read_anchor};
use crate::evidence::bundle::{build_tar, BundleRequest, Inputs};
use crate::evidence::manifest::{read_tar, verify, TarEntry};
use crate::gateway::ADMIN_PREFIX;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

/// `wormgate evidence …`
#[derive(Debug, Subcommand)]
pub enum EvidenceCmd {
    /// Package the inventory, the audit export of a period, the verify verdict, checkpoints, the
    /// last scrub, time status and retention settings into one tar with a signed manifest.
    Bundle(BundleArgs),
    /// Check a bundle: every file's SHA-256 and size, no missing or extra file, the signature.
    Verify(VerifyBundleArgs),
}

/// Arguments of `evidence bundle`.
#[derive(Debug, Args)]
pub struct BundleArgs {
    #[command(flatten)]
    pub target: Target,
    /// Where to write the tar.
    #[arg(long)]
    pub out: PathBuf,
    /// Audit records from this time on (inclusive): 2024-01-31 or 2024-01-31T12:00:00Z.
    #[arg(long)]
    pub since: Option<String>,
    /// Audit records up to this time (exclusive).
    #[arg(long)]
    pub until: Option<String>,
    /// Only this bucket (inventory, audit export, retention settings).
    #[arg(long)]
    pub bucket: Option<String>,
    /// Offline: the audit checkpoint key the manifest is signed with (online the gateway's
    /// `--audit-signing-key` signs).
    #[arg(long, env = "WORMGATE_AUDIT_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
    /// Offline: the `--max-offline-gap` the gateway runs with (for the time status).
    #[arg(long, env = "WORMGATE_MAX_OFFLINE_GAP", default_value = "10m")]
    pub max_offline_gap: String,
}

/// Arguments of `evidence verify`.
#[derive(Debug, Args)]
pub struct VerifyBundleArgs {
    /// The bundle (tar).
    pub file: PathBuf,
    /// The public key the examiner expects (hex, or a file whose first line is the hex key).
    #[arg(long)]
    pub public_key: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run `wormgate evidence …`.
pub fn run(cmd: EvidenceCmd) -> i32 {
    match cmd {
        EvidenceCmd::Bundle(a) => bundle(&a),
        EvidenceCmd::Verify(a) => verify_cmd(&a),
    }
}

fn fail(e: impl std::fmt::Display) -> i32 {
    eprintln!("wormgate: {e}");
    EXIT_ERROR
}

/// The `ok` of `audit/verify.json` inside a bundle.
fn packaged_verdict(entries: &[TarEntry]) -> Option<bool> {
    let e = entries.iter().find(|e| e.name == "audit/verify.json")?;
    serde_json::from_slice::<serde_json::Value>(&e.bytes)
        .ok()?
        .get("ok")?
        .as_bool()
}

/// Check the signature of every checkpoint packaged in the bundle: `(checked, problems)`.
fn packaged_checkpoints(entries: &[TarEntry]) -> (usize, Vec<String>) {
    let mut problems = Vec::new();
    let mut n = 0;
    for e in entries.iter().filter(|e| e.name.starts_with("audit/checkpoints/")) {
        n += 1;
        match serde_json::from_slice::<crate::audit::checkpoint::Checkpoint>(&e.bytes) {
            Ok(c) => {
                if let Err(err) = c.verify_signature() {
                    problems.push(format!("{}: {err}", e.name));
                }
            }
            Err(err) => problems.push(format!("{}: not a checkpoint: {err}", e.name)),
        }
    }
    (n, problems)
}

fn bundle(a: &BundleArgs) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start runtime: {e}")),
    };
    let res: Result<Vec<u8>, CliError> = rt.block_on(async {
        let since = a.since.as_deref().map(parse_time_bound).transpose()?;
        let until = a.until.as_deref().map(parse_time_bound).transpose()?;
        if let Some(client) = a.target.client()? {
            return fetch(&client, a, since, until).await;
        }
        let key_path = a.signing_key.as_ref().ok_or_else(|| {
            CliError::usage("an offline bundle needs --signing-key FILE (the audit checkpoint key), or use --endpoint")
        })?;
        let key = crate::audit::checkpoint::load_signing_key(key_path)?;
        let data = a.target.data_dir();
        let cat = open_catalog(&data).map_err(CliError::failed)?;
        let gap = crate::config::parse_duration(&a.max_offline_gap).map_err(|source| {
            crate::config::ConfigError::Duration {
                setting: "--max-offline-gap".into(),
                source,
            }
        })?;
        let dir = audit_dir(&data);
        let inputs = Inputs {
            catalog: &cat,
            audit_dir: &dir,
            verify: crate::audit::verify::VerifyOptions {
                anchor: read_anchor(&cat),
                ..Default::default()
            },
            time: crate::evidence::time::offline_status(&cat, gap.num_milliseconds())?,
            time_sources: None,
            policy: None,
            source: format!("data directory {} (offline)", data.display()),
            now: chrono::Utc::now(),
        };
        let req = BundleRequest {
            since,
            until,
            bucket: a.bucket.clone(),
        };
        build_tar(&inputs, &req, &key)
            .map(|(tar, _)| tar)
            .map_err(CliError::failed)
    });
    let tar = match res {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    // Check what is about to be handed over, whoever built it.
    let entries = match read_tar(tar.as_slice()) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let check = verify(&entries, None);
    if !check.ok {
        print!("{}", check.render());
        return fail("the bundle does not verify; not written");
    }
    if let Err(e) = std::fs::write(&a.out, &tar) {
        return fail(format!("cannot write {}: {e}", a.out.display()));
    }
    let verdict = packaged_verdict(&entries);
    println!(
        "wrote {} ({} bytes, {} files); signed by {}",
        a.out.display(),
        tar.len(),
        check.files_listed + 2,
        check.signed_by.as_deref().unwrap_or("?")
    );
    println!(
        "audit trail verification in the bundle: {}",
        match verdict {
            Some(true) => "OK",
            Some(false) => "FAILED (see audit/verify.txt)",
            None => "missing",
        }
    );
    if verdict == Some(true) {
        0
    } else {
        EXIT_PROBLEM
    }
}

async fn fetch(
    client: &AdminClient,
    a: &BundleArgs,
    since: Option<chrono::DateTime<chrono::Utc>>,
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<u8>, CliError> {
    let q = query(&[
        ("since", since.map(crate::timefmt::format_iso)),
        ("until", until.map(crate::timefmt::format_iso)),
        ("bucket", a.bucket.clone()),
    ]);
    client
        .call("GET", &format!("{ADMIN_PREFIX}evidence{q}"), Vec::new())
        .await
}

/// `--public-key`: a hex key, or a file holding one on its first line.
fn expected_key(arg: &str) -> Result<String, CliError> {
    let t = arg.trim();
    if t.len() == 64 && t.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(t.to_string());
    }
    let p = Path::new(t);
    let text = std::fs::read_to_string(p).map_err(|e| {
        CliError::step(
            format!("--public-key {t}: neither 64 hex characters nor a readable file"),
            e,
        )
    })?;
    let first = text.split_whitespace().next().unwrap_or("");
    if first.len() == 64 && first.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(first.to_string())
    } else {
        Err(CliError::Usage(format!(
            "--public-key {t}: the file does not start with a hex ed25519 public key"
        )))
    }
}

fn verify_cmd(a: &VerifyBundleArgs) -> i32 {
    let key = match a.public_key.as_deref().map(expected_key).transpose() {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let file = match std::fs::File::open(&a.file) {
        Ok(f) => f,
        Err(e) => return fail(format!("cannot open {}: {e}", a.file.display())),
    };
    let entries = match read_tar(std::io::BufReader::new(file)) {
        Ok(e) => e,
        Err(e) => {
            println!("FAILED: {} is not a readable tar: {e}", a.file.display());
            return EXIT_PROBLEM;
        }
    };
    let mut out = verify(&entries, key.as_deref());
    // Intact files may still hold a checkpoint that was forged before the bundle was signed.
    let (checkpoints, bad) = packaged_checkpoints(&entries);
    out.problems.extend(bad);
    out.ok = out.problems.is_empty();
    let verdict = if out.ok { packaged_verdict(&entries) } else { None };
    if a.json {
        let v = serde_json::json!({ "bundle": out, "checkpoints": checkpoints, "audit_verify_ok": verdict });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        print!("{}", out.render());
        if out.ok {
            println!("{checkpoints} packaged checkpoint(s), every signature valid");
            println!(
                "the audit trail verification packaged in the bundle says: {}",
                match verdict {
                    Some(true) => "OK",
                    Some(false) => "FAILED (see audit/verify.txt)",
                    None => "nothing (audit/verify.json missing)",
                }
            );
        }
    }
    if out.ok {
        0
    } else {
        EXIT_PROBLEM
    }
}
