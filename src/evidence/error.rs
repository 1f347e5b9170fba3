//! Errors of the evidence tools (scrub, report, recover, trusted time), in their own terms. Causes from
//! the store and the upstream are kept as `#[source]` (boxed: their types belong to those layers), so
//! a log or the CLI can show the whole chain. The admin API and the CLI print the `Display`.

use crate::lock::clock::RewindError;

/// A cause from another layer (the store's catalog or blob errors, the upstream client, I/O).
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why an evidence operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// Walking the catalog failed part-way.
    #[error("catalog read failed: {0}")]
    CatalogRead(#[source] Cause),
    /// A catalog or state-tree access failed.
    #[error("{0}")]
    Catalog(#[source] Cause),
    /// An upstream scrub was started outside a tokio runtime.
    #[error("upstream scrub needs a tokio runtime: {0}")]
    NoRuntime(#[source] tokio::runtime::TryCurrentError),
    /// The upstream cannot be reached: the scrub cannot go on (rather than one object being bad).
    #[error("scrub stopped: {what}: {source}")]
    ScrubStopped {
        /// The request that failed (`HEAD x.meta`, `GET blob x`).
        what: String,
        /// The upstream's error.
        #[source]
        source: Cause,
    },
    /// A step failed; `what` says which (`cannot open blob store`, `cannot move the old catalog aside`).
    #[error("{what}: {source}")]
    Step {
        /// The step, as the user reads it.
        what: String,
        /// Why.
        #[source]
        source: Cause,
    },
    /// `recover` found the catalog locked by a running gateway.
    #[error("the catalog {} is in use by a running gateway: stop it before `wormgate recover` ({detail})", dir.display())]
    CatalogInUse {
        /// The catalog directory.
        dir: std::path::PathBuf,
        /// The lock error.
        detail: String,
    },
    /// An offline rewind was asked while the wall clock is not behind the watermark.
    #[error("the wall clock ({wall}) is not behind the watermark ({watermark}): nothing to rewind")]
    NothingToRewind {
        /// The wall clock (ISO 8601).
        wall: String,
        /// The watermark (ISO 8601).
        watermark: String,
    },
    /// A pending offline confirmation did not apply at start.
    #[error("stale or made for another watermark, not applied")]
    StaleConfirmation,
    /// The running clock refused or failed the rewind.
    #[error(transparent)]
    Rewind(#[from] RewindError),
}

impl EvidenceError {
    /// A failed step with its cause.
    pub fn step(what: impl Into<String>, source: impl Into<Cause>) -> EvidenceError {
        EvidenceError::Step {
            what: what.into(),
            source: source.into(),
        }
    }
}

/// Why an NTP source gave no sample.
#[derive(Debug, thiserror::Error)]
pub enum SntpError {
    /// The exchange failed (timeout, refused, bad packet).
    #[error("{0}")]
    Exchange(#[source] rsntp::SynchronizationError),
    /// The computed offset is absurd.
    #[error("offset out of range: {0} ms")]
    OffsetRange(f64),
}
