//! The off-box audit archive against a real `SeaweedFS` with an Object Lock bucket: sealed segments and
//! signed checkpoints appear there with COMPLIANCE retention, `SeaweedFS` refuses to delete an archived
//! version, `audit verify --from-archive` passes and tells a tampered local segment apart, a restart
//! resumes without a second version of anything, a conflicting file raises the alarm (log, metric,
//! audit record) and overwrites nothing, and an archive that is down at start is caught up with.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::seaweed::*;

const ARCHIVE_ENV: [(&str, &str); 2] = [
    ("WORMGATE_AUDIT_ARCHIVE_ACCESS_KEY", UP_AK),
    ("WORMGATE_AUDIT_ARCHIVE_SECRET_KEY", UP_SK),
];

fn archive_flags(endpoint: &str) -> Vec<String> {
    [
        "--audit-archive-endpoint",
        endpoint,
        "--audit-archive-bucket",
        UP_BUCKET,
        "--audit-archive-prefix",
        PREFIX,
    ]
    .iter()
    .map(ToString::to_string)
    .collect()
}

/// A disk-mode gateway archiving to `endpoint`: 4 KiB segments, checkpoints every 2 s, an archive
/// pass every second, anonymous /metrics.
fn gateway(endpoint: &str, key: &Path) -> Options {
    let mut o = Options::default().args(&archive_flags(endpoint)).args(&[
        "--audit-segment-bytes",
        "4096",
        "--audit-signing-key",
        key.to_str().unwrap(),
        "--checkpoint-interval",
        "2s",
        "--audit-archive-interval",
        "1s",
        "--metrics-anonymous",
        "true",
    ]);
    for (k, v) in ARCHIVE_ENV {
        o = o.env(k, v);
    }
    o
}

fn keygen(dir: &Path) -> std::path::PathBuf {
    let key = dir.join("audit.key");
    let (code, _, err) = wormgate(&["audit", "keygen", "--out", key.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    key
}

async fn traffic(s: &Server, bucket: &str, from: usize, n: usize) {
    let c = s.admin();
    if from == 0 {
        make_bucket(&c, bucket).await;
    }
    for i in from..from + n {
        c.put_object()
            .bucket(bucket)
            .key(format!("object-{i}"))
            .body(vec![b'x'; 100].into())
            .send()
            .await
            .expect("put");
    }
}

/// Names in the archive (without the prefix).
async fn archived(sw: &Seaweed) -> Vec<String> {
    sw.keys()
        .await
        .into_iter()
        .map(|k| k.strip_prefix(&format!("{PREFIX}/")).unwrap_or(&k).to_string())
        .collect()
}

/// Sealed segments of the local trail (their numbers).
fn local_seals(data: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(data.join("audit"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| std::path::Path::new(n).extension().is_some_and(|e| e == "seal"))
        .collect();
    v.sort();
    v
}

/// Until every local sealed segment (log + seal) and at least `checkpoints` checkpoints are archived.
async fn wait_archived(sw: &Seaweed, data: &Path, checkpoints: usize, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    loop {
        let names = archived(sw).await;
        let seals = local_seals(data);
        let all_in = !seals.is_empty()
            && seals
                .iter()
                .all(|s| names.contains(s) && names.contains(&s.replace(".seal", ".log")));
        let cps = names.iter().filter(|n| n.starts_with("checkpoints/")).count();
        if all_in && cps >= checkpoints {
            return names;
        }
        assert!(
            Instant::now() < deadline,
            "not archived within {within:?}: local seals {seals:?}, archive {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn metric(s: &Server, name: &str) -> Option<f64> {
    let r = raw_request(s.addr, "GET", "/metrics", &[], b"");
    assert_eq!(r.status, 200);
    r.text()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")).and_then(|v| v.trim().parse().ok()))
}

fn verify_from_archive(endpoint: &str, data: &Path) -> (i32, String, String) {
    let mut args = vec![
        "audit".to_string(),
        "verify".into(),
        "--from-archive".into(),
        "--data-dir".into(),
        data.to_str().unwrap().into(),
    ];
    args.extend(archive_flags(endpoint));
    wormgate(&args, &ARCHIVE_ENV)
}

/// Each archived key has exactly one version (nothing was written twice, nothing overwritten).
async fn one_version_each(sw: &Seaweed) {
    let versions = sw.versions().await;
    let mut keys: Vec<&str> = versions.iter().map(|v| v.split(' ').next().unwrap_or("")).collect();
    let n = keys.len();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(
        keys.len(),
        n,
        "an archived file has more than one version: {versions:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_segments_and_checkpoints_are_archived_locked_verifiable_and_never_overwritten() {
    let Some(weed) = weed() else { return };
    let sw = Seaweed::start(weed, true);
    let keydir = tempfile::tempdir().unwrap();
    let key = keygen(keydir.path());
    let mut s = Server::start_with(gateway(&sw.endpoint, &key));
    traffic(&s, "arch", 0, 40).await;
    assert!(local_seals(&s.data_dir).len() >= 2, "the traffic seals segments");
    let names = wait_archived(&sw, &s.data_dir, 1, Duration::from_secs(60)).await;
    assert!(
        !names
            .iter()
            .filter_map(|n| n.strip_suffix(".log"))
            .any(|stem| !names.contains(&format!("{stem}.seal"))),
        "only sealed segments are archived (the open one is not): {names:?}"
    );

    // COMPLIANCE retention for 7 years (the default), and SeaweedFS refuses to delete the version.
    let c = sw.client();
    for name in ["000001.log", "000001.seal"] {
        let k = format!("{PREFIX}/{name}");
        let r = c
            .get_object_retention()
            .bucket(UP_BUCKET)
            .key(&k)
            .send()
            .await
            .expect("retention of an archived file");
        let ret = r.retention().expect("retention");
        assert_eq!(
            ret.mode().map(aws_sdk_s3::types::ObjectLockRetentionMode::as_str),
            Some("COMPLIANCE")
        );
        let until = ret.retain_until_date().expect("retain-until").secs();
        let six_years = chrono::Utc::now().timestamp() + 6 * 365 * 86_400;
        assert!(until > six_years, "retained for about 7 years, not until {until}");
        let head = c.head_object().bucket(UP_BUCKET).key(&k).send().await.unwrap();
        let vid = head.version_id().expect("version id").to_string();
        let del = c
            .delete_object()
            .bucket(UP_BUCKET)
            .key(&k)
            .version_id(&vid)
            .send()
            .await;
        assert!(del.is_err(), "SeaweedFS deleted an archived, retained version of {k}");
        assert!(c
            .head_object()
            .bucket(UP_BUCKET)
            .key(&k)
            .version_id(&vid)
            .send()
            .await
            .is_ok());
    }
    let cp = names.iter().find(|n| n.starts_with("checkpoints/")).unwrap();
    let r = c
        .get_object_retention()
        .bucket(UP_BUCKET)
        .key(format!("{PREFIX}/{cp}"))
        .send()
        .await
        .expect("retention of an archived checkpoint");
    assert_eq!(
        r.retention()
            .and_then(|x| x.mode())
            .map(aws_sdk_s3::types::ObjectLockRetentionMode::as_str),
        Some("COMPLIANCE")
    );

    assert_eq!(metric(&s, "wormgate_audit_archive_conflicts_total"), Some(0.0));
    assert!(metric(&s, "wormgate_audit_archive_last_success_timestamp_seconds").unwrap() > 0.0);
    assert!(metric(&s, "wormgate_audit_archive_pending_segments").is_some());

    // A restart resumes from the state file: more segments archived, nothing checked twice.
    s.stop();
    s.restart();
    traffic(&s, "arch", 40, 30).await;
    let names2 = wait_archived(&sw, &s.data_dir, 2, Duration::from_secs(60)).await;
    assert!(names2.len() > names.len());
    assert!(
        !s.log().contains("already in the audit archive"),
        "the restart re-sent files the state file records as archived:\n{}",
        s.log()
    );
    one_version_each(&sw).await;
    s.stop();

    // The examiner's check: the archive verifies and agrees with the local trail.
    let (code, out, err) = verify_from_archive(&sw.endpoint, &s.data_dir);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ARCHIVE OK") && out.contains("AGREE:"), "{out}");
    assert!(
        out.contains("contained in the log"),
        "archived checkpoints are checked: {out}"
    );

    // A tampered local segment: the archive still verifies, but no longer agrees.
    let seg = s.data_dir.join("audit/000001.log");
    let mut bytes = std::fs::read(&seg).unwrap();
    let i = bytes.iter().position(|b| *b == b'x').unwrap_or(10);
    bytes[i] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();
    let (code, out, err) = verify_from_archive(&sw.endpoint, &s.data_dir);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("DISAGREEMENT: 000001.log"), "{out}");

    // Lose the state file and start again: identical files count as archived (412 + same SHA-256);
    // the tampered one is an alarm — log, metric, audit record — and the archive keeps its copy.
    std::fs::remove_file(s.data_dir.join("audit-archive.json")).unwrap();
    s.restart();
    let deadline = Instant::now() + Duration::from_secs(60);
    // The pass meets the tampered segment first and the identical files after it: wait for both.
    while metric(&s, "wormgate_audit_archive_conflicts_total") != Some(1.0)
        || !s.log().contains("AUDIT ARCHIVE CONFLICT")
        || !s.log().contains("already in the audit archive")
    {
        assert!(
            Instant::now() < deadline,
            "no conflict alarm, or identical files not recognised:\n{}",
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let trail: String = std::fs::read_dir(s.data_dir.join("audit"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert!(
        trail.contains("\"operation\":\"AuditArchiveConflict\""),
        "the alarm is in the audit trail"
    );
    one_version_each(&sw).await;
    let mut archived_copy = Vec::new();
    let got = c
        .get_object()
        .bucket(UP_BUCKET)
        .key(format!("{PREFIX}/000001.log"))
        .send()
        .await
        .unwrap();
    archived_copy.extend(got.body.collect().await.unwrap().into_bytes());
    assert_ne!(
        archived_copy, bytes,
        "the archive was overwritten with the tampered segment"
    );

    // Someone with the archive's keys writes a new version over an archived segment: the examiner's
    // check fails (the original version stays retained beside it).
    s.stop();
    let got = c
        .get_object()
        .bucket(UP_BUCKET)
        .key(format!("{PREFIX}/000002.log"))
        .send()
        .await
        .unwrap();
    let mut forged = got.body.collect().await.unwrap().into_bytes().to_vec();
    let i = forged.iter().position(|b| *b == b'x').unwrap_or(10);
    forged[i] ^= 0x01;
    c.put_object()
        .bucket(UP_BUCKET)
        .key(format!("{PREFIX}/000002.log"))
        .body(forged.into())
        .send()
        .await
        .expect("a new version in the archive");
    let (code, out, err) = verify_from_archive(&sw.endpoint, &s.data_dir);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("FIRST BROKEN LINK: 000002.log"), "{out}");
    assert!(out.contains("DISAGREEMENT: 000002.log"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_down_at_start_is_caught_up_with() {
    let Some(weed) = weed() else { return };
    let mut sw = Seaweed::start(weed, true);
    sw.kill9();
    let keydir = tempfile::tempdir().unwrap();
    let key = keygen(keydir.path());
    let s = Server::start_with(gateway(&sw.endpoint, &key));
    traffic(&s, "down", 0, 30).await;
    assert!(!local_seals(&s.data_dir).is_empty());
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(&s, "wormgate_audit_archive_failures_total").unwrap_or(0.0) < 1.0 {
        assert!(Instant::now() < deadline, "no archive failure counted:\n{}", s.log());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(metric(&s, "wormgate_audit_archive_pending_segments").unwrap() >= 1.0);
    // The archive is not the upstream store: a disk-mode gateway shows no upstream failures.
    assert_eq!(metric(&s, "wormgate_upstream_failures_total"), Some(0.0));
    // Requests are served all along.
    traffic(&s, "down", 30, 5).await;

    sw.restart().await;
    wait_archived(&sw, &s.data_dir, 1, Duration::from_secs(90)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(&s, "wormgate_audit_archive_pending_segments") != Some(0.0) {
        assert!(Instant::now() < deadline, "segments still pending:\n{}", s.log());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    one_version_each(&sw).await;
}
