//! Resource limits (issue 13): request-head size and header count, the header-read, idle and
//! body-read timeouts, the in-flight and connection caps (503 `SlowDown`, `/health` still served),
//! the panic boundary, and the per-request bounds not covered elsewhere (XML document size, single
//! PUT and part size, open uploads per bucket, user metadata).

use crate::common::*;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Read until the server closes the connection (or `within` passes); returns what was read and
/// whether the connection was closed.
fn read_until_closed(s: &mut TcpStream, within: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (out, false);
        }
        s.set_read_timeout(Some(left.min(Duration::from_millis(200)))).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return (out, true),
        }
    }
}

/// A signed PUT whose body stops after 10 of its 100 bytes: the request is in progress until the
/// body-read timeout.
fn stalled_put(srv: &Server, key: &str) -> TcpStream {
    let target = format!("/lim/{key}");
    let signed = sign_headers(
        srv.addr,
        ADMIN,
        "PUT",
        &target,
        &[("content-length", "100")],
        "UNSIGNED-PAYLOAD",
    );
    let mut head = format!("PUT {target} HTTP/1.1\r\n");
    for (k, v) in &signed {
        let _ = write!(head, "{k}: {v}\r\n");
    }
    head.push_str("\r\n");
    let mut s = TcpStream::connect(srv.addr).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&[b'x'; 10]).unwrap();
    s
}

#[test]
fn oversized_request_heads_are_answered_431() {
    let srv = Server::start_with(Options::default().args(&["--max-header-bytes", "16KiB", "--max-headers", "20"]));
    let big = "a".repeat(17 * 1024);
    let r = raw_request(srv.addr, "GET", "/health", &[("x-big", &big)], b"");
    assert_eq!(r.status, 431, "a head over --max-header-bytes");
    let many: Vec<(String, String)> = (0..25).map(|i| (format!("x-h{i}"), "v".to_string())).collect();
    let refs: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = raw_request(srv.addr, "GET", "/health", &refs, b"");
    assert_eq!(r.status, 431, "more header fields than --max-headers");
    // Within both limits: served.
    let ok = "a".repeat(12 * 1024);
    let r = raw_request(srv.addr, "GET", "/health", &[("x-ok", &ok), ("x-1", "1")], b"");
    assert_eq!(r.status, 200);
}

#[test]
fn slow_heads_and_idle_connections_are_closed() {
    let srv = Server::start_with(Options::default().args(&["--header-read-timeout", "2s", "--idle-timeout", "30s"]));
    // Slowloris: a head trickled a byte at a time is cut at the header-read timeout.
    let mut s = TcpStream::connect(srv.addr).unwrap();
    let t0 = Instant::now();
    s.write_all(b"GET /health HTTP/1.1\r\n").unwrap();
    let mut closed = false;
    for b in b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        .iter()
        .cycle()
        .take(100)
    {
        if s.write_all(&[*b]).is_err() {
            closed = true;
            break;
        }
        let (_, c) = read_until_closed(&mut s, Duration::from_millis(100));
        if c {
            closed = true;
            break;
        }
    }
    let took = t0.elapsed();
    assert!(closed, "a trickled head must be cut off");
    assert!(
        took >= Duration::from_millis(1800) && took < Duration::from_secs(8),
        "closed after {took:?}, expected about the 2 s header-read timeout"
    );
    drop(srv);

    // Idle: a connection that sends nothing, and one idle after a request, are closed at the idle timeout.
    let srv = Server::start_with(Options::default().args(&["--header-read-timeout", "60s", "--idle-timeout", "2s"]));
    let mut quiet = TcpStream::connect(srv.addr).unwrap();
    let mut kept = TcpStream::connect(srv.addr).unwrap();
    let t0 = Instant::now();
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (first, closed) = read_until_closed(&mut kept, Duration::from_millis(500));
    assert!(
        !closed && String::from_utf8_lossy(&first).starts_with("HTTP/1.1 200"),
        "keep-alive answer"
    );
    let (_, closed) = read_until_closed(&mut kept, Duration::from_secs(8));
    assert!(closed, "an idle keep-alive connection is closed");
    let (_, closed) = read_until_closed(&mut quiet, Duration::from_secs(2));
    assert!(closed, "a silent connection is closed");
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(1800) && took < Duration::from_secs(10),
        "{took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_upload_is_answered_request_timeout_and_discarded() {
    let srv = Server::start_with(Options::default().args(&["--body-read-timeout", "1s"]));
    let c = srv.admin();
    make_bucket(&c, "lim").await;
    let mut s = stalled_put(&srv, "stalled");
    let t0 = Instant::now();
    let (resp, _) = read_until_closed(&mut s, Duration::from_secs(10));
    let took = t0.elapsed();
    let r = parse_response(&resp, false);
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.code().as_deref(), Some("RequestTimeout"));
    assert!(r
        .text()
        .contains("not read from or written to within the timeout period"));
    assert!(took < Duration::from_secs(6), "answered after {took:?}");
    let e = c.get_object().bucket("lim").key("stalled").send().await.unwrap_err();
    assert_eq!(status_of(&e), Some(404), "the partial upload left no version");
    let listed = ok(c.list_object_versions().bucket("lim").send().await, "list versions");
    assert!(listed.versions().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_in_flight_cap_requests_are_shed_but_health_and_admin_answer() {
    let srv =
        Server::start_with(Options::default().args(&["--max-requests-in-flight", "1", "--body-read-timeout", "3s"]));
    let c = srv.admin();
    make_bucket(&c, "lim").await;
    let _held = stalled_put(&srv, "held");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let addr = srv.addr;
    let shed = tokio::task::spawn_blocking(move || signed_raw(addr, ADMIN, "GET", "/", &[], "UNSIGNED-PAYLOAD", b""))
        .await
        .unwrap();
    assert_eq!(shed.status, 503, "{}", shed.text());
    assert_eq!(shed.code().as_deref(), Some("SlowDown"));
    let health = tokio::task::spawn_blocking(move || raw_request(addr, "GET", "/health", &[], b""))
        .await
        .unwrap();
    assert_eq!(health.status, 200, "/health is not counted");
    let admin = tokio::task::spawn_blocking(move || raw_request(addr, "GET", "/_wormgate/metrics", &[], b""))
        .await
        .unwrap();
    assert_ne!(admin.status, 503, "the admin API is not counted: {}", admin.text());
    // Once the stalled upload times out, requests are served again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    ok(c.list_buckets().send().await, "list buckets after the cap frees");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_connection_cap_the_longest_idle_connection_is_shed() {
    let srv = Server::start_with(Options::default().args(&["--max-connections", "2", "--body-read-timeout", "5s"]));
    let c = srv.admin();
    make_bucket(&c, "lim").await;
    // Let the SDK's pooled connection go idle past the others' age, then be shed first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut a = TcpStream::connect(srv.addr).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut b = TcpStream::connect(srv.addr).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fresh = TcpStream::connect(srv.addr).unwrap();
    fresh.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (got, _) = read_until_closed(&mut fresh, Duration::from_secs(1));
    assert!(
        String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"),
        "a new connection is served"
    );
    let (_, a_closed) = read_until_closed(&mut a, Duration::from_secs(2));
    assert!(a_closed, "the longest-idle connection made room");
    let (_, b_closed) = read_until_closed(&mut b, Duration::from_millis(300));
    assert!(!b_closed, "a younger idle connection stays");
    drop(b);
    drop(fresh);
    // Every connection busy: a new one is answered 503 SlowDown and closed.
    let _s1 = stalled_put(&srv, "one");
    let _s2 = stalled_put(&srv, "two");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut over = TcpStream::connect(srv.addr).unwrap();
    let (got, closed) = read_until_closed(&mut over, Duration::from_secs(2));
    let text = String::from_utf8_lossy(&got);
    assert!(
        closed && text.starts_with("HTTP/1.1 503") && text.contains("<Code>SlowDown</Code>"),
        "{text}"
    );
    // The whole XML document, exactly as long as the header says (a client reads only that much).
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let declared: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("Content-Length");
    assert_eq!(declared, body.len(), "{text}");
    assert!(body.ends_with("</Error>"), "{text}");
}

#[cfg(debug_assertions)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_500_is_audited_and_the_server_keeps_serving() {
    let mut srv = Server::start();
    let c = srv.admin();
    let addr = srv.addr;
    let r = tokio::task::spawn_blocking(move || {
        signed_raw(
            addr,
            ADMIN,
            "GET",
            "/",
            &[("x-wormgate-test-panic", "1")],
            "UNSIGNED-PAYLOAD",
            b"",
        )
    })
    .await
    .unwrap();
    assert_eq!(r.status, 500, "{}", r.text());
    assert_eq!(r.code().as_deref(), Some("InternalError"));
    ok(c.list_buckets().send().await, "served after the panic");
    make_bucket(&c, "after-panic").await;
    srv.wait_log(&["request handler panicked"], Duration::from_secs(5))
        .await;
    assert!(srv.stop().success());
    let dir = srv.data_dir.to_str().unwrap().to_string();
    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", &dir], &[]);
    assert_eq!(code, 0, "audit verify: {out}{err}");
    let (code, out, err) = wormgate(&["audit", "export", "--data-dir", &dir], &[]);
    assert_eq!(code, 0, "audit export: {err}");
    assert!(
        out.lines()
            .any(|l| l.contains("InternalError") && l.contains("panicked")),
        "the panicking request has its audit record: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_request_bounds() {
    let srv = Server::start_with(Options::default().args(&["--max-open-uploads", "2"]));
    let c = srv.admin();
    make_bucket(&c, "lim").await;
    ok(
        c.put_object()
            .bucket("lim")
            .key("o")
            .body(b"x".to_vec().into())
            .send()
            .await,
        "put",
    );
    let addr = srv.addr;
    // An XML document over 2 MiB is refused (MalformedXML) without being buffered whole.
    let big = format!("<Tagging><TagSet>{}</TagSet></Tagging>", " ".repeat(3 << 20));
    let r = tokio::task::spawn_blocking(move || {
        signed_raw(
            addr,
            ADMIN,
            "PUT",
            "/lim/o?tagging",
            &[],
            "UNSIGNED-PAYLOAD",
            big.as_bytes(),
        )
    })
    .await
    .unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.code().as_deref(), Some("MalformedXML"));
    assert!(r.text().contains("2 MiB"), "{}", r.text());
    // A single PUT over 5 GiB, and a part over 5 GiB: EntityTooLarge from the head alone.
    let too_big = (5u64 << 30) + 1;
    let len = too_big.to_string();
    let put = tokio::task::spawn_blocking({
        let len = len.clone();
        move || {
            signed_raw(
                addr,
                ADMIN,
                "PUT",
                "/lim/huge",
                &[("content-length", &len), ("expect", "100-continue")],
                "UNSIGNED-PAYLOAD",
                b"",
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(put.status, 400, "{}", put.text());
    assert_eq!(put.code().as_deref(), Some("EntityTooLarge"));
    let up = ok(
        c.create_multipart_upload().bucket("lim").key("m").send().await,
        "create",
    );
    let id = up.upload_id().unwrap().to_string();
    let part = tokio::task::spawn_blocking(move || {
        signed_raw(
            addr,
            ADMIN,
            "PUT",
            &format!("/lim/m?partNumber=1&uploadId={id}"),
            &[("content-length", &len), ("expect", "100-continue")],
            "UNSIGNED-PAYLOAD",
            b"",
        )
    })
    .await
    .unwrap();
    assert_eq!(part.status, 400, "{}", part.text());
    assert_eq!(part.code().as_deref(), Some("EntityTooLarge"));
    // Part number 10001.
    let e = c
        .upload_part()
        .bucket("lim")
        .key("m")
        .upload_id(up.upload_id().unwrap())
        .part_number(10_001)
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&e), Some(400));
    // Open uploads per bucket: the second is the last allowed.
    let second = ok(
        c.create_multipart_upload().bucket("lim").key("n").send().await,
        "create 2",
    );
    let e = c
        .create_multipart_upload()
        .bucket("lim")
        .key("p")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&e), Some(403));
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&e.into_service_error()),
        Some("QuotaExceeded")
    );
    ok(
        c.abort_multipart_upload()
            .bucket("lim")
            .key("n")
            .upload_id(second.upload_id().unwrap())
            .send()
            .await,
        "abort",
    );
    ok(
        c.create_multipart_upload().bucket("lim").key("p").send().await,
        "room again after an abort",
    );
    // User metadata over 2 KiB.
    let e = c
        .put_object()
        .bucket("lim")
        .key("meta")
        .metadata("big", "v".repeat(2100))
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&e), Some(400));
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&e.into_service_error()),
        Some("MetadataTooLarge")
    );
}
