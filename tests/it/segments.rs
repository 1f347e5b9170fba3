//! Small versions in append-only segment files (disk mode, `--segment-max-object`): where they land,
//! that a kill -9 under concurrent small PUTs loses no acknowledged one, that `recover` rebuilds
//! their records, that damage is caught, and that a sealed segment goes only once all of its
//! versions are gone (also when it was sealed after they went: the reclaim pass after each
//! lifecycle pass).

use crate::common::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wormgate::store::blob::segment;

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Segment ids under a data directory.
fn segments_of(data: &Path) -> Vec<String> {
    segment::list(data).expect("list segments")
}

/// Every (segment, entry) on disk, in order.
fn entries_of(data: &Path) -> Vec<(String, segment::Scanned)> {
    let mut out = Vec::new();
    for s in segments_of(data) {
        let scan = segment::scan_file(&segment::path_of(data, &s).unwrap()).unwrap();
        out.extend(scan.entries.into_iter().map(|e| (s.clone(), e)));
    }
    out
}

/// Files under `blobs/` (any shard).
fn blob_files(data: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(data.join("blobs")) {
        for shard in rd.flatten() {
            if let Ok(files) = std::fs::read_dir(shard.path()) {
                out.extend(files.flatten().map(|f| f.path()));
            }
        }
    }
    out
}

async fn get(c: &aws_sdk_s3::Client, bucket: &str, key: &str, vid: &str) -> Vec<u8> {
    body_bytes(ok(
        c.get_object().bucket(bucket).key(key).version_id(vid).send().await,
        "GET",
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_versions_land_in_segments_and_read_back() {
    let s = Server::start();
    let c = s.admin();
    make_bucket(&c, "seg").await;
    let small: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| (format!("k{i}"), pattern(4096 + i * 100, i as u64)))
        .collect();
    let mut vids = Vec::new();
    for (k, d) in &small {
        vids.push(put_version(&c, "seg", k, d).await);
    }
    let empty = put_version(&c, "seg", "empty", b"").await;
    let big = pattern(2 << 20, 9);
    let big_vid = put_version(&c, "seg", "big", &big).await;
    // A copy of a small version is a small version too.
    let copied = ok(
        c.copy_object()
            .bucket("seg")
            .key("copy")
            .copy_source(format!("seg/k1?versionId={}", vids[1]))
            .send()
            .await,
        "CopyObject",
    );
    let copy_vid = copied.version_id().unwrap().to_string();

    // On disk: the small versions (and the copy and the empty one) are entries of one segment,
    // with their records inside; only the 2 MiB version is a blob file of its own.
    let entries = entries_of(&s.data_dir);
    let ids: BTreeSet<&str> = entries.iter().map(|(_, e)| e.id.as_str()).collect();
    for v in vids.iter().chain([&empty, &copy_vid]) {
        assert!(ids.contains(v.as_str()), "{v} is not in a segment: {ids:?}");
    }
    assert!(!ids.contains(big_vid.as_str()));
    assert_eq!(segments_of(&s.data_dir).len(), 1);
    let files = blob_files(&s.data_dir);
    assert!(
        files.iter().any(|f| f.ends_with(&big_vid)),
        "the 2 MiB version is a file: {files:?}"
    );
    for v in vids.iter().chain([&empty, &copy_vid]) {
        assert!(
            !files.iter().any(|f| f.to_string_lossy().contains(v.as_str())),
            "{v} also has a blob file: {files:?}"
        );
    }
    let (_, e0) = entries.iter().find(|(_, e)| e.id == vids[0]).unwrap();
    let side = String::from_utf8_lossy(&e0.sidecar);
    assert!(side.contains("\"key\":\"k0\""), "the entry holds the record: {side}");

    // Reads: whole, ranges, HEAD, the copy, the empty one, the big one.
    for ((k, d), v) in small.iter().zip(&vids) {
        assert_eq!(&get(&c, "seg", k, v).await, d, "{k}");
        let r = body_bytes(ok(
            c.get_object().bucket("seg").key(k).range("bytes=100-1099").send().await,
            "range",
        ))
        .await;
        assert_eq!(r, d[100..1100]);
        let h = ok(c.head_object().bucket("seg").key(k).send().await, "HEAD");
        assert_eq!(h.content_length(), Some(d.len() as i64));
    }
    assert_eq!(get(&c, "seg", "copy", &copy_vid).await, small[1].1);
    assert!(get(&c, "seg", "empty", &empty).await.is_empty());
    assert_eq!(get(&c, "seg", "big", &big_vid).await, big);

    // With the feature off, small versions are files of their own again.
    drop(s);
    let s = Server::start_with(Options::default().args(&["--segment-max-object", "0"]));
    let c = s.admin();
    make_bucket(&c, "off").await;
    let v = put_version(&c, "off", "k", b"small").await;
    assert!(segments_of(&s.data_dir).is_empty());
    assert!(blob_files(&s.data_dir).iter().any(|f| f.ends_with(&v)));
}

/// Acknowledged PUTs: (key, version id, bytes).
type Acked = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

/// Writers PUT small objects as fast as they can, recording each acknowledged one in `acked`.
fn spawn_writers(endpoint: &str, n: usize, round: usize, acked: &Acked) -> Vec<tokio::task::JoinHandle<()>> {
    (0..n)
        .map(|w| {
            let c = client_for(endpoint, ADMIN.access, ADMIN.secret, Checksums::Default);
            let acked = acked.clone();
            tokio::spawn(async move {
                for i in 0.. {
                    let key = format!("r{round}/w{w}/{i}");
                    let data = pattern(1 + (i * 977 + w * 131) % 6000, (round * 1000 + w * 100 + i) as u64);
                    match c
                        .put_object()
                        .bucket("crash")
                        .key(&key)
                        .body(data.clone().into())
                        .send()
                        .await
                    {
                        Ok(out) => acked
                            .lock()
                            .unwrap()
                            .push((key, out.version_id().unwrap().to_string(), data)),
                        Err(_) => return, // the server is gone
                    }
                }
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_under_concurrent_small_puts_loses_no_acknowledged_version() {
    let mut s = Server::start();
    let c = s.admin();
    make_bucket(&c, "crash").await;
    let acked = Arc::new(Mutex::new(Vec::new()));
    for round in 0..3 {
        let before = acked.lock().unwrap().len();
        let tasks = spawn_writers(&s.endpoint, 12, round, &acked);
        let start = Instant::now();
        while acked.lock().unwrap().len() < before + 300 && start.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        s.kill9();
        for t in tasks {
            let _ = t.await;
        }
        assert!(acked.lock().unwrap().len() > before + 200, "the writers got going");
        s.restart();
        let c = s.admin();
        // Every acknowledged version, byte for byte.
        let all = acked.lock().unwrap().clone();
        for (k, v, d) in &all {
            assert_eq!(&get(&c, "crash", k, v).await, d, "acknowledged {k} {v}");
        }
    }
    // Each start got segments of its own (never appended to an old one), and the data is in them.
    assert!(segments_of(&s.data_dir).len() >= 3, "{:?}", segments_of(&s.data_dir));
    let c = s.admin();
    let listed = ok(c.list_object_versions().bucket("crash").send().await, "list");
    assert!(listed.versions().len() >= acked.lock().unwrap().len().min(1000));
    // Scrub: everything referenced re-hashes; a torn tail or an entry never inserted is only reported.
    s.stop();
    let (code, out, err) = wormgate(&["scrub", "--data-dir", p(&s.data_dir)], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("CORRUPT") && !out.contains("MISSING"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_rebuilds_a_catalog_that_serves_segment_versions() {
    let mut s = Server::start();
    let c = s.admin();
    make_bucket(&c, "rec").await;
    let mut written = Vec::new();
    for i in 0..20 {
        let d = pattern(100 + i * 300, i as u64);
        let v = put_version(&c, "rec", &format!("k{}", i % 7), &d).await;
        written.push((format!("k{}", i % 7), v, d));
    }
    let big = pattern(3 << 20, 77);
    let big_vid = put_version(&c, "rec", "big", &big).await;
    s.stop();
    assert!(!entries_of(&s.data_dir).is_empty());
    std::fs::remove_dir_all(s.data_dir.join("catalog")).unwrap();
    let (code, out, err) = wormgate(&["recover", "--data-dir", p(&s.data_dir)], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = wormgate(&["scrub", "--data-dir", p(&s.data_dir)], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK: 21 versions"), "{out}");
    s.restart();
    let c = s.admin();
    for (k, v, d) in &written {
        assert_eq!(&get(&c, "rec", k, v).await, d, "{k} {v}");
    }
    assert_eq!(get(&c, "rec", "big", &big_vid).await, big);
    // New small versions after recovery go to a new segment and read back.
    let v = put_version(&c, "rec", "after", b"after recovery").await;
    assert_eq!(get(&c, "rec", "after", &v).await, b"after recovery");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_segment_entries_abort_get_and_scrub_reports_them() {
    let mut s = Server::start();
    let c = s.admin();
    make_bucket(&c, "dmg").await;
    let bad = put_version(&c, "dmg", "bad", &pattern(5000, 1)).await;
    let good = put_version(&c, "dmg", "good", &pattern(5000, 2)).await;
    let (seg, e) = entries_of(&s.data_dir).into_iter().find(|(_, e)| e.id == bad).unwrap();
    // One byte of the entry's data changes (same length).
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(segment::path_of(&s.data_dir, &seg).unwrap())
            .unwrap();
        let mut b = [0u8; 1];
        f.read_exact_at(&mut b, e.offset + 17).unwrap();
        f.write_all_at(&[b[0] ^ 0x5a], e.offset + 17).unwrap();
    }
    match c.get_object().bucket("dmg").key("bad").send().await {
        Err(_) => {}
        Ok(out) => assert!(
            out.body.collect().await.is_err(),
            "corrupted bytes must not end cleanly"
        ),
    }
    assert_eq!(get(&c, "dmg", "good", &good).await, pattern(5000, 2));
    s.stop();
    let (code, out, _) = wormgate(&["scrub", "--data-dir", p(&s.data_dir)], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("CORRUPT dmg/bad version {bad}")), "{out}");
    assert!(!out.contains("dmg/good"), "{out}");
    // The segment file gone: both versions are missing.
    std::fs::remove_file(segment::path_of(&s.data_dir, &seg).unwrap()).unwrap();
    let (code, out, _) = wormgate(&["scrub", "--data-dir", p(&s.data_dir)], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("MISSING dmg/bad") && out.contains("MISSING dmg/good"),
        "{out}"
    );
}

/// A version retained (COMPLIANCE) for a day: live through the whole test.
async fn put_retained(c: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &[u8]) -> String {
    ok(
        c.put_object()
            .bucket(bucket)
            .key(key)
            .body(body.to_vec().into())
            .object_lock_mode(aws_sdk_s3::types::ObjectLockMode::Compliance)
            .object_lock_retain_until_date(in_secs(days(1)))
            .send()
            .await,
        key,
    )
    .version_id()
    .unwrap()
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_segment_is_reclaimed_only_when_all_its_versions_are_gone() {
    let mut s = Server::start_with(Options::min_retention("1s"));
    let c = s.admin();
    make_bucket(&c, "rcl").await;
    // Segment A: one short-lived version and one retained for a day.
    let x = put_version(&c, "rcl", "x", b"short").await;
    let y = put_retained(&c, "rcl", "y", b"retained").await;
    s.stop();
    s.restart(); // seals A
    let c = s.admin();
    // Segment B: two short-lived versions.
    let z1 = put_version(&c, "rcl", "z", b"z one").await;
    let z2 = put_version(&c, "rcl", "z", b"z two").await;
    s.stop();
    s.restart(); // seals B
    let c = s.admin();
    let segs = segments_of(&s.data_dir);
    assert_eq!(segs.len(), 2, "{segs:?}");
    let (a, b) = (segs[0].clone(), segs[1].clone());
    let in_seg = |seg: &str| -> BTreeSet<String> {
        entries_of(&s.data_dir)
            .into_iter()
            .filter(|(s, _)| s == seg)
            .map(|(_, e)| e.id)
            .collect()
    };
    assert_eq!(in_seg(&a), [x.clone(), y.clone()].into_iter().collect());
    assert_eq!(in_seg(&b), [z1.clone(), z2.clone()].into_iter().collect());
    tokio::time::sleep(Duration::from_millis(2200)).await;

    // x goes; A stays (y is retained), and y reads back.
    ok(
        c.delete_object().bucket("rcl").key("x").version_id(&x).send().await,
        "delete expired x",
    );
    expect_err(
        c.delete_object().bucket("rcl").key("y").version_id(&y).send().await,
        403,
        "AccessDenied",
    );
    assert!(segments_of(&s.data_dir).contains(&a), "A holds the retained y");
    assert_eq!(get(&c, "rcl", "y", &y).await, b"retained");
    // z1 goes: B stays (z2); z2 goes: B is removed whole.
    ok(
        c.delete_object().bucket("rcl").key("z").version_id(&z1).send().await,
        "delete z1",
    );
    assert!(segments_of(&s.data_dir).contains(&b), "B still holds z2");
    assert_eq!(get(&c, "rcl", "z", &z2).await, b"z two");
    ok(
        c.delete_object().bucket("rcl").key("z").version_id(&z2).send().await,
        "delete z2",
    );
    assert_eq!(segments_of(&s.data_dir), vec![a.clone()], "B is reclaimed, A stays");
    // A write now goes to a new active segment; the removal of its version leaves it (the active
    // segment is never reclaimed).
    let w = put_version(&c, "rcl", "w", b"active").await;
    assert_eq!(segments_of(&s.data_dir).len(), 2);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    ok(
        c.delete_object().bucket("rcl").key("w").version_id(&w).send().await,
        "delete w",
    );
    assert_eq!(segments_of(&s.data_dir).len(), 2, "the active segment stays");
    // At the next start it is sealed, and the reclaim pass at start removes it (A stays).
    s.stop();
    s.restart();
    assert_eq!(segments_of(&s.data_dir), vec![a.clone()], "the start's reclaim pass");
    assert_eq!(get(&s.admin(), "rcl", "y", &y).await, b"retained");
    // Offline scrub: y re-hashes; x's entry is reported as unreferenced (it goes with A).
    s.stop();
    let (code, out, _) = wormgate(&["scrub", "--data-dir", p(&s.data_dir)], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("UNREFERENCED rcl/x version {x}")), "{out}");
}

/// Versions of `bucket` (data versions and delete markers), from a listing.
async fn versions_in(c: &aws_sdk_s3::Client, bucket: &str) -> usize {
    let out = ok(
        c.list_object_versions().bucket(bucket).send().await,
        "ListObjectVersions",
    );
    out.versions().len() + out.delete_markers().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_sealed_after_its_versions_expired_is_reclaimed_by_the_periodic_pass() {
    use crate::lifecycle::{backup_rules, wait_until};
    const MIB: usize = 1024 * 1024;
    let mut s =
        Server::start_with(Options::min_retention("1s").args(&["--lifecycle-day", "1s", "--lifecycle-interval", "1s"]));
    let c = s.admin();
    make_bucket(&c, "keep").await;
    make_bucket(&c, "lcy").await;
    ok(
        c.put_bucket_lifecycle_configuration()
            .bucket("lcy")
            .lifecycle_configuration(backup_rules())
            .send()
            .await,
        "PutBucketLifecycleConfiguration",
    );
    // Segment A: a retained version, and two versions lifecycle removes (made noncurrent by a
    // delete marker). Sealed by the restart.
    let y = put_retained(&c, "keep", "y", b"retained").await;
    put_version(&c, "lcy", "x", b"x one").await;
    put_version(&c, "lcy", "x", b"x two").await;
    ok(c.delete_object().bucket("lcy").key("x").send().await, "marker on x");
    s.stop();
    s.restart();
    let c = s.admin();
    let segs = segments_of(&s.data_dir);
    assert_eq!(segs.len(), 1, "{segs:?}");
    let a = segs[0].clone();
    // Segment B (the active one): 64 MiB of versions that all expire, filling it to the rotation
    // size; lifecycle removes them all while B is still active, so no removal can reclaim it.
    for i in 0..64u64 {
        put_version(&c, "lcy", "f", &pattern(MIB, i)).await;
    }
    ok(c.delete_object().bucket("lcy").key("f").send().await, "marker on f");
    let b: Vec<String> = segments_of(&s.data_dir).into_iter().filter(|s| *s != a).collect();
    assert_eq!(b.len(), 1, "the 64 versions share one segment: {b:?}");
    let b = b[0].clone();
    wait_until(
        Duration::from_secs(30),
        "lifecycle removes every version of lcy",
        async || versions_in(&c, "lcy").await == 0,
    )
    .await;
    assert!(
        segments_of(&s.data_dir).contains(&b),
        "B is still active: no removal reclaims it"
    );
    // The next write opens segment C: B is sealed, with no removal left to notice it.
    let z = put_retained(&c, "keep", "z", b"seals B").await;
    assert_eq!(segments_of(&s.data_dir).len(), 3, "C opened");
    // A later lifecycle pass's reclaim pass (no restart) removes B whole.
    wait_until(Duration::from_secs(15), "the periodic pass reclaims B", async || {
        !segments_of(&s.data_dir).contains(&b)
    })
    .await;
    // A holds the live y (and a removal mark from x's versions): several passes later it is still
    // there, and so is the active C; both versions read back.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let left = segments_of(&s.data_dir);
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.contains(&a), "A holds the retained y: {left:?}");
    assert_eq!(get(&c, "keep", "y", &y).await, b"retained");
    assert_eq!(get(&c, "keep", "z", &z).await, b"seals B");
}
