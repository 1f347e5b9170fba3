"""Helpers shared by the tests: endpoint settings, boto3 clients, error assertions, checksums and a small
SigV4 signer for hand-made requests (aws-chunked bodies, bad signatures, presigned URLs).

Everything is configured by environment variables (set by ./run, or by hand):

  S3_ENDPOINT        http(s)://host:port of the endpoint under test
  S3_ACCESS_KEY      access key of a principal allowed to do everything (wormgate: the admin)
  S3_SECRET_KEY      its secret
  S3_REGION          region to sign for (default us-east-1)
  S3_CA_BUNDLE       PEM file to verify an https endpoint with (default: system trust store)
  S3_CHECKSUMS       "default" (boto3's when_supported) or "when_required"
  S3_TARGET          "wormgate", "moto" or "other" (informational; markers select the tests)
  WG_USERS           wormgate role users: "writer:AK:SK,officer:AK:SK,auditor:AK:SK,backup:AK:SK"
  WG_MIN_RETENTION_S wormgate's --min-retention in seconds (the suite starts it with 1)
  WG_DOMAIN          wormgate's --domain for virtual-hosted-style tests (optional)
"""

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import os
import ssl
import time
import urllib.parse
import zlib

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ.get("S3_ENDPOINT", "http://127.0.0.1:9000").rstrip("/")
ACCESS_KEY = os.environ.get("S3_ACCESS_KEY", "")
SECRET_KEY = os.environ.get("S3_SECRET_KEY", "")
REGION = os.environ.get("S3_REGION", "us-east-1")
CA_BUNDLE = os.environ.get("S3_CA_BUNDLE") or None
CHECKSUMS = os.environ.get("S3_CHECKSUMS", "default")
TARGET = os.environ.get("S3_TARGET", "other")
MIN_RETENTION_S = float(os.environ.get("WG_MIN_RETENTION_S", "1"))
DOMAIN = os.environ.get("WG_DOMAIN") or None

MiB = 1024 * 1024


def is_https():
    return ENDPOINT.startswith("https://")


def client_config(**over):
    kw = dict(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"total_max_attempts": 1},
        connect_timeout=10,
        read_timeout=300,
    )
    if CHECKSUMS == "when_required":
        kw.update(request_checksum_calculation="when_required", response_checksum_validation="when_required")
    kw.update(over)
    return Config(**kw)


def make_client(access_key=None, secret_key=None, **config_over):
    return boto3.session.Session().client(
        "s3",
        endpoint_url=ENDPOINT,
        aws_access_key_id=access_key if access_key is not None else ACCESS_KEY,
        aws_secret_access_key=secret_key if secret_key is not None else SECRET_KEY,
        region_name=REGION,
        verify=CA_BUNDLE if CA_BUNDLE else True,
        config=client_config(**config_over),
    )


def role_users():
    """{"writer": (ak, sk), ...} from WG_USERS."""
    out = {}
    for item in filter(None, os.environ.get("WG_USERS", "").split(",")):
        role, ak, sk = item.split(":", 2)
        out[role] = (ak, sk)
    return out


# ---------------------------------------------------------------------------------------------------
# Errors


def expect_error(fn, *args, status=None, code=None, **kwargs):
    """Call fn; it must raise ClientError with the given HTTP status and/or error code. Returns the error."""
    try:
        result = fn(*args, **kwargs)
    except ClientError as e:
        got_status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        got_code = e.response.get("Error", {}).get("Code")
        if status is not None:
            assert got_status == status, f"expected HTTP {status} {code}, got {got_status} {got_code}: {e}"
        if code is not None:
            codes = code if isinstance(code, (tuple, list, set)) else (code,)
            assert got_code in codes, f"expected error code {code} (HTTP {status}), got {got_code} (HTTP {got_status}): {e}"
        return e
    meta = result.get("ResponseMetadata", {}) if isinstance(result, dict) else {}
    pytest.fail(f"expected an error (HTTP {status} {code}) but the call succeeded: HTTP {meta.get('HTTPStatusCode')}")


def status_of(e):
    return e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def code_of(e):
    return e.response.get("Error", {}).get("Code")


def hdr(resp, name):
    return resp["ResponseMetadata"]["HTTPHeaders"].get(name.lower())


# ---------------------------------------------------------------------------------------------------
# Time


def utcnow():
    return dt.datetime.now(dt.timezone.utc)


def future(seconds):
    """An aware UTC datetime `seconds` from now, truncated to whole seconds."""
    return (utcnow() + dt.timedelta(seconds=seconds)).replace(microsecond=0)


def iso(d):
    return d.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def same_instant(a, b, tolerance=1.0):
    return abs((a - b).total_seconds()) <= tolerance


# ---------------------------------------------------------------------------------------------------
# Digests (base64 of the big-endian digest, as x-amz-checksum-* carries them)


def b64(raw):
    return base64.b64encode(raw).decode()


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


def md5_b64(data):
    return b64(hashlib.md5(data).digest())


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def sha256_b64(data):
    return b64(hashlib.sha256(data).digest())


def sha1_b64(data):
    return b64(hashlib.sha1(data).digest())


def crc32_raw(data):
    return (zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")


def crc32_b64(data):
    return b64(crc32_raw(data))


def _crc_table(poly, width):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_T = None
_CRC64_T = None


def crc32c_raw(data):
    try:
        from awscrt import checksums

        return checksums.crc32c(data).to_bytes(4, "big")
    except ImportError:
        global _CRC32C_T
        _CRC32C_T = _CRC32C_T or _crc_table(0x82F63B78, 32)
        c = 0xFFFFFFFF
        for byte in data:
            c = (c >> 8) ^ _CRC32C_T[(c ^ byte) & 0xFF]
        return (c ^ 0xFFFFFFFF).to_bytes(4, "big")


def crc32c_b64(data):
    return b64(crc32c_raw(data))


def crc64nvme_raw(data):
    try:
        from awscrt import checksums

        return checksums.crc64nvme(data).to_bytes(8, "big")
    except ImportError:
        global _CRC64_T
        _CRC64_T = _CRC64_T or _crc_table(0x9A6C9329AC4BC9B5, 64)
        c = 0xFFFFFFFFFFFFFFFF
        for byte in data:
            c = (c >> 8) ^ _CRC64_T[(c ^ byte) & 0xFF]
        return (c ^ 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")


def crc64nvme_b64(data):
    return b64(crc64nvme_raw(data))


def multipart_etag(parts):
    """The ETag AWS gives a completed multipart upload: md5 of the concatenated binary part md5s, -N."""
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


def payload(n, seed=0):
    """n deterministic pseudo-random bytes (cheap, varied enough to catch byte mix-ups)."""
    block = hashlib.sha256(f"wormgate-suite-{seed}".encode()).digest()
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(block + counter.to_bytes(8, "big")).digest() * 64
        counter += 1
    return bytes(out[:n])


# ---------------------------------------------------------------------------------------------------
# Listing helpers


def all_versions(s3, bucket, prefix=""):
    """(versions, delete_markers) across all pages."""
    versions, markers = [], []
    kw = {"Bucket": bucket, "Prefix": prefix}
    while True:
        r = s3.list_object_versions(**kw)
        versions += r.get("Versions", [])
        markers += r.get("DeleteMarkers", [])
        if not r.get("IsTruncated"):
            return versions, markers
        kw["KeyMarker"] = r["NextKeyMarker"]
        if r.get("NextVersionIdMarker"):
            kw["VersionIdMarker"] = r["NextVersionIdMarker"]
        else:
            kw.pop("VersionIdMarker", None)


def version_ids(s3, bucket, key):
    v, m = all_versions(s3, bucket, key)
    return {x["VersionId"] for x in v if x["Key"] == key}, {x["VersionId"] for x in m if x["Key"] == key}


def body_of(s3, bucket, key, **kw):
    return s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()


# ---------------------------------------------------------------------------------------------------
# A minimal SigV4 signer for raw requests


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret, date, region=None, service="s3"):
    k = _hmac(("AWS4" + secret).encode(), date)
    k = _hmac(k, region or REGION)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def uri_encode(s, safe="-_.~"):
    return urllib.parse.quote(s, safe=safe)


def canonical_query(params):
    items = sorted((uri_encode(k), uri_encode(v)) for k, v in params)
    return "&".join(f"{k}={v}" for k, v in items)


def object_path(bucket, key=None):
    if key is None:
        return f"/{bucket}"
    return f"/{bucket}/" + uri_encode(key, safe="-_.~/")


class Signed:
    """Result of signing: headers to send, the seed signature, scope data for chunk signing."""

    def __init__(self, headers, signature, amz_date, scope, key):
        self.headers = headers
        self.signature = signature
        self.amz_date = amz_date
        self.scope = scope
        self.key = key


def sign(method, path, params, headers, payload_hash, access_key=None, secret_key=None, amz_date=None, host=None):
    """Sign with an Authorization header. `headers` are all signed (lowercased); host is added."""
    access_key = access_key if access_key is not None else ACCESS_KEY
    secret_key = secret_key if secret_key is not None else SECRET_KEY
    amz_date = amz_date or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    date = amz_date[:8]
    host = host or urllib.parse.urlsplit(ENDPOINT).netloc
    h = {k.lower(): str(v).strip() for k, v in headers.items()}
    h["host"] = host
    h["x-amz-date"] = amz_date
    h["x-amz-content-sha256"] = payload_hash
    names = sorted(h)
    canonical_headers = "".join(f"{n}:{h[n]}\n" for n in names)
    signed_headers = ";".join(names)
    creq = "\n".join([method, path, canonical_query(params), canonical_headers, signed_headers, payload_hash])
    scope = f"{date}/{REGION}/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    key = signing_key(secret_key, date)
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed_headers}, Signature={sig}"
    return Signed(h, sig, amz_date, scope, key)


def presign_v4(method, path, params, expires=300, access_key=None, secret_key=None, amz_date=None, extra_signed=None):
    """Query-string SigV4; returns the full query list. Payload UNSIGNED-PAYLOAD, signed header host."""
    access_key = access_key if access_key is not None else ACCESS_KEY
    secret_key = secret_key if secret_key is not None else SECRET_KEY
    amz_date = amz_date or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    date = amz_date[:8]
    host = urllib.parse.urlsplit(ENDPOINT).netloc
    scope = f"{date}/{REGION}/s3/aws4_request"
    h = {"host": host}
    h.update({k.lower(): v for k, v in (extra_signed or {}).items()})
    names = sorted(h)
    q = list(params) + [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", f"{access_key}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", ";".join(names)),
    ]
    creq = "\n".join(
        [method, path, canonical_query(q), "".join(f"{n}:{h[n]}\n" for n in names), ";".join(names), "UNSIGNED-PAYLOAD"]
    )
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    sig = hmac.new(signing_key(secret_key, date), sts.encode(), hashlib.sha256).hexdigest()
    return q + [("X-Amz-Signature", sig)]


def chunk_signature(signed, prev_sig, data):
    sts = "\n".join(
        ["AWS4-HMAC-SHA256-PAYLOAD", signed.amz_date, signed.scope, prev_sig, EMPTY_SHA256, hashlib.sha256(data).hexdigest()]
    )
    return hmac.new(signed.key, sts.encode(), hashlib.sha256).hexdigest()


def trailer_signature(signed, prev_sig, trailer_text):
    sts = "\n".join(
        ["AWS4-HMAC-SHA256-TRAILER", signed.amz_date, signed.scope, prev_sig, hashlib.sha256(trailer_text.encode()).hexdigest()]
    )
    return hmac.new(signed.key, sts.encode(), hashlib.sha256).hexdigest()


def aws_chunked_signed(signed, data, chunk_size=64 * 1024, trailer=None, tamper_chunk=None):
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER) body. trailer = (name, value)."""
    out = bytearray()
    prev = signed.signature
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    for n, c in enumerate(chunks):
        sig = chunk_signature(signed, prev, c)
        if tamper_chunk == n:
            sig = "0" * 64
        out += f"{len(c):x};chunk-signature={sig}\r\n".encode() + c
        if c or trailer is None:
            out += b"\r\n"
        prev = sig
    if trailer is not None:
        text = f"{trailer[0]}:{trailer[1]}\n"
        tsig = trailer_signature(signed, prev, text)
        out += f"{trailer[0]}:{trailer[1]}\r\nx-amz-trailer-signature:{tsig}\r\n\r\n".encode()
    return bytes(out)


def aws_chunked_unsigned(data, trailer, chunk_size=64 * 1024):
    """STREAMING-UNSIGNED-PAYLOAD-TRAILER body."""
    out = bytearray()
    for i in range(0, len(data), chunk_size):
        c = data[i : i + chunk_size]
        out += f"{len(c):x}\r\n".encode() + c + b"\r\n"
    out += b"0\r\n" + f"{trailer[0]}:{trailer[1]}\r\n\r\n".encode()
    return bytes(out)


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def code(self):
        import re

        m = re.search(rb"<Code>([^<]*)</Code>", self.body or b"")
        return m.group(1).decode() if m else None

    def __repr__(self):
        return f"RawResponse({self.status}, {self.body[:300]!r})"


def connection(timeout=60):
    u = urllib.parse.urlsplit(ENDPOINT)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=CA_BUNDLE) if CA_BUNDLE else ssl.create_default_context()
        return http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=timeout, context=ctx)
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)


def raw_request(method, path, params=(), headers=None, body=b"", http_chunked=False):
    """Send exactly these headers/body. params: list of (k, v) to put in the query string."""
    conn = connection()
    qs = canonical_query(params) if params else ""
    url = path + ("?" + qs if qs else "")
    conn.putrequest(method, url, skip_host=True, skip_accept_encoding=True)
    h = dict(headers or {})
    if "host" not in {k.lower() for k in h}:
        h["host"] = urllib.parse.urlsplit(ENDPOINT).netloc
    for k, v in h.items():
        conn.putheader(k, v)
    if http_chunked:
        conn.putheader("transfer-encoding", "chunked")
    elif body is not None and method in ("PUT", "POST") and "content-length" not in {k.lower() for k in h}:
        conn.putheader("content-length", str(len(body)))
    try:
        conn.endheaders()
        if body:
            if http_chunked:
                step = 8192
                for i in range(0, len(body), step):
                    c = body[i : i + step]
                    conn.send(f"{len(c):x}\r\n".encode() + c + b"\r\n")
                conn.send(b"0\r\n\r\n")
            else:
                conn.send(body)
        elif http_chunked:
            conn.send(b"0\r\n\r\n")
    except OSError:  # BrokenPipeError, ConnectionResetError, ssl.SSLError
        # the server may answer (a refusal) and close before the whole body is sent: read that answer
        pass
    try:
        resp = conn.getresponse()
        data = resp.read() if method != "HEAD" else b""
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()
