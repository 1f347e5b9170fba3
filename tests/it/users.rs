//! Keys without restarts: `wormgate user …` (admin API and offline), SIGHUP reloads of the config
//! file's users and of the TLS certificate, and the graceful stop on SIGTERM.

use crate::common::*;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::time::Duration;

/// `wormgate user ARGS --endpoint` with `keys`; (exit code, stdout, stderr).
fn user_cmd(srv: &Server, keys: Keys, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["user"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--endpoint", &srv.endpoint]);
    wormgate(&all, &keys_env(keys))
}

/// The key pair a `--format json` add/rotate printed.
fn key_pair(out: &str) -> (String, String) {
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    let obj = v.as_object().expect("an object");
    assert_eq!(obj.len(), 2, "exactly access_key and secret_key: {out}");
    (
        v["access_key"].as_str().expect("access_key").to_string(),
        v["secret_key"].as_str().expect("secret_key").to_string(),
    )
}

async fn works(srv: &Server, (ak, sk): &(String, String)) -> bool {
    client_for(&srv.endpoint, ak, sk, Checksums::Default)
        .list_buckets()
        .send()
        .await
        .is_ok()
}

async fn refused_as_unknown_key(srv: &Server, (ak, sk): &(String, String)) {
    expect_err(
        client_for(&srv.endpoint, ak, sk, Checksums::Default)
            .list_buckets()
            .send()
            .await,
        403,
        "InvalidAccessKeyId",
    );
}

fn audit_lines(srv: &Server) -> String {
    let (code, out, err) = wormgate(&["audit", "export", "--endpoint", &srv.endpoint], &keys_env(ADMIN));
    assert_eq!(code, 0, "{err}");
    out
}

#[tokio::test]
async fn user_add_disable_rotate_delete_take_effect_at_once() {
    let srv = Server::start();
    let (code, out, err) = user_cmd(
        &srv,
        ADMIN,
        &[
            "add",
            "backup1",
            "--role",
            "writer",
            "--buckets",
            "veeam-*,archive",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let first = key_pair(&out);
    assert!(first.0.starts_with("WG") && first.0.len() == 20, "{}", first.0);
    assert_eq!(first.1.len(), 40);

    // Works on the next request, within its scope.
    let c = client_for(&srv.endpoint, &first.0, &first.1, Checksums::Default);
    ok(c.create_bucket().bucket("veeam-1").send().await, "create veeam-1");
    expect_err(c.create_bucket().bucket("elsewhere").send().await, 403, "AccessDenied");
    ok(
        c.put_object()
            .bucket("veeam-1")
            .key("k")
            .body(b"x".to_vec().into())
            .send()
            .await,
        "put",
    );

    // Only the admin role manages users; the same name twice is refused.
    let (code, _, err) = user_cmd(&srv, AUDITOR, &["list"]);
    assert_ne!(code, 0);
    assert!(err.contains("403"), "{err}");
    let (code, _, err) = user_cmd(&srv, ADMIN, &["add", "backup1", "--role", "writer"]);
    assert_ne!(code, 0);
    assert!(err.contains("409"), "{err}");
    let (code, _, err) = user_cmd(&srv, ADMIN, &["add", "x", "--role", "root"]);
    assert_ne!(code, 0);
    assert!(err.contains("unknown role"), "{err}");

    // list/show: no secret, ever.
    let (code, out, err) = user_cmd(&srv, ADMIN, &["list", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(&first.1), "a secret in the listing");
    let list: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let b1 = list.iter().find(|u| u["name"] == "backup1").expect("backup1 listed");
    assert_eq!(b1["role"], "writer");
    assert_eq!(b1["buckets"], serde_json::json!(["veeam-*", "archive"]));
    assert_eq!(b1["source"], "catalog");
    assert!(list.iter().any(|u| u["name"] == "writer" && u["source"] == "config"));
    let (code, out, _) = user_cmd(&srv, ADMIN, &["show", "backup1"]);
    assert_eq!(code, 0);
    assert!(out.contains("backup1") && !out.contains(&first.1));

    // disable → InvalidAccessKeyId as AWS answers an inactive key; enable → back.
    assert_eq!(user_cmd(&srv, ADMIN, &["disable", "backup1"]).0, 0);
    refused_as_unknown_key(&srv, &first).await;
    assert_eq!(user_cmd(&srv, ADMIN, &["enable", "backup1"]).0, 0);
    assert!(works(&srv, &first).await);

    // rotate with a grace period: both keys work, then the old one stops by itself.
    let (code, out, err) = user_cmd(&srv, ADMIN, &["rotate", "backup1", "--grace", "4s", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let second = key_pair(&out);
    assert_ne!(second, first);
    assert!(works(&srv, &first).await, "old key inside its grace period");
    assert!(works(&srv, &second).await, "new key");
    let (_, out, _) = user_cmd(&srv, ADMIN, &["show", "backup1", "--format", "json"]);
    assert!(
        out.contains(&first.0),
        "show names the old key in its grace period: {out}"
    );
    tokio::time::sleep(Duration::from_millis(4500)).await;
    refused_as_unknown_key(&srv, &first).await;
    assert!(works(&srv, &second).await);

    // rotate without grace: the old key stops at once.
    let (code, out, _) = user_cmd(&srv, ADMIN, &["rotate", "backup1", "--format", "json"]);
    assert_eq!(code, 0);
    let third = key_pair(&out);
    refused_as_unknown_key(&srv, &second).await;
    assert!(works(&srv, &third).await);

    // delete.
    assert_eq!(user_cmd(&srv, ADMIN, &["delete", "backup1"]).0, 0);
    refused_as_unknown_key(&srv, &third).await;
    let (code, _, err) = user_cmd(&srv, ADMIN, &["delete", "backup1"]);
    assert_ne!(code, 0);
    assert!(err.contains("404"), "{err}");

    // Every change is audited (without the secrets), and the trail verifies.
    let audit = audit_lines(&srv);
    for op in [
        "AdminUserAdd",
        "AdminUserDisable",
        "AdminUserEnable",
        "AdminUserRotate",
        "AdminUserDelete",
    ] {
        assert!(
            audit.lines().any(|l| l.contains(&format!("\"operation\":\"{op}\""))),
            "no {op} record"
        );
    }
    for secret in [&first.1, &second.1, &third.1] {
        assert!(!audit.contains(secret.as_str()), "a secret reached the audit trail");
        assert!(!srv.log().contains(secret.as_str()), "a secret reached the log");
    }
    assert!(audit.contains("\"principal\":\"admin\""));
    let (code, out, err) = wormgate(&["audit", "verify", "--endpoint", &srv.endpoint], &keys_env(ADMIN));
    assert_eq!(code, 0, "{out}{err}");
}

#[tokio::test]
async fn offline_user_add_is_audited_and_loaded_at_start() {
    let mut srv = Server::start();
    assert!(srv.stop().success());
    let data = srv.data_dir.to_string_lossy().to_string();
    let (code, out, err) = wormgate(
        &[
            "user",
            "add",
            "offline1",
            "--role",
            "writer",
            "--format",
            "json",
            "--data-dir",
            &data,
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let pair = key_pair(&out);
    let (code, out, _) = wormgate(&["user", "list", "--data-dir", &data], &[]);
    assert_eq!(code, 0);
    assert!(out.contains("offline1") && !out.contains(&pair.1), "{out}");
    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", &data], &[]);
    assert_eq!(code, 0, "{out}{err}");
    srv.restart();
    assert!(works(&srv, &pair).await, "an offline-added user works after the start");
    assert!(audit_lines(&srv)
        .lines()
        .any(|l| l.contains("\"operation\":\"UserAdd\"") && l.contains("offline:")));
    // The catalog holding the secrets is its owner's only.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(srv.data_dir.join("catalog"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "catalog dir mode {mode:o}");
}

const USERS_A: &str = r#"
[[users]]
name = "alpha"
access_key = "AKIARELOADALPHA"
secret_key = "alpha-secret-0123456"
role = "writer"
"#;

const USERS_B: &str = r#"
[[users]]
name = "beta"
access_key = "AKIARELOADBETA"
secret_key = "beta-secret-01234567"
role = "writer"
"#;

fn hup(srv: &Server) {
    let st = std::process::Command::new("kill")
        .args(["-HUP", &srv.pid().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// Wait for the `n`-th log line containing `needle`.
async fn wait_count(srv: &Server, needle: &str, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while srv.log().matches(needle).count() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "no {n}x '{needle}' in:\n{}",
            srv.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn sighup_reloads_the_config_users_and_refuses_a_bad_file() {
    let srv = Server::start_with(Options {
        config_toml: Some(USERS_A.into()),
        ..Default::default()
    });
    let alpha = ("AKIARELOADALPHA".to_string(), "alpha-secret-0123456".to_string());
    let beta = ("AKIARELOADBETA".to_string(), "beta-secret-01234567".to_string());
    assert!(works(&srv, &alpha).await);
    refused_as_unknown_key(&srv, &beta).await;

    std::fs::write(srv.root().join("wormgate.toml"), USERS_B).unwrap();
    hup(&srv);
    wait_count(&srv, "reloaded the config file's users", 1).await;
    assert!(works(&srv, &beta).await, "new user works without a restart");
    refused_as_unknown_key(&srv, &alpha).await;
    assert!(
        works(&srv, &(ADMIN.access.into(), ADMIN.secret.into())).await,
        "bootstrap admin kept"
    );

    // A bad file is refused; the running users stay.
    std::fs::write(srv.root().join("wormgate.toml"), "[[users]]\nname = 1\n").unwrap();
    hup(&srv);
    wait_count(&srv, "config file refused", 1).await;
    assert!(works(&srv, &beta).await, "running users stay after a bad file");
    // A duplicate key is refused as at start.
    std::fs::write(srv.root().join("wormgate.toml"), format!("{USERS_B}{USERS_B}")).unwrap();
    hup(&srv);
    wait_count(&srv, "config file refused", 2).await;
    assert!(works(&srv, &beta).await);
    let audit = audit_lines(&srv);
    assert!(
        audit
            .lines()
            .filter(|l| l.contains("\"operation\":\"ConfigReload\""))
            .count()
            >= 3
    );
}

fn make_cert(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let st = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
        ])
        .arg("-subj")
        .arg(format!("/CN={name}"))
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(st.success());
    (cert, key)
}

/// The subject the HTTPS listener presents to a new connection.
fn served_subject(addr: &str) -> String {
    let mut s_client = std::process::Command::new("openssl")
        .args(["s_client", "-connect", addr])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl s_client");
    drop(s_client.stdin.take());
    let mut out = String::new();
    s_client.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let _ = s_client.wait();
    out.lines()
        .find(|l| l.starts_with("subject="))
        .unwrap_or_else(|| panic!("no certificate from {addr}: {out}"))
        .to_string()
}

#[tokio::test]
async fn sighup_swaps_the_tls_certificate_for_new_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (c1, k1) = make_cert(dir.path(), "first-cert");
    let (c2, k2) = make_cert(dir.path(), "second-cert");
    let (live_c, live_k) = (dir.path().join("live.crt"), dir.path().join("live.key"));
    std::fs::copy(&c1, &live_c).unwrap();
    std::fs::copy(&k1, &live_k).unwrap();
    let srv = Server::start_with(Options::default().args(&[
        "--tls-cert",
        live_c.to_str().unwrap(),
        "--tls-key",
        live_k.to_str().unwrap(),
        "--tls-listen",
        "127.0.0.1:0",
    ]));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let tls_addr = loop {
        if let Some(a) = srv
            .stdout_lines()
            .iter()
            .find_map(|l| l.split("listening on https://").nth(1).map(|a| a.trim().to_string()))
        {
            break a;
        }
        assert!(std::time::Instant::now() < deadline, "no https listener");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(served_subject(&tls_addr).contains("first-cert"));

    // A key that does not match the certificate is refused; the first certificate stays.
    std::fs::copy(&c2, &live_c).unwrap();
    hup(&srv);
    wait_count(&srv, "TLS certificate or key refused", 1).await;
    assert!(served_subject(&tls_addr).contains("first-cert"));

    std::fs::copy(&k2, &live_k).unwrap();
    hup(&srv);
    wait_count(&srv, "reloaded the TLS certificate and key", 1).await;
    assert!(
        served_subject(&tls_addr).contains("second-cert"),
        "new connections get the new certificate"
    );
}

#[tokio::test]
async fn sigterm_lets_an_upload_in_flight_finish_and_exits_cleanly() {
    let mut srv = Server::start();
    let admin = srv.admin();
    make_bucket(&admin, "drain").await;
    let body = pattern(256 * 1024, 7);
    let len = body.len().to_string();
    let signed = sign_headers(
        srv.addr,
        ADMIN,
        "PUT",
        "/drain/slow",
        &[("content-length", &len)],
        "UNSIGNED-PAYLOAD",
    );
    let mut s = std::net::TcpStream::connect(srv.addr).unwrap();
    let mut head = "PUT /drain/slow HTTP/1.1\r\n".to_string();
    for (k, v) in &signed {
        let _ = write!(head, "{k}: {v}\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body[..1000]).unwrap();
    s.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // SIGTERM while the upload is half sent.
    let pid = srv.pid();
    let st = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    srv.wait_log(&["shutting down"], Duration::from_secs(10)).await;
    // New connections are refused while the upload drains.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(srv.addr).is_ok() {
        assert!(std::time::Instant::now() < deadline, "still accepting after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The rest of the body, slowly: the upload completes and is acknowledged.
    for chunk in body[1000..].chunks(64 * 1024) {
        s.write_all(chunk).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resp = read_response(&mut s, false);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let status = srv.wait_exit();
    assert_eq!(status.code(), Some(0), "exit code; log:\n{}", srv.log());

    // Stored, audited, and the trail verifies.
    let data = srv.data_dir.to_string_lossy().to_string();
    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", &data], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = wormgate(&["audit", "export", "--data-dir", &data], &[]);
    assert_eq!(code, 0);
    let stopped = out
        .lines()
        .collect::<Vec<_>>()
        .iter()
        .rposition(|l| l.contains("\"operation\":\"GatewayStopped\""));
    let put = out
        .lines()
        .position(|l| l.contains("\"operation\":\"PutObject\"") && l.contains("\"key\":\"slow\""));
    assert!(
        put.is_some() && stopped.is_some() && put < stopped,
        "PutObject before GatewayStopped"
    );
    srv.restart();
    let got = body_bytes(ok(
        srv.admin().get_object().bucket("drain").key("slow").send().await,
        "GET after restart",
    ))
    .await;
    assert!(got == body, "stored bytes differ");
}
