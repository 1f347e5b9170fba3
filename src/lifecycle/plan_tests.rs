//! Table tests of the lifecycle planner: which actions, when, by which rule.

use super::*;
use crate::lock::Retention;
use crate::s3::lifecycle::{NoncurrentExpiration, RuleFilter};
use crate::store::VersionRecord;

const DAY: i64 = 1000;

fn rec(seq: u64, created_ms: i64, marker: bool) -> VersionEntry {
    VersionEntry::Ok(Box::new(VersionRecord {
        bucket: "b".into(),
        key: "k".into(),
        version_id: format!("v{seq}"),
        seq,
        created_ms,
        delete_marker: marker,
        size: if marker { 0 } else { 100 + seq },
        etag: String::new(),
        sha256: String::new(),
        blake3: String::new(),
        checksum_algorithm: None,
        checksum: None,
        checksum_type: None,
        headers: Default::default(),
        retention: None,
        legal_hold: false,
        blob: None,
        owner: String::new(),
        tags: Default::default(),
        parts_count: None,
    }))
}

fn data(seq: u64, created_ms: i64) -> VersionEntry {
    rec(seq, created_ms, false)
}

fn marker(seq: u64, created_ms: i64) -> VersionEntry {
    rec(seq, created_ms, true)
}

fn with(entry: VersionEntry, f: impl FnOnce(&mut VersionRecord)) -> VersionEntry {
    match entry {
        VersionEntry::Ok(mut r) => {
            f(&mut r);
            VersionEntry::Ok(r)
        }
        c => c,
    }
}

fn rule(id: &str) -> LifecycleRule {
    LifecycleRule {
        id: id.into(),
        enabled: true,
        filter: RuleFilter::All,
        expiration: None,
        noncurrent: None,
        abort_incomplete_days: None,
    }
}

fn noncurrent(days: u32, newer: Option<u32>) -> LifecycleRule {
    LifecycleRule {
        noncurrent: Some(NoncurrentExpiration {
            noncurrent_days: days,
            newer_noncurrent_versions: newer,
        }),
        ..rule("nc")
    }
}

fn markers_rule() -> LifecycleRule {
    LifecycleRule {
        expiration: Some(Expiration::ExpiredObjectDeleteMarker),
        ..rule("dm")
    }
}

/// (kind, version id, due) of each action.
fn summary(actions: &[Action]) -> Vec<(ActionKind, Option<String>, i64)> {
    actions
        .iter()
        .map(|a| (a.kind.clone(), a.version_id.clone(), a.due_ms))
        .collect()
}

fn v(s: &str) -> Option<String> {
    Some(s.into())
}

#[test]
fn nothing_without_rules_or_versions() {
    assert!(plan_key("b", &[], &[data(1, 0)], i64::MAX, DAY).is_empty());
    assert!(plan_key("b", &[noncurrent(1, None)], &[], i64::MAX, DAY).is_empty());
}

#[test]
fn noncurrent_days_count_from_the_successor() {
    // v3 current (created 5000), v2 noncurrent since 5000, v1 noncurrent since 2000.
    let versions = [data(3, 5000), data(2, 2000), data(1, 0)];
    let rules = [noncurrent(2, None)];
    assert!(
        plan_key("b", &rules, &versions, 3999, DAY).is_empty(),
        "v1 is due at 4000"
    );
    assert_eq!(
        summary(&plan_key("b", &rules, &versions, 4000, DAY)),
        vec![(ActionKind::RemoveNoncurrent, v("v1"), 4000)]
    );
    assert_eq!(
        summary(&plan_key("b", &rules, &versions, 7000, DAY)),
        vec![
            (ActionKind::RemoveNoncurrent, v("v2"), 7000),
            (ActionKind::RemoveNoncurrent, v("v1"), 4000)
        ]
    );
    let a = &plan_key("b", &rules, &versions, 7000, DAY)[1];
    assert_eq!((a.bytes, a.rule_id.as_str(), a.bucket.as_str()), (101, "nc", "b"));
}

#[test]
fn newer_noncurrent_versions_are_kept() {
    let versions = [data(4, 30), data(3, 20), data(2, 10), data(1, 0)];
    let got = plan_key("b", &[noncurrent(1, Some(2))], &versions, i64::MAX, DAY);
    // Noncurrent since 10, one day later is 1010, rounded up to the next day boundary.
    assert_eq!(summary(&got), vec![(ActionKind::RemoveNoncurrent, v("v1"), 2000)]);
}

#[test]
fn days_end_at_the_next_midnight_utc_as_aws_counts_them() {
    // AWS's example: created 2014-01-15 10:30 UTC, Expiration Days 3 → due 2014-01-19 00:00 UTC.
    let day = 86_400_000;
    let created = chrono::DateTime::parse_from_rfc3339("2014-01-15T10:30:00Z")
        .unwrap()
        .timestamp_millis();
    let midnight = chrono::DateTime::parse_from_rfc3339("2014-01-19T00:00:00Z")
        .unwrap()
        .timestamp_millis();
    assert_eq!(after_days(created, 3, day), midnight);
    // Already on a boundary: no extra day.
    assert_eq!(after_days(midnight - 3 * day, 3, day), midnight);
    // Short test days round the same way.
    assert_eq!(after_days(500, 2, 1000), 3000);
    assert_eq!(after_days(0, 2, 1000), 2000);
}

#[test]
fn retention_and_legal_hold_decide_eligibility_not_the_plan() {
    let versions = [
        data(3, 100),
        with(data(2, 50), |r| r.retention = Some(Retention::until_ms(9000))),
        with(data(1, 0), |r| r.legal_hold = true),
    ];
    let got = plan_key("b", &[noncurrent(1, None)], &versions, 5000, DAY);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].retain_until_ms, Some(9000));
    assert_eq!(got[0].eligible_ms(), Some(9000), "the lock's date wins over the rule's");
    assert!(got[1].legal_hold);
    assert_eq!(got[1].eligible_ms(), None, "held: not eligible at any time");
}

#[test]
fn expiration_days_and_date_add_a_marker_and_make_the_version_noncurrent() {
    let days = LifecycleRule {
        expiration: Some(Expiration::Days(3)),
        ..rule("exp")
    };
    let versions = [data(1, 1000)];
    assert!(plan_key("b", std::slice::from_ref(&days), &versions, 3999, DAY).is_empty());
    assert_eq!(
        summary(&plan_key("b", std::slice::from_ref(&days), &versions, 4000, DAY)),
        vec![(ActionKind::AddMarker, v("v1"), 4000)]
    );
    // With a noncurrent rule too, the version goes NoncurrentDays after the marker.
    let both = [days.clone(), noncurrent(2, None)];
    assert_eq!(
        summary(&plan_key("b", &both, &versions, 10_000, DAY)),
        vec![
            (ActionKind::AddMarker, v("v1"), 4000),
            (ActionKind::RemoveNoncurrent, v("v1"), 6000)
        ]
    );
    let date = LifecycleRule {
        expiration: Some(Expiration::Date(86_400_000)),
        ..rule("date")
    };
    assert_eq!(
        summary(&plan_key("b", &[date], &versions, 86_400_000, DAY)),
        vec![(ActionKind::AddMarker, v("v1"), 86_400_000)]
    );
    // A current marker is not expired again.
    assert!(plan_key("b", &[days], &[marker(2, 0), data(1, 0)], i64::MAX, DAY).is_empty());
}

#[test]
fn lone_markers_go_and_markers_with_versions_behind_wait() {
    let rules = [markers_rule()];
    assert_eq!(
        summary(&plan_key("b", &rules, &[marker(1, 700)], 700, DAY)),
        vec![(ActionKind::RemoveLoneMarker, v("v1"), 700)]
    );
    assert!(plan_key("b", &rules, &[marker(2, 700), data(1, 0)], i64::MAX, DAY).is_empty());
    // With a noncurrent rule the marker goes once the last version behind it is eligible.
    let both = [markers_rule(), noncurrent(1, None)];
    let versions = [
        marker(3, 2000),
        data(2, 1000),
        with(data(1, 0), |r| r.retention = Some(Retention::until_ms(8000))),
    ];
    assert_eq!(
        summary(&plan_key("b", &both, &versions, 10_000, DAY)),
        vec![
            (ActionKind::RemoveNoncurrent, v("v2"), 3000),
            (ActionKind::RemoveNoncurrent, v("v1"), 2000),
            (ActionKind::RemoveLoneMarker, v("v3"), 8000)
        ]
    );
    // Not before the retention of the last one: the marker waits too.
    let early = plan_key("b", &both, &versions, 7999, DAY);
    assert!(early.iter().all(|a| a.kind != ActionKind::RemoveLoneMarker));
    // A held version behind it keeps the marker.
    let held = [marker(2, 2000), with(data(1, 0), |r| r.legal_hold = true)];
    assert!(plan_key("b", &both, &held, i64::MAX, DAY)
        .iter()
        .all(|a| a.kind != ActionKind::RemoveLoneMarker));
}

#[test]
fn noncurrent_markers_go_with_the_noncurrent_rule() {
    let versions = [data(3, 2000), marker(2, 1000), data(1, 0)];
    let got = plan_key("b", &[noncurrent(1, Some(1))], &versions, i64::MAX, DAY);
    // The marker is not a data version: NewerNoncurrentVersions counts v1 as the newest kept one.
    assert_eq!(summary(&got), vec![(ActionKind::RemoveNoncurrent, v("v2"), 3000)]);
    assert_eq!(got[0].bytes, 0);
}

#[test]
fn corrupt_records_are_never_acted_on() {
    let corrupt = VersionEntry::Corrupt {
        key: "k".into(),
        seq: 2,
    };
    let versions = [marker(3, 2000), corrupt, data(1, 0)];
    let got = plan_key("b", &[noncurrent(1, None), markers_rule()], &versions, i64::MAX, DAY);
    assert!(
        got.iter().all(|a| a.version_id != v("v2") && a.version_id != v("v3")),
        "{got:?}"
    );
    // v1's successor is corrupt: its noncurrent time is unknown, so it stays.
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn filters_and_disabled_rules() {
    let versions = [data(2, 1000), data(1, 0)];
    let disabled = LifecycleRule {
        enabled: false,
        ..noncurrent(1, None)
    };
    assert!(plan_key("b", &[disabled], &versions, i64::MAX, DAY).is_empty());
    let other_prefix = LifecycleRule {
        filter: RuleFilter::Prefix("x/".into()),
        ..noncurrent(1, None)
    };
    assert!(plan_key("b", &[other_prefix], &versions, i64::MAX, DAY).is_empty());
    let small = LifecycleRule {
        filter: RuleFilter::SizeLessThan(50),
        ..noncurrent(1, None)
    };
    assert!(plan_key("b", &[small], &versions, i64::MAX, DAY).is_empty());
    // Two rules: the earlier one decides, and names itself.
    let slow = LifecycleRule {
        id: "slow".into(),
        ..noncurrent(9, None)
    };
    let got = plan_key("b", &[slow, noncurrent(1, None)], &versions, i64::MAX, DAY);
    assert_eq!((got[0].rule_id.as_str(), got[0].due_ms), ("nc", 2000));
}

#[test]
fn uploads_are_aborted_after_their_days() {
    let u = UploadRecord {
        bucket: "b".into(),
        key: "logs/x".into(),
        upload_id: "u1".into(),
        initiated_ms: 500,
        owner: String::new(),
        headers: Default::default(),
        lock_retain_until_ms: None,
        lock_mode_compliance: None,
        lock_legal_hold: None,
        checksum_algorithm: None,
        checksum_type: None,
        tags: Default::default(),
        backend_upload_id: None,
    };
    let abort = LifecycleRule {
        abort_incomplete_days: Some(2),
        filter: RuleFilter::Prefix("logs/".into()),
        ..rule("ab")
    };
    // Initiated at 500, two days later is 2500, rounded up to the day boundary 3000.
    assert!(plan_upload(std::slice::from_ref(&abort), &u, 10, 2999, DAY).is_none());
    let a = plan_upload(std::slice::from_ref(&abort), &u, 10, 3000, DAY).unwrap();
    assert_eq!(
        (a.kind, a.bytes, a.due_ms),
        (ActionKind::AbortUpload { upload_id: "u1".into() }, 10, 3000)
    );
    let elsewhere = LifecycleRule {
        filter: RuleFilter::Prefix("db/".into()),
        ..abort
    };
    assert!(plan_upload(&[elsewhere], &u, 10, i64::MAX, DAY).is_none());
}
