//! The digests of a streamed body ([`crate::checksum::IngestDigests`]: MD5, SHA-256, flexible
//! checksum), hashed on a blocking thread once the body outgrows [`OFFLOAD_AFTER`].
//!
//! Why: hashing (MD5 alone runs at ≈ 500 MB/s on one core here) was done on the request task between
//! reading a chunk and passing it on, so reading the socket, decoding, hashing and handing bytes to
//! the blob writer ran in sequence. Past the first MiB the chunks (`Bytes`, shared, not copied) go to
//! a hashing thread over a bounded queue (constant memory) while the request task reads the next
//! ones. Small bodies (documents, 4 KiB objects) are hashed inline: no thread hop for them.
//!
//! Nothing changes for verification: the digests are only known at [`BodyDigests::finish`], which
//! waits for the thread, and the body's end is reported only after they match.

use crate::checksum::{ChecksumAlgorithm, ComputedDigests, IngestDigests};
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Bytes hashed inline before the hashing moves to a thread.
pub const OFFLOAD_AFTER: u64 = 1 << 20;
/// Bytes gathered before they go to the hashing thread as one message.
const BATCH: usize = 256 * 1024;
/// Messages queued for the hashing thread (≈ `QUEUE × BATCH` of a body held, plus one batch).
const QUEUE: usize = 8;

/// [`IngestDigests`] of a body, inline or on a hashing thread.
pub struct BodyDigests {
    len: u64,
    state: State,
}

enum State {
    Inline(IngestDigests),
    Offloaded {
        pending: Vec<Bytes>,
        pending_len: usize,
        tx: mpsc::Sender<Vec<Bytes>>,
        handle: JoinHandle<IngestDigests>,
    },
    /// Only while switching from inline to offloaded.
    Switching,
}

impl BodyDigests {
    /// Hash MD5 + SHA-256 always, plus `extra` (as [`IngestDigests::new`]).
    pub fn new(extra: Option<ChecksumAlgorithm>) -> Self {
        BodyDigests {
            len: 0,
            state: State::Inline(IngestDigests::new(extra)),
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

    /// Hash `chunk` (shares it: no copy). Waits only when the hashing thread is a full queue behind.
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
            let (tx, rx) = mpsc::channel(QUEUE);
            let handle = tokio::task::spawn_blocking(move || hash_loop(d, rx));
            self.state = State::Offloaded {
                pending: Vec::new(),
                pending_len: 0,
                tx,
                handle,
            };
        }
        if let State::Offloaded {
            pending,
            pending_len,
            tx,
            ..
        } = &mut self.state
        {
            *pending_len += chunk.len();
            pending.push(chunk.clone());
            if *pending_len >= BATCH {
                *pending_len = 0;
                // The thread only stops when the channel closes (or it panicked: `finish` says so).
                let _ = tx.send(std::mem::take(pending)).await;
            }
        }
    }

    /// The digests of every byte passed to `update`.
    pub async fn finish(self) -> ComputedDigests {
        match self.state {
            State::Inline(d) => d.finish(),
            State::Offloaded {
                pending, tx, handle, ..
            } => {
                if !pending.is_empty() {
                    let _ = tx.send(pending).await;
                }
                drop(tx);
                match handle.await {
                    Ok(d) => d.finish(),
                    // Hashing does not panic; if it did, the request fails like any panic (500).
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Err(_) => std::panic::resume_unwind(Box::new("the hashing thread was cancelled")),
                }
            }
            State::Switching => std::panic::resume_unwind(Box::new("body digests left half-switched")),
        }
    }
}

/// The hashing thread: hash every batch until the channel closes, then hand the state back.
fn hash_loop(mut d: IngestDigests, mut rx: mpsc::Receiver<Vec<Bytes>>) -> IngestDigests {
    while let Some(batch) = rx.blocking_recv() {
        for b in &batch {
            d.update(b);
        }
    }
    d
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
