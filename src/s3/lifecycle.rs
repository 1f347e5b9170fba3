//! The bucket lifecycle configuration (`?lifecycle`): AWS's XML parsed and validated into typed rules,
//! and rendered back for `GetBucketLifecycleConfiguration`. The rules are stored with the bucket; what
//! they make happen (and when the lock lets it happen) is `crate::lifecycle`'s business.
//!
//! Only actions that never remove a version the lock still protects are accepted: `Expiration`
//! (Days / Date add a delete marker; `ExpiredObjectDeleteMarker` removes a lone marker),
//! `NoncurrentVersionExpiration` and `AbortIncompleteMultipartUpload`. Transitions are 501 (no storage
//! classes); `ExpiredObjectDeleteAllVersions` and `DelMarkerExpiration` are refused (they would remove
//! every version of a key regardless).

use super::error::{xml_escape, S3Code, S3Error, S3Result};
use super::xml;
use crate::timefmt::{format_iso, parse_iso};
use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// At most this many rules per configuration (AWS).
pub const MAX_RULES: usize = 1000;

/// A bucket's lifecycle configuration, as stored in its bucket record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleConfiguration {
    pub rules: Vec<LifecycleRule>,
}

/// One `<Rule>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRule {
    /// Unique within the configuration, ≤ 255 characters (generated when the client sent none).
    pub id: String,
    /// `Status` Enabled (false: Disabled, kept but never acted on).
    pub enabled: bool,
    pub filter: RuleFilter,
    pub expiration: Option<Expiration>,
    pub noncurrent: Option<NoncurrentExpiration>,
    /// `AbortIncompleteMultipartUpload` `DaysAfterInitiation`.
    pub abort_incomplete_days: Option<u32>,
}

/// Which objects a rule applies to. Kept in the form the client sent it, so GET returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleFilter {
    /// The legacy top-level `<Prefix>` (no `<Filter>`).
    Legacy(String),
    /// `<Filter/>`: every object.
    All,
    Prefix(String),
    Tag(String, String),
    SizeGreaterThan(u64),
    SizeLessThan(u64),
    /// `<And>`: every condition given must hold.
    And {
        prefix: Option<String>,
        tags: Vec<(String, String)>,
        size_greater_than: Option<u64>,
        size_less_than: Option<u64>,
    },
}

/// The `<Expiration>` action (current versions and lone delete markers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiration {
    /// Add a delete marker this many lifecycle days after the version was created.
    Days(u32),
    /// Add a delete marker once this time (ms since the epoch, a UTC midnight) has come.
    Date(i64),
    /// `ExpiredObjectDeleteMarker`: remove a delete marker that is the only version left of its key.
    ExpiredObjectDeleteMarker,
}

/// `<NoncurrentVersionExpiration>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoncurrentExpiration {
    /// Lifecycle days after the version became noncurrent.
    pub noncurrent_days: u32,
    /// Keep this many newer noncurrent versions whatever their age.
    pub newer_noncurrent_versions: Option<u32>,
}

impl RuleFilter {
    /// Whether an object (key, size, tags) is in the rule's scope. A delete marker has no size and no
    /// tags: it matches only filters made of a prefix.
    pub fn matches(&self, key: &str, size: Option<u64>, tags: &std::collections::BTreeMap<String, String>) -> bool {
        let tag_ok = |k: &str, v: &str| tags.get(k).is_some_and(|t| t == v);
        match self {
            RuleFilter::All => true,
            RuleFilter::Legacy(p) | RuleFilter::Prefix(p) => key.starts_with(p.as_str()),
            RuleFilter::Tag(k, v) => tag_ok(k, v),
            RuleFilter::SizeGreaterThan(n) => size.is_some_and(|s| s > *n),
            RuleFilter::SizeLessThan(n) => size.is_some_and(|s| s < *n),
            RuleFilter::And {
                prefix,
                tags: want,
                size_greater_than,
                size_less_than,
            } => {
                prefix.as_deref().is_none_or(|p| key.starts_with(p))
                    && want.iter().all(|(k, v)| tag_ok(k, v))
                    && size_greater_than.is_none_or(|n| size.is_some_and(|s| s > n))
                    && size_less_than.is_none_or(|n| size.is_some_and(|s| s < n))
            }
        }
    }

    fn has_tags(&self) -> bool {
        matches!(self, RuleFilter::Tag(..)) || matches!(self, RuleFilter::And { tags, .. } if !tags.is_empty())
    }

    /// The key prefix every matching key starts with ("" for none).
    pub fn prefix(&self) -> &str {
        match self {
            RuleFilter::Legacy(p) | RuleFilter::Prefix(p) | RuleFilter::And { prefix: Some(p), .. } => p,
            _ => "",
        }
    }
}

// ---------------- the request document ----------------

#[derive(Debug, Deserialize, Default)]
struct ConfigIn {
    #[serde(rename = "Rule", default)]
    rules: Vec<RuleIn>,
}

/// Any element whose content is not looked at (its presence is what counts).
#[derive(Debug, Deserialize, Default)]
struct Present {}

#[derive(Debug, Deserialize, Default)]
struct RuleIn {
    #[serde(rename = "ID")]
    id: Option<String>,
    #[serde(rename = "Status")]
    status: Option<String>,
    #[serde(rename = "Prefix")]
    prefix: Option<String>,
    #[serde(rename = "Filter")]
    filter: Option<FilterIn>,
    #[serde(rename = "Expiration")]
    expiration: Option<ExpirationIn>,
    #[serde(rename = "NoncurrentVersionExpiration")]
    noncurrent: Option<NoncurrentIn>,
    #[serde(rename = "AbortIncompleteMultipartUpload")]
    abort: Option<AbortIn>,
    #[serde(rename = "Transition", default)]
    transitions: Vec<Present>,
    #[serde(rename = "NoncurrentVersionTransition", default)]
    noncurrent_transitions: Vec<Present>,
    #[serde(rename = "DelMarkerExpiration")]
    del_marker_expiration: Option<Present>,
}

#[derive(Debug, Deserialize, Default)]
struct FilterIn {
    #[serde(rename = "Prefix")]
    prefix: Option<String>,
    #[serde(rename = "Tag")]
    tag: Option<TagIn>,
    #[serde(rename = "ObjectSizeGreaterThan")]
    size_gt: Option<String>,
    #[serde(rename = "ObjectSizeLessThan")]
    size_lt: Option<String>,
    #[serde(rename = "And")]
    and: Option<AndIn>,
}

#[derive(Debug, Deserialize, Default)]
struct AndIn {
    #[serde(rename = "Prefix")]
    prefix: Option<String>,
    #[serde(rename = "Tag", default)]
    tags: Vec<TagIn>,
    #[serde(rename = "ObjectSizeGreaterThan")]
    size_gt: Option<String>,
    #[serde(rename = "ObjectSizeLessThan")]
    size_lt: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
struct TagIn {
    #[serde(rename = "Key")]
    key: Option<String>,
    #[serde(rename = "Value")]
    value: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
struct ExpirationIn {
    #[serde(rename = "Days")]
    days: Option<String>,
    #[serde(rename = "Date")]
    date: Option<String>,
    #[serde(rename = "ExpiredObjectDeleteMarker")]
    expired_object_delete_marker: Option<String>,
    #[serde(rename = "ExpiredObjectAllVersions")]
    all_versions_old: Option<String>,
    #[serde(rename = "ExpiredObjectDeleteAllVersions")]
    all_versions: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
struct NoncurrentIn {
    #[serde(rename = "NoncurrentDays")]
    days: Option<String>,
    #[serde(rename = "NewerNoncurrentVersions")]
    newer: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
struct AbortIn {
    #[serde(rename = "DaysAfterInitiation")]
    days: Option<String>,
}

fn whole(s: &str, what: &str) -> S3Result<i64> {
    s.trim()
        .parse::<i64>()
        .map_err(|_| S3Error::malformed_xml(format!("{what} '{s}' is not a whole number")))
}

fn positive_days(s: &str, what: &str) -> S3Result<u32> {
    let n = whole(s, what)?;
    u32::try_from(n)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| S3Error::invalid_argument(format!("'{what}' must be a positive integer")))
}

fn size(s: &str, what: &str) -> S3Result<u64> {
    let n = whole(s, what)?;
    u64::try_from(n).map_err(|_| S3Error::invalid_argument(format!("'{what}' must be a non-negative integer")))
}

fn tag(t: TagIn) -> S3Result<(String, String)> {
    let pair = (t.key.unwrap_or_default(), t.value.unwrap_or_default());
    xml::validate_tags(std::slice::from_ref(&pair))?;
    Ok(pair)
}

fn filter(f: FilterIn) -> S3Result<RuleFilter> {
    let given = [
        f.prefix.is_some(),
        f.tag.is_some(),
        f.size_gt.is_some(),
        f.size_lt.is_some(),
        f.and.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given > 1 {
        return Err(S3Error::malformed_xml(
            "a Filter holds one of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan or And",
        ));
    }
    Ok(if let Some(p) = f.prefix {
        RuleFilter::Prefix(p)
    } else if let Some(t) = f.tag {
        let (k, v) = tag(t)?;
        RuleFilter::Tag(k, v)
    } else if let Some(n) = f.size_gt {
        RuleFilter::SizeGreaterThan(size(&n, "ObjectSizeGreaterThan")?)
    } else if let Some(n) = f.size_lt {
        RuleFilter::SizeLessThan(size(&n, "ObjectSizeLessThan")?)
    } else if let Some(a) = f.and {
        let tags = a.tags.into_iter().map(tag).collect::<S3Result<Vec<_>>>()?;
        let mut seen = std::collections::BTreeSet::new();
        if tags.iter().any(|(k, _)| !seen.insert(k.clone())) {
            return Err(S3Error::invalid_argument("Duplicate Tag Keys are not allowed."));
        }
        let size_greater_than = a.size_gt.map(|n| size(&n, "ObjectSizeGreaterThan")).transpose()?;
        let size_less_than = a.size_lt.map(|n| size(&n, "ObjectSizeLessThan")).transpose()?;
        let conditions = usize::from(a.prefix.is_some())
            + tags.len()
            + usize::from(size_greater_than.is_some())
            + usize::from(size_less_than.is_some());
        if conditions < 2 {
            return Err(S3Error::malformed_xml(
                "And must combine at least two of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan",
            ));
        }
        if let (Some(g), Some(l)) = (size_greater_than, size_less_than) {
            if g >= l {
                return Err(S3Error::invalid_argument(
                    "ObjectSizeGreaterThan must be less than ObjectSizeLessThan",
                ));
            }
        }
        RuleFilter::And {
            prefix: a.prefix,
            tags,
            size_greater_than,
            size_less_than,
        }
    } else {
        RuleFilter::All
    })
}

fn expiration(e: ExpirationIn) -> S3Result<Option<Expiration>> {
    if e.all_versions.is_some() || e.all_versions_old.is_some() {
        return Err(S3Error::invalid_argument(
            "ExpiredObjectDeleteAllVersions is not accepted: it would remove every version of a key, retained or \
             not; use NoncurrentVersionExpiration, which removes versions only once their retention has passed",
        ));
    }
    let marker = match e.expired_object_delete_marker.as_deref().map(str::trim) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return Err(S3Error::malformed_xml(format!(
                "ExpiredObjectDeleteMarker must be true or false, not '{other}'"
            )))
        }
    };
    match (e.days, e.date, marker) {
        (Some(_), Some(_), _) => Err(S3Error::malformed_xml("Expiration may have Days or Date, not both")),
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => Err(S3Error::invalid_argument(
            "ExpiredObjectDeleteMarker cannot be specified with Days or Date in a Lifecycle Expiration Policy",
        )),
        (Some(d), None, None) => Ok(Some(Expiration::Days(positive_days(&d, "Days")?))),
        (None, Some(d), None) => {
            let t = parse_iso(d.trim())
                .ok_or_else(|| S3Error::invalid_argument(format!("Date '{d}' is not an ISO 8601 time")))?;
            if t.num_seconds_from_midnight() != 0 || t.nanosecond() != 0 {
                return Err(S3Error::invalid_argument("'Date' must be at midnight GMT"));
            }
            Ok(Some(Expiration::Date(t.timestamp_millis())))
        }
        (None, None, Some(true)) => Ok(Some(Expiration::ExpiredObjectDeleteMarker)),
        (None, None, Some(false)) => Ok(None),
        (None, None, None) => Err(S3Error::malformed_xml(
            "Expiration must hold Days, Date or ExpiredObjectDeleteMarker",
        )),
    }
}

fn rule(r: RuleIn, index: usize) -> S3Result<LifecycleRule> {
    let id = r.id.unwrap_or_default();
    if id.chars().count() > 255 {
        return Err(S3Error::invalid_argument(
            "ID length should not exceed allowed limit of 255",
        ));
    }
    let id = if id.is_empty() {
        format!("rule-{}", index + 1)
    } else {
        id
    };
    let enabled = match r.status.as_deref().map(str::trim) {
        Some("Enabled") => true,
        Some("Disabled") => false,
        _ => return Err(S3Error::malformed_xml("Status must be Enabled or Disabled")),
    };
    if !r.transitions.is_empty() || !r.noncurrent_transitions.is_empty() {
        return Err(S3Error::new(
            S3Code::NotImplemented,
            "Transition and NoncurrentVersionTransition are not implemented: this gateway has one storage class",
        ));
    }
    if r.del_marker_expiration.is_some() {
        return Err(S3Error::invalid_argument(
            "DelMarkerExpiration is not accepted: it would remove delete markers with versions behind them; use \
             Expiration ExpiredObjectDeleteMarker, which removes a marker only once it is the last version left",
        ));
    }
    let filter = match (r.prefix, r.filter) {
        (Some(_), Some(_)) => {
            return Err(S3Error::malformed_xml(
                "a Rule has either a Prefix or a Filter, not both",
            ));
        }
        (Some(p), None) => RuleFilter::Legacy(p),
        (None, Some(f)) => filter(f)?,
        (None, None) => return Err(S3Error::malformed_xml("a Rule needs a Filter (or the legacy Prefix)")),
    };
    let expiration = r.expiration.map(expiration).transpose()?.flatten();
    let noncurrent = r
        .noncurrent
        .map(|n| -> S3Result<NoncurrentExpiration> {
            let days = n
                .days
                .ok_or_else(|| S3Error::malformed_xml("NoncurrentVersionExpiration needs NoncurrentDays"))?;
            let newer = n
                .newer
                .map(|v| {
                    let v = whole(&v, "NewerNoncurrentVersions")?;
                    u32::try_from(v).ok().filter(|v| (1..=100).contains(v)).ok_or_else(|| {
                        S3Error::invalid_argument("'NewerNoncurrentVersions' must be an integer between 1 and 100")
                    })
                })
                .transpose()?;
            Ok(NoncurrentExpiration {
                noncurrent_days: positive_days(&days, "NoncurrentDays")?,
                newer_noncurrent_versions: newer,
            })
        })
        .transpose()?;
    let abort_incomplete_days = r
        .abort
        .map(|a| {
            a.days
                .ok_or_else(|| S3Error::malformed_xml("AbortIncompleteMultipartUpload needs DaysAfterInitiation"))
                .and_then(|d| positive_days(&d, "DaysAfterInitiation"))
        })
        .transpose()?;
    if expiration.is_none() && noncurrent.is_none() && abort_incomplete_days.is_none() {
        return Err(S3Error::invalid_request(
            "At least one action needs to be specified in a rule",
        ));
    }
    if filter.has_tags() {
        if abort_incomplete_days.is_some() {
            return Err(S3Error::invalid_request(
                "Tag-based filter cannot be used with AbortIncompleteMultipartUpload action",
            ));
        }
        if expiration == Some(Expiration::ExpiredObjectDeleteMarker) {
            return Err(S3Error::invalid_request(
                "Tag-based filter cannot be used with ExpiredObjectDeleteMarker action",
            ));
        }
    }
    Ok(LifecycleRule {
        id,
        enabled,
        filter,
        expiration,
        noncurrent,
        abort_incomplete_days,
    })
}

/// `PutBucketLifecycleConfiguration`: 1 to 1000 rules with unique IDs, each with a filter and an action.
pub fn parse(text: &str) -> S3Result<LifecycleConfiguration> {
    let doc: ConfigIn = xml::from_xml("LifecycleConfiguration", text)?;
    if doc.rules.is_empty() {
        return Err(S3Error::malformed_xml(
            "a LifecycleConfiguration needs at least one Rule",
        ));
    }
    if doc.rules.len() > MAX_RULES {
        return Err(S3Error::invalid_argument(format!(
            "A lifecycle configuration may hold at most {MAX_RULES} rules"
        )));
    }
    let rules = doc
        .rules
        .into_iter()
        .enumerate()
        .map(|(i, r)| rule(r, i))
        .collect::<S3Result<Vec<_>>>()?;
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = rules.iter().find(|r| !seen.insert(r.id.as_str())) {
        return Err(S3Error::invalid_argument(format!(
            "Rule ID must be unique. Found same ID for more than one rule: {}",
            dup.id
        )));
    }
    Ok(LifecycleConfiguration { rules })
}

fn tag_xml(out: &mut String, k: &str, v: &str) {
    let _ = write!(
        out,
        "<Tag><Key>{}</Key><Value>{}</Value></Tag>",
        xml_escape(k),
        xml_escape(v)
    );
}

/// `GetBucketLifecycleConfiguration`: the stored rules as AWS renders them.
pub fn render(cfg: &LifecycleConfiguration) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LifecycleConfiguration xmlns=\"{}\">",
        xml::NS
    );
    for r in &cfg.rules {
        out.push_str("<Rule>");
        let _ = write!(out, "<ID>{}</ID>", xml_escape(&r.id));
        match &r.filter {
            RuleFilter::Legacy(p) => {
                let _ = write!(out, "<Prefix>{}</Prefix>", xml_escape(p));
            }
            RuleFilter::All => out.push_str("<Filter></Filter>"),
            RuleFilter::Prefix(p) => {
                let _ = write!(out, "<Filter><Prefix>{}</Prefix></Filter>", xml_escape(p));
            }
            RuleFilter::Tag(k, v) => {
                out.push_str("<Filter>");
                tag_xml(&mut out, k, v);
                out.push_str("</Filter>");
            }
            RuleFilter::SizeGreaterThan(n) => {
                let _ = write!(
                    out,
                    "<Filter><ObjectSizeGreaterThan>{n}</ObjectSizeGreaterThan></Filter>"
                );
            }
            RuleFilter::SizeLessThan(n) => {
                let _ = write!(out, "<Filter><ObjectSizeLessThan>{n}</ObjectSizeLessThan></Filter>");
            }
            RuleFilter::And {
                prefix,
                tags,
                size_greater_than,
                size_less_than,
            } => {
                out.push_str("<Filter><And>");
                if let Some(p) = prefix {
                    let _ = write!(out, "<Prefix>{}</Prefix>", xml_escape(p));
                }
                for (k, v) in tags {
                    tag_xml(&mut out, k, v);
                }
                if let Some(n) = size_greater_than {
                    let _ = write!(out, "<ObjectSizeGreaterThan>{n}</ObjectSizeGreaterThan>");
                }
                if let Some(n) = size_less_than {
                    let _ = write!(out, "<ObjectSizeLessThan>{n}</ObjectSizeLessThan>");
                }
                out.push_str("</And></Filter>");
            }
        }
        out.push_str(if r.enabled {
            "<Status>Enabled</Status>"
        } else {
            "<Status>Disabled</Status>"
        });
        match r.expiration {
            None => {}
            Some(Expiration::Days(d)) => {
                let _ = write!(out, "<Expiration><Days>{d}</Days></Expiration>");
            }
            Some(Expiration::Date(t)) => {
                let _ = write!(
                    out,
                    "<Expiration><Date>{}</Date></Expiration>",
                    format_iso(DateTime::<Utc>::from_timestamp_millis(t).unwrap_or(DateTime::<Utc>::MAX_UTC))
                );
            }
            Some(Expiration::ExpiredObjectDeleteMarker) => {
                out.push_str("<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>");
            }
        }
        if let Some(n) = r.noncurrent {
            out.push_str("<NoncurrentVersionExpiration>");
            let _ = write!(out, "<NoncurrentDays>{}</NoncurrentDays>", n.noncurrent_days);
            if let Some(k) = n.newer_noncurrent_versions {
                let _ = write!(out, "<NewerNoncurrentVersions>{k}</NewerNoncurrentVersions>");
            }
            out.push_str("</NoncurrentVersionExpiration>");
        }
        if let Some(d) = r.abort_incomplete_days {
            let _ = write!(out,
                "<AbortIncompleteMultipartUpload><DaysAfterInitiation>{d}</DaysAfterInitiation></AbortIncompleteMultipartUpload>"
            );
        }
        out.push_str("</Rule>");
    }
    out.push_str("</LifecycleConfiguration>");
    out
}

/// PUT ?lifecycle must carry an integrity header, as AWS requires: Content-MD5 or a flexible checksum
/// (header, or announced for the trailer). The body verifier checks whichever is given.
pub fn require_integrity_header(headers: &http::HeaderMap) -> S3Result<()> {
    let ok = headers.contains_key("content-md5")
        || headers.contains_key("x-amz-sdk-checksum-algorithm")
        || headers
            .get("x-amz-trailer")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("x-amz-checksum-"))
        || headers
            .keys()
            .any(|k| k.as_str().starts_with("x-amz-checksum-") && k.as_str() != "x-amz-checksum-mode");
    if ok {
        Ok(())
    } else {
        Err(S3Error::invalid_request(
            "Missing required header for this request: Content-MD5",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(rules: &str) -> String {
        format!("<LifecycleConfiguration>{rules}</LifecycleConfiguration>")
    }

    fn code(rules: &str) -> S3Code {
        parse(&doc(rules)).unwrap_err().code
    }

    const BACKUP: &str = "<Rule><ID>noncurrent</ID><Filter/><Status>Enabled</Status>\
        <NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>\
        </Rule><Rule><ID>markers</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>\
        <Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>\
        <AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>";

    #[test]
    fn backup_configuration_parses_and_renders_back() {
        let c = parse(&doc(BACKUP)).unwrap();
        assert_eq!(c.rules.len(), 2);
        assert_eq!(
            c.rules[0].noncurrent,
            Some(NoncurrentExpiration {
                noncurrent_days: 30,
                newer_noncurrent_versions: Some(3)
            })
        );
        assert_eq!(c.rules[0].filter, RuleFilter::All);
        assert_eq!(c.rules[1].expiration, Some(Expiration::ExpiredObjectDeleteMarker));
        assert_eq!(c.rules[1].abort_incomplete_days, Some(7));
        // What GET renders parses to the same configuration.
        assert_eq!(parse(&render(&c)).unwrap(), c);
    }

    #[test]
    fn every_filter_form_round_trips() {
        let rules = [
            "<Prefix>logs/</Prefix>",
            "<Filter><Prefix>a/</Prefix></Filter>",
            "<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>",
            "<Filter><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></Filter>",
            "<Filter><ObjectSizeLessThan>10</ObjectSizeLessThan></Filter>",
            "<Filter><And><Prefix>p</Prefix><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value>2</Value></Tag>\
             <ObjectSizeGreaterThan>1</ObjectSizeGreaterThan><ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter>",
        ];
        for f in rules {
            let c = parse(&doc(&format!(
                "<Rule><ID>x</ID>{f}<Status>Disabled</Status><Expiration><Days>3</Days></Expiration></Rule>"
            )))
            .unwrap_or_else(|e| panic!("{f}: {e:?}"));
            assert_eq!(parse(&render(&c)).unwrap(), c, "{f}");
        }
    }

    #[test]
    fn filters_match_as_aws_describes() {
        let tags: std::collections::BTreeMap<String, String> = [("a".to_string(), "1".to_string())].into();
        let none = std::collections::BTreeMap::new();
        assert!(RuleFilter::All.matches("x", None, &none));
        assert!(RuleFilter::Prefix("lo".into()).matches("logs", Some(1), &none));
        assert!(!RuleFilter::Prefix("lo".into()).matches("x/logs", Some(1), &none));
        assert!(RuleFilter::Tag("a".into(), "1".into()).matches("k", Some(1), &tags));
        assert!(!RuleFilter::Tag("a".into(), "2".into()).matches("k", Some(1), &tags));
        assert!(RuleFilter::SizeGreaterThan(5).matches("k", Some(6), &none));
        assert!(!RuleFilter::SizeGreaterThan(5).matches("k", Some(5), &none));
        assert!(
            !RuleFilter::SizeGreaterThan(5).matches("k", None, &none),
            "markers have no size"
        );
        assert!(RuleFilter::SizeLessThan(5).matches("k", Some(4), &none));
        let and = RuleFilter::And {
            prefix: Some("p".into()),
            tags: vec![("a".into(), "1".into())],
            size_greater_than: Some(1),
            size_less_than: None,
        };
        assert!(and.matches("pk", Some(2), &tags));
        assert!(!and.matches("pk", Some(2), &none));
        assert!(!and.matches("k", Some(2), &tags));
    }

    #[test]
    fn refusals_carry_the_aws_codes() {
        let with = |body: &str| format!("<Rule><ID>r</ID><Filter/><Status>Enabled</Status>{body}</Rule>");
        // Malformed documents.
        assert_eq!(parse("<Nope/>").unwrap_err().code, S3Code::MalformedXML);
        assert_eq!(parse(&doc("")).unwrap_err().code, S3Code::MalformedXML);
        assert_eq!(
            code("<Rule><ID>r</ID><Filter/><Status>On</Status><Expiration><Days>1</Days></Expiration></Rule>"),
            S3Code::MalformedXML
        );
        assert_eq!(
            code("<Rule><ID>r</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"),
            S3Code::MalformedXML,
            "neither Filter nor Prefix"
        );
        assert_eq!(
            code("<Rule><ID>r</ID><Prefix>a</Prefix><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"),
            S3Code::MalformedXML
        );
        assert_eq!(
            code(
                "<Rule><ID>r</ID><Filter><Prefix>a</Prefix><ObjectSizeLessThan>3</ObjectSizeLessThan></Filter>\
                  <Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
            ),
            S3Code::MalformedXML
        );
        assert_eq!(
            code(&with(
                "<Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>"
            )),
            S3Code::MalformedXML
        );
        assert_eq!(
            code(&with("<Expiration><Days>x</Days></Expiration>")),
            S3Code::MalformedXML
        );
        // Invalid values.
        assert_eq!(
            code(&with("<Expiration><Days>0</Days></Expiration>")),
            S3Code::InvalidArgument
        );
        assert_eq!(
            code(&with("<Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration>")),
            S3Code::InvalidArgument
        );
        assert_eq!(
            code(&with(
                "<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
            )),
            S3Code::InvalidArgument
        );
        assert_eq!(
            code(&with(
                "<NoncurrentVersionExpiration><NoncurrentDays>-1</NoncurrentDays></NoncurrentVersionExpiration>"
            )),
            S3Code::InvalidArgument
        );
        assert_eq!(
            code(&with("<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration>")),
            S3Code::InvalidArgument
        );
        assert_eq!(code(&with("")), S3Code::InvalidRequest, "no action");
        let long = format!(
            "<Rule><ID>{}</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>",
            "i".repeat(256)
        );
        assert_eq!(code(&long), S3Code::InvalidArgument);
        let twice = with("<Expiration><Days>1</Days></Expiration>").repeat(2);
        assert_eq!(code(&twice), S3Code::InvalidArgument);
        let many = (0..1001)
            .map(|i| {
                format!(
                    "<Rule><ID>{i}</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
                )
            })
            .collect::<String>();
        assert_eq!(code(&many), S3Code::InvalidArgument);
        // Refused actions.
        assert_eq!(
            code(&with(
                "<Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition>"
            )),
            S3Code::NotImplemented
        );
        assert_eq!(
            code(&with("<NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition>")),
            S3Code::NotImplemented
        );
        assert_eq!(
            code(&with("<Expiration><Days>1</Days><ExpiredObjectDeleteAllVersions>true</ExpiredObjectDeleteAllVersions></Expiration>")),
            S3Code::InvalidArgument
        );
        assert_eq!(
            code(&with("<DelMarkerExpiration><Days>1</Days></DelMarkerExpiration>")),
            S3Code::InvalidArgument
        );
        assert_eq!(
            code("<Rule><ID>r</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status>\
                  <AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"),
            S3Code::InvalidRequest
        );
    }

    #[test]
    fn missing_ids_are_generated_and_unique() {
        let c = parse(&doc(
            "<Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>\
             <Rule><Filter/><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>",
        ))
        .unwrap();
        assert_ne!(c.rules[0].id, c.rules[1].id);
        assert!(!c.rules[0].id.is_empty());
    }

    #[test]
    fn put_needs_an_integrity_header() {
        let mut h = http::HeaderMap::new();
        let e = require_integrity_header(&h).unwrap_err();
        assert_eq!(e.code, S3Code::InvalidRequest);
        assert_eq!(e.message, "Missing required header for this request: Content-MD5");
        h.insert("x-amz-checksum-mode", "ENABLED".parse().unwrap());
        assert!(require_integrity_header(&h).is_err());
        for (n, v) in [
            ("content-md5", "x"),
            ("x-amz-checksum-crc32", "x"),
            ("x-amz-sdk-checksum-algorithm", "CRC32"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ] {
            let mut h = http::HeaderMap::new();
            h.insert(n, v.parse().unwrap());
            assert!(require_integrity_header(&h).is_ok(), "{n}");
        }
    }
}
