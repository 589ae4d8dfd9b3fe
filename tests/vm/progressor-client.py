#!/usr/bin/python3
"""Minimal Progressor central for the VM smoke test (through real bluetoothd).

Discovers the peripheral by name on one adapter, connects, enables
notifications on the data characteristic, asks for the battery voltage, starts
the weight stream and checks every decoded sample against the CSV trace the
peripheral streams: kg == float32(force_n / 9.80665) and the microsecond
timestamp, in order, exactly. Exits 0 on success, 1 with a reason otherwise.
"""

import argparse
import struct
import sys
import time

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from importlib import import_module  # noqa: E402

peripheral = import_module("progressor-peripheral")

BLUEZ = "org.bluez"
OM_IFACE = "org.freedesktop.DBus.ObjectManager"
PROP_IFACE = "org.freedesktop.DBus.Properties"


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


class Client:
    def __init__(self, args):
        self.args = args
        self.trace = peripheral.load_trace(args.trace)
        self.bus = dbus.SystemBus()
        self.om = dbus.Interface(self.bus.get_object(BLUEZ, "/"), OM_IFACE)
        self.adapter_path = f"/org/bluez/{args.adapter}"
        self.adapter = dbus.Interface(self.bus.get_object(BLUEZ, self.adapter_path), "org.bluez.Adapter1")
        self.loop = GLib.MainLoop()
        self.rc = 1
        self.t0 = time.monotonic()
        self.device_path = None
        self.data_path = None
        self.ctrl_path = None
        self.state = "discover"
        self.samples = []
        self.notifications = 0
        self.battery_mv = None

    def ms(self):
        return int((time.monotonic() - self.t0) * 1000)

    def log(self, msg):
        print(f"client +{self.ms()}ms: {msg}", flush=True)

    def fail(self, msg):
        self.log(f"FAIL: {msg}")
        self.rc = 1
        self.loop.quit()

    def error_handler(self, what):
        return lambda e: self.fail(f"{what}: {e}")

    # --- discovery and connection -------------------------------------
    def is_ours(self, path, props):
        if not path.startswith(self.adapter_path + "/"):
            return False
        name = props.get("Name", props.get("Alias"))
        return name == self.args.name

    def on_interfaces_added(self, path, ifaces):
        dev = ifaces.get("org.bluez.Device1")
        if self.state == "discover" and dev is not None and self.is_ours(path, dev):
            self.found(path)

    def on_properties_changed(self, iface, changed, invalidated, path=None):
        if iface == "org.bluez.Device1" and path == self.device_path:
            if changed.get("ServicesResolved") and self.state == "connect":
                self.resolved()
            elif "Connected" in changed and not changed["Connected"] and self.state != "done":
                self.fail("device disconnected")
        elif iface == "org.bluez.Device1" and self.state == "discover" and "Name" in changed:
            props = self.bus.get_object(BLUEZ, path).GetAll(
                "org.bluez.Device1", dbus_interface=PROP_IFACE)
            if self.is_ours(path, props):
                self.found(path)
        elif iface == "org.bluez.GattCharacteristic1" and path == self.data_path and "Value" in changed:
            self.on_notification(bytes(changed["Value"]))

    def start(self):
        self.bus.add_signal_receiver(self.on_interfaces_added, "InterfacesAdded", OM_IFACE, BLUEZ)
        self.bus.add_signal_receiver(self.on_properties_changed, "PropertiesChanged", PROP_IFACE,
                                     BLUEZ, path_keyword="path")
        for path, ifaces in self.om.GetManagedObjects().items():
            dev = ifaces.get("org.bluez.Device1")
            if dev is not None and self.is_ours(path, dev):
                self.found(path)
                return
        self.adapter.SetDiscoveryFilter({"Transport": "le"})
        self.adapter.StartDiscovery()
        self.log("discovering")
        self.wait_discovering()

    def wait_discovering(self):
        # Tell the caller when the kernel really scans: an advertisement that
        # arrives while discovery is still starting is dropped, and the
        # controller's duplicate filter then hides it until the next scan
        # cycle (10.24 s later).
        props = self.bus.get_object(BLUEZ, self.adapter_path)
        if self.state != "discover":
            return False
        if not props.Get("org.bluez.Adapter1", "Discovering", dbus_interface=PROP_IFACE):
            GLib.timeout_add(20, self.wait_discovering)
            return False
        self.log("scanning")
        if self.args.discovering_file:
            with open(self.args.discovering_file, "w") as f:
                f.write("discovering\n")
        return False

    def found(self, path):
        self.state = "connect"
        self.device_path = path
        self.log(f"found {self.args.name} at {path}")
        try:
            self.adapter.StopDiscovery()
        except dbus.DBusException:
            pass
        dev = dbus.Interface(self.bus.get_object(BLUEZ, path), "org.bluez.Device1")
        dev.Connect(reply_handler=lambda: self.log("connected"),
                    error_handler=self.error_handler("Connect"), timeout=30)

    def resolved(self):
        self.log("services resolved")
        for path, ifaces in self.om.GetManagedObjects().items():
            ch = ifaces.get("org.bluez.GattCharacteristic1")
            if ch is None or not path.startswith(self.device_path + "/"):
                continue
            if ch["UUID"] == peripheral.DATA_UUID:
                self.data_path = path
            elif ch["UUID"] == peripheral.CTRL_UUID:
                self.ctrl_path = path
        if not self.data_path or not self.ctrl_path:
            self.fail("Progressor characteristics not found")
            return
        self.state = "battery"
        self.chrc(self.data_path).StartNotify(
            reply_handler=lambda: self.write(peripheral.CMD_BATTERY),
            error_handler=self.error_handler("StartNotify"))

    # --- protocol ----------------------------------------------------------
    def chrc(self, path):
        return dbus.Interface(self.bus.get_object(BLUEZ, path), "org.bluez.GattCharacteristic1")

    def write(self, op, then=None):
        self.log(f"write 0x{op:02x}")
        self.chrc(self.ctrl_path).WriteValue(
            dbus.Array([dbus.Byte(op)], signature="y"), {},
            reply_handler=then or (lambda: None),
            error_handler=self.error_handler(f"WriteValue 0x{op:02x}"))

    def on_notification(self, frame):
        if self.state == "done":
            return  # frames already in flight when stop was sent
        if len(frame) < 2 or frame[1] != len(frame) - 2:
            self.fail(f"malformed frame {frame.hex()}")
            return
        if frame[0] == peripheral.FRAME_RESPONSE and self.state == "battery":
            (self.battery_mv,) = struct.unpack("<I", frame[2:6])
            self.log(f"battery {self.battery_mv} mV")
            self.state = "stream"
            self.write(peripheral.CMD_START)
            return
        if frame[0] != peripheral.FRAME_WEIGHT or self.state != "stream":
            self.fail(f"unexpected frame {frame.hex()} in state {self.state}")
            return
        if (len(frame) - 2) % 8:
            self.fail(f"weight frame length {len(frame)}")
            return
        self.notifications += 1
        if self.notifications == 1:
            self.log("first weight notification")
        for off in range(2, len(frame), 8):
            self.samples.append(struct.unpack("<fI", frame[off:off + 8]))
        if len(self.samples) >= self.args.samples and self.notifications >= self.args.min_notifications:
            self.state = "done"
            self.write(peripheral.CMD_STOP, then=self.check)

    def check(self):
        if self.battery_mv != self.args.battery_mv:
            self.fail(f"battery {self.battery_mv} mV, expected {self.args.battery_mv}")
            return
        for i, (kg, t_us) in enumerate(self.samples):
            if i >= len(self.trace):
                self.fail(f"more samples ({len(self.samples)}) than the trace has")
                return
            want_t, want_kg = self.trace[i]
            if kg != f32(want_kg) or t_us != want_t:
                self.fail(f"sample {i}: got ({kg!r} kg, {t_us} us), want ({f32(want_kg)!r} kg, {want_t} us)")
                return
        self.log(f"OK: {len(self.samples)} samples in {self.notifications} notifications match the trace")
        self.rc = 0
        self.loop.quit()

    def run(self):
        GLib.timeout_add_seconds(self.args.timeout, lambda: self.fail("timeout") or False)
        GLib.idle_add(lambda: self.start() or False)
        self.loop.run()
        return self.rc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trace", required=True)
    ap.add_argument("--adapter", default="hci0")
    ap.add_argument("--name", default="Progressor_VM")
    ap.add_argument("--battery-mv", type=int, default=3987)
    ap.add_argument("--samples", type=int, default=40, help="samples to receive and check")
    ap.add_argument("--min-notifications", type=int, default=10)
    ap.add_argument("--timeout", type=int, default=60)
    ap.add_argument("--discovering-file", help="written once the adapter scans")
    args = ap.parse_args()
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    return Client(args).run()


if __name__ == "__main__":
    sys.exit(main())
