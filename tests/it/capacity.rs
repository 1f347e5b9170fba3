//! Capacity: per-bucket quotas (bytes, versions) on every way a version comes in (PUT with
//! Content-Length, aws-chunked, a body of unknown length, multipart, copy), the free-space reserve
//! (writes refused with 507, reads and deletes still work), and a data volume that really fills up
//! (tmpfs): requests fail cleanly, nothing partial appears, the audit chain verifies, a restart works.

use crate::common::*;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use std::fmt::Write as _;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};

/// `wormgate quota …` against the running server with `keys`; (exit code, stdout, stderr).
fn quota_cli(srv: &Server, keys: Keys, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["quota"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--endpoint", &srv.endpoint]);
    wormgate(&all, &keys_env(keys))
}

#[track_caller]
fn set_quota(srv: &Server, args: &[&str]) {
    let mut all = vec!["set"];
    all.extend_from_slice(args);
    let (code, out, err) = quota_cli(srv, OFFICER, &all);
    assert_eq!(code, 0, "quota set {args:?}: {out}{err}");
}

/// The bucket's usage as `quota get` reports it: (bytes, versions).
fn usage(srv: &Server, bucket: &str) -> (u64, u64) {
    let (code, out, err) = quota_cli(srv, AUDITOR, &["get", "--bucket", bucket]);
    assert_eq!(code, 0, "quota get: {out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("quota get prints JSON");
    let u = &v["buckets"][0]["usage"];
    (u["bytes"].as_u64().unwrap(), u["versions"].as_u64().unwrap())
}

/// A PUT whose length is not known up front: plain HTTP/1.1 chunked transfer, unsigned payload,
/// neither Content-Length nor x-amz-decoded-content-length.
fn put_unknown_length(addr: SocketAddr, target: &str, data: &[u8]) -> RawResponse {
    let signed = sign_headers(
        addr,
        ADMIN,
        "PUT",
        target,
        &[("transfer-encoding", "chunked")],
        "UNSIGNED-PAYLOAD",
    );
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    let mut req = format!("PUT {target} HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in &signed {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    req.push_str("\r\n");
    let mut body = Vec::new();
    for part in data.chunks(8192) {
        body.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        body.extend_from_slice(part);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    s.write_all(req.as_bytes()).expect("write head");
    // The server may answer (and close) before the whole body is sent.
    let _ = s.write_all(&body);
    read_response(&mut s, false)
}

#[tokio::test]
async fn byte_quota_refuses_put_copy_upload_part_and_complete_and_stores_nothing() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "quota-b").await;
    make_bucket(&c, "other-b").await;
    // Only an officer (or admin) sets quotas; the auditor and writer may not.
    for k in [AUDITOR, WRITER] {
        let (code, out, err) = quota_cli(&srv, k, &["set", "--bucket", "quota-b", "--bytes", "100KiB"]);
        assert_eq!(code, 2, "{out}{err}");
        assert!(err.contains("403"), "{err}");
    }
    let (code, _, err) = quota_cli(&srv, OFFICER, &["set", "--bucket", "nope", "--bytes", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("no bucket nope"), "{err}");
    let (code, _, err) = quota_cli(&srv, OFFICER, &["set", "--bucket", "quota-b", "--bytes", "lots"]);
    assert_eq!(code, 2);
    assert!(err.contains("bytes"), "{err}");
    set_quota(&srv, &["--bucket", "quota-b", "--bytes", "100KiB"]);
    let limit = 100 * 1024;

    // 60 KiB fits (SDK default: aws-chunked with x-amz-decoded-content-length).
    let sixty = pattern(60 * 1024, 1);
    ok(
        c.put_object()
            .bucket("quota-b")
            .key("a")
            .body(ByteStream::from(sixty.clone()))
            .send()
            .await,
        "PUT 60 KiB",
    );
    assert_eq!(usage(&srv, "quota-b"), (60 * 1024, 1));
    // 50 KiB more does not, by Content-Length or by decoded length.
    for mode in BOTH {
        let cm = srv.client(ADMIN, mode);
        let e = expect_err(
            cm.put_object()
                .bucket("quota-b")
                .key("b")
                .body(ByteStream::from(pattern(50 * 1024, 2)))
                .send()
                .await,
            403,
            "QuotaExceeded",
        );
        eprintln!("{mode:?}: {e:?}");
    }
    // The error document names the bucket, the quota and the usage.
    let r = signed_raw(
        srv.addr,
        ADMIN,
        "PUT",
        "/quota-b/raw",
        &[("content-length", "51200")],
        "UNSIGNED-PAYLOAD",
        &pattern(50 * 1024, 3),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.code().as_deref(), Some("QuotaExceeded"));
    let t = r.text();
    assert!(
        t.contains("bucket &apos;quota-b&apos;") || t.contains("bucket 'quota-b'"),
        "{t}"
    );
    assert!(t.contains(&format!("{limit} bytes")), "quota in the message: {t}");
    assert!(t.contains(&format!("{} bytes", 60 * 1024)), "usage in the message: {t}");
    assert!(t.contains("<Resource>/quota-b/raw</Resource>"), "{t}");
    // Unknown length: stopped while streaming, once past the quota.
    let r = put_unknown_length(srv.addr, "/quota-b/stream", &pattern(50 * 1024, 4));
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.code().as_deref(), Some("QuotaExceeded"));
    // ... and a small one of unknown length fits.
    let r = put_unknown_length(srv.addr, "/quota-b/small-stream", &pattern(1000, 5));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(usage(&srv, "quota-b"), (60 * 1024 + 1000, 2));
    // CopyObject into the bucket counts too; into another bucket it is not limited.
    expect_err(
        c.copy_object()
            .bucket("quota-b")
            .key("copy")
            .copy_source("quota-b/a")
            .send()
            .await,
        403,
        "QuotaExceeded",
    );
    ok(
        c.copy_object()
            .bucket("other-b")
            .key("copy")
            .copy_source("quota-b/a")
            .send()
            .await,
        "copy to an unlimited bucket",
    );
    // UploadPart counts the upload's other parts; CompleteMultipartUpload counts the new version.
    let up = ok(
        c.create_multipart_upload().bucket("quota-b").key("mp").send().await,
        "CreateMultipartUpload",
    );
    let uid = up.upload_id().unwrap().to_string();
    let p1 = ok(
        c.upload_part()
            .bucket("quota-b")
            .key("mp")
            .upload_id(&uid)
            .part_number(1)
            .body(ByteStream::from(pattern(30 * 1024, 6)))
            .send()
            .await,
        "UploadPart 30 KiB",
    );
    expect_err(
        c.upload_part()
            .bucket("quota-b")
            .key("mp")
            .upload_id(&uid)
            .part_number(2)
            .body(ByteStream::from(pattern(20 * 1024, 7)))
            .send()
            .await,
        403,
        "QuotaExceeded",
    );
    // Room is taken by a plain PUT meanwhile: the completion no longer fits.
    ok(
        c.put_object()
            .bucket("quota-b")
            .key("filler")
            .body(ByteStream::from(pattern(10 * 1024, 8)))
            .send()
            .await,
        "PUT 10 KiB",
    );
    let done = CompletedMultipartUpload::builder()
        .parts(
            CompletedPart::builder()
                .part_number(1)
                .e_tag(p1.e_tag().unwrap())
                .build(),
        )
        .build();
    expect_err(
        c.complete_multipart_upload()
            .bucket("quota-b")
            .key("mp")
            .upload_id(&uid)
            .multipart_upload(done.clone())
            .send()
            .await,
        403,
        "QuotaExceeded",
    );
    // Nothing of the refused requests was stored.
    let listed = ok(
        c.list_object_versions().bucket("quota-b").send().await,
        "ListObjectVersions",
    );
    let mut keys: Vec<&str> = listed.versions().iter().filter_map(|v| v.key()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["a", "filler", "small-stream"]);
    assert_eq!(usage(&srv, "quota-b"), (60 * 1024 + 1000 + 10 * 1024, 3));
    // Raising the quota lets the same completion through.
    set_quota(&srv, &["--bucket", "quota-b", "--bytes", "1MiB"]);
    ok(
        c.complete_multipart_upload()
            .bucket("quota-b")
            .key("mp")
            .upload_id(&uid)
            .multipart_upload(done)
            .send()
            .await,
        "CompleteMultipartUpload under the raised quota",
    );
    assert_eq!(usage(&srv, "quota-b"), (60 * 1024 + 1000 + 10 * 1024 + 30 * 1024, 4));
    // The quota changes are in the audit trail, with who made them.
    let (code, out, err) = wormgate(
        &["audit", "export", "--endpoint", &srv.endpoint, "--bucket", "quota-b"],
        &keys_env(AUDITOR),
    );
    assert_eq!(code, 0, "{err}");
    let sets: Vec<&str> = out.lines().filter(|l| l.contains("AdminQuotaSet")).collect();
    assert!(
        sets.iter().any(|l| l.contains("\"officer\"") && l.contains("1 MiB")),
        "{sets:?}"
    );
}

#[tokio::test]
async fn version_quota_counts_versions_and_deletes_still_work() {
    let mut srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "vq-b").await;
    set_quota(&srv, &["--bucket", "vq-b", "--versions", "2"]);
    for i in 0..2 {
        ok(
            c.put_object()
                .bucket("vq-b")
                .key("k")
                .body(ByteStream::from(vec![i; 10]))
                .send()
                .await,
            "PUT",
        );
    }
    let e = expect_err(
        c.put_object()
            .bucket("vq-b")
            .key("other")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        403,
        "QuotaExceeded",
    );
    eprintln!("{e:?}");
    // A delete (marker) is never refused by a quota.
    ok(c.delete_object().bucket("vq-b").key("k").send().await, "DELETE");
    assert_eq!(usage(&srv, "vq-b"), (20, 2));
    // The counters survive a restart (recounted from the catalog) and so does the quota.
    srv.stop();
    let (code, out, err) = wormgate(
        &[
            "quota",
            "get",
            "--bucket",
            "vq-b",
            "--data-dir",
            srv.data_dir.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"versions\": 2"), "{out}");
    // `recover` rebuilds the catalog and keeps the officer's quota (it lives with the gateway state).
    let (code, out, err) = wormgate(&["recover", "--data-dir", srv.data_dir.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "recover: {out}{err}");
    let (code, out, err) = wormgate(
        &[
            "quota",
            "get",
            "--bucket",
            "vq-b",
            "--data-dir",
            srv.data_dir.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\"quota_source\": \"officer\""),
        "quota kept by recover: {out}"
    );
    assert!(out.contains("\"bytes\": 20"), "usage recounted after recover: {out}");
    // Offline: clear it (audited as an offline change), then restart.
    let (code, out, err) = wormgate(
        &[
            "quota",
            "clear",
            "--bucket",
            "vq-b",
            "--by",
            "carol",
            "--data-dir",
            srv.data_dir.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", srv.data_dir.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "audit verify after an offline quota change: {out}{err}");
    srv.restart();
    let c = srv.admin();
    ok(
        c.put_object()
            .bucket("vq-b")
            .key("other")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        "PUT after clearing the quota",
    );
    assert_eq!(usage(&srv, "vq-b"), (21, 3));
    let (code, out, err) = wormgate(
        &["audit", "export", "--endpoint", &srv.endpoint, "--bucket", "vq-b"],
        &keys_env(AUDITOR),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines()
            .any(|l| l.contains("QuotaClear") && l.contains("offline:carol")),
        "{out}"
    );
}

#[tokio::test]
async fn config_file_quota_applies_and_metrics_and_report_show_use() {
    let toml = r#"
reserve_free = "1%"

[[users]]
name = "officer"
access_key = "AKIAWORMOFFICER"
secret_key = "officer-secret-key-0123"
role = "officer"

[[users]]
name = "auditor"
access_key = "AKIAWORMAUDITOR"
secret_key = "auditor-secret-key-0123"
role = "auditor"

[quotas.cfg-b]
bytes = "1KiB"
"#;
    let srv = Server::start_with(Options {
        config_toml: Some(toml.into()),
        extra_args: vec!["--metrics-anonymous".into(), "true".into()],
        ..Default::default()
    });
    let c = srv.admin();
    make_bucket(&c, "cfg-b").await;
    ok(
        c.put_object()
            .bucket("cfg-b")
            .key("a")
            .body(ByteStream::from(vec![1; 900]))
            .send()
            .await,
        "PUT 900 B",
    );
    expect_err(
        c.put_object()
            .bucket("cfg-b")
            .key("b")
            .body(ByteStream::from(vec![1; 200]))
            .send()
            .await,
        403,
        "QuotaExceeded",
    );
    let r = raw_request(srv.addr, "GET", "/metrics", &[], b"");
    let m = r.text();
    assert!(m.contains("wormgate_bucket_bytes{bucket=\"cfg-b\"} 900"), "{m}");
    assert!(m.contains("wormgate_bucket_versions{bucket=\"cfg-b\"} 1"), "{m}");
    assert!(m.contains("wormgate_bucket_quota_bytes{bucket=\"cfg-b\"} 1024"), "{m}");
    assert!(
        m.contains("wormgate_bucket_quota_used_ratio{bucket=\"cfg-b\"} 0.87"),
        "{m}"
    );
    assert!(m.contains("wormgate_data_below_reserve 0"), "{m}");
    assert!(m.contains("wormgate_data_free_bytes "), "{m}");
    let (code, out, err) = wormgate(
        &["report", "--capacity", "--format", "json", "--endpoint", &srv.endpoint],
        &keys_env(AUDITOR),
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["buckets"][0]["bucket"], "cfg-b");
    assert_eq!(v["buckets"][0]["bytes"], 900);
    assert_eq!(v["buckets"][0]["quota_bytes"], 1024);
    assert_eq!(v["reserve_alarm"], false);
    // An officer's quota overrides the config file's.
    set_quota(&srv, &["--bucket", "cfg-b", "--bytes", "10KiB"]);
    ok(
        c.put_object()
            .bucket("cfg-b")
            .key("b")
            .body(ByteStream::from(vec![1; 200]))
            .send()
            .await,
        "PUT under the officer's quota",
    );
}

#[tokio::test]
async fn reserve_refuses_new_versions_with_507_while_reads_and_deletes_work() {
    let mut srv = Server::start_with(Options::min_retention("1s"));
    let c = srv.admin();
    make_bucket(&c, "res-b").await;
    let put = ok(
        c.put_object()
            .bucket("res-b")
            .key("kept")
            .body(ByteStream::from(pattern(1000, 1)))
            .send()
            .await,
        "PUT",
    );
    let vid = put.version_id().unwrap().to_string();
    let up = ok(
        c.create_multipart_upload().bucket("res-b").key("mp").send().await,
        "CreateMultipartUpload",
    );
    let uid = up.upload_id().unwrap().to_string();
    srv.stop();
    // No disk has 100% free: everything that adds bytes is refused.
    srv.options_mut().extra_args = vec!["--reserve-free".into(), "100%".into()];
    srv.restart();
    assert!(
        srv.stdout_lines().iter().any(|l| l.contains("BELOW the reserve")),
        "{:?}",
        srv.stdout_lines()
    );
    let c = srv.admin();
    for mode in BOTH {
        let cm = srv.client(ADMIN, mode);
        expect_err(
            cm.put_object()
                .bucket("res-b")
                .key("new")
                .body(ByteStream::from_static(b"new"))
                .send()
                .await,
            507,
            "InsufficientStorage",
        );
    }
    let r = signed_raw(
        srv.addr,
        ADMIN,
        "PUT",
        "/res-b/raw",
        &[("content-length", "3")],
        "UNSIGNED-PAYLOAD",
        b"abc",
    );
    assert_eq!(r.status, 507, "{}", r.text());
    assert!(r.text().contains("minimum free space threshold"), "{}", r.text());
    expect_err(
        c.copy_object()
            .bucket("res-b")
            .key("copy")
            .copy_source("res-b/kept")
            .send()
            .await,
        507,
        "InsufficientStorage",
    );
    expect_err(
        c.upload_part()
            .bucket("res-b")
            .key("mp")
            .upload_id(&uid)
            .part_number(1)
            .body(ByteStream::from_static(b"part"))
            .send()
            .await,
        507,
        "InsufficientStorage",
    );
    // Reads, listings, deletes (a marker, and an officer's delete of an expired version) still work.
    let g = ok(c.get_object().bucket("res-b").key("kept").send().await, "GET");
    assert_eq!(body_bytes(g).await, pattern(1000, 1));
    ok(c.list_objects_v2().bucket("res-b").send().await, "LIST");
    ok(
        c.delete_object().bucket("res-b").key("kept").send().await,
        "DELETE (marker)",
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let officer = srv.client(OFFICER, Checksums::Default);
    ok(
        officer
            .delete_object()
            .bucket("res-b")
            .key("kept")
            .version_id(&vid)
            .send()
            .await,
        "officer deletes the expired version",
    );
    // The removed version no longer counts.
    assert_eq!(usage(&srv, "res-b"), (0, 0));
    ok(
        c.abort_multipart_upload()
            .bucket("res-b")
            .key("mp")
            .upload_id(&uid)
            .send()
            .await,
        "AbortMultipartUpload",
    );
    let (code, out, err) = wormgate(
        &["report", "--capacity", "--endpoint", &srv.endpoint],
        &keys_env(AUDITOR),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("reserve_alarm=true"), "{out}");
    srv.stop();
    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", srv.data_dir.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{out}{err}");
    // The refusals are in the trail.
    let (_, out, _) = wormgate(&["audit", "export", "--data-dir", srv.data_dir.to_str().unwrap()], &[]);
    assert!(
        out.lines().filter(|l| l.contains("InsufficientStorage")).count() >= 4,
        "{out}"
    );
}

/// A tmpfs mounted on a directory; unmounted (lazily) when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mount a tmpfs of `size` on `dir`, or `None` (with a message) where mounting is not allowed.
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "none"])
            .arg(dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs(dir.to_path_buf())),
            Ok(o) => {
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs here ({}); the ENOSPC test needs root with mount rights",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fill the volume of `dir` with `path` until at most `leave` bytes are free (0: until ENOSPC).
fn fill(path: &Path, leave: u64) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0xAB_u8; 64 * 1024];
    loop {
        let free = free_bytes(path.parent().unwrap());
        if free <= leave {
            break;
        }
        let n = (free - leave).min(chunk.len() as u64) as usize;
        if f.write_all(&chunk[..n]).is_err() {
            break;
        }
    }
    let _ = f.sync_all();
}

fn free_bytes(dir: &Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(dir)
        .output()
        .expect("df");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0)
}

fn copy_tree(from: &Path, to: &Path) {
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .expect("cp");
    assert!(st.success());
}

#[tokio::test]
async fn full_volume_fails_requests_cleanly_and_the_trail_verifies_after() {
    let mut srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "full-b").await;
    ok(
        c.put_object()
            .bucket("full-b")
            .key("before")
            .body(ByteStream::from(pattern(1000, 1)))
            .send()
            .await,
        "PUT before",
    );
    srv.stop();
    // Move the data directory onto a small tmpfs.
    let saved = srv.root().join("saved");
    std::fs::create_dir_all(&saved).unwrap();
    copy_tree(&srv.data_dir, &saved);
    std::fs::remove_dir_all(&srv.data_dir).unwrap();
    let Some(_mnt) = Tmpfs::mount(&srv.data_dir, "96m") else {
        return;
    };
    copy_tree(&saved, &srv.data_dir);
    // The reserve is off: this test is about the disk filling anyway (another process filled it).
    srv.options_mut().extra_args = vec!["--reserve-free".into(), "0".into()];
    srv.restart();
    let c = srv.admin();
    let filler = srv.data_dir.join("filler");
    // Room for the catalog and the audit trail, not for a 4 MiB body.
    fill(&filler, 1024 * 1024);
    for (i, mode) in BOTH.into_iter().enumerate() {
        let cm = srv.client(ADMIN, mode);
        let r = cm
            .put_object()
            .bucket("full-b")
            .key(format!("big{i}"))
            .body(ByteStream::from(pattern(4 << 20, 2)))
            .send()
            .await;
        let e = r.expect_err("a 4 MiB PUT cannot fit");
        let st = status_of(&e);
        assert!(matches!(st, Some(507 | 500)), "{mode:?}: {e:?}");
        eprintln!("{mode:?}: PUT on a full volume: {st:?}");
    }
    // A body many times the writer thread's queue: the thread's ENOSPC must stop the request while
    // the client is still sending, and answer cleanly (the 4 MiB bodies above fail inside the queue).
    let r = c
        .put_object()
        .bucket("full-b")
        .key("big-stream")
        .body(ByteStream::from(pattern(32 << 20, 5)))
        .send()
        .await;
    let e = r.expect_err("a 32 MiB PUT cannot fit");
    assert!(matches!(status_of(&e), Some(507 | 500)), "{e:?}");
    assert!(
        std::fs::read_dir(srv.data_dir.join("tmp")).unwrap().next().is_none(),
        "the refused bodies left no tmp file"
    );
    let up = c.create_multipart_upload().bucket("full-b").key("mp").send().await;
    if let Ok(up) = up {
        let r = c
            .upload_part()
            .bucket("full-b")
            .key("mp")
            .upload_id(up.upload_id().unwrap())
            .part_number(1)
            .body(ByteStream::from(pattern(4 << 20, 3)))
            .send()
            .await;
        let e = r.expect_err("a 4 MiB part cannot fit");
        assert!(matches!(status_of(&e), Some(507 | 500)), "{e:?}");
    }
    // Now fill it up completely. The audit trail gives up the room it holds back (a 4 MiB file in
    // audit/), so the refusal is still recorded: 507.
    let ballast = srv.data_dir.join("audit").join("audit-reserve.bin");
    assert!(ballast.exists(), "the audit trail holds room back");
    let filler2 = srv.data_dir.join("filler2");
    fill(&filler2, 0);
    // An append that still fits in a page the trail's file already holds needs no new room, so the
    // reserve is given up at the first append that does (how many records that takes depends on
    // their sizes): every refusal until then, and the one that takes the reserve, is a clean 507.
    let mut tried = Vec::new();
    while ballast.exists() && tried.len() < 200 {
        let key = if tried.is_empty() {
            "tiny0".to_string()
        } else {
            format!("tiny0-{}", tried.len())
        };
        let r = c
            .put_object()
            .bucket("full-b")
            .key(&key)
            .body(ByteStream::from_static(b"tiny"))
            .send()
            .await;
        let e = r.expect_err("nothing fits on a full volume");
        assert_eq!(status_of(&e), Some(507), "{key}: {e:?}");
        tried.push(key);
    }
    assert!(!ballast.exists(), "the reserve of the audit trail was given up");
    // Full again, and no room held back any more: not even the audit record fits (500).
    let filler3 = srv.data_dir.join("filler3");
    fill(&filler3, 0);
    let r = c
        .put_object()
        .bucket("full-b")
        .key("tiny1")
        .body(ByteStream::from_static(b"tiny"))
        .send()
        .await;
    eprintln!(
        "tiny PUT with the audit reserve used up: {:?}",
        r.as_ref().map(|_| 200).map_err(status_of)
    );
    let e = r.expect_err("nothing fits on a full volume");
    assert!(matches!(status_of(&e), Some(500 | 507)), "{e:?}");
    // Space comes back.
    for f in [&filler, &filler2, &filler3] {
        std::fs::remove_file(f).unwrap();
    }
    srv.stop();
    let dd = srv.data_dir.to_str().unwrap().to_string();
    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", &dd], &[]);
    assert_eq!(code, 0, "audit verify after ENOSPC: {out}{err}");
    // The refusals met by the full volume are in the trail, with their code.
    let (_, out, _) = wormgate(&["audit", "export", "--data-dir", &dd, "--bucket", "full-b"], &[]);
    let refused: Vec<&str> = out.lines().filter(|l| l.contains("InsufficientStorage")).collect();
    assert!(
        refused.iter().any(|l| l.contains("\"tiny0\"")) && refused.iter().any(|l| l.contains("\"big0\"")),
        "{out}"
    );
    srv.restart();
    assert!(ballast.exists(), "the audit reserve is set aside again at start");
    let c = srv.admin();
    let g = ok(c.get_object().bucket("full-b").key("before").send().await, "GET before");
    assert_eq!(body_bytes(g).await, pattern(1000, 1));
    // Nothing partial: the refused PUTs left no version.
    for key in ["big0", "big1", "big-stream", "tiny1"]
        .map(String::from)
        .into_iter()
        .chain(tried)
    {
        expect_err(c.get_object().bucket("full-b").key(&key).send().await, 404, "NoSuchKey");
    }
    ok(
        c.put_object()
            .bucket("full-b")
            .key("after")
            .body(ByteStream::from(pattern(4 << 20, 4)))
            .send()
            .await,
        "PUT after space came back",
    );
    srv.stop();
    let (code, out, err) = wormgate(&["scrub", "--data-dir", &dd], &[]);
    assert_eq!(code, 0, "scrub after ENOSPC: {out}{err}");
    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", &dd], &[]);
    assert_eq!(code, 0, "{out}{err}");
}
