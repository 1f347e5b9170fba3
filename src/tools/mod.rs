//! The evidence tools behind `wormgate audit|scrub|report|recover|time`: each works offline on a
//! stopped gateway's data directory, and (except `recover`) through the admin API of a running one.

pub mod cli;
pub mod client;
pub mod daemon;
pub mod offline;
pub mod recover;
pub mod report;
pub mod scrub;
pub mod stats;
pub mod timecmd;
