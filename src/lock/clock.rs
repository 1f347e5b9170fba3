//! The guarded clock. Retention compares against wall time, but wall time can be wound back (NTP
//! spoofing, VM snapshot restore) or jump forward. `Clock` never returns a time earlier than a
//! watermark persisted in the catalog, and it notices when wall time runs ahead of monotonic time.
//! While either alarm stands, `TrustedNow::expiry_trusted` is false and `lock::decide` refuses every
//! deletion that depends on a retention having expired.

use chrono::{DateTime, TimeZone, Utc};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where time comes from; injected so tests can wind it back and forward.
pub trait TimeSource: Send + Sync {
    /// Wall-clock time.
    fn wall(&self) -> DateTime<Utc>;
    /// Monotonic time since an arbitrary origin.
    fn monotonic(&self) -> Duration;
}

/// The real system clocks.
pub struct SystemTimeSource {
    origin: std::time::Instant,
}

impl Default for SystemTimeSource {
    fn default() -> Self {
        SystemTimeSource {
            origin: std::time::Instant::now(),
        }
    }
}

impl TimeSource for SystemTimeSource {
    fn wall(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A point in time that came from the guarded clock. Only `Clock` (and tests) can make one, so every
/// retention decision is taken against guarded time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedNow {
    at: DateTime<Utc>,
    expiry_trusted: bool,
}

impl TrustedNow {
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }
    /// False while a clock alarm stands: expiry-based deletions must then be refused.
    pub fn expiry_trusted(&self) -> bool {
        self.expiry_trusted
    }
    /// For unit tests of pure policy code.
    #[cfg(test)]
    pub fn for_test(at: DateTime<Utc>, expiry_trusted: bool) -> Self {
        TrustedNow { at, expiry_trusted }
    }
}

/// Why the clock is not trusted for expiry decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ClockAlarm {
    /// Wall time read earlier than the persisted watermark (clock wound back).
    BehindWatermark,
    /// Wall time ran ahead of monotonic time by more than the allowed bound.
    ForwardJump,
}

impl ClockAlarm {
    /// The alarm's name in the audit trail and the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ClockAlarm::BehindWatermark => "behind_watermark",
            ClockAlarm::ForwardJump => "forward_jump",
        }
    }
}

/// The guarded clock (see module doc).
pub struct Clock {
    source: Arc<dyn TimeSource>,
    watermark_ms: AtomicI64,
    /// Wall minus monotonic at the last point the two were known to agree, in ms.
    anchor_offset_ms: Mutex<i64>,
    /// Allowed drift of wall time ahead of monotonic time.
    forward_bound: chrono::Duration,
    alarm: Mutex<Option<ClockAlarm>>,
    alarm_raised: AtomicBool,
}

impl Clock {
    /// `persisted_watermark_ms` is the high-water mark read from the catalog at start.
    pub fn new(source: Arc<dyn TimeSource>, persisted_watermark_ms: i64, forward_bound: chrono::Duration) -> Self {
        let wall = source.wall();
        let offset = wall.timestamp_millis() - i64::try_from(source.monotonic().as_millis()).unwrap_or(i64::MAX);
        let alarm = (wall.timestamp_millis() < persisted_watermark_ms).then_some(ClockAlarm::BehindWatermark);
        Clock {
            watermark_ms: AtomicI64::new(persisted_watermark_ms.max(wall.timestamp_millis())),
            anchor_offset_ms: Mutex::new(offset),
            forward_bound,
            alarm_raised: AtomicBool::new(alarm.is_some()),
            alarm: Mutex::new(alarm),
            source,
        }
    }

    /// Guarded now: never earlier than the watermark; alarms evaluated on every call.
    pub fn now(&self) -> TrustedNow {
        let wall = self.source.wall();
        let wall_ms = wall.timestamp_millis();
        let mono_ms = i64::try_from(self.source.monotonic().as_millis()).unwrap_or(i64::MAX);
        let prev_watermark = self.watermark_ms.fetch_max(wall_ms, Ordering::SeqCst);
        let mut alarm = self.alarm.lock().unwrap_or_else(|p| p.into_inner());
        let mut anchor = self.anchor_offset_ms.lock().unwrap_or_else(|p| p.into_inner());
        let expected_wall = mono_ms + *anchor;
        let ahead = wall_ms - expected_wall;
        if wall_ms < prev_watermark {
            if alarm.is_none() {
                *alarm = Some(ClockAlarm::BehindWatermark);
                self.alarm_raised.store(true, Ordering::SeqCst);
            }
        } else if ahead > self.forward_bound.num_milliseconds() {
            if alarm.is_none() {
                *alarm = Some(ClockAlarm::ForwardJump);
                self.alarm_raised.store(true, Ordering::SeqCst);
            }
        } else if ahead.abs() <= self.forward_bound.num_milliseconds() {
            // Clocks agree again (slew within bound): re-anchor, clear a forward-jump alarm.
            *anchor = wall_ms - mono_ms;
            if *alarm == Some(ClockAlarm::ForwardJump) {
                *alarm = None;
            }
        }
        if *alarm == Some(ClockAlarm::BehindWatermark) && wall_ms >= prev_watermark && prev_watermark > 0 {
            // Wall time has caught up with the watermark again: it agrees with what we had seen.
            *alarm = None;
            *anchor = wall_ms - mono_ms;
        }
        let at_ms = wall_ms.max(prev_watermark);
        TrustedNow {
            at: Utc.timestamp_millis_opt(at_ms).single().unwrap_or(wall),
            expiry_trusted: alarm.is_none(),
        }
    }

    /// The current high-water mark to persist.
    pub fn watermark_ms(&self) -> i64 {
        self.watermark_ms.load(Ordering::SeqCst)
    }

    /// The standing alarm, if any.
    pub fn alarm(&self) -> Option<ClockAlarm> {
        *self.alarm.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether any alarm was raised since start (for metrics).
    pub fn alarm_ever_raised(&self) -> bool {
        self.alarm_raised.load(Ordering::SeqCst)
    }

    /// An officer confirmed the current wall time is right: accept it as the new anchor. The watermark
    /// never moves backwards, so a confirmed wind-back still cannot expire anything early.
    pub fn confirm(&self) {
        let wall_ms = self.source.wall().timestamp_millis();
        let mono_ms = i64::try_from(self.source.monotonic().as_millis()).unwrap_or(i64::MAX);
        *self.anchor_offset_ms.lock().unwrap_or_else(|p| p.into_inner()) = wall_ms - mono_ms;
        *self.alarm.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

#[cfg(test)]
pub mod testing {
    use super::*;

    /// A hand-driven time source for tests.
    pub struct ManualTime {
        pub wall_ms: AtomicI64,
        pub mono_ms: AtomicI64,
    }

    impl ManualTime {
        pub fn new(wall_ms: i64) -> Arc<Self> {
            Arc::new(ManualTime {
                wall_ms: AtomicI64::new(wall_ms),
                mono_ms: AtomicI64::new(0),
            })
        }
        /// Both clocks advance together (normal passage of time).
        pub fn advance(&self, ms: i64) {
            self.wall_ms.fetch_add(ms, Ordering::SeqCst);
            self.mono_ms.fetch_add(ms, Ordering::SeqCst);
        }
        /// Only the wall clock moves (someone set the system time).
        pub fn set_wall(&self, ms: i64) {
            self.wall_ms.store(ms, Ordering::SeqCst);
        }
    }

    impl TimeSource for ManualTime {
        fn wall(&self) -> DateTime<Utc> {
            Utc.timestamp_millis_opt(self.wall_ms.load(Ordering::SeqCst))
                .single()
                .unwrap_or_default()
        }
        fn monotonic(&self) -> Duration {
            Duration::from_millis(u64::try_from(self.mono_ms.load(Ordering::SeqCst)).unwrap_or(0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::ManualTime;
    use super::*;

    const T0: i64 = 1_900_000_000_000;

    fn clock(t: &Arc<ManualTime>, watermark: i64) -> Clock {
        Clock::new(t.clone(), watermark, chrono::Duration::minutes(5))
    }

    #[test]
    fn normal_time_is_trusted_and_advances() {
        let t = ManualTime::new(T0);
        let c = clock(&t, T0 - 1000);
        assert!(c.now().expiry_trusted());
        t.advance(60_000);
        let n = c.now();
        assert_eq!(n.at().timestamp_millis(), T0 + 60_000);
        assert!(n.expiry_trusted());
        assert_eq!(c.watermark_ms(), T0 + 60_000);
    }

    #[test]
    fn wind_back_never_goes_below_watermark_and_alarms() {
        let t = ManualTime::new(T0);
        let c = clock(&t, 0);
        t.advance(10_000);
        c.now();
        t.set_wall(T0 - 86_400_000);
        let n = c.now();
        assert_eq!(n.at().timestamp_millis(), T0 + 10_000, "time must not go back");
        assert!(!n.expiry_trusted());
        assert_eq!(c.alarm(), Some(ClockAlarm::BehindWatermark));
    }

    #[test]
    fn start_behind_persisted_watermark_alarms() {
        let t = ManualTime::new(T0);
        let c = clock(&t, T0 + 3_600_000);
        let n = c.now();
        assert!(!n.expiry_trusted());
        assert_eq!(n.at().timestamp_millis(), T0 + 3_600_000);
    }

    #[test]
    fn forward_jump_alarms_until_confirmed() {
        let t = ManualTime::new(T0);
        let c = clock(&t, 0);
        t.set_wall(T0 + 10 * 365 * 86_400_000);
        assert!(!c.now().expiry_trusted());
        assert_eq!(c.alarm(), Some(ClockAlarm::ForwardJump));
        t.advance(1000);
        assert!(!c.now().expiry_trusted(), "still jumped relative to monotonic time");
        c.confirm();
        assert!(c.now().expiry_trusted());
    }

    #[test]
    fn small_drift_is_fine() {
        let t = ManualTime::new(T0);
        let c = clock(&t, 0);
        t.advance(1000);
        t.set_wall(T0 + 1000 + 2000);
        assert!(c.now().expiry_trusted());
    }
}
