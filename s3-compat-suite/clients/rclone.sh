#!/usr/bin/env bash
# rclone scenario: copy, check, cat, sync with deletes (-> delete markers), a large multipart file.
# Usage: rclone.sh full|smoke
set -a
MODE=${1:-full}
. "$(dirname "$0")/lib.sh"
STEP_ARRAYS="RCLONE_ARGS MP_ARGS"

RCLONE_CONFIG=$DATA_DIR/rclone-$MODE.conf
: >"$RCLONE_CONFIG"
RCLONE_CONFIG_WG_TYPE=s3
RCLONE_CONFIG_WG_PROVIDER=Other
RCLONE_CONFIG_WG_ENDPOINT=$S3_ENDPOINT
RCLONE_CONFIG_WG_ACCESS_KEY_ID=$S3_ACCESS_KEY
RCLONE_CONFIG_WG_SECRET_ACCESS_KEY=$S3_SECRET_KEY
RCLONE_CONFIG_WG_REGION=${S3_REGION:-us-east-1}
RCLONE_CONFIG_WG_FORCE_PATH_STYLE=true
RCLONE_ARGS=(--retries 1 --low-level-retries 1)
[ -n "${S3_CA_BUNDLE:-}" ] && RCLONE_ARGS+=(--ca-cert "$S3_CA_BUNDLE")

B=$(bucket_name "rclone-$MODE")
W=$DATA_DIR/rclone-$MODE
mkdir -p "$W"
if [ "$MODE" = full ]; then BIG_MB=${RCLONE_BIG_MB:-300}; FILES=200; MP_ARGS=(); else
    BIG_MB=16; FILES=30; MP_ARGS=(--s3-upload-cutoff 5M --s3-chunk-size 5M); fi

rc_() { rclone "${RCLONE_ARGS[@]}" "$@"; }

mkdir_() {
    if is_wormgate; then rc_ mkdir "wg:$B"; else $S3Q mkbucket "$B"; fi
}
copy_tree() { make_tree "$W/tree" "$FILES" && rc_ copy "$W/tree" "wg:$B/tree"; }
check_tree() { rc_ check "$W/tree" "wg:$B/tree"; }
cat_one() { rc_ cat "wg:$B/tree/d1/e1/file-0001.bin" >"$W/cat.out" && same_file "$W/tree/d1/e1/file-0001.bin" "$W/cat.out"; }
sync_with_deletes() {
    # 20 deleted, 10 rewritten, 5 added locally; sync must turn deletes into delete markers
    local i
    for i in $(seq 0 19); do rm -f "$W/tree"/d*/e*/"file-$(printf %04d "$i").bin"; done
    for i in $(seq 20 29); do
        local f
        f=$(ls "$W/tree"/d*/e*/"file-$(printf %04d "$i").bin")
        head -c 3000 /dev/urandom >"$f"
    done
    mkdir -p "$W/tree/new"
    for i in $(seq 1 5); do head -c 2000 /dev/urandom >"$W/tree/new/added-$i.bin"; done
    rc_ sync "$W/tree" "wg:$B/tree" && rc_ check "$W/tree" "wg:$B/tree"
}
versions_after_sync() {
    local deleted rewritten counts
    deleted=tree/d0/e0/file-0000.bin   # make_tree puts file i in d$((i % 7))/e$((i % 3))
    rewritten=tree/d0/e0/file-0021.bin
    $S3Q expect "$B" "$deleted" 1 1 || return 1
    $S3Q expect "$B" "$rewritten" 2 0 || return 1
    counts=$($S3Q count "$B" tree/)
    echo "versions, markers under tree/: $counts (want $((FILES + 15)) 20)"
    [ "$counts" = "$((FILES + 15)) 20" ]
}
copy_down() { rc_ copy "wg:$B/tree" "$W/tree.down" && same_tree "$W/tree" "$W/tree.down"; }
big_up() {
    random_file "$W/big.bin" "$BIG_MB"
    rc_ copy "${MP_ARGS[@]}" "$W/big.bin" "wg:$B/big/"
    local etag
    etag=$($PY - "$B" <<'EOF'
import os, sys, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], aws_access_key_id=os.environ["S3_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["S3_SECRET_KEY"], region_name="us-east-1",
                  verify=os.environ.get("S3_CA_BUNDLE") or True, config=Config(s3={"addressing_style": "path"}))
print(s3.head_object(Bucket=sys.argv[1], Key="big/big.bin")["ETag"])
EOF
) || return 1
    echo "ETag $etag"
    [[ "$etag" == *-* ]] || { echo "not a multipart ETag"; return 1; }
}
big_cat() { rc_ cat "wg:$B/big/big.bin" >"$W/big.out" && same_file "$W/big.bin" "$W/big.out"; }
big_check() { rc_ check "$W" "wg:$B/big" --include big.bin; }
delete_big() { rc_ deletefile "wg:$B/big/big.bin" && $S3Q expect "$B" big/big.bin 1 1; }

echo "$(rclone version 2>/dev/null | head -n 1) against $S3_ENDPOINT ($MODE)"
step "rclone mkdir" mkdir_
step "rclone copy ${FILES} files" copy_tree
step "rclone check" check_tree
step "rclone cat, sha256 equal" cat_one
step "rclone sync with 20 deletes, 10 changes, 5 additions; check" sync_with_deletes
step "deletes became delete markers, changes new versions" versions_after_sync
step "rclone copy down, every sha256 equal" copy_down
step "rclone copy ${BIG_MB} MiB (multipart)" big_up
step "rclone cat ${BIG_MB} MiB, sha256 equal" big_cat
step "rclone check ${BIG_MB} MiB" big_check
step "rclone deletefile -> delete marker, version kept" delete_big
exit 0
