//! Request bodies: small XML documents (capped, digests verified) and object payloads streamed into a
//! new blob while every digest is computed.

use super::Ctx;
use crate::auth::chunked::PayloadReader;
use crate::auth::PayloadMode;
use crate::checksum::{ChecksumAlgorithm, ComputedDigests, ExpectedDigests, IngestDigests};
use crate::s3::error::{S3Code, S3Error, S3Result};
use crate::store::BlobWriter;
use hyper::body::Incoming;

/// Largest XML request document accepted (DeleteObjects with 1000 long keys fits).
pub const MAX_XML_BODY: usize = 2 * 1024 * 1024;

fn payload_mode(ctx: &Ctx) -> PayloadMode {
    ctx.auth
        .as_ref()
        .map(|a| a.payload.clone())
        .unwrap_or(PayloadMode::Unsigned)
}

/// What the client claims about the body (its digests and length), from the request head.
pub fn expected_digests(parts: &http::request::Parts, ctx: &Ctx) -> S3Result<ExpectedDigests> {
    ExpectedDigests::from_headers(&parts.headers, &payload_mode(ctx))
}

/// Read and verify a small XML request body; returns it as UTF-8.
pub async fn read_xml(parts: &http::request::Parts, body: &mut Incoming, ctx: &Ctx) -> S3Result<String> {
    let mode = payload_mode(ctx);
    let expected = expected_digests(parts, ctx)?;
    if expected.decoded_length.is_some_and(|n| n > MAX_XML_BODY as u64) {
        return Err(S3Error::new(
            S3Code::MalformedXML,
            "the XML document is larger than 2 MiB",
        ));
    }
    let mut reader = PayloadReader::new(body, mode, &parts.headers)?;
    let mut digests = IngestDigests::new(expected.algorithm());
    let mut buf = Vec::new();
    while let Some(chunk) = reader.next_chunk().await? {
        if buf.len() + chunk.len() > MAX_XML_BODY {
            return Err(S3Error::new(
                S3Code::MalformedXML,
                "the XML document is larger than 2 MiB",
            ));
        }
        digests.update(&chunk);
        buf.extend_from_slice(&chunk);
    }
    expected.verify(&digests.finish(), reader.trailers())?;
    String::from_utf8(buf).map_err(|_| S3Error::malformed_xml("the document is not UTF-8"))
}

/// Stream an object payload into `writer`, computing MD5, SHA-256 and the flexible checksum (the
/// client's, or CRC64NVME by default as AWS does), and verify every digest the client sent. On any
/// error the caller must abort the writer.
pub async fn ingest(
    parts: &http::request::Parts,
    body: &mut Incoming,
    ctx: &Ctx,
    expected: &ExpectedDigests,
    writer: &mut BlobWriter,
    max_len: u64,
    store_alg: Option<ChecksumAlgorithm>,
) -> S3Result<ComputedDigests> {
    let alg = match (store_alg, expected.algorithm()) {
        (Some(s), Some(c)) if s != c => {
            return Err(S3Error::invalid_request(format!(
                "This upload uses {} checksums but the request carries a {} checksum",
                s.as_str(),
                c.as_str()
            )))
        }
        (Some(s), _) => s,
        (None, Some(c)) => c,
        (None, None) => ChecksumAlgorithm::Crc64Nvme,
    };
    let mode = payload_mode(ctx);
    let mut reader = PayloadReader::new(body, mode, &parts.headers)?;
    let mut digests = IngestDigests::new(Some(alg));
    while let Some(chunk) = reader.next_chunk().await? {
        if digests.len() + chunk.len() as u64 > max_len {
            return Err(S3Error::new(
                S3Code::EntityTooLarge,
                format!("Your proposed upload exceeds the maximum allowed size of {max_len} bytes"),
            ));
        }
        digests.update(&chunk);
        writer.write(&chunk).await?;
    }
    let computed = digests.finish();
    expected.verify(&computed, reader.trailers())?;
    Ok(computed)
}

/// Refuse a body-carrying request whose length is unknown and that is not chunked.
pub fn require_length(parts: &http::request::Parts) -> S3Result<()> {
    let has_len = parts.headers.contains_key(http::header::CONTENT_LENGTH)
        || parts.headers.contains_key("x-amz-decoded-content-length");
    let chunked = parts
        .headers
        .get(http::header::TRANSFER_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if has_len || chunked {
        Ok(())
    } else {
        Err(S3Error::new(
            S3Code::MissingContentLength,
            "You must provide the Content-Length HTTP header.",
        ))
    }
}
