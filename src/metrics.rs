//! Process-wide counters for `/metrics` (Prometheus text exposition 0.0.4). Plain atomics and small
//! mutex-guarded maps: no hidden registry. Values that need a catalog scan (versions and bytes under
//! retention) are computed periodically by `daemon` and only read here.

mod archive;

pub use archive::{archive_conflict, archive_failed, archive_file_done, archive_pass_ok, archive_pending};
pub mod ship;

use crate::lock::clock::ClockAlarm;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::Duration;

static INTEGRITY_ALARMS: AtomicU64 = AtomicU64::new(0);
static AUDIT_APPEND_FAILURES: AtomicU64 = AtomicU64::new(0);
static CLOCK_ALARMS: AtomicU64 = AtomicU64::new(0);
/// 0 none, 1 behind watermark, 2 forward jump.
static CLOCK_ALARM_STANDING: AtomicU8 = AtomicU8::new(0);
static BYTES_IN: AtomicU64 = AtomicU64::new(0);
static BYTES_OUT: AtomicU64 = AtomicU64::new(0);
static CHECKPOINTS: AtomicU64 = AtomicU64::new(0);
static LAST_CHECKPOINT_SEQ: AtomicU64 = AtomicU64::new(0);
static STARTED_S: AtomicI64 = AtomicI64::new(0);

/// Latency histogram bucket bounds, seconds.
const BOUNDS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BOUNDS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Maps {
    /// (operation, status) → count
    requests: BTreeMap<(String, u16), u64>,
    /// (operation, rule) → count of denied requests
    denials: BTreeMap<(String, String), u64>,
    latency: BTreeMap<String, Histogram>,
}

static MAPS: Mutex<Maps> = Mutex::new(Maps {
    requests: BTreeMap::new(),
    denials: BTreeMap::new(),
    latency: BTreeMap::new(),
});

/// Result of the last scrub, for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct ScrubSummary {
    pub finished_unix: i64,
    pub duration_s: f64,
    pub checked_versions: u64,
    pub checked_bytes: u64,
    pub missing: u64,
    pub corrupt: u64,
    pub unreferenced: u64,
}

/// Catalog totals computed by the periodic scan.
#[derive(Debug, Clone, Default)]
pub struct RetentionStats {
    pub computed_unix: i64,
    pub versions: u64,
    pub bytes: u64,
    pub delete_markers: u64,
    pub versions_under_retention: u64,
    pub bytes_under_retention: u64,
    pub legal_holds: u64,
    pub corrupt_records: u64,
    pub buckets: u64,
}

/// One finished lifecycle pass, as `gateway::lifecycle` reports it.
#[derive(Debug, Clone, Default)]
pub struct LifecycleSample {
    pub finished_unix: i64,
    pub duration_s: f64,
    pub versions_removed: u64,
    pub bytes_reclaimed: u64,
    pub markers_removed: u64,
    pub markers_added: u64,
    pub uploads_aborted: u64,
    pub skipped_retained: u64,
    pub skipped_held: u64,
    pub failed: u64,
    pub upstream_refused: u64,
}

/// Lifecycle totals since start (counters) and the last pass (gauges): (runs, totals, last pass).
static LIFECYCLE: Mutex<(u64, LifecycleSample, Option<LifecycleSample>)> = Mutex::new((
    0,
    LifecycleSample {
        finished_unix: 0,
        duration_s: 0.0,
        versions_removed: 0,
        bytes_reclaimed: 0,
        markers_removed: 0,
        markers_added: 0,
        uploads_aborted: 0,
        skipped_retained: 0,
        skipped_held: 0,
        failed: 0,
        upstream_refused: 0,
    },
    None,
));

static SCRUB: Mutex<(u64, Option<ScrubSummary>)> = Mutex::new((0, None));
static RETENTION: Mutex<Option<RetentionStats>> = Mutex::new(None);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Count a GET whose bytes did not match the recorded SHA-256.
pub fn integrity_alarm() {
    INTEGRITY_ALARMS.fetch_add(1, Ordering::Relaxed);
}

/// Number of integrity alarms since start.
pub fn integrity_alarms() -> u64 {
    INTEGRITY_ALARMS.load(Ordering::Relaxed)
}

/// Count an audit record that could not be written (full volume, I/O error, writer stopped): the
/// request it belongs to was answered with an error, and the operator must know at once.
pub fn audit_append_failed() {
    AUDIT_APPEND_FAILURES.fetch_add(1, Ordering::Relaxed);
}

/// Number of failed audit appends since start.
pub fn audit_append_failures() -> u64 {
    AUDIT_APPEND_FAILURES.load(Ordering::Relaxed)
}

/// Count a clock alarm being raised.
pub fn clock_alarm_raised() {
    CLOCK_ALARMS.fetch_add(1, Ordering::Relaxed);
}

/// Record the alarm standing now.
pub fn set_clock_alarm(a: Option<ClockAlarm>) {
    let v = match a {
        None => 0,
        Some(ClockAlarm::BehindWatermark) => 1,
        Some(ClockAlarm::ForwardJump) => 2,
        Some(ClockAlarm::ForwardJumpAcrossRestart) => 3,
        Some(ClockAlarm::SourcesDisagree) => 4,
    };
    CLOCK_ALARM_STANDING.store(v, Ordering::Relaxed);
}

/// Count a signed checkpoint.
pub fn checkpoint_signed(seq: u64) {
    CHECKPOINTS.fetch_add(1, Ordering::Relaxed);
    LAST_CHECKPOINT_SEQ.store(seq, Ordering::Relaxed);
}

/// Remember the process start (for uptime).
pub fn mark_started() {
    STARTED_S.store(chrono::Utc::now().timestamp(), Ordering::Relaxed);
}

/// Store the result of a finished scrub.
pub fn record_scrub(s: ScrubSummary) {
    let mut g = lock(&SCRUB);
    g.0 += 1;
    g.1 = Some(s);
}

/// Add a finished lifecycle pass to the totals.
pub fn record_lifecycle(p: LifecycleSample) {
    let mut g = lock(&LIFECYCLE);
    g.0 += 1;
    let t = &mut g.1;
    t.versions_removed += p.versions_removed;
    t.bytes_reclaimed += p.bytes_reclaimed;
    t.markers_removed += p.markers_removed;
    t.markers_added += p.markers_added;
    t.uploads_aborted += p.uploads_aborted;
    t.failed += p.failed;
    t.upstream_refused += p.upstream_refused;
    g.2 = Some(p);
}

fn render_lifecycle(out: &mut String) {
    let (runs, t, last) = lock(&LIFECYCLE).clone();
    single(
        out,
        "wormgate_lifecycle_runs_total",
        "counter",
        "Completed lifecycle passes.",
        runs,
    );
    let counters: [(&str, &str, u64); 7] = [
        (
            "wormgate_lifecycle_upstream_refused_total",
            "Upstream objects of removed versions the upstream's own lock refused to delete (retried every pass).",
            t.upstream_refused,
        ),
        (
            "wormgate_lifecycle_versions_reclaimed_total",
            "Noncurrent versions destroyed by lifecycle rules.",
            t.versions_removed,
        ),
        (
            "wormgate_lifecycle_bytes_reclaimed_total",
            "Bytes freed by lifecycle rules (versions and aborted uploads).",
            t.bytes_reclaimed,
        ),
        (
            "wormgate_lifecycle_delete_markers_removed_total",
            "Delete markers removed by lifecycle rules.",
            t.markers_removed,
        ),
        (
            "wormgate_lifecycle_delete_markers_added_total",
            "Delete markers added by Expiration rules.",
            t.markers_added,
        ),
        (
            "wormgate_lifecycle_uploads_aborted_total",
            "Incomplete multipart uploads aborted by lifecycle rules.",
            t.uploads_aborted,
        ),
        (
            "wormgate_lifecycle_failures_total",
            "Lifecycle actions that failed (retried next pass).",
            t.failed,
        ),
    ];
    for (name, help, v) in counters {
        single(out, name, "counter", help, v);
    }
    // How many due versions the lock kept at the last pass: a gauge, since the same retained version
    // is met again at every pass until it may go.
    header(
        out,
        "wormgate_lifecycle_kept_versions",
        "gauge",
        "Versions due by a lifecycle rule but kept by the lock at the last pass, by reason (retained, held).",
    );
    let (retained, held) = last.as_ref().map_or((0, 0), |l| (l.skipped_retained, l.skipped_held));
    let _ = writeln!(
        out,
        "wormgate_lifecycle_kept_versions{{reason=\"retained\"}} {retained}"
    );
    let _ = writeln!(out, "wormgate_lifecycle_kept_versions{{reason=\"held\"}} {held}");
    if let Some(l) = last {
        single(
            out,
            "wormgate_lifecycle_last_run_timestamp_seconds",
            "gauge",
            "When the last lifecycle pass finished.",
            l.finished_unix,
        );
        single(
            out,
            "wormgate_lifecycle_last_run_duration_seconds",
            "gauge",
            "Duration of the last lifecycle pass.",
            l.duration_s,
        );
    }
}

/// Store freshly computed catalog totals.
pub fn set_retention_stats(s: RetentionStats) {
    *lock(&RETENTION) = Some(s);
}

/// The operation label of a request: its S3 operation name, or `unparsed` when the request never got
/// that far (keeps label cardinality bounded: no raw paths).
pub fn operation_label(op: &str) -> String {
    if op.is_empty() || op.contains([' ', '/']) || op.len() > 64 {
        "unparsed".into()
    } else {
        op.to_string()
    }
}

/// What the metrics count of one finished request (`audit::AuditEvent` converts into it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestSample<'a> {
    pub operation: &'a str,
    pub status: u16,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// The request was refused by the policy or by authentication.
    pub denied: bool,
    /// The lock rule that refused it (none: authentication).
    pub rule: Option<&'a str>,
}

/// Account one finished request.
pub fn record_request<'a>(req: impl Into<RequestSample<'a>>, latency: Duration) {
    let ev = req.into();
    BYTES_IN.fetch_add(ev.bytes_in, Ordering::Relaxed);
    BYTES_OUT.fetch_add(ev.bytes_out, Ordering::Relaxed);
    let op = operation_label(ev.operation);
    let secs = latency.as_secs_f64();
    let mut m = lock(&MAPS);
    *m.requests.entry((op.clone(), ev.status)).or_default() += 1;
    if ev.denied {
        let rule = ev.rule.unwrap_or("authentication").to_string();
        *m.denials.entry((op.clone(), rule)).or_default() += 1;
    }
    let h = m.latency.entry(op).or_default();
    for (i, b) in BOUNDS.iter().enumerate() {
        if secs <= *b {
            h.counts[i] += 1;
        }
    }
    h.count += 1;
    h.sum += secs;
}

/// State owned elsewhere that the exposition shows.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// (length, head hash) of the audit chain.
    pub audit_head: (u64, String),
    /// Whether expiry decisions are trusted right now.
    pub clock_alarm: Option<ClockAlarm>,
    /// The persisted time watermark, ms.
    pub watermark_ms: i64,
    /// Usage and quota of every bucket (kept current by the catalog, so read at each scrape).
    pub capacity: Vec<crate::store::capacity::BucketCapacity>,
    /// Free space of the data volume and its reserve (statvfs at each scrape).
    pub free_space: Option<crate::store::capacity::FreeSpace>,
}

/// Reads one per-bucket gauge (`None`: the bucket has no such value, e.g. no quota).
type BucketGauge = fn(&crate::store::capacity::BucketCapacity) -> Option<u64>;

/// Per-bucket usage, quotas and free space of the data volume.
fn render_capacity(out: &mut String, s: &Snapshot) {
    let buckets = &s.capacity;
    let gauges: [(&str, &str, BucketGauge); 5] = [
        (
            "wormgate_bucket_bytes",
            "Bytes of every version in the bucket (what its byte quota counts).",
            |b| Some(b.usage.bytes),
        ),
        (
            "wormgate_bucket_versions",
            "Object versions in the bucket, delete markers excluded (what its version quota counts).",
            |b| Some(b.usage.versions),
        ),
        (
            "wormgate_bucket_inflight_bytes",
            "Bytes claimed by writes in flight to the bucket.",
            |b| Some(b.in_flight.bytes),
        ),
        (
            "wormgate_bucket_quota_bytes",
            "The bucket's byte quota (absent: no byte quota).",
            |b| b.quota.and_then(|q| q.bytes),
        ),
        (
            "wormgate_bucket_quota_versions",
            "The bucket's version quota (absent: no version quota).",
            |b| b.quota.and_then(|q| q.versions),
        ),
    ];
    for (name, help, value) in gauges {
        if buckets.iter().all(|b| value(b).is_none()) {
            continue;
        }
        header(out, name, "gauge", help);
        for b in buckets {
            if let Some(v) = value(b) {
                let _ = writeln!(out, "{name}{{bucket=\"{}\"}} {v}", esc(&b.bucket));
            }
        }
    }
    let ratios: Vec<(&str, f64)> = buckets
        .iter()
        .filter_map(|b| {
            let q = b.quota?;
            let r_bytes = q.bytes.map(|max| ratio(b.usage.bytes, max));
            let r_versions = q.versions.map(|max| ratio(b.usage.versions, max));
            let r = r_bytes.into_iter().chain(r_versions).fold(0.0_f64, f64::max);
            Some((b.bucket.as_str(), r))
        })
        .collect();
    if !ratios.is_empty() {
        header(
            out,
            "wormgate_bucket_quota_used_ratio",
            "gauge",
            "Share of the bucket's quota in use (the larger of bytes and versions; 1 = full).",
        );
        for (b, r) in ratios {
            let _ = writeln!(out, "wormgate_bucket_quota_used_ratio{{bucket=\"{}\"}} {r}", esc(b));
        }
    }
    if let Some(f) = s.free_space {
        single(
            out,
            "wormgate_data_free_bytes",
            "gauge",
            "Bytes still free (for the gateway) on the data directory's volume.",
            f.available,
        );
        single(
            out,
            "wormgate_data_size_bytes",
            "gauge",
            "Size of the data directory's volume.",
            f.total,
        );
        single(
            out,
            "wormgate_data_reserve_bytes",
            "gauge",
            "The free-space reserve (--reserve-free) in bytes: at or below it new versions are refused (507).",
            f.reserve,
        );
        single(
            out,
            "wormgate_data_below_reserve",
            "gauge",
            "1 while free space is at or below the reserve: new versions and uploads are refused.",
            u8::from(f.below_reserve()),
        );
    }
}

fn ratio(used: u64, max: u64) -> f64 {
    if max == 0 {
        if used == 0 {
            0.0
        } else {
            1.0
        }
    } else {
        crate::units::approx_f64(used) / crate::units::approx_f64(max)
    }
}

/// Escape a label value.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn single(out: &mut String, name: &str, kind: &str, help: &str, v: impl std::fmt::Display) {
    header(out, name, kind, help);
    let _ = writeln!(out, "{name} {v}");
}

/// Prometheus text for everything above.
pub fn render(s: &Snapshot) -> String {
    let mut out = String::with_capacity(8192);
    {
        let m = lock(&MAPS);
        header(
            &mut out,
            "wormgate_requests_total",
            "counter",
            "Requests by S3 operation and HTTP status.",
        );
        for ((op, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "wormgate_requests_total{{operation=\"{}\",status=\"{status}\"}} {n}",
                esc(op)
            );
        }
        header(
            &mut out,
            "wormgate_denied_total",
            "counter",
            "Refused requests by operation and the rule that refused them.",
        );
        for ((op, rule), n) in &m.denials {
            let _ = writeln!(
                out,
                "wormgate_denied_total{{operation=\"{}\",rule=\"{}\"}} {n}",
                esc(op),
                esc(rule)
            );
        }
        header(
            &mut out,
            "wormgate_request_duration_seconds",
            "histogram",
            "Request latency until the response head, by operation.",
        );
        for (op, h) in &m.latency {
            let op = esc(op);
            for (i, b) in BOUNDS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "wormgate_request_duration_seconds_bucket{{operation=\"{op}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "wormgate_request_duration_seconds_bucket{{operation=\"{op}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "wormgate_request_duration_seconds_sum{{operation=\"{op}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "wormgate_request_duration_seconds_count{{operation=\"{op}\"}} {}",
                h.count
            );
        }
    }
    single(
        &mut out,
        "wormgate_bytes_in_total",
        "counter",
        "Request payload bytes received.",
        BYTES_IN.load(Ordering::Relaxed),
    );
    single(
        &mut out,
        "wormgate_bytes_out_total",
        "counter",
        "Object bytes sent.",
        BYTES_OUT.load(Ordering::Relaxed),
    );
    single(
        &mut out,
        "wormgate_audit_append_failures_total",
        "counter",
        "Audit records that could not be written (full volume, I/O error); each one failed its request.",
        audit_append_failures(),
    );
    single(
        &mut out,
        "wormgate_integrity_alarms_total",
        "counter",
        "GETs aborted because stored bytes did not match the recorded SHA-256.",
        integrity_alarms(),
    );
    single(
        &mut out,
        "wormgate_upstream_requests_total",
        "counter",
        "Requests sent to the upstream S3 store (upstream mode; every retry counts).",
        crate::store::blob::upstream::client::requests_sent(),
    );
    single(
        &mut out,
        "wormgate_upstream_failures_total",
        "counter",
        "Upstream attempts that failed: no connection or a 5xx answer (upstream mode; every retry counts).",
        crate::store::blob::upstream::client::failures(),
    );
    single(
        &mut out,
        "wormgate_clock_alarms_total",
        "counter",
        "Clock alarms raised (wall clock wound back, jumped forward while running or across a restart, or time sources disagree).",
        CLOCK_ALARMS.load(Ordering::Relaxed),
    );
    header(
        &mut out,
        "wormgate_clock_alarm",
        "gauge",
        "1 while a clock alarm stands (expiry-based deletions refused), by kind.",
    );
    for v in ClockAlarm::ALL {
        let kind = v.as_str();
        let _ = writeln!(
            out,
            "wormgate_clock_alarm{{kind=\"{kind}\"}} {}",
            u8::from(s.clock_alarm == Some(v))
        );
    }
    single(
        &mut out,
        "wormgate_clock_watermark_seconds",
        "gauge",
        "Persisted time watermark (guarded clock never reads earlier).",
        crate::units::approx_f64(u64::try_from(s.watermark_ms).unwrap_or(0)) / 1000.0,
    );
    single(
        &mut out,
        "wormgate_audit_chain_length",
        "gauge",
        "Records in the hash-chained audit trail.",
        s.audit_head.0,
    );
    header(
        &mut out,
        "wormgate_audit_chain_head",
        "gauge",
        "Hash of the newest audit record (label), value = its seq.",
    );
    let _ = writeln!(
        out,
        "wormgate_audit_chain_head{{hash=\"{}\"}} {}",
        esc(&s.audit_head.1),
        s.audit_head.0
    );
    single(
        &mut out,
        "wormgate_audit_checkpoints_total",
        "counter",
        "Signed audit checkpoints made since start.",
        CHECKPOINTS.load(Ordering::Relaxed),
    );
    single(
        &mut out,
        "wormgate_audit_last_checkpoint_seq",
        "gauge",
        "Chain position covered by the newest signed checkpoint.",
        LAST_CHECKPOINT_SEQ.load(Ordering::Relaxed),
    );
    if let Some(r) = lock(&RETENTION).clone() {
        single(
            &mut out,
            "wormgate_versions",
            "gauge",
            "Object versions in the catalog (excluding delete markers).",
            r.versions,
        );
        single(
            &mut out,
            "wormgate_version_bytes",
            "gauge",
            "Bytes of all object versions.",
            r.bytes,
        );
        single(
            &mut out,
            "wormgate_delete_markers",
            "gauge",
            "Delete markers in the catalog.",
            r.delete_markers,
        );
        single(
            &mut out,
            "wormgate_versions_under_retention",
            "gauge",
            "Versions whose COMPLIANCE retention has not ended.",
            r.versions_under_retention,
        );
        single(
            &mut out,
            "wormgate_bytes_under_retention",
            "gauge",
            "Bytes of versions under retention.",
            r.bytes_under_retention,
        );
        single(
            &mut out,
            "wormgate_legal_holds",
            "gauge",
            "Versions under legal hold.",
            r.legal_holds,
        );
        single(
            &mut out,
            "wormgate_corrupt_catalog_records",
            "gauge",
            "Catalog records that do not decode (treated as locked).",
            r.corrupt_records,
        );
        single(&mut out, "wormgate_buckets", "gauge", "Buckets.", r.buckets);
        single(
            &mut out,
            "wormgate_catalog_stats_timestamp_seconds",
            "gauge",
            "When the catalog totals above were computed.",
            r.computed_unix,
        );
    }
    render_capacity(&mut out, s);
    render_lifecycle(&mut out);
    archive::render(&mut out);
    ship::render(&mut out);
    let (runs, last) = lock(&SCRUB).clone();
    single(
        &mut out,
        "wormgate_scrub_runs_total",
        "counter",
        "Completed scrubs (background or on demand).",
        runs,
    );
    if let Some(sc) = last {
        single(
            &mut out,
            "wormgate_scrub_last_timestamp_seconds",
            "gauge",
            "When the last scrub finished.",
            sc.finished_unix,
        );
        single(
            &mut out,
            "wormgate_scrub_last_duration_seconds",
            "gauge",
            "Duration of the last scrub.",
            sc.duration_s,
        );
        single(
            &mut out,
            "wormgate_scrub_last_checked_versions",
            "gauge",
            "Versions re-hashed by the last scrub.",
            sc.checked_versions,
        );
        single(
            &mut out,
            "wormgate_scrub_last_checked_bytes",
            "gauge",
            "Bytes re-hashed by the last scrub.",
            sc.checked_bytes,
        );
        header(
            &mut out,
            "wormgate_scrub_last_problems",
            "gauge",
            "Problems found by the last scrub, by kind.",
        );
        let _ = writeln!(out, "wormgate_scrub_last_problems{{kind=\"missing\"}} {}", sc.missing);
        let _ = writeln!(out, "wormgate_scrub_last_problems{{kind=\"corrupt\"}} {}", sc.corrupt);
        let _ = writeln!(
            out,
            "wormgate_scrub_last_problems{{kind=\"unreferenced\"}} {}",
            sc.unreferenced
        );
    }
    let started = STARTED_S.load(Ordering::Relaxed);
    if started > 0 {
        single(
            &mut out,
            "wormgate_start_time_seconds",
            "gauge",
            "Process start time.",
            started,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_requests_denials_and_histograms() {
        let ev = RequestSample {
            operation: "DeleteObject",
            status: 403,
            denied: true,
            rule: Some("retention_active"),
            bytes_in: 5,
            ..Default::default()
        };
        record_request(ev, Duration::from_millis(3));
        record_request(
            RequestSample {
                operation: "GET /x y",
                status: 403,
                denied: true,
                ..Default::default()
            },
            Duration::from_secs(100),
        );
        let text = render(&Snapshot {
            audit_head: (7, "abc".into()),
            clock_alarm: Some(ClockAlarm::ForwardJump),
            watermark_ms: 1000,
            capacity: vec![
                crate::store::capacity::BucketCapacity {
                    bucket: "full".into(),
                    usage: crate::store::capacity::Usage { bytes: 90, versions: 2 },
                    in_flight: Default::default(),
                    quota: Some(crate::store::capacity::Quota {
                        bytes: Some(100),
                        versions: Some(10),
                    }),
                    quota_source: None,
                },
                crate::store::capacity::BucketCapacity {
                    bucket: "free".into(),
                    usage: crate::store::capacity::Usage { bytes: 5, versions: 1 },
                    in_flight: Default::default(),
                    quota: None,
                    quota_source: None,
                },
            ],
            free_space: Some(crate::store::capacity::FreeSpace {
                available: 10,
                total: 1000,
                reserve: 50,
            }),
        });
        assert!(text.contains("wormgate_bucket_bytes{bucket=\"free\"} 5"), "{text}");
        assert!(text.contains("wormgate_bucket_quota_bytes{bucket=\"full\"} 100"));
        assert!(!text.contains("wormgate_bucket_quota_bytes{bucket=\"free\"}"));
        assert!(text.contains("wormgate_bucket_quota_used_ratio{bucket=\"full\"} 0.9"));
        assert!(text.contains("wormgate_data_below_reserve 1"));
        assert!(text.contains("wormgate_data_reserve_bytes 50"));
        assert!(
            text.contains("wormgate_requests_total{operation=\"DeleteObject\",status=\"403\"}"),
            "{text}"
        );
        assert!(text.contains("wormgate_denied_total{operation=\"DeleteObject\",rule=\"retention_active\"}"));
        assert!(text.contains("wormgate_denied_total{operation=\"unparsed\",rule=\"authentication\"}"));
        assert!(text.contains("wormgate_request_duration_seconds_bucket{operation=\"DeleteObject\",le=\"0.005\"}"));
        assert!(text.contains("wormgate_audit_chain_length 7"));
        assert!(text.contains("wormgate_audit_chain_head{hash=\"abc\"} 7"));
        assert!(text.contains("wormgate_clock_alarm{kind=\"forward_jump\"} 1"));
        // Every sample line is `name{labels} value` or `name value`.
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            assert_eq!(
                l.rsplit(' ').next().map(|v| v.parse::<f64>().is_ok()),
                Some(true),
                "{l}"
            );
        }
    }
}
