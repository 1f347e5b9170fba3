//! The one place where the typed errors of the layers below become S3 wire errors: which code (and
//! so which HTTP status) each failure travels under. The message is the error's `Display` text (each
//! layer words it for the client), so a layer never needs the wire error type. Each layer's impls
//! stay in one block headed by its name.

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
