//! Reading a request head, one rule each: a header that must appear at most once (each caller names
//! the S3 error of a breach, since S3 answers differently for signature and object headers), and
//! `Expect: 100-continue`. Imports nothing of the crate.

use http::header::{AsHeaderName, EXPECT};
use http::HeaderMap;

/// Why a header that must appear at most once could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderProblem {
    /// Sent more than once.
    Repeated,
    /// Not visible ASCII.
    NotAscii,
}

/// The one value of a header that must not be repeated, as text; `Ok(None)` when absent.
pub fn single<K: AsHeaderName>(headers: &HeaderMap, name: K) -> Result<Option<&str>, HeaderProblem> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(HeaderProblem::Repeated);
    }
    first.to_str().map(Some).map_err(|_| HeaderProblem::NotAscii)
}

/// Whether the request carries `Expect: 100-continue` (case-insensitive).
pub fn expects_100_continue(headers: &HeaderMap) -> bool {
    headers
        .get(EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_values() {
        let mut h = HeaderMap::new();
        assert_eq!(single(&h, "x-a"), Ok(None));
        h.insert("x-a", "1".parse().unwrap());
        assert_eq!(single(&h, "x-a"), Ok(Some("1")));
        h.append("x-a", "2".parse().unwrap());
        assert_eq!(single(&h, "x-a"), Err(HeaderProblem::Repeated));
        h.insert("x-b", http::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap());
        assert_eq!(single(&h, "x-b"), Err(HeaderProblem::NotAscii));
    }

    #[test]
    fn expect_continue() {
        let mut h = HeaderMap::new();
        assert!(!expects_100_continue(&h));
        h.insert(EXPECT, "100-Continue".parse().unwrap());
        assert!(expects_100_continue(&h));
        h.insert(EXPECT, "100-continue; x".parse().unwrap());
        assert!(!expects_100_continue(&h));
    }
}
