//! Audit shipping (`--audit-syslog`, `--audit-webhook`) against receivers written here on 127.0.0.1:
//! a TCP (and TLS) syslog receiver that parses octet-counted RFC 5424 frames, and a small HTTP server
//! for the webhook. Every record of the trail on disk must arrive, byte-identical, in order, with
//! hashes that chain — also when the receiver is down at start, when the gateway restarts while it
//! is down, and when the webhook answers 500 for a while. Duplicates are allowed (at least once).

use crate::common::*;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wormgate::audit::chain::{read_all, AuditRecord};

/// A received record: its segment line as shipped.
type Got = Arc<Mutex<Vec<String>>>;

/// A listener on 127.0.0.1 whose connections are served by `serve` on their own threads, until
/// [`Receiver::stop`] closes the listener and every connection.
struct Receiver {
    port: u16,
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    fn start(port: u16, serve: impl Fn(TcpStream) + Send + Sync + 'static) -> Receiver {
        let l = TcpListener::bind(("127.0.0.1", port)).expect("bind receiver");
        let port = l.local_addr().unwrap().port();
        l.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (stop2, conns2, serve) = (stop.clone(), conns.clone(), Arc::new(serve));
        let accept = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        conns2.lock().unwrap().push(s.try_clone().unwrap());
                        let serve = serve.clone();
                        std::thread::spawn(move || serve(s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Receiver {
            port,
            stop,
            conns,
            accept: Some(accept),
        }
    }

    /// Close the listener and every connection (the receiver goes down).
    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept.take() {
            h.join().unwrap();
        }
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A free port on 127.0.0.1 with nobody listening (for a receiver that is down).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Read octet-counted frames (`LEN SP MSG`) from `s` into `got` (raw messages) until EOF.
fn syslog_frames(mut s: impl Read, got: &Got) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some(sp) = buf.iter().position(|b| *b == b' ') {
            let len: usize = std::str::from_utf8(&buf[..sp])
                .ok()
                .and_then(|l| l.parse().ok())
                .unwrap_or_else(|| panic!("bad frame length {:?}", String::from_utf8_lossy(&buf[..sp])));
            if buf.len() < sp + 1 + len {
                break;
            }
            let msg = String::from_utf8(buf[sp + 1..sp + 1 + len].to_vec()).expect("UTF-8 message");
            buf.drain(..sp + 1 + len);
            got.lock().unwrap().push(msg);
        }
    }
}

/// The value of structured-data parameter `name` of an RFC 5424 message (unescaped).
fn sd_param(msg: &str, name: &str) -> Option<String> {
    let start = msg.find(&format!(" {name}=\""))? + name.len() + 3;
    let mut out = String::new();
    let mut chars = msg[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return Some(out),
            c => out.push(c),
        }
    }
    None
}

/// Check one RFC 5424 message and return the segment line it carries: header, the SD element's
/// seq/prev/hash equal the record's, the message is BOM + the JSON line.
fn syslog_line(msg: &str) -> String {
    assert!(msg.starts_with('<'), "{msg}");
    let (pri, rest) = msg[1..].split_once('>').unwrap();
    let pri: u8 = pri.parse().unwrap();
    assert_eq!(pri / 8, 13, "facility log audit: {msg}");
    let fields: Vec<&str> = rest.splitn(7, ' ').collect();
    assert_eq!(fields[0], "1", "version: {msg}");
    assert_eq!(fields[3], "wormgate", "APP-NAME: {msg}");
    assert!(fields[6].starts_with("[wormgate@32473 "), "{msg}");
    // The SD element ends at the first unescaped ']'.
    let sd = fields[6];
    let b = sd.as_bytes();
    let mut i = 1;
    while b[i] != b']' {
        i += if b[i] == b'\\' { 2 } else { 1 };
    }
    let line = sd[i + 1..].strip_prefix(" \u{feff}").expect("BOM before the message");
    let rec: AuditRecord = serde_json::from_str(line).expect("message is the record's JSON");
    assert_eq!(sd_param(sd, "seq"), Some(rec.seq.to_string()));
    assert_eq!(sd_param(sd, "prev"), Some(rec.prev.clone()));
    assert_eq!(sd_param(sd, "hash"), Some(rec.hash.clone()));
    assert_eq!(fields[5], rec.event.operation, "MSGID is the operation");
    if let Some(k) = &rec.event.key {
        assert_eq!(sd_param(sd, "key").as_ref(), Some(k), "escaped key comes back");
    }
    line.to_string()
}

/// A syslog receiver (plain TCP) collecting messages.
fn syslog_receiver(port: u16, got: Got) -> Receiver {
    Receiver::start(port, move |s| syslog_frames(s, &got))
}

/// What the webhook receiver does: answers 500 to the first `fail` POSTs, then 200; keeps the lines
/// of the accepted batches, and checks the batch headers.
struct Hook {
    fail: AtomicUsize,
    posts: AtomicUsize,
    got: Got,
}

fn webhook_conn(mut s: impl Read + Write, hook: &Hook) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        // Head.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let header = |name: &str| {
            head.lines().find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_string())
            })
        };
        assert!(head.starts_with("POST /ingest/audit HTTP/1.1\r\n"), "{head}");
        assert_eq!(header("content-type").as_deref(), Some("application/x-ndjson"));
        let len: usize = header("content-length").expect("content-length").parse().unwrap();
        while buf.len() < head_end + len {
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8(buf[head_end..head_end + len].to_vec()).unwrap();
        buf.drain(..head_end + len);
        hook.posts.fetch_add(1, Ordering::SeqCst);
        let failing = hook
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |f| f.checked_sub(1))
            .is_ok();
        if failing {
            let _ = s.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\nbusy");
            continue;
        }
        let lines: Vec<String> = body.lines().map(str::to_string).collect();
        assert!(!lines.is_empty() && lines.len() <= 500 && body.ends_with('\n'));
        let first: AuditRecord = serde_json::from_str(&lines[0]).unwrap();
        let last: AuditRecord = serde_json::from_str(lines.last().unwrap()).unwrap();
        assert_eq!(header("x-wormgate-first-seq"), Some(first.seq.to_string()));
        assert_eq!(header("x-wormgate-last-seq"), Some(last.seq.to_string()));
        hook.got.lock().unwrap().extend(lines);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    }
}

fn webhook_receiver(port: u16, hook: Arc<Hook>) -> Receiver {
    Receiver::start(port, move |s| webhook_conn(s, &hook))
}

/// Every record on disk, by seq.
fn disk(data_dir: &Path) -> BTreeMap<u64, String> {
    read_all(&data_dir.join("audit"))
        .unwrap()
        .into_iter()
        .map(|(line, r)| (r.seq, line))
        .collect()
}

/// Wait (at most 60 s) until the lines in `got` (mapped through `line_of`) cover every record on disk,
/// then check: duplicates identical, seqs 1..=N without a gap, each line byte-identical to the
/// segment's, and each `prev` the `hash` before it. Returns N.
async fn all_arrive(srv: &Server, got: &Got, line_of: fn(&str) -> String) -> u64 {
    let data_dir = srv.data_dir.as_path();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let on_disk = disk(data_dir);
        let mut by_seq: BTreeMap<u64, String> = BTreeMap::new();
        for m in got.lock().unwrap().iter() {
            let line = line_of(m);
            let rec: AuditRecord = serde_json::from_str(&line).unwrap();
            if let Some(prev) = by_seq.insert(rec.seq, line.clone()) {
                assert_eq!(prev, line, "a record sent twice must be the same record");
            }
        }
        let last = *on_disk.keys().last().unwrap();
        if by_seq.keys().last() >= Some(&last) && by_seq.len() as u64 >= last {
            assert_eq!(
                by_seq.keys().copied().collect::<Vec<_>>(),
                (1..=by_seq.len() as u64).collect::<Vec<_>>(),
                "no gap"
            );
            let mut prev_hash = wormgate::audit::chain::GENESIS.to_string();
            for (seq, line) in &by_seq {
                if let Some(d) = on_disk.get(seq) {
                    assert_eq!(line, d, "seq {seq} shipped as written");
                }
                let rec: AuditRecord = serde_json::from_str(line).unwrap();
                assert_eq!(rec.prev, prev_hash, "seq {seq} chains to the one before");
                assert_eq!(rec.hash, AuditRecord::compute_hash(rec.seq, &rec.prev, &rec.event));
                prev_hash = rec.hash;
            }
            return last;
        }
        assert!(
            Instant::now() < deadline,
            "not every record arrived: disk up to {last}, received {} distinct; log:\n{}",
            by_seq.len(),
            srv.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Some requests, allowed and refused, with awkward keys.
async fn traffic(srv: &Server, bucket: &str, n: usize) {
    let c = srv.admin();
    let _ = c
        .create_bucket()
        .bucket(bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await;
    for i in 0..n {
        let key = format!("dir/k{i} with ]\"\\ and ü");
        ok(
            c.put_object()
                .bucket(bucket)
                .key(&key)
                .body(pattern(100 + i, i as u64).into())
                .send()
                .await,
            "put",
        );
    }
    // A refused delete of a retained version is audited too.
    let v = c.list_object_versions().bucket(bucket).send().await.unwrap();
    if let Some(ver) = v.versions().first() {
        let _ = c
            .delete_object()
            .bucket(bucket)
            .key(ver.key().unwrap())
            .version_id(ver.version_id().unwrap())
            .send()
            .await;
    }
}

/// The value of an exported sample (`name{sink="…"}`).
fn metric(srv: &Server, sample: &str) -> u64 {
    let r = raw_request(srv.addr, "GET", "/metrics", &[], b"");
    assert_eq!(r.status, 200);
    let text = String::from_utf8_lossy(&r.body).to_string();
    text.lines()
        .find_map(|l| l.strip_prefix(sample).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {sample} in:\n{text}"))
}

fn cursor_seq(data_dir: &Path, sink: &str) -> u64 {
    let text = std::fs::read_to_string(data_dir.join("audit-ship").join(format!("{sink}.cursor"))).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["seq"]
        .as_u64()
        .unwrap()
}

fn opts(args: &[String]) -> Options {
    let mut a = vec![
        "--metrics-anonymous".to_string(),
        "true".into(),
        "--audit-segment-bytes".into(),
        "8192".into(),
    ];
    a.extend_from_slice(args);
    Options::default().args(&a)
}

#[tokio::test]
async fn syslog_receives_every_record_in_order_with_chained_hashes() {
    let got: Got = Arc::default();
    let rx = syslog_receiver(0, got.clone());
    let srv = Server::start_with(opts(&[format!("--audit-syslog=tcp://127.0.0.1:{}", rx.port)]));
    // Enough records to rotate several 8 KiB segments.
    traffic(&srv, "ship-syslog", 40).await;
    let n = all_arrive(&srv, &got, syslog_line).await;
    assert!(n > 40);
    assert!(std::fs::read_dir(srv.data_dir.join("audit")).unwrap().any(|e| e
        .unwrap()
        .path()
        .extension()
        .is_some_and(|x| x == "seal")));
    // The cursor follows (it is written after the flush); lag drains to 0.
    let deadline = Instant::now() + Duration::from_secs(10);
    while cursor_seq(&srv.data_dir, "syslog") < n
        || metric(&srv, "wormgate_audit_ship_lag_records{sink=\"syslog\"}") > 0
    {
        assert!(Instant::now() < deadline, "cursor/lag did not catch up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(metric(&srv, "wormgate_audit_ship_configured{sink=\"syslog\"}"), 1);
    assert_eq!(metric(&srv, "wormgate_audit_ship_configured{sink=\"webhook\"}"), 0);
    assert!(
        metric(
            &srv,
            "wormgate_audit_ship_last_success_timestamp_seconds{sink=\"syslog\"}"
        ) > 0
    );
}

#[tokio::test]
async fn syslog_receiver_down_at_start_catches_up_without_a_gap() {
    let port = free_port();
    let srv = Server::start_with(opts(&[format!("--audit-syslog=tcp://127.0.0.1:{port}")]));
    traffic(&srv, "ship-down", 10).await;
    // Requests are answered while nothing can be shipped; the lag and failures show it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while metric(&srv, "wormgate_audit_ship_failures_total{sink=\"syslog\"}") < 2 {
        assert!(Instant::now() < deadline, "no failed attempts counted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(metric(&srv, "wormgate_audit_ship_lag_records{sink=\"syslog\"}") > 10);
    assert_eq!(
        metric(
            &srv,
            "wormgate_audit_ship_last_success_timestamp_seconds{sink=\"syslog\"}"
        ),
        0
    );
    srv.wait_log(&["audit shipping: delivery failed"], Duration::from_secs(5))
        .await;

    let got: Got = Arc::default();
    let _rx = syslog_receiver(port, got.clone());
    traffic(&srv, "ship-down", 5).await;
    all_arrive(&srv, &got, syslog_line).await;
}

#[tokio::test]
async fn restart_while_the_receiver_is_down_resends_from_the_cursor() {
    let hook = Arc::new(Hook {
        fail: AtomicUsize::new(0),
        posts: AtomicUsize::new(0),
        got: Arc::default(),
    });
    let mut rx = webhook_receiver(0, hook.clone());
    let port = rx.port;
    let mut srv = Server::start_with(opts(&[format!("--audit-webhook=http://127.0.0.1:{port}/ingest/audit")]));
    traffic(&srv, "ship-restart", 5).await;
    let first = all_arrive(&srv, &hook.got, str::to_string).await;

    rx.stop();
    traffic(&srv, "ship-restart", 5).await;
    srv.stop();
    let cursor = cursor_seq(&srv.data_dir, "webhook");
    assert!(cursor >= first, "the cursor was persisted");
    let on_disk = *disk(&srv.data_dir).keys().last().unwrap();
    assert!(
        cursor < on_disk,
        "records written while the receiver was down are not acknowledged"
    );

    srv.restart();
    traffic(&srv, "ship-restart", 5).await;
    let _rx2 = webhook_receiver(port, hook.clone());
    let n = all_arrive(&srv, &hook.got, str::to_string).await;
    assert!(n > on_disk);
}

#[tokio::test]
async fn webhook_answering_500_is_retried_until_it_takes_the_batch() {
    let hook = Arc::new(Hook {
        fail: AtomicUsize::new(3),
        posts: AtomicUsize::new(0),
        got: Arc::default(),
    });
    let rx = webhook_receiver(0, hook.clone());
    let srv = Server::start_with(opts(&[format!(
        "--audit-webhook=http://127.0.0.1:{}/ingest/audit",
        rx.port
    )]));
    traffic(&srv, "ship-500", 10).await;
    all_arrive(&srv, &hook.got, str::to_string).await;
    assert_eq!(hook.fail.load(Ordering::SeqCst), 0, "all three 500s were answered");
    assert!(metric(&srv, "wormgate_audit_ship_failures_total{sink=\"webhook\"}") >= 3);
    srv.wait_log(&["answered HTTP 500"], Duration::from_secs(5)).await;
}

#[tokio::test]
async fn bad_shipping_targets_stop_the_start() {
    for (args, want) in [
        (vec!["--audit-syslog", "udp://127.0.0.1:514"], "--audit-syslog"),
        (vec!["--audit-webhook", "ftp://127.0.0.1/x"], "--audit-webhook"),
        (
            vec![
                "--audit-syslog",
                "tcp://127.0.0.1:514",
                "--audit-syslog-ca",
                "/nonexistent.pem",
            ],
            "tls://",
        ),
        (
            vec![
                "--audit-syslog",
                "tls://127.0.0.1:514",
                "--audit-syslog-ca",
                "/nonexistent.pem",
            ],
            "/nonexistent.pem",
        ),
    ] {
        let (code, out, err) = Server::start_fails(Options::default().args(&args));
        assert_ne!(code, 0);
        assert!(format!("{out}{err}").contains(want), "{args:?}: {out}{err}");
    }
}

/// `openssl`: a CA, and a certificate for 127.0.0.1 signed by it. Returns (CA cert, leaf cert, leaf key).
fn make_ca_and_cert(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let p = |n: &str| dir.join(n);
    let run = |args: &[&str]| {
        let st = std::process::Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl");
        assert!(st.success(), "openssl {args:?}");
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-days",
            "2",
            "-subj",
            "/CN=test-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &["-subj", "/CN=siem", "-keyout", "siem.key", "-out", "siem.csr"],
    ]
    .concat());
    std::fs::write(p("ext.cnf"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "siem.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "siem.crt",
    ]);
    (p("ca.crt"), p("siem.crt"), p("siem.key"))
}

/// A rustls server configuration presenting `cert` / `key`.
fn tls_server(cert: &Path, key: &Path) -> Arc<rustls::ServerConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    )
}

#[tokio::test]
async fn tls_syslog_and_https_webhook_trust_the_given_ca_only() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_ca_and_cert(dir.path());
    let other = tempfile::tempdir().unwrap();
    let (other_ca, _, _) = make_ca_and_cert(other.path());
    let server_cfg = tls_server(&cert, &key);

    let got: Got = Arc::default();
    let (got2, cfg) = (got.clone(), server_cfg.clone());
    let syslog_rx = Receiver::start(0, move |s| {
        let conn = rustls::ServerConnection::new(cfg.clone()).unwrap();
        syslog_frames(rustls::StreamOwned::new(conn, s), &got2);
    });
    let hook = Arc::new(Hook {
        fail: AtomicUsize::new(0),
        posts: AtomicUsize::new(0),
        got: Arc::default(),
    });
    let (hook2, cfg) = (hook.clone(), server_cfg.clone());
    let webhook_rx = Receiver::start(0, move |s| {
        let conn = rustls::ServerConnection::new(cfg.clone()).unwrap();
        webhook_conn(rustls::StreamOwned::new(conn, s), &hook2);
    });
    let srv = Server::start_with(opts(&[
        format!("--audit-syslog=tls://127.0.0.1:{}", syslog_rx.port),
        format!("--audit-syslog-ca={}", ca.display()),
        format!("--audit-webhook=https://127.0.0.1:{}/ingest/audit", webhook_rx.port),
        format!("--audit-webhook-ca={}", ca.display()),
    ]));
    traffic(&srv, "ship-tls", 5).await;
    all_arrive(&srv, &got, syslog_line).await;
    all_arrive(&srv, &hook.got, str::to_string).await;

    // A receiver whose certificate does not chain to the configured CA gets nothing.
    let untrusted: Got = Arc::default();
    let (untrusted2, cfg) = (untrusted.clone(), server_cfg.clone());
    let rx2 = Receiver::start(0, move |s| {
        let conn = rustls::ServerConnection::new(cfg.clone()).unwrap();
        syslog_frames(rustls::StreamOwned::new(conn, s), &untrusted2);
    });
    let srv2 = Server::start_with(opts(&[
        format!("--audit-syslog=tls://127.0.0.1:{}", rx2.port),
        format!("--audit-syslog-ca={}", other_ca.display()),
    ]));
    traffic(&srv2, "ship-untrusted", 2).await;
    srv2.wait_log(&["invalid peer certificate"], Duration::from_secs(20))
        .await;
    assert!(untrusted.lock().unwrap().is_empty());
    assert!(metric(&srv2, "wormgate_audit_ship_failures_total{sink=\"syslog\"}") > 0);
}

#[tokio::test]
async fn syslog_receiver_restarting_mid_run_loses_nothing() {
    let got: Got = Arc::default();
    let mut rx = syslog_receiver(0, got.clone());
    let port = rx.port;
    let srv = Server::start_with(opts(&[format!("--audit-syslog=tcp://127.0.0.1:{port}")]));
    traffic(&srv, "ship-bounce", 5).await;
    let before = all_arrive(&srv, &got, syslog_line).await;
    // The receiver closes its connection and goes away; records written meanwhile wait on disk.
    rx.stop();
    traffic(&srv, "ship-bounce", 5).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _rx2 = syslog_receiver(port, got.clone());
    traffic(&srv, "ship-bounce", 2).await;
    assert!(all_arrive(&srv, &got, syslog_line).await > before);
}
