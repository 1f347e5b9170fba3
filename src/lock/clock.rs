//! The guarded clock. Retention compares against wall time, but wall time can be wound back (NTP
//! spoofing, VM snapshot restore) or jump forward. `Clock` never returns a time earlier than a
//! watermark persisted in the catalog, and it notices when wall time runs ahead of monotonic time
//! while running, or ahead of the previous run's last heartbeat by more than `--max-offline-gap`
//! across a restart. With time sources configured (`--time-source`), their vote (`lock::quorum`)
//! must also agree. While an alarm stands, or the sources have not recently agreed,
//! `TrustedNow::expiry_trusted` is false and `lock::decide` refuses every deletion that depends on a
//! retention having expired. Reads and writes never depend on it. A watermark left in the future by
//! a clock that was once ahead is brought back by [`Clock::rewind`].

use chrono::{DateTime, TimeZone, Utc};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::quorum::Verdict;

/// Why the new watermark could not be made durable (the caller's storage error, kept as the cause).
pub type PersistError = Box<dyn std::error::Error + Send + Sync>;

/// Why a rewind of the watermark was refused or failed; nothing changed in either case.
#[derive(Debug, thiserror::Error)]
pub enum RewindError {
    /// The wall clock is not behind the watermark.
    #[error("the wall clock ({wall_ms} ms) is not behind the watermark ({from_ms} ms): nothing to rewind")]
    NotBehind {
        /// The wall clock.
        wall_ms: i64,
        /// The watermark.
        from_ms: i64,
    },
    /// The time sources' recent vote says the wall clock is wrong.
    #[error("the time sources say the wall clock is wrong: fix the clock, not the watermark")]
    SourcesDisagree,
    /// Sources are configured but none agreed recently, and no statement was given.
    #[error("no recent agreeing vote of the time sources: a rewind needs an officer's --statement")]
    NoAgreeingVote,
    /// No source is configured and no statement was given.
    #[error("no time source is configured: a rewind needs an officer's --statement")]
    NoSources,
    /// Persisting the new watermark failed.
    #[error(transparent)]
    Persist(PersistError),
}

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
    /// At start, the wall clock was further past the last heartbeat of the previous run than
    /// `--max-offline-gap`, and no time source vouched for it (clock set ahead while stopped).
    ForwardJumpAcrossRestart,
    /// A majority of the configured time sources say the wall clock is off.
    SourcesDisagree,
}

impl ClockAlarm {
    /// The alarm's name in the audit trail and the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ClockAlarm::BehindWatermark => "behind_watermark",
            ClockAlarm::ForwardJump => "forward_jump",
            ClockAlarm::ForwardJumpAcrossRestart => "forward_jump_across_restart",
            ClockAlarm::SourcesDisagree => "sources_disagree",
        }
    }

    /// Every alarm (metrics list each kind).
    pub const ALL: [ClockAlarm; 4] = [
        ClockAlarm::BehindWatermark,
        ClockAlarm::ForwardJump,
        ClockAlarm::ForwardJumpAcrossRestart,
        ClockAlarm::SourcesDisagree,
    ];

    /// Alarms that say the wall clock may be *ahead* of real time: an agreeing quorum of time sources
    /// or an officer's confirmation clears them.
    fn is_forward(self) -> bool {
        matches!(self, ClockAlarm::ForwardJump | ClockAlarm::ForwardJumpAcrossRestart)
    }
}

/// How the clock is set up (`serve` fills it from `--max-offline-gap`, `--time-source`,
/// `--time-check-interval`).
#[derive(Debug, Clone, Copy)]
pub struct ClockOptions {
    /// Allowed drift of wall time ahead of monotonic time while running.
    pub forward_bound: chrono::Duration,
    /// Largest forward gap between the previous run's last heartbeat and the wall clock at start
    /// that is accepted without a time source or an officer.
    pub max_offline_gap: chrono::Duration,
    /// Time sources are configured: expiry-based deletions then also need a recent agreeing vote.
    pub sources_configured: bool,
    /// How old (monotonic) the last agreeing vote may be and still count as recent.
    pub vote_max_age: Duration,
}

impl Default for ClockOptions {
    fn default() -> Self {
        ClockOptions {
            forward_bound: chrono::Duration::minutes(5),
            max_offline_gap: chrono::Duration::minutes(10),
            sources_configured: false,
            vote_max_age: Duration::from_secs(11 * 60),
        }
    }
}

/// What the persisted state said at start.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClockStart {
    /// The high-water mark of guarded time (catalog).
    pub watermark_ms: i64,
    /// The last heartbeat of the previous run (catalog), `None` on a fresh data directory or one
    /// written before heartbeats existed (the watermark stands in for it then).
    pub heartbeat_ms: Option<i64>,
}

/// Who established that real time is behind the watermark, for [`Clock::rewind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RewindAuthority {
    /// A recent agreeing quorum of the configured time sources.
    Sources,
    /// An officer's explicit statement (recorded in the audit trail by the caller).
    Statement,
}

/// A rewind that happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Rewound {
    pub from_ms: i64,
    pub to_ms: i64,
    pub by: RewindAuthority,
}

/// The guarded clock (see module doc).
pub struct Clock {
    source: Arc<dyn TimeSource>,
    watermark_ms: AtomicI64,
    /// Wall minus monotonic at the last point the two were known to agree, in ms.
    anchor_offset_ms: Mutex<i64>,
    opts: ClockOptions,
    alarm: Mutex<Option<ClockAlarm>>,
    alarm_raised: AtomicBool,
    /// The last vote of the time sources and the monotonic ms it was taken at.
    vote: Mutex<Option<(i64, Verdict)>>,
    /// Forward gap found at start (ms), when it raised the restart alarm.
    restart_gap_ms: Option<i64>,
    /// Held while the watermark is persisted or rewound, so a persist of the old value cannot land
    /// after a rewind.
    persist: Mutex<()>,
}

fn mono_ms(source: &dyn TimeSource) -> i64 {
    i64::try_from(source.monotonic().as_millis()).unwrap_or(i64::MAX)
}

impl Clock {
    /// `persisted_watermark_ms` is the high-water mark read from the catalog at start. No heartbeat,
    /// no time sources (see [`Clock::start`]).
    pub fn new(source: Arc<dyn TimeSource>, persisted_watermark_ms: i64, forward_bound: chrono::Duration) -> Self {
        Clock::start(
            source,
            ClockStart {
                watermark_ms: persisted_watermark_ms,
                heartbeat_ms: None,
            },
            ClockOptions {
                forward_bound,
                // Without a heartbeat the watermark stands in; `new` keeps the old behaviour of
                // checking only for a wind-back.
                max_offline_gap: chrono::Duration::MAX,
                ..ClockOptions::default()
            },
        )
    }

    /// The clock of a starting gateway. Alarms at once when the wall clock is behind the persisted
    /// watermark, or further past the previous run's last heartbeat (or, lacking one, the
    /// watermark) than `max_offline_gap`: a clock set ahead while the gateway was stopped.
    pub fn start(source: Arc<dyn TimeSource>, at: ClockStart, opts: ClockOptions) -> Self {
        let wall = source.wall().timestamp_millis();
        let offset = wall - mono_ms(source.as_ref());
        let last_seen = at.heartbeat_ms.unwrap_or(at.watermark_ms);
        let gap = wall.saturating_sub(last_seen);
        // The gap is kept for the time status whether or not it raised the alarm.
        let (alarm, restart_gap_ms) = if wall < at.watermark_ms {
            (Some(ClockAlarm::BehindWatermark), None)
        } else if last_seen > 0 && gap > opts.max_offline_gap.num_milliseconds() {
            (Some(ClockAlarm::ForwardJumpAcrossRestart), Some(gap))
        } else {
            (None, (last_seen > 0).then_some(gap))
        };
        Clock {
            watermark_ms: AtomicI64::new(at.watermark_ms.max(wall)),
            anchor_offset_ms: Mutex::new(offset),
            opts,
            alarm_raised: AtomicBool::new(alarm.is_some()),
            alarm: Mutex::new(alarm),
            vote: Mutex::new(None),
            restart_gap_ms,
            persist: Mutex::new(()),
            source,
        }
    }

    fn sources_ok(&self, mono: i64) -> bool {
        if !self.opts.sources_configured {
            return true;
        }
        let max_age = i64::try_from(self.opts.vote_max_age.as_millis()).unwrap_or(i64::MAX);
        matches!(*self.vote.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
            Some((at, Verdict::Agree)) if mono.saturating_sub(at) <= max_age)
    }

    fn raise(&self, alarm: &mut Option<ClockAlarm>, a: ClockAlarm) {
        if alarm.is_none() {
            *alarm = Some(a);
            self.alarm_raised.store(true, Ordering::SeqCst);
        }
    }

    /// Guarded now: never earlier than the watermark; alarms evaluated on every call. Expiry is
    /// trusted when no alarm stands and, with time sources configured, their last vote agreed and is
    /// recent.
    pub fn now(&self) -> TrustedNow {
        let wall = self.source.wall();
        let wall_ms = wall.timestamp_millis();
        let mono_ms = mono_ms(self.source.as_ref());
        let prev_watermark = self.watermark_ms.fetch_max(wall_ms, Ordering::SeqCst);
        let mut alarm = self.alarm.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut anchor = self
            .anchor_offset_ms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let expected_wall = mono_ms + *anchor;
        let ahead = wall_ms - expected_wall;
        if wall_ms < prev_watermark {
            self.raise(&mut alarm, ClockAlarm::BehindWatermark);
        } else if ahead > self.opts.forward_bound.num_milliseconds() {
            self.raise(&mut alarm, ClockAlarm::ForwardJump);
        } else if ahead.abs() <= self.opts.forward_bound.num_milliseconds() {
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
        let trusted = alarm.is_none();
        drop(anchor);
        drop(alarm);
        TrustedNow {
            at: Utc.timestamp_millis_opt(at_ms).single().unwrap_or(wall),
            expiry_trusted: trusted && self.sources_ok(mono_ms),
        }
    }

    /// The current high-water mark to persist.
    pub fn watermark_ms(&self) -> i64 {
        self.watermark_ms.load(Ordering::SeqCst)
    }

    /// The standing alarm, if any.
    pub fn alarm(&self) -> Option<ClockAlarm> {
        *self.alarm.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether any alarm was raised since start (for metrics).
    pub fn alarm_ever_raised(&self) -> bool {
        self.alarm_raised.load(Ordering::SeqCst)
    }

    /// The gap (ms) between the previous run's last heartbeat and this start, whether or not it raised
    /// [`ClockAlarm::ForwardJumpAcrossRestart`] (`None` on a first start or behind the watermark).
    pub fn restart_gap_ms(&self) -> Option<i64> {
        self.restart_gap_ms
    }

    /// The restart gap while it is what the standing alarm is about (for the alarm's audit record).
    pub fn alarming_restart_gap_ms(&self) -> Option<i64> {
        self.restart_gap_ms
            .filter(|_| self.alarm() == Some(ClockAlarm::ForwardJumpAcrossRestart))
    }

    /// Whether time sources are configured.
    pub fn sources_configured(&self) -> bool {
        self.opts.sources_configured
    }

    /// The last vote of the time sources and its age (ms, monotonic).
    pub fn last_vote(&self) -> Option<(Verdict, i64)> {
        let mono = mono_ms(self.source.as_ref());
        self.vote
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .map(|(at, v)| (v, mono.saturating_sub(at)))
    }

    /// The heartbeat to persist: the wall clock, but only while no alarm stands. An alarm that is
    /// standing when the gateway stops is therefore not forgotten across a restart: the last
    /// heartbeat stays at the last trusted moment, and the gap to it raises the restart alarm again.
    pub fn heartbeat_ms(&self) -> Option<i64> {
        self.now();
        self.alarm().is_none().then(|| self.source.wall().timestamp_millis())
    }

    /// Take the outcome of a time-source vote (`evidence::timesources` runs it at start and every
    /// `--time-check-interval`). An agreeing quorum vouches for the wall clock: it clears the
    /// forward alarms and a disagreement alarm and re-anchors jump detection. A disagreeing quorum
    /// raises [`ClockAlarm::SourcesDisagree`]. A wall clock behind the watermark stays an alarm
    /// even when the sources agree with it: only [`Clock::rewind`] moves the watermark back.
    pub fn record_vote(&self, verdict: Verdict) {
        let wall_ms = self.source.wall().timestamp_millis();
        let mono = mono_ms(self.source.as_ref());
        *self.vote.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((mono, verdict));
        let mut alarm = self.alarm.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match verdict {
            Verdict::Agree => {
                if alarm.is_some_and(|a| a.is_forward() || a == ClockAlarm::SourcesDisagree) {
                    *alarm = None;
                }
                *self
                    .anchor_offset_ms
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = wall_ms - mono;
            }
            Verdict::Disagree => self.raise(&mut alarm, ClockAlarm::SourcesDisagree),
            Verdict::NoQuorum | Verdict::NoSources => {}
        }
    }

    /// An officer confirmed the current wall time is right: accept it as the new anchor and clear a
    /// forward alarm. The watermark never moves backwards here, so a confirmed wind-back still cannot
    /// expire anything early (that needs [`Clock::rewind`]); and an officer does not outvote
    /// configured time sources: [`ClockAlarm::SourcesDisagree`] stays, and expiry still needs their
    /// agreeing vote.
    pub fn confirm(&self) {
        let wall_ms = self.source.wall().timestamp_millis();
        let mono = mono_ms(self.source.as_ref());
        *self
            .anchor_offset_ms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = wall_ms - mono;
        let mut alarm = self.alarm.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if *alarm != Some(ClockAlarm::SourcesDisagree) {
            *alarm = None;
        }
    }

    /// Hold this while persisting the watermark, so it cannot interleave with a rewind.
    pub fn persist_guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.persist.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Bring the guarded clock back to real time when the wall clock is behind the watermark (a
    /// clock once ahead left the watermark in the future) and it has been established that real
    /// time is the wall clock's: by a recent agreeing quorum of the time sources, or, when no source
    /// disagrees, by an officer's `statement` (which the caller records in the audit trail).
    /// `persist` writes the lowered watermark to the catalog; it runs under the persist guard, before
    /// the clock itself moves.
    ///
    /// Why this is safe: while the wall clock was behind the watermark the
    /// [`ClockAlarm::BehindWatermark`] alarm stood, so `expiry_trusted` was false and `lock::decide`
    /// allowed no expiry-based deletion on the strength of the future watermark. Everything that the
    /// future watermark did decide — the retain-until dates of versions written meanwhile — it
    /// decided late, i.e. retains longer; records are never rewritten, so rewinding shortens nothing.
    /// What it changes is only what comes next: new default retentions and explicit short ones are
    /// measured from real time again. (A forward jump that was *confirmed* by an officer or vouched
    /// for by lying sources is another matter: deletions then happened on that authority, and the
    /// audit trail records it.)
    pub fn rewind(
        &self,
        statement: Option<&str>,
        persist: impl FnOnce(i64) -> Result<(), PersistError>,
    ) -> Result<Rewound, RewindError> {
        let _guard = self.persist_guard();
        let wall_ms = self.source.wall().timestamp_millis();
        let mono = mono_ms(self.source.as_ref());
        let from_ms = self.watermark_ms();
        if wall_ms >= from_ms {
            return Err(RewindError::NotBehind { wall_ms, from_ms });
        }
        let vote = *self.vote.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let max_age = i64::try_from(self.opts.vote_max_age.as_millis()).unwrap_or(i64::MAX);
        let recent = |at: i64| mono.saturating_sub(at) <= max_age;
        let statement = statement.map(str::trim).filter(|s| !s.is_empty());
        let by = match vote {
            Some((at, Verdict::Agree)) if self.opts.sources_configured && recent(at) => RewindAuthority::Sources,
            Some((at, Verdict::Disagree)) if self.opts.sources_configured && recent(at) => {
                return Err(RewindError::SourcesDisagree)
            }
            _ => match statement {
                Some(_) => RewindAuthority::Statement,
                None => {
                    return Err(if self.opts.sources_configured {
                        RewindError::NoAgreeingVote
                    } else {
                        RewindError::NoSources
                    })
                }
            },
        };
        persist(wall_ms).map_err(RewindError::Persist)?;
        self.watermark_ms.store(wall_ms, Ordering::SeqCst);
        *self
            .anchor_offset_ms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = wall_ms - mono;
        let mut alarm = self.alarm.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if *alarm == Some(ClockAlarm::BehindWatermark) {
            *alarm = None;
        }
        Ok(Rewound {
            from_ms,
            to_ms: wall_ms,
            by,
        })
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

    fn started(t: &Arc<ManualTime>, watermark: i64, heartbeat: Option<i64>, sources: bool) -> Clock {
        Clock::start(
            t.clone(),
            ClockStart {
                watermark_ms: watermark,
                heartbeat_ms: heartbeat,
            },
            ClockOptions {
                sources_configured: sources,
                ..ClockOptions::default()
            },
        )
    }

    const MIN: i64 = 60_000;

    #[test]
    fn forward_gap_across_restart_alarms_until_confirmed() {
        // Stopped at T0, started again a day later by the wall clock: nothing vouches for it.
        let t = ManualTime::new(T0 + 24 * 60 * MIN);
        let c = started(&t, T0, Some(T0), false);
        assert_eq!(c.alarm(), Some(ClockAlarm::ForwardJumpAcrossRestart));
        assert_eq!(c.restart_gap_ms(), Some(24 * 60 * MIN));
        assert!(!c.now().expiry_trusted());
        t.advance(10 * MIN);
        assert!(!c.now().expiry_trusted(), "monotonic agreement does not clear it");
        assert_eq!(c.heartbeat_ms(), None, "no heartbeat while the alarm stands");
        c.confirm();
        assert!(c.now().expiry_trusted());
        assert_eq!(c.heartbeat_ms(), Some(T0 + 24 * 60 * MIN + 10 * MIN));
    }

    #[test]
    fn offline_gap_boundary_and_fallbacks() {
        // Exactly the allowed gap: fine; one ms more: alarm.
        let t = ManualTime::new(T0 + 10 * MIN);
        assert_eq!(started(&t, T0, Some(T0), false).alarm(), None);
        let t = ManualTime::new(T0 + 10 * MIN + 1);
        assert_eq!(
            started(&t, T0, Some(T0), false).alarm(),
            Some(ClockAlarm::ForwardJumpAcrossRestart)
        );
        // No heartbeat stored (older data dir): the watermark stands in.
        assert_eq!(
            started(&t, T0, None, false).alarm(),
            Some(ClockAlarm::ForwardJumpAcrossRestart)
        );
        // Fresh data directory: nothing to compare with.
        assert_eq!(started(&t, 0, None, false).alarm(), None);
        // Behind the watermark keeps today's alarm, whatever the heartbeat says.
        let t = ManualTime::new(T0 - MIN);
        assert_eq!(
            started(&t, T0, Some(T0 - 60 * MIN), false).alarm(),
            Some(ClockAlarm::BehindWatermark)
        );
    }

    #[test]
    fn agreeing_sources_clear_the_restart_alarm_and_are_needed_when_configured() {
        let t = ManualTime::new(T0 + 24 * 60 * MIN);
        let c = started(&t, T0, Some(T0), true);
        assert!(!c.now().expiry_trusted());
        c.record_vote(Verdict::NoQuorum);
        assert_eq!(
            c.alarm(),
            Some(ClockAlarm::ForwardJumpAcrossRestart),
            "silence vouches for nothing"
        );
        c.record_vote(Verdict::Agree);
        assert_eq!(c.alarm(), None);
        assert!(c.now().expiry_trusted());
        // The vote goes stale: expiry waits for the next one.
        t.advance(12 * MIN);
        assert!(
            !c.now().expiry_trusted(),
            "a stale vote is not a recent agreeing quorum"
        );
        c.record_vote(Verdict::Agree);
        assert!(c.now().expiry_trusted());
        // Lost quorum: no alarm, but no expiry either.
        c.record_vote(Verdict::NoQuorum);
        assert_eq!(c.alarm(), None);
        assert!(!c.now().expiry_trusted());
    }

    #[test]
    fn disagreeing_sources_alarm_and_an_officer_does_not_outvote_them() {
        let t = ManualTime::new(T0);
        let c = started(&t, T0 - 1000, Some(T0 - 1000), true);
        c.record_vote(Verdict::Disagree);
        assert_eq!(c.alarm(), Some(ClockAlarm::SourcesDisagree));
        c.confirm();
        assert_eq!(c.alarm(), Some(ClockAlarm::SourcesDisagree));
        assert!(!c.now().expiry_trusted());
        c.record_vote(Verdict::Agree);
        assert_eq!(c.alarm(), None);
        assert!(c.now().expiry_trusted());
    }

    #[test]
    fn without_sources_the_local_rules_decide() {
        let t = ManualTime::new(T0);
        let c = started(&t, T0 - 1000, Some(T0 - 1000), false);
        assert!(c.now().expiry_trusted(), "no vote needed without sources");
    }

    #[test]
    fn agreeing_sources_do_not_move_a_future_watermark_back() {
        let t = ManualTime::new(T0);
        let c = started(&t, T0 + 60 * MIN, None, true);
        c.record_vote(Verdict::Agree);
        assert_eq!(c.alarm(), Some(ClockAlarm::BehindWatermark));
        assert_eq!(c.now().at().timestamp_millis(), T0 + 60 * MIN);
        assert!(!c.now().expiry_trusted());
    }

    #[test]
    fn rewind_needs_sources_or_a_statement_and_brings_guarded_time_back() {
        // The watermark was left an hour in the future by a clock that was once ahead.
        let t = ManualTime::new(T0);
        let persisted = AtomicI64::new(0);
        let save = |ms| {
            persisted.store(ms, Ordering::SeqCst);
            Ok(())
        };
        let c = started(&t, T0 + 60 * MIN, None, false);
        assert!(
            matches!(c.rewind(None, save), Err(RewindError::NoSources)),
            "no sources: a statement is needed"
        );
        assert!(c.rewind(Some("  "), save).is_err(), "a blank statement is no statement");
        assert_eq!(c.watermark_ms(), T0 + 60 * MIN);
        let r = c.rewind(Some("checked against the exchange clock"), save).unwrap();
        assert_eq!(
            (r.from_ms, r.to_ms, r.by),
            (T0 + 60 * MIN, T0, RewindAuthority::Statement)
        );
        assert_eq!(persisted.load(Ordering::SeqCst), T0);
        assert_eq!(c.alarm(), None);
        let n = c.now();
        assert_eq!(n.at().timestamp_millis(), T0, "guarded time is real time again");
        assert!(n.expiry_trusted());
        assert!(
            matches!(c.rewind(Some("again"), save), Err(RewindError::NotBehind { .. })),
            "nothing left to rewind"
        );

        // With sources: their agreeing vote is the authority; their disagreement blocks it.
        let c = started(&t, T0 + 60 * MIN, None, true);
        assert!(
            matches!(c.rewind(None, save), Err(RewindError::NoAgreeingVote)),
            "no vote yet"
        );
        c.record_vote(Verdict::Disagree);
        assert!(
            matches!(c.rewind(Some("trust me"), save), Err(RewindError::SourcesDisagree)),
            "sources say the wall clock is wrong"
        );
        c.record_vote(Verdict::Agree);
        assert_eq!(c.rewind(None, save).unwrap().by, RewindAuthority::Sources);
        assert!(c.now().expiry_trusted());
        // A failed persist changes nothing.
        let c = started(&t, T0 + 60 * MIN, None, false);
        let failed = c.rewind(Some("s"), |_| Err("disk full".into()));
        assert!(
            matches!(&failed, Err(RewindError::Persist(e)) if e.to_string() == "disk full"),
            "{failed:?}"
        );
        assert_eq!(c.watermark_ms(), T0 + 60 * MIN);
        assert_eq!(c.alarm(), Some(ClockAlarm::BehindWatermark));
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
