#!/usr/bin/python3
"""Tindeq Progressor-compatible BLE peripheral for the tphub VM test lab.

Registers a GATT application and an LE advertisement with bluetoothd on one
adapter (default hci1) and answers the Progressor control point the way the
real device does (docs/ble-drivers.md, Progressor):

  0x65 start   stream weight frames from the CSV trace (t_ms,force_n), paced
               by the trace's own clock
  0x66 stop    stop streaming
  0x64 tare    while streaming: later samples are relative to the last one
  0x6F battery response frame (type 0) with uint32 LE millivolts
  0x6B version response frame (type 0) with an ASCII firmware version

Weight frame: [0x01][len][float32 LE kg][uint32 LE us since start]...,
kg = N / 9.80665. At most --max-per-frame samples go into one notification
(2 fit the default 23-byte ATT MTU); samples fall due on the trace clock, so
a late tick sends what is due in one frame, as the real device does.

Prints one line per event on stdout ("ready", "ctrl 0x65", "notify-on",
"stream-end N") so a test can follow it; --ready-file is written once the
advertisement is registered.
"""

import argparse
import csv
import signal
import struct
import sys
import time

import dbus
import dbus.exceptions
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

BLUEZ = "org.bluez"
OM_IFACE = "org.freedesktop.DBus.ObjectManager"
PROP_IFACE = "org.freedesktop.DBus.Properties"
GATT_MANAGER_IFACE = "org.bluez.GattManager1"
ADV_MANAGER_IFACE = "org.bluez.LEAdvertisingManager1"
SERVICE_IFACE = "org.bluez.GattService1"
CHRC_IFACE = "org.bluez.GattCharacteristic1"
ADV_IFACE = "org.bluez.LEAdvertisement1"

SERVICE_UUID = "7e4e1701-1ea6-40c9-9dcc-13d34ffead57"
DATA_UUID = "7e4e1702-1ea6-40c9-9dcc-13d34ffead57"
CTRL_UUID = "7e4e1703-1ea6-40c9-9dcc-13d34ffead57"

CMD_TARE = 0x64
CMD_START = 0x65
CMD_STOP = 0x66
CMD_VERSION = 0x6B
CMD_BATTERY = 0x6F

FRAME_RESPONSE = 0x00
FRAME_WEIGHT = 0x01

STANDARD_GRAVITY = 9.80665
APP_PATH = "/org/tphub/progressor"


def say(*args):
    print(*args, flush=True)


def load_trace(path):
    """[(t_us, kg)] from a CSV with columns t_ms,force_n (header optional)."""
    out = []
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if not row or row[0].strip().startswith("#"):
                continue
            try:
                t_ms, force_n = float(row[0]), float(row[1])
            except ValueError:
                if not out:
                    continue  # header line
                raise
            out.append((round(t_ms * 1000), force_n / STANDARD_GRAVITY))
    if not out:
        raise SystemExit(f"{path}: no samples")
    return out


class InvalidArgs(dbus.exceptions.DBusException):
    _dbus_error_name = "org.bluez.Error.InvalidArguments"


class NotSupported(dbus.exceptions.DBusException):
    _dbus_error_name = "org.bluez.Error.NotSupported"


class Characteristic(dbus.service.Object):
    def __init__(self, bus, path, uuid, flags, service_path):
        super().__init__(bus, path)
        self.path = path
        self.uuid = uuid
        self.flags = flags
        self.service_path = service_path
        self.value = dbus.Array([], signature="y")

    def props(self):
        return {
            "Service": dbus.ObjectPath(self.service_path),
            "UUID": self.uuid,
            "Flags": dbus.Array(self.flags, signature="s"),
        }

    @dbus.service.method(PROP_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        if interface != CHRC_IFACE:
            raise InvalidArgs()
        return self.props()

    @dbus.service.method(CHRC_IFACE, in_signature="a{sv}", out_signature="ay")
    def ReadValue(self, options):
        raise NotSupported()

    @dbus.service.method(CHRC_IFACE, in_signature="aya{sv}")
    def WriteValue(self, value, options):
        raise NotSupported()

    @dbus.service.method(CHRC_IFACE)
    def StartNotify(self):
        raise NotSupported()

    @dbus.service.method(CHRC_IFACE)
    def StopNotify(self):
        raise NotSupported()

    @dbus.service.signal(PROP_IFACE, signature="sa{sv}as")
    def PropertiesChanged(self, interface, changed, invalidated):
        pass


class DataCharacteristic(Characteristic):
    def __init__(self, bus, path, service_path):
        super().__init__(bus, path, DATA_UUID, ["notify"], service_path)
        self.notifying = False
        self.sent = 0

    @dbus.service.method(CHRC_IFACE)
    def StartNotify(self):
        self.notifying = True
        say("notify-on")

    @dbus.service.method(CHRC_IFACE)
    def StopNotify(self):
        self.notifying = False
        say("notify-off")

    def notify(self, frame):
        if not self.notifying:
            return False
        self.value = dbus.Array([dbus.Byte(b) for b in frame], signature="y")
        self.PropertiesChanged(CHRC_IFACE, {"Value": self.value}, [])
        self.sent += 1
        return True


class ControlCharacteristic(Characteristic):
    def __init__(self, bus, path, service_path, device):
        super().__init__(bus, path, CTRL_UUID, ["write", "write-without-response"], service_path)
        self.device = device

    @dbus.service.method(CHRC_IFACE, in_signature="aya{sv}")
    def WriteValue(self, value, options):
        if len(value) < 1:
            raise InvalidArgs()
        self.device.command(int(value[0]), bytes(value[1:]))


class Service(dbus.service.Object):
    def __init__(self, bus, path):
        super().__init__(bus, path)
        self.path = path

    def props(self):
        return {"UUID": SERVICE_UUID, "Primary": dbus.Boolean(True)}

    @dbus.service.method(PROP_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        if interface != SERVICE_IFACE:
            raise InvalidArgs()
        return self.props()


class Application(dbus.service.Object):
    def __init__(self, bus, objects):
        super().__init__(bus, APP_PATH)
        self.objects = objects

    @dbus.service.method(OM_IFACE, out_signature="a{oa{sa{sv}}}")
    def GetManagedObjects(self):
        out = {}
        for obj in self.objects:
            iface = SERVICE_IFACE if isinstance(obj, Service) else CHRC_IFACE
            out[dbus.ObjectPath(obj.path)] = {iface: obj.props()}
        return out


class Advertisement(dbus.service.Object):
    def __init__(self, bus, path, name):
        super().__init__(bus, path)
        self.path = path
        self.name = name

    @dbus.service.method(PROP_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        if interface != ADV_IFACE:
            raise InvalidArgs()
        return {
            "Type": "peripheral",
            "ServiceUUIDs": dbus.Array([SERVICE_UUID], signature="s"),
            "LocalName": dbus.String(self.name),
        }

    @dbus.service.method(ADV_IFACE)
    def Release(self):
        say("adv-released")


class Progressor:
    """The device's behaviour: command handling and trace streaming."""

    def __init__(self, trace, battery_mv, max_per_frame, data):
        self.trace = trace
        self.battery_mv = battery_mv
        self.max_per_frame = max_per_frame
        self.data = data
        self.streaming = False
        self.start = 0.0
        self.next = 0
        self.tare_kg = 0.0
        self.last_kg = 0.0
        self.timer = None

    def command(self, op, payload):
        say(f"ctrl 0x{op:02x}")
        if op == CMD_START:
            self.start_stream()
        elif op == CMD_STOP:
            self.stop_stream()
        elif op == CMD_TARE:
            if self.streaming:
                self.tare_kg = self.last_kg
        elif op == CMD_BATTERY:
            self.data.notify(bytes([FRAME_RESPONSE, 4]) + struct.pack("<I", self.battery_mv))
        elif op == CMD_VERSION:
            version = b"1.2.3-vm"
            self.data.notify(bytes([FRAME_RESPONSE, len(version)]) + version)
        # other opcodes: the real device ignores what it does not know

    def start_stream(self):
        self.stop_stream()
        self.streaming = True
        self.start = time.monotonic()
        self.next = 0
        self.tare_kg = 0.0
        self.timer = GLib.timeout_add(5, self.tick)

    def stop_stream(self):
        self.streaming = False
        if self.timer is not None:
            GLib.source_remove(self.timer)
            self.timer = None

    def tick(self):
        now_us = (time.monotonic() - self.start) * 1e6
        while self.next < len(self.trace) and self.trace[self.next][0] <= now_us:
            frame = bytearray([FRAME_WEIGHT, 0])
            n = 0
            while (n < self.max_per_frame and self.next < len(self.trace)
                   and self.trace[self.next][0] <= now_us):
                t_us, kg = self.trace[self.next]
                self.last_kg = kg
                frame += struct.pack("<fI", kg - self.tare_kg, t_us)
                self.next += 1
                n += 1
            frame[1] = len(frame) - 2
            self.data.notify(bytes(frame))
        if self.next >= len(self.trace):
            say(f"stream-end {self.data.sent}")
            self.timer = None
            self.streaming = False
            return False
        return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trace", required=True, help="CSV t_ms,force_n")
    ap.add_argument("--adapter", default="hci1")
    ap.add_argument("--name", default="Progressor_VM")
    ap.add_argument("--battery-mv", type=int, default=3987)
    ap.add_argument("--max-per-frame", type=int, default=2)
    ap.add_argument("--ready-file")
    ap.add_argument("--keep-alias", action="store_true", help="do not set the adapter alias to --name")
    args = ap.parse_args()

    trace = load_trace(args.trace)
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    adapter = bus.get_object(BLUEZ, f"/org/bluez/{args.adapter}")

    service = Service(bus, APP_PATH + "/service0")
    data = DataCharacteristic(bus, service.path + "/char0", service.path)
    device = Progressor(trace, args.battery_mv, args.max_per_frame, data)
    ctrl = ControlCharacteristic(bus, service.path + "/char1", service.path, device)
    app = Application(bus, [service, data, ctrl])
    adv = Advertisement(bus, APP_PATH + "/adv0", args.name)

    if not args.keep_alias:
        # The GAP Device Name that centrals read after connecting is the
        # adapter's alias: make it the advertised name, as on the real device.
        adapter.Set("org.bluez.Adapter1", "Alias", dbus.String(args.name), dbus_interface=PROP_IFACE)

    loop = GLib.MainLoop()
    status = {"rc": 0, "pending": 2}

    def fail(what):
        def handler(error):
            say(f"error {what}: {error}")
            status["rc"] = 1
            loop.quit()
        return handler

    def registered(what):
        def handler():
            say(f"registered {what}")
            status["pending"] -= 1
            if status["pending"] == 0:
                if args.ready_file:
                    with open(args.ready_file, "w") as f:
                        f.write("ready\n")
                say("ready")
        return handler

    dbus.Interface(adapter, GATT_MANAGER_IFACE).RegisterApplication(
        app.__dbus_object_path__, {},
        reply_handler=registered("application"), error_handler=fail("RegisterApplication"))
    dbus.Interface(adapter, ADV_MANAGER_IFACE).RegisterAdvertisement(
        adv.path, {},
        reply_handler=registered("advertisement"), error_handler=fail("RegisterAdvertisement"))

    for sig in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    loop.run()
    return status["rc"]


if __name__ == "__main__":
    sys.exit(main())
