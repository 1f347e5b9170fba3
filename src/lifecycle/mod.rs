//! Lifecycle: the second deleter. `plan` turns a bucket's rules and what the catalog holds into
//! actions (pure); `plan_bucket` reads the catalog for it (used by the executor in
//! `gateway::lifecycle`, by `wormgate lifecycle plan` offline and by the admin API). Whether an action
//! may happen is never decided here: the executor asks `lock::decide_*` for every one.

pub mod plan;

pub use plan::{Action, ActionKind};

use crate::s3::error::S3Result;
use crate::store::{Catalog, VersionEntry};

/// Every action the lifecycle rules of `bucket` call for by `horizon_ms` (a day lasting `day_ms`):
/// versions and markers in key order, then uploads. A bucket without rules has none.
pub fn plan_bucket(catalog: &Catalog, bucket: &str, horizon_ms: i64, day_ms: i64) -> S3Result<Vec<Action>> {
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
pub fn plan_all(catalog: &Catalog, bucket: Option<&str>, horizon_ms: i64, day_ms: i64) -> S3Result<Vec<Action>> {
    let mut out = Vec::new();
    for b in catalog.list_buckets()? {
        if bucket.is_none_or(|want| want == b.name) {
            out.extend(plan_bucket(catalog, &b.name, horizon_ms, day_ms)?);
        }
    }
    Ok(out)
}
