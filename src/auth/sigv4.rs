//! SigV4 verification: the `Authorization: AWS4-HMAC-SHA256 …` header and presigned query strings
//! (`X-Amz-Algorithm=AWS4-HMAC-SHA256&…`).
//!
//! Both entry points share one canonical-request builder and one payload classifier, so every
//! `x-amz-content-sha256` mode — including `STREAMING-UNSIGNED-PAYLOAD-TRAILER` — is accepted only after
//! the request signature itself has been checked (MinIO CVE-2025-31489 skipped it for unsigned
//! trailers; CVE-2026-41145 skipped it for query-string credentials).

use super::canonical::{self, Credential};
use super::{AuthSettings, Authenticated, ChunkSigningContext, PayloadMode, Users};
use crate::s3::error::{S3Code, S3Error, S3Result};
use chrono::{DateTime, Utc};

/// The only SigV4 algorithm accepted (SigV4a / ECDSA is not supported).
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// `x-amz-content-sha256` value for a body the signature does not cover.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// aws-chunked body with a signature per chunk.
pub const STREAMING_SIGNED: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// aws-chunked body with a signature per chunk and a signed trailer.
pub const STREAMING_SIGNED_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
/// aws-chunked body without chunk signatures, checksum in an (unsigned) trailer.
pub const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
/// Longest validity a presigned URL may ask for (7 days), as AWS enforces.
pub const MAX_PRESIGN_EXPIRES: u64 = 604_800;

const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. \
Check your key and signing method.";
const ONE_AUTH_MECHANISM: &str = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
Signature query string parameter or the Authorization header should be specified";

/// Build the `SignatureDoesNotMatch` error every verifier returns on a mismatch.
pub(crate) fn signature_mismatch() -> S3Error {
    S3Error::new(S3Code::SignatureDoesNotMatch, SIGNATURE_MISMATCH)
}

pub(crate) fn unknown_access_key() -> S3Error {
    S3Error::new(S3Code::InvalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records.")
}

/// What `x-amz-content-sha256` declares, before the signing context is known.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PayloadKind {
    Hex(String),
    Unsigned,
    Streaming { trailer: bool },
    UnsignedTrailer,
}

impl PayloadKind {
    fn is_streaming(&self) -> bool {
        matches!(self, PayloadKind::Streaming { .. } | PayloadKind::UnsignedTrailer)
    }
}

fn shorten(v: &str) -> String {
    if v.len() > 80 {
        let mut end = 80;
        while !v.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &v[..end])
    } else {
        v.to_string()
    }
}

fn classify_payload(v: &str) -> S3Result<PayloadKind> {
    if canonical::is_hex64(v) {
        return Ok(PayloadKind::Hex(v.to_string()));
    }
    match v {
        UNSIGNED_PAYLOAD => Ok(PayloadKind::Unsigned),
        STREAMING_SIGNED => Ok(PayloadKind::Streaming { trailer: false }),
        STREAMING_SIGNED_TRAILER => Ok(PayloadKind::Streaming { trailer: true }),
        STREAMING_UNSIGNED_TRAILER => Ok(PayloadKind::UnsignedTrailer),
        _ if v.starts_with("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD") => Err(S3Error::invalid_argument(format!(
            "x-amz-content-sha256 '{v}' is a SigV4a (ECDSA) payload, which this gateway does not support; \
             sign with AWS4-HMAC-SHA256"
        ))),
        _ => Err(S3Error::invalid_argument(format!(
            "x-amz-content-sha256 must be a hex SHA-256, UNSIGNED-PAYLOAD, {STREAMING_SIGNED}, \
             {STREAMING_SIGNED_TRAILER} or {STREAMING_UNSIGNED_TRAILER}; got '{}'",
            shorten(v)
        ))),
    }
}

fn payload_mode(kind: PayloadKind, seed_signature: &str, amz_date: &str, scope: &str, key: &[u8; 32]) -> PayloadMode {
    match kind {
        PayloadKind::Hex(h) => PayloadMode::Sha256Hex(h),
        PayloadKind::Unsigned => PayloadMode::Unsigned,
        PayloadKind::UnsignedTrailer => PayloadMode::StreamingUnsignedTrailer,
        PayloadKind::Streaming { trailer } => PayloadMode::StreamingSigned {
            ctx: ChunkSigningContext {
                seed_signature: seed_signature.to_string(),
                amz_date: amz_date.to_string(),
                scope: scope.to_string(),
                signing_key: key.to_vec(),
            },
            trailer,
        },
    }
}

/// The three components of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AuthHeader {
    credential: String,
    signed_headers: String,
    signature: String,
}

/// Parse the header. Components may be separated by `,` and/or spaces, in any order; each must
/// appear exactly once. The error says what is wrong.
fn parse_authorization(value: &str) -> Result<AuthHeader, String> {
    if value.len() > canonical::MAX_AUTH_FIELD {
        return Err("the header is too long".into());
    }
    let rest = value.strip_prefix(ALGORITHM).ok_or_else(|| format!("the algorithm must be {ALGORITHM}"))?;
    if !rest.starts_with([' ', '\t']) {
        return Err(format!("expected a space after {ALGORITHM}"));
    }
    let (mut cred, mut signed, mut sig) = (None, None, None);
    for token in rest.split([',', ' ', '\t']).filter(|t| !t.is_empty()) {
        let (k, v) =
            token.split_once('=').ok_or_else(|| format!("the component '{}' is not of the form key=value", shorten(token)))?;
        let slot = match k {
            "Credential" => &mut cred,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut sig,
            _ => return Err(format!("unknown component '{}'", shorten(k))),
        };
        if slot.is_some() {
            return Err(format!("the {k} component appears more than once"));
        }
        *slot = Some(v.to_string());
    }
    let need = |v: Option<String>, name: &str| v.ok_or_else(|| format!("the {name} component is missing"));
    Ok(AuthHeader {
        credential: need(cred, "Credential")?,
        signed_headers: need(signed, "SignedHeaders")?,
        signature: need(sig, "Signature")?,
    })
}

/// Parse `a;b;c` into lower-case names; `host` must be present, no name may be empty or repeated.
fn parse_signed_headers(s: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for name in s.split(';') {
        if name.is_empty() {
            return Err(format!("SignedHeaders '{}' contains an empty header name", shorten(s)));
        }
        let lower = name.to_ascii_lowercase();
        if http::HeaderName::from_bytes(lower.as_bytes()).is_err() {
            return Err(format!("SignedHeaders contains an invalid header name '{}'", shorten(name)));
        }
        if out.contains(&lower) {
            return Err(format!("SignedHeaders lists '{lower}' more than once"));
        }
        out.push(lower);
    }
    if !out.iter().any(|h| h == "host") {
        return Err("SignedHeaders must include host".into());
    }
    Ok(out)
}

/// The one value of a header that must not be repeated; `Ok(None)` when absent.
fn single_header<'a>(headers: &'a http::HeaderMap, name: &str) -> S3Result<Option<&'a str>> {
    let mut it = headers.get_all(name).iter();
    let Some(first) = it.next() else { return Ok(None) };
    if it.next().is_some() {
        return Err(S3Error::invalid_request(format!("The {name} header must not be sent more than once")));
    }
    first
        .to_str()
        .map(|s| Some(s.trim()))
        .map_err(|_| S3Error::invalid_request(format!("The {name} header is not valid ASCII")))
}

/// `(amz_date string used in the string to sign, parsed time)` from `x-amz-date`, else `Date`.
fn request_time(headers: &http::HeaderMap) -> S3Result<(String, DateTime<Utc>)> {
    let bad_amz = || {
        S3Error::access_denied(
            "AWS authentication requires a valid Date or x-amz-date header: x-amz-date must be in the ISO 8601 \
             basic format yyyyMMdd'T'HHmmss'Z'",
        )
    };
    if headers.contains_key("x-amz-date") {
        let v = single_header(headers, "x-amz-date").map_err(|_| bad_amz())?.unwrap_or("");
        let t = canonical::parse_amz_date(v).ok_or_else(bad_amz)?;
        return Ok((v.to_string(), t));
    }
    if headers.contains_key(http::header::DATE) {
        let v = single_header(headers, "date")
            .ok()
            .flatten()
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .ok_or_else(|| {
                S3Error::access_denied(
                    "AWS authentication requires a valid Date or x-amz-date header: the Date header is not an \
                     RFC 1123 date",
                )
            })?;
        let t: DateTime<Utc> = v.into();
        return Ok((canonical::format_amz_date(t), t));
    }
    Err(S3Error::access_denied("AWS authentication requires a valid Date or x-amz-date header"))
}

/// `name:value\n` for every signed header, in the order listed. A signed header the request does not
/// carry contributes an empty value (so the signature cannot match unless the client signed it so);
/// `host` falls back to the URI authority (HTTP/2 `:authority`).
fn canonical_headers(parts: &http::request::Parts, signed: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    for name in signed {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let values = parts.headers.get_all(name.as_str());
        if name == "host" && values.iter().next().is_none() {
            if let Some(a) = parts.uri.authority() {
                out.extend_from_slice(&canonical::canonical_header_value(std::iter::once(a.as_str().as_bytes())));
            }
        } else {
            out.extend_from_slice(&canonical::canonical_header_value(values.iter().map(|v| v.as_bytes())));
        }
        out.push(b'\n');
    }
    out
}

/// Everything the signature covers besides the request itself.
struct SignatureInput<'a> {
    signed: &'a [String],
    payload: &'a str,
    amz_date: &'a str,
    scope: &'a str,
    key: &'a [u8; 32],
    /// Query parameter left out of the canonical query (`X-Amz-Signature` when presigned).
    exclude_param: Option<&'a str>,
}

/// Recompute the signature for each canonical URI form (see [`canonical::canonical_uri_candidates`])
/// and compare each with `provided` in constant time.
fn signature_matches(parts: &http::request::Parts, input: &SignatureInput<'_>, provided: &str) -> bool {
    let headers = canonical_headers(parts, input.signed);
    let query = canonical::canonical_query(parts.uri.query().unwrap_or(""), input.exclude_param);
    let signed_list = input.signed.join(";");
    let provided = provided.to_ascii_lowercase();
    let mut matched = false;
    for uri in canonical::canonical_uri_candidates(parts.uri.path()) {
        let mut creq = Vec::with_capacity(headers.len() + uri.len() + query.len() + 256);
        creq.extend_from_slice(parts.method.as_str().as_bytes());
        creq.push(b'\n');
        creq.extend_from_slice(uri.as_bytes());
        creq.push(b'\n');
        creq.extend_from_slice(query.as_bytes());
        creq.push(b'\n');
        creq.extend_from_slice(&headers);
        creq.push(b'\n');
        creq.extend_from_slice(signed_list.as_bytes());
        creq.push(b'\n');
        creq.extend_from_slice(input.payload.as_bytes());
        let sts = format!("{ALGORITHM}\n{}\n{}\n{}", input.amz_date, input.scope, canonical::sha256_hex(&creq));
        let expected = hex::encode(canonical::hmac_sha256(input.key, sts.as_bytes()));
        matched |= canonical::ct_eq(expected.as_bytes(), provided.as_bytes());
    }
    matched
}

fn abs_diff(a: DateTime<Utc>, b: DateTime<Utc>) -> chrono::Duration {
    if a > b {
        a - b
    } else {
        b - a
    }
}

/// Verify an `Authorization: AWS4-HMAC-SHA256 …` request against the caller's secret; returns the
/// principal and how the body must be verified. Why: every S3 client signs this way by default, and
/// nothing may reach the store unless the header signature checks out — whatever the payload mode.
pub fn verify_header(
    parts: &http::request::Parts,
    users: &Users,
    settings: &AuthSettings,
    now: DateTime<Utc>,
) -> S3Result<Authenticated> {
    let malformed = |msg: String| {
        S3Error::new(S3Code::AuthorizationHeaderMalformed, format!("The authorization header is malformed; {msg}"))
    };
    let mut auth_values = parts.headers.get_all(http::header::AUTHORIZATION).iter();
    let raw = auth_values.next().ok_or_else(|| malformed("the Authorization header is missing".into()))?;
    if auth_values.next().is_some() {
        return Err(malformed("the Authorization header is sent more than once".into()));
    }
    let raw = raw.to_str().map_err(|_| malformed("the header is not valid ASCII".into()))?;
    let auth = parse_authorization(raw.trim()).map_err(malformed)?;
    let query = parts.uri.query().unwrap_or("");
    if canonical::split_query(query).iter().any(|p| {
        let n = canonical::percent_decode(p.name.as_bytes(), true);
        n == b"X-Amz-Algorithm" || n == b"X-Amz-Signature" || n == b"X-Amz-Credential" || n == b"Signature"
    }) {
        return Err(S3Error::invalid_argument(ONE_AUTH_MECHANISM));
    }
    let cred = Credential::parse(&auth.credential).map_err(malformed)?;
    let signed = parse_signed_headers(&auth.signed_headers).map_err(malformed)?;
    if !canonical::is_hex64(&auth.signature) {
        return Err(malformed("the Signature must be 64 hexadecimal characters".into()));
    }
    let user = users.get(&cred.access_key).ok_or_else(unknown_access_key)?;
    let content_sha = single_header(&parts.headers, "x-amz-content-sha256")?.ok_or_else(|| {
        S3Error::invalid_request("Missing required header for this request: x-amz-content-sha256")
    })?;
    let (amz_date, t) = request_time(&parts.headers)?;
    if amz_date.get(..8) != Some(cred.date.as_str()) {
        return Err(malformed(format!(
            "Invalid credential date \"{}\". This date is not the same as X-Amz-Date: \"{}\".",
            cred.date,
            amz_date.get(..8).unwrap_or("")
        )));
    }
    if abs_diff(now, t) > settings.max_skew {
        return Err(S3Error::new(
            S3Code::RequestTimeTooSkewed,
            format!(
                "The difference between the request time and the current time is too large (request time {}, server \
                 time {}, allowed {} s).",
                t.to_rfc3339(),
                now.to_rfc3339(),
                settings.max_skew.num_seconds()
            ),
        ));
    }
    let kind = classify_payload(content_sha)?;
    let scope = cred.scope();
    let key = canonical::signing_key(&user.secret_key, &cred.date, &cred.region, &cred.service);
    let input = SignatureInput {
        signed: &signed,
        payload: content_sha,
        amz_date: &amz_date,
        scope: &scope,
        key: &key,
        exclude_param: None,
    };
    if !signature_matches(parts, &input, &auth.signature) {
        return Err(signature_mismatch());
    }
    let seed = auth.signature.to_ascii_lowercase();
    Ok(Authenticated {
        principal: user.principal.clone(),
        payload: payload_mode(kind, &seed, &amz_date, &scope, &key),
    })
}

/// Decoded query parameters by exact (case-sensitive) name.
struct QueryParams {
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl QueryParams {
    fn parse(query: &str) -> Self {
        let pairs = canonical::split_query(query)
            .into_iter()
            .map(|p| {
                (
                    canonical::percent_decode(p.name.as_bytes(), true),
                    canonical::percent_decode(p.value.unwrap_or("").as_bytes(), true),
                )
            })
            .collect();
        QueryParams { pairs }
    }

    /// The single value of `name`; a repeated or non-UTF-8 value is an `AuthorizationQueryParametersError`.
    fn get(&self, name: &str) -> S3Result<Option<String>> {
        let mut found = None;
        for (n, v) in &self.pairs {
            if n.as_slice() == name.as_bytes() {
                if found.is_some() {
                    return Err(query_error(format!("{name} must not appear more than once")));
                }
                let s = String::from_utf8(v.clone()).map_err(|_| query_error(format!("{name} is not valid UTF-8")))?;
                found = Some(s);
            }
        }
        Ok(found)
    }

    fn require(&self, name: &str) -> S3Result<String> {
        self.get(name)?.ok_or_else(|| {
            query_error(format!(
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, \
                 X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters: {name} is missing."
            ))
        })
    }
}

fn query_error(msg: impl Into<String>) -> S3Error {
    S3Error::new(S3Code::AuthorizationQueryParametersError, msg)
}

/// Verify a SigV4 presigned URL (`X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=…&X-Amz-Date=…&
/// X-Amz-Expires=…&X-Amz-SignedHeaders=…&X-Amz-Signature=…`). Why: browsers and scripts use such URLs
/// without holding the secret; the payload is `UNSIGNED-PAYLOAD` unless the signer covered an
/// `x-amz-content-sha256` header (or `X-Amz-Content-Sha256` parameter), and STREAMING-* modes are
/// only possible through that signed value, so they go through the same chunk verifier.
pub fn verify_presigned(
    parts: &http::request::Parts,
    users: &Users,
    settings: &AuthSettings,
    now: DateTime<Utc>,
) -> S3Result<Authenticated> {
    let query = parts.uri.query().unwrap_or("");
    if query.len() > canonical::MAX_AUTH_FIELD * 4 {
        return Err(query_error("the query string is too long"));
    }
    if parts.headers.contains_key(http::header::AUTHORIZATION) {
        return Err(S3Error::invalid_argument(ONE_AUTH_MECHANISM));
    }
    let params = QueryParams::parse(query);
    let algorithm = params.require("X-Amz-Algorithm")?;
    if algorithm != ALGORITHM {
        return Err(query_error(format!(
            "X-Amz-Algorithm only supports \"{ALGORITHM}\" (got \"{}\")",
            shorten(&algorithm)
        )));
    }
    let credential = params.require("X-Amz-Credential")?;
    let amz_date = params.require("X-Amz-Date")?;
    let expires = params.require("X-Amz-Expires")?;
    let signed_headers = params.require("X-Amz-SignedHeaders")?;
    let signature = params.require("X-Amz-Signature")?;

    let cred = Credential::parse(&credential).map_err(|e| query_error(format!("Error parsing the X-Amz-Credential parameter; {e}")))?;
    let t = canonical::parse_amz_date(&amz_date).ok_or_else(|| {
        query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    })?;
    if amz_date.get(..8) != Some(cred.date.as_str()) {
        return Err(query_error(format!(
            "Invalid credential date \"{}\". This date is not the same as X-Amz-Date: \"{}\".",
            cred.date,
            amz_date.get(..8).unwrap_or("")
        )));
    }
    let expires: u64 = if !expires.is_empty() && expires.len() <= 10 && expires.bytes().all(|b| b.is_ascii_digit()) {
        expires.parse().map_err(|_| query_error("X-Amz-Expires should be a number"))?
    } else {
        return Err(query_error("X-Amz-Expires should be a number of seconds between 1 and 604800"));
    };
    if expires > MAX_PRESIGN_EXPIRES {
        return Err(query_error("X-Amz-Expires must be less than a week (in seconds) that is 604800"));
    }
    if expires == 0 {
        return Err(query_error("X-Amz-Expires must be at least 1 second"));
    }
    let signed = parse_signed_headers(&signed_headers)
        .map_err(|e| query_error(format!("Error parsing the X-Amz-SignedHeaders parameter; {e}")))?;
    if !canonical::is_hex64(&signature) {
        return Err(query_error("X-Amz-Signature must be 64 hexadecimal characters"));
    }
    let user = users.get(&cred.access_key).ok_or_else(unknown_access_key)?;
    if t > now + settings.max_skew {
        return Err(S3Error::access_denied(format!(
            "Request is not valid yet: X-Amz-Date {} is in the future (server time {})",
            t.to_rfc3339(),
            now.to_rfc3339()
        )));
    }
    // `expires` ≤ 604800 so the conversion cannot overflow.
    if now > t + chrono::Duration::seconds(expires as i64) {
        return Err(S3Error::access_denied("Request has expired"));
    }

    // Which payload hash the signature covers, and how the body is framed.
    let header_sha = single_header(&parts.headers, "x-amz-content-sha256")?;
    let query_sha = params.get("X-Amz-Content-Sha256")?;
    let header_signed = signed.iter().any(|h| h == "x-amz-content-sha256");
    let (canonical_payload, effective): (String, String) = match (header_sha, header_signed, &query_sha) {
        (Some(h), _, Some(q)) if h != q => {
            return Err(S3Error::invalid_request(
                "The x-amz-content-sha256 header and the X-Amz-Content-Sha256 query parameter differ",
            ))
        }
        (None, true, _) => {
            return Err(S3Error::invalid_request(
                "x-amz-content-sha256 is listed in X-Amz-SignedHeaders but the header is missing",
            ))
        }
        (Some(h), true, _) => (h.to_string(), h.to_string()),
        (_, false, Some(q)) => (q.clone(), q.clone()),
        (Some(h), false, None) => (UNSIGNED_PAYLOAD.to_string(), h.to_string()),
        (None, false, None) => (UNSIGNED_PAYLOAD.to_string(), UNSIGNED_PAYLOAD.to_string()),
    };
    let kind = classify_payload(&effective)?;
    if kind.is_streaming() && canonical_payload != effective {
        return Err(S3Error::invalid_request(format!(
            "A presigned request may use x-amz-content-sha256: {effective} only if that header is signed \
             (listed in X-Amz-SignedHeaders)"
        )));
    }

    let scope = cred.scope();
    let key = canonical::signing_key(&user.secret_key, &cred.date, &cred.region, &cred.service);
    let input = SignatureInput {
        signed: &signed,
        payload: &canonical_payload,
        amz_date: &amz_date,
        scope: &scope,
        key: &key,
        exclude_param: Some("X-Amz-Signature"),
    };
    if !signature_matches(parts, &input, &signature) {
        return Err(signature_mismatch());
    }
    let seed = signature.to_ascii_lowercase();
    Ok(Authenticated {
        principal: user.principal.clone(),
        payload: payload_mode(kind, &seed, &amz_date, &scope, &key),
    })
}
