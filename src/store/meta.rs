//! The catalog in sled: buckets, versions (newest first per key), multipart uploads and gateway state.
//! Writers apply their change, then await one shared flush (group commit) before the client hears
//! success.

use super::capacity::{Capacity, Quota, Usage};
use super::error::{is_no_space, StoreError, StoreResult};
use super::locks::{AllKeysGuard, KeyGuard};
use super::records::{decode, encode, BlobRef, BucketRecord, NewVersionId, PartRecord, UploadRecord, VersionRecord};
use crate::lock::{
    AddMarker, DeleteBucket, Expired, NewVersion, RemoveMarker, SetLegalHold, SetLockConfiguration, SetRetention,
    SetTags, TargetState,
};
use sled::Transactional;
use sled::Tree;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// A version as read from the catalog: decoded, or present but corrupt (fail closed).
#[derive(Debug, Clone)]
pub enum VersionEntry {
    Ok(Box<VersionRecord>),
    Corrupt { key: String, seq: u64 },
}

impl VersionEntry {
    pub fn seq(&self) -> u64 {
        match self {
            VersionEntry::Ok(r) => r.seq,
            VersionEntry::Corrupt { seq, .. } => *seq,
        }
    }
    pub fn key(&self) -> &str {
        match self {
            VersionEntry::Ok(r) => &r.key,
            VersionEntry::Corrupt { key, .. } => key,
        }
    }
    /// What the lock needs to know about this version.
    pub fn target_state(&self) -> TargetState {
        match self {
            VersionEntry::Corrupt { .. } => TargetState::Corrupt,
            VersionEntry::Ok(r) => r.target_state(),
        }
    }
}

impl VersionRecord {
    /// What the lock needs to know about this version.
    pub fn target_state(&self) -> TargetState {
        if self.delete_marker {
            TargetState::DeleteMarker
        } else {
            TargetState::Data {
                retention: self.retention,
                legal_hold: self.legal_hold,
            }
        }
    }

    /// Every blob id this record keeps alive: its data and the blob that carries the record's
    /// second copy (sidecar / manifest / upstream record object).
    pub fn blob_ids(&self) -> Vec<String> {
        match &self.blob {
            None => Vec::new(),
            Some(BlobRef::Single { id } | BlobRef::InSegment { id, .. }) => vec![id.clone()],
            Some(BlobRef::Multipart { id, .. }) => vec![id.clone(), self.version_id.clone()],
            Some(BlobRef::Parts { parts }) => parts
                .iter()
                .map(|p| p.id.clone())
                .chain(std::iter::once(self.version_id.clone()))
                .collect(),
        }
    }
}

/// Key of a live segment entry in the `segments` tree: `segment \0 blob-id`. Written just before the
/// version record that refers to the entry (and put back at open for any record found without it),
/// removed in the same sled transaction as that record, so a segment with no key under its prefix
/// holds no live version (a key may outlive a record that never landed: that only keeps the segment).
fn segment_live_key(segment: &str, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(segment.len() + id.len() + 1);
    k.extend_from_slice(segment.as_bytes());
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    k
}

/// Key of a segment's removal mark in the `segments` tree: `segment \x01`, written in the same
/// transaction as the removal of one of its versions with the `Expired` permit. A segment is reclaimed
/// only with this positive evidence that this catalog knew it and removed a version from it: a catalog
/// that does not know a segment (lost, replaced by an empty one, or being rebuilt) never proves it empty.
fn segment_removed_key(segment: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(segment.len() + 1);
    k.extend_from_slice(segment);
    k.push(1);
    k
}

/// The removal mark of the segment a live-entry key (`segment \0 id`) belongs to.
fn removed_key_of(live_key: &[u8]) -> Vec<u8> {
    segment_removed_key(live_key.split(|b| *b == 0).next().unwrap_or_default())
}

/// The segment entry a record keeps alive, as its `segments`-tree key.
pub(crate) fn live_entry(rec: &VersionRecord) -> Option<Vec<u8>> {
    match &rec.blob {
        Some(BlobRef::InSegment { id, segment, .. }) => Some(segment_live_key(segment, id)),
        _ => None,
    }
}

/// Segments the catalog checked hold no live version (no record refers to an entry in them), among
/// candidates the blob store had found sealed and unpinned: the only way to destroy segment bytes.
/// Only the catalog makes one.
#[derive(Debug)]
#[must_use = "empty segments should be reclaimed"]
pub struct EmptySegments {
    ids: Vec<String>,
}

impl EmptySegments {
    /// The segment ids proven empty.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }
}

/// Blob ids the catalog has checked, under the key's lock, that no version record, upload or part
/// references: the only way (besides [`ExpiredBlobs`]) to destroy bytes. Only the catalog makes one.
#[derive(Debug)]
#[must_use = "unreferenced blobs should be discarded"]
pub struct Unreferenced {
    ids: Vec<String>,
}

impl Unreferenced {
    /// The blob ids proven unreferenced.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }
}

/// The blobs of a version whose record the catalog removed with the [`Expired`] permit.
#[derive(Debug)]
#[must_use = "the bytes of a removed version should be destroyed"]
pub struct ExpiredBlobs {
    ids: Vec<String>,
    /// The segment the removed version's entry was in (reclaimed whole once empty and sealed).
    segment: Option<String>,
    _proof: Expired,
}

impl ExpiredBlobs {
    /// The blob ids of the removed version.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The segment that held the removed version's data, if it was a segment entry.
    pub fn segment(&self) -> Option<&str> {
        self.segment.as_deref()
    }
}

fn guard_mismatch() -> StoreError {
    StoreError::NotLocked
}

/// State key of a completed upload: `completed-upload \0 bucket \0 key \0 upload_id`.
fn completed_key(upload_key: &[u8]) -> Vec<u8> {
    let mut k = b"completed-upload\0".to_vec();
    k.extend_from_slice(upload_key);
    k
}

/// The sled catalog.
#[derive(Clone)]
pub struct Catalog {
    db: sled::Db,
    buckets: Tree,
    versions: Tree,
    uploads: Tree,
    parts: Tree,
    state: Tree,
    /// Live segment entries (`segment_live_key`): one for every record whose bytes are in a segment.
    segments: Tree,
    /// Usage counters and quotas (see `store::capacity`), kept in step with the version records.
    capacity: Arc<Capacity>,
    flusher: mpsc::UnboundedSender<oneshot::Sender<Result<(), FlushError>>>,
    #[cfg(test)]
    faults: std::sync::Arc<Faults>,
}

/// Test-only fault injection: make the next flushes fail after the change was applied in memory.
#[cfg(test)]
#[derive(Default)]
pub struct Faults {
    pub fail_flush: std::sync::atomic::AtomicBool,
}

/// A failed group flush: its message, and whether the volume was full.
#[derive(Debug, Clone)]
struct FlushError {
    message: String,
    no_space: bool,
}

/// The state key of the clock watermark.
pub(crate) const WATERMARK_KEY: &[u8] = b"clock.watermark_ms";
/// The state key of the clock heartbeat (last trusted wall time seen while running).
pub(crate) const HEARTBEAT_KEY: &[u8] = b"clock.heartbeat_ms";
/// Prefix of the officer-set quotas in the state tree (`quota/<bucket>`): kept with the gateway state
/// so that `recover`, which carries the state over, keeps them.
const QUOTA_PREFIX: &[u8] = b"quota/";

fn quota_key(bucket: &str) -> Vec<u8> {
    let mut k = QUOTA_PREFIX.to_vec();
    k.extend_from_slice(bucket.as_bytes());
    k
}

/// The name of the small key/value state tree.
pub(crate) const STATE_TREE: &str = "state";

/// Names of the record trees (one place: `rebuild` reads and writes the same layout).
pub(crate) struct TreeNames {
    pub versions: &'static str,
    pub buckets: &'static str,
    pub uploads: &'static str,
    pub parts: &'static str,
    pub segments: &'static str,
}

pub(crate) const TREES: TreeNames = TreeNames {
    versions: "versions",
    buckets: "buckets",
    uploads: "uploads",
    parts: "parts",
    segments: "segments",
};

/// Sled key of a version: `bucket \0 key \0 (u64::MAX - seq)` so the newest version of a key sorts first.
pub fn version_key(bucket: &str, key: &str, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(bucket.len() + key.len() + 10);
    k.extend_from_slice(bucket.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k.push(0);
    k.extend_from_slice(&(u64::MAX - seq).to_be_bytes());
    k
}

/// Prefix of all versions of one key.
pub fn key_prefix(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = bucket_prefix(bucket);
    k.extend_from_slice(key.as_bytes());
    k.push(0);
    k
}

/// Prefix of all versions in a bucket.
pub fn bucket_prefix(bucket: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(bucket.len() + 1);
    k.extend_from_slice(bucket.as_bytes());
    k.push(0);
    k
}

/// The catalog's default page-cache bound (`--catalog-cache`): enough for the hot part of the
/// tree (bucket records, the index nodes, the recently written and read leaves) while keeping the
/// process small; a miss costs a read from the OS page cache and a page decode, not a disk seek.
pub const DEFAULT_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// Split a version sled key back into (object key, seq).
fn split_version_key(bucket_len: usize, raw: &[u8]) -> Option<(String, u64)> {
    split_version_key_ref(bucket_len, raw).map(|(k, seq)| (k.to_owned(), seq))
}

/// Split a version sled key back into (object key, seq) without copying the key: listings look at
/// every entry's key and decode only the records they show.
pub fn split_version_key_ref(bucket_len: usize, raw: &[u8]) -> Option<(&str, u64)> {
    if raw.len() < bucket_len + 1 + 1 + 8 {
        return None;
    }
    let rest = raw.get(bucket_len + 1..raw.len() - 9)?;
    let inv = u64::from_be_bytes(raw.get(raw.len() - 8..)?.try_into().ok()?);
    Some((std::str::from_utf8(rest).ok()?, u64::MAX - inv))
}

impl Catalog {
    /// Open (or create) the catalog at `path` with the default page cache
    /// ([`DEFAULT_CACHE_BYTES`]) and start the group-commit flusher.
    pub fn open(path: &std::path::Path) -> StoreResult<Self> {
        Self::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// Open (or create) the catalog at `path` with a page cache of at most `cache_bytes` (sled's
    /// `cache_capacity`; sled's own default of 1 GiB let the gateway's memory grow with the
    /// catalog), and start the group-commit flusher.
    pub fn open_with_cache(path: &std::path::Path, cache_bytes: u64) -> StoreResult<Self> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes)
            .flush_every_ms(Some(500))
            .open()?;
        let (tx, mut rx) = mpsc::unbounded_channel::<oneshot::Sender<Result<(), FlushError>>>();
        let flush_db = db.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut waiters = vec![first];
                while let Ok(w) = rx.try_recv() {
                    waiters.push(w);
                }
                let res = flush_db.flush_async().await.map(|_| ()).map_err(|e| FlushError {
                    no_space: matches!(&e, sled::Error::Io(io) if is_no_space(io)),
                    message: e.to_string(),
                });
                for w in waiters {
                    let _ = w.send(res.clone());
                }
            }
        });
        let cat = Catalog {
            buckets: db.open_tree(TREES.buckets)?,
            versions: db.open_tree(TREES.versions)?,
            uploads: db.open_tree(TREES.uploads)?,
            parts: db.open_tree(TREES.parts)?,
            state: db.open_tree(STATE_TREE)?,
            segments: db.open_tree(TREES.segments)?,
            capacity: Arc::default(),
            db,
            flusher: tx,
            #[cfg(test)]
            faults: std::sync::Arc::default(),
        };
        cat.recount()?;
        Ok(cat)
    }

    /// Count every bucket's usage from the version records and load the officer-set quotas: one
    /// pass over the records at open, so the counters are right after any crash. The same pass puts
    /// back the live mark of any segment record found without one: the mark is written before its
    /// record and sled recovers a prefix of its log, but that rests on sled's `sync_file_range`d
    /// writes surviving in order, and a missing mark would let the record's segment be reclaimed.
    fn recount(&self) -> StoreResult<()> {
        let mut usage: BTreeMap<String, Usage> = BTreeMap::new();
        let mut restored = 0u64;
        for item in &self.versions {
            let (_, v) = item?;
            if let Some(r) = decode::<VersionRecord>(&v) {
                if let Some(live) = live_entry(&r) {
                    if self.segments.get(&live)?.is_none() {
                        self.segments.insert(live, &[][..])?;
                        restored += 1;
                    }
                }
                if !r.delete_marker {
                    let u = usage.entry(r.bucket).or_default();
                    u.bytes = u.bytes.saturating_add(r.size);
                    u.versions += 1;
                }
            }
        }
        self.capacity.reset_usage(usage);
        if restored > 0 {
            tracing::warn!(
                restored,
                "segment records without their live mark (a torn catalog write): marks put back"
            );
            self.flush_now()?;
        }
        let mut quotas = BTreeMap::new();
        for item in self.state.scan_prefix(QUOTA_PREFIX) {
            let (k, v) = item?;
            let name = String::from_utf8_lossy(&k[QUOTA_PREFIX.len()..]).into_owned();
            let q = decode::<Quota>(&v).ok_or_else(|| StoreError::Corrupt {
                what: format!("the quota record of bucket {name}"),
            })?;
            quotas.insert(name, q);
        }
        self.capacity.set_officer_quotas(quotas);
        Ok(())
    }

    /// Usage counters and quotas of every bucket.
    pub fn capacity(&self) -> &Arc<Capacity> {
        &self.capacity
    }

    /// Set (`Some`) or clear (`None`) the officer's quota of a bucket, durably. Returns the quota
    /// it replaced.
    pub async fn set_quota(&self, bucket: &str, quota: Option<Quota>) -> StoreResult<Option<Quota>> {
        let old = match quota {
            Some(q) => self.state.insert(quota_key(bucket), encode(&q))?,
            None => self.state.remove(quota_key(bucket))?,
        };
        self.capacity.set_officer_quota(bucket, quota);
        self.durable().await?;
        Ok(old.and_then(|o| decode::<Quota>(&o)))
    }

    /// Set or clear an officer's quota from synchronous code (offline tools; flushed at once).
    pub fn set_quota_now(&self, bucket: &str, quota: Option<Quota>) -> StoreResult<Option<Quota>> {
        let old = match quota {
            Some(q) => self.state.insert(quota_key(bucket), encode(&q))?,
            None => self.state.remove(quota_key(bucket))?,
        };
        self.capacity.set_officer_quota(bucket, quota);
        self.flush_now()?;
        Ok(old.and_then(|o| decode::<Quota>(&o)))
    }

    /// A data version appeared in or left the records: keep the usage counters in step.
    fn counted(&self, rec: &VersionRecord, added: bool) {
        if !rec.delete_marker {
            self.capacity.count(&rec.bucket, rec.size, added);
        }
    }

    /// The fault-injection seam (tests only).
    #[cfg(test)]
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The raw database, for tests that plant records directly.
    #[cfg(test)]
    pub(crate) fn db(&self) -> &sled::Db {
        &self.db
    }

    /// Flush synchronously (offline tools and shutdown, where no flusher task runs any more).
    pub fn flush_now(&self) -> StoreResult<()> {
        self.db.flush()?;
        Ok(())
    }

    /// Wait until everything applied so far is on disk (shared flush).
    pub async fn durable(&self) -> StoreResult<()> {
        #[cfg(test)]
        if self.faults.fail_flush.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Flush {
                no_space: false,
                message: "injected fault".into(),
            });
        }
        let (tx, rx) = oneshot::channel();
        self.flusher.send(tx).map_err(|_| StoreError::FlusherStopped)?;
        rx.await
            .map_err(|_| StoreError::FlusherStopped)?
            .map_err(|e| StoreError::Flush {
                no_space: e.no_space,
                message: e.message,
            })
    }

    /// A fresh, never reused sequence number.
    pub fn next_seq(&self) -> StoreResult<u64> {
        Ok(self.db.generate_id()? + 1)
    }

    pub fn watermark_ms(&self) -> StoreResult<i64> {
        Ok(self
            .state
            .get(WATERMARK_KEY)?
            .and_then(|v| v.as_ref().try_into().ok().map(i64::from_be_bytes))
            .unwrap_or(0))
    }

    /// Persist a clock watermark (never lowers it).
    pub fn store_watermark(&self, ms: i64) -> StoreResult<()> {
        self.state.fetch_and_update(WATERMARK_KEY, |old| {
            let old_ms = old.and_then(|v| v.try_into().ok().map(i64::from_be_bytes)).unwrap_or(0);
            Some(old_ms.max(ms).to_be_bytes().to_vec())
        })?;
        Ok(())
    }

    /// Lower the persisted watermark to `ms`: only `lock::Clock::rewind` calls this (through its
    /// `persist` callback), after real time was established to be behind the watermark. The
    /// heartbeat follows it.
    pub fn rewind_watermark(&self, ms: i64) -> StoreResult<()> {
        self.state.insert(WATERMARK_KEY, &ms.to_be_bytes())?;
        self.state.insert(HEARTBEAT_KEY, &ms.to_be_bytes())?;
        Ok(())
    }

    /// The last heartbeat of a run (`None`: never written).
    pub fn heartbeat_ms(&self) -> StoreResult<Option<i64>> {
        Ok(self
            .state
            .get(HEARTBEAT_KEY)?
            .and_then(|v| v.as_ref().try_into().ok().map(i64::from_be_bytes)))
    }

    /// Persist the heartbeat (the last trusted wall time seen while running; see
    /// `lock::Clock::heartbeat_ms`).
    pub fn store_heartbeat(&self, ms: i64) -> StoreResult<()> {
        self.state.insert(HEARTBEAT_KEY, &ms.to_be_bytes())?;
        Ok(())
    }

    /// Small key/value state for other modules (audit head, alarms).
    pub fn state(&self) -> &Tree {
        &self.state
    }

    /// Every in-flight upload record as stored (sled key, raw value): scrub's view of what uploads
    /// keep alive. Read-only.
    pub fn upload_entries(&self) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
        self.uploads.iter().flatten().map(|(k, v)| (k.to_vec(), v.to_vec()))
    }

    // ---- buckets ----

    pub fn bucket(&self, name: &str) -> StoreResult<Option<BucketRecord>> {
        match self.buckets.get(name.as_bytes())? {
            None => Ok(None),
            Some(raw) => decode(&raw).map(Some).ok_or_else(|| StoreError::Corrupt {
                what: format!("bucket record of {name}"),
            }),
        }
    }

    pub fn list_buckets(&self) -> StoreResult<Vec<BucketRecord>> {
        let mut out = Vec::new();
        for item in &self.buckets {
            let (_, v) = item?;
            if let Some(b) = decode::<BucketRecord>(&v) {
                out.push(b);
            }
        }
        Ok(out)
    }

    /// Create a bucket if absent. Returns false if it already existed.
    pub async fn create_bucket(&self, rec: &BucketRecord) -> StoreResult<bool> {
        let res = self
            .buckets
            .compare_and_swap(rec.name.as_bytes(), None as Option<&[u8]>, Some(encode(rec)))?;
        if res.is_err() {
            return Ok(false);
        }
        self.durable().await?;
        Ok(true)
    }

    /// Replace a bucket's default retention rule, in place: a bucket deleted meanwhile stays deleted.
    pub async fn set_lock_configuration(&self, name: &str, permit: SetLockConfiguration) -> StoreResult<BucketRecord> {
        self.update_bucket(name, |rec| rec.default_retention = permit.rule())
            .await
    }

    /// Replace (or with `None` remove) a bucket's lifecycle configuration, in place like
    /// [`Catalog::set_lock_configuration`]. Rules change when versions *may* go, never whether the lock
    /// lets them: no permit is needed.
    pub async fn set_lifecycle(
        &self,
        name: &str,
        configuration: Option<crate::s3::lifecycle::LifecycleConfiguration>,
    ) -> StoreResult<BucketRecord> {
        self.update_bucket(name, |rec| rec.lifecycle.clone_from(&configuration))
            .await
    }

    /// Change an existing bucket record in place and make it durable: a bucket deleted meanwhile
    /// stays deleted (never re-inserted), and a record that does not decode is left exactly as it is.
    async fn update_bucket(&self, name: &str, change: impl Fn(&mut BucketRecord)) -> StoreResult<BucketRecord> {
        let updated = self.buckets.update_and_fetch(name.as_bytes(), |old| {
            let old = old?;
            Some(match decode::<BucketRecord>(old) {
                Some(mut rec) => {
                    change(&mut rec);
                    encode(&rec)
                }
                None => old.to_vec(),
            })
        })?;
        let rec = match updated {
            None => {
                return Err(StoreError::NoSuchBucket {
                    bucket: name.to_string(),
                })
            }
            Some(raw) => decode::<BucketRecord>(&raw).ok_or_else(|| StoreError::Corrupt {
                what: format!("bucket record of {name}"),
            })?,
        };
        self.durable().await?;
        Ok(rec)
    }

    /// Delete an empty bucket. Emptiness is checked again here, while the caller holds every key.
    pub async fn delete_bucket(&self, name: &str, _all: &AllKeysGuard<'_>, _permit: DeleteBucket) -> StoreResult<()> {
        if self.bucket_has_versions(name)? || self.bucket_has_uploads(name)? {
            return Err(StoreError::BucketNotEmpty {
                bucket: name.to_string(),
            });
        }
        self.buckets.remove(name.as_bytes())?;
        self.durable().await
    }

    /// Whether an in-flight multipart upload exists in the bucket (it keeps the bucket alive).
    pub fn bucket_has_uploads(&self, bucket: &str) -> StoreResult<bool> {
        Ok(self
            .uploads
            .scan_prefix(bucket_prefix(bucket))
            .next()
            .transpose()?
            .is_some())
    }

    /// Open multipart uploads of a bucket, counted up to `stop_at` (enough to compare with a limit
    /// without walking every upload of a bucket far over it).
    pub fn count_uploads(&self, bucket: &str, stop_at: u64) -> StoreResult<u64> {
        let mut n = 0u64;
        for item in self.uploads.scan_prefix(bucket_prefix(bucket)) {
            item?;
            n += 1;
            if n >= stop_at {
                break;
            }
        }
        Ok(n)
    }

    /// Whether any version or delete marker exists in the bucket.
    pub fn bucket_has_versions(&self, bucket: &str) -> StoreResult<bool> {
        Ok(self
            .versions
            .scan_prefix(bucket_prefix(bucket))
            .next()
            .transpose()?
            .is_some())
    }

    // ---- versions ----

    fn entry(bucket: &str, raw_key: &[u8], raw: &[u8]) -> VersionEntry {
        if let Some(r) = decode::<VersionRecord>(raw) {
            VersionEntry::Ok(Box::new(r))
        } else {
            let (key, seq) = split_version_key(bucket.len(), raw_key).unwrap_or_default();
            VersionEntry::Corrupt { key, seq }
        }
    }

    /// The newest version (or marker) of a key.
    pub fn latest(&self, bucket: &str, key: &str) -> StoreResult<Option<VersionEntry>> {
        match self.versions.scan_prefix(key_prefix(bucket, key)).next() {
            None => Ok(None),
            Some(item) => {
                let (k, v) = item?;
                Ok(Some(Self::entry(bucket, &k, &v)))
            }
        }
    }

    /// One specific version by seq.
    pub fn version(&self, bucket: &str, key: &str, seq: u64) -> StoreResult<Option<VersionEntry>> {
        let k = version_key(bucket, key, seq);
        Ok(self.versions.get(&k)?.map(|v| Self::entry(bucket, &k, &v)))
    }

    /// Commit a new data version with the retention and hold its permit carries, and wait for it
    /// to be durable. The slot must be empty (version ids are never reused).
    pub async fn insert_version(
        &self,
        guard: &KeyGuard<'_>,
        mut rec: VersionRecord,
        permit: NewVersion,
    ) -> StoreResult<VersionRecord> {
        if !guard.covers(&rec.bucket, &rec.key) || rec.delete_marker {
            return Err(guard_mismatch());
        }
        rec.retention = Some(permit.retention());
        rec.legal_hold = permit.legal_hold();
        self.insert_new(&rec)?;
        self.durable().await?;
        Ok(rec)
    }

    /// Add a delete marker (metadata only).
    pub async fn insert_delete_marker(
        &self,
        guard: &KeyGuard<'_>,
        id: NewVersionId,
        _permit: AddMarker,
    ) -> StoreResult<VersionRecord> {
        if !guard.covers(&id.bucket, &id.key) {
            return Err(guard_mismatch());
        }
        let rec = VersionRecord::delete_marker(id);
        self.insert_new(&rec)?;
        self.durable().await?;
        Ok(rec)
    }

    fn insert_new(&self, rec: &VersionRecord) -> StoreResult<()> {
        let k = version_key(&rec.bucket, &rec.key, rec.seq);
        // Liveness of the segment entry first, then the record, as two single-key writes: sled
        // recovers a prefix of its log, so a recovered record always has its live mark (a crash in
        // between leaves a mark without a record, which only keeps the segment from being
        // reclaimed). A multi-tree transaction would seal sled's I/O buffer twice per version.
        let live = live_entry(rec);
        if let Some(l) = &live {
            self.segments.insert(l.as_slice(), &[][..])?;
        }
        match self
            .versions
            .compare_and_swap(k, None as Option<&[u8]>, Some(encode(rec)))?
        {
            Ok(()) => {
                self.counted(rec, true);
                Ok(())
            }
            Err(clash) => {
                let theirs = clash.current.as_deref().and_then(decode::<VersionRecord>);
                if let Some(l) = live.filter(|l| theirs.as_ref().and_then(live_entry).as_ref() != Some(l)) {
                    // The mark was this entry's alone: the entry did not become a version.
                    self.segments.remove(l.as_slice())?;
                }
                Err(StoreError::invariant(
                    "a version record with this sequence number already exists",
                ))
            }
        }
    }

    /// Read-check-write one version record while its key is locked. `change` sees the entry as
    /// stored and returns the new record (`None`: remove it) and a value for the caller; the
    /// write is a compare-and-swap against exactly what `change` saw.
    async fn modify_version<T>(
        &self,
        guard: &KeyGuard<'_>,
        bucket: &str,
        key: &str,
        seq: u64,
        change: impl FnOnce(VersionEntry) -> StoreResult<(Option<VersionRecord>, T)>,
    ) -> StoreResult<T> {
        if !guard.covers(bucket, key) {
            return Err(guard_mismatch());
        }
        let k = version_key(bucket, key, seq);
        let old = self.versions.get(&k)?.ok_or(StoreError::NoSuchVersion)?;
        let (new, out) = change(Self::entry(bucket, &k, &old))?;
        let new_raw = new.as_ref().map(encode);
        let dead_entry = match (&new, decode::<VersionRecord>(&old)) {
            (None, Some(before)) => live_entry(&before),
            _ => None,
        };
        let changed = if let Some(live) = dead_entry {
            // The record and its segment entry's liveness go together.
            let res = (&self.versions, &self.segments).transaction(|(v, sg)| {
                if v.get(k.as_slice())?.as_deref() != Some(old.as_ref()) {
                    return sled::transaction::abort(());
                }
                v.remove(k.as_slice())?;
                sg.remove(live.as_slice())?;
                sg.insert(removed_key_of(&live), &[][..])?;
                Ok(())
            });
            match res {
                Ok(()) => true,
                Err(sled::transaction::TransactionError::Abort(())) => false,
                Err(sled::transaction::TransactionError::Storage(e)) => return Err(e.into()),
            }
        } else {
            self.versions.compare_and_swap(&k, Some(&old), new_raw)?.is_ok()
        };
        if !changed {
            return Err(StoreError::invariant(
                "the version record changed while its key was locked",
            ));
        }
        if let Some(before) = decode::<VersionRecord>(&old) {
            self.counted(&before, false);
        }
        if let Some(after) = &new {
            self.counted(after, true);
        }
        self.durable().await?;
        Ok(out)
    }

    /// Apply a retention permit: forward only, checked against the record as stored.
    pub async fn set_retention(
        &self,
        guard: &KeyGuard<'_>,
        bucket: &str,
        key: &str,
        seq: u64,
        permit: SetRetention,
    ) -> StoreResult<VersionRecord> {
        self.modify_version(guard, bucket, key, seq, |entry| match entry {
            VersionEntry::Ok(mut rec) if !rec.delete_marker => {
                rec.retention = Some(
                    permit
                        .apply(rec.retention)
                        .map_err(|_| StoreError::RetentionShortened)?,
                );
                Ok((Some((*rec).clone()), *rec))
            }
            _ => Err(StoreError::invariant(
                "retention permit for a record that is not a data version",
            )),
        })
        .await
    }

    /// Apply a legal hold permit to a data version.
    pub async fn set_legal_hold(
        &self,
        guard: &KeyGuard<'_>,
        bucket: &str,
        key: &str,
        seq: u64,
        permit: SetLegalHold,
    ) -> StoreResult<VersionRecord> {
        self.modify_version(guard, bucket, key, seq, |entry| match entry {
            VersionEntry::Ok(mut rec) if !rec.delete_marker => {
                rec.legal_hold = permit.on();
                Ok((Some((*rec).clone()), *rec))
            }
            _ => Err(StoreError::invariant(
                "legal hold permit for a record that is not a data version",
            )),
        })
        .await
    }

    /// Replace the tags of a data version (tags are outside the WORM record, as in AWS). Returns
    /// the record with its tags before the change.
    pub async fn set_tags(
        &self,
        guard: &KeyGuard<'_>,
        bucket: &str,
        key: &str,
        seq: u64,
        tags: BTreeMap<String, String>,
        _permit: SetTags,
    ) -> StoreResult<VersionRecord> {
        self.modify_version(guard, bucket, key, seq, |entry| match entry {
            VersionEntry::Ok(rec) if !rec.delete_marker => {
                let before = (*rec).clone();
                let mut after = *rec;
                after.tags = tags;
                Ok((Some(after), before))
            }
            _ => Err(StoreError::invariant(
                "tagging permit for a record that is not a data version",
            )),
        })
        .await
    }

    /// Remove a delete marker; refuses any record that is not one.
    pub async fn remove_delete_marker(
        &self,
        guard: &KeyGuard<'_>,
        bucket: &str,
        key: &str,
        seq: u64,
        _permit: RemoveMarker,
    ) -> StoreResult<()> {
        self.modify_version(guard, bucket, key, seq, |entry| match entry {
            VersionEntry::Ok(rec) if rec.delete_marker => Ok((None, ())),
            _ => Err(StoreError::invariant(
                "delete-marker permit for a record that is not a marker",
            )),
        })
        .await
    }

    /// Remove an expired data version's record. The `Expired` proof must cover the record as stored;
    /// the blobs it kept alive come back, to be destroyed with the same proof.
    pub async fn remove_expired_version(
        &self,
        guard: &KeyGuard<'_>,
        bucket: &str,
        key: &str,
        seq: u64,
        proof: Expired,
    ) -> StoreResult<ExpiredBlobs> {
        self.modify_version(guard, bucket, key, seq, |entry| match entry {
            VersionEntry::Ok(rec) if proof.covers(rec.target_state()) => Ok((
                None,
                ExpiredBlobs {
                    ids: match &rec.blob {
                        // Segment bytes go only with their whole segment (`empty_segments`).
                        Some(BlobRef::InSegment { .. }) => Vec::new(),
                        _ => rec.blob_ids(),
                    },
                    segment: match &rec.blob {
                        Some(BlobRef::InSegment { segment, .. }) => Some(segment.clone()),
                        _ => None,
                    },
                    _proof: proof,
                },
            )),
            _ => Err(StoreError::NotExpired),
        })
        .await
    }

    /// Prove, under the key's lock, which of `candidates` no record of the key refers to: no version
    /// (data, manifest, part, upstream object or record object), no in-flight upload, no part.
    /// Blobs of a record whose insert reached sled but whose flush failed stay referenced.
    pub fn unreferenced(
        &self,
        guard: &KeyGuard<'_>,
        bucket: &str,
        key: &str,
        candidates: Vec<String>,
    ) -> StoreResult<Unreferenced> {
        if !guard.covers(bucket, key) {
            return Err(guard_mismatch());
        }
        let mut referenced = std::collections::HashSet::new();
        for item in self.versions.scan_prefix(key_prefix(bucket, key)) {
            let (_, raw) = item?;
            match decode::<VersionRecord>(&raw) {
                Some(rec) => {
                    referenced.insert(rec.version_id.clone());
                    referenced.extend(rec.blob_ids());
                }
                // A record that does not decode might reference anything: keep every candidate.
                None => return Ok(Unreferenced { ids: Vec::new() }),
            }
        }
        for item in self.uploads.scan_prefix(key_prefix(bucket, key)) {
            let (k, raw) = item?;
            let Some(u) = decode::<UploadRecord>(&raw) else {
                return Ok(Unreferenced { ids: Vec::new() });
            };
            if u.key != key {
                continue;
            }
            referenced.insert(u.upload_id.clone());
            let mut parts_prefix = k.to_vec();
            parts_prefix.push(0);
            for p in self.parts.scan_prefix(parts_prefix) {
                let (_, praw) = p?;
                match decode::<PartRecord>(&praw) {
                    Some(part) => {
                        referenced.insert(part.blob_id);
                    }
                    None => return Ok(Unreferenced { ids: Vec::new() }),
                }
            }
        }
        Ok(Unreferenced {
            ids: candidates.into_iter().filter(|c| !referenced.contains(c)).collect(),
        })
    }

    /// Prove which of `quiet` (segments the blob store found sealed and unpinned, see
    /// `BlobStore::quiet_segments`) hold no live version: no record refers to an entry in them, and
    /// this catalog removed at least one version from them (`segment_removed_key`) — so a catalog that
    /// never knew a segment (an empty one started in place of a lost catalog) destroys nothing.
    pub fn empty_segments(&self, quiet: Vec<String>) -> StoreResult<EmptySegments> {
        let mut ids = Vec::new();
        for s in quiet {
            let live_prefix = segment_live_key(&s, "");
            if self.segments.get(segment_removed_key(s.as_bytes()))?.is_some()
                && self.segments.scan_prefix(live_prefix).next().transpose()?.is_none()
            {
                ids.push(s);
            }
        }
        Ok(EmptySegments { ids })
    }

    /// Iterate all versions of a bucket in key order (ascending), newest first within a key, starting
    /// at `from` (bytes after the bucket prefix: an object key, inclusive).
    pub fn scan_versions<'a>(
        &'a self,
        bucket: &'a str,
        from: &[u8],
    ) -> impl Iterator<Item = StoreResult<VersionEntry>> + 'a {
        self.scan_versions_raw(bucket, from).map(move |item| {
            let (k, v) = item?;
            Ok(Self::entry(bucket, &k, &v))
        })
    }

    /// Like [`Catalog::scan_versions`], but the raw (sled key, record) pairs: a listing splits the
    /// key with [`split_version_key_ref`] and decodes only the records it shows, and only the fields
    /// it shows (`store::listed`).
    pub fn scan_versions_raw(
        &self,
        bucket: &str,
        from: &[u8],
    ) -> impl Iterator<Item = StoreResult<(sled::IVec, sled::IVec)>> {
        let prefix = bucket_prefix(bucket);
        let mut start = prefix.clone();
        start.extend_from_slice(from);
        let mut end = prefix;
        if let Some(last) = end.last_mut() {
            *last = 1; // bucket \x01 is just past every key of bucket \0 …
        }
        self.versions
            .range(start..end)
            .map(|item| item.map_err(StoreError::from))
    }

    // ---- multipart uploads ----

    /// Key of an upload: `bucket \0 key \0 upload_id`.
    pub fn upload_key(bucket: &str, key: &str, upload_id: &str) -> Vec<u8> {
        let mut k = key_prefix(bucket, key);
        k.extend_from_slice(upload_id.as_bytes());
        k
    }

    fn part_key(upload_key: &[u8], part: u32) -> Vec<u8> {
        let mut k = upload_key.to_vec();
        k.push(0);
        k.extend_from_slice(&part.to_be_bytes());
        k
    }

    pub async fn put_upload(&self, rec: &UploadRecord) -> StoreResult<()> {
        self.uploads
            .insert(Self::upload_key(&rec.bucket, &rec.key, &rec.upload_id), encode(rec))?;
        self.durable().await
    }

    pub fn upload(&self, bucket: &str, key: &str, upload_id: &str) -> StoreResult<Option<UploadRecord>> {
        match self.uploads.get(Self::upload_key(bucket, key, upload_id))? {
            None => Ok(None),
            Some(raw) => decode(&raw).map(Some).ok_or_else(|| StoreError::Corrupt {
                what: "upload record".into(),
            }),
        }
    }

    /// All uploads of a bucket in (key, upload id) order.
    pub fn uploads_of(&self, bucket: &str) -> StoreResult<Vec<UploadRecord>> {
        let mut out = Vec::new();
        for item in self.uploads.scan_prefix(bucket_prefix(bucket)) {
            let (_, v) = item?;
            if let Some(u) = decode::<UploadRecord>(&v) {
                out.push(u);
            }
        }
        Ok(out)
    }

    /// Record a part; returns the part it replaced (prove its blob unreferenced before discarding).
    pub async fn put_part(
        &self,
        guard: &KeyGuard<'_>,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part: &PartRecord,
    ) -> StoreResult<Option<PartRecord>> {
        if !guard.covers(bucket, key) {
            return Err(guard_mismatch());
        }
        let uk = Self::upload_key(bucket, key, upload_id);
        let old = self.parts.insert(Self::part_key(&uk, part.part_number), encode(part))?;
        self.durable().await?;
        Ok(old.and_then(|o| decode(&o)))
    }

    /// Parts of an upload, by part number.
    pub fn parts_of(&self, bucket: &str, key: &str, upload_id: &str) -> StoreResult<Vec<PartRecord>> {
        let mut prefix = Self::upload_key(bucket, key, upload_id);
        prefix.push(0);
        let mut out = Vec::new();
        for item in self.parts.scan_prefix(prefix) {
            let (_, v) = item?;
            out.push(decode::<PartRecord>(&v).ok_or_else(|| StoreError::Corrupt {
                what: "part record".into(),
            })?);
        }
        Ok(out)
    }

    /// Atomically drop an upload and its part records (abort, or after completion). Returns false if
    /// the upload was already gone.
    fn remove_upload_tx(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        version: Option<&VersionRecord>,
    ) -> StoreResult<bool> {
        let uk = Self::upload_key(bucket, key, upload_id);
        let part_keys: Vec<Vec<u8>> = {
            let mut prefix = uk.clone();
            prefix.push(0);
            self.parts
                .scan_prefix(prefix)
                .keys()
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .map(|k| k.to_vec())
                .collect()
        };
        let version_kv = version.map(|v| (version_key(&v.bucket, &v.key, v.seq), encode(v)));
        let completed_kv = version.map(|v| (completed_key(&uk), v.seq.to_be_bytes()));
        let res = (&self.uploads, &self.parts, &self.versions, &self.state).transaction(|(u, p, v, st)| {
            if u.remove(uk.as_slice())?.is_none() {
                return sled::transaction::abort(());
            }
            for k in &part_keys {
                p.remove(k.as_slice())?;
            }
            if let Some((k, val)) = &version_kv {
                v.insert(k.as_slice(), val.as_slice())?;
            }
            if let Some((k, seq)) = &completed_kv {
                st.insert(k.as_slice(), &seq[..])?;
            }
            Ok(())
        });
        match res {
            Ok(()) => {
                if let Some(v) = version {
                    self.counted(v, true);
                }
                Ok(true)
            }
            Err(sled::transaction::TransactionError::Abort(())) => Ok(false),
            Err(sled::transaction::TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    /// Abort: the upload and its parts disappear in one step.
    pub async fn abort_upload(&self, bucket: &str, key: &str, upload_id: &str) -> StoreResult<bool> {
        let ok = self.remove_upload_tx(bucket, key, upload_id, None)?;
        self.durable().await?;
        Ok(ok)
    }

    /// Complete: the version appears and the upload disappears in one transaction, so its part blobs
    /// are never both a version and reclaimable.
    /// `None` when the upload was already gone.
    pub async fn complete_upload(
        &self,
        guard: &KeyGuard<'_>,
        upload_id: &str,
        mut version: VersionRecord,
        permit: NewVersion,
    ) -> StoreResult<Option<VersionRecord>> {
        if !guard.covers(&version.bucket, &version.key) || version.delete_marker {
            return Err(guard_mismatch());
        }
        version.retention = Some(permit.retention());
        version.legal_hold = permit.legal_hold();
        let ok = self.remove_upload_tx(&version.bucket, &version.key, upload_id, Some(&version))?;
        self.durable().await?;
        Ok(ok.then_some(version))
    }

    /// The version a completed upload became (its seq), so that a repeated completion (an SDK retrying
    /// a Complete whose answer was lost) answers the same success instead of `NoSuchUpload`. Written
    /// in the completion's transaction; kept with the catalog state (a few dozen bytes per upload).
    pub fn completed_upload(&self, bucket: &str, key: &str, upload_id: &str) -> StoreResult<Option<u64>> {
        let k = completed_key(&Self::upload_key(bucket, key, upload_id));
        Ok(self
            .state
            .get(k)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map(u64::from_be_bytes))
    }

    /// Iterate every version in the catalog (reports, scrub).
    pub fn all_versions(&self) -> impl Iterator<Item = StoreResult<(Vec<u8>, Option<VersionRecord>)>> + '_ {
        self.versions.iter().map(|item| {
            let (k, v) = item?;
            Ok((k.to_vec(), decode::<VersionRecord>(&v)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::make_version_id;

    /// The lock policy of these tests: a one-day retention floor.
    fn one_day_floor() -> crate::lock::Policy {
        crate::lock::Policy {
            min_retention: chrono::Duration::days(1),
            max_retention: chrono::Duration::days(3650),
            require_client_digest: false,
        }
    }

    /// The permit for a new version written at `at` with no lock headers and no bucket default (so
    /// retained for `one_day_floor`'s day from `at`).
    fn permit_at(at: chrono::DateTime<chrono::Utc>) -> crate::lock::NewVersion {
        let ask = crate::lock::VersionAsk {
            headers: crate::lock::LockHeaders::default(),
            bucket_default: None,
            has_client_digest: true,
        };
        crate::lock::decide_new_version(&ask, &one_day_floor(), crate::lock::TrustedNow::for_test(at, true)).unwrap()
    }

    /// Version `seq` of `b/k`.
    fn version_of_k(seq: u64) -> NewVersionId {
        NewVersionId {
            bucket: "b".into(),
            key: "k".into(),
            version_id: make_version_id(1, seq),
            seq,
            created_ms: 1,
            owner: "o".into(),
        }
    }

    /// Data version `seq` of `b/k`, its bytes a blob of its own.
    fn data_version(seq: u64) -> VersionRecord {
        let mut rec = VersionRecord::delete_marker(version_of_k(seq));
        rec.delete_marker = false;
        rec.blob = Some(BlobRef::Single {
            id: rec.version_id.clone(),
        });
        rec
    }

    /// Data version `seq` of `b/k`, its bytes entry `id` of segment `segment`.
    fn segment_version(seq: u64, id: &str, segment: &str) -> VersionRecord {
        let mut rec = data_version(seq);
        rec.blob = Some(BlobRef::InSegment {
            id: id.into(),
            segment: segment.into(),
            offset: 40,
            len: 3,
        });
        rec
    }

    fn bucket(name: &str) -> BucketRecord {
        BucketRecord {
            name: name.into(),
            created_ms: 1,
            owner: "o".into(),
            default_retention: None,
            lifecycle: None,
        }
    }

    /// `PutObjectLockConfiguration` that read the bucket before a `DeleteBucket` landed must not bring
    /// the bucket record back (it used to write the whole record it had read).
    #[tokio::test]
    async fn lock_configuration_after_delete_bucket_does_not_resurrect_it() {
        let dir = tempfile::tempdir().unwrap();
        let cat = Catalog::open(&dir.path().join("catalog")).unwrap();
        assert!(cat.create_bucket(&bucket("b")).await.unwrap());
        // The permit was decided while the bucket existed ...
        let permit = crate::lock::decide_lock_configuration(
            Some(crate::lock::RequestedMode::Compliance),
            Some(crate::lock::DefaultRetention::Days(30)),
            &one_day_floor(),
        )
        .unwrap();
        // ... then the bucket went away.
        let locks = super::super::locks::KeyLocks::new();
        let all = locks.all().await;
        cat.delete_bucket("b", &all, crate::lock::decide_delete_bucket(false).unwrap())
            .await
            .unwrap();
        drop(all);
        let err = cat.set_lock_configuration("b", permit).await.unwrap_err();
        assert!(
            matches!(err, StoreError::NoSuchBucket { ref bucket } if bucket == "b"),
            "{err}"
        );
        assert_eq!(cat.bucket("b").unwrap(), None);
        assert!(cat.list_buckets().unwrap().is_empty());
    }

    /// A version record is changed only under the lock of its own key.
    #[tokio::test]
    async fn mutations_need_the_guard_of_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let cat = Catalog::open(&dir.path().join("catalog")).unwrap();
        let locks = super::super::locks::KeyLocks::new();
        let other = locks.key("b", "other").await;
        let id = version_of_k(1);
        let err = cat
            .insert_delete_marker(&other, id.clone(), crate::lock::decide_add_marker())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotLocked), "{err}");
        assert!(cat.latest("b", "k").unwrap().is_none());
        drop(other);
        let g = locks.key("b", "k").await;
        cat.insert_delete_marker(&g, id, crate::lock::decide_add_marker())
            .await
            .unwrap();
        assert!(cat.latest("b", "k").unwrap().is_some());
    }

    /// The permits bind to the record as stored: an `Expired` proof cannot remove a version that is
    /// protected (held, or retained at the proof's time), and a marker permit removes only markers.
    #[tokio::test]
    async fn permits_are_checked_against_the_stored_record() {
        use crate::lock::{decide_delete_version, decide_legal_hold, TrustedNow, VersionRemoval};
        let dir = tempfile::tempdir().unwrap();
        let cat = Catalog::open(&dir.path().join("catalog")).unwrap();
        let locks = super::super::locks::KeyLocks::new();
        let g = locks.key("b", "k").await;
        let now = chrono::Utc::now();
        let clock = TrustedNow::for_test(now, true);
        let stored = cat.insert_version(&g, data_version(5), permit_at(now)).await.unwrap();
        assert!(stored.retention.is_some_and(|r| r.is_active(now)));
        // A proof made for an unprotected version elsewhere does not cover this retained one.
        let unprotected = crate::lock::TargetState::Data {
            retention: None,
            legal_hold: false,
        };
        let Ok(VersionRemoval::Data(proof)) = decide_delete_version(unprotected, clock) else {
            panic!("an unprotected version may be removed");
        };
        let err = cat.remove_expired_version(&g, "b", "k", 5, proof).await.unwrap_err();
        assert!(matches!(err, StoreError::NotExpired), "{err}");
        assert!(cat.version("b", "k", 5).unwrap().is_some());
        // A marker permit does not remove data.
        let Ok(VersionRemoval::Marker(m)) = decide_delete_version(crate::lock::TargetState::DeleteMarker, clock) else {
            panic!("a marker may be removed");
        };
        assert!(cat.remove_delete_marker(&g, "b", "k", 5, m).await.is_err());
        assert!(cat.version("b", "k", 5).unwrap().is_some());
        // Legal hold on: even a proof judged far in the future does not cover it.
        let hold = decide_legal_hold(stored.target_state(), true).unwrap();
        let held = cat.set_legal_hold(&g, "b", "k", 5, hold).await.unwrap();
        let later = TrustedNow::for_test(now + chrono::Duration::days(10_000), true);
        let Ok(VersionRemoval::Data(proof)) = decide_delete_version(unprotected, later) else {
            panic!("an unprotected version may be removed");
        };
        assert!(!proof.covers(held.target_state()));
        assert!(cat.remove_expired_version(&g, "b", "k", 5, proof).await.is_err());
        assert!(cat.version("b", "k", 5).unwrap().is_some());
    }

    /// A new version's live mark is written before its record (two single-key writes, no
    /// transaction): a repeated insert of the very same entry keeps the mark its record needs, a
    /// clash from another entry takes back only its own, the state a crash between the two writes
    /// can leave (a mark without a record) keeps the segment rather than freeing it, and a record
    /// found without its mark gets it back at the next open.
    #[tokio::test]
    async fn a_new_versions_live_mark_comes_first_and_a_clash_takes_back_only_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let cat = Catalog::open(&dir.path().join("catalog")).unwrap();
        let locks = super::super::locks::KeyLocks::new();
        let g = locks.key("b", "k").await;
        let now = chrono::Utc::now();
        let first = segment_version(1, "e1", "sa");
        let mark = live_entry(&first).unwrap();
        cat.insert_version(&g, first.clone(), permit_at(now)).await.unwrap();
        assert!(cat.segments.get(&mark).unwrap().is_some());
        // The same entry once more: refused, and the first record keeps its mark.
        assert!(cat.insert_version(&g, first.clone(), permit_at(now)).await.is_err());
        assert!(
            cat.segments.get(&mark).unwrap().is_some(),
            "the record's own mark stays"
        );
        // Another entry into the taken slot: refused, and its mark does not linger.
        let other = segment_version(1, "e2", "sb");
        assert!(cat.insert_version(&g, other.clone(), permit_at(now)).await.is_err());
        assert!(cat.segments.get(live_entry(&other).unwrap()).unwrap().is_none());
        // A crash between mark and record: a removal mark and a live mark without any record
        // still prove nothing empty.
        cat.segments.insert(segment_live_key("sd", "e9"), &[][..]).unwrap();
        cat.segments.insert(segment_removed_key(b"sd"), &[][..]).unwrap();
        assert!(cat.empty_segments(vec!["sd".into()]).unwrap().ids().is_empty());
        assert!(cat.empty_segments(vec!["sa".into()]).unwrap().ids().is_empty());
        // The other order, which sled's prefix recovery should never show (a record whose mark was
        // lost): the next open puts the mark back before anything can prove the segment empty.
        let lost = segment_version(7, "e7", "se");
        let lost_mark = live_entry(&lost).unwrap();
        cat.versions.insert(version_key("b", "k", 7), encode(&lost)).unwrap();
        cat.segments.insert(segment_removed_key(b"se"), &[][..]).unwrap();
        assert_eq!(
            cat.empty_segments(vec!["se".into()]).unwrap().ids(),
            ["se"],
            "the torn state"
        );
        cat.flush_now().unwrap();
        drop(g);
        drop(cat);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let cat = Catalog::open(&dir.path().join("catalog")).unwrap();
        assert!(cat.segments.get(&lost_mark).unwrap().is_some(), "mark put back at open");
        assert!(cat.empty_segments(vec!["se".into()]).unwrap().ids().is_empty());
    }

    /// A segment holds a live entry while a record refers to it: the `segments` tree changes with
    /// the record (insert, a retention change, removal with `Expired`), and a reopened catalog says
    /// the same.
    #[tokio::test]
    async fn a_segment_is_empty_only_when_no_record_refers_to_an_entry_in_it() {
        use crate::lock::{decide_delete_version, TrustedNow, VersionRemoval};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog");
        let cat = Catalog::open(&path).unwrap();
        let locks = super::super::locks::KeyLocks::new();
        let g = locks.key("b", "k").await;
        let now = chrono::Utc::now();
        let make = |seq: u64, segment: &str| segment_version(seq, &make_version_id(1, seq), segment);
        let both = || vec!["sa".to_string(), "sb".to_string(), "sc".to_string()];
        // A catalog that never knew these segments proves none of them empty.
        assert!(cat.empty_segments(both()).unwrap().ids().is_empty());
        for (seq, seg) in [(1, "sa"), (2, "sb"), (3, "sb")] {
            cat.insert_version(&g, make(seq, seg), permit_at(now)).await.unwrap();
        }
        assert!(cat.empty_segments(both()).unwrap().ids().is_empty());
        // A second insert into a taken slot changes nothing (no overwrite).
        assert!(cat.insert_version(&g, make(1, "sc"), permit_at(now)).await.is_err());
        assert!(cat.empty_segments(both()).unwrap().ids().is_empty());
        // Removing expired versions frees their segments only when the last one goes (sc, which no
        // version of this catalog ever used, is never proven empty).
        let later = TrustedNow::for_test(now + chrono::Duration::days(2), true);
        // sb keeps 3 to the end; the catalog is reopened after the removal of 1.
        for (seq, want) in [(2, Vec::<&str>::new()), (1, vec!["sa"])] {
            let state = match cat.version("b", "k", seq).unwrap() {
                Some(VersionEntry::Ok(r)) => r.target_state(),
                other => panic!("{other:?}"),
            };
            let Ok(VersionRemoval::Data(proof)) = decide_delete_version(state, later) else {
                panic!("expired");
            };
            let gone = cat.remove_expired_version(&g, "b", "k", seq, proof).await.unwrap();
            assert!(gone.ids().is_empty(), "segment bytes go only with their segment");
            assert!(gone.segment().is_some());
            assert_eq!(cat.empty_segments(both()).unwrap().ids(), want.as_slice());
            if seq == 1 {
                drop(g);
                drop(cat);
                // The flusher task lets go of its handle once it sees the channel closed.
                tokio::task::yield_now().await;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                let cat2 = Catalog::open(&path).unwrap();
                assert_eq!(cat2.empty_segments(both()).unwrap().ids(), ["sa"], "after a reopen");
                return;
            }
        }
    }

    /// The usage counters follow every insert and removal of a data version (markers do not count),
    /// and a reopened catalog recounts the same numbers.
    #[tokio::test]
    async fn usage_counters_follow_the_records_and_survive_a_reopen() {
        use crate::lock::{decide_delete_version, TrustedNow, VersionRemoval};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog");
        let locks = super::super::locks::KeyLocks::new();
        let now = chrono::Utc::now();
        let data = |seq: u64, size: u64| {
            let mut r = data_version(seq);
            r.size = size;
            r
        };
        {
            let cat = Catalog::open(&path).unwrap();
            let g = locks.key("b", "k").await;
            // Written ten days ago with the one-day floor: expired now.
            cat.insert_version(&g, data(1, 100), permit_at(now - chrono::Duration::days(10)))
                .await
                .unwrap();
            cat.insert_version(&g, data(2, 7), permit_at(now)).await.unwrap();
            cat.insert_delete_marker(&g, version_of_k(3), crate::lock::decide_add_marker())
                .await
                .unwrap();
            assert_eq!(
                cat.capacity().usage("b"),
                Usage {
                    bytes: 107,
                    versions: 2
                }
            );
            let state = cat.version("b", "k", 1).unwrap().unwrap().target_state();
            let Ok(VersionRemoval::Data(proof)) = decide_delete_version(state, TrustedNow::for_test(now, true)) else {
                panic!("the old version has expired");
            };
            let _blobs = cat.remove_expired_version(&g, "b", "k", 1, proof).await.unwrap();
            assert_eq!(cat.capacity().usage("b"), Usage { bytes: 7, versions: 1 });
            cat.set_quota(
                "b",
                Some(Quota {
                    bytes: Some(50),
                    versions: None,
                }),
            )
            .await
            .unwrap();
            cat.flush_now().unwrap();
        }
        // Let the flusher task see its channel close and release the database.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let cat = Catalog::open(&path).unwrap();
        assert_eq!(cat.capacity().usage("b"), Usage { bytes: 7, versions: 1 });
        assert_eq!(
            cat.capacity().quota("b").map(|q| q.0),
            Some(Quota {
                bytes: Some(50),
                versions: None
            })
        );
        let err = cat
            .capacity()
            .reserve("b", Usage { bytes: 44, versions: 1 })
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::QuotaExceeded { .. }), "{err}");
    }

    #[test]
    fn newest_sorts_first() {
        assert!(version_key("b", "k", 10) < version_key("b", "k", 9));
        assert!(version_key("b", "a", 1) < version_key("b", "b", 100));
        assert_eq!(
            split_version_key(1, &version_key("b", "a/b", 7)),
            Some(("a/b".to_string(), 7))
        );
    }
}
