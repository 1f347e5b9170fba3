//! `Op`: one variant per supported S3 operation, each holding parsed, validated fields. Anything the
//! parser does not recognise becomes `NotImplemented` — never a guess.

use super::docs::{CompletePart, DeleteRequest, LockConfigurationSetting, RetentionSetting};
use crate::checksum::ChecksumAlgorithm;
use crate::lock::LockHeaders;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The permission an operation needs ([`Op::permission`]); `auth::Role::allows` says which roles carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read object data, metadata, listings, configuration.
    Read,
    /// Create versions, delete markers, buckets, tags, multipart uploads.
    Write,
    /// Lock configuration, retention, legal hold, permanent deletion of expired versions, bucket deletion.
    Govern,
    /// Audit trail, reports, scrub, metrics.
    Audit,
}

/// The content headers of a write (`Content-Type` … `x-amz-meta-*`), stored with the version
/// (`store::records`) and returned on GET/HEAD.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentHeaders {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    pub expires: Option<String>,
    /// `x-amz-meta-*` (names lower-case, without the prefix).
    pub user_meta: BTreeMap<String, String>,
}

/// What deleting `version` needs: a marker (no version) is a write; removing a specific version is
/// permanent and reserved to officers. DeleteObject and every DeleteObjects entry ask this.
pub fn delete_permission(version: &VersionSel) -> Permission {
    match version {
        VersionSel::Current => Permission::Write,
        _ => Permission::Govern,
    }
}

/// A byte range request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `bytes=a-b` or `bytes=a-`.
    FromTo(u64, Option<u64>),
    /// `bytes=-n`.
    Suffix(u64),
}

/// GET/HEAD conditions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<DateTime<Utc>>,
    pub if_unmodified_since: Option<DateTime<Utc>>,
}

/// `response-*` query overrides on GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseOverrides {
    pub content_type: Option<String>,
    pub content_language: Option<String>,
    pub expires: Option<String>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
}

/// Which version a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSel {
    /// No versionId: the current version.
    Current,
    /// One of our version ids (decoded seq).
    Id { id: String, seq: u64 },
    /// `versionId=null` or a well-formed id we never issued: never exists here.
    Absent(String),
}

/// GetObject / HeadObject parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadObject {
    pub bucket: String,
    pub key: String,
    pub version: VersionSel,
    pub range: Option<RangeSpec>,
    pub part_number: Option<u32>,
    pub conditions: Conditions,
    pub overrides: ResponseOverrides,
    pub checksum_mode: bool,
}

/// Fields of a version-creating write (PutObject, CopyObject, CreateMultipartUpload).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteHeaders {
    pub content: ContentHeaders,
    pub lock: LockHeaders,
    /// `If-None-Match: *`.
    pub if_none_match_star: bool,
    /// `If-Match: "etag"`.
    pub if_match: Option<String>,
    /// `x-amz-tagging` (URL-encoded query form), parsed.
    pub tagging: Option<Vec<(String, String)>>,
}

/// Listing parameters shared by ListObjects V1/V2 and ListObjectVersions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub max_keys: usize,
    pub encoding_url: bool,
    /// V1 `marker`, V2 `start-after`/continuation (decoded), versions `key-marker`.
    pub marker: Option<String>,
    pub continuation_token: Option<String>,
    pub start_after: Option<String>,
    pub version_id_marker: Option<String>,
    pub fetch_owner: bool,
}

/// `x-amz-copy-source`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySource {
    pub bucket: String,
    pub key: String,
    pub version: VersionSel,
}

/// CopyObject parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyParams {
    pub source: CopySource,
    /// `x-amz-metadata-directive: REPLACE`.
    pub replace_metadata: bool,
    /// `x-amz-tagging-directive: REPLACE`.
    pub replace_tagging: bool,
    /// `x-amz-copy-source-if-*`.
    pub conditions: Conditions,
    /// `x-amz-copy-source-range` (UploadPartCopy only), inclusive.
    pub range: Option<(u64, u64)>,
}

/// Bucket configuration that S3 has but wormgate keeps empty: each answers its AWS "not found".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketProbe {
    Policy,
    Encryption,
    Cors,
    Tagging,
    Replication,
    PublicAccessBlock,
    OwnershipControls,
    Website,
}

/// Every operation wormgate understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    ListBuckets,
    CreateBucket {
        bucket: String,
        /// `LocationConstraint` of the optional configuration document.
        location: Option<String>,
    },
    HeadBucket {
        bucket: String,
    },
    DeleteBucket {
        bucket: String,
    },
    GetBucketLocation {
        bucket: String,
    },
    GetBucketVersioning {
        bucket: String,
    },
    PutBucketVersioning {
        bucket: String,
        /// `true`: Enabled; `false`: Suspended (refused by the lock).
        enabled: bool,
    },
    GetObjectLockConfiguration {
        bucket: String,
    },
    PutObjectLockConfiguration {
        bucket: String,
        setting: LockConfigurationSetting,
    },
    ListObjectsV1 {
        bucket: String,
        params: ListParams,
    },
    ListObjectsV2 {
        bucket: String,
        params: ListParams,
    },
    ListObjectVersions {
        bucket: String,
        params: ListParams,
    },
    DeleteObjects {
        bucket: String,
        request: DeleteRequest,
    },
    PutObject {
        bucket: String,
        key: String,
        write: Box<WriteHeaders>,
    },
    GetObject(Box<ReadObject>),
    HeadObject(Box<ReadObject>),
    DeleteObject {
        bucket: String,
        key: String,
        version: VersionSel,
    },
    GetObjectRetention {
        bucket: String,
        key: String,
        version: VersionSel,
    },
    PutObjectRetention {
        bucket: String,
        key: String,
        version: VersionSel,
        retention: RetentionSetting,
    },
    GetObjectLegalHold {
        bucket: String,
        key: String,
        version: VersionSel,
    },
    PutObjectLegalHold {
        bucket: String,
        key: String,
        version: VersionSel,
        on: bool,
    },
    CreateMultipartUpload {
        bucket: String,
        key: String,
        write: Box<WriteHeaders>,
        checksum_algorithm: Option<ChecksumAlgorithm>,
        checksum_type: Option<String>,
    },
    UploadPart {
        bucket: String,
        key: String,
        upload_id: String,
        part_number: u32,
    },
    UploadPartCopy {
        bucket: String,
        key: String,
        upload_id: String,
        part_number: u32,
        copy: Box<CopyParams>,
    },
    CompleteMultipartUpload {
        bucket: String,
        key: String,
        upload_id: String,
        if_none_match_star: bool,
        parts: Vec<CompletePart>,
    },
    AbortMultipartUpload {
        bucket: String,
        key: String,
        upload_id: String,
    },
    ListParts {
        bucket: String,
        key: String,
        upload_id: String,
        marker: u32,
        max_parts: usize,
    },
    ListMultipartUploads {
        bucket: String,
        params: ListParams,
    },
    CopyObject {
        bucket: String,
        key: String,
        write: Box<WriteHeaders>,
        copy: Box<CopyParams>,
    },
    GetObjectTagging {
        bucket: String,
        key: String,
        version: VersionSel,
    },
    PutObjectTagging {
        bucket: String,
        key: String,
        version: VersionSel,
        tags: BTreeMap<String, String>,
    },
    DeleteObjectTagging {
        bucket: String,
        key: String,
        version: VersionSel,
    },
    GetObjectAcl {
        bucket: String,
        key: String,
        version: VersionSel,
    },
    PutObjectAcl {
        bucket: String,
        key: String,
        version: VersionSel,
        /// The ACL body grants FULL_CONTROL to the owner only (or is empty).
        owner_only: bool,
    },
    GetBucketAcl {
        bucket: String,
    },
    PutBucketAcl {
        bucket: String,
        owner_only: bool,
    },
    GetBucketProbe {
        bucket: String,
        probe: BucketProbe,
    },
    GetBucketLifecycleConfiguration {
        bucket: String,
    },
    PutBucketLifecycleConfiguration {
        bucket: String,
        configuration: super::lifecycle::LifecycleConfiguration,
    },
    DeleteBucketLifecycle {
        bucket: String,
    },
    /// Recognised but not supported: answered with 501 NotImplemented.
    NotImplemented {
        what: String,
        bucket: Option<String>,
        key: Option<String>,
    },
}

impl Op {
    /// Name used in logs, metrics and the audit trail.
    pub fn name(&self) -> &'static str {
        match self {
            Op::ListBuckets => "ListBuckets",
            Op::CreateBucket { .. } => "CreateBucket",
            Op::HeadBucket { .. } => "HeadBucket",
            Op::DeleteBucket { .. } => "DeleteBucket",
            Op::GetBucketLocation { .. } => "GetBucketLocation",
            Op::GetBucketVersioning { .. } => "GetBucketVersioning",
            Op::PutBucketVersioning { .. } => "PutBucketVersioning",
            Op::GetObjectLockConfiguration { .. } => "GetObjectLockConfiguration",
            Op::PutObjectLockConfiguration { .. } => "PutObjectLockConfiguration",
            Op::ListObjectsV1 { .. } => "ListObjects",
            Op::ListObjectsV2 { .. } => "ListObjectsV2",
            Op::ListObjectVersions { .. } => "ListObjectVersions",
            Op::DeleteObjects { .. } => "DeleteObjects",
            Op::PutObject { .. } => "PutObject",
            Op::GetObject(_) => "GetObject",
            Op::HeadObject(_) => "HeadObject",
            Op::DeleteObject { .. } => "DeleteObject",
            Op::GetObjectRetention { .. } => "GetObjectRetention",
            Op::PutObjectRetention { .. } => "PutObjectRetention",
            Op::GetObjectLegalHold { .. } => "GetObjectLegalHold",
            Op::PutObjectLegalHold { .. } => "PutObjectLegalHold",
            Op::CreateMultipartUpload { .. } => "CreateMultipartUpload",
            Op::UploadPart { .. } => "UploadPart",
            Op::UploadPartCopy { .. } => "UploadPartCopy",
            Op::CompleteMultipartUpload { .. } => "CompleteMultipartUpload",
            Op::AbortMultipartUpload { .. } => "AbortMultipartUpload",
            Op::ListParts { .. } => "ListParts",
            Op::ListMultipartUploads { .. } => "ListMultipartUploads",
            Op::CopyObject { .. } => "CopyObject",
            Op::GetObjectTagging { .. } => "GetObjectTagging",
            Op::PutObjectTagging { .. } => "PutObjectTagging",
            Op::DeleteObjectTagging { .. } => "DeleteObjectTagging",
            Op::GetObjectAcl { .. } => "GetObjectAcl",
            Op::PutObjectAcl { .. } => "PutObjectAcl",
            Op::GetBucketAcl { .. } => "GetBucketAcl",
            Op::PutBucketAcl { .. } => "PutBucketAcl",
            Op::GetBucketProbe { .. } => "GetBucketConfiguration",
            Op::GetBucketLifecycleConfiguration { .. } => "GetBucketLifecycleConfiguration",
            Op::PutBucketLifecycleConfiguration { .. } => "PutBucketLifecycleConfiguration",
            Op::DeleteBucketLifecycle { .. } => "DeleteBucketLifecycle",
            Op::NotImplemented { .. } => "NotImplemented",
        }
    }

    /// The permission the caller's role must carry.
    pub fn permission(&self) -> Permission {
        match self {
            Op::ListBuckets
            | Op::HeadBucket { .. }
            | Op::GetBucketLocation { .. }
            | Op::GetBucketVersioning { .. }
            | Op::GetObjectLockConfiguration { .. }
            | Op::ListObjectsV1 { .. }
            | Op::ListObjectsV2 { .. }
            | Op::ListObjectVersions { .. }
            | Op::GetObject(_)
            | Op::HeadObject(_)
            | Op::GetObjectRetention { .. }
            | Op::GetObjectLegalHold { .. }
            | Op::ListParts { .. }
            | Op::ListMultipartUploads { .. }
            | Op::GetObjectTagging { .. }
            | Op::GetObjectAcl { .. }
            | Op::GetBucketAcl { .. }
            | Op::GetBucketProbe { .. }
            | Op::GetBucketLifecycleConfiguration { .. }
            | Op::NotImplemented { .. } => Permission::Read,
            Op::CreateBucket { .. }
            | Op::PutObject { .. }
            | Op::DeleteObjects { .. }
            | Op::CreateMultipartUpload { .. }
            | Op::UploadPart { .. }
            | Op::UploadPartCopy { .. }
            | Op::CompleteMultipartUpload { .. }
            | Op::AbortMultipartUpload { .. }
            | Op::CopyObject { .. }
            | Op::PutObjectTagging { .. }
            | Op::DeleteObjectTagging { .. }
            | Op::PutObjectAcl { .. }
            | Op::PutBucketAcl { .. } => Permission::Write,
            // Deleting a specific version is permanent: reserved to officers (markers: writers).
            Op::DeleteObject { version, .. } => delete_permission(version),
            // Lifecycle rules make versions go once retention allows: an officer's decision.
            Op::DeleteBucket { .. }
            | Op::PutBucketLifecycleConfiguration { .. }
            | Op::DeleteBucketLifecycle { .. }
            | Op::PutBucketVersioning { .. }
            | Op::PutObjectLockConfiguration { .. }
            | Op::PutObjectRetention { .. }
            | Op::PutObjectLegalHold { .. } => Permission::Govern,
        }
    }

    /// Bucket and key for logs and audit.
    pub fn target(&self) -> (Option<&str>, Option<&str>) {
        match self {
            Op::ListBuckets => (None, None),
            Op::NotImplemented { bucket, key, .. } => (bucket.as_deref(), key.as_deref()),
            Op::CreateBucket { bucket, .. }
            | Op::HeadBucket { bucket }
            | Op::DeleteBucket { bucket }
            | Op::GetBucketLocation { bucket }
            | Op::GetBucketVersioning { bucket }
            | Op::PutBucketVersioning { bucket, .. }
            | Op::GetObjectLockConfiguration { bucket }
            | Op::PutObjectLockConfiguration { bucket, .. }
            | Op::ListObjectsV1 { bucket, .. }
            | Op::ListObjectsV2 { bucket, .. }
            | Op::ListObjectVersions { bucket, .. }
            | Op::DeleteObjects { bucket, .. }
            | Op::ListMultipartUploads { bucket, .. }
            | Op::GetBucketAcl { bucket }
            | Op::PutBucketAcl { bucket, .. }
            | Op::GetBucketProbe { bucket, .. }
            | Op::GetBucketLifecycleConfiguration { bucket }
            | Op::PutBucketLifecycleConfiguration { bucket, .. }
            | Op::DeleteBucketLifecycle { bucket } => (Some(bucket), None),
            Op::CreateMultipartUpload { bucket, key, .. }
            | Op::UploadPart { bucket, key, .. }
            | Op::UploadPartCopy { bucket, key, .. }
            | Op::CompleteMultipartUpload { bucket, key, .. }
            | Op::AbortMultipartUpload { bucket, key, .. }
            | Op::ListParts { bucket, key, .. }
            | Op::CopyObject { bucket, key, .. }
            | Op::GetObjectTagging { bucket, key, .. }
            | Op::PutObjectTagging { bucket, key, .. }
            | Op::DeleteObjectTagging { bucket, key, .. }
            | Op::GetObjectAcl { bucket, key, .. }
            | Op::PutObjectAcl { bucket, key, .. } => (Some(bucket), Some(key)),
            Op::PutObject { bucket, key, .. }
            | Op::DeleteObject { bucket, key, .. }
            | Op::GetObjectRetention { bucket, key, .. }
            | Op::PutObjectRetention { bucket, key, .. }
            | Op::GetObjectLegalHold { bucket, key, .. }
            | Op::PutObjectLegalHold { bucket, key, .. } => (Some(bucket), Some(key)),
            Op::GetObject(r) | Op::HeadObject(r) => (Some(&r.bucket), Some(&r.key)),
        }
    }
}
