/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "nvv-msgq.h"
#include "nvv-ring.h"
#include "nvv-rpc.h"
#include "util.h"

/* msgqTxHeader field offsets (msgq_priv.h). */
enum {
        TX_VERSION = 0,
        TX_SIZE = 4,
        TX_MSG_SIZE = 8,
        TX_MSG_COUNT = 12,
        TX_WRITE_PTR = 16,
        TX_FLAGS = 20,
        TX_RX_HDR_OFF = 24,
        TX_ENTRY_OFF = 28,
        RX_READ_PTR = 0,
        DB_DATA_SEQ = 0,
        DB_SPACE_SEQ = 4,
        DB_DATA_WAITERS = 8,
        DB_SPACE_WAITERS = 12,
};

/* Spin this long before sleeping on the doorbell: long enough to catch a small RPC's answer
 * without a futex round trip, short enough that idle waiters (the GSP between commands, the
 * event reader) give the CPU back at once on a machine with few cores. A count of pauses
 * would not do: a pause costs 10 to 140 cycles depending on the CPU. */
#define SPIN_NS 15000u

static inline uint32_t *word(const struct nvv_ring *r, size_t off)
{
        return (uint32_t *) (r->base + off);
}

static inline uint32_t load_acq(const struct nvv_ring *r, size_t off)
{
        return __atomic_load_n(word(r, off), __ATOMIC_ACQUIRE);
}

static inline void store_rel(const struct nvv_ring *r, size_t off, uint32_t v)
{
        __atomic_store_n(word(r, off), v, __ATOMIC_RELEASE);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ volatile("yield" ::: "memory");
#endif
}

static int futex_wait(uint32_t *addr, uint32_t expect, int timeout_ms)
{
        struct timespec ts, *tsp = NULL;

        if (timeout_ms >= 0) {
                ts.tv_sec = timeout_ms / 1000;
                ts.tv_nsec = (long) (timeout_ms % 1000) * 1000000L;
                tsp = &ts;
        }
        /* Not FUTEX_PRIVATE: the words live in memory another process may map. */
        if (syscall(SYS_futex, addr, FUTEX_WAIT, expect, tsp, NULL, 0) < 0 && errno != EAGAIN && errno != EINTR)
                return -errno;
        return 0;
}

static void futex_wake(uint32_t *addr)
{
        (void) syscall(SYS_futex, addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

int nvv_ring_format(struct nvv_ring *r, void *base, const struct nvv_queue_desc *q)
{
        uint32_t queue_size = q->queue_size, element_size = q->element_size, max_elements = q->max_elements;

        if (!base || element_size < 256 || queue_size % element_size || queue_size / element_size < 3 ||
            max_elements == 0)
                return -EINVAL;
        memset(base, 0, element_size);
        *r = (struct nvv_ring) {
                .base = base, .entries = (uint8_t *) base + element_size, .element_size = element_size,
                .count = queue_size / element_size - 1, .max_elements = max_elements, .el_count = q->el_count,
        };
        /* A message must fit the ring with one slot to spare. */
        if (max_elements > r->count - 1)
                r->max_elements = r->count - 1;
        *word(r, TX_VERSION) = NVV_RING_VERSION;
        *word(r, TX_SIZE) = queue_size;
        *word(r, TX_MSG_SIZE) = element_size;
        *word(r, TX_MSG_COUNT) = r->count;
        *word(r, TX_RX_HDR_OFF) = NVV_RING_RX_HEADER;
        *word(r, TX_ENTRY_OFF) = element_size;
        store_rel(r, TX_WRITE_PTR, 0);
        store_rel(r, NVV_RING_RX_HEADER + RX_READ_PTR, 0);
        return 0;
}

int nvv_ring_attach(struct nvv_ring *r, void *base, const struct nvv_queue_desc *q)
{
        uint32_t queue_size = q->queue_size, element_size = q->element_size, max_elements = q->max_elements;
        struct nvv_ring t = { .base = base };

        if (!base || element_size < 256 || queue_size % element_size || queue_size / element_size < 3)
                return -EINVAL;
        if (*word(&t, TX_VERSION) != NVV_RING_VERSION || *word(&t, TX_SIZE) != queue_size ||
            *word(&t, TX_MSG_SIZE) != element_size || *word(&t, TX_MSG_COUNT) != queue_size / element_size - 1 ||
            *word(&t, TX_RX_HDR_OFF) != NVV_RING_RX_HEADER || *word(&t, TX_ENTRY_OFF) != element_size)
                return -EPROTO;
        *r = (struct nvv_ring) {
                .base = base, .entries = (uint8_t *) base + element_size, .element_size = element_size,
                .count = queue_size / element_size - 1, .max_elements = MIN(max_elements, queue_size / element_size - 2),
                .el_count = q->el_count,
        };
        return 0;
}

static uint32_t ptr_checked(const struct nvv_ring *r, size_t off)
{
        uint32_t v = load_acq(r, off);

        return v < r->count ? v : UINT32_MAX;
}

uint32_t nvv_ring_used(const struct nvv_ring *r)
{
        uint32_t w = ptr_checked(r, TX_WRITE_PTR), rd = ptr_checked(r, NVV_RING_RX_HEADER + RX_READ_PTR);

        if (w == UINT32_MAX || rd == UINT32_MAX)
                return 0;
        return (w + r->count - rd) % r->count;
}

static uint32_t space(const struct nvv_ring *r)
{
        return r->count - 1 - nvv_ring_used(r);
}

void nvv_ring_wake_all(struct nvv_ring *r)
{
        __atomic_add_fetch(word(r, NVV_RING_DOORBELL + DB_DATA_SEQ), 1, __ATOMIC_RELEASE);
        __atomic_add_fetch(word(r, NVV_RING_DOORBELL + DB_SPACE_SEQ), 1, __ATOMIC_RELEASE);
        futex_wake(word(r, NVV_RING_DOORBELL + DB_DATA_SEQ));
        futex_wake(word(r, NVV_RING_DOORBELL + DB_SPACE_SEQ));
}

/* Wait until cond(r) >= need: spin first, then sleep on the doorbell word. */
static int wait_for(struct nvv_ring *r, uint32_t (*have)(const struct nvv_ring *), uint32_t need, size_t seq_off,
                    size_t waiters_off, int timeout_ms, uint64_t spin_ns)
{
        uint64_t deadline = timeout_ms >= 0 ? now_ns() + (uint64_t) timeout_ms * 1000000u : UINT64_MAX;
        uint64_t spin_until;

        if (timeout_ms == 0)
                spin_ns = 0; /* a poll */
        spin_until = now_ns() + spin_ns;

        for (unsigned i = 1; spin_ns > 0; i++) {
                if ((i & 63) == 0 && now_ns() >= spin_until)
                        break;
                if (have(r) >= need)
                        return 0;
                if (r->stop && __atomic_load_n(r->stop, __ATOMIC_ACQUIRE))
                        return -ECANCELED;
                if (r->kick && __atomic_load_n(r->kick, __ATOMIC_ACQUIRE))
                        return -EAGAIN;
                cpu_relax();
        }
        for (;;) {
                uint32_t seq = load_acq(r, seq_off);
                uint64_t now;
                int k;

                if (have(r) >= need)
                        return 0;
                if (r->stop && __atomic_load_n(r->stop, __ATOMIC_ACQUIRE))
                        return -ECANCELED;
                if (r->kick && __atomic_load_n(r->kick, __ATOMIC_ACQUIRE))
                        return -EAGAIN;
                now = now_ns();
                if (now >= deadline)
                        return -ETIMEDOUT;
                __atomic_add_fetch(word(r, waiters_off), 1, __ATOMIC_SEQ_CST);
                /* Re-check after announcing ourselves, so a ring between the two is not lost. */
                if (have(r) >= need) {
                        __atomic_sub_fetch(word(r, waiters_off), 1, __ATOMIC_SEQ_CST);
                        return 0;
                }
                k = futex_wait(word(r, seq_off), seq,
                               deadline == UINT64_MAX ? -1 : (int) MIN((deadline - now + 999999) / 1000000, (uint64_t) INT_MAX));
                __atomic_sub_fetch(word(r, waiters_off), 1, __ATOMIC_SEQ_CST);
                if (k < 0 && k != -ETIMEDOUT)
                        return k;
        }
}

static void ring_doorbell(struct nvv_ring *r, size_t seq_off, size_t waiters_off)
{
        __atomic_add_fetch(word(r, seq_off), 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(word(r, waiters_off), __ATOMIC_SEQ_CST))
                futex_wake(word(r, seq_off));
}

int nvv_ring_wait(struct nvv_ring *r, int timeout_ms)
{
        return wait_for(r, nvv_ring_used, 1, NVV_RING_DOORBELL + DB_DATA_SEQ, NVV_RING_DOORBELL + DB_DATA_WAITERS,
                        timeout_ms, SPIN_NS);
}

int nvv_ring_wait_sleeping(struct nvv_ring *r, int timeout_ms)
{
        return wait_for(r, nvv_ring_used, 1, NVV_RING_DOORBELL + DB_DATA_SEQ, NVV_RING_DOORBELL + DB_DATA_WAITERS,
                        timeout_ms, 0);
}

int nvv_ring_write(struct nvv_ring *r, const void *elements, uint32_t n, int timeout_ms)
{
        const uint8_t *src = elements;
        uint32_t w;
        int k;

        if (n == 0 || n > r->max_elements)
                return -EINVAL;
        k = wait_for(r, space, n, NVV_RING_DOORBELL + DB_SPACE_SEQ, NVV_RING_DOORBELL + DB_SPACE_WAITERS, timeout_ms, SPIN_NS);
        if (k < 0)
                return k;
        w = ptr_checked(r, TX_WRITE_PTR);
        if (w == UINT32_MAX)
                return -EPROTO;
        for (uint32_t i = 0; i < n; i++)
                memcpy(r->entries + (size_t) ((w + i) % r->count) * r->element_size, src + (size_t) i * r->element_size,
                       r->element_size);
        store_rel(r, TX_WRITE_PTR, (w + n) % r->count);
        ring_doorbell(r, NVV_RING_DOORBELL + DB_DATA_SEQ, NVV_RING_DOORBELL + DB_DATA_WAITERS);
        return 0;
}

void nvv_ring_consume(struct nvv_ring *r, uint32_t n)
{
        uint32_t rd = ptr_checked(r, NVV_RING_RX_HEADER + RX_READ_PTR), used = nvv_ring_used(r);

        if (rd == UINT32_MAX || n == 0)
                return;
        if (n > used)
                n = used;
        store_rel(r, NVV_RING_RX_HEADER + RX_READ_PTR, (rd + n) % r->count);
        ring_doorbell(r, NVV_RING_DOORBELL + DB_SPACE_SEQ, NVV_RING_DOORBELL + DB_SPACE_WAITERS);
}

int nvv_ring_peek(struct nvv_ring *r, void *buf, size_t cap, int timeout_ms)
{
        uint8_t *dst = buf;
        uint32_t rd, used, n;
        uint64_t ec;
        int k;

        if (r->el_count.offset + r->el_count.width > r->element_size || cap < r->element_size)
                return -EINVAL;
        k = wait_for(r, nvv_ring_used, 1, NVV_RING_DOORBELL + DB_DATA_SEQ, NVV_RING_DOORBELL + DB_DATA_WAITERS,
                     timeout_ms, SPIN_NS);
        if (k < 0)
                return k;
        rd = ptr_checked(r, NVV_RING_RX_HEADER + RX_READ_PTR);
        used = nvv_ring_used(r);
        if (rd == UINT32_MAX || used == 0)
                return -EPROTO;
        memcpy(dst, r->entries + (size_t) rd * r->element_size, r->element_size);
        /* The element count sits in the element header; the queue only needs its bound here,
         * the framing layer checks it again against the RPC it carries. */
        ec = nvv_role_get(&r->el_count, dst);
        n = ec > UINT32_MAX ? 0 : (uint32_t) ec;
        if (n == 0 || n > r->max_elements || n > used || (size_t) n * r->element_size > cap) {
                nvv_ring_consume(r, 1);
                return -EBADMSG;
        }
        for (uint32_t i = 1; i < n; i++)
                memcpy(dst + (size_t) i * r->element_size, r->entries + (size_t) ((rd + i) % r->count) * r->element_size,
                       r->element_size);
        return (int) n;
}

int nvv_ring_read(struct nvv_ring *r, void *buf, size_t cap, int timeout_ms)
{
        int n = nvv_ring_peek(r, buf, cap, timeout_ms);

        if (n > 0)
                nvv_ring_consume(r, (uint32_t) n);
        return n;
}

int nvv_ring_send_rpc(struct nvv_ring *r, const struct nvv_fwabi *fw, const void *rpc, size_t len, uint32_t *seq,
                      void *work, int timeout_ms)
{
        uint32_t records = nvv_msgq_records(fw, len);
        size_t cap = (size_t) fw->queue.element_size * fw->queue.max_elements;

        for (uint32_t i = 0; i < records; i++) {
                int n = nvv_msgq_frame_record(fw, rpc, len, i, *seq, work, cap), k;

                if (n < 0)
                        return n;
                k = nvv_ring_write(r, work, (uint32_t) n, timeout_ms);
                if (k < 0)
                        return k;
                (*seq)++;
        }
        return 0;
}
