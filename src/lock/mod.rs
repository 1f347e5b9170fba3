//! The lock: retention records, the guarded clock, and `decide` — the only place that says yes or no
//! to a mutation. Everything here is pure except the clock's time source, which is injected.

pub mod clock;
pub mod decide;
pub mod quorum;
pub mod retention;

pub use clock::{Clock, ClockOptions, ClockStart, SystemTimeSource, TimeSource, TrustedNow};
#[cfg(test)]
pub use decide::{decide, Permit, Request};
pub use decide::{
    decide_add_marker, decide_delete_bucket, decide_delete_version, decide_legal_hold, decide_lock_configuration,
    decide_new_version, decide_put_retention, decide_set_tags, decide_versioning, AddMarker, DeleteBucket, Denial,
    Expired, Facts, LockHeaders, NewVersion, Policy, RemoveMarker, Rule, SetLegalHold, SetLockConfiguration,
    SetRetention, SetTags, TargetState, VersionAsk, VersionRemoval,
};
pub use retention::{DefaultRetention, RequestedMode, Retention};
