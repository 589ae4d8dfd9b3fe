/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/conf-reader.h"
#include "shared/macro.h"

static int keep(ConfReader *R, int r) {
        if (r < 0)
                R->n_errors++;
        /* -ENOMEM wins over -EINVAL: the caller should not report "invalid" for it. */
        if (r < 0 && (R->r == 0 || r == -ENOMEM))
                R->r = r;
        return r;
}

int conf_read_file(ConfReader *R, config_t *c, const char *path) {
        _cleanup_free_ char *copy = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        /* libconfig only says "file I/O error": look first, so that a missing file
         * becomes -ENOENT with the reason spelled out. */
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                int r = -errno;
                config_errors_add(R->errs, path, 0, "cannot open: %s", strerror(-r));
                return keep(R, r);
        }
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                config_errors_add(R->errs, path, 0, "cannot stat: %s", strerror(-r));
                return keep(R, r);
        }
        if (!S_ISREG(st.st_mode)) {
                config_errors_add(R->errs, path, 0, "not a regular file");
                return keep(R, -EISDIR);
        }
        /* libconfig's scanner is quadratic in the length of a string: a 10 MB string takes
         * about 40 s, longer than the watchdog if it comes with a reload. */
        if (st.st_size > CONF_FILE_MAX) {
                config_errors_add(R->errs, path, 0, "too large: %lld bytes (at most %d)", (long long) st.st_size,
                                  CONF_FILE_MAX);
                return keep(R, -EFBIG);
        }

        copy = strdup(path);
        if (!copy)
                return keep(R, -ENOMEM);

        config_set_options(c, CONFIG_OPTION_AUTOCONVERT);
        config_set_include_dir(c, dirname(copy));
        if (config_read_file(c, path) != CONFIG_TRUE) {
                if (config_error_type(c) == CONFIG_ERR_FILE_IO)
                        config_errors_add(R->errs, path, 0, "cannot read: %s", config_error_text(c));
                else
                        config_errors_add(R->errs, config_error_file(c) ?: path, config_error_line(c),
                                          "%s", config_error_text(c));
                return keep(R, -EINVAL);
        }
        return 0;
}

static const char *source_file(ConfReader *R, const config_setting_t *s) {
        /* Settings from an @include'd file carry that file's name. */
        const char *f = s ? config_setting_source_file(s) : NULL;
        return f ?: R->file;
}

int conf_error(ConfReader *R, const config_setting_t *at, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0) {
                msg = NULL;
                return keep(R, -ENOMEM);
        }
        r = config_errors_add(R->errs, source_file(R, at), at ? (int) config_setting_source_line(at) : 0,
                              "%s", msg);
        return keep(R, r == -ENOMEM ? -ENOMEM : -EINVAL);
}

static void path_append(const config_setting_t *s, FILE *f) {
        const config_setting_t *parent = config_setting_parent(s);
        const char *name = config_setting_name(s);

        if (!parent)
                return;
        path_append(parent, f);
        if (name)
                fprintf(f, "%s%s", config_setting_parent(parent) ? "." : "", name);
        else
                fprintf(f, "[%d]", config_setting_index(s));
}

char *conf_path(const config_setting_t *s) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        if (s)
                path_append(s, f);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* "parent.key", or "key" at the root. */
static char *member_path(const config_setting_t *parent, const char *key) {
        _cleanup_free_ char *p = conf_path(parent);
        char *s;

        if (!p)
                return NULL;
        if (asprintf(&s, "%s%s%s", p, *p ? "." : "", key) < 0)
                return NULL;
        return s;
}

int conf_error_missing(ConfReader *R, const config_setting_t *parent, const char *key) {
        _cleanup_free_ char *p = member_path(parent, key);

        if (!p)
                return keep(R, -ENOMEM);
        return conf_error(R, parent, "%s is required", p);
}

#define ERR_AT(R, s, fmt, ...)                                                  \
        ({                                                                      \
                _cleanup_free_ char *_p = conf_path(s);                         \
                _p ? conf_error(R, s, "%s " fmt, _p, ##__VA_ARGS__) : keep(R, -ENOMEM); \
        })

int conf_check_keys(ConfReader *R, const config_setting_t *group, const char *const *keys) {
        int r = 0;

        if (!group)
                return 0;
        if (!config_setting_is_group(group))
                return ERR_AT(R, group, "must be a group { ... }");

        for (int i = 0; i < config_setting_length(group); i++) {
                const config_setting_t *m = config_setting_get_elem(group, (unsigned) i);
                const char *name = config_setting_name(m);
                bool found = false;

                for (const char *const *k = keys; *k; k++)
                        if (name && strcmp(*k, name) == 0) {
                                found = true;
                                break;
                        }
                if (!found) {
                        _cleanup_free_ char *p = conf_path(m);
                        r = p ? conf_error(R, m, "unknown key \"%s\"", p) : keep(R, -ENOMEM);
                }
        }
        return r;
}

config_setting_t *conf_member(const config_setting_t *group, const char *key) {
        if (!group || !config_setting_is_group(group))
                return NULL;
        return config_setting_get_member(group, key);
}

int conf_get_string(ConfReader *R, const config_setting_t *s, char **ret) {
        const char *v;
        char *copy = NULL;

        if (config_setting_type(s) != CONFIG_TYPE_STRING)
                return ERR_AT(R, s, "must be a string");
        v = config_setting_get_string(s);
        if (v && *v) {
                copy = strdup(v);
                if (!copy)
                        return keep(R, -ENOMEM);
        }
        free(*ret);
        *ret = copy;
        return 1;
}

int conf_get_bool(ConfReader *R, const config_setting_t *s, bool *ret) {
        if (config_setting_type(s) != CONFIG_TYPE_BOOL)
                return ERR_AT(R, s, "must be true or false");
        *ret = config_setting_get_bool(s);
        return 1;
}

/* Any number as a double; false if not a number. */
static bool get_number(const config_setting_t *s, double *ret) {
        switch (config_setting_type(s)) {
        case CONFIG_TYPE_INT:
                *ret = config_setting_get_int(s);
                return true;
        case CONFIG_TYPE_INT64:
                *ret = (double) config_setting_get_int64(s);
                return true;
        case CONFIG_TYPE_FLOAT:
                *ret = config_setting_get_float(s);
                return true;
        default:
                return false;
        }
}

static int get_integer(ConfReader *R, const config_setting_t *s, double min, double max, long long *ret) {
        double v;

        /* 7.0 is accepted where an integer is expected: CONFIG_OPTION_AUTOCONVERT's spirit. */
        if (!get_number(s, &v) || !isfinite(v) || v != floor(v))
                return ERR_AT(R, s, "must be an integer");
        if (v < min || v > max)
                return ERR_AT(R, s, "must be between %.0f and %.0f, not %.0f", min, max, v);
        *ret = (long long) v;
        return 1;
}

int conf_get_uint(ConfReader *R, const config_setting_t *s, uint32_t min, uint32_t max, uint32_t *ret) {
        long long v;
        int r = get_integer(R, s, min, max, &v);
        if (r > 0)
                *ret = (uint32_t) v;
        return r;
}

int conf_get_int(ConfReader *R, const config_setting_t *s, int min, int max, int *ret) {
        long long v;
        int r = get_integer(R, s, min, max, &v);
        if (r > 0)
                *ret = (int) v;
        return r;
}

int conf_get_double(ConfReader *R, const config_setting_t *s, double min, double max, double *ret) {
        double v;

        if (!get_number(s, &v))
                return ERR_AT(R, s, "must be a number");
        if (!isfinite(v))
                return ERR_AT(R, s, "must be a finite number");
        if (v < min || v > max)
                return ERR_AT(R, s, "must be between %g and %g, not %g", min, max, v);
        *ret = v;
        return 1;
}

int conf_get_ms(ConfReader *R, const config_setting_t *s, double min_s, double max_s, uint32_t *ret_ms) {
        double v;
        int r = conf_get_double(R, s, min_s, max_s, &v);
        if (r > 0)
                *ret_ms = (uint32_t) llround(v * 1000.0);
        return r;
}

int conf_group(ConfReader *R, const config_setting_t *parent, const char *key, config_setting_t **ret) {
        config_setting_t *s = conf_member(parent, key);

        if (!s)
                return 0;
        if (!config_setting_is_group(s))
                return ERR_AT(R, s, "must be a group { ... }");
        *ret = s;
        return 1;
}

int conf_list(ConfReader *R, const config_setting_t *parent, const char *key, config_setting_t **ret) {
        config_setting_t *s = conf_member(parent, key);

        if (!s)
                return 0;
        if (!config_setting_is_list(s) && !config_setting_is_array(s))
                return ERR_AT(R, s, "must be a list ( ... ) or array [ ... ]");
        *ret = s;
        return 1;
}

#define KEYED(call)                                        \
        ({                                                 \
                config_setting_t *_s = conf_member(g, key); \
                _s ? (call) : 0;                           \
        })

int conf_string(ConfReader *R, const config_setting_t *g, const char *key, char **ret) {
        return KEYED(conf_get_string(R, _s, ret));
}
int conf_bool(ConfReader *R, const config_setting_t *g, const char *key, bool *ret) {
        return KEYED(conf_get_bool(R, _s, ret));
}
int conf_uint(ConfReader *R, const config_setting_t *g, const char *key, uint32_t min, uint32_t max, uint32_t *ret) {
        return KEYED(conf_get_uint(R, _s, min, max, ret));
}
int conf_int(ConfReader *R, const config_setting_t *g, const char *key, int min, int max, int *ret) {
        return KEYED(conf_get_int(R, _s, min, max, ret));
}
int conf_double(ConfReader *R, const config_setting_t *g, const char *key, double min, double max, double *ret) {
        return KEYED(conf_get_double(R, _s, min, max, ret));
}
int conf_ms(ConfReader *R, const config_setting_t *g, const char *key, double min_s, double max_s, uint32_t *ret_ms) {
        return KEYED(conf_get_ms(R, _s, min_s, max_s, ret_ms));
}

/* ---- tables ---- */

static bool item_has_string(const ConfItem *it) {
        return it->kind == CONF_KIND_STRING;
}

int conf_items_defaults(const ConfItem *items, void *section) {
        for (const ConfItem *it = items; it->key; it++) {
                /* The parser of an OTHER item knows its type, so it cannot have a default here. */
                assert(it->kind != CONF_KIND_OTHER || it->def.u == 0);
                if (it->module)
                        continue;
                switch (it->kind) {
                case CONF_KIND_BOOL:
                        *CONF_FIELD(section, it, bool) = it->def.b;
                        break;
                case CONF_KIND_UINT:
                        *CONF_FIELD(section, it, uint32_t) = it->def.u;
                        break;
                case CONF_KIND_INT:
                        *CONF_FIELD(section, it, int) = it->def.i;
                        break;
                case CONF_KIND_DOUBLE:
                        *CONF_FIELD(section, it, double) = it->def.d;
                        break;
                case CONF_KIND_STRING: {
                        char **p = CONF_FIELD(section, it, char *);
                        char *copy = NULL;

                        if (it->def.s && !(copy = strdup(it->def.s)))
                                return -ENOMEM;
                        free(*p);
                        *p = copy;
                        break;
                }
                case CONF_KIND_OTHER:
                        break;
                }
        }
        return 0;
}

void conf_items_free(const ConfItem *items, void *section) {
        for (const ConfItem *it = items; it->key; it++)
                if (item_has_string(it)) {
                        char **p = CONF_FIELD(section, it, char *);
                        free(*p);
                        *p = NULL;
                }
}

bool conf_items_equal(const ConfItem *items, const void *a, const void *b) {
        for (const ConfItem *it = items; it->key; it++) {
                void *x = (void *) a, *y = (void *) b;
                bool same;

                if (it->live)
                        continue;
                switch (it->kind) {
                case CONF_KIND_BOOL:
                        same = *CONF_FIELD(x, it, bool) == *CONF_FIELD(y, it, bool);
                        break;
                case CONF_KIND_UINT:
                        same = *CONF_FIELD(x, it, uint32_t) == *CONF_FIELD(y, it, uint32_t);
                        break;
                case CONF_KIND_INT:
                        same = *CONF_FIELD(x, it, int) == *CONF_FIELD(y, it, int);
                        break;
                case CONF_KIND_DOUBLE:
                        same = *CONF_FIELD(x, it, double) == *CONF_FIELD(y, it, double);
                        break;
                case CONF_KIND_STRING: {
                        const char *p = *CONF_FIELD(x, it, char *), *q = *CONF_FIELD(y, it, char *);
                        same = p == q || (p && q && strcmp(p, q) == 0);
                        break;
                }
                default:
                        same = true;
                }
                if (!same)
                        return false;
        }
        return true;
}

const ConfItem *conf_items_find(const ConfItem *items, const char *key) {
        for (const ConfItem *it = items; key && it->key; it++)
                if (strcmp(it->key, key) == 0)
                        return it;
        return NULL;
}

static bool key_known(const ConfItem *items, const char *const *extra, const char *name) {
        if (conf_items_find(items, name))
                return true;
        for (const char *const *k = extra; k && *k; k++)
                if (strcmp(*k, name) == 0)
                        return true;
        return false;
}

int conf_items_read(ConfReader *R, const config_setting_t *g, const ConfItem *items, const char *const *extra_keys,
                    void *section, void *ctx) {
        int first = 0;

        if (!g)
                return 0;
        if (!config_setting_is_group(g))
                return ERR_AT(R, g, "must be a group { ... }");

        for (int i = 0; i < config_setting_length(g); i++) {
                const config_setting_t *m = config_setting_get_elem(g, (unsigned) i);
                const char *name = config_setting_name(m);

                if (!name || !key_known(items, extra_keys, name)) {
                        _cleanup_free_ char *p = conf_path(m);
                        int r = p ? conf_error(R, m, "unknown key \"%s\"", p) : keep(R, -ENOMEM);
                        first = first ?: r;
                }
        }
        for (const ConfItem *it = items; it->key; it++) {
                const config_setting_t *s = config_setting_get_member(g, it->key);
                int r;

                assert(it->parse);
                if (!s)
                        r = it->required ? conf_error_missing(R, g, it->key) : 0;
                else
                        r = it->parse(R, s, it, section, ctx);
                if (r < 0)
                        first = first ?: r;
        }
        return first;
}

int conf_parse_bool(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        (void) ctx;
        return conf_get_bool(R, s, CONF_FIELD(section, item, bool));
}

int conf_parse_uint(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        (void) ctx;
        return conf_get_uint(R, s, (uint32_t) item->min, (uint32_t) item->max, CONF_FIELD(section, item, uint32_t));
}

int conf_parse_int(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        (void) ctx;
        return conf_get_int(R, s, (int) item->min, (int) item->max, CONF_FIELD(section, item, int));
}

int conf_parse_double(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        (void) ctx;
        return conf_get_double(R, s, item->min, item->max, CONF_FIELD(section, item, double));
}

int conf_parse_ms(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        (void) ctx;
        return conf_get_ms(R, s, item->min, item->max, CONF_FIELD(section, item, uint32_t));
}

int conf_parse_string(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        (void) ctx;
        return conf_get_string(R, s, CONF_FIELD(section, item, char *));
}

int conf_parse_nonempty(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        char **p = CONF_FIELD(section, item, char *);
        int r = conf_parse_string(R, s, item, section, ctx);

        if (r > 0 && !*p)
                return ERR_AT(R, s, "must not be empty");
        return r;
}

char *conf_path_join(const char *base, const char *p) {
        char *s;

        if (p[0] == '/' || !base)
                return strdup(p);
        if (asprintf(&s, "%s/%s", base, p) < 0)
                return NULL;
        return s;
}

int conf_parse_path(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        char **p = CONF_FIELD(section, item, char *);
        char *joined;
        int r = conf_parse_string(R, s, item, section, ctx);

        if (r <= 0 || !*p)
                return r;    /* "" means unset */
        joined = conf_path_join(R->base, *p);
        if (!joined)
                return keep(R, -ENOMEM);
        free(*p);
        *p = joined;
        return 1;
}

int conf_parse_path_nonempty(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section,
                             void *ctx) {
        int r = conf_parse_path(R, s, item, section, ctx);

        if (r > 0 && !*CONF_FIELD(section, item, char *))
                return ERR_AT(R, s, "must not be empty");
        return r;
}
