#!/usr/bin/env python3
"""Consistency checks of deploy/ that need no running gateway: the Dockerfile and its .dockerignore,
the Kubernetes manifests and kustomization, the Grafana dashboard, the env example.
Prints one line per check and `static: N passed, N failed`; exit 1 on any failure."""

import fnmatch
import json
import re
import sys
from pathlib import Path

import dockerfile
import yaml

DEPLOY = Path(__file__).resolve().parents[1]
REPO = DEPLOY.parent
PASSED, FAILED = [], []
SECRETISH = re.compile(r"SECRET|PASSWORD|TOKEN|ACCESS_KEY|PRIVATE", re.I)


def check(name, ok, detail=""):
    (PASSED if ok else FAILED).append(name)
    print(f"  {'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""))
    return ok


# --- container -----------------------------------------------------------------------------------


def dockerignore_allows(patterns, path):
    """Docker's rule: the last matching pattern wins; `!` re-includes. A directory pattern covers
    everything below it."""
    allowed = True
    for p in patterns:
        neg = p.startswith("!")
        pat = p[1:] if neg else p
        pat = pat.rstrip("/")
        parts = path.split("/")
        hit = any(fnmatch.fnmatch("/".join(parts[: i + 1]), pat) for i in range(len(parts)))
        if hit:
            allowed = neg
    return allowed


def container():
    df = DEPLOY / "container" / "Dockerfile"
    cmds = dockerfile.parse_file(str(df))
    froms = [i for i, c in enumerate(cmds) if c.cmd == "FROM"]
    check("Dockerfile is multi-stage", len(froms) >= 2, f"{len(froms)} FROM")
    args = {}
    for c in cmds:
        if c.cmd == "ARG":
            k, _, v = c.value[0].partition("=")
            args[k] = v
    expand = lambda s: re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), s)  # noqa: E731
    build_image = expand(cmds[froms[0]].value[0])
    run_image = expand(cmds[froms[-1]].value[0])
    check("builds in the official Rust image", build_image.startswith("rust:"), build_image)
    check("build and runtime stages share one Debian release (glibc)",
          build_image.rsplit("-", 1)[-1] == run_image.split(":")[1].split("-")[0], f"{build_image} / {run_image}")
    check("runs in a slim or distroless image", "slim" in run_image or "distroless" in run_image, run_image)
    final = cmds[froms[-1]:]
    users = [c.value[0] for c in final if c.cmd == "USER"]
    check("final stage runs as a numeric non-root USER", users and re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]), str(users))
    check("final stage copies only the binary from the build stage",
          [c for c in final if c.cmd == "COPY"] and all(any(f.startswith("--from=") for f in c.flags) for c in final if c.cmd == "COPY"))
    check("final stage declares VOLUME /data", any(c.cmd == "VOLUME" and "/data" in c.value for c in final))
    check("final stage has a HEALTHCHECK", any(c.cmd == "HEALTHCHECK" and c.value[0].upper() == "CMD" for c in final))
    bad = [c.original for c in cmds if c.cmd in ("ENV", "ARG") and SECRETISH.search(" ".join(c.value[::2] if c.cmd == "ENV" else c.value))]
    check("no secret-looking ENV or ARG baked into the image", not bad, "; ".join(bad))
    lines = (DEPLOY / "container" / "Dockerfile.dockerignore").read_text().splitlines()
    patterns = [l.strip() for l in lines if l.strip() and not l.strip().startswith("#")]
    needed = []
    for c in cmds[: froms[1]]:
        if c.cmd == "COPY" and not any(f.startswith("--from=") for f in c.flags):
            needed += list(c.value[:-1])
    files = []
    for src in needed:
        p = REPO / src
        files += [str(f.relative_to(REPO)) for f in (p.rglob("*") if p.is_dir() else [p]) if f.is_file()]
    blocked = [f for f in files if not dockerignore_allows(patterns, f)]
    check("every file the build stage COPYs is in the build context", files and not blocked, ", ".join(blocked[:5]))
    leaks = [f for f in ("target/debug/wormgate", "wormgate-data/catalog/db", "deploy/wormgate.env", ".git/config", "tests/access.rs")
             if dockerignore_allows(patterns, f)]
    check(".dockerignore keeps build output, data, env files and git out of the context", not leaks, ", ".join(leaks))


# --- kubernetes ----------------------------------------------------------------------------------


def kubernetes():
    k8s = DEPLOY / "kubernetes"
    kust = yaml.safe_load((k8s / "kustomization.yaml").read_text())
    listed = set(kust["resources"])
    present = {f.name for f in k8s.glob("*.yaml")} - {"kustomization.yaml"}
    check("kustomization lists exactly the manifests in the directory", listed == present, f"{sorted(listed)} vs {sorted(present)}")
    docs = []
    for name in sorted(present):
        for d in yaml.safe_load_all((k8s / name).read_text()):
            if d:
                docs.append(d)
    kinds = {}
    for d in docs:
        kinds.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    for k in ("StatefulSet", "Service", "Secret", "ConfigMap"):
        check(f"has a {k}", k in kinds)
    sts = next(iter(kinds["StatefulSet"].values()))
    spec = sts["spec"]
    pod = spec["template"]["spec"]
    ctr = pod["containers"][0]
    check("one replica (the sled catalog has one writer)", spec.get("replicas") == 1, str(spec.get("replicas")))
    labels = spec["template"]["metadata"]["labels"]
    check("selector matches the pod labels", all(labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items()))
    gov = kinds["Service"].get(spec["serviceName"])
    check("serviceName is a headless Service", gov is not None and gov["spec"].get("clusterIP") == "None", spec["serviceName"])
    ports = {p["name"]: p["containerPort"] for p in ctr["ports"]}
    for svc in kinds["Service"].values():
        check(f"Service {svc['metadata']['name']} selects the pod",
              all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()))
        check(f"Service {svc['metadata']['name']} targets a named container port",
              all(p["targetPort"] in ports for p in svc["spec"]["ports"]))
    for ef in ctr.get("envFrom", []):
        check(f"envFrom Secret {ef['secretRef']['name']} is defined", ef["secretRef"]["name"] in kinds["Secret"])
    for sec in kinds["Secret"].values():
        vals = {**sec.get("stringData", {}), **sec.get("data", {})}
        check(f"Secret {sec['metadata']['name']} holds placeholders only (CHANGE-ME)",
              vals and all(str(v).startswith("CHANGE-ME") for v in vals.values()))
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    claims = {t["metadata"]["name"] for t in spec["volumeClaimTemplates"]}
    for m in ctr["volumeMounts"]:
        ok = m["name"] in claims or ("configMap" in vols.get(m["name"], {}) and vols[m["name"]]["configMap"]["name"] in kinds["ConfigMap"])
        check(f"volume mount {m['name']} is backed by a claim template or a defined ConfigMap", ok)
    data_mount = [m for m in ctr["volumeMounts"] if m["name"] in claims]
    check("the PVC is mounted at the image's /data", [m["mountPath"] for m in data_mount] == ["/data"], str(data_mount))
    for probe in ("readinessProbe", "livenessProbe"):
        hg = ctr.get(probe, {}).get("httpGet", {})
        check(f"{probe} is httpGet /health on a declared port", hg.get("path") == "/health" and (hg.get("port") in ports or hg.get("port") in ports.values()))
    psc, csc = pod.get("securityContext", {}), ctr.get("securityContext", {})
    check("runAsNonRoot", psc.get("runAsNonRoot") is True or csc.get("runAsNonRoot") is True)
    check("readOnlyRootFilesystem", csc.get("readOnlyRootFilesystem") is True)
    check("no privilege escalation, all capabilities dropped",
          csc.get("allowPrivilegeEscalation") is False and csc.get("capabilities", {}).get("drop") == ["ALL"])
    check("RuntimeDefault seccomp profile", psc.get("seccompProfile", {}).get("type") == "RuntimeDefault")
    check("no Service env links (they would inject WORMGATE_* variables)", pod.get("enableServiceLinks") is False)
    res = ctr.get("resources", {})
    check("resource requests and limits for cpu and memory",
          all(k in res.get(s, {}) for s in ("requests", "limits") for k in ("cpu", "memory")), str(res))
    for cm in kinds["ConfigMap"].values():
        for fname, content in cm["data"].items():
            check(f"ConfigMap {cm['metadata']['name']}/{fname} carries no secret keys",
                  not re.search(r"secret_key|access_key|metrics_token", content))


# --- dashboard and env example ----------------------------------------------------------------------


def dashboard():
    d = json.loads((DEPLOY / "monitoring" / "wormgate-dashboard.json").read_text())
    panels = d["panels"]
    ids = [p["id"] for p in panels]
    check("dashboard panel ids are unique", len(ids) == len(set(ids)))
    data_panels = [p for p in panels if p["type"] != "row"]
    check("every dashboard panel has a query with an expression and a datasource",
          all(p.get("targets") and all(t.get("expr") and t.get("datasource") for t in p["targets"]) for p in data_panels))
    check("every dashboard panel has a grid position", all({"x", "y", "w", "h"} <= set(p.get("gridPos", {})) for p in panels))
    names = {v["name"] for v in d["templating"]["list"]}
    used = {m for p in data_panels for t in p["targets"] for m in re.findall(r"\$\{?(\w+)", t["expr"]) if not m.startswith("__")}
    check("dashboard uses only defined template variables", used <= names, f"{used - names}")


def env_example():
    text = (DEPLOY / "wormgate.env.example").read_text()
    active = [l for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    check("env example: every active value is a CHANGE-ME placeholder",
          active and all(re.fullmatch(r"[A-Z_]+=CHANGE-ME[\w-]*", l) for l in active), "; ".join(active))
    check("env example documents mode 0600", "0600" in text)


def main():
    for section in (container, kubernetes, dashboard, env_example):
        print(f"  [{section.__name__}]")
        try:
            section()
        except Exception as e:  # a malformed artefact is a failed check, with its reason
            check(f"{section.__name__} could be read", False, f"{type(e).__name__}: {e}")
    print(f"static: {len(PASSED)} passed, {len(FAILED)} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
