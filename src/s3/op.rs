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
    /// Lock configuration, legal hold, versioning, bucket deletion.
    Govern,
    /// `PutObjectRetention`. `lock::decide_put_retention` only ever lets a retention move forward (and
    /// caps it at `--max-retention`), so this is "extend", whoever holds it: backup tools (Veeam,
    /// Kopia, rclone) extend the locks of the data they still reference.
    ExtendRetention,
    /// Removing one named version (`DeleteObject` / `DeleteObjects` entry with a versionId).
    /// `lock::decide_delete_version` allows it only once retention has passed and no hold is on, so
    /// this is "delete what has expired": backup tools clean up after themselves.
    DeleteVersion,
    /// Audit trail, reports, scrub, metrics.
    Audit,
    /// Users and their keys (`wormgate user`); only the admin role carries it.
    ManageKeys,
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
/// permanent (and allowed by the lock only once it has expired), so it is [`Permission::DeleteVersion`].
/// `DeleteObject` and every `DeleteObjects` entry ask this, so a batch is judged entry by entry, as AWS does.
pub fn delete_permission(version: &VersionSel) -> Permission {
    match version {
        VersionSel::Current => Permission::Write,
        _ => Permission::DeleteVersion,
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

/// `GetObject` / `HeadObject` parameters.
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

/// Fields of a version-creating write (`PutObject`, `CopyObject`, `CreateMultipartUpload`).
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

/// `ListBuckets` paging and filters (`max-buckets`, `continuation-token`, `prefix`, `bucket-region`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListBucketsParams {
    /// 1..=10000; `None`: every bucket in one answer (AWS without max-buckets).
    pub max_buckets: Option<usize>,
    /// The last bucket name of the previous page (the token is that name, base64).
    pub after: Option<String>,
    pub prefix: Option<String>,
    pub bucket_region: Option<String>,
}

/// Which attributes a `GetObjectAttributes` asks for (`x-amz-object-attributes`, at least one).
// One flag per attribute AWS defines: the request names any subset of them.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectAttributes {
    pub etag: bool,
    pub checksum: bool,
    pub object_parts: bool,
    pub storage_class: bool,
    pub object_size: bool,
}

/// The write conditions of a request that makes a version: `If-None-Match: *` (no current version
/// may exist) and `If-Match` (the current version's `ETag` must match). Conditional writes are how
/// backup tools protect their checkpoints, so they are honoured, never ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteConditions {
    pub if_none_match_star: bool,
    pub if_match: Option<String>,
}

/// What the `x-amz-checksum-*` headers of a request that carries an XML document describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentChecksums {
    /// The document itself (retention, `DeleteObjects`, …): verified while it is read.
    OfDocument,
    /// The object the request makes (CompleteMultipartUpload): not a digest of the document; the
    /// handler compares it with what the parts produce.
    OfObject,
}

/// Listing parameters shared by `ListObjects` V1/V2 and `ListObjectVersions`.
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

/// `CopyObject` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyParams {
    pub source: CopySource,
    /// `x-amz-metadata-directive: REPLACE`.
    pub replace_metadata: bool,
    /// `x-amz-tagging-directive: REPLACE`.
    pub replace_tagging: bool,
    /// `x-amz-copy-source-if-*`.
    pub conditions: Conditions,
    /// `x-amz-copy-source-range` (`UploadPartCopy` only), inclusive.
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
    ListBuckets {
        params: ListBucketsParams,
    },
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
        /// `If-None-Match: *` / `If-Match`, against the key's current version (as `PutObject`).
        conditions: WriteConditions,
        /// The object-level `x-amz-checksum-*` the client claims for the whole object (base64, a
        /// COMPOSITE value may carry its `-N` part count); compared with what the parts produce.
        checksum: Option<(ChecksumAlgorithm, String)>,
        /// `x-amz-checksum-type` of the completion (must agree with the upload's).
        checksum_type: Option<String>,
        /// `x-amz-mp-object-size`: the size the client expects the object to have.
        object_size: Option<u64>,
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
    /// `GET ?attributes`: the version's metadata without its body (the JS SDK v3 and boto3 call it).
    GetObjectAttributes {
        bucket: String,
        key: String,
        version: VersionSel,
        attributes: ObjectAttributes,
        /// `x-amz-max-parts` (default and cap 1000) and `x-amz-part-number-marker` page `ObjectParts`.
        max_parts: usize,
        part_number_marker: u32,
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
        /// The ACL body grants `FULL_CONTROL` to the owner only (or is empty).
        owner_only: bool,
    },
    GetBucketAcl {
        bucket: String,
    },
    PutBucketAcl {
        bucket: String,
        owner_only: bool,
    },
    /// `PutPublicAccessBlock` / `DeletePublicAccessBlock`: the four blocks are always on; a request that
    /// keeps them all on changes nothing, one that weakens any (or deletes them) is refused.
    PutPublicAccessBlock {
        bucket: String,
        delete: bool,
        all_blocked: bool,
    },
    /// `PutBucketOwnershipControls` / `DeleteBucketOwnershipControls`: `BucketOwnerEnforced` always.
    PutBucketOwnershipControls {
        bucket: String,
        delete: bool,
        enforced: bool,
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
    /// Recognised but not supported: answered with 501 `NotImplemented`.
    NotImplemented {
        what: String,
        bucket: Option<String>,
        key: Option<String>,
    },
}

/// One thing an operation reaches, as a key's bucket scope (`auth::scope`) judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach<'a> {
    /// The bucket itself, read or created (`HeadBucket`, `GetBucketLocation`, `CreateBucket`, …).
    Bucket(&'a str),
    /// A change to the whole bucket (its lock configuration, versioning, ACL, its deletion).
    WholeBucket(&'a str),
    /// A listing of the keys under a prefix.
    Listing(&'a str, &'a str),
    /// One object (also the source of a copy and every key of a `DeleteObjects`).
    Object(&'a str, &'a str),
}

impl Op {
    /// `--governance-as-compliance`: every GOVERNANCE this operation asks for (the
    /// `x-amz-object-lock-mode` header of a version-creating write, a `PutObjectRetention` `<Mode>`, a
    /// bucket default rule's `<Mode>`) becomes COMPLIANCE — never weaker than asked, because
    /// COMPLIANCE is the stronger mode. For tools that cannot be told to send COMPLIANCE (Kopia
    /// repositories created with `--retention-mode GOVERNANCE`). Returns whether anything was
    /// rewritten, so the audit record can state what was asked. `lock::decide` stays unaware of it.
    pub fn governance_as_compliance(&mut self) -> bool {
        use crate::lock::RequestedMode::{Compliance, Governance};
        let mode = match self {
            Op::PutObject { write, .. } | Op::CopyObject { write, .. } | Op::CreateMultipartUpload { write, .. } => {
                &mut write.lock.mode
            }
            Op::PutObjectRetention { retention, .. } => &mut retention.mode,
            Op::PutObjectLockConfiguration { setting, .. } => &mut setting.mode,
            _ => return false,
        };
        if *mode == Some(Governance) {
            *mode = Some(Compliance);
            true
        } else {
            false
        }
    }

    /// Name used in logs, metrics and the audit trail.
    pub fn name(&self) -> &'static str {
        match self {
            Op::ListBuckets { .. } => "ListBuckets",
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
            Op::GetObjectAttributes { .. } => "GetObjectAttributes",
            Op::GetObjectTagging { .. } => "GetObjectTagging",
            Op::PutObjectTagging { .. } => "PutObjectTagging",
            Op::DeleteObjectTagging { .. } => "DeleteObjectTagging",
            Op::GetObjectAcl { .. } => "GetObjectAcl",
            Op::PutObjectAcl { .. } => "PutObjectAcl",
            Op::GetBucketAcl { .. } => "GetBucketAcl",
            Op::PutBucketAcl { .. } => "PutBucketAcl",
            Op::PutPublicAccessBlock { delete: false, .. } => "PutPublicAccessBlock",
            Op::PutPublicAccessBlock { delete: true, .. } => "DeletePublicAccessBlock",
            Op::PutBucketOwnershipControls { delete: false, .. } => "PutBucketOwnershipControls",
            Op::PutBucketOwnershipControls { delete: true, .. } => "DeleteBucketOwnershipControls",
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
            Op::ListBuckets { .. }
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
            | Op::GetObjectAttributes { .. }
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
            // Deleting a specific version is permanent: officers and backup (markers: writers).
            Op::DeleteObject { version, .. } => delete_permission(version),
            Op::PutObjectRetention { .. } => Permission::ExtendRetention,
            Op::DeleteBucket { .. }
            | Op::PutBucketLifecycleConfiguration { .. }
            | Op::DeleteBucketLifecycle { .. }
            | Op::PutBucketVersioning { .. }
            | Op::PutObjectLockConfiguration { .. }
            | Op::PutPublicAccessBlock { .. }
            | Op::PutBucketOwnershipControls { .. }
            | Op::PutObjectLegalHold { .. } => Permission::Govern,
        }
    }

    /// Everything the operation reads or changes, for bucket-scoped keys: one place, so a copy's
    /// source and each key of a multi-object delete are never forgotten by a handler.
    /// `ListBuckets` reaches nothing (its answer is filtered instead).
    pub fn reaches(&self) -> Vec<Reach<'_>> {
        match self {
            Op::ListBuckets { .. } => Vec::new(),
            Op::NotImplemented { bucket, key, .. } => match (bucket, key) {
                (Some(b), Some(k)) => vec![Reach::Object(b, k)],
                (Some(b), None) => vec![Reach::Bucket(b)],
                _ => Vec::new(),
            },
            Op::CreateBucket { bucket, .. }
            | Op::HeadBucket { bucket }
            | Op::GetBucketLocation { bucket }
            | Op::GetBucketVersioning { bucket }
            | Op::GetObjectLockConfiguration { bucket }
            | Op::GetBucketAcl { bucket }
            | Op::GetBucketLifecycleConfiguration { bucket }
            | Op::GetBucketProbe { bucket, .. } => vec![Reach::Bucket(bucket)],
            Op::DeleteBucket { bucket }
            | Op::PutBucketVersioning { bucket, .. }
            | Op::PutObjectLockConfiguration { bucket, .. }
            | Op::PutPublicAccessBlock { bucket, .. }
            | Op::PutBucketOwnershipControls { bucket, .. }
            | Op::PutBucketLifecycleConfiguration { bucket, .. }
            | Op::DeleteBucketLifecycle { bucket }
            | Op::PutBucketAcl { bucket, .. } => vec![Reach::WholeBucket(bucket)],
            Op::ListObjectsV1 { bucket, params }
            | Op::ListObjectsV2 { bucket, params }
            | Op::ListObjectVersions { bucket, params }
            | Op::ListMultipartUploads { bucket, params } => vec![Reach::Listing(bucket, &params.prefix)],
            Op::DeleteObjects { bucket, request } => {
                let mut v = vec![Reach::Bucket(bucket)];
                v.extend(request.objects.iter().map(|o| Reach::Object(bucket, &o.key)));
                v
            }
            Op::CopyObject { bucket, key, copy, .. } | Op::UploadPartCopy { bucket, key, copy, .. } => vec![
                Reach::Object(bucket, key),
                Reach::Object(&copy.source.bucket, &copy.source.key),
            ],
            Op::GetObject(r) | Op::HeadObject(r) => vec![Reach::Object(&r.bucket, &r.key)],
            Op::PutObject { bucket, key, .. }
            | Op::DeleteObject { bucket, key, .. }
            | Op::GetObjectAttributes { bucket, key, .. }
            | Op::GetObjectRetention { bucket, key, .. }
            | Op::PutObjectRetention { bucket, key, .. }
            | Op::GetObjectLegalHold { bucket, key, .. }
            | Op::PutObjectLegalHold { bucket, key, .. }
            | Op::CreateMultipartUpload { bucket, key, .. }
            | Op::UploadPart { bucket, key, .. }
            | Op::CompleteMultipartUpload { bucket, key, .. }
            | Op::AbortMultipartUpload { bucket, key, .. }
            | Op::ListParts { bucket, key, .. }
            | Op::GetObjectTagging { bucket, key, .. }
            | Op::PutObjectTagging { bucket, key, .. }
            | Op::DeleteObjectTagging { bucket, key, .. }
            | Op::GetObjectAcl { bucket, key, .. }
            | Op::PutObjectAcl { bucket, key, .. } => vec![Reach::Object(bucket, key)],
        }
    }

    /// Bucket and key for logs and audit: the first thing the operation reaches (a copy's destination,
    /// not its source; a multi-object delete's bucket), so the two can never disagree.
    pub fn target(&self) -> (Option<&str>, Option<&str>) {
        match self.reaches().first().copied() {
            None => (None, None),
            Some(Reach::Bucket(b) | Reach::WholeBucket(b) | Reach::Listing(b, _)) => (Some(b), None),
            Some(Reach::Object(b, k)) => (Some(b), Some(k)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::RequestedMode;

    fn put(mode: Option<RequestedMode>) -> Op {
        let mut write = WriteHeaders::default();
        write.lock.mode = mode;
        Op::PutObject {
            bucket: "b".into(),
            key: "k".into(),
            write: Box::new(write),
        }
    }

    #[test]
    fn governance_becomes_compliance_and_nothing_else_changes() {
        let g = Some(RequestedMode::Governance);
        let c = Some(RequestedMode::Compliance);
        let mut op = put(g);
        assert!(op.governance_as_compliance());
        assert_eq!(op, put(c));
        // COMPLIANCE and no mode stay as they are, and are not reported as rewritten.
        for m in [c, None] {
            let mut op = put(m);
            assert!(!op.governance_as_compliance());
            assert_eq!(op, put(m));
        }
        let date = chrono::DateTime::<chrono::Utc>::from_timestamp(2_000_000_000, 0);
        let mut op = Op::PutObjectRetention {
            bucket: "b".into(),
            key: "k".into(),
            version: VersionSel::Current,
            retention: RetentionSetting {
                mode: g,
                retain_until: date,
            },
        };
        assert!(op.governance_as_compliance());
        let Op::PutObjectRetention { retention, .. } = &op else {
            unreachable!()
        };
        assert_eq!((retention.mode, retention.retain_until), (c, date));
        let mut op = Op::PutObjectLockConfiguration {
            bucket: "b".into(),
            setting: LockConfigurationSetting {
                mode: g,
                period: Some(crate::lock::DefaultRetention::Days(3)),
            },
        };
        assert!(op.governance_as_compliance());
        let Op::PutObjectLockConfiguration { setting, .. } = &op else {
            unreachable!()
        };
        assert_eq!(setting.mode, c);
        assert_eq!(setting.period, Some(crate::lock::DefaultRetention::Days(3)));
        let mut copy_or_mpu = [Op::CreateMultipartUpload {
            bucket: "b".into(),
            key: "k".into(),
            write: Box::new(WriteHeaders {
                lock: crate::lock::LockHeaders {
                    mode: g,
                    ..Default::default()
                },
                ..Default::default()
            }),
            checksum_algorithm: None,
            checksum_type: None,
        }];
        for op in &mut copy_or_mpu {
            assert!(op.governance_as_compliance());
        }
        // Operations without a mode are untouched.
        let mut op = Op::HeadBucket { bucket: "b".into() };
        assert!(!op.governance_as_compliance());
    }
}
