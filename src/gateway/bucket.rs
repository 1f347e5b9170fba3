//! Bucket handlers. Every bucket is versioned and Object Lock enabled from birth; neither can be
//! turned off.

use super::{Ctx, Done, Gateway, Outcome};
use crate::lock::{self, DefaultRetention};
use crate::s3::docs::LockConfigurationSetting;
use crate::s3::error::{S3Code, S3Error, S3Result};
use crate::s3::op::ListBucketsParams;
use crate::s3::respond::Reply;
use crate::s3::xml::{
    to_xml, BucketOut, BucketsOut, DefaultRetentionOut, ListAllMyBucketsResult, LocationConstraintOut,
    ObjectLockConfigurationOut, Owner, RuleOut, VersioningConfigurationOut, NS,
};
use crate::store::BucketRecord;
use crate::timefmt::iso_ms;
use http::StatusCode;

/// Owner shown in listings.
pub fn owner() -> Owner {
    Owner {
        id: crate::s3::parse::OWNER_ID.into(),
        display_name: crate::s3::parse::OWNER_ID.into(),
    }
}

impl Gateway {
    /// `ListBuckets`, in name order: `prefix` and `bucket-region` filter (every bucket lives in the
    /// configured region), `max-buckets` cuts the page and the continuation token resumes after it.
    /// Only the buckets the caller's key may reach (`auth::Scope`) are listed.
    pub(super) fn list_buckets(&self, p: &ListBucketsParams, ctx: &Ctx) -> S3Result<Reply> {
        let in_region = p.bucket_region.as_deref().is_none_or(|r| r == self.region);
        let mut buckets: Vec<BucketOut> = Vec::new();
        let mut truncated = false;
        for b in self.catalog.list_buckets()? {
            if !in_region
                || ctx.principal().is_some_and(|who| !who.scope.sees_bucket(&b.name))
                || p.prefix.as_deref().is_some_and(|pre| !b.name.starts_with(pre))
                || p.after.as_deref().is_some_and(|a| b.name.as_str() <= a)
            {
                continue;
            }
            if p.max_buckets.is_some_and(|m| buckets.len() >= m) {
                truncated = true;
                break;
            }
            buckets.push(BucketOut {
                name: b.name,
                creation_date: iso_ms(b.created_ms),
                bucket_region: self.region.clone(),
            });
        }
        let doc = ListAllMyBucketsResult {
            xmlns: NS,
            owner: owner(),
            continuation_token: truncated
                .then(|| buckets.last().map(|b| crate::s3::parse::bucket_token(&b.name)))
                .flatten(),
            prefix: p.prefix.clone(),
            buckets: BucketsOut { bucket: buckets },
        };
        Ok(Reply::xml(to_xml("ListAllMyBucketsResult", &doc)?))
    }

    /// Any `LocationConstraint` is accepted (the bucket lives here whatever the client names). A
    /// bucket that exists already (every bucket belongs to the gateway's one owner) is answered as
    /// AWS does for its owner: 200 in us-east-1, 409 `BucketAlreadyOwnedByYou` in any other region.
    pub(super) async fn create_bucket(&self, bucket: &str, _location: Option<&str>, ctx: &Ctx) -> S3Result<Reply> {
        let rec = BucketRecord {
            name: bucket.to_string(),
            created_ms: self.clock.now().at().timestamp_millis(),
            owner: ctx.owner(),
            default_retention: None,
            lifecycle: None,
        };
        if !self.catalog.create_bucket(&rec).await? && self.region != "us-east-1" {
            return Err(S3Error::new(
                S3Code::BucketAlreadyOwnedByYou,
                "Your previous request to create the named bucket succeeded and you already own it.",
            ));
        }
        Ok(Reply::empty(StatusCode::OK).header("location", format!("/{bucket}")))
    }

    pub(super) fn head_bucket(&self, bucket: &str) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        Ok(Reply::empty(StatusCode::OK).header("x-amz-bucket-region", self.region.clone()))
    }

    pub(super) async fn delete_bucket(&self, bucket: &str) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        let all = self.locks.all().await;
        let has_versions = self.catalog.bucket_has_versions(bucket)? || self.catalog.bucket_has_uploads(bucket)?;
        let permit = lock::decide_delete_bucket(has_versions)?;
        self.catalog.delete_bucket(bucket, &all, permit).await?;
        Ok(Reply::empty(StatusCode::NO_CONTENT))
    }

    pub(super) fn bucket_location(&self, bucket: &str) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        let region = if self.region == "us-east-1" {
            String::new()
        } else {
            self.region.clone()
        };
        Ok(Reply::xml(to_xml(
            "LocationConstraint",
            &LocationConstraintOut { xmlns: NS, region },
        )?))
    }

    pub(super) fn get_versioning(&self, bucket: &str) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        Ok(Reply::xml(to_xml(
            "VersioningConfiguration",
            &VersioningConfigurationOut {
                xmlns: NS,
                status: "Enabled",
            },
        )?))
    }

    pub(super) fn put_versioning(&self, bucket: &str, enabled: bool) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        lock::decide_versioning(enabled)?;
        Ok(Reply::empty(StatusCode::OK))
    }

    pub(super) fn get_lock_configuration(&self, bucket: &str) -> S3Result<Reply> {
        let b = self.require_bucket(bucket)?;
        let (days, years) = match b.default_retention {
            Some(DefaultRetention::Days(d)) => (Some(d), None),
            Some(DefaultRetention::Years(y)) => (None, Some(y)),
            // The effective default is the gateway floor, rounded up to whole days.
            None => {
                let secs = self.policy.min_retention.num_seconds().max(1);
                (
                    Some(u32::try_from(((secs + 86_399) / 86_400).max(1)).unwrap_or(u32::MAX)),
                    None,
                )
            }
        };
        let doc = ObjectLockConfigurationOut {
            xmlns: NS,
            enabled: "Enabled",
            rule: RuleOut {
                default_retention: DefaultRetentionOut {
                    mode: "COMPLIANCE",
                    days,
                    years,
                },
            },
        };
        Ok(Reply::xml(to_xml("ObjectLockConfiguration", &doc)?))
    }

    pub(super) async fn put_lock_configuration(
        &self,
        bucket: &str,
        setting: LockConfigurationSetting,
    ) -> S3Result<Done> {
        self.require_bucket(bucket)?;
        let LockConfigurationSetting { mode, period } = setting;
        let permit = lock::decide_lock_configuration(mode, period, &self.policy)?;
        let rule = permit.rule();
        self.catalog.set_lock_configuration(bucket, permit).await?;
        let outcome = Outcome {
            changes: vec![crate::audit::Change::BucketDefaultRetention { rule }],
            ..Default::default()
        };
        Ok(Done::new(Reply::empty(StatusCode::OK), outcome))
    }
}
