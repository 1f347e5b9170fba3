//! Why authentication refused a request, in domain terms: [`AuthError`] for the request head
//! (signatures, credentials, dates, presigned parameters) and [`BodyError`] for the verified body
//! (aws-chunked framing, chunk and trailer signatures, digests, size limits), which surfaces while
//! the body streams. The `Display` text of each variant is the message the client reads; which S3
//! code and status it travels under is decided in one place, `gateway::errors`, so this layer does
//! not depend on the wire error type.

use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The message of every signature mismatch of the request itself (as AWS words it).
const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. \
Check your key and signing method.";

/// Why the head of a request did not authenticate. Nothing was read from the body and nothing
/// changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No signature of any kind: the gateway has no anonymous access.
    #[error("Anonymous requests are not allowed: sign the request with an access key")]
    Anonymous,
    /// An `Authorization: AWS …` (`SigV2`) header; only `SigV2` presigned URLs are accepted.
    #[error("SigV2 Authorization headers are not supported; sign requests with AWS Signature Version 4")]
    SigV2Header,
    /// An `Authorization` header of an unknown scheme.
    #[error("the Authorization header is not an AWS4-HMAC-SHA256 signature")]
    UnknownScheme,
    /// Both an `Authorization` header and presigned query parameters.
    #[error(
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string \
         parameter or the Authorization header should be specified"
    )]
    SeveralMechanisms,
    /// The access key is not a known key (or not UTF-8).
    #[error("The AWS Access Key Id you provided does not exist in our records.")]
    UnknownAccessKey,
    /// The recomputed request signature differs from the one sent.
    #[error("{SIGNATURE_MISMATCH}")]
    SignatureMismatch,
    /// The `SigV4` `Authorization` header cannot be read.
    #[error("The authorization header is malformed; {0}")]
    MalformedHeader(HeaderMalformed),
    /// A `SigV4` presigned query string cannot be read.
    #[error("{0}")]
    MalformedPresign(PresignProblem),
    /// The presigned URL's validity has passed (or was zero seconds).
    #[error("Request has expired")]
    Expired,
    /// A presigned URL dated in the future, beyond the allowed skew.
    #[error(
        "Request is not valid yet: X-Amz-Date {} is in the future (server time {})",
        .request.to_rfc3339(),
        .server.to_rfc3339()
    )]
    NotYetValid {
        /// When the request says it was signed.
        request: DateTime<Utc>,
        /// The server clock.
        server: DateTime<Utc>,
    },
    /// A header-signed request whose time is too far from the server clock.
    #[error(
        "The difference between the request time and the current time is too large (request time {}, server \
         time {}, allowed {} s).",
        .request.to_rfc3339(),
        .server.to_rfc3339(),
        .allowed.num_seconds()
    )]
    ClockSkew {
        /// When the request says it was signed.
        request: DateTime<Utc>,
        /// The server clock.
        server: DateTime<Utc>,
        /// The allowed difference.
        allowed: chrono::Duration,
    },
    /// `x-amz-date` is not a `SigV4` basic-format time (or is repeated / not ASCII).
    #[error(
        "AWS authentication requires a valid Date or x-amz-date header: x-amz-date must be in the ISO 8601 basic \
         format yyyyMMdd'T'HHmmss'Z'"
    )]
    BadAmzDate,
    /// `Date` (used when `x-amz-date` is absent) is not an RFC 1123 date.
    #[error("AWS authentication requires a valid Date or x-amz-date header: the Date header is not an RFC 1123 date")]
    BadDate,
    /// Neither `x-amz-date` nor `Date`.
    #[error("AWS authentication requires a valid Date or x-amz-date header")]
    MissingDate,
    /// An `x-amz-*` header the signature does not cover (anyone on the path could have added it).
    #[error("There were headers present in the request which were not signed: {name}")]
    UnsignedAmzHeader {
        /// The header's (lower-case) name.
        name: String,
    },
    /// `x-amz-content-sha256` names a `SigV4a` (ECDSA) streaming payload.
    #[error(
        "x-amz-content-sha256 '{value}' is a SigV4a (ECDSA) payload, which this gateway does not support; sign \
         with AWS4-HMAC-SHA256"
    )]
    SigV4aPayload {
        /// The header value.
        value: String,
    },
    /// `x-amz-content-sha256` is none of the accepted forms.
    #[error(
        "x-amz-content-sha256 must be a hex SHA-256, UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, \
         STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or STREAMING-UNSIGNED-PAYLOAD-TRAILER; got '{shown}'"
    )]
    BadContentSha256 {
        /// The value, shortened.
        shown: String,
    },
    /// A header that must appear at most once appears more often.
    #[error("The {name} header must not be sent more than once")]
    RepeatedHeader {
        /// The header's name.
        name: String,
    },
    /// A header the signature check reads is not visible ASCII.
    #[error("The {name} header is not valid ASCII")]
    HeaderNotAscii {
        /// The header's name.
        name: String,
    },
    /// A header-signed request without `x-amz-content-sha256`.
    #[error("Missing required header for this request: x-amz-content-sha256")]
    MissingContentSha256,
    /// Presigned: the `x-amz-content-sha256` header and the `X-Amz-Content-Sha256` parameter differ.
    #[error("The x-amz-content-sha256 header and the X-Amz-Content-Sha256 query parameter differ")]
    ContentSha256Conflict,
    /// Presigned: `x-amz-content-sha256` is listed as signed but not sent.
    #[error("x-amz-content-sha256 is listed in X-Amz-SignedHeaders but the header is missing")]
    SignedContentSha256Missing,
    /// Presigned: a streaming payload mode whose header the signature does not cover.
    #[error(
        "A presigned request may use x-amz-content-sha256: {mode} only if that header is signed (listed in \
         X-Amz-SignedHeaders)"
    )]
    UnsignedStreamingMode {
        /// The payload mode asked for.
        mode: String,
    },
    /// `SigV2` presigned: the query string is longer than any real presigned URL.
    #[error("the query string is too long")]
    V2QueryTooLong,
    /// `SigV2` presigned: a parameter appears more than once.
    #[error("The query parameter {name} must not appear more than once")]
    V2RepeatedParam {
        /// The parameter's name.
        name: String,
    },
    /// `SigV2` presigned: `Signature`, `Expires` or `AWSAccessKeyId` is missing.
    #[error("Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")]
    V2MissingParams,
    /// `SigV2` presigned: `Expires` is not a number of seconds.
    #[error("Invalid date (should be seconds since epoch): Expires={shown}")]
    V2BadExpires {
        /// The value, shortened.
        shown: String,
    },
    /// `SigV2` presigned: `Expires` is all digits but does not parse.
    #[error("Invalid date (should be seconds since epoch): Expires")]
    V2UnparsableExpires,
    /// The HMAC could not be keyed (cannot happen with HMAC-SHA1; kept as an internal error).
    #[error("HMAC-SHA1 key setup failed")]
    HmacKey,
}

/// Why the `Authorization: AWS4-HMAC-SHA256 …` header could not be read (the text follows "The
/// authorization header is malformed; ").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderMalformed {
    /// Absent (cannot happen once the scheme was recognised; kept for completeness).
    #[error("the Authorization header is missing")]
    Missing,
    /// Sent more than once.
    #[error("the Authorization header is sent more than once")]
    Repeated,
    /// Not visible ASCII.
    #[error("the header is not valid ASCII")]
    NotAscii,
    /// The components are not well formed.
    #[error("{0}")]
    Syntax(#[from] AuthHeaderSyntax),
    /// The `Credential` component is not well formed.
    #[error("{0}")]
    Credential(#[from] CredentialError),
    /// The `SignedHeaders` component is not well formed.
    #[error("{0}")]
    SignedHeaders(#[from] SignedHeadersError),
    /// The `Signature` component is not 64 hex digits.
    #[error("the Signature must be 64 hexadecimal characters")]
    BadSignature,
    /// The credential's date is not the day of `x-amz-date`.
    #[error("Invalid credential date \"{credential_date}\". This date is not the same as X-Amz-Date: \"{amz_day}\".")]
    DateMismatch {
        /// `yyyymmdd` of the credential scope.
        credential_date: String,
        /// The first 8 characters of the request time.
        amz_day: String,
    },
}

/// Why the component list of a `SigV4` `Authorization` header does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthHeaderSyntax {
    /// Longer than any real header.
    #[error("the header is too long")]
    TooLong,
    /// Not `AWS4-HMAC-SHA256`.
    #[error("the algorithm must be AWS4-HMAC-SHA256")]
    WrongAlgorithm,
    /// No separator after the algorithm.
    #[error("expected a space after AWS4-HMAC-SHA256")]
    NoSpace,
    /// A component without `=`.
    #[error("the component '{shown}' is not of the form key=value")]
    NotKeyValue {
        /// The component, shortened.
        shown: String,
    },
    /// A component other than `Credential`, `SignedHeaders`, `Signature`.
    #[error("unknown component '{shown}'")]
    UnknownComponent {
        /// The component's name, shortened.
        shown: String,
    },
    /// A component given twice.
    #[error("the {name} component appears more than once")]
    RepeatedComponent {
        /// The component's name.
        name: String,
    },
    /// A component not given.
    #[error("the {name} component is missing")]
    MissingComponent {
        /// The component's name.
        name: &'static str,
    },
}

/// Why a credential (`<access-key>/<yyyymmdd>/<region>/s3/aws4_request`) does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Fewer than five `/`-separated parts.
    #[error("the Credential '{credential}' is not of the form <access-key>/<yyyymmdd>/<region>/s3/aws4_request")]
    Form {
        /// The credential as sent.
        credential: String,
    },
    /// The access key part is empty.
    #[error("the Credential has an empty access key")]
    EmptyAccessKey,
    /// The date part is not eight digits.
    #[error("the Credential date '{date}' is not of the form yyyymmdd")]
    Date {
        /// The date part as sent.
        date: String,
    },
    /// The region part is empty.
    #[error("the Credential has an empty region")]
    EmptyRegion,
    /// The service is not `s3`.
    #[error("Credential should be scoped to correct service: 's3' (got '{service}')")]
    Service {
        /// The service part as sent.
        service: String,
    },
    /// The terminator is not `aws4_request`.
    #[error("Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'")]
    Terminator {
        /// The terminator as sent.
        terminator: String,
    },
}

/// Why a `SignedHeaders` list (`a;b;c`) does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignedHeadersError {
    /// An empty name (`a;;b`).
    #[error("SignedHeaders '{shown}' contains an empty header name")]
    EmptyName {
        /// The list, shortened.
        shown: String,
    },
    /// Not a valid header name.
    #[error("SignedHeaders contains an invalid header name '{shown}'")]
    InvalidName {
        /// The name, shortened.
        shown: String,
    },
    /// A name listed twice.
    #[error("SignedHeaders lists '{name}' more than once")]
    Repeated {
        /// The (lower-case) name.
        name: String,
    },
    /// `host` is not signed.
    #[error("SignedHeaders must include host")]
    NoHost,
}

/// Why the parameters of a `SigV4` presigned URL could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresignProblem {
    /// Longer than any real presigned URL.
    #[error("the query string is too long")]
    TooLong,
    /// A parameter given twice.
    #[error("{name} must not appear more than once")]
    RepeatedParam {
        /// The parameter's name.
        name: String,
    },
    /// A parameter whose decoded value is not UTF-8.
    #[error("{name} is not valid UTF-8")]
    NotUtf8 {
        /// The parameter's name.
        name: String,
    },
    /// A required parameter is missing.
    #[error(
        "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, \
         X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters: {name} is missing."
    )]
    MissingParam {
        /// The parameter's name.
        name: String,
    },
    /// `X-Amz-Algorithm` is not `AWS4-HMAC-SHA256`.
    #[error("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\" (got \"{shown}\")")]
    Algorithm {
        /// The value, shortened.
        shown: String,
    },
    /// `X-Amz-Credential` does not parse.
    #[error("Error parsing the X-Amz-Credential parameter; {0}")]
    Credential(CredentialError),
    /// `X-Amz-Date` is not a basic-format time.
    #[error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")]
    BadDate,
    /// The credential's date is not the day of `X-Amz-Date`.
    #[error("Invalid credential date \"{credential_date}\". This date is not the same as X-Amz-Date: \"{amz_day}\".")]
    DateMismatch {
        /// `yyyymmdd` of the credential scope.
        credential_date: String,
        /// The first 8 characters of `X-Amz-Date`.
        amz_day: String,
    },
    /// `X-Amz-Expires` is all digits but does not parse.
    #[error("X-Amz-Expires should be a number")]
    UnparsableExpires,
    /// `X-Amz-Expires` is not a number of seconds.
    #[error("X-Amz-Expires should be a number of seconds between 1 and 604800")]
    BadExpires,
    /// `X-Amz-Expires` is more than a week.
    #[error("X-Amz-Expires must be less than a week (in seconds) that is 604800")]
    ExpiresTooLong,
    /// `X-Amz-SignedHeaders` does not parse.
    #[error("Error parsing the X-Amz-SignedHeaders parameter; {0}")]
    SignedHeaders(SignedHeadersError),
    /// `X-Amz-Signature` is not 64 hex digits.
    #[error("X-Amz-Signature must be 64 hexadecimal characters")]
    BadSignature,
}

impl From<PresignProblem> for AuthError {
    fn from(p: PresignProblem) -> Self {
        AuthError::MalformedPresign(p)
    }
}

impl From<HeaderMalformed> for AuthError {
    fn from(p: HeaderMalformed) -> Self {
        AuthError::MalformedHeader(p)
    }
}

/// Why a request body failed verification or decoding while it streamed. The body is thrown away;
/// nothing it carried is committed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BodyError {
    /// Reading the body from the connection failed (client gone, connection reset).
    #[error("reading the request body failed: {0}")]
    Read(#[source] Arc<dyn std::error::Error + Send + Sync>),
    /// The body stopped arriving for longer than `--body-read-timeout`; the partial upload is discarded
    /// and the connection closed.
    #[error("Your socket connection to the server was not read from or written to within the timeout period.")]
    Stalled,
    /// The body ended inside the aws-chunked framing.
    #[error(
        "The request body ended before the aws-chunked encoding was complete (missing chunk data, final chunk or \
         trailer terminator)"
    )]
    Truncated,
    /// Bytes after the end of the aws-chunked encoding.
    #[error("The request body continues after the end of the aws-chunked encoding")]
    AfterEnd,
    /// Chunk data is not followed by CRLF.
    #[error("aws-chunked chunk data is not followed by CRLF: the chunk size does not match the data sent")]
    DataNotTerminated,
    /// A chunk header or trailer line longer than the limit.
    #[error("aws-chunked chunk header or trailer line is too long")]
    LineTooLong,
    /// A chunk header ending in a bare LF.
    #[error("aws-chunked chunk header does not end with CRLF")]
    HeaderNotCrlf,
    /// A chunk header that is not `hex-size[;chunk-signature=…]`.
    #[error("malformed aws-chunked chunk header '{shown}'")]
    MalformedChunkHeader {
        /// The line (lossy UTF-8, at most 100 bytes).
        shown: String,
    },
    /// A signed payload's chunk header without a signature.
    #[error("aws-chunked chunk header has no chunk-signature in a signed payload")]
    NoChunkSignature,
    /// A chunk larger than [`super::chunked::MAX_CHUNK_SIZE`].
    #[error("aws-chunked chunk of {size} bytes exceeds the {limit}-byte limit")]
    ChunkTooLarge {
        /// The declared size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// More decoded bytes than `x-amz-decoded-content-length` announced.
    #[error("The aws-chunked body carries more than the {expected} bytes announced in x-amz-decoded-content-length")]
    LongerThanDeclared {
        /// The announced length.
        expected: u64,
    },
    /// The decoded length differs from `x-amz-decoded-content-length`.
    #[error(
        "You did not provide the number of bytes specified by x-amz-decoded-content-length: expected {expected}, \
         received {received}"
    )]
    LengthMismatch {
        /// The announced length.
        expected: u64,
        /// The decoded length.
        received: u64,
    },
    /// `x-amz-decoded-content-length` is sent more than once.
    #[error("x-amz-decoded-content-length is sent more than once")]
    DecodedLengthRepeated,
    /// `x-amz-decoded-content-length` is not a number.
    #[error("x-amz-decoded-content-length is not a number")]
    DecodedLengthNotNumber,
    /// `x-amz-trailer` is not ASCII.
    #[error("x-amz-trailer is not valid ASCII")]
    TrailerHeaderNotAscii,
    /// A chunk signature does not chain from the previous one.
    #[error(
        "The chunk signature we calculated does not match the chunk-signature you provided. Check your key and \
         signing method."
    )]
    ChunkSignatureMismatch,
    /// The trailer signature does not match.
    #[error("The trailer signature we calculated does not match the x-amz-trailer-signature you provided.")]
    TrailerSignatureMismatch,
    /// Trailer lines in a payload mode that declares none.
    #[error("The request body continues after the final chunk, but its x-amz-content-sha256 declares no trailer")]
    UnexpectedTrailer,
    /// A trailer after the trailer signature.
    #[error("A trailer follows x-amz-trailer-signature")]
    TrailerAfterSignature,
    /// A trailer line that is not UTF-8.
    #[error("A trailer line is not valid UTF-8")]
    TrailerNotUtf8,
    /// A trailer line without `:`.
    #[error("A trailer line is not of the form name:value")]
    TrailerNotNameValue,
    /// A trailer whose name is not a header name.
    #[error("A trailer line has an invalid name")]
    TrailerBadName,
    /// A trailer not announced in `x-amz-trailer`.
    #[error("The trailer {name} was not declared in the x-amz-trailer header")]
    TrailerUndeclared {
        /// The trailer's name.
        name: String,
    },
    /// A trailer sent twice.
    #[error("The trailer {name} is sent more than once")]
    TrailerRepeated {
        /// The trailer's name.
        name: String,
    },
    /// More than one `x-amz-checksum-*` trailer.
    #[error("Expecting a single x-amz-checksum- trailer. Multiple checksum Types are not allowed.")]
    SeveralChecksumTrailers,
    /// More trailers than the limit.
    #[error("Too many trailers")]
    TooManyTrailers,
    /// A signed-trailer payload ended without its trailer signature.
    #[error(
        "The aws-chunked body ended without the x-amz-trailer-signature its \
         STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER mode requires"
    )]
    MissingTrailerSignature,
    /// The body was already read (a handler bug).
    #[error("the request body was already read")]
    AlreadyRead,
    /// An XML request document larger than [`super::body::MAX_XML_BODY`].
    #[error("the XML document is larger than 2 MiB")]
    DocumentTooLarge,
    /// An XML request document that is not UTF-8.
    #[error("the document is not UTF-8")]
    DocumentNotUtf8,
    /// A part's checksum algorithm differs from the upload's.
    #[error("This upload uses {upload} checksums but the request carries a {request} checksum")]
    ChecksumAlgorithmConflict {
        /// The upload's algorithm.
        upload: &'static str,
        /// The request's algorithm.
        request: &'static str,
    },
    /// More bytes than the operation accepts.
    #[error("Your proposed upload exceeds the maximum allowed size of {max} bytes")]
    TooLarge {
        /// The limit in bytes.
        max: u64,
    },
    /// The digests the client claimed (headers, trailers) are malformed or do not match.
    #[error(transparent)]
    Digest(#[from] crate::checksum::DigestError),
}

/// A failure while streaming a verified body into a sink: the body's, or the sink's own (a full
/// volume, a quota, an upstream write).
#[derive(Debug, thiserror::Error)]
pub enum IngestError<E> {
    /// The body failed verification or decoding.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// The sink refused the bytes.
    #[error(transparent)]
    Sink(E),
}
