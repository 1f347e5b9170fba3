//! The audit trail: one hash-chained record per request, allowed or denied, made durable before the
//! response is sent.

pub mod chain;

pub use chain::{AuditEvent, AuditLog, AuditRecord};
