//! `SigV2` presigned query verification (`AWSAccessKeyId`, `Signature`, `Expires`).
//!
//! boto3 / aws-cli v1 still produce `SigV2` presigned URLs by default for a custom endpoint, so these
//! must work. The string to sign follows botocore's `HmacV1QueryAuth`:
//!
//! ```text
//! METHOD \n Content-MD5 \n Content-Type \n Expires \n [x-amz-name:value \n …] canonical-resource
//! ```
//!
//! The canonical resource is the path as sent (path-style addressing: `/bucket/key`) plus the signed
//! sub-resources found in the query. Only `SigV2` *presigned* URLs are accepted; `SigV2` `Authorization`
//! headers are refused by [`super::authenticate`].

use super::canonical;
use super::error::AuthError;
use super::{Authenticated, PayloadMode, Users};
use crate::encoding;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Query parameters that are part of the `SigV2` canonical resource. The union of botocore's
/// `HmacV1Auth.QSAOfInterest` and the sub-resources AWS / `MinIO` sign (`retention`, `legal-hold`,
/// `encryption`, …): a parameter that selects another operation must be signed, otherwise a presigned
/// `PutObject` URL could be replayed as `PutObjectRetention` or `PutObjectLegalHold`.
pub const SIGNED_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "encryption",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "retention",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// The canonical resource: `path` followed by the signed sub-resources present in `query`, sorted by
/// name (stable, so repeated names keep their order), values percent-decoded, `name` alone when the
/// parameter had no `=`.
fn canonical_resource(path: &str, query: &str) -> String {
    let mut subs: Vec<(&str, Option<String>)> = encoding::split_query(query)
        .into_iter()
        .filter(|p| SIGNED_SUBRESOURCES.contains(&p.name))
        .map(|p| {
            (
                p.name,
                p.value
                    .map(|v| String::from_utf8_lossy(&encoding::percent_decode(v.as_bytes(), false)).into_owned()),
            )
        })
        .collect();
    subs.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = path.to_string();
    for (i, (name, value)) in subs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(name);
        if let Some(v) = value {
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

/// Value of the first query parameter whose raw name equals `name`, percent-decoded (`+` kept as `+`:
/// base64 signatures contain it and some clients do not escape it); `Err` if repeated.
fn query_value(query: &str, name: &str) -> Result<Option<Vec<u8>>, AuthError> {
    let mut found = None;
    for p in encoding::split_query(query) {
        if p.name == name {
            if found.is_some() {
                return Err(AuthError::V2RepeatedParam { name: name.to_string() });
            }
            found = Some(encoding::percent_decode(p.value.unwrap_or("").as_bytes(), false));
        }
    }
    Ok(found)
}

fn header_str<'a>(parts: &'a http::request::Parts, name: &str) -> Option<&'a [u8]> {
    parts.headers.get(name).map(http::HeaderValue::as_bytes)
}

fn trim_bytes(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    b.get(start..end.max(start)).unwrap_or_default()
}

/// `x-amz-*` headers (and `x-amz-*` query parameters, where botocore moves the headers it signed),
/// lower-cased, values trimmed and joined with `,`, sorted by name, one `name:value\n` each.
fn canonical_amz_headers(parts: &http::request::Parts, query: &str) -> Vec<u8> {
    let mut map: std::collections::BTreeMap<String, Vec<Vec<u8>>> = std::collections::BTreeMap::new();
    for (name, value) in &parts.headers {
        let n = name.as_str();
        if n.starts_with("x-amz-") {
            map.entry(n.to_string())
                .or_default()
                .push(trim_bytes(value.as_bytes()).to_vec());
        }
    }
    for (name, v) in canonical::decoded_params(query) {
        let lname = String::from_utf8_lossy(&name).to_ascii_lowercase();
        if lname.starts_with("x-amz-") {
            map.entry(lname).or_default().push(trim_bytes(&v).to_vec());
        }
    }
    let mut out = Vec::new();
    for (name, values) in map {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        out.extend_from_slice(&values.join(&b","[..]));
        out.push(b'\n');
    }
    out
}

/// Verify a `SigV2` presigned URL, as boto3 / aws-cli v1 generate by default for custom endpoints. Why:
/// `aws s3 presign` and `generate_presigned_url` users would otherwise get 403s from the gateway; the
/// signature binds method, `Content-MD5`, `Content-Type`, expiry, `x-amz-*` headers, the path and the
/// operation-selecting sub-resources. The body is never signed, so the payload is [`PayloadMode::Unsigned`].
pub fn verify_presigned(
    parts: &http::request::Parts,
    users: &Users,
    now: DateTime<Utc>,
) -> Result<Authenticated, AuthError> {
    let query = parts.uri.query().unwrap_or("");
    if query.len() > canonical::MAX_AUTH_FIELD * 4 {
        return Err(AuthError::V2QueryTooLong);
    }
    if parts.headers.contains_key(http::header::AUTHORIZATION) {
        return Err(AuthError::SeveralMechanisms);
    }
    let missing = || AuthError::V2MissingParams;
    let access_key = query_value(query, "AWSAccessKeyId")?.ok_or_else(missing)?;
    let signature = query_value(query, "Signature")?.ok_or_else(missing)?;
    let expires_raw = query_value(query, "Expires")?.ok_or_else(missing)?;
    let expires_str = std::str::from_utf8(&expires_raw).unwrap_or("");
    let expires: i64 =
        if !expires_str.is_empty() && expires_str.len() <= 12 && expires_str.bytes().all(|b| b.is_ascii_digit()) {
            expires_str.parse().map_err(|_| AuthError::V2UnparsableExpires)?
        } else {
            return Err(AuthError::V2BadExpires {
                shown: String::from_utf8_lossy(&expires_raw).chars().take(40).collect(),
            });
        };
    let access_key = String::from_utf8(access_key).map_err(|_| AuthError::UnknownAccessKey)?;
    let user = users.get(&access_key).ok_or(AuthError::UnknownAccessKey)?;
    if now.timestamp() > expires {
        return Err(AuthError::Expired);
    }
    let provided = {
        use base64::Engine as _;
        let s = String::from_utf8_lossy(&signature);
        base64::engine::general_purpose::STANDARD
            .decode(s.trim().as_bytes())
            .map_err(|_| AuthError::SignatureMismatch)?
    };

    // Content-MD5 / Content-Type from the headers; botocore also copies them into the query, which is
    // used when the header is absent.
    let std_header = |name: &str| -> Vec<u8> {
        match header_str(parts, name) {
            Some(v) => trim_bytes(v).to_vec(),
            None => query_value(query, name)
                .ok()
                .flatten()
                .map(|v| trim_bytes(&v).to_vec())
                .unwrap_or_default(),
        }
    };
    let mut prefix = Vec::with_capacity(256);
    prefix.extend_from_slice(parts.method.as_str().as_bytes());
    prefix.push(b'\n');
    prefix.extend_from_slice(&std_header("content-md5"));
    prefix.push(b'\n');
    prefix.extend_from_slice(&std_header("content-type"));
    prefix.push(b'\n');
    prefix.extend_from_slice(expires_str.as_bytes());
    prefix.push(b'\n');
    prefix.extend_from_slice(&canonical_amz_headers(parts, query));

    let mut paths = canonical::canonical_uri_candidates(parts.uri.path());
    // botocore signs bucket-level requests (`GET /bucket?list-type=2`) with the resource `/bucket/`.
    let raw_path = parts.uri.path();
    if raw_path.starts_with('/') && raw_path.get(1..).is_some_and(|b| !b.is_empty() && !b.contains('/')) {
        paths.push(format!("{raw_path}/"));
    }
    let mut matched = false;
    for path in paths {
        let mut sts = prefix.clone();
        sts.extend_from_slice(canonical_resource(&path, query).as_bytes());
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(user.secret_key.as_bytes()) else {
            return Err(AuthError::HmacKey);
        };
        mac.update(&sts);
        let expected = mac.finalize().into_bytes();
        matched |= canonical::ct_eq(&expected, &provided);
    }
    if !matched {
        return Err(AuthError::SignatureMismatch);
    }
    Ok(Authenticated {
        principal: user.principal.clone(),
        payload: PayloadMode::Unsigned,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::error::{S3Code, S3Error, S3Result};

    /// [`super::verify_presigned`] as the client sees its refusal (through the gateway's mapping).
    fn verify_presigned(parts: &http::request::Parts, users: &Users, now: DateTime<Utc>) -> S3Result<Authenticated> {
        super::verify_presigned(parts, users, now).map_err(S3Error::from)
    }
    use crate::auth::test_support::{parts, users};
    use chrono::TimeZone;

    /// `generate_presigned_url` output of botocore 1.43.11 (endpoint <http://127.0.0.1:9000>,
    /// credentials AK / SK, region us-east-1, `time.time()` frozen at 1700000000, ExpiresIn=3600 unless
    /// noted): (method, path-and-query as on the wire, extra request headers).
    /// (method, path-and-query, extra headers).
    type Case = (&'static str, &'static str, &'static [(&'static str, &'static str)]);

    const BOTOCORE: &[Case] = &[
        ("GET", "/b/a%20b/c?AWSAccessKeyId=AK&Signature=bGxyAxUF1TuWaTkww0vjeY2rrME%3D&Expires=1700003600", &[]),
        (
            "GET",
            "/b/k?versionId=v1%2B%2F%3D&response-content-type=text%2Fplain&response-content-disposition=attachment%3B%20filename%3D%22x%20y%22&AWSAccessKeyId=AK&Signature=qN56Ismn4YrPPVgPH3wXIhJT1es%3D&Expires=1700003600",
            &[],
        ),
        (
            "PUT",
            "/b/k?AWSAccessKeyId=AK&Signature=J8B9PqyfrrOpZ0o4X8lKhMXEC3s%3D&content-type=text%2Fplain&x-amz-meta-foo=bar&Expires=1700003600",
            &[("content-type", "text/plain")],
        ),
        // Content-Type only in the query (as botocore put it there).
        (
            "PUT",
            "/b/k?AWSAccessKeyId=AK&Signature=J8B9PqyfrrOpZ0o4X8lKhMXEC3s%3D&content-type=text%2Fplain&x-amz-meta-foo=bar&Expires=1700003600",
            &[],
        ),
        (
            "GET",
            "/b/%C3%BCn%C3%AF/%E6%97%A5%E6%9C%AC%20%2B%3D~%21%24%26%27%28%29%2A%2C%3B%3A%40%25?AWSAccessKeyId=AK&Signature=g4UxkhCZLk143nzJJKsx5ZTegPI%3D&Expires=1700003600",
            &[],
        ),
        (
            "GET",
            "/b?list-type=2&prefix=a%20b%2F&delimiter=%2F&encoding-type=url&AWSAccessKeyId=AK&Signature=mB0qxn8YX%2FX6aMYgtFb59j9ns%2BA%3D&Expires=1700003600",
            &[],
        ),
        // The same with '+' left unescaped in the signature.
        (
            "GET",
            "/b?list-type=2&prefix=a%20b%2F&delimiter=%2F&encoding-type=url&AWSAccessKeyId=AK&Signature=mB0qxn8YX%2FX6aMYgtFb59j9ns+A%3D&Expires=1700003600",
            &[],
        ),
        (
            "PUT",
            "/b/big?uploadId=up~1%2B2&partNumber=3&AWSAccessKeyId=AK&Signature=yeGEuQX7uc5iNTasPgHlsMsIkmU%3D&Expires=1700003600",
            &[],
        ),
        ("GET", "/b/k?tagging&AWSAccessKeyId=AK&Signature=CMDIZg%2BTNZv7z4wAPhtCwSRADss%3D&Expires=1700003600", &[]),
        ("DELETE", "/b/k?versionId=3&AWSAccessKeyId=AK&Signature=WF3Ys8h6GG2sc2awwD19x0b0zOo%3D&Expires=1700003600", &[]),
        (
            "PUT",
            "/b/lock?AWSAccessKeyId=AK&Signature=XEvR5YaTtV%2BjtFbGPYAvnjaBgD8%3D&x-amz-object-lock-mode=COMPLIANCE&x-amz-object-lock-retain-until-date=2030-01-01T00%3A00%3A00Z&Expires=1700003600",
            &[],
        ),
        // ExpiresIn = 4 weeks (SigV2 has no 7-day cap).
        ("GET", "/b/k?AWSAccessKeyId=AK&Signature=X64BLTIw%2BR4BhNMCVE7zBa%2BTRzg%3D&Expires=1702419200", &[]),
    ];

    fn now(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).single().unwrap()
    }

    fn req(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut h = vec![("host", "127.0.0.1:9000")];
        h.extend_from_slice(headers);
        parts(method, uri, &h)
    }

    #[test]
    fn botocore_presigned_urls_verify() {
        for (method, uri, headers) in BOTOCORE {
            let a = verify_presigned(&req(method, uri, headers), &users(), now(1_700_000_100))
                .unwrap_or_else(|e| panic!("{method} {uri}: {e}"));
            assert_eq!(a.principal.access_key, "AK");
            assert_eq!(a.payload, PayloadMode::Unsigned);
            // Also through the dispatcher.
            crate::auth::authenticate(
                &req(method, uri, headers),
                &users(),
                &Default::default(),
                now(1_700_000_100),
            )
            .unwrap();
        }
    }

    #[test]
    fn expiry() {
        let (m, uri, h) = BOTOCORE[0];
        verify_presigned(&req(m, uri, h), &users(), now(1_700_003_600)).unwrap();
        let e = verify_presigned(&req(m, uri, h), &users(), now(1_700_003_601)).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (S3Code::AccessDenied, "Request has expired")
        );
        for bad in ["Expires=abc", "Expires=-1", "Expires=", "Expires=1e9"] {
            let u = uri.replace("Expires=1700003600", bad);
            let e = verify_presigned(&req(m, &u, h), &users(), now(1_700_000_000)).unwrap_err();
            assert_eq!(e.code, S3Code::AccessDenied, "{bad}");
        }
        // A later Expires than signed: the signature no longer matches.
        let u = uri.replace("Expires=1700003600", "Expires=1800003600");
        assert_eq!(
            verify_presigned(&req(m, &u, h), &users(), now(1_700_000_000))
                .unwrap_err()
                .code,
            S3Code::SignatureDoesNotMatch
        );
    }

    #[test]
    fn tampering_is_detected() {
        let t = now(1_700_000_100);
        let check =
            |m: &str, uri: &str, h: &[(&str, &str)]| verify_presigned(&req(m, uri, h), &users(), t).unwrap_err().code;
        let (m, uri, h) = BOTOCORE[0];
        assert_eq!(check("PUT", uri, h), S3Code::SignatureDoesNotMatch);
        assert_eq!(
            check(m, &uri.replace("/b/a%20b/c", "/b/a%20b/d"), h),
            S3Code::SignatureDoesNotMatch
        );
        assert_eq!(
            check(m, &uri.replace("/b/a%20b/c", "/other/a%20b/c"), h),
            S3Code::SignatureDoesNotMatch
        );
        // Added x-amz-* header, Content-Type or Content-MD5.
        assert_eq!(check(m, uri, &[("x-amz-meta-x", "1")]), S3Code::SignatureDoesNotMatch);
        assert_eq!(
            check(m, uri, &[("content-type", "text/html")]),
            S3Code::SignatureDoesNotMatch
        );
        assert_eq!(
            check(m, uri, &[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")]),
            S3Code::SignatureDoesNotMatch
        );
        // Operation-selecting sub-resources are signed: a presigned GetObject/PutObject URL cannot be
        // turned into retention, legal hold, ACL, tagging, versions … requests.
        for sub in [
            "retention",
            "legal-hold",
            "acl",
            "tagging",
            "versionId=1",
            "uploads",
            "object-lock",
            "delete",
        ] {
            let u = uri.replacen('?', &format!("?{sub}&"), 1);
            assert_eq!(check(m, &u, h), S3Code::SignatureDoesNotMatch, "{sub}");
        }
        // Ordinary parameters are not part of SigV2's string to sign.
        let u = format!("{uri}&x-id=GetObject");
        verify_presigned(&req(m, &u, h), &users(), t).unwrap();
        // Wrong / garbage signatures.
        assert_eq!(
            check(m, &uri.replace("bGxyAxUF1", "bGxyAxUF2"), h),
            S3Code::SignatureDoesNotMatch
        );
        assert_eq!(
            check(m, &uri.replace("bGxyAxUF1TuWaTkww0vjeY2rrME%3D", "!!!"), h),
            S3Code::SignatureDoesNotMatch
        );
        assert_eq!(
            check(m, &uri.replace("bGxyAxUF1TuWaTkww0vjeY2rrME%3D", ""), h),
            S3Code::SignatureDoesNotMatch
        );
    }

    #[test]
    fn botocore_retention_url_is_refused_because_botocore_leaves_retention_unsigned() {
        // botocore's QSAOfInterest lacks `retention`, so its signature does not cover the operation;
        // accepting it would let any presigned PUT be replayed as PutObjectRetention.
        let u = "/b/k?retention&AWSAccessKeyId=AK&Signature=cMjsv%2FeRnV2C6n4MHScnXoKmzxg%3D&Expires=1700003600";
        let e = verify_presigned(&req("PUT", u, &[]), &users(), now(1_700_000_100)).unwrap_err();
        assert_eq!(e.code, S3Code::SignatureDoesNotMatch);
    }

    #[test]
    fn parameter_errors() {
        let t = now(1_700_000_100);
        let (m, uri, h) = BOTOCORE[0];
        for drop in [
            "AWSAccessKeyId=AK&",
            "Signature=bGxyAxUF1TuWaTkww0vjeY2rrME%3D&",
            "&Expires=1700003600",
        ] {
            let e = verify_presigned(&req(m, &uri.replace(drop, ""), h), &users(), t).unwrap_err();
            assert_eq!(e.code, S3Code::AccessDenied, "{drop}");
            assert!(e.message.contains("requires"), "{}", e.message);
        }
        let e = verify_presigned(
            &req(m, &uri.replace("AWSAccessKeyId=AK", "AWSAccessKeyId=NOPE"), h),
            &users(),
            t,
        )
        .unwrap_err();
        assert_eq!(
            (e.code, e.status()),
            (S3Code::InvalidAccessKeyId, http::StatusCode::FORBIDDEN)
        );
        let e = verify_presigned(&req(m, &format!("{uri}&Expires=1700003600"), h), &users(), t).unwrap_err();
        assert_eq!(e.code, S3Code::AccessDenied);
        let e = verify_presigned(&req(m, uri, &[("authorization", "AWS AK:sig")]), &users(), t).unwrap_err();
        assert_eq!(e.code, S3Code::InvalidArgument);
    }

    #[test]
    fn canonical_resource_form() {
        assert_eq!(canonical_resource("/b/k", ""), "/b/k");
        assert_eq!(canonical_resource("/b/k", "x=1&acl"), "/b/k?acl");
        assert_eq!(
            canonical_resource("/b/k", "versionId=a%2Bb&uploads&prefix=p&response-expires="),
            "/b/k?response-expires=&uploads&versionId=a+b"
        );
        assert_eq!(
            canonical_resource("/b", "tagging&acl&tagging=1"),
            "/b?acl&tagging&tagging=1"
        );
    }
}
