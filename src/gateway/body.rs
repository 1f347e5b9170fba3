//! Object payloads: the request's verified body streams into a new blob (`BlobWriter` is the sink);
//! the length rule for bodies.

use crate::auth::body::ChunkSink;
use crate::s3::error::{S3Code, S3Error, S3Result};
use crate::store::BlobWriter;

impl ChunkSink for BlobWriter {
    type Error = S3Error;
    async fn write(&mut self, data: bytes::Bytes) -> S3Result<()> {
        Ok(BlobWriter::write_bytes(self, data).await?)
    }
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
