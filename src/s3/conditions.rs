//! Conditional requests as S3 applies RFC 7232: `ETag` matching, the evaluation of `If-Match`,
//! `If-None-Match`, `If-Modified-Since` and `If-Unmodified-Since` (GET/HEAD, and the
//! `x-amz-copy-source-if-*` of copies), and the `PreconditionFailed` error (also for the write
//! conditions of `PutObject`).

use super::error::{S3Code, S3Error};
use super::op::Conditions;

/// Whether an `If-Match` / `If-None-Match` value (`*`, or a list of tags, quoted or weak) names `etag`.
pub fn etag_matches(cond: &str, etag: &str) -> bool {
    cond.split(',')
        .map(|c| c.trim().trim_start_matches("W/").trim_matches('"'))
        .any(|c| c == "*" || c == etag)
}

/// `412 PreconditionFailed`.
pub fn precondition_failed() -> S3Error {
    S3Error::new(
        S3Code::PreconditionFailed,
        "At least one of the pre-conditions you specified did not hold",
    )
}

/// What the conditions say about a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Proceed,
    PreconditionFailed,
    /// GET/HEAD answer `304 Not Modified`; a copy fails as for any other precondition.
    NotModified,
}

impl Conditions {
    /// Evaluate against a version with `etag`, last modified at `modified_ms` (compared in whole
    /// seconds, as HTTP dates carry). `If-Match` takes precedence over `If-Unmodified-Since`, and
    /// `If-None-Match` over `If-Modified-Since`; a failed `If-Match` / `If-Unmodified-Since` wins.
    pub fn evaluate(&self, etag: &str, modified_ms: i64) -> Verdict {
        let modified = crate::timefmt::from_ms(modified_ms).timestamp();
        if let Some(m) = &self.if_match {
            if !etag_matches(m, etag) {
                return Verdict::PreconditionFailed;
            }
        } else if self.if_unmodified_since.is_some_and(|t| modified > t.timestamp()) {
            return Verdict::PreconditionFailed;
        }
        if let Some(m) = &self.if_none_match {
            if etag_matches(m, etag) {
                return Verdict::NotModified;
            }
        } else if self.if_modified_since.is_some_and(|t| modified <= t.timestamp()) {
            return Verdict::NotModified;
        }
        Verdict::Proceed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags() {
        assert!(etag_matches("\"abc\"", "abc"));
        assert!(etag_matches("*", "abc"));
        assert!(etag_matches("\"x\", \"abc\"", "abc"));
        assert!(etag_matches("W/\"abc\"", "abc"));
        assert!(!etag_matches("\"abd\"", "abc"));
    }

    #[test]
    fn evaluation_order_and_second_precision() {
        let at = |s: i64| chrono::DateTime::from_timestamp(s, 0);
        let ms = 1_000_500; // modified at 1000.5 s: compared as second 1000
        let c = |m: Option<&str>, n: Option<&str>, ms_: Option<i64>, us: Option<i64>| Conditions {
            if_match: m.map(str::to_string),
            if_none_match: n.map(str::to_string),
            if_modified_since: ms_.and_then(at),
            if_unmodified_since: us.and_then(at),
        };
        use Verdict::*;
        assert_eq!(Conditions::default().evaluate("e", ms), Proceed);
        assert_eq!(c(Some("\"x\""), None, None, None).evaluate("e", ms), PreconditionFailed);
        // If-Match decides; If-Unmodified-Since is then ignored.
        assert_eq!(c(Some("\"e\""), None, None, Some(1)).evaluate("e", ms), Proceed);
        assert_eq!(c(None, None, None, Some(999)).evaluate("e", ms), PreconditionFailed);
        assert_eq!(c(None, None, None, Some(1000)).evaluate("e", ms), Proceed);
        assert_eq!(c(None, Some("\"e\""), None, None).evaluate("e", ms), NotModified);
        // If-None-Match decides; If-Modified-Since is then ignored.
        assert_eq!(c(None, Some("\"x\""), Some(2000), None).evaluate("e", ms), Proceed);
        assert_eq!(c(None, None, Some(1000), None).evaluate("e", ms), NotModified);
        assert_eq!(c(None, None, Some(999), None).evaluate("e", ms), Proceed);
        // A failed If-Match wins over a matching If-None-Match.
        assert_eq!(
            c(Some("\"x\""), Some("*"), None, None).evaluate("e", ms),
            PreconditionFailed
        );
    }
}
