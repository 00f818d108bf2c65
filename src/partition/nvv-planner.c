/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "nvv-planner.h"
#include "util.h"

#define GIB (UINT64_C(1) << 30)
#define MIB (UINT64_C(1) << 20)

/* ---- result ---- */

struct nvv_plan_result *nvv_plan_result_free(struct nvv_plan_result *r)
{
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_unplaced; i++)
                free(r->unplaced[i].reason);
        free(r->unplaced);
        free(r->placed);
        free(r);
        return NULL;
}

void nvv_plan_requests_free(struct nvv_plan_request *reqs, size_t n)
{
        for (size_t i = 0; reqs && i < n; i++) {
                free(reqs[i].what);
                free(reqs[i].type);
                free(reqs[i].vm);
                free(reqs[i].tenant);
        }
        free(reqs);
}

/* ---- planning ---- */

struct job {
        const struct nvv_plan_request *req;
        struct nvv_pool_request preq;
        uint64_t size;          /* for ordering: the largest profile it may take */
        uint64_t min_bytes;     /* the least FB it can hold on any GPU; UINT64_MAX: none takes it */
        char *quota_reason;     /* refused before planning */
};

struct search {
        struct nvv_pool *pool;
        struct job **order;     /* active jobs, largest first */
        size_t n;
        const struct nvv_place_prefs *prefs;
        int *assign, *best;     /* GPU per position, -1 unplaced */
        size_t placed, best_placed;
        uint64_t steps, max_steps;
        bool aborted, done;
};

static void job_name(const struct job *j, char buf[static 24])
{
        snprintf(buf, 24, "r%u", j->req->index);
}

static bool same_job(const struct job *a, const struct job *b)
{
        return streq_ptr(a->req->type, b->req->type) && a->req->fb == b->req->fb &&
               a->req->series == b->req->series && a->req->numa_node == b->req->numa_node;
}

static void dfs(struct search *s, size_t k)
{
        size_t gpus[NVV_POOL_MAX_GPUS], tried[NVV_POOL_MAX_GPUS], n_tried = 0;
        const struct nvv_catalog_type *types[NVV_POOL_MAX_GPUS];
        struct job *j;
        char name[24];
        size_t n;
        bool only_skip;

        if (s->done || s->aborted)
                return;
        if (++s->steps > s->max_steps) {
                s->aborted = true;
                return;
        }
        /* Bound: even placing every remaining request would not beat the best known. */
        if (s->placed + (s->n - k) <= s->best_placed)
                return;
        /* Tighter: the FB still free fits at most the remaining requests smallest-first (the
         * order is by min_bytes, largest first, so the smallest are at the end). */
        if (k < s->n) {
                uint64_t free_fb = 0;
                size_t fit = 0;

                for (size_t g = 0; g < nvv_pool_count(s->pool); g++) {
                        const struct nvv_partition *part = nvv_pool_get(s->pool, g)->part;
                        const struct nvv_partition_geometry *geo = nvv_partition_get_geometry(part);

                        free_fb += geo->fb_total - geo->fb_reserved - nvv_partition_used_fb(part);
                }
                for (size_t i = s->n; i > k; i--) {
                        uint64_t b = s->order[i - 1]->min_bytes;

                        if (b == UINT64_MAX || b > free_fb)
                                break;
                        free_fb -= b;
                        fit++;
                }
                if (s->placed + fit <= s->best_placed)
                        return;
        }
        if (k == s->n) {
                if (s->placed > s->best_placed) {
                        s->best_placed = s->placed;
                        memcpy(s->best, s->assign, s->n * sizeof(int));
                        if (s->placed == s->n)
                                s->done = true;
                }
                return;
        }
        j = s->order[k];
        job_name(j, name);
        /* Of identical requests the skipped ones come last: no need to try the others. */
        only_skip = k > 0 && same_job(s->order[k - 1], j) && s->assign[k - 1] < 0;
        n = only_skip ? 0 : nvv_pool_rank(s->pool, &j->preq, s->prefs, gpus, types, NVV_POOL_MAX_GPUS);
        for (size_t c = 0; c < n && !s->done && !s->aborted; c++) {
                const struct nvv_pool_gpu *g = nvv_pool_get(s->pool, gpus[c]);
                struct nvv_partition *part = nvv_pool_get_partition(s->pool, gpus[c]);
                bool dup = false;

                /* A GPU in the same state as one tried already leads to the same subtree. */
                for (size_t t = 0; t < n_tried && !dup; t++) {
                        const struct nvv_pool_gpu *o = nvv_pool_get(s->pool, tried[t]);

                        dup = o->klass == g->klass && nvv_partition_same_state(o->part, g->part);
                }
                if (dup)
                        continue;
                tried[n_tried++] = gpus[c];
                if (nvv_partition_create(part, types[c]->type_id, name, NULL, NULL) < 0)
                        continue;
                s->assign[k] = (int) gpus[c];
                s->placed++;
                dfs(s, k + 1);
                s->placed--;
                s->assign[k] = -1;
                (void) nvv_partition_remove(part, name);
        }
        if (s->done || s->aborted)
                return;
        s->assign[k] = -1;
        dfs(s, k + 1);
}

static int cmp_job_size(const void *a, const void *b)
{
        const struct job *x = *(struct job *const *) a, *y = *(struct job *const *) b;

        if (x->min_bytes != y->min_bytes)
                return x->min_bytes > y->min_bytes ? -1 : 1;

        if (x->size != y->size)
                return x->size > y->size ? -1 : 1;
        return x->req->index < y->req->index ? -1 : x->req->index > y->req->index;
}

/* The least FB a request can take: its type's slot (placement units x unit size) or, for
 * first-fit types, its FB plus reservation, whichever GPU is smallest. */
static uint64_t job_min_bytes(const struct nvv_pool *pool, const struct nvv_pool_request *preq)
{
        uint64_t best = UINT64_MAX;

        for (size_t i = 0; i < nvv_pool_count(pool); i++) {
                const struct nvv_catalog_type *t = nvv_pool_resolve(pool, i, preq);
                const struct nvv_partition *part = nvv_pool_get(pool, i)->part;
                const struct nvv_vgpu_type *vt;
                uint64_t b, seg;

                if (!t || !(vt = nvv_partition_find_type(part, t->type_id)))
                        continue;
                seg = nvv_partition_get_geometry(part)->vmmu_segment;
                if (vt->placement_size && (vt->homogeneous_placement_count || vt->heterogeneous_placement_count))
                        b = (uint64_t) vt->placement_size * nvv_partition_unit_size(part);
                else
                        b = ALIGN_UP(vt->fb_length + vt->fb_reservation, seg);
                best = MIN(best, b);
        }
        return best;
}

static uint64_t job_size(const struct nvv_pool *pool, const struct nvv_pool_request *preq)
{
        uint64_t best = 0;

        for (size_t i = 0; i < nvv_pool_count(pool); i++) {
                const struct nvv_catalog_type *t = nvv_pool_resolve(pool, i, preq);

                if (t && t->profile_size > best)
                        best = t->profile_size;
        }
        return best ? best : preq->fb;
}

/* The FB a request counts against quotas: its type's size, or the size asked for. */
static uint64_t quota_size(const struct nvv_pool *pool, const struct nvv_plan_request *r)
{
        if (r->type)
                for (size_t i = 0; i < nvv_pool_count(pool); i++) {
                        const struct nvv_catalog_type *t = nvv_catalog_gpu_find_type(nvv_pool_get(pool, i)->model, r->type);

                        if (t)
                                return t->profile_size;
                }
        return r->fb;
}

struct usage {
        const char *key;
        uint32_t n;
        uint64_t fb;
};

static struct usage *usage_get(struct usage *u, size_t *n, const char *key)
{
        for (size_t i = 0; i < *n; i++)
                if (streq(u[i].key, key))
                        return &u[i];
        u[*n] = (struct usage) { .key = key };
        return &u[(*n)++];
}

static char *check_quotas(const struct nvv_pool *pool, const struct nvv_plan_options *o, const struct nvv_plan_request *r,
                          struct usage *vms, size_t *n_vms, struct usage *tenants, size_t *n_tenants)
{
        uint64_t fb = quota_size(pool, r);
        char *s = NULL;
        int k = 0;

        if (r->vm) {
                struct usage *u = usage_get(vms, n_vms, r->vm);

                if (o->per_vm.max_vgpus && u->n + 1 > o->per_vm.max_vgpus)
                        k = asprintf(&s, "quota: VM '%s' may have at most %" PRIu32 " vGPU%s", r->vm, o->per_vm.max_vgpus,
                                     o->per_vm.max_vgpus == 1 ? "" : "s");
                else if (o->per_vm.max_fb && u->fb + fb > o->per_vm.max_fb)
                        k = asprintf(&s, "quota: VM '%s' may have at most %" PRIu64 " GiB of vGPU framebuffer",
                                     r->vm, o->per_vm.max_fb / GIB);
                if (s || k < 0)
                        return k < 0 ? strdup("quota exceeded") : s;
                u->n++;
                u->fb += fb;
        } else if (o->per_vm.max_fb && fb > o->per_vm.max_fb) {
                k = asprintf(&s, "quota: a VM may have at most %" PRIu64 " GiB of vGPU framebuffer", o->per_vm.max_fb / GIB);
                return k < 0 ? strdup("quota exceeded") : s;
        }
        if (r->tenant)
                for (size_t t = 0; t < o->n_tenants; t++) {
                        const struct nvv_plan_quota *q = &o->tenants[t].quota;
                        struct usage *u;

                        if (!streq(o->tenants[t].tenant, r->tenant))
                                continue;
                        u = usage_get(tenants, n_tenants, r->tenant);
                        if (q->max_vgpus && u->n + 1 > q->max_vgpus)
                                k = asprintf(&s, "quota: tenant '%s' may have at most %" PRIu32 " vGPU%s", r->tenant,
                                             q->max_vgpus, q->max_vgpus == 1 ? "" : "s");
                        else if (q->max_fb && u->fb + fb > q->max_fb)
                                k = asprintf(&s, "quota: tenant '%s' may have at most %" PRIu64 " GiB of vGPU framebuffer",
                                             r->tenant, q->max_fb / GIB);
                        if (s || k < 0) {
                                /* Give the VM's share back. */
                                if (r->vm) {
                                        struct usage *v = usage_get(vms, n_vms, r->vm);

                                        v->n--;
                                        v->fb -= fb;
                                }
                                return k < 0 ? strdup("quota exceeded") : s;
                        }
                        u->n++;
                        u->fb += fb;
                }
        return NULL;
}

/* "gpu0, gpu1: why; gpu2: why" for a request that did not fit. */
static char *explain(const struct nvv_pool *pool, const struct job *j, const struct nvv_place_prefs *prefs,
                     bool aborted, uint64_t steps)
{
        char *why[NVV_POOL_MAX_GPUS] = {};
        bool used[NVV_POOL_MAX_GPUS] = {};
        size_t n = nvv_pool_count(pool), len = 0, cap = 256;
        char *out = malloc(cap);
        bool any_node = false;

        if (!out)
                return NULL;
        out[0] = '\0';
#define APPEND(...)                                                                     \
        do {                                                                            \
                int _k = snprintf(NULL, 0, __VA_ARGS__);                                \
                if (_k < 0)                                                             \
                        break;                                                          \
                if (len + (size_t) _k + 1 > cap) {                                      \
                        char *_n;                                                       \
                        cap = (len + (size_t) _k + 1) * 2;                              \
                        _n = realloc(out, cap);                                         \
                        if (!_n)                                                        \
                                break;                                                  \
                        out = _n;                                                       \
                }                                                                       \
                len += (size_t) snprintf(out + len, cap - len, __VA_ARGS__);            \
        } while (0)

        for (size_t i = 0; i < n; i++) {
                const struct nvv_pool_gpu *g = nvv_pool_get(pool, i);

                if (j->preq.numa_node >= 0 && prefs->numa == NVV_NUMA_REQUIRE && g->numa_node != j->preq.numa_node) {
                        if (asprintf(&why[i], "on NUMA node %d, not %d", g->numa_node, j->preq.numa_node) < 0)
                                why[i] = NULL;
                        continue;
                }
                any_node = true;
                why[i] = nvv_pool_explain(pool, i, &j->preq);
                if (!why[i])
                        why[i] = strdup("would fit now, but not within the search's assignment");
        }
        if (n == 0)
                APPEND("the host has no GPU");
        else if (!any_node)
                APPEND("no GPU on NUMA node %d, and the policy requires the VM's node", j->preq.numa_node);
        else
                for (size_t i = 0; i < n; i++) {
                        bool first = true;

                        if (used[i] || !why[i])
                                continue;
                        if (len)
                                APPEND("; ");
                        for (size_t k = i; k < n; k++)
                                if (!used[k] && why[k] && streq(why[k], why[i])) {
                                        APPEND("%s%s", first ? "" : ", ", nvv_pool_get(pool, k)->name);
                                        used[k] = true;
                                        first = false;
                                }
                        APPEND(": %s", why[i]);
                }
        if (aborted)
                APPEND(" (the search stopped after %" PRIu64 " steps; a fit may exist)", steps);
#undef APPEND
        for (size_t i = 0; i < n; i++)
                free(why[i]);
        return out;
}

static int cmp_placement(const void *a, const void *b)
{
        const struct nvv_plan_placement *x = a, *y = b;

        return x->request < y->request ? -1 : x->request > y->request;
}

static int cmp_unplaced(const void *a, const void *b)
{
        const struct nvv_plan_unplaced *x = a, *y = b;

        return x->request < y->request ? -1 : x->request > y->request;
}

/* Apply an assignment (GPU per job, in the given order) to a fresh copy of the pool. */
static int replay(const struct nvv_pool *pool, struct job **order, const int *assign, size_t n,
                  struct nvv_pool **ret_pool, struct nvv_plan_result *res)
{
        _cleanup_(nvv_pool_freep) struct nvv_pool *w = NULL;
        int r;

        r = nvv_pool_clone(pool, &w);
        if (r < 0)
                return r;
        for (size_t k = 0; k < n; k++) {
                struct nvv_plan_placement *pl;
                const struct nvv_catalog_type *t;
                char name[24];

                if (assign[k] < 0)
                        continue;
                t = nvv_pool_resolve(w, (size_t) assign[k], &order[k]->preq);
                job_name(order[k], name);
                pl = &res->placed[res->n_placed];
                if (!t || nvv_partition_create(nvv_pool_get_partition(w, (size_t) assign[k]), t->type_id, name,
                                               &pl->vgpu, NULL) < 0)
                        return -EUCLEAN; /* the model is deterministic: cannot happen */
                pl->request = order[k]->req->index;
                pl->gpu = (size_t) assign[k];
                pl->type = t;
                pl->order = (unsigned) res->n_placed + 1;
                res->n_placed++;
        }
        *ret_pool = TAKE_PTR(w);
        return 0;
}

int nvv_planner_run(const struct nvv_pool *pool, const struct nvv_plan_request *reqs, size_t n,
                    const struct nvv_plan_options *opts, struct nvv_plan_result **ret)
{
        _cleanup_(nvv_plan_result_freep) struct nvv_plan_result *res = NULL;
        _cleanup_(nvv_pool_freep) struct nvv_pool *greedy = NULL, *final = NULL, *work = NULL;
        _cleanup_free_ struct job *jobs = NULL;
        _cleanup_free_ struct job **order = NULL;
        _cleanup_free_ int *assign = NULL, *gassign = NULL, *best = NULL;
        _cleanup_free_ struct usage *vms = NULL, *tenants = NULL;
        struct search s = {};
        size_t n_active = 0, n_vms = 0, n_tenants = 0, greedy_placed = 0;
        bool aborted = false;
        int r;

        assert_return(pool && (reqs || n == 0) && opts && ret, -EINVAL);
        assert_return(n <= NVV_PLAN_MAX_REQUESTS, -E2BIG);
        res = calloc(1, sizeof(*res));
        jobs = calloc(MAX(n, (size_t) 1), sizeof(*jobs));
        order = calloc(MAX(n, (size_t) 1), sizeof(*order));
        assign = calloc(MAX(n, (size_t) 1), sizeof(int));
        gassign = calloc(MAX(n, (size_t) 1), sizeof(int));
        best = calloc(MAX(n, (size_t) 1), sizeof(int));
        vms = calloc(MAX(n, (size_t) 1), sizeof(*vms));
        tenants = calloc(MAX(n, (size_t) 1), sizeof(*tenants));
        if (!res || !jobs || !order || !assign || !gassign || !best || !vms || !tenants)
                return -ENOMEM;
        res->placed = calloc(MAX(n, (size_t) 1), sizeof(*res->placed));
        res->unplaced = calloc(MAX(n, (size_t) 1), sizeof(*res->unplaced));
        if (!res->placed || !res->unplaced)
                return -ENOMEM;

        /* Quotas first, in request order; the rest is planned. */
        for (size_t i = 0; i < n; i++) {
                struct job *j = &jobs[i];

                j->req = &reqs[i];
                j->preq = (struct nvv_pool_request) {
                        .type = reqs[i].type, .fb = reqs[i].fb, .series = reqs[i].series,
                        .numa_node = reqs[i].numa_node,
                };
                j->size = job_size(pool, &j->preq);
                j->min_bytes = job_min_bytes(pool, &j->preq);
                j->quota_reason = check_quotas(pool, opts, &reqs[i], vms, &n_vms, tenants, &n_tenants);
                if (!j->quota_reason)
                        order[n_active++] = j;
        }

        /* Pass 1: in order, by the preferences. */
        r = nvv_pool_clone(pool, &greedy);
        if (r < 0)
                goto out;
        for (size_t k = 0; k < n_active; k++) {
                const struct nvv_catalog_type *t;
                size_t gpu;
                char name[24];

                gassign[k] = -1;
                job_name(order[k], name);
                if (nvv_pool_choose(greedy, &order[k]->preq, &opts->prefs, &gpu, &t) < 0)
                        continue;
                if (nvv_partition_create(nvv_pool_get_partition(greedy, gpu), t->type_id, name, NULL, NULL) < 0)
                        continue;
                gassign[k] = (int) gpu;
                greedy_placed++;
        }

        if (greedy_placed == n_active) {
                r = replay(pool, order, gassign, n_active, &final, res);
                res->complete = true;
        } else {
                /* Pass 2: search, largest first. */
                struct job **sorted = calloc(MAX(n_active, (size_t) 1), sizeof(*sorted));

                if (!sorted) {
                        r = -ENOMEM;
                        goto out;
                }
                memcpy(sorted, order, n_active * sizeof(*sorted));
                qsort(sorted, n_active, sizeof(*sorted), cmp_job_size);
                r = nvv_pool_clone(pool, &work);
                if (r < 0) {
                        free(sorted);
                        goto out;
                }
                for (size_t k = 0; k < n_active; k++)
                        assign[k] = best[k] = -1;
                s = (struct search) {
                        .pool = work, .order = sorted, .n = n_active, .prefs = &opts->prefs, .assign = assign,
                        .best = best, .max_steps = opts->max_steps ? opts->max_steps : NVV_PLAN_DEFAULT_MAX_STEPS,
                        .best_placed = greedy_placed, /* only a better assignment is worth recording */
                };
                dfs(&s, 0);
                res->searched = true;
                res->steps = s.steps;
                res->complete = !s.aborted;
                aborted = s.aborted;
                if (s.best_placed > greedy_placed)
                        r = replay(pool, sorted, best, n_active, &final, res);
                else
                        r = replay(pool, order, gassign, n_active, &final, res);
                free(sorted);
        }
        if (r < 0)
                goto out;

        /* Anything that still fits after the plan goes at the end. */
        for (size_t k = 0; k < n_active; k++) {
                bool placed = false;
                const struct nvv_catalog_type *t;
                struct nvv_plan_placement *pl;
                size_t gpu;
                char name[24];

                for (size_t i = 0; i < res->n_placed && !placed; i++)
                        placed = res->placed[i].request == order[k]->req->index;
                if (placed || nvv_pool_choose(final, &order[k]->preq, &opts->prefs, &gpu, &t) < 0)
                        continue;
                job_name(order[k], name);
                pl = &res->placed[res->n_placed];
                if (nvv_partition_create(nvv_pool_get_partition(final, gpu), t->type_id, name, &pl->vgpu, NULL) < 0)
                        continue;
                pl->request = order[k]->req->index;
                pl->gpu = gpu;
                pl->type = t;
                pl->order = (unsigned) res->n_placed + 1;
                res->n_placed++;
        }

        /* Why the others did not fit, against the final state. */
        for (size_t i = 0; i < n; i++) {
                bool placed = false;
                char *why;

                for (size_t k = 0; k < res->n_placed && !placed; k++)
                        placed = res->placed[k].request == jobs[i].req->index;
                if (placed)
                        continue;
                why = jobs[i].quota_reason ? TAKE_PTR(jobs[i].quota_reason)
                                           : explain(final, &jobs[i], &opts->prefs, aborted, res->steps);
                if (!why) {
                        r = -ENOMEM;
                        goto out;
                }
                res->unplaced[res->n_unplaced++] = (struct nvv_plan_unplaced) { jobs[i].req->index, why };
        }
        qsort(res->placed, res->n_placed, sizeof(res->placed[0]), cmp_placement);
        qsort(res->unplaced, res->n_unplaced, sizeof(res->unplaced[0]), cmp_unplaced);
        *ret = TAKE_PTR(res);
        r = 0;
out:
        for (size_t i = 0; jobs && i < n; i++)
                free(jobs[i].quota_reason);
        return r;
}

/* ---- parsing ---- */

static bool name_ok(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 64)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("_.-@", *s))
                        return false;
        return true;
}

/* "8G", "8GiB", "512M", "512MiB" → bytes. */
static int parse_size(const char *s, uint64_t *ret)
{
        uint64_t v = 0, unit;
        const char *p = s;

        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                v = v * 10 + (uint64_t) (*p - '0');
                if (v > 1u << 20)
                        return -ERANGE;
        }
        if (strcasecmp(p, "G") == 0 || strcasecmp(p, "GiB") == 0 || strcasecmp(p, "GB") == 0)
                unit = GIB;
        else if (strcasecmp(p, "M") == 0 || strcasecmp(p, "MiB") == 0 || strcasecmp(p, "MB") == 0)
                unit = MIB;
        else
                return -EINVAL;
        if (v == 0)
                return -EINVAL;
        *ret = v * unit;
        return 0;
}

static int parse_count(const char *s, unsigned max, unsigned *ret)
{
        uint32_t v;

        if (!s || !isdigit((unsigned char) *s) || safe_atou32(s, &v) < 0 || v == 0 || v > max || s[0] == '0')
                return -EINVAL;
        *ret = v;
        return 0;
}

static char *type_list(const struct nvv_catalog_gpu *g)
{
        size_t len = 0;
        char *out;

        for (size_t i = 0; i < g->n_types; i++)
                len += strlen(g->types[i].short_name) + 2;
        out = malloc(len + 1);
        if (!out)
                return NULL;
        out[0] = '\0';
        for (size_t i = 0, o = 0; i < g->n_types; i++)
                o += (size_t) sprintf(out + o, "%s%s", i ? ", " : "", g->types[i].short_name);
        return out;
}

static char *model_list(const struct nvv_catalog *c)
{
        size_t len = 1;
        char *out;

        for (size_t i = 0; i < nvv_catalog_count(c); i++)
                len += strlen(nvv_catalog_get(c, i)->short_name) + 2;
        out = malloc(len);
        if (!out)
                return NULL;
        out[0] = '\0';
        for (size_t i = 0, o = 0; i < nvv_catalog_count(c); i++)
                o += (size_t) sprintf(out + o, "%s%s", i ? ", " : "", nvv_catalog_get(c, i)->short_name);
        return out;
}

static int unknown_type(const struct nvv_catalog *catalog, const char *what, char **reterr_msg)
{
        _cleanup_free_ char *model = strdup(what), *list = NULL;
        const struct nvv_catalog_gpu *g = NULL;
        char *dash;

        if (!model)
                return -ENOMEM;
        dash = strrchr(model, '-');
        if (dash) {
                *dash = '\0';
                g = nvv_catalog_find_gpu(catalog, model);
        }
        if (g) {
                list = type_list(g);
                return nvv_fail(reterr_msg, "'%s': no such vGPU type; the %s offers %s", what, g->short_name,
                                 list ? list : "?");
        }
        list = model_list(catalog);
        return nvv_fail(reterr_msg, "'%s': no such vGPU type (and no GPU model '%s' in the catalog: %s)", what,
                         model, list ? list : "?");
}

int nvv_planner_parse_requests(const char *spec, const struct nvv_catalog *catalog,
                               struct nvv_plan_request **ret, size_t *ret_n, char **reterr_msg)
{
        _cleanup_strv_free_ char **items = NULL;
        struct nvv_plan_request *reqs = NULL;
        size_t n = 0;
        int r;

        assert_return(spec && catalog && ret && ret_n, -EINVAL);
        if (strlen(spec) > NVV_PLAN_MAX_SPEC)
                return nvv_fail(reterr_msg, "longer than %u characters", NVV_PLAN_MAX_SPEC);
        r = strv_split(spec, ',', &items);
        if (r == -EINVAL)
                return nvv_fail(reterr_msg, "empty request list or an empty item between commas");
        if (r < 0)
                return r;
        reqs = calloc(NVV_PLAN_MAX_REQUESTS, sizeof(*reqs));
        if (!reqs)
                return -ENOMEM;
        for (char **it = items; *it; it++) {
                _cleanup_strv_free_ char **parts = NULL;
                struct nvv_plan_request proto = { .numa_node = -1 };
                const char *star;
                _cleanup_free_ char *what = NULL;
                unsigned count = 1;

                r = strv_split(*it, ':', &parts);
                if (r < 0) {
                        r = r == -EINVAL ? nvv_fail(reterr_msg, "'%s': empty field between ':'", *it) : r;
                        goto fail;
                }
                star = strchr(parts[0], '*');
                what = star ? strndup(parts[0], (size_t) (star - parts[0])) : strdup(parts[0]);
                if (!what) {
                        r = -ENOMEM;
                        goto fail;
                }
                if (star && parse_count(star + 1, NVV_PLAN_MAX_REQUESTS, &count) < 0) {
                        r = nvv_fail(reterr_msg, "'%s': the count after '*' must be 1..%u", *it,
                                      NVV_PLAN_MAX_REQUESTS);
                        goto fail;
                }
                if (!*what) {
                        r = nvv_fail(reterr_msg, "'%s': no type or size", *it);
                        goto fail;
                }
                if (isdigit((unsigned char) what[0])) {
                        if (parse_size(what, &proto.fb) < 0) {
                                r = nvv_fail(reterr_msg, "'%s': not a size (like 8G or 512M) nor a type", what);
                                goto fail;
                        }
                } else {
                        const struct nvv_catalog_type *t = nvv_catalog_find_type(catalog, what);

                        if (!t) {
                                r = unknown_type(catalog, what, reterr_msg);
                                goto fail;
                        }
                        proto.type = (char *) t->short_name;
                }
                for (char **a = parts + 1; *a; a++) {
                        const char *eq = strchr(*a, '=');
                        _cleanup_free_ char *key = eq ? strndup(*a, (size_t) (eq - *a)) : strdup(*a);
                        const char *val = eq ? eq + 1 : NULL;

                        if (!key) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        if (!val || !*val) {
                                r = nvv_fail(reterr_msg, "'%s': '%s' needs a value (key=value)", *it, key);
                                goto fail;
                        }
                        if (streq(key, "vm") || streq(key, "tenant")) {
                                if (!name_ok(val)) {
                                        r = nvv_fail(reterr_msg, "'%s': %s '%s' must be 1-64 characters of "
                                                      "letters, digits, '_', '.', '-', '@'", *it, key, val);
                                        goto fail;
                                }
                                if (streq(key, "vm"))
                                        proto.vm = (char *) val;
                                else
                                        proto.tenant = (char *) val;
                        } else if (streq(key, "numa")) {
                                uint32_t v;

                                if (!isdigit((unsigned char) val[0]) || safe_atou32(val, &v) < 0 || v > 1023) {
                                        r = nvv_fail(reterr_msg, "'%s': numa must be a node number 0..1023", *it);
                                        goto fail;
                                }
                                proto.numa_node = (int) v;
                        } else if (streq(key, "series")) {
                                if (strlen(val) != 1 || !strchr("QBAC", toupper((unsigned char) val[0]))) {
                                        r = nvv_fail(reterr_msg, "'%s': series must be Q, B, A or C", *it);
                                        goto fail;
                                }
                                if (proto.type) {
                                        r = nvv_fail(reterr_msg, "'%s': series goes with a size, not a type", *it);
                                        goto fail;
                                }
                                proto.series = (char) toupper((unsigned char) val[0]);
                        } else {
                                r = nvv_fail(reterr_msg, "'%s': unknown attribute '%s' (vm, tenant, numa, series)",
                                              *it, key);
                                goto fail;
                        }
                }
                if (n + count > NVV_PLAN_MAX_REQUESTS) {
                        r = nvv_fail(reterr_msg, "more than %u vGPUs in one plan", NVV_PLAN_MAX_REQUESTS);
                        goto fail;
                }
                for (unsigned c = 0; c < count; c++) {
                        struct nvv_plan_request *q = &reqs[n];

                        *q = proto;
                        q->index = (unsigned) n + 1;
                        q->what = strdup(what);
                        q->type = proto.type ? strdup(proto.type) : NULL;
                        q->vm = proto.vm ? strdup(proto.vm) : NULL;
                        q->tenant = proto.tenant ? strdup(proto.tenant) : NULL;
                        n++;
                        if (!q->what || (proto.type && !q->type) || (proto.vm && !q->vm) || (proto.tenant && !q->tenant)) {
                                r = -ENOMEM;
                                goto fail;
                        }
                }
        }
        *ret = reqs;
        *ret_n = n;
        return 0;
fail:
        nvv_plan_requests_free(reqs, n);
        return r;
}

int nvv_planner_parse_host(const char *spec, const struct nvv_catalog *catalog,
                           struct nvv_plan_host_gpu **ret, size_t *ret_n, char **reterr_msg)
{
        _cleanup_strv_free_ char **items = NULL;
        _cleanup_free_ struct nvv_plan_host_gpu *gpus = NULL;
        size_t n = 0;
        int r;

        assert_return(spec && catalog && ret && ret_n, -EINVAL);
        if (strlen(spec) > NVV_PLAN_MAX_SPEC)
                return nvv_fail(reterr_msg, "longer than %u characters", NVV_PLAN_MAX_SPEC);
        r = strv_split(spec, ',', &items);
        if (r == -EINVAL)
                return nvv_fail(reterr_msg, "empty GPU list or an empty item between commas");
        if (r < 0)
                return r;
        gpus = calloc(NVV_POOL_MAX_GPUS, sizeof(*gpus));
        if (!gpus)
                return -ENOMEM;
        for (char **it = items; *it; it++) {
                _cleanup_strv_free_ char **parts = NULL;
                _cleanup_free_ char *model = NULL;
                struct nvv_plan_host_gpu proto = { .numa_node = -1, .mode = -1 };
                const char *star;
                unsigned count = 1;

                r = strv_split(*it, ':', &parts);
                if (r < 0)
                        return r == -EINVAL ? nvv_fail(reterr_msg, "'%s': empty field between ':'", *it) : r;
                star = strchr(parts[0], '*');
                model = star ? strndup(parts[0], (size_t) (star - parts[0])) : strdup(parts[0]);
                if (!model)
                        return -ENOMEM;
                if (star && parse_count(star + 1, NVV_POOL_MAX_GPUS, &count) < 0)
                        return nvv_fail(reterr_msg, "'%s': the count after '*' must be 1..%u", *it, NVV_POOL_MAX_GPUS);
                proto.model = nvv_catalog_find_gpu(catalog, model);
                if (!proto.model) {
                        _cleanup_free_ char *list = model_list(catalog);

                        return nvv_fail(reterr_msg, "'%s': no such GPU model; the catalog has %s", model,
                                         list ? list : "?");
                }
                for (char **a = parts + 1; *a; a++) {
                        const char *eq = strchr(*a, '=');

                        if (streq(*a, "ecc"))
                                proto.ecc = true;
                        else if (eq && strncmp(*a, "numa=", 5) == 0) {
                                uint32_t v;

                                if (!isdigit((unsigned char) eq[1]) || safe_atou32(eq + 1, &v) < 0 || v > 1023)
                                        return nvv_fail(reterr_msg, "'%s': numa must be a node number 0..1023", *it);
                                proto.numa_node = (int) v;
                        } else if (eq && strncmp(*a, "mode=", 5) == 0) {
                                proto.mode = nvv_partition_mode_from_string(eq + 1);
                                if (proto.mode < 0)
                                        return nvv_fail(reterr_msg, "'%s': mode must be equal-size or mixed-size", *it);
                        } else
                                return nvv_fail(reterr_msg, "'%s': unknown attribute '%s' (numa=N, ecc, mode=...)",
                                                 *it, *a);
                }
                if (n + count > NVV_POOL_MAX_GPUS)
                        return nvv_fail(reterr_msg, "more than %u GPUs", NVV_POOL_MAX_GPUS);
                for (unsigned c = 0; c < count; c++)
                        gpus[n++] = proto;
        }
        *ret = TAKE_PTR(gpus);
        *ret_n = n;
        return 0;
}
