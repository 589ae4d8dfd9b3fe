# SPDX-License-Identifier: MIT
"""A private PostgreSQL server for a test: initdb in a temporary directory, a free loopback
port, stopped (fast shutdown) and removed at the end. PostgreSQL refuses to run as root, so
as root the server runs as the unprivileged user `nobody`."""

import glob
import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[4]))
    if not dirs:
        raise RuntimeError("PostgreSQL server binaries not found (scripts/install-deps.sh --test installs postgresql-15)")
    return dirs[-1]


class PostgreSQL:
    def __init__(self, fsync=False):
        self.bindir = pg_bindir()
        self.dir = tempfile.mkdtemp(prefix="tphub-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            pw = pwd.getpwnam("nobody")
            self.user = (pw.pw_uid, pw.pw_gid)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.log_path = os.path.join(self.dir, "server.log")
        self._run([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", "tphub", "--auth=trust",
                   "-E", "UTF8", "--locale=C", "--no-sync"])
        args = [os.path.join(self.bindir, "postgres"), "-D", self.data, "-p", str(self.port), "-k", self.dir,
                "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=50"]
        if not fsync:
            args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=self._drop)
        self._wait_ready()
        self.conninfo = "host=127.0.0.1 port=%d user=tphub dbname=postgres connect_timeout=5" % self.port

    def _drop(self):
        if self.user:
            os.setgid(self.user[1])
            os.setuid(self.user[0])

    def _run(self, args):
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=self._drop,
                           cwd=self.dir)
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s" % (args[0], r.stdout.decode(errors="replace")))

    def _wait_ready(self, timeout=60.0):
        end = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited: " + open(self.log_path, errors="replace").read())
            r = subprocess.run([os.path.join(self.bindir, "pg_isready"), "-q", "-h", "127.0.0.1", "-p",
                                str(self.port)])
            if r.returncode == 0:
                return
            if time.monotonic() > end:
                raise RuntimeError("postgres did not become ready")
            select.select([], [], [], 0.05)

    def psql(self, sql):
        r = subprocess.run([os.path.join(self.bindir, "psql"), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                            self.conninfo, "-c", sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError("psql: " + r.stderr)
        return r.stdout.strip()

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)   # fast shutdown
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
