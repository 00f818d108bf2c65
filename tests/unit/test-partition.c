/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The partitioner against doc/firmware-model.md: the create checks in order, placement,
 * first-fit, channels, modes, the type table; then the property test: thousands of random
 * create/delete sequences with every invariant checked after every step, and available
 * counts that are always creatable (and zero means create fails); and the oracle replay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-catalog.h"
#include "nvv-fwabi.h"
#include "oracle.h"
#include "nvv-partition.h"
#include "util.h"

#include "datatest.h"

struct gpu {
        struct nvv_partition_geometry geo;
        size_t n;
        struct nvv_vgpu_type types[NVV_CATALOG_MAX_TYPES];
};

static void make_gpu(const char *model, const char *release, bool ecc, struct gpu *g)
{
        const struct nvv_catalog_gpu *m = nvv_catalog_find_gpu(catalog, model);
        const struct nvv_fwabi *fw = nvv_fwdb_find(fwdb, release);

        assert_non_null(m);
        assert_non_null(fw);
        assert_int_equal(nvv_partition_geometry_from_catalog(m, fw, ecc, &g->geo), 0);
        g->n = 0;
        for (size_t i = 0; i < m->n_types; i++)
                assert_int_equal(nvv_catalog_fill_vgpu_type(&m->types[i], fw, ecc, &g->types[g->n++]), 0);
}

static uint32_t id_of(const char *type)
{
        const struct nvv_catalog_type *t = nvv_catalog_find_type(catalog, type);

        assert_non_null(t);
        return t->type_id;
}

static struct nvv_partition *new_part(const struct gpu *g, enum nvv_partition_mode mode)
{
        struct nvv_partition *p = NULL;

        assert_int_equal(nvv_partition_new(&g->geo, &p), 0);
        assert_int_equal(nvv_partition_add_types(p, g->types, g->n, true, NULL), 0);
        assert_int_equal(nvv_partition_set_mode(p, mode, NULL), 0);
        return p;
}

static void expect_refusal(struct nvv_partition *p, const char *type, const char *name, enum nvv_partition_check want)
{
        enum nvv_partition_check got = NVV_CHECK_OK;
        int r = nvv_partition_create(p, id_of(type), name, NULL, &got);

        assert_true(r < 0);
        assert_int_equal(got, want);
        assert_int_equal(r, nvv_fw_status_to_errno(nvv_partition_check_status(want)));
}

static void test_checks_in_order(void **state)
{
        struct gpu g;
        _cleanup_(nvv_partition_freep) struct nvv_partition *p = NULL;
        struct nvv_partition_vgpu v;
        enum nvv_partition_check c;

        make_gpu("L40S", "595.45.04", false, &g);
        p = new_part(&g, NVV_PARTITION_HOMOGENEOUS);
        assert_int_equal(nvv_partition_create(p, 4242, "a", NULL, &c), -ENOENT);
        assert_int_equal(c, NVV_CHECK_TYPE);

        assert_int_equal(nvv_partition_create(p, id_of("L40S-24Q"), "a", &v, NULL), 0);
        assert_int_equal(v.vgpu_id, 1);
        assert_int_equal(v.placement_id, 0);
        assert_int_equal(v.fb_offset, 0);
        assert_int_equal(v.chid_offset, 0);
        assert_int_equal(v.chid_count, 8192); /* prev_pow2(16384 / max_instance 2) */
        expect_refusal(p, "L40S-24Q", "a", NVV_CHECK_NAME);
        expect_refusal(p, "L40S-1Q", "b", NVV_CHECK_MODE);
        assert_int_equal(nvv_partition_create(p, id_of("L40S-24Q"), "b", &v, NULL), 0);
        assert_int_equal(v.vgpu_id, 2);
        assert_int_equal(v.placement_id, 24);
        assert_int_equal(v.fb_offset, 24 * nvv_partition_unit_size(p));
        assert_int_equal(v.chid_offset, 8192);
        expect_refusal(p, "L40S-24Q", "c", NVV_CHECK_MAX_INSTANCE);
        assert_int_equal(nvv_partition_available(p, id_of("L40S-24Q")), 0);
        assert_int_equal(nvv_partition_remove(p, "zz"), -ENOENT);
        assert_int_equal(nvv_partition_remove(p, "a"), 0);
        assert_int_equal(nvv_partition_available(p, id_of("L40S-24Q")), 1);
        /* Lowest free placement and lowest unused vgpu_id again. */
        assert_int_equal(nvv_partition_create(p, id_of("L40S-24Q"), "c", &v, NULL), 0);
        assert_int_equal(v.vgpu_id, 1);
        assert_int_equal(v.placement_id, 0);
        assert_int_equal(nvv_partition_check_invariants(p, NULL), 0);
}

static void test_slots(void **state)
{
        struct gpu g;
        _cleanup_(nvv_partition_freep) struct nvv_partition *p = NULL;

        make_gpu("L40S", "595.45.04", false, &g);
        g.geo.num_vfs = 3;
        p = new_part(&g, NVV_PARTITION_HOMOGENEOUS);
        assert_int_equal(nvv_partition_available(p, id_of("L40S-1Q")), 3);
        for (int i = 0; i < 3; i++) {
                char n[8];

                snprintf(n, sizeof(n), "v%d", i);
                assert_int_equal(nvv_partition_create(p, id_of("L40S-1Q"), n, NULL, NULL), 0);
        }
        expect_refusal(p, "L40S-1Q", "v3", NVV_CHECK_SLOTS);
        /* The release's limit counts too: min(num_vfs, max_vgpu_per_pgpu). */
        g.geo.num_vfs = 32;
        g.geo.max_vgpu_per_pgpu = 2;
        nvv_partition_free(TAKE_PTR(p));
        p = new_part(&g, NVV_PARTITION_HOMOGENEOUS);
        assert_int_equal(nvv_partition_available(p, id_of("L40S-1Q")), 2);
}

static void test_mixed_placement(void **state)
{
        struct gpu g;
        _cleanup_(nvv_partition_freep) struct nvv_partition *p = NULL;
        struct nvv_partition_vgpu v;

        make_gpu("L40S", "595.45.04", false, &g);
        p = new_part(&g, NVV_PARTITION_HETEROGENEOUS);
        assert_int_equal(nvv_partition_create(p, id_of("L40S-8Q"), "a", &v, NULL), 0);
        assert_int_equal(v.placement_id, 0);
        assert_int_equal(nvv_partition_create(p, id_of("L40S-24Q"), "b", &v, NULL), 0);
        assert_int_equal(v.placement_id, 24); /* 0 is taken, 24 is its next legal start */
        assert_int_equal(nvv_partition_create(p, id_of("L40S-2Q"), "c", &v, NULL), 0);
        assert_int_equal(v.placement_id, 8);
        expect_refusal(p, "L40S-48Q", "d", NVV_CHECK_PLACEMENT);
        assert_int_equal(nvv_partition_available(p, id_of("L40S-16Q")), 0); /* 16 and 32 overlap b */
        assert_int_equal(nvv_partition_available(p, id_of("L40S-8Q")), 1);  /* at 16 */
        /* 1Q has 32 legal starts (0..31) and units 10..23 are free among them, but the
         * channels bind first: 512-id blocks, 2048..2559 and 8192.. are taken, 11 remain. */
        assert_int_equal(nvv_partition_available(p, id_of("L40S-1Q")), 11);
        assert_int_equal(nvv_partition_used_units(p), 8 + 24 + 2);
        assert_int_equal(nvv_partition_check_invariants(p, NULL), 0);
}

static void test_channels(void **state)
{
        struct gpu g;
        _cleanup_(nvv_partition_freep) struct nvv_partition *p = NULL;
        struct nvv_partition_vgpu v;

        make_gpu("L40S", "595.45.04", false, &g);
        g.geo.total_chids = 16;
        p = new_part(&g, NVV_PARTITION_HETEROGENEOUS);
        expect_refusal(p, "L40S-1Q", "a", NVV_CHECK_CHANNELS); /* 16 / 32 instances: no block */
        assert_int_equal(nvv_partition_create(p, id_of("L40S-12Q"), "b", &v, NULL), 0);
        assert_int_equal(v.chid_count, 4);
        assert_int_equal(nvv_partition_create(p, id_of("L40S-24Q"), "c", &v, NULL), 0);
        assert_int_equal(v.chid_offset, 8); /* naturally aligned: not at 4 */
        assert_int_equal(v.chid_count, 8);
        assert_int_equal(nvv_partition_create(p, id_of("L40S-6Q"), "d", &v, NULL), 0);
        assert_int_equal(v.chid_offset, 4);
        assert_int_equal(nvv_partition_create(p, id_of("L40S-6Q"), "e", &v, NULL), 0);
        assert_int_equal(v.chid_offset, 6);
        /* Every unit and channel is taken now; placement is checked first. */
        expect_refusal(p, "L40S-6Q", "f", NVV_CHECK_PLACEMENT);
        assert_int_equal(nvv_partition_remove(p, "e"), 0);
        assert_int_equal(nvv_partition_check_invariants(p, NULL), 0);
}

static void test_modes_and_types(void **state)
{
        struct gpu g, t4;
        _cleanup_(nvv_partition_freep) struct nvv_partition *p = NULL, *q = NULL;
        struct nvv_vgpu_type bad;
        enum nvv_fw_status st;

        make_gpu("L40S", "595.45.04", false, &g);
        p = new_part(&g, NVV_PARTITION_HOMOGENEOUS);
        assert_int_equal(nvv_partition_create(p, id_of("L40S-4Q"), "a", NULL, NULL), 0);
        assert_int_equal(nvv_partition_set_mode(p, NVV_PARTITION_HETEROGENEOUS, &st), -EBUSY);
        assert_int_equal(st, NVV_FW_IN_USE);
        assert_int_equal(nvv_partition_add_types(p, g.types, 1, true, &st), -EBUSY);
        assert_int_equal(st, NVV_FW_IN_USE);
        /* Added without discard: a type id already there is replaced, the table grows otherwise. */
        assert_int_equal(nvv_partition_add_types(p, g.types, 2, false, &st), 0);
        assert_int_equal(nvv_partition_type_count(p), g.n);
        bad = g.types[0];
        bad.type_id = 99999;
        bad.max_instance = 0;
        assert_int_equal(nvv_partition_add_types(p, &bad, 1, false, &st), -EINVAL);
        assert_int_equal(st, NVV_FW_INVALID_ARGUMENT);
        bad.max_instance = 1;
        bad.fb_length = 0;
        assert_int_equal(nvv_partition_add_types(p, &bad, 1, false, &st), -EINVAL);
        bad.fb_length = g.types[0].fb_length;
        g.geo.max_vgpu_types = (uint32_t) g.n;
        assert_int_equal(nvv_partition_new(&g.geo, &q), 0);
        assert_int_equal(nvv_partition_add_types(q, g.types, g.n, true, &st), 0);
        assert_int_equal(nvv_partition_add_types(q, &bad, 1, false, &st), -ENOSPC);
        assert_int_equal(st, NVV_FW_INSUFFICIENT_RESOURCES);
        /* Mixed-size needs the manager's heterogeneous config (T4 has none). */
        make_gpu("T4", "595.45.04", false, &t4);
        nvv_partition_free(TAKE_PTR(q));
        assert_int_equal(nvv_partition_new(&t4.geo, &q), 0);
        assert_int_equal(nvv_partition_set_mode(q, NVV_PARTITION_HETEROGENEOUS, &st), -EOPNOTSUPP);
        assert_int_equal(st, NVV_FW_NOT_SUPPORTED);
        assert_int_equal(nvv_partition_get_mode(q), NVV_PARTITION_HOMOGENEOUS);
}

static void test_first_fit(void **state)
{
        struct gpu g;
        _cleanup_(nvv_partition_freep) struct nvv_partition *p = NULL;
        struct nvv_partition_vgpu v[4];
        uint64_t seg;

        make_gpu("T4", "535.113.01", false, &g); /* no placement ids before 550 */
        p = new_part(&g, NVV_PARTITION_HOMOGENEOUS);
        seg = g.geo.vmmu_segment;
        for (int i = 0; i < 4; i++) {
                char n[8];

                snprintf(n, sizeof(n), "v%d", i);
                assert_int_equal(nvv_partition_create(p, id_of("T4-4Q"), n, &v[i], NULL), 0);
                assert_int_equal(v[i].placement_id, NVV_PLACEMENT_NONE);
                assert_int_equal(v[i].fb_offset % seg, 0);
                if (i)
                        assert_int_equal(v[i].fb_offset, v[i - 1].alloc_offset + v[i - 1].alloc_length);
        }
        expect_refusal(p, "T4-4Q", "v4", NVV_CHECK_MAX_INSTANCE);
        assert_int_equal(nvv_partition_remove(p, "v1"), 0);
        assert_int_equal(nvv_partition_create(p, id_of("T4-4Q"), "v5", &v[1], NULL), 0);
        assert_int_equal(v[1].fb_offset, v[0].alloc_length); /* the gap, lowest offset first */
        assert_int_equal(nvv_partition_check_invariants(p, NULL), 0);
}

/* ---- property test ---- */

struct config {
        const char *model, *release;
        bool ecc;
        enum nvv_partition_mode mode;
};

static const struct config configs[] = {
        { "L40S", "595.45.04", false, NVV_PARTITION_HETEROGENEOUS },
        { "L40S", "570.144", true, NVV_PARTITION_HOMOGENEOUS },
        { "T4", "535.113.01", false, NVV_PARTITION_HOMOGENEOUS },
        { "H200", "580.65.06", false, NVV_PARTITION_HETEROGENEOUS },
        { "A10", "550.40.07", false, NVV_PARTITION_HOMOGENEOUS },
        { "RTX6000-Ada", "595.45.04", true, NVV_PARTITION_HETEROGENEOUS },
        { "H100", "570.144", false, NVV_PARTITION_HETEROGENEOUS },
        { "A16", "580.65.06", false, NVV_PARTITION_HOMOGENEOUS },
        { "A40", "580.65.06", true, NVV_PARTITION_HETEROGENEOUS },
        { "L4", "595.45.04", false, NVV_PARTITION_HETEROGENEOUS },
};

#define SEQUENCES_PER_CONFIG 500
#define OPS_PER_SEQUENCE 64

static void check_available(const struct nvv_partition *p, const struct nvv_vgpu_type *t, bool exhaust)
{
        unsigned avail = nvv_partition_available(p, t->type_id);
        enum nvv_partition_check c;
        int r = nvv_partition_try_create(p, t->type_id, "probe", NULL, &c);

        /* available > 0 exactly when the firmware would create one now */
        if ((avail > 0) != (r >= 0)) {
                fprintf(stderr, "%s: available %u but create says %d (%s)\n", t->name, avail, r,
                        nvv_partition_check_to_string(c));
                fail();
        }
        if (exhaust) {
                _cleanup_(nvv_partition_freep) struct nvv_partition *q = NULL;
                _cleanup_free_ char *msg = NULL;

                assert_int_equal(nvv_partition_clone(p, &q), 0);
                for (unsigned i = 0; i < avail; i++) {
                        char n[24];

                        snprintf(n, sizeof(n), "avail-%u", i);
                        assert_int_equal(nvv_partition_create(q, t->type_id, n, NULL, NULL), 0);
                }
                assert_true(nvv_partition_create(q, t->type_id, "one-more", NULL, NULL) < 0);
                if (nvv_partition_check_invariants(q, &msg) < 0) {
                        fprintf(stderr, "after %u x %s: %s\n", avail, t->name, msg);
                        fail();
                }
        }
}

static void test_property(void **state)
{
        unsigned sequences = 0, creates_ok = 0, refusals = 0;

        for (size_t c = 0; c < ELEMENTSOF(configs); c++) {
                struct gpu g;
                _cleanup_(nvv_oracle_partition_freep) struct nvv_partition_oracle *o = NULL;

                make_gpu(configs[c].model, configs[c].release, configs[c].ecc, &g);
                assert_int_equal(nvv_oracle_partition_new(&g.geo, &o), 0);
                for (unsigned seed = 0; seed < SEQUENCES_PER_CONFIG; seed++) {
                        _cleanup_(nvv_oracle_script_freep) struct nvv_oracle_script *s = NULL;
                        struct nvv_oracle_verdict v;
                        uint64_t rs = seed + 1;

                        assert_int_equal(nvv_oracle_script_random(g.types, g.n, configs[c].mode, OPS_PER_SEQUENCE, seed, &s), 0);
                        assert_int_equal(o->reset(o->userdata, s->types, s->n_types, s->mode, &v), 0);
                        assert_int_equal(v.status, NVV_FW_OK);
                        for (size_t i = 0; i < s->n_ops; i++) {
                                const struct nvv_partition *p;
                                _cleanup_free_ char *msg = NULL;

                                if (s->ops[i].kind == NVV_ORACLE_CREATE)
                                        assert_int_equal(o->create(o->userdata, s->ops[i].type_id, s->ops[i].name, &v), 0);
                                else
                                        assert_int_equal(o->remove(o->userdata, s->ops[i].name, &v), 0);
                                if (s->ops[i].kind == NVV_ORACLE_CREATE)
                                        v.status == NVV_FW_OK ? creates_ok++ : refusals++;
                                p = nvv_oracle_partition_get(o);
                                if (nvv_partition_check_invariants(p, &msg) < 0) {
                                        fprintf(stderr, "%s/%s seed %u op %zu: %s\n", configs[c].model, configs[c].release,
                                                seed, i + 1, msg);
                                        fail();
                                }
                                /* Two types per step, and now and then create everything available. */
                                for (int k = 0; k < 2; k++)
                                        check_available(p, &s->types[nvv_oracle_rand(&rs) % s->n_types], i % 16 == 15 && k == 0);
                        }
                        sequences++;
                }
        }
        printf("property: %u sequences, %u creates accepted, %u refused, invariants held after every step\n",
               sequences, creates_ok, refusals);
        assert_int_equal(sequences, ELEMENTSOF(configs) * SEQUENCES_PER_CONFIG);
        /* The scripts exercise both outcomes. */
        assert_true(creates_ok > 1000);
        assert_true(refusals > 1000);
}

/* ---- oracle replay ---- */

struct mutant {
        struct nvv_partition_oracle *inner;
        struct nvv_partition_oracle o;
};

static int mut_reset(void *ud, const struct nvv_vgpu_type *t, size_t n, enum nvv_partition_mode m, struct nvv_oracle_verdict *v)
{
        struct mutant *mu = ud;

        return mu->inner->reset(mu->inner->userdata, t, n, m, v);
}

static int mut_create(void *ud, uint32_t type_id, const char *name, struct nvv_oracle_verdict *v)
{
        struct mutant *mu = ud;
        int r = mu->inner->create(mu->inner->userdata, type_id, name, v);

        /* A firmware that places the tenth vGPU elsewhere. */
        if (r >= 0 && v->status == NVV_FW_OK && v->vgpu_id == 10)
                v->placement_id += 1;
        return r;
}

static int mut_remove(void *ud, const char *name, struct nvv_oracle_verdict *v)
{
        struct mutant *mu = ud;

        return mu->inner->remove(mu->inner->userdata, name, v);
}

static void test_oracle_replay(void **state)
{
        struct gpu g;
        _cleanup_(nvv_oracle_partition_freep) struct nvv_partition_oracle *a = NULL, *b = NULL, *c = NULL;
        struct mutant mu;
        bool caught = false;

        make_gpu("L40S", "595.45.04", false, &g);
        assert_int_equal(nvv_oracle_partition_new(&g.geo, &a), 0);
        assert_int_equal(nvv_oracle_partition_new(&g.geo, &b), 0);
        assert_int_equal(nvv_oracle_partition_new(&g.geo, &c), 0);
        mu.inner = c;
        mu.o = (struct nvv_partition_oracle) { "mutant", &mu, mut_reset, mut_create, mut_remove };
        for (unsigned seed = 0; seed < 200; seed++) {
                _cleanup_(nvv_oracle_script_freep) struct nvv_oracle_script *s = NULL;
                _cleanup_free_ char *msg = NULL;
                int r;

                assert_int_equal(nvv_oracle_script_random(g.types, g.n, NVV_PARTITION_HETEROGENEOUS, 80, seed, &s), 0);
                assert_int_equal(nvv_oracle_replay(s, a, b, &msg), 0);
                r = nvv_oracle_replay(s, a, &mu.o, &msg);
                if (r == -EDOM) {
                        assert_non_null(strstr(msg, "partitioner says NV_OK (vgpu_id 10, placement"));
                        assert_non_null(strstr(msg, "mutant says NV_OK (vgpu_id 10, placement"));
                        caught = true;
                } else
                        assert_int_equal(r, 0);
        }
        assert_true(caught);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_checks_in_order), cmocka_unit_test(test_slots),
                cmocka_unit_test(test_mixed_placement), cmocka_unit_test(test_channels),
                cmocka_unit_test(test_modes_and_types), cmocka_unit_test(test_first_fit),
                cmocka_unit_test(test_property),        cmocka_unit_test(test_oracle_replay),
        };

        return cmocka_run_group_tests(tests, datatest_setup, datatest_teardown);
}
