//! Pure lifecycle planning: a bucket's rules + what the catalog holds for one key (or one upload) +
//! a time horizon in, the actions the rules call for out. No I/O, no clock: the executor
//! (`gateway::lifecycle`) applies actions through the lock's permits, and `wormgate lifecycle plan`
//! prints them with the time the lock will let each happen.

use crate::s3::lifecycle::{Expiration, LifecycleRule};
use crate::store::records::UploadRecord;
use crate::store::{VersionEntry, VersionRecord};
use serde::Serialize;
use std::collections::BTreeMap;

/// What a rule asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum ActionKind {
    /// `Expiration` Days/Date: put a delete marker on top of the current version (destroys nothing).
    AddMarker,
    /// `NoncurrentVersionExpiration`: remove a noncurrent version (data, or a noncurrent marker).
    RemoveNoncurrent,
    /// `Expiration` `ExpiredObjectDeleteMarker`: remove a delete marker that is the last version left.
    RemoveLoneMarker,
    /// `AbortIncompleteMultipartUpload`: abort the upload and free its parts.
    AbortUpload { upload_id: String },
}

impl ActionKind {
    /// The name used in the audit trail (`operation`), the plan and the logs.
    pub fn operation(&self) -> &'static str {
        match self {
            ActionKind::AddMarker => "LifecycleExpiration",
            ActionKind::RemoveNoncurrent => "LifecycleNoncurrentVersionExpiration",
            ActionKind::RemoveLoneMarker => "LifecycleExpiredObjectDeleteMarker",
            ActionKind::AbortUpload { .. } => "LifecycleAbortIncompleteMultipartUpload",
        }
    }
}

/// One thing a rule makes happen to one version, marker or upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    #[serde(flatten)]
    pub kind: ActionKind,
    pub rule_id: String,
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    #[serde(skip)]
    pub seq: Option<u64>,
    /// Bytes this action frees (a marker frees none).
    pub bytes: u64,
    /// When the rule makes the action due (ms since the epoch).
    pub due_ms: i64,
    /// The version's retain-until: the lock refuses its removal before then.
    pub retain_until_ms: Option<i64>,
    /// A legal hold is on: the lock refuses its removal until it is lifted.
    pub legal_hold: bool,
}

impl Action {
    /// The action `kind` on version `rec`. Only the removal of a noncurrent version carries the lock
    /// state (retain-until, and the hold of a data version) and frees bytes; adding a marker and
    /// removing a lone marker free nothing and are never held back by the version's lock.
    fn on_version(
        kind: ActionKind,
        rule_id: String,
        bucket: &str,
        key: &str,
        rec: &VersionRecord,
        due_ms: i64,
    ) -> Action {
        let removes_noncurrent = kind == ActionKind::RemoveNoncurrent;
        let frees_data = removes_noncurrent && !rec.delete_marker;
        Action {
            kind,
            rule_id,
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id: Some(rec.version_id.clone()),
            seq: Some(rec.seq),
            bytes: if frees_data { rec.size } else { 0 },
            due_ms,
            retain_until_ms: rec
                .retention
                .filter(|_| removes_noncurrent)
                .map(|r| r.retain_until_ms()),
            legal_hold: frees_data && rec.legal_hold,
        }
    }

    /// When the lock will let the action happen: the later of the rule's time and the retention;
    /// `None` while a legal hold stands. Adding a marker is never held back.
    pub fn eligible_ms(&self) -> Option<i64> {
        match self.kind {
            ActionKind::AddMarker | ActionKind::AbortUpload { .. } => Some(self.due_ms),
            _ if self.legal_hold => None,
            _ => Some(self.due_ms.max(self.retain_until_ms.unwrap_or(i64::MIN))),
        }
    }
}

/// `days` lifecycle days after `from_ms`, rounded up to the next day boundary as AWS does ("adding the
/// number of days to the object creation time and rounding the resulting time to the next day midnight
/// UTC"): with the default 24 h day the boundaries are midnight UTC (days counted from the epoch).
fn after_days(from_ms: i64, days: u32, day_ms: i64) -> i64 {
    let at = from_ms.saturating_add(i64::from(days).saturating_mul(day_ms));
    let day_ms = day_ms.max(1);
    match at.rem_euclid(day_ms) {
        0 => at,
        r => at.saturating_add(day_ms - r),
    }
}

/// Keep the earliest-due candidate for one version (several rules may match it).
fn earliest(best: &mut Option<(i64, String)>, due: i64, rule: &LifecycleRule) {
    if best.as_ref().is_none_or(|(d, _)| due < *d) {
        *best = Some((due, rule.id.clone()));
    }
}

/// The actions `rules` call for on one key whose versions are `versions` (newest first, as the
/// catalog holds them), due by `horizon_ms`. A lifecycle day lasts `day_ms`.
///
/// - The current data version gets a marker `Days` after its creation (or at `Date`); from then on it
///   counts as noncurrent.
/// - A noncurrent version (data or marker) goes `NoncurrentDays` after its successor was created,
///   unless it is among the `NewerNoncurrentVersions` newest noncurrent data versions.
/// - A current marker goes once it is the only version left, or will be once every version behind it
///   has gone (then it is due when the last of them is eligible).
///
/// A record that does not decode is never acted on, and keeps a marker in front of it.
pub fn plan_key(
    bucket: &str,
    rules: &[LifecycleRule],
    versions: &[VersionEntry],
    horizon_ms: i64,
    day_ms: i64,
) -> Vec<Action> {
    let rules: Vec<&LifecycleRule> = rules.iter().filter(|r| r.enabled).collect();
    let mut out = Vec::new();
    let Some(first) = versions.first() else {
        return out;
    };
    let key = first.key();
    let no_tags = BTreeMap::new();
    // When each version became (or, by an expiration planned here, will become) noncurrent.
    let mut noncurrent_since: Vec<Option<i64>> = vec![None; versions.len()];
    for i in 1..versions.len() {
        noncurrent_since[i] = match &versions[i - 1] {
            VersionEntry::Ok(r) => Some(r.created_ms),
            VersionEntry::Corrupt { .. } => None,
        };
    }
    if let VersionEntry::Ok(cur) = first {
        if !cur.delete_marker {
            let mut best = None;
            for r in &rules {
                if !r.filter.matches(key, Some(cur.size), &cur.tags) {
                    continue;
                }
                match r.expiration {
                    Some(Expiration::Days(d)) => earliest(&mut best, after_days(cur.created_ms, d, day_ms), r),
                    Some(Expiration::Date(t)) => earliest(&mut best, t, r),
                    _ => {}
                }
            }
            if let Some((due, rule_id)) = best.filter(|(due, _)| *due <= horizon_ms) {
                noncurrent_since[0] = Some(due);
                out.push(Action::on_version(
                    ActionKind::AddMarker,
                    rule_id,
                    bucket,
                    key,
                    cur,
                    due,
                ));
            }
        }
    }
    // Noncurrent versions, newest first: rank = noncurrent data versions newer than this one.
    let mut rank = 0u32;
    let mut behind_marker_all_go = true;
    let mut last_eligible = i64::MIN;
    for (i, entry) in versions.iter().enumerate() {
        let (Some(since), VersionEntry::Ok(rec)) = (noncurrent_since[i], entry) else {
            if i > 0 {
                behind_marker_all_go = false;
            }
            continue;
        };
        let size = (!rec.delete_marker).then_some(rec.size);
        let tags = if rec.delete_marker { &no_tags } else { &rec.tags };
        let mut best = None;
        for r in &rules {
            let Some(n) = r.noncurrent else { continue };
            if !r.filter.matches(key, size, tags) {
                continue;
            }
            if !rec.delete_marker && n.newer_noncurrent_versions.is_some_and(|keep| rank < keep) {
                continue;
            }
            earliest(&mut best, after_days(since, n.noncurrent_days, day_ms), r);
        }
        if !rec.delete_marker {
            rank += 1;
        }
        let action = best
            .filter(|(due, _)| *due <= horizon_ms)
            .map(|(due, rule_id)| Action::on_version(ActionKind::RemoveNoncurrent, rule_id, bucket, key, rec, due));
        match action.as_ref().and_then(Action::eligible_ms) {
            Some(t) if t <= horizon_ms => last_eligible = last_eligible.max(t),
            _ => {
                if i > 0 {
                    behind_marker_all_go = false;
                }
            }
        }
        out.extend(action);
    }
    // A current marker with nothing (or nothing that stays) behind it.
    if let VersionEntry::Ok(cur) = first {
        if cur.delete_marker && behind_marker_all_go {
            let rule = rules.iter().find(|r| {
                r.expiration == Some(Expiration::ExpiredObjectDeleteMarker) && r.filter.matches(key, None, &no_tags)
            });
            if let Some(r) = rule {
                let due = cur.created_ms.max(last_eligible);
                if due <= horizon_ms {
                    out.push(Action::on_version(
                        ActionKind::RemoveLoneMarker,
                        r.id.clone(),
                        bucket,
                        key,
                        cur,
                        due,
                    ));
                }
            }
        }
    }
    out
}

/// The abort an `AbortIncompleteMultipartUpload` rule calls for on `upload` (whose parts hold
/// `part_bytes`), if due by `horizon_ms`.
pub fn plan_upload(
    rules: &[LifecycleRule],
    upload: &UploadRecord,
    part_bytes: u64,
    horizon_ms: i64,
    day_ms: i64,
) -> Option<Action> {
    let mut best = None;
    for r in rules.iter().filter(|r| r.enabled) {
        let Some(d) = r.abort_incomplete_days else { continue };
        if !upload.key.starts_with(r.filter.prefix()) {
            continue;
        }
        earliest(&mut best, after_days(upload.initiated_ms, d, day_ms), r);
    }
    let (due, rule_id) = best.filter(|(due, _)| *due <= horizon_ms)?;
    Some(Action {
        kind: ActionKind::AbortUpload {
            upload_id: upload.upload_id.clone(),
        },
        rule_id,
        bucket: upload.bucket.clone(),
        key: upload.key.clone(),
        version_id: None,
        seq: None,
        bytes: part_bytes,
        due_ms: due,
        retain_until_ms: None,
        legal_hold: false,
    })
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
