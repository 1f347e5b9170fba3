//! Helpers shared by the handlers: version resolution, `ETag` quoting.

use super::{Ctx, Gateway};
use crate::s3::error::{S3Code, S3Error, S3Result};
use crate::s3::op::VersionSel;
use crate::store::{BucketRecord, VersionEntry, VersionRecord};
use crate::timefmt::http_date;

/// The `ETag` as sent on the wire (quoted).
pub fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

fn no_such_key() -> S3Error {
    S3Error::new(S3Code::NoSuchKey, "The specified key does not exist.")
}

fn no_such_version() -> S3Error {
    S3Error::new(S3Code::NoSuchVersion, "The specified version does not exist.")
}

impl Gateway {
    /// The bucket record, or `NoSuchBucket`.
    pub(super) fn require_bucket(&self, name: &str) -> S3Result<BucketRecord> {
        self.catalog.bucket(name)?.ok_or_else(|| {
            S3Error::new(
                S3Code::NoSuchBucket,
                format!("The specified bucket does not exist: {name}"),
            )
        })
    }

    /// Find the version a request names. `None` when it does not exist.
    pub(super) fn lookup(&self, bucket: &str, key: &str, sel: &VersionSel) -> S3Result<Option<VersionEntry>> {
        match sel {
            VersionSel::Current => Ok(self.catalog.latest(bucket, key)?),
            VersionSel::Id { seq, .. } => Ok(self.catalog.version(bucket, key, *seq)?),
            VersionSel::Absent(_) => Ok(None),
        }
    }

    /// Find a version for a read or a lock operation: missing → NoSuchKey/NoSuchVersion; a current
    /// version that is a delete marker → `NoSuchKey` with `x-amz-delete-marker`; a corrupt record →
    /// `InternalError` (reads) — mutations use `lookup` and let `decide` fail closed.
    pub(super) fn resolve_readable(&self, bucket: &str, key: &str, sel: &VersionSel) -> S3Result<Box<VersionRecord>> {
        match self.lookup(bucket, key, sel)? {
            None => Err(match sel {
                VersionSel::Current => no_such_key(),
                _ => no_such_version(),
            }),
            Some(VersionEntry::Corrupt { .. }) => Err(S3Error::internal(
                "the catalog record of this version does not decode; run `wormgate scrub`",
            )),
            Some(VersionEntry::Ok(r)) => {
                if r.delete_marker {
                    return Err(match sel {
                        VersionSel::Current => no_such_key()
                            .with_header("x-amz-delete-marker", "true")
                            .with_header("x-amz-version-id", r.version_id.clone()),
                        _ => S3Error::new(
                            S3Code::MethodNotAllowed,
                            "The specified method is not allowed against this resource.",
                        )
                        .with_header("x-amz-delete-marker", "true")
                        .with_header("x-amz-version-id", r.version_id.clone())
                        .with_header("last-modified", http_date(r.created_ms)),
                    });
                }
                Ok(r)
            }
        }
    }

    /// Resolve for a lock mutation: missing → 404, otherwise the entry (corrupt included).
    pub(super) fn resolve_for_mutation(&self, bucket: &str, key: &str, sel: &VersionSel) -> S3Result<VersionEntry> {
        self.lookup(bucket, key, sel)?.ok_or_else(|| match sel {
            VersionSel::Current => no_such_key(),
            _ => no_such_version(),
        })
    }
}

impl Gateway {
    /// A fresh, never reused id for a new version, marker or upload of `bucket/key`, stamped now.
    pub(super) fn new_id(&self, bucket: &str, key: &str, ctx: &Ctx) -> S3Result<crate::store::records::NewVersionId> {
        self.new_id_for(bucket, key, &ctx.owner())
    }

    /// As [`Gateway::new_id`], owned by `owner` (lifecycle markers are owned by `lifecycle`).
    pub(super) fn new_id_for(
        &self,
        bucket: &str,
        key: &str,
        owner: &str,
    ) -> S3Result<crate::store::records::NewVersionId> {
        let seq = self.catalog.next_seq()?;
        let now = self.clock.now().at();
        Ok(crate::store::records::NewVersionId {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id: crate::ids::make_version_id(now.timestamp_micros(), seq),
            seq,
            created_ms: now.timestamp_millis(),
            owner: owner.to_string(),
        })
    }

    /// Prove which of `ids` nothing in the catalog refers to (under the key's guard), and discard
    /// those. Failures only leave bytes for scrub to report. Returns false when some are left (an
    /// error, or the upstream's lock refused).
    pub(super) async fn discard_unreferenced(
        &self,
        guard: &crate::store::locks::KeyGuard<'_>,
        bucket: &str,
        key: &str,
        ids: Vec<String>,
    ) -> bool {
        if ids.is_empty() {
            return true;
        }
        let result = match self.catalog.unreferenced(guard, bucket, key, ids) {
            Ok(proof) => self.blobs.discard(proof).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(refused) => refused.is_empty(),
            Err(e) => {
                tracing::warn!(bucket, key, error = %crate::store::error::chain(&e), "discarding unreferenced blobs failed");
                false
            }
        }
    }

    /// The reclaim pass over every segment under `data` (see `reclaim_segments`): at start, and after
    /// every lifecycle pass (`daemon`), for segments sealed after their last version went. Blocking
    /// file I/O: async callers run it on a blocking thread.
    pub fn reclaim_all_segments(&self, data: &std::path::Path) {
        if !matches!(self.blobs, crate::store::BlobStore::Disk(_)) {
            return;
        }
        match crate::store::blob::segment::list(data) {
            Ok(all) => self.reclaim_segments(&all),
            Err(e) => tracing::warn!(error = %e, "cannot list the segments to reclaim"),
        }
    }

    /// Remove whole those of `candidates` segments that are sealed, unpinned and (the catalog proves)
    /// hold no live version. Best effort: a segment left behind is retried by the next pass.
    pub(crate) fn reclaim_segments(&self, candidates: &[String]) {
        let quiet = self.blobs.quiet_segments(candidates);
        if quiet.is_empty() {
            return;
        }
        let result = self
            .catalog
            .empty_segments(quiet)
            .and_then(|proof| self.blobs.reclaim(&proof));
        if let Err(e) = result {
            tracing::warn!(error = %crate::store::error::chain(&e), "reclaiming empty segments failed");
        }
    }
}
