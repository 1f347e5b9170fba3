//! Disk blobs: `blobs/<aa>/<id>` plus `blobs/<aa>/<id>.meta` (the version record). Writes go to
//! `tmp/`, are fsynced, then hard-linked into place (which fails if the name exists: no overwrite),
//! and the directory is fsynced before the catalog commit (the writing itself: `disk_writer.rs`).

pub use super::disk_writer::DiskWriter;
use crate::store::error::{StoreError, StoreResult};
use bytes::Bytes;
use futures_util::stream::BoxStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::fs;

/// The disk backend.
#[derive(Clone)]
pub struct DiskBlobs {
    root: Arc<PathBuf>,
    /// Small versions' data go to shared segment files (`None`: every blob is a file of its own).
    segments: Option<super::segment::Segments>,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl DiskBlobs {
    /// Open (creating directories) under `root`.
    pub fn open(root: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(root.join("blobs"))?;
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(DiskBlobs {
            root: Arc::new(root.to_path_buf()),
            segments: None,
        })
    }

    /// The same store with small versions' data going to segment files (`max_object` bytes at most,
    /// `budget` bytes of bodies buffered at once); `max_object == 0` keeps every blob a file.
    pub fn with_segments(mut self, max_object: u64, budget: usize) -> StoreResult<Self> {
        if max_object > 0 {
            self.segments = Some(super::segment::Segments::start(&self.root, max_object, budget)?);
        }
        Ok(self)
    }

    /// The segment store, when small versions go to segments.
    pub fn segments(&self) -> Option<&super::segment::Segments> {
        self.segments.as_ref()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of blob `id`.
    pub fn path(&self, id: &str) -> PathBuf {
        let shard = if id.len() >= 2 { &id[id.len() - 2..] } else { "00" };
        self.root.join("blobs").join(shard).join(id)
    }

    /// Path of the sidecar record of blob `id`.
    pub fn sidecar_path(&self, id: &str) -> PathBuf {
        let mut p = self.path(id).into_os_string();
        p.push(".meta");
        PathBuf::from(p)
    }

    pub async fn begin(&self, id: &str) -> StoreResult<DiskWriter> {
        if !valid_id(id) {
            return Err(StoreError::InvalidBlobId { id: id.to_string() });
        }
        let final_path = self.path(id);
        if fs::try_exists(&final_path).await? {
            return Err(StoreError::BlobExists { id: id.to_string() });
        }
        let tmp = self.root.join("tmp").join(format!("{id}.tmp"));
        DiskWriter::create(id, tmp, final_path, self.root.clone()).await
    }

    /// Stream `len` bytes from `offset` of blob `id`: one blocking read for small ranges, a
    /// read-ahead reader per stream for long ones (`disk_read`).
    pub async fn read(
        &self,
        id: &str,
        offset: u64,
        len: u64,
    ) -> StoreResult<BoxStream<'static, std::io::Result<Bytes>>> {
        super::disk_read::read(self.path(id), &format!("blob {id}"), offset, len).await
    }

    /// Stream `len` bytes at `offset` of segment `segment` (the entry's place comes from the
    /// record: no lookup; a small entry is one blocking open + pread, like a small blob).
    pub async fn read_segment(
        &self,
        segment: &str,
        offset: u64,
        len: u64,
    ) -> StoreResult<BoxStream<'static, std::io::Result<Bytes>>> {
        let path = super::segment::path_of(&self.root, segment)?;
        super::disk_read::read(path, &format!("segment {segment}"), offset, len).await
    }

    pub async fn exists(&self, id: &str) -> StoreResult<bool> {
        Ok(fs::try_exists(self.path(id)).await?)
    }

    /// Remove a blob and its sidecar. Only `BlobStore::destroy` / `discard` call this, with a proof.
    pub(super) async fn unlink(&self, id: &str) -> StoreResult<()> {
        for p in [self.path(id), self.sidecar_path(id)] {
            match fs::remove_file(&p).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// List every blob id on disk (scrub).
    pub fn list_ids(&self) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        let blobs = self.root.join("blobs");
        for shard in std::fs::read_dir(blobs)? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(shard.path())? {
                let name = f?.file_name().to_string_lossy().to_string();
                if std::path::Path::new(&name).extension().is_none_or(|e| e != "meta") {
                    out.push(name);
                }
            }
        }
        Ok(out)
    }
}
