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

use crate::lock::Clock;
use crate::store::Catalog;
use crate::timefmt::{iso_ms, now_iso};
use serde::{Deserialize, Serialize};

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
}

/// Status of a stopped gateway's clock state.
pub fn offline_status(catalog: &Catalog) -> Result<TimeStatus, String> {
    let wm = catalog.watermark_ms().map_err(|e| e.message)?;
    let wall = chrono::Utc::now().timestamp_millis();
    Ok(TimeStatus {
        wall: iso_ms(wall),
        watermark: iso_ms(wm),
        guarded: Some(iso_ms(wall.max(wm))),
        alarm: (wall < wm).then(|| "behind_watermark (wall clock earlier than the persisted watermark)".to_string()),
        expiry_trusted: Some(wall >= wm),
        pending_confirmation: pending(catalog),
    })
}

/// Status of a running clock.
pub fn live_status(clock: &Clock) -> TimeStatus {
    let now = clock.now();
    TimeStatus {
        wall: now_iso(),
        watermark: iso_ms(clock.watermark_ms()),
        guarded: Some(crate::timefmt::format_iso(now.at())),
        alarm: clock.alarm().map(|a| a.as_str().to_string()),
        expiry_trusted: Some(now.expiry_trusted()),
        pending_confirmation: None,
    }
}

/// The pending offline confirmation, if any.
pub fn pending(catalog: &Catalog) -> Option<Confirmation> {
    let raw = catalog.state().get(PENDING_KEY).ok()??;
    serde_json::from_slice(&raw).ok()
}

/// Store an offline confirmation for the next start.
pub fn confirm_offline(catalog: &Catalog, by: &str, note: Option<String>) -> Result<Confirmation, String> {
    let c = Confirmation {
        wall_ms: chrono::Utc::now().timestamp_millis(),
        watermark_ms: catalog.watermark_ms().map_err(|e| e.message)?,
        by: by.to_string(),
        note,
    };
    catalog
        .state()
        .insert(PENDING_KEY, serde_json::to_vec(&c).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    catalog.flush_now().map_err(|e| e.to_string())?;
    Ok(c)
}

/// At start: take the pending confirmation (consuming it). It applies when it was made for the same
/// watermark, at most [`PENDING_VALID_MS`] ago by the wall clock, and not in the future. Returns the
/// confirmation and whether it was applied.
pub fn take_pending(catalog: &Catalog, clock: &Clock, current_watermark_ms: i64) -> Option<(Confirmation, bool)> {
    let c = pending(catalog)?;
    let _ = catalog.state().remove(PENDING_KEY);
    let wall = chrono::Utc::now().timestamp_millis();
    let fresh = c.wall_ms <= wall + 60_000 && wall - c.wall_ms <= PENDING_VALID_MS;
    let same = c.watermark_ms == current_watermark_ms;
    let applied = fresh && same;
    if applied {
        clock.confirm();
    }
    Some((c, applied))
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
        super::confirm_offline(&cat, "officer", None).unwrap();
        let t = ManualTime::new(T0);
        let c = Clock::new(t.clone(), 0, chrono::Duration::minutes(5));
        t.set_wall(T0 + 10 * DAY);
        c.now();
        assert!(c.alarm().is_some());
        let (_, applied) = super::take_pending(&cat, &c, 5).unwrap();
        assert!(applied);
        assert!(c.alarm().is_none());
        assert!(super::take_pending(&cat, &c, 5).is_none(), "consumed");
        super::confirm_offline(&cat, "officer", None).unwrap();
        let (_, applied) = super::take_pending(&cat, &c, 6).unwrap();
        assert!(!applied, "watermark moved since the confirmation");
    }
}
