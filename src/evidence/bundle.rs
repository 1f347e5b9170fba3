//! `wormgate evidence bundle`: one signed tar with what an examiner or a firm's designated third
//! party asks for — the inventory, the audit export of a period (JSON lines and CSV), the `audit
//! verify` verdict, the signed checkpoints and the public key, the last scrub result, the time status
//! and sources, the effective retention settings and lifecycle rules of every bucket, and a
//! human-readable `INDEX.md` — each file listed with its SHA-256 and size in a manifest signed with
//! the audit checkpoint key (`evidence::manifest`).
//!
//! The same [`build`] serves the offline tool (a stopped gateway's data directory) and the admin API
//! (`GET /_wormgate/admin/evidence`, a running gateway): the caller supplies what only it knows (the
//! time status, the configured time sources, the retention policy, whether the trail is live).
//! Everything is read, nothing is changed.

use crate::audit::checkpoint::Checkpoint;
use crate::audit::export::{ExportFilter, ExportFormat};
use crate::audit::verify::{verify, VerifyOptions, VerifyReport};
use crate::evidence::manifest::{self, ManifestError, ManifestHeader, Member};
use crate::evidence::report::ReportFormat;
use crate::evidence::time::TimeStatus;
use crate::lock::Policy;
use crate::store::Catalog;
use crate::timefmt::{format_iso, iso_ms};
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Why a bundle could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The period is empty or reversed.
    #[error("the period is empty: since {since} is not before until {until}")]
    EmptyPeriod {
        /// Lower bound asked for.
        since: String,
        /// Upper bound asked for.
        until: String,
    },
    /// The named bucket does not exist.
    #[error("no bucket {0}")]
    NoSuchBucket(String),
    /// The audit trail could not be read.
    #[error("cannot read the audit trail: {0}")]
    Audit(#[source] std::io::Error),
    /// The catalog could not be read.
    #[error("cannot read the catalog ({what}): {source}")]
    Catalog {
        /// What was being read.
        what: &'static str,
        /// The store's error.
        #[source]
        source: super::error::Cause,
    },
    /// A part could not be encoded.
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// Which part.
        what: &'static str,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// Sealing or writing the tar failed.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// What the examiner asked for.
#[derive(Debug, Clone, Default)]
pub struct BundleRequest {
    /// Audit records from this time on (inclusive).
    pub since: Option<DateTime<Utc>>,
    /// Audit records before this time (exclusive).
    pub until: Option<DateTime<Utc>>,
    /// Only this bucket (inventory, audit export, retention settings).
    pub bucket: Option<String>,
}

/// What the caller knows of the gateway besides its catalog and trail.
pub struct Inputs<'a> {
    /// The catalog (opened offline, or the running gateway's).
    pub catalog: &'a Catalog,
    /// The audit directory.
    pub audit_dir: &'a Path,
    /// Catalog anchor and live flag for `audit verify` (the stored checkpoints are added here).
    pub verify: VerifyOptions,
    /// The clock status (offline or live).
    pub time: TimeStatus,
    /// The configured time sources, when known (the running gateway knows them; offline does not).
    pub time_sources: Option<Vec<String>>,
    /// The gateway-wide retention floor and ceiling, when known (from the running gateway).
    pub policy: Option<Policy>,
    /// Where the evidence is read from, for the manifest and the index.
    pub source: String,
    /// When the bundle is made.
    pub now: DateTime<Utc>,
}

/// What went into a bundle, for the index and the caller's log line.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Audit records in the period's export.
    pub audit_records: u64,
    /// Versions (and delete markers) in the inventory.
    pub inventory_rows: usize,
    /// Buckets described.
    pub buckets: usize,
    /// Signed checkpoints included.
    pub checkpoints: usize,
    /// The `audit verify` verdict.
    pub verify_ok: bool,
    /// The last scrub's verdict, if a scrub is on record.
    pub scrub_ok: Option<bool>,
}

/// Retention settings of one bucket as the bundle shows them.
#[derive(Debug, Clone, Serialize)]
struct BucketSettings {
    bucket: String,
    created: String,
    owner: String,
    /// Every bucket is versioned and locked in COMPLIANCE mode; nothing configures it away.
    versioning: &'static str,
    object_lock: &'static str,
    lock_mode: &'static str,
    default_retention: Option<crate::lock::DefaultRetention>,
    /// What applies to a new version that names no retention.
    effective_default: String,
    /// The stored lifecycle configuration as JSON (`null`: none); its rules count below.
    lifecycle: serde_json::Value,
    lifecycle_rules: usize,
    quota: Option<crate::store::capacity::Quota>,
    quota_source: Option<crate::store::capacity::QuotaSource>,
    usage: crate::store::capacity::Usage,
}

#[derive(Debug, Clone, Serialize)]
struct PolicyOut {
    min_retention_s: i64,
    max_retention_s: i64,
    require_client_digest: bool,
}

#[derive(Debug, Clone, Serialize)]
struct RetentionOut {
    /// Gateway-wide floor and ceiling; `None` when not known (offline bundle).
    policy: Option<PolicyOut>,
    note: &'static str,
    buckets: Vec<BucketSettings>,
}

fn encode<T: Serialize>(what: &'static str, v: &T) -> Result<Vec<u8>, BundleError> {
    let mut b = serde_json::to_vec_pretty(v).map_err(|source| BundleError::Encode { what, source })?;
    b.push(b'\n');
    Ok(b)
}

fn catalog_err<E: Into<super::error::Cause>>(what: &'static str) -> impl Fn(E) -> BundleError {
    move |e| BundleError::Catalog { what, source: e.into() }
}

/// Every stored checkpoint file (name, bytes), oldest first; unreadable files are left out (audit
/// verify reports the ones that do not verify).
fn checkpoint_files(audit_dir: &Path) -> Result<Vec<(String, Vec<u8>)>, BundleError> {
    let dir = audit_dir.join("checkpoints");
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(BundleError::Audit(e)),
    };
    let mut paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((name, std::fs::read(&p).map_err(BundleError::Audit)?));
    }
    Ok(out)
}

fn retention_settings(inputs: &Inputs<'_>, bucket: Option<&str>) -> Result<RetentionOut, BundleError> {
    let all = inputs.catalog.list_buckets().map_err(catalog_err("buckets"))?;
    let all: Vec<_> = all.into_iter().filter(|b| bucket.is_none_or(|x| x == b.name)).collect();
    let names: Vec<String> = all.iter().map(|b| b.name.clone()).collect();
    let caps = inputs.catalog.capacity().buckets(&names);
    let floor = inputs.policy.as_ref().map(|p| p.min_retention);
    let buckets = all
        .into_iter()
        .zip(caps)
        .map(|(b, c)| BucketSettings {
            effective_default: match (b.default_retention, floor) {
                (Some(d), Some(f)) if d.duration() < f => format!(
                    "{} (the bucket's default {} is below the gateway floor)",
                    crate::timefmt::days_or_seconds(f),
                    human_default(d)
                ),
                (Some(d), _) => human_default(d),
                (None, Some(f)) => format!("{} (gateway floor)", crate::timefmt::days_or_seconds(f)),
                (None, None) => "the gateway floor (--min-retention; not known offline)".into(),
            },
            bucket: b.name,
            created: iso_ms(b.created_ms),
            owner: b.owner,
            versioning: "Enabled",
            object_lock: "Enabled",
            lock_mode: "COMPLIANCE",
            default_retention: b.default_retention,
            lifecycle_rules: b.lifecycle.as_ref().map_or(0, |l| l.rules.len()),
            lifecycle: serde_json::to_value(&b.lifecycle).unwrap_or(serde_json::Value::Null),
            quota: c.quota,
            quota_source: c.quota_source,
            usage: c.usage,
        })
        .collect();
    Ok(RetentionOut {
        policy: inputs.policy.as_ref().map(|p| PolicyOut {
            min_retention_s: p.min_retention.num_seconds(),
            max_retention_s: p.max_retention.num_seconds(),
            require_client_digest: p.require_client_digest,
        }),
        note: "every bucket is versioned and locked in COMPLIANCE mode; no retention can be shortened or removed \
               by anyone; quotas set in the config file are shown only in bundles made by the running gateway",
        buckets,
    })
}

fn human_default(d: crate::lock::DefaultRetention) -> String {
    match d {
        crate::lock::DefaultRetention::Days(n) => format!("{n} days"),
        crate::lock::DefaultRetention::Years(n) => format!("{n} years"),
    }
}

/// Gather the evidence and seal it (files, then `MANIFEST.json` and `MANIFEST.sig`).
pub fn build(
    inputs: &Inputs<'_>,
    req: &BundleRequest,
    key: &SigningKey,
) -> Result<(Vec<Member>, Summary), BundleError> {
    if let (Some(s), Some(u)) = (req.since, req.until) {
        if s >= u {
            return Err(BundleError::EmptyPeriod {
                since: format_iso(s),
                until: format_iso(u),
            });
        }
    }
    if let Some(b) = &req.bucket {
        match inputs.catalog.bucket(b) {
            Ok(Some(_)) => {}
            Ok(None) => return Err(BundleError::NoSuchBucket(b.clone())),
            Err(e) => return Err(catalog_err("bucket")(e)),
        }
    }
    let bucket = req.bucket.as_deref();
    let mut files = Vec::new();

    // Inventory.
    let rows = crate::evidence::report::rows(inputs.catalog, bucket).map_err(catalog_err("versions"))?;
    files.push(Member::new(
        "inventory/report.csv",
        crate::evidence::report::render(&rows, ReportFormat::Csv),
    ));
    files.push(Member::new(
        "inventory/report.json",
        crate::evidence::report::render(&rows, ReportFormat::Json),
    ));

    // Audit export of the period.
    let filter = ExportFilter {
        since: req.since,
        until: req.until,
        bucket: req.bucket.clone(),
        key: None,
    };
    let mut jsonl = Vec::new();
    let audit_records = crate::audit::export::export(inputs.audit_dir, &filter, ExportFormat::Jsonl, &mut jsonl)
        .map_err(BundleError::Audit)?;
    let mut csv = Vec::new();
    crate::audit::export::export(inputs.audit_dir, &filter, ExportFormat::Csv, &mut csv).map_err(BundleError::Audit)?;
    files.push(Member::new("audit/export.jsonl", jsonl));
    files.push(Member::new("audit/export.csv", csv));

    // Checkpoints, verified with the whole trail.
    let cps = checkpoint_files(inputs.audit_dir)?;
    let mut opts = inputs.verify.clone();
    opts.checkpoints.extend(
        cps.iter()
            .filter_map(|(_, b)| serde_json::from_slice::<Checkpoint>(b).ok()),
    );
    let rep = verify(inputs.audit_dir, &opts).map_err(BundleError::Audit)?;
    files.push(Member::new("audit/verify.json", encode("the verify report", &rep)?));
    files.push(Member::new("audit/verify.txt", rep.render()));
    let signer = crate::audit::checkpoint::public_key_hex(key);
    let mut checkpoint_keys: Vec<String> = cps
        .iter()
        .filter_map(|(_, b)| serde_json::from_slice::<Checkpoint>(b).ok().map(|c| c.public_key))
        .collect();
    checkpoint_keys.sort();
    checkpoint_keys.dedup();
    for (name, bytes) in &cps {
        files.push(Member::new(format!("audit/checkpoints/{name}"), bytes.clone()));
    }
    let mut pk = format!("{signer}\n");
    for k in checkpoint_keys.iter().filter(|k| **k != signer) {
        let _ = writeln!(pk, "{k} (an earlier checkpoint key)");
    }
    files.push(Member::new("audit/public-key.txt", pk));

    // Last scrub.
    let scrub = crate::evidence::scrub_record::last(inputs.catalog).map_err(catalog_err("scrub result"))?;
    let scrub_json = match &scrub {
        Some(s) => encode(
            "the scrub result",
            &serde_json::json!({ "on_record": true, "result": s }),
        )?,
        None => encode(
            "the scrub result",
            &serde_json::json!({ "on_record": false, "note": "no scrub on record" }),
        )?,
    };
    files.push(Member::new("scrub/last-scrub.json", scrub_json));

    // Time.
    let time = serde_json::json!({
        "status": inputs.time,
        "configured_sources": inputs.time_sources,
        "note": if inputs.time_sources.is_some() {
            "status and sources of the running gateway"
        } else {
            "offline status of a stopped gateway's clock state; its configured sources are known to the running gateway only"
        },
    });
    files.push(Member::new("time/status.json", encode("the time status", &time)?));

    // Retention settings and lifecycle rules.
    let retention = retention_settings(inputs, bucket)?;
    files.push(Member::new(
        "retention/buckets.json",
        encode("the retention settings", &retention)?,
    ));

    let summary = Summary {
        audit_records,
        inventory_rows: rows.len(),
        buckets: retention.buckets.len(),
        checkpoints: cps.len(),
        verify_ok: rep.ok,
        scrub_ok: scrub.as_ref().map(|s| s.ok),
    };
    let index = render_index(inputs, req, &summary, &rep, scrub.as_ref(), &retention, &signer, &files);
    files.insert(0, Member::new("INDEX.md", index));

    let header = ManifestHeader {
        created: format_iso(inputs.now),
        since: req.since.map(format_iso),
        until: req.until.map(format_iso),
        bucket: req.bucket.clone(),
        source: inputs.source.clone(),
    };
    Ok((manifest::seal(files, header, key)?, summary))
}

/// [`build`] and write the tar into memory.
pub fn build_tar(
    inputs: &Inputs<'_>,
    req: &BundleRequest,
    key: &SigningKey,
) -> Result<(Vec<u8>, Summary), BundleError> {
    let (members, summary) = build(inputs, req, key)?;
    let mut out = Vec::new();
    let mtime = u64::try_from(inputs.now.timestamp()).unwrap_or(0);
    manifest::write_tar(&members, mtime, &mut out)?;
    Ok((out, summary))
}

/// What each file is, for the index.
fn describe(name: &str) -> &'static str {
    match name {
        "inventory/report.csv" => "inventory of every version and delete marker now held: key, version id, size, SHA-256, created, retain-until, legal hold (CSV)",
        "inventory/report.json" => "the same inventory as JSON",
        "audit/export.jsonl" => "audit records of the period, exactly as stored (each line keeps its hash and the hash of the record before)",
        "audit/export.csv" => "the same records as CSV, one row per request",
        "audit/verify.json" => "`audit verify` of the whole trail (hash chain, sealed segments, catalog anchor, the checkpoints below), JSON",
        "audit/verify.txt" => "the same verdict as text",
        "audit/public-key.txt" => "hex ed25519 public key that signed this bundle's manifest (the audit checkpoint key)",
        "scrub/last-scrub.json" => "the result of the last scrub (every stored version re-hashed), or \"no scrub on record\"",
        "time/status.json" => "clock status: wall time, watermark, alarms, whether expiry is trusted, time sources",
        "retention/buckets.json" => "per bucket: lock configuration, default retention, quota and usage, lifecycle rules; the gateway-wide retention floor and ceiling",
        n if n.starts_with("audit/checkpoints/") => "a signed checkpoint of the audit chain (seq, head hash, time, ed25519 signature)",
        _ => "",
    }
}

#[allow(clippy::too_many_arguments)]
fn render_index(
    inputs: &Inputs<'_>,
    req: &BundleRequest,
    summary: &Summary,
    rep: &VerifyReport,
    scrub: Option<&crate::evidence::scrub::ScrubReport>,
    retention: &RetentionOut,
    signer: &str,
    files: &[Member],
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# wormgate evidence bundle\n");
    let _ = writeln!(s, "- Made: {} from {}", format_iso(inputs.now), inputs.source);
    let _ = writeln!(
        s,
        "- Period of the audit export: {} to {}",
        req.since.map_or_else(
            || "the first record".to_string(),
            |t| format!("{} (inclusive)", format_iso(t))
        ),
        req.until.map_or_else(
            || "the last record (included)".to_string(),
            |t| format!("{} (exclusive)", format_iso(t))
        )
    );
    let _ = writeln!(
        s,
        "- Scope: {}",
        req.bucket
            .as_deref()
            .map_or_else(|| "all buckets".to_string(), |b| format!("bucket `{b}`"))
    );
    let _ = writeln!(
        s,
        "- Audit trail verification: **{}** — {} records in {} segments ({} sealed), head `{}`{}",
        if rep.ok { "OK" } else { "FAILED" },
        rep.records,
        rep.segments,
        rep.sealed_segments,
        rep.head,
        rep.problems
            .first()
            .map(|p| format!("; first broken link: {p}"))
            .unwrap_or_default()
    );
    let _ = writeln!(s, "- Audit records in the period: {}", summary.audit_records);
    let _ = writeln!(
        s,
        "- Inventory: {} versions and delete markers in {} buckets",
        summary.inventory_rows, summary.buckets
    );
    let _ = writeln!(s, "- Signed checkpoints: {}", summary.checkpoints);
    let _ = writeln!(
        s,
        "- Last scrub: {}",
        scrub.map_or_else(
            || "no scrub on record".to_string(),
            |r| format!(
                "{} (finished {}; {} versions re-hashed, {} missing, {} corrupt{})",
                if r.ok { "OK" } else { "FAILED" },
                r.finished,
                r.checked_versions,
                r.missing,
                r.corrupt,
                r.bucket
                    .as_deref()
                    .map(|b| format!(", bucket {b} only"))
                    .unwrap_or_default()
            )
        )
    );
    let _ = writeln!(
        s,
        "- Clock: alarm {}, expiry trusted {}",
        inputs.time.alarm.as_deref().unwrap_or("none"),
        inputs
            .time
            .expiry_trusted
            .map_or_else(|| "unknown".to_string(), |t| t.to_string())
    );
    if let Some(p) = &retention.policy {
        let _ = writeln!(
            s,
            "- Retention floor / ceiling: {} / {}",
            crate::timefmt::days_or_seconds(chrono::Duration::seconds(p.min_retention_s)),
            crate::timefmt::days_or_seconds(chrono::Duration::seconds(p.max_retention_s))
        );
    }
    let _ = writeln!(s, "\n## Buckets\n");
    let _ = writeln!(s, "| bucket | lock | default retention | quota | lifecycle rules |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    for b in &retention.buckets {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} |",
            b.bucket,
            b.lock_mode,
            b.effective_default,
            b.quota.map_or_else(|| "none".to_string(), |q| q.to_string()),
            b.lifecycle_rules
        );
    }
    let _ = writeln!(s, "\n## Files\n");
    let _ = writeln!(s, "| file | what it is |");
    let _ = writeln!(s, "|---|---|");
    let _ = writeln!(s, "| `INDEX.md` | this index |");
    for f in files {
        let _ = writeln!(s, "| `{}` | {} |", f.name, describe(&f.name));
    }
    let _ = writeln!(
        s,
        "| `MANIFEST.json` | name, size and SHA-256 of every file above |\n| `MANIFEST.sig` | ed25519 signature over `MANIFEST.json` by key `{signer}` |"
    );
    let _ = writeln!(
        s,
        "\n## How to check this bundle\n\n`wormgate evidence verify BUNDLE.tar --public-key {signer}` recomputes every file's \
         SHA-256 and size, refuses missing or added files and checks the signature. Obtain the expected public key from \
         the firm independently of this bundle (a key read from the bundle only proves the bundle is intact, not who made \
         it). `wormgate audit verify --checkpoint FILE --trusted-key KEY` on the gateway checks that its trail still \
         contains each checkpoint."
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, AuditLog};
    use crate::evidence::manifest::{read_tar, verify as verify_bundle};
    use crate::store::records::BucketRecord;

    fn member<'a>(m: &'a [Member], name: &str) -> &'a str {
        let f = m
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        std::str::from_utf8(&f.bytes).unwrap()
    }

    #[tokio::test]
    async fn bundle_filters_the_period_and_bucket_and_shows_scrub_and_retention() {
        let dir = tempfile::tempdir().unwrap();
        let cat = Catalog::open(&dir.path().join("catalog")).unwrap();
        for (name, d) in [("b", Some(crate::lock::DefaultRetention::Days(7))), ("c", None)] {
            cat.create_bucket(&BucketRecord {
                name: name.into(),
                created_ms: 1,
                owner: "o".into(),
                default_retention: d,
                lifecycle: None,
            })
            .await
            .unwrap();
        }
        let audit_dir = dir.path().join("audit");
        let log = AuditLog::open(&audit_dir).unwrap();
        for (time, bucket, key) in [
            ("2030-01-01T00:00:00.000Z", "b", "before"),
            ("2030-01-02T00:00:00.000Z", "b", "inside"),
            ("2030-01-02T00:00:01.000Z", "c", "other-bucket"),
            ("2030-01-03T00:00:00.000Z", "b", "after"),
        ] {
            log.append(AuditEvent {
                time: time.into(),
                operation: "PutObject".into(),
                bucket: Some(bucket.into()),
                key: Some(key.into()),
                decision: "allow".into(),
                status: 200,
                ..Default::default()
            })
            .await
            .unwrap();
        }
        let key = SigningKey::from_bytes(&[3u8; 32]);
        let inputs = Inputs {
            catalog: &cat,
            audit_dir: &audit_dir,
            verify: VerifyOptions::default(),
            time: crate::evidence::time::offline_status(&cat, 600_000).unwrap(),
            time_sources: None,
            policy: None,
            source: "test".into(),
            now: crate::audit::export::parse_time_bound("2030-02-01").unwrap(),
        };
        let req = BundleRequest {
            since: Some(crate::audit::export::parse_time_bound("2030-01-02").unwrap()),
            until: Some(crate::audit::export::parse_time_bound("2030-01-03").unwrap()),
            bucket: Some("b".into()),
        };
        let (members, summary) = build(&inputs, &req, &key).unwrap();
        assert_eq!(summary.audit_records, 1);
        let export = member(&members, "audit/export.jsonl");
        assert!(export.contains("\"inside\"") && export.lines().count() == 1, "{export}");
        assert_eq!(member(&members, "audit/export.csv").lines().count(), 2);
        assert!(member(&members, "scrub/last-scrub.json").contains("no scrub on record"));
        let ret: serde_json::Value = serde_json::from_str(member(&members, "retention/buckets.json")).unwrap();
        assert_eq!(ret["buckets"].as_array().map(Vec::len), Some(1), "{ret}");
        assert_eq!(ret["buckets"][0]["effective_default"], "7 days");
        let index = member(&members, "INDEX.md");
        assert!(
            index.contains("Audit trail verification: **OK** — 4 records"),
            "{index}"
        );
        assert!(index.contains("2030-01-02T00:00:00.000Z (inclusive)"), "{index}");
        assert!(summary.verify_ok);

        // A scrub on record shows; the tar of it verifies with the signer's key.
        crate::evidence::scrub_record::record(
            &cat,
            &crate::evidence::scrub::ScrubReport {
                ok: true,
                checked_versions: 5,
                finished: "2030-01-04T00:00:00.000Z".into(),
                ..Default::default()
            },
        )
        .unwrap();
        let (tar, summary) = build_tar(&inputs, &BundleRequest::default(), &key).unwrap();
        assert_eq!(summary.scrub_ok, Some(true));
        assert_eq!(summary.audit_records, 4);
        let entries = read_tar(tar.as_slice()).unwrap();
        let pk = crate::audit::checkpoint::public_key_hex(&key);
        let v = verify_bundle(&entries, Some(&pk));
        assert!(v.ok, "{:?}", v.problems);
        let scrub = entries.iter().find(|e| e.name == "scrub/last-scrub.json").unwrap();
        assert!(String::from_utf8_lossy(&scrub.bytes).contains("\"checked_versions\": 5"));

        // Refusals.
        let nope = BundleRequest {
            bucket: Some("nope".into()),
            ..Default::default()
        };
        assert!(matches!(build(&inputs, &nope, &key), Err(BundleError::NoSuchBucket(b)) if b == "nope"));
        let reversed = BundleRequest {
            since: req.until,
            until: req.since,
            bucket: None,
        };
        assert!(matches!(
            build(&inputs, &reversed, &key),
            Err(BundleError::EmptyPeriod { .. })
        ));
    }
}
