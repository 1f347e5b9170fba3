//! wormgate: an S3-compatible gateway where every bucket is versioned and locked in COMPLIANCE mode.
//! Request path: `http` → `auth` → `s3::parse` → `lock::decide` → `store` → `s3::respond`, with one
//! `audit` record per request. See docs/design.md.
//!
//! The modules that read client bytes warn on `unwrap`/`expect`/indexing (no input may panic a
//! request); each remaining one carries an `#[allow]` saying why it cannot fail.

pub mod audit;
#[warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
pub mod auth;
#[warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
pub mod checksum;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod datadir;
#[warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
pub mod encoding;
pub mod evidence;
#[warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
pub mod gateway;
#[warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
pub mod headers;
#[warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
pub mod http;
pub mod ids;
pub mod keys;
pub mod lifecycle;
pub mod lock;
pub mod metrics;
#[warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
pub mod s3;
pub mod serve;
pub mod store;
#[warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
pub mod timefmt;
pub mod units;

#[cfg(test)]
mod architecture_tests;
