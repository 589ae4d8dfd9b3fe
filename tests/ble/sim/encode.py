#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Encoders from newtons to each force tool's bytes: the contract between tphub's C
decoders (daemon/ble/drivers/) and the BLE simulator. docs/ble-drivers.md describes it.

Every encode_<driver>(newtons_list, t_us_list) returns the notification payloads (bytes) a
device would send for those samples, in order. t_us_list is only used by devices that carry
their own clock (progressor); pass None or [] otherwise. decoded_<driver>(newtons_list)
returns the newtons those payloads represent after the device's quantisation and range
limits (what tphub's decoder must report, to 1e-9 relative). encode_whc06_adv(newtons)
returns one advertisement's manufacturer data without the company id (0x0100).

Stream devices (cts500, activ5) concatenate their frames and cut the stream into chunks of
at most `chunk` bytes (default 20, the payload of a default 23-byte ATT MTU), so frames are
split across notifications the way the radio does it.

Python 3 standard library only. Run as a script with --vectors to print the test vectors
tests/ble/drivers/test-encode-vectors.c decodes.
"""

import math
import struct
import sys

KG_TO_N = 9.80665
LBF_TO_N = 4.4482216152605

DEFAULT_CHUNK = 20


def _base(uuid16):
    return "0000%s-0000-1000-8000-00805f9b34fb" % uuid16


# What the simulator needs to look like each device. Commands are the bytes tphub writes.
DEVICES = {
    "progressor": {
        "name": "Progressor", "service": "7e4e1701-1ea6-40c9-9dcc-13d34ffead57",
        "notify": "7e4e1702-1ea6-40c9-9dcc-13d34ffead57",
        "write": "7e4e1703-1ea6-40c9-9dcc-13d34ffead57",
        "commands": {"start": b"\x65", "stop": b"\x66", "tare": b"\x64", "battery": b"\x6f"},
    },
    "forceboard": {
        "name": "Force Board", "service": "9a88d67f-8df2-4afe-9e0d-c2bbbe773dd0",
        "notify": "9a88d682-8df2-4afe-9e0d-c2bbbe773dd0",
        "write_service": "467a8516-6e39-11eb-9439-0242ac130002",
        "write": "467a8517-6e39-11eb-9439-0242ac130002",
        "battery": _base("2a19"),
        "commands": {"start": b"\x04", "stop": b"\x07", "tare": b"\x05"},
    },
    "entralpi": {
        "name": "ENTRALPI", "service": _base("181d"), "notify": _base("fff1"),
        "battery": _base("2a19"), "commands": {},
    },
    "whc06": {"name": "IF_B7", "company_id": 0x0100, "commands": {}},
    "cts500": {
        "name": "CTS500", "service": _base("ffe0"), "notify": _base("ffe1"),
        "write": _base("ffe2"),
        "commands": {"start": bytes.fromhex("05aa000000af"), "stop": bytes.fromhex("05ab000000b0"),
                     "tare": bytes.fromhex("05a6000000ab"), "battery": bytes.fromhex("05c4000000c9")},
    },
    "linescale": {
        "name": None, "service": _base("1000"), "notify": _base("1002"), "write": _base("1001"),
        "commands": {"start": b"A\r\n\x58", "stop": b"E\r\n\x5c"},
    },
    "activ5": {
        "name": None, "service": _base("5000"), "notify": _base("5a01"), "write": _base("5a02"),
        "commands": {"init": b"ATVGTIME\x19", "start": b"AISOM!\x19", "stop": b"ASTOP!\x19",
                     "tare": b"ATARE!\x19"},
    },
    "imd-force": {
        "name": None, "service": _base("185a"), "notify": _base("2c07"), "commands": {},
    },
}


def sum8(data):
    return sum(data) & 0xFF


def _chunks(stream, chunk):
    if chunk < 1:
        raise ValueError("chunk must be >= 1")
    return [bytes(stream[i:i + chunk]) for i in range(0, len(stream), chunk)]


def _clamp(v, lo, hi):
    return lo if v < lo else hi if v > hi else v


def _round(x):
    # Half away from zero, the same in every encoder (Python's round() is half-even).
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def _check(newtons):
    for n in newtons:
        if not math.isfinite(n):
            raise ValueError("newtons must be finite")


# --- Tindeq Progressor: [1][len][float32 LE kg, uint32 LE us]..., 2 samples a notification

PROGRESSOR_PER_NOTIFICATION = 2


def _progressor_kg(n):
    return struct.unpack("<f", struct.pack("<f", n / KG_TO_N))[0]


def encode_progressor(newtons, t_us):
    _check(newtons)
    if t_us is None or len(t_us) != len(newtons):
        raise ValueError("progressor needs one timestamp per sample")
    out = []
    for i in range(0, len(newtons), PROGRESSOR_PER_NOTIFICATION):
        payload = b"".join(struct.pack("<fI", n / KG_TO_N, t % (1 << 32))
                           for n, t in zip(newtons[i:i + PROGRESSOR_PER_NOTIFICATION],
                                           t_us[i:i + PROGRESSOR_PER_NOTIFICATION]))
        out.append(bytes([1, len(payload)]) + payload)
    return out


def decoded_progressor(newtons):
    return [_progressor_kg(n) * KG_TO_N for n in newtons]


def encode_progressor_battery(mv):
    return [bytes([0, 4]) + struct.pack("<I", mv)]


def encode_progressor_low_power():
    return [bytes([4, 0])]


# --- PitchSix Force Board: u16 BE count + 24-bit BE two's complement lbf, 6 a notification

FORCEBOARD_PER_NOTIFICATION = 6


def _forceboard_raw(n):
    return _clamp(_round(n / LBF_TO_N), -65536, 65535)


def encode_forceboard(newtons, t_us=None):
    _check(newtons)
    out = []
    for i in range(0, len(newtons), FORCEBOARD_PER_NOTIFICATION):
        part = newtons[i:i + FORCEBOARD_PER_NOTIFICATION]
        payload = struct.pack(">H", len(part))
        for n in part:
            payload += (_forceboard_raw(n) & 0xFFFFFF).to_bytes(3, "big")
        out.append(payload)
    return out


def decoded_forceboard(newtons):
    return [_forceboard_raw(n) * LBF_TO_N for n in newtons]


# --- Entralpi: uint16 BE 1/100 kg, one a notification (cannot go below zero)

def _entralpi_raw(n):
    return _clamp(_round(n / KG_TO_N * 100), 0, 0xFFFF)


def encode_entralpi(newtons, t_us=None):
    _check(newtons)
    return [struct.pack(">H", _entralpi_raw(n)) for n in newtons]


def decoded_entralpi(newtons):
    return [_entralpi_raw(n) / 100 * KG_TO_N for n in newtons]


# --- WH-C06: manufacturer data (company 0x0100 stripped), int16 BE 1/100 unit at 10..11,
# byte 14 = stable << 4 | unit (1 kg, 2 lb, 3 st, 4 jin)

WHC06_UNITS = {"kg": (1, KG_TO_N), "lb": (2, LBF_TO_N), "st": (3, 14 * LBF_TO_N),
               "jin": (4, 0.5 * KG_TO_N)}
WHC06_LEN = 15


def _whc06_raw(n, unit):
    return _clamp(_round(n / WHC06_UNITS[unit][1] * 100), -32768, 32767)


def encode_whc06_adv(newtons, unit="kg", stable=True):
    _check([newtons])
    data = bytearray(WHC06_LEN)
    data[10:12] = struct.pack(">h", _whc06_raw(newtons, unit))
    data[14] = (0x10 if stable else 0) | WHC06_UNITS[unit][0]
    return bytes(data)


def encode_whc06(newtons, t_us=None, unit="kg"):
    return [encode_whc06_adv(n, unit) for n in newtons]


def decoded_whc06(newtons, unit="kg"):
    return [_whc06_raw(n, unit) / 100 * WHC06_UNITS[unit][1] for n in newtons]


# --- CTS500: 05 00 int32 BE 1/100 kg sum8, as a byte stream cut into <= chunk bytes

def _cts500_raw(n):
    return _clamp(_round(n / KG_TO_N * 100), -(1 << 31), (1 << 31) - 1)


def cts500_frame(n):
    f = bytes([0x05, 0x00]) + struct.pack(">i", _cts500_raw(n))
    return f + bytes([sum8(f)])


def cts500_battery_frame(mv):
    f = bytes([0x05, 0x80, 0xC4, 0x00]) + struct.pack(">H", mv // 10)
    return f + bytes([sum8(f)])


def encode_cts500(newtons, t_us=None, chunk=DEFAULT_CHUNK):
    _check(newtons)
    return _chunks(b"".join(cts500_frame(n) for n in newtons), chunk)


def decoded_cts500(newtons):
    return [_cts500_raw(n) / 100 * KG_TO_N for n in newtons]


# --- LineScale 3: 20 ASCII bytes a notification

LINESCALE_UNITS = {"N": ("%6.3f", 1000.0), "G": ("%6.1f", KG_TO_N), "B": ("%6.1f", LBF_TO_N)}


def _linescale_text(n, unit):
    fmt, scale = LINESCALE_UNITS[unit]
    text = fmt % (n / scale)
    if len(text) != 6:
        raise ValueError("%r does not fit the 6-character field" % n)
    return text


def encode_linescale(newtons, t_us=None, unit="G", battery_percent=80):
    _check(newtons)
    if not 0 <= battery_percent <= 100:
        raise ValueError("battery_percent out of range")
    out = []
    for n in newtons:
        frame = ("M" + _linescale_text(n, unit) + "N" + "   0.0").encode("ascii")
        frame += bytes([0x20 + battery_percent // 2]) + unit.encode("ascii") + b"F" + b"   "
        assert len(frame) == 20
        out.append(frame)
    return out


def decoded_linescale(newtons, unit="G"):
    fmt, scale = LINESCALE_UNITS[unit]
    return [float(_linescale_text(n, unit)) * scale for n in newtons]


# --- Activ5: "IS<newtons, 1 decimal>/IS" as a byte stream cut into <= chunk bytes

def _activ5_text(n):
    return "%.1f" % n


def encode_activ5(newtons, t_us=None, chunk=DEFAULT_CHUNK):
    _check(newtons)
    stream = b"".join(("IS%s/IS" % _activ5_text(n)).encode("ascii") for n in newtons)
    return _chunks(stream, chunk)


def decoded_activ5(newtons):
    return [float(_activ5_text(n)) for n in newtons]


# --- SIG Industrial Measurement Device, Force 0x2C07: sint32 LE mN (0x7FFFFFFF = unknown)

def _imd_raw(n):
    return _clamp(_round(n * 1000), -(1 << 31), (1 << 31) - 2)


def encode_imd_force(newtons, t_us=None):
    _check(newtons)
    return [struct.pack("<i", _imd_raw(n)) for n in newtons]


def decoded_imd_force(newtons):
    return [_imd_raw(n) / 1000 for n in newtons]


ENCODERS = {
    "progressor": (encode_progressor, decoded_progressor),
    "forceboard": (encode_forceboard, decoded_forceboard),
    "entralpi": (encode_entralpi, decoded_entralpi),
    "whc06": (encode_whc06, decoded_whc06),
    "cts500": (encode_cts500, decoded_cts500),
    "linescale": (encode_linescale, decoded_linescale),
    "activ5": (encode_activ5, decoded_activ5),
    "imd-force": (encode_imd_force, decoded_imd_force),
}


def _print_vector(w, driver, label, chunks, expect):
    w("vector %s %s\n" % (driver, label))
    for c in chunks:
        w("chunk %s\n" % (c.hex() or "-"))
    for e in expect:
        w(" ".join(str(x) for x in e) + "\n")
    w("end\n")


def print_devices(w=sys.stdout.write):
    """What DEVICES says, for the C test to compare with the driver table:
    'device DRIVER FIELD VALUE' with FIELD name (hex of the UTF-8 name), service, notify,
    write, battery, company (hex) or cmd-<init|start|stop|tare|battery> (hex); '-' = none."""
    for driver, dev in DEVICES.items():
        name = dev.get("name")
        w("device %s name %s\n" % (driver, name.encode().hex() if name else "-"))
        for field in ("service", "notify", "write", "battery"):
            w("device %s %s %s\n" % (driver, field, dev.get(field) or "-"))
        w("device %s company %s\n" % (driver, "%04x" % dev["company_id"] if "company_id" in dev else "-"))
        for cmd in ("init", "start", "stop", "tare", "battery"):
            w("device %s cmd-%s %s\n" % (driver, cmd, dev["commands"].get(cmd, b"").hex() or "-"))


def print_vectors(w=sys.stdout.write):
    """Vectors for the C decoders: 'device ...' lines (see print_devices), then per vector
    'vector DRIVER LABEL', 'chunk HEX'..., the expected outputs in order ('sample NEWTONS
    TS|-', 'battery PERCENT MV', 'low_power'), 'end'."""
    print_devices(w)
    ramp = [0.0, 0.4, 1.5, 9.80665, 98.0665, 123.456, 250.3, 400.0, 612.25, 1000.0]
    signed = ramp + [-0.4, -12.7, -98.0665]
    for driver, (enc, dec) in ENCODERS.items():
        values = ramp if driver == "entralpi" else signed
        t_us = [12500 * i for i in range(len(values))]
        expect = [("sample", repr(n), t if driver == "progressor" else "-")
                  for n, t in zip(dec(values), t_us)]
        if driver == "linescale":
            expect.insert(1, ("battery", 80, -1))  # with the first frame
        _print_vector(w, driver, "ramp", enc(values, t_us), expect)

    # The device clock wraps at 2^32 us; the decoder unwraps it.
    t_us = [(1 << 32) - 25000, (1 << 32) - 12500, 1 << 32, (1 << 32) + 12500, (1 << 32) + 25000]
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    _print_vector(w, "progressor", "clock-wrap", encode_progressor(values, t_us),
                  [("sample", repr(n), t) for n, t in zip(decoded_progressor(values), t_us)])
    _print_vector(w, "progressor", "battery", encode_progressor_battery(3712),
                  [("battery", -1, 3712)])
    _print_vector(w, "progressor", "low-power", encode_progressor_low_power(), [("low_power",)])

    for unit in ("lb", "st", "jin"):
        values = [0.0, 55.5, 300.0, -20.0]
        _print_vector(w, "whc06", "unit-" + unit, encode_whc06(values, unit=unit),
                      [("sample", repr(n), "-") for n in decoded_whc06(values, unit=unit)])

    for unit in ("N", "B"):
        values = [0.0, 55.5, 300.0, -20.0]
        expect = [("sample", repr(n), "-") for n in decoded_linescale(values, unit=unit)]
        expect.insert(1, ("battery", 80, -1))
        _print_vector(w, "linescale", "unit-" + unit, encode_linescale(values, unit=unit), expect)
    # Battery is reported once, then again only when it changes.
    frames = encode_linescale([5.0, 6.0], battery_percent=64) + \
        encode_linescale([7.0], battery_percent=62)
    expect = decoded_linescale([5.0, 6.0, 7.0])
    _print_vector(w, "linescale", "battery", frames,
                  [("sample", repr(expect[0]), "-"), ("battery", 64, -1),
                   ("sample", repr(expect[1]), "-"),
                   ("sample", repr(expect[2]), "-"), ("battery", 62, -1)])

    # Frames cut into every chunk size, down to one byte a notification.
    for chunk in (1, 3, 7, 13):
        values = [1.0, 222.22, -3.3, 44.0]
        for driver in ("cts500", "activ5"):
            enc, dec = ENCODERS[driver]
            _print_vector(w, driver, "chunk-%d" % chunk, enc(values, chunk=chunk),
                          [("sample", repr(n), "-") for n in dec(values)])
    stream = cts500_frame(100.0) + cts500_battery_frame(3870) + cts500_frame(5.0)
    _print_vector(w, "cts500", "battery", _chunks(stream, 20),
                  [("sample", repr(decoded_cts500([100.0])[0]), "-"), ("battery", -1, 3870),
                   ("sample", repr(decoded_cts500([5.0])[0]), "-")])


if __name__ == "__main__":
    if sys.argv[1:] == ["--vectors"]:
        print_vectors()
    else:
        sys.stderr.write("usage: encode.py --vectors\n")
        sys.exit(2)
