//! The disk backend's read path (GET). A read of at most [`WHOLE_READ_MAX`] bytes is one blocking
//! call (open + one `pread`) answered as one chunk: one hop for a 4 KiB or 1 MiB object. A longer
//! read keeps [`AHEAD`] `pread`s of [`BLOCK`]-sized blocks in flight on the blocking pool ahead of
//! the block being sent (constant memory however long the object), so the disk and the socket work
//! at the same time; each `pread` is a short task, so a slow client holds no thread. Blocks are read
//! straight into a new buffer's spare capacity (no zeroing) and handed to hyper as `Bytes` without
//! another copy. A client that goes away drops the stream: at most the reads in flight finish.

use crate::store::error::{StoreError, StoreResult};
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use std::fs::File;
use std::path::PathBuf;

/// Reads up to this length are done in one blocking call and returned as one chunk.
pub(super) const WHOLE_READ_MAX: u64 = 1 << 20;
/// Block size of a streamed read (one `pread`, one body frame).
pub(super) const BLOCK: usize = 1 << 20;
/// Reads in flight behind the next block to send; with that one, the one the verify wrapper holds
/// back and the one being sent, a stream holds at most `AHEAD + 3` blocks whatever its length.
pub(super) const AHEAD: usize = 2;

type Chunks = BoxStream<'static, std::io::Result<Bytes>>;

fn short() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "blob is shorter than its record")
}

/// `n` bytes at `offset` of `file`, read into uninitialised capacity; fewer bytes on disk than
/// asked for is an error (the blob is shorter than its record).
fn read_block(file: &File, offset: u64, n: usize) -> std::io::Result<Bytes> {
    let mut buf: Vec<u8> = Vec::with_capacity(n);
    while buf.len() < n {
        let at = offset + buf.len() as u64;
        let spare = rustix::buffer::spare_capacity(&mut buf);
        match rustix::io::pread(file, spare, at) {
            Ok(0) => return Err(short()),
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Bytes::from(buf))
}

/// Stream `len` bytes from `offset` of the blob file at `path` (see the module comment). The file
/// is opened before this returns, so a missing blob is an error and not a broken body.
pub(super) async fn read(path: PathBuf, what: &str, offset: u64, len: u64) -> StoreResult<Chunks> {
    let whole = len <= WHOLE_READ_MAX;
    let opened = tokio::task::spawn_blocking(move || {
        let file = File::open(&path)?;
        if whole {
            // Short reads surface as a body error, like a streamed read's.
            let n = crate::units::take_len(len, BLOCK);
            let first = if n == 0 {
                Ok(Bytes::new())
            } else {
                read_block(&file, offset, n)
            };
            return Ok((file, Some(first)));
        }
        // Tell the kernel to read ahead generously; only a hint, so a refusal changes nothing.
        let _ = rustix::fs::fadvise(
            &file,
            offset,
            std::num::NonZeroU64::new(len),
            rustix::fs::Advice::Sequential,
        );
        Ok((file, None))
    })
    .await
    .map_err(|e| StoreError::invariant(format!("blob reader task failed: {e}")))?;
    let (file, first) = opened.map_err(|e| StoreError::io_at(format!("{what} cannot be opened"), e))?;
    if let Some(first) = first {
        return Ok(match first {
            Ok(b) if b.is_empty() => futures_util::stream::empty().boxed(),
            other => futures_util::stream::once(async move { other }).boxed(),
        });
    }
    let st = Ahead {
        file: std::sync::Arc::new(file),
        at: offset,
        end: offset + len,
        reads: std::collections::VecDeque::with_capacity(AHEAD + 1),
    };
    let stream = futures_util::stream::unfold(Some(st), |st| async move {
        let mut st = st?;
        st.fill();
        let next = st.reads.pop_front()?;
        match next.await {
            Ok(Ok(block)) => Some((Ok(block), Some(st))),
            Ok(Err(e)) => Some((Err(e), None)),
            Err(e) => Some((Err(std::io::Error::other(format!("blob read task failed: {e}"))), None)),
        }
    });
    Ok(stream.boxed())
}

/// A streamed read: the blocks in flight, in order, and where the next one starts.
struct Ahead {
    file: std::sync::Arc<File>,
    at: u64,
    end: u64,
    reads: std::collections::VecDeque<tokio::task::JoinHandle<std::io::Result<Bytes>>>,
}

impl Ahead {
    /// Start reads until `AHEAD + 1` are in flight (the next one to send and `AHEAD` behind it).
    fn fill(&mut self) {
        while self.reads.len() <= AHEAD && self.at < self.end {
            let n = crate::units::take_len(self.end - self.at, BLOCK);
            let (file, at) = (self.file.clone(), self.at);
            self.reads
                .push_back(tokio::task::spawn_blocking(move || read_block(&file, at, n)));
            self.at += n as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(s: Chunks) -> (Vec<usize>, Vec<u8>, bool) {
        let items: Vec<std::io::Result<Bytes>> = s.collect().await;
        let mut sizes = Vec::new();
        let mut data = Vec::new();
        let mut failed = false;
        for i in items {
            match i {
                Ok(b) => {
                    sizes.push(b.len());
                    data.extend_from_slice(&b);
                }
                Err(_) => failed = true,
            }
        }
        (sizes, data, failed)
    }

    #[tokio::test]
    async fn small_reads_are_one_chunk_and_long_reads_stream_in_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        let data: Vec<u8> = (0..(2 * BLOCK + 1000)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();

        let (sizes, got, failed) = collect(read(path.clone(), "b", 10, 4096).await.unwrap()).await;
        assert_eq!((sizes, failed), (vec![4096], false));
        assert_eq!(got, &data[10..4106]);

        let len = data.len() as u64 - 7;
        let (sizes, got, failed) = collect(read(path.clone(), "b", 7, len).await.unwrap()).await;
        assert_eq!((sizes, failed), (vec![BLOCK, BLOCK, 993], false));
        assert_eq!(got, &data[7..]);

        let (sizes, _, failed) = collect(read(path.clone(), "b", 0, 0).await.unwrap()).await;
        assert_eq!((sizes, failed), (vec![], false));
    }

    #[tokio::test]
    async fn a_blob_shorter_than_asked_fails_the_stream_and_a_missing_one_fails_the_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        std::fs::write(&path, vec![1u8; BLOCK + 10]).unwrap();
        // Streamed: the full first block arrives, then the error; no clean end.
        let (sizes, _, failed) = collect(read(path.clone(), "b", 0, 3 * BLOCK as u64).await.unwrap()).await;
        assert_eq!((sizes, failed), (vec![BLOCK], true));
        // One chunk: the error instead of the chunk.
        let (sizes, _, failed) = collect(read(path.clone(), "b", BLOCK as u64, 100).await.unwrap()).await;
        assert_eq!((sizes, failed), (vec![], true));
        assert!(read(dir.path().join("gone"), "gone", 0, 1).await.is_err());
    }
}
