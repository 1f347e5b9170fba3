//! The HTTP front: accept loop on hyper 1 (HTTP/1.1 and HTTP/2), one task per connection, graceful
//! shutdown on SIGINT/SIGTERM (stop accepting, let requests in flight finish within a deadline), and a
//! TLS certificate that can be replaced while serving ([`TlsReloader`], SIGHUP).

mod conns;

use crate::gateway::Gateway;
use conns::{Busy, Conn, Conns};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Why a listener could not be set up, or its certificate (re)loaded.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The certificate file cannot be opened or read.
    #[error("cannot read TLS certificate {}: {source}", path.display())]
    ReadCert {
        /// The certificate file.
        path: std::path::PathBuf,
        /// The PEM reader's error.
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// A PEM section of the certificate file is broken.
    #[error("bad TLS certificate {}: {source}", path.display())]
    BadCert {
        /// The certificate file.
        path: std::path::PathBuf,
        /// The PEM reader's error.
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("no certificate found in {}", path.display())]
    NoCert {
        /// The certificate file.
        path: std::path::PathBuf,
    },
    /// The key file cannot be read or holds no key.
    #[error("cannot read TLS key {}: {source}", path.display())]
    ReadKey {
        /// The key file.
        path: std::path::PathBuf,
        /// The PEM reader's error.
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// rustls refuses the pair.
    #[error("TLS certificate and key do not fit together: {0}")]
    Mismatch(#[source] rustls::Error),
    /// A thread panicked while swapping the certificate.
    #[error("TLS acceptor lock poisoned")]
    Poisoned,
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The bind error.
        #[source]
        source: std::io::Error,
    },
}

/// Load a PEM certificate chain and private key into a TLS acceptor (HTTP/2 and HTTP/1.1 via ALPN).
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, HttpError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|source| HttpError::ReadCert {
            path: cert.to_path_buf(),
            source,
        })?
        .collect::<Result<_, _>>()
        .map_err(|source| HttpError::BadCert {
            path: cert.to_path_buf(),
            source,
        })?;
    if certs.is_empty() {
        return Err(HttpError::NoCert {
            path: cert.to_path_buf(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|source| HttpError::ReadKey {
        path: key.to_path_buf(),
        source,
    })?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(HttpError::Mismatch)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The TLS certificate and key of a listener, re-read from their files on [`TlsReloader::reload`]:
/// new connections get the new certificate, connections already open keep theirs.
pub struct TlsReloader {
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    current: std::sync::RwLock<TlsAcceptor>,
}

impl TlsReloader {
    /// Load the files once (an error here stops the start).
    pub fn load(cert: &Path, key: &Path) -> Result<TlsReloader, HttpError> {
        Ok(TlsReloader {
            current: std::sync::RwLock::new(tls_acceptor(cert, key)?),
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        })
    }

    /// Re-read the files; on any error the running certificate stays and the error is returned.
    pub fn reload(&self) -> Result<(), HttpError> {
        let fresh = tls_acceptor(&self.cert, &self.key)?;
        let mut cur = self.current.write().map_err(|_| HttpError::Poisoned)?;
        *cur = fresh;
        Ok(())
    }

    fn acceptor(&self) -> Option<TlsAcceptor> {
        self.current.read().ok().map(|a| a.clone())
    }
}

/// Serve HTTP (or HTTPS, with `tls`) on `listener` until `shutdown` resolves; then stop accepting
/// (the listener is closed: new connections are refused) and give requests in flight up to `drain`
/// to finish. Returns whether every connection finished in time. Open connections are bounded by
/// the gateway's `--max-connections` ([`conns`]), request heads by `--max-header-bytes`,
/// `--max-headers` and `--header-read-timeout` (hyper answers 431 or closes).
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<TlsReloader>>,
    gateway: Arc<Gateway>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    drain: Duration,
) -> bool {
    let limits = gateway.limits.clone();
    let table = Conns::new(limits.config.max_connections, limits.config.idle_timeout);
    let reaper = {
        let table = table.clone();
        tokio::spawn(async move {
            let every = table.reap_every();
            let (mut logged_at, mut logged_shed) = (std::time::Instant::now(), 0);
            loop {
                tokio::time::sleep(every).await;
                table.reap();
                if logged_at.elapsed() >= Duration::from_secs(10) {
                    let shed = table.shed();
                    if shed != logged_shed {
                        tracing::info!(
                            shed_total = shed,
                            open = table.open(),
                            "connections shed (over --max-connections or idle past --idle-timeout)"
                        );
                    }
                    (logged_at, logged_shed) = (std::time::Instant::now(), shed);
                }
            }
        })
    };
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.config.header_read_timeout)
        .max_buf_size(limits.config.max_header_bytes);
    if limits.config.max_headers != HYPER_MAX_HEADERS {
        // Only when it differs: a configured count makes hyper parse into a heap array per request.
        builder.http1().max_headers(limits.config.max_headers);
    }
    let mut refused_logged: Option<std::time::Instant> = None;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = table.admit() else {
                    // Every connection has a request in progress: a quick 503 and close.
                    if tls.is_none() {
                        let _ = stream.try_write(&full_response());
                    }
                    if refused_logged.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                        refused_logged = Some(std::time::Instant::now());
                        tracing::warn!(max = limits.config.max_connections, "connection refused: every connection has a request in progress (--max-connections)");
                    }
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let slot = Arc::new(slot);
                let svc = service(gateway.clone(), slot.clone(), remote);
                match &tls {
                    None => {
                        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc).into_owned();
                        tokio::spawn(run_connection(conn, slot, remote));
                    }
                    Some(reloader) => {
                        // Handshake inside the task, with a deadline, so a slow client cannot stall accepts.
                        let Some(acceptor) = reloader.acceptor() else { continue };
                        let builder = builder.clone();
                        let deadline = limits.config.header_read_timeout.min(Duration::from_secs(10));
                        tokio::spawn(async move {
                            let handshake = tokio::time::timeout(deadline, acceptor.accept(stream));
                            let tls_stream = tokio::select! {
                                r = handshake => match r {
                                    Ok(Ok(s)) => s,
                                    Ok(Err(e)) => {
                                        tracing::debug!(error = %e, %remote, "TLS handshake failed");
                                        return;
                                    }
                                    Err(_) => {
                                        tracing::debug!(%remote, "TLS handshake timed out");
                                        return;
                                    }
                                },
                                () = slot.evicted() => return,
                            };
                            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls_stream), svc).into_owned();
                            run_connection(conn, slot, remote).await;
                        });
                    }
                }
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    reaper.abort();
    table.close_all();
    tokio::time::timeout(drain, table.drained()).await.is_ok()
}

/// hyper's own header-count limit (parsed on the stack).
const HYPER_MAX_HEADERS: usize = 100;

/// The body a connection over the cap reads before it is closed (plain HTTP only).
const FULL_BODY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";

/// The whole answer to a connection over the cap, its `Content-Length` counted from the body (a
/// hand-counted one was short, and clients cut the XML).
fn full_response() -> Vec<u8> {
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{FULL_BODY}",
        FULL_BODY.len()
    )
    .into_bytes()
}

/// The per-connection service: each request marks the connection busy until its response body is
/// sent (so it is never shed mid-request).
fn service(
    gateway: Arc<Gateway>,
    slot: Arc<Conn>,
    remote: std::net::SocketAddr,
) -> impl hyper::service::Service<
    http::Request<hyper::body::Incoming>,
    Response = http::Response<Tracked>,
    Error = std::convert::Infallible,
    Future = RequestFuture,
> + Clone
       + Send {
    service_fn(move |req| {
        let gw = gateway.clone();
        let busy = slot.busy();
        // Boxed: hyper keeps the service future inside every connection's state, so an unboxed
        // request future (large) would be paid for by every idle connection.
        let fut: RequestFuture = Box::pin(async move {
            let resp = gw.handle(req, remote).await;
            Ok::<_, std::convert::Infallible>(resp.map(|inner| Tracked { inner, _busy: busy }))
        });
        fut
    })
}

/// The future of one request, boxed (see [`service`]).
type RequestFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<http::Response<Tracked>, std::convert::Infallible>> + Send>,
>;

/// Drive one connection until it ends or is told to close: an idle one is dropped at once (also one
/// in the middle of an unfinished head), a busy one finishes its response first.
async fn run_connection<F, E>(conn: F, slot: Arc<Conn>, remote: std::net::SocketAddr)
where
    F: std::future::Future<Output = Result<(), E>> + GracefulConnection,
    E: std::fmt::Display,
{
    let mut conn = std::pin::pin!(conn);
    let mut told = false;
    loop {
        tokio::select! {
            biased;
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, %remote, "connection ended with error");
                }
                return;
            }
            () = slot.evicted(), if !told => {
                told = true;
                if !slot.is_busy() {
                    return;
                }
                conn.as_mut().shut_down();
            }
        }
    }
}

/// hyper's graceful shutdown of a connection, named so [`run_connection`] can take any of them.
pub trait GracefulConnection {
    /// Finish the request in progress, then close.
    fn shut_down(self: std::pin::Pin<&mut Self>);
}

impl<I, S, E, B> GracefulConnection for hyper_util::server::conn::auto::UpgradeableConnection<'_, I, S, E>
where
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: http_body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    E: hyper_util::server::conn::auto::HttpServerConnExec<S::Future, B>,
{
    fn shut_down(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// A response body that keeps its connection marked busy until it has been sent.
pub struct Tracked {
    inner: crate::gateway::ResponseBody,
    _busy: Busy,
}

impl http_body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Bind a listener, reporting a clear error.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, HttpError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_over_the_cap_answer_says_its_true_length() {
        let r = String::from_utf8(full_response()).unwrap();
        let (head, body) = r.split_once("\r\n\r\n").unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(len, body.len());
        assert!(body.ends_with("</Error>") && body.contains("<Code>SlowDown</Code>"));
    }
}
