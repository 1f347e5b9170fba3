#!/usr/bin/env python3
"""Start wormgate the way each deploy/ artefact starts it, and talk to it.

  launch.py --bin PATH systemd|container|kubernetes [--prometheus]

systemd     ExecStart=, EnvironmentFile=, User=/Group=, StateDirectory=, UMask=, LimitNOFILE= and the
            empty capability bounding set of deploy/systemd/wormgate.service; the config file is
            deploy/wormgate.toml and the env file deploy/wormgate.env.example (placeholders replaced),
            installed with the modes the unit's header documents.
container   ENTRYPOINT, CMD, ENV, USER, WORKDIR, VOLUME and HEALTHCHECK of the final stage of
            deploy/container/Dockerfile, with `--env-file` semantics for the env file.
kubernetes  the StatefulSet's args, envFrom (Secret), ConfigMap mount, volume mounts, runAsUser/fsGroup
            and probes, over the image's ENTRYPOINT and ENV.

Paths are rewritten into a temporary root (/etc/wormgate -> ROOT/etc/wormgate, /data -> ROOT/data, ...);
an absolute path the mapping does not know fails the test, so a new path in a unit or manifest is
noticed. Listen addresses become 127.0.0.1:<free port>. The binary is the one given with --bin (the
debug build in deploy/check.sh, not a release build). Run as root, the gateway runs under the
artefact's uid/gid via setpriv with no capabilities and no_new_privs; otherwise as the current user.

Then: /health (and the HEALTHCHECK command or the probes), PUT/GET/HEAD through boto3, a refused
version delete, `wormgate scrub --endpoint`, /metrics refused anonymously and served with the bearer
token, every metric the alert rules and the dashboard use is exported, SIGTERM ends it with exit 0,
and the stopped data directory passes `wormgate audit verify` run as the same user. With --prometheus
(systemd profile) a real Prometheus scrapes it with deploy/monitoring/prometheus.yml and evaluates
every rule and dashboard expression.
"""

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
import dockerfile
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import promql_names  # noqa: E402

DEPLOY = Path(__file__).resolve().parents[1]
MONITORING = DEPLOY / "monitoring"
IS_ROOT = os.geteuid() == 0
# What a container runtime puts in PATH (the image's own PATH is not set by the Dockerfile).
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

PASSED = []
FAILED = []


def check(name, ok, detail=""):
    (PASSED if ok else FAILED).append(name)
    print(f"  {'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""), flush=True)
    return ok


class Fatal(Exception):
    pass


def require(name, ok, detail=""):
    if not check(name, ok, detail):
        raise Fatal(name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- parsers for the artefacts ------------------------------------------------------------------


def parse_unit(path: Path) -> dict:
    """systemd unit file -> {section: [(key, value), ...]} (continuation lines joined)."""
    sections, cur, pending = {}, None, ""
    for raw in path.read_text().splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            cur = sections.setdefault(line[1:-1], [])
            continue
        k, _, v = line.partition("=")
        cur.append((k.strip(), v.strip()))
    return sections


def unit_value(sections, section, key):
    vals = [v for k, v in sections.get(section, []) if k == key]
    return vals[-1] if vals else None


def parse_env_file(path: Path) -> dict:
    """The subset on which systemd's EnvironmentFile= and `docker run --env-file` agree: KEY=value,
    `#` comments, no quotes, no `export`, no variable references. Anything else is an error, because
    the two would read it differently."""
    env = {}
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Z_][A-Z0-9_]*)=([^\"'$`\\\s]*)", line)
        if not m:
            raise Fatal(f"{path}:{n}: not a plain KEY=value line both systemd and docker read alike: {raw!r}")
        env[m.group(1)] = m.group(2)
    return env


def final_stage(dockerfile_path: Path):
    cmds = dockerfile.parse_file(str(dockerfile_path))
    last_from = max(i for i, c in enumerate(cmds) if c.cmd == "FROM")
    return cmds[last_from:]


def json_or_shell(cmd):
    if cmd.json:
        return list(cmd.value)
    return ["/bin/sh", "-c", " ".join(cmd.value)]


def load_yaml_docs(path: Path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


# --- path rewriting -------------------------------------------------------------------------------


class Root:
    def __init__(self, tmp: Path, binary: Path, mapping: dict):
        self.tmp = tmp
        self.binary = binary
        # longest prefix first
        self.mapping = sorted(mapping.items(), key=lambda kv: -len(kv[0]))

    def path(self, p: str) -> str:
        for prefix, target in self.mapping:
            if p == prefix or p.startswith(prefix.rstrip("/") + "/"):
                return str(target) + p[len(prefix):]
        raise Fatal(f"no rewrite for path {p} (add it to the test's mapping if the artefact really uses it)")

    def arg(self, a: str) -> str:
        if a.startswith("/"):
            return self.path(a)
        if a.startswith("--") and "=" in a:
            k, v = a.split("=", 1)
            if v.startswith("/"):
                return f"{k}={self.path(v)}"
        return a


def rewrite_listen(value: str, port: int) -> str:
    return f"127.0.0.1:{port}"


# --- running the gateway --------------------------------------------------------------------------


class Gateway:
    def __init__(self, argv, env, cwd, uid=None, gid=None, groups=(), umask=None, nofile=None):
        self.argv, self.env, self.cwd = argv, env, cwd
        self.uid, self.gid, self.groups, self.umask, self.nofile = uid, gid, groups, umask, nofile
        self.proc = None
        self.lines = []
        self.listening = False

    def wrap(self, argv):
        if not IS_ROOT or self.uid is None:
            return argv
        groups = ["--groups", ",".join(map(str, self.groups))] if self.groups else ["--clear-groups"]
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", *groups, "--no-new-privs",
                "--inh-caps=-all", "--bounding-set=-all", "--", *argv]

    def preexec(self):
        if self.umask is not None:
            os.umask(self.umask)
        if self.nofile is not None:
            # LimitNOFILE=; capped at this machine's hard limit (systemd as PID 1 could go higher).
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            n = self.nofile if hard == resource.RLIM_INFINITY else min(self.nofile, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))

    def start(self, strace_to=None):
        argv = self.argv
        if strace_to:
            # strace runs as the service user too; signals then go to its child, the gateway.
            argv = ["strace", "-f", "-qq", "-o", str(strace_to), "--", *argv]
        self.traced = bool(strace_to)
        self.proc = subprocess.Popen(self.wrap(argv), env=self.env, cwd=self.cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, preexec_fn=self.preexec)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_listening(self, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.lines:
                m = re.match(r"listening on http://(\S+)", line)
                if m:
                    self.listening = True
                    return m.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise Fatal("gateway did not report 'listening on' (exit %s):\n%s" % (self.proc.poll(), "\n".join(self.lines[-30:])))

    def target_pid(self):
        if not getattr(self, "traced", False):
            return self.proc.pid
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            return int(children[0])
        except (OSError, IndexError, ValueError):
            return self.proc.pid

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc.poll() is None:
            os.kill(self.target_pid(), sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def run_as(self, argv, env, timeout=120):
        return subprocess.run(self.wrap(argv), env=env, cwd=self.cwd, capture_output=True, text=True,
                              timeout=timeout, preexec_fn=self.preexec)


def http_get(url, headers=None, timeout=10):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def s3(endpoint, access, secret):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access, aws_secret_access_key=secret,
                        region_name="us-east-1",
                        config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


SAVE_EXPOSITION = None


def exercise(gw: Gateway, endpoint: str, admin: tuple, metrics_token: str, extra_users=(), prometheus=False):
    """The common conversation with a started gateway."""
    status, body = http_get(f"{endpoint}/health")
    check("GET /health answers 200", status == 200 and "ok" in body, f"{status} {body[:200]}")

    c = s3(endpoint, *admin)
    c.create_bucket(Bucket="deploy-check")
    put = c.put_object(Bucket="deploy-check", Key="hello.txt", Body=b"written through the deployed gateway\n")
    got = c.get_object(Bucket="deploy-check", Key="hello.txt")["Body"].read()
    check("PUT then GET returns the bytes", got == b"written through the deployed gateway\n", repr(got))
    head = c.head_object(Bucket="deploy-check", Key="hello.txt")
    check("the new version is under COMPLIANCE retention", head.get("ObjectLockMode") == "COMPLIANCE", str(head.get("ObjectLockMode")))
    try:
        c.delete_object(Bucket="deploy-check", Key="hello.txt", VersionId=put["VersionId"])
        check("deleting the retained version is refused", False, "delete succeeded")
    except botocore.exceptions.ClientError as e:
        check("deleting the retained version is refused", e.response["Error"]["Code"] == "AccessDenied", str(e))
    for name, access, secret in extra_users:
        u = s3(endpoint, access, secret)
        u.put_object(Bucket="deploy-check", Key=f"{name}.txt", Body=name.encode())
        check(f"config file user {name} can write (config file read by the service user)",
              u.get_object(Bucket="deploy-check", Key=f"{name}.txt")["Body"].read() == name.encode())

    env = {"PATH": os.environ.get("PATH", CONTAINER_PATH), "WORMGATE_ACCESS_KEY": admin[0], "WORMGATE_SECRET_KEY": admin[1]}
    r = subprocess.run([gw.argv[0], "scrub", "--endpoint", endpoint, "--json"], env=env, capture_output=True, text=True, timeout=120)
    check("`wormgate scrub --endpoint` exits 0", r.returncode == 0, r.stdout[-500:] + r.stderr[-500:])
    # A quota on the bucket, so the per-bucket quota gauges the alert rules use are exported.
    r = subprocess.run([gw.argv[0], "quota", "set", "--bucket", "deploy-check", "--bytes", "1GiB", "--endpoint", endpoint],
                       env=env, capture_output=True, text=True, timeout=60)
    check("`wormgate quota set --endpoint` exits 0", r.returncode == 0, r.stdout[-500:] + r.stderr[-500:])

    status, _ = http_get(f"{endpoint}/metrics")
    check("/metrics refuses an anonymous scrape", status == 403, str(status))
    status, text = http_get(f"{endpoint}/metrics", {"Authorization": f"Bearer {metrics_token}"})
    require("/metrics answers the bearer token", status == 200, f"{status} {text[:200]}")
    if SAVE_EXPOSITION:
        Path(SAVE_EXPOSITION).write_text(text)
    exported = promql_names.exported_names(text)
    miss = promql_names.missing(promql_names.all_used(MONITORING), exported)
    check("every metric used by the alert rules and the dashboard is exported",
          not miss, "; ".join(f"{n} (used in {', '.join(w[:3])})" for n, w in sorted(miss.items())))
    if prometheus:
        run_prometheus(endpoint, metrics_token, exported)


def reload_users(gw: Gateway, conf: Path, endpoint: str):
    """What `systemctl reload wormgate` does (ExecReload=/bin/kill -HUP $MAINPID): a user added to the
    config file works without a restart."""
    name, access, secret = "reloaded", "deploycheckreloaded", "deploy-check-reloaded-secret"
    before = len(gw.lines)
    conf.write_text(conf.read_text() + f'\n[[users]]\nname = "{name}"\naccess_key = "{access}"\n'
                    f'secret_key = "{secret}"\nrole = "writer"\n')
    os.kill(gw.target_pid(), signal.SIGHUP)
    deadline = time.time() + 30
    while time.time() < deadline and not any("reloaded the config file's users" in l for l in gw.lines[before:]):
        time.sleep(0.1)
    check("SIGHUP (ExecReload=) reloads the config file and the gateway keeps running",
          gw.proc.poll() is None and any("reloaded the config file's users" in l for l in gw.lines[before:]),
          "\n".join(gw.lines[before:][-10:]))
    u = s3(endpoint, access, secret)
    try:
        u.put_object(Bucket="deploy-check", Key="reloaded.txt", Body=b"after reload")
        ok = u.get_object(Bucket="deploy-check", Key="reloaded.txt")["Body"].read() == b"after reload"
        check("a user added to the config file works after the reload, without a restart", ok)
    except botocore.exceptions.ClientError as e:
        check("a user added to the config file works after the reload, without a restart", False, str(e))


def finish(gw: Gateway, data_dir: Path, label: str, timeout: int):
    if not gw.listening:
        gw.stop(signal.SIGKILL, 10)
        return
    rc = gw.stop(signal.SIGTERM, timeout)
    check(f"{label} ends the gateway with exit 0 within {timeout}s", rc == 0, f"exit {rc}\n" + "\n".join(gw.lines[-20:]))
    r = gw.run_as([gw.argv[0], "audit", "verify", "--data-dir", str(data_dir)], {"PATH": CONTAINER_PATH})
    check("`wormgate audit verify --data-dir` as the service user: chain intact", r.returncode == 0,
          r.stdout[-800:] + r.stderr[-800:])
    if IS_ROOT and gw.uid is not None:
        foreign = [str(p) for p in data_dir.rglob("*") if p.lstat().st_uid != gw.uid]
        check("every file in the data directory belongs to the service user", not foreign, ", ".join(foreign[:5]))


# --- Prometheus -----------------------------------------------------------------------------------


def run_prometheus(endpoint, token, exported):
    prom = shutil.which("prometheus")
    if not check("prometheus binary available", prom is not None, "install Debian's prometheus package"):
        return
    work = Path(tempfile.mkdtemp(prefix="wormgate-prom."))
    try:
        cfg = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
        job = next(j for j in cfg["scrape_configs"] if j["job_name"] == "wormgate")
        token_file = work / "token"
        token_file.write_text(token)
        job["authorization"]["credentials_file"] = str(token_file)
        job["static_configs"] = [{"targets": [endpoint.split("//", 1)[1]]}]
        cfg["global"]["scrape_interval"] = "1s"
        cfg["global"]["evaluation_interval"] = "1s"
        shutil.copy(MONITORING / "wormgate-alerts.yml", work / "wormgate-alerts.yml")
        (work / "prometheus.yml").write_text(yaml.safe_dump(cfg))
        port = free_port()
        p = subprocess.Popen([prom, f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
                              f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                             stderr=open(work / "prometheus.log", "w"))
        api = f"http://127.0.0.1:{port}/api/v1"
        try:
            up = None
            for _ in range(120):
                time.sleep(0.5)
                try:
                    _, body = http_get(f"{api}/query?query=" + urllib.parse.quote('up{job="wormgate"}'))
                    res = json.loads(body)["data"]["result"]
                    if res and res[0]["value"][1] == "1":
                        up = True
                        break
                except (OSError, ValueError, KeyError):
                    pass
            check("Prometheus scrapes the gateway with the bearer token (up == 1)", up,
                  (work / "prometheus.log").read_text()[-800:])
            time.sleep(3)  # a few samples, so rate() and delta() have two points
            _, body = http_get(f"{api}/label/__name__/values")
            prom_names = set(json.loads(body)["data"])
            used = promql_names.all_used(MONITORING)
            miss = [n for where, e in used for n in promql_names.names_in(e) if n not in prom_names]
            check("Prometheus holds a series for every metric name the rules and dashboard use",
                  not miss, ", ".join(sorted(set(miss))))
            bad = []
            for where, expr in used:
                e = expr.replace("$__rate_interval", "1m").replace("$__range", "5m").replace("$instance", ".*")
                status, body = http_get(f"{api}/query?query=" + urllib.parse.quote(e))
                if status != 200 or json.loads(body).get("status") != "success":
                    bad.append(f"{where}: {body[:200]}")
            check(f"Prometheus evaluates all {len(used)} rule and dashboard expressions without error", not bad, "; ".join(bad[:5]))
            for _ in range(20):
                _, body = http_get(f"{api}/rules")
                groups = json.loads(body)["data"]["groups"]
                rules = [r for g in groups for r in g["rules"]]
                if rules and all(r.get("lastEvaluation", "").startswith("20") for r in rules):
                    break
                time.sleep(0.5)
            unhealthy = [f"{r['name']}: {r.get('lastError')}" for r in rules if r.get("health") != "ok"]
            check(f"Prometheus loaded {len(rules)} alert rules and evaluates them all as healthy",
                  rules and not unhealthy, "; ".join(unhealthy[:5]))
            _, body = http_get(f"{api}/alerts")
            firing = [a["labels"]["alertname"] for a in json.loads(body)["data"]["alerts"] if a["state"] == "firing"]
            check("no alert fires against a healthy gateway", not firing, ", ".join(firing))
        finally:
            p.terminate()
            p.wait(30)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- profiles -------------------------------------------------------------------------------------


def make_root():
    tmp = Path(tempfile.mkdtemp(prefix="wormgate-deploy."))
    tmp.chmod(0o755)
    return tmp


def mkdirs(base: Path, rel: str, mode=0o755):
    """Make base/rel; parents 0755, the last one `mode`."""
    p = base
    parts = Path(rel).parts
    for i, part in enumerate(parts):
        p = p / part
        if not p.exists():
            p.mkdir()
            p.chmod(mode if i == len(parts) - 1 else 0o755)
    return p


def chown(p: Path, uid, gid):
    if IS_ROOT:
        os.chown(p, uid, gid)


STRACE_TO = None


def profile_systemd(binary: Path, prometheus: bool):
    unit = parse_unit(DEPLOY / "systemd" / "wormgate.service")
    svc = lambda k: unit_value(unit, "Service", k)  # noqa: E731
    require("ExecReload= sends SIGHUP to the gateway (reloads the config file's users and the TLS certificate)",
            svc("ExecReload") == "/bin/kill -HUP $MAINPID", str(svc("ExecReload")))
    exec_start = svc("ExecStart")
    require("ExecStart= has no prefixes, specifiers or variables this test cannot reproduce",
            exec_start and not re.match(r"[-@:+!]", exec_start) and "%" not in exec_start and "$" not in exec_start, exec_start)
    env_file = svc("EnvironmentFile")
    require("EnvironmentFile= is mandatory (no '-' prefix): the gateway must not start without its keys",
            env_file and not env_file.startswith("-"), str(env_file))
    state = svc("StateDirectory")
    state_mode = int(svc("StateDirectoryMode") or "0755", 8)
    umask = int(svc("UMask") or "0022", 8)
    nofile = int(svc("LimitNOFILE"))
    user, group = svc("User"), svc("Group")
    require("runs as a dedicated non-root user", user not in (None, "root", "0") and group not in ("root", "0"), f"{user}:{group}")
    uid = gid = 64321  # stands in for the sysusers-created `wormgate` user

    tmp = make_root()
    try:
        port = free_port()
        root = Root(tmp, binary, {
            "/usr/local/bin/wormgate": binary,
            "/etc/wormgate": tmp / "etc/wormgate",
            f"/var/lib/{state}": tmp / f"var/lib/{state}",
        })
        # As the unit's header installs them: /etc/wormgate 0750 root:wormgate, config 0640
        # root:wormgate, env file 0600 root:root; StateDirectory= made by systemd for the user.
        etc = mkdirs(tmp, "etc/wormgate", 0o750)
        chown(etc, 0, gid)
        toml = (DEPLOY / "wormgate.toml").read_text()
        toml, n1 = re.subn(r'(?m)^listen = "[^"]*"', f'listen = "127.0.0.1:{port}"', toml)
        toml, n2 = re.subn(r'(?m)^data_dir = "([^"]*)"', lambda m: f'data_dir = "{root.path(m.group(1))}"', toml)
        require("sample config sets listen and data_dir (rewritten for the test)", n1 == 1 and n2 == 1)
        conf = Path(root.path("/etc/wormgate/wormgate.toml"))
        conf.write_text(toml)
        conf.chmod(0o640)
        chown(conf, 0, gid)
        env_path = Path(root.path(env_file))
        example = (DEPLOY / "wormgate.env.example").read_text()
        keys = {"WORMGATE_ACCESS_KEY": "deploycheckadmin", "WORMGATE_SECRET_KEY": "deploy-check-admin-secret",
                "WORMGATE_METRICS_TOKEN": "deploy-check-metrics-token"}
        for k, v in keys.items():
            example, n = re.subn(rf"(?m)^(# )?{k}=CHANGE-ME\S*$", f"{k}={v}", example)
            require(f"env example carries {k}", n == 1)
        env_path.write_text(example)
        env_path.chmod(0o600)
        file_env = parse_env_file(env_path)
        check("env file is 0600 and owned by root (systemd reads it before dropping privileges)",
              stat.S_IMODE(env_path.stat().st_mode) == 0o600 and (not IS_ROOT or env_path.stat().st_uid == 0))
        data = mkdirs(tmp, f"var/lib/{state}", 0o755)
        data.chmod(state_mode)
        chown(data, uid, gid)

        argv = [root.arg(a) for a in shlex.split(exec_start)]
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", "LANG": "C.UTF-8",
               "HOME": str(data), "USER": user, "LOGNAME": user, "SHELL": "/usr/sbin/nologin",
               "STATE_DIRECTORY": str(data), **file_env}
        print(f"  systemd ExecStart -> {shlex.join(argv)} (uid {uid})", flush=True)
        gw = Gateway(argv, env, "/", uid=uid, gid=gid, umask=umask, nofile=nofile)
        if STRACE_TO:
            Path(STRACE_TO).parent.chmod(0o1777)  # strace writes as the service user
            # For syscalls.py: where the unit's paths are in this test, to judge the writes.
            Path(f"{STRACE_TO}.paths.json").write_text(json.dumps(
                {"root": str(tmp), "cwd": "/", "paths": {k: str(v) for k, v in root.mapping}}))
        gw.start(strace_to=STRACE_TO)
        try:
            addr = gw.wait_listening()
            check("listens where the config file says", addr == f"127.0.0.1:{port}", addr)
            users = re.findall(r'\[\[users\]\]\s*name = "([^"]+)"\s*access_key = "([^"]+)"\s*secret_key = "([^"]+)"\s*role = "writer"', toml)
            require("sample config has a writer user", users)
            exercise(gw, f"http://{addr}", (keys["WORMGATE_ACCESS_KEY"], keys["WORMGATE_SECRET_KEY"]),
                     keys["WORMGATE_METRICS_TOKEN"], extra_users=users, prometheus=prometheus)
            reload_users(gw, conf, f"http://{addr}")
            if IS_ROOT:
                loose = [str(p) for p in data.rglob("*") if p.is_file() and p.stat().st_mode & 0o077]
                check(f"UMask={oct(umask)}: no file in the data directory is group/world accessible", not loose,
                      ", ".join(loose[:5]))
        finally:
            finish(gw, data, "SIGTERM (KillSignal=)", int((svc("TimeoutStopSec") or "90").rstrip("s")))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def image_spec():
    stage = final_stage(DEPLOY / "container" / "Dockerfile")
    spec = {"env": {}, "user": None, "workdir": "/", "entrypoint": [], "cmd": [], "volumes": [], "healthcheck": None,
            "expose": [], "stopsignal": "SIGTERM"}
    for c in stage:
        if c.cmd == "ENV":
            vals = list(c.value)
            for k, v in zip(vals[::2], vals[1::2]):
                spec["env"][k] = v
        elif c.cmd == "USER":
            spec["user"] = c.value[0]
        elif c.cmd == "WORKDIR":
            spec["workdir"] = c.value[0]
        elif c.cmd == "ENTRYPOINT":
            spec["entrypoint"], spec["cmd"] = json_or_shell(c), []
        elif c.cmd == "CMD":
            spec["cmd"] = json_or_shell(c)
        elif c.cmd == "VOLUME":
            spec["volumes"] += list(c.value)
        elif c.cmd == "HEALTHCHECK":
            spec["healthcheck"] = c
        elif c.cmd == "EXPOSE":
            spec["expose"] += list(c.value)
        elif c.cmd == "STOPSIGNAL":
            spec["stopsignal"] = c.value[0]
    return spec


def healthcheck_argv(c):
    """The command of a HEALTHCHECK instruction: value is ('CMD', *exec-form args) or ('CMD', shell)."""
    require("HEALTHCHECK uses CMD", c.value and c.value[0].upper() == "CMD", str(c.value))
    if c.json:
        return list(c.value[1:])
    return ["/bin/sh", "-c", " ".join(c.value[1:])]


def profile_container(binary: Path):
    spec = image_spec()
    require("image runs as a numeric non-root USER", spec["user"] and re.fullmatch(r"[1-9]\d*:[1-9]\d*", spec["user"]), str(spec["user"]))
    uid, gid = map(int, spec["user"].split(":"))
    require("image declares VOLUME /data", "/data" in spec["volumes"], str(spec["volumes"]))
    tmp = make_root()
    try:
        port = free_port()
        root = Root(tmp, binary, {"/usr/local/bin/wormgate": binary, "/data": tmp / "data"})
        # `docker run -v wormgate-data:/data`: a new named volume takes the image's /data (owner, mode).
        data = mkdirs(tmp, "data", 0o700)
        chown(data, uid, gid)
        env_path = tmp / "wormgate.env"
        example = (DEPLOY / "wormgate.env.example").read_text()
        keys = {"WORMGATE_ACCESS_KEY": "deploycheckadmin", "WORMGATE_SECRET_KEY": "deploy-check-admin-secret",
                "WORMGATE_METRICS_TOKEN": "deploy-check-metrics-token"}
        for k, v in keys.items():
            example = re.sub(rf"(?m)^(# )?{k}=CHANGE-ME\S*$", f"{k}={v}", example)
        env_path.write_text(example)
        env = {"PATH": CONTAINER_PATH, "HOSTNAME": "wormgate", "HOME": "/data"}
        env.update(spec["env"])
        env.update(parse_env_file(env_path))  # docker run --env-file
        listen = env.get("WORMGATE_LISTEN", "")
        require("image ENV listens on the EXPOSEd port", listen.rsplit(":", 1)[-1] in [e.split("/")[0] for e in spec["expose"]],
                f"{listen} vs {spec['expose']}")
        env["WORMGATE_LISTEN"] = rewrite_listen(listen, port)
        env = {k: (root.path(v) if v.startswith("/") and k.startswith("WORMGATE_") else v) for k, v in env.items()}
        env["HOME"] = root.path("/data")
        argv = [root.arg(a) for a in spec["entrypoint"] + spec["cmd"]]
        print(f"  container ENTRYPOINT+CMD -> {shlex.join(argv)} (uid {uid}, cwd {spec['workdir']})", flush=True)
        gw = Gateway(argv, env, root.path(spec["workdir"]), uid=uid, gid=gid)
        gw.start()
        try:
            addr = gw.wait_listening()
            check("listens on WORMGATE_LISTEN from the image ENV", addr == f"127.0.0.1:{port}", addr)
            hc = healthcheck_argv(spec["healthcheck"])
            r = gw.run_as(hc, env, timeout=10)
            check("the image's HEALTHCHECK command succeeds against the running gateway", r.returncode == 0, r.stdout + r.stderr)
            exercise(gw, f"http://{addr}", (keys["WORMGATE_ACCESS_KEY"], keys["WORMGATE_SECRET_KEY"]), keys["WORMGATE_METRICS_TOKEN"])
            closed = dict(env, WORMGATE_LISTEN=f"127.0.0.1:{free_port()}")
            r = gw.run_as(hc, closed, timeout=10)
            check("the HEALTHCHECK command fails when nothing answers", r.returncode != 0, "exit 0 on a closed port")
        finally:
            finish(gw, data, f"STOPSIGNAL {spec['stopsignal']}", 60)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def profile_kubernetes(binary: Path):
    k8s = DEPLOY / "kubernetes"
    docs = [d for f in sorted(k8s.glob("*.yaml")) if f.name != "kustomization.yaml" for d in load_yaml_docs(f)]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    sts = next(iter(by_kind["StatefulSet"].values()))
    pod = sts["spec"]["template"]["spec"]
    ctr = pod["containers"][0]
    psc = pod.get("securityContext", {})
    uid, gid, fs_group = psc.get("runAsUser"), psc.get("runAsGroup"), psc.get("fsGroup")
    require("pod runs as a non-root uid/gid with an fsGroup", all(isinstance(x, int) and x > 0 for x in (uid, gid, fs_group)))
    spec = image_spec()
    check("pod runAsUser/runAsGroup match the image USER", f"{uid}:{gid}" == spec["user"], f"{uid}:{gid} vs {spec['user']}")

    tmp = make_root()
    try:
        port = free_port()
        mapping = {"/usr/local/bin/wormgate": binary}
        mounts = {}
        for m in ctr["volumeMounts"]:
            mapping[m["mountPath"]] = tmp / m["mountPath"].strip("/")
            mounts[m["name"]] = m
        root = Root(tmp, binary, mapping)
        vols = {v["name"]: v for v in pod.get("volumes", [])}
        data_dir = None
        for name, m in mounts.items():
            target = mkdirs(tmp, m["mountPath"].strip("/"), 0o755)
            if name in vols and "configMap" in vols[name]:
                cm = by_kind["ConfigMap"][vols[name]["configMap"]["name"]]
                for fname, content in cm["data"].items():
                    f = target / fname
                    f.write_text(content)
                    f.chmod(vols[name]["configMap"].get("defaultMode", 0o644))
            elif name in vols and "secret" in vols[name]:
                raise Fatal("secret volumes are not emulated yet")
            else:
                require(f"volume {name} comes from the volumeClaimTemplates",
                        name in [t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]])
                # A fresh PVC with fsGroup: group-owned by fsGroup, setgid, group-writable.
                target.chmod(0o2775)
                chown(target, 0, fs_group)
                data_dir = target
        env = {"PATH": CONTAINER_PATH, "HOSTNAME": f"{sts['metadata']['name']}-0", "HOME": "/"}
        env.update(spec["env"])
        for ef in ctr.get("envFrom", []):
            sec = by_kind["Secret"][ef["secretRef"]["name"]]
            env.update(sec.get("stringData", {}))
        for e in ctr.get("env", []):
            env[e["name"]] = e["value"]
        real = {"WORMGATE_ACCESS_KEY": "deploycheckadmin", "WORMGATE_SECRET_KEY": "deploy-check-admin-secret",
                "WORMGATE_METRICS_TOKEN": "deploy-check-metrics-token"}
        for k in real:
            require(f"Secret provides {k} as a CHANGE-ME placeholder", env.get(k, "").startswith("CHANGE-ME"), env.get(k, ""))
        env.update(real)  # what the operator puts in the Secret
        ports = {p["name"]: p["containerPort"] for p in ctr["ports"]}
        listen = env["WORMGATE_LISTEN"]
        require("container port matches the image's listen port", str(ports["s3"]) == listen.rsplit(":", 1)[-1], f"{ports} vs {listen}")
        env["WORMGATE_LISTEN"] = rewrite_listen(listen, port)
        env = {k: (root.path(v) if v.startswith("/") and k.startswith("WORMGATE_") else v) for k, v in env.items()}
        argv = [root.arg(a) for a in (ctr.get("command") or spec["entrypoint"]) + (ctr.get("args") or spec["cmd"])]
        print(f"  kubernetes command+args -> {shlex.join(argv)} (uid {uid}, groups {fs_group})", flush=True)
        gw = Gateway(argv, env, root.path(spec["workdir"]), uid=uid, gid=gid, groups=(fs_group,))
        gw.start()
        try:
            addr = gw.wait_listening()
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                hg = ctr[probe]["httpGet"]
                p = hg["port"]
                p = ports[p] if isinstance(p, str) else p
                status, _ = http_get(f"http://127.0.0.1:{port}{hg['path']}")
                check(f"{probe} httpGet {hg['path']} on port {hg['port']} ({p}) succeeds", 200 <= status < 400, str(status))
            exercise(gw, f"http://{addr}", (real["WORMGATE_ACCESS_KEY"], real["WORMGATE_SECRET_KEY"]), real["WORMGATE_METRICS_TOKEN"])
        finally:
            finish(gw, data_dir, "SIGTERM", int(pod.get("terminationGracePeriodSeconds", 30)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, type=Path)
    ap.add_argument("--prometheus", action="store_true")
    ap.add_argument("--strace", metavar="FILE", help="systemd profile: record the gateway's system calls (strace -f) into FILE")
    ap.add_argument("--save-exposition", metavar="FILE", help="keep the /metrics answer (for the negative name check)")
    ap.add_argument("profile", choices=["systemd", "container", "kubernetes"])
    a = ap.parse_args()
    binary = a.bin.resolve()
    global SAVE_EXPOSITION, STRACE_TO
    SAVE_EXPOSITION = a.save_exposition
    STRACE_TO = a.strace
    if not IS_ROOT:
        print("  (not root: the gateway runs as the current user; uid/gid, capabilities and ownership are not emulated)")
    try:
        {"systemd": lambda: profile_systemd(binary, a.prometheus),
         "container": lambda: profile_container(binary),
         "kubernetes": lambda: profile_kubernetes(binary)}[a.profile]()
    except Fatal as e:
        check("stopped early", False, str(e))
    except Exception as e:  # an unexpected client error is a failure of the deployment, not a crash
        check("unexpected error", False, f"{type(e).__name__}: {e}")
    print(f"{a.profile}: {len(PASSED)} passed, {len(FAILED)} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
