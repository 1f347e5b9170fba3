//! The one way a new version comes into being (`PutObject`, `CopyObject`, CompleteMultipartUpload):
//! decide at commit time, write the blob's sidecar, then commit the catalog under the key's lock.

use super::Gateway;
use crate::lock::{self, VersionAsk};
use crate::s3::conditions::{etag_matches, precondition_failed};
use crate::s3::error::{S3Code, S3Error, S3Result};
use crate::s3::op::WriteHeaders;
use crate::store::{BlobWriter, VersionEntry, VersionRecord};

/// How the catalog takes the new version.
pub(super) enum Commit<'a> {
    /// A plain insert.
    Insert,
    /// Atomically with the removal of a multipart upload.
    CompleteUpload(&'a str),
}

impl Gateway {
    /// `If-None-Match: *` (no current version may exist) and `If-Match` (current `ETag` must match).
    pub(super) fn check_write_conditions(&self, bucket: &str, key: &str, write: &WriteHeaders) -> S3Result<()> {
        if !write.if_none_match_star && write.if_match.is_none() {
            return Ok(());
        }
        let current = match self.catalog.latest(bucket, key)? {
            Some(VersionEntry::Ok(r)) if !r.delete_marker => Some(r),
            Some(VersionEntry::Corrupt { .. }) => return Err(precondition_failed()),
            _ => None,
        };
        if write.if_none_match_star && current.is_some() {
            return Err(precondition_failed());
        }
        if let Some(m) = &write.if_match {
            match &current {
                None => return Err(S3Error::new(S3Code::NoSuchKey, "The specified key does not exist.")),
                Some(r) if !etag_matches(m, &r.etag) => return Err(precondition_failed()),
                _ => {}
            }
        }
        Ok(())
    }

    /// Finish a new version whose bytes are written (but not yet visible) in `writer`.
    pub(super) async fn finalize_version(
        &self,
        mut rec: VersionRecord,
        ask: &VersionAsk,
        write: &WriteHeaders,
        writer: BlobWriter,
        commit: Commit<'_>,
    ) -> S3Result<VersionRecord> {
        // Decide again at commit time so the retention floor counts from when the version appears.
        let permit = match lock::decide_new_version(ask, &self.policy, self.clock.now()) {
            Ok(p) => p,
            Err(d) => {
                writer.abort().await;
                return Err(d.into());
            }
        };
        // The sidecar is the record's second copy: it states the retention the catalog will write.
        rec.retention = Some(permit.retention());
        rec.legal_hold = permit.legal_hold();
        // A small version's data may have landed in a segment: the record says where (the sidecar
        // says `Single`; the entry's place is where it sits). `landed` pins that segment until the
        // catalog has the record.
        let landed = writer.commit(&crate::store::records::encode(&rec)).await?;
        if let Some(blob) = landed.blob.clone() {
            rec.blob = Some(blob);
        }
        let guard = self.locks.key(&rec.bucket, &rec.key).await;
        let mut own_blobs = vec![rec.version_id.clone()];
        if let Some(crate::store::BlobRef::Multipart { id, .. }) = &rec.blob {
            own_blobs.push(id.clone());
        }
        let result = match self.catalog.bucket(&rec.bucket) {
            Err(e) => Err(e.into()),
            Ok(None) => Err(S3Error::new(
                S3Code::NoSuchBucket,
                format!("The specified bucket does not exist: {}", rec.bucket),
            )),
            Ok(Some(_)) => match self.check_write_conditions(&rec.bucket, &rec.key, write) {
                Err(e) => Err(e),
                Ok(()) => match commit {
                    Commit::Insert => self
                        .catalog
                        .insert_version(&guard, rec.clone(), permit)
                        .await
                        .map_err(S3Error::from),
                    Commit::CompleteUpload(upload_id) => {
                        match self
                            .catalog
                            .complete_upload(&guard, upload_id, rec.clone(), permit)
                            .await
                        {
                            Ok(Some(r)) => Ok(r),
                            Ok(None) => Err(S3Error::new(
                                S3Code::NoSuchUpload,
                                "The specified upload does not exist.",
                            )),
                            Err(e) => Err(e.into()),
                        }
                    }
                },
            },
        };
        let rec = match result {
            Ok(r) => r,
            Err(e) => {
                // The version did not become visible, or its flush failed: its own blobs (data,
                // manifest, or the one object of a completed upstream upload) go only if the catalog
                // proves that no record refers to them.
                self.discard_unreferenced(&guard, &rec.bucket, &rec.key, own_blobs)
                    .await;
                return Err(e);
            }
        };
        drop(guard);
        drop(landed);
        Ok(rec)
    }
}
