/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nvv-marshal.h"
#include "nvv-rpc.h"
#include "util.h"

uint64_t nvv_role_get(const struct nvv_role *r, const void *base)
{
        const uint8_t *p = (const uint8_t *) base + r->offset;
        uint64_t v = 0;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (r->width == 4) {
                uint32_t x;

                memcpy(&x, p, 4);
                return x;
        }
#endif
        for (unsigned i = 0; i < r->width; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

void nvv_role_set(const struct nvv_role *r, void *base, uint64_t v)
{
        uint8_t *p = (uint8_t *) base + r->offset;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (r->width == 4) {
                uint32_t x = (uint32_t) v;

                memcpy(p, &x, 4);
                return;
        }
#endif
        for (unsigned i = 0; i < r->width; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t handle_for(const struct nvv_handles *h, enum nvv_object o)
{
        switch (o) {
        case NVV_OBJ_CLIENT:
                return h->client;
        case NVV_OBJ_DEVICE:
                return h->device;
        case NVV_OBJ_SUBDEVICE:
                return h->subdevice;
        case NVV_OBJ_HOST_VGPU_DEVICE:
                return h->host_vgpu_device;
        default:
                return 0;
        }
}

size_t nvv_rpc_size(const struct nvv_fwabi *fw, int cmd)
{
        const struct nvv_binding *b = nvv_fwabi_command(fw, cmd);
        const struct nvv_queue_desc *q = &fw->queue;

        if (!b)
                return 0;
        if (b->is_function)
                return (size_t) q->rpc_header_size + b->payload->size;
        if (b->control)
                return (size_t) q->rpc_header_size + q->ctl_header_size + b->control->params->size;
        return (size_t) q->rpc_header_size + q->al_header_size + b->alloc->params->size;
}

int nvv_rpc_check_supported(const struct nvv_fwabi *fw, int cmd, char *err, size_t errlen)
{
        if (nvv_fwabi_command(fw, cmd))
                return 0;
        nvv_errf(err, errlen, "'%s' is not supported by firmware %s", nvv_cmd_to_string(cmd) ?: "?", fw->release);
        return -EOPNOTSUPP;
}

static void put_rpc_header(const struct nvv_fwabi *fw, uint8_t *p, uint32_t length, uint32_t function,
                           uint32_t sequence, uint32_t gfid)
{
        const struct nvv_queue_desc *q = &fw->queue;

        memset(p, 0, q->rpc_header_size);
        nvv_role_set(&q->rpc_header_version, p, q->header_version);
        nvv_role_set(&q->rpc_signature, p, q->signature);
        nvv_role_set(&q->rpc_length, p, length);
        nvv_role_set(&q->rpc_function, p, function);
        nvv_role_set(&q->rpc_result, p, q->result_pending);
        nvv_role_set(&q->rpc_result_private, p, q->result_pending);
        nvv_role_set(&q->rpc_sequence, p, sequence);
        nvv_role_set(&q->rpc_gfid, p, gfid);
}

int nvv_rpc_encode_command(const struct nvv_fwabi *fw, int cmd, const void *stable, const struct nvv_handles *h,
                           uint32_t sequence, uint32_t gfid, void *buf, size_t size, size_t *ret_len,
                           char *err, size_t errlen)
{
        const struct nvv_queue_desc *q = &fw->queue;
        const struct nvv_binding *b;
        uint8_t *p = buf, *hdr;
        size_t need;
        int r;

        assert_return(fw && stable && h && buf, -EINVAL);
        r = nvv_rpc_check_supported(fw, cmd, err, errlen);
        if (r < 0)
                return r;
        b = nvv_fwabi_command(fw, cmd);
        need = nvv_rpc_size(fw, cmd);
        if (size < need) {
                nvv_errf(err, errlen, "buffer of %zu bytes is too small for '%s' (%zu)", size, b->name, need);
                return -ENOBUFS;
        }
        if (need > UINT32_MAX)
                return -E2BIG;
        hdr = p + q->rpc_header_size;
        if (b->is_function) {
                put_rpc_header(fw, p, (uint32_t) need, b->function, sequence, gfid);
                r = nvv_wplan_encode(b->plan, stable, hdr, b->payload->size, 0, err, errlen);
        } else if (b->control) {
                const struct nvv_control *c = b->control;

                put_rpc_header(fw, p, (uint32_t) need, q->fn_control, sequence, gfid);
                memset(hdr, 0, q->ctl_header_size);
                nvv_role_set(&q->ctl_client, hdr, h->client);
                nvv_role_set(&q->ctl_object, hdr, c->object == NVV_OBJ_CLIENT ? h->client : handle_for(h, c->object));
                nvv_role_set(&q->ctl_cmd, hdr, c->id);
                nvv_role_set(&q->ctl_params_size, hdr, c->params->size);
                r = nvv_wplan_encode(b->plan, stable, hdr + q->ctl_header_size, c->params->size, 0, err, errlen);
        } else {
                const struct nvv_alloc *a = b->alloc;

                put_rpc_header(fw, p, (uint32_t) need, q->fn_alloc, sequence, gfid);
                memset(hdr, 0, q->al_header_size);
                nvv_role_set(&q->al_client, hdr, h->client);
                nvv_role_set(&q->al_parent, hdr, handle_for(h, a->parent));
                nvv_role_set(&q->al_object, hdr, h->new_object);
                nvv_role_set(&q->al_class, hdr, a->hclass);
                nvv_role_set(&q->al_params_size, hdr, a->params->size);
                r = nvv_wplan_encode(b->plan, stable, hdr + q->al_header_size, a->params->size, 0, err, errlen);
        }
        if (r < 0)
                return r;
        *ret_len = need;
        return 0;
}

int nvv_rpc_view(const struct nvv_fwabi *fw, const void *rpc, size_t len, struct nvv_rpc_view *v,
                 char *err, size_t errlen)
{
        const struct nvv_queue_desc *q = &fw->queue;

        assert_return(fw && rpc && v, -EINVAL);
        if (len < q->rpc_header_size) {
                nvv_errf(err, errlen, "RPC of %zu bytes is shorter than its %u-byte header", len, q->rpc_header_size);
                return -EBADMSG;
        }
        *v = (struct nvv_rpc_view) {
                .header_version = (uint32_t) nvv_role_get(&q->rpc_header_version, rpc),
                .signature = (uint32_t) nvv_role_get(&q->rpc_signature, rpc),
                .length = (uint32_t) nvv_role_get(&q->rpc_length, rpc),
                .function = (uint32_t) nvv_role_get(&q->rpc_function, rpc),
                .result = (uint32_t) nvv_role_get(&q->rpc_result, rpc),
                .result_private = (uint32_t) nvv_role_get(&q->rpc_result_private, rpc),
                .sequence = (uint32_t) nvv_role_get(&q->rpc_sequence, rpc),
                .gfid = (uint32_t) nvv_role_get(&q->rpc_gfid, rpc),
        };
        if (v->signature != q->signature) {
                nvv_errf(err, errlen, "bad RPC signature 0x%08x (expected 0x%08x)", v->signature, q->signature);
                return -EBADMSG;
        }
        if (v->header_version != q->header_version) {
                nvv_errf(err, errlen, "RPC header version 0x%08x, expected 0x%08x", v->header_version, q->header_version);
                return -EPROTO;
        }
        if (v->length < q->rpc_header_size || v->length > len) {
                nvv_errf(err, errlen, "RPC length %u is outside %u..%zu", v->length, q->rpc_header_size, len);
                return -EBADMSG;
        }
        v->payload = (const uint8_t *) rpc + q->rpc_header_size;
        v->payload_len = v->length - q->rpc_header_size;
        return 0;
}

static const char *fn_name(const struct nvv_fwabi *fw, uint32_t f)
{
        const char *n = nvv_fwabi_function_name(fw, f);

        return n ? n : nvv_fwabi_event_name(fw, f) ?: "?";
}

int nvv_rpc_decode_reply(const struct nvv_fwabi *fw, int cmd, const void *rpc, size_t len, uint32_t sequence,
                         void *stable, uint32_t *reterr_fw_status, char *err, size_t errlen)
{
        const struct nvv_queue_desc *q = &fw->queue;
        const struct nvv_binding *b;
        const struct nvv_wstruct *params;
        struct nvv_rpc_view v;
        const uint8_t *hdr;
        uint32_t expect_fn, hdr_size, psize, status;
        int r;

        r = nvv_rpc_check_supported(fw, cmd, err, errlen);
        if (r < 0)
                return r;
        b = nvv_fwabi_command(fw, cmd);
        r = nvv_rpc_view(fw, rpc, len, &v, err, errlen);
        if (r < 0)
                return r;
        expect_fn = b->is_function ? b->function : b->control ? q->fn_control : q->fn_alloc;
        hdr_size = b->control ? q->ctl_header_size : q->al_header_size;
        params = b->is_function ? b->payload : b->control ? b->control->params : b->alloc->params;
        if (v.function != expect_fn) {
                nvv_errf(err, errlen, "reply to '%s' carries function %u (%s), expected %u", b->name, v.function,
                     fn_name(fw, v.function), expect_fn);
                return -EPROTO;
        }
        if (v.sequence != sequence) {
                nvv_errf(err, errlen, "reply sequence %u does not match request %u", v.sequence, sequence);
                return -EPROTO;
        }
        if (v.result != 0 && v.result != q->result_pending) {
                char sb[96];

                if (reterr_fw_status)
                        *reterr_fw_status = v.result;
                nvv_errf(err, errlen, "firmware %s failed '%s': %s", fw->release, b->name,
                     nvv_fwabi_status_to_string(fw, v.result, sb, sizeof(sb)));
                return nvv_fwabi_status_to_errno(fw, v.result);
        }
        if (b->is_function) {
                if (v.payload_len < b->payload->size) {
                        nvv_errf(err, errlen, "reply to '%s' carries %zu bytes, expected %u", b->name, v.payload_len,
                             b->payload->size);
                        return -EBADMSG;
                }
                return nvv_wplan_decode(b->plan, v.payload, b->payload->size, stable, err, errlen);
        }
        if (v.payload_len < hdr_size) {
                nvv_errf(err, errlen, "reply to '%s' is %zu bytes, shorter than its %u-byte header", b->name,
                     v.payload_len, hdr_size);
                return -EBADMSG;
        }
        hdr = v.payload;
        if (b->control) {
                uint32_t id = (uint32_t) nvv_role_get(&q->ctl_cmd, hdr);

                if (id != b->control->id) {
                        nvv_errf(err, errlen, "reply carries control 0x%x, expected 0x%x (%s)", id, b->control->id,
                             b->control->name);
                        return -EPROTO;
                }
                psize = (uint32_t) nvv_role_get(&q->ctl_params_size, hdr);
                status = (uint32_t) nvv_role_get(&q->ctl_status, hdr);
        } else {
                uint32_t cls = (uint32_t) nvv_role_get(&q->al_class, hdr);

                if (cls != b->alloc->hclass) {
                        nvv_errf(err, errlen, "reply carries class 0x%x, expected 0x%x", cls, b->alloc->hclass);
                        return -EPROTO;
                }
                psize = (uint32_t) nvv_role_get(&q->al_params_size, hdr);
                status = (uint32_t) nvv_role_get(&q->al_status, hdr);
        }
        if (status != 0) {
                char sb[96];

                if (reterr_fw_status)
                        *reterr_fw_status = status;
                nvv_errf(err, errlen, "firmware %s refused '%s': %s", fw->release, b->name,
                     nvv_fwabi_status_to_string(fw, status, sb, sizeof(sb)));
                return nvv_fwabi_status_to_errno(fw, status);
        }
        if (psize != params->size || v.payload_len - hdr_size < psize) {
                nvv_errf(err, errlen, "reply to '%s' has %u bytes of params (%zu present), expected %u", b->name, psize,
                     v.payload_len - hdr_size, params->size);
                return -EBADMSG;
        }
        return nvv_wplan_decode(b->plan, hdr + hdr_size, psize, stable, err, errlen);
}

int nvv_rpc_parse_request(const struct nvv_fwabi *fw, const void *rpc, size_t len, struct nvv_rpc_request *ret,
                          void *stable, char *err, size_t errlen)
{
        const struct nvv_queue_desc *q = &fw->queue;
        const struct nvv_wstruct *params = NULL;
        struct nvv_rpc_view v;
        const uint8_t *hdr;
        uint32_t hdr_size, psize;
        int r;

        r = nvv_rpc_view(fw, rpc, len, &v, err, errlen);
        if (r < 0)
                return r;
        *ret = (struct nvv_rpc_request) { .cmd = -ENOENT, .function = v.function, .sequence = v.sequence, .gfid = v.gfid };
        for (int i = 0; i < _NVV_CMD_MAX; i++) {
                const struct nvv_binding *b = fw->commands[i];

                if (!b || !b->is_function || b->function != v.function)
                        continue;
                ret->cmd = i;
                ret->is_function = true;
                ret->params = v.payload;
                ret->params_len = v.payload_len;
                if (v.payload_len < b->payload->size) {
                        nvv_errf(err, errlen, "'%s' carries %zu bytes, expected %u", b->name, v.payload_len, b->payload->size);
                        return -EBADMSG;
                }
                ret->params_len = b->payload->size;
                return stable ? nvv_wplan_decode(b->plan, v.payload, b->payload->size, stable, err, errlen) : 0;
        }
        if (v.function != q->fn_control && v.function != q->fn_alloc) {
                nvv_errf(err, errlen, "function %u (%s) is not a control or allocation", v.function, fn_name(fw, v.function));
                return -EOPNOTSUPP;
        }
        ret->is_alloc = v.function == q->fn_alloc;
        hdr_size = ret->is_alloc ? q->al_header_size : q->ctl_header_size;
        if (v.payload_len < hdr_size) {
                nvv_errf(err, errlen, "request of %zu bytes is shorter than its %u-byte header", v.payload_len, hdr_size);
                return -EBADMSG;
        }
        hdr = v.payload;
        if (ret->is_alloc) {
                const struct nvv_alloc *a;

                ret->client = (uint32_t) nvv_role_get(&q->al_client, hdr);
                ret->parent = (uint32_t) nvv_role_get(&q->al_parent, hdr);
                ret->object = (uint32_t) nvv_role_get(&q->al_object, hdr);
                ret->hclass = (uint32_t) nvv_role_get(&q->al_class, hdr);
                psize = (uint32_t) nvv_role_get(&q->al_params_size, hdr);
                a = nvv_fwabi_alloc_by_class(fw, ret->hclass);
                if (a) {
                        params = a->params;
                        for (int i = 0; i < _NVV_CMD_MAX; i++)
                                if (fw->commands[i] && fw->commands[i]->alloc == a)
                                        ret->cmd = i;
                }
        } else {
                const struct nvv_control *c;

                ret->client = (uint32_t) nvv_role_get(&q->ctl_client, hdr);
                ret->object = (uint32_t) nvv_role_get(&q->ctl_object, hdr);
                ret->control_id = (uint32_t) nvv_role_get(&q->ctl_cmd, hdr);
                psize = (uint32_t) nvv_role_get(&q->ctl_params_size, hdr);
                c = nvv_fwabi_control_by_id(fw, ret->control_id);
                if (c) {
                        params = c->params;
                        for (int i = 0; i < _NVV_CMD_MAX; i++)
                                if (fw->commands[i] && fw->commands[i]->control == c)
                                        ret->cmd = i;
                }
        }
        if (psize > v.payload_len - hdr_size) {
                nvv_errf(err, errlen, "params size %u runs past the %zu bytes present", psize, v.payload_len - hdr_size);
                return -EBADMSG;
        }
        ret->params = hdr + hdr_size;
        ret->params_len = psize;
        if (ret->cmd < 0)
                return 0;
        if (psize != params->size) {
                nvv_errf(err, errlen, "'%s' params are %u bytes, expected %u", nvv_cmd_to_string(ret->cmd), psize,
                     params->size);
                return -EBADMSG;
        }
        if (stable)
                return nvv_wplan_decode(fw->commands[ret->cmd]->plan, ret->params, psize, stable, err, errlen);
        return 0;
}

int nvv_rpc_encode_reply(const struct nvv_fwabi *fw, const void *req_rpc, size_t req_len,
                         const struct nvv_rpc_request *req, const void *stable, uint32_t rpc_result,
                         uint32_t ctl_status, void *buf, size_t size, size_t *ret_len, char *err, size_t errlen)
{
        const struct nvv_queue_desc *q = &fw->queue;
        uint32_t hdr_size = req->is_function ? 0 : req->is_alloc ? q->al_header_size : q->ctl_header_size;
        size_t need = (size_t) q->rpc_header_size + hdr_size + req->params_len;
        uint8_t *p = buf, *hdr;
        int r;

        if (req_len < need) {
                nvv_errf(err, errlen, "request is shorter than its own header claims");
                return -EBADMSG;
        }
        if (size < need) {
                nvv_errf(err, errlen, "reply buffer too small (%zu < %zu)", size, need);
                return -ENOBUFS;
        }
        if (buf != req_rpc)
                memmove(p, req_rpc, need);
        nvv_role_set(&q->rpc_length, p, need);
        nvv_role_set(&q->rpc_result, p, rpc_result);
        nvv_role_set(&q->rpc_result_private, p, rpc_result);
        hdr = p + q->rpc_header_size;
        if (!req->is_function)
                nvv_role_set(req->is_alloc ? &q->al_status : &q->ctl_status, hdr, ctl_status);
        if (stable && req->cmd >= 0) {
                const struct nvv_binding *b = fw->commands[req->cmd];

                r = nvv_wplan_encode(b->plan, stable, hdr + hdr_size, req->params_len, NVV_ENCODE_REPLY, err, errlen);
                if (r < 0)
                        return r;
        }
        *ret_len = need;
        return 0;
}

bool nvv_rpc_is_event(const struct nvv_fwabi *fw, uint32_t function)
{
        return nvv_fwabi_event_name(fw, function) != NULL;
}

int nvv_rpc_encode_event(const struct nvv_fwabi *fw, int event, const void *stable, uint32_t sequence, void *buf,
                         size_t size, size_t *ret_len, char *err, size_t errlen)
{
        const struct nvv_queue_desc *q = &fw->queue;
        const struct nvv_event_binding *b;
        size_t need;
        int r;

        if (event < 0 || event >= _NVV_EVENT_MAX || !(b = fw->event_bindings[event])) {
                nvv_errf(err, errlen, "event '%s' is not defined by firmware %s", nvv_event_to_string(event) ?: "?",
                     fw->release);
                return -EOPNOTSUPP;
        }
        need = (size_t) q->rpc_header_size + (b->payload ? b->payload->size : 0);
        if (size < need)
                return -ENOBUFS;
        put_rpc_header(fw, buf, (uint32_t) need, b->number, sequence, 0);
        nvv_role_set(&q->rpc_result, buf, 0);
        nvv_role_set(&q->rpc_result_private, buf, 0);
        if (b->payload) {
                r = nvv_wplan_encode(b->plan, stable, (uint8_t *) buf + q->rpc_header_size, b->payload->size, NVV_ENCODE_REPLY,
                                     err, errlen);
                if (r < 0)
                        return r;
        }
        *ret_len = need;
        return 0;
}

int nvv_rpc_decode_event(const struct nvv_fwabi *fw, const void *rpc, size_t len, int *ret_event,
                         uint32_t *ret_number, void *stable, char *err, size_t errlen)
{
        const struct nvv_event_binding *b;
        struct nvv_rpc_view v;
        int r;

        r = nvv_rpc_view(fw, rpc, len, &v, err, errlen);
        if (r < 0)
                return r;
        if (ret_number)
                *ret_number = v.function;
        if (!nvv_rpc_is_event(fw, v.function)) {
                nvv_errf(err, errlen, "function %u (%s) is not an event", v.function, fn_name(fw, v.function));
                return -EPROTO;
        }
        b = nvv_fwabi_event_binding(fw, v.function);
        if (!b) {
                nvv_errf(err, errlen, "event %s (0x%x) has no stable meaning", fn_name(fw, v.function), v.function);
                return -ENOENT;
        }
        *ret_event = b->event;
        if (!b->payload) {
                memset(stable, 0, nvv_event_schema(b->event)->size);
                return 0;
        }
        if (v.payload_len < b->payload->size) {
                nvv_errf(err, errlen, "event %s carries %zu bytes, expected %u", b->name, v.payload_len, b->payload->size);
                return -EBADMSG;
        }
        return nvv_wplan_decode(b->plan, v.payload, b->payload->size, stable, err, errlen);
}
