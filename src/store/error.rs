//! What can go wrong in the store (catalog, capacity, blobs), in the store's own terms.
//!
//! The store does not know about S3 wire errors: the gateway maps a [`StoreError`] to a status, code
//! and message in one place (`gateway/errors.rs`), and offline tools show its `Display` (with
//! [`chain`] for the causes). Internal causes are kept as `#[source]`, so a log line can show the
//! whole chain.

use super::blob::upstream::client::UpstreamError;
use super::capacity::{Quota, Usage};
use crate::units::Reserve;

/// Shorthand for results of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// A failed store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The bucket does not exist (or was deleted meanwhile).
    #[error("bucket {bucket} does not exist")]
    NoSuchBucket { bucket: String },
    /// The version record is not there.
    #[error("the version does not exist")]
    NoSuchVersion,
    /// A bucket still holding versions, markers or uploads cannot be deleted.
    #[error("bucket {bucket} is not empty")]
    BucketNotEmpty { bucket: String },
    /// A retention permit would shorten the retention stored (checked against the record as stored).
    #[error("COMPLIANCE retention can only be extended, not shortened")]
    RetentionShortened,
    /// An expiry proof does not cover the version as stored: it is still protected.
    #[error("the version is protected; the expiry proof does not cover it")]
    NotExpired,
    /// A write would take a bucket past its quota.
    #[error("bucket {bucket} would exceed its quota of {quota}")]
    QuotaExceeded {
        bucket: String,
        quota: Quota,
        used: Usage,
        /// Room already claimed by writes in flight.
        pending: Usage,
        /// What this write needs.
        ask: Usage,
    },
    /// The data volume is at (or would go below) its free-space reserve.
    #[error("the data volume is at its free-space reserve")]
    StorageFull {
        available: u64,
        total: u64,
        /// The reserve in bytes.
        reserve_bytes: u64,
        /// The reserve as configured.
        reserve: Reserve,
        /// Bytes the refused request would add.
        incoming: u64,
    },
    /// The free space of the data volume could not be read.
    #[error("cannot read the free space of the data directory")]
    FreeSpace(#[source] std::io::Error),
    /// The catalog database failed.
    #[error("catalog failed")]
    Catalog(#[from] sled::Error),
    /// The catalog's flush (making changes durable) failed; `no_space` when the volume is full.
    #[error("catalog flush failed: {message}")]
    Flush { no_space: bool, message: String },
    /// The catalog's flusher task is gone (shutdown).
    #[error("catalog flusher stopped")]
    FlusherStopped,
    /// Storage I/O failed.
    #[error("storage I/O failed")]
    Io(#[from] std::io::Error),
    /// Storage I/O failed while doing `context`.
    #[error("{context}")]
    IoAt {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A stored record does not decode (`what` names it).
    #[error("{what} does not decode")]
    Corrupt { what: String },
    /// A version record was to be changed without the lock of its key (a caller's bug).
    #[error("catalog mutation without the lock of its key")]
    NotLocked,
    /// A blob id that could name a path outside the store (ids are generated, so a bug).
    #[error("invalid blob id {id}")]
    InvalidBlobId { id: String },
    /// A blob id was to be written twice: blobs are write-once.
    #[error("blob {id} already exists; refusing to overwrite")]
    BlobExists { id: String },
    /// The upstream answered with a document that lacks what the request must yield.
    #[error("{0}")]
    UpstreamAnswer(String),
    /// The task streaming a PUT to the upstream died (panicked or was cancelled).
    #[error("upstream PUT task failed")]
    PutTask(#[source] tokio::task::JoinError),
    /// A store invariant was broken by its caller or by a concurrent change (a bug, never input).
    #[error("{0}")]
    Invariant(String),
    /// A blob the catalog refers to is gone from the upstream.
    #[error("blob {id} is missing upstream")]
    MissingUpstream {
        id: String,
        #[source]
        source: UpstreamError,
    },
    /// The upstream S3 failed.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

impl StoreError {
    /// An invariant violation with this description.
    pub(crate) fn invariant(what: impl Into<String>) -> StoreError {
        StoreError::Invariant(what.into())
    }

    /// I/O failure with what was being done.
    pub(crate) fn io_at(context: impl Into<String>, source: std::io::Error) -> StoreError {
        StoreError::IoAt {
            context: context.into(),
            source,
        }
    }

    /// Whether the underlying cause is a full volume (ENOSPC/EDQUOT).
    pub fn is_no_space(&self) -> bool {
        match self {
            StoreError::Io(e) | StoreError::IoAt { source: e, .. } | StoreError::Catalog(sled::Error::Io(e)) => {
                is_no_space(e)
            }
            StoreError::Flush { no_space, .. } => *no_space,
            _ => false,
        }
    }
}

/// Whether an I/O error means the volume is full (ENOSPC, or EDQUOT: a filesystem quota).
pub fn is_no_space(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// An error and its causes as one line (`outer: cause: cause`), for logs and offline tools, which
/// have no other place to show the chain.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    use std::fmt::Write as _;
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let _ = write!(out, ": {c}");
        cur = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_joins_the_causes() {
        let e = StoreError::io_at("blob x cannot be opened", std::io::Error::other("gone"));
        assert_eq!(chain(&e), "blob x cannot be opened: gone");
        assert!(!e.is_no_space());
        let full = StoreError::Io(std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert!(full.is_no_space());
    }
}
