/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "nvv-evqueue.h"

bool nvv_evqueue_push(struct nvv_evqueue *q, const void *rpc, size_t len)
{
        size_t tail;
        uint8_t *c;

        if (nvv_evqueue_full(q) || !(c = malloc(len ? len : 1))) {
                q->dropped++;
                return false;
        }
        if (len)
                memcpy(c, rpc, len);
        tail = (q->head + q->n) % NVV_EVQUEUE_MAX;
        q->ev[tail].rpc = c;
        q->ev[tail].len = len;
        q->n++;
        return true;
}

bool nvv_evqueue_pop(struct nvv_evqueue *q, uint8_t **ret_rpc, size_t *ret_len)
{
        if (q->n == 0)
                return false;
        *ret_rpc = q->ev[q->head].rpc;
        *ret_len = q->ev[q->head].len;
        q->ev[q->head].rpc = NULL;
        q->head = (q->head + 1) % NVV_EVQUEUE_MAX;
        q->n--;
        return true;
}

void nvv_evqueue_clear(struct nvv_evqueue *q)
{
        uint8_t *rpc;
        size_t len;

        while (nvv_evqueue_pop(q, &rpc, &len))
                free(rpc);
        q->head = 0;
}
