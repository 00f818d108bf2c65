/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-msgq.h"
#include "nvv-rpc.h"
#include "util.h"

uint32_t nvv_msgq_checksum(const void *p, size_t len)
{
        const uint8_t *b = p;
        uint64_t x0 = 0, x1 = 0, x2 = 0, x3 = 0, w;
        size_t i = 0;

        /* Four independent lanes keep the loop from serialising on one register. */
        for (; i + 32 <= len; i += 32) {
                uint64_t a, c, d, e;

                memcpy(&a, b + i, 8);
                memcpy(&c, b + i + 8, 8);
                memcpy(&d, b + i + 16, 8);
                memcpy(&e, b + i + 24, 8);
                x0 ^= a;
                x1 ^= c;
                x2 ^= d;
                x3 ^= e;
        }
        for (; i + 8 <= len; i += 8) {
                memcpy(&w, b + i, 8);
                x0 ^= w;
        }
        x0 ^= x1 ^ x2 ^ x3;
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
        x0 = __builtin_bswap64(x0);
#endif
        return (uint32_t) (x0 >> 32) ^ (uint32_t) x0;
}

static uint32_t first_payload(const struct nvv_fwabi *fw)
{
        return fw->queue.max_rpc_size;
}

static uint32_t cont_payload(const struct nvv_fwabi *fw)
{
        return fw->queue.max_rpc_size - fw->queue.rpc_header_size;
}

uint32_t nvv_msgq_records(const struct nvv_fwabi *fw, size_t rpc_len)
{
        if (rpc_len <= first_payload(fw))
                return 1;
        return 1 + (uint32_t) DIV_ROUND_UP(rpc_len - first_payload(fw), cont_payload(fw));
}

int nvv_msgq_frame_record(const struct nvv_fwabi *fw, const void *rpc, size_t rpc_len, uint32_t index,
                          uint32_t seq, void *out, size_t out_size)
{
        const struct nvv_queue_desc *q = &fw->queue;
        const uint8_t *src = rpc;
        uint8_t *o = out, *r = o + q->el_header_size;
        size_t rec_len, elements, bytes;

        if (rpc_len < q->rpc_header_size || index >= nvv_msgq_records(fw, rpc_len))
                return -EINVAL;
        if (index == 0) {
                rec_len = MIN(rpc_len, (size_t) first_payload(fw));
                elements = DIV_ROUND_UP(q->el_header_size + rec_len, q->element_size);
                bytes = elements * q->element_size;
                if (out_size < bytes)
                        return -ENOBUFS;
                memcpy(r, src, rec_len);
        } else {
                size_t off = first_payload(fw) + (size_t) (index - 1) * cont_payload(fw);
                size_t chunk = MIN(rpc_len - off, (size_t) cont_payload(fw));

                rec_len = q->rpc_header_size + chunk;
                elements = DIV_ROUND_UP(q->el_header_size + rec_len, q->element_size);
                bytes = elements * q->element_size;
                if (out_size < bytes)
                        return -ENOBUFS;
                /* Same header as the first record, marked as a continuation. */
                memcpy(r, src, q->rpc_header_size);
                nvv_role_set(&q->rpc_function, r, q->fn_continuation);
                memcpy(r + q->rpc_header_size, src + off, chunk);
        }
        nvv_role_set(&q->rpc_length, r, rec_len);
        memset(o, 0, q->el_header_size);
        memset(r + rec_len, 0, bytes - q->el_header_size - rec_len);
        nvv_role_set(&q->el_sequence, o, seq);
        nvv_role_set(&q->el_count, o, elements);
        /* The zero padding adds nothing to an XOR: sum the written part only. */
        nvv_role_set(&q->el_checksum, o, nvv_msgq_checksum(o, ALIGN_UP(q->el_header_size + rec_len, 8)));
        return (int) elements;
}

int nvv_msgq_frame_all(const struct nvv_fwabi *fw, const void *rpc, size_t rpc_len, uint32_t *seq,
                       uint8_t **ret_buf, size_t *ret_len, uint32_t *ret_messages)
{
        const struct nvv_queue_desc *q = &fw->queue;
        uint32_t n = nvv_msgq_records(fw, rpc_len);
        size_t cap = (size_t) n * q->element_size * q->max_elements, len = 0;
        _cleanup_free_ uint8_t *buf = NULL;

        if (rpc_len > NVV_MSGQ_MAX_RPC)
                return -E2BIG;
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (uint32_t i = 0; i < n; i++) {
                int e = nvv_msgq_frame_record(fw, rpc, rpc_len, i, (*seq)++, buf + len, cap - len);

                if (e < 0)
                        return e;
                len += (size_t) e * q->element_size;
        }
        *ret_buf = TAKE_PTR(buf);
        *ret_len = len;
        if (ret_messages)
                *ret_messages = n;
        return 0;
}

int nvv_msgq_message_elements(const struct nvv_fwabi *fw, const void *first, size_t avail, uint32_t *ret_elements,
                              char *err, size_t errlen)
{
        const struct nvv_queue_desc *q = &fw->queue;
        uint64_t n;

        if (avail < q->el_header_size) {
                nvv_errf(err, errlen, "%zu bytes cannot hold an element header", avail);
                return -EBADMSG;
        }
        n = nvv_role_get(&q->el_count, first);
        if (n < 1 || n > q->max_elements) {
                nvv_errf(err, errlen, "element count %llu is outside 1..%u", (unsigned long long) n, q->max_elements);
                return -EBADMSG;
        }
        *ret_elements = (uint32_t) n;
        return 0;
}

int nvv_msgq_unframe(const struct nvv_fwabi *fw, const void *msg, size_t len, uint32_t expect_seq,
                     const uint8_t **ret_rpc, size_t *ret_rpc_len, char *err, size_t errlen)
{
        const struct nvv_queue_desc *q = &fw->queue;
        struct nvv_rpc_view v;
        uint32_t elements, seq, sum;
        size_t bytes;
        int r;

        r = nvv_msgq_message_elements(fw, msg, len, &elements, err, errlen);
        if (r < 0)
                return r;
        bytes = (size_t) elements * q->element_size;
        if (len < bytes) {
                nvv_errf(err, errlen, "message spans %u elements but only %zu bytes are present", elements, len);
                return -EBADMSG;
        }
        sum = nvv_msgq_checksum(msg, bytes);
        if (sum != 0) {
                nvv_errf(err, errlen, "checksum mismatch (residue 0x%08x)", sum);
                return -EBADMSG;
        }
        seq = (uint32_t) nvv_role_get(&q->el_sequence, msg);
        if (expect_seq != UINT32_MAX && seq != expect_seq) {
                nvv_errf(err, errlen, "sequence number %u, expected %u", seq, expect_seq);
                return -EPROTO;
        }
        r = nvv_rpc_view(fw, (const uint8_t *) msg + q->el_header_size, bytes - q->el_header_size, &v, err, errlen);
        if (r < 0)
                return r;
        if (DIV_ROUND_UP(q->el_header_size + v.length, q->element_size) != elements) {
                nvv_errf(err, errlen, "RPC of %u bytes does not need the %u elements the header claims", v.length, elements);
                return -EBADMSG;
        }
        *ret_rpc = (const uint8_t *) msg + q->el_header_size;
        *ret_rpc_len = v.length;
        return 0;
}

struct nvv_reasm {
        const struct nvv_fwabi *fw;
        uint8_t *buf;
        size_t cap, have, total;
        bool done;
        uint64_t abandoned;
};

int nvv_reasm_new(const struct nvv_fwabi *fw, struct nvv_reasm **ret)
{
        struct nvv_reasm *r = calloc(1, sizeof(*r));

        if (!r)
                return -ENOMEM;
        r->fw = fw;
        *ret = r;
        return 0;
}

struct nvv_reasm *nvv_reasm_free(struct nvv_reasm *r)
{
        if (!r)
                return NULL;
        free(r->buf);
        free(r);
        return NULL;
}

void nvv_reasm_reset(struct nvv_reasm *r)
{
        r->have = r->total = 0;
        r->done = false;
}

uint64_t nvv_reasm_abandoned(const struct nvv_reasm *r)
{
        return r->abandoned;
}

bool nvv_reasm_busy(const struct nvv_reasm *r)
{
        return r->total > 0 && !r->done;
}

static int reserve(struct nvv_reasm *r, size_t n)
{
        uint8_t *b;

        if (n <= r->cap)
                return 0;
        b = realloc(r->buf, n);
        if (!b)
                return -ENOMEM;
        r->buf = b;
        r->cap = n;
        return 0;
}

/* How long is the logical RPC this first record starts? Only controls and allocations carry
 * a params size, so only they can continue past one message. */
static int logical_length(const struct nvv_fwabi *fw, const uint8_t *rpc, size_t len, uint32_t function,
                          size_t *ret, char *err, size_t errlen)
{
        const struct nvv_queue_desc *q = &fw->queue;
        const uint8_t *hdr = rpc + q->rpc_header_size;
        size_t avail = len - q->rpc_header_size, total;
        uint64_t psize;

        if (function == q->fn_control) {
                if (avail < q->ctl_header_size) {
                        nvv_errf(err, errlen, "control RPC of %zu bytes is shorter than its header", len);
                        return -EBADMSG;
                }
                psize = nvv_role_get(&q->ctl_params_size, hdr);
                total = q->rpc_header_size + q->ctl_header_size + psize;
        } else if (function == q->fn_alloc) {
                if (avail < q->al_header_size) {
                        nvv_errf(err, errlen, "alloc RPC of %zu bytes is shorter than its header", len);
                        return -EBADMSG;
                }
                psize = nvv_role_get(&q->al_params_size, hdr);
                total = q->rpc_header_size + q->al_header_size + psize;
        } else
                total = len;
        if (total > NVV_MSGQ_MAX_RPC) {
                nvv_errf(err, errlen, "RPC claims %zu bytes, more than the %u accepted", total, NVV_MSGQ_MAX_RPC);
                return -E2BIG;
        }
        if (total < len) {
                /* Trailing bytes past the params are tolerated only within one record. */
                total = len;
        }
        *ret = total;
        return 0;
}

int nvv_reasm_feed(struct nvv_reasm *r, const uint8_t *rpc, size_t len, char *err, size_t errlen)
{
        const struct nvv_queue_desc *q = &r->fw->queue;
        struct nvv_rpc_view v;
        int k;

        if (r->done)
                nvv_reasm_reset(r);
        k = nvv_rpc_view(r->fw, rpc, len, &v, err, errlen);
        if (k < 0)
                goto fail;
        len = v.length;
        if (r->total != 0 && v.function != q->fn_continuation) {
                /* A new message while one was still awaiting continuation records: the sender
                 * gave up on that one (or it was damaged). Drop it and start over. */
                r->abandoned++;
                nvv_reasm_reset(r);
        }
        if (r->total == 0) {
                size_t total;

                if (v.function == q->fn_continuation) {
                        nvv_errf(err, errlen, "continuation record without a message to continue");
                        k = -EPROTO;
                        goto fail;
                }
                k = logical_length(r->fw, rpc, len, v.function, &total, err, errlen);
                if (k < 0)
                        goto fail;
                if (total > len && len < q->max_rpc_size) {
                        nvv_errf(err, errlen, "first record is %zu bytes, short of both the %zu-byte RPC and a full record",
                             len, total);
                        k = -EBADMSG;
                        goto fail;
                }
                k = reserve(r, total);
                if (k < 0)
                        goto fail;
                memcpy(r->buf, rpc, len);
                r->have = len;
                r->total = total;
        } else {
                size_t chunk = len - q->rpc_header_size;

                if (chunk > r->total - r->have) {
                        nvv_errf(err, errlen, "continuation record carries %zu bytes, only %zu are awaited", chunk,
                             r->total - r->have);
                        k = -EBADMSG;
                        goto fail;
                }
                if (chunk == 0) {
                        nvv_errf(err, errlen, "empty continuation record");
                        k = -EBADMSG;
                        goto fail;
                }
                memcpy(r->buf + r->have, rpc + q->rpc_header_size, chunk);
                r->have += chunk;
        }
        if (r->have < r->total)
                return 0;
        nvv_role_set(&q->rpc_length, r->buf, r->total);
        r->done = true;
        return 1;
fail:
        nvv_reasm_reset(r);
        return k;
}

const uint8_t *nvv_reasm_data(const struct nvv_reasm *r, size_t *ret_len)
{
        if (!r->done)
                return NULL;
        if (ret_len)
                *ret_len = r->total;
        return r->buf;
}
