//! Request bodies: deterministic content that is never held whole in memory, its SHA-256 computed
//! once per distinct body (before any timing starts), and the aws-chunked framing of it.
//!
//! A body of length `len` is a *block* repeated and cut at `len`. Bodies up to [`MAX_BLOCK`] are
//! their own block (distinct content per seed); longer ones repeat a [`MAX_BLOCK`] block, so a
//! 1 GiB PUT streams slices of one 1 MiB buffer (no copies) and its hash is computed once.

use crate::sigv4;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

pub const MAX_BLOCK: usize = 1024 * 1024;

/// Pseudo-random bytes from a seed (xorshift64*): incompressible enough, and reproducible.
fn fill(seed: u64, len: usize) -> Bytes {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    v.truncate(len);
    Bytes::from(v)
}

/// One distinct body: its block, length and digests.
pub struct Payload {
    pub block: Bytes,
    pub len: u64,
    pub sha256_hex: String,
    /// aws-chunked: chunk size and the hex SHA-256 of each chunk-sized slice of the block (a body
    /// repeats the block, and the block is a whole number of chunks when it is shorter than the body).
    chunking: Mutex<Option<(usize, Arc<Vec<String>>)>>,
}

impl Payload {
    fn new(seed: u64, len: u64) -> Payload {
        let block_len = (len as usize).min(MAX_BLOCK);
        let block = fill(seed, block_len);
        let mut h = Sha256::new();
        let mut left = len;
        while left > 0 {
            let n = left.min(block_len as u64) as usize;
            h.update(&block[..n]);
            left -= n as u64;
        }
        Payload {
            block,
            len,
            sha256_hex: hex::encode(h.finalize()),
            chunking: Mutex::new(None),
        }
    }

    fn chunk_hashes(&self, chunk: usize) -> Arc<Vec<String>> {
        let mut c = self.chunking.lock().unwrap();
        if let Some((size, hashes)) = c.as_ref() {
            if *size == chunk {
                return hashes.clone();
            }
        }
        let hashes = Arc::new(self.block.chunks(chunk).map(sigv4::sha256_hex).collect::<Vec<_>>());
        *c = Some((chunk, hashes.clone()));
        hashes
    }
}

/// Distinct bodies by (seed, length), each built and hashed once.
#[derive(Default)]
pub struct PayloadCache {
    map: Mutex<HashMap<(u64, u64), Arc<Payload>>>,
}

impl PayloadCache {
    pub fn get(&self, seed: u64, len: u64) -> Arc<Payload> {
        if let Some(p) = self.map.lock().unwrap().get(&(seed, len)) {
            return p.clone();
        }
        let p = Arc::new(Payload::new(seed, len));
        self.map.lock().unwrap().insert((seed, len), p.clone());
        p
    }
}

/// Where the aws-chunked signatures come from.
pub struct ChunkSigning {
    pub signing_key: [u8; 32],
    pub amz_date: String,
    pub scope: String,
    pub seed_signature: String,
}

/// Length on the wire of an aws-chunked body (signed chunks, no trailer).
pub fn chunked_wire_len(len: u64, chunk: usize) -> u64 {
    let chunk = chunk as u64;
    let frame = |n: u64| format!("{n:x}").len() as u64 + ";chunk-signature=".len() as u64 + 64 + 2 + n + 2;
    let full = len / chunk;
    let rest = len % chunk;
    full * frame(chunk) + if rest > 0 { frame(rest) } else { 0 } + frame(0)
}

/// A request body: empty, one buffer, a payload streamed raw, or a payload in aws-chunked framing.
pub enum ReqBody {
    Empty,
    Full(Option<Bytes>),
    Raw { payload: Arc<Payload>, sent: u64 },
    Chunked(Box<ChunkedBody>),
}

pub struct ChunkedBody {
    payload: Arc<Payload>,
    chunk: usize,
    hashes: Arc<Vec<String>>,
    signing: ChunkSigning,
    prev: String,
    sent: u64,
    /// Frames of the current chunk still to send (header, data, CRLF).
    pending: std::collections::VecDeque<Bytes>,
    done: bool,
}

impl ReqBody {
    pub fn full(b: impl Into<Bytes>) -> ReqBody {
        ReqBody::Full(Some(b.into()))
    }
    pub fn raw(payload: Arc<Payload>) -> ReqBody {
        ReqBody::Raw { payload, sent: 0 }
    }
    pub fn chunked(payload: Arc<Payload>, chunk: usize, signing: ChunkSigning) -> ReqBody {
        // A block shorter than the body is a whole number of chunks (blocks are MAX_BLOCK then).
        let chunk = if (payload.block.len() as u64) < payload.len && !payload.block.len().is_multiple_of(chunk) {
            payload.block.len()
        } else {
            chunk
        };
        let hashes = payload.chunk_hashes(chunk);
        let prev = signing.seed_signature.clone();
        ReqBody::Chunked(Box::new(ChunkedBody {
            payload,
            chunk,
            hashes,
            signing,
            prev,
            sent: 0,
            pending: Default::default(),
            done: false,
        }))
    }
}

impl ChunkedBody {
    fn next_chunk(&mut self) {
        let left = self.payload.len - self.sent;
        let block_len = self.payload.block.len();
        let (data, hash) = if left == 0 {
            self.done = true;
            (Bytes::new(), sigv4::EMPTY_SHA256.to_string())
        } else {
            let off = (self.sent % block_len as u64) as usize;
            let n = (left.min(self.chunk as u64) as usize).min(block_len - off);
            let data = self.payload.block.slice(off..off + n);
            let hash = if n == self.chunk || off + n == block_len {
                self.hashes[off / self.chunk].clone()
            } else {
                sigv4::sha256_hex(&data)
            };
            self.sent += n as u64;
            (data, hash)
        };
        let sig = sigv4::chunk_signature(
            &self.signing.signing_key,
            &self.signing.amz_date,
            &self.signing.scope,
            &self.prev,
            &hash,
        );
        self.pending
            .push_back(Bytes::from(format!("{:x};chunk-signature={sig}\r\n", data.len())));
        if !data.is_empty() {
            self.pending.push_back(data);
        }
        self.pending.push_back(Bytes::from_static(b"\r\n"));
        self.prev = sig;
    }
}

/// Size of the slices a raw payload is sent in.
const RAW_FRAME: usize = 256 * 1024;

impl http_body::Body for ReqBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let out = match this {
            ReqBody::Empty => None,
            ReqBody::Full(b) => b.take(),
            ReqBody::Raw { payload, sent } => {
                let left = payload.len - *sent;
                if left == 0 {
                    None
                } else {
                    let block_len = payload.block.len();
                    let off = (*sent % block_len as u64) as usize;
                    let n = (left.min(RAW_FRAME as u64) as usize).min(block_len - off);
                    *sent += n as u64;
                    Some(payload.block.slice(off..off + n))
                }
            }
            ReqBody::Chunked(c) => {
                if c.pending.is_empty() && !c.done {
                    c.next_chunk();
                }
                c.pending.pop_front()
            }
        };
        Poll::Ready(out.map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ReqBody::Empty => true,
            ReqBody::Full(b) => b.is_none(),
            ReqBody::Raw { payload, sent } => *sent == payload.len,
            ReqBody::Chunked(c) => c.done && c.pending.is_empty(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ReqBody::Empty => SizeHint::with_exact(0),
            ReqBody::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            ReqBody::Raw { payload, sent } => SizeHint::with_exact(payload.len - sent),
            ReqBody::Chunked(c) => {
                if c.sent == 0 && c.pending.is_empty() && !c.done {
                    SizeHint::with_exact(chunked_wire_len(c.payload.len, c.chunk))
                } else {
                    SizeHint::default()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn collect(b: ReqBody) -> Vec<u8> {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async { b.collect().await.unwrap().to_bytes().to_vec() })
    }

    #[test]
    fn raw_body_repeats_the_block_and_matches_its_hash() {
        let cache = PayloadCache::default();
        let p = cache.get(7, 3 * MAX_BLOCK as u64 + 5);
        let bytes = collect(ReqBody::raw(p.clone()));
        assert_eq!(bytes.len() as u64, p.len);
        assert_eq!(sigv4::sha256_hex(&bytes), p.sha256_hex);
        assert_eq!(&bytes[MAX_BLOCK..MAX_BLOCK + 16], &p.block[..16]);
        let small = cache.get(1, 4096);
        assert_ne!(small.block, cache.get(2, 4096).block);
        assert_eq!(
            sigv4::sha256_hex(&collect(ReqBody::raw(small.clone()))),
            small.sha256_hex
        );
    }

    #[test]
    fn chunked_framing_has_the_announced_length_and_decodes_to_the_body() {
        let cache = PayloadCache::default();
        for len in [0u64, 4096, 65536, 65537, 2 * MAX_BLOCK as u64 + 100] {
            let p = cache.get(3, len);
            let signing = ChunkSigning {
                signing_key: [1; 32],
                amz_date: "20260101T000000Z".into(),
                scope: "20260101/us-east-1/s3/aws4_request".into(),
                seed_signature: "0".repeat(64),
            };
            let body = ReqBody::chunked(p.clone(), 65536, signing);
            let hint = http_body::Body::size_hint(&body).exact().unwrap();
            let wire = collect(body);
            assert_eq!(wire.len() as u64, hint, "len {len}");
            // De-frame and compare.
            let mut out = Vec::new();
            let mut rest = &wire[..];
            loop {
                let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
                let header = std::str::from_utf8(&rest[..eol]).unwrap();
                let n = usize::from_str_radix(header.split(';').next().unwrap(), 16).unwrap();
                rest = &rest[eol + 2..];
                out.extend_from_slice(&rest[..n]);
                assert_eq!(&rest[n..n + 2], b"\r\n");
                rest = &rest[n + 2..];
                if n == 0 {
                    break;
                }
            }
            assert!(rest.is_empty());
            assert_eq!(sigv4::sha256_hex(&out), p.sha256_hex);
        }
    }
}
