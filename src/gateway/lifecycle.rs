//! Lifecycle in the gateway: the `?lifecycle` configuration handlers, and the executor that applies
//! what `crate::lifecycle` plans. The executor is a second deleter with no powers of its own: each
//! action goes through the same guarded paths as a request (`add_marker_locked`,
//! `remove_version_locked` → `lock::decide_delete_version` → `Catalog::remove_expired_version` →
//! `BlobStore::destroy`, `abort_multipart`), and leaves one audit record (principal `lifecycle`).

use super::{Done, Gateway, Outcome};
use crate::audit::AuditEvent;
use crate::lifecycle::{Action, ActionKind};
use crate::s3::error::{S3Code, S3Error, S3Result};
use crate::s3::lifecycle::{render, LifecycleConfiguration};
use crate::s3::respond::Reply;
use http::StatusCode;
use serde::Serialize;

/// The principal named in the audit records of lifecycle actions.
pub const LIFECYCLE_PRINCIPAL: &str = "lifecycle";

/// Catalog state keys of blobs the upstream's own lock refused to delete: `PENDING bucket \0 key \0 id`.
const PENDING: &[u8] = b"lifecycle.upstream_pending\0";

/// One pass at a time (background loop, `wormgate lifecycle run`).
static PASS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What one lifecycle pass did (or, dry, would try).
#[derive(Debug, Clone, Default, Serialize)]
pub struct LifecycleReport {
    pub dry_run: bool,
    /// The pass's trusted time (RFC 3339).
    pub at: String,
    /// Time was not trusted (clock alarm): nothing was done.
    pub clock_untrusted: bool,
    pub versions_removed: u64,
    pub bytes_reclaimed: u64,
    pub markers_added: u64,
    pub markers_removed: u64,
    pub uploads_aborted: u64,
    /// Due by rule but still under retention.
    pub skipped_retained: u64,
    /// Due by rule but under legal hold.
    pub skipped_held: u64,
    /// Planned, but the key changed before the action (nothing to do any more).
    pub stale: u64,
    /// Actions that failed (backend error); retried next pass.
    pub failed: u64,
    /// Upstream objects of removed versions the upstream's own lock still refused to delete (kept in
    /// the catalog's state and retried every pass).
    pub upstream_refused: u64,
    /// Earlier refused upstream objects deleted by this pass.
    pub upstream_retried: u64,
    pub duration_s: f64,
    /// Dry run: the actions that would be tried.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
}

/// How one action ended.
enum Applied {
    Done {
        changes: Vec<crate::audit::Change>,
        left_upstream: Vec<String>,
    },
    Stale,
}

impl Gateway {
    pub(super) fn get_lifecycle(&self, bucket: &str) -> S3Result<Reply> {
        match self.require_bucket(bucket)?.lifecycle {
            None => Err(S3Error::new(
                S3Code::NoSuchLifecycleConfiguration,
                "The lifecycle configuration does not exist",
            )),
            Some(cfg) => Ok(Reply::xml(render(&cfg))),
        }
    }

    /// PUT ?lifecycle (officers): the rules are stored as given; the audit record carries them.
    pub(super) async fn put_lifecycle(&self, bucket: &str, cfg: LifecycleConfiguration) -> S3Result<Done> {
        self.require_bucket(bucket)?;
        let detail = serde_json::to_string(&cfg).unwrap_or_default();
        self.catalog.set_lifecycle(bucket, Some(cfg)).await?;
        let outcome = Outcome {
            detail: Some(format!("lifecycle configuration: {detail}")),
            ..Default::default()
        };
        Ok(Done::new(Reply::empty(StatusCode::OK), outcome))
    }

    /// DELETE ?lifecycle (officers): nothing more happens by rule.
    pub(super) async fn delete_lifecycle(&self, bucket: &str) -> S3Result<Done> {
        self.require_bucket(bucket)?;
        self.catalog.set_lifecycle(bucket, None).await?;
        Ok(Done::from(Reply::empty(StatusCode::NO_CONTENT)))
    }

    /// Run one lifecycle pass now: plan every bucket by trusted time, then apply each due action
    /// through the lock (`dry_run`: only report what would be tried). A lifecycle day lasts `day`.
    /// Idempotent: an action whose key changed since planning is skipped, and a pass cut short
    /// (crash, shutdown) is finished by the next one, which plans from the catalog again.
    pub async fn lifecycle_pass(&self, day: chrono::Duration, dry_run: bool) -> S3Result<LifecycleReport> {
        let _one = PASS.lock().await;
        let started = std::time::Instant::now();
        let now = self.clock.now();
        let mut report = LifecycleReport {
            dry_run,
            at: crate::timefmt::format_iso(now.at()),
            ..Default::default()
        };
        if !now.expiry_trusted() {
            // Every lifecycle time is an expiry: none is judged under a clock alarm.
            report.clock_untrusted = true;
            tracing::warn!("lifecycle pass skipped: the clock is under a time alarm");
            return Ok(report);
        }
        if !dry_run {
            self.retry_upstream_leftovers(&mut report).await?;
        }
        let horizon = now.at().timestamp_millis();
        let day_ms = day.num_milliseconds().max(1);
        let catalog = self.catalog.clone();
        let actions = tokio::task::spawn_blocking(move || crate::lifecycle::plan_all(&catalog, None, horizon, day_ms))
            .await
            .map_err(|e| S3Error::internal(format!("lifecycle planning stopped: {e}")))??;
        for (n, action) in actions.into_iter().enumerate() {
            match action.eligible_ms() {
                None => {
                    report.skipped_held += 1;
                    continue;
                }
                Some(t) if t > horizon => {
                    report.skipped_retained += 1;
                    continue;
                }
                Some(_) => {}
            }
            if dry_run {
                report.actions.push(action);
                continue;
            }
            self.apply_and_audit(&action, &mut report, &format!("{horizon:X}-{n}"))
                .await?;
        }
        report.duration_s = started.elapsed().as_secs_f64();
        if !dry_run {
            crate::metrics::record_lifecycle(crate::metrics::LifecycleSample {
                finished_unix: chrono::Utc::now().timestamp(),
                duration_s: report.duration_s,
                versions_removed: report.versions_removed,
                bytes_reclaimed: report.bytes_reclaimed,
                markers_removed: report.markers_removed,
                markers_added: report.markers_added,
                uploads_aborted: report.uploads_aborted,
                skipped_retained: report.skipped_retained,
                skipped_held: report.skipped_held,
                failed: report.failed,
                upstream_refused: report.upstream_refused,
            });
        }
        Ok(report)
    }

    /// Apply one action and append its audit record. Refusals by the lock (retention extended or a
    /// hold set since planning) are skips, not records; an audit append failure stops the pass.
    async fn apply_and_audit(&self, action: &Action, report: &mut LifecycleReport, id: &str) -> S3Result<()> {
        let result = self.apply(action).await;
        let mut ev = AuditEvent::internal(
            action.kind.operation(),
            crate::timefmt::format_iso(self.clock.now().at()),
        );
        ev.request_id = format!("lifecycle-{id}");
        ev.principal = Some(LIFECYCLE_PRINCIPAL.into());
        ev.bucket = Some(action.bucket.clone());
        ev.key = Some(action.key.clone());
        ev.version_id.clone_from(&action.version_id);
        ev.status = 200;
        match result {
            Ok(Applied::Stale) => {
                report.stale += 1;
                return Ok(());
            }
            Ok(Applied::Done { changes, left_upstream }) => {
                use crate::audit::Change;
                let freed = match (changes.first(), &action.kind) {
                    (Some(Change::VersionRemoved { .. }), _) => {
                        report.versions_removed += 1;
                        action.bytes
                    }
                    (Some(Change::DeleteMarkerRemoved { .. }), _) => {
                        report.markers_removed += 1;
                        0
                    }
                    (Some(Change::DeleteMarkerAdded { .. }), _) => {
                        report.markers_added += 1;
                        0
                    }
                    (_, ActionKind::AbortUpload { upload_id }) => {
                        report.uploads_aborted += 1;
                        ev.detail = Some(format!("upload {upload_id}"));
                        action.bytes
                    }
                    _ => 0,
                };
                report.bytes_reclaimed += freed;
                if !left_upstream.is_empty() {
                    report.upstream_refused += left_upstream.len() as u64;
                    for id in &left_upstream {
                        let k = [
                            PENDING,
                            action.bucket.as_bytes(),
                            b"\0",
                            action.key.as_bytes(),
                            b"\0",
                            id.as_bytes(),
                        ]
                        .concat();
                        self.catalog.state().insert(k, &[])?;
                    }
                    ev.detail = Some(format!(
                        "{} object(s) still retained by the upstream's own lock, retried every pass",
                        left_upstream.len()
                    ));
                }
                ev.detail = Some(format!(
                    "rule '{}': {freed} bytes freed{}",
                    action.rule_id,
                    ev.detail.as_deref().map(|d| format!("; {d}")).unwrap_or_default()
                ));
                ev.changes = changes;
            }
            Err(e) if e.rule == Some("retention_active") || e.rule == Some("clock_untrusted") => {
                report.skipped_retained += 1;
                return Ok(());
            }
            Err(e) if e.rule == Some("legal_hold_on") => {
                report.skipped_held += 1;
                return Ok(());
            }
            Err(e) => {
                report.failed += 1;
                tracing::warn!(
                    bucket = %action.bucket,
                    key = %action.key,
                    rule = %action.rule_id,
                    error = %e.message,
                    "lifecycle action failed; retried next pass"
                );
                ev.decision = "error".into();
                ev.status = e.status().as_u16();
                ev.error_code = Some(e.code.as_str().to_string());
                ev.rule = e.rule.map(str::to_string);
                ev.detail = Some(format!("rule '{}': {}", action.rule_id, e.message));
            }
        }
        Ok(self.audit.append(ev).await?)
    }

    /// Delete again the upstream objects of removed versions that the upstream's own lock refused
    /// before. Their versions are gone from the catalog, so each id is proven unreferenced (under the
    /// key's guard) and discarded like any leftover; one audit record per id deleted.
    async fn retry_upstream_leftovers(&self, report: &mut LifecycleReport) -> S3Result<()> {
        let pending: Vec<Vec<u8>> = self
            .catalog
            .state()
            .scan_prefix(PENDING)
            .keys()
            .filter_map(Result::ok)
            .map(|k| k.to_vec())
            .collect();
        for raw in pending {
            let rest = raw.get(PENDING.len()..).unwrap_or_default();
            let mut parts = rest.splitn(3, |b| *b == 0);
            let (Some(b), Some(k), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
                self.catalog.state().remove(&raw)?;
                continue;
            };
            let (b, k, id) = (
                String::from_utf8_lossy(b).to_string(),
                String::from_utf8_lossy(k).to_string(),
                String::from_utf8_lossy(id).to_string(),
            );
            let guard = self.locks.key(&b, &k).await;
            if !self.discard_unreferenced(&guard, &b, &k, vec![id.clone()]).await {
                report.upstream_refused += 1;
                continue;
            }
            drop(guard);
            self.catalog.state().remove(&raw)?;
            report.upstream_retried += 1;
            let mut ev = AuditEvent::internal(
                "LifecycleUpstreamRetry",
                crate::timefmt::format_iso(self.clock.now().at()),
            );
            ev.principal = Some(LIFECYCLE_PRINCIPAL.into());
            ev.bucket = Some(b);
            ev.key = Some(k);
            ev.status = 200;
            ev.detail = Some(format!(
                "upstream object {id} of a removed version deleted after an earlier refusal"
            ));
            self.audit.append(ev).await?;
        }
        Ok(())
    }

    /// Re-check, under the key's guard, that the planned action still applies, and apply it through
    /// the request paths.
    async fn apply(&self, action: &Action) -> S3Result<Applied> {
        let (bucket, key) = (action.bucket.as_str(), action.key.as_str());
        if let ActionKind::AbortUpload { upload_id } = &action.kind {
            return match self.abort_multipart(bucket, key, upload_id).await {
                Ok(_) => Ok(Applied::Done {
                    changes: Vec::new(),
                    left_upstream: Vec::new(),
                }),
                Err(e) if e.code == S3Code::NoSuchUpload => Ok(Applied::Stale),
                Err(e) => Err(e),
            };
        }
        let (Some(seq), Some(id)) = (action.seq, action.version_id.as_deref()) else {
            return Ok(Applied::Stale);
        };
        let guard = self.locks.key(bucket, key).await;
        let latest = self.catalog.latest(bucket, key)?;
        let current_is = |want_marker: bool| matches!(&latest, Some(crate::store::VersionEntry::Ok(r)) if r.seq == seq && r.delete_marker == want_marker);
        let out = match action.kind {
            ActionKind::AddMarker => {
                if !current_is(false) {
                    return Ok(Applied::Stale);
                }
                self.add_marker_locked(&guard, bucket, key, LIFECYCLE_PRINCIPAL).await?
            }
            ActionKind::RemoveNoncurrent => {
                if latest.as_ref().is_none_or(|l| l.seq() == seq) {
                    return Ok(Applied::Stale);
                }
                self.remove_version_locked(&guard, bucket, key, id, seq).await?
            }
            ActionKind::RemoveLoneMarker => {
                let versions = self
                    .catalog
                    .scan_versions(bucket, key.as_bytes())
                    .take_while(|e| e.as_ref().is_ok_and(|e| e.key() == key))
                    .take(2)
                    .count();
                if !current_is(true) || versions != 1 {
                    return Ok(Applied::Stale);
                }
                self.remove_version_locked(&guard, bucket, key, id, seq).await?
            }
            ActionKind::AbortUpload { .. } => return Ok(Applied::Stale),
        };
        if out.change.is_none() {
            return Ok(Applied::Stale);
        }
        Ok(Applied::Done {
            changes: out.change.into_iter().collect(),
            left_upstream: out.left_upstream,
        })
    }
}
