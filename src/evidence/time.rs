//! Trusted time: the status `wormgate time status` and the admin API (`GET time`) show, and the
//! officer's confirmation (`wormgate time confirm`, `POST time/confirm`). While a clock alarm stands
//! the gateway refuses every expiry-based deletion. An officer who has checked the time confirms it:
//! online through the admin API (`POST /_wormgate/admin/time/confirm`), or offline on a stopped
//! gateway, which stores a pending confirmation in the catalog `state` tree that the next `serve`
//! applies (and audits) at start (`daemon`).
//!
//! A confirmation re-anchors forward-jump detection. It cannot make wall time earlier than the
//! persisted watermark count as trusted: the watermark never moves back, so while the wall clock is
//! behind it the gateway keeps running on the watermark and refuses expiry-based deletions until the
//! wall clock has caught up.

use super::error::{Cause, EvidenceError};
use crate::evidence::timesources::{Check, TimeSources};
use crate::lock::clock::Rewound;
use crate::lock::Clock;
use crate::store::Catalog;
use crate::timefmt::{iso_ms, now_iso};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// State key of a pending offline confirmation.
pub const PENDING_KEY: &[u8] = b"clock.pending_confirmation";

/// How long an offline confirmation stays valid.
pub const PENDING_VALID_MS: i64 = 24 * 3600 * 1000;

/// An officer's statement that the wall clock was right at `wall_ms`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Confirmation {
    pub wall_ms: i64,
    /// The persisted watermark when confirmed (the confirmation is for that situation only).
    pub watermark_ms: i64,
    pub by: String,
    pub note: Option<String>,
    /// Also bring a watermark that is ahead of the wall clock back to it (see `Clock::rewind`).
    #[serde(default)]
    pub rewind: bool,
    /// The officer's explicit statement that real time is the wall clock's (needed for a rewind
    /// that no agreeing quorum of time sources backs), recorded in the audit trail.
    #[serde(default)]
    pub statement: Option<String>,
}

/// What an officer asks of a running gateway (`POST time/confirm`, JSON body; empty = plain confirm).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfirmRequest {
    pub rewind: bool,
    pub statement: Option<String>,
    pub note: Option<String>,
}

/// Time status for display.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimeStatus {
    pub wall: String,
    pub watermark: String,
    /// Guarded time (what retention is compared with).
    pub guarded: Option<String>,
    pub alarm: Option<String>,
    pub expiry_trusted: Option<bool>,
    pub pending_confirmation: Option<Confirmation>,
    /// The last heartbeat persisted (offline: of the last run).
    #[serde(default)]
    pub heartbeat: Option<String>,
    /// Forward gap found at start (ms), when it raised `forward_jump_across_restart`.
    #[serde(default)]
    pub restart_gap_ms: Option<i64>,
    /// Whether time sources are configured (live only).
    #[serde(default)]
    pub sources_configured: Option<bool>,
    /// The last vote of the time sources and its readings (live only).
    #[serde(default)]
    pub sources: Option<Check>,
    /// What an officer can do about a standing alarm.
    #[serde(default)]
    pub hint: Option<String>,
}

fn hint(alarm: Option<&str>) -> Option<String> {
    Some(match alarm? {
        "behind_watermark" => "the wall clock is behind the watermark; if real time is behind it (a clock once ahead left the watermark in the future), `wormgate time confirm --rewind` (with agreeing time sources, or --statement \"…\") brings guarded time back".into(),
        "forward_jump" | "forward_jump_across_restart" => "check the wall clock; when it is right, an agreeing time source or `wormgate time confirm` clears the alarm".into(),
        "sources_disagree" => "a majority of the time sources say the wall clock is off: fix the clock (or the sources)".into(),
        other => format!("alarm {other}"),
    })
}

/// Status of a stopped gateway's clock state. `max_offline_gap_ms` is the gap the next start would
/// accept (`--max-offline-gap`).
pub fn offline_status(catalog: &Catalog, max_offline_gap_ms: i64) -> Result<TimeStatus, EvidenceError> {
    let wm = catalog.watermark_ms().map_err(catalog_err)?;
    let hb = catalog.heartbeat_ms().map_err(catalog_err)?;
    let wall = chrono::Utc::now().timestamp_millis();
    let last_seen = hb.unwrap_or(wm);
    let gap = wall.saturating_sub(last_seen);
    let (alarm, restart_gap_ms) = if wall < wm {
        (Some("behind_watermark"), None)
    } else if last_seen > 0 && gap > max_offline_gap_ms {
        (Some("forward_jump_across_restart"), Some(gap))
    } else {
        (None, (last_seen > 0).then_some(gap))
    };
    Ok(TimeStatus {
        wall: iso_ms(wall),
        watermark: iso_ms(wm),
        guarded: Some(iso_ms(wall.max(wm))),
        alarm: alarm.map(|a| match a {
            "behind_watermark" => "behind_watermark (wall clock earlier than the persisted watermark)".to_string(),
            _ => format!("forward_jump_across_restart (the next start finds the wall clock {gap} ms past the last heartbeat; a time source or an officer must vouch for it)"),
        }),
        expiry_trusted: Some(alarm.is_none()),
        pending_confirmation: pending(catalog),
        heartbeat: hb.map(iso_ms),
        restart_gap_ms,
        sources_configured: None,
        sources: None,
        hint: hint(alarm),
    })
}

/// Status of a running clock; `catalog` holds the heartbeat it persists.
pub fn live_status(clock: &Clock, catalog: &Catalog, sources: Option<&TimeSources>) -> TimeStatus {
    let now = clock.now();
    let alarm = clock.alarm().map(super::super::lock::clock::ClockAlarm::as_str);
    let mut h = hint(alarm);
    if h.is_none() && !now.expiry_trusted() {
        h = Some("no recent agreeing vote of the configured time sources: expiry-based deletions wait for one".into());
    }
    TimeStatus {
        wall: now_iso(),
        watermark: iso_ms(clock.watermark_ms()),
        guarded: Some(crate::timefmt::format_iso(now.at())),
        alarm: alarm.map(str::to_string),
        expiry_trusted: Some(now.expiry_trusted()),
        pending_confirmation: None,
        heartbeat: catalog.heartbeat_ms().ok().flatten().map(iso_ms),
        restart_gap_ms: clock.restart_gap_ms(),
        sources_configured: Some(clock.sources_configured()),
        sources: sources.and_then(TimeSources::last),
        hint: h,
    }
}

/// The pending offline confirmation, if any.
pub fn pending(catalog: &Catalog) -> Option<Confirmation> {
    let raw = catalog.state().get(PENDING_KEY).ok()??;
    serde_json::from_slice(&raw).ok()
}

/// Store an offline confirmation for the next start. A rewind without sources needs a statement; it
/// is checked again at start (when the sources can be asked).
pub fn confirm_offline(
    catalog: &Catalog,
    by: &str,
    note: Option<String>,
    rewind: bool,
    statement: Option<String>,
) -> Result<Confirmation, EvidenceError> {
    let c = Confirmation {
        wall_ms: chrono::Utc::now().timestamp_millis(),
        watermark_ms: catalog.watermark_ms().map_err(catalog_err)?,
        by: by.to_string(),
        note,
        rewind,
        statement: statement.filter(|s| !s.trim().is_empty()),
    };
    if rewind && c.wall_ms >= c.watermark_ms {
        return Err(EvidenceError::NothingToRewind {
            wall: iso_ms(c.wall_ms),
            watermark: iso_ms(c.watermark_ms),
        });
    }
    catalog
        .state()
        .insert(PENDING_KEY, serde_json::to_vec(&c).map_err(catalog_err)?)
        .map_err(catalog_err)?;
    catalog.flush_now().map_err(catalog_err)?;
    Ok(c)
}

/// A rewind of the running clock, persisting the lowered watermark in `catalog`.
pub fn rewind(clock: &Clock, catalog: &Catalog, statement: Option<&str>) -> Result<Rewound, EvidenceError> {
    Ok(clock.rewind(statement, |ms| {
        catalog.rewind_watermark(ms)?;
        catalog.state().flush()?;
        Ok(())
    })?)
}

/// A catalog failure as the evidence layer's error (the store's error kept as the cause).
fn catalog_err(e: impl Into<Cause>) -> EvidenceError {
    EvidenceError::Catalog(e.into())
}

/// The audit detail of a rewind.
pub fn rewind_detail(r: &Rewound, statement: Option<&str>) -> String {
    format!(
        "watermark rewound from {} to {} (real time established by {}){}",
        iso_ms(r.from_ms),
        iso_ms(r.to_ms),
        match r.by {
            crate::lock::clock::RewindAuthority::Sources => "an agreeing quorum of the time sources",
            crate::lock::clock::RewindAuthority::Statement => "an officer's statement",
        },
        statement
            .map(|s| format!("; statement: {}", s.trim()))
            .unwrap_or_default()
    )
}

/// At start: take the pending confirmation (consuming it). It applies when it was made for the same
/// watermark, at most [`PENDING_VALID_MS`] ago by the wall clock, and not in the future; a rewind
/// also needs what [`Clock::rewind`] needs. Returns the confirmation and `Ok(detail)` when applied,
/// `Err(why not)` otherwise.
pub fn take_pending(
    catalog: &Catalog,
    clock: &Clock,
    current_watermark_ms: i64,
) -> Option<(Confirmation, Result<String, EvidenceError>)> {
    let c = pending(catalog)?;
    let _ = catalog.state().remove(PENDING_KEY);
    let wall = chrono::Utc::now().timestamp_millis();
    let fresh = c.wall_ms <= wall + 60_000 && wall - c.wall_ms <= PENDING_VALID_MS;
    let same = c.watermark_ms == current_watermark_ms;
    let res = if !(fresh && same) {
        Err(EvidenceError::StaleConfirmation)
    } else if c.rewind {
        rewind(clock, catalog, c.statement.as_deref()).map(|r| rewind_detail(&r, c.statement.as_deref()))
    } else {
        clock.confirm();
        Ok("time confirmed".to_string())
    };
    Some((c, res))
}

/// An officer's confirmation on a running gateway: a plain confirm, or a rewind. Returns the status
/// after it and the audit detail, or why it was refused.
pub fn confirm_live(
    clock: &Clock,
    catalog: &Catalog,
    sources: Option<&TimeSources>,
    req: &ConfirmRequest,
) -> Result<(TimeStatus, String), EvidenceError> {
    let before = clock.alarm();
    let mut detail = if req.rewind {
        let r = rewind(clock, catalog, req.statement.as_deref())?;
        rewind_detail(&r, req.statement.as_deref())
    } else {
        clock.confirm();
        "time confirmed".to_string()
    };
    let after = clock.now();
    let status = live_status(clock, catalog, sources);
    let _ = write!(
        detail,
        "; alarm before {}, after {}; wall {}; expiry trusted: {}",
        before.map_or("none", |a| a.as_str()),
        clock.alarm().map_or("none", |a| a.as_str()),
        status.wall,
        after.expiry_trusted()
    );
    if let Some(n) = req.note.as_deref().filter(|n| !n.trim().is_empty()) {
        let _ = write!(detail, "; note: {n}");
    }
    Ok((status, detail))
}

#[cfg(test)]
mod tests {
    //! The injected-clock tests of the trusted-time property: whatever the wall clock does, no
    //! expiry-based deletion is permitted while an alarm stands, and the alarm is audited.
    use crate::audit::alarm::ClockMonitor;
    use crate::lock::clock::testing::ManualTime;
    use crate::lock::{decide, Clock, Permit, Policy, Request, Retention, Rule, TargetState};

    const T0: i64 = 1_900_000_000_000;
    const DAY: i64 = 86_400_000;

    fn policy() -> Policy {
        Policy {
            min_retention: chrono::Duration::seconds(1),
            max_retention: chrono::Duration::days(3650),
            require_client_digest: false,
        }
    }

    /// A version whose retention ended one day after T0.
    fn expired_target() -> Request {
        use chrono::TimeZone;
        let until = chrono::Utc.timestamp_millis_opt(T0 + DAY).unwrap();
        let r = Retention::until(until);
        Request::DeleteVersion {
            target: TargetState::Data {
                retention: Some(r),
                legal_hold: false,
            },
        }
    }

    fn may_delete(c: &Clock) -> Result<Permit, Rule> {
        decide(&expired_target(), &policy(), c.now()).map_err(|d| d.rule)
    }

    #[test]
    fn forward_jump_refuses_expiry_deletes_and_is_audited() {
        let t = ManualTime::new(T0);
        let c = Clock::new(t.clone(), 0, chrono::Duration::minutes(5));
        let mut mon = ClockMonitor::default();
        assert!(mon.poll(&c).is_none());
        assert_eq!(may_delete(&c), Err(Rule::RetentionActive));
        // Someone sets the system clock two days ahead: retention would look expired.
        t.set_wall(T0 + 2 * DAY);
        assert_eq!(
            may_delete(&c),
            Err(Rule::ClockUntrusted),
            "forward jump must not expire anything"
        );
        let ev = mon.poll(&c).expect("alarm audited");
        assert_eq!(ev.operation, "ClockAlarm");
        assert_eq!(ev.decision, "alarm");
        assert_eq!(ev.rule.as_deref(), Some("forward_jump"));
        assert!(mon.poll(&c).is_none(), "one record per transition");
        // Still refused as time passes, until an officer confirms.
        t.advance(60_000);
        assert_eq!(may_delete(&c), Err(Rule::ClockUntrusted));
        c.confirm();
        assert!(matches!(may_delete(&c), Ok(Permit::RemoveVersion(_))));
        assert_eq!(mon.poll(&c).map(|e| e.operation), Some("ClockAlarmCleared".to_string()));
    }

    #[test]
    fn wind_back_refuses_expiry_deletes_even_when_confirmed() {
        let t = ManualTime::new(T0);
        let c = Clock::new(t.clone(), 0, chrono::Duration::minutes(5));
        let mut mon = ClockMonitor::default();
        // Time passes normally past the retention end: deletion becomes allowed.
        t.advance(2 * DAY);
        assert!(matches!(may_delete(&c), Ok(Permit::RemoveVersion(_))));
        // Winding back never moves guarded time back, and raises the alarm.
        t.set_wall(T0);
        assert_eq!(may_delete(&c), Err(Rule::ClockUntrusted));
        assert_eq!(mon.poll(&c).and_then(|e| e.rule), Some("behind_watermark".to_string()));
        assert_eq!(c.now().at().timestamp_millis(), T0 + 2 * DAY);
        c.confirm();
        assert_eq!(
            may_delete(&c),
            Err(Rule::ClockUntrusted),
            "a confirmation cannot trust a wall clock behind the watermark"
        );
    }

    #[test]
    fn restart_behind_watermark_refuses_expiry_deletes() {
        let t = ManualTime::new(T0 + DAY / 2);
        // Persisted watermark says we already were at T0 + 3 days.
        let c = Clock::new(t.clone(), T0 + 3 * DAY, chrono::Duration::minutes(5));
        assert_eq!(may_delete(&c), Err(Rule::ClockUntrusted));
        let mut mon = ClockMonitor::starting_with(None);
        assert!(mon.poll(&c).is_some());
    }

    #[tokio::test]
    async fn offline_confirmation_applies_once_and_only_for_its_watermark() {
        let dir = tempfile::tempdir().unwrap();
        let cat = crate::store::Catalog::open(dir.path()).unwrap();
        cat.store_watermark(5).unwrap();
        super::confirm_offline(&cat, "officer", None, false, None).unwrap();
        let t = ManualTime::new(T0);
        let c = Clock::new(t.clone(), 0, chrono::Duration::minutes(5));
        t.set_wall(T0 + 10 * DAY);
        c.now();
        assert!(c.alarm().is_some());
        let (_, applied) = super::take_pending(&cat, &c, 5).unwrap();
        assert!(applied.is_ok());
        assert!(c.alarm().is_none());
        assert!(super::take_pending(&cat, &c, 5).is_none(), "consumed");
        super::confirm_offline(&cat, "officer", None, false, None).unwrap();
        let (_, applied) = super::take_pending(&cat, &c, 6).unwrap();
        assert!(applied.is_err(), "watermark moved since the confirmation");
    }

    #[tokio::test]
    async fn offline_rewind_applies_at_start_only_with_what_rewind_needs() {
        use crate::lock::clock::ClockAlarm;
        use crate::lock::SystemTimeSource;
        let dir = tempfile::tempdir().unwrap();
        let cat = crate::store::Catalog::open(dir.path()).unwrap();
        let wall = chrono::Utc::now().timestamp_millis();
        assert!(
            super::confirm_offline(&cat, "officer", None, true, Some("s".into())).is_err(),
            "nothing to rewind on a fresh catalog"
        );
        let future = wall + 3_600_000;
        cat.store_watermark(future).unwrap();
        let clock = || {
            Clock::new(
                std::sync::Arc::new(SystemTimeSource::default()),
                future,
                chrono::Duration::minutes(5),
            )
        };
        // No sources and no statement: stored, but refused at start.
        super::confirm_offline(&cat, "officer", None, true, None).unwrap();
        let c = clock();
        let (_, res) = super::take_pending(&cat, &c, future).unwrap();
        assert!(res.is_err(), "{res:?}");
        assert_eq!(c.alarm(), Some(ClockAlarm::BehindWatermark));
        assert_eq!(cat.watermark_ms().unwrap(), future);
        // With a statement: applied, recorded, persisted.
        super::confirm_offline(&cat, "officer", None, true, Some("checked against GPS".into())).unwrap();
        let (conf, res) = super::take_pending(&cat, &c, future).unwrap();
        assert_eq!(conf.statement.as_deref(), Some("checked against GPS"));
        let detail = res.unwrap();
        assert!(detail.contains("statement: checked against GPS"), "{detail}");
        assert_eq!(c.alarm(), None);
        assert!(c.now().expiry_trusted());
        let wm = cat.watermark_ms().unwrap();
        assert!(wm < wall + 60_000, "watermark persisted lowered: {wm}");
        assert_eq!(cat.heartbeat_ms().unwrap(), Some(wm));
    }
}
