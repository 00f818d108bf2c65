/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Partitioning benchmark (make bench-partition; not a test).
 *
 * 1. Packing quality. Random batches of vGPU requests on small hosts; for each, the number of
 *    vGPUs placed by
 *      - the optimum: exhaustive search over every assignment of requests to GPUs (or none),
 *        each GPU's set checked in every creation order against the firmware model;
 *      - nvvgpu's planner (pack policy, in-order pass then backtracking search);
 *      - first-fit: each request in order to the first GPU that takes it, no search.
 *    Goal: planner >= 97% of the optimum, and strictly above first-fit.
 * 2. Decision time: nvv_pool_choose() for one vGPU on a 16-GPU host in random states, p50/p99.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "nvv-catalog.h"
#include "nvv-fwabi.h"
#include "nvv-fwdb.h"
#include "oracle.h"
#include "nvv-planner.h"
#include "nvv-pool.h"
#include "util.h"

static struct nvv_catalog *catalog;
static const struct nvv_fwabi *fw;

#define MAX_REQ 14
#define MAX_GPUS 4

struct scenario {
        const char *name;
        const char *model;
        unsigned gpus;
        enum nvv_partition_mode mode;
        const char *const *types;
        unsigned n_min, n_max;
        unsigned sequences;
};

static const char *const l4_q[] = { "L4-1Q", "L4-2Q", "L4-3Q", "L4-4Q", "L4-6Q", "L4-8Q", "L4-12Q", NULL };
static const char *const t4_q[] = { "T4-1Q", "T4-2Q", "T4-4Q", "T4-8Q", "T4-16Q", NULL };
static const char *const l40s_mix[] = { "L40S-4Q", "L40S-6Q", "L40S-8Q", "L40S-12Q", "L40S-16Q", "L40S-24Q", NULL };
static const char *const h100_c[] = { "H100-8C", "H100-10C", "H100-16C", "H100-20C", "H100-40C", NULL };

static const struct scenario scenarios[] = {
        { "2 x L4, mixed-size, Q 1-12 GiB", "L4", 2, NVV_PARTITION_HETEROGENEOUS, l4_q, 8, 13, 300 },
        { "3 x T4, equal-size, Q 1-16 GiB", "T4", 3, NVV_PARTITION_HOMOGENEOUS, t4_q, 6, 11, 300 },
        { "2 x L40S, mixed-size, Q 4-24 GiB", "L40S", 2, NVV_PARTITION_HETEROGENEOUS, l40s_mix, 6, 12, 300 },
        { "2 x H100, mixed-size, C 8-40 GiB", "H100", 2, NVV_PARTITION_HETEROGENEOUS, h100_c, 6, 12, 300 },
};

static struct nvv_pool *make_pool(const char *model, unsigned n, enum nvv_partition_mode mode)
{
        struct nvv_pool *p = NULL;
        char *msg = NULL;

        if (nvv_pool_new(&p) < 0)
                abort();
        for (unsigned i = 0; i < n; i++) {
                char name[16];
                struct nvv_pool_gpu_config c = {
                        .name = name, .model = nvv_catalog_find_gpu(catalog, model), .fw = fw, .numa_node = (int) (i % 2), .mode = mode,
                };

                snprintf(name, sizeof(name), "gpu%u", i);
                if (nvv_pool_add_gpu(p, &c, &msg) < 0) {
                        fprintf(stderr, "%s\n", msg);
                        exit(1);
                }
        }
        return p;
}

/* ---- exhaustive optimum ---- */

struct memo {
        char key[64];
        int feasible;
};

static struct memo memo[1 << 16];
static size_t n_memo;

/* Can this multiset (counts per type index) be created on an empty GPU in some order? */
static bool feasible_rec(struct nvv_partition *p, const uint32_t *ids, unsigned *count, size_t nt, unsigned left, unsigned *serial)
{
        if (left == 0)
                return true;
        for (size_t t = 0; t < nt; t++) {
                char name[16];
                bool ok;

                if (!count[t])
                        continue;
                snprintf(name, sizeof(name), "f%u", (*serial)++);
                if (nvv_partition_create(p, ids[t], name, NULL, NULL) < 0)
                        continue;
                count[t]--;
                ok = feasible_rec(p, ids, count, nt, left - 1, serial);
                count[t]++;
                (void) nvv_partition_remove(p, name);
                if (ok)
                        return true;
        }
        return false;
}

static bool feasible(const struct nvv_partition *empty, const uint32_t *ids, const unsigned *count, size_t nt)
{
        char key[64];
        size_t k = 0;
        unsigned c[16], left = 0, serial = 0;
        struct nvv_partition *p;
        bool ok;

        for (size_t t = 0; t < nt; t++) {
                k += (size_t) snprintf(key + k, sizeof(key) - k, "%u.", count[t]);
                c[t] = count[t];
                left += count[t];
        }
        for (size_t i = 0; i < n_memo; i++)
                if (streq(memo[i].key, key))
                        return memo[i].feasible;
        if (nvv_partition_clone(empty, &p) < 0)
                abort();
        ok = feasible_rec(p, ids, c, nt, left, &serial);
        nvv_partition_free(p);
        if (n_memo < ELEMENTSOF(memo)) {
                snprintf(memo[n_memo].key, sizeof(memo[0].key), "%s", key);
                memo[n_memo++].feasible = ok;
        }
        return ok;
}

struct opt {
        const struct nvv_partition *empty;
        const uint32_t *ids;
        size_t nt;
        const unsigned *req;   /* type index per request */
        unsigned n, gpus;
        unsigned count[MAX_GPUS][16];
        unsigned best, placed;
};

static void opt_rec(struct opt *o, unsigned k)
{
        if (o->placed + (o->n - k) <= o->best)
                return;
        if (k == o->n) {
                o->best = o->placed;
                return;
        }
        for (unsigned g = 0; g < o->gpus; g++) {
                /* identical empty GPUs: only the first */
                bool empty_before = false;

                for (unsigned h = 0; h < g; h++) {
                        unsigned sum = 0;

                        for (size_t t = 0; t < o->nt; t++)
                                sum += o->count[h][t];
                        if (sum == 0)
                                empty_before = true;
                }
                if (empty_before) {
                        unsigned sum = 0;

                        for (size_t t = 0; t < o->nt; t++)
                                sum += o->count[g][t];
                        if (sum == 0)
                                continue;
                }
                o->count[g][o->req[k]]++;
                if (feasible(o->empty, o->ids, o->count[g], o->nt)) {
                        o->placed++;
                        opt_rec(o, k + 1);
                        o->placed--;
                }
                o->count[g][o->req[k]]--;
        }
        opt_rec(o, k + 1);
}

static unsigned first_fit(const struct nvv_pool *pool, const uint32_t *ids, const unsigned *req, unsigned n)
{
        struct nvv_pool *w = NULL;
        unsigned placed = 0;

        if (nvv_pool_clone(pool, &w) < 0)
                abort();
        for (unsigned k = 0; k < n; k++)
                for (size_t g = 0; g < nvv_pool_count(w); g++) {
                        char name[16];

                        snprintf(name, sizeof(name), "ff%u", k);
                        if (nvv_partition_create(nvv_pool_get_partition(w, g), ids[req[k]], name, NULL, NULL) >= 0) {
                                placed++;
                                break;
                        }
                }
        nvv_pool_free(w);
        return placed;
}

static unsigned planner(const struct nvv_pool *pool, const char *const *types, const unsigned *req, unsigned n,
                        uint64_t *steps)
{
        struct nvv_plan_request r[MAX_REQ] = {};
        struct nvv_plan_options o = { .prefs = { NVV_PLACE_PACK, NVV_NUMA_IGNORE } };
        struct nvv_plan_result *res = NULL;
        unsigned placed;

        for (unsigned k = 0; k < n; k++)
                r[k] = (struct nvv_plan_request) {
                        .index = k + 1, .what = (char *) types[req[k]], .type = (char *) types[req[k]], .numa_node = -1,
                };
        if (nvv_planner_run(pool, r, n, &o, &res) < 0)
                abort();
        placed = (unsigned) res->n_placed;
        *steps += res->steps;
        nvv_plan_result_free(res);
        return placed;
}

static int run_quality(void)
{
        unsigned long tot_opt = 0, tot_plan = 0, tot_ff = 0;
        unsigned tot_seq = 0;
        char what[96];
        int ok = 1;

        printf("1. Packing quality (vGPUs placed, summed over the sequences)\n");
        printf("   %-36s %5s %8s %8s %8s %8s %9s %8s %11s\n", "host", "seqs", "optimum", "planner", "first-fit", "plan/opt",
               "ff/opt", "plan<opt", "plan steps");
        for (size_t s = 0; s < ELEMENTSOF(scenarios); s++) {
                const struct scenario *sc = &scenarios[s];
                struct nvv_pool *pool = make_pool(sc->model, sc->gpus, sc->mode);
                uint32_t ids[16];
                size_t nt = 0;
                unsigned long so = 0, sp = 0, sf = 0, worse = 0;
                uint64_t state = 0x5eed + s, steps = 0;

                for (; sc->types[nt]; nt++)
                        ids[nt] = nvv_catalog_find_type(catalog, sc->types[nt])->type_id;
                n_memo = 0;
                for (unsigned q = 0; q < sc->sequences; q++) {
                        unsigned req[MAX_REQ], n = sc->n_min + (unsigned) (nvv_oracle_rand(&state) % (sc->n_max - sc->n_min + 1));
                        struct opt o = {
                                .empty = nvv_pool_get_partition(pool, 0), .ids = ids, .nt = nt, .req = req, .n = n,
                                .gpus = sc->gpus,
                        };
                        unsigned p, f;

                        for (unsigned k = 0; k < n; k++)
                                req[k] = (unsigned) (nvv_oracle_rand(&state) % nt);
                        opt_rec(&o, 0);
                        p = planner(pool, sc->types, req, n, &steps);
                        f = first_fit(pool, ids, req, n);
                        if (p > o.best) {
                                fprintf(stderr, "planner placed %u > optimum %u: the exhaustive search is wrong\n", p, o.best);
                                return 1;
                        }
                        so += o.best;
                        sp += p;
                        sf += f;
                        worse += p < o.best;
                }
                printf("   %-36s %5u %8lu %8lu %8lu %7.2f%% %8.2f%% %8lu %11" PRIu64 "\n", sc->name, sc->sequences, so, sp, sf,
                       100.0 * (double) sp / (double) so, 100.0 * (double) sf / (double) so, worse, steps);
                tot_opt += so;
                tot_seq += sc->sequences;
                tot_plan += sp;
                tot_ff += sf;
                nvv_pool_free(pool);
        }
        printf("   %-36s %5s %8lu %8lu %8lu %7.2f%% %8.2f%%\n", "all", "", tot_opt, tot_plan, tot_ff,
               100.0 * (double) tot_plan / (double) tot_opt, 100.0 * (double) tot_ff / (double) tot_opt);
        if ((double) tot_plan < 0.97 * (double) tot_opt) {
                printf("   GOAL MISSED: planner below 97%% of the optimum\n");
                ok = 0;
        }
        if (tot_plan <= tot_ff) {
                printf("   GOAL MISSED: planner not better than first-fit\n");
                ok = 0;
        }
        if (ok)
                printf("   goals met: planner >= 97%% of the optimum and above first-fit\n");
        snprintf(what, sizeof(what), "packing: vGPUs placed by the planner (%u batches, %zu hosts)", tot_seq,
                 ELEMENTSOF(scenarios));
        bench_report("bench-partition", &(struct bench_figure) {
                .figure = what, .stat = "total",
                .ours = bench_value((double) tot_plan), .unit = "vGPUs", .baseline = "exhaustive optimum",
                .base = bench_value((double) tot_opt), .vs = BENCH_VS_RATIO, .target = ">= 0.97x",
                .met = (double) tot_plan >= 0.97 * (double) tot_opt });
        bench_report("bench-partition", &(struct bench_figure) {
                .figure = "packing: vGPUs placed by the planner, against first-fit", .stat = "total",
                .ours = bench_value((double) tot_plan), .unit = "vGPUs", .baseline = "first-fit",
                .base = bench_value((double) tot_ff), .vs = BENCH_VS_RATIO, .target = "> first-fit",
                .met = tot_plan > tot_ff });
        return ok ? 0 : 2;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

/* bench_stats of n sorted timings in ns, in us. */
static struct bench_stats stats_us(const uint64_t *t, size_t n)
{
        return (struct bench_stats) { (double) t[n / 2] / 1e3, (double) t[(n - 1) * 10 / 100] / 1e3,
                                      (double) t[(n - 1) * 90 / 100] / 1e3, (int) n };
}

static void run_timing(void)
{
        static const char *const l40s[] = { "L40S-1Q", "L40S-2Q", "L40S-4Q", "L40S-8Q", "L40S-12Q", "L40S-24Q" };
        enum { SAMPLES = 20000, STATES = 200 };
        uint64_t *t_pack = calloc(SAMPLES, sizeof(uint64_t)), *t_spread = calloc(SAMPLES, sizeof(uint64_t));
        uint64_t state = 42;
        size_t k = 0;

        printf("\n2. Decision time: nvv_pool_choose() for one vGPU, 16 x L40S (mixed-size, NUMA 0/1), %d random states x %d requests\n",
               STATES, SAMPLES / STATES);
        for (unsigned s = 0; s < STATES; s++) {
                struct nvv_pool *pool = make_pool("L40S", 16, NVV_PARTITION_HETEROGENEOUS);
                unsigned fill = 16 + (unsigned) (nvv_oracle_rand(&state) % 400);

                /* A random load: up to several hundred creates spread over the GPUs. */
                for (unsigned i = 0; i < fill; i++) {
                        char name[16];
                        size_t g = (size_t) (nvv_oracle_rand(&state) % 16);
                        const char *t = l40s[nvv_oracle_rand(&state) % ELEMENTSOF(l40s)];

                        snprintf(name, sizeof(name), "pre%u", i);
                        (void) nvv_partition_create(nvv_pool_get_partition(pool, g), nvv_catalog_find_type(catalog, t)->type_id,
                                                    name, NULL, NULL);
                }
                for (unsigned i = 0; i < SAMPLES / STATES; i++, k++) {
                        struct nvv_pool_request r = {
                                .type = l40s[nvv_oracle_rand(&state) % ELEMENTSOF(l40s)],
                                .numa_node = (int) (nvv_oracle_rand(&state) % 2),
                        };
                        struct nvv_place_prefs pack = { NVV_PLACE_PACK, NVV_NUMA_PREFER };
                        struct nvv_place_prefs spread = { NVV_PLACE_SPREAD, NVV_NUMA_PREFER };
                        size_t gpu;
                        uint64_t t0;

                        t0 = now_ns();
                        (void) nvv_pool_choose(pool, &r, &pack, &gpu, NULL);
                        t_pack[k] = now_ns() - t0;
                        t0 = now_ns();
                        (void) nvv_pool_choose(pool, &r, &spread, &gpu, NULL);
                        t_spread[k] = now_ns() - t0;
                }
                nvv_pool_free(pool);
        }
        qsort(t_pack, k, sizeof(uint64_t), cmp_u64);
        qsort(t_spread, k, sizeof(uint64_t), cmp_u64);
        printf("   pack:   p50 %6.1f us   p99 %6.1f us   max %6.1f us\n", t_pack[k / 2] / 1e3, t_pack[k * 99 / 100] / 1e3,
               t_pack[k - 1] / 1e3);
        printf("   spread: p50 %6.1f us   p99 %6.1f us   max %6.1f us\n", t_spread[k / 2] / 1e3,
               t_spread[k * 99 / 100] / 1e3, t_spread[k - 1] / 1e3);
        bench_report("bench-partition", &(struct bench_figure) {
                .figure = "decision: nvv_pool_choose, pack, 16 x L40S", .ours = stats_us(t_pack, k), .unit = "us" });
        bench_report("bench-partition", &(struct bench_figure) {
                .figure = "decision: nvv_pool_choose, spread, 16 x L40S", .ours = stats_us(t_spread, k), .unit = "us" });
        free(t_pack);
        free(t_spread);
}

static void run_plan_timing(unsigned N)
{
        static const char *const l40s[] = { "L40S-2Q", "L40S-4Q", "L40S-8Q", "L40S-12Q", "L40S-16Q", "L40S-24Q" };
        enum { RUNS = 200 };
        uint64_t t[RUNS], state = 7, steps = 0;
        struct nvv_pool *pool = make_pool("L40S", 16, NVV_PARTITION_HETEROGENEOUS);
        unsigned searched = 0;
        char what[96], note[64];

        for (unsigned r = 0; r < RUNS; r++) {
                struct nvv_plan_request q[128] = {};
                struct nvv_plan_options o = { .prefs = { NVV_PLACE_PACK, NVV_NUMA_IGNORE }, .max_steps = 200000 };
                struct nvv_plan_result *res = NULL;
                uint64_t t0;

                for (unsigned i = 0; i < N; i++) {
                        const char *ty = l40s[nvv_oracle_rand(&state) % ELEMENTSOF(l40s)];

                        q[i] = (struct nvv_plan_request) { .index = i + 1, .what = (char *) ty, .type = (char *) ty, .numa_node = -1 };
                }
                t0 = now_ns();
                if (nvv_planner_run(pool, q, N, &o, &res) < 0)
                        abort();
                t[r] = now_ns() - t0;
                searched += res->searched;
                steps += res->steps;
                nvv_plan_result_free(res);
        }
        qsort(t, RUNS, sizeof(uint64_t), cmp_u64);
        printf("\n3. Batch plan: %u random L40S Q requests (2-24 GiB) on 16 x L40S mixed-size, %d runs (%u needed the search, budget 200000 steps)\n",
               N, RUNS, searched);
        printf("   p50 %8.1f us   p99 %8.1f us\n", t[RUNS / 2] / 1e3, t[RUNS * 99 / 100] / 1e3);
        snprintf(what, sizeof(what), "batch plan: %u L40S Q requests on 16 x L40S", N);
        snprintf(note, sizeof(note), "%u of %d runs needed the search", searched, RUNS);
        bench_report("bench-partition", &(struct bench_figure) {
                .figure = what, .ours = bench_stats_scaled(stats_us(t, RUNS), 1000), .unit = "ms", .note = note });
        nvv_pool_free(pool);
}

int main(void)
{
        struct nvv_fwdb *db = NULL;
        char *msg = NULL;
        int r;

        if (nvv_catalog_new(&catalog) < 0 || nvv_catalog_load_default(catalog, &msg) < 0 || nvv_fwdb_new(&db) < 0 ||
            nvv_fwdb_load_default(db, &msg) < 0) {
                fprintf(stderr, "bench-partition: %s\n", msg ? msg : "setup failed");
                return 1;
        }
        fw = nvv_fwdb_find(db, "595.45.04");
        printf("bench-partition: firmware sizing %s, catalog %s\n\n", fw->release, nvv_catalog_default_dir());
        r = run_quality();
        run_timing();
        run_plan_timing(48);
        run_plan_timing(96);
        nvv_fwdb_free(db);
        nvv_catalog_free(catalog);
        return r;
}
