//! `SigV4` verification: the `Authorization: AWS4-HMAC-SHA256 …` header and presigned query strings
//! (`X-Amz-Algorithm=AWS4-HMAC-SHA256&…`).
//!
//! Both entry points share one canonical-request builder and one payload classifier, so every
//! `x-amz-content-sha256` mode — including `STREAMING-UNSIGNED-PAYLOAD-TRAILER` — is accepted only after
//! the request signature itself has been checked (`MinIO` CVE-2025-31489 skipped it for unsigned
//! trailers; CVE-2026-41145 skipped it for query-string credentials).

use super::canonical::{self, Credential};
use super::error::{AuthError, AuthHeaderSyntax, HeaderMalformed, PresignProblem, SignedHeadersError};
use super::{AuthSettings, Authenticated, ChunkSigningContext, PayloadMode, Users};
use crate::headers::HeaderProblem;
use chrono::{DateTime, Utc};

/// The only `SigV4` algorithm accepted (`SigV4a` / ECDSA is not supported).
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

fn classify_payload(v: &str) -> Result<PayloadKind, AuthError> {
    if canonical::is_hex64(v) {
        return Ok(PayloadKind::Hex(v.to_string()));
    }
    match v {
        UNSIGNED_PAYLOAD => Ok(PayloadKind::Unsigned),
        STREAMING_SIGNED => Ok(PayloadKind::Streaming { trailer: false }),
        STREAMING_SIGNED_TRAILER => Ok(PayloadKind::Streaming { trailer: true }),
        STREAMING_UNSIGNED_TRAILER => Ok(PayloadKind::UnsignedTrailer),
        _ if v.starts_with("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD") => {
            Err(AuthError::SigV4aPayload { value: v.to_string() })
        }
        _ => Err(AuthError::BadContentSha256 { shown: shorten(v) }),
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
fn parse_authorization(value: &str) -> Result<AuthHeader, AuthHeaderSyntax> {
    if value.len() > canonical::MAX_AUTH_FIELD {
        return Err(AuthHeaderSyntax::TooLong);
    }
    let rest = value.strip_prefix(ALGORITHM).ok_or(AuthHeaderSyntax::WrongAlgorithm)?;
    if !rest.starts_with([' ', '\t']) {
        return Err(AuthHeaderSyntax::NoSpace);
    }
    let (mut cred, mut signed, mut sig) = (None, None, None);
    for token in rest.split([',', ' ', '\t']).filter(|t| !t.is_empty()) {
        let (k, v) = token
            .split_once('=')
            .ok_or_else(|| AuthHeaderSyntax::NotKeyValue { shown: shorten(token) })?;
        let slot = match k {
            "Credential" => &mut cred,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut sig,
            _ => return Err(AuthHeaderSyntax::UnknownComponent { shown: shorten(k) }),
        };
        if slot.is_some() {
            return Err(AuthHeaderSyntax::RepeatedComponent { name: k.to_string() });
        }
        *slot = Some(v.to_string());
    }
    let need = |v: Option<String>, name: &'static str| v.ok_or(AuthHeaderSyntax::MissingComponent { name });
    Ok(AuthHeader {
        credential: need(cred, "Credential")?,
        signed_headers: need(signed, "SignedHeaders")?,
        signature: need(sig, "Signature")?,
    })
}

/// Parse `a;b;c` into lower-case names; `host` must be present, no name may be empty or repeated.
/// Every `x-amz-*` header must be covered by the signature (as AWS requires): otherwise anyone on the
/// path could add, say, a legal hold, metadata or tags to a signed request.
fn require_amz_headers_signed(headers: &http::HeaderMap, signed: &[String]) -> Result<(), AuthError> {
    // Sent by some SDKs but excluded from signing by them.
    const UNSIGNED_OK: &[&str] = &["x-amz-user-agent"];
    for name in headers.keys() {
        let n = name.as_str();
        if n.starts_with("x-amz-") && !UNSIGNED_OK.contains(&n) && !signed.iter().any(|s| s == n) {
            return Err(AuthError::UnsignedAmzHeader { name: n.to_string() });
        }
    }
    Ok(())
}

fn parse_signed_headers(s: &str) -> Result<Vec<String>, SignedHeadersError> {
    let mut out: Vec<String> = Vec::new();
    for name in s.split(';') {
        if name.is_empty() {
            return Err(SignedHeadersError::EmptyName { shown: shorten(s) });
        }
        let lower = name.to_ascii_lowercase();
        if http::HeaderName::from_bytes(lower.as_bytes()).is_err() {
            return Err(SignedHeadersError::InvalidName { shown: shorten(name) });
        }
        if out.contains(&lower) {
            return Err(SignedHeadersError::Repeated { name: lower });
        }
        out.push(lower);
    }
    if !out.iter().any(|h| h == "host") {
        return Err(SignedHeadersError::NoHost);
    }
    Ok(out)
}

/// The one value of a header that must not be repeated; `Ok(None)` when absent.
fn single_header<'a>(headers: &'a http::HeaderMap, name: &str) -> Result<Option<&'a str>, AuthError> {
    match crate::headers::single(headers, name) {
        Ok(v) => Ok(v.map(str::trim)),
        Err(HeaderProblem::Repeated) => Err(AuthError::RepeatedHeader { name: name.to_string() }),
        Err(HeaderProblem::NotAscii) => Err(AuthError::HeaderNotAscii { name: name.to_string() }),
    }
}

/// `(amz_date string used in the string to sign, parsed time)` from `x-amz-date`, else `Date`.
fn request_time(headers: &http::HeaderMap) -> Result<(String, DateTime<Utc>), AuthError> {
    let bad_amz = || AuthError::BadAmzDate;
    if headers.contains_key("x-amz-date") {
        let v = single_header(headers, "x-amz-date")
            .map_err(|_| bad_amz())?
            .unwrap_or("");
        let t = canonical::parse_amz_date(v).ok_or_else(bad_amz)?;
        return Ok((v.to_string(), t));
    }
    if headers.contains_key(http::header::DATE) {
        let t = single_header(headers, "date")
            .ok()
            .flatten()
            .and_then(crate::timefmt::parse_http_date)
            .ok_or(AuthError::BadDate)?;
        return Ok((canonical::format_amz_date(t), t));
    }
    Err(AuthError::MissingDate)
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
                out.extend_from_slice(&canonical::canonical_header_value(std::iter::once(
                    a.as_str().as_bytes(),
                )));
            }
        } else {
            out.extend_from_slice(&canonical::canonical_header_value(
                values.iter().map(http::HeaderValue::as_bytes),
            ));
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
        let sts = format!(
            "{ALGORITHM}\n{}\n{}\n{}",
            input.amz_date,
            input.scope,
            canonical::sha256_hex(&creq)
        );
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
) -> Result<Authenticated, AuthError> {
    let raw = match crate::headers::single(&parts.headers, http::header::AUTHORIZATION) {
        Ok(Some(raw)) => raw,
        Ok(None) => return Err(HeaderMalformed::Missing.into()),
        Err(HeaderProblem::Repeated) => return Err(HeaderMalformed::Repeated.into()),
        Err(HeaderProblem::NotAscii) => return Err(HeaderMalformed::NotAscii.into()),
    };
    let auth = parse_authorization(raw.trim()).map_err(HeaderMalformed::from)?;
    let query = parts.uri.query().unwrap_or("");
    if canonical::decoded_params(query).iter().any(|(n, _)| {
        n == b"X-Amz-Algorithm" || n == b"X-Amz-Signature" || n == b"X-Amz-Credential" || n == b"Signature"
    }) {
        return Err(AuthError::SeveralMechanisms);
    }
    let cred = Credential::parse(&auth.credential).map_err(HeaderMalformed::from)?;
    let signed = parse_signed_headers(&auth.signed_headers).map_err(HeaderMalformed::from)?;
    if !canonical::is_hex64(&auth.signature) {
        return Err(HeaderMalformed::BadSignature.into());
    }
    let user = users.get(&cred.access_key).ok_or(AuthError::UnknownAccessKey)?;
    require_amz_headers_signed(&parts.headers, &signed)?;
    let content_sha = single_header(&parts.headers, "x-amz-content-sha256")?.ok_or(AuthError::MissingContentSha256)?;
    let (amz_date, t) = request_time(&parts.headers)?;
    if amz_date.get(..8) != Some(cred.date.as_str()) {
        return Err(HeaderMalformed::DateMismatch {
            credential_date: cred.date.clone(),
            amz_day: amz_date.get(..8).unwrap_or("").to_string(),
        }
        .into());
    }
    if abs_diff(now, t) > settings.max_skew {
        return Err(AuthError::ClockSkew {
            request: t,
            server: now,
            allowed: settings.max_skew,
        });
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
        return Err(AuthError::SignatureMismatch);
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
        QueryParams {
            pairs: canonical::decoded_params(query),
        }
    }

    /// The single value of `name`; a repeated or non-UTF-8 value is an `AuthorizationQueryParametersError`.
    fn get(&self, name: &str) -> Result<Option<String>, PresignProblem> {
        let mut found = None;
        for (n, v) in &self.pairs {
            if n.as_slice() == name.as_bytes() {
                if found.is_some() {
                    return Err(PresignProblem::RepeatedParam { name: name.to_string() });
                }
                let s = String::from_utf8(v.clone()).map_err(|_| PresignProblem::NotUtf8 { name: name.to_string() })?;
                found = Some(s);
            }
        }
        Ok(found)
    }

    fn require(&self, name: &str) -> Result<String, PresignProblem> {
        self.get(name)?
            .ok_or_else(|| PresignProblem::MissingParam { name: name.to_string() })
    }
}

/// Verify a `SigV4` presigned URL (`X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=…&X-Amz-Date=…&
/// X-Amz-Expires=…&X-Amz-SignedHeaders=…&X-Amz-Signature=…`). Why: browsers and scripts use such URLs
/// without holding the secret; the payload is `UNSIGNED-PAYLOAD` unless the signer covered an
/// `x-amz-content-sha256` header (or `X-Amz-Content-Sha256` parameter), and STREAMING-* modes are
/// only possible through that signed value, so they go through the same chunk verifier.
pub fn verify_presigned(
    parts: &http::request::Parts,
    users: &Users,
    settings: &AuthSettings,
    now: DateTime<Utc>,
) -> Result<Authenticated, AuthError> {
    let query = parts.uri.query().unwrap_or("");
    if query.len() > canonical::MAX_AUTH_FIELD * 4 {
        return Err(PresignProblem::TooLong.into());
    }
    if parts.headers.contains_key(http::header::AUTHORIZATION) {
        return Err(AuthError::SeveralMechanisms);
    }
    let params = QueryParams::parse(query);
    let algorithm = params.require("X-Amz-Algorithm")?;
    if algorithm != ALGORITHM {
        return Err(PresignProblem::Algorithm {
            shown: shorten(&algorithm),
        }
        .into());
    }
    let credential = params.require("X-Amz-Credential")?;
    let amz_date = params.require("X-Amz-Date")?;
    let expires = params.require("X-Amz-Expires")?;
    let signed_headers = params.require("X-Amz-SignedHeaders")?;
    let signature = params.require("X-Amz-Signature")?;

    let cred = Credential::parse(&credential).map_err(PresignProblem::Credential)?;
    let t = canonical::parse_amz_date(&amz_date).ok_or(PresignProblem::BadDate)?;
    if amz_date.get(..8) != Some(cred.date.as_str()) {
        return Err(PresignProblem::DateMismatch {
            credential_date: cred.date.clone(),
            amz_day: amz_date.get(..8).unwrap_or("").to_string(),
        }
        .into());
    }
    let expires: u64 = if !expires.is_empty() && expires.len() <= 10 && expires.bytes().all(|b| b.is_ascii_digit()) {
        expires.parse().map_err(|_| PresignProblem::UnparsableExpires)?
    } else {
        return Err(PresignProblem::BadExpires.into());
    };
    if expires > MAX_PRESIGN_EXPIRES {
        return Err(PresignProblem::ExpiresTooLong.into());
    }
    // A URL valid for zero seconds has expired by the time it arrives: AWS answers 403 so.
    if expires == 0 {
        return Err(AuthError::Expired);
    }
    let signed = parse_signed_headers(&signed_headers).map_err(PresignProblem::SignedHeaders)?;
    if !canonical::is_hex64(&signature) {
        return Err(PresignProblem::BadSignature.into());
    }
    let user = users.get(&cred.access_key).ok_or(AuthError::UnknownAccessKey)?;
    // Differences of two valid times cannot overflow (unlike adding a duration to a year-9999 date).
    if t - now > settings.max_skew {
        return Err(AuthError::NotYetValid {
            request: t,
            server: now,
        });
    }
    // `expires` ≤ 604800 (checked when parsed), so the conversion cannot fail.
    if now - t > chrono::Duration::seconds(i64::try_from(expires.min(MAX_PRESIGN_EXPIRES)).unwrap_or(0)) {
        return Err(AuthError::Expired);
    }

    // Which payload hash the signature covers, and how the body is framed.
    let header_sha = single_header(&parts.headers, "x-amz-content-sha256")?;
    let query_sha = params.get("X-Amz-Content-Sha256")?;
    let header_signed = signed.iter().any(|h| h == "x-amz-content-sha256");
    let (canonical_payload, effective): (String, String) = match (header_sha, header_signed, &query_sha) {
        (Some(h), _, Some(q)) if h != q => return Err(AuthError::ContentSha256Conflict),
        (None, true, _) => return Err(AuthError::SignedContentSha256Missing),
        (Some(h), true, _) => (h.to_string(), h.to_string()),
        (_, false, Some(q)) => (q.clone(), q.clone()),
        (Some(h), false, None) => (UNSIGNED_PAYLOAD.to_string(), h.to_string()),
        (None, false, None) => (UNSIGNED_PAYLOAD.to_string(), UNSIGNED_PAYLOAD.to_string()),
    };
    let kind = classify_payload(&effective)?;
    if kind.is_streaming() && canonical_payload != effective {
        return Err(AuthError::UnsignedStreamingMode { mode: effective });
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
        return Err(AuthError::SignatureMismatch);
    }
    let seed = signature.to_ascii_lowercase();
    Ok(Authenticated {
        principal: user.principal.clone(),
        payload: payload_mode(kind, &seed, &amz_date, &scope, &key),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::s3::error::{S3Code, S3Error, S3Result};

    const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. \
Check your key and signing method.";

    /// [`super::verify_header`] as the client sees its refusal (through the gateway's mapping).
    fn verify_header(
        parts: &http::request::Parts,
        users: &Users,
        settings: &AuthSettings,
        now: DateTime<Utc>,
    ) -> S3Result<Authenticated> {
        super::verify_header(parts, users, settings, now).map_err(S3Error::from)
    }

    /// [`super::verify_presigned`] as the client sees its refusal (through the gateway's mapping).
    fn verify_presigned(
        parts: &http::request::Parts,
        users: &Users,
        settings: &AuthSettings,
        now: DateTime<Utc>,
    ) -> S3Result<Authenticated> {
        super::verify_presigned(parts, users, settings, now).map_err(S3Error::from)
    }
    use crate::auth::test_support::{at, aws_sign, parts, users, SignSpec, AK};
    use aws_sigv4::http_request::SignableBody;

    const EMPTY: &str = canonical::EMPTY_SHA256;

    fn settings() -> AuthSettings {
        AuthSettings::default()
    }

    fn header_auth(p: &http::request::Parts, now: &str) -> S3Result<Authenticated> {
        verify_header(p, &users(), &settings(), at(now))
    }

    fn presign_auth(p: &http::request::Parts, now: &str) -> S3Result<Authenticated> {
        verify_presigned(p, &users(), &settings(), at(now))
    }

    fn code(r: S3Result<Authenticated>) -> S3Code {
        r.expect_err("expected an error").code
    }

    // ---- AWS documentation vectors (sigv4-header-based-auth / sigv4-query-string-auth) ----

    fn doc_get_object(signature: &str) -> http::request::Parts {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature={signature}"
        );
        parts(
            "GET",
            "/test.txt",
            &[
                ("host", "examplebucket.s3.amazonaws.com"),
                ("range", "bytes=0-9"),
                ("x-amz-content-sha256", EMPTY),
                ("x-amz-date", "20130524T000000Z"),
                ("authorization", &auth),
            ],
        )
    }

    #[test]
    fn aws_doc_get_object() {
        let p = doc_get_object("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
        let a = header_auth(&p, "20130524T000500Z").unwrap();
        assert_eq!(a.principal.access_key, AK);
        assert_eq!(a.payload, PayloadMode::Sha256Hex(EMPTY.into()));
    }

    #[test]
    fn aws_doc_get_object_tampered_signature() {
        let p = doc_get_object("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb42");
        let e = header_auth(&p, "20130524T000000Z").unwrap_err();
        assert_eq!(e.code, S3Code::SignatureDoesNotMatch);
        assert_eq!(e.message, SIGNATURE_MISMATCH);
        assert_eq!(e.status(), http::StatusCode::FORBIDDEN);
    }

    #[test]
    fn aws_doc_put_object_with_dollar_in_key_and_date_header() {
        let p = parts(
            "PUT",
            "/test$file.text",
            &[
                ("host", "examplebucket.s3.amazonaws.com"),
                ("date", "Fri, 24 May 2013 00:00:00 GMT"),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                (
                    "x-amz-content-sha256",
                    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
                ),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
                     SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,\
                     Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
                ),
            ],
        );
        let a = header_auth(&p, "20130524T000000Z").unwrap();
        assert_eq!(
            a.payload,
            PayloadMode::Sha256Hex("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072".into())
        );
    }

    #[test]
    fn aws_doc_get_bucket_lifecycle_and_list_objects() {
        for (uri, sig) in [
            (
                "/?lifecycle",
                "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
            ),
            (
                "/?max-keys=2&prefix=J",
                "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
            ),
        ] {
            let auth = format!(
                "AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,\
                 SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature={sig}"
            );
            let p = parts(
                "GET",
                uri,
                &[
                    ("host", "examplebucket.s3.amazonaws.com"),
                    ("x-amz-content-sha256", EMPTY),
                    ("x-amz-date", "20130524T000000Z"),
                    ("authorization", &auth),
                ],
            );
            header_auth(&p, "20130524T000000Z").unwrap_or_else(|e| panic!("{uri}: {e}"));
        }
    }

    #[test]
    fn aws_doc_presigned_get() {
        let uri = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
        let p = parts("GET", uri, &[("host", "examplebucket.s3.amazonaws.com")]);
        let a = presign_auth(&p, "20130524T120000Z").unwrap();
        assert_eq!(a.payload, PayloadMode::Unsigned);
        // One second after X-Amz-Date + X-Amz-Expires: expired.
        let e = presign_auth(&p, "20130525T000001Z").unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (S3Code::AccessDenied, "Request has expired")
        );
        // Tampered path.
        let p2 = parts(
            "GET",
            &uri.replace("/test.txt", "/test2.txt"),
            &[("host", "examplebucket.s3.amazonaws.com")],
        );
        assert_eq!(
            code(presign_auth(&p2, "20130524T120000Z")),
            S3Code::SignatureDoesNotMatch
        );
        // Extra (unsigned) query parameter is part of the canonical query.
        let p3 = parts(
            "GET",
            &format!("{uri}&versionId=1"),
            &[("host", "examplebucket.s3.amazonaws.com")],
        );
        assert_eq!(
            code(presign_auth(&p3, "20130524T120000Z")),
            S3Code::SignatureDoesNotMatch
        );
        // Another host.
        let p4 = parts("GET", uri, &[("host", "otherbucket.s3.amazonaws.com")]);
        assert_eq!(
            code(presign_auth(&p4, "20130524T120000Z")),
            S3Code::SignatureDoesNotMatch
        );
    }

    #[test]
    fn aws_doc_streaming_seed_signature() {
        // sigv4-streaming.html example: the seed signature of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD PUT.
        let p = parts(
            "PUT",
            "/examplebucket/chunkObject.txt",
            &[
                ("host", "s3.amazonaws.com"),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("x-amz-content-sha256", STREAMING_SIGNED),
                ("content-encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", "66560"),
                ("content-length", "66824"),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
                     SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;\
                     x-amz-decoded-content-length;x-amz-storage-class,\
                     Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
                ),
            ],
        );
        let a = header_auth(&p, "20130524T000000Z").unwrap();
        let PayloadMode::StreamingSigned { ctx, trailer } = a.payload else {
            panic!("not streaming")
        };
        assert!(!trailer);
        assert_eq!(
            ctx.seed_signature,
            "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
        );
        assert_eq!(ctx.amz_date, "20130524T000000Z");
        assert_eq!(ctx.scope, "20130524/us-east-1/s3/aws4_request");
        assert_eq!(
            ctx.signing_key,
            canonical::signing_key(crate::auth::test_support::SK, "20130524", "us-east-1", "s3")
        );
    }

    // ---- round trips against aws-sigv4's signer ----

    /// Wire paths: encoded the way SDKs do (spaces, unicode, `+`, `=`, `~`), lower-case escapes, raw
    /// sub-delimiters, an encoded slash, dot segments, double slashes.
    fn wire_paths() -> Vec<String> {
        let mut v: Vec<String> = [
            "a b/c.txt",
            "ünïcödé/日本語/ファイル",
            "a+b=c~d",
            "sp  ace & amp?q#h",
            "100%/~tilde/",
            "emoji-😀",
        ]
        .iter()
        .map(|k| format!("/bucket/{}", crate::encoding::uri_encode(k.as_bytes(), true)))
        .collect();
        v.extend(
            [
                "/bucket/a%c3%a9%2b",
                "/bucket/raw+plus=eq!$'()*,;:@",
                "/bucket/enc%2Fslash",
                "/bucket/./dot/../seg",
                "/bucket//double//slash",
                "/",
                "/bucket",
            ]
            .iter()
            .map(std::string::ToString::to_string),
        );
        v
    }

    fn queries() -> Vec<&'static str> {
        vec![
            "",
            "?versions",
            "?uploads=",
            "?list-type=2&prefix=a%20b%2Fc&delimiter=%2F&encoding-type=url",
            "?z=1&a=&b&a=0&A=9",
            "?prefix=x+y&marker=%7Etilde&max-keys=10",
            "?prefix=%E6%97%A5%E6%9C%AC&response-content-disposition=attachment%3B%20filename%3D%22a%20b%22",
            "?versionId=3%2B4%3D%3D&partNumber=1&uploadId=abc~def",
        ]
    }

    #[test]
    fn roundtrip_header_auth_against_aws_sigv4() {
        let now = at("20240229T235959Z");
        let mut checked = 0;
        for path in wire_paths() {
            for q in queries() {
                for region in ["us-east-1", "eu-central-1", "garage"] {
                    let pq = format!("{path}{q}");
                    let headers = [
                        ("x-amz-meta-note", "  several   spaces  inside "),
                        ("content-type", "text/plain"),
                        ("x-amz-object-lock-mode", "COMPLIANCE"),
                    ];
                    let mut spec = SignSpec::new("PUT", &pq, now);
                    spec.headers = &headers;
                    spec.region = region;
                    spec.body = SignableBody::Precomputed(EMPTY.into());
                    let (p, sig) = aws_sign(spec);
                    let a = verify_header(&p, &users(), &settings(), now)
                        .unwrap_or_else(|e| panic!("{pq} {region}: {e}\n{:?}", p.headers));
                    assert_eq!(a.payload, PayloadMode::Sha256Hex(EMPTY.into()));
                    assert_eq!(a.principal.access_key, AK);
                    assert!(p.headers["authorization"].to_str().unwrap().ends_with(&sig));
                    checked += 1;
                }
            }
        }
        assert!(checked > 100);
    }

    #[test]
    fn roundtrip_header_auth_tampering_is_detected() {
        type Tamper = Box<dyn Fn(&mut http::request::Parts)>;
        let now = at("20240101T000000Z");
        let headers = [("x-amz-meta-a", "1")];
        let mut spec = SignSpec::new("PUT", "/bucket/key%20one?tagging", now);
        spec.headers = &headers;
        spec.body = SignableBody::Precomputed(EMPTY.into());
        let (p, _) = aws_sign(spec);
        assert!(verify_header(&p, &users(), &settings(), now).is_ok());
        let variants: Vec<Tamper> = vec![
            Box::new(|p| p.method = http::Method::POST),
            Box::new(|p| p.uri = "/bucket/key%20two?tagging".parse().unwrap()),
            Box::new(|p| p.uri = "/bucket/key%20one?retention".parse().unwrap()),
            Box::new(|p| p.uri = "/bucket/key%20one?tagging&versionId=1".parse().unwrap()),
            Box::new(|p| p.uri = "/bucket/key%20one".parse().unwrap()),
            Box::new(|p| {
                p.headers.insert("x-amz-meta-a", "2".parse().unwrap());
            }),
            Box::new(|p| {
                p.headers.append("x-amz-meta-a", "1".parse().unwrap());
            }),
            Box::new(|p| {
                p.headers.insert("host", "evil.example.com".parse().unwrap());
            }),
            Box::new(|p| {
                p.headers
                    .insert("x-amz-content-sha256", UNSIGNED_PAYLOAD.parse().unwrap());
            }),
            Box::new(|p| {
                p.headers
                    .insert("x-amz-content-sha256", STREAMING_UNSIGNED_TRAILER.parse().unwrap());
            }),
        ];
        for (i, tamper) in variants.iter().enumerate() {
            let mut q = p.clone();
            tamper(&mut q);
            assert_eq!(
                code(verify_header(&q, &users(), &settings(), now)),
                S3Code::SignatureDoesNotMatch,
                "variant {i}"
            );
        }
        // Ordinary headers that were not signed may change freely; x-amz-* ones must be signed.
        let mut q = p.clone();
        q.headers.insert("user-agent", "x".parse().unwrap());
        assert!(verify_header(&q, &users(), &settings(), now).is_ok());
        q.headers.insert("x-amz-meta-unsigned", "x".parse().unwrap());
        assert_eq!(
            code(verify_header(&q, &users(), &settings(), now)),
            S3Code::AccessDenied
        );
    }

    #[test]
    fn roundtrip_header_auth_wrong_secret() {
        let now = at("20240101T000000Z");
        let mut spec = SignSpec::new("GET", "/bucket/k", now);
        spec.secret = "not-the-secret";
        spec.body = SignableBody::Precomputed(EMPTY.into());
        let (p, _) = aws_sign(spec);
        assert_eq!(
            code(verify_header(&p, &users(), &settings(), now)),
            S3Code::SignatureDoesNotMatch
        );
    }

    #[test]
    fn roundtrip_payload_modes() {
        let now = at("20240101T000000Z");
        let cases: Vec<(SignableBody<'static>, &str)> = vec![
            (SignableBody::UnsignedPayload, "unsigned"),
            (SignableBody::Bytes(b"hello"), "hex"),
            (SignableBody::Precomputed(STREAMING_SIGNED.into()), "signed"),
            (SignableBody::StreamingSignedPayloadTrailer, "signed-trailer"),
            (SignableBody::StreamingUnsignedPayloadTrailer, "unsigned-trailer"),
        ];
        for (body, what) in cases {
            let mut spec = SignSpec::new("PUT", "/bucket/obj", now);
            spec.body = body;
            let (p, sig) = aws_sign(spec);
            let a = verify_header(&p, &users(), &settings(), now).unwrap_or_else(|e| panic!("{what}: {e}"));
            match (what, a.payload) {
                ("unsigned", PayloadMode::Unsigned) => {}
                ("hex", PayloadMode::Sha256Hex(h)) => {
                    assert_eq!(h, canonical::sha256_hex(b"hello"));
                }
                ("signed", PayloadMode::StreamingSigned { ctx, trailer: false })
                | ("signed-trailer", PayloadMode::StreamingSigned { ctx, trailer: true }) => {
                    assert_eq!(ctx.seed_signature, sig);
                    assert_eq!(ctx.amz_date, "20240101T000000Z");
                    assert_eq!(ctx.scope, "20240101/us-east-1/s3/aws4_request");
                }
                ("unsigned-trailer", PayloadMode::StreamingUnsignedTrailer) => {}
                (w, m) => panic!("{w}: unexpected {m:?}"),
            }
        }
    }

    #[test]
    fn unsigned_trailer_still_requires_a_valid_signature() {
        // MinIO CVE-2025-31489: a known access key + garbage signature on an unsigned-trailer PUT.
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={AK}/20240101/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-trailer, Signature={}",
            "0".repeat(64)
        );
        let p = parts(
            "PUT",
            "/bucket/obj",
            &[
                ("host", "h"),
                ("x-amz-date", "20240101T000000Z"),
                ("x-amz-content-sha256", STREAMING_UNSIGNED_TRAILER),
                ("x-amz-trailer", "x-amz-checksum-crc32"),
                ("content-encoding", "aws-chunked"),
                ("authorization", &auth),
            ],
        );
        assert_eq!(code(header_auth(&p, "20240101T000000Z")), S3Code::SignatureDoesNotMatch);
    }

    #[test]
    fn http2_request_without_host_header_uses_authority() {
        let now = at("20240101T000000Z");
        let mut spec = SignSpec::new("GET", "/bucket/k?acl", now);
        spec.body = SignableBody::Precomputed(EMPTY.into());
        let (mut p, _) = aws_sign(spec);
        p.headers.remove("host");
        p.uri = "https://examplebucket.s3.amazonaws.com/bucket/k?acl".parse().unwrap();
        verify_header(&p, &users(), &settings(), now).unwrap();
    }

    #[test]
    fn multi_value_headers_are_joined_with_commas() {
        let now = at("20240101T000000Z");
        let headers = [("x-amz-meta-multi", "one"), ("x-amz-meta-multi", " two  words ")];
        let mut spec = SignSpec::new("PUT", "/bucket/k", now);
        spec.headers = &headers;
        spec.body = SignableBody::Precomputed(EMPTY.into());
        let (p, _) = aws_sign(spec);
        assert_eq!(p.headers.get_all("x-amz-meta-multi").iter().count(), 2);
        verify_header(&p, &users(), &settings(), now).unwrap();
    }

    fn with_auth(p: &http::request::Parts, auth: &str) -> http::request::Parts {
        let mut q = p.clone();
        q.headers.insert("authorization", auth.parse().unwrap());
        q
    }

    fn sign_simple(now: DateTime<Utc>) -> (http::request::Parts, String) {
        let mut spec = SignSpec::new("GET", "/bucket/k", now);
        spec.body = SignableBody::Precomputed(EMPTY.into());
        aws_sign(spec)
    }

    #[test]
    fn authorization_header_layout_variants_are_tolerated() {
        let now = at("20240101T000000Z");
        let (p, sig) = sign_simple(now);
        let cred = format!("{AK}/20240101/us-east-1/s3/aws4_request");
        let sh = "host;x-amz-content-sha256;x-amz-date";
        for auth in [
            format!("AWS4-HMAC-SHA256 Credential={cred},SignedHeaders={sh},Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders={sh}, Signature={sig}"),
            format!("AWS4-HMAC-SHA256   Credential={cred} ,  SignedHeaders={sh} , Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={cred} SignedHeaders={sh} Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Signature={sig}, Credential={cred}, SignedHeaders={sh}"),
            format!(
                "AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders={sh}, Signature={}",
                sig.to_uppercase()
            ),
        ] {
            verify_header(&with_auth(&p, &auth), &users(), &settings(), now).unwrap_or_else(|e| panic!("{auth}: {e}"));
        }
    }

    #[test]
    fn malformed_authorization_headers() {
        let now = at("20240101T000000Z");
        let (p, sig) = sign_simple(now);
        let cred = format!("{AK}/20240101/us-east-1/s3/aws4_request");
        let sh = "host;x-amz-content-sha256;x-amz-date";
        let cases = [
            (format!("AWS4-HMAC-SHA256Credential={cred},SignedHeaders={sh},Signature={sig}"), "space"),
            (format!("AWS4-HMAC-SHA256 Credential={cred},SignedHeaders={sh}"), "Signature component is missing"),
            (format!("AWS4-HMAC-SHA256 SignedHeaders={sh},Signature={sig}"), "Credential component is missing"),
            (format!("AWS4-HMAC-SHA256 Credential={cred},Signature={sig}"), "SignedHeaders component is missing"),
            (format!("AWS4-HMAC-SHA256 Credential={cred},Credential={cred},SignedHeaders={sh},Signature={sig}"), "more than once"),
            (format!("AWS4-HMAC-SHA256 Credential={cred},SignedHeaders={sh},Signature={sig},Foo=bar"), "unknown component"),
            (format!("AWS4-HMAC-SHA256 Credential={cred},SignedHeaders={sh},Signature"), "key=value"),
            (format!("AWS4-HMAC-SHA256 Credential={cred},SignedHeaders={sh},Signature=abc"), "64 hexadecimal"),
            (format!("AWS4-HMAC-SHA256 Credential={cred},SignedHeaders=x-amz-date;x-amz-content-sha256,Signature={sig}"), "must include host"),
            (format!("AWS4-HMAC-SHA256 Credential={cred},SignedHeaders=host;;x-amz-date,Signature={sig}"), "empty header name"),
            (format!("AWS4-HMAC-SHA256 Credential={cred},SignedHeaders=host;host,Signature={sig}"), "more than once"),
            (format!("AWS4-HMAC-SHA256 Credential={AK}/20240101/us-east-1/iam/aws4_request,SignedHeaders={sh},Signature={sig}"), "'s3'"),
            (format!("AWS4-HMAC-SHA256 Credential={AK}/20240101/us-east-1/s3/aws4,SignedHeaders={sh},Signature={sig}"), "aws4_request"),
            (format!("AWS4-HMAC-SHA256 Credential={AK}/us-east-1/s3/aws4_request,SignedHeaders={sh},Signature={sig}"), "Credential"),
            (format!("AWS4-HMAC-SHA256 Credential={AK}/20240102/us-east-1/s3/aws4_request,SignedHeaders={sh},Signature={sig}"), "Invalid credential date"),
            (format!("AWS4-HMAC-SHA512 Credential={cred},SignedHeaders={sh},Signature={sig}"), "algorithm"),
        ];
        for (auth, needle) in cases {
            let e = verify_header(&with_auth(&p, &auth), &users(), &settings(), now).unwrap_err();
            assert_eq!(e.code, S3Code::AuthorizationHeaderMalformed, "{auth}: {e}");
            assert_eq!(e.status(), http::StatusCode::BAD_REQUEST);
            assert!(
                e.message.contains(needle),
                "{auth}: {} does not mention {needle}",
                e.message
            );
        }
    }

    #[test]
    fn unknown_access_key_is_invalid_access_key_id() {
        let now = at("20240101T000000Z");
        let (p, sig) = sign_simple(now);
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=NOPE/20240101/us-east-1/s3/aws4_request,\
             SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature={sig}"
        );
        let e = verify_header(&with_auth(&p, &auth), &users(), &settings(), now).unwrap_err();
        assert_eq!(
            (e.code, e.status()),
            (S3Code::InvalidAccessKeyId, http::StatusCode::FORBIDDEN)
        );
    }

    #[test]
    fn missing_content_sha256_is_invalid_request() {
        let now = at("20240101T000000Z");
        let (mut p, _) = sign_simple(now);
        p.headers.remove("x-amz-content-sha256");
        let e = verify_header(&p, &users(), &settings(), now).unwrap_err();
        assert_eq!(e.code, S3Code::InvalidRequest);
        assert_eq!(
            e.message,
            "Missing required header for this request: x-amz-content-sha256"
        );
    }

    #[test]
    fn date_problems() {
        let now = at("20240101T000000Z");
        let (p, _) = sign_simple(now);
        let mut q = p.clone();
        q.headers.remove("x-amz-date");
        let e = verify_header(&q, &users(), &settings(), now).unwrap_err();
        assert_eq!(e.code, S3Code::AccessDenied);
        assert!(e.message.contains("Date"));
        let mut q = p.clone();
        q.headers.insert("x-amz-date", "2024-01-01T00:00:00Z".parse().unwrap());
        assert_eq!(
            code(verify_header(&q, &users(), &settings(), now)),
            S3Code::AccessDenied
        );
        // A Date header alone is accepted as the request time (here: far off → skewed).
        let mut q = p.clone();
        q.headers.remove("x-amz-date");
        q.headers
            .insert("date", "Mon, 01 Jan 2024 01:00:00 GMT".parse().unwrap());
        assert_eq!(
            code(verify_header(&q, &users(), &settings(), now)),
            S3Code::RequestTimeTooSkewed
        );
        q.headers.insert("date", "not a date".parse().unwrap());
        assert_eq!(
            code(verify_header(&q, &users(), &settings(), now)),
            S3Code::AccessDenied
        );
    }

    #[test]
    fn clock_skew() {
        let t = at("20240101T000000Z");
        let (p, _) = sign_simple(t);
        for (now, ok) in [
            ("20240101T001500Z", true),
            ("20231231T234500Z", true),
            ("20240101T001501Z", false),
            ("20231231T234459Z", false),
        ] {
            let r = verify_header(&p, &users(), &settings(), at(now));
            if ok {
                r.unwrap();
            } else {
                let e = r.unwrap_err();
                assert_eq!(
                    (e.code, e.status()),
                    (S3Code::RequestTimeTooSkewed, http::StatusCode::FORBIDDEN),
                    "{now}"
                );
            }
        }
    }

    #[test]
    fn unsupported_payload_values() {
        let now = at("20240101T000000Z");
        for v in [
            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
            "abc",
            "UNSIGNED",
        ] {
            let mut spec = SignSpec::new("PUT", "/b/k", now);
            spec.body = SignableBody::Precomputed(v.into());
            let (p, _) = aws_sign(spec);
            let e = verify_header(&p, &users(), &settings(), now).unwrap_err();
            assert_eq!(e.code, S3Code::InvalidArgument, "{v}");
            assert!(e.message.contains(v), "{}", e.message);
        }
    }

    #[test]
    fn header_auth_with_query_credentials_is_refused() {
        let now = at("20240101T000000Z");
        let mut spec = SignSpec::new("GET", "/b/k?X-Amz-Signature=abc", now);
        spec.body = SignableBody::Precomputed(EMPTY.into());
        let (p, _) = aws_sign(spec);
        assert_eq!(
            code(verify_header(&p, &users(), &settings(), now)),
            S3Code::InvalidArgument
        );
    }

    // ---- presigned ----

    fn presigned(
        path_and_query: &str,
        time: DateTime<Utc>,
        expires: u64,
        headers: &[(&str, &str)],
    ) -> http::request::Parts {
        let mut spec = SignSpec::new("GET", path_and_query, time);
        spec.presign = Some(expires);
        spec.headers = headers;
        aws_sign(spec).0
    }

    #[test]
    fn roundtrip_presigned_against_aws_sigv4() {
        let t = at("20240615T120000Z");
        let mut checked = 0;
        for path in wire_paths() {
            for q in queries() {
                let pq = format!("{path}{q}");
                let p = presigned(&pq, t, 3600, &[]);
                assert!(p.uri.query().unwrap().contains("X-Amz-Signature="));
                let a = verify_presigned(&p, &users(), &settings(), at("20240615T125959Z"))
                    .unwrap_or_else(|e| panic!("{pq}: {e}\n{}", p.uri));
                assert_eq!(a.payload, PayloadMode::Unsigned);
                checked += 1;
            }
        }
        assert!(checked > 50);
    }

    #[test]
    fn presigned_with_signed_headers() {
        let t = at("20240615T120000Z");
        let p = presigned("/b/k", t, 60, &[("x-amz-meta-a", "v"), ("content-type", "text/plain")]);
        assert!(
            p.uri.query().unwrap().contains("content-type%3Bhost%3Bx-amz-meta-a"),
            "{}",
            p.uri
        );
        verify_presigned(&p, &users(), &settings(), t).unwrap();
        let mut q = p.clone();
        q.headers.insert("x-amz-meta-a", "w".parse().unwrap());
        assert_eq!(
            code(verify_presigned(&q, &users(), &settings(), t)),
            S3Code::SignatureDoesNotMatch
        );
    }

    #[test]
    fn presigned_time_window() {
        let t = at("20240615T120000Z");
        let p = presigned("/b/k", t, 600, &[]);
        verify_presigned(&p, &users(), &settings(), at("20240615T121000Z")).unwrap();
        let e = verify_presigned(&p, &users(), &settings(), at("20240615T121001Z")).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (S3Code::AccessDenied, "Request has expired")
        );
        // Signed in the future, beyond the allowed skew.
        let e = verify_presigned(&p, &users(), &settings(), at("20240615T114459Z")).unwrap_err();
        assert_eq!(e.code, S3Code::AccessDenied);
        assert!(e.message.contains("not valid yet"));
        verify_presigned(&p, &users(), &settings(), at("20240615T114500Z")).unwrap();
    }

    #[test]
    fn presigned_parameter_errors() {
        let t = at("20240615T120000Z");
        let p = presigned("/b/k", t, 600, &[]);
        let query = p.uri.query().unwrap().to_string();
        let with_query = |q: &str| {
            let mut x = p.clone();
            x.uri = format!("/b/k?{q}").parse().unwrap();
            x
        };
        for name in [
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Date",
            "X-Amz-Expires",
            "X-Amz-SignedHeaders",
            "X-Amz-Signature",
        ] {
            let q: Vec<&str> = query
                .split('&')
                .filter(|kv| !kv.starts_with(&format!("{name}=")))
                .collect();
            let e = verify_presigned(&with_query(&q.join("&")), &users(), &settings(), t).unwrap_err();
            assert_eq!(e.code, S3Code::AuthorizationQueryParametersError, "{name}");
            assert!(e.message.contains(&format!("{name} is missing")), "{}", e.message);
        }
        let replace = |name: &str, value: &str| -> String {
            query
                .split('&')
                .map(|kv| {
                    if kv.starts_with(&format!("{name}=")) {
                        format!("{name}={value}")
                    } else {
                        kv.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("&")
        };
        let e = verify_presigned(
            &with_query(&replace("X-Amz-Expires", "604801")),
            &users(),
            &settings(),
            t,
        )
        .unwrap_err();
        assert_eq!(e.code, S3Code::AuthorizationQueryParametersError);
        assert_eq!(
            e.message,
            "X-Amz-Expires must be less than a week (in seconds) that is 604800"
        );
        let e = verify_presigned(&with_query(&replace("X-Amz-Expires", "0")), &users(), &settings(), t).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (S3Code::AccessDenied, "Request has expired")
        );
        for bad in ["-1", "abc", "", "99999999999"] {
            let e =
                verify_presigned(&with_query(&replace("X-Amz-Expires", bad)), &users(), &settings(), t).unwrap_err();
            assert_eq!(e.code, S3Code::AuthorizationQueryParametersError, "{bad}");
        }
        // 604800 itself is allowed (the signature then no longer matches, which proves we got that far).
        let e = verify_presigned(
            &with_query(&replace("X-Amz-Expires", "604800")),
            &users(),
            &settings(),
            t,
        )
        .unwrap_err();
        assert_eq!(e.code, S3Code::SignatureDoesNotMatch);
        let e = verify_presigned(
            &with_query(&replace("X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256")),
            &users(),
            &settings(),
            t,
        )
        .unwrap_err();
        assert_eq!(e.code, S3Code::AuthorizationQueryParametersError);
        let e = verify_presigned(
            &with_query(&replace("X-Amz-Date", "2024-06-15")),
            &users(),
            &settings(),
            t,
        )
        .unwrap_err();
        assert_eq!(e.code, S3Code::AuthorizationQueryParametersError);
        let e = verify_presigned(
            &with_query(&replace(
                "X-Amz-Credential",
                "NOPE%2F20240615%2Fus-east-1%2Fs3%2Faws4_request",
            )),
            &users(),
            &settings(),
            t,
        )
        .unwrap_err();
        assert_eq!(e.code, S3Code::InvalidAccessKeyId);
        let e = verify_presigned(
            &with_query(&replace("X-Amz-SignedHeaders", "x-amz-date")),
            &users(),
            &settings(),
            t,
        )
        .unwrap_err();
        assert_eq!(e.code, S3Code::AuthorizationQueryParametersError);
        let e = verify_presigned(
            &with_query(&format!("{query}&X-Amz-Date=20240615T120000Z")),
            &users(),
            &settings(),
            t,
        )
        .unwrap_err();
        assert_eq!(e.code, S3Code::AuthorizationQueryParametersError);
        let e = verify_presigned(
            &with_query(&replace("X-Amz-Signature", &"0".repeat(64))),
            &users(),
            &settings(),
            t,
        )
        .unwrap_err();
        assert_eq!(e.code, S3Code::SignatureDoesNotMatch);
        // Both an Authorization header and query credentials.
        let mut x = p.clone();
        x.headers.insert("authorization", "AWS4-HMAC-SHA256 x".parse().unwrap());
        assert_eq!(
            code(verify_presigned(&x, &users(), &settings(), t)),
            S3Code::InvalidArgument
        );
    }

    #[test]
    fn presigned_streaming_modes_need_a_signed_content_sha256() {
        // MinIO CVE-2026-41145: query credentials + STREAMING-* must go through the same verifier.
        let t = at("20240615T120000Z");
        // Unsigned x-amz-content-sha256 header naming a streaming mode: refused.
        let mut p = presigned("/b/k", t, 600, &[]);
        p.method = http::Method::PUT;
        let mut spec = SignSpec::new("PUT", "/b/k", t);
        spec.presign = Some(600);
        let (mut p2, _) = aws_sign(spec);
        for v in [STREAMING_UNSIGNED_TRAILER, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER] {
            p2.headers.insert("x-amz-content-sha256", v.parse().unwrap());
            let e = verify_presigned(&p2, &users(), &settings(), t).unwrap_err();
            assert_eq!(e.code, S3Code::InvalidRequest, "{v}");
        }
        // Signed header naming a streaming mode: verified, then decoded by the chunk verifier.
        for (v, want_trailer) in [
            (STREAMING_UNSIGNED_TRAILER, None),
            (STREAMING_SIGNED, Some(false)),
            (STREAMING_SIGNED_TRAILER, Some(true)),
        ] {
            let headers = [("x-amz-content-sha256", v)];
            let mut spec = SignSpec::new("PUT", "/b/k", t);
            spec.presign = Some(600);
            spec.headers = &headers;
            spec.body = SignableBody::Precomputed(v.into());
            let (p, sig) = aws_sign(spec);
            let a = verify_presigned(&p, &users(), &settings(), t).unwrap_or_else(|e| panic!("{v}: {e}"));
            match (want_trailer, a.payload) {
                (None, PayloadMode::StreamingUnsignedTrailer) => {}
                (Some(w), PayloadMode::StreamingSigned { ctx, trailer }) => {
                    assert_eq!(trailer, w);
                    assert_eq!(ctx.seed_signature, sig);
                }
                (_, m) => panic!("{v}: {m:?}"),
            }
            // Garbage signature with the same streaming header: refused.
            let mut bad = p.clone();
            let q = bad.uri.query().unwrap().to_string();
            let q: String = q
                .split('&')
                .map(|kv| {
                    if kv.starts_with("X-Amz-Signature=") {
                        format!("X-Amz-Signature={}", "1".repeat(64))
                    } else {
                        kv.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("&");
            bad.uri = format!("/b/k?{q}").parse().unwrap();
            assert_eq!(
                code(verify_presigned(&bad, &users(), &settings(), t)),
                S3Code::SignatureDoesNotMatch,
                "{v}"
            );
        }
        // An unsigned hex header is only an integrity claim; the signature covers UNSIGNED-PAYLOAD.
        p2.headers.insert("x-amz-content-sha256", EMPTY.parse().unwrap());
        let a = verify_presigned(&p2, &users(), &settings(), t).unwrap();
        assert_eq!(a.payload, PayloadMode::Sha256Hex(EMPTY.into()));
        let _ = p;
    }

    // ---- botocore 1.43.11 captures (signature_version='s3v4', AK/SK, us-east-1, clock frozen at
    // 2024-05-01T12:00:00Z, endpoint 127.0.0.1:9000); `host` is added by urllib3 at send time. ----

    /// botocore's default `PutObject` over HTTPS: STREAMING-UNSIGNED-PAYLOAD-TRAILER.
    pub(crate) fn botocore_unsigned_trailer_put() -> http::request::Parts {
        parts(
            "PUT",
            "/b/dir/hello%20w%C3%B6rld%2B%3D~.txt",
            &[
                ("host", "127.0.0.1:9000"),
                ("user-agent", "Boto3/1.43.11 md/Botocore#1.43.11"),
                ("expect", "100-continue"),
                ("transfer-encoding", "chunked"),
                ("content-encoding", "aws-chunked"),
                ("x-amz-trailer", "x-amz-checksum-crc32"),
                ("x-amz-decoded-content-length", "11"),
                ("x-amz-sdk-checksum-algorithm", "CRC32"),
                ("x-amz-date", "20240501T120000Z"),
                ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AK/20240501/us-east-1/s3/aws4_request, \
                     SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;\
                     x-amz-decoded-content-length;x-amz-sdk-checksum-algorithm;x-amz-trailer, \
                     Signature=3be475de900b86e088a70ac5d84c55dff8a3e52cbc2348f7026d72198fc79994",
                ),
                ("amz-sdk-invocation-id", "66b84fba-8d1b-4ac5-a2be-ce38ff239c0d"),
            ],
        )
    }

    #[test]
    fn botocore_header_signed_requests() {
        let now = at("20240501T120100Z");
        let a = header_auth(&botocore_unsigned_trailer_put(), "20240501T120100Z").unwrap();
        assert_eq!(a.principal.access_key, "AK");
        assert_eq!(a.payload, PayloadMode::StreamingUnsignedTrailer);
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], PayloadMode);
        let cases: [Case<'_>; 3] = [
            (
                "PUT",
                "/b/dir/hello%20w%C3%B6rld%2B%3D~.txt",
                &[
                    ("x-amz-checksum-crc32", "DUoRhQ=="),
                    ("x-amz-sdk-checksum-algorithm", "CRC32"),
                    (
                        "x-amz-content-sha256",
                        "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
                    ),
                    (
                        "authorization",
                        "AWS4-HMAC-SHA256 Credential=AK/20240501/us-east-1/s3/aws4_request, \
                         SignedHeaders=host;x-amz-checksum-crc32;x-amz-content-sha256;x-amz-date;\
                         x-amz-sdk-checksum-algorithm, \
                         Signature=a7084ce2738246d1c1071220dd9e363a0c7daa6c7de5438428a58bcb034de842",
                    ),
                    ("content-length", "11"),
                ],
                PayloadMode::Sha256Hex("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9".into()),
            ),
            (
                "PUT",
                "/b/k?retention",
                &[
                    ("x-amz-checksum-crc32", "YdSbTw=="),
                    ("x-amz-sdk-checksum-algorithm", "CRC32"),
                    (
                        "x-amz-content-sha256",
                        "c91ceb478059d45f0b6bec7874b5a4d3ef5bd96c088fa635ab2148e9ff2aba47",
                    ),
                    (
                        "authorization",
                        "AWS4-HMAC-SHA256 Credential=AK/20240501/us-east-1/s3/aws4_request, \
                         SignedHeaders=host;x-amz-checksum-crc32;x-amz-content-sha256;x-amz-date;\
                         x-amz-sdk-checksum-algorithm, \
                         Signature=b65f1bdcf0d00c5dc9d06a10066ecf4f0b0ffde6b6ceaf0eafa7f044c4c27784",
                    ),
                    ("content-length", "149"),
                ],
                PayloadMode::Sha256Hex("c91ceb478059d45f0b6bec7874b5a4d3ef5bd96c088fa635ab2148e9ff2aba47".into()),
            ),
            (
                "GET",
                "/b?list-type=2&prefix=%E6%97%A5%E6%9C%AC%2Fa%20b&delimiter=%2F&encoding-type=url",
                &[
                    ("x-amz-content-sha256", EMPTY),
                    (
                        "authorization",
                        "AWS4-HMAC-SHA256 Credential=AK/20240501/us-east-1/s3/aws4_request, \
                         SignedHeaders=host;x-amz-content-sha256;x-amz-date, \
                         Signature=f34308d294c3e8e0aa4bca946c159ad473f322397c135018f0d46d5c8f2d3d9d",
                    ),
                ],
                PayloadMode::Sha256Hex(EMPTY.into()),
            ),
        ];
        for (method, uri, extra, mode) in cases {
            let mut h = vec![("host", "127.0.0.1:9000"), ("x-amz-date", "20240501T120000Z")];
            h.extend_from_slice(extra);
            let p = parts(method, uri, &h);
            let a = verify_header(&p, &users(), &settings(), now).unwrap_or_else(|e| panic!("{uri}: {e}"));
            assert_eq!(a.payload, mode, "{uri}");
            // Any other host (e.g. a proxy rewriting it) breaks the signature.
            let mut q = p.clone();
            q.headers.insert("host", "127.0.0.1:9001".parse().unwrap());
            assert_eq!(
                code(verify_header(&q, &users(), &settings(), now)),
                S3Code::SignatureDoesNotMatch
            );
        }
    }

    #[test]
    fn botocore_presigned_s3v4_urls() {
        for uri in [
            "/b/a%20b/%C3%BC?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20240501%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240501T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=4df00306b37f90a825e9c87906865237b5ea482fd181d4268ae320baef71a70a",
            "/b/k?versionId=v%2B1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20240501%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240501T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=8024caca932df6fb71c925426f5b143511d8ee66358bf3fe4b554c66b971d6e7",
        ] {
            let method = if uri.contains("versionId") { "GET" } else { "PUT" };
            let p = parts(method, uri, &[("host", "127.0.0.1:9000")]);
            let a = presign_auth(&p, "20240501T121500Z").unwrap_or_else(|e| panic!("{uri}: {e}"));
            assert_eq!(a.payload, PayloadMode::Unsigned);
            assert_eq!(presign_auth(&p, "20240501T121501Z").unwrap_err().message, "Request has expired");
        }
    }

    #[test]
    fn extreme_dates_do_not_panic() {
        let now = at("20240101T000000Z");
        let q = "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F99991231%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=99991231T235959Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=0000000000000000000000000000000000000000000000000000000000000000";
        let e = presign_auth(&parts("GET", q, &[("host", "h")]), "20240101T000000Z").unwrap_err();
        assert_eq!(e.code, S3Code::AccessDenied);
        let q = q.replace("99991231", "00000101");
        let e = presign_auth(&parts("GET", &q, &[("host", "h")]), "20240101T000000Z").unwrap_err();
        assert_eq!(e.message, "Request has expired");
        let (mut p, _) = sign_simple(now);
        p.headers.insert("x-amz-date", "99991231T235959Z".parse().unwrap());
        let auth = p.headers["authorization"]
            .to_str()
            .unwrap()
            .replace("/20240101/", "/99991231/");
        p.headers.insert("authorization", auth.parse().unwrap());
        assert_eq!(
            code(verify_header(&p, &users(), &settings(), now)),
            S3Code::RequestTimeTooSkewed
        );
    }

    #[test]
    fn garbage_never_panics() {
        let alphabet: Vec<char> = "aAzZ09=&;,/ %+~-._:?#X\u{e9}\u{65e5}\t".chars().collect();
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let now = at("20240101T000000Z");
        let pieces = [
            "AWS4-HMAC-SHA256 ",
            "Credential=",
            "AKIAIOSFODNN7EXAMPLE/",
            "20240101/",
            "us-east-1/s3/aws4_request",
            ",",
            "SignedHeaders=",
            "host;",
            "Signature=",
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&",
            "X-Amz-Credential=",
            "X-Amz-Date=20240101T000000Z&",
            "X-Amz-Expires=",
            "X-Amz-SignedHeaders=host&",
            "X-Amz-Signature=",
            "%",
            "%2",
            "%zz",
        ];
        for _ in 0..3000 {
            let mut s = String::new();
            for _ in 0..(rnd() % 12) {
                if rnd() % 2 == 0 {
                    s.push_str(pieces[(rnd() % pieces.len() as u64) as usize]);
                } else {
                    s.push(alphabet[(rnd() % alphabet.len() as u64) as usize]);
                }
            }
            let enc = crate::encoding::uri_encode(s.as_bytes(), false);
            let uri = format!(
                "/b/{}?{}",
                crate::encoding::uri_encode(s.as_bytes(), true),
                s.replace(['#', ' ', '\t'], "").replace(|c: char| !c.is_ascii(), "%C3")
            );
            let Ok(uri) = uri.parse::<http::Uri>() else {
                continue;
            };
            let mut p = parts(
                "GET",
                "/",
                &[
                    ("host", "h"),
                    ("x-amz-date", "20240101T000000Z"),
                    ("x-amz-content-sha256", EMPTY),
                ],
            );
            p.uri = uri;
            if let Ok(v) = http::HeaderValue::from_str(&s.replace(|c: char| !c.is_ascii(), "?")) {
                p.headers.insert("authorization", v);
                let _ = verify_header(&p, &users(), &settings(), now);
                let _ = crate::auth::authenticate(&p, &users(), &settings(), now);
            }
            p.headers.remove("authorization");
            let _ = verify_presigned(&p, &users(), &settings(), now);
            let _ = crate::auth::sigv2::verify_presigned(&p, &users(), now);
            let _ = canonical::canonical_query(&enc, None);
        }
    }

    #[test]
    fn authenticate_dispatches() {
        let now = at("20240101T000000Z");
        let (p, _) = sign_simple(now);
        assert!(crate::auth::authenticate(&p, &users(), &settings(), now).is_ok());
        let p = presigned("/b/k", now, 60, &[]);
        assert!(crate::auth::authenticate(&p, &users(), &settings(), now).is_ok());
        let anon = parts("GET", "/b/k", &[("host", "h")]);
        assert_eq!(
            S3Error::from(crate::auth::authenticate(&anon, &users(), &settings(), now).unwrap_err()).code,
            S3Code::AccessDenied
        );
    }
}
