//! The one place where the layers' typed errors become S3 wire errors (status, `<Code>`, `<Message>`):
//! which code (and so which HTTP status) each failure travels under, so the same failure always
//! answers the same way. Layers below the gateway say what happened in their own terms. Auth, body and
//! digest errors are worded for the client by their `Display`; store and upstream errors get their
//! wire wording here. Internal failures are logged here with their whole cause chain (the client sees
//! only the top-level text). Each layer's impls stay in one block headed by its name.

use crate::s3::error::{S3Code, S3Error};

// ---- auth ----

use crate::auth::error::{AuthError, BodyError, IngestError};
use crate::auth::scope::OutOfScope;
use crate::checksum::DigestError;

impl From<AuthError> for S3Error {
    /// A request head that did not authenticate: 403 for signature, key and time problems, 400 for
    /// a request that cannot be read, as AWS answers each.
    fn from(e: AuthError) -> Self {
        let code = match &e {
            AuthError::Anonymous
            | AuthError::Expired
            | AuthError::NotYetValid { .. }
            | AuthError::BadAmzDate
            | AuthError::BadDate
            | AuthError::MissingDate
            | AuthError::UnsignedAmzHeader { .. }
            | AuthError::V2QueryTooLong
            | AuthError::V2RepeatedParam { .. }
            | AuthError::V2MissingParams
            | AuthError::V2BadExpires { .. }
            | AuthError::V2UnparsableExpires => S3Code::AccessDenied,
            AuthError::SigV2Header
            | AuthError::RepeatedHeader { .. }
            | AuthError::HeaderNotAscii { .. }
            | AuthError::MissingContentSha256
            | AuthError::ContentSha256Conflict
            | AuthError::SignedContentSha256Missing
            | AuthError::UnsignedStreamingMode { .. } => S3Code::InvalidRequest,
            AuthError::SeveralMechanisms | AuthError::SigV4aPayload { .. } | AuthError::BadContentSha256 { .. } => {
                S3Code::InvalidArgument
            }
            AuthError::UnknownScheme | AuthError::MalformedHeader(_) => S3Code::AuthorizationHeaderMalformed,
            AuthError::MalformedPresign(_) => S3Code::AuthorizationQueryParametersError,
            AuthError::UnknownAccessKey => S3Code::InvalidAccessKeyId,
            AuthError::SignatureMismatch => S3Code::SignatureDoesNotMatch,
            AuthError::ClockSkew { .. } => S3Code::RequestTimeTooSkewed,
            AuthError::HmacKey => return S3Error::internal(e),
        };
        S3Error::new(code, e.to_string())
    }
}

impl From<BodyError> for S3Error {
    /// A body that failed while it streamed: the request is refused and nothing it carried is kept.
    fn from(e: BodyError) -> Self {
        let code = match &e {
            BodyError::Read(_)
            | BodyError::Truncated
            | BodyError::LongerThanDeclared { .. }
            | BodyError::LengthMismatch { .. } => S3Code::IncompleteBody,
            BodyError::AfterEnd
            | BodyError::DataNotTerminated
            | BodyError::LineTooLong
            | BodyError::HeaderNotCrlf
            | BodyError::MalformedChunkHeader { .. }
            | BodyError::NoChunkSignature
            | BodyError::ChunkTooLarge { .. }
            | BodyError::TrailerHeaderNotAscii
            | BodyError::UnexpectedTrailer
            | BodyError::TrailerAfterSignature
            | BodyError::TrailerNotUtf8
            | BodyError::TrailerNotNameValue
            | BodyError::TrailerBadName
            | BodyError::TrailerUndeclared { .. }
            | BodyError::TrailerRepeated { .. }
            | BodyError::SeveralChecksumTrailers
            | BodyError::TooManyTrailers
            | BodyError::MissingTrailerSignature
            | BodyError::ChecksumAlgorithmConflict { .. } => S3Code::InvalidRequest,
            BodyError::DecodedLengthRepeated | BodyError::DecodedLengthNotNumber => S3Code::InvalidArgument,
            BodyError::ChunkSignatureMismatch | BodyError::TrailerSignatureMismatch => S3Code::SignatureDoesNotMatch,
            BodyError::DocumentTooLarge => S3Code::MalformedXML,
            BodyError::TooLarge { .. } => S3Code::EntityTooLarge,
            BodyError::Stalled => {
                return S3Error::new(S3Code::RequestTimeout, e.to_string()).with_header("connection", "close")
            }
            BodyError::DocumentNotUtf8 => return S3Error::malformed_xml(e),
            BodyError::AlreadyRead => return S3Error::internal(e),
            BodyError::Digest(d) => return S3Error::from(d.clone()),
        };
        S3Error::new(code, e.to_string())
    }
}

impl From<DigestError> for S3Error {
    /// Digests the client claimed: malformed ones are refused before the body is read, mismatches
    /// after it (and before anything commits).
    fn from(e: DigestError) -> Self {
        let code = match &e {
            DigestError::BadContentMd5 => S3Code::InvalidDigest,
            DigestError::SeveralChecksums
            | DigestError::BadChecksumValue { .. }
            | DigestError::UnsupportedTrailer { .. }
            | DigestError::UnsupportedAlgorithm { .. }
            | DigestError::SdkAlgorithmConflict { .. }
            | DigestError::MissingTrailer { .. } => S3Code::InvalidRequest,
            DigestError::DecodedLengthNotNumber => S3Code::InvalidArgument,
            DigestError::LengthMismatch { .. } => S3Code::IncompleteBody,
            DigestError::Sha256Mismatch => S3Code::XAmzContentSHA256Mismatch,
            DigestError::Md5Mismatch | DigestError::ChecksumMismatch { .. } => S3Code::BadDigest,
            DigestError::NotComputed => return S3Error::internal(e),
        };
        S3Error::new(code, e.to_string())
    }
}

impl<E: Into<S3Error>> From<IngestError<E>> for S3Error {
    /// Streaming a body into a sink: the body's failure, or the sink's own (already typed by its layer).
    fn from(e: IngestError<E>) -> Self {
        match e {
            IngestError::Body(b) => b.into(),
            IngestError::Sink(s) => s.into(),
        }
    }
}

impl From<OutOfScope> for S3Error {
    /// A bucket-scoped key reaching outside its scope: `AccessDenied`, recorded as a `scope` refusal.
    fn from(e: OutOfScope) -> Self {
        S3Error::access_denied(e.to_string()).with_rule("scope")
    }
}

// ---- store ----

use crate::store::blob::upstream::client::UpstreamError;
use crate::store::error::chain;
use crate::store::StoreError;
use crate::units::format_size;

impl From<StoreError> for S3Error {
    fn from(e: StoreError) -> S3Error {
        match e {
            StoreError::NoSuchBucket { bucket } => S3Error::new(
                S3Code::NoSuchBucket,
                format!("The specified bucket does not exist: {bucket}"),
            ),
            StoreError::NoSuchVersion => S3Error::new(S3Code::NoSuchVersion, "The specified version does not exist."),
            StoreError::BucketNotEmpty { .. } => S3Error::new(
                S3Code::BucketNotEmpty,
                "The bucket you tried to delete is not empty: it holds object versions or delete markers",
            ),
            StoreError::RetentionShortened => {
                S3Error::access_denied("Access Denied: COMPLIANCE retention can only be extended, not shortened")
            }
            StoreError::NotExpired => {
                S3Error::access_denied("Access Denied: the version is protected; the expiry proof does not cover it")
            }
            StoreError::QuotaExceeded {
                bucket,
                quota,
                used,
                pending,
                ask,
            } => {
                let in_flight = if pending == crate::store::capacity::Usage::default() {
                    String::new()
                } else {
                    format!(
                        " (plus {} in {} writes in flight)",
                        format_size(pending.bytes),
                        pending.versions
                    )
                };
                S3Error::new(
                    S3Code::QuotaExceeded,
                    format!(
                        "Bucket quota exceeded: bucket '{bucket}' has a quota of {quota}; it holds {} ({} bytes) in {} versions{in_flight}, and this request needs {} bytes and {} version(s) more.",
                        format_size(used.bytes),
                        used.bytes,
                        used.versions,
                        ask.bytes,
                        ask.versions
                    ),
                )
            }
            StoreError::StorageFull {
                available,
                total,
                reserve_bytes,
                reserve,
                incoming,
            } => {
                let needs = if incoming > 0 {
                    format!(", request needs {}", format_size(incoming))
                } else {
                    String::new()
                };
                S3Error::new(
                    S3Code::InsufficientStorage,
                    format!(
                        "Storage backend has reached its minimum free space threshold: {} free of {} on the data volume, reserve {} ({reserve}){needs}. New versions and uploads are refused until space is freed; reads, listings and deletes still work.",
                        format_size(available),
                        format_size(total),
                        format_size(reserve_bytes),
                    ),
                )
            }
            StoreError::Flush {
                no_space: true,
                message,
            } => S3Error::new(
                S3Code::InsufficientStorage,
                format!("Storage backend has no space left: the catalog flush failed: {message}"),
            ),
            // sled and I/O errors keep their established mapping (507 for a full volume).
            StoreError::Catalog(e) => {
                tracing::error!(error = %e, "catalog failed");
                S3Error::from(e)
            }
            StoreError::Io(e) => {
                tracing::error!(error = %chain(&e), "storage I/O failed");
                S3Error::from(e)
            }
            StoreError::Upstream(e) => S3Error::from(e),
            e @ (StoreError::FreeSpace(_)
            | StoreError::IoAt { .. }
            | StoreError::MissingUpstream { .. }
            | StoreError::PutTask(_)) => {
                let text = chain(&e);
                tracing::error!(error = %text, "store failed");
                S3Error::internal(text)
            }
            e @ (StoreError::Flush { no_space: false, .. }
            | StoreError::FlusherStopped
            | StoreError::Corrupt { .. }
            | StoreError::NotLocked
            | StoreError::InvalidBlobId { .. }
            | StoreError::BlobExists { .. }
            | StoreError::UpstreamAnswer(_)
            | StoreError::Invariant(_)) => {
                tracing::error!(error = %e, "store failed");
                S3Error::internal(e)
            }
        }
    }
}

impl From<UpstreamError> for S3Error {
    /// 503 `SlowDown` when the upstream is overloaded or unreachable (the client should retry later),
    /// 500 `InternalError` otherwise; the message names the upstream error.
    fn from(e: UpstreamError) -> S3Error {
        let msg = format!("storage upstream failed: {e}");
        tracing::warn!(error = %e, "upstream request failed");
        if e.retryable() {
            S3Error::new(S3Code::SlowDown, msg)
        } else {
            S3Error::new(S3Code::InternalError, msg)
        }
    }
}

// ---- audit ----

use crate::audit::AuditError;

/// A request whose audit record cannot be made durable is answered 500 (or 507 when the volume is
/// full while opening the trail): the client must not take an unrecorded request as done.
impl From<AuditError> for S3Error {
    fn from(e: AuditError) -> Self {
        match e {
            // A full volume and plain I/O failures read like every other storage error.
            AuditError::Io(io) => S3Error::from(io),
            other @ (AuditError::InUse { .. }
            | AuditError::Spawn(_)
            | AuditError::WriterStopped
            | AuditError::Append(_)) => S3Error::internal(other),
        }
    }
}

#[cfg(test)]
mod auth_tests {
    //! The wire form of every auth, body and digest error: code, status and the exact message the
    //! client read before errors were typed (the strings are the old inline ones, kept verbatim).

    use super::*;
    use crate::auth::error::{AuthHeaderSyntax, CredentialError, HeaderMalformed, PresignProblem, SignedHeadersError};
    use crate::checksum::ChecksumAlgorithm;
    use chrono::{TimeZone, Utc};

    /// What the mapping produced, and the (code, message) the client read before.
    type Case = ((S3Code, String), (S3Code, &'static str));

    fn wire(e: impl Into<S3Error>) -> (S3Code, String) {
        let e = e.into();
        (e.code, e.message)
    }

    #[test]
    fn auth_errors_keep_their_codes_and_messages() {
        let t = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let s = Utc.with_ymd_and_hms(2024, 1, 1, 0, 20, 0).unwrap();
        let malformed = |m: HeaderMalformed| wire(AuthError::MalformedHeader(m));
        let presign = |p: PresignProblem| wire(AuthError::MalformedPresign(p));
        let ad = S3Code::AccessDenied;
        let ir = S3Code::InvalidRequest;
        let ahm = S3Code::AuthorizationHeaderMalformed;
        let aqp = S3Code::AuthorizationQueryParametersError;
        let cases: Vec<Case> = vec![
            (wire(AuthError::Anonymous), (ad, "Anonymous requests are not allowed: sign the request with an access key")),
            (wire(AuthError::SigV2Header), (ir, "SigV2 Authorization headers are not supported; sign requests with AWS Signature Version 4")),
            (wire(AuthError::UnknownScheme), (ahm, "the Authorization header is not an AWS4-HMAC-SHA256 signature")),
            (wire(AuthError::SeveralMechanisms), (S3Code::InvalidArgument, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")),
            (wire(AuthError::UnknownAccessKey), (S3Code::InvalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records.")),
            (wire(AuthError::SignatureMismatch), (S3Code::SignatureDoesNotMatch, "The request signature we calculated does not match the signature you provided. Check your key and signing method.")),
            (wire(AuthError::Expired), (ad, "Request has expired")),
            (wire(AuthError::NotYetValid { request: s, server: t }), (ad, "Request is not valid yet: X-Amz-Date 2024-01-01T00:20:00+00:00 is in the future (server time 2024-01-01T00:00:00+00:00)")),
            (wire(AuthError::ClockSkew { request: t, server: s, allowed: chrono::Duration::minutes(15) }), (S3Code::RequestTimeTooSkewed, "The difference between the request time and the current time is too large (request time 2024-01-01T00:00:00+00:00, server time 2024-01-01T00:20:00+00:00, allowed 900 s).")),
            (wire(AuthError::BadAmzDate), (ad, "AWS authentication requires a valid Date or x-amz-date header: x-amz-date must be in the ISO 8601 basic format yyyyMMdd'T'HHmmss'Z'")),
            (wire(AuthError::BadDate), (ad, "AWS authentication requires a valid Date or x-amz-date header: the Date header is not an RFC 1123 date")),
            (wire(AuthError::MissingDate), (ad, "AWS authentication requires a valid Date or x-amz-date header")),
            (wire(AuthError::UnsignedAmzHeader { name: "x-amz-meta-a".into() }), (ad, "There were headers present in the request which were not signed: x-amz-meta-a")),
            (wire(AuthError::SigV4aPayload { value: "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD".into() }), (S3Code::InvalidArgument, "x-amz-content-sha256 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD' is a SigV4a (ECDSA) payload, which this gateway does not support; sign with AWS4-HMAC-SHA256")),
            (wire(AuthError::BadContentSha256 { shown: "x".into() }), (S3Code::InvalidArgument, "x-amz-content-sha256 must be a hex SHA-256, UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or STREAMING-UNSIGNED-PAYLOAD-TRAILER; got 'x'")),
            (wire(AuthError::RepeatedHeader { name: "x-amz-date".into() }), (ir, "The x-amz-date header must not be sent more than once")),
            (wire(AuthError::HeaderNotAscii { name: "x-amz-date".into() }), (ir, "The x-amz-date header is not valid ASCII")),
            (wire(AuthError::MissingContentSha256), (ir, "Missing required header for this request: x-amz-content-sha256")),
            (wire(AuthError::ContentSha256Conflict), (ir, "The x-amz-content-sha256 header and the X-Amz-Content-Sha256 query parameter differ")),
            (wire(AuthError::SignedContentSha256Missing), (ir, "x-amz-content-sha256 is listed in X-Amz-SignedHeaders but the header is missing")),
            (wire(AuthError::UnsignedStreamingMode { mode: "STREAMING-UNSIGNED-PAYLOAD-TRAILER".into() }), (ir, "A presigned request may use x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER only if that header is signed (listed in X-Amz-SignedHeaders)")),
            (wire(AuthError::V2QueryTooLong), (ad, "the query string is too long")),
            (wire(AuthError::V2RepeatedParam { name: "Expires".into() }), (ad, "The query parameter Expires must not appear more than once")),
            (wire(AuthError::V2MissingParams), (ad, "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")),
            (wire(AuthError::V2BadExpires { shown: "soon".into() }), (ad, "Invalid date (should be seconds since epoch): Expires=soon")),
            (wire(AuthError::V2UnparsableExpires), (ad, "Invalid date (should be seconds since epoch): Expires")),
            (wire(AuthError::HmacKey), (S3Code::InternalError, "internal error: HMAC-SHA1 key setup failed")),
            (malformed(HeaderMalformed::Missing), (ahm, "The authorization header is malformed; the Authorization header is missing")),
            (malformed(HeaderMalformed::Repeated), (ahm, "The authorization header is malformed; the Authorization header is sent more than once")),
            (malformed(HeaderMalformed::NotAscii), (ahm, "The authorization header is malformed; the header is not valid ASCII")),
            (malformed(HeaderMalformed::BadSignature), (ahm, "The authorization header is malformed; the Signature must be 64 hexadecimal characters")),
            (malformed(HeaderMalformed::DateMismatch { credential_date: "20240101".into(), amz_day: "20240102".into() }), (ahm, "The authorization header is malformed; Invalid credential date \"20240101\". This date is not the same as X-Amz-Date: \"20240102\".")),
            (malformed(AuthHeaderSyntax::TooLong.into()), (ahm, "The authorization header is malformed; the header is too long")),
            (malformed(AuthHeaderSyntax::WrongAlgorithm.into()), (ahm, "The authorization header is malformed; the algorithm must be AWS4-HMAC-SHA256")),
            (malformed(AuthHeaderSyntax::NoSpace.into()), (ahm, "The authorization header is malformed; expected a space after AWS4-HMAC-SHA256")),
            (malformed(AuthHeaderSyntax::NotKeyValue { shown: "x".into() }.into()), (ahm, "The authorization header is malformed; the component 'x' is not of the form key=value")),
            (malformed(AuthHeaderSyntax::UnknownComponent { shown: "X".into() }.into()), (ahm, "The authorization header is malformed; unknown component 'X'")),
            (malformed(AuthHeaderSyntax::RepeatedComponent { name: "Signature".into() }.into()), (ahm, "The authorization header is malformed; the Signature component appears more than once")),
            (malformed(AuthHeaderSyntax::MissingComponent { name: "Credential" }.into()), (ahm, "The authorization header is malformed; the Credential component is missing")),
            (malformed(CredentialError::Form { credential: "c".into() }.into()), (ahm, "The authorization header is malformed; the Credential 'c' is not of the form <access-key>/<yyyymmdd>/<region>/s3/aws4_request")),
            (malformed(CredentialError::EmptyAccessKey.into()), (ahm, "The authorization header is malformed; the Credential has an empty access key")),
            (malformed(CredentialError::Date { date: "2024".into() }.into()), (ahm, "The authorization header is malformed; the Credential date '2024' is not of the form yyyymmdd")),
            (malformed(CredentialError::EmptyRegion.into()), (ahm, "The authorization header is malformed; the Credential has an empty region")),
            (malformed(CredentialError::Service { service: "iam".into() }.into()), (ahm, "The authorization header is malformed; Credential should be scoped to correct service: 's3' (got 'iam')")),
            (malformed(CredentialError::Terminator { terminator: "aws4".into() }.into()), (ahm, "The authorization header is malformed; Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4'")),
            (malformed(SignedHeadersError::EmptyName { shown: "host;".into() }.into()), (ahm, "The authorization header is malformed; SignedHeaders 'host;' contains an empty header name")),
            (malformed(SignedHeadersError::InvalidName { shown: "a b".into() }.into()), (ahm, "The authorization header is malformed; SignedHeaders contains an invalid header name 'a b'")),
            (malformed(SignedHeadersError::Repeated { name: "host".into() }.into()), (ahm, "The authorization header is malformed; SignedHeaders lists 'host' more than once")),
            (malformed(SignedHeadersError::NoHost.into()), (ahm, "The authorization header is malformed; SignedHeaders must include host")),
            (presign(PresignProblem::TooLong), (aqp, "the query string is too long")),
            (presign(PresignProblem::RepeatedParam { name: "X-Amz-Date".into() }), (aqp, "X-Amz-Date must not appear more than once")),
            (presign(PresignProblem::NotUtf8 { name: "X-Amz-Date".into() }), (aqp, "X-Amz-Date is not valid UTF-8")),
            (presign(PresignProblem::MissingParam { name: "X-Amz-Date".into() }), (aqp, "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters: X-Amz-Date is missing.")),
            (presign(PresignProblem::Algorithm { shown: "HMAC".into() }), (aqp, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\" (got \"HMAC\")")),
            (presign(PresignProblem::Credential(CredentialError::EmptyRegion)), (aqp, "Error parsing the X-Amz-Credential parameter; the Credential has an empty region")),
            (presign(PresignProblem::BadDate), (aqp, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")),
            (presign(PresignProblem::DateMismatch { credential_date: "20240101".into(), amz_day: "20240102".into() }), (aqp, "Invalid credential date \"20240101\". This date is not the same as X-Amz-Date: \"20240102\".")),
            (presign(PresignProblem::UnparsableExpires), (aqp, "X-Amz-Expires should be a number")),
            (presign(PresignProblem::BadExpires), (aqp, "X-Amz-Expires should be a number of seconds between 1 and 604800")),
            (presign(PresignProblem::ExpiresTooLong), (aqp, "X-Amz-Expires must be less than a week (in seconds) that is 604800")),
            (presign(PresignProblem::SignedHeaders(SignedHeadersError::NoHost)), (aqp, "Error parsing the X-Amz-SignedHeaders parameter; SignedHeaders must include host")),
            (presign(PresignProblem::BadSignature), (aqp, "X-Amz-Signature must be 64 hexadecimal characters")),
            (wire(OutOfScope::Object { bucket: "b".into(), key: "k".into() }), (ad, "Access Denied: this key may not use b/k")),
            (wire(OutOfScope::Bucket { bucket: "b".into() }), (ad, "Access Denied: this key may not use bucket b")),
            (wire(OutOfScope::BucketConfiguration { bucket: "b".into() }), (ad, "Access Denied: this key may not change the configuration of bucket b")),
            (wire(OutOfScope::Listing { bucket: "b".into(), prefix: "p/".into() }), (ad, "Access Denied: this key may not list prefix 'p/' of bucket b")),
        ];
        for (got, (code, message)) in cases {
            assert_eq!(got, (code, message.to_string()));
        }
        assert_eq!(
            S3Error::from(OutOfScope::Bucket { bucket: "b".into() }).rule,
            Some("scope")
        );
        assert_eq!(S3Code::SignatureDoesNotMatch.status(), http::StatusCode::FORBIDDEN);
    }

    #[test]
    fn body_and_digest_errors_keep_their_codes_and_messages() {
        let ir = S3Code::InvalidRequest;
        let ib = S3Code::IncompleteBody;
        let read = BodyError::Read(std::sync::Arc::new(std::io::Error::other("connection reset")));
        let cases: Vec<Case> = vec![
            (wire(read), (ib, "reading the request body failed: connection reset")),
            (wire(BodyError::Truncated), (ib, "The request body ended before the aws-chunked encoding was complete (missing chunk data, final chunk or trailer terminator)")),
            (wire(BodyError::AfterEnd), (ir, "The request body continues after the end of the aws-chunked encoding")),
            (wire(BodyError::DataNotTerminated), (ir, "aws-chunked chunk data is not followed by CRLF: the chunk size does not match the data sent")),
            (wire(BodyError::LineTooLong), (ir, "aws-chunked chunk header or trailer line is too long")),
            (wire(BodyError::HeaderNotCrlf), (ir, "aws-chunked chunk header does not end with CRLF")),
            (wire(BodyError::MalformedChunkHeader { shown: "zz".into() }), (ir, "malformed aws-chunked chunk header 'zz'")),
            (wire(BodyError::NoChunkSignature), (ir, "aws-chunked chunk header has no chunk-signature in a signed payload")),
            (wire(BodyError::ChunkTooLarge { size: 20_000_000, limit: 16_777_216 }), (ir, "aws-chunked chunk of 20000000 bytes exceeds the 16777216-byte limit")),
            (wire(BodyError::LongerThanDeclared { expected: 5 }), (ib, "The aws-chunked body carries more than the 5 bytes announced in x-amz-decoded-content-length")),
            (wire(BodyError::LengthMismatch { expected: 5, received: 4 }), (ib, "You did not provide the number of bytes specified by x-amz-decoded-content-length: expected 5, received 4")),
            (wire(BodyError::DecodedLengthRepeated), (S3Code::InvalidArgument, "x-amz-decoded-content-length is sent more than once")),
            (wire(BodyError::DecodedLengthNotNumber), (S3Code::InvalidArgument, "x-amz-decoded-content-length is not a number")),
            (wire(BodyError::TrailerHeaderNotAscii), (ir, "x-amz-trailer is not valid ASCII")),
            (wire(BodyError::ChunkSignatureMismatch), (S3Code::SignatureDoesNotMatch, "The chunk signature we calculated does not match the chunk-signature you provided. Check your key and signing method.")),
            (wire(BodyError::TrailerSignatureMismatch), (S3Code::SignatureDoesNotMatch, "The trailer signature we calculated does not match the x-amz-trailer-signature you provided.")),
            (wire(BodyError::UnexpectedTrailer), (ir, "The request body continues after the final chunk, but its x-amz-content-sha256 declares no trailer")),
            (wire(BodyError::TrailerAfterSignature), (ir, "A trailer follows x-amz-trailer-signature")),
            (wire(BodyError::TrailerNotUtf8), (ir, "A trailer line is not valid UTF-8")),
            (wire(BodyError::TrailerNotNameValue), (ir, "A trailer line is not of the form name:value")),
            (wire(BodyError::TrailerBadName), (ir, "A trailer line has an invalid name")),
            (wire(BodyError::TrailerUndeclared { name: "x-a".into() }), (ir, "The trailer x-a was not declared in the x-amz-trailer header")),
            (wire(BodyError::TrailerRepeated { name: "x-a".into() }), (ir, "The trailer x-a is sent more than once")),
            (wire(BodyError::SeveralChecksumTrailers), (ir, "Expecting a single x-amz-checksum- trailer. Multiple checksum Types are not allowed.")),
            (wire(BodyError::TooManyTrailers), (ir, "Too many trailers")),
            (wire(BodyError::MissingTrailerSignature), (ir, "The aws-chunked body ended without the x-amz-trailer-signature its STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER mode requires")),
            (wire(BodyError::AlreadyRead), (S3Code::InternalError, "internal error: the request body was already read")),
            (wire(BodyError::DocumentTooLarge), (S3Code::MalformedXML, "the XML document is larger than 2 MiB")),
            (wire(BodyError::DocumentNotUtf8), (S3Code::MalformedXML, "The XML you provided was not well-formed or did not validate against our published schema: the document is not UTF-8")),
            (wire(BodyError::ChecksumAlgorithmConflict { upload: "CRC32", request: "SHA256" }), (ir, "This upload uses CRC32 checksums but the request carries a SHA256 checksum")),
            (wire(BodyError::TooLarge { max: 10 }), (S3Code::EntityTooLarge, "Your proposed upload exceeds the maximum allowed size of 10 bytes")),
            (wire(BodyError::Digest(DigestError::Md5Mismatch)), (S3Code::BadDigest, "The Content-MD5 you specified did not match what we received.")),
            (wire(DigestError::BadContentMd5), (S3Code::InvalidDigest, "The Content-MD5 you specified is not valid base64 of a 16-byte MD5")),
            (wire(DigestError::SeveralChecksums), (ir, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")),
            (wire(DigestError::BadChecksumValue { alg: ChecksumAlgorithm::Crc32 }), (ir, "Value for x-amz-checksum-crc32 header is invalid.")),
            (wire(DigestError::UnsupportedTrailer { name: "x-a".into() }), (ir, "The value specified in the x-amz-trailer header is not supported: x-a")),
            (wire(DigestError::UnsupportedAlgorithm { name: "MD4".into() }), (ir, "Checksum algorithm provided is unsupported: MD4")),
            (wire(DigestError::SdkAlgorithmConflict { sdk: ChecksumAlgorithm::Crc32, sent: ChecksumAlgorithm::Sha256 }), (ir, "x-amz-sdk-checksum-algorithm says CRC32 but the request carries a SHA256 checksum")),
            (wire(DigestError::DecodedLengthNotNumber), (S3Code::InvalidArgument, "x-amz-decoded-content-length is not a number")),
            (wire(DigestError::LengthMismatch { expected: 5, received: 4 }), (ib, "You did not provide the number of bytes specified: expected 5, received 4")),
            (wire(DigestError::Sha256Mismatch), (S3Code::XAmzContentSHA256Mismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")),
            (wire(DigestError::Md5Mismatch), (S3Code::BadDigest, "The Content-MD5 you specified did not match what we received.")),
            (wire(DigestError::MissingTrailer { alg: ChecksumAlgorithm::Sha256 }), (ir, "The request declared trailer x-amz-checksum-sha256 but it was not sent")),
            (wire(DigestError::ChecksumMismatch { alg: ChecksumAlgorithm::Crc32c }), (S3Code::BadDigest, "The x-amz-checksum-crc32c you specified did not match the calculated checksum.")),
            (wire(DigestError::NotComputed), (S3Code::InternalError, "internal error: checksum algorithm was not computed")),
            (wire(IngestError::<S3Error>::Body(BodyError::TooManyTrailers)), (ir, "Too many trailers")),
            (wire(IngestError::Sink(S3Error::new(S3Code::QuotaExceeded, "q"))), (S3Code::QuotaExceeded, "q")),
        ];
        for (got, (code, message)) in cases {
            assert_eq!(got, (code, message.to_string()));
        }
    }
}

#[cfg(test)]
mod store_tests {
    use super::*;
    use crate::store::blob::upstream::client::status_error;
    use crate::store::capacity::{Quota, Usage};
    use http::StatusCode;

    #[test]
    fn upstream_errors_map_to_slow_down_or_internal() {
        let e = status_error(
            StatusCode::SERVICE_UNAVAILABLE,
            b"<Error><Code>SlowDown</Code><Message>a &amp; b</Message></Error>",
        );
        let s3: S3Error = StoreError::from(e).into();
        assert_eq!(s3.code, S3Code::SlowDown);
        assert_eq!(
            s3.message,
            "storage upstream failed: upstream answered 503 SlowDown: a & b"
        );
        let e = status_error(StatusCode::FORBIDDEN, b"");
        assert_eq!(S3Error::from(e).code, S3Code::InternalError);
    }

    #[test]
    fn store_errors_keep_their_wire_text() {
        let s3 = S3Error::from(StoreError::NoSuchBucket { bucket: "b".into() });
        assert_eq!(
            (s3.code, s3.message.as_str()),
            (S3Code::NoSuchBucket, "The specified bucket does not exist: b")
        );
        let s3 = S3Error::from(StoreError::RetentionShortened);
        assert_eq!(
            (s3.code, s3.message.as_str()),
            (
                S3Code::AccessDenied,
                "Access Denied: COMPLIANCE retention can only be extended, not shortened"
            )
        );
        let s3 = S3Error::from(StoreError::QuotaExceeded {
            bucket: "b".into(),
            quota: Quota {
                bytes: Some(100),
                versions: None,
            },
            used: Usage { bytes: 60, versions: 1 },
            pending: Usage::default(),
            ask: Usage { bytes: 50, versions: 1 },
        });
        assert_eq!(s3.code, S3Code::QuotaExceeded);
        assert_eq!(
            s3.message,
            "Bucket quota exceeded: bucket 'b' has a quota of 100 B (100 bytes), unlimited versions; it holds 60 B \
             (60 bytes) in 1 versions, and this request needs 50 bytes and 1 version(s) more."
        );
        let s3 = S3Error::from(StoreError::io_at(
            "blob x cannot be opened",
            std::io::Error::other("gone"),
        ));
        assert_eq!(
            (s3.code, s3.message.as_str()),
            (S3Code::InternalError, "internal error: blob x cannot be opened: gone")
        );
        let s3 = S3Error::from(StoreError::Corrupt {
            what: "part record".into(),
        });
        assert_eq!(s3.message, "internal error: part record does not decode");
        let s3 = S3Error::from(StoreError::Flush {
            no_space: true,
            message: "x".into(),
        });
        assert_eq!(s3.code, S3Code::InsufficientStorage);
        let s3 = S3Error::from(StoreError::Io(std::io::Error::from(std::io::ErrorKind::StorageFull)));
        assert_eq!(s3.code, S3Code::InsufficientStorage);
    }
}

#[cfg(test)]
mod audit_tests {
    use super::*;
    use crate::s3::error::S3Code;
    use std::error::Error as _;
    use std::sync::Arc;

    #[test]
    fn audit_failures_keep_their_wire_status_code_and_message() {
        let append = S3Error::from(AuditError::Append(Arc::new(std::io::Error::other("disk gone"))));
        assert_eq!(append.code, S3Code::InternalError);
        assert_eq!(append.status().as_u16(), 500);
        assert_eq!(append.message, "internal error: audit append failed: disk gone");

        let stopped = S3Error::from(AuditError::WriterStopped);
        assert_eq!(
            (stopped.code, stopped.message.as_str()),
            (S3Code::InternalError, "internal error: audit writer stopped")
        );

        // Opening the trail on a full volume reads like any other full-volume write: 507.
        let full = S3Error::from(AuditError::Io(std::io::Error::from(std::io::ErrorKind::StorageFull)));
        assert_eq!(full.code, S3Code::InsufficientStorage);
        assert_eq!(full.status().as_u16(), 507);
        let io = S3Error::from(AuditError::Io(std::io::Error::other("bad sector")));
        assert_eq!(io.message, "internal error: storage I/O failed: bad sector");
    }

    #[test]
    fn an_append_failure_keeps_its_cause_for_the_log() {
        let e = AuditError::Append(Arc::new(std::io::Error::other("disk gone")));
        assert_eq!(e.source().map(ToString::to_string).as_deref(), Some("disk gone"));
    }
}
