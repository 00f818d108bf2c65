/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "nvv-json.h"
#include "nvv-policy.h"
#include "nvv-sysfs.h"
#include "util.h"

#define GIB (UINT64_C(1) << 30)
#define NS_PER_MS 1000000u

static const char *const sched_names[_NVV_SCHED_MAX] = {
        [NVV_SCHED_UNKNOWN] = NULL,
        [NVV_SCHED_OTHER] = NULL,
        [NVV_SCHED_BEST_EFFORT] = "best-effort",
        [NVV_SCHED_EQUAL_SHARE] = "equal-share",
        [NVV_SCHED_FIXED_SHARE] = "fixed-share",
};

static const char *const arr_names[_NVV_ARR_MAX] = {
        [NVV_ARR_UNKNOWN] = NULL,
        [NVV_ARR_DEFAULT] = "default",
        [NVV_ARR_DISABLE] = "disable",
        [NVV_ARR_ENABLE] = "enable",
};

const char *nvv_policy_sched_name(enum nvv_sched_policy p)
{
        return p < _NVV_SCHED_MAX ? sched_names[p] : NULL;
}

static void gpu_done(struct nvv_policy_gpu *g)
{
        free(g->match);
        strv_free(g->types);
}

struct nvv_policy *nvv_policy_free(struct nvv_policy *p)
{
        if (!p)
                return NULL;
        free(p->path);
        gpu_done(&p->defaults);
        for (size_t i = 0; i < p->n_gpus; i++)
                gpu_done(&p->gpus[i]);
        free(p->gpus);
        for (size_t i = 0; i < p->n_tenants; i++)
                free(p->tenants[i].name);
        free(p->tenants);
        free(p);
        return NULL;
}

static void set_defaults(struct nvv_policy *p)
{
        p->prefs = (struct nvv_place_prefs) { NVV_PLACE_PACK, NVV_NUMA_PREFER };
        p->defaults.mode = NVV_PARTITION_HOMOGENEOUS;
        p->defaults.mode_set = true;
        p->defaults.sched = (struct nvv_policy_sched) { .policy = NVV_SCHED_BEST_EFFORT, .arr = NVV_ARR_DEFAULT };
}

int nvv_policy_new_default(struct nvv_policy **ret)
{
        _cleanup_(nvv_policy_freep) struct nvv_policy *p = NULL;
        int r;

        assert_return(ret, -EINVAL);
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        set_defaults(p);
        r = strv_extend(&p->defaults.types, "*");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

void nvv_policy_model_caps(struct nvv_cmd_sched_get_caps *ret)
{
        /* doc/firmware-model.md §7 (NVIDIA documents 1-30 ms for the time slice). */
        *ret = (struct nvv_cmd_sched_get_caps) {
                .supported_policies = { NVV_SCHED_BEST_EFFORT, NVV_SCHED_EQUAL_SHARE, NVV_SCHED_FIXED_SHARE },
                .arr_supported = true,
                .min_timeslice_ns = 1 * NS_PER_MS,
                .max_timeslice_ns = 30 * NS_PER_MS,
        };
}

int nvv_policy_check_sched(const struct nvv_policy_sched *s, const struct nvv_cmd_sched_get_caps *caps,
                           enum nvv_partition_mode mode, char **reterr_msg)
{
        bool supported = false;

        assert_return(s && caps, -EINVAL);
        for (size_t i = 0; i < ELEMENTSOF(caps->supported_policies); i++)
                supported = supported || caps->supported_policies[i] == (uint32_t) s->policy;
        if (!supported)
                return nvv_fail(reterr_msg, "scheduler.policy: the firmware does not offer '%s'",
                                nvv_policy_sched_name(s->policy));
        if (mode == NVV_PARTITION_HETEROGENEOUS && s->policy == NVV_SCHED_FIXED_SHARE)
                return nvv_fail(reterr_msg, "scheduler.policy: mixed-size mode supports only best-effort and "
                                "equal-share (NVIDIA), not fixed-share");
        if (s->timeslice_ns &&
            (s->timeslice_ns < caps->min_timeslice_ns || (caps->max_timeslice_ns && s->timeslice_ns > caps->max_timeslice_ns)))
                return nvv_fail(reterr_msg, "scheduler.timeslice_ms: %" PRIu32 " is outside the firmware's %" PRIu32
                                "..%" PRIu32 " ms", s->timeslice_ns / NS_PER_MS, caps->min_timeslice_ns / NS_PER_MS,
                                caps->max_timeslice_ns / NS_PER_MS);
        if ((s->arr == NVV_ARR_ENABLE || s->arr_avg_factor || s->arr_frequency) && !caps->arr_supported)
                return nvv_fail(reterr_msg, "scheduler.arr: the firmware has no adaptive round robin");
        if (s->arr_avg_factor && caps->max_arr_avg_factor &&
            (s->arr_avg_factor < caps->min_arr_avg_factor || s->arr_avg_factor > caps->max_arr_avg_factor))
                return nvv_fail(reterr_msg, "scheduler.arr_avg_factor: %" PRIu32 " is outside the firmware's %" PRIu32
                                "..%" PRIu32, s->arr_avg_factor, caps->min_arr_avg_factor, caps->max_arr_avg_factor);
        if (s->arr_frequency && caps->max_arr_frequency &&
            (s->arr_frequency < caps->min_arr_frequency || s->arr_frequency > caps->max_arr_frequency))
                return nvv_fail(reterr_msg, "scheduler.arr_frequency: %" PRIu32 " is outside the firmware's %" PRIu32
                                "..%" PRIu32, s->arr_frequency, caps->min_arr_frequency, caps->max_arr_frequency);
        return 0;
}

int nvv_policy_sched_to_state(const struct nvv_policy_sched *s, struct nvv_cmd_sched_state *ret)
{
        assert_return(s && ret, -EINVAL);
        *ret = (struct nvv_cmd_sched_state) {
                .policy = s->policy,
                .arr = s->arr,
                .timeslice_ns = s->timeslice_ns,
                .arr_frequency = s->arr_frequency,
                .arr_avg_factor = s->arr_avg_factor,
        };
        return 0;
}

/* ---- parsing ---- */

struct parse {
        struct nvv_json j;
        const struct nvv_policy_context *ctx;
        struct nvv_cmd_sched_get_caps caps;
};

static int get_enum(struct nvv_json *j, json_object *o, const char *const *names, size_t n, const char *what, int *ret)
{
        const char *s;
        int r;

        r = nvv_json_get_string(j, o, 64, &s);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (names[i] && streq(names[i], s)) {
                        *ret = (int) i;
                        return 0;
                }
        return nvv_json_fail(j, "'%s' is not %s", s, what);
}

static int parse_sched(struct parse *p, json_object *o, struct nvv_policy_sched *s)
{
        static const char *const keys[] = { "policy", "timeslice_ms", "arr", "arr_avg_factor", "arr_frequency", NULL };
        struct nvv_json *j = &p->j;
        json_object *v;
        size_t old;
        uint32_t u;
        int e = 0, r;

        r = nvv_json_get_object(j, o);
        if (r >= 0)
                r = nvv_json_check_keys(j, o, keys);
        if (r < 0)
                return r;
        s->set = true;
        if (json_object_object_get_ex(o, "policy", &v)) {
                old = nvv_json_push(j, "policy");
                r = get_enum(j, v, sched_names, _NVV_SCHED_MAX, "best-effort, equal-share or fixed-share", &e);
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
                s->policy = (enum nvv_sched_policy) e;
        }
        if (json_object_object_get_ex(o, "timeslice_ms", &v)) {
                old = nvv_json_push(j, "timeslice_ms");
                r = nvv_json_get_u32(j, v, 1000, &u);
                if (r >= 0 && u == 0)
                        r = nvv_json_fail(j, "must be at least 1");
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
                s->timeslice_ns = u * NS_PER_MS;
        }
        if (json_object_object_get_ex(o, "arr", &v)) {
                old = nvv_json_push(j, "arr");
                r = get_enum(j, v, arr_names, _NVV_ARR_MAX, "default, enable or disable", &e);
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
                s->arr = (enum nvv_sched_arr) e;
        }
        if (json_object_object_get_ex(o, "arr_avg_factor", &v)) {
                old = nvv_json_push(j, "arr_avg_factor");
                r = nvv_json_get_u32(j, v, 1000, &s->arr_avg_factor);
                if (r >= 0 && s->arr_avg_factor == 0)
                        r = nvv_json_fail(j, "must be at least 1");
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(o, "arr_frequency", &v)) {
                old = nvv_json_push(j, "arr_frequency");
                r = nvv_json_get_u32(j, v, 100000, &s->arr_frequency);
                if (r >= 0 && s->arr_frequency == 0)
                        r = nvv_json_fail(j, "must be at least 1");
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
        }
        if (s->arr == NVV_ARR_DISABLE && (s->arr_avg_factor || s->arr_frequency))
                return nvv_json_fail(j, "arr_avg_factor and arr_frequency tune ARR, but arr is 'disable'");
        return 0;
}

/* Does the pattern name at least one type of g (or of any model when g is NULL)? */
static bool pattern_matches(const struct nvv_catalog *c, const struct nvv_catalog_gpu *g, const char *pat)
{
        for (size_t m = 0; m < nvv_catalog_count(c); m++) {
                const struct nvv_catalog_gpu *x = nvv_catalog_get(c, m);

                if (g && x != g)
                        continue;
                for (size_t i = 0; i < x->n_types; i++)
                        if (fnmatch(pat, x->types[i].short_name, FNM_CASEFOLD) == 0 ||
                            fnmatch(pat, x->types[i].name, FNM_CASEFOLD) == 0)
                                return true;
        }
        return false;
}

static int parse_types(struct parse *p, json_object *o, const struct nvv_catalog_gpu *model, char ***ret)
{
        struct nvv_json *j = &p->j;
        _cleanup_strv_free_ char **l = NULL;
        size_t n;
        int r;

        r = nvv_json_get_array(j, o, NVV_POLICY_MAX_PATTERNS, &n);
        if (r < 0)
                return r;
        if (n == 0)
                return nvv_json_fail(j, "offers no type at all; list at least one (\"*\" for every type)");
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                size_t old = nvv_json_push_index(j, i);
                const char *s;

                r = nvv_json_get_string(j, json_object_array_get_idx(o, i), 64, &s);
                if (r >= 0 && p->ctx && p->ctx->catalog && !pattern_matches(p->ctx->catalog, model, s)) {
                        if (model)
                                r = nvv_json_fail(j, "'%s' matches no vGPU type of the %s", s, model->short_name);
                        else
                                r = nvv_json_fail(j, "'%s' matches no vGPU type in the catalog", s);
                }
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
                r = strv_extend(&l, s);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int parse_gpu(struct parse *p, json_object *o, bool is_defaults, const struct nvv_policy_gpu *defaults,
                     struct nvv_policy_gpu *g)
{
        static const char *const keys_default[] = { "mode", "types", "scheduler", NULL };
        static const char *const keys_gpu[] = { "match", "mode", "types", "scheduler", NULL };
        struct nvv_json *j = &p->j;
        const struct nvv_catalog_gpu *model = NULL;
        json_object *v;
        size_t old;
        int r, e = 0;

        r = nvv_json_get_object(j, o);
        if (r >= 0)
                r = nvv_json_check_keys(j, o, is_defaults ? keys_default : keys_gpu);
        if (r < 0)
                return r;
        if (!is_defaults) {
                const char *m;
                char bdf[13];

                r = nvv_json_member(j, o, "match", true, &v);
                if (r < 0)
                        return r;
                old = nvv_json_push(j, "match");
                r = nvv_json_get_string(j, v, 64, &m);
                if (r >= 0) {
                        if (nvv_sysfs_parse_bdf(m, bdf) >= 0) {
                                g->match_is_address = true;
                                g->match = strdup(bdf);
                        } else {
                                if (p->ctx && p->ctx->catalog) {
                                        model = nvv_catalog_find_gpu(p->ctx->catalog, m);
                                        if (!model)
                                                r = nvv_json_fail(j, "'%s' is neither a GPU model in the catalog nor a "
                                                                  "PCI address (0000:41:00.0)", m);
                                }
                                if (r >= 0)
                                        g->match = strdup(model ? model->short_name : m);
                        }
                        if (r >= 0 && !g->match)
                                r = -ENOMEM;
                }
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(o, "mode", &v)) {
                static const char *const mode_names[] = { "equal-size", "mixed-size" };

                old = nvv_json_push(j, "mode");
                r = get_enum(j, v, mode_names, ELEMENTSOF(mode_names), "equal-size or mixed-size", &e);
                if (r >= 0 && e == NVV_PARTITION_HETEROGENEOUS && model && !model->mixed_size)
                        r = nvv_json_fail(j, "the %s has no mixed-size mode", model->short_name);
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
                g->mode = (enum nvv_partition_mode) e;
                g->mode_set = true;
        }
        if (json_object_object_get_ex(o, "types", &v)) {
                old = nvv_json_push(j, "types");
                r = parse_types(p, v, model, &g->types);
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
        }
        if (defaults)
                g->sched = defaults->sched;
        if (json_object_object_get_ex(o, "scheduler", &v)) {
                old = nvv_json_push(j, "scheduler");
                r = parse_sched(p, v, &g->sched);
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
        }
        /* The scheduler this entry ends up with, against the caps and its mode. */
        {
                _cleanup_free_ char *msg = NULL;
                enum nvv_partition_mode mode = g->mode_set ? g->mode : defaults ? defaults->mode : NVV_PARTITION_HOMOGENEOUS;

                r = nvv_policy_check_sched(&g->sched, &p->caps, mode, &msg);
                if (r < 0)
                        return nvv_json_fail(j, "%s", msg ? msg : "scheduler: invalid");
        }
        return 0;
}

static int parse_quota(struct parse *p, json_object *o, struct nvv_policy_quota *q)
{
        static const char *const keys[] = { "max_vgpus", "max_fb_gib", NULL };
        struct nvv_json *j = &p->j;
        json_object *v;
        uint32_t u;
        size_t old;
        int r;

        r = nvv_json_get_object(j, o);
        if (r >= 0)
                r = nvv_json_check_keys(j, o, keys);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(o, "max_vgpus", &v)) {
                old = nvv_json_push(j, "max_vgpus");
                r = nvv_json_get_u32(j, v, 100000, &q->max_vgpus);
                if (r >= 0 && q->max_vgpus == 0)
                        r = nvv_json_fail(j, "0 would forbid every vGPU; leave the key out for no limit");
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(o, "max_fb_gib", &v)) {
                old = nvv_json_push(j, "max_fb_gib");
                r = nvv_json_get_u32(j, v, 1u << 20, &u);
                if (r >= 0 && u == 0)
                        r = nvv_json_fail(j, "0 would forbid every vGPU; leave the key out for no limit");
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
                q->max_fb = (uint64_t) u * GIB;
        }
        return 0;
}

static int parse_top(struct parse *p, json_object *root, struct nvv_policy *pol)
{
        static const char *const keys[] = { "version", "placement", "numa", "defaults", "gpus", "quotas", NULL };
        struct nvv_json *j = &p->j;
        json_object *v;
        size_t old, n;
        uint32_t version;
        int r, e = 0;

        r = nvv_json_get_object(j, root);
        if (r >= 0)
                r = nvv_json_check_keys(j, root, keys);
        if (r < 0)
                return r;
        r = nvv_json_member(j, root, "version", true, &v);
        if (r < 0)
                return r;
        old = nvv_json_push(j, "version");
        r = nvv_json_get_u32(j, v, 1000, &version);
        if (r >= 0 && version != 1)
                r = nvv_json_fail(j, "%" PRIu32 " is not a version this program reads (1)", version);
        nvv_json_pop(j, old);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(root, "placement", &v)) {
                static const char *const names[] = { "pack", "spread" };

                old = nvv_json_push(j, "placement");
                r = get_enum(j, v, names, ELEMENTSOF(names), "pack or spread", &e);
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
                pol->prefs.strategy = (enum nvv_place_strategy) e;
        }
        if (json_object_object_get_ex(root, "numa", &v)) {
                static const char *const names[] = { "ignore", "prefer", "require" };

                old = nvv_json_push(j, "numa");
                r = get_enum(j, v, names, ELEMENTSOF(names), "ignore, prefer or require", &e);
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
                pol->prefs.numa = (enum nvv_numa_mode) e;
        }
        if (json_object_object_get_ex(root, "defaults", &v)) {
                old = nvv_json_push(j, "defaults");
                r = parse_gpu(p, v, true, NULL, &pol->defaults);
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
        } else {
                _cleanup_free_ char *msg = NULL;

                r = nvv_policy_check_sched(&pol->defaults.sched, &p->caps, pol->defaults.mode, &msg);
                if (r < 0)
                        return nvv_json_fail(j, "%s", msg ? msg : "scheduler: invalid");
        }
        if (!pol->defaults.types) {
                r = strv_extend(&pol->defaults.types, "*");
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(root, "gpus", &v)) {
                old = nvv_json_push(j, "gpus");
                r = nvv_json_get_array(j, v, NVV_POLICY_MAX_GPUS, &n);
                if (r >= 0 && n > 0) {
                        pol->gpus = calloc(n, sizeof(*pol->gpus));
                        if (!pol->gpus)
                                r = -ENOMEM;
                }
                for (size_t i = 0; r >= 0 && i < n; i++) {
                        size_t o2 = nvv_json_push_index(j, i);

                        pol->n_gpus = i + 1;
                        r = parse_gpu(p, json_object_array_get_idx(v, i), false, &pol->defaults, &pol->gpus[i]);
                        for (size_t k = 0; r >= 0 && k < i; k++)
                                if (strcasecmp(pol->gpus[k].match, pol->gpus[i].match) == 0)
                                        r = nvv_json_fail(j, "match: '%s' is also gpus[%zu]; one entry per model or address",
                                                          pol->gpus[i].match, k);
                        nvv_json_pop(j, o2);
                }
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(root, "quotas", &v)) {
                static const char *const qkeys[] = { "vm", "tenants", NULL };
                json_object *q;

                old = nvv_json_push(j, "quotas");
                r = nvv_json_get_object(j, v);
                if (r >= 0)
                        r = nvv_json_check_keys(j, v, qkeys);
                if (r >= 0 && json_object_object_get_ex(v, "vm", &q)) {
                        size_t o2 = nvv_json_push(j, "vm");

                        r = parse_quota(p, q, &pol->vm_quota);
                        nvv_json_pop(j, o2);
                }
                if (r >= 0 && json_object_object_get_ex(v, "tenants", &q)) {
                        size_t o2 = nvv_json_push(j, "tenants");

                        r = nvv_json_get_object(j, q);
                        if (r >= 0 && json_object_object_length(q) > NVV_POLICY_MAX_TENANTS)
                                r = nvv_json_fail(j, "more than %u tenants", NVV_POLICY_MAX_TENANTS);
                        if (r >= 0 && json_object_object_length(q) > 0) {
                                pol->tenants = calloc((size_t) json_object_object_length(q), sizeof(*pol->tenants));
                                if (!pol->tenants)
                                        r = -ENOMEM;
                        }
                        if (r >= 0) {
                                json_object_object_foreach(q, name, tq) {
                                        size_t o3 = nvv_json_push(j, name);
                                        struct nvv_policy_tenant *t = &pol->tenants[pol->n_tenants];

                                        if (!*name || strlen(name) > 64)
                                                r = nvv_json_fail(j, "a tenant name must be 1-64 characters");
                                        if (r >= 0)
                                                r = parse_quota(p, tq, &t->quota);
                                        if (r >= 0) {
                                                t->name = strdup(name);
                                                if (!t->name)
                                                        r = -ENOMEM;
                                                else
                                                        pol->n_tenants++;
                                        }
                                        nvv_json_pop(j, o3);
                                        if (r < 0)
                                                break;
                                }
                        }
                        nvv_json_pop(j, o2);
                }
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
        }
        return 0;
}

int nvv_policy_load_buffer(const char *data, size_t size, const char *name, const struct nvv_policy_context *ctx,
                           struct nvv_policy **ret, char **reterr_msg)
{
        _cleanup_(nvv_policy_freep) struct nvv_policy *pol = NULL;
        _cleanup_json_ json_object *root = NULL;
        struct parse p = { .j = { .file = name ? name : "<buffer>", .err = reterr_msg }, .ctx = ctx };
        int r;

        assert_return(data && ret, -EINVAL);
        if (ctx && ctx->caps)
                p.caps = *ctx->caps;
        else
                nvv_policy_model_caps(&p.caps);
        r = nvv_json_parse(&p.j, data, size, NVV_POLICY_MAX_FILE_SIZE, &root);
        if (r < 0)
                return r;
        pol = calloc(1, sizeof(*pol));
        if (!pol)
                return -ENOMEM;
        set_defaults(pol);
        r = parse_top(&p, root, pol);
        if (r < 0)
                return r;
        if (name) {
                pol->path = strdup(name);
                if (!pol->path)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(pol);
        return 0;
}

int nvv_policy_load_file(const char *path, const struct nvv_policy_context *ctx, struct nvv_policy **ret,
                         char **reterr_msg)
{
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        assert_return(path && ret, -EINVAL);
        r = read_full_file(path, NVV_POLICY_MAX_FILE_SIZE, &data, &size);
        if (r < 0) {
                (void) nvv_fail(reterr_msg, "%s: %s", path, read_full_file_strerror(r));
                return r;
        }
        return nvv_policy_load_buffer(data, size, path, ctx, ret, reterr_msg);
}

int nvv_policy_reload(struct nvv_policy **current, const char *path, const struct nvv_policy_context *ctx,
                      char **reterr_msg)
{
        struct nvv_policy *n = NULL;
        int r;

        assert_return(current && path, -EINVAL);
        r = nvv_policy_load_file(path, ctx, &n, reterr_msg);
        if (r < 0)
                return r; /* the old policy stays in force */
        nvv_policy_free(*current);
        *current = n;
        return 0;
}

static void overlay(struct nvv_policy_effective *e, const struct nvv_policy_gpu *g)
{
        if (g->mode_set) {
                e->mode = g->mode;
                e->mode_explicit = true;
        }
        if (g->types)
                e->types = g->types;
        if (g->sched.set)
                e->sched = g->sched;
}

int nvv_policy_resolve(const struct nvv_policy *p, const char *model_short_name, const char *address,
                       struct nvv_policy_effective *ret)
{
        struct nvv_policy_effective e;

        assert_return(p && ret, -EINVAL);
        e = (struct nvv_policy_effective) { .mode = p->defaults.mode, .types = p->defaults.types, .sched = p->defaults.sched };
        for (size_t i = 0; model_short_name && i < p->n_gpus; i++)
                if (!p->gpus[i].match_is_address && strcasecmp(p->gpus[i].match, model_short_name) == 0) {
                        overlay(&e, &p->gpus[i]);
                        break;
                }
        for (size_t i = 0; address && i < p->n_gpus; i++)
                if (p->gpus[i].match_is_address && strcasecmp(p->gpus[i].match, address) == 0) {
                        overlay(&e, &p->gpus[i]);
                        break;
                }
        *ret = e;
        return 0;
}

bool nvv_policy_offers(const struct nvv_policy_effective *e, const struct nvv_catalog_type *t)
{
        for (char *const *pat = e ? e->types : NULL; pat && *pat; pat++)
                if (fnmatch(*pat, t->short_name, FNM_CASEFOLD) == 0 || fnmatch(*pat, t->name, FNM_CASEFOLD) == 0)
                        return true;
        return false;
}

static bool setup_offers(const struct nvv_catalog_type *t, void *userdata)
{
        return nvv_policy_offers(&((const struct nvv_policy_gpu_setup *) userdata)->eff, t);
}

int nvv_policy_setup_gpu(const struct nvv_policy *p, const struct nvv_catalog_gpu *model, const char *address,
                         const struct nvv_fwabi *fw, int mode_override, struct nvv_policy_gpu_setup *ret)
{
        int r;

        assert_return(p && model && fw && ret, -EINVAL);
        *ret = (struct nvv_policy_gpu_setup) {};
        r = nvv_policy_resolve(p, model->short_name, address, &ret->eff);
        if (r < 0)
                return r;
        ret->mode = mode_override >= 0 ? (enum nvv_partition_mode) mode_override : ret->eff.mode;
        /* A mixed-size default applies where the GPU and its release have it; one asked for
         * by name is kept, so that setting it up says why it cannot be. */
        if (mode_override < 0 && !ret->eff.mode_explicit && ret->mode == NVV_PARTITION_HETEROGENEOUS &&
            (!model->mixed_size || !nvv_fwabi_command(fw, NVV_CMD_SET_HETEROGENEOUS_MODE)))
                ret->mode = NVV_PARTITION_HOMOGENEOUS;
        return 0;
}

void nvv_policy_pool_config(const struct nvv_policy_gpu_setup *s, const char *name, const struct nvv_catalog_gpu *model,
                            const struct nvv_fwabi *fw, int numa_node, bool ecc, struct nvv_pool_gpu_config *ret)
{
        *ret = (struct nvv_pool_gpu_config) {
                .name = name,
                .model = model,
                .fw = fw,
                .numa_node = numa_node,
                .ecc = ecc,
                .mode = s->mode,
                .offers = setup_offers,
                .offers_userdata = (void *) s,
        };
}

int nvv_policy_plan_options(const struct nvv_policy *p, struct nvv_plan_options *ret,
                            struct nvv_plan_tenant_quota **ret_tenants)
{
        struct nvv_plan_tenant_quota *tq = NULL;

        *ret = (struct nvv_plan_options) {
                .prefs = p->prefs,
                .per_vm = { p->vm_quota.max_vgpus, p->vm_quota.max_fb },
        };
        if (p->n_tenants) {
                tq = calloc(p->n_tenants, sizeof(*tq));
                if (!tq)
                        return -ENOMEM;
                for (size_t i = 0; i < p->n_tenants; i++)
                        tq[i] = (struct nvv_plan_tenant_quota) {
                                p->tenants[i].name,
                                { p->tenants[i].quota.max_vgpus, p->tenants[i].quota.max_fb },
                        };
                ret->tenants = tq;
                ret->n_tenants = p->n_tenants;
        }
        *ret_tenants = tq;
        return 0;
}
