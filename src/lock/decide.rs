//! The single policy enforcement point. Pure: state + guarded time in, permit or denial out.
//!
//! Each request kind has its own function (`decide_new_version`, `decide_delete_version`, …) that
//! returns the permit type for exactly that kind, so no caller ever holds a permit of the wrong kind.
//! The store's mutations take these permits by value; destroying bytes needs the [`Expired`] proof,
//! which only this module can construct.

use super::clock::TrustedNow;
use super::retention::{DefaultRetention, RequestedMode, Retention};
use chrono::{DateTime, Utc};

/// Gateway-wide retention policy (from the config).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Every new version is retained at least this long.
    pub min_retention: chrono::Duration,
    /// No retention may reach further than this from now (typo guard).
    pub max_retention: chrono::Duration,
    /// Refuse version-creating writes that carry no client digest at all.
    pub require_client_digest: bool,
}

/// What the catalog knows about the version a request targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    /// A delete marker: never locked.
    DeleteMarker,
    /// A data version with its protection.
    Data {
        retention: Option<Retention>,
        legal_hold: bool,
    },
    /// The record exists but does not decode: treated as locked (fail closed).
    Corrupt,
}

/// Object Lock headers of a version-creating request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockHeaders {
    pub mode: Option<RequestedMode>,
    pub retain_until: Option<DateTime<Utc>>,
    pub legal_hold: Option<bool>,
}

/// What a version-creating request asks of the lock (decided before the body is read, and again
/// at commit so the floor counts from when the version appears).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionAsk {
    pub headers: LockHeaders,
    pub bucket_default: Option<DefaultRetention>,
    pub has_client_digest: bool,
}

/// A mutation, described with the state it would act on (the table form's input; test-only).
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// `PutObject` / `CopyObject` / `CompleteMultipartUpload`: a new version.
    CreateVersion {
        headers: LockHeaders,
        bucket_default: Option<DefaultRetention>,
        has_client_digest: bool,
    },
    /// DELETE without versionId: a delete marker (never touches data).
    AddDeleteMarker,
    /// DELETE ?versionId=V (or a `DeleteObjects` entry with `VersionId`).
    DeleteVersion { target: TargetState },
    /// `PutObjectRetention` on a version.
    PutRetention {
        target: TargetState,
        mode: Option<RequestedMode>,
        retain_until: Option<DateTime<Utc>>,
    },
    /// `PutObjectLegalHold` on a version.
    PutLegalHold { target: TargetState, on: bool },
    /// `PutObjectLockConfiguration` (the XML already validated for shape).
    PutLockConfiguration {
        mode: Option<RequestedMode>,
        period: Option<DefaultRetention>,
    },
    /// `PutBucketVersioning`.
    SetVersioning { enabled: bool },
    /// `DeleteBucket`.
    DeleteBucket { has_versions: bool },
}

/// Permit to create a version: the retention and legal hold the catalog must write into it. Only
/// [`decide_new_version`] makes one; `Catalog::insert_version` takes it by value.
#[derive(Debug, PartialEq, Eq)]
pub struct NewVersion {
    retention: Retention,
    legal_hold: bool,
}

impl NewVersion {
    /// The retention the new version gets (never below the gateway floor).
    pub fn retention(&self) -> Retention {
        self.retention
    }
    /// Whether the new version starts under legal hold.
    pub fn legal_hold(&self) -> bool {
        self.legal_hold
    }
}

/// Permit to add a delete marker (metadata only, never locked).
#[derive(Debug, PartialEq, Eq)]
pub struct AddMarker {
    _sealed: (),
}

/// Permit to remove a delete marker; the catalog checks that the record it removes *is* a marker.
#[derive(Debug, PartialEq, Eq)]
pub struct RemoveMarker {
    _sealed: (),
}

/// Proof that a version may be destroyed: its retention had passed by guarded, trusted time `at` and
/// no legal hold was on. The private field means only this module can make one; the catalog removes
/// a record only with it (and re-checks the record against it), and bytes go only with it.
#[derive(Debug, PartialEq, Eq)]
pub struct Expired {
    at: DateTime<Utc>,
}

impl Expired {
    /// Whether this proof covers a version in `state`: a data version, no legal hold, retention
    /// passed at the time the proof was made. The catalog asks this of the record it is about to
    /// remove, so a permit cannot be spent on a different, still-protected version.
    pub fn covers(&self, state: TargetState) -> bool {
        match state {
            TargetState::Data { retention, legal_hold } => {
                !legal_hold && retention.is_none_or(|r| !r.is_active(self.at))
            }
            TargetState::DeleteMarker | TargetState::Corrupt => false,
        }
    }
}

/// What `DELETE ?versionId` may do to the version it names.
#[derive(Debug, PartialEq, Eq)]
pub enum VersionRemoval {
    /// The version is a delete marker.
    Marker(RemoveMarker),
    /// The version is data whose protection has ended.
    Data(Expired),
}

/// Permit to change a version's retention to `retention` (forward only; the catalog applies it
/// with [`Retention::extend`] to the record as it finds it).
#[derive(Debug, PartialEq, Eq)]
pub struct SetRetention {
    retention: Retention,
}

impl SetRetention {
    /// The retention to apply.
    pub fn retention(&self) -> Retention {
        self.retention
    }
    /// The record's retention after this change: `None` → the new one; otherwise only forward.
    /// `Err` carries the current retention when applying would shorten it.
    pub fn apply(&self, current: Option<Retention>) -> Result<Retention, Retention> {
        match current {
            None => Ok(self.retention),
            Some(c) => c.extend(self.retention.retain_until()),
        }
    }
}

/// Permit to set or clear the legal hold of a data version.
#[derive(Debug, PartialEq, Eq)]
pub struct SetLegalHold {
    on: bool,
}

impl SetLegalHold {
    /// The new legal hold state.
    pub fn on(&self) -> bool {
        self.on
    }
}

/// Permit to replace the tags of a data version (tags are outside the WORM record, as in AWS).
#[derive(Debug, PartialEq, Eq)]
pub struct SetTags {
    _sealed: (),
}

/// Permit to replace a bucket's default retention rule.
#[derive(Debug, PartialEq, Eq)]
pub struct SetLockConfiguration {
    rule: Option<DefaultRetention>,
}

impl SetLockConfiguration {
    /// The new default rule (`None`: the gateway floor applies).
    pub fn rule(&self) -> Option<DefaultRetention> {
        self.rule
    }
}

/// Permit to delete an empty bucket (the catalog checks emptiness again while it holds every key).
#[derive(Debug, PartialEq, Eq)]
pub struct DeleteBucket {
    _sealed: (),
}

/// The answer of [`decide`], the table form of the policy: one variant per request kind. Handlers
/// call the narrowed `decide_*` functions instead and never see this type (test-only).
#[cfg(test)]
#[derive(Debug, PartialEq, Eq)]
pub enum Permit {
    NewVersion(NewVersion),
    AddDeleteMarker(AddMarker),
    RemoveDeleteMarker(RemoveMarker),
    RemoveVersion(Expired),
    SetRetention(SetRetention),
    SetLegalHold(SetLegalHold),
    SetLockConfiguration(SetLockConfiguration),
    KeepVersioningEnabled,
    DeleteBucket(DeleteBucket),
}

/// The rule that refused a request (recorded in the audit trail and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    RetentionActive,
    LegalHoldOn,
    ShortenRetention,
    GovernanceRefused,
    ModeAndDateTogether,
    RetainUntilInPast,
    BelowMinimumRetention,
    AboveMaximumRetention,
    MissingClientDigest,
    SuspendVersioning,
    BucketNotEmpty,
    CorruptRecord,
    ClockUntrusted,
    DeleteMarkerHasNoLock,
    MissingRetentionDate,
}

/// What a refusal needs to be explained, beyond its rule: facts, not wire text. `s3::denial` turns a
/// [`Denial`] into the client's error (code, status, message) — the one place that wording lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facts {
    /// The rule alone says it.
    None,
    /// The version's standing retain-until date (what it is protected until, or may only grow from).
    RetainUntil(DateTime<Utc>),
    /// The gateway limit crossed: the minimum or the maximum retention.
    Limit(chrono::Duration),
    /// Whether the version aimed at is protected now: asking GOVERNANCE for it is then a downgrade
    /// attempt (403, as AWS answers it), otherwise a request for a mode that does not exist here (400).
    Protected(bool),
    /// The rule was broken inside a bucket's `DefaultRetention` document rather than request headers.
    DefaultRetention,
}

/// A refusal: the rule that refused, and the facts that explain it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denial {
    pub rule: Rule,
    pub facts: Facts,
}

impl Denial {
    fn new(rule: Rule, facts: Facts) -> Self {
        Denial { rule, facts }
    }
}

impl Rule {
    /// The rule's name as the audit trail, the metrics and the logs spell it (its serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::RetentionActive => "retention_active",
            Rule::LegalHoldOn => "legal_hold_on",
            Rule::ShortenRetention => "shorten_retention",
            Rule::GovernanceRefused => "governance_refused",
            Rule::ModeAndDateTogether => "mode_and_date_together",
            Rule::RetainUntilInPast => "retain_until_in_past",
            Rule::BelowMinimumRetention => "below_minimum_retention",
            Rule::AboveMaximumRetention => "above_maximum_retention",
            Rule::MissingClientDigest => "missing_client_digest",
            Rule::SuspendVersioning => "suspend_versioning",
            Rule::BucketNotEmpty => "bucket_not_empty",
            Rule::CorruptRecord => "corrupt_record",
            Rule::ClockUntrusted => "clock_untrusted",
            Rule::DeleteMarkerHasNoLock => "delete_marker_has_no_lock",
            Rule::MissingRetentionDate => "missing_retention_date",
        }
    }
}

/// The policy in table form: every request kind, one answer. Pure; each narrowed `decide_*` below
/// is the rule for one kind, and this only wraps their permits so the table and property tests can
/// run every kind through one door. Test-only: production code calls the narrowed functions, so no
/// caller ever holds a permit of the wrong kind.
#[cfg(test)]
pub fn decide(req: &Request, policy: &Policy, now: TrustedNow) -> Result<Permit, Denial> {
    match *req {
        Request::CreateVersion {
            headers,
            bucket_default,
            has_client_digest,
        } => decide_new_version(
            &VersionAsk {
                headers,
                bucket_default,
                has_client_digest,
            },
            policy,
            now,
        )
        .map(Permit::NewVersion),
        Request::AddDeleteMarker => Ok(Permit::AddDeleteMarker(decide_add_marker())),
        Request::DeleteVersion { target } => decide_delete_version(target, now).map(|r| match r {
            VersionRemoval::Marker(p) => Permit::RemoveDeleteMarker(p),
            VersionRemoval::Data(p) => Permit::RemoveVersion(p),
        }),
        Request::PutRetention {
            target,
            mode,
            retain_until,
        } => decide_put_retention(target, mode, retain_until, policy, now).map(Permit::SetRetention),
        Request::PutLegalHold { target, on } => decide_legal_hold(target, on).map(Permit::SetLegalHold),
        Request::PutLockConfiguration { mode, period } => {
            decide_lock_configuration(mode, period, policy).map(Permit::SetLockConfiguration)
        }
        Request::SetVersioning { enabled } => decide_versioning(enabled).map(|()| Permit::KeepVersioningEnabled),
        Request::DeleteBucket { has_versions } => decide_delete_bucket(has_versions).map(Permit::DeleteBucket),
    }
}

/// `PutObject` / `CopyObject` / `CompleteMultipartUpload`: the retention and hold of the new version.
pub fn decide_new_version(ask: &VersionAsk, policy: &Policy, now: TrustedNow) -> Result<NewVersion, Denial> {
    let VersionAsk {
        headers,
        bucket_default,
        has_client_digest,
    } = *ask;
    let t = now.at();
    if policy.require_client_digest && !has_client_digest {
        return Err(Denial::new(Rule::MissingClientDigest, Facts::None));
    }
    let floor = t + policy.min_retention;
    let until = match (headers.mode, headers.retain_until) {
        (Some(RequestedMode::Governance), _) => {
            return Err(Denial::new(Rule::GovernanceRefused, Facts::Protected(false)))
        }
        (Some(_), None) | (None, Some(_)) => return Err(Denial::new(Rule::ModeAndDateTogether, Facts::None)),
        (Some(RequestedMode::Compliance), Some(date)) => {
            check_date_bounds(date, t, policy)?;
            if date < floor {
                return Err(below_floor(policy));
            }
            date
        }
        (None, None) => match bucket_default {
            Some(d) => t
                .checked_add_signed(d.duration())
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
                .max(floor),
            None => floor,
        },
    };
    Ok(NewVersion {
        retention: Retention::until(until),
        legal_hold: headers.legal_hold.unwrap_or(false),
    })
}

/// DELETE without a version id: a delete marker never destroys anything, so it is always allowed.
pub fn decide_add_marker() -> AddMarker {
    AddMarker { _sealed: () }
}

/// DELETE ?versionId=V (or a `DeleteObjects` entry with a VersionId): a marker may go; data only once
/// its retention has passed by trusted time and no legal hold is on.
pub fn decide_delete_version(target: TargetState, now: TrustedNow) -> Result<VersionRemoval, Denial> {
    let t = now.at();
    match target {
        TargetState::DeleteMarker => Ok(VersionRemoval::Marker(RemoveMarker { _sealed: () })),
        TargetState::Corrupt => Err(corrupt()),
        TargetState::Data { retention, legal_hold } => {
            if legal_hold {
                return Err(Denial::new(Rule::LegalHoldOn, Facts::None));
            }
            if let Some(r) = retention {
                if r.is_active(t) {
                    return Err(Denial::new(Rule::RetentionActive, Facts::RetainUntil(r.retain_until())));
                }
            }
            if !now.expiry_trusted() {
                return Err(Denial::new(Rule::ClockUntrusted, Facts::None));
            }
            Ok(VersionRemoval::Data(Expired { at: t }))
        }
    }
}

/// `PutObjectRetention`: set a first retention, or move an active one forward.
pub fn decide_put_retention(
    target: TargetState,
    mode: Option<RequestedMode>,
    retain_until: Option<DateTime<Utc>>,
    policy: &Policy,
    now: TrustedNow,
) -> Result<SetRetention, Denial> {
    let t = now.at();
    let current = match target {
        TargetState::Corrupt => return Err(corrupt()),
        TargetState::DeleteMarker => return Err(marker_has_no_lock()),
        TargetState::Data { retention, .. } => retention,
    };
    let active = current.is_some_and(|r| r.is_active(t));
    let date = match (mode, retain_until) {
        // On a retained version this is a downgrade attempt (403, as AWS answers it); on an
        // unprotected one it is a request for a mode that does not exist here (400).
        (Some(RequestedMode::Governance), _) => {
            return Err(Denial::new(Rule::GovernanceRefused, Facts::Protected(active)));
        }
        (Some(RequestedMode::Compliance), Some(d)) => d,
        (None, None) if active => return Err(Denial::new(Rule::ShortenRetention, Facts::None)),
        _ => return Err(Denial::new(Rule::MissingRetentionDate, Facts::None)),
    };
    // Re-sending the current date is an idempotent success, even if the cap was lowered since.
    if let Some(r) = current.filter(|r| active && r.retain_until_ms() == date.timestamp_millis()) {
        return Ok(SetRetention { retention: r });
    }
    check_date_bounds(date, t, policy)?;
    match current {
        Some(r) if r.is_active(t) => r
            .extend(date)
            .map(|retention| SetRetention { retention })
            .map_err(|r| Denial::new(Rule::ShortenRetention, Facts::RetainUntil(r.retain_until()))),
        _ => Ok(SetRetention {
            retention: Retention::until(date),
        }),
    }
}

/// `PutObjectLegalHold`: any data version may have its hold set or cleared.
pub fn decide_legal_hold(target: TargetState, on: bool) -> Result<SetLegalHold, Denial> {
    match target {
        TargetState::Corrupt => Err(corrupt()),
        TargetState::DeleteMarker => Err(marker_has_no_lock()),
        TargetState::Data { .. } => Ok(SetLegalHold { on }),
    }
}

/// `PutObjectTagging` / `DeleteObjectTagging`: tags of a data version may change; a marker has none.
pub fn decide_set_tags(target: TargetState) -> Result<SetTags, Denial> {
    match target {
        TargetState::Corrupt => Err(corrupt()),
        TargetState::DeleteMarker => Err(marker_has_no_lock()),
        TargetState::Data { .. } => Ok(SetTags { _sealed: () }),
    }
}

/// `PutObjectLockConfiguration` (the XML already validated for shape).
pub fn decide_lock_configuration(
    mode: Option<RequestedMode>,
    period: Option<DefaultRetention>,
    policy: &Policy,
) -> Result<SetLockConfiguration, Denial> {
    match (mode, period) {
        (Some(RequestedMode::Governance), _) => Err(Denial::new(Rule::GovernanceRefused, Facts::Protected(false))),
        (Some(RequestedMode::Compliance), Some(p)) => {
            if p.duration() < policy.min_retention {
                Err(below_floor(policy))
            } else if p.duration() > policy.max_retention {
                Err(above_cap(policy))
            } else {
                Ok(SetLockConfiguration { rule: Some(p) })
            }
        }
        (None, None) => Ok(SetLockConfiguration { rule: None }),
        _ => Err(Denial::new(Rule::ModeAndDateTogether, Facts::DefaultRetention)),
    }
}

/// `PutBucketVersioning`: versioning stays enabled; suspending it is refused.
pub fn decide_versioning(enabled: bool) -> Result<(), Denial> {
    if enabled {
        Ok(())
    } else {
        Err(Denial::new(Rule::SuspendVersioning, Facts::None))
    }
}

/// `DeleteBucket`: only an empty bucket.
pub fn decide_delete_bucket(has_versions: bool) -> Result<DeleteBucket, Denial> {
    if has_versions {
        Err(Denial::new(Rule::BucketNotEmpty, Facts::None))
    } else {
        Ok(DeleteBucket { _sealed: () })
    }
}

fn marker_has_no_lock() -> Denial {
    Denial::new(Rule::DeleteMarkerHasNoLock, Facts::None)
}

fn corrupt() -> Denial {
    Denial::new(Rule::CorruptRecord, Facts::None)
}

fn below_floor(policy: &Policy) -> Denial {
    Denial::new(Rule::BelowMinimumRetention, Facts::Limit(policy.min_retention))
}

fn above_cap(policy: &Policy) -> Denial {
    Denial::new(Rule::AboveMaximumRetention, Facts::Limit(policy.max_retention))
}

fn check_date_bounds(date: DateTime<Utc>, now: DateTime<Utc>, policy: &Policy) -> Result<(), Denial> {
    if date <= now {
        return Err(Denial::new(Rule::RetainUntilInPast, Facts::None));
    }
    if date > now + policy.max_retention {
        return Err(above_cap(policy));
    }
    Ok(())
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
