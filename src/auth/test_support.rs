//! Shared helpers for the auth unit tests: a user table, request builders, and a wrapper around
//! aws-sigv4's *signer* (the reference our verifier is checked against).

use super::{Principal, Role, Scope, User, Users};
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use chrono::{DateTime, Utc};
use std::time::{Duration, SystemTime};

/// The access key of the AWS documentation examples.
pub const AK: &str = "AKIAIOSFODNN7EXAMPLE";
/// The secret key of the AWS documentation examples.
pub const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// A user table with the documentation key pair (plus the botocore test pair `AK`/`SK`).
pub fn users() -> Users {
    Users::new(vec![
        User {
            principal: Principal {
                access_key: AK.into(),
                name: "doc".into(),
                role: Role::Writer,
                scope: Scope::default(),
            },
            secret_key: SK.into(),
            not_after: None,
        },
        User {
            principal: Principal {
                access_key: "AK".into(),
                name: "boto".into(),
                role: Role::Writer,
                scope: Scope::default(),
            },
            secret_key: "SK".into(),
            not_after: None,
        },
    ])
}

/// Parse a `YYYYMMDDTHHMMSSZ` test time.
pub fn at(s: &str) -> DateTime<Utc> {
    crate::auth::canonical::parse_amz_date(s).expect("test time")
}

/// A request head as the server sees it.
pub fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
    let mut b = http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).expect("test request").into_parts().0
}

/// What to sign with aws-sigv4.
pub struct SignSpec<'a> {
    pub method: &'a str,
    pub authority: &'a str,
    /// Path and query exactly as they go on the wire.
    pub path_and_query: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: SignableBody<'a>,
    pub time: DateTime<Utc>,
    pub region: &'a str,
    /// `Some(seconds)`: presign (signature in the query) valid that long.
    pub presign: Option<u64>,
    pub secret: &'a str,
}

impl<'a> SignSpec<'a> {
    pub fn new(method: &'a str, path_and_query: &'a str, time: DateTime<Utc>) -> Self {
        SignSpec {
            method,
            authority: "examplebucket.s3.amazonaws.com",
            path_and_query,
            headers: &[],
            body: SignableBody::UnsignedPayload,
            time,
            region: "us-east-1",
            presign: None,
            secret: SK,
        }
    }
}

/// Sign with aws-sigv4 (S3 settings: single encoding, no path normalization, x-amz-content-sha256),
/// then return the request head as a server receives it (origin-form URI, `Host` header) together
/// with the signature.
pub fn aws_sign(spec: SignSpec<'_>) -> (http::request::Parts, String) {
    let identity = aws_credential_types::Credentials::new(AK, spec.secret, None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    if let Some(secs) = spec.presign {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(secs));
    }
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(spec.time.timestamp() as u64);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(spec.region)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .expect("signing params")
        .into();
    let uri = format!("https://{}{}", spec.authority, spec.path_and_query);
    let signable =
        SignableRequest::new(spec.method, uri.clone(), spec.headers.iter().copied(), spec.body).expect("signable");
    let (instructions, signature) = sign(signable, &params).expect("sign").into_parts();
    let mut b = http::Request::builder().method(spec.method).uri(&uri);
    for (k, v) in spec.headers {
        b = b.header(*k, *v);
    }
    let mut req = b.body(()).expect("request");
    instructions.apply_to_request_http1x(&mut req);
    let (mut p, ()) = req.into_parts();
    p.headers.insert("host", spec.authority.parse().expect("host"));
    p.uri = p
        .uri
        .path_and_query()
        .expect("path")
        .as_str()
        .parse()
        .expect("origin-form uri");
    (p, signature)
}

/// Signing params for aws-sigv4's `sign_chunk` / `sign_trailer`.
pub fn chunk_signing_identity(secret: &str) -> aws_smithy_runtime_api::client::identity::Identity {
    aws_credential_types::Credentials::new(AK, secret, None, None, "test").into()
}

/// aws-sigv4's signing params for chunks and trailers at `time` in `region`.
fn chunk_signing_params<'a>(
    identity: &'a aws_smithy_runtime_api::client::identity::Identity,
    time: DateTime<Utc>,
    region: &'a str,
) -> v4::SigningParams<'a, ()> {
    v4::SigningParams::<()>::builder()
        .identity(identity)
        .region(region)
        .name("s3")
        .time(SystemTime::UNIX_EPOCH + Duration::from_secs(time.timestamp() as u64))
        .settings(())
        .build()
        .expect("params")
}

/// The chunk signature aws-sigv4 computes for `chunk` after `prev`.
pub fn aws_chunk_signature(secret: &str, time: DateTime<Utc>, region: &str, prev: &str, chunk: &[u8]) -> String {
    let identity = chunk_signing_identity(secret);
    let params = chunk_signing_params(&identity, time, region);
    let bytes = bytes::Bytes::copy_from_slice(chunk);
    v4::sign_chunk(&bytes, prev, &params)
        .expect("sign chunk")
        .into_parts()
        .1
}

/// The trailer signature aws-sigv4 computes for `trailers` after `prev`.
pub fn aws_trailer_signature(
    secret: &str,
    time: DateTime<Utc>,
    region: &str,
    prev: &str,
    trailers: &[(&str, &str)],
) -> String {
    let identity = chunk_signing_identity(secret);
    let params = chunk_signing_params(&identity, time, region);
    let mut headers = aws_smithy_runtime_api::http::Headers::new();
    for (k, v) in trailers {
        headers.insert(k.to_string(), v.to_string());
    }
    v4::sign_trailer(&headers, prev, &params)
        .expect("sign trailer")
        .into_parts()
        .1
}
