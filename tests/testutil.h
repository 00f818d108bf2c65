/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the cmocka unit tests. cmocka needs these headers first, in this order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-fwabi-load.h"
#include "nvv-fwabi.h"
#include "nvv-fwdb.h"
#include "util.h"

/* The release descriptions under test: $NVVGPU_FWABI_DIR (set by `make check`). */
static inline const char *test_fwabi_dir(void)
{
        const char *d = getenv("NVVGPU_FWABI_DIR");

        if (!d) {
                fprintf(stderr, "NVVGPU_FWABI_DIR is not set; run through `make check`\n");
                abort();
        }
        return d;
}

static inline struct nvv_fwdb *test_load_db(void)
{
        struct nvv_fwdb *db = NULL;
        char *msg = NULL;

        if (nvv_fwdb_new(&db) < 0 || nvv_fwdb_load_dir(db, test_fwabi_dir(), &msg) < 0) {
                fprintf(stderr, "loading %s: %s\n", test_fwabi_dir(), msg ? msg : "?");
                abort();
        }
        free(msg);
        return db;
}

/* A release's JSON document, to mutate and load again. */
static inline json_object *test_release_json(const char *release)
{
        char path[4096];
        json_object *o;

        snprintf(path, sizeof(path), "%s/%s.json", test_fwabi_dir(), release);
        o = json_object_from_file(path);
        if (!o) {
                fprintf(stderr, "cannot read %s\n", path);
                abort();
        }
        return o;
}

/* Load a JSON document as a description; returns the error code, *msg the message. */
static inline int test_load_json(json_object *doc, const char *name, struct nvv_fwabi **ret, char **msg)
{
        const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);

        return nvv_fwabi_load_buffer(s, strlen(s), name, ret, msg);
}

/* Find a struct's field object inside a JSON description. */
static inline json_object *test_json_field(json_object *doc, const char *sname, const char *fname)
{
        json_object *structs, *s, *fields;

        if (!json_object_object_get_ex(doc, "structs", &structs) || !json_object_object_get_ex(structs, sname, &s) ||
            !json_object_object_get_ex(s, "fields", &fields))
                return NULL;
        for (size_t i = 0; i < json_object_array_length(fields); i++) {
                json_object *f = json_object_array_get_idx(fields, i), *n;

                if (json_object_object_get_ex(f, "name", &n) && strcmp(json_object_get_string(n), fname) == 0)
                        return f;
        }
        return NULL;
}

#define assert_strstr(haystack, needle)                                                         \
        do {                                                                                    \
                const char *_h = (haystack), *_n = (needle);                                    \
                if (!_h || !strstr(_h, _n))                                                     \
                        fail_msg("expected \"%s\" in \"%s\"", _n, _h ? _h : "(null)");          \
        } while (0)

/* Little-endian helpers for hand-built expected bytes. */
static inline void put32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
        p[2] = (uint8_t) (v >> 16);
        p[3] = (uint8_t) (v >> 24);
}

static inline void put16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

static inline void put64(uint8_t *p, uint64_t v)
{
        put32(p, (uint32_t) v);
        put32(p + 4, (uint32_t) (v >> 32));
}

static inline uint32_t get32(const uint8_t *p)
{
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}
