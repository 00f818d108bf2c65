/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fwctl transport through its seam: nvv_seam_open/nvv_seam_ioctl are replaced
 * (-Wl,--wrap) by a fake /dev/fwctl/fwctl0 that answers FWCTL_INFO from the kernel contract
 * and FWCTL_RPC through a simulated GPU's real message queue.
 */
#include "nvv-backend.h"
#include "nvv-fwctl.h"
#include "nvv-seam.h"
#include "simtest.h"

#define FAKE_FD 4242

static struct simtest sim;
static struct {
        uint32_t device_type;
        uint32_t data_len;
        uint32_t version;
        const char *release;
        int rpc_errno;
        uint32_t extra_out;
} fake;

int __wrap_nvv_seam_open(const char *path, int flags);
int __wrap_nvv_seam_ioctl(int fd, unsigned long request, void *arg);

/* A directory whose fwctl0 is the fake device too (its fwctl1 opens nothing). */
static char fake_dir[64];

int __wrap_nvv_seam_open(const char *path, int flags)
{
        char mine[96];

        snprintf(mine, sizeof(mine), "%s/fwctl0", fake_dir);
        return streq(path, "/dev/fwctl/fwctl0") || (fake_dir[0] && streq(path, mine)) ? FAKE_FD : -ENOENT;
}

int __wrap_nvv_seam_ioctl(int fd, unsigned long request, void *arg)
{
        struct nvv_simgpu *g = nvv_sim_get_gpu(sim.sim, 0);

        assert_int_equal(fd, FAKE_FD);
        if (request == NVV_FWCTL_INFO) {
                struct nvv_fwctl_info *fi = arg;
                struct nvv_fwctl_vgpu_info d = { .version = fake.version, .pci_dbdf = 0x4100, .pci_vendor = 0x10de,
                                                 .pci_device = 0x26b9 };
                struct nvv_handles h;

                assert_int_equal(fi->size, sizeof(*fi));
                assert_int_equal(fi->flags, 0);
                nvv_simgpu_get_handles(g, &h);
                d.h_client = h.client;
                d.h_device = h.device;
                d.h_subdevice = h.subdevice;
                snprintf(d.firmware_release, sizeof(d.firmware_release), "%s", fake.release);
                memcpy((void *) (uintptr_t) fi->out_device_data, &d, MIN(fi->device_data_len, fake.data_len));
                fi->out_device_type = fake.device_type;
                fi->device_data_len = fake.data_len;
                return 0;
        }
        if (request == NVV_FWCTL_RPC) {
                struct nvv_fwctl_rpc *rpc = arg;
                size_t len = 0;
                char err[256];
                int r;

                assert_int_equal(rpc->size, sizeof(*rpc));
                assert_int_equal(rpc->scope, NVV_FWCTL_RPC_CONFIGURATION);
                assert_true(rpc->in_len <= NVV_FWCTL_MAX_RPC_LEN && rpc->out_len <= NVV_FWCTL_MAX_RPC_LEN);
                if (fake.rpc_errno)
                        return -fake.rpc_errno;
                r = nvv_simgpu_rpc(g, (const void *) (uintptr_t) rpc->in, rpc->in_len, 2000,
                                   (void *) (uintptr_t) rpc->out, rpc->out_len, &len, err, sizeof(err));
                if (r < 0)
                        return r;
                rpc->out_len = (uint32_t) len + fake.extra_out;
                return 0;
        }
        return -ENOTTY;
}

static int setup(void **state)
{
        char *msg = NULL;

        if (simtest_start(&sim, "L40S@570.144", NULL, NULL, &msg) < 0) {
                fprintf(stderr, "%s\n", msg);
                return -1;
        }
        fake.device_type = NVV_FWCTL_DEVICE_TYPE_NOVA_CORE;
        fake.data_len = sizeof(struct nvv_fwctl_vgpu_info);
        fake.version = NVV_FWCTL_VGPU_INFO_VERSION;
        fake.release = "570.144";
        fake.rpc_errno = 0;
        fake.extra_out = 0;
        return 0;
}

static int teardown(void **state)
{
        simtest_stop(&sim);
        return 0;
}

static void test_open_and_call(void **state)
{
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        struct nvv_cmd_sched_get_caps caps = {};
        char *msg = NULL, err[256];

        if (nvv_channel_open_fwctl("/dev/fwctl/fwctl0", sim.db, &ch, &msg) < 0)
                fail_msg("%s", msg);
        assert_string_equal(nvv_channel_get_info(ch)->release, "570.144");
        assert_string_equal(nvv_channel_get_fwabi(ch)->release, "570.144");
        if (nvv_channel_call(ch, NVV_CMD_SCHED_GET_CAPS, &caps, 0, NULL, NULL, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        assert_int_equal(caps.supported_policies[0], NVV_SCHED_BEST_EFFORT);
        assert_true(caps.max_timeslice_ns > caps.min_timeslice_ns);
}

static void test_bdf_from_device_data(void **state)
{
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        char *msg = NULL;

        if (nvv_channel_open_fwctl("/dev/fwctl/fwctl0", sim.db, &ch, &msg) < 0)
                fail_msg("%s", msg);
        /* pci_dbdf 0x4100: domain 0, bus 0x41, device 0, function 0 */
        assert_string_equal(nvv_channel_get_info(ch)->bdf, "0000:41:00.0");
}

static void expect_open_error(int code, const char *needle)
{
        struct nvv_channel *ch = NULL;
        char *msg = NULL;

        assert_int_equal(nvv_channel_open_fwctl("/dev/fwctl/fwctl0", sim.db, &ch, &msg), code);
        assert_null(ch);
        assert_strstr(msg, needle);
        free(msg);
}

static void test_wrong_device_type(void **state)
{
        fake.device_type = 1; /* FWCTL_DEVICE_TYPE_MLX5 */
        expect_open_error(-EINVAL, "/dev/fwctl/fwctl0 is not a nova-core device (fwctl device type 1)");
}

static void test_short_device_data(void **state)
{
        fake.data_len = 16;
        expect_open_error(-EINVAL, "gave 16 bytes of device data, the contract has 88");
}

static void test_bad_contract_version(void **state)
{
        fake.version = 7;
        expect_open_error(-EINVAL, "device data version 7, expected 1");
}

static void test_garbage_release(void **state)
{
        fake.release = "latest!";
        expect_open_error(-EINVAL, "reports no valid firmware release");
}

static void test_unknown_release(void **state)
{
        fake.release = "585.12.01";
        expect_open_error(-EINVAL, "the nearest known release is 580.65.06");
}

static void test_firmware_disagrees(void **state)
{
        /* The kernel says 570.172.08 (served by 570.144); the firmware itself says 570.144. */
        fake.release = "570.172.08";
        expect_open_error(-EINVAL, "the transport reports firmware 570.172.08 but the firmware says 570.144");
}

static void test_missing_device(void **state)
{
        struct nvv_channel *ch = NULL;
        char *msg = NULL;

        assert_int_equal(nvv_channel_open_fwctl("/dev/fwctl/fwctl9", sim.db, &ch, &msg), -ENOENT);
        assert_strstr(msg, "cannot open /dev/fwctl/fwctl9");
        free(msg);
}

static void test_rpc_errors(void **state)
{
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        struct nvv_cmd_get_features f = {};
        char *msg = NULL, err[256];

        if (nvv_channel_open_fwctl("/dev/fwctl/fwctl0", sim.db, &ch, &msg) < 0)
                fail_msg("%s", msg);
        fake.rpc_errno = ENODEV;
        assert_int_equal(nvv_channel_call(ch, NVV_CMD_GET_FEATURES, &f, 0, NULL, NULL, err, sizeof(err)), -ENODEV);
        assert_strstr(err, "'get_features' to GPU 0000:41:00.0 (firmware 570.144) failed: the GPU went away");
        fake.rpc_errno = ETIMEDOUT;
        assert_int_equal(nvv_channel_call(ch, NVV_CMD_GET_FEATURES, &f, 0, NULL, NULL, err, sizeof(err)), -ETIMEDOUT);
        assert_strstr(err, "timed out");
        fake.rpc_errno = 0;
        fake.extra_out = 1u << 20; /* the kernel claims more than it could have written */
        assert_int_equal(nvv_channel_call(ch, NVV_CMD_GET_FEATURES, &f, 0, NULL, NULL, err, sizeof(err)), -EBADMSG);
        assert_strstr(err, "FWCTL_RPC returned");
        fake.extra_out = 0;
        assert_int_equal(nvv_channel_call(ch, NVV_CMD_GET_FEATURES, &f, 0, NULL, NULL, err, sizeof(err)), 0);
}

static void test_list(void **state)
{
        char **paths = NULL, *msg = NULL;

        assert_int_equal(nvv_channel_list_fwctl("/nonexistent/fwctl", &paths, &msg), -ENOENT);
        assert_strstr(msg, "/nonexistent/fwctl does not exist: no fwctl devices");
        free(msg);
}

/* The fwctl backend: one device by its path, or every device in a directory. */
static void test_backend(void **state)
{
        char dev[96], other[96], spec[128], *msg = NULL;
        struct nvv_backend *b = NULL;
        struct nvv_backend_gpu *g = NULL;
        size_t n = 0;
        FILE *f;

        snprintf(fake_dir, sizeof(fake_dir), "/tmp/nvv-fwctl-XXXXXX");
        assert_non_null(mkdtemp(fake_dir));
        snprintf(dev, sizeof(dev), "%s/fwctl0", fake_dir);
        snprintf(other, sizeof(other), "%s/fwctl1", fake_dir);
        assert_non_null(f = fopen(dev, "w"));
        fclose(f);
        assert_non_null(f = fopen(other, "w"));
        fclose(f);

        snprintf(spec, sizeof(spec), "fwctl:%s", dev);
        assert_int_equal(nvv_backend_parse(spec, &b, &msg), 0);
        if (nvv_backend_open_all(b, sim.db, &g, &n, &msg) < 0)
                fail_msg("%s", msg);
        assert_int_equal(n, 1);
        assert_string_equal(g[0].source, dev);
        assert_non_null(g[0].channel);
        assert_string_equal(g[0].info.bdf, "0000:41:00.0");
        assert_string_equal(g[0].info.release, "570.144");
        nvv_backend_gpus_free(g, n);
        b = nvv_backend_free(b);

        snprintf(spec, sizeof(spec), "fwctl:%s", fake_dir);
        assert_int_equal(nvv_backend_parse(spec, &b, &msg), 0);
        if (nvv_backend_open_all(b, sim.db, &g, &n, &msg) < 0)
                fail_msg("%s", msg);
        assert_int_equal(n, 2);
        assert_non_null(g[0].channel);
        /* A device that does not open is listed with why; its GPU is unknown. */
        assert_string_equal(g[1].source, other);
        assert_null(g[1].channel);
        assert_int_equal(g[1].error, -ENOENT);
        assert_strstr(g[1].error_msg, "cannot open");
        assert_string_equal(g[1].info.bdf, "");
        nvv_backend_gpus_free(g, n);
        nvv_backend_free(b);
        unlink(dev);
        unlink(other);
        rmdir(fake_dir);
        fake_dir[0] = '\0';
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_open_and_call, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bdf_from_device_data, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wrong_device_type, setup, teardown),
                cmocka_unit_test_setup_teardown(test_short_device_data, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_contract_version, setup, teardown),
                cmocka_unit_test_setup_teardown(test_garbage_release, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_release, setup, teardown),
                cmocka_unit_test_setup_teardown(test_firmware_disagrees, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_device, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rpc_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list, setup, teardown),
                cmocka_unit_test_setup_teardown(test_backend, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
