//! `wormgate report`: the inventory an auditor signs off — every version (and delete marker) with its
//! key, version id, size, SHA-256, creation time, retain-until and legal hold; and with `--capacity`
//! the capacity summary a backup admin watches: bytes and versions per bucket, quota use, free space
//! of the data volume and whether the free-space reserve is reached.

use super::error::EvidenceError;
use crate::audit::export::csv_line;
use crate::store::Catalog;
use crate::timefmt::{format_iso, iso_ms};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
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
pub fn rows(catalog: &Catalog, bucket: Option<&str>) -> Result<Vec<ReportRow>, EvidenceError> {
    let mut out: Vec<ReportRow> = Vec::new();
    let mut last_key: Option<(String, String)> = None;
    for item in catalog.all_versions() {
        let (raw, rec) = item.map_err(|e| EvidenceError::CatalogRead(e.into()))?;
        let row = if let Some(r) = rec {
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
        } else {
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

/// `report --capacity`: one bucket's usage against its quota.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityRow {
    pub bucket: String,
    pub bytes: u64,
    pub versions: u64,
    pub quota_bytes: Option<u64>,
    pub quota_versions: Option<u64>,
    /// The larger of bytes/quota and versions/quota, in percent; `None` without a quota.
    pub quota_used_percent: Option<f64>,
}

/// The capacity summary of every bucket (or of `bucket`) and the free space of the data volume.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityReport {
    pub buckets: Vec<CapacityRow>,
    /// Free space of the data volume (`None` when it cannot be read).
    pub free_space: Option<crate::store::capacity::FreeSpace>,
    /// Free space is at or below the reserve: new versions are refused.
    pub reserve_alarm: Option<bool>,
}

/// Build the capacity summary from the catalog's counters; `free` from the data volume.
pub fn capacity(
    catalog: &Catalog,
    bucket: Option<&str>,
    free: Option<crate::store::capacity::FreeSpace>,
) -> Result<CapacityReport, EvidenceError> {
    let names: Vec<String> = catalog
        .list_buckets()
        .map_err(|e| EvidenceError::Catalog(e.into()))?
        .into_iter()
        .map(|b| b.name)
        .filter(|n| bucket.is_none_or(|b| b == n))
        .collect();
    let buckets = catalog
        .capacity()
        .buckets(&names)
        .into_iter()
        .map(|c| {
            let pct = |used: u64, max: u64| {
                if max == 0 {
                    100.0
                } else {
                    crate::units::approx_f64(used) * 100.0 / crate::units::approx_f64(max)
                }
            };
            let q = c.quota.unwrap_or_default();
            let used = [
                q.bytes.map(|m| pct(c.usage.bytes, m)),
                q.versions.map(|m| pct(c.usage.versions, m)),
            ]
            .into_iter()
            .flatten()
            .reduce(f64::max);
            CapacityRow {
                bucket: c.bucket,
                bytes: c.usage.bytes,
                versions: c.usage.versions,
                quota_bytes: q.bytes,
                quota_versions: q.versions,
                quota_used_percent: used.map(|p| (p * 100.0).round() / 100.0),
            }
        })
        .collect();
    Ok(CapacityReport {
        buckets,
        free_space: free,
        reserve_alarm: free.map(|f| f.below_reserve()),
    })
}

/// Render the capacity summary: JSON, or CSV (one line per bucket, then `#` comment lines with the
/// free space).
pub fn render_capacity(r: &CapacityReport, format: ReportFormat) -> String {
    match format {
        ReportFormat::Json => serde_json::to_string_pretty(r).unwrap_or_default() + "\n",
        ReportFormat::Csv => {
            let mut out = csv_line(&[
                "bucket",
                "bytes",
                "versions",
                "quota_bytes",
                "quota_versions",
                "quota_used_percent",
            ]);
            let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
            for b in &r.buckets {
                out.push_str(&csv_line(&[
                    b.bucket.clone(),
                    b.bytes.to_string(),
                    b.versions.to_string(),
                    opt(b.quota_bytes),
                    opt(b.quota_versions),
                    b.quota_used_percent.map(|p| p.to_string()).unwrap_or_default(),
                ]));
            }
            if let Some(f) = r.free_space {
                let _ = writeln!(
                    out,
                    "# free_bytes={} size_bytes={} reserve_bytes={} reserve_alarm={}",
                    f.available,
                    f.total,
                    f.reserve,
                    f.below_reserve()
                );
            }
            out
        }
    }
}
