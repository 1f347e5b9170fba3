#!/usr/bin/env bash
# deploy/check.sh — check everything under deploy/ against real tools and a real gateway:
#   systemd   systemd-analyze verify (no warnings) and security --offline=yes (exposure <= 2.0),
#             systemd-sysusers on the sysusers.d file
#   container hadolint; the Dockerfile read by BuildKit's parser: stages, USER, VOLUME, HEALTHCHECK,
#             no baked secrets, .dockerignore lets in exactly what the build COPYs
#   k8s       every manifest parses and validates against the Kubernetes schemas (--strict), and the
#             pieces fit together (selectors, ports, Secret/ConfigMap names, probes, security context)
#   alerts    promtool check rules / test rules (alert unit tests) / check config
#   launch    the debug gateway started exactly as the systemd unit, the container image and the
#             StatefulSet start it (deploy/tests/launch.py), then /health, PUT/GET, a refused delete,
#             scrub, /metrics with the bearer token, every metric name used by the rules and the
#             dashboard exported, a real Prometheus scraping it and evaluating every expression,
#             SIGTERM -> exit 0, audit verify; and the name check shown to fail on a bogus name.
#             The same launch under strace: every system call and socket family the gateway used is
#             allowed by the unit's SystemCallFilter= / RestrictAddressFamilies=, every file it writes is
#             under StateDirectory= (ProtectSystem=strict) (deploy/tests/syscalls.py).
# Needs: systemd-analyze, systemd-sysusers, promtool, prometheus, strace (Debian: apt-get install
# systemd prometheus strace), python3 with venv, cargo. WORMGATE_BIN=path skips the cargo build (debug binary).
# Ends with `deploy: N passed, N failed`; exit 1 if anything failed.
set -u -o pipefail
DEPLOY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$DEPLOY")
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/wormgate-target}
MAX_EXPOSURE=2.0

PASSED=0
FAILED=()
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/wormgate-deploy-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

step() { # step NAME COMMAND...: run, count, keep going
    local name=$1
    shift
    echo "== $name"
    if "$@"; then
        PASSED=$((PASSED + 1))
    else
        echo "   FAILED: $name"
        FAILED+=("$name")
    fi
}

missing=()
for tool in systemd-analyze systemd-sysusers promtool prometheus strace setpriv python3; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "deploy/check.sh: missing ${missing[*]} (Debian: apt-get install systemd prometheus strace python3-venv)" >&2
    echo "deploy: 0 passed, 1 failed"
    exit 1
fi

# Python tools in deploy/.venv
VENV=$DEPLOY/.venv
PY=$VENV/bin/python
if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV" || { apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$VENV"; }
fi
if ! "$PY" -m pip install -q --disable-pip-version-check -r "$DEPLOY/tests/requirements.txt" >"$WORK/pip.log" 2>&1; then
    tail -n 20 "$WORK/pip.log"
    echo "deploy: 0 passed, 1 failed"
    exit 1
fi

# The gateway binary (debug build: what `cargo test` builds too, so usually no extra compile in CI)
if [ -n "${WORMGATE_BIN:-}" ]; then
    BIN=$WORMGATE_BIN
else
    (cd "$REPO" && cargo build --quiet --bin wormgate) || { echo "deploy: 0 passed, 1 failed"; exit 1; }
    BIN=$CARGO_TARGET_DIR/debug/wormgate
fi

# --- systemd -------------------------------------------------------------------------------------
UNIT=$DEPLOY/systemd/wormgate.service
systemd_verify() {
    # verify resolves ExecStart=/ExecReload= and the unit's dependencies: give it a root holding the
    # host's units, the binary where ExecStart= expects it, the host's kill where ExecReload= names it,
    # and the unit installed as the README says.
    local root=$WORK/verify-root exe reload
    exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$UNIT")
    reload=$(sed -n 's/^ExecReload=\([^ ]*\).*/\1/p' "$UNIT")
    mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd" "$root$(dirname "$exe")"
    cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
    ln "$BIN" "$root$exe" 2>/dev/null || cp "$BIN" "$root$exe"
    if [ -n "$reload" ]; then
        mkdir -p "$root$(dirname "$reload")"
        cp "$(type -P "$(basename "$reload")")" "$root$reload"
    fi
    cp "$UNIT" "$root/etc/systemd/system/"
    # verify exits 0 on ignored unknown keys or bad values: any output is a failure.
    local out
    out=$(systemd-analyze verify --root="$root" wormgate.service 2>&1)
    local rc=$?
    [ -n "$out" ] && echo "$out"
    [ "$rc" -eq 0 ] && [ -z "$out" ]
}
systemd_security() {
    local out score
    out=$(systemd-analyze security --offline=yes --threshold="${MAX_EXPOSURE/./}" "$UNIT" 2>&1)
    local rc=$?
    echo "$out" | grep -E '^✗' | sed 's/^/   /'
    score=$(echo "$out" | sed -n 's/.*Overall exposure level for wormgate.service: \([0-9.]*\).*/\1/p')
    echo "   exposure $score (must be <= $MAX_EXPOSURE)"
    [ "$rc" -eq 0 ] && [ -n "$score" ] && awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'
}
systemd_sysusers() {
    local root=$WORK/sysusers-root
    mkdir -p "$root/etc"
    systemd-sysusers --root="$root" "$DEPLOY/systemd/wormgate.sysusers" >/dev/null 2>&1 &&
        grep -E '^wormgate:x:[0-9]+:[0-9]+:[^:]*:/var/lib/wormgate:/usr/sbin/nologin$' "$root/etc/passwd" &&
        grep -q "^User=wormgate$" "$UNIT" && grep -q "^StateDirectory=wormgate$" "$UNIT"
}
step "systemd-analyze verify wormgate.service" systemd_verify
step "systemd-analyze security --offline=yes: exposure <= $MAX_EXPOSURE" systemd_security
step "systemd-sysusers creates the unit's user, home = StateDirectory" systemd_sysusers

# --- container, kubernetes, dashboard (static) -----------------------------------------------------
step "hadolint deploy/container/Dockerfile" "$VENV/bin/hadolint" "$DEPLOY/container/Dockerfile"
step "kubernetes-validate --strict deploy/kubernetes" \
    "$VENV/bin/kubernetes-validate" --strict --quiet --no-warn $(ls "$DEPLOY"/kubernetes/*.yaml | grep -v kustomization.yaml)
step "consistency of the Dockerfile, manifests, dashboard, env example" "$PY" "$DEPLOY/tests/static.py"

# --- Prometheus ------------------------------------------------------------------------------------
step "promtool check rules" promtool check rules "$DEPLOY/monitoring/wormgate-alerts.yml"
step "promtool test rules (alert unit tests)" promtool test rules "$DEPLOY/monitoring/wormgate-alerts.test.yml"
prom_config() {
    # prometheus.yml names a bearer-token file that must exist: check a copy pointing at a temporary one.
    mkdir -p "$WORK/prom"
    echo "example-token-for-check" >"$WORK/prom/token"
    cp "$DEPLOY/monitoring/wormgate-alerts.yml" "$WORK/prom/"
    sed "s|credentials_file: .*|credentials_file: $WORK/prom/token|" "$DEPLOY/monitoring/prometheus.yml" >"$WORK/prom/prometheus.yml"
    promtool check config "$WORK/prom/prometheus.yml"
}
step "promtool check config prometheus.yml" prom_config

# --- the gateway as each artefact starts it -------------------------------------------------------------
step "launch as the systemd unit does (+ Prometheus)" \
    "$PY" "$DEPLOY/tests/launch.py" --bin "$BIN" --prometheus --save-exposition "$WORK/metrics.txt" systemd
sandbox_allows_gateway() {
    mkdir -p "$WORK/strace"
    chmod 0711 "$WORK" # the traced gateway runs as the service user and writes its trace below
    "$PY" "$DEPLOY/tests/launch.py" --bin "$BIN" --strace "$WORK/strace/serve.trace" systemd >"$WORK/strace/launch.log" 2>&1 ||
        { cat "$WORK/strace/launch.log"; return 1; }
    "$PY" "$DEPLOY/tests/syscalls.py" "$UNIT" "$WORK/strace/serve.trace"
}
step "the unit's SystemCallFilter/RestrictAddressFamilies/ProtectSystem allow what the gateway does (strace)" sandbox_allows_gateway
step "launch as the container image does" "$PY" "$DEPLOY/tests/launch.py" --bin "$BIN" container
step "launch as the Kubernetes StatefulSet does" "$PY" "$DEPLOY/tests/launch.py" --bin "$BIN" kubernetes
name_check_fails_on_bogus_name() {
    [ -s "$WORK/metrics.txt" ] || return 1
    "$PY" "$DEPLOY/tests/promql_names.py" "$WORK/metrics.txt" || return 1
    local rc=0
    "$PY" "$DEPLOY/tests/promql_names.py" "$WORK/metrics.txt" --extra-expr 'rate(wormgate_bogus_total[5m])' \
        >"$WORK/bogus.log" 2>&1 || rc=$?
    cat "$WORK/bogus.log"
    [ "$rc" -eq 1 ] && grep -q 'not exported: wormgate_bogus_total' "$WORK/bogus.log"
}
step "metric name check passes on the real scrape and fails on a bogus name" name_check_fails_on_bogus_name

echo
for f in "${FAILED[@]}"; do echo "FAILED: $f"; done
echo "deploy: $PASSED passed, ${#FAILED[@]} failed"
[ "${#FAILED[@]}" -eq 0 ]
