//! Trusted time with real clock changes: libfaketime (`LD_PRELOAD`, offset read from a file the test
//! rewrites, monotonic clock left alone) moves the gateway's wall clock across restarts and while it
//! runs, and small SNTP responders on 127.0.0.1 (honest and lying) are its time sources. Without
//! libfaketime (and no way to install it) the faketime tests print why and skip.

use crate::common::*;
use aws_sdk_s3::types::ObjectLockMode;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const LIBS: [&str; 2] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
];

/// The multi-threaded libfaketime, installed with apt-get (Debian package `faketime`) when missing.
fn libfaketime() -> Option<&'static str> {
    let find = || LIBS.iter().copied().find(|p| Path::new(p).exists());
    if let Some(p) = find() {
        return Some(p);
    }
    let _ = std::process::Command::new("apt-get")
        .args(["install", "-y", "-qq", "faketime"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output();
    let found = find();
    if found.is_none() {
        println!("SKIPPED: libfaketime is not installed and `apt-get install faketime` failed");
    }
    found
}

/// A faked wall clock for the gateway: the offset lives in a file (`+0`, `+10m`, …) re-read on every
/// clock call, so the test can move the clock while the gateway runs.
struct FakeClock {
    file: PathBuf,
    lib: &'static str,
}

impl FakeClock {
    fn new(dir: &Path, lib: &'static str) -> FakeClock {
        let f = FakeClock {
            file: dir.join("faketime.rc"),
            lib,
        };
        f.set("+0");
        f
    }
    fn set(&self, offset: &str) {
        std::fs::write(&self.file, format!("{offset}\n")).unwrap();
    }
    fn apply(&self, o: Options) -> Options {
        o.env("LD_PRELOAD", self.lib)
            .env("FAKETIME_TIMESTAMP_FILE", self.file.to_str().unwrap())
            .env("FAKETIME_NO_CACHE", "1")
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
    }
}

/// An SNTP server on 127.0.0.1 answering with real time plus `offset_ms` (0 = honest).
struct Sntp {
    addr: String,
    offset_ms: Arc<AtomicI64>,
    stop: Arc<AtomicBool>,
}

fn ntp_timestamp(ms: i64) -> [u8; 8] {
    let secs = (ms.div_euclid(1000) + 2_208_988_800) as u64;
    let frac = ((ms.rem_euclid(1000) as u64) << 32) / 1000;
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&(secs as u32).to_be_bytes());
    out[4..].copy_from_slice(&(frac as u32).to_be_bytes());
    out
}

fn real_now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

impl Sntp {
    fn start(offset_ms: i64) -> Sntp {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let addr = sock.local_addr().unwrap().to_string();
        let offset = Arc::new(AtomicI64::new(offset_ms));
        let stop = Arc::new(AtomicBool::new(false));
        let (o, s) = (offset.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !s.load(Ordering::SeqCst) {
                let Ok((n, peer)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if n < 48 {
                    continue;
                }
                let now = ntp_timestamp(real_now_ms() + o.load(Ordering::SeqCst));
                let mut r = [0u8; 48];
                r[0] = 4 << 3 | 4; // LI 0, version 4, mode 4 (server)
                r[1] = 1; // stratum 1
                r[3] = 0xEC; // precision ~2^-20 s
                r[12..16].copy_from_slice(b"TEST");
                r[16..24].copy_from_slice(&now);
                r[24..32].copy_from_slice(&buf[40..48]); // originate = the client's transmit
                r[32..40].copy_from_slice(&now);
                r[40..48].copy_from_slice(&now);
                let _ = sock.send_to(&r, peer);
            }
        });
        Sntp {
            addr,
            offset_ms: offset,
            stop,
        }
    }
    fn url(&self) -> String {
        format!("ntp://{}", self.addr)
    }
    fn set_offset(&self, ms: i64) {
        self.offset_ms.store(ms, Ordering::SeqCst);
    }
}

impl Drop for Sntp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

const MIN: i64 = 60_000;

/// `wormgate time status --endpoint` as JSON.
fn status(s: &Server) -> serde_json::Value {
    status_as(s, AUDITOR)
}

fn status_as(s: &Server, k: Keys) -> serde_json::Value {
    let (code, out, err) = wormgate(&["time", "status", "--endpoint", &s.endpoint], &keys_env(k));
    assert_eq!(code, 0, "time status failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("time status is not JSON ({e}): {out}"))
}

fn ms_of(v: &serde_json::Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap()
        .timestamp_millis()
}

/// Wait (at most 10 s) until `time status` satisfies `pred`.
async fn status_until(s: &Server, what: &str, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let st = status(s);
        if pred(&st) {
            return st;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: time status is {st:#}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A version retained until `secs` from now (real time); returns its id.
async fn put_retained(c: &aws_sdk_s3::Client, bucket: &str, key: &str, secs: i64) -> String {
    let out = ok(
        c.put_object()
            .bucket(bucket)
            .key(key)
            .body(b"retained".to_vec().into())
            .object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(in_secs(secs))
            .send()
            .await,
        "put retained version",
    );
    out.version_id().expect("version id").to_string()
}

/// `DeleteObject` of one version: Ok(()) or the HTTP status of the refusal.
async fn delete_version(c: &aws_sdk_s3::Client, bucket: &str, key: &str, v: &str) -> Result<(), u16> {
    c.delete_object()
        .bucket(bucket)
        .key(key)
        .version_id(v)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| status_of(&e).unwrap_or(0))
}

fn audit_export(s: &Server) -> String {
    let (code, out, err) = wormgate(&["audit", "export", "--endpoint", &s.endpoint], &keys_env(AUDITOR));
    assert_eq!(code, 0, "audit export failed: {err}");
    out
}

fn metrics(s: &Server) -> String {
    let out = std::process::Command::new("curl")
        .args(["-s", &format!("{}/metrics", s.endpoint)])
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn confirm(s: &Server, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["time", "confirm", "--endpoint", &s.endpoint];
    args.extend_from_slice(extra);
    wormgate(&args, &keys_env(OFFICER))
}

#[tokio::test]
async fn forward_jump_across_restart_refuses_delete_until_confirmed_and_while_running_too() {
    let Some(lib) = libfaketime() else { return };
    let root = tempfile::tempdir().unwrap();
    let fake = FakeClock::new(root.path(), lib);
    // The gateway's clock starts 10 minutes behind real time.
    fake.set("-10m");
    let opts =
        fake.apply(Options::min_retention("1s").args(&["--max-offline-gap", "2m", "--metrics-anonymous", "true"]));
    let mut s = Server::start_with(opts);
    let c = s.client(OFFICER, Checksums::Default);
    let st = status(&s);
    assert!(
        (ms_of(&st["wall"]) - real_now_ms() + 10 * MIN).abs() < 30_000,
        "libfaketime must move the gateway's wall clock 10 min back: {st:#}"
    );
    assert!(st["alarm"].is_null(), "{st:#}");
    make_bucket(&c, "clock").await;
    // Retained until 10 s past the gateway's (slow) now.
    let v0 = put_retained(&c, "clock", "doc", -590).await;
    assert_eq!(delete_version(&c, "clock", "doc", &v0).await, Err(403), "retained");

    // While running: the wall clock jumps 10 minutes ahead (to real time); the monotonic clock does not.
    fake.set("+0");
    status_until(&s, "a jump while running raises forward_jump", |st| {
        st["alarm"] == "forward_jump"
    })
    .await;
    assert_eq!(
        delete_version(&c, "clock", "doc", &v0).await,
        Err(403),
        "the retention only looks expired because the clock jumped"
    );
    // The standing alarm survives a restart: no heartbeat was persisted while it stood.
    assert!(s.stop().success());
    s.restart();
    let c = s.client(OFFICER, Checksums::Default);
    assert_eq!(status(&s)["alarm"], "forward_jump_across_restart");
    assert_eq!(delete_version(&c, "clock", "doc", &v0).await, Err(403));
    let (code, out, err) = confirm(&s, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        delete_version(&c, "clock", "doc", &v0).await,
        Ok(()),
        "confirmed: expired"
    );

    // The scenario: a version retained for 60 s; stop, set the clock a day (here: 10
    // minutes, within the signature window) ahead, start again.
    let v1 = put_retained(&c, "clock", "doc", 60).await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // a heartbeat is persisted
    assert!(s.stop().success());
    fake.set("+10m");
    s.restart();
    let c = s.client(OFFICER, Checksums::Default);
    let st = status(&s);
    assert!(
        (ms_of(&st["wall"]) - real_now_ms() - 10 * MIN).abs() < 30_000,
        "libfaketime must move the gateway's wall clock 10 min ahead: {st:#}"
    );
    assert_eq!(st["alarm"], "forward_jump_across_restart", "{st:#}");
    assert_eq!(st["expiry_trusted"], false, "{st:#}");
    assert!(st["restart_gap_ms"].as_i64().unwrap() > 9 * MIN, "{st:#}");
    assert_eq!(
        delete_version(&c, "clock", "doc", &v1).await,
        Err(403),
        "the retention only looks expired because the clock was set ahead"
    );
    // Reads and writes do not depend on trusted time.
    put_retained(&c, "clock", "other", 3600).await;
    let audit = audit_export(&s);
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"ClockAlarm\"") && l.contains("forward_jump_across_restart")),
        "alarm audited:\n{audit}"
    );
    assert!(
        metrics(&s).contains("wormgate_clock_alarm{kind=\"forward_jump_across_restart\"} 1"),
        "alarm on /metrics"
    );
    // A writer may not confirm; an officer may.
    let (code, _, err) = wormgate(&["time", "confirm", "--endpoint", &s.endpoint], &keys_env(WRITER));
    assert_ne!(code, 0, "a writer confirmed the time: {err}");
    let (code, out, err) = confirm(&s, &["--note", "clock checked"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(status(&s)["alarm"].is_null());
    assert_eq!(
        delete_version(&c, "clock", "doc", &v1).await,
        Ok(()),
        "confirmed: expired"
    );
}

#[tokio::test]
async fn lying_single_source_is_outvoted() {
    let (a, b, liar) = (Sntp::start(0), Sntp::start(0), Sntp::start(60 * MIN));
    let opts = Options::min_retention("1s").args(&[
        "--time-source",
        &a.url(),
        "--time-source",
        &b.url(),
        "--time-source",
        &liar.url(),
        "--time-check-interval",
        "1s",
    ]);
    let s = Server::start_with(opts);
    let c = s.client(OFFICER, Checksums::Default);
    let st = status(&s);
    assert_eq!(st["sources"]["tally"]["verdict"], "agree", "{st:#}");
    assert_eq!(st["sources"]["tally"]["agreeing"], 2, "{st:#}");
    assert_eq!(st["sources"]["tally"]["disagreeing"], 1, "{st:#}");
    assert_eq!(st["expiry_trusted"], true, "{st:#}");
    make_bucket(&c, "vote").await;
    let v = put_retained(&c, "vote", "doc", 3).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        delete_version(&c, "vote", "doc", &v).await,
        Ok(()),
        "one liar is outvoted"
    );

    // Two liars are a majority: the wall clock is called wrong and expiry stops.
    b.set_offset(60 * MIN);
    let st = status_until(&s, "a disagreeing majority raises sources_disagree", |st| {
        st["alarm"] == "sources_disagree"
    })
    .await;
    assert_eq!(st["expiry_trusted"], false);
    let v = put_retained(&c, "vote", "doc2", 3).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(delete_version(&c, "vote", "doc2", &v).await, Err(403));
    // An officer does not outvote the sources.
    let (code, out, err) = confirm(&s, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(delete_version(&c, "vote", "doc2", &v).await, Err(403));
    // Silence is no quorum either: one agreeing answer of three configured sources.
    drop((b, liar));
    let st = status_until(&s, "two sources silent: no quorum", |st| {
        st["sources"]["tally"]["verdict"] == "no_quorum"
    })
    .await;
    assert_eq!(st["sources"]["tally"]["unanswered"], 2, "{st:#}");
    assert_eq!(st["expiry_trusted"], false, "{st:#}");
    assert_eq!(delete_version(&c, "vote", "doc2", &v).await, Err(403));
    drop(a);
    let audit = audit_export(&s);
    assert!(audit.contains("TimeSourceCheck"), "checks audited:\n{audit}");
}

#[tokio::test]
async fn sources_decide_after_a_forward_jump_across_restart() {
    let Some(lib) = libfaketime() else { return };
    let root = tempfile::tempdir().unwrap();
    let fake = FakeClock::new(root.path(), lib);
    let srcs = [Sntp::start(0), Sntp::start(0), Sntp::start(0)];
    let mut opts = Options::min_retention("1s").args(&["--max-offline-gap", "2m"]);
    for x in &srcs {
        opts = opts.args(&["--time-source", &x.url()]);
    }
    let mut s = Server::start_with(fake.apply(opts));
    let c = s.client(OFFICER, Checksums::Default);
    make_bucket(&c, "src").await;
    let v = put_retained(&c, "src", "doc", 60).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(s.stop().success());

    // Set ahead while stopped; one lying source says the new time is right, two honest ones do not.
    fake.set("+10m");
    srcs[2].set_offset(10 * MIN);
    s.restart();
    let c = s.client(OFFICER, Checksums::Default);
    let st = status(&s);
    assert_eq!(st["alarm"], "forward_jump_across_restart", "{st:#}");
    assert_eq!(st["sources"]["tally"]["verdict"], "disagree", "{st:#}");
    assert_eq!(delete_version(&c, "src", "doc", &v).await, Err(403));
    assert!(s.stop().success());

    // Real time did move on (all sources say so): the agreeing quorum clears the alarm at start.
    for x in &srcs {
        x.set_offset(10 * MIN);
    }
    s.restart();
    let c = s.client(OFFICER, Checksums::Default);
    let st = status(&s);
    assert!(st["alarm"].is_null(), "{st:#}");
    assert_eq!(st["expiry_trusted"], true, "{st:#}");
    assert_eq!(delete_version(&c, "src", "doc", &v).await, Ok(()));
    let audit = audit_export(&s);
    assert!(audit.contains("ClockAlarmCleared"), "clearing audited:\n{audit}");
}

#[tokio::test]
async fn rewind_brings_a_future_watermark_back() {
    let Some(lib) = libfaketime() else { return };
    let root = tempfile::tempdir().unwrap();
    let fake = FakeClock::new(root.path(), lib);
    fake.set("+10m");
    let mut s = Server::start_with(fake.apply(Options::min_retention("1s")));
    let c = s.client(OFFICER, Checksums::Default);
    make_bucket(&c, "rewind").await;
    put_retained(&c, "rewind", "early", 900).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(s.stop().success());

    // The clock was ahead; now it is right again, and the watermark is 10 minutes in the future.
    fake.set("+0");
    s.restart();
    let c = s.client(OFFICER, Checksums::Default);
    let st = status(&s);
    assert_eq!(st["alarm"], "behind_watermark", "{st:#}");
    assert!(st["hint"].as_str().unwrap().contains("--rewind"), "{st:#}");
    assert!(ms_of(&st["guarded"]) > real_now_ms() + 9 * MIN, "{st:#}");
    // An explicit 2-minute retention lies before guarded time: refused until the rewind.
    let short = c
        .put_object()
        .bucket("rewind")
        .key("short")
        .body(b"x".to_vec().into())
        .object_lock_mode(ObjectLockMode::Compliance)
        .object_lock_retain_until_date(in_secs(120))
        .send()
        .await;
    assert!(short.is_err(), "a retain-until before guarded time must be refused");

    let (code, out, err) = confirm(&s, &["--rewind"]);
    assert_ne!(code, 0, "no sources and no statement: {out}");
    assert!(err.contains("--statement"), "{err}");
    assert_eq!(status(&s)["alarm"], "behind_watermark");
    let (code, out, err) = confirm(
        &s,
        &[
            "--rewind",
            "--statement",
            "wall clock checked against the exchange clock",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let st = status(&s);
    assert!(st["alarm"].is_null(), "{st:#}");
    assert!(
        (ms_of(&st["guarded"]) - real_now_ms()).abs() < 30_000,
        "guarded time is real time again: {st:#}"
    );
    put_retained(&c, "rewind", "short", 120).await;
    let audit = audit_export(&s);
    assert!(
        audit.lines().any(|l| l.contains("AdminTimeConfirm")
            && l.contains("watermark rewound")
            && l.contains("wall clock checked against the exchange clock")),
        "the statement is in the audit trail:\n{audit}"
    );
    // The lowered watermark is what the next start finds.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(s.stop().success());
    let (code, out, _) = wormgate(&["time", "status", "--data-dir", s.data_dir.to_str().unwrap()], &[]);
    assert_eq!(code, 0);
    let st: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(st["alarm"].is_null(), "{st:#}");
    s.restart();
    assert!(status(&s)["alarm"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_date_header_is_one_more_source() {
    let Some(weed) = crate::seaweed::weed() else { return };
    let sw = crate::seaweed::Seaweed::start(weed, false);
    // One SNTP source that lies; the upstream's Date header is honest: one vote each, no majority.
    let liar = Sntp::start(60 * MIN);
    let opts =
        crate::seaweed::gateway_options(&sw.endpoint, crate::seaweed::UP_SK).args(&["--time-source", &liar.url()]);
    let s = Server::start_with(opts);
    let st = status_as(&s, ADMIN);
    let readings = st["sources"]["readings"].as_array().unwrap_or_else(|| panic!("{st:#}"));
    assert_eq!(readings.len(), 2, "{st:#}");
    let date = readings
        .iter()
        .find(|r| r["source"] == "upstream-date")
        .expect("upstream-date reading");
    let off = date["answer"]["Ok"]["source_ms"].as_i64().unwrap() - date["answer"]["Ok"]["wall_ms"].as_i64().unwrap();
    assert!(
        off.abs() <= 2000,
        "the upstream's Date agrees with the wall clock: {st:#}"
    );
    assert_eq!(st["sources"]["tally"]["verdict"], "no_quorum", "{st:#}");
    assert_eq!(st["expiry_trusted"], false, "{st:#}");
}

#[tokio::test]
async fn rewind_backed_by_agreeing_sources_needs_no_statement() {
    let Some(lib) = libfaketime() else { return };
    let root = tempfile::tempdir().unwrap();
    let fake = FakeClock::new(root.path(), lib);
    let srcs = [Sntp::start(0), Sntp::start(0), Sntp::start(0)];
    let mut opts = Options::min_retention("1s");
    for x in &srcs {
        opts = opts.args(&["--time-source", &x.url()]);
    }
    // The clock runs 10 minutes ahead; the honest sources say so (writes still work).
    fake.set("+10m");
    let mut s = Server::start_with(fake.apply(opts));
    assert_eq!(status(&s)["alarm"], "sources_disagree");
    let c = s.client(OFFICER, Checksums::Default);
    make_bucket(&c, "srcrewind").await;
    put_retained(&c, "srcrewind", "doc", 3600).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(s.stop().success());

    // Clock fixed: the sources agree with it, and real time is behind the watermark.
    fake.set("+0");
    s.restart();
    let st = status(&s);
    assert_eq!(st["alarm"], "behind_watermark", "{st:#}");
    assert_eq!(st["sources"]["tally"]["verdict"], "agree", "{st:#}");
    let (code, out, err) = confirm(&s, &["--rewind"]);
    assert_eq!(code, 0, "{out}{err}");
    let st = status(&s);
    assert!(st["alarm"].is_null(), "{st:#}");
    assert_eq!(st["expiry_trusted"], true, "{st:#}");
    assert!((ms_of(&st["guarded"]) - real_now_ms()).abs() < 30_000, "{st:#}");
    let audit = audit_export(&s);
    assert!(
        audit.contains("watermark rewound") && audit.contains("an agreeing quorum of the time sources"),
        "rewind audited with its authority:\n{audit}"
    );
}

/// A running gateway's `time status` shows the heartbeat it persists and, after a restart, how long
/// it was stopped (also when that gap is far below `--max-offline-gap` and raises nothing).
#[tokio::test]
async fn live_status_shows_the_heartbeat_and_the_restart_gap() {
    let mut s = Server::start();
    let st = status_until(&s, "a heartbeat", |st| st["heartbeat"].is_string()).await;
    assert!(st["restart_gap_ms"].is_null(), "first start: no gap: {st:#}");
    let hb = ms_of(&st["heartbeat"]);
    assert!((real_now_ms() - hb).abs() < 10_000, "{st:#}");
    s.stop();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.restart();
    let st = status(&s);
    let gap = st["restart_gap_ms"]
        .as_i64()
        .unwrap_or_else(|| panic!("no restart gap: {st:#}"));
    assert!((1000..120_000).contains(&gap), "{st:#}");
    assert!(st["alarm"].is_null(), "a short stop raises nothing: {st:#}");
}
