//! Building blocks shared by the `SigV4` / `SigV2` verifiers and the aws-chunked decoder: canonical URI /
//! query / header forms (on `encoding`'s percent-encoding and its query parser, the one the router
//! uses too), the `SigV4` date and credential scope formats, HMAC helpers and constant-time comparison.
//!
//! aws-sigv4 keeps its `CanonicalRequest` private, so canonicalization is hand-rolled here (as s3s and
//! garage do) and cross-checked in the tests against aws-sigv4's signer.

use super::error::CredentialError;
use crate::encoding::{self, is_unreserved, percent_decode, uri_encode};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Hex SHA-256 of the empty string: the "previous payload" line of every chunk string-to-sign.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Longest accepted `Authorization` header / canonical element we bother to parse; anything larger is
/// malformed (protects the verifier from pathological inputs).
pub const MAX_AUTH_FIELD: usize = 16 * 1024;

/// The canonical URI forms a correct client may have signed for the raw request path, most likely
/// first (duplicates removed):
///
/// 1. the path as sent, with `%xx` escapes upper-cased and every byte a client should have encoded
///    (anything outside the unreserved set and `/`) encoded — what SDKs that sign the wire form produce;
/// 2. fully decoded and re-encoded with `UriEncode` (`/` kept) — the S3 rule as AWS documents it;
/// 3. the raw path exactly as received (clients that leave sub-delimiters such as `=` or `+` raw).
///
/// All forms decode to the same object key, so accepting any of them does not let a signature be
/// reused for another resource. S3 does not normalize `.`/`..` segments nor double-encode.
pub fn canonical_uri_candidates(raw_path: &str) -> Vec<String> {
    let raw = if raw_path.is_empty() { "/" } else { raw_path };
    let bytes = raw.as_bytes();
    let mut wire = String::with_capacity(bytes.len() + 8);
    let mut rest = bytes;
    while let Some((&b, tail)) = rest.split_first() {
        if let [b'%', h, l, ..] = rest {
            if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() {
                wire.push('%');
                wire.push(char::from(h.to_ascii_uppercase()));
                wire.push(char::from(l.to_ascii_uppercase()));
                rest = rest.get(3..).unwrap_or_default();
                continue;
            }
        }
        if is_unreserved(b) || b == b'/' {
            wire.push(char::from(b));
        } else {
            wire.push_str(percent_encoding::percent_encode_byte(b));
        }
        rest = tail;
    }
    let decoded = uri_encode(&percent_decode(bytes, false), true);
    let mut out = vec![wire];
    for c in [decoded, raw.to_string()] {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The query parameters as the signature code reads them: every parameter of the raw query in order,
/// repeats kept, decoded by the one query parser ([`encoding::query_params`]), a missing value as empty.
pub fn decoded_params(query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    encoding::query_params(query)
        .into_iter()
        .map(|(name, value)| (name, value.unwrap_or_default()))
        .collect()
}

/// `SigV4` canonical query string: every parameter (except one named `exclude`, decoded name) decoded
/// (`+` as space) then re-encoded with `UriEncode`, sorted by encoded name then value, `name=` for an
/// empty value, joined with `&`.
pub fn canonical_query(query: &str, exclude: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in decoded_params(query) {
        if exclude.is_some_and(|ex| ex.as_bytes() == name.as_slice()) {
            continue;
        }
        pairs.push((uri_encode(&name, false), uri_encode(&value, false)));
    }
    pairs.sort();
    let mut out = String::new();
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(n);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// `SigV4` canonical header value: each value with leading/trailing spaces removed and inner runs of
/// spaces collapsed to one (what the AWS SDKs do), several values joined with `,`.
pub fn canonical_header_value<'a>(values: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Spaces only (not tabs) are trimmed, as the SDKs do.
        let start = v.iter().position(|&b| b != b' ').unwrap_or(v.len());
        let end = v.iter().rposition(|&b| b != b' ').map_or(start, |e| e + 1);
        let trimmed = v.get(start..end).unwrap_or_default();
        let mut prev_space = false;
        for &b in trimmed {
            if b == b' ' {
                if !prev_space {
                    out.push(b);
                }
                prev_space = true;
            } else {
                out.push(b);
                prev_space = false;
            }
        }
    }
    out
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length; the error branch cannot occur but is handled without panicking.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0u8; 32],
    }
}

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `SigV4` signing key: `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_secret = format!("AWS4{secret}");
    let k_date = hmac_sha256(k_secret.as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// Constant-time equality of two byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Whether `s` is exactly 64 hex digits (a SHA-256 / `SigV4` signature in hex).
pub fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parse the `SigV4` ISO 8601 basic timestamp `YYYYMMDDTHHMMSSZ`, strictly.
pub fn parse_amz_date(s: &str) -> Option<DateTime<Utc>> {
    let [date @ .., b'T', _, _, _, _, _, _, b'Z'] = s.as_bytes() else {
        return None;
    };
    let time = s.as_bytes().get(9..15).unwrap_or_default();
    if date.len() != 8 || !date.iter().chain(time).all(u8::is_ascii_digit) {
        return None;
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ").ok()?;
    Some(Utc.from_utc_datetime(&naive))
}

/// Format a time as `YYYYMMDDTHHMMSSZ`.
pub fn format_amz_date(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The parts of `AK/yyyymmdd/region/service/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key: String,
    pub date: String,
    pub region: String,
    pub service: String,
}

impl Credential {
    /// Parse a credential string; the error says what is wrong (the caller picks the S3 code).
    pub fn parse(s: &str) -> Result<Self, CredentialError> {
        let mut it = s.rsplitn(5, '/');
        let (Some(term), Some(service), Some(region), Some(date), Some(ak)) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            return Err(CredentialError::Form {
                credential: s.to_string(),
            });
        };
        if ak.is_empty() {
            return Err(CredentialError::EmptyAccessKey);
        }
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CredentialError::Date { date: date.to_string() });
        }
        if region.is_empty() {
            return Err(CredentialError::EmptyRegion);
        }
        if service != "s3" {
            return Err(CredentialError::Service {
                service: service.to_string(),
            });
        }
        if term != "aws4_request" {
            return Err(CredentialError::Terminator {
                terminator: term.to_string(),
            });
        }
        Ok(Credential {
            access_key: ak.to_string(),
            date: date.to_string(),
            region: region.to_string(),
            service: service.to_string(),
        })
    }

    /// `yyyymmdd/region/service/aws4_request`.
    pub fn scope(&self) -> String {
        format!("{}/{}/{}/aws4_request", self.date, self.region, self.service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_candidates() {
        assert_eq!(canonical_uri_candidates(""), vec!["/".to_string()]);
        assert_eq!(canonical_uri_candidates("/b/a%20b"), vec!["/b/a%20b".to_string()]);
        let c = canonical_uri_candidates("/b/a%2fb=c");
        assert_eq!(
            c,
            vec![
                "/b/a%2Fb%3Dc".to_string(),
                "/b/a/b%3Dc".to_string(),
                "/b/a%2fb=c".to_string()
            ]
        );
        // Never normalizes dot segments or double-encodes.
        assert_eq!(canonical_uri_candidates("/b/./../k")[0], "/b/./../k");
        assert_eq!(canonical_uri_candidates("/b/%25")[0], "/b/%25");
    }

    #[test]
    fn query_canonical_form() {
        assert_eq!(canonical_query("", None), "");
        assert_eq!(canonical_query("b=2&a=1&a=0&c", None), "a=0&a=1&b=2&c=");
        assert_eq!(canonical_query("x=a+b%2Bc&y=%7e", None), "x=a%20b%2Bc&y=~");
        assert_eq!(
            canonical_query("X-Amz-Signature=abc&z=1", Some("X-Amz-Signature")),
            "z=1"
        );
        assert_eq!(canonical_query("&&a=1&", None), "a=1");
        // Sorted on the encoded form (upper-case before lower-case, '%' before letters).
        assert_eq!(canonical_query("b=1&B=1&%21=1", None), "%21=1&B=1&b=1");
    }

    #[test]
    fn router_and_signature_read_the_query_the_same_way() {
        use crate::s3::parse::Query;
        for q in [
            "a=1&a=2",
            "a=2&a=1&b",
            "a=&b&c=",
            "x=a+b%20c&y=%2B+%2b",
            "k%2Bey+1=v&&%zz=%4&=empty-name",
            "e=x=y&versionId=abc&versionId=def",
            "X-Amz-Signature=s&uploads&partNumber=1",
        ] {
            let router: Vec<(Vec<u8>, Vec<u8>)> = Query::parse(q)
                .unwrap()
                .params()
                .map(|(n, v)| (n.as_bytes().to_vec(), v.unwrap_or("").as_bytes().to_vec()))
                .collect();
            assert_eq!(router, decoded_params(q), "{q}");
        }
        // Repeated names: the signature covers every value; the router acts on the last.
        assert_eq!(canonical_query("a=2&a=1", None), "a=1&a=2");
        let q = Query::parse("a=2&a=1&b").unwrap();
        assert_eq!(q.get("a"), Some("1"));
        assert_eq!(q.get("b"), Some(""));
        assert_eq!(q.pairs().collect::<Vec<_>>(), vec![("a", "1"), ("b", "")]);
        // `+` and `%20` are both a space, `%2B` is a plus, for both.
        assert_eq!(Query::parse("x=a+b%20c%2B").unwrap().get("x"), Some("a b c+"));
        assert_eq!(canonical_query("x=a+b%20c%2B", None), "x=a%20b%20c%2B");
        // The router refuses what does not decode to UTF-8; the signature code works on the bytes.
        assert!(Query::parse("a=%FF").is_err());
        assert_eq!(decoded_params("a=%FF"), vec![(b"a".to_vec(), vec![0xFF])]);
    }

    #[test]
    fn header_value_trimming() {
        let v: Vec<&[u8]> = vec![b"  a   b  ", b"c"];
        assert_eq!(canonical_header_value(v.into_iter()), b"a b,c");
        let v: Vec<&[u8]> = vec![b"a\tb"];
        assert_eq!(canonical_header_value(v.into_iter()), b"a\tb");
    }

    #[test]
    fn amz_date_strict() {
        let t = parse_amz_date("20130524T000000Z").unwrap();
        assert_eq!(format_amz_date(t), "20130524T000000Z");
        for bad in [
            "2013-05-24T000000Z",
            "20130524T000000",
            "20130524 000000Z",
            "20131324T000000Z",
            "+0130524T000000Z",
        ] {
            assert!(parse_amz_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn credential_parsing() {
        let c = Credential::parse("AKIA/20130524/us-east-1/s3/aws4_request").unwrap();
        assert_eq!(c.access_key, "AKIA");
        assert_eq!(c.scope(), "20130524/us-east-1/s3/aws4_request");
        assert!(Credential::parse("AKIA/20130524/us-east-1/iam/aws4_request")
            .unwrap_err()
            .to_string()
            .contains("'s3'"));
        assert!(Credential::parse("AKIA/20130524/us-east-1/s3/aws4").is_err());
        assert!(Credential::parse("20130524/us-east-1/s3/aws4_request").is_err());
        assert!(Credential::parse("AK/2013052/us-east-1/s3/aws4_request").is_err());
        assert!(Credential::parse("AK/20130524//s3/aws4_request").is_err());
        // An access key containing '/' keeps everything before the scope.
        assert_eq!(
            Credential::parse("A/K/20130524/r/s3/aws4_request").unwrap().access_key,
            "A/K"
        );
    }

    #[test]
    fn signing_key_matches_aws_example() {
        // AWS "Examples of how to derive a signing key" (iam, 20120215, us-east-1).
        let k = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(k),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn constant_time_eq() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
