//! wormgate: an S3-compatible gateway where every bucket is versioned and locked in COMPLIANCE mode.
//! Request path: `http` → `auth` → `s3::parse` → `lock::decide` → `store` → `s3::respond`, with one
//! `audit` record per request. See docs/design.md.

// Test code builds small fixtures with `as` casts of constants and short names; the library proper
// (built without `test`) is still checked with the full pedantic set.
#![cfg_attr(
    test,
    allow(
        clippy::cast_possible_truncation,
        clippy::cast_possible_wrap,
        clippy::cast_sign_loss,
        clippy::many_single_char_names
    )
)]

pub mod audit;
pub mod auth;
pub mod checksum;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod datadir;
pub mod encoding;
pub mod evidence;
pub mod gateway;
pub mod headers;
pub mod http;
pub mod ids;
pub mod keys;
pub mod lifecycle;
pub mod lock;
pub mod metrics;
pub mod s3;
pub mod serve;
pub mod store;
pub mod timefmt;
pub mod units;

#[cfg(test)]
mod architecture_tests;
