#!/usr/bin/env bash
# restic scenario: init, backup (a large file + many small ones), snapshots, check --read-data, restore and
# compare; then forget --prune, whose deletes only add delete markers: every version written before is
# still there, byte for byte, and the forgotten snapshot can be restored once its markers are removed.
# Usage: restic.sh full|smoke
set -a
MODE=${1:-full}
. "$(dirname "$0")/lib.sh"
STEP_ARRAYS="RESTIC_ARGS"

B=$(bucket_name "restic-$MODE")
W=$DATA_DIR/restic-$MODE
mkdir -p "$W"
RESTIC_REPOSITORY="s3:$S3_ENDPOINT/$B/repo"
RESTIC_PASSWORD=wormgate-suite-restic-password
AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
AWS_DEFAULT_REGION=${S3_REGION:-us-east-1}
RESTIC_CACHE_DIR=$W/cache
RESTIC_ARGS=(--no-cache)
[ -n "${S3_CA_BUNDLE:-}" ] && RESTIC_ARGS+=(--cacert "$S3_CA_BUNDLE")
if [ "$MODE" = full ]; then BIG_MB=${RESTIC_BIG_MB:-100}; FILES=1000; else BIG_MB=8; FILES=50; fi

rs_() { restic "${RESTIC_ARGS[@]}" "$@"; }

prepare() {
    is_wormgate || $S3Q mkbucket "$B" || return 1
    make_tree "$W/src" "$FILES"
    random_file "$W/src/large.bin" "$BIG_MB"
    tree_sums "$W/src" >"$W/src-1.sums"
    echo "$(wc -l <"$W/src-1.sums") files to back up"
}
init() { rs_ init; }
backup1() { rs_ backup --host suite "$W/src" && rs_ snapshots --json >"$W/snap1.json" && cat "$W/snap1.json"; }
snapshots() {
    local n
    n=$(rs_ snapshots --json | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')
    echo "$n snapshot(s)"
    [ "$n" -eq 1 ]
}
check_read_data() { rs_ check --read-data; }
restore_compare() {
    rm -rf "$W/restore1"
    rs_ restore latest --target "$W/restore1" && same_tree "$W/src" "$W/restore1/$W/src"
}
backup2() {
    # change the tree: drop half of the small files and the large file, add new data
    find "$W/src" -name 'file-*.bin' | LC_ALL=C sort | awk 'NR % 2 == 0' | xargs rm -f
    rm -f "$W/src/large.bin"
    random_file "$W/src/other.bin" 2
    rs_ backup --host suite "$W/src"
}
snapshot_versions_before() { $S3Q versions "$B" repo/ "$W/before.json"; }
forget_prune() { rs_ forget --keep-last 1 --prune; }
nothing_permanently_deleted() {
    $S3Q versions "$B" repo/ "$W/after.json" && $S3Q subset "$W/before.json" "$W/after.json"
}
prune_left_markers() {
    # pruned packs and the forgotten snapshot are hidden by delete markers, not gone
    $PY - "$W/after.json" <<'PYEOF'
import collections, json, sys
m = collections.Counter(k.split("/")[1] for k, _ in json.load(open(sys.argv[1]))["markers"])
print("delete markers by directory:", dict(m))
sys.exit(0 if m["data"] > 0 and m["snapshots"] > 0 else 1)
PYEOF
}
every_version_intact() { $S3Q verify-content-addressed "$B" "$W/before.json"; }
check_after_prune() { rs_ check --read-data; }
restore_forgotten_snapshot() {
    # the first snapshot was forgotten and its packs pruned (delete markers only): remove the markers and
    # the old snapshot restores byte for byte
    local id
    id=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["id"])' "$W/snap1.json")
    # (locks/ stays deleted: a revived exclusive lock of the prune would only block the restore)
    $S3Q undelete "$B" repo/data/ && $S3Q undelete "$B" repo/index/ && $S3Q undelete "$B" repo/snapshots/ || return 1
    rm -rf "$W/restore-old"
    rs_ restore "$id" --target "$W/restore-old" || return 1
    diff "$W/src-1.sums" <(tree_sums "$W/restore-old/$W/src") && echo "snapshot $id restored completely"
}

echo "$(restic version 2>/dev/null) against $S3_ENDPOINT ($MODE)"
step "prepare ${FILES} small files + ${BIG_MB} MiB file" prepare
step "restic init" init
step "restic backup" backup1
step "restic snapshots" snapshots
step "restic check --read-data" check_read_data
step "restic restore, every sha256 equal" restore_compare
step "restic backup of a changed tree" backup2
step "record every object version" snapshot_versions_before
step "restic forget --keep-last 1 --prune" forget_prune
step "no version was permanently deleted" nothing_permanently_deleted
[ "$MODE" = full ] && step "prune left delete markers" prune_left_markers
step "every earlier version reads back, content hashes match" every_version_intact
[ "$MODE" = full ] && step "restic check --read-data after prune" check_after_prune
[ "$MODE" = full ] && step "forgotten snapshot restores after removing markers" restore_forgotten_snapshot
exit 0
