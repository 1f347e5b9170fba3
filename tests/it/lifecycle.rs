//! Lifecycle end to end (the real binary, `--min-retention 2s --lifecycle-day 1s
//! --lifecycle-interval 1s`): the configuration API, and the background executor reclaiming noncurrent
//! versions only once their retention has passed, keeping held and long-retained versions, removing
//! lone delete markers and aborting stale uploads — with the bytes really gone and the audit chain
//! intact. The same scenario runs in upstream mode against `SeaweedFS`.

use crate::common::*;
use crate::seaweed::*;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectLockLegalHoldStatus,
};
use aws_sdk_s3::Client;
use std::path::Path;
use std::time::{Duration, Instant};

const MIB: usize = 1024 * 1024;

fn lifecycle_args() -> Vec<&'static str> {
    vec!["--lifecycle-day", "1s", "--lifecycle-interval", "1s"]
}

/// The two rules most backup tools need, plus aborting stale uploads (all with 1-day periods).
pub(crate) fn backup_rules() -> BucketLifecycleConfiguration {
    let all = || LifecycleRuleFilter::builder().prefix("").build();
    BucketLifecycleConfiguration::builder()
        .rules(
            LifecycleRule::builder()
                .id("noncurrent")
                .status(ExpirationStatus::Enabled)
                .filter(all())
                .noncurrent_version_expiration(NoncurrentVersionExpiration::builder().noncurrent_days(1).build())
                .build()
                .unwrap(),
        )
        .rules(
            LifecycleRule::builder()
                .id("markers")
                .status(ExpirationStatus::Enabled)
                .filter(all())
                .expiration(
                    LifecycleExpiration::builder()
                        .expired_object_delete_marker(true)
                        .build(),
                )
                .abort_incomplete_multipart_upload(
                    AbortIncompleteMultipartUpload::builder()
                        .days_after_initiation(1)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// Bytes of every file under `dir`.
fn du(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                total += du(&p);
            } else if let Ok(m) = p.metadata() {
                total += m.len();
            }
        }
    }
    total
}

async fn put(c: &Client, bucket: &str, key: &str, len: usize, seed: u64) -> String {
    let out = ok(
        c.put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(pattern(len, seed)))
            .send()
            .await,
        "PutObject",
    );
    out.version_id().expect("version id").to_string()
}

pub(crate) async fn wait_until<F: AsyncFn() -> bool>(within: Duration, what: &str, f: F) {
    let start = Instant::now();
    while !f().await {
        assert!(start.elapsed() < within, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// What the scenario left, for the mode-specific checks.
struct Left {
    /// The versions that must stay: (key, version id).
    kept: Vec<(String, String)>,
    /// Bytes under `blobs/` once everything was written (disk mode).
    written: u64,
}

/// Attack catalogue #11 (lifecycle deleting locked versions). Writes versions, markers and an upload in
/// bucket `lcb`, sets the backup rules, and waits for the
/// executor. Asserts what must go went, and only after retention, and what must stay stayed.
async fn scenario(c: &Client, blobs: Option<&Path>) -> Left {
    make_bucket(c, "lcb").await;
    ok(
        c.put_bucket_lifecycle_configuration()
            .bucket("lcb")
            .lifecycle_configuration(backup_rules())
            .send()
            .await,
        "PutBucketLifecycleConfiguration",
    );
    let t0 = Instant::now();
    let a1 = put(c, "lcb", "a", MIB, 1).await;
    let a2 = put(c, "lcb", "a", MIB, 2).await;
    let a3 = put(c, "lcb", "a", 1000, 3).await;
    let held1 = put(c, "lcb", "held", 1000, 4).await;
    ok(
        c.put_object_legal_hold()
            .bucket("lcb")
            .key("held")
            .version_id(&held1)
            .legal_hold(
                aws_sdk_s3::types::ObjectLockLegalHold::builder()
                    .status(ObjectLockLegalHoldStatus::On)
                    .build(),
            )
            .send()
            .await,
        "PutObjectLegalHold",
    );
    put(c, "lcb", "held", 10, 5).await;
    let long1 = ok(
        c.put_object()
            .bucket("lcb")
            .key("long")
            .body(ByteStream::from(pattern(1000, 6)))
            .object_lock_mode(aws_sdk_s3::types::ObjectLockMode::Compliance)
            .object_lock_retain_until_date(in_secs(3600))
            .send()
            .await,
        "PutObject long retention",
    )
    .version_id()
    .unwrap()
    .to_string();
    put(c, "lcb", "long", 10, 7).await;
    put(c, "lcb", "gone", MIB, 8).await;
    ok(c.delete_object().bucket("lcb").key("gone").send().await, "DeleteObject");
    let up = ok(
        c.create_multipart_upload().bucket("lcb").key("stale").send().await,
        "CreateMultipartUpload",
    );
    let upload_id = up.upload_id().unwrap().to_string();
    ok(
        c.upload_part()
            .bucket("lcb")
            .key("stale")
            .upload_id(&upload_id)
            .part_number(1)
            .body(ByteStream::from(pattern(MIB, 9)))
            .send()
            .await,
        "UploadPart",
    );
    let written = blobs.map_or(0, du);
    // Not before the retention (2 s) has passed: everything is still there.
    if t0.elapsed() < Duration::from_millis(1500) {
        assert_eq!(
            versions_of(c, "lcb", "a").await.0.len(),
            3,
            "a noncurrent version went before its retention"
        );
        assert_eq!(versions_of(c, "lcb", "gone").await.0.len(), 1);
    }
    wait_until(
        Duration::from_secs(30),
        "noncurrent versions of a reclaimed",
        async || versions_of(c, "lcb", "a").await.0 == vec![a3.clone()],
    )
    .await;
    assert!(
        t0.elapsed() >= Duration::from_secs(2),
        "reclaimed before the 2 s retention"
    );
    wait_until(Duration::from_secs(30), "the lone marker of gone removed", async || {
        versions_of(c, "lcb", "gone").await == (vec![], vec![])
    })
    .await;
    wait_until(Duration::from_secs(30), "the stale upload aborted", async || {
        c.list_multipart_uploads()
            .bucket("lcb")
            .send()
            .await
            .unwrap()
            .uploads()
            .is_empty()
    })
    .await;
    // A few more passes: held and long-retained versions stay.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        versions_of(c, "lcb", "held").await.0.len(),
        2,
        "a legal-held version went"
    );
    assert_eq!(
        versions_of(c, "lcb", "long").await.0.len(),
        2,
        "a retained version went"
    );
    assert_eq!(versions_of(c, "lcb", "a").await.0, vec![a3.clone()]);
    let _ = (a1, a2);
    Left {
        kept: vec![("held".into(), held1), ("long".into(), long1)],
        written,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_api_answers_as_aws() {
    let s = Server::start_with(Options::min_retention("2s"));
    let officer = s.client(OFFICER, Checksums::Default);
    let writer = s.client(WRITER, Checksums::Default);
    make_bucket(&s.admin(), "cfg").await;
    expect_err(
        officer.get_bucket_lifecycle_configuration().bucket("cfg").send().await,
        404,
        "NoSuchLifecycleConfiguration",
    );
    // Writers may not set rules that make versions go.
    expect_err(
        writer
            .put_bucket_lifecycle_configuration()
            .bucket("cfg")
            .lifecycle_configuration(backup_rules())
            .send()
            .await,
        403,
        "AccessDenied",
    );
    ok(
        officer
            .put_bucket_lifecycle_configuration()
            .bucket("cfg")
            .lifecycle_configuration(backup_rules())
            .send()
            .await,
        "officer PUT",
    );
    let got = ok(
        writer.get_bucket_lifecycle_configuration().bucket("cfg").send().await,
        "GET",
    );
    let ids: Vec<_> = got.rules().iter().filter_map(|r| r.id()).collect();
    assert_eq!(ids, vec!["noncurrent", "markers"]);
    assert_eq!(
        got.rules()[0]
            .noncurrent_version_expiration()
            .and_then(aws_sdk_s3::types::NoncurrentVersionExpiration::noncurrent_days),
        Some(1)
    );
    assert_eq!(
        got.rules()[1]
            .expiration()
            .and_then(aws_sdk_s3::types::LifecycleExpiration::expired_object_delete_marker),
        Some(true)
    );
    // Without Content-MD5 or a checksum: refused as AWS refuses it, nothing changes.
    let doc = b"<LifecycleConfiguration><Rule><ID>x</ID><Filter/><Status>Enabled</Status>\
<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>";
    let r = signed_raw(s.addr, OFFICER, "PUT", "/cfg?lifecycle", &[], &sha256_hex(doc), doc);
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.code().as_deref(), Some("InvalidRequest"));
    assert!(r
        .text()
        .contains("Missing required header for this request: Content-MD5"));
    // A transition: 501, with a message saying why.
    let doc = b"<LifecycleConfiguration><Rule><ID>t</ID><Filter/><Status>Enabled</Status>\
<Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition></Rule></LifecycleConfiguration>";
    let md5 = {
        use base64::Engine;
        use md5::Digest;
        base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(doc))
    };
    let r = signed_raw(
        s.addr,
        OFFICER,
        "PUT",
        "/cfg?lifecycle",
        &[("content-md5", &md5)],
        &sha256_hex(doc),
        doc,
    );
    assert_eq!(r.status, 501, "{}", r.text());
    assert!(r.text().contains("storage class"), "{}", r.text());
    let still = ok(
        officer.get_bucket_lifecycle_configuration().bucket("cfg").send().await,
        "GET",
    );
    assert_eq!(still.rules().len(), 2, "a refused PUT changed the configuration");
    // DELETE: 204, then GET is 404 again.
    expect_err(
        writer.delete_bucket_lifecycle().bucket("cfg").send().await,
        403,
        "AccessDenied",
    );
    ok(officer.delete_bucket_lifecycle().bucket("cfg").send().await, "DELETE");
    expect_err(
        officer.get_bucket_lifecycle_configuration().bucket("cfg").send().await,
        404,
        "NoSuchLifecycleConfiguration",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_space_comes_back_once_retention_allows() {
    // Blobs as files of their own: their space comes back at once. (Segment entries come back with
    // their whole sealed segment: segments::a_sealed_segment_is_reclaimed_only_when_….)
    let mut args = lifecycle_args();
    args.extend(["--segment-max-object", "0"]);
    let mut s = Server::start_with(Options::min_retention("2s").args(&args));
    let c = s.admin();
    let blobs = s.data_dir.join("blobs");
    let left = scenario(&c, Some(&blobs)).await;
    // What stays is readable.
    for (key, vid) in &left.kept {
        ok(
            c.get_object().bucket("lcb").key(key).version_id(vid).send().await,
            "GET kept version",
        );
    }
    // The two 1 MiB noncurrent versions of a, gone's 1 MiB version and the 1 MiB part are off disk.
    let after = du(&blobs);
    assert!(
        left.written >= 4 * MIB as u64,
        "the writes are on disk: {}",
        left.written
    );
    assert!(
        left.written - after >= 4 * MIB as u64 && after < MIB as u64,
        "blobs hold {after} bytes after lifecycle, {} before",
        left.written
    );
    s.stop();
    let d = s.data_dir.to_str().unwrap().to_string();
    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", &d], &[]);
    assert_eq!(code, 0, "audit verify: {out}{err}");
    let (_, log, _) = wormgate(&["audit", "export", "--data-dir", &d], &[]);
    let lifecycle: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"principal\":\"lifecycle\""))
        .collect();
    for op in [
        "LifecycleNoncurrentVersionExpiration",
        "LifecycleExpiredObjectDeleteMarker",
        "LifecycleAbortIncompleteMultipartUpload",
    ] {
        assert!(
            lifecycle.iter().any(|l| l.contains(op)),
            "no {op} record in {lifecycle:#?}"
        );
    }
    assert!(
        lifecycle
            .iter()
            .any(|l| l.contains("rule 'noncurrent': 1048576 bytes freed")),
        "{lifecycle:#?}"
    );
    assert_eq!(
        lifecycle.iter().filter(|l| l.contains("\"version_removed\"")).count(),
        3,
        "one record per removed version: {lifecycle:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_objects_and_records_are_deleted() {
    let Some(weed) = weed() else { return };
    let sw = Seaweed::start(weed, false);
    let mut opts = gateway_options(&sw.endpoint, UP_SK).args(&lifecycle_args());
    opts.min_retention = Some("2s".into());
    let mut g = Server::start_with(opts);
    let c = g.client(ADMIN, Checksums::WhenRequired);
    scenario(&c, None).await;
    // a's current version, held ×2, long ×2: each an upstream object (records are in segments).
    let keys = sw.keys().await;
    let data_objects = keys
        .iter()
        .filter(|k| !k.ends_with(".meta") && !k.contains("/records/"))
        .count();
    assert_eq!(data_objects, 5, "upstream keeps only what the catalog keeps: {keys:#?}");
    g.stop();
    let d = g.data_dir.to_str().unwrap().to_string();
    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", &d], &[]);
    assert_eq!(code, 0, "audit verify: {out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_lists_what_goes_when_and_run_applies_it() {
    let mut s = Server::start_with(Options::min_retention("2s").args(&[
        "--lifecycle-day",
        "1s",
        "--lifecycle-interval",
        "off",
    ]));
    let c = s.admin();
    make_bucket(&c, "plan").await;
    ok(
        c.put_bucket_lifecycle_configuration()
            .bucket("plan")
            .lifecycle_configuration(backup_rules())
            .send()
            .await,
        "PutBucketLifecycleConfiguration",
    );
    let old = put(&c, "plan", "k", 1000, 1).await;
    let held = put(&c, "plan", "k", 1000, 2).await;
    ok(
        c.put_object_legal_hold()
            .bucket("plan")
            .key("k")
            .version_id(&held)
            .legal_hold(
                aws_sdk_s3::types::ObjectLockLegalHold::builder()
                    .status(ObjectLockLegalHoldStatus::On)
                    .build(),
            )
            .send()
            .await,
        "PutObjectLegalHold",
    );
    put(&c, "plan", "k", 1000, 3).await;
    let (code, csv, err) = wormgate(
        &["lifecycle", "plan", "--endpoint", &s.endpoint, "--bucket", "plan"],
        &keys_env(AUDITOR),
    );
    assert_eq!(code, 0, "plan: {err}");
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    let old_row = rows
        .iter()
        .find(|r| r.contains(&old))
        .expect("the old version is planned");
    assert!(
        old_row.contains("LifecycleNoncurrentVersionExpiration,noncurrent,1000,"),
        "{old_row}"
    );
    let held_row = rows
        .iter()
        .find(|r| r.contains(&held))
        .expect("the held version is listed");
    assert!(held_row.ends_with(",true,held"), "{held_row}");
    // A dry run lists and changes nothing; writers may not run a pass.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (code, out, err) = wormgate(
        &["lifecycle", "run", "--dry-run", "--endpoint", &s.endpoint],
        &keys_env(OFFICER),
    );
    assert_eq!(code, 0, "dry run: {err}");
    let rep: serde_json::Value = serde_json::from_str(&out).expect("report JSON");
    assert_eq!(rep["dry_run"], true);
    assert_eq!(rep["actions"][0]["version_id"], old.as_str(), "{out}");
    assert_eq!(versions_of(&c, "plan", "k").await.0.len(), 3);
    let (code, _, _) = wormgate(&["lifecycle", "run", "--endpoint", &s.endpoint], &keys_env(WRITER));
    assert_ne!(code, 0, "a writer ran a lifecycle pass");
    let (code, out, err) = wormgate(&["lifecycle", "run", "--endpoint", &s.endpoint], &keys_env(OFFICER));
    assert_eq!(code, 0, "run: {err}");
    let rep: serde_json::Value = serde_json::from_str(&out).expect("report JSON");
    assert_eq!(
        (rep["versions_removed"].as_u64(), rep["skipped_held"].as_u64()),
        (Some(1), Some(1)),
        "{out}"
    );
    assert_eq!(versions_of(&c, "plan", "k").await.0.len(), 2);
    let metrics = signed_raw(s.addr, AUDITOR, "GET", "/metrics", &[], &sha256_hex(b""), b"").text();
    for line in [
        "wormgate_lifecycle_versions_reclaimed_total 1",
        "wormgate_lifecycle_bytes_reclaimed_total 1000",
        "wormgate_lifecycle_kept_versions{reason=\"held\"} 1",
        "wormgate_lifecycle_runs_total 1",
    ] {
        assert!(metrics.contains(line), "no `{line}` in /metrics");
    }
    // Offline, on the stopped gateway's data directory: only the held version is left to plan.
    s.stop();
    let d = s.data_dir.to_str().unwrap().to_string();
    let (code, json, err) = wormgate(
        &[
            "lifecycle",
            "plan",
            "--data-dir",
            &d,
            "--format",
            "json",
            "--lifecycle-day",
            "1s",
        ],
        &[],
    );
    assert_eq!(code, 0, "offline plan: {err}");
    let rows: serde_json::Value = serde_json::from_str(&json).expect("plan JSON");
    let rows = rows.as_array().expect("an array");
    assert_eq!(rows.len(), 1, "{json}");
    assert_eq!(rows[0]["version_id"], held.as_str());
    assert_eq!(rows[0]["eligible"], serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_killed_midway_is_finished_after_restart() {
    let mut s = Server::start_with(Options::min_retention("2s").args(&lifecycle_args()));
    let c = s.admin();
    make_bucket(&c, "crash").await;
    const N: usize = 300;
    for i in 0..N {
        put(&c, "crash", "k", 20_000, i as u64).await;
    }
    let rules = BucketLifecycleConfiguration::builder()
        .rules(
            LifecycleRule::builder()
                .id("noncurrent")
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix("").build())
                .noncurrent_version_expiration(NoncurrentVersionExpiration::builder().noncurrent_days(1).build())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    ok(
        c.put_bucket_lifecycle_configuration()
            .bucket("crash")
            .lifecycle_configuration(rules)
            .send()
            .await,
        "PutBucketLifecycleConfiguration",
    );
    // kill -9 as soon as the pass has started removing versions (and before it is done).
    let start = Instant::now();
    let seen = loop {
        let n = versions_of(&c, "crash", "k").await.0.len();
        if n < N {
            break n;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the pass never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    s.kill9();
    assert!(seen > 1, "the pass was over before the kill: the test proves nothing");
    s.restart();
    let c = s.admin();
    wait_until(
        Duration::from_secs(60),
        "the restarted gateway finishes the work",
        async || versions_of(&c, "crash", "k").await.0.len() == 1,
    )
    .await;
    s.stop();
    let d = s.data_dir.to_str().unwrap().to_string();
    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", &d], &[]);
    assert_eq!(code, 0, "audit verify: {out}{err}");
    // Nothing the catalog still holds lost its bytes (a blob whose record went just before the kill
    // may be left over: scrub reports it as unreferenced, not as missing or corrupt).
    let (code, out, err) = wormgate(&["scrub", "--data-dir", &d], &[]);
    assert_eq!(code, 0, "scrub: {out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_lock_refusal_is_retried_until_it_lets_go() {
    let Some(weed) = weed() else { return };
    let sw = Seaweed::start(weed, true);
    let mut opts = gateway_options(&sw.endpoint, UP_SK).args(&lifecycle_args());
    opts.min_retention = Some("2s".into());
    let mut g = Server::start_with(opts);
    let c = g.client(ADMIN, Checksums::WhenRequired);
    make_bucket(&c, "refused").await;
    let old = put(&c, "refused", "k", 1000, 1).await;
    put(&c, "refused", "k", 1000, 2).await;
    // Someone with the upstream credentials extends the upstream retention of the old version's object
    // beyond the gateway's: the upstream's own lock refuses the delete for a while.
    let upstream_key = format!("{PREFIX}/{old}");
    ok(
        sw.client()
            .put_object_retention()
            .bucket(UP_BUCKET)
            .key(&upstream_key)
            .retention(
                aws_sdk_s3::types::ObjectLockRetention::builder()
                    .mode(aws_sdk_s3::types::ObjectLockRetentionMode::Compliance)
                    .retain_until_date(in_secs(12))
                    .build(),
            )
            .send()
            .await,
        "upstream PutObjectRetention",
    );
    let rules = BucketLifecycleConfiguration::builder()
        .rules(
            LifecycleRule::builder()
                .id("noncurrent")
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix("").build())
                .noncurrent_version_expiration(NoncurrentVersionExpiration::builder().noncurrent_days(1).build())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    ok(
        c.put_bucket_lifecycle_configuration()
            .bucket("refused")
            .lifecycle_configuration(rules)
            .send()
            .await,
        "PutBucketLifecycleConfiguration",
    );
    // The gateway's retention passes: the version leaves the catalog, its object stays upstream.
    wait_until(Duration::from_secs(30), "the version leaves the catalog", async || {
        versions_of(&c, "refused", "k").await.0.len() == 1
    })
    .await;
    assert!(
        sw.keys().await.contains(&upstream_key),
        "the upstream lock should still hold it"
    );
    // Retried every pass until the upstream lets go.
    wait_until(
        Duration::from_secs(40),
        "the upstream object is deleted on a later pass",
        async || !sw.keys().await.contains(&upstream_key),
    )
    .await;
    let metrics = signed_raw(g.addr, ADMIN, "GET", "/metrics", &[], &sha256_hex(b""), b"").text();
    let refused: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("wormgate_lifecycle_upstream_refused_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the refusal counter");
    assert!(refused >= 1, "refusals are reported");
    g.stop();
    let d = g.data_dir.to_str().unwrap().to_string();
    let (_, log, _) = wormgate(&["audit", "export", "--data-dir", &d], &[]);
    assert!(log.contains("LifecycleUpstreamRetry"), "the later deletion is audited");
    assert!(
        log.contains("still retained by the upstream's own lock"),
        "the refusal is audited"
    );
}
