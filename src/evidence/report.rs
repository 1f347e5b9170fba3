//! `wormgate report`: the inventory an auditor signs off — every version (and delete marker) with its
//! key, version id, size, SHA-256, creation time, retain-until and legal hold.

use crate::audit::export::csv_line;
use crate::store::Catalog;
use crate::timefmt::{format_iso, iso_ms};
use serde::{Deserialize, Serialize};
use std::io::Write;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    Csv,
    Json,
}

/// One version in the inventory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReportRow {
    pub bucket: String,
    pub key: String,
    pub version_id: String,
    pub is_latest: bool,
    pub delete_marker: bool,
    pub size: u64,
    pub etag: String,
    pub sha256: String,
    /// RFC 3339.
    pub created: String,
    pub retention_mode: Option<String>,
    /// RFC 3339.
    pub retain_until: Option<String>,
    pub legal_hold: bool,
    /// `ok`, or `corrupt-record` for a catalog record that does not decode (treated as locked).
    pub status: String,
}

/// CSV columns.
pub const COLUMNS: &[&str] = &[
    "bucket",
    "key",
    "version_id",
    "is_latest",
    "delete_marker",
    "size",
    "etag",
    "sha256",
    "created",
    "retention_mode",
    "retain_until",
    "legal_hold",
    "status",
];

/// Every version of the catalog (or of `bucket`), in key order, newest version of a key first.
pub fn rows(catalog: &Catalog, bucket: Option<&str>) -> Result<Vec<ReportRow>, String> {
    let mut out: Vec<ReportRow> = Vec::new();
    let mut last_key: Option<(String, String)> = None;
    for item in catalog.all_versions() {
        let (raw, rec) = item.map_err(|e| format!("catalog read failed: {}", e.message))?;
        let row = match rec {
            Some(r) => {
                if bucket.is_some_and(|b| b != r.bucket) {
                    continue;
                }
                ReportRow {
                    bucket: r.bucket.clone(),
                    key: r.key.clone(),
                    version_id: r.version_id.clone(),
                    is_latest: false,
                    delete_marker: r.delete_marker,
                    size: r.size,
                    etag: r.etag.clone(),
                    sha256: r.sha256.clone(),
                    created: iso_ms(r.created_ms),
                    retention_mode: r.retention.map(|_| "COMPLIANCE".to_string()),
                    retain_until: r.retention.map(|x| format_iso(x.retain_until())),
                    legal_hold: r.legal_hold,
                    status: "ok".into(),
                }
            }
            None => {
                let mut parts = raw.splitn(3, |b| *b == 0);
                let b = String::from_utf8_lossy(parts.next().unwrap_or_default()).to_string();
                let k = String::from_utf8_lossy(parts.next().unwrap_or_default()).to_string();
                if bucket.is_some_and(|x| x != b) {
                    continue;
                }
                ReportRow {
                    bucket: b,
                    key: k,
                    version_id: String::new(),
                    is_latest: false,
                    delete_marker: false,
                    size: 0,
                    etag: String::new(),
                    sha256: String::new(),
                    created: String::new(),
                    retention_mode: None,
                    retain_until: None,
                    legal_hold: false,
                    status: "corrupt-record".into(),
                }
            }
        };
        let this_key = (row.bucket.clone(), row.key.clone());
        let mut row = row;
        row.is_latest = last_key.as_ref() != Some(&this_key);
        last_key = Some(this_key);
        out.push(row);
    }
    Ok(out)
}

/// Write rows in `format`.
pub fn write(rows: &[ReportRow], format: ReportFormat, out: &mut dyn Write) -> std::io::Result<()> {
    match format {
        ReportFormat::Csv => {
            out.write_all(csv_line(COLUMNS).as_bytes())?;
            for r in rows {
                let line = csv_line(&[
                    r.bucket.clone(),
                    r.key.clone(),
                    r.version_id.clone(),
                    r.is_latest.to_string(),
                    r.delete_marker.to_string(),
                    r.size.to_string(),
                    r.etag.clone(),
                    r.sha256.clone(),
                    r.created.clone(),
                    r.retention_mode.clone().unwrap_or_default(),
                    r.retain_until.clone().unwrap_or_default(),
                    if r.legal_hold { "ON" } else { "OFF" }.to_string(),
                    r.status.clone(),
                ]);
                out.write_all(line.as_bytes())?;
            }
        }
        ReportFormat::Json => {
            out.write_all(b"[")?;
            for (i, r) in rows.iter().enumerate() {
                out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
                out.write_all(&serde_json::to_vec(r).map_err(std::io::Error::other)?)?;
            }
            out.write_all(b"\n]\n")?;
        }
    }
    out.flush()
}

/// The report as a string.
pub fn render(rows: &[ReportRow], format: ReportFormat) -> String {
    let mut buf = Vec::new();
    let _ = write(rows, format, &mut buf);
    String::from_utf8(buf).unwrap_or_default()
}
