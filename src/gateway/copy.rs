//! `CopyObject`: the copy is a new version with its own retention (never inherited from the source).

use super::util::quoted;
use super::version::Commit;
use super::{Ctx, Done, Gateway, Outcome};
use crate::checksum::{ChecksumAlgorithm, ComputedDigests, IngestDigests};
use crate::lock::{self, VersionAsk};
use crate::s3::conditions::{precondition_failed, Verdict};
use crate::s3::error::{S3Code, S3Error, S3Result};
use crate::s3::op::{CopyParams, VersionSel, WriteHeaders};
use crate::s3::respond::Reply;
use crate::s3::xml::{self, ChecksumOut, CopyObjectResult, NS};
use crate::store::{BlobWriter, VersionRecord};
use crate::timefmt::iso_ms;
use futures_util::StreamExt;

/// Largest single `CopyObject` (AWS: 5 GiB).
const MAX_COPY: u64 = 5 * 1024 * 1024 * 1024;

impl Gateway {
    /// The source version of a copy, with `x-amz-copy-source-if-*` applied.
    pub(super) fn copy_source_record(&self, copy: &CopyParams) -> S3Result<Box<VersionRecord>> {
        let s = &copy.source;
        self.require_bucket(&s.bucket)?;
        let rec = self
            .resolve_readable(&s.bucket, &s.key, &s.version)
            .map_err(|e| match e.code {
                S3Code::MethodNotAllowed => S3Error::invalid_request(
                    "The source of a copy request may not specifically refer to a delete marker by version id.",
                ),
                _ => e,
            })?;
        match copy.conditions.evaluate(&rec.etag, rec.created_ms) {
            Verdict::Proceed => Ok(rec),
            // A source that is "not modified" fails the copy like any other precondition.
            Verdict::NotModified | Verdict::PreconditionFailed => Err(precondition_failed()),
        }
    }

    /// Stream `len` bytes from `start` of `src` into a new blob `id`, hashing as we go (and verifying
    /// the source blobs' recorded SHA-256 where they are read whole).
    pub(super) async fn copy_bytes(
        &self,
        src: &VersionRecord,
        start: u64,
        len: u64,
        id: &str,
        alg: ChecksumAlgorithm,
    ) -> S3Result<(ComputedDigests, BlobWriter)> {
        let writer = self
            .blobs
            .begin(id, crate::store::blob::BlobHints::version_copy(len))
            .await?;
        self.copy_into(src, start, len, writer, alg).await
    }

    /// The digests of `len` bytes from `start` of `src`, read (and verified like a copy) but not
    /// written anywhere: for a copy the backend makes by itself.
    pub(super) async fn digest_range(
        &self,
        src: &VersionRecord,
        start: u64,
        len: u64,
        alg: ChecksumAlgorithm,
    ) -> S3Result<ComputedDigests> {
        let mut body = self.object_stream(src, start, len);
        let mut digests = IngestDigests::new(Some(alg));
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| S3Error::internal(format!("reading the copy source failed: {e}")))?;
            digests.update(&chunk);
        }
        let computed = digests.finish();
        if computed.len != len {
            return Err(S3Error::internal("the copy source is shorter than its record"));
        }
        Ok(computed)
    }

    /// Stream `len` bytes from `start` of `src` into `writer` (see `copy_bytes`).
    pub(super) async fn copy_into(
        &self,
        src: &VersionRecord,
        start: u64,
        len: u64,
        mut writer: BlobWriter,
        alg: ChecksumAlgorithm,
    ) -> S3Result<(ComputedDigests, BlobWriter)> {
        let mut body = self.object_stream(src, start, len);
        let mut digests = IngestDigests::new(Some(alg));
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    writer.abort().await;
                    return Err(S3Error::internal(format!("reading the copy source failed: {e}")));
                }
            };
            digests.update(&chunk);
            if let Err(e) = writer.write_bytes(chunk).await {
                writer.abort().await;
                return Err(e.into());
            }
        }
        let computed = digests.finish();
        if computed.len != len {
            writer.abort().await;
            return Err(S3Error::internal("the copy source is shorter than its record"));
        }
        Ok((computed, writer))
    }

    pub(super) async fn copy_object(
        &self,
        bucket: &str,
        key: &str,
        write: &WriteHeaders,
        copy: &CopyParams,
        parts: &http::request::Parts,
        ctx: &Ctx,
    ) -> S3Result<Done> {
        let dest = self.require_bucket(bucket)?;
        let src = self.copy_source_record(copy)?;
        let same = copy.source.bucket == bucket && copy.source.key == key;
        if same && !copy.replace_metadata && matches!(copy.source.version, VersionSel::Current) {
            return Err(S3Error::invalid_request(
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
            ));
        }
        if src.size > MAX_COPY {
            return Err(S3Error::invalid_request(
                "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120",
            ));
        }
        let ask = VersionAsk {
            headers: write.lock,
            bucket_default: dest.default_retention,
            has_client_digest: true,
        };
        lock::decide_new_version(&ask, &self.policy, self.clock.now())?;
        self.check_write_conditions(bucket, key, write)?;
        let alg = crate::s3::parse::single_header(&parts.headers, "x-amz-checksum-algorithm")?
            .and_then(ChecksumAlgorithm::parse)
            .or(src.checksum_algorithm.filter(|_| src.parts_count.is_none()))
            .unwrap_or(ChecksumAlgorithm::Crc64Nvme);
        let room = self.admit_write(bucket, Some(src.size), 1)?;
        let id = self.new_id(bucket, key, ctx)?;
        let (computed, writer) = self.copy_bytes(&src, 0, src.size, &id.version_id, alg).await?;
        let headers = if copy.replace_metadata {
            write.content.clone()
        } else {
            src.headers.clone()
        };
        let tags = if copy.replace_tagging {
            write.tagging.clone().unwrap_or_default().into_iter().collect()
        } else {
            src.tags.clone()
        };
        let rec = VersionRecord::single_blob(id, &computed, headers, tags);
        let rec = self.finalize_version(rec, &ask, write, writer, Commit::Insert).await?;
        drop(room);
        let outcome = Outcome {
            bytes_in: computed.len,
            detail: Some(format!(
                "copied from {}/{} version {}",
                src.bucket, src.key, src.version_id
            )),
            ..Outcome::new_version(&rec)
        };
        let doc = CopyObjectResult {
            xmlns: NS,
            etag: quoted(&rec.etag),
            last_modified: iso_ms(rec.created_ms),
            checksum: ChecksumOut::new(rec.checksum_algorithm, rec.checksum.clone(), rec.checksum_type.clone()),
        };
        let reply = Reply::xml(xml::to_xml("CopyObjectResult", &doc)?)
            .header("x-amz-version-id", rec.version_id.clone())
            .header("x-amz-copy-source-version-id", src.version_id.clone());
        Ok(Done::new(reply, outcome))
    }
}
