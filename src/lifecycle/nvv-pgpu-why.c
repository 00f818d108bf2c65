/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Why a type is not creatable, and the framebuffer picture behind it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-pgpu-internal.h"
#include "util.h"

#define MIB (UINT64_C(1) << 20)

static const char *const why_names[_NVV_WHY_MAX] = {
        [NVV_WHY_NONE] = "none",
        [NVV_WHY_UNKNOWN_TYPE] = "unknown-type",
        [NVV_WHY_CAP] = "cap-reached",
        [NVV_WHY_MODE] = "equal-size-mode",
        [NVV_WHY_FRAGMENTED] = "fragmented",
        [NVV_WHY_FB] = "no-framebuffer",
        [NVV_WHY_NO_VF] = "no-vf",
        [NVV_WHY_CHANNELS] = "no-channels",
        [NVV_WHY_GPU_STATE] = "gpu-not-ready",
};

const char *nvv_pgpu_why_to_string(enum nvv_pgpu_why w)
{
        return w >= 0 && w < _NVV_WHY_MAX ? why_names[w] : NULL;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

/* Free ranges of the usable FB: what no vGPU's allocation covers. state_lock held. */
static void fb_picture(const struct nvv_pgpu *g, struct nvv_pgpu_fb *ret)
{
        const struct nvv_partition_geometry *geo = nvv_partition_get_geometry(g->part);
        size_t n = nvv_partition_count(g->part);
        uint64_t starts[NVV_MAX_VGPUS * 2], cursor = 0;
        size_t k = 0;

        *ret = (struct nvv_pgpu_fb) { .total = geo->fb_total,
                                      .reserved_start = geo->fb_total > geo->fb_reserved ? geo->fb_total - geo->fb_reserved : 0 };
        /* Pairs (offset, end) sorted by offset; vGPU allocations never overlap. */
        for (size_t i = 0; i < n && k + 1 < ELEMENTSOF(starts); i++) {
                const struct nvv_partition_vgpu *v = nvv_partition_get(g->part, i);

                starts[k++] = v->alloc_offset;
                starts[k++] = v->alloc_offset + v->alloc_length;
                ret->used += v->alloc_length;
        }
        /* Sorting the flat list keeps each (start, end) pair adjacent because ranges are disjoint. */
        qsort(starts, k, sizeof(starts[0]), cmp_u64);
        for (size_t i = 0; i + 1 < k; i += 2) {
                if (starts[i] > cursor)
                        ret->largest_free = MAX(ret->largest_free, starts[i] - cursor);
                cursor = MAX(cursor, starts[i + 1]);
        }
        if (ret->reserved_start > cursor)
                ret->largest_free = MAX(ret->largest_free, ret->reserved_start - cursor);
        ret->free = ret->reserved_start > ret->used ? ret->reserved_start - ret->used : 0;
}

int nvv_pgpu_get_fb(const struct nvv_pgpu *g, struct nvv_pgpu_fb *ret)
{
        struct nvv_pgpu *m = (struct nvv_pgpu *) g;

        assert_return(g && ret, -EINVAL);
        PGPU_LOCK(l, &m->state_lock);
        fb_picture(g, ret);
        return 0;
}

enum nvv_pgpu_why nvv_pgpu_why_not(const struct nvv_pgpu *g, uint32_t type_id, char **ret_message)
{
        struct nvv_pgpu *m = (struct nvv_pgpu *) g;
        const struct nvv_vgpu_type *t;
        const struct nvv_catalog_type *ct;
        enum nvv_partition_check check = NVV_CHECK_OK;
        struct nvv_partition_vgpu pred;
        struct nvv_pgpu_fb fb;
        const char *name;
        char *msg = NULL;
        enum nvv_pgpu_why w;
        char tbuf[32];

        assert_return(g, _NVV_WHY_INVALID);
        PGPU_LOCK(l, &m->state_lock);
        ct = pgpu_catalog_type(g, type_id);
        t = nvv_partition_find_type(g->part, type_id);
        if (ct)
                name = ct->short_name;
        else if (t)
                name = t->name;
        else {
                snprintf(tbuf, sizeof(tbuf), "type %" PRIu32, type_id);
                name = tbuf;
        }
        if (g->state != NVV_PGPU_READY) {
                w = NVV_WHY_GPU_STATE;
                (void) asprintf(&msg, "GPU %s is %s%s%s", g->name, nvv_pgpu_state_to_string(g->state),
                                g->error ? ": " : "", g->error ? g->error : "");
                goto out;
        }
        if (!t) {
                w = NVV_WHY_UNKNOWN_TYPE;
                (void) asprintf(&msg, "%s is not in GPU %s's type table (policy or catalog)", name, g->name);
                goto out;
        }
        if (nvv_partition_try_create(g->part, type_id, "why-not-probe", &pred, &check) >= 0) {
                w = NVV_WHY_NONE;
                goto out;
        }
        fb_picture(g, &fb);
        switch (check) {
        case NVV_CHECK_SLOTS:
                w = NVV_WHY_NO_VF;
                (void) asprintf(&msg, "no VF left: %zu vGPUs use all %" PRIu32 " that GPU %s offers", nvv_partition_count(g->part),
                                nvv_partition_max_vgpus(g->part), g->name);
                break;
        case NVV_CHECK_MAX_INSTANCE:
                w = NVV_WHY_CAP;
                (void) asprintf(&msg, "its cap is reached: %u of %u %s exist", nvv_partition_count_type(g->part, type_id),
                                nvv_partition_get_mode(g->part) == NVV_PARTITION_HETEROGENEOUS && ct && ct->mixed_max_instance
                                        ? ct->mixed_max_instance
                                        : t->max_instance,
                                name);
                break;
        case NVV_CHECK_MODE: {
                const struct nvv_partition_vgpu *other = nvv_partition_get(g->part, 0);
                const struct nvv_catalog_type *ot = other ? pgpu_catalog_type(g, other->type_id) : NULL;

                w = NVV_WHY_MODE;
                (void) asprintf(&msg, "GPU %s is in equal-size mode and holds %s vGPUs; only that type fits beside them",
                                g->name, ot ? ot->short_name : "other");
                break;
        }
        case NVV_CHECK_PLACEMENT: {
                uint64_t need = t->fb_length + t->fb_reservation;

                if (fb.free >= need) {
                        w = NVV_WHY_FRAGMENTED;
                        (void) asprintf(&msg,
                                        "no placement free: %" PRIu64 " MiB of framebuffer are free but split (largest "
                                        "free range %" PRIu64 " MiB; %s needs an aligned %" PRIu64 " MiB)",
                                        fb.free / MIB, fb.largest_free / MIB, name, need / MIB);
                } else {
                        w = NVV_WHY_FB;
                        (void) asprintf(&msg, "not enough framebuffer: %" PRIu64 " MiB free, %s needs %" PRIu64 " MiB",
                                        fb.free / MIB, name, need / MIB);
                }
                break;
        }
        case NVV_CHECK_CHANNELS:
                w = NVV_WHY_CHANNELS;
                (void) asprintf(&msg, "no channel block free on GPU %s", g->name);
                break;
        default:
                w = NVV_WHY_UNKNOWN_TYPE;
                (void) asprintf(&msg, "%s cannot be created on GPU %s: %s", name, g->name,
                                nvv_partition_check_to_string(check));
                break;
        }
out:
        if (ret_message)
                *ret_message = msg;
        else
                free(msg);
        return w;
}
