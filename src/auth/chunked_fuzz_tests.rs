//! Property tests ("fuzzing") of the aws-chunked decoder (`auth::chunked`) against a reference
//! encoder written here from the AWS specification ("Signature calculation: transfer payload in
//! multiple chunks", chunk and trailer signatures computed with plain HMAC-SHA256): the decoder accepts
//! exactly what the encoder produces, in any framing, and yields the original bytes and trailers; a
//! changed signature or size, a truncation or any single changed byte never yields different data;
//! hostile bodies end in an error, never a panic, and what the decoder holds back stays bounded.
//!
//! Cases per property: `WORMGATE_FUZZ_CASES` (see `auth::fuzz_tests::config`).

use super::chunked::{PayloadReader, INITIAL_CHUNK_BUFFER, MAX_CHUNK_SIZE, MAX_LINE};
use super::test_support::{aws_chunk_signature, SK};
use super::{ChunkSigningContext, PayloadMode};
use crate::s3::error::{S3Code, S3Result};
use crate::s3::fuzz_tests::{config, tokens};
use bytes::Bytes;
use chrono::{TimeZone, Utc};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use proptest::collection::vec;
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

const DATE: &str = "20250304T050607Z";
const REGION: &str = "us-east-1";

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn sha_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The reference encoder: AWS's chunk format and signature chain.
struct Encoder {
    key: Vec<u8>,
    scope: String,
    prev: String,
    out: Vec<u8>,
    /// Offsets of the hex digits of every chunk size and of every signature in `out`.
    size_digits: Vec<usize>,
    sig_digits: Vec<usize>,
}

impl Encoder {
    fn new(seed: &str) -> Self {
        let date = &DATE[..8];
        let k_date = hmac(format!("AWS4{SK}").as_bytes(), date.as_bytes());
        let key = hmac(&hmac(&hmac(&k_date, REGION.as_bytes()), b"s3"), b"aws4_request");
        Encoder {
            key,
            scope: format!("{date}/{REGION}/s3/aws4_request"),
            prev: seed.to_string(),
            out: Vec::new(),
            size_digits: Vec::new(),
            sig_digits: Vec::new(),
        }
    }

    fn ctx(&self, seed: &str) -> ChunkSigningContext {
        ChunkSigningContext {
            seed_signature: seed.to_string(),
            amz_date: DATE.to_string(),
            scope: self.scope.clone(),
            signing_key: self.key.clone(),
        }
    }

    fn chunk_signature(&self, data: &[u8]) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{DATE}\n{}\n{}\n{}\n{}",
            self.scope,
            self.prev,
            sha_hex(b""),
            sha_hex(data)
        );
        hex::encode(hmac(&self.key, sts.as_bytes()))
    }

    /// `hex(size);chunk-signature=sig\r\n data \r\n` (no data and no CRLF after it for the final chunk).
    fn chunk(&mut self, data: &[u8], signed: bool) {
        let size = format!("{:x}", data.len());
        self.size_digits.extend(self.out.len()..self.out.len() + size.len());
        self.out.extend_from_slice(size.as_bytes());
        if signed {
            let sig = self.chunk_signature(data);
            self.out.extend_from_slice(b";chunk-signature=");
            self.sig_digits.extend(self.out.len()..self.out.len() + 64);
            self.out.extend_from_slice(sig.as_bytes());
            self.prev = sig;
        }
        self.out.extend_from_slice(b"\r\n");
        if !data.is_empty() {
            self.out.extend_from_slice(data);
            self.out.extend_from_slice(b"\r\n");
        }
    }

    /// Trailer lines, then (signed) `x-amz-trailer-signature`, then the empty line.
    fn trailers(&mut self, trailers: &[(String, String)], signed: bool) {
        let mut canon = String::new();
        for (n, v) in trailers {
            self.out.extend_from_slice(format!("{n}:{v}\r\n").as_bytes());
            canon.push_str(n);
            canon.push(':');
            canon.push_str(v);
            canon.push('\n');
        }
        if signed {
            let sts = format!(
                "AWS4-HMAC-SHA256-TRAILER\n{DATE}\n{}\n{}\n{}",
                self.scope,
                self.prev,
                sha_hex(canon.as_bytes())
            );
            let sig = hex::encode(hmac(&self.key, sts.as_bytes()));
            self.out.extend_from_slice(b"x-amz-trailer-signature:");
            self.sig_digits.extend(self.out.len()..self.out.len() + 64);
            self.out.extend_from_slice(sig.as_bytes());
            self.out.extend_from_slice(b"\r\n");
        }
        self.out.extend_from_slice(b"\r\n");
    }
}

/// A body handing out the given frames, then either its end or (`then_pending`) nothing yet.
struct Frames {
    frames: VecDeque<Bytes>,
    then_pending: bool,
}

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        match self.frames.pop_front() {
            Some(b) => Poll::Ready(Some(Ok(http_body::Frame::data(b)))),
            None if self.then_pending => Poll::Pending,
            None => Poll::Ready(None),
        }
    }
}

/// Cut `data` into frames at the given points (any framing must decode alike).
fn framed(data: &[u8], cuts: &[usize]) -> VecDeque<Bytes> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.sort_unstable();
    let mut out = VecDeque::new();
    let mut at = 0;
    for p in points.into_iter().chain(std::iter::once(data.len())) {
        out.push_back(Bytes::copy_from_slice(data.get(at..p).unwrap_or_default()));
        at = p;
    }
    out
}

fn poll_once<F: Future>(f: F) -> Poll<F::Output> {
    let mut f = std::pin::pin!(f);
    f.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

type Decoded = (Vec<u8>, Vec<(String, String)>);

/// Decode the whole body; every released piece must respect `max_piece`.
fn decode(frames: VecDeque<Bytes>, mode: PayloadMode, headers: &HeaderMap, max_piece: usize) -> S3Result<Decoded> {
    let body = Frames {
        frames,
        then_pending: false,
    };
    let mut r = PayloadReader::new(body, mode, headers)?;
    let mut out = Vec::new();
    loop {
        match poll_once(r.next_chunk()) {
            Poll::Ready(Ok(Some(b))) => {
                assert!(!b.is_empty() && b.len() <= max_piece, "piece of {} bytes", b.len());
                out.extend_from_slice(&b);
            }
            Poll::Ready(Ok(None)) => return Ok((out, r.trailers().to_vec())),
            Poll::Ready(Err(e)) => return Err(crate::s3::error::S3Error::from(e)),
            Poll::Pending => unreachable!("a body that never pends made the decoder pend"),
        }
    }
}

/// A signed (or unsigned-trailer) encoding of `payload` cut at `cuts`, with optional trailer.
struct Case {
    enc: Encoder,
    mode: PayloadMode,
    headers: HeaderMap,
    chunks_max: usize,
    expected: Decoded,
}

fn case(payload: &[u8], cuts: &[usize], seed: &[u8; 32], trailer: Option<String>, signed: bool) -> Case {
    let seed = hex::encode(seed);
    let mut enc = Encoder::new(&seed);
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (payload.len() + 1)).collect();
    points.push(payload.len());
    points.sort_unstable();
    points.dedup();
    let mut at = 0;
    let mut chunks_max = 1;
    for p in points {
        if p > at {
            let data = payload.get(at..p).unwrap_or_default();
            chunks_max = chunks_max.max(data.len());
            enc.chunk(data, signed);
        }
        at = p;
    }
    enc.chunk(b"", signed);
    let mut headers = HeaderMap::new();
    let trailers: Vec<(String, String)> = trailer
        .map(|v| vec![("x-amz-checksum-crc32".to_string(), v)])
        .unwrap_or_default();
    let with_trailer = !trailers.is_empty() || !signed;
    if with_trailer {
        headers.insert("x-amz-trailer", http::HeaderValue::from_static("x-amz-checksum-crc32"));
        enc.trailers(&trailers, signed);
    } else {
        enc.out.extend_from_slice(b"\r\n");
    }
    headers.insert("x-amz-decoded-content-length", payload.len().into());
    let mode = if signed {
        PayloadMode::StreamingSigned {
            ctx: enc.ctx(&seed),
            trailer: with_trailer,
        }
    } else {
        PayloadMode::StreamingUnsignedTrailer
    };
    Case {
        enc,
        mode,
        headers,
        chunks_max,
        expected: (payload.to_vec(), trailers),
    }
}

fn trailer_value() -> impl Strategy<Value = Option<String>> {
    prop::option::of(tokens(&["A", "b", "0", "+", "/", "=", "Q=="], 8).prop_filter("non-empty", |v| !v.is_empty()))
}

/// An error of the decoder is one of the S3 errors a client can act on.
fn is_client_error(code: S3Code) -> bool {
    matches!(
        code,
        S3Code::IncompleteBody | S3Code::InvalidRequest | S3Code::SignatureDoesNotMatch | S3Code::InvalidArgument
    )
}

proptest! {
    #![proptest_config(config())]

    /// The decoder accepts what the reference encoder produces (signed, signed with trailer, unsigned
    /// trailer), in any framing, and yields the original bytes and trailers; a signed chunk is released
    /// whole, never more than one chunk at a time.
    #[test]
    fn fuzz_chunked_accepts_the_reference_encoding(
        payload in vec(any::<u8>(), 0..2048), cuts in vec(any::<usize>(), 0..6),
        frame_cuts in vec(any::<usize>(), 0..12), seed in any::<[u8; 32]>(), trailer in trailer_value(),
        signed in any::<bool>(),
    ) {
        let c = case(&payload, &cuts, &seed, trailer, signed);
        let got = decode(framed(&c.enc.out, &frame_cuts), c.mode.clone(), &c.headers, c.chunks_max)
            .map_err(|e| TestCaseError::fail(format!("{e}: {:?}", String::from_utf8_lossy(&c.enc.out))))?;
        prop_assert_eq!(got, c.expected);
    }

    /// The reference's first chunk signature is the one aws-sigv4 computes (the two references agree).
    #[test]
    fn fuzz_chunked_reference_agrees_with_aws_sigv4(data in vec(any::<u8>(), 0..512), seed in any::<[u8; 32]>()) {
        let seed = hex::encode(seed);
        let enc = Encoder::new(&seed);
        let time = Utc.with_ymd_and_hms(2025, 3, 4, 5, 6, 7).single().unwrap_or_default();
        prop_assert_eq!(enc.chunk_signature(&data), aws_chunk_signature(SK, time, REGION, &seed, &data));
        prop_assert_eq!(enc.key.as_slice(), &super::canonical::signing_key(SK, &DATE[..8], REGION, "s3")[..]);
    }

    /// A signature digit or a size digit changed to another value is refused; any single changed
    /// byte anywhere is refused or decodes to exactly the original (a hex digit's case, say).
    #[test]
    fn fuzz_chunked_mutations_are_refused(
        payload in vec(any::<u8>(), 1..1024), cuts in vec(any::<usize>(), 0..4), seed in any::<[u8; 32]>(),
        trailer in trailer_value(), pick in any::<usize>(), byte in any::<u8>(), frame_cuts in vec(any::<usize>(), 0..4),
    ) {
        let c = case(&payload, &cuts, &seed, trailer, true);
        let hex_other = |b: u8| if b == b'0' { b'1' } else { b'0' };
        for digits in [&c.enc.sig_digits, &c.enc.size_digits] {
            let at = digits[pick % digits.len()];
            let mut body = c.enc.out.clone();
            body[at] = hex_other(body[at]);
            let r = decode(framed(&body, &frame_cuts), c.mode.clone(), &c.headers, c.chunks_max);
            prop_assert!(r.as_ref().is_err_and(|e| is_client_error(e.code)), "{:?}", r);
        }
        let mut body = c.enc.out.clone();
        let at = pick % body.len();
        prop_assume!(body[at] != byte);
        body[at] = byte;
        match decode(framed(&body, &frame_cuts), c.mode.clone(), &c.headers, c.chunks_max) {
            Ok(got) => prop_assert_eq!(got, c.expected),
            Err(e) => prop_assert!(is_client_error(e.code), "{}", e),
        }
    }

    /// An `x-amz-decoded-content-length` that is not the payload's length is `IncompleteBody`.
    #[test]
    fn fuzz_chunked_decoded_length_must_match(
        payload in vec(any::<u8>(), 0..1024), cuts in vec(any::<usize>(), 0..4), seed in any::<[u8; 32]>(),
        signed in any::<bool>(), more in any::<bool>(),
    ) {
        let mut c = case(&payload, &cuts, &seed, None, signed);
        let declared = if more { payload.len() + 1 } else { payload.len().saturating_sub(1) };
        prop_assume!(declared != payload.len());
        c.headers.insert("x-amz-decoded-content-length", declared.into());
        let r = decode(VecDeque::from([Bytes::from(c.enc.out)]), c.mode, &c.headers, c.chunks_max);
        prop_assert_eq!(r.map_err(|e| e.code), Err(S3Code::IncompleteBody));
    }

    /// A truncated body is refused, or (cut after the final chunk's CRLF, where nothing is missing)
    /// decodes to the whole payload: never to part of it.
    #[test]
    fn fuzz_chunked_truncation_never_yields_part(
        payload in vec(any::<u8>(), 1..1024), cuts in vec(any::<usize>(), 0..4), seed in any::<[u8; 32]>(),
        trailer in trailer_value(), signed in any::<bool>(), keep in any::<usize>(),
    ) {
        let c = case(&payload, &cuts, &seed, trailer, signed);
        let keep = keep % c.enc.out.len();
        let body = Bytes::copy_from_slice(&c.enc.out[..keep]);
        match decode(VecDeque::from([body]), c.mode.clone(), &c.headers, c.chunks_max) {
            Ok(got) => prop_assert_eq!(got, c.expected),
            Err(e) => prop_assert!(is_client_error(e.code), "{}", e),
        }
    }

    /// Hostile bodies made of the format's own tokens end in an S3 error or a clean end, never a
    /// panic; nothing is released beyond the body's own bytes nor larger than a chunk may be.
    #[test]
    fn fuzz_chunked_garbage_is_answered(
        body in tokens(&["0", "3", "ff", "FFFFFFFFFFFFFFFF", "1000001", ";", "chunk-signature=", "\r\n", "\n", "\r",
            "abc", "x-amz-checksum-crc32:", "DUoRhQ==", "x-amz-trailer-signature:", ":", "e3b0c442", " ", "é"], 40),
        frame_cuts in vec(any::<usize>(), 0..8), mode in 0u8..3, declared in prop::option::of(0u64..64),
    ) {
        let mode = match mode {
            0 => PayloadMode::StreamingUnsignedTrailer,
            m => PayloadMode::StreamingSigned { ctx: Encoder::new(&"ab".repeat(32)).ctx(&"ab".repeat(32)), trailer: m == 2 },
        };
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-trailer", http::HeaderValue::from_static("x-amz-checksum-crc32"));
        if let Some(n) = declared {
            headers.insert("x-amz-decoded-content-length", n.into());
        }
        let max = usize::try_from(MAX_CHUNK_SIZE).unwrap_or(usize::MAX);
        match decode(framed(body.as_bytes(), &frame_cuts), mode, &headers, max) {
            Ok((out, _)) => prop_assert!(out.len() <= body.len()),
            Err(e) => prop_assert!(is_client_error(e.code), "{}", e),
        }
    }

    /// What the decoder holds back stays bounded while a body trickles in: a partial line never
    /// beyond `MAX_LINE` (longer is refused), an announced chunk reserves at most
    /// `INITIAL_CHUNK_BUFFER` before its data arrives, a size above `MAX_CHUNK_SIZE` is refused at
    /// its header.
    #[test]
    fn fuzz_chunked_buffering_is_bounded(size in 1u64..(2 * MAX_CHUNK_SIZE), sent in 0usize..70_000, line in 0usize..9000) {
        let ctx = Encoder::new(&"ab".repeat(32)).ctx(&"ab".repeat(32));
        let mode = PayloadMode::StreamingSigned { ctx, trailer: false };
        let mut frames = VecDeque::new();
        frames.push_back(Bytes::from(format!("{size:x};chunk-signature={}\r\n", "0".repeat(64))));
        let sent = sent.min(usize::try_from(size).unwrap_or(usize::MAX));
        frames.push_back(Bytes::from(vec![b'x'; sent]));
        let mut r = PayloadReader::new(Frames { frames, then_pending: true }, mode.clone(), &HeaderMap::new())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        match poll_once(r.next_chunk()) {
            Poll::Pending => {
                prop_assert!(size <= MAX_CHUNK_SIZE);
                prop_assert!(r.held_capacity() <= INITIAL_CHUNK_BUFFER.max(2 * sent) + MAX_LINE, "{}", r.held_capacity());
            }
            Poll::Ready(Err(e)) => prop_assert!(size > MAX_CHUNK_SIZE, "{}", e),
            Poll::Ready(Ok(_)) => prop_assert!(false, "a chunk was released before its data arrived"),
        }
        // A header line that never ends.
        let frames = VecDeque::from([Bytes::from(vec![b'1'; line])]);
        let mut r = PayloadReader::new(Frames { frames, then_pending: true }, mode, &HeaderMap::new())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        match poll_once(r.next_chunk()) {
            Poll::Pending => prop_assert!(line <= MAX_LINE && r.held_capacity() <= 2 * MAX_LINE.max(line)),
            Poll::Ready(r) => prop_assert!(line > MAX_LINE && r.is_err()),
        }
    }
}
