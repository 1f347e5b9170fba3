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
use super::{ChunkSigningContext, PayloadMode};
use crate::s3::error::{S3Code, S3Error, S3Result};
use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

/// Largest chunk accepted in an aws-chunked body. Real clients send 64 KiB – 8 MiB chunks; a signed
/// chunk has to be held in memory until its signature is checked, so the size is capped.
pub const MAX_CHUNK_SIZE: u64 = 16 * 1024 * 1024;
/// Longest chunk-header or trailer line accepted.
const MAX_LINE: usize = 4096;
/// Most trailer lines accepted after the final chunk.
const MAX_TRAILERS: usize = 16;
/// Initial buffer reserved for a signed chunk; it grows as data actually arrives.
const INITIAL_CHUNK_BUFFER: usize = 1024 * 1024;

/// How the body is framed (derived from [`PayloadMode`]).
enum Framing {
    Raw,
    Signed { ctx: ChunkSigningContext, trailer: bool, prev_signature: String },
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

fn incomplete(msg: impl Into<String>) -> S3Error {
    S3Error::new(S3Code::IncompleteBody, msg)
}

/// Streams the decoded payload of a request body.
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
    failed: Option<S3Error>,
}

impl<B> PayloadReader<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    /// Prepare to decode `body` according to `mode`; `headers` are the request headers (for
    /// `x-amz-decoded-content-length` and `x-amz-trailer`). Why: the payload mode comes from the
    /// verified signature, so a client cannot pick a weaker framing than it signed.
    pub fn new(body: B, mode: PayloadMode, headers: &HeaderMap) -> S3Result<Self> {
        let framing = match mode {
            PayloadMode::Sha256Hex(_) | PayloadMode::Unsigned => Framing::Raw,
            PayloadMode::StreamingSigned { ctx, trailer } => {
                let prev_signature = ctx.seed_signature.to_ascii_lowercase();
                Framing::Signed { ctx, trailer, prev_signature }
            }
            PayloadMode::StreamingUnsignedTrailer => Framing::UnsignedTrailer,
        };
        let mut decoded_expected = None;
        let mut declared_trailers = Vec::new();
        if !matches!(framing, Framing::Raw) {
            let mut values = headers.get_all("x-amz-decoded-content-length").iter();
            if let Some(v) = values.next() {
                if values.next().is_some() {
                    return Err(S3Error::invalid_argument("x-amz-decoded-content-length is sent more than once"));
                }
                let n = v
                    .to_str()
                    .ok()
                    .map(str::trim)
                    .filter(|s| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| S3Error::invalid_argument("x-amz-decoded-content-length is not a number"))?;
                decoded_expected = Some(n);
            }
            for v in headers.get_all("x-amz-trailer") {
                let s = v.to_str().map_err(|_| S3Error::invalid_request("x-amz-trailer is not valid ASCII"))?;
                for name in s.split(',').map(|n| n.trim().to_ascii_lowercase()).filter(|n| !n.is_empty()) {
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
    pub async fn next_chunk(&mut self) -> S3Result<Option<Bytes>> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = if matches!(self.framing, Framing::Raw) { self.next_raw().await } else { self.next_decoded().await };
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

    async fn read_frame(&mut self) -> S3Result<Option<Bytes>> {
        loop {
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(incomplete(format!("reading the request body failed: {e}"))),
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

    async fn next_raw(&mut self) -> S3Result<Option<Bytes>> {
        if self.state == State::Done {
            return Ok(None);
        }
        match self.read_frame().await? {
            Some(data) => Ok(Some(data)),
            None => {
                self.state = State::Done;
                Ok(None)
            }
        }
    }

    async fn next_decoded(&mut self) -> S3Result<Option<Bytes>> {
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
    fn on_eof(&mut self) -> S3Result<()> {
        match self.state {
            State::End | State::Done => {
                self.state = State::Done;
                Ok(())
            }
            State::Trailer if self.line.is_empty() && (self.after_continuation || !self.trailer_section_started) => {
                // `0;chunk-signature=…\r\n` or `…:value\n\r\n` then end of body: nothing is missing.
                self.finish_trailers()?;
                self.state = State::Done;
                Ok(())
            }
            _ => Err(incomplete(
                "The request body ended before the aws-chunked encoding was complete (missing chunk data, final \
                 chunk or trailer terminator)",
            )),
        }
    }

    /// Decode as much of `pending` as possible.
    fn advance(&mut self) -> S3Result<Step> {
        loop {
            match self.state {
                State::Done => return Ok(Step::Finished),
                State::End => {
                    if !self.pending.is_empty() {
                        return Err(S3Error::invalid_request(
                            "The request body continues after the end of the aws-chunked encoding",
                        ));
                    }
                    return Ok(Step::NeedInput);
                }
                State::ChunkHeader => {
                    let Some((line, _)) = self.take_line(true)? else { return Ok(Step::NeedInput) };
                    self.on_chunk_header(&line)?;
                }
                State::Data(remaining) => {
                    if self.pending.is_empty() {
                        return Ok(Step::NeedInput);
                    }
                    let n = remaining.min(self.pending.len() as u64) as usize;
                    let piece = self.pending.split_to(n);
                    let left = remaining - n as u64;
                    self.state = if left == 0 { State::DataCrlf(0) } else { State::Data(left) };
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
                        if b != b"\r\n"[got as usize] {
                            return Err(S3Error::invalid_request(
                                "aws-chunked chunk data is not followed by CRLF: the chunk size does not match the \
                                 data sent",
                            ));
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
                    let Some((line, bare_lf)) = self.take_line(false)? else { return Ok(Step::NeedInput) };
                    self.on_trailer_line(&line, bare_lf)?;
                }
            }
        }
    }

    /// Take one line from `pending` (+ what was buffered). `strict`: must end in CRLF. Otherwise a
    /// bare LF is allowed and reported. `None` when more input is needed.
    fn take_line(&mut self, strict: bool) -> S3Result<Option<(Vec<u8>, bool)>> {
        let Some(idx) = self.pending.iter().position(|&b| b == b'\n') else {
            if self.line.len() + self.pending.len() > MAX_LINE {
                return Err(S3Error::invalid_request("aws-chunked chunk header or trailer line is too long"));
            }
            self.line.extend_from_slice(&self.pending);
            self.pending = Bytes::new();
            return Ok(None);
        };
        if self.line.len() + idx > MAX_LINE {
            return Err(S3Error::invalid_request("aws-chunked chunk header or trailer line is too long"));
        }
        self.line.extend_from_slice(&self.pending[..idx]);
        let _ = self.pending.split_to(idx + 1);
        let mut line = std::mem::take(&mut self.line);
        let bare_lf = if line.last() == Some(&b'\r') {
            line.pop();
            false
        } else if strict {
            return Err(S3Error::invalid_request("aws-chunked chunk header does not end with CRLF"));
        } else {
            true
        };
        Ok(Some((line, bare_lf)))
    }

    fn on_chunk_header(&mut self, line: &[u8]) -> S3Result<()> {
        let malformed = || {
            S3Error::invalid_request(format!(
                "malformed aws-chunked chunk header '{}'",
                String::from_utf8_lossy(&line[..line.len().min(100)])
            ))
        };
        let (size_part, ext) = match line.iter().position(|&b| b == b';') {
            Some(i) => (&line[..i], Some(&line[i + 1..])),
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
                let ext = ext.ok_or_else(|| {
                    S3Error::invalid_request("aws-chunked chunk header has no chunk-signature in a signed payload")
                })?;
                let sig = ext.strip_prefix(b"chunk-signature=").ok_or_else(malformed)?;
                String::from_utf8_lossy(sig).into_owned()
            }
            // Chunk extensions carry nothing in an unsigned body; they are ignored.
            _ => String::new(),
        };
        if size > MAX_CHUNK_SIZE {
            return Err(S3Error::invalid_request(format!(
                "aws-chunked chunk of {size} bytes exceeds the {MAX_CHUNK_SIZE}-byte limit"
            )));
        }
        self.decoded_total = self.decoded_total.saturating_add(size);
        if let Some(expected) = self.decoded_expected {
            if self.decoded_total > expected {
                return Err(incomplete(format!(
                    "The aws-chunked body carries more than the {expected} bytes announced in \
                     x-amz-decoded-content-length"
                )));
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
            self.chunk_buf.reserve((size as usize).min(INITIAL_CHUNK_BUFFER));
        }
        self.state = State::Data(size);
        Ok(())
    }

    /// Check one chunk signature against the chain and advance it.
    fn verify_chunk(&mut self, data_sha256_hex: &str, provided: &str) -> S3Result<()> {
        let Framing::Signed { ctx, prev_signature, .. } = &mut self.framing else { return Ok(()) };
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
            return Err(S3Error::new(
                S3Code::SignatureDoesNotMatch,
                "The chunk signature we calculated does not match the chunk-signature you provided. Check your key \
                 and signing method.",
            ));
        }
        *prev_signature = expected;
        Ok(())
    }

    fn on_trailer_line(&mut self, line: &[u8], bare_lf: bool) -> S3Result<()> {
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
            return Err(S3Error::invalid_request(
                "The request body continues after the final chunk, but its x-amz-content-sha256 declares no trailer",
            ));
        }
        if self.trailer_signature_seen {
            return Err(S3Error::invalid_request("A trailer follows x-amz-trailer-signature"));
        }
        let text = std::str::from_utf8(line).map_err(|_| S3Error::invalid_request("A trailer line is not valid UTF-8"))?;
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| S3Error::invalid_request("A trailer line is not of the form name:value"))?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim().to_string();
        if name.is_empty() || http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(S3Error::invalid_request("A trailer line has an invalid name"));
        }
        if signed_trailer && name == "x-amz-trailer-signature" {
            self.verify_trailer_signature(&value)?;
            self.trailer_signature_seen = true;
            return Ok(());
        }
        if !self.declared_trailers.contains(&name) {
            return Err(S3Error::invalid_request(format!(
                "The trailer {name} was not declared in the x-amz-trailer header"
            )));
        }
        if self.trailers.iter().any(|(n, _)| *n == name) {
            return Err(S3Error::invalid_request(format!("The trailer {name} is sent more than once")));
        }
        if name.starts_with("x-amz-checksum-") && self.trailers.iter().any(|(n, _)| n.starts_with("x-amz-checksum-")) {
            return Err(S3Error::invalid_request(
                "Expecting a single x-amz-checksum- trailer. Multiple checksum Types are not allowed.",
            ));
        }
        if self.trailers.len() >= MAX_TRAILERS {
            return Err(S3Error::invalid_request("Too many trailers"));
        }
        self.trailers.push((name, value));
        Ok(())
    }

    /// `AWS4-HMAC-SHA256-TRAILER` signature over the canonical trailers (`name:value\n`, sorted by name),
    /// chained from the final chunk signature.
    fn verify_trailer_signature(&mut self, provided: &str) -> S3Result<()> {
        let Framing::Signed { ctx, prev_signature, .. } = &mut self.framing else { return Ok(()) };
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
            return Err(S3Error::new(
                S3Code::SignatureDoesNotMatch,
                "The trailer signature we calculated does not match the x-amz-trailer-signature you provided.",
            ));
        }
        *prev_signature = expected;
        Ok(())
    }

    /// End of the trailer section: the signed trailer must have been signed, and the decoded length
    /// must be what was announced.
    fn finish_trailers(&mut self) -> S3Result<()> {
        if let Framing::Signed { trailer: true, .. } = self.framing {
            if !self.trailer_signature_seen {
                return Err(S3Error::invalid_request(
                    "The aws-chunked body ended without the x-amz-trailer-signature its \
                     STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER mode requires",
                ));
            }
        }
        if let Some(expected) = self.decoded_expected {
            if self.decoded_total != expected {
                return Err(incomplete(format!(
                    "You did not provide the number of bytes specified by x-amz-decoded-content-length: expected \
                     {expected}, received {}",
                    self.decoded_total
                )));
            }
        }
        Ok(())
    }
}
