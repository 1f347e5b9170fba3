"""Metric names used by the alert rules and the Grafana dashboard, and the check that a running
gateway exports every one of them.

`names_in(expr)` is a small PromQL scanner, not a full parser: it drops strings, label matchers,
range/subquery brackets, grouping label lists and Grafana variables, then keeps every identifier that
is not a function call, a keyword or part of a number/duration. Good enough for the expressions in
deploy/monitoring/, and strict in the direction that matters: an unknown identifier is reported."""

import json
import re
from pathlib import Path

import yaml

KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "offset", "inf", "nan", "start", "end",
}
# Names Prometheus itself adds to every scrape target (not exported by wormgate).
PROMETHEUS_SYNTHETIC = {"up"}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_BRACKETS = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_GRAFANA_VAR = re.compile(r"\$\{[^}]*\}|\$\w+")
_IDENT = re.compile(r"(?<![A-Za-z0-9_:.$])[A-Za-z_:][A-Za-z0-9_:]*")


def names_in(expr: str) -> set:
    s = _STRING.sub('""', expr)
    s = _MATCHERS.sub(" ", s)
    s = _BRACKETS.sub(" ", s)
    s = _GROUPING.sub(" ", s)
    s = _GRAFANA_VAR.sub(" ", s)
    found = set()
    for m in _IDENT.finditer(s):
        tok = m.group(0)
        if s[m.end():].lstrip().startswith("("):
            continue  # a function
        if tok.lower() in KEYWORDS:
            continue
        found.add(tok)
    return found


def rule_exprs(rules_file: Path) -> list:
    doc = yaml.safe_load(rules_file.read_text())
    return [(f"rule {r.get('alert') or r.get('record')}", r["expr"]) for g in doc["groups"] for r in g["rules"]]


def _panels(panels):
    for p in panels:
        yield p
        yield from _panels(p.get("panels", []))


def dashboard_exprs(dashboard_file: Path) -> list:
    d = json.loads(dashboard_file.read_text())
    out = []
    for p in _panels(d.get("panels", [])):
        for t in p.get("targets", []):
            if "expr" in t:
                out.append((f"panel {p.get('title')!r} {t.get('refId')}", t["expr"]))
    for v in d.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") != "query" or not isinstance(q, str):
            continue
        m = re.fullmatch(r"\s*label_values\(\s*(.*?)\s*,\s*\w+\s*\)\s*", q)
        if m:
            out.append((f"variable {v['name']}", m.group(1)))
        elif not re.fullmatch(r"\s*label_values\(\s*\w+\s*\)\s*", q):
            out.append((f"variable {v['name']}", q))
    return out


def exported_names(exposition: str) -> set:
    """Sample names in a Prometheus text exposition (not just HELP/TYPE headers)."""
    names = set()
    for line in exposition.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line)
        if m:
            names.add(m.group(0))
    return names


def missing(used: list, exported: set) -> dict:
    """{name: [where it is used]} for every name that is neither exported nor added by Prometheus."""
    out = {}
    for where, expr in used:
        for n in names_in(expr):
            if n not in exported and n not in PROMETHEUS_SYNTHETIC:
                out.setdefault(n, []).append(where)
    return out


def all_used(monitoring_dir: Path, extra_exprs=()) -> list:
    used = rule_exprs(monitoring_dir / "wormgate-alerts.yml") + dashboard_exprs(monitoring_dir / "wormgate-dashboard.json")
    used += [("extra", e) for e in extra_exprs]
    return used


def _self_test():
    assert names_in('sum by (instance) (increase(wormgate_denied_total{rule="x"}[10m])) > 20') == {"wormgate_denied_total"}
    assert names_in("time() - max(wormgate_start_time_seconds) > 2 * 86400 + 3600") == {"wormgate_start_time_seconds"}
    assert names_in('a_total and on (instance) (b offset 5m) unless ignoring(kind) c{k="v"}') == {"a_total", "b", "c"}
    assert names_in('histogram_quantile(0.99, sum by (operation, le) (rate(x_bucket{i=~"$instance"}[$__rate_interval])))') == {"x_bucket"}
    assert names_in("1e3 * y + 0x1f") == {"y"}
    assert names_in('up{job="wormgate"} == 0') == {"up"}


_self_test()


def main(argv=None):
    """promql_names.py EXPOSITION_FILE [--extra-expr EXPR ...]: exit 1 if a name used by the rules, the
    dashboard or an extra expression is not in the exposition (a saved /metrics answer)."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("exposition", type=Path)
    ap.add_argument("--extra-expr", action="append", default=[])
    a = ap.parse_args(argv)
    here = Path(__file__).resolve().parents[1] / "monitoring"
    used = all_used(here, a.extra_expr)
    miss = missing(used, exported_names(a.exposition.read_text()))
    for n, where in sorted(miss.items()):
        print(f"  not exported: {n} (used in {', '.join(where)})")
    print(f"  {len({n for _, e in used for n in names_in(e)})} metric names used, {len(miss)} not exported")
    sys.exit(1 if miss else 0)


if __name__ == "__main__":
    main()
