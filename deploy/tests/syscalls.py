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
  ProtectSystem=strict       every file written, created, renamed, linked or removed is under the
                             StateDirectory= or a ReadWritePaths= entry (or the PrivateTmp= /tmp),
                             read from TRACE.paths.json, which maps the unit's paths to the test's
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


WRITE_FLAGS = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC")
# (syscall, index of each path argument that gets written) for path-based calls.
PATH_WRITES = {
    "mkdir": [0], "mkdirat": [1], "rmdir": [0], "unlink": [0], "unlinkat": [1], "creat": [0],
    "rename": [0, 1], "renameat": [1, 3], "renameat2": [1, 3], "link": [1], "linkat": [3],
    "symlink": [1], "symlinkat": [2], "truncate": [0], "chmod": [0], "fchmodat": [1],
    "chown": [0], "lchown": [0], "fchownat": [1], "utimensat": [1],
}


def written_paths(text):
    """(syscall, path) of every path-based write in the trace (fd-relative paths are skipped)."""
    out = []
    for m in re.finditer(r"(?m)^\d+\s+([a-z_0-9]+)\((.*)$", text):
        call, rest = m.group(1), m.group(2)
        if call not in PATH_WRITES and call not in ("open", "openat"):
            continue
        # Arguments: quoted strings (paths) or bare words, up to the closing parenthesis.
        args = []
        for tok in re.finditer(r'\s*("(?:[^"\\]|\\.)*"|[^,()"]*)\s*([,)]|$)', rest):
            args.append(tok.group(1))
            if tok.group(2) != ",":
                break
        path = lambda i: args[i][1:-1] if i < len(args) and args[i].startswith('"') else None  # noqa: E731
        at_cwd = lambda i: i == 0 or args[i - 1] == "AT_FDCWD" or (path(i) or "").startswith("/")  # noqa: E731
        if call in ("open", "openat"):
            i = 0 if call == "open" else 1
            if len(args) > i + 1 and WRITE_FLAGS.search(args[i + 1]) and path(i) is not None and (call == "open" or at_cwd(i)):
                out.append((call, path(i)))
        else:
            for i in PATH_WRITES[call]:
                if path(i) is not None and (not call.endswith("at") and call != "renameat2" or at_cwd(i)):
                    out.append((call, path(i)))
    return out


def check_writes(unit: Path, text: str, paths_file: Path):
    if unit_values(unit, "ProtectSystem") != ["strict"] or not paths_file.exists():
        return []
    import json
    conf = json.loads(paths_file.read_text())
    mapping = sorted(conf["paths"].items(), key=lambda kv: -len(kv[0]))

    def real(p):
        for prefix, target in mapping:
            if p == prefix or p.startswith(prefix.rstrip("/") + "/"):
                return target + p[len(prefix):]
        return p

    writable = [f"/var/lib/{d}" for v in unit_values(unit, "StateDirectory") for d in v.split()]
    writable += [p.lstrip("-") for v in unit_values(unit, "ReadWritePaths") for p in v.split()]
    writable = [real(w) for w in writable]
    root = conf["root"]
    bad = []
    for call, p in written_paths(text):
        if not p.startswith("/"):
            p = conf["cwd"].rstrip("/") + "/" + p
        p = str(Path(p))
        if any(p == w or p.startswith(w + "/") for w in writable):
            continue
        if call == "mkdir" and any(w.startswith(p + "/") for w in writable):
            continue  # create_dir_all on the parents of the data directory: they exist (EEXIST)
        if "yes" in unit_values(unit, "PrivateTmp") and re.match(r"/(var/)?tmp/", p) and not p.startswith(root + "/"):
            continue
        bad.append(f"{call} {p}")
    return [f"ProtectSystem=strict refuses {', '.join(bad[:5])}"] if bad else []


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
    failures += check_writes(unit, text, Path(f"{trace}.paths.json"))
    writes = written_paths(text)
    print(f"  {len(writes)} path writes judged against ProtectSystem=/StateDirectory=")
    print(f"  {len(calls)} system calls of {len(used)} kinds, socket families {', '.join(sorted(fams)) or '-'}")
    for f in failures:
        print(f"  FAIL {f}")
    if not calls:
        print("  FAIL the trace is empty")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
