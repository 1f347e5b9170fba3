//! Body de-framing and verification while it streams: raw bodies pass through; aws-chunked bodies
//! (signed chunks, signed or unsigned trailers) are decoded and every chunk signature checked.
//!
//! Wire forms (hyper has already removed any HTTP/1.1 `Transfer-Encoding: chunked` layer):
//!
//! ```text
//! STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]:
//!   hex(size);chunk-signature=<64 hex>\r\n <data> \r\n   …   0;chunk-signature=<64 hex>\r\n
//!   then \r\n                                                              (no trailer)
//!   or   x-amz-checksum-xxx:<b64>\r\n x-amz-trailer-signature:<64 hex>\r\n \r\n   (trailer)
//! STREAMING-UNSIGNED-PAYLOAD-TRAILER:
//!   hex(size)\r\n <data> \r\n   …   0\r\n [name:value\r\n …] \r\n
//! ```
//!
//! minio-go (restic, Kopia) ends trailer lines with a bare `\n` followed by `\r\n`; that form is
//! accepted in the trailer section only. The decoding is driven by the [`PayloadMode`] the signature
//! check produced, never by `Content-Encoding`.

use super::canonical;
use super::error::BodyError;
use super::{ChunkSigningContext, PayloadMode};
use crate::headers::HeaderProblem;
use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

/// Largest chunk accepted in an aws-chunked body. Real clients send 64 KiB – 8 MiB chunks; a signed
/// chunk has to be held in memory until its signature is checked, so the size is capped.
pub const MAX_CHUNK_SIZE: u64 = 16 * 1024 * 1024;
/// Longest chunk-header or trailer line accepted.
pub(super) const MAX_LINE: usize = 4096;
/// Most trailer lines accepted after the final chunk.
const MAX_TRAILERS: usize = 16;
/// Initial buffer reserved for a signed chunk; it grows as data actually arrives.
pub(super) const INITIAL_CHUNK_BUFFER: usize = 1024 * 1024;

/// How the body is framed (derived from [`PayloadMode`]).
enum Framing {
    Raw,
    Signed {
        ctx: ChunkSigningContext,
        trailer: bool,
        prev_signature: String,
    },
    UnsignedTrailer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading `hex(size)[;chunk-signature=…]\r\n`.
    ChunkHeader,
    /// Reading chunk data: this many bytes remain.
    Data(u64),
    /// Expecting the `\r\n` after chunk data; this many of its bytes were seen.
    DataCrlf(u8),
    /// After the final chunk: trailer lines up to an empty line.
    Trailer,
    /// Framing complete: only the end of the body may follow.
    End,
    /// Finished (or raw pass-through exhausted).
    Done,
}

enum Step {
    Yield(Bytes),
    NeedInput,
    Finished,
}

/// Streams the decoded payload of a request body.
// The flags are independent facts about one body (signed, trailer seen, …), not a state machine.
#[allow(clippy::struct_excessive_bools)]
pub struct PayloadReader<B> {
    body: B,
    framing: Framing,
    state: State,
    /// Unconsumed bytes of the current body frame.
    pending: Bytes,
    /// Partial chunk-header / trailer line.
    line: Vec<u8>,
    /// Data of the signed chunk being read (released once its signature checks out).
    chunk_buf: BytesMut,
    chunk_hash: Sha256,
    chunk_signature: String,
    declared_trailers: Vec<String>,
    trailers: Vec<(String, String)>,
    trailer_signature_seen: bool,
    /// The previous trailer line ended with a bare `\n` (minio-go): a following empty `\r\n` line
    /// belongs to that line ending.
    prev_bare_lf: bool,
    /// The last thing consumed was such a continuation `\r\n`.
    after_continuation: bool,
    /// Anything (trailer line or partial line) was read after the final chunk header.
    trailer_section_started: bool,
    decoded_total: u64,
    decoded_expected: Option<u64>,
    /// A decoding error is sticky: later calls return it again instead of a clean end.
    failed: Option<BodyError>,
}

impl<B> PayloadReader<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    /// Prepare to decode `body` according to `mode`; `headers` are the request headers (for
    /// `x-amz-decoded-content-length` and `x-amz-trailer`). Why: the payload mode comes from the
    /// verified signature, so a client cannot pick a weaker framing than it signed.
    pub fn new(body: B, mode: PayloadMode, headers: &HeaderMap) -> Result<Self, BodyError> {
        let framing = match mode {
            PayloadMode::Sha256Hex(_) | PayloadMode::Unsigned => Framing::Raw,
            PayloadMode::StreamingSigned { ctx, trailer } => {
                let prev_signature = ctx.seed_signature.to_ascii_lowercase();
                Framing::Signed {
                    ctx,
                    trailer,
                    prev_signature,
                }
            }
            PayloadMode::StreamingUnsignedTrailer => Framing::UnsignedTrailer,
        };
        let mut decoded_expected = None;
        let mut declared_trailers = Vec::new();
        if !matches!(framing, Framing::Raw) {
            let value = match crate::headers::single(headers, "x-amz-decoded-content-length") {
                Err(HeaderProblem::Repeated) => return Err(BodyError::DecodedLengthRepeated),
                // Not ASCII: not a number either (refused below).
                Err(HeaderProblem::NotAscii) => Some(""),
                Ok(v) => v,
            };
            if let Some(v) = value {
                let n = Some(v.trim())
                    .filter(|s| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or(BodyError::DecodedLengthNotNumber)?;
                decoded_expected = Some(n);
            }
            for v in headers.get_all("x-amz-trailer") {
                let s = v.to_str().map_err(|_| BodyError::TrailerHeaderNotAscii)?;
                for name in s
                    .split(',')
                    .map(|n| n.trim().to_ascii_lowercase())
                    .filter(|n| !n.is_empty())
                {
                    if !declared_trailers.contains(&name) {
                        declared_trailers.push(name);
                    }
                }
            }
        }
        Ok(PayloadReader {
            body,
            framing,
            state: State::ChunkHeader,
            pending: Bytes::new(),
            line: Vec::new(),
            chunk_buf: BytesMut::new(),
            chunk_hash: Sha256::new(),
            chunk_signature: String::new(),
            declared_trailers,
            trailers: Vec::new(),
            trailer_signature_seen: false,
            prev_bare_lf: false,
            after_continuation: false,
            trailer_section_started: false,
            decoded_total: 0,
            decoded_expected,
            failed: None,
        })
    }

    /// Next decoded chunk of payload, `None` at the end once all framing and signatures checked out.
    /// For signed chunks, data is released only after that chunk's signature is verified; unsigned
    /// data is released as it arrives.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = if matches!(self.framing, Framing::Raw) {
            self.next_raw().await
        } else {
            self.next_decoded().await
        };
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    /// Trailing headers (lower-case names, trimmed values) that arrived after the payload; valid after
    /// the end. Why: the checksum trailer is compared with the computed digest before anything commits.
    pub fn trailers(&self) -> &[(String, String)] {
        &self.trailers
    }

    /// Bytes reserved for what the decoder holds back (a partial line, an unverified chunk); the fuzz
    /// tests bound it.
    #[cfg(test)]
    pub(super) fn held_capacity(&self) -> usize {
        self.line.capacity() + self.chunk_buf.capacity()
    }

    async fn read_frame(&mut self) -> Result<Option<Bytes>, BodyError> {
        loop {
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(BodyError::Read(std::sync::Arc::from(e.into()))),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            return Ok(Some(data));
                        }
                    }
                }
            }
        }
    }

    async fn next_raw(&mut self) -> Result<Option<Bytes>, BodyError> {
        if self.state == State::Done {
            return Ok(None);
        }
        if let Some(data) = self.read_frame().await? {
            Ok(Some(data))
        } else {
            self.state = State::Done;
            Ok(None)
        }
    }

    async fn next_decoded(&mut self) -> Result<Option<Bytes>, BodyError> {
        loop {
            match self.advance()? {
                Step::Yield(b) => return Ok(Some(b)),
                Step::Finished => return Ok(None),
                Step::NeedInput => match self.read_frame().await? {
                    Some(data) => self.pending = data,
                    None => self.on_eof()?,
                },
            }
        }
    }

    /// The body ended: fine after complete framing (and in two lenient cases after the final chunk),
    /// otherwise `IncompleteBody`.
    fn on_eof(&mut self) -> Result<(), BodyError> {
        match self.state {
            State::End | State::Done => {
                self.state = State::Done;
                Ok(())
            }
            State::Trailer
                if self.line.is_empty()
                    && (self.after_continuation || !self.trailer_section_started)
                    && self.all_declared_trailers_arrived() =>
            {
                // `0;chunk-signature=…\r\n` or `…:value\n\r\n` then end of body: nothing is missing.
                self.finish_trailers()?;
                self.state = State::Done;
                Ok(())
            }
            _ => Err(BodyError::Truncated),
        }
    }

    /// Decode as much of `pending` as possible.
    fn advance(&mut self) -> Result<Step, BodyError> {
        loop {
            match self.state {
                State::Done => return Ok(Step::Finished),
                State::End => {
                    if !self.pending.is_empty() {
                        return Err(BodyError::AfterEnd);
                    }
                    return Ok(Step::NeedInput);
                }
                State::ChunkHeader => {
                    let Some((line, _)) = self.take_line(true)? else {
                        return Ok(Step::NeedInput);
                    };
                    self.on_chunk_header(&line)?;
                }
                State::Data(remaining) => {
                    if self.pending.is_empty() {
                        return Ok(Step::NeedInput);
                    }
                    let n = crate::units::take_len(remaining, self.pending.len());
                    let piece = self.pending.split_to(n);
                    let left = remaining - n as u64;
                    self.state = if left == 0 {
                        State::DataCrlf(0)
                    } else {
                        State::Data(left)
                    };
                    if matches!(self.framing, Framing::Signed { .. }) {
                        self.chunk_hash.update(&piece);
                        self.chunk_buf.extend_from_slice(&piece);
                    } else {
                        return Ok(Step::Yield(piece));
                    }
                }
                State::DataCrlf(mut got) => {
                    while got < 2 {
                        let Some(&b) = self.pending.first() else {
                            self.state = State::DataCrlf(got);
                            return Ok(Step::NeedInput);
                        };
                        if b != if got == 0 { b'\r' } else { b'\n' } {
                            return Err(BodyError::DataNotTerminated);
                        }
                        let _ = self.pending.split_to(1);
                        got += 1;
                    }
                    self.state = State::ChunkHeader;
                    if matches!(self.framing, Framing::Signed { .. }) {
                        let hash = hex::encode(std::mem::take(&mut self.chunk_hash).finalize());
                        let sig = std::mem::take(&mut self.chunk_signature);
                        self.verify_chunk(&hash, &sig)?;
                        let data = self.chunk_buf.split().freeze();
                        if !data.is_empty() {
                            return Ok(Step::Yield(data));
                        }
                    }
                }
                State::Trailer => {
                    if !self.pending.is_empty() {
                        self.trailer_section_started = true;
                    }
                    let Some((line, bare_lf)) = self.take_line(false)? else {
                        return Ok(Step::NeedInput);
                    };
                    self.on_trailer_line(&line, bare_lf)?;
                }
            }
        }
    }

    /// Take one line from `pending` (+ what was buffered). `strict`: must end in CRLF. Otherwise a
    /// bare LF is allowed and reported. `None` when more input is needed.
    fn take_line(&mut self, strict: bool) -> Result<Option<(Vec<u8>, bool)>, BodyError> {
        let Some(idx) = self.pending.iter().position(|&b| b == b'\n') else {
            if self.line.len() + self.pending.len() > MAX_LINE {
                return Err(BodyError::LineTooLong);
            }
            self.line.extend_from_slice(&self.pending);
            self.pending = Bytes::new();
            return Ok(None);
        };
        if self.line.len() + idx > MAX_LINE {
            return Err(BodyError::LineTooLong);
        }
        let head = self.pending.split_to(idx + 1);
        self.line.extend_from_slice(head.get(..idx).unwrap_or_default());
        let mut line = std::mem::take(&mut self.line);
        let bare_lf = if line.last() == Some(&b'\r') {
            line.pop();
            false
        } else if strict {
            return Err(BodyError::HeaderNotCrlf);
        } else {
            true
        };
        Ok(Some((line, bare_lf)))
    }

    fn on_chunk_header(&mut self, line: &[u8]) -> Result<(), BodyError> {
        let malformed = || BodyError::MalformedChunkHeader {
            shown: String::from_utf8_lossy(line.get(..100).unwrap_or(line)).into_owned(),
        };
        let (size_part, ext) = match line
            .iter()
            .position(|&b| b == b';')
            .and_then(|i| line.split_at_checked(i))
        {
            Some((size, semicolon_ext)) => (size, semicolon_ext.get(1..)),
            None => (line, None),
        };
        if size_part.is_empty() || size_part.len() > 16 || !size_part.iter().all(u8::is_ascii_hexdigit) {
            return Err(malformed());
        }
        let size = std::str::from_utf8(size_part)
            .ok()
            .and_then(|s| u64::from_str_radix(s, 16).ok())
            .ok_or_else(malformed)?;
        let signature = match &self.framing {
            Framing::Signed { .. } => {
                let ext = ext.ok_or(BodyError::NoChunkSignature)?;
                let sig = ext.strip_prefix(b"chunk-signature=").ok_or_else(malformed)?;
                String::from_utf8_lossy(sig).into_owned()
            }
            // Chunk extensions carry nothing in an unsigned body; they are ignored.
            _ => String::new(),
        };
        if size > MAX_CHUNK_SIZE {
            return Err(BodyError::ChunkTooLarge {
                size,
                limit: MAX_CHUNK_SIZE,
            });
        }
        self.decoded_total = self.decoded_total.saturating_add(size);
        if let Some(expected) = self.decoded_expected {
            if self.decoded_total > expected {
                return Err(BodyError::LongerThanDeclared { expected });
            }
        }
        if size == 0 {
            if matches!(self.framing, Framing::Signed { .. }) {
                self.verify_chunk(canonical::EMPTY_SHA256, &signature)?;
            }
            self.state = State::Trailer;
            return Ok(());
        }
        if matches!(self.framing, Framing::Signed { .. }) {
            self.chunk_signature = signature;
            self.chunk_hash = Sha256::new();
            self.chunk_buf
                .reserve(crate::units::take_len(size, INITIAL_CHUNK_BUFFER));
        }
        self.state = State::Data(size);
        Ok(())
    }

    /// Check one chunk signature against the chain and advance it.
    fn verify_chunk(&mut self, data_sha256_hex: &str, provided: &str) -> Result<(), BodyError> {
        let Framing::Signed {
            ctx, prev_signature, ..
        } = &mut self.framing
        else {
            return Ok(());
        };
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{}\n{}",
            ctx.amz_date,
            ctx.scope,
            prev_signature,
            canonical::EMPTY_SHA256,
            data_sha256_hex
        );
        let expected = hex::encode(canonical::hmac_sha256(&ctx.signing_key, sts.as_bytes()));
        if !canonical::ct_eq(expected.as_bytes(), provided.to_ascii_lowercase().as_bytes()) {
            return Err(BodyError::ChunkSignatureMismatch);
        }
        *prev_signature = expected;
        Ok(())
    }

    fn on_trailer_line(&mut self, line: &[u8], bare_lf: bool) -> Result<(), BodyError> {
        if line.is_empty() {
            if self.prev_bare_lf {
                // minio-go: `name:value\n` followed by `\r\n`.
                self.prev_bare_lf = false;
                self.after_continuation = true;
                return Ok(());
            }
            self.finish_trailers()?;
            self.state = State::End;
            return Ok(());
        }
        self.prev_bare_lf = bare_lf;
        self.after_continuation = false;
        let (signed_trailer, allows_trailers) = match &self.framing {
            Framing::Signed { trailer, .. } => (*trailer, *trailer),
            Framing::UnsignedTrailer => (false, true),
            Framing::Raw => (false, false),
        };
        if !allows_trailers {
            return Err(BodyError::UnexpectedTrailer);
        }
        if self.trailer_signature_seen {
            return Err(BodyError::TrailerAfterSignature);
        }
        let text = std::str::from_utf8(line).map_err(|_| BodyError::TrailerNotUtf8)?;
        let (name, value) = text.split_once(':').ok_or(BodyError::TrailerNotNameValue)?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim().to_string();
        if name.is_empty() || http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(BodyError::TrailerBadName);
        }
        if signed_trailer && name == "x-amz-trailer-signature" {
            self.verify_trailer_signature(&value)?;
            self.trailer_signature_seen = true;
            return Ok(());
        }
        if !self.declared_trailers.contains(&name) {
            return Err(BodyError::TrailerUndeclared { name });
        }
        if self.trailers.iter().any(|(n, _)| *n == name) {
            return Err(BodyError::TrailerRepeated { name });
        }
        if name.starts_with("x-amz-checksum-") && self.trailers.iter().any(|(n, _)| n.starts_with("x-amz-checksum-")) {
            return Err(BodyError::SeveralChecksumTrailers);
        }
        if self.trailers.len() >= MAX_TRAILERS {
            return Err(BodyError::TooManyTrailers);
        }
        self.trailers.push((name, value));
        Ok(())
    }

    /// `AWS4-HMAC-SHA256-TRAILER` signature over the canonical trailers (`name:value\n`, sorted by name),
    /// chained from the final chunk signature.
    fn verify_trailer_signature(&mut self, provided: &str) -> Result<(), BodyError> {
        let Framing::Signed {
            ctx, prev_signature, ..
        } = &mut self.framing
        else {
            return Ok(());
        };
        let mut sorted: Vec<&(String, String)> = self.trailers.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut canon = String::new();
        for (n, v) in sorted {
            canon.push_str(n);
            canon.push(':');
            canon.push_str(v);
            canon.push('\n');
        }
        let sts = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            ctx.amz_date,
            ctx.scope,
            prev_signature,
            canonical::sha256_hex(canon.as_bytes())
        );
        let expected = hex::encode(canonical::hmac_sha256(&ctx.signing_key, sts.as_bytes()));
        if !canonical::ct_eq(expected.as_bytes(), provided.to_ascii_lowercase().as_bytes()) {
            return Err(BodyError::TrailerSignatureMismatch);
        }
        *prev_signature = expected;
        Ok(())
    }

    /// End of the trailer section: the signed trailer must have been signed, and the decoded length
    /// must be what was announced.
    /// Every trailer named in `x-amz-trailer` was received (a body that ends before one is truncated).
    fn all_declared_trailers_arrived(&self) -> bool {
        self.declared_trailers
            .iter()
            .all(|d| self.trailers.iter().any(|(n, _)| n == d))
    }

    fn finish_trailers(&mut self) -> Result<(), BodyError> {
        if let Framing::Signed { trailer: true, .. } = self.framing {
            if !self.trailer_signature_seen {
                return Err(BodyError::MissingTrailerSignature);
            }
        }
        if let Some(expected) = self.decoded_expected {
            if self.decoded_total != expected {
                return Err(BodyError::LengthMismatch {
                    expected,
                    received: self.decoded_total,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::{at, aws_chunk_signature, aws_sign, aws_trailer_signature, users, SignSpec, SK};
    use crate::auth::{sigv4, AuthSettings};
    use crate::s3::error::{S3Code, S3Error, S3Result};
    use aws_sigv4::http_request::SignableBody;
    use http_body::Frame;
    use std::convert::Infallible;

    type TestBody =
        http_body_util::StreamBody<futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

    fn body_of(frames: Vec<Bytes>) -> TestBody {
        let frames: Vec<Result<Frame<Bytes>, Infallible>> = frames.into_iter().map(|b| Ok(Frame::data(b))).collect();
        http_body_util::StreamBody::new(futures_util::stream::iter(frames))
    }

    /// Deterministic splits: every `n` bytes.
    fn split_every(data: &[u8], n: usize) -> Vec<Bytes> {
        data.chunks(n.max(1)).map(Bytes::copy_from_slice).collect()
    }

    /// Pseudo-random splits (xorshift), including empty frames.
    fn split_random(data: &[u8], mut seed: u64) -> Vec<Bytes> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < data.len() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let n = (seed % 300) as usize;
            let end = (i + n).min(data.len());
            out.push(Bytes::copy_from_slice(&data[i..end]));
            i = end;
        }
        out
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    async fn read_all(
        frames: Vec<Bytes>,
        mode: PayloadMode,
        hdrs: &HeaderMap,
    ) -> S3Result<(Vec<u8>, Vec<(String, String)>)> {
        let mut r = PayloadReader::new(body_of(frames), mode, hdrs)?;
        let mut out = Vec::new();
        while let Some(b) = r.next_chunk().await? {
            assert!(!b.is_empty(), "empty chunk yielded");
            out.extend_from_slice(&b);
        }
        // The end is stable.
        assert!(r.next_chunk().await?.is_none());
        Ok((out, r.trailers().to_vec()))
    }

    /// Try the same body whole, in 1-byte frames, and in random splits; all must agree.
    async fn read_all_splits(
        data: &[u8],
        mode: PayloadMode,
        hdrs: &HeaderMap,
    ) -> S3Result<(Vec<u8>, Vec<(String, String)>)> {
        let whole = read_all(vec![Bytes::copy_from_slice(data)], mode.clone(), hdrs).await;
        let ones = read_all(split_every(data, 1), mode.clone(), hdrs).await;
        assert_eq!(format!("{whole:?}"), format!("{ones:?}"), "1-byte frames differ");
        for seed in 1..6u64 {
            let r = read_all(
                split_random(data, seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                mode.clone(),
                hdrs,
            )
            .await;
            assert_eq!(format!("{whole:?}"), format!("{r:?}"), "random split {seed} differs");
        }
        whole
    }

    const DOC_DATE: &str = "20130524T000000Z";
    const DOC_SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

    fn ctx(seed: &str, date: &str, region: &str) -> ChunkSigningContext {
        ChunkSigningContext {
            seed_signature: seed.to_string(),
            amz_date: date.to_string(),
            scope: format!("{}/{region}/s3/aws4_request", &date[..8]),
            signing_key: canonical::signing_key(SK, &date[..8], region, "s3").to_vec(),
        }
    }

    fn doc_ctx() -> ChunkSigningContext {
        ctx(DOC_SEED, DOC_DATE, "us-east-1")
    }

    fn signed(ctx: ChunkSigningContext, trailer: bool) -> PayloadMode {
        PayloadMode::StreamingSigned { ctx, trailer }
    }

    /// Encode `chunks` as a signed aws-chunked body, signatures computed by aws-sigv4's `sign_chunk`
    /// (and `sign_trailer` when `trailers` is `Some`).
    fn encode_signed(
        c: &ChunkSigningContext,
        region: &str,
        chunks: &[&[u8]],
        trailers: Option<&[(&str, &str)]>,
    ) -> Vec<u8> {
        let time = at(&c.amz_date);
        let mut prev = c.seed_signature.clone();
        let mut out = Vec::new();
        for chunk in chunks.iter().copied().chain(std::iter::once(&b""[..])) {
            let sig = aws_chunk_signature(SK, time, region, &prev, chunk);
            out.extend_from_slice(format!("{:x};chunk-signature={sig}\r\n", chunk.len()).as_bytes());
            if !chunk.is_empty() {
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            prev = sig;
        }
        match trailers {
            None => out.extend_from_slice(b"\r\n"),
            Some(t) => {
                for (k, v) in t {
                    out.extend_from_slice(format!("{k}:{v}\r\n").as_bytes());
                }
                let sig = aws_trailer_signature(SK, time, region, &prev, t);
                out.extend_from_slice(format!("x-amz-trailer-signature:{sig}\r\n\r\n").as_bytes());
            }
        }
        out
    }

    fn doc_body() -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(
            b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n",
        );
        body.extend_from_slice(&[b'a'; 65536]);
        body.extend_from_slice(
            b"\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n",
        );
        body.extend_from_slice(&[b'a'; 1024]);
        body.extend_from_slice(
            b"\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n",
        );
        body
    }

    #[tokio::test]
    async fn aws_doc_streaming_example() {
        let body = doc_body();
        assert_eq!(body.len(), 66824, "Content-Length of the documentation example");
        let h = headers(&[
            ("x-amz-decoded-content-length", "66560"),
            ("content-encoding", "aws-chunked"),
        ]);
        let (data, trailers) = read_all_splits(&body, signed(doc_ctx(), false), &h).await.unwrap();
        assert_eq!(data, vec![b'a'; 66560]);
        assert!(trailers.is_empty());
        // aws-sigv4's sign_chunk agrees with the documented first signature.
        let first = aws_chunk_signature(SK, at(DOC_DATE), "us-east-1", DOC_SEED, &[b'a'; 65536]);
        assert_eq!(
            first,
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
        );
    }

    #[tokio::test]
    async fn aws_doc_streaming_example_tampered() {
        let h = headers(&[("x-amz-decoded-content-length", "66560")]);
        // Flip one data byte of the second chunk: the first chunk is released, the second never is.
        let mut body = doc_body();
        let pos = body.len() - 200;
        body[pos] = b'b';
        let mut r = PayloadReader::new(body_of(vec![Bytes::from(body)]), signed(doc_ctx(), false), &h).unwrap();
        assert_eq!(r.next_chunk().await.unwrap().unwrap().len(), 65536);
        let e = S3Error::from(r.next_chunk().await.unwrap_err());
        assert_eq!(
            (e.code, e.status()),
            (S3Code::SignatureDoesNotMatch, http::StatusCode::FORBIDDEN)
        );
        // Sticky.
        assert_eq!(
            S3Error::from(r.next_chunk().await.unwrap_err()).code,
            S3Code::SignatureDoesNotMatch
        );

        // Tampered first-chunk signature: nothing is released.
        let body = String::from_utf8(doc_body())
            .unwrap()
            .replacen("ad80c730", "ad80c731", 1)
            .into_bytes();
        let e = read_all(split_every(&body, 7), signed(doc_ctx(), false), &h)
            .await
            .unwrap_err();
        assert_eq!(e.code, S3Code::SignatureDoesNotMatch);

        // Tampered final signature.
        let body = String::from_utf8(doc_body())
            .unwrap()
            .replacen("b6c6ea8a", "b6c6ea8b", 1)
            .into_bytes();
        assert_eq!(
            read_all(vec![Bytes::from(body)], signed(doc_ctx(), false), &h)
                .await
                .unwrap_err()
                .code,
            S3Code::SignatureDoesNotMatch
        );

        // Wrong seed (another request's signature).
        let other = ctx(&"0".repeat(64), DOC_DATE, "us-east-1");
        assert_eq!(
            read_all(vec![Bytes::from(doc_body())], signed(other, false), &h)
                .await
                .unwrap_err()
                .code,
            S3Code::SignatureDoesNotMatch
        );

        // Chunks swapped (each is valid alone, but the chain breaks).
        let s = String::from_utf8(doc_body()).unwrap();
        let first_end = s.find("\r\n400;").unwrap() + 2;
        let second_end = s.find("\r\n0;").unwrap() + 2;
        let swapped = format!("{}{}{}", &s[first_end..second_end], &s[..first_end], &s[second_end..]);
        assert_eq!(
            read_all(vec![Bytes::from(swapped)], signed(doc_ctx(), false), &h)
                .await
                .unwrap_err()
                .code,
            S3Code::SignatureDoesNotMatch
        );
    }

    #[tokio::test]
    async fn signed_chunk_data_is_not_released_before_its_signature_is_checked() {
        let body = doc_body();
        // Only the first half of the first chunk arrives, then the body breaks off.
        let frames = vec![Bytes::copy_from_slice(&body[..40_000])];
        let mut r = PayloadReader::new(body_of(frames), signed(doc_ctx(), false), &HeaderMap::new()).unwrap();
        assert_eq!(
            S3Error::from(r.next_chunk().await.unwrap_err()).code,
            S3Code::IncompleteBody
        );
    }

    #[tokio::test]
    async fn end_to_end_signed_trailer_with_aws_sigv4() {
        let t = at("20240301T101010Z");
        let hdrs = [
            ("x-amz-trailer", "x-amz-checksum-crc32c"),
            ("x-amz-decoded-content-length", "70000"),
            ("content-encoding", "aws-chunked"),
        ];
        let mut spec = SignSpec::new("PUT", "/bucket/big%20object", t);
        spec.headers = &hdrs;
        spec.region = "eu-west-3";
        spec.body = SignableBody::StreamingSignedPayloadTrailer;
        let (parts, _) = aws_sign(spec);
        let auth = sigv4::verify_header(&parts, &users(), &AuthSettings::default(), t).unwrap();
        let PayloadMode::StreamingSigned { ctx, trailer: true } = auth.payload.clone() else {
            panic!("{:?}", auth.payload)
        };
        let data: Vec<u8> = (0..70000u32).map(|i| (i % 251) as u8).collect();
        let chunks: Vec<&[u8]> = data.chunks(65536).collect();
        let trailers = [("x-amz-checksum-crc32c", "sOO8/Q==")];
        let body = encode_signed(&ctx, "eu-west-3", &chunks, Some(&trailers));
        let (got, tr) = read_all_splits(&body, auth.payload.clone(), &parts.headers)
            .await
            .unwrap();
        assert_eq!(got, data);
        assert_eq!(tr, vec![("x-amz-checksum-crc32c".to_string(), "sOO8/Q==".to_string())]);

        // Tampered trailer value: the trailer signature no longer matches.
        let tail_at = rfind(&body, b"\r\n0;chunk-signature=").unwrap() + 2;
        let (head, tail) = body.split_at(tail_at);
        let tail = String::from_utf8(tail.to_vec()).unwrap();
        let with_tail = |t: &str| [head, t.as_bytes()].concat();
        let bad = with_tail(&tail.replace("sOO8/Q==", "AAAAAA=="));
        let e = read_all(vec![Bytes::from(bad)], auth.payload.clone(), &parts.headers)
            .await
            .unwrap_err();
        assert_eq!(e.code, S3Code::SignatureDoesNotMatch);

        // Missing trailer signature line.
        let cut = tail.find("x-amz-trailer-signature:").unwrap();
        let bad = with_tail(&format!("{}\r\n", &tail[..cut]));
        let e = read_all(vec![Bytes::from(bad)], auth.payload.clone(), &parts.headers)
            .await
            .unwrap_err();
        assert_eq!(e.code, S3Code::InvalidRequest);

        // A trailer after the signature.
        let bad = with_tail(&format!(
            "{}x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n",
            &tail[..tail.len() - 2]
        ));
        let e = read_all(vec![Bytes::from(bad)], auth.payload.clone(), &parts.headers)
            .await
            .unwrap_err();
        assert_eq!(e.code, S3Code::InvalidRequest);
    }

    fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).rposition(|w| w == needle)
    }

    #[tokio::test]
    async fn signed_without_trailer_roundtrip_and_empty_body() {
        let c = ctx(&"ab".repeat(32), "20240301T101010Z", "us-east-1");
        for sizes in [vec![], vec![1usize], vec![8192, 8192, 3], vec![65536, 65536, 65536]] {
            let data: Vec<Vec<u8>> = sizes.iter().map(|&n| vec![7u8; n]).collect();
            let chunks: Vec<&[u8]> = data.iter().map(std::vec::Vec::as_slice).collect();
            let body = encode_signed(&c, "us-east-1", &chunks, None);
            let total: usize = sizes.iter().sum();
            let h = headers(&[("x-amz-decoded-content-length", &total.to_string())]);
            let (got, _) = read_all_splits(&body, signed(c.clone(), false), &h).await.unwrap();
            assert_eq!(got.len(), total);
        }
    }

    #[tokio::test]
    async fn unsigned_trailer_botocore_bytes() {
        // Captured from botocore 1.43.11 (docs/s3-object-lock.md §3.2).
        let body = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        let h = headers(&[
            ("x-amz-trailer", "x-amz-checksum-crc32"),
            ("x-amz-decoded-content-length", "11"),
        ]);
        let (data, tr) = read_all_splits(body, PayloadMode::StreamingUnsignedTrailer, &h)
            .await
            .unwrap();
        assert_eq!(data, b"hello world");
        assert_eq!(tr, vec![("x-amz-checksum-crc32".to_string(), "DUoRhQ==".to_string())]);
    }

    /// Found by `auth::chunked_fuzz_tests::fuzz_chunked_truncation_never_yields_part`: a body cut
    /// right after the final chunk, before the trailer it declared, was accepted as complete.
    #[tokio::test]
    async fn truncated_before_a_declared_trailer_is_incomplete() {
        let h = headers(&[("x-amz-trailer", "x-amz-checksum-crc32")]);
        let e = read_all_splits(b"b\r\nhello world\r\n0\r\n", PayloadMode::StreamingUnsignedTrailer, &h)
            .await
            .unwrap_err();
        assert_eq!(e.code, S3Code::IncompleteBody);
        // Without a declared trailer the same body is complete (what some clients send).
        let (data, tr) = read_all_splits(
            b"b\r\nhello world\r\n0\r\n",
            PayloadMode::StreamingUnsignedTrailer,
            &headers(&[]),
        )
        .await
        .unwrap();
        assert_eq!((data.as_slice(), tr.len()), (&b"hello world"[..], 0));
    }

    #[tokio::test]
    async fn botocore_unsigned_trailer_end_to_end() {
        // The header signature is checked first (CVE-2025-31489), then the body is decoded.
        let parts = crate::auth::sigv4::tests::botocore_unsigned_trailer_put();
        let auth = sigv4::verify_header(&parts, &users(), &AuthSettings::default(), at("20240501T120000Z")).unwrap();
        let body = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        let (data, tr) = read_all_splits(body, auth.payload, &parts.headers).await.unwrap();
        assert_eq!(data, b"hello world");
        assert_eq!(tr, vec![("x-amz-checksum-crc32".to_string(), "DUoRhQ==".to_string())]);
    }

    #[tokio::test]
    async fn unsigned_trailer_names_are_lower_cased_and_values_trimmed() {
        let body = b"3\r\nabc\r\n0\r\nX-Amz-Checksum-CRC32C: yZRlqg== \r\n\r\n";
        let h = headers(&[("x-amz-trailer", "X-Amz-Checksum-Crc32c")]);
        let (_, tr) = read_all(
            vec![Bytes::from_static(body)],
            PayloadMode::StreamingUnsignedTrailer,
            &h,
        )
        .await
        .unwrap();
        assert_eq!(tr, vec![("x-amz-checksum-crc32c".to_string(), "yZRlqg==".to_string())]);
    }

    #[tokio::test]
    async fn unsigned_data_is_released_as_it_arrives() {
        let frames = vec![Bytes::from_static(b"5\r\nhel"), Bytes::from_static(b"lo\r\n0\r\n\r\n")];
        let mut r = PayloadReader::new(
            body_of(frames),
            PayloadMode::StreamingUnsignedTrailer,
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(r.next_chunk().await.unwrap().unwrap(), Bytes::from_static(b"hel"));
        assert_eq!(r.next_chunk().await.unwrap().unwrap(), Bytes::from_static(b"lo"));
        assert!(r.next_chunk().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn minio_go_trailer_forms() {
        // minio-go: trailer lines end with a bare LF followed by CRLF.
        let h = headers(&[("x-amz-trailer", "x-amz-checksum-crc32c")]);
        let body = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32c:yZRlqg==\n\r\n\r\n";
        let (data, tr) = read_all_splits(body, PayloadMode::StreamingUnsignedTrailer, &h)
            .await
            .unwrap();
        assert_eq!(data, b"abc");
        assert_eq!(tr.len(), 1);
        // …and without the final CRLF.
        let body = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32c:yZRlqg==\n\r\n";
        read_all_splits(body, PayloadMode::StreamingUnsignedTrailer, &h)
            .await
            .unwrap();

        // Signed trailer as minio-go writes it.
        let c = ctx(&"cd".repeat(32), "20240301T101010Z", "us-east-1");
        let t = at(&c.amz_date);
        let s1 = aws_chunk_signature(SK, t, "us-east-1", &c.seed_signature, b"abc");
        let s0 = aws_chunk_signature(SK, t, "us-east-1", &s1, b"");
        let ts = aws_trailer_signature(SK, t, "us-east-1", &s0, &[("x-amz-checksum-crc32c", "yZRlqg==")]);
        let body = format!(
            "3;chunk-signature={s1}\r\nabc\r\n0;chunk-signature={s0}\r\nx-amz-checksum-crc32c:yZRlqg==\n\r\nx-amz-trailer-signature:{ts}\r\n\r\n"
        );
        let (data, tr) = read_all_splits(body.as_bytes(), signed(c, true), &h).await.unwrap();
        assert_eq!(data, b"abc");
        assert_eq!(tr.len(), 1);
    }

    #[tokio::test]
    async fn trailer_rules() {
        let one = headers(&[("x-amz-trailer", "x-amz-checksum-crc32")]);
        let two = headers(&[("x-amz-trailer", "x-amz-checksum-crc32, x-amz-checksum-sha256")]);
        let none = HeaderMap::new();
        let ut = PayloadMode::StreamingUnsignedTrailer;
        let cases: Vec<(&[u8], &HeaderMap)> = vec![
            // not declared
            (b"0\r\nx-amz-checksum-crc32c:yZRlqg==\r\n\r\n", &one),
            (b"0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n", &none),
            // duplicated
            (
                b"0\r\nx-amz-checksum-crc32:DUoRhQ==\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n",
                &one,
            ),
            // two checksum trailers even though both are declared
            (
                b"0\r\nx-amz-checksum-crc32:DUoRhQ==\r\nx-amz-checksum-sha256:AAAA\r\n\r\n",
                &two,
            ),
            // malformed lines
            (b"0\r\nno-colon\r\n\r\n", &one),
            (b"0\r\n:value\r\n\r\n", &one),
            // a signature line in an unsigned body is an undeclared trailer
            (b"0\r\nx-amz-trailer-signature:00\r\n\r\n", &one),
        ];
        for (body, h) in cases {
            let e = read_all(vec![Bytes::from_static(body)], ut.clone(), h)
                .await
                .unwrap_err();
            assert_eq!(e.code, S3Code::InvalidRequest, "{}", String::from_utf8_lossy(body));
        }
        // Trailers in a signed body without -TRAILER.
        let c = ctx(&"ab".repeat(32), "20240301T101010Z", "us-east-1");
        let mut body = encode_signed(&c, "us-east-1", &[b"abc"], None);
        body.truncate(body.len() - 2);
        body.extend_from_slice(b"x-amz-checksum-crc32:DUoRhQ==\r\n\r\n");
        let e = read_all(vec![Bytes::from(body)], signed(c, false), &one)
            .await
            .unwrap_err();
        assert_eq!(e.code, S3Code::InvalidRequest);
    }

    #[tokio::test]
    async fn bytes_after_the_end_are_refused() {
        let h = headers(&[("x-amz-trailer", "x-amz-checksum-crc32")]);
        for body in [
            &b"3\r\nabc\r\n0\r\n\r\nX"[..],
            b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n\r\n",
            b"3\r\nabc\r\n0\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        ] {
            let e = read_all(split_every(body, 1), PayloadMode::StreamingUnsignedTrailer, &h)
                .await
                .unwrap_err();
            assert_eq!(e.code, S3Code::InvalidRequest, "{}", String::from_utf8_lossy(body));
        }
        let c = ctx(&"ab".repeat(32), "20240301T101010Z", "us-east-1");
        let mut body = encode_signed(&c, "us-east-1", &[b"abc"], None);
        body.extend_from_slice(b"junk");
        let e = read_all(vec![Bytes::from(body)], signed(c, false), &HeaderMap::new())
            .await
            .unwrap_err();
        assert_eq!(e.code, S3Code::InvalidRequest);
    }

    #[tokio::test]
    async fn truncation_anywhere_is_detected() {
        // Every strict prefix either fails, or ends at one of the points where nothing is missing
        // (right after the final chunk header). It never yields data that was not fully received.
        let c = ctx(&"ab".repeat(32), "20240301T101010Z", "us-east-1");
        let body = encode_signed(&c, "us-east-1", &[b"hello ", b"world"], None);
        let final_header_end = body.len() - 2;
        for n in 0..body.len() {
            let r = read_all(
                vec![Bytes::copy_from_slice(&body[..n])],
                signed(c.clone(), false),
                &HeaderMap::new(),
            )
            .await;
            match r {
                Ok((data, _)) => {
                    assert_eq!(n, final_header_end, "prefix {n} accepted");
                    assert_eq!(data, b"hello world");
                }
                Err(e) => assert_eq!(e.code, S3Code::IncompleteBody, "prefix {n}: {e}"),
            }
        }
        let body = b"6\r\nhello \r\n5\r\nworld\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        let h = headers(&[("x-amz-trailer", "x-amz-checksum-crc32")]);
        for n in 0..body.len() {
            let r = read_all(
                vec![Bytes::copy_from_slice(&body[..n])],
                PayloadMode::StreamingUnsignedTrailer,
                &h,
            )
            .await;
            match r {
                // `0\r\n` then EOF: the missing trailer is caught by the checksum verification.
                Ok((data, tr)) => {
                    assert_eq!(&body[..n], b"6\r\nhello \r\n5\r\nworld\r\n0\r\n");
                    assert_eq!(data, b"hello world");
                    assert!(tr.is_empty());
                }
                Err(e) => assert_eq!(e.code, S3Code::IncompleteBody, "prefix {n}: {e}"),
            }
        }
    }

    #[tokio::test]
    async fn decoded_content_length_is_enforced() {
        let body = b"3\r\nabc\r\n0\r\n\r\n";
        for (declared, ok) in [("3", true), ("2", false), ("4", false), ("0", false)] {
            let h = headers(&[("x-amz-decoded-content-length", declared)]);
            let r = read_all(
                vec![Bytes::from_static(body)],
                PayloadMode::StreamingUnsignedTrailer,
                &h,
            )
            .await;
            if ok {
                r.unwrap();
            } else {
                assert_eq!(r.unwrap_err().code, S3Code::IncompleteBody, "{declared}");
            }
        }
        let h = headers(&[("x-amz-decoded-content-length", "x")]);
        assert_eq!(
            PayloadReader::new(body_of(vec![]), PayloadMode::StreamingUnsignedTrailer, &h)
                .err()
                .map(|e| S3Error::from(e).code),
            Some(S3Code::InvalidArgument)
        );
        // Raw modes ignore it (Content-Length governs; checked by the digest verification).
        let (d, _) = read_all(vec![Bytes::from_static(b"abc")], PayloadMode::Unsigned, &h)
            .await
            .unwrap();
        assert_eq!(d, b"abc");
    }

    #[tokio::test]
    async fn framing_errors() {
        let ut = PayloadMode::StreamingUnsignedTrailer;
        for body in [
            &b"zz\r\nabc\r\n0\r\n\r\n"[..],
            b"\r\n",
            b"3\nabc\r\n0\r\n\r\n",
            b"3\r\nabcd\r\n0\r\n\r\n",
            b"3\r\nab\r\n\r\n0\r\n\r\n",
            b"11111111111111111\r\n",
            b"1000001\r\n",
            b"-3\r\nabc\r\n0\r\n\r\n",
            b"0x3\r\nabc\r\n0\r\n\r\n",
        ] {
            let e = read_all(vec![Bytes::from_static(body)], ut.clone(), &HeaderMap::new())
                .await
                .unwrap_err();
            assert_eq!(e.code, S3Code::InvalidRequest, "{}", String::from_utf8_lossy(body));
        }
        // Exactly 16 MiB is allowed as a chunk size (fails later for lack of data).
        let e = read_all(vec![Bytes::from_static(b"1000000\r\n")], ut.clone(), &HeaderMap::new())
            .await
            .unwrap_err();
        assert_eq!(e.code, S3Code::IncompleteBody);
        // A very long header line.
        let long = vec![b'1'; 10_000];
        let e = read_all(vec![Bytes::from(long)], ut.clone(), &HeaderMap::new())
            .await
            .unwrap_err();
        assert_eq!(e.code, S3Code::InvalidRequest);
        // Signed bodies need chunk-signature.
        let c = ctx(&"ab".repeat(32), "20240301T101010Z", "us-east-1");
        for body in [&b"3\r\nabc\r\n"[..], b"3;chunk-sig=00\r\nabc\r\n", b"3;\r\nabc\r\n"] {
            let e = read_all(
                vec![Bytes::from_static(body)],
                signed(c.clone(), false),
                &HeaderMap::new(),
            )
            .await
            .unwrap_err();
            assert_eq!(e.code, S3Code::InvalidRequest, "{}", String::from_utf8_lossy(body));
        }
        let e = read_all(
            vec![Bytes::from_static(
                b"3;chunk-signature=xyz\r\nabc\r\n0;chunk-signature=00\r\n\r\n",
            )],
            signed(c, false),
            &HeaderMap::new(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.code, S3Code::SignatureDoesNotMatch);
    }

    #[tokio::test]
    async fn raw_modes_pass_frames_through() {
        let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        // Even with an aws-chunked Content-Encoding header: decoding follows the signed mode.
        let h = headers(&[("content-encoding", "aws-chunked")]);
        for mode in [PayloadMode::Unsigned, PayloadMode::Sha256Hex("00".repeat(32))] {
            let (d, tr) = read_all_splits(&data, mode, &h).await.unwrap();
            assert_eq!(d, data);
            assert!(tr.is_empty());
        }
        let (d, _) = read_all(vec![], PayloadMode::Unsigned, &h).await.unwrap();
        assert!(d.is_empty());
    }

    #[tokio::test]
    async fn garbage_bodies_never_panic() {
        let pieces: [&[u8]; 12] = [
            b"0",
            b"3",
            b"ff",
            b";chunk-signature=",
            b"\r\n",
            b"\n",
            b"abc",
            b"x-amz-checksum-crc32:",
            b"DUoRhQ==",
            b"x-amz-trailer-signature:",
            b"\r",
            b"1000000",
        ];
        let c = ctx(&"ab".repeat(32), "20240301T101010Z", "us-east-1");
        let h = headers(&[
            ("x-amz-trailer", "x-amz-checksum-crc32"),
            ("x-amz-decoded-content-length", "3"),
        ]);
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut body = Vec::new();
            let mut x = seed;
            for _ in 0..(x % 10) {
                body.extend_from_slice(pieces[(x % pieces.len() as u64) as usize]);
                x = x.rotate_left(7) ^ 0x5bd1_e995;
            }
            for mode in [
                PayloadMode::StreamingUnsignedTrailer,
                signed(c.clone(), false),
                signed(c.clone(), true),
            ] {
                let _ = read_all(split_random(&body, seed | 1), mode, &h).await;
            }
        }
    }

    #[tokio::test]
    async fn body_errors_become_incomplete_body() {
        struct Failing;
        impl http_body::Body for Failing {
            type Data = Bytes;
            type Error = std::io::Error;
            fn poll_frame(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
                std::task::Poll::Ready(Some(Err(std::io::Error::other("connection reset"))))
            }
        }
        for mode in [PayloadMode::Unsigned, PayloadMode::StreamingUnsignedTrailer] {
            let mut r = PayloadReader::new(Failing, mode, &HeaderMap::new()).unwrap();
            let e = S3Error::from(r.next_chunk().await.unwrap_err());
            assert_eq!(e.code, S3Code::IncompleteBody);
            assert!(e.message.contains("connection reset"));
        }
    }
}
