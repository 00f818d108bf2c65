/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Firmware events a transport has received and the channel has not yet delivered: a bounded
 * FIFO of copied RPCs. Full or out of memory, an event is dropped and counted, never blocks
 * the reader of the socket or queue it came from. No locking: a transport that fills it from
 * another thread holds its own lock.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NVV_EVQUEUE_MAX 256

struct nvv_evqueue {
        struct {
                uint8_t *rpc;
                size_t len;
        } ev[NVV_EVQUEUE_MAX];
        size_t head, n;
        uint64_t dropped;
};

/* Copy an event in; false when it was dropped. */
bool nvv_evqueue_push(struct nvv_evqueue *q, const void *rpc, size_t len);
/* The oldest event, which the caller frees; false when empty. */
bool nvv_evqueue_pop(struct nvv_evqueue *q, uint8_t **ret_rpc, size_t *ret_len);
static inline bool nvv_evqueue_full(const struct nvv_evqueue *q)
{
        return q->n >= NVV_EVQUEUE_MAX;
}
/* Free what is queued (the drop count stays). */
void nvv_evqueue_clear(struct nvv_evqueue *q);
