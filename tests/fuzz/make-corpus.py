#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus tests/fuzz/corpus/<driver>/ for the fuzz-driver-<driver> targets
from the simulator encodings (tests/ble/sim/encode.py), in the record format fuzz-driver.c
reads: [flags][len][bytes]... Run it after changing an encoding; commit the result."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ble", "sim"))
import encode  # noqa: E402


def record(payload, reset=False, max_out=None):
    flags = (len(payload) >> 8) & 0x03
    if reset:
        flags |= 0x80
    if max_out is not None:
        flags |= 0x40 | (max_out & 0x07)
    return bytes([flags, len(payload) & 0xFF]) + payload


def main():
    values = [0.0, 1.5, 98.0665, 250.3, -12.7]
    t_us = [0, 12500, 25000, 37500, 50000]
    for driver, (enc, _) in encode.ENCODERS.items():
        if driver == "entralpi":
            values_d = [v for v in values if v >= 0]
        else:
            values_d = values
        chunks = enc(values_d, t_us[:len(values_d)])
        seeds = {
            "ramp": b"".join(record(c) for c in chunks),
            "reset": b"".join(record(c, reset=(i == 1)) for i, c in enumerate(chunks)),
            "small-max": b"".join(record(c, max_out=1) for c in chunks),
            "garbage": record(b"\x05\xff\x00IS") + b"".join(record(c) for c in chunks),
            "oversized": record(bytes(513)) + record(chunks[0]),
        }
        if driver in ("cts500", "activ5"):
            seeds["one-byte"] = b"".join(record(c) for c in enc(values_d, chunk=1))
        if driver == "progressor":
            seeds["battery"] = record(encode.encode_progressor_battery(3712)[0]) + \
                record(encode.encode_progressor_low_power()[0])
        if driver == "cts500":
            seeds["battery"] = record(encode.cts500_battery_frame(3870) +
                                      bytes.fromhex("05aa000000af"))
        if driver == "linescale":
            seeds["units"] = b"".join(record(c) for u in ("N", "G", "B")
                                      for c in encode.encode_linescale([5.0], unit=u))
        if driver == "whc06":
            seeds["units"] = b"".join(record(encode.encode_whc06_adv(50.0, unit=u))
                                      for u in ("kg", "lb", "st", "jin"))
        out = os.path.join(HERE, "corpus", driver)
        os.makedirs(out, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
