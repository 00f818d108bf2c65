/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One direction of the GSP message queue in shared memory: a header page, then a ring of
 * queue elements. The header follows the shape of NVIDIA's msgqTxHeader / msgqRxHeader
 * (src/common/shared/msgq/inc/msgq/msgq_priv.h at 535.113.01/570.144: version, size,
 * msgSize, msgCount, writePtr, flags, rxHdrOff, entryOff; readPtr), so the writer owns
 * writePtr and the reader readPtr; both are element indices. One slot stays free to tell a
 * full ring from an empty one. Doorbells are futex words in the header page: the writer
 * rings after publishing, the reader after consuming, and each side spins briefly before
 * it sleeps, so a busy queue costs no system calls.
 *
 * The memory is shared with the other side and therefore untrusted: every index and count
 * read from it is checked.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nvv-fwabi.h"

/* Header page layout (byte offsets). */
#define NVV_RING_TX_HEADER 0    /* msgqTxHeader, 32 bytes */
#define NVV_RING_RX_HEADER 64   /* msgqRxHeader: readPtr */
#define NVV_RING_DOORBELL 128   /* ours: data and space sequence words, waiter counts */
#define NVV_RING_VERSION 1

struct nvv_ring {
        uint8_t *base;          /* header page */
        uint8_t *entries;
        uint32_t element_size;
        uint32_t count;         /* msgCount */
        uint32_t max_elements;  /* per message */
        struct nvv_role el_count; /* where an element header keeps its element count */
        bool *stop;             /* when set (atomically), waits return -ECANCELED */
        volatile uint32_t *kick; /* when non-zero, waits return -EAGAIN (a mailbox to look at) */
};

/* Format a ring of the release's geometry (q->queue_size bytes) at `base`. */
int nvv_ring_format(struct nvv_ring *r, void *base, const struct nvv_queue_desc *q);
/* Open a ring the other side formatted; its header is checked against the geometry. */
int nvv_ring_attach(struct nvv_ring *r, void *base, const struct nvv_queue_desc *q);

/* Write `n` whole elements as one message, waiting up to timeout_ms (<0: forever) for room.
 * -ETIMEDOUT, -ECANCELED (stop), -EINVAL (n out of range). */
int nvv_ring_write(struct nvv_ring *r, const void *elements, uint32_t n, int timeout_ms);
/* Read one message into buf (cap >= max_elements * element_size). Returns its element count.
 * A message whose element count is impossible is skipped one element at a time and
 * reported as -EBADMSG, so the queue never wedges. */
int nvv_ring_read(struct nvv_ring *r, void *buf, size_t cap, int timeout_ms);
/* The same without consuming: the caller checks the message, then consumes all of it or,
 * when it is damaged, only its first element, so a bogus element count cannot swallow the
 * messages behind it. */
int nvv_ring_peek(struct nvv_ring *r, void *buf, size_t cap, int timeout_ms);
void nvv_ring_consume(struct nvv_ring *r, uint32_t n);
/* Wait until something is there to read (0), without consuming it. */
int nvv_ring_wait(struct nvv_ring *r, int timeout_ms);
/* The same without spinning first: for waiters off the latency path (an event reader), so
 * they do not take a CPU from the threads answering an RPC. */
int nvv_ring_wait_sleeping(struct nvv_ring *r, int timeout_ms);
/* Elements waiting to be read. */
uint32_t nvv_ring_used(const struct nvv_ring *r);
/* Wake every sleeper (after setting *stop or *kick). */
void nvv_ring_wake_all(struct nvv_ring *r);

/* Frame a logical RPC (1 + continuation records) and write each record; *seq advances. */
int nvv_ring_send_rpc(struct nvv_ring *r, const struct nvv_fwabi *fw, const void *rpc, size_t len,
                      uint32_t *seq, void *work, int timeout_ms);
