# SPDX-License-Identifier: MIT
"""Fake bluetoothd (org.bluez) for tphub tests and the demo: a python3-dbusmock template.

Run on a PRIVATE bus only:
    DBUS_SYSTEM_BUS_ADDRESS=unix:path=DIR/system_bus_socket \\
        /usr/bin/python3 -m dbusmock --system -t tests/ble/sim/tphub_bluez.py \\
        -p '{"adapters": ["hci0"]}'

It behaves toward a client like bluetoothd 5.66 does, as far as tphubd cares: Adapter1
(Powered, Discovering, SetDiscoveryFilter, Start/StopDiscovery, RemoveDevice), Device1
objects appearing with advertisement data while discovery runs, Connect with scripted
delays and failures, ServicesResolved after the GATT objects, GattService1 /
GattCharacteristic1 with StartNotify/StopNotify/AcquireNotify/WriteValue/ReadValue, and
notifications produced from scripted force traces: as PropertiesChanged(Value) under
StartNotify, or written one per message into the SOCK_SEQPACKET socket whose other end
AcquireNotify passed to the client (NotifyAcquired true while it is held). Every call a client makes is logged by dbusmock
(GetMethodCalls) and announced with the org.freedesktop.DBus.Mock.MethodCalled signal from
the called object's path, which tests await. See README.md for the control API.
"""

import csv
import os
import socket
import sys

import dbus
import dbus.service
from gi.repository import GLib

from dbusmock import OBJECT_MANAGER_IFACE, mockobject

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import encode as _encode  # noqa: E402  the drivers' encoders and device table (every driver)

BUS_NAME = 'org.bluez'
MAIN_OBJ = '/'
SYSTEM_BUS = True
IS_OBJECT_MANAGER = True

SIM_IFACE = 'org.tphub.BlueZSim1'
ADAPTER_IFACE = 'org.bluez.Adapter1'
DEVICE_IFACE = 'org.bluez.Device1'
SERVICE_IFACE = 'org.bluez.GattService1'
CHAR_IFACE = 'org.bluez.GattCharacteristic1'
PROPS_IFACE = 'org.freedesktop.DBus.Properties'
MOCK_IFACE = 'org.freedesktop.DBus.Mock'

BATTERY_SERVICE = '0000180f-0000-1000-8000-00805f9b34fb'
DEFAULT_MTU = 247


def before_send():
    '''Called right before each notification is sent (bus or socket); the benchmark stamps it.'''
WRITE_FLAGS = ['write', 'write-without-response']


def kind_spec(kind):
    '''How a device of this kind looks: advertised UUIDs, GATT layout [(service uuid,
    [(char uuid, flags, role)])], commands, or the company id of an advert-only device.
    Built from the encoder module's DEVICES table, the drivers' contract.'''
    if kind == 'tag':
        return {'uuids': [], 'gatt': [], 'connectable': False, 'commands': {}, 'company': None}
    dev = _encode.DEVICES.get(kind)
    if dev is None or kind not in _encode.ENCODERS:
        return None
    if 'company_id' in dev:
        return {'uuids': [], 'gatt': [], 'connectable': False, 'commands': {}, 'company': dev['company_id']}
    service, write = dev['service'], dev.get('write')
    write_service = dev.get('write_service', service)
    chars = [(dev['notify'], ['notify'], 'data')]
    if write and write_service == service:
        chars.append((write, WRITE_FLAGS, 'control'))
    gatt = [(service, chars)]
    if write and write_service != service:
        gatt.append((write_service, [(write, WRITE_FLAGS, 'control')]))
    if dev.get('battery'):
        gatt.append((BATTERY_SERVICE, [(dev['battery'], ['read', 'notify'], 'battery')]))
    return {'uuids': [service], 'gatt': gatt, 'connectable': True, 'commands': dev.get('commands', {}),
            'company': None}


def battery_frames(kind, mv):
    '''The reply to a battery command on the data characteristic, if the encoders know it.'''
    fn = getattr(_encode, f'encode_{kind}_battery', None)
    if fn is not None:
        return fn(mv)
    fn = getattr(_encode, f'{kind}_battery_frame', None)
    return [fn(mv)] if fn is not None else []

adapters = {}   # name -> Adapter
tools = {}      # address -> Tool


def _bytes(data):
    return dbus.Array([dbus.Byte(b) for b in data], signature='y')


def _mfr(mfr):
    return dbus.Dictionary({dbus.UInt16(k): dbus.Array([dbus.Byte(b) for b in v], signature='y', variant_level=1)
                            for k, v in mfr.items()}, signature='qv', variant_level=1)


def _svc(svc):
    return dbus.Dictionary({dbus.String(k): dbus.Array([dbus.Byte(b) for b in v], signature='y', variant_level=1)
                            for k, v in svc.items()}, signature='sv', variant_level=1)


ROOT = None
CALLER = None   # unique bus name of the client whose call is being handled


def _root():
    return ROOT


def _emit_changed(path, iface, changed, invalidated=()):
    obj = mockobject.objects.get(path)
    if obj is None:
        return
    for k, v in changed.items():
        obj.props.setdefault(iface, {})[k] = v
    for k in invalidated:
        obj.props.get(iface, {}).pop(k, None)
    obj.EmitSignal(PROPS_IFACE, 'PropertiesChanged', 'sa{sv}as',
                   [iface, dbus.Dictionary(changed, signature='sv'), dbus.Array(list(invalidated), signature='s')])


def _add_object(path, ifaces, methods):
    """ifaces: {iface: props}; methods: {iface: [(name, in, out, fn)]}. Emits InterfacesAdded."""
    first = next(iter(ifaces))
    _root().AddObject(path, first, ifaces[first], [])
    obj = mockobject.objects[path]
    for iface, props in ifaces.items():
        if iface != first:
            obj.props[iface] = props
    for iface, ms in methods.items():
        for name, in_sig, out_sig, fn in ms:
            _add_method(obj, iface, name, in_sig, out_sig, fn)
    _root().EmitSignal(OBJECT_MANAGER_IFACE, 'InterfacesAdded', 'oa{sa{sv}}',
                       [dbus.ObjectPath(path), dbus.Dictionary(obj.props, signature='sa{sv}')])
    return obj


def _remove_object(path):
    obj = mockobject.objects.get(path)
    if obj is None:
        return
    ifaces = list(obj.props.keys())
    _root().RemoveObject(path)
    _root().EmitSignal(OBJECT_MANAGER_IFACE, 'InterfacesRemoved', 'oas',
                       [dbus.ObjectPath(path), dbus.Array(ifaces, signature='s')])


def _add_method(obj, iface, name, in_sig, out_sig, fn):
    """A method whose implementation gets (obj, ok, err, *args) and may reply later."""
    def method(self, *args, **kw):
        ok, err = kw['_ok'], kw['_err']
        args = mockobject._convert_args(in_sig, args)  # pylint: disable=protected-access
        self.log(name + mockobject._format_args(args))  # pylint: disable=protected-access
        self.call_log.append((int(GLib.get_real_time() / 1000000), name, args))
        self.MethodCalled(name, args)
        global CALLER  # pylint: disable=global-statement
        CALLER = kw.get('_sender')
        try:
            fn(self, ok, err, *args)
        except dbus.exceptions.DBusException as e:
            err(e)
        finally:
            CALLER = None

    dbus_method = dbus.service.method(iface, out_signature=out_sig)(method)
    dbus_method.__name__ = name
    dbus_method._dbus_in_signature = in_sig  # pylint: disable=protected-access
    dbus_method._dbus_args = [f'arg{i}' for i in range(len(dbus.Signature(in_sig)))]  # pylint: disable=protected-access
    dbus_method._dbus_async_callbacks = ('_ok', '_err')  # pylint: disable=protected-access
    dbus_method._dbus_sender_keyword = '_sender'  # pylint: disable=protected-access
    obj.methods.setdefault(iface, {})[name] = (in_sig, out_sig, '', dbus_method)


def _error(name, message):
    return dbus.exceptions.DBusException(message, name=name)


class Adapter:
    def __init__(self, name):
        self.name = name
        self.path = '/org/bluez/' + name
        self.index = len(adapters)
        self.present = False
        self.create()

    def create(self):
        '''(Re-)creates the D-Bus object: the controller appeared (again).'''
        self.present = True
        self.powered = True
        self.discovering = False
        self.filter = {}
        n = self.index
        props = {
            'Address': dbus.String(f'00:AA:00:00:00:{n:02X}', variant_level=1),
            'AddressType': dbus.String('public', variant_level=1),
            'Name': dbus.String('tphub-sim', variant_level=1),
            'Alias': dbus.String('tphub-sim', variant_level=1),
            'Powered': dbus.Boolean(True, variant_level=1),
            'Discoverable': dbus.Boolean(False, variant_level=1),
            'Pairable': dbus.Boolean(False, variant_level=1),
            'Discovering': dbus.Boolean(False, variant_level=1),
            'UUIDs': dbus.Array([], signature='s', variant_level=1),
        }
        _add_object(self.path, {ADAPTER_IFACE: props}, {
            ADAPTER_IFACE: [
                ('SetDiscoveryFilter', 'a{sv}', '', self.m_set_filter),
                ('StartDiscovery', '', '', self.m_start),
                ('StopDiscovery', '', '', self.m_stop),
                ('RemoveDevice', 'o', '', self.m_remove_device),
            ],
            PROPS_IFACE: [('Set', 'ssv', '', self.m_set)],
        })

    def remove(self):
        '''The controller vanished (USB unplugged, hciuart died): devices and adapter go.'''
        for tool in tools.values():
            if tool.adapter is self:
                tool.remove()
        self.discovering = False
        self.present = False
        _remove_object(self.path)

    def duplicate_data(self):
        return bool(self.filter.get('DuplicateData', True))

    def m_set_filter(self, _obj, ok, _err, flt):
        self.filter = dict(flt)
        ok()

    def m_start(self, _obj, ok, _err):
        if not self.powered:
            raise _error('org.bluez.Error.NotReady', 'Resource Not Ready')
        if self.discovering:
            raise _error('org.bluez.Error.InProgress', 'Operation already in progress')
        self.set_discovering(True)
        ok()

    def m_stop(self, _obj, ok, _err):
        if not self.discovering:
            raise _error('org.bluez.Error.Failed', 'No discovery started')
        self.set_discovering(False)
        ok()

    def m_remove_device(self, _obj, ok, _err, path):
        for tool in tools.values():
            if tool.path == path and tool.adapter is self:
                tool.remove()
                ok()
                # still in range: the next advertisement brings it back while scanning
                if self.discovering:
                    GLib.timeout_add(50, lambda t=tool: (t.discover() if t.adapter.discovering else None) and False)
                return
        raise _error('org.bluez.Error.DoesNotExist', 'Does Not Exist')

    def m_set(self, _obj, ok, _err, iface, name, value):
        if iface != ADAPTER_IFACE or name not in ('Powered', 'Alias', 'Pairable', 'Discoverable'):
            raise _error('org.freedesktop.DBus.Error.PropertyReadOnly', 'read-only')
        if name == 'Powered':
            self.set_powered(bool(value))
        else:
            _emit_changed(self.path, ADAPTER_IFACE, {name: value})
        ok()

    def set_discovering(self, on):
        self.discovering = on
        _emit_changed(self.path, ADAPTER_IFACE, {'Discovering': dbus.Boolean(on, variant_level=1)})
        for tool in list(tools.values()):
            if tool.adapter is self:
                if on:
                    tool.discover()
                else:
                    tool.scan_stopped()

    def set_powered(self, on):
        if on == self.powered:
            return
        if not on:
            for tool in tools.values():
                if tool.adapter is self:
                    tool.drop_link()
            if self.discovering:
                self.set_discovering(False)
        self.powered = on
        _emit_changed(self.path, ADAPTER_IFACE, {'Powered': dbus.Boolean(on, variant_level=1)})


class Tool:
    def __init__(self, adapter, address, kind, name, opts):
        self.spec = kind_spec(kind)
        if self.spec is None:
            raise _error(SIM_IFACE + '.Error', f'unknown kind {kind}')
        self.adapter = adapter
        self.address = address.upper()
        self.kind = kind
        self.name = name
        self.path = adapter.path + '/dev_' + self.address.replace(':', '_')
        self.rssi = int(opts.get('rssi', -60))
        self.in_range = bool(opts.get('in_range', True))
        self.connect_delay_ms = int(opts.get('connect_delay_ms', 20))
        self.resolve_delay_ms = int(opts.get('resolve_delay_ms', 20))
        self.early_value = bool(opts.get('early_value', False))
        self.silent_connected = bool(opts.get('silent_connected', False))
        self.battery = int(opts.get('battery', 87))
        self.battery_mv = int(opts.get('battery_mv', 3900))
        self.advert_interval_ms = int(opts.get('advert_interval_ms', 100))
        # AcquireNotify: refused with NotSupported (as by a bluetoothd or characteristic that
        # does not offer it), and the MTU its reply reports
        self.refuse_acquire = bool(opts.get('refuse_acquire', False))
        self.mtu = int(opts.get('mtu', DEFAULT_MTU))
        self.acquired = {}   # characteristic path -> (our socket end, GLib watch id)
        self.early_dropped = 0
        self.script = []
        self.trace = []
        self.trace_pos = 0
        self.trace_t0 = None
        self.trace_timer = None
        self.advert_timer = None
        self.streaming = False
        self.stalled = False
        # a device's own zero: a tare command zeroes it at the force it feels then (as a real
        # Progressor does), for as long as it stays powered
        self.tare_offset = 0.0
        self.last_force = 0.0
        self.connected = False
        self.pending = None
        self.chars = {}   # role -> path
        self.sessions = {}   # characteristic path -> unique names with a notify session
        self.watches = {}    # unique name -> NameOwnerChanged receiver
        self.gatt_paths = []
        self.mfr = {}
        self.svc = {}
        self.writes = []

    def exists(self):
        return self.path in mockobject.objects

    # -- advertising / discovery --
    def discover(self):
        if not self.in_range or not self.adapter.discovering:
            return
        if not self.exists():
            props = {
                'Address': dbus.String(self.address, variant_level=1),
                'AddressType': dbus.String('random', variant_level=1),
                'Name': dbus.String(self.name, variant_level=1),
                'Alias': dbus.String(self.name, variant_level=1),
                'Adapter': dbus.ObjectPath(self.adapter.path, variant_level=1),
                'Paired': dbus.Boolean(False, variant_level=1),
                'Trusted': dbus.Boolean(False, variant_level=1),
                'Blocked': dbus.Boolean(False, variant_level=1),
                'LegacyPairing': dbus.Boolean(False, variant_level=1),
                'Connected': dbus.Boolean(self.connected, variant_level=1),
                'ServicesResolved': dbus.Boolean(False, variant_level=1),
                'UUIDs': dbus.Array(self.spec['uuids'], signature='s', variant_level=1),
                'RSSI': dbus.Int16(self.rssi, variant_level=1),
                'ManufacturerData': _mfr(self.mfr),
                'ServiceData': _svc(self.svc),
            }
            if not self.name:
                del props['Name']
            if not self.mfr:
                del props['ManufacturerData']
            if not self.svc:
                del props['ServiceData']
            _add_object(self.path, {DEVICE_IFACE: props}, {DEVICE_IFACE: [
                ('Connect', '', '', self.m_connect),
                ('Disconnect', '', '', self.m_disconnect),
                ('Pair', '', '', lambda _o, ok, _e: ok()),
                ('CancelPairing', '', '', lambda _o, ok, _e: ok()),
            ]})
        elif 'RSSI' not in mockobject.objects[self.path].props[DEVICE_IFACE]:
            _emit_changed(self.path, DEVICE_IFACE, {'RSSI': dbus.Int16(self.rssi, variant_level=1)})
        if self.spec['company'] is not None and self.trace and self.trace_t0 is None:
            self.start_trace()

    def scan_stopped(self):
        # BlueZ forgets RSSI when discovery stops
        if self.exists() and not self.connected and 'RSSI' in mockobject.objects[self.path].props[DEVICE_IFACE]:
            _emit_changed(self.path, DEVICE_IFACE, {}, ['RSSI'])

    def advertise(self, mfr=None, svc=None):
        """One received advertisement: emits the data if duplicates are reported or it changed."""
        if mfr is not None:
            changed = mfr != self.mfr
            self.mfr = dict(mfr)
            if self.exists() and self.adapter.discovering and (changed or self.adapter.duplicate_data()):
                _emit_changed(self.path, DEVICE_IFACE, {'ManufacturerData': _mfr(self.mfr)})
        if svc is not None:
            changed = svc != self.svc
            self.svc = dict(svc)
            if self.exists() and self.adapter.discovering and (changed or self.adapter.duplicate_data()):
                _emit_changed(self.path, DEVICE_IFACE, {'ServiceData': _svc(self.svc)})

    def set_rssi(self, rssi):
        self.rssi = rssi
        if self.exists() and self.adapter.discovering:
            _emit_changed(self.path, DEVICE_IFACE, {'RSSI': dbus.Int16(rssi, variant_level=1)})

    def remove(self):
        self.drop_link(reply_pending=True)
        self.trace_t0 = None
        self.stop_timer()
        _remove_object(self.path)

    # -- connection --
    def m_connect(self, _obj, ok, err):
        if not self.spec['connectable']:
            raise _error('org.bluez.Error.NotSupported', 'Operation is not supported')
        if self.connected:
            raise _error('org.bluez.Error.AlreadyConnected', 'Already Connected')
        if self.pending is not None:
            raise _error('org.bluez.Error.InProgress', 'In Progress')
        outcome = self.script.pop(0) if self.script else 'ok'
        if outcome == 'inprogress':
            raise _error('org.bluez.Error.InProgress', 'In Progress')
        if outcome == 'timeout':
            self.pending = (None, None)   # never answered, until Disconnect/RemoveDevice
            return
        self.pending = (ok, err)

        def finish():
            if self.pending != (ok, err):
                return False
            self.pending = None
            if outcome == 'abort':
                err(_error('org.bluez.Error.Failed', 'le-connection-abort-by-local'))
            elif outcome == 'failed':
                err(_error('org.bluez.Error.Failed', 'Software caused connection abort'))
            elif not self.adapter.powered or not self.exists():
                err(_error('org.bluez.Error.Failed', 'Host is down'))
            else:
                self.connected = True
                if self.silent_connected:
                    # bluetoothd 5.66 when ATT came up before the mgmt Device Connected
                    # event: Connected reads true but is never signalled
                    mockobject.objects[self.path].props[DEVICE_IFACE]['Connected'] = dbus.Boolean(True, variant_level=1)
                else:
                    _emit_changed(self.path, DEVICE_IFACE, {'Connected': dbus.Boolean(True, variant_level=1)})
                ok()
                GLib.timeout_add(self.resolve_delay_ms, self.resolve)
            return False
        GLib.timeout_add(self.connect_delay_ms, finish)

    def resolve(self):
        if not self.connected or not self.exists():
            return False
        handle = 0x0a
        for suuid, chars in self.spec['gatt']:
            spath = f'{self.path}/service{handle:04x}'
            _add_object(spath, {SERVICE_IFACE: {
                'UUID': dbus.String(suuid, variant_level=1),
                'Device': dbus.ObjectPath(self.path, variant_level=1),
                'Primary': dbus.Boolean(True, variant_level=1),
            }}, {})
            self.gatt_paths.append(spath)
            handle += 1
            for cuuid, flags, role in chars:
                cpath = f'{spath}/char{handle:04x}'
                props = {
                    'UUID': dbus.String(cuuid, variant_level=1),
                    'Service': dbus.ObjectPath(spath, variant_level=1),
                    'Value': dbus.Array([], signature='y', variant_level=1),
                    'Notifying': dbus.Boolean(False, variant_level=1),
                    'Flags': dbus.Array(flags, signature='s', variant_level=1),
                }
                if 'notify' in flags:
                    # bluetoothd 5.66 offers it only with the notify flag
                    props['NotifyAcquired'] = dbus.Boolean(False, variant_level=1)
                _add_object(cpath, {CHAR_IFACE: props}, {CHAR_IFACE: [
                    ('ReadValue', 'a{sv}', 'ay', lambda o, ok, e, opts, r=role: self.m_read(r, ok)),
                    ('WriteValue', 'aya{sv}', '', lambda o, ok, e, v, opts, r=role: self.m_write(r, v, ok)),
                    ('StartNotify', '', '', lambda o, ok, e, r=role, p=cpath: self.m_start_notify(r, p, ok)),
                    ('StopNotify', '', '', lambda o, ok, e, p=cpath: self.m_stop_notify(p, ok)),
                    ('AcquireNotify', 'a{sv}', 'hq',
                     lambda o, ok, e, opts, r=role, p=cpath, f=flags: self.m_acquire_notify(r, p, f, ok)),
                ]})
                self.gatt_paths.append(cpath)
                self.chars[role] = cpath
                handle += 2
        _emit_changed(self.path, DEVICE_IFACE, {'ServicesResolved': dbus.Boolean(True, variant_level=1)})
        return False

    def m_disconnect(self, _obj, ok, _err):
        self.drop_link(reply_pending=True)
        ok()

    def drop_link(self, reply_pending=False):
        if self.pending is not None:
            _ok, err = self.pending
            self.pending = None
            if err is not None and reply_pending:
                err(_error('org.bluez.Error.Failed', 'Operation aborted'))
        self.streaming = False
        self.stop_timer()
        if not self.connected:
            return
        self.connected = False
        for path in list(self.acquired):
            self.release_acquired(path, emit=False)   # the client sees HUP, as on a disconnect
        for path in reversed(self.gatt_paths):
            _remove_object(path)
        self.gatt_paths = []
        self.chars = {}
        self.sessions = {}
        if self.exists():
            _emit_changed(self.path, DEVICE_IFACE, {'ServicesResolved': dbus.Boolean(False, variant_level=1)})
            _emit_changed(self.path, DEVICE_IFACE, {'Connected': dbus.Boolean(False, variant_level=1)})

    # -- GATT --
    def m_read(self, role, ok):
        if not self.connected:
            raise _error('org.bluez.Error.Failed', 'Not connected')
        if role == 'battery':
            ok(_bytes([self.battery]))
        else:
            raise _error('org.bluez.Error.NotPermitted', 'Read not permitted')

    def m_write(self, role, value, ok):
        if not self.connected:
            raise _error('org.bluez.Error.Failed', 'Not connected')
        if role != 'control':
            raise _error('org.bluez.Error.NotPermitted', 'Write not permitted')
        data = bytes(value)
        self.writes.append(data)
        ok()
        commands = self.spec['commands']
        if data == commands.get('start'):
            self.streaming = True
            self.start_trace()
        elif data == commands.get('stop'):
            self.streaming = False
            self.stop_timer()
        elif data == commands.get('battery'):
            self.emit_values(battery_frames(self.kind, self.battery_mv))
        elif data == commands.get('tare'):
            self.tare_offset = self.last_force

    def m_start_notify(self, role, path, ok):
        if not self.connected:
            raise _error('org.bluez.Error.Failed', 'Not connected')
        if path in self.acquired:
            raise _error('org.bluez.Error.NotPermitted', 'Notify acquired')
        # like bluetoothd, a notify session belongs to the caller's bus connection and ends
        # when that connection goes away
        sender = CALLER
        sessions = self.sessions.setdefault(path, set())
        if sender and sender not in sessions:
            sessions.add(sender)
            if sender not in self.watches:
                self.watches[sender] = ROOT.bus_name.get_bus().add_signal_receiver(
                    lambda name, old, new, s=sender: self.client_left(s) if not new else None,
                    'NameOwnerChanged', 'org.freedesktop.DBus', 'org.freedesktop.DBus',
                    '/org/freedesktop/DBus', arg0=sender)
        obj = mockobject.objects[path]
        if not obj.props[CHAR_IFACE]['Notifying']:
            # Notifying flips (and early data may flow) before the reply
            _emit_changed(path, CHAR_IFACE, {'Notifying': dbus.Boolean(True, variant_level=1)})
            if role == 'data' and self.early_value and self.trace_pos < len(self.trace):
                self.notify(self.trace[self.trace_pos:self.trace_pos + 1])
                self.trace_pos += 1
        if role == 'data' and 'start' not in self.spec['commands'] and not self.streaming:
            # devices without a start command stream as soon as someone listens
            self.streaming = True
            self.start_trace()
        ok()

    def m_acquire_notify(self, role, path, flags, ok):
        '''As bluetoothd 5.66: a socketpair(AF_LOCAL, SOCK_SEQPACKET), one end passed to the
        caller, notifications written to the other one message each; refused for a
        characteristic without the notify flag, while acquired, or while a StartNotify
        session exists. A notification the device sends before the CCC write completes is
        dropped (the early_value option shows it).'''
        if not self.connected:
            raise _error('org.bluez.Error.NotConnected', 'Not Connected')
        if self.refuse_acquire or 'notify' not in flags:
            raise _error('org.bluez.Error.NotSupported', 'Operation is not supported')
        if path in self.acquired:
            raise _error('org.bluez.Error.NotPermitted', 'Notify acquired')
        if self.sessions.get(path):
            raise _error('org.bluez.Error.InProgress', 'In Progress')
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setblocking(False)
        watch = GLib.io_add_watch(ours.fileno(), GLib.PRIORITY_DEFAULT, GLib.IO_HUP | GLib.IO_ERR,
                                  lambda *_a, p=path: self.release_acquired(p) and False)
        self.acquired[path] = (ours, watch)
        if role == 'data' and self.early_value and self.trace_pos < len(self.trace):
            # it beat the CCC write: BlueZ drops it under AcquireNotify
            self.trace_pos += 1
            self.early_dropped += 1
        _emit_changed(path, CHAR_IFACE, {'NotifyAcquired': dbus.Boolean(True, variant_level=1)})
        if role == 'data' and 'start' not in self.spec['commands'] and not self.streaming:
            self.streaming = True
            self.start_trace()
        fd = dbus.types.UnixFd(theirs.fileno())   # dbus-python keeps a duplicate to send
        theirs.close()
        ok(fd, dbus.UInt16(self.mtu))

    def release_acquired(self, path, emit=True):
        '''The acquired socket is closed: by the client (HUP here), on a disconnect, or from
        the bluetoothd side (CloseNotifySocket).'''
        entry = self.acquired.pop(path, None)
        if entry is None:
            return False
        ours, watch = entry
        GLib.source_remove(watch)
        ours.close()
        if emit and path in mockobject.objects:
            _emit_changed(path, CHAR_IFACE, {'NotifyAcquired': dbus.Boolean(False, variant_level=1)})
        return False

    def m_stop_notify(self, path, ok):
        self.sessions.get(path, set()).discard(CALLER)
        if not self.sessions.get(path):
            _emit_changed(path, CHAR_IFACE, {'Notifying': dbus.Boolean(False, variant_level=1)})
        ok()

    def client_left(self, sender):
        watch = self.watches.pop(sender, None)
        if watch is not None:
            watch.remove()
        for path, sessions in self.sessions.items():
            if sender in sessions:
                sessions.discard(sender)
                if not sessions and path in mockobject.objects:
                    _emit_changed(path, CHAR_IFACE, {'Notifying': dbus.Boolean(False, variant_level=1)})

    def notify(self, samples):
        encode = _encode.ENCODERS[self.kind][0]
        if samples:
            self.last_force = samples[-1][1]
        self.emit_values(encode([n - self.tare_offset for _t, n in samples],
                                [int(round(t * 1000)) for t, _n in samples]))

    def emit_values(self, values):
        '''Notifications on the data characteristic, if anyone listens; returns how many went out.'''
        path = self.chars.get('data')
        if path is None or self.stalled:
            return 0
        if path in self.acquired:
            ours = self.acquired[path][0]
            sent = 0
            for value in values:
                before_send()
                try:
                    ours.send(bytes(value))
                    sent += 1
                except BlockingIOError:
                    pass   # the client does not read: bluetoothd drops the notification too
                except OSError:
                    self.release_acquired(path)
                    break
            return sent
        if not mockobject.objects[path].props[CHAR_IFACE]['Notifying'] or not self.sessions.get(path):
            return 0
        for value in values:
            _emit_changed(path, CHAR_IFACE, {'Value': dbus.Array([dbus.Byte(b) for b in value], signature='y',
                                                                 variant_level=1)})
        return len(values)

    # -- traces --
    def stop_timer(self):
        if self.trace_timer is not None:
            GLib.source_remove(self.trace_timer)
            self.trace_timer = None

    def start_trace(self):
        self.stop_timer()
        if self.trace_pos >= len(self.trace):
            return
        # resume where the stream stopped, keeping the trace's own spacing
        self.trace_t0 = GLib.get_monotonic_time() / 1000.0 - self.trace[self.trace_pos][0]
        self.schedule_next()

    def schedule_next(self):
        if self.trace_pos >= len(self.trace):
            self.trace_timer = None
            _root().EmitSignal(SIM_IFACE, 'TraceFinished', 'su', [self.address, dbus.UInt32(len(self.trace))])
            return
        now = GLib.get_monotonic_time() / 1000.0
        due = self.trace_t0 + self.trace[self.trace_pos][0]
        self.trace_timer = GLib.timeout_add(max(0, int(round(due - now))), self.tick)

    def tick(self):
        self.trace_timer = None
        t_ms, force_n = self.trace[self.trace_pos]
        if self.spec['connectable']:
            if not (self.streaming and self.connected):
                return False
            self.notify([(t_ms, force_n)])
        elif self.spec['company'] is not None:
            if not self.adapter.discovering:
                self.trace_t0 = None
                return False
            self.advertise(mfr={self.spec['company']: _encode.ENCODERS[self.kind][0]([force_n])[0]})
        self.trace_pos += 1
        self.schedule_next()
        return False


def _tool(address):
    try:
        return tools[address.upper()]
    except KeyError:
        raise _error(SIM_IFACE + '.Error', f'no tool {address}') from None


def _adapter(name):
    try:
        return adapters[name]
    except KeyError:
        raise _error(SIM_IFACE + '.Error', f'no adapter {name}') from None


def _read_csv(path):
    rows = []
    with open(path, newline='', encoding='utf-8') as f:
        for row in csv.reader(f):
            if not row or row[0].strip().startswith('#'):
                continue
            try:
                rows.append((float(row[0]), float(row[1])))
            except ValueError:
                continue   # header line
    return rows


# ---- control API (org.tphub.BlueZSim1 on /) ----

@dbus.service.method(SIM_IFACE, in_signature='s', out_signature='o')
def AddAdapter(_self, name):
    '''A new adapter, or one removed before coming back (its tools are in range again).'''
    if name in adapters:
        if adapters[name].present:
            raise _error(SIM_IFACE + '.Error', f'adapter {name} exists')
        adapters[name].create()
    else:
        adapters[name] = Adapter(name)
    return dbus.ObjectPath(adapters[name].path)


@dbus.service.method(SIM_IFACE, in_signature='s', out_signature='')
def RemoveAdapter(_self, name):
    '''The adapter disappears with all its devices (InterfacesRemoved for each).'''
    adapter = _adapter(name)
    if not adapter.present:
        raise _error(SIM_IFACE + '.Error', f'adapter {name} already removed')
    adapter.remove()


@dbus.service.method(SIM_IFACE, in_signature='ssssa{sv}', out_signature='o')
def AddTool(_self, adapter, address, kind, name, opts):
    '''Puts a device in radio range. Its Device1 object appears once discovery runs.
    opts: rssi (n), connect_delay_ms, resolve_delay_ms (u), early_value (b: a notification
    during StartNotify, before its reply), silent_connected (b: Connected is set but never
    signalled, as bluetoothd 5.66 can), battery (y), advert_interval_ms (u), refuse_acquire
    (b: AcquireNotify answers NotSupported), mtu (q: what AcquireNotify reports, 247).'''
    tool = Tool(_adapter(adapter), address, kind, name, opts)
    if tool.address in tools:
        raise _error(SIM_IFACE + '.Error', f'tool {address} exists')
    tools[tool.address] = tool
    tool.discover()
    return dbus.ObjectPath(tool.path)


@dbus.service.method(SIM_IFACE, in_signature='sas', out_signature='')
def SetConnectScript(_self, address, outcomes):
    '''Outcomes of the next Connect calls, in order: ok, abort (Failed
    "le-connection-abort-by-local"), failed (Failed), inprogress (InProgress), timeout (no reply).'''
    for o in outcomes:
        if o not in ('ok', 'abort', 'failed', 'inprogress', 'timeout'):
            raise _error(SIM_IFACE + '.Error', f'bad outcome {o}')
    _tool(address).script = [str(o) for o in outcomes]


@dbus.service.method(SIM_IFACE, in_signature='sa(dd)', out_signature='')
def SetTrace(_self, address, samples):
    '''Force trace as (t_ms, force_n) rows. Streams after the start command (progressor) or
    as advertisements while discovery runs (whc06). Position is kept across reconnects.'''
    tool = _tool(address)
    tool.trace = [(float(t), float(n)) for t, n in samples]
    tool.trace_pos = 0
    tool.trace_t0 = None
    if tool.spec['connectable'] and tool.streaming and tool.connected:
        tool.start_trace()   # a streaming tool goes straight on with the new trace


@dbus.service.method(SIM_IFACE, in_signature='ss', out_signature='')
def LoadTraceCsv(_self, address, path):
    '''As SetTrace, from a CSV file "t_ms,force_n[,switch]" (tphub-replay's format).'''
    SetTrace(_self, address, _read_csv(path))


@dbus.service.method(SIM_IFACE, in_signature='s', out_signature='')
def DropLink(_self, address):
    '''The device goes away from the link side (supervision timeout, power-off).'''
    _tool(address).drop_link(reply_pending=True)


@dbus.service.method(SIM_IFACE, in_signature='sb', out_signature='')
def SetStalled(_self, address, stalled):
    '''While stalled the link stays up but no notification is sent (the trace still runs).'''
    _tool(address).stalled = bool(stalled)


@dbus.service.method(SIM_IFACE, in_signature='s', out_signature='b')
def CloseNotifySocket(_self, address):
    '''bluetoothd closes the AcquireNotify socket of the data characteristic while the link
    stays up; false if none was held.'''
    tool = _tool(address)
    path = tool.chars.get('data')
    if path not in tool.acquired:
        return False
    tool.release_acquired(path)
    return True


@dbus.service.method(SIM_IFACE, in_signature='sb', out_signature='')
def SetRefuseAcquire(_self, address, refuse):
    '''From now on AcquireNotify answers NotSupported (true) or works (false).'''
    _tool(address).refuse_acquire = bool(refuse)


@dbus.service.method(SIM_IFACE, in_signature='sb', out_signature='')
def SetInRange(_self, address, in_range):
    tool = _tool(address)
    tool.in_range = bool(in_range)
    if not in_range:
        tool.remove()
    else:
        tool.discover()


@dbus.service.method(SIM_IFACE, in_signature='sn', out_signature='')
def SetRssi(_self, address, rssi):
    _tool(address).set_rssi(int(rssi))


@dbus.service.method(SIM_IFACE, in_signature='sa{qay}a{say}', out_signature='')
def Advertise(_self, address, mfr, svc):
    '''One advertisement with this manufacturer data / service data (empty dict: unchanged).'''
    _tool(address).advertise({int(k): bytes(v) for k, v in mfr.items()} if mfr else None,
                             {str(k): bytes(v) for k, v in svc.items()} if svc else None)


@dbus.service.method(SIM_IFACE, in_signature='sb', out_signature='')
def SetPowered(_self, adapter, powered):
    '''Power changed from outside (rfkill, controller reset).'''
    _adapter(adapter).set_powered(bool(powered))


@dbus.service.method(SIM_IFACE, in_signature='s', out_signature='aay')
def GetWrites(_self, address):
    return [dbus.ByteArray(w) for w in _tool(address).writes]


@dbus.service.method(SIM_IFACE, in_signature='s', out_signature='a{sv}')
def GetToolState(_self, address):
    tool = _tool(address)
    return {
        'connected': dbus.Boolean(tool.connected, variant_level=1),
        'exists': dbus.Boolean(tool.exists(), variant_level=1),
        'streaming': dbus.Boolean(tool.streaming, variant_level=1),
        'trace_pos': dbus.UInt32(tool.trace_pos, variant_level=1),
        'acquired': dbus.Boolean(tool.chars.get('data') in tool.acquired, variant_level=1),
        'early_dropped': dbus.UInt32(tool.early_dropped, variant_level=1),
    }


def load(mock, parameters):
    global ROOT  # pylint: disable=global-statement
    ROOT = mock
    mock.AddObject('/org/bluez', 'org.bluez.AgentManager1', {}, [
        ('RegisterAgent', 'os', '', ''),
        ('RequestDefaultAgent', 'o', '', ''),
        ('UnregisterAgent', 'o', '', ''),
    ])
    for name in parameters.get('adapters', []):
        adapters[name] = Adapter(name)
