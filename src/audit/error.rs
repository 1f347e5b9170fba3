//! Errors of the audit trail, in the trail's own terms. The gateway maps them to S3 wire errors in
//! `gateway::errors` (one place); offline tools print their `Display`. Causes stay attached
//! (`#[source]`) so the log shows the whole chain.

use std::path::PathBuf;
use std::sync::Arc;

/// Why opening, appending to or checkpointing the audit trail failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Another writer holds the trail's `LOCK`: a second writer would fork the chain.
    #[error("the audit trail {} is in use by another process (a running gateway?): {source}", dir.display())]
    InUse {
        /// The trail directory.
        dir: PathBuf,
        /// Why the lock could not be taken.
        #[source]
        source: std::fs::TryLockError,
    },
    /// Reading or writing the trail's files failed (a full volume is told apart by the mapping).
    #[error("storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// The writer thread could not be started.
    #[error("cannot start audit writer: {0}")]
    Spawn(#[source] std::io::Error),
    /// The writer thread is gone (the process is shutting down, or it panicked).
    #[error("audit writer stopped")]
    WriterStopped,
    /// The writer could not make the record durable. Shared by every request of the failed batch.
    #[error("audit append failed: {0}")]
    Append(#[source] Arc<std::io::Error>),
}

/// Why a signed checkpoint or a signing key was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The checkpoint's `format` is not one this version knows.
    #[error("unknown checkpoint format '{0}'")]
    UnknownFormat(String),
    /// `public_key` is not 32 hex-encoded bytes.
    #[error("public_key is not 32 hex bytes")]
    PublicKeyEncoding,
    /// `public_key` decodes but is not a point on the curve.
    #[error("public_key is not a valid ed25519 key: {0}")]
    PublicKey(#[source] ed25519_dalek::SignatureError),
    /// `signature` is not 64 hex-encoded bytes.
    #[error("signature is not 64 hex bytes")]
    SignatureEncoding,
    /// The signature does not match the signed fields.
    #[error("signature does not verify: the checkpoint was altered or not signed by its key")]
    BadSignature,
    /// The checkpoint file could not be read.
    #[error("cannot read checkpoint {}: {source}", path.display())]
    Read {
        /// The checkpoint file.
        path: PathBuf,
        /// The read error.
        #[source]
        source: std::io::Error,
    },
    /// The checkpoint file is not the expected JSON.
    #[error("checkpoint {} is not a wormgate checkpoint: {source}", path.display())]
    Parse {
        /// The checkpoint file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

/// Why a checkpoint signing key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    /// The key file could not be read.
    #[error("cannot read signing key {}: {source}", path.display())]
    Read {
        /// The key file.
        path: PathBuf,
        /// The read error.
        #[source]
        source: std::io::Error,
    },
    /// The key file was read but its content is not a key.
    #[error("signing key {}: {source}", path.display())]
    InFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with the content.
        #[source]
        source: Box<SigningKeyError>,
    },
    /// A PEM other than an unencrypted PKCS#8 private key.
    #[error("only an unencrypted PKCS#8 'PRIVATE KEY' PEM is supported")]
    PemKind,
    /// The PEM body is not base64.
    #[error("PEM body: {0}")]
    PemBody(#[source] base64::DecodeError),
    /// A PKCS#8 key of another algorithm.
    #[error("the PEM key is not an ed25519 key")]
    NotEd25519,
    /// Neither a hex seed nor a PEM.
    #[error("expected 64 hex characters (an ed25519 seed) or a PKCS#8 PEM")]
    Encoding,
}

/// A time bound given to `audit export` that is neither RFC 3339 nor a date.
#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not a time (use 2024-01-31 or 2024-01-31T12:00:00Z)")]
pub struct TimeBoundError(pub String);
