//! Per-version lock operations: Get/PutObjectRetention, Get/PutObjectLegalHold.

use super::{Done, Gateway, Outcome};
use crate::lock;
use crate::s3::docs::RetentionSetting;
use crate::s3::error::{S3Code, S3Error, S3Result};
use crate::s3::op::VersionSel;
use crate::s3::respond::Reply;
use crate::s3::xml::{self, LegalHoldOut, RetentionOut, NS};
use crate::store::VersionEntry;
use crate::timefmt::format_iso;
use http::StatusCode;

impl Gateway {
    pub(super) fn get_retention(&self, bucket: &str, key: &str, version: &VersionSel) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        let rec = self.resolve_readable(bucket, key, version)?;
        let ret = rec.retention.ok_or_else(|| {
            S3Error::new(
                S3Code::NoSuchObjectLockConfiguration,
                "The specified object does not have a ObjectLock configuration",
            )
        })?;
        let doc = RetentionOut {
            xmlns: NS,
            mode: "COMPLIANCE",
            retain_until_date: format_iso(ret.retain_until()),
        };
        Ok(Reply::xml(xml::to_xml("Retention", &doc)?).header("x-amz-version-id", rec.version_id.clone()))
    }

    pub(super) fn get_legal_hold(&self, bucket: &str, key: &str, version: &VersionSel) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        let rec = self.resolve_readable(bucket, key, version)?;
        let doc = LegalHoldOut {
            xmlns: NS,
            status: if rec.legal_hold { "ON" } else { "OFF" },
        };
        Ok(Reply::xml(xml::to_xml("LegalHold", &doc)?).header("x-amz-version-id", rec.version_id.clone()))
    }

    pub(super) async fn put_retention(
        &self,
        bucket: &str,
        key: &str,
        version: &VersionSel,
        retention: RetentionSetting,
    ) -> S3Result<Done> {
        self.require_bucket(bucket)?;
        let RetentionSetting { mode, retain_until } = retention;
        let guard = self.locks.key(bucket, key).await;
        let entry = self.resolve_for_mutation(bucket, key, version)?;
        let permit =
            lock::decide_put_retention(entry.target_state(), mode, retain_until, &self.policy, self.clock.now())
                .map_err(|d| S3Error::from(d).about_version(entry_version_id(&entry)))?;
        let until = permit.retention().retain_until();
        if let VersionEntry::Ok(rec) = &entry {
            // Upstream Object Lock first: the client must not hear success before the mirror holds.
            self.blobs.mirror_retention(rec, until).await?;
        }
        let rec = self
            .catalog
            .set_retention(&guard, bucket, key, entry.seq(), permit)
            .await?;
        let outcome = Outcome {
            legal_hold: None,
            ..Outcome::version(&rec)
        };
        Ok(Done::new(
            Reply::empty(StatusCode::OK).header("x-amz-version-id", rec.version_id.clone()),
            outcome,
        ))
    }

    pub(super) async fn put_legal_hold(
        &self,
        bucket: &str,
        key: &str,
        version: &VersionSel,
        on: bool,
    ) -> S3Result<Done> {
        self.require_bucket(bucket)?;
        let guard = self.locks.key(bucket, key).await;
        let entry = self.resolve_for_mutation(bucket, key, version)?;
        let permit = lock::decide_legal_hold(entry.target_state(), on)
            .map_err(|d| S3Error::from(d).about_version(entry_version_id(&entry)))?;
        if let VersionEntry::Ok(rec) = &entry {
            self.blobs.mirror_legal_hold(rec, permit.on()).await?;
        }
        let rec = self
            .catalog
            .set_legal_hold(&guard, bucket, key, entry.seq(), permit)
            .await?;
        let outcome = Outcome {
            version_id: Some(rec.version_id.clone()),
            legal_hold: Some(rec.legal_hold),
            ..Default::default()
        };
        Ok(Done::new(
            Reply::empty(StatusCode::OK).header("x-amz-version-id", rec.version_id.clone()),
            outcome,
        ))
    }
}

fn entry_version_id(e: &VersionEntry) -> String {
    match e {
        VersionEntry::Ok(r) => r.version_id.clone(),
        VersionEntry::Corrupt { seq, .. } => format!("seq:{seq}"),
    }
}
