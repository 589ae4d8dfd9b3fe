#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Shape of the encode.py contract as the simulator uses it (the bytes themselves are
checked against the C decoders by test-encode-vectors)."""

import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import encode  # noqa: E402

VALUES = [0.0, 0.3, 4.9, 98.0665, 333.3, 1234.5, 2000.0]
T_US = [i * 12500 for i in range(len(VALUES))]

# Half the device's resolution in newtons, for values inside its range.
HALF_QUANTUM = {
    "progressor": 1e-4, "forceboard": encode.LBF_TO_N / 2, "entralpi": encode.KG_TO_N / 200,
    "whc06": encode.KG_TO_N / 200, "cts500": encode.KG_TO_N / 200,
    "linescale": encode.KG_TO_N / 20, "activ5": 0.05, "imd-force": 0.0005,
}


class EncodeTest(unittest.TestCase):
    def test_every_driver_has_an_encoder_and_a_device(self):
        self.assertEqual(set(encode.ENCODERS), set(encode.DEVICES))
        for driver in encode.ENCODERS:
            name = driver.replace("-", "_")
            self.assertIs(encode.ENCODERS[driver][0], getattr(encode, "encode_" + name))
            self.assertIs(encode.ENCODERS[driver][1], getattr(encode, "decoded_" + name))

    def test_notifications_fit_a_default_mtu(self):
        for driver, (enc, dec) in encode.ENCODERS.items():
            out = enc(VALUES, T_US)
            self.assertTrue(out, driver)
            for payload in out:
                self.assertIsInstance(payload, bytes)
                self.assertLessEqual(len(payload), 20, driver)
            self.assertEqual(len(dec(VALUES)), len(VALUES))

    def test_decoded_is_within_the_device_resolution(self):
        for driver, (_, dec) in encode.ENCODERS.items():
            for want, got in zip(VALUES, dec(VALUES)):
                self.assertLessEqual(abs(want - got), HALF_QUANTUM[driver] * (1 + 1e-9) + 1e-12,
                                     "%s %r -> %r" % (driver, want, got))

    def test_streams_are_cut_anywhere_and_lose_nothing(self):
        frames = b"".join(encode.cts500_frame(n) for n in VALUES)
        for chunk in range(1, 26):
            out = encode.encode_cts500(VALUES, chunk=chunk)
            self.assertEqual(b"".join(out), frames)
            self.assertTrue(all(1 <= len(c) <= chunk for c in out))
            out = encode.encode_activ5(VALUES, chunk=chunk)
            self.assertEqual(b"".join(out).count(b"/IS"), len(VALUES))
            self.assertTrue(all(1 <= len(c) <= chunk for c in out))

    def test_whc06_advert(self):
        adv = encode.encode_whc06_adv(50 * encode.KG_TO_N)
        self.assertEqual(len(adv), 15)
        self.assertEqual(adv[10:12], (5000).to_bytes(2, "big"))
        self.assertEqual(adv[14], 0x11)
        self.assertEqual(encode.encode_whc06_adv(-1.0, unit="lb", stable=False)[14], 0x02)

    def test_cts500_checksum_includes_the_header(self):
        f = encode.cts500_frame(100 * encode.KG_TO_N)
        self.assertEqual(f, bytes.fromhex("050000002710") + bytes([0x3C]))

    def test_ranges_are_clamped_not_wrapped(self):
        self.assertEqual(encode.decoded_entralpi([-5.0]), [0.0])
        self.assertEqual(encode.decoded_forceboard([1e9]), [65535 * encode.LBF_TO_N])
        self.assertEqual(encode.decoded_imd_force([1e12]), [(2**31 - 2) / 1000])

    def test_progressor_clock_wraps_like_the_device(self):
        out = encode.encode_progressor([1.0], [(1 << 32) + 7])
        self.assertEqual(out[0][-4:], (7).to_bytes(4, "little"))

    def test_bad_input_is_refused(self):
        for driver, (enc, _) in encode.ENCODERS.items():
            with self.assertRaises(ValueError, msg=driver):
                enc([math.nan], [0])
        with self.assertRaises(ValueError):
            encode.encode_progressor([1.0], None)


if __name__ == "__main__":
    unittest.main()
