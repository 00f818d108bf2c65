/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Strict reading of untrusted JSON documents (release descriptions, catalog, policy): a depth-limited, strict
 * tokener, a key path kept while walking, type checks before every getter, and one error
 * message per failure of the form "FILE: key.path: what is wrong".
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define NVV_JSON_MAX_DEPTH 16
#define NVV_JSON_PATH_MAX 512

struct nvv_json {
        const char *file;
        char path[NVV_JSON_PATH_MAX];
        char **err;                     /* where the message goes; may be NULL */
        /* Documentation keys check_keys lets pass besides "comment"; may be NULL. */
        bool (*doc_key)(const char *key);
};

static inline void json_object_putp(json_object **o)
{
        if (*o)
                (void) json_object_put(*o);
        *o = NULL;
}
#define _cleanup_json_ _cleanup_(json_object_putp)

/* Parse a whole document; anything but one strict JSON value is an error, and so are a key
 * twice in one object and an integer beyond int64 (json-c would keep the last and clamp). */
int nvv_json_parse(struct nvv_json *j, const char *data, size_t size, size_t max_size,
                   json_object **ret);

/* Record "FILE: path: message" (replacing an earlier one) and return -EINVAL. */
int nvv_json_fail(struct nvv_json *j, const char *fmt, ...) _printf_(2, 3);

/* Key path bookkeeping: push returns the old length for pop. */
size_t nvv_json_push(struct nvv_json *j, const char *key);
size_t nvv_json_push_index(struct nvv_json *j, size_t i);
void nvv_json_pop(struct nvv_json *j, size_t old);

/* Typed getters; on a type mismatch they fail at the current path. */
int nvv_json_get_u64(struct nvv_json *j, json_object *o, uint64_t max, uint64_t *ret);
int nvv_json_get_u32(struct nvv_json *j, json_object *o, uint32_t max, uint32_t *ret);
/* An integer written as a number or as a string holding one ("0x2080"): the form release
 * descriptions use for ids. */
int nvv_json_get_uint(struct nvv_json *j, json_object *o, uint64_t max, uint64_t *ret);
int nvv_json_get_uint32(struct nvv_json *j, json_object *o, uint32_t *ret);
int nvv_json_get_bool(struct nvv_json *j, json_object *o, bool *ret);
int nvv_json_get_string(struct nvv_json *j, json_object *o, size_t max_len, const char **ret);
int nvv_json_get_array(struct nvv_json *j, json_object *o, size_t max_len, size_t *ret_len);
int nvv_json_get_object(struct nvv_json *j, json_object *o);

/* Member lookup: a missing required key fails naming it; a missing optional one gives NULL. */
int nvv_json_member(struct nvv_json *j, json_object *obj, const char *key, bool required,
                    json_object **ret);

/* The same for a member that must be an object when present; a wrong type fails at its key. */
int nvv_json_member_object(struct nvv_json *j, json_object *obj, const char *key, bool required,
                           json_object **ret);

/* Refuse keys not in the NULL-terminated `allowed` list ("comment" and j->doc_key keys always pass). */
int nvv_json_check_keys(struct nvv_json *j, json_object *obj, const char *const *allowed);
