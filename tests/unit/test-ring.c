/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shared-memory queue: header layout, wrap-around, flow control, a stream larger than
 * the ring between two threads, and a reader that never wedges on a bad element count. */
#include <pthread.h>
#include <sys/mman.h>

#include "nvv-msgq.h"
#include "nvv-ring.h"
#include "testutil.h"

static struct nvv_fwdb *db;
static const struct nvv_fwabi *fw;

static int setup(void **state)
{
        db = test_load_db();
        fw = nvv_fwdb_find(db, "570.144");
        return 0;
}

static int teardown(void **state)
{
        db = nvv_fwdb_free(db);
        return 0;
}

static void *alloc_ring(void)
{
        void *p = mmap(NULL, fw->queue.queue_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

        assert_true(p != MAP_FAILED);
        return p;
}

static void test_header(void **state)
{
        uint8_t *mem = alloc_ring();
        struct nvv_ring w, r;

        assert_int_equal(nvv_ring_format(&w, mem, &fw->queue), 0);
        /* msgqTxHeader: version, size, msgSize, msgCount, writePtr, flags, rxHdrOff, entryOff */
        assert_int_equal(get32(mem + 4), 262144);
        assert_int_equal(get32(mem + 8), 4096);
        assert_int_equal(get32(mem + 12), 63);
        assert_int_equal(get32(mem + 28), 4096);
        assert_int_equal(nvv_ring_attach(&r, mem, &fw->queue), 0);
        put32(mem + 12, 64); /* a header that does not match the geometry */
        assert_int_equal(nvv_ring_attach(&r, mem, &fw->queue), -EPROTO);
        munmap(mem, fw->queue.queue_size);
}

static void test_wraparound_and_flow(void **state)
{
        uint8_t *mem = alloc_ring(), msg[4096 * 16], out[4096 * 16];
        struct nvv_ring w, r;

        assert_int_equal(nvv_ring_format(&w, mem, &fw->queue), 0);
        assert_int_equal(nvv_ring_attach(&r, mem, &fw->queue), 0);
        for (int round = 0; round < 20; round++) {
                uint32_t n = 1 + (uint32_t) round % 16;

                memset(msg, 0, sizeof(msg));
                put32(msg + 40, n); /* elemCount */
                msg[100] = (uint8_t) round;
                msg[n * 4096 - 1] = (uint8_t) (0xa0 + round);
                assert_int_equal(nvv_ring_write(&w, msg, n, 0), 0);
                assert_int_equal(nvv_ring_read(&r, out, sizeof(out), 0), (int) n);
                assert_int_equal(out[100], round);
                assert_int_equal(out[n * 4096 - 1], 0xa0 + round);
        }
        /* 63 slots hold 62 elements; a fourth 16-element message must wait. */
        memset(msg, 0, sizeof(msg));
        put32(msg + 40, 16);
        for (int i = 0; i < 3; i++)
                assert_int_equal(nvv_ring_write(&w, msg, 16, 0), 0);
        assert_int_equal(nvv_ring_write(&w, msg, 16, 20), -ETIMEDOUT);
        assert_int_equal(nvv_ring_read(&r, out, sizeof(out), 0), 16);
        assert_int_equal(nvv_ring_write(&w, msg, 16, 0), 0);
        assert_int_equal(nvv_ring_write(&w, msg, 0, 0), -EINVAL);
        assert_int_equal(nvv_ring_write(&w, msg, 17, 0), -EINVAL);
        munmap(mem, fw->queue.queue_size);
}

static void test_bad_element_count_skipped(void **state)
{
        uint8_t *mem = alloc_ring(), msg[4096 * 2], out[4096 * 16];
        struct nvv_ring w, r;

        assert_int_equal(nvv_ring_format(&w, mem, &fw->queue), 0);
        assert_int_equal(nvv_ring_attach(&r, mem, &fw->queue), 0);
        memset(msg, 0, sizeof(msg));
        put32(msg + 40, 9); /* claims 9 elements, 2 were written */
        put32(msg + 4096 + 40, 1);
        msg[4096 + 100] = 0x77;
        assert_int_equal(nvv_ring_write(&w, msg, 2, 0), 0);
        assert_int_equal(nvv_ring_read(&r, out, sizeof(out), 0), -EBADMSG);
        assert_int_equal(nvv_ring_read(&r, out, sizeof(out), 0), 1);
        assert_int_equal(out[100], 0x77);
        assert_int_equal(nvv_ring_read(&r, out, sizeof(out), 10), -ETIMEDOUT);
        munmap(mem, fw->queue.queue_size);
}

struct stream {
        struct nvv_ring *ring;
        const uint8_t *rpc;
        size_t len;
        int result;
};

static void *producer(void *userdata)
{
        struct stream *s = userdata;
        uint8_t *work = malloc(65536);
        uint32_t seq = 0;

        s->result = nvv_ring_send_rpc(s->ring, fw, s->rpc, s->len, &seq, work, 5000);
        free(work);
        return NULL;
}

/* A 700 KB RPC through a 256 KiB ring: the sender must stream while the reader drains. */
static void test_stream_larger_than_ring(void **state)
{
        uint8_t *mem = alloc_ring(), *out = malloc(65536);
        size_t len = 700000;
        uint8_t *rpc = calloc(1, len);
        _cleanup_(nvv_reasm_freep) struct nvv_reasm *ra = NULL;
        struct nvv_ring w, r;
        struct stream s = { .ring = &w, .rpc = rpc, .len = len };
        pthread_t t;
        int k = 0;

        put32(rpc + 0, 0x03000000);
        put32(rpc + 4, 0x43505256);
        put32(rpc + 8, (uint32_t) len);
        put32(rpc + 12, 76);
        put32(rpc + 32 + 16, (uint32_t) (len - 56)); /* paramsSize: the rest */
        for (size_t i = 56; i < len; i++)
                rpc[i] = (uint8_t) (i * 7);
        assert_int_equal(nvv_ring_format(&w, mem, &fw->queue), 0);
        assert_int_equal(nvv_ring_attach(&r, mem, &fw->queue), 0);
        assert_int_equal(nvv_reasm_new(fw, &ra), 0);
        assert_int_equal(pthread_create(&t, NULL, producer, &s), 0);
        for (uint32_t seq = 0; k == 0; seq++) {
                const uint8_t *p;
                size_t pl;
                char err[256];
                int n = nvv_ring_read(&r, out, 65536, 5000);

                assert_true(n > 0);
                assert_int_equal(nvv_msgq_unframe(fw, out, (size_t) n * 4096, seq, &p, &pl, err, sizeof(err)), 0);
                k = nvv_reasm_feed(ra, p, pl, err, sizeof(err));
                assert_true(k >= 0);
        }
        pthread_join(t, NULL);
        assert_int_equal(s.result, 0);
        {
                size_t l;
                const uint8_t *full = nvv_reasm_data(ra, &l);

                assert_int_equal(l, len);
                assert_memory_equal(full + 56, rpc + 56, len - 56);
        }
        free(rpc);
        free(out);
        munmap(mem, fw->queue.queue_size);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_header),
                cmocka_unit_test(test_wraparound_and_flow),
                cmocka_unit_test(test_bad_element_count_skipped),
                cmocka_unit_test(test_stream_larger_than_ring),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
