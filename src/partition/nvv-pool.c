/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "nvv-pool.h"
#include "util.h"

struct nvv_pool {
        size_t n;
        struct nvv_pool_gpu gpus[NVV_POOL_MAX_GPUS];
        unsigned next_class;
};

static const char *const strategy_names[_NVV_PLACE_STRATEGY_MAX] = {
        [NVV_PLACE_PACK] = "pack",
        [NVV_PLACE_SPREAD] = "spread",
};

DEFINE_STRING_TABLE_LOOKUP(nvv_place_strategy, enum nvv_place_strategy, strategy_names, _NVV_PLACE_STRATEGY_MAX, _NVV_PLACE_STRATEGY_INVALID)

static const char *const numa_names[_NVV_NUMA_MODE_MAX] = {
        [NVV_NUMA_IGNORE] = "ignore",
        [NVV_NUMA_PREFER] = "prefer",
        [NVV_NUMA_REQUIRE] = "require",
};

DEFINE_STRING_TABLE_LOOKUP(nvv_numa_mode, enum nvv_numa_mode, numa_names, _NVV_NUMA_MODE_MAX, _NVV_NUMA_MODE_INVALID)

int nvv_pool_new(struct nvv_pool **ret)
{
        assert_return(ret, -EINVAL);
        *ret = calloc(1, sizeof(struct nvv_pool));
        if (!*ret)
                return -ENOMEM;
        return 0;
}

struct nvv_pool *nvv_pool_free(struct nvv_pool *p)
{
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n; i++) {
                free(p->gpus[i].name);
                free(p->gpus[i].types);
                nvv_partition_free(p->gpus[i].part);
        }
        free(p);
        return NULL;
}

int nvv_pool_clone(const struct nvv_pool *p, struct nvv_pool **ret)
{
        _cleanup_(nvv_pool_freep) struct nvv_pool *c = NULL;
        int r;

        assert_return(p && ret, -EINVAL);
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->next_class = p->next_class;
        for (size_t i = 0; i < p->n; i++) {
                const struct nvv_pool_gpu *o = &p->gpus[i];
                struct nvv_pool_gpu *g = &c->gpus[i];

                *g = *o;
                g->name = NULL;
                g->part = NULL;
                g->types = NULL;
                c->n = i + 1;
                g->name = strdup(o->name);
                g->types = malloc(MAX(o->n_types, (size_t) 1) * sizeof(g->types[0]));
                if (!g->name || !g->types)
                        return -ENOMEM;
                memcpy(g->types, o->types, o->n_types * sizeof(g->types[0]));
                r = nvv_partition_clone(o->part, &g->part);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

int nvv_pool_gpu_types(const struct nvv_pool_gpu_config *cfg, const struct nvv_catalog_type ***ret_types,
                       struct nvv_vgpu_type **ret_filled, size_t *ret_n)
{
        _cleanup_free_ const struct nvv_catalog_type **types = NULL;
        _cleanup_free_ struct nvv_vgpu_type *filled = NULL;
        size_t n = 0;

        assert_return(cfg && cfg->model && cfg->fw && ret_filled && ret_n, -EINVAL);
        types = calloc(MAX(cfg->model->n_types, (size_t) 1), sizeof(*types));
        filled = calloc(MAX(cfg->model->n_types, (size_t) 1), sizeof(*filled));
        if (!types || !filled)
                return -ENOMEM;
        for (size_t i = 0; i < cfg->model->n_types; i++) {
                const struct nvv_catalog_type *t = &cfg->model->types[i];

                if (cfg->offers && !cfg->offers(t, cfg->offers_userdata))
                        continue;
                if (nvv_catalog_fill_vgpu_type(t, cfg->fw, cfg->ecc, &filled[n]) < 0)
                        continue; /* not runnable under this release / ECC state */
                types[n++] = t;
        }
        if (ret_types)
                *ret_types = TAKE_PTR(types);
        *ret_filled = TAKE_PTR(filled);
        *ret_n = n;
        return 0;
}

/* Take over part and types as GPU p->n; on failure they are freed. Same model, release,
 * NUMA node, ECC, offered types and partition configuration (geometry, mode, type table):
 * the same class. */
static int pool_append(struct nvv_pool *p, const struct nvv_pool_gpu_config *cfg, struct nvv_partition *part,
                       const struct nvv_catalog_type **types, size_t n_types)
{
        struct nvv_pool_gpu *g = &p->gpus[p->n];

        *g = (struct nvv_pool_gpu) {
                .name = strdup(cfg->name),
                .model = cfg->model,
                .fw = cfg->fw,
                .numa_node = cfg->numa_node,
                .ecc = cfg->ecc,
                .part = part,
                .n_types = n_types,
                .types = types,
        };
        if (!g->name) {
                nvv_partition_free(g->part);
                free(g->types);
                return -ENOMEM;
        }
        g->klass = p->next_class;
        for (size_t i = 0; i < p->n; i++) {
                const struct nvv_pool_gpu *o = &p->gpus[i];

                if (o->model == g->model && o->fw == g->fw && o->numa_node == g->numa_node && o->ecc == g->ecc &&
                    o->n_types == g->n_types && memcmp(o->types, g->types, g->n_types * sizeof(g->types[0])) == 0 &&
                    nvv_partition_same_config(o->part, g->part)) {
                        g->klass = o->klass;
                        break;
                }
        }
        if (g->klass == p->next_class)
                p->next_class++;
        p->n++;
        return 0;
}

int nvv_pool_add_gpu(struct nvv_pool *p, const struct nvv_pool_gpu_config *cfg, char **reterr_msg)
{
        _cleanup_(nvv_partition_freep) struct nvv_partition *part = NULL;
        _cleanup_free_ const struct nvv_catalog_type **types = NULL;
        _cleanup_free_ struct nvv_vgpu_type *filled = NULL;
        struct nvv_partition_geometry geo;
        enum nvv_fw_status st;
        size_t n = 0;
        int r;

        assert_return(p && cfg && cfg->model && cfg->name && cfg->fw, -EINVAL);
        if (p->n >= NVV_POOL_MAX_GPUS)
                return nvv_fail(reterr_msg, "more than %d GPUs", NVV_POOL_MAX_GPUS);
        r = nvv_partition_geometry_from_catalog(cfg->model, cfg->fw, cfg->ecc, &geo);
        if (r < 0)
                return nvv_fail(reterr_msg, "%s (%s): no usable framebuffer under firmware %s", cfg->name,
                                 cfg->model->short_name, cfg->fw->release);
        r = nvv_partition_new(&geo, &part);
        if (r < 0)
                return r;
        r = nvv_pool_gpu_types(cfg, &types, &filled, &n);
        if (r < 0)
                return r;
        /* A GPU may offer nothing (a policy can say so); it then takes no vGPU. */
        r = nvv_partition_add_types(part, filled, n, true, &st);
        if (r < 0)
                return nvv_fail(reterr_msg, "%s (%s): the firmware would refuse its type table (%s)", cfg->name,
                                 cfg->model->short_name, nvv_fw_status_to_string(st));
        r = nvv_partition_set_mode(part, cfg->mode, &st);
        if (r < 0)
                return nvv_fail(reterr_msg, "%s (%s): %s mode is not available%s", cfg->name, cfg->model->short_name,
                                 nvv_partition_mode_to_string(cfg->mode),
                                 !cfg->model->mixed_size ? " on this GPU model"
                                                         : " under this firmware release");
        return pool_append(p, cfg, TAKE_PTR(part), TAKE_PTR(types), n);
}

int nvv_pool_add_partition(struct nvv_pool *p, const struct nvv_pool_gpu_config *cfg, const struct nvv_partition *live,
                           char **reterr_msg)
{
        _cleanup_(nvv_partition_freep) struct nvv_partition *part = NULL;
        _cleanup_free_ const struct nvv_catalog_type **types = NULL;
        _cleanup_free_ struct nvv_vgpu_type *filled = NULL;
        _cleanup_free_ char *why = NULL;
        size_t n = 0, k = 0;
        int r;

        assert_return(p && cfg && cfg->model && cfg->name && cfg->fw && live, -EINVAL);
        if (p->n >= NVV_POOL_MAX_GPUS)
                return nvv_fail(reterr_msg, "more than %d GPUs", NVV_POOL_MAX_GPUS);
        if (nvv_partition_check_invariants(live, &why) < 0)
                return nvv_fail(reterr_msg, "%s (%s): its partition state does not hold together (%s); plan against "
                                "it once the GPU is reconciled", cfg->name, cfg->model->short_name, why ? why : "?");
        r = nvv_pool_gpu_types(cfg, &types, &filled, &n);
        if (r < 0)
                return r;
        /* Offered: what the policy offers of what the GPU has uploaded. */
        for (size_t i = 0; i < n; i++)
                if (nvv_partition_find_type(live, types[i]->type_id))
                        types[k++] = types[i];
        r = nvv_partition_clone(live, &part);
        if (r < 0)
                return r;
        return pool_append(p, cfg, TAKE_PTR(part), TAKE_PTR(types), k);
}

size_t nvv_pool_count(const struct nvv_pool *p)
{
        return p ? p->n : 0;
}

const struct nvv_pool_gpu *nvv_pool_get(const struct nvv_pool *p, size_t i)
{
        return p && i < p->n ? &p->gpus[i] : NULL;
}

struct nvv_partition *nvv_pool_get_partition(struct nvv_pool *p, size_t i)
{
        return p && i < p->n ? p->gpus[i].part : NULL;
}

static int series_rank(char s)
{
        switch (s) {
        case 'Q':
                return 0;
        case 'C':
                return 1;
        case 'B':
                return 2;
        default:
                return 3;
        }
}

const struct nvv_catalog_type *nvv_pool_resolve(const struct nvv_pool *p, size_t i,
                                                const struct nvv_pool_request *req)
{
        const struct nvv_pool_gpu *g;
        const struct nvv_catalog_type *best = NULL;

        if (!p || i >= p->n || !req)
                return NULL;
        g = &p->gpus[i];
        for (size_t k = 0; k < g->n_types; k++) {
                const struct nvv_catalog_type *t = g->types[k];

                if (req->type) {
                        if (strcasecmp(t->short_name, req->type) == 0 || strcasecmp(t->name, req->type) == 0)
                                return t;
                        continue;
                }
                if (t->profile_size < req->fb || (req->series && t->series != req->series))
                        continue;
                if (!best || t->profile_size < best->profile_size ||
                    (t->profile_size == best->profile_size && series_rank(t->series) < series_rank(best->series)))
                        best = t;
        }
        return best;
}

struct cand {
        size_t gpu;
        const struct nvv_catalog_type *type;
        int numa_miss;
        int key1;
        uint64_t key2;
};

static int cmp_cand(const void *a, const void *b)
{
        const struct cand *x = a, *y = b;

        if (x->numa_miss != y->numa_miss)
                return x->numa_miss - y->numa_miss;
        if (x->key1 != y->key1)
                return x->key1 < y->key1 ? -1 : 1;
        if (x->key2 != y->key2)
                return x->key2 < y->key2 ? -1 : 1;
        return x->gpu < y->gpu ? -1 : x->gpu > y->gpu;
}

size_t nvv_pool_rank(const struct nvv_pool *p, const struct nvv_pool_request *req,
                     const struct nvv_place_prefs *prefs, size_t *ret_gpus,
                     const struct nvv_catalog_type **ret_types, size_t max)
{
        struct cand c[NVV_POOL_MAX_GPUS];
        size_t n = 0;

        if (!p || !req || !prefs)
                return 0;
        for (size_t i = 0; i < p->n; i++) {
                const struct nvv_pool_gpu *g = &p->gpus[i];
                const struct nvv_catalog_type *t;
                struct nvv_partition_vgpu v;
                uint32_t units, used, size;
                int numa_miss = 0;

                if (req->numa_node >= 0 && prefs->numa != NVV_NUMA_IGNORE && g->numa_node != req->numa_node) {
                        if (prefs->numa == NVV_NUMA_REQUIRE)
                                continue;
                        numa_miss = 1;
                }
                t = nvv_pool_resolve(p, i, req);
                if (!t || nvv_partition_try_create(g->part, t->type_id, "\001rank", &v, NULL) < 0)
                        continue;
                units = nvv_partition_get_geometry(g->part)->placement_units;
                used = nvv_partition_used_units(g->part);
                size = v.placement_id != NVV_PLACEMENT_NONE ? v.placement_size : 0;
                c[n] = (struct cand) { .gpu = i, .type = t, .numa_miss = numa_miss };
                if (prefs->strategy == NVV_PLACE_PACK) {
                        /* Used GPUs first, then the tightest fit (least left over). */
                        c[n].key1 = nvv_partition_count(g->part) == 0;
                        c[n].key2 = size ? (uint64_t) (units - used - size)
                                         : (nvv_partition_get_geometry(g->part)->fb_total -
                                            nvv_partition_used_fb(g->part));
                } else {
                        /* The fewest vGPUs, then the most room. */
                        c[n].key1 = (int) nvv_partition_count(g->part);
                        c[n].key2 = size ? (uint64_t) used * 1024 / units
                                         : nvv_partition_used_fb(g->part) * 1024 /
                                                   nvv_partition_get_geometry(g->part)->fb_total;
                }
                n++;
        }
        qsort(c, n, sizeof(c[0]), cmp_cand);
        n = MIN(n, max);
        for (size_t i = 0; i < n; i++) {
                if (ret_gpus)
                        ret_gpus[i] = c[i].gpu;
                if (ret_types)
                        ret_types[i] = c[i].type;
        }
        return n;
}

int nvv_pool_choose(const struct nvv_pool *p, const struct nvv_pool_request *req,
                    const struct nvv_place_prefs *prefs, size_t *ret_gpu,
                    const struct nvv_catalog_type **ret_type)
{
        size_t gpu;
        const struct nvv_catalog_type *t;

        assert_return(p && req && prefs, -EINVAL);
        if (nvv_pool_rank(p, req, prefs, &gpu, &t, 1) == 0)
                return -ENOSPC;
        if (ret_gpu)
                *ret_gpu = gpu;
        if (ret_type)
                *ret_type = t;
        return 0;
}

char *nvv_pool_explain(const struct nvv_pool *p, size_t i, const struct nvv_pool_request *req)
{
        const struct nvv_pool_gpu *g;
        const struct nvv_catalog_type *t;
        enum nvv_partition_check check = NVV_CHECK_OK;
        char *s = NULL;
        int k = 0;

        if (!p || i >= p->n || !req)
                return NULL;
        g = &p->gpus[i];
        t = nvv_pool_resolve(p, i, req);
        if (!t) {
                if (req->type) {
                        const struct nvv_catalog_type *any = nvv_catalog_gpu_find_type(g->model, req->type);

                        k = any ? asprintf(&s, "the policy does not offer %s there", any->short_name)
                                : asprintf(&s, "the %s has no type %s", g->model->short_name, req->type);
                } else
                        k = asprintf(&s, "no offered %s%stype of %" PRIu64 " GiB or more", req->series ? (char[]){ req->series, 0 } : "",
                                     req->series ? "-series " : "", req->fb >> 30);
                return k < 0 ? NULL : s;
        }
        if (nvv_partition_try_create(g->part, t->type_id, "\001explain", NULL, &check) >= 0)
                return NULL;
        switch (check) {
        case NVV_CHECK_SLOTS:
                k = asprintf(&s, "all %" PRIu32 " vGPU slots in use", nvv_partition_max_vgpus(g->part));
                break;
        case NVV_CHECK_MAX_INSTANCE: {
                const struct nvv_vgpu_type *vt = nvv_partition_find_type(g->part, t->type_id);

                k = asprintf(&s, "holds %" PRIu32 " %s already, its maximum", vt ? vt->max_instance : 0, t->short_name);
                break;
        }
        case NVV_CHECK_MODE: {
                const struct nvv_partition_vgpu *v0 = nvv_partition_get(g->part, 0);
                const struct nvv_vgpu_type *vt = v0 ? nvv_partition_find_type(g->part, v0->type_id) : NULL;
                const char *nm = vt ? vt->name : "?";
                const char *sp = strrchr(nm, ' ');

                k = asprintf(&s, "equal-size mode and it holds %s", sp ? sp + 1 : nm);
                break;
        }
        case NVV_CHECK_PLACEMENT:
                if (t->placement_size && nvv_partition_find_type(g->part, t->type_id)->placement_size)
                        k = asprintf(&s, "no free placement for %s (%" PRIu32 " of %" PRIu32 " units free, needs %" PRIu32 " aligned)",
                                     t->short_name,
                                     nvv_partition_get_geometry(g->part)->placement_units - nvv_partition_used_units(g->part),
                                     nvv_partition_get_geometry(g->part)->placement_units, t->placement_size);
                else
                        k = asprintf(&s, "not enough contiguous framebuffer for %s", t->short_name);
                break;
        case NVV_CHECK_CHANNELS:
                k = asprintf(&s, "no free channel block for %s", t->short_name);
                break;
        default:
                k = asprintf(&s, "%s", nvv_partition_check_to_string(check));
                break;
        }
        return k < 0 ? NULL : s;
}
