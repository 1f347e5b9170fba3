//! wormgate: an S3-compatible gateway where every bucket is versioned and locked in COMPLIANCE mode.
//! Request path: `http` → `auth` → `s3::parse` → `lock::decide` → `store` → `s3::respond`, with one
//! `audit` record per request. See docs/design.md.
//!
//! The modules that read client bytes warn on `unwrap`/`expect`/indexing (no input may panic a
//! request); each remaining one carries an `#[allow]` saying why it cannot fail.

// Test code favours plain fixtures (casts of small constants, short names, owned arguments, panics
// in match arms); the library proper (built without `test`) is still checked with the full set.
#![cfg_attr(
    test,
    allow(
        clippy::cast_possible_truncation,
        clippy::cast_possible_wrap,
        clippy::cast_sign_loss,
        clippy::many_single_char_names,
        clippy::similar_names,
        clippy::default_trait_access,
        clippy::items_after_statements,
        clippy::large_stack_arrays,
        clippy::needless_pass_by_value,
        clippy::unnecessary_wraps,
        clippy::match_wild_err_arm,
        clippy::format_collect,
        clippy::match_wildcard_for_single_variants,
        clippy::case_sensitive_file_extension_comparisons,
        clippy::match_same_arms
    )
)]

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
