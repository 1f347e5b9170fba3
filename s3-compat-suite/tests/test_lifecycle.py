"""Bucket lifecycle configuration (?lifecycle): AWS's XML, validation and error codes. What the rules make
happen over time is tested in the gateway's own integration tests (tests/it/lifecycle.rs): here only the
configuration API, which any S3 endpoint answers the same way."""

import hashlib

import pytest

import s3h
from s3h import expect_error

aws = pytest.mark.aws
wormgate = pytest.mark.wormgate
gap = pytest.mark.moto_gap

BACKUP_RULES = {
    "Rules": [
        {
            "ID": "noncurrent",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30, "NewerNoncurrentVersions": 3},
        },
        {
            "ID": "markers-and-uploads",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "Expiration": {"ExpiredObjectDeleteMarker": True},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        },
    ]
}


def rule(**action):
    r = {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}}
    r.update(action)
    return {"Rules": [r]}


def put(s3, bucket, cfg):
    return s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=cfg)


@aws
@gap("moto drops NewerNoncurrentVersions")
def test_backup_rules_round_trip_and_delete(s3, bucket):
    put(s3, bucket, BACKUP_RULES)
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    by_id = {r["ID"]: r for r in got}
    assert set(by_id) == {"noncurrent", "markers-and-uploads"}
    assert by_id["noncurrent"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert by_id["noncurrent"]["NoncurrentVersionExpiration"]["NewerNoncurrentVersions"] == 3
    assert by_id["markers-and-uploads"]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    assert by_id["markers-and-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert by_id["noncurrent"]["Status"] == "Enabled"
    s3.delete_bucket_lifecycle(Bucket=bucket)
    expect_error(s3.get_bucket_lifecycle_configuration, Bucket=bucket, status=404, code="NoSuchLifecycleConfiguration")


@aws
def test_put_replaces_the_whole_configuration(s3, bucket):
    put(s3, bucket, BACKUP_RULES)
    put(s3, bucket, rule(Expiration={"Days": 5}))
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["ID"] for r in got] == ["r"]
    assert got[0]["Expiration"]["Days"] == 5


@aws
@pytest.mark.parametrize(
    "flt",
    [
        {"Prefix": "logs/"},
        {"Tag": {"Key": "k", "Value": "v"}},
        pytest.param({"ObjectSizeGreaterThan": 100}, marks=gap("moto drops ObjectSize filters")),
        pytest.param({"ObjectSizeLessThan": 100}, marks=gap("moto drops ObjectSize filters")),
        pytest.param(
            {"And": {"Prefix": "p/", "Tags": [{"Key": "a", "Value": "1"}], "ObjectSizeGreaterThan": 1}},
            marks=gap("moto drops ObjectSize filters"),
        ),
    ],
)
def test_filter_forms_are_kept(s3, bucket, flt):
    cfg = {"Rules": [{"ID": "f", "Status": "Disabled", "Filter": flt, "Expiration": {"Days": 3}}]}
    put(s3, bucket, cfg)
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert got["Filter"] == flt
    assert got["Status"] == "Disabled"


@wormgate
def test_expiration_date_round_trips(s3, bucket):
    put(s3, bucket, rule(Expiration={"Date": "2040-01-01T00:00:00Z"}))
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert got["Expiration"]["Date"].year == 2040


@wormgate
@pytest.mark.parametrize(
    "action,status,code",
    [
        ({"Expiration": {"Days": 0}}, 400, "InvalidArgument"),
        ({"Expiration": {"Date": "2040-01-01T10:00:00Z"}}, 400, "InvalidArgument"),
        ({"NoncurrentVersionExpiration": {"NoncurrentDays": 0}}, 400, "InvalidArgument"),
        ({"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 0}}, 400, "InvalidArgument"),
        ({"Expiration": {"Days": 1, "ExpiredObjectDeleteMarker": True}}, 400, "InvalidArgument"),
        ({"Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}, 501, "NotImplemented"),
        ({"NoncurrentVersionTransitions": [{"NoncurrentDays": 30, "StorageClass": "GLACIER"}]}, 501, "NotImplemented"),
        ({}, 400, ("InvalidRequest", "MalformedXML")),
    ],
)
def test_invalid_rules_are_refused_and_change_nothing(s3, bucket, action, status, code):
    put(s3, bucket, BACKUP_RULES)
    e = expect_error(put, s3, bucket, rule(**action), status=status, code=code)
    assert s3h.status_of(e) == status
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert {r["ID"] for r in got} == {"noncurrent", "markers-and-uploads"}


@wormgate
def test_rules_that_remove_every_version_are_refused(s3, bucket):
    # Sent as raw XML: these actions are too new for some SDK versions.
    for body in [
        "<Expiration><Days>1</Days><ExpiredObjectDeleteAllVersions>true</ExpiredObjectDeleteAllVersions></Expiration>",
        "<DelMarkerExpiration><Days>1</Days></DelMarkerExpiration>",
    ]:
        doc = f"<LifecycleConfiguration><Rule><ID>x</ID><Filter/><Status>Enabled</Status>{body}</Rule></LifecycleConfiguration>"
        r = raw_put(bucket, doc.encode(), md5=True)
        assert r.status == 400, r
        assert r.code() == "InvalidArgument", r
        assert b"every version" in r.body or b"versions behind" in r.body, r


@wormgate
def test_ids_are_unique_and_at_most_255_characters(s3, bucket):
    two = {"Rules": [rule(Expiration={"Days": 1})["Rules"][0]] * 2}
    expect_error(put, s3, bucket, two, status=400, code="InvalidArgument")
    long = rule(Expiration={"Days": 1})
    long["Rules"][0]["ID"] = "i" * 256
    expect_error(put, s3, bucket, long, status=400, code="InvalidArgument")
    ok = rule(Expiration={"Days": 1})
    ok["Rules"][0]["ID"] = "i" * 255
    put(s3, bucket, ok)


@wormgate
def test_at_most_1000_rules(s3, bucket):
    many = {"Rules": [{"ID": str(i), "Status": "Enabled", "Filter": {"Prefix": f"{i}/"}, "Expiration": {"Days": 1}} for i in range(1001)]}
    expect_error(put, s3, bucket, many, status=400)
    many["Rules"].pop()
    put(s3, bucket, many)
    assert len(s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]) == 1000


def raw_put(bucket, body, md5):
    headers = {"content-type": "application/xml"}
    if md5:
        headers["content-md5"] = s3h.md5_b64(body)
    path = s3h.object_path(bucket)
    signed = s3h.sign("PUT", path, [("lifecycle", "")], headers, hashlib.sha256(body).hexdigest())
    return s3h.raw_request("PUT", path, [("lifecycle", "")], signed.headers, body)


@wormgate
def test_put_without_content_md5_or_checksum_is_refused(s3, bucket):
    doc = b"<LifecycleConfiguration><Rule><ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"
    r = raw_put(bucket, doc, md5=False)
    assert r.status == 400, r
    assert r.code() == "InvalidRequest", r
    assert b"Missing required header for this request: Content-MD5" in r.body, r
    expect_error(s3.get_bucket_lifecycle_configuration, Bucket=bucket, status=404, code="NoSuchLifecycleConfiguration")
    assert raw_put(bucket, doc, md5=True).status == 200


@wormgate
@pytest.mark.parametrize(
    "doc",
    [
        b"<LifecycleConfiguration></LifecycleConfiguration>",
        b"<LifecycleConfiguration><Rule><ID>x</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
        b"<LifecycleConfiguration><Rule><ID>x</ID><Filter/><Status>On</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
        b"<LifecycleConfiguration><Rule><ID>x</ID><Prefix>a</Prefix><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
        b"<NotLifecycle/>",
    ],
)
def test_malformed_documents(s3, bucket, doc):
    r = raw_put(bucket, doc, md5=True)
    assert r.status == 400, r
    assert r.code() == "MalformedXML", r


@wormgate
def test_legacy_top_level_prefix_is_accepted(s3, bucket):
    doc = b"<LifecycleConfiguration><Rule><ID>x</ID><Prefix>logs/</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"
    assert raw_put(bucket, doc, md5=True).status == 200
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert got.get("Prefix") == "logs/" or got.get("Filter") == {"Prefix": "logs/"}


@wormgate
def test_only_officers_set_or_delete_rules(s3, bucket, role_client):
    for role in ("writer", "auditor"):
        c = role_client(role)
        expect_error(put, c, bucket, BACKUP_RULES, status=403, code="AccessDenied")
        expect_error(c.delete_bucket_lifecycle, Bucket=bucket, status=403, code="AccessDenied")
    put(role_client("officer"), bucket, BACKUP_RULES)
    assert len(role_client("writer").get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]) == 2
    role_client("officer").delete_bucket_lifecycle(Bucket=bucket)
