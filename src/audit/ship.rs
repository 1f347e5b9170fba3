//! Audit shipping: every audit record also goes off the box, to a syslog receiver (RFC 5424 over TCP
//! or TLS, [`syslog`]) and/or an HTTP webhook (JSON lines in batches, [`webhook`]), at least once.
//!
//! The segments on disk are the source of truth: one background task per sink reads them from the
//! sink's persisted cursor (the last sequence number its receiver acknowledged), sends a batch, and
//! moves the cursor — written atomically — only after the receiver acknowledged it (syslog: write and
//! flush succeeded; webhook: a 2xx answer). A restart or a receiver outage therefore loses nothing:
//! shipping resumes from the cursor, and a receiver may see a batch twice, never a gap. The task is
//! woken by [`AuditLog::durable_seq`] (never reads past a durable record) and holds at most one batch
//! in memory, so the request path neither waits for nor buffers anything for it.

pub mod syslog;
pub mod webhook;

use super::chain::{file_number, read_seal, segment_name, segments, AuditRecord, GENESIS};
use super::AuditLog;
use crate::timefmt::now_iso;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Most records sent in one batch (one webhook POST, one flushed syslog write).
pub const MAX_BATCH: usize = 500;
/// First wait after a failed delivery; doubled after every further failure.
const BACKOFF_START: Duration = Duration::from_millis(500);
/// Longest wait between two attempts while a receiver is down.
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// How often a sink looks at the trail even when no append woke it.
const POLL: Duration = Duration::from_secs(1);

/// Why shipping could not start, or one delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    /// A target given on the command line or in the config file is not usable.
    #[error("{flag} '{value}': {why}")]
    Target {
        flag: &'static str,
        value: String,
        why: &'static str,
    },
    /// The CA file of a TLS sink cannot be read.
    #[error("cannot read CA certificates from {path}: {source}")]
    Ca {
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// The CA file holds no usable certificate.
    #[error("no usable CA certificate in {0}")]
    NoCa(PathBuf),
    /// The TLS client could not be set up.
    #[error("TLS setup: {0}")]
    Tls(#[from] rustls::Error),
    /// Connecting, writing or flushing failed.
    #[error("{target}: {source}")]
    Io {
        target: String,
        #[source]
        source: std::io::Error,
    },
    /// The receiver did not answer in time.
    #[error("{target}: no answer within {secs} s")]
    Timeout { target: String, secs: u64 },
    /// The webhook answered with a status other than 2xx.
    #[error("{target} answered HTTP {status}")]
    Status { target: String, status: u16 },
    /// The webhook request failed before an answer.
    #[error("{target}: {source}")]
    Http {
        target: String,
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    /// A webhook request could not be built.
    #[error("{target}: {source}")]
    Request {
        target: String,
        #[source]
        source: http::Error,
    },
    /// The cursor file cannot be written.
    #[error("cursor file {path}: {source}")]
    Cursor {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The audit segments cannot be read.
    #[error("reading the audit segments: {0}")]
    Segments(#[source] std::io::Error),
}

/// One record as shipped: its exact line in the segment (the receiver can recompute the hash from
/// it) and the parsed record.
#[derive(Debug, Clone)]
pub struct Shipped {
    pub line: String,
    pub record: AuditRecord,
}

/// Where to ship, parsed from [`crate::config`]'s strings by the daemon.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    pub syslog: Option<syslog::SyslogTarget>,
    pub webhook: Option<webhook::WebhookTarget>,
}

impl Targets {
    /// Parse the configured strings (`None`: that sink is off).
    pub fn parse(
        syslog: Option<&str>,
        syslog_ca: Option<&Path>,
        webhook: Option<&str>,
        webhook_ca: Option<&Path>,
    ) -> Result<Targets, ShipError> {
        if syslog.is_none() && syslog_ca.is_some() {
            return Err(ShipError::Target {
                flag: "--audit-syslog-ca",
                value: syslog_ca.map(|p| p.display().to_string()).unwrap_or_default(),
                why: "needs --audit-syslog tls://HOST:PORT",
            });
        }
        if webhook.is_none() && webhook_ca.is_some() {
            return Err(ShipError::Target {
                flag: "--audit-webhook-ca",
                value: webhook_ca.map(|p| p.display().to_string()).unwrap_or_default(),
                why: "needs --audit-webhook https://…",
            });
        }
        Ok(Targets {
            syslog: syslog.map(|s| syslog::SyslogTarget::parse(s, syslog_ca)).transpose()?,
            webhook: webhook
                .map(|s| webhook::WebhookTarget::parse(s, webhook_ca))
                .transpose()?,
        })
    }

    /// Whether any sink is configured.
    pub fn any(&self) -> bool {
        self.syslog.is_some() || self.webhook.is_some()
    }
}

/// A sink's persisted position: the last record its receiver acknowledged.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Cursor {
    /// Sequence number of the last acknowledged record (0: none yet).
    pub seq: u64,
    /// Its chain hash (the genesis hash before the first).
    pub hash: String,
    /// The target it was shipped to (for the operator; a new target continues from here).
    #[serde(default)]
    pub target: String,
    /// When the cursor was written.
    #[serde(default)]
    pub updated: String,
}

/// The file holding one sink's [`Cursor`], replaced atomically.
#[derive(Debug, Clone)]
pub struct CursorFile {
    path: PathBuf,
}

impl CursorFile {
    /// The cursor of sink `sink` under `dir`.
    pub fn new(dir: &Path, sink: &str) -> CursorFile {
        CursorFile {
            path: dir.join(format!("{sink}.cursor")),
        }
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored cursor; none yet means "from the first record". A file that does not parse is
    /// ignored with an error logged: shipping starts over (duplicates, never a gap).
    pub fn load(&self) -> Cursor {
        let fresh = Cursor {
            hash: GENESIS.into(),
            ..Cursor::default()
        };
        match std::fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                tracing::error!(
                    path = %self.path.display(),
                    error = %e,
                    "audit shipping: unreadable cursor file; shipping again from the first record"
                );
                fresh
            }),
            Err(_) => fresh,
        }
    }

    /// Write `c` atomically: a temporary file, fsync, rename over the old one, fsync the directory.
    pub fn save(&self, c: &Cursor) -> Result<(), ShipError> {
        let err = |source| ShipError::Cursor {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(err)?;
        let tmp = self.path.with_extension("cursor.tmp");
        let json = serde_json::to_vec_pretty(c).map_err(|e| err(std::io::Error::other(e)))?;
        {
            let mut f = std::fs::File::create(&tmp).map_err(err)?;
            f.write_all(&json).map_err(err)?;
            f.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(err)?;
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(err)
    }
}

/// Reads records from the segments in order, remembering where it stopped (segment and byte offset),
/// so a running sink reads every line once.
#[derive(Debug)]
pub struct SegmentReader {
    dir: PathBuf,
    /// Segment being read; 0 until the first read positions the reader.
    seg: u64,
    offset: u64,
}

impl SegmentReader {
    /// A reader of the trail in `dir`.
    pub fn new(dir: &Path) -> SegmentReader {
        SegmentReader {
            dir: dir.to_path_buf(),
            seg: 0,
            offset: 0,
        }
    }

    /// The first segment that may hold records after `after`: sealed segments whose last record is
    /// not past it are skipped without reading them.
    fn position(&mut self, after: u64) -> std::io::Result<()> {
        let segs: Vec<u64> = segments(&self.dir)?.iter().filter_map(|p| file_number(p)).collect();
        self.offset = 0;
        self.seg = segs.first().copied().unwrap_or(1);
        for n in segs {
            self.seg = n;
            match read_seal(&self.dir, n)? {
                Some(seal) if seal.last_seq <= after => {}
                _ => break,
            }
        }
        Ok(())
    }

    /// Up to `max` records with `after < seq <= upto`, in order. Stops at a line that is not complete
    /// yet (the writer is mid-append) and at records past `upto` (not durable yet).
    pub fn read(&mut self, after: u64, upto: u64, max: usize) -> std::io::Result<Vec<Shipped>> {
        if self.seg == 0 {
            self.position(after)?;
        }
        let mut out = Vec::new();
        loop {
            let path = self.dir.join(segment_name(self.seg));
            match std::fs::File::open(&path) {
                Ok(mut f) => {
                    f.seek(SeekFrom::Start(self.offset))?;
                    let mut r = std::io::BufReader::new(f);
                    let mut buf = Vec::new();
                    loop {
                        buf.clear();
                        let n = r.read_until(b'\n', &mut buf)?;
                        if n == 0 || buf.last() != Some(&b'\n') {
                            break;
                        }
                        let line = String::from_utf8_lossy(&buf[..n - 1]).into_owned();
                        match serde_json::from_str::<AuditRecord>(&line) {
                            Ok(rec) if rec.seq > upto => return Ok(out),
                            Ok(rec) => {
                                self.offset += n as u64;
                                if rec.seq > after {
                                    out.push(Shipped { line, record: rec });
                                    if out.len() >= max {
                                        return Ok(out);
                                    }
                                }
                            }
                            Err(e) => {
                                // `audit verify` reports it; shipping goes on with the next line.
                                tracing::warn!(
                                    segment = %path.display(),
                                    offset = self.offset,
                                    error = %e,
                                    "audit shipping: skipped a line that is not an audit record"
                                );
                                self.offset += n as u64;
                            }
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            // End of this segment: go on only if it is finished (sealed, or a later one exists).
            let next = self.dir.join(segment_name(self.seg + 1));
            if read_seal(&self.dir, self.seg)?.is_some() || next.exists() {
                self.seg += 1;
                self.offset = 0;
            } else {
                return Ok(out);
            }
        }
    }
}

/// A configured receiver.
enum Sink {
    Syslog(Box<syslog::SyslogSink>),
    Webhook(Box<webhook::WebhookSink>),
}

impl Sink {
    fn name(&self) -> &'static str {
        match self {
            Sink::Syslog(_) => "syslog",
            Sink::Webhook(_) => "webhook",
        }
    }

    fn target(&self) -> String {
        match self {
            Sink::Syslog(s) => s.target(),
            Sink::Webhook(w) => w.target(),
        }
    }

    async fn deliver(&mut self, batch: &[Shipped]) -> Result<(), ShipError> {
        match self {
            Sink::Syslog(s) => s.deliver(batch).await,
            Sink::Webhook(w) => w.deliver(batch).await,
        }
    }
}

/// Start one background task per configured sink, shipping the trail of `log` with cursors under
/// `state_dir`. Fails (before anything is spawned) when a TLS sink cannot be set up.
pub fn start(log: &AuditLog, targets: Targets, state_dir: &Path) -> Result<(), ShipError> {
    let mut sinks = Vec::new();
    if let Some(t) = targets.syslog {
        sinks.push(Sink::Syslog(Box::new(syslog::SyslogSink::new(t)?)));
    }
    if let Some(t) = targets.webhook {
        sinks.push(Sink::Webhook(Box::new(webhook::WebhookSink::new(t)?)));
    }
    for sink in sinks {
        let cursor = CursorFile::new(state_dir, sink.name());
        let c = cursor.load();
        crate::metrics::ship::configured(sink.name(), c.seq);
        tracing::info!(
            sink = sink.name(),
            target = %sink.target(),
            from_seq = c.seq + 1,
            "audit shipping started"
        );
        let reader = SegmentReader::new(log.dir());
        tokio::spawn(run(sink, cursor, c, reader, log.durable_seq()));
    }
    Ok(())
}

/// The loop of one sink: read a batch after the cursor, deliver it until the receiver takes it
/// (exponential backoff), move the cursor, repeat; sleep until the trail grows.
async fn run(
    mut sink: Sink,
    file: CursorFile,
    mut cursor: Cursor,
    reader: SegmentReader,
    mut durable: tokio::sync::watch::Receiver<u64>,
) {
    let name = sink.name();
    let target = sink.target();
    let mut reader = Some(reader);
    let mut batch: Vec<Shipped> = Vec::new();
    let mut backoff = BACKOFF_START;
    let mut failing = false;
    let mut warned_ahead = false;
    loop {
        let head = *durable.borrow_and_update();
        if head < cursor.seq && !std::mem::replace(&mut warned_ahead, true) {
            tracing::warn!(
                sink = name,
                cursor = cursor.seq,
                head,
                "audit shipping: the cursor is past the end of the trail (restored data directory?)"
            );
        }
        crate::metrics::ship::lag(name, head.saturating_sub(cursor.seq));
        if batch.is_empty() {
            let Some(mut r) = reader.take() else { return };
            let after = cursor.seq;
            let (r, got) = match tokio::task::spawn_blocking(move || {
                let got = r.read(after, head, MAX_BATCH);
                (r, got)
            })
            .await
            {
                Ok(v) => v,
                Err(e) => {
                    tracing::error!(sink = name, error = %e, "audit shipping: the reader task failed");
                    return;
                }
            };
            reader = Some(r);
            match got {
                Ok(b) => batch = b,
                Err(e) => {
                    tracing::error!(sink = name, error = %ShipError::Segments(e), "audit shipping: cannot read the trail");
                    tokio::time::sleep(BACKOFF_MAX).await;
                    continue;
                }
            }
            if batch.is_empty() {
                // Nothing new: wait for the next durable batch (or poll; a stopped writer wakes no one).
                if let Ok(Err(_)) = tokio::time::timeout(POLL, durable.changed()).await {
                    tokio::time::sleep(POLL).await;
                }
                continue;
            }
        }
        match sink.deliver(&batch).await {
            Ok(()) => {
                let last = &batch[batch.len() - 1].record;
                cursor = Cursor {
                    seq: last.seq,
                    hash: last.hash.clone(),
                    target: target.clone(),
                    updated: now_iso(),
                };
                let (f, c) = (file.clone(), cursor.clone());
                match tokio::task::spawn_blocking(move || f.save(&c)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!(sink = name, error = %e, "audit shipping: cannot persist the cursor"),
                    Err(e) => tracing::error!(sink = name, error = %e, "audit shipping: cursor task failed"),
                }
                crate::metrics::ship::success(name, cursor.seq, chrono::Utc::now().timestamp());
                crate::metrics::ship::lag(name, head.saturating_sub(cursor.seq));
                if failing {
                    tracing::info!(sink = name, target = %target, seq = cursor.seq, "audit shipping: the receiver is back");
                }
                failing = false;
                backoff = BACKOFF_START;
                batch.clear();
            }
            Err(e) => {
                crate::metrics::ship::failure(name);
                tracing::warn!(
                    sink = name,
                    error = %e,
                    pending_from_seq = cursor.seq + 1,
                    retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                    "audit shipping: delivery failed; records stay on disk and are sent again"
                );
                failing = true;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// A rustls client configuration trusting the certificates in `ca` (PEM), or the system's CA store.
pub(crate) fn tls_config(ca: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, ShipError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    if let Some(path) = ca {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|source| ShipError::Ca {
                path: path.to_path_buf(),
                source,
            })?;
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(ShipError::NoCa(path.to_path_buf()));
        }
    } else {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::debug!(error = %e, "audit shipping: a system CA certificate could not be loaded");
        }
        roots.add_parsable_certificates(found.certs);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// `HOST:PORT` of a target, checked: a host, and a port that is a number above 0.
fn host_port(flag: &'static str, value: &str, rest: &str) -> Result<(String, u16), ShipError> {
    let bad = |why| ShipError::Target {
        flag,
        value: value.to_string(),
        why,
    };
    let (host, port) = rest.rsplit_once(':').ok_or(bad("needs HOST:PORT"))?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or(bad("the port is not a number from 1 to 65535"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains(['/', '@', ' ']) {
        return Err(bad("needs a host name or address"));
    }
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::chain::tests::ev;
    use crate::audit::AuditOptions;

    #[test]
    fn cursor_file_roundtrips_is_replaced_whole_and_survives_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let f = CursorFile::new(&dir.path().join("audit-ship"), "syslog");
        let fresh = f.load();
        assert_eq!((fresh.seq, fresh.hash.as_str()), (0, GENESIS));
        let c = Cursor {
            seq: 42,
            hash: "ab".repeat(32),
            target: "tcp://siem:514".into(),
            updated: "2030-01-01T00:00:00.000Z".into(),
        };
        f.save(&c).unwrap();
        assert_eq!(f.load(), c);
        let c2 = Cursor { seq: 43, ..c };
        f.save(&c2).unwrap();
        assert_eq!(f.load(), c2);
        let names: Vec<_> = std::fs::read_dir(dir.path().join("audit-ship"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["syslog.cursor"], "no temporary file is left behind");
        std::fs::write(f.path(), b"{\"seq\":").unwrap();
        assert_eq!(f.load().seq, 0, "a torn cursor ships again from the start");
    }

    #[test]
    fn reader_follows_rotation_skips_sealed_segments_and_stops_at_the_durable_head() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let opts = AuditOptions {
            segment_bytes: 600,
            ..Default::default()
        };
        let log = AuditLog::open_with(dir.path(), opts).unwrap();
        for i in 0..20 {
            rt.block_on(log.append(ev(&format!("Op{i}")))).unwrap();
        }
        let head = *log.durable_seq().borrow();
        assert_eq!(head, log.head().0);
        assert!(segments(dir.path()).unwrap().len() >= 3);

        let mut r = SegmentReader::new(dir.path());
        let mut seen = Vec::new();
        loop {
            let b = r.read(seen.len() as u64, head, 4).unwrap();
            assert!(b.len() <= 4);
            if b.is_empty() {
                break;
            }
            seen.extend(b);
        }
        let seqs: Vec<u64> = seen.iter().map(|s| s.record.seq).collect();
        assert_eq!(seqs, (1..=head).collect::<Vec<_>>());
        for w in seen.windows(2) {
            assert_eq!(w[1].record.prev, w[0].record.hash);
        }
        for s in &seen {
            assert_eq!(s.line, s.record.canonical_line());
        }

        // Not past `upto`, and more appears when the head moves.
        let mut r = SegmentReader::new(dir.path());
        let b = r.read(0, 3, 100).unwrap();
        assert_eq!(b.iter().map(|s| s.record.seq).collect::<Vec<_>>(), [1, 2, 3]);
        rt.block_on(log.append(ev("Later"))).unwrap();
        let b = r.read(3, head + 1, 1000).unwrap();
        assert_eq!(b.first().unwrap().record.seq, 4);
        assert_eq!(b.last().unwrap().record.seq, head + 1);

        // A fresh reader from a cursor deep in the trail starts in a later segment.
        let mut r = SegmentReader::new(dir.path());
        let b = r.read(head - 2, head + 1, 100).unwrap();
        assert_eq!(
            b.iter().map(|s| s.record.seq).collect::<Vec<_>>(),
            [head - 1, head, head + 1]
        );
        assert!(r.seg > 1);
    }

    #[test]
    fn reader_waits_for_an_incomplete_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        {
            let log = AuditLog::open(dir.path()).unwrap();
            rt.block_on(log.append(ev("One"))).unwrap();
        }
        let seg = dir.path().join(segment_name(1));
        let whole = std::fs::read_to_string(&seg).unwrap();
        let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(b"{\"seq\":2,").unwrap();
        let mut r = SegmentReader::new(dir.path());
        assert_eq!(r.read(0, 10, 10).unwrap().len(), 1);
        assert_eq!(r.offset, whole.len() as u64, "stops before the incomplete line");
        assert!(r.read(1, 10, 10).unwrap().is_empty());
    }

    #[test]
    fn targets_parse_and_refuse_what_they_cannot_use() {
        let t = Targets::parse(
            Some("tcp://127.0.0.1:5140"),
            None,
            Some("http://127.0.0.1:8080/in"),
            None,
        )
        .unwrap();
        let s = t.syslog.unwrap();
        assert_eq!((s.host.as_str(), s.port, s.tls), ("127.0.0.1", 5140, false));
        assert_eq!(t.webhook.unwrap().uri.to_string(), "http://127.0.0.1:8080/in");
        let s = Targets::parse(Some("tls://siem.example:6514"), Some(Path::new("/ca.pem")), None, None)
            .unwrap()
            .syslog
            .unwrap();
        assert!(s.tls && s.ca.is_some());
        assert_eq!(
            Targets::parse(Some("tls://[::1]:6514"), None, None, None)
                .unwrap()
                .syslog
                .unwrap()
                .host,
            "::1"
        );
        for bad in [
            "udp://h:514",
            "tcp://h",
            "tcp://h:0",
            "tcp://h:x",
            "tcp://:514",
            "h:514",
            "tcp://h:514/x",
        ] {
            assert!(Targets::parse(Some(bad), None, None, None).is_err(), "{bad}");
        }
        assert!(Targets::parse(Some("tcp://h:514"), Some(Path::new("/ca.pem")), None, None).is_err());
        assert!(Targets::parse(None, Some(Path::new("/ca.pem")), None, None).is_err());
        for bad in ["ftp://h/x", "http://", "h:80/x", "http://u:p@h/x"] {
            assert!(Targets::parse(None, None, Some(bad), None).is_err(), "{bad}");
        }
        assert!(Targets::parse(None, None, Some("http://h/x"), Some(Path::new("/ca.pem"))).is_err());
        assert!(!Targets::parse(None, None, None, None).unwrap().any());
    }
}
