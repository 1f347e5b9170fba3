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
    pub(super) async fn get_tagging(&self, bucket: &str, key: &str, version: &VersionSel) -> S3Result<Reply> {
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

    pub(super) async fn get_object_acl(&self, bucket: &str, key: &str, version: &VersionSel) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        let rec = self.resolve_readable(bucket, key, version)?;
        Ok(Reply::xml(xml::owner_full_control_acl()).header("x-amz-version-id", rec.version_id.clone()))
    }

    /// Only the canned `private` ACL (what wormgate always has) is accepted; it changes nothing.
    pub(super) async fn put_acl(
        &self,
        bucket: &str,
        object: Option<(&str, &VersionSel)>,
        owner_only: bool,
        parts: &http::request::Parts,
    ) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        if let Some((key, version)) = object {
            self.resolve_readable(bucket, key, version)?;
        }
        let canned = crate::s3::parse::single_header(&parts.headers, "x-amz-acl")?;
        let grants_other = [
            "x-amz-grant-read",
            "x-amz-grant-write",
            "x-amz-grant-read-acp",
            "x-amz-grant-write-acp",
            "x-amz-grant-full-control",
        ]
        .iter()
        .any(|h| parts.headers.contains_key(*h));
        match canned {
            Some("private") | Some("bucket-owner-full-control") | None if !grants_other && owner_only => Ok(Reply::empty(StatusCode::OK)),
            _ => Err(S3Error::new(
                S3Code::NotImplemented,
                "Only the private ACL is supported: wormgate objects are readable only by authenticated users of this gateway",
            )),
        }
    }

    pub(super) async fn get_bucket_acl(&self, bucket: &str) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        Ok(Reply::xml(xml::owner_full_control_acl()))
    }

    pub(super) async fn bucket_probe(&self, bucket: &str, probe: BucketProbe) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
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
