//! Metrics of the off-box audit archive (`audit::archive`): what is still to be copied, what failed,
//! when the archive last took a copy, and copies that disagree with the archive. Kept apart from the
//! request metrics so the archiver's hook into `metrics` is two lines.

use super::single;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

static PENDING_SEGMENTS: AtomicU64 = AtomicU64::new(0);
static PENDING_CHECKPOINTS: AtomicU64 = AtomicU64::new(0);
static FAILURES: AtomicU64 = AtomicU64::new(0);
static CONFLICTS: AtomicU64 = AtomicU64::new(0);
static ARCHIVED: AtomicU64 = AtomicU64::new(0);
static LAST_SUCCESS_S: AtomicI64 = AtomicI64::new(0);

/// After each archive pass: sealed segments and checkpoints not yet in the archive.
pub fn archive_pending(segments: u64, checkpoints: u64) {
    PENDING_SEGMENTS.store(segments, Ordering::Relaxed);
    PENDING_CHECKPOINTS.store(checkpoints, Ordering::Relaxed);
}

/// An archive request failed (unreachable, refused, or a pass that could not finish).
pub fn archive_failed() {
    FAILURES.fetch_add(1, Ordering::Relaxed);
}

/// The archive holds different bytes under the name of a local file (an alarm).
pub fn archive_conflict() {
    CONFLICTS.fetch_add(1, Ordering::Relaxed);
}

/// A file is now in the archive (copied, or found there with the same SHA-256).
pub fn archive_file_done() {
    ARCHIVED.fetch_add(1, Ordering::Relaxed);
}

/// An archive pass reached the archive and finished without a failure, at `unix_s`.
pub fn archive_pass_ok(unix_s: i64) {
    LAST_SUCCESS_S.store(unix_s, Ordering::Relaxed);
}

/// The archive metrics (all zero without an archive, so the alert rules stay quiet there).
pub(super) fn render(out: &mut String) {
    single(
        out,
        "wormgate_audit_archive_pending_segments",
        "gauge",
        "Sealed audit segments not yet copied to the audit archive.",
        PENDING_SEGMENTS.load(Ordering::Relaxed),
    );
    single(
        out,
        "wormgate_audit_archive_pending_checkpoints",
        "gauge",
        "Signed checkpoints not yet copied to the audit archive.",
        PENDING_CHECKPOINTS.load(Ordering::Relaxed),
    );
    single(
        out,
        "wormgate_audit_archive_failures_total",
        "counter",
        "Audit archive requests or passes that failed (archive unreachable or refusing).",
        FAILURES.load(Ordering::Relaxed),
    );
    single(
        out,
        "wormgate_audit_archive_conflicts_total",
        "counter",
        "Files the audit archive already holds with different content (an alarm).",
        CONFLICTS.load(Ordering::Relaxed),
    );
    single(
        out,
        "wormgate_audit_archive_files_total",
        "counter",
        "Audit files confirmed in the archive since start.",
        ARCHIVED.load(Ordering::Relaxed),
    );
    single(
        out,
        "wormgate_audit_archive_last_success_timestamp_seconds",
        "gauge",
        "When an audit archive pass last finished without a failure (0: not yet since start).",
        LAST_SUCCESS_S.load(Ordering::Relaxed),
    );
}
