//! Listings: `ListObjects` (V1), `ListObjectsV2` and `ListObjectVersions`, as range scans over the catalog.
//!
//! A page is written as it is walked: each shown entry is decoded from the catalog record without
//! copying (`store::listed`) and appended to the page's XML at once (`s3::xml::push_elem`); keys
//! the page does not show (older versions in an object listing) are not decoded at all.

use super::Gateway;
use crate::ids::parse_version_id;
use crate::s3::error::{S3Error, S3Result};
use crate::s3::op::ListParams;
use crate::s3::respond::Reply;
use crate::s3::xml::{push_elem, push_text, push_value, DECLARATION, NS};
use crate::store::listed::{decode_listed, ListedVersion};
use crate::store::meta::split_version_key_ref;
use crate::timefmt::iso_ms;

/// What the walk found, for the page to show.
enum Found<'a> {
    /// A version (or, in an object listing, the key's newest version); `latest`: newest of its key.
    Version(&'a ListedVersion<'a>, bool),
    /// A common prefix (keys rolled up at the delimiter).
    Prefix(&'a str),
}

/// Where a scan starts: after `marker` (exclusive). A marker that is a common prefix skips
/// everything under it.
fn start_after(marker: &str, delimiter: Option<&str>) -> Vec<u8> {
    let mut s = marker.as_bytes().to_vec();
    if delimiter.is_some_and(|d| marker.ends_with(d)) {
        s.push(0xFF);
    } else {
        s.push(0x01);
    }
    s
}

/// The common prefix `key` rolls up into, if the listing has a delimiter and `key` has one after
/// `prefix`.
fn common_prefix<'k>(key: &'k str, prefix: &str, delimiter: Option<&str>) -> Option<&'k str> {
    let d = delimiter?;
    let rest = key.get(prefix.len()..)?;
    rest.find(d).and_then(|i| key.get(..prefix.len() + i + d.len()))
}

/// What a listing walks over.
#[derive(Clone, Copy)]
struct Scan<'a> {
    prefix: &'a str,
    delimiter: Option<&'a str>,
    /// Every version, not only the newest data version of each key.
    versions: bool,
    max: usize,
}

/// Append a key or prefix as a listing shows it: with S3's `encoding-type=url`, everything but
/// unreserved characters and `/` is escaped.
/// `Delimiter` (when given), `EncodingType` (when URL-encoding) and `IsTruncated`: the elements every
/// listing writes in this order after its `MaxKeys` (`KeyCount` too in V2).
fn push_page_flags(out: &mut String, delim: Option<&str>, url: bool, truncated: bool) {
    if let Some(d) = delim {
        push_name(out, "Delimiter", d, url);
    }
    if url {
        push_elem(out, "EncodingType", "url");
    }
    push_value(out, "IsTruncated", truncated);
}

fn push_name(out: &mut String, name: &str, s: &str, encoding_url: bool) {
    if encoding_url {
        push_elem(out, name, &crate::encoding::uri_encode(s.as_bytes(), true));
    } else {
        push_elem(out, name, s);
    }
}

/// The owner every entry shows (one gateway owner, see `bucket::owner`).
const OWNER_XML: &str = concat!(
    "<Owner><ID>",
    "wormgate",
    "</ID><DisplayName>",
    "wormgate",
    "</DisplayName></Owner>"
);

/// Append the fields an object and a version share after `Key` (and `VersionId`, `IsLatest`).
fn push_data_fields(out: &mut String, v: &ListedVersion<'_>) {
    push_elem(out, "LastModified", &iso_ms(v.created_ms));
    out.push_str("<ETag>\"");
    push_text(out, &v.etag);
    out.push_str("\"</ETag>");
    if let Some(a) = v.checksum_algorithm {
        push_elem(out, "ChecksumAlgorithm", a.as_str());
    }
    if let Some(t) = &v.checksum_type {
        push_elem(out, "ChecksumType", t);
    }
    push_value(out, "Size", v.size);
}

/// Append one `<Contents>` of an object listing (`owner`: V1, or V2 with `fetch-owner`).
fn push_object(out: &mut String, r: &ListedVersion<'_>, owner: bool, encoding_url: bool) {
    out.push_str("<Contents>");
    push_name(out, "Key", &r.key, encoding_url);
    push_data_fields(out, r);
    if owner {
        out.push_str(OWNER_XML);
    }
    out.push_str("<StorageClass>STANDARD</StorageClass></Contents>");
}

/// Append one `<Version>` or `<DeleteMarker>` of a version listing.
fn push_version(out: &mut String, r: &ListedVersion<'_>, latest: bool, encoding_url: bool) {
    let tag = if r.delete_marker { "DeleteMarker" } else { "Version" };
    out.push('<');
    out.push_str(tag);
    out.push('>');
    push_name(out, "Key", &r.key, encoding_url);
    push_elem(out, "VersionId", &r.version_id);
    push_value(out, "IsLatest", latest);
    if r.delete_marker {
        push_elem(out, "LastModified", &iso_ms(r.created_ms));
    } else {
        push_data_fields(out, r);
        out.push_str("<StorageClass>STANDARD</StorageClass>");
    }
    out.push_str(OWNER_XML);
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// Append the `<CommonPrefixes>` of a page.
fn push_prefix(out: &mut String, cp: &str, encoding_url: bool) {
    out.push_str("<CommonPrefixes>");
    push_name(out, "Prefix", cp, encoding_url);
    out.push_str("</CommonPrefixes>");
}

impl Gateway {
    /// Walk the catalog in key order, handing each entry the page shows to `show`, and tell whether
    /// the page was cut at `max` (more entries follow). `versions` lists every version; otherwise only
    /// keys whose newest entry is data. `skip_key_versions` skips versions of that key at or above
    /// that seq.
    fn walk(
        &self,
        bucket: &str,
        scan: Scan<'_>,
        mut start: Vec<u8>,
        mut skip_key_versions: Option<(String, u64)>,
        mut show: impl FnMut(Found<'_>),
    ) -> S3Result<bool> {
        let Scan {
            prefix,
            delimiter,
            versions,
            max,
        } = scan;
        if max == 0 {
            return Ok(false);
        }
        if start.as_slice() < prefix.as_bytes() {
            start = prefix.as_bytes().to_vec();
        }
        let mut shown = 0;
        let mut last_key: Option<String> = skip_key_versions.as_ref().map(|(k, _)| k.clone());
        'outer: loop {
            for item in self.catalog.scan_versions_raw(bucket, &start) {
                let (raw_key, raw) = item?;
                let Some((key, seq)) = split_version_key_ref(bucket.len(), &raw_key) else {
                    tracing::warn!(bucket, "unreadable catalog key skipped in listing");
                    continue;
                };
                if !key.starts_with(prefix) {
                    if key > prefix {
                        break 'outer;
                    }
                    continue;
                }
                if let Some((k, skip_seq)) = &skip_key_versions {
                    if k == key && seq >= *skip_seq {
                        continue;
                    }
                }
                let newest = last_key.as_deref() != Some(key);
                if !versions && !newest {
                    continue;
                }
                if newest {
                    let last = last_key.get_or_insert_with(String::new);
                    last.clear();
                    last.push_str(key);
                }
                if let Some(cp) = common_prefix(key, prefix, delimiter) {
                    if shown == max {
                        return Ok(true);
                    }
                    show(Found::Prefix(cp));
                    shown += 1;
                    let mut next = cp.as_bytes().to_vec();
                    next.push(0xFF);
                    start = next;
                    skip_key_versions = None;
                    continue 'outer;
                }
                let Some(rec) = decode_listed(&raw) else {
                    tracing::warn!(bucket, key, seq, "corrupt catalog record skipped in listing");
                    continue;
                };
                if !versions && rec.delete_marker {
                    continue;
                }
                if shown == max {
                    return Ok(true);
                }
                show(Found::Version(&rec, newest));
                shown += 1;
            }
            break;
        }
        Ok(false)
    }

    pub(super) fn list_objects(&self, bucket: &str, p: &ListParams, v2: bool) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        let delim = p.delimiter.as_deref();
        let after = if v2 {
            match &p.continuation_token {
                Some(t) => Some(decode_token(t)?),
                None => p.start_after.clone(),
            }
        } else {
            p.marker.clone()
        };
        let start = after.as_deref().map(|a| start_after(a, delim)).unwrap_or_default();
        let url = p.encoding_url;
        let owner = !v2 || p.fetch_owner;
        let mut contents = String::new();
        let mut prefixes = String::new();
        let mut count = 0usize;
        let mut last = String::new();
        let truncated = self.walk(
            bucket,
            Scan {
                prefix: &p.prefix,
                delimiter: delim,
                versions: false,
                max: p.max_keys,
            },
            start,
            None,
            |found| {
                count += 1;
                last.clear();
                match found {
                    Found::Version(r, _) => {
                        last.push_str(&r.key);
                        push_object(&mut contents, r, owner, url);
                    }
                    Found::Prefix(cp) => {
                        last.push_str(cp);
                        push_prefix(&mut prefixes, cp, url);
                    }
                }
            },
        )?;
        let mut out = String::with_capacity(512 + contents.len() + prefixes.len());
        out.push_str(DECLARATION);
        out.push_str("<ListBucketResult xmlns=\"");
        out.push_str(NS);
        out.push_str("\">");
        push_elem(&mut out, "Name", bucket);
        push_name(&mut out, "Prefix", &p.prefix, url);
        if v2 {
            push_value(&mut out, "MaxKeys", p.max_keys);
            push_value(&mut out, "KeyCount", count);
            push_page_flags(&mut out, delim, url, truncated);
            if let Some(t) = &p.continuation_token {
                push_elem(&mut out, "ContinuationToken", t);
            }
            if truncated && count > 0 {
                push_elem(&mut out, "NextContinuationToken", &encode_token(&last));
            }
            if let Some(s) = &p.start_after {
                push_name(&mut out, "StartAfter", s, url);
            }
        } else {
            push_name(&mut out, "Marker", p.marker.as_deref().unwrap_or(""), url);
            if truncated && delim.is_some() && count > 0 {
                push_name(&mut out, "NextMarker", &last, url);
            }
            push_value(&mut out, "MaxKeys", p.max_keys);
            push_page_flags(&mut out, delim, url, truncated);
        }
        out.push_str(&contents);
        out.push_str(&prefixes);
        out.push_str("</ListBucketResult>");
        Ok(Reply::xml(out))
    }

    pub(super) fn list_versions(&self, bucket: &str, p: &ListParams) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        let delim = p.delimiter.as_deref();
        let (start, skip) = match (&p.marker, &p.version_id_marker) {
            (Some(k), Some(v)) => {
                let seq = match v.as_str() {
                    "null" => u64::MAX,
                    v => parse_version_id(v).ok_or_else(|| S3Error::invalid_argument("Invalid version id marker"))?,
                };
                let mut s = k.as_bytes().to_vec();
                s.push(0);
                (s, Some((k.clone(), seq)))
            }
            (Some(k), None) => (start_after(k, delim), None),
            _ => (Vec::new(), None),
        };
        let url = p.encoding_url;
        let mut entries = String::with_capacity(p.max_keys.min(1000) * 400);
        let mut prefixes = String::new();
        let mut next_key = String::new();
        let mut next_version: Option<String> = None;
        let mut any = false;
        let truncated = self.walk(
            bucket,
            Scan {
                prefix: &p.prefix,
                delimiter: delim,
                versions: true,
                max: p.max_keys,
            },
            start,
            skip,
            |found| {
                any = true;
                next_key.clear();
                match found {
                    Found::Version(r, latest) => {
                        next_key.push_str(&r.key);
                        let nv = next_version.get_or_insert_with(String::new);
                        nv.clear();
                        nv.push_str(&r.version_id);
                        push_version(&mut entries, r, latest, url);
                    }
                    Found::Prefix(cp) => {
                        next_key.push_str(cp);
                        next_version = None;
                        push_prefix(&mut prefixes, cp, url);
                    }
                }
            },
        )?;
        let mut out = String::with_capacity(512 + entries.len() + prefixes.len());
        out.push_str(DECLARATION);
        out.push_str("<ListVersionsResult xmlns=\"");
        out.push_str(NS);
        out.push_str("\">");
        push_elem(&mut out, "Name", bucket);
        push_name(&mut out, "Prefix", &p.prefix, url);
        push_name(&mut out, "KeyMarker", p.marker.as_deref().unwrap_or(""), url);
        push_elem(
            &mut out,
            "VersionIdMarker",
            p.version_id_marker.as_deref().unwrap_or(""),
        );
        if truncated && any {
            push_name(&mut out, "NextKeyMarker", &next_key, url);
            if let Some(v) = &next_version {
                push_elem(&mut out, "NextVersionIdMarker", v);
            }
        }
        push_value(&mut out, "MaxKeys", p.max_keys);
        push_page_flags(&mut out, delim, url, truncated);
        out.push_str(&entries);
        out.push_str(&prefixes);
        out.push_str("</ListVersionsResult>");
        Ok(Reply::xml(out))
    }
}

fn encode_token(key: &str) -> String {
    crate::checksum::b64(key.as_bytes())
}

fn decode_token(t: &str) -> S3Result<String> {
    crate::checksum::b64_decode(t)
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| S3Error::invalid_argument("The continuation token provided is incorrect"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::ChecksumAlgorithm;
    use crate::s3::xml::{to_xml, DeleteMarkerOut, ObjectOut, VersionOut};
    use std::borrow::Cow;

    fn listed_name(s: &str, encoding_url: bool) -> String {
        if encoding_url {
            crate::encoding::uri_encode(s.as_bytes(), true)
        } else {
            s.to_string()
        }
    }

    fn listed(key: &str, delete_marker: bool, algo: Option<ChecksumAlgorithm>) -> ListedVersion<'_> {
        ListedVersion {
            key: Cow::Borrowed(key),
            version_id: Cow::Borrowed("0000018c-v"),
            created_ms: 1_700_000_000_123,
            delete_marker,
            size: 4096,
            etag: Cow::Borrowed("d41d8cd98f00b204e9800998ecf8427e"),
            checksum_algorithm: algo,
            checksum_type: algo.map(|_| Cow::Borrowed("FULL_OBJECT")),
        }
    }

    /// The body of a serde-rendered document without the declaration and the root element.
    fn inner(doc: &str, root: &str) -> String {
        let body = doc.strip_prefix(DECLARATION).expect("declaration");
        let open = format!("<{root}>");
        let close = format!("</{root}>");
        body.strip_prefix(open.as_str())
            .and_then(|b| b.strip_suffix(close.as_str()))
            .expect("root element")
            .to_string()
    }

    const KEYS: [&str; 4] = ["plain/key.txt", "sp ace&amp<lt>gt\"q'\t\n\r", "ключ/é", ""];

    #[test]
    fn entries_read_as_the_serde_rendering_did() {
        for key in KEYS {
            for url in [false, true] {
                for algo in [None, Some(ChecksumAlgorithm::Crc32c)] {
                    let r = listed(key, false, algo);
                    let name = listed_name(key, url);
                    let obj = |owner: bool| ObjectOut {
                        key: name.clone(),
                        last_modified: iso_ms(r.created_ms),
                        etag: format!("\"{}\"", r.etag),
                        checksum_algorithm: algo.map(ChecksumAlgorithm::as_str),
                        checksum_type: r.checksum_type.as_deref().map(str::to_string),
                        size: r.size,
                        owner: owner.then(crate::gateway::bucket::owner),
                        storage_class: "STANDARD",
                    };
                    for owner in [false, true] {
                        let mut mine = String::new();
                        push_object(&mut mine, &r, owner, url);
                        let theirs = inner(&to_xml("Contents", &obj(owner)).unwrap(), "Contents");
                        assert_eq!(mine, format!("<Contents>{theirs}</Contents>"), "key {key:?}");
                    }
                    let version = VersionOut {
                        key: name.clone(),
                        version_id: r.version_id.to_string(),
                        is_latest: true,
                        last_modified: iso_ms(r.created_ms),
                        etag: format!("\"{}\"", r.etag),
                        checksum_algorithm: algo.map(ChecksumAlgorithm::as_str),
                        checksum_type: r.checksum_type.as_deref().map(str::to_string),
                        size: r.size,
                        storage_class: "STANDARD",
                        owner: crate::gateway::bucket::owner(),
                    };
                    let mut mine = String::new();
                    push_version(&mut mine, &r, true, url);
                    let theirs = inner(&to_xml("Version", &version).unwrap(), "Version");
                    assert_eq!(mine, format!("<Version>{theirs}</Version>"), "key {key:?}");
                }
                let m = listed(key, true, None);
                let marker = DeleteMarkerOut {
                    key: listed_name(key, url),
                    version_id: m.version_id.to_string(),
                    is_latest: false,
                    last_modified: iso_ms(m.created_ms),
                    owner: crate::gateway::bucket::owner(),
                };
                let mut mine = String::new();
                push_version(&mut mine, &m, false, url);
                let theirs = inner(&to_xml("DeleteMarker", &marker).unwrap(), "DeleteMarker");
                assert_eq!(mine, format!("<DeleteMarker>{theirs}</DeleteMarker>"), "key {key:?}");
            }
        }
    }

    #[test]
    fn common_prefixes_roll_up_at_the_delimiter() {
        assert_eq!(common_prefix("a/b/c", "a/", Some("/")), Some("a/b/"));
        assert_eq!(common_prefix("a/b", "a/", Some("/")), None);
        assert_eq!(common_prefix("a/b/c", "a/", None), None);
        assert_eq!(common_prefix("a--b--c", "", Some("--")), Some("a--"));
        assert_eq!(common_prefix("é/x", "", Some("/")), Some("é/"));
    }
}
