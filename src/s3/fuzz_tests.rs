//! Property tests ("fuzzing") of everything `s3` reads from a client: the router (method, host,
//! path, query, headers and XML document together), object keys, every XML request document, the
//! lifecycle configuration, Range and conditional headers, and the text formats below them (query
//! strings and percent-encoding from `encoding`, dates from `timefmt`). Hostile input gets an S3 error
//! with a 4xx/5xx-that-AWS-uses status, never a panic; documents the gateway writes parse back to the
//! same value; formats round-trip.
//!
//! Cases per property: `WORMGATE_FUZZ_CASES` (default small); a long run is
//! `WORMGATE_FUZZ_CASES=100000 cargo test --release fuzz`.

use super::conditions::etag_matches;
use super::docs;
use super::error::{S3Code, S3Error};
use super::lifecycle::{self, Expiration, LifecycleConfiguration, LifecycleRule, NoncurrentExpiration, RuleFilter};
use super::op::{Conditions, RangeSpec, Reach};
use super::parse::{copy_source, parse_op_with, parse_range, parse_tag_query, Addressing, Query};
use super::xml::{
    self, DefaultRetentionOut, LegalHoldOut, ObjectLockConfigurationOut, RetentionOut, RuleOut, TagOut, TagSetOut,
    TaggingOut, VersioningConfigurationOut, NS,
};
use crate::checksum::{b64, ChecksumAlgorithm, ExpectedDigests, IngestDigests, SignedBody};
use crate::encoding::{percent_decode, query_params, split_query, uri_encode};
use crate::lock::{DefaultRetention, RequestedMode};
use crate::timefmt;
use http::{HeaderMap, Method};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The case count of every fuzz property (`WORMGATE_FUZZ_CASES`, default 48); no failure files are
/// written (a failure found is kept as a named regression test instead). Shared by the fuzz tests of
/// `auth` and `gateway` too (`s3` is the lowest layer of the three).
pub(crate) fn config() -> ProptestConfig {
    let cases = std::env::var("WORMGATE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Strings made of `tokens`: structured garbage that reaches deeper into a parser than random bytes.
pub(crate) fn tokens(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    vec(select(tokens), 0..max).prop_map(|v| v.concat())
}

/// Text with what trips encoders and XML: markup characters, escapes, `+`, `%`, spaces, non-ASCII,
/// control characters and NUL.
fn text(max: usize) -> impl Strategy<Value = String> {
    tokens(
        &[
            "a", "Z", "0", "-", "_", ".", "~", " ", "+", "=", "&", "%", "%2F", "/", "<", ">", "\"", "'", "&amp;", "é",
            "日本", "😀", "..", "?", "#", "\t", "\u{0}", "\u{7f}", "\u{feff}", "]]>",
        ],
        max,
    )
}

/// An S3 error a client can be answered with: not an internal error.
fn client_error(e: &super::error::S3Error) -> bool {
    e.code != S3Code::InternalError && e.status().is_client_error() || e.code == S3Code::NotImplemented
}

fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Tag keys and values AWS allows (1..=128 / ..=256 characters), with XML specials in them.
fn tag_text(min: usize, max: usize) -> impl Strategy<Value = String> {
    vec(
        select(
            &[
                "a", "Z", "9", " ", "+", "-", "=", ".", "_", ":", "/", "@", "<", "&", "é",
            ][..],
        ),
        min..max,
    )
    .prop_map(|v| v.concat())
    .prop_map(|s| s.trim().to_string())
}

/// Object sizes as a rule may name them (AWS takes a signed 64-bit number).
const SIZES: std::ops::Range<u64> = 0..9_223_372_036_854_775_807;

fn lifecycle_rule() -> impl Strategy<Value = LifecycleRule> {
    let tag = || (tag_text(1, 8), tag_text(0, 8));
    let filter = prop_oneof![
        text(8).prop_map(RuleFilter::Legacy),
        Just(RuleFilter::All),
        text(8).prop_map(RuleFilter::Prefix),
        tag().prop_map(|(k, v)| RuleFilter::Tag(k, v)),
        SIZES.prop_map(RuleFilter::SizeGreaterThan),
        SIZES.prop_map(RuleFilter::SizeLessThan),
        (
            prop::option::of(text(6)),
            vec(tag(), 0..3),
            prop::option::of(SIZES),
            prop::option::of(SIZES)
        )
            .prop_map(|(prefix, tags, size_greater_than, size_less_than)| RuleFilter::And {
                prefix,
                tags,
                size_greater_than,
                size_less_than
            }),
    ];
    let expiration = prop_oneof![
        (0u32..100_000).prop_map(Expiration::Days),
        (-100_000i64..100_000).prop_map(|d| Expiration::Date(d * 86_400_000)),
        Just(Expiration::ExpiredObjectDeleteMarker),
    ];
    let noncurrent =
        (0u32..100_000, prop::option::of(0u32..200)).prop_map(|(noncurrent_days, newer_noncurrent_versions)| {
            NoncurrentExpiration {
                noncurrent_days,
                newer_noncurrent_versions,
            }
        });
    (
        tag_text(0, 12),
        any::<bool>(),
        filter,
        prop::option::of(expiration),
        prop::option::of(noncurrent),
        prop::option::of(0u32..100_000),
    )
        .prop_map(
            |(id, enabled, filter, expiration, noncurrent, abort_incomplete_days)| LifecycleRule {
                id,
                enabled,
                filter,
                expiration,
                noncurrent,
                abort_incomplete_days,
            },
        )
}

/// Method, path, query, headers and document of a hostile request.
fn request() -> impl Strategy<Value = (Method, String, String, Vec<(String, String)>, String)> {
    let method = select(&[Method::GET, Method::PUT, Method::POST, Method::DELETE, Method::HEAD][..]);
    let path = tokens(
        &[
            "/", "b", "bucket", "k", "%2F", "%00", "%C3%A9", "%FF", "..", ".", "%", "a b", "//",
        ],
        8,
    );
    let query = tokens(
        &[
            "&",
            "=",
            "versionId",
            "versions",
            "uploads",
            "uploadId",
            "partNumber",
            "tagging",
            "retention",
            "legal-hold",
            "object-lock",
            "lifecycle",
            "delete",
            "acl",
            "list-type=2",
            "max-keys",
            "prefix",
            "delimiter",
            "encoding-type=url",
            "x-id",
            "1",
            "0",
            "-1",
            "99999999999",
            "%",
            "%zz",
            "+",
            "%00",
            "null",
            "continuation-token",
        ],
        10,
    );
    let header = (
        select(
            &[
                "range",
                "if-match",
                "if-none-match",
                "if-modified-since",
                "if-unmodified-since",
                "content-md5",
                "x-amz-object-lock-mode",
                "x-amz-object-lock-retain-until-date",
                "x-amz-object-lock-legal-hold",
                "x-amz-copy-source",
                "x-amz-tagging",
                "x-amz-checksum-crc32",
                "x-amz-sdk-checksum-algorithm",
                "content-length",
                "x-amz-meta-a",
                "x-amz-bypass-governance-retention",
                "x-amz-acl",
                "x-amz-metadata-directive",
                "x-amz-copy-source-range",
                "x-amz-bucket-object-lock-enabled",
                "content-type",
                "x-amz-storage-class",
                "x-amz-server-side-encryption",
                "x-amz-expected-bucket-owner",
            ][..],
        ),
        tokens(
            &[
                "bytes=",
                "0",
                "-",
                "9",
                ",",
                "COMPLIANCE",
                "GOVERNANCE",
                "ON",
                "2030-01-01T00:00:00Z",
                "/b/k",
                "?versionId=",
                "\"",
                "*",
                "W/",
                "Tue, 01 Dec 2026 05:00:00 GMT",
                "a=b&c",
                "=",
                " ",
                "true",
                "REPLACE",
            ],
            6,
        ),
    )
        .prop_map(|(n, v)| (n.to_string(), v));
    let doc = prop_oneof![
        tokens(
            &[
                "<?xml version=\"1.0\"?>",
                "<Retention>",
                "</Retention>",
                "<Mode>",
                "</Mode>",
                "COMPLIANCE",
                "<RetainUntilDate>",
                "</RetainUntilDate>",
                "2030-01-01T00:00:00Z",
                "<Delete>",
                "</Delete>",
                "<Object>",
                "</Object>",
                "<Key>",
                "</Key>",
                "<VersionId>",
                "</VersionId>",
                "<Quiet>true</Quiet>",
                "<Tagging>",
                "</Tagging>",
                "<TagSet>",
                "</TagSet>",
                "<Tag>",
                "</Tag>",
                "<Value>",
                "</Value>",
                "<LegalHold>",
                "<Status>",
                "ON",
                "</Status>",
                "</LegalHold>",
                "<CompleteMultipartUpload>",
                "</CompleteMultipartUpload>",
                "<Part>",
                "</Part>",
                "<PartNumber>",
                "1",
                "</PartNumber>",
                "<ETag>",
                "</ETag>",
                "<LifecycleConfiguration>",
                "</LifecycleConfiguration>",
                "<Rule>",
                "</Rule>",
                "k",
                "&amp;",
                "&",
                "<",
                "<!DOCTYPE x [<!ENTITY e \"z\">]>",
                "&e;",
                "<![CDATA[",
                "]]>",
                "<!--",
                "-->",
                "é",
            ],
            24,
        ),
        vec(any::<char>(), 0..64).prop_map(String::from_iter),
    ];
    (method, path, query, vec(header, 0..4), doc)
}

proptest! {
    #![proptest_config(config())]

    /// Any request head and document is routed to an Op or refused with an S3 error a client can be
    /// given; never a panic.
    #[test]
    fn fuzz_router_answers_every_request((method, path, query, headers, doc) in request(), host in select(&["127.0.0.1:9000", "b.s3.example.com", "x:y:z", ""][..])) {
        let mut h = HeaderMap::new();
        for (n, v) in &headers {
            if let (Ok(n), Ok(v)) = (http::HeaderName::from_bytes(n.as_bytes()), http::HeaderValue::from_str(v)) {
                h.append(n, v);
            }
        }
        let addressing = Addressing { domain: Some("s3.example.com".into()) };
        let path = if path.starts_with('/') { path } else { format!("/{path}") };
        let host = (!host.is_empty()).then_some(host);
        if let Err(e) = parse_op_with(&method, host, &path, &query, &h, &addressing, &doc) {
            prop_assert!(client_error(&e), "{e:?}");
        }
    }

    /// Object keys: any UTF-8 (`..`, NUL, controls, non-ASCII) reaches the Op exactly as sent when it
    /// is at most 1024 bytes and has no NUL; otherwise `KeyTooLongError` / `InvalidArgument`.
    #[test]
    fn fuzz_object_keys(key in text(40), pad in 0usize..1100) {
        let key = format!("{key}{}", "k".repeat(pad));
        prop_assume!(!key.is_empty());
        let path = format!("/bucket/{}", uri_encode(key.as_bytes(), true));
        let r = parse_op_with(&Method::GET, Some("h"), &path, "", &HeaderMap::new(), &Addressing::default(), "");
        match r {
            Ok(op) => {
                prop_assert!(key.len() <= 1024 && !key.contains('\0'), "{} bytes accepted", key.len());
                let reaches = op.reaches();
                prop_assert!(matches!(reaches.as_slice(), [Reach::Object("bucket", k)] if *k == key), "{:?}", reaches);
            }
            Err(e) if key.len() > 1024 => prop_assert_eq!(e.code, S3Code::KeyTooLongError),
            Err(e) if key.contains('\0') => prop_assert_eq!(e.code, S3Code::InvalidArgument),
            Err(e) => prop_assert!(false, "{} refused: {:?}", key, e),
        }
    }

    /// Query strings: repeated, empty and odd-encoded names; the router's view is the decoded one
    /// (last value wins), and what `uri_encode` writes decodes back.
    #[test]
    fn fuzz_query_strings(raw in text(40), pairs in vec((text(6), prop::option::of(text(6))), 0..6)) {
        let _ = split_query(&raw);
        let params = query_params(&raw);
        prop_assert!(params.len() <= raw.len());
        match Query::parse(&raw) {
            Ok(q) => prop_assert_eq!(q.params().count(), params.len()),
            Err(e) => prop_assert_eq!(e.code, S3Code::InvalidArgument),
        }
        let encoded: Vec<String> = pairs
            .iter()
            .map(|(n, v)| match v {
                Some(v) => format!("{}={}", uri_encode(n.as_bytes(), false), uri_encode(v.as_bytes(), false)),
                None => uri_encode(n.as_bytes(), false),
            })
            .collect();
        let q = Query::parse(&encoded.join("&")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let kept: Vec<(String, Option<String>)> = pairs.iter().filter(|(n, v)| !n.is_empty() || v.is_some()).cloned().collect();
        let got: Vec<(String, Option<String>)> = q.params().map(|(n, v)| (n.to_string(), v.map(str::to_string))).collect();
        prop_assert_eq!(got, kept.clone());
        if let Some((n, v)) = kept.last() {
            prop_assert_eq!(q.get(n), Some(kept.iter().rev().find(|(m, _)| m == n).and_then(|(_, v)| v.as_deref()).unwrap_or("")));
            let _ = v;
        }
        prop_assert_eq!(percent_decode(uri_encode(raw.as_bytes(), true).as_bytes(), false), raw.as_bytes().to_vec());
    }

    /// Range: never a panic; a parsed range is well ordered and prints back to itself.
    #[test]
    fn fuzz_range(v in tokens(&["bytes=", "bytes", "=", "0", "1", "9", "-", ",", " ", "18446744073709551616", "+", "x", "é"], 10),
                  a in any::<u64>(), b in any::<u64>()) {
        if let Some(RangeSpec::FromTo(s, Some(e))) = parse_range(&v) {
            prop_assert!(s <= e);
        }
        let (s, e) = (a.min(b), a.max(b));
        prop_assert_eq!(parse_range(&format!("bytes={s}-{e}")), Some(RangeSpec::FromTo(s, Some(e))));
        prop_assert_eq!(parse_range(&format!("bytes={s}-")), Some(RangeSpec::FromTo(s, None)));
        prop_assert_eq!(parse_range(&format!("bytes=-{s}")), Some(RangeSpec::Suffix(s)));
    }

    /// Conditional headers: any text never panics; `*` and the exact tag always match; an HTTP date
    /// formatted by the gateway parses back to the same second.
    #[test]
    fn fuzz_conditions(cond in text(20), etag in tag_text(0, 10), ms in -10_000_000_000_000i64..300_000_000_000_000,
                       date in text(30)) {
        let _ = etag_matches(&cond, &etag);
        prop_assert!(etag_matches("*", &etag));
        let quoted = format!("\"{etag}\"");
        prop_assert!(etag_matches(&quoted, &etag) || etag.contains(','), "{}", quoted);
        let c = Conditions {
            if_match: Some(cond.clone()),
            if_none_match: Some(cond),
            if_modified_since: timefmt::parse_http_date(&date),
            if_unmodified_since: timefmt::parse_iso(&date),
        };
        let _ = c.evaluate(&etag, ms);
        let http = timefmt::http_date(ms);
        let back = timefmt::parse_http_date(&http).map(|t| t.timestamp());
        prop_assert_eq!(back, Some(ms.clamp(0, 253_402_300_799_999) / 1000), "{}", http);
    }

    /// Dates: the ISO form the gateway writes parses back to the same millisecond; any text never panics.
    #[test]
    fn fuzz_dates(ms in -62_135_596_800_000i64..253_402_300_799_999, junk in text(30), s in vec(any::<char>(), 0..40)) {
        let iso = timefmt::iso_ms(ms);
        prop_assert_eq!(timefmt::parse_iso(&iso).map(|t| t.timestamp_millis()), Some(ms), "{}", iso);
        let s: String = s.into_iter().collect();
        for t in [junk.as_str(), s.as_str()] {
            let _ = timefmt::parse_iso(t);
            let _ = timefmt::parse_http_date(t);
            let _ = crate::ids::parse_version_id(t);
            let _ = crate::ids::version_created_ms(t);
        }
    }

    /// Every request document: hostile text is refused with an S3 error, never a panic.
    #[test]
    fn fuzz_documents_refuse_garbage((_, _, _, _, doc) in request()) {
        let check = |r: Result<(), super::error::S3Error>| match r {
            Ok(()) => Ok(()),
            Err(e) if client_error(&e) => Ok(()),
            Err(e) => Err(TestCaseError::fail(format!("{e:?}"))),
        };
        check(docs::retention(&doc).map(drop))?;
        check(docs::legal_hold(&doc).map(drop))?;
        check(docs::delete(&doc).map(drop))?;
        check(docs::versioning(&doc).map(drop))?;
        check(docs::lock_configuration(&doc).map(drop))?;
        check(docs::tagging(&doc).map(drop))?;
        check(docs::complete_multipart(&doc).map(drop))?;
        check(docs::create_bucket(&doc).map(drop))?;
        check(docs::public_access_block(&doc).map(drop))?;
        check(docs::ownership_controls(&doc).map(drop))?;
        let _ = docs::acl_is_owner_only(&doc);
        if let Ok(c) = lifecycle::parse(&doc) {
            prop_assert_eq!(lifecycle::parse(&lifecycle::render(&c)).ok(), Some(c));
        }
    }

    /// The documents the gateway writes (GetObjectTagging, GetObjectRetention, GetObjectLegalHold)
    /// parse back with the request parsers to the same value.
    #[test]
    fn fuzz_documents_round_trip(tags in vec((tag_text(1, 20), tag_text(0, 40)), 0..10),
                                 ms in 0i64..253_402_300_799_999, hold in any::<bool>()) {
        let tags: BTreeMap<String, String> = tags.into_iter().filter(|(k, _)| !k.is_empty()).collect();
        let doc = TaggingOut {
            xmlns: NS,
            tag_set: TagSetOut { tags: tags.iter().map(|(k, v)| TagOut { key: k.clone(), value: v.clone() }).collect() },
        };
        let text = xml::to_xml("Tagging", &doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(docs::tagging(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?, tags.clone());

        let doc = RetentionOut { xmlns: NS, mode: "COMPLIANCE", retain_until_date: timefmt::iso_ms(ms) };
        let text = xml::to_xml("Retention", &doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let r = docs::retention(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert_eq!(r.mode, Some(RequestedMode::Compliance));
        prop_assert_eq!(r.retain_until.map(|t| t.timestamp_millis()), Some(ms));

        let doc = LegalHoldOut { xmlns: NS, status: if hold { "ON" } else { "OFF" } };
        let text = xml::to_xml("LegalHold", &doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(docs::legal_hold(&text).map_err(|e| TestCaseError::fail(e.to_string()))?, hold);

        // The same tags hand-written, with entities and whitespace around the markup.
        let mut hand = String::new();
        for (k, v) in &tags {
            let _ = writeln!(hand, " <Tag> <Key>{}</Key><Value>{}</Value> </Tag>", xml_text(k), xml_text(v));
        }
        let text = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Tagging xmlns=\"{NS}\"><TagSet>{hand}</TagSet></Tagging>");
        prop_assert_eq!(docs::tagging(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?, tags);
    }

    /// The bucket documents the gateway writes (GetObjectLockConfiguration, GetBucketVersioning) parse
    /// back to the same setting.
    #[test]
    fn fuzz_bucket_documents_round_trip(n in 1u32..=36_500, years in any::<bool>()) {
        let (days, yrs) = if years { (None, Some(n)) } else { (Some(n), None) };
        let doc = ObjectLockConfigurationOut {
            xmlns: NS,
            enabled: "Enabled",
            rule: RuleOut { default_retention: DefaultRetentionOut { mode: "COMPLIANCE", days, years: yrs } },
        };
        let text = xml::to_xml("ObjectLockConfiguration", &doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got = docs::lock_configuration(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert_eq!(got.mode, Some(RequestedMode::Compliance));
        prop_assert_eq!(got.period, Some(if years { DefaultRetention::Years(n) } else { DefaultRetention::Days(n) }));
        let doc = VersioningConfigurationOut { xmlns: NS, status: "Enabled" };
        let text = xml::to_xml("VersioningConfiguration", &doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(docs::versioning(&text).map_err(|e| TestCaseError::fail(e.to_string()))?);
    }

    /// Header-borne values: `x-amz-tagging` (a query string) reads back what was encoded, and any
    /// text in it or in `x-amz-copy-source` is an S3 error at worst.
    #[test]
    fn fuzz_header_values(tags in vec((tag_text(1, 12), tag_text(0, 12)), 0..10), junk in text(40)) {
        let tags: Vec<(String, String)> = tags.into_iter().filter(|(k, _)| !k.is_empty()).collect();
        let mut unique = tags.clone();
        unique.sort();
        unique.dedup_by(|a, b| a.0 == b.0);
        let encoded: Vec<String> = tags.iter()
            .map(|(k, v)| format!("{}={}", uri_encode(k.as_bytes(), false), uri_encode(v.as_bytes(), false)))
            .collect();
        match parse_tag_query(&encoded.join("&")) {
            Ok(got) => prop_assert_eq!(got, tags),
            Err(e) => prop_assert!(unique.len() < tags.len() && e.code == S3Code::InvalidTag, "{:?}", e),
        }
        for t in [junk.as_str(), &format!("/{junk}"), &format!("b/{junk}?versionId={junk}")] {
            if let Err(e) = parse_tag_query(t) {
                prop_assert!(client_error(&e), "{e:?}");
            }
            if let Err(e) = copy_source(t) {
                prop_assert!(client_error(&e), "{e:?}");
            }
        }
    }

    /// Digest headers: the right `Content-MD5` and `x-amz-checksum-*` of a body verify, a wrong checksum
    /// is `BadDigest`; hostile digest headers are refused with a client error, and whatever they ask
    /// for is then checked without an internal error.
    #[test]
    fn fuzz_digest_headers(
        data in vec(any::<u8>(), 0..256), alg in select(&ChecksumAlgorithm::ALL[..]), md5 in any::<bool>(),
        wrong in any::<bool>(), chunked in any::<bool>(),
        junk in vec((select(&["content-md5", "x-amz-checksum-crc32", "x-amz-checksum-sha256", "x-amz-checksum-crc64nvme",
            "x-amz-sdk-checksum-algorithm", "x-amz-trailer", "x-amz-decoded-content-length", "content-length",
            "x-amz-checksum-type"][..]),
            tokens(&["CRC32", "crc32c", "SHA1", "x-amz-checksum-crc32", "AAAA", "AAAAAA==", "=", "1B2M2Y8AsgTpgAmY7PhCfg==",
                "0", "18446744073709551616", ",", " ", "COMPOSITE", "é"], 4)), 0..4),
    ) {
        let mut d = IngestDigests::new(Some(alg));
        d.update(&data);
        let computed = d.finish();
        let mut other = IngestDigests::new(Some(alg));
        other.update(&data);
        other.update(b"!");
        let value = if wrong { other.finish().checksum } else { computed.checksum.clone() };
        let mut h = HeaderMap::new();
        if md5 {
            h.insert("content-md5", http::HeaderValue::from_str(&b64(&computed.md5)).map_err(|e| TestCaseError::fail(e.to_string()))?);
        }
        if let Some((_, v)) = value {
            h.insert(alg.header_name(), http::HeaderValue::from_str(&v).map_err(|e| TestCaseError::fail(e.to_string()))?);
        }
        let exp = ExpectedDigests::from_headers(&h, SignedBody::default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        match exp.verify(&computed, &[]) {
            Ok(()) => prop_assert!(!wrong),
            Err(e) => prop_assert!(wrong && S3Error::from(e.clone()).code == S3Code::BadDigest, "{:?}", e),
        }

        let mut h = HeaderMap::new();
        for (n, v) in &junk {
            if let Ok(v) = http::HeaderValue::from_str(v) {
                h.append(*n, v);
            }
        }
        let signed = SignedBody { sha256_hex: None, aws_chunked: chunked };
        match ExpectedDigests::from_headers(&h, signed) {
            Ok(exp) => {
                let mut d = IngestDigests::new(exp.algorithm());
                d.update(&data);
                let trailers: Vec<(String, String)> = junk.iter().map(|(n, v)| ((*n).to_string(), v.clone())).collect();
                if let Err(e) = exp.verify(&d.finish(), &trailers) {
                    prop_assert!(client_error(&S3Error::from(e.clone())), "{:?} {:?}", exp, e);
                }
            }
            Err(e) => prop_assert!(client_error(&S3Error::from(e.clone())), "{:?}", e),
        }
    }

    /// Lifecycle: a configuration the gateway accepted renders (GetBucketLifecycleConfiguration) to a
    /// document that parses back to the same configuration.
    #[test]
    fn fuzz_lifecycle_round_trip(rules in vec(lifecycle_rule(), 1..4)) {
        let cfg = LifecycleConfiguration { rules };
        let text = lifecycle::render(&cfg);
        match lifecycle::parse(&text) {
            Ok(parsed) => {
                let again = lifecycle::render(&parsed);
                prop_assert_eq!(lifecycle::parse(&again).ok(), Some(parsed.clone()), "{}", again);
                prop_assert_eq!(again, lifecycle::render(&parsed));
            }
            Err(e) => prop_assert!(client_error(&e), "{e:?}"),
        }
    }
}
