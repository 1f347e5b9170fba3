//! The command line's error: what a `wormgate` tool prints as `wormgate: <error>` before it exits
//! non-zero. Each layer's own error passes through unchanged (its `Display` is the message; its
//! causes stay attached); the tool adds only usage errors and the admin API's refusals.

use crate::audit::error::{CheckpointError, SigningKeyError, TimeBoundError};
use crate::audit::AuditError;
use crate::config::ConfigError;
use crate::evidence::error::EvidenceError;
use crate::keys::GraceError;

/// A cause from a layer whose error type is its own (the store's catalog, I/O, the HTTP client).
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why a `wormgate` tool failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Flags that do not fit together, or a value the tool refuses; the message names the flag.
    #[error("{0}")]
    Usage(String),
    /// The gateway answered an admin request with an error status.
    #[error("the gateway answered {status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The answer's body (the admin API's JSON error), trimmed.
        body: String,
    },
    /// A step failed; `what` says which (`cannot reach http://…`, `cannot write out.tar`).
    #[error("{what}: {source}")]
    Step {
        /// The step, as the user reads it.
        what: String,
        /// Why.
        #[source]
        source: Cause,
    },
    /// A layer below failed (the store's catalog, a runtime); its text is the message.
    #[error(transparent)]
    Failed(Cause),
    /// The configuration (file, flags).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Scrub, report, recover, time.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    /// The audit trail.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// A checkpoint that does not verify or load.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The checkpoint signing key.
    #[error(transparent)]
    SigningKey(#[from] SigningKeyError),
    /// `--since` / `--until`.
    #[error(transparent)]
    TimeBound(#[from] TimeBoundError),
    /// `--grace`.
    #[error(transparent)]
    Grace(#[from] GraceError),
}

impl CliError {
    /// A usage error with its message (a text, or a lower layer's refusal of a value).
    pub fn usage(message: impl std::fmt::Display) -> CliError {
        CliError::Usage(message.to_string())
    }

    /// A failed step with its cause.
    pub fn step(what: impl Into<String>, source: impl Into<Cause>) -> CliError {
        CliError::Step {
            what: what.into(),
            source: source.into(),
        }
    }

    /// A lower layer's error whose type is not one of ours.
    pub fn failed(source: impl Into<Cause>) -> CliError {
        CliError::Failed(source.into())
    }

    /// A lower layer's error known only by its text (it implements no `Error`).
    pub fn failed_text(source: impl std::fmt::Display) -> CliError {
        CliError::Failed(source.to_string().into())
    }
}
