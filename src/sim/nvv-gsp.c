/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated GSP's vGPU manager: doc/firmware-model.md turned into code. Section
 * numbers in comments (§N) refer to that page; *(model)* marks a choice the page leaves
 * open. doc/gsp-model-notes.md lists every such reading.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nvv-gsp.h"
#include "nvv-marshal.h"
#include "util.h"

#define ST_OK "NV_OK"
#define ST_IN_USE "NV_ERR_IN_USE"
#define ST_INSUFFICIENT "NV_ERR_INSUFFICIENT_RESOURCES"
#define ST_INVALID_ARGUMENT "NV_ERR_INVALID_ARGUMENT"
#define ST_INVALID_STATE "NV_ERR_INVALID_STATE"
#define ST_NOT_FOUND "NV_ERR_OBJECT_NOT_FOUND"
#define ST_NOT_SUPPORTED "NV_ERR_NOT_SUPPORTED"

/* §7: NVIDIA documents 1-30 ms for the time slice. The default within it is ours (model). */
#define SCHED_MIN_TIMESLICE_NS 1000000u
#define SCHED_MAX_TIMESLICE_NS 30000000u
#define SCHED_DEFAULT_TIMESLICE_NS 2000000u

/* Config sanity bounds: keep every sum below in uint64_t without overflow. */
#define CFG_MAX_FB (UINT64_C(1) << 56)
#define CFG_MAX_PLACEMENT_UNITS 4096u

struct gsp_vgpu {
        bool used;
        bool named;
        bool owned_by_host; /* created by alloc_host_vgpu: lives as long as its host device */
        uint8_t name[16];
        uint32_t vgpu_id, type_id;
        uint32_t placement_id, placement_size;
        uint64_t fb_offset, fb_length;
        uint32_t chid_offset, num_chids;
        uint64_t gsp_heap_size; /* the type's, at creation */
        uint32_t gfid;          /* 0: no host vGPU device */
};

struct gsp_host {
        enum nvv_gsp_task task; /* NONE: no host vGPU device on this gfid */
        int vgpu;               /* slot in vgpus[], -1 once the vGPU is lost */
        uint32_t dbdf, vm_pid, accounting_pid, device_instance_id;
        uint32_t guest_lifecycle;
        bool driver_loaded;
        bool states_freed;      /* free_states ran; the device object waits for its free */
        bool work_stopped;      /* host RPC MIGRATION_STOP_WORK: its vGPU gets no time slice */
        uint32_t resets;        /* host RPC RESETs since the plugin booted */
};

struct nvv_gsp {
        const struct nvv_fwabi *fw;
        struct nvv_gsp_config cfg;
        uint64_t usable_fb, unit_size;
        uint32_t max_vgpus, max_types;
        bool hetero_config, hetero_mode;
        struct nvv_cmd_sched_state sched;
        uint32_t power_state;
        nvv_gsp_event_fn event_fn;
        void *event_ud;
        union nvv_cmd_any event; /* payload handed to event_fn: the union is ~170 KiB */
        size_t n_types;
        struct nvv_vgpu_type types[NVV_MAX_VGPU_TYPES];
        size_t n_vgpus;
        struct gsp_vgpu vgpus[NVV_MAX_VGPUS]; /* vgpus[i] has vgpu_id i + 1 */
        struct gsp_host hosts[NVV_MAX_VGPUS + 1]; /* by gfid; [0] unused */
};

static const char *const task_names[_NVV_GSP_TASK_MAX] = {
        [NVV_GSP_TASK_NONE] = "none",
        [NVV_GSP_TASK_ALLOCATED] = "allocated",
        [NVV_GSP_TASK_RUNNING] = "running",
        [NVV_GSP_TASK_STOPPED] = "stopped",
        [NVV_GSP_TASK_CLEANED] = "cleaned",
        [NVV_GSP_TASK_CRASHED] = "crashed",
};

const char *nvv_gsp_task_to_string(enum nvv_gsp_task t)
{
        if ((int) t < 0 || t >= _NVV_GSP_TASK_MAX)
                return NULL;
        return task_names[t];
}

/* ---- small helpers ---- */

static uint64_t align_up64(uint64_t x, uint64_t a)
{
        return (x + a - 1) / a * a;
}

static uint32_t prev_pow2(uint32_t x)
{
        return x == 0 ? 0 : UINT32_C(1) << (31 - __builtin_clz(x));
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
        return a < b + blen && b < a + alen;
}

static bool name_is_zero(const uint8_t name[16])
{
        for (size_t i = 0; i < 16; i++)
                if (name[i])
                        return false;
        return true;
}

static bool has_command(const struct nvv_gsp *g, int cmd)
{
        return g->fw->commands[cmd] != NULL;
}

/* A placement id meaning "none": ours, or the release's own invalid value. */
static bool placement_is_none(const struct nvv_gsp *g, uint32_t id)
{
        return id == NVV_PLACEMENT_NONE ||
               (g->fw->sizing.placement_id_invalid != 0 && id == g->fw->sizing.placement_id_invalid);
}

/* Hand g->event (filled by the caller) to the event function. */
static void emit(struct nvv_gsp *g, int event)
{
        if (!g->event_fn || !g->fw->event_bindings[event])
                return;
        g->event_fn(g->event_ud, event, &g->event);
}

static void emit_plugin(struct nvv_gsp *g, uint32_t gfid, enum nvv_plugin_notify notify)
{
        memset(&g->event, 0, sizeof(g->event));
        g->event.event_plugin = (struct nvv_event_plugin) { .gfid = gfid, .notify = notify };
        emit(g, NVV_EVENT_PLUGIN);
}

static void sched_set_default(struct nvv_gsp *g)
{
        g->sched = (struct nvv_cmd_sched_state) {
                .policy = NVV_SCHED_BEST_EFFORT, /* §7: the default is best effort */
                .arr = NVV_ARR_DEFAULT,
                .timeslice_ns = SCHED_DEFAULT_TIMESLICE_NS,
        };
}

/* ---- lookups ---- */

/* Like strchr(), these take a const GSP and hand back what the caller may change. */
static struct nvv_vgpu_type *find_type(const struct nvv_gsp *g, uint32_t type_id)
{
        for (size_t i = 0; i < g->n_types; i++)
                if (g->types[i].type_id == type_id)
                        return (struct nvv_vgpu_type *) &g->types[i];
        return NULL;
}

static struct gsp_vgpu *find_vgpu_by_name(const struct nvv_gsp *g, const uint8_t name[16])
{
        for (size_t i = 0; i < NVV_MAX_VGPUS; i++)
                if (g->vgpus[i].used && g->vgpus[i].named && memcmp(g->vgpus[i].name, name, 16) == 0)
                        return (struct gsp_vgpu *) &g->vgpus[i];
        return NULL;
}

/* The host vGPU device of gfid, or NULL (gfid out of range or no device). */
static struct gsp_host *find_host(struct nvv_gsp *g, uint32_t gfid)
{
        if (gfid == 0 || gfid > g->cfg.num_vfs || g->hosts[gfid].task == NVV_GSP_TASK_NONE)
                return NULL;
        return &g->hosts[gfid];
}

static struct gsp_vgpu *host_vgpu(struct nvv_gsp *g, const struct gsp_host *h)
{
        return h->vgpu >= 0 ? &g->vgpus[h->vgpu] : NULL;
}

/* ---- resource allocation (§4) ---- */

struct span {
        uint64_t start, len;
};

/* Lowest offset o, a multiple of `align`, with [o, o+len) inside [0, limit) and clear of
 * every busy span. The answer is 0 or the aligned end of some busy span: if o > 0 is the
 * lowest, o - align was refused only because a span ends in (o - align, o]. */
static bool lowest_fit(const struct span *busy, size_t n, uint64_t limit, uint64_t align, uint64_t len,
                       uint64_t *ret)
{
        bool found = false;
        uint64_t best = 0;

        if (len == 0 || len > limit)
                return false;
        for (size_t c = 0; c <= n; c++) {
                uint64_t o = c == 0 ? 0 : align_up64(busy[c - 1].start + busy[c - 1].len, align);
                bool clear = true;

                if (o > limit - len || (found && o >= best))
                        continue;
                for (size_t i = 0; i < n && clear; i++)
                        if (overlaps(o, len, busy[i].start, busy[i].len))
                                clear = false;
                if (clear) {
                        best = o;
                        found = true;
                }
        }
        if (found)
                *ret = best;
        return found;
}

static size_t busy_fb(const struct nvv_gsp *g, struct span *out)
{
        size_t n = 0;

        for (size_t i = 0; i < NVV_MAX_VGPUS; i++)
                if (g->vgpus[i].used)
                        out[n++] = (struct span) { g->vgpus[i].fb_offset, g->vgpus[i].fb_length };
        return n;
}

static size_t busy_chids(const struct nvv_gsp *g, struct span *out)
{
        size_t n = 0;

        for (size_t i = 0; i < NVV_MAX_VGPUS; i++)
                if (g->vgpus[i].used)
                        out[n++] = (struct span) { g->vgpus[i].chid_offset, g->vgpus[i].num_chids };
        return n;
}

struct placement {
        uint32_t id, size;        /* id NVV_PLACEMENT_NONE, size 0 for first-fit */
        uint64_t fb_offset, fb_length;
        uint32_t chid_offset, num_chids;
};

static void type_candidates(const struct nvv_gsp *g, const struct nvv_vgpu_type *t, const uint32_t **ret_ids,
                            uint32_t *ret_n)
{
        if (g->hetero_mode) {
                *ret_ids = t->heterogeneous_placement_ids;
                *ret_n = t->heterogeneous_placement_count;
        } else {
                *ret_ids = t->homogeneous_placement_ids;
                *ret_n = t->homogeneous_placement_count;
        }
}

/* "Types without placement ids" for the current mode: its list is empty. 550.40.07 carries one
 * list, bound to mixed-size mode, so its equal-size vGPUs are placed first-fit. */
static bool type_has_placements(const struct nvv_gsp *g, const struct nvv_vgpu_type *t)
{
        const uint32_t *ids;
        uint32_t n;

        type_candidates(g, t, &ids, &n);
        return n > 0;
}

/* Units [id, id + placement_size) all free and inside placement_units; FB from id * unit_size,
 * align_up(fb_length, vmmu_segment) long, inside those units (model) and, a guard for tables
 * that mix first-fit and placement types, clear of every other vGPU's FB. */
static bool try_placement(const struct nvv_gsp *g, const struct nvv_vgpu_type *t, uint32_t id,
                          struct placement *ret)
{
        struct span fb[NVV_MAX_VGPUS];
        uint64_t off, len;
        size_t n;

        if ((uint64_t) id + t->placement_size > g->cfg.placement_units)
                return false;
        for (size_t i = 0; i < NVV_MAX_VGPUS; i++) {
                const struct gsp_vgpu *v = &g->vgpus[i];

                if (v->used && v->placement_size > 0 &&
                    overlaps(id, t->placement_size, v->placement_id, v->placement_size))
                        return false;
        }
        if (t->fb_length > g->usable_fb)
                return false;
        off = (uint64_t) id * g->unit_size;
        len = align_up64(t->fb_length, g->cfg.vmmu_segment);
        if (len > (uint64_t) t->placement_size * g->unit_size)
                return false;
        n = busy_fb(g, fb);
        for (size_t i = 0; i < n; i++)
                if (overlaps(off, len, fb[i].start, fb[i].len))
                        return false;
        *ret = (struct placement) { .id = id, .size = t->placement_size, .fb_offset = off, .fb_length = len };
        return true;
}

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

        return x < y ? -1 : x > y;
}

/* Steps 6 and 7 of §4. `want` is a requested placement id (alloc_host_vgpu on releases whose
 * allocation carries one) or none for "lowest free". */
static const char *allocate(const struct nvv_gsp *g, const struct nvv_vgpu_type *t, uint32_t want,
                            struct placement *ret)
{
        struct span busy[NVV_MAX_VGPUS];
        struct placement p = { .id = NVV_PLACEMENT_NONE };
        uint64_t off;
        uint32_t block;
        size_t n;

        if (type_has_placements(g, t)) {
                const uint32_t *ids;
                uint32_t n_ids, sorted[NVV_MAX_PLACEMENTS];
                bool ok = false;

                type_candidates(g, t, &ids, &n_ids);
                if (!placement_is_none(g, want)) {
                        bool legal = false;

                        for (uint32_t i = 0; i < n_ids; i++)
                                if (ids[i] == want)
                                        legal = true;
                        if (!legal) {
                                log_debug("gsp: placement %u is not legal for type %u in %s mode", want,
                                          t->type_id, g->hetero_mode ? "mixed" : "homogeneous");
                                return ST_INVALID_ARGUMENT;
                        }
                        ok = try_placement(g, t, want, &p);
                } else {
                        memcpy(sorted, ids, n_ids * sizeof(uint32_t));
                        qsort(sorted, n_ids, sizeof(uint32_t), cmp_u32);
                        for (uint32_t i = 0; i < n_ids && !ok; i++)
                                ok = try_placement(g, t, sorted[i], &p);
                }
                if (!ok) {
                        log_debug("gsp: type %u: no free placement", t->type_id);
                        return ST_INSUFFICIENT;
                }
        } else {
                uint64_t len;

                if (!placement_is_none(g, want)) {
                        log_debug("gsp: type %u has no placement ids, placement %u asked", t->type_id, want);
                        return ST_INVALID_ARGUMENT;
                }
                if (t->fb_length > g->usable_fb || t->fb_reservation > g->usable_fb) {
                        log_debug("gsp: type %u: FB larger than the GPU", t->type_id);
                        return ST_INSUFFICIENT;
                }
                len = align_up64(t->fb_length + t->fb_reservation, g->cfg.vmmu_segment);
                n = busy_fb(g, busy);
                if (!lowest_fit(busy, n, g->usable_fb, g->cfg.vmmu_segment, len, &off)) {
                        log_debug("gsp: type %u: no free FB range of %" PRIu64 " bytes", t->type_id, len);
                        return ST_INSUFFICIENT;
                }
                p.fb_offset = off;
                p.fb_length = len;
        }

        /* Channels: prev_pow2(total_chids / max_instance), naturally aligned, lowest free. */
        block = prev_pow2(g->cfg.total_chids / t->max_instance);
        n = busy_chids(g, busy);
        if (block == 0 || !lowest_fit(busy, n, g->cfg.total_chids, block, block, &off)) {
                log_debug("gsp: type %u: no free block of %u channels", t->type_id, block);
                return ST_INSUFFICIENT;
        }
        p.chid_offset = (uint32_t) off;
        p.num_chids = block;
        *ret = p;
        return ST_OK;
}

/* §4 checks 1-7 and the allocation. `name` NULL: unnamed; `key_gfid` non-zero: the vGPU is
 * keyed by gfid (alloc_host_vgpu on releases without create_device). */
static const char *check_create(const struct nvv_gsp *g, uint32_t type_id, const uint8_t *name, uint32_t key_gfid,
                                uint32_t want, const struct nvv_vgpu_type **ret_type, struct placement *ret)
{
        const struct nvv_vgpu_type *t;
        uint32_t same = 0;

        t = find_type(g, type_id);
        if (!t) {
                log_debug("gsp: create: no type %u", type_id);
                return ST_NOT_FOUND;
        }
        if (name && find_vgpu_by_name(g, name)) {
                log_debug("gsp: create: name already used");
                return ST_IN_USE;
        }
        if (key_gfid != 0 && g->hosts[key_gfid].task != NVV_GSP_TASK_NONE) {
                log_debug("gsp: create: gfid %u already in use", key_gfid);
                return ST_IN_USE;
        }
        if (g->n_vgpus >= g->max_vgpus) {
                log_debug("gsp: create: %zu vGPUs, limit %u", g->n_vgpus, g->max_vgpus);
                return ST_INSUFFICIENT;
        }
        for (size_t i = 0; i < NVV_MAX_VGPUS; i++)
                if (g->vgpus[i].used && g->vgpus[i].type_id == type_id)
                        same++;
        if (same >= t->max_instance) {
                log_debug("gsp: create: type %u has %u of %u instances", type_id, same, t->max_instance);
                return ST_INSUFFICIENT;
        }
        if (!g->hetero_mode && same != g->n_vgpus) {
                log_debug("gsp: create: homogeneous mode and another type exists");
                return ST_INVALID_STATE;
        }
        *ret_type = t;
        return allocate(g, t, want, ret);
}

static const char *create_vgpu(struct nvv_gsp *g, uint32_t type_id, const uint8_t *name, uint32_t key_gfid,
                               uint32_t want, struct gsp_vgpu **ret)
{
        const struct nvv_vgpu_type *t = NULL;
        struct placement p;
        struct gsp_vgpu *v = NULL;
        const char *st;

        st = check_create(g, type_id, name, key_gfid, want, &t, &p);
        if (!streq(st, ST_OK))
                return st;

        /* vgpu_id: the lowest unused from 1, i.e. the first free slot. */
        for (size_t i = 0; i < NVV_MAX_VGPUS && !v; i++)
                if (!g->vgpus[i].used)
                        v = &g->vgpus[i];
        assert_return(v, ST_INSUFFICIENT); /* max_vgpus <= NVV_MAX_VGPUS */
        *v = (struct gsp_vgpu) {
                .used = true,
                .named = name != NULL,
                .vgpu_id = (uint32_t) (v - g->vgpus) + 1,
                .type_id = type_id,
                .placement_id = p.id,
                .placement_size = p.size,
                .fb_offset = p.fb_offset,
                .fb_length = p.fb_length,
                .chid_offset = p.chid_offset,
                .num_chids = p.num_chids,
                .gsp_heap_size = t->gsp_heap_size,
        };
        if (name)
                memcpy(v->name, name, 16);
        g->n_vgpus++;
        log_debug("gsp: created vGPU %u type %u placement %u fb %#" PRIx64 "+%#" PRIx64 " chids %u+%u",
                  v->vgpu_id, type_id, p.id, p.fb_offset, p.fb_length, p.chid_offset, p.num_chids);
        *ret = v;
        return ST_OK;
}

static void destroy_vgpu(struct nvv_gsp *g, struct gsp_vgpu *v)
{
        log_debug("gsp: freed vGPU %u", v->vgpu_id);
        *v = (struct gsp_vgpu) {};
        g->n_vgpus--;
}

/* The host vGPU device of gfid goes away; a vGPU it created goes with it. */
static void release_host(struct nvv_gsp *g, uint32_t gfid)
{
        struct gsp_host *h = &g->hosts[gfid];
        struct gsp_vgpu *v = host_vgpu(g, h);

        if (v) {
                v->gfid = 0;
                if (v->owned_by_host)
                        destroy_vgpu(g, v);
        }
        *h = (struct gsp_host) { .task = NVV_GSP_TASK_NONE, .vgpu = -1 };
}

/* ---- commands ---- */

static const char *do_get_features(struct nvv_gsp *g, struct nvv_cmd_get_features *c)
{
        const char *v = g->cfg.firmware_version[0] ? g->cfg.firmware_version : g->fw->release;

        *c = (struct nvv_cmd_get_features) { .valid = true };
        snprintf(c->firmware_version, sizeof(c->firmware_version), "%s", v);
        return ST_OK;
}

static const char *do_set_vgpu_mgr_config(struct nvv_gsp *g, const struct nvv_cmd_set_vgpu_mgr_config *c)
{
        g->hetero_config = c->heterogeneous_timesliced;
        return ST_OK;
}

/* §2. A refused upload changes nothing. */
static const char *do_add_vgpu_types(struct nvv_gsp *g, const struct nvv_cmd_add_vgpu_types *c)
{
        uint32_t ids[2 * NVV_MAX_VGPU_TYPES];
        size_t n = 0;

        if (c->count > NVV_MAX_VGPU_TYPES) {
                log_debug("gsp: add_vgpu_types: %u types do not fit a request", c->count);
                return ST_INVALID_ARGUMENT;
        }
        /* The table the upload would leave: discard replaces it, an id present is replaced. */
        if (!c->discard)
                for (size_t i = 0; i < g->n_types; i++)
                        ids[n++] = g->types[i].type_id;
        for (uint32_t i = 0; i < c->count; i++) {
                bool present = false;

                for (size_t j = 0; j < n && !present; j++)
                        present = ids[j] == c->types[i].type_id;
                if (!present)
                        ids[n++] = c->types[i].type_id;
        }
        if (n > g->max_types) {
                log_debug("gsp: add_vgpu_types: %zu types, release allows %u", n, g->max_types);
                return ST_INSUFFICIENT;
        }
        if (c->discard && g->n_vgpus > 0) {
                log_debug("gsp: add_vgpu_types: discard while %zu vGPUs exist", g->n_vgpus);
                return ST_IN_USE;
        }
        for (uint32_t i = 0; i < c->count; i++) {
                const struct nvv_vgpu_type *t = &c->types[i];

                if (t->max_instance == 0 || t->fb_length == 0 ||
                    t->homogeneous_placement_count > NVV_MAX_PLACEMENTS ||
                    t->heterogeneous_placement_count > NVV_MAX_PLACEMENTS) {
                        log_debug("gsp: add_vgpu_types: type %u is invalid", t->type_id);
                        return ST_INVALID_ARGUMENT;
                }
        }

        if (c->discard)
                g->n_types = 0;
        for (uint32_t i = 0; i < c->count; i++) {
                struct nvv_vgpu_type *t = find_type(g, c->types[i].type_id);

                if (!t)
                        t = &g->types[g->n_types++];
                *t = c->types[i];
        }
        return ST_OK;
}

static const char *do_set_heterogeneous_mode(struct nvv_gsp *g, const struct nvv_cmd_set_heterogeneous_mode *c)
{
        if (g->n_vgpus > 0) {
                log_debug("gsp: set_heterogeneous_mode: %zu vGPUs exist", g->n_vgpus);
                return ST_IN_USE;
        }
        if (c->enabled && !g->hetero_config) {
                log_debug("gsp: set_heterogeneous_mode: heterogeneous time-sliced vGPU not configured");
                return ST_NOT_SUPPORTED;
        }
        g->hetero_mode = c->enabled;
        return ST_OK;
}

static const char *do_create_device(struct nvv_gsp *g, struct nvv_cmd_create_device *c)
{
        struct gsp_vgpu *v;
        const char *st;

        st = create_vgpu(g, c->type_id, c->vgpu_name, 0, NVV_PLACEMENT_NONE, &v);
        if (!streq(st, ST_OK))
                return st;
        c->vgpu_id = v->vgpu_id;
        c->gpu_instance_id = 0; /* time-sliced, no MIG */
        c->placement_id = v->placement_id;
        return ST_OK;
}

/* §5 */
static const char *do_delete_device(struct nvv_gsp *g, const struct nvv_cmd_delete_device *c)
{
        struct gsp_vgpu *v = find_vgpu_by_name(g, c->vgpu_name);

        if (!v || v->vgpu_id != c->vgpu_id) {
                log_debug("gsp: delete_device: no vGPU %u of that name", c->vgpu_id);
                return ST_NOT_FOUND;
        }
        if (v->gfid != 0) {
                log_debug("gsp: delete_device: vGPU %u has a host vGPU device on gfid %u (task %s)", v->vgpu_id,
                          v->gfid, nvv_gsp_task_to_string(g->hosts[v->gfid].task));
                return ST_IN_USE;
        }
        destroy_vgpu(g, v);
        return ST_OK;
}

static const char *do_get_start_data(struct nvv_gsp *g, struct nvv_cmd_get_start_data *c)
{
        struct gsp_vgpu *v = find_vgpu_by_name(g, c->mdev_uuid);

        if (!v) {
                log_debug("gsp: get_start_data: no vGPU of that name");
                return ST_NOT_FOUND;
        }
        memset(c->config_params, 0, sizeof(c->config_params));
        c->qemu_pid = v->gfid ? g->hosts[v->gfid].vm_pid : 0;
        c->gpu_pci_id = g->cfg.gpu_pci_id;
        c->gpu_pci_bdf = g->cfg.gpu_pci_bdf;
        c->vgpu_id = v->vgpu_id;
        return ST_OK;
}

/* §6, first transition. */
static const char *do_alloc_host_vgpu(struct nvv_gsp *g, const struct nvv_cmd_alloc_host_vgpu *c)
{
        struct gsp_vgpu *v;
        struct gsp_host *h;

        if (c->gfid == 0 || c->gfid > g->cfg.num_vfs) {
                log_debug("gsp: alloc_host_vgpu: gfid %u outside 1..%u", c->gfid, g->cfg.num_vfs);
                return ST_INVALID_ARGUMENT;
        }
        h = &g->hosts[c->gfid];

        if (has_command(g, NVV_CMD_CREATE_DEVICE)) {
                if (h->task != NVV_GSP_TASK_NONE) {
                        log_debug("gsp: alloc_host_vgpu: gfid %u in use", c->gfid);
                        return ST_IN_USE;
                }
                v = find_vgpu_by_name(g, c->vgpu_dev_name);
                if (!v) {
                        log_debug("gsp: alloc_host_vgpu: no vGPU of that name");
                        return ST_NOT_FOUND;
                }
                if (v->gfid != 0) {
                        log_debug("gsp: alloc_host_vgpu: vGPU %u already on gfid %u", v->vgpu_id, v->gfid);
                        return ST_IN_USE;
                }
                if (v->type_id != c->type_id) {
                        log_debug("gsp: alloc_host_vgpu: type %u, vGPU %u has %u", c->type_id, v->vgpu_id,
                                  v->type_id);
                        return ST_INVALID_ARGUMENT;
                }
        } else {
                /* No create_device: the allocation is the creation, keyed by gfid. */
                const struct nvv_binding *b = g->fw->commands[NVV_CMD_ALLOC_HOST_VGPU];
                bool carries = b->plan && nvv_wplan_has_field(b->plan, "placement_id");
                const char *st;

                st = create_vgpu(g, c->type_id, name_is_zero(c->vgpu_dev_name) ? NULL : c->vgpu_dev_name,
                                 c->gfid, carries ? c->placement_id : NVV_PLACEMENT_NONE, &v);
                if (!streq(st, ST_OK))
                        return st;
                v->owned_by_host = true;
        }

        v->gfid = c->gfid;
        *h = (struct gsp_host) {
                .task = NVV_GSP_TASK_ALLOCATED,
                .vgpu = (int) (v - g->vgpus),
                .dbdf = c->dbdf,
                .vm_pid = c->vm_pid,
                .accounting_pid = c->accounting_pid,
                .device_instance_id = c->device_instance_id,
                .guest_lifecycle = NVV_GUEST_UNKNOWN,
        };
        log_debug("gsp: host vGPU device on gfid %u for vGPU %u", c->gfid, v->vgpu_id);
        return ST_OK;
}

struct seg {
        uint64_t addr, len;
};

static int cmp_seg(const void *a, const void *b)
{
        uint64_t x = ((const struct seg *) a)->addr, y = ((const struct seg *) b)->addr;

        return x < y ? -1 : x > y;
}

/* The segments, in any order, tile [off, off + len) exactly: no gap, no overlap, none outside. */
static bool segments_cover(const struct nvv_cmd_bootload_plugin *c, uint32_t max, uint64_t off, uint64_t len)
{
        struct seg s[NVV_MAX_FB_SEGMENTS];
        uint64_t at = off;

        if (c->fb_segment_count == 0 || c->fb_segment_count > max)
                return false;
        for (uint32_t i = 0; i < c->fb_segment_count; i++) {
                s[i] = (struct seg) { c->fb_segment_addr[i], c->fb_segment_len[i] };
                if (s[i].len == 0 || s[i].addr > UINT64_MAX - s[i].len)
                        return false;
        }
        qsort(s, c->fb_segment_count, sizeof(struct seg), cmp_seg);
        for (uint32_t i = 0; i < c->fb_segment_count; i++) {
                if (s[i].addr != at)
                        return false;
                at += s[i].len;
        }
        return at == off + len;
}

/* chid_offset[] holds the block offset for every engine present and 0 for the others
 * (firmware-abi-facts §1.6); at least one engine must carry it. */
static bool chid_offsets_match(const struct nvv_gsp *g, const struct nvv_cmd_bootload_plugin *c, uint32_t offset)
{
        uint32_t n = g->fw->sizing.max_engines;
        bool seen = offset == 0;

        if (n == 0 || n > NVV_MAX_ENGINES)
                n = NVV_MAX_ENGINES;
        for (uint32_t i = 0; i < n; i++) {
                if (c->chid_offset[i] == offset)
                        seen = true;
                else if (c->chid_offset[i] != 0)
                        return false;
        }
        return seen;
}

static const char *do_bootload_plugin(struct nvv_gsp *g, const struct nvv_cmd_bootload_plugin *c)
{
        struct gsp_host *h = find_host(g, c->gfid);
        uint32_t max_segs;
        struct gsp_vgpu *v;

        if (!h) {
                log_debug("gsp: bootload_plugin: no host vGPU device on gfid %u", c->gfid);
                return ST_NOT_FOUND;
        }
        if (h->task != NVV_GSP_TASK_ALLOCATED) {
                log_debug("gsp: bootload_plugin: gfid %u task is %s", c->gfid, nvv_gsp_task_to_string(h->task));
                return ST_INVALID_STATE;
        }
        v = host_vgpu(g, h);
        assert_return(v, ST_INVALID_STATE); /* ALLOCATED always has its vGPU */
        max_segs = g->fw->sizing.max_vmmu_segments;
        if (max_segs == 0 || max_segs > NVV_MAX_FB_SEGMENTS)
                max_segs = NVV_MAX_FB_SEGMENTS;
        if (!segments_cover(c, max_segs, v->fb_offset, v->fb_length)) {
                log_debug("gsp: bootload_plugin: gfid %u FB segments do not cover %#" PRIx64 "+%#" PRIx64, c->gfid,
                          v->fb_offset, v->fb_length);
                return ST_INVALID_ARGUMENT;
        }
        if (c->num_channels != v->num_chids || !chid_offsets_match(g, c, v->chid_offset)) {
                log_debug("gsp: bootload_plugin: gfid %u channels are not the block %u+%u", c->gfid,
                          v->chid_offset, v->num_chids);
                return ST_INVALID_ARGUMENT;
        }
        if (c->plugin_heap_len < v->gsp_heap_size) {
                log_debug("gsp: bootload_plugin: gfid %u plugin heap %" PRIu64 " < %" PRIu64, c->gfid,
                          c->plugin_heap_len, v->gsp_heap_size);
                return ST_INVALID_ARGUMENT;
        }
        h->task = NVV_GSP_TASK_RUNNING;
        h->work_stopped = false;
        h->resets = 0;
        emit_plugin(g, c->gfid, NVV_NOTIFY_BOOTLOADED);
        return ST_OK;
}

/* One plugin-task transition: from one of the states in `from` (a bit mask) to `to`. */
static const char *transition(struct nvv_gsp *g, const char *what, uint32_t gfid, unsigned from,
                              enum nvv_gsp_task to)
{
        struct gsp_host *h = find_host(g, gfid);

        if (!h) {
                log_debug("gsp: %s: no host vGPU device on gfid %u", what, gfid);
                return ST_NOT_FOUND;
        }
        if (!(from & (1u << h->task))) {
                log_debug("gsp: %s: gfid %u task is %s", what, gfid, nvv_gsp_task_to_string(h->task));
                return ST_INVALID_STATE;
        }
        if (to == NVV_GSP_TASK_NONE)
                release_host(g, gfid);
        else {
                h->task = to;
                if (to != NVV_GSP_TASK_RUNNING)
                        h->driver_loaded = false;
        }
        return ST_OK;
}

#define BIT(t) (1u << (t))

static const char *do_clear_guest_vm_info(struct nvv_gsp *g, uint32_t gfid)
{
        struct gsp_host *h = find_host(g, gfid);

        if (!h) {
                log_debug("gsp: clear_guest_vm_info: no host vGPU device on gfid %u", gfid);
                return ST_NOT_FOUND;
        }
        h->vm_pid = 0;
        h->accounting_pid = 0;
        h->driver_loaded = false;
        h->guest_lifecycle = NVV_GUEST_UNKNOWN;
        return ST_OK;
}

static const char *do_enumerate_vgpus(struct nvv_gsp *g, struct nvv_cmd_enumerate_vgpus *c)
{
        memset(c, 0, sizeof(*c));
        for (uint32_t gfid = 1; gfid <= g->cfg.num_vfs && c->count < NVV_MAX_VGPUS; gfid++) {
                const struct gsp_host *h = &g->hosts[gfid];
                const struct gsp_vgpu *v;
                const struct nvv_vgpu_type *t;
                struct nvv_vgpu_guest *e;

                if (h->task == NVV_GSP_TASK_NONE)
                        continue;
                v = host_vgpu(g, h);
                t = v ? find_type(g, v->type_id) : NULL;
                e = &c->vgpus[c->count++];
                e->gfid = gfid;
                e->vgpu_pci_id = h->dbdf;
                e->device_instance_id = h->device_instance_id;
                e->accounting_pid = h->accounting_pid;
                e->fb_used = v && h->task == NVV_GSP_TASK_RUNNING ? v->fb_length : 0;
                e->encoder_capacity = t ? t->encoder_capacity : 0;
                e->driver_loaded = h->driver_loaded;
                e->vm_pid = h->vm_pid;
                e->frame_rate_limit = t ? t->frl_config : 0;
        }
        return ST_OK;
}

static bool policy_supported(uint32_t p)
{
        return p == NVV_SCHED_BEST_EFFORT || p == NVV_SCHED_EQUAL_SHARE || p == NVV_SCHED_FIXED_SHARE;
}

static const char *do_sched_get_caps(struct nvv_cmd_sched_get_caps *c)
{
        uint32_t engine = c->engine_id;

        *c = (struct nvv_cmd_sched_get_caps) {
                .engine_id = engine,
                .supported_policies = { NVV_SCHED_BEST_EFFORT, NVV_SCHED_EQUAL_SHARE, NVV_SCHED_FIXED_SHARE },
                .arr_supported = true,
                .min_timeslice_ns = SCHED_MIN_TIMESLICE_NS,
                .max_timeslice_ns = SCHED_MAX_TIMESLICE_NS,
        };
        return ST_OK;
}

static const char *do_sched_get_state(struct nvv_gsp *g, struct nvv_cmd_sched_state *c)
{
        uint32_t engine = c->engine_id;

        *c = g->sched;
        c->engine_id = engine;
        c->arr_frequency = 0; /* set only */
        return ST_OK;
}

static const char *do_sched_set_state(struct nvv_gsp *g, const struct nvv_cmd_sched_state *c)
{
        if (!policy_supported(c->policy)) {
                log_debug("gsp: sched_set_state: policy %u not supported", c->policy);
                return ST_INVALID_ARGUMENT;
        }
        if (c->arr != NVV_ARR_DEFAULT && c->arr != NVV_ARR_DISABLE && c->arr != NVV_ARR_ENABLE) {
                log_debug("gsp: sched_set_state: ARR mode %u unknown", c->arr);
                return ST_INVALID_ARGUMENT;
        }
        if (c->timeslice_ns < SCHED_MIN_TIMESLICE_NS || c->timeslice_ns > SCHED_MAX_TIMESLICE_NS) {
                log_debug("gsp: sched_set_state: time slice %u ns outside %u..%u", c->timeslice_ns,
                          SCHED_MIN_TIMESLICE_NS, SCHED_MAX_TIMESLICE_NS);
                return ST_INVALID_ARGUMENT;
        }
        g->sched = *c;
        g->sched.engine_id = 0;
        return ST_OK;
}

static const char *do_set_guest_lifecycle(struct nvv_gsp *g, uint32_t gfid, const struct nvv_cmd_set_guest_lifecycle *c)
{
        struct gsp_host *h = find_host(g, gfid);

        if (!h) {
                log_debug("gsp: set_guest_lifecycle: no host vGPU device on gfid %u", gfid);
                return ST_NOT_FOUND;
        }
        if (c->state != NVV_GUEST_CREATED && c->state != NVV_GUEST_INITIALISING && c->state != NVV_GUEST_DESTROYED) {
                log_debug("gsp: set_guest_lifecycle: state %u unknown", c->state);
                return ST_INVALID_ARGUMENT;
        }
        h->guest_lifecycle = c->state;
        return ST_OK;
}

/* (model) The placement and channel count the host device reports must be its vGPU's. */
static const char *do_set_placement_id(struct nvv_gsp *g, uint32_t gfid, const struct nvv_cmd_set_placement_id *c)
{
        struct gsp_host *h = find_host(g, gfid);
        struct gsp_vgpu *v;
        bool same_id;

        if (!h) {
                log_debug("gsp: set_placement_id: no host vGPU device on gfid %u", gfid);
                return ST_NOT_FOUND;
        }
        v = host_vgpu(g, h);
        if (!v) {
                log_debug("gsp: set_placement_id: gfid %u lost its vGPU", gfid);
                return ST_INVALID_STATE;
        }
        same_id = placement_is_none(g, v->placement_id) ? placement_is_none(g, c->placement_id)
                                                        : c->placement_id == v->placement_id;
        if (!same_id || c->num_channels != v->num_chids) {
                log_debug("gsp: set_placement_id: gfid %u placement %u/%u channels, vGPU has %u/%u", gfid,
                          c->placement_id, c->num_channels, v->placement_id, v->num_chids);
                return ST_INVALID_ARGUMENT;
        }
        return ST_OK;
}

int nvv_gsp_handle_device(struct nvv_gsp *g, uint32_t gfid, int cmd, union nvv_cmd_any *io, const char **ret_status)
{
        const char *st;

        assert_return(g, -EINVAL);
        assert_return(io, -EINVAL);
        assert_return(ret_status, -EINVAL);
        assert_return(cmd >= 0 && cmd < _NVV_CMD_MAX, -EINVAL);

        if (!has_command(g, cmd)) {
                log_debug("gsp: %s: not offered by firmware %s", nvv_cmd_to_string(cmd), g->fw->release);
                *ret_status = ST_NOT_SUPPORTED;
                return 0;
        }

        switch (cmd) {
        case NVV_CMD_GET_FEATURES:
                st = do_get_features(g, &io->get_features);
                break;
        case NVV_CMD_SET_VGPU_MGR_CONFIG:
                st = do_set_vgpu_mgr_config(g, &io->set_vgpu_mgr_config);
                break;
        case NVV_CMD_ADD_VGPU_TYPES:
                st = do_add_vgpu_types(g, &io->add_vgpu_types);
                break;
        case NVV_CMD_SET_HETEROGENEOUS_MODE:
                st = do_set_heterogeneous_mode(g, &io->set_heterogeneous_mode);
                break;
        case NVV_CMD_CREATE_DEVICE:
                st = do_create_device(g, &io->create_device);
                break;
        case NVV_CMD_DELETE_DEVICE:
                st = do_delete_device(g, &io->delete_device);
                break;
        case NVV_CMD_GET_START_DATA:
                st = do_get_start_data(g, &io->get_start_data);
                break;
        case NVV_CMD_ALLOC_HOST_VGPU:
                st = do_alloc_host_vgpu(g, &io->alloc_host_vgpu);
                break;
        case NVV_CMD_BOOTLOAD_PLUGIN:
                st = do_bootload_plugin(g, &io->bootload_plugin);
                break;
        case NVV_CMD_SHUTDOWN_PLUGIN:
                st = transition(g, "shutdown_plugin", io->gfid.gfid,
                                BIT(NVV_GSP_TASK_RUNNING) | BIT(NVV_GSP_TASK_CRASHED), NVV_GSP_TASK_STOPPED);
                break;
        case NVV_CMD_CLEANUP_PLUGIN:
                st = transition(g, "cleanup_plugin", io->gfid.gfid,
                                BIT(NVV_GSP_TASK_STOPPED) | BIT(NVV_GSP_TASK_CRASHED), NVV_GSP_TASK_CLEANED);
                break;
        case NVV_CMD_FREE_STATES:
                st = transition(g, "free_states", io->free_states.gfid, BIT(NVV_GSP_TASK_CLEANED),
                                NVV_GSP_TASK_NONE);
                if (streq(st, ST_OK) && io->free_states.gfid <= NVV_MAX_VGPUS)
                        g->hosts[io->free_states.gfid].states_freed = true;
                break;
        case NVV_CMD_CLEAR_GUEST_VM_INFO:
                st = do_clear_guest_vm_info(g, io->gfid.gfid);
                break;
        case NVV_CMD_ENUMERATE_VGPUS:
                st = do_enumerate_vgpus(g, &io->enumerate_vgpus);
                break;
        case NVV_CMD_SCHED_GET_CAPS:
                st = do_sched_get_caps(&io->sched_get_caps);
                break;
        case NVV_CMD_SCHED_GET_STATE:
                st = do_sched_get_state(g, &io->sched_state);
                break;
        case NVV_CMD_SCHED_SET_STATE:
                st = do_sched_set_state(g, &io->sched_state);
                break;
        case NVV_CMD_SET_GUEST_LIFECYCLE:
                st = do_set_guest_lifecycle(g, gfid, &io->set_guest_lifecycle);
                break;
        case NVV_CMD_SET_PLACEMENT_ID:
                st = do_set_placement_id(g, gfid, &io->set_placement_id);
                break;
        case NVV_CMD_SET_POWER_STATE:
                g->power_state = io->set_power_state.state;
                st = ST_OK;
                break;
        default:
                st = ST_NOT_SUPPORTED;
                break;
        }
        *ret_status = st;
        return 0;
}

int nvv_gsp_handle(struct nvv_gsp *g, int cmd, union nvv_cmd_any *io, const char **ret_status)
{
        return nvv_gsp_handle_device(g, 0, cmd, io, ret_status);
}

/* RM FREE of the NVA084 object: from CLEANED, and from ALLOCATED (model: a device that never
 * bootloaded can be freed; the page's diagram has no other way out of ALLOCATED). */
int nvv_gsp_free_host_vgpu(struct nvv_gsp *g, uint32_t gfid, const char **ret_status)
{
        assert_return(g, -EINVAL);
        assert_return(ret_status, -EINVAL);

        /* After free_states the task is gone but the host vGPU device object remains: freeing
         * that object is then all there is to do. */
        if (gfid >= 1 && gfid <= g->cfg.num_vfs && gfid <= NVV_MAX_VGPUS && g->hosts[gfid].task == NVV_GSP_TASK_NONE &&
            g->hosts[gfid].states_freed) {
                g->hosts[gfid].states_freed = false;
                *ret_status = ST_OK;
                return 0;
        }
        *ret_status = transition(g, "free", gfid, BIT(NVV_GSP_TASK_ALLOCATED) | BIT(NVV_GSP_TASK_CLEANED),
                                 NVV_GSP_TASK_NONE);
        return 0;
}

/* ---- events, faults ---- */

void nvv_gsp_set_event_fn(struct nvv_gsp *g, nvv_gsp_event_fn fn, void *userdata)
{
        if (!g)
                return;
        g->event_fn = fn;
        g->event_ud = userdata;
}

int nvv_gsp_crash_plugin(struct nvv_gsp *g, uint32_t gfid)
{
        struct gsp_host *h;

        assert_return(g, -EINVAL);
        h = find_host(g, gfid);
        if (!h)
                return -ENOENT;
        if (h->task != NVV_GSP_TASK_RUNNING)
                return -ESRCH;
        h->task = NVV_GSP_TASK_CRASHED;
        h->driver_loaded = false;
        emit_plugin(g, gfid, NVV_NOTIFY_CRASHED);
        return 0;
}

int nvv_gsp_host_message(struct nvv_gsp *g, uint32_t gfid, uint32_t message, uint32_t *ret_result)
{
        const char *name;
        struct gsp_host *h;

        assert_return(g, -EINVAL);
        assert_return(ret_result, -EINVAL);
        h = find_host(g, gfid);
        if (!h)
                return -ENOENT;
        /* Only a booted plugin reads its control region (doc/firmware-model.md §6). */
        if (h->task != NVV_GSP_TASK_RUNNING)
                return -ESRCH;
        name = nvv_fwabi_host_msg_name(g->fw, message);
        *ret_result = NVV_GSP_HOST_RESULT_OK;
        if (!name)
                *ret_result = NVV_GSP_HOST_RESULT_UNKNOWN;
        else if (streq(name, "MIGRATION_STOP_WORK"))
                h->work_stopped = true;
        else if (streq(name, "MIGRATION_RESUME_WORK"))
                h->work_stopped = false;
        else if (streq(name, "RESET")) {
                /* The guest's view of the GPU starts over: its driver must load again. */
                h->resets++;
                h->work_stopped = false;
                if (h->driver_loaded) {
                        h->driver_loaded = false;
                        emit_plugin(g, gfid, NVV_NOTIFY_GUEST_DRIVER_UNLOADED);
                }
        } else
                *ret_result = NVV_GSP_HOST_RESULT_UNSUPPORTED;
        log_debug("gsp: host RPC %s (%" PRIu32 ") on gfid %" PRIu32 ": result %" PRIu32, name ? name : "?", message,
                  gfid, *ret_result);
        return 0;
}

int nvv_gsp_reset(struct nvv_gsp *g)
{
        assert_return(g, -EINVAL);
        for (uint32_t gfid = 1; gfid <= g->cfg.num_vfs; gfid++) {
                struct gsp_host *h = &g->hosts[gfid];

                if (h->task == NVV_GSP_TASK_NONE)
                        continue;
                h->task = NVV_GSP_TASK_CRASHED;
                h->vgpu = -1;
                h->driver_loaded = false;
        }
        memset(g->vgpus, 0, sizeof(g->vgpus));
        g->n_vgpus = 0;
        g->n_types = 0;
        g->hetero_config = false;
        g->hetero_mode = false;
        g->power_state = 0;
        sched_set_default(g);
        log_debug("gsp: reset");
        memset(&g->event, 0, sizeof(g->event));
        emit(g, NVV_EVENT_GSP_RESET);
        return 0;
}

int nvv_gsp_guest_driver(struct nvv_gsp *g, uint32_t gfid, bool loaded)
{
        struct gsp_host *h;

        assert_return(g, -EINVAL);
        h = find_host(g, gfid);
        if (!h)
                return -ENOENT;
        if (h->task != NVV_GSP_TASK_RUNNING)
                return -ESRCH;
        h->driver_loaded = loaded;
        emit_plugin(g, gfid, loaded ? NVV_NOTIFY_GUEST_DRIVER_LOADED : NVV_NOTIFY_GUEST_DRIVER_UNLOADED);
        return 0;
}

int nvv_gsp_rc_error(struct nvv_gsp *g, uint32_t gfid, uint32_t chid)
{
        struct gsp_host *h;
        struct gsp_vgpu *v;

        assert_return(g, -EINVAL);
        h = find_host(g, gfid);
        if (!h || !(v = host_vgpu(g, h)))
                return -ENOENT;
        if (chid < v->chid_offset || chid - v->chid_offset >= v->num_chids)
                return -ERANGE;
        memset(&g->event, 0, sizeof(g->event));
        g->event.event_rc_error = (struct nvv_event_rc_error) { .chid = chid, .gfid = gfid };
        emit(g, NVV_EVENT_RC_ERROR);
        return 0;
}

/* ---- object ---- */

int nvv_gsp_new(const struct nvv_gsp_config *cfg, const struct nvv_fwabi *fw, struct nvv_gsp **ret)
{
        _cleanup_(nvv_gsp_freep) struct nvv_gsp *g = NULL;
        uint32_t max_vgpus;

        assert_return(cfg, -EINVAL);
        assert_return(fw, -EINVAL);
        assert_return(ret, -EINVAL);
        assert_return(cfg->fb_total <= CFG_MAX_FB && cfg->fb_reserved <= cfg->fb_total, -EINVAL);
        assert_return(cfg->vmmu_segment > 0 && cfg->vmmu_segment <= CFG_MAX_FB, -EINVAL);
        assert_return(cfg->placement_units > 0 && cfg->placement_units <= CFG_MAX_PLACEMENT_UNITS, -EINVAL);
        assert_return(cfg->num_vfs <= NVV_MAX_VGPUS, -EINVAL);
        assert_return(memchr(cfg->firmware_version, 0, sizeof(cfg->firmware_version)), -EINVAL);

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->fw = fw;
        g->cfg = *cfg;
        g->usable_fb = cfg->fb_total - cfg->fb_reserved;
        /* unit_size = align_down(usable_fb / placement_units, vmmu_segment) */
        g->unit_size = g->usable_fb / cfg->placement_units / cfg->vmmu_segment * cfg->vmmu_segment;
        max_vgpus = MIN(cfg->num_vfs, fw->sizing.max_vgpu_per_pgpu);
        g->max_vgpus = MIN(max_vgpus, (uint32_t) NVV_MAX_VGPUS);
        g->max_types = MIN(fw->sizing.max_vgpu_types_per_pgpu, (uint32_t) NVV_MAX_VGPU_TYPES);
        for (size_t i = 0; i < ELEMENTSOF(g->hosts); i++)
                g->hosts[i] = (struct gsp_host) { .task = NVV_GSP_TASK_NONE, .vgpu = -1 };
        sched_set_default(g);
        *ret = TAKE_PTR(g);
        return 0;
}

struct nvv_gsp *nvv_gsp_free(struct nvv_gsp *g)
{
        free(g);
        return NULL;
}

/* ---- introspection ---- */

void nvv_gsp_get_state(const struct nvv_gsp *g, struct nvv_gsp_state *ret)
{
        size_t hosts = 0;

        if (!g || !ret)
                return;
        for (uint32_t gfid = 1; gfid <= g->cfg.num_vfs; gfid++)
                if (g->hosts[gfid].task != NVV_GSP_TASK_NONE)
                        hosts++;
        *ret = (struct nvv_gsp_state) {
                .usable_fb = g->usable_fb,
                .unit_size = g->unit_size,
                .placement_units = g->cfg.placement_units,
                .total_chids = g->cfg.total_chids,
                .num_vfs = g->cfg.num_vfs,
                .max_vgpus = g->max_vgpus,
                .max_types = g->max_types,
                .heterogeneous_timesliced = g->hetero_config,
                .heterogeneous_mode = g->hetero_mode,
                .n_types = g->n_types,
                .n_vgpus = g->n_vgpus,
                .n_hosts = hosts,
                .sched = g->sched,
                .power_state = g->power_state,
        };
}

int nvv_gsp_get_vgpu(const struct nvv_gsp *g, size_t i, struct nvv_gsp_vgpu_info *ret)
{
        const struct gsp_vgpu *best = NULL;

        assert_return(g, -EINVAL);
        assert_return(ret, -EINVAL);
        /* Slots are in vgpu_id order. */
        for (size_t a = 0, seen = 0; a < NVV_MAX_VGPUS && !best; a++)
                if (g->vgpus[a].used && seen++ == i)
                        best = &g->vgpus[a];
        if (!best)
                return -ENOENT;
        *ret = (struct nvv_gsp_vgpu_info) {
                .vgpu_id = best->vgpu_id,
                .named = best->named,
                .type_id = best->type_id,
                .placement_id = best->placement_id,
                .placement_size = best->placement_size,
                .fb_offset = best->fb_offset,
                .fb_length = best->fb_length,
                .chid_offset = best->chid_offset,
                .num_chids = best->num_chids,
                .gfid = best->gfid,
                .task = best->gfid ? g->hosts[best->gfid].task : NVV_GSP_TASK_NONE,
                .work_stopped = best->gfid && g->hosts[best->gfid].work_stopped,
                .resets = best->gfid ? g->hosts[best->gfid].resets : 0,
        };
        memcpy(ret->name, best->name, sizeof(ret->name));
        return 0;
}

int nvv_gsp_get_host(const struct nvv_gsp *g, uint32_t gfid, struct nvv_gsp_host_info *ret)
{
        const struct gsp_host *h;

        assert_return(g, -EINVAL);
        assert_return(ret, -EINVAL);
        if (gfid == 0 || gfid > g->cfg.num_vfs || g->hosts[gfid].task == NVV_GSP_TASK_NONE)
                return -ENOENT;
        h = &g->hosts[gfid];
        *ret = (struct nvv_gsp_host_info) {
                .gfid = gfid,
                .task = h->task,
                .vgpu_id = h->vgpu >= 0 ? g->vgpus[h->vgpu].vgpu_id : 0,
                .dbdf = h->dbdf,
                .vm_pid = h->vm_pid,
                .accounting_pid = h->accounting_pid,
                .device_instance_id = h->device_instance_id,
                .guest_lifecycle = h->guest_lifecycle,
                .driver_loaded = h->driver_loaded,
                .work_stopped = h->work_stopped,
                .resets = h->resets,
        };
        return 0;
}

enum nvv_gsp_task nvv_gsp_get_task(const struct nvv_gsp *g, uint32_t gfid)
{
        if (!g || gfid == 0 || gfid > g->cfg.num_vfs)
                return NVV_GSP_TASK_NONE;
        return g->hosts[gfid].task;
}

const struct nvv_vgpu_type *nvv_gsp_get_type(const struct nvv_gsp *g, size_t i)
{
        if (!g || i >= g->n_types)
                return NULL;
        return &g->types[i];
}

bool nvv_gsp_creatable(const struct nvv_gsp *g, uint32_t type_id)
{
        const struct nvv_vgpu_type *t;
        struct placement p;

        assert_return(g, false);
        return streq(check_create(g, type_id, NULL, 0, NVV_PLACEMENT_NONE, &t, &p), ST_OK);
}

const struct nvv_vgpu_type *nvv_gsp_find_type(const struct nvv_gsp *g, uint32_t type_id)
{
        if (!g)
                return NULL;
        for (size_t i = 0; i < g->n_types; i++)
                if (g->types[i].type_id == type_id)
                        return &g->types[i];
        return NULL;
}

unsigned nvv_gsp_available(struct nvv_gsp *g, uint32_t type_id)
{
        size_t taken[NVV_MAX_VGPUS];
        unsigned n = 0;

        assert_return(g, 0);
        /* create_device of this type, again and again, each placed where the firmware would
         * place it, until one is refused; then every one of them taken back. The sysfs
         * available_instances of the type (what NVIDIA's driver asks its firmware). */
        for (;;) {
                const struct nvv_vgpu_type *t = NULL;
                struct placement p;
                size_t i;

                if (!streq(check_create(g, type_id, NULL, 0, NVV_PLACEMENT_NONE, &t, &p), ST_OK))
                        break;
                for (i = 0; i < NVV_MAX_VGPUS && g->vgpus[i].used; i++)
                        ;
                if (i == NVV_MAX_VGPUS)
                        break;
                g->vgpus[i] = (struct gsp_vgpu) {
                        .used = true, .vgpu_id = (uint32_t) i + 1, .type_id = type_id,
                        .placement_id = p.id, .placement_size = p.size,
                        .fb_offset = p.fb_offset, .fb_length = p.fb_length,
                        .chid_offset = p.chid_offset, .num_chids = p.num_chids,
                        .gsp_heap_size = t->gsp_heap_size,
                };
                g->n_vgpus++;
                taken[n++] = i;
        }
        for (unsigned k = 0; k < n; k++) {
                g->vgpus[taken[k]] = (struct gsp_vgpu) {};
                g->n_vgpus--;
        }
        return n;
}
