#!/usr/bin/env bash
# restic + lifecycle scenario (wormgate started by ./run: --min-retention 1s, --lifecycle-day 1s,
# --lifecycle-interval 1s): backup, change, backup, forget --prune (plain DELETEs: delete markers), then the
# bucket's lifecycle rules (NoncurrentVersionExpiration + ExpiredObjectDeleteMarker +
# AbortIncompleteMultipartUpload) reclaim what prune "deleted" once retention allows: noncurrent versions and
# lone markers go, the gateway's blob directory shrinks, and `restic check --read-data` still passes.
# Usage: restic-lifecycle.sh full|smoke. Needs WG_DATA_DIR (the gateway's data directory) for the size check.
set -a
MODE=${1:-full}
. "$(dirname "$0")/lib.sh"
STEP_ARRAYS="RESTIC_ARGS"

B=$(bucket_name "restic-lc-$MODE")
W=$DATA_DIR/restic-lifecycle-$MODE
mkdir -p "$W"
RESTIC_REPOSITORY="s3:$S3_ENDPOINT/$B/repo"
RESTIC_PASSWORD=wormgate-suite-restic-password
AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
AWS_DEFAULT_REGION=${S3_REGION:-us-east-1}
RESTIC_ARGS=(--no-cache)
[ -n "${S3_CA_BUNDLE:-}" ] && RESTIC_ARGS+=(--cacert "$S3_CA_BUNDLE")
if [ "$MODE" = full ]; then BIG_MB=24; FILES=200; else BIG_MB=4; FILES=20; fi

rs_() { restic "${RESTIC_ARGS[@]}" "$@"; }

blob_bytes() {
    if [ -d "${WG_DATA_DIR:-}/blobs" ]; then du -sb "$WG_DATA_DIR/blobs" | cut -f1; else echo 0; fi
}

prepare() {
    make_tree "$W/src" "$FILES"
    random_file "$W/src/large.bin" "$BIG_MB"
}
rules() {
    $PY - "$B" <<'PYEOF'
import os, sys, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], aws_access_key_id=os.environ["S3_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["S3_SECRET_KEY"], region_name=os.environ.get("S3_REGION", "us-east-1"),
                  verify=os.environ.get("S3_CA_BUNDLE") or None, config=Config(s3={"addressing_style": "path"}))
b = sys.argv[1]
try:
    s3.create_bucket(Bucket=b, ObjectLockEnabledForBucket=True)
except s3.exceptions.BucketAlreadyOwnedByYou:
    pass
s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
    {"ID": "old-versions", "Status": "Enabled", "Filter": {"Prefix": ""},
     "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
    {"ID": "markers-and-uploads", "Status": "Enabled", "Filter": {"Prefix": ""},
     "Expiration": {"ExpiredObjectDeleteMarker": True},
     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
]})
print(s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"])
PYEOF
}
init() { rs_ init; }
backup1() { rs_ backup --host suite "$W/src"; }
backup2() {
    rm -f "$W/src/large.bin"
    find "$W/src" -name 'file-*.bin' | LC_ALL=C sort | awk 'NR % 2 == 0' | xargs rm -f
    random_file "$W/src/other.bin" 1
    rs_ backup --host suite "$W/src"
}
forget_prune() {
    blob_bytes >"$W/bytes-before"
    rs_ forget --keep-last 1 --prune
}
reclaimed() {
    # wait (at most 90 s) until no noncurrent version and no delete marker is left under repo/
    $PY - "$B" <<'PYEOF'
import os, sys, time, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], aws_access_key_id=os.environ["S3_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["S3_SECRET_KEY"], region_name=os.environ.get("S3_REGION", "us-east-1"),
                  verify=os.environ.get("S3_CA_BUNDLE") or None, config=Config(s3={"addressing_style": "path"}))
b = sys.argv[1]
deadline = time.time() + 90
while True:
    old, markers = 0, 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=b, Prefix="repo/"):
        old += sum(1 for v in page.get("Versions", []) if not v["IsLatest"])
        markers += len(page.get("DeleteMarkers", []))
    print(f"noncurrent versions {old}, delete markers {markers}")
    if old == 0 and markers == 0:
        sys.exit(0)
    if time.time() > deadline:
        sys.exit(1)
    time.sleep(2)
PYEOF
}
data_dir_shrank() {
    local before after
    before=$(cat "$W/bytes-before")
    after=$(blob_bytes)
    echo "blobs: $before bytes after the second backup, $after after lifecycle"
    if [ "$before" = 0 ]; then
        echo "no local blob directory (upstream mode or WG_DATA_DIR unset): size check skipped"
        return 0
    fi
    # the large file went with the forgotten snapshot: at least that much must have come back
    [ $((before - after)) -ge $((BIG_MB * 1024 * 1024)) ]
}
check_read_data() { rs_ check --read-data; }
restore_latest() {
    rm -rf "$W/restore"
    rs_ restore latest --target "$W/restore" && same_tree "$W/src" "$W/restore/$W/src"
}

echo "$(restic version 2>/dev/null) against $S3_ENDPOINT ($MODE), lifecycle"
step "prepare ${FILES} small files + ${BIG_MB} MiB file" prepare
step "bucket with NoncurrentVersionExpiration + ExpiredObjectDeleteMarker" rules
step "restic init" init
step "restic backup" backup1
step "restic backup of a changed tree" backup2
step "restic forget --keep-last 1 --prune" forget_prune
step "lifecycle reclaims noncurrent versions and markers" reclaimed
step "the data directory shrank" data_dir_shrank
step "restic check --read-data after lifecycle" check_read_data
step "restic restore latest, every sha256 equal" restore_latest
exit 0
