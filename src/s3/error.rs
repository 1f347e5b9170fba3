//! S3 error codes and the one place where every failure becomes an HTTP status + XML body.
//!
//! Every other module returns (or converts into) [`S3Error`], so the mapping from "what went wrong" to
//! "what the client sees" lives here and nowhere else.

use http::StatusCode;

/// The S3 error codes wormgate emits. Names match AWS exactly because clients branch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Code {
    AccessDenied,
    /// ACLs are disabled (Object Ownership = BucketOwnerEnforced): a non-private ACL was asked for.
    AccessControlListNotSupported,
    /// AWS's generic 400 (e.g. more than 10 object tags).
    BadRequest,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    BadDigest,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    EntityTooLarge,
    EntityTooSmall,
    IncompleteBody,
    InternalError,
    InsufficientStorage,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidBucketName,
    InvalidBucketState,
    InvalidDigest,
    InvalidPart,
    InvalidPartNumber,
    InvalidPartOrder,
    InvalidRange,
    InvalidRequest,
    InvalidRetentionPeriod,
    InvalidStorageClass,
    InvalidTag,
    KeyTooLongError,
    MalformedXML,
    MetadataTooLarge,
    MethodNotAllowed,
    MissingContentLength,
    MissingSecurityHeader,
    NoSuchBucket,
    NoSuchBucketPolicy,
    NoSuchCORSConfiguration,
    NoSuchKey,
    NoSuchLifecycleConfiguration,
    NoSuchObjectLockConfiguration,
    NoSuchPublicAccessBlockConfiguration,
    NoSuchReplicationConfiguration,
    NoSuchTagSet,
    NoSuchUpload,
    NoSuchVersion,
    NoSuchWebsiteConfiguration,
    NotImplemented,
    NotModified,
    ObjectLockConfigurationNotFoundError,
    OwnershipControlsNotFoundError,
    PreconditionFailed,
    /// A bucket quota would be exceeded (Ceph RGW and others answer 403 `QuotaExceeded`).
    QuotaExceeded,
    /// A request body stopped arriving (`--body-read-timeout`).
    RequestTimeout,
    RequestTimeTooSkewed,
    ServerSideEncryptionConfigurationNotFoundError,
    ServiceUnavailable,
    SignatureDoesNotMatch,
    SlowDown,
    XAmzContentSHA256Mismatch,
}

impl S3Code {
    /// HTTP status AWS uses for this code.
    pub fn status(self) -> StatusCode {
        // A glob, not a list: a variant missing from a list would match here as a catch-all binding.
        #[allow(clippy::enum_glob_use)]
        use S3Code::*;
        match self {
            AccessDenied | InvalidAccessKeyId | SignatureDoesNotMatch | RequestTimeTooSkewed | QuotaExceeded => {
                StatusCode::FORBIDDEN
            }
            // MinIO answers a full drive with 507 `XMinioStorageFull`; AWS has no such code.
            InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            NoSuchBucket
            | NoSuchKey
            | NoSuchUpload
            | NoSuchVersion
            | NoSuchBucketPolicy
            | NoSuchCORSConfiguration
            | NoSuchLifecycleConfiguration
            | NoSuchObjectLockConfiguration
            | NoSuchPublicAccessBlockConfiguration
            | NoSuchReplicationConfiguration
            | NoSuchTagSet
            | NoSuchWebsiteConfiguration
            | ObjectLockConfigurationNotFoundError
            | OwnershipControlsNotFoundError
            | ServerSideEncryptionConfigurationNotFoundError => StatusCode::NOT_FOUND,
            BucketAlreadyExists | BucketAlreadyOwnedByYou | BucketNotEmpty | InvalidBucketState => StatusCode::CONFLICT,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            MissingContentLength => StatusCode::LENGTH_REQUIRED,
            PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            InvalidRange | InvalidPartNumber => StatusCode::RANGE_NOT_SATISFIABLE,
            NotModified => StatusCode::NOT_MODIFIED,
            InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            NotImplemented => StatusCode::NOT_IMPLEMENTED,
            ServiceUnavailable | SlowDown => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The literal `<Code>` string.
    pub fn as_str(self) -> &'static str {
        // A glob, not a list: a variant missing from a list would match here as a catch-all binding.
        #[allow(clippy::enum_glob_use)]
        use S3Code::*;
        match self {
            AccessDenied => "AccessDenied",
            AccessControlListNotSupported => "AccessControlListNotSupported",
            BadRequest => "BadRequest",
            AuthorizationHeaderMalformed => "AuthorizationHeaderMalformed",
            AuthorizationQueryParametersError => "AuthorizationQueryParametersError",
            BadDigest => "BadDigest",
            BucketAlreadyExists => "BucketAlreadyExists",
            BucketAlreadyOwnedByYou => "BucketAlreadyOwnedByYou",
            BucketNotEmpty => "BucketNotEmpty",
            EntityTooLarge => "EntityTooLarge",
            EntityTooSmall => "EntityTooSmall",
            IncompleteBody => "IncompleteBody",
            InsufficientStorage => "InsufficientStorage",
            InternalError => "InternalError",
            InvalidAccessKeyId => "InvalidAccessKeyId",
            InvalidArgument => "InvalidArgument",
            InvalidBucketName => "InvalidBucketName",
            InvalidBucketState => "InvalidBucketState",
            InvalidDigest => "InvalidDigest",
            InvalidPart => "InvalidPart",
            InvalidPartNumber => "InvalidPartNumber",
            InvalidPartOrder => "InvalidPartOrder",
            InvalidRange => "InvalidRange",
            InvalidRequest => "InvalidRequest",
            InvalidRetentionPeriod => "InvalidRetentionPeriod",
            InvalidStorageClass => "InvalidStorageClass",
            InvalidTag => "InvalidTag",
            KeyTooLongError => "KeyTooLongError",
            MalformedXML => "MalformedXML",
            MetadataTooLarge => "MetadataTooLarge",
            MethodNotAllowed => "MethodNotAllowed",
            MissingContentLength => "MissingContentLength",
            MissingSecurityHeader => "MissingSecurityHeader",
            NoSuchBucket => "NoSuchBucket",
            NoSuchBucketPolicy => "NoSuchBucketPolicy",
            NoSuchCORSConfiguration => "NoSuchCORSConfiguration",
            NoSuchKey => "NoSuchKey",
            NoSuchLifecycleConfiguration => "NoSuchLifecycleConfiguration",
            NoSuchObjectLockConfiguration => "NoSuchObjectLockConfiguration",
            NoSuchPublicAccessBlockConfiguration => "NoSuchPublicAccessBlockConfiguration",
            NoSuchReplicationConfiguration => "ReplicationConfigurationNotFoundError",
            NoSuchTagSet => "NoSuchTagSet",
            NoSuchUpload => "NoSuchUpload",
            NoSuchVersion => "NoSuchVersion",
            NoSuchWebsiteConfiguration => "NoSuchWebsiteConfiguration",
            NotImplemented => "NotImplemented",
            NotModified => "NotModified",
            ObjectLockConfigurationNotFoundError => "ObjectLockConfigurationNotFoundError",
            OwnershipControlsNotFoundError => "OwnershipControlsNotFoundError",
            PreconditionFailed => "PreconditionFailed",
            QuotaExceeded => "QuotaExceeded",
            RequestTimeout => "RequestTimeout",
            RequestTimeTooSkewed => "RequestTimeTooSkewed",
            ServerSideEncryptionConfigurationNotFoundError => "ServerSideEncryptionConfigurationNotFoundError",
            ServiceUnavailable => "ServiceUnavailable",
            SignatureDoesNotMatch => "SignatureDoesNotMatch",
            SlowDown => "SlowDown",
            XAmzContentSHA256Mismatch => "XAmzContentSHA256Mismatch",
        }
    }
}

impl std::fmt::Display for S3Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure the client will see. The message must say what was wrong in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct S3Error {
    pub code: S3Code,
    pub message: String,
    /// Extra response headers (e.g. `x-amz-delete-marker` on a 404/405 for a delete marker).
    pub headers: Vec<(&'static str, String)>,
    /// The policy rule that refused the request (`snake_case`, as the audit trail and metrics spell
    /// it); `None` for errors that are not a policy decision.
    pub rule: Option<&'static str>,
    /// The version a refusal is about, for the audit record.
    pub version_id: Option<String>,
}

impl S3Error {
    pub fn new(code: S3Code, message: impl Into<String>) -> Self {
        S3Error {
            code,
            message: message.into(),
            headers: Vec::new(),
            rule: None,
            version_id: None,
        }
    }

    /// Name the version this error is about (recorded in the audit trail).
    #[must_use]
    pub fn about_version(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
    }

    /// Mark this error as a refusal by `rule` (recorded as a `deny` in the audit trail).
    #[must_use]
    pub fn with_rule(mut self, rule: &'static str) -> Self {
        self.rule = Some(rule);
        self
    }

    /// Attach a response header to the error response.
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        S3Error::new(S3Code::InternalError, format!("internal error: {message}"))
    }

    pub fn malformed_xml(detail: impl std::fmt::Display) -> Self {
        S3Error::new(
            S3Code::MalformedXML,
            format!(
                "The XML you provided was not well-formed or did not validate against our published schema: {detail}"
            ),
        )
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        S3Error::new(S3Code::InvalidArgument, message)
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        S3Error::new(S3Code::InvalidRequest, message)
    }

    pub fn access_denied(message: impl Into<String>) -> Self {
        S3Error::new(S3Code::AccessDenied, message)
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The XML error document (no xmlns, as AWS sends it).
    pub fn to_xml(&self, resource: &str, request_id: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><Resource>{}</Resource><RequestId>{}</RequestId></Error>",
            self.code.as_str(),
            xml_escape(&self.message),
            xml_escape(resource),
            xml_escape(request_id)
        )
    }
}

/// Whether an I/O error means the volume is full (ENOSPC, or EDQUOT: a filesystem quota).
pub fn is_no_space(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// A write that failed because the volume is full: 507, like the free-space reserve's refusal.
fn no_space(what: &str, e: impl std::fmt::Display) -> S3Error {
    S3Error::new(
        S3Code::InsufficientStorage,
        format!(
            "Storage backend has no space left: {what} failed: {e}. Nothing was stored; retry when space is freed."
        ),
    )
}

impl From<std::io::Error> for S3Error {
    fn from(e: std::io::Error) -> Self {
        if is_no_space(&e) {
            return no_space("writing to the data directory", e);
        }
        S3Error::internal(format!("storage I/O failed: {e}"))
    }
}

impl From<sled::Error> for S3Error {
    fn from(e: sled::Error) -> Self {
        if let sled::Error::Io(io) = &e {
            if is_no_space(io) {
                return no_space("the catalog write", &e);
            }
        }
        S3Error::internal(format!("catalog failed: {e}"))
    }
}

/// Escape text for inclusion in an XML element.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Shorthand for results whose error the client sees.
pub type S3Result<T> = Result<T, S3Error>;
