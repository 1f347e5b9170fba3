//! Request authentication: `SigV4` (Authorization header and presigned query), `SigV2` presigned query,
//! and the aws-chunked payload forms. Output is an [`Authenticated`] caller plus the [`PayloadMode`]
//! that says how the body must be verified while it streams. A request that fails here never reaches
//! the store.

pub mod body;
pub mod canonical;
pub mod chunked;
#[cfg(test)]
mod chunked_fuzz_tests;
pub mod error;
#[cfg(test)]
mod fuzz_tests;
pub mod hashing;
pub mod principal;
pub mod scope;
pub mod sigv2;
pub mod sigv4;
#[cfg(test)]
mod test_support;

pub use error::{AuthError, BodyError, IngestError};
pub use principal::{Keyring, Permission, Principal, Role, SecretKey, User, Users};
pub use scope::Scope;

use chrono::{DateTime, Utc};

/// How the request body is framed and what its signature covers, as declared by `x-amz-content-sha256`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadMode {
    /// The signature covers this hex SHA-256 of the raw body; the body must hash to it.
    Sha256Hex(String),
    /// `UNSIGNED-PAYLOAD` (or a presigned/SigV2 request): raw body, integrity from Content-MD5 / checksums.
    Unsigned,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`: aws-chunked with a signature per chunk, chained
    /// from the request signature; with `trailer`, a signed trailer follows the last chunk.
    StreamingSigned { ctx: ChunkSigningContext, trailer: bool },
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: aws-chunked without chunk signatures, checksum in a trailer.
    StreamingUnsignedTrailer,
}

impl<'a> From<&'a PayloadMode> for crate::checksum::SignedBody<'a> {
    /// What the digest checks need to know of the payload mode.
    fn from(p: &'a PayloadMode) -> Self {
        crate::checksum::SignedBody {
            sha256_hex: match p {
                PayloadMode::Sha256Hex(h) => Some(h),
                _ => None,
            },
            aws_chunked: matches!(
                p,
                PayloadMode::StreamingSigned { .. } | PayloadMode::StreamingUnsignedTrailer
            ),
        }
    }
}

/// What a chunk verifier needs to recompute chunk and trailer signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct ChunkSigningContext {
    /// Signature of the request itself: the seed of the chunk signature chain.
    pub seed_signature: String,
    /// `x-amz-date` of the request (`YYYYMMDDTHHMMSSZ`).
    pub amz_date: String,
    /// Credential scope `YYYYMMDD/region/s3/aws4_request`.
    pub scope: String,
    /// Derived signing key (kSigning).
    pub signing_key: Vec<u8>,
}

impl std::fmt::Debug for ChunkSigningContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkSigningContext")
            .field("seed_signature", &self.seed_signature)
            .field("amz_date", &self.amz_date)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// A caller whose signature checked out.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub payload: PayloadMode,
}

impl Authenticated {
    /// The request's body, bound to the payload mode this caller's signature declared; `headers`
    /// are the request headers as the gateway will judge them (presigned lock headers hoisted).
    pub fn body(&self, incoming: hyper::body::Incoming, headers: http::HeaderMap) -> body::VerifiedBody {
        body::VerifiedBody::new(incoming, self.payload.clone(), headers)
    }
}

/// Settings that authentication depends on.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Allowed difference between the request time and the server clock.
    pub max_skew: chrono::Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            max_skew: chrono::Duration::minutes(15),
        }
    }
}

/// Authenticate a request from its head alone (method, URI, headers). Chooses `SigV4` header, `SigV4`
/// presigned or `SigV2` presigned by what the request carries; anything else (including anonymous
/// requests) is refused with `AccessDenied`.
pub fn authenticate(
    parts: &http::request::Parts,
    users: &Users,
    settings: &AuthSettings,
    now: DateTime<Utc>,
) -> Result<Authenticated, AuthError> {
    let query = parts.uri.query().unwrap_or("");
    if let Some(value) = parts.headers.get(http::header::AUTHORIZATION) {
        let value = value.to_str().unwrap_or("");
        if value.starts_with("AWS4-HMAC-SHA256 ") {
            return sigv4::verify_header(parts, users, settings, now);
        }
        if value.starts_with("AWS ") {
            return Err(AuthError::SigV2Header);
        }
        return Err(AuthError::UnknownScheme);
    }
    if query_has(query, "X-Amz-Algorithm") || query_has(query, "X-Amz-Signature") {
        return sigv4::verify_presigned(parts, users, settings, now);
    }
    if query_has(query, "AWSAccessKeyId") || query_has(query, "Signature") {
        return sigv2::verify_presigned(parts, users, now);
    }
    Err(AuthError::Anonymous)
}

/// Whether the raw query has a parameter whose raw (undecoded) name is `name`.
fn query_has(query: &str, name: &str) -> bool {
    crate::encoding::split_query(query).iter().any(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::SignedBody;

    #[test]
    fn payload_modes_tell_the_digest_checks_what_is_signed() {
        let chunked = |p: &PayloadMode| {
            SignedBody {
                sha256_hex: None,
                aws_chunked: true,
            } == SignedBody::from(p)
        };
        assert_eq!(
            SignedBody::from(&PayloadMode::Sha256Hex("AB".into())),
            SignedBody {
                sha256_hex: Some("AB"),
                aws_chunked: false
            }
        );
        assert_eq!(SignedBody::from(&PayloadMode::Unsigned), SignedBody::default());
        assert!(chunked(&PayloadMode::StreamingUnsignedTrailer));
        assert!(chunked(&PayloadMode::StreamingSigned {
            ctx: ChunkSigningContext {
                seed_signature: String::new(),
                amz_date: String::new(),
                scope: String::new(),
                signing_key: Vec::new(),
            },
            trailer: false,
        }));
    }
}
