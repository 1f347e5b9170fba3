//! Listings: `ListObjects` (V1), `ListObjectsV2` and `ListObjectVersions`, as range scans over the catalog.

use super::bucket::owner;
use super::util::quoted;
use super::Gateway;
use crate::ids::parse_version_id;
use crate::s3::error::{S3Error, S3Result};
use crate::s3::op::ListParams;
use crate::s3::respond::Reply;
use crate::s3::xml::{
    to_xml, CommonPrefixOut, DeleteMarkerOut, ListBucketResultV1, ListBucketResultV2, ListVersionsResult, ObjectOut,
    VersionEntryOut, VersionOut, NS,
};
use crate::store::{VersionEntry, VersionRecord};
use crate::timefmt::iso_ms;

enum Item {
    Object(Box<VersionRecord>),
    Version(Box<VersionRecord>, bool),
    Prefix(String),
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

fn common_prefix(key: &str, prefix: &str, delimiter: Option<&str>) -> Option<String> {
    let d = delimiter?;
    let rest = &key[prefix.len()..];
    rest.find(d).map(|i| format!("{prefix}{}", &rest[..i + d.len()]))
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

struct Page {
    items: Vec<Item>,
    truncated: bool,
}

/// A key or prefix as a listing shows it: with S3's `encoding-type=url`, everything but unreserved
/// characters and `/` is escaped.
fn listed_name(s: &str, encoding_url: bool) -> String {
    if encoding_url {
        crate::encoding::uri_encode(s.as_bytes(), true)
    } else {
        s.to_string()
    }
}

impl Gateway {
    /// Walk the catalog in key order. `versions` lists every version; otherwise only keys whose newest
    /// entry is data. `skip_newer_than` skips versions of the first key at or above that seq.
    fn walk(
        &self,
        bucket: &str,
        scan: Scan<'_>,
        mut start: Vec<u8>,
        mut skip_key_versions: Option<(String, u64)>,
    ) -> S3Result<Page> {
        let Scan {
            prefix,
            delimiter,
            versions,
            max,
        } = scan;
        let mut items = Vec::new();
        if max == 0 {
            return Ok(Page {
                items,
                truncated: false,
            });
        }
        if start.as_slice() < prefix.as_bytes() {
            start = prefix.as_bytes().to_vec();
        }
        let mut last_key: Option<String> = skip_key_versions.as_ref().map(|(k, _)| k.clone());
        'outer: loop {
            for entry in self.catalog.scan_versions(bucket, &start) {
                let entry = entry?;
                let key = entry.key().to_string();
                if !key.starts_with(prefix) {
                    if key.as_str() > prefix {
                        break 'outer;
                    }
                    continue;
                }
                if let Some((k, seq)) = &skip_key_versions {
                    if *k == key && entry.seq() >= *seq {
                        continue;
                    }
                }
                let newest = last_key.as_deref() != Some(key.as_str());
                if !versions && !newest {
                    continue;
                }
                last_key = Some(key.clone());
                if let Some(cp) = common_prefix(&key, prefix, delimiter) {
                    if items.len() == max {
                        return Ok(Page { items, truncated: true });
                    }
                    let mut next = cp.as_bytes().to_vec();
                    next.push(0xFF);
                    items.push(Item::Prefix(cp));
                    start = next;
                    skip_key_versions = None;
                    continue 'outer;
                }
                let rec = match entry {
                    VersionEntry::Ok(r) => r,
                    VersionEntry::Corrupt { key, seq } => {
                        tracing::warn!(bucket, key = %key, seq, "corrupt catalog record skipped in listing");
                        continue;
                    }
                };
                if !versions && rec.delete_marker {
                    continue;
                }
                if items.len() == max {
                    return Ok(Page { items, truncated: true });
                }
                items.push(if versions {
                    Item::Version(rec, newest)
                } else {
                    Item::Object(rec)
                });
            }
            break;
        }
        Ok(Page {
            items,
            truncated: false,
        })
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
        let page = self.walk(
            bucket,
            Scan {
                prefix: &p.prefix,
                delimiter: delim,
                versions: false,
                max: p.max_keys,
            },
            start,
            None,
        )?;
        let enc = |s: &str| listed_name(s, p.encoding_url);
        let mut contents = Vec::new();
        let mut common_prefixes = Vec::new();
        let mut last = None;
        for item in &page.items {
            match item {
                Item::Object(r) => {
                    last = Some(r.key.clone());
                    contents.push(ObjectOut {
                        key: enc(&r.key),
                        last_modified: iso_ms(r.created_ms),
                        etag: quoted(&r.etag),
                        checksum_algorithm: r
                            .checksum_algorithm
                            .map(super::super::checksum::ChecksumAlgorithm::as_str),
                        checksum_type: r.checksum_type.clone(),
                        size: r.size,
                        owner: (!v2 || p.fetch_owner).then(owner),
                        storage_class: "STANDARD",
                    });
                }
                Item::Prefix(cp) => {
                    last = Some(cp.clone());
                    common_prefixes.push(CommonPrefixOut { prefix: enc(cp) });
                }
                Item::Version(..) => {}
            }
        }
        let encoding_type = p.encoding_url.then_some("url");
        let body = if v2 {
            let doc = ListBucketResultV2 {
                xmlns: NS,
                name: bucket.to_string(),
                prefix: enc(&p.prefix),
                max_keys: p.max_keys,
                key_count: contents.len() + common_prefixes.len(),
                delimiter: p.delimiter.as_deref().map(enc),
                encoding_type,
                is_truncated: page.truncated,
                continuation_token: p.continuation_token.clone(),
                next_continuation_token: if page.truncated {
                    last.as_deref().map(encode_token)
                } else {
                    None
                },
                start_after: p.start_after.as_deref().map(enc),
                contents,
                common_prefixes,
            };
            to_xml("ListBucketResult", &doc)?
        } else {
            let doc = ListBucketResultV1 {
                xmlns: NS,
                name: bucket.to_string(),
                prefix: enc(&p.prefix),
                marker: enc(p.marker.as_deref().unwrap_or("")),
                next_marker: if page.truncated && delim.is_some() {
                    last.as_deref().map(enc)
                } else {
                    None
                },
                max_keys: p.max_keys,
                delimiter: p.delimiter.as_deref().map(enc),
                encoding_type,
                is_truncated: page.truncated,
                contents,
                common_prefixes,
            };
            to_xml("ListBucketResult", &doc)?
        };
        Ok(Reply::xml(body))
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
        let page = self.walk(
            bucket,
            Scan {
                prefix: &p.prefix,
                delimiter: delim,
                versions: true,
                max: p.max_keys,
            },
            start,
            skip,
        )?;
        let enc = |s: &str| listed_name(s, p.encoding_url);
        let mut entries = Vec::new();
        let mut common_prefixes = Vec::new();
        let mut next = (None, None);
        for item in page.items {
            match item {
                Item::Version(r, latest) => {
                    next = (Some(r.key.clone()), Some(r.version_id.clone()));
                    if r.delete_marker {
                        entries.push(VersionEntryOut::DeleteMarker(DeleteMarkerOut {
                            key: enc(&r.key),
                            version_id: r.version_id.clone(),
                            is_latest: latest,
                            last_modified: iso_ms(r.created_ms),
                            owner: owner(),
                        }));
                    } else {
                        entries.push(VersionEntryOut::Version(VersionOut {
                            key: enc(&r.key),
                            version_id: r.version_id.clone(),
                            is_latest: latest,
                            last_modified: iso_ms(r.created_ms),
                            etag: quoted(&r.etag),
                            checksum_algorithm: r
                                .checksum_algorithm
                                .map(super::super::checksum::ChecksumAlgorithm::as_str),
                            checksum_type: r.checksum_type.clone(),
                            size: r.size,
                            storage_class: "STANDARD",
                            owner: owner(),
                        }));
                    }
                }
                Item::Prefix(cp) => {
                    next = (Some(cp.clone()), None);
                    common_prefixes.push(CommonPrefixOut { prefix: enc(&cp) });
                }
                Item::Object(_) => {}
            }
        }
        let doc = ListVersionsResult {
            xmlns: NS,
            name: bucket.to_string(),
            prefix: enc(&p.prefix),
            key_marker: enc(p.marker.as_deref().unwrap_or("")),
            version_id_marker: p.version_id_marker.clone().unwrap_or_default(),
            next_key_marker: if page.truncated {
                next.0.as_deref().map(enc)
            } else {
                None
            },
            next_version_id_marker: if page.truncated { next.1 } else { None },
            max_keys: p.max_keys,
            delimiter: p.delimiter.as_deref().map(enc),
            encoding_type: p.encoding_url.then_some("url"),
            is_truncated: page.truncated,
            entries,
            common_prefixes,
        };
        Ok(Reply::xml(to_xml("ListVersionsResult", &doc)?))
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
