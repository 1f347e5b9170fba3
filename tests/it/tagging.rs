//! Object tagging on the disk backend: Put/Get/DeleteObjectTagging on the current version and on a
//! named version, `x-amz-tagging` on writes, the limits (AWS codes), and tags on a retained version
//! (allowed: tags are outside the WORM record; the version's bytes and lock never change and no
//! version is created). A delete marker has no tags (405).

use crate::common::*;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ObjectLockLegalHoldStatus, ObjectLockMode, Tag, Tagging,
};
use aws_sdk_s3::Client;

fn tagging(pairs: &[(&str, &str)]) -> Tagging {
    Tagging::builder()
        .set_tag_set(Some(
            pairs
                .iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build().expect("tag"))
                .collect(),
        ))
        .build()
        .expect("tagging")
}

/// The tags of a version (`None`: the current one), in the order `GetObjectTagging` lists them, and
/// the version id it names.
async fn tags_of(c: &Client, bucket: &str, key: &str, version: Option<&str>) -> (Vec<(String, String)>, String) {
    let out = ok(
        c.get_object_tagging()
            .bucket(bucket)
            .key(key)
            .set_version_id(version.map(str::to_string))
            .send()
            .await,
        "GetObjectTagging",
    );
    let tags = out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    (tags, out.version_id().expect("x-amz-version-id").to_string())
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

async fn put(c: &Client, bucket: &str, key: &str, body: &'static [u8]) -> String {
    let out = ok(
        c.put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from_static(body))
            .send()
            .await,
        "PutObject",
    );
    out.version_id().expect("version id").to_string()
}

#[tokio::test]
async fn put_get_delete_tags_on_the_current_version() {
    let srv = Server::start();
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("tag-{}", if mode == Checksums::Default { "d" } else { "w" });
        make_bucket(&c, &b).await;
        let v = put(&c, &b, "k", b"x").await;
        assert_eq!(tags_of(&c, &b, "k", None).await, (vec![], v.clone()));

        let out = ok(
            c.put_object_tagging()
                .bucket(&b)
                .key("k")
                .tagging(tagging(&[("project", "wormgate"), ("tier", "gold")]))
                .send()
                .await,
            "PutObjectTagging",
        );
        assert_eq!(out.version_id(), Some(v.as_str()), "names the version it tagged");
        assert_eq!(
            tags_of(&c, &b, "k", None).await,
            (pairs(&[("project", "wormgate"), ("tier", "gold")]), v.clone())
        );
        let got = ok(c.get_object().bucket(&b).key("k").send().await, "GetObject");
        assert_eq!(got.tag_count(), Some(2));
        let head = ok(c.head_object().bucket(&b).key("k").send().await, "HeadObject");
        assert_eq!(head.e_tag(), Some(format!("\"{}\"", md5_hex(b"x")).as_str()));

        // PUT replaces the whole set, it does not merge.
        ok(
            c.put_object_tagging()
                .bucket(&b)
                .key("k")
                .tagging(tagging(&[("only", "this")]))
                .send()
                .await,
            "PutObjectTagging again",
        );
        assert_eq!(tags_of(&c, &b, "k", None).await.0, pairs(&[("only", "this")]));

        let out = ok(
            c.delete_object_tagging().bucket(&b).key("k").send().await,
            "DeleteObjectTagging",
        );
        assert_eq!(out.version_id(), Some(v.as_str()));
        assert_eq!(tags_of(&c, &b, "k", None).await, (vec![], v.clone()));
        // Tagging created no version.
        assert_eq!(versions_of(&c, &b, "k").await, (vec![v], vec![]));
    }
}

#[tokio::test]
async fn tags_belong_to_one_version() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "per").await;
    let v1 = ok(
        c.put_object()
            .bucket("per")
            .key("k")
            .tagging("gen=1")
            .body(ByteStream::from_static(b"1"))
            .send()
            .await,
        "PUT v1",
    )
    .version_id()
    .expect("version id")
    .to_string();
    let v2 = ok(
        c.put_object()
            .bucket("per")
            .key("k")
            .tagging("gen=2")
            .body(ByteStream::from_static(b"2"))
            .send()
            .await,
        "PUT v2",
    )
    .version_id()
    .expect("version id")
    .to_string();
    assert_eq!(
        tags_of(&c, "per", "k", None).await,
        (pairs(&[("gen", "2")]), v2.clone())
    );
    assert_eq!(
        tags_of(&c, "per", "k", Some(&v1)).await,
        (pairs(&[("gen", "1")]), v1.clone())
    );

    let out = ok(
        c.put_object_tagging()
            .bucket("per")
            .key("k")
            .version_id(&v1)
            .tagging(tagging(&[("gen", "one")]))
            .send()
            .await,
        "PutObjectTagging v1",
    );
    assert_eq!(out.version_id(), Some(v1.as_str()));
    assert_eq!(tags_of(&c, "per", "k", Some(&v1)).await.0, pairs(&[("gen", "one")]));
    assert_eq!(tags_of(&c, "per", "k", Some(&v2)).await.0, pairs(&[("gen", "2")]));

    let out = ok(
        c.delete_object_tagging()
            .bucket("per")
            .key("k")
            .version_id(&v1)
            .send()
            .await,
        "DeleteObjectTagging v1",
    );
    assert_eq!(out.version_id(), Some(v1.as_str()));
    assert!(tags_of(&c, "per", "k", Some(&v1)).await.0.is_empty());
    assert_eq!(tags_of(&c, "per", "k", None).await.0, pairs(&[("gen", "2")]));
    assert_eq!(versions_of(&c, "per", "k").await.0, vec![v2, v1]);
}

#[tokio::test]
async fn tagging_header_on_put_and_on_multipart() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "hdr").await;
    ok(
        c.put_object()
            .bucket("hdr")
            .key("k")
            .tagging("a=1&b=two%20words&empty=")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        "PUT with x-amz-tagging",
    );
    assert_eq!(
        tags_of(&c, "hdr", "k", None).await.0,
        pairs(&[("a", "1"), ("b", "two words"), ("empty", "")])
    );

    let up = ok(
        c.create_multipart_upload()
            .bucket("hdr")
            .key("mp")
            .tagging("via=mpu")
            .send()
            .await,
        "CreateMultipartUpload with x-amz-tagging",
    );
    let uid = up.upload_id().expect("upload id");
    let part = ok(
        c.upload_part()
            .bucket("hdr")
            .key("mp")
            .upload_id(uid)
            .part_number(1)
            .body(ByteStream::from_static(b"part"))
            .send()
            .await,
        "UploadPart",
    );
    ok(
        c.complete_multipart_upload()
            .bucket("hdr")
            .key("mp")
            .upload_id(uid)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(
                        CompletedPart::builder()
                            .part_number(1)
                            .e_tag(part.e_tag().expect("ETag"))
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await,
        "CompleteMultipartUpload",
    );
    assert_eq!(tags_of(&c, "hdr", "mp", None).await.0, pairs(&[("via", "mpu")]));
}

#[tokio::test]
async fn tags_on_a_retained_version_change_nothing_else() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "ret").await;
    let body: &[u8] = b"retained, taggable";
    let until = in_secs(days(5));
    let v = ok(
        c.put_object()
            .bucket("ret")
            .key("k")
            .object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(until)
            .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
            .tagging("state=new")
            .body(ByteStream::from_static(body))
            .send()
            .await,
        "PUT retained",
    )
    .version_id()
    .expect("version id")
    .to_string();
    let before = ok(
        c.head_object().bucket("ret").key("k").version_id(&v).send().await,
        "HeadObject",
    );

    ok(
        c.put_object_tagging()
            .bucket("ret")
            .key("k")
            .version_id(&v)
            .tagging(tagging(&[("state", "reviewed")]))
            .send()
            .await,
        "PutObjectTagging on a retained version",
    );
    assert_eq!(
        tags_of(&c, "ret", "k", Some(&v)).await.0,
        pairs(&[("state", "reviewed")])
    );
    ok(
        c.delete_object_tagging()
            .bucket("ret")
            .key("k")
            .version_id(&v)
            .send()
            .await,
        "DeleteObjectTagging on a retained version",
    );
    assert!(tags_of(&c, "ret", "k", Some(&v)).await.0.is_empty());

    // Bytes, ETag, size, metadata, retention and legal hold are as before; no version was added.
    let after = ok(
        c.head_object().bucket("ret").key("k").version_id(&v).send().await,
        "HeadObject",
    );
    assert_eq!(after.e_tag(), Some(format!("\"{}\"", md5_hex(body)).as_str()));
    assert_eq!(after.e_tag(), before.e_tag());
    assert_eq!(after.content_length(), before.content_length());
    assert_eq!(after.last_modified(), before.last_modified());
    assert_eq!(after.object_lock_mode(), Some(&ObjectLockMode::Compliance));
    assert_eq!(
        after.object_lock_legal_hold_status(),
        Some(&ObjectLockLegalHoldStatus::On)
    );
    assert_eq!(retain_until(&c, "ret", "k", Some(&v)).await, until.secs());
    assert!(legal_hold_on(&c, "ret", "k", &v).await);
    let got = ok(
        c.get_object().bucket("ret").key("k").version_id(&v).send().await,
        "GetObject",
    );
    assert_eq!(body_bytes(got).await, body);
    assert_eq!(versions_of(&c, "ret", "k").await, (vec![v.clone()], vec![]));
    expect_err(
        c.delete_object().bucket("ret").key("k").version_id(&v).send().await,
        403,
        "AccessDenied",
    );
}

/// Eleven tags (AWS allows ten per object).
fn eleven() -> Vec<(String, String)> {
    (0..11).map(|i| (format!("k{i}"), format!("v{i}"))).collect()
}

#[tokio::test]
async fn more_than_ten_tags_is_bad_request() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "many").await;
    put(&c, "many", "k", b"x").await;
    let tags = eleven();
    let refs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    expect_err(
        c.put_object_tagging()
            .bucket("many")
            .key("k")
            .tagging(tagging(&refs))
            .send()
            .await,
        400,
        "BadRequest",
    );
}

#[tokio::test]
async fn more_than_ten_tags_in_the_tagging_header_is_bad_request() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "many").await;
    let header = eleven()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    expect_err(
        c.put_object()
            .bucket("many")
            .key("k")
            .tagging(header)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        400,
        "BadRequest",
    );
}

#[tokio::test]
async fn refused_tag_sets_change_nothing() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "bad").await;
    let v = ok(
        c.put_object()
            .bucket("bad")
            .key("k")
            .tagging("keep=me")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        "PUT",
    )
    .version_id()
    .expect("version id")
    .to_string();
    let long_key = "k".repeat(129);
    let long_value = "v".repeat(257);
    // AWS: InvalidTag for a key over 128 or a value over 256 characters and for a repeated key.
    for bad in [
        vec![(long_key.as_str(), "v")],
        vec![("key", long_value.as_str())],
        vec![("a", "1"), ("a", "2")],
    ] {
        expect_err(
            c.put_object_tagging()
                .bucket("bad")
                .key("k")
                .tagging(tagging(&bad))
                .send()
                .await,
            400,
            "InvalidTag",
        );
    }
    // The limits themselves are accepted.
    let max_key = "k".repeat(128);
    let max_value = "v".repeat(256);
    let ten: Vec<(String, String)> = (0..10).map(|i| (format!("k{i}"), format!("v{i}"))).collect();
    let mut ten: Vec<(&str, &str)> = ten.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    ten[9] = (max_key.as_str(), max_value.as_str());
    // Eleven tags are refused as well, and change nothing (the code AWS sends is asserted in
    // `more_than_ten_tags_is_bad_request` and `more_than_ten_tags_in_the_tagging_header_is_bad_request`).
    let tags = eleven();
    let refs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let e = c
        .put_object_tagging()
        .bucket("bad")
        .key("k")
        .tagging(tagging(&refs))
        .send()
        .await
        .expect_err("eleven tags accepted");
    assert_eq!(status_of(&e), Some(400));
    assert_eq!(
        tags_of(&c, "bad", "k", None).await,
        (pairs(&[("keep", "me")]), v.clone())
    );
    let header = tags
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let e = c
        .put_object()
        .bucket("bad")
        .key("k")
        .tagging(header)
        .body(ByteStream::from_static(b"eleven tags"))
        .send()
        .await
        .expect_err("a PUT with eleven tags accepted");
    assert_eq!(status_of(&e), Some(400));
    ok(
        c.put_object_tagging()
            .bucket("bad")
            .key("k")
            .tagging(tagging(&ten))
            .send()
            .await,
        "ten tags at the length limits",
    );
    assert_eq!(tags_of(&c, "bad", "k", None).await.0.len(), 10);
    assert_eq!(versions_of(&c, "bad", "k").await, (vec![v], vec![]));
}

#[tokio::test]
async fn tagging_a_delete_marker_or_a_missing_version() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "tag-dm").await;
    let v = put(&c, "tag-dm", "k", b"x").await;
    let marker = ok(c.delete_object().bucket("tag-dm").key("k").send().await, "DeleteObject");
    let marker = marker.version_id().expect("marker version id").to_string();

    // A delete marker named by its version id: 405 MethodNotAllowed, for reading and for writing.
    expect_err(
        c.put_object_tagging()
            .bucket("tag-dm")
            .key("k")
            .version_id(&marker)
            .tagging(tagging(&[("a", "b")]))
            .send()
            .await,
        405,
        "MethodNotAllowed",
    );
    expect_err(
        c.get_object_tagging()
            .bucket("tag-dm")
            .key("k")
            .version_id(&marker)
            .send()
            .await,
        405,
        "MethodNotAllowed",
    );
    expect_err(
        c.delete_object_tagging()
            .bucket("tag-dm")
            .key("k")
            .version_id(&marker)
            .send()
            .await,
        405,
        "MethodNotAllowed",
    );
    // The version behind the marker is still taggable by its id.
    ok(
        c.put_object_tagging()
            .bucket("tag-dm")
            .key("k")
            .version_id(&v)
            .tagging(tagging(&[("behind", "marker")]))
            .send()
            .await,
        "PutObjectTagging behind a marker",
    );
    assert_eq!(
        tags_of(&c, "tag-dm", "k", Some(&v)).await.0,
        pairs(&[("behind", "marker")])
    );

    // A key that never existed, and a version id of another key.
    expect_err(
        c.get_object_tagging().bucket("tag-dm").key("nope").send().await,
        404,
        "NoSuchKey",
    );
    expect_err(
        c.put_object_tagging()
            .bucket("tag-dm")
            .key("nope")
            .tagging(tagging(&[("a", "b")]))
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    put(&c, "tag-dm", "other", b"y").await;
    expect_err(
        c.put_object_tagging()
            .bucket("tag-dm")
            .key("other")
            .version_id(&v)
            .tagging(tagging(&[("a", "b")]))
            .send()
            .await,
        404,
        "NoSuchVersion",
    );
    assert_eq!(versions_of(&c, "tag-dm", "k").await, (vec![v], vec![marker]));
}
