//! Blob stores hold the bytes of versions under never-reused ids. There is no overwrite, and removal
//! needs the `Expired` proof that only `lock::decide` can produce.

pub mod disk;
pub mod upstream;

use crate::lock::{Expired, Permit};
use crate::s3::error::S3Result;
use crate::store::VersionRecord;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;

/// The configured backend.
#[derive(Clone)]
pub enum BlobStore {
    Disk(disk::DiskBlobs),
    Upstream(upstream::UpstreamBlobs),
}

/// An in-progress write of a new blob; nothing is visible until `commit`.
pub enum BlobWriter {
    Disk(disk::DiskWriter),
    Upstream(upstream::UpstreamWriter),
}

/// What the writer of a new blob knows before the bytes arrive. The disk backend ignores it; the
/// upstream backend streams when `len` is known (else spools first) and, when the upstream bucket
/// has Object Lock, sends `retain_until` / `legal_hold` with the PUT.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlobHints {
    /// Exact number of bytes that will be written.
    pub len: Option<u64>,
    /// Retention of the version this blob belongs to, as first decided (commit may extend it).
    pub retain_until: Option<DateTime<Utc>>,
    pub legal_hold: bool,
}

impl BlobHints {
    /// Only the length (multipart parts, manifests, copies).
    pub fn len(len: Option<u64>) -> Self {
        BlobHints {
            len,
            ..Default::default()
        }
    }

    /// The length and the lock state of a `Permit::NewVersion`.
    pub fn new_version(len: Option<u64>, permit: &Permit) -> Self {
        match permit {
            Permit::NewVersion { retention, legal_hold } => BlobHints {
                len,
                retain_until: Some(retention.retain_until()),
                legal_hold: *legal_hold,
            },
            _ => BlobHints::len(len),
        }
    }
}

/// Blob ids are ASCII letters, digits, `-` and `_` (they become file names and upstream keys).
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl BlobStore {
    /// Start writing a new blob. Fails if `id` already exists (no overwrite, ever).
    pub async fn begin(&self, id: &str, hints: BlobHints) -> S3Result<BlobWriter> {
        match self {
            BlobStore::Disk(d) => Ok(BlobWriter::Disk(d.begin(id).await?)),
            BlobStore::Upstream(u) => Ok(BlobWriter::Upstream(u.begin(id, hints).await?)),
        }
    }

    /// Mirror a retention extension into the backend's own lock (upstream Object Lock); called
    /// before the catalog records it, so the client never hears success before the mirror.
    pub async fn mirror_retention(&self, rec: &VersionRecord, until: DateTime<Utc>) -> S3Result<()> {
        match self {
            BlobStore::Disk(_) => Ok(()),
            BlobStore::Upstream(u) => u.mirror_retention(rec, until).await,
        }
    }

    /// Mirror a legal hold change, like `mirror_retention`.
    pub async fn mirror_legal_hold(&self, rec: &VersionRecord, on: bool) -> S3Result<()> {
        match self {
            BlobStore::Disk(_) => Ok(()),
            BlobStore::Upstream(u) => u.mirror_legal_hold(rec, on).await,
        }
    }

    /// Stream `len` bytes starting at `offset` of blob `id`.
    pub async fn read(&self, id: &str, offset: u64, len: u64) -> S3Result<BoxStream<'static, std::io::Result<Bytes>>> {
        match self {
            BlobStore::Disk(d) => d.read(id, offset, len).await,
            BlobStore::Upstream(u) => u.read(id, offset, len).await,
        }
    }

    /// Whether a blob exists (scrub, recovery).
    pub async fn exists(&self, id: &str) -> S3Result<bool> {
        match self {
            BlobStore::Disk(d) => d.exists(id).await,
            BlobStore::Upstream(u) => u.exists(id).await,
        }
    }

    /// Destroy a blob whose version expired.
    pub async fn remove(&self, id: &str, proof: &Expired) -> S3Result<()> {
        match self {
            BlobStore::Disk(d) => d.remove(id, proof).await,
            BlobStore::Upstream(u) => u.remove(id, proof).await,
        }
    }

    /// Remove a blob that never became a version (aborted upload part; crash leftovers). Refuses ids
    /// that the caller could not prove unreferenced — the caller checks the catalog first.
    pub async fn discard_unreferenced(&self, id: &str) -> S3Result<()> {
        match self {
            BlobStore::Disk(d) => d.discard_unreferenced(id).await,
            BlobStore::Upstream(u) => u.discard_unreferenced(id).await,
        }
    }
}

impl BlobWriter {
    pub async fn write(&mut self, data: &[u8]) -> S3Result<()> {
        match self {
            BlobWriter::Disk(w) => w.write(data).await,
            BlobWriter::Upstream(w) => w.write(data).await,
        }
    }

    /// Make the blob durable and visible under its id. `sidecar` is the version record (second copy
    /// for `wormgate recover`), written durably before the blob appears.
    pub async fn commit(self, sidecar: &[u8]) -> S3Result<()> {
        match self {
            BlobWriter::Disk(w) => w.commit(sidecar).await,
            BlobWriter::Upstream(w) => w.commit(sidecar).await,
        }
    }

    /// Throw the partial blob away.
    pub async fn abort(self) {
        match self {
            BlobWriter::Disk(w) => w.abort().await,
            BlobWriter::Upstream(w) => w.abort().await,
        }
    }
}
