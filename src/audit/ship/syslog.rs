//! The syslog sink: each audit record is one RFC 5424 message, framed by octet counting (RFC 6587
//! §3.4.1: `LEN SP MSG`) on one long-lived TCP or TLS connection. A batch counts as delivered once it
//! was written and flushed; TCP syslog has no acknowledgement of its own, so after a broken connection
//! the batch before the failed one is sent again too (at least once, duplicates allowed).
//!
//! Message layout (facility 13, "log audit"):
//! `<PRI>1 TIME HOST wormgate PID OPERATION [wormgate@32473 seq=".." prev=".." hash=".." …] BOM JSON`
//! where JSON is the record's exact line in the audit segment, so a receiver can recompute its hash
//! and check that each `prev` is the `hash` before it. 32473 is the example enterprise number of
//! RFC 5612.

use super::{host_port, tls_config, ShipError, Shipped};
use crate::audit::AuditRecord;
use futures_util::FutureExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// SD-ID of the structured data element every message carries.
pub const SD_ID: &str = "wormgate@32473";
/// RFC 5424 facility "log audit".
const FACILITY: u8 = 13;
/// Connect and write deadline.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A configured syslog receiver: `tcp://HOST:PORT` or `tls://HOST:PORT` (with an optional CA file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogTarget {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub ca: Option<PathBuf>,
}

impl SyslogTarget {
    /// Parse `--audit-syslog` (and `--audit-syslog-ca`).
    pub fn parse(s: &str, ca: Option<&Path>) -> Result<SyslogTarget, ShipError> {
        const FLAG: &str = "--audit-syslog";
        let s = s.trim();
        let bad = |why| ShipError::Target {
            flag: FLAG,
            value: s.to_string(),
            why,
        };
        let (tls, rest) = if let Some(r) = s.strip_prefix("tcp://") {
            (false, r)
        } else if let Some(r) = s.strip_prefix("tls://") {
            (true, r)
        } else {
            return Err(bad("must look like tcp://HOST:PORT or tls://HOST:PORT"));
        };
        if ca.is_some() && !tls {
            return Err(bad("--audit-syslog-ca needs a tls:// receiver"));
        }
        let (host, port) = host_port(FLAG, s, rest)?;
        Ok(SyslogTarget {
            host,
            port,
            tls,
            ca: ca.map(Path::to_path_buf),
        })
    }

    /// `tcp://HOST:PORT` / `tls://HOST:PORT`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "tls" } else { "tcp" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// A byte stream to the receiver, plain or TLS.
trait Conn: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Conn for T {}

/// The sink: the target, its TLS settings, the open connection and the last batch written on it.
pub struct SyslogSink {
    target: SyslogTarget,
    tls: Option<(Arc<rustls::ClientConfig>, rustls_pki_types::ServerName<'static>)>,
    conn: Option<Box<dyn Conn>>,
    /// The batch written last on a connection that has since broken: sent again first.
    last: Vec<Shipped>,
    /// Whether the connection broke since `last` was written.
    broken: bool,
    hostname: String,
    procid: String,
}

impl SyslogSink {
    /// Prepare the sink (TLS roots are loaded here, so a bad CA file stops the start).
    pub fn new(target: SyslogTarget) -> Result<SyslogSink, ShipError> {
        let tls = if target.tls {
            let name = rustls_pki_types::ServerName::try_from(target.host.clone()).map_err(|_| ShipError::Target {
                flag: "--audit-syslog",
                value: target.url(),
                why: "the host is not a valid TLS server name",
            })?;
            Some((tls_config(target.ca.as_deref())?, name))
        } else {
            None
        };
        Ok(SyslogSink {
            target,
            tls,
            conn: None,
            last: Vec::new(),
            broken: false,
            hostname: local_hostname(),
            procid: std::process::id().to_string(),
        })
    }

    /// The target as configured.
    pub fn target(&self) -> String {
        self.target.url()
    }

    fn io_err(&self, source: std::io::Error) -> ShipError {
        ShipError::Io {
            target: self.target.url(),
            source,
        }
    }

    async fn connect(&self) -> Result<Box<dyn Conn>, ShipError> {
        let tcp = tokio::net::TcpStream::connect((self.target.host.as_str(), self.target.port))
            .await
            .map_err(|e| self.io_err(e))?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some((cfg, name)) => {
                let tls = tokio_rustls::TlsConnector::from(cfg.clone())
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| self.io_err(e))?;
                Ok(Box::new(tls))
            }
        }
    }

    /// Write `batch` (after the batch of a broken connection, if any) and flush.
    pub async fn deliver(&mut self, batch: &[Shipped]) -> Result<(), ShipError> {
        // A receiver never sends anything: a readable end of stream means it closed the connection,
        // and writing into it would "succeed" into a dead socket.
        if let Some(c) = &mut self.conn {
            let mut probe = [0u8; 256];
            if let Some(Ok(0) | Err(_)) = c.read(&mut probe).now_or_never() {
                self.conn = None;
                self.broken = true;
            }
        }
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => match tokio::time::timeout(IO_TIMEOUT, self.connect()).await {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    return Err(ShipError::Timeout {
                        target: self.target.url(),
                        secs: IO_TIMEOUT.as_secs(),
                    })
                }
            },
        };
        let mut buf = Vec::new();
        let resend = if self.broken { self.last.as_slice() } else { &[] };
        for s in resend.iter().chain(batch) {
            frame(
                &mut buf,
                &format_message(&s.record, &s.line, &self.hostname, &self.procid),
            );
        }
        let wrote = tokio::time::timeout(IO_TIMEOUT, async {
            conn.write_all(&buf).await?;
            conn.flush().await
        })
        .await;
        match wrote {
            Ok(Ok(())) => {
                self.conn = Some(conn);
                self.broken = false;
                self.last = batch.to_vec();
                Ok(())
            }
            Ok(Err(e)) => {
                self.broken = true;
                Err(self.io_err(e))
            }
            Err(_) => {
                self.broken = true;
                Err(ShipError::Timeout {
                    target: self.target.url(),
                    secs: IO_TIMEOUT.as_secs(),
                })
            }
        }
    }
}

/// Append `msg` to `buf` with octet-counting framing (RFC 6587 §3.4.1).
pub fn frame(buf: &mut Vec<u8>, msg: &str) {
    buf.extend_from_slice(msg.len().to_string().as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(msg.as_bytes());
}

/// The machine's host name for the HOSTNAME field (`-` when unknown).
fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map_or_else(|| "-".into(), |h| header_field(h.trim(), 255))
}

/// A header field: printable US-ASCII without spaces, at most `max` characters; `-` when empty.
fn header_field(s: &str, max: usize) -> String {
    let v: String = s.chars().filter(char::is_ascii_graphic).take(max).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v
    }
}

/// Escape a structured-data parameter value: `"`, `\` and `]` get a backslash (RFC 5424 §6.3.3).
pub fn escape_param(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Severity by decision: allowed requests are informational, refusals notices, errors warnings, and
/// the gateway's own integrity and clock alarms alerts.
fn severity(decision: &str) -> u8 {
    match decision {
        "allow" => 6,
        "deny" => 5,
        "alarm" => 1,
        _ => 4,
    }
}

/// One RFC 5424 message for `rec`, whose exact segment line is `line`.
pub fn format_message(rec: &AuditRecord, line: &str, hostname: &str, procid: &str) -> String {
    use std::fmt::Write;
    let ev = &rec.event;
    let pri = FACILITY * 8 + severity(&ev.decision);
    let time = if chrono::DateTime::parse_from_rfc3339(&ev.time).is_ok() {
        ev.time.as_str()
    } else {
        "-"
    };
    let mut m = format!(
        "<{pri}>1 {time} {} wormgate {} {} [{SD_ID}",
        header_field(hostname, 255),
        header_field(procid, 128),
        header_field(&ev.operation, 32)
    );
    let _ = write!(m, " seq=\"{}\"", rec.seq);
    let _ = write!(m, " prev=\"{}\"", escape_param(&rec.prev));
    let _ = write!(m, " hash=\"{}\"", escape_param(&rec.hash));
    let _ = write!(m, " decision=\"{}\"", escape_param(&ev.decision));
    let _ = write!(m, " status=\"{}\"", ev.status);
    let optional = [
        ("principal", &ev.principal),
        ("bucket", &ev.bucket),
        ("key", &ev.key),
        ("versionId", &ev.version_id),
        ("requestId", &Some(ev.request_id.clone()).filter(|s| !s.is_empty())),
    ];
    for (name, v) in optional {
        if let Some(v) = v {
            let _ = write!(m, " {name}=\"{}\"", escape_param(v));
        }
    }
    m.push_str("] \u{feff}");
    m.push_str(line);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, AuditRecord};

    fn rec(key: &str, decision: &str) -> AuditRecord {
        let event = AuditEvent {
            time: "2030-01-02T03:04:05.678Z".into(),
            request_id: "r1".into(),
            principal: Some("alice".into()),
            operation: "PutObject".into(),
            bucket: Some("b".into()),
            key: Some(key.into()),
            decision: decision.into(),
            status: 200,
            ..Default::default()
        };
        let prev = "00".repeat(32);
        AuditRecord {
            seq: 7,
            hash: AuditRecord::compute_hash(7, &prev, &event),
            prev,
            event,
        }
    }

    #[test]
    fn structured_data_escapes_quote_backslash_and_bracket() {
        assert_eq!(escape_param(r#"a]b"c\d"#), r#"a\]b\"c\\d"#);
        assert_eq!(escape_param("plain [x] ü"), r"plain [x\] ü");
        let r = rec(r#"we]ird"key\"#, "allow");
        let line = r.canonical_line();
        let m = format_message(&r, &line, "gw-1", "42");
        assert!(m.contains(r#" key="we\]ird\"key\\""#), "{m}");
        // The SD element ends at the first unescaped `]`, right before the message.
        let sd_start = m.find('[').unwrap();
        let mut i = sd_start + 1;
        let b = m.as_bytes();
        while b[i] != b']' {
            i += if b[i] == b'\\' { 2 } else { 1 };
        }
        assert_eq!(&m[i..i + 2], "] ");
        assert_eq!(&m[i + 2..], format!("\u{feff}{line}"));
    }

    #[test]
    fn rfc5424_header_fields() {
        let r = rec("k", "deny");
        let line = r.canonical_line();
        let m = format_message(&r, &line, "gw 1", "42");
        // facility 13 (log audit) * 8 + severity 5 (notice) = 109.
        let want = format!(
            "<109>1 2030-01-02T03:04:05.678Z gw1 wormgate 42 PutObject [wormgate@32473 seq=\"7\" prev=\"{}\" hash=\"{}\" decision=\"deny\" status=\"200\" principal=\"alice\" bucket=\"b\" key=\"k\" requestId=\"r1\"] \u{feff}",
            r.prev, r.hash
        );
        assert!(m.starts_with(&want), "{m}");
        let mut alarm = rec("k", "alarm");
        alarm.event.time = "not a time".into();
        alarm.event.operation = String::new();
        let m = format_message(&alarm, "{}", "", "42");
        assert!(m.starts_with("<105>1 - - wormgate 42 - [wormgate@32473 "), "{m}");
    }

    #[test]
    fn octet_counting_frames_count_bytes_not_characters() {
        let mut buf = Vec::new();
        frame(&mut buf, "ü1");
        frame(&mut buf, "ab");
        assert_eq!(buf, "3 ü12 ab".as_bytes());
    }

    #[test]
    fn urls_print_back() {
        let t = SyslogTarget::parse("tls://[::1]:6514", None).unwrap();
        assert_eq!(t.url(), "tls://[::1]:6514");
        assert_eq!(SyslogTarget::parse(" tcp://h:514 ", None).unwrap().url(), "tcp://h:514");
    }
}
