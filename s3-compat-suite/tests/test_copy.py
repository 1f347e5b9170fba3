"""CopyObject: directives, conditions, source versions, self-copy, and lock rules (a copy is a new version with
its own retention, never the source's; a copy onto a locked key never touches the old version)."""

import datetime as dt

import pytest

import s3h
from s3h import expect_error

aws = pytest.mark.aws
wormgate = pytest.mark.wormgate
gap = pytest.mark.moto_gap

PAST = dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)


def src(s3, bucket, key="src", body=b"copy source bytes", **kw):
    r = s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/x-src", Metadata={"origin": "src"}, **kw)
    return r["VersionId"], r["ETag"]


@aws
def test_copy_copies_data_and_metadata(s3, bucket):
    v, etag = src(s3, bucket)
    r = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert r["CopyObjectResult"]["ETag"] == etag
    assert r["CopyObjectResult"]["LastModified"] is not None
    assert r["CopySourceVersionId"] == v
    assert r["VersionId"] and r["VersionId"] != v
    g = s3.get_object(Bucket=bucket, Key="dst")
    assert g["Body"].read() == b"copy source bytes"
    assert g["ContentType"] == "text/x-src"
    assert g["Metadata"] == {"origin": "src"}
    assert g["ETag"] == etag
    assert g["VersionId"] == r["VersionId"]


@aws
def test_copy_with_replace_directive(s3, bucket):
    src(s3, bucket)
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"}, MetadataDirective="REPLACE",
                   ContentType="application/x-new", Metadata={"fresh": "yes"}, CacheControl="no-store")
    h = s3.head_object(Bucket=bucket, Key="dst")
    assert h["ContentType"] == "application/x-new"
    assert h["Metadata"] == {"fresh": "yes"}
    assert h["CacheControl"] == "no-store"
    s = s3.head_object(Bucket=bucket, Key="src")
    assert s["Metadata"] == {"origin": "src"} and s["ContentType"] == "text/x-src"


@aws
def test_copy_directive_copy_ignores_new_metadata(s3, bucket):
    src(s3, bucket)
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"}, MetadataDirective="COPY",
                   Metadata={"ignored": "yes"})
    assert s3.head_object(Bucket=bucket, Key="dst")["Metadata"] == {"origin": "src"}


@aws
def test_copy_from_older_version(s3, bucket):
    v1, _ = src(s3, bucket, body=b"version one")
    s3.put_object(Bucket=bucket, Key="src", Body=b"version two")
    r = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src", "VersionId": v1})
    assert r["CopySourceVersionId"] == v1
    assert s3h.body_of(s3, bucket, "dst") == b"version one"


@aws
def test_copy_across_buckets_and_odd_keys(s3, bucket, make_bucket):
    other = make_bucket()
    key = "dir with space/ü+%&?=#.bin"
    s3.put_object(Bucket=bucket, Key=key, Body=b"odd")
    s3.copy_object(Bucket=other, Key=key + ".copy", CopySource={"Bucket": bucket, "Key": key})
    assert s3h.body_of(s3, other, key + ".copy") == b"odd"


@aws
def test_self_copy_needs_replace(s3, bucket):
    v, _ = src(s3, bucket)
    expect_error(s3.copy_object, Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"},
                 status=400, code="InvalidRequest")
    assert s3h.version_ids(s3, bucket, "src")[0] == {v}


@aws
def test_self_copy_with_replace_makes_new_version(s3, bucket):
    v, _ = src(s3, bucket)
    r = s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"}, MetadataDirective="REPLACE",
                       Metadata={"rev": "2"})
    assert r["VersionId"] != v
    assert s3.head_object(Bucket=bucket, Key="src")["Metadata"] == {"rev": "2"}
    assert s3.head_object(Bucket=bucket, Key="src", VersionId=v)["Metadata"] == {"origin": "src"}
    assert s3h.version_ids(s3, bucket, "src")[0] == {v, r["VersionId"]}


def _tomorrow():
    return s3h.utcnow() + dt.timedelta(days=1)


@aws
@pytest.mark.parametrize("cond", [
    pytest.param("match", marks=gap("moto ignores x-amz-copy-source-if-match")),
    "none-match",
    pytest.param("modified-since", marks=gap("moto ignores x-amz-copy-source-if-modified-since")),
    pytest.param("unmodified-since", marks=gap("moto ignores x-amz-copy-source-if-unmodified-since")),
])
def test_copy_source_conditions(s3, bucket, cond):
    _, etag = src(s3, bucket)
    cs = {"Bucket": bucket, "Key": "src"}
    failing, holding = {
        "match": ({"CopySourceIfMatch": '"deadbeef"'}, {"CopySourceIfMatch": etag}),
        "none-match": ({"CopySourceIfNoneMatch": etag}, {"CopySourceIfNoneMatch": '"deadbeef"'}),
        "modified-since": ({"CopySourceIfModifiedSince": _tomorrow()}, {"CopySourceIfModifiedSince": PAST}),
        "unmodified-since": ({"CopySourceIfUnmodifiedSince": PAST}, {"CopySourceIfUnmodifiedSince": _tomorrow()}),
    }[cond]
    expect_error(s3.copy_object, Bucket=bucket, Key="bad", CopySource=cs, **failing, status=412, code="PreconditionFailed")
    expect_error(s3.head_object, Bucket=bucket, Key="bad", status=404)
    s3.copy_object(Bucket=bucket, Key="ok", CopySource=cs, **holding)
    assert s3h.body_of(s3, bucket, "ok") == b"copy source bytes"


@aws
def test_copy_from_missing_source(s3, bucket):
    expect_error(s3.copy_object, Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "nope"},
                 status=404, code="NoSuchKey")
    s3.put_object(Bucket=bucket, Key="gone", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="gone")
    expect_error(s3.copy_object, Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "gone"},
                 status=404, code="NoSuchKey")
    expect_error(s3.head_object, Bucket=bucket, Key="dst", status=404)


@aws
def test_copy_from_missing_bucket(s3, bucket):
    expect_error(s3.copy_object, Bucket=bucket, Key="dst", CopySource={"Bucket": "wgc-no-such-bucket-x", "Key": "k"},
                 status=404, code="NoSuchBucket")


@aws
def test_copy_with_checksum_algorithm(s3, bucket):
    src(s3, bucket)
    r = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"}, ChecksumAlgorithm="SHA256")
    assert r["CopyObjectResult"].get("ChecksumSHA256") == s3h.sha256_b64(b"copy source bytes")
    h = s3.head_object(Bucket=bucket, Key="dst", ChecksumMode="ENABLED")
    assert h.get("ChecksumSHA256") == s3h.sha256_b64(b"copy source bytes")


# --- Object Lock -------------------------------------------------------------------------------


@aws
@gap("moto refuses lock headers on a (bodiless) CopyObject without Content-MD5/x-amz-sdk-checksum-algorithm")
def test_copy_does_not_inherit_retention_or_hold(s3, bucket):
    far = s3h.future(7200)
    v, _ = src(s3, bucket, ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=far, ObjectLockLegalHoldStatus="ON",
               ChecksumAlgorithm="SHA256")
    near = s3h.future(600)
    r = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                       ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=near, ChecksumAlgorithm="SHA256")
    h = s3.head_object(Bucket=bucket, Key="dst", VersionId=r["VersionId"])
    assert h["ObjectLockMode"] == "COMPLIANCE"
    assert s3h.same_instant(h["ObjectLockRetainUntilDate"], near)
    assert h.get("ObjectLockLegalHoldStatus") != "ON"
    s = s3.head_object(Bucket=bucket, Key="src", VersionId=v)
    assert s3h.same_instant(s["ObjectLockRetainUntilDate"], far) and s["ObjectLockLegalHoldStatus"] == "ON"


@aws
def test_copy_onto_locked_key_makes_new_version(s3, bucket):
    until = s3h.future(900)
    old = b"retained original"
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=old, ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until,
                       ChecksumAlgorithm="SHA256")["VersionId"]
    s3.put_object(Bucket=bucket, Key="other", Body=b"replacement")
    r = s3.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "other"})
    assert r["VersionId"] != v1
    assert s3h.body_of(s3, bucket, "k") == b"replacement"
    assert s3h.body_of(s3, bucket, "k", VersionId=v1) == old
    h = s3.head_object(Bucket=bucket, Key="k", VersionId=v1)
    assert h["ETag"] == f'"{s3h.md5_hex(old)}"'
    assert h["ObjectLockMode"] == "COMPLIANCE" and s3h.same_instant(h["ObjectLockRetainUntilDate"], until)
    expect_error(s3.delete_object, Bucket=bucket, Key="k", VersionId=v1, status=403, code="AccessDenied")


@aws
def test_self_copy_of_locked_version_keeps_it(s3, bucket):
    until = s3h.future(900)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"locked", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until,
                       ChecksumAlgorithm="SHA256", Metadata={"a": "1"})["VersionId"]
    r = s3.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "k", "VersionId": v1},
                       MetadataDirective="REPLACE", Metadata={"a": "2"})
    assert r["VersionId"] != v1
    h = s3.head_object(Bucket=bucket, Key="k", VersionId=v1)
    assert h["Metadata"] == {"a": "1"}
    assert s3h.same_instant(h["ObjectLockRetainUntilDate"], until)


@aws
@gap("moto does not apply bucket default retention and refuses the copy for lack of Content-MD5")
def test_copy_gets_bucket_default_retention(s3, bucket):
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}})
    src(s3, bucket, ChecksumAlgorithm="SHA256")
    before = s3h.utcnow()
    r = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"}, ChecksumAlgorithm="SHA256")
    h = s3.head_object(Bucket=bucket, Key="dst", VersionId=r["VersionId"])
    assert h["ObjectLockMode"] == "COMPLIANCE"
    assert abs((h["ObjectLockRetainUntilDate"] - (before + dt.timedelta(days=1))).total_seconds()) < 300


# --- wormgate ----------------------------------------------------------------------------------


@wormgate
def test_copy_gets_the_floor_not_the_source_retention(s3, bucket):
    far = s3h.future(7200)
    src(s3, bucket, ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=far, ChecksumAlgorithm="SHA256")
    before = s3h.utcnow()
    r = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    h = s3.head_object(Bucket=bucket, Key="dst", VersionId=r["VersionId"])
    assert h["ObjectLockMode"] == "COMPLIANCE"
    until = h["ObjectLockRetainUntilDate"]
    assert until < far - dt.timedelta(seconds=3600)
    assert until >= before + dt.timedelta(seconds=s3h.MIN_RETENTION_S) - dt.timedelta(seconds=1)


@wormgate
def test_copy_with_governance_is_refused(s3, bucket):
    src(s3, bucket)
    e = expect_error(s3.copy_object, Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                     ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=s3h.future(600), status=400, code="InvalidRequest")
    assert "COMPLIANCE" in e.response["Error"]["Message"]
    expect_error(s3.head_object, Bucket=bucket, Key="dst", status=404)


@wormgate
def test_copy_from_delete_marker_version_is_refused(s3, bucket):
    src(s3, bucket)
    marker = s3.delete_object(Bucket=bucket, Key="src")["VersionId"]
    # docs/s3-object-lock.md §2.5: a delete marker cannot be a copy source -> 400 InvalidRequest
    expect_error(s3.copy_object, Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src", "VersionId": marker},
                 status=400, code="InvalidRequest")
    expect_error(s3.head_object, Bucket=bucket, Key="dst", status=404)
