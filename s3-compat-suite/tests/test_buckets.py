"""Buckets: create/head/list/location/delete, versioning, Object Lock configuration."""

import pytest

import s3h
from s3h import expect_error

aws = pytest.mark.aws
wormgate = pytest.mark.wormgate
gap = pytest.mark.moto_gap


@aws
def test_create_head_list_location(s3, bucket):
    s3.head_bucket(Bucket=bucket)
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert bucket in names
    loc = s3.get_bucket_location(Bucket=bucket)
    # us-east-1 is reported as an empty LocationConstraint (boto3: None)
    if s3h.REGION == "us-east-1":
        assert loc.get("LocationConstraint") in (None, "")
    else:
        assert loc.get("LocationConstraint") == s3h.REGION


@aws
def test_list_buckets_has_owner_and_creation_date(s3, bucket):
    r = s3.list_buckets()
    assert "Owner" in r and r["Owner"].get("ID")
    mine = [b for b in r["Buckets"] if b["Name"] == bucket]
    assert len(mine) == 1 and mine[0]["CreationDate"] is not None


@aws
def test_lock_bucket_is_versioned(s3, bucket):
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


@aws
def test_lock_configuration_is_enabled(s3, bucket):
    cfg = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert cfg["ObjectLockEnabled"] == "Enabled"


@aws
def test_head_and_delete_missing_bucket(s3):
    name = "wgc-missing-" + s3h.payload(4).hex()
    e = expect_error(s3.head_bucket, Bucket=name, status=404)
    expect_error(s3.delete_bucket, Bucket=name, status=404, code="NoSuchBucket")
    expect_error(s3.list_objects_v2, Bucket=name, status=404, code="NoSuchBucket")
    expect_error(s3.get_object, Bucket=name, Key="k", status=404, code="NoSuchBucket")
    del e


@aws
@pytest.mark.parametrize("name", ["ab", "x" * 64])
def test_invalid_bucket_name_length(s3, name):
    expect_error(s3.create_bucket, Bucket=name, ObjectLockEnabledForBucket=True, status=400, code="InvalidBucketName")


@aws
@gap("moto accepts these names")
@pytest.mark.parametrize("name", ["UPPERCASE-bucket", "a..b-bucket", "-starts-with-hyphen", "192.168.1.1"])
def test_invalid_bucket_names(s3, name):
    expect_error(s3.create_bucket, Bucket=name, ObjectLockEnabledForBucket=True, status=400, code="InvalidBucketName")


@aws
def test_delete_empty_bucket(s3, make_bucket):
    b = make_bucket()
    r = s3.delete_bucket(Bucket=b)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(s3.head_bucket, Bucket=b, status=404)


@aws
def test_delete_bucket_with_versions_and_marker_is_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert s3.delete_object(Bucket=bucket, Key="k")["DeleteMarker"] is True
    expect_error(s3.delete_bucket, Bucket=bucket, status=409, code="BucketNotEmpty")
    s3.head_bucket(Bucket=bucket)


@aws
@gap("moto creates no delete marker for a key that never existed")
def test_delete_of_unknown_key_adds_a_marker_and_bucket_is_not_empty(s3, bucket):
    r = s3.delete_object(Bucket=bucket, Key="never-written")
    assert r["DeleteMarker"] is True and r["VersionId"]
    _, markers = s3h.all_versions(s3, bucket)
    assert [m["VersionId"] for m in markers] == [r["VersionId"]]
    expect_error(s3.delete_bucket, Bucket=bucket, status=409, code="BucketNotEmpty")


@aws
def test_delete_bucket_with_retained_version_is_refused(s3, bucket):
    s3.put_object(
        Bucket=bucket, Key="k", Body=b"x", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=s3h.future(600),
        ChecksumAlgorithm="SHA256",
    )
    s3.delete_object(Bucket=bucket, Key="k")  # only hides it
    expect_error(s3.delete_bucket, Bucket=bucket, status=409, code="BucketNotEmpty")
    s3.head_bucket(Bucket=bucket)


@aws
@gap("moto lets versioning of an Object Lock bucket be suspended")
def test_suspend_versioning_is_refused(s3, bucket):
    expect_error(
        s3.put_bucket_versioning, Bucket=bucket, VersioningConfiguration={"Status": "Suspended"},
        status=409, code="InvalidBucketState",
    )
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


@aws
def test_enable_versioning_again_is_accepted(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


# --- PutObjectLockConfiguration ----------------------------------------------------------------


def lock_cfg(enabled="Enabled", mode=None, days=None, years=None):
    cfg = {"ObjectLockEnabled": enabled} if enabled is not None else {}
    if mode is not None or days is not None or years is not None:
        dr = {}
        if mode is not None:
            dr["Mode"] = mode
        if days is not None:
            dr["Days"] = days
        if years is not None:
            dr["Years"] = years
        cfg["Rule"] = {"DefaultRetention": dr}
    return cfg


@aws
@gap("moto does not apply bucket default retention (GetObjectRetention answers 500)")
def test_default_retention_days_applies_to_new_versions(s3, bucket):
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=lock_cfg(mode="COMPLIANCE", days=1))
    got = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert got["ObjectLockEnabled"] == "Enabled"
    assert got["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"
    assert got["Rule"]["DefaultRetention"]["Days"] == 1
    assert "Years" not in got["Rule"]["DefaultRetention"]
    before = s3h.utcnow()
    # AWS requires an integrity header for writes that get a retention (docs/s3-object-lock.md §1.9)
    v = s3.put_object(Bucket=bucket, Key="k", Body=b"data", ChecksumAlgorithm="CRC32")["VersionId"]
    ret = s3.get_object_retention(Bucket=bucket, Key="k", VersionId=v)["Retention"]
    assert ret["Mode"] == "COMPLIANCE"
    expected = before + s3h.dt.timedelta(days=1)
    assert abs((ret["RetainUntilDate"] - expected).total_seconds()) < 120
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert s3h.same_instant(head["ObjectLockRetainUntilDate"], ret["RetainUntilDate"])
    expect_error(s3.delete_object, Bucket=bucket, Key="k", VersionId=v, status=403, code="AccessDenied")


@aws
@gap("moto echoes Days/Years it was not given")
def test_default_retention_years(s3, bucket):
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=lock_cfg(mode="COMPLIANCE", years=1))
    got = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert got["Rule"]["DefaultRetention"]["Years"] == 1
    assert "Days" not in got["Rule"]["DefaultRetention"]


@aws
@gap("moto does not implement bucket default retention")
def test_explicit_headers_override_default_retention(s3, bucket):
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=lock_cfg(mode="COMPLIANCE", days=1))
    until = s3h.future(3 * 86400)
    v = s3.put_object(
        Bucket=bucket, Key="k", Body=b"d", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until,
        ChecksumAlgorithm="CRC32",
    )["VersionId"]
    ret = s3.get_object_retention(Bucket=bucket, Key="k", VersionId=v)["Retention"]
    assert s3h.same_instant(ret["RetainUntilDate"], until)


@aws
def test_lock_configuration_days_and_years_is_malformed(s3, bucket):
    expect_error(
        s3.put_object_lock_configuration, Bucket=bucket,
        ObjectLockConfiguration=lock_cfg(mode="COMPLIANCE", days=1, years=1), status=400, code="MalformedXML",
    )


@aws
@gap("moto does not validate DefaultRetention")
@pytest.mark.parametrize("days", [0, -1])
def test_lock_configuration_non_positive_days(s3, bucket, days):
    expect_error(
        s3.put_object_lock_configuration, Bucket=bucket, ObjectLockConfiguration=lock_cfg(mode="COMPLIANCE", days=days),
        status=400, code="InvalidRetentionPeriod",
    )


@aws
@gap("moto does not validate DefaultRetention")
def test_lock_configuration_non_positive_years(s3, bucket):
    expect_error(
        s3.put_object_lock_configuration, Bucket=bucket, ObjectLockConfiguration=lock_cfg(mode="COMPLIANCE", years=0),
        status=400, code="InvalidRetentionPeriod",
    )


@aws
@gap("moto does not validate DefaultRetention")
@pytest.mark.parametrize("mode", ["compliance", "abc"])
def test_lock_configuration_bad_mode(s3, bucket, mode):
    expect_error(
        s3.put_object_lock_configuration, Bucket=bucket, ObjectLockConfiguration=lock_cfg(mode=mode, days=1),
        status=400, code="MalformedXML",
    )


@aws
@gap("moto accepts ObjectLockEnabled=Disabled")
def test_lock_configuration_cannot_be_disabled(s3, bucket):
    expect_error(
        s3.put_object_lock_configuration, Bucket=bucket, ObjectLockConfiguration=lock_cfg(enabled="Disabled"),
        status=400, code="MalformedXML",
    )
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"


# --- wormgate policy ---------------------------------------------------------------------------


@wormgate
def test_every_bucket_is_versioned_and_locked(s3, make_bucket):
    b = make_bucket(lock=False)  # no x-amz-bucket-object-lock-enabled header
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"
    cfg = s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"]
    assert cfg["ObjectLockEnabled"] == "Enabled"
    # the effective default (the gateway floor) is shown as a COMPLIANCE rule
    assert cfg["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"


@aws
def test_create_own_bucket_again_in_us_east_1(s3, bucket):
    # AWS answers 200 in us-east-1 (409 BucketAlreadyOwnedByYou in other regions; tests/it/buckets.rs)
    if s3h.REGION != "us-east-1":
        pytest.skip("us-east-1 behaviour")
    v = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    s3.create_bucket(Bucket=bucket)
    assert s3h.version_ids(s3, bucket, "k") == ({v}, set())
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"


@aws
@gap("moto ignores ListBuckets paging and filters")
def test_list_buckets_paging_prefix_and_region(s3, make_bucket):
    names = sorted(make_bucket(tag="lb") for _ in range(3))
    prefix = names[0][: names[0].rindex("-")]  # shared by this test's buckets only
    page = s3.list_buckets(Prefix=prefix, MaxBuckets=2)
    assert [b["Name"] for b in page["Buckets"]] == names[:2]
    assert all(b["BucketRegion"] == s3h.REGION for b in page["Buckets"])
    assert page["Prefix"] == prefix
    token = page["ContinuationToken"]
    rest = s3.list_buckets(Prefix=prefix, MaxBuckets=2, ContinuationToken=token)
    assert [b["Name"] for b in rest["Buckets"]] == names[2:]
    assert "ContinuationToken" not in rest
    assert [b["Name"] for b in s3.list_buckets(Prefix=prefix)["Buckets"]] == names
    other = "eu-west-1" if s3h.REGION != "eu-west-1" else "us-east-1"
    assert s3.list_buckets(Prefix=prefix, BucketRegion=other).get("Buckets", []) == []
    assert len(s3.list_buckets(Prefix=prefix, BucketRegion=s3h.REGION)["Buckets"]) == 3


@wormgate
def test_governance_default_rule_is_refused(s3, bucket):
    before = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    e = expect_error(
        s3.put_object_lock_configuration, Bucket=bucket, ObjectLockConfiguration=lock_cfg(mode="GOVERNANCE", days=1),
        status=400, code="InvalidRequest",
    )
    assert "COMPLIANCE" in e.response["Error"]["Message"]
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"] == before


@wormgate
def test_default_above_maximum_retention_is_refused(s3, bucket):
    expect_error(
        s3.put_object_lock_configuration, Bucket=bucket, ObjectLockConfiguration=lock_cfg(mode="COMPLIANCE", years=101),
        status=400, code="InvalidRetentionPeriod",
    )


@wormgate
@pytest.mark.parametrize("enabled", ["Disabled", "", None])
def test_lock_cannot_be_disabled_any_way(s3, bucket, enabled):
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=lock_cfg(mode="COMPLIANCE", days=2))
    before = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    expect_error(
        s3.put_object_lock_configuration, Bucket=bucket, ObjectLockConfiguration=lock_cfg(enabled=enabled),
        status=400, code="MalformedXML",
    )
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"] == before


@wormgate
def test_mode_without_period_is_malformed(s3, bucket):
    expect_error(
        s3.put_object_lock_configuration, Bucket=bucket, ObjectLockConfiguration=lock_cfg(mode="COMPLIANCE"),
        status=400, code="MalformedXML",
    )
    expect_error(
        s3.put_object_lock_configuration, Bucket=bucket, ObjectLockConfiguration=lock_cfg(days=1),
        status=400, code="MalformedXML",
    )


@wormgate
def test_suspend_versioning_refused_for_admin_and_config_unchanged(s3, bucket):
    for _ in range(2):
        expect_error(
            s3.put_bucket_versioning, Bucket=bucket, VersioningConfiguration={"Status": "Suspended"},
            status=409, code="InvalidBucketState",
        )
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


@aws
@gap("moto does not implement bucket default retention")
def test_changing_the_default_affects_only_new_versions(s3, bucket):
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=lock_cfg(mode="COMPLIANCE", days=1))
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"1", ChecksumAlgorithm="CRC32")["VersionId"]
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=lock_cfg(mode="COMPLIANCE", days=3))
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"2", ChecksumAlgorithm="CRC32")["VersionId"]
    r1 = s3.head_object(Bucket=bucket, Key="k", VersionId=v1)["ObjectLockRetainUntilDate"]
    r2 = s3.head_object(Bucket=bucket, Key="k", VersionId=v2)["ObjectLockRetainUntilDate"]
    now = s3h.utcnow()
    assert abs((r1 - now).total_seconds() - 86400) < 300
    assert abs((r2 - now).total_seconds() - 3 * 86400) < 300
