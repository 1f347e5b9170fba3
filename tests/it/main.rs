//! The integration tests: one binary (one link of aws-sdk-s3), one way to start the real gateway
//! (`common::Server`), one `SeaweedFS` harness (`seaweed`). Each module is one area.

// Test fixtures compare sizes with the SDK's `i64`/`i32` fields, build bytes from small constants and
// favour plain code over pedantic shapes.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::many_single_char_names,
    clippy::default_trait_access,
    clippy::items_after_statements,
    clippy::needless_pass_by_value,
    clippy::match_same_arms,
    clippy::option_option,
    clippy::assigning_clones,
    clippy::case_sensitive_file_extension_comparisons,
    clippy::large_futures
)]

// Helpers are shared by many modules; not every module uses every helper.
#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod seaweed;

mod abuse;
mod access;
mod audit_archive;
mod audit_shipping;
mod backup;
mod buckets;
mod capacity;
mod copy;
mod crash;
mod evidence;
mod evidence_bundle;
mod failover;
mod lifecycle;
mod limits;
mod listing;
mod lock;
mod memory;
mod multipart;
mod objects;
mod refusals;
mod scoped_keys;
mod segments;
mod storm;
mod tagging;
mod time;
mod upstream;
mod upstream_evidence;
mod users;
