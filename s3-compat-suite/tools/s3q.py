#!/usr/bin/env python3
"""Small boto3 helper for the client scenarios (the scenarios check what the CLIs did through a second,
independent client). Endpoint and keys come from S3_ENDPOINT / S3_ACCESS_KEY / S3_SECRET_KEY /
S3_REGION / S3_CA_BUNDLE.

  s3q.py mkbucket BUCKET                       create with Object Lock enabled (ok if it exists)
  s3q.py versions BUCKET PREFIX OUT.json       save every version and delete marker under PREFIX
  s3q.py count BUCKET PREFIX                   print "<versions> <delete markers>"
  s3q.py expect BUCKET KEY VERSIONS MARKERS    the key has exactly that many versions and markers
  s3q.py subset A.json B.json                  every version in A is still in B (same id, etag, size)
  s3q.py verify-content-addressed BUCKET A.json
                                               GET every version in A by id; for restic's content-
                                               addressed files (name = sha256 of the bytes) check it
  s3q.py undelete BUCKET PREFIX                remove every delete marker under PREFIX
  s3q.py get-version BUCKET KEY VERSION OUT    download one version
"""

import hashlib
import json
import os
import sys

import boto3
from botocore.config import Config


def client():
    return boto3.session.Session().client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT"],
        aws_access_key_id=os.environ["S3_ACCESS_KEY"],
        aws_secret_access_key=os.environ["S3_SECRET_KEY"],
        region_name=os.environ.get("S3_REGION", "us-east-1"),
        verify=os.environ.get("S3_CA_BUNDLE") or True,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"total_max_attempts": 2}),
    )


def all_versions(s3, bucket, prefix):
    versions, markers = [], []
    kw = {"Bucket": bucket, "Prefix": prefix}
    while True:
        r = s3.list_object_versions(**kw)
        versions += [[v["Key"], v["VersionId"], v["ETag"], v["Size"]] for v in r.get("Versions", [])]
        markers += [[m["Key"], m["VersionId"]] for m in r.get("DeleteMarkers", [])]
        if not r.get("IsTruncated"):
            return versions, markers
        kw["KeyMarker"] = r["NextKeyMarker"]
        kw["VersionIdMarker"] = r.get("NextVersionIdMarker") or ""
        if not kw["VersionIdMarker"]:
            del kw["VersionIdMarker"]


def main(argv):
    s3 = client()
    cmd = argv[0]
    if cmd == "mkbucket":
        try:
            s3.create_bucket(Bucket=argv[1], ObjectLockEnabledForBucket=True)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        print(s3.get_bucket_versioning(Bucket=argv[1]))
        return 0
    if cmd == "versions":
        v, m = all_versions(s3, argv[1], argv[2])
        with open(argv[3], "w") as f:
            json.dump({"versions": v, "markers": m}, f)
        print(f"{len(v)} versions, {len(m)} delete markers under {argv[1]}/{argv[2]}")
        return 0
    if cmd == "count":
        v, m = all_versions(s3, argv[1], argv[2])
        print(len(v), len(m))
        return 0
    if cmd == "expect":
        bucket, key, nv, nm = argv[1], argv[2], int(argv[3]), int(argv[4])
        v, m = all_versions(s3, bucket, key)
        v = [x for x in v if x[0] == key]
        m = [x for x in m if x[0] == key]
        print(f"{key}: {len(v)} versions {[x[1] for x in v]}, {len(m)} delete markers {[x[1] for x in m]}")
        return 0 if (len(v), len(m)) == (nv, nm) else 1
    if cmd == "subset":
        a = json.load(open(argv[1]))["versions"]
        b = {tuple(x) for x in json.load(open(argv[2]))["versions"]}
        missing = [x for x in a if tuple(x) not in b]
        print(f"{len(a)} versions before, {len(b)} after, {len(missing)} missing")
        for x in missing[:20]:
            print("MISSING", x)
        return 1 if missing else 0
    if cmd == "verify-content-addressed":
        bucket = argv[1]
        versions = json.load(open(argv[2]))["versions"]
        checked = named = 0
        bad = []
        for key, vid, etag, size in versions:
            body = s3.get_object(Bucket=bucket, Key=key, VersionId=vid)["Body"].read()
            checked += 1
            if len(body) != size:
                bad.append((key, vid, "size"))
                continue
            base = key.rsplit("/", 1)[-1]
            if len(base) == 64 and all(c in "0123456789abcdef" for c in base) and "/locks/" not in key:
                named += 1
                if hashlib.sha256(body).hexdigest() != base:
                    bad.append((key, vid, "sha256"))
        print(f"read {checked} versions back by id; {named} content-addressed files verified by sha256; {len(bad)} bad")
        for x in bad[:20]:
            print("BAD", x)
        return 1 if bad or not checked else 0
    if cmd == "undelete":
        _, m = all_versions(s3, argv[1], argv[2])
        for key, vid in m:
            s3.delete_object(Bucket=argv[1], Key=key, VersionId=vid)
        print(f"removed {len(m)} delete markers")
        return 0
    if cmd == "get-version":
        body = s3.get_object(Bucket=argv[1], Key=argv[2], VersionId=argv[3])["Body"].read()
        with open(argv[4], "wb") as f:
            f.write(body)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
