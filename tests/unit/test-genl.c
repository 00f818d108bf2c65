/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Generic netlink events: against the running kernel (which has no vGPU core driver here)
 * and, for the message coding, in memory. */
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "nvv-genl.h"
#include "testutil.h"

static void test_no_core_driver(void **state)
{
        struct nvv_genl *g = NULL;
        char err[256] = "";
        int r;

        /* The real kernel: nlctrl resolves families, and this one is not registered. */
        r = nvv_genl_open(&g, err, sizeof(err));
        if (r == 0) {
                nvv_genl_close(g);
                fail_msg("the running kernel registers generic netlink family '%s'; this test expects it not to",
                         NVV_GENL_FAMILY);
        }
        assert_int_equal(r, -ENODEV);
        assert_string_equal(err, "core driver not loaded: the kernel has no generic netlink family 'nova_vgpu'");
}

static void test_roundtrip_in_memory(void **state)
{
        uint8_t rpc[40];
        struct nvv_genl_event ev = { .gpu = 0x4100, .rpc = rpc, .len = sizeof(rpc) }, got;
        struct nl_msg *msg = NULL;
        char err[256];

        for (size_t i = 0; i < sizeof(rpc); i++)
                rpc[i] = (uint8_t) i;
        snprintf(ev.release, sizeof(ev.release), "580.159.04");
        assert_int_equal(nvv_genl_build(31, &ev, &msg), 0);
        assert_int_equal(nvv_genl_parse(msg, &got, err, sizeof(err)), 0);
        assert_int_equal(got.gpu, 0x4100);
        assert_string_equal(got.release, "580.159.04");
        assert_int_equal(got.len, sizeof(rpc));
        assert_memory_equal(got.rpc, rpc, sizeof(rpc));
        nlmsg_free(msg);
}

static void test_malformed(void **state)
{
        uint8_t small[8] = { 0 };
        struct nvv_genl_event ev = { .gpu = 1, .rpc = small, .len = sizeof(small) }, got;
        struct nl_msg *msg = NULL;
        char err[256];

        /* An RPC shorter than its own header fails the attribute policy. */
        assert_int_equal(nvv_genl_build(31, &ev, &msg), 0);
        assert_true(nvv_genl_parse(msg, &got, err, sizeof(err)) < 0);
        assert_strstr(err, "malformed event");
        nlmsg_free(msg);

        /* No GPU attribute. */
        msg = nlmsg_alloc();
        assert_non_null(genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, 31, 0, 0, NVV_GENL_CMD_EVENT, NVV_GENL_VERSION));
        {
                uint8_t rpc[32] = { 0 };

                assert_int_equal(nla_put(msg, NVV_GENL_A_RPC, sizeof(rpc), rpc), 0);
        }
        assert_int_equal(nvv_genl_parse(msg, &got, err, sizeof(err)), -ENODATA);
        assert_strstr(err, "event without a GPU");
        nlmsg_free(msg);

        /* Another command. */
        msg = nlmsg_alloc();
        assert_non_null(genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, 31, 0, 0, 7, NVV_GENL_VERSION));
        assert_int_equal(nvv_genl_parse(msg, &got, err, sizeof(err)), -EOPNOTSUPP);
        nlmsg_free(msg);

        /* A GPU attribute of the wrong size. */
        msg = nlmsg_alloc();
        assert_non_null(genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, 31, 0, 0, NVV_GENL_CMD_EVENT, NVV_GENL_VERSION));
        assert_int_equal(nla_put_u8(msg, NVV_GENL_A_GPU, 1), 0);
        assert_true(nvv_genl_parse(msg, &got, err, sizeof(err)) < 0);
        nlmsg_free(msg);
}

static void test_errno_translation(void **state)
{
        assert_int_equal(nvv_genl_errno(-NLE_OBJ_NOTFOUND), -ENOENT);
        assert_int_equal(nvv_genl_errno(-NLE_NOMEM), -ENOMEM);
        assert_int_equal(nvv_genl_errno(-NLE_PERM), -EPERM);
        assert_int_equal(nvv_genl_errno(-9999), -EIO);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_no_core_driver),
                cmocka_unit_test(test_roundtrip_in_memory),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_errno_translation),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
