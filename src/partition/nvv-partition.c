/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nvv-partition.h"
#include "util.h"

#define UNIT_WORDS (NVV_PARTITION_MAX_UNITS / 64)

struct type_table {
        unsigned ref;
        size_t n;
        struct nvv_vgpu_type types[];
};

struct nvv_partition {
        struct nvv_partition_geometry geo;
        uint64_t usable, unit_size;
        uint32_t max_vgpus;
        struct type_table *table;
        enum nvv_partition_mode mode;
        size_t n;
        struct nvv_partition_vgpu vgpus[NVV_MAX_VGPUS];
        uint64_t units[UNIT_WORDS];
};

static const char *const check_names[_NVV_CHECK_MAX] = {
        [NVV_CHECK_OK] = "ok",
        [NVV_CHECK_TYPE] = "the vGPU type is not in the GPU's type table",
        [NVV_CHECK_NAME] = "the name is already in use",
        [NVV_CHECK_SLOTS] = "every vGPU slot (VF) is in use",
        [NVV_CHECK_MAX_INSTANCE] = "the type's max_instance is reached",
        [NVV_CHECK_MODE] = "equal-size mode: the GPU holds another type",
        [NVV_CHECK_PLACEMENT] = "no free placement",
        [NVV_CHECK_CHANNELS] = "no free channel block",
};

const char *nvv_partition_check_to_string(enum nvv_partition_check c)
{
        return c < _NVV_CHECK_MAX ? check_names[c] : NULL;
}

enum nvv_fw_status nvv_partition_check_status(enum nvv_partition_check c)
{
        switch (c) {
        case NVV_CHECK_OK:
                return NVV_FW_OK;
        case NVV_CHECK_TYPE:
                return NVV_FW_OBJECT_NOT_FOUND;
        case NVV_CHECK_NAME:
                return NVV_FW_IN_USE;
        case NVV_CHECK_MODE:
                return NVV_FW_INVALID_STATE;
        default:
                return NVV_FW_INSUFFICIENT_RESOURCES;
        }
}

static const char *const mode_names[_NVV_PARTITION_MODE_MAX] = {
        [NVV_PARTITION_HOMOGENEOUS] = "equal-size",
        [NVV_PARTITION_HETEROGENEOUS] = "mixed-size",
};

DEFINE_STRING_TABLE_LOOKUP(nvv_partition_mode, enum nvv_partition_mode, mode_names, _NVV_PARTITION_MODE_MAX, _NVV_PARTITION_MODE_INVALID)

int nvv_partition_geometry_from_catalog(const struct nvv_catalog_gpu *g, const struct nvv_fwabi *fw,
                                        bool ecc, struct nvv_partition_geometry *ret)
{
        struct nvv_catalog_sizing s;
        int r;

        assert_return(g && fw && ret, -EINVAL);
        r = nvv_catalog_gpu_sizing(g, fw, ecc, &s);
        if (r < 0)
                return r;
        *ret = (struct nvv_partition_geometry) {
                .fb_total = s.fb_total,
                .fb_reserved = s.fb_reserved,
                .vmmu_segment = s.vmmu_segment,
                .placement_units = s.placement_units,
                .num_vfs = s.num_vfs,
                .total_chids = s.total_chids,
                .max_vgpu_per_pgpu = fw->sizing.max_vgpu_per_pgpu,
                .max_vgpu_types = fw->sizing.max_vgpu_types_per_pgpu,
                .heterogeneous_timesliced = g->mixed_size &&
                                            nvv_fwabi_command(fw, NVV_CMD_SET_HETEROGENEOUS_MODE) != NULL,
        };
        return 0;
}

/* ---- type table ---- */

static struct type_table *table_unref(struct type_table *t)
{
        if (t && --t->ref == 0)
                free(t);
        return NULL;
}

static struct type_table *table_new(size_t n)
{
        struct type_table *t = calloc(1, sizeof(*t) + n * sizeof(struct nvv_vgpu_type));

        if (t)
                t->ref = 1;
        return t;
}

/* ---- object ---- */

int nvv_partition_new(const struct nvv_partition_geometry *geo, struct nvv_partition **ret)
{
        struct nvv_partition *p;

        assert_return(geo && ret, -EINVAL);
        assert_return(geo->vmmu_segment > 0 && geo->placement_units > 0 &&
                      geo->placement_units <= NVV_PARTITION_MAX_UNITS && geo->fb_total > geo->fb_reserved &&
                      geo->total_chids > 0, -EINVAL);
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->geo = *geo;
        p->usable = geo->fb_total - geo->fb_reserved;
        p->unit_size = p->usable / geo->placement_units / geo->vmmu_segment * geo->vmmu_segment;
        p->max_vgpus = MIN(MIN(geo->num_vfs, geo->max_vgpu_per_pgpu), (uint32_t) NVV_MAX_VGPUS);
        p->mode = NVV_PARTITION_HOMOGENEOUS;
        p->table = table_new(0);
        if (!p->table) {
                free(p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

struct nvv_partition *nvv_partition_free(struct nvv_partition *p)
{
        if (!p)
                return NULL;
        table_unref(p->table);
        free(p);
        return NULL;
}

int nvv_partition_clone(const struct nvv_partition *p, struct nvv_partition **ret)
{
        struct nvv_partition *c;

        assert_return(p && ret, -EINVAL);
        c = malloc(sizeof(*c));
        if (!c)
                return -ENOMEM;
        memcpy(c, p, offsetof(struct nvv_partition, vgpus));
        memcpy(c->vgpus, p->vgpus, p->n * sizeof(p->vgpus[0]));
        memcpy(c->units, p->units, sizeof(p->units));
        c->table->ref++;
        *ret = c;
        return 0;
}

int nvv_partition_assign(struct nvv_partition *dst, const struct nvv_partition *src)
{
        struct type_table *old;

        assert_return(dst && src, -EINVAL);
        if (dst == src)
                return 0;
        old = dst->table;
        memcpy(dst, src, offsetof(struct nvv_partition, vgpus));
        memcpy(dst->vgpus, src->vgpus, src->n * sizeof(src->vgpus[0]));
        memcpy(dst->units, src->units, sizeof(src->units));
        dst->table->ref++;
        table_unref(old);
        return 0;
}

const struct nvv_partition_geometry *nvv_partition_get_geometry(const struct nvv_partition *p)
{
        return p ? &p->geo : NULL;
}

uint64_t nvv_partition_unit_size(const struct nvv_partition *p)
{
        return p ? p->unit_size : 0;
}

uint32_t nvv_partition_max_vgpus(const struct nvv_partition *p)
{
        return p ? p->max_vgpus : 0;
}

static void set_status(enum nvv_fw_status *ret, enum nvv_fw_status s)
{
        if (ret)
                *ret = s;
}

int nvv_partition_add_types(struct nvv_partition *p, const struct nvv_vgpu_type *types, size_t n,
                            bool discard, enum nvv_fw_status *reterr_status)
{
        struct type_table *t;
        size_t total;

        assert_return(p && (types || n == 0), -EINVAL);
        if (discard && p->n > 0) {
                set_status(reterr_status, NVV_FW_IN_USE);
                return -EBUSY;
        }
        for (size_t i = 0; i < n; i++)
                if (types[i].max_instance == 0 || types[i].fb_length == 0) {
                        set_status(reterr_status, NVV_FW_INVALID_ARGUMENT);
                        return -EINVAL;
                }
        t = table_new((discard ? 0 : p->table->n) + n);
        if (!t)
                return -ENOMEM;
        if (!discard) {
                memcpy(t->types, p->table->types, p->table->n * sizeof(t->types[0]));
                t->n = p->table->n;
        }
        for (size_t i = 0; i < n; i++) {
                size_t k;

                for (k = 0; k < t->n; k++)
                        if (t->types[k].type_id == types[i].type_id)
                                break;
                t->types[k] = types[i];
                if (k == t->n)
                        t->n++;
        }
        total = t->n;
        if (total > p->geo.max_vgpu_types || total > NVV_MAX_VGPU_TYPES) {
                table_unref(t);
                set_status(reterr_status, NVV_FW_INSUFFICIENT_RESOURCES);
                return -ENOSPC;
        }
        table_unref(p->table);
        p->table = t;
        return 0;
}

size_t nvv_partition_type_count(const struct nvv_partition *p)
{
        return p ? p->table->n : 0;
}

const struct nvv_vgpu_type *nvv_partition_find_type(const struct nvv_partition *p, uint32_t type_id)
{
        for (size_t i = 0; p && i < p->table->n; i++)
                if (p->table->types[i].type_id == type_id)
                        return &p->table->types[i];
        return NULL;
}

int nvv_partition_set_heterogeneous_allowed(struct nvv_partition *p, bool allowed)
{
        assert_return(p, -EINVAL);
        p->geo.heterogeneous_timesliced = allowed;
        return 0;
}

int nvv_partition_set_mode(struct nvv_partition *p, enum nvv_partition_mode mode,
                           enum nvv_fw_status *reterr_status)
{
        assert_return(p && mode >= 0 && mode < _NVV_PARTITION_MODE_MAX, -EINVAL);
        if (p->n > 0) {
                set_status(reterr_status, NVV_FW_IN_USE);
                return -EBUSY;
        }
        if (mode == NVV_PARTITION_HETEROGENEOUS && !p->geo.heterogeneous_timesliced) {
                set_status(reterr_status, NVV_FW_NOT_SUPPORTED);
                return -EOPNOTSUPP;
        }
        p->mode = mode;
        return 0;
}

enum nvv_partition_mode nvv_partition_get_mode(const struct nvv_partition *p)
{
        return p ? p->mode : _NVV_PARTITION_MODE_INVALID;
}

/* ---- resources ---- */

static void units_set(struct nvv_partition *p, uint32_t first, uint32_t n, bool on)
{
        for (uint32_t u = first; u < first + n; u++) {
                if (on)
                        p->units[u / 64] |= UINT64_C(1) << (u % 64);
                else
                        p->units[u / 64] &= ~(UINT64_C(1) << (u % 64));
        }
}

static bool units_free(const struct nvv_partition *p, uint32_t first, uint32_t n)
{
        if ((uint64_t) first + n > p->geo.placement_units)
                return false;
        /* A word at a time. */
        while (n) {
                uint32_t b = first % 64, k = MIN(n, 64 - b);
                uint64_t mask = (k == 64 ? ~UINT64_C(0) : (UINT64_C(1) << k) - 1) << b;

                if (p->units[first / 64] & mask)
                        return false;
                first += k;
                n -= k;
        }
        return true;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
        return a < b + blen && b < a + alen;
}

#define MAX_CHID_BLOCKS 1024

/*
 * The channel blocks of `block` ids (aligned, from 0) that no vGPU's channels overlap: how
 * many (at most limit) and the lowest. A map of the blocks marked by each vGPU's range, not
 * a test of every block against every vGPU.
 */
static unsigned free_chid_blocks(const struct nvv_partition *p, uint32_t block, unsigned limit, uint32_t *ret_first)
{
        uint64_t used[MAX_CHID_BLOCKS / 64] = {};
        uint64_t nb = block ? p->geo.total_chids / block : 0;
        unsigned n = 0;

        if (nb > MAX_CHID_BLOCKS) {
                /* Not met with real geometries (block >= total / (2 x max_instance)); the slow way. */
                for (uint64_t off = 0; off + block <= p->geo.total_chids && n < limit; off += block) {
                        bool ok = true;

                        for (size_t i = 0; ok && i < p->n; i++)
                                if (ranges_overlap(off, block, p->vgpus[i].chid_offset, p->vgpus[i].chid_count))
                                        ok = false;
                        if (ok && n++ == 0 && ret_first)
                                *ret_first = (uint32_t) off;
                }
                return n;
        }
        for (size_t i = 0; i < p->n; i++) {
                const struct nvv_partition_vgpu *v = &p->vgpus[i];
                uint64_t a, z;

                if (!v->chid_count)
                        continue;
                a = v->chid_offset / block;
                z = ((uint64_t) v->chid_offset + v->chid_count - 1) / block;
                for (uint64_t b = a; b <= z && b < nb; b++)
                        used[b / 64] |= UINT64_C(1) << (b % 64);
        }
        for (uint64_t i = 0; i * 64 < nb && n < limit; i++) {
                uint64_t bits = nb - i * 64, f = ~used[i];

                if (bits < 64)
                        f &= (UINT64_C(1) << bits) - 1;
                if (f && n == 0 && ret_first)
                        *ret_first = (uint32_t) ((i * 64 + (uint64_t) __builtin_ctzll(f)) * block);
                n += (unsigned) __builtin_popcountll(f);
        }
        return MIN(n, limit);
}

/* A type without placement ids for the current mode (all of them before 550; equal-size
 * mode on 550, whose one list is the mixed-size one) is placed first-fit. */
static bool is_first_fit(const struct nvv_vgpu_type *t, enum nvv_partition_mode mode)
{
        return t->placement_size == 0 ||
               (mode == NVV_PARTITION_HOMOGENEOUS ? t->homogeneous_placement_count : t->heterogeneous_placement_count) == 0;
}

static uint32_t prev_pow2(uint32_t v)
{
        uint32_t r = 1;

        if (v == 0)
                return 0;
        while (r <= v / 2)
                r <<= 1;
        return r;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

/* Lowest seg-stepped offset where size bytes are free. */
static bool first_fit(const struct nvv_partition *p, uint64_t size, uint64_t *ret)
{
        uint64_t cand[NVV_MAX_VGPUS + 1];
        size_t nc = 0;

        cand[nc++] = 0;
        for (size_t i = 0; i < p->n; i++)
                cand[nc++] = ALIGN_UP(p->vgpus[i].alloc_offset + p->vgpus[i].alloc_length, p->geo.vmmu_segment);
        qsort(cand, nc, sizeof(cand[0]), cmp_u64);
        for (size_t c = 0; c < nc; c++) {
                bool ok = cand[c] + size <= p->usable;

                for (size_t i = 0; ok && i < p->n; i++)
                        if (ranges_overlap(cand[c], size, p->vgpus[i].alloc_offset, p->vgpus[i].alloc_length))
                                ok = false;
                if (ok) {
                        *ret = cand[c];
                        return true;
                }
        }
        return false;
}

static bool find_name(const struct nvv_partition *p, const char *name, size_t *ret)
{
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->vgpus[i].name, name)) {
                        if (ret)
                                *ret = i;
                        return true;
                }
        return false;
}

unsigned nvv_partition_count_type(const struct nvv_partition *p, uint32_t type_id)
{
        unsigned n = 0;

        for (size_t i = 0; p && i < p->n; i++)
                n += p->vgpus[i].type_id == type_id;
        return n;
}

static int fail_check(enum nvv_partition_check c, enum nvv_partition_check *reterr_check)
{
        if (reterr_check)
                *reterr_check = c;
        return nvv_fw_status_to_errno(nvv_partition_check_status(c));
}

static int try_create(const struct nvv_partition *p, uint32_t type_id, const char *name, uint32_t want,
                      struct nvv_partition_vgpu *ret, enum nvv_partition_check *reterr_check)
{
        const struct nvv_vgpu_type *t;
        struct nvv_partition_vgpu v = {};
        uint64_t seg;
        uint32_t block;
        bool placed = false;

        assert_return(p && name && *name && strlen(name) < NVV_PARTITION_NAME_MAX, -EINVAL);
        seg = p->geo.vmmu_segment;

        /* 1 */
        t = nvv_partition_find_type(p, type_id);
        if (!t)
                return fail_check(NVV_CHECK_TYPE, reterr_check);
        /* 2 */
        if (find_name(p, name, NULL))
                return fail_check(NVV_CHECK_NAME, reterr_check);
        /* 3 */
        if (p->n >= p->max_vgpus)
                return fail_check(NVV_CHECK_SLOTS, reterr_check);
        /* 4 */
        if (nvv_partition_count_type(p, type_id) >= t->max_instance)
                return fail_check(NVV_CHECK_MAX_INSTANCE, reterr_check);
        /* 5 */
        if (p->mode == NVV_PARTITION_HOMOGENEOUS)
                for (size_t i = 0; i < p->n; i++)
                        if (p->vgpus[i].type_id != type_id)
                                return fail_check(NVV_CHECK_MODE, reterr_check);
        /* 6 */
        if (is_first_fit(t, p->mode)) {
                uint64_t size = ALIGN_UP(t->fb_length + t->fb_reservation, seg), off;

                if (first_fit(p, size, &off)) {
                        v.placement_id = NVV_PLACEMENT_NONE;
                        v.alloc_offset = off;
                        v.alloc_length = size;
                        v.fb_offset = off;
                        v.fb_length = t->fb_length;
                        placed = true;
                }
        } else {
                const uint32_t *ids = p->mode == NVV_PARTITION_HOMOGENEOUS ? t->homogeneous_placement_ids
                                                                           : t->heterogeneous_placement_ids;
                uint32_t n = p->mode == NVV_PARTITION_HOMOGENEOUS ? t->homogeneous_placement_count
                                                                  : t->heterogeneous_placement_count;
                uint64_t slot = (uint64_t) t->placement_size * p->unit_size;
                uint64_t fb_len = ALIGN_UP(t->fb_length, seg);
                uint32_t best = UINT32_MAX;

                n = MIN(n, (uint32_t) NVV_MAX_PLACEMENTS);
                /* "tried in ascending order": the lowest usable id, whatever the list order. */
                for (uint32_t i = 0; i < n; i++)
                        if (ids[i] < best && (want == NVV_PLACEMENT_NONE || ids[i] == want) && fb_len <= slot &&
                            units_free(p, ids[i], t->placement_size))
                                best = ids[i];
                if (best != UINT32_MAX) {
                        v.placement_id = best;
                        v.placement_size = t->placement_size;
                        v.alloc_offset = (uint64_t) best * p->unit_size;
                        v.alloc_length = slot;
                        v.fb_offset = v.alloc_offset;
                        v.fb_length = fb_len;
                        placed = true;
                }
        }
        if (!placed)
                return fail_check(NVV_CHECK_PLACEMENT, reterr_check);
        v.heap_offset = v.fb_offset + v.fb_length;
        v.heap_length = t->gsp_heap_size;
        if (v.heap_offset + v.heap_length > v.alloc_offset + v.alloc_length)
                return fail_check(NVV_CHECK_PLACEMENT, reterr_check);
        /* 7 */
        block = prev_pow2(p->geo.total_chids / t->max_instance);
        if (block == 0)
                return fail_check(NVV_CHECK_CHANNELS, reterr_check);
        if (free_chid_blocks(p, block, 1, &v.chid_offset) == 0)
                return fail_check(NVV_CHECK_CHANNELS, reterr_check);
        v.chid_count = block;
        /* The reply: lowest unused vgpu_id from 1. */
        for (uint32_t id = 1;; id++) {
                bool used = false;

                for (size_t i = 0; !used && i < p->n; i++)
                        used = p->vgpus[i].vgpu_id == id;
                if (!used) {
                        v.vgpu_id = id;
                        break;
                }
        }
        v.type_id = type_id;
        strcpy(v.name, name);
        if (ret)
                *ret = v;
        return 0;
}

int nvv_partition_try_create(const struct nvv_partition *p, uint32_t type_id, const char *name,
                             struct nvv_partition_vgpu *ret, enum nvv_partition_check *reterr_check)
{
        return try_create(p, type_id, name, NVV_PLACEMENT_NONE, ret, reterr_check);
}

int nvv_partition_try_create_at(const struct nvv_partition *p, uint32_t type_id, const char *name,
                                uint32_t placement_id, struct nvv_partition_vgpu *ret,
                                enum nvv_partition_check *reterr_check)
{
        return try_create(p, type_id, name, placement_id, ret, reterr_check);
}

static void commit(struct nvv_partition *p, const struct nvv_partition_vgpu *v)
{
        p->vgpus[p->n++] = *v;
        if (v->placement_id != NVV_PLACEMENT_NONE)
                units_set(p, v->placement_id, v->placement_size, true);
}

int nvv_partition_create(struct nvv_partition *p, uint32_t type_id, const char *name,
                         struct nvv_partition_vgpu *ret, enum nvv_partition_check *reterr_check)
{
        struct nvv_partition_vgpu v;
        int r;

        r = nvv_partition_try_create(p, type_id, name, &v, reterr_check);
        if (r < 0)
                return r;
        commit(p, &v);
        if (ret)
                *ret = v;
        return 0;
}

int nvv_partition_create_at(struct nvv_partition *p, uint32_t type_id, const char *name, uint32_t placement_id,
                            struct nvv_partition_vgpu *ret, enum nvv_partition_check *reterr_check)
{
        struct nvv_partition_vgpu v;
        int r;

        r = try_create(p, type_id, name, placement_id, &v, reterr_check);
        if (r < 0)
                return r;
        commit(p, &v);
        if (ret)
                *ret = v;
        return 0;
}

int nvv_partition_insert(struct nvv_partition *p, const struct nvv_partition_vgpu *in, char **reterr_msg)
{
        const struct nvv_vgpu_type *t;
        struct nvv_partition_vgpu v;
        uint64_t seg;
        bool legal = false;

        assert_return(p && in, -EINVAL);
        v = *in;
        seg = p->geo.vmmu_segment;
        if (!*v.name || strnlen(v.name, NVV_PARTITION_NAME_MAX) >= NVV_PARTITION_NAME_MAX)
                return nvv_fail(reterr_msg, "a vGPU without a usable name");
        t = nvv_partition_find_type(p, v.type_id);
        if (!t)
                return nvv_fail(reterr_msg, "%s: type %u is not in the type table", v.name, v.type_id);
        /* What the vGPU holds follows from its type and placement, as create() lays it out. */
        if (is_first_fit(t, p->mode)) {
                v.placement_size = 0;
                v.alloc_offset = v.fb_offset;
                v.alloc_length = ALIGN_UP(t->fb_length + t->fb_reservation, seg);
                v.fb_length = t->fb_length;
                legal = v.placement_id == NVV_PLACEMENT_NONE && v.fb_offset % seg == 0 &&
                        v.alloc_offset + v.alloc_length <= p->usable;
        } else {
                const uint32_t *ids = p->mode == NVV_PARTITION_HOMOGENEOUS ? t->homogeneous_placement_ids
                                                                           : t->heterogeneous_placement_ids;
                uint32_t n_ids = MIN(p->mode == NVV_PARTITION_HOMOGENEOUS ? t->homogeneous_placement_count
                                                                          : t->heterogeneous_placement_count,
                                     (uint32_t) NVV_MAX_PLACEMENTS);

                for (uint32_t i = 0; i < n_ids && !legal; i++)
                        legal = ids[i] == v.placement_id;
                v.placement_size = t->placement_size;
                v.alloc_offset = (uint64_t) v.placement_id * p->unit_size;
                v.alloc_length = (uint64_t) t->placement_size * p->unit_size;
                v.fb_length = ALIGN_UP(t->fb_length, seg);
                legal = legal && v.fb_offset == v.alloc_offset && units_free(p, v.placement_id, v.placement_size);
        }
        v.heap_offset = v.fb_offset + v.fb_length;
        v.heap_length = t->gsp_heap_size;
        if (!legal || (in->fb_length && in->fb_length != v.fb_length))
                return nvv_fail(reterr_msg, "%s: placement %s at FB offset 0x%" PRIx64 " is not one type %u can have in %s mode",
                                v.name, v.placement_id == NVV_PLACEMENT_NONE ? "none" : "given", v.fb_offset, v.type_id,
                                nvv_partition_mode_to_string(p->mode));
        if (find_name(p, v.name, NULL))
                return nvv_fail(reterr_msg, "%s: the name is already in use", v.name);
        if (p->n >= p->max_vgpus)
                return nvv_fail(reterr_msg, "%s: the GPU already holds its %u vGPUs", v.name, p->max_vgpus);
        if (nvv_partition_count_type(p, v.type_id) >= t->max_instance)
                return nvv_fail(reterr_msg, "%s: more than %u vGPUs of type %u", v.name, t->max_instance, v.type_id);
        if (v.vgpu_id == 0)
                return nvv_fail(reterr_msg, "%s: vGPU id 0", v.name);
        if (v.chid_count == 0 || (uint64_t) v.chid_offset + v.chid_count > p->geo.total_chids)
                return nvv_fail(reterr_msg, "%s: channels %u+%u are outside the GPU's %u", v.name, v.chid_offset,
                                v.chid_count, p->geo.total_chids);
        for (size_t i = 0; i < p->n; i++) {
                const struct nvv_partition_vgpu *o = &p->vgpus[i];

                if (p->mode == NVV_PARTITION_HOMOGENEOUS && o->type_id != v.type_id)
                        return nvv_fail(reterr_msg, "%s: equal-size mode holds type %u already, not %u", v.name,
                                        o->type_id, v.type_id);
                if (o->vgpu_id == v.vgpu_id)
                        return nvv_fail(reterr_msg, "%s: vGPU id %u is %s's", v.name, v.vgpu_id, o->name);
                if (ranges_overlap(v.alloc_offset, v.alloc_length, o->alloc_offset, o->alloc_length))
                        return nvv_fail(reterr_msg, "%s: its framebuffer overlaps %s's", v.name, o->name);
                if (ranges_overlap(v.chid_offset, v.chid_count, o->chid_offset, o->chid_count))
                        return nvv_fail(reterr_msg, "%s: its channels overlap %s's", v.name, o->name);
        }
        commit(p, &v);
        return 0;
}

int nvv_partition_remove(struct nvv_partition *p, const char *name)
{
        size_t i;

        assert_return(p && name, -EINVAL);
        if (!find_name(p, name, &i))
                return -ENOENT;
        if (p->vgpus[i].placement_id != NVV_PLACEMENT_NONE)
                units_set(p, p->vgpus[i].placement_id, p->vgpus[i].placement_size, false);
        memmove(&p->vgpus[i], &p->vgpus[i + 1], (p->n - i - 1) * sizeof(p->vgpus[0]));
        p->n--;
        return 0;
}

/* available() by creating one after another on a scratch copy: the definition. */
static unsigned available_by_creating(const struct nvv_partition *p, uint32_t type_id)
{
        struct nvv_partition tmp;
        unsigned n = 0;

        /* A shallow copy on the stack: the type table is only read. */
        memcpy(&tmp, p, offsetof(struct nvv_partition, vgpus));
        memcpy(tmp.vgpus, p->vgpus, p->n * sizeof(p->vgpus[0]));
        memcpy(tmp.units, p->units, sizeof(p->units));
        for (;;) {
                struct nvv_partition_vgpu v;
                char name[32];
                bool clash;

                /* A name no existing vGPU has. */
                for (unsigned k = 0;; k++) {
                        snprintf(name, sizeof(name), "\001avail-%u", n + k);
                        clash = find_name(&tmp, name, NULL);
                        if (!clash)
                                break;
                }
                if (nvv_partition_try_create(&tmp, type_id, name, &v, NULL) < 0)
                        break;
                tmp.vgpus[tmp.n++] = v;
                if (v.placement_id != NVV_PLACEMENT_NONE)
                        units_set(&tmp, v.placement_id, v.placement_size, true);
                n++;
        }
        return n;
}

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

        return x < y ? -1 : x > y;
}

/*
 * The same for a type with placement ids, counted instead of created: each create takes one
 * slot (check 3), one instance (4), the lowest free placement (6: taking them lowest first
 * leaves exactly what the next create would find) and the lowest free channel block (7: the
 * blocks of one type are aligned and disjoint, so every free one is taken in turn). The other
 * checks do not change from one create to the next. The planner's search calls this at every
 * step; test-planner checks it against available_by_creating on random states.
 */
static unsigned available_by_counting(const struct nvv_partition *p, const struct nvv_vgpu_type *t)
{
        const uint32_t *ids = p->mode == NVV_PARTITION_HOMOGENEOUS ? t->homogeneous_placement_ids
                                                                   : t->heterogeneous_placement_ids;
        uint32_t n_ids = MIN(p->mode == NVV_PARTITION_HOMOGENEOUS ? t->homogeneous_placement_count
                                                                  : t->heterogeneous_placement_count,
                             (uint32_t) NVV_MAX_PLACEMENTS);
        uint64_t slot = (uint64_t) t->placement_size * p->unit_size;
        uint64_t fb_len = ALIGN_UP(t->fb_length, p->geo.vmmu_segment);
        struct nvv_partition tmp;
        uint32_t sorted[NVV_MAX_PLACEMENTS], block, same = 0;
        unsigned n, places = 0, blocks = 0;

        if (p->n >= p->max_vgpus || fb_len > slot || fb_len + t->gsp_heap_size > slot)
                return 0;
        for (size_t i = 0; i < p->n; i++) {
                if (p->vgpus[i].type_id == t->type_id)
                        same++;
                else if (p->mode == NVV_PARTITION_HOMOGENEOUS)
                        return 0;
        }
        if (same >= t->max_instance)
                return 0;
        n = MIN(p->max_vgpus - (uint32_t) p->n, t->max_instance - same);
        memcpy(sorted, ids, n_ids * sizeof(sorted[0]));
        for (uint32_t i = 1; i < n_ids; i++)
                if (sorted[i] < sorted[i - 1]) {
                        qsort(sorted, n_ids, sizeof(sorted[0]), cmp_u32);
                        break;
                }
        memcpy(tmp.units, p->units, sizeof(p->units));
        tmp.geo.placement_units = p->geo.placement_units;
        for (uint32_t i = 0; i < n_ids && places < n; i++)
                if (units_free(&tmp, sorted[i], t->placement_size)) {
                        units_set(&tmp, sorted[i], t->placement_size, true);
                        places++;
                }
        block = prev_pow2(p->geo.total_chids / t->max_instance);
        blocks = places && block ? free_chid_blocks(p, block, places, NULL) : 0;
        return MIN(places, blocks);
}

unsigned nvv_partition_available(const struct nvv_partition *p, uint32_t type_id)
{
        const struct nvv_vgpu_type *t;

        if (!p || !(t = nvv_partition_find_type(p, type_id)))
                return 0;
        if (is_first_fit(t, p->mode))
                return available_by_creating(p, type_id);
        return available_by_counting(p, t);
}

/*
 * The placements where the type could still be created: those of the mode's list whose units
 * are all free now, if checks 3-5 of create() and the slot-size check pass (none otherwise).
 * Every vGPU of the type made from here on, among whatever others, takes one of them (units
 * are only taken by creating). The planner's search bounds with them what a GPU's free units
 * can still hold.
 */
int nvv_partition_free_placements(const struct nvv_partition *p, uint32_t type_id, uint32_t ret[static NVV_MAX_PLACEMENTS])
{
        const struct nvv_vgpu_type *t;
        const uint32_t *ids;
        uint32_t n_ids;
        uint64_t slot, fb_len;
        int n = 0;

        assert_return(p && ret, -EINVAL);
        t = nvv_partition_find_type(p, type_id);
        if (!t)
                return -ENOENT;
        if (is_first_fit(t, p->mode))
                return -EOPNOTSUPP;
        if (p->n >= p->max_vgpus || nvv_partition_count_type(p, type_id) >= t->max_instance)
                return 0;
        if (p->mode == NVV_PARTITION_HOMOGENEOUS)
                for (size_t i = 0; i < p->n; i++)
                        if (p->vgpus[i].type_id != type_id)
                                return 0;
        slot = (uint64_t) t->placement_size * p->unit_size;
        fb_len = ALIGN_UP(t->fb_length, p->geo.vmmu_segment);
        if (fb_len > slot || fb_len + t->gsp_heap_size > slot)
                return 0;
        ids = p->mode == NVV_PARTITION_HOMOGENEOUS ? t->homogeneous_placement_ids : t->heterogeneous_placement_ids;
        n_ids = MIN(p->mode == NVV_PARTITION_HOMOGENEOUS ? t->homogeneous_placement_count : t->heterogeneous_placement_count,
                    (uint32_t) NVV_MAX_PLACEMENTS);
        for (uint32_t i = 0; i < n_ids; i++)
                if (units_free(p, ids[i], t->placement_size))
                        ret[n++] = ids[i];
        return n;
}

unsigned nvv_partition_available_by_creating(const struct nvv_partition *p, uint32_t type_id)
{
        if (!p || !nvv_partition_find_type(p, type_id))
                return 0;
        return available_by_creating(p, type_id);
}

size_t nvv_partition_count(const struct nvv_partition *p)
{
        return p ? p->n : 0;
}

const struct nvv_partition_vgpu *nvv_partition_get(const struct nvv_partition *p, size_t i)
{
        return p && i < p->n ? &p->vgpus[i] : NULL;
}

const struct nvv_partition_vgpu *nvv_partition_find(const struct nvv_partition *p, const char *name)
{
        size_t i;

        return p && name && find_name(p, name, &i) ? &p->vgpus[i] : NULL;
}

uint32_t nvv_partition_used_units(const struct nvv_partition *p)
{
        uint32_t n = 0;

        for (size_t i = 0; p && i < UNIT_WORDS; i++)
                n += (uint32_t) __builtin_popcountll(p->units[i]);
        return n;
}

uint64_t nvv_partition_used_fb(const struct nvv_partition *p)
{
        uint64_t n = 0;

        for (size_t i = 0; p && i < p->n; i++)
                n += p->vgpus[i].alloc_length;
        return n;
}

static int cmp_vgpu_res(const void *a, const void *b)
{
        const struct nvv_partition_vgpu *x = a, *y = b;

        if (x->alloc_offset != y->alloc_offset)
                return x->alloc_offset < y->alloc_offset ? -1 : 1;
        return (x->type_id > y->type_id) - (x->type_id < y->type_id);
}

static bool same_table(const struct type_table *a, const struct type_table *b)
{
        return a == b || (a->n == b->n && memcmp(a->types, b->types, a->n * sizeof(a->types[0])) == 0);
}

/* Field by field: a geometry built on the stack has padding nobody set. */
static bool same_geo(const struct nvv_partition_geometry *a, const struct nvv_partition_geometry *b)
{
        return a->fb_total == b->fb_total && a->fb_reserved == b->fb_reserved && a->vmmu_segment == b->vmmu_segment &&
               a->placement_units == b->placement_units && a->num_vfs == b->num_vfs &&
               a->total_chids == b->total_chids && a->max_vgpu_per_pgpu == b->max_vgpu_per_pgpu &&
               a->max_vgpu_types == b->max_vgpu_types && a->heterogeneous_timesliced == b->heterogeneous_timesliced;
}

bool nvv_partition_same_config(const struct nvv_partition *a, const struct nvv_partition *b)
{
        return a && b && a->mode == b->mode && same_geo(&a->geo, &b->geo) && same_table(a->table, b->table);
}

bool nvv_partition_same_state(const struct nvv_partition *a, const struct nvv_partition *b)
{
        struct nvv_partition_vgpu va[NVV_MAX_VGPUS], vb[NVV_MAX_VGPUS];

        if (!a || !b || a->n != b->n || a->mode != b->mode || !same_table(a->table, b->table) ||
            memcmp(a->units, b->units, sizeof(a->units)) != 0 || !same_geo(&a->geo, &b->geo))
                return false;
        memcpy(va, a->vgpus, a->n * sizeof(va[0]));
        memcpy(vb, b->vgpus, b->n * sizeof(vb[0]));
        qsort(va, a->n, sizeof(va[0]), cmp_vgpu_res);
        qsort(vb, b->n, sizeof(vb[0]), cmp_vgpu_res);
        for (size_t i = 0; i < a->n; i++)
                if (va[i].type_id != vb[i].type_id || va[i].alloc_offset != vb[i].alloc_offset ||
                    va[i].chid_offset != vb[i].chid_offset)
                        return false;
        return true;
}

int nvv_partition_check_invariants(const struct nvv_partition *p, char **reterr_msg)
{
        uint64_t units[UNIT_WORDS] = {};

        assert_return(p, -EINVAL);
        if (p->n > p->max_vgpus)
                return nvv_fail_errno(-EUCLEAN, reterr_msg, "%zu vGPUs on a GPU with %" PRIu32 " slots", p->n, p->max_vgpus);
        for (size_t i = 0; i < p->n; i++) {
                const struct nvv_partition_vgpu *v = &p->vgpus[i];
                const struct nvv_vgpu_type *t = nvv_partition_find_type(p, v->type_id);

                if (!t)
                        return nvv_fail_errno(-EUCLEAN, reterr_msg, "vGPU '%s' has type %" PRIu32 ", not in the table", v->name, v->type_id);
                if (v->vgpu_id == 0)
                        return nvv_fail_errno(-EUCLEAN, reterr_msg, "vGPU '%s' has vgpu_id 0", v->name);
                if (v->alloc_offset + v->alloc_length > p->usable)
                        return nvv_fail_errno(-EUCLEAN, reterr_msg, "vGPU '%s' FB [%" PRIu64 ", +%" PRIu64 ") runs past the usable FB (%" PRIu64 ")",
                                   v->name, v->alloc_offset, v->alloc_length, p->usable);
                if (v->fb_offset < v->alloc_offset || v->fb_offset + v->fb_length > v->heap_offset ||
                    v->heap_offset + v->heap_length > v->alloc_offset + v->alloc_length)
                        return nvv_fail_errno(-EUCLEAN, reterr_msg, "vGPU '%s': guest FB or plugin heap outside its slot", v->name);
                if (v->fb_offset % p->geo.vmmu_segment)
                        return nvv_fail_errno(-EUCLEAN, reterr_msg, "vGPU '%s': guest FB not VMMU-segment aligned", v->name);
                if (v->heap_length < t->gsp_heap_size || v->fb_length < t->fb_length)
                        return nvv_fail_errno(-EUCLEAN, reterr_msg, "vGPU '%s': smaller than its type", v->name);
                if (v->chid_count == 0 || v->chid_offset % v->chid_count ||
                    (uint64_t) v->chid_offset + v->chid_count > p->geo.total_chids)
                        return nvv_fail_errno(-EUCLEAN, reterr_msg, "vGPU '%s': channel block %" PRIu32 "+%" PRIu32 " misaligned or outside the pool",
                                   v->name, v->chid_offset, v->chid_count);
                if (nvv_partition_count_type(p, v->type_id) > t->max_instance)
                        return nvv_fail_errno(-EUCLEAN, reterr_msg, "type %" PRIu32 " exceeds max_instance", v->type_id);
                if (p->mode == NVV_PARTITION_HOMOGENEOUS && v->type_id != p->vgpus[0].type_id)
                        return nvv_fail_errno(-EUCLEAN, reterr_msg, "equal-size mode holds types %" PRIu32 " and %" PRIu32,
                                   p->vgpus[0].type_id, v->type_id);
                if (v->placement_id != NVV_PLACEMENT_NONE) {
                        const uint32_t *ids = p->mode == NVV_PARTITION_HOMOGENEOUS ? t->homogeneous_placement_ids
                                                                                   : t->heterogeneous_placement_ids;
                        uint32_t n = p->mode == NVV_PARTITION_HOMOGENEOUS ? t->homogeneous_placement_count
                                                                          : t->heterogeneous_placement_count;
                        bool legal = false;

                        for (uint32_t k = 0; k < n; k++)
                                legal = legal || ids[k] == v->placement_id;
                        if (!legal)
                                return nvv_fail_errno(-EUCLEAN, reterr_msg, "vGPU '%s': placement %" PRIu32 " is not one of its type's", v->name,
                                           v->placement_id);
                        if ((uint64_t) v->placement_id + v->placement_size > p->geo.placement_units)
                                return nvv_fail_errno(-EUCLEAN, reterr_msg, "vGPU '%s': placement past the last unit", v->name);
                        if (v->alloc_offset != (uint64_t) v->placement_id * p->unit_size)
                                return nvv_fail_errno(-EUCLEAN, reterr_msg, "vGPU '%s': FB offset does not match placement", v->name);
                        for (uint32_t u = v->placement_id; u < v->placement_id + v->placement_size; u++) {
                                if (units[u / 64] >> (u % 64) & 1)
                                        return nvv_fail_errno(-EUCLEAN, reterr_msg, "placement unit %" PRIu32 " used twice", u);
                                units[u / 64] |= UINT64_C(1) << (u % 64);
                        }
                }
                for (size_t k = 0; k < i; k++) {
                        const struct nvv_partition_vgpu *w = &p->vgpus[k];

                        if (streq(v->name, w->name) || v->vgpu_id == w->vgpu_id)
                                return nvv_fail_errno(-EUCLEAN, reterr_msg, "vGPUs '%s' and '%s' share a name or id", v->name, w->name);
                        if (ranges_overlap(v->alloc_offset, v->alloc_length, w->alloc_offset, w->alloc_length))
                                return nvv_fail_errno(-EUCLEAN, reterr_msg, "FB of '%s' and '%s' overlap", v->name, w->name);
                        if (ranges_overlap(v->chid_offset, v->chid_count, w->chid_offset, w->chid_count))
                                return nvv_fail_errno(-EUCLEAN, reterr_msg, "channels of '%s' and '%s' overlap", v->name, w->name);
                }
        }
        if (memcmp(units, p->units, sizeof(units)) != 0)
                return nvv_fail_errno(-EUCLEAN, reterr_msg, "the placement-unit map disagrees with the vGPUs");
        return 0;
}
