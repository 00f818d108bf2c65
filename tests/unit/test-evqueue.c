/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The transports' event FIFO: order across wrap-around, drops counted when full, copies owned
 * by the caller after a pop, and nothing leaked by clear (ASan checks that in CI). */
#include "nvv-evqueue.h"
#include "testutil.h"

static void push_n(struct nvv_evqueue *q, unsigned from, unsigned n)
{
        for (unsigned i = from; i < from + n; i++)
                assert_true(nvv_evqueue_push(q, &i, sizeof(i)));
}

static void pop_expect(struct nvv_evqueue *q, unsigned want)
{
        uint8_t *rpc;
        size_t len;
        unsigned v;

        assert_true(nvv_evqueue_pop(q, &rpc, &len));
        assert_int_equal(len, sizeof(v));
        memcpy(&v, rpc, sizeof(v));
        free(rpc);
        assert_int_equal(v, want);
}

static void test_order_and_wrap(void **state)
{
        _cleanup_free_ struct nvv_evqueue *q = calloc(1, sizeof(*q));
        uint8_t *rpc;
        size_t len;

        assert_non_null(q);
        assert_false(nvv_evqueue_pop(q, &rpc, &len));
        /* Three laps round the ring, half full at a time. */
        for (unsigned lap = 0; lap < 6; lap++) {
                push_n(q, lap * 1000, NVV_EVQUEUE_MAX / 2);
                for (unsigned i = 0; i < NVV_EVQUEUE_MAX / 2; i++)
                        pop_expect(q, lap * 1000 + i);
        }
        assert_false(nvv_evqueue_pop(q, &rpc, &len));
        assert_int_equal(q->dropped, 0);
}

static void test_full_drops(void **state)
{
        _cleanup_free_ struct nvv_evqueue *q = calloc(1, sizeof(*q));
        unsigned x = 7;

        assert_non_null(q);
        push_n(q, 0, NVV_EVQUEUE_MAX);
        assert_true(nvv_evqueue_full(q));
        assert_false(nvv_evqueue_push(q, &x, sizeof(x)));
        assert_false(nvv_evqueue_push(q, &x, sizeof(x)));
        assert_int_equal(q->dropped, 2);
        /* The oldest survive; room again after a pop. */
        pop_expect(q, 0);
        assert_true(nvv_evqueue_push(q, &x, sizeof(x)));
        nvv_evqueue_clear(q);
        assert_int_equal(q->n, 0);
        assert_int_equal(q->dropped, 2);
}

static void test_empty_event(void **state)
{
        _cleanup_free_ struct nvv_evqueue *q = calloc(1, sizeof(*q));
        uint8_t *rpc = NULL;
        size_t len = 99;

        assert_non_null(q);
        assert_true(nvv_evqueue_push(q, NULL, 0));
        assert_true(nvv_evqueue_pop(q, &rpc, &len));
        assert_non_null(rpc);
        assert_int_equal(len, 0);
        free(rpc);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_order_and_wrap),
                cmocka_unit_test(test_full_drops),
                cmocka_unit_test(test_empty_event),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
