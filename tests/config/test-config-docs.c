/* SPDX-License-Identifier: MIT */
/* docs/config.md describes every key of the settings tables (config_sections), and where a
 * section has a table of keys, each row's default is the value config_load() actually
 * stores when the key is absent and each row's limits are the table's. argv[1] =
 * docs/config.md. */
#include <errno.h>
#include <math.h>

#include "config/config-tables.h"
#include "config/config.h"
#include "config-test.h"
#include "shared/macro.h"

static char *docs;
static Config *loaded;

/* Where each section's keys are described: from the first marker to the next end marker. */
typedef struct Region {
        const char *section;
        const char *start, *end;
        bool table;                /* a "| key | type | default | ..." table */
} Region;

static const Region regions[] = {
        { "hub", "### `hub`", "\n### ", true },
        { "paths", "### `paths`", "\n### ", true },
        { "engine", "### `engine`", "\n### ", true },
        { "switch", "### `switch`", "\n### ", true },
        { "gpio", "### `gpio`", "\n### ", true },
        { "ble", "### `ble`", "Each tag:", true },
        { "ble.tags[]", "Each tag:", "\n### ", false },
        { "mqtt", "### `mqtt`", "\n### ", true },
        { "audio", "### `audio`", "\n### ", true },
        { "stations[]", "### `stations`", "Each tool:", true },
        { "stations[].tools[]", "Each tool:", "GPIO lines", false },
        { "stations[].switch", "`switch` group:", "`cues` group:", true },
        { "stations[].cues", "`cues` group:", "`audio` group:", false },
        { "stations[].audio", "`audio` group:", "## In C", false },
        { "stations[].engine", "### `engine`", "\n### ", true },
};

static const Region *region_of(const char *section) {
        for (size_t i = 0; i < ELEMENTSOF(regions); i++)
                if (strcmp(regions[i].section, section) == 0)
                        return &regions[i];
        return NULL;
}

/* The region's text (malloc'd), or NULL. */
static char *region_text(const Region *g) {
        const char *a = strstr(docs, g->start), *b;

        if (!a)
                return NULL;
        b = strstr(a + strlen(g->start), g->end);
        return strndup(a, b ? (size_t) (b - a) : strlen(a));
}

/* The struct a section's offsets are relative to, in the loaded example of defaults. */
static void *section_base(const char *section) {
        ConfigStation *st = &loaded->stations[0];

        if (!strcmp(section, "hub") || !strcmp(section, "paths") || !strcmp(section, "switch"))
                return loaded;
        if (!strcmp(section, "engine") || !strcmp(section, "stations[].engine"))
                return &st->engine;
        if (!strcmp(section, "gpio"))
                return &loaded->gpio;
        if (!strcmp(section, "ble"))
                return &loaded->ble;
        if (!strcmp(section, "mqtt"))
                return &loaded->mqtt;
        if (!strcmp(section, "audio"))
                return &loaded->audio;
        if (!strcmp(section, "stations[]"))
                return st;
        if (!strcmp(section, "stations[].switch"))
                return &st->sw;
        return NULL;
}

/* Column col (0 = keys, 2 = default, 3 = limits in a five-column table) of key's row in a
 * table region, as its own string: for a row of several keys, that key's part. NULL if
 * there is no such row or column. */
static char *row_cell(const char *text, const char *key, size_t col) {
        _cleanup_free_ char *quoted = NULL;
        const char *line = text;

        BAIL_UNLESS(asprintf(&quoted, "`%s`", key) > 0);
        for (; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                const char *eol = strchr(line, '\n') ?: line + strlen(line);
                _cleanup_free_ char *row = strndup(line, (size_t) (eol - line));
                char *cells[6] = {}, *save = NULL, *c;
                size_t n = 0, index = 0;

                if (!row || row[0] != '|')
                        continue;
                for (c = strtok_r(row, "|", &save); c && n < ELEMENTSOF(cells); c = strtok_r(NULL, "|", &save))
                        cells[n++] = c;
                if (n < 3 || !strstr(cells[0], quoted))
                        continue;
                if (col >= n - 1)   /* the last column is the meaning */
                        return NULL;
                /* "`a`, `b`" with defaults "1, 2": the key's position picks its default. */
                for (const char *p = cells[0]; (p = strchr(p, '`')) && !(strncmp(p, quoted, strlen(quoted)) == 0);
                     p = strchr(p + 1, '`') + 1)
                        index++;
                char *d = cells[col], *part = NULL;
                for (size_t k = 0; (part = strtok_r(k == 0 ? d : NULL, ",", &save)) && k < index; k++)
                        ;
                if (!part)
                        return NULL;
                while (*part == ' ')
                        part++;
                for (char *end = part + strlen(part); end > part && end[-1] == ' ';)
                        *--end = 0;
                return strdup(part);
        }
        return NULL;
}

/* The value inside the first `...`, without surrounding double quotes (a new string). */
static char *unquote(const char *cell) {
        const char *a = strchr(cell, '`'), *b = a ? strchr(a + 1, '`') : NULL;
        char *s = a && b ? strndup(a + 1, (size_t) (b - a - 1)) : strdup(cell);
        size_t n = s ? strlen(s) : 0;

        if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
                memmove(s, s + 1, n - 2);
                s[n - 2] = 0;
        }
        return s;
}

static bool default_matches(const ConfItem *it, void *base, const char *cell) {
        _cleanup_free_ char *v = unquote(cell);

        if (it->required)
                return strncmp(cell, "required", 8) == 0;
        switch (it->kind) {
        case CONF_KIND_BOOL:
                return strcmp(v, *CONF_FIELD(base, it, bool) ? "true" : "false") == 0;
        case CONF_KIND_UINT:
        case CONF_KIND_INT:
        case CONF_KIND_DOUBLE: {
                double actual = it->kind == CONF_KIND_UINT ? *CONF_FIELD(base, it, uint32_t) :
                                it->kind == CONF_KIND_INT  ? *CONF_FIELD(base, it, int) :
                                                             *CONF_FIELD(base, it, double);
                char *end;
                double documented = strtod(v, &end);

                if (end == v)
                        return false;
                if (it->parse == conf_parse_ms)   /* documented in seconds, stored in ms */
                        actual /= 1000.0;
                return fabs(actual - documented) < 1e-9;
        }
        case CONF_KIND_STRING: {
                const char *actual = *CONF_FIELD(base, it, char *);

                if (strncmp(cell, "none", 4) == 0 || strcmp(v, "") == 0)
                        return actual == NULL;
                if (strchr(v, '<'))   /* depends on the build or another key: described, not a value */
                        return actual != NULL;
                return actual && strcmp(actual, v) == 0;
        }
        case CONF_KIND_OTHER:
                return true;
        }
        return false;
}

/* "10 … 86400": the item's limits (seconds for conf_parse_ms items, as they are written).
 * Limits written in words ("3 or 5") must name both bounds. */
static bool limits_match(const ConfItem *it, const char *cell) {
        const char *dots = strstr(cell, "…");
        char lo[32], hi[32];

        snprintf(lo, sizeof lo, "%g", it->min);
        snprintf(hi, sizeof hi, "%g", it->max);
        if (!dots)
                return strstr(cell, lo) && strstr(cell, hi);
        char *end;
        double a = strtod(cell, &end), b = strtod(dots + strlen("…"), NULL);
        return end != cell && a == it->min && b == it->max;
}

static bool is_number(const ConfItem *it) {
        return it->kind == CONF_KIND_UINT || it->kind == CONF_KIND_INT || it->kind == CONF_KIND_DOUBLE;
}

static void test_every_key(void) {
        size_t n_keys = 0, n_defaults = 0, n_limits = 0;

        for (const ConfigSection *sec = config_sections; sec->path; sec++) {
                const Region *g = region_of(sec->path);
                _cleanup_free_ char *text = NULL;
                void *base = section_base(sec->path);

                if (!g)
                        TAP_FAIL("section %s has no place in docs/config.md (add it to this test's regions)", sec->path);
                text = region_text(g);
                if (!text)
                        TAP_FAIL("docs/config.md has no \"%s\" for section %s", g->start, sec->path);
                for (const ConfItem *it = sec->items; it->key; it++) {
                        _cleanup_free_ char *quoted = NULL, *assigned = NULL, *cell = NULL;

                        /* `key` in a table or the prose, or `key = ...` in an example */
                        BAIL_UNLESS(asprintf(&quoted, "`%s`", it->key) > 0);
                        BAIL_UNLESS(asprintf(&assigned, "`%s = ", it->key) > 0);
                        n_keys++;
                        if (!strstr(text, quoted) && !strstr(text, assigned))
                                TAP_FAIL("docs/config.md does not describe %s.%s", sec->path, it->key);
                        if (!g->table)
                                continue;
                        cell = row_cell(text, it->key, 2);
                        if (!cell)
                                TAP_FAIL("docs/config.md has no table row for %s.%s", sec->path, it->key);
                        BAIL_UNLESS(base);
                        if (!default_matches(it, base, cell))
                                TAP_FAIL("docs/config.md gives %s.%s the default \"%s\", the reader another", sec->path,
                                         it->key, cell);
                        n_defaults++;
                        free(cell);
                        cell = row_cell(text, it->key, 3);
                        if (!cell || !is_number(it))
                                continue;   /* no limits column, or not a number */
                        if (!limits_match(it, cell))
                                TAP_FAIL("docs/config.md gives %s.%s the limits \"%s\", the table %g … %g", sec->path,
                                         it->key, cell, it->min, it->max);
                        n_limits++;
                }
        }
        printf("# %zu keys described, %zu defaults and %zu limits as documented\n", n_keys, n_defaults, n_limits);
        CHECK(n_keys > 60);
        CHECK(n_defaults > 50);
        CHECK(n_limits > 25);
}

/* The check itself must be able to fail: a key the docs do not have, a wrong default. */
static void test_check_fails(void) {
        static const ConfItem fake[] = {
                { .key = "keepalive_s", .kind = CONF_KIND_UINT, .offset = offsetof(ConfigMqtt, client.keepalive_s) },
                CONF_ITEMS_END,
        };
        _cleanup_free_ char *text = region_text(region_of("mqtt")), *cell = NULL;
        ConfigMqtt m = { .client.keepalive_s = 31 };

        CHECK(text);
        CHECK(!strstr(text, "`no_such_key`"));
        cell = row_cell(text, "keepalive_s", 2);
        CHECK_STR(cell, "30");
        CHECK(!default_matches(&fake[0], &m, cell));
        m.client.keepalive_s = 30;
        CHECK(default_matches(&fake[0], &m, cell));
}

static const TapCase cases[] = {
        { "every-key", test_every_key },
        { "check-fails", test_check_fails },
};

int main(int argc, char **argv) {
        ConfigErrors e = {};
        FILE *f;
        size_t len = 0;
        int r;

        BAIL_UNLESS(argc >= 2);
        f = fopen(argv[1], "re");
        BAIL_UNLESS(f);
        BAIL_UNLESS(getdelim(&docs, &len, '\0', f) > 0);
        fclose(f);

        test_dir_create();
        free(test_write("d/protos/p.conf",
                        "title = \"P\";\n"
                        "steps = ( { point = \"s\"; label = \"S\"; kind = \"stretch\"; start = \"timer\"; target_hold_s = 20; } );\n"));
        _cleanup_free_ char *path = test_write("d/tphub.conf",
                                               "hub = { name = \"h\"; };\n"
                                               "paths = { protocols = [ \"protos\" ]; };\n"
                                               "stations = ( { name = \"s\"; protocol = \"p\";\n"
                                               "  switch = { chip = \"c\"; line = 1; }; audio = { }; } );\n");
        r = config_load(path, &loaded, &e);
        for (size_t i = 0; i < e.n; i++)
                printf("# %s\n", e.msgs[i]);
        config_errors_clear(&e);
        BAIL_UNLESS(r == 0);

        r = tap_run(cases, ELEMENTSOF(cases), argc - 1, argv + 1);
        config_free(loaded);
        free(docs);
        return r;
}
