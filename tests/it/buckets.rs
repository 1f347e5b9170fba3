//! Bucket operations: `CreateBucket`, `ListBuckets`, `HeadBucket`, `GetBucketLocation`, `DeleteBucket`,
//! Get/PutBucketVersioning, Get/PutObjectLockConfiguration.

use crate::common::*;
use aws_sdk_s3::types::{
    BucketVersioningStatus, DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode,
    ObjectLockRule, VersioningConfiguration,
};

#[tokio::test]
async fn create_bucket_with_and_without_lock_header() {
    let srv = Server::start();
    let c = srv.admin();
    ok(
        c.create_bucket()
            .bucket("with-lock")
            .object_lock_enabled_for_bucket(true)
            .send()
            .await,
        "create with header",
    );
    ok(
        c.create_bucket().bucket("without-lock").send().await,
        "create without header",
    );
    for b in ["with-lock", "without-lock"] {
        let v = ok(c.get_bucket_versioning().bucket(b).send().await, "GetBucketVersioning");
        assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled), "{b}: versioning");
        let l = ok(
            c.get_object_lock_configuration().bucket(b).send().await,
            "GetObjectLockConfiguration",
        );
        let cfg = l.object_lock_configuration().expect("lock configuration");
        assert_eq!(
            cfg.object_lock_enabled(),
            Some(&ObjectLockEnabled::Enabled),
            "{b}: lock enabled"
        );
    }
}

#[tokio::test]
async fn create_bucket_errors() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "dup-bucket").await;
    // Your own bucket again: 200 in us-east-1 (the default region), as AWS answers there.
    ok(
        c.create_bucket().bucket("dup-bucket").send().await,
        "create own bucket again",
    );
    for bad in [
        "ab",
        "Upper-Case",
        "bad_underscore",
        "-leading",
        "trailing-",
        "a..b",
        "192.168.1.1",
    ] {
        expect_err(c.create_bucket().bucket(bad).send().await, 400, "InvalidBucketName");
    }
    let long = "x".repeat(64);
    expect_err(c.create_bucket().bucket(&long).send().await, 400, "InvalidBucketName");
    // A refused name must not have created anything.
    let names: Vec<String> = ok(c.list_buckets().send().await, "ListBuckets")
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect();
    assert_eq!(names, vec!["dup-bucket".to_string()]);
}

/// In any region but us-east-1, AWS answers a `CreateBucket` of your own bucket with 409.
#[tokio::test]
async fn create_own_bucket_again_outside_us_east_1() {
    let srv = Server::start_with(Options::default().args(&["--region", "eu-west-1"]));
    let c = srv.admin();
    make_bucket(&c, "dup-bucket").await;
    expect_err(
        c.create_bucket().bucket("dup-bucket").send().await,
        409,
        "BucketAlreadyOwnedByYou",
    );
}

#[tokio::test]
async fn create_bucket_with_location_constraint_body() {
    let srv = Server::start();
    // WhenRequired and default both send a CreateBucketConfiguration body here.
    for (i, mode) in BOTH.into_iter().enumerate() {
        let c = srv.client(ADMIN, mode);
        let name = format!("located-{i}");
        let cfg = aws_sdk_s3::types::CreateBucketConfiguration::builder()
            .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from("us-east-1"))
            .build();
        // us-east-1 as an explicit constraint is what some tools send; accept or refuse, but answer XML.
        let r = c
            .create_bucket()
            .bucket(&name)
            .create_bucket_configuration(cfg)
            .send()
            .await;
        if let Err(e) = &r {
            let st = status_of(e);
            assert!(
                matches!(st, Some(400)),
                "unexpected answer {st:?} to a LocationConstraint body: {e:?}"
            );
        }
        let cfg = aws_sdk_s3::types::CreateBucketConfiguration::builder().build();
        let name2 = format!("empty-config-{i}");
        ok(
            c.create_bucket()
                .bucket(&name2)
                .create_bucket_configuration(cfg)
                .send()
                .await,
            "create with empty config",
        );
        ok(c.head_bucket().bucket(&name2).send().await, "HeadBucket");
    }
}

#[tokio::test]
async fn list_head_location() {
    let srv = Server::start();
    let c = srv.admin();
    let empty = ok(c.list_buckets().send().await, "ListBuckets (empty)");
    assert!(empty.buckets().is_empty());
    for b in ["zeta-bucket", "alpha-bucket", "mid.bucket"] {
        make_bucket(&c, b).await;
    }
    let out = ok(c.list_buckets().send().await, "ListBuckets");
    let names: Vec<&str> = out.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(
        names,
        vec!["alpha-bucket", "mid.bucket", "zeta-bucket"],
        "sorted by name"
    );
    assert!(
        out.buckets().iter().all(|b| b.creation_date().is_some()),
        "creation dates"
    );
    assert!(out.owner().is_some(), "owner element");

    ok(c.head_bucket().bucket("alpha-bucket").send().await, "HeadBucket");
    expect_err(c.head_bucket().bucket("no-such-bucket").send().await, 404, "");

    let loc = ok(
        c.get_bucket_location().bucket("alpha-bucket").send().await,
        "GetBucketLocation",
    );
    // us-east-1 is reported as an empty LocationConstraint, as AWS does.
    let lc = loc
        .location_constraint()
        .map(|l| l.as_str().to_string())
        .unwrap_or_default();
    assert!(lc.is_empty() || lc == "us-east-1", "location constraint {lc:?}");
    expect_err(
        c.get_bucket_location().bucket("no-such-bucket").send().await,
        404,
        "NoSuchBucket",
    );
    expect_err(
        c.list_objects_v2().bucket("no-such-bucket").send().await,
        404,
        "NoSuchBucket",
    );
}

#[tokio::test]
async fn delete_bucket_refused_while_versions_or_markers_exist() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "keep-me").await;
    ok(
        c.put_object()
            .bucket("keep-me")
            .key("k")
            .body(b"data".to_vec().into())
            .send()
            .await,
        "PutObject",
    );
    expect_err(c.delete_bucket().bucket("keep-me").send().await, 409, "BucketNotEmpty");
    // A delete marker on top does not make it empty.
    let del = ok(
        c.delete_object().bucket("keep-me").key("k").send().await,
        "DeleteObject",
    );
    assert_eq!(del.delete_marker(), Some(true));
    expect_err(c.delete_bucket().bucket("keep-me").send().await, 409, "BucketNotEmpty");
    // The listing still shows the version: nothing was removed.
    let v = ok(
        c.list_object_versions().bucket("keep-me").send().await,
        "ListObjectVersions",
    );
    assert_eq!(v.versions().len(), 1);
    assert_eq!(v.delete_markers().len(), 1);

    // A bucket holding only a delete marker is not empty either; removing the marker empties it.
    make_bucket(&c, "marker-only").await;
    let m = ok(
        c.delete_object().bucket("marker-only").key("ghost").send().await,
        "DeleteObject of a missing key",
    );
    assert_eq!(m.delete_marker(), Some(true));
    let marker_id = m.version_id().expect("marker version id").to_string();
    expect_err(
        c.delete_bucket().bucket("marker-only").send().await,
        409,
        "BucketNotEmpty",
    );
    let rm = ok(
        c.delete_object()
            .bucket("marker-only")
            .key("ghost")
            .version_id(&marker_id)
            .send()
            .await,
        "remove delete marker",
    );
    assert_eq!(rm.delete_marker(), Some(true));
    ok(
        c.delete_bucket().bucket("marker-only").send().await,
        "DeleteBucket (empty)",
    );
    expect_err(c.head_bucket().bucket("marker-only").send().await, 404, "");
    expect_err(
        c.delete_bucket().bucket("marker-only").send().await,
        404,
        "NoSuchBucket",
    );

    // An empty bucket is deleted and its name can be reused.
    make_bucket(&c, "empty-one").await;
    ok(c.delete_bucket().bucket("empty-one").send().await, "DeleteBucket");
    make_bucket(&c, "empty-one").await;
    let names: Vec<String> = ok(c.list_buckets().send().await, "ListBuckets")
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect();
    assert_eq!(names, vec!["empty-one".to_string(), "keep-me".to_string()]);
}

#[tokio::test]
async fn delete_bucket_after_expiry_and_version_removal() {
    let srv = Server::start_with(Options::min_retention("1s"));
    let c = srv.admin();
    make_bucket(&c, "short-lived").await;
    let put = ok(
        c.put_object()
            .bucket("short-lived")
            .key("k")
            .body(b"x".to_vec().into())
            .send()
            .await,
        "PutObject",
    );
    let vid = put.version_id().expect("version id").to_string();
    expect_err(
        c.delete_bucket().bucket("short-lived").send().await,
        409,
        "BucketNotEmpty",
    );
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    ok(
        c.delete_object()
            .bucket("short-lived")
            .key("k")
            .version_id(&vid)
            .send()
            .await,
        "delete expired version",
    );
    ok(c.delete_bucket().bucket("short-lived").send().await, "DeleteBucket");
}

#[tokio::test]
async fn versioning_cannot_be_suspended() {
    let srv = Server::start();
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("ver-{}", if mode == Checksums::Default { "d" } else { "w" });
        make_bucket(&c, &b).await;
        let suspended = VersioningConfiguration::builder()
            .status(BucketVersioningStatus::Suspended)
            .build();
        expect_err(
            c.put_bucket_versioning()
                .bucket(&b)
                .versioning_configuration(suspended)
                .send()
                .await,
            409,
            "InvalidBucketState",
        );
        let enabled = VersioningConfiguration::builder()
            .status(BucketVersioningStatus::Enabled)
            .build();
        ok(
            c.put_bucket_versioning()
                .bucket(&b)
                .versioning_configuration(enabled)
                .send()
                .await,
            "Enabled again",
        );
        let v = ok(c.get_bucket_versioning().bucket(&b).send().await, "GetBucketVersioning");
        assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
        let junk = VersioningConfiguration::builder()
            .status(BucketVersioningStatus::from("Off"))
            .build();
        expect_err(
            c.put_bucket_versioning()
                .bucket(&b)
                .versioning_configuration(junk)
                .send()
                .await,
            400,
            "MalformedXML",
        );
        let v = ok(c.get_bucket_versioning().bucket(&b).send().await, "GetBucketVersioning");
        assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
        expect_err(
            c.put_bucket_versioning()
                .bucket("no-such-bucket")
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await,
            404,
            "NoSuchBucket",
        );
    }
}

fn lock_config(mode: Option<&str>, days: Option<i32>, years: Option<i32>) -> ObjectLockConfiguration {
    let mut dr = DefaultRetention::builder();
    if let Some(m) = mode {
        dr = dr.mode(ObjectLockRetentionMode::from(m));
    }
    if let Some(d) = days {
        dr = dr.days(d);
    }
    if let Some(y) = years {
        dr = dr.years(y);
    }
    ObjectLockConfiguration::builder()
        .object_lock_enabled(ObjectLockEnabled::Enabled)
        .rule(ObjectLockRule::builder().default_retention(dr.build()).build())
        .build()
}

async fn default_rule(c: &aws_sdk_s3::Client, b: &str) -> (Option<String>, Option<i32>, Option<i32>) {
    let out = ok(
        c.get_object_lock_configuration().bucket(b).send().await,
        "GetObjectLockConfiguration",
    );
    let cfg = out.object_lock_configuration().expect("configuration");
    assert_eq!(cfg.object_lock_enabled(), Some(&ObjectLockEnabled::Enabled));
    let dr = cfg
        .rule()
        .and_then(|r| r.default_retention())
        .expect("default retention");
    (dr.mode().map(|m| m.as_str().to_string()), dr.days(), dr.years())
}

#[tokio::test]
async fn lock_configuration_default_reflects_floor() {
    // Floor 1 day (the default).
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "floor-1d").await;
    assert_eq!(
        default_rule(&c, "floor-1d").await,
        (Some("COMPLIANCE".into()), Some(1), None)
    );
    drop(srv);
    // Floor 7 days.
    let srv = Server::start_with(Options::min_retention("7d"));
    let c = srv.admin();
    make_bucket(&c, "floor-7d").await;
    assert_eq!(
        default_rule(&c, "floor-7d").await,
        (Some("COMPLIANCE".into()), Some(7), None)
    );
    // A default below the floor is refused and the effective default is unchanged.
    expect_err(
        c.put_object_lock_configuration()
            .bucket("floor-7d")
            .object_lock_configuration(lock_config(Some("COMPLIANCE"), Some(1), None))
            .send()
            .await,
        400,
        "InvalidRequest",
    );
    assert_eq!(
        default_rule(&c, "floor-7d").await,
        (Some("COMPLIANCE".into()), Some(7), None)
    );
}

#[tokio::test]
async fn lock_configuration_put_get_and_errors() {
    let srv = Server::start();
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("lockcfg-{}", if mode == Checksums::Default { "d" } else { "w" });
        make_bucket(&c, &b).await;
        ok(
            c.put_object_lock_configuration()
                .bucket(&b)
                .object_lock_configuration(lock_config(Some("COMPLIANCE"), Some(30), None))
                .send()
                .await,
            "PutObjectLockConfiguration 30 days",
        );
        assert_eq!(default_rule(&c, &b).await, (Some("COMPLIANCE".into()), Some(30), None));
        ok(
            c.put_object_lock_configuration()
                .bucket(&b)
                .object_lock_configuration(lock_config(Some("COMPLIANCE"), None, Some(2)))
                .send()
                .await,
            "PutObjectLockConfiguration 2 years",
        );
        assert_eq!(default_rule(&c, &b).await, (Some("COMPLIANCE".into()), None, Some(2)));

        let refused: Vec<(ObjectLockConfiguration, u16, &str)> = vec![
            (lock_config(Some("GOVERNANCE"), Some(5), None), 400, "InvalidRequest"),
            (lock_config(Some("COMPLIANCE"), Some(5), Some(1)), 400, "MalformedXML"),
            (
                lock_config(Some("COMPLIANCE"), Some(0), None),
                400,
                "InvalidRetentionPeriod",
            ),
            (
                lock_config(Some("COMPLIANCE"), Some(-3), None),
                400,
                "InvalidRetentionPeriod",
            ),
            (
                lock_config(Some("COMPLIANCE"), None, Some(0)),
                400,
                "InvalidRetentionPeriod",
            ),
            (lock_config(Some("compliance"), Some(5), None), 400, "MalformedXML"),
            (lock_config(Some("COMPLIANCE"), None, None), 400, "MalformedXML"),
            (lock_config(None, Some(5), None), 400, "MalformedXML"),
            (
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::from("Disabled"))
                    .build(),
                400,
                "MalformedXML",
            ),
            (
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::from(""))
                    .build(),
                400,
                "MalformedXML",
            ),
            (ObjectLockConfiguration::builder().build(), 400, "MalformedXML"),
            // Above the cap (100 years by default).
            (
                lock_config(Some("COMPLIANCE"), None, Some(101)),
                400,
                "InvalidRetentionPeriod",
            ),
        ];
        for (cfg, status, code) in refused {
            let dbg = format!("{cfg:?}");
            expect_err(
                c.put_object_lock_configuration()
                    .bucket(&b)
                    .object_lock_configuration(cfg)
                    .send()
                    .await,
                status,
                code,
            );
            // Nothing changed.
            assert_eq!(
                default_rule(&c, &b).await,
                (Some("COMPLIANCE".into()), None, Some(2)),
                "after {dbg}"
            );
        }
        expect_err(
            c.get_object_lock_configuration().bucket("no-such-bucket").send().await,
            404,
            "NoSuchBucket",
        );
    }
}

#[tokio::test]
async fn lock_configuration_without_rule_keeps_floor() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "norule").await;
    ok(
        c.put_object_lock_configuration()
            .bucket("norule")
            .object_lock_configuration(lock_config(Some("COMPLIANCE"), Some(10), None))
            .send()
            .await,
        "set 10 days",
    );
    // A configuration with no Rule clears the bucket default; the floor still applies.
    ok(
        c.put_object_lock_configuration()
            .bucket("norule")
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .build(),
            )
            .send()
            .await,
        "clear rule",
    );
    assert_eq!(
        default_rule(&c, "norule").await,
        (Some("COMPLIANCE".into()), Some(1), None)
    );
    // A version written now gets at least the floor.
    let before = std::time::SystemTime::now();
    ok(
        c.put_object()
            .bucket("norule")
            .key("k")
            .body(b"v".to_vec().into())
            .send()
            .await,
        "PutObject",
    );
    let r = ok(
        c.get_object_retention().bucket("norule").key("k").send().await,
        "GetObjectRetention",
    );
    let until = r
        .retention()
        .and_then(|r| r.retain_until_date())
        .expect("retain until")
        .secs();
    let floor = before.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 + days(1);
    assert!(until >= floor - 1, "retain-until {until} below the 1-day floor {floor}");
}

#[tokio::test]
async fn bucket_default_retention_applies_to_new_versions() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "dflt").await;
    ok(
        c.put_object_lock_configuration()
            .bucket("dflt")
            .object_lock_configuration(lock_config(Some("COMPLIANCE"), Some(3), None))
            .send()
            .await,
        "3 days",
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    ok(
        c.put_object()
            .bucket("dflt")
            .key("k")
            .body(b"v".to_vec().into())
            .send()
            .await,
        "PutObject",
    );
    let h = ok(c.head_object().bucket("dflt").key("k").send().await, "HeadObject");
    assert_eq!(
        h.object_lock_mode().map(aws_sdk_s3::types::ObjectLockMode::as_str),
        Some("COMPLIANCE")
    );
    let until = h.object_lock_retain_until_date().expect("retain until").secs();
    assert!(
        (until - (now + days(3))).abs() < 120,
        "retain-until {until} is not now + 3 days ({})",
        now + days(3)
    );
}
