/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated GSP against doc/firmware-model.md, on the releases in data/fwabi.
 *
 * Every command goes through run(), which also checks that the answered status is one the
 * release knows and that the invariants of tests/gsp-check.c still hold; every create is
 * compared with the brute-force prediction of gsp_check_predict_create().
 *
 * The GPU and the type table below are TEST DATA, not a real board: a GPU with 48 GiB of
 * usable framebuffer in 48 placement units of 1 GiB, 256 MiB VMMU segments, 32 VFs and
 * 2048 vGPU channels, with "TEST-nQ" types of 1, 2, 4, 6, 8, 12, 16, 24 and 48 GiB.
 * Expected placements and offsets in the tests are worked out by hand from these numbers.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gsp-check.h"
#include "nvv-fwabi.h"
#include "nvv-fwdb.h"
#include "nvv-gsp.h"
#include "nvv-marshal.h"
#include "util.h"

#define GiB (UINT64_C(1) << 30)
#define MiB (UINT64_C(1) << 20)
#define NONE NVV_PLACEMENT_NONE
#define TYPE(gb) (100u + (gb))

#define R535 "535.113.01"
#define R550 "550.40.07"
#define R570 "570.144"
#define R580 "580.65.06"

static struct nvv_fwdb *db;

static const struct nvv_gsp_config test_cfg = {
        .fb_total = 49 * GiB,
        .fb_reserved = 1 * GiB,
        .vmmu_segment = 256 * MiB,
        .placement_units = 48,
        .num_vfs = 32,
        .total_chids = 2048,
        .gpu_pci_id = 0x10de2330,
        .gpu_pci_bdf = 0x4100,
};
static const unsigned sizes_gb[] = { 1, 2, 4, 6, 8, 12, 16, 24, 48 };
#define TEST_HEAP (32 * MiB)

/* A TEST-nQ type. With placement ids: homogeneous ids are the multiples of n in ascending
 * order; mixed-mode ids are the same listed in descending order, except for 1 GiB which may
 * only use units 24..47 in mixed mode (test data, to tell the two lists apart). */
static void make_type(struct nvv_vgpu_type *t, unsigned gb, bool placements)
{
        unsigned n = 48 / gb;

        memset(t, 0, sizeof(*t));
        t->type_id = TYPE(gb);
        snprintf(t->name, sizeof(t->name), "TEST-%uQ", gb);
        t->max_instance = n;
        t->fb_length = gb * GiB - 64 * MiB;
        t->fb_reservation = 64 * MiB;
        t->gsp_heap_size = TEST_HEAP;
        t->encoder_capacity = 100;
        t->frl_config = 60;
        if (!placements)
                return;
        t->placement_size = gb;
        t->homogeneous_placement_count = n;
        for (unsigned k = 0; k < n; k++)
                t->homogeneous_placement_ids[k] = k * gb;
        if (gb == 1) {
                t->heterogeneous_placement_count = 24;
                for (unsigned k = 0; k < 24; k++)
                        t->heterogeneous_placement_ids[k] = 47 - k;
        } else {
                t->heterogeneous_placement_count = n;
                for (unsigned k = 0; k < n; k++)
                        t->heterogeneous_placement_ids[k] = (n - 1 - k) * gb;
        }
}

static const struct nvv_fwabi *fw_get(const char *release)
{
        const struct nvv_fwabi *fw = nvv_fwdb_find(db, release);

        if (!fw)
                fail_msg("release %s not in $NVVGPU_FWABI_DIR", release);
        return fw;
}

static bool fw_has(const struct nvv_fwabi *fw, int cmd)
{
        return fw->commands[cmd] != NULL;
}

/* ---- a GPU under test ---- */

struct ev {
        int event;
        uint32_t gfid, notify, chid;
        enum nvv_gsp_task task_then; /* the gfid's task when the event arrived */
};

struct env {
        const struct nvv_fwabi *fw;
        struct nvv_gsp_config cfg;
        struct nvv_gsp *g;
        bool relaxed;
        size_t n_ev;
        struct ev ev[64];
};

static void on_event(void *ud, int event, const union nvv_cmd_any *p)
{
        struct env *e = ud;
        struct ev x = { .event = event };

        if (event == NVV_EVENT_PLUGIN) {
                x.gfid = p->event_plugin.gfid;
                x.notify = p->event_plugin.notify;
        } else if (event == NVV_EVENT_RC_ERROR) {
                x.gfid = p->event_rc_error.gfid;
                x.chid = p->event_rc_error.chid;
        }
        x.task_then = nvv_gsp_get_task(e->g, x.gfid);
        if (e->n_ev < ELEMENTSOF(e->ev))
                e->ev[e->n_ev] = x;
        e->n_ev++;
}

static union nvv_cmd_any *io_new(void)
{
        union nvv_cmd_any *io = calloc(1, sizeof(*io));

        assert_non_null(io);
        return io;
}

static void check_now(struct env *e, const char *after)
{
        char err[256];

        if (gsp_check_invariants(e->g, &e->cfg, e->fw, e->relaxed, err, sizeof(err)) < 0)
                fail_msg("%s: invariant broken after %s: %s", e->fw->release, after, err);
}

static const char *run_dev(struct env *e, uint32_t gfid, int cmd, union nvv_cmd_any *io)
{
        const char *st = NULL;

        assert_int_equal(nvv_gsp_handle_device(e->g, gfid, cmd, io, &st), 0);
        assert_non_null(st);
        if (!gsp_check_status_known(e->fw, st))
                fail_msg("%s: %s answered '%s', not a status of the release", e->fw->release, nvv_cmd_to_string(cmd), st);
        check_now(e, nvv_cmd_to_string(cmd));
        return st;
}

static const char *run(struct env *e, int cmd, union nvv_cmd_any *io)
{
        return run_dev(e, 0, cmd, io);
}

static void upload(struct env *e, bool placements)
{
        _cleanup_free_ union nvv_cmd_any *io = io_new();

        io->add_vgpu_types.discard = true;
        for (size_t i = 0; i < ELEMENTSOF(sizes_gb); i++)
                make_type(&io->add_vgpu_types.types[io->add_vgpu_types.count++], sizes_gb[i], placements);
        assert_string_equal(run(e, NVV_CMD_ADD_VGPU_TYPES, io), "NV_OK");
}

static void set_mixed(struct env *e, bool mixed)
{
        _cleanup_free_ union nvv_cmd_any *io = io_new();

        io->set_vgpu_mgr_config.heterogeneous_timesliced = mixed;
        assert_string_equal(run(e, NVV_CMD_SET_VGPU_MGR_CONFIG, io), "NV_OK");
        if (!fw_has(e->fw, NVV_CMD_SET_HETEROGENEOUS_MODE)) {
                assert_false(mixed);
                return;
        }
        memset(io, 0, sizeof(*io));
        io->set_heterogeneous_mode.enabled = mixed;
        assert_string_equal(run(e, NVV_CMD_SET_HETEROGENEOUS_MODE, io), "NV_OK");
}

/* A GPU running `release`; types with placement ids where the release carries them
 * (550 and later), none before. */
static struct env *env_new_cfg(const char *release, const struct nvv_gsp_config *cfg, bool types, bool mixed)
{
        struct env *e = calloc(1, sizeof(*e));

        assert_non_null(e);
        e->fw = fw_get(release);
        e->cfg = *cfg;
        assert_int_equal(nvv_gsp_new(&e->cfg, e->fw, &e->g), 0);
        nvv_gsp_set_event_fn(e->g, on_event, e);
        set_mixed(e, mixed);
        if (types)
                upload(e, nvv_release_compare(release, R550) >= 0);
        return e;
}

static struct env *env_new(const char *release, bool mixed)
{
        return env_new_cfg(release, &test_cfg, true, mixed);
}

static void env_free(struct env *e)
{
        if (!e)
                return;
        nvv_gsp_free(e->g);
        free(e);
}
static void env_freep(struct env **e)
{
        env_free(*e);
}
#define _cleanup_env_ _cleanup_(env_freep)

static void mkname(uint8_t name[16], unsigned i)
{
        memset(name, 0, 16);
        snprintf((char *) name, 16, "vgpu-%u", i);
}

static bool vgpu_by_id(struct env *e, uint32_t vgpu_id, struct nvv_gsp_vgpu_info *ret)
{
        struct nvv_gsp_vgpu_info v;

        for (size_t i = 0; nvv_gsp_get_vgpu(e->g, i, &v) == 0; i++)
                if (v.vgpu_id == vgpu_id) {
                        *ret = v;
                        return true;
                }
        return false;
}

static bool vgpu_by_gfid(struct env *e, uint32_t gfid, struct nvv_gsp_vgpu_info *ret)
{
        struct nvv_gsp_host_info h;

        return nvv_gsp_get_host(e->g, gfid, &h) == 0 && h.vgpu_id && vgpu_by_id(e, h.vgpu_id, ret);
}

static size_t n_vgpus(struct env *e)
{
        struct nvv_gsp_state s;

        nvv_gsp_get_state(e->g, &s);
        return s.n_vgpus;
}

static void expect_matches(struct env *e, const struct gsp_expect *x, uint32_t vgpu_id)
{
        struct nvv_gsp_vgpu_info v;

        assert_true(vgpu_by_id(e, vgpu_id, &v));
        assert_int_equal(v.placement_id, x->placement_id);
        assert_int_equal(v.fb_offset, x->fb_offset);
        assert_int_equal(v.fb_length, x->fb_length);
        assert_int_equal(v.chid_offset, x->chid_offset);
        assert_int_equal(v.num_chids, x->num_chids);
}

/* create_device, checked against the prediction. */
static const char *create(struct env *e, uint32_t type_id, unsigned name, struct nvv_cmd_create_device *ret)
{
        _cleanup_free_ union nvv_cmd_any *io = io_new();
        struct gsp_expect x;
        bool predicted;
        const char *st;

        mkname(io->create_device.vgpu_name, name);
        io->create_device.type_id = type_id;
        predicted = gsp_check_predict_create(e->g, &e->cfg, e->fw, type_id, io->create_device.vgpu_name, 0, NONE, &x);
        st = run(e, NVV_CMD_CREATE_DEVICE, io);
        if (fw_has(e->fw, NVV_CMD_CREATE_DEVICE) && predicted) {
                if (!streq(st, x.status))
                        fail_msg("%s: create type %u answered %s, rules say %s", e->fw->release, type_id, st, x.status);
                if (streq(st, "NV_OK")) {
                        assert_int_equal(io->create_device.placement_id, x.placement_id);
                        assert_int_equal(io->create_device.gpu_instance_id, 0);
                        expect_matches(e, &x, io->create_device.vgpu_id);
                }
        }
        if (ret)
                *ret = io->create_device;
        return st;
}

static uint32_t create_ok(struct env *e, uint32_t type_id, unsigned name)
{
        struct nvv_cmd_create_device c;

        assert_string_equal(create(e, type_id, name, &c), "NV_OK");
        return c.vgpu_id;
}

static const char *delete(struct env *e, unsigned name, uint32_t vgpu_id)
{
        _cleanup_free_ union nvv_cmd_any *io = io_new();

        mkname(io->delete_device.vgpu_name, name);
        io->delete_device.vgpu_id = vgpu_id;
        return run(e, NVV_CMD_DELETE_DEVICE, io);
}

/* alloc_host_vgpu. On releases without create_device it creates, and is checked against
 * the prediction. name 0 = no vgpu_dev_name. */
static const char *alloc(struct env *e, uint32_t gfid, unsigned name, uint32_t type_id, uint32_t placement)
{
        _cleanup_free_ union nvv_cmd_any *io = io_new();
        struct nvv_cmd_alloc_host_vgpu *a = &io->alloc_host_vgpu;
        bool creates = !fw_has(e->fw, NVV_CMD_CREATE_DEVICE), predicted = false;
        bool carries = nvv_wplan_has_field(e->fw->commands[NVV_CMD_ALLOC_HOST_VGPU]->plan, "placement_id");
        struct gsp_expect x;
        const char *st;

        a->gfid = gfid;
        a->type_id = type_id;
        a->placement_id = placement;
        a->dbdf = 0x4100 + gfid;
        a->vm_pid = 1000 + gfid;
        a->device_instance_id = gfid;
        if (name)
                mkname(a->vgpu_dev_name, name);
        if (creates && gfid >= 1 && gfid <= e->cfg.num_vfs)
                predicted = gsp_check_predict_create(e->g, &e->cfg, e->fw, type_id, name ? a->vgpu_dev_name : NULL,
                                                     gfid, carries ? placement : NONE, &x);
        st = run(e, NVV_CMD_ALLOC_HOST_VGPU, io);
        if (predicted) {
                struct nvv_gsp_vgpu_info v;

                if (!streq(st, x.status))
                        fail_msg("%s: alloc gfid %u type %u answered %s, rules say %s", e->fw->release, gfid,
                                 type_id, st, x.status);
                if (streq(st, "NV_OK")) {
                        assert_true(vgpu_by_gfid(e, gfid, &v));
                        expect_matches(e, &x, v.vgpu_id);
                }
        }
        return st;
}

static const char *gfid_cmd(struct env *e, int cmd, uint32_t gfid)
{
        _cleanup_free_ union nvv_cmd_any *io = io_new();

        if (cmd == NVV_CMD_FREE_STATES)
                io->free_states.gfid = gfid;
        else
                io->gfid.gfid = gfid;
        return run(e, cmd, io);
}

static const char *free_host(struct env *e, uint32_t gfid)
{
        const char *st = NULL;

        assert_int_equal(nvv_gsp_free_host_vgpu(e->g, gfid, &st), 0);
        assert_true(gsp_check_status_known(e->fw, st));
        check_now(e, "free");
        return st;
}

/* The bootload a correct manager sends for gfid's vGPU: one FB segment, the channel block
 * on the first 8 engines, the type's plugin heap. */
static void fill_bootload(struct env *e, uint32_t gfid, struct nvv_cmd_bootload_plugin *b)
{
        struct nvv_gsp_vgpu_info v;
        const struct nvv_vgpu_type *t;

        assert_true(vgpu_by_gfid(e, gfid, &v));
        assert_non_null(t = nvv_gsp_find_type(e->g, v.type_id));
        memset(b, 0, sizeof(*b));
        b->gfid = gfid;
        b->type_id = v.type_id;
        b->num_channels = v.num_chids;
        for (unsigned i = 0; i < 8; i++)
                b->chid_offset[i] = v.chid_offset;
        b->fb_segment_count = 1;
        b->fb_segment_addr[0] = v.fb_offset;
        b->fb_segment_len[0] = v.fb_length;
        b->plugin_heap_len = t->gsp_heap_size;
}

static const char *bootload(struct env *e, const struct nvv_cmd_bootload_plugin *b)
{
        _cleanup_free_ union nvv_cmd_any *io = io_new();

        io->bootload_plugin = *b;
        return run(e, NVV_CMD_BOOTLOAD_PLUGIN, io);
}

static const char *bootload_ok(struct env *e, uint32_t gfid)
{
        _cleanup_free_ union nvv_cmd_any *io = io_new();

        fill_bootload(e, gfid, &io->bootload_plugin);
        return run(e, NVV_CMD_BOOTLOAD_PLUGIN, io);
}

/* A bootload naming only the gfid: for states where the state check answers first. */
static const char *bootload_gfid_only(struct env *e, uint32_t gfid)
{
        struct nvv_cmd_bootload_plugin b = { .gfid = gfid };

        return bootload(e, &b);
}

/* Give gfid a host vGPU device (creating its 8 GiB vGPU the release's way) and drive its
 * task to `state`. */
static void drive_to(struct env *e, uint32_t gfid, enum nvv_gsp_task state)
{
        if (state == NVV_GSP_TASK_NONE)
                return;
        if (fw_has(e->fw, NVV_CMD_CREATE_DEVICE)) {
                create_ok(e, TYPE(8), gfid);
                assert_string_equal(alloc(e, gfid, gfid, TYPE(8), NONE), "NV_OK");
        } else
                assert_string_equal(alloc(e, gfid, gfid, TYPE(8), NONE), "NV_OK");
        assert_int_equal(nvv_gsp_get_task(e->g, gfid), NVV_GSP_TASK_ALLOCATED);
        if (state == NVV_GSP_TASK_ALLOCATED)
                return;
        assert_string_equal(bootload_ok(e, gfid), "NV_OK");
        if (state == NVV_GSP_TASK_RUNNING)
                return;
        if (state == NVV_GSP_TASK_CRASHED) {
                assert_int_equal(nvv_gsp_crash_plugin(e->g, gfid), 0);
                return;
        }
        assert_string_equal(gfid_cmd(e, NVV_CMD_SHUTDOWN_PLUGIN, gfid), "NV_OK");
        if (state == NVV_GSP_TASK_STOPPED)
                return;
        assert_string_equal(gfid_cmd(e, NVV_CMD_CLEANUP_PLUGIN, gfid), "NV_OK");
        assert_int_equal(state, NVV_GSP_TASK_CLEANED);
}

/* ---- object, config, release gating ---- */

static void test_new_config(void **state)
{
        const struct nvv_fwabi *fw = fw_get(R570);
        struct nvv_gsp_config c = test_cfg;
        struct nvv_gsp *g = NULL;
        struct nvv_gsp_state s;

        assert_int_equal(nvv_gsp_new(NULL, fw, &g), -EINVAL);
        assert_int_equal(nvv_gsp_new(&c, NULL, &g), -EINVAL);
        assert_int_equal(nvv_gsp_new(&c, fw, NULL), -EINVAL);
        c.fb_reserved = c.fb_total + 1;
        assert_int_equal(nvv_gsp_new(&c, fw, &g), -EINVAL);
        c = test_cfg;
        c.vmmu_segment = 0;
        assert_int_equal(nvv_gsp_new(&c, fw, &g), -EINVAL);
        c = test_cfg;
        c.placement_units = 0;
        assert_int_equal(nvv_gsp_new(&c, fw, &g), -EINVAL);
        c = test_cfg;
        c.num_vfs = NVV_MAX_VGPUS + 1;
        assert_int_equal(nvv_gsp_new(&c, fw, &g), -EINVAL);
        c = test_cfg;
        memset(c.firmware_version, 'x', sizeof(c.firmware_version));
        assert_int_equal(nvv_gsp_new(&c, fw, &g), -EINVAL);
        assert_null(g);

        /* §1: usable = total - reserved; unit = align_down(usable / units, segment). */
        c = test_cfg;
        c.placement_units = 5; /* 48 GiB / 5 = 9830.4 MiB -> 9728 MiB in 256 MiB segments */
        assert_int_equal(nvv_gsp_new(&c, fw, &g), 0);
        nvv_gsp_get_state(g, &s);
        assert_int_equal(s.usable_fb, 48 * GiB);
        assert_int_equal(s.unit_size, 9728 * MiB);
        assert_int_equal(s.n_vgpus + s.n_types + s.n_hosts, 0);
        assert_false(s.heterogeneous_mode);
        assert_int_equal(s.sched.policy, NVV_SCHED_BEST_EFFORT);
        assert_null(nvv_gsp_free(g));
        assert_null(nvv_gsp_free(NULL));
        assert_string_equal(nvv_gsp_task_to_string(NVV_GSP_TASK_CRASHED), "crashed");
        assert_null(nvv_gsp_task_to_string(_NVV_GSP_TASK_MAX));
        assert_null(nvv_gsp_task_to_string(_NVV_GSP_TASK_INVALID));
        {
                _cleanup_(nvv_gsp_freep) struct nvv_gsp *scoped = NULL;

                assert_int_equal(nvv_gsp_new(&test_cfg, fw, &scoped), 0);
        }
}

/* §4 check 3 uses min(num_vfs, release max_vgpu_per_pgpu). 1 GiB vGPUs: max_instance 48. */
static void test_vgpu_limit(void **state)
{
        const char *rels[] = { R570, R580 };
        const uint32_t vfs[] = { 4, 40, 64 };

        for (size_t r = 0; r < ELEMENTSOF(rels); r++)
                for (size_t k = 0; k < ELEMENTSOF(vfs); k++) {
                        struct nvv_gsp_config c = test_cfg;
                        _cleanup_env_ struct env *e = NULL;
                        struct nvv_gsp_state s;
                        uint32_t limit;

                        c.num_vfs = vfs[k];
                        e = env_new_cfg(rels[r], &c, true, false);
                        limit = MIN(vfs[k], e->fw->sizing.max_vgpu_per_pgpu);
                        nvv_gsp_get_state(e->g, &s);
                        assert_int_equal(s.max_vgpus, limit);
                        for (unsigned i = 0; i < limit; i++)
                                assert_string_equal(create(e, TYPE(1), i + 1, NULL), "NV_OK");
                        assert_string_equal(create(e, TYPE(1), 999, NULL), "NV_ERR_INSUFFICIENT_RESOURCES");
                        assert_int_equal(n_vgpus(e), limit);
                }
}

static void test_unsupported_commands(void **state)
{
        const char *rels[] = { R535, R550, R570, R580 };
        bool saw_missing = false;

        for (size_t r = 0; r < ELEMENTSOF(rels); r++) {
                _cleanup_env_ struct env *e = env_new(rels[r], false);

                for (int cmd = 0; cmd < _NVV_CMD_MAX; cmd++) {
                        _cleanup_free_ union nvv_cmd_any *io = io_new();
                        struct nvv_gsp_state before, after;

                        if (fw_has(e->fw, cmd))
                                continue;
                        saw_missing = true;
                        nvv_gsp_get_state(e->g, &before);
                        io->create_device.type_id = TYPE(8);
                        io->set_heterogeneous_mode.enabled = true;
                        assert_string_equal(run(e, cmd, io), "NV_ERR_NOT_SUPPORTED");
                        nvv_gsp_get_state(e->g, &after);
                        assert_int_equal(before.n_vgpus, after.n_vgpus);
                        assert_int_equal(before.n_types, after.n_types);
                        assert_int_equal(before.n_hosts, after.n_hosts);
                        assert_int_equal(before.heterogeneous_mode, after.heterogeneous_mode);
                        assert_int_equal(before.heterogeneous_timesliced, after.heterogeneous_timesliced);
                        assert_int_equal(before.power_state, after.power_state);
                        assert_memory_equal(&before.sched, &after.sched, sizeof(before.sched));
                }
                /* Programming errors are errno, not statuses. */
                {
                        union nvv_cmd_any *io = io_new();
                        const char *st = NULL;

                        assert_int_equal(nvv_gsp_handle(e->g, -1, io, &st), -EINVAL);
                        assert_int_equal(nvv_gsp_handle(e->g, _NVV_CMD_MAX, io, &st), -EINVAL);
                        assert_int_equal(nvv_gsp_handle(e->g, NVV_CMD_GET_FEATURES, NULL, &st), -EINVAL);
                        assert_int_equal(nvv_gsp_handle(e->g, NVV_CMD_GET_FEATURES, io, NULL), -EINVAL);
                        assert_int_equal(nvv_gsp_handle(NULL, NVV_CMD_GET_FEATURES, io, &st), -EINVAL);
                        assert_null(st);
                        free(io);
                }
        }
        assert_true(saw_missing); /* the premise: some release lacks some command */
        assert_null(fw_get(R535)->commands[NVV_CMD_CREATE_DEVICE]);
        assert_null(fw_get(R550)->commands[NVV_CMD_DELETE_DEVICE]);
}

static void test_get_features(void **state)
{
        const char *rels[] = { R535, R570 };

        for (size_t r = 0; r < ELEMENTSOF(rels); r++) {
                struct nvv_gsp_config c = test_cfg;
                _cleanup_env_ struct env *e = NULL;
                _cleanup_free_ union nvv_cmd_any *io = io_new();

                e = env_new_cfg(rels[r], &c, false, false);
                io->get_features.firmware_version[0] = 'z';
                assert_string_equal(run(e, NVV_CMD_GET_FEATURES, io), "NV_OK");
                assert_true(io->get_features.valid);
                assert_string_equal(io->get_features.firmware_version, rels[r]);
                env_free(TAKE_PTR(e));

                snprintf(c.firmware_version, sizeof(c.firmware_version), "%s.77", rels[r]);
                e = env_new_cfg(rels[r], &c, false, false);
                memset(io, 0, sizeof(*io));
                assert_string_equal(run(e, NVV_CMD_GET_FEATURES, io), "NV_OK");
                assert_string_equal(io->get_features.firmware_version, c.firmware_version);
        }
}

/* ---- §2 the type table ---- */

static void upload_n(struct env *e, bool discard, uint32_t first_id, uint32_t n, const char *expect)
{
        _cleanup_free_ union nvv_cmd_any *io = io_new();

        assert_true(n <= NVV_MAX_VGPU_TYPES);
        io->add_vgpu_types.discard = discard;
        io->add_vgpu_types.count = n;
        for (uint32_t i = 0; i < n; i++) {
                make_type(&io->add_vgpu_types.types[i], 8, true);
                io->add_vgpu_types.types[i].type_id = first_id + i;
        }
        assert_string_equal(run(e, NVV_CMD_ADD_VGPU_TYPES, io), expect);
}

static size_t n_types(struct env *e)
{
        struct nvv_gsp_state s;

        nvv_gsp_get_state(e->g, &s);
        return s.n_types;
}

static void test_type_table(void **state)
{
        const char *rels[] = { R570, R580 };

        for (size_t r = 0; r < ELEMENTSOF(rels); r++) {
                _cleanup_env_ struct env *e = env_new_cfg(rels[r], &test_cfg, false, false);
                _cleanup_free_ union nvv_cmd_any *io = io_new();
                uint32_t max = e->fw->sizing.max_vgpu_types_per_pgpu;
                struct nvv_vgpu_type t;

                upload(e, true);
                assert_int_equal(n_types(e), ELEMENTSOF(sizes_gb));
                for (size_t i = 0; i < ELEMENTSOF(sizes_gb); i++) {
                        make_type(&t, sizes_gb[i], true);
                        assert_memory_equal(nvv_gsp_find_type(e->g, TYPE(sizes_gb[i])), &t, sizeof(t));
                        assert_memory_equal(nvv_gsp_get_type(e->g, i), &t, sizeof(t));
                }
                assert_null(nvv_gsp_get_type(e->g, ELEMENTSOF(sizes_gb)));

                /* Without discard: added; an id present is replaced in place. */
                io->add_vgpu_types.count = 2;
                make_type(&io->add_vgpu_types.types[0], 8, true);
                io->add_vgpu_types.types[0].max_instance = 3;
                make_type(&io->add_vgpu_types.types[1], 8, true);
                io->add_vgpu_types.types[1].type_id = 500;
                assert_string_equal(run(e, NVV_CMD_ADD_VGPU_TYPES, io), "NV_OK");
                assert_int_equal(n_types(e), ELEMENTSOF(sizes_gb) + 1);
                assert_int_equal(nvv_gsp_find_type(e->g, TYPE(8))->max_instance, 3);
                assert_int_equal(nvv_gsp_get_type(e->g, 4)->type_id, TYPE(8));
                assert_non_null(nvv_gsp_find_type(e->g, 500));

                /* discard replaces the table. */
                upload_n(e, true, 1, 2, "NV_OK");
                assert_int_equal(n_types(e), 2);
                assert_null(nvv_gsp_find_type(e->g, TYPE(8)));

                /* More than the release's limit, counted after the merge; nothing changes. */
                upload_n(e, false, 1000, max - 1, "NV_ERR_INSUFFICIENT_RESOURCES");
                assert_int_equal(n_types(e), 2);
                upload_n(e, false, 1000, max - 2, "NV_OK");
                assert_int_equal(n_types(e), max);
                upload_n(e, false, 1, 2, "NV_OK"); /* replacing only */
                upload_n(e, false, 5000, 1, "NV_ERR_INSUFFICIENT_RESOURCES");
                assert_int_equal(n_types(e), max);
                upload_n(e, true, 7, MIN(max, NVV_MAX_VGPU_TYPES), "NV_OK");
                assert_int_equal(n_types(e), max);
                if (max < NVV_MAX_VGPU_TYPES)
                        upload_n(e, true, 7, max + 1, "NV_ERR_INSUFFICIENT_RESOURCES");
                /* Duplicates inside one upload count once; the later one wins. */
                memset(io, 0, sizeof(*io));
                io->add_vgpu_types.discard = true;
                io->add_vgpu_types.count = 3;
                for (int i = 0; i < 3; i++)
                        make_type(&io->add_vgpu_types.types[i], 4, true);
                io->add_vgpu_types.types[2].max_instance = 5;
                assert_string_equal(run(e, NVV_CMD_ADD_VGPU_TYPES, io), "NV_OK");
                assert_int_equal(n_types(e), 1);
                assert_int_equal(nvv_gsp_find_type(e->g, TYPE(4))->max_instance, 5);

                /* Invalid types; nothing changes. */
                for (int bad = 0; bad < 4; bad++) {
                        memset(io, 0, sizeof(*io));
                        io->add_vgpu_types.discard = true;
                        io->add_vgpu_types.count = 2;
                        make_type(&io->add_vgpu_types.types[0], 2, true);
                        make_type(&io->add_vgpu_types.types[1], 16, true);
                        if (bad == 0)
                                io->add_vgpu_types.types[1].max_instance = 0;
                        else if (bad == 1)
                                io->add_vgpu_types.types[1].fb_length = 0;
                        else if (bad == 2)
                                io->add_vgpu_types.types[1].homogeneous_placement_count = NVV_MAX_PLACEMENTS + 1;
                        else
                                io->add_vgpu_types.types[1].heterogeneous_placement_count = NVV_MAX_PLACEMENTS + 1;
                        assert_string_equal(run(e, NVV_CMD_ADD_VGPU_TYPES, io), "NV_ERR_INVALID_ARGUMENT");
                        assert_int_equal(n_types(e), 1);
                        assert_non_null(nvv_gsp_find_type(e->g, TYPE(4)));
                }
                memset(io, 0, sizeof(*io));
                io->add_vgpu_types.count = NVV_MAX_VGPU_TYPES + 1;
                assert_string_equal(run(e, NVV_CMD_ADD_VGPU_TYPES, io), "NV_ERR_INVALID_ARGUMENT");

                /* discard while vGPUs exist: IN_USE; adding is fine. */
                upload(e, true);
                create_ok(e, TYPE(8), 1);
                upload_n(e, true, 1, 1, "NV_ERR_IN_USE");
                assert_int_equal(n_types(e), ELEMENTSOF(sizes_gb));
                upload_n(e, false, 600, 1, "NV_OK");
                /* Order as on the page: the count first, then IN_USE, then the types. */
                upload_n(e, true, 1, max + (max < NVV_MAX_VGPU_TYPES), max < NVV_MAX_VGPU_TYPES
                                                                            ? "NV_ERR_INSUFFICIENT_RESOURCES"
                                                                            : "NV_ERR_IN_USE");
                memset(io, 0, sizeof(*io));
                io->add_vgpu_types.discard = true;
                io->add_vgpu_types.count = 1;
                make_type(&io->add_vgpu_types.types[0], 2, true);
                io->add_vgpu_types.types[0].max_instance = 0;
                assert_string_equal(run(e, NVV_CMD_ADD_VGPU_TYPES, io), "NV_ERR_IN_USE");
        }
}

/* ---- §3 modes ---- */

static void test_modes(void **state)
{
        _cleanup_env_ struct env *e = env_new_cfg(R570, &test_cfg, false, false);
        _cleanup_free_ union nvv_cmd_any *io = io_new();
        struct nvv_gsp_state s;
        uint32_t id;

        upload(e, true);
        nvv_gsp_get_state(e->g, &s);
        assert_false(s.heterogeneous_mode); /* default: homogeneous */

        io->set_heterogeneous_mode.enabled = true;
        assert_string_equal(run(e, NVV_CMD_SET_HETEROGENEOUS_MODE, io), "NV_ERR_NOT_SUPPORTED");
        io->set_vgpu_mgr_config.heterogeneous_timesliced = true;
        assert_string_equal(run(e, NVV_CMD_SET_VGPU_MGR_CONFIG, io), "NV_OK");
        memset(io, 0, sizeof(*io));
        io->set_heterogeneous_mode.enabled = true;
        assert_string_equal(run(e, NVV_CMD_SET_HETEROGENEOUS_MODE, io), "NV_OK");
        nvv_gsp_get_state(e->g, &s);
        assert_true(s.heterogeneous_mode);

        id = create_ok(e, TYPE(8), 1);
        for (int en = 0; en < 2; en++) {
                io->set_heterogeneous_mode.enabled = en;
                assert_string_equal(run(e, NVV_CMD_SET_HETEROGENEOUS_MODE, io), "NV_ERR_IN_USE");
        }
        /* IN_USE comes before NOT_SUPPORTED. */
        memset(io, 0, sizeof(*io));
        assert_string_equal(run(e, NVV_CMD_SET_VGPU_MGR_CONFIG, io), "NV_OK");
        io->set_heterogeneous_mode.enabled = true;
        assert_string_equal(run(e, NVV_CMD_SET_HETEROGENEOUS_MODE, io), "NV_ERR_IN_USE");
        assert_string_equal(delete(e, 1, id), "NV_OK");
        assert_string_equal(run(e, NVV_CMD_SET_HETEROGENEOUS_MODE, io), "NV_ERR_NOT_SUPPORTED");
        io->set_heterogeneous_mode.enabled = false;
        assert_string_equal(run(e, NVV_CMD_SET_HETEROGENEOUS_MODE, io), "NV_OK");
        nvv_gsp_get_state(e->g, &s);
        assert_false(s.heterogeneous_mode);
}

/* ---- §4 create ---- */

static void test_create_checks(void **state)
{
        const char *rels[] = { R570, R580 };

        for (size_t r = 0; r < ELEMENTSOF(rels); r++) {
                _cleanup_env_ struct env *e = env_new_cfg(rels[r], &test_cfg, false, false);
                struct nvv_cmd_create_device c;

                /* 1: no type */
                assert_string_equal(create(e, TYPE(8), 1, NULL), "NV_ERR_OBJECT_NOT_FOUND");
                upload(e, true);
                assert_string_equal(create(e, 4242, 1, NULL), "NV_ERR_OBJECT_NOT_FOUND");
                assert_string_equal(create(e, TYPE(8), 1, &c), "NV_OK");
                assert_int_equal(c.vgpu_id, 1);
                assert_int_equal(c.placement_id, 0);
                assert_int_equal(c.gpu_instance_id, 0);
                /* 1 before 2 */
                assert_string_equal(create(e, 4242, 1, NULL), "NV_ERR_OBJECT_NOT_FOUND");
                /* 2: name used (before 5: another type in homogeneous mode) */
                assert_string_equal(create(e, TYPE(8), 1, NULL), "NV_ERR_IN_USE");
                assert_string_equal(create(e, TYPE(4), 1, NULL), "NV_ERR_IN_USE");
                /* 5: homogeneous */
                assert_string_equal(create(e, TYPE(4), 2, NULL), "NV_ERR_INVALID_STATE");
                /* 4: max_instance 6 for 8 GiB */
                for (unsigned i = 2; i <= 6; i++)
                        assert_int_equal(create_ok(e, TYPE(8), i), i);
                assert_string_equal(create(e, TYPE(8), 7, NULL), "NV_ERR_INSUFFICIENT_RESOURCES");
                /* a type with room left still meets 5 */
                assert_string_equal(create(e, TYPE(4), 7, NULL), "NV_ERR_INVALID_STATE");
                assert_int_equal(n_vgpus(e), 6);
                /* vgpu_id: lowest unused from 1 */
                assert_string_equal(delete(e, 2, 2), "NV_OK");
                assert_string_equal(delete(e, 5, 5), "NV_OK");
                assert_int_equal(create_ok(e, TYPE(8), 9), 2);
                assert_int_equal(create_ok(e, TYPE(8), 10), 5);
        }
        /* 3 before 4, 2 before 3: a GPU with 2 VFs. */
        {
                struct nvv_gsp_config cfg = test_cfg;
                _cleanup_env_ struct env *e = NULL;

                cfg.num_vfs = 2;
                e = env_new_cfg(R570, &cfg, true, false);
                create_ok(e, TYPE(8), 1);
                create_ok(e, TYPE(8), 2);
                assert_string_equal(create(e, TYPE(8), 2, NULL), "NV_ERR_IN_USE");
                assert_string_equal(create(e, TYPE(4), 3, NULL), "NV_ERR_INSUFFICIENT_RESOURCES"); /* 3 before 5 */
        }
}

/* available: exactly how many creates of the type succeed one after the other now, and the
 * count leaves the firmware as it was. */
static void check_available(struct env *e)
{
        struct nvv_gsp_state before, after;

        for (size_t i = 0; i < ELEMENTSOF(sizes_gb); i++) {
                uint32_t t = TYPE(sizes_gb[i]), ids[NVV_MAX_VGPUS];
                unsigned a, k;

                nvv_gsp_get_state(e->g, &before);
                a = nvv_gsp_available(e->g, t);
                nvv_gsp_get_state(e->g, &after);
                assert_int_equal(before.n_vgpus, after.n_vgpus);
                assert_int_equal(a > 0, nvv_gsp_creatable(e->g, t));
                for (k = 0; k < a; k++) {
                        struct nvv_cmd_create_device c;

                        assert_string_equal(create(e, t, 100 + k, &c), "NV_OK");
                        ids[k] = c.vgpu_id;
                }
                assert_string_not_equal(create(e, t, 200, NULL), "NV_OK");
                assert_int_equal(nvv_gsp_available(e->g, t), 0);
                for (k = 0; k < a; k++)
                        assert_string_equal(delete(e, 100 + k, ids[k]), "NV_OK");
        }
}

static void test_available(void **state)
{
        _cleanup_env_ struct env *e = env_new_cfg(R570, &test_cfg, false, false);
        _cleanup_env_ struct env *m = env_new(R570, true);

        (void) state;
        assert_int_equal(nvv_gsp_available(e->g, TYPE(8)), 0); /* no type table yet */
        upload(e, true);
        create_ok(e, TYPE(8), 1);
        check_available(e);
        /* Equal-size mode with an 8 GiB vGPU: 5 more 8 GiB (max_instance 6), no other size. */
        assert_int_equal(nvv_gsp_available(e->g, TYPE(8)), 5);
        assert_int_equal(nvv_gsp_available(e->g, TYPE(4)), 0);
        /* Mixed-size mode: every size, as many as the placements left allow. */
        create_ok(m, TYPE(1), 1);
        check_available(m);
        assert_true(nvv_gsp_available(m->g, TYPE(24)) == 1);
}

/* Creatable types: what create_device would accept now, by every check but the name's. */
static void test_creatable(void **state)
{
        _cleanup_env_ struct env *e = env_new_cfg(R570, &test_cfg, false, false);
        uint32_t ids[6];

        assert_false(nvv_gsp_creatable(e->g, TYPE(8))); /* no type table yet */
        upload(e, true);
        for (size_t i = 0; i < ELEMENTSOF(sizes_gb); i++)
                assert_true(nvv_gsp_creatable(e->g, TYPE(sizes_gb[i])));
        assert_false(nvv_gsp_creatable(e->g, 4242));
        /* Equal-size mode: once an 8 GiB vGPU exists, only 8 GiB stays creatable... */
        ids[0] = create_ok(e, TYPE(8), 1);
        assert_true(nvv_gsp_creatable(e->g, TYPE(8)));
        assert_false(nvv_gsp_creatable(e->g, TYPE(4)));
        /* ...until its max_instance (6) is reached; the name check does not apply. */
        for (unsigned i = 2; i <= 6; i++)
                ids[i - 1] = create_ok(e, TYPE(8), i);
        assert_false(nvv_gsp_creatable(e->g, TYPE(8)));
        assert_string_equal(delete(e, 3, ids[2]), "NV_OK");
        assert_true(nvv_gsp_creatable(e->g, TYPE(8)));
        /* The answer agrees with create itself, for every type. */
        for (size_t i = 0; i < ELEMENTSOF(sizes_gb); i++) {
                bool c = nvv_gsp_creatable(e->g, TYPE(sizes_gb[i]));
                const char *st = create(e, TYPE(sizes_gb[i]), 100 + (unsigned) i, NULL);

                assert_int_equal(c, streq(st, "NV_OK"));
                if (c)
                        break; /* one create changes the answers */
        }
}

static void test_placement_homogeneous(void **state)
{
        _cleanup_env_ struct env *e = env_new(R570, false);
        struct nvv_cmd_create_device c;
        struct nvv_gsp_vgpu_info v;

        /* 8 GiB: ids 0, 8, ..., 40 in order; FB at id GiB, 8 GiB long. */
        for (unsigned i = 0; i < 6; i++) {
                assert_string_equal(create(e, TYPE(8), i + 1, &c), "NV_OK");
                assert_int_equal(c.placement_id, 8 * i);
                assert_true(vgpu_by_id(e, c.vgpu_id, &v));
                assert_int_equal(v.fb_offset, 8 * i * GiB);
                assert_int_equal(v.fb_length, 8 * GiB);
                assert_int_equal(v.placement_size, 8);
                assert_true(v.named);
        }
        /* The lowest free id is taken again. */
        assert_string_equal(delete(e, 5, 5), "NV_OK");
        assert_string_equal(delete(e, 3, 3), "NV_OK");
        assert_string_equal(create(e, TYPE(8), 20, &c), "NV_OK");
        assert_int_equal(c.placement_id, 16);
        assert_string_equal(create(e, TYPE(8), 21, &c), "NV_OK");
        assert_int_equal(c.placement_id, 32);

        /* The 48 GiB type takes the whole GPU. */
        {
                _cleanup_env_ struct env *f = env_new(R580, false);

                assert_string_equal(create(f, TYPE(48), 1, &c), "NV_OK");
                assert_int_equal(c.placement_id, 0);
                assert_string_equal(create(f, TYPE(48), 2, NULL), "NV_ERR_INSUFFICIENT_RESOURCES");
        }
}

static void test_placement_mixed(void **state)
{
        _cleanup_env_ struct env *e = env_new(R570, true);
        struct nvv_cmd_create_device c;

        /* Mixed mode uses the heterogeneous list: 1 GiB may only sit on 24..47. */
        assert_string_equal(create(e, TYPE(1), 1, &c), "NV_OK");
        assert_int_equal(c.placement_id, 24);
        /* 24 GiB: {24, 0} listed descending; 24 is taken by the 1 GiB vGPU: 0. */
        assert_string_equal(create(e, TYPE(24), 2, &c), "NV_OK");
        assert_int_equal(c.placement_id, 0);
        assert_string_equal(create(e, TYPE(24), 3, NULL), "NV_ERR_INSUFFICIENT_RESOURCES");
        /* 16 GiB: {32, 16, 0}: 0 and 16 overlap the 24 GiB vGPU: 32. */
        assert_string_equal(create(e, TYPE(16), 4, &c), "NV_OK");
        assert_int_equal(c.placement_id, 32);
        /* 4 GiB: 24..27 holds unit 24; 28..31 is free. */
        assert_string_equal(create(e, TYPE(4), 5, &c), "NV_OK");
        assert_int_equal(c.placement_id, 28);
        /* 1 GiB: 25, 26, 27, then the mixed list is exhausted (28..47 taken). */
        for (unsigned i = 0; i < 3; i++) {
                assert_string_equal(create(e, TYPE(1), 6 + i, &c), "NV_OK");
                assert_int_equal(c.placement_id, 25 + i);
        }
        assert_string_equal(create(e, TYPE(1), 9, NULL), "NV_ERR_INSUFFICIENT_RESOURCES");
        /* Same GPU in homogeneous mode: 1 GiB starts at 0. */
        {
                _cleanup_env_ struct env *h = env_new(R570, false);

                assert_string_equal(create(h, TYPE(1), 1, &c), "NV_OK");
                assert_int_equal(c.placement_id, 0);
        }
}

static void test_channels(void **state)
{
        _cleanup_env_ struct env *e = env_new(R580, true);
        struct nvv_gsp_vgpu_info v;
        uint32_t id;

        /* prev_pow2(2048 / max_instance): 1 GiB 2048/48=42 -> 32, 8 GiB 2048/6=341 -> 256.
         * Naturally aligned, lowest free. */
        id = create_ok(e, TYPE(1), 1);
        assert_true(vgpu_by_id(e, id, &v));
        assert_int_equal(v.chid_offset, 0);
        assert_int_equal(v.num_chids, 32);
        id = create_ok(e, TYPE(8), 2);
        assert_true(vgpu_by_id(e, id, &v));
        assert_int_equal(v.chid_offset, 256);
        assert_int_equal(v.num_chids, 256);
        id = create_ok(e, TYPE(1), 3);
        assert_true(vgpu_by_id(e, id, &v));
        assert_int_equal(v.chid_offset, 32);
        id = create_ok(e, TYPE(16), 4); /* 2048/3 = 682 -> 512 */
        assert_true(vgpu_by_id(e, id, &v));
        assert_int_equal(v.placement_id, 32);
        assert_int_equal(v.chid_offset, 512);
        assert_int_equal(v.num_chids, 512);

        /* Check 7 alone: a type with max_instance 1 wants every channel. */
        {
                struct nvv_gsp_config cfg = test_cfg;
                _cleanup_env_ struct env *f = NULL;
                _cleanup_free_ union nvv_cmd_any *io = io_new();

                cfg.total_chids = 64;
                f = env_new_cfg(R570, &cfg, false, true);
                io->add_vgpu_types.discard = true;
                io->add_vgpu_types.count = 2;
                make_type(&io->add_vgpu_types.types[0], 1, true);
                make_type(&io->add_vgpu_types.types[1], 2, true);
                io->add_vgpu_types.types[1].max_instance = 1;
                assert_string_equal(run(f, NVV_CMD_ADD_VGPU_TYPES, io), "NV_OK");
                id = create_ok(f, TYPE(1), 1); /* 64/48 -> 1 channel at 0 */
                assert_true(vgpu_by_id(f, id, &v));
                assert_int_equal(v.num_chids, 1);
                assert_string_equal(create(f, TYPE(2), 2, NULL), "NV_ERR_INSUFFICIENT_RESOURCES");
                assert_string_equal(delete(f, 1, id), "NV_OK");
                id = create_ok(f, TYPE(2), 2);
                assert_true(vgpu_by_id(f, id, &v));
                assert_int_equal(v.num_chids, 64);
                assert_string_equal(create(f, TYPE(1), 3, NULL), "NV_ERR_INSUFFICIENT_RESOURCES");
        }
        /* Fewer channels than max_instance: a block of 0 can never be given. */
        {
                struct nvv_gsp_config cfg = test_cfg;
                _cleanup_env_ struct env *f = NULL;

                cfg.total_chids = 47;
                f = env_new_cfg(R570, &cfg, true, false);
                assert_string_equal(create(f, TYPE(1), 1, NULL), "NV_ERR_INSUFFICIENT_RESOURCES");
                assert_string_equal(create(f, TYPE(2), 1, NULL), "NV_OK");
        }
}

/* Types without placement ids (535): first-fit FB in VMMU segment steps. */
static void test_first_fit(void **state)
{
        _cleanup_env_ struct env *e = env_new(R535, false);
        _cleanup_free_ union nvv_cmd_any *io = io_new();
        struct nvv_gsp_vgpu_info v;

        /* 8 GiB - 64 MiB + 64 MiB reservation = 8 GiB per vGPU, from 0. */
        for (uint32_t gfid = 1; gfid <= 3; gfid++) {
                assert_string_equal(alloc(e, gfid, 0, TYPE(8), 7 /* ignored: 535 carries none */), "NV_OK");
                assert_true(vgpu_by_gfid(e, gfid, &v));
                assert_int_equal(v.placement_id, NONE);
                assert_int_equal(v.placement_size, 0);
                assert_int_equal(v.fb_offset, (gfid - 1) * 8 * GiB);
                assert_int_equal(v.fb_length, 8 * GiB);
                assert_false(v.named);
        }
        /* Freeing the host device frees the vGPU it created; the gap is reused. */
        assert_string_equal(free_host(e, 2), "NV_OK");
        assert_int_equal(n_vgpus(e), 2);
        assert_string_equal(alloc(e, 4, 0, TYPE(8), NONE), "NV_OK");
        assert_true(vgpu_by_gfid(e, 4, &v));
        assert_int_equal(v.fb_offset, 8 * GiB);

        /* Odd sizes round up to the segment, reservation included: 300 + 300 MiB -> 768 MiB
         * (300 MiB alone would round to 512). */
        io->add_vgpu_types.count = 1;
        make_type(&io->add_vgpu_types.types[0], 1, false);
        io->add_vgpu_types.types[0].fb_length = 300 * MiB;
        io->add_vgpu_types.types[0].fb_reservation = 300 * MiB;
        io->add_vgpu_types.types[0].type_id = 77;
        io->add_vgpu_types.types[0].max_instance = 10;
        for (uint32_t gfid = 1; gfid <= 4; gfid++)
                if (nvv_gsp_get_task(e->g, gfid) != NVV_GSP_TASK_NONE)
                        assert_string_equal(free_host(e, gfid), "NV_OK");
        assert_int_equal(n_vgpus(e), 0);
        io->add_vgpu_types.discard = true;
        assert_string_equal(run(e, NVV_CMD_ADD_VGPU_TYPES, io), "NV_OK");
        for (uint32_t gfid = 1; gfid <= 3; gfid++) {
                assert_string_equal(alloc(e, gfid, 0, 77, NONE), "NV_OK");
                assert_true(vgpu_by_gfid(e, gfid, &v));
                assert_int_equal(v.fb_offset, (gfid - 1) * 768 * MiB);
                assert_int_equal(v.fb_length, 768 * MiB);
        }
        assert_string_equal(free_host(e, 2), "NV_OK");
        assert_string_equal(alloc(e, 9, 0, 77, NONE), "NV_OK");
        assert_true(vgpu_by_gfid(e, 9, &v));
        assert_int_equal(v.fb_offset, 768 * MiB);

        /* FB runs out before max_instance: 10 GiB vGPUs, 4 fit in 48 GiB. */
        {
                _cleanup_env_ struct env *f = env_new_cfg(R535, &test_cfg, false, false);

                memset(io, 0, sizeof(*io));
                io->add_vgpu_types.count = 1;
                make_type(&io->add_vgpu_types.types[0], 1, false);
                io->add_vgpu_types.types[0].fb_length = 10 * GiB - 64 * MiB;
                io->add_vgpu_types.types[0].max_instance = 10;
                assert_string_equal(run(f, NVV_CMD_ADD_VGPU_TYPES, io), "NV_OK");
                for (uint32_t gfid = 1; gfid <= 4; gfid++)
                        assert_string_equal(alloc(f, gfid, 0, TYPE(1), NONE), "NV_OK");
                assert_string_equal(alloc(f, 5, 0, TYPE(1), NONE), "NV_ERR_INSUFFICIENT_RESOURCES");
                assert_int_equal(nvv_gsp_get_task(f->g, 5), NVV_GSP_TASK_NONE);
        }
}

/* First-fit steps are VMMU segments, not the vGPU's size: a table without placement ids in
 * mixed mode (570) puts a 2 GiB vGPU right after a 1 GiB one. */
static void test_first_fit_mixed(void **state)
{
        _cleanup_env_ struct env *e = env_new_cfg(R570, &test_cfg, false, true);
        _cleanup_free_ union nvv_cmd_any *io = io_new();
        struct nvv_gsp_vgpu_info v;
        uint32_t id;

        io->add_vgpu_types.discard = true;
        for (size_t i = 0; i < ELEMENTSOF(sizes_gb); i++)
                make_type(&io->add_vgpu_types.types[io->add_vgpu_types.count++], sizes_gb[i], false);
        assert_string_equal(run(e, NVV_CMD_ADD_VGPU_TYPES, io), "NV_OK");
        id = create_ok(e, TYPE(1), 1);
        assert_true(vgpu_by_id(e, id, &v));
        assert_int_equal(v.fb_offset, 0);
        assert_int_equal(v.placement_id, NONE);
        id = create_ok(e, TYPE(2), 2);
        assert_true(vgpu_by_id(e, id, &v));
        assert_int_equal(v.fb_offset, 1 * GiB);
        assert_int_equal(v.fb_length, 2 * GiB);
        id = create_ok(e, TYPE(1), 3);
        assert_true(vgpu_by_id(e, id, &v));
        assert_int_equal(v.fb_offset, 3 * GiB);
        /* 44 GiB left, from 4 GiB: the 48 GiB type cannot fit, a 24 GiB one can. */
        assert_string_equal(create(e, TYPE(48), 4, NULL), "NV_ERR_INSUFFICIENT_RESOURCES");
        id = create_ok(e, TYPE(24), 5);
        assert_true(vgpu_by_id(e, id, &v));
        assert_int_equal(v.fb_offset, 4 * GiB);
}

/* A placement's FB must fit inside its units: a type whose FB outgrows placement_size
 * units is never placed, though its units are free. */
static void test_placement_fb_fits_units(void **state)
{
        _cleanup_env_ struct env *e = env_new_cfg(R570, &test_cfg, false, false);
        _cleanup_free_ union nvv_cmd_any *io = io_new();

        io->add_vgpu_types.discard = true;
        io->add_vgpu_types.count = 2;
        make_type(&io->add_vgpu_types.types[0], 2, true);
        io->add_vgpu_types.types[0].fb_length = 2 * GiB + 1; /* rounds to 2.25 GiB > 2 units */
        make_type(&io->add_vgpu_types.types[1], 4, true);
        io->add_vgpu_types.types[1].fb_length = 4 * GiB; /* exactly 4 units */
        assert_string_equal(run(e, NVV_CMD_ADD_VGPU_TYPES, io), "NV_OK");
        assert_string_equal(create(e, TYPE(2), 1, NULL), "NV_ERR_INSUFFICIENT_RESOURCES");
        assert_int_equal(n_vgpus(e), 0);
        assert_string_equal(create(e, TYPE(4), 1, NULL), "NV_OK");
}

/* 550.40.07: no create_device; the allocation carries a placement id. */
static void test_alloc_creates(void **state)
{
        _cleanup_env_ struct env *e = env_new(R550, false);
        _cleanup_free_ union nvv_cmd_any *io = io_new();
        uint32_t invalid = e->fw->sizing.placement_id_invalid;
        struct nvv_gsp_vgpu_info v;
        struct nvv_gsp_host_info h;

        assert_true(nvv_wplan_has_field(e->fw->commands[NVV_CMD_ALLOC_HOST_VGPU]->plan, "placement_id"));
        assert_int_not_equal(invalid, 0);

        assert_string_equal(alloc(e, 0, 0, TYPE(8), NONE), "NV_ERR_INVALID_ARGUMENT");
        assert_string_equal(alloc(e, test_cfg.num_vfs + 1, 0, TYPE(8), NONE), "NV_ERR_INVALID_ARGUMENT");
        assert_string_equal(alloc(e, 1, 0, 4242, NONE), "NV_ERR_OBJECT_NOT_FOUND");
        /* none, either spelling, means lowest free */
        assert_string_equal(alloc(e, 1, 11, TYPE(8), NONE), "NV_OK");
        assert_true(vgpu_by_gfid(e, 1, &v));
        assert_int_equal(v.placement_id, 0);
        assert_true(v.named);
        assert_string_equal(alloc(e, 2, 0, TYPE(8), invalid), "NV_OK");
        assert_true(vgpu_by_gfid(e, 2, &v));
        assert_int_equal(v.placement_id, 8);
        assert_false(v.named);
        /* a legal, free id is used as given */
        assert_string_equal(alloc(e, 3, 0, TYPE(8), 32), "NV_OK");
        assert_true(vgpu_by_gfid(e, 3, &v));
        assert_int_equal(v.placement_id, 32);
        assert_int_equal(v.fb_offset, 32 * GiB);
        /* not legal for the type; legal but taken */
        assert_string_equal(alloc(e, 4, 0, TYPE(8), 3), "NV_ERR_INVALID_ARGUMENT");
        assert_string_equal(alloc(e, 4, 0, TYPE(8), 8), "NV_ERR_INSUFFICIENT_RESOURCES");
        /* gfid in use (the name check of §4, keyed by gfid) and a used name */
        assert_string_equal(alloc(e, 1, 0, TYPE(8), NONE), "NV_ERR_IN_USE");
        assert_string_equal(alloc(e, 4, 11, TYPE(8), NONE), "NV_ERR_IN_USE");
        /* homogeneous */
        assert_string_equal(alloc(e, 4, 0, TYPE(4), NONE), "NV_ERR_INVALID_STATE");
        assert_string_equal(alloc(e, 4, 0, TYPE(8), NONE), "NV_OK");
        assert_true(vgpu_by_gfid(e, 4, &v));
        assert_int_equal(v.placement_id, 16);
        assert_int_equal(nvv_gsp_get_host(e->g, 4, &h), 0);
        assert_int_equal(h.task, NVV_GSP_TASK_ALLOCATED);
        assert_int_equal(h.vm_pid, 1004);

        /* get_start_data finds the vGPU by its name. */
        mkname(io->get_start_data.mdev_uuid, 11);
        assert_string_equal(run(e, NVV_CMD_GET_START_DATA, io), "NV_OK");
        assert_true(vgpu_by_gfid(e, 1, &v));
        assert_int_equal(io->get_start_data.vgpu_id, v.vgpu_id);
        assert_int_equal(io->get_start_data.qemu_pid, 1001);
        assert_int_equal(io->get_start_data.gpu_pci_id, test_cfg.gpu_pci_id);
        assert_int_equal(io->get_start_data.gpu_pci_bdf, test_cfg.gpu_pci_bdf);
        memset(io, 0, sizeof(*io));
        mkname(io->get_start_data.mdev_uuid, 12);
        assert_string_equal(run(e, NVV_CMD_GET_START_DATA, io), "NV_ERR_OBJECT_NOT_FOUND");

        /* Mixed mode on 550: the heterogeneous list. */
        {
                _cleanup_env_ struct env *m = env_new(R550, true);

                assert_string_equal(alloc(m, 1, 0, TYPE(1), 0), "NV_ERR_INVALID_ARGUMENT");
                assert_string_equal(alloc(m, 1, 0, TYPE(1), 30), "NV_OK");
                assert_string_equal(alloc(m, 2, 0, TYPE(1), NONE), "NV_OK");
                assert_true(vgpu_by_gfid(m, 2, &v));
                assert_int_equal(v.placement_id, 24);
                assert_string_equal(alloc(m, 3, 0, TYPE(48), NONE), "NV_ERR_INSUFFICIENT_RESOURCES");
        }
}

/* 550 with a table without placement ids: a placement id is never legal, "none" is
 * first-fit, and a type larger than the usable FB never fits. */
static void test_alloc_first_fit_placement(void **state)
{
        _cleanup_env_ struct env *e = env_new_cfg(R550, &test_cfg, false, false);
        _cleanup_free_ union nvv_cmd_any *io = io_new();

        io->add_vgpu_types.discard = true;
        io->add_vgpu_types.count = 2;
        make_type(&io->add_vgpu_types.types[0], 8, false);
        make_type(&io->add_vgpu_types.types[1], 48, false);
        io->add_vgpu_types.types[1].fb_length = 49 * GiB;
        assert_string_equal(run(e, NVV_CMD_ADD_VGPU_TYPES, io), "NV_OK");
        assert_string_equal(alloc(e, 1, 0, TYPE(8), 0), "NV_ERR_INVALID_ARGUMENT");
        assert_string_equal(alloc(e, 1, 0, TYPE(8), e->fw->sizing.placement_id_invalid), "NV_OK");
        assert_string_equal(free_host(e, 1), "NV_OK");
        assert_string_equal(alloc(e, 1, 0, TYPE(48), NONE), "NV_ERR_INSUFFICIENT_RESOURCES");
}

/* 570: alloc_host_vgpu binds a created vGPU; delete rules (§5). */
static void test_alloc_bind_delete(void **state)
{
        _cleanup_env_ struct env *e = env_new(R570, false);
        uint32_t a, b;

        a = create_ok(e, TYPE(8), 1);
        b = create_ok(e, TYPE(8), 2);
        assert_string_equal(alloc(e, 0, 1, TYPE(8), NONE), "NV_ERR_INVALID_ARGUMENT");
        assert_string_equal(alloc(e, test_cfg.num_vfs + 1, 1, TYPE(8), NONE), "NV_ERR_INVALID_ARGUMENT");
        assert_string_equal(alloc(e, 1, 3, TYPE(8), NONE), "NV_ERR_OBJECT_NOT_FOUND");
        assert_string_equal(alloc(e, 1, 1, TYPE(4), NONE), "NV_ERR_INVALID_ARGUMENT");
        assert_string_equal(alloc(e, 1, 1, TYPE(8), NONE), "NV_OK");
        assert_int_equal(nvv_gsp_get_task(e->g, 1), NVV_GSP_TASK_ALLOCATED);
        assert_string_equal(alloc(e, 1, 2, TYPE(8), NONE), "NV_ERR_IN_USE"); /* gfid */
        assert_string_equal(alloc(e, 2, 1, TYPE(8), NONE), "NV_ERR_IN_USE"); /* vGPU */
        assert_int_equal(n_vgpus(e), 2);

        /* delete: by name and id */
        assert_string_equal(delete(e, 2, a), "NV_ERR_OBJECT_NOT_FOUND");
        assert_string_equal(delete(e, 1, b), "NV_ERR_OBJECT_NOT_FOUND");
        assert_string_equal(delete(e, 3, a), "NV_ERR_OBJECT_NOT_FOUND");
        /* host device allocated, task running, task cleaned: IN_USE throughout */
        assert_string_equal(delete(e, 1, a), "NV_ERR_IN_USE");
        assert_string_equal(bootload_ok(e, 1), "NV_OK");
        assert_string_equal(delete(e, 1, a), "NV_ERR_IN_USE");
        assert_string_equal(gfid_cmd(e, NVV_CMD_SHUTDOWN_PLUGIN, 1), "NV_OK");
        assert_string_equal(gfid_cmd(e, NVV_CMD_CLEANUP_PLUGIN, 1), "NV_OK");
        assert_string_equal(delete(e, 1, a), "NV_ERR_IN_USE");
        assert_string_equal(gfid_cmd(e, NVV_CMD_FREE_STATES, 1), "NV_OK");
        /* The vGPU outlives its host device on releases with create_device. */
        assert_int_equal(n_vgpus(e), 2);
        assert_string_equal(delete(e, 1, a), "NV_OK");
        assert_string_equal(delete(e, 1, a), "NV_ERR_OBJECT_NOT_FOUND");
        assert_string_equal(delete(e, 2, b), "NV_OK");
        assert_int_equal(n_vgpus(e), 0);
        /* Resources came back: a new vGPU takes placement 0 again. */
        {
                struct nvv_cmd_create_device c;

                assert_string_equal(create(e, TYPE(8), 5, &c), "NV_OK");
                assert_int_equal(c.placement_id, 0);
        }
}

/* ---- §6 the plugin task ---- */

enum op { OP_BOOTLOAD, OP_SHUTDOWN, OP_CLEANUP, OP_FREE_STATES, OP_FREE, _OP_MAX };

static void test_task_state_machine(void **state)
{
        /* From the diagram; "-" = NV_ERR_INVALID_STATE. */
        static const struct {
                const char *status;
                enum nvv_gsp_task to;
        } expect[_NVV_GSP_TASK_MAX][_OP_MAX] = {
#define X(s, t) { s, NVV_GSP_TASK_##t }
#define BAD { "NV_ERR_INVALID_STATE", _NVV_GSP_TASK_MAX }
#define NF { "NV_ERR_OBJECT_NOT_FOUND", NVV_GSP_TASK_NONE }
                [NVV_GSP_TASK_NONE] = { NF, NF, NF, NF, NF },
                [NVV_GSP_TASK_ALLOCATED] = { X("NV_OK", RUNNING), BAD, BAD, BAD, X("NV_OK", NONE) },
                [NVV_GSP_TASK_RUNNING] = { BAD, X("NV_OK", STOPPED), BAD, BAD, BAD },
                [NVV_GSP_TASK_STOPPED] = { BAD, BAD, X("NV_OK", CLEANED), BAD, BAD },
                [NVV_GSP_TASK_CLEANED] = { BAD, BAD, BAD, X("NV_OK", NONE), X("NV_OK", NONE) },
                [NVV_GSP_TASK_CRASHED] = { BAD, X("NV_OK", STOPPED), X("NV_OK", CLEANED), BAD, BAD },
#undef X
#undef BAD
#undef NF
        };
        const char *rels[] = { R535, R550, R570, R580 };

        for (size_t r = 0; r < ELEMENTSOF(rels); r++)
                for (int s = 0; s < _NVV_GSP_TASK_MAX; s++)
                        for (int op = 0; op < _OP_MAX; op++) {
                                _cleanup_env_ struct env *e = env_new(rels[r], false);
                                const char *st, *want = expect[s][op].status;
                                enum nvv_gsp_task to = expect[s][op].to;
                                size_t events;

                                drive_to(e, 3, s);
                                assert_int_equal(nvv_gsp_get_task(e->g, 3), s);
                                events = e->n_ev;
                                switch (op) {
                                case OP_BOOTLOAD:
                                        if (s == NVV_GSP_TASK_NONE)
                                                st = bootload_gfid_only(e, 3);
                                        else {
                                                /* A bootload that fits the vGPU: only the state can refuse it. */
                                                _cleanup_free_ union nvv_cmd_any *io = io_new();

                                                fill_bootload(e, 3, &io->bootload_plugin);
                                                st = run(e, NVV_CMD_BOOTLOAD_PLUGIN, io);
                                        }
                                        break;
                                case OP_SHUTDOWN:
                                        st = gfid_cmd(e, NVV_CMD_SHUTDOWN_PLUGIN, 3);
                                        break;
                                case OP_CLEANUP:
                                        st = gfid_cmd(e, NVV_CMD_CLEANUP_PLUGIN, 3);
                                        break;
                                case OP_FREE_STATES:
                                        st = gfid_cmd(e, NVV_CMD_FREE_STATES, 3);
                                        if (!fw_has(e->fw, NVV_CMD_FREE_STATES)) {
                                                assert_string_equal(st, "NV_ERR_NOT_SUPPORTED");
                                                assert_int_equal(nvv_gsp_get_task(e->g, 3), s);
                                                continue;
                                        }
                                        break;
                                default:
                                        st = free_host(e, 3);
                                        break;
                                }
                                if (!streq(st, want))
                                        fail_msg("%s: %s, op %d: %s, want %s", rels[r], nvv_gsp_task_to_string(s), op,
                                                 st, want);
                                assert_int_equal(nvv_gsp_get_task(e->g, 3), to == _NVV_GSP_TASK_MAX ? (enum nvv_gsp_task) s : to);
                                if (op == OP_BOOTLOAD && streq(st, "NV_OK")) {
                                        assert_int_equal(e->n_ev, events + 1);
                                        assert_int_equal(e->ev[events].event, NVV_EVENT_PLUGIN);
                                        assert_int_equal(e->ev[events].gfid, 3);
                                        assert_int_equal(e->ev[events].notify, NVV_NOTIFY_BOOTLOADED);
                                        assert_int_equal(e->ev[events].task_then, NVV_GSP_TASK_RUNNING);
                                } else
                                        assert_int_equal(e->n_ev, events);
                                /* Other gfids are unknown. */
                                assert_string_equal(gfid_cmd(e, NVV_CMD_SHUTDOWN_PLUGIN, 4), "NV_ERR_OBJECT_NOT_FOUND");
                                assert_string_equal(gfid_cmd(e, NVV_CMD_CLEANUP_PLUGIN, 0), "NV_ERR_OBJECT_NOT_FOUND");
                        }
}

static void test_crash(void **state)
{
        for (int s = 0; s < _NVV_GSP_TASK_MAX; s++) {
                _cleanup_env_ struct env *e = env_new(R570, false);
                size_t events;

                drive_to(e, 2, s);
                events = e->n_ev;
                if (s == NVV_GSP_TASK_RUNNING) {
                        assert_int_equal(nvv_gsp_crash_plugin(e->g, 2), 0);
                        assert_int_equal(nvv_gsp_get_task(e->g, 2), NVV_GSP_TASK_CRASHED);
                        assert_int_equal(e->n_ev, events + 1);
                        assert_int_equal(e->ev[events].notify, NVV_NOTIFY_CRASHED);
                        assert_int_equal(e->ev[events].gfid, 2);
                        /* CRASHED -> cleanup -> free_states */
                        assert_string_equal(gfid_cmd(e, NVV_CMD_CLEANUP_PLUGIN, 2), "NV_OK");
                        assert_string_equal(gfid_cmd(e, NVV_CMD_FREE_STATES, 2), "NV_OK");
                        assert_int_equal(nvv_gsp_get_task(e->g, 2), NVV_GSP_TASK_NONE);
                } else {
                        assert_int_equal(nvv_gsp_crash_plugin(e->g, 2), s == NVV_GSP_TASK_NONE ? -ENOENT : -ESRCH);
                        assert_int_equal(nvv_gsp_get_task(e->g, 2), s);
                        assert_int_equal(e->n_ev, events);
                }
                check_now(e, "crash");
        }
}

static void test_bootload_checks(void **state)
{
        const char *rels[] = { R535, R570, R580 };

        for (size_t r = 0; r < ELEMENTSOF(rels); r++) {
                _cleanup_env_ struct env *e = env_new(rels[r], false);
                struct nvv_cmd_bootload_plugin good, b;
                struct nvv_gsp_vgpu_info v;
                uint32_t max_segs = MIN(e->fw->sizing.max_vmmu_segments, NVV_MAX_FB_SEGMENTS);

                /* gfid 2 holds the second vGPU: non-zero FB and channel offsets. */
                drive_to(e, 1, NVV_GSP_TASK_ALLOCATED);
                drive_to(e, 2, NVV_GSP_TASK_ALLOCATED);
                assert_true(vgpu_by_gfid(e, 2, &v));
                assert_int_not_equal(v.fb_offset, 0);
                assert_int_not_equal(v.chid_offset, 0);
                fill_bootload(e, 2, &good);

#define REFUSED(mutate)                                                                         \
        do {                                                                                    \
                size_t ev0 = e->n_ev;                                                           \
                b = good;                                                                       \
                mutate;                                                                         \
                assert_string_equal(bootload(e, &b), "NV_ERR_INVALID_ARGUMENT");                \
                assert_int_equal(nvv_gsp_get_task(e->g, 2), NVV_GSP_TASK_ALLOCATED);            \
                assert_int_equal(e->n_ev, ev0);                                                 \
        } while (0)
                /* FB segments must tile the guest FB range exactly. */
                REFUSED(b.fb_segment_count = 0);
                REFUSED(b.fb_segment_addr[0] += v.fb_length / 2);
                REFUSED(b.fb_segment_len[0] -= e->cfg.vmmu_segment);
                REFUSED(b.fb_segment_len[0] += e->cfg.vmmu_segment);
                REFUSED(b.fb_segment_addr[0] -= e->cfg.vmmu_segment);
                REFUSED((b.fb_segment_count = 2, b.fb_segment_len[0] = v.fb_length / 2,
                         b.fb_segment_addr[1] = v.fb_offset + v.fb_length / 2 + e->cfg.vmmu_segment,
                         b.fb_segment_len[1] = v.fb_length / 2 - e->cfg.vmmu_segment)); /* gap */
                REFUSED((b.fb_segment_count = 2, b.fb_segment_len[0] = v.fb_length / 2,
                         b.fb_segment_addr[1] = v.fb_offset + v.fb_length / 2 - e->cfg.vmmu_segment,
                         b.fb_segment_len[1] = v.fb_length / 2 + e->cfg.vmmu_segment)); /* overlap */
                REFUSED((b.fb_segment_count = 2, b.fb_segment_addr[1] = v.fb_offset + v.fb_length,
                         b.fb_segment_len[1] = 0)); /* empty segment */
                REFUSED((b.fb_segment_count = 2, b.fb_segment_addr[1] = v.fb_offset + v.fb_length,
                         b.fb_segment_len[1] = e->cfg.vmmu_segment)); /* extra */
                REFUSED(b.fb_segment_count = max_segs + 1);
                /* channels */
                REFUSED(b.num_channels = v.num_chids / 2);
                REFUSED(b.num_channels = v.num_chids * 2);
                REFUSED(b.chid_offset[3] = v.chid_offset + v.num_chids);
                REFUSED(memset(b.chid_offset, 0, sizeof(b.chid_offset)));
                /* plugin heap */
                REFUSED(b.plugin_heap_len = TEST_HEAP - 1);
#undef REFUSED
                /* Accepted: segments in any order, engines not present at 0, a larger heap. */
                b = good;
                b.fb_segment_count = 3;
                b.fb_segment_addr[0] = v.fb_offset + v.fb_length / 2;
                b.fb_segment_len[0] = v.fb_length / 2;
                b.fb_segment_addr[1] = v.fb_offset;
                b.fb_segment_len[1] = v.fb_length / 4;
                b.fb_segment_addr[2] = v.fb_offset + v.fb_length / 4;
                b.fb_segment_len[2] = v.fb_length / 4;
                b.chid_offset[1] = 0;
                b.chid_offset[5] = 0;
                b.plugin_heap_len = TEST_HEAP + 1;
                assert_string_equal(bootload(e, &b), "NV_OK");
                assert_int_equal(nvv_gsp_get_task(e->g, 2), NVV_GSP_TASK_RUNNING);
                /* The first vGPU's block starts at 0: all-zero offsets are right for it. */
                fill_bootload(e, 1, &b);
                memset(b.chid_offset, 0, sizeof(b.chid_offset));
                b.plugin_heap_len = TEST_HEAP;
                assert_string_equal(bootload(e, &b), "NV_OK");
                assert_string_equal(bootload(e, &b), "NV_ERR_INVALID_STATE");
                b.gfid = 9;
                assert_string_equal(bootload(e, &b), "NV_ERR_OBJECT_NOT_FOUND");
        }
}

/* ---- faults, events, the rest ---- */

static void test_reset(void **state)
{
        const char *rels[] = { R535, R570 };

        for (size_t r = 0; r < ELEMENTSOF(rels); r++) {
                _cleanup_env_ struct env *e = env_new(rels[r], false);
                _cleanup_free_ union nvv_cmd_any *io = io_new();
                struct nvv_gsp_state s;
                struct nvv_gsp_host_info h;
                size_t events;

                drive_to(e, 1, NVV_GSP_TASK_RUNNING);
                drive_to(e, 2, NVV_GSP_TASK_ALLOCATED);
                drive_to(e, 3, NVV_GSP_TASK_CLEANED);
                if (fw_has(e->fw, NVV_CMD_CREATE_DEVICE))
                        create_ok(e, TYPE(8), 9); /* no host device */
                if (fw_has(e->fw, NVV_CMD_SCHED_SET_STATE)) {
                        io->sched_state = (struct nvv_cmd_sched_state) { .policy = NVV_SCHED_FIXED_SHARE,
                                                                          .arr = NVV_ARR_ENABLE,
                                                                          .timeslice_ns = 5000000 };
                        assert_string_equal(run(e, NVV_CMD_SCHED_SET_STATE, io), "NV_OK");
                }
                events = e->n_ev;
                assert_int_equal(nvv_gsp_reset(e->g), 0);
                check_now(e, "reset");
                assert_int_equal(e->n_ev, events + 1);
                assert_int_equal(e->ev[events].event, NVV_EVENT_GSP_RESET);
                nvv_gsp_get_state(e->g, &s);
                assert_int_equal(s.n_vgpus, 0);
                assert_int_equal(s.n_types, 0);
                assert_int_equal(s.n_hosts, 3);
                assert_false(s.heterogeneous_mode);
                assert_false(s.heterogeneous_timesliced);
                assert_int_equal(s.sched.policy, NVV_SCHED_BEST_EFFORT);
                for (uint32_t gfid = 1; gfid <= 3; gfid++) {
                        assert_int_equal(nvv_gsp_get_host(e->g, gfid, &h), 0);
                        assert_int_equal(h.task, NVV_GSP_TASK_CRASHED);
                        assert_int_equal(h.vgpu_id, 0);
                        assert_int_equal(nvv_gsp_rc_error(e->g, gfid, 0), -ENOENT);
                }
                /* Nothing left to create from; the crashed gfids are still taken. */
                assert_string_equal(create(e, TYPE(8), 20, NULL),
                                    fw_has(e->fw, NVV_CMD_CREATE_DEVICE) ? "NV_ERR_OBJECT_NOT_FOUND"
                                                                         : "NV_ERR_NOT_SUPPORTED");
                assert_string_equal(bootload_gfid_only(e, 1), "NV_ERR_INVALID_STATE");
                if (fw_has(e->fw, NVV_CMD_SET_PLACEMENT_ID)) {
                        memset(io, 0, sizeof(*io));
                        assert_string_equal(run_dev(e, 1, NVV_CMD_SET_PLACEMENT_ID, io), "NV_ERR_INVALID_STATE");
                }
                upload(e, nvv_release_compare(rels[r], R550) >= 0);
                if (fw_has(e->fw, NVV_CMD_CREATE_DEVICE))
                        create_ok(e, TYPE(8), 30);
                assert_string_equal(alloc(e, 1, 30, TYPE(8), NONE), "NV_ERR_IN_USE");
                /* The manager cleans the crashed tasks up. */
                assert_string_equal(gfid_cmd(e, NVV_CMD_SHUTDOWN_PLUGIN, 1), "NV_OK");
                assert_string_equal(gfid_cmd(e, NVV_CMD_CLEANUP_PLUGIN, 1), "NV_OK");
                assert_string_equal(gfid_cmd(e, NVV_CMD_CLEANUP_PLUGIN, 2), "NV_OK");
                assert_string_equal(gfid_cmd(e, NVV_CMD_CLEANUP_PLUGIN, 3), "NV_OK");
                for (uint32_t gfid = 1; gfid <= 3; gfid++)
                        assert_string_equal(free_host(e, gfid), "NV_OK");
                nvv_gsp_get_state(e->g, &s);
                assert_int_equal(s.n_hosts, 0);
                drive_to(e, 1, NVV_GSP_TASK_RUNNING);
        }
}

static void test_sched(void **state)
{
        _cleanup_env_ struct env *e = env_new(R570, false);
        _cleanup_free_ union nvv_cmd_any *io = io_new();
        struct nvv_cmd_sched_state good = { .policy = NVV_SCHED_EQUAL_SHARE, .arr = NVV_ARR_DISABLE,
                                            .timeslice_ns = 1000000, .arr_avg_factor = 3 };
        bool seen[_NVV_SCHED_MAX] = {};

        io->sched_get_caps.engine_id = 7;
        assert_string_equal(run(e, NVV_CMD_SCHED_GET_CAPS, io), "NV_OK");
        assert_int_equal(io->sched_get_caps.engine_id, 7);
        assert_true(io->sched_get_caps.arr_supported);
        assert_int_equal(io->sched_get_caps.min_timeslice_ns, 1000000);
        assert_int_equal(io->sched_get_caps.max_timeslice_ns, 30000000);
        for (size_t i = 0; i < ELEMENTSOF(io->sched_get_caps.supported_policies); i++)
                if (io->sched_get_caps.supported_policies[i] < _NVV_SCHED_MAX)
                        seen[io->sched_get_caps.supported_policies[i]] = true;
        assert_true(seen[NVV_SCHED_BEST_EFFORT] && seen[NVV_SCHED_EQUAL_SHARE] && seen[NVV_SCHED_FIXED_SHARE]);
        assert_false(seen[NVV_SCHED_OTHER]);

        memset(io, 0, sizeof(*io));
        assert_string_equal(run(e, NVV_CMD_SCHED_GET_STATE, io), "NV_OK");
        assert_int_equal(io->sched_state.policy, NVV_SCHED_BEST_EFFORT);

        for (uint32_t p = 0; p <= _NVV_SCHED_MAX; p++) {
                bool ok = p == NVV_SCHED_BEST_EFFORT || p == NVV_SCHED_EQUAL_SHARE || p == NVV_SCHED_FIXED_SHARE;

                io->sched_state = good;
                io->sched_state.policy = p;
                assert_string_equal(run(e, NVV_CMD_SCHED_SET_STATE, io), ok ? "NV_OK" : "NV_ERR_INVALID_ARGUMENT");
        }
        {
                static const struct {
                        uint32_t ts;
                        bool ok;
                } ts[] = { { 0, false }, { 999999, false }, { 1000000, true }, { 30000000, true }, { 30000001, false },
                           { UINT32_MAX, false } };

                for (size_t i = 0; i < ELEMENTSOF(ts); i++) {
                        io->sched_state = good;
                        io->sched_state.timeslice_ns = ts[i].ts;
                        assert_string_equal(run(e, NVV_CMD_SCHED_SET_STATE, io),
                                            ts[i].ok ? "NV_OK" : "NV_ERR_INVALID_ARGUMENT");
                }
        }
        io->sched_state = good;
        io->sched_state.arr = NVV_ARR_UNKNOWN;
        assert_string_equal(run(e, NVV_CMD_SCHED_SET_STATE, io), "NV_ERR_INVALID_ARGUMENT");
        io->sched_state = good;
        assert_string_equal(run(e, NVV_CMD_SCHED_SET_STATE, io), "NV_OK");
        /* Refusals changed nothing: the last accepted state is reported. */
        io->sched_state = good;
        io->sched_state.timeslice_ns = 5;
        assert_string_equal(run(e, NVV_CMD_SCHED_SET_STATE, io), "NV_ERR_INVALID_ARGUMENT");
        memset(io, 0, sizeof(*io));
        io->sched_state.engine_id = 2;
        assert_string_equal(run(e, NVV_CMD_SCHED_GET_STATE, io), "NV_OK");
        assert_int_equal(io->sched_state.engine_id, 2);
        assert_int_equal(io->sched_state.policy, good.policy);
        assert_int_equal(io->sched_state.arr, good.arr);
        assert_int_equal(io->sched_state.timeslice_ns, good.timeslice_ns);
        assert_int_equal(io->sched_state.arr_avg_factor, good.arr_avg_factor);
}

static void test_events_and_hooks(void **state)
{
        _cleanup_env_ struct env *e = env_new(R580, false);
        _cleanup_free_ union nvv_cmd_any *io = io_new();
        struct nvv_gsp_vgpu_info v;
        size_t n;

        drive_to(e, 5, NVV_GSP_TASK_ALLOCATED);
        assert_int_equal(nvv_gsp_guest_driver(e->g, 5, true), -ESRCH);
        assert_int_equal(nvv_gsp_guest_driver(e->g, 6, true), -ENOENT);
        assert_string_equal(bootload_ok(e, 5), "NV_OK");
        n = e->n_ev;
        assert_int_equal(nvv_gsp_guest_driver(e->g, 5, true), 0);
        assert_int_equal(e->n_ev, n + 1);
        assert_int_equal(e->ev[n].notify, NVV_NOTIFY_GUEST_DRIVER_LOADED);
        assert_int_equal(e->ev[n].gfid, 5);
        assert_string_equal(run(e, NVV_CMD_ENUMERATE_VGPUS, io), "NV_OK");
        assert_int_equal(io->enumerate_vgpus.count, 1);
        assert_int_equal(io->enumerate_vgpus.vgpus[0].gfid, 5);
        assert_true(io->enumerate_vgpus.vgpus[0].driver_loaded);
        assert_int_equal(io->enumerate_vgpus.vgpus[0].vm_pid, 1005);
        assert_int_equal(nvv_gsp_guest_driver(e->g, 5, false), 0);
        assert_int_equal(e->ev[n + 1].notify, NVV_NOTIFY_GUEST_DRIVER_UNLOADED);

        /* rc_error: any channel of the vGPU's block, nothing else. */
        assert_true(vgpu_by_gfid(e, 5, &v));
        n = e->n_ev;
        assert_int_equal(nvv_gsp_rc_error(e->g, 5, v.chid_offset + v.num_chids - 1), 0);
        assert_int_equal(e->n_ev, n + 1);
        assert_int_equal(e->ev[n].event, NVV_EVENT_RC_ERROR);
        assert_int_equal(e->ev[n].gfid, 5);
        assert_int_equal(e->ev[n].chid, v.chid_offset + v.num_chids - 1);
        assert_int_equal(nvv_gsp_rc_error(e->g, 5, v.chid_offset + v.num_chids), -ERANGE);
        if (v.chid_offset > 0)
                assert_int_equal(nvv_gsp_rc_error(e->g, 5, v.chid_offset - 1), -ERANGE);
        assert_int_equal(nvv_gsp_rc_error(e->g, 6, 0), -ENOENT);
        assert_int_equal(e->n_ev, n + 1);

        /* No event function: nothing breaks. */
        nvv_gsp_set_event_fn(e->g, NULL, NULL);
        assert_int_equal(nvv_gsp_crash_plugin(e->g, 5), 0);
        assert_int_equal(e->n_ev, n + 1);
}

static void test_device_controls(void **state)
{
        _cleanup_env_ struct env *e = env_new(R580, true);
        _cleanup_free_ union nvv_cmd_any *io = io_new();
        struct nvv_gsp_host_info h;
        struct nvv_gsp_vgpu_info v;
        struct nvv_gsp_state s;

        drive_to(e, 4, NVV_GSP_TASK_RUNNING);
        drive_to(e, 2, NVV_GSP_TASK_ALLOCATED);
        assert_true(vgpu_by_gfid(e, 4, &v));

        /* set_guest_lifecycle addresses a host vGPU device. */
        io->set_guest_lifecycle.state = NVV_GUEST_CREATED;
        assert_string_equal(run(e, NVV_CMD_SET_GUEST_LIFECYCLE, io), "NV_ERR_OBJECT_NOT_FOUND");
        assert_string_equal(run_dev(e, 7, NVV_CMD_SET_GUEST_LIFECYCLE, io), "NV_ERR_OBJECT_NOT_FOUND");
        assert_string_equal(run_dev(e, 4, NVV_CMD_SET_GUEST_LIFECYCLE, io), "NV_OK");
        assert_int_equal(nvv_gsp_get_host(e->g, 4, &h), 0);
        assert_int_equal(h.guest_lifecycle, NVV_GUEST_CREATED);
        io->set_guest_lifecycle.state = NVV_GUEST_UNKNOWN;
        assert_string_equal(run_dev(e, 4, NVV_CMD_SET_GUEST_LIFECYCLE, io), "NV_ERR_INVALID_ARGUMENT");
        io->set_guest_lifecycle.state = _NVV_GUEST_MAX;
        assert_string_equal(run_dev(e, 4, NVV_CMD_SET_GUEST_LIFECYCLE, io), "NV_ERR_INVALID_ARGUMENT");
        io->set_guest_lifecycle.state = NVV_GUEST_DESTROYED;
        assert_string_equal(run_dev(e, 4, NVV_CMD_SET_GUEST_LIFECYCLE, io), "NV_OK");

        /* clear_guest_vm_info */
        assert_string_equal(gfid_cmd(e, NVV_CMD_CLEAR_GUEST_VM_INFO, 4), "NV_OK");
        assert_int_equal(nvv_gsp_get_host(e->g, 4, &h), 0);
        assert_int_equal(h.guest_lifecycle, NVV_GUEST_UNKNOWN);
        assert_int_equal(h.vm_pid, 0);
        assert_int_equal(h.task, NVV_GSP_TASK_RUNNING);
        assert_string_equal(gfid_cmd(e, NVV_CMD_CLEAR_GUEST_VM_INFO, 9), "NV_ERR_OBJECT_NOT_FOUND");

        /* set_placement_id must repeat the vGPU's placement and channel count. */
        memset(io, 0, sizeof(*io));
        io->set_placement_id.placement_id = v.placement_id;
        io->set_placement_id.num_channels = v.num_chids;
        assert_string_equal(run_dev(e, 4, NVV_CMD_SET_PLACEMENT_ID, io), "NV_OK");
        assert_string_equal(run_dev(e, 3, NVV_CMD_SET_PLACEMENT_ID, io), "NV_ERR_OBJECT_NOT_FOUND");
        io->set_placement_id.placement_id = v.placement_id + 1;
        assert_string_equal(run_dev(e, 4, NVV_CMD_SET_PLACEMENT_ID, io), "NV_ERR_INVALID_ARGUMENT");
        io->set_placement_id.placement_id = v.placement_id;
        io->set_placement_id.num_channels = v.num_chids + 1;
        assert_string_equal(run_dev(e, 4, NVV_CMD_SET_PLACEMENT_ID, io), "NV_ERR_INVALID_ARGUMENT");

        /* enumerate: every host vGPU device, by gfid. */
        memset(io, 0, sizeof(*io));
        assert_string_equal(run(e, NVV_CMD_ENUMERATE_VGPUS, io), "NV_OK");
        assert_int_equal(io->enumerate_vgpus.count, 2);
        assert_int_equal(io->enumerate_vgpus.vgpus[0].gfid, 2);
        assert_int_equal(io->enumerate_vgpus.vgpus[1].gfid, 4);
        assert_int_equal(io->enumerate_vgpus.vgpus[0].vgpu_pci_id, 0x4102);
        assert_int_equal(io->enumerate_vgpus.vgpus[1].fb_used, v.fb_length);

        /* set_power_state (580) is kept; 570 does not have it. */
        memset(io, 0, sizeof(*io));
        io->set_power_state.state = 3;
        assert_string_equal(run(e, NVV_CMD_SET_POWER_STATE, io), "NV_OK");
        nvv_gsp_get_state(e->g, &s);
        assert_int_equal(s.power_state, 3);
        {
                _cleanup_env_ struct env *f = env_new(R570, false);

                assert_string_equal(run(f, NVV_CMD_SET_POWER_STATE, io), "NV_ERR_NOT_SUPPORTED");
        }
}

/* ---- property: random create/delete sequences ---- */

static uint64_t rng_next(uint64_t *s)
{
        /* splitmix64 */
        uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
        return (uint32_t) (rng_next(s) % n);
}

struct prop_stats {
        unsigned sequences, ops, created, refused, deleted;
};

static void run_sequence(const char *release, bool mixed, uint64_t seed, struct prop_stats *st)
{
        _cleanup_env_ struct env *e = env_new(release, mixed);
        bool creates = fw_has(e->fw, NVV_CMD_CREATE_DEVICE);
        uint64_t rng = seed;
        unsigned ops = 20 + rng_below(&rng, 60);

        for (unsigned i = 0; i < ops; i++) {
                uint32_t roll = rng_below(&rng, 100);
                uint32_t type = TYPE(sizes_gb[rng_below(&rng, ELEMENTSOF(sizes_gb))]);
                struct nvv_gsp_vgpu_info v;
                size_t n = n_vgpus(e);
                const char *s;

                st->ops++;
                if (creates) {
                        unsigned name = 1 + rng_below(&rng, 40);

                        if (roll < 60) {
                                s = create(e, type, name, NULL);
                        } else if (roll < 90 && n > 0) {
                                assert_int_equal(nvv_gsp_get_vgpu(e->g, rng_below(&rng, n), &v), 0);
                                if (v.gfid) {
                                        assert_string_equal(delete(e, 0, v.vgpu_id), "NV_ERR_OBJECT_NOT_FOUND");
                                        assert_string_equal(free_host(e, v.gfid), "NV_OK");
                                }
                                assert_string_equal(delete(e, atoi((char *) v.name + 5), v.vgpu_id), "NV_OK");
                                st->deleted++;
                                continue;
                        } else if (n > 0) {
                                uint32_t gfid = 1 + rng_below(&rng, e->cfg.num_vfs);

                                assert_int_equal(nvv_gsp_get_vgpu(e->g, rng_below(&rng, n), &v), 0);
                                s = alloc(e, gfid, atoi((char *) v.name + 5), v.type_id, NONE);
                                if (streq(s, "NV_OK"))
                                        assert_string_equal(delete(e, atoi((char *) v.name + 5), v.vgpu_id),
                                                            "NV_ERR_IN_USE");
                                continue;
                        } else
                                continue;
                } else {
                        uint32_t gfid = 1 + rng_below(&rng, e->cfg.num_vfs);
                        bool carries = nvv_wplan_has_field(e->fw->commands[NVV_CMD_ALLOC_HOST_VGPU]->plan, "placement_id");
                        uint32_t want = carries && rng_below(&rng, 3) == 0 ? rng_below(&rng, 50) : NONE;

                        if (roll < 60 || nvv_gsp_get_task(e->g, gfid) == NVV_GSP_TASK_NONE) {
                                s = alloc(e, gfid, rng_below(&rng, 2) ? 1 + rng_below(&rng, 40) : 0, type, want);
                        } else {
                                assert_string_equal(free_host(e, gfid), "NV_OK");
                                assert_int_equal(n_vgpus(e), n - 1);
                                st->deleted++;
                                continue;
                        }
                }
                if (streq(s, "NV_OK"))
                        st->created++;
                else
                        st->refused++;
        }
        st->sequences++;
}

static void test_property_sequences(void **state)
{
        static const struct {
                const char *release;
                bool mixed;
        } configs[] = {
                { R535, false }, { R550, false }, { R550, true }, { R570, false },
                { R570, true },  { R580, false }, { R580, true },
        };
        struct prop_stats st = {};
        const char *env_n = getenv("NVV_TEST_GSP_SEQUENCES");
        unsigned per = env_n ? (unsigned) atoi(env_n) : 400;

        for (size_t c = 0; c < ELEMENTSOF(configs); c++)
                for (unsigned i = 0; i < per; i++)
                        run_sequence(configs[c].release, configs[c].mixed, UINT64_C(0x6e7667) * (c + 1) + i, &st);
        print_message("property: %u sequences, %u operations, %u created, %u refused, %u deleted\n", st.sequences,
                      st.ops, st.created, st.refused, st.deleted);
        /* The sequences must exercise both outcomes, or they prove nothing. */
        assert_true(st.created > st.sequences);
        assert_true(st.refused > st.sequences / 4);
        assert_true(st.deleted > st.sequences);
}

static int group_setup(void **state)
{
        const char *dir = getenv("NVVGPU_FWABI_DIR");
        _cleanup_free_ char *err = NULL;

        if (!dir) {
                fprintf(stderr, "NVVGPU_FWABI_DIR is not set\n");
                return -1;
        }
        if (nvv_fwdb_new(&db) < 0 || nvv_fwdb_load_dir(db, dir, &err) < 0) {
                fprintf(stderr, "loading %s: %s\n", dir, err ? err : "failed");
                return -1;
        }
        return 0;
}

static int group_teardown(void **state)
{
        db = nvv_fwdb_free(db);
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_new_config),
                cmocka_unit_test(test_vgpu_limit),
                cmocka_unit_test(test_unsupported_commands),
                cmocka_unit_test(test_get_features),
                cmocka_unit_test(test_type_table),
                cmocka_unit_test(test_modes),
                cmocka_unit_test(test_create_checks),
                cmocka_unit_test(test_creatable),
                cmocka_unit_test(test_available),
                cmocka_unit_test(test_placement_homogeneous),
                cmocka_unit_test(test_placement_mixed),
                cmocka_unit_test(test_channels),
                cmocka_unit_test(test_first_fit),
                cmocka_unit_test(test_first_fit_mixed),
                cmocka_unit_test(test_placement_fb_fits_units),
                cmocka_unit_test(test_alloc_creates),
                cmocka_unit_test(test_alloc_first_fit_placement),
                cmocka_unit_test(test_alloc_bind_delete),
                cmocka_unit_test(test_task_state_machine),
                cmocka_unit_test(test_crash),
                cmocka_unit_test(test_bootload_checks),
                cmocka_unit_test(test_reset),
                cmocka_unit_test(test_sched),
                cmocka_unit_test(test_events_and_hooks),
                cmocka_unit_test(test_device_controls),
                cmocka_unit_test(test_property_sequences),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
