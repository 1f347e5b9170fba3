"""Listings: ListObjects V1, ListObjectsV2, ListObjectVersions — prefix, delimiter, paging, encoding."""

import urllib.parse

import pytest

import s3h
from s3h import expect_error

aws = pytest.mark.aws
wormgate = pytest.mark.wormgate
gap = pytest.mark.moto_gap

TREE = ["a/1", "a/2", "a/b/3", "a/b/4", "c", "d/5", "e/f/g/6", "top"]


def fill(s3, bucket, keys=TREE):
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())


@aws
def test_v2_basic_and_key_count(s3, bucket):
    fill(s3, bucket)
    r = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in r["Contents"]] == TREE
    assert r["KeyCount"] == len(TREE)
    assert r["IsTruncated"] is False
    for o in r["Contents"]:
        assert o["Size"] == len(o["Key"])
        assert o["ETag"] == f'"{s3h.md5_hex(o["Key"].encode())}"'
        assert o["LastModified"] is not None


@aws
def test_v2_prefix_and_delimiter(s3, bucket):
    fill(s3, bucket)
    r = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["c", "top"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/", "d/", "e/"]
    assert r["KeyCount"] == 5
    r = s3.list_objects_v2(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/b/"]
    assert r["Prefix"] == "a/"
    r = s3.list_objects_v2(Bucket=bucket, Prefix="a/b")
    assert [o["Key"] for o in r["Contents"]] == ["a/b/3", "a/b/4"]
    r = s3.list_objects_v2(Bucket=bucket, Prefix="zzz")
    assert r.get("Contents", []) == [] and r["KeyCount"] == 0


@aws
def test_v2_non_slash_delimiter(s3, bucket):
    fill(s3, bucket, ["x-1-a", "x-1-b", "x-2", "y"])
    r = s3.list_objects_v2(Bucket=bucket, Delimiter="-", Prefix="x-")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["x-1-"]
    # x-2 has no further delimiter after the prefix, so it is a key, not a prefix
    assert [o["Key"] for o in r.get("Contents", [])] == ["x-2"]


@aws
def test_v2_paging_with_continuation_token(s3, bucket):
    fill(s3, bucket)
    seen, token, pages = [], None, 0
    while True:
        kw = {"Bucket": bucket, "MaxKeys": 3}
        if token:
            kw["ContinuationToken"] = token
        r = s3.list_objects_v2(**kw)
        pages += 1
        assert r["MaxKeys"] == 3
        assert r["KeyCount"] == len(r.get("Contents", []))
        seen += [o["Key"] for o in r.get("Contents", [])]
        if not r["IsTruncated"]:
            assert "NextContinuationToken" not in r
            break
        token = r["NextContinuationToken"]
        assert token
    assert seen == TREE
    assert pages == 3


@aws
def test_v2_paging_counts_common_prefixes(s3, bucket):
    fill(s3, bucket)
    seen, token = [], None
    while True:
        kw = {"Bucket": bucket, "MaxKeys": 2, "Delimiter": "/"}
        if token:
            kw["ContinuationToken"] = token
        r = s3.list_objects_v2(**kw)
        assert len(r.get("Contents", [])) + len(r.get("CommonPrefixes", [])) <= 2
        seen += [o["Key"] for o in r.get("Contents", [])] + [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        if not r["IsTruncated"]:
            break
        token = r["NextContinuationToken"]
    assert sorted(seen) == ["a/", "c", "d/", "e/", "top"]


@aws
def test_v2_start_after(s3, bucket):
    fill(s3, bucket)
    r = s3.list_objects_v2(Bucket=bucket, StartAfter="a/b/3")
    assert [o["Key"] for o in r["Contents"]] == ["a/b/4", "c", "d/5", "e/f/g/6", "top"]
    assert r["StartAfter"] == "a/b/3"


@aws
def test_v2_fetch_owner(s3, bucket):
    fill(s3, bucket, ["k"])
    r = s3.list_objects_v2(Bucket=bucket, FetchOwner=True)
    assert r["Contents"][0]["Owner"]["ID"]
    r = s3.list_objects_v2(Bucket=bucket)
    assert "Owner" not in r["Contents"][0]


@aws
def test_v2_max_keys_zero(s3, bucket):
    fill(s3, bucket, ["k"])
    r = s3.list_objects_v2(Bucket=bucket, MaxKeys=0)
    assert r.get("Contents", []) == []


ODD = ["sp ace", "plus+", "pct%41", "amp&", "ctrl\x01char", "unicode-ä", "lt<gt>", "q?x"]


@aws
def test_v2_explicit_url_encoding(s3, bucket):
    fill(s3, bucket, ODD)
    r = s3.list_objects_v2(Bucket=bucket, EncodingType="url")
    assert r["EncodingType"] == "url"
    raw = [o["Key"] for o in r["Contents"]]
    # boto3 leaves the keys encoded when the caller asked for the encoding itself; its own decoder
    # (used when it asks) is unquote_plus, so a literal '+' must arrive as %2B
    assert sorted(urllib.parse.unquote_plus(k) for k in raw) == sorted(ODD)
    assert "ctrl\x01char" not in raw
    assert "sp ace" not in raw


@aws
def test_v2_keys_survive_automatic_encoding(s3, bucket):
    # boto3 asks for encoding-type=url by itself and decodes the answer
    fill(s3, bucket, ODD)
    r = s3.list_objects_v2(Bucket=bucket)
    assert sorted(o["Key"] for o in r["Contents"]) == sorted(ODD)
    r = s3.list_objects(Bucket=bucket)
    assert sorted(o["Key"] for o in r["Contents"]) == sorted(ODD)


@aws
@gap("moto answers 500 to ListObjectVersions over keys with control characters")
def test_versions_keys_survive_automatic_encoding(s3, bucket):
    fill(s3, bucket, ODD)
    vs, _ = s3h.all_versions(s3, bucket)
    assert sorted(v["Key"] for v in vs) == sorted(ODD)


@aws
def test_v2_prefix_with_encoding_and_delimiter(s3, bucket):
    fill(s3, bucket, ["dir one/a", "dir one/sub dir/b", "dir two/c"])
    r = s3.list_objects_v2(Bucket=bucket, Prefix="dir one/", Delimiter="/")
    assert r["Prefix"] == "dir one/"
    assert [o["Key"] for o in r["Contents"]] == ["dir one/a"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["dir one/sub dir/"]


@aws
def test_lists_show_only_current_non_deleted(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"1")
    s3.put_object(Bucket=bucket, Key="a", Body=b"22")
    s3.put_object(Bucket=bucket, Key="b", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="b")
    r = s3.list_objects_v2(Bucket=bucket)
    assert [(o["Key"], o["Size"]) for o in r["Contents"]] == [("a", 2)]
    r = s3.list_objects(Bucket=bucket)
    assert [(o["Key"], o["Size"]) for o in r["Contents"]] == [("a", 2)]


# --- V1 ----------------------------------------------------------------------------------------


@aws
def test_v1_marker_paging(s3, bucket):
    fill(s3, bucket)
    seen, marker = [], None
    while True:
        kw = {"Bucket": bucket, "MaxKeys": 3}
        if marker:
            kw["Marker"] = marker
        r = s3.list_objects(**kw)
        keys = [o["Key"] for o in r.get("Contents", [])]
        seen += keys
        if not r["IsTruncated"]:
            break
        # without a delimiter NextMarker is optional: the client continues from the last key
        marker = r.get("NextMarker") or keys[-1]
    assert seen == TREE


@aws
@gap("moto does not truncate V1 listings with a delimiter")
def test_v1_delimiter_next_marker(s3, bucket):
    fill(s3, bucket)
    r = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=2)
    assert r["IsTruncated"] is True
    assert r["NextMarker"]
    first = [o["Key"] for o in r.get("Contents", [])] + [p["Prefix"] for p in r.get("CommonPrefixes", [])]
    r2 = s3.list_objects(Bucket=bucket, Delimiter="/", Marker=r["NextMarker"])
    rest = [o["Key"] for o in r2.get("Contents", [])] + [p["Prefix"] for p in r2.get("CommonPrefixes", [])]
    assert sorted(first + rest) == ["a/", "c", "d/", "e/", "top"]


@aws
def test_v1_prefix_delimiter(s3, bucket):
    fill(s3, bucket)
    r = s3.list_objects(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/b/"]


@aws
@gap("moto ignores encoding-type=url on ListObjects V1")
def test_v1_explicit_url_encoding(s3, bucket):
    fill(s3, bucket, ["sp ace/x", "plain"])
    r = s3.list_objects(Bucket=bucket, EncodingType="url", Delimiter="/")
    assert r["EncodingType"] == "url"
    assert [o["Key"] for o in r["Contents"]] == ["plain"]
    assert [urllib.parse.unquote_plus(p["Prefix"]) for p in r["CommonPrefixes"]] == ["sp ace/"]
    assert r["CommonPrefixes"][0]["Prefix"] != "sp ace/"


# --- versions ----------------------------------------------------------------------------------


@aws
def test_versions_order_and_flags(s3, bucket):
    a1 = s3.put_object(Bucket=bucket, Key="a", Body=b"1")["VersionId"]
    a2 = s3.put_object(Bucket=bucket, Key="a", Body=b"22")["VersionId"]
    am = s3.delete_object(Bucket=bucket, Key="a")["VersionId"]
    a3 = s3.put_object(Bucket=bucket, Key="a", Body=b"333")["VersionId"]
    b1 = s3.put_object(Bucket=bucket, Key="b", Body=b"b")["VersionId"]
    bm = s3.delete_object(Bucket=bucket, Key="b")["VersionId"]
    r = s3.list_object_versions(Bucket=bucket)
    vs = [(v["Key"], v["VersionId"], v["IsLatest"], v["Size"]) for v in r["Versions"]]
    assert vs == [("a", a3, True, 3), ("a", a2, False, 2), ("a", a1, False, 1), ("b", b1, False, 1)]
    ms = [(m["Key"], m["VersionId"], m["IsLatest"]) for m in r["DeleteMarkers"]]
    assert ms == [("a", am, False), ("b", bm, True)]
    for v in r["Versions"]:
        assert v["ETag"].startswith('"') and v["LastModified"] is not None
    assert r["IsTruncated"] is False


@aws
def test_versions_paging_with_key_and_version_markers(s3, bucket):
    expected = []
    for k in ["k1", "k2", "k3"]:
        ids = [s3.put_object(Bucket=bucket, Key=k, Body=f"{k}{i}".encode())["VersionId"] for i in range(3)]
        expected += [(k, v) for v in reversed(ids)]
    seen, kw = [], {"Bucket": bucket, "MaxKeys": 2}
    pages = 0
    while True:
        r = s3.list_object_versions(**kw)
        pages += 1
        entries = r.get("Versions", []) + r.get("DeleteMarkers", [])
        assert len(entries) <= 2
        seen += [(v["Key"], v["VersionId"]) for v in r.get("Versions", [])]
        if not r["IsTruncated"]:
            break
        kw["KeyMarker"] = r["NextKeyMarker"]
        kw["VersionIdMarker"] = r["NextVersionIdMarker"]
    assert seen == expected
    assert pages == 5


@aws
def test_versions_prefix_delimiter(s3, bucket):
    fill(s3, bucket)
    r = s3.list_object_versions(Bucket=bucket, Delimiter="/", Prefix="a/")
    assert [v["Key"] for v in r["Versions"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/b/"]
    r = s3.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [v["Key"] for v in r["Versions"]] == ["c", "top"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/", "d/", "e/"]


@aws
def test_versions_key_marker_alone_skips_that_key(s3, bucket):
    fill(s3, bucket, ["k1", "k2", "k3"])
    r = s3.list_object_versions(Bucket=bucket, KeyMarker="k1")
    assert [v["Key"] for v in r["Versions"]] == ["k2", "k3"]


@aws
@gap("moto does not check version-id-marker without key-marker")
def test_version_id_marker_needs_key_marker(s3, bucket):
    v = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    expect_error(s3.list_object_versions, Bucket=bucket, VersionIdMarker=v, status=400, code="InvalidArgument")


@aws
@gap("moto ignores encoding-type=url on ListObjectVersions")
def test_versions_explicit_url_encoding(s3, bucket):
    fill(s3, bucket, ["sp ace", "plain"])
    r = s3.list_object_versions(Bucket=bucket, EncodingType="url")
    assert r["EncodingType"] == "url"
    keys = [v["Key"] for v in r["Versions"]]
    assert "sp ace" not in keys
    assert sorted(urllib.parse.unquote_plus(k) for k in keys) == ["plain", "sp ace"]


@aws
def test_versions_paging_across_delete_markers(s3, bucket):
    expected = []
    for k in ["a", "b", "c"]:
        v1 = s3.put_object(Bucket=bucket, Key=k, Body=b"1")["VersionId"]
        m = s3.delete_object(Bucket=bucket, Key=k)["VersionId"]
        v2 = s3.put_object(Bucket=bucket, Key=k, Body=b"2")["VersionId"]
        expected += [(k, v2, "v"), (k, m, "m"), (k, v1, "v")]
    for page_size in (1, 2, 4):
        seen, kw = [], {"Bucket": bucket, "MaxKeys": page_size}
        while True:
            r = s3.list_object_versions(**kw)
            page = [(v["Key"], v["VersionId"], "v") for v in r.get("Versions", [])] + \
                [(m["Key"], m["VersionId"], "m") for m in r.get("DeleteMarkers", [])]
            assert len(page) <= page_size
            # within a page, order is key, then newest first; versions and markers are separate lists, so
            # merge them back in the order of the full listing
            seen += sorted(page, key=expected.index)
            if not r["IsTruncated"]:
                break
            kw["KeyMarker"] = r["NextKeyMarker"]
            kw["VersionIdMarker"] = r["NextVersionIdMarker"]
        assert seen == expected, f"page size {page_size}"


@aws
def test_v2_paging_skips_deleted_keys(s3, bucket):
    for i in range(6):
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
    for i in (1, 2, 4):
        s3.delete_object(Bucket=bucket, Key=f"k{i}")
    seen, token = [], None
    while True:
        kw = {"Bucket": bucket, "MaxKeys": 1}
        if token:
            kw["ContinuationToken"] = token
        r = s3.list_objects_v2(**kw)
        seen += [o["Key"] for o in r.get("Contents", [])]
        if not r["IsTruncated"]:
            break
        token = r["NextContinuationToken"]
    assert seen == ["k0", "k3", "k5"]


@aws
def test_versions_paging_with_delimiter(s3, bucket):
    for k in ["a/1", "a/2", "b", "c/1", "d", "e/x/1"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"1")
        s3.put_object(Bucket=bucket, Key=k, Body=b"2")
    seen_keys, seen_prefixes, kw = [], [], {"Bucket": bucket, "Delimiter": "/", "MaxKeys": 2}
    while True:
        r = s3.list_object_versions(**kw)
        seen_keys += [v["Key"] for v in r.get("Versions", [])]
        seen_prefixes += [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        if not r["IsTruncated"]:
            break
        kw["KeyMarker"] = r["NextKeyMarker"]
        if r.get("NextVersionIdMarker"):
            kw["VersionIdMarker"] = r["NextVersionIdMarker"]
        else:
            kw.pop("VersionIdMarker", None)
    assert seen_keys == ["b", "b", "d", "d"]
    assert seen_prefixes == ["a/", "c/", "e/"]


@aws
def test_v2_continuation_token_wins_over_start_after(s3, bucket):
    fill(s3, bucket, ["k1", "k2", "k3", "k4"])
    r = s3.list_objects_v2(Bucket=bucket, MaxKeys=1, StartAfter="k1")
    assert [o["Key"] for o in r["Contents"]] == ["k2"]
    r2 = s3.list_objects_v2(Bucket=bucket, MaxKeys=10, StartAfter="k1", ContinuationToken=r["NextContinuationToken"])
    assert [o["Key"] for o in r2["Contents"]] == ["k3", "k4"]


@aws
def test_v1_marker_past_the_end(s3, bucket):
    fill(s3, bucket, ["a", "b"])
    r = s3.list_objects(Bucket=bucket, Marker="zzz")
    assert r.get("Contents", []) == [] and r["IsTruncated"] is False


@aws
def test_v2_url_encoding_of_prefix_and_common_prefixes(s3, bucket):
    fill(s3, bucket, ["sp ace/sub dir/x", "sp ace/y"])
    r = s3.list_objects_v2(Bucket=bucket, Prefix="sp ace/", Delimiter="/", EncodingType="url")
    assert " " not in r["Prefix"] and urllib.parse.unquote_plus(r["Prefix"]) == "sp ace/"
    assert [urllib.parse.unquote_plus(p["Prefix"]) for p in r["CommonPrefixes"]] == ["sp ace/sub dir/"]
    assert [urllib.parse.unquote_plus(o["Key"]) for o in r["Contents"]] == ["sp ace/y"]
    assert all(" " not in p["Prefix"] for p in r["CommonPrefixes"])


@aws
@gap("moto does not cap max-keys at 1000")
def test_max_keys_is_capped_at_1000(s3, bucket):
    from concurrent.futures import ThreadPoolExecutor

    keys = [f"many/{i:05d}" for i in range(1003)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=b"x"), keys))
    r = s3.list_objects_v2(Bucket=bucket, MaxKeys=5000)
    assert len(r["Contents"]) == 1000 and r["IsTruncated"] is True
    r2 = s3.list_objects_v2(Bucket=bucket, ContinuationToken=r["NextContinuationToken"])
    assert [o["Key"] for o in r["Contents"] + r2["Contents"]] == keys
    r = s3.list_objects(Bucket=bucket)
    assert len(r["Contents"]) == 1000 and r["IsTruncated"] is True
    r = s3.list_object_versions(Bucket=bucket)
    assert len(r["Versions"]) == 1000 and r["IsTruncated"] is True


@aws
@gap("moto treats an empty continuation token as none")
def test_v2_empty_continuation_token_is_invalid(s3, bucket):
    # AWS: 400 InvalidArgument "The continuation token provided is incorrect"
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    expect_error(s3.list_objects_v2, Bucket=bucket, ContinuationToken="", status=400, code="InvalidArgument")
