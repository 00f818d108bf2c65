/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-cmd.h"
#include "nvv-dissect.h"
#include "nvv-msgq.h"
#include "nvv-rpc.h"
#include "util.h"

static json_object *hex32(uint64_t v)
{
        char b[32];

        snprintf(b, sizeof(b), "0x%08llx", (unsigned long long) v);
        return json_object_new_string(b);
}

int nvv_dissect_layout(const struct nvv_fwabi *fw, const char *struct_name, json_object **ret, char *err,
                       size_t errlen)
{
        const struct nvv_wstruct *s = nvv_fwabi_find_struct(fw, struct_name);
        json_object *o, *fields;

        if (!s) {
                nvv_errf(err, errlen, "firmware %s describes no struct '%s'", fw->release, struct_name);
                return -ENOENT;
        }
        o = json_object_new_object();
        fields = json_object_new_array();
        if (!o || !fields) {
                json_object_put(o);
                json_object_put(fields);
                return -ENOMEM;
        }
        json_object_object_add(o, "release", json_object_new_string(fw->release));
        json_object_object_add(o, "struct", json_object_new_string(s->name));
        json_object_object_add(o, "size", json_object_new_int64(s->size));
        if (s->source)
                json_object_object_add(o, "source", json_object_new_string(s->source));
        for (size_t i = 0; i < s->n_fields; i++) {
                const struct nvv_wfield *f = &s->fields[i];
                json_object *fo = json_object_new_object();

                json_object_object_add(fo, "name", json_object_new_string(f->name));
                json_object_object_add(fo, "offset", json_object_new_int64(f->offset));
                json_object_object_add(fo, "type", json_object_new_string(f->type_name));
                json_object_object_add(fo, "count", json_object_new_int64(f->count));
                json_object_array_add(fields, fo);
        }
        json_object_object_add(o, "fields", fields);
        *ret = o;
        return 0;
}

static uint64_t ld(const uint8_t *p, unsigned w)
{
        uint64_t v = 0;

        for (unsigned i = 0; i < w; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

static json_object *scalar(const struct nvv_wfield *f, const uint8_t *p)
{
        uint64_t v = ld(p, f->elem_size);

        if (f->type == NVV_WT_BOOL)
                return json_object_new_boolean(v != 0);
        if (nvv_wtype_is_signed(f->type)) {
                unsigned bits = f->elem_size * 8;
                int64_t s = bits < 64 && (v >> (bits - 1)) ? (int64_t) (v | (~UINT64_C(0) << bits)) : (int64_t) v;

                return json_object_new_int64(s);
        }
        if (v > INT64_MAX)
                return json_object_new_uint64(v);
        return json_object_new_int64((int64_t) v);
}

static bool is_text(const uint8_t *p, size_t n)
{
        size_t len = strnlen((const char *) p, n);

        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++)
                if (p[i] < 0x20 || p[i] > 0x7e)
                        return false;
        for (size_t i = len; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

/* How many more values one dissection may produce. A description can make every byte of a
 * capture its own field; counting values keeps the tree (and the text made from it) in
 * proportion to NVV_DISSECT_MAX_VALUES rather than to what the description multiplies. */
struct budget {
        size_t left;
        bool exhausted;
};

static bool spend(struct budget *b)
{
        if (b->left == 0) {
                b->exhausted = true;
                return false;
        }
        b->left--;
        return true;
}

static json_object *dissect_struct(const struct nvv_wstruct *s, const uint8_t *p, size_t len, struct budget *b);

static json_object *field_value(const struct nvv_wfield *f, const uint8_t *p, struct budget *b)
{
        json_object *a;
        size_t last = 0;

        if (f->count == 1) {
                if (f->type == NVV_WT_STRUCT)
                        return dissect_struct(f->sub, p, f->sub->size, b);
                return scalar(f, p);
        }
        if (f->type == NVV_WT_U8 || f->type == NVV_WT_CHAR || f->type == NVV_WT_I8) {
                char *hex;
                json_object *o;

                if (is_text(p, f->count))
                        return json_object_new_string_len((const char *) p, (int) strnlen((const char *) p, f->count));
                /* Other bytes as "hex:…", trimmed after the last non-zero byte. */
                for (size_t i = 0; i < f->count; i++)
                        if (p[i])
                                last = i + 1;
                if (last == 0)
                        return json_object_new_array();
                hex = malloc(4 + 2 * last + 1);
                if (!hex)
                        return NULL;
                memcpy(hex, "hex:", 4);
                for (size_t i = 0; i < last; i++)
                        snprintf(hex + 4 + 2 * i, 3, "%02x", p[i]);
                o = json_object_new_string(hex);
                free(hex);
                return o;
        }
        for (size_t i = 0; i < f->count; i++)
                if (!all_zero(p + i * f->elem_size, f->elem_size))
                        last = i + 1;
        a = json_object_new_array();
        for (size_t i = 0; a && i < last && spend(b); i++) {
                const uint8_t *e = p + i * f->elem_size;

                if (f->type == NVV_WT_STRUCT)
                        json_object_array_add(a, dissect_struct(f->sub, e, f->sub->size, b));
                else
                        json_object_array_add(a, scalar(f, e));
        }
        return a;
}

static json_object *dissect_struct(const struct nvv_wstruct *s, const uint8_t *p, size_t len, struct budget *b)
{
        json_object *o = json_object_new_object();

        for (size_t i = 0; o && i < s->n_fields; i++) {
                const struct nvv_wfield *f = &s->fields[i];

                if (f->count == 0 || (size_t) f->offset + (size_t) f->elem_size * f->count > len)
                        continue;
                if (!spend(b))
                        break;
                json_object_object_add(o, f->name, field_value(f, p + f->offset, b));
        }
        return o;
}

/* Mark a tree the budget cut short, so that nobody mistakes it for the whole message. */
static void note_truncated(json_object *o, const struct budget *b)
{
        char m[128];

        if (!b->exhausted || !o)
                return;
        snprintf(m, sizeof(m), "more than %u values; the rest is not shown", NVV_DISSECT_MAX_VALUES);
        json_object_object_add(o, NVV_DISSECT_TRUNCATED, json_object_new_string(m));
}

json_object *nvv_dissect_struct(const struct nvv_wstruct *s, const uint8_t *p, size_t len)
{
        struct budget b = { .left = NVV_DISSECT_MAX_VALUES };
        json_object *o = dissect_struct(s, p, len, &b);

        note_truncated(o, &b);
        return o;
}

static const char *fname(const struct nvv_fwabi *fw, uint32_t f)
{
        const char *n = nvv_fwabi_function_name(fw, f);

        return n ? n : nvv_fwabi_event_name(fw, f);
}

static int dissect_rpc(const struct nvv_fwabi *fw, const uint8_t *rpc, size_t len, json_object *out,
                       struct budget *bud, char *err, size_t errlen)
{
        const struct nvv_queue_desc *q = &fw->queue;
        struct nvv_rpc_view v;
        json_object *h;
        const char *n;
        char sb[96];
        int r;

        r = nvv_rpc_view(fw, rpc, len, &v, err, errlen);
        if (r < 0)
                return r;
        h = json_object_new_object();
        json_object_object_add(h, "header_version", hex32(v.header_version));
        json_object_object_add(h, "signature", hex32(v.signature));
        json_object_object_add(h, "length", json_object_new_int64(v.length));
        json_object_object_add(h, "function", json_object_new_int64(v.function));
        n = fname(fw, v.function);
        json_object_object_add(h, "function_name", n ? json_object_new_string(n) : NULL);
        json_object_object_add(h, "result", hex32(v.result));
        json_object_object_add(h, "result_name",
                               v.result == q->result_pending ? json_object_new_string("pending") :
                               json_object_new_string(nvv_fwabi_status_to_string(fw, v.result, sb, sizeof(sb))));
        json_object_object_add(h, "sequence", json_object_new_int64(v.sequence));
        json_object_object_add(h, "gfid", json_object_new_int64(v.gfid));
        json_object_object_add(out, "rpc", h);

        if (v.function == q->fn_control || v.function == q->fn_alloc) {
                bool alloc = v.function == q->fn_alloc;
                uint32_t hs = alloc ? q->al_header_size : q->ctl_header_size;
                const uint8_t *hdr = v.payload;
                const struct nvv_wstruct *ps = NULL;
                json_object *c;
                uint32_t psize, status;

                if (v.payload_len < hs) {
                        nvv_errf(err, errlen, "%s RPC of %zu payload bytes is shorter than its %u-byte header",
                             alloc ? "alloc" : "control", v.payload_len, hs);
                        return -EBADMSG;
                }
                c = json_object_new_object();
                json_object_object_add(c, "header",
                                       dissect_struct(alloc ? q->alloc_header : q->control_header, hdr, hs, bud));
                psize = (uint32_t) nvv_role_get(alloc ? &q->al_params_size : &q->ctl_params_size, hdr);
                status = (uint32_t) nvv_role_get(alloc ? &q->al_status : &q->ctl_status, hdr);
                json_object_object_add(c, "status_name",
                                       json_object_new_string(nvv_fwabi_status_to_string(fw, status, sb, sizeof(sb))));
                if (alloc) {
                        uint32_t cls = (uint32_t) nvv_role_get(&q->al_class, hdr);
                        const struct nvv_alloc *a = nvv_fwabi_alloc_by_class(fw, cls);

                        json_object_object_add(c, "class", hex32(cls));
                        json_object_object_add(c, "class_name", a ? json_object_new_string(a->name) : NULL);
                        ps = a ? a->params : NULL;
                        for (int i = 0; a && i < _NVV_CMD_MAX; i++)
                                if (fw->commands[i] && fw->commands[i]->alloc == a)
                                        json_object_object_add(c, "command", json_object_new_string(fw->commands[i]->name));
                } else {
                        uint32_t id = (uint32_t) nvv_role_get(&q->ctl_cmd, hdr);
                        const struct nvv_control *ct = nvv_fwabi_control_by_id(fw, id);

                        json_object_object_add(c, "cmd", hex32(id));
                        json_object_object_add(c, "cmd_name", ct ? json_object_new_string(ct->name) : NULL);
                        ps = ct ? ct->params : NULL;
                        for (int i = 0; ct && i < _NVV_CMD_MAX; i++)
                                if (fw->commands[i] && fw->commands[i]->control == ct)
                                        json_object_object_add(c, "command", json_object_new_string(fw->commands[i]->name));
                }
                json_object_object_add(c, "params_size", json_object_new_int64(psize));
                json_object_object_add(out, alloc ? "alloc" : "control", c);
                if (psize > v.payload_len - hs) {
                        json_object_object_add(c, "params_error",
                                               json_object_new_string("params size runs past the message (is the release right?)"));
                        return 0;
                }
                if (psize < v.payload_len - hs) {
                        char w[128];

                        snprintf(w, sizeof(w), "%zu bytes follow the params (is the release right?)",
                                 v.payload_len - hs - psize);
                        json_object_object_add(c, "params_error", json_object_new_string(w));
                }
                if (ps) {
                        json_object_object_add(c, "params_struct", json_object_new_string(ps->name));
                        if (psize != ps->size)
                                json_object_object_add(c, "params_error",
                                                       json_object_new_string("params size differs from the struct's"));
                        json_object_object_add(out, "params", dissect_struct(ps, hdr + hs, psize, bud));
                }
                return 0;
        }
        for (int i = 0; i < _NVV_CMD_MAX; i++) {
                const struct nvv_binding *b = fw->commands[i];

                if (b && b->is_function && b->function == v.function) {
                        json_object *c = json_object_new_object();

                        json_object_object_add(c, "command", json_object_new_string(b->name));
                        json_object_object_add(c, "params_struct", json_object_new_string(b->payload->name));
                        json_object_object_add(out, "function", c);
                        json_object_object_add(out, "params", dissect_struct(b->payload, v.payload, v.payload_len, bud));
                        return 0;
                }
        }
        if (nvv_rpc_is_event(fw, v.function)) {
                const struct nvv_event_binding *b = nvv_fwabi_event_binding(fw, v.function);
                json_object *e = json_object_new_object();

                json_object_object_add(e, "name", json_object_new_string(nvv_fwabi_event_name(fw, v.function)));
                if (b) {
                        json_object_object_add(e, "stable", json_object_new_string(b->name));
                        if (b->payload) {
                                json_object_object_add(e, "struct", json_object_new_string(b->payload->name));
                                json_object_object_add(out, "params",
                                                       dissect_struct(b->payload, v.payload, v.payload_len, bud));
                        }
                }
                json_object_object_add(out, "event", e);
        }
        return 0;
}

int nvv_dissect_bytes(const struct nvv_fwabi *fw, const void *data, size_t len, json_object **ret, char *err,
                      size_t errlen)
{
        const struct nvv_queue_desc *q = &fw->queue;
        const uint8_t *p = data;
        _cleanup_(nvv_reasm_freep) struct nvv_reasm *ra = NULL;
        json_object *root, *msgs, *rpcs;
        struct budget bud = { .left = NVV_DISSECT_MAX_VALUES };
        size_t off = 0;
        bool framed;
        int r;

        if (len > NVV_DISSECT_MAX_INPUT) {
                nvv_errf(err, errlen, "input of %zu bytes is larger than %u", len, NVV_DISSECT_MAX_INPUT);
                return -EFBIG;
        }
        framed = len >= (size_t) q->el_header_size + q->rpc_header_size &&
                 nvv_role_get(&q->rpc_signature, p + q->el_header_size) == q->signature;
        if (!framed && !(len >= q->rpc_header_size && nvv_role_get(&q->rpc_signature, p) == q->signature)) {
                nvv_errf(err, errlen, "neither a queue element nor an RPC of firmware %s (no signature 0x%08x found)",
                     fw->release, q->signature);
                return -EBADMSG;
        }
        root = json_object_new_object();
        json_object_object_add(root, "release", json_object_new_string(fw->release));
        json_object_object_add(root, "framing", json_object_new_string(framed ? "element" : "rpc"));
        rpcs = json_object_new_array();
        json_object_object_add(root, "rpcs", rpcs);
        if (!framed) {
                json_object *one = json_object_new_object();

                json_object_array_add(rpcs, one);
                r = dissect_rpc(fw, p, len, one, &bud, err, errlen);
                if (r < 0)
                        goto fail;
                note_truncated(root, &bud);
                *ret = root;
                return 0;
        }
        r = nvv_reasm_new(fw, &ra);
        if (r < 0)
                goto fail;
        msgs = json_object_new_array();
        json_object_object_add(root, "messages", msgs);
        while (off < len) {
                json_object *m = json_object_new_object();
                uint32_t elements, sum;
                const uint8_t *rpc;
                size_t rpc_len, bytes;
                char e2[256] = "";

                json_object_array_add(msgs, m);
                json_object_object_add(m, "offset", json_object_new_int64((int64_t) off));
                r = nvv_msgq_message_elements(fw, p + off, len - off, &elements, err, errlen);
                if (r < 0)
                        goto fail;
                bytes = (size_t) elements * q->element_size;
                if (bytes > len - off) {
                        nvv_errf(err, errlen, "message at offset %zu spans %u elements (%zu bytes), only %zu remain", off,
                             elements, bytes, len - off);
                        r = -EBADMSG;
                        goto fail;
                }
                sum = nvv_msgq_checksum(p + off, bytes);
                json_object_object_add(m, "elements", json_object_new_int64(elements));
                json_object_object_add(m, "sequence", json_object_new_int64((int64_t) nvv_role_get(&q->el_sequence, p + off)));
                json_object_object_add(m, "checksum", hex32(nvv_role_get(&q->el_checksum, p + off)));
                json_object_object_add(m, "checksum_ok", json_object_new_boolean(sum == 0));
                /* Decode even when the checksum is off: that is what a person debugging wants to see. */
                {
                        struct nvv_rpc_view v;

                        r = nvv_rpc_view(fw, p + off + q->el_header_size, bytes - q->el_header_size, &v, err, errlen);
                        if (r < 0)
                                goto fail;
                        rpc = p + off + q->el_header_size;
                        rpc_len = v.length;
                        json_object_object_add(m, "function", json_object_new_int64(v.function));
                        json_object_object_add(m, "function_name",
                                               fname(fw, v.function) ? json_object_new_string(fname(fw, v.function)) : NULL);
                        json_object_object_add(m, "length", json_object_new_int64(v.length));
                }
                r = nvv_reasm_feed(ra, rpc, rpc_len, e2, sizeof(e2));
                if (r < 0) {
                        nvv_errf(err, errlen, "message at offset %zu: %s", off, e2);
                        goto fail;
                }
                if (r == 1) {
                        size_t l;
                        const uint8_t *full = nvv_reasm_data(ra, &l);
                        json_object *one = json_object_new_object();

                        json_object_array_add(rpcs, one);
                        r = dissect_rpc(fw, full, l, one, &bud, err, errlen);
                        if (r < 0)
                                goto fail;
                }
                off += bytes;
        }
        if (nvv_reasm_busy(ra))
                json_object_object_add(root, "incomplete",
                                       json_object_new_string("the capture ends inside a message awaiting continuation records"));
        note_truncated(root, &bud);
        *ret = root;
        return 0;
fail:
        json_object_put(root);
        return r;
}
