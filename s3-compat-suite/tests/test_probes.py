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
# ownership. wormgate has the same access stance (below) but does not encrypt at rest itself, so it answers
# GetBucketEncryption with the "not found" code AWS uses for an unconfigured bucket.
@wormgate
def test_default_encryption_is_not_found(s3, bucket):
    expect_error(s3.get_bucket_encryption, Bucket=bucket, status=404,
                 code="ServerSideEncryptionConfigurationNotFoundError")


# --- access stance: ACLs disabled (BucketOwnerEnforced), public access blocked, always (issue 9) ----

ALL_BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
               "RestrictPublicBuckets": True}


@wormgate
def test_public_access_block_is_always_on(s3, bucket):
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == ALL_BLOCKED
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=ALL_BLOCKED)
    for weaker in ALL_BLOCKED:
        e = expect_error(s3.put_public_access_block, Bucket=bucket,
                         PublicAccessBlockConfiguration={**ALL_BLOCKED, weaker: False}, status=400, code="InvalidRequest")
        assert "public" in e.response["Error"]["Message"]
    expect_error(s3.delete_public_access_block, Bucket=bucket, status=400, code="InvalidRequest")
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == ALL_BLOCKED


@wormgate
def test_ownership_controls_are_bucket_owner_enforced(s3, bucket):
    enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"] == enforced
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=enforced)
    expect_error(s3.put_bucket_ownership_controls, Bucket=bucket,
                 OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}, status=400, code="InvalidRequest")
    expect_error(s3.delete_bucket_ownership_controls, Bucket=bucket, status=400, code="InvalidRequest")
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"] == enforced


@aws
@gap("moto keeps ACLs enabled on new buckets")
@pytest.mark.parametrize("acl", ["public-read", "public-read-write", "authenticated-read"])
def test_non_private_canned_acl_is_refused_everywhere(s3, make_bucket, acl):
    bucket = make_bucket()
    expect_error(s3.put_object, Bucket=bucket, Key="k", Body=b"x", ACL=acl, status=400,
                 code="AccessControlListNotSupported")
    expect_error(s3.head_object, Bucket=bucket, Key="k", status=404)
    expect_error(s3.create_multipart_upload, Bucket=bucket, Key="k", ACL=acl, status=400,
                 code="AccessControlListNotSupported")
    expect_error(s3.put_bucket_acl, Bucket=bucket, ACL=acl, status=400, code="AccessControlListNotSupported")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="bucket-owner-full-control")
    expect_error(s3.put_object_acl, Bucket=bucket, Key="k", ACL=acl, status=400, code="AccessControlListNotSupported")
    expect_error(s3.put_object_acl, Bucket=bucket, Key="k",
                 GrantRead="uri=http://acs.amazonaws.com/groups/global/AllUsers", status=400,
                 code="AccessControlListNotSupported")
    name = bucket + "-x"
    expect_error(s3.create_bucket, Bucket=name, ACL=acl, status=400, code="AccessControlListNotSupported")
    expect_error(s3.head_bucket, Bucket=name, status=404)


@aws
@gap("moto accepts unknown canned ACLs")
def test_unknown_canned_acl_is_invalid(s3, bucket):
    expect_error(s3.put_object, Bucket=bucket, Key="k", Body=b"x", ACL="everyone-please", status=400,
                 code="InvalidArgument")
    expect_error(s3.put_bucket_acl, Bucket=bucket, ACL="everyone-please", status=400, code="InvalidArgument")


@wormgate
def test_object_ownership_on_create_bucket(s3, make_bucket):
    from conftest import new_bucket_name
    name = new_bucket_name("own")
    expect_error(s3.create_bucket, Bucket=name, ObjectOwnership="ObjectWriter", status=400, code="InvalidRequest")
    expect_error(s3.create_bucket, Bucket=name, ObjectOwnership="BucketOwnerPreferred", status=400,
                 code="InvalidRequest")
    s3.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerEnforced")
    s3.head_bucket(Bucket=name)


@aws
def test_probes_on_missing_bucket(s3):
    name = "wgc-no-such-bucket-" + s3h.payload(3).hex()
    for call in ("get_bucket_acl", "get_bucket_policy", "get_bucket_versioning", "get_object_lock_configuration"):
        expect_error(getattr(s3, call), Bucket=name, status=404, code="NoSuchBucket")




@wormgate
@pytest.mark.parametrize("call", ["put_bucket_website", "put_bucket_policy", "put_bucket_cors"])
def test_unsupported_configuration_writes_are_not_implemented(s3, bucket, call):
    args = {
        "put_bucket_website": {"WebsiteConfiguration": {"IndexDocument": {"Suffix": "index.html"}}},
        "put_bucket_policy": {"Policy": '{"Version":"2012-10-17","Statement":[]}'},
        "put_bucket_cors": {"CORSConfiguration": {"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]}},
    }[call]
    expect_error(getattr(s3, call), Bucket=bucket, status=501, code="NotImplemented", **args)
