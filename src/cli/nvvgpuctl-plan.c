/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nvvgpuctl plan: where a batch of VM requests would go on a described host (what-if). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-catalog.h"
#include "nvv-fwabi.h"
#include "nvv-fwdb.h"
#include "nvv-json.h"
#include "nvv-planner.h"
#include "nvv-policy.h"
#include "nvv-pool.h"
#include "nvvgpuctl.h"
#include "util.h"

#define MIB (UINT64_C(1) << 20)

static const char *arg_host;
static const char *arg_request;
static const char *arg_policy;
static const char *arg_release;
static const char *arg_catalog_dir;
static uint64_t arg_max_steps;
static bool arg_json;

static void help(void)
{
        printf("Usage: nvvgpuctl plan --host SPEC --request SPEC [--policy FILE] [--release R]\n"
               "       nvvgpuctl plan --live --request SPEC [--json] [--socket PATH]   (nvvgpud's GPUs as they are)\n"
               "                    [--fwabi-dir DIR]... [--catalog DIR] [--json]\n\n"
               "Say where each requested vGPU would go, or why it would not fit, without creating\n"
               "anything. Exit status 0 when everything fits, 1 when something does not.\n\n"
               "  --host SPEC      the GPUs: MODEL[*COUNT][:numa=N][:ecc][:mode=equal-size|mixed-size],...\n"
               "                   e.g. 'L40S*2,H200:numa=1'\n"
               "  --request SPEC   the vGPUs: TYPE-or-SIZE[*COUNT][:vm=NAME][:tenant=NAME][:numa=N][:series=S],...\n"
               "                   e.g. 'L40S-8Q*7,L40S-2Q*3' or '16G*2:series=C:vm=db'\n"
               "  --policy FILE    placement policy (nvvgpu-policy(5)); default: pack, NUMA prefer, equal-size\n"
               "  --release R      firmware release whose sizing applies (default: the newest known)\n"
               "  --fwabi-dir DIR  also read release descriptions from DIR; they win over installed ones\n"
               "                   (repeatable)\n"
               "  --catalog DIR    GPU catalog directory\n"
               "  --max-steps N    search budget (default %llu)\n"
               "  -j, --json       machine-readable output\n",
               (unsigned long long) NVV_PLAN_DEFAULT_MAX_STEPS);
}

static const char *fmt_mib(uint64_t bytes, char buf[static 32])
{
        snprintf(buf, 32, "%" PRIu64 " MiB", bytes / MIB);
        return buf;
}

int nvvgpuctl_plan(int argc, char **argv)
{
        static const struct option opts[] = {
                { "host", required_argument, NULL, 'H' },
                { "request", required_argument, NULL, 'r' },
                { "policy", required_argument, NULL, 'p' },
                { "release", required_argument, NULL, 'R' },
                { "catalog", required_argument, NULL, 'c' },
                { "fwabi-dir", required_argument, NULL, 'd' },
                { "max-steps", required_argument, NULL, 'S' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(nvv_catalog_freep) struct nvv_catalog *catalog = NULL;
        _cleanup_(nvv_fwdb_freep) struct nvv_fwdb *db = NULL;
        _cleanup_(nvv_policy_freep) struct nvv_policy *policy = NULL;
        _cleanup_(nvv_pool_freep) struct nvv_pool *pool = NULL;
        _cleanup_(nvv_plan_result_freep) struct nvv_plan_result *res = NULL;
        _cleanup_free_ struct nvv_plan_host_gpu *hgpus = NULL;
        _cleanup_free_ struct nvv_policy_gpu_setup *setup = NULL;
        _cleanup_free_ struct nvv_plan_tenant_quota *tq = NULL;
        _cleanup_strv_free_ char **arg_fwabi_dirs = NULL;
        _cleanup_free_ char *msg = NULL;
        struct nvv_plan_request *reqs = NULL;
        struct nvv_plan_options popts = {};
        struct nvv_policy_context pctx = {};
        const struct nvv_fwabi *fw;
        size_t n_hgpus = 0, n_reqs = 0;
        int c, r;

        /* --live: against what nvvgpud holds now, asked of the daemon. */
        for (int i = 1; i < argc && !streq(argv[i], "--"); i++)
                if (streq(argv[i], "--live"))
                        return nvvgpuctl_plan_live(argc, argv);
        optind = 1;
        while ((c = getopt_long(argc, argv, "jh", opts, NULL)) >= 0)
                switch (c) {
                case 'H':
                        arg_host = optarg;
                        break;
                case 'r':
                        arg_request = optarg;
                        break;
                case 'p':
                        arg_policy = optarg;
                        break;
                case 'R':
                        arg_release = optarg;
                        break;
                case 'c':
                        arg_catalog_dir = optarg;
                        break;
                case 'd':
                        if (strv_extend(&arg_fwabi_dirs, optarg) < 0)
                                return cli_error(-ENOMEM, "out of memory");
                        break;
                case 'S':
                        if (safe_atou64(optarg, &arg_max_steps) < 0 || arg_max_steps == 0)
                                cli_usage_error("plan: --max-steps needs a positive number");
                        break;
                case 'j':
                        arg_json = true;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        cli_usage_error("plan: bad option (try 'nvvgpuctl plan --help')");
                }
        if (optind < argc)
                cli_usage_error("plan: unexpected argument '%s'", argv[optind]);
        if (!arg_host || !arg_request)
                cli_usage_error("plan: --host and --request are required (try 'nvvgpuctl plan --help')");

        r = cli_load_catalog(arg_catalog_dir, &catalog);
        if (r < 0)
                return r;
        r = cli_load_fwdb(arg_fwabi_dirs, &db);
        if (r < 0)
                return r;
        if (arg_release) {
                fw = nvv_fwdb_match(db, arg_release, &msg);
                if (!fw)
                        return cli_error(-ENOENT, "--release: %s", msg ? msg : arg_release);
        } else {
                if (nvv_fwdb_count(db) == 0)
                        return cli_error(-ENOENT, "no firmware release descriptions found");
                fw = nvv_fwdb_get(db, nvv_fwdb_count(db) - 1);
        }
        pctx.catalog = catalog;
        if (arg_policy)
                r = nvv_policy_load_file(arg_policy, &pctx, &policy, &msg);
        else
                r = nvv_policy_new_default(&policy);
        if (r < 0)
                return cli_error(r, "%s", msg ? msg : strerror(-r));
        r = nvv_planner_parse_host(arg_host, catalog, &hgpus, &n_hgpus, &msg);
        if (r < 0)
                return cli_error(r, "--host: %s", msg ? msg : strerror(-r));
        r = nvv_planner_parse_requests(arg_request, catalog, &reqs, &n_reqs, &msg);
        if (r < 0)
                return cli_error(r, "--request: %s", msg ? msg : strerror(-r));

        r = nvv_pool_new(&pool);
        if (r < 0)
                goto out;
        setup = calloc(MAX(n_hgpus, (size_t) 1), sizeof(*setup));
        if (!setup) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n_hgpus; i++) {
                struct nvv_pool_gpu_config cfg;
                char name[32];

                snprintf(name, sizeof(name), "gpu%zu", i);
                r = nvv_policy_setup_gpu(policy, hgpus[i].model, NULL, fw, hgpus[i].mode, &setup[i]);
                if (r < 0)
                        goto out;
                nvv_policy_pool_config(&setup[i], name, hgpus[i].model, fw, hgpus[i].numa_node, hgpus[i].ecc, &cfg);
                r = nvv_pool_add_gpu(pool, &cfg, &msg);
                if (r < 0) {
                        r = cli_error(r, "--host: %s", msg ? msg : strerror(-r));
                        goto out;
                }
        }

        r = nvv_policy_plan_options(policy, &popts, &tq);
        if (r < 0)
                goto out;
        popts.max_steps = arg_max_steps;
        r = nvv_planner_run(pool, reqs, n_reqs, &popts, &res);
        if (r < 0) {
                r = cli_error(r, "plan: %s", strerror(-r));
                goto out;
        }

        if (arg_json) {
                _cleanup_json_ json_object *o = json_object_new_object();
                json_object *gpus = json_object_new_array(), *pol = json_object_new_object();

                json_object_object_add(o, "release", json_object_new_string(fw->release));
                json_object_object_add(pol, "file", arg_policy ? json_object_new_string(arg_policy) : NULL);
                json_object_object_add(pol, "placement", json_object_new_string(nvv_place_strategy_to_string(policy->prefs.strategy)));
                json_object_object_add(pol, "numa", json_object_new_string(nvv_numa_mode_to_string(policy->prefs.numa)));
                json_object_object_add(o, "policy", pol);
                for (size_t i = 0; i < nvv_pool_count(pool); i++) {
                        const struct nvv_pool_gpu *g = nvv_pool_get(pool, i);
                        json_object *x = json_object_new_object();

                        json_object_object_add(x, "name", json_object_new_string(g->name));
                        json_object_object_add(x, "model", json_object_new_string(g->model->short_name));
                        json_object_object_add(x, "mode", json_object_new_string(nvv_partition_mode_to_string(nvv_partition_get_mode(g->part))));
                        json_object_object_add(x, "numa_node", g->numa_node >= 0 ? json_object_new_int(g->numa_node) : NULL);
                        json_object_object_add(x, "ecc", json_object_new_boolean(g->ecc));
                        json_object_object_add(x, "offered_types", json_object_new_int64((int64_t) g->n_types));
                        json_object_array_add(gpus, x);
                }
                json_object_object_add(o, "gpus", gpus);
                {
                        json_object *r2 = nvv_plan_result_to_json(pool, reqs, res);

                        if (!r2) {
                                r = -ENOMEM;
                                goto out;
                        }
                        json_object_object_foreach(r2, k, v) json_object_object_add(o, k, json_object_get(v));
                        json_object_put(r2);
                }
                cli_print_json(o);
        } else {
                printf("Host (firmware sizing %s; policy %s, NUMA %s%s%s):\n", fw->release,
                       nvv_place_strategy_to_string(policy->prefs.strategy), nvv_numa_mode_to_string(policy->prefs.numa),
                       arg_policy ? ", from " : "", arg_policy ? arg_policy : "");
                for (size_t i = 0; i < nvv_pool_count(pool); i++) {
                        const struct nvv_pool_gpu *g = nvv_pool_get(pool, i);

                        printf("  %-5s %-30s %-10s", g->name, g->model->model,
                               nvv_partition_mode_to_string(nvv_partition_get_mode(g->part)));
                        if (g->numa_node >= 0)
                                printf("  NUMA %d", g->numa_node);
                        if (g->ecc)
                                printf("  ECC");
                        printf("\n");
                }
                printf("\nPlaced %zu of %zu:\n", res->n_placed, n_reqs);
                if (res->n_placed)
                        printf("  %-4s %-14s %-18s %-5s %-9s %-12s %-12s %s\n", "REQ", "ASKED", "TYPE", "GPU", "PLACEMENT",
                               "FB OFFSET", "GUEST FB", "ORDER");
                for (size_t i = 0; i < res->n_placed; i++) {
                        const struct nvv_plan_placement *p = &res->placed[i];
                        char place[16], off[32], len[32];

                        if (p->vgpu.placement_id != NVV_PLACEMENT_NONE)
                                snprintf(place, sizeof(place), "%" PRIu32, p->vgpu.placement_id);
                        else
                                snprintf(place, sizeof(place), "-");
                        printf("  %-4u %-14s %-18s %-5s %-9s %-12s %-12s %u\n", p->request, reqs[p->request - 1].what,
                               p->type->short_name, nvv_pool_get(pool, p->gpu)->name, place, fmt_mib(p->vgpu.fb_offset, off),
                               fmt_mib(p->vgpu.fb_length, len), p->order);
                }
                if (res->n_unplaced) {
                        printf("\nNot placed:\n");
                        for (size_t i = 0; i < res->n_unplaced; i++)
                                printf("  %-4u %-14s %s\n", res->unplaced[i].request, reqs[res->unplaced[i].request - 1].what,
                                       res->unplaced[i].reason);
                }
                if (res->searched)
                        printf("\nIn request order not everything fit; a search (%" PRIu64 " step%s%s) %s.\n", res->steps,
                               res->steps == 1 ? "" : "s", res->complete ? "" : ", stopped at the budget",
                               res->n_unplaced ? "found no better assignment than this"
                                               : "found this assignment; create in the ORDER given");
        }
        r = res->n_unplaced ? -ENOSPC : 0;
out:
        nvv_plan_requests_free(reqs, n_reqs);
        return r;
}
