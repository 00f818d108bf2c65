/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Golden layout tables: every number below is sizeof / offsetof / array length as NVIDIA's
 * open-gpu-kernel-modules headers define them at each release tag, never our own output.
 * Headers (paths in the repository github.com/NVIDIA/open-gpu-kernel-modules):
 *   ctrla081.h        = src/common/sdk/nvidia/inc/ctrl/ctrla081.h
 *   vgpumgrinternal.h = src/common/sdk/nvidia/inc/ctrl/ctrl2080/ctrl2080vgpumgrinternal.h
 *   cla084.h          = src/common/sdk/nvidia/inc/class/cla084.h
 *   ctrla084.h        = src/common/sdk/nvidia/inc/ctrl/ctrla084.h
 *   ctrl0000vgpu.h    = src/common/sdk/nvidia/inc/ctrl/ctrl0000/ctrl0000vgpu.h
 *   ctrl2080fifo.h    = src/common/sdk/nvidia/inc/ctrl/ctrl2080/ctrl2080fifo.h
 *   g_rpc-structures.h, g_rpc-message-header.h = src/nvidia/generated/
 *   message_queue_priv.h = src/nvidia/inc/kernel/gpu/gsp/message_queue_priv.h
 *   rpc_global_enums.h = src/nvidia/kernel/inc/vgpu/ (535, 550), src/nvidia/inc/kernel/vgpu/ (560+)
 *   gsp_fw_heap.h     = src/nvidia/inc/kernel/gpu/gsp/gsp_fw_heap.h
 *   ctrl0080gpu.h     = src/common/sdk/nvidia/inc/ctrl/ctrl0080/ctrl0080gpu.h
 *   rpc_global_enums.h moved to src/nvidia/inc/kernel/vgpu/ at 560.35.03.
 * Tags: 535.113.01, 550.40.07, 560.35.03, 565.77, 570.144, 575.64.05, 580.65.06, 590.48.01, 595.45.04
 * (560, 565, 575 and 590 are the last tags of their branches).
 */
#include "nvv-cmd.h"
#include "testutil.h"

#define NREL 9
static const char *const releases[NREL] = { "535.113.01", "550.40.07", "560.35.03", "565.77", "570.144",
                                            "575.64.05", "580.65.06", "590.48.01", "595.45.04" };
#define ABSENT (-1)
/* Column index of each release in the tables below. */
enum { R535, R550, R560, R565, R570, R575, R580, R590, R595 };

struct size_row {
        const char *header;
        const char *name;
        long size[NREL];
};

/*                                      535     550     560     565     570     575     580     590     595 */
static const struct size_row sizes[] = {
        { "ctrla081.h", "NVA081_CTRL_VGPU_INFO", { 4952, 5088, 5088, 5088, 5224, 5224, 5416, 5424, 5424 } },
        { "vgpumgrinternal.h", "NV2080_CTRL_VGPU_MGR_INTERNAL_PGPU_ADD_VGPU_TYPE_PARAMS",
          { 316936, 325640, 325640, 325640, 334344, 522408, 693256, 694280, 694280 } },
        { "vgpumgrinternal.h", "NV2080_CTRL_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK_PARAMS",
          { 6496, 6520, 6616, 6616, 6616, 6616, 6616, 6616, 6616 } },
        { "cla084.h", "NVA084_ALLOC_PARAMETERS", { 1656, 1664, 1696, 1696, 1696, 88, 88, 88, 88 } },
        { "ctrla084.h", "NVA084_CTRL_KERNEL_HOST_VGPU_DEVICE_BOOTLOAD_VGPU_TASK_PARAMS",
          { ABSENT, ABSENT, ABSENT, 1608, 1608, 1608, 1608, 1608, 1608 } },
        { "g_rpc-structures.h", "rpc_gsp_rm_control_v03_00", { 24, 24, 24, 24, 24, 40, 40, 40, 40 } },
        { "g_rpc-structures.h", "rpc_gsp_rm_alloc_v03_00", { 32, 32, 32, 32, 32, 32, 32, 32, 32 } },
        { "g_rpc-structures.h", "rpc_rc_triggered_v17_02", { 20, 24, 44, 48, 48, 48, 48, 48, 48 } },
        { "g_rpc-message-header.h", "rpc_message_header_v03_00", { 32, 32, 32, 32, 32, 32, 32, 32, 32 } },
        { "ctrl0000vgpu.h", "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS",
          { ABSENT, ABSENT, 32, 32, 40, 40, 40, 40, 40 } },
        { "ctrl0000vgpu.h", "NV0000_CTRL_VGPU_DELETE_DEVICE_PARAMS",
          { ABSENT, ABSENT, 18, 18, 18, 18, 18, 18, 18 } },
        { "ctrl0000vgpu.h", "NV0000_CTRL_VGPU_GET_START_DATA_PARAMS",
          { 1056, 1056, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT } },
        { "vgpumgrinternal.h", "NV2080_CTRL_VGPU_MGR_INTERNAL_ENUMERATE_VGPU_PER_PGPU_PARAMS",
          { 4872, 4872, 4872, 4872, 4872, 4872, 10376, 10376, 10376 } },
        { "vgpumgrinternal.h", "NV2080_CTRL_VGPU_MGR_INTERNAL_FREE_STATES_PARAMS", { ABSENT, 8, 8, 8, 8, 8, 8, 8, 8 } },
        { "vgpumgrinternal.h", "NV2080_CTRL_VGPU_MGR_INTERNAL_SET_VGPU_HETEROGENEOUS_MODE_PARAMS",
          { ABSENT, ABSENT, ABSENT, ABSENT, 1, 1, 1, 1, 1 } },
        { "ctrl0080gpu.h", "NV0080_CTRL_GPU_SET_VGPU_HETEROGENEOUS_MODE_PARAMS", { ABSENT, 1, 1, 1, 1, 8, 8, 8, 8 } },
        { "ctrl2080fifo.h", "NV2080_CTRL_FIFO_OBJSCHED_GET_CAPS_PARAMS", { ABSENT, 44, 44, 44, 44, 44, 44, 44, 44 } },
        { "ctrl2080fifo.h", "NV2080_CTRL_FIFO_OBJSCHED_SET_STATE_PARAMS", { ABSENT, 24, 24, 24, 24, 24, 24, 24, 24 } },
        { "message_queue_priv.h", "GSP_MSG_QUEUE_ELEMENT", { 80, 80, 80, 80, 80, 80, 80, 80, 80 } },
};

struct field_row {
        const char *header;
        const char *sname;
        const char *fname;
        long offset[NREL];
        long count[NREL];
};

#define ONES { 1, 1, 1, 1, 1, 1, 1, 1, 1 }
#define ZEROS { 0, 0, 0, 0, 0, 0, 0, 0, 0 }

static const struct field_row fields[] = {
        { "ctrla081.h", "NVA081_CTRL_VGPU_INFO", "fbLength", { 392, 392, 392, 392, 392, 392, 456, 456, 456 }, ONES },
        { "ctrla081.h", "NVA081_CTRL_VGPU_INFO", "vgpuName", { 4, 4, 4, 4, 4, 4, 4, 4, 4 },
          { 32, 32, 32, 32, 32, 32, 64, 64, 64 } },
        { "ctrla081.h", "NVA081_CTRL_VGPU_INFO", "maxInstance", { 324, 324, 324, 324, 324, 324, 388, 388, 388 }, ONES },
        { "ctrla081.h", "NVA081_CTRL_VGPU_INFO", "gspHeapSize", { 400, 400, 400, 400, 400, 400, 464, 464, 464 }, ONES },
        { "ctrla081.h", "NVA081_CTRL_VGPU_INFO", "multiVgpuSupported",
          { 360, 360, 360, 360, 360, 360, 424, 424, 428 }, ONES },
        { "ctrla081.h", "NVA081_CTRL_VGPU_INFO", "nominalFbRegionSize",
          { ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, 424 }, ONES },
        /* 575.64.05 inserts maxInstancePerGI and grows no wider strings: the struct keeps 570's size. */
        { "ctrla081.h", "NVA081_CTRL_VGPU_INFO", "maxInstancePerGI",
          { ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, 4936, 5000, 5004, 5004 }, ONES },
        { "ctrla081.h", "NVA081_CTRL_VGPU_INFO", "vgpuSsvid",
          { ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, 508, 508 }, ONES },
        { "ctrla081.h", "NVA081_CTRL_VGPU_INFO", "placementIds",
          { ABSENT, 4960, 4960, 4960, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT },
          { 32, 32, 32, 32, 32, 32, 32, 32, 32 } },
        { "ctrla081.h", "NVA081_CTRL_VGPU_INFO", "heterogeneousPlacementIds",
          { ABSENT, ABSENT, ABSENT, ABSENT, 5092, 5096, 5224, 5228, 5228 },
          { 32, 32, 32, 32, 32, 32, 48, 48, 48 } },
        { "vgpumgrinternal.h", "NV2080_CTRL_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK_PARAMS", "chidOffset",
          { 28, 28, 28, 28, 28, 28, 28, 28, 28 }, { 62, 64, 84, 84, 84, 84, 84, 84, 84 } },
        { "vgpumgrinternal.h", "NV2080_CTRL_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK_PARAMS",
          "guestFbPhysAddrList", { 288, 296, 376, 376, 376, 376, 376, 376, 376 },
          { 384, 384, 384, 384, 384, 384, 384, 384, 384 } },
        { "vgpumgrinternal.h", "NV2080_CTRL_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK_PARAMS",
          "kernelLogBuffOffset", { ABSENT, ABSENT, 6576, 6576, 6576, 6576, 6576, 6576, 6576 }, ONES },
        { "vgpumgrinternal.h", "NV2080_CTRL_VGPU_MGR_INTERNAL_PGPU_ADD_VGPU_TYPE_PARAMS", "vgpuInfo",
          { 8, 8, 8, 8, 8, 8, 8, 8, 8 }, { 64, 64, 64, 64, 64, 100, 128, 128, 128 } },
        { "cla084.h", "NVA084_ALLOC_PARAMETERS", "placementId", { ABSENT, 28, 28, 28, 28, 28, 32, 32, 32 }, ONES },
        { "cla084.h", "NVA084_ALLOC_PARAMETERS", "accountingPid",
          { ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, 20, 20, 20 }, ONES },
        { "cla084.h", "NVA084_ALLOC_PARAMETERS", "vgpuDevName",
          { ABSENT, ABSENT, 1608, 1608, 1608, 68, 68, 68, 68 }, { 16, 16, 16, 16, 16, 16, 16, 16, 16 } },
        { "cla084.h", "NVA084_ALLOC_PARAMETERS", "bGpupLiveMigrationEnabled",
          { ABSENT, ABSENT, ABSENT, 1689, 1689, 84, 84, 84, 84 }, ONES },
        { "cla084.h", "NVA084_ALLOC_PARAMETERS", "guestFbHandleList",
          { 64, 72, 72, 72, 72, ABSENT, ABSENT, ABSENT, ABSENT }, { 384, 384, 384, 384, 384, 384, 384, 384, 384 } },
        { "ctrl0000vgpu.h", "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS", "placementId",
          { ABSENT, ABSENT, ABSENT, ABSENT, 36, 36, 36, 36, 36 }, ONES },
        { "ctrl0080gpu.h", "NV0080_CTRL_GPU_SET_VGPU_HETEROGENEOUS_MODE_PARAMS", "gpuInstanceId",
          { ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, 4, 4, 4, 4 }, ONES },
        { "g_rpc-structures.h", "rpc_rc_triggered_v17_02", "gfid",
          { ABSENT, ABSENT, ABSENT, 8, 8, 8, 8, 8, 8 }, ONES },
        { "g_rpc-structures.h", "rpc_gsp_rm_control_v03_00", "params", { 24, 24, 24, 24, 24, 40, 40, 40, 40 }, ZEROS },
        { "g_rpc-message-header.h", "rpc_message_header_v03_00", "rpc_message_data",
          { 32, 32, 32, 32, 32, 32, 32, 32, 32 }, ZEROS },
        { "message_queue_priv.h", "GSP_MSG_QUEUE_ELEMENT", "checkSum", { 32, 32, 32, 32, 32, 32, 32, 32, 32 }, ONES },
        { "message_queue_priv.h", "GSP_MSG_QUEUE_ELEMENT", "rpc", { 48, 48, 48, 48, 48, 48, 48, 48, 48 }, ONES },
};

static struct nvv_fwdb *db;

static int setup(void **state)
{
        db = test_load_db();
        return 0;
}

static int teardown(void **state)
{
        db = nvv_fwdb_free(db);
        return 0;
}

static void test_all_nine_load(void **state)
{
        assert_true(nvv_fwdb_count(db) >= NREL);
        for (int r = 0; r < NREL; r++)
                assert_non_null(nvv_fwdb_find(db, releases[r]));
}

static void test_struct_sizes(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++)
                for (int r = 0; r < NREL; r++) {
                        const struct nvv_fwabi *fw = nvv_fwdb_find(db, releases[r]);
                        const struct nvv_wstruct *s = nvv_fwabi_find_struct(fw, sizes[i].name);

                        if (sizes[i].size[r] == ABSENT) {
                                if (s)
                                        fail_msg("%s %s: should be absent (%s)", releases[r], sizes[i].name, sizes[i].header);
                                continue;
                        }
                        if (!s)
                                fail_msg("%s %s: missing (%s)", releases[r], sizes[i].name, sizes[i].header);
                        if ((long) s->size != sizes[i].size[r])
                                fail_msg("%s %s: size %u, %s says %ld", releases[r], sizes[i].name, s->size,
                                         sizes[i].header, sizes[i].size[r]);
                }
}

static void test_field_offsets(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                for (int r = 0; r < NREL; r++) {
                        const struct nvv_fwabi *fw = nvv_fwdb_find(db, releases[r]);
                        const struct nvv_wstruct *s = nvv_fwabi_find_struct(fw, fields[i].sname);
                        const struct nvv_wfield *f = s ? nvv_wstruct_find_field(s, fields[i].fname) : NULL;

                        if (fields[i].offset[r] == ABSENT) {
                                if (f)
                                        fail_msg("%s %s.%s: should be absent", releases[r], fields[i].sname, fields[i].fname);
                                continue;
                        }
                        if (!f)
                                fail_msg("%s %s.%s: missing (%s)", releases[r], fields[i].sname, fields[i].fname,
                                         fields[i].header);
                        if ((long) f->offset != fields[i].offset[r] || (long) f->count != fields[i].count[r])
                                fail_msg("%s %s.%s: offset %u count %u, %s says %ld / %ld", releases[r],
                                         fields[i].sname, fields[i].fname, f->offset, f->count, fields[i].header,
                                         fields[i].offset[r], fields[i].count[r]);
                }
}

/* The derived queue geometry every release must end up with. */
static void test_queue_geometry(void **state)
{
        /* rmapiRpcFlags, rmctrlFlags, rmctrlAccessRight and reserved0 appear at 575.64.05. */
        static const unsigned ctl_header[NREL] = { 24, 24, 24, 24, 24, 40, 40, 40, 40 };

        for (int r = 0; r < NREL; r++) {
                const struct nvv_fwabi *fw = nvv_fwdb_find(db, releases[r]);

                assert_int_equal(fw->queue.element_size, 4096);               /* RM_PAGE_SIZE */
                assert_int_equal(fw->queue.max_elements, 16);                 /* GSP_MSG_QUEUE_ELEMENT_SIZE_MAX */
                assert_int_equal(fw->queue.el_header_size, 48);               /* NV_OFFSETOF(GSP_MSG_QUEUE_ELEMENT, rpc) */
                assert_int_equal(fw->queue.max_rpc_size, 65536 - 48);         /* GSP_MSG_QUEUE_RPC_SIZE_MAX */
                assert_int_equal(fw->queue.rpc_header_size, 32);
                assert_int_equal(fw->queue.ctl_header_size, ctl_header[r]);
                assert_int_equal(fw->queue.queue_size, 0x40000);              /* message_queue_cpu.c: 256 KB */
                assert_int_equal(fw->queue.signature, 0x43505256);            /* NV_VGPU_MSG_SIGNATURE_VALID */
                assert_int_equal(fw->queue.header_version, 0x03000000);       /* ..._HEADER_VERSION_MAJOR_TOT */
                assert_int_equal(fw->queue.negotiated, r == R595);             /* 595 negotiates geometry at boot */
        }
}

struct num_row {
        bool event;
        const char *name;
        long value[NREL];
};

/* rpc_global_enums.h: functions are append-only; events were renumbered 535 → 550. */
static const struct num_row numbers[] = {
        { false, "CONTINUATION_RECORD", { 71, 71, 71, 71, 71, 71, 71, 71, 71 } },
        { false, "GSP_RM_CONTROL", { 76, 76, 76, 76, 76, 76, 76, 76, 76 } },
        { false, "GSP_RM_ALLOC", { 103, 103, 103, 103, 103, 103, 103, 103, 103 } },
        { false, "CTRL_GPU_QUERY_ECC_STATUS", { ABSENT, 201, 201, 201, 201, 201, 201, 201, 201 } },
        { false, "CTRL_SET_ZBC_STENCIL_CLEAR", { ABSENT, ABSENT, 214, 214, 214, 214, 214, 214, 214 } },
        { false, "CTRL_SUBDEVICE_GET_VGPU_HEAP_STATS", { ABSENT, ABSENT, ABSENT, ABSENT, 215, 215, 215, 215, 215 } },
        /* Retired at 575.64.05 (RESERVED_190 from then on), where SETUP_HIBERNATION_BUFFER takes 223. */
        { false, "SET_SYSMEM_DIRTY_PAGE_TRACKING_BUFFER", { 190, 190, 190, 190, 190, ABSENT, ABSENT, ABSENT, ABSENT } },
        { false, "SETUP_HIBERNATION_BUFFER", { ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, 223, 223, 223, 223 } },
        { false, "CTRL_CMD_INTERNAL_GPU_CHECK_CTS_ID_VALID",
          { ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, 227, 227, 227 } },
        { false, "INIT_GSP_TRACE_CRASH_BUFFER", { ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, 228 } },
        { true, "GSP_INIT_DONE", { 0x1001, 0x1001, 0x1001, 0x1001, 0x1001, 0x1001, 0x1001, 0x1001, 0x1001 } },
        { true, "RC_TRIGGERED", { 0x1004, 0x1004, 0x1004, 0x1004, 0x1004, 0x1004, 0x1004, 0x1004, 0x1004 } },
        { true, "VGPU_GSP_PLUGIN_TRIGGERED", { 0x100d, 0x100d, 0x100d, 0x100d, 0x100d, 0x100d, 0x100d, 0x100d, 0x100d } },
        { true, "GSP_SEND_USER_SHARED_DATA", { 0x101b, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT } },
        { true, "NVLINK_FAULT_UP", { 0x101c, 0x101b, 0x101b, 0x101b, 0x101b, 0x101b, 0x101b, 0x101b, 0x101b } },
        { true, "GSP_LOCKDOWN_NOTICE", { 0x101d, 0x101c, 0x101c, 0x101c, 0x101c, 0x101c, 0x101c, 0x101c, 0x101c } },
        { true, "MIG_CI_CONFIG_UPDATE", { 0x101e, 0x101d, 0x101d, 0x101d, 0x101d, 0x101d, 0x101d, 0x101d, 0x101d } },
        { true, "UPDATE_GSP_TRACE", { ABSENT, 0x101e, 0x101e, 0x101e, 0x101e, 0x101e, 0x101e, 0x101e, 0x101e } },
        { true, "FECS_ERROR", { ABSENT, ABSENT, 0x1021, 0x1021, 0x1021, 0x1021, 0x1021, 0x1021, 0x1021 } },
        { true, "RECOVERY_ACTION", { ABSENT, ABSENT, ABSENT, 0x1022, 0x1022, 0x1022, 0x1022, 0x1022, 0x1022 } },
        { true, "TRIGGER_BUGCHECK", { ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, 0x1023, 0x1023 } },
        { true, "FORCED_DRIVER_SHUTDOWN", { ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, 0x1025, 0x1025 } },
};

static void test_function_and_event_numbers(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(numbers); i++)
                for (int r = 0; r < NREL; r++) {
                        const struct nvv_fwabi *fw = nvv_fwdb_find(db, releases[r]);
                        uint32_t v;
                        int k = numbers[i].event ? nvv_fwabi_event_value(fw, numbers[i].name, &v)
                                                 : nvv_fwabi_function_value(fw, numbers[i].name, &v);

                        if (numbers[i].value[r] == ABSENT) {
                                if (k == 0)
                                        fail_msg("%s %s should be absent", releases[r], numbers[i].name);
                                continue;
                        }
                        if (k < 0 || (long) v != numbers[i].value[r])
                                fail_msg("%s %s: %ld expected (rpc_global_enums.h)", releases[r], numbers[i].name,
                                         numbers[i].value[r]);
                }
}

struct ctl_row {
        const char *name;
        long id[NREL];
};

static const struct ctl_row controls[] = {
        { "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK",
          { 0x20804001, 0x20804001, 0x20804001, 0x20804001, 0x20804001, 0x20804001, 0x20804001, 0x20804001, 0x20804001 } },
        { "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_PGPU_ADD_VGPU_TYPE",
          { 0x20804003, 0x20804003, 0x20804003, 0x20804003, 0x20804003, 0x20804003, 0x20804003, 0x20804003, 0x20804003 } },
        { "NV0000_CTRL_CMD_VGPU_GET_START_DATA", { 0xc01, 0xc01, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT } },
        { "NV0000_CTRL_CMD_VGPU_CREATE_DEVICE", { ABSENT, ABSENT, 0xc02, 0xc02, 0xc02, 0xc02, 0xc02, 0xc02, 0xc02 } },
        { "NV0000_CTRL_CMD_VGPU_DELETE_DEVICE", { ABSENT, ABSENT, 0xc04, 0xc04, 0xc04, 0xc04, 0xc04, 0xc04, 0xc04 } },
        { "NV2080_CTRL_CMD_FIFO_OBJSCHED_SET_STATE",
          { ABSENT, 0x20801121, 0x20801121, 0x20801121, 0x20801121, 0x20801121, 0x20801121, 0x20801121, 0x20801121 } },
        { "NV0080_CTRL_CMD_GPU_SET_VGPU_HETEROGENEOUS_MODE",
          { ABSENT, 0x800297, 0x800297, 0x800297, 0x800297, 0x800297, 0x800297, 0x800297, 0x800297 } },
        { "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_SET_VGPU_HETEROGENEOUS_MODE",
          { ABSENT, ABSENT, ABSENT, ABSENT, 0x2080400e, 0x2080400e, 0x2080400e, 0x2080400e, 0x2080400e } },
        { "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_SET_POWER_STATE",
          { ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, 0x20804010, 0x20804010, 0x20804010 } },
        { "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_FREE_STATES",
          { ABSENT, 0x2080400c, 0x2080400c, 0x2080400c, 0x2080400c, 0x2080400c, 0x2080400c, 0x2080400c, 0x2080400c } },
        { "NVA084_CTRL_CMD_KERNEL_HOST_VGPU_DEVICE_BOOTLOAD_VGPU_TASK",
          { ABSENT, ABSENT, ABSENT, 0xa084010d, 0xa084010d, 0xa084010d, 0xa084010d, 0xa084010d, 0xa084010d } },
        { "NVA084_CTRL_CMD_KERNEL_HOST_VGPU_DEVICE_SET_PLACEMENT_ID",
          { ABSENT, ABSENT, ABSENT, ABSENT, 0xa084010e, 0xa084010e, 0xa084010e, 0xa084010e, 0xa084010e } },
};

static void test_control_ids(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(controls); i++)
                for (int r = 0; r < NREL; r++) {
                        const struct nvv_fwabi *fw = nvv_fwdb_find(db, releases[r]);
                        const struct nvv_control *c = nvv_fwabi_control_by_name(fw, controls[i].name);

                        if (controls[i].id[r] == ABSENT) {
                                if (c)
                                        fail_msg("%s %s should be absent", releases[r], controls[i].name);
                                continue;
                        }
                        if (!c || (long) c->id != controls[i].id[r])
                                fail_msg("%s %s: id 0x%lx expected", releases[r], controls[i].name, controls[i].id[r]);
                }
}

/* gsp_fw_heap.h and ctrla081.h limits. */
static void test_sizing(void **state)
{
        /* GSP_FW_HEAP_SIZE_VGPU_DEFAULT and ..._OVERRIDE_LIBOS3_VGPU_MAX_MB (non-Bullseye branch) */
        static const unsigned heap[NREL] = { 549, 565, 565, 565, 581, 581, 581, 581, 581 };
        static const unsigned heap_max[NREL] = { 1024, 1040, 1040, 1040, 1040, 1040, 1093, 1093, 1093 };
        /* NVA081_MAX_VGPU_PER_PGPU, ..._TYPES_PER_PGPU (0x64 at 575.64.05), ..._PER_GI (575+, 0 = none),
         * ..._PER_PGPU_NON_MIG (580+), NVA081_VGPU_STRING_BUFFER_SIZE, NV2080_GPU_MAX_ENGINES */
        static const unsigned max_vgpu[NREL] = { 32, 32, 32, 32, 32, 32, 48, 48, 48 };
        static const unsigned max_types[NREL] = { 64, 64, 64, 64, 64, 100, 128, 128, 128 };
        static const unsigned per_gi[NREL] = { 0, 0, 0, 0, 0, 12, 12, 12, 12 };
        static const unsigned non_mig[NREL] = { 0, 0, 0, 0, 0, 0, 32, 32, 32 };
        static const unsigned strsize[NREL] = { 32, 32, 32, 32, 32, 32, 64, 64, 64 };
        static const unsigned engines[NREL] = { 0x3e, 0x40, 0x54, 0x54, 0x54, 0x54, 0x54, 0x54, 0x54 };

        for (int r = 0; r < NREL; r++) {
                const struct nvv_fwabi *fw = nvv_fwdb_find(db, releases[r]);

                assert_int_equal(fw->sizing.gsp_fw_heap_vgpu_mb, heap[r]);
                assert_int_equal(fw->sizing.gsp_fw_heap_vgpu_max_mb, heap_max[r]);
                assert_int_equal(fw->sizing.max_vgpu_per_pgpu, max_vgpu[r]);
                assert_int_equal(fw->sizing.max_vgpu_per_gi, per_gi[r]);
                assert_int_equal(fw->sizing.max_vgpu_per_pgpu_non_mig, non_mig[r]);
                assert_int_equal(fw->sizing.max_vgpu_types_per_pgpu, max_types[r]);
                assert_int_equal(fw->sizing.vgpu_string_size, strsize[r]);
                assert_int_equal(fw->sizing.max_engines, engines[r]);
                assert_int_equal(fw->sizing.max_vmmu_segments, 384);
                /* GSP_FW_HEAP_SIZE_VGPU_48VMS appears in 580.65.06 */
                assert_int_equal(fw->sizing.gsp_fw_heap_vgpu_48vms_mb, r >= R580 ? 1370 : 0);
        }
}

/* The GPUs given the 48-VM heap: _is48VmEnabled in kernel_gsp_gb202.c (device, subsystem device). */
static void test_48vm_devices(void **state)
{
        static const char *const d580[] = { "10de:2bb5:10de:204e", "10de:2bb1:10de:204b", NULL };
        static const char *const d595[] = { "10de:2bb5:10de:204e", "10de:2bb1:10de:204b", "10de:2bb5:10de:220b", NULL };
        static const char *const *const devices[NREL] = { NULL, NULL, NULL, NULL, NULL, NULL, d580, d580, d595 };

        for (int r = 0; r < NREL; r++) {
                char **have = nvv_fwdb_find(db, releases[r])->sizing.gsp_fw_heap_48vms_devices;
                size_t n = 0;

                if (!devices[r]) {
                        assert_null(have);
                        continue;
                }
                assert_non_null(have);
                for (; devices[r][n]; n++) {
                        assert_non_null(have[n]);
                        assert_string_equal(have[n], devices[r][n]);
                }
                assert_null(have[n]);
        }
}

/* What each release offers of the stable command set (the table of who has what). */
static void test_command_availability(void **state)
{
        const struct nvv_fwabi *f535 = nvv_fwdb_find(db, "535.113.01"), *f550 = nvv_fwdb_find(db, "550.40.07"),
                               *f570 = nvv_fwdb_find(db, "570.144"), *f580 = nvv_fwdb_find(db, "580.65.06");

        assert_null(nvv_fwabi_command(f535, NVV_CMD_CREATE_DEVICE));
        assert_non_null(nvv_fwabi_command(f535, NVV_CMD_GET_START_DATA));
        assert_null(nvv_fwabi_command(f535, NVV_CMD_SCHED_SET_STATE));
        assert_null(nvv_fwabi_command(f535, NVV_CMD_SET_HETEROGENEOUS_MODE));
        assert_non_null(nvv_fwabi_command(f550, NVV_CMD_SCHED_SET_STATE));
        assert_non_null(nvv_fwabi_command(f550, NVV_CMD_SET_HETEROGENEOUS_MODE));
        assert_string_equal(nvv_fwabi_command(f550, NVV_CMD_SET_HETEROGENEOUS_MODE)->control->name,
                            "NV0080_CTRL_CMD_GPU_SET_VGPU_HETEROGENEOUS_MODE");
        assert_null(nvv_fwabi_command(f550, NVV_CMD_CREATE_DEVICE));
        assert_non_null(nvv_fwabi_command(f570, NVV_CMD_CREATE_DEVICE));
        assert_non_null(nvv_fwabi_command(f570, NVV_CMD_DELETE_DEVICE));
        assert_string_equal(nvv_fwabi_command(f570, NVV_CMD_SET_HETEROGENEOUS_MODE)->control->name,
                            "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_SET_VGPU_HETEROGENEOUS_MODE");
        assert_null(nvv_fwabi_command(f570, NVV_CMD_SET_POWER_STATE));
        assert_non_null(nvv_fwabi_command(f580, NVV_CMD_SET_POWER_STATE));
        /* From 570.144, RM sets a 30 s default around shutdown and cleanup
         * (kernel_hostvgpudeviceapi.c) and waits 1.5 times that for the GSP (kernel_gsp.c). */
        assert_int_equal(nvv_fwabi_command(f570, NVV_CMD_SHUTDOWN_PLUGIN)->timeout_ms, 45000);
        assert_int_equal(nvv_fwabi_command(f580, NVV_CMD_CLEANUP_PLUGIN)->timeout_ms, 45000);
        assert_int_equal(nvv_fwabi_command(f535, NVV_CMD_SHUTDOWN_PLUGIN)->timeout_ms, 30000);
        assert_int_equal(nvv_fwabi_command(f570, NVV_CMD_CREATE_DEVICE)->timeout_ms, 6000);
}

/* The same questions for the releases between those: what each of them offers. */
static void test_command_availability_between(void **state)
{
        const struct nvv_fwabi *f560 = nvv_fwdb_find(db, "560.35.03"), *f565 = nvv_fwdb_find(db, "565.77"),
                               *f575 = nvv_fwdb_find(db, "575.64.05"), *f590 = nvv_fwdb_find(db, "590.48.01");

        /* NV0000_CTRL_CMD_VGPU_CREATE_DEVICE replaced GET_START_DATA before 560.35.03 (ctrl0000vgpu.h). */
        assert_null(nvv_fwabi_command(f560, NVV_CMD_GET_START_DATA));
        assert_non_null(nvv_fwabi_command(f560, NVV_CMD_CREATE_DEVICE));
        assert_non_null(nvv_fwabi_command(f565, NVV_CMD_DELETE_DEVICE));
        /* Until 570.144 the heterogeneous mode goes through the device (ctrl0080gpu.h, 0x800297). */
        assert_string_equal(nvv_fwabi_command(f560, NVV_CMD_SET_HETEROGENEOUS_MODE)->control->name,
                            "NV0080_CTRL_CMD_GPU_SET_VGPU_HETEROGENEOUS_MODE");
        assert_string_equal(nvv_fwabi_command(f565, NVV_CMD_SET_HETEROGENEOUS_MODE)->control->name,
                            "NV0080_CTRL_CMD_GPU_SET_VGPU_HETEROGENEOUS_MODE");
        assert_string_equal(nvv_fwabi_command(f575, NVV_CMD_SET_HETEROGENEOUS_MODE)->control->name,
                            "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_SET_VGPU_HETEROGENEOUS_MODE");
        /* NVA084_CTRL_CMD_KERNEL_HOST_VGPU_DEVICE_SET_PLACEMENT_ID (0xa084010e) is new at 570.144. */
        assert_null(nvv_fwabi_command(f565, NVV_CMD_SET_PLACEMENT_ID));
        assert_non_null(nvv_fwabi_command(f575, NVV_CMD_SET_PLACEMENT_ID));
        /* ..._SET_POWER_STATE (0x20804010) is new at 580.65.06. */
        assert_null(nvv_fwabi_command(f575, NVV_CMD_SET_POWER_STATE));
        assert_non_null(nvv_fwabi_command(f590, NVV_CMD_SET_POWER_STATE));
        /* The 30 s default around shutdown and cleanup (bug 4928590) is not in
         * kernel_hostvgpudeviceapi.c at 560.35.03 or 565.77; it is at 575.64.05 and 590.48.01. */
        assert_int_equal(nvv_fwabi_command(f560, NVV_CMD_SHUTDOWN_PLUGIN)->timeout_ms, 30000);
        assert_int_equal(nvv_fwabi_command(f565, NVV_CMD_CLEANUP_PLUGIN)->timeout_ms, 30000);
        assert_int_equal(nvv_fwabi_command(f575, NVV_CMD_SHUTDOWN_PLUGIN)->timeout_ms, 45000);
        assert_int_equal(nvv_fwabi_command(f590, NVV_CMD_CLEANUP_PLUGIN)->timeout_ms, 45000);
}

/* cla084_notification.h: NVA084_NOTIFIERS_EVENT_UPDATE_GUEST_OS_TYPE (7) first appears at 565.77
 * (NVA084_NOTIFIERS_MAXCOUNT 7 before, 8 from then, 9 at 580.65.06, 10 from 590.48.01). */
static void test_plugin_notify_values(void **state)
{
        for (int r = 0; r < NREL; r++) {
                const struct nvv_domain *d = nvv_fwabi_find_domain(nvv_fwdb_find(db, releases[r]), "plugin_notify");
                bool has_os_type = false;

                assert_non_null(d);
                for (size_t i = 0; i < d->n; i++)
                        if (streq(d->entries[i].name, "guest_os_type")) {
                                assert_int_equal(d->entries[i].value, 7);
                                has_os_type = true;
                        }
                if (has_os_type != (r >= R565))
                        fail_msg("%s: guest_os_type %s", releases[r], has_os_type ? "should be absent" : "missing");
        }
}

/* The bring-up lists. set_power_state is in none: NVIDIA's open driver never sends
 * NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_SET_POWER_STATE (580.65.06, 595.45.04). */
static void test_init_lists(void **state)
{
        static const char *const base[] = { "get_features", "set_vgpu_mgr_config", "add_vgpu_types", NULL };
        static const char *const full[] = { "get_features", "set_vgpu_mgr_config", "add_vgpu_types",
                                            "set_heterogeneous_mode", "sched_get_caps", "sched_set_state", NULL };
        static const char *const *const want[NREL] = { base, full, full, full, full, full, full, full, full };

        for (int r = 0; r < NREL; r++) {
                const struct nvv_fwabi *fw = nvv_fwdb_find(db, releases[r]);
                size_t n = 0;

                for (; want[r][n]; n++) {
                        assert_true(n < fw->n_init);
                        assert_string_equal(nvv_cmd_to_string(fw->init[n]), want[r][n]);
                }
                assert_int_equal(fw->n_init, n);
        }
}

/* resource_list.h, every tag: RS_ENTRY(NVA084_KERNEL_HOST_VGPU_DEVICE, ... Parents
 * RS_LIST(classId(Subdevice))). */
static void test_alloc_parents(void **state)
{
        for (int r = 0; r < NREL; r++) {
                const struct nvv_alloc *a = nvv_fwabi_alloc_by_class(nvv_fwdb_find(db, releases[r]), 0xa084);

                assert_non_null(a);
                assert_string_equal(nvv_object_to_string(a->parent), "subdevice");
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_all_nine_load),
                cmocka_unit_test(test_struct_sizes),
                cmocka_unit_test(test_field_offsets),
                cmocka_unit_test(test_queue_geometry),
                cmocka_unit_test(test_function_and_event_numbers),
                cmocka_unit_test(test_control_ids),
                cmocka_unit_test(test_sizing),
                cmocka_unit_test(test_48vm_devices),
                cmocka_unit_test(test_command_availability),
                cmocka_unit_test(test_command_availability_between),
                cmocka_unit_test(test_plugin_notify_values),
                cmocka_unit_test(test_alloc_parents),
                cmocka_unit_test(test_init_lists),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
