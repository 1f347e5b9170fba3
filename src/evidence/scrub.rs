//! `wormgate scrub`: re-hash every stored version against the SHA-256 in its catalog record and
//! find blobs that nothing references. Findings:
//! - `missing`: a version's blob (or one of its parts) is gone;
//! - `corrupt`: the bytes do not hash to the recorded SHA-256 or have the wrong length, or the
//!   catalog record itself does not decode;
//! - `unreferenced`: a blob file (or sidecar, or `tmp/` leftover) that no version or in-flight
//!   upload refers to — a crash leftover; reported, never deleted here.
//!
//! Both backends: on disk the blob files are read; in upstream mode every blob is streamed from the
//! upstream bucket (`<prefix>/<id>`), each version's record (in a record segment
//! `<prefix>/records/<id>`, or for older versions the object `<prefix>/<id>.meta`: what
//! `wormgate recover` rebuilds from) must exist, a segment that does not decode is `corrupt`, and the
//! unreferenced objects are those under the prefix that no catalog version or in-flight upload
//! names (a segment: none of whose versions is left). Nothing is ever deleted.
//!
//! Runs synchronously (offline tool; the server runs it on a blocking thread) with an optional rate
//! limit in bytes per second. In upstream mode it must run on a thread of (or beside) a tokio runtime
//! that is not itself driving async tasks (`spawn_blocking`), whose handle it uses for the requests.

use super::error::{Cause, EvidenceError};
use crate::checksum::{Verify, VerifyHasher};
use crate::store::blob::disk::DiskBlobs;
use crate::store::blob::upstream::client::UpstreamError;
use crate::store::blob::upstream::UpstreamBlobs;
use crate::store::records::{decode, BlobRef, VersionRecord};
use crate::store::{BlobStore, Catalog};
use crate::timefmt::now_iso;
use futures_util::StreamExt;
use serde::Serialize;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// What to scrub and how fast.
#[derive(Debug, Clone, Default)]
pub struct ScrubOptions {
    /// Only versions of this bucket (unreferenced blobs are then not looked for).
    pub bucket: Option<String>,
    /// Read at most this many bytes per second (`None`: as fast as the disk goes).
    pub rate_bytes_per_s: Option<u64>,
    /// Only report unreferenced blobs / tmp files older than this (a running gateway has writes in
    /// flight whose catalog commit has not happened yet). Zero offline.
    pub min_age: Duration,
}

/// Kind of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    Missing,
    Corrupt,
    Unreferenced,
}

/// One problem.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub version_id: Option<String>,
    /// Blob id or file path concerned.
    pub blob: Option<String>,
    pub detail: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            FindingKind::Missing => "MISSING",
            FindingKind::Corrupt => "CORRUPT",
            FindingKind::Unreferenced => "UNREFERENCED",
        };
        write!(f, "{kind}")?;
        if let (Some(b), Some(k)) = (&self.bucket, &self.key) {
            write!(f, " {b}/{k}")?;
        }
        if let Some(v) = &self.version_id {
            write!(f, " version {v}")?;
        }
        if let Some(b) = &self.blob {
            write!(f, " blob {b}")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// Result of a scrub.
#[derive(Debug, Clone, Serialize, serde::Deserialize, Default)]
pub struct ScrubReport {
    pub started: String,
    pub finished: String,
    pub bucket: Option<String>,
    pub checked_versions: u64,
    pub checked_bytes: u64,
    pub delete_markers: u64,
    pub missing: u64,
    pub corrupt: u64,
    pub unreferenced: u64,
    pub findings: Vec<Finding>,
    /// No missing or corrupt version (unreferenced leftovers do not count against it).
    pub ok: bool,
}

impl ScrubReport {
    fn add(&mut self, f: Finding) {
        match f.kind {
            FindingKind::Missing => self.missing += 1,
            FindingKind::Corrupt => self.corrupt += 1,
            FindingKind::Unreferenced => self.unreferenced += 1,
        }
        self.findings.push(f);
    }

    /// Text for the CLI.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for f in &self.findings {
            let _ = writeln!(s, "{f}");
        }
        let _ = writeln!(
            s,
            "{}: {} versions ({} bytes) re-hashed, {} delete markers; {} missing, {} corrupt, {} unreferenced{}",
            if self.ok { "OK" } else { "FAILED" },
            self.checked_versions,
            self.checked_bytes,
            self.delete_markers,
            self.missing,
            self.corrupt,
            self.unreferenced,
            self.bucket
                .as_ref()
                .map(|b| format!(" (bucket {b})"))
                .unwrap_or_default()
        );
        s
    }

    /// The summary the metrics show.
    pub fn summary(&self, duration: Duration) -> crate::metrics::ScrubSummary {
        crate::metrics::ScrubSummary {
            finished_unix: chrono::Utc::now().timestamp(),
            duration_s: duration.as_secs_f64(),
            checked_versions: self.checked_versions,
            checked_bytes: self.checked_bytes,
            missing: self.missing,
            corrupt: self.corrupt,
            unreferenced: self.unreferenced,
        }
    }
}

/// Keeps reads under a byte rate.
struct Throttle {
    rate: Option<u64>,
    start: Instant,
    bytes: u64,
}

impl Throttle {
    fn new(rate: Option<u64>) -> Self {
        Throttle {
            rate: rate.filter(|r| *r > 0),
            start: Instant::now(),
            bytes: 0,
        }
    }
    fn consumed(&mut self, n: usize) {
        let Some(rate) = self.rate else { return };
        self.bytes += n as u64;
        let due = Duration::from_secs_f64(crate::units::approx_f64(self.bytes) / crate::units::approx_f64(rate));
        let elapsed = self.start.elapsed();
        if due > elapsed {
            std::thread::sleep(due.checked_sub(elapsed).unwrap());
        }
    }
}

enum HashOutcome {
    /// `digest`: hex of the whole blob in the algorithm asked for; `parts`: of each range of the
    /// part sizes asked for (as many as the bytes reached).
    Ok {
        size: u64,
        digest: String,
        parts: Vec<String>,
    },
    Missing(String),
    Unreadable(String),
}

/// BLAKE3 or SHA-256 (`checksum::Verify`) of a whole blob and of consecutive ranges of it (the parts
/// of a multipart version held as one object).
#[derive(Clone)]
struct MultiHash {
    whole: VerifyHasher,
    size: u64,
    sizes: Vec<u64>,
    part: VerifyHasher,
    in_part: u64,
    parts: Vec<String>,
}

impl MultiHash {
    fn new(sizes: &[u64], algorithm: &VerifyHasher) -> MultiHash {
        let mut h = MultiHash {
            whole: algorithm.clone(),
            size: 0,
            sizes: sizes.to_vec(),
            part: algorithm.clone(),
            in_part: 0,
            parts: Vec::new(),
        };
        h.close_empty_parts();
        h
    }

    fn close_empty_parts(&mut self) {
        while self.parts.len() < self.sizes.len() && self.in_part == self.sizes[self.parts.len()] {
            self.parts.push(self.part.finish_reset_hex());
            self.in_part = 0;
        }
    }

    fn update(&mut self, mut b: &[u8]) {
        self.whole.update(b);
        self.size += b.len() as u64;
        while !b.is_empty() && self.parts.len() < self.sizes.len() {
            let want = self.sizes[self.parts.len()] - self.in_part;
            let take = crate::units::take_len(want, b.len());
            self.part.update(&b[..take]);
            self.in_part += take as u64;
            b = &b[take..];
            self.close_empty_parts();
        }
    }

    fn finish(self) -> HashOutcome {
        HashOutcome::Ok {
            size: self.size,
            digest: self.whole.finish_hex(),
            parts: self.parts,
        }
    }
}

/// The record segments upstream (`records/<id>`): which version each record names. Read when
/// first needed and refreshed (only the segments not read yet) before a record is reported missing:
/// on a running gateway a version may commit after the last read.
#[derive(Default)]
struct SegmentIndex {
    /// Segment name → version ids of its records.
    segments: std::collections::BTreeMap<String, Vec<String>>,
    /// Version ids with a record in some segment.
    versions: HashSet<String>,
    /// Segments that stop making sense (name, byte offset).
    bad: Vec<(String, usize)>,
    loaded: bool,
}

impl SegmentIndex {
    /// Read the segments listed upstream that are not read yet. `Err` stops the scrub.
    fn refresh(&mut self, blobs: &UpstreamBlobs, rt: &tokio::runtime::Handle) -> Result<(), EvidenceError> {
        use crate::store::blob::upstream::segments::is_segment;
        self.loaded = true;
        let listed = rt.block_on(blobs.list_detailed()).map_err(|e| {
            EvidenceError::step(
                format!("cannot list the upstream {}", blobs.describe()),
                upstream_cause(&e),
            )
        })?;
        for obj in listed {
            if !is_segment(&obj.name) || self.segments.contains_key(&obj.name) {
                continue;
            }
            let parsed = match rt.block_on(blobs.read_segment(&obj.name)) {
                Ok(Some(p)) => p,
                Ok(None) => continue,
                Err(e) => {
                    let e = fatal(e, &format!("GET {}", obj.name))?;
                    return Err(EvidenceError::step(format!("GET {}", obj.name), upstream_cause(&e)));
                }
            };
            let mut ids = Vec::new();
            for raw in &parsed.records {
                match decode::<VersionRecord>(raw) {
                    Some(r) => ids.push(r.version_id),
                    None => self.bad.push((obj.name.clone(), 0)),
                }
            }
            if let Some(at) = parsed.bad_at {
                self.bad.push((obj.name.clone(), at));
            }
            self.versions.extend(ids.iter().cloned());
            self.segments.insert(obj.name, ids);
        }
        Ok(())
    }
}

/// Where the bytes are read from.
enum Source<'a> {
    Disk(&'a DiskBlobs),
    Upstream {
        blobs: &'a UpstreamBlobs,
        rt: tokio::runtime::Handle,
    },
}

/// The upstream client's error as a cause (its text: the client's error type is the store layer's).
fn upstream_cause(e: &UpstreamError) -> Cause {
    e.to_string().into()
}

/// Upstream errors that mean the scrub cannot go on (rather than one object being bad).
fn fatal(e: UpstreamError, what: &str) -> Result<UpstreamError, EvidenceError> {
    if matches!(e, UpstreamError::Unreachable(_)) {
        return Err(EvidenceError::ScrubStopped {
            what: what.to_string(),
            source: upstream_cause(&e),
        });
    }
    Ok(e)
}

impl Source<'_> {
    /// Hash one blob (and the ranges of `part_sizes` in it) with a fresh `algorithm` hasher. `Err`
    /// stops the scrub (the upstream cannot be reached).
    fn hash(
        &self,
        id: &str,
        part_sizes: &[u64],
        algorithm: &VerifyHasher,
        throttle: &mut Throttle,
    ) -> Result<HashOutcome, EvidenceError> {
        let h = MultiHash::new(part_sizes, algorithm);
        match self {
            Source::Disk(blobs) => Ok(hash_file(&blobs.path(id), id, h, throttle)),
            Source::Upstream { blobs, rt } => rt.block_on(hash_upstream(blobs, id, h, throttle)),
        }
    }

    /// Whether a blob (or, upstream, any object such as `<id>.meta`) exists.
    fn exists(&self, name: &str) -> Result<bool, EvidenceError> {
        match self {
            Source::Disk(blobs) => Ok(blobs.path(name).exists()),
            Source::Upstream { blobs, rt } => match rt.block_on(blobs.object_exists(name)) {
                Ok(b) => Ok(b),
                Err(e) => {
                    let e = fatal(e, &format!("HEAD {name}"))?;
                    Err(EvidenceError::step(format!("HEAD {name}"), upstream_cause(&e)))
                }
            },
        }
    }
}

/// Hash the whole file at `path` (a blob of its own) through `h`: the range from 0 to its end.
fn hash_file(path: &Path, id: &str, h: MultiHash, throttle: &mut Throttle) -> HashOutcome {
    hash_range(path, id, 0, u64::MAX, h, throttle)
}

/// Hash `len` bytes at `offset` of the file at `path` (a segment entry's data) through `h`, or fewer
/// if the file ends first (a whole blob: `len` `u64::MAX`). The one read loop of disk scrubbing.
fn hash_range(path: &Path, id: &str, offset: u64, len: u64, mut h: MultiHash, throttle: &mut Throttle) -> HashOutcome {
    use std::io::Seek;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return HashOutcome::Missing(id.to_string()),
        Err(e) => return HashOutcome::Unreadable(format!("blob {id}: {e}")),
    };
    if let Err(e) = f.seek(std::io::SeekFrom::Start(offset)) {
        return HashOutcome::Unreadable(format!("blob {id}: {e}"));
    }
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let want = crate::units::take_len(left, buf.len());
        match f.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buf[..n]);
                throttle.consumed(n);
                left -= n as u64;
            }
            Err(e) => return HashOutcome::Unreadable(format!("blob {id}: {e}")),
        }
    }
    h.finish()
}

/// Stream an upstream blob through `fresh` (a hasher with nothing in it); a body broken off is read
/// again from the start (twice).
async fn hash_upstream(
    blobs: &UpstreamBlobs,
    id: &str,
    fresh: MultiHash,
    throttle: &mut Throttle,
) -> Result<HashOutcome, EvidenceError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut body = match blobs.read_whole(id).await {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(HashOutcome::Missing(id.to_string())),
            Err(e) => {
                let e = fatal(e, &format!("GET blob {id}"))?;
                return Ok(HashOutcome::Unreadable(format!("blob {id}: {e}")));
            }
        };
        let mut h = fresh.clone();
        let mut broken = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(b) => {
                    h.update(&b);
                    throttle.consumed(b.len());
                }
                Err(e) => {
                    broken = Some(e);
                    break;
                }
            }
        }
        match broken {
            None => return Ok(h.finish()),
            Some(e) if attempt < 3 => {
                tracing::warn!(blob = %id, error = %e, "upstream read interrupted during scrub; reading again");
            }
            Some(e) => return Ok(HashOutcome::Unreadable(format!("blob {id}: body broken off: {e}"))),
        }
    }
}

/// Blob ids a version refers to.
pub fn blob_ids(rec: &VersionRecord) -> Vec<String> {
    match &rec.blob {
        None => Vec::new(),
        // One blob; a multipart upload completed upstream is one object too (its record is `<id>.meta`).
        Some(BlobRef::Single { id } | BlobRef::Multipart { id, .. } | BlobRef::InSegment { id, .. }) => {
            vec![id.clone()]
        }
        // A multipart version: its part blobs plus the manifest blob (named by the version id) that
        // carries the record's second copy.
        Some(BlobRef::Parts { parts }) => {
            let mut v: Vec<String> = parts.iter().map(|p| p.id.clone()).collect();
            v.push(rec.version_id.clone());
            v
        }
    }
}

/// Every string inside the records of in-flight uploads: their part blob ids are among them, whatever
/// the exact record layout.
fn upload_strings(catalog: &Catalog) -> HashSet<String> {
    fn walk(v: &serde_json::Value, out: &mut HashSet<String>) {
        match v {
            serde_json::Value::String(s) => {
                out.insert(s.clone());
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = HashSet::new();
    for (k, v) in catalog.upload_entries() {
        if let Some(val) = decode::<serde_json::Value>(&v).or_else(|| serde_json::from_slice(&v).ok()) {
            walk(&val, &mut out);
        }
        for part in k.split(|b| *b == 0) {
            out.insert(String::from_utf8_lossy(part).to_string());
        }
    }
    out
}

fn bucket_of_raw_key(k: &[u8]) -> String {
    String::from_utf8_lossy(k.split(|b| *b == 0).next().unwrap_or_default()).to_string()
}

fn older_than(p: &Path, age: Duration) -> bool {
    if age.is_zero() {
        return true;
    }
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|d| d >= age)
}

/// Scrub the disk store under data directory `root` against `catalog`.
pub fn scrub(catalog: &Catalog, root: &Path, opts: &ScrubOptions) -> Result<ScrubReport, EvidenceError> {
    let blobs = DiskBlobs::open(root).map_err(|e| EvidenceError::step("cannot open blob store", e))?;
    scrub_store(catalog, &BlobStore::Disk(blobs), opts)
}

/// Scrub whichever backend `store` is against `catalog`. Blocking; in upstream mode call it where
/// `tokio::runtime::Handle::current()` works but no async task runs (`spawn_blocking`).
pub fn scrub_store(catalog: &Catalog, store: &BlobStore, opts: &ScrubOptions) -> Result<ScrubReport, EvidenceError> {
    let src = match store {
        BlobStore::Disk(d) => Source::Disk(d),
        BlobStore::Upstream(u) => Source::Upstream {
            blobs: u,
            rt: tokio::runtime::Handle::try_current().map_err(EvidenceError::NoRuntime)?,
        },
    };
    let upstream = matches!(src, Source::Upstream { .. });
    let mut segments = SegmentIndex::default();
    let mut rep = ScrubReport {
        started: now_iso(),
        bucket: opts.bucket.clone(),
        ..Default::default()
    };
    let mut throttle = Throttle::new(opts.rate_bytes_per_s);
    let mut referenced: HashSet<String> = HashSet::new();
    for item in catalog.all_versions() {
        let (raw_key, rec) = item.map_err(|e| EvidenceError::CatalogRead(e.into()))?;
        let Some(rec) = rec else {
            let bucket = bucket_of_raw_key(&raw_key);
            if opts.bucket.as_ref().is_none_or(|b| *b == bucket) {
                rep.add(Finding {
                    kind: FindingKind::Corrupt,
                    bucket: Some(bucket),
                    key: None,
                    version_id: None,
                    blob: None,
                    detail: format!(
                        "catalog record {} does not decode (treated as locked)",
                        hex::encode(&raw_key)
                    ),
                });
            }
            continue;
        };
        let ids = blob_ids(&rec);
        referenced.extend(ids.iter().cloned());
        if !rec.delete_marker {
            // Its record object / sidecar (`<version id>.meta`) is referenced too.
            referenced.insert(rec.version_id.clone());
        }
        if opts.bucket.as_ref().is_some_and(|b| *b != rec.bucket) {
            continue;
        }
        if rec.delete_marker {
            rep.delete_markers += 1;
            continue;
        }
        let finding = |kind, detail: String, blob: Option<String>| Finding {
            kind,
            bucket: Some(rec.bucket.clone()),
            key: Some(rec.key.clone()),
            version_id: Some(rec.version_id.clone()),
            blob,
            detail,
        };
        rep.checked_versions += 1;
        // Upstream, the record object is what `wormgate recover` rebuilds the catalog from.
        if upstream && !ids.is_empty() && !record_object_exists(&src, &mut segments, &rec)? {
            rep.add(finding(
                FindingKind::Missing,
                "version record (what `wormgate recover` rebuilds from) is in no record segment and no .meta object"
                    .into(),
                Some(format!("{}.meta", rec.version_id)),
            ));
        }
        // A multipart version held as one object: each part range against its recorded SHA-256
        // (the version's own `sha256` is the `<hash of part hashes>-N` form).
        if let Some(BlobRef::Multipart { id, parts }) = &rec.blob {
            let sizes: Vec<u64> = parts.iter().map(|p| p.size).collect();
            // BLAKE3 when every part has one (one pass hashes all the ranges), else SHA-256.
            let blake3 = parts.iter().all(|p| !p.blake3.is_empty());
            let algorithm = if blake3 {
                VerifyHasher::blake3()
            } else {
                VerifyHasher::sha256()
            };
            match src.hash(id, &sizes, &algorithm, &mut throttle)? {
                HashOutcome::Missing(id) => rep.add(finding(
                    FindingKind::Missing,
                    "object of the multipart version is gone".into(),
                    Some(id),
                )),
                HashOutcome::Unreadable(e) => rep.add(finding(
                    FindingKind::Corrupt,
                    format!("unreadable: {e}"),
                    Some(id.clone()),
                )),
                HashOutcome::Ok { size, parts: got, .. } => {
                    rep.checked_bytes += size;
                    let want: u64 = sizes.iter().sum();
                    if size != want || size != rec.size {
                        rep.add(finding(
                            FindingKind::Corrupt,
                            format!("{size} bytes stored, recorded {} in {} parts", rec.size, parts.len()),
                            Some(id.clone()),
                        ));
                    } else {
                        let mut offset = 0u64;
                        for (i, (p, h)) in parts.iter().zip(&got).enumerate() {
                            let (name, want) = if blake3 {
                                ("BLAKE3", &p.blake3)
                            } else {
                                ("SHA-256", &p.sha256)
                            };
                            if !want.is_empty() && h != want {
                                rep.add(finding(
                                    FindingKind::Corrupt,
                                    format!(
                                        "part {} (bytes {offset}..{}) hashes to {h}, recorded {name} {want}",
                                        i + 1,
                                        offset + p.size,
                                    ),
                                    Some(id.clone()),
                                ));
                            }
                            offset += p.size;
                        }
                    }
                }
            }
            continue;
        }
        if let Some(BlobRef::Parts { parts }) = &rec.blob {
            if !src.exists(&rec.version_id)? {
                rep.add(finding(
                    FindingKind::Missing,
                    "manifest blob (second copy of the record) is gone".into(),
                    Some(rec.version_id.clone()),
                ));
            }
            for p in parts {
                let verify = Verify::of(&p.blake3, &p.sha256);
                let algorithm = verify.as_ref().map_or_else(VerifyHasher::sha256, Verify::hasher);
                match src.hash(&p.id, &[], &algorithm, &mut throttle)? {
                    HashOutcome::Missing(id) => {
                        rep.add(finding(FindingKind::Missing, "part blob is gone".into(), Some(id)));
                    }
                    HashOutcome::Unreadable(e) => rep.add(finding(
                        FindingKind::Corrupt,
                        format!("unreadable: {e}"),
                        Some(p.id.clone()),
                    )),
                    HashOutcome::Ok { size, digest, .. } => {
                        rep.checked_bytes += size;
                        if size != p.size {
                            rep.add(finding(
                                FindingKind::Corrupt,
                                format!("part has {size} bytes stored, recorded {}", p.size),
                                Some(p.id.clone()),
                            ));
                        } else if let Some(v) = verify.as_ref().filter(|v| digest != v.hex()) {
                            rep.add(finding(
                                FindingKind::Corrupt,
                                format!("part bytes hash to {digest}, recorded {} {}", v.name(), v.hex()),
                                Some(p.id.clone()),
                            ));
                        }
                    }
                }
            }
            continue;
        }
        // A record without any digest is checked against its (empty) SHA-256: reported corrupt.
        let verify = Verify::of(&rec.blake3, &rec.sha256).unwrap_or_else(|| Verify::Sha256(String::new()));
        // A segment entry: its data range of the segment file (the sidecar is inside the entry).
        let outcome = if let Some(BlobRef::InSegment {
            id,
            segment,
            offset,
            len,
        }) = &rec.blob
        {
            match &src {
                Source::Disk(d) => match crate::store::blob::segment::path_of(d.root(), segment) {
                    Ok(path) => {
                        let h = MultiHash::new(&[], &verify.hasher());
                        hash_range(&path, id, *offset, *len, h, &mut throttle)
                    }
                    Err(e) => HashOutcome::Unreadable(format!("segment {segment}: {e}")),
                },
                Source::Upstream { .. } => HashOutcome::Unreadable(format!(
                    "blob {id} is recorded in segment {segment}, which upstream mode does not have"
                )),
            }
        } else {
            let Some(id) = ids.first() else {
                if rec.size > 0 {
                    rep.add(finding(FindingKind::Missing, "the record names no blob".into(), None));
                }
                continue;
            };
            src.hash(id, &[], &verify.hasher(), &mut throttle)?
        };
        let Some(id) = ids.first() else {
            if rec.size > 0 {
                rep.add(finding(FindingKind::Missing, "the record names no blob".into(), None));
            }
            continue;
        };
        match outcome {
            HashOutcome::Missing(id) => {
                rep.add(finding(FindingKind::Missing, "blob is gone".into(), Some(id)));
            }
            HashOutcome::Unreadable(e) => rep.add(finding(FindingKind::Corrupt, format!("unreadable: {e}"), None)),
            HashOutcome::Ok { size, digest, .. } => {
                rep.checked_bytes += size;
                if size != rec.size {
                    rep.add(finding(
                        FindingKind::Corrupt,
                        format!("{size} bytes stored, recorded {}", rec.size),
                        Some(id.clone()),
                    ));
                } else if digest != verify.hex() {
                    rep.add(finding(
                        FindingKind::Corrupt,
                        format!("bytes hash to {digest}, recorded {} {}", verify.name(), verify.hex()),
                        Some(id.clone()),
                    ));
                }
            }
        }
    }
    if opts.bucket.is_none() {
        match &src {
            Source::Disk(blobs) => find_unreferenced(catalog, blobs, blobs.root(), &referenced, opts, &mut rep),
            Source::Upstream { blobs, rt } => {
                if !segments.loaded {
                    segments.refresh(blobs, rt)?;
                }
                find_unreferenced_upstream(catalog, blobs, rt, &referenced, &segments, opts, &mut rep)?;
                tmp_leftovers(blobs.spool_dir(), opts, &mut rep);
            }
        }
    }
    rep.finished = now_iso();
    rep.ok = rep.missing == 0 && rep.corrupt == 0;
    // Kept for the evidence bundle; a scrub whose result cannot be kept still reports it.
    if let Err(e) = crate::evidence::scrub_record::record(catalog, &rep) {
        tracing::warn!(error = %e, "cannot keep the scrub result for evidence bundles");
    }
    Ok(rep)
}

/// Whether a version's record is stored upstream: in a record segment, or (versions written
/// before segments) as the object `<version id>.meta` (single objects, whose id is the version id,
/// and disk-style manifests) or `<id>.meta` beside a multipart version held as one object `id`.
fn record_object_exists(
    src: &Source<'_>,
    segments: &mut SegmentIndex,
    rec: &VersionRecord,
) -> Result<bool, EvidenceError> {
    if let Source::Upstream { blobs, rt } = src {
        if !segments.loaded {
            segments.refresh(blobs, rt)?;
        }
        if segments.versions.contains(&rec.version_id) {
            return Ok(true);
        }
    }
    if let Some(BlobRef::Multipart { id, .. }) = &rec.blob {
        if src.exists(&format!("{id}.meta"))? {
            return Ok(true);
        }
    }
    if src.exists(&format!("{}.meta", rec.version_id))? {
        return Ok(true);
    }
    // Committed after the segments were read?
    if let Source::Upstream { blobs, rt } = src {
        segments.refresh(blobs, rt)?;
        return Ok(segments.versions.contains(&rec.version_id));
    }
    Ok(false)
}

/// The catalog version a record found beside an unreferenced blob names, if it refers to `id` (a
/// write that committed after the catalog pass).
fn committed_meanwhile(catalog: &Catalog, side: Option<&VersionRecord>, id: &str) -> bool {
    let Some(s) = side else { return false };
    matches!(
        catalog.version(&s.bucket, &s.key, s.seq),
        Ok(Some(crate::store::VersionEntry::Ok(r))) if blob_ids(&r).iter().any(|b| b == id)
    )
}

fn unreferenced_finding(side: Option<&VersionRecord>, name: String, detail: String) -> Finding {
    Finding {
        kind: FindingKind::Unreferenced,
        bucket: side.map(|s| s.bucket.clone()),
        key: side.map(|s| s.key.clone()),
        version_id: side.map(|s| s.version_id.clone()),
        blob: Some(name),
        detail,
    }
}

fn find_unreferenced_upstream(
    catalog: &Catalog,
    blobs: &UpstreamBlobs,
    rt: &tokio::runtime::Handle,
    referenced: &HashSet<String>,
    segments: &SegmentIndex,
    opts: &ScrubOptions,
    rep: &mut ScrubReport,
) -> Result<(), EvidenceError> {
    for (name, at) in &segments.bad {
        rep.add(Finding {
            kind: FindingKind::Corrupt,
            bucket: None,
            key: None,
            version_id: None,
            blob: Some(name.clone()),
            detail: format!("record segment does not decode from byte {at} (records after it cannot be read)"),
        });
    }
    let uploads = upload_strings(catalog);
    let mut listed = rt.block_on(blobs.list_detailed()).map_err(|e| {
        EvidenceError::step(
            format!("cannot list the upstream {}", blobs.describe()),
            upstream_cause(&e),
        )
    })?;
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    let names: HashSet<&str> = listed.iter().map(|o| o.name.as_str()).collect();
    let now = chrono::Utc::now();
    for obj in &listed {
        let young = !opts.min_age.is_zero()
            && obj
                .last_modified
                .is_none_or(|t| (now - t).to_std().unwrap_or_default() < opts.min_age);
        if crate::store::blob::upstream::segments::is_segment(&obj.name) {
            // A segment is referenced while any version whose record it holds is; one whose versions
            // are all gone (expired and destroyed) is reclaimable, reported, never deleted here.
            let held = segments.segments.get(&obj.name);
            if !young && held.is_some_and(|ids| !ids.is_empty() && !ids.iter().any(|v| referenced.contains(v))) {
                rep.add(unreferenced_finding(
                    None,
                    obj.name.clone(),
                    "record segment whose versions are all gone".into(),
                ));
            }
            continue;
        }
        let (id, is_meta) = match obj.name.strip_suffix(".meta") {
            Some(id) => (id, true),
            None => (obj.name.as_str(), false),
        };
        if referenced.contains(id) || uploads.contains(id) {
            continue;
        }
        if is_meta && names.contains(id) {
            continue; // reported with its blob
        }
        if young {
            continue;
        }
        let side = rt
            .block_on(blobs.read_record(id))
            .ok()
            .flatten()
            .and_then(|(b, _)| decode::<VersionRecord>(&b));
        if committed_meanwhile(catalog, side.as_ref(), id) {
            continue;
        }
        let detail = match (&side, is_meta) {
            (_, true) => "record object (.meta) without its blob and without a catalog version".to_string(),
            (Some(s), false) => format!(
                "upstream object of {}/{} version {} is in no catalog version (crash before commit, or lost catalog entry)",
                s.bucket, s.key, s.version_id
            ),
            (None, false) => "upstream object without a record and without a catalog version".to_string(),
        };
        rep.add(unreferenced_finding(side.as_ref(), obj.name.clone(), detail));
    }
    Ok(())
}

fn find_unreferenced(
    catalog: &Catalog,
    blobs: &DiskBlobs,
    root: &Path,
    referenced: &HashSet<String>,
    opts: &ScrubOptions,
    rep: &mut ScrubReport,
) {
    let uploads = upload_strings(catalog);
    let mut files: Vec<PathBuf> = Vec::new();
    if let Ok(shards) = std::fs::read_dir(root.join("blobs")) {
        for shard in shards.flatten() {
            if shard.file_type().is_ok_and(|t| t.is_dir()) {
                if let Ok(entries) = std::fs::read_dir(shard.path()) {
                    files.extend(entries.flatten().map(|e| e.path()));
                }
            }
        }
    }
    files.sort();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let (id, is_sidecar) = match name.strip_suffix(".meta") {
            Some(id) => (id.to_string(), true),
            None => (name.clone(), false),
        };
        if referenced.contains(&id) || uploads.contains(&id) {
            continue;
        }
        if is_sidecar && blobs.path(&id).exists() {
            continue; // reported with its blob
        }
        if !older_than(&path, opts.min_age) {
            continue;
        }
        // A write may have committed after the catalog pass: ask the catalog about what the sidecar names.
        let side = std::fs::read(blobs.sidecar_path(&id))
            .ok()
            .and_then(|b| decode::<VersionRecord>(&b));
        if committed_meanwhile(catalog, side.as_ref(), &id) {
            continue;
        }
        let detail = match (&side, is_sidecar) {
            (_, true) => "sidecar without its blob and without a catalog version".to_string(),
            (Some(s), false) => format!(
                "blob of {}/{} version {} is in no catalog version (crash before commit, or lost catalog entry)",
                s.bucket, s.key, s.version_id
            ),
            (None, false) => "blob without a readable sidecar and without a catalog version".to_string(),
        };
        rep.add(unreferenced_finding(
            side.as_ref(),
            if is_sidecar { name } else { id },
            detail,
        ));
    }
    segment_leftovers(catalog, root, referenced, opts, rep);
    tmp_leftovers(&root.join("tmp"), opts, rep);
}

/// Segment entries no version refers to (a commit whose catalog insert never happened, or a removed
/// version whose segment is not reclaimed yet), and torn tails (a write cut by a crash): reported,
/// never an error that stops the scrub.
fn segment_leftovers(
    catalog: &Catalog,
    root: &Path,
    referenced: &HashSet<String>,
    opts: &ScrubOptions,
    rep: &mut ScrubReport,
) {
    use crate::store::blob::segment;
    let ids = match segment::list(root) {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the segments");
            return;
        }
    };
    for seg in ids {
        let Ok(path) = segment::path_of(root, &seg) else {
            continue;
        };
        if !older_than(&path, opts.min_age) {
            continue;
        }
        let name = format!("segments/{seg}.seg");
        let scan = match segment::scan_file(&path) {
            Ok(s) => s,
            Err(e) => {
                rep.add(Finding {
                    kind: FindingKind::Corrupt,
                    bucket: None,
                    key: None,
                    version_id: None,
                    blob: Some(name),
                    detail: format!("segment cannot be read: {e}"),
                });
                continue;
            }
        };
        for e in &scan.entries {
            if referenced.contains(&e.id) {
                continue;
            }
            let side = decode::<VersionRecord>(&e.sidecar);
            if committed_meanwhile(catalog, side.as_ref(), &e.id) {
                continue;
            }
            let detail = match &side {
                Some(s) => format!(
                    "segment entry of {}/{} version {} (at byte {}) is in no catalog version (crash before commit, removed version, or lost catalog entry)",
                    s.bucket, s.key, s.version_id, e.offset
                ),
                None => format!("segment entry at byte {} without a readable record and without a catalog version", e.offset),
            };
            rep.add(unreferenced_finding(side.as_ref(), format!("{name}:{}", e.id), detail));
        }
        if let Some((at, bytes)) = scan.torn {
            rep.add(Finding {
                kind: FindingKind::Unreferenced,
                bucket: None,
                key: None,
                version_id: None,
                blob: Some(name),
                detail: format!(
                    "torn tail: {bytes} bytes from byte {at} form no whole entry (a write cut by a crash; nothing acknowledged is there)"
                ),
            });
        }
    }
}

/// Leftovers of interrupted writes (disk temporaries, upstream spool files) in `dir` (`<data>/tmp`).
fn tmp_leftovers(dir: &Path, opts: &ScrubOptions, rep: &mut ScrubReport) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut tmp: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        tmp.sort();
        for p in tmp {
            if older_than(&p, opts.min_age) {
                rep.add(Finding {
                    kind: FindingKind::Unreferenced,
                    bucket: None,
                    key: None,
                    version_id: None,
                    blob: Some(format!(
                        "tmp/{}",
                        p.file_name()
                            .map(|n| n.to_string_lossy().to_string())
                            .unwrap_or_default()
                    )),
                    detail: "leftover of an interrupted write in tmp/".into(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(b: &[u8]) -> String {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(b))
    }

    fn b3(b: &[u8]) -> String {
        blake3::hash(b).to_hex().to_string()
    }

    #[test]
    fn multihash_hashes_the_whole_and_each_part_range() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        for (algorithm, f) in [
            (VerifyHasher::sha256(), sha as fn(&[u8]) -> String),
            (VerifyHasher::blake3(), b3),
        ] {
            let mut h = MultiHash::new(&[300, 0, 700], &algorithm);
            for chunk in data.chunks(77) {
                h.update(chunk);
            }
            let HashOutcome::Ok { size, digest, parts } = h.finish() else {
                panic!("not ok")
            };
            assert_eq!(size, 1000);
            assert_eq!(digest, f(&data));
            assert_eq!(parts, vec![f(&data[..300]), f(b""), f(&data[300..])]);
            // Fewer bytes than the parts: only the complete ranges are hashed.
            let mut h = MultiHash::new(&[300, 700], &algorithm);
            h.update(&data[..500]);
            let HashOutcome::Ok { parts, .. } = h.finish() else {
                panic!("not ok")
            };
            assert_eq!(parts, vec![f(&data[..300])]);
        }
    }
}
