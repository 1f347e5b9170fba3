"""Object tagging: Get/Put/DeleteObjectTagging, x-amz-tagging on writes, tags on retained versions
(tags are outside the WORM record: they may change, data and lock fields may not)."""

import pytest

import s3h
from s3h import expect_error

aws = pytest.mark.aws
wormgate = pytest.mark.wormgate
gap = pytest.mark.moto_gap


def tags(s3, bucket, key, **kw):
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key, **kw)["TagSet"]}


def tagset(d):
    return {"TagSet": [{"Key": k, "Value": v} for k, v in d.items()]}


@aws
def test_put_get_delete_tagging(s3, bucket):
    v = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    assert tags(s3, bucket, "k") == {}
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tagset({"project": "wormgate", "tier": "gold"}))
    assert tags(s3, bucket, "k") == {"project": "wormgate", "tier": "gold"}
    g = s3.get_object(Bucket=bucket, Key="k")
    assert g.get("TagCount") == 2
    r = s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert tags(s3, bucket, "k") == {}
    # replacing, not merging
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tagset({"a": "1"}))
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tagset({"b": "2"}))
    assert tags(s3, bucket, "k") == {"b": "2"}


@aws
@gap("moto sends no x-amz-version-id with PutObjectTagging")
def test_put_tagging_names_the_version(s3, bucket):
    v = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    r = s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tagset({"a": "1"}))
    assert r["VersionId"] == v


@aws
def test_tagging_header_on_put(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1&b=two%20words&empty=")
    assert tags(s3, bucket, "k") == {"a": "1", "b": "two words", "empty": ""}


@aws
def test_tagging_per_version(s3, bucket):
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"1", Tagging="gen=1")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"2", Tagging="gen=2")["VersionId"]
    assert tags(s3, bucket, "k") == {"gen": "2"}
    assert tags(s3, bucket, "k", VersionId=v1) == {"gen": "1"}
    s3.put_object_tagging(Bucket=bucket, Key="k", VersionId=v1, Tagging=tagset({"gen": "one"}))
    assert tags(s3, bucket, "k", VersionId=v1) == {"gen": "one"}
    assert tags(s3, bucket, "k", VersionId=v2) == {"gen": "2"}
    s3.delete_object_tagging(Bucket=bucket, Key="k", VersionId=v1)
    assert tags(s3, bucket, "k", VersionId=v1) == {}
    assert tags(s3, bucket, "k") == {"gen": "2"}


@aws
def test_tagging_of_missing_key(s3, bucket):
    expect_error(s3.get_object_tagging, Bucket=bucket, Key="nope", status=404, code="NoSuchKey")
    expect_error(s3.put_object_tagging, Bucket=bucket, Key="nope", Tagging=tagset({"a": "b"}), status=404, code="NoSuchKey")


@aws
def test_tags_may_change_on_a_retained_version(s3, bucket):
    until = s3h.future(900)
    body = b"retained, taggable"
    v = s3.put_object(Bucket=bucket, Key="k", Body=body, ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until,
                      ChecksumAlgorithm="SHA256", Tagging="state=new")["VersionId"]
    s3.put_object_tagging(Bucket=bucket, Key="k", VersionId=v, Tagging=tagset({"state": "reviewed"}))
    assert tags(s3, bucket, "k", VersionId=v) == {"state": "reviewed"}
    s3.delete_object_tagging(Bucket=bucket, Key="k", VersionId=v)
    assert tags(s3, bucket, "k", VersionId=v) == {}
    h = s3.head_object(Bucket=bucket, Key="k", VersionId=v)
    assert h["ETag"] == f'"{s3h.md5_hex(body)}"'
    assert h["ObjectLockMode"] == "COMPLIANCE" and s3h.same_instant(h["ObjectLockRetainUntilDate"], until)
    assert s3h.body_of(s3, bucket, "k", VersionId=v) == body
    # tagging a version does not create a version
    assert s3h.version_ids(s3, bucket, "k")[0] == {v}
    expect_error(s3.delete_object, Bucket=bucket, Key="k", VersionId=v, status=403, code="AccessDenied")


@aws
def test_copy_tagging_directive(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="from=src")
    s3.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "src"})
    assert tags(s3, bucket, "copied") == {"from": "src"}
    s3.copy_object(Bucket=bucket, Key="replaced", CopySource={"Bucket": bucket, "Key": "src"}, TaggingDirective="REPLACE",
                   Tagging="new=tag")
    assert tags(s3, bucket, "replaced") == {"new": "tag"}


@aws
def test_multipart_with_tagging(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="via=mpu")["UploadId"]
    e = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"x")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
    assert tags(s3, bucket, "mp") == {"via": "mpu"}


@aws
def test_too_many_tags(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    # AWS answers "Object tags cannot be greater than 10" as BadRequest (moto copies it); ceph s3-tests
    # (test_put_excess_tags) expects InvalidTag. Either is a refusal; the tags must be unchanged.
    expect_error(s3.put_object_tagging, Bucket=bucket, Key="k", Tagging=tagset({f"k{i}": "v" for i in range(11)}),
                 status=400, code=("BadRequest", "InvalidTag"))
    assert tags(s3, bucket, "k") == {}


@aws
@pytest.mark.parametrize("bad", [{"k" * 129: "v"}, {"key": "v" * 257}], ids=["long-key", "long-value"])
def test_invalid_tag(s3, bucket, bad):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    expect_error(s3.put_object_tagging, Bucket=bucket, Key="k", Tagging=tagset(bad), status=400, code="InvalidTag")
    assert tags(s3, bucket, "k") == {}


@aws
@gap("moto accepts duplicate tag keys")
def test_duplicate_tag_keys(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    expect_error(s3.put_object_tagging, Bucket=bucket, Key="k",
                 Tagging={"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}, status=400, code="InvalidTag")
