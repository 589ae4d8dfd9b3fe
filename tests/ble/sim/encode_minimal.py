# SPDX-License-Identifier: MIT
"""Minimal byte encoders for the simulator: Tindeq Progressor and WH-C06 only.

STOPGAP: the drivers branch provides tests/ble/sim/encode.py with encoders for every
supported device. tphub_bluez.py prefers that module and falls back to this one, so this
file can be deleted once encode.py has landed. Layouts follow docs/ble-devices notes:

- Progressor notification: [type u8 = 1][len u8][len/8 x (float32 LE kg, uint32 LE us)]
- WH-C06 manufacturer data (company 0x0100, payload without the company id): 16 bytes,
  signed BE int16 centi-kg at offset 10-11, byte 14 = stable flag (high nibble) | unit
  (low nibble, 1 = kg).
"""

import struct

KG_TO_N = 9.80665


def progressor_weight(samples):
    """samples: iterable of (t_ms, force_n) -> one notification value (bytes)."""
    payload = b''.join(struct.pack('<fI', force_n / KG_TO_N, int(t_ms) * 1000)
                       for t_ms, force_n in samples)
    return bytes([1, len(payload)]) + payload


def progressor_battery(millivolts):
    return bytes([0, 4]) + struct.pack('<I', millivolts)


def whc06_advert(force_n, stable=True):
    centi_kg = int(round(force_n / KG_TO_N * 100))
    centi_kg = max(-32768, min(32767, centi_kg))
    data = bytearray(16)
    data[10:12] = struct.pack('>h', centi_kg)
    data[14] = (0x10 if stable else 0x00) | 0x01
    return bytes(data)
