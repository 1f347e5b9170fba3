//! Audit shipping gauges and counters, per sink (`syslog`, `webhook`). Kept here, not in `audit`, so
//! `/metrics` renders them with everything else; the shipper in `audit::ship` reports into them.
//! Both sinks are always exported (zeros when not configured) so alert rules and dashboards can name
//! the series on every gateway.

use super::{header, lock};
use std::fmt::Write;
use std::sync::Mutex;

/// The sink labels, in the order they are rendered.
pub const SINKS: [&str; 2] = ["syslog", "webhook"];

/// What one sink has reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sink {
    configured: bool,
    lag: u64,
    failures: u64,
    last_success_unix: i64,
    shipped_seq: u64,
}

static STATE: Mutex<[Sink; 2]> = Mutex::new(
    [Sink {
        configured: false,
        lag: 0,
        failures: 0,
        last_success_unix: 0,
        shipped_seq: 0,
    }; 2],
);

fn with(sink: &str, f: impl FnOnce(&mut Sink)) {
    if let Some(i) = SINKS.iter().position(|s| *s == sink) {
        f(&mut lock(&STATE)[i]);
    }
}

/// A sink is configured and starts at `shipped_seq` (its cursor).
pub fn configured(sink: &str, shipped_seq: u64) {
    with(sink, |s| {
        s.configured = true;
        s.shipped_seq = shipped_seq;
    });
}

/// Records on disk the sink has not had acknowledged yet.
pub fn lag(sink: &str, records: u64) {
    with(sink, |s| s.lag = records);
}

/// The receiver acknowledged everything up to `seq` at `unix` seconds.
pub fn success(sink: &str, seq: u64, unix: i64) {
    with(sink, |s| {
        s.shipped_seq = seq;
        s.last_success_unix = unix;
    });
}

/// A delivery attempt failed (no connection, write error, non-2xx answer).
pub fn failure(sink: &str) {
    with(sink, |s| s.failures += 1);
}

/// One exported metric: name, type, help, and its value for a sink.
type Row = (&'static str, &'static str, &'static str, fn(&Sink) -> String);

/// Prometheus text of the shipping metrics.
pub fn render(out: &mut String) {
    let state = *lock(&STATE);
    let rows: [Row; 5] = [
        (
            "wormgate_audit_ship_configured",
            "gauge",
            "1 when audit records are shipped to this sink (--audit-syslog, --audit-webhook).",
            |s| u8::from(s.configured).to_string(),
        ),
        (
            "wormgate_audit_ship_lag_records",
            "gauge",
            "Durable audit records the sink's receiver has not acknowledged yet (0 when not configured).",
            |s| s.lag.to_string(),
        ),
        (
            "wormgate_audit_ship_failures_total",
            "counter",
            "Failed delivery attempts to the sink's receiver (each is retried with backoff).",
            |s| s.failures.to_string(),
        ),
        (
            "wormgate_audit_ship_last_success_timestamp_seconds",
            "gauge",
            "When the sink's receiver last acknowledged records (0: not since start).",
            |s| s.last_success_unix.to_string(),
        ),
        (
            "wormgate_audit_ship_shipped_seq",
            "gauge",
            "Audit sequence number up to which the sink's receiver has acknowledged (its cursor).",
            |s| s.shipped_seq.to_string(),
        ),
    ];
    for (name, kind, help, value) in rows {
        header(out, name, kind, help);
        for (label, s) in SINKS.iter().zip(state.iter()) {
            let _ = writeln!(out, "{name}{{sink=\"{label}\"}} {}", value(s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sink_is_rendered_and_unknown_sinks_are_ignored() {
        failure("nosuch");
        let mut out = String::new();
        render(&mut out);
        for name in [
            "wormgate_audit_ship_lag_records",
            "wormgate_audit_ship_failures_total",
            "wormgate_audit_ship_last_success_timestamp_seconds",
        ] {
            for sink in SINKS {
                assert!(out.contains(&format!("{name}{{sink=\"{sink}\"}} ")), "{name} {sink}");
            }
        }
        assert!(!out.contains("nosuch"));
    }
}
