//! What a listing shows of a version record, decoded from the stored bytes without copying: the
//! walk of a `ListObjectVersions` page touches a thousand records, and decoding each one whole
//! (every content header, the blob reference, the retention) cost more than the rest of the walk.
//! The record's CRC is still checked over the whole record, as `records::decode` does.

use super::records::SCHEMA;
use crate::checksum::ChecksumAlgorithm;
use serde::Deserialize;
use std::borrow::Cow;

/// The listed fields of a `VersionRecord` (same names, same JSON), borrowed from the raw record
/// where the JSON string has no escapes.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub struct ListedVersion<'a> {
    /// The object key.
    #[serde(borrow)]
    pub key: Cow<'a, str>,
    /// The version id as clients see it.
    #[serde(borrow)]
    pub version_id: Cow<'a, str>,
    /// Creation time (`LastModified`).
    pub created_ms: i64,
    /// A delete marker (listed as `DeleteMarker`, never as an object).
    pub delete_marker: bool,
    /// Content length.
    pub size: u64,
    /// `ETag` without quotes.
    #[serde(borrow)]
    pub etag: Cow<'a, str>,
    /// The flexible checksum's algorithm, if the version has one.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// `FULL_OBJECT` or `COMPOSITE`.
    #[serde(borrow)]
    pub checksum_type: Option<Cow<'a, str>>,
}

/// Decode the listed fields of a stored version record; `None` when the schema, CRC or JSON is
/// wrong (the caller treats the record as corrupt, like `records::decode`).
pub fn decode_listed(raw: &[u8]) -> Option<ListedVersion<'_>> {
    let (&schema, rest) = raw.split_first()?;
    if schema != SCHEMA || rest.len() < 4 {
        return None;
    }
    let (crc, json) = rest.split_at(4);
    if crc32c::crc32c(json).to_be_bytes() != crc {
        return None;
    }
    serde_json::from_slice(json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::{encode, NewVersionId, VersionRecord};

    fn record(key: &str) -> VersionRecord {
        let mut r = VersionRecord::delete_marker(NewVersionId {
            bucket: "b".into(),
            key: key.into(),
            version_id: "v1".into(),
            seq: 7,
            created_ms: 1_700_000_000_123,
            owner: "o".into(),
        });
        r.delete_marker = false;
        r.size = 5;
        r.etag = "abc".into();
        r.checksum_algorithm = Some(ChecksumAlgorithm::Crc32c);
        r.checksum = Some("AAAAAA==".into());
        r.checksum_type = Some("FULL_OBJECT".into());
        r.headers.user_meta.insert("k".into(), "v\"w".into());
        r
    }

    #[test]
    fn listed_fields_match_the_whole_record() {
        for key in ["plain/key", "quote\"and\\backslash\u{1}é"] {
            let r = record(key);
            let raw = encode(&r);
            let l = decode_listed(&raw).expect("decodes");
            assert_eq!(l.key, r.key);
            assert_eq!(l.version_id, r.version_id);
            assert_eq!(l.created_ms, r.created_ms);
            assert_eq!(l.delete_marker, r.delete_marker);
            assert_eq!(l.size, r.size);
            assert_eq!(l.etag, r.etag);
            assert_eq!(l.checksum_algorithm, r.checksum_algorithm);
            assert_eq!(l.checksum_type.as_deref(), r.checksum_type.as_deref());
            assert!(
                matches!(l.key, Cow::Borrowed(_)) == !key.contains('"'),
                "borrowed unless escaped"
            );
        }
    }

    #[test]
    fn a_damaged_record_is_not_listed() {
        let mut raw = encode(&record("k"));
        let last = raw.len() - 3;
        raw[last] ^= 1;
        assert_eq!(decode_listed(&raw), None, "CRC mismatch");
        assert_eq!(decode_listed(&[]), None);
        assert_eq!(decode_listed(&[SCHEMA, 0, 0]), None);
        let mut other = encode(&record("k"));
        other[0] = SCHEMA + 1;
        assert_eq!(decode_listed(&other), None, "unknown schema");
    }
}
