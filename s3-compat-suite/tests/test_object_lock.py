"""Object Lock in COMPLIANCE mode as AWS defines it (docs/s3-object-lock.md §1): lock headers, retention,
legal hold, deletes and DeleteObjects against retained versions."""

import time

import pytest

import s3h
from s3h import expect_error

aws = pytest.mark.aws
wormgate = pytest.mark.wormgate
gap = pytest.mark.moto_gap
slow = pytest.mark.slow


def put_locked(s3, bucket, key, body=b"locked bytes", seconds=900, hold=None, **kw):
    """PutObject with COMPLIANCE retention (and an integrity header, as AWS requires for lock writes)."""
    until = s3h.future(seconds)
    args = dict(Bucket=bucket, Key=key, Body=body, ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until,
                ChecksumAlgorithm="SHA256")
    if hold:
        args["ObjectLockLegalHoldStatus"] = hold
    args.update(kw)
    r = s3.put_object(**args)
    return r["VersionId"], until


def retention(s3, bucket, key, vid):
    """A version's retention as HEAD reports it (GetObjectRetention itself is tested separately)."""
    h = s3.head_object(Bucket=bucket, Key=key, VersionId=vid)
    return {"Mode": h.get("ObjectLockMode"), "RetainUntilDate": h.get("ObjectLockRetainUntilDate")}


def assert_intact(s3, bucket, key, vid, body, until=None):
    assert s3h.body_of(s3, bucket, key, VersionId=vid) == body
    if until is not None:
        r = retention(s3, bucket, key, vid)
        assert r["Mode"] == "COMPLIANCE"
        assert s3h.same_instant(r["RetainUntilDate"], until)


@aws
def test_lock_headers_on_put_are_reported(s3, bucket):
    vid, until = put_locked(s3, bucket, "k", hold="ON")
    h = s3.head_object(Bucket=bucket, Key="k", VersionId=vid)
    assert h["ObjectLockMode"] == "COMPLIANCE"
    assert s3h.same_instant(h["ObjectLockRetainUntilDate"], until)
    assert h["ObjectLockLegalHoldStatus"] == "ON"
    g = s3.get_object(Bucket=bucket, Key="k")
    assert g["ObjectLockMode"] == "COMPLIANCE"
    assert s3h.same_instant(g["ObjectLockRetainUntilDate"], until)
    r = retention(s3, bucket, "k", vid)
    assert r["Mode"] == "COMPLIANCE" and s3h.same_instant(r["RetainUntilDate"], until)


@aws
@gap("moto ignores ?retention / ?legal-hold when a versionId is given and returns the object")
def test_get_retention_and_legal_hold_by_version_id(s3, bucket):
    vid, until = put_locked(s3, bucket, "k", hold="ON")
    s3.put_object(Bucket=bucket, Key="k", Body=b"newer, unheld", ChecksumAlgorithm="SHA256")
    r = s3.get_object_retention(Bucket=bucket, Key="k", VersionId=vid)["Retention"]
    assert r["Mode"] == "COMPLIANCE" and s3h.same_instant(r["RetainUntilDate"], until)
    assert s3.get_object_legal_hold(Bucket=bucket, Key="k", VersionId=vid)["LegalHold"]["Status"] == "ON"


@aws
@gap("moto answers GetObjectRetention with a 500")
def test_retention_applies_to_current_version_without_version_id(s3, bucket):
    vid, until = put_locked(s3, bucket, "k")
    r = s3.get_object_retention(Bucket=bucket, Key="k")["Retention"]
    assert s3h.same_instant(r["RetainUntilDate"], until)
    later = s3h.future(1800)
    s3.put_object_retention(Bucket=bucket, Key="k", Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later})
    assert s3h.same_instant(retention(s3, bucket, "k", vid)["RetainUntilDate"], later)


@aws
def test_extend_retention(s3, bucket):
    vid, _ = put_locked(s3, bucket, "k")
    later = s3h.future(3600)
    s3.put_object_retention(Bucket=bucket, Key="k", VersionId=vid, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later})
    assert s3h.same_instant(retention(s3, bucket, "k", vid)["RetainUntilDate"], later)
    # the same date again is an idempotent success (Veeam re-applies retention all the time)
    s3.put_object_retention(Bucket=bucket, Key="k", VersionId=vid, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later})


@aws
@gap("moto lets COMPLIANCE retention be shortened")
def test_shorten_retention_is_refused(s3, bucket):
    vid, until = put_locked(s3, bucket, "k", seconds=3600)
    expect_error(
        s3.put_object_retention, Bucket=bucket, Key="k", VersionId=vid,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": s3h.future(600)}, status=403, code="AccessDenied",
    )
    assert_intact(s3, bucket, "k", vid, b"locked bytes", until)


@aws
@gap("moto lets COMPLIANCE retention be shortened")
def test_shorten_retention_with_bypass_header_is_refused(s3, bucket):
    vid, until = put_locked(s3, bucket, "k", seconds=3600)
    expect_error(
        s3.put_object_retention, Bucket=bucket, Key="k", VersionId=vid, BypassGovernanceRetention=True,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": s3h.future(600)}, status=403, code="AccessDenied",
    )
    assert_intact(s3, bucket, "k", vid, b"locked bytes", until)


@aws
@gap("moto lets COMPLIANCE retention be changed to GOVERNANCE")
@pytest.mark.parametrize("bypass", [False, True])
def test_compliance_to_governance_is_refused(s3, bucket, bypass):
    vid, until = put_locked(s3, bucket, "k", seconds=3600)
    kw = {"BypassGovernanceRetention": True} if bypass else {}
    expect_error(
        s3.put_object_retention, Bucket=bucket, Key="k", VersionId=vid,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": s3h.future(7200)}, status=403, code="AccessDenied", **kw,
    )
    # ...so a governance-bypass delete has nothing to bypass
    expect_error(s3.delete_object, Bucket=bucket, Key="k", VersionId=vid, BypassGovernanceRetention=True,
                 status=403, code="AccessDenied")
    assert_intact(s3, bucket, "k", vid, b"locked bytes", until)


@aws
@gap("moto clears retention on an empty <Retention/>")
@pytest.mark.parametrize(
    "ret", [{}, {"Mode": "COMPLIANCE"}, {"RetainUntilDate": "FUTURE"}], ids=["empty", "mode-only", "date-only"]
)
def test_retention_cannot_be_removed(s3, bucket, ret):
    vid, until = put_locked(s3, bucket, "k", seconds=3600)
    if ret.get("RetainUntilDate") == "FUTURE":
        ret = {"RetainUntilDate": s3h.future(7200)}
    e = expect_error(s3.put_object_retention, Bucket=bucket, Key="k", VersionId=vid, Retention=ret)
    # AWS documents no single code for a retention without mode or date: 400 MalformedXML or 403
    # AccessDenied are both refusals; what matters is that nothing changed.
    assert s3h.status_of(e) in (400, 403), e
    assert_intact(s3, bucket, "k", vid, b"locked bytes", until)
    expect_error(s3.delete_object, Bucket=bucket, Key="k", VersionId=vid, status=403, code="AccessDenied")


@aws
def test_delete_retained_version_is_refused(s3, bucket):
    vid, until = put_locked(s3, bucket, "k")
    expect_error(s3.delete_object, Bucket=bucket, Key="k", VersionId=vid, status=403, code="AccessDenied")
    expect_error(s3.delete_object, Bucket=bucket, Key="k", VersionId=vid, BypassGovernanceRetention=True,
                 status=403, code="AccessDenied")
    assert_intact(s3, bucket, "k", vid, b"locked bytes", until)


@aws
def test_delete_without_version_adds_marker_over_retained_version(s3, bucket):
    vid, until = put_locked(s3, bucket, "k")
    d = s3.delete_object(Bucket=bucket, Key="k")
    assert d["ResponseMetadata"]["HTTPStatusCode"] == 204
    marker = d["VersionId"]
    assert marker != vid
    expect_error(s3.get_object, Bucket=bucket, Key="k", status=404, code="NoSuchKey")
    versions, markers = s3h.version_ids(s3, bucket, "k")
    assert versions == {vid} and markers == {marker}
    assert_intact(s3, bucket, "k", vid, b"locked bytes", until)


@aws
def test_removing_marker_then_deleting_retained_version(s3, bucket):
    vid, until = put_locked(s3, bucket, "k")
    marker = s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
    s3.delete_object(Bucket=bucket, Key="k", VersionId=marker)  # markers are never locked
    expect_error(s3.delete_object, Bucket=bucket, Key="k", VersionId=vid, status=403, code="AccessDenied")
    assert s3h.body_of(s3, bucket, "k") == b"locked bytes"


@aws
def test_new_version_over_retained_key_is_allowed(s3, bucket):
    vid, until = put_locked(s3, bucket, "k")
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"second")["VersionId"]
    assert v2 != vid
    assert s3h.body_of(s3, bucket, "k") == b"second"
    assert_intact(s3, bucket, "k", vid, b"locked bytes", until)


@aws
def test_lock_an_older_version_by_id(s3, bucket):
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"old")["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"new")
    until = s3h.future(1200)
    s3.put_object_retention(Bucket=bucket, Key="k", VersionId=v1, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until})
    r = retention(s3, bucket, "k", v1)
    assert s3h.same_instant(r["RetainUntilDate"], until)
    s3.put_object_legal_hold(Bucket=bucket, Key="k", VersionId=v1, LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket=bucket, Key="k", VersionId=v1)["LegalHold"]["Status"] == "ON"
    h = s3.head_object(Bucket=bucket, Key="k", VersionId=v1)
    assert h["ObjectLockLegalHoldStatus"] == "ON" and h["ObjectLockMode"] == "COMPLIANCE"


@aws
@gap("moto accepts a retain-until date in the past")
def test_retention_date_in_the_past_is_refused(s3, bucket):
    vid, until = put_locked(s3, bucket, "k")
    past = s3h.future(-3600)
    e = expect_error(s3.put_object_retention, Bucket=bucket, Key="k", VersionId=vid,
                     Retention={"Mode": "COMPLIANCE", "RetainUntilDate": past}, status=400)
    # AWS's exact code is not documented (docs/s3-object-lock.md §7.1): InvalidArgument or InvalidRequest
    assert s3h.code_of(e) in ("InvalidArgument", "InvalidRequest")
    expect_error(s3.put_object, Bucket=bucket, Key="p", Body=b"x", ObjectLockMode="COMPLIANCE",
                 ObjectLockRetainUntilDate=past, ChecksumAlgorithm="SHA256", status=400)
    expect_error(s3.head_object, Bucket=bucket, Key="p", status=404)


@aws
@gap("moto accepts a lock mode without a date (and vice versa)")
def test_mode_and_date_must_come_together(s3, bucket):
    expect_error(s3.put_object, Bucket=bucket, Key="m", Body=b"x", ObjectLockMode="COMPLIANCE",
                 ChecksumAlgorithm="SHA256", status=400, code="InvalidRequest")
    expect_error(s3.put_object, Bucket=bucket, Key="d", Body=b"x", ObjectLockRetainUntilDate=s3h.future(600),
                 ChecksumAlgorithm="SHA256", status=400, code="InvalidRequest")
    for k in ("m", "d"):
        expect_error(s3.head_object, Bucket=bucket, Key=k, status=404)


@aws
@gap("moto answers PutObjectRetention on a missing key with a 500")
def test_retention_of_missing_key(s3, bucket):
    expect_error(s3.get_object_retention, Bucket=bucket, Key="nope", status=404, code="NoSuchKey")
    expect_error(s3.put_object_retention, Bucket=bucket, Key="nope",
                 Retention={"Mode": "COMPLIANCE", "RetainUntilDate": s3h.future(600)}, status=404, code="NoSuchKey")


# --- legal hold --------------------------------------------------------------------------------


@aws
def test_legal_hold_on_off(s3, bucket):
    vid = s3.put_object(Bucket=bucket, Key="k", Body=b"x", ChecksumAlgorithm="SHA256")["VersionId"]
    s3.put_object_legal_hold(Bucket=bucket, Key="k", VersionId=vid, LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket=bucket, Key="k", VersionId=vid)["LegalHold"]["Status"] == "ON"
    assert s3.head_object(Bucket=bucket, Key="k")["ObjectLockLegalHoldStatus"] == "ON"
    s3.put_object_legal_hold(Bucket=bucket, Key="k", VersionId=vid, LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket=bucket, Key="k", VersionId=vid)["LegalHold"]["Status"] == "OFF"


@aws
def test_legal_hold_blocks_version_delete(s3, bucket):
    vid = s3.put_object(Bucket=bucket, Key="k", Body=b"held", ObjectLockLegalHoldStatus="ON",
                        ChecksumAlgorithm="SHA256")["VersionId"]
    expect_error(s3.delete_object, Bucket=bucket, Key="k", VersionId=vid, status=403, code="AccessDenied")
    expect_error(s3.delete_object, Bucket=bucket, Key="k", VersionId=vid, BypassGovernanceRetention=True,
                 status=403, code="AccessDenied")
    assert s3h.body_of(s3, bucket, "k", VersionId=vid) == b"held"


@aws
@gap("moto does not validate the legal hold status")
@pytest.mark.parametrize("status", ["on", "MAYBE"])
def test_legal_hold_bad_status(s3, bucket, status):
    vid = s3.put_object(Bucket=bucket, Key="k", Body=b"x", ChecksumAlgorithm="SHA256")["VersionId"]
    expect_error(s3.put_object_legal_hold, Bucket=bucket, Key="k", VersionId=vid, LegalHold={"Status": status},
                 status=400, code="MalformedXML")


@aws
@slow
def test_expiry_then_legal_hold_alone_blocks(s3, bucket):
    # short explicit retention: valid on AWS too
    vid, _ = put_locked(s3, bucket, "k", body=b"short", seconds=3, hold="ON")
    plain, _ = put_locked(s3, bucket, "p", body=b"short", seconds=3)
    expect_error(s3.delete_object, Bucket=bucket, Key="p", VersionId=plain, status=403, code="AccessDenied")
    time.sleep(4.5)
    # retention has passed: the hold alone still protects
    expect_error(s3.delete_object, Bucket=bucket, Key="k", VersionId=vid, status=403, code="AccessDenied")
    assert s3h.body_of(s3, bucket, "k", VersionId=vid) == b"short"
    # the unheld one may now be deleted permanently
    r = s3.delete_object(Bucket=bucket, Key="p", VersionId=plain)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3h.version_ids(s3, bucket, "p") == (set(), set())
    s3.put_object_legal_hold(Bucket=bucket, Key="k", VersionId=vid, LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=bucket, Key="k", VersionId=vid)
    expect_error(s3.head_object, Bucket=bucket, Key="k", VersionId=vid, status=404)


@aws
@slow
def test_retention_can_be_set_again_after_expiry(s3, bucket):
    vid, _ = put_locked(s3, bucket, "k", seconds=3)
    time.sleep(4.5)
    later = s3h.future(600)
    s3.put_object_retention(Bucket=bucket, Key="k", VersionId=vid, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later})
    assert s3h.same_instant(retention(s3, bucket, "k", vid)["RetainUntilDate"], later)


# --- DeleteObjects -----------------------------------------------------------------------------


@aws
@gap("moto omits VersionId in DeleteObjects errors and ignores Quiet")
def test_delete_objects_mixed(s3, bucket):
    locked, until = put_locked(s3, bucket, "locked")
    held = s3.put_object(Bucket=bucket, Key="held", Body=b"h", ObjectLockLegalHoldStatus="ON",
                         ChecksumAlgorithm="SHA256")["VersionId"]
    s3.put_object(Bucket=bucket, Key="plain", Body=b"p")
    s3.put_object(Bucket=bucket, Key="m", Body=b"m")
    marker = s3.delete_object(Bucket=bucket, Key="m")["VersionId"]
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "locked", "VersionId": locked},
        {"Key": "held", "VersionId": held},
        {"Key": "plain"},
        {"Key": "m", "VersionId": marker},
        {"Key": "locked"},
    ]})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    errors = {(e["Key"], e.get("VersionId")): e["Code"] for e in r.get("Errors", [])}
    assert errors == {("locked", locked): "AccessDenied", ("held", held): "AccessDenied"}
    deleted = {(d["Key"], d.get("VersionId")): d for d in r["Deleted"]}
    assert ("m", marker) in deleted and deleted[("m", marker)].get("DeleteMarker") is True
    plain = [d for d in r["Deleted"] if d["Key"] == "plain"]
    assert len(plain) == 1 and plain[0]["DeleteMarker"] is True and plain[0]["DeleteMarkerVersionId"]
    lk = [d for d in r["Deleted"] if d["Key"] == "locked"]
    assert len(lk) == 1 and lk[0]["DeleteMarker"] is True and lk[0]["DeleteMarkerVersionId"]
    assert_intact(s3, bucket, "locked", locked, b"locked bytes", until)
    assert s3h.body_of(s3, bucket, "held", VersionId=held) == b"h"
    expect_error(s3.get_object, Bucket=bucket, Key="plain", status=404, code="NoSuchKey")
    assert s3h.body_of(s3, bucket, "m") == b"m"


@aws
@gap("moto omits VersionId in DeleteObjects errors and ignores Quiet")
def test_delete_objects_quiet_reports_only_errors(s3, bucket):
    locked, until = put_locked(s3, bucket, "locked")
    s3.put_object(Bucket=bucket, Key="plain", Body=b"p")
    r = s3.delete_objects(Bucket=bucket, Delete={"Quiet": True, "Objects": [
        {"Key": "locked", "VersionId": locked}, {"Key": "plain"}]})
    assert r.get("Deleted", []) == []
    assert [(e["Key"], e["VersionId"], e["Code"]) for e in r["Errors"]] == [("locked", locked, "AccessDenied")]
    assert_intact(s3, bucket, "locked", locked, b"locked bytes", until)


@aws
def test_delete_objects_duplicate_locked_entries(s3, bucket):
    locked, until = put_locked(s3, bucket, "locked")
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "locked", "VersionId": locked}] * 3})
    assert all(e["Code"] == "AccessDenied" for e in r["Errors"]) and r["Errors"]
    assert not [d for d in r.get("Deleted", []) if d.get("VersionId") == locked]
    assert_intact(s3, bucket, "locked", locked, b"locked bytes", until)


@aws
@gap("moto accepts more than 1000 keys in DeleteObjects")
def test_delete_objects_over_1000_keys_is_malformed(s3, bucket):
    objs = [{"Key": f"k{i}"} for i in range(1001)]
    expect_error(s3.delete_objects, Bucket=bucket, Delete={"Objects": objs}, status=400, code="MalformedXML")
    assert s3h.all_versions(s3, bucket) == ([], [])


@aws
def test_delete_objects_1000_keys(s3, bucket):
    objs = [{"Key": f"k{i:04d}"} for i in range(1000)]
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": objs, "Quiet": True})
    assert r.get("Errors", []) == []


@aws
def test_retain_until_date_with_fractional_seconds(s3, bucket):
    # some clients send 2030-01-01T00:00:00.000Z (docs/s3-object-lock.md §1.3): accepted like the plain form
    vid, _ = put_locked(s3, bucket, "k")
    until = s3h.future(2400)
    text = until.strftime("%Y-%m-%dT%H:%M:%S") + ".000Z"
    body = ('<Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>COMPLIANCE</Mode>'
            f"<RetainUntilDate>{text}</RetainUntilDate></Retention>").encode()
    path = s3h.object_path(bucket, "k")
    params = [("retention", ""), ("versionId", vid)]
    signed = s3h.sign("PUT", path, params, {"content-md5": s3h.md5_b64(body)}, s3h.sha256_hex(body))
    r = s3h.raw_request("PUT", path, params, signed.headers, body)
    assert r.status == 200, r
    assert s3h.same_instant(retention(s3, bucket, "k", vid)["RetainUntilDate"], until)
