//! The evidence tools' library: what `wormgate scrub|report|recover|time|evidence` do, shared by the command
//! line (`cli`, offline on a stopped gateway's data directory) and the running server (the admin API in
//! `gateway`, the background work in `daemon`). Nothing here imports `cli`, `daemon` or `gateway`.

pub mod bundle;
pub mod error;
pub mod manifest;
pub mod recover;
pub mod report;
pub mod scrub;
pub mod scrub_record;
pub mod stats;
pub mod time;
pub mod timesources;
