//! Catalog records and their on-disk encoding: `[schema u8][crc32c u32 BE][JSON]`. A record that does
//! not decode is reported as corrupt (and then treated as locked), never as absent.

use crate::checksum::{ChecksumAlgorithm, ComputedDigests};
use crate::lock::{DefaultRetention, Retention};
/// The content headers a version record stores (the request's type, kept with the record).
pub use crate::s3::op::ContentHeaders;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::BTreeMap;

/// Current record schema.
pub const SCHEMA: u8 = 1;

/// Encode a record with schema byte and CRC.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let json = serde_json::to_vec(value).unwrap_or_default();
    let mut out = Vec::with_capacity(json.len() + 5);
    out.push(SCHEMA);
    out.extend_from_slice(&crc32c::crc32c(&json).to_be_bytes());
    out.extend_from_slice(&json);
    out
}

/// Decode a record; `None` when the schema, CRC or JSON is wrong.
pub fn decode<T: DeserializeOwned>(raw: &[u8]) -> Option<T> {
    if raw.len() < 5 || raw[0] != SCHEMA {
        return None;
    }
    let crc = u32::from_be_bytes([raw[1], raw[2], raw[3], raw[4]]);
    let json = &raw[5..];
    if crc32c::crc32c(json) != crc {
        return None;
    }
    serde_json::from_slice(json).ok()
}

/// A bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketRecord {
    pub name: String,
    pub created_ms: i64,
    pub owner: String,
    /// Default retention set by `PutObjectLockConfiguration`; `None` means the gateway floor applies.
    pub default_retention: Option<DefaultRetention>,
    /// `PutBucketLifecycleConfiguration`'s rules (`None`: no configuration); absent in older records.
    #[serde(default)]
    pub lifecycle: Option<crate::s3::lifecycle::LifecycleConfiguration>,
}

/// Where a version's bytes live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlobRef {
    /// One blob holding the whole object.
    Single { id: String },
    /// A completed multipart upload: the part blobs in order (never copied again).
    Parts { parts: Vec<PartRef> },
    /// A completed multipart upload held as ONE backend object `id` (an upstream multipart upload
    /// completed from the same parts); `parts` give the part boundaries (offsets follow from the
    /// sizes) and each part's SHA-256, verified when a part is read whole. `PartRef::id` is `id`.
    Multipart { id: String, parts: Vec<PartRef> },
    /// One blob `id` held as an entry of the append-only segment file `segment` (disk mode, small
    /// versions): its data is `len` bytes at `offset` of that file, so a read needs no lookup. The
    /// entry's sidecar says `Single { id }` (written before the place was known); where it sits
    /// gives the place.
    InSegment {
        id: String,
        segment: String,
        offset: u64,
        len: u64,
    },
}

/// One part of a multipart version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRef {
    pub id: String,
    pub size: u64,
    pub etag: String,
    #[serde(default)]
    pub checksum: Option<String>,
    /// Hex SHA-256 of this part's bytes (verified on GET and by scrub when `blake3` is empty).
    #[serde(default)]
    pub sha256: String,
    /// Hex BLAKE3 of this part's bytes, what GET and scrub verify; empty in parts stored before it
    /// was recorded (those verify with `sha256`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub blake3: String,
}

/// One version (or delete marker) of one key. Data and lock fields are written once; only
/// `retention` (forward only) and `legal_hold` ever change, and only through `lock::decide`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub bucket: String,
    pub key: String,
    pub version_id: String,
    /// Catalog sequence number (from the version id); orders versions newest-first.
    pub seq: u64,
    pub created_ms: i64,
    pub delete_marker: bool,
    pub size: u64,
    /// `ETag` without quotes (hex MD5, or `hex-N` for multipart).
    pub etag: String,
    /// Hex SHA-256 of the whole content (single blob), or for multipart versions the hex SHA-256 of
    /// the concatenated binary part SHA-256s followed by `-N` (each part is verified on its own).
    pub sha256: String,
    /// Hex BLAKE3 of the whole content of a single-blob version: what GET's verify-on-read and scrub
    /// check (several times faster than SHA-256). Empty for markers, multipart versions (their parts
    /// carry their own) and versions stored before it was recorded (those verify with `sha256`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub blake3: String,
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// Base64 flexible checksum value (full-object, or `…-N` composite).
    pub checksum: Option<String>,
    /// `FULL_OBJECT` or `COMPOSITE`.
    pub checksum_type: Option<String>,
    pub headers: ContentHeaders,
    pub retention: Option<Retention>,
    pub legal_hold: bool,
    pub blob: Option<BlobRef>,
    pub owner: String,
    /// Object tags: outside the WORM record (may change), every change audited.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Number of parts for multipart versions.
    #[serde(default)]
    pub parts_count: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_corruption_detected() {
        let b = BucketRecord {
            name: "b".into(),
            created_ms: 1,
            owner: "o".into(),
            default_retention: None,
            lifecycle: None,
        };
        let mut raw = encode(&b);
        assert_eq!(decode::<BucketRecord>(&raw), Some(b));
        let last = raw.len() - 2;
        raw[last] ^= 1;
        assert_eq!(decode::<BucketRecord>(&raw), None);
        assert_eq!(decode::<BucketRecord>(&[]), None);
    }

    #[test]
    fn new_versions_record_blake3_and_old_records_decode_without_it() {
        let mut d = crate::checksum::IngestDigests::new(None);
        d.update(b"abc");
        let c = d.finish();
        let id = NewVersionId {
            bucket: "b".into(),
            key: "k".into(),
            version_id: "v1".into(),
            seq: 1,
            created_ms: 1,
            owner: "o".into(),
        };
        let rec = VersionRecord::single_blob(id, &c, ContentHeaders::default(), BTreeMap::new());
        assert_eq!(rec.blake3, blake3::hash(b"abc").to_hex().to_string());
        assert_eq!(rec.sha256, hex::encode(c.sha256), "SHA-256 stays the evidence digest");
        let part = PartRecord::stored(1, "p".into(), &c, 1);
        assert_eq!(part.blake3, rec.blake3);
        // A record written before BLAKE3 existed: the field is absent and decodes empty.
        let mut json = serde_json::to_value(&rec).unwrap();
        json.as_object_mut().unwrap().remove("blake3");
        let old: VersionRecord = serde_json::from_value(json).unwrap();
        assert_eq!(old.blake3, "");
        assert_eq!(decode::<VersionRecord>(&encode(&rec)), Some(rec));
    }

    #[test]
    fn records_without_the_multipart_fields_still_decode() {
        let part = r#"{"part_number":1,"blob_id":"u-p00001-1","size":3,"etag":"e","sha256":"s","checksum":null,"last_modified_ms":1}"#;
        let p: PartRecord = serde_json::from_str(part).unwrap();
        assert_eq!(p.upstream_etag, None);
        assert_eq!(p.blake3, "");
        let blob = r#"{"Parts":{"parts":[{"id":"a","size":1,"etag":"e"}]}}"#;
        let BlobRef::Parts { parts } = serde_json::from_str::<BlobRef>(blob).unwrap() else {
            panic!("not parts")
        };
        assert_eq!(parts[0].blake3, "", "parts stored before BLAKE3 verify with SHA-256");
        let m = BlobRef::Multipart {
            id: "u".into(),
            parts: vec![PartRef {
                id: "u".into(),
                size: 1,
                etag: "e".into(),
                checksum: None,
                sha256: "s".into(),
                blake3: "b".into(),
            }],
        };
        assert_eq!(
            serde_json::from_slice::<BlobRef>(&serde_json::to_vec(&m).unwrap()).unwrap(),
            m
        );
    }
}

/// An in-progress multipart upload (not a version: reclaimable until completed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRecord {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub initiated_ms: i64,
    pub owner: String,
    pub headers: ContentHeaders,
    /// Lock headers given at `CreateMultipartUpload`: (retain-until ms, legal hold).
    pub lock_retain_until_ms: Option<i64>,
    pub lock_mode_compliance: Option<bool>,
    pub lock_legal_hold: Option<bool>,
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// `COMPOSITE` or `FULL_OBJECT`.
    pub checksum_type: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The backend's own multipart upload (upstream `UploadId`) whose parts this upload's parts are;
    /// `None` on disk (each part is a blob of its own) and for uploads begun before it existed.
    #[serde(default)]
    pub backend_upload_id: Option<String>,
}

/// One uploaded part of an in-progress upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    pub part_number: u32,
    pub blob_id: String,
    pub size: u64,
    pub etag: String,
    pub sha256: String,
    /// Hex BLAKE3 of the part's bytes (copied into `PartRef::blake3` at completion).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub blake3: String,
    pub checksum: Option<String>,
    #[serde(default)]
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    pub last_modified_ms: i64,
    /// The `ETag` the backend's multipart upload gave this part (upstream `UploadPart`), named again at
    /// completion; `None` when the part is a blob of its own.
    #[serde(default)]
    pub upstream_etag: Option<String>,
}

/// Identity of a new version or marker: where it lives, its id and sequence, when it was made, by whom.
#[derive(Debug, Clone)]
pub struct NewVersionId {
    pub bucket: String,
    pub key: String,
    pub version_id: String,
    pub seq: u64,
    pub created_ms: i64,
    pub owner: String,
}

impl VersionRecord {
    /// A delete marker: no data, never locked.
    pub fn delete_marker(id: NewVersionId) -> Self {
        VersionRecord {
            bucket: id.bucket,
            key: id.key,
            version_id: id.version_id,
            seq: id.seq,
            created_ms: id.created_ms,
            delete_marker: true,
            size: 0,
            etag: String::new(),
            sha256: String::new(),
            blake3: String::new(),
            checksum_algorithm: None,
            checksum: None,
            checksum_type: None,
            headers: ContentHeaders::default(),
            retention: None,
            legal_hold: false,
            blob: None,
            owner: id.owner,
            tags: BTreeMap::new(),
            parts_count: None,
        }
    }

    /// A data version held in one blob named after the version; retention is set at finalization.
    pub fn single_blob(
        id: NewVersionId,
        d: &ComputedDigests,
        headers: ContentHeaders,
        tags: BTreeMap<String, String>,
    ) -> Self {
        VersionRecord {
            blob: Some(BlobRef::Single {
                id: id.version_id.clone(),
            }),
            bucket: id.bucket,
            key: id.key,
            version_id: id.version_id,
            seq: id.seq,
            created_ms: id.created_ms,
            delete_marker: false,
            size: d.len,
            etag: hex::encode(d.md5),
            sha256: hex::encode(d.sha256),
            blake3: hex::encode(d.blake3),
            checksum_algorithm: d.checksum.as_ref().map(|c| c.0),
            checksum: d.checksum.as_ref().map(|c| c.1.clone()),
            checksum_type: d.checksum.as_ref().map(|_| "FULL_OBJECT".to_string()),
            headers,
            retention: None,
            legal_hold: false,
            owner: id.owner,
            tags,
            parts_count: None,
        }
    }
}

impl PartRecord {
    /// A part whose bytes were just stored in blob `blob_id`.
    pub fn stored(part_number: u32, blob_id: String, d: &ComputedDigests, last_modified_ms: i64) -> Self {
        PartRecord {
            part_number,
            blob_id,
            size: d.len,
            etag: hex::encode(d.md5),
            sha256: hex::encode(d.sha256),
            blake3: hex::encode(d.blake3),
            checksum: d.checksum.as_ref().map(|c| c.1.clone()),
            checksum_algorithm: d.checksum.as_ref().map(|c| c.0),
            last_modified_ms,
            upstream_etag: None,
        }
    }
}
