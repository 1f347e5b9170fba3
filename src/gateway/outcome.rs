//! What a handler did, as the audit record needs it. Handlers return an [`Outcome`] with their reply;
//! `Gateway::handle` builds the one audit record of the request from it (or from the error and its
//! rule), so no handler writes into the audit trail.

use crate::audit::{AuditEvent, Change};
use crate::s3::respond::Reply;
use crate::store::VersionRecord;
use crate::timefmt::format_iso;

/// The audit-relevant facts of a handled request.
#[derive(Debug, Default)]
pub struct Outcome {
    pub version_id: Option<String>,
    /// Hex SHA-256 of content stored by this request.
    pub sha256: Option<String>,
    /// Retain-until of the version after the request (RFC 3339).
    pub retain_until: Option<String>,
    pub legal_hold: Option<bool>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub detail: Option<String>,
    /// Catalog changes to replay on recovery.
    pub changes: Vec<Change>,
}

impl Outcome {
    /// A version that now exists with `rec`'s protection (new versions, retention, legal hold).
    pub fn version(rec: &VersionRecord) -> Self {
        Outcome {
            version_id: Some(rec.version_id.clone()),
            retain_until: rec.retention.map(|r| format_iso(r.retain_until())),
            legal_hold: (!rec.delete_marker).then_some(rec.legal_hold),
            ..Default::default()
        }
    }

    /// A version this request created: its protection and the SHA-256 of its content.
    pub fn new_version(rec: &VersionRecord) -> Self {
        Outcome {
            sha256: Some(rec.sha256.clone()),
            ..Outcome::version(rec)
        }
    }

    /// Fill the request's audit record with these facts.
    pub(super) fn record_into(self, ev: &mut AuditEvent) {
        ev.version_id = self.version_id;
        ev.sha256 = self.sha256;
        ev.retain_until = self.retain_until;
        ev.legal_hold = self.legal_hold;
        ev.bytes_in = self.bytes_in;
        ev.bytes_out = self.bytes_out;
        ev.detail = self.detail;
        ev.changes = self.changes;
    }
}

/// A handler's answer: the reply for the client and the outcome for the audit trail.
pub struct Done {
    pub reply: Reply,
    pub outcome: Outcome,
}

impl Done {
    pub fn new(reply: Reply, outcome: Outcome) -> Self {
        Done { reply, outcome }
    }
}

impl From<Reply> for Done {
    /// Reads and probes: nothing to record beyond the request itself.
    fn from(reply: Reply) -> Self {
        Done {
            reply,
            outcome: Outcome::default(),
        }
    }
}
