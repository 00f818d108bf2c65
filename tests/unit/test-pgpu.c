/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The managed GPU against nvvgpu-sim: bring-up by each release's init list, create and
 * delete, VM start and stop, adopt, faults at every bring-up and VM-start step, a release
 * never seen before whose init list differs, and concurrent creators. After each step the
 * simulated firmware's own state is read back and compared with what the managed GPU says.
 */
#include <pthread.h>
#include <unistd.h>

#include "nvv-pgpu.h"
#include "nvv-policy.h"
#include "simtest.h"

static const char *const releases[] = { "535.113.01", "550.40.07", "560.35.03", "565.77", "570.144",
                                        "575.64.05", "580.65.06", "590.48.01", "595.45.04" };

struct env {
        struct simtest t;
        struct nvv_pgpu *g;
        struct nvv_simgpu_status *st;
};

static struct nvv_simgpu *env_gpu(struct env *e)
{
        return nvv_sim_get_gpu(e->t.sim, 0);
}

static void env_status(struct env *e)
{
        assert_int_equal(nvv_simgpu_get_status(env_gpu(e), e->st), 0);
}

/* Open GPU 0 in-process or over the simulator's socket and wrap it in a managed GPU. */
static void env_open(struct env *e, bool socket, const struct nvv_pgpu_options *opt)
{
        _cleanup_free_ char *msg = NULL;
        struct nvv_pgpu_options o = opt ? *opt : (struct nvv_pgpu_options) {};
        struct nvv_channel *ch = NULL;
        int r;

        if (socket)
                r = nvv_channel_open_sim(e->t.socket, 0, e->t.db, &ch, &msg);
        else
                r = nvv_simgpu_open_channel(env_gpu(e), e->t.db, &ch, &msg);
        if (r < 0)
                fail_msg("opening the channel: %s", msg);
        o.catalog = nvv_sim_get_catalog(e->t.sim);
        if (nvv_pgpu_new(ch, &o, &e->g, &msg) < 0)
                fail_msg("nvv_pgpu_new: %s", msg);
}

static void env_start(struct env *e, const char *gpus, const char *extra_fwabi, bool socket,
                      const struct nvv_pgpu_options *opt)
{
        _cleanup_free_ char *msg = NULL;

        memset(e, 0, sizeof(*e));
        e->st = calloc(1, sizeof(*e->st));
        assert_non_null(e->st);
        if (simtest_start(&e->t, gpus, extra_fwabi, NULL, &msg) < 0)
                fail_msg("simulator: %s", msg);
        env_open(e, socket, opt);
}

static void env_stop(struct env *e)
{
        e->g = nvv_pgpu_free(e->g);
        simtest_stop(&e->t);
        free(e->st);
}

static void bring_up(struct env *e)
{
        _cleanup_free_ char *msg = NULL;

        if (nvv_pgpu_bring_up(e->g, &msg) < 0)
                fail_msg("bring-up: %s", msg);
}

/* A type that fits more than once. */
static uint32_t some_type(struct env *e)
{
        const struct nvv_catalog_gpu *m = nvv_pgpu_get_model(e->g);

        for (size_t i = 0; i < m->n_types; i++)
                if (m->types[i].max_instance >= 2 && m->types[i].max_instance <= 8 &&
                    nvv_pgpu_available(e->g, m->types[i].type_id) >= 2)
                        return m->types[i].type_id;
        fail_msg("no type of %s fits twice", m->short_name);
        return 0;
}

static const struct nvv_gsp_vgpu_info *fw_vgpu(struct env *e, uint32_t type_id, size_t nth)
{
        for (size_t i = 0; i < e->st->n_vgpus; i++)
                if (e->st->vgpus[i].type_id == type_id && nth-- == 0)
                        return &e->st->vgpus[i];
        return NULL;
}

/* The firmware's placement of a vGPU is the one the managed GPU holds. */
static void assert_same_place(const struct nvv_gsp_vgpu_info *f, const struct nvv_pgpu_vgpu *v)
{
        assert_non_null(f);
        assert_int_equal(f->type_id, v->type_id);
        assert_int_equal(f->placement_id, v->place.placement_id);
        assert_int_equal(f->fb_offset, v->place.fb_offset);
        assert_int_equal(f->fb_length, v->place.placement_id == NVV_PLACEMENT_NONE ? v->place.alloc_length
                                                                                  : v->place.fb_length);
        assert_int_equal(f->chid_offset, v->place.chid_offset);
        assert_int_equal(f->num_chids, v->place.chid_count);
}

static const char *const uuids[] = {
        "5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc01", "5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc02",
        "5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc03", "5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc04",
};

static uint32_t some_type_id_any(const struct nvv_pgpu *g)
{
        return nvv_pgpu_get_model(g)->types[0].type_id;
}

/* The whole path on one release: bring-up, create, VM start, VM stop, delete. */
static void lifecycle_on(const char *release, bool socket)
{
        struct env e;
        struct nvv_pgpu_init_info info;
        struct nvv_pgpu_vgpu v, v2;
        _cleanup_free_ char *msg = NULL;
        const struct nvv_fwabi *fw;
        char gpus[64];
        uint32_t type;
        unsigned avail;
        bool creates;

        snprintf(gpus, sizeof(gpus), "L40S@%s", release);
        env_start(&e, gpus, NULL, socket, NULL);
        fw = nvv_pgpu_get_fwabi(e.g);
        creates = nvv_fwabi_command(fw, NVV_CMD_CREATE_DEVICE) != NULL;
        assert_int_equal(nvv_pgpu_get_state(e.g), NVV_PGPU_NEW);
        bring_up(&e);
        assert_int_equal(nvv_pgpu_get_state(e.g), NVV_PGPU_READY);

        /* The init list ran as the release gives it, and the firmware holds the table. */
        assert_int_equal(nvv_pgpu_get_init_info(e.g, &info), 0);
        assert_int_equal(info.n_steps, fw->n_init);
        for (size_t i = 0; i < fw->n_init; i++)
                assert_int_equal(info.steps[i], fw->init[i]);
        env_status(&e);
        assert_true(info.n_types > 0);
        assert_int_equal(e.st->n_types, info.n_types);
        assert_false(e.st->state.heterogeneous_mode); /* the default policy: equal-size */

        type = some_type(&e);
        avail = nvv_pgpu_available(e.g, type);
        if (nvv_pgpu_create_vgpu(e.g, type, NVV_PLACEMENT_NONE, uuids[0], &v, NULL, &msg) < 0)
                fail_msg("%s: create: %s", release, msg);
        assert_int_equal(v.state, NVV_VGPU_CREATED);
        env_status(&e);
        if (creates) {
                assert_int_equal(e.st->n_vgpus, 1);
                assert_same_place(fw_vgpu(&e, type, 0), &v);
                assert_int_equal(e.st->vgpus[0].vgpu_id, v.vgpu_id);
        } else {
                assert_int_equal(e.st->n_vgpus, 0); /* 535/550: made when its VM starts */
        }
        if (nvv_pgpu_create_vgpu(e.g, type, NVV_PLACEMENT_NONE, uuids[1], &v2, NULL, &msg) < 0)
                fail_msg("%s: second create: %s", release, msg);
        /* The name is taken: the firmware (or on 535/550 the model) refuses. */
        assert_int_equal(nvv_pgpu_create_vgpu(e.g, type, NVV_PLACEMENT_NONE, uuids[1], NULL, NULL, &msg), -EBUSY);
        free(msg);
        msg = NULL;

        /* VM start: the plugin runs on a VF with the model's FB, channels and heap. */
        if (nvv_pgpu_vm_start(e.g, uuids[1], &(struct nvv_pgpu_vm_params) { .vm_pid = 4242 }, &v2, &msg) < 0) {
                env_status(&e);
                for (size_t i = 0; i < e.st->n_vgpus; i++)
                        fprintf(stderr, "fw: type %u fb %#lx+%#lx chid %u+%u\n", e.st->vgpus[i].type_id,
                                (unsigned long) e.st->vgpus[i].fb_offset, (unsigned long) e.st->vgpus[i].fb_length,
                                e.st->vgpus[i].chid_offset, e.st->vgpus[i].num_chids);
                fprintf(stderr, "model: fb %#lx+%#lx chid %u+%u\n", (unsigned long) v2.place.fb_offset,
                        (unsigned long) v2.place.fb_length, v2.place.chid_offset, v2.place.chid_count);
                fail_msg("%s: VM start: %s", release, msg);
        }
        assert_int_equal(v2.state, NVV_VGPU_RUNNING);
        assert_int_equal(v2.gfid, 1);
        env_status(&e);
        assert_int_equal(e.st->n_vgpus, creates ? 2 : 1);
        assert_same_place(fw_vgpu(&e, type, creates ? 1 : 0), &v2);
        assert_int_equal(fw_vgpu(&e, type, creates ? 1 : 0)->task, NVV_GSP_TASK_RUNNING);
        assert_int_equal(fw_vgpu(&e, type, creates ? 1 : 0)->gfid, 1);
        /* A started vGPU cannot be deleted. */
        assert_int_equal(nvv_pgpu_delete_vgpu(e.g, uuids[1], NULL, &msg), -EBUSY);
        assert_non_null(strstr(msg, "stop its VM first"));
        free(msg);
        msg = NULL;

        /* A suspended VM: its plugin stops work over the host RPC channel, in the firmware
         * too; resumed, it works again; a reset counts in the firmware and resumes. */
        if (nvv_pgpu_vm_pause(e.g, uuids[1], &msg) < 0)
                fail_msg("%s: pause: %s", release, msg);
        assert_int_equal(nvv_pgpu_vm_pause(e.g, uuids[1], NULL), 0); /* paused already: nothing to do */
        assert_int_equal(nvv_pgpu_find_vgpu(e.g, uuids[1], &v2), 0);
        assert_true(v2.paused);
        env_status(&e);
        assert_true(fw_vgpu(&e, type, creates ? 1 : 0)->work_stopped);
        if (nvv_pgpu_vm_resume(e.g, uuids[1], &msg) < 0)
                fail_msg("%s: resume: %s", release, msg);
        env_status(&e);
        assert_false(fw_vgpu(&e, type, creates ? 1 : 0)->work_stopped);
        assert_int_equal(nvv_pgpu_vm_pause(e.g, uuids[1], NULL), 0);
        if (nvv_pgpu_vm_reset(e.g, uuids[1], &msg) < 0)
                fail_msg("%s: reset: %s", release, msg);
        env_status(&e);
        assert_false(fw_vgpu(&e, type, creates ? 1 : 0)->work_stopped);
        assert_int_equal(fw_vgpu(&e, type, creates ? 1 : 0)->resets, 1);
        assert_int_equal(nvv_pgpu_find_vgpu(e.g, uuids[1], &v2), 0);
        assert_false(v2.paused);
        assert_int_equal(v2.resets, 1);
        /* A vGPU whose VM is not running has no plugin to tell. */
        if (creates) {
                assert_int_equal(nvv_pgpu_vm_pause(e.g, uuids[0], &msg), -ESRCH);
                assert_non_null(strstr(msg, "not running"));
                free(msg);
                msg = NULL;
        }

        if (nvv_pgpu_vm_stop(e.g, uuids[1], &msg) < 0)
                fail_msg("%s: VM stop: %s", release, msg);
        assert_int_equal(nvv_pgpu_vm_stop(e.g, uuids[1], NULL), 0); /* idempotent */
        assert_int_equal(nvv_pgpu_find_vgpu(e.g, uuids[1], &v2), 0);
        assert_int_equal(v2.state, NVV_VGPU_CREATED);
        env_status(&e);
        assert_int_equal(e.st->state.n_hosts, 0);
        assert_int_equal(e.st->n_vgpus, creates ? 2 : 0);

        /* Start and stop again: nothing of the first run is left in the way. */
        if (nvv_pgpu_vm_start(e.g, uuids[1], NULL, NULL, &msg) < 0 || nvv_pgpu_vm_stop(e.g, uuids[1], &msg) < 0)
                fail_msg("%s: second VM start/stop: %s", release, msg);

        for (size_t i = 0; i < 2; i++)
                if (nvv_pgpu_delete_vgpu(e.g, uuids[i], NULL, &msg) < 0)
                        fail_msg("%s: delete: %s", release, msg);
        assert_int_equal(nvv_pgpu_delete_vgpu(e.g, uuids[0], NULL, &msg), -ENOENT);
        env_status(&e);
        assert_int_equal(e.st->n_vgpus, 0);
        assert_int_equal(nvv_pgpu_count(e.g), 0);
        /* Everything freed: the GPU offers as much as before the first create. */
        assert_int_equal(nvv_pgpu_available(e.g, type), avail);
        env_stop(&e);
}

static void test_lifecycle_inproc(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(releases); i++)
                lifecycle_on(releases[i], false);
}

static void test_lifecycle_socket(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(releases); i++)
                lifecycle_on(releases[i], true);
}

/* Mixed-size by policy: the firmware's mode follows, and a GPU or release without it is
 * refused before any command. */
static void test_mixed_policy(void **state)
{
        static const char text[] = "{\"version\": 1, \"gpus\": [{\"match\": \"L40S\", \"mode\": \"mixed-size\"}]}";
        _cleanup_(nvv_policy_freep) struct nvv_policy *p = NULL;
        _cleanup_free_ char *msg = NULL;
        struct nvv_pgpu_options o = {};
        uint64_t rpcs;
        struct env e;

        if (nvv_policy_load_buffer(text, sizeof(text) - 1, "mixed.json", NULL, &p, &msg) < 0)
                fail_msg("%s", msg);
        o.policy = p;
        env_start(&e, "L40S@595.45.04", NULL, false, &o);
        bring_up(&e);
        env_status(&e);
        assert_true(e.st->state.heterogeneous_mode);
        env_stop(&e);

        env_start(&e, "L40S@535.113.01", NULL, false, &o);
        env_status(&e);
        rpcs = e.st->rpcs_handled;
        assert_int_equal(nvv_pgpu_bring_up(e.g, &msg), -EOPNOTSUPP);
        assert_string_equal(strstr(msg, "(L40S)"), "(L40S): mixed-size mode is not available under firmware 535.113.01");
        env_status(&e);
        assert_int_equal(e.st->rpcs_handled, rpcs);
        env_stop(&e);
}

/* ---- a release never seen before, with its own init list ---- */

static char newdir[] = "/tmp/nvv-pgpu-rel-XXXXXX";
static char newpath[256];

static void write_release(const char *base, const char *name, const char *const *init)
{
        json_object *doc = test_release_json(base), *list = json_object_new_array(), *compat = json_object_new_array();
        char prefix[32];
        FILE *f;

        json_object_object_add(doc, "release", json_object_new_string(name));
        snprintf(prefix, sizeof(prefix), "%.3s.", name);
        json_object_array_add(compat, json_object_new_string(prefix));
        json_object_object_add(doc, "compatible", compat);
        for (; *init; init++)
                json_object_array_add(list, json_object_new_string(*init));
        json_object_object_add(doc, "init", list);
        snprintf(newpath, sizeof(newpath), "%s/%s.json", newdir, name);
        f = fopen(newpath, "we");
        assert_non_null(f);
        fputs(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY), f);
        fclose(f);
        json_object_put(doc);
}

static void test_new_release_init(void **state)
{
        /* 595.45.04's list with steps dropped (set_power_state), added (sched_get_state) and
         * moved (the scheduler's caps first, the mode after the state read). */
        static const char *const init[] = { "sched_get_caps", "get_features", "set_vgpu_mgr_config", "add_vgpu_types",
                                            "sched_get_state", "set_heterogeneous_mode", "sched_set_state", NULL };
        static const char *const bad[] = { "get_features", "delete_device", "add_vgpu_types", NULL };
        _cleanup_free_ char *msg = NULL;
        struct nvv_pgpu_init_info info;
        uint64_t rpcs;
        struct env e;

        assert_non_null(mkdtemp(newdir));
        write_release("595.45.04", "996.1.0", init);
        memset(&e, 0, sizeof(e));
        e.st = calloc(1, sizeof(*e.st));
        if (simtest_start(&e.t, "L40S@996.1.0", newdir, NULL, &msg) < 0)
                fail_msg("%s", msg);
        /* The manager loads the new file at run time too. */
        assert_int_equal(nvv_fwdb_load_dir(e.t.db, newdir, &msg), 1);
        env_open(&e, false, NULL);
        assert_string_equal(nvv_pgpu_get_fwabi(e.g)->release, "996.1.0");
        bring_up(&e);
        assert_int_equal(nvv_pgpu_get_init_info(e.g, &info), 0);
        assert_int_equal(info.n_steps, ELEMENTSOF(init) - 1);
        for (size_t i = 0; init[i]; i++)
                assert_string_equal(nvv_cmd_to_string(info.steps[i]), init[i]);
        assert_true(info.have_caps);
        assert_int_equal(info.sched.policy, NVV_SCHED_BEST_EFFORT);
        env_status(&e);
        assert_int_equal(e.st->n_types, info.n_types);
        env_stop(&e);
        unlink(newpath);

        /* A step the manager cannot run is refused before anything is sent. */
        write_release("595.45.04", "997.1.0", bad);
        memset(&e, 0, sizeof(e));
        e.st = calloc(1, sizeof(*e.st));
        if (simtest_start(&e.t, "L40S@997.1.0", newdir, NULL, &msg) < 0)
                fail_msg("%s", msg);
        assert_int_equal(nvv_fwdb_load_dir(e.t.db, newdir, &msg), 1);
        env_open(&e, false, NULL);
        free(msg);
        msg = NULL;
        env_status(&e);
        rpcs = e.st->rpcs_handled;
        assert_int_equal(nvv_pgpu_bring_up(e.g, &msg), -EOPNOTSUPP);
        assert_string_equal(strstr(msg, ": firmware"), ": firmware 997.1.0's init step 2 (delete_device) is not one the "
                                                      "manager can run");
        env_status(&e);
        assert_int_equal(e.st->rpcs_handled, rpcs);
        assert_int_equal(nvv_pgpu_get_state(e.g), NVV_PGPU_NEW);
        env_stop(&e);
        unlink(newpath);
        rmdir(newdir);
}

/* ---- faults ---- */

struct fault_kind {
        const char *kind, *arg; /* KIND:CMD[:ARG]@0 */
        const char *expect;     /* in the error */
};

/* Every way a command can fail: a refusal, no answer (dropped, or later than the manager
 * waits), an answer that cannot be read, and the GSP rebooting under the command. */
static const struct fault_kind kinds[] = {
        { "status", "NV_ERR_INVALID_ARGUMENT", "NV_ERR_INVALID_ARGUMENT" },
        { "status", "NV_ERR_INSUFFICIENT_RESOURCES", "NV_ERR_INSUFFICIENT_RESOURCES" },
        { "drop", NULL, "timed out" },
        { "delay", "400", "timed out" },
        { "checksum", NULL, "checksum" },
        { "truncate", NULL, "short of" },
        { "garbage", NULL, "bad RPC signature" },
        { "reset", NULL, "the GSP reset while the RPC was pending" },
};

static void arm(struct env *e, const struct fault_kind *k, const char *cmd)
{
        _cleanup_free_ char *msg = NULL;
        char spec[128];

        snprintf(spec, sizeof(spec), "%s:%s%s%s@0", k->kind, cmd, k->arg ? ":" : "", k->arg ? k->arg : "");
        if (nvv_sim_inject(e->t.sim, spec, &msg) < 0)
                fail_msg("inject %s: %s", spec, msg);
}

static void test_faults_bring_up(void **state)
{
        static const char *const rels[] = { "570.144", "595.45.04" };

        for (size_t ri = 0; ri < ELEMENTSOF(rels); ri++) {
                char gpus[64];

                snprintf(gpus, sizeof(gpus), "L40S@%s", rels[ri]);
                for (size_t ki = 0; ki < ELEMENTSOF(kinds); ki++) {
                        struct env e;
                        const struct nvv_fwabi *fw;

                        env_start(&e, gpus, NULL, false, NULL);
                        fw = nvv_pgpu_get_fwabi(e.g);
                        for (size_t step = 0; step < fw->n_init; step++) {
                                _cleanup_free_ char *msg = NULL, *err = NULL;
                                char want[96];
                                const char *cmd = nvv_cmd_to_string(fw->init[step]);

                                nvv_channel_set_timeout(nvv_pgpu_get_channel(e.g), 150);
                                arm(&e, &kinds[ki], cmd);
                                if (nvv_pgpu_bring_up(e.g, &msg) >= 0)
                                        fail_msg("%s: bring-up succeeded with %s at %s", rels[ri], kinds[ki].kind, cmd);
                                snprintf(want, sizeof(want), "bring-up step %zu (%s): ", step + 1, cmd);
                                if (!strstr(msg, want) || !strstr(msg, kinds[ki].expect) ||
                                    !strstr(msg, nvv_pgpu_get_name(e.g)))
                                        fail_msg("%s, %s at %s: the error says '%s'", rels[ri], kinds[ki].kind, cmd, msg);
                                assert_int_equal(nvv_pgpu_get_state(e.g), NVV_PGPU_FAILED);
                                err = nvv_pgpu_get_error(e.g);
                                assert_string_equal(err, msg);
                                /* Nothing half-configured: no types, equal-size mode. Let a
                                 * late (delayed) answer land first. */
                                usleep(streq(kinds[ki].kind, "delay") ? 500000 : 0);
                                env_status(&e);
                                if (e.st->n_types != 0 || e.st->state.heterogeneous_mode)
                                        fail_msg("%s, %s at %s: the firmware is left with %zu types%s", rels[ri],
                                                 kinds[ki].kind, cmd, e.st->n_types,
                                                 e.st->state.heterogeneous_mode ? " in mixed-size mode" : "");
                                assert_int_equal(nvv_pgpu_available(e.g, some_type_id_any(e.g)), 0);
                                /* The GPU comes up once the fault is gone. */
                                msg = (free(msg), NULL);
                                if (nvv_pgpu_bring_up(e.g, &msg) < 0)
                                        fail_msg("%s: bring-up after %s at %s: %s", rels[ri], kinds[ki].kind, cmd, msg);
                                /* Start the next step's trial from a GPU with nothing configured. */
                                e.g = nvv_pgpu_free(e.g);
                                simtest_stop(&e.t);
                                if (simtest_start(&e.t, gpus, NULL, NULL, &msg) < 0)
                                        fail_msg("%s", msg);
                                env_open(&e, false, NULL);
                                fw = nvv_pgpu_get_fwabi(e.g);
                        }
                        env_stop(&e);
                }
        }
}

static void test_faults_vm_start(void **state)
{
        static const char *const steps[] = { "alloc_host_vgpu", "bootload_plugin", "set_placement_id",
                                             "set_guest_lifecycle" };

        for (size_t ki = 0; ki < ELEMENTSOF(kinds); ki++) {
                if (streq(kinds[ki].kind, "reset"))
                        continue; /* a reset is a GPU-wide event: test_gsp_reset */
                for (size_t si = 0; si < ELEMENTSOF(steps); si++) {
                        _cleanup_free_ char *msg = NULL;
                        struct nvv_pgpu_vgpu v;
                        char want[96];
                        struct env e;
                        uint32_t type;

                        env_start(&e, "L40S@595.45.04", NULL, false, NULL);
                        bring_up(&e);
                        type = some_type(&e);
                        if (nvv_pgpu_create_vgpu(e.g, type, NVV_PLACEMENT_NONE, uuids[0], NULL, NULL, &msg) < 0)
                                fail_msg("%s", msg);
                        nvv_channel_set_timeout(nvv_pgpu_get_channel(e.g), 150);
                        arm(&e, &kinds[ki], steps[si]);
                        if (nvv_pgpu_vm_start(e.g, uuids[0], NULL, NULL, &msg) >= 0)
                                fail_msg("VM start succeeded with %s at %s", kinds[ki].kind, steps[si]);
                        snprintf(want, sizeof(want), "VM start: %s: ", steps[si]);
                        if (!strstr(msg, want) || !strstr(msg, kinds[ki].expect) || !strstr(msg, nvv_pgpu_get_name(e.g)))
                                fail_msg("%s at %s: the error says '%s'", kinds[ki].kind, steps[si], msg);
                        usleep(streq(kinds[ki].kind, "delay") ? 500000 : 0);
                        /* Undone: no host vGPU device, no plugin; the vGPU itself stays created. */
                        env_status(&e);
                        if (e.st->state.n_hosts != 0)
                                fail_msg("%s at %s: %zu host vGPU devices left (%s)", kinds[ki].kind, steps[si],
                                         e.st->state.n_hosts, msg);
                        assert_int_equal(e.st->n_vgpus, 1);
                        assert_int_equal(nvv_pgpu_find_vgpu(e.g, uuids[0], &v), 0);
                        assert_int_equal(v.state, NVV_VGPU_CREATED);
                        assert_int_equal(v.gfid, 0);
                        /* And it starts once the fault is gone. */
                        free(msg);
                        msg = NULL;
                        if (nvv_pgpu_vm_start(e.g, uuids[0], NULL, &v, &msg) < 0)
                                fail_msg("VM start after %s at %s: %s", kinds[ki].kind, steps[si], msg);
                        assert_int_equal(v.state, NVV_VGPU_RUNNING);
                        env_stop(&e);
                }
        }
}

/* A GSP reset at each VM-start step: the start fails naming the step and the reset, the
 * firmware holds nothing half-made (it forgot everything), and the reset event marks the GPU
 * and the vGPU lost rather than leaving them looking usable. */
static void test_reset_at_vm_start(void **state)
{
        static const char *const steps[] = { "alloc_host_vgpu", "bootload_plugin", "set_placement_id",
                                             "set_guest_lifecycle" };

        for (size_t si = 0; si < ELEMENTSOF(steps); si++) {
                _cleanup_free_ char *msg = NULL;
                struct nvv_pgpu_vgpu v;
                char want[96], spec[96];
                struct env e;

                env_start(&e, "L40S@595.45.04", NULL, false, NULL);
                assert_int_equal(nvv_pgpu_subscribe(e.g, NULL, NULL, &msg), 0);
                bring_up(&e);
                if (nvv_pgpu_create_vgpu(e.g, some_type(&e), NVV_PLACEMENT_NONE, uuids[0], NULL, NULL, &msg) < 0)
                        fail_msg("%s", msg);
                nvv_channel_set_timeout(nvv_pgpu_get_channel(e.g), 150);
                snprintf(spec, sizeof(spec), "reset:%s@0", steps[si]);
                assert_int_equal(nvv_sim_inject(e.t.sim, spec, &msg), 0);
                if (nvv_pgpu_vm_start(e.g, uuids[0], NULL, NULL, &msg) >= 0)
                        fail_msg("VM start succeeded with a reset at %s", steps[si]);
                snprintf(want, sizeof(want), "VM start: %s: ", steps[si]);
                if (!strstr(msg, want) || !strstr(msg, "the GSP reset"))
                        fail_msg("reset at %s: the error says '%s'", steps[si], msg);
                env_status(&e);
                assert_int_equal(e.st->state.n_hosts, 0);
                assert_int_equal(e.st->n_vgpus, 0);
                for (int i = 0; i < 100 && nvv_pgpu_get_state(e.g) != NVV_PGPU_LOST; i++)
                        simtest_pump(nvv_pgpu_get_channel(e.g), 20);
                assert_int_equal(nvv_pgpu_get_state(e.g), NVV_PGPU_LOST);
                assert_int_equal(nvv_pgpu_find_vgpu(e.g, uuids[0], &v), 0);
                assert_int_equal(v.state, NVV_VGPU_LOST);
                env_stop(&e);
        }
}

/* A GSP reset: the GPU and its vGPUs are marked lost, never forgotten; stop and delete work,
 * and bring-up makes the GPU usable again. */
static void test_gsp_reset(void **state)
{
        _cleanup_free_ char *msg = NULL;
        struct nvv_pgpu_vgpu v;
        struct env e;
        uint32_t type;

        env_start(&e, "L40S@580.65.06", NULL, false, NULL);
        assert_int_equal(nvv_pgpu_subscribe(e.g, NULL, NULL, &msg), 0);
        bring_up(&e);
        type = some_type(&e);
        if (nvv_pgpu_create_vgpu(e.g, type, NVV_PLACEMENT_NONE, uuids[0], NULL, NULL, &msg) < 0 ||
            nvv_pgpu_vm_start(e.g, uuids[0], NULL, NULL, &msg) < 0)
                fail_msg("%s", msg);
        assert_int_equal(nvv_sim_inject(e.t.sim, "reset@0", &msg), 0);
        for (int i = 0; i < 100 && nvv_pgpu_get_state(e.g) != NVV_PGPU_LOST; i++)
                simtest_pump(nvv_pgpu_get_channel(e.g), 20);
        assert_int_equal(nvv_pgpu_get_state(e.g), NVV_PGPU_LOST);
        assert_int_equal(nvv_pgpu_count(e.g), 1);
        assert_int_equal(nvv_pgpu_find_vgpu(e.g, uuids[0], &v), 0);
        assert_int_equal(v.state, NVV_VGPU_LOST);
        assert_int_equal(nvv_pgpu_create_vgpu(e.g, type, NVV_PLACEMENT_NONE, uuids[1], NULL, NULL, &msg), -ENODEV);
        assert_non_null(strstr(msg, "is lost: the GSP reset"));
        assert_int_equal(nvv_pgpu_vm_stop(e.g, uuids[0], NULL), 0);
        assert_int_equal(nvv_pgpu_delete_vgpu(e.g, uuids[0], NULL, NULL), 0);
        bring_up(&e);
        assert_int_equal(nvv_pgpu_get_state(e.g), NVV_PGPU_READY);
        env_status(&e);
        assert_true(e.st->n_types > 0);
        env_stop(&e);
}

/* ---- create against the prediction ---- */

static void test_disagreement(void **state)
{
        _cleanup_free_ char *msg = NULL;
        struct nvv_pgpu_outcome oc;
        struct env e;
        uint32_t type;

        env_start(&e, "L40S@570.144", NULL, false, NULL);
        bring_up(&e);
        type = some_type(&e);
        /* The firmware refuses what the model predicted it would take. */
        assert_int_equal(nvv_sim_inject(e.t.sim, "status:create_device:NV_ERR_INSUFFICIENT_RESOURCES@0", &msg), 0);
        assert_true(nvv_pgpu_create_vgpu(e.g, type, NVV_PLACEMENT_NONE, uuids[0], NULL, &oc, &msg) < 0);
        assert_true(oc.sent);
        assert_true(oc.disagreement);
        assert_int_equal(oc.status, NVV_FW_INSUFFICIENT_RESOURCES);
        assert_int_equal(oc.predicted, NVV_CHECK_OK);
        assert_non_null(strstr(msg, "NV_ERR_INSUFFICIENT_RESOURCES"));
        assert_non_null(strstr(msg, "the model predicted success"));
        assert_int_equal(nvv_pgpu_count(e.g), 0);
        env_stop(&e);
}

/* The other way round: the firmware takes what the model refuses. The vGPU it made is
 * deleted again, and the error names both verdicts. */
static void test_disagreement_accepted(void **state)
{
        _cleanup_free_ char *msg = NULL;
        const struct nvv_catalog_gpu *m;
        struct nvv_cmd_delete_device dd = {};
        struct nvv_pgpu_outcome oc;
        struct nvv_pgpu_vgpu v;
        uint32_t type = 0, fw_status = 0;
        char err[256];
        struct env e;

        env_start(&e, "L40S@595.45.04", NULL, false, NULL);
        bring_up(&e);
        m = nvv_pgpu_get_model(e.g);
        for (size_t i = 0; i < m->n_types && !type; i++)
                if (m->types[i].max_instance == 1)
                        type = m->types[i].type_id;
        assert_int_not_equal(type, 0);
        if (nvv_pgpu_create_vgpu(e.g, type, NVV_PLACEMENT_NONE, uuids[0], &v, NULL, &msg) < 0)
                fail_msg("%s", msg);
        /* Deleted behind the manager's back: the model still holds it, the firmware does not. */
        env_status(&e);
        assert_int_equal(e.st->n_vgpus, 1);
        memcpy(dd.vgpu_name, e.st->vgpus[0].name, 16);
        dd.vgpu_id = v.vgpu_id;
        if (nvv_channel_call(nvv_pgpu_get_channel(e.g), NVV_CMD_DELETE_DEVICE, &dd, 0, NULL, &fw_status, err,
                             sizeof(err)) < 0)
                fail_msg("%s", err);
        assert_int_equal(nvv_pgpu_available(e.g, type), 0);
        assert_true(nvv_pgpu_create_vgpu(e.g, type, NVV_PLACEMENT_NONE, uuids[1], NULL, &oc, &msg) == -EPROTO);
        assert_true(oc.sent);
        assert_true(oc.disagreement);
        assert_int_equal(oc.status, NVV_FW_OK);
        assert_int_not_equal(oc.predicted, NVV_CHECK_OK);
        if (!strstr(msg, "the firmware accepted it") || !strstr(msg, "the model predicted a refusal") ||
            !strstr(msg, "undone"))
                fail_msg("the error says '%s'", msg);
        /* Undone in the firmware; the model is as it was. */
        env_status(&e);
        assert_int_equal(e.st->n_vgpus, 0);
        assert_int_equal(nvv_pgpu_count(e.g), 1);
        assert_int_equal(nvv_pgpu_find_vgpu(e.g, uuids[1], &v), -ENOENT);
        env_stop(&e);
}

/* ---- why a type is not creatable ---- */

static void test_why_not(void **state)
{
        _cleanup_free_ char *msg = NULL, *why = NULL;
        const struct nvv_catalog_gpu *m;
        const struct nvv_catalog_type *cap2 = NULL, *other = NULL;
        struct nvv_pgpu_fb fb0, fb;
        char want[128];
        struct env e;

        env_start(&e, "L40S@595.45.04", NULL, false, NULL);
        m = nvv_pgpu_get_model(e.g);
        assert_int_equal(nvv_pgpu_why_not(e.g, m->types[0].type_id, &why), NVV_WHY_GPU_STATE);
        assert_string_equal(why, "GPU 0000:41:00.0 is new");
        why = (free(why), NULL);
        bring_up(&e);
        for (size_t i = 0; i < m->n_types; i++) {
                if (!cap2 && m->types[i].max_instance == 2)
                        cap2 = &m->types[i];
                else if (!other && m->types[i].max_instance > 2)
                        other = &m->types[i];
        }
        assert_non_null(cap2);
        assert_non_null(other);
        assert_int_equal(nvv_pgpu_why_not(e.g, cap2->type_id, &why), NVV_WHY_NONE);
        assert_null(why);
        assert_int_equal(nvv_pgpu_get_fb(e.g, &fb0), 0);
        assert_int_equal(fb0.used, 0);
        assert_int_equal(fb0.free, fb0.largest_free);
        for (size_t i = 0; i < 2; i++)
                if (nvv_pgpu_create_vgpu(e.g, cap2->type_id, NVV_PLACEMENT_NONE, uuids[i], NULL, NULL, &msg) < 0)
                        fail_msg("%s", msg);
        assert_int_equal(nvv_pgpu_why_not(e.g, cap2->type_id, &why), NVV_WHY_CAP);
        snprintf(want, sizeof(want), "its cap is reached: 2 of 2 %s exist", cap2->short_name);
        assert_string_equal(why, want);
        why = (free(why), NULL);
        /* Equal-size mode: the GPU holds cap2's type, so no other type fits. */
        assert_int_equal(nvv_pgpu_why_not(e.g, other->type_id, &why), NVV_WHY_MODE);
        snprintf(want, sizeof(want), "GPU 0000:41:00.0 is in equal-size mode and holds %s vGPUs", cap2->short_name);
        assert_non_null(strstr(why, want));
        why = (free(why), NULL);
        assert_string_equal(nvv_pgpu_why_to_string(NVV_WHY_MODE), "equal-size-mode");
        /* The framebuffer picture follows the model. */
        assert_int_equal(nvv_pgpu_get_fb(e.g, &fb), 0);
        assert_true(fb.used > 0);
        assert_int_equal(fb.used + fb.free, fb0.free);
        assert_true(fb.largest_free <= fb.free);
        env_stop(&e);
}

/* ---- adopt ---- */

static void to_known(const struct nvv_gsp_vgpu_info *f, uint32_t handle, struct nvv_pgpu_known *k)
{
        char uuid[37];

        snprintf(uuid, sizeof(uuid), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 f->name[0], f->name[1], f->name[2], f->name[3], f->name[4], f->name[5], f->name[6], f->name[7],
                 f->name[8], f->name[9], f->name[10], f->name[11], f->name[12], f->name[13], f->name[14], f->name[15]);
        *k = (struct nvv_pgpu_known) { .gfid = f->gfid, .host_handle = handle };
        snprintf(k->place.name, sizeof(k->place.name), "%s", uuid);
        k->place.type_id = f->type_id;
        k->place.vgpu_id = f->vgpu_id;
        k->place.placement_id = f->placement_id;
        k->place.fb_offset = f->fb_offset;
        k->place.fb_length = f->fb_length;
        k->place.chid_offset = f->chid_offset;
        k->place.chid_count = f->num_chids;
}

static void test_adopt(void **state)
{
        _cleanup_(strv_freep) char **report = NULL;
        _cleanup_free_ char *msg = NULL;
        struct nvv_pgpu_known known[8];
        struct nvv_pgpu_vgpu started;
        size_t n = 0;
        struct env e;
        uint32_t type, before;

        env_start(&e, "L40S@580.65.06", NULL, false, NULL);
        bring_up(&e);
        type = some_type(&e);
        for (size_t i = 0; i < 3; i++)
                if (nvv_pgpu_create_vgpu(e.g, type, NVV_PLACEMENT_NONE, uuids[i], NULL, NULL, &msg) < 0)
                        fail_msg("%s", msg);
        if (nvv_pgpu_delete_vgpu(e.g, uuids[0], NULL, &msg) < 0 ||
            nvv_pgpu_vm_start(e.g, uuids[2], NULL, &started, &msg) < 0)
                fail_msg("%s", msg);
        before = nvv_pgpu_available(e.g, type);

        /* The manager goes away; the firmware keeps its vGPUs. A new one adopts them. */
        e.g = nvv_pgpu_free(e.g);
        env_status(&e);
        assert_int_equal(e.st->n_vgpus, 2);
        for (size_t i = 0; i < e.st->n_vgpus; i++)
                to_known(&e.st->vgpus[i], e.st->vgpus[i].gfid ? 0xa0840001 : 0, &known[n++]);
        /* And one record the firmware does not hold (it would overlap the others): adopt asks
         * the firmware (create_device of its name, undone at once) and reports it. */
        known[n] = known[0];
        snprintf(known[n].place.name, sizeof(known[n].place.name), "%s", uuids[3]);
        known[n].place.vgpu_id = 9;
        known[n].gfid = 0;
        n++;
        env_open(&e, false, NULL);
        if (nvv_pgpu_adopt(e.g, known, n, &report, &msg) < 0)
                fail_msg("adopt: %s", msg);
        assert_int_equal(nvv_pgpu_get_state(e.g), NVV_PGPU_READY);
        assert_int_equal(nvv_pgpu_count(e.g), 2);
        assert_int_equal(strv_length(report), 1);
        assert_non_null(strstr(report[0], uuids[3]));
        assert_non_null(strstr(report[0], "the firmware does not hold it"));
        env_status(&e);
        for (size_t i = 0; i < nvv_pgpu_count(e.g); i++) {
                struct nvv_pgpu_vgpu v;

                assert_int_equal(nvv_pgpu_get_vgpu(e.g, i, &v), 0);
                assert_true(v.adopted);
                for (size_t k = 0; k < e.st->n_vgpus; k++)
                        if (e.st->vgpus[k].vgpu_id == v.vgpu_id) {
                                assert_same_place(&e.st->vgpus[k], &v);
                                assert_int_equal(v.state, e.st->vgpus[k].gfid ? NVV_VGPU_RUNNING : NVV_VGPU_CREATED);
                        }
        }
        /* The model equals the firmware's: same available count, same creatable answers. */
        assert_int_equal(nvv_pgpu_available(e.g, type), before);
        for (size_t i = 0; i < e.st->n_types; i++)
                assert_int_equal(nvv_pgpu_available(e.g, e.st->type_ids[i]) > 0, e.st->creatable[i]);
        /* Adopting sent nothing that changes the firmware: its vGPUs are where they were. */
        assert_int_equal(e.st->n_vgpus, 2);
        /* The adopted running vGPU stops and deletes as any other. */
        if (nvv_pgpu_vm_stop(e.g, uuids[2], &msg) < 0 || nvv_pgpu_delete_vgpu(e.g, uuids[2], NULL, &msg) < 0)
                fail_msg("%s", msg);
        env_stop(&e);

        /* A started VF that no record accounts for is reported. */
        env_start(&e, "L40S@580.65.06", NULL, false, NULL);
        bring_up(&e);
        if (nvv_pgpu_create_vgpu(e.g, type, NVV_PLACEMENT_NONE, uuids[0], NULL, NULL, &msg) < 0 ||
            nvv_pgpu_vm_start(e.g, uuids[0], NULL, NULL, &msg) < 0)
                fail_msg("%s", msg);
        e.g = nvv_pgpu_free(e.g);
        env_open(&e, false, NULL);
        report = strv_free(report);
        assert_int_equal(nvv_pgpu_adopt(e.g, NULL, 0, &report, &msg), 0);
        assert_int_equal(strv_length(report), 1);
        assert_string_equal(report[0], "VF gfid 1 runs a vGPU that no record accounts for");
        env_stop(&e);
}

/*
 * A stop cut short (a manager killed midway through it) and done again: the steps already
 * done are refused by the firmware (INVALID_STATE: the plugin is down already; the device's
 * handle unknown once freed), yet the stop succeeds once the host vGPU device is gone, as a
 * repeated release must (DESIGN.md: release is idempotent). Before, the first refusal was
 * returned and the vGPU stayed running in the model, its device freed in the firmware.
 */
static void test_stop_cut_short(void **state)
{
        static const int steps[] = { NVV_CMD_SHUTDOWN_PLUGIN, NVV_CMD_CLEANUP_PLUGIN, NVV_CMD_FREE_STATES,
                                     NVV_CMD_FREE_OBJECT };

        for (size_t done = 1; done <= ELEMENTSOF(steps); done++) {
                _cleanup_free_ char *msg = NULL;
                struct nvv_channel *ch;
                struct nvv_pgpu_vgpu v;
                struct nvv_handles target = {};
                struct env e;

                env_start(&e, "L40S@595.45.04", NULL, false, NULL);
                bring_up(&e);
                if (nvv_pgpu_create_vgpu(e.g, some_type(&e), NVV_PLACEMENT_NONE, uuids[0], NULL, NULL, &msg) < 0 ||
                    nvv_pgpu_vm_start(e.g, uuids[0], NULL, &v, &msg) < 0)
                        fail_msg("%s", msg);
                ch = nvv_pgpu_get_channel(e.g);
                target.host_vgpu_device = nvv_pgpu_get_host_handle(e.g, uuids[0]);
                assert_int_not_equal(target.host_vgpu_device, 0);
                /* The first `done` steps of the stop, as the killed manager sent them. */
                for (size_t i = 0; i < done; i++) {
                        union nvv_cmd_any io = {};
                        uint32_t raw = 0;
                        char err[256] = "";

                        if (steps[i] == NVV_CMD_FREE_OBJECT)
                                io.free_object = (struct nvv_cmd_free_object) {
                                        .client = nvv_channel_get_info(ch)->handles.client,
                                        .parent = nvv_channel_get_info(ch)->handles.device,
                                        .object = target.host_vgpu_device };
                        else if (steps[i] == NVV_CMD_FREE_STATES)
                                io.free_states.gfid = v.gfid;
                        else
                                io.gfid.gfid = v.gfid;
                        if (nvv_channel_call(ch, steps[i], &io, v.gfid, steps[i] == NVV_CMD_FREE_OBJECT ? NULL : &target,
                                             &raw, err, sizeof(err)) < 0)
                                fail_msg("step %zu: %s", i, err);
                }
                if (nvv_pgpu_vm_stop(e.g, uuids[0], &msg) < 0)
                        fail_msg("stop after %zu of its steps were done: %s", done, msg);
                assert_int_equal(nvv_pgpu_find_vgpu(e.g, uuids[0], &v), 0);
                assert_int_equal(v.state, NVV_VGPU_CREATED);
                env_status(&e);
                assert_int_equal(e.st->state.n_hosts, 0);
                /* And it starts again. */
                if (nvv_pgpu_vm_start(e.g, uuids[0], NULL, &v, &msg) < 0)
                        fail_msg("start after the repeated stop: %s", msg);
                env_stop(&e);
        }
}

/* ---- concurrent creators never over-commit ---- */

struct racer {
        struct nvv_pgpu *g;
        uint32_t type;
        unsigned index, made;
};

static void *race(void *userdata)
{
        struct racer *r = userdata;

        for (unsigned i = 0; i < 8; i++) {
                char name[40];

                snprintf(name, sizeof(name), "00000000-0000-4000-8000-%06u%06u", r->index, i);
                if (nvv_pgpu_create_vgpu(r->g, r->type, NVV_PLACEMENT_NONE, name, NULL, NULL, NULL) >= 0)
                        r->made++;
                (void) nvv_pgpu_available(r->g, r->type);
        }
        return NULL;
}

static void test_concurrent_creates(void **state)
{
        struct racer r[4];
        pthread_t th[4];
        unsigned made = 0, avail;
        struct env e;
        uint32_t type;

        env_start(&e, "L40S@595.45.04", NULL, false, NULL);
        bring_up(&e);
        type = some_type(&e);
        avail = nvv_pgpu_available(e.g, type);
        for (unsigned i = 0; i < 4; i++) {
                r[i] = (struct racer) { .g = e.g, .type = type, .index = i };
                assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
        }
        for (unsigned i = 0; i < 4; i++) {
                pthread_join(th[i], NULL);
                made += r[i].made;
        }
        /* 32 attempts for fewer places: exactly the available ones were made, on both sides. */
        assert_int_equal(made, avail);
        assert_int_equal(nvv_pgpu_count(e.g), avail);
        assert_int_equal(nvv_pgpu_available(e.g, type), 0);
        env_status(&e);
        assert_int_equal(e.st->n_vgpus, avail);
        env_stop(&e);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lifecycle_inproc),   cmocka_unit_test(test_lifecycle_socket),
                cmocka_unit_test(test_mixed_policy),       cmocka_unit_test(test_new_release_init),
                cmocka_unit_test(test_faults_bring_up),    cmocka_unit_test(test_faults_vm_start),
                cmocka_unit_test(test_gsp_reset),
                cmocka_unit_test(test_reset_at_vm_start),          cmocka_unit_test(test_disagreement),
                cmocka_unit_test(test_disagreement_accepted),
                cmocka_unit_test(test_why_not),
                cmocka_unit_test(test_adopt),              cmocka_unit_test(test_concurrent_creates),
                cmocka_unit_test(test_stop_cut_short),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
