//! A minimal S3 client on hyper: builds, signs and sends one request, drains the answer.

use crate::body::{ChunkSigning, Payload, ReqBody};
use crate::sigv4::{self, Signer};
use base64::Engine;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use md5::Md5;
use sha2::Digest;
use std::sync::Arc;
use std::time::Duration;

/// How PUT bodies are authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PayloadMode {
    /// `x-amz-content-sha256: <hex>` (the whole body's hash is signed)
    Signed,
    /// `x-amz-content-sha256: UNSIGNED-PAYLOAD`
    Unsigned,
    /// aws-chunked, `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` (every chunk signed)
    Chunked,
}

impl PayloadMode {
    pub fn name(self) -> &'static str {
        match self {
            PayloadMode::Signed => "signed",
            PayloadMode::Unsigned => "unsigned",
            PayloadMode::Chunked => "chunked",
        }
    }
}

/// The body of a request, before signing decides how it is framed.
pub enum Body {
    Empty,
    /// Small in-memory body (XML), always with a signed payload hash and Content-MD5.
    Xml(Bytes),
    Object(Arc<Payload>),
}

pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    /// The body when it was kept (`keep_body`), else empty.
    pub body: Bytes,
    /// Bytes received in the body.
    pub body_len: u64,
}

impl Response {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// One line describing a failed answer (status, S3 error code and message).
    pub fn describe(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let code = crate::xml::tag(&text, "Code").unwrap_or_default();
        let msg = crate::xml::tag(&text, "Message").unwrap_or_default();
        format!("HTTP {} {code} {msg}", self.status).trim().to_string()
    }
}

pub struct S3 {
    http: Client<HttpConnector, ReqBody>,
    /// `http://host:port`
    endpoint: String,
    host: String,
    signer: Signer,
    pub payload: PayloadMode,
    pub chunk_size: usize,
    timeout: Duration,
}

pub struct Req<'a> {
    pub method: &'a str,
    pub bucket: &'a str,
    /// Object key, or "" for a bucket request.
    pub key: &'a str,
    pub query: Vec<(&'a str, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// Keep the answer's body (XML answers); otherwise it is only counted.
    pub keep_body: bool,
}

impl<'a> Req<'a> {
    pub fn new(method: &'a str, bucket: &'a str, key: &'a str) -> Self {
        Req {
            method,
            bucket,
            key,
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Empty,
            keep_body: false,
        }
    }
}

impl S3 {
    pub fn new(
        endpoint: &str,
        access_key: &str,
        secret_key: &str,
        region: &str,
        payload: PayloadMode,
        chunk_size: usize,
        timeout: Duration,
    ) -> Result<S3, String> {
        let endpoint = endpoint.trim_end_matches('/').to_string();
        let uri: http::Uri = endpoint.parse().map_err(|e| format!("endpoint '{endpoint}': {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("endpoint '{endpoint}': only http:// is supported"));
        }
        let host = uri
            .authority()
            .ok_or_else(|| format!("endpoint '{endpoint}' has no host"))?
            .to_string();
        let mut conn = HttpConnector::new();
        conn.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1024)
            .build(conn);
        Ok(S3 {
            http,
            endpoint,
            host,
            signer: Signer::new(access_key, secret_key, region),
            payload,
            chunk_size,
            timeout,
        })
    }

    pub async fn send(&self, req: Req<'_>) -> Result<Response, String> {
        let path = if req.key.is_empty() {
            format!("/{}", req.bucket)
        } else {
            format!("/{}/{}", req.bucket, sigv4::uri_encode(req.key, true))
        };
        let query = sigv4::canonical_query(&req.query);
        let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let mut headers = req.headers;
        headers.push(("host".into(), self.host.clone()));
        headers.push(("x-amz-date".into(), amz_date.clone()));
        let mut content_length: Option<u64> = None;
        let (payload_hash, body_kind) = match req.body {
            Body::Empty => (sigv4::EMPTY_SHA256.to_string(), BodyKind::Empty),
            Body::Xml(b) => {
                let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&b));
                headers.push(("content-md5".into(), md5));
                content_length = Some(b.len() as u64);
                (sigv4::sha256_hex(&b), BodyKind::Full(b))
            }
            Body::Object(p) => match self.payload {
                PayloadMode::Signed => {
                    content_length = Some(p.len);
                    (p.sha256_hex.clone(), BodyKind::Raw(p))
                }
                PayloadMode::Unsigned => {
                    content_length = Some(p.len);
                    (sigv4::UNSIGNED_PAYLOAD.to_string(), BodyKind::Raw(p))
                }
                PayloadMode::Chunked => {
                    headers.push(("content-encoding".into(), "aws-chunked".into()));
                    headers.push(("x-amz-decoded-content-length".into(), p.len.to_string()));
                    (sigv4::STREAMING_PAYLOAD.to_string(), BodyKind::Chunked(p))
                }
            },
        };
        headers.push(("x-amz-content-sha256".into(), payload_hash.clone()));
        let sig = self
            .signer
            .sign(req.method, &path, &query, &headers, &payload_hash, &amz_date);
        let body = match body_kind {
            BodyKind::Empty => ReqBody::Empty,
            BodyKind::Full(b) => ReqBody::full(b),
            BodyKind::Raw(p) => ReqBody::raw(p),
            BodyKind::Chunked(p) => {
                let signing = ChunkSigning {
                    signing_key: sig.signing_key,
                    amz_date: sig.amz_date.clone(),
                    scope: sig.scope.clone(),
                    seed_signature: sig.seed_signature.clone(),
                };
                let b = ReqBody::chunked(p, self.chunk_size, signing);
                content_length = http_body::Body::size_hint(&b).exact();
                b
            }
        };
        let uri = if query.is_empty() {
            format!("{}{path}", self.endpoint)
        } else {
            format!("{}{path}?{query}", self.endpoint)
        };
        let mut builder = http::Request::builder().method(req.method).uri(uri);
        for (n, v) in &headers {
            if n != "host" {
                builder = builder.header(n.as_str(), v.as_str());
            }
        }
        builder = builder.header("authorization", sig.authorization);
        if let Some(n) = content_length {
            builder = builder.header("content-length", n);
        }
        let request = builder.body(body).map_err(|e| format!("building request: {e}"))?;
        let keep = req.keep_body;
        let fut = async move {
            let resp = self
                .http
                .request(request)
                .await
                .map_err(|e| format!("request failed: {e:?}"))?;
            let (parts, mut body) = resp.into_parts();
            let status = parts.status.as_u16();
            // Error bodies are kept (for the message); successful ones only when asked.
            let keep = keep || !(200..300).contains(&status);
            let mut kept = Vec::new();
            let mut n = 0u64;
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| format!("reading body: {e}"))?;
                if let Ok(data) = frame.into_data() {
                    n += data.len() as u64;
                    if keep {
                        kept.extend_from_slice(&data);
                    }
                }
            }
            Ok(Response {
                status,
                headers: parts.headers,
                body: Bytes::from(kept),
                body_len: n,
            })
        };
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(format!("timed out after {:?}", self.timeout)),
        }
    }
}

enum BodyKind {
    Empty,
    Full(Bytes),
    Raw(Arc<Payload>),
    Chunked(Arc<Payload>),
}
