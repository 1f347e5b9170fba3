//! `decide`: the single policy enforcement point. Pure: state + guarded time in, permit or denial out.
//! Every mutation the gateway performs is first described as a [`Request`] and only executed with the
//! [`Permit`] that comes back. Destroying bytes needs the [`Expired`] proof, which only this module
//! can construct.

use super::clock::TrustedNow;
use super::retention::{DefaultRetention, RequestedMode, Retention};
use crate::s3::error::{S3Code, S3Error};
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

/// A mutation, described with the state it would act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// PutObject / CopyObject / CompleteMultipartUpload: a new version.
    CreateVersion {
        headers: LockHeaders,
        bucket_default: Option<DefaultRetention>,
        has_client_digest: bool,
    },
    /// DELETE without versionId: a delete marker (never touches data).
    AddDeleteMarker,
    /// DELETE ?versionId=V (or a DeleteObjects entry with VersionId).
    DeleteVersion { target: TargetState },
    /// PutObjectRetention on a version.
    PutRetention {
        target: TargetState,
        mode: Option<RequestedMode>,
        retain_until: Option<DateTime<Utc>>,
    },
    /// PutObjectLegalHold on a version.
    PutLegalHold { target: TargetState, on: bool },
    /// PutObjectLockConfiguration (the XML already validated for shape).
    PutLockConfiguration {
        mode: Option<RequestedMode>,
        period: Option<DefaultRetention>,
    },
    /// PutBucketVersioning.
    SetVersioning { enabled: bool },
    /// DeleteBucket.
    DeleteBucket { has_versions: bool },
}

/// Proof that a version may be destroyed: its retention has passed by guarded time and no legal hold
/// is on. The private field means only this module can make one; `BlobStore::remove` requires it.
#[derive(Debug, PartialEq, Eq)]
pub struct Expired {
    _sealed: (),
}

/// What the gateway is allowed to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Permit {
    NewVersion { retention: Retention, legal_hold: bool },
    AddDeleteMarker,
    RemoveDeleteMarker,
    RemoveVersion(Expired),
    SetRetention(Retention),
    SetLegalHold(bool),
    SetLockConfiguration(Option<DefaultRetention>),
    KeepVersioningEnabled,
    DeleteBucket,
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

/// A refusal: the rule, and what the client is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub rule: Rule,
    pub code: S3Code,
    pub message: String,
}

impl Denial {
    fn new(rule: Rule, code: S3Code, message: impl Into<String>) -> Self {
        Denial {
            rule,
            code,
            message: message.into(),
        }
    }
}

impl From<Denial> for S3Error {
    fn from(d: Denial) -> Self {
        S3Error::new(d.code, d.message)
    }
}

const GOVERNANCE_MSG: &str =
    "GOVERNANCE mode is not available: this gateway enforces COMPLIANCE retention on every version";

fn fmt_duration(d: chrono::Duration) -> String {
    let s = d.num_seconds();
    if s % 86_400 == 0 {
        format!("{} days", s / 86_400)
    } else {
        format!("{s} seconds")
    }
}

/// The policy. See the module doc; each arm names the AWS rule it implements.
pub fn decide(req: &Request, policy: &Policy, now: TrustedNow) -> Result<Permit, Denial> {
    let t = now.at();
    match *req {
        Request::CreateVersion { headers, bucket_default, has_client_digest } => {
            if policy.require_client_digest && !has_client_digest {
                return Err(Denial::new(
                    Rule::MissingClientDigest,
                    S3Code::InvalidRequest,
                    "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters",
                ));
            }
            let floor = t + policy.min_retention;
            let until = match (headers.mode, headers.retain_until) {
                (Some(RequestedMode::Governance), _) => {
                    return Err(Denial::new(Rule::GovernanceRefused, S3Code::InvalidRequest, GOVERNANCE_MSG))
                }
                (Some(_), None) | (None, Some(_)) => {
                    return Err(Denial::new(
                        Rule::ModeAndDateTogether,
                        S3Code::InvalidRequest,
                        "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
                    ))
                }
                (Some(RequestedMode::Compliance), Some(date)) => {
                    check_date_bounds(date, t, policy)?;
                    if date < floor {
                        return Err(below_floor(policy));
                    }
                    date
                }
                (None, None) => match bucket_default {
                    Some(d) => t.checked_add_signed(d.duration()).unwrap_or(DateTime::<Utc>::MAX_UTC).max(floor),
                    None => floor,
                },
            };
            Ok(Permit::NewVersion { retention: Retention::until(until), legal_hold: headers.legal_hold.unwrap_or(false) })
        }
        Request::AddDeleteMarker => Ok(Permit::AddDeleteMarker),
        Request::DeleteVersion { target } => match target {
            TargetState::DeleteMarker => Ok(Permit::RemoveDeleteMarker),
            TargetState::Corrupt => Err(corrupt()),
            TargetState::Data { retention, legal_hold } => {
                if legal_hold {
                    return Err(Denial::new(
                        Rule::LegalHoldOn,
                        S3Code::AccessDenied,
                        "Access Denied because object protected by object lock: a legal hold is on this version",
                    ));
                }
                if let Some(r) = retention {
                    if r.is_active(t) {
                        return Err(Denial::new(
                            Rule::RetentionActive,
                            S3Code::AccessDenied,
                            format!(
                                "Access Denied because object protected by object lock: COMPLIANCE retention until {}",
                                super::retention::format_iso(r.retain_until())
                            ),
                        ));
                    }
                }
                if !now.expiry_trusted() {
                    return Err(Denial::new(
                        Rule::ClockUntrusted,
                        S3Code::AccessDenied,
                        "Access Denied: the server clock is under a time alarm, so no retention is treated as expired until an officer confirms the time",
                    ));
                }
                Ok(Permit::RemoveVersion(Expired { _sealed: () }))
            }
        },
        Request::PutRetention { target, mode, retain_until } => {
            let current = match target {
                TargetState::Corrupt => return Err(corrupt()),
                TargetState::DeleteMarker => {
                    return Err(Denial::new(
                        Rule::DeleteMarkerHasNoLock,
                        S3Code::MethodNotAllowed,
                        "The specified method is not allowed against a delete marker",
                    ))
                }
                TargetState::Data { retention, .. } => retention,
            };
            let active = current.is_some_and(|r| r.is_active(t));
            let date = match (mode, retain_until) {
                // On a retained version this is a downgrade attempt (403, as AWS answers it); on an
                // unprotected one it is a request for a mode that does not exist here (400).
                (Some(RequestedMode::Governance), _) => {
                    let code = if active { S3Code::AccessDenied } else { S3Code::InvalidRequest };
                    return Err(Denial::new(Rule::GovernanceRefused, code, GOVERNANCE_MSG));
                }
                (Some(RequestedMode::Compliance), Some(d)) => d,
                (None, None) if active => {
                    return Err(Denial::new(
                        Rule::ShortenRetention,
                        S3Code::AccessDenied,
                        "Access Denied: a COMPLIANCE retention cannot be removed",
                    ))
                }
                _ => {
                    return Err(Denial::new(
                        Rule::MissingRetentionDate,
                        S3Code::MalformedXML,
                        "The XML you provided was not well-formed or did not validate against our published schema: Retention needs both Mode and RetainUntilDate",
                    ))
                }
            };
            // Re-sending the current date is an idempotent success, even if the cap was lowered since.
            if let Some(r) = current.filter(|r| active && r.retain_until_ms == date.timestamp_millis()) {
                return Ok(Permit::SetRetention(r));
            }
            check_date_bounds(date, t, policy)?;
            match current {
                Some(r) if r.is_active(t) => r.extend(date).map(Permit::SetRetention).map_err(|r| {
                    Denial::new(
                        Rule::ShortenRetention,
                        S3Code::AccessDenied,
                        format!(
                            "Access Denied: COMPLIANCE retention until {} can only be extended, not shortened",
                            super::retention::format_iso(r.retain_until())
                        ),
                    )
                }),
                _ => Ok(Permit::SetRetention(Retention::until(date))),
            }
        }
        Request::PutLegalHold { target, on } => match target {
            TargetState::Corrupt => Err(corrupt()),
            TargetState::DeleteMarker => Err(Denial::new(
                Rule::DeleteMarkerHasNoLock,
                S3Code::MethodNotAllowed,
                "The specified method is not allowed against a delete marker",
            )),
            TargetState::Data { .. } => Ok(Permit::SetLegalHold(on)),
        },
        Request::PutLockConfiguration { mode, period } => match (mode, period) {
            (Some(RequestedMode::Governance), _) => {
                Err(Denial::new(Rule::GovernanceRefused, S3Code::InvalidRequest, GOVERNANCE_MSG))
            }
            (Some(RequestedMode::Compliance), Some(p)) => {
                if p.duration() < policy.min_retention {
                    Err(below_floor(policy))
                } else if p.duration() > policy.max_retention {
                    Err(above_cap(policy))
                } else {
                    Ok(Permit::SetLockConfiguration(Some(p)))
                }
            }
            (None, None) => Ok(Permit::SetLockConfiguration(None)),
            _ => Err(Denial::new(
                Rule::ModeAndDateTogether,
                S3Code::MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema: DefaultRetention needs both a Mode and a period",
            )),
        },
        Request::SetVersioning { enabled } => {
            if enabled {
                Ok(Permit::KeepVersioningEnabled)
            } else {
                Err(Denial::new(
                    Rule::SuspendVersioning,
                    S3Code::InvalidBucketState,
                    "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.",
                ))
            }
        }
        Request::DeleteBucket { has_versions } => {
            if has_versions {
                Err(Denial::new(
                    Rule::BucketNotEmpty,
                    S3Code::BucketNotEmpty,
                    "The bucket you tried to delete is not empty: it holds object versions or delete markers",
                ))
            } else {
                Ok(Permit::DeleteBucket)
            }
        }
    }
}

fn corrupt() -> Denial {
    Denial::new(
        Rule::CorruptRecord,
        S3Code::AccessDenied,
        "Access Denied: the catalog record of this version does not decode, so it is treated as locked",
    )
}

fn below_floor(policy: &Policy) -> Denial {
    Denial::new(
        Rule::BelowMinimumRetention,
        S3Code::InvalidRequest,
        format!(
            "The requested retention is shorter than this gateway's minimum retention of {}",
            fmt_duration(policy.min_retention)
        ),
    )
}

fn above_cap(policy: &Policy) -> Denial {
    Denial::new(
        Rule::AboveMaximumRetention,
        S3Code::InvalidRetentionPeriod,
        format!(
            "The requested retention is longer than this gateway's maximum retention of {}",
            fmt_duration(policy.max_retention)
        ),
    )
}

fn check_date_bounds(date: DateTime<Utc>, now: DateTime<Utc>, policy: &Policy) -> Result<(), Denial> {
    if date <= now {
        return Err(Denial::new(
            Rule::RetainUntilInPast,
            S3Code::InvalidArgument,
            "The retain until date must be in the future!",
        ));
    }
    if date > now + policy.max_retention {
        return Err(above_cap(policy));
    }
    Ok(())
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
