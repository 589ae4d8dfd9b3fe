# SPDX-License-Identifier: MIT
"""The fake bluetoothd of tests/ble/sim (tphub_bluez.py), unchanged, plus what the benchmark
needs to measure against it (methods on org.tphub.BenchSim1 at /):

- every data notification a tool sends is stamped with CLOCK_MONOTONIC right before it is
  written to the bus socket, or under AcquireNotify (what tphubd uses for the Progressor) to
  the notification socket (the moment "a sample leaves the simulator"), and written, as
  "address cycle row mono_ns", to the file given to BenchEmitLog(path);
- BenchLoop(address, on): the tool's trace repeats forever (cycle 0, 1, ...) on its own
  clock, so a soak needs no hour-long trace in memory;
- BenchCount() -> t: notifications sent so far (all tools), for per-sample costs;
- dbusmock's log line for every emitted signal is skipped (the simulator would otherwise
  spend its time logging 640 signals a second); method calls are still logged.

Run with: python3 -m dbusmock --system -t tests/bench/bench_bluez.py -p '{"adapters": ["hci0"]}'
"""

import os
import sys
import time

import dbus
import dbus.service

from dbusmock import mockobject

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'ble', 'sim'))
import tphub_bluez  # noqa: E402
from tphub_bluez import *  # noqa: E402,F401,F403  the control API and template symbols

BENCH_IFACE = 'org.tphub.BenchSim1'
_state = {'log': None, 'count': 0, 'send_ns': 0}

_orig_log = mockobject.DBusMockObject.log


def _log(self, msg):
    if not msg.startswith('emit '):
        _orig_log(self, msg)


mockobject.DBusMockObject.log = _log


def _emit_signal(self, interface, name, signature, sigargs, details):
    '''dbusmock's own _emit_signal, with a CLOCK_MONOTONIC stamp right before the message
    goes to the bus socket: after it only libdbus's write runs, so a sample's latency is
    measured from when it left (a stamp after the write could come late: the simulator is
    an ordinary process and tphubd, at real-time priority, may preempt it first).'''
    if not interface:
        interface = self.interface
    args = mockobject._convert_args(signature, sigargs)  # pylint: disable=protected-access
    sig = dbus.lowlevel.SignalMessage(details.get('path', self.path), interface, name)
    sig.append(*args, signature=signature)
    if details.get('destination') is not None:
        sig.set_destination(details['destination'])
    _state['send_ns'] = time.monotonic_ns()
    for location in self.locations:
        location[0].send_message(sig)


mockobject.DBusMockObject._emit_signal = _emit_signal  # pylint: disable=protected-access


def _before_send():
    # AcquireNotify: right before the notification is written to the client's socket
    _state['send_ns'] = time.monotonic_ns()


tphub_bluez.before_send = _before_send

_orig_tick = tphub_bluez.Tool.tick


def _tick(self):
    # tick() notifies row trace_pos and then advances it; stamp the row once it is out
    row, before = self.trace_pos, self.sent
    r = _orig_tick(self)
    if self.sent != before:
        _state['count'] += 1
        if _state['log'] is not None:
            _state['log'].write('%s %d %d %d\n' % (self.address, getattr(self, 'cycle', 0), row, self.sent_ns))
    return r


_orig_emit = tphub_bluez.Tool.emit_values


def _emit_values(self, values):
    r = _orig_emit(self, values)
    self.sent += r
    self.sent_ns = _state['send_ns']
    return r


_orig_schedule = tphub_bluez.Tool.schedule_next


def _schedule_next(self):
    if self.trace_pos >= len(self.trace) and getattr(self, 'loop', False) and self.trace:
        period = self.trace[-1][0] + (self.trace[-1][0] - self.trace[-2][0] if len(self.trace) > 1 else 1.0)
        self.trace_pos = 0
        self.trace_t0 += period
        self.cycle = getattr(self, 'cycle', 0) + 1
    return _orig_schedule(self)


tphub_bluez.Tool.sent = 0
tphub_bluez.Tool.sent_ns = 0
tphub_bluez.Tool.tick = _tick
tphub_bluez.Tool.emit_values = _emit_values
tphub_bluez.Tool.schedule_next = _schedule_next


@dbus.service.method(BENCH_IFACE, in_signature='s', out_signature='')
def BenchEmitLog(_self, path):
    '''Start (or, with "", stop and flush) the emission log.'''
    if _state['log'] is not None:
        _state['log'].close()
        _state['log'] = None
    if path:
        _state['log'] = open(path, 'w', buffering=1 << 16)


@dbus.service.method(BENCH_IFACE, in_signature='', out_signature='')
def BenchFlush(_self):
    if _state['log'] is not None:
        _state['log'].flush()


@dbus.service.method(BENCH_IFACE, in_signature='sb', out_signature='')
def BenchLoop(_self, address, on):
    tphub_bluez._tool(address).loop = bool(on)  # pylint: disable=protected-access


@dbus.service.method(BENCH_IFACE, in_signature='', out_signature='t')
def BenchCount(_self):
    return dbus.UInt64(_state['count'])


def load(mock, parameters):
    tphub_bluez.load(mock, parameters)
