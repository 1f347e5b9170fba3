//! Bucket handlers. Every bucket is versioned and Object Lock enabled from birth; neither can be
//! turned off.

use super::body::read_xml;
use super::util::deny;
use super::{Ctx, Gateway};
use crate::lock::{self, DefaultRetention, RequestedMode};
use crate::s3::error::{S3Code, S3Error, S3Result};
use crate::s3::respond::Reply;
use crate::s3::xml::{self, *};
use crate::store::BucketRecord;
use crate::timefmt::iso_ms;
use http::StatusCode;
use hyper::body::Incoming;

/// Owner shown in listings.
pub fn owner() -> Owner {
    Owner {
        id: "wormgate".into(),
        display_name: "wormgate".into(),
    }
}

impl Gateway {
    pub(super) async fn list_buckets(&self, _ctx: &mut Ctx) -> S3Result<Reply> {
        let buckets = self
            .catalog
            .list_buckets()?
            .into_iter()
            .map(|b| BucketOut {
                name: b.name,
                creation_date: iso_ms(b.created_ms),
            })
            .collect();
        let doc = ListAllMyBucketsResult {
            xmlns: NS,
            owner: owner(),
            buckets: BucketsOut { bucket: buckets },
        };
        Ok(Reply::xml(to_xml("ListAllMyBucketsResult", &doc)?))
    }

    pub(super) async fn create_bucket(
        &self,
        bucket: &str,
        parts: &http::request::Parts,
        body: &mut Incoming,
        ctx: &mut Ctx,
    ) -> S3Result<Reply> {
        let text = read_xml(parts, body, ctx).await?;
        if !text.trim().is_empty() {
            #[derive(serde::Deserialize)]
            struct Cfg {
                #[serde(rename = "LocationConstraint")]
                _location: Option<String>,
            }
            xml::from_xml::<Cfg>("CreateBucketConfiguration", &text)?;
        }
        let rec = BucketRecord {
            name: bucket.to_string(),
            created_ms: self.clock.now().at().timestamp_millis(),
            owner: ctx.owner(),
            default_retention: None,
        };
        if !self.catalog.create_bucket(&rec).await? {
            return Err(S3Error::new(
                S3Code::BucketAlreadyOwnedByYou,
                "Your previous request to create the named bucket succeeded and you already own it.",
            ));
        }
        Ok(Reply::empty(StatusCode::OK).header("location", format!("/{bucket}")))
    }

    pub(super) async fn head_bucket(&self, bucket: &str) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        Ok(Reply::empty(StatusCode::OK).header("x-amz-bucket-region", self.region.clone()))
    }

    pub(super) async fn delete_bucket(&self, bucket: &str, ctx: &mut Ctx) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        let all = self.locks.all().await;
        let has_versions = self.catalog.bucket_has_versions(bucket)? || self.catalog.bucket_has_uploads(bucket)?;
        let permit = lock::decide_delete_bucket(has_versions).map_err(|d| deny(ctx, d))?;
        self.catalog.delete_bucket(bucket, &all, permit).await?;
        Ok(Reply::empty(StatusCode::NO_CONTENT))
    }

    pub(super) async fn bucket_location(&self, bucket: &str) -> S3Result<Reply> {
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

    pub(super) async fn get_versioning(&self, bucket: &str) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        Ok(Reply::xml(to_xml(
            "VersioningConfiguration",
            &VersioningConfigurationOut {
                xmlns: NS,
                status: "Enabled",
            },
        )?))
    }

    pub(super) async fn put_versioning(
        &self,
        bucket: &str,
        parts: &http::request::Parts,
        body: &mut Incoming,
        ctx: &mut Ctx,
    ) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        let doc: VersioningConfigurationIn = self.read_doc("VersioningConfiguration", parts, body, ctx).await?;
        if doc.mfa_delete.as_deref() == Some("Enabled") {
            return Err(S3Error::new(
                S3Code::NotImplemented,
                "MFA Delete is not supported by this gateway",
            ));
        }
        let enabled = match doc.status.as_deref() {
            Some("Enabled") => true,
            Some("Suspended") => false,
            _ => return Err(S3Error::malformed_xml("Status must be Enabled or Suspended")),
        };
        lock::decide_versioning(enabled).map_err(|d| deny(ctx, d))?;
        Ok(Reply::empty(StatusCode::OK))
    }

    pub(super) async fn get_lock_configuration(&self, bucket: &str) -> S3Result<Reply> {
        let b = self.require_bucket(bucket)?;
        let (days, years) = match b.default_retention {
            Some(DefaultRetention::Days(d)) => (Some(d), None),
            Some(DefaultRetention::Years(y)) => (None, Some(y)),
            // The effective default is the gateway floor, rounded up to whole days.
            None => {
                let secs = self.policy.min_retention.num_seconds().max(1);
                (Some(((secs + 86_399) / 86_400).max(1) as u32), None)
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
        parts: &http::request::Parts,
        body: &mut Incoming,
        ctx: &mut Ctx,
    ) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        let doc: ObjectLockConfigurationIn = self.read_doc("ObjectLockConfiguration", parts, body, ctx).await?;
        if doc.object_lock_enabled.as_deref() != Some("Enabled") {
            return Err(S3Error::malformed_xml(
                "ObjectLockEnabled must be Enabled: Object Lock cannot be disabled",
            ));
        }
        let (mode, period) = match doc.rule {
            None => (None, None),
            Some(rule) => match rule.default_retention {
                None => return Err(S3Error::malformed_xml("Rule must contain DefaultRetention")),
                Some(dr) => parse_default_retention(dr)?,
            },
        };
        let permit = lock::decide_lock_configuration(mode, period, &self.policy).map_err(|d| deny(ctx, d))?;
        let rule = permit.rule();
        self.catalog.set_lock_configuration(bucket, permit).await?;
        ctx.audit
            .changes
            .push(crate::audit::Change::BucketDefaultRetention { rule });
        Ok(Reply::empty(StatusCode::OK))
    }
}

fn parse_default_retention(dr: DefaultRetentionIn) -> S3Result<(Option<RequestedMode>, Option<DefaultRetention>)> {
    let mode = match dr.mode.as_deref() {
        None => None,
        Some(m) => Some(RequestedMode::parse(m).ok_or_else(|| S3Error::malformed_xml(format!("unknown Mode '{m}'")))?),
    };
    let num = |s: &str| -> S3Result<i64> {
        s.trim()
            .parse::<i64>()
            .map_err(|_| S3Error::malformed_xml(format!("'{s}' is not a whole number")))
    };
    let period = match (dr.days.as_deref(), dr.years.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(S3Error::malformed_xml(
                "DefaultRetention may have Days or Years, not both",
            ))
        }
        (Some(d), None) => Some(DefaultRetention::Days(positive(num(d)?)?)),
        (None, Some(y)) => Some(DefaultRetention::Years(positive(num(y)?)?)),
        (None, None) => None,
    };
    Ok((mode, period))
}

fn positive(n: i64) -> S3Result<u32> {
    if n <= 0 || n > 36_500 {
        return Err(S3Error::new(
            S3Code::InvalidRetentionPeriod,
            "Default retention period must be a positive integer value",
        ));
    }
    Ok(n as u32)
}
