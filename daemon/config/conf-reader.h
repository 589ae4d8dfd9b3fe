/* SPDX-License-Identifier: MIT */
#pragma once

/* Typed, range-checked reads from a libconfig tree that report every problem to a
 * ConfigErrors with the file and line of the offending setting. Internal to config/.
 *
 * Each getter returns 1 when the value was present and valid (stored in *ret), 0 when
 * absent (*ret untouched, so callers preset defaults), or a negative errno after
 * reporting the problem. The first failure is also kept in ConfReader.r so that a
 * caller can read a whole group and check once at the end. */

#include <libconfig.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config-errors.h"

typedef struct ConfReader {
        const char *file;   /* named in messages */
        const char *base;   /* relative paths resolve against this directory (conf_parse_path) */
        ConfigErrors *errs;
        int r;              /* 0, or the first error (-EINVAL, -ENOMEM) */
        unsigned n_errors;  /* problems reported through this reader */
} ConfReader;

/* Reads and parses a file. Syntax errors are reported (with the file libconfig names,
 * which differs for @include'd files). @include paths resolve against the file's
 * directory. Returns 0, -ENOENT (reported too), -EINVAL or -ENOMEM. */
/* Configuration and protocol files larger than this are refused before parsing. */
#define CONF_FILE_MAX (1024 * 1024)
int conf_read_file(ConfReader *R, config_t *c, const char *path);

int conf_error(ConfReader *R, const config_setting_t *at, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* A missing key is reported at its parent's line. */
int conf_error_missing(ConfReader *R, const config_setting_t *parent, const char *key);

/* "stations[1].engine.idle_timeout_s"; "" for the root. NULL on OOM. */
char *conf_path(const config_setting_t *s);

/* Reports every member of group whose name is not in keys (NULL-terminated). */
int conf_check_keys(ConfReader *R, const config_setting_t *group, const char *const *keys);

/* Member lookup that tolerates group == NULL. */
config_setting_t *conf_member(const config_setting_t *group, const char *key);

/* Setting-level getters (s != NULL). */
int conf_get_string(ConfReader *R, const config_setting_t *s, char **ret);  /* "" -> NULL */
int conf_get_bool(ConfReader *R, const config_setting_t *s, bool *ret);
int conf_get_uint(ConfReader *R, const config_setting_t *s, uint32_t min, uint32_t max, uint32_t *ret);
int conf_get_int(ConfReader *R, const config_setting_t *s, int min, int max, int *ret);
int conf_get_double(ConfReader *R, const config_setting_t *s, double min, double max, double *ret);
/* Seconds (integer or float) as whole milliseconds, rounded to nearest. */
int conf_get_ms(ConfReader *R, const config_setting_t *s, double min_s, double max_s, uint32_t *ret_ms);

/* Keyed getters: 0 when group is NULL or key absent. conf_string() frees the old *ret. */
int conf_group(ConfReader *R, const config_setting_t *parent, const char *key, config_setting_t **ret);
int conf_list(ConfReader *R, const config_setting_t *parent, const char *key, config_setting_t **ret);
int conf_string(ConfReader *R, const config_setting_t *g, const char *key, char **ret);
int conf_bool(ConfReader *R, const config_setting_t *g, const char *key, bool *ret);
int conf_uint(ConfReader *R, const config_setting_t *g, const char *key, uint32_t min, uint32_t max, uint32_t *ret);
int conf_int(ConfReader *R, const config_setting_t *g, const char *key, int min, int max, int *ret);
int conf_double(ConfReader *R, const config_setting_t *g, const char *key, double min, double max, double *ret);
int conf_ms(ConfReader *R, const config_setting_t *g, const char *key, double min_s, double max_s, uint32_t *ret_ms);

/* ---- settings declared once: a section is a table of ConfItem ----
 *
 * Each row names a key, the parser that reads it, where the value goes (an offset into the
 * section's struct), its limits and its default. conf_items_defaults() stores every default,
 * conf_items_read() checks a group's keys against the table and parses each key present, in
 * table order (so messages come out in a stable order). Defaults marked .module are the
 * owning module's: the caller initialises the struct from the module's initializer
 * (ENGINE_PARAMS_DEFAULT, ...) and the table only records that. */

typedef struct ConfItem ConfItem;

/* Reads the present setting s into the item's destination in section. 1 when stored, or a
 * negative errno after reporting. ctx is what conf_items_read() was given. */
typedef int (*ConfParser)(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section,
                          void *ctx);

typedef union ConfValue {
        bool b;
        uint32_t u;
        int i;
        double d;
        const char *s;      /* strdup()ed into the destination; NULL = unset */
} ConfValue;

typedef enum ConfKind {
        CONF_KIND_BOOL,
        CONF_KIND_UINT,     /* uint32_t (also milliseconds from seconds) */
        CONF_KIND_INT,
        CONF_KIND_DOUBLE,
        CONF_KIND_STRING,   /* char *, owned */
        CONF_KIND_OTHER,    /* the parser knows the type; no default stored */
} ConfKind;

struct ConfItem {
        const char *key;
        ConfParser parse;
        ConfKind kind;
        size_t offset;
        double min, max;    /* numbers: inclusive limits (seconds for conf_parse_ms) */
        ConfValue def;
        bool required;      /* absent: "X is required" */
        bool module;        /* the default comes from the module's initializer, not def */
        bool live;          /* read where it is used, so a change needs no restart: conf_items_equal()
                             * does not compare it */
        const char *what;   /* for the format parsers' messages ("tool address"), else NULL */
};

#define CONF_ITEMS_END { .key = NULL }

/* Stores each item's default (strings strdup()ed, freeing what was there). -ENOMEM. */
int conf_items_defaults(const ConfItem *items, void *section);
/* Frees each string item of section and sets it NULL. */
void conf_items_free(const ConfItem *items, void *section);
/* Checks g's keys (the items' and extra_keys, NULL-terminated, may be NULL), then reads every
 * item present. g may be NULL (nothing to read). Returns the first error, or 0. */
int conf_items_read(ConfReader *R, const config_setting_t *g, const ConfItem *items, const char *const *extra_keys,
                    void *section, void *ctx);
/* Whether two sections hold the same values for every item that needs a restart when it
 * changes (not .live ones; nor CONF_KIND_OTHER ones: the caller knows their type). */
bool conf_items_equal(const ConfItem *items, const void *a, const void *b);
/* The item named key, or NULL. */
const ConfItem *conf_items_find(const ConfItem *items, const char *key);

#define CONF_FIELD(section, item, type) ((type *) ((char *) (section) + (item)->offset))

/* Generic parsers: limits from min/max. conf_parse_ms takes seconds and stores whole
 * milliseconds; conf_parse_string stores "" as NULL; conf_parse_nonempty refuses "";
 * conf_parse_path resolves against R->base ("" = unset); conf_parse_path_nonempty refuses "". */
int conf_parse_bool(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx);
int conf_parse_uint(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx);
int conf_parse_int(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx);
int conf_parse_double(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx);
int conf_parse_ms(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx);
int conf_parse_string(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx);
int conf_parse_nonempty(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx);
int conf_parse_path(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx);
int conf_parse_path_nonempty(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section,
                             void *ctx);

/* A relative path joined to base (absolute ones copied). NULL on OOM. */
char *conf_path_join(const char *base, const char *p);
