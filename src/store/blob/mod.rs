//! Blob stores hold the bytes of versions under never-reused ids. There is no overwrite, and bytes
//! are destroyed only with a proof the catalog hands out: [`ExpiredBlobs`] (the version's record was
//! removed with the `Expired` permit that only `lock` makes) or [`Unreferenced`] (checked under the
//! key's lock that nothing refers to the blob).

pub mod disk;
mod disk_read;
pub mod disk_writer;
pub mod segment;
pub mod upstream;

use crate::lock::NewVersion;
use crate::store::error::{StoreError, StoreResult};
use crate::store::meta::{EmptySegments, ExpiredBlobs, Unreferenced};
use crate::store::records::{PartRecord, UploadRecord};
use crate::store::{BlobRef, PartRef, VersionRecord};
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
    /// The completion of an upstream multipart upload (takes no bytes; `commit` completes it).
    UpstreamCompletion(upstream::UpstreamCompletion),
    /// A small version's data, buffered for a group-committed segment entry.
    Segment(segment::SegmentWriter),
}

/// What a commit made: where the blob landed when that is not simply "under its id" (a segment
/// entry, for the record's `BlobRef`), and the pin that keeps its segment from being reclaimed
/// until the catalog insert is done (keep this value until then).
#[derive(Debug, Default)]
pub struct Committed {
    /// The record's `BlobRef` when the blob is not a plain blob under its id.
    pub blob: Option<BlobRef>,
    /// Held only for its pin on the segment.
    _landed: Option<segment::Landed>,
}

/// Where `BlobStore::read_from` reads: a blob under its id, or a segment entry's data.
#[derive(Debug, Clone)]
pub enum ReadFrom {
    Blob(String),
    /// Data at `base` of segment `segment` (the entry of blob `id`).
    Segment {
        id: String,
        segment: String,
        base: u64,
    },
}

impl ReadFrom {
    /// Where a version's (single) blob is read from.
    pub fn of(blob: &BlobRef) -> Option<ReadFrom> {
        match blob {
            BlobRef::Single { id } => Some(ReadFrom::Blob(id.clone())),
            BlobRef::InSegment {
                id, segment, offset, ..
            } => Some(ReadFrom::Segment {
                id: id.clone(),
                segment: segment.clone(),
                base: *offset,
            }),
            BlobRef::Parts { .. } | BlobRef::Multipart { .. } => None,
        }
    }

    /// The blob id (for messages and alarms).
    pub fn id(&self) -> &str {
        match self {
            ReadFrom::Blob(id) | ReadFrom::Segment { id, .. } => id,
        }
    }
}

/// What the writer of a new blob knows before the bytes arrive. The disk backend ignores it; the
/// upstream backend streams when `len` is known (else spools first) and, when the upstream bucket
/// has Object Lock, sends `retain_until` / `legal_hold` with the PUT.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlobHints {
    /// Exact number of bytes that will be written.
    pub len: Option<u64>,
    /// The blob is a version's one data blob (`PutObject`, `CopyObject`): on disk it may go to a
    /// segment entry (not parts or manifests, which stay files of their own).
    pub version_data: bool,
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

    /// The length and the lock state of a new version's permit.
    pub fn new_version(len: Option<u64>, permit: &NewVersion) -> Self {
        BlobHints {
            len,
            retain_until: Some(permit.retention().retain_until()),
            legal_hold: permit.legal_hold(),
            version_data: true,
        }
    }

    /// The data of a new version copied from another (`CopyObject`).
    pub fn version_copy(len: u64) -> Self {
        BlobHints {
            len: Some(len),
            version_data: true,
            ..Default::default()
        }
    }
}

/// Blob ids are ASCII letters, digits, `-` and `_` (they become file names and upstream keys).
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl BlobStore {
    /// Start writing a new blob. Fails if `id` already exists (no overwrite, ever).
    pub async fn begin(&self, id: &str, hints: BlobHints) -> StoreResult<BlobWriter> {
        match self {
            BlobStore::Disk(d) => {
                if !valid_id(id) {
                    return Err(StoreError::InvalidBlobId { id: id.to_string() });
                }
                let small = match (d.segments(), hints.len) {
                    (Some(s), Some(len)) if hints.version_data => s.writer(id, len),
                    _ => None,
                };
                match small {
                    Some(w) => Ok(BlobWriter::Segment(w)),
                    None => Ok(BlobWriter::Disk(d.begin(id).await?)),
                }
            }
            BlobStore::Upstream(u) => Ok(BlobWriter::Upstream(u.begin(id, hints).await?)),
        }
    }

    /// Start the backend side of multipart upload `upload_id`: upstream, an upstream multipart
    /// upload of blob `upload_id` (its `UploadId` is returned, to be kept in the `UploadRecord`);
    /// on disk nothing (`None`: every part becomes a blob of its own).
    pub async fn begin_multipart(&self, upload_id: &str, hints: BlobHints) -> StoreResult<Option<String>> {
        match self {
            BlobStore::Disk(_) => Ok(None),
            BlobStore::Upstream(u) => Ok(Some(u.begin_multipart(upload_id, hints).await?)),
        }
    }

    /// Start writing part `part_number` of `upload`. `blob_id` is the part's own new blob id, used
    /// when parts are blobs of their own (disk, and uploads without a backend upload); otherwise
    /// the bytes go to the backend's multipart upload under the same part number (`blob_id` then
    /// only labels them). Finish with `BlobWriter::commit_part`.
    pub async fn begin_part(
        &self,
        upload: &UploadRecord,
        part_number: u32,
        blob_id: &str,
        hints: BlobHints,
    ) -> StoreResult<BlobWriter> {
        match (self, &upload.backend_upload_id) {
            (BlobStore::Upstream(u), Some(up)) => Ok(BlobWriter::Upstream(
                u.begin_part(&upload.upload_id, up, part_number, blob_id, hints).await?,
            )),
            _ => self.begin(blob_id, hints).await,
        }
    }

    /// Whether `UploadPartCopy` from a version held in `src` can be done inside the backend
    /// (`copy_part`) rather than by streaming the bytes through a part writer.
    pub fn can_copy_part(&self, upload: &UploadRecord, src: &BlobRef) -> bool {
        matches!(
            (self, &upload.backend_upload_id, src),
            (BlobStore::Upstream(_), Some(_), BlobRef::Single { .. })
        )
    }

    /// `UploadPartCopy` inside the backend (only where `can_copy_part`): part `part_number` of
    /// `upload` becomes `len` bytes from `offset` of blob `src`. Returns the backend's part `ETag`.
    pub async fn copy_part(
        &self,
        upload: &UploadRecord,
        part_number: u32,
        src: &str,
        offset: u64,
        len: u64,
    ) -> StoreResult<String> {
        match (self, &upload.backend_upload_id) {
            (BlobStore::Upstream(u), Some(up)) => {
                u.copy_part((&upload.upload_id, up, part_number), src, offset, len)
                    .await
            }
            _ => Err(StoreError::invariant("this backend cannot copy a part by itself")),
        }
    }

    /// The bytes of a completed upload: the `BlobRef` of its version and the writer whose commit
    /// (in `finalize_version`, with the record as sidecar) makes them durable. On disk (and for
    /// uploads without a backend upload) the part blobs stay as they are and the writer is the
    /// empty manifest blob under `version_id`; upstream the upstream upload is completed from
    /// `chosen` into the one object named by the upload id.
    pub async fn complete_multipart(
        &self,
        upload: &UploadRecord,
        chosen: &[PartRecord],
        version_id: &str,
    ) -> StoreResult<(BlobRef, BlobWriter)> {
        let part_ref = |p: &PartRecord, id: &str| PartRef {
            id: id.to_string(),
            size: p.size,
            etag: p.etag.clone(),
            checksum: p.checksum.clone(),
            sha256: p.sha256.clone(),
            blake3: p.blake3.clone(),
        };
        if let (BlobStore::Upstream(u), Some(up)) = (self, &upload.backend_upload_id) {
            let id = upload.upload_id.clone();
            let mut names = Vec::with_capacity(chosen.len());
            for p in chosen {
                let Some(e) = p.upstream_etag.clone() else {
                    return Err(StoreError::invariant(format!(
                        "part {} of upload {id} has no upstream ETag",
                        p.part_number
                    )));
                };
                names.push((p.part_number, e));
            }
            let blob = BlobRef::Multipart {
                parts: chosen.iter().map(|p| part_ref(p, &id)).collect(),
                id: id.clone(),
            };
            let size = chosen.iter().map(|p| p.size).sum();
            Ok((blob, BlobWriter::UpstreamCompletion(u.completion(&id, up, names, size))))
        } else {
            let blob = BlobRef::Parts {
                parts: chosen.iter().map(|p| part_ref(p, &p.blob_id)).collect(),
            };
            Ok((blob, self.begin(version_id, BlobHints::len(Some(0))).await?))
        }
    }

    /// Abort the backend's own multipart upload of an upload whose catalog entry is gone (its part
    /// blobs, where parts are blobs of their own, go with [`BlobStore::discard`]).
    pub async fn abort_multipart(&self, upload: &UploadRecord) -> StoreResult<()> {
        match (self, &upload.backend_upload_id) {
            (BlobStore::Upstream(u), Some(up)) => u.abort_multipart(&upload.upload_id, up).await,
            _ => Ok(()),
        }
    }

    /// Mirror a retention extension into the backend's own lock (upstream Object Lock); called
    /// before the catalog records it, so the client never hears success before the mirror.
    pub async fn mirror_retention(&self, rec: &VersionRecord, until: DateTime<Utc>) -> StoreResult<()> {
        match self {
            BlobStore::Disk(_) => Ok(()),
            BlobStore::Upstream(u) => u.mirror_retention(rec, until).await,
        }
    }

    /// Mirror a legal hold change, like `mirror_retention`.
    pub async fn mirror_legal_hold(&self, rec: &VersionRecord, on: bool) -> StoreResult<()> {
        match self {
            BlobStore::Disk(_) => Ok(()),
            BlobStore::Upstream(u) => u.mirror_legal_hold(rec, on).await,
        }
    }

    /// Stream `len` bytes starting at `offset` of blob `id`.
    pub async fn read(
        &self,
        id: &str,
        offset: u64,
        len: u64,
    ) -> StoreResult<BoxStream<'static, std::io::Result<Bytes>>> {
        match self {
            BlobStore::Disk(d) => d.read(id, offset, len).await,
            BlobStore::Upstream(u) => u.read(id, offset, len).await,
        }
    }

    /// Stream `len` bytes starting at `offset` of a blob or segment entry.
    pub async fn read_from(
        &self,
        from: &ReadFrom,
        offset: u64,
        len: u64,
    ) -> StoreResult<BoxStream<'static, std::io::Result<Bytes>>> {
        match (self, from) {
            (_, ReadFrom::Blob(id)) => self.read(id, offset, len).await,
            (BlobStore::Disk(d), ReadFrom::Segment { segment, base, .. }) => {
                d.read_segment(segment, base.saturating_add(offset), len).await
            }
            (BlobStore::Upstream(_), ReadFrom::Segment { id, .. }) => Err(StoreError::invariant(format!(
                "blob {id} is in a segment, which the upstream backend does not have"
            ))),
        }
    }

    /// Of `candidates`, the segments that can get no new live entry (sealed, no writer between
    /// commit and catalog insert): the ones worth asking the catalog `empty_segments` about.
    pub fn quiet_segments(&self, candidates: &[String]) -> Vec<String> {
        match self {
            BlobStore::Disk(d) => match d.segments() {
                Some(s) => s.quiet(candidates),
                // No committer in this process: every segment is sealed.
                None => candidates.to_vec(),
            },
            BlobStore::Upstream(_) => Vec::new(),
        }
    }

    /// Remove whole segments the catalog proved hold no live version (and that are still quiet).
    pub fn reclaim(&self, proof: &EmptySegments) -> StoreResult<()> {
        match self {
            BlobStore::Disk(d) => match d.segments() {
                Some(s) => s.remove(proof.ids()),
                None => Ok(()),
            },
            BlobStore::Upstream(_) => Ok(()),
        }
    }

    /// Whether a blob exists (scrub, recovery).
    pub async fn exists(&self, id: &str) -> StoreResult<bool> {
        match self {
            BlobStore::Disk(d) => d.exists(id).await,
            BlobStore::Upstream(u) => u.exists(id).await,
        }
    }

    /// Destroy the bytes of a version whose record the catalog removed with the `Expired` proof.
    /// Returns the ids the upstream's own lock still refused to delete (left upstream: the catalog no
    /// longer refers to them, so a later `discard` may retry them).
    pub async fn destroy(&self, blobs: ExpiredBlobs) -> StoreResult<Vec<String>> {
        let mut refused = Vec::new();
        for id in blobs.ids() {
            match self {
                BlobStore::Disk(d) => d.unlink(id).await?,
                BlobStore::Upstream(u) => {
                    if u.delete_all(id, true).await? {
                        refused.push(id.clone());
                    }
                }
            }
        }
        Ok(refused)
    }

    /// Remove blobs that never became (part of) a version, or whose version is gone: failed commits,
    /// replaced or unused parts, aborted uploads, leftovers the upstream refused earlier. Only ids the
    /// catalog proved unreferenced reach here. Returns the ids the upstream still refused.
    pub async fn discard(&self, proof: Unreferenced) -> StoreResult<Vec<String>> {
        let mut refused = Vec::new();
        for id in proof.ids() {
            match self {
                BlobStore::Disk(d) => d.unlink(id).await?,
                BlobStore::Upstream(u) => {
                    if u.delete_all(id, false).await? {
                        refused.push(id.clone());
                    }
                }
            }
        }
        Ok(refused)
    }
}

impl BlobWriter {
    /// Take the next bytes without copying them where the backend can keep them (the disk writer
    /// hands them to its writer thread as they are).
    pub async fn write_bytes(&mut self, data: Bytes) -> StoreResult<()> {
        match self {
            BlobWriter::Disk(w) => w.write_bytes(data).await,
            BlobWriter::Upstream(w) => w.write(&data).await,
            BlobWriter::UpstreamCompletion(_) => Err(StoreError::invariant("a multipart completion takes no bytes")),
            BlobWriter::Segment(w) => w.write(&data),
        }
    }

    /// Take the next bytes (copied where the backend keeps them; see [`BlobWriter::write_bytes`]).
    pub async fn write(&mut self, data: &[u8]) -> StoreResult<()> {
        match self {
            BlobWriter::Disk(w) => w.write(data).await,
            BlobWriter::Upstream(w) => w.write(data).await,
            BlobWriter::UpstreamCompletion(_) => Err(StoreError::invariant("a multipart completion takes no bytes")),
            BlobWriter::Segment(w) => w.write(data),
        }
    }

    /// Make a part durable (no record); returns the backend's own part `ETag` when the part went into
    /// the backend's multipart upload (store it in `PartRecord::upstream_etag`).
    pub async fn commit_part(self) -> StoreResult<Option<String>> {
        match self {
            BlobWriter::Disk(w) => w.commit(b"").await.map(|()| None),
            BlobWriter::Upstream(w) => w.commit_part(b"").await,
            BlobWriter::UpstreamCompletion(_) | BlobWriter::Segment(_) => {
                Err(StoreError::invariant("not a part writer"))
            }
        }
    }

    /// Make the blob durable and visible under its id. `sidecar` is the version record (second copy
    /// for `wormgate recover`), written durably before the blob appears. Keep the result until the
    /// catalog insert is done (it pins a segment entry's segment).
    pub async fn commit(self, sidecar: &[u8]) -> StoreResult<Committed> {
        match self {
            BlobWriter::Disk(w) => w.commit(sidecar).await.map(|()| Committed::default()),
            BlobWriter::Upstream(w) => w.commit(sidecar).await.map(|()| Committed::default()),
            BlobWriter::UpstreamCompletion(w) => w.commit(sidecar).await.map(|()| Committed::default()),
            BlobWriter::Segment(w) => {
                let id = w.id().to_string();
                let landed = w.commit(sidecar).await?;
                Ok(Committed {
                    blob: Some(BlobRef::InSegment {
                        id,
                        segment: landed.segment.clone(),
                        offset: landed.offset,
                        len: landed.len,
                    }),
                    _landed: Some(landed),
                })
            }
        }
    }

    /// Throw the partial blob away.
    pub async fn abort(self) {
        match self {
            BlobWriter::Disk(w) => w.abort().await,
            BlobWriter::Upstream(w) => w.abort().await,
            // The upstream upload stays open: the gateway's upload still exists. A segment writer
            // wrote nothing yet.
            BlobWriter::UpstreamCompletion(_) | BlobWriter::Segment(_) => {}
        }
    }
}
