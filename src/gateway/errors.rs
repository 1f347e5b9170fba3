//! The one place where the layers' typed errors become S3 wire errors (status, `<Code>`, `<Message>`).
//! Layers say what happened in their own terms; what a client sees for it is decided here, so the
//! wire text of every case can be read (and kept stable) in one file.

use crate::s3::error::S3Error;

// ---- audit ----

use crate::audit::AuditError;

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

#[cfg(test)]
mod audit_tests {
    use super::*;
    use crate::s3::error::S3Code;
    use std::error::Error as _;
    use std::sync::Arc;

    #[test]
    fn audit_failures_keep_their_wire_status_code_and_message() {
        let append = S3Error::from(AuditError::Append(Arc::new(std::io::Error::other("disk gone"))));
        assert_eq!(append.code, S3Code::InternalError);
        assert_eq!(append.status().as_u16(), 500);
        assert_eq!(append.message, "internal error: audit append failed: disk gone");

        let stopped = S3Error::from(AuditError::WriterStopped);
        assert_eq!(
            (stopped.code, stopped.message.as_str()),
            (S3Code::InternalError, "internal error: audit writer stopped")
        );

        // Opening the trail on a full volume reads like any other full-volume write: 507.
        let full = S3Error::from(AuditError::Io(std::io::Error::from(std::io::ErrorKind::StorageFull)));
        assert_eq!(full.code, S3Code::InsufficientStorage);
        assert_eq!(full.status().as_u16(), 507);
        let io = S3Error::from(AuditError::Io(std::io::Error::other("bad sector")));
        assert_eq!(io.message, "internal error: storage I/O failed: bad sector");
    }

    #[test]
    fn an_append_failure_keeps_its_cause_for_the_log() {
        let e = AuditError::Append(Arc::new(std::io::Error::other("disk gone")));
        assert_eq!(e.source().map(ToString::to_string).as_deref(), Some("disk gone"));
    }
}
