//! "A refused request changes nothing": hash the data directory and snapshot the catalog through
//! the API, run a battery of refused requests, and compare.
//!
//! `audit/` is excluded from the byte comparison (every request, refused ones included, appends an
//! audit record by design). The sled catalog may rewrite its files on its own (background flush,
//! clock watermark), so it is compared logically: every bucket, its configuration, every version
//! and marker with its retention, legal hold, headers and content.

use crate::common::*;
use aws_sdk_s3::types::{
    BucketVersioningStatus, DefaultRetention, Delete, ObjectIdentifier, ObjectLockConfiguration, ObjectLockEnabled,
    ObjectLockLegalHold, ObjectLockLegalHoldStatus, ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode,
    ObjectLockRule, VersioningConfiguration,
};
use aws_sdk_s3::Client;
use std::fmt::Write as _;

/// Everything the API can tell about the store, as text.
async fn logical_snapshot(c: &Client) -> String {
    let mut s = String::new();
    let buckets = ok(c.list_buckets().send().await, "ListBuckets");
    for b in buckets.buckets() {
        let name = b.name().unwrap();
        writeln!(
            s,
            "bucket {name} created {:?}",
            b.creation_date().map(aws_sdk_s3::primitives::DateTime::secs)
        )
        .unwrap();
        let v = ok(c.get_bucket_versioning().bucket(name).send().await, "versioning");
        writeln!(s, "  versioning {:?}", v.status()).unwrap();
        let l = ok(
            c.get_object_lock_configuration().bucket(name).send().await,
            "lock config",
        );
        writeln!(s, "  lock {:?}", l.object_lock_configuration()).unwrap();
        let vs = ok(c.list_object_versions().bucket(name).send().await, "versions");
        assert_eq!(vs.is_truncated(), Some(false));
        for m in vs.delete_markers() {
            writeln!(
                s,
                "  marker {:?} {:?} latest={:?} {:?}",
                m.key(),
                m.version_id(),
                m.is_latest(),
                m.last_modified().map(aws_sdk_s3::primitives::DateTime::secs)
            )
            .unwrap();
        }
        for v in vs.versions() {
            let (key, vid) = (v.key().unwrap(), v.version_id().unwrap());
            writeln!(
                s,
                "  version {key} {vid} latest={:?} etag={:?} size={:?} modified={:?}",
                v.is_latest(),
                v.e_tag(),
                v.size(),
                v.last_modified().map(aws_sdk_s3::primitives::DateTime::secs)
            )
            .unwrap();
            let r = ok(
                c.get_object_retention()
                    .bucket(name)
                    .key(key)
                    .version_id(vid)
                    .send()
                    .await,
                "retention",
            );
            let r = r.retention().unwrap();
            writeln!(s, "    retention {:?} {:?}", r.mode(), r.retain_until_date()).unwrap();
            let h = ok(
                c.get_object_legal_hold()
                    .bucket(name)
                    .key(key)
                    .version_id(vid)
                    .send()
                    .await,
                "hold",
            );
            writeln!(s, "    hold {:?}", h.legal_hold().and_then(|h| h.status())).unwrap();
            let g = ok(c.get_object().bucket(name).key(key).version_id(vid).send().await, "GET");
            writeln!(
                s,
                "    headers type={:?} enc={:?} disp={:?} cache={:?} meta={:?}",
                g.content_type(),
                g.content_encoding(),
                g.content_disposition(),
                g.cache_control(),
                g.metadata().map(|m| {
                    let mut v: Vec<_> = m.iter().collect();
                    v.sort();
                    v
                })
            )
            .unwrap();
            writeln!(s, "    sha256 {}", sha256_hex(&body_bytes(g).await)).unwrap();
        }
    }
    s
}

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

fn lock_cfg(mode: &str, days_: Option<i32>, years: Option<i32>, enabled: &str) -> ObjectLockConfiguration {
    let mut dr = DefaultRetention::builder().mode(ObjectLockRetentionMode::from(mode));
    if let Some(d) = days_ {
        dr = dr.days(d);
    }
    if let Some(y) = years {
        dr = dr.years(y);
    }
    ObjectLockConfiguration::builder()
        .object_lock_enabled(ObjectLockEnabled::from(enabled))
        .rule(ObjectLockRule::builder().default_retention(dr.build()).build())
        .build()
}

fn diff(a: &[(String, String)], b: &[(String, String)]) -> String {
    let mut out = String::new();
    for x in a {
        if !b.contains(x) {
            writeln!(out, "  before only: {x:?}").unwrap();
        }
    }
    for x in b {
        if !a.contains(x) {
            writeln!(out, "  after only:  {x:?}").unwrap();
        }
    }
    out
}

/// The aws-chunked unsigned-trailer body (inside HTTP chunked) with the given CRC32 trailer value.
fn unsigned_trailer_http_body(data: &[u8], crc_b64: &str) -> Vec<u8> {
    let mut aws = Vec::new();
    for part in data.chunks(8192) {
        aws.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        aws.extend_from_slice(part);
        aws.extend_from_slice(b"\r\n");
    }
    aws.extend_from_slice(format!("0\r\nx-amz-checksum-crc32:{crc_b64}\r\n\r\n").as_bytes());
    let mut http = Vec::new();
    http.extend_from_slice(format!("{:x}\r\n", aws.len()).as_bytes());
    http.extend_from_slice(&aws);
    http.extend_from_slice(b"\r\n0\r\n\r\n");
    http
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_change_nothing() {
    let mut srv = Server::start();
    let c = srv.admin();

    // ---- The state to protect.
    make_bucket(&c, "vault").await;
    ok(
        c.put_object_lock_configuration()
            .bucket("vault")
            .object_lock_configuration(lock_cfg("COMPLIANCE", Some(2), None, "Enabled"))
            .send()
            .await,
        "default 2 days",
    );
    let a1 = ok(
        c.put_object()
            .bucket("vault")
            .key("a")
            .body(b"a one".to_vec().into())
            .send()
            .await,
        "a1",
    );
    let a2 = ok(
        c.put_object()
            .bucket("vault")
            .key("a")
            .content_type("text/plain")
            .metadata("m", "v")
            .body(b"a two".to_vec().into())
            .send()
            .await,
        "a2",
    );
    let locked = ok(
        c.put_object()
            .bucket("vault")
            .key("locked")
            .body(pattern(300_000, 1).into())
            .object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(in_secs(days(10)))
            .send()
            .await,
        "locked",
    );
    let held = ok(
        c.put_object()
            .bucket("vault")
            .key("held")
            .body(b"held".to_vec().into())
            .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
            .send()
            .await,
        "held",
    );
    ok(
        c.put_object()
            .bucket("vault")
            .key("gone")
            .body(b"gone".to_vec().into())
            .send()
            .await,
        "gone",
    );
    let marker = ok(c.delete_object().bucket("vault").key("gone").send().await, "marker");
    make_bucket(&c, "other").await;
    ok(
        c.put_object()
            .bucket("other")
            .key("x")
            .body(b"x".to_vec().into())
            .send()
            .await,
        "other/x",
    );
    let (a1v, a2v, lv, hv, mv) = (
        a1.version_id().unwrap().to_string(),
        a2.version_id().unwrap().to_string(),
        locked.version_id().unwrap().to_string(),
        held.version_id().unwrap().to_string(),
        marker.version_id().unwrap().to_string(),
    );

    let before_api = logical_snapshot(&c).await;
    assert_eq!(before_api.matches("  version ").count(), 6, "{before_api}");
    assert_eq!(before_api.matches("  marker ").count(), 1, "{before_api}");
    eprintln!("{before_api}");
    srv.stop();
    let before_files = tree_digest(&srv.data_dir, &["audit", "catalog"]);
    assert!(
        before_files
            .iter()
            .any(|(p, _)| p.starts_with("blobs/") || p.starts_with("segments/") && p.ends_with(".seg")),
        "blobs/ and segments/ are where the data is: {before_files:?}"
    );
    eprintln!("{} files/dirs outside audit/ and catalog/", before_files.len());
    srv.restart();
    let c = srv.admin();
    let after_restart_api = logical_snapshot(&c).await;
    assert_eq!(before_api, after_restart_api, "a clean restart changed the catalog");

    // ---- The battery. Every request here must be refused.
    let w = srv.client(WRITER, Checksums::Default);
    let aud = srv.client(AUDITOR, Checksums::Default);
    for mode in BOTH {
        let c = srv.client(ADMIN, mode);
        // Permanent deletes of protected versions.
        for (k, v) in [("a", &a1v), ("a", &a2v), ("locked", &lv), ("held", &hv)] {
            expect_err(
                c.delete_object().bucket("vault").key(k).version_id(v).send().await,
                403,
                "AccessDenied",
            );
            expect_err(
                c.delete_object()
                    .bucket("vault")
                    .key(k)
                    .version_id(v)
                    .bypass_governance_retention(true)
                    .send()
                    .await,
                403,
                "AccessDenied",
            );
        }
        let mut d = Delete::builder();
        for (k, v) in [
            ("a", &a1v),
            ("a", &a2v),
            ("locked", &lv),
            ("held", &hv),
            ("locked", &lv),
        ] {
            d = d.objects(ObjectIdentifier::builder().key(k).version_id(v).build().unwrap());
        }
        let out = ok(
            c.delete_objects()
                .bucket("vault")
                .delete(d.build().unwrap())
                .bypass_governance_retention(true)
                .send()
                .await,
            "DeleteObjects",
        );
        assert!(out.deleted().is_empty(), "deleted: {:?}", out.deleted());
        assert_eq!(out.errors().len(), 5);
        assert!(out.errors().iter().all(|e| e.code() == Some("AccessDenied")));
        // Retention: shorten, GOVERNANCE, past, remove, on a marker.
        expect_err(
            c.put_object_retention()
                .bucket("vault")
                .key("locked")
                .retention(retention("COMPLIANCE", in_secs(days(3))))
                .send()
                .await,
            403,
            "AccessDenied",
        );
        expect_err(
            c.put_object_retention()
                .bucket("vault")
                .key("locked")
                .retention(retention("GOVERNANCE", in_secs(days(30))))
                .send()
                .await,
            403,
            "AccessDenied",
        );
        expect_err(
            c.put_object_retention()
                .bucket("vault")
                .key("a")
                .retention(retention("COMPLIANCE", in_secs(-10)))
                .send()
                .await,
            400,
            "InvalidArgument",
        );
        expect_err(
            c.put_object_retention()
                .bucket("vault")
                .key("a")
                .retention(ObjectLockRetention::builder().build())
                .send()
                .await,
            403,
            "AccessDenied",
        );
        expect_err(
            c.put_object_retention()
                .bucket("vault")
                .key("gone")
                .version_id(&mv)
                .retention(retention("COMPLIANCE", in_secs(days(30))))
                .send()
                .await,
            405,
            "MethodNotAllowed",
        );
        expect_err(
            c.put_object_legal_hold()
                .bucket("vault")
                .key("gone")
                .version_id(&mv)
                .legal_hold(hold(true))
                .send()
                .await,
            405,
            "MethodNotAllowed",
        );
        // Bucket state.
        expect_err(
            c.put_bucket_versioning()
                .bucket("vault")
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Suspended)
                        .build(),
                )
                .send()
                .await,
            409,
            "InvalidBucketState",
        );
        for (cfg, status, code) in [
            (lock_cfg("COMPLIANCE", Some(5), None, "Disabled"), 400, "MalformedXML"),
            (lock_cfg("GOVERNANCE", Some(5), None, "Enabled"), 400, "InvalidRequest"),
            (
                lock_cfg("COMPLIANCE", Some(0), None, "Enabled"),
                400,
                "InvalidRetentionPeriod",
            ),
            (lock_cfg("COMPLIANCE", Some(5), Some(1), "Enabled"), 400, "MalformedXML"),
        ] {
            expect_err(
                c.put_object_lock_configuration()
                    .bucket("vault")
                    .object_lock_configuration(cfg)
                    .send()
                    .await,
                status,
                code,
            );
        }
        expect_err(c.delete_bucket().bucket("vault").send().await, 409, "BucketNotEmpty");
        expect_err(c.delete_bucket().bucket("other").send().await, 409, "BucketNotEmpty");
        // Creating your own bucket again: 200 in us-east-1 (as AWS), and it must change nothing.
        ok(
            c.create_bucket().bucket("vault").send().await,
            "create own bucket again",
        );
        expect_err(
            c.create_bucket().bucket("Not_Valid").send().await,
            400,
            "InvalidBucketName",
        );
        // Writes that must not become versions.
        let data = pattern(100_000, 7);
        expect_err(
            c.put_object()
                .bucket("vault")
                .key("a")
                .body(data.clone().into())
                .content_md5("1B2M2Y8AsgTpgAmY7PhCfg==")
                .send()
                .await,
            400,
            "BadDigest",
        );
        expect_err(
            c.put_object()
                .bucket("vault")
                .key("new")
                .body(data.clone().into())
                .object_lock_mode(ObjectLockMode::Compliance)
                .object_lock_retain_until_date(in_secs(3600))
                .send()
                .await,
            400,
            "InvalidRequest",
        );
        expect_err(
            c.put_object()
                .bucket("vault")
                .key("new")
                .body(data.clone().into())
                .object_lock_mode(ObjectLockMode::Governance)
                .object_lock_retain_until_date(in_secs(days(30)))
                .send()
                .await,
            400,
            "InvalidRequest",
        );
        expect_err(
            c.put_object()
                .bucket("vault")
                .key("new")
                .body(data.clone().into())
                .object_lock_mode(ObjectLockMode::Compliance)
                .object_lock_retain_until_date(in_secs(-3600))
                .send()
                .await,
            400,
            "InvalidArgument",
        );
        expect_err(
            c.put_object()
                .bucket("vault")
                .key("new")
                .body(data.clone().into())
                .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::from("YES"))
                .send()
                .await,
            400,
            "InvalidArgument",
        );
        expect_err(
            c.put_object()
                .bucket("vault")
                .key("a")
                .if_none_match("*")
                .body(data.clone().into())
                .send()
                .await,
            412,
            "PreconditionFailed",
        );
        expect_err(
            c.put_object()
                .bucket("vault")
                .key("a")
                .if_match("\"0000\"")
                .body(data.clone().into())
                .send()
                .await,
            412,
            "PreconditionFailed",
        );
        expect_err(
            c.put_object()
                .bucket("no-such-bucket")
                .key("a")
                .body(data.clone().into())
                .send()
                .await,
            404,
            "NoSuchBucket",
        );
        // Functionality a header asks for and wormgate does not have: refused, nothing written
        // (an append would otherwise be a new version holding only the appended bytes).
        expect_err(
            c.put_object()
                .bucket("vault")
                .key("a")
                .write_offset_bytes(5)
                .body(data.clone().into())
                .send()
                .await,
            501,
            "NotImplemented",
        );
        expect_err(
            c.put_object()
                .bucket("vault")
                .key("a")
                .sse_customer_algorithm("AES256")
                .sse_customer_key("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=")
                .sse_customer_key_md5("AAAAAAAAAAAAAAAAAAAAAA==")
                .body(data.clone().into())
                .send()
                .await,
            501,
            "NotImplemented",
        );
        // The access stance: no public ACL, no weaker public access block.
        expect_err(
            c.put_object()
                .bucket("vault")
                .key("a")
                .acl(aws_sdk_s3::types::ObjectCannedAcl::PublicRead)
                .body(data.clone().into())
                .send()
                .await,
            400,
            "AccessControlListNotSupported",
        );
        expect_err(
            c.put_bucket_acl()
                .bucket("vault")
                .acl(aws_sdk_s3::types::BucketCannedAcl::PublicReadWrite)
                .send()
                .await,
            400,
            "AccessControlListNotSupported",
        );
        expect_err(
            c.put_public_access_block()
                .bucket("vault")
                .public_access_block_configuration(
                    aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                        .block_public_acls(true)
                        .ignore_public_acls(true)
                        .block_public_policy(false)
                        .restrict_public_buckets(true)
                        .build(),
                )
                .send()
                .await,
            400,
            "InvalidRequest",
        );
        expect_err(
            c.delete_public_access_block().bucket("vault").send().await,
            400,
            "InvalidRequest",
        );
        // Unsupported: never a wrong success.
        expect_err(
            c.put_bucket_logging()
                .bucket("vault")
                .bucket_logging_status(aws_sdk_s3::types::BucketLoggingStatus::builder().build())
                .send()
                .await,
            501,
            "NotImplemented",
        );
    }
    // Wrong signed payload hash.
    let body = b"tampered body".to_vec();
    let r = signed_raw(
        srv.addr,
        ADMIN,
        "PUT",
        "/vault/a",
        &[],
        &sha256_hex(b"original body"),
        &body,
    );
    assert_eq!(
        (r.status, r.code().as_deref()),
        (400, Some("XAmzContentSHA256Mismatch")),
        "{}",
        r.text()
    );
    // Trailer checksum mismatch (aws-chunked in HTTP chunked).
    let wrong = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(b"something else").to_be_bytes())
    };
    let hdrs = [
        ("content-encoding", "aws-chunked"),
        ("transfer-encoding", "chunked"),
        ("x-amz-decoded-content-length", "20000"),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
        ("x-amz-sdk-checksum-algorithm", "CRC32"),
    ];
    let signed = sign_headers(
        srv.addr,
        ADMIN,
        "PUT",
        "/vault/a",
        &hdrs,
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    );
    let refs: Vec<(&str, &str)> = signed.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = raw_request(
        srv.addr,
        "PUT",
        "/vault/a",
        &refs,
        &unsigned_trailer_http_body(&pattern(20_000, 3), &wrong),
    );
    assert_eq!(
        (r.status, r.code().as_deref()),
        (400, Some("BadDigest")),
        "{}",
        r.text()
    );
    // Declared length differs from the body.
    let good = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(&pattern(20_000, 3)).to_be_bytes())
    };
    let hdrs_len = [
        ("content-encoding", "aws-chunked"),
        ("transfer-encoding", "chunked"),
        ("x-amz-decoded-content-length", "19999"),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
        ("x-amz-sdk-checksum-algorithm", "CRC32"),
    ];
    let signed = sign_headers(
        srv.addr,
        ADMIN,
        "PUT",
        "/vault/a",
        &hdrs_len,
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    );
    let refs: Vec<(&str, &str)> = signed.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = raw_request(
        srv.addr,
        "PUT",
        "/vault/a",
        &refs,
        &unsigned_trailer_http_body(&pattern(20_000, 3), &good),
    );
    assert!(
        r.status >= 400 && r.status < 500,
        "length mismatch accepted: {} {}",
        r.status,
        r.text()
    );
    // Wrong secret, unknown key, anonymous.
    let bad = client_for(&srv.endpoint, ADMIN.access, "wrong-secret-entirely", Checksums::Default);
    expect_err(
        bad.put_object()
            .bucket("vault")
            .key("a")
            .body(b"x".to_vec().into())
            .send()
            .await,
        403,
        "SignatureDoesNotMatch",
    );
    expect_err(
        bad.delete_object().bucket("vault").key("a").send().await,
        403,
        "SignatureDoesNotMatch",
    );
    let unknown = client_for(
        &srv.endpoint,
        "AKIAUNKNOWN",
        "wrong-secret-entirely",
        Checksums::Default,
    );
    expect_err(
        unknown.delete_object().bucket("vault").key("a").send().await,
        403,
        "InvalidAccessKeyId",
    );
    let r = raw_request(srv.addr, "PUT", "/vault/a", &[], b"anonymous");
    assert_eq!(r.status, 403);
    let r = raw_request(srv.addr, "DELETE", "/vault/a", &[], b"");
    assert_eq!(r.status, 403);
    // Roles.
    expect_err(
        w.put_object_legal_hold()
            .bucket("vault")
            .key("held")
            .legal_hold(hold(false))
            .send()
            .await,
        403,
        "AccessDenied",
    );
    expect_err(
        w.put_object_legal_hold()
            .bucket("vault")
            .key("a")
            .legal_hold(hold(true))
            .send()
            .await,
        403,
        "AccessDenied",
    );
    expect_err(
        w.put_object_retention()
            .bucket("vault")
            .key("a")
            .retention(retention("COMPLIANCE", in_secs(days(50))))
            .send()
            .await,
        403,
        "AccessDenied",
    );
    expect_err(
        w.delete_object().bucket("vault").key("a").version_id(&a1v).send().await,
        403,
        "AccessDenied",
    );
    expect_err(w.delete_bucket().bucket("vault").send().await, 403, "AccessDenied");
    expect_err(
        w.put_object_lock_configuration()
            .bucket("vault")
            .object_lock_configuration(lock_cfg("COMPLIANCE", Some(30), None, "Enabled"))
            .send()
            .await,
        403,
        "AccessDenied",
    );
    expect_err(
        aud.put_object()
            .bucket("vault")
            .key("a")
            .body(b"x".to_vec().into())
            .send()
            .await,
        403,
        "AccessDenied",
    );
    expect_err(
        aud.delete_object().bucket("vault").key("a").send().await,
        403,
        "AccessDenied",
    );
    expect_err(
        aud.create_bucket().bucket("auditor-made").send().await,
        403,
        "AccessDenied",
    );

    // ---- Nothing changed: logically...
    let after_api = logical_snapshot(&c).await;
    assert_eq!(after_restart_api, after_api, "refused requests changed the catalog");
    // ...and byte for byte outside the catalog and the audit trail.
    srv.stop();
    let after_files = tree_digest(&srv.data_dir, &["audit", "catalog"]);
    assert!(
        before_files == after_files,
        "refused requests changed the data directory:\n{}",
        diff(&before_files, &after_files)
    );
    let tmp: Vec<_> = std::fs::read_dir(srv.data_dir.join("tmp"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(tmp.is_empty(), "tmp/ holds leftovers: {tmp:?}");
}

/// A request refused before it became an operation (a refused header, a bad signature, a malformed
/// document) is audited with the bucket and key it aimed at, so an examiner can find every attempt
/// on an object by its name.
#[tokio::test]
async fn early_refusals_are_audited_with_the_bucket_and_key_they_aimed_at() {
    let mut srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "aimed").await;
    expect_err(
        c.put_object()
            .bucket("aimed")
            .key("the/target")
            .acl(aws_sdk_s3::types::ObjectCannedAcl::PublicRead)
            .body(b"x".to_vec().into())
            .send()
            .await,
        400,
        "AccessControlListNotSupported",
    );
    let forged = client_for(&srv.endpoint, ADMIN.access, "not-the-secret", Checksums::Default);
    expect_err(
        forged.delete_object().bucket("aimed").key("the/target").send().await,
        403,
        "SignatureDoesNotMatch",
    );
    srv.stop();
    let d = srv.data_dir.to_str().unwrap().to_string();
    let (code, out, err) = wormgate(
        &[
            "audit",
            "export",
            "--data-dir",
            &d,
            "--bucket",
            "aimed",
            "--key",
            "the/target",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    for wanted in ["AccessControlListNotSupported", "SignatureDoesNotMatch"] {
        assert!(
            out.lines().any(|l| l.contains(wanted)
                && l.contains("\"bucket\":\"aimed\"")
                && l.contains("\"key\":\"the/target\"")),
            "no {wanted} record naming aimed/the/target:\n{out}"
        );
    }
}
