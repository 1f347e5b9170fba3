//! Per-version Object Lock: Put/GetObjectRetention, Put/GetObjectLegalHold, expiry with a 1 s floor.

use crate::common::*;
use aws_sdk_s3::types::{ObjectLockLegalHold, ObjectLockLegalHoldStatus, ObjectLockRetention, ObjectLockRetentionMode};
use std::time::Duration;

fn retention(mode: &str, until: aws_sdk_s3::primitives::DateTime) -> ObjectLockRetention {
    ObjectLockRetention::builder()
        .mode(ObjectLockRetentionMode::from(mode))
        .retain_until_date(until)
        .build()
}

fn hold(on: bool) -> ObjectLockLegalHold {
    ObjectLockLegalHold::builder()
        .status(if on {
            ObjectLockLegalHoldStatus::On
        } else {
            ObjectLockLegalHoldStatus::Off
        })
        .build()
}

#[tokio::test]
async fn retention_extend_only() {
    let srv = Server::start();
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("ret-{}", if mode == Checksums::Default { "d" } else { "w" });
        make_bucket(&c, &b).await;
        let put = ok(
            c.put_object()
                .bucket(&b)
                .key("k")
                .body(b"v1".to_vec().into())
                .send()
                .await,
            "v1",
        );
        let v1 = put.version_id().unwrap().to_string();
        ok(
            c.put_object()
                .bucket(&b)
                .key("k")
                .body(b"v2".to_vec().into())
                .send()
                .await,
            "v2",
        );
        let now = in_secs(0).secs();
        let initial = retain_until(&c, &b, "k", Some(&v1)).await;
        assert!(
            (initial - (now + days(1))).abs() < 120,
            "floor of 1 day applied: {initial} vs {}",
            now + days(1)
        );

        // Extend v1 (not the current version).
        let longer = in_secs(days(10));
        let out = ok(
            c.put_object_retention()
                .bucket(&b)
                .key("k")
                .version_id(&v1)
                .retention(retention("COMPLIANCE", longer))
                .send()
                .await,
            "extend",
        );
        drop(out);
        assert_eq!(retain_until(&c, &b, "k", Some(&v1)).await, longer.secs());
        // The same date again is fine (not a shortening).
        ok(
            c.put_object_retention()
                .bucket(&b)
                .key("k")
                .version_id(&v1)
                .retention(retention("COMPLIANCE", longer))
                .send()
                .await,
            "same date",
        );
        // Shorten: 403, unchanged.
        expect_err(
            c.put_object_retention()
                .bucket(&b)
                .key("k")
                .version_id(&v1)
                .retention(retention("COMPLIANCE", in_secs(days(5))))
                .send()
                .await,
            403,
            "AccessDenied",
        );
        // Bypass header changes nothing.
        expect_err(
            c.put_object_retention()
                .bucket(&b)
                .key("k")
                .version_id(&v1)
                .bypass_governance_retention(true)
                .retention(retention("COMPLIANCE", in_secs(days(5))))
                .send()
                .await,
            403,
            "AccessDenied",
        );
        // GOVERNANCE: 403 (COMPLIANCE only).
        expect_err(
            c.put_object_retention()
                .bucket(&b)
                .key("k")
                .version_id(&v1)
                .retention(retention("GOVERNANCE", in_secs(days(20))))
                .send()
                .await,
            403,
            "AccessDenied",
        );
        // Removing the retention (empty Retention): refused.
        expect_err(
            c.put_object_retention()
                .bucket(&b)
                .key("k")
                .version_id(&v1)
                .retention(ObjectLockRetention::builder().build())
                .send()
                .await,
            403,
            "AccessDenied",
        );
        // A past date: 400.
        expect_err(
            c.put_object_retention()
                .bucket(&b)
                .key("k")
                .version_id(&v1)
                .retention(retention("COMPLIANCE", in_secs(-60)))
                .send()
                .await,
            400,
            "InvalidArgument",
        );
        // Lower-case mode: MalformedXML.
        expect_err(
            c.put_object_retention()
                .bucket(&b)
                .key("k")
                .version_id(&v1)
                .retention(retention("compliance", in_secs(days(30))))
                .send()
                .await,
            400,
            "MalformedXML",
        );
        // Above the 100-year cap.
        expect_err(
            c.put_object_retention()
                .bucket(&b)
                .key("k")
                .version_id(&v1)
                .retention(retention("COMPLIANCE", in_secs(days(365 * 101))))
                .send()
                .await,
            400,
            "InvalidRetentionPeriod",
        );
        assert_eq!(
            retain_until(&c, &b, "k", Some(&v1)).await,
            longer.secs(),
            "refusals changed nothing"
        );

        // Without versionId: applies to the current version.
        let cur = in_secs(days(3));
        ok(
            c.put_object_retention()
                .bucket(&b)
                .key("k")
                .retention(retention("COMPLIANCE", cur))
                .send()
                .await,
            "current",
        );
        assert_eq!(retain_until(&c, &b, "k", None).await, cur.secs());
        assert_eq!(
            retain_until(&c, &b, "k", Some(&v1)).await,
            longer.secs(),
            "v1 untouched"
        );
        // Reflected on HEAD.
        let h = ok(
            c.head_object().bucket(&b).key("k").version_id(&v1).send().await,
            "HEAD v1",
        );
        assert_eq!(
            h.object_lock_retain_until_date()
                .map(aws_sdk_s3::primitives::DateTime::secs),
            Some(longer.secs())
        );

        // Errors on targets.
        expect_err(
            c.get_object_retention().bucket(&b).key("missing").send().await,
            404,
            "NoSuchKey",
        );
        expect_err(
            c.put_object_retention()
                .bucket(&b)
                .key("missing")
                .retention(retention("COMPLIANCE", cur))
                .send()
                .await,
            404,
            "NoSuchKey",
        );
        let absent = format!("{}{:016x}", &v1[..16], u64::MAX / 2);
        expect_err(
            c.get_object_retention()
                .bucket(&b)
                .key("k")
                .version_id(&absent)
                .send()
                .await,
            404,
            "NoSuchVersion",
        );
        expect_err(
            c.get_object_retention().bucket("no-such-bucket").key("k").send().await,
            404,
            "NoSuchBucket",
        );
        // A delete marker has no retention.
        let m = ok(c.delete_object().bucket(&b).key("k").send().await, "marker");
        let mid = m.version_id().unwrap().to_string();
        expect_err(
            c.put_object_retention()
                .bucket(&b)
                .key("k")
                .version_id(&mid)
                .retention(retention("COMPLIANCE", in_secs(days(30))))
                .send()
                .await,
            405,
            "MethodNotAllowed",
        );
        expect_err(
            c.get_object_retention()
                .bucket(&b)
                .key("k")
                .version_id(&mid)
                .send()
                .await,
            405,
            "MethodNotAllowed",
        );
        expect_err(
            c.get_object_retention().bucket(&b).key("k").send().await,
            404,
            "NoSuchKey",
        );
    }
}

#[tokio::test]
async fn legal_hold_blocks_delete_after_expiry() {
    let srv = Server::start_with(Options::min_retention("1s"));
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("hold-{}", if mode == Checksums::Default { "d" } else { "w" });
        make_bucket(&c, &b).await;
        let put = ok(
            c.put_object()
                .bucket(&b)
                .key("k")
                .body(b"held".to_vec().into())
                .send()
                .await,
            "PUT",
        );
        let vid = put.version_id().unwrap().to_string();
        let lh = ok(
            c.get_object_legal_hold().bucket(&b).key("k").send().await,
            "GetObjectLegalHold",
        );
        assert_eq!(
            lh.legal_hold().and_then(|h| h.status()),
            Some(&ObjectLockLegalHoldStatus::Off)
        );
        ok(
            c.put_object_legal_hold()
                .bucket(&b)
                .key("k")
                .version_id(&vid)
                .legal_hold(hold(true))
                .send()
                .await,
            "hold ON",
        );
        let lh = ok(
            c.get_object_legal_hold()
                .bucket(&b)
                .key("k")
                .version_id(&vid)
                .send()
                .await,
            "GetObjectLegalHold",
        );
        assert_eq!(
            lh.legal_hold().and_then(|h| h.status()),
            Some(&ObjectLockLegalHoldStatus::On)
        );
        let h = ok(c.head_object().bucket(&b).key("k").send().await, "HEAD");
        assert_eq!(h.object_lock_legal_hold_status(), Some(&ObjectLockLegalHoldStatus::On));

        tokio::time::sleep(Duration::from_millis(2200)).await;
        // Retention (1 s) has passed, but the hold keeps the version.
        expect_err(
            c.delete_object().bucket(&b).key("k").version_id(&vid).send().await,
            403,
            "AccessDenied",
        );
        let g = ok(
            c.get_object().bucket(&b).key("k").version_id(&vid).send().await,
            "still there",
        );
        assert_eq!(body_bytes(g).await, b"held");
        // Bad status.
        expect_err(
            c.put_object_legal_hold()
                .bucket(&b)
                .key("k")
                .version_id(&vid)
                .legal_hold(
                    ObjectLockLegalHold::builder()
                        .status(ObjectLockLegalHoldStatus::from("MAYBE"))
                        .build(),
                )
                .send()
                .await,
            400,
            "MalformedXML",
        );
        // Release the hold: now the expired version can be deleted.
        ok(
            c.put_object_legal_hold()
                .bucket(&b)
                .key("k")
                .version_id(&vid)
                .legal_hold(hold(false))
                .send()
                .await,
            "hold OFF",
        );
        let d = ok(
            c.delete_object().bucket(&b).key("k").version_id(&vid).send().await,
            "delete expired",
        );
        assert_eq!(d.version_id(), Some(vid.as_str()));
        assert_ne!(d.delete_marker(), Some(true));
        expect_err(
            c.get_object().bucket(&b).key("k").version_id(&vid).send().await,
            404,
            "NoSuchVersion",
        );
        let v = ok(c.list_object_versions().bucket(&b).send().await, "versions");
        assert!(v.versions().is_empty() && v.delete_markers().is_empty());

        // Legal hold alone (with retention active) — both protect; removing the hold leaves retention.
        let put = ok(
            c.put_object()
                .bucket(&b)
                .key("both")
                .body(b"b".to_vec().into())
                .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
                .object_lock_mode(aws_sdk_s3::types::ObjectLockMode::Compliance)
                .object_lock_retain_until_date(in_secs(days(2)))
                .send()
                .await,
            "PUT both",
        );
        let bv = put.version_id().unwrap().to_string();
        ok(
            c.put_object_legal_hold()
                .bucket(&b)
                .key("both")
                .legal_hold(hold(false))
                .send()
                .await,
            "hold off",
        );
        expect_err(
            c.delete_object().bucket(&b).key("both").version_id(&bv).send().await,
            403,
            "AccessDenied",
        );

        // Legal hold on a marker: 405; on a missing key: 404.
        let m = ok(c.delete_object().bucket(&b).key("both").send().await, "marker");
        expect_err(
            c.put_object_legal_hold()
                .bucket(&b)
                .key("both")
                .version_id(m.version_id().unwrap())
                .legal_hold(hold(true))
                .send()
                .await,
            405,
            "MethodNotAllowed",
        );
        expect_err(
            c.put_object_legal_hold()
                .bucket(&b)
                .key("nope")
                .legal_hold(hold(true))
                .send()
                .await,
            404,
            "NoSuchKey",
        );
        expect_err(
            c.get_object_legal_hold().bucket(&b).key("nope").send().await,
            404,
            "NoSuchKey",
        );
    }
}

#[tokio::test]
async fn expired_versions_are_deletable_by_version_id() {
    // Blobs as files of their own go at once; a segment entry goes with its whole segment
    // (segments::a_sealed_segment_is_reclaimed_only_when_all_its_versions_are_gone).
    let srv = Server::start_with(Options::min_retention("1s").args(&["--segment-max-object", "0"]));
    let c = srv.admin();
    make_bucket(&c, "exp").await;
    let a = ok(
        c.put_object()
            .bucket("exp")
            .key("k")
            .body(b"a".to_vec().into())
            .send()
            .await,
        "a",
    );
    let keep = ok(
        c.put_object()
            .bucket("exp")
            .key("k")
            .body(b"keep".to_vec().into())
            .object_lock_mode(aws_sdk_s3::types::ObjectLockMode::Compliance)
            .object_lock_retain_until_date(in_secs(days(1)))
            .send()
            .await,
        "keep",
    );
    let c3 = ok(
        c.put_object()
            .bucket("exp")
            .key("k")
            .body(b"c".to_vec().into())
            .send()
            .await,
        "c",
    );
    let (av, kv, cv) = (
        a.version_id().unwrap().to_string(),
        keep.version_id().unwrap().to_string(),
        c3.version_id().unwrap().to_string(),
    );
    // Not yet expired.
    expect_err(
        c.delete_object().bucket("exp").key("k").version_id(&av).send().await,
        403,
        "AccessDenied",
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    // The retention can now be set again to anything in the future (it no longer protects).
    ok(
        c.put_object_retention()
            .bucket("exp")
            .key("k")
            .version_id(&cv)
            .retention(retention("COMPLIANCE", in_secs(5)))
            .send()
            .await,
        "re-set expired retention",
    );
    ok(
        c.delete_object().bucket("exp").key("k").version_id(&av).send().await,
        "delete expired a",
    );
    expect_err(
        c.delete_object().bucket("exp").key("k").version_id(&kv).send().await,
        403,
        "AccessDenied",
    );
    expect_err(
        c.delete_object().bucket("exp").key("k").version_id(&cv).send().await,
        403,
        "AccessDenied",
    );
    let v = ok(c.list_object_versions().bucket("exp").send().await, "versions");
    let ids: Vec<&str> = v.versions().iter().filter_map(|v| v.version_id()).collect();
    assert_eq!(ids, vec![cv.as_str(), kv.as_str()]);
    // The blob of the deleted version is gone from disk; the others remain.
    let files: Vec<String> = walk_files(&srv.data_dir.join("blobs"));
    assert!(
        !files.iter().any(|f| f.contains(&av)),
        "blob of deleted version still on disk: {files:?}"
    );
    assert!(
        files.iter().any(|f| f.contains(&kv)),
        "blob of retained version missing: {files:?}"
    );
}

fn walk_files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk_files(&p));
            } else {
                out.push(p.to_string_lossy().into_owned());
            }
        }
    }
    out
}

#[tokio::test]
async fn retention_survives_restart() {
    let mut srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "persist").await;
    let put = ok(
        c.put_object()
            .bucket("persist")
            .key("k")
            .body(b"p".to_vec().into())
            .send()
            .await,
        "PUT",
    );
    let vid = put.version_id().unwrap().to_string();
    let until = in_secs(days(40));
    ok(
        c.put_object_retention()
            .bucket("persist")
            .key("k")
            .version_id(&vid)
            .retention(retention("COMPLIANCE", until))
            .send()
            .await,
        "extend",
    );
    ok(
        c.put_object_legal_hold()
            .bucket("persist")
            .key("k")
            .version_id(&vid)
            .legal_hold(hold(true))
            .send()
            .await,
        "hold",
    );
    srv.stop();
    srv.restart();
    let c = srv.admin();
    assert_eq!(retain_until(&c, "persist", "k", Some(&vid)).await, until.secs());
    let lh = ok(
        c.get_object_legal_hold().bucket("persist").key("k").send().await,
        "hold",
    );
    assert_eq!(
        lh.legal_hold().and_then(|h| h.status()),
        Some(&ObjectLockLegalHoldStatus::On)
    );
    expect_err(
        c.delete_object()
            .bucket("persist")
            .key("k")
            .version_id(&vid)
            .send()
            .await,
        403,
        "AccessDenied",
    );
    let g = ok(c.get_object().bucket("persist").key("k").send().await, "GET");
    assert_eq!(body_bytes(g).await, b"p");
}
