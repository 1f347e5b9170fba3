"""Objects: PUT/GET/HEAD/DELETE, metadata, checksums, keys, delete markers, version reads."""

import datetime as dt

import pytest

import s3h
from s3h import MiB, expect_error, hdr

aws = pytest.mark.aws
wormgate = pytest.mark.wormgate
gap = pytest.mark.moto_gap


@aws
def test_put_get_head_roundtrip(s3, bucket):
    data = s3h.payload(100_000, seed=1)
    r = s3.put_object(Bucket=bucket, Key="obj", Body=data)
    assert r["ETag"] == f'"{s3h.md5_hex(data)}"'
    vid = r["VersionId"]
    assert vid and vid != "null"
    g = s3.get_object(Bucket=bucket, Key="obj")
    assert g["Body"].read() == data
    assert g["ETag"] == r["ETag"]
    assert g["VersionId"] == vid
    assert g["ContentLength"] == len(data)
    h = s3.head_object(Bucket=bucket, Key="obj")
    assert h["ContentLength"] == len(data)
    assert h["ETag"] == r["ETag"]
    assert h["VersionId"] == vid
    assert isinstance(h["LastModified"], dt.datetime)
    assert hdr(h, "accept-ranges") == "bytes"


@aws
def test_empty_object(s3, bucket):
    r = s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert r["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    g = s3.get_object(Bucket=bucket, Key="empty")
    assert g["ContentLength"] == 0 and g["Body"].read() == b""


@aws
def test_content_headers_and_user_metadata_are_stored(s3, bucket):
    expires = dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    s3.put_object(
        Bucket=bucket, Key="meta", Body=b"hello",
        ContentType="text/x-wormgate; charset=utf-8",
        ContentEncoding="gzip",
        ContentDisposition='attachment; filename="h.txt"',
        ContentLanguage="de-CH",
        CacheControl="max-age=60, private",
        Expires=expires,
        Metadata={"color": "blue", "Mixed-Case": "Value With Spaces"},
    )
    for r in (s3.head_object(Bucket=bucket, Key="meta"), s3.get_object(Bucket=bucket, Key="meta")):
        assert r["ContentType"] == "text/x-wormgate; charset=utf-8"
        assert r["ContentEncoding"] == "gzip"
        assert r["ContentDisposition"] == 'attachment; filename="h.txt"'
        assert r["ContentLanguage"] == "de-CH"
        assert r["CacheControl"] == "max-age=60, private"
        assert r.get("ExpiresString") or r.get("Expires")
        got = r.get("Expires")
        if isinstance(got, dt.datetime):
            assert got == expires
        assert r["Metadata"] == {"color": "blue", "mixed-case": "Value With Spaces"}


@aws
@gap("moto ignores response-* overrides")
def test_response_overrides_on_get(s3, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", ContentType="text/plain")
    g = s3.get_object(
        Bucket=bucket, Key="o",
        ResponseContentType="application/x-override",
        ResponseContentDisposition="inline",
        ResponseCacheControl="no-cache",
        ResponseContentLanguage="fr",
        ResponseContentEncoding="identity",
        ResponseExpires=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc),
    )
    assert g["ContentType"] == "application/x-override"
    assert g["ContentDisposition"] == "inline"
    assert g["CacheControl"] == "no-cache"
    assert g["ContentLanguage"] == "fr"
    assert g["ContentEncoding"] == "identity"
    assert "2030" in hdr(g, "expires")


@aws
def test_missing_key(s3, bucket):
    expect_error(s3.get_object, Bucket=bucket, Key="nope", status=404, code="NoSuchKey")
    expect_error(s3.head_object, Bucket=bucket, Key="nope", status=404)


@aws
def test_overwrite_creates_new_version_and_keeps_old(s3, bucket):
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3h.body_of(s3, bucket, "k") == b"two"
    assert s3h.body_of(s3, bucket, "k", VersionId=v1) == b"one"
    assert s3h.body_of(s3, bucket, "k", VersionId=v2) == b"two"
    h = s3.head_object(Bucket=bucket, Key="k", VersionId=v1)
    assert h["VersionId"] == v1 and h["ContentLength"] == 3


@aws
@gap("moto does not verify Content-MD5")
def test_content_md5_verified(s3, bucket):
    data = b"integrity matters"
    s3.put_object(Bucket=bucket, Key="good", Body=data, ContentMD5=s3h.md5_b64(data))
    expect_error(
        s3.put_object, Bucket=bucket, Key="bad", Body=data, ContentMD5=s3h.md5_b64(b"something else"),
        status=400, code="BadDigest",
    )
    expect_error(s3.head_object, Bucket=bucket, Key="bad", status=404)


@aws
@gap("moto does not verify x-amz-checksum-* values sent as headers")
@pytest.mark.parametrize("alg", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_wrong_checksum_header_is_refused(s3, bucket, alg):
    data = b"checksummed payload"
    wrong = {"SHA256": s3h.sha256_b64, "CRC32": s3h.crc32_b64, "CRC32C": s3h.crc32c_b64,
             "CRC64NVME": s3h.crc64nvme_b64, "SHA1": s3h.sha1_b64}[alg](b"other")
    expect_error(
        s3.put_object, Bucket=bucket, Key="bad", Body=data, **{f"Checksum{alg}": wrong}, status=400, code="BadDigest"
    )
    expect_error(s3.head_object, Bucket=bucket, Key="bad", status=404)


CHECKSUMS = {
    "CRC32": s3h.crc32_b64,
    "CRC32C": s3h.crc32c_b64,
    "CRC64NVME": s3h.crc64nvme_b64,
    "SHA1": s3h.sha1_b64,
    "SHA256": s3h.sha256_b64,
}


@aws
@pytest.mark.parametrize("alg", sorted(CHECKSUMS))
def test_checksum_algorithms_stored_and_returned(s3, bucket, alg):
    data = s3h.payload(70_000, seed=7)
    expected = CHECKSUMS[alg](data)
    r = s3.put_object(Bucket=bucket, Key="c", Body=data, ChecksumAlgorithm=alg)
    assert r.get(f"Checksum{alg}") == expected
    h = s3.head_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert h.get(f"Checksum{alg}") == expected
    g = s3.get_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert g.get(f"Checksum{alg}") == expected
    assert g["Body"].read() == data


@aws
@gap("moto does not return a checksum sent as a bare x-amz-checksum-sha256 header")
def test_explicit_checksum_value_accepted(s3, bucket):
    data = b"precomputed"
    s3.put_object(Bucket=bucket, Key="c", Body=data, ChecksumSHA256=s3h.sha256_b64(data))
    h = s3.head_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert h.get("ChecksumSHA256") == s3h.sha256_b64(data)


@aws
def test_if_none_match_star_on_put(s3, bucket):
    s3.put_object(Bucket=bucket, Key="once", Body=b"1", IfNoneMatch="*")
    expect_error(s3.put_object, Bucket=bucket, Key="once", Body=b"2", IfNoneMatch="*", status=412, code="PreconditionFailed")
    assert s3h.body_of(s3, bucket, "once") == b"1"


@aws
def test_if_match_on_put(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"1")["ETag"]
    expect_error(
        s3.put_object, Bucket=bucket, Key="k", Body=b"2", IfMatch='"00000000000000000000000000000000"',
        status=412, code="PreconditionFailed",
    )
    s3.put_object(Bucket=bucket, Key="k", Body=b"3", IfMatch=etag)
    assert s3h.body_of(s3, bucket, "k") == b"3"


KEYS = [
    "plain",
    "with space",
    "ünïcødé/ñ/日本語",
    "plus+sign",
    "percent%20literal",
    "question?mark",
    "hash#tag",
    "amp&ersand=eq;semi",
    "dir//double-slash",
    "trailing-slash/",
    "tilde~star*quote'paren()",
    "dots/./and/../parts",
    "comma,colon:at@dollar$",
]


@aws
def test_special_character_keys(s3, bucket):
    for i, k in enumerate(KEYS):
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    for k in KEYS:
        assert s3h.body_of(s3, bucket, k) == k.encode(), k
        s3.head_object(Bucket=bucket, Key=k)
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == sorted(KEYS, key=lambda s: s.encode())
    listed_v1 = [o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]]
    assert listed_v1 == listed


@aws
def test_key_length_limit(s3, bucket):
    ok = "k" * 1024
    s3.put_object(Bucket=bucket, Key=ok, Body=b"x")
    assert s3h.body_of(s3, bucket, ok) == b"x"


@aws
@gap("moto accepts keys longer than 1024 bytes")
def test_key_too_long(s3, bucket):
    expect_error(s3.put_object, Bucket=bucket, Key="k" * 1025, Body=b"x", status=400, code="KeyTooLongError")


# --- delete markers ----------------------------------------------------------------------------


@aws
def test_delete_creates_marker_and_keeps_version(s3, bucket):
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"keep me")["VersionId"]
    d = s3.delete_object(Bucket=bucket, Key="k")
    assert d["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert d["DeleteMarker"] is True
    marker = d["VersionId"]
    assert marker and marker != v1
    expect_error(s3.get_object, Bucket=bucket, Key="k", status=404, code="NoSuchKey")
    expect_error(s3.head_object, Bucket=bucket, Key="k", status=404)
    assert s3h.body_of(s3, bucket, "k", VersionId=v1) == b"keep me"
    versions, markers = s3h.version_ids(s3, bucket, "k")
    assert versions == {v1} and markers == {marker}
    # lists hide the key
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket) or not s3.list_objects_v2(Bucket=bucket)["Contents"]


@aws
@gap("moto answers 404 NoSuchVersion for a delete-marker version id")
def test_get_of_a_delete_marker_version_is_method_not_allowed(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    marker = s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
    e = expect_error(s3.get_object, Bucket=bucket, Key="k", VersionId=marker, status=405, code="MethodNotAllowed")
    assert e.response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-delete-marker") == "true"
    expect_error(s3.head_object, Bucket=bucket, Key="k", VersionId=marker, status=405)


@aws
def test_removing_the_delete_marker_restores_the_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"back")
    marker = s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
    d = s3.delete_object(Bucket=bucket, Key="k", VersionId=marker)
    assert d["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert d["VersionId"] == marker
    assert s3h.body_of(s3, bucket, "k") == b"back"
    _, markers = s3h.version_ids(s3, bucket, "k")
    assert markers == set()


@aws
@gap("moto omits x-amz-delete-marker when a delete marker is removed")
def test_removing_a_delete_marker_says_so(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"back")
    marker = s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
    d = s3.delete_object(Bucket=bucket, Key="k", VersionId=marker)
    assert d["DeleteMarker"] is True


@aws
def test_two_deletes_make_two_markers(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    m1 = s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
    m2 = s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
    assert m1 != m2
    _, markers = s3h.version_ids(s3, bucket, "k")
    assert markers == {m1, m2}


@aws
@gap("moto answers 400 for an invalid version id only on some paths")
def test_invalid_version_id_format(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    expect_error(s3.get_object, Bucket=bucket, Key="k", VersionId="not-a-version-id!", status=400, code="InvalidArgument")


@aws
def test_head_with_null_version_id_is_404(s3, bucket):
    # rclone does this after every multipart upload (docs/s3-object-lock.md §2.1)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    expect_error(s3.head_object, Bucket=bucket, Key="k", VersionId="null", status=404)


@wormgate
def test_get_with_null_version_id_is_no_such_version(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    expect_error(s3.get_object, Bucket=bucket, Key="k", VersionId="null", status=404, code="NoSuchVersion")


@wormgate
def test_deleting_an_unknown_key_adds_a_marker(s3, bucket):
    d = s3.delete_object(Bucket=bucket, Key="never")
    assert d["DeleteMarker"] is True and d["VersionId"]
    expect_error(s3.delete_bucket, Bucket=bucket, status=409, code="BucketNotEmpty")


@aws
def test_storage_class_and_request_payer_headers_are_accepted(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", StorageClass="STANDARD", RequestPayer="requester")
    assert s3.get_object(Bucket=bucket, Key="k", RequestPayer="requester")["Body"].read() == b"x"
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    assert listed["StorageClass"] == "STANDARD"


@aws
@gap("moto does not limit user metadata size")
def test_metadata_too_large(s3, bucket):
    expect_error(s3.put_object, Bucket=bucket, Key="k", Body=b"x", Metadata={"big": "v" * 2100},
                 status=400, code="MetadataTooLarge")
    expect_error(s3.head_object, Bucket=bucket, Key="k", status=404)


@aws
def test_key_with_leading_slash(s3, bucket):
    s3.put_object(Bucket=bucket, Key="/leading/slash", Body=b"lead")
    assert s3h.body_of(s3, bucket, "/leading/slash") == b"lead"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["/leading/slash"]
    expect_error(s3.head_object, Bucket=bucket, Key="leading/slash", status=404)


@aws
def test_if_match_on_put_to_missing_key(s3, bucket):
    e = expect_error(s3.put_object, Bucket=bucket, Key="missing", Body=b"x", IfMatch='"d41d8cd98f00b204e9800998ecf8427e"')
    # AWS PutObject doc: If-Match on a key that does not exist -> 404 NoSuchKey
    assert (s3h.status_of(e), s3h.code_of(e)) == (404, "NoSuchKey"), e
    expect_error(s3.head_object, Bucket=bucket, Key="missing", status=404)


@aws
@gap("moto answers malformed DeleteObjects XML with a 500")
def test_delete_objects_malformed_xml(s3, bucket):
    body = b"<Delete><Object><Key>k</Key></Object>"  # unterminated
    path = s3h.object_path(bucket)
    signed = s3h.sign("POST", path, [("delete", "")], {"content-md5": s3h.md5_b64(body)}, s3h.sha256_hex(body))
    r = s3h.raw_request("POST", path, [("delete", "")], signed.headers, body)
    assert (r.status, r.code()) == (400, "MalformedXML"), r


# --- a version id belongs to one key -----------------------------------------------------------


@aws
def test_version_id_of_another_key_is_not_found(s3, bucket):
    va = s3.put_object(Bucket=bucket, Key="a", Body=b"content of a", Tagging="owner=a")["VersionId"]
    s3.put_object(Bucket=bucket, Key="b", Body=b"content of b")
    expect_error(s3.get_object, Bucket=bucket, Key="b", VersionId=va, status=404, code="NoSuchVersion")
    expect_error(s3.head_object, Bucket=bucket, Key="b", VersionId=va, status=404)
    expect_error(s3.copy_object, Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "b", "VersionId": va},
                 status=404, code="NoSuchVersion")
    expect_error(s3.get_object_tagging, Bucket=bucket, Key="b", VersionId=va, status=404, code="NoSuchVersion")
    expect_error(s3.put_object_tagging, Bucket=bucket, Key="b", VersionId=va, Tagging={"TagSet": [{"Key": "x", "Value": "y"}]},
                 status=404, code="NoSuchVersion")
    assert {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key="a", VersionId=va)["TagSet"]} == {"owner": "a"}
    expect_error(s3.head_object, Bucket=bucket, Key="c", status=404)


@aws
@gap("moto answers ?retention with a version id (of another key) with the object or a 500")
def test_lock_operations_with_version_id_of_another_key(s3, bucket):
    until = s3h.future(900)
    va = s3.put_object(Bucket=bucket, Key="a", Body=b"a", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until,
                       ChecksumAlgorithm="SHA256")["VersionId"]
    s3.put_object(Bucket=bucket, Key="b", Body=b"b", ChecksumAlgorithm="SHA256")
    expect_error(s3.get_object_retention, Bucket=bucket, Key="b", VersionId=va, status=404, code="NoSuchVersion")
    expect_error(s3.put_object_retention, Bucket=bucket, Key="b", VersionId=va,
                 Retention={"Mode": "COMPLIANCE", "RetainUntilDate": s3h.future(5000)}, status=404, code="NoSuchVersion")
    expect_error(s3.put_object_legal_hold, Bucket=bucket, Key="b", VersionId=va, LegalHold={"Status": "ON"},
                 status=404, code="NoSuchVersion")
    h = s3.head_object(Bucket=bucket, Key="a", VersionId=va)
    assert s3h.same_instant(h["ObjectLockRetainUntilDate"], until)
    assert h.get("ObjectLockLegalHoldStatus") != "ON"


@aws
def test_concurrent_writes_to_one_key_make_distinct_versions(s3, bucket):
    from concurrent.futures import ThreadPoolExecutor

    bodies = [f"writer {i} ".encode() * (i + 1) for i in range(24)]
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda b: s3.put_object(Bucket=bucket, Key="hot", Body=b)["VersionId"], bodies))
    assert len(set(ids)) == len(bodies)
    versions, _ = s3h.version_ids(s3, bucket, "hot")
    assert versions == set(ids)
    for vid, body in zip(ids, bodies):
        assert s3h.body_of(s3, bucket, "hot", VersionId=vid) == body
    latest = [v for v in s3h.all_versions(s3, bucket)[0] if v["IsLatest"]]
    assert len(latest) == 1
    assert s3h.body_of(s3, bucket, "hot") == s3h.body_of(s3, bucket, "hot", VersionId=latest[0]["VersionId"])


@aws
def test_empty_put_then_put_on_the_same_connection(s3, bucket):
    # boto3 sends "Expect: 100-continue" on every PUT, also with Content-Length: 0. A server that answers
    # that empty PUT without a "100 Continue" first leaves botocore's pooled connection in a state where
    # the next Expect request mis-reads its answer: it waits until the server drops the idle connection
    # and then reports a 200 without ETag or VersionId. Empty files are common in backup trees.
    import time

    c = s3h.make_client(read_timeout=15, max_pool_connections=1)
    for i in range(3):
        r0 = c.put_object(Bucket=bucket, Key=f"empty-{i}", Body=b"")
        assert r0.get("VersionId") and r0.get("ETag") == '"d41d8cd98f00b204e9800998ecf8427e"'
        t = time.time()
        r = c.put_object(Bucket=bucket, Key=f"after-{i}", Body=b"abc")
        assert time.time() - t < 10, "the PUT after an empty PUT stalled"
        assert r.get("ETag") == f'"{s3h.md5_hex(b"abc")}"', r["ResponseMetadata"]
        assert r.get("VersionId"), r["ResponseMetadata"]
    assert s3h.body_of(s3, bucket, "after-2") == b"abc"


# --- GetObjectAttributes (issue 9) ---------------------------------------------------------------

ALL_ATTRIBUTES = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]


@aws
def test_get_object_attributes_of_a_single_put(s3, bucket):
    body = b"attributes please"
    put = s3.put_object(Bucket=bucket, Key="k", Body=body, ChecksumAlgorithm="CRC32")
    r = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=ALL_ATTRIBUTES)
    assert r["ETag"] == put["ETag"].strip('"')
    assert r["ObjectSize"] == len(body)
    assert r["StorageClass"] == "STANDARD"
    assert r["Checksum"]["ChecksumCRC32"] == s3h.crc32_b64(body)
    assert r["VersionId"] == put["VersionId"]
    assert "ObjectParts" not in r
    assert r["LastModified"]
    only = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["ObjectSize"])
    assert only["ObjectSize"] == len(body) and "ETag" not in only and "Checksum" not in only


@aws
@gap("moto leaves out x-amz-delete-marker on GetObjectAttributes")
def test_get_object_attributes_of_an_older_version_and_a_delete_marker(s3, bucket):
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"first")["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"second, longer")
    r = s3.get_object_attributes(Bucket=bucket, Key="k", VersionId=v1, ObjectAttributes=["ObjectSize", "ETag"])
    assert (r["ObjectSize"], r["ETag"], r["VersionId"]) == (5, s3h.md5_hex(b"first"), v1)
    s3.delete_object(Bucket=bucket, Key="k")
    e = expect_error(s3.get_object_attributes, Bucket=bucket, Key="k", ObjectAttributes=["ETag"], status=404)
    assert s3h.hdr(e.response, "x-amz-delete-marker") == "true"
    expect_error(s3.get_object_attributes, Bucket=bucket, Key="absent", ObjectAttributes=["ETag"],
                 status=404, code="NoSuchKey")


@aws
@gap("moto does not list the parts of a multipart object in GetObjectAttributes")
def test_get_object_attributes_pages_the_parts(s3, bucket):
    parts = [s3h.payload(5 * MiB, 31), s3h.payload(5 * MiB, 32), b"tail"]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="SHA256")["UploadId"]
    done = []
    for n, p in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=n, Body=p, ChecksumAlgorithm="SHA256")
        done.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]})
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": done})
    r = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=ALL_ATTRIBUTES, MaxParts=2)
    assert r["ObjectSize"] == sum(len(p) for p in parts)
    assert r["ETag"] == s3h.multipart_etag(parts).strip('"')
    op = r["ObjectParts"]
    assert op["TotalPartsCount"] == 3 and op["IsTruncated"] is True and op["MaxParts"] == 2
    assert [(p["PartNumber"], p["Size"]) for p in op["Parts"]] == [(1, 5 * MiB), (2, 5 * MiB)]
    assert op["Parts"][0]["ChecksumSHA256"] == s3h.sha256_b64(parts[0])
    assert op["NextPartNumberMarker"] == 2
    rest = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=["ObjectParts"],
                                    PartNumberMarker=2)["ObjectParts"]
    assert [(p["PartNumber"], p["Size"]) for p in rest["Parts"]] == [(3, 4)]
    assert rest["IsTruncated"] is False


@aws
@gap("moto accepts unknown attribute names")
def test_get_object_attributes_with_an_unknown_attribute(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    expect_error(s3.get_object_attributes, Bucket=bucket, Key="k", ObjectAttributes=["Colour"],
                 status=400, code="InvalidArgument")


# --- request headers that imply functionality: honoured, refused, or ignored as AWS does (issue 9) -----


def _no_version(s3, bucket, key):
    assert s3h.version_ids(s3, bucket, key) == (set(), set())


@wormgate
def test_append_is_not_implemented(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"first")
    expect_error(s3.put_object, Bucket=bucket, Key="k", Body=b" appended", WriteOffsetBytes=5, status=501,
                 code="NotImplemented")
    assert s3h.body_of(s3, bucket, "k") == b"first"
    assert len(s3h.version_ids(s3, bucket, "k")[0]) == 1


@wormgate
@pytest.mark.parametrize("kw", [
    {"ServerSideEncryption": "AES256"},
    {"ServerSideEncryption": "aws:kms"},
    {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/x"},
    {"WebsiteRedirectLocation": "/elsewhere"},
    {"StorageClass": "GLACIER"},
    {"StorageClass": "STANDARD_IA"},
])
def test_unavailable_functionality_is_refused(s3, bucket, kw):
    e = expect_error(s3.put_object, Bucket=bucket, Key="k", Body=b"x", status=501, code="NotImplemented", **kw)
    assert "not available" in e.response["Error"]["Message"]
    _no_version(s3, bucket, "k")
    expect_error(s3.create_multipart_upload, Bucket=bucket, Key="k", status=501, code="NotImplemented", **kw)


@wormgate
def test_sse_c_is_refused(s3, bucket):
    key = b"k" * 32
    kw = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
    expect_error(s3.put_object, Bucket=bucket, Key="k", Body=b"x", status=501, code="NotImplemented", **kw)
    _no_version(s3, bucket, "k")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    expect_error(s3.get_object, Bucket=bucket, Key="k", status=501, code="NotImplemented", **kw)


@aws
def test_storage_class_standard_is_accepted(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", StorageClass="STANDARD")
    assert s3.head_object(Bucket=bucket, Key="k").get("StorageClass", "STANDARD") == "STANDARD"


@aws
@gap("moto accepts unknown storage classes")
def test_unknown_storage_class_is_invalid(s3, bucket):
    expect_error(s3.put_object, Bucket=bucket, Key="k", Body=b"x", StorageClass="COLD", status=400,
                 code="InvalidStorageClass")
    _no_version(s3, bucket, "k")


@aws
@gap("moto does not check x-amz-expected-bucket-owner")
def test_expected_bucket_owner_mismatch_is_denied(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    expect_error(s3.get_object, Bucket=bucket, Key="k", ExpectedBucketOwner="111122223333", status=403,
                 code="AccessDenied")
    expect_error(s3.put_object, Bucket=bucket, Key="k2", Body=b"x", ExpectedBucketOwner="111122223333", status=403,
                 code="AccessDenied")
    _no_version(s3, bucket, "k2")
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    assert s3h.body_of(s3, bucket, "k", ExpectedBucketOwner=owner) == b"x"


@aws
def test_request_payer_is_ignored_as_aws_does(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", RequestPayer="requester")
    assert s3h.body_of(s3, bucket, "k", RequestPayer="requester") == b"x"
