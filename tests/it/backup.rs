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
    let v1 = put_version(&b, "bkp", "blk", b"one").await;
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
    let v2 = put_version(&b, "bkp", "blk", b"two").await;
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
    let e1 = put_version(&b, "bkp", "old1", b"x").await;
    let e2 = put_version(&b, "bkp", "old2", b"y").await;
    let e3 = put_version(&b, "bkp", "old3", b"z").await;
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

/// The audit records of the live trail (JSON lines), as stored.
fn audit_lines(srv: &Server) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(srv.data_dir.join("audit"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    for f in files {
        for l in std::fs::read_to_string(f).unwrap().lines() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(l) {
                out.push(v);
            }
        }
    }
    out
}

#[tokio::test]
async fn governance_is_refused_by_default() {
    let srv = Server::start_with(Options::min_retention("1s"));
    let admin = srv.admin();
    make_bucket(&admin, "gov-off").await;
    expect_err(
        admin
            .put_object()
            .bucket("gov-off")
            .key("k")
            .object_lock_mode(aws_sdk_s3::types::ObjectLockMode::Governance)
            .object_lock_retain_until_date(in_secs(days(1)))
            .body(b"x".to_vec().into())
            .send()
            .await,
        400,
        "InvalidRequest",
    );
}

#[tokio::test]
async fn governance_as_compliance_stores_compliance_and_audits_what_was_asked() {
    let srv = Server::start_with(Options::min_retention("1s").args(&["--governance-as-compliance"]));
    let admin = srv.admin();
    make_bucket(&admin, "gov").await;
    let b = srv.client(BACKUP, Checksums::Default);
    let put = ok(
        b.put_object()
            .bucket("gov")
            .key("k")
            .object_lock_mode(aws_sdk_s3::types::ObjectLockMode::Governance)
            .object_lock_retain_until_date(in_secs(days(2)))
            .body(b"x".to_vec().into())
            .send()
            .await,
        "PUT with GOVERNANCE",
    );
    let vid = put.version_id().unwrap().to_string();
    // retain_until() asserts the reported mode is COMPLIANCE.
    let until = retain_until(&admin, "gov", "k", Some(&vid)).await;
    let head = ok(b.head_object().bucket("gov").key("k").send().await, "HEAD");
    assert_eq!(
        head.object_lock_mode(),
        Some(&aws_sdk_s3::types::ObjectLockMode::Compliance)
    );
    // PutObjectRetention with GOVERNANCE extends (without versionId: the current version).
    let gov = |secs| {
        ObjectLockRetention::builder()
            .mode(ObjectLockRetentionMode::Governance)
            .retain_until_date(in_secs(secs))
            .build()
    };
    ok(
        b.put_object_retention()
            .bucket("gov")
            .key("k")
            .retention(gov(days(3)))
            .send()
            .await,
        "extend with GOVERNANCE",
    );
    assert!(retain_until(&admin, "gov", "k", Some(&vid)).await > until);
    // The bypass header still changes nothing: no shortening, no deletion.
    expect_err(
        admin
            .put_object_retention()
            .bucket("gov")
            .key("k")
            .version_id(&vid)
            .bypass_governance_retention(true)
            .retention(gov(days(1)))
            .send()
            .await,
        403,
        "AccessDenied",
    );
    expect_err(
        admin
            .delete_object()
            .bucket("gov")
            .key("k")
            .version_id(&vid)
            .bypass_governance_retention(true)
            .send()
            .await,
        403,
        "AccessDenied",
    );
    // A GOVERNANCE bucket default rule is stored and reported as COMPLIANCE.
    let cfg = aws_sdk_s3::types::ObjectLockConfiguration::builder()
        .object_lock_enabled(aws_sdk_s3::types::ObjectLockEnabled::Enabled)
        .rule(
            aws_sdk_s3::types::ObjectLockRule::builder()
                .default_retention(
                    aws_sdk_s3::types::DefaultRetention::builder()
                        .mode(aws_sdk_s3::types::ObjectLockRetentionMode::Governance)
                        .days(2)
                        .build(),
                )
                .build(),
        )
        .build();
    ok(
        admin
            .put_object_lock_configuration()
            .bucket("gov")
            .object_lock_configuration(cfg)
            .send()
            .await,
        "GOVERNANCE default rule",
    );
    let got = ok(
        admin.get_object_lock_configuration().bucket("gov").send().await,
        "GetObjectLockConfiguration",
    );
    let rule = got
        .object_lock_configuration()
        .and_then(|c| c.rule())
        .and_then(|r| r.default_retention())
        .expect("default rule");
    assert_eq!(rule.mode(), Some(&ObjectLockRetentionMode::Compliance));
    assert_eq!(rule.days(), Some(2));
    // Audited as asked (GOVERNANCE) and as stored (the retention, COMPLIANCE by construction).
    let records = audit_lines(&srv);
    let asked: Vec<_> = records
        .iter()
        .filter(|r| r["asked_mode"] == "GOVERNANCE")
        .map(|r| (r["operation"].as_str().unwrap_or("").to_string(), r["status"].as_u64()))
        .collect();
    assert!(asked.contains(&("PutObject".into(), Some(200))), "{asked:?}");
    assert!(asked.contains(&("PutObjectRetention".into(), Some(200))), "{asked:?}");
    assert!(
        asked.contains(&("PutObjectLockConfiguration".into(), Some(200))),
        "{asked:?}"
    );
    assert!(asked.contains(&("PutObjectRetention".into(), Some(403))), "{asked:?}");
    assert!(
        records
            .iter()
            .filter(|r| r["operation"] == "HeadObject")
            .all(|r| r.get("asked_mode").is_none()),
        "only requests that asked for GOVERNANCE carry asked_mode"
    );
}

const SOS: &str = ".system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c";

async fn get_text(
    c: &Client,
    bucket: &str,
    key: &str,
    range: Option<&str>,
) -> (String, Option<String>, Option<String>) {
    let out = ok(
        c.get_object()
            .bucket(bucket)
            .key(key)
            .set_range(range.map(str::to_string))
            .send()
            .await,
        "GET SOSAPI",
    );
    let etag = out.e_tag().map(str::to_string);
    let cr = out.content_range().map(str::to_string);
    (String::from_utf8(body_bytes(out).await).unwrap(), etag, cr)
}

fn element(doc: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = doc.find(&open).unwrap_or_else(|| panic!("{name} in {doc}")) + open.len();
    let end = doc[start..].find(&format!("</{name}>")).unwrap() + start;
    doc[start..end].to_string()
}

#[tokio::test]
async fn sosapi_documents_are_synthesised_read_only_and_never_listed() {
    let srv = Server::start_with(Options::min_retention("1s").args(&["--sosapi-capacity", "1M"]));
    let admin = srv.admin();
    make_bucket(&admin, "veeam").await;
    let b = srv.client(BACKUP, Checksums::Default);
    // 3 versions of 1000 bytes and a marker: used = 3000.
    for i in 0..3u8 {
        put_version(&b, "veeam", "Veeam/blk", &[i; 1000]).await;
    }
    ok(
        b.delete_object().bucket("veeam").key("Veeam/blk").send().await,
        "marker",
    );
    for prefix in ["", "Veeam/Archive/"] {
        let sys = format!("{prefix}{SOS}/system.xml");
        let cap = format!("{prefix}{SOS}/capacity.xml");
        let (doc, etag, _) = get_text(&b, "veeam", &sys, None).await;
        assert!(doc.contains("<ProtocolVersion>\"1.0\"</ProtocolVersion>"), "{doc}");
        assert!(doc.contains("<ModelName>\"wormgate "), "{doc}");
        assert_eq!(element(&doc, "CapacityInfo"), "true");
        assert_eq!(element(&doc, "UploadSessions"), "false");
        assert_eq!(element(&doc, "IAMSTS"), "false");
        assert_eq!(element(&doc, "S3MultiObjectDeleteLimit"), "1000");
        assert_eq!(element(&doc, "S3ConcurrentTaskLimit"), "64");
        assert_eq!(element(&doc, "KbBlockSize"), "4096");
        // Range really works: the pieces are the document.
        let n = doc.len();
        let (head, _, cr) = get_text(&b, "veeam", &sys, Some("bytes=0-9")).await;
        assert_eq!(head, doc[..10]);
        assert_eq!(cr.as_deref(), Some(format!("bytes 0-9/{n}").as_str()));
        let (tail, _, _) = get_text(&b, "veeam", &sys, Some("bytes=10-")).await;
        assert_eq!(format!("{head}{tail}"), doc);
        let (last, _, _) = get_text(&b, "veeam", &sys, Some("bytes=-5")).await;
        assert_eq!(last, doc[n - 5..]);
        expect_err(
            b.get_object()
                .bucket("veeam")
                .key(&sys)
                .range(format!("bytes={}-", n + 10))
                .send()
                .await,
            416,
            "InvalidRange",
        );
        // HEAD and conditional GET.
        let h = ok(b.head_object().bucket("veeam").key(&sys).send().await, "HEAD");
        assert_eq!(h.content_length(), Some(n as i64));
        assert_eq!(h.e_tag(), etag.as_deref());
        assert!(h.last_modified().is_some());
        let r = b
            .get_object()
            .bucket("veeam")
            .key(&sys)
            .if_none_match(etag.clone().unwrap())
            .send()
            .await;
        assert_eq!(status_of(r.as_ref().unwrap_err()), Some(304));
        // Capacity: configured 1 MiB, used = every version's bytes.
        let (cdoc, _, _) = get_text(&b, "veeam", &cap, None).await;
        assert_eq!(element(&cdoc, "Capacity"), "1048576", "{cdoc}");
        assert_eq!(element(&cdoc, "Used"), "3000", "{cdoc}");
        assert_eq!(element(&cdoc, "Available"), (1_048_576 - 3000).to_string(), "{cdoc}");
        // Read-only, for every role.
        for c in [&b, &admin] {
            expect_err(
                c.put_object()
                    .bucket("veeam")
                    .key(&sys)
                    .body(b"<x/>".to_vec().into())
                    .send()
                    .await,
                403,
                "AccessDenied",
            );
            expect_err(
                c.delete_object().bucket("veeam").key(&cap).send().await,
                403,
                "AccessDenied",
            );
        }
        let del = Delete::builder().objects(entry(&sys, None)).build().unwrap();
        let out = ok(
            b.delete_objects().bucket("veeam").delete(del).send().await,
            "DeleteObjects",
        );
        assert_eq!(out.errors().len(), 1, "{out:?}");
        assert_eq!(out.errors()[0].code(), Some("AccessDenied"));
    }
    // Never stored, never listed, never counted.
    let v = ok(admin.list_object_versions().bucket("veeam").send().await, "versions");
    let keys: Vec<_> = v.versions().iter().filter_map(|x| x.key()).collect();
    assert!(keys.iter().all(|k| !k.contains(SOS)), "{keys:?}");
    assert!(v.delete_markers().iter().all(|m| !m.key().unwrap_or("").contains(SOS)));
    let (cdoc, _, _) = get_text(&b, "veeam", &format!("{SOS}/capacity.xml"), None).await;
    assert_eq!(element(&cdoc, "Used"), "3000", "{cdoc}");
    // Other files of the folder do not exist.
    expect_err(
        b.get_object()
            .bucket("veeam")
            .key(format!("{SOS}/other.xml"))
            .send()
            .await,
        404,
        "NoSuchKey",
    );
}

#[tokio::test]
async fn sosapi_capacity_defaults_to_the_data_disk_and_can_be_turned_off() {
    let srv = Server::start();
    let admin = srv.admin();
    make_bucket(&admin, "disk").await;
    let (cdoc, _, _) = get_text(&admin, "disk", &format!("{SOS}/capacity.xml"), None).await;
    let capacity: u64 = element(&cdoc, "Capacity").parse().unwrap();
    assert_eq!(Some(capacity), fs2::total_space(&srv.data_dir).ok(), "{cdoc}");
    assert_eq!(element(&cdoc, "Used"), "0");
    // A bucket byte quota is the bucket's real limit: it goes first.
    set_bucket_quota(&srv, OFFICER, "disk", "10MiB");
    put_version(&admin, "disk", "a", &[7; 2000]).await;
    let (cdoc, _, _) = get_text(&admin, "disk", &format!("{SOS}/capacity.xml"), None).await;
    assert_eq!(element(&cdoc, "Capacity"), "10485760", "{cdoc}");
    assert_eq!(element(&cdoc, "Used"), "2000", "{cdoc}");
    assert_eq!(element(&cdoc, "Available"), (10_485_760 - 2000).to_string(), "{cdoc}");

    let off = Server::start_with(Options::default().args(&["--veeam-sosapi", "false"]));
    let admin = off.admin();
    make_bucket(&admin, "nosos").await;
    expect_err(
        admin
            .get_object()
            .bucket("nosos")
            .key(format!("{SOS}/system.xml"))
            .send()
            .await,
        404,
        "NoSuchKey",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sosapi_in_upstream_mode_reports_capacity_only_from_a_bucket_quota() {
    use crate::seaweed::*;
    let Some(weed) = weed() else { return };
    let sw = Seaweed::start(weed, false);
    let g = Server::start_with(gateway_options(&sw.endpoint, UP_SK));
    let c = g.client(ADMIN, Checksums::WhenRequired);
    make_bucket(&c, "upsos").await;
    let (doc, _, _) = get_text(&c, "upsos", &format!("{SOS}/system.xml"), None).await;
    assert_eq!(element(&doc, "CapacityInfo"), "false", "{doc}");
    expect_err(
        c.get_object()
            .bucket("upsos")
            .key(format!("{SOS}/capacity.xml"))
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    // With a byte quota on the bucket there is a capacity to report after all.
    set_bucket_quota(&g, ADMIN, "upsos", "1GiB");
    let (doc, _, _) = get_text(&c, "upsos", &format!("{SOS}/system.xml"), None).await;
    assert_eq!(element(&doc, "CapacityInfo"), "true", "{doc}");
    let (cdoc, _, _) = get_text(&c, "upsos", &format!("{SOS}/capacity.xml"), None).await;
    assert_eq!(element(&cdoc, "Capacity"), "1073741824", "{cdoc}");
}

/// A byte quota on `bucket` set by `keys` (officer or admin), through the running gateway's admin API.
#[track_caller]
fn set_bucket_quota(srv: &Server, keys: Keys, bucket: &str, bytes: &str) {
    let (code, out, err) = wormgate(
        &[
            "quota",
            "set",
            "--bucket",
            bucket,
            "--bytes",
            bytes,
            "--endpoint",
            &srv.endpoint,
        ],
        &keys_env(keys),
    );
    assert_eq!(code, 0, "quota set: {out}{err}");
}
