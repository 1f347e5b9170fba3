"""Multipart uploads: create/upload/copy-part/complete/abort/list, part ETags and checksums, GET ?partNumber,
and their Object Lock rules (lock headers bind at completion; completion never touches older versions)."""

import base64
import functools

import pytest

import s3h
from s3h import MiB, expect_error

aws = pytest.mark.aws
wormgate = pytest.mark.wormgate
gap = pytest.mark.moto_gap

PART = 5 * MiB


@functools.lru_cache(maxsize=None)
def data(n, seed):
    return s3h.payload(n, seed)


def upload(s3, bucket, key, parts, create_kw=None, part_kw=None, complete=True):
    """Upload `parts` (list of bytes) and complete. Returns (complete response, [part dicts])."""
    up = s3.create_multipart_upload(Bucket=bucket, Key=key, **(create_kw or {}))
    uid = up["UploadId"]
    done = []
    for n, p in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=p, **(part_kw or {}))
        assert r["ETag"] == f'"{s3h.md5_hex(p)}"'
        entry = {"PartNumber": n, "ETag": r["ETag"]}
        for alg in ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"):
            if r.get(f"Checksum{alg}"):
                entry[f"Checksum{alg}"] = r[f"Checksum{alg}"]
        done.append(entry)
    if not complete:
        return uid, done
    c = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": done})
    return c, done


@aws
def test_multipart_roundtrip(s3, bucket):
    p1, p2 = data(PART, 1), data(1024, 2)
    c, _ = upload(s3, bucket, "mp", [p1, p2], create_kw={"ContentType": "application/x-test", "Metadata": {"m": "v"}})
    assert c["ETag"] == s3h.multipart_etag([p1, p2])
    assert c["Bucket"] == bucket and c["Key"] == "mp"
    assert c["VersionId"]
    g = s3.get_object(Bucket=bucket, Key="mp")
    assert g["Body"].read() == p1 + p2
    assert g["ETag"] == c["ETag"]
    assert g["VersionId"] == c["VersionId"]
    assert g["ContentType"] == "application/x-test"
    assert g["Metadata"] == {"m": "v"}
    assert g["ContentLength"] == PART + 1024
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    assert listed["ETag"] == c["ETag"] and listed["Size"] == PART + 1024


@aws
def test_single_small_part_is_fine(s3, bucket):
    p = data(100, 3)
    c, _ = upload(s3, bucket, "one", [p])
    assert c["ETag"] == s3h.multipart_etag([p])
    assert s3h.body_of(s3, bucket, "one") == p


@aws
def test_reuploading_a_part_replaces_it(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"first try")
    e2 = s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"second")["ETag"]
    parts = s3.list_parts(Bucket=bucket, Key="k", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == [(1, e2, 6)]
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e2}]})
    assert s3h.body_of(s3, bucket, "k") == b"second"


@aws
def test_list_parts_paging(s3, bucket):
    uid, done = upload(s3, bucket, "lp", [b"a" * 10, b"b" * 20, b"c" * 30], complete=False)
    r = s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid, MaxParts=2)
    assert [p["PartNumber"] for p in r["Parts"]] == [1, 2]
    assert [p["Size"] for p in r["Parts"]] == [10, 20]
    assert [p["ETag"] for p in r["Parts"]] == [d["ETag"] for d in done[:2]]
    assert r["IsTruncated"] is True
    assert r["NextPartNumberMarker"] == 2
    assert r["UploadId"] == uid and r["Key"] == "lp"
    r = s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid, PartNumberMarker=2)
    assert [p["PartNumber"] for p in r["Parts"]] == [3]
    assert r["IsTruncated"] is False
    s3.abort_multipart_upload(Bucket=bucket, Key="lp", UploadId=uid)


@aws
def test_list_multipart_uploads(s3, bucket):
    u1 = s3.create_multipart_upload(Bucket=bucket, Key="dir/a")["UploadId"]
    u2 = s3.create_multipart_upload(Bucket=bucket, Key="dir/b")["UploadId"]
    u3 = s3.create_multipart_upload(Bucket=bucket, Key="other")["UploadId"]
    r = s3.list_multipart_uploads(Bucket=bucket)
    assert [(u["Key"], u["UploadId"]) for u in r["Uploads"]] == [("dir/a", u1), ("dir/b", u2), ("other", u3)]
    for u in r["Uploads"]:
        assert u["Initiated"] is not None
    r = s3.list_multipart_uploads(Bucket=bucket, Prefix="dir/")
    assert [u["Key"] for u in r["Uploads"]] == ["dir/a", "dir/b"]
    for k, u in (("dir/a", u1), ("dir/b", u2), ("other", u3)):
        s3.abort_multipart_upload(Bucket=bucket, Key=k, UploadId=u)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@aws
@gap("moto ignores the delimiter of ListMultipartUploads")
def test_list_multipart_uploads_delimiter(s3, bucket):
    ids = [(k, s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"]) for k in ("dir/a", "dir/b", "other")]
    r = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [u["Key"] for u in r.get("Uploads", [])] == ["other"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["dir/"]
    for k, u in ids:
        s3.abort_multipart_upload(Bucket=bucket, Key=k, UploadId=u)


@aws
def test_list_multipart_uploads_paging(s3, bucket):
    ids = [(k, s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"]) for k in ("k1", "k2", "k3")]
    seen, kw = [], {"Bucket": bucket, "MaxUploads": 2}
    while True:
        r = s3.list_multipart_uploads(**kw)
        seen += [(u["Key"], u["UploadId"]) for u in r.get("Uploads", [])]
        if not r["IsTruncated"]:
            break
        kw["KeyMarker"] = r["NextKeyMarker"]
        kw["UploadIdMarker"] = r["NextUploadIdMarker"]
    assert seen == ids
    for k, u in ids:
        s3.abort_multipart_upload(Bucket=bucket, Key=k, UploadId=u)


@aws
def test_abort(s3, bucket):
    uid, done = upload(s3, bucket, "ab", [b"x" * 100], complete=False)
    r = s3.abort_multipart_upload(Bucket=bucket, Key="ab", UploadId=uid)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(s3.list_parts, Bucket=bucket, Key="ab", UploadId=uid, status=404, code="NoSuchUpload")
    expect_error(s3.head_object, Bucket=bucket, Key="ab", status=404)
    # an aborted upload leaves no version behind, so the bucket can go
    s3.delete_bucket(Bucket=bucket)


@aws
@gap("moto answers UploadPart/Complete on an unknown or aborted upload with a 500")
def test_upload_part_to_unknown_or_aborted_upload(s3, bucket):
    expect_error(s3.upload_part, Bucket=bucket, Key="k", UploadId="no-such-upload", PartNumber=1, Body=b"x",
                 status=404, code="NoSuchUpload")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=uid)
    expect_error(s3.upload_part, Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"x",
                 status=404, code="NoSuchUpload")
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=uid,
                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]},
                 status=404, code="NoSuchUpload")


@aws
def test_unknown_upload_id(s3, bucket):
    expect_error(s3.list_parts, Bucket=bucket, Key="k", UploadId="no-such-upload", status=404, code="NoSuchUpload")
    expect_error(s3.abort_multipart_upload, Bucket=bucket, Key="k", UploadId="no-such-upload",
                 status=404, code="NoSuchUpload")


@aws
@gap("moto accepts parts out of order")
def test_complete_parts_out_of_order(s3, bucket):
    # both parts are full size, so only the order is wrong
    uid, done = upload(s3, bucket, "k", [data(PART, 4), data(PART, 4)], complete=False)
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=uid,
                 MultipartUpload={"Parts": list(reversed(done))}, status=400, code="InvalidPartOrder")
    expect_error(s3.head_object, Bucket=bucket, Key="k", status=404)
    # the upload is still there and can be completed properly
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": done})


@aws
def test_complete_with_wrong_etag_or_unknown_part(s3, bucket):
    uid, done = upload(s3, bucket, "k", [data(PART, 5), b"tail"], complete=False)
    bad_etag = [done[0], {"PartNumber": 2, "ETag": '"00000000000000000000000000000000"'}]
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=uid,
                 MultipartUpload={"Parts": bad_etag}, status=400, code="InvalidPart")
    missing = done + [{"PartNumber": 3, "ETag": done[1]["ETag"]}]
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=uid,
                 MultipartUpload={"Parts": missing}, status=400, code="InvalidPart")
    expect_error(s3.head_object, Bucket=bucket, Key="k", status=404)


@aws
def test_complete_with_small_non_last_part(s3, bucket):
    uid, done = upload(s3, bucket, "k", [b"a" * 1024, b"b" * 1024], complete=False)
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=uid,
                 MultipartUpload={"Parts": done}, status=400, code="EntityTooSmall")
    expect_error(s3.head_object, Bucket=bucket, Key="k", status=404)


@aws
def test_complete_without_parts_is_malformed(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=uid,
                 MultipartUpload={"Parts": []}, status=400, code="MalformedXML")


@aws
@pytest.mark.parametrize("n", [pytest.param(0, marks=gap("moto answers part number 0 with NoSuchUpload")), 10001])
def test_part_number_out_of_range(s3, bucket, n):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    expect_error(s3.upload_part, Bucket=bucket, Key="k", UploadId=uid, PartNumber=n, Body=b"x",
                 status=400, code="InvalidArgument")
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=uid)


@aws
@gap("moto answers GET ?partNumber with 200 and no part range")
def test_get_and_head_part_number(s3, bucket):
    p1, p2 = data(PART, 6), data(2048, 7)
    upload(s3, bucket, "k", [p1, p2])
    g = s3.get_object(Bucket=bucket, Key="k", PartNumber=1)
    assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert g["PartsCount"] == 2
    assert g["ContentLength"] == PART
    assert g["ContentRange"] == f"bytes 0-{PART - 1}/{PART + 2048}"
    assert g["Body"].read() == p1
    g = s3.get_object(Bucket=bucket, Key="k", PartNumber=2)
    assert g["Body"].read() == p2
    assert g["ContentRange"] == f"bytes {PART}-{PART + 2047}/{PART + 2048}"
    h = s3.head_object(Bucket=bucket, Key="k", PartNumber=2)
    assert h["ContentLength"] == 2048 and h["PartsCount"] == 2


@aws
def test_upload_part_copy_with_ranges(s3, bucket):
    src = data(6 * MiB, 8)
    src_vid = s3.put_object(Bucket=bucket, Key="src", Body=src)["VersionId"]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    parts = []
    # an uploaded first part, then two ranges copied from the source (the last one short)
    head = data(PART, 18)
    parts.append({"PartNumber": 1, "ETag": s3.upload_part(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1, Body=head)["ETag"]})
    for n, (a, b) in enumerate([(0, PART - 1), (PART, len(src) - 1)], 2):
        r = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=n,
                                CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange=f"bytes={a}-{b}")
        assert r["CopyPartResult"]["ETag"] == f'"{s3h.md5_hex(src[a:b + 1])}"'
        assert r["CopyPartResult"]["LastModified"] is not None
        parts.append({"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]})
    c = s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=uid, MultipartUpload={"Parts": parts})
    assert s3h.body_of(s3, bucket, "dst") == head + src
    assert c["ETag"] == s3h.multipart_etag([head, src[:PART], src[PART:]])
    # the source is untouched
    assert s3h.body_of(s3, bucket, "src", VersionId=src_vid) == src


@aws
def test_upload_part_copy_from_old_version(s3, bucket):
    old = data(PART, 9)
    v1 = s3.put_object(Bucket=bucket, Key="src", Body=old)["VersionId"]
    s3.put_object(Bucket=bucket, Key="src", Body=b"newer")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    r = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "src", "VersionId": v1})
    s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
    assert s3h.body_of(s3, bucket, "dst") == old


@aws
@gap("moto sends no x-amz-copy-source-version-id on UploadPartCopy")
def test_upload_part_copy_reports_source_version(s3, bucket):
    v1 = s3.put_object(Bucket=bucket, Key="src", Body=b"source")["VersionId"]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    r = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "src", "VersionId": v1})
    assert r["CopySourceVersionId"] == v1
    s3.abort_multipart_upload(Bucket=bucket, Key="dst", UploadId=uid)


@aws
@gap("moto accepts a copy range beyond the end of the source")
def test_upload_part_copy_bad_range(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    e = expect_error(s3.upload_part_copy, Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1,
                     CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange="bytes=5-100")
    # ceph s3-tests test_multipart_copy_invalid_range accepts 400 InvalidArgument or 416 InvalidRange
    assert (s3h.status_of(e), s3h.code_of(e)) in {(400, "InvalidArgument"), (416, "InvalidRange")}, e
    s3.abort_multipart_upload(Bucket=bucket, Key="dst", UploadId=uid)


@aws
def test_range_across_part_boundary(s3, bucket):
    p1, p2 = data(PART, 20), data(10_000, 21)
    upload(s3, bucket, "k", [p1, p2])
    whole = p1 + p2
    r = s3.get_object(Bucket=bucket, Key="k", Range=f"bytes={PART - 100}-{PART + 99}")
    assert r["Body"].read() == whole[PART - 100:PART + 100]
    r = s3.get_object(Bucket=bucket, Key="k", Range="bytes=-50")
    assert r["Body"].read() == whole[-50:]


@aws
def test_complete_with_if_none_match(s3, bucket):
    s3.put_object(Bucket=bucket, Key="exists", Body=b"x")
    uid, done = upload(s3, bucket, "exists", [b"part"], complete=False)
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="exists", UploadId=uid, IfNoneMatch="*",
                 MultipartUpload={"Parts": done}, status=412, code="PreconditionFailed")
    assert s3h.body_of(s3, bucket, "exists") == b"x"
    uid, done = upload(s3, bucket, "fresh", [b"part"], complete=False)
    s3.complete_multipart_upload(Bucket=bucket, Key="fresh", UploadId=uid, IfNoneMatch="*", MultipartUpload={"Parts": done})
    assert s3h.body_of(s3, bucket, "fresh") == b"part"


# --- checksums ---------------------------------------------------------------------------------


@aws
@gap("moto does not compute composite multipart checksums")
def test_composite_crc32_checksum(s3, bucket):
    p1, p2 = data(PART, 10), data(3000, 11)
    c, done = upload(s3, bucket, "k", [p1, p2], create_kw={"ChecksumAlgorithm": "CRC32"},
                     part_kw={"ChecksumAlgorithm": "CRC32"})
    assert [d["ChecksumCRC32"] for d in done] == [s3h.crc32_b64(p1), s3h.crc32_b64(p2)]
    expected = s3h.b64(s3h.crc32_raw(s3h.crc32_raw(p1) + s3h.crc32_raw(p2))) + "-2"
    assert c.get("ChecksumCRC32") == expected
    h = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert h.get("ChecksumCRC32") == expected
    assert h.get("ChecksumType") == "COMPOSITE"


@aws
@gap("moto does not compute full-object multipart checksums")
@pytest.mark.parametrize("alg", ["CRC64NVME", "CRC32"])
def test_full_object_checksum(s3, bucket, alg):
    p1, p2 = data(PART, 12), data(4000, 13)
    fn = {"CRC64NVME": s3h.crc64nvme_b64, "CRC32": s3h.crc32_b64}[alg]
    c, done = upload(s3, bucket, "k", [p1, p2], create_kw={"ChecksumAlgorithm": alg, "ChecksumType": "FULL_OBJECT"},
                     part_kw={"ChecksumAlgorithm": alg})
    whole = fn(p1 + p2)
    assert c.get(f"Checksum{alg}") == whole
    h = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert h.get(f"Checksum{alg}") == whole
    assert h.get("ChecksumType") == "FULL_OBJECT"


@aws
@gap("moto does not verify part checksums")
def test_upload_part_with_wrong_checksum(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="SHA256")["UploadId"]
    expect_error(s3.upload_part, Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"part",
                 ChecksumSHA256=s3h.sha256_b64(b"not the part"), status=400, code="BadDigest")
    assert s3.list_parts(Bucket=bucket, Key="k", UploadId=uid).get("Parts", []) == []
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=uid)


@aws
def test_upload_part_with_content_md5(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    p = b"md5 checked part"
    e = s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=p, ContentMD5=s3h.md5_b64(p))["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
    assert s3h.body_of(s3, bucket, "k") == p


# --- Object Lock -------------------------------------------------------------------------------


@aws
@gap("moto drops the lock headers of CreateMultipartUpload")
def test_lock_headers_on_create_bind_to_completed_version(s3, bucket):
    until = s3h.future(900)
    c, _ = upload(
        s3, bucket, "k", [data(PART, 14), b"end"],
        create_kw={"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until, "ObjectLockLegalHoldStatus": "ON",
                   "ChecksumAlgorithm": "SHA256"},
        part_kw={"ChecksumAlgorithm": "SHA256"},
    )
    h = s3.head_object(Bucket=bucket, Key="k", VersionId=c["VersionId"])
    assert h["ObjectLockMode"] == "COMPLIANCE"
    assert s3h.same_instant(h["ObjectLockRetainUntilDate"], until)
    assert h["ObjectLockLegalHoldStatus"] == "ON"
    expect_error(s3.delete_object, Bucket=bucket, Key="k", VersionId=c["VersionId"], status=403, code="AccessDenied")


@aws
@gap("moto does not apply bucket default retention")
def test_default_retention_applies_to_multipart(s3, bucket):
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}})
    before = s3h.utcnow()
    c, _ = upload(s3, bucket, "k", [data(PART, 15), b"end"], create_kw={"ChecksumAlgorithm": "CRC32"},
                  part_kw={"ChecksumAlgorithm": "CRC32"})
    h = s3.head_object(Bucket=bucket, Key="k", VersionId=c["VersionId"])
    assert h["ObjectLockMode"] == "COMPLIANCE"
    assert abs((h["ObjectLockRetainUntilDate"] - (before + s3h.dt.timedelta(days=1))).total_seconds()) < 300
    expect_error(s3.delete_object, Bucket=bucket, Key="k", VersionId=c["VersionId"], status=403, code="AccessDenied")


@aws
def test_complete_onto_locked_key_makes_new_version(s3, bucket):
    until = s3h.future(900)
    old = b"retained original"
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=old, ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until,
                       ChecksumAlgorithm="SHA256")["VersionId"]
    new = [data(PART, 16), b"new tail"]
    c, _ = upload(s3, bucket, "k", new)
    assert c["VersionId"] != v1
    assert s3h.body_of(s3, bucket, "k") == b"".join(new)
    assert s3h.body_of(s3, bucket, "k", VersionId=v1) == old
    h = s3.head_object(Bucket=bucket, Key="k", VersionId=v1)
    assert h["ETag"] == f'"{s3h.md5_hex(old)}"'
    assert h["ObjectLockMode"] == "COMPLIANCE" and s3h.same_instant(h["ObjectLockRetainUntilDate"], until)
    versions, _ = s3h.version_ids(s3, bucket, "k")
    assert versions == {v1, c["VersionId"]}


@aws
def test_upload_part_copy_from_locked_source(s3, bucket):
    until = s3h.future(900)
    src = data(PART + 1024, 17)
    v1 = s3.put_object(Bucket=bucket, Key="locked", Body=src, ObjectLockMode="COMPLIANCE",
                       ObjectLockRetainUntilDate=until, ChecksumAlgorithm="SHA256")["VersionId"]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="locked")["UploadId"]
    r = s3.upload_part_copy(Bucket=bucket, Key="locked", UploadId=uid, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "locked", "VersionId": v1}, CopySourceRange="bytes=0-1023")
    c = s3.complete_multipart_upload(Bucket=bucket, Key="locked", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
    assert s3h.body_of(s3, bucket, "locked") == src[:1024]
    assert s3h.body_of(s3, bucket, "locked", VersionId=v1) == src
    assert c["VersionId"] != v1
    expect_error(s3.delete_object, Bucket=bucket, Key="locked", VersionId=v1, status=403, code="AccessDenied")


@aws
def test_abort_leaves_retained_versions_alone(s3, bucket):
    until = s3h.future(900)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"keep", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until,
                       ChecksumAlgorithm="SHA256")["VersionId"]
    uid, _ = upload(s3, bucket, "k", [b"x" * 10], complete=False)
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=uid)
    assert s3h.body_of(s3, bucket, "k") == b"keep"
    assert s3h.version_ids(s3, bucket, "k")[0] == {v1}


# --- wormgate ----------------------------------------------------------------------------------


@wormgate
def test_governance_on_create_multipart_is_refused(s3, bucket):
    e = expect_error(s3.create_multipart_upload, Bucket=bucket, Key="k", ObjectLockMode="GOVERNANCE",
                     ObjectLockRetainUntilDate=s3h.future(600), status=400, code="InvalidRequest")
    assert "COMPLIANCE" in e.response["Error"]["Message"]
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@wormgate
def test_completed_multipart_gets_the_floor(s3, bucket):
    before = s3h.utcnow()
    c, _ = upload(s3, bucket, "k", [b"small"])
    h = s3.head_object(Bucket=bucket, Key="k", VersionId=c["VersionId"])
    assert h["ObjectLockMode"] == "COMPLIANCE"
    assert h["ObjectLockRetainUntilDate"] >= before + s3h.dt.timedelta(seconds=s3h.MIN_RETENTION_S) - s3h.dt.timedelta(seconds=1)


@wormgate
def test_bucket_with_pending_upload_cannot_be_deleted(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    expect_error(s3.delete_bucket, Bucket=bucket, status=409, code="BucketNotEmpty")
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=uid)
    s3.delete_bucket(Bucket=bucket)


@aws
def test_completed_upload_is_gone(s3, bucket):
    uid, done = upload(s3, bucket, "k", [b"only part"], complete=False)
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": done})
    expect_error(s3.list_parts, Bucket=bucket, Key="k", UploadId=uid, status=404, code="NoSuchUpload")
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    # aborting a completed upload cannot touch the object
    try:
        s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=uid)
    except Exception as e:  # AWS: 404 NoSuchUpload (some implementations answer 204)
        assert s3h.status_of(e) == 404, e
    assert s3h.body_of(s3, bucket, "k") == b"only part"


@aws
def test_complete_accepts_unquoted_etags(s3, bucket):
    uid, done = upload(s3, bucket, "k", [b"part"], complete=False)
    parts = [{"PartNumber": d["PartNumber"], "ETag": d["ETag"].strip('"')} for d in done]
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": parts})
    assert s3h.body_of(s3, bucket, "k") == b"part"


@aws
@gap("moto answers a part number beyond the last part with 200")
def test_get_part_number_beyond_last(s3, bucket):
    upload(s3, bucket, "k", [b"one part"])
    e = expect_error(s3.get_object, Bucket=bucket, Key="k", PartNumber=2)
    assert (s3h.status_of(e), s3h.code_of(e)) == (416, "InvalidPartNumber"), e


# --- completion: object-level checksums, repeats, conditions, duplicate parts (issue 9) ----------


@aws
@gap("moto does not compute full-object multipart checksums")
@pytest.mark.parametrize("alg", ["CRC32", "CRC32C", "CRC64NVME"])
def test_complete_with_full_object_checksum_claim(s3, bucket, alg):
    fn = {"CRC32": s3h.crc32_b64, "CRC32C": s3h.crc32c_b64, "CRC64NVME": s3h.crc64nvme_b64}[alg]
    uid, done = upload(s3, bucket, "k", [b"hello"], complete=False,
                       create_kw={"ChecksumAlgorithm": alg, "ChecksumType": "FULL_OBJECT"},
                       part_kw={f"Checksum{alg}": fn(b"hello")})
    # a claim that does not match the object is refused, and nothing is made
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=uid, ChecksumType="FULL_OBJECT",
                 MultipartUpload={"Parts": done}, status=400, code="BadDigest", **{f"Checksum{alg}": fn(b"other")})
    expect_error(s3.head_object, Bucket=bucket, Key="k", status=404)
    c = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid, ChecksumType="FULL_OBJECT",
                                     MultipartUpload={"Parts": done}, **{f"Checksum{alg}": fn(b"hello")})
    assert c.get(f"Checksum{alg}") == fn(b"hello")
    assert s3h.body_of(s3, bucket, "k") == b"hello"


@aws
@gap("moto does not compute full-object multipart checksums")
def test_complete_with_full_object_checksum_of_several_parts(s3, bucket):
    p1, p2 = data(PART, 20), data(777, 21)
    uid, done = upload(s3, bucket, "k", [p1, p2], complete=False,
                       create_kw={"ChecksumAlgorithm": "CRC64NVME", "ChecksumType": "FULL_OBJECT"},
                       part_kw={"ChecksumAlgorithm": "CRC64NVME"})
    whole = s3h.crc64nvme_b64(p1 + p2)
    c = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid, ChecksumCRC64NVME=whole,
                                     ChecksumType="FULL_OBJECT", MultipartUpload={"Parts": done})
    assert c.get("ChecksumCRC64NVME") == whole


@aws
@gap("moto does not compute composite multipart checksums")
def test_complete_with_composite_checksum_claim(s3, bucket):
    ps = [data(PART, 22), data(PART, 23), data(100, 24)]
    uid, done = upload(s3, bucket, "k", ps, complete=False, create_kw={"ChecksumAlgorithm": "CRC32"},
                       part_kw={"ChecksumAlgorithm": "CRC32"})
    composite = s3h.b64(s3h.crc32_raw(b"".join(s3h.crc32_raw(p) for p in ps))) + "-3"
    wrong = s3h.b64(s3h.crc32_raw(b"nope")) + "-3"
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=uid, ChecksumCRC32=wrong,
                 MultipartUpload={"Parts": done}, status=400, code="BadDigest")
    c = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid, ChecksumCRC32=composite,
                                     MultipartUpload={"Parts": done})
    assert c.get("ChecksumCRC32") == composite


@aws
@gap("moto answers a repeated completion with NoSuchUpload")
def test_repeated_complete_replays_the_success(s3, bucket):
    uid, done = upload(s3, bucket, "k", [b"only part"], complete=False)
    first = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": done})
    again = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": done})
    assert (again["ETag"], again["VersionId"], again["Key"]) == (first["ETag"], first["VersionId"], "k")
    assert s3h.version_ids(s3, bucket, "k") == ({first["VersionId"]}, set())
    assert s3h.body_of(s3, bucket, "k") == b"only part"


@aws
@gap("moto ignores If-Match on CompleteMultipartUpload")
def test_complete_with_if_match(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    uid, done = upload(s3, bucket, "k", [b"part"], complete=False)
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=uid, IfMatch='"0123456789abcdef0123456789abcdef"',
                 MultipartUpload={"Parts": done}, status=412, code="PreconditionFailed")
    assert s3h.body_of(s3, bucket, "k") == b"x"
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid, IfMatch=put["ETag"], MultipartUpload={"Parts": done})
    assert s3h.body_of(s3, bucket, "k") == b"part"
    # If-Match on a key without a current version: 404 NoSuchKey, as for PutObject
    uid, done = upload(s3, bucket, "absent", [b"part"], complete=False)
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="absent", UploadId=uid, IfMatch=put["ETag"],
                 MultipartUpload={"Parts": done}, status=404, code="NoSuchKey")


@aws
@gap("moto accepts duplicate part numbers")
def test_complete_with_duplicate_part_numbers(s3, bucket):
    uid, done = upload(s3, bucket, "k", [b"part"], complete=False)
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=uid,
                 MultipartUpload={"Parts": done + done}, status=400, code="InvalidPartOrder")
    expect_error(s3.head_object, Bucket=bucket, Key="k", status=404)


@aws
@gap("moto ignores x-amz-mp-object-size")
def test_complete_with_object_size(s3, bucket):
    uid, done = upload(s3, bucket, "k", [b"twelve bytes"], complete=False)
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=uid, MpuObjectSize=13,
                 MultipartUpload={"Parts": done}, status=400, code="InvalidRequest")
    expect_error(s3.head_object, Bucket=bucket, Key="k", status=404)
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid, MpuObjectSize=12, MultipartUpload={"Parts": done})


@wormgate
def test_complete_with_if_none_match_other_than_star_is_refused(s3, bucket):
    # as on PutObject: only '*' is a write condition; another value is refused, never ignored
    uid, done = upload(s3, bucket, "k", [b"part"], complete=False)
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=uid, IfNoneMatch='"abc"',
                 MultipartUpload={"Parts": done}, status=501, code="NotImplemented")
    expect_error(s3.head_object, Bucket=bucket, Key="k", status=404)
