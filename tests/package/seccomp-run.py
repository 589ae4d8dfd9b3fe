#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Runs a command under the system call filter of a systemd unit, as systemd would install it
(SystemCallFilter= lines, groups resolved by systemd-analyze syscall-filter; a call outside
the filter kills the process with SIGSYS, as with systemd's default), so that the daemon's
tests show it still works under its unit's filter where no systemd runs the unit.

Usage: seccomp-run.py UNIT-FILE COMMAND [ARGS...]"""

import os
import subprocess
import sys

import seccomp


def group(name, cache={}):
    if name not in cache:
        out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True,
                             check=True).stdout
        calls = set()
        for line in out.splitlines()[1:]:
            w = line.strip()
            if not w or w.startswith("#"):
                continue
            calls |= group(w) if w.startswith("@") else {w}
        cache[name] = calls
    return cache[name]


def filter_of(unit):
    allowed = None
    for line in open(unit):
        line = line.strip()
        if not line.startswith("SystemCallFilter="):
            continue
        value = line.split("=", 1)[1]
        deny = value.startswith("~")
        names = set()
        for w in value.lstrip("~").split():
            names |= group(w) if w.startswith("@") else {w}
        if deny:
            allowed = (allowed if allowed is not None else set()) - names
        else:
            allowed = (allowed or set()) | names
    return allowed


def main():
    unit, argv = sys.argv[1], sys.argv[2:]
    allowed = filter_of(unit)
    if not allowed:
        sys.exit("%s has no SystemCallFilter=" % unit)
    f = seccomp.SyscallFilter(defaction=seccomp.KILL_PROCESS)
    for name in sorted(allowed):
        try:
            f.add_rule(seccomp.ALLOW, name)
        except (RuntimeError, ValueError, OSError):
            pass  # not a call on this architecture
    f.load()
    os.execvp(argv[0], argv)


main()
