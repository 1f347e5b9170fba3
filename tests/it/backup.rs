//! Backup software that manages its own locks (Veeam, Kopia, rclone's lock flags): the `backup` role,
//! lock operations without a versionId, `--governance-as-compliance`, and Veeam's SOSAPI documents.

use crate::common::*;
use aws_sdk_s3::types::{
    Delete, ObjectIdentifier, ObjectLockLegalHold, ObjectLockLegalHoldStatus, ObjectLockRetention,
    ObjectLockRetentionMode,
};
use aws_sdk_s3::Client;
use std::time::Duration;

fn retention(secs: i64) -> ObjectLockRetention {
    ObjectLockRetention::builder()
        .mode(ObjectLockRetentionMode::Compliance)
        .retain_until_date(in_secs(secs))
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

async fn put(c: &Client, bucket: &str, key: &str, body: &[u8]) -> String {
    let out = ok(
        c.put_object()
            .bucket(bucket)
            .key(key)
            .body(body.to_vec().into())
            .send()
            .await,
        "PUT",
    );
    out.version_id().expect("version id").to_string()
}

fn entry(key: &str, version: Option<&str>) -> ObjectIdentifier {
    let mut b = ObjectIdentifier::builder().key(key);
    if let Some(v) = version {
        b = b.version_id(v);
    }
    b.build().unwrap()
}

#[tokio::test]
async fn backup_role_extends_and_deletes_expired_but_governs_nothing() {
    let srv = Server::start_with(Options {
        min_retention: Some("1s".into()),
        max_retention: Some("400d".into()),
        ..Default::default()
    });
    let admin = srv.admin();
    make_bucket(&admin, "bkp").await;
    let b = srv.client(BACKUP, Checksums::Default);
    let w = srv.client(WRITER, Checksums::Default);
    let o = srv.client(OFFICER, Checksums::Default);

    // A writer's things: write, read, markers.
    let v1 = put(&b, "bkp", "blk", b"one").await;
    ok(b.get_object().bucket("bkp").key("blk").send().await, "backup GET");
    ok(b.list_object_versions().bucket("bkp").send().await, "backup versions");

    // Extension with a versionId, then without one (the current version, as Kopia sends it).
    ok(
        b.put_object_retention()
            .bucket("bkp")
            .key("blk")
            .version_id(&v1)
            .retention(retention(days(2)))
            .send()
            .await,
        "backup extends v1",
    );
    let v2 = put(&b, "bkp", "blk", b"two").await;
    let out = ok(
        b.put_object_retention()
            .bucket("bkp")
            .key("blk")
            .retention(retention(days(3)))
            .send()
            .await,
        "backup extends the current version",
    );
    let _ = out;
    let until_v2 = retain_until(&admin, "bkp", "blk", Some(&v2)).await;
    let until_v1 = retain_until(&admin, "bkp", "blk", Some(&v1)).await;
    assert!(until_v2 > until_v1, "no versionId must act on the current version (v2)");
    // Never shorter, never past --max-retention.
    expect_err(
        b.put_object_retention()
            .bucket("bkp")
            .key("blk")
            .version_id(&v2)
            .retention(retention(days(1)))
            .send()
            .await,
        403,
        "AccessDenied",
    );
    let r = b
        .put_object_retention()
        .bucket("bkp")
        .key("blk")
        .version_id(&v2)
        .retention(retention(days(500)))
        .send()
        .await;
    assert_eq!(status_of(r.as_ref().unwrap_err()), Some(400), "past --max-retention");
    assert_eq!(retain_until(&admin, "bkp", "blk", Some(&v2)).await, until_v2);

    // Writers still may not touch retention.
    expect_err(
        w.put_object_retention()
            .bucket("bkp")
            .key("blk")
            .retention(retention(days(4)))
            .send()
            .await,
        403,
        "AccessDenied",
    );

    // Not the rules: legal hold, bucket lock configuration, versioning, bucket deletion.
    expect_err(
        b.put_object_legal_hold()
            .bucket("bkp")
            .key("blk")
            .legal_hold(hold(true))
            .send()
            .await,
        403,
        "AccessDenied",
    );
    let lockcfg = aws_sdk_s3::types::ObjectLockConfiguration::builder()
        .object_lock_enabled(aws_sdk_s3::types::ObjectLockEnabled::Enabled)
        .build();
    expect_err(
        b.put_object_lock_configuration()
            .bucket("bkp")
            .object_lock_configuration(lockcfg)
            .send()
            .await,
        403,
        "AccessDenied",
    );
    expect_err(
        b.put_bucket_versioning()
            .bucket("bkp")
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                    .build(),
            )
            .send()
            .await,
        403,
        "AccessDenied",
    );
    expect_err(b.delete_bucket().bucket("bkp").send().await, 403, "AccessDenied");

    // Deleting a retained version: the lock refuses (the role allowed the attempt).
    expect_err(
        b.delete_object().bucket("bkp").key("blk").version_id(&v1).send().await,
        403,
        "AccessDenied",
    );

    // Expired versions: deletable by backup (DeleteObject and DeleteObjects), not by writer.
    let e1 = put(&b, "bkp", "old1", b"x").await;
    let e2 = put(&b, "bkp", "old2", b"y").await;
    let e3 = put(&b, "bkp", "old3", b"z").await;
    tokio::time::sleep(Duration::from_millis(2300)).await;
    expect_err(
        w.delete_object().bucket("bkp").key("old1").version_id(&e1).send().await,
        403,
        "AccessDenied",
    );
    ok(
        b.delete_object().bucket("bkp").key("old1").version_id(&e1).send().await,
        "backup deletes an expired version",
    );
    // A writer's batch: the plain key becomes a marker, the version ids are refused one by one.
    let del = Delete::builder()
        .objects(entry("plain-w", None))
        .objects(entry("old2", Some(&e2)))
        .build()
        .unwrap();
    let out = ok(
        w.delete_objects().bucket("bkp").delete(del).send().await,
        "writer batch",
    );
    assert_eq!(out.deleted().len(), 1, "{out:?}");
    assert_eq!(out.deleted()[0].delete_marker(), Some(true));
    assert_eq!(out.errors().len(), 1, "{out:?}");
    assert_eq!(out.errors()[0].code(), Some("AccessDenied"));
    assert_eq!(out.errors()[0].version_id(), Some(e2.as_str()));
    // Backup's batch: marker, two expired versions, one retained version refused by the lock.
    let del = Delete::builder()
        .objects(entry("plain-b", None))
        .objects(entry("old2", Some(&e2)))
        .objects(entry("old3", Some(&e3)))
        .objects(entry("blk", Some(&v2)))
        .build()
        .unwrap();
    let out = ok(
        b.delete_objects().bucket("bkp").delete(del).send().await,
        "backup batch",
    );
    assert_eq!(out.deleted().len(), 3, "{out:?}");
    assert_eq!(out.errors().len(), 1, "{out:?}");
    assert_eq!(out.errors()[0].key(), Some("blk"));
    assert_eq!(out.errors()[0].code(), Some("AccessDenied"));
    let (versions, _) = versions_of(&admin, "bkp", "old2").await;
    assert!(versions.is_empty(), "old2 still has {versions:?}");

    // Legal hold without a versionId acts on the current version (officer).
    ok(
        o.put_object_legal_hold()
            .bucket("bkp")
            .key("blk")
            .legal_hold(hold(true))
            .send()
            .await,
        "officer hold on the current version",
    );
    assert!(legal_hold_on(&admin, "bkp", "blk", &v2).await);
    assert!(!legal_hold_on(&admin, "bkp", "blk", &v1).await);
    ok(
        o.put_object_legal_hold()
            .bucket("bkp")
            .key("blk")
            .legal_hold(hold(false))
            .send()
            .await,
        "officer hold off",
    );

    // The current version is a delete marker: no lock to set (405 MethodNotAllowed, as on a marker by id).
    ok(b.delete_object().bucket("bkp").key("blk").send().await, "marker");
    expect_err(
        b.put_object_retention()
            .bucket("bkp")
            .key("blk")
            .retention(retention(days(5)))
            .send()
            .await,
        405,
        "MethodNotAllowed",
    );
    expect_err(
        o.put_object_legal_hold()
            .bucket("bkp")
            .key("blk")
            .legal_hold(hold(true))
            .send()
            .await,
        405,
        "MethodNotAllowed",
    );
    assert_eq!(retain_until(&admin, "bkp", "blk", Some(&v2)).await, until_v2);
}
