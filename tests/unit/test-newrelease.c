/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A firmware release the code has never seen, written by this test: 570.144 with renumbered
 * functions and events, a moved RPC header field, a different control id and a params struct
 * whose fields moved. Loaded from a directory at run time — no rebuild — it must encode,
 * frame, reassemble and decode correctly at the new offsets.
 */
#include <unistd.h>

#include "nvv-cmd.h"
#include "nvv-msgq.h"
#include "nvv-rpc.h"
#include "testutil.h"

static char dir[] = "/tmp/nvv-newrel-XXXXXX";
static char path[256];
static struct nvv_fwdb *db;
static const struct nvv_fwabi *fw;

static void set_field(json_object *doc, const char *s, const char *f, int offset)
{
        json_object *o = test_json_field(doc, s, f);

        assert_non_null(o);
        json_object_object_add(o, "offset", json_object_new_int(offset));
}

static int setup(void **state)
{
        json_object *doc = test_release_json("570.144");
        json_object *functions = json_object_object_get(doc, "functions");
        json_object *events = json_object_object_get(doc, "events");
        json_object *compat = json_object_new_array();
        char *msg = NULL;
        FILE *f;

        json_object_object_add(doc, "release", json_object_new_string("999.1.0"));
        json_object_array_add(compat, json_object_new_string("999."));
        json_object_object_add(doc, "compatible", compat);
        /* Renumbered: the control, alloc and continuation functions and the plugin event. */
        json_object_object_add(functions, "GSP_RM_CONTROL", json_object_new_int(240));
        json_object_object_add(functions, "GSP_RM_ALLOC", json_object_new_int(241));
        json_object_object_add(functions, "CONTINUATION_RECORD", json_object_new_int(242));
        json_object_object_add(events, "VGPU_GSP_PLUGIN_TRIGGERED", json_object_new_int(0x1030));
        /* The RPC header's function and sequence swap places. */
        set_field(doc, "rpc_message_header_v03_00", "function", 24);
        set_field(doc, "rpc_message_header_v03_00", "sequence", 12);
        /* CREATE_DEVICE gets a new id and a rearranged, larger params struct. */
        json_object_object_add(json_object_object_get(json_object_object_get(doc, "controls"),
                                                      "NV0000_CTRL_CMD_VGPU_CREATE_DEVICE"),
                               "id", json_object_new_string("0xc12"));
        json_object_object_add(json_object_object_get(json_object_object_get(doc, "structs"),
                                                      "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS"),
                               "size", json_object_new_int(48));
        set_field(doc, "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS", "placementId", 0);
        set_field(doc, "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS", "vgpuTypeId", 4);
        set_field(doc, "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS", "gpuInstanceId", 8);
        set_field(doc, "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS", "vgpuId", 12);
        set_field(doc, "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS", "gpuPciBdf", 16);
        set_field(doc, "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS", "gpuPciId", 20);
        set_field(doc, "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS", "vgpuName", 24);

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/999.1.0.json", dir);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY), f);
        fclose(f);
        json_object_put(doc);

        assert_int_equal(nvv_fwdb_new(&db), 0);
        if (nvv_fwdb_load_dir(db, dir, &msg) != 1)
                fail_msg("%s", msg);
        fw = nvv_fwdb_match(db, "999.1.7", &msg);
        assert_non_null(fw);
        assert_string_equal(fw->release, "999.1.0");
        return 0;
}

static int teardown(void **state)
{
        db = nvv_fwdb_free(db);
        unlink(path);
        rmdir(dir);
        return 0;
}

static const uint8_t name[16] = "GPU-0000:03:00.4";

static void test_encode_at_new_offsets(void **state)
{
        struct nvv_cmd_create_device c = { .gpu_pci_id = 0x233510de, .gpu_pci_bdf = 0x300, .type_id = 1304 };
        struct nvv_handles h = { .client = 0x11, .device = 0x22, .subdevice = 0x33 };
        uint8_t buf[256];
        const uint8_t *p = buf + 56;
        size_t len;
        char err[256];

        memcpy(c.vgpu_name, name, 16);
        assert_int_equal(nvv_rpc_encode_command(fw, NVV_CMD_CREATE_DEVICE, &c, &h, 0x5e, 0, buf, sizeof(buf), &len,
                                                err, sizeof(err)), 0);
        assert_int_equal(len, 32 + 24 + 48);
        assert_int_equal(get32(buf + 24), 240);  /* function, moved to 24 */
        assert_int_equal(get32(buf + 12), 0x5e); /* sequence, moved to 12 */
        assert_int_equal(get32(buf + 40), 0xc12);
        assert_int_equal(get32(buf + 48), 48);   /* paramsSize */
        assert_int_equal(get32(p + 4), 1304);
        assert_int_equal(get32(p + 16), 0x300);
        assert_int_equal(get32(p + 20), 0x233510de);
        assert_memory_equal(p + 24, name, 16);
}

static void test_full_roundtrip(void **state)
{
        struct nvv_cmd_create_device c = { .gpu_pci_id = 0x233510de, .gpu_pci_bdf = 0x300, .type_id = 1304 }, seen, out;
        struct nvv_handles h = { .client = 0x11 };
        _cleanup_(nvv_reasm_freep) struct nvv_reasm *ra = NULL;
        struct nvv_rpc_request req;
        uint8_t rpc[256], frame[4096], reply[256];
        const uint8_t *r;
        size_t len, rl, replen;
        char err[256];

        memcpy(c.vgpu_name, name, 16);
        assert_int_equal(nvv_rpc_encode_command(fw, NVV_CMD_CREATE_DEVICE, &c, &h, 3, 0, rpc, sizeof(rpc), &len, err,
                                                sizeof(err)), 0);
        assert_int_equal(nvv_msgq_frame_record(fw, rpc, len, 0, 40, frame, sizeof(frame)), 1);
        assert_int_equal(nvv_msgq_unframe(fw, frame, sizeof(frame), 40, &r, &rl, err, sizeof(err)), 0);
        assert_int_equal(nvv_reasm_new(fw, &ra), 0);
        assert_int_equal(nvv_reasm_feed(ra, r, rl, err, sizeof(err)), 1);
        r = nvv_reasm_data(ra, &rl);
        assert_int_equal(nvv_rpc_parse_request(fw, r, rl, &req, &seen, err, sizeof(err)), 0);
        assert_int_equal(req.cmd, NVV_CMD_CREATE_DEVICE);
        assert_int_equal(req.function, 240);
        assert_int_equal(seen.type_id, 1304);
        assert_memory_equal(seen.vgpu_name, name, 16);
        seen.vgpu_id = 2;
        seen.placement_id = 6;
        assert_int_equal(nvv_rpc_encode_reply(fw, r, rl, &req, &seen, 0, 0, reply, sizeof(reply), &replen, err,
                                              sizeof(err)), 0);
        assert_int_equal(get32(reply + 56 + 0), 6); /* placementId now first */
        assert_int_equal(nvv_rpc_decode_reply(fw, NVV_CMD_CREATE_DEVICE, reply, replen, 3, &out, NULL, err, sizeof(err)),
                         0);
        assert_int_equal(out.vgpu_id, 2);
        assert_int_equal(out.placement_id, 6);
}

static void test_continuation_renumbered(void **state)
{
        _cleanup_free_ struct nvv_cmd_add_vgpu_types *t = calloc(1, sizeof(*t));
        struct nvv_handles h = { .client = 1 };
        _cleanup_free_ uint8_t *rpc = malloc(1u << 20), *frames = NULL;
        size_t len, flen;
        uint32_t seq = 0, n;
        char err[256];

        t->count = 1;
        t->types[0].type_id = 7;
        assert_int_equal(nvv_rpc_encode_command(fw, NVV_CMD_ADD_VGPU_TYPES, t, &h, 1, 0, rpc, 1u << 20, &len, err,
                                                sizeof(err)), 0);
        assert_int_equal(nvv_msgq_frame_all(fw, rpc, len, &seq, &frames, &flen, &n), 0);
        assert_true(n > 1);
        assert_int_equal(get32(frames + 48 + 24), 240);          /* first: the control */
        assert_int_equal(get32(frames + 16 * 4096 + 48 + 24), 242); /* then continuation records */
}

static void test_event_renumbered(void **state)
{
        struct nvv_event_plugin ev = { .gfid = 9, .notify = NVV_NOTIFY_BOOTLOADED }, got;
        uint8_t buf[64];
        size_t len;
        int e;
        uint32_t num;
        char err[256];

        assert_int_equal(nvv_rpc_encode_event(fw, NVV_EVENT_PLUGIN, &ev, 1, buf, sizeof(buf), &len, err, sizeof(err)), 0);
        assert_int_equal(get32(buf + 24), 0x1030);
        assert_int_equal(nvv_rpc_decode_event(fw, buf, len, &e, &num, &got, err, sizeof(err)), 0);
        assert_int_equal(num, 0x1030);
        assert_int_equal(got.gfid, 9);
        assert_int_equal(got.notify, NVV_NOTIFY_BOOTLOADED);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_encode_at_new_offsets),
                cmocka_unit_test(test_full_roundtrip),
                cmocka_unit_test(test_continuation_renumbered),
                cmocka_unit_test(test_event_renumbered),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
