#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tphubd lifecycle: READY=1 with a status, SIGHUP reload (good and broken config), clean
exit on SIGTERM and SIGINT, and --check-config on good and bad files."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from tphubd_harness import Tphubd, expect  # noqa: E402

TPHUBD, SRC = sys.argv[1], sys.argv[2]
failures = []
results = []


def case(fn):
    try:
        fn()
        results.append(("ok", fn.__name__))
    except Exception as e:  # report and go on with the next case
        results.append(("not ok", fn.__name__))
        failures.append("%s: %s" % (fn.__name__, e))


def make_config(tmp, hub="lab", extra=""):
    protocols = os.path.join(SRC, "config", "protocols")
    path = os.path.join(tmp, "tphub.conf")
    with open(path, "w") as f:
        f.write('hub = { name = "%s"; };\n' % hub)
        f.write('paths = { protocols = [ "%s" ]; spool = "%s/spool"; state = "%s/state"; };\n'
                % (protocols, tmp, tmp))
        f.write('mqtt = { enabled = false; };\nble = { enabled = false; };\n')
        f.write('stations = ( { name = "bench-1"; protocol = "back-12"; } );\n')
        f.write(extra)
    return path


def test_ready_reload_terminate():
    with tempfile.TemporaryDirectory() as tmp:
        conf = make_config(tmp)
        d = Tphubd(TPHUBD, conf)
        try:
            msg = d.wait_notify("READY=1")
            expect("STATUS=hub lab: 1 station(s), 0 in session" in msg.split("\n"), "status in %r" % msg)
            make_config(tmp, hub="lab2")
            d.signal(signal.SIGHUP)
            d.wait_notify("RELOADING=1")
            msg = d.wait_notify("READY=1")
            expect("STATUS=hub lab2: 1 station(s), 0 in session" in msg.split("\n"), "reloaded status %r" % msg)
            # a broken file on reload: the daemon keeps running on what it had
            with open(conf, "a") as f:
                f.write("bogus = 1;\n")
            d.signal(signal.SIGHUP)
            d.wait_notify("RELOADING=1")
            msg = d.wait_notify("READY=1")
            expect("STATUS=hub lab2: 1 station(s), 0 in session" in msg.split("\n"), "kept status %r" % msg)
            expect('unknown key "bogus"' in d.read_log(), "error logged")
            d.signal(signal.SIGTERM)
            d.wait_notify("STOPPING=1")
            expect(d.wait_exit() == 0, "exit status %r" % d.proc.returncode)
        finally:
            d.close()


def test_sigint():
    with tempfile.TemporaryDirectory() as tmp:
        d = Tphubd(TPHUBD, make_config(tmp))
        try:
            d.wait_notify("READY=1")
            d.signal(signal.SIGINT)
            expect(d.wait_exit() == 0, "exit status %r" % d.proc.returncode)
        finally:
            d.close()


def test_refuses_bad_config():
    with tempfile.TemporaryDirectory() as tmp:
        conf = make_config(tmp, extra="nonsense = true;\n")
        out = subprocess.run([TPHUBD, "--config", conf], capture_output=True, text=True, timeout=10)
        expect(out.returncode == 1, "exit %d" % out.returncode)
        expect('tphub.conf:6: unknown key "nonsense"' in out.stderr, out.stderr)


def test_check_config_shipped():
    conf = os.path.join(SRC, "config", "tphub.conf")
    out = subprocess.run([TPHUBD, "--check-config", "--config", conf], capture_output=True, text=True, timeout=10)
    expect(out.returncode == 0, "exit %d: %s" % (out.returncode, out.stderr))
    for p in ("back-12", "ball-release", "glute-tpt", "ppt"):
        expect(" " + p in out.stdout, "%s not loaded: %s" % (p, out.stdout))


def test_check_config_every_error():
    with tempfile.TemporaryDirectory() as tmp:
        pdir = os.path.join(tmp, "protocols")
        shutil.copytree(os.path.join(SRC, "config", "protocols"), pdir)
        with open(os.path.join(pdir, "broken.conf"), "w") as f:
            f.write('title = "x";\nsteps = ( { point = "a"; label = "A"; kind = "press"; start = "confirm";\n'
                    '  target_hold_s = 5; min_hold_s = 9; contact_n = 10; release_n = 20;\n'
                    '  target_min_n = 20; target_max_n = 30; safety_max_n = 40; } );\n')
        conf = os.path.join(tmp, "t.conf")
        with open(conf, "w") as f:
            f.write('hub = { name = "lab"; };\npaths = { protocols = [ "%s" ]; };\n' % pdir)
            f.write('stations = ( { name = "s1"; protocol = "nope"; }, { name = "s1"; protocol = "ppt"; } );\n')
        out = subprocess.run([TPHUBD, "--check-config", "--config", conf], capture_output=True, text=True, timeout=10)
        expect(out.returncode == 1, "exit %d" % out.returncode)
        err = out.stderr
        expect("broken.conf:2:" in err, "protocol error with line: " + err)
        expect('no protocol "nope"' in err, "unknown protocol: " + err)
        expect('station name "s1" is used twice' in err, "duplicate station: " + err)


for fn in (test_ready_reload_terminate, test_sigint, test_refuses_bad_config, test_check_config_shipped,
           test_check_config_every_error):
    case(fn)
print("1..%d" % len(results))
for i, (status, name) in enumerate(results, 1):
    print("%s %d - %s" % (status, i, name))
for f in failures:
    print("# " + f.replace("\n", "\n# "))
sys.exit(1 if failures else 0)
