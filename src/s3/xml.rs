//! S3 XML documents (request and response DTOs) with quick-xml + serde. Request documents are parsed
//! strictly (case-sensitive values, caps on size); responses carry the S3 namespace.

use super::error::{S3Code, S3Error, S3Result};
use serde::{Deserialize, Serialize};

/// The S3 XML namespace.
pub const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// Serialize a response document with the XML declaration.
pub fn to_xml<T: Serialize>(root: &str, value: &T) -> S3Result<String> {
    let body = quick_xml::se::to_string_with_root(root, value)
        .map_err(|e| S3Error::internal(format!("rendering {root}: {e}")))?;
    Ok(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}"))
}

/// The XML declaration every response document starts with.
pub const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// Append `text` as element content, escaped exactly as [`to_xml`] escapes it (quick-xml's rule
/// for element text: `&`, `<` and `>`), so a document written by hand reads byte for byte like one
/// rendered through serde. Listings write their pages this way: a thousand entries through serde
/// cost more than the catalog walk behind them.
pub fn push_text(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<', '>']) {
        let (plain, tail) = rest.split_at(i);
        out.push_str(plain);
        let mut chars = tail.chars();
        out.push_str(match chars.next() {
            Some('&') => "&amp;",
            Some('<') => "&lt;",
            _ => "&gt;",
        });
        rest = chars.as_str();
    }
    out.push_str(rest);
}

/// Append `<name>text</name>` (`<name/>` when `text` is empty, as [`to_xml`] writes it).
pub fn push_elem(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    if text.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    push_text(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Append `<name>value</name>` for a number or a boolean (no escaping needed).
pub fn push_value(out: &mut String, name: &str, value: impl std::fmt::Display) {
    use std::fmt::Write;
    let _ = write!(out, "<{name}>{value}</{name}>");
}

/// Parse a request document; anything that does not fit is `MalformedXML`.
pub fn from_xml<'de, T: Deserialize<'de>>(root: &str, body: &'de str) -> S3Result<T> {
    let trimmed = body.trim_start_matches('\u{feff}').trim_start();
    let after_decl = if trimmed.starts_with("<?xml") {
        trimmed.find("?>").map_or(trimmed, |i| trimmed[i + 2..].trim_start())
    } else {
        trimmed
    };
    let name_ok = after_decl.strip_prefix('<').is_some_and(|r| {
        let end = r
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(r.len());
        let tag = &r[..end];
        tag == root || tag.rsplit(':').next() == Some(root)
    });
    if !name_ok {
        return Err(S3Error::malformed_xml(format!("expected a <{root}> document")));
    }
    quick_xml::de::from_str(after_decl).map_err(S3Error::malformed_xml)
}

// ---------------- request documents ----------------

#[derive(Debug, Deserialize, Default)]
pub struct VersioningConfigurationIn {
    #[serde(rename = "Status")]
    pub status: Option<String>,
    #[serde(rename = "MfaDelete")]
    pub mfa_delete: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct ObjectLockConfigurationIn {
    #[serde(rename = "ObjectLockEnabled")]
    pub object_lock_enabled: Option<String>,
    #[serde(rename = "Rule")]
    pub rule: Option<RuleIn>,
}

#[derive(Debug, Deserialize, Default)]
pub struct RuleIn {
    #[serde(rename = "DefaultRetention")]
    pub default_retention: Option<DefaultRetentionIn>,
}

#[derive(Debug, Deserialize, Default)]
pub struct DefaultRetentionIn {
    #[serde(rename = "Mode")]
    pub mode: Option<String>,
    #[serde(rename = "Days")]
    pub days: Option<String>,
    #[serde(rename = "Years")]
    pub years: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct RetentionIn {
    #[serde(rename = "Mode")]
    pub mode: Option<String>,
    #[serde(rename = "RetainUntilDate")]
    pub retain_until_date: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct LegalHoldIn {
    #[serde(rename = "Status")]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct DeleteIn {
    #[serde(rename = "Quiet")]
    pub quiet: Option<String>,
    #[serde(rename = "Object", default)]
    pub objects: Vec<DeleteObjectIn>,
}

#[derive(Debug, Deserialize, Default)]
pub struct DeleteObjectIn {
    #[serde(rename = "Key")]
    pub key: Option<String>,
    #[serde(rename = "VersionId")]
    pub version_id: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct TaggingIn {
    #[serde(rename = "TagSet")]
    pub tag_set: Option<TagSetIn>,
}

#[derive(Debug, Deserialize, Default)]
pub struct TagSetIn {
    #[serde(rename = "Tag", default)]
    pub tags: Vec<TagIn>,
}

#[derive(Debug, Deserialize, Default)]
pub struct TagIn {
    #[serde(rename = "Key")]
    pub key: Option<String>,
    #[serde(rename = "Value")]
    pub value: Option<String>,
}

/// AWS tag rules: ≤ 10 tags, keys 1..=128 chars, values ≤ 256, no duplicates.
pub fn validate_tags(tags: &[(String, String)]) -> S3Result<()> {
    if tags.len() > 10 {
        // AWS's code for this one is BadRequest (the other tag rules answer InvalidTag).
        return Err(S3Error::new(
            S3Code::BadRequest,
            "Object tags cannot be greater than 10",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 {
            return Err(S3Error::new(
                S3Code::InvalidTag,
                "The TagKey you have provided is invalid",
            ));
        }
        if v.chars().count() > 256 {
            return Err(S3Error::new(
                S3Code::InvalidTag,
                "The TagValue you have provided is invalid",
            ));
        }
        if !seen.insert(k) {
            return Err(S3Error::new(
                S3Code::InvalidTag,
                "Cannot provide multiple Tags with the same key",
            ));
        }
    }
    Ok(())
}

// ---------------- response documents ----------------

#[derive(Debug, Serialize, Clone)]
pub struct Owner {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "DisplayName")]
    pub display_name: String,
}

#[derive(Debug, Serialize)]
pub struct ListAllMyBucketsResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Owner")]
    pub owner: Owner,
    #[serde(rename = "Buckets")]
    pub buckets: BucketsOut,
    /// Present when the page was cut at `max-buckets` and more buckets follow.
    #[serde(rename = "ContinuationToken", skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    #[serde(rename = "Prefix", skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct BucketsOut {
    #[serde(rename = "Bucket", default)]
    pub bucket: Vec<BucketOut>,
}

#[derive(Debug, Serialize)]
pub struct BucketOut {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "CreationDate")]
    pub creation_date: String,
    #[serde(rename = "BucketRegion")]
    pub bucket_region: String,
}

#[derive(Debug, Serialize)]
pub struct LocationConstraintOut {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "$text")]
    pub region: String,
}

#[derive(Debug, Serialize)]
pub struct VersioningConfigurationOut {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Status")]
    pub status: &'static str,
}

#[derive(Debug, Serialize)]
pub struct ObjectLockConfigurationOut {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "ObjectLockEnabled")]
    pub enabled: &'static str,
    #[serde(rename = "Rule")]
    pub rule: RuleOut,
}

#[derive(Debug, Serialize)]
pub struct RuleOut {
    #[serde(rename = "DefaultRetention")]
    pub default_retention: DefaultRetentionOut,
}

#[derive(Debug, Serialize)]
pub struct DefaultRetentionOut {
    #[serde(rename = "Mode")]
    pub mode: &'static str,
    #[serde(rename = "Days", skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(rename = "Years", skip_serializing_if = "Option::is_none")]
    pub years: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct RetentionOut {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Mode")]
    pub mode: &'static str,
    #[serde(rename = "RetainUntilDate")]
    pub retain_until_date: String,
}

#[derive(Debug, Serialize)]
pub struct LegalHoldOut {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Status")]
    pub status: &'static str,
}

#[derive(Debug, Serialize)]
pub struct ObjectOut {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "LastModified")]
    pub last_modified: String,
    #[serde(rename = "ETag")]
    pub etag: String,
    #[serde(rename = "ChecksumAlgorithm", skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<&'static str>,
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
    #[serde(rename = "Size")]
    pub size: u64,
    #[serde(rename = "Owner", skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    #[serde(rename = "StorageClass")]
    pub storage_class: &'static str,
}

#[derive(Debug, Serialize)]
pub struct CommonPrefixOut {
    #[serde(rename = "Prefix")]
    pub prefix: String,
}

#[derive(Debug, Serialize)]
pub struct ListBucketResultV1 {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Prefix")]
    pub prefix: String,
    #[serde(rename = "Marker")]
    pub marker: String,
    #[serde(rename = "NextMarker", skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    #[serde(rename = "MaxKeys")]
    pub max_keys: usize,
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<&'static str>,
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "Contents", default)]
    pub contents: Vec<ObjectOut>,
    #[serde(rename = "CommonPrefixes", default)]
    pub common_prefixes: Vec<CommonPrefixOut>,
}

#[derive(Debug, Serialize)]
pub struct ListBucketResultV2 {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Prefix")]
    pub prefix: String,
    #[serde(rename = "MaxKeys")]
    pub max_keys: usize,
    #[serde(rename = "KeyCount")]
    pub key_count: usize,
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<&'static str>,
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "ContinuationToken", skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    #[serde(rename = "NextContinuationToken", skip_serializing_if = "Option::is_none")]
    pub next_continuation_token: Option<String>,
    #[serde(rename = "StartAfter", skip_serializing_if = "Option::is_none")]
    pub start_after: Option<String>,
    #[serde(rename = "Contents", default)]
    pub contents: Vec<ObjectOut>,
    #[serde(rename = "CommonPrefixes", default)]
    pub common_prefixes: Vec<CommonPrefixOut>,
}

#[derive(Debug, Serialize)]
pub struct VersionOut {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "VersionId")]
    pub version_id: String,
    #[serde(rename = "IsLatest")]
    pub is_latest: bool,
    #[serde(rename = "LastModified")]
    pub last_modified: String,
    #[serde(rename = "ETag")]
    pub etag: String,
    #[serde(rename = "ChecksumAlgorithm", skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<&'static str>,
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
    #[serde(rename = "Size")]
    pub size: u64,
    #[serde(rename = "StorageClass")]
    pub storage_class: &'static str,
    #[serde(rename = "Owner")]
    pub owner: Owner,
}

#[derive(Debug, Serialize)]
pub struct DeleteMarkerOut {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "VersionId")]
    pub version_id: String,
    #[serde(rename = "IsLatest")]
    pub is_latest: bool,
    #[serde(rename = "LastModified")]
    pub last_modified: String,
    #[serde(rename = "Owner")]
    pub owner: Owner,
}

/// Versions and delete markers interleaved in one order, as S3 lists them.
#[derive(Debug, Serialize)]
pub enum VersionEntryOut {
    Version(VersionOut),
    DeleteMarker(DeleteMarkerOut),
}

#[derive(Debug, Serialize)]
pub struct ListVersionsResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Prefix")]
    pub prefix: String,
    #[serde(rename = "KeyMarker")]
    pub key_marker: String,
    #[serde(rename = "VersionIdMarker")]
    pub version_id_marker: String,
    #[serde(rename = "NextKeyMarker", skip_serializing_if = "Option::is_none")]
    pub next_key_marker: Option<String>,
    #[serde(rename = "NextVersionIdMarker", skip_serializing_if = "Option::is_none")]
    pub next_version_id_marker: Option<String>,
    #[serde(rename = "MaxKeys")]
    pub max_keys: usize,
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<&'static str>,
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "$value")]
    pub entries: Vec<VersionEntryOut>,
    #[serde(rename = "CommonPrefixes", default)]
    pub common_prefixes: Vec<CommonPrefixOut>,
}

#[derive(Debug, Serialize)]
pub struct DeletedOut {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "VersionId", skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(rename = "DeleteMarker", skip_serializing_if = "Option::is_none")]
    pub delete_marker: Option<bool>,
    #[serde(rename = "DeleteMarkerVersionId", skip_serializing_if = "Option::is_none")]
    pub delete_marker_version_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DeleteErrorOut {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "VersionId", skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(rename = "Code")]
    pub code: String,
    #[serde(rename = "Message")]
    pub message: String,
}

#[derive(Debug, Serialize)]
pub enum DeleteEntryOut {
    Deleted(DeletedOut),
    Error(DeleteErrorOut),
}

#[derive(Debug, Serialize)]
pub struct DeleteResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "$value", default)]
    pub entries: Vec<DeleteEntryOut>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_parses_with_namespace() {
        let body = r#"<Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate></Retention>"#;
        let r: RetentionIn = from_xml("Retention", body).unwrap();
        assert_eq!(r.mode.as_deref(), Some("COMPLIANCE"));
        assert_eq!(r.retain_until_date.as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(
            from_xml::<RetentionIn>("Retention", "<LegalHold/>").unwrap_err().code,
            S3Code::MalformedXML
        );
        assert_eq!(
            from_xml::<RetentionIn>("Retention", "<Retention><Mode>")
                .unwrap_err()
                .code,
            S3Code::MalformedXML
        );
    }

    #[test]
    fn delete_parses_many() {
        let body = "<?xml version=\"1.0\"?><Delete><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>b</Key><VersionId>v</VersionId></Object></Delete>";
        let d: DeleteIn = from_xml("Delete", body).unwrap();
        assert_eq!(d.objects.len(), 2);
        assert_eq!(d.objects[1].version_id.as_deref(), Some("v"));
    }

    #[test]
    fn versions_interleave() {
        let o = Owner {
            id: "o".into(),
            display_name: "o".into(),
        };
        let doc = ListVersionsResult {
            xmlns: NS,
            name: "b".into(),
            prefix: String::new(),
            key_marker: String::new(),
            version_id_marker: String::new(),
            next_key_marker: None,
            next_version_id_marker: None,
            max_keys: 1000,
            delimiter: None,
            encoding_type: None,
            is_truncated: false,
            entries: vec![
                VersionEntryOut::DeleteMarker(DeleteMarkerOut {
                    key: "k".into(),
                    version_id: "2".into(),
                    is_latest: true,
                    last_modified: "t".into(),
                    owner: o.clone(),
                }),
                VersionEntryOut::Version(VersionOut {
                    key: "k".into(),
                    version_id: "1".into(),
                    is_latest: false,
                    last_modified: "t".into(),
                    etag: "\"e\"".into(),
                    checksum_algorithm: None,
                    checksum_type: None,
                    size: 1,
                    storage_class: "STANDARD",
                    owner: o,
                }),
            ],
            common_prefixes: vec![],
        };
        let x = to_xml("ListVersionsResult", &doc).unwrap();
        let dm = x.find("<DeleteMarker>").unwrap();
        let v = x.find("<Version>").unwrap();
        assert!(dm < v, "{x}");
        assert!(x.contains("xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""));
    }
}

// ---------------- multipart, copy, tagging, ACL ----------------

#[derive(Debug, Serialize)]
pub struct InitiateMultipartUploadResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "UploadId")]
    pub upload_id: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct CompleteMultipartUploadIn {
    #[serde(rename = "Part", default)]
    pub parts: Vec<CompletePartIn>,
}

#[derive(Debug, Deserialize, Default)]
pub struct CompletePartIn {
    #[serde(rename = "PartNumber")]
    pub part_number: Option<String>,
    #[serde(rename = "ETag")]
    pub etag: Option<String>,
    #[serde(rename = "ChecksumCRC32")]
    pub crc32: Option<String>,
    #[serde(rename = "ChecksumCRC32C")]
    pub crc32c: Option<String>,
    #[serde(rename = "ChecksumCRC64NVME")]
    pub crc64nvme: Option<String>,
    #[serde(rename = "ChecksumSHA1")]
    pub sha1: Option<String>,
    #[serde(rename = "ChecksumSHA256")]
    pub sha256: Option<String>,
}

/// `<ChecksumXXX>` elements: one is set at most.
#[derive(Debug, Serialize, Default)]
pub struct ChecksumOut {
    #[serde(rename = "ChecksumCRC32", skip_serializing_if = "Option::is_none")]
    pub crc32: Option<String>,
    #[serde(rename = "ChecksumCRC32C", skip_serializing_if = "Option::is_none")]
    pub crc32c: Option<String>,
    #[serde(rename = "ChecksumCRC64NVME", skip_serializing_if = "Option::is_none")]
    pub crc64nvme: Option<String>,
    #[serde(rename = "ChecksumSHA1", skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    #[serde(rename = "ChecksumSHA256", skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
}

impl ChecksumOut {
    pub fn new(alg: Option<crate::checksum::ChecksumAlgorithm>, value: Option<String>, ty: Option<String>) -> Self {
        use crate::checksum::ChecksumAlgorithm as A;
        let mut out = ChecksumOut::default();
        if let (Some(a), Some(v)) = (alg, value) {
            match a {
                A::Crc32 => out.crc32 = Some(v),
                A::Crc32c => out.crc32c = Some(v),
                A::Crc64Nvme => out.crc64nvme = Some(v),
                A::Sha1 => out.sha1 = Some(v),
                A::Sha256 => out.sha256 = Some(v),
            }
            out.checksum_type = ty;
        }
        out
    }
}

#[derive(Debug, Serialize)]
pub struct CompleteMultipartUploadResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Location")]
    pub location: String,
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "ETag")]
    pub etag: String,
    #[serde(flatten)]
    pub checksum: ChecksumOut,
}

#[derive(Debug, Serialize)]
pub struct PartOut {
    #[serde(rename = "PartNumber")]
    pub part_number: u32,
    #[serde(rename = "LastModified")]
    pub last_modified: String,
    #[serde(rename = "ETag")]
    pub etag: String,
    #[serde(rename = "Size")]
    pub size: u64,
    #[serde(flatten)]
    pub checksum: ChecksumOut,
}

#[derive(Debug, Serialize)]
pub struct ListPartsResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "UploadId")]
    pub upload_id: String,
    #[serde(rename = "PartNumberMarker")]
    pub part_number_marker: u32,
    #[serde(rename = "NextPartNumberMarker", skip_serializing_if = "Option::is_none")]
    pub next_part_number_marker: Option<u32>,
    #[serde(rename = "MaxParts")]
    pub max_parts: usize,
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "Initiator")]
    pub initiator: Owner,
    #[serde(rename = "Owner")]
    pub owner: Owner,
    #[serde(rename = "StorageClass")]
    pub storage_class: &'static str,
    #[serde(rename = "ChecksumAlgorithm", skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<&'static str>,
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
    #[serde(rename = "Part", default)]
    pub parts: Vec<PartOut>,
}

#[derive(Debug, Serialize)]
pub struct UploadOut {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "UploadId")]
    pub upload_id: String,
    #[serde(rename = "Initiator")]
    pub initiator: Owner,
    #[serde(rename = "Owner")]
    pub owner: Owner,
    #[serde(rename = "StorageClass")]
    pub storage_class: &'static str,
    #[serde(rename = "Initiated")]
    pub initiated: String,
    #[serde(rename = "ChecksumAlgorithm", skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct ListMultipartUploadsResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "KeyMarker")]
    pub key_marker: String,
    #[serde(rename = "UploadIdMarker")]
    pub upload_id_marker: String,
    #[serde(rename = "NextKeyMarker", skip_serializing_if = "Option::is_none")]
    pub next_key_marker: Option<String>,
    #[serde(rename = "NextUploadIdMarker", skip_serializing_if = "Option::is_none")]
    pub next_upload_id_marker: Option<String>,
    #[serde(rename = "Prefix")]
    pub prefix: String,
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(rename = "MaxUploads")]
    pub max_uploads: usize,
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "Upload", default)]
    pub uploads: Vec<UploadOut>,
    #[serde(rename = "CommonPrefixes", default)]
    pub common_prefixes: Vec<CommonPrefixOut>,
}

#[derive(Debug, Serialize)]
pub struct CopyObjectResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "ETag")]
    pub etag: String,
    #[serde(rename = "LastModified")]
    pub last_modified: String,
    #[serde(flatten)]
    pub checksum: ChecksumOut,
}

#[derive(Debug, Serialize)]
pub struct TaggingOut {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "TagSet")]
    pub tag_set: TagSetOut,
}

#[derive(Debug, Serialize)]
pub struct TagSetOut {
    #[serde(rename = "Tag", default)]
    pub tags: Vec<TagOut>,
}

#[derive(Debug, Serialize)]
pub struct TagOut {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value")]
    pub value: String,
}

/// The fixed ACL every bucket and object has: owner `FULL_CONTROL`.
pub fn owner_full_control_acl() -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<AccessControlPolicy xmlns=\"{NS}\"><Owner><ID>wormgate</ID><DisplayName>wormgate</DisplayName></Owner><AccessControlList><Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\"><ID>wormgate</ID><DisplayName>wormgate</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>"
    )
}

/// `GetPublicAccessBlock`: all four blocks on (wormgate's only stance).
pub fn public_access_block_all_on() -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PublicAccessBlockConfiguration xmlns=\"{NS}\"><BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>"
    )
}

/// `GetBucketOwnershipControls`: `BucketOwnerEnforced` (ACLs disabled).
pub fn ownership_controls_enforced() -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OwnershipControls xmlns=\"{NS}\"><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>"
    )
}

/// `GetObjectAttributesResponse`: only the attributes asked for are present.
#[derive(Debug, Serialize)]
pub struct GetObjectAttributesResponse {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    /// Unquoted, as AWS answers it here.
    #[serde(rename = "ETag", skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(rename = "Checksum", skip_serializing_if = "Option::is_none")]
    pub checksum: Option<ChecksumOut>,
    #[serde(rename = "ObjectParts", skip_serializing_if = "Option::is_none")]
    pub object_parts: Option<ObjectPartsOut>,
    #[serde(rename = "StorageClass", skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<&'static str>,
    #[serde(rename = "ObjectSize", skip_serializing_if = "Option::is_none")]
    pub object_size: Option<u64>,
}

/// `<ObjectParts>` of `GetObjectAttributes` (a multipart version's parts, paged).
#[derive(Debug, Serialize)]
pub struct ObjectPartsOut {
    #[serde(rename = "PartsCount")]
    pub parts_count: usize,
    #[serde(rename = "PartNumberMarker")]
    pub part_number_marker: u32,
    #[serde(rename = "NextPartNumberMarker", skip_serializing_if = "Option::is_none")]
    pub next_part_number_marker: Option<u32>,
    #[serde(rename = "MaxParts")]
    pub max_parts: usize,
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "Part")]
    pub parts: Vec<ObjectPartOut>,
}

/// One `<Part>` of `<ObjectParts>`.
#[derive(Debug, Serialize)]
pub struct ObjectPartOut {
    #[serde(rename = "PartNumber")]
    pub part_number: u32,
    #[serde(rename = "Size")]
    pub size: u64,
    #[serde(flatten)]
    pub checksum: ChecksumOut,
}
