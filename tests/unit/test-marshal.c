/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Byte-exact encodings: the expected bytes are laid out by hand here from NVIDIA's header
 * offsets (ctrl0000vgpu.h, g_rpc-structures.h, g_rpc-message-header.h at each tag), never
 * produced by the marshaller under test.
 */
#include "nvv-cmd.h"
#include "nvv-marshal.h"
#include "nvv-rpc.h"
#include "testutil.h"

static struct nvv_fwdb *db;
static const struct nvv_handles handles = {
        .client = 0xc1d00001, .device = 0xde000001, .subdevice = 0x5d000001,
        .host_vgpu_device = 0xa0840007, .new_object = 0xa0840008,
};
static const uint8_t uuid[16] = { 0x9a, 0x61, 0x7e, 0x4b, 0x2f, 0x33, 0x45, 0x1c,
                                  0x8e, 0x0d, 0x1b, 0xc7, 0x42, 0x6f, 0x11, 0x90 };

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

static const struct nvv_fwabi *rel(const char *r)
{
        const struct nvv_fwabi *fw = nvv_fwdb_find(db, r);

        assert_non_null(fw);
        return fw;
}

/* rpc_message_header_v03_00 as g_rpc-message-header.h lays it out. */
static void expect_rpc_header(uint8_t *e, uint32_t length, uint32_t function, uint32_t seq, uint32_t gfid)
{
        put32(e + 0, 0x03000000);  /* header_version */
        put32(e + 4, 0x43505256);  /* signature 'VRPC' */
        put32(e + 8, length);
        put32(e + 12, function);
        put32(e + 16, 0xffffffff); /* rpc_result: pending */
        put32(e + 20, 0xffffffff); /* rpc_result_private */
        put32(e + 24, seq);
        put32(e + 28, gfid);       /* u.cpuRmGfid */
}

static void create_device_request(struct nvv_cmd_create_device *c)
{
        memset(c, 0, sizeof(*c));
        memcpy(c->vgpu_name, uuid, 16);
        c->gpu_pci_id = 0x26b910de;
        c->gpu_pci_bdf = 0x00000300;
        c->type_id = 1155;
}

static void test_create_device_570(void **state)
{
        struct nvv_cmd_create_device c;
        uint8_t buf[256], exp[96] = { 0 };
        size_t len;
        char err[256];

        create_device_request(&c);
        assert_int_equal(nvv_rpc_encode_command(rel("570.144"), NVV_CMD_CREATE_DEVICE, &c, &handles, 7, 0, buf,
                                                sizeof(buf), &len, err, sizeof(err)), 0);
        assert_int_equal(len, 32 + 24 + 40);
        expect_rpc_header(exp, 96, 76, 7, 0);
        /* rpc_gsp_rm_control_v03_00 (570.144): hClient, hObject, cmd, status, paramsSize, flags */
        put32(exp + 32, 0xc1d00001);
        put32(exp + 36, 0xc1d00001); /* an NV0000 control targets the client itself */
        put32(exp + 40, 0xc02);      /* NV0000_CTRL_CMD_VGPU_CREATE_DEVICE */
        put32(exp + 48, 40);
        /* NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS: vgpuName[16]@0 gpuPciId@16 gpuPciBdf@20 vgpuTypeId@24 */
        memcpy(exp + 56, uuid, 16);
        put32(exp + 56 + 16, 0x26b910de);
        put32(exp + 56 + 20, 0x300);
        put32(exp + 56 + 24, 1155);
        assert_memory_equal(buf, exp, sizeof(exp));
}

static void test_create_device_580(void **state)
{
        struct nvv_cmd_create_device c;
        uint8_t buf[256], exp[112] = { 0 };
        size_t len;
        char err[256];

        create_device_request(&c);
        assert_int_equal(nvv_rpc_encode_command(rel("580.65.06"), NVV_CMD_CREATE_DEVICE, &c, &handles, 9, 0, buf,
                                                sizeof(buf), &len, err, sizeof(err)), 0);
        assert_int_equal(len, 32 + 40 + 40);
        expect_rpc_header(exp, 112, 76, 9, 0);
        /* 575+: hClient, hObject, cmd, status, paramsSize, rmapiRpcFlags, rmctrlFlags,
         * rmctrlAccessRight, reserved0 (u64) — the params move by 16 bytes. */
        put32(exp + 32, 0xc1d00001);
        put32(exp + 36, 0xc1d00001);
        put32(exp + 40, 0xc02);
        put32(exp + 48, 40);
        memcpy(exp + 72, uuid, 16);
        put32(exp + 72 + 16, 0x26b910de);
        put32(exp + 72 + 20, 0x300);
        put32(exp + 72 + 24, 1155);
        assert_memory_equal(buf, exp, sizeof(exp));
}

static void test_reply_decode(void **state)
{
        const struct nvv_fwabi *fw = rel("570.144");
        struct nvv_cmd_create_device c, out;
        uint8_t buf[256], bad[256];
        uint32_t fw_status = 0;
        size_t len;
        char err[256];

        create_device_request(&c);
        assert_int_equal(nvv_rpc_encode_command(fw, NVV_CMD_CREATE_DEVICE, &c, &handles, 11, 0, buf, sizeof(buf), &len,
                                                err, sizeof(err)), 0);
        /* The firmware answers in place: rpc_result 0, vgpuId@28 (u16), placementId@36. */
        put32(buf + 16, 0);
        put16(buf + 56 + 28, 3);
        put32(buf + 56 + 36, 24);
        assert_int_equal(nvv_rpc_decode_reply(fw, NVV_CMD_CREATE_DEVICE, buf, len, 11, &out, &fw_status, err,
                                              sizeof(err)), 0);
        assert_int_equal(out.vgpu_id, 3);
        assert_int_equal(out.placement_id, 24);
        assert_int_equal(out.type_id, 1155);
        assert_memory_equal(out.vgpu_name, uuid, 16);

        /* Control status NV_ERR_INSUFFICIENT_RESOURCES (0x1a) → -ENOSPC, named. */
        memcpy(bad, buf, len);
        put32(bad + 32 + 12, 0x1a);
        assert_int_equal(nvv_rpc_decode_reply(fw, NVV_CMD_CREATE_DEVICE, bad, len, 11, &out, &fw_status, err,
                                              sizeof(err)), -ENOSPC);
        assert_int_equal(fw_status, 0x1a);
        assert_strstr(err, "firmware 570.144 refused 'create_device': NV_ERR_INSUFFICIENT_RESOURCES (0x1a)");

        /* Transport status NV_ERR_NOT_SUPPORTED (0x56) in rpc_result. */
        memcpy(bad, buf, len);
        put32(bad + 16, 0x56);
        assert_int_equal(nvv_rpc_decode_reply(fw, NVV_CMD_CREATE_DEVICE, bad, len, 11, &out, &fw_status, err,
                                              sizeof(err)), -EOPNOTSUPP);

        /* Wrong sequence, wrong control, truncation, bad signature, lying params size. */
        assert_int_equal(nvv_rpc_decode_reply(fw, NVV_CMD_CREATE_DEVICE, buf, len, 12, &out, NULL, err, sizeof(err)),
                         -EPROTO);
        assert_strstr(err, "reply sequence 11 does not match request 12");
        memcpy(bad, buf, len);
        put32(bad + 40, 0xc04);
        assert_int_equal(nvv_rpc_decode_reply(fw, NVV_CMD_CREATE_DEVICE, bad, len, 11, &out, NULL, err, sizeof(err)),
                         -EPROTO);
        assert_strstr(err, "reply carries control 0xc04, expected 0xc02");
        assert_int_equal(nvv_rpc_decode_reply(fw, NVV_CMD_CREATE_DEVICE, buf, 60, 11, &out, NULL, err, sizeof(err)),
                         -EBADMSG);
        memcpy(bad, buf, len);
        put32(bad + 4, 0xdeadbeef);
        assert_int_equal(nvv_rpc_decode_reply(fw, NVV_CMD_CREATE_DEVICE, bad, len, 11, &out, NULL, err, sizeof(err)),
                         -EBADMSG);
        assert_strstr(err, "bad RPC signature 0xdeadbeef");
        memcpy(bad, buf, len);
        put32(bad + 48, 4000);
        assert_int_equal(nvv_rpc_decode_reply(fw, NVV_CMD_CREATE_DEVICE, bad, len, 11, &out, NULL, err, sizeof(err)),
                         -EBADMSG);
        memcpy(bad, buf, len);
        put32(bad + 12, 103);
        assert_int_equal(nvv_rpc_decode_reply(fw, NVV_CMD_CREATE_DEVICE, bad, len, 11, &out, NULL, err, sizeof(err)),
                         -EPROTO);
        assert_strstr(err, "carries function 103 (GSP_RM_ALLOC)");
}

static void test_not_supported(void **state)
{
        struct nvv_cmd_create_device c;
        uint8_t buf[256];
        size_t len;
        char err[256];

        create_device_request(&c);
        assert_int_equal(nvv_rpc_encode_command(rel("535.113.01"), NVV_CMD_CREATE_DEVICE, &c, &handles, 1, 0, buf,
                                                sizeof(buf), &len, err, sizeof(err)), -EOPNOTSUPP);
        assert_string_equal(err, "'create_device' is not supported by firmware 535.113.01");
}

static void test_value_must_fit(void **state)
{
        _cleanup_free_ struct nvv_cmd_alloc_host_vgpu *a = calloc(1, sizeof(*a));
        struct nvv_cmd_create_device c;
        uint8_t buf[4096];
        size_t len;
        char err[256];

        a->placement_id = 70000; /* NVA084_ALLOC_PARAMETERS.placementId is NvU16 */
        assert_int_equal(nvv_rpc_encode_command(rel("570.144"), NVV_CMD_ALLOC_HOST_VGPU, a, &handles, 1, 0, buf,
                                                sizeof(buf), &len, err, sizeof(err)), -ERANGE);
        assert_strstr(err, "'placement_id' value 70000 does not fit the 2-byte 'placementId' of firmware 570.144");

        /* Output fields are the firmware's to fill: a request leaves them zero whatever they hold. */
        create_device_request(&c);
        c.vgpu_id = 70000;
        c.placement_id = 5;
        assert_int_equal(nvv_rpc_encode_command(rel("570.144"), NVV_CMD_CREATE_DEVICE, &c, &handles, 1, 0, buf,
                                                sizeof(buf), &len, err, sizeof(err)), 0);
        assert_int_equal(get32(buf + 56 + 28), 0);
        assert_int_equal(get32(buf + 56 + 36), 0);
}

static struct nvv_cmd_add_vgpu_types *two_types(const char *name0)
{
        struct nvv_cmd_add_vgpu_types *t = calloc(1, sizeof(*t));

        assert_non_null(t);
        t->discard = true;
        t->count = 2;
        t->types[0].type_id = 1152;
        snprintf(t->types[0].name, sizeof(t->types[0].name), "%s", name0);
        t->types[0].fb_length = 8ull << 30;
        t->types[0].max_instance = 6;
        t->types[0].placement_size = 8;
        t->types[0].heterogeneous_placement_count = 3;
        t->types[0].heterogeneous_placement_ids[0] = 0;
        t->types[0].heterogeneous_placement_ids[1] = 8;
        t->types[0].heterogeneous_placement_ids[2] = 16;
        t->types[1].type_id = 1155;
        snprintf(t->types[1].name, sizeof(t->types[1].name), "NVIDIA L40S-24Q");
        t->types[1].fb_length = 24ull << 30;
        t->types[1].max_instance = 2;
        t->types[1].nominal_fb_region_size = 77;
        return t;
}

static void test_string_widths(void **state)
{
        /* 40 characters: fits 580.65.06's vgpuName[64], not 535.113.01's vgpuName[32]. */
        const char *longname = "NVIDIA L40S-8Q with a rather long suffix";
        _cleanup_free_ struct nvv_cmd_add_vgpu_types *t = two_types(longname);
        const struct nvv_fwabi *f535 = rel("535.113.01"), *f580 = rel("580.65.06"), *f595 = rel("595.45.04");
        size_t cap = 1u << 20, len;
        _cleanup_free_ uint8_t *buf = malloc(cap);
        const uint8_t *p;
        char err[256];

        assert_int_equal(strlen(longname), 40);
        assert_int_equal(nvv_rpc_encode_command(f535, NVV_CMD_ADD_VGPU_TYPES, t, &handles, 1, 0, buf, cap, &len, err,
                                                sizeof(err)), -ENAMETOOLONG);
        assert_strstr(err, "'name' is 40 bytes; firmware 535.113.01 holds 31 in 'vgpuName'");

        assert_int_equal(nvv_rpc_encode_command(f580, NVV_CMD_ADD_VGPU_TYPES, t, &handles, 1, 0, buf, cap, &len, err,
                                                sizeof(err)), 0);
        assert_int_equal(len, 32 + 40 + 693256);
        p = buf + 72; /* NV2080_CTRL_VGPU_MGR_INTERNAL_PGPU_ADD_VGPU_TYPE_PARAMS */
        assert_int_equal(p[0], 1);          /* discardVgpuTypes */
        assert_int_equal(get32(p + 4), 2);  /* vgpuInfoCount */
        /* vgpuInfo[0] at 8: vgpuType@0, vgpuName@4 (64 bytes in 580), fbLength@456 */
        assert_int_equal(get32(p + 8), 1152);
        assert_memory_equal(p + 8 + 4, longname, 41);
        assert_int_equal(get32(p + 8 + 456 + 4), 2); /* 8 GiB = 0x2_0000_0000: high word 2 */
        /* heterogeneousPlacementCount@5220, heterogeneousPlacementIds@5224 in 580 */
        assert_int_equal(get32(p + 8 + 5220), 3);
        assert_int_equal(get32(p + 8 + 5224 + 8), 16);
        /* vgpuInfo[1] starts at 8 + 5416 */
        assert_int_equal(get32(p + 8 + 5416), 1155);
        assert_int_equal(get32(p + 8 + 5416 + 456 + 4), 6); /* 24 GiB */

        /* 595: nominalFbRegionSize@424 exists and moved the rest by 4; 580 drops it. */
        assert_int_equal(nvv_rpc_encode_command(f595, NVV_CMD_ADD_VGPU_TYPES, t, &handles, 1, 0, buf, cap, &len, err,
                                                sizeof(err)), 0);
        assert_int_equal(len, 32 + 40 + 694280);
        p = buf + 72 + 8 + 5424;
        assert_int_equal(get32(p), 1155);
        assert_int_equal(get32(p + 424), 77);
        assert_int_equal(get32(p + 456 + 4), 6);
}

static void test_too_many_types(void **state)
{
        _cleanup_free_ struct nvv_cmd_add_vgpu_types *t = two_types("A");
        size_t cap = 1u << 20, len;
        _cleanup_free_ uint8_t *buf = malloc(cap);
        char err[256];

        t->count = 100; /* 535.113.01 holds NVA081_MAX_VGPU_TYPES_PER_PGPU = 64 */
        assert_int_equal(nvv_rpc_encode_command(rel("535.113.01"), NVV_CMD_ADD_VGPU_TYPES, t, &handles, 1, 0, buf, cap,
                                                &len, err, sizeof(err)), -E2BIG);
        assert_strstr(err, "'types' has 100 entries; firmware 535.113.01 holds at most 64 in 'vgpuInfo'");
        t->count = 129; /* more than the stable struct holds */
        assert_int_equal(nvv_rpc_encode_command(rel("580.65.06"), NVV_CMD_ADD_VGPU_TYPES, t, &handles, 1, 0, buf, cap,
                                                &len, err, sizeof(err)), -EINVAL);
}

static void test_array_lengths(void **state)
{
        _cleanup_free_ struct nvv_cmd_bootload_plugin *b = calloc(1, sizeof(*b));
        uint8_t buf[8192];
        size_t len;
        char err[256];
        const uint8_t *p;

        b->gfid = 2;
        b->chid_offset[70] = 512; /* engine 70: beyond 535's NV2080_GPU_MAX_ENGINES (0x3e) */
        b->fb_segment_count = 2;
        b->fb_segment_addr[0] = 0x100000000ull;
        b->fb_segment_addr[1] = 0x300000000ull;
        b->fb_segment_len[0] = 0x40000000ull;
        b->fb_segment_len[1] = 0x80000000ull;
        b->fb_segment_addr[2] = 0xdead; /* beyond the count: must not reach the wire */
        b->kernel_log_size = 4096;      /* 570+ only: dropped for 535 */
        assert_int_equal(nvv_rpc_encode_command(rel("535.113.01"), NVV_CMD_BOOTLOAD_PLUGIN, b, &handles, 1, 2, buf,
                                                sizeof(buf), &len, err, sizeof(err)), -E2BIG);
        assert_strstr(err, "'chid_offset'[70] is set; firmware 535.113.01 holds 62 entries in 'chidOffset'");

        assert_int_equal(nvv_rpc_encode_command(rel("570.144"), NVV_CMD_BOOTLOAD_PLUGIN, b, &handles, 1, 2, buf,
                                                sizeof(buf), &len, err, sizeof(err)), 0);
        assert_int_equal(len, 32 + 24 + 6616);
        assert_int_equal(get32(buf + 28), 2); /* gfid in the RPC header */
        p = buf + 56;
        assert_int_equal(get32(p + 4), 2);             /* gfid */
        assert_int_equal(get32(p + 28 + 70 * 4), 512); /* chidOffset[70] */
        assert_int_equal(get32(p + 368), 2);           /* numGuestFbSegments */
        assert_int_equal(get32(p + 376 + 8 + 4), 3);   /* guestFbPhysAddrList[1] high word */
        assert_int_equal(get32(p + 376 + 16), 0);      /* [2] stays zero */
        assert_int_equal(get32(p + 3448 + 8 + 0), 0x80000000u); /* guestFbLengthList[1] */
        assert_int_equal(get32(p + 6584), 4096);       /* kernelLogBuffSize */

        b->chid_offset[70] = 0;
        b->fb_segment_count = 385;
        assert_int_equal(nvv_rpc_encode_command(rel("570.144"), NVV_CMD_BOOTLOAD_PLUGIN, b, &handles, 1, 2, buf,
                                                sizeof(buf), &len, err, sizeof(err)), -EINVAL);
        assert_strstr(err, "'fb_segment_addr' claims 385 entries but holds 384");
}

static void test_enum_translation(void **state)
{
        const struct nvv_fwabi *fw = rel("570.144");
        const struct nvv_binding *b = nvv_fwabi_command(fw, NVV_CMD_SCHED_SET_STATE);
        struct nvv_cmd_sched_state s = { .engine_id = 1, .policy = NVV_SCHED_FIXED_SHARE, .arr = NVV_ARR_ENABLE,
                                         .timeslice_ns = 2000000 };
        uint8_t w[24];
        char err[256];

        assert_int_equal(nvv_wplan_encode(b->plan, &s, w, sizeof(w), 0, err, sizeof(err)), 0);
        /* ctrl2080fifo.h: POLICY_FIXED_SHARE 4, ARR_ENABLE 2; engineId@0 schedPolicy@4 enableArr@8 */
        assert_int_equal(get32(w + 4), 4);
        assert_int_equal(get32(w + 8), 2);
        assert_int_equal(get32(w + 12), 2000000);

        b = nvv_fwabi_command(fw, NVV_CMD_SCHED_GET_STATE);
        memset(w, 0, sizeof(w));
        put32(w + 4, 3); /* EQUAL_SHARE */
        put32(w + 8, 1); /* DISABLE */
        assert_int_equal(nvv_wplan_decode(b->plan, w, 20, &s, err, sizeof(err)), 0);
        assert_int_equal(s.policy, NVV_SCHED_EQUAL_SHARE);
        assert_int_equal(s.arr, NVV_ARR_DISABLE);
        put32(w + 4, 99); /* a value the release does not name */
        assert_int_equal(nvv_wplan_decode(b->plan, w, 20, &s, err, sizeof(err)), 0);
        assert_int_equal(s.policy, NVV_SCHED_UNKNOWN);
}

static void test_defaults_for_absent_fields(void **state)
{
        const struct nvv_binding *b = nvv_fwabi_command(rel("535.113.01"), NVV_CMD_ALLOC_HOST_VGPU);
        _cleanup_free_ uint8_t *w = calloc(1, 1656);
        struct nvv_cmd_alloc_host_vgpu a;
        char err[256];

        /* 535.113.01's NVA084_ALLOC_PARAMETERS has no placementId: decode yields "none". */
        assert_false(nvv_wplan_has_field(b->plan, "placement_id"));
        put32(w + 4, 5); /* gfid */
        assert_int_equal(nvv_wplan_decode(b->plan, w, 1656, &a, err, sizeof(err)), 0);
        assert_int_equal(a.gfid, 5);
        assert_int_equal(a.placement_id, NVV_PLACEMENT_NONE);
        assert_int_equal(a.accounting_pid, 0);
}

static void test_alloc_encoding(void **state)
{
        _cleanup_free_ struct nvv_cmd_alloc_host_vgpu *a = calloc(1, sizeof(*a));
        uint8_t buf[4096];
        size_t len;
        char err[256];

        a->dbdf = 0x300;
        a->gfid = 1;
        a->type_id = 1152;
        a->placement_id = 8;
        a->fb_handle_count = 1; /* 580's allocation carries no FB handles: dropped */
        a->fb_handles[0] = 0xfb000001;
        memcpy(a->vgpu_dev_name, uuid, 16);
        assert_int_equal(nvv_rpc_encode_command(rel("580.65.06"), NVV_CMD_ALLOC_HOST_VGPU, a, &handles, 4, 1, buf,
                                                sizeof(buf), &len, err, sizeof(err)), 0);
        assert_int_equal(len, 32 + 32 + 88);
        assert_int_equal(get32(buf + 12), 103);                 /* GSP_RM_ALLOC */
        /* rpc_gsp_rm_alloc_v03_00: hClient, hParent, hObject, hClass, status, paramsSize, flags, reserved[4] */
        assert_int_equal(get32(buf + 32), 0xc1d00001);
        /* parent: the subdevice (resource_list.h lists Subdevice as NVA084's only parent) */
        assert_int_equal(get32(buf + 36), 0x5d000001);
        assert_int_equal(get32(buf + 40), 0xa0840008);
        assert_int_equal(get32(buf + 44), 0xa084);             /* NVA084_KERNEL_HOST_VGPU_DEVICE */
        assert_int_equal(get32(buf + 52), 88);
        /* NVA084_ALLOC_PARAMETERS (580): placementId u16 @32, vgpuDevName @68 */
        assert_int_equal(buf[64 + 32], 8);
        assert_memory_equal(buf + 64 + 68, uuid, 16);
}

static void test_request_roundtrip(void **state)
{
        const struct nvv_fwabi *fw = rel("595.45.04");
        struct nvv_cmd_create_device c, seen, out;
        struct nvv_rpc_request req;
        uint8_t buf[256], reply[256];
        size_t len, rlen;
        char err[256];

        create_device_request(&c);
        assert_int_equal(nvv_rpc_encode_command(fw, NVV_CMD_CREATE_DEVICE, &c, &handles, 21, 0, buf, sizeof(buf), &len,
                                                err, sizeof(err)), 0);
        /* The firmware side sees the same command... */
        assert_int_equal(nvv_rpc_parse_request(fw, buf, len, &req, &seen, err, sizeof(err)), 0);
        assert_int_equal(req.cmd, NVV_CMD_CREATE_DEVICE);
        assert_int_equal(req.control_id, 0xc02);
        assert_int_equal(req.client, handles.client);
        assert_int_equal(seen.type_id, 1155);
        assert_memory_equal(seen.vgpu_name, uuid, 16);
        /* ...answers it... */
        seen.vgpu_id = 4;
        seen.placement_id = 32;
        assert_int_equal(nvv_rpc_encode_reply(fw, buf, len, &req, &seen, 0, 0, reply, sizeof(reply), &rlen, err,
                                              sizeof(err)), 0);
        /* ...and the manager reads the answer. */
        assert_int_equal(nvv_rpc_decode_reply(fw, NVV_CMD_CREATE_DEVICE, reply, rlen, 21, &out, NULL, err, sizeof(err)), 0);
        assert_int_equal(out.vgpu_id, 4);
        assert_int_equal(out.placement_id, 32);
}

static void test_unknown_control_request(void **state)
{
        const struct nvv_fwabi *fw = rel("570.144");
        struct nvv_cmd_create_device c;
        struct nvv_rpc_request req;
        uint8_t buf[256];
        size_t len;
        char err[256];

        create_device_request(&c);
        assert_int_equal(nvv_rpc_encode_command(fw, NVV_CMD_CREATE_DEVICE, &c, &handles, 1, 0, buf, sizeof(buf), &len,
                                                err, sizeof(err)), 0);
        put32(buf + 40, 0x20800aaa); /* a control the description does not know */
        assert_int_equal(nvv_rpc_parse_request(fw, buf, len, &req, NULL, err, sizeof(err)), 0);
        assert_int_equal(req.cmd, -ENOENT);
        assert_int_equal(req.control_id, 0x20800aaa);
        put32(buf + 48, 1000); /* params size beyond the message */
        assert_int_equal(nvv_rpc_parse_request(fw, buf, len, &req, NULL, err, sizeof(err)), -EBADMSG);
}

/* RM FREE: an RPC function of its own, rpc_free_v03_00 { NVOS00_PARAMETERS_v03_00 params
 * { hRoot, hObjectParent, hObjectOld, status } } (g_rpc-structures.h, g_sdk-structures.h). */
static void test_free_function(void **state)
{
        const struct nvv_fwabi *fw = rel("535.113.01");
        struct nvv_cmd_free_object f = { .client = 0xc1d00001, .parent = 0x5d000001, .object = 0xa0840008 }, seen;
        struct nvv_rpc_request req;
        uint8_t buf[128], reply[128];
        size_t len, rlen;
        char err[256];

        assert_int_equal(nvv_rpc_encode_command(fw, NVV_CMD_FREE_OBJECT, &f, &handles, 3, 1, buf, sizeof(buf), &len,
                                                err, sizeof(err)), 0);
        assert_int_equal(len, 32 + 16);
        assert_int_equal(get32(buf + 12), 10); /* NV_VGPU_MSG_FUNCTION_FREE */
        assert_int_equal(get32(buf + 32), 0xc1d00001);
        assert_int_equal(get32(buf + 36), 0x5d000001);
        assert_int_equal(get32(buf + 40), 0xa0840008);
        assert_int_equal(nvv_rpc_parse_request(fw, buf, len, &req, &seen, err, sizeof(err)), 0);
        assert_int_equal(req.cmd, NVV_CMD_FREE_OBJECT);
        assert_true(req.is_function);
        assert_int_equal(seen.object, 0xa0840008);
        assert_int_equal(nvv_rpc_encode_reply(fw, buf, len, &req, NULL, 0, 0, reply, sizeof(reply), &rlen, err,
                                              sizeof(err)), 0);
        assert_int_equal(nvv_rpc_decode_reply(fw, NVV_CMD_FREE_OBJECT, reply, rlen, 3, &seen, NULL, err, sizeof(err)), 0);
        put32(reply + 16, 0x57); /* NV_ERR_OBJECT_NOT_FOUND */
        assert_int_equal(nvv_rpc_decode_reply(fw, NVV_CMD_FREE_OBJECT, reply, rlen, 3, &seen, NULL, err, sizeof(err)),
                         -ENOENT);
}

static void test_events(void **state)
{
        for (size_t i = 0; i < nvv_fwdb_count(db); i++) {
                const struct nvv_fwabi *fw = nvv_fwdb_get(db, i);
                struct nvv_event_plugin ev = { .gfid = 3, .notify = NVV_NOTIFY_CRASHED }, got;
                uint8_t buf[128];
                size_t len;
                int event;
                uint32_t number;
                char err[256];

                assert_int_equal(nvv_rpc_encode_event(fw, NVV_EVENT_PLUGIN, &ev, 5, buf, sizeof(buf), &len, err,
                                                      sizeof(err)), 0);
                /* NV_VGPU_MSG_EVENT_VGPU_GSP_PLUGIN_TRIGGERED 0x100d; rpc_vgpu_gsp_plugin_triggered_v17_00
                 * {gfid, notifyIndex}; NVA084_NOTIFIERS_EVENT_VGPU_PLUGIN_TASK_CRASHED = 2 */
                assert_int_equal(len, 40);
                assert_int_equal(get32(buf + 12), 0x100d);
                assert_int_equal(get32(buf + 32), 3);
                assert_int_equal(get32(buf + 36), 2);
                assert_int_equal(nvv_rpc_decode_event(fw, buf, len, &event, &number, &got, err, sizeof(err)), 0);
                assert_int_equal(event, NVV_EVENT_PLUGIN);
                assert_int_equal(got.notify, NVV_NOTIFY_CRASHED);
                assert_int_equal(got.gfid, 3);
        }
}

/* cla084_notification.h: 0-6 at 535.113.01 and 550.40.07, NVA084_NOTIFIERS_EVENT_UPDATE_GUEST_OS_TYPE
 * (7) from 570.144 on. A 7 from a 550 firmware is no notification we know. */
static void test_guest_os_type_notify(void **state)
{
        static const struct {
                const char *release;
                uint32_t decoded;
        } rows[] = {
                { "535.113.01", NVV_NOTIFY_UNKNOWN }, { "550.40.07", NVV_NOTIFY_UNKNOWN },
                { "570.144", NVV_NOTIFY_GUEST_OS_TYPE }, { "580.65.06", NVV_NOTIFY_GUEST_OS_TYPE },
                { "595.45.04", NVV_NOTIFY_GUEST_OS_TYPE },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                const struct nvv_fwabi *fw = rel(rows[i].release);
                struct nvv_event_plugin ev = { .gfid = 2, .notify = NVV_NOTIFY_GUEST_OS_TYPE }, got;
                uint8_t buf[128];
                size_t len;
                int event, r;
                uint32_t number;
                char err[256];

                r = nvv_rpc_encode_event(fw, NVV_EVENT_PLUGIN, &ev, 5, buf, sizeof(buf), &len, err, sizeof(err));
                if (rows[i].decoded == NVV_NOTIFY_UNKNOWN) {
                        assert_int_equal(r, -EOPNOTSUPP);
                        assert_strstr(err, "has no encoding in firmware");
                        ev.notify = NVV_NOTIFY_CRASHED;
                        assert_int_equal(nvv_rpc_encode_event(fw, NVV_EVENT_PLUGIN, &ev, 5, buf, sizeof(buf), &len, err,
                                                              sizeof(err)), 0);
                        put32(buf + 36, 7); /* notifyIndex */
                } else {
                        assert_int_equal(r, 0);
                        assert_int_equal(get32(buf + 36), 7);
                }
                assert_int_equal(nvv_rpc_decode_event(fw, buf, len, &event, &number, &got, err, sizeof(err)), 0);
                assert_int_equal(event, NVV_EVENT_PLUGIN);
                assert_int_equal(got.notify, rows[i].decoded);
                assert_string_equal(nvv_plugin_notify_names[got.notify],
                                    rows[i].decoded == NVV_NOTIFY_UNKNOWN ? "unknown" : "guest_os_type");
        }
}

static void test_event_renumbering(void **state)
{
        /* NVLINK_FAULT_UP is 0x101c in 535.113.01 and 0x101b from 550.40.07; neither maps to a
         * stable event, and 0x101b in 535 is GSP_SEND_USER_SHARED_DATA. */
        const struct nvv_fwabi *f535 = rel("535.113.01"), *f550 = rel("550.40.07");

        assert_string_equal(nvv_fwabi_event_name(f535, 0x101b), "GSP_SEND_USER_SHARED_DATA");
        assert_string_equal(nvv_fwabi_event_name(f550, 0x101b), "NVLINK_FAULT_UP");
        assert_string_equal(nvv_fwabi_event_name(f535, 0x101c), "NVLINK_FAULT_UP");
        assert_true(nvv_rpc_is_event(f550, 0x101b));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_create_device_570),
                cmocka_unit_test(test_create_device_580),
                cmocka_unit_test(test_reply_decode),
                cmocka_unit_test(test_not_supported),
                cmocka_unit_test(test_value_must_fit),
                cmocka_unit_test(test_string_widths),
                cmocka_unit_test(test_too_many_types),
                cmocka_unit_test(test_array_lengths),
                cmocka_unit_test(test_enum_translation),
                cmocka_unit_test(test_defaults_for_absent_fields),
                cmocka_unit_test(test_alloc_encoding),
                cmocka_unit_test(test_request_roundtrip),
                cmocka_unit_test(test_unknown_control_request),
                cmocka_unit_test(test_free_function),
                cmocka_unit_test(test_events),
                cmocka_unit_test(test_guest_os_type_notify),
                cmocka_unit_test(test_event_renumbering),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
