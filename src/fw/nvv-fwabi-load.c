/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-cmd.h"
#include "nvv-fwabi-load.h"
#include "nvv-json.h"
#include "nvv-marshal.h"
#include "util.h"

#define MAX_STRUCT_SIZE (16u * 1024u * 1024u)
#define MAX_FIELDS 4096u
#define MIN_ELEMENT_SIZE 4096u                  /* RM_PAGE_SIZE */
#define MAX_MESSAGE_SIZE (64u * 1024u)          /* GSP_MSG_QUEUE_ELEMENT_SIZE_MAX */
#define MAX_QUEUE_SIZE (2u * 1024u * 1024u)     /* project's choice; see parse_queue */
/* Names, types and field paths; NVIDIA's longest struct names are under 80 characters. */
#define MAX_NAME 256u

struct ctx {
        struct nvv_json j;
        struct nvv_fwabi *fw;
        size_t top; /* the struct whose nesting is being followed */
};

/* Short names for the nvv-json reader, which does the reading, path keeping and messages. */
#define fail(c, ...) nvv_json_fail(&(c)->j, __VA_ARGS__)

static size_t push(struct ctx *c, const char *key)
{
        return nvv_json_push(&c->j, key);
}

static size_t push_index(struct ctx *c, size_t i)
{
        return nvv_json_push_index(&c->j, i);
}

static void pop(struct ctx *c, size_t old)
{
        nvv_json_pop(&c->j, old);
}

/* Keys that document rather than describe. */
static bool is_doc_key(const char *k)
{
        size_t n = strlen(k);

        return streq(k, "comment") || streq(k, "source") || (n > 7 && streq(k + n - 7, "_source"));
}

static int get_u64(struct ctx *c, json_object *o, uint64_t max, uint64_t *ret)
{
        return nvv_json_get_uint(&c->j, o, max, ret);
}

static int get_u32(struct ctx *c, json_object *o, uint32_t *ret)
{
        return nvv_json_get_uint32(&c->j, o, ret);
}

static int get_str(struct ctx *c, json_object *o, const char **ret)
{
        return nvv_json_get_string(&c->j, o, MAX_NAME, ret);
}

static int get_obj(struct ctx *c, json_object *parent, const char *key, bool required, json_object **ret)
{
        return nvv_json_member_object(&c->j, parent, key, required, ret);
}

static int check_keys(struct ctx *c, json_object *o, const char *const *allowed)
{
        return nvv_json_check_keys(&c->j, o, allowed);
}

static int object_from_string(const char *s)
{
        for (int i = 0; i < _NVV_OBJ_MAX; i++)
                if (streq(nvv_object_to_string((enum nvv_object) i), s))
                        return i;
        return -EINVAL;
}

/* ---- structs ---- */

static int cmp_field_off(const void *a, const void *b)
{
        const struct nvv_wfield *x = *(const struct nvv_wfield *const *) a, *y = *(const struct nvv_wfield *const *) b;

        return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : 0;
}

static int parse_fields(struct ctx *c, struct nvv_wstruct *s, json_object *arr)
{
        static const char *const allowed[] = { "name", "offset", "type", "count", NULL };
        _cleanup_free_ const struct nvv_wfield **sorted = NULL;
        size_t n;
        int r;

        if (!json_object_is_type(arr, json_type_array))
                return fail(c, "'fields' must be an array");
        n = json_object_array_length(arr);
        if (n == 0)
                return fail(c, "'fields' is empty");
        if (n > MAX_FIELDS)
                return fail(c, "more than %u fields", MAX_FIELDS);
        s->fields = calloc(n, sizeof(struct nvv_wfield));
        if (!s->fields)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *fo = json_object_array_get_idx(arr, i), *v;
                struct nvv_wfield *f = &s->fields[s->n_fields];
                const char *name, *type;
                uint32_t count = 1;
                size_t old = push(c, "fields");

                push_index(c, i);
                if (!json_object_is_type(fo, json_type_object))
                        return fail(c, "expected an object");
                r = check_keys(c, fo, allowed);
                if (r < 0)
                        return r;
                if (!json_object_object_get_ex(fo, "name", &v))
                        return fail(c, "missing 'name'");
                r = get_str(c, v, &name);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < s->n_fields; j++)
                        if (streq(s->fields[j].name, name))
                                return fail(c, "duplicate field '%s'", name);
                f->name = strdup(name);
                if (!f->name)
                        return -ENOMEM;
                s->n_fields++;
                if (!json_object_object_get_ex(fo, "offset", &v))
                        return fail(c, "field '%s': missing 'offset'", name);
                r = get_u32(c, v, &f->offset);
                if (r < 0)
                        return r;
                if (!json_object_object_get_ex(fo, "type", &v))
                        return fail(c, "field '%s': missing 'type'", name);
                r = get_str(c, v, &type);
                if (r < 0)
                        return r;
                f->type_name = strdup(type);
                if (!f->type_name)
                        return -ENOMEM;
                f->type = nvv_wtype_from_string(type);
                if ((int) f->type < 0) {
                        f->sub = nvv_fwabi_find_struct(c->fw, type);
                        if (!f->sub)
                                return fail(c, "field '%s': unknown type '%s'", name, type);
                        if (f->sub == s)
                                return fail(c, "field '%s': struct '%s' cannot contain itself", name, type);
                        f->type = NVV_WT_STRUCT;
                        f->elem_size = f->sub->size;
                } else
                        f->elem_size = nvv_wtype_size(f->type);
                if (json_object_object_get_ex(fo, "count", &v)) {
                        r = get_u32(c, v, &count);
                        if (r < 0)
                                return r;
                }
                f->count = count;
                if ((uint64_t) f->offset + (uint64_t) f->elem_size * count > s->size)
                        return fail(c, "field '%s' (offset %u, %" PRIu64 " bytes) runs past the struct's size %u",
                                    name, f->offset, (uint64_t) f->elem_size * count, s->size);
                if (count == 0 && i != n - 1)
                        return fail(c, "field '%s': only the last field may be a flexible array (count 0)", name);
                pop(c, old);
        }

        /* Overlap check on a copy sorted by offset. */
        sorted = calloc(s->n_fields, sizeof(*sorted));
        if (!sorted)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_fields; i++)
                sorted[i] = &s->fields[i];
        qsort(sorted, s->n_fields, sizeof(*sorted), cmp_field_off);
        for (size_t i = 1; i < s->n_fields; i++) {
                const struct nvv_wfield *a = sorted[i - 1], *b = sorted[i];
                uint64_t aend = (uint64_t) a->offset + (uint64_t) a->elem_size * a->count;

                if (aend > b->offset) {
                        size_t old = push(c, "fields");
                        int rr = fail(c, "fields '%s' (%u..%" PRIu64 ") and '%s' (offset %u) overlap", a->name,
                                      a->offset, aend, b->name, b->offset);
                        pop(c, old);
                        return rr;
                }
        }
        return 0;
}

/* Structs may contain other structs: each struct's fields are parsed after every struct
 * it contains, and a cycle is refused. */
static int parse_struct_rec(struct ctx *c, json_object *structs, struct nvv_wstruct *s, int *state, size_t idx,
                            unsigned level)
{
        json_object *so = NULL, *fields = NULL;
        int r;

        if (state[idx] == 2)
                return 0;
        if (state[idx] == 1)
                return fail(c, "struct '%s' contains itself", s->name);
        /* Bounded before recursing: the recursion here, the marshaller's and the dissector's
         * all follow this nesting. */
        if (level > NVV_FWABI_MAX_NESTING)
                return fail(c, "struct '%s' nests structs more than %u levels deep (level %u is '%s')",
                            c->fw->structs[c->top].name, NVV_FWABI_MAX_NESTING, level, s->name);
        state[idx] = 1;
        json_object_object_get_ex(structs, s->name, &so);
        json_object_object_get_ex(so, "fields", &fields);
        /* Parse structs this one uses first. */
        if (fields && json_object_is_type(fields, json_type_array))
                for (size_t i = 0; i < json_object_array_length(fields); i++) {
                        json_object *fo = json_object_array_get_idx(fields, i), *t = NULL;
                        struct nvv_wstruct *sub;

                        if (!json_object_is_type(fo, json_type_object) ||
                            !json_object_object_get_ex(fo, "type", &t) || !json_object_is_type(t, json_type_string))
                                continue;
                        sub = (struct nvv_wstruct *) nvv_fwabi_find_struct(c->fw, json_object_get_string(t));
                        if (sub && sub != s) {
                                r = parse_struct_rec(c, structs, sub, state, (size_t) (sub - c->fw->structs), level + 1);
                                if (r < 0)
                                        return r;
                        } else if (sub == s) {
                                size_t old = push(c, s->name);

                                r = fail(c, "struct '%s' contains itself", s->name);
                                pop(c, old);
                                return r;
                        }
                }
        {
                size_t old = push(c, s->name);

                if (!fields) {
                        r = fail(c, "missing required key 'fields'");
                        pop(c, old);
                        return r;
                }
                r = parse_fields(c, s, fields);
                if (r < 0)
                        return r;
                pop(c, old);
        }
        /* A struct parsed earlier (through another) counts with its whole depth. */
        s->depth = 1;
        for (size_t i = 0; i < s->n_fields; i++)
                if (s->fields[i].sub && s->fields[i].sub->depth >= s->depth)
                        s->depth = s->fields[i].sub->depth + 1;
        if (s->depth > NVV_FWABI_MAX_NESTING)
                return fail(c, "struct '%s' nests structs %u levels deep, more than %u", s->name, s->depth,
                            NVV_FWABI_MAX_NESTING);
        state[idx] = 2;
        return 0;
}

static int parse_structs(struct ctx *c, json_object *structs)
{
        static const char *const allowed[] = { "size", "fields", NULL };
        _cleanup_free_ int *state = NULL;
        size_t n = 0, i = 0;
        int r;

        json_object_object_foreach(structs, k0, v0) {
                (void) k0;
                (void) v0;
                n++;
        }
        if (n == 0)
                return fail(c, "no structs");
        c->fw->structs = calloc(n, sizeof(struct nvv_wstruct));
        state = calloc(n, sizeof(int));
        if (!c->fw->structs || !state)
                return -ENOMEM;
        json_object_object_foreach(structs, k, v) {
                struct nvv_wstruct *s = &c->fw->structs[i];
                json_object *sz = NULL, *src = NULL;
                size_t old = push(c, k);

                if (!json_object_is_type(v, json_type_object))
                        return fail(c, "expected an object");
                r = check_keys(c, v, allowed);
                if (r < 0)
                        return r;
                s->name = strdup(k);
                if (!s->name)
                        return -ENOMEM;
                c->fw->n_structs = ++i;
                if (json_object_object_get_ex(v, "source", &src) && json_object_is_type(src, json_type_string)) {
                        s->source = strdup(json_object_get_string(src));
                        if (!s->source)
                                return -ENOMEM;
                }
                if (!json_object_object_get_ex(v, "size", &sz))
                        return fail(c, "missing required key 'size'");
                {
                        size_t o2 = push(c, "size");
                        uint64_t size;

                        r = get_u64(c, sz, MAX_STRUCT_SIZE, &size);
                        if (r < 0)
                                return r;
                        if (size == 0)
                                return fail(c, "must be positive");
                        s->size = (uint32_t) size;
                        pop(c, o2);
                }
                pop(c, old);
        }
        qsort(c->fw->structs, c->fw->n_structs, sizeof(struct nvv_wstruct), nvv_wstruct_compare_name);
        for (i = 1; i < c->fw->n_structs; i++)
                if (streq(c->fw->structs[i - 1].name, c->fw->structs[i].name))
                        return fail(c, "struct '%s' is described twice", c->fw->structs[i].name);
        for (i = 0; i < c->fw->n_structs; i++) {
                c->top = i;
                r = parse_struct_rec(c, structs, &c->fw->structs[i], state, i, 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- named number tables ---- */

static int parse_named(struct ctx *c, json_object *o, const char *what, struct nvv_named **ret, size_t *ret_n)
{
        size_t n = 0;
        int r;

        json_object_object_foreach(o, k0, v0) {
                (void) k0;
                (void) v0;
                n++;
        }
        *ret = calloc(n ? n : 1, sizeof(struct nvv_named));
        if (!*ret)
                return -ENOMEM;
        json_object_object_foreach(o, k, v) {
                struct nvv_named *e = &(*ret)[*ret_n];
                size_t old;

                if (is_doc_key(k))
                        continue;
                old = push(c, k);
                r = get_u32(c, v, &e->value);
                if (r < 0)
                        return r;
                e->name = strdup(k);
                if (!e->name)
                        return -ENOMEM;
                (*ret_n)++;
                pop(c, old);
        }
        qsort(*ret, *ret_n, sizeof(struct nvv_named), nvv_named_compare_value);
        for (size_t i = 1; i < *ret_n; i++)
                if ((*ret)[i - 1].value == (*ret)[i].value)
                        return fail(c, "duplicate %s number %" PRIu32 " ('%s' and '%s')", what, (*ret)[i].value,
                                    (*ret)[i - 1].name, (*ret)[i].name);
        return 0;
}

static int resolve_role(struct ctx *c, const struct nvv_wstruct *s, json_object *roles, const char *role,
                        struct nvv_role *ret)
{
        json_object *v = NULL;
        const struct nvv_wfield *f;
        const char *fname;
        size_t old;
        int r;

        if (!json_object_object_get_ex(roles, role, &v))
                return fail(c, "missing role '%s'", role);
        old = push(c, role);
        r = get_str(c, v, &fname);
        if (r < 0)
                return r;
        f = nvv_wstruct_find_field(s, fname);
        if (!f)
                return fail(c, "'%s' is not a field of %s", fname, s->name);
        if (f->type == NVV_WT_STRUCT || f->type == NVV_WT_CHAR || f->count != 1)
                return fail(c, "field '%s' of %s must be a single integer", fname, s->name);
        ret->offset = f->offset;
        ret->width = (uint8_t) f->elem_size;
        pop(c, old);
        return 0;
}

/* The role naming where a header ends and what follows begins (a flexible array or a struct). */
static int resolve_tail(struct ctx *c, const struct nvv_wstruct *s, json_object *roles, const char *role,
                        uint32_t *ret_offset, const struct nvv_wfield **ret_field)
{
        json_object *v = NULL;
        const struct nvv_wfield *f;
        const char *fname;
        size_t old;
        int r;

        if (!json_object_object_get_ex(roles, role, &v))
                return fail(c, "missing role '%s'", role);
        old = push(c, role);
        r = get_str(c, v, &fname);
        if (r < 0)
                return r;
        f = nvv_wstruct_find_field(s, fname);
        if (!f)
                return fail(c, "'%s' is not a field of %s", fname, s->name);
        *ret_offset = f->offset;
        if (ret_field)
                *ret_field = f;
        pop(c, old);
        return 0;
}

static int struct_key(struct ctx *c, json_object *o, const char *key, const struct nvv_wstruct **ret)
{
        json_object *v = NULL;
        const char *name;
        size_t old;
        int r;

        if (!json_object_object_get_ex(o, key, &v))
                return fail(c, "missing required key '%s'", key);
        old = push(c, key);
        r = get_str(c, v, &name);
        if (r < 0)
                return r;
        *ret = nvv_fwabi_find_struct(c->fw, name);
        if (!*ret)
                return fail(c, "unknown struct '%s'", name);
        pop(c, old);
        return 0;
}

static int u32_key(struct ctx *c, json_object *o, const char *key, uint32_t *ret)
{
        json_object *v = NULL;
        size_t old;
        int r;

        if (!json_object_object_get_ex(o, key, &v))
                return fail(c, "missing required key '%s'", key);
        old = push(c, key);
        r = get_u32(c, v, ret);
        pop(c, old);
        return r;
}

static int function_key(struct ctx *c, json_object *o, const char *key, uint32_t *ret)
{
        json_object *v = NULL;
        const char *name;
        size_t old;
        int r;

        if (!json_object_object_get_ex(o, key, &v))
                return fail(c, "missing required key '%s'", key);
        old = push(c, key);
        r = get_str(c, v, &name);
        if (r < 0)
                return r;
        if (nvv_fwabi_function_value(c->fw, name, ret) < 0)
                return fail(c, "'%s' is not in 'functions'", name);
        pop(c, old);
        return 0;
}

static int roles_obj(struct ctx *c, json_object *q, const char *key, json_object **ret)
{
        json_object *o = NULL;

        if (!json_object_object_get_ex(q, key, &o))
                return fail(c, "missing required key '%s'", key);
        if (!json_object_is_type(o, json_type_object)) {
                size_t old = push(c, key);
                int r = fail(c, "expected an object");

                pop(c, old);
                return r;
        }
        *ret = o;
        return 0;
}

static int parse_queue(struct ctx *c, json_object *q)
{
        static const char *const allowed[] = {
                "geometry", "element_size", "max_elements", "queue_size", "checksum", "element_header",
                "element_roles", "rpc_header", "rpc_roles", "header_version", "signature", "result_pending",
                "continuation_function", "control_function", "alloc_function", "control_header",
                "control_roles", "alloc_header", "alloc_roles", "timeout_ms", NULL,
        };
        struct nvv_queue_desc *d = &c->fw->queue;
        json_object *v = NULL, *roles;
        const struct nvv_wfield *tail = NULL;
        uint32_t off;
        size_t old;
        int r;

        r = check_keys(c, q, allowed);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(q, "geometry", &v))
                return fail(c, "missing required key 'geometry'");
        old = push(c, "geometry");
        if (!json_object_is_type(v, json_type_string) ||
            (!streq(json_object_get_string(v), "fixed") && !streq(json_object_get_string(v), "negotiated")))
                return fail(c, "must be \"fixed\" or \"negotiated\"");
        d->negotiated = streq(json_object_get_string(v), "negotiated");
        pop(c, old);
        if (!json_object_object_get_ex(q, "checksum", &v))
                return fail(c, "missing required key 'checksum'");
        old = push(c, "checksum");
        if (!json_object_is_type(v, json_type_string) || !streq(json_object_get_string(v), "xor64_fold32"))
                return fail(c, "unknown checksum (known: \"xor64_fold32\")");
        d->checksum = NVV_CHECKSUM_XOR64_FOLD32;
        pop(c, old);

        if ((r = u32_key(c, q, "element_size", &d->element_size)) < 0 ||
            (r = u32_key(c, q, "max_elements", &d->max_elements)) < 0 ||
            (r = u32_key(c, q, "queue_size", &d->queue_size)) < 0 ||
            (r = u32_key(c, q, "header_version", &d->header_version)) < 0 ||
            (r = u32_key(c, q, "signature", &d->signature)) < 0 ||
            (r = u32_key(c, q, "result_pending", &d->result_pending)) < 0 ||
            (r = u32_key(c, q, "timeout_ms", &d->timeout_ms)) < 0)
                return r;
        /* Geometry a GSP can have (open-gpu-kernel-modules 570.144,
         * src/nvidia/inc/kernel/gpu/gsp/message_queue_priv.h and
         * src/nvidia/src/kernel/gpu/gsp/message_queue_cpu.c): elements are
         * GSP_MSG_QUEUE_ELEMENT_SIZE_MIN = 4 KiB, one message is at most
         * GSP_MSG_QUEUE_ELEMENT_SIZE_MAX = 64 KiB, rings are 256 KiB (x6 for pre-silicon
         * command queues; a registry key may enlarge the status queue). No source gives a
         * largest ring: MAX_QUEUE_SIZE is this project's bound, above those. */
        if (d->element_size < MIN_ELEMENT_SIZE || d->element_size > MAX_MESSAGE_SIZE ||
            (d->element_size & (d->element_size - 1)))
                return fail(c, "element_size %u must be a power of two between %u and %u", d->element_size,
                            MIN_ELEMENT_SIZE, MAX_MESSAGE_SIZE);
        if (d->max_elements < 1 || (uint64_t) d->max_elements * d->element_size > MAX_MESSAGE_SIZE)
                return fail(c, "max_elements %u must be at least 1, and %u elements of %u bytes is more than a GSP message holds (%u bytes)",
                            d->max_elements, d->max_elements, d->element_size, MAX_MESSAGE_SIZE);
        if (d->queue_size % d->element_size || d->queue_size / d->element_size < 2 || d->queue_size > MAX_QUEUE_SIZE ||
            d->queue_size < d->element_size * d->max_elements)
                return fail(c, "queue_size %u must be a multiple of element_size holding at least 2 elements and one whole message (%u bytes), and at most %u bytes",
                            d->queue_size, d->element_size * d->max_elements, MAX_QUEUE_SIZE);
        if (d->timeout_ms == 0)
                return fail(c, "timeout_ms must be positive");

        if ((r = struct_key(c, q, "element_header", &d->element_header)) < 0 ||
            (r = struct_key(c, q, "rpc_header", &d->rpc_header)) < 0 ||
            (r = struct_key(c, q, "control_header", &d->control_header)) < 0 ||
            (r = struct_key(c, q, "alloc_header", &d->alloc_header)) < 0)
                return r;

        if ((r = roles_obj(c, q, "element_roles", &roles)) < 0)
                return r;
        old = push(c, "element_roles");
        if ((r = resolve_role(c, d->element_header, roles, "checksum", &d->el_checksum)) < 0 ||
            (r = resolve_role(c, d->element_header, roles, "sequence", &d->el_sequence)) < 0 ||
            (r = resolve_role(c, d->element_header, roles, "element_count", &d->el_count)) < 0 ||
            (r = resolve_tail(c, d->element_header, roles, "rpc", &d->el_header_size, &tail)) < 0)
                return r;
        if (tail->type != NVV_WT_STRUCT || tail->sub != d->rpc_header)
                return fail(c, "role 'rpc' must be a field of type %s", d->rpc_header->name);
        if (d->el_checksum.width != 4)
                return fail(c, "role 'checksum' must be 4 bytes wide");
        pop(c, old);

        if ((r = roles_obj(c, q, "rpc_roles", &roles)) < 0)
                return r;
        old = push(c, "rpc_roles");
        if ((r = resolve_role(c, d->rpc_header, roles, "header_version", &d->rpc_header_version)) < 0 ||
            (r = resolve_role(c, d->rpc_header, roles, "signature", &d->rpc_signature)) < 0 ||
            (r = resolve_role(c, d->rpc_header, roles, "length", &d->rpc_length)) < 0 ||
            (r = resolve_role(c, d->rpc_header, roles, "function", &d->rpc_function)) < 0 ||
            (r = resolve_role(c, d->rpc_header, roles, "result", &d->rpc_result)) < 0 ||
            (r = resolve_role(c, d->rpc_header, roles, "result_private", &d->rpc_result_private)) < 0 ||
            (r = resolve_role(c, d->rpc_header, roles, "sequence", &d->rpc_sequence)) < 0 ||
            (r = resolve_role(c, d->rpc_header, roles, "gfid", &d->rpc_gfid)) < 0 ||
            (r = resolve_tail(c, d->rpc_header, roles, "data", &d->rpc_header_size, NULL)) < 0)
                return r;
        pop(c, old);

        if ((r = roles_obj(c, q, "control_roles", &roles)) < 0)
                return r;
        old = push(c, "control_roles");
        if ((r = resolve_role(c, d->control_header, roles, "client", &d->ctl_client)) < 0 ||
            (r = resolve_role(c, d->control_header, roles, "object", &d->ctl_object)) < 0 ||
            (r = resolve_role(c, d->control_header, roles, "cmd", &d->ctl_cmd)) < 0 ||
            (r = resolve_role(c, d->control_header, roles, "status", &d->ctl_status)) < 0 ||
            (r = resolve_role(c, d->control_header, roles, "params_size", &d->ctl_params_size)) < 0 ||
            (r = resolve_tail(c, d->control_header, roles, "params", &d->ctl_header_size, NULL)) < 0)
                return r;
        pop(c, old);

        if ((r = roles_obj(c, q, "alloc_roles", &roles)) < 0)
                return r;
        old = push(c, "alloc_roles");
        if ((r = resolve_role(c, d->alloc_header, roles, "client", &d->al_client)) < 0 ||
            (r = resolve_role(c, d->alloc_header, roles, "parent", &d->al_parent)) < 0 ||
            (r = resolve_role(c, d->alloc_header, roles, "object", &d->al_object)) < 0 ||
            (r = resolve_role(c, d->alloc_header, roles, "class", &d->al_class)) < 0 ||
            (r = resolve_role(c, d->alloc_header, roles, "status", &d->al_status)) < 0 ||
            (r = resolve_role(c, d->alloc_header, roles, "params_size", &d->al_params_size)) < 0 ||
            (r = resolve_tail(c, d->alloc_header, roles, "params", &d->al_header_size, NULL)) < 0)
                return r;
        pop(c, old);

        if ((r = function_key(c, q, "continuation_function", &d->fn_continuation)) < 0 ||
            (r = function_key(c, q, "control_function", &d->fn_control)) < 0 ||
            (r = function_key(c, q, "alloc_function", &d->fn_alloc)) < 0)
                return r;

        off = d->el_header_size + d->rpc_header_size;
        if (off + d->ctl_header_size >= d->element_size || off + d->al_header_size >= d->element_size)
                return fail(c, "headers (%u bytes) do not fit one %u-byte element", off + d->ctl_header_size,
                            d->element_size);
        if (d->el_header_size % 8)
                return fail(c, "the RPC must start 8-byte aligned in an element (offset %u)", d->el_header_size);
        d->max_rpc_size = d->element_size * d->max_elements - d->el_header_size;
        return 0;
}

/* ---- controls, allocs, value domains, status ---- */

static int count_keys(json_object *o)
{
        int n = 0;

        json_object_object_foreach(o, k, v) {
                (void) k;
                (void) v;
                n++;
        }
        return n;
}

static int object_key(struct ctx *c, json_object *o, const char *key, enum nvv_object *ret)
{
        json_object *v = NULL;
        const char *s;
        size_t old;
        int r, x;

        if (!json_object_object_get_ex(o, key, &v))
                return fail(c, "missing required key '%s'", key);
        old = push(c, key);
        r = get_str(c, v, &s);
        if (r < 0)
                return r;
        x = object_from_string(s);
        if (x < 0)
                return fail(c, "unknown object '%s' (known: client, device, subdevice, host_vgpu_device)", s);
        *ret = (enum nvv_object) x;
        pop(c, old);
        return 0;
}

static int parse_controls(struct ctx *c, json_object *o)
{
        static const char *const allowed[] = { "id", "params", "object", NULL };
        int r;

        c->fw->controls = calloc((size_t) count_keys(o) + 1, sizeof(struct nvv_control));
        if (!c->fw->controls)
                return -ENOMEM;
        json_object_object_foreach(o, k, v) {
                struct nvv_control *ct = &c->fw->controls[c->fw->n_controls];
                size_t old = push(c, k);

                if (!json_object_is_type(v, json_type_object))
                        return fail(c, "expected an object");
                if ((r = check_keys(c, v, allowed)) < 0)
                        return r;
                ct->name = strdup(k);
                if (!ct->name)
                        return -ENOMEM;
                c->fw->n_controls++;
                if ((r = u32_key(c, v, "id", &ct->id)) < 0 ||
                    (r = struct_key(c, v, "params", &ct->params)) < 0 ||
                    (r = object_key(c, v, "object", &ct->object)) < 0)
                        return r;
                pop(c, old);
        }
        qsort(c->fw->controls, c->fw->n_controls, sizeof(struct nvv_control), nvv_control_compare_id);
        for (size_t i = 1; i < c->fw->n_controls; i++)
                if (c->fw->controls[i - 1].id == c->fw->controls[i].id)
                        return fail(c, "duplicate control id 0x%x ('%s' and '%s')", c->fw->controls[i].id,
                                    c->fw->controls[i - 1].name, c->fw->controls[i].name);
        return 0;
}

static int parse_allocs(struct ctx *c, json_object *o)
{
        static const char *const allowed[] = { "class", "params", "parent", NULL };
        int r;

        c->fw->allocs = calloc((size_t) count_keys(o) + 1, sizeof(struct nvv_alloc));
        if (!c->fw->allocs)
                return -ENOMEM;
        json_object_object_foreach(o, k, v) {
                struct nvv_alloc *a = &c->fw->allocs[c->fw->n_allocs];
                size_t old = push(c, k);

                if (!json_object_is_type(v, json_type_object))
                        return fail(c, "expected an object");
                if ((r = check_keys(c, v, allowed)) < 0)
                        return r;
                a->name = strdup(k);
                if (!a->name)
                        return -ENOMEM;
                c->fw->n_allocs++;
                if ((r = u32_key(c, v, "class", &a->hclass)) < 0 ||
                    (r = struct_key(c, v, "params", &a->params)) < 0 ||
                    (r = object_key(c, v, "parent", &a->parent)) < 0)
                        return r;
                for (size_t i = 0; i + 1 < c->fw->n_allocs; i++)
                        if (c->fw->allocs[i].hclass == a->hclass)
                                return fail(c, "class 0x%x is also '%s'", a->hclass, c->fw->allocs[i].name);
                pop(c, old);
        }
        return 0;
}

static int parse_values(struct ctx *c, json_object *o)
{
        int r;

        c->fw->domains = calloc((size_t) count_keys(o) + 1, sizeof(struct nvv_domain));
        if (!c->fw->domains)
                return -ENOMEM;
        json_object_object_foreach(o, k, v) {
                struct nvv_domain *d = &c->fw->domains[c->fw->n_domains];
                size_t old;

                if (is_doc_key(k))
                        continue;
                old = push(c, k);
                if (!json_object_is_type(v, json_type_object))
                        return fail(c, "expected an object");
                d->name = strdup(k);
                if (!d->name)
                        return -ENOMEM;
                c->fw->n_domains++;
                r = parse_named(c, v, "value", &d->entries, &d->n);
                if (r < 0)
                        return r;
                pop(c, old);
        }
        return 0;
}

static int parse_status(struct ctx *c, json_object *status, json_object *errmap)
{
        int r;

        c->fw->status = calloc((size_t) count_keys(status) + 1, sizeof(struct nvv_status));
        if (!c->fw->status)
                return -ENOMEM;
        {
                size_t old = push(c, "status");

                json_object_object_foreach(status, k, v) {
                        struct nvv_status *s = &c->fw->status[c->fw->n_status];
                        size_t o2 = push(c, k);

                        r = get_u32(c, v, &s->value);
                        if (r < 0)
                                return r;
                        s->name = strdup(k);
                        if (!s->name)
                                return -ENOMEM;
                        s->errno_value = EIO;
                        c->fw->n_status++;
                        pop(c, o2);
                }
                qsort(c->fw->status, c->fw->n_status, sizeof(struct nvv_status), nvv_status_compare_value);
                for (size_t i = 1; i < c->fw->n_status; i++)
                        if (c->fw->status[i - 1].value == c->fw->status[i].value)
                                return fail(c, "duplicate status 0x%x ('%s' and '%s')", c->fw->status[i].value,
                                            c->fw->status[i - 1].name, c->fw->status[i].name);
                pop(c, old);
        }
        if (errmap) {
                size_t old = push(c, "status_errno");

                json_object_object_foreach(errmap, k, v) {
                        const char *en;
                        int e;
                        struct nvv_status *s = NULL;
                        size_t o2 = push(c, k);

                        for (size_t i = 0; i < c->fw->n_status; i++)
                                if (streq(c->fw->status[i].name, k))
                                        s = &c->fw->status[i];
                        if (!s)
                                return fail(c, "'%s' is not in 'status'", k);
                        r = get_str(c, v, &en);
                        if (r < 0)
                                return r;
                        e = errno_from_name(en);
                        if (e < 0)
                                return fail(c, "unknown errno name '%s'", en);
                        s->errno_value = e;
                        pop(c, o2);
                }
                pop(c, old);
        }
        return 0;
}

/* ---- command and event bindings ---- */

static int parse_map(struct ctx *c, json_object *fields, json_object *elements, struct nvv_map **ret)
{
        _cleanup_(nvv_map_freep) struct nvv_map *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->entries = calloc((size_t) count_keys(fields) + 1, sizeof(struct nvv_map_entry));
        if (!m->entries)
                return -ENOMEM;
        json_object_object_foreach(fields, k, v) {
                struct nvv_map_entry *e = &m->entries[m->n];
                json_object *sub = NULL;
                const char *w;
                size_t old = push(c, k);

                r = get_str(c, v, &w);
                if (r < 0)
                        return r;
                e->stable = strdup(k);
                e->wire = strdup(w);
                if (!e->stable || !e->wire)
                        return -ENOMEM;
                m->n++;
                pop(c, old);
                if (elements && json_object_object_get_ex(elements, k, &sub)) {
                        size_t o2 = push(c, "elements");

                        push(c, k);
                        if (!json_object_is_type(sub, json_type_object))
                                return fail(c, "expected an object");
                        r = parse_map(c, sub, NULL, &e->elements);
                        if (r < 0)
                                return r;
                        pop(c, o2);
                }
        }
        if (elements) {
                json_object_object_foreach(elements, ek, ev) {
                        bool found = false;

                        (void) ev;
                        for (size_t i = 0; i < m->n; i++)
                                found = found || streq(m->entries[i].stable, ek);
                        if (!found)
                                return fail(c, "'elements' names '%s', which 'fields' does not bind", ek);
                }
        }
        *ret = TAKE_PTR(m);
        return 0;
}

static int compile_binding(struct ctx *c, const struct nvv_sschema *schema, const struct nvv_wstruct *w,
                           json_object *spec, struct nvv_wplan **ret)
{
        _cleanup_(nvv_map_freep) struct nvv_map *m = NULL;
        json_object *fields = NULL, *elements = NULL;
        _cleanup_free_ char *msg = NULL;
        int r;

        if (!json_object_object_get_ex(spec, "fields", &fields) || !json_object_is_type(fields, json_type_object))
                return fail(c, "'fields' must be an object");
        if (json_object_object_get_ex(spec, "elements", &elements) && !json_object_is_type(elements, json_type_object))
                return fail(c, "'elements' must be an object");
        {
                size_t old = push(c, "fields");

                r = parse_map(c, fields, elements, &m);
                if (r < 0)
                        return r;
                pop(c, old);
        }
        if (!w) {
                if (m->n)
                        return fail(c, "fields are bound but there is no payload struct");
                return 0;
        }
        r = nvv_wplan_compile(c->fw->release, c->fw->domains, c->fw->n_domains, schema, w, m, ret, &msg);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(c, "%s", msg ? msg : "binding does not fit");
        return 0;
}

static int parse_commands(struct ctx *c, json_object *o)
{
        static const char *const allowed[] = { "control", "alloc", "function", "params", "fields", "elements",
                                               "timeout_ms", NULL };
        int r;

        json_object_object_foreach(o, k, v) {
                struct nvv_binding *b;
                json_object *x = NULL;
                const char *name;
                int cmd = nvv_cmd_from_string(k);
                const struct nvv_wstruct *params;
                size_t old = push(c, k);

                if (cmd < 0)
                        return fail(c, "unknown stable command '%s'", k);
                if (!json_object_is_type(v, json_type_object))
                        return fail(c, "expected an object");
                if ((r = check_keys(c, v, allowed)) < 0)
                        return r;
                b = calloc(1, sizeof(*b));
                if (!b)
                        return -ENOMEM;
                c->fw->commands[cmd] = b;
                b->cmd = cmd;
                b->name = strdup(k);
                if (!b->name)
                        return -ENOMEM;
                b->timeout_ms = c->fw->queue.timeout_ms;
                if (json_object_object_get_ex(v, "timeout_ms", &x)) {
                        size_t o2 = push(c, "timeout_ms");

                        if ((r = get_u32(c, x, &b->timeout_ms)) < 0)
                                return r;
                        if (b->timeout_ms == 0)
                                return fail(c, "must be positive");
                        pop(c, o2);
                }
                if (json_object_object_get_ex(v, "control", &x)) {
                        size_t o2 = push(c, "control");

                        if ((r = get_str(c, x, &name)) < 0)
                                return r;
                        b->control = nvv_fwabi_control_by_name(c->fw, name);
                        if (!b->control)
                                return fail(c, "'%s' is not in 'controls'", name);
                        params = b->control->params;
                        pop(c, o2);
                        if (json_object_object_get_ex(v, "alloc", &x))
                                return fail(c, "give either 'control' or 'alloc', not both");
                } else if (json_object_object_get_ex(v, "alloc", &x)) {
                        size_t o2 = push(c, "alloc");

                        if ((r = get_str(c, x, &name)) < 0)
                                return r;
                        b->alloc = nvv_fwabi_alloc_by_name(c->fw, name);
                        if (!b->alloc)
                                return fail(c, "'%s' is not in 'allocs'", name);
                        params = b->alloc->params;
                        pop(c, o2);
                } else if (json_object_object_get_ex(v, "function", &x)) {
                        size_t o2 = push(c, "function");

                        if ((r = get_str(c, x, &name)) < 0)
                                return r;
                        if (nvv_fwabi_function_value(c->fw, name, &b->function) < 0)
                                return fail(c, "'%s' is not in 'functions'", name);
                        if (b->function == c->fw->queue.fn_control || b->function == c->fw->queue.fn_alloc ||
                            b->function == c->fw->queue.fn_continuation)
                                return fail(c, "'%s' carries controls, allocations or continuations; bind those by 'control' or 'alloc'",
                                            name);
                        pop(c, o2);
                        if ((r = struct_key(c, v, "params", &b->payload)) < 0)
                                return r;
                        b->is_function = true;
                        params = b->payload;
                        for (int i = 0; i < _NVV_CMD_MAX; i++)
                                if (i != cmd && c->fw->commands[i] && c->fw->commands[i]->is_function &&
                                    c->fw->commands[i]->function == b->function)
                                        return fail(c, "function '%s' is already bound to '%s'", name,
                                                    c->fw->commands[i]->name);
                } else
                        return fail(c, "needs 'control', 'alloc' or 'function'");
                if (!b->is_function && json_object_object_get_ex(v, "params", &x))
                        return fail(c, "'params' belongs to 'function' bindings; a control or allocation names its own");
                r = compile_binding(c, nvv_cmd_schema(cmd), params, v, &b->plan);
                if (r < 0)
                        return r;
                pop(c, old);
        }
        return 0;
}

static int parse_event_map(struct ctx *c, json_object *o)
{
        static const char *const allowed[] = { "event", "struct", "fields", "elements", NULL };
        int r;

        json_object_object_foreach(o, k, v) {
                struct nvv_event_binding *b;
                json_object *x = NULL;
                const char *name;
                int ev = nvv_event_from_string(k);
                size_t old = push(c, k);

                if (ev < 0)
                        return fail(c, "unknown stable event '%s'", k);
                if (!json_object_is_type(v, json_type_object))
                        return fail(c, "expected an object");
                if ((r = check_keys(c, v, allowed)) < 0)
                        return r;
                b = calloc(1, sizeof(*b));
                if (!b)
                        return -ENOMEM;
                c->fw->event_bindings[ev] = b;
                c->fw->n_event_bindings++;
                b->event = ev;
                b->name = strdup(k);
                if (!b->name)
                        return -ENOMEM;
                if (!json_object_object_get_ex(v, "event", &x))
                        return fail(c, "missing required key 'event'");
                {
                        size_t o2 = push(c, "event");

                        if ((r = get_str(c, x, &name)) < 0)
                                return r;
                        if (nvv_fwabi_event_value(c->fw, name, &b->number) < 0)
                                return fail(c, "'%s' is not in 'events'", name);
                        pop(c, o2);
                }
                if (json_object_object_get_ex(v, "struct", &x)) {
                        if ((r = struct_key(c, v, "struct", &b->payload)) < 0)
                                return r;
                }
                r = compile_binding(c, nvv_event_schema(ev), b->payload, v, &b->plan);
                if (r < 0)
                        return r;
                pop(c, old);
        }
        return 0;
}

/* ---- sizing, init ---- */

static int parse_sizing(struct ctx *c, json_object *o)
{
        static const char *const allowed[] = {
                "gsp_fw_heap_vgpu_mb", "gsp_fw_heap_vgpu_min_mb", "gsp_fw_heap_vgpu_max_mb",
                "gsp_fw_heap_vgpu_48vms_mb", "gsp_fw_heap_48vms_devices", "max_vgpu_types_per_pgpu",
                "max_vgpu_per_pgpu", "max_vgpu_per_pgpu_non_mig", "max_vgpu_per_gi", "vgpu_string_size",
                "placement_id_invalid", "max_vmmu_segments", "max_engines", NULL,
        };
        struct nvv_sizing *s = &c->fw->sizing;
        const struct {
                const char *key;
                uint32_t *p32;
                uint64_t *p64;
                bool required;
        } keys[] = {
                { "gsp_fw_heap_vgpu_mb", NULL, &s->gsp_fw_heap_vgpu_mb, true },
                { "gsp_fw_heap_vgpu_min_mb", NULL, &s->gsp_fw_heap_vgpu_min_mb, false },
                { "gsp_fw_heap_vgpu_max_mb", NULL, &s->gsp_fw_heap_vgpu_max_mb, false },
                { "gsp_fw_heap_vgpu_48vms_mb", NULL, &s->gsp_fw_heap_vgpu_48vms_mb, false },
                { "max_vgpu_types_per_pgpu", &s->max_vgpu_types_per_pgpu, NULL, true },
                { "max_vgpu_per_pgpu", &s->max_vgpu_per_pgpu, NULL, true },
                { "max_vgpu_per_pgpu_non_mig", &s->max_vgpu_per_pgpu_non_mig, NULL, false },
                { "max_vgpu_per_gi", &s->max_vgpu_per_gi, NULL, false },
                { "vgpu_string_size", &s->vgpu_string_size, NULL, true },
                { "placement_id_invalid", &s->placement_id_invalid, NULL, false },
                { "max_vmmu_segments", &s->max_vmmu_segments, NULL, true },
                { "max_engines", &s->max_engines, NULL, true },
        };
        json_object *v = NULL;
        int r;

        if ((r = check_keys(c, o, allowed)) < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                size_t old;

                if (!json_object_object_get_ex(o, keys[i].key, &v)) {
                        if (keys[i].required)
                                return fail(c, "missing required key '%s'", keys[i].key);
                        continue;
                }
                old = push(c, keys[i].key);
                if (keys[i].p32)
                        r = get_u32(c, v, keys[i].p32);
                else
                        r = get_u64(c, v, UINT32_MAX, keys[i].p64);
                if (r < 0)
                        return r;
                pop(c, old);
        }
        if (s->max_vgpu_per_pgpu == 0 || s->max_vgpu_types_per_pgpu == 0)
                return fail(c, "per-GPU maxima must be positive");
        if (json_object_object_get_ex(o, "gsp_fw_heap_48vms_devices", &v)) {
                size_t old = push(c, "gsp_fw_heap_48vms_devices");

                if (!json_object_is_type(v, json_type_array))
                        return fail(c, "expected an array");
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        const char *d;
                        size_t o2 = push_index(c, i);

                        if ((r = get_str(c, json_object_array_get_idx(v, i), &d)) < 0)
                                return r;
                        if ((r = strv_extend(&s->gsp_fw_heap_48vms_devices, d)) < 0)
                                return r;
                        pop(c, o2);
                }
                pop(c, old);
        }
        return 0;
}

static int parse_init(struct ctx *c, json_object *a)
{
        int r;

        if (!json_object_is_type(a, json_type_array))
                return fail(c, "expected an array");
        c->fw->init = calloc(json_object_array_length(a) + 1, sizeof(int));
        if (!c->fw->init)
                return -ENOMEM;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                const char *name;
                int cmd;
                size_t old = push_index(c, i);

                if ((r = get_str(c, json_object_array_get_idx(a, i), &name)) < 0)
                        return r;
                cmd = nvv_cmd_from_string(name);
                if (cmd < 0)
                        return fail(c, "unknown stable command '%s'", name);
                if (!c->fw->commands[cmd])
                        return fail(c, "'%s' is not bound in 'commands'", name);
                c->fw->init[c->fw->n_init++] = cmd;
                pop(c, old);
        }
        return 0;
}

/* ---- host RPC ---- */

static int parse_host_rpc(struct ctx *c, json_object *o)
{
        static const char *const allowed[] = { "messages", "timeout_ms", NULL };
        json_object *m = NULL, *v = NULL;
        uint32_t t;
        size_t old;
        int r;

        if ((r = check_keys(c, o, allowed)) < 0)
                return r;
        if ((r = get_obj(c, o, "messages", true, &m)) < 0)
                return r;
        old = push(c, "messages");
        if ((r = parse_named(c, m, "host RPC message", &c->fw->host_msgs, &c->fw->n_host_msgs)) < 0)
                return r;
        if (c->fw->n_host_msgs > 64)
                return fail(c, "%zu messages; at most 64", c->fw->n_host_msgs);
        pop(c, old);
        if (!json_object_object_get_ex(o, "timeout_ms", &v))
                return fail(c, "missing required key 'timeout_ms'");
        old = push(c, "timeout_ms");
        if ((r = get_u32(c, v, &t)) < 0)
                return r;
        if (t < 1 || t > 600000)
                return fail(c, "%" PRIu32 " is out of range 1..600000", t);
        c->fw->host_rpc_timeout_ms = (int) t;
        pop(c, old);
        return 0;
}

static int parse_top(struct ctx *c, json_object *root)
{
        static const char *const allowed[] = {
                "release", "compatible", "queue", "functions", "events", "structs", "controls", "allocs",
                "values", "commands", "event_map", "status", "status_errno", "sizing", "init", "host_rpc", NULL,
        };
        json_object *v = NULL, *o = NULL, *o2 = NULL;
        const char *s;
        size_t old;
        int r;

        if (!json_object_is_type(root, json_type_object))
                return fail(c, "the top level must be an object");
        if ((r = check_keys(c, root, allowed)) < 0)
                return r;

        if (!json_object_object_get_ex(root, "release", &v))
                return fail(c, "missing required key 'release'");
        old = push(c, "release");
        if ((r = get_str(c, v, &s)) < 0)
                return r;
        if (!nvv_release_is_valid(s))
                return fail(c, "'%s' is not a release version (like \"570.144\")", s);
        c->fw->release = strdup(s);
        if (!c->fw->release)
                return -ENOMEM;
        pop(c, old);
        if (json_object_object_get_ex(root, "source", &v) && json_object_is_type(v, json_type_string)) {
                c->fw->source = strdup(json_object_get_string(v));
                if (!c->fw->source)
                        return -ENOMEM;
        }

        if (!json_object_object_get_ex(root, "compatible", &v))
                return fail(c, "missing required key 'compatible'");
        old = push(c, "compatible");
        if (!json_object_is_type(v, json_type_array))
                return fail(c, "expected an array of release prefixes");
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                size_t o3 = push_index(c, i);

                if ((r = get_str(c, json_object_array_get_idx(v, i), &s)) < 0)
                        return r;
                for (const char *p = s; *p; p++)
                        if (!(*p >= '0' && *p <= '9') && *p != '.')
                                return fail(c, "'%s' is not a release prefix", s);
                if ((r = strv_extend(&c->fw->compatible, s)) < 0)
                        return r;
                pop(c, o3);
        }
        pop(c, old);

        if ((r = get_obj(c, root, "functions", true, &o)) < 0)
                return r;
        old = push(c, "functions");
        if ((r = parse_named(c, o, "function", &c->fw->functions, &c->fw->n_functions)) < 0)
                return r;
        pop(c, old);
        if ((r = get_obj(c, root, "events", true, &o)) < 0)
                return r;
        old = push(c, "events");
        if ((r = parse_named(c, o, "event", &c->fw->events, &c->fw->n_events)) < 0)
                return r;
        for (size_t i = 0; i < c->fw->n_events; i++) {
                const char *fn = nvv_fwabi_function_name(c->fw, c->fw->events[i].value);

                if (fn)
                        return fail(c, "event '%s' has number %u, which is also function '%s'",
                                    c->fw->events[i].name, c->fw->events[i].value, fn);
        }
        pop(c, old);

        if ((r = get_obj(c, root, "structs", true, &o)) < 0)
                return r;
        old = push(c, "structs");
        if ((r = parse_structs(c, o)) < 0)
                return r;
        pop(c, old);

        if ((r = get_obj(c, root, "queue", true, &o)) < 0)
                return r;
        old = push(c, "queue");
        if ((r = parse_queue(c, o)) < 0)
                return r;
        pop(c, old);

        if ((r = get_obj(c, root, "controls", true, &o)) < 0)
                return r;
        old = push(c, "controls");
        if ((r = parse_controls(c, o)) < 0)
                return r;
        pop(c, old);

        if ((r = get_obj(c, root, "allocs", false, &o)) < 0)
                return r;
        if (o) {
                old = push(c, "allocs");
                if ((r = parse_allocs(c, o)) < 0)
                        return r;
                pop(c, old);
        }

        if ((r = get_obj(c, root, "values", false, &o)) < 0)
                return r;
        if (o) {
                old = push(c, "values");
                if ((r = parse_values(c, o)) < 0)
                        return r;
                pop(c, old);
        }

        if ((r = get_obj(c, root, "status", false, &o)) < 0 ||
            (r = get_obj(c, root, "status_errno", false, &o2)) < 0)
                return r;
        if (o2 && !o)
                return fail(c, "'status_errno' needs 'status'");
        if (o && (r = parse_status(c, o, o2)) < 0)
                return r;

        if ((r = get_obj(c, root, "commands", true, &o)) < 0)
                return r;
        old = push(c, "commands");
        if ((r = parse_commands(c, o)) < 0)
                return r;
        pop(c, old);

        if ((r = get_obj(c, root, "event_map", false, &o)) < 0)
                return r;
        if (o) {
                old = push(c, "event_map");
                if ((r = parse_event_map(c, o)) < 0)
                        return r;
                pop(c, old);
        }

        if ((r = get_obj(c, root, "sizing", true, &o)) < 0)
                return r;
        old = push(c, "sizing");
        if ((r = parse_sizing(c, o)) < 0)
                return r;
        pop(c, old);

        if (!json_object_object_get_ex(root, "init", &v))
                return fail(c, "missing required key 'init'");
        old = push(c, "init");
        if ((r = parse_init(c, v)) < 0)
                return r;
        pop(c, old);

        if ((r = get_obj(c, root, "host_rpc", false, &o)) < 0)
                return r;
        if (o) {
                old = push(c, "host_rpc");
                if ((r = parse_host_rpc(c, o)) < 0)
                        return r;
                pop(c, old);
        }
        return 0;
}

int nvv_fwabi_load_buffer(const char *data, size_t size, const char *name, struct nvv_fwabi **ret,
                          char **reterr_msg)
{
        _cleanup_(nvv_fwabi_freep) struct nvv_fwabi *fw = NULL;
        _cleanup_json_ json_object *root = NULL;
        struct ctx c = {
                .j = { .file = name ? name : "<buffer>", .err = reterr_msg, .doc_key = is_doc_key },
        };
        int r;

        assert_return(data && ret, -EINVAL);
        r = nvv_json_parse(&c.j, data, size, NVV_FWABI_MAX_FILE_SIZE, &root);
        if (r < 0)
                return r;
        fw = calloc(1, sizeof(*fw));
        if (!fw)
                return -ENOMEM;
        c.fw = fw;
        r = parse_top(&c, root);
        if (r < 0)
                return r;
        if (name) {
                fw->path = strdup(name);
                if (!fw->path)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(fw);
        return 0;
}

int nvv_fwabi_load_file(const char *path, struct nvv_fwabi **ret, char **reterr_msg)
{
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        assert_return(path && ret, -EINVAL);
        r = read_full_file(path, NVV_FWABI_MAX_FILE_SIZE, &data, &size);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s: %s", path, read_full_file_strerror(r));
        return nvv_fwabi_load_buffer(data, size, path, ret, reterr_msg);
}
