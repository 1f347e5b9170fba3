//! How a policy refusal reads on the wire. `lock::decide` says *which rule* refused and the facts
//! (a date, a limit); this is the one place that turns that into the S3 code, status and message a
//! client sees, so the policy stays free of wire text and the wording is reviewed in one table.

use super::error::{S3Code, S3Error};
use crate::lock::{Denial, Facts, Rule};
use crate::timefmt::{days_or_seconds, format_iso};

/// Shared by every GOVERNANCE refusal: wormgate has COMPLIANCE only.
const GOVERNANCE: &str =
    "GOVERNANCE mode is not available: this gateway enforces COMPLIANCE retention on every version";

/// The S3 code and message of a refusal.
pub fn wire(d: &Denial) -> (S3Code, String) {
    use Facts as F;
    use Rule as R;
    let (code, message) = match (d.rule, d.facts) {
        (R::MissingClientDigest, _) => (
            S3Code::InvalidRequest,
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters".to_string(),
        ),
        (R::GovernanceRefused, F::Protected(true)) => (S3Code::AccessDenied, GOVERNANCE.to_string()),
        (R::GovernanceRefused, _) => (S3Code::InvalidRequest, GOVERNANCE.to_string()),
        (R::ModeAndDateTogether, F::DefaultRetention) => (
            S3Code::MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema: DefaultRetention needs both a Mode and a period".to_string(),
        ),
        (R::ModeAndDateTogether, _) => (
            S3Code::InvalidRequest,
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied".to_string(),
        ),
        (R::LegalHoldOn, _) => (
            S3Code::AccessDenied,
            "Access Denied because object protected by object lock: a legal hold is on this version".to_string(),
        ),
        (R::RetentionActive, F::RetainUntil(t)) => (
            S3Code::AccessDenied,
            format!(
                "Access Denied because object protected by object lock: COMPLIANCE retention until {}",
                format_iso(t)
            ),
        ),
        (R::RetentionActive, _) => (
            S3Code::AccessDenied,
            "Access Denied because object protected by object lock".to_string(),
        ),
        (R::ClockUntrusted, _) => (
            S3Code::AccessDenied,
            "Access Denied: the server clock is not trusted (a clock alarm stands, or the configured time sources have not recently agreed), so no retention is treated as expired until the time is trusted again (`wormgate time status`)".to_string(),
        ),
        (R::ShortenRetention, F::RetainUntil(t)) => (
            S3Code::AccessDenied,
            format!(
                "Access Denied: COMPLIANCE retention until {} can only be extended, not shortened",
                format_iso(t)
            ),
        ),
        (R::ShortenRetention, _) => (
            S3Code::AccessDenied,
            "Access Denied: a COMPLIANCE retention cannot be removed".to_string(),
        ),
        (R::MissingRetentionDate, _) => (
            S3Code::MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema: Retention needs both Mode and RetainUntilDate".to_string(),
        ),
        (R::SuspendVersioning, _) => (
            S3Code::InvalidBucketState,
            "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.".to_string(),
        ),
        (R::BucketNotEmpty, _) => (
            S3Code::BucketNotEmpty,
            "The bucket you tried to delete is not empty: it holds object versions or delete markers".to_string(),
        ),
        (R::DeleteMarkerHasNoLock, _) => (
            S3Code::MethodNotAllowed,
            "The specified method is not allowed against a delete marker".to_string(),
        ),
        (R::CorruptRecord, _) => (
            S3Code::AccessDenied,
            "Access Denied: the catalog record of this version does not decode, so it is treated as locked".to_string(),
        ),
        (R::BelowMinimumRetention, F::Limit(l)) => (
            S3Code::InvalidRequest,
            format!(
                "The requested retention is shorter than this gateway's minimum retention of {}",
                days_or_seconds(l)
            ),
        ),
        (R::BelowMinimumRetention, _) => (
            S3Code::InvalidRequest,
            "The requested retention is shorter than this gateway's minimum retention".to_string(),
        ),
        (R::AboveMaximumRetention, F::Limit(l)) => (
            S3Code::InvalidRetentionPeriod,
            format!(
                "The requested retention is longer than this gateway's maximum retention of {}",
                days_or_seconds(l)
            ),
        ),
        (R::AboveMaximumRetention, _) => (
            S3Code::InvalidRetentionPeriod,
            "The requested retention is longer than this gateway's maximum retention".to_string(),
        ),
        (R::RetainUntilInPast, _) => (
            S3Code::InvalidArgument,
            "The retain until date must be in the future!".to_string(),
        ),
    };
    (code, message)
}

impl From<Denial> for S3Error {
    fn from(d: Denial) -> Self {
        let (code, message) = wire(&d);
        S3Error::new(code, message).with_rule(d.rule.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Every rule, with the facts `decide` gives it, reads as AWS would answer it; the facts show up in
    /// the message.
    #[test]
    fn every_rule_has_its_code_and_its_facts_in_the_message() {
        let t = chrono::Utc.with_ymd_and_hms(2031, 2, 3, 4, 5, 6).unwrap();
        let week = chrono::Duration::days(7);
        let cases: &[(Rule, Facts, S3Code, &str)] = &[
            (
                Rule::RetentionActive,
                Facts::RetainUntil(t),
                S3Code::AccessDenied,
                "2031-02-03T04:05:06",
            ),
            (
                Rule::ShortenRetention,
                Facts::RetainUntil(t),
                S3Code::AccessDenied,
                "2031-02-03T04:05:06",
            ),
            (
                Rule::ShortenRetention,
                Facts::None,
                S3Code::AccessDenied,
                "cannot be removed",
            ),
            (
                Rule::GovernanceRefused,
                Facts::Protected(true),
                S3Code::AccessDenied,
                "GOVERNANCE",
            ),
            (
                Rule::GovernanceRefused,
                Facts::Protected(false),
                S3Code::InvalidRequest,
                "GOVERNANCE",
            ),
            (
                Rule::ModeAndDateTogether,
                Facts::None,
                S3Code::InvalidRequest,
                "x-amz-object-lock-mode",
            ),
            (
                Rule::ModeAndDateTogether,
                Facts::DefaultRetention,
                S3Code::MalformedXML,
                "DefaultRetention",
            ),
            (
                Rule::BelowMinimumRetention,
                Facts::Limit(week),
                S3Code::InvalidRequest,
                "7 days",
            ),
            (
                Rule::AboveMaximumRetention,
                Facts::Limit(chrono::Duration::seconds(90)),
                S3Code::InvalidRetentionPeriod,
                "90 seconds",
            ),
            (Rule::LegalHoldOn, Facts::None, S3Code::AccessDenied, "legal hold"),
            (Rule::ClockUntrusted, Facts::None, S3Code::AccessDenied, "clock"),
            (
                Rule::MissingClientDigest,
                Facts::None,
                S3Code::InvalidRequest,
                "Content-MD5",
            ),
            (
                Rule::MissingRetentionDate,
                Facts::None,
                S3Code::MalformedXML,
                "RetainUntilDate",
            ),
            (
                Rule::SuspendVersioning,
                Facts::None,
                S3Code::InvalidBucketState,
                "versioning",
            ),
            (Rule::BucketNotEmpty, Facts::None, S3Code::BucketNotEmpty, "not empty"),
            (
                Rule::DeleteMarkerHasNoLock,
                Facts::None,
                S3Code::MethodNotAllowed,
                "delete marker",
            ),
            (
                Rule::CorruptRecord,
                Facts::None,
                S3Code::AccessDenied,
                "does not decode",
            ),
            (Rule::RetainUntilInPast, Facts::None, S3Code::InvalidArgument, "future"),
        ];
        for &(rule, facts, code, mentions) in cases {
            let e = S3Error::from(Denial { rule, facts });
            assert_eq!(e.code, code, "{rule:?} {facts:?}");
            assert!(
                e.message.contains(mentions),
                "{rule:?}: {:?} lacks {mentions:?}",
                e.message
            );
            assert_eq!(e.rule, Some(rule.as_str()));
        }
    }
}
