//! `wormgate scrub`: re-hash every stored version against the SHA-256 in its catalog record and
//! find blobs that nothing references. Findings:
//! - `missing`: a version's blob (or one of its parts) is gone;
//! - `corrupt`: the bytes do not hash to the recorded SHA-256 or have the wrong length, or the
//!   catalog record itself does not decode;
//! - `unreferenced`: a blob file (or sidecar, or `tmp/` leftover) that no version or in-flight
//!   upload refers to — a crash leftover; reported, never deleted here.
//!
//! Runs synchronously (offline tool; the server runs it on a blocking thread) with an optional rate
//! limit in bytes per second.

use crate::store::blob::disk::DiskBlobs;
use crate::store::records::{decode, BlobRef, VersionRecord};
use crate::store::Catalog;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
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
            s.push_str(&format!("{f}\n"));
        }
        s.push_str(&format!(
            "{}: {} versions ({} bytes) re-hashed, {} delete markers; {} missing, {} corrupt, {} unreferenced{}\n",
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
        ));
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
        let due = Duration::from_secs_f64(self.bytes as f64 / rate as f64);
        let elapsed = self.start.elapsed();
        if due > elapsed {
            std::thread::sleep(due - elapsed);
        }
    }
}

enum HashOutcome {
    Ok { size: u64, sha256: String },
    Missing(String),
    Unreadable(String),
}

fn hash_blobs(blobs: &DiskBlobs, ids: &[String], throttle: &mut Throttle) -> HashOutcome {
    let mut h = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    for id in ids {
        let mut f = match std::fs::File::open(blobs.path(id)) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return HashOutcome::Missing(id.clone()),
            Err(e) => return HashOutcome::Unreadable(format!("blob {id}: {e}")),
        };
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    h.update(&buf[..n]);
                    size += n as u64;
                    throttle.consumed(n);
                }
                Err(e) => return HashOutcome::Unreadable(format!("blob {id}: {e}")),
            }
        }
    }
    HashOutcome::Ok {
        size,
        sha256: hex::encode(h.finalize()),
    }
}

/// Blob ids a version refers to.
pub fn blob_ids(rec: &VersionRecord) -> Vec<String> {
    match &rec.blob {
        None => Vec::new(),
        Some(BlobRef::Single { id }) => vec![id.clone()],
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
    for (k, v) in catalog.uploads().iter().flatten() {
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

fn now_iso() -> String {
    crate::lock::retention::format_iso(chrono::Utc::now())
}

/// Scrub the store under data directory `root` against `catalog`.
pub fn scrub(catalog: &Catalog, root: &Path, opts: &ScrubOptions) -> Result<ScrubReport, String> {
    let blobs = DiskBlobs::open(root).map_err(|e| format!("cannot open blob store: {}", e.message))?;
    let mut rep = ScrubReport {
        started: now_iso(),
        bucket: opts.bucket.clone(),
        ..Default::default()
    };
    let mut throttle = Throttle::new(opts.rate_bytes_per_s);
    let mut referenced: HashSet<String> = HashSet::new();
    for item in catalog.all_versions() {
        let (raw_key, rec) = item.map_err(|e| format!("catalog read failed: {}", e.message))?;
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
        if let Some(BlobRef::Parts { parts }) = &rec.blob {
            if !blobs.path(&rec.version_id).exists() {
                rep.add(finding(
                    FindingKind::Missing,
                    "manifest blob (second copy of the record) is gone".into(),
                    Some(rec.version_id.clone()),
                ));
            }
            for p in parts {
                match hash_blobs(&blobs, std::slice::from_ref(&p.id), &mut throttle) {
                    HashOutcome::Missing(id) => {
                        rep.add(finding(FindingKind::Missing, "part blob is gone".into(), Some(id)))
                    }
                    HashOutcome::Unreadable(e) => rep.add(finding(
                        FindingKind::Corrupt,
                        format!("unreadable: {e}"),
                        Some(p.id.clone()),
                    )),
                    HashOutcome::Ok { size, sha256 } => {
                        rep.checked_bytes += size;
                        if size != p.size {
                            rep.add(finding(
                                FindingKind::Corrupt,
                                format!("part has {size} bytes on disk, recorded {}", p.size),
                                Some(p.id.clone()),
                            ));
                        } else if !p.sha256.is_empty() && sha256 != p.sha256 {
                            rep.add(finding(
                                FindingKind::Corrupt,
                                format!("part bytes hash to {sha256}, recorded SHA-256 {}", p.sha256),
                                Some(p.id.clone()),
                            ));
                        }
                    }
                }
            }
            continue;
        }
        if ids.is_empty() && rec.size > 0 {
            rep.add(finding(FindingKind::Missing, "the record names no blob".into(), None));
            continue;
        }
        match hash_blobs(&blobs, &ids, &mut throttle) {
            HashOutcome::Missing(id) => {
                rep.add(finding(FindingKind::Missing, "blob file is gone".into(), Some(id)));
            }
            HashOutcome::Unreadable(e) => rep.add(finding(FindingKind::Corrupt, format!("unreadable: {e}"), None)),
            HashOutcome::Ok { size, sha256 } => {
                rep.checked_bytes += size;
                if size != rec.size {
                    rep.add(finding(
                        FindingKind::Corrupt,
                        format!("{size} bytes on disk, recorded {}", rec.size),
                        ids.first().cloned(),
                    ));
                } else if sha256 != rec.sha256 {
                    rep.add(finding(
                        FindingKind::Corrupt,
                        format!("bytes hash to {sha256}, recorded SHA-256 {}", rec.sha256),
                        ids.first().cloned(),
                    ));
                }
            }
        }
    }
    if opts.bucket.is_none() {
        find_unreferenced(catalog, &blobs, root, &referenced, opts, &mut rep)?;
    }
    rep.finished = now_iso();
    rep.ok = rep.missing == 0 && rep.corrupt == 0;
    Ok(rep)
}

fn find_unreferenced(
    catalog: &Catalog,
    blobs: &DiskBlobs,
    root: &Path,
    referenced: &HashSet<String>,
    opts: &ScrubOptions,
    rep: &mut ScrubReport,
) -> Result<(), String> {
    let uploads = upload_strings(catalog);
    let mut files: Vec<PathBuf> = Vec::new();
    if let Ok(shards) = std::fs::read_dir(root.join("blobs")) {
        for shard in shards.flatten() {
            if shard.file_type().map(|t| t.is_dir()).unwrap_or(false) {
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
        if let Some(s) = &side {
            if let Ok(Some(crate::store::VersionEntry::Ok(r))) = catalog.version(&s.bucket, &s.key, s.seq) {
                if blob_ids(&r).contains(&id) {
                    continue;
                }
            }
        }
        let detail = match (&side, is_sidecar) {
            (_, true) => "sidecar without its blob and without a catalog version".to_string(),
            (Some(s), false) => format!(
                "blob of {}/{} version {} is in no catalog version (crash before commit, or lost catalog entry)",
                s.bucket, s.key, s.version_id
            ),
            (None, false) => "blob without a readable sidecar and without a catalog version".to_string(),
        };
        rep.add(Finding {
            kind: FindingKind::Unreferenced,
            bucket: side.as_ref().map(|s| s.bucket.clone()),
            key: side.as_ref().map(|s| s.key.clone()),
            version_id: side.as_ref().map(|s| s.version_id.clone()),
            blob: Some(if is_sidecar { name } else { id }),
            detail,
        });
    }
    if let Ok(entries) = std::fs::read_dir(root.join("tmp")) {
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
    Ok(())
}
