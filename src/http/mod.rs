//! The HTTP front: accept loop on hyper 1 (HTTP/1.1 and HTTP/2), one task per connection, graceful
//! shutdown on SIGINT/SIGTERM (stop accepting, let requests in flight finish within a deadline), and a
//! TLS certificate that can be replaced while serving ([`TlsReloader`], SIGHUP).

use crate::gateway::Gateway;
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
/// to finish. Returns whether every connection finished in time.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<TlsReloader>>,
    gateway: Arc<Gateway>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    drain: Duration,
) -> bool {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(60))
        .max_buf_size(1 << 20);
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
                let _ = stream.set_nodelay(true);
                let gw = gateway.clone();
                let svc = service_fn(move |req| {
                    let gw = gw.clone();
                    async move { Ok::<_, std::convert::Infallible>(gw.handle(req, remote).await) }
                });
                match &tls {
                    None => {
                        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc).into_owned();
                        let fut = graceful.watch(conn);
                        tokio::spawn(async move {
                            if let Err(e) = fut.await {
                                tracing::debug!(error = %e, %remote, "connection ended with error");
                            }
                        });
                    }
                    Some(reloader) => {
                        // Handshake inside the task, with a deadline, so a slow client cannot stall accepts.
                        let Some(acceptor) = reloader.acceptor() else { continue };
                        let builder = builder.clone();
                        let watcher = graceful.watcher();
                        tokio::spawn(async move {
                            let tls_stream = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                                Ok(Ok(s)) => s,
                                Ok(Err(e)) => {
                                    tracing::debug!(error = %e, %remote, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!(%remote, "TLS handshake timed out");
                                    return;
                                }
                            };
                            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls_stream), svc).into_owned();
                            if let Err(e) = watcher.watch(conn).await {
                                tracing::debug!(error = %e, %remote, "connection ended with error");
                            }
                        });
                    }
                }
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    tokio::time::timeout(drain, graceful.shutdown()).await.is_ok()
}

/// Bind a listener, reporting a clear error.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, HttpError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })
}
