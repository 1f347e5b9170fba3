#!/usr/bin/env python3
"""Protection survives a crash (attack catalogue #8, "also after restart"; issue 2: a killed process never
loses an acknowledged version). `run` calls

  restart_check.py prepare STATE.json    before wormgate is killed with SIGKILL
  restart_check.py verify STATE.json STEPS_FILE   after it was started again on the same data dir

Both take the endpoint from S3_ENDPOINT / S3_ACCESS_KEY / S3_SECRET_KEY; `verify` appends one
"pass|fail<TAB>name<TAB>seconds<TAB>detail" line per check to STEPS_FILE."""

import datetime as dt
import hashlib
import json
import os
import sys
import time
import traceback

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def client():
    return boto3.session.Session().client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT"],
        aws_access_key_id=os.environ["S3_ACCESS_KEY"],
        aws_secret_access_key=os.environ["S3_SECRET_KEY"],
        region_name="us-east-1",
        verify=os.environ.get("S3_CA_BUNDLE") or True,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )


def prepare(state_path):
    s3 = client()
    bucket = f"wgc-{os.environ.get('S3_SUITE_RUN_ID', 'x')}-restart"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    until = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)).replace(microsecond=0)
    objects = {}
    for i in range(20):
        body = os.urandom(1000 + i * 3001)
        kw = {}
        if i % 4 == 0:
            kw = {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until}
        if i % 5 == 0:
            kw["ObjectLockLegalHoldStatus"] = "ON"
        r = s3.put_object(Bucket=bucket, Key=f"k{i:02d}", Body=body, ChecksumAlgorithm="SHA256", **kw)
        objects[f"k{i:02d}"] = {"version": r["VersionId"], "sha256": hashlib.sha256(body).hexdigest(),
                                "retained": bool(kw.get("ObjectLockMode")), "hold": i % 5 == 0}
    # a multipart object and a delete marker, acknowledged just before the kill
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    p1, p2 = os.urandom(5 * 1024 * 1024), os.urandom(1234)
    parts = [{"PartNumber": n, "ETag": s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=n, Body=p)["ETag"]}
             for n, p in ((1, p1), (2, p2))]
    c = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={"Parts": parts})
    objects["mp"] = {"version": c["VersionId"], "sha256": hashlib.sha256(p1 + p2).hexdigest(), "retained": False, "hold": False}
    marker = s3.delete_object(Bucket=bucket, Key="k01")["VersionId"]
    heads = {k: s3.head_object(Bucket=bucket, Key=k, VersionId=o["version"]) for k, o in objects.items()}
    for k, o in objects.items():
        o["retain_until"] = heads[k]["ObjectLockRetainUntilDate"].isoformat()
    json.dump({"bucket": bucket, "until": until.isoformat(), "objects": objects, "marker": marker}, open(state_path, "w"))
    print(f"prepared {len(objects)} versions in {bucket}")


def verify(state_path, steps_path):
    st = json.load(open(state_path))
    s3 = client()
    b = st["bucket"]
    out = open(steps_path, "a")

    def check(name, fn):
        t0 = time.time()
        try:
            fn()
            out.write(f"pass\t{name}\t{time.time() - t0:.1f}\n")
            print(f"  ok    {name}")
        except Exception as e:  # noqa: BLE001 - every failure is a failed check
            detail = f"{type(e).__name__}: {e}".replace("\t", " ").replace("\n", " ")[:300]
            out.write(f"fail\t{name}\t{time.time() - t0:.1f}\t{detail}\n")
            print(f"  FAIL  {name}: {detail}")
            traceback.print_exc()
        out.flush()

    def refused(fn, code, **kw):
        try:
            fn(**kw)
        except ClientError as e:
            got = e.response["Error"]["Code"]
            assert got == code, f"expected {code}, got {got}"
            return
        raise AssertionError(f"expected {code}, but the request succeeded")

    def all_readable():
        for k, o in st["objects"].items():
            body = s3.get_object(Bucket=b, Key=k, VersionId=o["version"])["Body"].read()
            assert hashlib.sha256(body).hexdigest() == o["sha256"], f"{k}: bytes differ after restart"

    def same_versions():
        r = s3.list_object_versions(Bucket=b)
        got = {(v["Key"], v["VersionId"]) for v in r.get("Versions", [])}
        want = {(k, o["version"]) for k, o in st["objects"].items()}
        assert got == want, f"versions differ: missing {want - got}, extra {got - want}"
        assert [m["VersionId"] for m in r.get("DeleteMarkers", [])] == [st["marker"]]

    def retention_unchanged():
        for k, o in st["objects"].items():
            h = s3.head_object(Bucket=b, Key=k, VersionId=o["version"])
            assert h["ObjectLockRetainUntilDate"].isoformat() == o["retain_until"], k
            assert (h.get("ObjectLockLegalHoldStatus") == "ON") == o["hold"], k

    def deletes_refused():
        for k, o in st["objects"].items():
            if o["retained"] or o["hold"]:
                refused(s3.delete_object, "AccessDenied", Bucket=b, Key=k, VersionId=o["version"])

    def shorten_refused():
        for k, o in st["objects"].items():
            if o["retained"]:
                refused(s3.put_object_retention, "AccessDenied", Bucket=b, Key=k, VersionId=o["version"],
                        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)})

    def bucket_stays():
        refused(s3.delete_bucket, "BucketNotEmpty", Bucket=b)

    def writes_work():
        v = s3.put_object(Bucket=b, Key="after-restart", Body=b"new", ChecksumAlgorithm="SHA256")["VersionId"]
        assert v not in {o["version"] for o in st["objects"].values()}, "a version id was reused"
        assert s3.get_object(Bucket=b, Key="after-restart")["Body"].read() == b"new"

    check("after SIGKILL + restart: every acknowledged version reads back byte for byte", all_readable)
    check("after restart: the same versions and delete marker are listed", same_versions)
    check("after restart: retention dates and legal holds unchanged", retention_unchanged)
    check("after restart: deleting retained or held versions refused", deletes_refused)
    check("after restart: shortening retention refused", shorten_refused)
    check("after restart: deleting the bucket refused", bucket_stays)
    check("after restart: new writes work, version ids not reused", writes_work)


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2])
    else:
        verify(sys.argv[2], sys.argv[3])
