//! `CopyObject` on the disk backend: a copy is a new version with its own retention (the request's
//! lock headers, else the destination bucket's default, else the server's floor; never the
//! source's), metadata and tagging directives, source versions and conditions, delete markers as
//! sources, self-copies, and copies onto a retained key (which never touch the old version).

use crate::common::*;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{MetadataDirective, ObjectLockLegalHoldStatus, ObjectLockMode, TaggingDirective};
use aws_sdk_s3::Client;

const BODY: &[u8] = b"copy source bytes";

/// PUT the usual source (content type, one metadata entry, one tag); returns (version id, `ETag`).
async fn put_source(c: &Client, bucket: &str, key: &str, body: &[u8]) -> (String, String) {
    let out = ok(
        c.put_object()
            .bucket(bucket)
            .key(key)
            .content_type("text/x-src")
            .metadata("origin", "src")
            .tagging("from=src")
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await,
        "PUT source",
    );
    (
        out.version_id().expect("version id").to_string(),
        out.e_tag().expect("ETag").to_string(),
    )
}

async fn get_all(c: &Client, bucket: &str, key: &str, version: Option<&str>) -> Vec<u8> {
    body_bytes(ok(
        c.get_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version.map(str::to_string))
            .send()
            .await,
        "GetObject",
    ))
    .await
}

async fn tags_of(c: &Client, bucket: &str, key: &str) -> Vec<(String, String)> {
    let out = ok(
        c.get_object_tagging().bucket(bucket).key(key).send().await,
        "GetObjectTagging",
    );
    out.tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn pair(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

#[tokio::test]
async fn copy_within_a_bucket_is_a_new_version_with_the_data_and_metadata() {
    let srv = Server::start();
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("cp-{}", if mode == Checksums::Default { "d" } else { "w" });
        make_bucket(&c, &b).await;
        let (v, etag) = put_source(&c, &b, "src", BODY).await;
        let out = ok(
            c.copy_object()
                .bucket(&b)
                .key("dst")
                .copy_source(format!("{b}/src"))
                .send()
                .await,
            "CopyObject",
        );
        let res = out.copy_object_result().expect("CopyObjectResult");
        assert_eq!(res.e_tag(), Some(etag.as_str()), "same bytes, same ETag");
        assert!(res.last_modified().is_some());
        assert_eq!(out.copy_source_version_id(), Some(v.as_str()));
        let dv = out.version_id().expect("version id").to_string();
        assert_ne!(dv, v);
        let got = ok(c.get_object().bucket(&b).key("dst").send().await, "GET copy");
        assert_eq!(got.version_id(), Some(dv.as_str()));
        assert_eq!(got.e_tag(), Some(etag.as_str()));
        assert_eq!(got.content_type(), Some("text/x-src"));
        assert_eq!(
            got.metadata().and_then(|m| m.get("origin")).map(String::as_str),
            Some("src")
        );
        assert_eq!(body_bytes(got).await, BODY);
        assert_eq!(versions_of(&c, &b, "dst").await.0, vec![dv.clone()]);
        assert_eq!(
            versions_of(&c, &b, "src").await.0,
            vec![v.clone()],
            "the source is unchanged"
        );
    }
}

#[tokio::test]
async fn a_copy_gets_its_own_retention_never_the_sources() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "own").await;
    let far = in_secs(days(30));
    let src = ok(
        c.put_object()
            .bucket("own")
            .key("src")
            .object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(far)
            .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
            .body(ByteStream::from_static(BODY))
            .send()
            .await,
        "PUT retained source",
    );
    let sv = src.version_id().expect("version id").to_string();

    // No lock headers: the server's floor (1 day), not the source's 30 days, and no legal hold.
    let t0 = in_secs(0).secs();
    let out = ok(
        c.copy_object()
            .bucket("own")
            .key("plain")
            .copy_source("own/src")
            .send()
            .await,
        "CopyObject",
    );
    let v = out.version_id().expect("version id").to_string();
    let until = retain_until(&c, "own", "plain", Some(&v)).await;
    assert!(
        until >= t0 + days(1) && until < t0 + days(1) + 300,
        "the floor, not the source's date: {until} vs floor {} / source {}",
        t0 + days(1),
        far.secs()
    );
    assert!(
        !legal_hold_on(&c, "own", "plain", &v).await,
        "the legal hold is not copied"
    );

    // Lock headers on the copy request decide.
    let mine = in_secs(days(10));
    let out = ok(
        c.copy_object()
            .bucket("own")
            .key("explicit")
            .copy_source("own/src")
            .object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(mine)
            .send()
            .await,
        "CopyObject with lock headers",
    );
    let v = out.version_id().expect("version id").to_string();
    assert_eq!(retain_until(&c, "own", "explicit", Some(&v)).await, mine.secs());
    let head = ok(c.head_object().bucket("own").key("explicit").send().await, "HeadObject");
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
    assert_eq!(
        head.object_lock_legal_hold_status(),
        Some(&ObjectLockLegalHoldStatus::Off)
    );

    // Across buckets: the destination bucket's default retention (3 days) applies.
    make_bucket(&c, "dest").await;
    set_default_retention_days(&c, "dest", 3).await;
    let t0 = in_secs(0).secs();
    let out = ok(
        c.copy_object()
            .bucket("dest")
            .key("k")
            .copy_source("own/src")
            .send()
            .await,
        "CopyObject across buckets",
    );
    let v = out.version_id().expect("version id").to_string();
    let until = retain_until(&c, "dest", "k", Some(&v)).await;
    assert!(
        until >= t0 + days(3) && until < t0 + days(3) + 300,
        "the destination's default: {until} vs {}",
        t0 + days(3)
    );
    assert!(!legal_hold_on(&c, "dest", "k", &v).await);

    // The source keeps its own.
    assert_eq!(retain_until(&c, "own", "src", Some(&sv)).await, far.secs());
    assert!(legal_hold_on(&c, "own", "src", &sv).await);
}

#[tokio::test]
async fn copy_across_buckets_with_an_odd_key() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "from").await;
    make_bucket(&c, "cp-to").await;
    let key = "dir with space/ü+%&=.bin";
    let data = pattern(70_000, 1);
    let (v, etag) = put_source(&c, "from", key, &data).await;
    let encoded: String = key
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let out = ok(
        c.copy_object()
            .bucket("cp-to")
            .key(format!("{key}.copy"))
            .copy_source(format!("from/{encoded}"))
            .send()
            .await,
        "CopyObject across buckets",
    );
    assert_eq!(out.copy_source_version_id(), Some(v.as_str()));
    assert_eq!(out.copy_object_result().and_then(|r| r.e_tag()), Some(etag.as_str()));
    assert_eq!(get_all(&c, "cp-to", &format!("{key}.copy"), None).await, data);
    let l = ok(c.list_objects_v2().bucket("cp-to").send().await, "ListObjectsV2");
    let keys: Vec<&str> = l.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, vec![format!("{key}.copy")]);
}

#[tokio::test]
async fn metadata_directive_copy_and_replace() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "cp-meta").await;
    put_source(&c, "cp-meta", "src", BODY).await;

    // COPY (the default, and explicit): new metadata in the request is ignored.
    for (dst, directive) in [("default", None), ("copy", Some(MetadataDirective::Copy))] {
        ok(
            c.copy_object()
                .bucket("cp-meta")
                .key(dst)
                .copy_source("cp-meta/src")
                .set_metadata_directive(directive)
                .metadata("ignored", "yes")
                .send()
                .await,
            "CopyObject COPY",
        );
        let h = ok(c.head_object().bucket("cp-meta").key(dst).send().await, "HeadObject");
        assert_eq!(h.content_type(), Some("text/x-src"), "{dst}");
        let meta = h.metadata().cloned().unwrap_or_default();
        assert_eq!(meta.len(), 1, "{dst}: {meta:?}");
        assert_eq!(meta.get("origin").map(String::as_str), Some("src"), "{dst}");
    }

    // REPLACE: the request's headers and metadata, nothing of the source's.
    ok(
        c.copy_object()
            .bucket("cp-meta")
            .key("replace")
            .copy_source("cp-meta/src")
            .metadata_directive(MetadataDirective::Replace)
            .content_type("application/x-new")
            .cache_control("no-store")
            .metadata("fresh", "yes")
            .send()
            .await,
        "CopyObject REPLACE",
    );
    let h = ok(
        c.head_object().bucket("cp-meta").key("replace").send().await,
        "HeadObject",
    );
    assert_eq!(h.content_type(), Some("application/x-new"));
    assert_eq!(h.cache_control(), Some("no-store"));
    let meta = h.metadata().cloned().unwrap_or_default();
    assert_eq!(meta.len(), 1, "{meta:?}");
    assert_eq!(meta.get("fresh").map(String::as_str), Some("yes"));
    assert_eq!(get_all(&c, "cp-meta", "replace", None).await, BODY);

    // The source is unchanged.
    let s = ok(
        c.head_object().bucket("cp-meta").key("src").send().await,
        "HeadObject source",
    );
    assert_eq!(s.content_type(), Some("text/x-src"));
    assert_eq!(
        s.metadata().and_then(|m| m.get("origin")).map(String::as_str),
        Some("src")
    );
}

#[tokio::test]
async fn tagging_directive_copy_and_replace() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "cp-tags").await;
    put_source(&c, "cp-tags", "src", BODY).await;
    ok(
        c.copy_object()
            .bucket("cp-tags")
            .key("copied")
            .copy_source("cp-tags/src")
            .send()
            .await,
        "CopyObject",
    );
    assert_eq!(tags_of(&c, "cp-tags", "copied").await, vec![pair("from", "src")]);
    ok(
        c.copy_object()
            .bucket("cp-tags")
            .key("replaced")
            .copy_source("cp-tags/src")
            .tagging_directive(TaggingDirective::Replace)
            .tagging("new=tag&second=2")
            .send()
            .await,
        "CopyObject tagging REPLACE",
    );
    assert_eq!(
        tags_of(&c, "cp-tags", "replaced").await,
        vec![pair("new", "tag"), pair("second", "2")]
    );
    assert_eq!(tags_of(&c, "cp-tags", "src").await, vec![pair("from", "src")]);
}

#[tokio::test]
async fn copy_of_a_specific_version() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "ver").await;
    let (v1, e1) = put_source(&c, "ver", "src", b"version one").await;
    put_source(&c, "ver", "src", b"version two").await;
    let out = ok(
        c.copy_object()
            .bucket("ver")
            .key("dst")
            .copy_source(format!("ver/src?versionId={v1}"))
            .send()
            .await,
        "CopyObject of v1",
    );
    assert_eq!(out.copy_source_version_id(), Some(v1.as_str()));
    assert_eq!(out.copy_object_result().and_then(|r| r.e_tag()), Some(e1.as_str()));
    assert_eq!(get_all(&c, "ver", "dst", None).await, b"version one");
    assert_eq!(get_all(&c, "ver", "src", None).await, b"version two");

    // A version id of another key is no version of this one.
    expect_err(
        c.copy_object()
            .bucket("ver")
            .key("dst2")
            .copy_source(format!("ver/other?versionId={v1}"))
            .send()
            .await,
        404,
        "",
    );
    expect_err(c.head_object().bucket("ver").key("dst2").send().await, 404, "");
}

#[tokio::test]
async fn copy_from_a_delete_marker() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "cp-dm").await;
    put_source(&c, "cp-dm", "src", BODY).await;
    let marker = ok(
        c.delete_object().bucket("cp-dm").key("src").send().await,
        "DeleteObject",
    );
    assert_eq!(marker.delete_marker(), Some(true));
    let marker = marker.version_id().expect("marker version id").to_string();
    // The marker named by its version id: 400 InvalidRequest ("The source of a copy request may
    // not specifically refer to a delete marker by version id.").
    expect_err(
        c.copy_object()
            .bucket("cp-dm")
            .key("dst")
            .copy_source(format!("cp-dm/src?versionId={marker}"))
            .send()
            .await,
        400,
        "InvalidRequest",
    );
    // The current version is the marker: no such key.
    expect_err(
        c.copy_object()
            .bucket("cp-dm")
            .key("dst")
            .copy_source("cp-dm/src")
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    // A source that never existed, and a missing source bucket.
    expect_err(
        c.copy_object()
            .bucket("cp-dm")
            .key("dst")
            .copy_source("cp-dm/never")
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    expect_err(
        c.copy_object()
            .bucket("cp-dm")
            .key("dst")
            .copy_source("no-such-bucket-here/src")
            .send()
            .await,
        404,
        "NoSuchBucket",
    );
    expect_err(c.head_object().bucket("cp-dm").key("dst").send().await, 404, "");
    assert_eq!(versions_of(&c, "cp-dm", "dst").await, (vec![], vec![]));
}

#[tokio::test]
async fn self_copy_needs_a_change() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "self").await;
    let (v1, _) = put_source(&c, "self", "k", b"first").await;

    // Onto itself without any change: 400 InvalidRequest, no new version.
    expect_err(
        c.copy_object()
            .bucket("self")
            .key("k")
            .copy_source("self/k")
            .send()
            .await,
        400,
        "InvalidRequest",
    );
    expect_err(
        c.copy_object()
            .bucket("self")
            .key("k")
            .copy_source("self/k")
            .metadata_directive(MetadataDirective::Copy)
            .send()
            .await,
        400,
        "InvalidRequest",
    );
    assert_eq!(versions_of(&c, "self", "k").await.0, vec![v1.clone()]);

    // With REPLACE: a new version; the old one keeps its metadata.
    let out = ok(
        c.copy_object()
            .bucket("self")
            .key("k")
            .copy_source("self/k")
            .metadata_directive(MetadataDirective::Replace)
            .metadata("rev", "2")
            .send()
            .await,
        "self-copy with REPLACE",
    );
    let v2 = out.version_id().expect("version id").to_string();
    assert_ne!(v2, v1);
    let h = ok(c.head_object().bucket("self").key("k").send().await, "HeadObject");
    assert_eq!(h.metadata().and_then(|m| m.get("rev")).map(String::as_str), Some("2"));
    let h = ok(
        c.head_object().bucket("self").key("k").version_id(&v1).send().await,
        "HeadObject v1",
    );
    assert_eq!(
        h.metadata().and_then(|m| m.get("origin")).map(String::as_str),
        Some("src")
    );
    assert_eq!(versions_of(&c, "self", "k").await.0, vec![v2.clone(), v1.clone()]);

    // Restoring an older version by copying it (named by version id) onto its own key.
    put_source(&c, "self", "k", b"third").await;
    let out = ok(
        c.copy_object()
            .bucket("self")
            .key("k")
            .copy_source(format!("self/k?versionId={v1}"))
            .send()
            .await,
        "restore v1",
    );
    assert_eq!(out.copy_source_version_id(), Some(v1.as_str()));
    assert_eq!(get_all(&c, "self", "k", None).await, b"first");
    assert_eq!(versions_of(&c, "self", "k").await.0.len(), 4);
}

#[tokio::test]
async fn copy_onto_a_retained_key_keeps_the_old_version() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "ret").await;
    let old = b"retained original";
    let until = in_secs(days(5));
    let put = ok(
        c.put_object()
            .bucket("ret")
            .key("k")
            .object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(until)
            .body(ByteStream::from_static(old))
            .send()
            .await,
        "PUT retained",
    );
    let v1 = put.version_id().expect("version id").to_string();
    put_source(&c, "ret", "other", b"replacement").await;
    let out = ok(
        c.copy_object()
            .bucket("ret")
            .key("k")
            .copy_source("ret/other")
            .send()
            .await,
        "CopyObject onto the retained key",
    );
    let v2 = out.version_id().expect("version id").to_string();
    assert_ne!(v2, v1);
    assert_eq!(get_all(&c, "ret", "k", None).await, b"replacement");
    assert_eq!(get_all(&c, "ret", "k", Some(&v1)).await, old);
    let h = ok(
        c.head_object().bucket("ret").key("k").version_id(&v1).send().await,
        "HeadObject v1",
    );
    assert_eq!(h.e_tag(), Some(format!("\"{}\"", md5_hex(old)).as_str()));
    assert_eq!(retain_until(&c, "ret", "k", Some(&v1)).await, until.secs());
    assert_eq!(versions_of(&c, "ret", "k").await.0, vec![v2, v1.clone()]);
    expect_err(
        c.delete_object().bucket("ret").key("k").version_id(&v1).send().await,
        403,
        "AccessDenied",
    );
}

#[tokio::test]
async fn copy_source_conditions() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "cond").await;
    let (_, etag) = put_source(&c, "cond", "src", BODY).await;
    expect_err(
        c.copy_object()
            .bucket("cond")
            .key("bad")
            .copy_source("cond/src")
            .copy_source_if_match("\"deadbeef\"")
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    expect_err(
        c.copy_object()
            .bucket("cond")
            .key("bad")
            .copy_source("cond/src")
            .copy_source_if_none_match(&etag)
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    expect_err(c.head_object().bucket("cond").key("bad").send().await, 404, "");
    ok(
        c.copy_object()
            .bucket("cond")
            .key("good")
            .copy_source("cond/src")
            .copy_source_if_match(&etag)
            .copy_source_if_none_match("\"deadbeef\"")
            .send()
            .await,
        "CopyObject with holding conditions",
    );
    assert_eq!(get_all(&c, "cond", "good", None).await, BODY);
}
