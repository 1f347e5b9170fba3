"""Backup software that manages its own Object Lock, replayed: real Veeam and Kopia cannot run here, so these
tests send what they send (from their public documentation and source, see /work/shared/BACKUP-TOOLS.md):

- Veeam: version listing with prefix and '/' delimiter (Cloud.FindLastCheckpointId), namespace-less
  <Retention> XML (SeaweedFS #7516), checkpoint CopyObject and conditional PUTs, a retention-extension
  burst (KB4470: every ~10 days), DeleteObjects of expired versions in 1000-key batches, SOSAPI reads
  with Range.
- Kopia: PUT with Content-MD5 and lock headers, maintenance extension without versionId (PR #2179),
  point-in-time listing (s3_pit.go).
- rclone --s3-object-lock-set-after-upload: PUT, then PutObjectRetention and PutObjectLegalHold.

All with wormgate's `backup` role key; the `writer` key is refused where it should be. Legal hold is not
the backup role's: rclone with --s3-object-lock-legal-hold-status needs the officer key.
"""

import datetime as dt
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import s3h
from s3h import expect_error

pytestmark = pytest.mark.wormgate

SOS = ".system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c"


def wait_floor():
    time.sleep(s3h.MIN_RETENTION_S + 1.0)


@pytest.fixture
def backup(role_client):
    return role_client("backup")


@pytest.fixture
def writer(role_client):
    return role_client("writer")


@pytest.fixture
def officer(role_client):
    return role_client("officer")


def until_of(s3, bucket, key, vid=None):
    kw = {"VersionId": vid} if vid else {}
    r = s3.get_object_retention(Bucket=bucket, Key=key, **kw)["Retention"]
    assert r["Mode"] == "COMPLIANCE"
    return r["RetainUntilDate"]


def element(doc, name):
    start = doc.index(f"<{name}>") + len(name) + 2
    return doc[start : doc.index(f"</{name}>", start)]


# --- Veeam ---------------------------------------------------------------------------------------


def test_veeam_version_listing_with_prefix_and_delimiter(s3, bucket, backup):
    for k in ("Veeam/Archive/Job1/blocks/a.blk", "Veeam/Archive/Job1/CheckpointHistory", "Veeam/Archive/Job2/x.blk"):
        backup.put_object(Bucket=bucket, Key=k, Body=b"block")
    r = backup.list_object_versions(Bucket=bucket, Prefix="Veeam/Archive/", Delimiter="/")
    prefixes = sorted(p["Prefix"] for p in r.get("CommonPrefixes", []))
    assert prefixes == ["Veeam/Archive/Job1/", "Veeam/Archive/Job2/"]
    # no synthetic directory keys (SeaweedFS #9884: "Unexpected key path")
    assert [v["Key"] for v in r.get("Versions", [])] == []
    r = backup.list_object_versions(Bucket=bucket, Prefix="Veeam/Archive/Job1/", Delimiter="/")
    assert [v["Key"] for v in r["Versions"]] == ["Veeam/Archive/Job1/CheckpointHistory"]
    assert all(v["VersionId"] for v in r["Versions"])
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["Veeam/Archive/Job1/blocks/"]


def _signed_put_retention(bucket, key, body, keys, vid=None):
    params = [("retention", "")] + ([("versionId", vid)] if vid else [])
    path = s3h.object_path(bucket, key)
    headers = {"content-md5": s3h.md5_b64(body), "content-type": "application/xml"}
    signed = s3h.sign("PUT", path, params, headers, hashlib.sha256(body).hexdigest(), access_key=keys[0], secret_key=keys[1])
    return s3h.raw_request("PUT", path, params, signed.headers, body)


def test_veeam_retention_xml_without_namespace(s3, bucket, users):
    vid = s3.put_object(Bucket=bucket, Key="blk", Body=b"b")["VersionId"]
    until = s3h.iso(s3h.future(3 * 86400))
    body = f"<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>{until}</RetainUntilDate></Retention>".encode()
    r = _signed_put_retention(bucket, "blk", body, users["backup"], vid)
    assert r.status == 200, r.body
    assert s3h.same_instant(until_of(s3, bucket, "blk", vid), s3h.future(3 * 86400), tolerance=5)
    r = _signed_put_retention(bucket, "blk", body, users["writer"], vid)
    assert r.status == 403 and b"AccessDenied" in r.body, r.body


def test_veeam_checkpoint_copy_and_conditional_puts(s3, bucket, backup):
    k = "Veeam/Archive/Job/CheckpointHistory"
    first = backup.put_object(Bucket=bucket, Key=k, Body=b"cp1", IfNoneMatch="*")
    assert first["VersionId"]
    expect_error(backup.put_object, Bucket=bucket, Key=k, Body=b"again", IfNoneMatch="*", status=412, code="PreconditionFailed")
    second = backup.put_object(Bucket=bucket, Key=k, Body=b"cp2", IfMatch=first["ETag"])
    assert second["VersionId"] != first["VersionId"]
    expect_error(backup.put_object, Bucket=bucket, Key=k, Body=b"stale", IfMatch=first["ETag"], status=412, code="PreconditionFailed")
    # checkpoint copy (Cloud.CreateCheckpoint / DeleteBackup copy the checkpoint object)
    c = backup.copy_object(Bucket=bucket, Key=k + ".copy", CopySource={"Bucket": bucket, "Key": k, "VersionId": first["VersionId"]})
    assert c["VersionId"]
    assert s3h.body_of(backup, bucket, k + ".copy") == b"cp1"
    assert s3h.body_of(backup, bucket, k) == b"cp2"


def test_veeam_retention_extension_burst(s3, bucket, backup, writer):
    n = 200
    with ThreadPoolExecutor(16) as pool:
        vids = list(pool.map(lambda i: backup.put_object(Bucket=bucket, Key=f"blocks/{i:05d}.blk", Body=b"x" * 64)["VersionId"], range(n)))
    until = s3h.future(10 * 86400)

    def extend(i):
        return backup.put_object_retention(
            Bucket=bucket, Key=f"blocks/{i:05d}.blk", VersionId=vids[i],
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until},
        )["ResponseMetadata"]["HTTPStatusCode"]

    with ThreadPoolExecutor(64) as pool:
        assert set(pool.map(extend, range(n))) == {200}
    for i in (0, n // 2, n - 1):
        assert s3h.same_instant(until_of(s3, bucket, f"blocks/{i:05d}.blk", vids[i]), until)
    expect_error(writer.put_object_retention, Bucket=bucket, Key="blocks/00000.blk", VersionId=vids[0],
                 Retention={"Mode": "COMPLIANCE", "RetainUntilDate": s3h.future(11 * 86400)}, status=403, code="AccessDenied")
    # never shorter, even for the backup role
    expect_error(backup.put_object_retention, Bucket=bucket, Key="blocks/00000.blk", VersionId=vids[0],
                 Retention={"Mode": "COMPLIANCE", "RetainUntilDate": s3h.future(5 * 86400)}, status=403, code="AccessDenied")


@pytest.mark.slow
def test_veeam_deletes_expired_versions_in_1000_key_batches(s3, bucket, backup, writer):
    n = 1100

    def put(i):
        return {"Key": f"blocks/{i % 7}/{i:05d}.blk", "VersionId": backup.put_object(Bucket=bucket, Key=f"blocks/{i % 7}/{i:05d}.blk", Body=b"b")["VersionId"]}

    with ThreadPoolExecutor(16) as pool:
        objs = list(pool.map(put, range(n)))
    kept_vid = backup.put_object(Bucket=bucket, Key="kept.blk", Body=b"k", ObjectLockMode="COMPLIANCE",
                                 ObjectLockRetainUntilDate=s3h.future(3600))["VersionId"]
    wait_floor()
    # the writer key: every version id refused, one by one
    r = writer.delete_objects(Bucket=bucket, Delete={"Objects": objs[:10], "Quiet": True})
    assert len(r.get("Errors", [])) == 10 and {e["Code"] for e in r["Errors"]} == {"AccessDenied"}
    batches = [objs[i : i + 1000] for i in range(0, n, 1000)]
    batches[-1].append({"Key": "kept.blk", "VersionId": kept_vid})
    errors = []
    for batch in batches:
        assert len(batch) <= 1000
        r = backup.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        errors += r.get("Errors", [])
    assert [(e["Key"], e["Code"]) for e in errors] == [("kept.blk", "AccessDenied")]
    versions, markers = s3h.all_versions(s3, bucket)
    assert [v["Key"] for v in versions] == ["kept.blk"] and markers == []


def test_veeam_sosapi_reads_with_range(s3, bucket, backup, writer):
    backup.put_object(Bucket=bucket, Key="Veeam/Archive/blk", Body=b"z" * 1000)
    for prefix in ("", "Veeam/Archive/"):
        sys_key, cap_key = f"{prefix}{SOS}/system.xml", f"{prefix}{SOS}/capacity.xml"
        full = backup.get_object(Bucket=bucket, Key=sys_key)
        doc = full["Body"].read().decode()
        assert element(doc, "ProtocolVersion") == '"1.0"'
        assert element(doc, "ModelName").startswith('"wormgate ') and element(doc, "ModelName").endswith('"')
        # upstream mode without --sosapi-capacity has no capacity to report
        has_capacity = element(doc, "CapacityInfo") == "true"
        assert element(doc, "CapacityInfo") in ("true", "false")
        assert element(doc, "UploadSessions") == "false" and element(doc, "IAMSTS") == "false"
        assert element(doc, "S3MultiObjectDeleteLimit") == "1000"
        part = backup.get_object(Bucket=bucket, Key=sys_key, Range="bytes=5-24")
        assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert part["ContentRange"] == f"bytes 5-24/{len(doc)}"
        assert part["Body"].read().decode() == doc[5:25]
        assert backup.get_object(Bucket=bucket, Key=sys_key, Range="bytes=-7")["Body"].read().decode() == doc[-7:]
        h = backup.head_object(Bucket=bucket, Key=sys_key)
        assert h["ETag"] == full["ETag"] and h["ContentLength"] == len(doc) and h["LastModified"]
        if has_capacity:
            cap = backup.get_object(Bucket=bucket, Key=cap_key)["Body"].read().decode()
            capacity, used, avail = (int(element(cap, n)) for n in ("Capacity", "Used", "Available"))
            # Available = Capacity - Used, but in disk mode never more than the volume still has above
            # the free-space reserve (the suite's gateway runs on the real disk, with no quota here).
            assert used == 1000 and 0 <= avail <= max(0, capacity - used)
        else:
            expect_error(backup.get_object, Bucket=bucket, Key=cap_key, status=404, code="NoSuchKey")
        for c in (backup, writer, s3):
            expect_error(c.put_object, Bucket=bucket, Key=sys_key, Body=b"<x/>", status=403, code="AccessDenied")
            expect_error(c.delete_object, Bucket=bucket, Key=cap_key, status=403, code="AccessDenied")
    listed, markers = s3h.all_versions(s3, bucket)
    assert all(SOS not in v["Key"] for v in listed + markers)


# --- Kopia ---------------------------------------------------------------------------------------


def test_kopia_put_with_content_md5_and_lock_headers(s3, bucket, backup):
    data = b"kopia pack blob" * 100
    until = s3h.future(7 * 86400)
    r = backup.put_object(Bucket=bucket, Key="p0123456789abcdef", Body=data, ContentMD5=s3h.md5_b64(data),
                          ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)
    h = backup.head_object(Bucket=bucket, Key="p0123456789abcdef", VersionId=r["VersionId"])
    assert h["ObjectLockMode"] == "COMPLIANCE" and s3h.same_instant(h["ObjectLockRetainUntilDate"], until)
    assert h["ETag"] == f'"{s3h.md5_hex(data)}"'
    expect_error(backup.put_object, Bucket=bucket, Key="bad", Body=data, ContentMD5=s3h.md5_b64(b"other"),
                 ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until, status=400, code="BadDigest")


def test_kopia_maintenance_extends_without_version_id(s3, bucket, backup, writer):
    v1 = backup.put_object(Bucket=bucket, Key="q0001", Body=b"one", ObjectLockMode="COMPLIANCE",
                           ObjectLockRetainUntilDate=s3h.future(86400))["VersionId"]
    v2 = backup.put_object(Bucket=bucket, Key="q0001", Body=b"two", ObjectLockMode="COMPLIANCE",
                           ObjectLockRetainUntilDate=s3h.future(86400))["VersionId"]
    before_v1 = until_of(s3, bucket, "q0001", v1)
    later = s3h.future(14 * 86400)
    r = backup.put_object_retention(Bucket=bucket, Key="q0001", Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later})
    assert s3h.hdr(r, "x-amz-version-id") == v2
    assert s3h.same_instant(until_of(s3, bucket, "q0001", v2), later)
    assert until_of(s3, bucket, "q0001", v1) == before_v1
    expect_error(writer.put_object_retention, Bucket=bucket, Key="q0001",
                 Retention={"Mode": "COMPLIANCE", "RetainUntilDate": s3h.future(15 * 86400)}, status=403, code="AccessDenied")
    # the current version is a delete marker: nothing to extend
    backup.delete_object(Bucket=bucket, Key="q0001")
    expect_error(backup.put_object_retention, Bucket=bucket, Key="q0001",
                 Retention={"Mode": "COMPLIANCE", "RetainUntilDate": s3h.future(15 * 86400)}, status=405, code="MethodNotAllowed")


def test_kopia_point_in_time_listing(s3, bucket, backup):
    v_old = backup.put_object(Bucket=bucket, Key="kopia.repository", Body=b"old")["VersionId"]
    backup.put_object(Bucket=bucket, Key="n1", Body=b"n1")
    time.sleep(1.1)
    point = dt.datetime.now(dt.timezone.utc)
    time.sleep(1.1)
    backup.put_object(Bucket=bucket, Key="kopia.repository", Body=b"new")
    backup.delete_object(Bucket=bucket, Key="n1")
    versions, markers = s3h.all_versions(backup, bucket)
    # the state at `point`: for each key, the newest entry not later than it (s3_pit.go)
    entries = sorted(
        [(v["Key"], v["LastModified"], v["VersionId"], False) for v in versions]
        + [(m["Key"], m["LastModified"], m["VersionId"], True) for m in markers],
        key=lambda e: (e[0], e[1]),
    )
    at_point = {}
    for key, modified, vid, is_marker in entries:
        if modified <= point:
            at_point[key] = None if is_marker else vid
    assert at_point["kopia.repository"] == v_old
    assert at_point["n1"] is not None
    assert s3h.body_of(backup, bucket, "kopia.repository", VersionId=v_old) == b"old"
    assert s3h.body_of(backup, bucket, "n1", VersionId=at_point["n1"]) == b"n1"
    expect_error(backup.get_object, Bucket=bucket, Key="n1", status=404, code="NoSuchKey")


# --- rclone --s3-object-lock-set-after-upload ------------------------------------------------------


def test_rclone_set_after_upload(s3, bucket, backup, writer, officer):
    vid = backup.put_object(Bucket=bucket, Key="docs/report.pdf", Body=b"%PDF")["VersionId"]
    until = s3h.future(30 * 86400)
    ret = {"Mode": "COMPLIANCE", "RetainUntilDate": until}
    expect_error(writer.put_object_retention, Bucket=bucket, Key="docs/report.pdf", VersionId=vid, Retention=ret, status=403, code="AccessDenied")
    backup.put_object_retention(Bucket=bucket, Key="docs/report.pdf", VersionId=vid, Retention=ret)
    assert s3h.same_instant(until_of(s3, bucket, "docs/report.pdf", vid), until)
    # legal hold is not the backup role's: rclone with --s3-object-lock-legal-hold-status needs an officer key
    for c in (writer, backup):
        expect_error(c.put_object_legal_hold, Bucket=bucket, Key="docs/report.pdf", VersionId=vid,
                     LegalHold={"Status": "ON"}, status=403, code="AccessDenied")
    officer.put_object_legal_hold(Bucket=bucket, Key="docs/report.pdf", VersionId=vid, LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket=bucket, Key="docs/report.pdf", VersionId=vid)["LegalHold"]["Status"] == "ON"
    officer.put_object_legal_hold(Bucket=bucket, Key="docs/report.pdf", LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket=bucket, Key="docs/report.pdf", VersionId=vid)["LegalHold"]["Status"] == "OFF"
    # nor the bucket's rules
    expect_error(backup.put_object_lock_configuration, Bucket=bucket,
                 ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}},
                 status=403, code="AccessDenied")
