//! Crash safety: `kill -9` during uploads never leaves a visible partial object and never loses an
//! acknowledged one.

use crate::common::*;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use bytes::Bytes;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const BIG: u64 = 200 * 1024 * 1024;

/// A 200 MiB file: a 1 MiB random block, each copy stamped with its index.
fn big_file(dir: &Path) -> PathBuf {
    let path = dir.join("big.bin");
    let block = pattern(1 << 20, 99);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..(BIG >> 20) {
        let mut b = block.clone();
        b[..8].copy_from_slice(&i.to_le_bytes());
        f.write_all(&b).unwrap();
    }
    f.flush().unwrap();
    path
}

/// Stream `path` through a [`ChannelBody`], 256 KiB at a time with a pause after each piece.
fn paced_file_body(path: PathBuf, pause: Duration) -> ByteStream {
    let len = std::fs::metadata(&path).unwrap().len();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    std::thread::spawn(move || {
        let mut f = std::fs::File::open(path).unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = f.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            if tx.blocking_send(Bytes::copy_from_slice(&buf[..n])).is_err() {
                break;
            }
            std::thread::sleep(pause);
        }
    });
    ByteStream::from_body_1_x(ChannelBody::new(rx, len))
}

/// Largest file in the server's `tmp/` right now.
fn largest_tmp(data_dir: &Path) -> u64 {
    std::fs::read_dir(data_dir.join("tmp")).map_or(0, |rd| {
        rd.flatten()
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .max()
            .unwrap_or(0)
    })
}

/// Wait until the server is writing at least `bytes` of an upload into `tmp/`.
async fn wait_for_partial(data_dir: &Path, bytes: u64, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if largest_tmp(data_dir) >= bytes {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

async fn acked_object(c: &Client, b: &str) -> (String, String) {
    let data = pattern(5 * 1024 * 1024 + 7, 42);
    let put = ok(
        c.put_object()
            .bucket(b)
            .key("acked")
            .body(data.clone().into())
            .send()
            .await,
        "acked PUT",
    );
    (put.version_id().unwrap().to_string(), sha256_hex(&data))
}

async fn assert_acked_intact(c: &Client, b: &str, vid: &str, sha: &str) {
    let g = ok(
        c.get_object().bucket(b).key("acked").version_id(vid).send().await,
        "GET acked",
    );
    assert_eq!(sha256_hex(&body_bytes(g).await), sha, "acknowledged object changed");
    let g = ok(
        c.get_object().bucket(b).key("acked").send().await,
        "GET acked (current)",
    );
    assert_eq!(g.version_id(), Some(vid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_mid_upload_leaves_no_partial_version() {
    let mut srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "crash").await;
    let (vid, sha) = acked_object(&c, "crash").await;
    let dir = tempfile::tempdir().unwrap();
    let path = big_file(dir.path());

    // A paced 200 MiB upload (aws-chunked, signed chunks, CRC32 trailer — the SDK default over http).
    let body = paced_file_body(path.clone(), Duration::from_millis(2));
    let uploader = {
        let c = c.clone();
        tokio::spawn(async move { c.put_object().bucket("crash").key("big").body(body).send().await })
    };
    assert!(
        wait_for_partial(&srv.data_dir, 8 << 20, Duration::from_secs(60)).await,
        "the upload never reached 8 MiB in tmp/; log:\n{}",
        srv.log()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let partial = largest_tmp(&srv.data_dir);
    assert!(partial < BIG, "upload already complete before the kill");
    srv.kill9();
    let result = uploader.await.unwrap();
    assert!(result.is_err(), "the interrupted upload was acknowledged: {result:?}");

    srv.restart();
    let c = srv.admin();
    let v = ok(
        c.list_object_versions().bucket("crash").send().await,
        "versions after restart",
    );
    let keys: Vec<&str> = v.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(
        keys,
        vec!["acked"],
        "only the acknowledged object is visible (partial was {partial} bytes)"
    );
    assert!(v.delete_markers().is_empty());
    expect_err(c.get_object().bucket("crash").key("big").send().await, 404, "NoSuchKey");
    expect_err(c.head_object().bucket("crash").key("big").send().await, 404, "");
    let l = ok(c.list_objects_v2().bucket("crash").send().await, "list");
    assert_eq!(l.contents().len(), 1);
    assert_acked_intact(&c, "crash", &vid, &sha).await;

    // Whatever stayed in tmp/ is not an object; the server works normally afterwards.
    let put = ok(
        c.put_object()
            .bucket("crash")
            .key("big")
            .body(b"small now".to_vec().into())
            .send()
            .await,
        "PUT after",
    );
    let g = ok(c.get_object().bucket("crash").key("big").send().await, "GET after");
    assert_eq!(g.version_id(), put.version_id());
    assert_eq!(body_bytes(g).await, b"small now");
    let v = ok(
        c.list_object_versions().bucket("crash").prefix("big").send().await,
        "versions of big",
    );
    assert_eq!(v.versions().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_full_speed_file_upload() {
    let mut srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "crash2").await;
    let (vid, sha) = acked_object(&c, "crash2").await;
    let dir = tempfile::tempdir().unwrap();
    let path = big_file(dir.path());
    let big_sha = sha256_hex(&std::fs::read(&path).unwrap());
    let body = ByteStream::from_path(&path).await.unwrap();
    let uploader = {
        let c = c.clone();
        tokio::spawn(async move { c.put_object().bucket("crash2").key("big").body(body).send().await })
    };
    // Kill as soon as the server has a good part of the upload on disk (the exact moment is not
    // controlled: the invariant must hold either way).
    wait_for_partial(&srv.data_dir, 32 << 20, Duration::from_secs(60)).await;
    srv.kill9();
    let result = uploader.await.unwrap();
    srv.restart();
    let c = srv.admin();
    let v = ok(
        c.list_object_versions().bucket("crash2").prefix("big").send().await,
        "versions",
    );
    match result {
        Ok(out) => {
            // Acknowledged before the kill: it must be there, complete.
            assert_eq!(v.versions().len(), 1);
            let g = ok(c.get_object().bucket("crash2").key("big").send().await, "GET big");
            assert_eq!(g.version_id(), out.version_id());
            assert_eq!(sha256_hex(&body_bytes(g).await), big_sha);
        }
        Err(_) => {
            assert!(
                v.versions().is_empty(),
                "a refused/interrupted upload is visible: {:?}",
                v.versions()
            );
        }
    }
    assert_acked_intact(&c, "crash2", &vid, &sha).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_under_concurrent_puts_loses_no_acknowledged_object() {
    let mut srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "busy").await;
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for t in 0..6u64 {
        let (c, acked, stop) = (c.clone(), acked.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let key = format!("t{t}/{n:05}");
                let size = 1000 + ((t * 7919 + n * 104_729) % 200_000) as usize;
                let data = pattern(size, t * 1_000_000 + n);
                match c.put_object().bucket("busy").key(&key).body(data.into()).send().await {
                    Ok(out) => acked
                        .lock()
                        .unwrap()
                        .push((key, out.version_id().unwrap_or("").to_string())),
                    Err(_) => break,
                }
                n += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    srv.kill9();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 6,
        "too few PUTs completed before the kill ({}) to mean anything",
        acked.len()
    );

    srv.restart();
    let c = srv.admin();
    // Every listed version is complete (content is a function of its key).
    let listed: Vec<(String, String, i64)> = all_versions(&c, "busy")
        .await
        .0
        .into_iter()
        .map(|l| (l.key, l.version_id, l.size.unwrap_or(-1)))
        .collect();
    for (key, vid, size) in &listed {
        let (t, n) = key[1..].split_once('/').unwrap();
        let (t, n): (u64, u64) = (t.parse().unwrap(), n.parse().unwrap());
        let want_size = 1000 + ((t * 7919 + n * 104_729) % 200_000) as usize;
        let want = pattern(want_size, t * 1_000_000 + n);
        assert_eq!(*size, want_size as i64, "{key}: listed size");
        let g = ok(
            c.get_object().bucket("busy").key(key).version_id(vid).send().await,
            "GET listed",
        );
        assert_eq!(
            sha256_hex(&body_bytes(g).await),
            sha256_hex(&want),
            "{key}: partial or wrong content"
        );
    }
    // Every acknowledged version survived.
    for (key, vid) in &acked {
        assert!(
            listed.iter().any(|(k, v, _)| k == key && v == vid),
            "acknowledged {key} ({vid}) lost after kill -9 ({} acked, {} listed)",
            acked.len(),
            listed.len()
        );
    }
}
