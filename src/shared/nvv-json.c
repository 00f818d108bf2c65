/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-json.h"
#include "util.h"

int nvv_json_fail(struct nvv_json *j, const char *fmt, ...)
{
        va_list ap;
        char *msg = NULL, *full = NULL;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (j->err && msg) {
                if (asprintf(&full, "%s: %s%s%s", j->file ? j->file : "<buffer>", j->path,
                             j->path[0] ? ": " : "", msg) < 0)
                        full = NULL;
                free(*j->err);
                *j->err = full;
        }
        free(msg);
        return -EINVAL;
}

size_t nvv_json_push(struct nvv_json *j, const char *key)
{
        size_t old = strlen(j->path);

        snprintf(j->path + old, sizeof(j->path) - old, "%s%s", old ? "." : "", key);
        return old;
}

size_t nvv_json_push_index(struct nvv_json *j, size_t i)
{
        size_t old = strlen(j->path);

        snprintf(j->path + old, sizeof(j->path) - old, "[%zu]", i);
        return old;
}

void nvv_json_pop(struct nvv_json *j, size_t old)
{
        j->path[old] = '\0';
}

int nvv_json_parse(struct nvv_json *j, const char *data, size_t size, size_t max_size,
                   json_object **ret)
{
        struct json_tokener *tok;
        json_object *root;
        enum json_tokener_error je;
        size_t end;

        assert_return(j && data && ret, -EINVAL);
        if (size > max_size || size > INT_MAX)
                return nvv_json_fail(j, "larger than %zu bytes", max_size);
        if (memchr(data, '\0', size))
                return nvv_json_fail(j, "contains a NUL byte");
        tok = json_tokener_new_ex(NVV_JSON_MAX_DEPTH);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        root = json_tokener_parse_ex(tok, data, (int) size);
        je = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!root || je != json_tokener_success || end < size) {
                size_t line = 1;

                for (size_t i = 0; i < end && i < size; i++)
                        line += data[i] == '\n';
                json_object_put(root);
                if (je == json_tokener_success || je == json_tokener_continue)
                        return nvv_json_fail(j, "line %zu: %s", line,
                                             je == json_tokener_continue ? "unexpected end of file"
                                                                         : "trailing data after the document");
                return nvv_json_fail(j, "line %zu: invalid JSON: %s", line, json_tokener_error_desc(je));
        }
        *ret = root;
        return 0;
}

int nvv_json_get_u64(struct nvv_json *j, json_object *o, uint64_t max, uint64_t *ret)
{
        int64_t v;

        if (!json_object_is_type(o, json_type_int))
                return nvv_json_fail(j, "expected a non-negative integer");
        errno = 0;
        v = json_object_get_int64(o);
        if (errno != 0 || v < 0)
                return nvv_json_fail(j, "expected a non-negative integer");
        if ((uint64_t) v > max)
                return nvv_json_fail(j, "%" PRId64 " is larger than %" PRIu64, v, max);
        *ret = (uint64_t) v;
        return 0;
}

int nvv_json_get_u32(struct nvv_json *j, json_object *o, uint32_t max, uint32_t *ret)
{
        uint64_t v;
        int r;

        r = nvv_json_get_u64(j, o, max, &v);
        if (r < 0)
                return r;
        *ret = (uint32_t) v;
        return 0;
}

int nvv_json_get_uint(struct nvv_json *j, json_object *o, uint64_t max, uint64_t *ret)
{
        if (json_object_is_type(o, json_type_int))
                return nvv_json_get_u64(j, o, max, ret);
        if (json_object_is_type(o, json_type_string)) {
                const char *s = json_object_get_string(o);
                uint64_t v;

                if (safe_atou64(s, &v) < 0)
                        return nvv_json_fail(j, "'%s' is not an integer", s);
                if (v > max)
                        return nvv_json_fail(j, "%s is larger than %" PRIu64, s, max);
                *ret = v;
                return 0;
        }
        return nvv_json_fail(j, "expected an integer");
}

int nvv_json_get_uint32(struct nvv_json *j, json_object *o, uint32_t *ret)
{
        uint64_t v;
        int r = nvv_json_get_uint(j, o, UINT32_MAX, &v);

        if (r < 0)
                return r;
        *ret = (uint32_t) v;
        return 0;
}

int nvv_json_get_bool(struct nvv_json *j, json_object *o, bool *ret)
{
        if (!json_object_is_type(o, json_type_boolean))
                return nvv_json_fail(j, "expected true or false");
        *ret = json_object_get_boolean(o);
        return 0;
}

int nvv_json_get_string(struct nvv_json *j, json_object *o, size_t max_len, const char **ret)
{
        const char *s;
        size_t n;

        if (!json_object_is_type(o, json_type_string))
                return nvv_json_fail(j, "expected a string");
        s = json_object_get_string(o);
        n = (size_t) json_object_get_string_len(o);
        if (n == 0)
                return nvv_json_fail(j, "must not be empty");
        if (n > max_len)
                return nvv_json_fail(j, "longer than %zu characters", max_len);
        if (strlen(s) != n)
                return nvv_json_fail(j, "contains a NUL character");
        *ret = s;
        return 0;
}

int nvv_json_get_array(struct nvv_json *j, json_object *o, size_t max_len, size_t *ret_len)
{
        size_t n;

        if (!json_object_is_type(o, json_type_array))
                return nvv_json_fail(j, "expected an array");
        n = json_object_array_length(o);
        if (n > max_len)
                return nvv_json_fail(j, "more than %zu entries", max_len);
        *ret_len = n;
        return 0;
}

int nvv_json_get_object(struct nvv_json *j, json_object *o)
{
        if (!json_object_is_type(o, json_type_object))
                return nvv_json_fail(j, "expected an object");
        return 0;
}

int nvv_json_member(struct nvv_json *j, json_object *obj, const char *key, bool required,
                    json_object **ret)
{
        json_object *o = NULL;

        if (!json_object_object_get_ex(obj, key, &o) || !o) {
                *ret = NULL;
                if (required)
                        return nvv_json_fail(j, "missing required key '%s'", key);
                return 0;
        }
        *ret = o;
        return 0;
}

int nvv_json_member_object(struct nvv_json *j, json_object *obj, const char *key, bool required,
                           json_object **ret)
{
        int r = nvv_json_member(j, obj, key, required, ret);

        if (r < 0 || !*ret)
                return r;
        if (!json_object_is_type(*ret, json_type_object)) {
                size_t old = nvv_json_push(j, key);

                r = nvv_json_fail(j, "expected an object");
                nvv_json_pop(j, old);
                return r;
        }
        return 0;
}

int nvv_json_check_keys(struct nvv_json *j, json_object *obj, const char *const *allowed)
{
        json_object_object_foreach(obj, k, v) {
                bool ok = streq(k, "comment") || (j->doc_key && j->doc_key(k));

                (void) v;
                for (size_t i = 0; !ok && allowed[i]; i++)
                        ok = streq(allowed[i], k);
                if (!ok)
                        return nvv_json_fail(j, "unknown key '%s'", k);
        }
        return 0;
}
