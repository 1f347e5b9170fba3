"""Fixtures: one boto3 client per session (HTTP or HTTPS and the checksum mode come from the environment,
see s3h.py), a fresh Object-Lock bucket per test, role clients for wormgate."""

import itertools
import os
import secrets

import pytest

import s3h

RUN_ID = os.environ.get("S3_SUITE_RUN_ID") or secrets.token_hex(3)
_counter = itertools.count(1)
_created = []


def new_bucket_name(tag="b"):
    # unique per run, variant and test; lower case, <= 63 chars
    variant = ("s" if s3h.is_https() else "p") + ("r" if s3h.CHECKSUMS == "when_required" else "d")
    return f"wgc-{RUN_ID}-{variant}-{tag}-{next(_counter):04d}"[:63]


def pytest_report_header(config):
    return [
        f"endpoint: {s3h.ENDPOINT} (target {s3h.TARGET}), checksums: {s3h.CHECKSUMS}, "
        f"ca bundle: {s3h.CA_BUNDLE or '-'}, run id: {RUN_ID}"
    ]


@pytest.fixture(scope="session")
def s3():
    return s3h.make_client()


@pytest.fixture
def bucket(s3):
    """A fresh bucket created with Object Lock enabled (as AWS requires for lock tests)."""
    name = new_bucket_name()
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    _created.append(name)
    return name


@pytest.fixture
def make_bucket(s3):
    def _make(lock=True, tag="b"):
        name = new_bucket_name(tag)
        if lock:
            s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        else:
            s3.create_bucket(Bucket=name)
        _created.append(name)
        return name

    return _make


@pytest.fixture(scope="session")
def users():
    u = s3h.role_users()
    if not u:
        pytest.skip("WG_USERS not set: role tests need wormgate's writer/officer/auditor users")
    return u


@pytest.fixture(scope="session")
def role_client(users):
    cache = {}

    def _client(role):
        if role not in users:
            pytest.skip(f"no {role} user in WG_USERS")
        if role not in cache:
            cache[role] = s3h.make_client(*users[role])
        return cache[role]

    return _client


def pytest_sessionfinish(session, exitstatus):
    """Best-effort cleanup of what the run created, for endpoints that outlive the run (S3_CLEANUP=1).
    Retained versions cannot be removed, by design; those are left to expire."""
    if os.environ.get("S3_CLEANUP") != "1" or not _created:
        return
    try:
        s3 = s3h.make_client()
        for b in _created:
            try:
                versions, markers = s3h.all_versions(s3, b)
                objs = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions + markers]
                for i in range(0, len(objs), 1000):
                    s3.delete_objects(Bucket=b, Delete={"Objects": objs[i : i + 1000], "Quiet": True})
                for u in s3.list_multipart_uploads(Bucket=b).get("Uploads", []):
                    s3.abort_multipart_upload(Bucket=b, Key=u["Key"], UploadId=u["UploadId"])
                s3.delete_bucket(Bucket=b)
            except Exception:
                pass
    except Exception:
        pass


def pytest_collection_modifyitems(config, items):
    """Against moto_server, AWS behaviour that moto lacks is expected to fail (strict: a moto_gap test that
    passes on moto fails the run, so stale marks are noticed)."""
    if s3h.TARGET != "moto":
        return
    for item in items:
        gap = item.get_closest_marker("moto_gap")
        if gap is not None:
            reason = gap.args[0] if gap.args else "moto_server lacks this AWS behaviour"
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"moto gap: {reason}"))
