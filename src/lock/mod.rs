//! The lock: retention records, the guarded clock, and `decide` — the only place that says yes or no
//! to a mutation. Everything here is pure except the clock's time source, which is injected.

pub mod clock;
pub mod decide;
pub mod retention;

pub use clock::{Clock, SystemTimeSource, TimeSource, TrustedNow};
pub use decide::{decide, Denial, Expired, LockHeaders, Permit, Policy, Request, Rule, TargetState};
pub use retention::{DefaultRetention, RequestedMode, Retention};
