//! The upstream S3 client: requests signed with aws-sigv4 (`SigV4`, S3 settings), sent over one pooled
//! hyper-util client (rustls for https), retried with backoff where that is safe, and counted.
//!
//! Retry rule: only requests whose body can be sent again (no body, or a small in-memory one) are
//! retried, on connection errors and on 500/502/503/504 (`SlowDown`, `ServiceUnavailable`,
//! `InternalError`). A streamed PUT is never retried: its bytes are gone once sent.

use super::body::UpstreamBody;
use crate::config::UpstreamConfig;
use crate::encoding::encode_component;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Requests sent upstream since the process started (every attempt counts).
static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Upstream attempts that failed: no connection, or a 5xx answer.
static FAILURES: AtomicU64 = AtomicU64::new(0);

/// Number of requests this process has sent to the upstream (each retry attempt counts).
pub fn requests_sent() -> u64 {
    REQUESTS.load(Ordering::Relaxed)
}

/// Number of upstream attempts that failed (no connection, or a 5xx answer; each retry counts):
/// retries hide a failing upstream from clients for a while, this shows it to the operator.
pub fn failures() -> u64 {
    FAILURES.load(Ordering::Relaxed)
}

/// How many attempts an idempotent request gets.
const ATTEMPTS: u32 = 5;
/// Deadline for a small request (headers and body of the response).
const SMALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How far in the future a retain-until date must be for the upstream to be asked to lock until it.
/// An upstream with Object Lock refuses a date in the past (`400 InvalidRequest`); a date closer
/// than this may pass while the request is on its way (a first write that makes `SeaweedFS` grow a
/// volume takes seconds). Such a retention is over before the upstream could hold it, and the
/// gateway's own check is the one that decides; nothing protective is lost by not sending it.
pub const LOCK_LEAD: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

/// Whether a retention until `until` is still worth mirroring upstream (see [`LOCK_LEAD`]).
pub fn worth_locking(until: chrono::DateTime<chrono::Utc>) -> bool {
    until > chrono::Utc::now() + LOCK_LEAD
}

/// COMPLIANCE Object Lock headers until `until` for an upstream PUT. The caller decides first
/// (with [`worth_locking`]) whether the date is worth sending, once, so that what it sends and
/// what it remembers sending agree.
pub fn insert_lock(h: &mut HeaderMap, until: chrono::DateTime<chrono::Utc>) {
    h.insert("x-amz-object-lock-mode", HeaderValue::from_static("COMPLIANCE"));
    h.insert(
        "x-amz-object-lock-retain-until-date",
        hv(&crate::timefmt::format_iso(until)),
    );
}

/// A header value from text the gateway made itself (dates, lengths, digests, ids).
pub fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Base64 MD5 of `b`, for `Content-MD5` (S3 requires it on lock and configuration requests).
pub fn md5_b64(b: &[u8]) -> String {
    use base64::Engine;
    use md5::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(b))
}

/// What went wrong talking to the upstream.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// No connection, reset, timeout: the upstream could not be reached.
    #[error("upstream unreachable: {0}")]
    Unreachable(String),
    /// The upstream answered with an error.
    #[error("upstream answered {} {code}{}", status.as_u16(), if message.is_empty() { String::new() } else { format!(": {message}") })]
    Status {
        status: StatusCode,
        code: String,
        message: String,
    },
    /// Anything else (a bug, a malformed answer).
    #[error("upstream error: {0}")]
    Other(String),
}

/// Why an upstream client cannot be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamSetupError {
    /// The endpoint is not a URI.
    #[error("upstream endpoint")]
    Endpoint(#[source] http::uri::InvalidUri),
    /// The endpoint names no host.
    #[error("upstream endpoint has no host")]
    NoHost,
    /// rustls refused its own default configuration.
    #[error("TLS setup")]
    Tls(#[source] rustls::Error),
    /// An https upstream needs the system's CA certificates, and they cannot be loaded.
    #[error("cannot load the system's CA certificates for the https upstream")]
    CaRoots(#[source] std::io::Error),
}

impl UpstreamError {
    /// Whether trying again may help.
    pub fn retryable(&self) -> bool {
        match self {
            UpstreamError::Unreachable(_) => true,
            UpstreamError::Status { status, .. } => {
                matches!(status.as_u16(), 500 | 502 | 503 | 504)
            }
            UpstreamError::Other(_) => false,
        }
    }

    pub fn is_status(&self, s: StatusCode) -> bool {
        matches!(self, UpstreamError::Status { status, .. } if *status == s)
    }

    pub fn code(&self) -> &str {
        match self {
            UpstreamError::Status { code, .. } => code,
            _ => "",
        }
    }
}

/// One upstream: endpoint, bucket, credentials and the connection pool.
pub struct UpstreamClient {
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, UpstreamBody>,
    cfg: UpstreamConfig,
    scheme: String,
    /// `host[:port]` of the endpoint.
    authority: String,
    /// Whether this client's requests count in the upstream metrics (the audit archive's do not).
    counted: bool,
}

/// The payload hash to sign.
#[derive(Clone, Copy)]
pub enum Payload<'a> {
    /// Body sent as is, hash not computed (`UNSIGNED-PAYLOAD`).
    Unsigned,
    /// aws-chunked framing with an unsigned checksum trailer.
    StreamingTrailer,
    /// The bytes are known: their SHA-256 is signed.
    Bytes(&'a [u8]),
}

impl UpstreamClient {
    pub fn new(cfg: &UpstreamConfig) -> Result<UpstreamClient, UpstreamSetupError> {
        let uri: http::Uri = cfg.endpoint.parse().map_err(UpstreamSetupError::Endpoint)?;
        let scheme = uri.scheme_str().unwrap_or("http").to_string();
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .ok_or(UpstreamSetupError::NoHost)?;
        let mut connector = HttpConnector::new();
        connector.enforce_http(false);
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        connector.set_keepalive(Some(Duration::from_secs(30)));
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = match hyper_rustls::HttpsConnectorBuilder::new().with_provider_and_native_roots(provider.clone())
        {
            Ok(b) => b,
            Err(e) if scheme == "http" => {
                tracing::debug!(error = %e, "no native CA roots; plain http upstream needs none");
                let tls = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(UpstreamSetupError::Tls)?
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls)
            }
            Err(e) => return Err(UpstreamSetupError::CaRoots(e)),
        };
        let https = builder.https_or_http().enable_http1().wrap_connector(connector);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build(https);
        Ok(UpstreamClient {
            http,
            cfg: cfg.clone(),
            scheme,
            authority,
            counted: true,
        })
    }

    /// The same client, but its requests are not counted as upstream requests or failures: a second
    /// S3 location (the audit archive) must not look like a failing upstream store on `/metrics`.
    #[must_use]
    pub fn uncounted(mut self) -> UpstreamClient {
        self.counted = false;
        self
    }

    pub fn config(&self) -> &UpstreamConfig {
        &self.cfg
    }

    /// The upstream object key of blob `name` (`<prefix>/<name>`).
    pub fn key(&self, name: &str) -> String {
        if self.cfg.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.cfg.prefix)
        }
    }

    /// (host header, URI) for `key` (empty: the bucket itself) and an already-encoded query.
    fn target(&self, key: &str, query: &str) -> (String, String) {
        let enc_key: Vec<String> = key.split('/').map(encode_component).collect();
        let enc_key = enc_key.join("/");
        let (host, path) = if self.cfg.path_style {
            let p = if key.is_empty() {
                format!("/{}", self.cfg.bucket)
            } else {
                format!("/{}/{enc_key}", self.cfg.bucket)
            };
            (self.authority.clone(), p)
        } else {
            (format!("{}.{}", self.cfg.bucket, self.authority), format!("/{enc_key}"))
        };
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        (host.clone(), format!("{}://{host}{path}{q}", self.scheme))
    }

    /// Build and sign a request. `headers` must not contain `host` or `authorization`.
    pub fn signed(
        &self,
        method: &Method,
        key: &str,
        query: &str,
        headers: &HeaderMap,
        payload: Payload<'_>,
        body: UpstreamBody,
    ) -> Result<Request<UpstreamBody>, UpstreamError> {
        let (host, uri) = self.target(key, query);
        let mut req = Request::builder()
            .method(method.clone())
            .uri(&uri)
            .body(body)
            .map_err(|e| UpstreamError::Other(e.to_string()))?;
        *req.headers_mut() = headers.clone();
        req.headers_mut().insert(
            http::header::HOST,
            HeaderValue::from_str(&host).map_err(|e| UpstreamError::Other(e.to_string()))?,
        );
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let identity = aws_credential_types::Credentials::new(
            self.cfg.access_key.clone(),
            self.cfg.secret_key.clone(),
            None,
            None,
            "wormgate-upstream",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.cfg.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| UpstreamError::Other(format!("signing parameters: {e}")))?
            .into();
        let sha;
        let signable_body = match payload {
            Payload::Unsigned => SignableBody::UnsignedPayload,
            Payload::StreamingTrailer => SignableBody::StreamingUnsignedPayloadTrailer,
            Payload::Bytes(b) => {
                use sha2::Digest;
                sha = hex::encode(sha2::Sha256::digest(b));
                SignableBody::Precomputed(sha)
            }
        };
        let header_pairs: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let signable = SignableRequest::new(
            method.as_str(),
            uri.as_str(),
            header_pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            signable_body,
        )
        .map_err(|e| UpstreamError::Other(format!("cannot sign request: {e}")))?;
        let (instructions, _sig) = sign(signable, &params)
            .map_err(|e| UpstreamError::Other(format!("cannot sign request: {e}")))?
            .into_parts();
        instructions.apply_to_request_http1x(&mut req);
        Ok(req)
    }

    /// Send one request (one attempt, counted).
    pub async fn send_once(&self, req: Request<UpstreamBody>) -> Result<Response<Incoming>, UpstreamError> {
        if self.counted {
            let n = REQUESTS.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::debug!(target: "wormgate::upstream", upstream_requests = n, method = %req.method(), uri = %req.uri(), "upstream request");
        }
        let res = self.http.request(req).await;
        let failed = match &res {
            Ok(r) => r.status().is_server_error(),
            Err(_) => true,
        };
        if failed && self.counted {
            FAILURES.fetch_add(1, Ordering::Relaxed);
        }
        res.map_err(|e| {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                src = s.source();
            }
            UpstreamError::Unreachable(format!("{} ({msg})", self.cfg.endpoint))
        })
    }

    /// Every object under the prefix (`ListObjectsV2`, all pages) with its size and last-modified
    /// time; names are keys without the prefix.
    pub async fn list_prefix(&self) -> Result<Vec<ListedObject>, UpstreamError> {
        let prefix = self.key("");
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q = format!("list-type=2&max-keys=1000&prefix={}", encode_component(&prefix));
            if let Some(t) = &token {
                q = format!("continuation-token={}&{q}", encode_component(t));
            }
            let (_, _, body) = self.small(Method::GET, "", &q, HeaderMap::new(), Bytes::new()).await?;
            let text = String::from_utf8_lossy(&body);
            let mut rest: &str = &text;
            while let Some(s) = rest.find("<Contents>") {
                let after = rest.get(s + "<Contents>".len()..).unwrap_or_default();
                let Some(e) = after.find("</Contents>") else { break };
                let item = after.get(..e).unwrap_or_default();
                if let Some(k) = xml_text(item, "Key") {
                    out.push(ListedObject {
                        name: k.strip_prefix(&prefix).unwrap_or(&k).to_string(),
                        size: xml_text(item, "Size").and_then(|s| s.trim().parse().ok()).unwrap_or(0),
                        last_modified: xml_text(item, "LastModified").and_then(|t| crate::timefmt::parse_iso(&t)),
                    });
                }
                rest = after.get(e..).unwrap_or_default();
            }
            token = xml_text(&text, "NextContinuationToken")
                .filter(|_| xml_text(&text, "IsTruncated").as_deref() == Some("true"));
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// A request with a replayable body, retried with backoff; the whole response is read (it must
    /// be small). Errors (status >= 300, except those in `ok_statuses`) are returned as
    /// `UpstreamError::Status`.
    pub async fn small(
        &self,
        method: Method,
        key: &str,
        query: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<(StatusCode, HeaderMap, Bytes), UpstreamError> {
        let mut delay = Duration::from_millis(100);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let req = self.signed(
                &method,
                key,
                query,
                &headers,
                Payload::Bytes(&body),
                UpstreamBody::full(body.clone()),
            )?;
            let res = tokio::time::timeout(SMALL_TIMEOUT, async {
                let resp = self.send_once(req).await?;
                let (parts, body) = resp.into_parts();
                let bytes = read_limited(body, 4 << 20).await?;
                Ok::<_, UpstreamError>((parts.status, parts.headers, bytes))
            })
            .await
            .unwrap_or_else(|_| {
                Err(UpstreamError::Unreachable(format!(
                    "{}: no answer within {SMALL_TIMEOUT:?}",
                    self.cfg.endpoint
                )))
            });
            let res = res.and_then(|(status, h, b)| {
                if status.is_success() || status == StatusCode::NOT_MODIFIED {
                    Ok((status, h, b))
                } else {
                    Err(status_error(status, &b))
                }
            });
            match res {
                Err(e) if e.retryable() && attempt < ATTEMPTS => {
                    tracing::debug!(error = %e, attempt, "upstream request failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
                other => return other,
            }
        }
    }

    /// A GET whose response body is streamed; retried (before any byte is returned) like `small`.
    pub async fn get_stream(&self, key: &str, headers: HeaderMap) -> Result<Response<Incoming>, UpstreamError> {
        let mut delay = Duration::from_millis(100);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let req = self.signed(
                &Method::GET,
                key,
                "",
                &headers,
                Payload::Bytes(b""),
                UpstreamBody::empty(),
            )?;
            let res = match tokio::time::timeout(SMALL_TIMEOUT, self.send_once(req)).await {
                Err(_) => Err(UpstreamError::Unreachable(format!(
                    "{}: no answer within {SMALL_TIMEOUT:?}",
                    self.cfg.endpoint
                ))),
                Ok(Err(e)) => Err(e),
                Ok(Ok(resp)) if resp.status().is_success() => Ok(resp),
                Ok(Ok(resp)) => {
                    let status = resp.status();
                    let body = read_limited(resp.into_body(), 1 << 20).await.unwrap_or_default();
                    Err(status_error(status, &body))
                }
            };
            match res {
                Err(e) if e.retryable() && attempt < ATTEMPTS => {
                    tracing::debug!(error = %e, attempt, "upstream GET failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
                other => return other,
            }
        }
    }
}

/// Read a whole (small) body.
pub async fn read_limited(body: Incoming, limit: usize) -> Result<Bytes, UpstreamError> {
    let limited = http_body_util::Limited::new(body, limit);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => Err(UpstreamError::Unreachable(format!(
            "reading the upstream response failed: {e}"
        ))),
    }
}

/// The text of `<tag>` in an XML document (first occurrence; entities for `&<>"'` undone).
pub fn xml_text(doc: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let s = doc.find(&open)? + open.len();
    let e = doc[s..].find(&close)? + s;
    Some(
        doc[s..e]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// An error response as `UpstreamError::Status`.
pub fn status_error(status: StatusCode, body: &[u8]) -> UpstreamError {
    let text = String::from_utf8_lossy(body);
    let code = xml_text(&text, "Code").unwrap_or_else(|| status.canonical_reason().unwrap_or("error").replace(' ', ""));
    let message = xml_text(&text, "Message").unwrap_or_default();
    UpstreamError::Status { status, code, message }
}

/// One object of an upstream listing (`UpstreamClient::list_prefix`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Blob id or `<id>.meta` (the key without the prefix).
    pub name: String,
    pub size: u64,
    pub last_modified: Option<chrono::DateTime<chrono::Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only dates comfortably ahead are sent as an upstream lock: one in the past, or one that may
    /// pass in transit, is refused by the upstream (`400 InvalidRequest`).
    #[test]
    fn only_dates_comfortably_ahead_are_worth_locking() {
        let now = chrono::Utc::now();
        assert!(worth_locking(now + chrono::TimeDelta::days(1)));
        assert!(worth_locking(now + LOCK_LEAD + chrono::TimeDelta::seconds(2)));
        assert!(!worth_locking(now + chrono::TimeDelta::seconds(1)));
        assert!(!worth_locking(now));
        assert!(!worth_locking(now - chrono::TimeDelta::seconds(1)));
    }

    fn cfg(path_style: bool, prefix: &str) -> UpstreamConfig {
        UpstreamConfig {
            endpoint: "http://127.0.0.1:9000".into(),
            bucket: "up".into(),
            region: "us-east-1".into(),
            prefix: prefix.into(),
            path_style,
            access_key: "a".into(),
            secret_key: "b".into(),
        }
    }

    #[test]
    fn targets() {
        let c = UpstreamClient::new(&cfg(true, "p/q r")).unwrap();
        assert_eq!(c.key("abc"), "p/q r/abc");
        assert_eq!(
            c.target(&c.key("abc"), ""),
            ("127.0.0.1:9000".into(), "http://127.0.0.1:9000/up/p/q%20r/abc".into())
        );
        assert_eq!(
            c.target("", "location="),
            ("127.0.0.1:9000".into(), "http://127.0.0.1:9000/up?location=".into())
        );
        let v = UpstreamClient::new(&cfg(false, "")).unwrap();
        assert_eq!(v.key("abc"), "abc");
        assert_eq!(
            v.target("abc", ""),
            ("up.127.0.0.1:9000".into(), "http://up.127.0.0.1:9000/abc".into())
        );
    }

    #[test]
    fn errors() {
        let e = status_error(
            StatusCode::SERVICE_UNAVAILABLE,
            b"<Error><Code>SlowDown</Code><Message>a &amp; b</Message></Error>",
        );
        assert!(e.retryable());
        assert_eq!(e.code(), "SlowDown");
        assert_eq!(e.to_string(), "upstream answered 503 SlowDown: a & b");
        let e = status_error(StatusCode::FORBIDDEN, b"");
        assert!(!e.retryable());
        assert_eq!(e.code(), "Forbidden");
    }
}
