# SPDX-License-Identifier: MIT
"""The keys and value rules of Home Assistant's MQTT discovery documents, as the tests check
them. Written from Home Assistant's documentation (home-assistant.io):
  - integrations/mqtt, "MQTT Discovery": device-based discovery (topic
    <prefix>/device/<object_id>/config; "device", "origin" with required "name", "components"
    with a required "platform" each; an empty retained payload deletes), ids of
    [a-zA-Z0-9_-], availability (list of {topic, payload_available, payload_not_available,
    value_template}, availability_mode all|any|latest), the device block (identifiers or
    connections required; name, manufacturer, model, sw_version, via_device, suggested_area,
    configuration_url), entity_category config|diagnostic;
  - integrations/sensor.mqtt, binary_sensor.mqtt, button.mqtt, select.mqtt, event.mqtt,
    tag.mqtt: each platform's options and which are required;
  - integrations/sensor ("Device class": units per class), integrations/binary_sensor
    ("Device class"), the state classes measurement|total|total_increasing.
Only what tphub uses is listed; anything else in a document is an error here, so a typo in
a key fails the test instead of being ignored by Home Assistant."""

import re

ID = re.compile(r"^[a-zA-Z0-9_-]+$")

COMMON = {"platform", "unique_id", "name", "availability", "availability_mode", "availability_topic",
          "payload_available", "payload_not_available", "availability_template", "entity_category",
          "enabled_by_default", "icon", "qos", "object_id", "default_entity_id", "json_attributes_topic",
          "json_attributes_template", "device", "origin", "encoding"}

PLATFORMS = {
    "sensor": {"required": {"state_topic"},
               "optional": {"value_template", "device_class", "unit_of_measurement", "state_class",
                            "options", "expire_after", "force_update", "suggested_display_precision",
                            "last_reset_value_template"}},
    "binary_sensor": {"required": {"state_topic"},
                      "optional": {"value_template", "device_class", "payload_on", "payload_off",
                                   "expire_after", "force_update", "off_delay"}},
    "button": {"required": {"command_topic"},
               "optional": {"payload_press", "command_template", "device_class", "retain"}},
    "select": {"required": {"command_topic", "options"},
               "optional": {"command_template", "state_topic", "value_template", "optimistic", "retain"}},
    "event": {"required": {"state_topic", "event_types"},
              "optional": {"value_template", "device_class"}},
}

SENSOR_UNITS = {  # device class -> allowed units (None: no unit)
    None: None,
    "enum": {None},
    "timestamp": {None},
    "duration": {"d", "h", "min", "s", "ms"},
    "battery": {"%"},
    "voltage": {"V", "mV", "µV", "kV", "MV"},
    "signal_strength": {"dB", "dBm"},
    "temperature": {"°C", "°F", "K"},
    "data_size": {"bit", "kbit", "Mbit", "Gbit", "B", "kB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"},
}
BINARY_CLASSES = {None, "connectivity", "occupancy", "problem", "running", "presence", "battery", "plug"}
STATE_CLASSES = {None, "measurement", "total", "total_increasing"}
DEVICE_KEYS = {"identifiers", "connections", "name", "manufacturer", "model", "sw_version", "hw_version",
               "via_device", "suggested_area", "configuration_url", "serial_number"}
ORIGIN_KEYS = {"name", "sw_version", "support_url"}


def _topic_ok(t):
    return isinstance(t, str) and t and "#" not in t and "+" not in t


def check_availability(where, comp, errors):
    av = comp.get("availability")
    if av is None:
        return
    if not isinstance(av, list) or not av:
        errors.append("%s: availability must be a non-empty list" % where)
        return
    for e in av:
        if not isinstance(e, dict) or not _topic_ok(e.get("topic")):
            errors.append("%s: availability entry without a topic: %r" % (where, e))
        elif set(e) - {"topic", "payload_available", "payload_not_available", "value_template"}:
            errors.append("%s: unknown availability keys %r" % (where, set(e)))
    if comp.get("availability_mode", "latest") not in ("all", "any", "latest"):
        errors.append("%s: bad availability_mode %r" % (where, comp["availability_mode"]))


def check_component(where, comp, errors):
    p = comp.get("platform")
    if p not in PLATFORMS:
        errors.append("%s: platform %r is not one tphub uses" % (where, p))
        return
    spec = PLATFORMS[p]
    keys = set(comp)
    for k in spec["required"] - keys:
        errors.append("%s: %s needs %s" % (where, p, k))
    for k in keys - spec["required"] - spec["optional"] - COMMON:
        errors.append("%s: %s has unknown key %s" % (where, p, k))
    if not isinstance(comp.get("unique_id"), str) or not ID.match(comp["unique_id"]):
        errors.append("%s: unique_id %r" % (where, comp.get("unique_id")))
    for k, v in comp.items():
        if k.endswith("_topic") and not _topic_ok(v):
            errors.append("%s: %s %r is not a publishable topic" % (where, k, v))
    if comp.get("entity_category") not in (None, "config", "diagnostic"):
        errors.append("%s: entity_category %r" % (where, comp["entity_category"]))
    check_availability(where, comp, errors)
    dc = comp.get("device_class")
    if p == "sensor":
        if dc not in SENSOR_UNITS:
            errors.append("%s: sensor device_class %r" % (where, dc))
        elif SENSOR_UNITS[dc] is not None and comp.get("unit_of_measurement") not in SENSOR_UNITS[dc]:
            errors.append("%s: unit %r not allowed for %s" % (where, comp.get("unit_of_measurement"), dc))
        if comp.get("state_class") not in STATE_CLASSES:
            errors.append("%s: state_class %r" % (where, comp["state_class"]))
        if dc in ("timestamp", "enum") and comp.get("state_class"):
            errors.append("%s: a %s sensor has no state_class" % (where, dc))
        if dc == "enum" and not (isinstance(comp.get("options"), list) and comp["options"]):
            errors.append("%s: an enum sensor lists its options" % where)
        if "options" in comp and dc != "enum":
            errors.append("%s: options only with device_class enum" % where)
    if p == "binary_sensor" and dc not in BINARY_CLASSES:
        errors.append("%s: binary_sensor device_class %r" % (where, dc))
    if p == "select" and not all(isinstance(o, str) for o in comp.get("options", [])):
        errors.append("%s: select options must be strings" % where)
    if p == "event" and not (isinstance(comp.get("event_types"), list) and comp["event_types"]):
        errors.append("%s: event_types must be a non-empty list" % where)


def check_device_document(topic, doc):
    """Errors (strings) of one device-based discovery document; [] when it is valid."""
    errors = []
    m = re.match(r"^homeassistant/device/([^/]+)/config$", topic)
    if not m or not ID.match(m.group(1)):
        errors.append("%s: topic is not <prefix>/device/<id>/config with an id of [a-zA-Z0-9_-]" % topic)
    if not isinstance(doc, dict):
        return errors + ["%s: not an object" % topic]
    for k in set(doc) - {"device", "origin", "components", "availability", "availability_mode", "qos",
                         "state_topic", "command_topic", "encoding"}:
        errors.append("%s: unknown top-level key %s" % (topic, k))
    dev, origin, cmps = doc.get("device"), doc.get("origin"), doc.get("components")
    if not isinstance(dev, dict) or not (dev.get("identifiers") or dev.get("connections")):
        errors.append("%s: device needs identifiers or connections" % topic)
    else:
        for k in set(dev) - DEVICE_KEYS:
            errors.append("%s: unknown device key %s" % (topic, k))
        for c in dev.get("connections", []):
            if not (isinstance(c, list) and len(c) == 2 and all(isinstance(x, str) for x in c)):
                errors.append("%s: connection %r is not [type, id]" % (topic, c))
    if not isinstance(origin, dict) or not isinstance(origin.get("name"), str) or not origin["name"]:
        errors.append("%s: origin with a name is required" % topic)
    elif set(origin) - ORIGIN_KEYS:
        errors.append("%s: unknown origin keys %r" % (topic, set(origin) - ORIGIN_KEYS))
    if not isinstance(cmps, dict) or not cmps:
        errors.append("%s: components must be a non-empty object" % topic)
        return errors
    check_availability(topic, doc, errors)
    for key, comp in cmps.items():
        where = "%s components.%s" % (topic, key)
        if not ID.match(key):
            errors.append("%s: component id of [a-zA-Z0-9_-]" % where)
        if not isinstance(comp, dict):
            errors.append("%s: not an object" % where)
            continue
        check_component(where, comp, errors)
    return errors


def check_tag_document(topic, doc):
    errors = []
    m = re.match(r"^homeassistant/tag/([^/]+)/config$", topic)
    if not m or not ID.match(m.group(1)):
        errors.append("%s: topic is not <prefix>/tag/<id>/config" % topic)
    if not isinstance(doc, dict) or not _topic_ok(doc.get("topic")):
        return errors + ["%s: a tag scanner needs a topic" % topic]
    for k in set(doc) - {"topic", "value_template", "device"}:
        errors.append("%s: unknown tag key %s" % (topic, k))
    dev = doc.get("device")
    if dev is not None and not (isinstance(dev, dict) and (dev.get("identifiers") or dev.get("connections"))):
        errors.append("%s: device needs identifiers or connections" % topic)
    return errors
