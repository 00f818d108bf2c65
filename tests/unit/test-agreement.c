/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The partitioner against the firmware it predicts: the same random create/delete scripts the
 * property test uses, replayed through the partitioner and through nvvgpu-sim's GSP over the
 * command channel (real message queue, real marshalling for the release), verdict by verdict;
 * after every change, the firmware's creatable types against the partitioner's available counts;
 * and at the end where each surviving vGPU sits (placement, FB range, channel block).
 */
#include "nvv-catalog.h"
#include "nvv-channel.h"
#include "nvv-cmd.h"
#include "oracle.h"
#include "nvv-partition.h"
#include "nvv-sim.h"
#include "simtest.h"

/* ---- nvvgpu-sim as an oracle ---- */

struct sim_oracle {
        struct nvv_partition_oracle o;
        const char *gpus;                       /* "MODEL@RELEASE" */
        bool heterogeneous_timesliced;          /* what the manager configures */
        struct nvv_sim *sim;
        struct nvv_channel *ch;
        struct {
                char name[NVV_PARTITION_NAME_MAX];
                uint32_t vgpu_id;
        } live[NVV_MAX_VGPUS];
        size_t n_live;
        unsigned rpcs, created, refused;
        unsigned by_status[_NVV_FW_STATUS_MAX];
        /* When set, after every step the firmware's creatable types are compared with the
         * partitioner's available counts (replay runs the partitioner first). */
        const struct nvv_partition_oracle *partitioner;
        struct nvv_simgpu_status *status;
        unsigned creatable_checks;
};

/* The firmware's creatable types are exactly those the partitioner says one more fits. */
static void so_check_creatable(struct sim_oracle *so, const char *after)
{
        const struct nvv_partition *p;

        if (!so->partitioner)
                return;
        p = nvv_oracle_partition_get(so->partitioner);
        assert_int_equal(nvv_simgpu_get_status(nvv_sim_get_gpu(so->sim, 0), so->status), 0);
        assert_int_equal(so->status->n_types, nvv_partition_type_count(p));
        for (size_t i = 0; i < so->status->n_types; i++) {
                unsigned avail = nvv_partition_available(p, so->status->type_ids[i]);

                if ((avail > 0) != so->status->creatable[i])
                        fail_msg("%s, after %s: type %u is %screatable in the firmware, the partitioner has %u available",
                                 so->gpus, after, so->status->type_ids[i], so->status->creatable[i] ? "" : "not ",
                                 avail);
                so->creatable_checks++;
        }
}

static void so_free(struct sim_oracle *so)
{
        so->ch = nvv_channel_close(so->ch);
        so->sim = nvv_sim_stop(so->sim);
        free(so->status);
        so->status = NULL;
}

static void so_stop(struct sim_oracle *so)
{
        so->ch = nvv_channel_close(so->ch);
        so->sim = nvv_sim_stop(so->sim);
        so->n_live = 0;
}

/* A firmware status → the model's name for it, through the release's status table. A status
 * the model does not know fails the oracle: the partitioner could never agree with it. */
static int so_status(struct sim_oracle *so, int r, uint32_t fw_status, const char *err, enum nvv_fw_status *ret)
{
        const struct nvv_status *st;
        enum nvv_fw_status s;

        so->rpcs++;
        if (r >= 0) {
                so->by_status[NVV_FW_OK]++;
                *ret = NVV_FW_OK;
                return 0;
        }
        st = nvv_fwabi_status(nvv_channel_get_fwabi(so->ch), fw_status);
        if (!st) {
                fprintf(stderr, "sim: no firmware status (%s)\n", err);
                return r;
        }
        s = nvv_fw_status_from_string(st->name);
        if (s < 0) {
                fprintf(stderr, "sim: status %s is outside the model (%s)\n", st->name, err);
                return -EPROTO;
        }
        *ret = s;
        so->by_status[s]++;
        return 0;
}

static int so_reset(void *ud, const struct nvv_vgpu_type *types, size_t n, enum nvv_partition_mode mode,
                    struct nvv_oracle_verdict *ret)
{
        struct sim_oracle *so = ud;
        struct nvv_sim_options opt = { .gpus = so->gpus, .catalog_dir = simtest_catalog_dir() };
        struct nvv_cmd_set_vgpu_mgr_config mc = { .heterogeneous_timesliced = so->heterogeneous_timesliced };
        struct nvv_cmd_set_heterogeneous_mode hm = { .enabled = true };
        _cleanup_free_ struct nvv_cmd_add_vgpu_types *t = calloc(1, sizeof(*t));
        _cleanup_free_ char *msg = NULL;
        uint32_t fw_status = 0;
        char err[512] = "";
        int r;

        if (!t || n > NVV_MAX_VGPU_TYPES)
                return -ENOMEM;
        so_stop(so);
        /* A fresh GPU: a new simulated host, in-process, no socket. */
        r = nvv_sim_start(&opt, &so->sim, &msg);
        if (r < 0) {
                fprintf(stderr, "sim: %s\n", msg ? msg : strerror(-r));
                return r;
        }
        r = nvv_simgpu_open_channel(nvv_sim_get_gpu(so->sim, 0), nvv_sim_get_fwdb(so->sim), &so->ch, &msg);
        if (r < 0) {
                fprintf(stderr, "sim: %s\n", msg ? msg : strerror(-r));
                return r;
        }
        ret->status = NVV_FW_OK;
        r = nvv_channel_call(so->ch, NVV_CMD_SET_VGPU_MGR_CONFIG, &mc, 0, NULL, &fw_status, err, sizeof(err));
        if (so_status(so, r, fw_status, err, &ret->status) < 0 || ret->status != NVV_FW_OK)
                return r < 0 && ret->status == NVV_FW_OK ? r : 0;
        t->discard = true;
        t->count = (uint32_t) n;
        memcpy(t->types, types, n * sizeof(*types));
        r = nvv_channel_call(so->ch, NVV_CMD_ADD_VGPU_TYPES, t, 0, NULL, &fw_status, err, sizeof(err));
        if (so_status(so, r, fw_status, err, &ret->status) < 0)
                return r;
        if (ret->status == NVV_FW_OK && mode != NVV_PARTITION_HETEROGENEOUS)
                so_check_creatable(so, "the type upload");
        if (ret->status != NVV_FW_OK || mode != NVV_PARTITION_HETEROGENEOUS)
                return 0;
        r = nvv_channel_call(so->ch, NVV_CMD_SET_HETEROGENEOUS_MODE, &hm, 0, NULL, &fw_status, err, sizeof(err));
        if (so_status(so, r, fw_status, err, &ret->status) < 0)
                return r;
        if (ret->status == NVV_FW_OK)
                so_check_creatable(so, "the type upload");
        return 0;
}

static void to_vgpu_name(const char *name, uint8_t out[16])
{
        /* The scripts' names ("vgpu-N") fit the firmware's 16 bytes; a longer one would alias. */
        memset(out, 0, 16);
        assert_true(strlen(name) <= 16);
        memcpy(out, name, strlen(name));
}

static int so_create(void *ud, uint32_t type_id, const char *name, struct nvv_oracle_verdict *ret)
{
        struct sim_oracle *so = ud;
        struct nvv_cmd_create_device cd = { .type_id = type_id };
        uint32_t fw_status = 0;
        char err[512] = "";
        int r;

        to_vgpu_name(name, cd.vgpu_name);
        r = nvv_channel_call(so->ch, NVV_CMD_CREATE_DEVICE, &cd, 0, NULL, &fw_status, err, sizeof(err));
        if (so_status(so, r, fw_status, err, &ret->status) < 0)
                return r;
        if (ret->status != NVV_FW_OK) {
                so->refused++;
                return 0;
        }
        so->created++;
        so_check_creatable(so, name);
        ret->vgpu_id = cd.vgpu_id;
        ret->placement_id = cd.placement_id;
        assert_true(so->n_live < NVV_MAX_VGPUS);
        snprintf(so->live[so->n_live].name, sizeof(so->live[0].name), "%s", name);
        so->live[so->n_live++].vgpu_id = cd.vgpu_id;
        return 0;
}

static int so_remove(void *ud, const char *name, struct nvv_oracle_verdict *ret)
{
        struct sim_oracle *so = ud;
        struct nvv_cmd_delete_device dd = {};
        uint32_t fw_status = 0;
        char err[512] = "";
        size_t i;
        int r;

        /* The manager deletes by name and the id the firmware gave it; a name it never
         * created goes with id 0, which the firmware must not find. */
        for (i = 0; i < so->n_live && !streq(so->live[i].name, name); i++)
                ;
        if (i < so->n_live)
                dd.vgpu_id = so->live[i].vgpu_id;
        to_vgpu_name(name, dd.vgpu_name);
        r = nvv_channel_call(so->ch, NVV_CMD_DELETE_DEVICE, &dd, 0, NULL, &fw_status, err, sizeof(err));
        if (so_status(so, r, fw_status, err, &ret->status) < 0)
                return r;
        if (ret->status == NVV_FW_OK && i < so->n_live) {
                so->live[i] = so->live[--so->n_live];
                so_check_creatable(so, name);
        }
        return 0;
}

static void so_init(struct sim_oracle *so, const char *gpus, bool hetero_timesliced)
{
        *so = (struct sim_oracle) { .gpus = gpus, .heterogeneous_timesliced = hetero_timesliced };
        so->status = calloc(1, sizeof(*so->status));
        assert_non_null(so->status);
        so->o = (struct nvv_partition_oracle) { "nvvgpu-sim", so, so_reset, so_create, so_remove };
}

/* ---- the test ---- */

/* The type table the manager uploads for this GPU (ECC off, as the simulator runs). */
static struct nvv_vgpu_type *upload_table(const struct nvv_catalog_gpu *m, const struct nvv_fwabi *fw, size_t *ret_n)
{
        struct nvv_vgpu_type *types = calloc(m->n_types, sizeof(*types));
        size_t n = 0;

        assert_non_null(types);
        for (size_t i = 0; i < m->n_types; i++)
                if (nvv_catalog_fill_vgpu_type(&m->types[i], fw, false, &types[n]) == 0)
                        n++;
        *ret_n = n;
        return types;
}

#include "datatest.h"

/* Releases with create_device (570 onwards); 535/550 create through the allocation. */
static const struct {
        const char *model, *release;
        enum nvv_partition_mode mode;
} configs[] = {
        { "L40S", "595.45.04", NVV_PARTITION_HETEROGENEOUS },
        { "L40S", "570.144", NVV_PARTITION_HOMOGENEOUS },
        { "H200", "580.65.06", NVV_PARTITION_HETEROGENEOUS },
        { "H100", "570.144", NVV_PARTITION_HETEROGENEOUS },
        { "RTX6000-Ada", "595.45.04", NVV_PARTITION_HETEROGENEOUS },
        { "A16", "580.65.06", NVV_PARTITION_HOMOGENEOUS },
        { "A10", "595.45.04", NVV_PARTITION_HETEROGENEOUS },
        /* T4 has no mixed-size support: both must refuse the mode (NV_ERR_NOT_SUPPORTED)
         * and then agree in equal-size mode. */
        { "T4", "595.45.04", NVV_PARTITION_HETEROGENEOUS },
};

#define SEQUENCES_PER_CONFIG 40
#define OPS_PER_SEQUENCE 64

/* After a script: the same vGPUs, with the same resources, on both sides. */
static void compare_state(const struct nvv_partition *p, struct sim_oracle *so, const char *where)
{
        _cleanup_free_ struct nvv_simgpu_status *st = calloc(1, sizeof(*st));

        assert_non_null(st);
        assert_int_equal(nvv_simgpu_get_status(nvv_sim_get_gpu(so->sim, 0), st), 0);
        if (st->n_vgpus != nvv_partition_count(p)) {
                fprintf(stderr, "%s: sim holds %zu vGPUs, partitioner %zu\n", where, st->n_vgpus, nvv_partition_count(p));
                fail();
        }
        for (size_t i = 0; i < st->n_vgpus; i++) {
                const struct nvv_gsp_vgpu_info *s = &st->vgpus[i];
                const struct nvv_partition_vgpu *v = NULL;

                for (size_t j = 0; j < nvv_partition_count(p) && !v; j++)
                        if (nvv_partition_get(p, j)->vgpu_id == s->vgpu_id)
                                v = nvv_partition_get(p, j);
                if (!v || v->type_id != s->type_id || v->placement_id != s->placement_id ||
                    v->fb_offset != s->fb_offset || v->fb_length != s->fb_length ||
                    v->chid_offset != s->chid_offset || v->chid_count != s->num_chids ||
                    memcmp(v->name, s->name, strnlen(v->name, 16)) != 0) {
                        fprintf(stderr,
                                "%s: vGPU %u: sim has type %u placement %u fb %#" PRIx64 "+%#" PRIx64 " chids %u+%u; "
                                "partitioner %s\n",
                                where, s->vgpu_id, s->type_id, s->placement_id, s->fb_offset, s->fb_length,
                                s->chid_offset, s->num_chids, v ? "differs" : "has no such vGPU");
                        if (v)
                                fprintf(stderr, "  partitioner: type %u placement %u fb %#" PRIx64 "+%#" PRIx64
                                                " chids %u+%u\n",
                                        v->type_id, v->placement_id, v->fb_offset, v->fb_length, v->chid_offset,
                                        v->chid_count);
                        fail();
                }
        }
}

static void test_agreement(void **state)
{
        unsigned sequences = 0, ok = 0, refused = 0, deletes = 0, rpcs = 0;
        unsigned by_status[_NVV_FW_STATUS_MAX] = {}, creatable_checks = 0;

        for (size_t c = 0; c < ELEMENTSOF(configs); c++) {
                const struct nvv_catalog_gpu *m = nvv_catalog_find_gpu(catalog, configs[c].model);
                const struct nvv_fwabi *fw = nvv_fwdb_find(fwdb, configs[c].release);
                _cleanup_(nvv_oracle_partition_freep) struct nvv_partition_oracle *part = NULL;
                _cleanup_free_ struct nvv_vgpu_type *types = NULL;
                struct nvv_partition_geometry geo;
                struct sim_oracle so;
                char gpus[96];
                size_t n = 0;

                assert_non_null(m);
                assert_non_null(fw);
                assert_non_null(nvv_fwabi_command(fw, NVV_CMD_CREATE_DEVICE));
                /* The simulator runs its GPUs with ECC off; so does this side. */
                assert_int_equal(nvv_partition_geometry_from_catalog(m, fw, false, &geo), 0);
                types = upload_table(m, fw, &n);
                assert_true(n > 0);
                assert_int_equal(nvv_oracle_partition_new(&geo, &part), 0);
                snprintf(gpus, sizeof(gpus), "%s@%s", m->short_name, configs[c].release);
                so_init(&so, gpus, geo.heterogeneous_timesliced);
                so.partitioner = part;

                for (unsigned seed = 0; seed < SEQUENCES_PER_CONFIG; seed++) {
                        _cleanup_(nvv_oracle_script_freep) struct nvv_oracle_script *s = NULL;
                        _cleanup_free_ char *msg = NULL;
                        char where[160];
                        int r;

                        assert_int_equal(nvv_oracle_script_random(types, n, configs[c].mode, OPS_PER_SEQUENCE,
                                                                  1000 + seed, &s), 0);
                        r = nvv_oracle_replay(s, part, &so.o, &msg);
                        snprintf(where, sizeof(where), "%s seed %u", gpus, 1000 + seed);
                        if (r < 0) {
                                fprintf(stderr, "%s: %s\n", where, msg ? msg : strerror(-r));
                                fail();
                        }
                        compare_state(nvv_oracle_partition_get(part), &so, where);
                        for (size_t i = 0; i < s->n_ops; i++)
                                if (s->ops[i].kind == NVV_ORACLE_REMOVE)
                                        deletes++;
                        sequences++;
                }
                rpcs += so.rpcs;
                ok += so.created;
                refused += so.refused;
                for (int k = 0; k < _NVV_FW_STATUS_MAX; k++)
                        by_status[k] += so.by_status[k];
                creatable_checks += so.creatable_checks;
                so_free(&so);
        }

        printf("agreement: %u scripts on %zu GPU/release pairs, %u firmware commands over the channel; "
               "%u creates accepted, %u refused, %u deletes: every verdict and every placement agreed; "
               "%u creatable-type answers of the firmware matched the partitioner's available counts\n",
               sequences, ELEMENTSOF(configs), rpcs, ok, refused, deletes, creatable_checks);
        for (int k = 0; k < _NVV_FW_STATUS_MAX; k++)
                if (by_status[k])
                        printf("  %-32s %u\n", nvv_fw_status_to_string(k), by_status[k]);
        assert_int_equal(sequences, ELEMENTSOF(configs) * SEQUENCES_PER_CONFIG);
        /* Every refusal the scripts can provoke was provoked: duplicate names, unknown
         * deletes, full GPUs, and mixing types in equal-size mode. */
        assert_true(by_status[NVV_FW_IN_USE] > 0);
        assert_true(by_status[NVV_FW_OBJECT_NOT_FOUND] > 0);
        assert_true(by_status[NVV_FW_INSUFFICIENT_RESOURCES] > 0);
        assert_true(by_status[NVV_FW_INVALID_STATE] > 0);
        /* Both outcomes were exercised, or agreement means little. */
        assert_true(ok > 500);
        assert_true(refused > 500);
        assert_true(creatable_checks > 10000);
}

/* NVIDIA's published mixed-size maxima (nvvgpu issue 7): on an empty GPU in mixed-size mode
 * the partitioner has exactly that many available, and the simulated firmware, given only the
 * type table the manager uploads, creates exactly that many and refuses the next. */
static void test_published_mixed(void **state)
{
        static const struct {
                const char *model, *type;
                unsigned mixed;
        } cases[] = {
                { "L40S", "L40S-16C", 2 }, { "L40S", "L40S-8C", 4 }, { "L40S", "L40S-4C", 8 },
                { "L40S", "L40S-16Q", 2 }, { "L40S", "L40S-8A", 4 }, { "L40S", "L40S-4Q", 8 },
                { "L4", "L4-8C", 2 }, { "L4", "L4-4C", 4 }, { "L4", "L4-8Q", 2 }, { "L4", "L4-4B", 0 },
                { "H100", "H100-16C", 4 }, { "H100", "H100-8C", 8 }, { "H100", "H100-4C", 16 },
                { "RTX6000-Ada", "RTX6000-Ada-16Q", 2 }, { "RTX6000-Ada", "RTX6000-Ada-8Q", 4 },
                { "RTX6000-Ada", "RTX6000-Ada-4Q", 8 },
        };
        const struct nvv_fwabi *fw = nvv_fwdb_find(fwdb, "595.45.04");

        assert_non_null(fw);
        for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
                const struct nvv_catalog_gpu *m = nvv_catalog_find_gpu(catalog, cases[c].model);
                const struct nvv_catalog_type *ct = nvv_catalog_find_type(catalog, cases[c].type);
                _cleanup_(nvv_partition_freep) struct nvv_partition *p = NULL;
                _cleanup_free_ struct nvv_vgpu_type *types = NULL;
                struct nvv_partition_geometry geo;
                struct nvv_oracle_verdict v = {};
                struct sim_oracle so;
                char gpus[96];
                unsigned made = 0;
                size_t n = 0;

                assert_non_null(m);
                if (cases[c].mixed == 0) { /* the L4 has no 4B: B types stop at 2 GB */
                        assert_null(ct);
                        continue;
                }
                assert_non_null(ct);
                assert_true(ct->mixed_max_instance < ct->max_instance);
                assert_int_equal(nvv_partition_geometry_from_catalog(m, fw, false, &geo), 0);
                assert_true(geo.heterogeneous_timesliced);
                types = upload_table(m, fw, &n);
                assert_int_equal(nvv_partition_new(&geo, &p), 0);
                assert_int_equal(nvv_partition_add_types(p, types, n, true, NULL), 0);
                assert_int_equal(nvv_partition_set_mode(p, NVV_PARTITION_HETEROGENEOUS, NULL), 0);
                if (nvv_partition_available(p, ct->type_id) != cases[c].mixed)
                        fail_msg("%s: the partitioner has %u available in mixed-size mode, NVIDIA publishes %u",
                                 cases[c].type, nvv_partition_available(p, ct->type_id), cases[c].mixed);

                snprintf(gpus, sizeof(gpus), "%s@595.45.04", m->short_name);
                so_init(&so, gpus, geo.heterogeneous_timesliced);
                assert_int_equal(so_reset(&so, types, n, NVV_PARTITION_HETEROGENEOUS, &v), 0);
                assert_int_equal(v.status, NVV_FW_OK);
                for (;;) {
                        char name[16];

                        snprintf(name, sizeof(name), "pub-%u", made);
                        assert_int_equal(so_create(&so, ct->type_id, name, &v), 0);
                        if (v.status != NVV_FW_OK)
                                break;
                        made++;
                        assert_true(made <= 32);
                }
                if (made != cases[c].mixed)
                        fail_msg("%s: nvvgpu-sim created %u in mixed-size mode, NVIDIA publishes %u",
                                 cases[c].type, made, cases[c].mixed);
                so_free(&so);
        }
}

/* The comparison is not blind: a firmware that disagrees is caught, with the op named. */
static void test_disagreement_caught(void **state)
{
        const struct nvv_catalog_gpu *m = nvv_catalog_find_gpu(catalog, "L40S");
        const struct nvv_fwabi *fw = nvv_fwdb_find(fwdb, "595.45.04");
        _cleanup_(nvv_oracle_partition_freep) struct nvv_partition_oracle *part = NULL;
        _cleanup_(nvv_oracle_script_freep) struct nvv_oracle_script *s = NULL;
        _cleanup_free_ struct nvv_vgpu_type *types = NULL;
        _cleanup_free_ char *msg = NULL;
        struct nvv_partition_geometry geo;
        struct sim_oracle so;
        size_t n = 0;

        assert_int_equal(nvv_partition_geometry_from_catalog(m, fw, false, &geo), 0);
        types = upload_table(m, fw, &n);
        /* The partitioner believes the GPU has one VF fewer than the simulator does. */
        geo.num_vfs = 3;
        assert_int_equal(nvv_oracle_partition_new(&geo, &part), 0);
        so_init(&so, "L40S@595.45.04", geo.heterogeneous_timesliced);
        /* Smallest type, many creates: the fourth create separates the two. */
        {
                size_t small = 0;

                for (size_t i = 1; i < n; i++)
                        if (types[i].fb_length < types[small].fb_length)
                                small = i;
                assert_int_equal(nvv_oracle_script_random(&types[small], 1, NVV_PARTITION_HETEROGENEOUS, 8, 7, &s), 0);
        }
        for (size_t i = 0; i < s->n_ops; i++) /* all creates, distinct names */
                s->ops[i] = (struct nvv_oracle_op) { .kind = NVV_ORACLE_CREATE, .type_id = s->types[0].type_id };
        for (size_t i = 0; i < s->n_ops; i++)
                snprintf(s->ops[i].name, sizeof(s->ops[i].name), "vgpu-%zu", i);
        assert_int_equal(nvv_oracle_replay(s, part, &so.o, &msg), -EDOM);
        assert_non_null(msg);
        assert_strstr(msg, "op 4 (create ");
        assert_strstr(msg, "partitioner says NV_ERR_INSUFFICIENT_RESOURCES, nvvgpu-sim says NV_OK (vgpu_id 4");
        so_free(&so);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_agreement),
                cmocka_unit_test(test_published_mixed),
                cmocka_unit_test(test_disagreement_caught),
        };

        return cmocka_run_group_tests(tests, datatest_setup, datatest_teardown);
}
