//! Object operations: `PutObject`, `GetObject`, `HeadObject`, `DeleteObject`, `DeleteObjects` — each in both
//! SDK checksum modes where a body is sent.

use crate::common::*;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, Delete, ObjectIdentifier, ObjectLockLegalHoldStatus, ObjectLockMode,
};
use std::fmt::Write as _;
use std::io::Write;

fn tag(mode: Checksums) -> &'static str {
    match mode {
        Checksums::Default => "d",
        Checksums::WhenRequired => "w",
    }
}

#[tokio::test]
async fn put_get_round_trip_with_metadata_and_content_headers() {
    let srv = Server::start();
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("rt-{}", tag(mode));
        make_bucket(&c, &b).await;
        let data = pattern(100_000, 1);
        let expires = DateTime::from_secs(1_900_000_000);
        let put = ok(
            c.put_object()
                .bucket(&b)
                .key("dir/file.bin")
                .body(data.clone().into())
                .content_type("application/x-test")
                .content_encoding("identity")
                .content_disposition("attachment; filename=\"file.bin\"")
                .content_language("de-CH")
                .cache_control("max-age=60")
                .expires(expires)
                .metadata("color", "blue")
                .metadata("owner-name", "Alice Example")
                .send()
                .await,
            "PutObject",
        );
        let etag = put.e_tag().expect("etag");
        assert_eq!(etag, format!("\"{}\"", md5_hex(&data)), "ETag is the MD5 hex, quoted");
        let vid = put.version_id().expect("version id").to_string();
        assert!(!vid.is_empty() && vid != "null");

        let got = ok(c.get_object().bucket(&b).key("dir/file.bin").send().await, "GetObject");
        assert_eq!(got.e_tag(), Some(etag));
        assert_eq!(got.version_id(), Some(vid.as_str()));
        assert_eq!(got.content_length(), Some(data.len() as i64));
        assert_eq!(got.content_type(), Some("application/x-test"));
        assert_eq!(got.content_encoding(), Some("identity"));
        assert_eq!(got.content_disposition(), Some("attachment; filename=\"file.bin\""));
        assert_eq!(got.content_language(), Some("de-CH"));
        assert_eq!(got.cache_control(), Some("max-age=60"));
        #[allow(deprecated)]
        let exp = got.expires().map(aws_sdk_s3::primitives::DateTime::secs);
        let exp_str = got.expires_string().map(str::to_string);
        assert!(
            exp == Some(1_900_000_000) || exp_str.as_deref().is_some_and(|s| s.contains("2030")),
            "Expires round trip: {exp:?} {exp_str:?}"
        );
        let meta = got.metadata().expect("metadata");
        assert_eq!(meta.get("color").map(String::as_str), Some("blue"));
        assert_eq!(meta.get("owner-name").map(String::as_str), Some("Alice Example"));
        assert!(got.last_modified().is_some());
        assert_eq!(
            got.object_lock_mode(),
            Some(&ObjectLockMode::Compliance),
            "every version is locked"
        );
        assert!(got.object_lock_retain_until_date().is_some());
        assert_eq!(
            got.object_lock_legal_hold_status(),
            Some(&ObjectLockLegalHoldStatus::Off)
        );
        assert_eq!(body_bytes(got).await, data);

        let head = ok(
            c.head_object().bucket(&b).key("dir/file.bin").send().await,
            "HeadObject",
        );
        assert_eq!(head.e_tag(), Some(etag));
        assert_eq!(head.content_length(), Some(data.len() as i64));
        assert_eq!(head.content_type(), Some("application/x-test"));
        assert_eq!(head.cache_control(), Some("max-age=60"));
        assert_eq!(head.version_id(), Some(vid.as_str()));
        assert_eq!(
            head.metadata().and_then(|m| m.get("color")).map(String::as_str),
            Some("blue")
        );
        assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
        assert_eq!(head.accept_ranges(), Some("bytes"));

        // Empty object.
        let put = ok(
            c.put_object()
                .bucket(&b)
                .key("empty")
                .body(Vec::new().into())
                .send()
                .await,
            "PutObject empty",
        );
        assert_eq!(put.e_tag(), Some("\"d41d8cd98f00b204e9800998ecf8427e\""));
        let got = ok(c.get_object().bucket(&b).key("empty").send().await, "GetObject empty");
        assert_eq!(got.content_length(), Some(0));
        assert!(body_bytes(got).await.is_empty());
        // Default content type.
        let head = ok(c.head_object().bucket(&b).key("empty").send().await, "HeadObject empty");
        assert!(head.content_type().is_some());
    }
}

#[tokio::test]
async fn keys_with_special_characters() {
    let srv = Server::start();
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("keys-{}", tag(mode));
        make_bucket(&c, &b).await;
        let keys = [
            "a b c.txt",
            "plus+sign",
            "unicodé/日本語/ファイル",
            "percent%20literal",
            "question?mark",
            "hash#tag",
            "amp&er=sand",
            "trailing/",
            "double//slash",
            "tilde~and'quote",
            "semi;colon,comma",
            "/leading-slash",
            "./dot",
            "../dotdot",
            "a/./b",
            "a/../b",
            "caf\u{e9}",
            "cafe\u{301}",
            "key with\ttab",
        ];
        for (i, k) in keys.iter().enumerate() {
            let data = format!("body of {k} #{i}").into_bytes();
            ok(
                c.put_object().bucket(&b).key(*k).body(data.clone().into()).send().await,
                &format!("PutObject {k}"),
            );
            let got = ok(
                c.get_object().bucket(&b).key(*k).send().await,
                &format!("GetObject {k}"),
            );
            assert_eq!(body_bytes(got).await, data, "{k}");
        }
        let listed: Vec<String> = ok(c.list_objects_v2().bucket(&b).send().await, "ListObjectsV2")
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        let mut expected: Vec<String> = keys.iter().map(std::string::ToString::to_string).collect();
        expected.sort();
        assert_eq!(listed, expected);
    }
}

#[tokio::test]
async fn etag_is_md5_for_various_sizes() {
    let srv = Server::start();
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("sizes-{}", tag(mode));
        make_bucket(&c, &b).await;
        for (i, size) in [1usize, 1000, 65_536, 1 << 20, 3 * (1 << 20) + 17]
            .into_iter()
            .enumerate()
        {
            let data = pattern(size, i as u64 + 10);
            let put = ok(
                c.put_object()
                    .bucket(&b)
                    .key(format!("obj-{size}"))
                    .body(data.clone().into())
                    .send()
                    .await,
                "PutObject",
            );
            assert_eq!(
                put.e_tag().map(str::to_string),
                Some(format!("\"{}\"", md5_hex(&data))),
                "size {size}"
            );
            let got = ok(
                c.get_object().bucket(&b).key(format!("obj-{size}")).send().await,
                "GetObject",
            );
            assert_eq!(sha256_hex(&body_bytes(got).await), sha256_hex(&data), "size {size}");
        }
    }
}

/// Records the `x-amz-content-sha256` / `content-encoding` each request went out with.
#[derive(Debug, Clone, Default)]
struct WireRecorder(std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>);

impl aws_sdk_s3::config::Intercept for WireRecorder {
    fn name(&self) -> &'static str {
        "WireRecorder"
    }
    fn read_before_transmit(
        &self,
        context: &aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _rc: &aws_sdk_s3::config::RuntimeComponents,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        let h = context.request().headers();
        self.0.lock().unwrap().push((
            h.get("x-amz-content-sha256").unwrap_or("").to_string(),
            h.get("content-encoding").unwrap_or("").to_string(),
        ));
        Ok(())
    }
}

#[tokio::test]
async fn streaming_upload_from_file_uses_aws_chunked() {
    let srv = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upload.bin");
    let data = pattern(9 * 1024 * 1024 + 123, 77);
    std::fs::File::create(&path).unwrap().write_all(&data).unwrap();
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("stream-{}", tag(mode));
        make_bucket(&c, &b).await;
        let rec = WireRecorder::default();
        let body = ByteStream::from_path(&path).await.expect("ByteStream::from_path");
        let put = ok(
            c.put_object()
                .bucket(&b)
                .key("streamed")
                .body(body)
                .customize()
                .config_override(aws_sdk_s3::Config::builder().interceptor(rec.clone()))
                .send()
                .await,
            "streamed PutObject",
        );
        let seen = rec.0.lock().unwrap().clone();
        eprintln!("{mode:?}: streamed PUT went out as {seen:?}");
        if mode == Checksums::Default {
            // Over plain HTTP the SDK signs every chunk and sends the checksum in a signed trailer.
            let (sha, enc) = &seen[0];
            assert!(
                sha.starts_with("STREAMING-"),
                "expected an aws-chunked payload, got {sha}"
            );
            assert!(enc.contains("aws-chunked"), "content-encoding {enc}");
            assert!(put.checksum_crc32().is_some(), "CRC32 echoed");
        }
        assert_eq!(put.e_tag().map(str::to_string), Some(format!("\"{}\"", md5_hex(&data))));
        let got = ok(c.get_object().bucket(&b).key("streamed").send().await, "GetObject");
        assert_eq!(got.content_length(), Some(data.len() as i64));
        // aws-chunked must not leak into the stored Content-Encoding.
        assert!(
            got.content_encoding().is_none_or(|e| !e.contains("aws-chunked")),
            "{:?}",
            got.content_encoding()
        );
        assert_eq!(sha256_hex(&body_bytes(got).await), sha256_hex(&data));
        // Streamed with an explicit algorithm too.
        for alg in [
            ChecksumAlgorithm::Crc32C,
            ChecksumAlgorithm::Sha256,
            ChecksumAlgorithm::Crc64Nvme,
        ] {
            let body = ByteStream::from_path(&path).await.unwrap();
            let key = format!("streamed-{}", alg.as_str());
            ok(
                c.put_object()
                    .bucket(&b)
                    .key(&key)
                    .body(body)
                    .checksum_algorithm(alg.clone())
                    .send()
                    .await,
                &format!("streamed PutObject {alg:?}"),
            );
            let got = ok(
                c.get_object()
                    .bucket(&b)
                    .key(&key)
                    .checksum_mode(ChecksumMode::Enabled)
                    .send()
                    .await,
                "GetObject",
            );
            assert_eq!(sha256_hex(&body_bytes(got).await), sha256_hex(&data), "{alg:?}");
        }
    }
}

#[tokio::test]
async fn checksums_are_verified_stored_and_returned() {
    let srv = Server::start();
    let data = pattern(200_000, 5);
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("cks-{}", tag(mode));
        make_bucket(&c, &b).await;
        for alg in [
            ChecksumAlgorithm::Crc32,
            ChecksumAlgorithm::Crc32C,
            ChecksumAlgorithm::Crc64Nvme,
            ChecksumAlgorithm::Sha1,
            ChecksumAlgorithm::Sha256,
        ] {
            let key = format!("k-{}", alg.as_str());
            let expected = checksum_b64(&alg, &data);
            let req = c.put_object().bucket(&b).key(&key).body(data.clone().into());
            // The SDK computes the checksum itself in default mode; with WhenRequired it only sends
            // the algorithm name, so the value is supplied explicitly.
            let req = match (mode, &alg) {
                (Checksums::Default, _) => req.checksum_algorithm(alg.clone()),
                (_, ChecksumAlgorithm::Crc32) => req.checksum_crc32(&expected),
                (_, ChecksumAlgorithm::Crc32C) => req.checksum_crc32_c(&expected),
                (_, ChecksumAlgorithm::Crc64Nvme) => req.checksum_crc64_nvme(&expected),
                (_, ChecksumAlgorithm::Sha1) => req.checksum_sha1(&expected),
                (_, _) => req.checksum_sha256(&expected),
            };
            let put = ok(req.send().await, &format!("PutObject {alg:?}"));
            let sent = match alg {
                ChecksumAlgorithm::Crc32 => put.checksum_crc32(),
                ChecksumAlgorithm::Crc32C => put.checksum_crc32_c(),
                ChecksumAlgorithm::Crc64Nvme => put.checksum_crc64_nvme(),
                ChecksumAlgorithm::Sha1 => put.checksum_sha1(),
                ChecksumAlgorithm::Sha256 => put.checksum_sha256(),
                _ => None,
            }
            .map(str::to_string);
            assert_eq!(
                sent.as_deref(),
                Some(expected.as_str()),
                "{alg:?}: PUT response carries the checksum"
            );
            let got = ok(
                c.get_object()
                    .bucket(&b)
                    .key(&key)
                    .checksum_mode(ChecksumMode::Enabled)
                    .send()
                    .await,
                "GetObject",
            );
            let back = match alg {
                ChecksumAlgorithm::Crc32 => got.checksum_crc32(),
                ChecksumAlgorithm::Crc32C => got.checksum_crc32_c(),
                ChecksumAlgorithm::Crc64Nvme => got.checksum_crc64_nvme(),
                ChecksumAlgorithm::Sha1 => got.checksum_sha1(),
                ChecksumAlgorithm::Sha256 => got.checksum_sha256(),
                _ => None,
            }
            .map(str::to_string);
            assert_eq!(
                back, sent,
                "{alg:?}: stored checksum returned with x-amz-checksum-mode: ENABLED"
            );
            assert_eq!(body_bytes(got).await, data);
            let head = ok(
                c.head_object()
                    .bucket(&b)
                    .key(&key)
                    .checksum_mode(ChecksumMode::Enabled)
                    .send()
                    .await,
                "HeadObject",
            );
            let hb = match alg {
                ChecksumAlgorithm::Crc32 => head.checksum_crc32(),
                ChecksumAlgorithm::Crc32C => head.checksum_crc32_c(),
                ChecksumAlgorithm::Crc64Nvme => head.checksum_crc64_nvme(),
                ChecksumAlgorithm::Sha1 => head.checksum_sha1(),
                ChecksumAlgorithm::Sha256 => head.checksum_sha256(),
                _ => None,
            }
            .map(str::to_string);
            assert_eq!(hb, sent, "{alg:?}: HEAD returns the checksum");
        }
        // With no client checksum the gateway stores CRC64NVME (as AWS does) and returns it.
        let put = ok(
            c.put_object()
                .bucket(&b)
                .key("plain")
                .body(data.clone().into())
                .content_md5(b64_md5(&data))
                .send()
                .await,
            "PutObject with Content-MD5",
        );
        assert_eq!(put.e_tag().map(str::to_string), Some(format!("\"{}\"", md5_hex(&data))));
        let got = ok(
            c.get_object()
                .bucket(&b)
                .key("plain")
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await,
            "GetObject",
        );
        let any = got
            .checksum_crc32()
            .or(got.checksum_crc64_nvme())
            .or(got.checksum_crc32_c());
        assert!(any.is_some(), "some full-object checksum is returned in checksum mode");
        assert_eq!(body_bytes(got).await, data);
    }
}

fn checksum_b64(alg: &ChecksumAlgorithm, data: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    let raw: Vec<u8> = match alg {
        ChecksumAlgorithm::Crc32 => crc32fast::hash(data).to_be_bytes().to_vec(),
        ChecksumAlgorithm::Crc32C => crc32c::crc32c(data).to_be_bytes().to_vec(),
        ChecksumAlgorithm::Crc64Nvme => {
            let mut d = crc64fast_nvme::Digest::new();
            d.write(data);
            d.sum64().to_be_bytes().to_vec()
        }
        ChecksumAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
        _ => sha2::Sha256::digest(data).to_vec(),
    };
    base64::engine::general_purpose::STANDARD.encode(raw)
}

fn b64_md5(data: &[u8]) -> String {
    use base64::Engine;
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(data))
}

#[tokio::test]
async fn bad_digests_are_refused_and_store_nothing() {
    let srv = Server::start();
    let data = pattern(50_000, 9);
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("bad-{}", tag(mode));
        make_bucket(&c, &b).await;
        // Content-MD5 of other bytes.
        expect_err(
            c.put_object()
                .bucket(&b)
                .key("k")
                .body(data.clone().into())
                .content_md5(b64_md5(b"other"))
                .send()
                .await,
            400,
            "BadDigest",
        );
        // Content-MD5 that is not an MD5 at all.
        expect_err(
            c.put_object()
                .bucket(&b)
                .key("k")
                .body(data.clone().into())
                .content_md5("not-base64!")
                .send()
                .await,
            400,
            "InvalidDigest",
        );
        // A precomputed checksum header that does not match the body.
        let wrong_crc = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(b"other").to_be_bytes())
        };
        expect_err(
            c.put_object()
                .bucket(&b)
                .key("k")
                .body(data.clone().into())
                .checksum_crc32(wrong_crc)
                .send()
                .await,
            400,
            "BadDigest",
        );
        let wrong_sha = {
            use base64::Engine;
            use sha2::Digest;
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(b"other"))
        };
        expect_err(
            c.put_object()
                .bucket(&b)
                .key("k")
                .body(data.clone().into())
                .checksum_sha256(wrong_sha)
                .send()
                .await,
            400,
            "BadDigest",
        );
        let v = ok(c.list_object_versions().bucket(&b).send().await, "ListObjectVersions");
        assert!(
            v.versions().is_empty() && v.delete_markers().is_empty(),
            "refused PUTs created versions: {v:?}"
        );
    }
    // Nothing left in tmp/ either.
    let tmp: Vec<_> = std::fs::read_dir(srv.data_dir.join("tmp"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(tmp.is_empty(), "tmp/ holds leftovers: {tmp:?}");
}

#[tokio::test]
async fn wrong_signed_payload_hash_is_refused() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "sha").await;
    let body = b"the real body".to_vec();
    let claimed = sha256_hex(b"a different body");
    let r = signed_raw(srv.addr, ADMIN, "PUT", "/sha/k", &[], &claimed, &body);
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.code().as_deref(), Some("XAmzContentSHA256Mismatch"), "{}", r.text());
    assert!(r.header("x-amz-request-id").is_some());
    // The correct hash is accepted through the same path.
    let r = signed_raw(srv.addr, ADMIN, "PUT", "/sha/k", &[], &sha256_hex(&body), &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = ok(
        c.list_object_versions().bucket("sha").send().await,
        "ListObjectVersions",
    );
    assert_eq!(v.versions().len(), 1, "only the verified PUT became a version");
}

#[tokio::test]
async fn if_none_match_star_creates_only_once() {
    let srv = Server::start();
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("inm-{}", tag(mode));
        make_bucket(&c, &b).await;
        ok(
            c.put_object()
                .bucket(&b)
                .key("once")
                .if_none_match("*")
                .body(b"first".to_vec().into())
                .send()
                .await,
            "first",
        );
        expect_err(
            c.put_object()
                .bucket(&b)
                .key("once")
                .if_none_match("*")
                .body(b"second".to_vec().into())
                .send()
                .await,
            412,
            "PreconditionFailed",
        );
        let v = ok(
            c.list_object_versions().bucket(&b).prefix("once").send().await,
            "ListObjectVersions",
        );
        assert_eq!(v.versions().len(), 1);
        let got = ok(c.get_object().bucket(&b).key("once").send().await, "GetObject");
        assert_eq!(body_bytes(got).await, b"first");
        // After a delete marker the key counts as absent again.
        ok(c.delete_object().bucket(&b).key("once").send().await, "DeleteObject");
        ok(
            c.put_object()
                .bucket(&b)
                .key("once")
                .if_none_match("*")
                .body(b"third".to_vec().into())
                .send()
                .await,
            "after delete marker",
        );
        // If-Match on PUT: current ETag must match.
        let cur = format!("\"{}\"", md5_hex(b"third"));
        ok(
            c.put_object()
                .bucket(&b)
                .key("once")
                .if_match(&cur)
                .body(b"fourth".to_vec().into())
                .send()
                .await,
            "If-Match ok",
        );
        expect_err(
            c.put_object()
                .bucket(&b)
                .key("once")
                .if_match(&cur)
                .body(b"fifth".to_vec().into())
                .send()
                .await,
            412,
            "PreconditionFailed",
        );
    }
}

#[tokio::test]
async fn lock_headers_on_put() {
    let srv = Server::start();
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("lockhdr-{}", tag(mode));
        make_bucket(&c, &b).await;
        let until = in_secs(days(5));
        let put = ok(
            c.put_object()
                .bucket(&b)
                .key("locked")
                .body(b"x".to_vec().into())
                .object_lock_mode(ObjectLockMode::Compliance)
                .object_lock_retain_until_date(until)
                .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
                .send()
                .await,
            "PutObject with lock headers",
        );
        let vid = put.version_id().unwrap().to_string();
        let h = ok(c.head_object().bucket(&b).key("locked").send().await, "HeadObject");
        assert_eq!(h.object_lock_mode(), Some(&ObjectLockMode::Compliance));
        assert_eq!(
            h.object_lock_retain_until_date()
                .map(aws_sdk_s3::primitives::DateTime::secs),
            Some(until.secs())
        );
        assert_eq!(h.object_lock_legal_hold_status(), Some(&ObjectLockLegalHoldStatus::On));
        let g = ok(
            c.get_object().bucket(&b).key("locked").version_id(&vid).send().await,
            "GetObject",
        );
        assert_eq!(g.object_lock_mode(), Some(&ObjectLockMode::Compliance));
        assert_eq!(
            g.object_lock_retain_until_date()
                .map(aws_sdk_s3::primitives::DateTime::secs),
            Some(until.secs())
        );
        assert_eq!(g.object_lock_legal_hold_status(), Some(&ObjectLockLegalHoldStatus::On));

        // Retain-until below the 1-day floor.
        expect_err(
            c.put_object()
                .bucket(&b)
                .key("short")
                .body(b"x".to_vec().into())
                .object_lock_mode(ObjectLockMode::Compliance)
                .object_lock_retain_until_date(in_secs(3600))
                .send()
                .await,
            400,
            "InvalidRequest",
        );
        // GOVERNANCE is refused.
        expect_err(
            c.put_object()
                .bucket(&b)
                .key("gov")
                .body(b"x".to_vec().into())
                .object_lock_mode(ObjectLockMode::Governance)
                .object_lock_retain_until_date(in_secs(days(5)))
                .send()
                .await,
            400,
            "InvalidRequest",
        );
        // A date in the past.
        expect_err(
            c.put_object()
                .bucket(&b)
                .key("past")
                .body(b"x".to_vec().into())
                .object_lock_mode(ObjectLockMode::Compliance)
                .object_lock_retain_until_date(in_secs(-3600))
                .send()
                .await,
            400,
            "InvalidArgument",
        );
        // Mode without date, date without mode.
        expect_err(
            c.put_object()
                .bucket(&b)
                .key("half")
                .body(b"x".to_vec().into())
                .object_lock_mode(ObjectLockMode::Compliance)
                .send()
                .await,
            400,
            "InvalidRequest",
        );
        expect_err(
            c.put_object()
                .bucket(&b)
                .key("half")
                .body(b"x".to_vec().into())
                .object_lock_retain_until_date(in_secs(days(5)))
                .send()
                .await,
            400,
            "InvalidRequest",
        );
        // Above the 100-year cap.
        expect_err(
            c.put_object()
                .bucket(&b)
                .key("far")
                .body(b"x".to_vec().into())
                .object_lock_mode(ObjectLockMode::Compliance)
                .object_lock_retain_until_date(in_secs(days(365 * 101)))
                .send()
                .await,
            400,
            "InvalidRetentionPeriod",
        );
        // Bad legal hold / mode spelling.
        expect_err(
            c.put_object()
                .bucket(&b)
                .key("lh")
                .body(b"x".to_vec().into())
                .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::from("on"))
                .send()
                .await,
            400,
            "InvalidArgument",
        );
        expect_err(
            c.put_object()
                .bucket(&b)
                .key("lc")
                .body(b"x".to_vec().into())
                .object_lock_mode(ObjectLockMode::from("compliance"))
                .object_lock_retain_until_date(in_secs(days(5)))
                .send()
                .await,
            400,
            "InvalidArgument",
        );
        let v = ok(c.list_object_versions().bucket(&b).send().await, "ListObjectVersions");
        let keys: Vec<&str> = v.versions().iter().filter_map(|v| v.key()).collect();
        assert_eq!(keys, vec!["locked"], "only the valid PUT created a version");
    }
}

#[tokio::test]
async fn get_by_version_and_ranges() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "rng").await;
    let v1 = ok(
        c.put_object()
            .bucket("rng")
            .key("k")
            .body(b"version one".to_vec().into())
            .send()
            .await,
        "v1",
    );
    let data: Vec<u8> = (0u8..100).collect();
    let v2 = ok(
        c.put_object()
            .bucket("rng")
            .key("k")
            .body(data.clone().into())
            .send()
            .await,
        "v2",
    );
    let v1id = v1.version_id().unwrap();
    let v2id = v2.version_id().unwrap();
    assert_ne!(v1id, v2id);
    let g = ok(
        c.get_object().bucket("rng").key("k").version_id(v1id).send().await,
        "GET v1",
    );
    assert_eq!(g.version_id(), Some(v1id));
    assert_eq!(body_bytes(g).await, b"version one");
    let g = ok(c.get_object().bucket("rng").key("k").send().await, "GET current");
    assert_eq!(g.version_id(), Some(v2id));
    assert_eq!(body_bytes(g).await, data);

    let cases: [(&str, std::ops::Range<usize>); 5] = [
        ("bytes=0-9", 0..10),
        ("bytes=10-19", 10..20),
        ("bytes=95-", 95..100),
        ("bytes=-7", 93..100),
        ("bytes=90-500", 90..100),
    ];
    for (range, want) in cases {
        let g = ok(c.get_object().bucket("rng").key("k").range(range).send().await, range);
        assert_eq!(
            g.content_range().map(str::to_string),
            Some(format!("bytes {}-{}/100", want.start, want.end - 1)),
            "{range}"
        );
        assert_eq!(g.content_length(), Some(want.len() as i64), "{range}");
        assert_eq!(body_bytes(g).await, data[want].to_vec(), "{range}");
    }
    // Ranged read of an old version.
    let g = ok(
        c.get_object()
            .bucket("rng")
            .key("k")
            .version_id(v1id)
            .range("bytes=0-6")
            .send()
            .await,
        "range v1",
    );
    assert_eq!(body_bytes(g).await, b"version");
    expect_err(
        c.get_object().bucket("rng").key("k").range("bytes=100-").send().await,
        416,
        "InvalidRange",
    );
    expect_err(
        c.get_object()
            .bucket("rng")
            .key("k")
            .range("bytes=1000-2000")
            .send()
            .await,
        416,
        "InvalidRange",
    );

    // Version errors.
    expect_err(
        c.get_object().bucket("rng").key("k").version_id("zzz").send().await,
        400,
        "InvalidArgument",
    );
    let absent = format!("{}{:016x}", &v2id[..16], u64::MAX / 2);
    expect_err(
        c.get_object().bucket("rng").key("k").version_id(&absent).send().await,
        404,
        "NoSuchVersion",
    );
    expect_err(
        c.get_object().bucket("rng").key("k").version_id("null").send().await,
        404,
        "NoSuchVersion",
    );
    expect_err(
        c.head_object().bucket("rng").key("k").version_id("null").send().await,
        404,
        "",
    );
    expect_err(
        c.get_object().bucket("rng").key("missing").send().await,
        404,
        "NoSuchKey",
    );
    expect_err(c.head_object().bucket("rng").key("missing").send().await, 404, "");
    expect_err(
        c.get_object().bucket("no-such-bucket").key("k").send().await,
        404,
        "NoSuchBucket",
    );
}

#[tokio::test]
async fn conditional_gets() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "cond").await;
    let put = ok(
        c.put_object()
            .bucket("cond")
            .key("k")
            .body(b"conditional".to_vec().into())
            .send()
            .await,
        "PUT",
    );
    let etag = put.e_tag().unwrap().to_string();
    let past = DateTime::from_secs(1_000_000_000);
    let future = in_secs(days(1));

    let g = ok(
        c.get_object().bucket("cond").key("k").if_match(&etag).send().await,
        "If-Match ok",
    );
    assert_eq!(body_bytes(g).await, b"conditional");
    ok(
        c.get_object().bucket("cond").key("k").if_match("*").send().await,
        "If-Match *",
    );
    expect_err(
        c.get_object().bucket("cond").key("k").if_match("\"0123\"").send().await,
        412,
        "PreconditionFailed",
    );
    expect_err(
        c.head_object()
            .bucket("cond")
            .key("k")
            .if_match("\"0123\"")
            .send()
            .await,
        412,
        "",
    );

    expect_err(
        c.get_object().bucket("cond").key("k").if_none_match(&etag).send().await,
        304,
        "",
    );
    expect_err(
        c.head_object()
            .bucket("cond")
            .key("k")
            .if_none_match(&etag)
            .send()
            .await,
        304,
        "",
    );
    ok(
        c.get_object()
            .bucket("cond")
            .key("k")
            .if_none_match("\"0123\"")
            .send()
            .await,
        "If-None-Match other",
    );

    ok(
        c.get_object()
            .bucket("cond")
            .key("k")
            .if_modified_since(past)
            .send()
            .await,
        "If-Modified-Since past",
    );
    expect_err(
        c.get_object()
            .bucket("cond")
            .key("k")
            .if_modified_since(future)
            .send()
            .await,
        304,
        "",
    );
    ok(
        c.get_object()
            .bucket("cond")
            .key("k")
            .if_unmodified_since(future)
            .send()
            .await,
        "If-Unmodified-Since future",
    );
    expect_err(
        c.get_object()
            .bucket("cond")
            .key("k")
            .if_unmodified_since(past)
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    // RFC 7232 precedence: If-Match true wins over If-Unmodified-Since false.
    ok(
        c.get_object()
            .bucket("cond")
            .key("k")
            .if_match(&etag)
            .if_unmodified_since(past)
            .send()
            .await,
        "If-Match + If-Unmodified-Since",
    );
    // If-None-Match false (etag differs) wins over If-Modified-Since.
    ok(
        c.get_object()
            .bucket("cond")
            .key("k")
            .if_none_match("\"0123\"")
            .if_modified_since(future)
            .send()
            .await,
        "If-None-Match + If-Modified-Since",
    );
}

#[tokio::test]
async fn response_overrides() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "ovr").await;
    ok(
        c.put_object()
            .bucket("ovr")
            .key("k")
            .content_type("text/plain")
            .body(b"hello".to_vec().into())
            .send()
            .await,
        "PUT",
    );
    let g = ok(
        c.get_object()
            .bucket("ovr")
            .key("k")
            .response_content_type("application/json")
            .response_content_disposition("attachment; filename=\"x.json\"")
            .response_content_language("fr")
            .response_cache_control("no-store")
            .response_content_encoding("identity")
            .response_expires(DateTime::from_secs(1_950_000_000))
            .send()
            .await,
        "GET with overrides",
    );
    assert_eq!(g.content_type(), Some("application/json"));
    assert_eq!(g.content_disposition(), Some("attachment; filename=\"x.json\""));
    assert_eq!(g.content_language(), Some("fr"));
    assert_eq!(g.cache_control(), Some("no-store"));
    assert_eq!(g.content_encoding(), Some("identity"));
    assert!(g.expires_string().is_some(), "Expires override present");
    assert_eq!(body_bytes(g).await, b"hello");
    // The stored headers are unchanged.
    let h = ok(c.head_object().bucket("ovr").key("k").send().await, "HEAD");
    assert_eq!(h.content_type(), Some("text/plain"));
    assert!(h.content_disposition().is_none());
}

#[tokio::test]
async fn delete_object_creates_marker_and_keeps_versions() {
    let srv = Server::start();
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("del-{}", tag(mode));
        make_bucket(&c, &b).await;
        let put = ok(
            c.put_object()
                .bucket(&b)
                .key("k")
                .body(b"keep me".to_vec().into())
                .send()
                .await,
            "PUT",
        );
        let vid = put.version_id().unwrap().to_string();

        let d = ok(c.delete_object().bucket(&b).key("k").send().await, "DeleteObject");
        assert_eq!(d.delete_marker(), Some(true));
        let marker = d.version_id().expect("marker id").to_string();
        assert_ne!(marker, vid);

        let e = expect_err(c.get_object().bucket(&b).key("k").send().await, 404, "NoSuchKey");
        let raw = e.raw_response().unwrap();
        assert_eq!(raw.headers().get("x-amz-delete-marker"), Some("true"));
        expect_err(c.head_object().bucket(&b).key("k").send().await, 404, "");
        // GET of the marker by id: 405.
        expect_err(
            c.get_object().bucket(&b).key("k").version_id(&marker).send().await,
            405,
            "MethodNotAllowed",
        );
        let e = expect_err(
            c.head_object().bucket(&b).key("k").version_id(&marker).send().await,
            405,
            "",
        );
        assert_eq!(
            e.raw_response().unwrap().headers().get("x-amz-delete-marker"),
            Some("true")
        );
        // The data version is still there and readable by id.
        let g = ok(
            c.get_object().bucket(&b).key("k").version_id(&vid).send().await,
            "GET by id",
        );
        assert_eq!(body_bytes(g).await, b"keep me");
        let v = ok(c.list_object_versions().bucket(&b).send().await, "ListObjectVersions");
        assert_eq!(v.versions().len(), 1);
        assert_eq!(v.versions()[0].version_id(), Some(vid.as_str()));
        assert_eq!(v.versions()[0].is_latest(), Some(false));
        assert_eq!(v.delete_markers().len(), 1);
        assert_eq!(v.delete_markers()[0].version_id(), Some(marker.as_str()));
        assert_eq!(v.delete_markers()[0].is_latest(), Some(true));
        // Not listed as an object.
        let l = ok(c.list_objects_v2().bucket(&b).send().await, "ListObjectsV2");
        assert!(l.contents().is_empty());

        // Deleting the retained version by id: refused.
        let e = expect_err(
            c.delete_object().bucket(&b).key("k").version_id(&vid).send().await,
            403,
            "AccessDenied",
        );
        assert!(e.message().is_some());
        // Bypass header changes nothing (COMPLIANCE).
        expect_err(
            c.delete_object()
                .bucket(&b)
                .key("k")
                .version_id(&vid)
                .bypass_governance_retention(true)
                .send()
                .await,
            403,
            "AccessDenied",
        );
        // Removing the delete marker by id is allowed: the object is back.
        let rm = ok(
            c.delete_object().bucket(&b).key("k").version_id(&marker).send().await,
            "remove marker",
        );
        assert_eq!(rm.delete_marker(), Some(true));
        assert_eq!(rm.version_id(), Some(marker.as_str()));
        let g = ok(c.get_object().bucket(&b).key("k").send().await, "GET after undelete");
        assert_eq!(body_bytes(g).await, b"keep me");
        // Delete of a missing key still adds a marker (204).
        let d = ok(
            c.delete_object().bucket(&b).key("never-existed").send().await,
            "delete missing key",
        );
        assert_eq!(d.delete_marker(), Some(true));
        // Delete of a version id that does not exist: 204, nothing happens.
        let absent = format!("{}{:016x}", &vid[..16], u64::MAX / 3);
        ok(
            c.delete_object().bucket(&b).key("k").version_id(&absent).send().await,
            "delete absent version",
        );
        expect_err(
            c.delete_object()
                .bucket(&b)
                .key("k")
                .version_id("not-a-version")
                .send()
                .await,
            400,
            "InvalidArgument",
        );
        let v = ok(
            c.list_object_versions().bucket(&b).prefix("k").send().await,
            "ListObjectVersions",
        );
        assert_eq!(v.versions().len(), 1);
        assert!(v.delete_markers().is_empty());
    }
}

fn ident(key: &str, version: Option<&str>) -> ObjectIdentifier {
    let mut b = ObjectIdentifier::builder().key(key);
    if let Some(v) = version {
        b = b.version_id(v);
    }
    b.build().unwrap()
}

#[tokio::test]
async fn delete_objects_mixed() {
    let srv = Server::start_with(Options::min_retention("1s"));
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        let b = format!("multi-{}", tag(mode));
        make_bucket(&c, &b).await;
        // Locked for 5 days explicitly; the others only carry the 1 s floor.
        let locked = ok(
            c.put_object()
                .bucket(&b)
                .key("locked")
                .body(b"L".to_vec().into())
                .object_lock_mode(ObjectLockMode::Compliance)
                .object_lock_retain_until_date(in_secs(days(5)))
                .send()
                .await,
            "locked",
        );
        let held = ok(
            c.put_object()
                .bucket(&b)
                .key("held")
                .body(b"H".to_vec().into())
                .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
                .send()
                .await,
            "held",
        );
        let expired = ok(
            c.put_object()
                .bucket(&b)
                .key("expired")
                .body(b"E".to_vec().into())
                .send()
                .await,
            "expired",
        );
        ok(
            c.put_object()
                .bucket(&b)
                .key("plain")
                .body(b"P".to_vec().into())
                .send()
                .await,
            "plain",
        );
        let marker = ok(c.delete_object().bucket(&b).key("marked").send().await, "marker");
        tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
        let (lv, hv, ev, mv) = (
            locked.version_id().unwrap().to_string(),
            held.version_id().unwrap().to_string(),
            expired.version_id().unwrap().to_string(),
            marker.version_id().unwrap().to_string(),
        );
        let del = Delete::builder()
            .objects(ident("locked", Some(&lv)))
            .objects(ident("held", Some(&hv)))
            .objects(ident("expired", Some(&ev)))
            .objects(ident("marked", Some(&mv)))
            .objects(ident("plain", None))
            .objects(ident("locked", Some(&lv)))
            .build()
            .unwrap();
        let out = ok(c.delete_objects().bucket(&b).delete(del).send().await, "DeleteObjects");
        let errors: Vec<(String, String, String)> = out
            .errors()
            .iter()
            .map(|e| {
                (
                    e.key().unwrap_or("").to_string(),
                    e.version_id().unwrap_or("").to_string(),
                    e.code().unwrap_or("").to_string(),
                )
            })
            .collect();
        assert_eq!(
            errors,
            vec![
                ("locked".to_string(), lv.clone(), "AccessDenied".to_string()),
                ("held".to_string(), hv.clone(), "AccessDenied".to_string()),
                ("locked".to_string(), lv.clone(), "AccessDenied".to_string()),
            ]
        );
        let deleted: Vec<(String, Option<String>, Option<bool>)> = out
            .deleted()
            .iter()
            .map(|d| {
                (
                    d.key().unwrap_or("").to_string(),
                    d.version_id().map(str::to_string),
                    d.delete_marker(),
                )
            })
            .collect();
        assert_eq!(deleted.len(), 3, "{deleted:?}");
        assert!(
            deleted.contains(&("expired".to_string(), Some(ev.clone()), None)),
            "{deleted:?}"
        );
        assert!(
            deleted
                .iter()
                .any(|d| d.0 == "marked" && d.1.as_deref() == Some(mv.as_str())),
            "{deleted:?}"
        );
        let plain = out.deleted().iter().find(|d| d.key() == Some("plain")).unwrap();
        assert_eq!(plain.delete_marker(), Some(true));
        assert!(plain.delete_marker_version_id().is_some());

        let v = ok(c.list_object_versions().bucket(&b).send().await, "ListObjectVersions");
        let mut vers: Vec<&str> = v.versions().iter().filter_map(|v| v.key()).collect();
        vers.sort_unstable();
        assert_eq!(vers, vec!["held", "locked", "plain"]);
        let markers: Vec<&str> = v.delete_markers().iter().filter_map(|m| m.key()).collect();
        assert_eq!(markers, vec!["plain"]);

        // Quiet: only the errors come back.
        let del = Delete::builder()
            .quiet(true)
            .objects(ident("locked", Some(&lv)))
            .objects(ident("plain", None))
            .build()
            .unwrap();
        let out = ok(
            c.delete_objects().bucket(&b).delete(del).send().await,
            "DeleteObjects quiet",
        );
        assert!(
            out.deleted().is_empty(),
            "quiet mode lists no successes: {:?}",
            out.deleted()
        );
        assert_eq!(out.errors().len(), 1);
        assert_eq!(out.errors()[0].code(), Some("AccessDenied"));
        assert_eq!(out.errors()[0].key(), Some("locked"));
    }
}

#[tokio::test]
async fn delete_objects_limits_and_http_status() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "lim").await;
    let put = ok(
        c.put_object()
            .bucket("lim")
            .key("k")
            .body(b"x".to_vec().into())
            .send()
            .await,
        "PUT",
    );
    let vid = put.version_id().unwrap().to_string();
    // 1000 entries are fine (all markers except one refused version).
    let mut d = Delete::builder().objects(ident("k", Some(&vid)));
    for i in 0..999 {
        d = d.objects(ident(&format!("m/{i:04}"), None));
    }
    let out = c.delete_objects().bucket("lim").delete(d.build().unwrap()).send().await;
    let out = ok(out, "DeleteObjects x1000");
    assert_eq!(out.errors().len(), 1);
    assert_eq!(out.deleted().len(), 999);
    // 1001 entries: MalformedXML.
    let mut d = Delete::builder();
    for i in 0..1001 {
        d = d.objects(ident(&format!("n/{i:04}"), None));
    }
    expect_err(
        c.delete_objects().bucket("lim").delete(d.build().unwrap()).send().await,
        400,
        "MalformedXML",
    );
    // A malformed version id is a per-key error, not a failure of the whole request.
    let d = Delete::builder()
        .objects(ident("k", Some("bogus")))
        .objects(ident("other", None))
        .build()
        .unwrap();
    let out = ok(
        c.delete_objects().bucket("lim").delete(d).send().await,
        "DeleteObjects with a bogus version id",
    );
    assert_eq!(out.errors().len(), 1);
    assert_eq!(out.errors()[0].key(), Some("k"));
    assert_eq!(out.deleted().len(), 1);
    let g = ok(c.get_object().bucket("lim").key("k").send().await, "k untouched");
    assert_eq!(g.version_id(), Some(vid.as_str()));
    // Raw: the per-key AccessDenied comes with HTTP 200.
    let body = format!("<Delete><Object><Key>k</Key><VersionId>{vid}</VersionId></Object></Delete>");
    let md5 = {
        use base64::Engine;
        use md5::Digest;
        base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body.as_bytes()))
    };
    let r = signed_raw(
        srv.addr,
        ADMIN,
        "POST",
        "/lim?delete",
        &[("content-md5", &md5), ("content-type", "application/xml")],
        &sha256_hex(body.as_bytes()),
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("<Code>AccessDenied</Code>"), "{}", r.text());
    assert!(r.header("x-amz-request-id").is_some());
    // Not XML at all.
    let body = b"this is not xml";
    let r = signed_raw(srv.addr, ADMIN, "POST", "/lim?delete", &[], &sha256_hex(body), body);
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.code().as_deref(), Some("MalformedXML"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_if_none_match_has_one_winner() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "race").await;
    for round in 0..3 {
        let key = format!("k{round}");
        let mut tasks = Vec::new();
        for i in 0..8u64 {
            let (c, key) = (c.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                c.put_object()
                    .bucket("race")
                    .key(&key)
                    .if_none_match("*")
                    .body(pattern(50_000, i).into())
                    .send()
                    .await
            }));
        }
        let mut winners = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => winners += 1,
                Err(e) => {
                    let st = status_of(&e);
                    assert!(matches!(st, Some(412 | 409)), "unexpected answer {st:?}: {e:?}");
                }
            }
        }
        assert_eq!(winners, 1, "exactly one create-only PUT may win");
        let v = ok(
            c.list_object_versions().bucket("race").prefix(&key).send().await,
            "versions",
        );
        assert_eq!(v.versions().len(), 1);
    }
    let tmp: Vec<_> = std::fs::read_dir(srv.data_dir.join("tmp"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(tmp.is_empty(), "losers left files in tmp/: {tmp:?}");
}

#[tokio::test]
async fn version_ids_are_bound_to_their_key_and_bucket() {
    let srv = Server::start_with(Options::min_retention("1s"));
    let c = srv.admin();
    make_bucket(&c, "bind-a").await;
    make_bucket(&c, "bind-b").await;
    let p = ok(
        c.put_object()
            .bucket("bind-a")
            .key("k1")
            .body(b"one".to_vec().into())
            .send()
            .await,
        "PUT k1",
    );
    let vid = p.version_id().unwrap().to_string();
    ok(
        c.put_object()
            .bucket("bind-a")
            .key("k2")
            .body(b"two".to_vec().into())
            .send()
            .await,
        "PUT k2",
    );
    ok(
        c.put_object()
            .bucket("bind-b")
            .key("k1")
            .body(b"other".to_vec().into())
            .send()
            .await,
        "PUT b/k1",
    );
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    // k1's (expired) version id used on other keys / buckets: nothing may happen to k1.
    expect_err(
        c.get_object().bucket("bind-a").key("k2").version_id(&vid).send().await,
        404,
        "NoSuchVersion",
    );
    expect_err(
        c.get_object().bucket("bind-b").key("k1").version_id(&vid).send().await,
        404,
        "NoSuchVersion",
    );
    ok(
        c.delete_object()
            .bucket("bind-a")
            .key("k2")
            .version_id(&vid)
            .send()
            .await,
        "DELETE k2?versionId=<k1>",
    );
    ok(
        c.delete_object()
            .bucket("bind-b")
            .key("k1")
            .version_id(&vid)
            .send()
            .await,
        "DELETE b/k1?versionId=<a/k1>",
    );
    let d = Delete::builder().objects(ident("k2", Some(&vid))).build().unwrap();
    ok(
        c.delete_objects().bucket("bind-a").delete(d).send().await,
        "DeleteObjects k2 with k1's id",
    );
    let g = ok(
        c.get_object().bucket("bind-a").key("k1").version_id(&vid).send().await,
        "k1 still there",
    );
    assert_eq!(body_bytes(g).await, b"one");
    for (b, k, n) in [("bind-a", "k1", 1), ("bind-a", "k2", 1), ("bind-b", "k1", 1)] {
        let v = ok(c.list_object_versions().bucket(b).prefix(k).send().await, "versions");
        assert_eq!(v.versions().len(), n, "{b}/{k}");
        assert!(v.delete_markers().is_empty(), "{b}/{k}");
    }
}

#[tokio::test]
async fn truncated_body_creates_nothing() {
    use std::io::Write;
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "trunc").await;
    // Content-Length promises 100000 bytes; the client sends half and closes its side.
    let hdrs = [("content-length", "100000")];
    let signed = sign_headers(srv.addr, ADMIN, "PUT", "/trunc/k", &hdrs, "UNSIGNED-PAYLOAD");
    let mut s = std::net::TcpStream::connect(srv.addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    let mut head = String::from("PUT /trunc/k HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in &signed {
        let _ = write!(head, "{k}: {v}\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&pattern(50_000, 1)).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut buf = Vec::new();
    let _ = std::io::Read::read_to_end(&mut s, &mut buf);
    if !buf.is_empty() {
        let r = parse_response(&buf, false);
        assert!(
            r.status >= 400,
            "a truncated body was accepted: {} {}",
            r.status,
            r.text()
        );
    }
    // The same with aws-chunked: the final chunk never arrives.
    let data = pattern(30_000, 2);
    let mut body = format!("{:x}\r\n", data.len()).into_bytes();
    body.extend_from_slice(&data);
    body.extend_from_slice(b"\r\n");
    let dlen = "60000".to_string();
    let hdrs = [
        ("content-encoding", "aws-chunked"),
        ("transfer-encoding", "chunked"),
        ("x-amz-decoded-content-length", dlen.as_str()),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
    ];
    let signed = sign_headers(
        srv.addr,
        ADMIN,
        "PUT",
        "/trunc/k2",
        &hdrs,
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    );
    let mut s = std::net::TcpStream::connect(srv.addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    let mut head = String::from("PUT /trunc/k2 HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in &signed {
        let _ = write!(head, "{k}: {v}\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(format!("{:x}\r\n", body.len()).as_bytes()).unwrap();
    s.write_all(&body).unwrap();
    s.write_all(b"\r\n").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut buf = Vec::new();
    let _ = std::io::Read::read_to_end(&mut s, &mut buf);
    if !buf.is_empty() {
        let r = parse_response(&buf, false);
        assert!(
            r.status >= 400,
            "a truncated aws-chunked body was accepted: {} {}",
            r.status,
            r.text()
        );
    }
    let v = ok(c.list_object_versions().bucket("trunc").send().await, "versions");
    assert!(
        v.versions().is_empty(),
        "a truncated upload became a version: {:?}",
        v.versions()
    );
    // Give the server a moment to clean up, then nothing may be left in tmp/.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let tmp: Vec<_> = std::fs::read_dir(srv.data_dir.join("tmp"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(tmp.is_empty(), "tmp/ holds leftovers of a truncated upload: {tmp:?}");
}

#[tokio::test]
async fn lock_header_smuggling_is_refused() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "smuggle").await;
    let body = b"x";
    let sha = sha256_hex(body);
    let far = "2099-01-01T00:00:00Z";
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![
            ("x-amz-object-lock-mode", "COMPLIANCE"),
            ("x-amz-object-lock-retain-until-date", "2099-01-01T00:00:00"),
        ],
        vec![
            ("x-amz-object-lock-mode", "COMPLIANCE"),
            ("x-amz-object-lock-retain-until-date", "2099-01-01"),
        ],
        vec![
            ("x-amz-object-lock-mode", "COMPLIANCE"),
            ("x-amz-object-lock-retain-until-date", "not a date"),
        ],
        vec![
            ("x-amz-object-lock-mode", "compliance"),
            ("x-amz-object-lock-retain-until-date", far),
        ],
        vec![
            ("x-amz-object-lock-mode", ""),
            ("x-amz-object-lock-retain-until-date", far),
        ],
        vec![
            ("x-amz-object-lock-mode", "COMPLIANCE"),
            ("x-amz-object-lock-retain-until-date", far),
            ("x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z"),
        ],
        vec![
            ("x-amz-object-lock-mode", "COMPLIANCE"),
            ("x-amz-object-lock-mode", "GOVERNANCE"),
            ("x-amz-object-lock-retain-until-date", far),
        ],
        vec![("x-amz-object-lock-legal-hold", "on")],
        vec![
            ("x-amz-object-lock-legal-hold", "ON"),
            ("x-amz-object-lock-legal-hold", "OFF"),
        ],
    ];
    for hdrs in cases {
        let r = signed_raw(srv.addr, ADMIN, "PUT", "/smuggle/k", &hdrs, &sha, body);
        assert_eq!(r.status, 400, "{hdrs:?} accepted: {}", r.text());
        assert!(
            matches!(r.code().as_deref(), Some("InvalidArgument" | "InvalidRequest")),
            "{hdrs:?}: {}",
            r.text()
        );
    }
    let v = ok(c.list_object_versions().bucket("smuggle").send().await, "versions");
    assert!(v.versions().is_empty(), "{:?}", v.versions());
}

#[tokio::test]
async fn oversized_metadata_is_refused() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "meta").await;
    let big = "v".repeat(2100);
    let e = c
        .put_object()
        .bucket("meta")
        .key("k")
        .metadata("big", &big)
        .body(b"x".to_vec().into())
        .send()
        .await;
    let e = expect_err(e, 400, "");
    eprintln!("oversized metadata answered {:?}", e.code());
    let v = ok(c.list_object_versions().bucket("meta").send().await, "versions");
    assert!(v.versions().is_empty());
}

/// `GetObjectAttributes` (`GET ?attributes`) as the SDK calls it: the asked-for attributes of the
/// current or a named version, and 404 with the delete-marker header once a marker is current.
#[tokio::test]
async fn get_object_attributes() {
    use aws_sdk_s3::types::ObjectAttributes;
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "attrs").await;
    let v1 = ok(
        c.put_object()
            .bucket("attrs")
            .key("k")
            .body(b"first".to_vec().into())
            .send()
            .await,
        "put v1",
    );
    ok(
        c.put_object()
            .bucket("attrs")
            .key("k")
            .body(b"second!".to_vec().into())
            .send()
            .await,
        "put v2",
    );
    let a = ok(
        c.get_object_attributes()
            .bucket("attrs")
            .key("k")
            .object_attributes(ObjectAttributes::ObjectSize)
            .object_attributes(ObjectAttributes::Etag)
            .object_attributes(ObjectAttributes::StorageClass)
            .send()
            .await,
        "attributes of the current version",
    );
    assert_eq!(a.object_size(), Some(7));
    assert_eq!(
        a.storage_class().map(aws_sdk_s3::types::StorageClass::as_str),
        Some("STANDARD")
    );
    let old = ok(
        c.get_object_attributes()
            .bucket("attrs")
            .key("k")
            .version_id(v1.version_id().unwrap_or_default())
            .object_attributes(ObjectAttributes::ObjectSize)
            .send()
            .await,
        "attributes of v1",
    );
    assert_eq!(old.object_size(), Some(5));
    assert_eq!(old.version_id(), v1.version_id());
    ok(c.delete_object().bucket("attrs").key("k").send().await, "marker");
    expect_err(
        c.get_object_attributes()
            .bucket("attrs")
            .key("k")
            .object_attributes(ObjectAttributes::Etag)
            .send()
            .await,
        404,
        "NoSuchKey",
    );
}
