//! Alarms the gateway raises on its own — an integrity mismatch found while streaming a GET, a clock
//! alarm — go to the audit trail and to the alarm metrics. Code deep in a response stream has no
//! request context, so the trail is reached through a process-wide sink installed at start.

use super::chain::{AuditEvent, AuditLog};
use crate::lock::clock::ClockAlarm;
use crate::lock::Clock;
use std::sync::{Arc, RwLock};

struct Sink {
    log: AuditLog,
    clock: Option<Arc<Clock>>,
}

static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// Route alarms to `log` (stamped by `clock` when given). Replaces any earlier sink.
pub fn install(log: AuditLog, clock: Option<Arc<Clock>>) {
    if let Ok(mut s) = SINK.write() {
        *s = Some(Sink { log, clock });
    }
}

fn guarded_now_iso(clock: Option<&Arc<Clock>>) -> String {
    let t = clock.map_or_else(chrono::Utc::now, |c| c.now().at());
    crate::timefmt::format_iso(t)
}

/// Append `ev` to the installed trail without waiting (callers are inside response streams or
/// background loops). The time is filled in here when empty.
pub fn record(mut ev: AuditEvent) {
    let Ok(guard) = SINK.read() else { return };
    let Some(sink) = guard.as_ref() else {
        tracing::error!(operation = %ev.operation, "alarm raised but no audit sink is installed");
        return;
    };
    if ev.time.is_empty() {
        ev.time = guarded_now_iso(sink.clock.as_ref());
    }
    let log = sink.log.clone();
    match tokio::runtime::Handle::try_current() {
        Ok(h) => {
            h.spawn(async move {
                if let Err(e) = log.append(ev).await {
                    tracing::error!(error = &e as &dyn std::error::Error, "cannot write alarm audit record");
                }
            });
        }
        Err(_) => {
            if let Err(e) = log.append_blocking(ev) {
                tracing::error!(error = &e as &dyn std::error::Error, "cannot write alarm audit record");
            }
        }
    }
}

/// The object version a GET was streaming.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub bucket: String,
    pub key: String,
    pub version_id: String,
    /// The blob (or part blob) whose bytes were streamed.
    pub blob: Option<String>,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} version {}", self.bucket, self.key, self.version_id)?;
        if let Some(b) = &self.blob {
            write!(f, " blob {b}")?;
        }
        Ok(())
    }
}

/// A GET streamed bytes whose digest (`algorithm`: `BLAKE3` or `SHA-256`, see `checksum::Verify`)
/// is not the recorded one: count the alarm and audit it.
pub fn integrity_mismatch(target: &Target, algorithm: &str, recorded: &str, computed: &str) {
    crate::metrics::integrity_alarm();
    let sha256 = algorithm == "SHA-256";
    record(AuditEvent {
        operation: "IntegrityAlarm".into(),
        decision: "alarm".into(),
        rule: Some(if sha256 { "sha256_mismatch" } else { "blake3_mismatch" }.into()),
        status: 500,
        bucket: Some(target.bucket.clone()),
        key: Some(target.key.clone()),
        version_id: Some(target.version_id.clone()),
        sha256: sha256.then(|| recorded.to_string()),
        detail: Some(format!(
            "GetObject aborted: stored bytes of {target} hash to {algorithm} {computed}, the version record says {recorded}"
        )),
        ..Default::default()
    });
}

/// Watches the guarded clock and turns alarm transitions into audit records and metrics.
#[derive(Default)]
pub struct ClockMonitor {
    last: Option<ClockAlarm>,
}

impl ClockMonitor {
    /// A monitor that already knows the alarm standing at start (it has been reported then).
    pub fn starting_with(alarm: Option<ClockAlarm>) -> Self {
        ClockMonitor { last: alarm }
    }

    /// Look at the clock (this calls `Clock::now`, which evaluates the alarms). Returns the audit
    /// event for a raised or cleared alarm, and updates the metrics.
    pub fn poll(&mut self, clock: &Clock) -> Option<AuditEvent> {
        let now = clock.now();
        let alarm = clock.alarm();
        crate::metrics::set_clock_alarm(alarm);
        if alarm == self.last {
            return None;
        }
        let prev = self.last;
        self.last = alarm;
        let time = crate::timefmt::format_iso(now.at());
        Some(if let Some(a) = alarm {
            crate::metrics::clock_alarm_raised();
            tracing::error!(alarm = ?a, "clock alarm: expiry-based deletions are refused until the time is confirmed or the clocks agree again");
            clock_event(a, time)
        } else {
            tracing::warn!(previous = ?prev, "clock alarm cleared: the clocks agree again");
            let mut ev = AuditEvent::internal("ClockAlarmCleared", time);
            ev.detail = Some(format!("{prev:?} cleared; wall clock {}", crate::timefmt::now_iso()));
            ev
        })
    }
}

/// The audit event for a standing clock alarm.
pub fn clock_event(a: ClockAlarm, guarded_time: String) -> AuditEvent {
    let what = match a {
        ClockAlarm::BehindWatermark => "the wall clock reads earlier than the persisted time watermark (wound back)",
        ClockAlarm::ForwardJump => {
            "the wall clock ran ahead of monotonic time beyond the allowed bound (jumped forward)"
        }
        ClockAlarm::ForwardJumpAcrossRestart => {
            "at start the wall clock was further past the previous run's last heartbeat than --max-offline-gap, and no time source vouched for it (set ahead while stopped)"
        }
        ClockAlarm::SourcesDisagree => "a majority of the configured time sources say the wall clock is off",
    };
    AuditEvent {
        time: guarded_time,
        operation: "ClockAlarm".into(),
        decision: "alarm".into(),
        rule: Some(a.as_str().to_string()),
        detail: Some(format!(
            "{what}; wall clock {}; expiry-based deletions refused",
            crate::timefmt::now_iso()
        )),
        ..Default::default()
    }
}

impl Target {
    pub fn new(bucket: &str, key: &str, version_id: &str) -> Target {
        Target {
            bucket: bucket.into(),
            key: key.into(),
            version_id: version_id.into(),
            blob: None,
        }
    }
    /// The same version, naming the blob (part) being streamed.
    #[must_use]
    pub fn with_blob(&self, id: &str) -> Target {
        Target {
            blob: Some(id.to_string()),
            ..self.clone()
        }
    }
}
