#!/usr/bin/env python3
"""Print the per-group table of a suite run and the final "N passed, N failed" line.

  summarize.py RESULTS_DIR

RESULTS_DIR/groups lists the groups in run order. A group's results are RESULTS_DIR/<group>.xml (pytest
JUnit XML) or RESULTS_DIR/<group>.steps (client scenario: "pass|fail<TAB>name<TAB>seconds" per step).
Exit status 1 when anything failed (or nothing ran)."""

import os
import sys
import xml.etree.ElementTree as ET


def pytest_group(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    passed = failed = skipped = xfailed = 0
    seconds = 0.0
    failures = []
    for s in suites:
        seconds += float(s.get("time", 0) or 0)
        for case in s.iter("testcase"):
            name = f'{case.get("classname", "")}::{case.get("name", "")}'
            kinds = {child.tag: child for child in case}
            if "failure" in kinds or "error" in kinds:
                failed += 1
                el = kinds.get("failure") if "failure" in kinds else kinds.get("error")
                msg = (el.get("message") or "").strip().splitlines()
                failures.append((name, msg[0][:220] if msg else ""))
            elif "skipped" in kinds:
                if (kinds["skipped"].get("type") or "") == "pytest.xfail":
                    xfailed += 1
                else:
                    skipped += 1
            else:
                passed += 1
    return passed, failed, skipped, xfailed, seconds, failures


def steps_group(path):
    passed = failed = 0
    seconds = 0.0
    failures = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2:
                continue
            status, name = parts[0], parts[1]
            seconds += float(parts[2]) if len(parts) > 2 and parts[2] else 0.0
            if status == "pass":
                passed += 1
            else:
                failed += 1
                failures.append((name, parts[3] if len(parts) > 3 else ""))
    return passed, failed, 0, 0, seconds, failures


def main(results):
    order_file = os.path.join(results, "groups")
    groups = [g.strip() for g in open(order_file)] if os.path.exists(order_file) else []
    rows, all_failures = [], []
    for g in filter(None, groups):
        xml, steps = os.path.join(results, g + ".xml"), os.path.join(results, g + ".steps")
        if os.path.exists(xml):
            try:
                r = pytest_group(xml)
            except ET.ParseError as e:
                r = (0, 1, 0, 0, 0.0, [(g, f"unreadable JUnit XML: {e}")])
        elif os.path.exists(steps):
            r = steps_group(steps)
        else:
            r = (0, 1, 0, 0, 0.0, [(g, "group produced no results")])
        rows.append((g,) + r[:5])
        all_failures += [(g, n, m) for n, m in r[5]]

    width = max([len(r[0]) for r in rows] + [5])
    line = f"{'group':<{width}}  {'passed':>6}  {'failed':>6}  {'skipped':>7}  {'xfail':>5}  {'time':>7}"
    print()
    print(line)
    print("-" * len(line))
    tp = tf = ts = tx = 0
    tt = 0.0
    for g, p, f, s, x, t in rows:
        mark = "  <-- FAILED" if f else ""
        print(f"{g:<{width}}  {p:>6}  {f:>6}  {s:>7}  {x:>5}  {t:>6.0f}s{mark}")
        tp, tf, ts, tx, tt = tp + p, tf + f, ts + s, tx + x, tt + t
    print("-" * len(line))
    print(f"{'total':<{width}}  {tp:>6}  {tf:>6}  {ts:>7}  {tx:>5}  {tt:>6.0f}s")
    if ts or tx:
        print(f"(skipped: not applicable to this endpoint; xfail: AWS behaviour moto_server lacks, see moto_gap marks)")
    if all_failures:
        # one entry per failing test or step, with the groups it failed in
        merged = {}
        for g, n, m in all_failures:
            entry = merged.setdefault(n, {"groups": [], "message": m})
            entry["groups"].append(g)
        print()
        print(f"failures ({len(merged)} distinct):")
        for n, e in merged.items():
            print(f"  {n}  [{', '.join(e['groups'])}]" + (f"\n      {e['message']}" if e["message"] else ""))
    print()
    print(f"{tp} passed, {tf} failed")
    return 1 if tf or not tp else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
