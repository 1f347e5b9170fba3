//! Evidence for compliance officers, end to end against the real binary: integrity alarms and scrub,
//! the tamper-evident audit trail (sealed segments, catalog anchor, signed checkpoints), trusted time,
//! metrics and the admin API, and catalog recovery. Each test fails when its property breaks.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Path of a blob file (disk layout `blobs/<last 2 chars>/<id>`).
fn blob_path(data: &Path, id: &str) -> PathBuf {
    data.join("blobs").join(&id[id.len() - 2..]).join(id)
}

fn flip_byte(path: &Path, at: u64) {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open blob");
    let mut b = [0u8; 1];
    f.seek(SeekFrom::Start(at)).unwrap();
    f.read_exact(&mut b).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(&[b[0] ^ 0x5a]).unwrap();
    f.sync_all().unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    let st = Command::new("cp").arg("-a").arg(from).arg(to).status().expect("cp");
    assert!(st.success());
}

fn lines_of(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(p: &Path, lines: &[String]) {
    let mut s = lines.join("\n");
    if !lines.is_empty() {
        s.push('\n');
    }
    std::fs::write(p, s).unwrap();
}

async fn put(c: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>) -> String {
    let out = ok(
        c.put_object().bucket(bucket).key(key).body(body.into()).send().await,
        "PutObject",
    );
    out.version_id().expect("version id").to_string()
}

/// Export the live audit trail through the admin API as JSON lines.
fn export_live(s: &Server) -> String {
    let (code, out, err) = wormgate(&["audit", "export", "--endpoint", &s.endpoint], &keys_env(AUDITOR));
    assert_eq!(code, 0, "audit export failed: {err}");
    out
}

#[tokio::test]
async fn corrupted_blob_aborts_get_is_audited_and_scrub_reports_it() {
    // Blobs as files of their own (a damaged segment entry: segments::damaged_segment_entries_…).
    let mut s = Server::start_with(Options::default().args(&["--segment-max-object", "0"]));
    let c = s.admin();
    make_bucket(&c, "evid").await;
    make_bucket(&c, "clean").await;
    let big = pattern(700_000, 1);
    let v_big = put(&c, "evid", "doc", big.clone()).await;
    let v_small = put(&c, "evid", "small", b"a short record".to_vec()).await;
    let v_gone = put(&c, "evid", "gone", pattern(1000, 2)).await;
    put(&c, "clean", "fine", pattern(5000, 3)).await;
    // Intact: the body arrives complete.
    let got = body_bytes(ok(c.get_object().bucket("evid").key("doc").send().await, "GET")).await;
    assert_eq!(got, big);

    // One byte changes on disk (same length).
    flip_byte(&blob_path(&s.data_dir, &v_big), 123_456);
    flip_byte(&blob_path(&s.data_dir, &v_small), 3);
    std::fs::remove_file(blob_path(&s.data_dir, &v_gone)).unwrap();

    for key in ["doc", "small"] {
        match c.get_object().bucket("evid").key(key).send().await {
            Err(_) => {}
            Ok(out) => {
                let r = out.body.collect().await;
                assert!(
                    r.is_err(),
                    "GET {key} of corrupted bytes must not end cleanly, got {} bytes",
                    r.map_or(0, |b| b.into_bytes().len())
                );
            }
        }
    }
    // The alarm is in the audit trail (written asynchronously after the abort).
    let mut trail = String::new();
    for _ in 0..50 {
        trail = export_live(&s);
        if trail.matches("\"IntegrityAlarm\"").count() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let alarm = trail
        .lines()
        .find(|l| l.contains("\"IntegrityAlarm\"") && l.contains("\"doc\""))
        .unwrap_or_else(|| panic!("no integrity alarm for doc in the trail:\n{trail}"));
    assert!(
        alarm.contains(&v_big) && alarm.contains("\"decision\":\"alarm\""),
        "{alarm}"
    );

    // Scrub through the running gateway (auditor key).
    let (code, out, err) = wormgate(&["scrub", "--endpoint", &s.endpoint], &keys_env(AUDITOR));
    assert_eq!(code, 1, "scrub must fail on corrupt data: {out}{err}");
    assert!(out.contains("CORRUPT evid/doc"), "{out}");
    assert!(out.contains("CORRUPT evid/small"), "{out}");
    assert!(out.contains("MISSING evid/gone"), "{out}");

    // Offline, with a crash leftover in tmp/ and an orphan blob.
    std::fs::write(s.data_dir.join("tmp").join("leftover.tmp"), b"partial").unwrap();
    s.stop();
    let (code, out, _) = wormgate(&["scrub", "--data-dir", p(&s.data_dir)], &[]);
    assert_eq!(code, 1, "{out}");
    for want in [
        "CORRUPT evid/doc",
        "CORRUPT evid/small",
        "MISSING evid/gone",
        "UNREFERENCED blob tmp/leftover.tmp",
    ] {
        assert!(out.contains(want), "missing '{want}' in:\n{out}");
    }
    assert!(!out.contains("clean/fine"), "{out}");
    // A bucket with nothing wrong passes.
    let (code, out, _) = wormgate(&["scrub", "--data-dir", p(&s.data_dir), "--bucket", "clean"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK: 1 versions"), "{out}");
}

#[tokio::test]
async fn a_flipped_byte_in_a_large_object_fails_the_get_before_its_end() {
    let s = Server::start();
    let c = s.admin();
    make_bucket(&c, "large").await;
    // Several read blocks (1 MiB each) and a short last one.
    let data = pattern(6 * 1024 * 1024 + 12_345, 7);
    let v = put(&c, "large", "obj", data.clone()).await;
    // The record (sidecar copy) carries the BLAKE3 that GET verifies, beside the evidence SHA-256.
    let blob = blob_path(&s.data_dir, &v);
    let mut side = blob.clone().into_os_string();
    side.push(".meta");
    let side = String::from_utf8_lossy(&std::fs::read(&side).expect("sidecar")).to_string();
    let b3 = blake3::hash(&data).to_hex().to_string();
    assert!(side.contains(&format!("\"blake3\":\"{b3}\"")), "{side}");
    let got = body_bytes(ok(c.get_object().bucket("large").key("obj").send().await, "GET")).await;
    assert!(got == data, "intact object must come back whole");

    // One byte early in the object changes on disk (same length).
    flip_byte(&blob, 1_000);
    let mut received = 0usize;
    let mut failed = false;
    match c.get_object().bucket("large").key("obj").send().await {
        Err(_) => failed = true,
        Ok(mut out) => loop {
            match out.body.next().await {
                Some(Ok(chunk)) => received += chunk.len(),
                Some(Err(_)) => {
                    failed = true;
                    break;
                }
                None => break,
            }
        },
    }
    assert!(failed, "the body of corrupted bytes must fail, not end cleanly");
    assert!(
        received < data.len(),
        "the client must not receive the whole body ({received} of {} bytes)",
        data.len()
    );
    // A ranged GET is not verified (no digest of the range), but still serves the stored bytes.
    let out = ok(
        c.get_object()
            .bucket("large")
            .key("obj")
            .range("bytes=0-1999")
            .send()
            .await,
        "ranged GET",
    );
    let part = body_bytes(out).await;
    assert_eq!(part.len(), 2000);
    assert_ne!(part[1_000], data[1_000]);
}

/// A stopped gateway's data directory with a multi-segment audit trail.
async fn trail_with_segments() -> Server {
    let mut s = Server::start_with(Options {
        extra_args: vec!["--audit-segment-bytes".into(), "4096".into()],
        ..Default::default()
    });
    let c = s.admin();
    make_bucket(&c, "audt").await;
    for i in 0..40 {
        put(&c, "audt", &format!("k{i}"), format!("record {i}").into_bytes()).await;
    }
    s.stop();
    s
}

fn verify_copy(s: &Server, tamper: impl FnOnce(&Path)) -> (i32, String) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    copy_dir(&s.data_dir, &data);
    tamper(&data.join("audit"));
    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", p(&data)], &[]);
    (code, format!("{out}{err}"))
}

#[tokio::test]
async fn audit_verify_detects_edited_deleted_reordered_and_truncated_records() {
    let s = trail_with_segments().await;
    let audit = s.data_dir.join("audit");
    let segs: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&audit)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        v.sort();
        v
    };
    assert!(segs.len() >= 3, "expected several sealed segments, got {segs:?}");
    assert!(audit.join("000001.seal").exists());

    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", p(&s.data_dir)], &[]);
    assert_eq!(code, 0, "intact trail must verify: {out}{err}");
    assert!(out.contains("OK:"), "{out}");
    assert!(
        out.contains("catalog anchor"),
        "the catalog anchor must be checked: {out}"
    );

    // Edit one field of one record.
    let (code, out) = verify_copy(&s, |a| {
        let seg = a.join("000002.log");
        let mut l = lines_of(&seg);
        let i = l
            .iter()
            .position(|x| x.contains("\"status\":200"))
            .expect("a 200 record");
        l[i] = l[i].replacen("\"status\":200", "\"status\":403", 1);
        write_lines(&seg, &l);
    });
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FIRST BROKEN LINK") && out.contains("000002.log"), "{out}");

    // Delete one record from the open (newest) segment.
    let newest = segs.last().unwrap().file_name().unwrap().to_owned();
    let (code, out) = verify_copy(&s, |a| {
        let seg = a.join(&newest);
        let mut l = lines_of(&seg);
        assert!(l.len() >= 3, "newest segment too short for this test");
        l.remove(1);
        write_lines(&seg, &l);
    });
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("missing record"), "{out}");

    // Delete a record from a sealed segment.
    let (code, out) = verify_copy(&s, |a| {
        let seg = a.join("000001.log");
        let mut l = lines_of(&seg);
        l.remove(2);
        write_lines(&seg, &l);
    });
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("sealed segment"), "{out}");

    // Reorder two records.
    let (code, out) = verify_copy(&s, |a| {
        let seg = a.join("000001.log");
        let mut l = lines_of(&seg);
        l.swap(1, 2);
        write_lines(&seg, &l);
    });
    assert_eq!(code, 1, "{out}");

    // Delete a whole sealed segment (with and without its seal).
    let (code, out) = verify_copy(&s, |a| std::fs::remove_file(a.join("000002.log")).unwrap());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("deleted"), "{out}");
    let (code, out) = verify_copy(&s, |a| {
        std::fs::remove_file(a.join("000002.log")).unwrap();
        std::fs::remove_file(a.join("000002.seal")).unwrap();
    });
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("missing"), "{out}");

    // Cut whole records off the end: the head anchored in the catalog is no longer in the log.
    let (code, out) = verify_copy(&s, |a| {
        let seg = a.join(&newest);
        let mut l = lines_of(&seg);
        l.truncate(l.len() - 1);
        write_lines(&seg, &l);
    });
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("truncated"), "{out}");

    // Delete the newest segment.
    let (code, out) = verify_copy(&s, |a| std::fs::remove_file(a.join(&newest)).unwrap());
    assert_eq!(code, 1, "{out}");
}

/// Rewrite the whole trail consistently after changing record `seq`: every hash, seal and seal record
/// recomputed — what an attacker with write access and no signing key can do.
fn rewrite_trail(dir: &Path, seq: u64) {
    use wormgate::audit::chain::{self, AuditRecord, Seal, GENESIS, SEAL_OPERATION};
    let mut prev = GENESIS.to_string();
    let mut prev_seal: Option<Seal> = None;
    for seg in chain::segments(dir).unwrap() {
        let n = chain::file_number(&seg).unwrap();
        let mut out = String::new();
        for (i, line) in std::fs::read_to_string(&seg).unwrap().lines().enumerate() {
            let mut r: AuditRecord = serde_json::from_str(line).unwrap();
            if r.seq == seq {
                r.event.key = Some("forged".into());
            }
            if i == 0 && r.event.operation == SEAL_OPERATION {
                if let Some(s) = &prev_seal {
                    r.event.detail = Some(serde_json::to_string(s).unwrap());
                }
            }
            r.prev = prev.clone();
            r.hash = AuditRecord::compute_hash(r.seq, &r.prev, &r.event);
            prev = r.hash.clone();
            out.push_str(&r.canonical_line());
            out.push('\n');
        }
        std::fs::write(&seg, &out).unwrap();
        if let Some(mut s) = chain::read_seal(dir, n).unwrap() {
            s.last_hash = prev.clone();
            s.bytes = out.len() as u64;
            s.sha256 = sha256_hex(out.as_bytes());
            std::fs::write(dir.join(chain::seal_name(n)), serde_json::to_vec_pretty(&s).unwrap()).unwrap();
            prev_seal = Some(s);
        }
    }
}

#[tokio::test]
async fn signed_checkpoint_proves_the_log_was_not_rewritten() {
    let keydir = tempfile::tempdir().unwrap();
    let key = keydir.path().join("audit.key");
    let (code, pubkey, err) = wormgate(&["audit", "keygen", "--out", p(&key)], &[]);
    assert_eq!(code, 0, "{err}");
    let pubkey = pubkey.trim().to_string();
    assert_eq!(pubkey.len(), 64);

    let mut s = Server::start_with(Options {
        extra_args: vec![
            "--audit-signing-key".into(),
            p(&key).into(),
            "--audit-segment-bytes".into(),
            "4096".into(),
        ],
        ..Default::default()
    });
    let c = s.admin();
    make_bucket(&c, "ckpt").await;
    for i in 0..10 {
        put(&c, "ckpt", &format!("k{i}"), vec![b'x'; 10]).await;
    }
    let ck = keydir.path().join("checkpoint.json");
    let (code, _, err) = wormgate(
        &["audit", "checkpoint", "--endpoint", &s.endpoint, "--out", p(&ck)],
        &keys_env(ADMIN),
    );
    assert_eq!(code, 0, "{err}");
    for i in 10..30 {
        put(&c, "ckpt", &format!("k{i}"), vec![b'y'; 10]).await;
    }
    s.stop();
    assert!(
        std::fs::read_dir(s.data_dir.join("audit/checkpoints")).unwrap().count() >= 2,
        "the on-demand and the shutdown checkpoint are stored beside the trail"
    );

    let (code, out, err) = wormgate(
        &[
            "audit",
            "verify",
            "--data-dir",
            p(&s.data_dir),
            "--checkpoint",
            p(&ck),
            "--trusted-key",
            &pubkey,
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("contained in the log"), "{out}");

    // Rewrite the log from record 5 on, consistently. Without the catalog anchor the chain alone
    // cannot tell; the off-box checkpoint can.
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("data");
    std::fs::create_dir_all(&copy).unwrap();
    copy_dir(&s.data_dir.join("audit"), &copy.join("audit"));
    rewrite_trail(&copy.join("audit"), 5);
    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", p(&copy)], &[]);
    assert_eq!(code, 0, "a consistent rewrite passes the chain check alone: {out}{err}");
    let (code, out, _) = wormgate(
        &["audit", "verify", "--data-dir", p(&copy), "--checkpoint", p(&ck)],
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("rewritten"), "{out}");

    // A forged checkpoint (seq changed) fails its signature.
    let forged = keydir.path().join("forged.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&ck).unwrap()).unwrap();
    v["seq"] = serde_json::json!(v["seq"].as_u64().unwrap() + 1);
    std::fs::write(&forged, serde_json::to_vec(&v).unwrap()).unwrap();
    let (code, out, _) = wormgate(
        &[
            "audit",
            "verify",
            "--data-dir",
            p(&s.data_dir),
            "--checkpoint",
            p(&forged),
        ],
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("signature"), "{out}");
    // Signed by another key than the trusted one.
    let (code, out, _) = wormgate(
        &[
            "audit",
            "verify",
            "--data-dir",
            p(&s.data_dir),
            "--checkpoint",
            p(&ck),
            "--trusted-key",
            &"0".repeat(64),
        ],
        &[],
    );
    assert_eq!(code, 1, "{out}");
}

#[tokio::test]
async fn wound_back_clock_refuses_expiry_deletes_and_raises_an_audited_alarm() {
    let mut s = Server::start_with(Options::min_retention("1s"));
    let c = s.admin();
    make_bucket(&c, "time").await;
    let vid = put(&c, "time", "k", b"short retention".to_vec()).await;
    s.stop();
    // The persisted watermark says we were already ten minutes ahead: the wall clock was wound back.
    // (Ten minutes stay inside the 15-minute signature skew window, so signed requests still work.)
    {
        let cat = wormgate::store::Catalog::open(&s.data_dir.join("catalog")).expect("catalog");
        let ahead = chrono::Utc::now().timestamp_millis() + 10 * 60_000;
        cat.store_watermark(ahead).unwrap();
        cat.flush_now().unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // let the catalog's flusher task end
    s.restart();
    let officer = s.client(OFFICER, Checksums::Default);
    // By guarded time the 1 s retention ended long ago, but the clock is not trusted: refused.
    expect_err(
        officer
            .delete_object()
            .bucket("time")
            .key("k")
            .version_id(&vid)
            .send()
            .await,
        403,
        "AccessDenied",
    );
    let (code, out, err) = wormgate(&["time", "status", "--endpoint", &s.endpoint], &keys_env(AUDITOR));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("behind_watermark"), "{out}");
    // An officer's confirmation cannot trust a wall clock that is behind the watermark.
    let (code, _, err) = wormgate(&["time", "confirm", "--endpoint", &s.endpoint], &keys_env(OFFICER));
    assert_eq!(code, 0, "{err}");
    expect_err(
        officer
            .delete_object()
            .bucket("time")
            .key("k")
            .version_id(&vid)
            .send()
            .await,
        403,
        "AccessDenied",
    );
    // Auditors may not confirm the time.
    let (code, _, _) = wormgate(&["time", "confirm", "--endpoint", &s.endpoint], &keys_env(AUDITOR));
    assert_eq!(code, 2);
    let trail = export_live(&s);
    assert!(
        trail
            .lines()
            .any(|l| l.contains("\"ClockAlarm\"") && l.contains("\"rule\":\"behind_watermark\"")),
        "clock alarm must be audited:\n{trail}"
    );
    assert!(
        trail
            .lines()
            .any(|l| l.contains("\"DeleteObject\"") && l.contains("\"rule\":\"clock_untrusted\"")),
        "the refused delete must name the clock rule:\n{trail}"
    );
    assert!(trail.contains("\"AdminTimeConfirm\""), "{trail}");
    // The version is still there.
    ok(c_head(&s, "time", "k", &vid).await, "HeadObject");
}

async fn c_head(
    s: &Server,
    b: &str,
    k: &str,
    v: &str,
) -> Result<
    aws_sdk_s3::operation::head_object::HeadObjectOutput,
    aws_sdk_s3::error::SdkError<
        aws_sdk_s3::operation::head_object::HeadObjectError,
        aws_sdk_s3::config::http::HttpResponse,
    >,
> {
    s.admin().head_object().bucket(b).key(k).version_id(v).send().await
}

#[tokio::test]
async fn metrics_need_credentials_and_count_requests_denials_and_retention() {
    let token = "prometheus-token-0123456789";
    let s = Server::start_with(Options {
        extra_args: vec![
            "--metrics-token".into(),
            token.into(),
            "--stats-interval".into(),
            "1s".into(),
        ],
        ..Default::default()
    });
    let c = s.admin();
    make_bucket(&c, "mets").await;
    let vid = put(&c, "mets", "k", vec![7u8; 4096]).await;
    let officer = s.client(OFFICER, Checksums::Default);
    expect_err(
        officer
            .delete_object()
            .bucket("mets")
            .key("k")
            .version_id(&vid)
            .send()
            .await,
        403,
        "AccessDenied",
    );

    let anon = raw_request(s.addr, "GET", "/metrics", &[], b"");
    assert_eq!(anon.status, 403, "metrics are not anonymous by default");
    let wrong = raw_request(
        s.addr,
        "GET",
        "/metrics",
        &[("authorization", "Bearer wrong-token-0123456789")],
        b"",
    );
    assert_eq!(wrong.status, 403);
    tokio::time::sleep(Duration::from_millis(1500)).await; // catalog totals recomputed
    let auth = format!("Bearer {token}");
    let m = raw_request(s.addr, "GET", "/metrics", &[("authorization", &auth)], b"");
    assert_eq!(m.status, 200);
    let text = m.text();
    for want in [
        "wormgate_requests_total{operation=\"PutObject\",status=\"200\"} 1",
        "wormgate_denied_total{operation=\"DeleteObject\",rule=\"retention_active\"} 1",
        "wormgate_request_duration_seconds_bucket{operation=\"PutObject\",le=\"+Inf\"} 1",
        "wormgate_versions_under_retention 1",
        "wormgate_bytes_under_retention 4096",
        "wormgate_integrity_alarms_total 0",
        "wormgate_clock_alarm{kind=\"behind_watermark\"} 0",
        "wormgate_audit_chain_length ",
        "wormgate_audit_chain_head{hash=\"",
    ] {
        assert!(text.contains(want), "missing '{want}' in /metrics:\n{text}");
    }
    let bytes_in: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("wormgate_bytes_in_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("bytes in");
    assert!(bytes_in >= 4096, "{text}");

    // Admin API roles: a writer may not read the evidence, an auditor may.
    let (code, _, err) = wormgate(&["report", "--endpoint", &s.endpoint], &keys_env(WRITER));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("403"), "{err}");
    let (code, out, err) = wormgate(&["report", "--endpoint", &s.endpoint], &keys_env(AUDITOR));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("bucket,key,version_id,"), "{out}");
    assert!(out.contains(&vid), "{out}");
    let (code, out, err) = wormgate(&["audit", "verify", "--endpoint", &s.endpoint], &keys_env(AUDITOR));
    assert_eq!(code, 0, "{out}{err}");
}

#[tokio::test]
async fn recover_rebuilds_the_catalog_with_every_version_retention_hold_and_marker() {
    let mut s = Server::start();
    let c = s.admin();
    let officer = s.client(OFFICER, Checksums::Default);
    make_bucket(&c, "recv").await;
    make_bucket(&c, "empty").await;
    ok(
        c.put_object_lock_configuration()
            .bucket("recv")
            .object_lock_configuration(
                aws_sdk_s3::types::ObjectLockConfiguration::builder()
                    .object_lock_enabled(aws_sdk_s3::types::ObjectLockEnabled::Enabled)
                    .rule(
                        aws_sdk_s3::types::ObjectLockRule::builder()
                            .default_retention(
                                aws_sdk_s3::types::DefaultRetention::builder()
                                    .mode(aws_sdk_s3::types::ObjectLockRetentionMode::Compliance)
                                    .days(30)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await,
        "PutObjectLockConfiguration",
    );
    let v1 = put(&c, "recv", "a", b"first".to_vec()).await;
    let v2 = put(&c, "recv", "a", b"second".to_vec()).await;
    let vb = put(&c, "recv", "b", pattern(20_000, 4)).await;
    let vc = put(&c, "recv", "c/deep key", b"third".to_vec()).await;
    put(&c, "recv", "d", b"to be deleted".to_vec()).await;
    // Retention extension and legal hold after the write (not in the sidecars).
    ok(
        officer
            .put_object_retention()
            .bucket("recv")
            .key("a")
            .version_id(&v1)
            .retention(
                aws_sdk_s3::types::ObjectLockRetention::builder()
                    .mode(aws_sdk_s3::types::ObjectLockRetentionMode::Compliance)
                    .retain_until_date(in_secs(days(400)))
                    .build(),
            )
            .send()
            .await,
        "PutObjectRetention",
    );
    ok(
        officer
            .put_object_legal_hold()
            .bucket("recv")
            .key("b")
            .version_id(&vb)
            .legal_hold(
                aws_sdk_s3::types::ObjectLockLegalHold::builder()
                    .status(aws_sdk_s3::types::ObjectLockLegalHoldStatus::On)
                    .build(),
            )
            .send()
            .await,
        "PutObjectLegalHold",
    );
    // A hold set and released again.
    for st in [
        aws_sdk_s3::types::ObjectLockLegalHoldStatus::On,
        aws_sdk_s3::types::ObjectLockLegalHoldStatus::Off,
    ] {
        ok(
            officer
                .put_object_legal_hold()
                .bucket("recv")
                .key("c/deep key")
                .version_id(&vc)
                .legal_hold(aws_sdk_s3::types::ObjectLockLegalHold::builder().status(st).build())
                .send()
                .await,
            "PutObjectLegalHold",
        );
    }
    // Delete markers: one by DeleteObject, one by DeleteObjects; one marker removed again.
    ok(c.delete_object().bucket("recv").key("d").send().await, "DeleteObject");
    let m = ok(
        c.delete_object().bucket("recv").key("c/deep key").send().await,
        "DeleteObject",
    );
    ok(
        officer
            .delete_object()
            .bucket("recv")
            .key("c/deep key")
            .version_id(m.version_id().unwrap())
            .send()
            .await,
        "remove marker",
    );
    ok(
        c.delete_objects()
            .bucket("recv")
            .delete(
                aws_sdk_s3::types::Delete::builder()
                    .objects(aws_sdk_s3::types::ObjectIdentifier::builder().key("b").build().unwrap())
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        "DeleteObjects",
    );
    // Recovery refuses to run under a live gateway.
    let (code, _, err) = wormgate(&["recover", "--data-dir", p(&s.data_dir)], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("in use"), "{err}");

    let (code, before, err) = wormgate(
        &["report", "--endpoint", &s.endpoint, "--format", "json"],
        &keys_env(AUDITOR),
    );
    assert_eq!(code, 0, "{err}");
    s.stop();
    let (code, offline, _) = wormgate(&["report", "--data-dir", p(&s.data_dir), "--format", "json"], &[]);
    assert_eq!(code, 0);
    assert_eq!(offline, before, "online and offline reports agree");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&before).unwrap();
    assert_eq!(rows.len(), 7, "{before}");
    let row = |v: &str| {
        rows.iter()
            .find(|r| r["version_id"] == v)
            .unwrap_or_else(|| panic!("{v} in {before}"))
            .clone()
    };
    let until = |r: &serde_json::Value| r["retain_until"].as_str().unwrap().to_string();
    assert!(until(&row(&v1)) > until(&row(&v2)), "the extension shows: {before}");
    assert_eq!(row(&vb)["legal_hold"], true);
    assert_eq!(row(&vc)["legal_hold"], false);
    assert_eq!(
        rows.iter().filter(|r| r["delete_marker"] == true).count(),
        2,
        "{before}"
    );

    // The catalog is lost.
    std::fs::remove_dir_all(s.data_dir.join("catalog")).unwrap();
    let (code, out, err) = wormgate(&["recover", "--data-dir", p(&s.data_dir)], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, after, _) = wormgate(&["report", "--data-dir", p(&s.data_dir), "--format", "json"], &[]);
    assert_eq!(code, 0);
    assert_eq!(
        after, before,
        "recover must restore every version, retention, legal hold and marker"
    );
    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", p(&s.data_dir)], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = wormgate(&["scrub", "--data-dir", p(&s.data_dir)], &[]);
    assert_eq!(code, 0, "{out}");

    // The gateway runs on the recovered catalog: buckets, default rule, protection, new versions.
    s.restart();
    let c = s.admin();
    let officer = s.client(OFFICER, Checksums::Default);
    let cfg = ok(
        c.get_object_lock_configuration().bucket("recv").send().await,
        "GetObjectLockConfiguration",
    );
    let days_back = cfg
        .object_lock_configuration()
        .and_then(|x| x.rule())
        .and_then(|r| r.default_retention())
        .and_then(aws_sdk_s3::types::DefaultRetention::days);
    assert_eq!(days_back, Some(30));
    ok(c.head_bucket().bucket("empty").send().await, "HeadBucket empty");
    expect_err(
        officer
            .delete_object()
            .bucket("recv")
            .key("a")
            .version_id(&v1)
            .send()
            .await,
        403,
        "AccessDenied",
    );
    let v_new = put(&c, "recv", "a", b"after recovery".to_vec()).await;
    assert!(v_new > v1, "version ids keep increasing after recovery");
    let got = body_bytes(ok(c.get_object().bucket("recv").key("a").send().await, "GET")).await;
    assert_eq!(got, b"after recovery");
    let got = body_bytes(ok(
        c.get_object().bucket("recv").key("a").version_id(&v1).send().await,
        "GET v1",
    ))
    .await;
    assert_eq!(got, b"first");
}

#[tokio::test]
async fn audit_export_filters_and_formats() {
    let mut s = Server::start();
    let c = s.admin();
    make_bucket(&c, "expo").await;
    put(&c, "expo", "wanted", b"x".to_vec()).await;
    put(&c, "expo", "other, \"quoted\"", b"y".to_vec()).await;
    s.stop();
    let d = p(&s.data_dir).to_string();
    let (code, csv, err) = wormgate(
        &[
            "audit",
            "export",
            "--data-dir",
            &d,
            "--format",
            "csv",
            "--bucket",
            "expo",
            "--key",
            "wanted",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("seq,time,request_id,principal,source,operation,bucket,key"),
        "{csv}"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].contains(",PutObject,expo,wanted,"), "{csv}");
    let (_, all, _) = wormgate(&["audit", "export", "--data-dir", &d, "--format", "csv"], &[]);
    assert!(all.contains("\"other, \"\"quoted\"\"\""), "CSV quoting: {all}");
    // JSON lines are the stored records, unchanged; a window in the future is empty.
    let (_, jsonl, _) = wormgate(&["audit", "export", "--data-dir", &d, "--key", "wanted"], &[]);
    let stored = std::fs::read_to_string(s.data_dir.join("audit/000001.log")).unwrap();
    for l in jsonl.lines() {
        assert!(stored.lines().any(|x| x == l), "{l}");
    }
    let (_, none, _) = wormgate(&["audit", "export", "--data-dir", &d, "--since", "2999-01-01"], &[]);
    assert!(none.is_empty(), "{none}");
}
