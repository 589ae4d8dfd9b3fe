/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mqtt/mqtt-command.h"
#include "shared/iso8601.h"
#include "shared/macro.h"
#include "shared/session-id.h"

static const char *const verb_table[_MQTT_COMMAND_MAX] = {
        [MQTT_COMMAND_START] = "start",
        [MQTT_COMMAND_STOP] = "stop",
        [MQTT_COMMAND_SKIP] = "skip",
        [MQTT_COMMAND_TARE] = "tare",
        [MQTT_COMMAND_SELECT] = "select",
        [MQTT_COMMAND_SESSIONS_SINCE] = "sessions_since",
        [MQTT_COMMAND_RESEND] = "resend",
};

const char *mqtt_command_verb_to_string(MqttCommandVerb v) {
        if (v < 0 || v >= _MQTT_COMMAND_MAX)
                return NULL;
        return verb_table[v];
}

static MqttCommandVerb verb_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(verb_table); i++)
                if (strcmp(verb_table[i], s) == 0)
                        return (MqttCommandVerb) i;
        return _MQTT_COMMAND_INVALID;
}

/* Names end up in topics, file names and logs: keep them to a plain, printable set. */
static bool name_valid(const char *s, size_t len) {
        if (len == 0 || len > MQTT_COMMAND_NAME_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.'))
                        return false;
        }
        return true;
}

bool mqtt_command_name_valid(const char *s) {
        return s && name_valid(s, strlen(s));
}

static bool id_valid(const char *s, size_t len) {
        if (len == 0 || len > MQTT_COMMAND_ID_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) s[i] < 0x21 || (unsigned char) s[i] > 0x7e)
                        return false;
        return true;
}

static int fail(const char **ret_error, const char *msg) {
        if (ret_error)
                *ret_error = msg;
        return -EINVAL;
}

/* The hub archive's keys (docs/mqtt.md "sessions_since", "resend"). */
static int parse_archive_keys(json_object *o, MqttCommand *c, const char **ret_error) {
        static const struct {
                const char *key;
                MqttCommandVerb verb;
                const char *only;
        } keys[] = {
                { "since", MQTT_COMMAND_SESSIONS_SINCE, "\"since\" is only valid with \"sessions_since\"" },
                { "after", MQTT_COMMAND_SESSIONS_SINCE, "\"after\" is only valid with \"sessions_since\"" },
                { "session", MQTT_COMMAND_RESEND, "\"session\" is only valid with \"resend\"" },
        };
        json_object *v;

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const char *s;
                size_t n;

                if (!json_object_object_get_ex(o, keys[i].key, &v))
                        continue;
                if (c->verb != keys[i].verb)
                        return fail(ret_error, keys[i].only);
                if (!json_object_is_type(v, json_type_string))
                        return fail(ret_error, i == 0 ? "\"since\" must be a string" :
                                               i == 1 ? "\"after\" must be a string" : "\"session\" must be a string");
                s = json_object_get_string(v);
                n = (size_t) json_object_get_string_len(v);
                if (i == 0) {
                        if (strlen(s) != n || iso8601_parse_ms(s, &c->since_ms) < 0)
                                return fail(ret_error, "\"since\" must be an ISO 8601 UTC time");
                } else {
                        if (strlen(s) != n || !session_id_valid(s))
                                return fail(ret_error, i == 1 ? "\"after\" must be a session id (32 hex digits)"
                                                              : "\"session\" must be a session id (32 hex digits)");
                        memcpy(i == 1 ? c->after : c->session, s, n + 1);
                }
        }
        if (c->verb == MQTT_COMMAND_SESSIONS_SINCE && !json_object_object_get_ex(o, "since", NULL))
                return fail(ret_error, "\"sessions_since\" needs \"since\"");
        if (c->verb == MQTT_COMMAND_RESEND && !*c->session)
                return fail(ret_error, "\"resend\" needs \"session\"");
        return 0;
}

int mqtt_command_parse(const void *payload, size_t len, MqttCommand *ret, const char **ret_error) {
        json_tokener *tok;
        json_object *o, *v;
        MqttCommand c = { .verb = _MQTT_COMMAND_INVALID };
        int r;

        if (!ret || (!payload && len > 0))
                return -EINVAL;
        *ret = c;

        if (len == 0)
                return fail(ret_error, "empty payload");
        if (len > MQTT_COMMAND_MAX_PAYLOAD)
                return fail(ret_error, "payload too large (max 4096 bytes)");
        if (memchr(payload, 0, len))
                return fail(ret_error, "payload contains a NUL byte");

        /* Whatever does not start with '{' cannot be an object, valid JSON or not (and a bare
         * number at the end of input is "incomplete" to json-c, not "not an object"). */
        for (size_t i = 0; i < len; i++) {
                char ch = ((const char *) payload)[i];
                if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
                        continue;
                if (ch != '{')
                        return fail(ret_error, "payload must be a JSON object");
                break;
        }

        tok = json_tokener_new_ex(16);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, payload, (int) len);
        if (!o || json_tokener_get_error(tok) != json_tokener_success) {
                enum json_tokener_error e = json_tokener_get_error(tok);
                size_t end = json_tokener_get_parse_end(tok);
                const char *msg = e == json_tokener_error_depth ? "JSON nested too deeply" : "invalid JSON";

                json_object_put(o);
                json_tokener_free(tok);
                /* Strict mode stops at the first byte after a complete value: if everything
                 * before it is valid JSON on its own, the problem is what follows. */
                if (e == json_tokener_error_parse_unexpected && end > 0 && end < len) {
                        json_tokener *t2 = json_tokener_new_ex(16);
                        json_object *o2;

                        if (!t2)
                                return -ENOMEM;
                        json_tokener_set_flags(t2, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
                        o2 = json_tokener_parse_ex(t2, payload, (int) end);
                        if (o2 && json_tokener_get_error(t2) == json_tokener_success)
                                msg = "trailing data after JSON";
                        json_object_put(o2);
                        json_tokener_free(t2);
                }
                return fail(ret_error, msg);
        }
        json_tokener_free(tok);

        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return fail(ret_error, "payload must be a JSON object");
        }

        /* The id first, so that a reply can name the command even when the rest is wrong. */
        if (json_object_object_get_ex(o, "id", &v)) {
                if (!json_object_is_type(v, json_type_string)) {
                        r = fail(ret_error, "\"id\" must be a string");
                        goto finish;
                }
                const char *s = json_object_get_string(v);
                size_t n = (size_t) json_object_get_string_len(v);
                if (!id_valid(s, n) || strlen(s) != n) {
                        r = fail(ret_error, "\"id\" must be 1-64 printable ASCII characters");
                        goto finish;
                }
                memcpy(ret->id, s, n + 1);
                memcpy(c.id, s, n + 1);
        }

        json_object_object_foreach(o, key, val) {
                (void) val;
                if (!strcmp(key, "cmd") || !strcmp(key, "id") || !strcmp(key, "athlete") ||
                    !strcmp(key, "protocol") || !strcmp(key, "since") || !strcmp(key, "after") ||
                    !strcmp(key, "session"))
                        continue;
                r = fail(ret_error, "unknown key");
                goto finish;
        }

        if (!json_object_object_get_ex(o, "cmd", &v)) {
                r = fail(ret_error, "missing \"cmd\"");
                goto finish;
        }
        if (!json_object_is_type(v, json_type_string)) {
                r = fail(ret_error, "\"cmd\" must be a string");
                goto finish;
        }
        c.verb = verb_from_string(json_object_get_string(v));
        if (c.verb < 0) {
                r = fail(ret_error, "unknown command");
                goto finish;
        }

        static const struct {
                const char *key;
                size_t offset;
                const char *type_error, *value_error;
        } names[] = {
                { "athlete", offsetof(MqttCommand, athlete),
                  "\"athlete\" must be a string", "\"athlete\" must be 1-64 characters of [A-Za-z0-9_.-]" },
                { "protocol", offsetof(MqttCommand, protocol),
                  "\"protocol\" must be a string", "\"protocol\" must be 1-64 characters of [A-Za-z0-9_.-]" },
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                if (!json_object_object_get_ex(o, names[i].key, &v))
                        continue;
                if (i == 0 && c.verb != MQTT_COMMAND_START) {
                        r = fail(ret_error, "\"athlete\" is only valid with \"start\"");
                        goto finish;
                }
                if (i == 1 && c.verb != MQTT_COMMAND_START && c.verb != MQTT_COMMAND_SELECT) {
                        r = fail(ret_error, "\"protocol\" is only valid with \"start\" or \"select\"");
                        goto finish;
                }
                if (!json_object_is_type(v, json_type_string)) {
                        r = fail(ret_error, names[i].type_error);
                        goto finish;
                }
                const char *s = json_object_get_string(v);
                size_t n = (size_t) json_object_get_string_len(v);
                if (!name_valid(s, n) || strlen(s) != n) {
                        r = fail(ret_error, names[i].value_error);
                        goto finish;
                }
                memcpy((char *) &c + names[i].offset, s, n + 1);
        }

        if (c.verb == MQTT_COMMAND_SELECT && !*c.protocol) {
                r = fail(ret_error, "\"select\" needs \"protocol\"");
                goto finish;
        }
        r = parse_archive_keys(o, &c, ret_error);
        if (r < 0)
                goto finish;
        *ret = c;
        r = 0;
finish:
        json_object_put(o);
        return r;
}

int mqtt_command_reply_json(const char *id, bool ok, const char *error, char **ret_json) {
        json_object *o;
        char *s;

        if (!ret_json)
                return -EINVAL;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        if (id && *id)
                json_object_object_add(o, "id", json_object_new_string(id));
        json_object_object_add(o, "ok", json_object_new_boolean(ok));
        if (!ok)
                json_object_object_add(o, "error", json_object_new_string(error ? error : "failed"));

        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        if (!s)
                return -ENOMEM;
        *ret_json = s;
        return 0;
}
