//! Turn method + host + path + query + headers into one typed [`Op`]. Pure: no I/O. Invalid input is a
//! proper S3 error here, before anything else runs.

use super::docs;
use super::error::{S3Code, S3Error, S3Result};
use super::op::{
    BucketProbe, Conditions, ContentHeaders, CopyParams, CopySource, DocumentChecksums, ListBucketsParams, ListParams,
    ObjectAttributes, Op, RangeSpec, ReadObject, ResponseOverrides, VersionSel, WriteConditions, WriteHeaders,
};
use crate::encoding;
use crate::headers::HeaderProblem;
use crate::ids::parse_version_id;
use crate::lock::{LockHeaders, RequestedMode};
use crate::timefmt::{parse_http_date, parse_iso};
use http::{HeaderMap, Method};
use std::collections::BTreeMap;

/// Decoded query string, read by the one query parser the signature code uses too
/// ([`encoding::query_params`]): every parameter in order, repeats kept; `None` value for a bare flag
/// like `?versioning`. Lookups take the last value of a repeated name.
#[derive(Debug, Default, Clone)]
pub struct Query(Vec<(String, Option<String>)>);

impl Query {
    pub fn parse(raw: &str) -> S3Result<Query> {
        let utf8 =
            |b: Vec<u8>| String::from_utf8(b).map_err(|_| S3Error::invalid_argument("query string is not valid UTF-8"));
        let mut params = Vec::new();
        for (k, v) in encoding::query_params(raw) {
            params.push((utf8(k)?, v.map(utf8).transpose()?));
        }
        Ok(Query(params))
    }
    /// Every parameter as sent, in order, repeats kept (what the signature covers).
    pub fn params(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_deref()))
    }
    /// Each name once, sorted, with its last value; a bare flag has an empty value.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        let last: BTreeMap<&str, &str> = self
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref().unwrap_or("")))
            .collect();
        last.into_iter()
    }
    pub fn has(&self, k: &str) -> bool {
        self.0.iter().any(|(n, _)| n == k)
    }
    /// The last value of `k` (empty for a bare flag).
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }
}

/// Addressing settings.
#[derive(Debug, Clone, Default)]
pub struct Addressing {
    /// Base domain for virtual-hosted style.
    pub domain: Option<String>,
}

/// Split the request into (bucket, key) by virtual-host or path style.
pub fn bucket_and_key(
    host: Option<&str>,
    path: &str,
    addressing: &Addressing,
) -> S3Result<(Option<String>, Option<String>)> {
    let decoded = String::from_utf8(encoding::percent_decode(path.as_bytes(), false))
        .map_err(|_| S3Error::invalid_argument("the request path is not valid UTF-8"))?;
    let path = decoded.strip_prefix('/').unwrap_or(&decoded);
    let host = host.map(|h| {
        h.rsplit_once(':')
            .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
            .map_or(h, |(h, _)| h)
    });
    if let (Some(domain), Some(host)) = (addressing.domain.as_deref(), host) {
        let host = host.to_ascii_lowercase();
        if let Some(bucket) = host.strip_suffix(domain).and_then(|b| b.strip_suffix('.')) {
            if !bucket.is_empty() {
                let key = (!path.is_empty()).then(|| path.to_string());
                return Ok((Some(bucket.to_string()), key));
            }
        }
    }
    if path.is_empty() {
        return Ok((None, None));
    }
    match path.split_once('/') {
        None => Ok((Some(path.to_string()), None)),
        Some((b, "")) => Ok((Some(b.to_string()), None)),
        Some((b, k)) => Ok((Some(b.to_string()), Some(k.to_string()))),
    }
}

/// AWS bucket naming rules (for `CreateBucket`).
pub fn validate_bucket_name(name: &str) -> S3Result<()> {
    let bad = |why: &str| {
        Err(S3Error::new(
            S3Code::InvalidBucketName,
            format!("The specified bucket is not valid: {why}"),
        ))
    };
    if name.len() < 3 || name.len() > 63 {
        return bad("bucket names must be between 3 and 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return bad("bucket names may contain only lowercase letters, digits, dots and hyphens");
    }
    let (Some(first), Some(last)) = (name.as_bytes().first(), name.as_bytes().last()) else {
        return bad("bucket names must begin and end with a letter or digit");
    };
    if !(first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric()) {
        return bad("bucket names must begin and end with a letter or digit");
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return bad("bucket names must not contain adjacent dots or dots next to hyphens");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("bucket names must not be formatted as an IP address");
    }
    if name.starts_with("xn--")
        || name.starts_with("sthree-")
        || name.ends_with("-s3alias")
        || name.ends_with("--ol-s3")
    {
        return bad("bucket names must not use a reserved prefix or suffix");
    }
    Ok(())
}

pub(crate) fn validate_key(key: &str) -> S3Result<()> {
    if key.len() > 1024 {
        return Err(S3Error::new(
            S3Code::KeyTooLongError,
            "Your key is too long: the maximum is 1024 bytes",
        ));
    }
    if key.contains('\0') {
        return Err(S3Error::invalid_argument("object keys must not contain NUL characters"));
    }
    Ok(())
}

/// A header that must appear at most once; its value as UTF-8.
pub fn single_header<'a>(headers: &'a HeaderMap, name: &str) -> S3Result<Option<&'a str>> {
    crate::headers::single(headers, name).map_err(|p| {
        S3Error::invalid_argument(match p {
            HeaderProblem::Repeated => format!("the header {name} was sent more than once"),
            HeaderProblem::NotAscii => format!("the header {name} is not valid ASCII"),
        })
    })
}

fn version_sel(q: &Query) -> S3Result<VersionSel> {
    version_sel_of(q.get("versionId"))
}

/// A `versionId` as the query or a Delete document gives it.
pub(crate) fn version_sel_of(id: Option<&str>) -> S3Result<VersionSel> {
    match id {
        None => Ok(VersionSel::Current),
        Some("null") => Ok(VersionSel::Absent("null".into())),
        Some(v) => match parse_version_id(v) {
            Some(seq) => Ok(VersionSel::Id { id: v.to_string(), seq }),
            None => Err(S3Error::invalid_argument("Invalid version id specified")),
        },
    }
}

/// Lock headers of a write. Strict: unknown modes, ambiguous dates and duplicates are refused.
pub fn lock_headers(headers: &HeaderMap) -> S3Result<LockHeaders> {
    let mode = single_header(headers, "x-amz-object-lock-mode")?
        .map(|m| {
            RequestedMode::parse(m)
                .ok_or_else(|| S3Error::invalid_argument(format!("Unknown wormMode directive '{m}': use COMPLIANCE")))
        })
        .transpose()?;
    let retain_until = single_header(headers, "x-amz-object-lock-retain-until-date")?
        .map(|d| {
            parse_iso(d).ok_or_else(|| {
                S3Error::invalid_argument(format!(
                    "The retain until date must be provided in ISO 8601 format with a time zone, e.g. 2030-01-01T00:00:00Z (got '{d}')"
                ))
            })
        })
        .transpose()?;
    let legal_hold = single_header(headers, "x-amz-object-lock-legal-hold")?
        .map(|v| match v {
            "ON" => Ok(true),
            "OFF" => Ok(false),
            _ => Err(S3Error::invalid_argument("Legal Hold must be either of 'ON' or 'OFF'")),
        })
        .transpose()?;
    Ok(LockHeaders {
        mode,
        retain_until,
        legal_hold,
    })
}

/// Content headers and user metadata of a write.
pub fn content_headers(headers: &HeaderMap) -> S3Result<ContentHeaders> {
    let get = |n: &str| -> S3Result<Option<String>> { Ok(single_header(headers, n)?.map(str::to_string)) };
    let mut user_meta = BTreeMap::new();
    let mut meta_size = 0usize;
    for (name, value) in headers {
        if let Some(m) = name.as_str().strip_prefix("x-amz-meta-") {
            // AWS stores non-ASCII values (UTF-8) and returns them RFC 2047 encoded.
            let v = std::str::from_utf8(value.as_bytes())
                .map_err(|_| S3Error::invalid_argument(format!("metadata header {name} is not valid UTF-8")))?;
            meta_size += m.len() + v.len();
            user_meta.insert(m.to_string(), v.to_string());
        }
    }
    if meta_size > 2048 {
        return Err(S3Error::new(
            S3Code::MetadataTooLarge,
            "Your metadata headers exceed the maximum allowed metadata size of 2 KB",
        ));
    }
    let content_encoding = get("content-encoding")?.and_then(|ce| {
        let kept: Vec<&str> = ce
            .split(',')
            .map(str::trim)
            .filter(|p| !p.eq_ignore_ascii_case("aws-chunked") && !p.is_empty())
            .collect();
        (!kept.is_empty()).then(|| kept.join(","))
    });
    Ok(ContentHeaders {
        content_type: get("content-type")?,
        content_encoding,
        content_disposition: get("content-disposition")?,
        content_language: get("content-language")?,
        cache_control: get("cache-control")?,
        expires: get("expires")?,
        user_meta,
    })
}

/// Parse `x-amz-tagging` / tagging query-form `k=v&k2=v2`.
pub fn parse_tag_query(s: &str) -> S3Result<Vec<(String, String)>> {
    let q = Query::parse(s)?;
    let tags: Vec<(String, String)> = q.0.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect();
    crate::s3::xml::validate_tags(&tags)?;
    Ok(tags)
}

/// `If-None-Match` (only `*`, as AWS) and `If-Match` of a request that makes a version.
fn write_conditions(headers: &HeaderMap) -> S3Result<WriteConditions> {
    let if_none_match_star = match single_header(headers, "if-none-match")? {
        None => false,
        Some("*") => true,
        Some(_) => {
            return Err(S3Error::new(
                S3Code::NotImplemented,
                "If-None-Match on a write supports only '*'",
            ))
        }
    };
    Ok(WriteConditions {
        if_none_match_star,
        if_match: single_header(headers, "if-match")?.map(str::to_string),
    })
}

/// The object-level `x-amz-checksum-*` header of a `CompleteMultipartUpload` (at most one). Its value
/// is checked by the handler: a COMPOSITE value is `base64-N`, not plain base64.
fn object_checksum_claim(headers: &HeaderMap) -> S3Result<Option<(crate::checksum::ChecksumAlgorithm, String)>> {
    let mut out = None;
    for alg in crate::checksum::ChecksumAlgorithm::ALL {
        if let Some(v) = single_header(headers, alg.header_name())? {
            if out.is_some() {
                return Err(S3Error::invalid_request(
                    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
                ));
            }
            out = Some((alg, v.trim().to_string()));
        }
    }
    Ok(out)
}

fn write_headers(headers: &HeaderMap) -> S3Result<WriteHeaders> {
    let c = write_conditions(headers)?;
    Ok(WriteHeaders {
        content: content_headers(headers)?,
        lock: lock_headers(headers)?,
        if_none_match_star: c.if_none_match_star,
        if_match: c.if_match,
        tagging: single_header(headers, "x-amz-tagging")?
            .map(parse_tag_query)
            .transpose()?,
    })
}

fn conditions(headers: &HeaderMap) -> S3Result<Conditions> {
    Ok(Conditions {
        if_match: single_header(headers, "if-match")?.map(str::to_string),
        if_none_match: single_header(headers, "if-none-match")?.map(str::to_string),
        if_modified_since: single_header(headers, "if-modified-since")?.and_then(parse_http_date),
        if_unmodified_since: single_header(headers, "if-unmodified-since")?.and_then(parse_http_date),
    })
}

/// Parse a `Range` header; syntax AWS ignores yields `None` (whole object).
pub fn parse_range(v: &str) -> Option<RangeSpec> {
    let spec = v.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        return b.parse().ok().map(RangeSpec::Suffix);
    }
    let start: u64 = a.parse().ok()?;
    if b.is_empty() {
        return Some(RangeSpec::FromTo(start, None));
    }
    let end: u64 = b.parse().ok()?;
    (end >= start).then_some(RangeSpec::FromTo(start, Some(end)))
}

fn read_object(bucket: String, key: String, q: &Query, headers: &HeaderMap) -> S3Result<ReadObject> {
    let part_number = match q.get("partNumber") {
        None => None,
        Some(p) => Some(
            p.parse::<u32>()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| {
                    S3Error::invalid_argument("Part number must be an integer between 1 and 10000, inclusive")
                })?,
        ),
    };
    let range = single_header(headers, "range")?.and_then(parse_range);
    if part_number.is_some() && range.is_some() {
        return Err(S3Error::invalid_request(
            "Cannot specify both Range header and partNumber query parameter",
        ));
    }
    Ok(ReadObject {
        bucket,
        key,
        version: version_sel(q)?,
        range,
        part_number,
        conditions: conditions(headers)?,
        overrides: ResponseOverrides {
            content_type: q.get("response-content-type").map(str::to_string),
            content_language: q.get("response-content-language").map(str::to_string),
            expires: q.get("response-expires").map(str::to_string),
            cache_control: q.get("response-cache-control").map(str::to_string),
            content_disposition: q.get("response-content-disposition").map(str::to_string),
            content_encoding: q.get("response-content-encoding").map(str::to_string),
        },
        checksum_mode: single_header(headers, "x-amz-checksum-mode")?
            .is_some_and(|v| v.eq_ignore_ascii_case("ENABLED")),
    })
}

fn list_params(q: &Query, v2: bool) -> S3Result<ListParams> {
    let max_keys = match q.get("max-keys").or_else(|| q.get("max-uploads")) {
        None => 1000,
        Some(s) => {
            let n: i64 = s
                .parse()
                .map_err(|_| S3Error::invalid_argument("Provided max-keys not an integer or within integer range"))?;
            if n < 0 {
                return Err(S3Error::invalid_argument(
                    "Argument maxKeys must be an integer between 0 and 2147483647",
                ));
            }
            usize::try_from(n.min(1000)).unwrap_or(1000)
        }
    };
    let encoding_url = match q.get("encoding-type") {
        None => false,
        Some(e) if e.eq_ignore_ascii_case("url") => true,
        Some(_) => {
            return Err(S3Error::invalid_argument(
                "Invalid Encoding Method specified in Request",
            ))
        }
    };
    let continuation_token = if v2 {
        q.get("continuation-token").map(str::to_string)
    } else {
        None
    };
    if continuation_token.as_deref() == Some("") {
        return Err(S3Error::invalid_argument(
            "The continuation token provided is incorrect",
        ));
    }
    let version_id_marker = q.get("version-id-marker").filter(|s| !s.is_empty()).map(str::to_string);
    let marker = q
        .get("marker")
        .or_else(|| q.get("key-marker"))
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let version_id_marker =
        version_id_marker.or_else(|| q.get("upload-id-marker").filter(|s| !s.is_empty()).map(str::to_string));
    if version_id_marker.is_some() && marker.is_none() && !q.has("uploads") {
        return Err(S3Error::invalid_argument(
            "A version-id marker cannot be specified without a key marker.",
        ));
    }
    Ok(ListParams {
        prefix: q.get("prefix").unwrap_or("").to_string(),
        delimiter: q.get("delimiter").filter(|d| !d.is_empty()).map(str::to_string),
        max_keys,
        encoding_url,
        marker,
        continuation_token,
        start_after: q.get("start-after").filter(|s| !s.is_empty()).map(str::to_string),
        version_id_marker,
        fetch_owner: q.get("fetch-owner").is_some_and(|v| v == "true"),
    })
}

/// The continuation token of `ListBuckets`: the last name of the page before, base64 (opaque to clients).
pub fn bucket_token(name: &str) -> String {
    crate::checksum::b64(name.as_bytes())
}

fn list_buckets_params(q: &Query) -> S3Result<ListBucketsParams> {
    let max_buckets = match q.get("max-buckets") {
        None => None,
        Some(v) => Some(
            v.parse::<usize>()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| S3Error::invalid_argument("max-buckets must be an integer between 1 and 10000"))?,
        ),
    };
    let after = match q.get("continuation-token").filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(
            crate::checksum::b64_decode(t)
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| S3Error::invalid_argument("The continuation token provided is incorrect"))?,
        ),
    };
    Ok(ListBucketsParams {
        max_buckets,
        after,
        prefix: q.get("prefix").filter(|p| !p.is_empty()).map(str::to_string),
        bucket_region: q.get("bucket-region").filter(|r| !r.is_empty()).map(str::to_string),
    })
}

fn not_implemented(what: &str) -> Op {
    Op::NotImplemented {
        what: what.to_string(),
        bucket: None,
        key: None,
    }
}

/// Bucket sub-resources that exist in S3 but not here.
const BUCKET_UNSUPPORTED: &[&str] = &[
    "policyStatus",
    "logging",
    "notification",
    "requestPayment",
    "accelerate",
    "analytics",
    "inventory",
    "metrics",
    "intelligent-tiering",
    "session",
];
const OBJECT_UNSUPPORTED: &[&str] = &["torrent", "restore", "select", "renameObject"];

/// `x-amz-object-attributes`: a comma-separated list (the header may repeat), names as AWS spells
/// them; an unknown or missing name is `InvalidArgument`.
fn object_attributes(headers: &HeaderMap) -> S3Result<ObjectAttributes> {
    let mut out = ObjectAttributes::default();
    let mut any = false;
    for v in headers.get_all("x-amz-object-attributes") {
        let v = v
            .to_str()
            .map_err(|_| S3Error::invalid_argument("x-amz-object-attributes is not valid ASCII"))?;
        for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let flag = match name {
                "ETag" => &mut out.etag,
                "Checksum" => &mut out.checksum,
                "ObjectParts" => &mut out.object_parts,
                "StorageClass" => &mut out.storage_class,
                "ObjectSize" => &mut out.object_size,
                other => {
                    return Err(S3Error::invalid_argument(format!(
                        "Invalid attribute name specified: {other} (use ETag, Checksum, ObjectParts, StorageClass, ObjectSize)"
                    )))
                }
            };
            *flag = true;
            any = true;
        }
    }
    if !any {
        return Err(S3Error::invalid_request(
            "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty",
        ));
    }
    Ok(out)
}

/// `x-amz-max-parts` / `x-amz-part-number-marker` of `GetObjectAttributes`.
fn attribute_paging(headers: &HeaderMap) -> S3Result<(usize, u32)> {
    let max = match single_header(headers, "x-amz-max-parts")? {
        None => 1000,
        Some(m) => m
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| S3Error::invalid_argument("x-amz-max-parts must be a non-negative integer"))?
            .min(1000)
            .try_into()
            .unwrap_or(1000usize),
    };
    let marker = match single_header(headers, "x-amz-part-number-marker")? {
        None => 0,
        Some(m) => m
            .trim()
            .parse::<u32>()
            .map_err(|_| S3Error::invalid_argument("x-amz-part-number-marker must be a non-negative integer"))?,
    };
    Ok((max, marker))
}

fn probe_of(q: &Query) -> Option<BucketProbe> {
    [
        ("policy", BucketProbe::Policy),
        ("encryption", BucketProbe::Encryption),
        ("cors", BucketProbe::Cors),
        ("tagging", BucketProbe::Tagging),
        ("replication", BucketProbe::Replication),
        ("publicAccessBlock", BucketProbe::PublicAccessBlock),
        ("ownershipControls", BucketProbe::OwnershipControls),
        ("website", BucketProbe::Website),
    ]
    .into_iter()
    .find(|(name, _)| q.has(name))
    .map(|(_, p)| p)
}

fn upload_id(q: &Query) -> S3Result<String> {
    match q.get("uploadId") {
        Some(u) if !u.is_empty() => Ok(u.to_string()),
        _ => Err(S3Error::invalid_argument("uploadId must not be empty")),
    }
}

fn part_number(q: &Query) -> S3Result<u32> {
    q.get("partNumber")
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| S3Error::invalid_argument("Part number must be an integer between 1 and 10000, inclusive"))
}

/// Parse `x-amz-copy-source: [/]bucket/key[?versionId=V]` (URL-encoded).
pub fn copy_source(raw: &str) -> S3Result<CopySource> {
    let (path, query) = raw.split_once('?').unwrap_or((raw, ""));
    let decoded = String::from_utf8(encoding::percent_decode(path.as_bytes(), false))
        .map_err(|_| S3Error::invalid_argument("x-amz-copy-source is not valid UTF-8"))?;
    let decoded = decoded.strip_prefix('/').unwrap_or(&decoded);
    let (bucket, key) = decoded
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .ok_or_else(|| {
            S3Error::invalid_argument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
        })?;
    validate_key(key)?;
    let q = Query::parse(query)?;
    Ok(CopySource {
        bucket: bucket.to_string(),
        key: key.to_string(),
        version: version_sel(&q)?,
    })
}

fn copy_conditions(headers: &HeaderMap) -> S3Result<Conditions> {
    Ok(Conditions {
        if_match: single_header(headers, "x-amz-copy-source-if-match")?.map(str::to_string),
        if_none_match: single_header(headers, "x-amz-copy-source-if-none-match")?.map(str::to_string),
        if_modified_since: single_header(headers, "x-amz-copy-source-if-modified-since")?.and_then(parse_http_date),
        if_unmodified_since: single_header(headers, "x-amz-copy-source-if-unmodified-since")?.and_then(parse_http_date),
    })
}

fn directive(headers: &HeaderMap, name: &str) -> S3Result<bool> {
    match single_header(headers, name)? {
        None | Some("COPY") => Ok(false),
        Some("REPLACE") => Ok(true),
        Some(v) => Err(S3Error::invalid_argument(format!(
            "Unknown {name}: {v} (use COPY or REPLACE)"
        ))),
    }
}

fn copy_params(headers: &HeaderMap, raw_source: &str, part_copy: bool) -> S3Result<CopyParams> {
    let range = match single_header(headers, "x-amz-copy-source-range")? {
        None => None,
        Some(r) if part_copy => match parse_range(r) {
            Some(RangeSpec::FromTo(a, Some(b))) => Some((a, b)),
            _ => {
                return Err(S3Error::invalid_argument(
                    "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
                ))
            }
        },
        Some(_) => return Err(S3Error::invalid_argument("x-amz-copy-source-range is only valid for UploadPartCopy")),
    };
    Ok(CopyParams {
        source: copy_source(raw_source)?,
        replace_metadata: directive(headers, "x-amz-metadata-directive")?,
        replace_tagging: directive(headers, "x-amz-tagging-directive")?,
        conditions: copy_conditions(headers)?,
        range,
    })
}

fn checksum_settings(headers: &HeaderMap) -> S3Result<(Option<crate::checksum::ChecksumAlgorithm>, Option<String>)> {
    let alg = single_header(headers, "x-amz-checksum-algorithm")?
        .map(|a| {
            crate::checksum::ChecksumAlgorithm::parse(a)
                .ok_or_else(|| S3Error::invalid_request(format!("Checksum algorithm provided is unsupported: {a}")))
        })
        .transpose()?;
    let ty = match single_header(headers, "x-amz-checksum-type")? {
        None => None,
        Some(t) if t.eq_ignore_ascii_case("COMPOSITE") || t.eq_ignore_ascii_case("FULL_OBJECT") => {
            Some(t.to_ascii_uppercase())
        }
        Some(t) => {
            return Err(S3Error::invalid_request(format!(
                "Unsupported x-amz-checksum-type: {t}"
            )))
        }
    };
    Ok((alg, ty))
}

/// The gateway's canonical owner id (the `Owner` of every bucket and object it answers with).
pub const OWNER_ID: &str = "wormgate";

/// What wormgate does with one `x-amz-*` request header that asks for functionality. A header that
/// asks for something wormgate does not do is refused, never silently dropped; the few that are
/// ignored are ignored because AWS ignores them in the same situation.
#[derive(Debug, Clone, Copy)]
pub enum HeaderRule {
    /// 501 `NotImplemented`, with the reason (the request is routed as `Op::NotImplemented`, so the
    /// audit record still names its bucket and key).
    NotImplemented(&'static str),
    /// The value is checked: accepted values change nothing (they ask for what wormgate always does),
    /// the rest get AWS's error for them.
    Check(fn(&str) -> S3Result<()>),
    /// Accepted and ignored, because AWS ignores it here too (the reason).
    Ignored(&'static str),
}

const SSE_C: &str = "server-side encryption with customer-provided keys (SSE-C) is not available";
const SSE_KMS: &str = "server-side encryption with KMS keys is not available";

/// THE table of request headers that imply functionality, for every operation wormgate serves.
/// Headers that wormgate honours (checksums, object lock, tagging, conditions, metadata, copy
/// source, attributes) are parsed with their operation and are not listed here.
pub const REQUEST_HEADER_RULES: &[(&str, HeaderRule)] = &[
    (
        "x-amz-write-offset-bytes",
        HeaderRule::NotImplemented("appending to an object is not available: every write makes a new, whole version"),
    ),
    (
        "x-amz-website-redirect-location",
        HeaderRule::NotImplemented("website hosting and its redirects are not available"),
    ),
    ("x-amz-server-side-encryption", HeaderRule::Check(check_sse)),
    (
        "x-amz-server-side-encryption-aws-kms-key-id",
        HeaderRule::NotImplemented(SSE_KMS),
    ),
    (
        "x-amz-server-side-encryption-context",
        HeaderRule::NotImplemented(SSE_KMS),
    ),
    (
        "x-amz-server-side-encryption-bucket-key-enabled",
        HeaderRule::NotImplemented(SSE_KMS),
    ),
    (
        "x-amz-server-side-encryption-customer-algorithm",
        HeaderRule::NotImplemented(SSE_C),
    ),
    (
        "x-amz-server-side-encryption-customer-key",
        HeaderRule::NotImplemented(SSE_C),
    ),
    (
        "x-amz-server-side-encryption-customer-key-md5",
        HeaderRule::NotImplemented(SSE_C),
    ),
    (
        "x-amz-copy-source-server-side-encryption-customer-algorithm",
        HeaderRule::NotImplemented(SSE_C),
    ),
    (
        "x-amz-copy-source-server-side-encryption-customer-key",
        HeaderRule::NotImplemented(SSE_C),
    ),
    (
        "x-amz-copy-source-server-side-encryption-customer-key-md5",
        HeaderRule::NotImplemented(SSE_C),
    ),
    ("x-amz-storage-class", HeaderRule::Check(check_storage_class)),
    ("x-amz-acl", HeaderRule::Check(check_canned_acl)),
    ("x-amz-grant-read", HeaderRule::Check(refuse_grant)),
    ("x-amz-grant-write", HeaderRule::Check(refuse_grant)),
    ("x-amz-grant-read-acp", HeaderRule::Check(refuse_grant)),
    ("x-amz-grant-write-acp", HeaderRule::Check(refuse_grant)),
    ("x-amz-grant-full-control", HeaderRule::Check(refuse_grant)),
    ("x-amz-object-ownership", HeaderRule::Check(check_object_ownership)),
    ("x-amz-expected-bucket-owner", HeaderRule::Check(check_expected_owner)),
    (
        "x-amz-source-expected-bucket-owner",
        HeaderRule::Check(check_expected_owner),
    ),
    (
        "x-amz-mfa",
        HeaderRule::NotImplemented("MFA delete is not available (retained versions cannot be deleted by anyone)"),
    ),
    (
        "x-amz-if-match-last-modified-time",
        HeaderRule::NotImplemented("conditional deletes are not available"),
    ),
    (
        "x-amz-if-match-size",
        HeaderRule::NotImplemented("conditional deletes are not available"),
    ),
    (
        "x-amz-if-match-initiated-time",
        HeaderRule::NotImplemented("conditional deletes are not available"),
    ),
    (
        "x-amz-request-payer",
        HeaderRule::Ignored("AWS ignores it on buckets that are not Requester Pays; no wormgate bucket is"),
    ),
    (
        "x-amz-bypass-governance-retention",
        HeaderRule::Ignored("every version is in COMPLIANCE mode, which no bypass shortens (as on AWS)"),
    ),
];

/// `x-amz-server-side-encryption`: wormgate does not encrypt at rest itself (the disk or the upstream
/// bucket does, if configured), so it does not claim to: every value is refused rather than
/// answered with a promise it does not keep.
fn check_sse(v: &str) -> S3Result<()> {
    match v {
        "AES256" => Err(S3Error::new(
            S3Code::NotImplemented,
            "x-amz-server-side-encryption: AES256 is not available: wormgate does not encrypt objects at rest itself; encrypt its data disk or upstream bucket instead",
        )),
        "aws:kms" | "aws:kms:dsse" => Err(S3Error::new(S3Code::NotImplemented, format!("x-amz-server-side-encryption: {SSE_KMS}"))),
        other => Err(S3Error::invalid_argument(format!(
            "The encryption method specified is not supported: {other}"
        ))),
    }
}

/// Storage classes AWS defines; only STANDARD exists here.
const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "OUTPOSTS",
    "GLACIER_IR",
    "SNOW",
    "EXPRESS_ONEZONE",
    "FSX_OPENZFS",
    "FSX_ONTAP",
];

fn check_storage_class(v: &str) -> S3Result<()> {
    match v {
        "STANDARD" => Ok(()),
        v if STORAGE_CLASSES.contains(&v) => Err(S3Error::new(
            S3Code::NotImplemented,
            format!("x-amz-storage-class {v} is not available: every version is stored as STANDARD"),
        )),
        v => Err(S3Error::new(
            S3Code::InvalidStorageClass,
            format!("The storage class you specified is not valid: {v}"),
        )),
    }
}

/// Canned ACLs AWS defines. With ACLs disabled (`BucketOwnerEnforced`) only the two that grant nobody
/// else anything are accepted.
const CANNED_ACLS: &[&str] = &[
    "private",
    "bucket-owner-full-control",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "log-delivery-write",
];

fn acl_not_supported() -> S3Error {
    S3Error::new(
        S3Code::AccessControlListNotSupported,
        "The bucket does not allow ACLs: wormgate buckets use Object Ownership BucketOwnerEnforced (no public or anonymous access, ever)",
    )
}

pub(crate) fn check_canned_acl(v: &str) -> S3Result<()> {
    match v {
        "private" | "bucket-owner-full-control" => Ok(()),
        v if CANNED_ACLS.contains(&v) => Err(acl_not_supported()),
        v => Err(S3Error::invalid_argument(format!("Invalid canned ACL: {v}"))),
    }
}

fn refuse_grant(_: &str) -> S3Result<()> {
    Err(acl_not_supported())
}

fn check_object_ownership(v: &str) -> S3Result<()> {
    match v {
        "BucketOwnerEnforced" => Ok(()),
        "BucketOwnerPreferred" | "ObjectWriter" => Err(S3Error::new(
            S3Code::InvalidRequest,
            format!("x-amz-object-ownership {v} is not available: wormgate buckets always use BucketOwnerEnforced (ACLs disabled)"),
        )),
        v => Err(S3Error::invalid_argument(format!("Invalid x-amz-object-ownership value: {v}"))),
    }
}

fn check_expected_owner(v: &str) -> S3Result<()> {
    if v == OWNER_ID {
        Ok(())
    } else {
        Err(S3Error::access_denied(format!(
            "Access Denied: the bucket owner is '{OWNER_ID}', not the expected owner '{v}'"
        )))
    }
}

/// Apply [`REQUEST_HEADER_RULES`]: `Ok(Some(what))` for a header to refuse as `NotImplemented`.
fn check_request_headers(headers: &HeaderMap) -> S3Result<Option<String>> {
    for (name, rule) in REQUEST_HEADER_RULES {
        for v in headers.get_all(*name) {
            let v = v
                .to_str()
                .map_err(|_| S3Error::invalid_argument(format!("the header {name} is not valid ASCII")))?
                .trim();
            match rule {
                HeaderRule::NotImplemented(why) => return Ok(Some(format!("{name}: {why}"))),
                HeaderRule::Check(check) => match check(v) {
                    Err(e) if e.code == S3Code::NotImplemented => return Ok(Some(e.message)),
                    other => other?,
                },
                HeaderRule::Ignored(_) => {}
            }
        }
    }
    Ok(None)
}

/// The router.
#[allow(clippy::too_many_arguments)]
pub async fn parse_request(
    method: &Method,
    host: Option<&str>,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    addressing: &Addressing,
    document: impl AsyncFnOnce(DocumentChecksums) -> S3Result<String>,
) -> S3Result<Op> {
    match route(method, host, path, query, headers, addressing, document).await? {
        // A refusal still names what it aimed at (the audit record and the error resource).
        Op::NotImplemented { what, .. } => {
            let (bucket, key) = bucket_and_key(host, path, addressing).unwrap_or_default();
            Ok(Op::NotImplemented { what, bucket, key })
        }
        op => Ok(op),
    }
}

/// `document` reads the request's XML document; it is called only for operations that carry one.
async fn route(
    method: &Method,
    host: Option<&str>,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    addressing: &Addressing,
    document: impl AsyncFnOnce(DocumentChecksums) -> S3Result<String>,
) -> S3Result<Op> {
    let q = Query::parse(query)?;
    let (bucket, key) = bucket_and_key(host, path, addressing)?;
    if let Some(what) = check_request_headers(headers)? {
        return Ok(not_implemented(&what));
    }
    let Some(bucket) = bucket else {
        return Ok(match *method {
            Method::GET => Op::ListBuckets {
                params: list_buckets_params(&q)?,
            },
            _ => not_implemented("service-level operation"),
        });
    };
    if let Some(key) = key {
        validate_key(&key)?;
        if let Some(sub) = OBJECT_UNSUPPORTED.iter().find(|s| q.has(s)) {
            return Ok(not_implemented(&format!("object sub-resource ?{sub}")));
        }
        let copy_src = single_header(headers, "x-amz-copy-source")?.map(str::to_string);
        return Ok(match *method {
            Method::PUT if q.has("retention") => Op::PutObjectRetention {
                version: version_sel(&q)?,
                retention: docs::retention(&document(DocumentChecksums::OfDocument).await?)?,
                bucket,
                key,
            },
            Method::GET if q.has("retention") => Op::GetObjectRetention {
                bucket,
                key,
                version: version_sel(&q)?,
            },
            Method::PUT if q.has("legal-hold") => Op::PutObjectLegalHold {
                version: version_sel(&q)?,
                on: docs::legal_hold(&document(DocumentChecksums::OfDocument).await?)?,
                bucket,
                key,
            },
            Method::GET if q.has("legal-hold") => Op::GetObjectLegalHold {
                bucket,
                key,
                version: version_sel(&q)?,
            },
            Method::GET if q.has("attributes") => {
                let (max_parts, part_number_marker) = attribute_paging(headers)?;
                Op::GetObjectAttributes {
                    version: version_sel(&q)?,
                    attributes: object_attributes(headers)?,
                    max_parts,
                    part_number_marker,
                    bucket,
                    key,
                }
            }
            Method::GET if q.has("tagging") => Op::GetObjectTagging {
                bucket,
                key,
                version: version_sel(&q)?,
            },
            Method::PUT if q.has("tagging") => Op::PutObjectTagging {
                version: version_sel(&q)?,
                tags: docs::tagging(&document(DocumentChecksums::OfDocument).await?)?,
                bucket,
                key,
            },
            Method::DELETE if q.has("tagging") => Op::DeleteObjectTagging {
                bucket,
                key,
                version: version_sel(&q)?,
            },
            Method::GET if q.has("acl") => Op::GetObjectAcl {
                bucket,
                key,
                version: version_sel(&q)?,
            },
            Method::PUT if q.has("acl") => Op::PutObjectAcl {
                version: version_sel(&q)?,
                owner_only: docs::acl_is_owner_only(&document(DocumentChecksums::OfDocument).await?),
                bucket,
                key,
            },
            Method::POST if q.has("uploads") => {
                let (checksum_algorithm, checksum_type) = checksum_settings(headers)?;
                Op::CreateMultipartUpload {
                    bucket,
                    key,
                    write: Box::new(write_headers(headers)?),
                    checksum_algorithm,
                    checksum_type,
                }
            }
            Method::POST if q.has("uploadId") => Op::CompleteMultipartUpload {
                upload_id: upload_id(&q)?,
                conditions: write_conditions(headers)?,
                checksum: object_checksum_claim(headers)?,
                checksum_type: checksum_settings(headers)?.1,
                object_size: single_header(headers, "x-amz-mp-object-size")?
                    .map(|v| {
                        v.trim().parse::<u64>().map_err(|_| {
                            S3Error::invalid_argument("x-amz-mp-object-size must be a non-negative integer")
                        })
                    })
                    .transpose()?,
                parts: docs::complete_multipart(&document(DocumentChecksums::OfObject).await?)?,
                bucket,
                key,
            },
            Method::PUT if q.has("uploadId") || q.has("partNumber") => {
                let (upload_id, part_number) = (upload_id(&q)?, part_number(&q)?);
                match copy_src {
                    Some(src) => Op::UploadPartCopy {
                        bucket,
                        key,
                        upload_id,
                        part_number,
                        copy: Box::new(copy_params(headers, &src, true)?),
                    },
                    None => Op::UploadPart {
                        bucket,
                        key,
                        upload_id,
                        part_number,
                    },
                }
            }
            Method::DELETE if q.has("uploadId") => Op::AbortMultipartUpload {
                upload_id: upload_id(&q)?,
                bucket,
                key,
            },
            Method::GET if q.has("uploadId") => {
                let marker = match q.get("part-number-marker") {
                    None | Some("") => 0,
                    Some(m) => m
                        .parse()
                        .map_err(|_| S3Error::invalid_argument("part-number-marker must be an integer"))?,
                };
                let max_parts = match q.get("max-parts") {
                    None => 1000,
                    Some(m) => m
                        .parse::<i64>()
                        .ok()
                        .filter(|n| *n >= 0)
                        .ok_or_else(|| S3Error::invalid_argument("max-parts must be a non-negative integer"))?
                        .min(1000)
                        .try_into()
                        .unwrap_or(1000usize),
                };
                Op::ListParts {
                    upload_id: upload_id(&q)?,
                    bucket,
                    key,
                    marker,
                    max_parts,
                }
            }
            Method::PUT => match copy_src {
                Some(src) => Op::CopyObject {
                    copy: Box::new(copy_params(headers, &src, false)?),
                    write: Box::new(write_headers(headers)?),
                    bucket,
                    key,
                },
                None => Op::PutObject {
                    bucket,
                    key,
                    write: Box::new(write_headers(headers)?),
                },
            },
            Method::GET => Op::GetObject(Box::new(read_object(bucket, key, &q, headers)?)),
            Method::HEAD => Op::HeadObject(Box::new(read_object(bucket, key, &q, headers)?)),
            Method::DELETE => Op::DeleteObject {
                bucket,
                key,
                version: version_sel(&q)?,
            },
            Method::POST => not_implemented("POST on an object"),
            _ => not_implemented(&format!("{method} on an object")),
        });
    }
    if let Some(sub) = BUCKET_UNSUPPORTED.iter().find(|s| q.has(s)) {
        return Ok(not_implemented(&format!("bucket sub-resource ?{sub}")));
    }
    Ok(match *method {
        Method::GET if q.has("acl") => Op::GetBucketAcl { bucket },
        Method::PUT if q.has("acl") => Op::PutBucketAcl {
            owner_only: docs::acl_is_owner_only(&document(DocumentChecksums::OfDocument).await?),
            bucket,
        },
        Method::GET if q.has("uploads") => Op::ListMultipartUploads {
            params: list_params(&q, false)?,
            bucket,
        },
        Method::GET if q.has("lifecycle") => Op::GetBucketLifecycleConfiguration { bucket },
        Method::DELETE if q.has("lifecycle") => Op::DeleteBucketLifecycle { bucket },
        Method::PUT if q.has("lifecycle") => {
            super::lifecycle::require_integrity_header(headers)?;
            Op::PutBucketLifecycleConfiguration {
                configuration: super::lifecycle::parse(&document(DocumentChecksums::OfDocument).await?)?,
                bucket,
            }
        }
        Method::GET if probe_of(&q).is_some() => Op::GetBucketProbe {
            probe: probe_of(&q).unwrap_or(BucketProbe::Policy),
            bucket,
        },
        Method::PUT if q.has("publicAccessBlock") => Op::PutPublicAccessBlock {
            all_blocked: docs::public_access_block(&document(DocumentChecksums::OfDocument).await?)?,
            delete: false,
            bucket,
        },
        Method::DELETE if q.has("publicAccessBlock") => Op::PutPublicAccessBlock {
            all_blocked: false,
            delete: true,
            bucket,
        },
        Method::PUT if q.has("ownershipControls") => Op::PutBucketOwnershipControls {
            enforced: docs::ownership_controls(&document(DocumentChecksums::OfDocument).await?)?,
            delete: false,
            bucket,
        },
        Method::DELETE if q.has("ownershipControls") => Op::PutBucketOwnershipControls {
            enforced: false,
            delete: true,
            bucket,
        },
        Method::PUT | Method::DELETE if probe_of(&q).is_some() => not_implemented("changing this bucket configuration"),
        Method::PUT if q.has("versioning") => Op::PutBucketVersioning {
            enabled: docs::versioning(&document(DocumentChecksums::OfDocument).await?)?,
            bucket,
        },
        Method::PUT if q.has("object-lock") => Op::PutObjectLockConfiguration {
            setting: docs::lock_configuration(&document(DocumentChecksums::OfDocument).await?)?,
            bucket,
        },
        Method::PUT if q.0.is_empty() => {
            validate_bucket_name(&bucket)?;
            Op::CreateBucket {
                location: docs::create_bucket(&document(DocumentChecksums::OfDocument).await?)?,
                bucket,
            }
        }
        Method::GET if q.has("location") => Op::GetBucketLocation { bucket },
        Method::GET if q.has("versioning") => Op::GetBucketVersioning { bucket },
        Method::GET if q.has("object-lock") => Op::GetObjectLockConfiguration { bucket },
        Method::GET if q.has("versions") => Op::ListObjectVersions {
            params: list_params(&q, false)?,
            bucket,
        },
        Method::GET if q.get("list-type") == Some("2") => Op::ListObjectsV2 {
            params: list_params(&q, true)?,
            bucket,
        },
        Method::GET => Op::ListObjectsV1 {
            params: list_params(&q, false)?,
            bucket,
        },
        Method::HEAD => Op::HeadBucket { bucket },
        Method::DELETE if q.0.is_empty() => Op::DeleteBucket { bucket },
        Method::POST if q.has("delete") => Op::DeleteObjects {
            request: docs::delete(&document(DocumentChecksums::OfDocument).await?)?,
            bucket,
        },
        _ => not_implemented(&format!("{method} on a bucket with this query")),
    })
}

/// Route a request whose XML document (if it has one) is `document`, without a runtime: routing
/// awaits nothing but the document, which is already here. For the router tests.
#[cfg(test)]
pub(crate) fn parse_op_with(
    method: &Method,
    host: Option<&str>,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    addressing: &Addressing,
    document: &str,
) -> S3Result<Op> {
    let fut = parse_request(method, host, path, query, headers, addressing, async |_| {
        Ok(document.to_string())
    });
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::future::Future::poll(fut.as_mut(), &mut cx) {
        std::task::Poll::Ready(r) => r,
        std::task::Poll::Pending => panic!("routing waited on something other than its document"),
    }
}

/// As [`parse_op_with`], for requests without a document.
#[cfg(test)]
pub(crate) fn parse_op(
    method: &Method,
    host: Option<&str>,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    addressing: &Addressing,
) -> S3Result<Op> {
    parse_op_with(method, host, path, query, headers, addressing, "")
}

#[cfg(test)]
#[path = "parse_table_tests.rs"]
mod table_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: Method, path: &str, query: &str) -> S3Result<Op> {
        parse_op(
            &method,
            Some("127.0.0.1:9000"),
            path,
            query,
            &HeaderMap::new(),
            &Addressing::default(),
        )
    }

    #[test]
    fn path_style_routing() {
        assert_eq!(
            op(Method::GET, "/", "").unwrap(),
            Op::ListBuckets {
                params: ListBucketsParams::default()
            }
        );
        match op(
            Method::GET,
            "/",
            "max-buckets=2&prefix=a&bucket-region=us-east-1&continuation-token=YWJj",
        )
        .unwrap()
        {
            Op::ListBuckets { params } => assert_eq!(
                params,
                ListBucketsParams {
                    max_buckets: Some(2),
                    after: Some("abc".into()),
                    prefix: Some("a".into()),
                    bucket_region: Some("us-east-1".into()),
                }
            ),
            o => panic!("{o:?}"),
        }
        for bad in [
            "max-buckets=0",
            "max-buckets=10001",
            "max-buckets=x",
            "continuation-token=%25%25",
        ] {
            assert_eq!(
                op(Method::GET, "/", bad).unwrap_err().code,
                S3Code::InvalidArgument,
                "{bad}"
            );
        }
        assert_eq!(
            op(Method::PUT, "/bk1", "").unwrap(),
            Op::CreateBucket {
                bucket: "bk1".into(),
                location: None
            }
        );
        assert!(matches!(
            op(Method::GET, "/b1", "list-type=2&prefix=a").unwrap(),
            Op::ListObjectsV2 { .. }
        ));
        assert!(matches!(
            op(Method::GET, "/b1/", "versions").unwrap(),
            Op::ListObjectVersions { .. }
        ));
        match op(Method::GET, "/b1/a%20b/c", "").unwrap() {
            Op::GetObject(r) => assert_eq!(r.key, "a b/c"),
            o => panic!("{o:?}"),
        }
        assert!(matches!(
            op(Method::GET, "/b1", "acl").unwrap(),
            Op::GetBucketAcl { .. }
        ));
        assert!(matches!(
            op(Method::GET, "/b1", "logging").unwrap(),
            Op::NotImplemented { .. }
        ));
    }

    #[test]
    fn virtual_host_routing() {
        let a = Addressing {
            domain: Some("s3.example.test".into()),
        };
        let o = parse_op(
            &Method::GET,
            Some("bkt.s3.example.test:9000"),
            "/k/x",
            "",
            &HeaderMap::new(),
            &a,
        )
        .unwrap();
        match o {
            Op::GetObject(r) => {
                assert_eq!(r.bucket, "bkt");
                assert_eq!(r.key, "k/x");
            }
            o => panic!("{o:?}"),
        }
        let o = parse_op(
            &Method::GET,
            Some("s3.example.test"),
            "/bkt/k",
            "",
            &HeaderMap::new(),
            &a,
        )
        .unwrap();
        assert!(matches!(o, Op::GetObject(_)));
    }

    #[test]
    fn version_ids_are_validated() {
        let e = op(Method::DELETE, "/b/k", "versionId=zzz").unwrap_err();
        assert_eq!(e.code, S3Code::InvalidArgument);
        assert!(matches!(
            op(Method::HEAD, "/b/k", "versionId=null").unwrap(),
            Op::HeadObject(r) if r.version == VersionSel::Absent("null".into())
        ));
    }

    #[test]
    fn bucket_names() {
        assert!(validate_bucket_name("my-bucket.1").is_ok());
        for bad in [
            "ab",
            "Upper",
            "-x-abc",
            "a..b",
            "192.168.1.1",
            "xn--abc",
            "a_b_c",
            &"x".repeat(64),
        ] {
            assert_eq!(
                validate_bucket_name(bad).unwrap_err().code,
                S3Code::InvalidBucketName,
                "{bad}"
            );
        }
    }

    #[test]
    fn lock_header_smuggling_refused() {
        let mut h = HeaderMap::new();
        h.insert("x-amz-object-lock-mode", "compliance".parse().unwrap());
        assert_eq!(lock_headers(&h).unwrap_err().code, S3Code::InvalidArgument);
        let mut h = HeaderMap::new();
        h.insert("x-amz-object-lock-retain-until-date", "2030-01-01".parse().unwrap());
        assert_eq!(lock_headers(&h).unwrap_err().code, S3Code::InvalidArgument);
        let mut h = HeaderMap::new();
        h.append(
            "x-amz-object-lock-retain-until-date",
            "2030-01-01T00:00:00Z".parse().unwrap(),
        );
        h.append(
            "x-amz-object-lock-retain-until-date",
            "2040-01-01T00:00:00Z".parse().unwrap(),
        );
        assert_eq!(lock_headers(&h).unwrap_err().code, S3Code::InvalidArgument);
        let mut h = HeaderMap::new();
        h.insert("x-amz-object-lock-legal-hold", "on".parse().unwrap());
        assert_eq!(lock_headers(&h).unwrap_err().code, S3Code::InvalidArgument);
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9"), Some(RangeSpec::FromTo(0, Some(9))));
        assert_eq!(parse_range("bytes=5-"), Some(RangeSpec::FromTo(5, None)));
        assert_eq!(parse_range("bytes=-3"), Some(RangeSpec::Suffix(3)));
        assert_eq!(parse_range("bytes=9-1"), None);
        assert_eq!(parse_range("items=0-1"), None);
    }
}
