"""Bucket/object sub-resources that real tools probe: they must answer as AWS does for a bucket that has none
of these configurations, never 501 and never a wrong success."""

import pytest

import s3h
from s3h import expect_error

aws = pytest.mark.aws
wormgate = pytest.mark.wormgate
gap = pytest.mark.moto_gap


@aws
def test_get_bucket_acl_owner_full_control(s3, bucket):
    r = s3.get_bucket_acl(Bucket=bucket)
    owner = r["Owner"]["ID"]
    assert owner
    grants = [(g["Grantee"].get("Type"), g["Grantee"].get("ID"), g["Permission"]) for g in r["Grants"]]
    assert ("CanonicalUser", owner, "FULL_CONTROL") in grants


@aws
def test_get_object_acl_owner_full_control(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    r = s3.get_object_acl(Bucket=bucket, Key="k")
    owner = r["Owner"]["ID"]
    grants = [(g["Grantee"].get("Type"), g["Grantee"].get("ID"), g["Permission"]) for g in r["Grants"]]
    assert ("CanonicalUser", owner, "FULL_CONTROL") in grants


@aws
def test_put_private_acl_is_accepted(s3, bucket):
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    v = s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="private")["VersionId"]
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")
    # no effect on data or versions
    assert s3h.body_of(s3, bucket, "k") == b"x"
    assert s3h.version_ids(s3, bucket, "k")[0] == {v}


@aws
@pytest.mark.parametrize(
    "call,code",
    [
        ("get_bucket_policy", "NoSuchBucketPolicy"),
        ("get_bucket_cors", "NoSuchCORSConfiguration"),
        ("get_bucket_tagging", "NoSuchTagSet"),
        ("get_bucket_lifecycle_configuration", "NoSuchLifecycleConfiguration"),
        ("get_bucket_replication", "ReplicationConfigurationNotFoundError"),
    ],
)
def test_unconfigured_subresources_are_not_found(s3, bucket, call, code):
    expect_error(getattr(s3, call), Bucket=bucket, status=404, code=code)


# Since 2023 AWS gives every new bucket SSE-S3 default encryption, Block Public Access and BucketOwnerEnforced
# ownership, so on AWS these three answer with a configuration. A gateway that implements none of them
# answers with the "not found" code AWS uses for an unconfigured bucket (what moto also does).
@wormgate
@pytest.mark.parametrize(
    "call,code",
    [
        ("get_bucket_encryption", "ServerSideEncryptionConfigurationNotFoundError"),
        ("get_public_access_block", "NoSuchPublicAccessBlockConfiguration"),
        ("get_bucket_ownership_controls", "OwnershipControlsNotFoundError"),
    ],
)
def test_defaults_aws_now_sets_are_not_found(s3, bucket, call, code):
    expect_error(getattr(s3, call), Bucket=bucket, status=404, code=code)


@aws
def test_probes_on_missing_bucket(s3):
    name = "wgc-no-such-bucket-" + s3h.payload(3).hex()
    for call in ("get_bucket_acl", "get_bucket_policy", "get_bucket_versioning", "get_object_lock_configuration"):
        expect_error(getattr(s3, call), Bucket=name, status=404, code="NoSuchBucket")


@wormgate
def test_non_private_acl_is_not_silently_accepted(s3, bucket):
    # wormgate has no ACLs: only 'private' (no effect) is accepted; anything else must not pretend to work
    e = expect_error(s3.put_bucket_acl, Bucket=bucket, ACL="public-read")
    assert s3h.status_of(e) in (400, 501)


@wormgate
@pytest.mark.parametrize("call", ["put_bucket_website", "put_bucket_policy", "put_bucket_cors"])
def test_unsupported_configuration_writes_are_not_implemented(s3, bucket, call):
    args = {
        "put_bucket_website": {"WebsiteConfiguration": {"IndexDocument": {"Suffix": "index.html"}}},
        "put_bucket_policy": {"Policy": '{"Version":"2012-10-17","Statement":[]}'},
        "put_bucket_cors": {"CORSConfiguration": {"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]}},
    }[call]
    expect_error(getattr(s3, call), Bucket=bucket, status=501, code="NotImplemented", **args)
