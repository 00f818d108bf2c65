/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The partitioner against the firmware it predicts, through the manager: the same random
 * create/delete scripts the property test uses, replayed through the partitioner and through
 * the managed GPU (nvv-pgpu) on nvvgpu-sim's GSP over the command channel (real message
 * queue, real marshalling for the release), verdict by verdict, the verdicts being the
 * firmware's; after every change, the firmware's creatable types and the managed GPU's own
 * model against the partitioner's available counts; and at the end where each surviving vGPU
 * sits (placement, FB range, channel block) in the firmware, the partitioner and the manager.
 */
#include "nvv-catalog.h"
#include "nvv-channel.h"
#include "nvv-cmd.h"
#include "nvv-pgpu.h"
#include "oracle.h"
#include "nvv-partition.h"
#include "nvv-sim.h"
#include "simtest.h"

/* ---- the managed GPU on nvvgpu-sim as an oracle ---- */

struct sim_oracle {
        struct nvv_partition_oracle o;
        const char *gpus;                       /* "MODEL@RELEASE" */
        bool heterogeneous_timesliced;          /* what the manager configures */
        const char *faults;                     /* armed on the first simulator of each reset */
        struct nvv_sim *sim;
        struct nvv_pgpu *g;                     /* owns the channel */
        unsigned rpcs, created, refused;
        unsigned by_status[_NVV_FW_STATUS_MAX];
        /* The managed GPU's first disagreement with the firmware (it undid the step). */
        char *disagreement;
        /* When set, after every step the firmware's creatable types and the managed GPU's
         * available counts are compared with the partitioner's (replay runs it first). */
        const struct nvv_partition_oracle *partitioner;
        struct nvv_simgpu_status *status;
        unsigned creatable_checks, model_checks;
};

/* The firmware's creatable types are exactly those the partitioner says one more fits, and the
 * managed GPU's model offers what the partitioner's does. */
static void so_check(struct sim_oracle *so, const char *after)
{
        const struct nvv_partition *p;

        if (!so->partitioner)
                return;
        p = nvv_oracle_partition_get(so->partitioner);
        assert_int_equal(nvv_simgpu_get_status(nvv_sim_get_gpu(so->sim, 0), so->status), 0);
        assert_int_equal(so->status->n_types, nvv_partition_type_count(p));
        if (nvv_pgpu_count(so->g) != nvv_partition_count(p))
                fail_msg("%s, after %s: the managed GPU holds %zu vGPUs, the partitioner %zu", so->gpus, after,
                         nvv_pgpu_count(so->g), nvv_partition_count(p));
        for (size_t i = 0; i < so->status->n_types; i++) {
                uint32_t id = so->status->type_ids[i];
                unsigned avail = nvv_partition_available(p, id);

                if ((avail > 0) != so->status->creatable[i])
                        fail_msg("%s, after %s: type %u is %screatable in the firmware, the partitioner has %u available",
                                 so->gpus, after, id, so->status->creatable[i] ? "" : "not ", avail);
                so->creatable_checks++;
                if (nvv_pgpu_available(so->g, id) != avail)
                        fail_msg("%s, after %s: type %u: the managed GPU has %u available, the partitioner %u",
                                 so->gpus, after, id, nvv_pgpu_available(so->g, id), avail);
                so->model_checks++;
        }
}

static void so_stop(struct sim_oracle *so)
{
        if (so->sim && nvv_simgpu_get_status(nvv_sim_get_gpu(so->sim, 0), so->status) == 0)
                so->rpcs += (unsigned) so->status->rpcs_handled;
        so->g = nvv_pgpu_free(so->g);
        so->sim = nvv_sim_stop(so->sim);
}

static void so_free(struct sim_oracle *so)
{
        so_stop(so);
        free(so->status);
        so->status = NULL;
        free(so->disagreement);
        so->disagreement = NULL;
}

static void so_count(struct sim_oracle *so, enum nvv_fw_status s)
{
        if (s >= 0 && s < _NVV_FW_STATUS_MAX)
                so->by_status[s]++;
}

/* The managed GPU's model and the firmware disagreed (it undid the step and said why): the
 * first message is kept for the failure; the replay fails on the verdict itself. */
static void so_disagreement(struct sim_oracle *so, const char *what, const char *msg)
{
        if (!so->disagreement && asprintf(&so->disagreement, "%s: %s", what, msg ? msg : "?") < 0)
                so->disagreement = NULL;
}

/* One command straight over the managed GPU's channel, for verdicts the manager would not ask
 * the firmware for. Its status in the model's terms, through the release's status table; a
 * status the model does not know fails the oracle: the partitioner could never agree with it. */
static int so_raw_call(struct sim_oracle *so, int cmd, void *io, enum nvv_fw_status *ret)
{
        struct nvv_channel *ch = nvv_pgpu_get_channel(so->g);
        const struct nvv_status *st;
        uint32_t fw_status = 0;
        char err[512] = "";
        enum nvv_fw_status s;
        int r;

        r = nvv_channel_call(ch, cmd, io, 0, NULL, &fw_status, err, sizeof(err));
        if (r >= 0) {
                *ret = NVV_FW_OK;
                return 0;
        }
        st = nvv_fwabi_status(nvv_channel_get_fwabi(ch), fw_status);
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
        return 0;
}

/* A fresh GPU (a new simulated host, in-process, no socket), managed with exactly this type
 * table and mode, brought up by its release's init list. */
static int so_bring_up(struct sim_oracle *so, const struct nvv_vgpu_type *types, size_t n, enum nvv_partition_mode mode,
                       const char *faults, char **reterr_msg)
{
        struct nvv_sim_options opt = { .gpus = so->gpus, .catalog_dir = simtest_catalog_dir(), .faults = faults };
        struct nvv_pgpu_options po = {
                .types = types, .n_types = n, .mode = mode, .heterogeneous_timesliced = so->heterogeneous_timesliced,
        };
        struct nvv_channel *ch = NULL;
        _cleanup_free_ char *msg = NULL;
        int r;

        so_stop(so);
        r = nvv_sim_start(&opt, &so->sim, &msg);
        if (r < 0) {
                fprintf(stderr, "sim: %s\n", msg ? msg : strerror(-r));
                return r;
        }
        r = nvv_simgpu_open_channel(nvv_sim_get_gpu(so->sim, 0), nvv_sim_get_fwdb(so->sim), &ch, &msg);
        if (r < 0) {
                fprintf(stderr, "sim: %s\n", msg ? msg : strerror(-r));
                return r;
        }
        po.catalog = nvv_sim_get_catalog(so->sim);
        r = nvv_pgpu_new(ch, &po, &so->g, &msg);
        if (r < 0) {
                fprintf(stderr, "nvv_pgpu_new: %s\n", msg ? msg : strerror(-r));
                return r;
        }
        return nvv_pgpu_bring_up(so->g, reterr_msg);
}

static int so_reset(void *ud, const struct nvv_vgpu_type *types, size_t n, enum nvv_partition_mode mode,
                    struct nvv_oracle_verdict *ret)
{
        struct sim_oracle *so = ud;
        struct nvv_pgpu_init_info info = {};
        _cleanup_free_ char *msg = NULL;
        bool ask_mixed = false;
        int r;

        ret->status = NVV_FW_OK;
        r = so_bring_up(so, types, n, mode, so->faults, &msg);
        if (r >= 0) {
                so_count(so, NVV_FW_OK);
                so_check(so, "the type upload");
                return 0;
        }
        if (!so->g)
                return r;
        assert_int_equal(nvv_pgpu_get_init_info(so->g, &info), 0);
        if (info.failed) {
                /* The firmware's answer to the step that failed is the verdict. */
                ret->status = info.failed_status;
                so_count(so, ret->status);
                if (info.failed_status == NVV_FW_OK) /* it accepted what the model refused */
                        so_disagreement(so, "bring-up", msg);
                /* The partitioner, refused only the mode, goes on in equal-size mode with the
                 * types, as the firmware would; any other refusal leaves the GPU failed. */
                if (info.failed_step != NVV_CMD_SET_HETEROGENEOUS_MODE || info.failed_status == NVV_FW_OK)
                        return 0;
        } else if (mode == NVV_PARTITION_HETEROGENEOUS && !nvv_pgpu_get_model(so->g)->mixed_size)
                /* The manager refuses mixed-size mode on a model without it, before sending
                 * anything: the firmware is asked below, on the GPU brought up as it would be. */
                ask_mixed = true;
        else {
                fprintf(stderr, "%s: bring-up: %s\n", so->gpus, msg ? msg : strerror(-r));
                return r;
        }
        /* A failed bring-up rolled back (types withdrawn, GPU failed): a fresh GPU, brought up in
         * equal-size mode. */
        free(msg);
        msg = NULL;
        r = so_bring_up(so, types, n, NVV_PARTITION_HOMOGENEOUS, NULL, &msg);
        if (r < 0) {
                fprintf(stderr, "%s: bring-up in equal-size mode: %s\n", so->gpus, msg ? msg : strerror(-r));
                return r;
        }
        if (ask_mixed) {
                struct nvv_cmd_set_heterogeneous_mode hm = { .enabled = true };

                r = so_raw_call(so, NVV_CMD_SET_HETEROGENEOUS_MODE, &hm, &ret->status);
                if (r < 0)
                        return r;
                so_count(so, ret->status);
        }
        so_check(so, "the type upload");
        return 0;
}

static int so_create(void *ud, uint32_t type_id, const char *name, struct nvv_oracle_verdict *ret)
{
        struct sim_oracle *so = ud;
        struct nvv_pgpu_outcome oc = {};
        struct nvv_pgpu_vgpu v = {};
        _cleanup_free_ char *msg = NULL;
        int r;

        r = nvv_pgpu_create_vgpu(so->g, type_id, NVV_PLACEMENT_NONE, name, &v, &oc, &msg);
        if (!oc.sent || (r < 0 && !oc.disagreement && oc.status == NVV_FW_OK)) {
                /* Not asked, or no answer: no verdict to compare. */
                fprintf(stderr, "%s: create '%s': %s\n", so->gpus, name, msg ? msg : strerror(-r));
                return r < 0 ? r : -EPROTO;
        }
        ret->status = oc.status;
        so_count(so, oc.status);
        if (oc.disagreement) {
                /* Undone; the firmware's vgpu_id and placement are not reported, and 0 and none
                 * match no prediction the partitioner makes, so the comparison fails on them too. */
                so_disagreement(so, name, msg);
                ret->vgpu_id = 0;
                ret->placement_id = NVV_PLACEMENT_NONE;
                return 0;
        }
        if (oc.status != NVV_FW_OK) {
                so->refused++;
                return 0;
        }
        so->created++;
        so_check(so, name);
        ret->vgpu_id = v.vgpu_id;
        ret->placement_id = v.place.placement_id;
        return 0;
}

static int so_remove(void *ud, const char *name, struct nvv_oracle_verdict *ret)
{
        struct sim_oracle *so = ud;
        struct nvv_pgpu_outcome oc = {};
        _cleanup_free_ char *msg = NULL;
        int r;

        r = nvv_pgpu_delete_vgpu(so->g, name, &oc, &msg);
        if (r == -ENOENT && !oc.sent) {
                /* The managed GPU refuses a name it does not hold without asking the firmware.
                 * The verdict compared is the firmware's, so ask it as that manager would have:
                 * by name, with id 0, which the firmware must not find. */
                struct nvv_cmd_delete_device dd = {};

                /* The scripts' names ("vgpu-N") fit the firmware's 16 bytes; a longer one would alias. */
                assert_true(strlen(name) <= sizeof(dd.vgpu_name));
                memcpy(dd.vgpu_name, name, strlen(name));
                r = so_raw_call(so, NVV_CMD_DELETE_DEVICE, &dd, &ret->status);
                if (r < 0)
                        return r;
                so_count(so, ret->status);
                return 0;
        }
        if (!oc.sent || (r < 0 && oc.status == NVV_FW_OK)) {
                fprintf(stderr, "%s: delete '%s': %s\n", so->gpus, name, msg ? msg : strerror(-r));
                return r < 0 ? r : -EPROTO;
        }
        ret->status = oc.status;
        so_count(so, oc.status);
        if (oc.disagreement) /* the model held it, the firmware did not */
                so_disagreement(so, name, msg);
        else
                so_check(so, name);
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
        /* And the managed GPU holds the same vGPUs where the firmware has them. */
        if (nvv_pgpu_count(so->g) != st->n_vgpus)
                fail_msg("%s: the managed GPU holds %zu vGPUs, sim %zu", where, nvv_pgpu_count(so->g), st->n_vgpus);
        for (size_t i = 0; i < nvv_pgpu_count(so->g); i++) {
                const struct nvv_gsp_vgpu_info *s = NULL;
                struct nvv_pgpu_vgpu v;

                assert_int_equal(nvv_pgpu_get_vgpu(so->g, i, &v), 0);
                for (size_t j = 0; j < st->n_vgpus && !s; j++)
                        if (st->vgpus[j].vgpu_id == v.vgpu_id)
                                s = &st->vgpus[j];
                if (!s || s->type_id != v.type_id || s->placement_id != v.place.placement_id ||
                    s->fb_offset != v.place.fb_offset || s->fb_length != v.place.fb_length ||
                    s->chid_offset != v.place.chid_offset || s->num_chids != v.place.chid_count)
                        fail_msg("%s: the managed GPU's vGPU %u ('%s', type %u placement %u fb %#" PRIx64 "+%#" PRIx64
                                 " chids %u+%u) is %s in the firmware",
                                 where, v.vgpu_id, v.name, v.type_id, v.place.placement_id, v.place.fb_offset,
                                 v.place.fb_length, v.place.chid_offset, v.place.chid_count, s ? "elsewhere" : "not");
        }
}

static void test_agreement(void **state)
{
        unsigned sequences = 0, ok = 0, refused = 0, deletes = 0, rpcs = 0;
        unsigned by_status[_NVV_FW_STATUS_MAX] = {}, creatable_checks = 0, model_checks = 0;

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
                        if (r < 0)
                                fail_msg("%s: %s%s%s", where, msg ? msg : strerror(-r),
                                         so.disagreement ? "; the managed GPU: " : "", so.disagreement ? so.disagreement : "");
                        if (so.disagreement)
                                fail_msg("%s: %s", where, so.disagreement);
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
                model_checks += so.model_checks;
                so_free(&so);
        }

        printf("agreement: %u scripts on %zu GPU/release pairs through the managed GPU, %u firmware commands over "
               "the channel; %u creates accepted, %u refused, %u deletes: every verdict and every placement agreed; "
               "%u creatable-type answers of the firmware matched the partitioner's available counts, and so did "
               "the managed GPU's %u\n",
               sequences, ELEMENTSOF(configs), rpcs, ok, refused, deletes, creatable_checks, model_checks);
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
        assert_int_equal(model_checks, creatable_checks);
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
                        if (so.disagreement)
                                fail_msg("%s: %s", cases[c].type, so.disagreement);
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

/* A firmware that refuses mixed-size mode at bring-up (here by an injected status, on a GPU
 * that has the mode): the managed GPU rolls back and reports the firmware's status for the
 * step; the oracle brings it up in equal-size mode, and the partitioner, told the GPU has no
 * mixed-size mode, agrees with it on the whole script. */
static void test_refused_mode(void **state)
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
        assert_true(geo.heterogeneous_timesliced);
        types = upload_table(m, fw, &n);
        so_init(&so, "L40S@595.45.04", true);
        so.faults = "status:set_heterogeneous_mode:NV_ERR_NOT_SUPPORTED";
        geo.heterogeneous_timesliced = false;
        assert_int_equal(nvv_oracle_partition_new(&geo, &part), 0);
        so.partitioner = part;
        assert_int_equal(nvv_oracle_script_random(types, n, NVV_PARTITION_HETEROGENEOUS, OPS_PER_SEQUENCE, 11, &s), 0);
        if (nvv_oracle_replay(s, part, &so.o, &msg) < 0)
                fail_msg("%s", msg);
        compare_state(nvv_oracle_partition_get(part), &so, "refused mode");
        assert_int_equal(so.by_status[NVV_FW_NOT_SUPPORTED], 1);
        assert_true(so.created > 0);
        assert_int_equal(nvv_pgpu_get_state(so.g), NVV_PGPU_READY);
        so_free(&so);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_agreement),
                cmocka_unit_test(test_published_mixed),
                cmocka_unit_test(test_disagreement_caught),
                cmocka_unit_test(test_refused_mode),
        };

        return cmocka_run_group_tests(tests, datatest_setup, datatest_teardown);
}
