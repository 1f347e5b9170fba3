//! Lifecycle: the second deleter. `plan` turns a bucket's rules and what the catalog holds into
//! actions (pure); `plan_bucket` reads the catalog for it (used by the executor in
//! `gateway::lifecycle`, by `wormgate lifecycle plan` offline and by the admin API). Whether an action
//! may happen is never decided here: the executor asks `lock::decide_*` for every one.

pub mod plan;

pub use plan::{Action, ActionKind};

use crate::store::{Catalog, StoreResult, VersionEntry};

/// Every action the lifecycle rules of `bucket` call for by `horizon_ms` (a day lasting `day_ms`):
/// versions and markers in key order, then uploads. A bucket without rules has none.
pub fn plan_bucket(catalog: &Catalog, bucket: &str, horizon_ms: i64, day_ms: i64) -> StoreResult<Vec<Action>> {
    let Some(rec) = catalog.bucket(bucket)? else {
        return Ok(Vec::new());
    };
    let Some(cfg) = rec.lifecycle else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut key_versions: Vec<VersionEntry> = Vec::new();
    for entry in catalog.scan_versions(bucket, b"") {
        let entry = entry?;
        if key_versions.first().is_some_and(|f| f.key() != entry.key()) {
            out.extend(plan::plan_key(bucket, &cfg.rules, &key_versions, horizon_ms, day_ms));
            key_versions.clear();
        }
        key_versions.push(entry);
    }
    out.extend(plan::plan_key(bucket, &cfg.rules, &key_versions, horizon_ms, day_ms));
    if cfg.rules.iter().any(|r| r.abort_incomplete_days.is_some()) {
        for u in catalog.uploads_of(bucket)? {
            let bytes = catalog
                .parts_of(bucket, &u.key, &u.upload_id)?
                .iter()
                .map(|p| p.size)
                .sum();
            out.extend(plan::plan_upload(&cfg.rules, &u, bytes, horizon_ms, day_ms));
        }
    }
    Ok(out)
}

/// `plan_bucket` for every bucket (or the one named), buckets in name order.
pub fn plan_all(catalog: &Catalog, bucket: Option<&str>, horizon_ms: i64, day_ms: i64) -> StoreResult<Vec<Action>> {
    let mut out = Vec::new();
    for b in catalog.list_buckets()? {
        if bucket.is_none_or(|want| want == b.name) {
            out.extend(plan_bucket(catalog, &b.name, horizon_ms, day_ms)?);
        }
    }
    Ok(out)
}

/// One row of `wormgate lifecycle plan`: an action with its times in RFC 3339.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlanRow {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub upload_id: Option<String>,
    pub action: &'static str,
    pub rule_id: String,
    pub bytes: u64,
    /// When the rule makes the action due.
    pub due: String,
    pub retain_until: Option<String>,
    pub legal_hold: bool,
    /// When the lock lets it happen (`None`: held).
    pub eligible: Option<String>,
}

fn iso(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), crate::timefmt::format_iso)
}

impl From<&Action> for PlanRow {
    fn from(a: &Action) -> Self {
        PlanRow {
            bucket: a.bucket.clone(),
            key: a.key.clone(),
            version_id: a.version_id.clone(),
            upload_id: match &a.kind {
                ActionKind::AbortUpload { upload_id } => Some(upload_id.clone()),
                _ => None,
            },
            action: a.kind.operation(),
            rule_id: a.rule_id.clone(),
            bytes: a.bytes,
            due: iso(a.due_ms),
            retain_until: a.retain_until_ms.map(iso),
            legal_hold: a.legal_hold,
            eligible: a.eligible_ms().map(iso),
        }
    }
}

/// Plan output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Csv,
    Json,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Render a plan: CSV with a header line, or a JSON array — the list an officer signs off.
pub fn render_plan(actions: &[Action], format: PlanFormat) -> String {
    let rows: Vec<PlanRow> = actions.iter().map(PlanRow::from).collect();
    match format {
        PlanFormat::Json => serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n",
        PlanFormat::Csv => {
            let mut out = String::from(
                "bucket,key,version_id,upload_id,action,rule_id,bytes,due,retain_until,legal_hold,eligible\n",
            );
            for r in rows {
                let fields = [
                    r.bucket,
                    r.key,
                    r.version_id.unwrap_or_default(),
                    r.upload_id.unwrap_or_default(),
                    r.action.to_string(),
                    r.rule_id,
                    r.bytes.to_string(),
                    r.due,
                    r.retain_until.unwrap_or_default(),
                    r.legal_hold.to_string(),
                    r.eligible.unwrap_or_else(|| "held".into()),
                ];
                out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
                out.push('\n');
            }
            out
        }
    }
}
