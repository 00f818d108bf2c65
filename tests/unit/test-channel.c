/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The command channel against nvvgpu-sim, through its socket: every release's vGPU round trip
 * over a real shared-memory queue, a release file neither side has seen before, every fault
 * the simulator can inject, and the type upload streaming through the 256 KiB queue.
 */
#include <grp.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "nvv-backend.h"
#include "nvv-cmd.h"
#include "nvv-fault.h"
#include "nvv-fwabi.h"
#include "nvv-marshal.h"
#include "nvv-simconn.h"
#include "nvv-simproto.h"
#include "nvv-sock.h"
#include "simtest.h"

#define MAX_SEEN 64
static struct {
        int event;
        union nvv_cmd_any payload;
} seen[MAX_SEEN];
static size_t n_seen;

static void on_event(void *userdata, struct nvv_channel *ch, int event, const union nvv_cmd_any *payload,
                     uint32_t number)
{
        if (n_seen < MAX_SEEN) {
                seen[n_seen].event = event;
                seen[n_seen].payload = *payload;
                n_seen++;
        }
}

/* Wait until an event of this kind (and, for plugin events, this notification) arrives. */
static bool wait_event(struct nvv_channel *ch, int event, uint32_t notify, int ms)
{
        uint64_t until = now_ns() + (uint64_t) ms * 1000000u;

        for (;;) {
                for (size_t i = 0; i < n_seen; i++)
                        if (seen[i].event == event &&
                            (event != NVV_EVENT_PLUGIN || seen[i].payload.event_plugin.notify == notify))
                                return true;
                if (now_ns() >= until)
                        return false;
                simtest_pump(ch, 20);
        }
}

static void upload_catalog_types(struct nvv_channel *ch, const struct nvv_sim *sim, const char *model)
{
        const struct nvv_catalog_gpu *g = nvv_catalog_find_gpu(nvv_sim_get_catalog(sim), model);
        _cleanup_free_ struct nvv_cmd_add_vgpu_types *t = calloc(1, sizeof(*t));
        struct nvv_cmd_set_vgpu_mgr_config mc = { .heterogeneous_timesliced = true };
        char err[512];
        int r;

        assert_non_null(g);
        r = nvv_channel_call(ch, NVV_CMD_SET_VGPU_MGR_CONFIG, &mc, 0, NULL, NULL, err, sizeof(err));
        if (r < 0)
                fail_msg("%s", err);
        t->discard = true;
        for (size_t i = 0; i < g->n_types && t->count < NVV_MAX_VGPU_TYPES; i++)
                assert_int_equal(nvv_catalog_fill_vgpu_type(&g->types[i], nvv_channel_get_fwabi(ch), false,
                                                            &t->types[t->count++]), 0);
        r = nvv_channel_call(ch, NVV_CMD_ADD_VGPU_TYPES, t, 0, NULL, NULL, err, sizeof(err));
        if (r < 0)
                fail_msg("%s", err);
}

static const struct nvv_catalog_type *pick_type(const struct nvv_sim *sim, const char *model)
{
        const struct nvv_catalog_gpu *g = nvv_catalog_find_gpu(nvv_sim_get_catalog(sim), model);

        /* A mid-sized type that fits more than once. */
        for (size_t i = 0; i < g->n_types; i++)
                if (g->types[i].max_instance >= 2 && g->types[i].max_instance <= 8)
                        return &g->types[i];
        return &g->types[0];
}

static uint32_t status_named(const struct nvv_fwabi *fw, const char *name)
{
        for (size_t i = 0; i < fw->n_status; i++)
                if (streq(fw->status[i].name, name))
                        return fw->status[i].value;
        fail_msg("firmware %s has no status %s", fw->release, name);
        return 0;
}

/* The host vGPU allocation with `parent` as hParent, sent as raw bytes past the channel (which
 * always sends the subdevice); returns the firmware's status. */
static uint32_t alloc_under(struct nvv_simgpu *g, const struct nvv_cmd_alloc_host_vgpu *al, uint32_t parent)
{
        const struct nvv_fwabi *fw = nvv_simgpu_get_fwabi(g);
        size_t size = nvv_rpc_size(fw, NVV_CMD_ALLOC_HOST_VGPU), len, rlen;
        _cleanup_free_ struct nvv_cmd_alloc_host_vgpu *out = calloc(1, sizeof(*out));
        _cleanup_free_ uint8_t *req = malloc(size), *reply = malloc(size);
        struct nvv_handles h;
        uint32_t status = 0;
        char err[256];
        int r;

        nvv_simgpu_get_handles(g, &h);
        h.device = h.subdevice = parent;
        h.new_object = 0xa08401ff;
        assert_int_equal(nvv_rpc_encode_command(fw, NVV_CMD_ALLOC_HOST_VGPU, al, &h, 0x7000, al->gfid, req, size,
                                                &len, err, sizeof(err)), 0);
        assert_int_equal(nvv_simgpu_rpc(g, req, len, 3000, reply, size, &rlen, err, sizeof(err)), 0);
        r = nvv_rpc_decode_reply(fw, NVV_CMD_ALLOC_HOST_VGPU, reply, rlen, 0x7000, out, &status, err, sizeof(err));
        assert_true(r < 0);
        return status;
}

/* RM allocates NVA084_KERNEL_HOST_VGPU_DEVICE under a subdevice only (resource_list.h): under
 * the device it refuses, under a handle it never gave it does not find the parent. */
static void alloc_wrong_parents(struct simtest *t, const struct nvv_cmd_alloc_host_vgpu *al)
{
        struct nvv_simgpu *g = nvv_sim_get_gpu(t->sim, 0);
        const struct nvv_fwabi *fw = nvv_simgpu_get_fwabi(g);
        struct nvv_handles h;

        nvv_simgpu_get_handles(g, &h);
        assert_int_equal(alloc_under(g, al, h.device), status_named(fw, "NV_ERR_INVALID_OBJECT_PARENT"));
        assert_int_equal(alloc_under(g, al, h.client), status_named(fw, "NV_ERR_INVALID_OBJECT_PARENT"));
        assert_int_equal(alloc_under(g, al, 0x5d00beef), status_named(fw, "NV_ERR_OBJECT_NOT_FOUND"));
}

/* create → alloc → bootload → (event) → shutdown → cleanup → free → delete, as a release offers. */
static void roundtrip(struct simtest *t, struct nvv_channel *ch, const char *model)
{
        const struct nvv_fwabi *fw = nvv_channel_get_fwabi(ch);
        const struct nvv_catalog_type *ty = pick_type(t->sim, model);
        struct nvv_handles target = { .host_vgpu_device = 0xa0840101, .new_object = 0xa0840101 };
        static const uint8_t uuid[16] = { 0x51, 0x7e, 0x3a, 0x0b, 0x6c, 0x4d, 0x4f, 0x21,
                                          0x9a, 0x11, 0x00, 0x52, 0x33, 0xee, 0x02, 0x7d };
        _cleanup_free_ struct nvv_cmd_bootload_plugin *bl = calloc(1, sizeof(*bl));
        _cleanup_free_ struct nvv_cmd_alloc_host_vgpu *al = calloc(1, sizeof(*al));
        _cleanup_free_ struct nvv_simgpu_status *st = calloc(1, sizeof(*st));
        struct nvv_cmd_create_device cd = { .type_id = ty->type_id };
        struct nvv_cmd_gfid g1 = { .gfid = 1 };
        char err[512];
        int r;

        n_seen = 0;
        upload_catalog_types(ch, t->sim, model);
        if (nvv_fwabi_command(fw, NVV_CMD_CREATE_DEVICE)) {
                memcpy(cd.vgpu_name, uuid, 16);
                r = nvv_channel_call(ch, NVV_CMD_CREATE_DEVICE, &cd, 0, NULL, NULL, err, sizeof(err));
                if (r < 0)
                        fail_msg("%s", err);
                assert_true(cd.vgpu_id >= 1);
        } else {
                /* 535/550: no CREATE_DEVICE; the allocation below creates the vGPU. */
                r = nvv_channel_call(ch, NVV_CMD_CREATE_DEVICE, &cd, 0, NULL, NULL, err, sizeof(err));
                assert_int_equal(r, -EOPNOTSUPP);
                assert_strstr(err, "'create_device' is not supported by firmware");
        }
        al->gfid = 1;
        al->type_id = ty->type_id;
        al->placement_id = NVV_PLACEMENT_NONE;
        memcpy(al->vgpu_dev_name, uuid, 16);
        if (!nvv_wplan_has_field(nvv_fwabi_command(fw, NVV_CMD_ALLOC_HOST_VGPU)->plan, "placement_id"))
                al->placement_id = 0;
        else if (!nvv_fwabi_command(fw, NVV_CMD_CREATE_DEVICE))
                al->placement_id = 0xffff; /* 550: none, the firmware picks */
        else
                al->placement_id = cd.placement_id == NVV_PLACEMENT_NONE ? 0xffff : cd.placement_id;
        /* Refused allocations take nothing: the one through the channel gets gfid 1. */
        alloc_wrong_parents(t, al);
        r = nvv_channel_call(ch, NVV_CMD_ALLOC_HOST_VGPU, al, 1, &target, NULL, err, sizeof(err));
        if (r < 0)
                fail_msg("%s", err);

        /* Where the firmware put it (a manager computes this with its partitioner). */
        assert_int_equal(nvv_simgpu_get_status(nvv_sim_get_gpu(t->sim, 0), st), 0);
        assert_int_equal(st->n_vgpus, 1);
        bl->gfid = 1;
        bl->type_id = ty->type_id;
        bl->fb_segment_count = 1;
        bl->fb_segment_addr[0] = st->vgpus[0].fb_offset;
        bl->fb_segment_len[0] = st->vgpus[0].fb_length;
        bl->num_channels = st->vgpus[0].num_chids;
        bl->chid_offset[0] = st->vgpus[0].chid_offset;
        bl->plugin_heap_len = ty->gsp_heap_size ? ty->gsp_heap_size : 1;
        r = nvv_channel_call(ch, NVV_CMD_BOOTLOAD_PLUGIN, bl, 1, &target, NULL, err, sizeof(err));
        if (r < 0)
                fail_msg("%s", err);
        if (!wait_event(ch, NVV_EVENT_PLUGIN, NVV_NOTIFY_BOOTLOADED, 3000))
                fail_msg("no 'bootloaded' event from firmware %s", fw->release);

        if ((r = nvv_channel_call(ch, NVV_CMD_SHUTDOWN_PLUGIN, &g1, 1, &target, NULL, err, sizeof(err))) < 0 ||
            (r = nvv_channel_call(ch, NVV_CMD_CLEANUP_PLUGIN, &g1, 1, &target, NULL, err, sizeof(err))) < 0)
                fail_msg("%s", err);
        if (nvv_fwabi_command(fw, NVV_CMD_FREE_STATES)) {
                struct nvv_cmd_free_states fs = { .gfid = 1 };

                r = nvv_channel_call(ch, NVV_CMD_FREE_STATES, &fs, 1, &target, NULL, err, sizeof(err));
        } else {
                const struct nvv_channel_info *info = nvv_channel_get_info(ch);
                struct nvv_cmd_free_object fo = { .client = info->handles.client, .parent = info->handles.subdevice,
                                                  .object = target.host_vgpu_device };

                r = nvv_channel_call(ch, NVV_CMD_FREE_OBJECT, &fo, 1, NULL, NULL, err, sizeof(err));
        }
        if (r < 0)
                fail_msg("%s", err);
        if (nvv_fwabi_command(fw, NVV_CMD_DELETE_DEVICE)) {
                struct nvv_cmd_delete_device dd = { .vgpu_id = cd.vgpu_id };

                memcpy(dd.vgpu_name, uuid, 16);
                r = nvv_channel_call(ch, NVV_CMD_DELETE_DEVICE, &dd, 0, NULL, NULL, err, sizeof(err));
                if (r < 0)
                        fail_msg("%s", err);
                assert_int_equal(nvv_simgpu_get_status(nvv_sim_get_gpu(t->sim, 0), st), 0);
                assert_int_equal(st->n_vgpus, 0);
        }
}

static void release_roundtrip(const char *model, const char *release)
{
        struct simtest t;
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        char spec[64], *msg = NULL, err[256];

        snprintf(spec, sizeof(spec), "%s@%s", model, release);
        if (simtest_start(&t, spec, NULL, NULL, &msg) < 0)
                fail_msg("%s", msg);
        if (nvv_channel_open_sim(t.socket, 0, t.db, &ch, &msg) < 0)
                fail_msg("%s", msg);
        assert_string_equal(nvv_channel_get_info(ch)->release, release);
        assert_int_equal(nvv_channel_subscribe(ch, on_event, NULL, err, sizeof(err)), 0);
        roundtrip(&t, ch, model);
        ch = nvv_channel_close(ch);
        simtest_stop(&t);
}

static void test_roundtrip_535(void **state) { release_roundtrip("L40S", "535.113.01"); }
static void test_roundtrip_550(void **state) { release_roundtrip("L40S", "550.40.07"); }
static void test_roundtrip_560(void **state) { release_roundtrip("L40S", "560.35.03"); }
static void test_roundtrip_565(void **state) { release_roundtrip("L40S", "565.77"); }
static void test_roundtrip_570(void **state) { release_roundtrip("L40S", "570.144"); }
static void test_roundtrip_575(void **state) { release_roundtrip("L40S", "575.64.05"); }
static void test_roundtrip_580(void **state) { release_roundtrip("L40S", "580.65.06"); }
static void test_roundtrip_590(void **state) { release_roundtrip("H200", "590.48.01"); }
static void test_roundtrip_595(void **state) { release_roundtrip("L40S", "595.45.04"); }

/* What a real H200 host runs: served by the 580.65.06 description's "580." prefix. */
static void test_roundtrip_h200_compatible(void **state)
{
        release_roundtrip("H200", "580.159.04");
}

/* The same through the in-process transport. */
static void test_roundtrip_inproc(void **state)
{
        struct simtest t;
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        char *msg = NULL, err[256];

        if (simtest_start(&t, "L40S@570.144", NULL, NULL, &msg) < 0)
                fail_msg("%s", msg);
        if (nvv_simgpu_open_channel(nvv_sim_get_gpu(t.sim, 0), t.db, &ch, &msg) < 0)
                fail_msg("%s", msg);
        assert_int_equal(nvv_channel_subscribe(ch, on_event, NULL, err, sizeof(err)), 0);
        roundtrip(&t, ch, "L40S");
        ch = nvv_channel_close(ch);
        simtest_stop(&t);
}

/* 570.144 with renumbered functions and events and rearranged structs, written here; the
 * simulator and the manager both load it from a directory, neither was built with it. */
static void write_new_release(const char *dir)
{
        json_object *doc = test_release_json("570.144"), *compat = json_object_new_array();
        json_object *functions = json_object_object_get(doc, "functions"), *events = json_object_object_get(doc, "events");
        char path[256];
        FILE *f;
        int offs[][2] = { { 0, 0 } };

        (void) offs;
        json_object_object_add(doc, "release", json_object_new_string("999.1.0"));
        json_object_array_add(compat, json_object_new_string("999."));
        json_object_object_add(doc, "compatible", compat);
        json_object_object_add(functions, "GSP_RM_CONTROL", json_object_new_int(240));
        json_object_object_add(functions, "GSP_RM_ALLOC", json_object_new_int(241));
        json_object_object_add(functions, "CONTINUATION_RECORD", json_object_new_int(242));
        json_object_object_add(functions, "FREE", json_object_new_int(243));
        json_object_object_add(events, "VGPU_GSP_PLUGIN_TRIGGERED", json_object_new_int(0x1030));
        json_object_object_add(test_json_field(doc, "rpc_message_header_v03_00", "function"), "offset",
                               json_object_new_int(24));
        json_object_object_add(test_json_field(doc, "rpc_message_header_v03_00", "sequence"), "offset",
                               json_object_new_int(12));
        json_object_object_add(json_object_object_get(json_object_object_get(doc, "structs"),
                                                      "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS"),
                               "size", json_object_new_int(48));
        {
                static const struct {
                        const char *f;
                        int off;
                } moved[] = { { "placementId", 0 }, { "vgpuTypeId", 4 }, { "gpuInstanceId", 8 }, { "vgpuId", 12 },
                              { "gpuPciBdf", 16 }, { "gpuPciId", 20 }, { "vgpuName", 24 } };

                for (size_t i = 0; i < ELEMENTSOF(moved); i++)
                        json_object_object_add(test_json_field(doc, "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS", moved[i].f),
                                               "offset", json_object_new_int(moved[i].off));
        }
        snprintf(path, sizeof(path), "%s/999.1.0.json", dir);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(json_object_to_json_string(doc), f);
        fclose(f);
        json_object_put(doc);
}

static void test_new_release_both_sides(void **state)
{
        char dir[] = "/tmp/nvv-newrel-XXXXXX", path[256], *msg = NULL, err[256];
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        struct nvv_fwdb *db;
        struct simtest t;

        assert_non_null(mkdtemp(dir));
        write_new_release(dir);
        if (simtest_start(&t, "L40S@999.1.4", dir, NULL, &msg) < 0)
                fail_msg("%s", msg);

        /* A manager without the file refuses, naming the nearest release it knows. */
        assert_int_equal(nvv_channel_open_sim(t.socket, 0, t.db, &ch, &msg), -EINVAL);
        assert_strstr(msg, "GPU 0000:41:00.0: firmware release 999.1.4 is not supported");
        assert_strstr(msg, "the nearest known release is 595.45.04");
        free(msg);
        msg = NULL;

        /* With it (--fwabi-dir), no rebuild: the full round trip at the new numbers and offsets. */
        assert_int_equal(nvv_fwdb_new(&db), 0);
        assert_true(nvv_fwdb_load_dir(db, dir, &msg) == 1);
        assert_int_equal(nvv_fwdb_load_dir(db, test_fwabi_dir(), &msg) >= 0, 1);
        if (nvv_channel_open_sim(t.socket, 0, db, &ch, &msg) < 0)
                fail_msg("%s", msg);
        assert_string_equal(nvv_channel_get_fwabi(ch)->release, "999.1.0");
        assert_int_equal(nvv_channel_subscribe(ch, on_event, NULL, err, sizeof(err)), 0);
        roundtrip(&t, ch, "L40S");
        ch = nvv_channel_close(ch);
        nvv_fwdb_free(db);
        simtest_stop(&t);
        snprintf(path, sizeof(path), "%s/999.1.0.json", dir);
        unlink(path);
        rmdir(dir);
}

static void test_unknown_release_refused_by_sim(void **state)
{
        struct simtest t;
        char *msg = NULL;

        assert_int_equal(simtest_start(&t, "L40S@585.12.01", NULL, NULL, &msg), -EINVAL);
        assert_strstr(msg, "GPU 0 (L40S): firmware release 585.12.01 is not supported");
        assert_strstr(msg, "the nearest known release is 580.65.06");
        free(msg);
        simtest_stop(&t);
}

/* ---- faults: each gives its documented error, and the channel keeps working ---- */

struct fault_case {
        const char *spec;
        int expect;
        const char *needle;
};

/* get_features answers, from a GPU running this release. */
static void expect_call_ok(struct nvv_channel *ch, const char *release)
{
        struct nvv_cmd_get_features f = {};
        char err[512];

        if (nvv_channel_call(ch, NVV_CMD_GET_FEATURES, &f, 0, NULL, NULL, err, sizeof(err)) < 0)
                fail_msg("the channel does not answer: %s", err);
        assert_string_equal(f.firmware_version, release);
}

static void expect_alive(struct nvv_channel *ch)
{
        expect_call_ok(ch, "570.144");
}

static void test_faults(void **state)
{
        static const struct fault_case cases[] = {
                { "status:get_features:NV_ERR_INSUFFICIENT_RESOURCES", -ENOSPC,
                  "firmware 570.144 refused 'get_features': NV_ERR_INSUFFICIENT_RESOURCES (0x1a)" },
                { "status:get_features:NV_ERR_NOT_SUPPORTED", -EOPNOTSUPP, "NV_ERR_NOT_SUPPORTED" },
                { "delay:get_features:700", -ETIMEDOUT,
                  "'get_features' to GPU 0000:41:00.0 (firmware 570.144) timed out: no answer within 300 ms" },
                { "drop:get_features", -ETIMEDOUT, "timed out: no answer within 300 ms" },
                { "checksum:get_features", -EBADMSG, "checksum mismatch" },
                { "truncate:get_features", -EBADMSG, "first record is 56 bytes, short of both the 128-byte RPC" },
                { "garbage:get_features", -EBADMSG, "bad RPC signature" },
                { "reset:get_features", -ECONNRESET, "the GSP reset while the RPC was pending" },
        };
        struct simtest t;
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        char *msg = NULL;

        if (simtest_start(&t, "L40S@570.144", NULL, NULL, &msg) < 0)
                fail_msg("%s", msg);
        if (nvv_channel_open_sim(t.socket, 0, t.db, &ch, &msg) < 0)
                fail_msg("%s", msg);
        nvv_channel_set_timeout(ch, 300);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct nvv_cmd_get_features f = {};
                char err[512] = "";
                int r;

                if (nvv_sim_inject(t.sim, cases[i].spec, &msg) < 0)
                        fail_msg("%s: %s", cases[i].spec, msg);
                r = nvv_channel_call(ch, NVV_CMD_GET_FEATURES, &f, 0, NULL, NULL, err, sizeof(err));
                if (r != cases[i].expect || !strstr(err, cases[i].needle))
                        fail_msg("fault %s: got %d \"%s\", expected %d with \"%s\"", cases[i].spec, r, err,
                                 cases[i].expect, cases[i].needle);
                /* Give a late answer time to arrive: it must be dropped, not taken for the next one. */
                if (cases[i].expect == -ETIMEDOUT)
                        usleep(500 * 1000);
                expect_alive(ch);
        }
        ch = nvv_channel_close(ch);
        simtest_stop(&t);
}

/* A fault spec is taken whole or refused naming the bad word: a status the release does not
 * describe is no silent NV_ERR_GENERIC. */
static void test_fault_spec_errors(void **state)
{
        static const struct {
                const char *spec;
                const char *needle;
        } bad[] = {
                { "status:create_device:NV_ERR_INSUFICIENT_RESOURCES@1",
                  "GPU 1: firmware 570.144 has no status 'NV_ERR_INSUFICIENT_RESOURCES' (did you mean "
                  "'NV_ERR_INSUFFICIENT_RESOURCES'?)" },
                { "status:create_device:NV_ERR_INSUFICIENT_RESOURCES",
                  "no GPU takes the fault; GPU 0: firmware 570.144 has no status 'NV_ERR_INSUFICIENT_RESOURCES' (did you mean" },
                { "status:any:NV_ERR_XYZZY_PLUGH@0", "GPU 0: firmware 570.144 has no status 'NV_ERR_XYZZY_PLUGH'" },
                { "status:any:NV_Err_Generic", "fault 'status': 'NV_Err_Generic' is not a status name" },
                { "status:any:NV_ERR_GENERIC@2", "fault for GPU 2, but there are 2 GPUs" },
                { "delay:any:12ms", "fault 'delay' takes milliseconds" },
        };
        _cleanup_free_ struct nvv_fault *f = NULL;
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        struct simtest t;
        char *msg = NULL;
        size_t n = 0;

        assert_int_equal(nvv_fault_parse("delay:any:0x2bc,status:create_device:NV_ERR_INSUFFICIENT_RESOURCES@1*0x2", &f,
                                         &n, &msg), 0);
        assert_int_equal(n, 2);
        assert_int_equal(f[0].arg, 700);
        assert_int_equal(f[1].gpu, 1);
        assert_int_equal(f[1].count, 2);
        assert_string_equal(f[1].status, "NV_ERR_INSUFFICIENT_RESOURCES");

        if (simtest_start(&t, "L40S@570.144*2", NULL, NULL, &msg) < 0)
                fail_msg("%s", msg);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r = nvv_sim_inject(t.sim, bad[i].spec, &msg);

                if (r != -EINVAL || !msg || !strstr(msg, bad[i].needle))
                        fail_msg("fault %s: got %d \"%s\", expected -EINVAL with \"%s\"", bad[i].spec, r, msg ? msg : "",
                                 bad[i].needle);
                /* No guess for a name far from every known one. */
                if (strstr(bad[i].spec, "XYZZY"))
                        assert_null(strstr(msg, "did you mean"));
                free(msg);
                msg = NULL;
        }
        /* Nothing was armed by the refused specs: the next command is answered normally. */
        if (nvv_simgpu_open_channel(nvv_sim_get_gpu(t.sim, 1), t.db, &ch, &msg) < 0)
                fail_msg("%s", msg);
        expect_alive(ch);
        ch = nvv_channel_close(ch);
        simtest_stop(&t);
}

static void test_runtime_events(void **state)
{
        struct simtest t;
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        char *msg = NULL, err[256];

        if (simtest_start(&t, "L40S@570.144", NULL, NULL, &msg) < 0)
                fail_msg("%s", msg);
        if (nvv_channel_open_sim(t.socket, 0, t.db, &ch, &msg) < 0)
                fail_msg("%s", msg);
        assert_int_equal(nvv_channel_subscribe(ch, on_event, NULL, err, sizeof(err)), 0);
        roundtrip(&t, ch, "L40S");
        n_seen = 0;
        /* A GSP reset with no RPC in flight arrives as an event. */
        if (nvv_sim_inject(t.sim, "reset", &msg) < 0)
                fail_msg("%s", msg);
        if (!wait_event(ch, NVV_EVENT_GSP_RESET, 0, 3000))
                fail_msg("no gsp_reset event");
        /* Crashing a plugin that is not running is refused with a reason. */
        assert_int_equal(nvv_sim_inject(t.sim, "crash:1", &msg), -ENOENT);
        assert_strstr(msg, "gfid 1 has no host vGPU device");
        free(msg);
        ch = nvv_channel_close(ch);
        simtest_stop(&t);
}

static void test_plugin_crash_event(void **state)
{
        struct simtest t;
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        _cleanup_free_ struct nvv_cmd_bootload_plugin *bl = calloc(1, sizeof(*bl));
        _cleanup_free_ struct nvv_simgpu_status *st = calloc(1, sizeof(*st));
        struct nvv_handles target = { .host_vgpu_device = 0xa0840101, .new_object = 0xa0840101 };
        struct nvv_cmd_alloc_host_vgpu al = { .gfid = 1 };
        struct nvv_cmd_create_device cd = { .vgpu_name = "crash-test-vgpu" };
        char *msg = NULL, err[256];

        if (simtest_start(&t, "L40S@570.144", NULL, NULL, &msg) < 0)
                fail_msg("%s", msg);
        if (nvv_channel_open_sim(t.socket, 0, t.db, &ch, &msg) < 0)
                fail_msg("%s", msg);
        assert_int_equal(nvv_channel_subscribe(ch, on_event, NULL, err, sizeof(err)), 0);
        upload_catalog_types(ch, t.sim, "L40S");
        cd.type_id = pick_type(t.sim, "L40S")->type_id;
        assert_int_equal(nvv_channel_call(ch, NVV_CMD_CREATE_DEVICE, &cd, 0, NULL, NULL, err, sizeof(err)), 0);
        al.type_id = cd.type_id;
        al.placement_id = cd.placement_id == NVV_PLACEMENT_NONE ? 0xffff : cd.placement_id;
        memcpy(al.vgpu_dev_name, cd.vgpu_name, 16);
        assert_int_equal(nvv_channel_call(ch, NVV_CMD_ALLOC_HOST_VGPU, &al, 1, &target, NULL, err, sizeof(err)), 0);
        assert_int_equal(nvv_simgpu_get_status(nvv_sim_get_gpu(t.sim, 0), st), 0);
        bl->gfid = 1;
        bl->fb_segment_count = 1;
        bl->fb_segment_addr[0] = st->vgpus[0].fb_offset;
        bl->fb_segment_len[0] = st->vgpus[0].fb_length;
        bl->num_channels = st->vgpus[0].num_chids;
        bl->chid_offset[0] = st->vgpus[0].chid_offset;
        bl->plugin_heap_len = 1ull << 30;
        assert_int_equal(nvv_channel_call(ch, NVV_CMD_BOOTLOAD_PLUGIN, bl, 1, &target, NULL, err, sizeof(err)), 0);
        assert_true(wait_event(ch, NVV_EVENT_PLUGIN, NVV_NOTIFY_BOOTLOADED, 3000));
        n_seen = 0;
        if (nvv_sim_inject(t.sim, "crash:1", &msg) < 0)
                fail_msg("%s", msg);
        assert_true(wait_event(ch, NVV_EVENT_PLUGIN, NVV_NOTIFY_CRASHED, 3000));
        assert_int_equal(seen[n_seen - 1].payload.event_plugin.gfid, 1);
        ch = nvv_channel_close(ch);
        simtest_stop(&t);
}

/* 128 types on 595.45.04: 694 352 bytes through a 256 KiB queue, 11 messages each way. */
static void test_type_upload_streams(void **state)
{
        _cleanup_free_ struct nvv_cmd_add_vgpu_types *ty = calloc(1, sizeof(*ty));
        _cleanup_free_ struct nvv_simgpu_status *st = calloc(1, sizeof(*st));
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        struct simtest t;
        char *msg = NULL, err[512];

        if (simtest_start(&t, "H200@595.45.04", NULL, NULL, &msg) < 0)
                fail_msg("%s", msg);
        if (nvv_channel_open_sim(t.socket, 0, t.db, &ch, &msg) < 0)
                fail_msg("%s", msg);
        assert_true(nvv_rpc_size(nvv_channel_get_fwabi(ch), NVV_CMD_ADD_VGPU_TYPES) > 2 * 262144);
        ty->discard = true;
        ty->count = 128;
        for (uint32_t i = 0; i < 128; i++) {
                ty->types[i].type_id = 2000 + i;
                snprintf(ty->types[i].name, sizeof(ty->types[i].name), "TEST-%uC", i);
                ty->types[i].fb_length = 1ull << 30;
                ty->types[i].max_instance = 1;
        }
        if (nvv_channel_call(ch, NVV_CMD_ADD_VGPU_TYPES, ty, 0, NULL, NULL, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        assert_string_equal(ty->types[127].name, "TEST-127C"); /* the answer carries the table back */
        assert_int_equal(nvv_simgpu_get_status(nvv_sim_get_gpu(t.sim, 0), st), 0);
        assert_int_equal(st->state.n_types, 128);
        ch = nvv_channel_close(ch);
        simtest_stop(&t);
}

/* The large buffers of the type upload are shared by the channels of a process through one
 * spare (nvv-channel.c): each GPU's table must still arrive whole and its own, one channel
 * after the other and both at once. */
struct uploader {
        struct nvv_channel *ch;
        uint32_t base;
        int rounds, r;
        char err[512];
};

static void fill_types(struct nvv_cmd_add_vgpu_types *ty, uint32_t base)
{
        memset(ty, 0, sizeof(*ty));
        ty->discard = true;
        ty->count = 128;
        for (uint32_t i = 0; i < 128; i++) {
                ty->types[i].type_id = base + i;
                snprintf(ty->types[i].name, sizeof(ty->types[i].name), "T%u-%uC", base, i);
                ty->types[i].fb_length = 1ull << 30;
                ty->types[i].max_instance = 1;
        }
}

static void *uploader_main(void *userdata)
{
        struct uploader *u = userdata;
        _cleanup_free_ struct nvv_cmd_add_vgpu_types *ty = calloc(1, sizeof(*ty));
        char want[32];

        for (int k = 0; k < u->rounds && u->r == 0; k++) {
                struct nvv_cmd_get_features f = {};

                fill_types(ty, u->base + (uint32_t) k);
                u->r = nvv_channel_call(u->ch, NVV_CMD_ADD_VGPU_TYPES, ty, 0, NULL, NULL, u->err, sizeof(u->err));
                snprintf(want, sizeof(want), "T%u-127C", u->base + (uint32_t) k);
                if (u->r == 0 && (!streq(ty->types[127].name, want) || ty->types[0].type_id != u->base + (uint32_t) k)) {
                        snprintf(u->err, sizeof(u->err), "answer carries %s, not %s", ty->types[127].name, want);
                        u->r = -EPROTO;
                }
                if (u->r == 0)
                        u->r = nvv_channel_call(u->ch, NVV_CMD_GET_FEATURES, &f, 0, NULL, NULL, u->err, sizeof(u->err));
        }
        return NULL;
}

static void test_type_upload_shared_buffers(void **state)
{
        _cleanup_free_ struct nvv_simgpu_status *st = calloc(1, sizeof(*st));
        struct nvv_channel *ch[2] = {};
        struct uploader u[2];
        pthread_t th[2];
        struct simtest t;
        char *msg = NULL;

        (void) state;
        if (simtest_start(&t, "H200@595.45.04*2", NULL, NULL, &msg) < 0)
                fail_msg("%s", msg);
        for (int i = 0; i < 2; i++) {
                if (nvv_channel_open_sim(t.socket, i, t.db, &ch[i], &msg) < 0)
                        fail_msg("%s", msg);
                u[i] = (struct uploader) { .ch = ch[i], .base = 1000 * (uint32_t) (i + 1), .rounds = 2 };
        }
        /* One after the other: GPU 1's upload gets the buffers GPU 0's gave back. */
        for (int i = 0; i < 2; i++) {
                uploader_main(&u[i]);
                if (u[i].r < 0)
                        fail_msg("GPU %d: %s", i, u[i].err);
        }
        /* Both at once. */
        for (int i = 0; i < 2; i++) {
                u[i].base += 100;
                u[i].rounds = 6;
                assert_int_equal(pthread_create(&th[i], NULL, uploader_main, &u[i]), 0);
        }
        for (int i = 0; i < 2; i++) {
                pthread_join(th[i], NULL);
                if (u[i].r < 0)
                        fail_msg("GPU %d: %s", i, u[i].err);
        }
        for (int i = 0; i < 2; i++) {
                assert_int_equal(nvv_simgpu_get_status(nvv_sim_get_gpu(t.sim, (size_t) i), st), 0);
                assert_int_equal(st->n_types, 128);
                assert_int_equal(st->type_ids[0], u[i].base + 5);
                assert_int_equal(st->type_ids[127], u[i].base + 5 + 127);
                ch[i] = nvv_channel_close(ch[i]);
        }
        simtest_stop(&t);
}

/* ---- one connection and one HELLO for all the GPUs of a simulator ---- */

#define N_SHARED 4
static const char *const shared_releases[N_SHARED] = { "535.113.01", "570.144", "580.65.06", "595.45.04" };

struct hammer {
        struct nvv_channel *ch;
        const char *release;
        unsigned calls;
        int timeout_ms;
        int r;
        uint64_t took_ns;
        char err[512];
};

/* Each answer is matched to its RPC by sequence: a mixed-up answer would fail the channel's
 * checks or carry another GPU's release. */
static void *hammer_main(void *userdata)
{
        struct hammer *h = userdata;
        uint64_t start = now_ns();

        nvv_channel_set_timeout(h->ch, h->timeout_ms);
        for (unsigned i = 0; i < h->calls && h->r == 0; i++) {
                struct nvv_cmd_get_features f = {};

                h->r = nvv_channel_call(h->ch, NVV_CMD_GET_FEATURES, &f, 0, NULL, NULL, h->err, sizeof(h->err));
                if (h->r == 0 && !streq(f.firmware_version, h->release)) {
                        snprintf(h->err, sizeof(h->err), "answer from firmware %s, expected %s", f.firmware_version, h->release);
                        h->r = -EPROTO;
                }
        }
        h->took_ns = now_ns() - start;
        return NULL;
}

static void test_shared_connection(void **state)
{
        _cleanup_(nvv_simconn_unrefp) struct nvv_simconn *c = NULL;
        struct nvv_channel *ch[N_SHARED] = {};
        struct nvv_sim_counters k;
        struct hammer h[N_SHARED] = {};
        pthread_t th[N_SHARED];
        struct simtest t;
        char *msg = NULL, err[256];

        if (simtest_start(&t, "L40S@535.113.01,L40S@570.144,L40S@580.65.06,L40S@595.45.04", NULL, NULL, &msg) < 0)
                fail_msg("%s", msg);
        if (nvv_simconn_connect(t.socket, &c, &msg) < 0)
                fail_msg("%s", msg);
        assert_int_equal(nvv_simconn_gpu_count(c), N_SHARED);
        for (size_t i = 0; i < N_SHARED; i++) {
                if (nvv_simconn_open_channel(c, (uint32_t) i, t.db, &ch[i], &msg) < 0)
                        fail_msg("GPU %zu: %s", i, msg);
                assert_string_equal(nvv_channel_get_info(ch[i])->release, shared_releases[i]);
        }
        /* Listing and opening four GPUs: one connection, one HELLO, one get_features each. */
        nvv_sim_get_counters(t.sim, &k);
        assert_int_equal(k.connections, 1);
        assert_int_equal(k.hellos, 1);
        assert_int_equal(k.rpcs, N_SHARED);
        /* One channel per GPU per connection. */
        {
                struct nvv_channel *again = NULL;

                assert_int_equal(nvv_simconn_open_channel(c, 1, t.db, &again, &msg), -EBUSY);
                assert_strstr(msg, "GPU 1 of the simulator at");
                free(msg);
                msg = NULL;
        }
        assert_int_equal(nvv_simconn_open_channel(c, 4, t.db, &ch[0], &msg), -EINVAL);
        assert_strstr(msg, "has 4 GPUs; there is no GPU 4");
        free(msg);
        msg = NULL;

        /* Four threads at once, and GPU 0 answering 700 ms late: the others must not wait
         * behind it (each GPU's RPCs run on their own in the simulator). */
        if (nvv_sim_inject(t.sim, "delay:get_features:700@0", &msg) < 0)
                fail_msg("%s", msg);
        for (size_t i = 0; i < N_SHARED; i++) {
                h[i] = (struct hammer) { .ch = ch[i], .release = shared_releases[i], .calls = i == 0 ? 2 : 300,
                                         .timeout_ms = i == 0 ? 5000 : 300 };
                assert_int_equal(pthread_create(&th[i], NULL, hammer_main, &h[i]), 0);
        }
        for (size_t i = 0; i < N_SHARED; i++) {
                pthread_join(th[i], NULL);
                if (h[i].r < 0)
                        fail_msg("GPU %zu: %s", i, h[i].err);
        }
        assert_true(h[0].took_ns >= 700u * 1000000u);
        nvv_sim_get_counters(t.sim, &k);
        assert_int_equal(k.connections, 1);
        assert_int_equal(k.hellos, 1);
        assert_int_equal(k.rpcs, N_SHARED + 2 + 3 * 300);

        /* Events go to the channel of the GPU they come from. */
        for (size_t i = 0; i < N_SHARED; i++)
                assert_int_equal(nvv_channel_subscribe(ch[i], on_event, NULL, err, sizeof(err)), 0);
        n_seen = 0;
        if (nvv_sim_inject(t.sim, "reset@2", &msg) < 0)
                fail_msg("%s", msg);
        if (!wait_event(ch[2], NVV_EVENT_GSP_RESET, 0, 3000))
                fail_msg("no gsp_reset event on GPU 2's channel");
        assert_int_equal(n_seen, 1);
        for (size_t i = 0; i < N_SHARED; i++)
                if (i != 2)
                        assert_int_equal(nvv_channel_process(ch[i]), 0);

        /* The connection lives as long as a channel: dropping our reference keeps it open. */
        c = nvv_simconn_unref(c);
        expect_call_ok(ch[3], "595.45.04");
        for (size_t i = 0; i < N_SHARED; i++)
                ch[i] = nvv_channel_close(ch[i]);
        simtest_stop(&t);
}

/* ---- backends: the strings users type, and opening every GPU behind one ---- */

static void test_backend_parse(void **state)
{
        static const struct {
                const char *s;
                enum nvv_backend_kind kind;
                const char *path;
        } good[] = {
                { "sim:/run/nvvgpu/sim.sock", NVV_BACKEND_SIM, "/run/nvvgpu/sim.sock" },
                { "sim:relative.sock", NVV_BACKEND_SIM, "relative.sock" },
                { "sim:a:b", NVV_BACKEND_SIM, "a:b" },
                { "fwctl", NVV_BACKEND_FWCTL, "/dev/fwctl" },
                { "fwctl:/dev/fwctl/fwctl3", NVV_BACKEND_FWCTL, "/dev/fwctl/fwctl3" },
                { "fwctl:/srv/fake-fwctl", NVV_BACKEND_FWCTL, "/srv/fake-fwctl" },
        };
        static const struct {
                const char *s;
                const char *needle;
        } bad[] = {
                { "", "no backend given: expected sim:SOCKET, fwctl or fwctl:DEV" },
                { "bogus", "unknown backend 'bogus': expected sim:SOCKET, fwctl or fwctl:DEV" },
                { "sim", "unknown backend 'sim': expected" },
                { "SIM:/x", "unknown backend 'SIM:/x'" },
                { "fwctl0", "unknown backend 'fwctl0'" },
                { "in-process", "unknown backend 'in-process'" },
                { "sim:", "backend 'sim:' names no socket: expected sim:SOCKET" },
                { "fwctl:", "backend 'fwctl:' names no device: expected fwctl or fwctl:DEV" },
                { "sim:/tmp/a\nb", "the backend string has a control character (byte 10)" },
                { "sim:/tmp/\033[2J", "control character (byte 9)" },
        };
        char longsock[256], *huge, *msg = NULL;

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                _cleanup_(nvv_backend_freep) struct nvv_backend *b = NULL;

                if (nvv_backend_parse(good[i].s, &b, &msg) < 0)
                        fail_msg("'%s': %s", good[i].s, msg);
                assert_int_equal(nvv_backend_get_kind(b), good[i].kind);
                assert_string_equal(nvv_backend_get_path(b), good[i].path);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct nvv_backend *b = NULL;

                if (nvv_backend_parse(bad[i].s, &b, &msg) != -EINVAL || !msg || !strstr(msg, bad[i].needle))
                        fail_msg("'%s': got \"%s\", expected -EINVAL with \"%s\"", bad[i].s, msg ? msg : "", bad[i].needle);
                assert_null(b);
                free(msg);
                msg = NULL;
        }
        assert_int_equal(nvv_backend_parse(NULL, &(struct nvv_backend *) { NULL }, &msg), -EINVAL);
        assert_strstr(msg, "no backend given");
        free(msg);
        msg = NULL;
        /* A socket path must fit sockaddr_un (107 bytes and the NUL). */
        snprintf(longsock, sizeof(longsock), "sim:/%0107d", 0);
        assert_int_equal(nvv_backend_parse(longsock, &(struct nvv_backend *) { NULL }, &msg), -EINVAL);
        assert_strstr(msg, "the socket path is longer than 107 bytes");
        free(msg);
        msg = NULL;
        longsock[strlen(longsock) - 1] = '\0';
        {
                _cleanup_(nvv_backend_freep) struct nvv_backend *b = NULL;

                assert_int_equal(nvv_backend_parse(longsock, &b, NULL), 0);
        }
        huge = malloc(NVV_BACKEND_MAX + 2);
        assert_non_null(huge);
        memset(huge, 'a', NVV_BACKEND_MAX + 1);
        memcpy(huge, "fwctl:", 6);
        huge[NVV_BACKEND_MAX + 1] = '\0';
        assert_int_equal(nvv_backend_parse(huge, &(struct nvv_backend *) { NULL }, &msg), -EINVAL);
        assert_strstr(msg, "backend string longer than 4096 bytes");
        free(msg);
        free(huge);
}

static void test_backend_open_all(void **state)
{
        static const char *const releases[] = { "570.144", "580.159.04", "999.1.0", "595.45.04" };
        _cleanup_(nvv_backend_freep) struct nvv_backend *b = NULL, *inproc = NULL, *none = NULL;
        char extra[4096], spec[160], empty[] = "/tmp/nvv-nofwctl-XXXXXX", *msg = NULL;
        struct nvv_backend_gpu *g = NULL;
        struct nvv_sim_counters k;
        struct simtest t;
        size_t n = 0;

        snprintf(extra, sizeof(extra), "%s/tests/golden/input/fwabi-new", getenv("NVV_TOP_SRCDIR"));
        if (simtest_start(&t, "L40S@570.144,H200@580.159.04,L40S@999.1.0,L40S@595.45.04", extra, NULL, &msg) < 0)
                fail_msg("%s", msg);
        snprintf(spec, sizeof(spec), "sim:%s", t.socket);
        assert_int_equal(nvv_backend_parse(spec, &b, &msg), 0);
        if (nvv_backend_open_all(b, t.db, &g, &n, &msg) < 0)
                fail_msg("%s", msg);
        assert_int_equal(n, 4);
        for (size_t i = 0; i < n; i++) {
                char source[200];

                snprintf(source, sizeof(source), "sim:%s#%zu", t.socket, i);
                assert_string_equal(g[i].source, source);
                assert_string_equal(g[i].info.release, releases[i]);
                if (i == 2) {
                        /* A release the manager has no description for: listed, with why. */
                        assert_null(g[i].channel);
                        assert_int_equal(g[i].error, -EINVAL);
                        assert_strstr(g[i].error_msg, "GPU 0000:43:00.0: firmware release 999.1.0 is not supported");
                } else {
                        assert_non_null(g[i].channel);
                        assert_null(g[i].error_msg);
                        expect_call_ok(g[i].channel, releases[i]);
                }
        }
        /* All of it over one connection and one HELLO. */
        nvv_sim_get_counters(t.sim, &k);
        assert_int_equal(k.connections, 1);
        assert_int_equal(k.hellos, 1);
        nvv_backend_gpus_free(g, n);

        /* The same simulator in-process: no socket at all. */
        assert_int_equal(nvv_sim_get_backend(t.sim, &inproc), 0);
        assert_int_equal(nvv_backend_get_kind(inproc), NVV_BACKEND_INPROC);
        assert_null(nvv_backend_get_path(inproc));
        if (nvv_backend_open_all(inproc, t.db, &g, &n, &msg) < 0)
                fail_msg("%s", msg);
        assert_int_equal(n, 4);
        assert_string_equal(g[3].source, "in-process#3");
        assert_string_equal(g[2].info.bdf, "0000:43:00.0");
        assert_null(g[2].channel);
        assert_strstr(g[2].error_msg, "firmware release 999.1.0 is not supported");
        expect_call_ok(g[3].channel, "595.45.04");
        nvv_backend_gpus_free(g, n);
        nvv_sim_get_counters(t.sim, &k);
        assert_int_equal(k.connections, 1);
        simtest_stop(&t);

        /* Nothing to reach: the call fails, saying what is missing. */
        assert_int_equal(nvv_backend_parse("fwctl:/tmp/nvv-no-such-fwctl", &none, &msg), 0);
        {
                struct nvv_fwdb *db = test_load_db();

                assert_int_equal(nvv_backend_open_all(b, db, &g, &n, &msg), -ENOENT);
                assert_strstr(msg, "cannot reach the simulator at '/tmp/nvv-simtest-");
                free(msg);
                msg = NULL;
                assert_int_equal(nvv_backend_open_all(none, db, &g, &n, &msg), -ENOENT);
                assert_strstr(msg, "/tmp/nvv-no-such-fwctl does not exist: no fwctl devices");
                free(msg);
                msg = NULL;
                none = nvv_backend_free(none);
                assert_non_null(mkdtemp(empty));
                snprintf(spec, sizeof(spec), "fwctl:%s", empty);
                assert_int_equal(nvv_backend_parse(spec, &none, &msg), 0);
                assert_int_equal(nvv_backend_open_all(none, db, &g, &n, &msg), -ENODEV);
                assert_strstr(msg, "no fwctl devices in /tmp/nvv-nofwctl-");
                free(msg);
                rmdir(empty);
                nvv_fwdb_free(db);
        }
}

static void test_unknown_gpu_and_socket(void **state)
{
        struct simtest t;
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        char *msg = NULL;

        if (simtest_start(&t, "L40S@570.144", NULL, NULL, &msg) < 0)
                fail_msg("%s", msg);
        assert_int_equal(nvv_channel_open_sim(t.socket, 3, t.db, &ch, &msg), -EINVAL);
        assert_strstr(msg, "has 1 GPU; there is no GPU 3");
        free(msg);
        msg = NULL;
        simtest_stop(&t);
        assert_int_equal(nvv_channel_open_sim("/tmp/nvv-no-such-dir/sim.sock", 0, t.db, &ch, &msg), -ENOENT);
        assert_strstr(msg, "cannot reach the simulator at '/tmp/nvv-no-such-dir/sim.sock'");
        free(msg);
}

/* ---- the simulator's socket server against clients that misbehave ---- */

static int raw_connect(const struct simtest *t)
{
        char *msg = NULL;
        int fd;

        if (nvv_sock_connect(t->socket, &fd, &msg) < 0)
                fail_msg("%s", msg);
        return fd;
}

/* The text of an ERROR message. */
static const char *error_text(const struct nvv_sock_rx *rx)
{
        assert_int_equal(rx->first.type, NVV_SIMPROTO_ERROR);
        assert_true(rx->have >= 4);
        return (const char *) rx->data + 4;
}

/* A client that subscribes, asks for much and reads nothing must not hold up the GPU for
 * the others: events are queued per connection, and no send happens under the GPU's lock. */
static void test_stalled_subscriber(void **state)
{
        struct nvv_sim_options so = { .send_timeout_ms = 30000 }; /* longer than the test: no drop saves it */
        struct simtest t;
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        char *msg = NULL;
        uint64_t start;
        int a;

        if (simtest_start_ex(&t, "L40S@570.144", &so, &msg) < 0)
                fail_msg("%s", msg);
        a = raw_connect(&t);
        assert_int_equal(nvv_simproto_send(a, NVV_SIMPROTO_HELLO, NVV_SIMPROTO_ALL_GPUS, 1, 0, NULL, 0, 1000), 0);
        assert_int_equal(nvv_simproto_send(a, NVV_SIMPROTO_SUBSCRIBE, NVV_SIMPROTO_ALL_GPUS, 2, 0, NULL, 0, 1000), 0);
        /* Fill A's socket with answers it never reads: its server thread ends up in a send. */
        for (uint32_t i = 0; i < 4000; i++)
                if (nvv_simproto_send(a, NVV_SIMPROTO_STATUS, 0, 10 + i, 0, NULL, 0, 0) < 0)
                        break;
        if (nvv_channel_open_sim(t.socket, 0, t.db, &ch, &msg) < 0)
                fail_msg("%s", msg);
        nvv_channel_set_timeout(ch, 3000);
        start = now_ns();
        for (int i = 0; i < 20; i++) {
                struct nvv_cmd_get_features f = {};
                char err[512] = "";

                int r;

                if (nvv_sim_inject(t.sim, "reset", &msg) < 0)
                        fail_msg("%s", msg);
                /* The reset may still be under way: an RPC it catches is lost, the next one not. */
                r = nvv_channel_call(ch, NVV_CMD_GET_FEATURES, &f, 0, NULL, NULL, err, sizeof(err));
                if (r == -ECONNRESET)
                        r = nvv_channel_call(ch, NVV_CMD_GET_FEATURES, &f, 0, NULL, NULL, err, sizeof(err));
                if (r < 0)
                        fail_msg("round %d: B's RPC failed while A does not read: %s", i, err);
        }
        /* 20 resets and RPCs take well under a second; a GPU frozen by A would take 3 s each. */
        if (now_ns() - start > 10ull * 1000000000u)
                fail_msg("B's RPCs took %llu ms", (unsigned long long) ((now_ns() - start) / 1000000));
        ch = nvv_channel_close(ch);
        close(a);
        simtest_stop(&t);
}

/* The forked child ends through exec: a copy of a threaded process cannot free what the
 * simulator's threads hold, and a memory checker running the test would count it lost. */
static void child_exit(int code)
{
        char arg[16];

        snprintf(arg, sizeof(arg), "%d", code);
        execl("/bin/sh", "sh", "-c", "exit \"$0\"", arg, (char *) NULL);
        _exit(code);
}

/* The socket is 0600 unless asked otherwise, and a peer that is neither the simulator's user
 * nor root is refused with a message even when the mode lets it connect. */
static void test_socket_permissions(void **state)
{
        struct nvv_sim_options so = { .socket_mode = 0666 };
        struct simtest t;
        struct stat st;
        char *msg = NULL;
        int status;
        pid_t pid;

        if (simtest_start(&t, "L40S@570.144", NULL, NULL, &msg) < 0)
                fail_msg("%s", msg);
        assert_int_equal(lstat(t.socket, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        simtest_stop(&t);

        if (geteuid() != 0) {
                printf("SKIP: the peer check needs root to connect as another uid (running as uid %u)\n",
                       (unsigned) geteuid());
                return;
        }
        if (simtest_start_ex(&t, "L40S@570.144", &so, &msg) < 0)
                fail_msg("%s", msg);
        assert_int_equal(lstat(t.socket, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0666);
        assert_int_equal(chmod(t.dir, 0755), 0);
        /* The child drops to nobody first and connects after: SO_PEERCRED is taken at connect. */
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct nvv_sock_rx rx;
                char err[256] = "";
                int fd, r;

                if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
                        child_exit(3);
                if (nvv_sock_connect(t.socket, &fd, &msg) < 0) {
                        fprintf(stderr, "child: %s\n", msg);
                        child_exit(4);
                }
                nvv_simproto_rx_init(&rx, 65536);
                (void) nvv_simproto_send(fd, NVV_SIMPROTO_HELLO, NVV_SIMPROTO_ALL_GPUS, 1, 0, NULL, 0, 1000);
                r = nvv_simproto_recv(fd, &rx, 3000, err, sizeof(err));
                if (r != 1 || rx.first.type != NVV_SIMPROTO_ERROR ||
                    !strstr((const char *) rx.data + 4, "permission denied: uid 65534 may not use this simulator")) {
                        fprintf(stderr, "child: got %d type %u: %s\n", r, rx.first.type,
                                r == 1 ? (const char *) rx.data + 4 : err);
                        child_exit(5);
                }
                /* Then the end, not a hang. */
                r = nvv_simproto_recv(fd, &rx, 3000, err, sizeof(err));
                child_exit(r == -ECONNRESET ? 0 : 6);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        /* Its own user still gets in. */
        {
                _cleanup_free_ struct nvv_channel_info *infos = NULL;
                size_t n = 0;

                if (nvv_channel_list_sim(t.socket, &infos, &n, &msg) < 0)
                        fail_msg("%s", msg);
                assert_int_equal(n, 1);
        }
        simtest_stop(&t);
}

/* 64 idle clients: the 65th is told the limit; the idle ones are told and dropped after the
 * hello timeout, and then a client gets in again. */
static void test_client_limit(void **state)
{
        struct nvv_sim_options so = { .hello_timeout_ms = 1500 };
        _cleanup_free_ struct nvv_channel_info *infos = NULL;
        struct simtest t;
        struct nvv_sock_rx rx;
        int fds[64];
        char *msg = NULL, err[256];
        size_t n = 0;

        if (simtest_start_ex(&t, "L40S@570.144", &so, &msg) < 0)
                fail_msg("%s", msg);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                fds[i] = raw_connect(&t);
        assert_int_equal(nvv_channel_list_sim(t.socket, &infos, &n, &msg), -EUSERS);
        assert_strstr(msg, "refused the connection: too many clients (64); try again later");
        free(msg);
        msg = NULL;
        nvv_simproto_rx_init(&rx, 65536);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                assert_int_equal(nvv_simproto_recv(fds[i], &rx, 5000, err, sizeof(err)), 1);
                assert_strstr(error_text(&rx), "no request within 1500 ms of connecting; closing");
                assert_int_equal(nvv_simproto_recv(fds[i], &rx, 3000, err, sizeof(err)), -ECONNRESET);
                close(fds[i]);
        }
        nvv_simproto_rx_done(&rx);
        usleep(100 * 1000); /* the server's threads leave after the client sees the end */
        if (nvv_channel_list_sim(t.socket, &infos, &n, &msg) < 0)
                fail_msg("after the idle clients left: %s", msg);
        assert_int_equal(n, 1);
        simtest_stop(&t);
}

/* A second simulator on a live socket fails and leaves the first serving. */
static void test_second_simulator(void **state)
{
        struct nvv_sim_options o = { .gpus = "L40S@570.144", .catalog_dir = simtest_catalog_dir() };
        _cleanup_free_ struct nvv_channel_info *infos = NULL;
        struct nvv_sim *second = NULL;
        struct simtest t;
        char *msg = NULL, want[256];
        size_t n = 0;

        if (simtest_start(&t, "L40S@570.144", NULL, NULL, &msg) < 0)
                fail_msg("%s", msg);
        o.socket_path = t.socket;
        assert_int_equal(nvv_sim_start(&o, &second, &msg), -EADDRINUSE);
        snprintf(want, sizeof(want), "another server is listening on %s", t.socket);
        assert_strstr(msg, want);
        free(msg);
        msg = NULL;
        assert_null(second);
        if (nvv_channel_list_sim(t.socket, &infos, &n, &msg) < 0)
                fail_msg("the first simulator no longer answers: %s", msg);
        assert_int_equal(n, 1);
        simtest_stop(&t);
}

/* A zero-length packet is no end of connection; a client that shuts down its writing side
 * after a request gets the answer and then the end, not a hang. */
static void test_empty_packet_and_half_close(void **state)
{
        struct simtest t;
        struct nvv_sock_rx rx;
        char *msg = NULL, err[256];
        int fd;

        if (simtest_start(&t, "L40S@570.144", NULL, NULL, &msg) < 0)
                fail_msg("%s", msg);
        fd = raw_connect(&t);
        assert_int_equal(send(fd, "", 0, MSG_NOSIGNAL), 0);
        assert_int_equal(nvv_simproto_send(fd, NVV_SIMPROTO_HELLO, NVV_SIMPROTO_ALL_GPUS, 1, 0, NULL, 0, 1000), 0);
        nvv_simproto_rx_init(&rx, NVV_SIMPROTO_MAX_PAYLOAD);
        assert_int_equal(nvv_simproto_recv(fd, &rx, 3000, err, sizeof(err)), 1);
        assert_int_equal(rx.first.type, NVV_SIMPROTO_INFO);
        assert_strstr((const char *) rx.data, "\"gpus\"");
        assert_int_equal(nvv_simproto_send(fd, NVV_SIMPROTO_STATUS, 0, 2, 0, NULL, 0, 1000), 0);
        assert_int_equal(send(fd, "", 0, MSG_NOSIGNAL), 0);
        assert_int_equal(shutdown(fd, SHUT_WR), 0);
        assert_int_equal(nvv_simproto_recv(fd, &rx, 3000, err, sizeof(err)), 1);
        assert_int_equal(rx.first.type, NVV_SIMPROTO_STATUS_INFO);
        assert_int_equal(rx.first.tag, 2);
        assert_int_equal(nvv_simproto_recv(fd, &rx, 3000, err, sizeof(err)), -ECONNRESET);
        nvv_simproto_rx_done(&rx);
        close(fd);
        simtest_stop(&t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip_535),
                cmocka_unit_test(test_roundtrip_550),
                cmocka_unit_test(test_roundtrip_560),
                cmocka_unit_test(test_roundtrip_565),
                cmocka_unit_test(test_roundtrip_570),
                cmocka_unit_test(test_roundtrip_575),
                cmocka_unit_test(test_roundtrip_580),
                cmocka_unit_test(test_roundtrip_590),
                cmocka_unit_test(test_roundtrip_595),
                cmocka_unit_test(test_roundtrip_h200_compatible),
                cmocka_unit_test(test_roundtrip_inproc),
                cmocka_unit_test(test_new_release_both_sides),
                cmocka_unit_test(test_unknown_release_refused_by_sim),
                cmocka_unit_test(test_faults),
                cmocka_unit_test(test_fault_spec_errors),
                cmocka_unit_test(test_runtime_events),
                cmocka_unit_test(test_plugin_crash_event),
                cmocka_unit_test(test_type_upload_streams),
                cmocka_unit_test(test_type_upload_shared_buffers),
                cmocka_unit_test(test_shared_connection),
                cmocka_unit_test(test_backend_parse),
                cmocka_unit_test(test_backend_open_all),
                cmocka_unit_test(test_unknown_gpu_and_socket),
                cmocka_unit_test(test_stalled_subscriber),
                cmocka_unit_test(test_socket_permissions),
                cmocka_unit_test(test_client_limit),
                cmocka_unit_test(test_second_simulator),
                cmocka_unit_test(test_empty_packet_and_half_close),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
