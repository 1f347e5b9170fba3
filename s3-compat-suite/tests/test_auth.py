"""Authentication and payload framing: SigV4 header and presigned, SigV2 presigned, every
x-amz-content-sha256 form (hex, UNSIGNED-PAYLOAD, signed aws-chunked with and without trailer, unsigned
trailer, aws-chunked inside HTTP chunked), and the attack catalogue items on them (§5 #1, #2, #25).

Requests that must succeed describe AWS behaviour. Refusals are marked wormgate: moto_server does not
verify signatures at all, so it cannot show them."""

import time
import urllib.error
import urllib.request
import ssl

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

import s3h
from s3h import expect_error

aws = pytest.mark.aws
wormgate = pytest.mark.wormgate
gap = pytest.mark.moto_gap

DATA = s3h.payload(200_000, seed=42)


def fetch(url, method="GET", data=None, headers=None):
    """(status, body, headers) of a plain HTTP(S) request, like curl."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    ctx = None
    if url.startswith("https://"):
        ctx = ssl.create_default_context(cafile=s3h.CA_BUNDLE) if s3h.CA_BUNDLE else ssl.create_default_context()
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def error_code(body):
    import re

    m = re.search(rb"<Code>([^<]*)</Code>", body or b"")
    return m.group(1).decode() if m else None


def not_stored(s3, bucket, key):
    expect_error(s3.head_object, Bucket=bucket, Key=key, status=404)
    assert s3h.version_ids(s3, bucket, key) == (set(), set())


def put_raw(bucket, key, body, payload_hash, extra_headers=None, secret=None, http_chunked=False, amz_date=None,
            sign_headers=None):
    """Sign (Authorization header) and send a PUT whose body is `body` exactly as given."""
    path = s3h.object_path(bucket, key)
    hdrs = dict(sign_headers or {})
    signed = s3h.sign("PUT", path, [], hdrs, payload_hash, secret_key=secret, amz_date=amz_date)
    headers = dict(signed.headers)
    headers.update(extra_headers or {})
    return signed, lambda b=body: s3h.raw_request("PUT", path, [], headers, b, http_chunked=http_chunked)


def streaming_headers(decoded_len, trailer=None, content_length=None):
    h = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(decoded_len)}
    if trailer:
        h["x-amz-trailer"] = trailer
    if content_length is not None:
        h["content-length"] = str(content_length)
    return h


# --- header-signed forms that must work --------------------------------------------------------


@aws
def test_hex_payload_hash(s3, bucket):
    _, send = put_raw(bucket, "hex", DATA, s3h.sha256_hex(DATA))
    r = send()
    assert r.status == 200, r
    assert s3h.body_of(s3, bucket, "hex") == DATA


@aws
def test_unsigned_payload(s3, bucket):
    _, send = put_raw(bucket, "unsigned", DATA, "UNSIGNED-PAYLOAD")
    assert send().status == 200
    assert s3h.body_of(s3, bucket, "unsigned") == DATA


def _signed_streaming(bucket, key, data, trailer=None, tamper_chunk=None, bad_trailer_sig=False, http_chunked=False,
                      chunk_size=64 * 1024, checksum_value=None):
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
    hdrs = streaming_headers(len(data), trailer=trailer)
    path = s3h.object_path(bucket, key)
    # the body length depends on the signatures, which depend on the headers: sign without
    # content-length when sending HTTP-chunked, otherwise compute the encoded length first
    if not http_chunked:
        probe = s3h.sign("PUT", path, [], hdrs, mode)
        tr = (trailer, checksum_value or s3h.crc32_b64(data)) if trailer else None
        length = len(s3h.aws_chunked_signed(probe, data, chunk_size, trailer=tr))
        hdrs["content-length"] = str(length)
    signed = s3h.sign("PUT", path, [], hdrs, mode)
    tr = (trailer, checksum_value or s3h.crc32_b64(data)) if trailer else None
    body = s3h.aws_chunked_signed(signed, data, chunk_size, trailer=tr, tamper_chunk=tamper_chunk)
    if bad_trailer_sig:
        i = body.rindex(b"x-amz-trailer-signature:") + len(b"x-amz-trailer-signature:")
        body = body[:i] + b"0" * 64 + body[i + 64:]
    headers = dict(signed.headers)
    return s3h.raw_request("PUT", path, [], headers, body, http_chunked=http_chunked)


@aws
def test_streaming_signed_chunks(s3, bucket):
    r = _signed_streaming(bucket, "chunked", DATA)
    assert r.status == 200, r
    assert s3h.body_of(s3, bucket, "chunked") == DATA


@aws
def test_streaming_signed_chunks_with_signed_trailer(s3, bucket):
    r = _signed_streaming(bucket, "trailer", DATA, trailer="x-amz-checksum-crc32")
    assert r.status == 200, r
    assert s3h.body_of(s3, bucket, "trailer") == DATA


@aws
def test_streaming_signed_inside_http_chunked(s3, bucket):
    r = _signed_streaming(bucket, "w3c", DATA, http_chunked=True)
    assert r.status == 200, r
    assert s3h.body_of(s3, bucket, "w3c") == DATA


def _unsigned_trailer(bucket, key, data, trailer_name="x-amz-checksum-crc32", trailer_value=None, declared=None,
                      secret=None, http_chunked=False, extra=b""):
    value = trailer_value or s3h.crc32_b64(data)
    body = s3h.aws_chunked_unsigned(data, (trailer_name, value)) + extra
    hdrs = streaming_headers(len(data), trailer=declared or trailer_name)
    if not http_chunked:
        hdrs["content-length"] = str(len(body))
    path = s3h.object_path(bucket, key)
    signed = s3h.sign("PUT", path, [], hdrs, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", secret_key=secret)
    return s3h.raw_request("PUT", path, [], signed.headers, body, http_chunked=http_chunked)


@aws
def test_unsigned_trailer(s3, bucket):
    r = _unsigned_trailer(bucket, "ut", DATA)
    assert r.status == 200, r
    assert s3h.body_of(s3, bucket, "ut") == DATA


@aws
@gap("moto does not keep a checksum that arrived in a trailer")
def test_unsigned_trailer_checksum_is_stored(s3, bucket):
    r = _unsigned_trailer(bucket, "ut", DATA)
    assert r.status == 200, r
    h = s3.head_object(Bucket=bucket, Key="ut", ChecksumMode="ENABLED")
    assert h.get("ChecksumCRC32") == s3h.crc32_b64(DATA)


@aws
def test_unsigned_trailer_inside_http_chunked(s3, bucket):
    # exactly what boto3 sends over HTTPS: Transfer-Encoding chunked, Content-Encoding aws-chunked, no length
    r = _unsigned_trailer(bucket, "ut-w3c", DATA, trailer_name="x-amz-checksum-crc32c",
                          trailer_value=s3h.crc32c_b64(DATA), http_chunked=True)
    assert r.status == 200, r
    assert s3h.body_of(s3, bucket, "ut-w3c") == DATA


# --- refusals ----------------------------------------------------------------------------------


@wormgate
def test_wrong_secret(bucket):
    bad = s3h.make_client(secret_key=s3h.SECRET_KEY + "x")
    expect_error(bad.list_objects_v2, Bucket=bucket, status=403, code="SignatureDoesNotMatch")
    expect_error(bad.put_object, Bucket=bucket, Key="k", Body=b"x", status=403, code="SignatureDoesNotMatch")


@wormgate
def test_unknown_access_key(bucket):
    bad = s3h.make_client(access_key="NOSUCHACCESSKEY00000")
    expect_error(bad.list_objects_v2, Bucket=bucket, status=403, code="InvalidAccessKeyId")


@wormgate
def test_anonymous_is_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"secret")
    anon = boto3.session.Session().client("s3", endpoint_url=s3h.ENDPOINT, region_name=s3h.REGION,
                                          verify=s3h.CA_BUNDLE or True,
                                          config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}))
    expect_error(anon.get_object, Bucket=bucket, Key="k", status=403, code="AccessDenied")
    expect_error(anon.list_buckets, status=403, code="AccessDenied")
    expect_error(anon.put_object, Bucket=bucket, Key="anon", Body=b"x", status=403, code="AccessDenied")
    not_stored(s3, bucket, "anon")


@wormgate
def test_health_is_anonymous():
    status, body, _ = fetch(s3h.ENDPOINT + "/health")
    assert status == 200


@wormgate
def test_request_time_too_skewed(s3, bucket):
    old = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 20 * 60))
    _, send = put_raw(bucket, "skew", b"x", s3h.sha256_hex(b"x"), amz_date=old)
    r = send()
    assert (r.status, r.code()) == (403, "RequestTimeTooSkewed"), r
    not_stored(s3, bucket, "skew")


@wormgate
def test_payload_hash_mismatch(s3, bucket):
    _, send = put_raw(bucket, "mismatch", DATA, s3h.sha256_hex(b"something else"))
    r = send()
    assert (r.status, r.code()) == (400, "XAmzContentSHA256Mismatch"), r
    not_stored(s3, bucket, "mismatch")


@wormgate
def test_bad_chunk_signature(s3, bucket):
    r = _signed_streaming(bucket, "badchunk", DATA, tamper_chunk=1)
    assert (r.status, r.code()) == (403, "SignatureDoesNotMatch"), r
    not_stored(s3, bucket, "badchunk")


@wormgate
def test_bad_final_chunk_signature(s3, bucket):
    chunks = len(DATA) // (64 * 1024) + 1
    r = _signed_streaming(bucket, "badfinal", DATA, tamper_chunk=chunks)
    assert (r.status, r.code()) == (403, "SignatureDoesNotMatch"), r
    not_stored(s3, bucket, "badfinal")


@wormgate
def test_bad_trailer_signature(s3, bucket):
    r = _signed_streaming(bucket, "badtrailer", DATA, trailer="x-amz-checksum-crc32", bad_trailer_sig=True)
    assert (r.status, r.code()) == (403, "SignatureDoesNotMatch"), r
    not_stored(s3, bucket, "badtrailer")


@wormgate
def test_signed_trailer_checksum_mismatch(s3, bucket):
    r = _signed_streaming(bucket, "badsum", DATA, trailer="x-amz-checksum-crc32", checksum_value=s3h.crc32_b64(b"other"))
    assert (r.status, r.code()) == (400, "BadDigest"), r
    not_stored(s3, bucket, "badsum")


@wormgate
def test_unsigned_trailer_with_garbage_signature(s3, bucket):
    # attack catalogue #1 (MinIO CVE-2025-31489): the header signature must still be verified
    r = _unsigned_trailer(bucket, "cve", DATA, secret="garbage-secret-key")
    assert (r.status, r.code()) == (403, "SignatureDoesNotMatch"), r
    not_stored(s3, bucket, "cve")
    r = _unsigned_trailer(bucket, "cve2", DATA, secret="garbage-secret-key", http_chunked=True)
    assert r.status == 403, r
    not_stored(s3, bucket, "cve2")


@wormgate
def test_unsigned_trailer_checksum_mismatch(s3, bucket):
    r = _unsigned_trailer(bucket, "badsum", DATA, trailer_value=s3h.crc32_b64(b"other"))
    assert (r.status, r.code()) == (400, "BadDigest"), r
    not_stored(s3, bucket, "badsum")


@wormgate
def test_unsigned_trailer_not_declared(s3, bucket):
    # x-amz-trailer names crc32, the body carries a crc32c trailer
    r = _unsigned_trailer(bucket, "undeclared", DATA, trailer_name="x-amz-checksum-crc32c",
                          trailer_value=s3h.crc32c_b64(DATA), declared="x-amz-checksum-crc32")
    assert r.status == 400, r
    not_stored(s3, bucket, "undeclared")


@wormgate
def test_extra_bytes_after_final_chunk(s3, bucket):
    # attack catalogue #25: nothing beyond the declared framing may be accepted
    r = _unsigned_trailer(bucket, "extra", DATA, extra=b"EXTRA BYTES SMUGGLED AFTER THE TRAILER")
    assert r.status == 400, r
    not_stored(s3, bucket, "extra")


@wormgate
def test_decoded_length_mismatch(s3, bucket):
    body = s3h.aws_chunked_unsigned(DATA, ("x-amz-checksum-crc32", s3h.crc32_b64(DATA)))
    hdrs = streaming_headers(len(DATA) + 10, trailer="x-amz-checksum-crc32", content_length=len(body))
    path = s3h.object_path(bucket, "declen")
    signed = s3h.sign("PUT", path, [], hdrs, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    r = s3h.raw_request("PUT", path, [], signed.headers, body)
    assert r.status == 400, r
    not_stored(s3, bucket, "declen")


@wormgate
def test_expect_continue_refused_before_body(s3, bucket):
    """A refused PUT with Expect: 100-continue gets its final answer without the body being sent."""
    path = s3h.object_path(bucket, "expect")
    hdrs = {"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": s3h.iso(s3h.future(600)),
            "content-length": str(len(DATA)), "expect": "100-continue"}
    signed = s3h.sign("PUT", path, [], hdrs, "UNSIGNED-PAYLOAD")
    conn = s3h.connection()
    conn.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
    for k, v in signed.headers.items():
        conn.putheader(k, v)
    conn.endheaders()
    conn.sock.settimeout(10)
    first = conn.sock.recv(65536)
    conn.close()
    assert first.startswith(b"HTTP/1.1 400"), first[:200]
    not_stored(s3, bucket, "expect")


# --- presigned URLs ----------------------------------------------------------------------------


@aws
def test_presigned_get_sigv4(s3, bucket):
    s3.put_object(Bucket=bucket, Key="p v4/ü", Body=DATA)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p v4/ü"}, ExpiresIn=300)
    assert "X-Amz-Signature=" in url
    status, body, _ = fetch(url)
    assert status == 200 and body == DATA


@aws
def test_presigned_get_sigv2(s3, bucket):
    # what aws-cli v1 `s3 presign` and boto3 produce by default (docs/s3-object-lock.md §3.4)
    s3.put_object(Bucket=bucket, Key="p v2/ü", Body=DATA)
    v2 = boto3.session.Session().client(
        "s3", endpoint_url=s3h.ENDPOINT, aws_access_key_id=s3h.ACCESS_KEY, aws_secret_access_key=s3h.SECRET_KEY,
        region_name=s3h.REGION, verify=s3h.CA_BUNDLE or True, config=Config(s3={"addressing_style": "path"}))
    url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p v2/ü"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in url and "Signature=" in url
    status, body, _ = fetch(url)
    assert status == 200 and body == DATA


@aws
def test_presigned_put_sigv4(s3, bucket):
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "uploaded"}, ExpiresIn=300)
    status, _, _ = fetch(url, method="PUT", data=b"via presigned PUT", headers={"Content-Type": "application/octet-stream"})
    assert status == 200
    assert s3h.body_of(s3, bucket, "uploaded") == b"via presigned PUT"


@wormgate
def test_presigned_tampered_signature(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=300)
    sig = url.split("X-Amz-Signature=")[1][:64]
    bad = url.replace(sig, ("0" if sig[0] != "0" else "1") + sig[1:])
    status, body, _ = fetch(bad)
    assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")
    # a presigned GET must not be usable for another key
    other = url.replace("/k?", "/k2?")
    status, body, _ = fetch(other)
    assert status == 403


@wormgate
def test_presigned_sigv2_tampered(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    v2 = boto3.session.Session().client(
        "s3", endpoint_url=s3h.ENDPOINT, aws_access_key_id=s3h.ACCESS_KEY, aws_secret_access_key="wrong-secret",
        region_name=s3h.REGION, verify=s3h.CA_BUNDLE or True, config=Config(signature_version="s3", s3={"addressing_style": "path"}))
    url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=300)
    status, body, _ = fetch(url)
    assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")


@wormgate
def test_presigned_expired(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=1)
    time.sleep(2.2)
    status, body, _ = fetch(url)
    assert (status, error_code(body)) == (403, "AccessDenied")


@wormgate
def test_presigned_expiry_over_a_week(s3, bucket):
    q = s3h.presign_v4("GET", s3h.object_path(bucket, "k"), [], expires=604801)
    r = s3h.raw_request("GET", s3h.object_path(bucket, "k"), q)
    assert (r.status, r.code()) == (400, "AuthorizationQueryParametersError"), r


@wormgate
def test_query_credentials_with_unsigned_trailer_and_bad_signature(s3, bucket):
    # attack catalogue #2 (MinIO CVE-2026-41145): query-string credentials + streaming payload
    path = s3h.object_path(bucket, "cve2026")
    body = s3h.aws_chunked_unsigned(DATA, ("x-amz-checksum-crc32", s3h.crc32_b64(DATA)))
    hdrs = streaming_headers(len(DATA), trailer="x-amz-checksum-crc32", content_length=len(body))
    hdrs["x-amz-content-sha256"] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    # every header that says "streaming" is signed, as a careful client would; only the key is wrong
    q = s3h.presign_v4("PUT", path, [], expires=300, secret_key="garbage-secret-key", extra_signed=hdrs)
    r = s3h.raw_request("PUT", path, q, hdrs, body)
    assert r.status == 403, r
    not_stored(s3, bucket, "cve2026")


@wormgate
def test_virtual_hosted_style(s3, bucket):
    if not s3h.DOMAIN:
        pytest.skip("WG_DOMAIN not set (wormgate --domain)")
    s3.put_object(Bucket=bucket, Key="vh/key", Body=b"virtual")
    import urllib.parse

    port = urllib.parse.urlsplit(s3h.ENDPOINT).port
    host = f"{bucket}.{s3h.DOMAIN}:{port}"
    signed = s3h.sign("GET", "/vh/key", [], {}, s3h.EMPTY_SHA256, host=host)
    r = s3h.raw_request("GET", "/vh/key", [], signed.headers)
    assert r.status == 200 and r.body == b"virtual", r


# --- the same framing on other write paths ----------------------------------------------------


def _upload_part_raw(bucket, key, upload_id, n, data, mode, secret=None):
    path = s3h.object_path(bucket, key)
    params = [("partNumber", str(n)), ("uploadId", upload_id)]
    if mode == "signed":
        hdrs = streaming_headers(len(data))
        probe = s3h.sign("PUT", path, params, hdrs, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", secret_key=secret)
        hdrs["content-length"] = str(len(s3h.aws_chunked_signed(probe, data)))
        signed = s3h.sign("PUT", path, params, hdrs, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", secret_key=secret)
        body = s3h.aws_chunked_signed(signed, data)
    else:
        body = s3h.aws_chunked_unsigned(data, ("x-amz-checksum-crc32", s3h.crc32_b64(data)))
        hdrs = streaming_headers(len(data), trailer="x-amz-checksum-crc32", content_length=len(body))
        signed = s3h.sign("PUT", path, params, hdrs, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", secret_key=secret)
    return s3h.raw_request("PUT", path, params, signed.headers, body)


@aws
@pytest.mark.parametrize("mode", ["signed", "unsigned-trailer"])
def test_upload_part_with_aws_chunked_bodies(s3, bucket, mode):
    part = s3h.payload(5 * s3h.MiB, seed=77)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    r = _upload_part_raw(bucket, "mp", uid, 1, part, mode)
    assert r.status == 200, r
    assert r.headers["etag"] == f'"{s3h.md5_hex(part)}"'
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r.headers["etag"]}]})
    assert s3h.body_of(s3, bucket, "mp") == part


@wormgate
@pytest.mark.parametrize("mode", ["signed", "unsigned-trailer"])
def test_upload_part_with_garbage_signature(s3, bucket, mode):
    # attack catalogue #1 on the UploadPart path
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    r = _upload_part_raw(bucket, "mp", uid, 1, DATA, mode, secret="garbage-secret-key")
    assert (r.status, r.code()) == (403, "SignatureDoesNotMatch"), r
    assert s3.list_parts(Bucket=bucket, Key="mp", UploadId=uid).get("Parts", []) == []
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid)


@wormgate
def test_browser_post_upload_is_not_a_way_in(s3, bucket):
    # attack catalogue #3: every handler that writes goes through the same gate. A form POST without any
    # (or with a bogus) policy signature must not create anything.
    boundary = "wormgateboundary"
    parts = []
    for name, value in (("key", "posted"), ("AWSAccessKeyId", s3h.ACCESS_KEY), ("policy", "e30="),
                        ("signature", "bogus"), ("x-amz-object-lock-mode", "GOVERNANCE")):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n')
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\nposted body\r\n--{boundary}--\r\n")
    body = "".join(parts).encode()
    r = s3h.raw_request("POST", s3h.object_path(bucket), [], {"content-type": f"multipart/form-data; boundary={boundary}"}, body)
    assert r.status in (400, 403, 405, 501), r
    expect_error(s3.head_object, Bucket=bucket, Key="posted", status=404)


@wormgate
def test_anonymous_tagging_acl_and_lock_changes_are_refused(s3, bucket):
    v = s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1")["VersionId"]
    anon = boto3.session.Session().client("s3", endpoint_url=s3h.ENDPOINT, region_name=s3h.REGION,
                                          verify=s3h.CA_BUNDLE or True,
                                          config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}))
    expect_error(anon.put_object_tagging, Bucket=bucket, Key="k", Tagging={"TagSet": []}, status=403, code="AccessDenied")
    expect_error(anon.delete_object_tagging, Bucket=bucket, Key="k", status=403, code="AccessDenied")
    expect_error(anon.put_object_acl, Bucket=bucket, Key="k", ACL="private", status=403, code="AccessDenied")
    expect_error(anon.put_object_legal_hold, Bucket=bucket, Key="k", LegalHold={"Status": "OFF"}, status=403, code="AccessDenied")
    expect_error(anon.delete_object, Bucket=bucket, Key="k", VersionId=v, status=403, code="AccessDenied")
    expect_error(anon.create_multipart_upload, Bucket=bucket, Key="k", status=403, code="AccessDenied")
    assert {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]} == {"a": "1"}


@aws
def test_delete_objects_with_content_md5_only(s3, bucket):
    # clients before boto3 1.36 send Content-MD5 (AWS documents it as required), newer ones a CRC32
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    body = b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>k</Key></Object></Delete>'
    path = s3h.object_path(bucket)
    signed = s3h.sign("POST", path, [("delete", "")], {"content-md5": s3h.md5_b64(body)}, s3h.sha256_hex(body))
    r = s3h.raw_request("POST", path, [("delete", "")], signed.headers, body)
    assert r.status == 200, r
    assert b"<Deleted>" in r.body and b"<DeleteMarker>true</DeleteMarker>" in r.body
    expect_error(s3.get_object, Bucket=bucket, Key="k", status=404, code="NoSuchKey")


@wormgate
def test_request_time_too_far_in_the_future(s3, bucket):
    ahead = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() + 20 * 60))
    _, send = put_raw(bucket, "ahead", b"x", s3h.sha256_hex(b"x"), amz_date=ahead)
    r = send()
    assert (r.status, r.code()) == (403, "RequestTimeTooSkewed"), r
    not_stored(s3, bucket, "ahead")


@wormgate
@pytest.mark.parametrize("header,value", [
    ("x-amz-object-lock-legal-hold", "ON"),
    ("x-amz-meta-injected", "1"),
    ("x-amz-tagging", "injected=1"),
])
def test_unsigned_amz_headers_are_refused(s3, bucket, header, value):
    # AWS: every x-amz-* header must be signed ("There were headers present in the request which were not
    # signed"), else a man in the middle could add lock or metadata headers to a signed request
    _, send = put_raw(bucket, "unsigned-hdr", b"x", s3h.sha256_hex(b"x"), extra_headers={header: value})
    r = send()
    assert r.status in (400, 403), f"a request with an unsigned {header} header was accepted: HTTP {r.status}"
    not_stored(s3, bucket, "unsigned-hdr")


@wormgate
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_presigned_get_cannot_be_replayed_with_another_method(s3, bucket, method):
    v = s3.put_object(Bucket=bucket, Key="k", Body=b"original")["VersionId"]
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=300)
    status, body, _ = fetch(url, method=method, data=b"replaced" if method == "PUT" else None,
                            headers={"Content-Type": "application/octet-stream"})
    assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")
    assert s3h.version_ids(s3, bucket, "k") == ({v}, set())


# --- the HTTP layer -----------------------------------------------------------------------------


def _socket():
    import socket
    import urllib.parse

    u = urllib.parse.urlsplit(s3h.ENDPOINT)
    sock = socket.create_connection((u.hostname, u.port), timeout=10)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=s3h.CA_BUNDLE) if s3h.CA_BUNDLE else ssl.create_default_context()
        sock = ctx.wrap_socket(sock, server_hostname=u.hostname)
    return sock


def _read_for(sock, seconds):
    import socket

    sock.settimeout(0.3)
    data, end = b"", time.time() + seconds
    while time.time() < end:
        try:
            c = sock.recv(65536)
        except (socket.timeout, ssl.SSLError, TimeoutError):
            continue
        except OSError:
            break
        if not c:
            break
        data += c
    return data


@wormgate
def test_body_of_a_refused_request_is_not_a_second_request(s3, bucket):
    # request smuggling: the body of a PUT refused before its body is read must be drained or the connection
    # closed; it must never be parsed as a request of its own
    inner = f"GET /health HTTP/1.1\r\nhost: {s3h.ENDPOINT.split('//')[1]}\r\n\r\n".encode()
    path = s3h.object_path(bucket, "smuggle")
    hdrs = {"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": s3h.iso(s3h.future(600)),
            "content-length": str(len(inner))}
    signed = s3h.sign("PUT", path, [], hdrs, s3h.sha256_hex(inner))
    head = f"PUT {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in signed.headers.items()) + "\r\n"
    sock = _socket()
    sock.sendall(head.encode() + inner)
    data = _read_for(sock, 2.0)
    sock.close()
    statuses = [line for line in data.split(b"\r\n") if line.startswith(b"HTTP/1.1 ") and not line.startswith(b"HTTP/1.1 100")]
    assert statuses and statuses[0].startswith(b"HTTP/1.1 400"), data[:300]
    assert len(statuses) == 1, f"the refused request's body was answered as a request: {statuses}"
    not_stored(s3, bucket, "smuggle")


@wormgate
def test_truncated_upload_leaves_no_object(s3, bucket):
    # the client promises 1 MiB, sends 1000 bytes and hangs up: nothing may become visible
    body = s3h.payload(1000, seed=5)
    path = s3h.object_path(bucket, "truncated")
    signed = s3h.sign("PUT", path, [], {"content-length": str(1024 * 1024)}, "UNSIGNED-PAYLOAD")
    head = f"PUT {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in signed.headers.items()) + "\r\n"
    sock = _socket()
    sock.sendall(head.encode() + body)
    time.sleep(0.5)
    sock.close()
    time.sleep(1.0)
    not_stored(s3, bucket, "truncated")
    # and the gateway still serves
    s3.put_object(Bucket=bucket, Key="after", Body=b"fine")
    assert s3h.body_of(s3, bucket, "after") == b"fine"


@wormgate
def test_oversized_xml_body_is_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    one = b"<Object><Key>k</Key></Object>"
    body = b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' + one * (4 * 1024 * 1024 // len(one)) + b"</Delete>"
    path = s3h.object_path(bucket)
    signed = s3h.sign("POST", path, [("delete", "")], {"content-md5": s3h.md5_b64(body)}, s3h.sha256_hex(body))
    r = s3h.raw_request("POST", path, [("delete", "")], signed.headers, body)
    assert r.status == 400, r
    assert s3h.version_ids(s3, bucket, "k")[1] == set()


# --- dates and expiry as AWS accepts them (issue 9) ------------------------------------------------


@wormgate
def test_presigned_expires_zero_has_expired(s3, bucket):
    # AWS: 403 AccessDenied "Request has expired" (not a 400 about the parameter)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    q = s3h.presign_v4("GET", s3h.object_path(bucket, "k"), [], expires=0)
    r = s3h.raw_request("GET", s3h.object_path(bucket, "k"), q)
    assert (r.status, r.code()) == (403, "AccessDenied"), r
    assert b"Request has expired" in r.body


def _signed_with_date_header(method, path, date_header, amz_date):
    """SigV4 dated by the `Date` header (no x-amz-date): the string to sign carries the same instant in
    the basic ISO form."""
    import hashlib
    import hmac
    import urllib.parse

    host = urllib.parse.urlsplit(s3h.ENDPOINT).netloc
    payload = s3h.sha256_hex(b"")
    h = {"host": host, "date": date_header, "x-amz-content-sha256": payload}
    names = sorted(h)
    canonical = "".join(f"{n}:{' '.join(h[n].split())}\n" for n in names)  # values trimmed, spaces collapsed
    creq = "\n".join([method, path, "", canonical, ";".join(names), payload])
    scope = f"{amz_date[:8]}/{s3h.REGION}/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    sig = hmac.new(s3h.signing_key(s3h.SECRET_KEY, amz_date[:8]), sts.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = (f"AWS4-HMAC-SHA256 Credential={s3h.ACCESS_KEY}/{scope}, "
                          f"SignedHeaders={';'.join(names)}, Signature={sig}")
    return h


@aws
@gap("moto does not verify signatures")
@pytest.mark.parametrize("form", [
    "%a, %d %b %Y %H:%M:%S GMT",
    "%a, %d %b %Y %H:%M:%S +0000",
    "%a, %d %b %Y %H:%M:%S -0000",
    "%A, %d-%b-%y %H:%M:%S GMT",
    "%a %b %e %H:%M:%S %Y",
])
def test_sigv4_dated_by_the_date_header(s3, bucket, form):
    s3.put_object(Bucket=bucket, Key="k", Body=b"dated")
    now = time.gmtime()
    path = s3h.object_path(bucket, "k")
    h = _signed_with_date_header("GET", path, time.strftime(form, now), time.strftime("%Y%m%dT%H%M%SZ", now))
    r = s3h.raw_request("GET", path, headers=h)
    assert (r.status, r.body) == (200, b"dated"), r
