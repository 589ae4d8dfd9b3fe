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
