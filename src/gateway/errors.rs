//! The one place where the layers' typed errors become S3 wire errors (status, `<Code>`, `<Message>`).
//! Layers say what happened in their own terms; what a client sees for it is decided here, so the
//! wire text of every case can be read (and kept stable) in one file.

use crate::audit::AuditError;
use crate::s3::error::S3Error;

// ---- audit ----

/// A request whose audit record cannot be made durable is answered 500 (or 507 when the volume is
/// full while opening the trail): the client must not take an unrecorded request as done.
impl From<AuditError> for S3Error {
    fn from(e: AuditError) -> Self {
        match e {
            // A full volume and plain I/O failures read like every other storage error.
            AuditError::Io(io) => S3Error::from(io),
            other @ (AuditError::InUse { .. }
            | AuditError::Spawn(_)
            | AuditError::WriterStopped
            | AuditError::Append(_)) => S3Error::internal(other),
        }
    }
}
