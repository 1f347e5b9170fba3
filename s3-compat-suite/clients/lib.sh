# Shared by the client scenarios (sourced). Each scenario is a list of steps; every step is one pass or
# one fail in the suite's count. A step's output goes to $LOG_DIR/$GROUP/NN-name.log and, on failure,
# its last lines are printed.
#
# Needs: GROUP, RESULTS_DIR, LOG_DIR, DATA_DIR, PY (python with boto3), S3_ENDPOINT, S3_ACCESS_KEY,
# S3_SECRET_KEY; optional S3_CA_BUNDLE (https), S3_TARGET, S3_SUITE_RUN_ID, STEP_TIMEOUT.

STEP_NO=0
# a CA bundle in the environment (AWS_CA_BUNDLE makes aws-sdk-go fail outright) must not leak into the
# clients: each scenario passes the endpoint's CA explicitly when it talks HTTPS
unset AWS_CA_BUNDLE
mkdir -p "$LOG_DIR/$GROUP" "$RESULTS_DIR" "$DATA_DIR"
: >"$RESULTS_DIR/$GROUP.steps"
SUITE_DIR=${SUITE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
S3Q="$PY $SUITE_DIR/tools/s3q.py"

# step NAME CMD [ARGS...]: run CMD (a command or a shell function) with a time limit, record the result.
step() {
    local name=$1
    shift
    STEP_NO=$((STEP_NO + 1))
    local log
    log="$LOG_DIR/$GROUP/$(printf %02d "$STEP_NO")-${name//[^A-Za-z0-9_.-]/_}.log"
    local t0 t1 rc
    t0=$(date +%s.%N)
    # functions, and the arrays named in STEP_ARRAYS, travel into the timed shell (exported scalars do anyway)
    local arrays=""
    [ -n "${STEP_ARRAYS:-}" ] && arrays="$(declare -p $STEP_ARRAYS);"
    timeout --kill-after=10 "${STEP_TIMEOUT:-900}" bash -c "$(declare -f); $arrays set -o pipefail; \"\$@\"" _ "$@" >"$log" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    local dt
    dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    if [ "$rc" -eq 0 ]; then
        printf 'pass\t%s\t%s\n' "$name" "$dt" >>"$RESULTS_DIR/$GROUP.steps"
        printf '  ok    %-58s %6ss\n' "$name" "$dt"
    else
        [ "$rc" -eq 124 ] && echo "step timed out after ${STEP_TIMEOUT:-900}s" >>"$log"
        printf 'fail\t%s\t%s\n' "$name" "$dt" >>"$RESULTS_DIR/$GROUP.steps"
        printf '  FAIL  %-58s %6ss (exit %s, log %s)\n' "$name" "$dt" "$rc" "$log"
        tail -n 12 "$log" | sed -e 's/^/        | /' -e '$a\'
    fi
    return 0
}

# expect_fail TEXT CMD [ARGS...]: CMD must fail, and its output must contain TEXT (an S3 error code).
expect_fail() {
    local text=$1
    shift
    local out
    if out=$("$@" 2>&1); then
        printf '%s\n' "$out"
        echo "expected a refusal mentioning $text, but the command succeeded"
        return 1
    fi
    printf '%s\n' "$out"
    if ! grep -q -- "$text" <<<"$out"; then
        echo "the command failed, but not with $text"
        return 1
    fi
    echo "refused as expected ($text)"
}

# same_file A B: identical bytes, shown by sha256.
same_file() {
    local a b
    a=$(sha256sum <"$1" | cut -d' ' -f1)
    b=$(sha256sum <"$2" | cut -d' ' -f1)
    echo "sha256 $a  $1"
    echo "sha256 $b  $2"
    [ "$a" = "$b" ]
}

# same_sha FILE SHA: FILE's sha256 is SHA.
same_sha() {
    local a
    a=$(sha256sum <"$1" | cut -d' ' -f1)
    echo "sha256 $a  $1 (want $2)"
    [ "$a" = "$2" ]
}

sha_of() { sha256sum <"$1" | cut -d' ' -f1; }

tree_sums() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum); }

# same_tree A B: same relative paths with the same sha256.
same_tree() {
    local a b
    a=$(tree_sums "$1")
    b=$(tree_sums "$2")
    echo "$(wc -l <<<"$a") files in $1, $(wc -l <<<"$b") files in $2"
    if [ "$a" != "$b" ]; then
        diff <(echo "$a") <(echo "$b") | head -n 20
        return 1
    fi
}

# make_tree DIR COUNT: COUNT small files (1..8 KiB, random bytes) in nested directories.
make_tree() {
    local dir=$1 count=$2 i
    mkdir -p "$dir"
    for ((i = 0; i < count; i++)); do
        local sub="$dir/d$((i % 7))/e$((i % 3))"
        mkdir -p "$sub"
        head -c $((1024 + (i * 977) % 7168)) /dev/urandom >"$sub/file-$(printf %04d "$i").bin"
    done
}

# random_file PATH MIB
random_file() { head -c "$(($2 * 1024 * 1024))" /dev/urandom >"$1"; }

bucket_name() { echo "wgc-${S3_SUITE_RUN_ID:-x}-$1"; }

is_wormgate() { [ "${S3_TARGET:-other}" = wormgate ]; }
