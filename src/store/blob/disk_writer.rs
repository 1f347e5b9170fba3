//! Writing one disk blob: `tmp/<id>.tmp`, filled by a blocking writer thread, fdatasynced, then a
//! sidecar and a hard link make it visible (see `disk.rs`).
//!
//! Why a thread: on one task, hashing a chunk, writing it and the disk's writeback ran in sequence,
//! and the final `sync_all` waited for the whole file (≈ 0.8 s for 256 MiB). Here the request task
//! only batches `Bytes` (no copy) and hands them over a bounded channel (constant memory for any
//! size), so it hashes the next chunk while the writer thread writes the previous one; past
//! [`SYNC_STEP`] a syncer thread fdatasyncs behind the writer, so the disk writes back while the body
//! still streams in and the final fdatasync covers only the tail. Bodies that fit in one batch never
//! start a thread: their bytes are written and synced in one blocking call at commit.
//!
//! Durability is unchanged: `commit` returns only after every byte was written and fdatasynced (an
//! error of any write or sync, on either thread, fails it), and the tmp file is removed on every
//! failure or abort.

use crate::store::error::{is_no_space, StoreError, StoreResult};
use bytes::Bytes;
use std::io::{IoSlice, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::fs::{self, File, OpenOptions};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Bytes gathered before they go to the writer thread as one vectored write.
pub const BATCH: usize = 1 << 20;
/// Batches queued for the writer thread (with the batch being gathered and the one being written,
/// at most ≈ `(QUEUE + 2) × BATCH` of a body is held in memory).
const QUEUE: usize = 4;
/// Bytes written between two early fdatasyncs of the syncer thread.
pub const SYNC_STEP: u64 = 8 << 20;

/// A blob being written to `tmp/`; nothing is visible until [`DiskWriter::commit`].
pub struct DiskWriter {
    id: String,
    tmp: PathBuf,
    final_path: PathBuf,
    root: Arc<PathBuf>,
    /// The gathered batch not yet handed over.
    pending: Vec<Bytes>,
    pending_len: usize,
    /// The file until the writer thread takes it.
    file: Option<std::fs::File>,
    /// The writer thread, once the body outgrew one batch.
    thread: Option<WriterThread>,
    /// Set once the tmp file is gone or linked: `Drop` leaves it alone.
    done: bool,
}

struct WriterThread {
    tx: mpsc::Sender<Vec<Bytes>>,
    handle: JoinHandle<std::io::Result<()>>,
}

impl DiskWriter {
    /// Create `tmp` (`create_new`: an id is never reused) for blob `id`, to be linked at `final_path`.
    pub(super) async fn create(id: &str, tmp: PathBuf, final_path: PathBuf, root: Arc<PathBuf>) -> StoreResult<Self> {
        let file = OpenOptions::new().write(true).create_new(true).open(&tmp).await?;
        Ok(DiskWriter {
            id: id.to_string(),
            tmp,
            final_path,
            root,
            pending: Vec::new(),
            pending_len: 0,
            file: Some(file.into_std().await),
            thread: None,
            done: false,
        })
    }

    /// Take the next bytes (copied: callers holding `Bytes` use [`DiskWriter::write_bytes`]).
    pub async fn write(&mut self, data: &[u8]) -> StoreResult<()> {
        self.write_bytes(Bytes::copy_from_slice(data)).await
    }

    /// Take the next bytes without copying them. An error of an earlier write (on the writer
    /// thread) surfaces here at the latest with the next full batch, and always at commit.
    pub async fn write_bytes(&mut self, data: Bytes) -> StoreResult<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.pending_len += data.len();
        self.pending.push(data);
        if self.pending_len >= BATCH {
            self.hand_over().await?;
        }
        Ok(())
    }

    /// Send the gathered batch to the writer thread, starting it on the first batch.
    async fn hand_over(&mut self) -> StoreResult<()> {
        let batch = std::mem::take(&mut self.pending);
        self.pending_len = 0;
        if self.thread.is_none() {
            let Some(file) = self.file.take() else {
                return Err(StoreError::invariant("disk writer has neither file nor thread"));
            };
            let (tx, rx) = mpsc::channel(QUEUE);
            let handle = tokio::task::spawn_blocking(move || write_loop(file, rx));
            self.thread = Some(WriterThread { tx, handle });
        }
        let Some(t) = &self.thread else {
            return Err(StoreError::invariant("disk writer thread missing"));
        };
        if t.tx.send(batch).await.is_err() {
            // The thread stopped: it failed. Its error is the request's.
            return Err(self
                .join()
                .await
                .err()
                .unwrap_or_else(|| StoreError::invariant("disk writer thread stopped without an error")));
        }
        Ok(())
    }

    /// Close the channel and wait for the writer thread: every byte written and fdatasynced, or the
    /// first error.
    async fn join(&mut self) -> StoreResult<()> {
        let Some(WriterThread { tx, handle }) = self.thread.take() else {
            return Ok(());
        };
        drop(tx);
        match handle.await {
            Ok(r) => Ok(r?),
            Err(e) => Err(StoreError::invariant(format!("disk writer thread failed: {e}"))),
        }
    }

    /// Every byte in the tmp file and fdatasynced.
    async fn finish_data(&mut self) -> StoreResult<()> {
        if self.thread.is_some() {
            if !self.pending.is_empty() {
                self.hand_over().await?;
            }
            // The empty batch says "that was all: make it durable"; a channel closed without it
            // is an abort.
            if let Some(t) = &self.thread {
                let _ = t.tx.send(Vec::new()).await;
            }
            return self.join().await;
        }
        let Some(file) = self.file.take() else {
            return Err(StoreError::invariant("disk writer has neither file nor thread"));
        };
        let batch = std::mem::take(&mut self.pending);
        self.pending_len = 0;
        let res = tokio::task::spawn_blocking(move || {
            let mut file = file;
            write_batch(&mut file, &batch)?;
            file.sync_all()
        })
        .await;
        match res {
            Ok(r) => Ok(r?),
            Err(e) => Err(StoreError::invariant(format!("disk write task failed: {e}"))),
        }
    }

    /// Make the blob durable and visible: data fdatasynced, sidecar written and synced, hard link
    /// (fails if the name exists: no overwrite), directory synced. On failure nothing is visible and
    /// the tmp file is gone.
    pub async fn commit(mut self, sidecar: &[u8]) -> StoreResult<()> {
        let res = self.commit_inner(sidecar).await;
        if res.is_err() {
            // The writer thread (if any) has been joined: nothing writes to the file any more.
            let _ = fs::remove_file(&self.tmp).await;
        }
        self.done = true;
        res
    }

    async fn commit_inner(&mut self, sidecar: &[u8]) -> StoreResult<()> {
        let dir = self
            .final_path
            .parent()
            .map_or_else(|| self.root.join("blobs"), Path::to_path_buf);
        let mut side_name = self.final_path.clone().into_os_string();
        side_name.push(".meta");
        let side_path = PathBuf::from(side_name);
        // The second copy of the record is written and synced while the data's last sync runs (two
        // syncs in flight share the journal commit); both before the link, so a blob is never on
        // disk without it.
        let id = self.id.clone();
        let (data, (created, side)) = tokio::join!(self.finish_data(), write_sidecar(&dir, &side_path, sidecar, &id));
        // hard_link fails if the target exists: the no-overwrite guarantee at the filesystem level.
        let linked = match (data, side) {
            (Err(e), _) | (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok(())) => fs::hard_link(&self.tmp, &self.final_path).await.map_err(|e| {
                if is_no_space(&e) {
                    StoreError::Io(e)
                } else {
                    StoreError::io_at(format!("blob {} cannot be linked into place", self.id), e)
                }
            }),
        };
        if let Err(e) = linked {
            // The blob never appeared: its (possibly partial) sidecar, if this writer created it a
            // moment ago, must not stay behind to be mistaken for a record.
            if created {
                let _ = fs::remove_file(&side_path).await;
            }
            return Err(e);
        }
        fsync_dir(&dir).await?;
        fs::remove_file(&self.tmp).await?;
        Ok(())
    }

    /// Throw the partial blob away: stop the writer thread, remove the tmp file.
    pub async fn abort(mut self) {
        self.pending.clear();
        let _ = self.join().await;
        self.file = None;
        let _ = fs::remove_file(&self.tmp).await;
        self.done = true;
    }
}

impl Drop for DiskWriter {
    /// A writer dropped without `commit` or `abort` (the request's future was cancelled: the client
    /// went away) must not leave its tmp file behind. The writer thread, if any, sees its channel
    /// close and stops; writing to an unlinked file is harmless.
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Create (`create_new`), write and sync the sidecar; whether this call created the file (only then
/// may a failed commit remove it).
async fn write_sidecar(dir: &Path, side_path: &Path, sidecar: &[u8], id: &str) -> (bool, StoreResult<()>) {
    if let Err(e) = fs::create_dir_all(dir).await {
        return (false, Err(e.into()));
    }
    let mut side = match OpenOptions::new().write(true).create_new(true).open(side_path).await {
        Ok(f) => f,
        Err(e) => {
            return (
                false,
                Err(StoreError::io_at(format!("sidecar for blob {id} cannot be created"), e)),
            )
        }
    };
    let written = match side.write_all(sidecar).await {
        Ok(()) => side.sync_all().await,
        Err(e) => Err(e),
    };
    (true, written.map_err(StoreError::Io))
}

async fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    let d = File::open(dir).await?;
    d.sync_all().await
}

/// The writer thread: write each batch, let the syncer thread write back behind it, and at the
/// empty batch that ends the body make the whole file durable. A channel closed without it is an
/// abort (or a dropped writer): stop, no final sync.
fn write_loop(mut file: std::fs::File, mut rx: mpsc::Receiver<Vec<Bytes>>) -> std::io::Result<()> {
    let mut syncer: Option<Syncer> = None;
    let mut unsynced = 0u64;
    let mut failed = None;
    let mut complete = false;
    while let Some(batch) = rx.blocking_recv() {
        if batch.is_empty() {
            complete = true;
            break;
        }
        if let Err(e) = write_batch(&mut file, &batch) {
            failed = Some(e);
            break;
        }
        unsynced += batch.iter().map(|b| b.len() as u64).sum::<u64>();
        if unsynced >= SYNC_STEP {
            unsynced = 0;
            if syncer.is_none() {
                syncer = Syncer::start(&file);
            }
            if let Some(s) = &syncer {
                s.nudge();
            }
        }
    }
    // Dropping the receiver first makes a sender waiting on a full queue fail at once.
    drop(rx);
    let early_syncs = syncer.map_or(Ok(()), Syncer::stop);
    if let Some(e) = failed {
        return Err(e);
    }
    early_syncs?;
    if complete {
        file.sync_all()
    } else {
        Ok(())
    }
}

/// Write every buffer of `batch`, vectored.
fn write_batch(file: &mut std::fs::File, batch: &[Bytes]) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = batch.iter().map(|b| IoSlice::new(b)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Early writeback: a thread that fdatasyncs the file (through its own handle of the same open
/// file) whenever the writer has written [`SYNC_STEP`] more bytes, while the writer goes on.
struct Syncer {
    tx: std::sync::mpsc::SyncSender<()>,
    handle: std::thread::JoinHandle<std::io::Result<()>>,
}

impl Syncer {
    /// `None` when the handle cannot be duplicated or the thread not started: the final sync then
    /// does all the work, as before.
    fn start(file: &std::fs::File) -> Option<Syncer> {
        let f = file.try_clone().ok()?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
        let handle = std::thread::Builder::new()
            .name("wormgate-sync".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    // The error of a failed writeback is reported once per open file; this handle
                    // shares it with the writer's, so it is returned here and fails the write.
                    f.sync_data()?;
                }
                Ok(())
            })
            .ok()?;
        Some(Syncer { tx, handle })
    }

    /// Ask for a sync; if one is already asked for, it will cover these bytes too.
    fn nudge(&self) {
        let _ = self.tx.try_send(());
    }

    /// Wait for the syncer; its first error.
    fn stop(self) -> std::io::Result<()> {
        drop(self.tx);
        self.handle
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the sync thread panicked")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::blob::disk::DiskBlobs;

    /// A body of `len` bytes in chunks of varying sizes (as a socket delivers them).
    fn chunks(len: usize) -> (Vec<u8>, Vec<Bytes>) {
        let body: Vec<u8> = (0..len).map(|i| (i.wrapping_mul(7919) >> 3) as u8).collect();
        let mut out = Vec::new();
        let mut at = 0;
        let mut step = 1;
        while at < len {
            let n = step.min(len - at);
            out.push(Bytes::copy_from_slice(&body[at..at + n]));
            at += n;
            step = (step * 3 + 17) % 300_000 + 1;
        }
        (body, out)
    }

    fn tmp_files(root: &Path) -> Vec<String> {
        std::fs::read_dir(root.join("tmp"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect()
    }

    async fn write_and_commit(blobs: &DiskBlobs, id: &str, len: usize) {
        let (body, parts) = chunks(len);
        let mut w = blobs.begin(id).await.unwrap();
        for p in parts {
            w.write_bytes(p).await.unwrap();
        }
        w.commit(b"record").await.unwrap();
        assert_eq!(std::fs::read(blobs.path(id)).unwrap(), body, "{len} bytes");
        assert_eq!(std::fs::read(blobs.sidecar_path(id)).unwrap(), b"record");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bytes_arrive_identical_with_and_without_the_writer_thread() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DiskBlobs::open(dir.path()).unwrap();
        // Empty, inside one batch (no thread), exactly one batch, several batches, past two syncs.
        for (i, len) in [
            0,
            5,
            4096,
            BATCH - 1,
            BATCH,
            BATCH + 1,
            3 * BATCH + 12_345,
            (2 * SYNC_STEP) as usize + 777,
        ]
        .into_iter()
        .enumerate()
        {
            write_and_commit(&blobs, &format!("blob{i}"), len).await;
        }
        assert!(tmp_files(dir.path()).is_empty(), "{:?}", tmp_files(dir.path()));
    }

    #[tokio::test]
    async fn copied_writes_and_byte_writes_mix() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DiskBlobs::open(dir.path()).unwrap();
        let (body, parts) = chunks(3 * BATCH);
        let mut w = blobs.begin("mixed").await.unwrap();
        for (i, p) in parts.into_iter().enumerate() {
            if i % 2 == 0 {
                w.write(&p).await.unwrap();
            } else {
                w.write_bytes(p).await.unwrap();
            }
        }
        w.commit(b"").await.unwrap();
        assert_eq!(std::fs::read(blobs.path("mixed")).unwrap(), body);
    }

    #[tokio::test]
    async fn abort_removes_the_tmp_file_before_and_after_the_thread_started() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DiskBlobs::open(dir.path()).unwrap();
        for (id, len) in [("small", 1000), ("large", 5 * BATCH)] {
            let (_, parts) = chunks(len);
            let mut w = blobs.begin(id).await.unwrap();
            for p in parts {
                w.write_bytes(p).await.unwrap();
            }
            assert_eq!(tmp_files(dir.path()), vec![format!("{id}.tmp")]);
            w.abort().await;
            assert!(tmp_files(dir.path()).is_empty(), "{id}");
            assert!(!blobs.exists(id).await.unwrap());
            assert!(!blobs.sidecar_path(id).exists());
        }
    }

    #[tokio::test]
    async fn a_dropped_writer_leaves_no_tmp_file() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DiskBlobs::open(dir.path()).unwrap();
        let (_, parts) = chunks(2 * BATCH + 3);
        let mut w = blobs.begin("dropped").await.unwrap();
        for p in parts {
            w.write_bytes(p).await.unwrap();
        }
        drop(w);
        assert!(tmp_files(dir.path()).is_empty());
    }

    /// A writer whose file is `/dev/full`: every write fails with ENOSPC on the writer thread.
    fn failing_writer(root: &Path, id: &str) -> DiskWriter {
        let tmp = root.join("tmp").join(format!("{id}.tmp"));
        std::fs::write(&tmp, b"").unwrap();
        let file = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        DiskWriter {
            id: id.to_string(),
            final_path: root.join("blobs").join("xx").join(id),
            tmp,
            root: Arc::new(root.to_path_buf()),
            pending: Vec::new(),
            pending_len: 0,
            file: Some(file),
            thread: None,
            done: false,
        }
    }

    fn is_enospc(e: &StoreError) -> bool {
        matches!(e, StoreError::Io(io) if is_no_space(io))
    }

    #[tokio::test]
    async fn an_error_on_the_writer_thread_fails_the_write_and_removes_the_tmp_file() {
        let dir = tempfile::tempdir().unwrap();
        DiskBlobs::open(dir.path()).unwrap();
        // Streaming: the error surfaces on a later write (the queue is bounded), the request aborts.
        let mut w = failing_writer(dir.path(), "streaming");
        let mut failed = None;
        for _ in 0..(QUEUE + 8) {
            if let Err(e) = w.write_bytes(Bytes::from(vec![1u8; BATCH])).await {
                failed = Some(e);
                break;
            }
        }
        let e = failed.expect("a write past the queue reports the writer thread's error");
        assert!(is_enospc(&e), "{e:?}");
        w.abort().await;
        assert!(tmp_files(dir.path()).is_empty());
        // Within the queue: commit reports it, and nothing becomes visible.
        let mut w = failing_writer(dir.path(), "at-commit");
        w.write_bytes(Bytes::from(vec![2u8; BATCH + 1])).await.unwrap();
        let e = w.commit(b"record").await.expect_err("commit must fail");
        assert!(is_enospc(&e), "{e:?}");
        assert!(tmp_files(dir.path()).is_empty());
        // Neither the blob nor its sidecar appeared (the shard directory may exist: harmless).
        let shard = dir.path().join("blobs").join("xx");
        assert!(!shard.join("at-commit").exists() && !shard.join("at-commit.meta").exists());
        // Without a thread (small body): the blocking write at commit fails the same way.
        let mut w = failing_writer(dir.path(), "small");
        w.write(b"tiny").await.unwrap();
        let e = w.commit(b"record").await.expect_err("commit must fail");
        assert!(is_enospc(&e), "{e:?}");
        assert!(tmp_files(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn an_existing_blob_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DiskBlobs::open(dir.path()).unwrap();
        write_and_commit(&blobs, "once", BATCH + 5).await;
        assert!(matches!(blobs.begin("once").await, Err(StoreError::BlobExists { .. })));
    }
}
