/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "nvv-cmd.h"
#include "nvv-fwdiff.h"
#include "nvv-marshal.h"
#include "util.h"

static const char *const section_table[_NVV_FWDIFF_SECTION_MAX] = {
        [NVV_FWDIFF_COMPATIBLE] = "compatible",
        [NVV_FWDIFF_QUEUE] = "queue",
        [NVV_FWDIFF_STRUCTS] = "structs",
        [NVV_FWDIFF_FUNCTIONS] = "functions",
        [NVV_FWDIFF_EVENTS] = "events",
        [NVV_FWDIFF_CONTROLS] = "controls",
        [NVV_FWDIFF_ALLOCS] = "allocs",
        [NVV_FWDIFF_COMMANDS] = "commands",
        [NVV_FWDIFF_EVENT_MAP] = "event_map",
        [NVV_FWDIFF_SIZING] = "sizing",
        [NVV_FWDIFF_INIT] = "init",
        [NVV_FWDIFF_VALUES] = "values",
        [NVV_FWDIFF_STATUS] = "status",
        [NVV_FWDIFF_HOST_RPC] = "host_rpc",
};
DEFINE_STRING_TABLE_LOOKUP(nvv_fwdiff_section, enum nvv_fwdiff_section, section_table, _NVV_FWDIFF_SECTION_MAX,
                           _NVV_FWDIFF_SECTION_INVALID)

static const char *const kind_table[_NVV_FWDIFF_KIND_MAX] = {
        [NVV_FWDIFF_ADDED] = "added",
        [NVV_FWDIFF_REMOVED] = "removed",
        [NVV_FWDIFF_CHANGED] = "changed",
        [NVV_FWDIFF_RENUMBERED] = "renumbered",
        [NVV_FWDIFF_REPURPOSED] = "repurposed",
        [NVV_FWDIFF_REORDERED] = "reordered",
};
DEFINE_STRING_TABLE_LOOKUP(nvv_fwdiff_kind, enum nvv_fwdiff_kind, kind_table, _NVV_FWDIFF_KIND_MAX,
                           _NVV_FWDIFF_KIND_INVALID)

/* ---- values and the change list ---- */

static const struct nvv_fwdiff_value NONE = { .type = NVV_FWDIFF_NONE };

static struct nvv_fwdiff_value dec(uint64_t v)
{
        return (struct nvv_fwdiff_value) { .type = NVV_FWDIFF_DEC, .num = v };
}

static struct nvv_fwdiff_value hex(uint64_t v)
{
        return (struct nvv_fwdiff_value) { .type = NVV_FWDIFF_HEX, .num = v };
}

/* Borrowed text; add() copies it. */
static struct nvv_fwdiff_value text(const char *s)
{
        return (struct nvv_fwdiff_value) { .type = NVV_FWDIFF_TEXT, .text = (char *) (s ? s : "") };
}

static bool value_equal(const struct nvv_fwdiff_value *a, const struct nvv_fwdiff_value *b)
{
        if (a->type != b->type)
                return false;
        if (a->type == NVV_FWDIFF_TEXT)
                return streq(a->text, b->text);
        return a->num == b->num;
}

const char *nvv_fwdiff_value_to_string(const struct nvv_fwdiff_value *v, char *buf, size_t size)
{
        switch (v->type) {
        case NVV_FWDIFF_DEC:
                snprintf(buf, size, "%" PRIu64, v->num);
                break;
        case NVV_FWDIFF_HEX:
                snprintf(buf, size, "0x%" PRIx64, v->num);
                break;
        case NVV_FWDIFF_TEXT:
                snprintf(buf, size, "%s", v->text ? v->text : "");
                break;
        default:
                snprintf(buf, size, "%s", "");
                break;
        }
        return buf;
}

struct ctx {
        struct nvv_fwdiff *d;
        size_t cap;
        enum nvv_fwdiff_section section;
};

static int value_copy(struct nvv_fwdiff_value *dst, const struct nvv_fwdiff_value *src)
{
        *dst = *src;
        dst->text = NULL;
        if (src->type == NVV_FWDIFF_TEXT) {
                dst->text = strdup(src->text);
                if (!dst->text)
                        return -ENOMEM;
        }
        return 0;
}

static void change_done(struct nvv_fwdiff_change *c)
{
        free(c->name);
        free(c->from.text);
        free(c->to.text);
        free(c->detail);
}

static int add(struct ctx *c, enum nvv_fwdiff_kind kind, const char *name, const char *attr,
               struct nvv_fwdiff_value from, struct nvv_fwdiff_value to, const char *detail)
{
        struct nvv_fwdiff_change *ch;

        if (c->d->n_changes == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 64;
                struct nvv_fwdiff_change *n = reallocarray(c->d->changes, cap, sizeof(*n));

                if (!n)
                        return -ENOMEM;
                c->d->changes = n;
                c->cap = cap;
        }
        ch = &c->d->changes[c->d->n_changes];
        *ch = (struct nvv_fwdiff_change) { .section = c->section, .kind = kind, .attr = attr };
        if (!(ch->name = strdup(name)) || value_copy(&ch->from, &from) < 0 || value_copy(&ch->to, &to) < 0 ||
            (detail && !(ch->detail = strdup(detail)))) {
                change_done(ch);
                return -ENOMEM;
        }
        c->d->n_changes++;
        c->d->per_section[c->section]++;
        return 0;
}

/* A property both sides have: one CHANGED (or `kind`) change when it differs. */
static int cmp(struct ctx *c, enum nvv_fwdiff_kind kind, const char *name, const char *attr,
               struct nvv_fwdiff_value from, struct nvv_fwdiff_value to)
{
        if (value_equal(&from, &to))
                return 0;
        return add(c, kind, name, attr, from, to, NULL);
}

/* ---- pairing two tables by name ---- */

struct slot {
        const char *name;
        size_t idx;
};

struct pair {
        const char *name;
        ssize_t a, b;           /* index in each table, -1 where it lacks the name */
};

static int slot_compare(const void *x, const void *y)
{
        const struct slot *a = x, *b = y;
        int r = strcmp(a->name, b->name);

        return r ? r : (a->idx > b->idx) - (a->idx < b->idx);
}

static int slots_make(const void *base, size_t n, size_t stride, size_t name_off, struct slot **ret)
{
        struct slot *s = calloc(n ? n : 1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                s[i].name = *(char *const *) ((const char *) base + i * stride + name_off);
                s[i].idx = i;
        }
        qsort(s, n, sizeof(*s), slot_compare);
        *ret = s;
        return 0;
}

/* Every name of either table, in strcmp order, with where each table holds it. Both tables
 * are arrays of a struct with a `char *` name at name_off. */
static int pair_up(const void *a, size_t na, const void *b, size_t nb, size_t stride, size_t name_off,
                   struct pair **ret, size_t *ret_n)
{
        _cleanup_free_ struct slot *sa = NULL, *sb = NULL;
        _cleanup_free_ struct pair *p = NULL;
        size_t i = 0, j = 0, n = 0;

        if (slots_make(a, na, stride, name_off, &sa) < 0 || slots_make(b, nb, stride, name_off, &sb) < 0)
                return -ENOMEM;
        p = calloc(na + nb + 1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        while (i < na || j < nb) {
                int r = i >= na ? 1 : j >= nb ? -1 : strcmp(sa[i].name, sb[j].name);

                if (r < 0) {
                        p[n++] = (struct pair) { sa[i].name, (ssize_t) sa[i].idx, -1 };
                        i++;
                } else if (r > 0) {
                        p[n++] = (struct pair) { sb[j].name, -1, (ssize_t) sb[j].idx };
                        j++;
                } else {
                        p[n++] = (struct pair) { sa[i].name, (ssize_t) sa[i].idx, (ssize_t) sb[j].idx };
                        i++;
                        j++;
                }
        }
        *ret = TAKE_PTR(p);
        *ret_n = n;
        return 0;
}

#define PAIR_UP(a, na, b, nb, ret, ret_n) \
        pair_up(a, na, b, nb, sizeof(*(a)), offsetof(typeof(*(a)), name), ret, ret_n)

/* ---- compatible prefixes ---- */

static bool strv_has(char *const *l, const char *s)
{
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

/* Members of a list only one side has (compatible prefixes, 48-VM devices). */
static int diff_strv(struct ctx *c, const char *name, const char *attr, char *const *a, char *const *b)
{
        int r;

        for (char *const *p = a; p && *p; p++)
                if (!strv_has(b, *p) && (r = add(c, NVV_FWDIFF_REMOVED, name, attr, text(*p), NONE, NULL)) < 0)
                        return r;
        for (char *const *p = b; p && *p; p++)
                if (!strv_has(a, *p) && (r = add(c, NVV_FWDIFF_ADDED, name, attr, NONE, text(*p), NULL)) < 0)
                        return r;
        return 0;
}

/* ---- queue ---- */

static const char *sname(const struct nvv_wstruct *s)
{
        return s ? s->name : "";
}

static int cmp_role(struct ctx *c, const char *name, struct nvv_role a, struct nvv_role b)
{
        int r;

        if ((r = cmp(c, NVV_FWDIFF_CHANGED, name, "offset", dec(a.offset), dec(b.offset))) < 0)
                return r;
        return cmp(c, NVV_FWDIFF_CHANGED, name, "width", dec(a.width), dec(b.width));
}

static int diff_queue(struct ctx *c, const struct nvv_fwabi *fa, const struct nvv_fwabi *fb)
{
        const struct nvv_queue_desc *a = &fa->queue, *b = &fb->queue;
        const struct {
                const char *name;
                struct nvv_fwdiff_value a, b;
        } items[] = {
                { "geometry", text(a->negotiated ? "negotiated" : "fixed"), text(b->negotiated ? "negotiated" : "fixed") },
                { "element_size", dec(a->element_size), dec(b->element_size) },
                { "max_elements", dec(a->max_elements), dec(b->max_elements) },
                { "queue_size", dec(a->queue_size), dec(b->queue_size) },
                { "element_header", text(sname(a->element_header)), text(sname(b->element_header)) },
                { "element_header_size", dec(a->el_header_size), dec(b->el_header_size) },
                { "rpc_header", text(sname(a->rpc_header)), text(sname(b->rpc_header)) },
                { "rpc_header_size", dec(a->rpc_header_size), dec(b->rpc_header_size) },
                { "header_version", hex(a->header_version), hex(b->header_version) },
                { "signature", hex(a->signature), hex(b->signature) },
                { "result_pending", hex(a->result_pending), hex(b->result_pending) },
                { "continuation_function", text(nvv_fwabi_function_name(fa, a->fn_continuation)),
                  text(nvv_fwabi_function_name(fb, b->fn_continuation)) },
                { "control_function", text(nvv_fwabi_function_name(fa, a->fn_control)),
                  text(nvv_fwabi_function_name(fb, b->fn_control)) },
                { "alloc_function", text(nvv_fwabi_function_name(fa, a->fn_alloc)),
                  text(nvv_fwabi_function_name(fb, b->fn_alloc)) },
                { "control_header", text(sname(a->control_header)), text(sname(b->control_header)) },
                { "control_header_size", dec(a->ctl_header_size), dec(b->ctl_header_size) },
                { "alloc_header", text(sname(a->alloc_header)), text(sname(b->alloc_header)) },
                { "alloc_header_size", dec(a->al_header_size), dec(b->al_header_size) },
                { "max_rpc_size", dec(a->max_rpc_size), dec(b->max_rpc_size) },
                { "timeout_ms", dec(a->timeout_ms), dec(b->timeout_ms) },
        };
        const struct {
                const char *name;
                struct nvv_role a, b;
        } roles[] = {
                { "element_roles.checksum", a->el_checksum, b->el_checksum },
                { "element_roles.sequence", a->el_sequence, b->el_sequence },
                { "element_roles.element_count", a->el_count, b->el_count },
                { "rpc_roles.header_version", a->rpc_header_version, b->rpc_header_version },
                { "rpc_roles.signature", a->rpc_signature, b->rpc_signature },
                { "rpc_roles.length", a->rpc_length, b->rpc_length },
                { "rpc_roles.function", a->rpc_function, b->rpc_function },
                { "rpc_roles.result", a->rpc_result, b->rpc_result },
                { "rpc_roles.result_private", a->rpc_result_private, b->rpc_result_private },
                { "rpc_roles.sequence", a->rpc_sequence, b->rpc_sequence },
                { "rpc_roles.gfid", a->rpc_gfid, b->rpc_gfid },
                { "control_roles.client", a->ctl_client, b->ctl_client },
                { "control_roles.object", a->ctl_object, b->ctl_object },
                { "control_roles.cmd", a->ctl_cmd, b->ctl_cmd },
                { "control_roles.status", a->ctl_status, b->ctl_status },
                { "control_roles.params_size", a->ctl_params_size, b->ctl_params_size },
                { "alloc_roles.client", a->al_client, b->al_client },
                { "alloc_roles.parent", a->al_parent, b->al_parent },
                { "alloc_roles.object", a->al_object, b->al_object },
                { "alloc_roles.class", a->al_class, b->al_class },
                { "alloc_roles.status", a->al_status, b->al_status },
                { "alloc_roles.params_size", a->al_params_size, b->al_params_size },
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(items); i++)
                if ((r = cmp(c, NVV_FWDIFF_CHANGED, items[i].name, "value", items[i].a, items[i].b)) < 0)
                        return r;
        for (size_t i = 0; i < ELEMENTSOF(roles); i++)
                if ((r = cmp_role(c, roles[i].name, roles[i].a, roles[i].b)) < 0)
                        return r;
        return 0;
}

/* ---- structs ---- */

static void field_type(const struct nvv_wfield *f, char *buf, size_t size)
{
        if (f->count == 1)
                snprintf(buf, size, "%s", f->type_name);
        else if (f->count == 0)
                snprintf(buf, size, "%s[]", f->type_name);
        else
                snprintf(buf, size, "%s[%u]", f->type_name, f->count);
}

struct field_change {
        uint32_t offset;        /* where it is listed: its offset in the second release, else the first */
        size_t seq;
        enum nvv_fwdiff_kind kind;
        const char *name;
        const char *attr;
        struct nvv_fwdiff_value from, to;
        char type[128];
};

static int field_change_compare(const void *x, const void *y)
{
        const struct field_change *a = x, *b = y;

        if (a->offset != b->offset)
                return a->offset < b->offset ? -1 : 1;
        return (a->seq > b->seq) - (a->seq < b->seq);
}

static int diff_fields(struct ctx *c, const struct nvv_wstruct *a, const struct nvv_wstruct *b)
{
        _cleanup_free_ struct pair *p = NULL;
        _cleanup_free_ struct field_change *fc = NULL;
        size_t n = 0, k = 0;
        int r = 0;

        if (PAIR_UP(a->fields, a->n_fields, b->fields, b->n_fields, &p, &n) < 0)
                return -ENOMEM;
        /* A field present in both can change offset and type: two entries at most. */
        fc = calloc(2 * n + 1, sizeof(*fc));
        if (!fc)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const struct nvv_wfield *fa = p[i].a >= 0 ? &a->fields[p[i].a] : NULL;
                const struct nvv_wfield *fb = p[i].b >= 0 ? &b->fields[p[i].b] : NULL;
                char ta[128] = "", tb[128] = "";

                if (fa)
                        field_type(fa, ta, sizeof(ta));
                if (fb)
                        field_type(fb, tb, sizeof(tb));
                if (!fb) {
                        fc[k] = (struct field_change) { fa->offset, k, NVV_FWDIFF_REMOVED, p[i].name, "offset",
                                                        dec(fa->offset), NONE, "" };
                        snprintf(fc[k].type, sizeof(fc[k].type), "%s", ta);
                        k++;
                } else if (!fa) {
                        fc[k] = (struct field_change) { fb->offset, k, NVV_FWDIFF_ADDED, p[i].name, "offset", NONE,
                                                        dec(fb->offset), "" };
                        snprintf(fc[k].type, sizeof(fc[k].type), "%s", tb);
                        k++;
                } else {
                        if (fa->offset != fb->offset) {
                                fc[k] = (struct field_change) { fb->offset, k, NVV_FWDIFF_CHANGED, p[i].name, "offset",
                                                                dec(fa->offset), dec(fb->offset), "" };
                                k++;
                        }
                        if (!streq(ta, tb)) {
                                fc[k] = (struct field_change) { fb->offset, k, NVV_FWDIFF_CHANGED, p[i].name, "type",
                                                                NONE, NONE, "" };
                                snprintf(fc[k].type, sizeof(fc[k].type), "%s", ta);
                                k++;
                        }
                }
        }
        qsort(fc, k, sizeof(*fc), field_change_compare);
        for (size_t i = 0; i < k && r >= 0; i++) {
                _cleanup_free_ char *name = NULL;

                if (asprintf(&name, "%s.%s", b->name, fc[i].name) < 0)
                        return -ENOMEM;
                if (streq(fc[i].attr, "type")) {
                        const struct nvv_wfield *fa = nvv_wstruct_find_field(a, fc[i].name);
                        const struct nvv_wfield *fb = nvv_wstruct_find_field(b, fc[i].name);
                        char ta[128], tb[128];

                        field_type(fa, ta, sizeof(ta));
                        field_type(fb, tb, sizeof(tb));
                        r = add(c, fc[i].kind, name, "type", text(ta), text(tb), NULL);
                } else
                        r = add(c, fc[i].kind, name, fc[i].attr, fc[i].from, fc[i].to,
                                fc[i].kind == NVV_FWDIFF_CHANGED ? NULL : fc[i].type);
        }
        return r;
}

static int diff_structs(struct ctx *c, const struct nvv_fwabi *fa, const struct nvv_fwabi *fb)
{
        _cleanup_free_ struct pair *p = NULL;
        size_t n = 0;
        int r;

        if (PAIR_UP(fa->structs, fa->n_structs, fb->structs, fb->n_structs, &p, &n) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const struct nvv_wstruct *a = p[i].a >= 0 ? &fa->structs[p[i].a] : NULL;
                const struct nvv_wstruct *b = p[i].b >= 0 ? &fb->structs[p[i].b] : NULL;
                char detail[64];

                if (!a || !b) {
                        const struct nvv_wstruct *s = p[i].a >= 0 ? &fa->structs[p[i].a] : &fb->structs[p[i].b];

                        snprintf(detail, sizeof(detail), "%zu field%s", s->n_fields, s->n_fields == 1 ? "" : "s");
                        r = add(c, a ? NVV_FWDIFF_REMOVED : NVV_FWDIFF_ADDED, p[i].name, "size",
                                a ? dec(a->size) : NONE, b ? dec(b->size) : NONE, detail);
                } else if ((r = cmp(c, NVV_FWDIFF_CHANGED, p[i].name, "size", dec(a->size), dec(b->size))) >= 0)
                        r = diff_fields(c, a, b);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- functions, events, value domains, status ---- */

static int diff_named(struct ctx *c, const char *prefix, const struct nvv_named *a, size_t na,
                      const struct nvv_named *b, size_t nb, bool as_hex)
{
        _cleanup_free_ struct pair *p = NULL;
        size_t n = 0;
        int r = 0;

        if (PAIR_UP(a, na, b, nb, &p, &n) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *name = NULL;
                struct nvv_fwdiff_value va = p[i].a < 0 ? NONE : as_hex ? hex(a[p[i].a].value) : dec(a[p[i].a].value);
                struct nvv_fwdiff_value vb = p[i].b < 0 ? NONE : as_hex ? hex(b[p[i].b].value) : dec(b[p[i].b].value);

                if (prefix ? asprintf(&name, "%s.%s", prefix, p[i].name) < 0 : !(name = strdup(p[i].name)))
                        return -ENOMEM;
                if (p[i].a < 0)
                        r = add(c, NVV_FWDIFF_ADDED, name, "value", NONE, vb, NULL);
                else if (p[i].b < 0)
                        r = add(c, NVV_FWDIFF_REMOVED, name, "value", va, NONE, NULL);
                else
                        r = cmp(c, NVV_FWDIFF_RENUMBERED, name, "value", va, vb);
        }
        return r;
}

static int diff_domains(struct ctx *c, const struct nvv_fwabi *fa, const struct nvv_fwabi *fb)
{
        _cleanup_free_ struct pair *p = NULL;
        size_t n = 0;
        int r = 0;

        if (PAIR_UP(fa->domains, fa->n_domains, fb->domains, fb->n_domains, &p, &n) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                const struct nvv_domain *a = p[i].a >= 0 ? &fa->domains[p[i].a] : NULL;
                const struct nvv_domain *b = p[i].b >= 0 ? &fb->domains[p[i].b] : NULL;
                char detail[64];

                if (a && b)
                        r = diff_named(c, p[i].name, a->entries, a->n, b->entries, b->n, false);
                else {
                        const struct nvv_domain *d = p[i].a >= 0 ? &fa->domains[p[i].a] : &fb->domains[p[i].b];

                        snprintf(detail, sizeof(detail), "%zu value%s", d->n, d->n == 1 ? "" : "s");
                        r = add(c, a ? NVV_FWDIFF_REMOVED : NVV_FWDIFF_ADDED, p[i].name, NULL, NONE, NONE, detail);
                }
        }
        return r;
}

static const char *errno_text(int e, char *buf, size_t size)
{
        const char *n = errno_to_name(e);

        if (n)
                return n;
        snprintf(buf, size, "%d", e);
        return buf;
}

static int diff_status(struct ctx *c, const struct nvv_fwabi *fa, const struct nvv_fwabi *fb)
{
        _cleanup_free_ struct pair *p = NULL;
        size_t n = 0;
        int r = 0;

        if (PAIR_UP(fa->status, fa->n_status, fb->status, fb->n_status, &p, &n) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                const struct nvv_status *a = p[i].a >= 0 ? &fa->status[p[i].a] : NULL;
                const struct nvv_status *b = p[i].b >= 0 ? &fb->status[p[i].b] : NULL;
                char ea[32], eb[32], detail[48];

                if (!a || !b) {
                        const struct nvv_status *s = p[i].a >= 0 ? &fa->status[p[i].a] : &fb->status[p[i].b];

                        snprintf(detail, sizeof(detail), "reported as %s", errno_text(s->errno_value, ea, sizeof(ea)));
                        r = add(c, a ? NVV_FWDIFF_REMOVED : NVV_FWDIFF_ADDED, p[i].name, "value",
                                a ? hex(a->value) : NONE, b ? hex(b->value) : NONE, detail);
                } else if ((r = cmp(c, NVV_FWDIFF_RENUMBERED, p[i].name, "value", hex(a->value), hex(b->value))) >= 0)
                        r = cmp(c, NVV_FWDIFF_CHANGED, p[i].name, "errno",
                                text(errno_text(a->errno_value, ea, sizeof(ea))),
                                text(errno_text(b->errno_value, eb, sizeof(eb))));
        }
        return r;
}

/* ---- controls and allocation classes: keyed by name and by number ---- */

struct keyed {
        const char *name;
        uint32_t key;
        const char *params;
        const char *object;
        bool covered;           /* its number is re-purposed: reported there, not as added/removed */
};

static int keyed_compare_key(const void *x, const void *y)
{
        const struct keyed *a = x, *b = y;

        if (a->key != b->key)
                return a->key < b->key ? -1 : 1;
        return strcmp(a->name, b->name);
}

static int diff_keyed(struct ctx *c, const char *key_attr, const char *object_attr, struct keyed *a, size_t na,
                      struct keyed *b, size_t nb)
{
        _cleanup_free_ struct pair *p = NULL;
        size_t n = 0, i = 0, j = 0;
        int r;

        /* One number, another name: a re-purposed control (or class). Walk both by number. */
        qsort(a, na, sizeof(*a), keyed_compare_key);
        qsort(b, nb, sizeof(*b), keyed_compare_key);
        while (i < na && j < nb) {
                char name[32], detail[512] = "";

                if (a[i].key < b[j].key) {
                        i++;
                        continue;
                }
                if (a[i].key > b[j].key) {
                        j++;
                        continue;
                }
                if (!streq(a[i].name, b[j].name)) {
                        snprintf(name, sizeof(name), "0x%" PRIx32, a[i].key);
                        if (!streq(a[i].params, b[j].params) || !streq(a[i].object, b[j].object))
                                snprintf(detail, sizeof(detail), "params %s, %s %s -> params %s, %s %s", a[i].params,
                                         object_attr, a[i].object, b[j].params, object_attr, b[j].object);
                        r = add(c, NVV_FWDIFF_REPURPOSED, name, "name", text(a[i].name), text(b[j].name),
                                detail[0] ? detail : NULL);
                        if (r < 0)
                                return r;
                        a[i].covered = b[j].covered = true;
                }
                i++;
                j++;
        }

        if (PAIR_UP(a, na, b, nb, &p, &n) < 0)
                return -ENOMEM;
        for (size_t k = 0; k < n; k++) {
                struct keyed *x = p[k].a >= 0 ? &a[p[k].a] : NULL, *y = p[k].b >= 0 ? &b[p[k].b] : NULL;
                char detail[512];

                if (!x || !y) {
                        struct keyed *s = p[k].a >= 0 ? &a[p[k].a] : &b[p[k].b];

                        if (s->covered)
                                continue;
                        snprintf(detail, sizeof(detail), "params %s, %s %s", s->params, object_attr, s->object);
                        r = add(c, x ? NVV_FWDIFF_REMOVED : NVV_FWDIFF_ADDED, p[k].name, key_attr,
                                x ? hex(x->key) : NONE, y ? hex(y->key) : NONE, detail);
                } else if ((r = cmp(c, NVV_FWDIFF_RENUMBERED, p[k].name, key_attr, hex(x->key), hex(y->key))) >= 0 &&
                           (r = cmp(c, NVV_FWDIFF_CHANGED, p[k].name, "params", text(x->params), text(y->params))) >= 0)
                        r = cmp(c, NVV_FWDIFF_CHANGED, p[k].name, object_attr, text(x->object), text(y->object));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The plugin's host RPC messages: one number with another name is a re-purposed message (its
 * two names are then not also told as removed and added); then by name. */
static int diff_host_rpc(struct ctx *c, const struct nvv_fwabi *fa, const struct nvv_fwabi *fb)
{
        int r = 0;

        for (size_t i = 0; i < fa->n_host_msgs && r >= 0; i++) {
                const char *nb = nvv_fwabi_host_msg_name(fb, fa->host_msgs[i].value);
                char name[16];

                if (!nb || streq(nb, fa->host_msgs[i].name))
                        continue;
                snprintf(name, sizeof(name), "%" PRIu32, fa->host_msgs[i].value);
                r = add(c, NVV_FWDIFF_REPURPOSED, name, "name", text(fa->host_msgs[i].name), text(nb), NULL);
        }
        for (size_t i = 0; i < fa->n_host_msgs && r >= 0; i++) {
                const struct nvv_named *e = &fa->host_msgs[i];
                const char *nb = nvv_fwabi_host_msg_name(fb, e->value);
                uint32_t v;

                if (nvv_fwabi_host_msg_value(fb, e->name, &v) == 0)
                        r = cmp(c, NVV_FWDIFF_RENUMBERED, e->name, "value", dec(e->value), dec(v));
                else if (!nb) /* else told as re-purposed */
                        r = add(c, NVV_FWDIFF_REMOVED, e->name, "value", dec(e->value), NONE, NULL);
        }
        for (size_t i = 0; i < fb->n_host_msgs && r >= 0; i++) {
                const struct nvv_named *e = &fb->host_msgs[i];
                uint32_t v;

                if (nvv_fwabi_host_msg_value(fa, e->name, &v) < 0 && !nvv_fwabi_host_msg_name(fa, e->value))
                        r = add(c, NVV_FWDIFF_ADDED, e->name, "value", NONE, dec(e->value), NULL);
        }
        if (r >= 0 && fa->n_host_msgs && fb->n_host_msgs)
                r = cmp(c, NVV_FWDIFF_CHANGED, "host_rpc", "timeout_ms", dec((uint64_t) fa->host_rpc_timeout_ms),
                        dec((uint64_t) fb->host_rpc_timeout_ms));
        else if (r >= 0 && (fa->n_host_msgs || fb->n_host_msgs))
                r = add(c, fa->n_host_msgs ? NVV_FWDIFF_REMOVED : NVV_FWDIFF_ADDED, "host_rpc", "timeout_ms",
                        fa->n_host_msgs ? dec((uint64_t) fa->host_rpc_timeout_ms) : NONE,
                        fb->n_host_msgs ? dec((uint64_t) fb->host_rpc_timeout_ms) : NONE, NULL);
        return r;
}

static int diff_controls(struct ctx *c, const struct nvv_fwabi *fa, const struct nvv_fwabi *fb)
{
        _cleanup_free_ struct keyed *a = calloc(fa->n_controls + 1, sizeof(*a));
        _cleanup_free_ struct keyed *b = calloc(fb->n_controls + 1, sizeof(*b));

        if (!a || !b)
                return -ENOMEM;
        for (size_t i = 0; i < fa->n_controls; i++)
                a[i] = (struct keyed) { fa->controls[i].name, fa->controls[i].id, sname(fa->controls[i].params),
                                        nvv_object_to_string(fa->controls[i].object) ?: "?" };
        for (size_t i = 0; i < fb->n_controls; i++)
                b[i] = (struct keyed) { fb->controls[i].name, fb->controls[i].id, sname(fb->controls[i].params),
                                        nvv_object_to_string(fb->controls[i].object) ?: "?" };
        return diff_keyed(c, "id", "object", a, fa->n_controls, b, fb->n_controls);
}

static int diff_allocs(struct ctx *c, const struct nvv_fwabi *fa, const struct nvv_fwabi *fb)
{
        _cleanup_free_ struct keyed *a = calloc(fa->n_allocs + 1, sizeof(*a));
        _cleanup_free_ struct keyed *b = calloc(fb->n_allocs + 1, sizeof(*b));

        if (!a || !b)
                return -ENOMEM;
        for (size_t i = 0; i < fa->n_allocs; i++)
                a[i] = (struct keyed) { fa->allocs[i].name, fa->allocs[i].hclass, sname(fa->allocs[i].params),
                                        nvv_object_to_string(fa->allocs[i].parent) ?: "?" };
        for (size_t i = 0; i < fb->n_allocs; i++)
                b[i] = (struct keyed) { fb->allocs[i].name, fb->allocs[i].hclass, sname(fb->allocs[i].params),
                                        nvv_object_to_string(fb->allocs[i].parent) ?: "?" };
        return diff_keyed(c, "class", "parent", a, fa->n_allocs, b, fb->n_allocs);
}

/* ---- stable command and event bindings ---- */

static void binding_target(const struct nvv_fwabi *fw, const struct nvv_binding *b, char *buf, size_t size)
{
        if (b->control)
                snprintf(buf, size, "control %s", b->control->name);
        else if (b->alloc)
                snprintf(buf, size, "alloc %s", b->alloc->name);
        else if (nvv_fwabi_function_name(fw, b->function))
                snprintf(buf, size, "function %s", nvv_fwabi_function_name(fw, b->function));
        else
                snprintf(buf, size, "function %" PRIu32, b->function);
}

/* The stable fields each release binds, and how many elements it holds for each. */
static int diff_plan_fields(struct ctx *c, const char *owner, const struct nvv_sschema *schema,
                            const struct nvv_wplan *a, const struct nvv_wplan *b)
{
        int r = 0;

        for (size_t i = 0; schema && i < schema->n_fields && r >= 0; i++) {
                const char *f = schema->fields[i].name;
                bool ha = a && nvv_wplan_has_field(a, f), hb = b && nvv_wplan_has_field(b, f);
                _cleanup_free_ char *name = NULL;

                if (!ha && !hb)
                        continue;
                if (asprintf(&name, "%s.%s", owner, f) < 0)
                        return -ENOMEM;
                if (ha && hb)
                        r = cmp(c, NVV_FWDIFF_CHANGED, name, "elements", dec(nvv_wplan_field_count(a, f)),
                                dec(nvv_wplan_field_count(b, f)));
                else
                        r = add(c, ha ? NVV_FWDIFF_REMOVED : NVV_FWDIFF_ADDED, name, "elements",
                                ha ? dec(nvv_wplan_field_count(a, f)) : NONE,
                                hb ? dec(nvv_wplan_field_count(b, f)) : NONE, NULL);
        }
        return r;
}

static int diff_commands(struct ctx *c, const struct nvv_fwabi *fa, const struct nvv_fwabi *fb)
{
        _cleanup_free_ const char **names = calloc(_NVV_CMD_MAX + 1, sizeof(*names));
        _cleanup_free_ int *order = calloc(_NVV_CMD_MAX + 1, sizeof(*order));
        size_t n = 0;
        int r;

        if (!names || !order)
                return -ENOMEM;
        /* In name order, as every other section. */
        for (int cmd = 0; cmd < _NVV_CMD_MAX && cmd < (int) ELEMENTSOF(fa->commands); cmd++) {
                size_t k = n++;

                while (k > 0 && strcmp(names[k - 1], nvv_cmd_to_string(cmd)) > 0) {
                        names[k] = names[k - 1];
                        order[k] = order[k - 1];
                        k--;
                }
                names[k] = nvv_cmd_to_string(cmd);
                order[k] = cmd;
        }
        for (size_t k = 0; k < n; k++) {
                const struct nvv_binding *a = fa->commands[order[k]], *b = fb->commands[order[k]];
                char ta[192], tb[192];

                if (!a && !b)
                        continue;
                if (a)
                        binding_target(fa, a, ta, sizeof(ta));
                if (b)
                        binding_target(fb, b, tb, sizeof(tb));
                if (!a || !b)
                        r = add(c, a ? NVV_FWDIFF_REMOVED : NVV_FWDIFF_ADDED, names[k], "target",
                                a ? text(ta) : NONE, b ? text(tb) : NONE, NULL);
                else if ((r = cmp(c, NVV_FWDIFF_CHANGED, names[k], "target", text(ta), text(tb))) >= 0 &&
                         (r = cmp(c, NVV_FWDIFF_CHANGED, names[k], "params", text(sname(a->payload)),
                                  text(sname(b->payload)))) >= 0 &&
                         (r = cmp(c, NVV_FWDIFF_CHANGED, names[k], "timeout_ms", dec(a->timeout_ms),
                                  dec(b->timeout_ms))) >= 0)
                        r = diff_plan_fields(c, names[k], nvv_cmd_schema(order[k]), a->plan, b->plan);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int diff_event_map(struct ctx *c, const struct nvv_fwabi *fa, const struct nvv_fwabi *fb)
{
        _cleanup_free_ const char **names = calloc(_NVV_EVENT_MAX + 1, sizeof(*names));
        _cleanup_free_ int *order = calloc(_NVV_EVENT_MAX + 1, sizeof(*order));
        size_t n = 0;
        int r;

        if (!names || !order)
                return -ENOMEM;
        for (int ev = 0; ev < _NVV_EVENT_MAX && ev < (int) ELEMENTSOF(fa->event_bindings); ev++) {
                size_t k = n++;

                while (k > 0 && strcmp(names[k - 1], nvv_event_to_string(ev)) > 0) {
                        names[k] = names[k - 1];
                        order[k] = order[k - 1];
                        k--;
                }
                names[k] = nvv_event_to_string(ev);
                order[k] = ev;
        }
        for (size_t k = 0; k < n; k++) {
                const struct nvv_event_binding *a = fa->event_bindings[order[k]], *b = fb->event_bindings[order[k]];
                const char *ea = a ? nvv_fwabi_event_name(fa, a->number) : NULL;
                const char *eb = b ? nvv_fwabi_event_name(fb, b->number) : NULL;

                if (!a && !b)
                        continue;
                if (!a || !b)
                        r = add(c, a ? NVV_FWDIFF_REMOVED : NVV_FWDIFF_ADDED, names[k], "event",
                                a ? text(ea) : NONE, b ? text(eb) : NONE, NULL);
                else if ((r = cmp(c, NVV_FWDIFF_CHANGED, names[k], "event", text(ea), text(eb))) >= 0 &&
                         (r = cmp(c, NVV_FWDIFF_CHANGED, names[k], "struct", text(sname(a->payload)),
                                  text(sname(b->payload)))) >= 0)
                        r = diff_plan_fields(c, names[k], nvv_event_schema(order[k]), a->plan, b->plan);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- sizing ---- */

/* An optional key the file leaves out reads as 0: shown as absent, not as 0. */
static struct nvv_fwdiff_value opt(uint64_t v)
{
        return v ? dec(v) : NONE;
}

static int diff_sizing(struct ctx *c, const struct nvv_sizing *a, const struct nvv_sizing *b)
{
        const struct {
                const char *name;
                struct nvv_fwdiff_value a, b;
        } items[] = {
                { "gsp_fw_heap_vgpu_mb", dec(a->gsp_fw_heap_vgpu_mb), dec(b->gsp_fw_heap_vgpu_mb) },
                { "gsp_fw_heap_vgpu_min_mb", opt(a->gsp_fw_heap_vgpu_min_mb), opt(b->gsp_fw_heap_vgpu_min_mb) },
                { "gsp_fw_heap_vgpu_max_mb", opt(a->gsp_fw_heap_vgpu_max_mb), opt(b->gsp_fw_heap_vgpu_max_mb) },
                { "gsp_fw_heap_vgpu_48vms_mb", opt(a->gsp_fw_heap_vgpu_48vms_mb), opt(b->gsp_fw_heap_vgpu_48vms_mb) },
                { "max_vgpu_types_per_pgpu", dec(a->max_vgpu_types_per_pgpu), dec(b->max_vgpu_types_per_pgpu) },
                { "max_vgpu_per_pgpu", dec(a->max_vgpu_per_pgpu), dec(b->max_vgpu_per_pgpu) },
                { "max_vgpu_per_pgpu_non_mig", opt(a->max_vgpu_per_pgpu_non_mig), opt(b->max_vgpu_per_pgpu_non_mig) },
                { "max_vgpu_per_gi", opt(a->max_vgpu_per_gi), opt(b->max_vgpu_per_gi) },
                { "vgpu_string_size", dec(a->vgpu_string_size), dec(b->vgpu_string_size) },
                { "placement_id_invalid", opt(a->placement_id_invalid), opt(b->placement_id_invalid) },
                { "max_vmmu_segments", dec(a->max_vmmu_segments), dec(b->max_vmmu_segments) },
                { "max_engines", dec(a->max_engines), dec(b->max_engines) },
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(items); i++) {
                enum nvv_fwdiff_kind k = items[i].a.type == NVV_FWDIFF_NONE ? NVV_FWDIFF_ADDED :
                                         items[i].b.type == NVV_FWDIFF_NONE ? NVV_FWDIFF_REMOVED :
                                                                              NVV_FWDIFF_CHANGED;

                if ((r = cmp(c, k, items[i].name, "value", items[i].a, items[i].b)) < 0)
                        return r;
        }
        return diff_strv(c, "gsp_fw_heap_48vms_devices", "device", a->gsp_fw_heap_48vms_devices,
                         b->gsp_fw_heap_48vms_devices);
}

/* ---- init ---- */

static bool init_has(const struct nvv_fwabi *fw, int cmd)
{
        for (size_t i = 0; i < fw->n_init; i++)
                if (fw->init[i] == cmd)
                        return true;
        return false;
}

static int init_text(const struct nvv_fwabi *fw, char **ret)
{
        _cleanup_free_ char *s = strdup("");

        for (size_t i = 0; s && i < fw->n_init; i++) {
                char *n = NULL;

                if (asprintf(&n, "%s%s%s", s, i ? ", " : "", nvv_cmd_to_string(fw->init[i])) < 0)
                        return -ENOMEM;
                free(s);
                s = n;
        }
        if (!s)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

static int diff_init(struct ctx *c, const struct nvv_fwabi *fa, const struct nvv_fwabi *fb)
{
        _cleanup_free_ char *ta = NULL, *tb = NULL;
        size_t i = 0, j = 0;
        bool same_order = true;
        int r;

        for (size_t k = 0; k < fa->n_init; k++)
                if (!init_has(fb, fa->init[k]) &&
                    (r = add(c, NVV_FWDIFF_REMOVED, nvv_cmd_to_string(fa->init[k]), "step", dec(k + 1), NONE, NULL)) < 0)
                        return r;
        for (size_t k = 0; k < fb->n_init; k++)
                if (!init_has(fa, fb->init[k]) &&
                    (r = add(c, NVV_FWDIFF_ADDED, nvv_cmd_to_string(fb->init[k]), "step", NONE, dec(k + 1), NULL)) < 0)
                        return r;
        /* The steps both have, in the order each runs them. */
        for (;;) {
                while (i < fa->n_init && !init_has(fb, fa->init[i]))
                        i++;
                while (j < fb->n_init && !init_has(fa, fb->init[j]))
                        j++;
                if (i >= fa->n_init || j >= fb->n_init)
                        break;
                if (fa->init[i++] != fb->init[j++]) {
                        same_order = false;
                        break;
                }
        }
        if (same_order)
                return 0;
        if (init_text(fa, &ta) < 0 || init_text(fb, &tb) < 0)
                return -ENOMEM;
        return add(c, NVV_FWDIFF_REORDERED, "init", "order", text(ta), text(tb), NULL);
}

/* ---- the whole comparison ---- */

struct nvv_fwdiff *nvv_fwdiff_free(struct nvv_fwdiff *d)
{
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_changes; i++)
                change_done(&d->changes[i]);
        free(d->changes);
        free(d->from_release);
        free(d->from_path);
        free(d->to_release);
        free(d->to_path);
        free(d);
        return NULL;
}

int nvv_fwdiff_new(const struct nvv_fwabi *from, const struct nvv_fwabi *to, struct nvv_fwdiff **ret)
{
        _cleanup_(nvv_fwdiff_freep) struct nvv_fwdiff *d = NULL;
        struct ctx c = {};
        int r;

        assert_return(from && to && ret, -EINVAL);
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        if (!(d->from_release = strdup(from->release)) || !(d->to_release = strdup(to->release)) ||
            !(d->from_path = strdup(from->path ? from->path : "")) || !(d->to_path = strdup(to->path ? to->path : "")))
                return -ENOMEM;
        c.d = d;
        c.section = NVV_FWDIFF_COMPATIBLE;
        if ((r = diff_strv(&c, "compatible", "prefix", from->compatible, to->compatible)) < 0)
                return r;
        c.section = NVV_FWDIFF_QUEUE;
        if ((r = diff_queue(&c, from, to)) < 0)
                return r;
        c.section = NVV_FWDIFF_STRUCTS;
        if ((r = diff_structs(&c, from, to)) < 0)
                return r;
        c.section = NVV_FWDIFF_FUNCTIONS;
        if ((r = diff_named(&c, NULL, from->functions, from->n_functions, to->functions, to->n_functions, false)) < 0)
                return r;
        c.section = NVV_FWDIFF_EVENTS;
        if ((r = diff_named(&c, NULL, from->events, from->n_events, to->events, to->n_events, true)) < 0)
                return r;
        c.section = NVV_FWDIFF_CONTROLS;
        if ((r = diff_controls(&c, from, to)) < 0)
                return r;
        c.section = NVV_FWDIFF_ALLOCS;
        if ((r = diff_allocs(&c, from, to)) < 0)
                return r;
        c.section = NVV_FWDIFF_COMMANDS;
        if ((r = diff_commands(&c, from, to)) < 0)
                return r;
        c.section = NVV_FWDIFF_EVENT_MAP;
        if ((r = diff_event_map(&c, from, to)) < 0)
                return r;
        c.section = NVV_FWDIFF_SIZING;
        if ((r = diff_sizing(&c, &from->sizing, &to->sizing)) < 0)
                return r;
        c.section = NVV_FWDIFF_INIT;
        if ((r = diff_init(&c, from, to)) < 0)
                return r;
        c.section = NVV_FWDIFF_VALUES;
        if ((r = diff_domains(&c, from, to)) < 0)
                return r;
        c.section = NVV_FWDIFF_STATUS;
        if ((r = diff_status(&c, from, to)) < 0)
                return r;
        c.section = NVV_FWDIFF_HOST_RPC;
        if ((r = diff_host_rpc(&c, from, to)) < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

const struct nvv_fwdiff_change *nvv_fwdiff_find(const struct nvv_fwdiff *d, enum nvv_fwdiff_section section,
                                                const char *name, const char *attr)
{
        for (size_t i = 0; d && i < d->n_changes; i++) {
                const struct nvv_fwdiff_change *ch = &d->changes[i];

                if (ch->section == section && streq(ch->name, name) && (!attr || streq_ptr(ch->attr, attr)))
                        return ch;
        }
        return NULL;
}

/* ---- JSON ---- */

static json_object *value_to_json(const struct nvv_fwdiff_value *v)
{
        switch (v->type) {
        case NVV_FWDIFF_DEC:
        case NVV_FWDIFF_HEX:
                return json_object_new_uint64(v->num);
        case NVV_FWDIFF_TEXT:
                return json_object_new_string(v->text);
        default:
                return NULL;
        }
}

static int add_json(json_object *o, const char *key, json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static json_object *side_to_json(const char *release, const char *path)
{
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (add_json(o, "release", json_object_new_string(release)) < 0 ||
            add_json(o, "file", json_object_new_string(path)) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static json_object *change_to_json(const struct nvv_fwdiff_change *ch)
{
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (add_json(o, "section", json_object_new_string(nvv_fwdiff_section_to_string(ch->section))) < 0 ||
            add_json(o, "kind", json_object_new_string(nvv_fwdiff_kind_to_string(ch->kind))) < 0 ||
            add_json(o, "name", json_object_new_string(ch->name)) < 0 ||
            (ch->attr && add_json(o, "attr", json_object_new_string(ch->attr)) < 0) ||
            (ch->from.type != NVV_FWDIFF_NONE && add_json(o, "from", value_to_json(&ch->from)) < 0) ||
            (ch->to.type != NVV_FWDIFF_NONE && add_json(o, "to", value_to_json(&ch->to)) < 0) ||
            (ch->detail && add_json(o, "detail", json_object_new_string(ch->detail)) < 0)) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

int nvv_fwdiff_to_json(const struct nvv_fwdiff *d, json_object **ret)
{
        json_object *root = json_object_new_object(), *counts = json_object_new_object(), *arr = json_object_new_array();
        int r = -ENOMEM;

        if (!root || !counts || !arr)
                goto fail;
        for (size_t i = 0; i < d->n_changes; i++)
                if (json_object_array_add(arr, change_to_json(&d->changes[i])) < 0 ||
                    !json_object_array_get_idx(arr, i))
                        goto fail;
        for (int s = 0; s < _NVV_FWDIFF_SECTION_MAX; s++)
                if (d->per_section[s] &&
                    add_json(counts, nvv_fwdiff_section_to_string(s), json_object_new_uint64(d->per_section[s])) < 0)
                        goto fail;
        if (add_json(root, "from", side_to_json(d->from_release, d->from_path)) < 0 ||
            add_json(root, "to", side_to_json(d->to_release, d->to_path)) < 0 ||
            add_json(root, "identical", json_object_new_boolean(d->n_changes == 0)) < 0)
                goto fail;
        r = add_json(root, "counts", counts);
        counts = NULL;
        if (r < 0)
                goto fail;
        r = add_json(root, "changes", arr);
        arr = NULL;
        if (r < 0)
                goto fail;
        *ret = root;
        return 0;
fail:
        json_object_put(root);
        json_object_put(counts);
        json_object_put(arr);
        return -ENOMEM;
}
