"""Conditional GET/HEAD and Range requests."""

import datetime as dt

import pytest

import s3h
from s3h import expect_error, hdr

aws = pytest.mark.aws
wormgate = pytest.mark.wormgate
gap = pytest.mark.moto_gap

DATA = bytes(range(256)) * 4  # 1024 bytes


@pytest.fixture
def obj(s3, bucket):
    r = s3.put_object(Bucket=bucket, Key="obj", Body=DATA)
    return bucket, "obj", r["ETag"], r["VersionId"]


PAST = dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)


def far_future():
    return s3h.utcnow() + dt.timedelta(days=1)


@aws
def test_if_match(s3, obj):
    b, k, etag, _ = obj
    assert s3.get_object(Bucket=b, Key=k, IfMatch=etag)["Body"].read() == DATA
    expect_error(s3.get_object, Bucket=b, Key=k, IfMatch='"deadbeef"', status=412, code="PreconditionFailed")
    expect_error(s3.head_object, Bucket=b, Key=k, IfMatch='"deadbeef"', status=412)


@aws
def test_if_none_match(s3, obj):
    b, k, etag, _ = obj
    expect_error(s3.get_object, Bucket=b, Key=k, IfNoneMatch=etag, status=304)
    expect_error(s3.head_object, Bucket=b, Key=k, IfNoneMatch=etag, status=304)
    assert s3.get_object(Bucket=b, Key=k, IfNoneMatch='"deadbeef"')["Body"].read() == DATA


@aws
def test_if_modified_since(s3, obj):
    b, k, _, _ = obj
    assert s3.get_object(Bucket=b, Key=k, IfModifiedSince=PAST)["Body"].read() == DATA
    expect_error(s3.get_object, Bucket=b, Key=k, IfModifiedSince=far_future(), status=304)
    expect_error(s3.head_object, Bucket=b, Key=k, IfModifiedSince=far_future(), status=304)


@aws
def test_if_unmodified_since(s3, obj):
    b, k, _, _ = obj
    assert s3.get_object(Bucket=b, Key=k, IfUnmodifiedSince=far_future())["Body"].read() == DATA
    expect_error(s3.get_object, Bucket=b, Key=k, IfUnmodifiedSince=PAST, status=412, code="PreconditionFailed")
    expect_error(s3.head_object, Bucket=b, Key=k, IfUnmodifiedSince=PAST, status=412)


@aws
@gap("moto evaluates If-Unmodified-Since even when If-Match holds (AWS GetObject doc: 200)")
def test_if_match_wins_over_if_unmodified_since(s3, obj):
    # RFC 7232 / S3: If-Match true + If-Unmodified-Since false -> 200
    b, k, etag, _ = obj
    r = s3.get_object(Bucket=b, Key=k, IfMatch=etag, IfUnmodifiedSince=PAST)
    assert r["Body"].read() == DATA


@aws
def test_if_none_match_wins_over_if_modified_since(s3, obj):
    # If-None-Match false + If-Modified-Since true -> 304
    b, k, etag, _ = obj
    expect_error(s3.get_object, Bucket=b, Key=k, IfNoneMatch=etag, IfModifiedSince=PAST, status=304)


@aws
@pytest.mark.parametrize(
    "rng,start,end",
    [("bytes=0-9", 0, 9), ("bytes=10-", 10, 1023), ("bytes=-5", 1019, 1023), ("bytes=1000-5000", 1000, 1023),
     ("bytes=0-0", 0, 0), ("bytes=1023-1023", 1023, 1023)],
)
def test_ranges(s3, obj, rng, start, end):
    b, k, etag, _ = obj
    r = s3.get_object(Bucket=b, Key=k, Range=rng)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert r["Body"].read() == DATA[start : end + 1]
    assert r["ContentRange"] == f"bytes {start}-{end}/1024"
    assert r["ContentLength"] == end - start + 1
    assert r["ETag"] == etag


@aws
def test_unsatisfiable_range(s3, obj):
    b, k, _, _ = obj
    e = expect_error(s3.get_object, Bucket=b, Key=k, Range="bytes=2000-3000", status=416, code="InvalidRange")
    del e


@aws
def test_range_on_old_version(s3, obj):
    b, k, _, v1 = obj
    s3.put_object(Bucket=b, Key=k, Body=b"new content")
    r = s3.get_object(Bucket=b, Key=k, VersionId=v1, Range="bytes=256-259")
    assert r["Body"].read() == DATA[256:260]


@aws
def test_head_with_range(s3, obj):
    b, k, _, _ = obj
    r = s3.head_object(Bucket=b, Key=k, Range="bytes=0-99")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert r["ContentLength"] == 100
    assert hdr(r, "content-range") == "bytes 0-99/1024"


@aws
@gap("moto answers 206 to a Range header in another unit")
def test_invalid_range_syntax_is_ignored(s3, obj):
    b, k, _, _ = obj
    r = s3.get_object(Bucket=b, Key=k, Range="items=0-9")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert r["Body"].read() == DATA


@aws
@gap("moto answers a range of an empty object with 200")
@pytest.mark.parametrize("rng", ["bytes=0-", "bytes=0-0", "bytes=0-10", "bytes=-1", "bytes=5-"])
def test_every_range_of_an_empty_object_is_unsatisfiable(s3, bucket, rng):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    e = expect_error(s3.get_object, Bucket=bucket, Key="empty", Range=rng, status=416, code="InvalidRange")
    assert hdr(e.response, "content-range") == "bytes */0"
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""


@aws
@gap("moto does not RFC 2047-encode non-ASCII metadata")
def test_non_ascii_metadata_is_returned_rfc2047_encoded(s3, bucket):
    import base64

    value = "Zürich 日本"
    path = s3h.object_path(bucket, "k")
    signed = s3h.sign("PUT", path, [], {"x-amz-meta-city": value}, s3h.sha256_hex(b"x"))
    headers = dict(signed.headers)
    headers["x-amz-meta-city"] = value.encode("utf-8")  # raw UTF-8 on the wire, as SDKs send it
    r = s3h.raw_request("PUT", path, headers=headers, body=b"x")
    assert r.status == 200, r
    got = s3.head_object(Bucket=bucket, Key="k")["Metadata"]["city"]
    assert got == "=?UTF-8?B?" + base64.b64encode(value.encode()).decode() + "?="
    # ASCII values are returned as sent
    s3.put_object(Bucket=bucket, Key="a", Body=b"x", Metadata={"city": "Zurich"})
    assert s3.head_object(Bucket=bucket, Key="a")["Metadata"]["city"] == "Zurich"
