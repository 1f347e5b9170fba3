#!/usr/bin/env bash
# aws-cli scenario: s3 mb/cp/sync/ls/rm/presign and the s3api Object Lock commands.
# Usage: awscli.sh full|smoke   (smoke: the HTTPS pass, smaller files)
set -a
MODE=${1:-full}
. "$(dirname "$0")/lib.sh"
STEP_ARRAYS="CA_ARGS CURL_CA"

AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
AWS_DEFAULT_REGION=${S3_REGION:-us-east-1}
AWS_CONFIG_FILE=/nonexistent-aws-config
AWS_SHARED_CREDENTIALS_FILE=/nonexistent-aws-credentials
AWS_PAGER=
AWSCLI=${AWSCLI:-aws}
CA_ARGS=()
[ -n "${S3_CA_BUNDLE:-}" ] && CA_ARGS=(--ca-bundle "$S3_CA_BUNDLE")
CURL_CA=()
[ -n "${S3_CA_BUNDLE:-}" ] && CURL_CA=(--cacert "$S3_CA_BUNDLE")

B=$(bucket_name "cli-$MODE")
L=$(bucket_name "cli-lock-$MODE")
W=$DATA_DIR/awscli-$MODE
mkdir -p "$W"
if [ "$MODE" = full ]; then BIG_MB=${AWS_BIG_MB:-200}; FILES=${SYNC_FILES:-500}; else BIG_MB=20; FILES=30; fi

aws_() { "$AWSCLI" --endpoint-url "$S3_ENDPOINT" "${CA_ARGS[@]}" --no-paginate "$@"; }
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

mb() {
    if is_wormgate; then
        aws_ s3 mb "s3://$B"           # every wormgate bucket is versioned and locked
    else
        aws_ s3api create-bucket --bucket "$B" --object-lock-enabled-for-bucket
    fi
}
has() { # has TEXT CMD...: CMD succeeds and prints TEXT
    local text=$1 out
    shift
    out=$("$@") || return 1
    printf '%s\n' "$out"
    grep -qF -- "$text" <<<"$out" || { echo "missing: $text"; return 1; }
}
versioned_and_locked() {
    has '"Enabled"' aws_ s3api get-bucket-versioning --bucket "$B" &&
        has '"ObjectLockEnabled": "Enabled"' aws_ s3api get-object-lock-configuration --bucket "$B"
}
cp_small_up() { head -c 1024 /dev/urandom >"$W/small.bin" && aws_ s3 cp --no-progress "$W/small.bin" "s3://$B/small.bin"; }
cp_small_down() { aws_ s3 cp --no-progress "s3://$B/small.bin" "$W/small.down" && same_file "$W/small.bin" "$W/small.down"; }
cp_big_up() {
    random_file "$W/big.bin" "$BIG_MB"
    aws_ s3 cp --no-progress "$W/big.bin" "s3://$B/big.bin"
    local head etag
    head=$(aws_ s3api head-object --bucket "$B" --key big.bin) || return 1
    etag=$(json 'd["ETag"]' <<<"$head")
    echo "ETag $etag"
    [[ "$etag" == *-* ]] || { echo "not a multipart ETag: the upload was not multipart"; return 1; }
}
cp_big_down() { aws_ s3 cp --no-progress "s3://$B/big.bin" "$W/big.down" && same_file "$W/big.bin" "$W/big.down"; }
sync_up() { make_tree "$W/tree" "$FILES" && aws_ s3 sync --no-progress "$W/tree" "s3://$B/tree"; }
ls_recursive() {
    local n
    n=$(aws_ s3 ls --recursive "s3://$B/tree/" | wc -l)
    echo "$n objects listed"
    [ "$n" -eq "$FILES" ]
}
sync_down() { aws_ s3 sync --no-progress "s3://$B/tree" "$W/tree.down" && same_tree "$W/tree" "$W/tree.down"; }
sync_again_is_noop() {
    local out
    out=$(aws_ s3 sync --no-progress "$W/tree" "s3://$B/tree")
    echo "$out"
    [ -z "$out" ]
}
ls_root() {
    local out
    out=$(aws_ s3 ls "s3://$B/")
    echo "$out"
    grep -q 'PRE tree/' <<<"$out" && grep -q ' small.bin$' <<<"$out"
}
rm_makes_marker() {
    SMALL_VID=$(aws_ s3api head-object --bucket "$B" --key small.bin | json 'd["VersionId"]')
    echo "$SMALL_VID" >"$W/small.vid"
    aws_ s3 rm "s3://$B/small.bin"
    [ -z "$(aws_ s3 ls "s3://$B/small.bin")" ] || { echo "still listed after rm"; return 1; }
    local lv
    lv=$(aws_ s3api list-object-versions --bucket "$B" --prefix small.bin)
    echo "$lv"
    local counts
    counts=$(json '(len([v for v in d.get("Versions",[]) if v["Key"]=="small.bin"]), len([m for m in d.get("DeleteMarkers",[]) if m["Key"]=="small.bin"]), [v["VersionId"] for v in d.get("Versions",[])])' <<<"$lv")
    echo "versions, markers: $counts"
    [[ "$counts" == "(1, 1, ['$SMALL_VID'])" ]]
}
old_version_readable() {
    aws_ s3api get-object --bucket "$B" --key small.bin --version-id "$(cat "$W/small.vid")" "$W/small.v1" >/dev/null &&
        same_file "$W/small.bin" "$W/small.v1"
}
presign_curl() {
    local key=tree/d0/e0/file-0000.bin url
    url=$(aws_ s3 presign "s3://$B/$key" --expires-in 300)
    echo "$url"
    curl -sSf "${CURL_CA[@]}" -o "$W/presigned.out" "$url" && same_file "$W/tree/d0/e0/file-0000.bin" "$W/presigned.out"
}
lock_mb() { aws_ s3api create-bucket --bucket "$L" --object-lock-enabled-for-bucket; }
lock_config() {
    aws_ s3api put-object-lock-configuration --bucket "$L" --object-lock-configuration \
        '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","Days":1}}}'
    local got
    got=$(aws_ s3api get-object-lock-configuration --bucket "$L")
    echo "$got"
    [ "$(json 'd["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]' <<<"$got")" = "{'Mode': 'COMPLIANCE', 'Days': 1}" ]
}
locked_put() {
    head -c 4096 /dev/urandom >"$W/locked.bin"
    local out
    out=$(aws_ s3api put-object --bucket "$L" --key locked.bin --body "$W/locked.bin" --checksum-algorithm SHA256 \
        --object-lock-mode COMPLIANCE --object-lock-retain-until-date "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)")
    echo "$out"
    json 'd["VersionId"]' <<<"$out" >"$W/locked.vid"
}
get_retention() {
    local out
    out=$(aws_ s3api get-object-retention --bucket "$L" --key locked.bin --version-id "$(cat "$W/locked.vid")")
    echo "$out"
    grep -q '"Mode": "COMPLIANCE"' <<<"$out"
}
extend_retention() {
    aws_ s3api put-object-retention --bucket "$L" --key locked.bin --version-id "$(cat "$W/locked.vid")" \
        --retention "Mode=COMPLIANCE,RetainUntilDate=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)"
}
shorten_refused() {
    expect_fail AccessDenied aws_ s3api put-object-retention --bucket "$L" --key locked.bin \
        --version-id "$(cat "$W/locked.vid")" --bypass-governance-retention \
        --retention "Mode=COMPLIANCE,RetainUntilDate=$(date -u -d '+30 minutes' +%Y-%m-%dT%H:%M:%SZ)"
}
legal_hold() {
    aws_ s3api put-object-legal-hold --bucket "$L" --key locked.bin --version-id "$(cat "$W/locked.vid")" --legal-hold Status=ON
    has '"Status": "ON"' aws_ s3api get-object-legal-hold --bucket "$L" --key locked.bin --version-id "$(cat "$W/locked.vid")"
}
delete_version_refused() {
    expect_fail AccessDenied aws_ s3api delete-object --bucket "$L" --key locked.bin --version-id "$(cat "$W/locked.vid")"
}
delete_version_bypass_refused() {
    expect_fail AccessDenied aws_ s3api delete-object --bucket "$L" --key locked.bin --version-id "$(cat "$W/locked.vid")" \
        --bypass-governance-retention
}
marker_keeps_version() {
    has '"DeleteMarker": true' aws_ s3api delete-object --bucket "$L" --key locked.bin || return 1
    aws_ s3api get-object --bucket "$L" --key locked.bin --version-id "$(cat "$W/locked.vid")" "$W/locked.out" >/dev/null &&
        same_file "$W/locked.bin" "$W/locked.out"
}
delete_bucket_refused() { expect_fail BucketNotEmpty aws_ s3api delete-bucket --bucket "$L"; }

echo "aws-cli $("$AWSCLI" --version 2>&1) against $S3_ENDPOINT ($MODE)"
step "s3 mb" mb
step "bucket is versioned and Object-Lock enabled" versioned_and_locked
step "s3 cp 1 KiB up" cp_small_up
step "s3 cp 1 KiB down, sha256 equal" cp_small_down
step "s3 cp ${BIG_MB} MiB up (multipart ETag)" cp_big_up
step "s3 cp ${BIG_MB} MiB down, sha256 equal" cp_big_down
step "s3 sync ${FILES} files up" sync_up
step "s3 ls --recursive lists ${FILES}" ls_recursive
step "s3 sync down, every sha256 equal" sync_down
[ "$MODE" = full ] && step "s3 sync again uploads nothing" sync_again_is_noop
step "s3 ls shows object and prefix" ls_root
step "s3 rm -> delete marker, list-object-versions keeps the version" rm_makes_marker
step "s3api get-object --version-id of the removed object" old_version_readable
step "s3 presign URL fetched with curl" presign_curl
step "s3api create-bucket --object-lock-enabled-for-bucket" lock_mb
[ "$MODE" = full ] && step "s3api put/get-object-lock-configuration COMPLIANCE 1 day" lock_config
step "s3api put-object with COMPLIANCE retention" locked_put
step "s3api get-object-retention" get_retention
[ "$MODE" = full ] && step "s3api put-object-retention extends" extend_retention
step "s3api put-object-retention shortening refused (AccessDenied)" shorten_refused
[ "$MODE" = full ] && step "s3api put/get-object-legal-hold ON" legal_hold
step "s3api delete-object --version-id refused (AccessDenied)" delete_version_refused
[ "$MODE" = full ] && step "s3api delete-object --version-id --bypass-governance-retention refused" delete_version_bypass_refused
step "s3api delete-object adds a marker, the version stays readable" marker_keeps_version
[ "$MODE" = full ] && step "s3api delete-bucket of the locked bucket refused (BucketNotEmpty)" delete_bucket_refused
exit 0
