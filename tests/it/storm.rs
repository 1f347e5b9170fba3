//! The storm: several writers drive every durable write path (PUT 0 B / 4 KiB / 1 MiB, buffered and
//! aws-chunked, multipart, `CopyObject`, retention extensions, legal hold, delete markers, tagging)
//! while the server is killed with SIGKILL at random moments and restarted on the same data
//! directory. The PUT bodies cover the SDK's payload modes: buffered bodies are sent with a signed
//! payload hash, streamed ones (`common::streamed_body`) as aws-chunked with signed chunks and a CRC32
//! trailer (default checksums) or as `UNSIGNED-PAYLOAD` (checksums only when required). Afterwards every acknowledged write must be there exactly as acknowledged, nothing
//! unattempted or partial may be visible, and scrub and the audit chain must agree.
//!
//! A write whose response never came (or came as an error) may or may not have happened: the check
//! accepts both for those, and only those. The seed of the kill schedule and of the writers' choices
//! is printed; `WORMGATE_STORM_SEED=<n>` replays the same choices (the kill moments relative to the
//! writers' progress still differ: that is the point of a storm).

use crate::common::*;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ObjectLockLegalHold, ObjectLockLegalHoldStatus, ObjectLockRetention,
    ObjectLockRetentionMode, Tag, Tagging,
};
use aws_sdk_s3::Client;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

const BUCKET: &str = "storm";
const WRITERS: u64 = 6;
const KILLS: usize = 8;

/// A small seeded generator (xorshift64*): the storm's choices follow from the printed seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform-enough in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// A version some acknowledged write created.
#[derive(Debug, Clone)]
struct Version {
    key: String,
    vid: String,
    sha: String,
    size: usize,
}

/// What must be true after the storm, from one writer's acknowledged responses, plus what was
/// merely attempted (may or may not exist).
#[derive(Default)]
struct Ledger {
    /// Content (SHA-256, size) any version of a key may hold: every PUT, copy and multipart ever sent.
    attempted: HashMap<String, HashSet<(String, usize)>>,
    /// Keys a `DeleteObject` was sent for (the only keys that may hold delete markers).
    marker_attempted: HashSet<String>,
    /// Versions whose creation was acknowledged.
    versions: Vec<Version>,
    /// Delete markers whose creation was acknowledged: (key, version id).
    markers: Vec<(String, String)>,
    /// Highest acknowledged retain-until (seconds) per version id.
    min_retain: HashMap<String, i64>,
    /// Legal hold per version id: `Some` after an acknowledged change with no unanswered one since.
    hold: HashMap<String, Option<bool>>,
    /// Tag set per version id, like `hold`.
    tags: HashMap<String, Option<BTreeMap<String, String>>>,
    /// (operation, version id) of every acknowledged write: each needs its audit record.
    audited: Vec<(&'static str, String)>,
    /// Acknowledged operations by name.
    counts: BTreeMap<&'static str, usize>,
    /// Operations without a successful answer (may or may not have happened).
    unanswered: usize,
}

impl Ledger {
    fn attempt(&mut self, key: &str, data: &[u8]) -> (String, usize) {
        let content = (sha256_hex(data), data.len());
        self.attempted
            .entry(key.to_string())
            .or_default()
            .insert(content.clone());
        content
    }
    fn acked(&mut self, op: &'static str, vid: &str) {
        self.audited.push((op, vid.to_string()));
        *self.counts.entry(op).or_default() += 1;
    }
    fn created(&mut self, op: &'static str, key: &str, vid: Option<&str>, content: (String, usize)) {
        let vid = vid.expect("an acknowledged write names its version").to_string();
        self.acked(op, &vid);
        self.versions.push(Version {
            key: key.to_string(),
            vid,
            sha: content.0,
            size: content.1,
        });
    }
}

/// The current endpoint, bumped at every restart (the port changes).
type Endpoint = Arc<RwLock<(u64, String)>>;

/// One writer: a random mix of write operations on its own keys until `stop`; every error (no
/// answer during a kill, or a refusal) only makes the operation "maybe happened".
async fn writer(t: u64, seed: u64, endpoint: Endpoint, stop: Arc<AtomicBool>) -> Ledger {
    let mut rng = Rng::new(seed ^ (t + 1).wrapping_mul(0xA24B_AED4_963E_E407));
    let mut led = Ledger::default();
    let mut clients: Option<(u64, Client, Client)> = None;
    let mut next_retain = in_secs(days(2)).secs();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let (generation, ep) = endpoint.read().unwrap().clone();
        if clients.as_ref().is_none_or(|c| c.0 != generation) {
            clients = Some((
                generation,
                client_for(&ep, ADMIN.access, ADMIN.secret, Checksums::Default),
                client_for(&ep, ADMIN.access, ADMIN.secret, Checksums::WhenRequired),
            ));
        }
        let (_, dflt, plain) = clients.as_ref().unwrap();
        // Alternate the SDK's checksum behaviours (trailing CRC32 vs. none).
        let c = if rng.next().is_multiple_of(2) { dflt } else { plain };
        n += 1;
        let key = format!("w{t}/k{}", rng.range(0, 3));
        let data_seed = (t << 40) | n;
        let target = if led.versions.is_empty() {
            None
        } else {
            let i = rng.range(0, led.versions.len() as u64) as usize;
            Some(led.versions[i].clone())
        };
        let mut choice = rng.range(0, 20);
        if target.is_none() && choice >= 9 {
            choice = 2;
        }
        let acked = match choice {
            // Small PUTs: empty and 4 KiB.
            0..=4 => {
                let data = pattern(if choice == 0 { 0 } else { 4096 }, data_seed);
                let content = led.attempt(&key, &data);
                match c.put_object().bucket(BUCKET).key(&key).body(data.into()).send().await {
                    Ok(out) => {
                        led.created("PutObject", &key, out.version_id(), content);
                        true
                    }
                    Err(_) => false,
                }
            }
            // 1 MiB, buffered or streamed (aws-chunked).
            5 | 6 => {
                let data = pattern(1 << 20, data_seed);
                let content = led.attempt(&key, &data);
                let body = if choice == 5 { data.into() } else { streamed_body(data) };
                match c.put_object().bucket(BUCKET).key(&key).body(body).send().await {
                    Ok(out) => {
                        led.created("PutObject", &key, out.version_id(), content);
                        true
                    }
                    Err(_) => false,
                }
            }
            // Multipart: a 5 MiB part and a small last part.
            7 | 8 => {
                let p1 = pattern(5 << 20, data_seed);
                let p2 = pattern(3000, data_seed + 1);
                let whole = [p1.as_slice(), p2.as_slice()].concat();
                let content = led.attempt(&key, &whole);
                match multipart(c, &key, p1, p2).await {
                    Some(vid) => {
                        led.created("CompleteMultipartUpload", &key, Some(&vid), content);
                        true
                    }
                    None => false,
                }
            }
            // CopyObject of an acknowledged version.
            9 | 10 => {
                let src = target.unwrap();
                let content = (src.sha.clone(), src.size);
                led.attempted.entry(key.clone()).or_default().insert(content.clone());
                let r = c
                    .copy_object()
                    .bucket(BUCKET)
                    .key(&key)
                    .copy_source(format!("{BUCKET}/{}?versionId={}", src.key, src.vid))
                    .send()
                    .await;
                match r {
                    Ok(out) => {
                        led.created("CopyObject", &key, out.version_id(), content);
                        true
                    }
                    Err(_) => false,
                }
            }
            // Retention extension (strictly later than anything this writer asked before).
            11..=13 => {
                let v = target.unwrap();
                next_retain += i64::try_from(rng.range(1, 600)).unwrap();
                let r = c
                    .put_object_retention()
                    .bucket(BUCKET)
                    .key(&v.key)
                    .version_id(&v.vid)
                    .retention(
                        ObjectLockRetention::builder()
                            .mode(ObjectLockRetentionMode::Compliance)
                            .retain_until_date(aws_sdk_s3::primitives::DateTime::from_secs(next_retain))
                            .build(),
                    )
                    .send()
                    .await;
                if r.is_ok() {
                    let m = led.min_retain.entry(v.vid.clone()).or_default();
                    *m = (*m).max(next_retain);
                    led.acked("PutObjectRetention", &v.vid);
                }
                r.is_ok()
            }
            // Legal hold on or off.
            14 | 15 => {
                let v = target.unwrap();
                let on = rng.next().is_multiple_of(2);
                let status = if on {
                    ObjectLockLegalHoldStatus::On
                } else {
                    ObjectLockLegalHoldStatus::Off
                };
                let r = c
                    .put_object_legal_hold()
                    .bucket(BUCKET)
                    .key(&v.key)
                    .version_id(&v.vid)
                    .legal_hold(ObjectLockLegalHold::builder().status(status).build())
                    .send()
                    .await;
                led.hold.insert(v.vid.clone(), r.is_ok().then_some(on));
                if r.is_ok() {
                    led.acked("PutObjectLegalHold", &v.vid);
                }
                r.is_ok()
            }
            // A delete marker.
            16 => {
                led.marker_attempted.insert(key.clone());
                match c.delete_object().bucket(BUCKET).key(&key).send().await {
                    Ok(out) => {
                        assert_eq!(out.delete_marker(), Some(true), "DeleteObject without a version");
                        let vid = out.version_id().expect("marker version id").to_string();
                        led.acked("DeleteObject", &vid);
                        led.markers.push((key.clone(), vid));
                        true
                    }
                    Err(_) => false,
                }
            }
            // Tagging.
            _ => {
                let v = target.unwrap();
                let set: BTreeMap<String, String> =
                    [("writer".to_string(), t.to_string()), ("op".to_string(), n.to_string())]
                        .into_iter()
                        .collect();
                let tagging = Tagging::builder()
                    .set_tag_set(Some(
                        set.iter()
                            .map(|(k, v)| Tag::builder().key(k).value(v).build().unwrap())
                            .collect(),
                    ))
                    .build()
                    .unwrap();
                let r = c
                    .put_object_tagging()
                    .bucket(BUCKET)
                    .key(&v.key)
                    .version_id(&v.vid)
                    .tagging(tagging)
                    .send()
                    .await;
                led.tags.insert(v.vid.clone(), r.is_ok().then_some(set));
                if r.is_ok() {
                    led.acked("PutObjectTagging", &v.vid);
                }
                r.is_ok()
            }
        };
        if !acked {
            led.unanswered += 1;
            // The server is down (or refused): don't spin.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    led
}

/// Create, upload two parts, complete: the new version id once `Complete` is acknowledged.
async fn multipart(c: &Client, key: &str, p1: Vec<u8>, p2: Vec<u8>) -> Option<String> {
    let up = c.create_multipart_upload().bucket(BUCKET).key(key).send().await.ok()?;
    let id = up.upload_id()?.to_string();
    let mut parts = Vec::new();
    for (n, data) in [(1, p1), (2, p2)] {
        let out = c
            .upload_part()
            .bucket(BUCKET)
            .key(key)
            .upload_id(&id)
            .part_number(n)
            .body(data.into())
            .send()
            .await
            .ok()?;
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .set_e_tag(out.e_tag().map(str::to_string))
                .build(),
        );
    }
    let done = c
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .upload_id(&id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .ok()?;
    done.version_id().map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_of_kills_under_mixed_writers_loses_nothing_acknowledged() {
    let seed = std::env::var("WORMGATE_STORM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            now.as_secs() ^ u64::from(now.subsec_nanos())
        });
    eprintln!("storm seed: {seed} (replay the choices with WORMGATE_STORM_SEED={seed})");
    let mut rng = Rng::new(seed);

    let mut srv = Server::start();
    make_bucket(&srv.admin(), BUCKET).await;
    let endpoint: Endpoint = Arc::new(RwLock::new((0, srv.endpoint.clone())));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|t| tokio::spawn(writer(t, seed, endpoint.clone(), stop.clone())))
        .collect();
    for kill in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(rng.range(300, 1500))).await;
        tokio::task::block_in_place(|| srv.kill9());
        if kill + 1 == KILLS {
            // The last kill ends the load: nothing may reach the restarted server before the check.
            stop.store(true, Ordering::Relaxed);
        }
        tokio::task::block_in_place(|| srv.restart());
        let mut ep = endpoint.write().unwrap();
        *ep = (ep.0 + 1, srv.endpoint.clone());
    }
    stop.store(true, Ordering::Relaxed);
    let mut led = Ledger::default();
    for task in tasks {
        let l = task.await.expect("writer task");
        for (k, set) in l.attempted {
            led.attempted.entry(k).or_default().extend(set);
        }
        led.marker_attempted.extend(l.marker_attempted);
        led.versions.extend(l.versions);
        led.markers.extend(l.markers);
        led.min_retain.extend(l.min_retain);
        led.hold.extend(l.hold);
        led.tags.extend(l.tags);
        led.audited.extend(l.audited);
        led.unanswered += l.unanswered;
        for (op, n) in l.counts {
            *led.counts.entry(op).or_default() += n;
        }
    }
    eprintln!(
        "storm seed {seed}: acknowledged {:?}, unanswered {}",
        led.counts, led.unanswered
    );
    let acked_writes: usize = led.counts.values().sum();
    assert!(
        acked_writes >= 20,
        "too few acknowledged writes ({acked_writes}) for the storm to mean anything (seed {seed})"
    );
    check(&srv, &led, seed).await;
    srv.stop();
    check_offline(&srv, &led, seed);
}

/// Everything the gateway answers after the storm agrees with the ledger.
async fn check(srv: &Server, led: &Ledger, seed: u64) {
    let c = srv.admin();
    let (versions, markers) = all_versions(&c, BUCKET).await;
    // Nothing partial, nothing never attempted: every listed version reads fully, with content some
    // write of that key sent, and HEAD agrees on its size.
    let mut listed: HashMap<&str, (String, i64)> = HashMap::new();
    for v in &versions {
        let g = ok(
            c.get_object()
                .bucket(BUCKET)
                .key(&v.key)
                .version_id(&v.version_id)
                .send()
                .await,
            "GET a listed version",
        );
        let body = body_bytes(g).await;
        let content = (sha256_hex(&body), body.len());
        assert!(
            led.attempted.get(&v.key).is_some_and(|s| s.contains(&content)),
            "seed {seed}: {}@{} holds {} bytes nobody sent to that key (partial or foreign)",
            v.key,
            v.version_id,
            body.len()
        );
        assert_eq!(
            v.size,
            Some(body.len() as i64),
            "seed {seed}: listed size of {}@{}",
            v.key,
            v.version_id
        );
        let h = ok(
            c.head_object()
                .bucket(BUCKET)
                .key(&v.key)
                .version_id(&v.version_id)
                .send()
                .await,
            "HEAD a listed version",
        );
        assert_eq!(
            h.content_length(),
            Some(body.len() as i64),
            "seed {seed}: HEAD size of {}@{}",
            v.key,
            v.version_id
        );
        listed.insert(&v.version_id, (content.0, body.len() as i64));
    }
    // Every acknowledged version, byte for byte.
    for v in &led.versions {
        let got = listed.get(v.vid.as_str()).unwrap_or_else(|| {
            panic!(
                "seed {seed}: acknowledged version {}@{} ({} bytes) lost ({} listed)",
                v.key,
                v.vid,
                v.size,
                versions.len()
            )
        });
        assert_eq!(
            (got.0.as_str(), got.1),
            (v.sha.as_str(), v.size as i64),
            "seed {seed}: acknowledged {}@{} changed",
            v.key,
            v.vid
        );
    }
    // Markers: every acknowledged one present, none on a key nobody deleted.
    let listed_markers: HashSet<(&str, &str)> = markers
        .iter()
        .map(|m| (m.key.as_str(), m.version_id.as_str()))
        .collect();
    for (key, vid) in &led.markers {
        assert!(
            listed_markers.contains(&(key.as_str(), vid.as_str())),
            "seed {seed}: acknowledged delete marker {key}@{vid} lost"
        );
    }
    for m in &markers {
        assert!(
            led.marker_attempted.contains(&m.key),
            "seed {seed}: delete marker {}@{} on a key never deleted",
            m.key,
            m.version_id
        );
    }
    // Retention never below an acknowledged extension; hold and tags as last acknowledged.
    for (vid, want) in &led.min_retain {
        let key = &led
            .versions
            .iter()
            .find(|v| &v.vid == vid)
            .expect("extended version is known")
            .key;
        let got = retain_until(&c, BUCKET, key, Some(vid)).await;
        assert!(
            got >= *want,
            "seed {seed}: retention of {key}@{vid} is {got}, acknowledged {want}"
        );
    }
    for (vid, want) in &led.hold {
        let Some(want) = want else { continue };
        let key = &led
            .versions
            .iter()
            .find(|v| &v.vid == vid)
            .expect("held version is known")
            .key;
        assert_eq!(
            legal_hold_on(&c, BUCKET, key, vid).await,
            *want,
            "seed {seed}: legal hold of {key}@{vid}"
        );
    }
    for (vid, want) in &led.tags {
        let Some(want) = want else { continue };
        let key = &led
            .versions
            .iter()
            .find(|v| &v.vid == vid)
            .expect("tagged version is known")
            .key;
        let out = ok(
            c.get_object_tagging()
                .bucket(BUCKET)
                .key(key)
                .version_id(vid)
                .send()
                .await,
            "GetObjectTagging",
        );
        let got: BTreeMap<String, String> = out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        assert_eq!(&got, want, "seed {seed}: tags of {key}@{vid}");
    }
}

/// Scrub, the audit chain, and one audit record per acknowledged write (stopped server).
fn check_offline(srv: &Server, led: &Ledger, seed: u64) {
    let dd = srv.data_dir.to_str().unwrap();
    let (code, out, err) = wormgate(&["scrub", "--data-dir", dd], &[]);
    eprintln!(
        "storm seed {seed}: scrub exit {code}: {}",
        out.lines().next().unwrap_or("")
    );
    for line in out.lines() {
        assert!(
            !line.contains("MISSING") && !line.contains("CORRUPT"),
            "seed {seed}: scrub after the storm: {line}\n{out}{err}"
        );
    }
    assert!(
        code == 0
            || out
                .lines()
                .all(|l| l.starts_with("UNREFERENCED") || l.starts_with("OK")),
        "seed {seed}: scrub exit {code}:\n{out}{err}"
    );
    let (code, out, err) = wormgate(&["audit", "verify", "--data-dir", dd], &[]);
    assert_eq!(code, 0, "seed {seed}: audit verify after the storm:\n{out}{err}");
    let (code, out, err) = wormgate(&["audit", "export", "--data-dir", dd, "--bucket", BUCKET], &[]);
    assert_eq!(code, 0, "{err}");
    let mut recorded: BTreeSet<(String, String)> = BTreeSet::new();
    for line in out.lines() {
        let rec: wormgate::audit::chain::AuditRecord = serde_json::from_str(line).expect("an audit record");
        if rec.event.decision == "allow" {
            if let Some(vid) = rec.event.version_id {
                recorded.insert((rec.event.operation, vid));
            }
        }
    }
    for (op, vid) in &led.audited {
        assert!(
            recorded.contains(&((*op).to_string(), vid.clone())),
            "seed {seed}: no audit record of the acknowledged {op} of version {vid}"
        );
    }
}
