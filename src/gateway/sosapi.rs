//! Veeam's Smart Object Storage API (SOSAPI): two virtual, read-only documents per bucket,
//! `<prefix/>.system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c/system.xml` and `…/capacity.xml`, that
//! Veeam reads with ordinary signed GET/HEAD (Range included) to learn the capacity and the
//! recommended settings; its "archive" repositories require them. They are synthesised on every read
//! and never stored: a stored version would be retained (≥ the floor) on every refresh, listed and
//! counted. Writes to that folder are refused.

use super::object::resolve_range;
use super::{Done, Gateway, Outcome};
use crate::s3::conditions::{precondition_failed, Verdict};
use crate::s3::error::{S3Code, S3Error, S3Result};
use crate::s3::op::{Op, ReadObject, VersionSel};
use crate::s3::respond::{full_body, Reply};
use crate::timefmt::http_date;
use http::StatusCode;
use md5::Digest;
use std::path::PathBuf;

/// The folder name Veeam looks for (SOSAPI 1.0), at the bucket root or under its repository folder.
pub const SOSAPI_DIR: &str = ".system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c";

/// Where the reported capacity comes from (first that applies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapacitySource {
    /// `--sosapi-capacity` bytes (upstream mode, or to report less than the disk).
    Configured(u64),
    /// The size of the file system holding the data directory (disk mode).
    DataDisk(PathBuf),
    /// Nothing to report (upstream mode without `--sosapi-capacity`): `CapacityInfo` is `false` and
    /// `capacity.xml` does not exist — better than a made-up number Veeam would plan with.
    Unknown,
}

/// `--veeam-sosapi` and its recommendations (`SystemRecommendations` of `system.xml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SosapiSettings {
    /// `S3ConcurrentTaskLimit`: requests Veeam keeps in flight per repository.
    pub concurrent_task_limit: u32,
    /// `S3MultiObjectDeleteLimit`: keys per `DeleteObjects` (at most 1000, what `DeleteObjects` accepts).
    pub multi_object_delete_limit: u32,
    /// `KbBlockSize`: Veeam's block size in KiB; bigger blocks mean fewer objects and smaller
    /// retention-extension bursts (Veeam KB4470).
    pub kb_block_size: u32,
    pub capacity: CapacitySource,
    /// Last-Modified of `system.xml`: when the gateway started (its content changes only with a restart).
    pub started_ms: i64,
}

/// Which SOSAPI document a key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SosapiDoc {
    System,
    Capacity,
}

/// The document `key` names: `[prefix/]<SOSAPI_DIR>/system.xml` or `…/capacity.xml`.
pub fn doc_of(key: &str) -> Option<SosapiDoc> {
    let (dir, file) = key.rsplit_once('/')?;
    if dir.rsplit('/').next() != Some(SOSAPI_DIR) {
        return None;
    }
    match file {
        "system.xml" => Some(SosapiDoc::System),
        "capacity.xml" => Some(SosapiDoc::Capacity),
        _ => None,
    }
}

/// Whether `key` lies in a SOSAPI folder (any file): such keys are never written.
pub fn is_sosapi_path(key: &str) -> bool {
    key.split('/').any(|c| c == SOSAPI_DIR)
}

/// The refusal of a write into a SOSAPI folder.
pub fn refused_write(key: &str) -> S3Error {
    S3Error::access_denied(format!(
        "Access Denied: '{key}' lies in {SOSAPI_DIR}/, the virtual read-only documents of Veeam's Smart Object Storage API; they are synthesised by the gateway and cannot be written or deleted"
    ))
    .with_rule("sosapi_read_only")
}

/// `system.xml`. The double quotes around `ProtocolVersion` and `ModelName` are part of the values:
/// Veeam rejects the document without them.
pub fn system_xml(s: &SosapiSettings, capacity: bool) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<SystemInfo>\
<ProtocolVersion>\"1.0\"</ProtocolVersion>\
<ModelName>\"wormgate {}\"</ModelName>\
<ProtocolCapabilities><CapacityInfo>{capacity}</CapacityInfo><UploadSessions>false</UploadSessions><IAMSTS>false</IAMSTS></ProtocolCapabilities>\
<SystemRecommendations><S3ConcurrentTaskLimit>{}</S3ConcurrentTaskLimit><S3MultiObjectDeleteLimit>{}</S3MultiObjectDeleteLimit><KbBlockSize>{}</KbBlockSize></SystemRecommendations>\
</SystemInfo>\n",
        env!("CARGO_PKG_VERSION"),
        s.concurrent_task_limit,
        s.multi_object_delete_limit,
        s.kb_block_size
    )
}

/// `capacity.xml`: Available = Capacity − Used, never negative, and never more than `room` — what the
/// data volume can still take above the free-space reserve, when the bytes land on it.
pub fn capacity_xml(capacity: u64, used: u64, room: Option<u64>) -> String {
    let available = capacity.saturating_sub(used).min(room.unwrap_or(u64::MAX));
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CapacityInfo><Capacity>{capacity}</Capacity><Available>{available}</Available><Used>{used}</Used></CapacityInfo>\n"
    )
}

/// The capacity Veeam should plan with, in bytes; `None` when there is nothing true to report.
/// The bucket's byte quota goes before the gateway-wide source: it is the bucket's real limit.
pub fn capacity_bytes(quota_bytes: Option<u64>, source: &CapacitySource) -> Option<u64> {
    if quota_bytes.is_some() {
        return quota_bytes;
    }
    match source {
        CapacitySource::Configured(b) => Some(*b),
        CapacitySource::DataDisk(dir) => fs2::total_space(dir).ok(),
        CapacitySource::Unknown => None,
    }
}

impl Gateway {
    /// The SOSAPI answer to `op`, if SOSAPI is on and `op` concerns its documents: GET/HEAD are
    /// synthesised, writes into the folder refused. `None`: route `op` as usual.
    pub(super) fn sosapi(&self, op: &Op) -> Option<S3Result<Done>> {
        let settings = self.tools.sosapi.as_ref()?;
        match op {
            Op::GetObject(r) | Op::HeadObject(r) => {
                let doc = doc_of(&r.key)?;
                Some(self.sosapi_read(settings, doc, r, matches!(op, Op::HeadObject(_))))
            }
            _ if op.permission() == crate::s3::op::Permission::Read => None,
            _ => match op.target() {
                (_, Some(key)) if is_sosapi_path(key) => Some(Err(refused_write(key))),
                _ => None,
            },
        }
    }

    fn sosapi_read(&self, s: &SosapiSettings, doc: SosapiDoc, r: &ReadObject, head: bool) -> S3Result<Done> {
        self.require_bucket(&r.bucket)?;
        if r.version != VersionSel::Current {
            return Err(S3Error::new(
                S3Code::NoSuchVersion,
                "The specified version does not exist.",
            ));
        }
        // Every version counted (retained bytes are bytes), from the catalog's usage counters.
        let cap = self.catalog.capacity();
        let used = cap.usage(&r.bucket).bytes;
        let capacity = capacity_bytes(cap.quota(&r.bucket).and_then(|(q, _)| q.bytes), &s.capacity);
        let (text, modified_ms) = match doc {
            SosapiDoc::System => (system_xml(s, capacity.is_some()), s.started_ms),
            SosapiDoc::Capacity => {
                let capacity = capacity.ok_or_else(|| {
                    S3Error::new(
                        S3Code::NoSuchKey,
                        "The specified key does not exist: no capacity is known (upstream mode without --sosapi-capacity)",
                    )
                })?;
                let room = if self.blobs_are_local() {
                    self.disk_reserve()
                        .and_then(|r| r.status().ok())
                        .map(|f| f.available.saturating_sub(f.reserve))
                } else {
                    None
                };
                (
                    capacity_xml(capacity, used, room),
                    self.clock.now().at().timestamp_millis(),
                )
            }
        };
        let bytes = text.into_bytes();
        let etag = hex::encode(md5::Md5::digest(&bytes));
        let size = bytes.len() as u64;
        let base = |status| {
            Reply::empty(status)
                .header("etag", super::util::quoted(&etag))
                .header("last-modified", http_date(modified_ms))
        };
        match r.conditions.evaluate(&etag, modified_ms) {
            Verdict::Proceed => {}
            Verdict::NotModified => return Ok(Done::from(base(StatusCode::NOT_MODIFIED))),
            Verdict::PreconditionFailed => return Err(precondition_failed()),
        }
        let (start, end, status) = match r.range {
            Some(range) => {
                let (a, b) = resolve_range(range, size).ok_or_else(|| {
                    S3Error::new(S3Code::InvalidRange, "The requested range is not satisfiable")
                        .with_header("content-range", format!("bytes */{size}"))
                })?;
                (a, b, StatusCode::PARTIAL_CONTENT)
            }
            None => (0, size.saturating_sub(1), StatusCode::OK),
        };
        let len = if size == 0 { 0 } else { end - start + 1 };
        let mut reply = base(status)
            .header("content-type", "application/xml")
            .header("accept-ranges", "bytes")
            .header("content-length", len.to_string());
        if status == StatusCode::PARTIAL_CONTENT {
            reply = reply.header("content-range", format!("bytes {start}-{end}/{size}"));
        }
        let mut outcome = Outcome::default();
        if !head {
            let (a, b) = (
                usize::try_from(start).unwrap_or(0),
                usize::try_from(start + len).unwrap_or(0),
            );
            reply.body = full_body(bytes.get(a..b).map(<[u8]>::to_vec).unwrap_or_default());
            outcome.bytes_out = len;
        }
        outcome.detail = Some("SOSAPI document (synthesised, not stored)".into());
        Ok(Done::new(reply, outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(capacity: CapacitySource) -> SosapiSettings {
        SosapiSettings {
            concurrent_task_limit: 64,
            multi_object_delete_limit: 1000,
            kb_block_size: 4096,
            capacity,
            started_ms: 0,
        }
    }

    #[test]
    fn documents_are_found_at_the_root_and_under_any_prefix() {
        let d = SOSAPI_DIR;
        assert_eq!(doc_of(&format!("{d}/system.xml")), Some(SosapiDoc::System));
        assert_eq!(doc_of(&format!("{d}/capacity.xml")), Some(SosapiDoc::Capacity));
        assert_eq!(
            doc_of(&format!("Veeam/Archive/{d}/system.xml")),
            Some(SosapiDoc::System)
        );
        assert_eq!(doc_of(&format!("{d}/other.xml")), None);
        assert_eq!(doc_of(&format!("x{d}/system.xml")), None);
        assert_eq!(doc_of("system.xml"), None);
        assert_eq!(doc_of(&format!("{d}/sub/system.xml")), None);
        assert!(is_sosapi_path(&format!("a/{d}/anything")));
        assert!(!is_sosapi_path(&format!("a/{d}x/anything")));
    }

    #[test]
    fn system_xml_has_the_quoted_values_and_the_recommendations() {
        let x = system_xml(&settings(CapacitySource::Configured(1)), true);
        assert!(x.contains("<ProtocolVersion>\"1.0\"</ProtocolVersion>"), "{x}");
        assert!(
            x.contains(&format!(
                "<ModelName>\"wormgate {}\"</ModelName>",
                env!("CARGO_PKG_VERSION")
            )),
            "{x}"
        );
        assert!(
            x.contains("<CapacityInfo>true</CapacityInfo><UploadSessions>false</UploadSessions><IAMSTS>false</IAMSTS>")
        );
        assert!(x.contains("<S3ConcurrentTaskLimit>64</S3ConcurrentTaskLimit>"));
        assert!(x.contains("<S3MultiObjectDeleteLimit>1000</S3MultiObjectDeleteLimit>"));
        assert!(x.contains("<KbBlockSize>4096</KbBlockSize>"));
        let x = system_xml(&settings(CapacitySource::Unknown), false);
        assert!(x.contains("<CapacityInfo>false</CapacityInfo>"), "{x}");
    }

    #[test]
    fn available_is_never_negative() {
        assert!(
            capacity_xml(100, 30, None).contains("<Capacity>100</Capacity><Available>70</Available><Used>30</Used>")
        );
        assert!(capacity_xml(100, 300, None).contains("<Available>0</Available><Used>300</Used>"));
        // The volume has less room than the quota or disk size leaves: Available says so.
        assert!(capacity_xml(100, 30, Some(20)).contains("<Available>20</Available><Used>30</Used>"));
        assert!(capacity_xml(100, 30, Some(500)).contains("<Available>70</Available>"));
    }

    #[test]
    fn capacity_sources() {
        assert_eq!(capacity_bytes(None, &CapacitySource::Configured(5)), Some(5));
        assert_eq!(capacity_bytes(None, &CapacitySource::Unknown), None);
        assert_eq!(
            capacity_bytes(Some(7), &CapacitySource::Unknown),
            Some(7),
            "a bucket quota first"
        );
        assert_eq!(capacity_bytes(Some(7), &CapacitySource::Configured(5)), Some(7));
        let disk = capacity_bytes(None, &CapacitySource::DataDisk(std::env::temp_dir()));
        assert!(disk.is_some_and(|b| b > 0));
    }
}
