//! Property tests ("fuzzing") of the request authentication: `SigV4` header and presigned verification
//! against what `aws-sigv4` signs for random requests, their rejection of any tampering, the canonical
//! forms, and `SigV2` presigned URLs against a reference signer written here. Every input also goes
//! through `authenticate` as hostile bytes: it must answer (never panic) with an S3 error.
//!
//! Cases per property: `WORMGATE_FUZZ_CASES` (default small, so `cargo test` stays quick); a long run
//! is `WORMGATE_FUZZ_CASES=100000 cargo test --release fuzz`.

use super::canonical;
use super::test_support::{aws_sign, users, SignSpec, AK, SK};
use super::{authenticate, AuthSettings, PayloadMode};
use crate::encoding::{percent_decode, uri_encode};
use crate::s3::fuzz_tests::{config, tokens};
use aws_sigv4::http_request::SignableBody;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// Key / value text with the characters that matter to encoders: unreserved, sub-delimiters, `%`,
/// `+`, `/`, spaces, non-ASCII.
fn key_text(max: usize) -> impl Strategy<Value = String> {
    tokens(
        &[
            "a", "Z", "0", "-", "_", ".", "~", " ", "  ", "+", "=", "&", "%", "%41", "/", "!", "$", "'", "(", "*", ",",
            ";", ":", "@", "é", "日本", "😀", "..", "?", "#",
        ],
        max,
    )
}

fn time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 4, 5, 6, 7).single().unwrap_or_default()
}

/// A random request as an SDK would send it: method, wire path, encoded query, headers, region.
#[derive(Debug, Clone)]
struct Req {
    method: &'static str,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    region: String,
}

fn request() -> impl Strategy<Value = Req> {
    let method = select(&["GET", "PUT", "POST", "DELETE", "HEAD"][..]);
    let path = (key_text(6), key_text(12)).prop_map(|(b, k)| {
        format!(
            "/{}/{}",
            uri_encode(b.as_bytes(), false),
            uri_encode(k.as_bytes(), true)
        )
    });
    let param = (
        select(&["a", "prefix", "versionId", "x y", "é", "tagging", "uploads", "a+b"][..]),
        prop::option::of(key_text(8)),
    )
        .prop_map(|(n, v)| match v {
            Some(v) => format!(
                "{}={}",
                uri_encode(n.as_bytes(), false),
                uri_encode(v.as_bytes(), false)
            ),
            None => uri_encode(n.as_bytes(), false),
        });
    // Odd but valid encodings: lower-case escapes, `+` for a space, sub-delimiters left raw.
    let query = (vec(param, 0..5), any::<bool>()).prop_map(|(ps, odd)| {
        let q = ps.join("&");
        if odd {
            odd_encoding(&q)
        } else {
            q
        }
    });
    let header = (
        select(
            &[
                "x-amz-meta-a",
                "x-amz-meta-b",
                "content-type",
                "x-amz-object-lock-mode",
                "range",
            ][..],
        ),
        vec(select(&["v", "w", " ", "  ", "1", "=", ",", "\t", "é"][..]), 1..8).prop_map(|v| v.concat()),
    )
        .prop_map(|(n, v)| (n.to_string(), v));
    let region = select(&["us-east-1", "eu-central-1", "garage", "x"][..]).prop_map(str::to_string);
    (method, path, query, vec(header, 0..4), region).prop_map(|(method, path, query, headers, region)| Req {
        method,
        path,
        query,
        headers,
        region,
    })
}

/// `q` with its `%XX` escapes in lower case, spaces as `+`, and `!`, `*`, `'`, `(`, `)` unescaped.
fn odd_encoding(q: &str) -> String {
    q.replace("%20", "+")
        .replace("%21", "!")
        .replace("%2A", "*")
        .replace("%27", "'")
        .replace("%28", "(")
        .replace("%29", ")")
        .split('%')
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part.to_string()
            } else {
                let hex: String = part.chars().take(2).collect::<String>().to_ascii_lowercase();
                format!("%{hex}{}", part.get(2..).unwrap_or_default())
            }
        })
        .collect()
}

impl Req {
    fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }

    /// Headers that are valid HTTP (non-ASCII values are sent as the SDK would: not at all).
    fn headers(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .filter(|(_, v)| v.is_ascii() && !v.trim().is_empty())
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    fn sign(&self, presign: Option<u64>) -> (http::request::Parts, String) {
        let pq = self.path_and_query();
        let headers = self.headers();
        let mut spec = SignSpec::new(self.method, &pq, time());
        spec.headers = &headers;
        spec.region = &self.region;
        spec.presign = presign;
        spec.body = if presign.is_some() {
            SignableBody::UnsignedPayload
        } else {
            SignableBody::Precomputed(canonical::EMPTY_SHA256.into())
        };
        aws_sign(spec)
    }
}

fn auth(p: &http::request::Parts, now: DateTime<Utc>) -> crate::s3::error::S3Result<super::Authenticated> {
    authenticate(p, &users(), &AuthSettings::default(), now).map_err(crate::s3::error::S3Error::from)
}

/// Replace one hex digit of `sig` (at `at % 64`) with a different one.
fn flip_hex(sig: &str, at: usize) -> String {
    let mut b = sig.as_bytes().to_vec();
    if let Some(c) = b.get_mut(at % 64) {
        *c = if *c == b'0' { b'1' } else { b'0' };
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// `SigV2` reference signer (the AWS "Signing and authenticating REST requests" recipe, query form):
/// `base64(HMAC-SHA1(secret, METHOD\n\n\nExpires\n/path))` for a request with no sub-resource and no
/// `x-amz-*` header.
fn sigv2_reference(secret: &str, method: &str, expires: i64, path: &str) -> String {
    use base64::Engine as _;
    let sts = format!("{method}\n\n\n{expires}\n{path}");
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(sts.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

proptest! {
    #![proptest_config(config())]

    /// What aws-sigv4 signs in the Authorization header verifies; a changed signature, method, path,
    /// query or signed header value does not.
    #[test]
    fn fuzz_sigv4_header_agrees_with_aws_sigv4(r in request(), at in 0usize..64, extra in key_text(4)) {
        let (p, sig) = r.sign(None);
        let a = auth(&p, time()).map_err(|e| TestCaseError::fail(format!("{r:?}: {e}")))?;
        prop_assert_eq!(a.principal.access_key.as_str(), AK);
        prop_assert_eq!(a.payload, PayloadMode::Sha256Hex(canonical::EMPTY_SHA256.into()));

        let authz = p.headers["authorization"].to_str().unwrap_or("").replace(&sig, &flip_hex(&sig, at));
        let mut q = p.clone();
        q.headers.insert("authorization", authz.parse().unwrap());
        prop_assert!(auth(&q, time()).is_err());

        let mut q = p.clone();
        q.method = if r.method == "GET" { http::Method::PUT } else { http::Method::GET };
        prop_assert!(auth(&q, time()).is_err());

        let mut q = p.clone();
        let moved = format!("{}x{}", r.path, if r.query.is_empty() { String::new() } else { format!("?{}", r.query) });
        q.uri = moved.parse().unwrap();
        prop_assert!(auth(&q, time()).is_err());

        let mut q = p.clone();
        let added = format!("{}?{}{}zz={}", r.path, r.query, if r.query.is_empty() { "" } else { "&" },
            uri_encode(extra.as_bytes(), false));
        q.uri = added.parse().unwrap();
        prop_assert!(auth(&q, time()).is_err());

        if let Some((name, value)) = r.headers().first() {
            let mut q = p.clone();
            q.headers.insert(http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                format!("{value}z").parse().unwrap());
            prop_assert!(auth(&q, time()).is_err());
        }
    }

    /// What aws-sigv4 presigns verifies within its validity and not after; a changed signature or
    /// expiry does not.
    #[test]
    fn fuzz_sigv4_presigned_agrees_with_aws_sigv4(r in request(), at in 0usize..64, expires in 1u64..604_800) {
        let r = Req { headers: Vec::new(), ..r };
        let (p, sig) = r.sign(Some(expires));
        let secs = i64::try_from(expires).unwrap_or(i64::MAX);
        let a = auth(&p, time() + chrono::Duration::seconds(secs))
            .map_err(|e| TestCaseError::fail(format!("{r:?}: {e}")))?;
        prop_assert_eq!(a.payload, PayloadMode::Unsigned);
        prop_assert!(auth(&p, time() + chrono::Duration::seconds(secs + 1)).is_err());

        let uri = p.uri.to_string();
        let mut q = p.clone();
        q.uri = uri.replace(&sig, &flip_hex(&sig, at)).parse().unwrap();
        prop_assert!(auth(&q, time()).is_err());
        let mut q = p.clone();
        q.uri = uri.replace(&format!("X-Amz-Expires={expires}"), &format!("X-Amz-Expires={}", expires + 1))
            .parse().unwrap();
        prop_assert!(auth(&q, time()).is_err());
    }

    /// Hostile Authorization headers and presigned queries (layout tokens in any order, repeated,
    /// truncated) are answered with an error, never a panic, and never authenticate.
    #[test]
    fn fuzz_sigv4_garbage_is_refused(
        authz in tokens(&["AWS4-HMAC-SHA256", " ", ",", "\t", "Credential=", "SignedHeaders=", "Signature=",
            AK, "/", "20250304", "us-east-1", "s3", "aws4_request", "host", ";", "x-amz-date", "=", "0f", "é",
            "AWS ", ":"], 24),
        query in tokens(&["X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Credential=", "X-Amz-Date=20250304T050607Z",
            "X-Amz-Expires=", "X-Amz-SignedHeaders=host", "X-Amz-Signature=", "&", "=", "%2F", "%", "%zz", AK,
            "0", "604801", "-1", "AWSAccessKeyId=", "Signature=", "Expires=", "+", "99999999999999999999"], 16),
        date in tokens(&["2025", "0304", "T", "050607", "Z", "x", "99", ""], 6),
        sha in tokens(&["UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "-TRAILER", "e3b0", "zz"], 3),
    ) {
        let mut b = http::Request::builder().method("PUT").uri(format!("/b/k?{query}"));
        b = b.header("host", "h");
        if let Ok(v) = http::HeaderValue::from_str(&authz) {
            b = b.header("authorization", v);
        }
        if let Ok(v) = http::HeaderValue::from_str(&date) {
            b = b.header("x-amz-date", v);
        }
        if let Ok(v) = http::HeaderValue::from_str(&sha) {
            b = b.header("x-amz-content-sha256", v);
        }
        if let Ok(req) = b.body(()) {
            let (p, ()) = req.into_parts();
            prop_assert!(auth(&p, time()).is_err());
        }
    }

    /// Random bytes in the Authorization header and the query never panic the verifiers.
    #[test]
    fn fuzz_auth_random_bytes_never_panic(authz in vec(any::<u8>(), 0..200), query in vec(32u8..127, 0..200)) {
        let mut p = super::test_support::parts("GET", "/b/k", &[("host", "h")]);
        if let Ok(v) = http::HeaderValue::from_bytes(&authz) {
            p.headers.insert("authorization", v);
        }
        let _ = auth(&p, time());
        let q: String = query.iter().map(|&b| char::from(b)).filter(|c| *c != '#').collect();
        if let Ok(uri) = format!("/b/k?{q}").parse() {
            let mut p = super::test_support::parts("GET", "/b/k", &[("host", "h")]);
            p.uri = uri;
            let _ = auth(&p, time());
        }
    }

    /// Every canonical URI candidate names the same key as the raw path (so accepting any of them
    /// cannot move a signature to another object), and the canonical query is a fixed point.
    #[test]
    fn fuzz_canonical_forms(path in key_text(24), query in key_text(24)) {
        let raw = format!("/{path}");
        let key = percent_decode(raw.as_bytes(), false);
        for c in canonical::canonical_uri_candidates(&raw) {
            prop_assert_eq!(percent_decode(c.as_bytes(), false), key.clone(), "{}", c);
        }
        let cq = canonical::canonical_query(&query, None);
        prop_assert_eq!(canonical::canonical_query(&cq, None), cq.clone());
        // Sorted by encoded name then value, and every byte of it is unreserved, `%XX`, `=` or `&`.
        prop_assert!(cq.bytes().all(|b| crate::encoding::is_unreserved(b) || matches!(b, b'%' | b'=' | b'&')));
    }

    /// Header values: trimmed, inner space runs collapsed, idempotent.
    #[test]
    fn fuzz_canonical_header_value(values in vec(vec(select(&[b' ', b'a', b'\t', b',', 0xC3]), 0..12), 0..4)) {
        let once = canonical::canonical_header_value(values.iter().map(Vec::as_slice));
        prop_assert!(!once.windows(2).any(|w| w == b"  "));
        let again = canonical::canonical_header_value(std::iter::once(once.as_slice()));
        if values.len() <= 1 {
            prop_assert_eq!(again, once);
        }
    }

    /// The SigV4 date format round-trips; anything else is refused, never a panic.
    #[test]
    fn fuzz_amz_date(secs in 0i64..253_402_300_799, junk in vec(any::<char>(), 0..20)) {
        let t = Utc.timestamp_opt(secs, 0).single().unwrap_or_default();
        prop_assert_eq!(canonical::parse_amz_date(&canonical::format_amz_date(t)), Some(t));
        let junk: String = junk.into_iter().collect();
        let _ = canonical::parse_amz_date(&junk);
        let _ = canonical::Credential::parse(&junk);
    }

    /// A SigV2 presigned URL made by the reference signer verifies until it expires; a changed
    /// signature, expiry, method or path does not.
    #[test]
    fn fuzz_sigv2_presigned_agrees_with_reference(
        key in key_text(12), method in select(&["GET", "PUT", "DELETE", "HEAD"][..]), ttl in 0i64..100_000,
        flip in 0usize..27,
    ) {
        let path = format!("/b/{}", uri_encode(key.as_bytes(), true));
        let now = time().timestamp();
        let expires = now + ttl;
        let sig = sigv2_reference(SK, method, expires, &path);
        let uri = |sig: &str, expires: i64, path: &str| format!(
            "{path}?AWSAccessKeyId={AK}&Expires={expires}&Signature={}", uri_encode(sig.as_bytes(), false));
        let p = super::test_support::parts(method, &uri(&sig, expires, &path), &[("host", "h")]);
        let at = |s: i64| Utc.timestamp_opt(s, 0).single().unwrap_or_default();
        let a = auth(&p, at(now)).map_err(|e| TestCaseError::fail(format!("{path}: {e}")))?;
        prop_assert_eq!(a.principal.access_key.as_str(), AK);
        prop_assert!(auth(&p, at(expires + 1)).is_err());

        let mut bad = sig.clone().into_bytes();
        if let Some(c) = bad.get_mut(flip % 27) {
            *c = if *c == b'A' { b'B' } else { b'A' };
        }
        let bad = String::from_utf8_lossy(&bad).into_owned();
        for (m, u) in [
            (method, uri(&bad, expires, &path)),
            (method, uri(&sig, expires + 1, &path)),
            (if method == "GET" { "PUT" } else { "GET" }, uri(&sig, expires, &path)),
            (method, uri(&sig, expires, &format!("{path}x"))),
        ] {
            let p = super::test_support::parts(m, &u, &[("host", "h")]);
            prop_assert!(auth(&p, at(now)).is_err(), "{} {}", m, u);
        }
    }
}
