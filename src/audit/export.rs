//! `audit export`: the records an examiner asks for, filtered by time, bucket and key, as JSON lines
//! (the stored lines, unchanged, so their hashes still verify) or CSV (RFC 4180 quoting).

use super::chain::{self, AuditRecord};
use chrono::{DateTime, NaiveDate, Utc};
use std::io::Write;
use std::path::Path;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// JSON lines, as stored (`json` accepted too: people ask for "JSON").
    #[value(alias = "json")]
    #[serde(alias = "json")]
    Jsonl,
    Csv,
}

/// Which records to export.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// Inclusive lower bound on the record time.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive upper bound on the record time.
    pub until: Option<DateTime<Utc>>,
    pub bucket: Option<String>,
    pub key: Option<String>,
}

impl ExportFilter {
    pub fn matches(&self, r: &AuditRecord) -> bool {
        if self.since.is_some() || self.until.is_some() {
            let Some(t) = DateTime::parse_from_rfc3339(&r.event.time)
                .ok()
                .map(|t| t.with_timezone(&Utc))
            else {
                return false;
            };
            if self.since.is_some_and(|s| t < s) || self.until.is_some_and(|u| t >= u) {
                return false;
            }
        }
        if let Some(b) = &self.bucket {
            if r.event.bucket.as_deref() != Some(b.as_str()) {
                return false;
            }
        }
        if let Some(k) = &self.key {
            let direct = r.event.key.as_deref() == Some(k.as_str());
            let changed = r.event.changes.iter().any(|c| match c {
                super::Change::DeleteMarkerAdded { key, .. }
                | super::Change::DeleteMarkerRemoved { key, .. }
                | super::Change::VersionRemoved { key, .. } => key == k,
                super::Change::BucketDefaultRetention { .. } => false,
            });
            if !direct && !changed {
                return false;
            }
        }
        true
    }
}

/// Parse a time bound: RFC 3339, or a date `YYYY-MM-DD` (midnight UTC).
pub fn parse_time_bound(s: &str) -> Result<DateTime<Utc>, super::error::TimeBoundError> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .ok_or_else(|| super::error::TimeBoundError(s.to_string()))
}

/// CSV columns, in order.
pub const CSV_HEADER: &[&str] = &[
    "seq",
    "time",
    "request_id",
    "principal",
    "source",
    "operation",
    "bucket",
    "key",
    "version_id",
    "decision",
    "rule",
    "status",
    "error_code",
    "bytes_in",
    "bytes_out",
    "sha256",
    "retain_until",
    "legal_hold",
    "detail",
    "asked_mode",
    "changes",
    "prev",
    "hash",
];

/// Quote one CSV field when needed (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One CSV line (with `\r\n`).
pub fn csv_line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut out = fields
        .iter()
        .map(|f| csv_field(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

fn csv_record(r: &AuditRecord) -> String {
    let e = &r.event;
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let changes = if e.changes.is_empty() {
        String::new()
    } else {
        serde_json::to_string(&e.changes).unwrap_or_default()
    };
    csv_line(&[
        r.seq.to_string(),
        e.time.clone(),
        e.request_id.clone(),
        o(&e.principal),
        o(&e.source),
        e.operation.clone(),
        o(&e.bucket),
        o(&e.key),
        o(&e.version_id),
        e.decision.clone(),
        o(&e.rule),
        e.status.to_string(),
        o(&e.error_code),
        e.bytes_in.to_string(),
        e.bytes_out.to_string(),
        o(&e.sha256),
        o(&e.retain_until),
        e.legal_hold
            .map(|b| if b { "ON" } else { "OFF" }.to_string())
            .unwrap_or_default(),
        o(&e.detail),
        o(&e.asked_mode),
        changes,
        r.prev.clone(),
        r.hash.clone(),
    ])
}

/// Write the matching records of the trail in `dir` to `out`. Returns how many were written.
pub fn export(dir: &Path, filter: &ExportFilter, format: ExportFormat, out: &mut dyn Write) -> std::io::Result<u64> {
    let mut n = 0;
    if format == ExportFormat::Csv {
        out.write_all(csv_line(CSV_HEADER).as_bytes())?;
    }
    for seg in chain::segments(dir)? {
        let text = std::fs::read_to_string(&seg)?;
        for line in text.lines() {
            let Ok(r) = serde_json::from_str::<AuditRecord>(line) else {
                continue;
            };
            if !filter.matches(&r) {
                continue;
            }
            match format {
                ExportFormat::Jsonl => {
                    out.write_all(line.as_bytes())?;
                    out.write_all(b"\n")?;
                }
                ExportFormat::Csv => out.write_all(csv_record(&r).as_bytes())?,
            }
            n += 1;
        }
    }
    out.flush()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditEvent;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_line(&["a", "b,c"]), "a,\"b,c\"\r\n");
    }

    #[test]
    fn filters() {
        let rec = |time: &str, b: &str, k: &str| AuditRecord {
            seq: 1,
            prev: String::new(),
            hash: String::new(),
            event: AuditEvent {
                time: time.into(),
                bucket: Some(b.into()),
                key: Some(k.into()),
                ..Default::default()
            },
        };
        let f = ExportFilter {
            since: Some(parse_time_bound("2030-01-01").unwrap()),
            until: Some(parse_time_bound("2030-01-02T00:00:00Z").unwrap()),
            bucket: Some("b".into()),
            key: None,
        };
        assert!(f.matches(&rec("2030-01-01T00:00:00.000Z", "b", "k")));
        assert!(!f.matches(&rec("2030-01-02T00:00:00.000Z", "b", "k")));
        assert!(!f.matches(&rec("2029-12-31T23:59:59.999Z", "b", "k")));
        assert!(!f.matches(&rec("2030-01-01T10:00:00.000Z", "c", "k")));
        let f = ExportFilter {
            key: Some("k".into()),
            ..Default::default()
        };
        assert!(f.matches(&rec("x", "b", "k")));
        assert!(!f.matches(&rec("x", "b", "kk")));
        assert!(parse_time_bound("yesterday").is_err());
    }
}
