//! `wormgate recover`: rebuild a lost or corrupt sled catalog from what else is stored.
//!
//! 1. Every version's record was stored beside its bytes when it was written: on disk in the blob's
//!    sidecar (`blobs/*/<id>.meta`, written before the blob was linked in) or, for a small version, in
//!    its segment entry (`segments/*.seg`, which also gives the bytes' place); in upstream mode in a
//!    never-reused record segment `<prefix>/records/<id>` shared with the versions committed at the
//!    same time (before segments: the object `<prefix>/<id>.meta`). A `RecordSource` reads them; that gives every
//!    data version as it was written. Everything after this step is the same for both backends.
//! 2. The audit trail is replayed in order: delete markers added and removed, expired versions
//!    destroyed, retention extensions, legal holds, buckets created and deleted, bucket default
//!    retention. Records after the first broken link of the chain are not trusted: from them only
//!    changes that *add* protection are applied.
//! 3. If the old catalog still opens, every version it holds is merged in (retain-until = the later
//!    one, legal hold = on if either says on), and it is kept aside, never deleted.
//! 4. The clock watermark becomes the latest time known from any source, and the sequence generator
//!    is moved past every recovered version id, so no new version can collide with a recovered one.
//!
//! Nothing ends up less protected than before. It refuses to run while a gateway holds the catalog.

use super::error::EvidenceError;
use crate::audit::chain::{self, AuditRecord};
use crate::audit::verify::{verify, VerifyOptions};
use crate::audit::{AuditEvent, AuditLog, Change};
use crate::datadir::{audit_dir, catalog_dir, write_anchor};
use crate::ids::{parse_version_id, version_created_ms};
use crate::lock::DefaultRetention;
use crate::lock::Retention;
use crate::store::blob::upstream::{UpstreamBlobs, UpstreamLock};
use crate::store::rebuild::{read_snapshot, write_new, CatalogImage, CatalogSnapshot, SnapshotError};
use crate::store::records::{decode, BlobRef, BucketRecord, NewVersionId, VersionRecord};
use crate::timefmt::parse_iso;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What recovery did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct RecoverReport {
    pub buckets: usize,
    pub versions: usize,
    pub delete_markers: usize,
    /// Where the records as written came from (`RecordSource::describe`).
    pub record_source: String,
    pub from_sidecars: usize,
    pub undecodable_sidecars: Vec<String>,
    pub from_audit_only: usize,
    pub from_old_catalog: usize,
    pub retention_extensions: usize,
    /// Versions whose retention or legal hold was raised from the lock the storage holds on them
    /// (upstream Object Lock), beyond their record as written.
    pub from_storage_lock: usize,
    pub legal_hold_changes: usize,
    pub removed_by_audit: usize,
    pub audit_records: u64,
    /// Records up to this seq were in an intact chain; later ones were applied only where they add
    /// protection.
    pub audit_trusted_until: u64,
    pub audit_problems: Vec<String>,
    pub old_catalog: Option<String>,
    pub watermark_ms: i64,
    pub max_seq: u64,
    pub warnings: Vec<String>,
}

impl RecoverReport {
    pub fn render(&self) -> String {
        let mut s = String::new();
        for w in &self.warnings {
            let _ = writeln!(s, "warning: {w}");
        }
        for p in &self.audit_problems {
            let _ = writeln!(s, "audit trail: {p}");
        }
        for u in &self.undecodable_sidecars {
            let _ = writeln!(s, "undecodable record: {u}");
        }
        if let Some(o) = &self.old_catalog {
            let _ = writeln!(s, "old catalog kept at {o}");
        }
        let _ = writeln!(s,
            "recovered {} buckets, {} versions ({} from {}, {} known only from the audit trail, {} only from the old catalog), {} delete markers; \
             {} raised to the upstream's Object Lock; \
             replayed {} audit records (trusted through seq {}): {} retention extensions, {} legal hold changes, {} removals",
            self.buckets,
            self.versions,
            self.from_sidecars,
            self.record_source,
            self.from_audit_only,
            self.from_old_catalog,
            self.delete_markers,
            self.from_storage_lock,
            self.audit_records,
            self.audit_trusted_until,
            self.retention_extensions,
            self.legal_hold_changes,
            self.removed_by_audit
        );
        s
    }
}

type VKey = (String, String, u64);

/// The more protective of two records of the same version.
fn merge_protect(into: &mut VersionRecord, other: &VersionRecord) -> (bool, bool) {
    let mut ext = false;
    let mut hold = false;
    if let Some(o) = other.retention {
        // Forward only: `extend` is the one way to a later date, and equal is no change.
        let merged = into.retention.map_or(Ok(o), |a| a.extend(o.retain_until()));
        if let Ok(m) = merged {
            if into.retention != Some(m) {
                into.retention = Some(m);
                ext = true;
            }
        }
    }
    if other.legal_hold && !into.legal_hold {
        into.legal_hold = true;
        hold = true;
    }
    (ext, hold)
}

fn read_old(dir: &Path) -> Result<Option<CatalogSnapshot>, EvidenceError> {
    read_snapshot(dir).map_err(|e| match e {
        SnapshotError::InUse(msg) => EvidenceError::CatalogInUse {
            dir: dir.to_path_buf(),
            detail: msg,
        },
        SnapshotError::Storage(msg) => EvidenceError::Catalog(msg.into()),
    })
}

/// Where the version records as written come from: the one thing in which recovering a disk
/// gateway differs from recovering an upstream one.
pub trait RecordSource {
    /// For the report: `blob sidecars`, `upstream records in <endpoint/bucket/prefix>`.
    fn describe(&self) -> String;
    /// Every stored version record, as (where it was found, encoded record). Blobs that carry no
    /// record (multipart parts) are left out. An error aborts the recovery: a partial list would
    /// lose versions.
    fn records(&self) -> Result<Vec<Found>, EvidenceError>;
}

/// A version record found where the versions were written.
pub struct Found {
    /// Where it was found (for the report).
    pub origin: String,
    /// The encoded record as written.
    pub raw: Vec<u8>,
    /// The lock the storage itself holds on that version now (the upstream's Object Lock, to which
    /// later extensions and legal holds are mirrored): a standby recovering without the first
    /// gateway's audit trail still learns them. Applied only where it adds protection.
    pub stored_lock: Option<UpstreamLock>,
    /// Where the bytes are when the record (written before the place was known) does not say it: a
    /// segment entry's place, from the scan that found it.
    pub blob: Option<BlobRef>,
}

/// Disk mode: the sidecars `<data>/blobs/*/<id>.meta`, and the records inside the entries of
/// `<data>/segments/*.seg` (small versions).
pub struct Sidecars {
    root: PathBuf,
}

impl Sidecars {
    pub fn new(data: &Path) -> Sidecars {
        Sidecars {
            root: data.to_path_buf(),
        }
    }
}

impl RecordSource for Sidecars {
    fn describe(&self) -> String {
        "blob sidecars and segment entries".into()
    }

    fn records(&self) -> Result<Vec<Found>, EvidenceError> {
        let Ok(shards) = std::fs::read_dir(self.root.join("blobs")) else {
            return Ok(Vec::new());
        };
        let mut files: Vec<PathBuf> = Vec::new();
        for shard in shards.flatten() {
            if let Ok(entries) = std::fs::read_dir(shard.path()) {
                files.extend(
                    entries
                        .flatten()
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|x| x == "meta")),
                );
            }
        }
        files.sort();
        let mut out = Vec::new();
        for p in files {
            let raw = std::fs::read(&p).unwrap_or_default();
            if raw.is_empty() && p.with_extension("").exists() {
                continue; // a multipart part blob: its version's record is in the manifest's sidecar
            }
            out.push(Found {
                origin: p.display().to_string(),
                raw,
                stored_lock: None,
                blob: None,
            });
        }
        out.extend(disk_segment_records(&self.root)?);
        Ok(out)
    }
}

/// The records in the entries of every segment (`<data>/segments/*.seg`), each with the entry's
/// place. A scan stops at a segment's torn tail (nothing acknowledged is there).
fn disk_segment_records(root: &Path) -> Result<Vec<Found>, EvidenceError> {
    use crate::store::blob::segment;
    let ids = segment::list(root).map_err(|e| EvidenceError::step("cannot list the segments", e))?;
    let mut out = Vec::new();
    for seg in ids {
        let path = segment::path_of(root, &seg).map_err(|e| EvidenceError::step(format!("segment {seg}"), e))?;
        let scan = segment::scan_file(&path)
            .map_err(|e| EvidenceError::step(format!("cannot read segment {}", path.display()), e))?;
        for e in scan.entries {
            out.push(Found {
                origin: format!("{}@{}", path.display(), e.offset),
                raw: e.sidecar,
                stored_lock: None,
                blob: Some(BlobRef::InSegment {
                    id: e.id,
                    segment: seg.clone(),
                    offset: e.offset,
                    len: e.len,
                }),
            });
        }
    }
    Ok(out)
}

/// Upstream mode: the record segments `<prefix>/records/<id>` (each holds the records of versions
/// committed together) and, for versions written before segments, the record objects
/// `<prefix>/<id>.meta` (the multipart manifest's `.meta` carries its version's record; parts have
/// none).
pub struct UpstreamRecords {
    blobs: UpstreamBlobs,
    rt: tokio::runtime::Handle,
}

impl UpstreamRecords {
    /// `rt` runs the requests; `records()` must not be called from inside one of its tasks.
    pub fn new(blobs: UpstreamBlobs, rt: tokio::runtime::Handle) -> UpstreamRecords {
        UpstreamRecords { blobs, rt }
    }
}

impl RecordSource for UpstreamRecords {
    fn describe(&self) -> String {
        format!("upstream records in {}", self.blobs.describe())
    }

    fn records(&self) -> Result<Vec<Found>, EvidenceError> {
        let blobs = &self.blobs;
        self.rt.block_on(async {
            let listed: Vec<String> = blobs
                .list()
                .await
                .map_err(|e| EvidenceError::step(format!("cannot list the upstream {}", blobs.describe()), e))?
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            let mut out = legacy_records(blobs, &listed).await?;
            out.extend(segment_records(blobs, &listed).await?);
            if blobs.upstream_lock() {
                out = with_data_object_locks(blobs, out).await?;
            }
            Ok(out)
        })
    }
}

/// The records of versions written before record segments: one object `<id>.meta` each, whose
/// own Object Lock carries the mirrored extensions and legal holds.
async fn legacy_records(blobs: &UpstreamBlobs, listed: &[String]) -> Result<Vec<Found>, EvidenceError> {
    use futures_util::StreamExt;
    let mut names: Vec<String> = listed
        .iter()
        .filter_map(|name| name.strip_suffix(".meta").map(str::to_string))
        .collect();
    names.sort();
    let fetched: Vec<Result<Option<Found>, EvidenceError>> = futures_util::stream::iter(names)
        .map(|id| async move {
            match blobs.read_record(&id).await {
                Ok(Some((raw, lock))) => Ok(Some(Found {
                    origin: format!("{id}.meta"),
                    raw,
                    stored_lock: Some(lock),
                    blob: None,
                })),
                Ok(None) => Ok(None), // gone since the listing (an expired version removed)
                Err(e) => Err(EvidenceError::step(
                    format!("cannot read the upstream record {id}.meta"),
                    e,
                )),
            }
        })
        .buffered(16)
        .collect()
        .await;
    let mut out = Vec::new();
    for r in fetched {
        if let Some(x) = r? {
            out.push(x);
        }
    }
    Ok(out)
}

/// The records in record segments (`records/<id>`). A segment cannot forget one record, so a
/// record counts only while its version's data object is listed: a version destroyed when it
/// expired, or discarded because the catalog refused it, leaves its record behind. (A version whose
/// data object was lost some other way comes back from the audit trail's write, for scrub to
/// report.) With upstream Object Lock the data object's own lock is read (a HEAD): extensions and
/// legal holds are mirrored there, not on the shared segment.
async fn segment_records(blobs: &UpstreamBlobs, listed: &[String]) -> Result<Vec<Found>, EvidenceError> {
    use crate::store::blob::upstream::segments;
    use futures_util::StreamExt;
    let names: std::collections::HashSet<&str> = listed.iter().map(String::as_str).collect();
    let mut segs: Vec<&str> = listed
        .iter()
        .map(String::as_str)
        .filter(|n| segments::is_segment(n))
        .collect();
    segs.sort_unstable();
    let parsed: Vec<Result<Vec<Found>, EvidenceError>> = futures_util::stream::iter(segs)
        .map(|seg| async move {
            let p = match blobs.read_segment(seg).await {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(Vec::new()),
                Err(e) => {
                    return Err(EvidenceError::step(
                        format!("cannot read the upstream record segment {seg}"),
                        e,
                    ))
                }
            };
            let mut out: Vec<Found> = p
                .records
                .into_iter()
                .enumerate()
                .map(|(i, raw)| Found {
                    origin: format!("{seg} record {}", i + 1),
                    raw,
                    stored_lock: None,
                    blob: None,
                })
                .collect();
            if let Some(at) = p.bad_at {
                // Reported as undecodable: the rest of the segment cannot be trusted.
                out.push(Found {
                    origin: format!("{seg} from byte {at}"),
                    raw: Vec::new(),
                    stored_lock: None,
                    blob: None,
                });
            }
            Ok(out)
        })
        .buffered(16)
        .collect()
        .await;
    let mut found = Vec::new();
    for r in parsed {
        for f in r? {
            let main =
                decode::<VersionRecord>(&f.raw).and_then(|rec| UpstreamBlobs::main_object(&rec).map(str::to_string));
            match main {
                Some(m) if !names.contains(m.as_str()) => {
                    tracing::info!(record = %f.origin, object = %m, "record of a version whose data object is gone: skipped");
                }
                _ => found.push((f, main)),
            }
        }
    }
    Ok(found.into_iter().map(|(f, _)| f).collect())
}

/// With upstream Object Lock: the lock the upstream holds on each version's data object (a HEAD
/// each), where retention extensions and legal holds are mirrored, merged into what the record
/// object says (an old `<id>.meta` kept the lock it was written with; a segment has none per
/// version). Later-of retain-until, legal hold on if either says on: never less protection.
async fn with_data_object_locks(blobs: &UpstreamBlobs, found: Vec<Found>) -> Result<Vec<Found>, EvidenceError> {
    use futures_util::StreamExt;
    let locked: Vec<Result<Found, EvidenceError>> = futures_util::stream::iter(found)
        .map(|mut f| async move {
            let main =
                decode::<VersionRecord>(&f.raw).and_then(|rec| UpstreamBlobs::main_object(&rec).map(str::to_string));
            if let Some(m) = main {
                let data = blobs
                    .object_lock(&m)
                    .await
                    .map_err(|e| EvidenceError::step(format!("cannot read the upstream lock of {m}"), e))?;
                f.stored_lock = match (f.stored_lock, data) {
                    (Some(a), Some(b)) => Some(UpstreamLock {
                        retain_until: a.retain_until.max(b.retain_until),
                        legal_hold: a.legal_hold || b.legal_hold,
                    }),
                    (a, b) => a.or(b),
                };
            }
            Ok(f)
        })
        .buffered(16)
        .collect()
        .await;
    locked.into_iter().collect()
}

/// The versions as written, from `source` (several records of one version: the more protective).
fn read_records(
    source: &dyn RecordSource,
    rep: &mut RecoverReport,
) -> Result<BTreeMap<VKey, VersionRecord>, EvidenceError> {
    let mut out: BTreeMap<VKey, VersionRecord> = BTreeMap::new();
    for found in source.records()? {
        let Some(mut rec) = decode::<VersionRecord>(&found.raw) else {
            rep.undecodable_sidecars.push(found.origin);
            continue;
        };
        if let Some(blob) = found.blob {
            rec.blob = Some(blob);
        }
        let k = (rec.bucket.clone(), rec.key.clone(), rec.seq);
        let entry = match out.entry(k) {
            std::collections::btree_map::Entry::Occupied(o) => {
                let existing = o.into_mut();
                merge_protect(existing, &rec);
                existing
            }
            std::collections::btree_map::Entry::Vacant(v) => v.insert(rec.clone()),
        };
        if let Some(lock) = found.stored_lock {
            let stored = VersionRecord {
                retention: lock.retain_until.map(Retention::until),
                legal_hold: lock.legal_hold,
                ..rec
            };
            let (ext, hold) = merge_protect(entry, &stored);
            rep.from_storage_lock += usize::from(ext || hold);
        }
    }
    Ok(out)
}

fn ms_of(time: &str) -> Option<i64> {
    parse_iso(time).map(|t| t.timestamp_millis())
}

/// Rebuild the catalog of `data` from the records of `source` and the audit trail (see module doc).
pub fn recover(data: &Path, source: &dyn RecordSource) -> Result<RecoverReport, EvidenceError> {
    let mut rep = RecoverReport {
        record_source: source.describe(),
        ..Default::default()
    };
    let cat_dir = catalog_dir(data);
    let old = read_old(&cat_dir)?;
    let adir = audit_dir(data);

    // Audit trail: verify first, so we know how far it can be trusted.
    let records: Vec<AuditRecord> = if adir.exists() {
        chain::read_all(&adir)
            .map_err(|e| EvidenceError::step("cannot read the audit trail", e))?
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    } else {
        rep.warnings.push("no audit trail: retention extensions, legal holds and delete markers made after the writes cannot be restored".into());
        Vec::new()
    };
    rep.audit_records = records.len() as u64;
    let last_seq = records.last().map_or(0, |r| r.seq);
    rep.audit_trusted_until = last_seq;
    if adir.exists() {
        let v = verify(&adir, &VerifyOptions::default())
            .map_err(|e| EvidenceError::step("cannot verify the audit trail", e))?;
        if !v.ok {
            rep.audit_trusted_until = v
                .problems
                .iter()
                .filter_map(|p| p.seq)
                .min()
                .map_or(0, |s| s.saturating_sub(1));
            rep.audit_problems = v.problems.iter().map(std::string::ToString::to_string).collect();
        }
    }

    // Versions as written.
    let mut versions = read_records(source, &mut rep)?;
    rep.from_sidecars = versions.len();
    let mut buckets: BTreeMap<String, BucketRecord> = BTreeMap::new();
    let mut latest_ms: i64 = old.as_ref().map_or(0, |o| o.watermark_ms);

    // Replay.
    for r in &records {
        let ev = &r.event;
        latest_ms = latest_ms.max(ms_of(&ev.time).unwrap_or(0));
        if ev.decision != "allow" || !(200..300).contains(&ev.status) {
            continue;
        }
        let trusted = r.seq <= rep.audit_trusted_until;
        let Some(bucket) = ev.bucket.clone() else { continue };
        let at_ms = ms_of(&ev.time).unwrap_or(0);
        match ev.operation.as_str() {
            "CreateBucket" => {
                buckets.entry(bucket.clone()).or_insert_with(|| BucketRecord {
                    name: bucket.clone(),
                    created_ms: at_ms,
                    owner: ev.principal.clone().unwrap_or_default(),
                    default_retention: None,
                    lifecycle: None,
                });
            }
            "DeleteBucket" if trusted && !versions.keys().any(|(b, _, _)| *b == bucket) => {
                buckets.remove(&bucket);
            }
            "PutObject" | "CopyObject" | "CompleteMultipartUpload" => {
                // A version whose blob and sidecar are both gone still existed: keep its record
                // (scrub will report the bytes missing) rather than let it vanish.
                if let (Some(key), Some(vid)) = (ev.key.clone(), ev.version_id.clone()) {
                    if let Some(seq) = parse_version_id(&vid) {
                        let k = (bucket.clone(), key.clone(), seq);
                        if let std::collections::btree_map::Entry::Vacant(slot) = versions.entry(k) {
                            let retention = ev.retain_until.as_deref().and_then(parse_iso).map(Retention::until);
                            slot.insert(VersionRecord {
                                bucket: bucket.clone(),
                                key,
                                version_id: vid.clone(),
                                seq,
                                created_ms: version_created_ms(&vid).unwrap_or(at_ms),
                                delete_marker: false,
                                size: ev.bytes_in,
                                etag: String::new(),
                                sha256: ev.sha256.clone().unwrap_or_default(),
                                blake3: String::new(),
                                checksum_algorithm: None,
                                checksum: None,
                                checksum_type: None,
                                headers: crate::store::records::ContentHeaders::default(),
                                retention,
                                legal_hold: ev.legal_hold.unwrap_or(false),
                                blob: Some(BlobRef::Single { id: vid }),
                                owner: ev.principal.clone().unwrap_or_default(),
                                tags: std::collections::BTreeMap::new(),
                                parts_count: None,
                            });
                            rep.from_audit_only += 1;
                            rep.warnings.push(format!(
                                "{}: version known only from audit record {}: its bytes and sidecar are gone",
                                ev.key.as_deref().unwrap_or(""),
                                r.seq
                            ));
                        }
                    }
                }
            }
            "PutObjectRetention" => {
                if let (Some(key), Some(seq), Some(until)) = (
                    ev.key.clone(),
                    ev.version_id.as_deref().and_then(parse_version_id),
                    ev.retain_until.as_deref().and_then(parse_iso),
                ) {
                    if let Some(v) = versions.get_mut(&(bucket.clone(), key, seq)) {
                        let merged = v.retention.map_or(Ok(Retention::until(until)), |old| old.extend(until));
                        match merged {
                            Ok(m) if v.retention != Some(m) => {
                                v.retention = Some(m);
                                rep.retention_extensions += 1;
                            }
                            _ => {}
                        }
                    }
                }
            }
            "PutObjectLegalHold" => {
                if let (Some(key), Some(seq), Some(on)) = (
                    ev.key.clone(),
                    ev.version_id.as_deref().and_then(parse_version_id),
                    ev.legal_hold,
                ) {
                    if let Some(v) = versions.get_mut(&(bucket.clone(), key, seq)) {
                        if v.legal_hold != on && (on || trusted) {
                            v.legal_hold = on;
                            rep.legal_hold_changes += 1;
                        }
                    }
                }
            }
            _ => {}
        }
        for c in &ev.changes {
            apply_change(c, &bucket, ev, trusted, &mut versions, &mut buckets, &mut rep);
        }
    }

    // Merge the old catalog, protectively.
    if let Some(o) = &old {
        for ov in &o.versions {
            let k = (ov.bucket.clone(), ov.key.clone(), ov.seq);
            if let Some(v) = versions.get_mut(&k) {
                let (e, h) = merge_protect(v, ov);
                rep.retention_extensions += usize::from(e);
                rep.legal_hold_changes += usize::from(h);
            } else {
                versions.insert(k, ov.clone());
                rep.from_old_catalog += 1;
            }
        }
        for ob in &o.buckets {
            let b = buckets.entry(ob.name.clone()).or_insert_with(|| ob.clone());
            if b.default_retention.is_none() {
                b.default_retention = ob.default_retention;
            }
            if b.lifecycle.is_none() {
                b.lifecycle.clone_from(&ob.lifecycle);
            }
        }
    }
    // Every bucket that holds versions exists.
    for v in versions.values() {
        latest_ms = latest_ms.max(v.created_ms);
        buckets.entry(v.bucket.clone()).or_insert_with(|| BucketRecord {
            name: v.bucket.clone(),
            created_ms: v.created_ms,
            owner: v.owner.clone(),
            default_retention: None,
            lifecycle: None,
        });
        if let Some(b) = buckets.get_mut(&v.bucket) {
            b.created_ms = b.created_ms.min(v.created_ms);
        }
    }
    rep.buckets = buckets.len();
    rep.delete_markers = versions.values().filter(|v| v.delete_marker).count();
    rep.versions = versions.len() - rep.delete_markers;
    rep.max_seq = versions.keys().map(|k| k.2).max().unwrap_or(0);
    rep.watermark_ms = latest_ms;

    // Write the new catalog beside the old one, then swap.
    let tmp = data.join("catalog.recover-tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| EvidenceError::step(format!("cannot clear {}", tmp.display()), e))?;
    }
    let no_pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let image = CatalogImage {
        versions: versions.values().collect(),
        buckets: buckets.values().collect(),
        state: old.as_ref().map_or(&no_pairs, |o| &o.state),
        uploads: old.as_ref().map_or(&no_pairs, |o| &o.uploads),
        watermark_ms: latest_ms,
        max_seq: rep.max_seq,
    };
    write_new(&tmp, &image, |state| {
        if let Some(r) = records.last() {
            write_anchor(state, r.seq, &r.hash);
        }
    })
    .map_err(|e| EvidenceError::Catalog(e.into()))?;
    if cat_dir.exists() {
        let aside = data.join(format!(
            "catalog.before-recover-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        ));
        std::fs::rename(&cat_dir, &aside).map_err(|e| EvidenceError::step("cannot move the old catalog aside", e))?;
        rep.old_catalog = Some(aside.display().to_string());
    }
    std::fs::rename(&tmp, &cat_dir).map_err(|e| EvidenceError::step("cannot move the new catalog into place", e))?;

    // The recovery itself goes on the record — also on a standby's empty data directory, where it
    // is the first record of the new gateway's trail.
    {
        let log = AuditLog::open(&adir).map_err(|e| EvidenceError::step("cannot open the audit trail", e))?;
        let mut ev = AuditEvent::internal("RecoverCatalog", crate::timefmt::now_iso());
        ev.principal = std::env::var("USER").ok().map(|u| format!("os:{u}"));
        ev.detail = Some(rep.render().trim_end().to_string());
        log.append_blocking(ev)
            .map_err(|e| EvidenceError::step("cannot record the recovery in the audit trail", e))?;
    }
    Ok(rep)
}

fn apply_change(
    c: &Change,
    bucket: &str,
    ev: &AuditEvent,
    trusted: bool,
    versions: &mut BTreeMap<VKey, VersionRecord>,
    buckets: &mut BTreeMap<String, BucketRecord>,
    rep: &mut RecoverReport,
) {
    match c {
        Change::DeleteMarkerAdded { key, version_id } => {
            let Some(seq) = parse_version_id(version_id) else {
                return;
            };
            versions
                .entry((bucket.to_string(), key.clone(), seq))
                .or_insert_with(|| {
                    VersionRecord::delete_marker(NewVersionId {
                        bucket: bucket.to_string(),
                        key: key.clone(),
                        version_id: version_id.clone(),
                        seq,
                        created_ms: version_created_ms(version_id).unwrap_or(0),
                        owner: ev.principal.clone().unwrap_or_default(),
                    })
                });
        }
        Change::DeleteMarkerRemoved { key, version_id } | Change::VersionRemoved { key, version_id } => {
            if !trusted {
                return;
            }
            if let Some(seq) = parse_version_id(version_id) {
                if versions.remove(&(bucket.to_string(), key.clone(), seq)).is_some() {
                    rep.removed_by_audit += 1;
                }
            }
        }
        Change::BucketDefaultRetention { rule } => {
            let len = |r: &Option<DefaultRetention>| r.map_or(0, |d| d.duration().num_seconds());
            let b = buckets.entry(bucket.to_string()).or_insert_with(|| BucketRecord {
                name: bucket.to_string(),
                created_ms: ms_of(&ev.time).unwrap_or(0),
                owner: ev.principal.clone().unwrap_or_default(),
                default_retention: None,
                lifecycle: None,
            });
            if trusted || len(rule) > len(&b.default_retention) {
                b.default_retention = *rule;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tree_names_match_the_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let cat = crate::store::Catalog::open(dir.path()).unwrap();
        cat.store_watermark(1234).unwrap();
        let db = cat.db();
        let rec = BucketRecord {
            name: "bk".into(),
            created_ms: 1,
            owner: "o".into(),
            default_retention: None,
            lifecycle: None,
        };
        db.open_tree(crate::store::meta::TREES.buckets)
            .unwrap()
            .insert(b"bk", crate::store::records::encode(&rec))
            .unwrap();
        assert_eq!(cat.bucket("bk").unwrap(), Some(rec));
        assert_eq!(
            db.open_tree(crate::store::meta::STATE_TREE)
                .unwrap()
                .get(crate::store::meta::WATERMARK_KEY)
                .unwrap()
                .unwrap()
                .as_ref(),
            1234i64.to_be_bytes()
        );
    }
}
