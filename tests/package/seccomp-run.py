#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Runs a command under the system call filter of a systemd unit, as systemd would install it
(SystemCallFilter= lines, groups resolved by systemd-analyze syscall-filter; a call outside
the filter fails with SystemCallErrorNumber= when the unit sets one, else kills the process
with SIGSYS, as systemd does), so that the daemon's tests show it still works under its
unit's filter where no systemd runs the unit.

Usage: seccomp-run.py UNIT-FILE COMMAND [ARGS...]"""

import errno
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


def default_action(unit):
    for line in open(unit):
        line = line.strip()
        if line.startswith("SystemCallErrorNumber="):
            return seccomp.ERRNO(getattr(errno, line.split("=", 1)[1]))
    return seccomp.KILL_PROCESS


def protect_clock(unit):
    return any(line.strip() == "ProtectClock=yes" for line in open(unit))


def main():
    unit, argv = sys.argv[1], sys.argv[2:]
    allowed = filter_of(unit)
    if not allowed:
        sys.exit("%s has no SystemCallFilter=" % unit)
    # TPHUB_SECCOMP_STRICT=1: kill on any call outside the filter, except those the unit's
    # ProtectClock= is known to refuse (@clock, EPERM), so that a test sees every other one.
    strict = os.environ.get("TPHUB_SECCOMP_STRICT") == "1"
    f = seccomp.SyscallFilter(defaction=seccomp.KILL_PROCESS if strict else default_action(unit))
    if strict and protect_clock(unit):
        for name in sorted(group("@clock") - allowed):
            try:
                f.add_rule(seccomp.ERRNO(errno.EPERM), name)
            except (RuntimeError, ValueError, OSError):
                pass
    for name in sorted(allowed):
        try:
            f.add_rule(seccomp.ALLOW, name)
        except (RuntimeError, ValueError, OSError):
            pass  # not a call on this architecture
    f.load()
    os.execvp(argv[0], argv)


main()
