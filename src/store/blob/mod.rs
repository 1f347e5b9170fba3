//! Blob stores hold the bytes of versions under never-reused ids. There is no overwrite, and removal
//! needs the `Expired` proof that only `lock::decide` can produce.

pub mod disk;

use crate::lock::Expired;
use crate::s3::error::S3Result;
use bytes::Bytes;
use futures_util::stream::BoxStream;

/// The configured backend.
#[derive(Clone)]
pub enum BlobStore {
    Disk(disk::DiskBlobs),
}

/// An in-progress write of a new blob; nothing is visible until `commit`.
pub enum BlobWriter {
    Disk(disk::DiskWriter),
}

impl BlobStore {
    /// Start writing a new blob. Fails if `id` already exists (no overwrite, ever).
    pub async fn begin(&self, id: &str) -> S3Result<BlobWriter> {
        match self {
            BlobStore::Disk(d) => Ok(BlobWriter::Disk(d.begin(id).await?)),
        }
    }

    /// Stream `len` bytes starting at `offset` of blob `id`.
    pub async fn read(&self, id: &str, offset: u64, len: u64) -> S3Result<BoxStream<'static, std::io::Result<Bytes>>> {
        match self {
            BlobStore::Disk(d) => d.read(id, offset, len).await,
        }
    }

    /// Whether a blob exists (scrub, recovery).
    pub async fn exists(&self, id: &str) -> S3Result<bool> {
        match self {
            BlobStore::Disk(d) => d.exists(id).await,
        }
    }

    /// Destroy a blob whose version expired.
    pub async fn remove(&self, id: &str, proof: &Expired) -> S3Result<()> {
        match self {
            BlobStore::Disk(d) => d.remove(id, proof).await,
        }
    }

    /// Remove a blob that never became a version (aborted upload part; crash leftovers). Refuses ids
    /// that the caller could not prove unreferenced — the caller checks the catalog first.
    pub async fn discard_unreferenced(&self, id: &str) -> S3Result<()> {
        match self {
            BlobStore::Disk(d) => d.discard_unreferenced(id).await,
        }
    }
}

impl BlobWriter {
    pub async fn write(&mut self, data: &[u8]) -> S3Result<()> {
        match self {
            BlobWriter::Disk(w) => w.write(data).await,
        }
    }

    /// Make the blob durable and visible under its id. `sidecar` is the version record (second copy
    /// for `wormgate recover`), written durably before the blob appears.
    pub async fn commit(self, sidecar: &[u8]) -> S3Result<()> {
        match self {
            BlobWriter::Disk(w) => w.commit(sidecar).await,
        }
    }

    /// Throw the partial blob away.
    pub async fn abort(self) {
        match self {
            BlobWriter::Disk(w) => w.abort().await,
        }
    }
}
