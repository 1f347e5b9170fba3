//! Catalog snapshots for `wormgate recover`: read whatever an old catalog still holds, and write a
//! *new* catalog directory from recovered records. This is the one place besides `meta` that knows
//! sled's layout; it never changes an existing catalog (the new one is written beside it and swapped
//! in by the caller), so a running gateway's records are only ever changed through `meta`'s permits.

use super::meta::{live_entry, version_key, STATE_TREE, TREES, WATERMARK_KEY};
use super::records::{decode, encode, BucketRecord, VersionRecord};
use std::path::Path;

/// Everything readable from an existing catalog.
#[derive(Debug, Default)]
pub struct CatalogSnapshot {
    pub versions: Vec<VersionRecord>,
    pub buckets: Vec<BucketRecord>,
    /// Gateway state (audit anchor, alarms, …) as stored.
    pub state: Vec<(Vec<u8>, Vec<u8>)>,
    /// In-flight uploads as stored.
    pub uploads: Vec<(Vec<u8>, Vec<u8>)>,
    pub watermark_ms: i64,
}

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Another process (a running gateway) holds the catalog.
    #[error("the catalog is in use by another process: {0}")]
    InUse(String),
    /// The catalog opened but a tree of it cannot be read.
    #[error("the old catalog cannot be read")]
    Storage(#[source] sled::Error),
}

/// Why a new catalog could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// The target directory exists: a rebuilt catalog is never written over anything.
    #[error("{} already exists; a rebuilt catalog is always new", dir.display())]
    Exists { dir: std::path::PathBuf },
    /// The new catalog cannot be created.
    #[error("cannot create the new catalog")]
    Create(#[source] sled::Error),
    /// Writing or flushing the new catalog failed.
    #[error("writing the new catalog failed")]
    Write(#[from] sled::Error),
}

/// What a rebuilt catalog holds.
pub struct CatalogImage<'a> {
    pub versions: Vec<&'a VersionRecord>,
    pub buckets: Vec<&'a BucketRecord>,
    pub state: &'a [(Vec<u8>, Vec<u8>)],
    pub uploads: &'a [(Vec<u8>, Vec<u8>)],
    pub watermark_ms: i64,
    /// Sequence numbers up to this one are never handed out again.
    pub max_seq: u64,
}

/// Whether a sled open failed because another process holds the catalog.
pub fn is_lock_error(msg: &str) -> bool {
    msg.contains("could not acquire lock")
        || msg.contains("WouldBlock")
        || msg.contains("Resource temporarily unavailable")
}

/// Read an old catalog. `Ok(None)` when it is absent or does not open (recovery goes on without it).
pub fn read_snapshot(dir: &Path) -> Result<Option<CatalogSnapshot>, SnapshotError> {
    if !dir.exists() {
        return Ok(None);
    }
    let db = match sled::Config::new().path(dir).open() {
        Ok(db) => db,
        Err(e) => {
            let msg = e.to_string();
            if is_lock_error(&msg) {
                return Err(SnapshotError::InUse(msg));
            }
            tracing::warn!(error = %msg, "old catalog does not open; rebuilding without it");
            return Ok(None);
        }
    };
    let tree = |n: &str| db.open_tree(n).map_err(SnapshotError::Storage);
    let mut old = CatalogSnapshot::default();
    for (_, v) in tree(TREES.versions)?.iter().flatten() {
        if let Some(r) = decode::<VersionRecord>(&v) {
            old.versions.push(r);
        }
    }
    for (_, v) in tree(TREES.buckets)?.iter().flatten() {
        if let Some(b) = decode::<BucketRecord>(&v) {
            old.buckets.push(b);
        }
    }
    for (k, v) in tree(STATE_TREE)?.iter().flatten() {
        if k.as_ref() == WATERMARK_KEY {
            old.watermark_ms = v.as_ref().try_into().ok().map_or(0, i64::from_be_bytes);
        }
        old.state.push((k.to_vec(), v.to_vec()));
    }
    for (k, v) in tree(TREES.uploads)?.iter().flatten() {
        old.uploads.push((k.to_vec(), v.to_vec()));
    }
    Ok(Some(old))
}

/// Write `image` into the new catalog directory `dir`, which must not exist yet, and flush it.
/// `extra_state` runs last on the state tree (the audit anchor).
pub fn write_new(
    dir: &Path,
    image: &CatalogImage<'_>,
    extra_state: impl FnOnce(&sled::Tree),
) -> Result<(), RebuildError> {
    if dir.exists() {
        return Err(RebuildError::Exists { dir: dir.to_path_buf() });
    }
    let db = sled::Config::new().path(dir).open().map_err(RebuildError::Create)?;
    let t = |n: &str| db.open_tree(n);
    let (tv, tb, ts, tu) = (t(TREES.versions)?, t(TREES.buckets)?, t(STATE_TREE)?, t(TREES.uploads)?);
    let tsg = t(TREES.segments)?;
    for v in &image.versions {
        tv.insert(version_key(&v.bucket, &v.key, v.seq), encode(*v))?;
        // A version held in a segment keeps that segment alive (see `meta::EmptySegments`).
        if let Some(live) = live_entry(v) {
            tsg.insert(live, &[][..])?;
        }
    }
    for b in &image.buckets {
        tb.insert(b.name.as_bytes(), encode(*b))?;
    }
    for (k, v) in image.state {
        ts.insert(k.as_slice(), v.as_slice())?;
    }
    for (k, v) in image.uploads {
        tu.insert(k.as_slice(), v.as_slice())?;
    }
    ts.insert(WATERMARK_KEY, image.watermark_ms.to_be_bytes().to_vec())?;
    extra_state(&ts);
    // Sequence numbers must never be handed out again.
    while db.generate_id()? < image.max_seq {}
    db.flush()?;
    Ok(())
}
