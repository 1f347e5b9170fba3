#!/usr/bin/env python3
"""syscalls.py UNIT TRACE: does the sandbox of a systemd unit allow what the gateway really did?

TRACE is `strace -f` output of the gateway started as the unit starts it (deploy/tests/launch.py
--strace) through a whole conversation (start, S3 requests, a scrub, metrics, SIGTERM). Checked
against the unit:
  SystemCallFilter=          every system call made is in the allowed set (groups expanded with
                             `systemd-analyze syscall-filter`, `~` lines removed)
  RestrictAddressFamilies=   every socket()/socketpair() family is listed
  MemoryDenyWriteExecute=    no mapping is made writable and executable at once
  RestrictNamespaces=        no clone/unshare with CLONE_NEW* flags
This cannot replace running under systemd (not possible here: PID 1 is not systemd), but it shows that
the filters do not refuse anything the gateway needs on this path. Exit 1 on any violation."""

import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

# Allowed by systemd whatever the filter says (seccomp-util.c: the "always allowed" set).
IMPLICIT = {"execve", "exit", "exit_group", "getrlimit", "rt_sigreturn", "sigreturn"}


@lru_cache(maxsize=None)
def expand(item: str) -> frozenset:
    if not item.startswith("@"):
        return frozenset([item])
    out = subprocess.run(["systemd-analyze", "syscall-filter", item], capture_output=True, text=True, check=True).stdout
    names = set()
    for line in out.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            if line != item:
                names |= expand(line)
        else:
            names.add(line)
    return frozenset(names)


def unit_values(unit: Path, key: str) -> list:
    vals = []
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if line.startswith(f"{key}="):
            vals.append(line.split("=", 1)[1].strip())
    return vals


def allowed_syscalls(unit: Path):
    allowed = None
    for v in unit_values(unit, "SystemCallFilter"):
        if not v:
            allowed = None
            continue
        deny = v.startswith("~")
        items = v.lstrip("~").split()
        names = set().union(*(expand(i) for i in items))
        if deny:
            if allowed is None:
                raise SystemExit("deny-list-only SystemCallFilter= is not handled")
            allowed -= names
        else:
            allowed = (allowed or set()) | names
    return None if allowed is None else allowed | IMPLICIT


def main():
    unit, trace = Path(sys.argv[1]), Path(sys.argv[2])
    text = trace.read_text()
    calls = re.findall(r"(?m)^\d+\s+(?:<\.\.\. )?([a-z_0-9]+)\(", text)
    used = set(calls)
    failures = []
    allowed = allowed_syscalls(unit)
    if allowed is not None:
        blocked = sorted(used - allowed)
        if blocked:
            failures.append(f"SystemCallFilter= refuses {', '.join(blocked)}")
    fams = set(re.findall(r"(?m)^\d+\s+socket(?:pair)?\((AF_[A-Z0-9]+)", text))
    raf = " ".join(unit_values(unit, "RestrictAddressFamilies")).split()
    if raf and not raf[0].startswith("~"):
        bad = sorted(fams - set(raf))
        if bad:
            failures.append(f"RestrictAddressFamilies= refuses {', '.join(bad)}")
    if "yes" in unit_values(unit, "MemoryDenyWriteExecute"):
        wx = re.findall(r"(?m)^\d+\s+(?:mmap|mprotect|pkey_mprotect)\([^\n]*PROT_WRITE\|PROT_EXEC[^\n]*|^\d+\s+(?:mmap|mprotect)\([^\n]*PROT_EXEC\|PROT_WRITE[^\n]*", text)
        if wx:
            failures.append(f"MemoryDenyWriteExecute= refuses {wx[0][:120]}")
    if "yes" in unit_values(unit, "RestrictNamespaces"):
        ns = re.findall(r"(?m)^\d+\s+(?:clone3?|unshare|setns)\([^\n]*CLONE_NEW[^\n]*", text)
        if ns:
            failures.append(f"RestrictNamespaces= refuses {ns[0][:120]}")
    print(f"  {len(calls)} system calls of {len(used)} kinds, socket families {', '.join(sorted(fams)) or '-'}")
    for f in failures:
        print(f"  FAIL {f}")
    if not calls:
        print("  FAIL the trace is empty")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
