//! Object tagging (outside the WORM record: tags may change on a retained version, data and lock
//! fields never do), the fixed owner-only ACL, and the bucket configuration probes real tools send.

use super::{Done, Gateway, Outcome};
use crate::lock;
use crate::s3::error::{S3Code, S3Error, S3Result};
use crate::s3::op::{BucketProbe, VersionSel};
use crate::s3::respond::Reply;
use crate::s3::xml::{self, TagOut, TagSetOut, TaggingOut, NS};
use http::StatusCode;
use std::collections::BTreeMap;

impl Gateway {
    pub(super) fn get_tagging(&self, bucket: &str, key: &str, version: &VersionSel) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        let rec = self.resolve_readable(bucket, key, version)?;
        let doc = TaggingOut {
            xmlns: NS,
            tag_set: TagSetOut {
                tags: rec
                    .tags
                    .iter()
                    .map(|(k, v)| TagOut {
                        key: k.clone(),
                        value: v.clone(),
                    })
                    .collect(),
            },
        };
        Ok(Reply::xml(xml::to_xml("Tagging", &doc)?).header("x-amz-version-id", rec.version_id.clone()))
    }

    /// Replace a version's tags (PUT) or clear them (DELETE: an empty set).
    pub(super) async fn set_tagging(
        &self,
        bucket: &str,
        key: &str,
        version: &VersionSel,
        tags: BTreeMap<String, String>,
        clearing: bool,
    ) -> S3Result<Done> {
        self.require_bucket(bucket)?;
        let guard = self.locks.key(bucket, key).await;
        // Same resolution as reads: a delete marker has no tags (405), a corrupt record is refused.
        let rec = self.resolve_readable(bucket, key, version)?;
        let permit =
            lock::decide_set_tags(rec.target_state()).map_err(|d| S3Error::from(d).about_version(&rec.version_id))?;
        let before = self
            .catalog
            .set_tags(&guard, bucket, key, rec.seq, tags.clone(), permit)
            .await?;
        let outcome = Outcome {
            version_id: Some(rec.version_id.clone()),
            detail: Some(format!("tags {:?} -> {:?}", before.tags, tags)),
            ..Default::default()
        };
        let status = if clearing {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::OK
        };
        Ok(Done::new(
            Reply::empty(status).header("x-amz-version-id", rec.version_id.clone()),
            outcome,
        ))
    }

    pub(super) fn get_object_acl(&self, bucket: &str, key: &str, version: &VersionSel) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        let rec = self.resolve_readable(bucket, key, version)?;
        Ok(Reply::xml(xml::owner_full_control_acl()).header("x-amz-version-id", rec.version_id.clone()))
    }

    /// ACLs are disabled (Object Ownership = `BucketOwnerEnforced`, AWS's default for every new bucket):
    /// a PUT ?acl that grants nobody but the owner is accepted and changes nothing; anything else is
    /// `AccessControlListNotSupported`. The `x-amz-acl` / `x-amz-grant-*` headers were checked by the
    /// router's header table.
    pub(super) fn put_acl(
        &self,
        bucket: &str,
        object: Option<(&str, &VersionSel)>,
        owner_only: bool,
    ) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        if let Some((key, version)) = object {
            self.resolve_readable(bucket, key, version)?;
        }
        if !owner_only {
            return Err(S3Error::new(
                S3Code::AccessControlListNotSupported,
                "The bucket does not allow ACLs: wormgate buckets use Object Ownership BucketOwnerEnforced (no public or anonymous access, ever)",
            ));
        }
        Ok(Reply::empty(StatusCode::OK))
    }

    /// Put/DeletePublicAccessBlock: all four blocks stay on. Asking for that again is accepted and
    /// changes nothing; weakening any block, or deleting the configuration, is refused.
    pub(super) fn put_public_access_block(&self, bucket: &str, delete: bool, all_blocked: bool) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        if delete || !all_blocked {
            return Err(S3Error::invalid_request(
                "wormgate never allows public or anonymous access: BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy and RestrictPublicBuckets stay on and cannot be turned off or deleted",
            ));
        }
        Ok(Reply::empty(StatusCode::OK))
    }

    /// Put/DeleteBucketOwnershipControls: `BucketOwnerEnforced` always (ACLs disabled).
    pub(super) fn put_ownership_controls(&self, bucket: &str, delete: bool, enforced: bool) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        if delete || !enforced {
            return Err(S3Error::invalid_request(
                "wormgate buckets always use Object Ownership BucketOwnerEnforced (ACLs disabled); it cannot be changed or deleted",
            ));
        }
        Ok(Reply::empty(StatusCode::OK))
    }

    pub(super) fn get_bucket_acl(&self, bucket: &str) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        Ok(Reply::xml(xml::owner_full_control_acl()))
    }

    pub(super) fn bucket_probe(&self, bucket: &str, probe: BucketProbe) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        // The access stance is a configuration every bucket has, as on AWS since 2023.
        match probe {
            BucketProbe::PublicAccessBlock => return Ok(Reply::xml(xml::public_access_block_all_on())),
            BucketProbe::OwnershipControls => return Ok(Reply::xml(xml::ownership_controls_enforced())),
            _ => {}
        }
        let (code, msg) = match probe {
            BucketProbe::Policy => (S3Code::NoSuchBucketPolicy, "The bucket policy does not exist"),
            BucketProbe::Encryption => (
                S3Code::ServerSideEncryptionConfigurationNotFoundError,
                "The server side encryption configuration was not found",
            ),
            BucketProbe::Cors => (S3Code::NoSuchCORSConfiguration, "The CORS configuration does not exist"),
            BucketProbe::Tagging => (S3Code::NoSuchTagSet, "The TagSet does not exist"),
            BucketProbe::Replication => (
                S3Code::NoSuchReplicationConfiguration,
                "The replication configuration was not found",
            ),
            BucketProbe::PublicAccessBlock => (
                S3Code::NoSuchPublicAccessBlockConfiguration,
                "The public access block configuration was not found",
            ),
            BucketProbe::OwnershipControls => (
                S3Code::OwnershipControlsNotFoundError,
                "The bucket ownership controls were not found",
            ),
            BucketProbe::Website => (
                S3Code::NoSuchWebsiteConfiguration,
                "The specified bucket does not have a website configuration",
            ),
        };
        Err(S3Error::new(code, msg))
    }
}
