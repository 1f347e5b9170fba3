//! Process-wide counters for `/metrics` (Prometheus text). Plain atomics: no hidden registry.

use std::sync::atomic::{AtomicU64, Ordering};

static INTEGRITY_ALARMS: AtomicU64 = AtomicU64::new(0);

/// Count a GET whose bytes did not match the recorded SHA-256.
pub fn integrity_alarm() {
    INTEGRITY_ALARMS.fetch_add(1, Ordering::Relaxed);
}

/// Number of integrity alarms since start.
pub fn integrity_alarms() -> u64 {
    INTEGRITY_ALARMS.load(Ordering::Relaxed)
}
