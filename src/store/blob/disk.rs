//! Disk blobs: `blobs/<aa>/<id>` plus `blobs/<aa>/<id>.meta` (the version record). Writes go to
//! `tmp/`, are fsynced, then hard-linked into place (which fails if the name exists: no overwrite),
//! and the directory is fsynced before the catalog commit.

use crate::store::error::{is_no_space, StoreError, StoreResult};
use bytes::{Bytes, BytesMut};
use futures_util::stream::BoxStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter};

/// Read block size for GET streaming.
const READ_BLOCK: usize = 256 * 1024;

/// The disk backend.
#[derive(Clone)]
pub struct DiskBlobs {
    root: Arc<PathBuf>,
    /// Small versions' data go to shared segment files (`None`: every blob is a file of its own).
    segments: Option<super::segment::Segments>,
}

/// A blob being written to `tmp/`.
pub struct DiskWriter {
    id: String,
    tmp: PathBuf,
    final_path: PathBuf,
    file: BufWriter<File>,
    root: Arc<PathBuf>,
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
        let file = OpenOptions::new().write(true).create_new(true).open(&tmp).await?;
        Ok(DiskWriter {
            id: id.to_string(),
            tmp,
            final_path,
            file: BufWriter::with_capacity(1 << 20, file),
            root: self.root.clone(),
        })
    }

    pub async fn read(
        &self,
        id: &str,
        offset: u64,
        len: u64,
    ) -> StoreResult<BoxStream<'static, std::io::Result<Bytes>>> {
        read_range(&self.path(id), &format!("blob {id}"), offset, len).await
    }

    /// Stream `len` bytes at `offset` of segment `segment` (the entry's place comes from the
    /// record: no lookup).
    pub async fn read_segment(
        &self,
        segment: &str,
        offset: u64,
        len: u64,
    ) -> StoreResult<BoxStream<'static, std::io::Result<Bytes>>> {
        let path = super::segment::path_of(&self.root, segment)?;
        let Ok(small) = usize::try_from(len) else {
            return read_range(&path, &format!("segment {segment}"), offset, len).await;
        };
        if small == 0 || small > READ_BLOCK {
            return read_range(&path, &format!("segment {segment}"), offset, len).await;
        }
        // A small entry (the usual case): one blocking open + pread instead of an async open, seek and
        // read, each its own trip to the blocking pool.
        let what = format!("segment {segment}");
        let read = tokio::task::spawn_blocking(move || {
            use std::os::unix::fs::FileExt;
            let f = std::fs::File::open(&path)?;
            let mut buf = vec![0u8; small];
            f.read_exact_at(&mut buf, offset)?;
            Ok::<_, std::io::Error>(Bytes::from(buf))
        })
        .await
        .map_err(|e| StoreError::io_at(format!("reading {what} stopped"), std::io::Error::other(e)))?;
        match read {
            Ok(b) => Ok(Box::pin(futures_util::stream::once(async move { Ok(b) }))),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                let e = std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "segment entry is shorter than its record",
                );
                Ok(Box::pin(futures_util::stream::once(async move { Err(e) })))
            }
            Err(e) => Err(StoreError::io_at(format!("{what} cannot be read"), e)),
        }
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

/// Stream `len` bytes from `offset` of the file at `path` (`what` names it in errors).
async fn read_range(
    path: &Path,
    what: &str,
    offset: u64,
    len: u64,
) -> StoreResult<BoxStream<'static, std::io::Result<Bytes>>> {
    let mut file = File::open(path)
        .await
        .map_err(|e| StoreError::io_at(format!("{what} cannot be opened"), e))?;
    if offset > 0 {
        file.seek(std::io::SeekFrom::Start(offset)).await?;
    }
    let stream = futures_util::stream::unfold((file, len), |(mut file, remaining)| async move {
        if remaining == 0 {
            return None;
        }
        let want = crate::units::take_len(remaining, READ_BLOCK);
        let mut buf = BytesMut::zeroed(want);
        let mut filled = 0;
        while filled < want {
            match file.read(&mut buf[filled..]).await {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) => return Some((Err(e), (file, 0))),
            }
        }
        if filled == 0 {
            let e = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "blob is shorter than its record");
            return Some((Err(e), (file, 0)));
        }
        buf.truncate(filled);
        Some((Ok(buf.freeze()), (file, remaining - filled as u64)))
    });
    Ok(Box::pin(stream))
}

async fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    let d = File::open(dir).await?;
    d.sync_all().await
}

impl DiskWriter {
    pub async fn write(&mut self, data: &[u8]) -> StoreResult<()> {
        self.file.write_all(data).await?;
        Ok(())
    }

    pub async fn commit(mut self, sidecar: &[u8]) -> StoreResult<()> {
        let res = self.commit_inner(sidecar).await;
        if res.is_err() {
            let _ = fs::remove_file(&self.tmp).await;
        }
        res
    }

    async fn commit_inner(&mut self, sidecar: &[u8]) -> StoreResult<()> {
        self.file.flush().await?;
        self.file.get_mut().sync_all().await?;
        let dir = self
            .final_path
            .parent()
            .map_or_else(|| self.root.join("blobs"), Path::to_path_buf);
        fs::create_dir_all(&dir).await?;
        // Second copy of the record first, so a blob is never on disk without it.
        let mut side_name = self.final_path.clone().into_os_string();
        side_name.push(".meta");
        let side_path = PathBuf::from(side_name);
        let mut side = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&side_path)
            .await
            .map_err(|e| StoreError::io_at(format!("sidecar for blob {} cannot be created", self.id), e))?;
        let written = match side.write_all(sidecar).await {
            Ok(()) => side.sync_all().await,
            Err(e) => Err(e),
        };
        // hard_link fails if the target exists: the no-overwrite guarantee at the filesystem level.
        let linked = match written {
            Err(e) => Err(StoreError::Io(e)),
            Ok(()) => fs::hard_link(&self.tmp, &self.final_path).await.map_err(|e| {
                if is_no_space(&e) {
                    StoreError::Io(e)
                } else {
                    StoreError::io_at(format!("blob {} cannot be linked into place", self.id), e)
                }
            }),
        };
        if let Err(e) = linked {
            // The blob never appeared: its (possibly partial) sidecar, which this writer created
            // a moment ago, must not stay behind to be mistaken for a record.
            drop(side);
            let _ = fs::remove_file(&side_path).await;
            return Err(e);
        }
        fsync_dir(&dir).await?;
        fs::remove_file(&self.tmp).await?;
        Ok(())
    }

    pub async fn abort(self) {
        drop(self.file);
        let _ = fs::remove_file(&self.tmp).await;
    }
}
