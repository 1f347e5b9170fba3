//! `wormgate quota set|get|clear`: a bucket's hard quota (bytes and object versions). Offline on a
//! stopped gateway's `--data-dir` (the change is stored in the catalog and recorded in the audit
//! trail, principal `offline:<--by>`), or through a running gateway's admin API with `--endpoint`
//! (an officer or admin key; audited there like every admin request).

use super::client::query;
use super::error::CliError;
use super::evidence::Target;
use crate::audit::{AuditEvent, AuditLog, AuditOptions};
use crate::datadir::{audit_dir, open_catalog, write_anchor};
use crate::gateway::{quota_change_detail, ADMIN_PREFIX};
use crate::store::capacity::{free_space, parse_quota, Quota};
use crate::units::Reserve;
use clap::{Args, Subcommand};
use std::sync::Arc;

/// `wormgate quota …`
#[derive(Debug, Subcommand)]
pub enum QuotaCmd {
    /// Set a bucket's hard quota (officer): new versions past it are refused with 403 `QuotaExceeded`.
    Set(QuotaSetArgs),
    /// Show usage, writes in flight and quota of a bucket (or of every bucket) as JSON.
    Get(QuotaGetArgs),
    /// Remove an officer's quota from a bucket (a `[quotas]` entry of the config file applies again).
    Clear(QuotaClearArgs),
}

#[derive(Debug, Args)]
pub struct QuotaSetArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(long)]
    pub bucket: String,
    /// Most bytes all versions may hold: `500GiB`, `2TB`, `1048576`.
    #[arg(long)]
    pub bytes: Option<String>,
    /// Most object versions the bucket may hold.
    #[arg(long)]
    pub versions: Option<String>,
    /// Who sets it (offline; online the signing key's user is recorded).
    #[arg(long)]
    pub by: Option<String>,
}

#[derive(Debug, Args)]
pub struct QuotaGetArgs {
    #[command(flatten)]
    pub target: Target,
    /// Only this bucket.
    #[arg(long)]
    pub bucket: Option<String>,
}

#[derive(Debug, Args)]
pub struct QuotaClearArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(long)]
    pub bucket: String,
    /// Who clears it (offline).
    #[arg(long)]
    pub by: Option<String>,
}

/// Run `wormgate quota …`; exit 0, or 2 when the command could not run.
pub fn quota(cmd: QuotaCmd) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start runtime: {e}")),
    };
    let res = rt.block_on(async {
        match cmd {
            QuotaCmd::Set(a) => {
                // Checked here too, so a typo never reaches the gateway.
                let q = parse_quota(a.bytes.as_deref(), a.versions.as_deref()).map_err(CliError::usage)?;
                if let Some(client) = a.target.client()? {
                    let path = format!(
                        "{ADMIN_PREFIX}quota{}",
                        query(&[
                            ("bucket", Some(a.bucket.clone())),
                            ("bytes", a.bytes.clone()),
                            ("versions", a.versions.clone())
                        ])
                    );
                    return client.call("PUT", &path, Vec::new()).await;
                }
                change_offline(&a.target, &a.bucket, Some(q), a.by.as_deref()).await
            }
            QuotaCmd::Clear(a) => {
                if let Some(client) = a.target.client()? {
                    let path = format!("{ADMIN_PREFIX}quota{}", query(&[("bucket", Some(a.bucket.clone()))]));
                    return client.call("DELETE", &path, Vec::new()).await;
                }
                change_offline(&a.target, &a.bucket, None, a.by.as_deref()).await
            }
            QuotaCmd::Get(a) => {
                if let Some(client) = a.target.client()? {
                    let path = format!("{ADMIN_PREFIX}quota{}", query(&[("bucket", a.bucket.clone())]));
                    return client.call("GET", &path, Vec::new()).await;
                }
                status_offline(&a.target, a.bucket.as_deref())
            }
        }
    });
    match res {
        Ok(out) => {
            print!("{}", String::from_utf8_lossy(&out));
            0
        }
        Err(e) => fail(e),
    }
}

fn fail(e: impl std::fmt::Display) -> i32 {
    eprintln!("wormgate: {e}");
    super::evidence::EXIT_ERROR
}

/// Usage and officer quotas of a stopped gateway (the config file's quotas apply only when it runs).
fn status_offline(target: &Target, bucket: Option<&str>) -> Result<Vec<u8>, CliError> {
    let data = target.data_dir();
    let cat = open_catalog(&data).map_err(CliError::failed)?;
    let names: Vec<String> = match bucket {
        Some(b) => {
            cat.bucket(b)
                .map_err(CliError::failed)?
                .ok_or_else(|| CliError::usage(format!("no bucket {b}")))?;
            vec![b.to_string()]
        }
        None => cat
            .list_buckets()
            .map_err(CliError::failed)?
            .into_iter()
            .map(|b| b.name)
            .collect(),
    };
    let free = free_space(&data, Reserve::Bytes(0)).ok();
    let mut out = serde_json::to_vec_pretty(&serde_json::json!({
        "buckets": cat.capacity().buckets(&names),
        "free_space": free.map(|f| serde_json::json!({"available": f.available, "total": f.total})),
    }))
    .map_err(CliError::failed)?;
    out.push(b'\n');
    Ok(out)
}

/// Set or clear a quota on a stopped gateway and record it in its audit trail.
async fn change_offline(
    target: &Target,
    bucket: &str,
    q: Option<Quota>,
    by: Option<&str>,
) -> Result<Vec<u8>, CliError> {
    let data = target.data_dir();
    let cat = open_catalog(&data).map_err(CliError::failed)?;
    cat.bucket(bucket)
        .map_err(CliError::failed)?
        .ok_or_else(|| CliError::usage(format!("no bucket {bucket}")))?;
    let state = cat.state().clone();
    let opts = AuditOptions {
        anchor: Some(Arc::new(move |seq, hash: &str| write_anchor(&state, seq, hash))),
        ..Default::default()
    };
    let audit =
        AuditLog::open_with(&audit_dir(&data), opts).map_err(|e| CliError::step("cannot open audit trail", e))?;
    let old = cat.set_quota(bucket, q).await.map_err(CliError::failed)?;
    let by = by
        .map(str::to_string)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into());
    let mut ev = AuditEvent::internal(
        if q.is_some() { "QuotaSet" } else { "QuotaClear" },
        crate::timefmt::format_iso(chrono::Utc::now()),
    );
    ev.principal = Some(format!("offline:{by}"));
    ev.bucket = Some(bucket.to_string());
    ev.status = 200;
    ev.detail = Some(quota_change_detail(bucket, q, old));
    audit.append(ev).await?;
    cat.flush_now().map_err(CliError::failed)?;
    status_offline_with(&cat, bucket)
}

fn status_offline_with(cat: &crate::store::Catalog, bucket: &str) -> Result<Vec<u8>, CliError> {
    let mut out = serde_json::to_vec_pretty(&serde_json::json!({
        "buckets": cat.capacity().buckets(&[bucket.to_string()]),
    }))
    .map_err(CliError::failed)?;
    out.push(b'\n');
    Ok(out)
}
