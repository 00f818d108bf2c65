/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-marshal.h"
#include "util.h"

enum op_kind {
        OP_UINT,
        OP_BOOL,
        OP_STRING,
        OP_BYTES,
        OP_ENUM,
        OP_STRUCTS,
};

struct enum_pair {
        uint32_t wire;
        uint32_t stable;
};

struct nvv_op {
        enum op_kind kind;
        bool out;                    /* the firmware fills it; requests leave it zero */
        bool raw;                    /* same width on both sides: a plain copy (little-endian hosts) */
        const char *s_name;
        const char *w_name;
        uint32_t s_off, w_off;
        uint8_t s_width, w_width;
        bool w_signed, w_bool;
        uint32_t s_count, w_count;   /* elements (bytes for STRING/BYTES) */
        uint32_t s_stride, w_stride;
        bool governed;               /* length comes from a count field */
        uint32_t cnt_s_off, cnt_w_off;
        uint8_t cnt_s_width, cnt_w_width;
        uint32_t *enc;               /* ENUM: stable index → wire value, UINT32_MAX = none */
        uint32_t n_enc;
        struct enum_pair *dec;       /* ENUM: wire value → stable index */
        uint32_t n_dec;
        const char *domain;
        struct nvv_wplan *sub;
};

struct nvv_wplan {
        const struct nvv_sschema *s;
        const struct nvv_wstruct *w;
        const char *release;
        size_t n_ops;
        struct nvv_op *ops;
        size_t n_absent;
        const struct nvv_sfield **absent; /* stable fields this release lacks */
};

struct nvv_map *nvv_map_free(struct nvv_map *m)
{
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n; i++) {
                free(m->entries[i].stable);
                free(m->entries[i].wire);
                nvv_map_free(m->entries[i].elements);
        }
        free(m->entries);
        free(m);
        return NULL;
}

struct nvv_wplan *nvv_wplan_free(struct nvv_wplan *p)
{
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_ops; i++) {
                free(p->ops[i].enc);
                free(p->ops[i].dec);
                nvv_wplan_free(p->ops[i].sub);
        }
        free(p->ops);
        free(p->absent);
        free(p);
        return NULL;
}

const struct nvv_wstruct *nvv_wplan_wire(const struct nvv_wplan *p)
{
        return p->w;
}

const struct nvv_sschema *nvv_wplan_schema(const struct nvv_wplan *p)
{
        return p->s;
}

bool nvv_wplan_has_field(const struct nvv_wplan *p, const char *stable_name)
{
        for (size_t i = 0; i < p->n_ops; i++)
                if (streq(p->ops[i].s_name, stable_name))
                        return true;
        return false;
}

uint32_t nvv_wplan_field_count(const struct nvv_wplan *p, const char *stable_path)
{
        const char *dot;
        size_t len;

        if (!p || !stable_path)
                return 0;
        dot = strchr(stable_path, '.');
        len = dot ? (size_t) (dot - stable_path) : strlen(stable_path);
        for (size_t i = 0; i < p->n_ops; i++) {
                const struct nvv_op *op = &p->ops[i];

                if (strlen(op->s_name) != len || strncmp(op->s_name, stable_path, len) != 0)
                        continue;
                if (!dot)
                        return op->w_count;
                return op->kind == OP_STRUCTS ? nvv_wplan_field_count(op->sub, dot + 1) : 0;
        }
        return 0;
}

static bool wtype_is_int(enum nvv_wtype t)
{
        return t != NVV_WT_STRUCT && t != NVV_WT_CHAR;
}

static bool wtype_is_byte(enum nvv_wtype t)
{
        return t == NVV_WT_U8 || t == NVV_WT_I8 || t == NVV_WT_CHAR;
}

static const struct nvv_map_entry *map_find(const struct nvv_map *m, const char *stable)
{
        for (size_t i = 0; m && i < m->n; i++)
                if (streq(m->entries[i].stable, stable))
                        return &m->entries[i];
        return NULL;
}

static int compile_enum(const struct nvv_domain *domains, size_t n_domains, const struct nvv_sfield *sf,
                        struct nvv_op *op, char **reterr)
{
        const struct nvv_domain *d = nvv_domain_find(domains, n_domains, sf->domain);

        if (!d)
                return nvv_fail(reterr, "field '%s' needs value domain '%s', which the release does not define",
                               sf->name, sf->domain);
        op->domain = sf->domain;
        op->n_enc = sf->n_enum_names;
        op->enc = calloc(op->n_enc, sizeof(uint32_t));
        op->dec = calloc(d->n ? d->n : 1, sizeof(struct enum_pair));
        if (!op->enc || !op->dec)
                return -ENOMEM;
        for (uint32_t i = 0; i < op->n_enc; i++) {
                op->enc[i] = UINT32_MAX;
                for (size_t j = 0; j < d->n; j++)
                        if (streq(d->entries[j].name, sf->enum_names[i]))
                                op->enc[i] = d->entries[j].value;
        }
        for (size_t j = 0; j < d->n; j++)
                for (uint32_t i = 0; i < op->n_enc; i++)
                        if (streq(d->entries[j].name, sf->enum_names[i])) {
                                op->dec[op->n_dec++] = (struct enum_pair) { d->entries[j].value, i };
                                break;
                        }
        return 0;
}

static int compile_one(const char *release, const struct nvv_domain *domains, size_t n_domains,
                       const struct nvv_sschema *schema,
                       const struct nvv_wstruct *wire, const struct nvv_map *map,
                       const struct nvv_map_entry *e, struct nvv_op *op, char **reterr)
{
        const struct nvv_sfield *sf = nvv_sschema_find(schema, e->stable);
        const struct nvv_wfield *wf;
        uint32_t woff = 0;
        int r;

        if (!sf)
                return nvv_fail(reterr, "'%s' is not a field of stable command '%s'", e->stable, schema->name);
        wf = nvv_wstruct_resolve(wire, e->wire, &woff);
        if (!wf)
                return nvv_fail(reterr, "'%s' → '%s': no such field in %s", e->stable, e->wire, wire->name);
        if (wf->count == 0)
                return nvv_fail(reterr, "'%s' → '%s': a flexible array cannot be bound", e->stable, e->wire);

        *op = (struct nvv_op) {
                .out = sf->out,
                .s_name = sf->name, .w_name = wf->name, .s_off = sf->offset, .w_off = woff,
                .s_width = sf->width, .w_width = (uint8_t) wf->elem_size, .w_signed = nvv_wtype_is_signed(wf->type),
                .w_bool = wf->type == NVV_WT_BOOL, .s_count = sf->count, .w_count = wf->count,
                .s_stride = sf->width, .w_stride = wf->elem_size,
        };

        switch (sf->kind) {
        case NVV_SK_UINT:
        case NVV_SK_BOOL:
        case NVV_SK_ENUM:
                op->kind = sf->kind == NVV_SK_UINT ? OP_UINT : sf->kind == NVV_SK_BOOL ? OP_BOOL : OP_ENUM;
                if (!wtype_is_int(wf->type))
                        return nvv_fail(reterr, "'%s' is a number but '%s' is %s", e->stable, e->wire,
                                       wf->type_name);
                if ((sf->count == 1) != (wf->count == 1))
                        return nvv_fail(reterr, "'%s' and '%s' differ in being an array", e->stable, e->wire);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                op->raw = sf->kind == NVV_SK_UINT && !op->w_bool && sf->width == wf->elem_size;
#endif
                if (sf->kind == NVV_SK_ENUM) {
                        r = compile_enum(domains, n_domains, sf, op, reterr);
                        if (r < 0)
                                return r;
                }
                break;
        case NVV_SK_STRING:
        case NVV_SK_BYTES:
                op->kind = sf->kind == NVV_SK_STRING ? OP_STRING : OP_BYTES;
                if (!wtype_is_byte(wf->type))
                        return nvv_fail(reterr, "'%s' is text/bytes but '%s' is %s", e->stable, e->wire,
                                       wf->type_name);
                op->s_stride = op->w_stride = 1;
                break;
        case NVV_SK_STRUCTS:
                op->kind = OP_STRUCTS;
                if (wf->type != NVV_WT_STRUCT || !wf->sub)
                        return nvv_fail(reterr, "'%s' is a list of records but '%s' is %s", e->stable, e->wire,
                                       wf->type_name);
                if (!e->elements)
                        return nvv_fail(reterr, "'%s' → '%s': an element binding is required", e->stable, e->wire);
                op->s_stride = sf->elem_size;
                r = nvv_wplan_compile(release, domains, n_domains, sf->elem, wf->sub, e->elements, &op->sub, reterr);
                if (r < 0)
                        return r;
                break;
        }
        if (sf->kind != NVV_SK_STRUCTS && e->elements)
                return nvv_fail(reterr, "'%s': an element binding is only for lists of records", e->stable);

        if (sf->count_field) {
                const struct nvv_map_entry *ce = map_find(map, sf->count_field);
                const struct nvv_sfield *csf = nvv_sschema_find(schema, sf->count_field);
                const struct nvv_wfield *cwf;
                uint32_t coff = 0;

                if (!ce || !csf)
                        return nvv_fail(reterr, "'%s' is bound but its length '%s' is not", e->stable,
                                       sf->count_field);
                cwf = nvv_wstruct_resolve(wire, ce->wire, &coff);
                if (!cwf || !wtype_is_int(cwf->type) || cwf->count != 1)
                        return nvv_fail(reterr, "'%s' → '%s' cannot hold a length", ce->stable, ce->wire);
                op->governed = true;
                op->cnt_s_off = csf->offset;
                op->cnt_s_width = csf->width;
                op->cnt_w_off = coff;
                op->cnt_w_width = (uint8_t) cwf->elem_size;
        }
        return 0;
}

int nvv_wplan_compile(const char *release, const struct nvv_domain *domains, size_t n_domains,
                      const struct nvv_sschema *schema,
                      const struct nvv_wstruct *wire, const struct nvv_map *map,
                      struct nvv_wplan **ret, char **reterr_msg)
{
        _cleanup_(nvv_wplan_freep) struct nvv_wplan *p = NULL;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->s = schema;
        p->w = wire;
        p->release = release;
        if (map && map->n) {
                p->ops = calloc(map->n, sizeof(struct nvv_op));
                if (!p->ops)
                        return -ENOMEM;
        }
        for (size_t i = 0; map && i < map->n; i++) {
                for (size_t j = 0; j < i; j++)
                        if (streq(map->entries[j].stable, map->entries[i].stable))
                                return nvv_fail(reterr_msg, "'%s' is bound twice", map->entries[i].stable);
                r = compile_one(release, domains, n_domains, schema, wire, map, &map->entries[i], &p->ops[p->n_ops], reterr_msg);
                p->n_ops++; /* counted even on failure so the free path sees it */
                if (r < 0)
                        return r;
        }
        p->absent = calloc(schema->n_fields ? schema->n_fields : 1, sizeof(*p->absent));
        if (!p->absent)
                return -ENOMEM;
        for (size_t i = 0; i < schema->n_fields; i++)
                if (!map_find(map, schema->fields[i].name))
                        p->absent[p->n_absent++] = &schema->fields[i];
        *ret = TAKE_PTR(p);
        return 0;
}

/* Little-endian loads and stores of 1..8 bytes: the wire is little-endian, as is the GSP. */
static inline uint64_t ld(const uint8_t *p, unsigned w)
{
        uint64_t v = 0;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        switch (w) {
        case 1: return *p;
        case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
        case 4: { uint32_t x; memcpy(&x, p, 4); return x; }
        case 8: memcpy(&v, p, 8); return v;
        default: break;
        }
#endif
        for (unsigned i = 0; i < w; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

static inline void st(uint8_t *p, unsigned w, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        switch (w) {
        case 1: *p = (uint8_t) v; return;
        case 2: { uint16_t x = (uint16_t) v; memcpy(p, &x, 2); return; }
        case 4: { uint32_t x = (uint32_t) v; memcpy(p, &x, 4); return; }
        case 8: memcpy(p, &v, 8); return;
        default: break;
        }
#endif
        for (unsigned i = 0; i < w; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

/* Host-order loads/stores for the stable struct (plain C integers). */
static inline uint64_t lds(const uint8_t *p, unsigned w)
{
        switch (w) {
        case 1: return *p;
        case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
        case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
        default: { uint64_t v; memcpy(&v, p, 8); return v; }
        }
}

static inline void sts(uint8_t *p, unsigned w, uint64_t v)
{
        switch (w) {
        case 1: *p = (uint8_t) v; break;
        case 2: { uint16_t x = (uint16_t) v; memcpy(p, &x, 2); break; }
        case 4: { uint32_t x = (uint32_t) v; memcpy(p, &x, 4); break; }
        default: memcpy(p, &v, 8); break;
        }
}

static inline bool fits(uint64_t v, unsigned w)
{
        return w >= 8 || (v >> (8 * w)) == 0;
}

static bool zero_bytes(const uint8_t *p, size_t n)
{
        return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static int encode(const struct nvv_wplan *p, const uint8_t *s, uint8_t *w, unsigned flags, char *err, size_t errlen)
{
        for (size_t i = 0; i < p->n_ops; i++) {
                const struct nvv_op *op = &p->ops[i];
                const uint8_t *sp = s + op->s_off;
                uint8_t *wp = w + op->w_off;
                uint32_t n;

                if (op->out && !(flags & NVV_ENCODE_REPLY))
                        continue;

                if (op->governed) {
                        uint64_t c = lds(s + op->cnt_s_off, op->cnt_s_width);

                        if (c > op->s_count) {
                                nvv_errf(err, errlen, "'%s' claims %" PRIu64 " entries but holds %u", op->s_name, c,
                                     op->s_count);
                                return -EINVAL;
                        }
                        if (c > op->w_count) {
                                nvv_errf(err, errlen, "'%s' has %" PRIu64 " entries; firmware %s holds at most %u in '%s'",
                                     op->s_name, c, p->release, op->w_count, op->w_name);
                                return -E2BIG;
                        }
                        n = (uint32_t) c;
                } else
                        n = MIN(op->s_count, op->w_count);

                if (op->raw) {
                                if (!op->governed && op->s_count > op->w_count &&
                            !zero_bytes(sp + (size_t) op->w_count * op->s_stride,
                                        (size_t) (op->s_count - op->w_count) * op->s_stride))
                                for (uint32_t k = op->w_count; k < op->s_count; k++)
                                        if (lds(sp + (size_t) k * op->s_stride, op->s_width) != 0) {
                                                nvv_errf(err, errlen, "'%s'[%u] is set; firmware %s holds %u entries in '%s'",
                                                     op->s_name, k, p->release, op->w_count, op->w_name);
                                                return -E2BIG;
                                        }
                        memcpy(wp, sp, (size_t) n * op->s_width);
                        continue;
                }
                switch (op->kind) {
                case OP_UINT:
                case OP_BOOL:
                case OP_ENUM:
                        if (!op->governed)
                                for (uint32_t k = op->w_count; k < op->s_count; k++)
                                        if (lds(sp + (size_t) k * op->s_stride, op->s_width) != 0) {
                                                nvv_errf(err, errlen, "'%s'[%u] is set; firmware %s holds %u entries in '%s'",
                                                     op->s_name, k, p->release, op->w_count, op->w_name);
                                                return -E2BIG;
                                        }
                        for (uint32_t k = 0; k < n; k++) {
                                uint64_t v = lds(sp + (size_t) k * op->s_stride, op->s_width);

                                if (op->kind == OP_ENUM) {
                                        if (v >= op->n_enc || op->enc[v] == UINT32_MAX) {
                                                nvv_errf(err, errlen, "'%s' value %" PRIu64 " has no encoding in firmware %s",
                                                     op->s_name, v, p->release);
                                                return -EOPNOTSUPP;
                                        }
                                        v = op->enc[v];
                                } else if (op->kind == OP_BOOL || op->w_bool)
                                        v = v ? 1 : 0;
                                if (!fits(v, op->w_width)) {
                                        nvv_errf(err, errlen, "'%s' value %" PRIu64 " does not fit the %u-byte '%s' of firmware %s",
                                             op->s_name, v, op->w_width, op->w_name, p->release);
                                        return -ERANGE;
                                }
                                st(wp + (size_t) k * op->w_stride, op->w_width, v);
                        }
                        break;
                case OP_STRING: {
                        size_t len = strnlen((const char *) sp, op->s_count);

                        if (len >= op->s_count) {
                                nvv_errf(err, errlen, "'%s' is not terminated", op->s_name);
                                return -EINVAL;
                        }
                        if (len >= op->w_count) {
                                nvv_errf(err, errlen, "'%s' is %zu bytes; firmware %s holds %u in '%s'", op->s_name, len,
                                     p->release, op->w_count - 1, op->w_name);
                                return -ENAMETOOLONG;
                        }
                        memcpy(wp, sp, len);
                        break;
                }
                case OP_BYTES:
                        for (uint32_t k = op->w_count; k < op->s_count; k++)
                                if (sp[k]) {
                                        nvv_errf(err, errlen, "'%s' has %u bytes; firmware %s holds %u in '%s'", op->s_name,
                                             op->s_count, p->release, op->w_count, op->w_name);
                                        return -E2BIG;
                                }
                        memcpy(wp, sp, n);
                        break;
                case OP_STRUCTS:
                        for (uint32_t k = 0; k < n; k++) {
                                int r = encode(op->sub, sp + (size_t) k * op->s_stride, wp + (size_t) k * op->sub->w->size,
                                               flags, err, errlen);
                                if (r < 0)
                                        return r;
                        }
                        break;
                }
        }
        return 0;
}

int nvv_wplan_encode(const struct nvv_wplan *p, const void *stable, void *wire, size_t wire_size,
                     unsigned flags, char *err, size_t errlen)
{
        assert_return(p && stable && wire, -EINVAL);
        if (wire_size < p->w->size) {
                nvv_errf(err, errlen, "buffer of %zu bytes is smaller than %s (%u)", wire_size, p->w->name, p->w->size);
                return -ENOBUFS;
        }
        memset(wire, 0, p->w->size);
        return encode(p, stable, wire, flags, err, errlen);
}

static void set_defaults(const struct nvv_wplan *p, uint8_t *s)
{
        for (size_t i = 0; i < p->n_absent; i++) {
                const struct nvv_sfield *f = p->absent[i];

                if ((f->kind == NVV_SK_UINT || f->kind == NVV_SK_ENUM) && f->count == 1 && f->def)
                        sts(s + f->offset, f->width, f->def);
        }
}

static int decode(const struct nvv_wplan *p, const uint8_t *w, uint8_t *s, char *err, size_t errlen)
{
        set_defaults(p, s);
        for (size_t i = 0; i < p->n_ops; i++) {
                const struct nvv_op *op = &p->ops[i];
                const uint8_t *wp = w + op->w_off;
                uint8_t *sp = s + op->s_off;
                uint32_t n;

                if (op->governed) {
                        uint64_t c = ld(w + op->cnt_w_off, op->cnt_w_width);

                        if (c > op->w_count || c > op->s_count) {
                                nvv_errf(err, errlen, "reply claims %" PRIu64 " entries in '%s', which holds %u",
                                     c, op->w_name, MIN(op->w_count, op->s_count));
                                return -EBADMSG;
                        }
                        n = (uint32_t) c;
                } else
                        n = MIN(op->s_count, op->w_count);

                if (op->raw) {
                        memcpy(sp, wp, (size_t) n * op->s_width);
                        continue;
                }
                switch (op->kind) {
                case OP_UINT:
                case OP_BOOL:
                case OP_ENUM:
                        for (uint32_t k = 0; k < n; k++) {
                                uint64_t v = ld(wp + (size_t) k * op->w_stride, op->w_width);

                                if (op->w_signed && op->w_width < 8 && (v >> (8 * op->w_width - 1)) & 1)
                                        v |= ~UINT64_C(0) << (8 * op->w_width); /* sign-extend */
                                if (op->kind == OP_BOOL)
                                        v = v ? 1 : 0;
                                else if (op->kind == OP_ENUM) {
                                        uint64_t idx = 0; /* "unknown" */

                                        for (uint32_t j = 0; j < op->n_dec; j++)
                                                if (op->dec[j].wire == v)
                                                        idx = op->dec[j].stable;
                                        v = idx;
                                } else if (!fits(v, op->s_width)) {
                                        nvv_errf(err, errlen, "reply field '%s' value %" PRIu64 " does not fit '%s'",
                                             op->w_name, v, op->s_name);
                                        return -EBADMSG;
                                }
                                sts(sp + (size_t) k * op->s_stride, op->s_width, v);
                        }
                        break;
                case OP_STRING: {
                        size_t len = strnlen((const char *) wp, op->w_count);

                        if (len > op->s_count - 1u)
                                len = op->s_count - 1u;
                        memcpy(sp, wp, len);
                        sp[len] = '\0';
                        break;
                }
                case OP_BYTES:
                        memcpy(sp, wp, n);
                        break;
                case OP_STRUCTS:
                        for (uint32_t k = 0; k < n; k++) {
                                int r = decode(op->sub, wp + (size_t) k * op->sub->w->size, sp + (size_t) k * op->s_stride,
                                               err, errlen);
                                if (r < 0)
                                        return r;
                        }
                        break;
                }
        }
        return 0;
}

int nvv_wplan_decode(const struct nvv_wplan *p, const void *wire, size_t wire_size, void *stable,
                     char *err, size_t errlen)
{
        assert_return(p && wire && stable, -EINVAL);
        if (wire_size < p->w->size) {
                nvv_errf(err, errlen, "%zu bytes is shorter than %s (%u)", wire_size, p->w->name, p->w->size);
                return -EBADMSG;
        }
        memset(stable, 0, p->s->size);
        return decode(p, wire, stable, err, errlen);
}
