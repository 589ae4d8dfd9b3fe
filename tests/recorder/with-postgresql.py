#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs a test program against a private PostgreSQL server: TPHUB_TEST_DB_KIND=postgresql and
TPHUB_TEST_DB=<conninfo> in its environment; its output and exit status are passed through."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pg_harness import PostgreSQL  # noqa: E402

pg = PostgreSQL()
try:
    env = dict(os.environ, TPHUB_TEST_DB_KIND="postgresql", TPHUB_TEST_DB=pg.conninfo)
    rc = subprocess.call(sys.argv[1:], env=env)
finally:
    pg.close()
sys.exit(rc)
