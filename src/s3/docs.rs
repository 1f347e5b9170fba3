//! The XML request documents, parsed into the typed values an [`Op`](super::op::Op) carries: one
//! parser per document, with the same date, mode, key and version-id rules as the header and query
//! forms. Handlers never see XML text.

use super::error::{S3Code, S3Error, S3Result};
use super::op::VersionSel;
use super::xml::{
    self, CompleteMultipartUploadIn, DefaultRetentionIn, DeleteIn, LegalHoldIn, ObjectLockConfigurationIn, RetentionIn,
    TaggingIn, VersioningConfigurationIn,
};
use crate::lock::{DefaultRetention, RequestedMode};
use crate::timefmt::parse_iso;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// `<Retention>` of `PutObjectRetention`: what the client asked for (the lock decides).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionSetting {
    pub mode: Option<RequestedMode>,
    pub retain_until: Option<DateTime<Utc>>,
}

/// `<Delete>` of `DeleteObjects`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteRequest {
    pub quiet: bool,
    pub objects: Vec<DeleteEntry>,
}

/// One `<Object>` of a Delete request. A bad key or version id is this entry's error, not the
/// request's (AWS answers it per key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteEntry {
    pub key: String,
    /// The version id as sent (echoed in the answer).
    pub version_id: Option<String>,
    pub target: Result<VersionSel, S3Error>,
}

/// One `<Part>` of `CompleteMultipartUpload`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletePart {
    pub part_number: u32,
    /// Without quotes.
    pub etag: String,
    /// Every `<ChecksumXXX>` value given for the part.
    pub checksums: Vec<String>,
}

/// `<ObjectLockConfiguration>`: the default rule asked for (the lock decides).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockConfigurationSetting {
    pub mode: Option<RequestedMode>,
    pub period: Option<DefaultRetention>,
}

/// `PutObjectRetention`.
pub fn retention(text: &str) -> S3Result<RetentionSetting> {
    let doc: RetentionIn = xml::from_xml("Retention", text)?;
    let mode = doc
        .mode
        .as_deref()
        .map(|m| RequestedMode::parse(m.trim()).ok_or_else(|| S3Error::malformed_xml(format!("unknown Mode '{m}'"))))
        .transpose()?;
    let retain_until = doc
        .retain_until_date
        .as_deref()
        .map(|d| {
            parse_iso(d).ok_or_else(|| S3Error::malformed_xml(format!("RetainUntilDate '{d}' is not an ISO 8601 time")))
        })
        .transpose()?;
    Ok(RetentionSetting { mode, retain_until })
}

/// `PutObjectLegalHold`: `ON` or `OFF`.
pub fn legal_hold(text: &str) -> S3Result<bool> {
    let doc: LegalHoldIn = xml::from_xml("LegalHold", text)?;
    match doc.status.as_deref().map(str::trim) {
        Some("ON") => Ok(true),
        Some("OFF") => Ok(false),
        _ => Err(S3Error::malformed_xml("Status must be ON or OFF")),
    }
}

/// `DeleteObjects`: 1 to 1000 objects; keys and version ids checked as the single-object forms are.
pub fn delete(text: &str) -> S3Result<DeleteRequest> {
    let doc: DeleteIn = xml::from_xml("Delete", text)?;
    if doc.objects.len() > 1000 {
        return Err(S3Error::malformed_xml("a Delete request may name at most 1000 objects"));
    }
    if doc.objects.is_empty() {
        return Err(S3Error::malformed_xml("a Delete request must name at least one object"));
    }
    let quiet = matches!(doc.quiet.as_deref().map(str::trim), Some("true" | "True"));
    let objects = doc
        .objects
        .into_iter()
        .map(|o| {
            let key = o.key.unwrap_or_default();
            let version_id = o.version_id.filter(|v| !v.is_empty());
            let target = super::parse::version_sel_of(version_id.as_deref()).and_then(|sel| {
                if key.is_empty() {
                    return Err(S3Error::invalid_argument("invalid object key"));
                }
                super::parse::validate_key(&key)?;
                Ok(sel)
            });
            DeleteEntry {
                key,
                version_id,
                target,
            }
        })
        .collect();
    Ok(DeleteRequest { quiet, objects })
}

/// `PutBucketVersioning`: `true` for Enabled, `false` for Suspended (the lock refuses that).
pub fn versioning(text: &str) -> S3Result<bool> {
    let doc: VersioningConfigurationIn = xml::from_xml("VersioningConfiguration", text)?;
    if doc.mfa_delete.as_deref() == Some("Enabled") {
        return Err(S3Error::new(
            S3Code::NotImplemented,
            "MFA Delete is not supported by this gateway",
        ));
    }
    match doc.status.as_deref() {
        Some("Enabled") => Ok(true),
        Some("Suspended") => Ok(false),
        _ => Err(S3Error::malformed_xml("Status must be Enabled or Suspended")),
    }
}

/// `PutObjectLockConfiguration`: Object Lock stays enabled; the default rule is checked for shape.
pub fn lock_configuration(text: &str) -> S3Result<LockConfigurationSetting> {
    let doc: ObjectLockConfigurationIn = xml::from_xml("ObjectLockConfiguration", text)?;
    if doc.object_lock_enabled.as_deref() != Some("Enabled") {
        return Err(S3Error::malformed_xml(
            "ObjectLockEnabled must be Enabled: Object Lock cannot be disabled",
        ));
    }
    match doc.rule {
        None => Ok(LockConfigurationSetting::default()),
        Some(rule) => match rule.default_retention {
            None => Err(S3Error::malformed_xml("Rule must contain DefaultRetention")),
            Some(dr) => default_retention(&dr),
        },
    }
}

fn default_retention(dr: &DefaultRetentionIn) -> S3Result<LockConfigurationSetting> {
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
    Ok(LockConfigurationSetting { mode, period })
}

fn positive(n: i64) -> S3Result<u32> {
    u32::try_from(n)
        .ok()
        .filter(|n| (1..=36_500).contains(n))
        .ok_or_else(|| {
            S3Error::new(
                S3Code::InvalidRetentionPeriod,
                "Default retention period must be a positive integer value",
            )
        })
}

/// `PutObjectTagging`: the tag set, validated (≤ 10 tags, key and value lengths, no duplicates).
pub fn tagging(text: &str) -> S3Result<BTreeMap<String, String>> {
    let doc: TaggingIn = xml::from_xml("Tagging", text)?;
    let list: Vec<(String, String)> = doc
        .tag_set
        .map(|t| t.tags)
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
        .collect();
    xml::validate_tags(&list)?;
    Ok(list.into_iter().collect())
}

/// `CompleteMultipartUpload`: 1 to 10,000 parts with numeric part numbers (order and existence are
/// checked against the upload).
pub fn complete_multipart(text: &str) -> S3Result<Vec<CompletePart>> {
    let doc: CompleteMultipartUploadIn = xml::from_xml("CompleteMultipartUpload", text)?;
    if doc.parts.is_empty() {
        return Err(S3Error::malformed_xml(
            "CompleteMultipartUpload must list at least one part",
        ));
    }
    if doc.parts.len() > 10_000 {
        return Err(S3Error::malformed_xml("at most 10000 parts"));
    }
    doc.parts
        .into_iter()
        .map(|p| {
            let part_number = p
                .part_number
                .as_deref()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| S3Error::malformed_xml("PartNumber must be a number"))?;
            let etag = p.etag.as_deref().map_or("", |e| e.trim().trim_matches('"')).to_string();
            let checksums = [p.crc32, p.crc32c, p.crc64nvme, p.sha1, p.sha256]
                .into_iter()
                .flatten()
                .map(|c| c.trim().to_string())
                .collect();
            Ok(CompletePart {
                part_number,
                etag,
                checksums,
            })
        })
        .collect()
}

/// `CreateBucket`: an optional `<CreateBucketConfiguration>` (its `LocationConstraint` is accepted).
pub fn create_bucket(text: &str) -> S3Result<Option<String>> {
    #[derive(serde::Deserialize)]
    struct Cfg {
        #[serde(rename = "LocationConstraint")]
        location: Option<String>,
    }
    if text.trim().is_empty() {
        return Ok(None);
    }
    Ok(xml::from_xml::<Cfg>("CreateBucketConfiguration", text)?.location)
}

/// Put{Bucket,Object}Acl body: empty, or one grant of `FULL_CONTROL` to nobody public.
pub fn acl_is_owner_only(text: &str) -> bool {
    text.trim().is_empty()
        || (text.matches("<Grant>").count() <= 1
            && text.contains("FULL_CONTROL")
            && !text.contains("AllUsers")
            && !text.contains("AuthenticatedUsers"))
}

/// `PutPublicAccessBlock`: whether all four blocks are on (a missing element is `false`, as AWS reads it).
pub fn public_access_block(text: &str) -> S3Result<bool> {
    #[derive(serde::Deserialize)]
    struct Cfg {
        #[serde(rename = "BlockPublicAcls")]
        block_public_acls: Option<bool>,
        #[serde(rename = "IgnorePublicAcls")]
        ignore_public_acls: Option<bool>,
        #[serde(rename = "BlockPublicPolicy")]
        block_public_policy: Option<bool>,
        #[serde(rename = "RestrictPublicBuckets")]
        restrict_public_buckets: Option<bool>,
    }
    let c: Cfg = xml::from_xml("PublicAccessBlockConfiguration", text)?;
    Ok([
        c.block_public_acls,
        c.ignore_public_acls,
        c.block_public_policy,
        c.restrict_public_buckets,
    ]
    .iter()
    .all(|b| *b == Some(true)))
}

/// `PutBucketOwnershipControls`: whether the one rule is `BucketOwnerEnforced`; an unknown value is
/// `InvalidArgument`.
pub fn ownership_controls(text: &str) -> S3Result<bool> {
    #[derive(serde::Deserialize)]
    struct Rule {
        #[serde(rename = "ObjectOwnership")]
        object_ownership: String,
    }
    #[derive(serde::Deserialize)]
    struct Cfg {
        #[serde(rename = "Rule", default)]
        rules: Vec<Rule>,
    }
    let c: Cfg = xml::from_xml("OwnershipControls", text)?;
    let [rule] = c.rules.as_slice() else {
        return Err(S3Error::malformed_xml("OwnershipControls must hold exactly one Rule"));
    };
    match rule.object_ownership.as_str() {
        "BucketOwnerEnforced" => Ok(true),
        "BucketOwnerPreferred" | "ObjectWriter" => Ok(false),
        other => Err(S3Error::invalid_argument(format!(
            "Invalid ObjectOwnership value: {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_document_uses_the_header_rules() {
        let r = retention(
            "<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00.000Z</RetainUntilDate></Retention>",
        )
        .unwrap();
        assert_eq!(r.mode, Some(RequestedMode::Compliance));
        assert_eq!(r.retain_until, parse_iso("2030-01-01T00:00:00Z"));
        // Lower-case modes and dates without a zone are refused, as in the headers.
        assert_eq!(
            retention("<Retention><Mode>compliance</Mode></Retention>")
                .unwrap_err()
                .code,
            S3Code::MalformedXML
        );
        assert_eq!(
            retention("<Retention><RetainUntilDate>2030-01-01T00:00:00</RetainUntilDate></Retention>")
                .unwrap_err()
                .code,
            S3Code::MalformedXML
        );
    }

    #[test]
    fn delete_document_checks_each_entry_like_the_single_forms() {
        let d = delete(
            "<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object>\
             <Object><Key>b</Key><VersionId>bogus</VersionId></Object>\
             <Object><Key></Key></Object><Object><Key>c</Key><VersionId>null</VersionId></Object></Delete>",
        )
        .unwrap();
        assert!(d.quiet);
        assert_eq!(d.objects[0].target, Ok(VersionSel::Current));
        assert_eq!(d.objects[1].target.as_ref().unwrap_err().code, S3Code::InvalidArgument);
        assert_eq!(d.objects[2].target.as_ref().unwrap_err().code, S3Code::InvalidArgument);
        assert_eq!(d.objects[3].target, Ok(VersionSel::Absent("null".into())));
        let many = format!("<Delete>{}</Delete>", "<Object><Key>k</Key></Object>".repeat(1001));
        assert_eq!(delete(&many).unwrap_err().code, S3Code::MalformedXML);
        assert_eq!(delete("<Delete></Delete>").unwrap_err().code, S3Code::MalformedXML);
    }

    #[test]
    fn lock_configuration_document() {
        let c = lock_configuration(
            "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>\
             <Mode>COMPLIANCE</Mode><Years>7</Years></DefaultRetention></Rule></ObjectLockConfiguration>",
        )
        .unwrap();
        assert_eq!(c.period, Some(DefaultRetention::Years(7)));
        for bad in ["0", "-1", "36501", "99999999999"] {
            let doc = format!(
                "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>\
                 <Mode>COMPLIANCE</Mode><Days>{bad}</Days></DefaultRetention></Rule></ObjectLockConfiguration>"
            );
            assert_eq!(
                lock_configuration(&doc).unwrap_err().code,
                S3Code::InvalidRetentionPeriod,
                "{bad}"
            );
        }
        assert_eq!(
            lock_configuration("<ObjectLockConfiguration></ObjectLockConfiguration>")
                .unwrap_err()
                .code,
            S3Code::MalformedXML
        );
    }

    #[test]
    fn complete_document() {
        let p = complete_multipart(
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"abc\"</ETag>\
             <ChecksumCRC32>NhCmhg==</ChecksumCRC32></Part></CompleteMultipartUpload>",
        )
        .unwrap();
        assert_eq!(p[0].part_number, 1);
        assert_eq!(p[0].etag, "abc");
        assert_eq!(p[0].checksums, vec!["NhCmhg==".to_string()]);
        assert_eq!(
            complete_multipart(
                "<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part></CompleteMultipartUpload>"
            )
            .unwrap_err()
            .code,
            S3Code::MalformedXML
        );
    }
}

#[cfg(test)]
mod access_stance_tests {
    use super::*;

    #[test]
    fn public_access_block_needs_all_four_on() {
        let all = "<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>";
        assert!(public_access_block(all).unwrap());
        assert!(!public_access_block(&all.replace("<BlockPublicPolicy>true", "<BlockPublicPolicy>false")).unwrap());
        assert!(!public_access_block(
            "<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration>"
        )
        .unwrap());
    }

    #[test]
    fn ownership_controls_values() {
        let doc = |v: &str| {
            format!("<OwnershipControls><Rule><ObjectOwnership>{v}</ObjectOwnership></Rule></OwnershipControls>")
        };
        assert!(ownership_controls(&doc("BucketOwnerEnforced")).unwrap());
        assert!(!ownership_controls(&doc("ObjectWriter")).unwrap());
        assert_eq!(
            ownership_controls(&doc("Nobody")).unwrap_err().code,
            S3Code::InvalidArgument
        );
    }
}
