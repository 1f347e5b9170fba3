#!/usr/bin/env bash
# s3cmd scenario: mb, put, get, ls, info, multipart put, del (-> delete marker).
# Usage: s3cmd.sh full|smoke
set -a
MODE=${1:-full}
. "$(dirname "$0")/lib.sh"

B=$(bucket_name "s3cmd-$MODE")
W=$DATA_DIR/s3cmd-$MODE
mkdir -p "$W"
if [ "$MODE" = full ]; then BIG_MB=${S3CMD_BIG_MB:-50}; else BIG_MB=12; fi
HOSTPORT=${S3_ENDPOINT#*://}
CFG=$W/s3cfg
{
    echo "[default]"
    echo "access_key = $S3_ACCESS_KEY"
    echo "secret_key = $S3_SECRET_KEY"
    echo "host_base = $HOSTPORT"
    echo "host_bucket = $HOSTPORT"
    echo "bucket_location = ${S3_REGION:-us-east-1}"
    echo "signature_v2 = False"
    echo "progress_meter = False"
    if [ -n "${S3_CA_BUNDLE:-}" ]; then
        echo "use_https = True"
        echo "ca_certs_file = $S3_CA_BUNDLE"
        echo "check_ssl_certificate = True"
        echo "check_ssl_hostname = True"
    else
        echo "use_https = False"
    fi
} >"$CFG"

s3c() { s3cmd -c "$CFG" "$@"; }

mb() { if is_wormgate; then s3c mb "s3://$B"; else $S3Q mkbucket "$B"; fi; }
put_small() { head -c 10000 /dev/urandom >"$W/small.bin" && s3c put "$W/small.bin" "s3://$B/dir/small.bin"; }
get_small() { rm -f "$W/small.out" && s3c get "s3://$B/dir/small.bin" "$W/small.out" && same_file "$W/small.bin" "$W/small.out"; }
ls_() {
    local out
    out=$(s3c ls "s3://$B/dir/") || return 1
    echo "$out"
    grep -q "s3://$B/dir/small.bin" <<<"$out"
}
ls_buckets() {
    local out
    out=$(s3c ls) || return 1
    grep -q "s3://$B\$" <<<"$out" || { echo "$out" | head -n 50; echo "s3://$B not listed"; return 1; }
}
info_() { s3c info "s3://$B/dir/small.bin"; }
head_etag() { # head_etag KEY: the ETag as a second client (boto3) sees it
    $PY - "$B" "$1" <<'PYEOF'
import os, sys, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], aws_access_key_id=os.environ["S3_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["S3_SECRET_KEY"], region_name="us-east-1",
                  verify=os.environ.get("S3_CA_BUNDLE") or True, config=Config(s3={"addressing_style": "path"}))
print(s3.head_object(Bucket=sys.argv[1], Key=sys.argv[2])["ETag"])
PYEOF
}
put_big() {
    random_file "$W/big.bin" "$BIG_MB"
    s3c put --multipart-chunk-size-mb=5 "$W/big.bin" "s3://$B/big.bin" || return 1
    local parts=$(((BIG_MB + 4) / 5)) etag
    etag=$(head_etag big.bin) || return 1
    echo "ETag $etag (expect a multipart ETag ending in -$parts)"
    [[ "$etag" == *"-$parts\"" ]]
}
get_big() { rm -f "$W/big.out" && s3c get "s3://$B/big.bin" "$W/big.out" && same_file "$W/big.bin" "$W/big.out"; }
del_marker() {
    s3c del "s3://$B/dir/small.bin" || return 1
    [ -z "$(s3c ls "s3://$B/dir/")" ] || { echo "still listed"; return 1; }
    $S3Q expect "$B" dir/small.bin 1 1
}

echo "$(s3cmd --version) against $S3_ENDPOINT ($MODE)"
step "s3cmd mb" mb
step "s3cmd put" put_small
step "s3cmd get, sha256 equal" get_small
step "s3cmd ls" ls_
[ "$MODE" = full ] && step "s3cmd ls (buckets)" ls_buckets
[ "$MODE" = full ] && step "s3cmd info (ACL, policy, CORS probes)" info_
step "s3cmd put ${BIG_MB} MiB, --multipart-chunk-size-mb=5" put_big
step "s3cmd get ${BIG_MB} MiB, sha256 equal" get_big
step "s3cmd del -> delete marker, version kept" del_marker
exit 0
