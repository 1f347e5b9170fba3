//! The webhook sink: batches of audit records sent by POST as JSON lines (`application/x-ndjson`; one
//! record's exact segment line per line) to an `http://` or `https://` URL. A 2xx answer acknowledges
//! the whole batch; anything else (or no answer) is a failure and the same batch is sent again.
//! Headers `X-Wormgate-First-Seq` / `X-Wormgate-Last-Seq` name the batch's range.

use super::{tls_config, ShipError, Shipped};
use bytes::Bytes;
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Deadline of one POST, answer included.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A configured webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub uri: Uri,
    pub ca: Option<PathBuf>,
}

impl WebhookTarget {
    /// Parse `--audit-webhook` (and `--audit-webhook-ca`).
    pub fn parse(s: &str, ca: Option<&Path>) -> Result<WebhookTarget, ShipError> {
        let s = s.trim();
        let bad = |why| ShipError::Target {
            flag: "--audit-webhook",
            value: s.to_string(),
            why,
        };
        let uri: Uri = s.parse().map_err(|_| bad("is not a URL"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(bad("must start with http:// or https://")),
        };
        let Some(auth) = uri.authority() else {
            return Err(bad("needs a host"));
        };
        if auth.host().is_empty() || auth.as_str().contains('@') {
            return Err(bad("needs a host (and no user:password@)"));
        }
        if ca.is_some() && !https {
            return Err(bad("--audit-webhook-ca needs an https:// URL"));
        }
        Ok(WebhookTarget {
            uri,
            ca: ca.map(Path::to_path_buf),
        })
    }
}

/// The sink: the URL and a pooled HTTP client.
pub struct WebhookSink {
    target: WebhookTarget,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl WebhookSink {
    /// Prepare the client (TLS roots are loaded here, so a bad CA file stops the start).
    pub fn new(target: WebhookTarget) -> Result<WebhookSink, ShipError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        let tls = if target.uri.scheme_str() == Some("https") {
            tls_config(target.ca.as_deref())?
        } else {
            // Plain http needs no roots (and the machine may have none).
            tls_config_without_roots()?
        };
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(1)
            .build(https);
        Ok(WebhookSink { target, client })
    }

    /// The URL as configured.
    pub fn target(&self) -> String {
        self.target.uri.to_string()
    }

    /// POST `batch`; `Ok` only on a 2xx answer.
    pub async fn deliver(&mut self, batch: &[Shipped]) -> Result<(), ShipError> {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return Ok(());
        };
        let mut body = Vec::with_capacity(batch.iter().map(|s| s.line.len() + 1).sum());
        for s in batch {
            body.extend_from_slice(s.line.as_bytes());
            body.push(b'\n');
        }
        let req = Request::builder()
            .method(Method::POST)
            .uri(self.target.uri.clone())
            .header(http::header::CONTENT_TYPE, "application/x-ndjson")
            .header(
                http::header::USER_AGENT,
                concat!("wormgate/", env!("CARGO_PKG_VERSION")),
            )
            .header("x-wormgate-first-seq", first.record.seq)
            .header("x-wormgate-last-seq", last.record.seq)
            .body(Full::new(Bytes::from(body)))
            .map_err(|source| ShipError::Request {
                target: self.target(),
                source,
            })?;
        let answer = tokio::time::timeout(TIMEOUT, async {
            let resp = self.client.request(req).await?;
            let status = resp.status();
            // Read the (small) answer so the connection can be reused.
            let _ = resp.into_body().collect().await;
            Ok::<_, hyper_util::client::legacy::Error>(status)
        })
        .await;
        match answer {
            Ok(Ok(status)) if status.is_success() => Ok(()),
            Ok(Ok(status)) => Err(ShipError::Status {
                target: self.target(),
                status: status.as_u16(),
            }),
            Ok(Err(source)) => Err(ShipError::Http {
                target: self.target(),
                source,
            }),
            Err(_) => Err(ShipError::Timeout {
                target: self.target(),
                secs: TIMEOUT.as_secs(),
            }),
        }
    }
}

/// A TLS configuration with no roots, for a plain `http://` webhook (never used to connect).
fn tls_config_without_roots() -> Result<std::sync::Arc<rustls::ClientConfig>, ShipError> {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(std::sync::Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    ))
}
