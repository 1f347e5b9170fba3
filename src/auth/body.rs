//! The request body as authentication hands it to the gateway. Every byte read from a
//! [`VerifiedBody`] goes through the payload decoder (signed chunks, trailers) and into the digests
//! the request claimed (signed SHA-256, Content-MD5, `x-amz-checksum-*` header or trailer); the end
//! of the body is reported only after they all match. Handlers cannot reach the raw stream.

use super::chunked::PayloadReader;
use super::error::{BodyError, IngestError};
use super::hashing::BodyDigests;
use super::PayloadMode;
use crate::checksum::{ChecksumAlgorithm, ComputedDigests, ExpectedDigests};
use crate::s3::op::DocumentChecksums;
use bytes::Bytes;
use http::HeaderMap;
use hyper::body::Incoming;

/// Largest XML request document accepted (`DeleteObjects` with 1000 long keys fits).
pub const MAX_XML_BODY: usize = 2 * 1024 * 1024;

/// Where streamed payload bytes go (a new blob, or the buffer of an XML document).
pub trait ChunkSink {
    /// Why the sink may refuse bytes (its own layer's error: a full volume, a quota, an upstream
    /// write).
    type Error;
    /// Take the next verified-so-far bytes (the whole body is verified before it is committed). As
    /// `Bytes`, so a sink that keeps them (a blob writer's queue) need not copy them.
    fn write(&mut self, data: Bytes) -> impl std::future::Future<Output = Result<(), Self::Error>> + Send;
}

impl ChunkSink for Vec<u8> {
    type Error = std::convert::Infallible;
    async fn write(&mut self, data: Bytes) -> Result<(), Self::Error> {
        self.extend_from_slice(&data);
        Ok(())
    }
}

/// A request body bound to the payload mode its signature declared.
pub struct VerifiedBody {
    incoming: Incoming,
    mode: PayloadMode,
    headers: HeaderMap,
    /// A body is read once.
    read: bool,
    /// How long the body may send nothing before it is abandoned (`None`: no bound).
    read_timeout: Option<std::time::Duration>,
    /// The body stalled past `read_timeout`: nothing more is read from it.
    timed_out: bool,
}

impl VerifiedBody {
    /// Only authentication makes one: the mode is what the verified signature declared.
    pub(super) fn new(incoming: Incoming, mode: PayloadMode, headers: HeaderMap) -> Self {
        VerifiedBody {
            incoming,
            mode,
            headers,
            read: false,
            read_timeout: None,
            timed_out: false,
        }
    }

    /// Abandon the body (400 `RequestTimeout`) when it sends nothing for `d`: a stalled upload must
    /// not hold its connection, its request slot and its partial blob for ever.
    pub fn set_read_timeout(&mut self, d: std::time::Duration) {
        self.read_timeout = Some(d);
    }

    /// What the client claims about the body (its digests and length), from the request head.
    pub fn expected(&self) -> Result<ExpectedDigests, BodyError> {
        Ok(ExpectedDigests::from_headers(&self.headers, &self.mode)?)
    }

    fn reader(&mut self) -> Result<PayloadReader<&mut Incoming>, BodyError> {
        if std::mem::replace(&mut self.read, true) {
            return Err(BodyError::AlreadyRead);
        }
        PayloadReader::new(&mut self.incoming, self.mode.clone(), &self.headers)
    }

    /// Read a small XML document (at most [`MAX_XML_BODY`]), verified; as UTF-8. When the
    /// `x-amz-checksum-*` headers describe the object the request makes (`OfObject`), they are not a
    /// digest of the document and are left to the handler.
    pub async fn read_document(&mut self, checksums: DocumentChecksums) -> Result<String, BodyError> {
        let expected = match checksums {
            DocumentChecksums::OfDocument => self.expected()?,
            DocumentChecksums::OfObject => {
                let mut headers = self.headers.clone();
                for alg in ChecksumAlgorithm::ALL {
                    headers.remove(alg.header_name());
                }
                ExpectedDigests::from_headers(&headers, &self.mode)?
            }
        };
        let too_large = || BodyError::DocumentTooLarge;
        if expected.decoded_length.is_some_and(|n| n > MAX_XML_BODY as u64) {
            return Err(too_large());
        }
        let mut buf = Vec::new();
        let alg = expected.algorithm();
        self.consume(&expected, alg, &mut buf, MAX_XML_BODY as u64, too_large)
            .await
            .map_err(|e| match e {
                IngestError::Body(e) => e,
                IngestError::Sink(never) => match never {},
            })?;
        String::from_utf8(buf).map_err(|_| BodyError::DocumentNotUtf8)
    }

    /// Stream the payload into `sink`, computing MD5, SHA-256 and the flexible checksum (`store_alg`
    /// for a multipart upload's parts, else the client's, else CRC64NVME as AWS does), refusing more
    /// than `max_len` bytes, and verify every digest the client sent. On any error the caller must
    /// throw the sink's bytes away.
    pub async fn stream_into<S: ChunkSink>(
        &mut self,
        sink: &mut S,
        max_len: u64,
        store_alg: Option<ChecksumAlgorithm>,
    ) -> Result<ComputedDigests, IngestError<S::Error>> {
        let expected = self.expected()?;
        let alg = match (store_alg, expected.algorithm()) {
            (Some(s), Some(c)) if s != c => {
                return Err(BodyError::ChecksumAlgorithmConflict {
                    upload: s.as_str(),
                    request: c.as_str(),
                }
                .into())
            }
            (Some(s), _) => s,
            (None, Some(c)) => c,
            (None, None) => ChecksumAlgorithm::Crc64Nvme,
        };
        let too_large = || BodyError::TooLarge { max: max_len };
        self.consume(&expected, Some(alg), sink, max_len, too_large).await
    }

    /// The one read loop: decode, refuse more than `max_len` bytes with `too_large`, hash (MD5,
    /// SHA-256 and `alg`), pass the bytes on, and verify every claimed digest at the end.
    async fn consume<S: ChunkSink>(
        &mut self,
        expected: &ExpectedDigests,
        alg: Option<ChecksumAlgorithm>,
        sink: &mut S,
        max_len: u64,
        too_large: impl Fn() -> BodyError,
    ) -> Result<ComputedDigests, IngestError<S::Error>> {
        let timeout = self.read_timeout;
        let mut stalled = false;
        let result = async {
            let mut reader = self.reader()?;
            let mut digests = BodyDigests::new(alg);
            loop {
                let next = match timeout {
                    None => reader.next_chunk().await?,
                    Some(d) => {
                        if let Ok(r) = tokio::time::timeout(d, reader.next_chunk()).await {
                            r?
                        } else {
                            stalled = true;
                            return Err(BodyError::Stalled.into());
                        }
                    }
                };
                let Some(chunk) = next else { break };
                if digests.len() + chunk.len() as u64 > max_len {
                    return Err(too_large().into());
                }
                digests.update(&chunk).await;
                sink.write(chunk).await.map_err(IngestError::Sink)?;
            }
            let computed = digests.finish().await;
            expected.verify(&computed, reader.trailers()).map_err(BodyError::from)?;
            Ok(computed)
        }
        .await;
        self.timed_out = stalled;
        result
    }

    /// After a refusal: read and discard what remains (bounded), so the client reads the error.
    pub async fn drain_after_refusal(&mut self) {
        if self.timed_out {
            // A stalled body would only stall the drain too; the answer closes the connection.
            return;
        }
        drain_refused(&self.headers, &mut self.incoming).await;
    }
}

/// Most clients keep sending a request body while they wait for the answer. When a request is refused
/// before its body was read, read (and discard) up to a bound of what remains so the client gets to
/// read the error instead of a broken pipe. Not for `Expect: 100-continue` requests: their client has
/// sent nothing yet and must not be invited to.
pub async fn drain_refused(headers: &HeaderMap, body: &mut Incoming) {
    use http_body::Body as _;
    use http_body_util::BodyExt;
    const MAX_DRAIN: u64 = 64 * 1024 * 1024;
    if crate::headers::expects_100_continue(headers) || body.is_end_stream() {
        return;
    }
    let drain = async {
        let mut seen = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(d) = frame.data_ref() {
                seen += d.len() as u64;
                if seen > MAX_DRAIN {
                    break;
                }
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), drain).await;
}
