//! Active/standby over one upstream bucket (docs/high-availability.md): gateway A writes through a
//! real `SeaweedFS` whose bucket has Object Lock and is killed with SIGKILL; gateway B, on a fresh data
//! directory on another "machine" (nothing of A's disk), rebuilds its catalog from the upstream with
//! `wormgate recover` and serves every acknowledged version with its retention and legal hold —
//! including an extension and a hold made after the writes, which B learns from the upstream's own
//! Object Lock (A mirrors every change there before it answers).

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ObjectLockLegalHold, ObjectLockLegalHoldStatus, ObjectLockRetention,
    ObjectLockRetentionMode,
};
use aws_sdk_s3::Client;

use crate::common::*;
use crate::seaweed::*;

const BUCKET: &str = "ha-standby";

async fn put(c: &Client, key: &str, body: &[u8], retain_days: Option<i64>) -> String {
    let mut req = c
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .body(ByteStream::from(body.to_vec()));
    if let Some(d) = retain_days {
        req = req
            .object_lock_mode(aws_sdk_s3::types::ObjectLockMode::Compliance)
            .object_lock_retain_until_date(in_secs(days(d)));
    }
    ok(req.send().await, "PutObject")
        .version_id()
        .expect("version id")
        .to_string()
}

async fn multipart(c: &Client, key: &str, parts: &[Vec<u8>]) -> String {
    let up = ok(
        c.create_multipart_upload().bucket(BUCKET).key(key).send().await,
        "CreateMultipartUpload",
    );
    let id = up.upload_id().expect("upload id").to_string();
    let mut done = Vec::new();
    for (n, p) in (1..).zip(parts) {
        let r = ok(
            c.upload_part()
                .bucket(BUCKET)
                .key(key)
                .upload_id(&id)
                .part_number(n)
                .body(ByteStream::from(p.clone()))
                .send()
                .await,
            "UploadPart",
        );
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(r.e_tag().expect("etag"))
                .build(),
        );
    }
    ok(
        c.complete_multipart_upload()
            .bucket(BUCKET)
            .key(key)
            .upload_id(&id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
            .send()
            .await,
        "CompleteMultipartUpload",
    )
    .version_id()
    .expect("version id")
    .to_string()
}

/// Gateway B on a fresh data directory (nothing of A's disk): `wormgate recover` rebuilds its
/// catalog from the upstream alone (it must succeed), then B serves. Returns B and what recover
/// printed.
fn standby_recovered_from(sw: &Seaweed) -> (Server, String) {
    let mut recovered = String::new();
    let b = Server::start_prepared(gateway_options(&sw.endpoint, UP_SK), |data| {
        let mut args = vec!["recover".to_string(), "--data-dir".into(), data.display().to_string()];
        args.extend(upstream_flags(&sw.endpoint));
        let (code, out, err) = wormgate(
            &args,
            &[
                ("WORMGATE_UPSTREAM_ACCESS_KEY", UP_AK),
                ("WORMGATE_UPSTREAM_SECRET_KEY", UP_SK),
            ],
        );
        assert_eq!(code, 0, "recover: {out}{err}");
        recovered = out;
    });
    (b, recovered)
}

/// The bytes of one version as B serves them.
async fn get_on_b(c: &Client, key: &str, version: &str) -> Vec<u8> {
    body_bytes(ok(
        c.get_object().bucket(BUCKET).key(key).version_id(version).send().await,
        "GetObject on B",
    ))
    .await
}

/// What A acknowledged about one version.
struct Acked {
    key: &'static str,
    version: String,
    body: Vec<u8>,
    retain_until: i64,
    legal_hold: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_recovers_every_acknowledged_version_from_the_upstream_alone() {
    let Some(weed) = weed() else { return };
    let sw = Seaweed::start(weed, true);
    let mut a = Server::start_with(gateway_options(&sw.endpoint, UP_SK));
    let c = a.admin();
    make_bucket(&c, BUCKET).await;

    let v1 = put(&c, "doc", b"first", None).await;
    let v2 = put(&c, "doc", b"second", None).await;
    let long = put(&c, "long", b"kept for a month", Some(30)).await;
    let parts = vec![pattern(5 * 1024 * 1024, 7), pattern(64 * 1024, 8)];
    let mp = multipart(&c, "mp", &parts).await;
    // After the writes: an extension and a legal hold (in no record as written).
    ok(
        c.put_object_retention()
            .bucket(BUCKET)
            .key("doc")
            .version_id(&v1)
            .retention(
                ObjectLockRetention::builder()
                    .mode(ObjectLockRetentionMode::Compliance)
                    .retain_until_date(in_secs(days(400)))
                    .build(),
            )
            .send()
            .await,
        "PutObjectRetention",
    );
    ok(
        c.put_object_legal_hold()
            .bucket(BUCKET)
            .key("doc")
            .version_id(&v2)
            .legal_hold(
                ObjectLockLegalHold::builder()
                    .status(ObjectLockLegalHoldStatus::On)
                    .build(),
            )
            .send()
            .await,
        "PutObjectLegalHold",
    );

    let mut acked = Vec::new();
    for (key, version, body) in [
        ("doc", v1.clone(), b"first".to_vec()),
        ("doc", v2.clone(), b"second".to_vec()),
        ("long", long.clone(), b"kept for a month".to_vec()),
        ("mp", mp.clone(), parts.concat()),
    ] {
        acked.push(Acked {
            key,
            retain_until: retain_until(&c, BUCKET, key, Some(&version)).await,
            legal_hold: legal_hold_on(&c, BUCKET, key, &version).await,
            version,
            body,
        });
    }
    assert!(
        acked[0].retain_until > acked[1].retain_until + days(300),
        "the extension took"
    );
    assert!(acked[1].legal_hold);

    // A's machine is gone: killed, and nothing of its disk is used again.
    a.kill9();
    drop(a);

    // B: recover into an empty data directory from the upstream alone, then serve.
    let (b, recovered) = standby_recovered_from(&sw);
    assert!(recovered.contains("recovered 1 buckets, 4 versions"), "{recovered}");
    assert!(
        recovered.contains("2 raised to the upstream's Object Lock"),
        "the extension and the hold come from the upstream's lock: {recovered}"
    );
    assert!(recovered.contains("warning: no audit trail"), "{recovered}");

    let c = b.admin();
    for v in &acked {
        let got = get_on_b(&c, v.key, &v.version).await;
        assert!(got == v.body, "{} {}: bytes differ after failover", v.key, v.version);
        let until = retain_until(&c, BUCKET, v.key, Some(&v.version)).await;
        assert!(
            until >= v.retain_until,
            "{} {}: retention {until} on B is shorter than {} on A",
            v.key,
            v.version,
            v.retain_until
        );
        assert_eq!(
            legal_hold_on(&c, BUCKET, v.key, &v.version).await,
            v.legal_hold,
            "{} {}: legal hold",
            v.key,
            v.version
        );
        // Still locked on B: the version cannot be deleted by id.
        expect_err(
            c.delete_object()
                .bucket(BUCKET)
                .key(v.key)
                .version_id(&v.version)
                .send()
                .await,
            403,
            "AccessDenied",
        );
    }
    // The current version of `doc` is still the newest one, and B keeps writing after it.
    let cur = ok(c.head_object().bucket(BUCKET).key("doc").send().await, "HeadObject");
    assert_eq!(cur.version_id(), Some(v2.as_str()));
    let v3 = put(&c, "doc", b"third, on B", None).await;
    assert!(v3 > v2, "version ids keep increasing on the standby: {v3} after {v2}");
    let (versions, _) = versions_of(&c, BUCKET, "doc").await;
    assert_eq!(versions, vec![v3, v2, v1]);

    let d = b.data_dir.display().to_string();
    drop(c);
    let mut b = b;
    b.stop();
    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", &d], &[]);
    assert_eq!(code, 0, "B's audit trail verifies: {out}{err}");
    let (code, out, err) = wormgate(&["audit", "export", "--data-dir", &d], &[]);
    assert_eq!(code, 0, "{err}");
    let first: serde_json::Value =
        serde_json::from_str(out.lines().next().expect("a first record")).expect("JSON line");
    assert_eq!(
        first["operation"], "RecoverCatalog",
        "B's trail starts with the recovery: {out}"
    );
}

/// (key, version id, bytes) of every acknowledged PUT, shared by the writers.
type Shared = std::sync::Arc<std::sync::Mutex<Vec<(String, String, Vec<u8>)>>>;

/// Group commit under load: eight writers put small objects through gateway A (their records share
/// record segments) until A is killed with SIGKILL mid-load; B recovers from the upstream alone and
/// serves every version any writer heard 200 for, byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_under_concurrent_writers_loses_no_acknowledged_version_upstream() {
    let Some(weed) = weed() else { return };
    let sw = Seaweed::start(weed, false);
    let mut a = Server::start_with(gateway_options(&sw.endpoint, UP_SK));
    let c = a.admin();
    make_bucket(&c, BUCKET).await;
    let acked: Shared = std::sync::Arc::default();
    let mut writers = Vec::new();
    for w in 0..8u64 {
        let c = c.clone();
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            for n in 0u64.. {
                let key = format!("w{w}/{n}");
                let body = pattern(100 + usize::try_from(n % 50).unwrap() * 97, w * 1000 + n);
                let Ok(r) = c
                    .put_object()
                    .bucket(BUCKET)
                    .key(&key)
                    .body(ByteStream::from(body.clone()))
                    .send()
                    .await
                else {
                    return; // A is gone
                };
                let vid = r.version_id().expect("version id").to_string();
                acked.lock().unwrap().push((key, vid, body));
            }
        }));
    }
    while acked.lock().unwrap().len() < 150 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    a.kill9();
    for w in writers {
        w.await.unwrap();
    }
    drop(a);
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let segs = sw.segment_records().await;
    let shared = segs
        .values()
        .map(|(s, _)| s)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    eprintln!(
        "{} acknowledged, {} records in {shared} segments",
        acked.len(),
        segs.len()
    );

    let (b, _) = standby_recovered_from(&sw);
    let c = b.admin();
    for (key, vid, body) in &acked {
        assert!(
            segs.contains_key(vid),
            "{key} {vid}: acknowledged without its record upstream"
        );
        let got = get_on_b(&c, key, vid).await;
        assert!(got == *body, "{key} {vid}: bytes differ after failover");
    }
}
