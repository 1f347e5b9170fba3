//! The one place where the layers' typed errors become S3 wire errors (status, `<Code>`, `<Message>`).
//!
//! Layers below the gateway say what happened in their own terms; what a client sees for it is
//! decided here, so the same failure always answers the same way and the messages live together.
//! Internal failures are logged here with their whole cause chain (the client sees only the
//! top-level text).

use crate::s3::error::{S3Code, S3Error};

// ---- store ----

use crate::store::blob::upstream::client::UpstreamError;
use crate::store::error::chain;
use crate::store::StoreError;
use crate::units::format_size;

impl From<StoreError> for S3Error {
    fn from(e: StoreError) -> S3Error {
        match e {
            StoreError::NoSuchBucket { bucket } => S3Error::new(
                S3Code::NoSuchBucket,
                format!("The specified bucket does not exist: {bucket}"),
            ),
            StoreError::NoSuchVersion => S3Error::new(S3Code::NoSuchVersion, "The specified version does not exist."),
            StoreError::BucketNotEmpty { .. } => S3Error::new(
                S3Code::BucketNotEmpty,
                "The bucket you tried to delete is not empty: it holds object versions or delete markers",
            ),
            StoreError::RetentionShortened => {
                S3Error::access_denied("Access Denied: COMPLIANCE retention can only be extended, not shortened")
            }
            StoreError::NotExpired => {
                S3Error::access_denied("Access Denied: the version is protected; the expiry proof does not cover it")
            }
            StoreError::QuotaExceeded {
                bucket,
                quota,
                used,
                pending,
                ask,
            } => {
                let in_flight = if pending == crate::store::capacity::Usage::default() {
                    String::new()
                } else {
                    format!(
                        " (plus {} in {} writes in flight)",
                        format_size(pending.bytes),
                        pending.versions
                    )
                };
                S3Error::new(
                    S3Code::QuotaExceeded,
                    format!(
                        "Bucket quota exceeded: bucket '{bucket}' has a quota of {quota}; it holds {} ({} bytes) in {} versions{in_flight}, and this request needs {} bytes and {} version(s) more.",
                        format_size(used.bytes),
                        used.bytes,
                        used.versions,
                        ask.bytes,
                        ask.versions
                    ),
                )
            }
            StoreError::StorageFull {
                available,
                total,
                reserve_bytes,
                reserve,
                incoming,
            } => {
                let needs = if incoming > 0 {
                    format!(", request needs {}", format_size(incoming))
                } else {
                    String::new()
                };
                S3Error::new(
                    S3Code::InsufficientStorage,
                    format!(
                        "Storage backend has reached its minimum free space threshold: {} free of {} on the data volume, reserve {} ({reserve}){needs}. New versions and uploads are refused until space is freed; reads, listings and deletes still work.",
                        format_size(available),
                        format_size(total),
                        format_size(reserve_bytes),
                    ),
                )
            }
            StoreError::Flush {
                no_space: true,
                message,
            } => S3Error::new(
                S3Code::InsufficientStorage,
                format!("Storage backend has no space left: the catalog flush failed: {message}"),
            ),
            // sled and I/O errors keep their established mapping (507 for a full volume).
            StoreError::Catalog(e) => {
                tracing::error!(error = %e, "catalog failed");
                S3Error::from(e)
            }
            StoreError::Io(e) => {
                tracing::error!(error = %chain(&e), "storage I/O failed");
                S3Error::from(e)
            }
            StoreError::Upstream(e) => S3Error::from(e),
            e @ (StoreError::FreeSpace(_)
            | StoreError::IoAt { .. }
            | StoreError::MissingUpstream { .. }
            | StoreError::PutTask(_)) => {
                let text = chain(&e);
                tracing::error!(error = %text, "store failed");
                S3Error::internal(text)
            }
            e @ (StoreError::Flush { no_space: false, .. }
            | StoreError::FlusherStopped
            | StoreError::Corrupt { .. }
            | StoreError::NotLocked
            | StoreError::InvalidBlobId { .. }
            | StoreError::BlobExists { .. }
            | StoreError::UpstreamAnswer(_)
            | StoreError::Invariant(_)) => {
                tracing::error!(error = %e, "store failed");
                S3Error::internal(e)
            }
        }
    }
}

impl From<UpstreamError> for S3Error {
    /// 503 `SlowDown` when the upstream is overloaded or unreachable (the client should retry later),
    /// 500 `InternalError` otherwise; the message names the upstream error.
    fn from(e: UpstreamError) -> S3Error {
        let msg = format!("storage upstream failed: {e}");
        tracing::warn!(error = %e, "upstream request failed");
        if e.retryable() {
            S3Error::new(S3Code::SlowDown, msg)
        } else {
            S3Error::new(S3Code::InternalError, msg)
        }
    }
}

#[cfg(test)]
mod store_tests {
    use super::*;
    use crate::store::blob::upstream::client::status_error;
    use crate::store::capacity::{Quota, Usage};
    use http::StatusCode;

    #[test]
    fn upstream_errors_map_to_slow_down_or_internal() {
        let e = status_error(
            StatusCode::SERVICE_UNAVAILABLE,
            b"<Error><Code>SlowDown</Code><Message>a &amp; b</Message></Error>",
        );
        let s3: S3Error = StoreError::from(e).into();
        assert_eq!(s3.code, S3Code::SlowDown);
        assert_eq!(
            s3.message,
            "storage upstream failed: upstream answered 503 SlowDown: a & b"
        );
        let e = status_error(StatusCode::FORBIDDEN, b"");
        assert_eq!(S3Error::from(e).code, S3Code::InternalError);
    }

    #[test]
    fn store_errors_keep_their_wire_text() {
        let s3 = S3Error::from(StoreError::NoSuchBucket { bucket: "b".into() });
        assert_eq!(
            (s3.code, s3.message.as_str()),
            (S3Code::NoSuchBucket, "The specified bucket does not exist: b")
        );
        let s3 = S3Error::from(StoreError::RetentionShortened);
        assert_eq!(
            (s3.code, s3.message.as_str()),
            (
                S3Code::AccessDenied,
                "Access Denied: COMPLIANCE retention can only be extended, not shortened"
            )
        );
        let s3 = S3Error::from(StoreError::QuotaExceeded {
            bucket: "b".into(),
            quota: Quota {
                bytes: Some(100),
                versions: None,
            },
            used: Usage { bytes: 60, versions: 1 },
            pending: Usage::default(),
            ask: Usage { bytes: 50, versions: 1 },
        });
        assert_eq!(s3.code, S3Code::QuotaExceeded);
        assert_eq!(
            s3.message,
            "Bucket quota exceeded: bucket 'b' has a quota of 100 B (100 bytes), unlimited versions; it holds 60 B \
             (60 bytes) in 1 versions, and this request needs 50 bytes and 1 version(s) more."
        );
        let s3 = S3Error::from(StoreError::io_at(
            "blob x cannot be opened",
            std::io::Error::other("gone"),
        ));
        assert_eq!(
            (s3.code, s3.message.as_str()),
            (S3Code::InternalError, "internal error: blob x cannot be opened: gone")
        );
        let s3 = S3Error::from(StoreError::Corrupt {
            what: "part record".into(),
        });
        assert_eq!(s3.message, "internal error: part record does not decode");
        let s3 = S3Error::from(StoreError::Flush {
            no_space: true,
            message: "x".into(),
        });
        assert_eq!(s3.code, S3Code::InsufficientStorage);
        let s3 = S3Error::from(StoreError::Io(std::io::Error::from(std::io::ErrorKind::StorageFull)));
        assert_eq!(s3.code, S3Code::InsufficientStorage);
    }
}
