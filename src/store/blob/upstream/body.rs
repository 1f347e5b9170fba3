//! Bodies of upstream requests: empty, in memory, or fed through a bounded channel by a
//! `BlobWriter` (streaming, nothing buffered whole). A channel body only ends cleanly when the
//! writer says so (`Msg::End`); a writer that is dropped or aborted makes the body fail, so the
//! upstream never sees a complete request for an upload that did not commit.
//!
//! With `framed`, the channel bytes are sent as `aws-chunked` (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`)
//! with an `x-amz-checksum-crc32` trailer: the digest AWS requires on PUTs carrying Object Lock
//! headers, computed while streaming. Chunks have a fixed size (`CHUNK`, the last one shorter) so
//! that the encoded length is known up front (`framed_len`).

use bytes::{BufMut, Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Size of the chunks a writer sends (the last may be shorter).
pub const CHUNK: usize = 128 * 1024;
/// Chunks in flight between a writer and its request.
pub const IN_FLIGHT: usize = 8;

/// What a writer sends into a channel body.
pub enum Msg {
    Data(Bytes),
    /// Clean end of the body.
    End,
    /// Abort: the request must fail.
    Abort,
}

/// A request body for the upstream client.
pub enum UpstreamBody {
    Full(Option<Bytes>),
    Channel(ChannelBody),
}

pub struct ChannelBody {
    rx: mpsc::Receiver<Msg>,
    len: u64,
    framed: Option<crc32fast::Hasher>,
    done: bool,
}

impl UpstreamBody {
    pub fn empty() -> Self {
        UpstreamBody::Full(None)
    }

    pub fn full(b: Bytes) -> Self {
        UpstreamBody::Full(if b.is_empty() { None } else { Some(b) })
    }

    /// A channel body of exactly `len` encoded bytes (`framed_len(n)` when framed).
    pub fn channel(len: u64, framed: bool) -> (mpsc::Sender<Msg>, Self) {
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        let body = ChannelBody {
            rx,
            len,
            framed: framed.then(crc32fast::Hasher::new),
            done: false,
        };
        (tx, UpstreamBody::Channel(body))
    }
}

const TRAILER_NAME: &str = "x-amz-checksum-crc32";

fn hex_len(n: usize) -> u64 {
    format!("{n:x}").len() as u64
}

/// Encoded length of `n` payload bytes framed as aws-chunked in `CHUNK`-sized chunks with the
/// CRC32 trailer.
pub fn framed_len(n: u64) -> u64 {
    let full = n / CHUNK as u64;
    let rem = crate::units::take_len(n % CHUNK as u64, CHUNK);
    let mut len = full * (hex_len(CHUNK) + 2 + CHUNK as u64 + 2);
    if rem > 0 {
        len += hex_len(rem) + 2 + rem as u64 + 2;
    }
    // "0\r\n" + "x-amz-checksum-crc32:" + 8 base64 chars + "\r\n" + "\r\n"
    len + 3 + TRAILER_NAME.len() as u64 + 1 + 8 + 2 + 2
}

fn frame_chunk(data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() + 16);
    out.put_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.put_slice(data);
    out.put_slice(b"\r\n");
    out.freeze()
}

fn final_chunk(crc: u32) -> Bytes {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes());
    Bytes::from(format!("0\r\n{TRAILER_NAME}:{b64}\r\n\r\n"))
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            UpstreamBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            UpstreamBody::Channel(c) => {
                if c.done {
                    return Poll::Ready(None);
                }
                match c.rx.poll_recv(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Some(Msg::Data(b))) => Poll::Ready(Some(Ok(Frame::data(match c.framed.as_mut() {
                        Some(crc) => {
                            crc.update(&b);
                            frame_chunk(&b)
                        }
                        None => b,
                    })))),
                    Poll::Ready(Some(Msg::End)) => {
                        c.done = true;
                        match c.framed.take() {
                            Some(crc) => Poll::Ready(Some(Ok(Frame::data(final_chunk(crc.finalize()))))),
                            None => Poll::Ready(None),
                        }
                    }
                    Poll::Ready(Some(Msg::Abort) | None) => {
                        c.done = true;
                        Poll::Ready(Some(Err(std::io::Error::other("upload aborted before completion"))))
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            UpstreamBody::Full(b) => b.is_none(),
            UpstreamBody::Channel(c) => c.done,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            UpstreamBody::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            UpstreamBody::Channel(c) => SizeHint::with_exact(c.len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn framed_body_has_the_announced_length_and_trailer() {
        for n in [0usize, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            let (tx, body) = UpstreamBody::channel(framed_len(n as u64), true);
            let d = data.clone();
            tokio::spawn(async move {
                for c in d.chunks(CHUNK) {
                    tx.send(Msg::Data(Bytes::copy_from_slice(c))).await.unwrap();
                }
                tx.send(Msg::End).await.unwrap();
            });
            let out = body.collect().await.unwrap().to_bytes();
            assert_eq!(out.len() as u64, framed_len(n as u64), "n={n}");
            let text = String::from_utf8_lossy(&out);
            use base64::Engine;
            let crc = base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(&data).to_be_bytes());
            assert!(
                text.ends_with(&format!("0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n")),
                "n={n}"
            );
        }
    }

    #[tokio::test]
    async fn dropped_writer_fails_the_body() {
        let (tx, body) = UpstreamBody::channel(10, false);
        tx.send(Msg::Data(Bytes::from_static(b"abc"))).await.unwrap();
        drop(tx);
        assert!(body.collect().await.is_err());
    }
}
