//! Multipart uploads on the disk backend: create / upload parts / list / complete / abort,
//! `UploadPartCopy`, GET and HEAD `?partNumber=`, and the refused completions (AWS codes, nothing
//! created). A completed upload is one new version with its own retention, never touching older ones.

use crate::common::*;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ObjectLockLegalHoldStatus, ObjectLockMode};
use aws_sdk_s3::Client;

const MIB: usize = 1024 * 1024;
/// The smallest part that may be followed by another one.
const PART: usize = 5 * MIB;

/// `"` hex(MD5(concatenated binary MD5 of each part)) `-N"`: the AWS multipart `ETag`.
fn multipart_etag(parts: &[&[u8]]) -> String {
    use md5::Digest;
    let mut all = md5::Md5::new();
    for p in parts {
        all.update(md5::Md5::digest(p));
    }
    format!("\"{}-{}\"", hex::encode(all.finalize()), parts.len())
}

async fn create(c: &Client, bucket: &str, key: &str) -> String {
    let out = ok(
        c.create_multipart_upload().bucket(bucket).key(key).send().await,
        "CreateMultipartUpload",
    );
    assert_eq!(out.bucket(), Some(bucket));
    assert_eq!(out.key(), Some(key));
    out.upload_id().expect("upload id").to_string()
}

/// Upload one part; asserts its `ETag` is the quoted MD5 of the bytes.
async fn put_part(c: &Client, bucket: &str, key: &str, upload: &str, n: i32, data: &[u8]) -> CompletedPart {
    let out = ok(
        c.upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(upload)
            .part_number(n)
            .body(ByteStream::from(data.to_vec()))
            .send()
            .await,
        "UploadPart",
    );
    let etag = out.e_tag().expect("part ETag");
    assert_eq!(
        etag,
        format!("\"{}\"", md5_hex(data)),
        "part {n} ETag is the MD5 of its bytes"
    );
    CompletedPart::builder().part_number(n).e_tag(etag).build()
}

fn completion(parts: Vec<CompletedPart>) -> CompletedMultipartUpload {
    CompletedMultipartUpload::builder().set_parts(Some(parts)).build()
}

/// (part number, `ETag`, size) of every part `ListParts` shows.
async fn listed_parts(c: &Client, bucket: &str, key: &str, upload: &str) -> Vec<(i32, String, i64)> {
    let out = ok(
        c.list_parts().bucket(bucket).key(key).upload_id(upload).send().await,
        "ListParts",
    );
    out.parts()
        .iter()
        .map(|p| {
            (
                p.part_number().expect("part number"),
                p.e_tag().expect("ETag").to_string(),
                p.size().expect("size"),
            )
        })
        .collect()
}

/// (key, upload id) of every upload `ListMultipartUploads` shows.
async fn listed_uploads(c: &Client, bucket: &str) -> Vec<(String, String)> {
    let out = ok(
        c.list_multipart_uploads().bucket(bucket).send().await,
        "ListMultipartUploads",
    );
    out.uploads()
        .iter()
        .map(|u| {
            (
                u.key().unwrap_or_default().to_string(),
                u.upload_id().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Assert equal bytes without printing megabytes when they differ.
#[track_caller]
fn assert_bytes(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what}: got {} bytes, want {}; first difference at {at:?}",
            got.len(),
            want.len()
        );
    }
}

async fn get_all(c: &Client, bucket: &str, key: &str) -> Vec<u8> {
    body_bytes(ok(c.get_object().bucket(bucket).key(key).send().await, "GetObject")).await
}

#[tokio::test]
async fn round_trip_etag_part_numbers_and_retention() {
    let srv = Server::start();
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("mp-{}", if mode == Checksums::Default { "d" } else { "w" });
        make_bucket(&c, &b).await;
        let t0 = in_secs(0).secs();
        let p1 = pattern(PART, 1);
        let p2 = pattern(PART, 2);
        let p3 = pattern(1234, 3);
        let total = p1.len() + p2.len() + p3.len();
        let out = ok(
            c.create_multipart_upload()
                .bucket(&b)
                .key("dir/mp.bin")
                .content_type("application/x-test")
                .metadata("origin", "multipart")
                .send()
                .await,
            "CreateMultipartUpload",
        );
        let uid = out.upload_id().expect("upload id").to_string();
        assert_eq!(
            listed_uploads(&c, &b).await,
            vec![("dir/mp.bin".to_string(), uid.clone())]
        );
        let mut done = Vec::new();
        for (n, data) in [(1, &p1), (2, &p2), (3, &p3)] {
            done.push(put_part(&c, &b, "dir/mp.bin", &uid, n, data).await);
        }
        assert_eq!(
            listed_parts(&c, &b, "dir/mp.bin", &uid).await,
            vec![
                (1, format!("\"{}\"", md5_hex(&p1)), p1.len() as i64),
                (2, format!("\"{}\"", md5_hex(&p2)), p2.len() as i64),
                (3, format!("\"{}\"", md5_hex(&p3)), p3.len() as i64),
            ]
        );
        // Nothing is visible before completion.
        expect_err(c.head_object().bucket(&b).key("dir/mp.bin").send().await, 404, "");

        let fin = ok(
            c.complete_multipart_upload()
                .bucket(&b)
                .key("dir/mp.bin")
                .upload_id(&uid)
                .multipart_upload(completion(done))
                .send()
                .await,
            "CompleteMultipartUpload",
        );
        let etag = multipart_etag(&[&p1, &p2, &p3]);
        assert_eq!(fin.e_tag(), Some(etag.as_str()), "ETag is md5-of-md5s-N");
        assert_eq!(fin.bucket(), Some(b.as_str()));
        assert_eq!(fin.key(), Some("dir/mp.bin"));
        let vid = fin.version_id().expect("version id").to_string();
        assert!(!vid.is_empty() && vid != "null");

        // GET returns exactly the bytes, with the version, ETag and the upload's headers.
        let got = ok(c.get_object().bucket(&b).key("dir/mp.bin").send().await, "GetObject");
        assert_eq!(got.e_tag(), Some(etag.as_str()));
        assert_eq!(got.version_id(), Some(vid.as_str()));
        assert_eq!(got.content_length(), Some(total as i64));
        assert_eq!(got.content_type(), Some("application/x-test"));
        assert_eq!(
            got.metadata().and_then(|m| m.get("origin")).map(String::as_str),
            Some("multipart")
        );
        let whole = body_bytes(got).await;
        assert_bytes(&whole, &[p1.clone(), p2.clone(), p3.clone()].concat(), "GET");

        // ?partNumber= returns that part with its range and the part count.
        let got = ok(
            c.get_object().bucket(&b).key("dir/mp.bin").part_number(2).send().await,
            "GetObject partNumber=2",
        );
        assert_eq!(got.parts_count(), Some(3));
        assert_eq!(got.content_length(), Some(PART as i64));
        assert_eq!(
            got.content_range(),
            Some(format!("bytes {}-{}/{total}", PART, 2 * PART - 1).as_str())
        );
        assert_bytes(&body_bytes(got).await, &p2, "body");
        let got = ok(
            c.get_object().bucket(&b).key("dir/mp.bin").part_number(3).send().await,
            "GetObject partNumber=3",
        );
        assert_bytes(&body_bytes(got).await, &p3, "body");
        let head = ok(
            c.head_object().bucket(&b).key("dir/mp.bin").part_number(1).send().await,
            "HeadObject partNumber=1",
        );
        assert_eq!(head.parts_count(), Some(3));
        assert_eq!(head.content_length(), Some(PART as i64));
        // A range across a part boundary.
        let got = ok(
            c.get_object()
                .bucket(&b)
                .key("dir/mp.bin")
                .range(format!("bytes={}-{}", PART - 10, PART + 9))
                .send()
                .await,
            "ranged GetObject",
        );
        assert_bytes(&body_bytes(got).await, &whole[PART - 10..PART + 10], "body");

        // The listing shows the multipart ETag and the full size.
        let l = ok(c.list_objects_v2().bucket(&b).send().await, "ListObjectsV2");
        let o = &l.contents()[0];
        assert_eq!(
            (o.key(), o.e_tag(), o.size()),
            (Some("dir/mp.bin"), Some(etag.as_str()), Some(total as i64))
        );

        // The version is retained with at least the server's floor (1 day), like any other write.
        let until = retain_until(&c, &b, "dir/mp.bin", Some(&vid)).await;
        assert!(
            until >= t0 + days(1) && until < t0 + days(1) + 300,
            "floor of 1 day applied: {until} vs {}",
            t0 + days(1)
        );
        assert_eq!(versions_of(&c, &b, "dir/mp.bin").await.0, vec![vid.clone()]);
        expect_err(
            c.delete_object()
                .bucket(&b)
                .key("dir/mp.bin")
                .version_id(&vid)
                .send()
                .await,
            403,
            "AccessDenied",
        );

        // The upload is gone once completed.
        expect_err(
            c.list_parts().bucket(&b).key("dir/mp.bin").upload_id(&uid).send().await,
            404,
            "NoSuchUpload",
        );
        assert!(listed_uploads(&c, &b).await.is_empty());
        assert_bytes(&get_all(&c, &b, "dir/mp.bin").await, &whole, "body");
    }
}

#[tokio::test]
async fn a_reuploaded_part_replaces_the_first_and_unnamed_parts_are_left_out() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "mp-reup").await;
    let uid = create(&c, "mp-reup", "k").await;
    let first = pattern(1000, 10);
    let second = pattern(PART, 11);
    let unnamed = pattern(PART, 12);
    let last = pattern(777, 13);
    put_part(&c, "mp-reup", "k", &uid, 1, &first).await;
    let p1 = put_part(&c, "mp-reup", "k", &uid, 1, &second).await;
    put_part(&c, "mp-reup", "k", &uid, 2, &unnamed).await;
    let p3 = put_part(&c, "mp-reup", "k", &uid, 3, &last).await;
    assert_eq!(
        listed_parts(&c, "mp-reup", "k", &uid).await,
        vec![
            (1, format!("\"{}\"", md5_hex(&second)), PART as i64),
            (2, format!("\"{}\"", md5_hex(&unnamed)), PART as i64),
            (3, format!("\"{}\"", md5_hex(&last)), 777),
        ],
        "the second upload of part 1 replaced the first"
    );
    // The replaced part's ETag no longer completes.
    let stale = CompletedPart::builder()
        .part_number(1)
        .e_tag(format!("\"{}\"", md5_hex(&first)))
        .build();
    expect_err(
        c.complete_multipart_upload()
            .bucket("mp-reup")
            .key("k")
            .upload_id(&uid)
            .multipart_upload(completion(vec![stale, p3.clone()]))
            .send()
            .await,
        400,
        "InvalidPart",
    );
    // Completed with parts 1 and 3 only: part 2 is not in the object.
    let fin = ok(
        c.complete_multipart_upload()
            .bucket("mp-reup")
            .key("k")
            .upload_id(&uid)
            .multipart_upload(completion(vec![p1, p3]))
            .send()
            .await,
        "CompleteMultipartUpload",
    );
    assert_eq!(fin.e_tag(), Some(multipart_etag(&[&second, &last]).as_str()));
    assert_bytes(
        &get_all(&c, "mp-reup", "k").await,
        &[second.clone(), last.clone()].concat(),
        "body",
    );
    let got = ok(
        c.get_object().bucket("mp-reup").key("k").part_number(2).send().await,
        "GetObject partNumber=2",
    );
    assert_eq!(got.parts_count(), Some(2));
    assert_bytes(
        &body_bytes(got).await,
        &last,
        "part 2 of the object is the third uploaded part",
    );
    let head = ok(c.head_object().bucket("mp-reup").key("k").send().await, "HeadObject");
    assert_eq!(head.content_length(), Some((PART + 777) as i64));
}

#[tokio::test]
async fn abort_removes_the_upload_and_creates_nothing() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "mp-abort").await;
    let keep = create(&c, "mp-abort", "dir/keep").await;
    let uid = create(&c, "mp-abort", "dir/gone").await;
    put_part(&c, "mp-abort", "dir/gone", &uid, 1, &pattern(PART, 20)).await;
    put_part(&c, "mp-abort", "dir/gone", &uid, 2, &pattern(100, 21)).await;
    assert_eq!(
        listed_uploads(&c, "mp-abort").await,
        vec![
            ("dir/gone".to_string(), uid.clone()),
            ("dir/keep".to_string(), keep.clone())
        ]
    );
    ok(
        c.abort_multipart_upload()
            .bucket("mp-abort")
            .key("dir/gone")
            .upload_id(&uid)
            .send()
            .await,
        "AbortMultipartUpload",
    );
    expect_err(
        c.list_parts()
            .bucket("mp-abort")
            .key("dir/gone")
            .upload_id(&uid)
            .send()
            .await,
        404,
        "NoSuchUpload",
    );
    assert_eq!(
        listed_uploads(&c, "mp-abort").await,
        vec![("dir/keep".to_string(), keep.clone())]
    );
    expect_err(
        c.upload_part()
            .bucket("mp-abort")
            .key("dir/gone")
            .upload_id(&uid)
            .part_number(3)
            .body(ByteStream::from_static(b"late"))
            .send()
            .await,
        404,
        "NoSuchUpload",
    );
    expect_err(
        c.complete_multipart_upload()
            .bucket("mp-abort")
            .key("dir/gone")
            .upload_id(&uid)
            .multipart_upload(completion(vec![CompletedPart::builder()
                .part_number(1)
                .e_tag(format!("\"{}\"", md5_hex(&pattern(PART, 20))))
                .build()]))
            .send()
            .await,
        404,
        "NoSuchUpload",
    );
    expect_err(
        c.abort_multipart_upload()
            .bucket("mp-abort")
            .key("dir/gone")
            .upload_id(&uid)
            .send()
            .await,
        404,
        "NoSuchUpload",
    );
    expect_err(c.head_object().bucket("mp-abort").key("dir/gone").send().await, 404, "");
    assert_eq!(versions_of(&c, "mp-abort", "dir/gone").await, (vec![], vec![]));
    ok(
        c.abort_multipart_upload()
            .bucket("mp-abort")
            .key("dir/keep")
            .upload_id(&keep)
            .send()
            .await,
        "AbortMultipartUpload",
    );
    assert!(listed_uploads(&c, "mp-abort").await.is_empty());
    // Nothing is left: the bucket can be deleted.
    ok(c.delete_bucket().bucket("mp-abort").send().await, "DeleteBucket");
}

#[tokio::test]
async fn refused_completions_create_nothing_and_keep_the_upload() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "mp-refused").await;

    // A part below 5 MiB that is not the last one.
    let uid = create(&c, "mp-refused", "small").await;
    let a = put_part(&c, "mp-refused", "small", &uid, 1, &pattern(1024, 30)).await;
    let b = put_part(&c, "mp-refused", "small", &uid, 2, &pattern(1024, 31)).await;
    expect_err(
        c.complete_multipart_upload()
            .bucket("mp-refused")
            .key("small")
            .upload_id(&uid)
            .multipart_upload(completion(vec![a, b]))
            .send()
            .await,
        400,
        "EntityTooSmall",
    );
    expect_err(c.head_object().bucket("mp-refused").key("small").send().await, 404, "");
    assert_eq!(
        listed_parts(&c, "mp-refused", "small", &uid).await.len(),
        2,
        "the upload survives"
    );

    // A wrong ETag, and a part that was never uploaded.
    let p1 = pattern(PART, 32);
    let p2 = pattern(10, 33);
    let uid = create(&c, "mp-refused", "k").await;
    let a = put_part(&c, "mp-refused", "k", &uid, 1, &p1).await;
    let b = put_part(&c, "mp-refused", "k", &uid, 2, &p2).await;
    let wrong = CompletedPart::builder()
        .part_number(2)
        .e_tag("\"00000000000000000000000000000000\"")
        .build();
    expect_err(
        c.complete_multipart_upload()
            .bucket("mp-refused")
            .key("k")
            .upload_id(&uid)
            .multipart_upload(completion(vec![a.clone(), wrong]))
            .send()
            .await,
        400,
        "InvalidPart",
    );
    let unknown = CompletedPart::builder()
        .part_number(3)
        .e_tag(b.e_tag().unwrap_or_default())
        .build();
    expect_err(
        c.complete_multipart_upload()
            .bucket("mp-refused")
            .key("k")
            .upload_id(&uid)
            .multipart_upload(completion(vec![a.clone(), b.clone(), unknown]))
            .send()
            .await,
        400,
        "InvalidPart",
    );
    // Out of order (both parts large enough: only the order is wrong).
    let uid2 = create(&c, "mp-refused", "order").await;
    let o1 = put_part(&c, "mp-refused", "order", &uid2, 1, &pattern(PART, 34)).await;
    let o2 = put_part(&c, "mp-refused", "order", &uid2, 2, &pattern(PART, 35)).await;
    expect_err(
        c.complete_multipart_upload()
            .bucket("mp-refused")
            .key("order")
            .upload_id(&uid2)
            .multipart_upload(completion(vec![o2.clone(), o1.clone()]))
            .send()
            .await,
        400,
        "InvalidPartOrder",
    );
    // No parts at all.
    expect_err(
        c.complete_multipart_upload()
            .bucket("mp-refused")
            .key("order")
            .upload_id(&uid2)
            .multipart_upload(completion(vec![]))
            .send()
            .await,
        400,
        "MalformedXML",
    );
    for key in ["k", "order"] {
        expect_err(c.head_object().bucket("mp-refused").key(key).send().await, 404, "");
        assert_eq!(versions_of(&c, "mp-refused", key).await, (vec![], vec![]), "{key}");
    }

    // Both uploads can still be completed properly.
    ok(
        c.complete_multipart_upload()
            .bucket("mp-refused")
            .key("k")
            .upload_id(&uid)
            .multipart_upload(completion(vec![a, b]))
            .send()
            .await,
        "complete after refusals",
    );
    assert_bytes(&get_all(&c, "mp-refused", "k").await, &[p1, p2].concat(), "body");
    ok(
        c.complete_multipart_upload()
            .bucket("mp-refused")
            .key("order")
            .upload_id(&uid2)
            .multipart_upload(completion(vec![o1, o2]))
            .send()
            .await,
        "complete in order",
    );
    assert_bytes(
        &get_all(&c, "mp-refused", "order").await,
        &[pattern(PART, 34), pattern(PART, 35)].concat(),
        "body",
    );
}

#[tokio::test]
async fn list_parts_pages() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "mp-list").await;
    let uid = create(&c, "mp-list", "k").await;
    for (n, len) in [(1, 10), (2, 20), (3, 30)] {
        put_part(&c, "mp-list", "k", &uid, n, &pattern(len, n as u64)).await;
    }
    let page = ok(
        c.list_parts()
            .bucket("mp-list")
            .key("k")
            .upload_id(&uid)
            .max_parts(2)
            .send()
            .await,
        "ListParts max-parts=2",
    );
    let nums: Vec<i32> = page
        .parts()
        .iter()
        .filter_map(aws_sdk_s3::types::Part::part_number)
        .collect();
    assert_eq!(nums, vec![1, 2]);
    assert_eq!(page.is_truncated(), Some(true));
    assert_eq!(page.next_part_number_marker(), Some("2"));
    assert_eq!(page.upload_id(), Some(uid.as_str()));
    let rest = ok(
        c.list_parts()
            .bucket("mp-list")
            .key("k")
            .upload_id(&uid)
            .part_number_marker("2")
            .send()
            .await,
        "ListParts marker=2",
    );
    let nums: Vec<(i32, i64)> = rest
        .parts()
        .iter()
        .map(|p| (p.part_number().unwrap_or(0), p.size().unwrap_or(0)))
        .collect();
    assert_eq!(nums, vec![(3, 30)]);
    assert_eq!(rest.is_truncated(), Some(false));
}

#[tokio::test]
async fn upload_part_copy_with_ranges_and_from_an_old_version() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "mp-copy").await;
    let src = pattern(6 * MIB + 100, 40);
    let put = ok(
        c.put_object()
            .bucket("mp-copy")
            .key("src")
            .body(ByteStream::from(src.clone()))
            .send()
            .await,
        "PUT source",
    );
    let src_vid = put.version_id().expect("version id").to_string();
    let uid = create(&c, "mp-copy", "dst").await;
    let head = pattern(PART, 41);
    let mut done = vec![put_part(&c, "mp-copy", "dst", &uid, 1, &head).await];
    for (n, (a, b)) in [(2, (0, PART - 1)), (3, (PART, src.len() - 1))] {
        let r = ok(
            c.upload_part_copy()
                .bucket("mp-copy")
                .key("dst")
                .upload_id(&uid)
                .part_number(n)
                .copy_source("mp-copy/src")
                .copy_source_range(format!("bytes={a}-{b}"))
                .send()
                .await,
            "UploadPartCopy",
        );
        assert_eq!(r.copy_source_version_id(), Some(src_vid.as_str()));
        let res = r.copy_part_result().expect("CopyPartResult");
        let etag = res.e_tag().expect("ETag").to_string();
        assert_eq!(etag, format!("\"{}\"", md5_hex(&src[a..=b])), "part {n} ETag");
        assert!(res.last_modified().is_some());
        done.push(CompletedPart::builder().part_number(n).e_tag(etag).build());
    }
    let sizes: Vec<i64> = listed_parts(&c, "mp-copy", "dst", &uid)
        .await
        .iter()
        .map(|p| p.2)
        .collect();
    assert_eq!(sizes, vec![PART as i64, PART as i64, (src.len() - PART) as i64]);
    let fin = ok(
        c.complete_multipart_upload()
            .bucket("mp-copy")
            .key("dst")
            .upload_id(&uid)
            .multipart_upload(completion(done))
            .send()
            .await,
        "CompleteMultipartUpload",
    );
    assert_eq!(
        fin.e_tag(),
        Some(multipart_etag(&[&head, &src[..PART], &src[PART..]]).as_str())
    );
    assert_bytes(
        &get_all(&c, "mp-copy", "dst").await,
        &[head.clone(), src.clone()].concat(),
        "body",
    );

    // From an older version of the source, named by its version id.
    ok(
        c.put_object()
            .bucket("mp-copy")
            .key("src")
            .body(ByteStream::from_static(b"newer"))
            .send()
            .await,
        "PUT newer source",
    );
    let uid = create(&c, "mp-copy", "old").await;
    let r = ok(
        c.upload_part_copy()
            .bucket("mp-copy")
            .key("old")
            .upload_id(&uid)
            .part_number(1)
            .copy_source(format!("mp-copy/src?versionId={src_vid}"))
            .copy_source_range("bytes=100-199")
            .send()
            .await,
        "UploadPartCopy of an old version",
    );
    assert_eq!(r.copy_source_version_id(), Some(src_vid.as_str()));
    let etag = r.copy_part_result().and_then(|p| p.e_tag()).expect("ETag").to_string();
    ok(
        c.complete_multipart_upload()
            .bucket("mp-copy")
            .key("old")
            .upload_id(&uid)
            .multipart_upload(completion(vec![CompletedPart::builder()
                .part_number(1)
                .e_tag(etag)
                .build()]))
            .send()
            .await,
        "CompleteMultipartUpload",
    );
    assert_bytes(&get_all(&c, "mp-copy", "old").await, &src[100..200], "body");
    // The source is untouched.
    let got = ok(
        c.get_object()
            .bucket("mp-copy")
            .key("src")
            .version_id(&src_vid)
            .send()
            .await,
        "GET source version",
    );
    assert_bytes(&body_bytes(got).await, &src, "body");
}

#[tokio::test]
async fn upload_part_copy_from_a_delete_marker() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "mp-dm").await;
    ok(
        c.put_object()
            .bucket("mp-dm")
            .key("src")
            .body(ByteStream::from_static(b"deleted later"))
            .send()
            .await,
        "PUT source",
    );
    let marker = ok(
        c.delete_object().bucket("mp-dm").key("src").send().await,
        "DeleteObject",
    );
    let marker = marker.version_id().expect("marker version id").to_string();
    let uid = create(&c, "mp-dm", "dst").await;
    // The current version is a delete marker: as for GET, no such key.
    expect_err(
        c.upload_part_copy()
            .bucket("mp-dm")
            .key("dst")
            .upload_id(&uid)
            .part_number(1)
            .copy_source("mp-dm/src")
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    // The marker named by its version id: AWS answers 400 InvalidRequest.
    expect_err(
        c.upload_part_copy()
            .bucket("mp-dm")
            .key("dst")
            .upload_id(&uid)
            .part_number(1)
            .copy_source(format!("mp-dm/src?versionId={marker}"))
            .send()
            .await,
        400,
        "InvalidRequest",
    );
    assert!(listed_parts(&c, "mp-dm", "dst", &uid).await.is_empty());
}

#[tokio::test]
async fn lock_headers_on_create_bind_to_the_completed_version() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "mp-lock").await;
    let until = in_secs(days(10));
    let out = ok(
        c.create_multipart_upload()
            .bucket("mp-lock")
            .key("k")
            .object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(until)
            .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
            .send()
            .await,
        "CreateMultipartUpload with lock headers",
    );
    let uid = out.upload_id().expect("upload id").to_string();
    let part = put_part(&c, "mp-lock", "k", &uid, 1, &pattern(4096, 50)).await;
    let fin = ok(
        c.complete_multipart_upload()
            .bucket("mp-lock")
            .key("k")
            .upload_id(&uid)
            .multipart_upload(completion(vec![part]))
            .send()
            .await,
        "CompleteMultipartUpload",
    );
    let vid = fin.version_id().expect("version id").to_string();
    assert_eq!(retain_until(&c, "mp-lock", "k", Some(&vid)).await, until.secs());
    assert!(legal_hold_on(&c, "mp-lock", "k", &vid).await);
    let head = ok(c.head_object().bucket("mp-lock").key("k").send().await, "HeadObject");
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
    assert_eq!(
        head.object_lock_retain_until_date()
            .map(aws_sdk_s3::primitives::DateTime::secs),
        Some(until.secs())
    );
    assert_eq!(
        head.object_lock_legal_hold_status(),
        Some(&ObjectLockLegalHoldStatus::On)
    );
    expect_err(
        c.delete_object()
            .bucket("mp-lock")
            .key("k")
            .version_id(&vid)
            .send()
            .await,
        403,
        "AccessDenied",
    );
}

#[tokio::test]
async fn completion_onto_a_retained_key_makes_a_new_version() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "mp-over").await;
    let old = pattern(3000, 60);
    let until = in_secs(days(5));
    let put = ok(
        c.put_object()
            .bucket("mp-over")
            .key("k")
            .object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(until)
            .body(ByteStream::from(old.clone()))
            .send()
            .await,
        "PUT retained",
    );
    let v1 = put.version_id().expect("version id").to_string();
    let uid = create(&c, "mp-over", "k").await;
    let new = pattern(2000, 61);
    let part = put_part(&c, "mp-over", "k", &uid, 1, &new).await;
    let fin = ok(
        c.complete_multipart_upload()
            .bucket("mp-over")
            .key("k")
            .upload_id(&uid)
            .multipart_upload(completion(vec![part]))
            .send()
            .await,
        "CompleteMultipartUpload",
    );
    let v2 = fin.version_id().expect("version id").to_string();
    assert_ne!(v1, v2);
    assert_bytes(&get_all(&c, "mp-over", "k").await, &new, "body");
    let got = ok(
        c.get_object().bucket("mp-over").key("k").version_id(&v1).send().await,
        "GET retained version",
    );
    assert_eq!(got.e_tag(), Some(format!("\"{}\"", md5_hex(&old)).as_str()));
    assert_bytes(&body_bytes(got).await, &old, "body");
    assert_eq!(retain_until(&c, "mp-over", "k", Some(&v1)).await, until.secs());
    assert_eq!(versions_of(&c, "mp-over", "k").await.0, vec![v2, v1]);
}
