//! The integration tests: one binary (one link of aws-sdk-s3), one way to start the real gateway
//! (`common::Server`), one SeaweedFS harness (`seaweed`). Each module is one area.

// Helpers are shared by many modules; not every module uses every helper.
#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod seaweed;

mod abuse;
mod access;
mod backup;
mod buckets;
mod capacity;
mod copy;
mod crash;
mod evidence;
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
mod tagging;
mod time;
mod upstream;
mod upstream_evidence;
mod users;
