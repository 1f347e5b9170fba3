//! Listings: `ListObjects` (V1), `ListObjectsV2` and `ListObjectVersions`.

use crate::common::*;
use aws_sdk_s3::types::EncodingType;
use aws_sdk_s3::Client;
use std::fmt::Write as _;

/// Keys in UTF-8 byte order (what S3 listings use).
const KEYS: [&str; 9] = ["a/1", "a/2", "a/b/3", "b/1", "c", "d d", "e+f", "z", "ü/x"];

async fn fill(c: &Client, b: &str) {
    make_bucket(c, b).await;
    // Put in scrambled order so the listing order is the catalog's, not insertion order.
    for k in KEYS.iter().rev() {
        ok(
            c.put_object()
                .bucket(b)
                .key(*k)
                .body(k.as_bytes().to_vec().into())
                .send()
                .await,
            "PutObject",
        );
    }
}

/// Decode an `encoding-type=url` value the way botocore does (`unquote_plus`).
fn url_decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .expect("utf-8")
        .into_owned()
}

#[tokio::test]
async fn list_v2_prefix_delimiter_and_paging() {
    let srv = Server::start();
    let c = srv.admin();
    fill(&c, "lst").await;

    let all = ok(c.list_objects_v2().bucket("lst").send().await, "ListObjectsV2");
    let keys: Vec<&str> = all.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, KEYS.to_vec());
    assert_eq!(all.key_count(), Some(KEYS.len() as i32));
    assert_eq!(all.is_truncated(), Some(false));
    for o in all.contents() {
        let k = o.key().unwrap();
        assert_eq!(o.size(), Some(k.len() as i64));
        assert_eq!(
            o.e_tag().map(str::to_string),
            Some(format!("\"{}\"", md5_hex(k.as_bytes())))
        );
        assert!(o.last_modified().is_some());
        assert!(o.owner().is_none(), "V2 shows the owner only with fetch-owner=true");
    }

    let p = ok(c.list_objects_v2().bucket("lst").prefix("a/").send().await, "prefix a/");
    let keys: Vec<&str> = p.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, vec!["a/1", "a/2", "a/b/3"]);
    assert_eq!(p.prefix(), Some("a/"));

    let d = ok(
        c.list_objects_v2().bucket("lst").delimiter("/").send().await,
        "delimiter /",
    );
    let keys: Vec<&str> = d.contents().iter().filter_map(|o| o.key()).collect();
    let cps: Vec<&str> = d.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(keys, vec!["c", "d d", "e+f", "z"]);
    assert_eq!(cps, vec!["a/", "b/", "ü/"]);
    assert_eq!(d.delimiter(), Some("/"));
    assert_eq!(d.key_count(), Some(7));

    let pd = ok(
        c.list_objects_v2()
            .bucket("lst")
            .prefix("a/")
            .delimiter("/")
            .send()
            .await,
        "prefix+delimiter",
    );
    let keys: Vec<&str> = pd.contents().iter().filter_map(|o| o.key()).collect();
    let cps: Vec<&str> = pd.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(keys, vec!["a/1", "a/2"]);
    assert_eq!(cps, vec!["a/b/"]);

    // Paging, with and without a delimiter, for several page sizes.
    for delimiter in [None, Some("/")] {
        for max in [1, 2, 3, 4, 1000] {
            let mut token: Option<String> = None;
            let mut seen = Vec::new();
            let mut pages = 0;
            loop {
                let mut req = c.list_objects_v2().bucket("lst").max_keys(max);
                if let Some(d) = delimiter {
                    req = req.delimiter(d);
                }
                if let Some(t) = &token {
                    req = req.continuation_token(t);
                }
                let out = ok(req.send().await, "ListObjectsV2 page");
                pages += 1;
                let n = out.contents().len() + out.common_prefixes().len();
                assert!(n <= max as usize, "page holds {n} > max-keys {max}");
                assert_eq!(out.key_count(), Some(n as i32));
                assert_eq!(out.continuation_token().map(str::to_string), token);
                // Keys and prefixes interleaved in order.
                let mut page: Vec<String> = out
                    .contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string))
                    .chain(
                        out.common_prefixes()
                            .iter()
                            .filter_map(|p| p.prefix().map(str::to_string)),
                    )
                    .collect();
                page.sort();
                seen.extend(page);
                if out.is_truncated() == Some(true) {
                    token = Some(
                        out.next_continuation_token()
                            .expect("next token when truncated")
                            .to_string(),
                    );
                } else {
                    assert!(out.next_continuation_token().is_none());
                    break;
                }
                assert!(pages < 50, "paging does not end");
            }
            let expected: Vec<&str> = match delimiter {
                None => KEYS.to_vec(),
                Some(_) => vec!["a/", "b/", "c", "d d", "e+f", "z", "ü/"],
            };
            assert_eq!(seen, expected, "delimiter {delimiter:?} max-keys {max}");
        }
    }

    // start-after.
    let s = ok(
        c.list_objects_v2().bucket("lst").start_after("b/1").send().await,
        "start-after",
    );
    let keys: Vec<&str> = s.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, vec!["c", "d d", "e+f", "z", "ü/x"]);
    assert_eq!(s.start_after(), Some("b/1"));
    // fetch-owner.
    let f = ok(
        c.list_objects_v2()
            .bucket("lst")
            .fetch_owner(true)
            .max_keys(2)
            .send()
            .await,
        "fetch-owner",
    );
    assert!(
        f.contents().iter().all(|o| o.owner().is_some()),
        "owner with fetch-owner=true"
    );

    // max-keys=0 and an unknown prefix.
    let z = ok(
        c.list_objects_v2().bucket("lst").prefix("nothing-here").send().await,
        "unknown prefix",
    );
    assert!(z.contents().is_empty() && z.common_prefixes().is_empty());
    assert_eq!(z.key_count(), Some(0));
    // A garbage continuation token is refused.
    expect_err(
        c.list_objects_v2()
            .bucket("lst")
            .continuation_token("%%%not-a-token")
            .send()
            .await,
        400,
        "InvalidArgument",
    );
    expect_err(
        c.list_objects_v2().bucket("lst").max_keys(-1).send().await,
        400,
        "InvalidArgument",
    );
}

#[tokio::test]
async fn list_v2_encoding_type_url() {
    let srv = Server::start();
    let c = srv.admin();
    fill(&c, "enc").await;
    let out = ok(
        c.list_objects_v2()
            .bucket("enc")
            .encoding_type(EncodingType::Url)
            .send()
            .await,
        "encoded",
    );
    assert_eq!(out.encoding_type(), Some(&EncodingType::Url));
    let raw: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let decoded: Vec<String> = raw.iter().map(|k| url_decode(k)).collect();
    assert_eq!(
        decoded,
        KEYS.iter().map(std::string::ToString::to_string).collect::<Vec<_>>(),
        "raw keys: {raw:?}"
    );
    assert!(raw.iter().all(|k| !k.contains(' ')), "spaces are encoded: {raw:?}");
    assert!(raw.contains(&"e%2Bf"), "+ is encoded as %2B: {raw:?}");
    assert!(raw.iter().all(|k| k.is_ascii()), "non-ASCII is encoded: {raw:?}");
    // Common prefixes and the delimiter are encoded too; paging with encoded output still works.
    let out = ok(
        c.list_objects_v2()
            .bucket("enc")
            .encoding_type(EncodingType::Url)
            .delimiter("/")
            .max_keys(6)
            .send()
            .await,
        "encoded with delimiter",
    );
    let cps: Vec<String> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .map(url_decode)
        .collect();
    assert_eq!(cps, vec!["a/", "b/"]);
    let keys: Vec<String> = out.contents().iter().filter_map(|o| o.key()).map(url_decode).collect();
    assert_eq!(keys, vec!["c", "d d", "e+f", "z"]);
    let next = out.next_continuation_token().expect("truncated").to_string();
    let out2 = ok(
        c.list_objects_v2()
            .bucket("enc")
            .encoding_type(EncodingType::Url)
            .delimiter("/")
            .continuation_token(next)
            .send()
            .await,
        "encoded page 2",
    );
    let cps: Vec<String> = out2
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .map(url_decode)
        .collect();
    assert_eq!(cps, vec!["ü/"]);
    // Prefix with special characters in the request, encoded in the response.
    let out = ok(
        c.list_objects_v2()
            .bucket("enc")
            .prefix("d d")
            .encoding_type(EncodingType::Url)
            .send()
            .await,
        "encoded prefix",
    );
    assert_eq!(out.prefix().map(url_decode).as_deref(), Some("d d"));
    assert_eq!(out.contents().len(), 1);
    // An unknown encoding type is refused.
    expect_err(
        c.list_objects_v2()
            .bucket("enc")
            .encoding_type(EncodingType::from("base64"))
            .send()
            .await,
        400,
        "InvalidArgument",
    );
}

#[tokio::test]
async fn list_v1_markers_and_encoding() {
    let srv = Server::start();
    let c = srv.admin();
    fill(&c, "lst-v1").await;
    let all = ok(c.list_objects().bucket("lst-v1").send().await, "ListObjects");
    let keys: Vec<&str> = all.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, KEYS.to_vec());
    assert!(
        all.contents().iter().all(|o| o.owner().is_some()),
        "V1 always shows the owner"
    );
    assert_eq!(all.is_truncated(), Some(false));

    // Paging without a delimiter: no NextMarker, the client continues from the last key.
    let mut marker: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let mut req = c.list_objects().bucket("lst-v1").max_keys(4);
        if let Some(m) = &marker {
            req = req.marker(m);
        }
        let out = ok(req.send().await, "ListObjects page");
        assert_eq!(out.marker().unwrap_or(""), marker.as_deref().unwrap_or(""));
        let page: Vec<String> = out
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        assert!(page.len() <= 4);
        seen.extend(page.clone());
        if out.is_truncated() == Some(true) {
            marker = Some(
                out.next_marker()
                    .map_or_else(|| page.last().unwrap().clone(), str::to_string),
            );
        } else {
            break;
        }
    }
    assert_eq!(seen, KEYS.to_vec());

    // With a delimiter: NextMarker is given when truncated.
    let out = ok(
        c.list_objects()
            .bucket("lst-v1")
            .delimiter("/")
            .max_keys(3)
            .send()
            .await,
        "V1 delimiter page 1",
    );
    assert_eq!(out.is_truncated(), Some(true));
    let cps: Vec<&str> = out.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(cps, vec!["a/", "b/"]);
    assert_eq!(keys, vec!["c"]);
    let next = out.next_marker().expect("NextMarker with a delimiter").to_string();
    let out = ok(
        c.list_objects()
            .bucket("lst-v1")
            .delimiter("/")
            .marker(&next)
            .send()
            .await,
        "V1 delimiter page 2",
    );
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let cps: Vec<&str> = out.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(keys, vec!["d d", "e+f", "z"]);
    assert_eq!(cps, vec!["ü/"]);
    assert_eq!(out.is_truncated(), Some(false));

    // A marker that is a common prefix skips everything under it.
    let out = ok(
        c.list_objects()
            .bucket("lst-v1")
            .delimiter("/")
            .marker("a/")
            .send()
            .await,
        "marker a/",
    );
    let cps: Vec<&str> = out.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(cps, vec!["b/", "ü/"]);

    // encoding-type=url in V1.
    let out = ok(
        c.list_objects()
            .bucket("lst-v1")
            .encoding_type(EncodingType::Url)
            .send()
            .await,
        "V1 encoded",
    );
    let decoded: Vec<String> = out.contents().iter().filter_map(|o| o.key()).map(url_decode).collect();
    assert_eq!(
        decoded,
        KEYS.iter().map(std::string::ToString::to_string).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn listings_hide_deleted_keys_but_not_versions() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "hide").await;
    for k in ["gone", "kept", "revived"] {
        ok(
            c.put_object()
                .bucket("hide")
                .key(k)
                .body(b"1".to_vec().into())
                .send()
                .await,
            "PUT",
        );
    }
    ok(c.delete_object().bucket("hide").key("gone").send().await, "delete gone");
    ok(
        c.delete_object().bucket("hide").key("revived").send().await,
        "delete revived",
    );
    ok(
        c.put_object()
            .bucket("hide")
            .key("revived")
            .body(b"2".to_vec().into())
            .send()
            .await,
        "PUT revived",
    );
    let v2 = ok(c.list_objects_v2().bucket("hide").send().await, "V2");
    let keys: Vec<&str> = v2.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, vec!["kept", "revived"]);
    assert_eq!(v2.contents()[1].size(), Some(1));
    assert_eq!(
        v2.contents()[1].e_tag().map(str::to_string),
        Some(format!("\"{}\"", md5_hex(b"2")))
    );
    let v1 = ok(c.list_objects().bucket("hide").send().await, "V1");
    let keys: Vec<&str> = v1.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, vec!["kept", "revived"]);
    // Paging over a deleted key in the middle still returns everything.
    let p1 = ok(c.list_objects_v2().bucket("hide").max_keys(1).send().await, "page 1");
    assert_eq!(p1.contents()[0].key(), Some("kept"));
    let p2 = ok(
        c.list_objects_v2()
            .bucket("hide")
            .max_keys(1)
            .continuation_token(p1.next_continuation_token().unwrap())
            .send()
            .await,
        "page 2",
    );
    assert_eq!(p2.contents()[0].key(), Some("revived"));
    let v = ok(c.list_object_versions().bucket("hide").send().await, "versions");
    assert_eq!(v.versions().len(), 4);
    assert_eq!(v.delete_markers().len(), 2);
}

/// (kind, key, version id, is latest) of every entry of a raw `ListVersionsResult`, in document order.
fn raw_entries(xml: &str) -> Vec<(String, String, String, bool)> {
    let mut out = Vec::new();
    let mut rest = xml;
    loop {
        let v = rest.find("<Version>");
        let d = rest.find("<DeleteMarker>");
        let (start, kind, close) = match (v, d) {
            (None, None) => break,
            (Some(a), Some(b)) if b < a => (b, "DeleteMarker", "</DeleteMarker>"),
            (None, Some(b)) => (b, "DeleteMarker", "</DeleteMarker>"),
            (Some(a), _) => (a, "Version", "</Version>"),
        };
        let end = rest[start..].find(close).unwrap() + start;
        let elem = &rest[start..end];
        let field = |name: &str| -> String {
            let o = format!("<{name}>");
            let c = format!("</{name}>");
            elem.find(&o)
                .map(|s| elem[s + o.len()..elem.find(&c).unwrap()].to_string())
                .unwrap_or_default()
        };
        out.push((
            kind.to_string(),
            field("Key"),
            field("VersionId"),
            field("IsLatest") == "true",
        ));
        rest = &rest[end..];
    }
    out
}

#[tokio::test]
async fn list_object_versions_order_paging_and_markers() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "vers").await;
    let put = |k: &'static str, body: &'static str| {
        let c = c.clone();
        async move {
            ok(
                c.put_object()
                    .bucket("vers")
                    .key(k)
                    .body(body.as_bytes().to_vec().into())
                    .send()
                    .await,
                "PUT",
            )
            .version_id()
            .unwrap()
            .to_string()
        }
    };
    let del = |k: &'static str| {
        let c = c.clone();
        async move {
            ok(c.delete_object().bucket("vers").key(k).send().await, "DELETE")
                .version_id()
                .unwrap()
                .to_string()
        }
    };
    let k1a = put("k1", "1a").await;
    let k2a = put("k2", "2a").await;
    let k1b = put("k1", "1b").await;
    let k2m = del("k2").await;
    let k1c = put("k1", "1c").await;
    let k2b = put("k2", "2b").await;
    let k3m = del("k3").await;
    let dx = put("dir/x", "x").await;
    let dy = put("dir/sub/y", "y").await;

    let expected: Vec<(String, String, String, bool)> = vec![
        ("Version".into(), "dir/sub/y".into(), dy.clone(), true),
        ("Version".into(), "dir/x".into(), dx.clone(), true),
        ("Version".into(), "k1".into(), k1c.clone(), true),
        ("Version".into(), "k1".into(), k1b.clone(), false),
        ("Version".into(), "k1".into(), k1a.clone(), false),
        ("Version".into(), "k2".into(), k2b.clone(), true),
        ("DeleteMarker".into(), "k2".into(), k2m.clone(), false),
        ("Version".into(), "k2".into(), k2a.clone(), false),
        ("DeleteMarker".into(), "k3".into(), k3m.clone(), true),
    ];

    // Raw document: versions and markers interleaved newest → oldest within each key.
    let r = signed_raw(srv.addr, ADMIN, "GET", "/vers?versions", &[], &sha256_hex(b""), b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(raw_entries(&r.text()), expected, "{}", r.text());

    // SDK view.
    let all = ok(
        c.list_object_versions().bucket("vers").send().await,
        "ListObjectVersions",
    );
    assert_eq!(all.is_truncated(), Some(false));
    assert_eq!(all.versions().len(), 7);
    assert_eq!(all.delete_markers().len(), 2);
    for v in all.versions() {
        let k = v.key().unwrap();
        let body = match v.version_id().unwrap() {
            id if id == k1a => "1a",
            id if id == k1b => "1b",
            id if id == k1c => "1c",
            id if id == k2a => "2a",
            id if id == k2b => "2b",
            id if id == dx => "x",
            id if id == dy => "y",
            id => panic!("unexpected version {id} of {k}"),
        };
        assert_eq!(v.size(), Some(body.len() as i64));
        assert_eq!(
            v.e_tag().map(str::to_string),
            Some(format!("\"{}\"", md5_hex(body.as_bytes())))
        );
        assert!(v.last_modified().is_some());
    }

    // Paging with max-keys 1, 2, 3: key-marker / version-id-marker; pages concatenate to the full order.
    for max in [1, 2, 3] {
        let mut key_marker: Option<String> = None;
        let mut vid_marker: Option<String> = None;
        let mut seen: Vec<(String, String, String, bool)> = Vec::new();
        for _ in 0..50 {
            let mut target = format!("/vers?versions&max-keys={max}");
            if let Some(k) = &key_marker {
                let _ = write!(
                    target,
                    "&key-marker={}",
                    percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC)
                );
            }
            if let Some(v) = &vid_marker {
                let _ = write!(target, "&version-id-marker={v}");
            }
            let r = signed_raw(srv.addr, ADMIN, "GET", &target, &[], &sha256_hex(b""), b"");
            assert_eq!(r.status, 200, "{target}: {}", r.text());
            let page = raw_entries(&r.text());
            assert!(page.len() <= max, "{target}");
            seen.extend(page);
            // Cross-check the same page through the SDK.
            let mut req = c.list_object_versions().bucket("vers").max_keys(max as i32);
            if let Some(k) = &key_marker {
                req = req.key_marker(k);
            }
            if let Some(v) = &vid_marker {
                req = req.version_id_marker(v);
            }
            let out = ok(req.send().await, "ListObjectVersions page");
            if out.is_truncated() == Some(true) {
                key_marker = Some(out.next_key_marker().expect("NextKeyMarker").to_string());
                vid_marker = out.next_version_id_marker().map(str::to_string);
            } else {
                assert!(out.next_key_marker().is_none());
                break;
            }
        }
        assert_eq!(seen, expected, "max-keys {max}");
    }

    // Prefix.
    let p = ok(
        c.list_object_versions().bucket("vers").prefix("k2").send().await,
        "prefix k2",
    );
    let ids: Vec<&str> = p.versions().iter().filter_map(|v| v.version_id()).collect();
    assert_eq!(ids, vec![k2b.as_str(), k2a.as_str()]);
    assert_eq!(p.delete_markers().len(), 1);
    assert_eq!(p.delete_markers()[0].version_id(), Some(k2m.as_str()));
    assert_eq!(p.delete_markers()[0].is_latest(), Some(false));

    // Delimiter: dir/ collapses into a common prefix.
    let d = ok(
        c.list_object_versions().bucket("vers").delimiter("/").send().await,
        "delimiter",
    );
    let cps: Vec<&str> = d.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(cps, vec!["dir/"]);
    assert!(d.versions().iter().all(|v| !v.key().unwrap().starts_with("dir/")));
    assert_eq!(d.versions().len(), 5);
    let d = ok(
        c.list_object_versions()
            .bucket("vers")
            .prefix("dir/")
            .delimiter("/")
            .send()
            .await,
        "dir/ + delimiter",
    );
    let cps: Vec<&str> = d.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(cps, vec!["dir/sub/"]);
    let keys: Vec<&str> = d.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(keys, vec!["dir/x"]);

    // key-marker alone starts after that key (all of its versions).
    let km = ok(
        c.list_object_versions().bucket("vers").key_marker("k1").send().await,
        "key-marker k1",
    );
    let keys: Vec<&str> = km.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(keys, vec!["k2", "k2"]);
    // key-marker + version-id-marker continue after that version.
    let km = ok(
        c.list_object_versions()
            .bucket("vers")
            .key_marker("k1")
            .version_id_marker(&k1c)
            .send()
            .await,
        "after k1c",
    );
    let ids: Vec<&str> = km.versions().iter().filter_map(|v| v.version_id()).collect();
    assert_eq!(&ids[..2], &[k1b.as_str(), k1a.as_str()]);
    // version-id-marker without key-marker, or malformed: refused.
    let r = signed_raw(
        srv.addr,
        ADMIN,
        "GET",
        &format!("/vers?versions&version-id-marker={k1c}"),
        &[],
        &sha256_hex(b""),
        b"",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.code().as_deref(), Some("InvalidArgument"));
    expect_err(
        c.list_object_versions()
            .bucket("vers")
            .key_marker("k1")
            .version_id_marker("bogus")
            .send()
            .await,
        400,
        "InvalidArgument",
    );
}

#[tokio::test]
async fn list_object_versions_encoding() {
    let srv = Server::start();
    let c = srv.admin();
    fill(&c, "venc").await;
    let out = ok(
        c.list_object_versions()
            .bucket("venc")
            .encoding_type(EncodingType::Url)
            .send()
            .await,
        "versions encoded",
    );
    let decoded: Vec<String> = out.versions().iter().filter_map(|v| v.key()).map(url_decode).collect();
    assert_eq!(
        decoded,
        KEYS.iter().map(std::string::ToString::to_string).collect::<Vec<_>>()
    );
    assert!(out
        .versions()
        .iter()
        .all(|v| v.key().unwrap().is_ascii() && !v.key().unwrap().contains(' ')));
}

#[tokio::test]
async fn other_delimiters() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "delims").await;
    for k in ["x--1", "x--2--a", "x-3", "y", "z--"] {
        ok(
            c.put_object()
                .bucket("delims")
                .key(k)
                .body(b"d".to_vec().into())
                .send()
                .await,
            "PUT",
        );
    }
    let out = ok(
        c.list_objects_v2().bucket("delims").delimiter("--").send().await,
        "delimiter --",
    );
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let cps: Vec<&str> = out.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(keys, vec!["x-3", "y"]);
    assert_eq!(cps, vec!["x--", "z--"]);
    let out = ok(
        c.list_objects_v2()
            .bucket("delims")
            .prefix("x--")
            .delimiter("--")
            .send()
            .await,
        "prefix x--",
    );
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let cps: Vec<&str> = out.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(keys, vec!["x--1"]);
    assert_eq!(cps, vec!["x--2--"]);
    let out = ok(
        c.list_object_versions().bucket("delims").delimiter("-").send().await,
        "versions delimiter -",
    );
    let cps: Vec<&str> = out.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    let keys: Vec<&str> = out.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(cps, vec!["x-", "z-"]);
    assert_eq!(keys, vec!["y"]);
}
