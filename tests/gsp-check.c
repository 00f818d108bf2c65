/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gsp-check.h"
#include "util.h"

#define BRUTE_MAX_STEPS (UINT64_C(1) << 20)

_printf_(3, 4) static int fail(char *err, size_t errlen, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        return -EUCLEAN;
}

static uint64_t usable_fb(const struct nvv_gsp_config *cfg)
{
        return cfg->fb_total - cfg->fb_reserved;
}

static uint64_t unit_size(const struct nvv_gsp_config *cfg)
{
        uint64_t per = usable_fb(cfg) / cfg->placement_units;

        return per - per % cfg->vmmu_segment;
}

static uint64_t round_up(uint64_t x, uint64_t a)
{
        return x % a ? x + (a - x % a) : x;
}

static uint32_t max_vgpus(const struct nvv_gsp_config *cfg, const struct nvv_fwabi *fw)
{
        return cfg->num_vfs < fw->sizing.max_vgpu_per_pgpu ? cfg->num_vfs : fw->sizing.max_vgpu_per_pgpu;
}

static uint32_t chid_block(const struct nvv_gsp_config *cfg, uint32_t max_instance)
{
        uint32_t q = cfg->total_chids / max_instance, n = 1;

        if (q == 0)
                return 0;
        while ((uint64_t) n * 2 <= q)
                n *= 2;
        return n;
}

static bool disjoint(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
        return a + alen <= b || b + blen <= a;
}

static bool in_list(const uint32_t *ids, uint32_t n, uint32_t id)
{
        for (uint32_t i = 0; i < n; i++)
                if (ids[i] == id)
                        return true;
        return false;
}

bool gsp_check_status_known(const struct nvv_fwabi *fw, const char *name)
{
        if (!name)
                return false;
        for (size_t i = 0; i < fw->n_status; i++)
                if (streq(fw->status[i].name, name))
                        return true;
        return false;
}

int gsp_check_invariants(const struct nvv_gsp *g, const struct nvv_gsp_config *cfg, const struct nvv_fwabi *fw,
                         bool relaxed, char *err, size_t errlen)
{
        struct nvv_gsp_vgpu_info v[NVV_MAX_VGPUS];
        struct nvv_gsp_state s;
        size_t hosts = 0;

        nvv_gsp_get_state(g, &s);
        if (s.n_vgpus > max_vgpus(cfg, fw))
                return fail(err, errlen, "%zu vGPUs, limit min(%u VFs, %u)", s.n_vgpus, cfg->num_vfs,
                            fw->sizing.max_vgpu_per_pgpu);
        if (s.n_types > fw->sizing.max_vgpu_types_per_pgpu)
                return fail(err, errlen, "%zu types, release allows %u", s.n_types, fw->sizing.max_vgpu_types_per_pgpu);
        if (s.heterogeneous_mode && !fw->commands[NVV_CMD_SET_HETEROGENEOUS_MODE])
                return fail(err, errlen, "mixed mode on a release without set_heterogeneous_mode");
        for (size_t i = 0; i < s.n_vgpus; i++)
                if (nvv_gsp_get_vgpu(g, i, &v[i]) < 0)
                        return fail(err, errlen, "vGPU %zu of %zu missing", i, s.n_vgpus);
        if (nvv_gsp_get_vgpu(g, s.n_vgpus, &(struct nvv_gsp_vgpu_info) {}) != -ENOENT)
                return fail(err, errlen, "more vGPUs than n_vgpus");

        for (size_t i = 0; i < s.n_vgpus; i++) {
                const struct nvv_gsp_vgpu_info *a = &v[i];
                const struct nvv_vgpu_type *t = nvv_gsp_find_type(g, a->type_id);
                size_t same = 0;

                if (a->vgpu_id == 0 || (i > 0 && a->vgpu_id <= v[i - 1].vgpu_id))
                        return fail(err, errlen, "vGPU ids not unique and ascending at %u", a->vgpu_id);
                if (!t)
                        return fail(err, errlen, "vGPU %u has type %u, not in the table", a->vgpu_id, a->type_id);
                for (size_t j = 0; j < s.n_vgpus; j++)
                        if (v[j].type_id == a->type_id)
                                same++;
                if (!relaxed && same > t->max_instance)
                        return fail(err, errlen, "type %u: %zu vGPUs, max_instance %u", a->type_id, same,
                                    t->max_instance);
                if (!s.heterogeneous_mode && a->type_id != v[0].type_id)
                        return fail(err, errlen, "homogeneous mode with types %u and %u", v[0].type_id, a->type_id);

                /* FB */
                if (a->fb_length == 0 || a->fb_offset > usable_fb(cfg) || a->fb_length > usable_fb(cfg) - a->fb_offset)
                        return fail(err, errlen, "vGPU %u FB %#" PRIx64 "+%#" PRIx64 " outside the usable %#" PRIx64,
                                    a->vgpu_id, a->fb_offset, a->fb_length, usable_fb(cfg));
                if (a->fb_offset % cfg->vmmu_segment || a->fb_length % cfg->vmmu_segment)
                        return fail(err, errlen, "vGPU %u FB not VMMU-segment aligned", a->vgpu_id);
                /* placement */
                if (a->placement_id == NVV_PLACEMENT_NONE) {
                        if (a->placement_size != 0)
                                return fail(err, errlen, "vGPU %u: no placement but %u units", a->vgpu_id,
                                            a->placement_size);
                        if (!relaxed && a->fb_length != round_up(t->fb_length + t->fb_reservation, cfg->vmmu_segment))
                                return fail(err, errlen, "vGPU %u first-fit FB length %#" PRIx64, a->vgpu_id, a->fb_length);
                } else {
                        const uint32_t *ids = s.heterogeneous_mode ? t->heterogeneous_placement_ids
                                                                   : t->homogeneous_placement_ids;
                        uint32_t n = s.heterogeneous_mode ? t->heterogeneous_placement_count
                                                          : t->homogeneous_placement_count;

                        if ((uint64_t) a->placement_id + a->placement_size > cfg->placement_units || a->placement_size == 0)
                                return fail(err, errlen, "vGPU %u placement %u+%u outside %u units", a->vgpu_id,
                                            a->placement_id, a->placement_size, cfg->placement_units);
                        if (a->fb_offset != a->placement_id * unit_size(cfg))
                                return fail(err, errlen, "vGPU %u FB offset %#" PRIx64 " is not placement %u's",
                                            a->vgpu_id, a->fb_offset, a->placement_id);
                        if (a->fb_length > (uint64_t) a->placement_size * unit_size(cfg))
                                return fail(err, errlen, "vGPU %u FB spills out of its placement", a->vgpu_id);
                        if (!relaxed && (!in_list(ids, n, a->placement_id) || a->placement_size != t->placement_size ||
                                         a->fb_length != round_up(t->fb_length, cfg->vmmu_segment)))
                                return fail(err, errlen, "vGPU %u placement %u/size %u not legal for type %u",
                                            a->vgpu_id, a->placement_id, a->placement_size, a->type_id);
                }
                /* channels */
                if (a->num_chids == 0 || (a->num_chids & (a->num_chids - 1)) || a->chid_offset % a->num_chids ||
                    (uint64_t) a->chid_offset + a->num_chids > cfg->total_chids)
                        return fail(err, errlen, "vGPU %u channel block %u+%u malformed", a->vgpu_id, a->chid_offset,
                                    a->num_chids);
                if (!relaxed && a->num_chids != chid_block(cfg, t->max_instance))
                        return fail(err, errlen, "vGPU %u: %u channels, rule says %u", a->vgpu_id, a->num_chids,
                                    chid_block(cfg, t->max_instance));
                /* pairwise */
                for (size_t j = 0; j < i; j++) {
                        const struct nvv_gsp_vgpu_info *b = &v[j];

                        if (!disjoint(a->fb_offset, a->fb_length, b->fb_offset, b->fb_length))
                                return fail(err, errlen, "FB of vGPUs %u and %u overlap", b->vgpu_id, a->vgpu_id);
                        if (!disjoint(a->chid_offset, a->num_chids, b->chid_offset, b->num_chids))
                                return fail(err, errlen, "channels of vGPUs %u and %u overlap", b->vgpu_id, a->vgpu_id);
                        if (a->placement_size && b->placement_size &&
                            !disjoint(a->placement_id, a->placement_size, b->placement_id, b->placement_size))
                                return fail(err, errlen, "placement units of vGPUs %u and %u overlap", b->vgpu_id,
                                            a->vgpu_id);
                        if (a->named && b->named && memcmp(a->name, b->name, 16) == 0)
                                return fail(err, errlen, "vGPUs %u and %u share a name", b->vgpu_id, a->vgpu_id);
                        if (a->gfid && a->gfid == b->gfid)
                                return fail(err, errlen, "vGPUs %u and %u share gfid %u", b->vgpu_id, a->vgpu_id, a->gfid);
                }
                /* host device binding */
                if (a->gfid) {
                        struct nvv_gsp_host_info h;

                        if (a->gfid > cfg->num_vfs || nvv_gsp_get_host(g, a->gfid, &h) < 0 || h.vgpu_id != a->vgpu_id)
                                return fail(err, errlen, "vGPU %u names gfid %u, which does not name it back",
                                            a->vgpu_id, a->gfid);
                        if (a->task != h.task)
                                return fail(err, errlen, "vGPU %u task disagrees with gfid %u", a->vgpu_id, a->gfid);
                } else if (a->task != NVV_GSP_TASK_NONE)
                        return fail(err, errlen, "vGPU %u has a task but no gfid", a->vgpu_id);
        }

        for (uint32_t gfid = 0; gfid <= NVV_MAX_VGPUS + 1; gfid++) {
                struct nvv_gsp_host_info h;
                bool found = false;

                if (nvv_gsp_get_host(g, gfid, &h) < 0) {
                        if (nvv_gsp_get_task(g, gfid) != NVV_GSP_TASK_NONE)
                                return fail(err, errlen, "gfid %u has a task but no host device", gfid);
                        continue;
                }
                hosts++;
                if (gfid == 0 || gfid > cfg->num_vfs)
                        return fail(err, errlen, "host device on gfid %u outside 1..%u", gfid, cfg->num_vfs);
                if (h.task <= NVV_GSP_TASK_NONE || h.task >= _NVV_GSP_TASK_MAX)
                        return fail(err, errlen, "gfid %u task %d invalid", gfid, h.task);
                if (h.vgpu_id == 0) {
                        if (h.task != NVV_GSP_TASK_CRASHED && h.task != NVV_GSP_TASK_STOPPED &&
                            h.task != NVV_GSP_TASK_CLEANED)
                                return fail(err, errlen, "gfid %u lost its vGPU but its task is %s", gfid,
                                            nvv_gsp_task_to_string(h.task));
                        continue;
                }
                for (size_t i = 0; i < s.n_vgpus; i++)
                        if (v[i].vgpu_id == h.vgpu_id)
                                found = v[i].gfid == gfid;
                if (!found)
                        return fail(err, errlen, "gfid %u names vGPU %u, which does not name it back", gfid, h.vgpu_id);
        }
        if (hosts != s.n_hosts)
                return fail(err, errlen, "%zu host devices, state says %zu", hosts, s.n_hosts);
        return 0;
}

/* Placement id `id` of type t, checked unit by unit against every vGPU. */
static bool placement_fits(const struct nvv_gsp_vgpu_info *v, size_t n, const struct nvv_gsp_config *cfg,
                           const struct nvv_vgpu_type *t, uint32_t id, struct gsp_expect *e)
{
        uint64_t off, len;

        if ((uint64_t) id + t->placement_size > cfg->placement_units)
                return false;
        for (uint64_t u = id; u < (uint64_t) id + t->placement_size; u++)
                for (size_t i = 0; i < n; i++)
                        if (v[i].placement_size && u >= v[i].placement_id && u < (uint64_t) v[i].placement_id + v[i].placement_size)
                                return false;
        if (t->fb_length > usable_fb(cfg))
                return false;
        off = (uint64_t) id * unit_size(cfg);
        len = round_up(t->fb_length, cfg->vmmu_segment);
        if (len > (uint64_t) t->placement_size * unit_size(cfg))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!disjoint(off, len, v[i].fb_offset, v[i].fb_length))
                        return false;
        e->placement_id = id;
        e->fb_offset = off;
        e->fb_length = len;
        return true;
}

bool gsp_check_predict_create(const struct nvv_gsp *g, const struct nvv_gsp_config *cfg,
                              const struct nvv_fwabi *fw, uint32_t type_id, const uint8_t *name,
                              uint32_t key_gfid, uint32_t want, struct gsp_expect *ret)
{
        struct nvv_gsp_vgpu_info v[NVV_MAX_VGPUS];
        struct gsp_expect e = { .placement_id = NVV_PLACEMENT_NONE };
        const struct nvv_vgpu_type *t;
        struct nvv_gsp_state s;
        bool none = want == NVV_PLACEMENT_NONE ||
                    (fw->sizing.placement_id_invalid && want == fw->sizing.placement_id_invalid);
        size_t same = 0;
        uint32_t block;
        bool found = false;

        nvv_gsp_get_state(g, &s);
        for (size_t i = 0; i < s.n_vgpus; i++)
                if (nvv_gsp_get_vgpu(g, i, &v[i]) < 0)
                        return false;

#define VERDICT(st) do { e.status = (st); *ret = e; return true; } while (0)
        t = nvv_gsp_find_type(g, type_id);
        if (!t)
                VERDICT("NV_ERR_OBJECT_NOT_FOUND");
        for (size_t i = 0; i < s.n_vgpus; i++)
                if (name && v[i].named && memcmp(v[i].name, name, 16) == 0)
                        VERDICT("NV_ERR_IN_USE");
        if (key_gfid && nvv_gsp_get_task(g, key_gfid) != NVV_GSP_TASK_NONE)
                VERDICT("NV_ERR_IN_USE");
        if (s.n_vgpus >= max_vgpus(cfg, fw))
                VERDICT("NV_ERR_INSUFFICIENT_RESOURCES");
        for (size_t i = 0; i < s.n_vgpus; i++)
                if (v[i].type_id == type_id)
                        same++;
        if (same >= t->max_instance)
                VERDICT("NV_ERR_INSUFFICIENT_RESOURCES");
        if (!s.heterogeneous_mode && same != s.n_vgpus)
                VERDICT("NV_ERR_INVALID_STATE");

        /* The current mode's list decides: empty means first-fit (firmware-model.md §4). */
        if (s.heterogeneous_mode ? t->heterogeneous_placement_count : t->homogeneous_placement_count) {
                const uint32_t *ids = s.heterogeneous_mode ? t->heterogeneous_placement_ids : t->homogeneous_placement_ids;
                uint32_t n = s.heterogeneous_mode ? t->heterogeneous_placement_count : t->homogeneous_placement_count;

                if (!none) {
                        if (!in_list(ids, n, want))
                                VERDICT("NV_ERR_INVALID_ARGUMENT");
                        found = placement_fits(v, s.n_vgpus, cfg, t, want, &e);
                } else
                        for (uint32_t id = 0; id < cfg->placement_units && !found; id++)
                                found = in_list(ids, n, id) && placement_fits(v, s.n_vgpus, cfg, t, id, &e);
        } else {
                uint64_t len;

                if (!none)
                        VERDICT("NV_ERR_INVALID_ARGUMENT");
                if (usable_fb(cfg) / cfg->vmmu_segment > BRUTE_MAX_STEPS)
                        return false;
                len = round_up(t->fb_length + t->fb_reservation, cfg->vmmu_segment);
                if (t->fb_length <= usable_fb(cfg) && t->fb_reservation <= usable_fb(cfg))
                        for (uint64_t o = 0; o + len <= usable_fb(cfg) && !found; o += cfg->vmmu_segment) {
                                found = true;
                                for (size_t i = 0; i < s.n_vgpus && found; i++)
                                        found = disjoint(o, len, v[i].fb_offset, v[i].fb_length);
                                if (found) {
                                        e.fb_offset = o;
                                        e.fb_length = len;
                                }
                        }
        }
        if (!found)
                VERDICT("NV_ERR_INSUFFICIENT_RESOURCES");

        block = chid_block(cfg, t->max_instance);
        if (block == 0)
                VERDICT("NV_ERR_INSUFFICIENT_RESOURCES");
        if (cfg->total_chids / block > BRUTE_MAX_STEPS)
                return false;
        found = false;
        for (uint64_t o = 0; o + block <= cfg->total_chids && !found; o += block) {
                found = true;
                for (size_t i = 0; i < s.n_vgpus && found; i++)
                        found = disjoint(o, block, v[i].chid_offset, v[i].num_chids);
                if (found) {
                        e.chid_offset = (uint32_t) o;
                        e.num_chids = block;
                }
        }
        if (!found)
                VERDICT("NV_ERR_INSUFFICIENT_RESOURCES");
        VERDICT("NV_OK");
#undef VERDICT
}
