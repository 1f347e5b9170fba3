//! Admission of writes that add bytes (`PutObject`, `UploadPart`, `UploadPartCopy`, `CompleteMultipartUpload`,
//! CopyObject): the free-space reserve of the data volume and the bucket's quota, checked before a
//! body byte is read, and again while a body of unknown length streams in.

use super::Gateway;
use crate::auth::body::ChunkSink;
use crate::s3::error::S3Result;
use crate::store::capacity::{DiskReserve, Reservation, Usage};
use crate::store::{BlobStore, BlobWriter};

impl Gateway {
    /// The free-space reserve, if `serve` set one.
    pub fn disk_reserve(&self) -> Option<&DiskReserve> {
        self.reserve.get()
    }

    /// Whether new blobs land on the data volume (disk mode) rather than upstream.
    pub(super) fn blobs_are_local(&self) -> bool {
        matches!(self.blobs, BlobStore::Disk(_))
    }

    /// Refuse with 507 when the data volume is at its reserve, counting `incoming` bytes that will
    /// land on it (none in upstream mode: there the reserve guards the catalog and audit trail).
    pub(super) fn check_reserve(&self, incoming: u64) -> S3Result<()> {
        match self.disk_reserve() {
            None => Ok(()),
            Some(r) => Ok(r.check(if self.blobs_are_local() { incoming } else { 0 })?),
        }
    }

    /// Admit a write of `len` bytes (`None`: not known yet) that will make `versions` new versions
    /// in `bucket`: the reserve first, then the quota. The returned reservation holds the room until
    /// the version is counted (or the write failed).
    pub(super) fn admit_write(&self, bucket: &str, len: Option<u64>, versions: u64) -> S3Result<Reservation> {
        self.check_reserve(len.unwrap_or(0))?;
        Ok(self.catalog.capacity().reserve(
            bucket,
            Usage {
                bytes: len.unwrap_or(0),
                versions,
            },
        )?)
    }
}

/// A blob writer whose bytes count against a reservation as they arrive: a body longer than it
/// claimed, or of unknown length, is stopped the moment it would pass the bucket's quota.
pub(super) struct Metered<'a> {
    pub writer: &'a mut BlobWriter,
    pub room: &'a mut Reservation,
    pub written: u64,
}

impl<'a> Metered<'a> {
    pub(super) fn new(writer: &'a mut BlobWriter, room: &'a mut Reservation) -> Self {
        Metered {
            writer,
            room,
            written: 0,
        }
    }
}

/// Stream a verified body into a blob writer, metered against the reservation; on any failure the
/// writer is aborted, so nothing of a refused or broken body stays. The writer comes back for commit.
pub(super) async fn ingest_metered(
    body: &mut crate::auth::body::VerifiedBody,
    mut writer: BlobWriter,
    room: &mut Reservation,
    max_len: u64,
    store_alg: Option<crate::checksum::ChecksumAlgorithm>,
) -> S3Result<(crate::checksum::ComputedDigests, BlobWriter)> {
    let streamed = body
        .stream_into(&mut Metered::new(&mut writer, room), max_len, store_alg)
        .await;
    match streamed {
        Ok(c) => Ok((c, writer)),
        Err(e) => {
            writer.abort().await;
            Err(e.into())
        }
    }
}

impl ChunkSink for Metered<'_> {
    type Error = crate::s3::error::S3Error;
    async fn write(&mut self, data: bytes::Bytes) -> S3Result<()> {
        self.written += data.len() as u64;
        self.room.grow_to(self.written)?;
        Ok(self.writer.write_bytes(data).await?)
    }
}
