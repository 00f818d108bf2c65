/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GPU choice by policy and the batch planner: what `nvvgpuctl plan` answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-catalog.h"
#include "nvv-fwabi.h"
#include "nvv-planner.h"
#include "nvv-pool.h"
#include "util.h"

#include "datatest.h"

/* "L40S*2:numa=1,H200" with every GPU in `mode` (unless the spec says). */
static struct nvv_pool *pool_of(const char *host, enum nvv_partition_mode mode)
{
        struct nvv_pool *p = NULL;
        _cleanup_free_ struct nvv_plan_host_gpu *g = NULL;
        _cleanup_free_ char *msg = NULL;
        size_t n;

        assert_int_equal(nvv_planner_parse_host(host, catalog, &g, &n, &msg), 0);
        assert_int_equal(nvv_pool_new(&p), 0);
        for (size_t i = 0; i < n; i++) {
                char name[32];
                struct nvv_pool_gpu_config c = {
                        .name = name, .model = g[i].model, .fw = nvv_fwdb_find(fwdb, "595.45.04"),
                        .numa_node = g[i].numa_node, .ecc = g[i].ecc,
                        .mode = g[i].mode >= 0 ? (enum nvv_partition_mode) g[i].mode : mode,
                };

                snprintf(name, sizeof(name), "gpu%zu", i);
                if (nvv_pool_add_gpu(p, &c, &msg) < 0) {
                        fprintf(stderr, "%s\n", msg);
                        fail();
                }
        }
        return p;
}

struct plan {
        struct nvv_plan_request *reqs;
        size_t n;
        struct nvv_plan_result *res;
};

static void plan_free(struct plan *pl)
{
        nvv_plan_requests_free(pl->reqs, pl->n);
        nvv_plan_result_free(pl->res);
}

static struct plan run(struct nvv_pool *pool, const char *requests, const struct nvv_plan_options *o)
{
        struct plan pl = {};
        _cleanup_free_ char *msg = NULL;

        assert_int_equal(nvv_planner_parse_requests(requests, catalog, &pl.reqs, &pl.n, &msg), 0);
        assert_int_equal(nvv_planner_run(pool, pl.reqs, pl.n, o, &pl.res), 0);
        assert_int_equal(pl.res->n_placed + pl.res->n_unplaced, pl.n);
        return pl;
}

static const struct nvv_plan_placement *placed(const struct plan *pl, unsigned req)
{
        for (size_t i = 0; i < pl->res->n_placed; i++)
                if (pl->res->placed[i].request == req)
                        return &pl->res->placed[i];
        fail_msg("request %u was not placed", req);
        abort();
}

/* Replaying the plan in its order on the pool gives exactly its placements. */
static void check_executable(struct nvv_pool *pool, const struct plan *pl)
{
        _cleanup_(nvv_pool_freep) struct nvv_pool *w = NULL;

        assert_int_equal(nvv_pool_clone(pool, &w), 0);
        for (unsigned o = 1; o <= pl->res->n_placed; o++)
                for (size_t i = 0; i < pl->res->n_placed; i++) {
                        const struct nvv_plan_placement *p = &pl->res->placed[i];
                        struct nvv_partition_vgpu v;
                        char name[16];

                        if (p->order != o)
                                continue;
                        snprintf(name, sizeof(name), "x%u", o);
                        assert_int_equal(nvv_partition_create(nvv_pool_get_partition(w, p->gpu), p->type->type_id, name, &v, NULL), 0);
                        assert_int_equal(v.placement_id, p->vgpu.placement_id);
                        assert_int_equal(v.fb_offset, p->vgpu.fb_offset);
                }
        for (size_t i = 0; i < nvv_pool_count(w); i++)
                assert_int_equal(nvv_partition_check_invariants(nvv_pool_get_partition(w, i), NULL), 0);
}

static void test_two_24q_one_48q(void **state)
{
        _cleanup_(nvv_pool_freep) struct nvv_pool *pool = pool_of("L40S*2", NVV_PARTITION_HOMOGENEOUS);
        struct nvv_plan_options spread = { .prefs = { NVV_PLACE_SPREAD, NVV_NUMA_IGNORE } };
        struct plan pl;

        /* Spread alone puts the 24Qs on different GPUs and the 48Q has nowhere to go; the
         * search finds that the 24Qs must share. */
        pl = run(pool, "L40S-24Q*2,L40S-48Q", &spread);
        assert_int_equal(pl.res->n_placed, 3);
        assert_true(pl.res->searched);
        assert_true(pl.res->complete);
        assert_int_equal(placed(&pl, 1)->gpu, placed(&pl, 2)->gpu);
        assert_true(placed(&pl, 3)->gpu != placed(&pl, 1)->gpu);
        assert_int_equal(placed(&pl, 3)->vgpu.placement_id, 0);
        check_executable(pool, &pl);
        plan_free(&pl);
        /* The pool itself is untouched by planning. */
        assert_int_equal(nvv_partition_count(nvv_pool_get_partition(pool, 0)), 0);
        /* Three 24Qs and a 48Q cannot all fit: the best is three, and the reason is given. */
        pl = run(pool, "L40S-24Q*3,L40S-48Q", &spread);
        assert_int_equal(pl.res->n_placed, 3);
        assert_int_equal(pl.res->n_unplaced, 1);
        assert_non_null(strstr(pl.res->unplaced[0].reason, "gpu"));
        plan_free(&pl);
}

static void test_pack_vs_spread(void **state)
{
        _cleanup_(nvv_pool_freep) struct nvv_pool *pool = pool_of("L40S*3", NVV_PARTITION_HETEROGENEOUS);
        struct nvv_plan_options pack = { .prefs = { NVV_PLACE_PACK, NVV_NUMA_IGNORE } };
        struct nvv_plan_options spread = { .prefs = { NVV_PLACE_SPREAD, NVV_NUMA_IGNORE } };
        struct plan a = run(pool, "L40S-8Q*3", &pack), b = run(pool, "L40S-8Q*3", &spread);

        for (unsigned r = 1; r <= 3; r++) {
                assert_int_equal(placed(&a, r)->gpu, 0);            /* density: one GPU */
                assert_int_equal(placed(&b, r)->gpu, (size_t) r - 1); /* performance: one each */
        }
        assert_false(a.res->searched);
        plan_free(&a);
        plan_free(&b);
}

static void test_pack_prefers_tight_fit(void **state)
{
        _cleanup_(nvv_pool_freep) struct nvv_pool *pool = pool_of("L40S*2", NVV_PARTITION_HETEROGENEOUS);
        struct nvv_place_prefs pack = { NVV_PLACE_PACK, NVV_NUMA_IGNORE };
        struct nvv_pool_request q = { .type = "L40S-8Q", .numa_node = -1 };
        size_t gpu;

        /* gpu1 is fuller than gpu0: pack goes there, spread to the emptier one. */
        assert_int_equal(nvv_partition_create(nvv_pool_get_partition(pool, 0), nvv_catalog_find_type(catalog, "L40S-4Q")->type_id, "a", NULL, NULL), 0);
        assert_int_equal(nvv_partition_create(nvv_pool_get_partition(pool, 1), nvv_catalog_find_type(catalog, "L40S-24Q")->type_id, "b", NULL, NULL), 0);
        assert_int_equal(nvv_pool_choose(pool, &q, &pack, &gpu, NULL), 0);
        assert_int_equal(gpu, 1);
        pack.strategy = NVV_PLACE_SPREAD;
        assert_int_equal(nvv_pool_choose(pool, &q, &pack, &gpu, NULL), 0);
        assert_int_equal(gpu, 0);
}

static void test_numa(void **state)
{
        _cleanup_(nvv_pool_freep) struct nvv_pool *pool = pool_of("L40S:numa=0,L40S:numa=1", NVV_PARTITION_HOMOGENEOUS);
        struct nvv_plan_options prefer = { .prefs = { NVV_PLACE_PACK, NVV_NUMA_PREFER } };
        struct nvv_plan_options require = { .prefs = { NVV_PLACE_PACK, NVV_NUMA_REQUIRE } };
        struct plan pl;

        pl = run(pool, "L40S-24Q:numa=1", &prefer);
        assert_int_equal(placed(&pl, 1)->gpu, 1);
        plan_free(&pl);
        /* Node 1 is full after two 24Qs: prefer spills to node 0, require refuses. */
        pl = run(pool, "L40S-24Q*3:numa=1", &prefer);
        assert_int_equal(pl.res->n_placed, 3);
        plan_free(&pl);
        pl = run(pool, "L40S-24Q*3:numa=1", &require);
        assert_int_equal(pl.res->n_placed, 2);
        assert_string_equal(pl.res->unplaced[0].reason,
                            "gpu0: on NUMA node 0, not 1; gpu1: holds 2 L40S-24Q already, its maximum");
        plan_free(&pl);
        pl = run(pool, "L40S-24Q:numa=7", &require);
        assert_string_equal(pl.res->unplaced[0].reason, "no GPU on NUMA node 7, and the policy requires the VM's node");
        plan_free(&pl);
}

static void test_reasons(void **state)
{
        _cleanup_(nvv_pool_freep) struct nvv_pool *pool = pool_of("L40S*2,H200", NVV_PARTITION_HOMOGENEOUS);
        struct nvv_plan_options o = { .prefs = { NVV_PLACE_PACK, NVV_NUMA_IGNORE } };
        struct plan pl = run(pool, "L40S-8Q*7,L40S-2Q*3", &o);

        /* Equal-size mode: 8Qs fill gpu0 (6), the 2Qs need a GPU of their own. */
        assert_int_equal(pl.res->n_placed, 9);
        assert_int_equal(pl.res->n_unplaced, 1);
        assert_string_equal(pl.res->unplaced[0].reason,
                            "gpu0: holds 6 L40S-8Q already, its maximum; gpu1: equal-size mode and it holds L40S-2Q; "
                            "gpu2: the H200 has no type L40S-8Q");
        plan_free(&pl);
        nvv_pool_free(TAKE_PTR(pool));
        /* Mixed-size mode: all ten fit. */
        pool = pool_of("L40S*2,H200", NVV_PARTITION_HETEROGENEOUS);
        pl = run(pool, "L40S-8Q*7,L40S-2Q*3", &o);
        assert_int_equal(pl.res->n_placed, 10);
        check_executable(pool, &pl);
        plan_free(&pl);
}

static void test_fb_requests(void **state)
{
        _cleanup_(nvv_pool_freep) struct nvv_pool *pool = pool_of("T4,H200*2", NVV_PARTITION_HOMOGENEOUS);
        struct nvv_plan_options o = { .prefs = { NVV_PLACE_PACK, NVV_NUMA_IGNORE } };
        struct plan pl = run(pool, "5G,16G:series=C,100G,200G", &o);

        /* 5 GiB: the T4's smallest type that holds it is 8Q (Q first); 16 GiB C: T4-16C or
         * H200X-17C; 100 GiB: only the H200. */
        assert_string_equal(placed(&pl, 1)->type->short_name, "T4-8Q");
        assert_int_equal(placed(&pl, 2)->type->series, 'C');
        assert_string_equal(placed(&pl, 2)->type->short_name, "H200X-17C"); /* the T4 holds 8Q now */
        assert_string_equal(placed(&pl, 3)->type->short_name, "H200X-141C");
        assert_int_equal(placed(&pl, 3)->gpu, 2);
        assert_int_equal(pl.res->n_unplaced, 1);
        assert_string_equal(pl.res->unplaced[0].reason, "gpu0, gpu1, gpu2: no offered type of 200 GiB or more");
        plan_free(&pl);
}

static void test_quotas(void **state)
{
        _cleanup_(nvv_pool_freep) struct nvv_pool *pool = pool_of("L40S*4", NVV_PARTITION_HETEROGENEOUS);
        struct nvv_plan_tenant_quota t[] = { { "acme", { 3, 0 } } };
        struct nvv_plan_options o = {
                .prefs = { NVV_PLACE_PACK, NVV_NUMA_IGNORE },
                .per_vm = { 2, (uint64_t) 32 << 30 }, .n_tenants = 1, .tenants = t,
        };
        struct plan pl = run(pool, "L40S-8Q*3:vm=a,L40S-24Q*2:vm=b,L40S-4Q*2:vm=c:tenant=acme,L40S-4Q*2:vm=d:tenant=acme", &o);

        assert_int_equal(pl.res->n_placed, 2 + 1 + 2 + 1);
        assert_int_equal(pl.res->n_unplaced, 3);
        assert_int_equal(pl.res->unplaced[0].request, 3);
        assert_string_equal(pl.res->unplaced[0].reason, "quota: VM 'a' may have at most 2 vGPUs");
        assert_int_equal(pl.res->unplaced[1].request, 5);
        assert_string_equal(pl.res->unplaced[1].reason, "quota: VM 'b' may have at most 32 GiB of vGPU framebuffer");
        assert_int_equal(pl.res->unplaced[2].request, 9);
        assert_string_equal(pl.res->unplaced[2].reason, "quota: tenant 'acme' may have at most 3 vGPUs");
        plan_free(&pl);
}

static void test_search_budget(void **state)
{
        _cleanup_(nvv_pool_freep) struct nvv_pool *pool = pool_of("L40S*2", NVV_PARTITION_HOMOGENEOUS);
        struct nvv_plan_options o = { .prefs = { NVV_PLACE_SPREAD, NVV_NUMA_IGNORE }, .max_steps = 2 };
        struct plan pl = run(pool, "L40S-24Q*2,L40S-48Q", &o);

        assert_true(pl.res->searched);
        assert_false(pl.res->complete);
        assert_int_equal(pl.res->n_unplaced, 1);
        assert_non_null(strstr(pl.res->unplaced[0].reason, "(the search stopped after"));
        plan_free(&pl);
}

static void expect_spec_error(bool host, const char *spec, const char *message)
{
        _cleanup_free_ char *msg = NULL;
        struct nvv_plan_request *r = NULL;
        struct nvv_plan_host_gpu *g = NULL;
        size_t n;

        if (host)
                assert_int_equal(nvv_planner_parse_host(spec, catalog, &g, &n, &msg), -EINVAL);
        else
                assert_int_equal(nvv_planner_parse_requests(spec, catalog, &r, &n, &msg), -EINVAL);
        if (!msg || !streq(msg, message)) {
                fprintf(stderr, "expected: %s\n     got: %s\n", message, msg ? msg : "(none)");
                fail();
        }
}

static void test_specs(void **state)
{
        _cleanup_free_ char *msg = NULL;
        struct nvv_plan_request *r = NULL;
        size_t n;

        assert_int_equal(nvv_planner_parse_requests("l40s-8q*2:vm=db:tenant=acme:numa=1,512M:series=b", catalog, &r, &n, &msg), 0);
        assert_int_equal(n, 3);
        assert_string_equal(r[0].type, "L40S-8Q"); /* canonical name */
        assert_string_equal(r[1].vm, "db");
        assert_string_equal(r[1].tenant, "acme");
        assert_int_equal(r[1].numa_node, 1);
        assert_int_equal(r[2].index, 3);
        assert_null(r[2].type);
        assert_int_equal(r[2].fb, 512u << 20);
        assert_int_equal(r[2].series, 'B');
        nvv_plan_requests_free(r, n);

        expect_spec_error(false, "L40S-7Q",
                          "'L40S-7Q': no such vGPU type; the L40S offers L40S-1B, L40S-2B, L40S-1Q, L40S-2Q, "
                          "L40S-3Q, L40S-4Q, L40S-6Q, L40S-8Q, L40S-12Q, L40S-16Q, L40S-24Q, L40S-48Q, L40S-1A, L40S-2A, "
                          "L40S-3A, L40S-4A, L40S-6A, L40S-8A, L40S-12A, L40S-16A, L40S-24A, L40S-48A, L40S-4C, L40S-6C, "
                          "L40S-8C, L40S-12C, L40S-16C, L40S-24C, L40S-48C");
        expect_spec_error(false, "B200-8C", "'B200-8C': no such vGPU type (and no GPU model 'B200' in the "
                          "catalog: A10, A16, A2, A40, H100, H200, L4, L40S, RTX-PRO-6000, RTX6000-Ada, T4)");
        expect_spec_error(false, "L40S-8Q*0", "'L40S-8Q*0': the count after '*' must be 1..1024");
        expect_spec_error(false, "L40S-8Q*2000", "'L40S-8Q*2000': the count after '*' must be 1..1024");
        expect_spec_error(false, "L40S-8Q*600,L40S-1Q*600", "more than 1024 vGPUs in one plan");
        expect_spec_error(false, "L40S-8Q,,L40S-1Q", "empty request list or an empty item between commas");
        expect_spec_error(false, "8X", "'8X': not a size (like 8G or 512M) nor a type");
        expect_spec_error(false, "L40S-8Q:series=C", "'L40S-8Q:series=C': series goes with a size, not a type");
        expect_spec_error(false, "8G:colour=red", "'8G:colour=red': unknown attribute 'colour' (vm, tenant, numa, series)");
        expect_spec_error(false, "8G:vm=", "'8G:vm=': 'vm' needs a value (key=value)");
        expect_spec_error(false, "8G:vm=a b", "'8G:vm=a b': vm 'a b' must be 1-64 characters of letters, digits, '_', '.', '-', '@'");
        expect_spec_error(false, "8G:numa=-1", "'8G:numa=-1': numa must be a node number 0..1023");
        expect_spec_error(true, "L41S*2", "'L41S': no such GPU model; the catalog has A10, A16, A2, A40, H100, H200, L4, L40S, RTX-PRO-6000, RTX6000-Ada, T4");
        expect_spec_error(true, "L40S*65", "'L40S*65': the count after '*' must be 1..64");
        expect_spec_error(true, "L40S*40,H200*40", "more than 64 GPUs");
        expect_spec_error(true, "L40S:mode=mixed", "'L40S:mode=mixed': mode must be equal-size or mixed-size");
        expect_spec_error(true, "L40S:fast", "'L40S:fast': unknown attribute 'fast' (numa=N, ecc, mode=...)");
}

static void test_pool_errors(void **state)
{
        _cleanup_(nvv_pool_freep) struct nvv_pool *p = NULL;
        _cleanup_free_ char *msg = NULL;
        struct nvv_pool_gpu_config c = {
                .name = "gpu0", .model = nvv_catalog_find_gpu(catalog, "T4"), .fw = nvv_fwdb_find(fwdb, "595.45.04"),
                .numa_node = -1, .mode = NVV_PARTITION_HETEROGENEOUS,
        };

        assert_int_equal(nvv_pool_new(&p), 0);
        assert_int_equal(nvv_pool_add_gpu(p, &c, &msg), -EINVAL);
        assert_string_equal(msg, "gpu0 (T4): mixed-size mode is not available on this GPU model");
        nvv_pool_free(TAKE_PTR(p));
        /* 535 has no SET_HETEROGENEOUS_MODE. */
        c.model = nvv_catalog_find_gpu(catalog, "L40S");
        c.fw = nvv_fwdb_find(fwdb, "535.113.01");
        assert_int_equal(nvv_pool_new(&p), 0);
        assert_int_equal(nvv_pool_add_gpu(p, &c, &msg), -EINVAL);
        assert_string_equal(msg, "gpu0 (L40S): mixed-size mode is not available under this firmware release");
}

/* A host mixes releases: each GPU is sized and typed by its own, and GPUs on different
 * releases are never one class (their answers may differ). */
static void test_pool_mixed_releases(void **state)
{
        _cleanup_(nvv_pool_freep) struct nvv_pool *p = NULL;
        _cleanup_free_ char *msg = NULL;
        const struct nvv_fwabi *r535 = nvv_fwdb_find(fwdb, "535.113.01"), *r595 = nvv_fwdb_find(fwdb, "595.45.04");
        struct nvv_pool_gpu_config c = {
                .name = "gpu0", .model = nvv_catalog_find_gpu(catalog, "L40S"), .fw = r535, .numa_node = -1,
                .mode = NVV_PARTITION_HOMOGENEOUS,
        };
        struct nvv_partition_geometry g535, g595;
        const struct nvv_partition_geometry *p535, *p595;

        assert_int_equal(nvv_pool_new(&p), 0);
        assert_int_equal(nvv_pool_add_gpu(p, &c, &msg), 0);
        c.name = "gpu1";
        c.fw = r595;
        c.mode = NVV_PARTITION_HETEROGENEOUS;
        assert_int_equal(nvv_pool_add_gpu(p, &c, &msg), 0);
        assert_ptr_equal(nvv_pool_get(p, 0)->fw, r535);
        assert_ptr_equal(nvv_pool_get(p, 1)->fw, r595);
        assert_int_not_equal(nvv_pool_get(p, 0)->klass, nvv_pool_get(p, 1)->klass);
        assert_int_equal(nvv_partition_get_mode(nvv_pool_get(p, 1)->part), NVV_PARTITION_HETEROGENEOUS);
        /* Each partition carries its own release's sizing. */
        assert_int_equal(nvv_partition_geometry_from_catalog(c.model, r535, false, &g535), 0);
        assert_int_equal(nvv_partition_geometry_from_catalog(c.model, r595, false, &g595), 0);
        p535 = nvv_partition_get_geometry(nvv_pool_get(p, 0)->part);
        p595 = nvv_partition_get_geometry(nvv_pool_get(p, 1)->part);
        assert_int_equal(p535->fb_reserved, g535.fb_reserved);
        assert_int_equal(p535->max_vgpu_per_pgpu, g535.max_vgpu_per_pgpu);
        assert_int_equal(p595->fb_reserved, g595.fb_reserved);
        assert_int_equal(p595->max_vgpu_per_pgpu, g595.max_vgpu_per_pgpu);
        /* The two releases size the GSP heap differently, so this test can tell them apart. */
        assert_true(g535.fb_reserved != g595.fb_reserved || g535.max_vgpu_per_pgpu != g595.max_vgpu_per_pgpu);
}

static uint64_t rnd(uint64_t *s)
{
        /* xorshift64*: the same cases on every run */
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        return *s * UINT64_C(2685821657736338717);
}

static uint32_t tid(const char *name)
{
        const struct nvv_catalog_type *t = nvv_catalog_find_type(catalog, name);

        assert_non_null(t);
        return t->type_id;
}

/* A GPU's partition as a managed GPU holds it (what nvv_pgpu_clone_partition() hands out). */
static struct nvv_partition *live_partition(const struct nvv_pool_gpu_config *cfg, enum nvv_partition_mode mode)
{
        struct nvv_partition_geometry geo;
        struct nvv_partition *p = NULL;
        _cleanup_free_ struct nvv_vgpu_type *filled = NULL;
        size_t n;

        assert_int_equal(nvv_partition_geometry_from_catalog(cfg->model, cfg->fw, cfg->ecc, &geo), 0);
        assert_int_equal(nvv_partition_new(&geo, &p), 0);
        assert_int_equal(nvv_pool_gpu_types(cfg, NULL, &filled, &n), 0);
        assert_int_equal(nvv_partition_add_types(p, filled, n, true, NULL), 0);
        assert_int_equal(nvv_partition_set_mode(p, mode, NULL), 0);
        return p;
}

static bool q_only(const struct nvv_catalog_type *t, void *userdata)
{
        return t->series == 'Q';
}

static void test_live_pool(void **state)
{
        struct nvv_pool_gpu_config c = {
                .name = "gpu0", .model = nvv_catalog_find_gpu(catalog, "L40S"), .fw = nvv_fwdb_find(fwdb, "595.45.04"),
                .numa_node = -1, .mode = NVV_PARTITION_HETEROGENEOUS,
        };
        _cleanup_(nvv_partition_freep) struct nvv_partition *mixed = live_partition(&c, NVV_PARTITION_HETEROGENEOUS);
        _cleanup_(nvv_partition_freep) struct nvv_partition *equal = live_partition(&c, NVV_PARTITION_HOMOGENEOUS);
        _cleanup_(nvv_pool_freep) struct nvv_pool *pool = NULL;
        _cleanup_free_ char *msg = NULL;
        struct nvv_plan_options o = { .prefs = { NVV_PLACE_PACK, NVV_NUMA_IGNORE } };
        struct plan pl;

        /* gpu0, mixed-size: 12Q at 0, 8Q at 16, 2Q at 36 (a 4Q at 12 came and went); gpu1,
         * equal-size with two 8Qs. */
        assert_int_equal(nvv_partition_create(mixed, tid("L40S-12Q"), "vm-a", NULL, NULL), 0);
        assert_int_equal(nvv_partition_create(mixed, tid("L40S-4Q"), "vm-b", NULL, NULL), 0);
        assert_int_equal(nvv_partition_create(mixed, tid("L40S-8Q"), "vm-c", NULL, NULL), 0);
        assert_int_equal(nvv_partition_create_at(mixed, tid("L40S-2Q"), "vm-d", 36, NULL, NULL), 0);
        assert_int_equal(nvv_partition_remove(mixed, "vm-b"), 0);
        assert_int_equal(nvv_partition_create(equal, tid("L40S-8Q"), "vm-e", NULL, NULL), 0);
        assert_int_equal(nvv_partition_create(equal, tid("L40S-8Q"), "vm-f", NULL, NULL), 0);

        assert_int_equal(nvv_pool_new(&pool), 0);
        assert_int_equal(nvv_pool_add_partition(pool, &c, mixed, &msg), 0);
        c.name = "gpu1";
        c.offers = q_only;
        /* cfg->mode says mixed-size; the GPU is in equal-size mode and stays so. */
        assert_int_equal(nvv_pool_add_partition(pool, &c, equal, &msg), 0);
        assert_int_equal(nvv_partition_get_mode(nvv_pool_get(pool, 1)->part), NVV_PARTITION_HOMOGENEOUS);
        assert_int_equal(nvv_partition_count(nvv_pool_get(pool, 0)->part), 3);
        /* Different states of GPUs that are alike are still one class; different modes are not. */
        assert_int_not_equal(nvv_pool_get(pool, 0)->klass, nvv_pool_get(pool, 1)->klass);

        /* gpu0 holds units 0-11, 16-23 and 36-37: of the 8Q ids (0, 8, 16, 24) only 24 is
         * free; gpu1 takes four more 8Qs (six at most). */
        pl = run(pool, "L40S-8Q*4,L40S-24Q,L40S-4C", &o);
        check_executable(pool, &pl);
        assert_int_equal(pl.res->n_placed, 5);
        for (size_t i = 0; i < pl.res->n_placed; i++) {
                const struct nvv_plan_placement *p = &pl.res->placed[i];

                const struct nvv_partition *live = p->gpu == 0 ? mixed : equal;

                /* Never on a vGPU that is there. */
                for (size_t k = 0; k < nvv_partition_count(live); k++) {
                        const struct nvv_partition_vgpu *v = nvv_partition_get(live, k);

                        assert_true(p->vgpu.alloc_offset + p->vgpu.alloc_length <= v->alloc_offset ||
                                    v->alloc_offset + v->alloc_length <= p->vgpu.alloc_offset);
                        assert_true(p->vgpu.chid_offset + p->vgpu.chid_count <= v->chid_offset ||
                                    v->chid_offset + v->chid_count <= p->vgpu.chid_offset);
                }
                if (p->gpu == 1)
                        assert_string_equal(p->type->short_name, "L40S-8Q"); /* equal-size holds 8Qs only */
        }
        for (unsigned r = 1; r <= 4; r++)
                assert_string_equal(placed(&pl, r)->type->short_name, "L40S-8Q");
        /* The 24Q: its ids are 0 and 24, both blocked on gpu0; gpu1 holds 8Qs. The 4C fits
         * gpu0 at 12 (where the 4Q was), gpu1 does not offer it. The reasons are given
         * against the state after the plan. */
        assert_int_equal(pl.res->n_unplaced, 1);
        assert_int_equal(pl.res->unplaced[0].request, 5);
        assert_string_equal(pl.res->unplaced[0].reason,
                            "gpu0: no free placement for L40S-24Q (14 of 48 units free, needs 24 aligned); "
                            "gpu1: equal-size mode and it holds L40S-8Q");
        assert_int_equal(placed(&pl, 6)->gpu, 0);
        assert_int_equal(placed(&pl, 6)->vgpu.placement_id, 12);
        plan_free(&pl);
        /* Neither the pool nor the live partitions it was made from changed. */
        assert_int_equal(nvv_partition_count(nvv_pool_get(pool, 0)->part), 3);
        assert_int_equal(nvv_partition_count(mixed), 3);
        assert_int_equal(nvv_partition_count(equal), 2);

        /* Type-offer filter: gpu1 offers no C type, whatever it uploaded. */
        pl = run(pool, "L40S-4C*4", &o);
        assert_int_equal(pl.res->n_placed, 3); /* gpu0: ids 12, 24 and 28 */
        for (unsigned r = 1; r <= 3; r++)
                assert_int_equal(placed(&pl, r)->gpu, 0);
        assert_string_equal(pl.res->unplaced[0].reason,
                            "gpu0: no free placement for L40S-4C (14 of 48 units free, needs 4 aligned); "
                            "gpu1: the policy does not offer L40S-4C there");
        check_executable(pool, &pl);
        plan_free(&pl);
}

/* available() counted equals available() by creating, on random states of several models. */
static void test_available_counted(void **state)
{
        static const struct {
                const char *model;
                enum nvv_partition_mode mode;
        } hosts[] = {
                { "L40S", NVV_PARTITION_HETEROGENEOUS }, { "L40S", NVV_PARTITION_HOMOGENEOUS },
                { "H100", NVV_PARTITION_HETEROGENEOUS }, { "L4", NVV_PARTITION_HETEROGENEOUS },
                { "T4", NVV_PARTITION_HOMOGENEOUS },
        };
        uint64_t s = 0xa7a1;
        unsigned compared = 0, nonzero = 0;

        for (size_t h = 0; h < ELEMENTSOF(hosts); h++)
                for (unsigned round = 0; round < 40; round++) {
                        struct nvv_pool_gpu_config c = {
                                .name = "gpu0", .model = nvv_catalog_find_gpu(catalog, hosts[h].model),
                                .fw = nvv_fwdb_find(fwdb, "595.45.04"), .numa_node = -1,
                        };
                        _cleanup_(nvv_partition_freep) struct nvv_partition *p = NULL;
                        unsigned ops = (unsigned) (rnd(&s) % 24);

                        assert_non_null(c.model);
                        p = live_partition(&c, hosts[h].mode);
                        for (unsigned i = 0; i < ops; i++) {
                                char name[16];
                                const struct nvv_catalog_type *t = &c.model->types[rnd(&s) % c.model->n_types];

                                snprintf(name, sizeof(name), "v%u", i);
                                if (rnd(&s) % 4 == 0 && nvv_partition_count(p))
                                        (void) nvv_partition_remove(p, nvv_partition_get(p, rnd(&s) % nvv_partition_count(p))->name);
                                else
                                        (void) nvv_partition_create(p, t->type_id, name, NULL, NULL);
                        }
                        for (size_t k = 0; k < c.model->n_types; k++) {
                                uint32_t id = c.model->types[k].type_id;
                                unsigned a = nvv_partition_available(p, id), b = nvv_partition_available_by_creating(p, id);

                                if (a != b)
                                        fail_msg("%s %s, %zu vGPUs: available(%s) %u, by creating %u", hosts[h].model,
                                                 nvv_partition_mode_to_string(hosts[h].mode), nvv_partition_count(p),
                                                 c.model->types[k].short_name, a, b);
                                compared++;
                                nonzero += a > 0;
                        }
                }
        /* The comparison saw both full and roomy states. */
        assert_true(nonzero > compared / 10 && nonzero < compared);
}

static bool id_in(const uint32_t *ids, int n, uint32_t id)
{
        for (int i = 0; i < n; i++)
                if (ids[i] == id)
                        return true;
        return false;
}

/*
 * free_placements(), which the search's bounds rest on, on random states: a placement id
 * where a create would succeed is in it; one in it fails, if at all, only for want of a
 * channel block; and every vGPU made afterwards, of whatever types in whatever order, lies
 * at a placement its type had in the list at the start.
 */
static void test_free_placements(void **state)
{
        static const struct {
                const char *model;
                enum nvv_partition_mode mode;
        } hosts[] = {
                { "L40S", NVV_PARTITION_HETEROGENEOUS }, { "L40S", NVV_PARTITION_HOMOGENEOUS },
                { "H100", NVV_PARTITION_HETEROGENEOUS }, { "L4", NVV_PARTITION_HETEROGENEOUS },
        };
        uint64_t s = 0xf7ee;
        unsigned listed = 0, later = 0;

        for (size_t h = 0; h < ELEMENTSOF(hosts); h++)
                for (unsigned round = 0; round < 40; round++) {
                        struct nvv_pool_gpu_config c = {
                                .name = "gpu0", .model = nvv_catalog_find_gpu(catalog, hosts[h].model),
                                .fw = nvv_fwdb_find(fwdb, "595.45.04"), .numa_node = -1,
                        };
                        _cleanup_(nvv_partition_freep) struct nvv_partition *p = NULL;
                        uint32_t ids[64][NVV_MAX_PLACEMENTS];
                        int n_ids[64];
                        unsigned ops = (unsigned) (rnd(&s) % 16);

                        assert_non_null(c.model);
                        assert_true(c.model->n_types <= 64);
                        p = live_partition(&c, hosts[h].mode);
                        for (unsigned i = 0; i < ops; i++) {
                                char name[16];

                                snprintf(name, sizeof(name), "v%u", i);
                                if (rnd(&s) % 4 == 0 && nvv_partition_count(p))
                                        (void) nvv_partition_remove(p, nvv_partition_get(p, rnd(&s) % nvv_partition_count(p))->name);
                                else
                                        (void) nvv_partition_create(p, c.model->types[rnd(&s) % c.model->n_types].type_id, name,
                                                                    NULL, NULL);
                        }
                        for (size_t k = 0; k < c.model->n_types; k++) {
                                const struct nvv_vgpu_type *t = nvv_partition_find_type(p, c.model->types[k].type_id);
                                const uint32_t *all;
                                uint32_t n_all;

                                n_ids[k] = t ? nvv_partition_free_placements(p, t->type_id, ids[k]) : -1;
                                if (!t)
                                        continue;
                                /* 595.45.04 gives every type placement ids in both modes. */
                                assert_true(n_ids[k] >= 0);
                                all = hosts[h].mode == NVV_PARTITION_HOMOGENEOUS ? t->homogeneous_placement_ids
                                                                                 : t->heterogeneous_placement_ids;
                                n_all = hosts[h].mode == NVV_PARTITION_HOMOGENEOUS ? t->homogeneous_placement_count
                                                                                   : t->heterogeneous_placement_count;
                                for (uint32_t i = 0; i < n_all; i++) {
                                        enum nvv_partition_check why = NVV_CHECK_OK;
                                        int r = nvv_partition_try_create_at(p, t->type_id, "probe", all[i], NULL, &why);

                                        if (r == 0 && !id_in(ids[k], n_ids[k], all[i]))
                                                fail_msg("%s: %s can be made at %u, not listed", hosts[h].model,
                                                         c.model->types[k].short_name, all[i]);
                                        if (r < 0 && id_in(ids[k], n_ids[k], all[i]) && why != NVV_CHECK_CHANNELS)
                                                fail_msg("%s: %s listed at %u, refused there: %s", hosts[h].model,
                                                         c.model->types[k].short_name, all[i],
                                                         nvv_partition_check_to_string(why));
                                }
                                listed += (unsigned) n_ids[k];
                        }
                        /* What comes later lies inside the lists. */
                        for (unsigned i = 0; i < 24; i++) {
                                size_t k = rnd(&s) % c.model->n_types;
                                struct nvv_partition_vgpu v;
                                char name[16];

                                snprintf(name, sizeof(name), "w%u", i);
                                if (nvv_partition_create(p, c.model->types[k].type_id, name, &v, NULL) < 0)
                                        continue;
                                if (!id_in(ids[k], n_ids[k], v.placement_id))
                                        fail_msg("%s: %s made at %u, not in its list at the start", hosts[h].model,
                                                 c.model->types[k].short_name, v.placement_id);
                                later++;
                        }
                }
        assert_true(listed > 100 && later > 100);
}

/*
 * The differential test: 200 seeded random cases (2-4 GPUs of one model, part-used live
 * states, 6-13 requests by type or size, random policy), planned by the search and by the
 * first one (NVV_PLAN_SEARCH_V1). The search never places fewer, and each plan replays on
 * the pool exactly as it says.
 */
static void test_search_differential(void **state)
{
        static const char *const models[] = { "L40S", "L4", "H100", "T4" };
        uint64_t s = 0xd1ff;
        unsigned searched = 0, v1_complete = 0;

        for (unsigned cs = 0; cs < 200; cs++) {
                const struct nvv_catalog_gpu *m = nvv_catalog_find_gpu(catalog, models[cs % ELEMENTSOF(models)]);
                _cleanup_(nvv_pool_freep) struct nvv_pool *pool = NULL;
                struct nvv_plan_options o = {
                        .prefs = { (enum nvv_place_strategy) (rnd(&s) % 2), (enum nvv_numa_mode) (rnd(&s) % 3) },
                };
                struct nvv_plan_request q[16] = {};
                char what[16][24];
                _cleanup_free_ char *msg = NULL;
                unsigned n_gpus = 2 + (unsigned) (rnd(&s) % 3), n_req = 6 + (unsigned) (rnd(&s) % 8);
                struct nvv_plan_result *a = NULL, *b = NULL;
                struct plan pa = {}, pb = {};

                assert_int_equal(nvv_pool_new(&pool), 0);
                for (unsigned g = 0; g < n_gpus; g++) {
                        char name[16];
                        struct nvv_pool_gpu_config c = {
                                .name = name, .model = m, .fw = nvv_fwdb_find(fwdb, "595.45.04"), .numa_node = (int) (g % 2),
                        };
                        enum nvv_partition_mode mode = m->mixed_size && rnd(&s) % 4 ? NVV_PARTITION_HETEROGENEOUS
                                                                                   : NVV_PARTITION_HOMOGENEOUS;
                        _cleanup_(nvv_partition_freep) struct nvv_partition *live = live_partition(&c, mode);
                        unsigned pre = (unsigned) (rnd(&s) % 5);

                        snprintf(name, sizeof(name), "gpu%u", g);
                        for (unsigned i = 0; i < pre; i++) {
                                char vn[16];

                                snprintf(vn, sizeof(vn), "live%u", i);
                                (void) nvv_partition_create(live, m->types[rnd(&s) % m->n_types].type_id, vn, NULL, NULL);
                        }
                        if (pre && rnd(&s) % 2 && nvv_partition_count(live))
                                (void) nvv_partition_remove(live, nvv_partition_get(live, 0)->name);
                        assert_int_equal(nvv_pool_add_partition(pool, &c, live, &msg), 0);
                }
                for (unsigned i = 0; i < n_req; i++) {
                        const struct nvv_catalog_type *t = &m->types[rnd(&s) % m->n_types];

                        q[i] = (struct nvv_plan_request) { .index = i + 1, .numa_node = rnd(&s) % 3 ? -1 : (int) (rnd(&s) % 2) };
                        if (rnd(&s) % 4 == 0) {
                                q[i].fb = (uint64_t) (1 + rnd(&s) % 24) << 30;
                                snprintf(what[i], sizeof(what[i]), "%" PRIu64 "G", q[i].fb >> 30);
                        } else {
                                q[i].type = (char *) t->short_name;
                                snprintf(what[i], sizeof(what[i]), "%s", t->short_name);
                        }
                        q[i].what = what[i];
                }
                o.search = NVV_PLAN_SEARCH_DEFAULT;
                assert_int_equal(nvv_planner_run(pool, q, n_req, &o, &a), 0);
                /* The first search with the old default budget: on these cases it mostly finishes. */
                o.search = NVV_PLAN_SEARCH_V1;
                o.max_steps = 2000000;
                assert_int_equal(nvv_planner_run(pool, q, n_req, &o, &b), 0);
                o.max_steps = 0;
                /* Where the first search finished it found its best: a bound of this one that cut
                 * too much would show here as fewer. */
                if (a->n_placed < b->n_placed)
                        fail_msg("case %u (%u x %s, %u requests): the search placed %zu, the first search %zu%s", cs, n_gpus,
                                 m->short_name, n_req, a->n_placed, b->n_placed, b->complete ? " (finished)" : "");
                v1_complete += b->complete;
                assert_int_equal(a->searched, b->searched);
                assert_true(a->complete);       /* small cases: it finishes */
                if (b->complete)
                        assert_true(a->steps <= b->steps);
                searched += a->searched;
                pa.res = a;
                pb.res = b;
                check_executable(pool, &pa);
                check_executable(pool, &pb);
                nvv_plan_result_free(a);
                nvv_plan_result_free(b);
        }
        /* The cases exercise the search, not only the in-order pass. */
        assert_true(searched >= 60);
        assert_true(v1_complete >= 150);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_two_24q_one_48q), cmocka_unit_test(test_pack_vs_spread),
                cmocka_unit_test(test_pack_prefers_tight_fit), cmocka_unit_test(test_numa),
                cmocka_unit_test(test_reasons),         cmocka_unit_test(test_fb_requests),
                cmocka_unit_test(test_quotas),          cmocka_unit_test(test_search_budget),
                cmocka_unit_test(test_pool_mixed_releases),
                cmocka_unit_test(test_specs),           cmocka_unit_test(test_pool_errors),
                cmocka_unit_test(test_live_pool),       cmocka_unit_test(test_available_counted),
                cmocka_unit_test(test_free_placements),
                cmocka_unit_test(test_search_differential),
        };

        return cmocka_run_group_tests(tests, datatest_setup, datatest_teardown);
}
