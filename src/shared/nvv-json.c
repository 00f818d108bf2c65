/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <inttypes.h>
#include <json-c/linkhash.h>
#include <limits.h>
#include <pthread.h>
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

/* Pushed for every member a parser reads, failing or not: copied, not formatted. Cut short
 * where the path is full, as snprintf would. */
size_t nvv_json_push(struct nvv_json *j, const char *key)
{
        size_t old = strlen(j->path), n = old, k;

        if (old > 0 && n + 1 < sizeof(j->path))
                j->path[n++] = '.';
        k = MIN(strlen(key), sizeof(j->path) - 1 - n);
        memcpy(j->path + n, key, k);
        j->path[n + k] = '\0';
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

/* ---- what json-c does not report: duplicate keys and integers out of range ----
 *
 * json-c keeps the last of two equal keys and clamps integers beyond int64. One pass over a
 * document json-c has already accepted (so it is well formed and at most NVV_JSON_MAX_DEPTH
 * deep) finds both: a key set per open object (the first few keys compared one by one,
 * then json-c's own seeded hash table, so no worse than json-c's parse of the same text)
 * and a digit count per integer. */

#define SCAN_FEW_KEYS 8          /* an object's keys compared one by one before a hash table */

struct scan_frame {
        bool object;
        size_t index;            /* array: the element being read */
        const char *key;         /* object: the member being read (raw, for the path) */
        size_t key_len;
        size_t n_keys;           /* object: decoded keys seen so far: in few[], then in keys */
        const char *few[SCAN_FEW_KEYS];
        struct lh_table *keys;
};

struct scan {
        struct nvv_json *j;
        const char *data;
        size_t size, pos, line;
        char *arena;             /* decoded keys, NUL-terminated; never longer than their text */
        size_t arena_used;
        size_t depth;
        struct scan_frame stack[NVV_JSON_MAX_DEPTH + 1];
};

static void scan_utf8(char **o, uint32_t cp)
{
        char *p = *o;

        if (cp < 0x80)
                *p++ = (char) cp;
        else if (cp < 0x800) {
                *p++ = (char) (0xc0 | (cp >> 6));
                *p++ = (char) (0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
                *p++ = (char) (0xe0 | (cp >> 12));
                *p++ = (char) (0x80 | ((cp >> 6) & 0x3f));
                *p++ = (char) (0x80 | (cp & 0x3f));
        } else {
                *p++ = (char) (0xf0 | (cp >> 18));
                *p++ = (char) (0x80 | ((cp >> 12) & 0x3f));
                *p++ = (char) (0x80 | ((cp >> 6) & 0x3f));
                *p++ = (char) (0x80 | (cp & 0x3f));
        }
        *o = p;
}

static uint32_t scan_hex4(const char *p)
{
        uint32_t v = 0;

        for (int i = 0; i < 4; i++) {
                char ch = p[i];

                v = v * 16 + (uint32_t) (ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10);
        }
        return v;
}

/* Decode the string token [b, e) (quotes excluded) into the arena; the text is valid JSON. */
static const char *scan_decode(struct scan *s, const char *b, const char *e)
{
        char *start = s->arena + s->arena_used, *o = start;

        for (const char *p = b; p < e; p++) {
                if (*p != '\\') {
                        *o++ = *p;
                        continue;
                }
                p++;
                switch (*p) {
                case 'b': *o++ = '\b'; break;
                case 'f': *o++ = '\f'; break;
                case 'n': *o++ = '\n'; break;
                case 'r': *o++ = '\r'; break;
                case 't': *o++ = '\t'; break;
                case 'u': {
                        uint32_t cp = scan_hex4(p + 1);

                        p += 4;
                        if (cp >= 0xd800 && cp < 0xdc00 && p + 6 < e && p[1] == '\\' && p[2] == 'u') {
                                uint32_t lo = scan_hex4(p + 3);

                                if (lo >= 0xdc00 && lo < 0xe000) {
                                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                        p += 6;
                                }
                        }
                        scan_utf8(&o, cp);
                        break;
                }
                default: *o++ = *p; break; /* \" \\ \/ */
                }
        }
        *o++ = '\0';
        s->arena_used += (size_t) (o - start);
        return start;
}

/* Fail at the member or element being read, with the line. */
_printf_(2, 3) static int scan_fail(struct scan *s, const char *fmt, ...)
{
        char msg[256];
        va_list ap;
        size_t old = strlen(s->j->path);
        int r;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        for (size_t i = 1; i <= s->depth; i++) {
                const struct scan_frame *f = &s->stack[i];
                char k[128];

                if (!f->object)
                        nvv_json_push_index(s->j, f->index);
                else if (f->key) {
                        snprintf(k, sizeof(k), "%.*s", (int) MIN(f->key_len, sizeof(k) - 1), f->key);
                        nvv_json_push(s->j, k);
                }
        }
        r = nvv_json_fail(s->j, "line %zu: %s", s->line, msg);
        nvv_json_pop(s->j, old);
        return r;
}

static const char *scan_string_end(const char *p, const char *end)
{
        for (; p < end && *p != '"'; p++)
                if (*p == '\\')
                        p++;
        return p;
}

static int scan_key(struct scan *s, const char *b, const char *e)
{
        struct scan_frame *f = &s->stack[s->depth];
        const char *k = scan_decode(s, b, e);
        bool dup = false;

        if (f->keys)
                dup = lh_table_lookup_entry(f->keys, k) != NULL;
        else
                for (size_t i = 0; i < f->n_keys && !dup; i++)
                        dup = streq(f->few[i], k);
        if (dup) {
                f->key = NULL; /* the path names the object; the message names the key */
                return scan_fail(s, "duplicate key '%.*s'", 64, k);
        }
        if (!f->keys && f->n_keys < SCAN_FEW_KEYS)
                f->few[f->n_keys] = k;
        else {
                if (!f->keys) {
                        f->keys = lh_kchar_table_new(64, NULL);
                        if (!f->keys)
                                return -ENOMEM;
                        for (size_t i = 0; i < f->n_keys; i++)
                                if (lh_table_insert(f->keys, f->few[i], NULL) < 0)
                                        return -ENOMEM;
                }
                if (lh_table_insert(f->keys, k, NULL) < 0)
                        return -ENOMEM;
        }
        f->n_keys++;
        f->key = b;
        f->key_len = (size_t) (e - b);
        return 0;
}

/* json-c clamps integers it cannot hold; find them first, and show them as written. */
static int scan_number(struct scan *s, const char *b, const char *e)
{
        static const char max_pos[] = "9223372036854775807", max_neg[] = "9223372036854775808";
        bool neg = *b == '-';
        const char *d = b + neg, *lim = neg ? max_neg : max_pos;
        size_t n = (size_t) (e - d);

        for (const char *p = d; p < e; p++)
                if (*p == '.' || *p == 'e' || *p == 'E')
                        return 0; /* not an integer; the typed getters refuse it where one is needed */
        if (n < sizeof(max_pos) - 1 || (n == sizeof(max_pos) - 1 && memcmp(d, lim, n) <= 0))
                return 0;
        return scan_fail(s, "%.*s%s is out of range (integers are -9223372036854775808..9223372036854775807)",
                         (int) MIN((size_t) (e - b), (size_t) 64), b, e - b > 64 ? "..." : "");
}

static void scan_pop(struct scan *s)
{
        struct scan_frame *f = &s->stack[s->depth];

        if (f->keys)
                lh_table_free(f->keys);
        f->keys = NULL;
        s->depth--;
}

static int scan_run(struct scan *s)
{
        const char *p = s->data, *end = s->data + s->size;
        bool want_key = false;

        while (p < end) {
                struct scan_frame *f = &s->stack[s->depth];
                const char *b;
                int r;

                switch (*p) {
                case '\n':
                        s->line++;
                        p++;
                        break;
                case '"':
                        b = p + 1;
                        p = scan_string_end(b, end);
                        for (const char *q = b; q < p; q++)
                                s->line += *q == '\n'; /* strict JSON has none; be exact anyway */
                        if (s->depth > 0 && f->object && want_key) {
                                r = scan_key(s, b, p);
                                if (r < 0)
                                        return r;
                                want_key = false;
                        }
                        p++;
                        break;
                case '{':
                case '[':
                        if (s->depth >= NVV_JSON_MAX_DEPTH)
                                return nvv_json_fail(s->j, "line %zu: nesting too deep", s->line);
                        f = &s->stack[++s->depth];
                        *f = (struct scan_frame) { .object = *p == '{' };
                        want_key = f->object;
                        p++;
                        break;
                case '}':
                case ']':
                        if (s->depth > 0)
                                scan_pop(s);
                        want_key = false;
                        p++;
                        break;
                case ',':
                        if (s->depth > 0) {
                                if (f->object)
                                        want_key = true;
                                else
                                        f->index++;
                        }
                        p++;
                        break;
                case '-':
                case '0' ... '9':
                        b = p;
                        while (p < end && (isdigit((unsigned char) *p) || *p == '-' || *p == '+' || *p == '.' ||
                                           *p == 'e' || *p == 'E'))
                                p++;
                        r = scan_number(s, b, p);
                        if (r < 0)
                                return r;
                        break;
                default:
                        p++;
                        break;
                }
        }
        return 0;
}

static int scan_document(struct nvv_json *j, const char *data, size_t size)
{
        struct scan s = { .j = j, .data = data, .size = size, .line = 1 };
        char small[512];
        int r;

        s.arena = size < sizeof(small) ? small : malloc(size + 1);
        if (!s.arena)
                return -ENOMEM;
        r = scan_run(&s);
        while (s.depth > 0)
                scan_pop(&s);
        if (s.arena != small)
                free(s.arena);
        return r;
}

/* One tokener per thread, reset between documents: json_tokener_new_ex allocates its stack
 * of NVV_JSON_MAX_DEPTH levels each time, a large block whose allocation also makes malloc
 * consolidate its free lists. A thread's exit frees its tokener. */
static pthread_key_t tok_key;
static bool tok_key_ok;
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;

static void tok_free(void *tok)
{
        json_tokener_free(tok);
}

static void tok_key_init(void)
{
        tok_key_ok = pthread_key_create(&tok_key, tok_free) == 0;
}

static struct json_tokener *tokener_take(void)
{
        struct json_tokener *tok = NULL;

        (void) pthread_once(&tok_once, tok_key_init);
        if (tok_key_ok && (tok = pthread_getspecific(tok_key))) {
                (void) pthread_setspecific(tok_key, NULL);
                json_tokener_reset(tok);
                return tok;
        }
        tok = json_tokener_new_ex(NVV_JSON_MAX_DEPTH);
        if (tok)
                json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        return tok;
}

static void tokener_give(struct json_tokener *tok)
{
        if (tok_key_ok && !pthread_getspecific(tok_key) && pthread_setspecific(tok_key, tok) == 0)
                return;
        json_tokener_free(tok);
}

int nvv_json_parse(struct nvv_json *j, const char *data, size_t size, size_t max_size,
                   json_object **ret)
{
        struct json_tokener *tok;
        json_object *root;
        enum json_tokener_error je;
        size_t end;
        int r;

        assert_return(j && data && ret, -EINVAL);
        if (size > max_size || size > INT_MAX)
                return nvv_json_fail(j, "larger than %zu bytes", max_size);
        if (memchr(data, '\0', size))
                return nvv_json_fail(j, "contains a NUL byte");
        tok = tokener_take();
        if (!tok)
                return -ENOMEM;
        root = json_tokener_parse_ex(tok, data, (int) size);
        je = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        tokener_give(tok);
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
        r = scan_document(j, data, size);
        if (r < 0) {
                json_object_put(root);
                return r;
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
