/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The upstream vGPU-management interface (nvv-vmgmt.h):
 *  - through the fwctl seam (nvv_seam_open/nvv_seam_ioctl replaced by -Wl,--wrap): a nova-core
 *    device without device data is detected as the upstream interface, and each of the seven
 *    commands leaves the manager as the exact bytes built here from the description's
 *    published layout (gmcapi_vgpu.h, fwctl.rs), answered by the simulated kernel and firmware;
 *  - every refusal of the seven commands in both error conventions (a status in the reply,
 *    and EIO), EPERM from a description the kernel does not match, malformed replies;
 *  - the managed GPU on a simulated upstream GPU: bring-up uploads the types, create assigns a
 *    VF, VM start checks it, a VFIO open makes destroy EBUSY, close lets it go.
 */
#include <sys/mman.h>

#include "nvv-backend.h"
#include "nvv-fwctl.h"
#include "nvv-pgpu.h"
#include "nvv-seam.h"
#include "nvv-simvmgmt.h"
#include "simtest.h"

#define FAKE_FD 4343

static struct nvv_fwdb *db;
static const struct nvv_vmgmt *vm;
static struct nvv_simvmgmt *kernel;        /* what answers the fake device's FWCTL_RPC */
static struct {
        uint8_t last_in[4096];
        size_t last_in_len;
        uint32_t last_scope, last_out_len;
        int calls;
} seen;

int __wrap_nvv_seam_open(const char *path, int flags);
int __wrap_nvv_seam_ioctl(int fd, unsigned long request, void *arg);

/* The fwctl device's parent in sysfs, as the kernel writes its attributes. */
static int attr_fd(const char *text)
{
        int fd = memfd_create("attr", MFD_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

int __wrap_nvv_seam_open(const char *path, int flags)
{
        (void) flags;
        if (streq(path, "/dev/fwctl/fwctl0"))
                return FAKE_FD;
        if (streq(path, "/sys/class/fwctl/fwctl0/device/uevent"))
                return attr_fd("DRIVER=NovaCore\nPCI_CLASS=30200\nPCI_ID=10DE:2BB5\nPCI_SLOT_NAME=0000:41:00.0\n");
        if (streq(path, "/sys/class/fwctl/fwctl0/device/vendor"))
                return attr_fd("0x10de\n");
        if (streq(path, "/sys/class/fwctl/fwctl0/device/device"))
                return attr_fd("0x2bb5\n");
        if (streq(path, "/sys/class/fwctl/fwctl0/device/sriov_offset"))
                return attr_fd("4\n");
        if (streq(path, "/sys/class/fwctl/fwctl0/device/sriov_stride"))
                return attr_fd("1\n");
        return -ENOENT;
}

int __wrap_nvv_seam_ioctl(int fd, unsigned long request, void *arg)
{
        assert_int_equal(fd, FAKE_FD);
        if (request == NVV_FWCTL_INFO) {
                struct nvv_fwctl_info *fi = arg;

                assert_int_equal(fi->size, sizeof(*fi));
                /* nova-core's fwctl driver: its type, and no device data. */
                fi->out_device_type = NVV_FWCTL_DEVICE_TYPE_NOVA_CORE;
                fi->device_data_len = 0;
                return 0;
        }
        if (request == NVV_FWCTL_RPC) {
                struct nvv_fwctl_rpc *rpc = arg;
                size_t len = 0;
                int r;

                assert_int_equal(rpc->size, sizeof(*rpc));
                seen.calls++;
                seen.last_scope = rpc->scope;
                seen.last_out_len = rpc->out_len;
                seen.last_in_len = MIN((size_t) rpc->in_len, sizeof(seen.last_in));
                memcpy(seen.last_in, (const void *) (uintptr_t) rpc->in, seen.last_in_len);
                r = nvv_simvmgmt_rpc(kernel, rpc->scope, (const void *) (uintptr_t) rpc->in, rpc->in_len,
                                     (void *) (uintptr_t) rpc->out, rpc->out_len, &len);
                if (r < 0)
                        return r;
                rpc->out_len = (uint32_t) len;
                return 0;
        }
        return -ENOTTY;
}

static void new_kernel(bool eio)
{
        struct nvv_simvmgmt_config c = {
                .vm = vm, .pf = { .bus = 0x41 }, .num_vfs = 4, .vf_offset = 4, .vf_stride = 1, .eio = eio,
        };

        kernel = nvv_simvmgmt_free(kernel);
        assert_int_equal(nvv_simvmgmt_new(&c, &kernel), 0);
        memset(&seen, 0, sizeof(seen));
}

static int setup(void **state)
{
        (void) state;
        db = test_load_db();
        vm = nvv_fwdb_vmgmt_match(db, NULL, NULL);
        if (!vm) {
                fprintf(stderr, "no upstream interface description in %s/upstream\n", test_fwabi_dir());
                return -1;
        }
        new_kernel(false);
        return 0;
}

static int teardown(void **state)
{
        (void) state;
        kernel = nvv_simvmgmt_free(kernel);
        db = nvv_fwdb_free(db);
        return 0;
}

static struct nvv_channel *open_dev(void)
{
        struct nvv_channel *ch = NULL;
        _cleanup_free_ char *msg = NULL;

        if (nvv_channel_open_fwctl("/dev/fwctl/fwctl0", db, &ch, &msg) < 0)
                fail_msg("%s", msg);
        return ch;
}

static void le32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static struct nvv_vgpu_type sample_type(uint32_t id, uint32_t max)
{
        struct nvv_vgpu_type t = { .type_id = id, .max_instance = max, .bar1_length = 256, .profile_size = 8ull << 30,
                                   .fb_length = 7ull << 30, .gsp_heap_size = 16ull << 20, .fb_reservation = 100ull << 20,
                                   .num_heads = 4, .max_resolution_x = 7680, .max_resolution_y = 4320, .frl_config = 60,
                                   .vdev_id = (uint64_t) 0x2bb5 << 32 | 0x2222 };

        snprintf(t.name, sizeof(t.name), "NVIDIA RTX Pro 6000 Blackwell DC-%uQ", id);
        snprintf(t.class_name, sizeof(t.class_name), "Quadro");
        return t;
}

static void test_description(void **state)
{
        (void) state;
        assert_string_equal(nvv_vmgmt_get_revision(vm), "r000_00");
        assert_int_equal(nvv_vmgmt_get_device_type(vm), NVV_FWCTL_DEVICE_TYPE_NOVA_CORE);
        assert_int_equal(nvv_vmgmt_get_scope(vm), NVV_FWCTL_RPC_CONFIGURATION);
        assert_int_equal(nvv_vmgmt_get_max_reply(vm), 16384);
        for (int c = 0; c < _NVV_VMGMT_MAX; c++)
                assert_int_equal(nvv_vmgmt_command_id(vm, c), 0x10000001u + (uint32_t) c);
        /* The release view the managed GPU needs: no RPC command, a status table. */
        assert_string_equal(nvv_vmgmt_get_fwabi(vm)->release, "r000_00");
        assert_null(nvv_fwabi_command(nvv_vmgmt_get_fwabi(vm), NVV_CMD_CREATE_DEVICE));
        assert_int_equal(nvv_fwabi_status_to_errno(nvv_vmgmt_get_fwabi(vm), 23), -EBUSY);
}

static void test_detect_and_bytes(void **state)
{
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = open_dev();
        struct nvv_vmgmt_io io = {};
        struct nvv_vmgmt_result res;
        uint8_t want[64] = {};
        char err[512];

        (void) state;
        assert_non_null(nvv_channel_get_vmgmt(ch));
        assert_true(nvv_channel_get_info(ch)->vmgmt);
        assert_string_equal(nvv_channel_get_info(ch)->bdf, "0000:41:00.0");
        assert_int_equal(nvv_channel_get_info(ch)->device, 0x2bb5);
        assert_int_equal(nvv_channel_get_info(ch)->vf_offset, 4);

        /* add_type: header {0x10000001, 0} then the properties (NVKV). */
        io.type = sample_type(7, 4);
        if (nvv_channel_vmgmt_call(ch, NVV_VMGMT_ADD_TYPE, &io, &res, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        le32(want, 0x10000001);
        assert_memory_equal(seen.last_in, want, 8);
        assert_int_equal(seen.last_scope, NVV_FWCTL_RPC_CONFIGURATION);
        assert_true(seen.last_out_len >= 8 + 16384);
        assert_int_equal(seen.last_in_len % 8, 0);

        /* assign: GmcapiAssignVgpuTypeInParams {u64 dbdf; u32 vgpuTypeId; u32 swizzId; u16 placementId}
         * (24 bytes), dbdf = domain << 16 | bus << 8 | device << 3 | function. */
        memset(&io, 0, sizeof(io));
        io.vf = (struct nvv_pci_addr) { .bus = 0x41, .dev = 0, .fn = 4 };
        io.type_id = 7;
        io.placement_id = 2;
        if (nvv_channel_vmgmt_call(ch, NVV_VMGMT_ASSIGN, &io, &res, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        memset(want, 0, sizeof(want));
        le32(want, 0x10000004);
        le64(want + 8, 0x4104);
        le32(want + 16, 7);
        want[24] = 2;
        assert_int_equal(seen.last_in_len, 32);
        assert_memory_equal(seen.last_in, want, 32);

        /* Without a placement: 0xffff, the firmware's choice. */
        io.vf.fn = 5;
        io.placement_id = NVV_PLACEMENT_NONE;
        if (nvv_channel_vmgmt_call(ch, NVV_VMGMT_ASSIGN, &io, &res, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        want[8] = 0x05;
        want[24] = 0xff;
        want[25] = 0xff;
        assert_memory_equal(seen.last_in, want, 32);

        /* query_assigned: {u64 dbdf} in; {u32 type; u32 swizz; u16 placement} out. */
        memset(&io, 0, sizeof(io));
        io.vf = (struct nvv_pci_addr) { .bus = 0x41, .fn = 4 };
        if (nvv_channel_vmgmt_call(ch, NVV_VMGMT_QUERY_ASSIGNED, &io, &res, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        memset(want, 0, sizeof(want));
        le32(want, 0x10000007);
        le64(want + 8, 0x4104);
        assert_int_equal(seen.last_in_len, 16);
        assert_memory_equal(seen.last_in, want, 16);
        assert_int_equal(io.type_id, 7);
        assert_int_equal(io.placement_id, 2);

        /* query_supported / query_creatable: the header only. */
        memset(&io, 0, sizeof(io));
        if (nvv_channel_vmgmt_call(ch, NVV_VMGMT_QUERY_SUPPORTED, &io, &res, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        assert_int_equal(seen.last_in_len, 8);
        le32(want, 0x10000002);
        memset(want + 4, 0, 4);
        assert_memory_equal(seen.last_in, want, 8);
        assert_int_equal(io.n_ids, 1);
        assert_int_equal(io.ids[0], 7);
        if (nvv_channel_vmgmt_call(ch, NVV_VMGMT_QUERY_CREATABLE, &io, &res, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        assert_int_equal(io.n_ids, 1); /* 2 of 4 placed: still creatable */

        /* query_properties: {u32 vgpuTypeId}; the answer is the uploaded type. */
        memset(&io, 0, sizeof(io));
        io.type_id = 7;
        if (nvv_channel_vmgmt_call(ch, NVV_VMGMT_QUERY_PROPERTIES, &io, &res, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        memset(want, 0, sizeof(want));
        le32(want, 0x10000006);
        le32(want + 8, 7);
        assert_int_equal(seen.last_in_len, 12);
        assert_memory_equal(seen.last_in, want, 12);
        assert_string_equal(io.type.name, "NVIDIA RTX Pro 6000 Blackwell DC-7Q");
        assert_int_equal(io.type.fb_length, 7ull << 30);
        assert_int_equal(io.type.vdev_id, (uint64_t) 0x2bb5 << 32 | 0x2222);

        /* deassign: {u64 dbdf}. */
        memset(&io, 0, sizeof(io));
        io.vf = (struct nvv_pci_addr) { .bus = 0x41, .fn = 4 };
        if (nvv_channel_vmgmt_call(ch, NVV_VMGMT_DEASSIGN, &io, &res, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        memset(want, 0, sizeof(want));
        le32(want, 0x10000005);
        le64(want + 8, 0x4104);
        assert_int_equal(seen.last_in_len, 16);
        assert_memory_equal(seen.last_in, want, 16);

        /* An RPC command on such a GPU is refused before anything is sent. */
        {
                struct nvv_cmd_get_features f = {};
                int calls = seen.calls;

                assert_int_equal(nvv_channel_call(ch, NVV_CMD_GET_FEATURES, &f, 0, NULL, NULL, err, sizeof(err)),
                                 -EOPNOTSUPP);
                assert_int_equal(seen.calls, calls);
        }
}

/* Without a description of the interface, such a GPU is refused, saying what is missing. */
static void test_no_description(void **state)
{
        _cleanup_(nvv_fwdb_freep) struct nvv_fwdb *empty = NULL;
        _cleanup_free_ char *msg = NULL;
        struct nvv_channel *ch = NULL;

        (void) state;
        assert_int_equal(nvv_fwdb_new(&empty), 0);
        assert_int_equal(nvv_channel_open_fwctl("/dev/fwctl/fwctl0", empty, &ch, &msg), -EOPNOTSUPP);
        assert_null(ch);
        assert_strstr(msg, "data/fwabi/upstream");
}

/* One refusal: the errno, and how it was told. */
static void expect_refusal(struct nvv_channel *ch, int cmd, struct nvv_vmgmt_io *io, bool eio, int want_errno,
                           uint32_t want_status)
{
        struct nvv_vmgmt_result res;
        char err[512] = "";
        int r = nvv_channel_vmgmt_call(ch, cmd, io, &res, err, sizeof(err));

        if (eio) {
                assert_int_equal(r, -EIO);
                assert_true(res.refused);
                assert_false(res.have_status);
                assert_strstr(err, "EIO");
        } else {
                if (r != -want_errno)
                        fail_msg("%s: %d (%s), expected -%d", nvv_vmgmt_cmd_to_string(cmd), r, err, want_errno);
                assert_true(res.refused && res.have_status);
                assert_int_equal(res.status, want_status);
        }
        assert_strstr(err, nvv_vmgmt_cmd_to_string(cmd));
        assert_strstr(err, "0000:41:00.0");
}

static void error_paths(bool eio)
{
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        struct nvv_vmgmt_io io = {};
        struct nvv_pci_addr vf0 = { .bus = 0x41, .fn = 4 }, stranger = { .bus = 0x42, .fn = 4 };
        char err[512];

        new_kernel(eio);
        ch = open_dev();
        /* add_type: a full table (INSUFFICIENT_RESOURCES 26), and a type a VF holds (IN_USE 23). */
        io.type = sample_type(1, 1);
        if (nvv_channel_vmgmt_call(ch, NVV_VMGMT_ADD_TYPE, &io, NULL, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        memset(&io, 0, sizeof(io));
        io.vf = vf0;
        io.type_id = 1;
        io.placement_id = NVV_PLACEMENT_NONE;
        if (nvv_channel_vmgmt_call(ch, NVV_VMGMT_ASSIGN, &io, NULL, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        io.type = sample_type(1, 2);
        expect_refusal(ch, NVV_VMGMT_ADD_TYPE, &io, eio, EBUSY, 23);
        assert_int_equal(nvv_simvmgmt_fail_next(kernel, NVV_VMGMT_ADD_TYPE, "NV_ERR_INSUFFICIENT_RESOURCES"), 0);
        io.type = sample_type(2, 2);
        expect_refusal(ch, NVV_VMGMT_ADD_TYPE, &io, eio, ENOSPC, 26);

        /* query_supported, query_creatable: the firmware's generic refusals (no natural ones). */
        assert_int_equal(nvv_simvmgmt_fail_next(kernel, NVV_VMGMT_QUERY_SUPPORTED, "NV_ERR_INVALID_STATE"), 0);
        expect_refusal(ch, NVV_VMGMT_QUERY_SUPPORTED, &io, eio, EBADFD, 64);
        assert_int_equal(nvv_simvmgmt_fail_next(kernel, NVV_VMGMT_QUERY_CREATABLE, "NV_ERR_NOT_SUPPORTED"), 0);
        expect_refusal(ch, NVV_VMGMT_QUERY_CREATABLE, &io, eio, EOPNOTSUPP, 86);

        /* assign: not a VF of this GPU (INVALID_ARGUMENT 31), no such type (OBJECT_NOT_FOUND 87),
         * a VF that has a type (IN_USE), no room (INSUFFICIENT_RESOURCES). */
        memset(&io, 0, sizeof(io));
        io.placement_id = NVV_PLACEMENT_NONE;
        io.vf = stranger;
        io.type_id = 1;
        expect_refusal(ch, NVV_VMGMT_ASSIGN, &io, eio, EINVAL, 31);
        io.vf = (struct nvv_pci_addr) { .bus = 0x41, .fn = 5 };
        io.type_id = 99;
        expect_refusal(ch, NVV_VMGMT_ASSIGN, &io, eio, ENOENT, 87);
        io.vf = vf0;
        io.type_id = 1;
        expect_refusal(ch, NVV_VMGMT_ASSIGN, &io, eio, EBUSY, 23);
        io.vf = (struct nvv_pci_addr) { .bus = 0x41, .fn = 5 };
        expect_refusal(ch, NVV_VMGMT_ASSIGN, &io, eio, ENOSPC, 26);     /* max_instance 1 */

        /* deassign: a stranger, a VF with no type, a VF whose VFIO device is open. */
        memset(&io, 0, sizeof(io));
        io.vf = stranger;
        expect_refusal(ch, NVV_VMGMT_DEASSIGN, &io, eio, EINVAL, 31);
        io.vf = (struct nvv_pci_addr) { .bus = 0x41, .fn = 6 };
        expect_refusal(ch, NVV_VMGMT_DEASSIGN, &io, eio, ENOENT, 87);
        assert_int_equal(nvv_simvmgmt_vfio(kernel, &vf0, true, err, sizeof(err)), 0);
        io.vf = vf0;
        expect_refusal(ch, NVV_VMGMT_DEASSIGN, &io, eio, EBUSY, 23);
        assert_int_equal(nvv_simvmgmt_vfio(kernel, &vf0, false, err, sizeof(err)), 0);
        if (nvv_channel_vmgmt_call(ch, NVV_VMGMT_DEASSIGN, &io, NULL, err, sizeof(err)) < 0)
                fail_msg("%s", err);

        /* query_properties: an unknown type. */
        memset(&io, 0, sizeof(io));
        io.type_id = 42;
        expect_refusal(ch, NVV_VMGMT_QUERY_PROPERTIES, &io, eio, ENOENT, 87);

        /* query_assigned: a stranger. */
        memset(&io, 0, sizeof(io));
        io.vf = stranger;
        expect_refusal(ch, NVV_VMGMT_QUERY_ASSIGNED, &io, eio, EINVAL, 31);
}

static void test_errors_status_in_reply(void **state)
{
        (void) state;
        error_paths(false);
}

static void test_errors_eio(void **state)
{
        (void) state;
        error_paths(true);
}

/* A description whose numbers are not the kernel's: the kernel says EPERM, and the message
 * says the description does not match. */
static void test_eperm_from_mismatched_description(void **state)
{
        _cleanup_(nvv_vmgmt_freep) struct nvv_vmgmt *other = NULL;
        _cleanup_free_ char *data = NULL, *msg = NULL;
        struct nvv_vmgmt_io io = {};
        struct nvv_vmgmt_result res;
        uint8_t req[64], reply[64];
        size_t size, len = 0, rlen = 0;
        char path[4096], err[512] = "", *p;
        int r;

        (void) state;
        snprintf(path, sizeof(path), "%s/upstream/r000_00.json", test_fwabi_dir());
        assert_int_equal(read_full_file(path, 1 << 20, &data, &size), 0);
        p = strstr(data, "\"0x10000005\"");
        assert_non_null(p);
        memcpy(p, "\"0x10000095\"", 12);
        if (nvv_vmgmt_load_buffer(data, size, "edited", &other, &msg) < 0)
                fail_msg("%s", msg);
        io.vf = (struct nvv_pci_addr) { .bus = 0x41, .fn = 4 };
        assert_int_equal(nvv_vmgmt_encode_request(other, NVV_VMGMT_DEASSIGN, &io, req, sizeof(req), &len, err, sizeof(err)), 0);
        r = nvv_simvmgmt_rpc(kernel, 0, req, len, reply, sizeof(reply), &rlen);
        assert_int_equal(r, -EPERM);
        assert_int_equal(nvv_vmgmt_decode_reply(other, NVV_VMGMT_DEASSIGN, r, NULL, 0, &io, &res, err, sizeof(err)), -EPERM);
        assert_true(res.not_permitted);
        assert_strstr(err, "0x10000095");
        assert_strstr(err, "does not match");
        /* Another scope is EPERM too (fwctl.rs: only RpcScope::Configuration). */
        assert_int_equal(nvv_vmgmt_encode_request(vm, NVV_VMGMT_QUERY_SUPPORTED, &io, req, sizeof(req), &len, err, sizeof(err)), 0);
        assert_int_equal(nvv_simvmgmt_rpc(kernel, 1, req, len, reply, sizeof(reply), &rlen), -EPERM);
}

static void test_malformed_replies(void **state)
{
        struct nvv_vmgmt_io io = {};
        struct nvv_vmgmt_result res;
        uint8_t b[64] = {};
        char err[512];

        (void) state;
        /* Shorter than the header. */
        assert_int_equal(nvv_vmgmt_decode_reply(vm, NVV_VMGMT_DEASSIGN, 0, b, 4, &io, &res, err, sizeof(err)), -EBADMSG);
        /* The echo names another command. */
        le32(b, 0x10000004);
        assert_int_equal(nvv_vmgmt_decode_reply(vm, NVV_VMGMT_DEASSIGN, 0, b, 8, &io, &res, err, sizeof(err)), -EBADMSG);
        assert_strstr(err, "0x10000004");
        /* A payload where none belongs. */
        le32(b, 0x10000005);
        assert_int_equal(nvv_vmgmt_decode_reply(vm, NVV_VMGMT_DEASSIGN, 0, b, 16, &io, &res, err, sizeof(err)), -EBADMSG);
        assert_int_equal(nvv_vmgmt_decode_reply(vm, NVV_VMGMT_DEASSIGN, 0, b, 8, &io, &res, err, sizeof(err)), 0);
        /* A list with a type twice, and one not whole u32s. */
        le32(b, 0x10000002);
        le32(b + 8, 5);
        le32(b + 12, 5);
        assert_int_equal(nvv_vmgmt_decode_reply(vm, NVV_VMGMT_QUERY_SUPPORTED, 0, b, 16, &io, &res, err, sizeof(err)), -EBADMSG);
        assert_int_equal(nvv_vmgmt_decode_reply(vm, NVV_VMGMT_QUERY_SUPPORTED, 0, b, 14, &io, &res, err, sizeof(err)), -EBADMSG);
        /* ... and a list that ends at its first 0. */
        le32(b + 12, 0);
        le32(b + 16, 9);
        assert_int_equal(nvv_vmgmt_decode_reply(vm, NVV_VMGMT_QUERY_SUPPORTED, 0, b, 20, &io, &res, err, sizeof(err)), 0);
        assert_int_equal(io.n_ids, 1);
        /* query_assigned cut short. */
        le32(b, 0x10000007);
        assert_int_equal(nvv_vmgmt_decode_reply(vm, NVV_VMGMT_QUERY_ASSIGNED, 0, b, 14, &io, &res, err, sizeof(err)), -EBADMSG);
        /* Properties without the required fb_length, and of another type than asked. */
        {
                uint8_t pb[1024];
                size_t n = 0;
                struct nvv_vgpu_type t = sample_type(3, 2);

                le32(pb, 0x10000006);
                memset(pb + 4, 0, 4);
                assert_int_equal(nvv_vmgmt_encode_properties(vm, &t, pb + 8, sizeof(pb) - 8, &n), 0);
                io.type_id = 4;
                assert_int_equal(nvv_vmgmt_decode_reply(vm, NVV_VMGMT_QUERY_PROPERTIES, 0, pb, 8 + n, &io, &res, err,
                                                        sizeof(err)), -EBADMSG);
                assert_strstr(err, "type 3");
                io.type_id = 3;
                assert_int_equal(nvv_vmgmt_decode_reply(vm, NVV_VMGMT_QUERY_PROPERTIES, 0, pb, 8 + n, &io, &res, err,
                                                        sizeof(err)), 0);
                /* The last operation is FB_RESERVATION (SEQ64 of one: two words); drop it. */
                assert_int_equal(nvv_vmgmt_decode_reply(vm, NVV_VMGMT_QUERY_PROPERTIES, 0, pb, 8 + n - 16, &io, &res, err,
                                                        sizeof(err)), -EBADMSG);
                assert_strstr(err, "fb_reservation");
        }
        /* A transport error is neither a refusal nor EPERM. */
        assert_int_equal(nvv_vmgmt_decode_reply(vm, NVV_VMGMT_DEASSIGN, -ENODEV, NULL, 0, &io, &res, err, sizeof(err)), -ENODEV);
        assert_false(res.refused || res.not_permitted);
}

/* ---- the managed GPU on a simulated upstream GPU ---- */

static void lifecycle(const char *spec, bool socket)
{
        struct simtest t;
        _cleanup_free_ char *msg = NULL;
        struct nvv_pgpu_options o = {};
        struct nvv_channel *ch = NULL;
        struct nvv_pgpu *g = NULL;
        struct nvv_simvmgmt_state st;
        struct nvv_pgpu_vgpu v;
        const struct nvv_catalog_type *ct;
        bool eio = strstr(spec, "eio") != NULL;
        char *m2 = NULL;
        int r;

        if (simtest_start(&t, spec, NULL, NULL, &msg) < 0)
                fail_msg("simulator: %s", msg);
        if (socket)
                r = nvv_channel_open_sim(t.socket, 0, t.db, &ch, &msg);
        else {
                _cleanup_(nvv_backend_freep) struct nvv_backend *b = NULL;
                struct nvv_backend_gpu *gs = NULL;
                size_t n = 0;

                assert_int_equal(nvv_sim_get_backend(t.sim, &b), 0);
                r = nvv_backend_open_all(b, t.db, &gs, &n, &msg);
                assert_int_equal(r, 0);
                assert_int_equal(n, 1);
                if (!gs[0].channel)
                        fail_msg("%s", gs[0].error_msg);
                ch = TAKE_PTR(gs[0].channel);
                nvv_backend_gpus_free(gs, n);
        }
        if (r < 0)
                fail_msg("%s", msg);
        assert_non_null(nvv_channel_get_vmgmt(ch));
        o.catalog = nvv_sim_get_catalog(t.sim);
        if (nvv_pgpu_new(ch, &o, &g, &msg) < 0)
                fail_msg("%s", msg);
        if (nvv_pgpu_bring_up(g, &msg) < 0)
                fail_msg("bring-up: %s", msg);
        assert_int_equal(nvv_pgpu_get_state(g), NVV_PGPU_READY);
        nvv_simvmgmt_get_state(nvv_sim_get_vmgmt(t.sim, 0), &st);
        assert_true(st.n_types > 0);
        {
                struct nvv_pgpu_init_info ii;

                assert_int_equal(nvv_pgpu_get_init_info(g, &ii), 0);
                assert_int_equal(st.n_types, ii.n_types);
        }

        ct = &nvv_pgpu_get_model(g)->types[1];
        if (nvv_pgpu_create_vgpu(g, ct->type_id, NVV_PLACEMENT_NONE, "5a1c0de5-0000-4000-8000-000000000001", &v, NULL,
                                 &msg) < 0)
                fail_msg("create: %s", msg);
        nvv_simvmgmt_get_state(nvv_sim_get_vmgmt(t.sim, 0), &st);
        assert_int_equal(st.vfs[0].type_id, ct->type_id);
        /* A second one goes to the next VF. */
        if (nvv_pgpu_create_vgpu(g, ct->type_id, NVV_PLACEMENT_NONE, "5a1c0de5-0000-4000-8000-000000000002", &v, NULL,
                                 &msg) < 0)
                fail_msg("create: %s", msg);
        nvv_simvmgmt_get_state(nvv_sim_get_vmgmt(t.sim, 0), &st);
        assert_int_equal(st.vfs[1].type_id, ct->type_id);
        assert_int_equal(nvv_pgpu_count(g), 2);

        /* VM start only checks; the VM's VFIO open boots the instance. */
        if (nvv_pgpu_vm_start(g, "5a1c0de5-0000-4000-8000-000000000001", NULL, &v, &msg) < 0)
                fail_msg("vm start: %s", msg);
        assert_int_equal(v.state, NVV_VGPU_RUNNING);
        assert_int_equal(v.gfid, 1);
        assert_int_equal(nvv_sim_vfio(t.sim, "0000:41:00.4", true, &m2), 0);
        nvv_simvmgmt_get_state(nvv_sim_get_vmgmt(t.sim, 0), &st);
        assert_true(st.vfs[0].booted);
        assert_int_equal(nvv_pgpu_vm_stop(g, "5a1c0de5-0000-4000-8000-000000000001", &msg), 0);
        /* The VF is still open: the firmware refuses the deassign. */
        free(msg);
        msg = NULL;
        r = nvv_pgpu_delete_vgpu(g, "5a1c0de5-0000-4000-8000-000000000001", NULL, &msg);
        assert_int_equal(r, eio ? -EIO : -EBUSY);
        assert_strstr(msg, "0000:41:00.4");
        assert_int_equal(nvv_pgpu_count(g), 2);
        assert_int_equal(nvv_sim_vfio(t.sim, "0000:41:00.4", false, &m2), 0);
        free(msg);
        msg = NULL;
        if (nvv_pgpu_delete_vgpu(g, "5a1c0de5-0000-4000-8000-000000000001", NULL, &msg) < 0)
                fail_msg("delete: %s", msg);
        nvv_simvmgmt_get_state(nvv_sim_get_vmgmt(t.sim, 0), &st);
        assert_int_equal(st.vfs[0].type_id, 0);
        assert_int_equal(st.vfs[1].type_id, ct->type_id);
        assert_int_equal(nvv_pgpu_count(g), 1);

        /* Equal-size: another type is refused by model and firmware alike. */
        {
                struct nvv_pgpu_outcome oc;

                free(msg);
                msg = NULL;
                r = nvv_pgpu_create_vgpu(g, nvv_pgpu_get_model(g)->types[2].type_id, NVV_PLACEMENT_NONE,
                                         "5a1c0de5-0000-4000-8000-000000000003", NULL, &oc, &msg);
                assert_true(r < 0);
                assert_true(oc.sent);
                assert_false(oc.disagreement);
        }
        /* Adopt after a restart: a fresh managed GPU finds the VF by its type. */
        {
                struct nvv_pgpu_known k = { .place = v.place };
                _cleanup_(strv_freep) char **report = NULL;
                struct nvv_pgpu *g2 = NULL;
                struct nvv_channel *ch2 = NULL;

                snprintf(k.place.name, sizeof(k.place.name), "5a1c0de5-0000-4000-8000-000000000002");
                k.place.type_id = ct->type_id;
                if (nvv_pgpu_find_vgpu(g, k.place.name, &v) >= 0)
                        k.place = v.place;
                g = nvv_pgpu_free(g);
                if (socket)
                        assert_int_equal(nvv_channel_open_sim(t.socket, 0, t.db, &ch2, &msg), 0);
                else
                        assert_int_equal(nvv_simvmgmt_open_channel(nvv_sim_get_vmgmt(t.sim, 0),
                                                                   &(struct nvv_channel_info) { .bdf = "0000:41:00.0",
                                                                                                .vendor = 0x10de,
                                                                                                .device = 0x2bb5,
                                                                                                .vf_offset = 4,
                                                                                                .vf_stride = 1 },
                                                                   t.db, &ch2, &msg), 0);
                assert_int_equal(nvv_pgpu_new(ch2, &o, &g2, &msg), 0);
                assert_int_equal(nvv_pgpu_adopt(g2, &k, 1, &report, &msg), 0);
                assert_int_equal(nvv_pgpu_count(g2), 1);
                assert_null(report);
                free(msg);
                msg = NULL;
                assert_int_equal(nvv_pgpu_delete_vgpu(g2, k.place.name, NULL, &msg), 0);
                nvv_simvmgmt_get_state(nvv_sim_get_vmgmt(t.sim, 0), &st);
                assert_int_equal(st.vfs[1].type_id, 0);
                nvv_pgpu_free(g2);
        }
        free(m2);
        simtest_stop(&t);
}

static void test_lifecycle_inproc(void **state)
{
        (void) state;
        lifecycle("RTX-PRO-6000@upstream", false);
}

static void test_lifecycle_socket(void **state)
{
        (void) state;
        lifecycle("RTX-PRO-6000@upstream", true);
}

static void test_lifecycle_eio(void **state)
{
        (void) state;
        lifecycle("RTX-PRO-6000@upstream-eio", false);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_description),
                cmocka_unit_test(test_detect_and_bytes),
                cmocka_unit_test(test_no_description),
                cmocka_unit_test(test_errors_status_in_reply),
                cmocka_unit_test(test_errors_eio),
                cmocka_unit_test(test_eperm_from_mismatched_description),
                cmocka_unit_test(test_malformed_replies),
                cmocka_unit_test(test_lifecycle_inproc),
                cmocka_unit_test(test_lifecycle_socket),
                cmocka_unit_test(test_lifecycle_eio),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
