//! Keys scoped to buckets (`buckets = [...]` in `[[users]]`, `wormgate user add --buckets`): every
//! operation family outside the scope is 403 `AccessDenied` and changes nothing; `ListBuckets` shows only
//! the allowed buckets; a copy's source and every key of a multi-object delete are checked too.

use crate::common::*;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier, ObjectLockConfiguration, ObjectLockEnabled,
    ObjectLockLegalHold, ObjectLockLegalHoldStatus, ObjectLockRetention, ObjectLockRetentionMode, ObjectLockRule, Tag,
    Tagging,
};

/// A writer limited to `veeam-*` and to `host1/` keys of `archive`; an officer with the same scope.
const SCOPED_TOML: &str = r#"
[[users]]
name = "veeam1"
access_key = "AKIASCOPEDWRITER"
secret_key = "scoped-writer-secret-0123"
role = "writer"
buckets = ["veeam-*", "archive/host1/*"]

[[users]]
name = "veeam1-officer"
access_key = "AKIASCOPEDOFFICER"
secret_key = "scoped-officer-secret-0123"
role = "officer"
buckets = ["veeam-*", "archive/host1/*"]
"#;

const SCOPED: Keys = Keys {
    access: "AKIASCOPEDWRITER",
    secret: "scoped-writer-secret-0123",
};
const SCOPED_OFFICER: Keys = Keys {
    access: "AKIASCOPEDOFFICER",
    secret: "scoped-officer-secret-0123",
};

fn scoped_server() -> Server {
    Server::start_with(Options {
        config_toml: Some(SCOPED_TOML.into()),
        min_retention: Some("1s".into()),
        ..Default::default()
    })
}

async fn put(c: &aws_sdk_s3::Client, b: &str, k: &str) -> Result<(), String> {
    c.put_object()
        .bucket(b)
        .key(k)
        .body(b"data".to_vec().into())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e)))
}

#[tokio::test]
async fn buckets_and_listings_outside_the_scope_are_refused() {
    let srv = scoped_server();
    let admin = srv.admin();
    for b in ["veeam-a", "other", "archive"] {
        make_bucket(&admin, b).await;
    }
    put(&admin, "other", "k").await.unwrap();
    let c = srv.client(SCOPED, Checksums::Default);

    // ListBuckets: only the buckets some entry matches.
    let names: Vec<String> = ok(c.list_buckets().send().await, "ListBuckets")
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect();
    assert_eq!(names, ["archive", "veeam-a"]);
    let all = ok(admin.list_buckets().send().await, "admin ListBuckets")
        .buckets()
        .len();
    assert_eq!(all, 3, "the admin still sees every bucket");

    // CreateBucket only within the allowed names.
    ok(c.create_bucket().bucket("veeam-new").send().await, "create veeam-new");
    expect_err(c.create_bucket().bucket("notveeam").send().await, 403, "AccessDenied");
    assert!(
        admin.head_bucket().bucket("notveeam").send().await.is_err(),
        "not created"
    );

    // Bucket-level reads.
    expect_err(c.head_bucket().bucket("other").send().await, 403, "");
    expect_err(
        c.get_bucket_location().bucket("other").send().await,
        403,
        "AccessDenied",
    );
    expect_err(
        c.get_bucket_versioning().bucket("other").send().await,
        403,
        "AccessDenied",
    );
    expect_err(
        c.get_object_lock_configuration().bucket("other").send().await,
        403,
        "AccessDenied",
    );
    expect_err(c.get_bucket_acl().bucket("other").send().await, 403, "AccessDenied");
    ok(
        c.head_bucket().bucket("archive").send().await,
        "head archive (key-scoped)",
    );
    ok(
        c.get_bucket_versioning().bucket("veeam-a").send().await,
        "versioning veeam-a",
    );

    // Listings: other bucket refused; a key-scoped bucket only under the allowed prefix.
    expect_err(c.list_objects_v2().bucket("other").send().await, 403, "AccessDenied");
    expect_err(c.list_objects().bucket("other").send().await, 403, "AccessDenied");
    expect_err(
        c.list_object_versions().bucket("other").send().await,
        403,
        "AccessDenied",
    );
    expect_err(
        c.list_multipart_uploads().bucket("other").send().await,
        403,
        "AccessDenied",
    );
    expect_err(c.list_objects_v2().bucket("archive").send().await, 403, "AccessDenied");
    expect_err(
        c.list_objects_v2().bucket("archive").prefix("host2/").send().await,
        403,
        "AccessDenied",
    );
    ok(
        c.list_objects_v2().bucket("archive").prefix("host1/").send().await,
        "list archive host1/",
    );
    ok(
        c.list_object_versions()
            .bucket("archive")
            .prefix("host1/sub")
            .send()
            .await,
        "versions archive host1/sub",
    );
    ok(c.list_objects_v2().bucket("veeam-a").send().await, "list veeam-a");

    // Whole-bucket changes need a whole-bucket entry (officer: role allows, scope decides).
    let o = srv.client(SCOPED_OFFICER, Checksums::Default);
    let cfg = ObjectLockConfiguration::builder()
        .object_lock_enabled(ObjectLockEnabled::Enabled)
        .rule(
            ObjectLockRule::builder()
                .default_retention(
                    aws_sdk_s3::types::DefaultRetention::builder()
                        .mode(ObjectLockRetentionMode::Compliance)
                        .days(2)
                        .build(),
                )
                .build(),
        )
        .build();
    expect_err(
        o.put_object_lock_configuration()
            .bucket("archive")
            .object_lock_configuration(cfg.clone())
            .send()
            .await,
        403,
        "AccessDenied",
    );
    ok(
        o.put_object_lock_configuration()
            .bucket("veeam-a")
            .object_lock_configuration(cfg)
            .send()
            .await,
        "lock configuration of veeam-a",
    );
    expect_err(o.delete_bucket().bucket("other").send().await, 403, "AccessDenied");
    assert!(
        admin.head_bucket().bucket("other").send().await.is_ok(),
        "other survives"
    );

    // The refusals are audited with rule `scope`.
    let (code, out, err) = wormgate(&["audit", "export", "--endpoint", &srv.endpoint], &keys_env(ADMIN));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines()
            .any(|l| l.contains("\"rule\":\"scope\"") && l.contains("\"principal\":\"veeam1\"")),
        "no scope denial in the audit trail"
    );
}

#[tokio::test]
async fn object_operations_outside_the_scope_are_refused() {
    let srv = scoped_server();
    let admin = srv.admin();
    for b in ["veeam-a", "other", "archive"] {
        make_bucket(&admin, b).await;
    }
    let seeded = ok(
        admin
            .put_object()
            .bucket("other")
            .key("k")
            .body(b"other-data".to_vec().into())
            .send()
            .await,
        "seed other",
    );
    let other_version = seeded.version_id().unwrap_or_default().to_string();
    ok(
        admin
            .put_object()
            .bucket("archive")
            .key("host2/x")
            .body(b"x".to_vec().into())
            .send()
            .await,
        "seed host2",
    );
    let c = srv.client(SCOPED, Checksums::Default);
    let o = srv.client(SCOPED_OFFICER, Checksums::Default);

    // Writes and reads.
    put(&c, "veeam-a", "k").await.unwrap();
    put(&c, "archive", "host1/a").await.unwrap();
    for (b, k) in [("other", "k2"), ("archive", "host2/y"), ("archive", "host1")] {
        assert!(put(&c, b, k).await.unwrap_err().contains("AccessDenied"), "PUT {b}/{k}");
    }
    ok(
        c.get_object().bucket("archive").key("host1/a").send().await,
        "GET host1/a",
    );
    expect_err(
        c.get_object().bucket("other").key("k").send().await,
        403,
        "AccessDenied",
    );
    expect_err(
        c.get_object().bucket("archive").key("host2/x").send().await,
        403,
        "AccessDenied",
    );
    expect_err(c.head_object().bucket("other").key("k").send().await, 403, "");
    expect_err(
        c.delete_object().bucket("other").key("k").send().await,
        403,
        "AccessDenied",
    );
    expect_err(
        c.get_object_tagging().bucket("other").key("k").send().await,
        403,
        "AccessDenied",
    );
    expect_err(
        c.put_object_tagging()
            .bucket("other")
            .key("k")
            .tagging(
                Tagging::builder()
                    .tag_set(Tag::builder().key("a").value("b").build().unwrap())
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        403,
        "AccessDenied",
    );
    expect_err(
        c.delete_object_tagging().bucket("other").key("k").send().await,
        403,
        "AccessDenied",
    );
    expect_err(
        c.get_object_acl().bucket("other").key("k").send().await,
        403,
        "AccessDenied",
    );
    expect_err(
        c.get_object_retention().bucket("other").key("k").send().await,
        403,
        "AccessDenied",
    );
    expect_err(
        c.get_object_legal_hold().bucket("other").key("k").send().await,
        403,
        "AccessDenied",
    );
    expect_err(
        o.put_object_legal_hold()
            .bucket("other")
            .key("k")
            .version_id(&other_version)
            .legal_hold(
                ObjectLockLegalHold::builder()
                    .status(ObjectLockLegalHoldStatus::On)
                    .build(),
            )
            .send()
            .await,
        403,
        "AccessDenied",
    );
    expect_err(
        o.put_object_retention()
            .bucket("other")
            .key("k")
            .version_id(&other_version)
            .retention(
                ObjectLockRetention::builder()
                    .mode(ObjectLockRetentionMode::Compliance)
                    .retain_until_date(in_secs(days(30)))
                    .build(),
            )
            .send()
            .await,
        403,
        "AccessDenied",
    );

    // DeleteObjects: one key outside refuses the whole request; nothing is deleted.
    let del = Delete::builder()
        .objects(ObjectIdentifier::builder().key("host1/a").build().unwrap())
        .objects(ObjectIdentifier::builder().key("host2/x").build().unwrap())
        .build()
        .unwrap();
    expect_err(
        c.delete_objects().bucket("archive").delete(del).send().await,
        403,
        "AccessDenied",
    );
    let (_, markers) = versions_of(&admin, "archive", "host1/a").await;
    assert!(markers.is_empty(), "no delete marker was added");

    // CopyObject: the source is checked as well as the destination.
    expect_err(
        c.copy_object()
            .bucket("veeam-a")
            .key("stolen")
            .copy_source("other/k")
            .send()
            .await,
        403,
        "AccessDenied",
    );
    expect_err(
        c.copy_object()
            .bucket("other")
            .key("planted")
            .copy_source("veeam-a/k")
            .send()
            .await,
        403,
        "AccessDenied",
    );
    ok(
        c.copy_object()
            .bucket("veeam-a")
            .key("copied")
            .copy_source("archive/host1/a")
            .send()
            .await,
        "copy within the scope",
    );
    assert!(admin
        .head_object()
        .bucket("veeam-a")
        .key("stolen")
        .send()
        .await
        .is_err());

    // Multipart: create outside refused; UploadPartCopy from outside refused; inside works.
    expect_err(
        c.create_multipart_upload().bucket("other").key("mp").send().await,
        403,
        "AccessDenied",
    );
    let up = ok(
        c.create_multipart_upload().bucket("veeam-a").key("mp").send().await,
        "create upload",
    );
    let id = up.upload_id().unwrap().to_string();
    expect_err(
        c.upload_part_copy()
            .bucket("veeam-a")
            .key("mp")
            .upload_id(&id)
            .part_number(1)
            .copy_source("other/k")
            .send()
            .await,
        403,
        "AccessDenied",
    );
    let p = ok(
        c.upload_part()
            .bucket("veeam-a")
            .key("mp")
            .upload_id(&id)
            .part_number(1)
            .body(b"part-data".to_vec().into())
            .send()
            .await,
        "upload part",
    );
    ok(
        c.list_parts().bucket("veeam-a").key("mp").upload_id(&id).send().await,
        "list parts",
    );
    ok(
        c.complete_multipart_upload()
            .bucket("veeam-a")
            .key("mp")
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(
                        CompletedPart::builder()
                            .part_number(1)
                            .e_tag(p.e_tag().unwrap())
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await,
        "complete",
    );
    expect_err(
        c.abort_multipart_upload()
            .bucket("other")
            .key("mp")
            .upload_id(&id)
            .send()
            .await,
        403,
        "AccessDenied",
    );

    // The other bucket is untouched.
    let (versions, markers) = versions_of(&admin, "other", "k").await;
    assert_eq!((versions.len(), markers.len()), (1, 0));
    assert!(admin.head_object().bucket("other").key("planted").send().await.is_err());
}
