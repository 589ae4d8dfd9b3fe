# SPDX-License-Identifier: MIT
"""STOPGAP subset of tests/ble/sim/encode.py (the drivers branch's encoders): the same API
for progressor, entralpi and whc06 only, so the simulator runs before encode.py is merged.
tphub_bluez.py prefers encode.py when it is importable; delete this file then.
"""

import math
import struct

KG_TO_N = 9.80665


def _base(uuid16):
    return "0000%s-0000-1000-8000-00805f9b34fb" % uuid16


DEVICES = {
    "progressor": {
        "name": "Progressor", "service": "7e4e1701-1ea6-40c9-9dcc-13d34ffead57",
        "notify": "7e4e1702-1ea6-40c9-9dcc-13d34ffead57",
        "write": "7e4e1703-1ea6-40c9-9dcc-13d34ffead57",
        "commands": {"start": b"\x65", "stop": b"\x66", "tare": b"\x64", "battery": b"\x6f"},
    },
    "entralpi": {
        "name": "ENTRALPI", "service": _base("181d"), "notify": _base("fff1"),
        "battery": _base("2a19"), "commands": {},
    },
    "whc06": {"name": "IF_B7", "company_id": 0x0100, "commands": {}},
}


def _round(x):
    # half away from zero, as encode.py
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def _clamp(v, lo, hi):
    return lo if v < lo else hi if v > hi else v


def encode_progressor(newtons, t_us):
    # [1][len][float32 LE kg, uint32 LE us]...
    payload = b"".join(struct.pack("<fI", n / KG_TO_N, t % (1 << 32)) for n, t in zip(newtons, t_us))
    return [bytes([1, len(payload)]) + payload]


def encode_progressor_battery(mv):
    return [bytes([0, 4]) + struct.pack("<I", mv)]


def encode_entralpi(newtons, t_us=None):
    # uint16 BE 1/100 kg
    return [struct.pack(">H", _clamp(_round(n / KG_TO_N * 100), 0, 0xFFFF)) for n in newtons]


def encode_whc06_adv(newtons, unit="kg", stable=True):
    # int16 BE 1/100 kg at 10..11, byte 14 = stable << 4 | unit
    data = bytearray(15)
    data[10:12] = struct.pack(">h", _clamp(_round(newtons / KG_TO_N * 100), -32768, 32767))
    data[14] = (0x10 if stable else 0) | 1
    return bytes(data)


def encode_whc06(newtons, t_us=None):
    return [encode_whc06_adv(n) for n in newtons]


ENCODERS = {
    "progressor": (encode_progressor, None),
    "entralpi": (encode_entralpi, None),
    "whc06": (encode_whc06, None),
}
