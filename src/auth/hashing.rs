//! The digests of a streamed body ([`crate::checksum::IngestDigests`]: MD5, SHA-256, flexible
//! checksum), hashed on two blocking threads once the body outgrows [`OFFLOAD_AFTER`]: one for MD5,
//! one for every other digest.
//!
//! Why: hashing was done on the request task between reading a chunk and passing it on, so reading
//! the socket, hashing and handing bytes to the blob writer ran in sequence, and MD5 (≈ 500 MB/s on
//! one core here, three times slower than SHA-256 with SHA-NI) capped a large PUT below the disk's
//! write+fdatasync rate. Past the first MiB the chunks (`Bytes`, shared, not copied) go over bounded
//! queues (constant memory) to an MD5 thread and a thread for the rest, while the request task reads
//! the next ones. Small bodies (documents, 4 KiB objects) are hashed inline: no thread hop for them.
//!
//! Nothing changes for verification: the digests are only known at [`BodyDigests::finish`], which
//! waits for both threads, and the body's end is reported only after they match.

use crate::checksum::{ChecksumAlgorithm, ComputedDigests, IngestDigests};
use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Bytes hashed inline before the hashing moves to threads.
pub const OFFLOAD_AFTER: u64 = 1 << 20;
/// Bytes gathered before they go to the hashing threads as one message.
const BATCH: usize = 256 * 1024;
/// Messages queued for each hashing thread (≈ `QUEUE × BATCH` of a body held, plus one batch).
const QUEUE: usize = 8;

/// [`IngestDigests`] of a body, inline or on hashing threads.
pub struct BodyDigests {
    len: u64,
    state: State,
}

/// A batch shared by both hashing threads.
type Batch = Arc<Vec<Bytes>>;

enum State {
    Inline(Box<IngestDigests>),
    Offloaded {
        pending: Vec<Bytes>,
        pending_len: usize,
        md5_tx: mpsc::Sender<Batch>,
        rest_tx: mpsc::Sender<Batch>,
        md5: JoinHandle<md5::Md5>,
        rest: JoinHandle<IngestDigests>,
    },
    /// Only while switching from inline to offloaded.
    Switching,
}

impl BodyDigests {
    /// Hash MD5 + SHA-256 always, plus `extra` (as [`IngestDigests::new`]).
    pub fn new(extra: Option<ChecksumAlgorithm>) -> Self {
        BodyDigests {
            len: 0,
            state: State::Inline(Box::new(IngestDigests::new(extra))),
        }
    }

    /// Bytes hashed (or queued for hashing) so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no byte arrived yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Hash `chunk` (shares it: no copy). Waits only when a hashing thread is a full queue behind.
    pub async fn update(&mut self, chunk: &Bytes) {
        if chunk.is_empty() {
            return;
        }
        self.len += chunk.len() as u64;
        if let State::Inline(d) = &mut self.state {
            if self.len <= OFFLOAD_AFTER {
                d.update(chunk);
                return;
            }
            let State::Inline(d) = std::mem::replace(&mut self.state, State::Switching) else {
                return;
            };
            let mut d = *d;
            let mut m = d.take_md5();
            let (md5_tx, mut md5_rx) = mpsc::channel::<Batch>(QUEUE);
            let (rest_tx, mut rest_rx) = mpsc::channel::<Batch>(QUEUE);
            let md5 = tokio::task::spawn_blocking(move || {
                use md5::Digest as _;
                while let Some(batch) = md5_rx.blocking_recv() {
                    for b in batch.iter() {
                        m.update(b);
                    }
                }
                m
            });
            let rest = tokio::task::spawn_blocking(move || {
                while let Some(batch) = rest_rx.blocking_recv() {
                    for b in batch.iter() {
                        d.update_all_but_md5(b);
                    }
                }
                d
            });
            self.state = State::Offloaded {
                pending: Vec::new(),
                pending_len: 0,
                md5_tx,
                rest_tx,
                md5,
                rest,
            };
        }
        if let State::Offloaded {
            pending,
            pending_len,
            md5_tx,
            rest_tx,
            ..
        } = &mut self.state
        {
            *pending_len += chunk.len();
            pending.push(chunk.clone());
            if *pending_len >= BATCH {
                *pending_len = 0;
                send(md5_tx, rest_tx, std::mem::take(pending)).await;
            }
        }
    }

    /// The digests of every byte passed to `update`.
    pub async fn finish(self) -> ComputedDigests {
        match self.state {
            State::Inline(d) => d.finish(),
            State::Offloaded {
                pending,
                md5_tx,
                rest_tx,
                md5,
                rest,
                ..
            } => {
                if !pending.is_empty() {
                    send(&md5_tx, &rest_tx, pending).await;
                }
                drop((md5_tx, rest_tx));
                let m = joined(md5.await);
                joined(rest.await).finish_with_md5(m)
            }
            State::Switching => std::panic::resume_unwind(Box::new("body digests left half-switched")),
        }
    }
}

/// One batch to both threads. A thread only stops when its channel closes (or it panicked, which
/// `finish` reports), so a failed send needs no handling here.
async fn send(md5_tx: &mpsc::Sender<Batch>, rest_tx: &mpsc::Sender<Batch>, batch: Vec<Bytes>) {
    let batch = Arc::new(batch);
    let _ = md5_tx.send(batch.clone()).await;
    let _ = rest_tx.send(batch).await;
}

/// A hashing thread's state. Hashing does not panic; if it did, the request fails like any panic
/// (the gateway's panic boundary answers 500).
fn joined<T>(r: Result<T, tokio::task::JoinError>) -> T {
    match r {
        Ok(t) => t,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => std::panic::resume_unwind(Box::new("a hashing thread was cancelled")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8).collect()
    }

    #[tokio::test]
    async fn offloaded_digests_equal_inline_digests() {
        for len in [0, 1, 1000, OFFLOAD_AFTER as usize, OFFLOAD_AFTER as usize + 1, 5 << 20] {
            for alg in [None, Some(ChecksumAlgorithm::Crc64Nvme), Some(ChecksumAlgorithm::Sha1)] {
                let data = body(len);
                let mut reference = IngestDigests::new(alg);
                reference.update(&data);
                let want = reference.finish();
                let mut d = BodyDigests::new(alg);
                let mut at = 0;
                let mut step = 7;
                while at < len {
                    let n = step.min(len - at);
                    d.update(&Bytes::copy_from_slice(&data[at..at + n])).await;
                    at += n;
                    step = (step * 5 + 3) % 200_000 + 1;
                }
                assert_eq!(d.len(), len as u64);
                let got = d.finish().await;
                assert_eq!(got.md5, want.md5, "{len} {alg:?}");
                assert_eq!(got.sha256, want.sha256, "{len} {alg:?}");
                assert_eq!(got.checksum, want.checksum, "{len} {alg:?}");
                assert_eq!(got.len, want.len);
            }
        }
    }
}
