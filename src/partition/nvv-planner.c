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
        unsigned klass;         /* jobs of one class are identical requests */
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

/*
 * The search (NVV_PLAN_SEARCH_DEFAULT). The same space as the first search, dfs() above: the
 * requests in the order of cmp_job_size (identical requests made adjacent), each on a GPU that
 * takes it or left out, created in that order. Where both finish this one places at least as
 * many (in test-planner's differential test now and then one more: the two orders differ
 * among requests of equal size); within a budget it gets further (bench-plan):
 *  - a run of identical requests is distributed, not permuted: each goes to the same GPU as
 *    the one before it or to one later in the run's GPU order, and the left-out ones are the
 *    last of the run;
 *  - the bound is the least of several, cheapest first (search2_bound()): the slot bound
 *    (free placements as intervals of units, priced per class), the geometry bound (the units
 *    each set of classes can still reach, per GPU), what fits by each GPU's free FB and VF
 *    slots and by how many of each request the GPU would still take (available()), and a
 *    priced form of the latter;
 *  - a GPU in the same state as one tried at the same step is not tried again (states are
 *    compared by an order-free hash of their vGPUs, then in full);
 *  - a pool state met before at the start of a run (the same GPUs in the same states, in any
 *    order) is not searched again unless it could now beat the best (memo of upper bounds).
 * Every step changes one GPU; what the bounds need of it is updated for that GPU alone and put
 * back from a copy when the step is undone. A run is left out first where that does not lower
 * the bound (good assignments leave out large requests; finding one early prunes more). The
 * search stops when the best found reaches the bound at the root, or at the budget with the
 * best found (NVV_PLAN_DEFAULT_MAX_STEPS says why its default is what it is).
 */

#define MEMO_SIZE (1u << 15)

struct memo_entry {
        uint64_t key1, key2;
        uint32_t k;             /* + 1; 0: empty */
        uint32_t ub;            /* the most that can still be placed from this state */
};

struct jclass {
        const struct job *rep;
        uint64_t bytes;         /* min_bytes of its requests */
        size_t first, end;      /* its run in the search order */
};

struct search2 {
        struct nvv_pool *pool;
        size_t n_gpus;
        struct job **order;
        size_t n;
        const struct nvv_place_prefs *prefs;
        struct jclass *cls;
        size_t n_cls;
        size_t *cls_of;         /* class per position */
        size_t *by_bytes;       /* class indices, smallest bytes first */
        /* per GPU */
        const struct nvv_catalog_type **rtype;  /* [g * n_cls + c]: the type it gives class c, NULL: none */
        unsigned *avail;        /* [g * n_cls + c]: how many more of class c it takes now */
        uint64_t *free_fb, *h1, *h2, *term1, *term2;
        uint32_t *free_slots;
        uint64_t pool1, pool2;  /* order-free sums of the GPUs' terms */
        /* per class: the GPUs that take it at the start of its run, in the preferred order */
        size_t *cand, *n_cand;
        unsigned *saved;        /* [k * n_cls + c]: avail of the GPU changed at step k */
        struct memo_entry *memo;
        double *lambda;         /* per class: the price of the bound below, fixed at the root */
        size_t *by_ratio;       /* classes by (1 - lambda) / bytes, best first */
        double *xsum;           /* scratch: per class, how many the GPUs' relaxations take */
        /* the geometry bound (geo_bound()), when there are at most GEO_MAX_CLS classes */
        bool geo;
        size_t words;           /* of a unit map */
        uint64_t *win;          /* [(g * n_cls + c) * words]: the units class c could take on g */
        bool *anyfb;            /* [g * n_cls + c]: class c is placed first-fit on g (any free FB) */
        uint64_t *cov;          /* [(g << n_cls) + T]: FB the classes in T can reach on g */
        uint64_t *reach;        /* [T]: the same summed over the GPUs */
        /* the slot bound (slot_bound()), where every class has placement ids on every GPU */
        bool slots;
        uint64_t *ends;         /* [(g * n_cls + c) * words]: bit e: a free placement of c ends at unit e + 1 */
        uint32_t *psize;        /* [g * n_cls + c]: its placement size, units */
        double *mu;             /* per class: the price of slot_bound(), fixed at the root */
        double *vg;             /* [g * n_cls + c0]: g's best packing from class c0 on, at those prices */
        uint64_t *vstamp;       /* [g * n_cls + c0]: vg is for g's state stamped so (computed when asked) */
        uint64_t *gstamp, stamps; /* per GPU: its state's stamp; the last one given */
        /* what the step at position k changed, to put back */
        uint64_t *savedw, *savede, *savedcov, *savedvs, *savedgs;
        double *savedvg;
        int *assign, *best;
        size_t placed, best_placed, root_bound;
        uint64_t steps, max_steps;
        bool aborted, done;
};

static uint64_t mix64(uint64_t x)
{
        /* splitmix64's finaliser */
        x ^= x >> 30;
        x *= UINT64_C(0xbf58476d1ce4e5b9);
        x ^= x >> 27;
        x *= UINT64_C(0x94d049bb133111eb);
        x ^= x >> 31;
        return x;
}

static void vgpu_hash(const struct nvv_partition_vgpu *v, uint64_t *h1, uint64_t *h2)
{
        uint64_t x = mix64(v->type_id ^ mix64(v->alloc_offset ^ mix64(v->chid_offset + UINT64_C(0x9e3779b97f4a7c15))));

        *h1 = x;
        *h2 = mix64(x ^ UINT64_C(0x2545f4914f6cdd1d));
}

static void gpu_terms(struct search2 *s, size_t g)
{
        unsigned klass = nvv_pool_get(s->pool, g)->klass;

        s->pool1 -= s->term1[g];
        s->pool2 -= s->term2[g];
        s->term1[g] = mix64(s->h1[g] + mix64(klass + 1));
        s->term2[g] = mix64(s->h2[g] ^ mix64(klass + 0x51));
        s->pool1 += s->term1[g];
        s->pool2 += s->term2[g];
}

/* avail of GPU g for the classes from c on. */
static void gpu_avail(struct search2 *s, size_t g, size_t c)
{
        const struct nvv_partition *part = nvv_pool_get(s->pool, g)->part;

        for (; c < s->n_cls; c++) {
                const struct nvv_catalog_type *t = s->rtype[g * s->n_cls + c];

                s->avail[g * s->n_cls + c] = t ? nvv_partition_available(part, t->type_id) : 0;
        }
}

static void gpu_change(struct search2 *s, size_t g, const struct nvv_partition_vgpu *v, bool added)
{
        uint64_t a, b;

        vgpu_hash(v, &a, &b);
        if (added) {
                s->h1[g] += a;
                s->h2[g] += b;
                s->free_fb[g] -= v->alloc_length;
                s->free_slots[g]--;
        } else {
                s->h1[g] -= a;
                s->h2[g] -= b;
                s->free_fb[g] += v->alloc_length;
                s->free_slots[g]++;
        }
        gpu_terms(s, g);
}

static double lagrange_bound(const struct search2 *s, size_t k, const double *lambda, const size_t *by_ratio,
                             double *xsum);

/*
 * The geometry bound. On GPU g the vGPUs of a set T of classes can only lie in the units
 * that some class of T could still take (nvv_partition_reach(): the L40S's 4Q, 8Q and 16Q
 * only in units 0-31, a 16Q only at 0 or 16, ...), and in no more than the GPU's free FB:
 * bytes_T(g) <= cov_g(T) = min(|union of their windows| x unit size, free FB), a coverage
 * function, so submodular, as is its sum over the GPUs, reach(T). With y_c the bytes that
 * class c takes over all GPUs (at least bytes_c per request), y(T) <= reach(T) for every T
 * and y_c <= bytes_c x u_c, u_c = min(left_c, the GPUs' avail summed): a polymatroid cut by
 * a box, whose rank is F(S) = min over T in S of reach(T) + sum over S \ T of bytes_c u_c.
 * Counting requests values a byte of class c at 1 / bytes_c, so the greedy (Edmonds),
 * smallest class first, is optimal on it: class k of the order gets
 * (F(S_k) - F(S_k-1)) / bytes_k. Its total, rounded down, bounds what can still be placed.
 */
#define GEO_MAX_CLS 8

/* Without -mpopcnt the builtin is a library call; this is inlined. */
static inline uint64_t popcount64(uint64_t x)
{
        x -= (x >> 1) & UINT64_C(0x5555555555555555);
        x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));
        x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
        return (x * UINT64_C(0x0101010101010101)) >> 56;
}
#define UNIT_WORDS (NVV_PARTITION_MAX_UNITS / 64)

/* cov of GPU g for the sets of classes from c on (those the steps below still look at). */
static void gpu_cov(struct search2 *s, size_t g, size_t c)
{
        const struct nvv_partition *part = nvv_pool_get(s->pool, g)->part;
        uint64_t unit = nvv_partition_unit_size(part), f = s->free_fb[g], *cov = &s->cov[g << s->n_cls];
        uint64_t u[(1u << GEO_MAX_CLS) * UNIT_WORDS];
        bool any[1u << GEO_MAX_CLS];
        size_t nt = (size_t) 1 << (s->n_cls - c), w = s->words;

        memset(u, 0, w * sizeof(u[0]));
        any[0] = false;
        for (size_t t = 0; t < nt; t++) {
                size_t T = t << c;
                uint64_t v = 0;

                if (t) {
                        size_t i = c + (size_t) __builtin_ctzll(t), r = t & (t - 1);
                        const uint64_t *wc = &s->win[(g * s->n_cls + i) * w];

                        for (size_t j = 0; j < w; j++)
                                u[t * w + j] = u[r * w + j] | wc[j];
                        any[t] = any[r] || s->anyfb[g * s->n_cls + i];
                }
                if (any[t])
                        v = f;
                else {
                        for (size_t j = 0; j < w; j++)
                                v += popcount64(u[t * w + j]);
                        v = MIN(v * unit, f);
                }
                s->reach[T] += v - cov[T];
                cov[T] = v;
        }
}

/* The free placements of GPU g for the classes from c on, as windows and as slot ends (none
 * where it takes no more of the class). */
static void gpu_win(struct search2 *s, size_t g, size_t c)
{
        const struct nvv_partition *part = nvv_pool_get(s->pool, g)->part;

        for (; c < s->n_cls; c++) {
                uint32_t ids[NVV_MAX_PLACEMENTS], size;
                size_t i = g * s->n_cls + c;
                uint64_t *w = &s->win[i * s->words], *e = &s->ends[i * s->words];
                int r = 0;

                s->anyfb[i] = false;
                memset(w, 0, s->words * sizeof(uint64_t));
                memset(e, 0, s->words * sizeof(uint64_t));
                if (!s->avail[i])
                        continue;
                r = nvv_partition_free_placements(part, s->rtype[i]->type_id, ids);
                if (r == -EOPNOTSUPP) {
                        s->anyfb[i] = true;
                        continue;
                }
                size = s->psize[i];
                for (int k = 0; k < r; k++) {
                        for (uint32_t u = ids[k]; u < ids[k] + size; u++)
                                w[u / 64] |= UINT64_C(1) << (u % 64);
                        e[(ids[k] + size - 1) / 64] |= UINT64_C(1) << ((ids[k] + size - 1) % 64);
                }
        }
}

/*
 * The slot bound. The vGPUs still to come on GPU g take free placements of their classes that
 * do not overlap (intervals of units), at most left_c of class c over all GPUs. Pricing that
 * limit by mu_c in [0, 1]: at most sum_c mu_c left_c + sum_g (the best packing of g's free
 * placements, each worth 1 - mu_c). A packing of intervals is found exactly by a pass over
 * the units (slot_dp), and the bound sees what the volume bound does not: a 12Q at unit 0
 * spoils the 8Q placement at 8. The prices are fitted at the root (slot_fit); each GPU's
 * packing value is kept per first class and redone for the GPU a step changes.
 */
static double slot_dp(const struct search2 *s, size_t g, size_t c0, const double *mu, unsigned *cnt)
{
        uint32_t units = nvv_partition_get_geometry(nvv_pool_get(s->pool, g)->part)->placement_units;
        double dp[NVV_PARTITION_MAX_UNITS + 1];
        int8_t how[NVV_PARTITION_MAX_UNITS + 1];
        uint64_t any[UNIT_WORDS] = {};
        size_t nc = s->n_cls;

        for (size_t c = c0; c < nc; c++)
                if (mu[c] < 1.0)
                        for (size_t i = 0; i < s->words; i++)
                                any[i] |= s->ends[(g * nc + c) * s->words + i];
        dp[0] = 0;
        for (uint32_t e = 1; e <= units; e++) {
                dp[e] = dp[e - 1];
                how[e] = -1;
                if (!(any[(e - 1) / 64] >> ((e - 1) % 64) & 1))
                        continue;
                for (size_t c = c0; c < nc; c++) {
                        const uint64_t *en = &s->ends[(g * nc + c) * s->words];
                        double v;

                        if (mu[c] >= 1.0 || !(en[(e - 1) / 64] >> ((e - 1) % 64) & 1))
                                continue;
                        v = dp[e - s->psize[g * nc + c]] + (1.0 - mu[c]);
                        if (v > dp[e]) {
                                dp[e] = v;
                                how[e] = (int8_t) c;
                        }
                }
        }
        if (cnt)
                for (uint32_t e = units; e > 0;) {
                        if (how[e] < 0) {
                                e--;
                                continue;
                        }
                        cnt[how[e]]++;
                        e -= s->psize[g * nc + (size_t) how[e]];
                }
        return dp[units];
}

static double slot_bound(struct search2 *s, size_t k)
{
        size_t c0 = s->cls_of[k], nc = s->n_cls;
        double total = 0;

        for (size_t g = 0; g < s->n_gpus; g++) {
                if (s->vstamp[g * nc + c0] != s->gstamp[g]) {
                        s->vg[g * nc + c0] = slot_dp(s, g, c0, s->mu, NULL);
                        s->vstamp[g * nc + c0] = s->gstamp[g];
                }
                total += s->vg[g * nc + c0];
        }
        for (size_t c = c0; c < nc; c++)
                total += s->mu[c] * (double) (c == c0 ? s->cls[c].end - k : s->cls[c].end - s->cls[c].first);
        return total;
}

static void slot_fit(struct search2 *s)
{
        double mu[GEO_MAX_CLS] = {}, best_v = -1, step = 0.5;
        unsigned cnt[GEO_MAX_CLS];

        for (unsigned it = 0; it < 80; it++) {
                double v = 0;

                memset(cnt, 0, sizeof(cnt));
                for (size_t c = 0; c < s->n_cls; c++)
                        v += mu[c] * (double) (s->cls[c].end - s->cls[c].first);
                for (size_t g = 0; g < s->n_gpus; g++)
                        v += slot_dp(s, g, 0, mu, cnt);
                if (best_v < 0 || v < best_v) {
                        best_v = v;
                        memcpy(s->mu, mu, s->n_cls * sizeof(mu[0]));
                } else
                        step *= 0.85;
                for (size_t c = 0; c < s->n_cls; c++) {
                        double left = (double) (s->cls[c].end - s->cls[c].first);

                        /* Classes the packings take more of than there are get dearer. */
                        mu[c] += step * ((double) cnt[c] - left) / MAX(left, 1.0);
                        mu[c] = MIN(MAX(mu[c], 0.0), 1.0);
                }
        }
}

static double geo_bound(const struct search2 *s, size_t k)
{
        size_t c0 = s->cls_of[k], m = 0, cls[GEO_MAX_CLS];
        uint64_t gm[1u << GEO_MAX_CLS], bu[GEO_MAX_CLS];
        int64_t sbu[1u << GEO_MAX_CLS], mn[GEO_MAX_CLS];
        double total = 0;
        int64_t prev = 0, best = 0, acc = 0;

        /* The classes still to place that some GPU takes, smallest first. */
        for (size_t i = 0; i < s->n_cls; i++) {
                size_t c = s->by_bytes[i], left, cap = 0;

                if (c < c0)
                        continue;
                left = c == c0 ? s->cls[c].end - k : s->cls[c].end - s->cls[c].first;
                for (size_t g = 0; g < s->n_gpus; g++)
                        cap += s->avail[g * s->n_cls + c];
                left = MIN(left, cap);
                if (!left)
                        continue;
                bu[m] = (uint64_t) left * s->cls[c].bytes;
                mn[m] = INT64_MAX;
                cls[m++] = c;
        }
        gm[0] = 0;
        sbu[0] = 0;
        for (size_t t = 1; t < ((size_t) 1 << m); t++) {
                size_t i = (size_t) __builtin_ctzll(t), r = t & (t - 1), h = 63 - (size_t) __builtin_clzll(t);
                int64_t v;

                gm[t] = gm[r] | (UINT64_C(1) << cls[i]);
                sbu[t] = sbu[r] + (int64_t) bu[i];
                v = (int64_t) s->reach[gm[t]] - sbu[t];
                if (v < mn[h])
                        mn[h] = v;
        }
        for (size_t i = 0; i < m; i++) {
                int64_t f;

                acc += (int64_t) bu[i];
                best = MIN(best, mn[i]);
                f = acc + best;
                if (f > prev)
                        total += (double) (f - prev) / (double) s->cls[cls[i]].bytes;
                prev = MAX(prev, f);
        }
        return total;
}

/* The most of the requests from position k on that can still be placed; once it is known to
 * be at most enough, the dearer part is not computed. */
static size_t search2_bound(struct search2 *s, size_t k, size_t enough)
{
        size_t c0 = s->cls_of[k], per_gpu = 0, all = 0, best = s->n - k;
        uint64_t free_all = 0, slots_all = 0;

        /* Cheapest first; stop once one says it is not enough. */
#define TAKE(x)                                                                         \
        do {                                                                            \
                double _x = (x);                                                        \
                if (_x + 1e-6 < (double) best)                                          \
                        best = (size_t) (_x + 1e-6); /* floor, with room for rounding */ \
                if (best <= enough)                                                     \
                        return best;                                                    \
        } while (0)
        if (s->slots)
                TAKE(slot_bound(s, k));
        if (s->geo)
                TAKE(geo_bound(s, k));
        for (size_t g = 0; g < s->n_gpus; g++) {
                uint64_t f = s->free_fb[g];
                size_t ub = 0;

                for (size_t i = 0; i < s->n_cls; i++) {
                        size_t c = s->by_bytes[i], left, t;
                        unsigned av;

                        if (c < c0)
                                continue;
                        av = s->avail[g * s->n_cls + c];
                        if (!av)
                                continue;
                        left = c == c0 ? s->cls[c].end - k : s->cls[c].end - s->cls[c].first;
                        t = MIN(left, (size_t) av);
                        t = MIN(t, (size_t) (f / s->cls[c].bytes));
                        ub += t;
                        f -= (uint64_t) t * s->cls[c].bytes;
                }
                ub = MIN(ub, (size_t) s->free_slots[g]);
                per_gpu += ub;
                if (ub) {
                        free_all += s->free_fb[g];
                        slots_all += s->free_slots[g];
                }
        }
        for (size_t i = 0; i < s->n_cls; i++) {
                size_t c = s->by_bytes[i], left, t, cap = 0;

                if (c < c0)
                        continue;
                for (size_t g = 0; g < s->n_gpus; g++)
                        cap += s->avail[g * s->n_cls + c];
                left = c == c0 ? s->cls[c].end - k : s->cls[c].end - s->cls[c].first;
                t = MIN(left, cap);
                t = MIN(t, (size_t) (free_all / s->cls[c].bytes));
                all += t;
                free_all -= (uint64_t) t * s->cls[c].bytes;
        }
        TAKE(MIN(MIN(all, (size_t) slots_all), per_gpu));
        if (s->lambda)
                TAKE(lagrange_bound(s, k, s->lambda, s->by_ratio, NULL));
#undef TAKE
        return best;
}

/*
 * A second bound, from the relaxation that prices each class: for any prices lambda_c in
 * [0, 1], at most sum_c lambda_c * left_c + sum_g max { sum_c (1 - lambda_c) x_gc } can still
 * be placed, the max over fractional x_gc <= min(avail_gc, left_c) with sum_c bytes_c * x_gc
 * <= free FB of g (a fractional knapsack, solved greedily by value per byte). Lambda = 0 is a
 * per-GPU bound; the root picks lambda by a subgradient descent so that GPUs do not each count
 * the same small requests. If xsum is given it gets the x of every class summed over GPUs.
 */
static double lagrange_bound(const struct search2 *s, size_t k, const double *lambda, const size_t *by_ratio,
                             double *xsum)
{
        size_t c0 = s->cls_of[k];
        double total = 0;

        if (xsum)
                for (size_t c = 0; c < s->n_cls; c++)
                        xsum[c] = 0;
        for (size_t c = c0; c < s->n_cls; c++)
                total += lambda[c] * (double) (c == c0 ? s->cls[c].end - k : s->cls[c].end - s->cls[c].first);
        for (size_t g = 0; g < s->n_gpus; g++) {
                double f = (double) s->free_fb[g], slots = s->free_slots[g], v = 0;

                for (size_t i = 0; i < s->n_cls && f > 0 && slots > 0; i++) {
                        size_t c = by_ratio[i];
                        double x, left;

                        if (c < c0 || lambda[c] >= 1.0 || !s->avail[g * s->n_cls + c])
                                continue;
                        left = (double) (c == c0 ? s->cls[c].end - k : s->cls[c].end - s->cls[c].first);
                        x = MIN(left, (double) s->avail[g * s->n_cls + c]);
                        x = MIN(x, f / (double) s->cls[c].bytes);
                        x = MIN(x, slots);
                        v += (1.0 - lambda[c]) * x;
                        f -= x * (double) s->cls[c].bytes;
                        slots -= x;
                        if (xsum)
                                xsum[c] += x;
                }
                total += v;
        }
        return total;
}

static void ratio_order(const struct search2 *s, const double *lambda, size_t *by_ratio)
{
        for (size_t i = 0; i < s->n_cls; i++) {
                double ri = (1.0 - lambda[i]) / (double) s->cls[i].bytes;
                size_t j = i;

                for (; j > 0; j--) {
                        size_t o = by_ratio[j - 1];

                        if ((1.0 - lambda[o]) / (double) s->cls[o].bytes >= ri)
                                break;
                        by_ratio[j] = o;
                }
                by_ratio[j] = i;
        }
}

static void lagrange_fit(struct search2 *s)
{
        double lam[NVV_PLAN_MAX_REQUESTS], best_v, step = 0.5;
        size_t order[NVV_PLAN_MAX_REQUESTS];

        for (size_t c = 0; c < s->n_cls; c++)
                lam[c] = s->lambda[c] = 0;
        ratio_order(s, lam, order);
        memcpy(s->by_ratio, order, s->n_cls * sizeof(order[0]));
        best_v = lagrange_bound(s, 0, lam, order, s->xsum);
        for (unsigned it = 0; it < 60; it++) {
                double v;

                for (size_t c = 0; c < s->n_cls; c++) {
                        double left = (double) (s->cls[c].end - s->cls[c].first);

                        /* Over-asked classes (the GPUs would take more than there are) get dearer. */
                        lam[c] += step * (s->xsum[c] - left) / MAX(left, 1.0);
                        lam[c] = MIN(MAX(lam[c], 0.0), 1.0);
                }
                ratio_order(s, lam, order);
                v = lagrange_bound(s, 0, lam, order, s->xsum);
                if (v < best_v) {
                        best_v = v;
                        memcpy(s->lambda, lam, s->n_cls * sizeof(lam[0]));
                        memcpy(s->by_ratio, order, s->n_cls * sizeof(order[0]));
                } else
                        step *= 0.8;
        }
}

static struct memo_entry *memo_slot(struct search2 *s, size_t k)
{
        uint64_t key1 = s->pool1 ^ mix64(k + 1);

        return &s->memo[key1 & (MEMO_SIZE - 1)];
}

static bool memo_match(const struct search2 *s, const struct memo_entry *e, size_t k)
{
        return e->k == k + 1 && e->key1 == (s->pool1 ^ mix64(k + 1)) && e->key2 == s->pool2;
}

static void record_best(struct search2 *s)
{
        if (s->placed > s->best_placed) {
                s->best_placed = s->placed;
                memcpy(s->best, s->assign, s->n * sizeof(int));
                if (s->placed >= s->root_bound)
                        s->done = true; /* nothing can beat it */
        }
}

/* What a step at position k (class c) changes of GPU g's bound data, kept to be put back. */
static void step_save(struct search2 *s, size_t k, size_t g, size_t c)
{
        size_t nc = s->n_cls, w = s->words;

        memcpy(&s->saved[k * nc + c], &s->avail[g * nc + c], (nc - c) * sizeof(unsigned));
        if (!s->geo)
                return;
        memcpy(&s->savedw[(k * nc + c) * w], &s->win[(g * nc + c) * w], (nc - c) * w * sizeof(uint64_t));
        memcpy(&s->savede[(k * nc + c) * w], &s->ends[(g * nc + c) * w], (nc - c) * w * sizeof(uint64_t));
        for (size_t t = 0; t < ((size_t) 1 << (nc - c)); t++)
                s->savedcov[(k << nc) + t] = s->cov[(g << nc) + (t << c)];
        if (!s->slots)
                return;
        memcpy(&s->savedvg[k * nc + c], &s->vg[g * nc + c], (nc - c) * sizeof(double));
        memcpy(&s->savedvs[k * nc + c], &s->vstamp[g * nc + c], (nc - c) * sizeof(uint64_t));
        s->savedgs[k] = s->gstamp[g];
        s->gstamp[g] = ++s->stamps;
}

static void step_restore(struct search2 *s, size_t k, size_t g, size_t c)
{
        size_t nc = s->n_cls, w = s->words;

        memcpy(&s->avail[g * nc + c], &s->saved[k * nc + c], (nc - c) * sizeof(unsigned));
        if (!s->geo)
                return;
        memcpy(&s->win[(g * nc + c) * w], &s->savedw[(k * nc + c) * w], (nc - c) * w * sizeof(uint64_t));
        memcpy(&s->ends[(g * nc + c) * w], &s->savede[(k * nc + c) * w], (nc - c) * w * sizeof(uint64_t));
        for (size_t t = 0; t < ((size_t) 1 << (nc - c)); t++) {
                size_t T = t << c;

                s->reach[T] += s->savedcov[(k << nc) + t] - s->cov[(g << nc) + T];
                s->cov[(g << nc) + T] = s->savedcov[(k << nc) + t];
        }
        if (!s->slots)
                return;
        memcpy(&s->vg[g * nc + c], &s->savedvg[k * nc + c], (nc - c) * sizeof(double));
        memcpy(&s->vstamp[g * nc + c], &s->savedvs[k * nc + c], (nc - c) * sizeof(uint64_t));
        s->gstamp[g] = s->savedgs[k];
}

static void dfs2(struct search2 *s, size_t k, size_t minpos)
{
        size_t tried[NVV_POOL_MAX_GPUS], n_tried = 0, c, entry_placed = s->placed, bound;
        struct memo_entry *e = NULL;
        bool skipped = false;
        struct jclass *cl;
        char name[24];

        if (s->done || s->aborted)
                return;
        if (++s->steps > s->max_steps) {
                s->aborted = true;
                return;
        }
        if (k == s->n) {
                record_best(s);
                return;
        }
        c = s->cls_of[k];
        cl = &s->cls[c];
        bound = search2_bound(s, k, s->best_placed > s->placed ? s->best_placed - s->placed : 0);
        if (s->placed + bound <= s->best_placed)
                return;
        if (k == cl->first) {
                e = memo_slot(s, k);
                if (memo_match(s, e, k) && s->placed + e->ub <= s->best_placed)
                        return;
                /* The GPUs that take this request now, best first; later ones of the run go
                 * to the same GPU or one after it in this order. */
                s->n_cand[c] = nvv_pool_rank(s->pool, &cl->rep->preq, s->prefs, &s->cand[c * s->n_gpus], NULL, s->n_gpus);
                minpos = 0;
        }
        job_name(s->order[k], name);
        /* Leaving the rest of the run out first when that costs nothing by the bound: the
         * best assignments leave out large requests, and finding one early prunes more. */
        if (cl->end < s->n && search2_bound(s, cl->end, bound - 1) >= bound) {
                for (size_t i = k; i < cl->end; i++)
                        s->assign[i] = -1;
                dfs2(s, cl->end, 0);
                skipped = true;
        }
        for (size_t p = minpos; p < s->n_cand[c] && !s->done && !s->aborted; p++) {
                size_t g = s->cand[c * s->n_gpus + p];
                const struct nvv_pool_gpu *pg = nvv_pool_get(s->pool, g);
                struct nvv_partition *part = nvv_pool_get_partition(s->pool, g);
                struct nvv_partition_vgpu v;
                bool dup = false;

                if (!s->avail[g * s->n_cls + c])
                        continue;
                for (size_t t = 0; t < n_tried && !dup; t++) {
                        size_t o = tried[t];

                        dup = s->h1[o] == s->h1[g] && s->h2[o] == s->h2[g] && nvv_pool_get(s->pool, o)->klass == pg->klass &&
                              nvv_partition_same_state(nvv_pool_get(s->pool, o)->part, part);
                }
                if (dup)
                        continue;
                tried[n_tried++] = g;
                if (nvv_partition_create(part, s->rtype[g * s->n_cls + c]->type_id, name, &v, NULL) < 0)
                        continue;
                step_save(s, k, g, c);
                gpu_change(s, g, &v, true);
                gpu_avail(s, g, c);
                if (s->geo) {
                        gpu_win(s, g, c);
                        gpu_cov(s, g, c);
                }
                s->assign[k] = (int) g;
                s->placed++;
                dfs2(s, k + 1, p);
                s->placed--;
                s->assign[k] = -1;
                (void) nvv_partition_remove(part, name);
                gpu_change(s, g, &v, false);
                step_restore(s, k, g, c);
        }
        if (s->done || s->aborted)
                return;
        /* The rest of the run left out. */
        if (!skipped) {
                for (size_t i = k; i < cl->end; i++)
                        s->assign[i] = -1;
                dfs2(s, cl->end, 0);
        }
        if (e && !s->done && !s->aborted) {
                /* Whatever this state can still give was found, or could not beat the best. */
                e->key1 = s->pool1 ^ mix64(k + 1);
                e->key2 = s->pool2;
                e->k = (uint32_t) k + 1;
                e->ub = (uint32_t) (s->best_placed - entry_placed);
        }
}

static int cmp_job_class(const void *a, const void *b)
{
        const struct job *x = *(struct job *const *) a, *y = *(struct job *const *) b;

        if (x->min_bytes != y->min_bytes)
                return x->min_bytes > y->min_bytes ? -1 : 1;
        if (x->size != y->size)
                return x->size > y->size ? -1 : 1;
        if (x->klass != y->klass)
                return x->klass < y->klass ? -1 : 1;
        return x->req->index < y->req->index ? -1 : x->req->index > y->req->index;
}

static int search2_run(struct nvv_pool *work, struct job **sorted, size_t n, const struct nvv_place_prefs *prefs,
                       uint64_t max_steps, size_t greedy_placed, int *assign, int *best, struct search *ret)
{
        struct search2 s = {
                .pool = work, .n_gpus = nvv_pool_count(work), .order = sorted, .n = n, .prefs = prefs,
                .assign = assign, .best = best, .max_steps = max_steps, .best_placed = greedy_placed,
        };
        size_t ng = s.n_gpus;
        int r = -ENOMEM;

        s.cls = calloc(MAX(n, (size_t) 1), sizeof(*s.cls));
        s.cls_of = calloc(MAX(n, (size_t) 1), sizeof(*s.cls_of));
        s.by_bytes = calloc(MAX(n, (size_t) 1), sizeof(*s.by_bytes));
        if (!s.cls || !s.cls_of || !s.by_bytes)
                goto out;
        for (size_t k = 0; k < n; k++) {
                if (k == 0 || sorted[k]->klass != sorted[k - 1]->klass) {
                        s.cls[s.n_cls] = (struct jclass) { .rep = sorted[k], .bytes = sorted[k]->min_bytes, .first = k };
                        s.n_cls++;
                }
                s.cls_of[k] = s.n_cls - 1;
                s.cls[s.n_cls - 1].end = k + 1;
        }
        /* Smallest first (insertion: few classes, and no shared state for a comparator). */
        for (size_t i = 0; i < s.n_cls; i++) {
                size_t j = i;

                for (; j > 0 && s.cls[s.by_bytes[j - 1]].bytes > s.cls[i].bytes; j--)
                        s.by_bytes[j] = s.by_bytes[j - 1];
                s.by_bytes[j] = i;
        }
        s.rtype = calloc(MAX(ng * s.n_cls, (size_t) 1), sizeof(*s.rtype));
        s.avail = calloc(MAX(ng * s.n_cls, (size_t) 1), sizeof(*s.avail));
        s.saved = calloc(MAX(n * s.n_cls, (size_t) 1), sizeof(*s.saved));
        s.cand = calloc(MAX(ng * s.n_cls, (size_t) 1), sizeof(*s.cand));
        s.n_cand = calloc(MAX(s.n_cls, (size_t) 1), sizeof(*s.n_cand));
        s.free_fb = calloc(MAX(ng, (size_t) 1), sizeof(uint64_t));
        s.h1 = calloc(MAX(ng, (size_t) 1), sizeof(uint64_t));
        s.h2 = calloc(MAX(ng, (size_t) 1), sizeof(uint64_t));
        s.term1 = calloc(MAX(ng, (size_t) 1), sizeof(uint64_t));
        s.term2 = calloc(MAX(ng, (size_t) 1), sizeof(uint64_t));
        s.free_slots = calloc(MAX(ng, (size_t) 1), sizeof(uint32_t));
        s.memo = calloc(MEMO_SIZE, sizeof(*s.memo));
        if (!s.rtype || !s.avail || !s.saved || !s.cand || !s.n_cand || !s.free_fb || !s.h1 || !s.h2 || !s.term1 ||
            !s.term2 || !s.free_slots || !s.memo)
                goto out;
        for (size_t g = 0; g < ng; g++) {
                const struct nvv_pool_gpu *pg = nvv_pool_get(work, g);
                const struct nvv_partition_geometry *geo = nvv_partition_get_geometry(pg->part);

                for (size_t c = 0; c < s.n_cls; c++) {
                        const struct nvv_pool_request *q = &s.cls[c].rep->preq;

                        if (q->numa_node >= 0 && prefs->numa == NVV_NUMA_REQUIRE && pg->numa_node != q->numa_node)
                                continue;
                        s.rtype[g * s.n_cls + c] = nvv_pool_resolve(work, g, q);
                }
                gpu_avail(&s, g, 0);
                s.free_fb[g] = geo->fb_total - geo->fb_reserved - nvv_partition_used_fb(pg->part);
                s.free_slots[g] = nvv_partition_max_vgpus(pg->part) - (uint32_t) nvv_partition_count(pg->part);
                for (size_t i = 0; i < nvv_partition_count(pg->part); i++) {
                        uint64_t a, b;

                        vgpu_hash(nvv_partition_get(pg->part, i), &a, &b);
                        s.h1[g] += a;
                        s.h2[g] += b;
                }
                gpu_terms(&s, g);
        }
        s.geo = n && s.n_cls <= GEO_MAX_CLS;
        if (s.geo) {
                for (size_t g = 0; g < ng; g++)
                        s.words = MAX(s.words, (size_t) (nvv_partition_get_geometry(nvv_pool_get(work, g)->part)->placement_units + 63) / 64);
                s.words = MAX(s.words, (size_t) 1);
                s.win = calloc(ng * s.n_cls * s.words, sizeof(uint64_t));
                s.anyfb = calloc(ng * s.n_cls, sizeof(bool));
                s.cov = calloc(ng << s.n_cls, sizeof(uint64_t));
                s.reach = calloc((size_t) 1 << s.n_cls, sizeof(uint64_t));
                s.ends = calloc(ng * s.n_cls * s.words, sizeof(uint64_t));
                s.psize = calloc(ng * s.n_cls, sizeof(uint32_t));
                s.mu = calloc(s.n_cls, sizeof(double));
                s.vg = calloc(ng * s.n_cls, sizeof(double));
                s.vstamp = calloc(ng * s.n_cls, sizeof(uint64_t));
                s.gstamp = calloc(ng, sizeof(uint64_t));
                s.savedvs = calloc(n * s.n_cls, sizeof(uint64_t));
                s.savedgs = calloc(n, sizeof(uint64_t));
                s.savedw = calloc(n * s.n_cls * s.words, sizeof(uint64_t));
                s.savede = calloc(n * s.n_cls * s.words, sizeof(uint64_t));
                s.savedcov = calloc(n << s.n_cls, sizeof(uint64_t));
                s.savedvg = calloc(n * s.n_cls, sizeof(double));
                if (!s.win || !s.anyfb || !s.cov || !s.reach || !s.ends || !s.psize || !s.mu || !s.vg || !s.vstamp || !s.gstamp ||
                    !s.savedvs || !s.savedgs ||
                    !s.savedw || !s.savede || !s.savedcov || !s.savedvg)
                        goto out;
                s.slots = true;
                for (size_t g = 0; g < ng; g++) {
                        const struct nvv_partition *part = nvv_pool_get(work, g)->part;

                        for (size_t c = 0; c < s.n_cls; c++) {
                                const struct nvv_catalog_type *t = s.rtype[g * s.n_cls + c];
                                const struct nvv_vgpu_type *vt = t ? nvv_partition_find_type(part, t->type_id) : NULL;

                                s.psize[g * s.n_cls + c] = vt ? vt->placement_size : 0;
                        }
                        gpu_win(&s, g, 0);
                        gpu_cov(&s, g, 0);
                        s.gstamp[g] = ++s.stamps;
                        for (size_t c = 0; c < s.n_cls; c++)
                                if (s.anyfb[g * s.n_cls + c])
                                        s.slots = false;
                }
                if (s.slots)
                        slot_fit(&s);
        }
        if (n && s.n_cls <= NVV_PLAN_MAX_REQUESTS) {
                s.lambda = calloc(s.n_cls, sizeof(double));
                s.by_ratio = calloc(s.n_cls, sizeof(size_t));
                s.xsum = calloc(s.n_cls, sizeof(double));
                if (!s.lambda || !s.by_ratio || !s.xsum)
                        goto out;
                lagrange_fit(&s);
        }
        s.root_bound = n ? search2_bound(&s, 0, 0) : 0;
        if (n)
                dfs2(&s, 0, 0);
        *ret = (struct search) {
                .steps = s.steps, .aborted = s.aborted, .best_placed = s.best_placed,
        };
        r = 0;
out:
        free(s.cls);
        free(s.cls_of);
        free(s.by_bytes);
        free(s.rtype);
        free(s.avail);
        free(s.saved);
        free(s.cand);
        free(s.n_cand);
        free(s.free_fb);
        free(s.h1);
        free(s.h2);
        free(s.term1);
        free(s.term2);
        free(s.free_slots);
        free(s.memo);
        free(s.lambda);
        free(s.by_ratio);
        free(s.xsum);
        free(s.win);
        free(s.anyfb);
        free(s.cov);
        free(s.reach);
        free(s.ends);
        free(s.psize);
        free(s.mu);
        free(s.vg);
        free(s.vstamp);
        free(s.gstamp);
        free(s.savedvs);
        free(s.savedgs);
        free(s.savedw);
        free(s.savede);
        free(s.savedcov);
        free(s.savedvg);
        return r;
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
        assert_return(opts->search >= 0 && opts->search < _NVV_PLAN_SEARCH_MAX, -EINVAL);
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
                if (j->quota_reason)
                        continue;
                j->klass = (unsigned) n_active;
                for (size_t k = 0; k < n_active; k++)
                        if (same_job(order[k], j)) {
                                j->klass = order[k]->klass;
                                break;
                        }
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
                qsort(sorted, n_active, sizeof(*sorted), opts->search == NVV_PLAN_SEARCH_V1 ? cmp_job_size : cmp_job_class);
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
                if (opts->search == NVV_PLAN_SEARCH_V1)
                        dfs(&s, 0);
                else {
                        r = search2_run(work, sorted, n_active, &opts->prefs, s.max_steps, greedy_placed, assign, best, &s);
                        if (r < 0) {
                                free(sorted);
                                goto out;
                        }
                }
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
