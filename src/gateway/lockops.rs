//! Per-version lock operations: Get/PutObjectRetention, Get/PutObjectLegalHold.

use super::util::deny;
use super::{Ctx, Gateway};
use crate::lock::{self, RequestedMode};
use crate::s3::error::{S3Code, S3Error, S3Result};
use crate::s3::op::VersionSel;
use crate::s3::respond::Reply;
use crate::s3::xml::{self, LegalHoldIn, LegalHoldOut, RetentionIn, RetentionOut, NS};
use crate::store::VersionEntry;
use crate::timefmt::{format_iso, parse_iso};
use http::StatusCode;
use hyper::body::Incoming;

impl Gateway {
    pub(super) async fn get_retention(&self, bucket: &str, key: &str, version: &VersionSel) -> S3Result<Reply> {
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

    pub(super) async fn get_legal_hold(&self, bucket: &str, key: &str, version: &VersionSel) -> S3Result<Reply> {
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
        parts: &http::request::Parts,
        body: &mut Incoming,
        ctx: &mut Ctx,
    ) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        let doc: RetentionIn = self.read_doc("Retention", parts, body, ctx).await?;
        let mode = doc
            .mode
            .as_deref()
            .map(|m| {
                RequestedMode::parse(m.trim()).ok_or_else(|| S3Error::malformed_xml(format!("unknown Mode '{m}'")))
            })
            .transpose()?;
        let retain_until = doc
            .retain_until_date
            .as_deref()
            .map(|d| {
                parse_iso(d)
                    .ok_or_else(|| S3Error::malformed_xml(format!("RetainUntilDate '{d}' is not an ISO 8601 time")))
            })
            .transpose()?;
        let guard = self.locks.key(bucket, key).await;
        let entry = self.resolve_for_mutation(bucket, key, version)?;
        ctx.audit.version_id = Some(entry_version_id(&entry));
        let permit =
            lock::decide_put_retention(entry.target_state(), mode, retain_until, &self.policy, self.clock.now())
                .map_err(|d| deny(ctx, d))?;
        let until = permit.retention().retain_until();
        if let VersionEntry::Ok(rec) = &entry {
            // Upstream Object Lock first: the client must not hear success before the mirror holds.
            self.blobs.mirror_retention(rec, until).await?;
        }
        let rec = self
            .catalog
            .set_retention(&guard, bucket, key, entry.seq(), permit)
            .await?;
        ctx.audit.retain_until = rec.retention.map(|r| format_iso(r.retain_until()));
        Ok(Reply::empty(StatusCode::OK).header("x-amz-version-id", rec.version_id.clone()))
    }

    pub(super) async fn put_legal_hold(
        &self,
        bucket: &str,
        key: &str,
        version: &VersionSel,
        parts: &http::request::Parts,
        body: &mut Incoming,
        ctx: &mut Ctx,
    ) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        let doc: LegalHoldIn = self.read_doc("LegalHold", parts, body, ctx).await?;
        let on = match doc.status.as_deref().map(str::trim) {
            Some("ON") => true,
            Some("OFF") => false,
            _ => return Err(S3Error::malformed_xml("Status must be ON or OFF")),
        };
        let guard = self.locks.key(bucket, key).await;
        let entry = self.resolve_for_mutation(bucket, key, version)?;
        ctx.audit.version_id = Some(entry_version_id(&entry));
        let permit = lock::decide_legal_hold(entry.target_state(), on).map_err(|d| deny(ctx, d))?;
        if let VersionEntry::Ok(rec) = &entry {
            self.blobs.mirror_legal_hold(rec, permit.on()).await?;
        }
        let rec = self
            .catalog
            .set_legal_hold(&guard, bucket, key, entry.seq(), permit)
            .await?;
        ctx.audit.legal_hold = Some(rec.legal_hold);
        Ok(Reply::empty(StatusCode::OK).header("x-amz-version-id", rec.version_id.clone()))
    }
}

fn entry_version_id(e: &VersionEntry) -> String {
    match e {
        VersionEntry::Ok(r) => r.version_id.clone(),
        VersionEntry::Corrupt { seq, .. } => format!("seq:{seq}"),
    }
}
