#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tphubd's Home Assistant discovery and self-description against a real mosquitto: every
discovery document as published, checked against Home Assistant's schema (ha_schema.py);
unique ids; stale documents of this hub deleted (a removed station, the 0.1 per-entity
documents) and another hub's left alone; Home Assistant restarting (homeassistant/status
offline, online) re-publishes discovery and state exactly once; the protocol select and the
start button; a tag scan; the meta, availability and sysinfo documents; availability
"offline" by last will (SIGKILL) and on a clean stop."""

import json
import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from ha_schema import check_device_document, check_tag_document  # noqa: E402
from mqtt_harness import Broker, Subscriber, publish  # noqa: E402
from tphubd_harness import Tphubd, run_tap, expect  # noqa: E402

TPHUBD = sys.argv[1]
TOOL = "C8:00:00:00:00:01"
PROTOCOLS = {
    "tiny": """title = "one very short stretch"; description = "test"; source = "test";
steps = ( { point = "s1"; label = "Stretch"; side = "both"; kind = "stretch"; start = "timer";
            min_hold_s = 0; target_hold_s = 30; max_hold_s = 40; rest_s = 0; min_release_s = 0; } );
""",
    "two": """title = "two points"; description = "test"; source = "test";
defaults = { kind = "press"; start = "confirm"; min_hold_s = 4; target_hold_s = 4; max_hold_s = 6;
             rest_s = 1; contact_n = 10; release_n = 5; target_min_n = 20; target_max_n = 200;
             safety_max_n = 250; min_release_s = 0.5; };
steps = ( { point = "p1"; label = "Point 1"; side = "left"; }, { point = "p2"; label = "Point 2"; side = "right"; } );
""",
}


class Lab:
    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="tphub-ha-")
        t = self.tmp.name
        self.pdir = os.path.join(t, "protocols")
        os.mkdir(self.pdir)
        for name, text in PROTOCOLS.items():
            with open(os.path.join(self.pdir, name + ".conf"), "w") as f:
                f.write(text)
        self.broker = Broker()
        self.sub = Subscriber(self.broker.port)
        self.conf = os.path.join(t, "tphub.conf")
        self.write_config(["bench-1", "bench-2"])
        self.d = None

    def write_config(self, stations):
        t = self.tmp.name
        with open(self.conf, "w") as f:
            f.write('hub = { name = "lab"; };\n')
            f.write('paths = { protocols = [ "%s" ]; spool = "%s/spool"; state = "%s/state"; };\n' % (self.pdir, t, t))
            f.write('gpio = { backend = "sim"; sim_socket = "%s/gpio.sock"; };\n' % t)
            f.write('ble = { enabled = false; };\n')
            f.write('mqtt = { enabled = true; uri = "tcp://127.0.0.1:%d"; version = 5; homeassistant = true;\n'
                    '         dashboard_url = "http://lab.local:8080/"; };\n' % self.broker.port)
            f.write("stations = (\n")
            f.write(",\n".join('  { name = "%s"; protocol = "two"; area = "Room %d";%s }'
                               % (s, i + 1, ' tools = ( { address = "%s"; driver = "progressor"; } );' % TOOL
                                  if s == "bench-1" else "") for i, s in enumerate(stations)))
            f.write("\n);\n")

    def start(self):
        after = len(self.sub.seen)
        self.d = Tphubd(TPHUBD, self.conf)
        self.d.wait_notify("READY=1")
        self.sub.wait("tphub/lab/status", lambda d: d.get("state") == "online", after=after)

    def raw(self, topic, after=0, pred=lambda p: True, timeout=15):
        """Index and payload (str) of the first message on topic at or after `after`."""
        end = time.monotonic() + timeout
        i = after
        while True:
            while i < len(self.sub.seen):
                t, ret, qos, payload = self.sub.seen[i]
                if t == topic and pred(payload):
                    return i, payload, ret
                i += 1
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("nothing on %s within %.0fs" % (topic, timeout))
            self.sub._drain(left)

    def cmd(self, payload, station="bench-1"):
        after = len(self.sub.seen)
        publish(self.broker.port, "tphub/lab/%s/cmd" % station, payload)
        return self.sub.wait("tphub/lab/%s/cmd/reply" % station, after=after)

    def since(self, after, prefix):
        return [(t, p, r) for t, r, q, p in self.sub.seen[after:] if t.startswith(prefix)]

    def close(self):
        if self.d:
            self.d.close()
        self.sub.close()
        self.broker.close()
        self.tmp.cleanup()


DEVICES = ["homeassistant/device/tphub_lab/config", "homeassistant/device/tphub_lab_bench-1/config",
           "homeassistant/device/tphub_lab_bench-2/config"]
TAGS = ["homeassistant/tag/tphub_lab_bench-1/config", "homeassistant/tag/tphub_lab_bench-2/config"]


def tool_device_topic():
    # the id rule of docs/home-assistant.md: ':' becomes '_', then "-" + FNV-1a (32 bit) of
    # the original "tphub_lab_<address>" in 8 hex digits
    h = 2166136261
    for b in ("tphub_lab_" + TOOL).encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return "homeassistant/device/tphub_lab_%s-%08x/config" % (TOOL.replace(":", "_"), h)


def test_discovery_documents_and_cleanup():
    lab = Lab()
    try:
        # What the broker holds before this hub starts: a 0.1 entity document, a device of a
        # station this hub no longer has, and another hub's device.
        legacy = "homeassistant/sensor/lab_bench-1_state/config"
        publish(lab.broker.port, legacy, '{"name":"bench-1 state","state_topic":"tphub/lab/bench-1/state"}', retain=True)
        gone = "homeassistant/device/tphub_lab_gone/config"
        publish(lab.broker.port, gone, json.dumps({
            "device": {"identifiers": ["tphub_lab_gone"]}, "origin": {"name": "tphub"},
            "components": {"state": {"platform": "sensor", "unique_id": "tphub_lab_gone_state",
                                     "state_topic": "tphub/lab/gone/state"}}}), retain=True)
        other = "homeassistant/device/tphub_lab_2_x/config"
        publish(lab.broker.port, other, json.dumps({
            "device": {"identifiers": ["tphub_lab_2_x"]}, "origin": {"name": "tphub"},
            "components": {"state": {"platform": "sensor", "unique_id": "tphub_lab_2_x_state",
                                     "state_topic": "tphub/lab_2/x/state"}}}), retain=True)
        lab.start()

        docs = {}
        for topic in DEVICES + TAGS + [tool_device_topic()]:
            _, payload, retained = lab.raw(topic, pred=lambda p: p != "")
            docs[topic] = json.loads(payload)
        errors = []
        uids = []
        for topic, doc in docs.items():
            if "/tag/" in topic:
                errors += check_tag_document(topic, doc)
                continue
            errors += check_device_document(topic, doc)
            expect(doc["origin"]["name"] == "tphub" and doc["origin"]["sw_version"], "origin %r" % doc["origin"])
            uids += [c["unique_id"] for c in doc["components"].values()]
        expect(not errors, "schema:\n" + "\n".join(errors))
        expect(len(uids) == len(set(uids)), "unique ids repeat: %r" % uids)

        st = docs[DEVICES[1]]
        expect(st["device"]["via_device"] == "tphub_lab" and st["device"]["suggested_area"] == "Room 1",
               "station device %r" % st["device"])
        expect(st["device"]["configuration_url"] == "http://lab.local:8080/athlete.html?hub=lab&station=bench-1",
               "configuration_url %r" % st["device"].get("configuration_url"))
        expect("athlete" not in st["components"], "athlete exposed by default")
        expect(st["availability"] == [{"topic": "tphub/lab/availability"}], "availability %r" % st["availability"])
        expect(sorted(st["components"]["protocol"]["options"]) == ["tiny", "two"], "select options")
        tool = docs[tool_device_topic()]
        expect(tool["device"]["connections"] == [["bluetooth", TOOL.lower()]], "connections %r" % tool["device"])
        expect(tool["device"]["via_device"] == "tphub_lab_bench-1", "tool via %r" % tool["device"])
        bat = tool["components"]["battery"]
        expect(bat["device_class"] == "voltage" and bat["availability_mode"] == "all" and
               [a["topic"] for a in bat["availability"]] == ["tphub/lab/availability", "tphub/lab/tools/" + TOOL],
               "tool battery %r" % bat)

        # The stale documents of this hub are deleted (empty retained), the other hub's stays.
        lab.raw(legacy, pred=lambda p: p == "")
        lab.raw(gone, pred=lambda p: p == "")
        lab.cmd('{"cmd":"stop","id":"sync"}')  # everything the hub did so far has arrived
        expect(not [1 for t, p, r in lab.since(0, other) if p == ""], "another hub's document was deleted")

        # meta, availability, sysinfo
        _, meta, _ = lab.sub.wait("tphub/lab/meta")
        expect(meta["schema"] == 1 and meta["hub"] == "lab", "meta %r" % meta)
        expect([s["name"] for s in meta["stations"]] == ["bench-1", "bench-2"], "meta stations")
        expect(meta["stations"][0]["tools"] == [{"address": TOOL, "driver": "progressor"}], "meta tools")
        two = [p for p in meta["protocols"] if p["name"] == "two"][0]
        expect([(s["point"], s["label"], s["side"]) for s in two["steps"]] ==
               [("p1", "Point 1", "left"), ("p2", "Point 2", "right")], "meta steps %r" % two)
        _, avail, retained = lab.raw("tphub/lab/availability")
        expect(avail == "online" and retained is not None, "availability %r" % avail)
        _, si, _ = lab.sub.wait("tphub/lab/sysinfo")
        for k in ("uptime_s", "rss_kb", "mem_available_kb", "disk_free_mb"):
            expect(isinstance(si[k], int) and si[k] >= 0, "sysinfo %s = %r" % (k, si.get(k)))
        expect(si["clock_synced"] in (True, False, None), "sysinfo %r" % si)
        expect(0 < si["rss_kb"] < 1024 * 1024, "rss %r" % si["rss_kb"])
    finally:
        lab.close()


def test_homeassistant_restart_select_reload_will():
    lab = Lab()
    try:
        lab.start()
        for topic in DEVICES:
            lab.raw(topic, pred=lambda p: p != "")
        lab.cmd('{"cmd":"stop","id":"sync"}')

        # Home Assistant restarts: offline, then its birth message.
        after = len(lab.sub.seen)
        publish(lab.broker.port, "homeassistant/status", "offline")
        publish(lab.broker.port, "homeassistant/status", "online")
        lab.raw(DEVICES[0], after=after)
        lab.cmd('{"cmd":"stop","id":"sync2"}')  # the hub handled both before this
        got = lab.since(after, "homeassistant/")
        for topic in DEVICES + TAGS + [tool_device_topic()]:
            n = len([1 for t, p, r in got if t == topic])
            expect(n == 1, "%s re-published %d times after one online" % (topic, n))
        for s in ("bench-1", "bench-2"):
            n = len([1 for t, p, r in lab.since(after, "tphub/lab/%s/state" % s)])
            expect(n == 1, "state of %s re-published %d times" % (s, n))

        # The select chooses, the start button starts what was chosen.
        _, reply, _ = lab.cmd('{"cmd":"select","protocol":"tiny","id":"s1"}')
        expect(reply == {"id": "s1", "ok": True}, "select reply %r" % reply)
        lab.sub.wait("tphub/lab/bench-1/state", lambda d: d.get("selected_protocol") == "tiny" and d["state"] == "idle")
        _, reply, _ = lab.cmd('{"cmd":"select","protocol":"nope","id":"s2"}')
        expect(reply == {"id": "s2", "ok": False, "error": "unknown protocol"}, "bad select %r" % reply)
        after = len(lab.sub.seen)
        _, reply, _ = lab.cmd('{"cmd":"start"}')  # the start button's payload
        expect(reply == {"ok": True}, "start %r" % reply)
        lab.sub.wait("tphub/lab/bench-1/state", lambda d: d.get("protocol") == "tiny", after=after)
        lab.cmd('{"cmd":"stop"}')

        # Reload without bench-2: its device and tag scanner are deleted, nothing else is.
        lab.write_config(["bench-1"])
        after = len(lab.sub.seen)
        lab.d.signal(signal.SIGHUP)
        lab.raw(DEVICES[2], after=after, pred=lambda p: p == "")
        lab.raw(TAGS[1], after=after, pred=lambda p: p == "")
        lab.cmd('{"cmd":"stop","id":"sync3"}')
        deleted = sorted({t for t, p, r in lab.since(after, "homeassistant/device/") + lab.since(after, "homeassistant/tag/")
                          if p == ""})
        expect(deleted == sorted([DEVICES[2], TAGS[1]]), "deleted %r" % deleted)

        # SIGKILL: the availability link's will says offline (retained).
        after = len(lab.sub.seen)
        lab.d.signal(signal.SIGKILL)
        lab.d.wait_exit()
        lab.d.close()
        lab.d = None
        lab.raw("tphub/lab/availability", after=after, pred=lambda p: p == "offline", timeout=60)

        # A clean stop says it too, without a will.
        lab.start()
        lab.raw("tphub/lab/availability", after=after, pred=lambda p: p == "online")
        after = len(lab.sub.seen)
        lab.d.signal(signal.SIGTERM)
        lab.d.wait_exit()
        lab.raw("tphub/lab/availability", after=after, pred=lambda p: p == "offline", timeout=5)
    finally:
        lab.close()


run_tap([test_discovery_documents_and_cleanup, test_homeassistant_restart_select_reload_will])
