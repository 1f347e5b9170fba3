//! The audit trail: one hash-chained record per request, allowed or denied, made durable before the
//! response is sent. Segments are sealed on rotation, the head can be signed (checkpoints), and
//! `verify` / `export` are what an examiner runs; `ship` sends every record off the box as it is written.

pub mod alarm;
pub mod archive;
pub mod chain;
pub mod checkpoint;
pub mod error;
pub mod export;
pub mod ship;
pub mod verify;

pub use chain::{AuditEvent, AuditLog, AuditOptions, AuditRecord, Change};
pub use error::AuditError;
