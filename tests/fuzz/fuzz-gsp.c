/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the simulated GSP: the input picks a release, a GPU and a type table, then drives a
 * sequence of commands, faults and raw (arbitrary) requests. After every step the answer
 * must be a status the release knows, the invariants of tests/gsp-check.c must hold, and
 * every create must answer what the brute-force prediction says. Any breach aborts.
 *
 * Needs $NVVGPU_FWABI_DIR (or $NVV_TOP_SRCDIR/data/fwabi).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gsp-check.h"
#include "nvv-fwabi.h"
#include "nvv-fwdb.h"
#include "nvv-gsp.h"
#include "nvv-marshal.h"
#include "util.h"

#define MiB (UINT64_C(1) << 20)
#define MAX_OPS 400

static struct nvv_fwdb *db;

struct in {
        const uint8_t *p;
        size_t n;
};

static uint8_t u8(struct in *in)
{
        uint8_t v;

        if (in->n == 0)
                return 0;
        v = *in->p++;
        in->n--;
        return v;
}

static uint16_t u16(struct in *in)
{
        return (uint16_t) (u8(in) | (u8(in) << 8));
}

static uint32_t u32(struct in *in)
{
        return (uint32_t) u16(in) | ((uint32_t) u16(in) << 16);
}

struct fz {
        const struct nvv_fwabi *fw;
        struct nvv_gsp_config cfg;
        struct nvv_gsp *g;
        bool relaxed;
        size_t events;
        union nvv_cmd_any *io;
        size_t io_dirty;        /* bytes of io a step wrote beyond io_small */
};

/* Bytes of io any command but the type upload uses (the union is 170 KB because of that one;
 * clearing all of it every step made this target 30 times slower). */
static size_t io_small(void)
{
        static size_t n;

        if (n == 0)
                for (int c = 0; c < _NVV_CMD_MAX; c++)
                        if (c != NVV_CMD_ADD_VGPU_TYPES)
                                n = MAX(n, (size_t) nvv_cmd_schema(c)->size);
        return MAX(n, (size_t) 96); /* raw() writes up to 96 bytes */
}

_printf_(2, 3) _Noreturn static void die(const struct fz *f, const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "fuzz-gsp (%s): ", f->fw ? f->fw->release : "?");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        abort();
}

static void check(struct fz *f, const char *what)
{
        char err[256];
        struct nvv_gsp_state s;

        nvv_gsp_get_state(f->g, &s);
        if (s.n_vgpus == 0)
                f->relaxed = false;
        if (gsp_check_invariants(f->g, &f->cfg, f->fw, f->relaxed, err, sizeof(err)) < 0)
                die(f, "after %s: %s", what, err);
}

static const char *run(struct fz *f, uint32_t gfid, int cmd)
{
        const char *st = NULL;
        struct nvv_gsp_state s;
        int r;

        nvv_gsp_get_state(f->g, &s);
        r = nvv_gsp_handle_device(f->g, gfid, cmd, f->io, &st);
        if (r != 0)
                die(f, "%s returned %d", nvv_cmd_to_string(cmd), r);
        if (!gsp_check_status_known(f->fw, st))
                die(f, "%s answered unknown status %s", nvv_cmd_to_string(cmd), st ? st : "(null)");
        if (!f->fw->commands[cmd] && !streq(st, "NV_ERR_NOT_SUPPORTED"))
                die(f, "%s is not offered but answered %s", nvv_cmd_to_string(cmd), st);
        if (cmd == NVV_CMD_ADD_VGPU_TYPES && streq(st, "NV_OK") && s.n_vgpus > 0)
                f->relaxed = true; /* a type with vGPUs may have been replaced */
        check(f, nvv_cmd_to_string(cmd));
        return st;
}

static void on_event(void *ud, int event, const union nvv_cmd_any *p)
{
        struct fz *f = ud;

        if (event < 0 || event >= _NVV_EVENT_MAX || !f->fw->event_bindings[event])
                die(f, "event %d the release does not describe", event);
        f->events++;
}

static void fill_name(struct in *in, uint8_t name[16])
{
        memset(name, 0, 16);
        name[0] = (uint8_t) ('a' + u8(in) % 12);
}

static void fill_type(struct in *in, const struct fz *f, struct nvv_vgpu_type *t)
{
        uint32_t units = f->cfg.placement_units;

        memset(t, 0, sizeof(*t));
        t->type_id = u8(in) % 12;
        t->max_instance = u8(in) % 50;
        t->fb_length = (uint64_t) (u8(in) % 24) * f->cfg.vmmu_segment / 2 + (u8(in) % 3) * MiB;
        t->fb_reservation = (uint64_t) (u8(in) % 4) * MiB * 16;
        t->gsp_heap_size = (uint64_t) (u8(in) % 4) * MiB;
        t->placement_size = u8(in) % 17;
        t->homogeneous_placement_count = u8(in) % (NVV_MAX_PLACEMENTS + 2);
        for (uint32_t i = 0; i < t->homogeneous_placement_count && i < NVV_MAX_PLACEMENTS; i++)
                t->homogeneous_placement_ids[i] = u8(in) % (units + 4);
        t->heterogeneous_placement_count = u8(in) % (NVV_MAX_PLACEMENTS + 2);
        for (uint32_t i = 0; i < t->heterogeneous_placement_count && i < NVV_MAX_PLACEMENTS; i++)
                t->heterogeneous_placement_ids[i] = u8(in) % (units + 4);
        if (u8(in) % 3 == 0) /* a type without placement ids */
                t->homogeneous_placement_count = t->heterogeneous_placement_count = 0;
}

static uint32_t pick_placement(struct in *in, const struct fz *f)
{
        uint8_t b = u8(in);

        if (b < 128)
                return NVV_PLACEMENT_NONE;
        if (b < 140)
                return f->fw->sizing.placement_id_invalid;
        return b % (f->cfg.placement_units + 4);
}

/* Compare one create (create_device or alloc_host_vgpu creating) with the prediction. */
static void predicted_create(struct fz *f, int cmd, uint32_t type_id, const uint8_t *name, uint32_t gfid,
                             uint32_t want)
{
        struct gsp_expect x;
        bool pred = gsp_check_predict_create(f->g, &f->cfg, f->fw, type_id, name, gfid, want, &x);
        const char *st = run(f, 0, cmd);
        struct nvv_gsp_vgpu_info v;
        bool found = false;

        if (!pred)
                return;
        if (!streq(st, x.status))
                die(f, "%s type %u answered %s, rules say %s", nvv_cmd_to_string(cmd), type_id, st, x.status);
        if (!streq(st, "NV_OK"))
                return;
        for (size_t i = 0; !found && nvv_gsp_get_vgpu(f->g, i, &v) == 0; i++)
                found = cmd == NVV_CMD_CREATE_DEVICE ? v.vgpu_id == f->io->create_device.vgpu_id : v.gfid == gfid;
        if (!found)
                die(f, "created vGPU not found");
        if (v.placement_id != x.placement_id || v.fb_offset != x.fb_offset || v.fb_length != x.fb_length ||
            v.chid_offset != x.chid_offset || v.num_chids != x.num_chids)
                die(f, "vGPU %u at placement %u fb %#" PRIx64 "+%#" PRIx64 " chids %u+%u; rules say %u %#" PRIx64
                       "+%#" PRIx64 " %u+%u",
                    v.vgpu_id, v.placement_id, v.fb_offset, v.fb_length, v.chid_offset, v.num_chids, x.placement_id,
                    x.fb_offset, x.fb_length, x.chid_offset, x.num_chids);
}

static void op_bootload(struct fz *f, struct in *in, uint32_t gfid)
{
        struct nvv_cmd_bootload_plugin *b = &f->io->bootload_plugin;
        struct nvv_gsp_host_info h;
        struct nvv_gsp_vgpu_info v;
        bool have = false, damaged = false;
        uint8_t how = u8(in);
        const char *st;

        if (nvv_gsp_get_host(f->g, gfid, &h) == 0 && h.vgpu_id)
                for (size_t i = 0; !have && nvv_gsp_get_vgpu(f->g, i, &v) == 0; i++)
                        have = v.vgpu_id == h.vgpu_id;
        b->gfid = gfid;
        if (have) {
                const struct nvv_vgpu_type *t = nvv_gsp_find_type(f->g, v.type_id);

                b->num_channels = v.num_chids;
                for (unsigned i = 0; i < 4; i++)
                        b->chid_offset[i] = v.chid_offset;
                b->fb_segment_count = 1;
                b->fb_segment_addr[0] = v.fb_offset;
                b->fb_segment_len[0] = v.fb_length;
                b->plugin_heap_len = t ? t->gsp_heap_size : UINT64_MAX;
                if (how % 4 == 1) { /* split in two */
                        b->fb_segment_count = 2;
                        b->fb_segment_len[0] = v.fb_length / 2;
                        b->fb_segment_addr[1] = v.fb_offset + v.fb_length / 2;
                        b->fb_segment_len[1] = v.fb_length - v.fb_length / 2;
                } else if (how % 4 == 2) { /* one field off */
                        damaged = true;
                        switch (u8(in) % 4) {
                        case 0:
                                b->fb_segment_len[0] += f->cfg.vmmu_segment;
                                break;
                        case 1:
                                b->num_channels++;
                                break;
                        case 2:
                                b->chid_offset[2]++;
                                break;
                        default:
                                /* The heap the vGPU needs is its type's at creation; a
                                 * replaced type (relaxed) may have asked for less. */
                                damaged = b->plugin_heap_len > 0 && !f->relaxed;
                                b->plugin_heap_len = 0;
                                break;
                        }
                }
        }
        st = run(f, 0, NVV_CMD_BOOTLOAD_PLUGIN);
        /* A bootload built from the vGPU, on an ALLOCATED task whose type still has that heap,
         * is accepted; a damaged one is refused. */
        if (have && h.task == NVV_GSP_TASK_ALLOCATED && how % 4 != 2 && !f->relaxed && !streq(st, "NV_OK"))
                die(f, "valid bootload of gfid %u refused: %s", gfid, st);
        if (damaged && streq(st, "NV_OK"))
                die(f, "damaged bootload of gfid %u accepted (how %u, relaxed %d, heap %" PRIu64 ")", gfid, how, f->relaxed, b->plugin_heap_len);
}

/* A decode only ever yields 0 or 1 in a C bool: make raw bytes obey that, by the schema. */
static void fix_bools(const struct nvv_sschema *s, uint8_t *p)
{
        for (size_t i = 0; s && i < s->n_fields; i++) {
                const struct nvv_sfield *fl = &s->fields[i];

                if (fl->kind == NVV_SK_BOOL)
                        for (uint32_t k = 0; k < fl->count; k++)
                                p[fl->offset + k] = p[fl->offset + k] & 1;
                else if (fl->kind == NVV_SK_STRUCTS)
                        for (uint32_t k = 0; k < fl->count; k++)
                                fix_bools(fl->elem, p + fl->offset + (size_t) k * fl->elem_size);
        }
}

static void raw(struct fz *f, struct in *in, int cmd)
{
        size_t n = u8(in) % 96;

        /* Arbitrary bytes at the start of the request: what a hostile decode could hand us. */
        for (size_t i = 0; i < n && i < sizeof(*f->io); i++)
                ((uint8_t *) f->io)[i] = u8(in);
        fix_bools(nvv_cmd_schema(cmd), (uint8_t *) f->io);
        (void) run(f, u8(in) % 70, cmd);
}

static void step(struct fz *f, struct in *in)
{
        uint8_t op = u8(in) % 26;
        uint32_t gfid = u8(in) % (f->cfg.num_vfs + 2);
        bool creates = f->fw->commands[NVV_CMD_CREATE_DEVICE] != NULL;
        const struct nvv_binding *ab = f->fw->commands[NVV_CMD_ALLOC_HOST_VGPU];
        union nvv_cmd_any *io = f->io;
        struct nvv_gsp_state s;
        size_t events = f->events;
        int r;

        memset(io, 0, MAX(io_small(), f->io_dirty));
        f->io_dirty = 0;
        nvv_gsp_get_state(f->g, &s);
        switch (op) {
        case 0:
        case 1:
        case 2: {
                const struct nvv_vgpu_type *t = s.n_types ? nvv_gsp_get_type(f->g, u8(in) % s.n_types) : NULL;

                fill_name(in, io->create_device.vgpu_name);
                io->create_device.type_id = t && u8(in) % 8 ? t->type_id : u8(in) % 14;
                if (creates)
                        predicted_create(f, NVV_CMD_CREATE_DEVICE, io->create_device.type_id,
                                         io->create_device.vgpu_name, 0, NVV_PLACEMENT_NONE);
                else
                        run(f, 0, NVV_CMD_CREATE_DEVICE);
                break;
        }
        case 3: {
                struct nvv_gsp_vgpu_info v;

                if (s.n_vgpus && u8(in) % 4 && nvv_gsp_get_vgpu(f->g, u8(in) % s.n_vgpus, &v) == 0) {
                        memcpy(io->delete_device.vgpu_name, v.name, 16);
                        io->delete_device.vgpu_id = v.vgpu_id;
                } else {
                        fill_name(in, io->delete_device.vgpu_name);
                        io->delete_device.vgpu_id = u8(in) % 8;
                }
                run(f, 0, NVV_CMD_DELETE_DEVICE);
                break;
        }
        case 4:
        case 5: {
                struct nvv_cmd_alloc_host_vgpu *a = &io->alloc_host_vgpu;
                const struct nvv_vgpu_type *t = s.n_types ? nvv_gsp_get_type(f->g, u8(in) % s.n_types) : NULL;
                struct nvv_gsp_vgpu_info v;

                a->gfid = gfid;
                a->placement_id = pick_placement(in, f);
                a->type_id = t ? t->type_id : u8(in) % 14;
                if (u8(in) % 2)
                        fill_name(in, a->vgpu_dev_name);
                if (creates && s.n_vgpus && u8(in) % 4 && nvv_gsp_get_vgpu(f->g, u8(in) % s.n_vgpus, &v) == 0) {
                        memcpy(a->vgpu_dev_name, v.name, 16);
                        a->type_id = u8(in) % 8 ? v.type_id : a->type_id;
                }
                if (!creates && gfid >= 1 && gfid <= f->cfg.num_vfs) {
                        bool carries = ab->plan && nvv_wplan_has_field(ab->plan, "placement_id");
                        uint8_t zero[16] = {};
                        bool named = memcmp(a->vgpu_dev_name, zero, 16) != 0;

                        predicted_create(f, NVV_CMD_ALLOC_HOST_VGPU, a->type_id, named ? a->vgpu_dev_name : NULL,
                                         gfid, carries ? a->placement_id : NVV_PLACEMENT_NONE);
                } else
                        run(f, 0, NVV_CMD_ALLOC_HOST_VGPU);
                break;
        }
        case 6:
        case 7:
                op_bootload(f, in, gfid);
                break;
        case 8:
                io->gfid.gfid = gfid;
                run(f, 0, NVV_CMD_SHUTDOWN_PLUGIN);
                break;
        case 9:
                io->gfid.gfid = gfid;
                run(f, 0, NVV_CMD_CLEANUP_PLUGIN);
                break;
        case 10:
                io->free_states.gfid = gfid;
                io->free_states.flags = u8(in);
                run(f, 0, NVV_CMD_FREE_STATES);
                break;
        case 11: {
                const char *st = NULL;

                if (nvv_gsp_free_host_vgpu(f->g, gfid, &st) != 0 || !gsp_check_status_known(f->fw, st))
                        die(f, "free answered %s", st ? st : "(null)");
                check(f, "free");
                break;
        }
        case 12:
                r = nvv_gsp_crash_plugin(f->g, gfid);
                if (r != 0 && r != -ENOENT && r != -ESRCH)
                        die(f, "crash returned %d", r);
                if ((r == 0) != (f->events == events + 1))
                        die(f, "crash: %d, %zu events", r, f->events - events);
                check(f, "crash");
                break;
        case 13:
                if (u8(in) % 8 == 0) {
                        if (nvv_gsp_reset(f->g) != 0)
                                die(f, "reset failed");
                        check(f, "reset");
                        nvv_gsp_get_state(f->g, &s);
                        if (s.n_vgpus || s.n_types)
                                die(f, "reset left %zu vGPUs, %zu types", s.n_vgpus, s.n_types);
                }
                break;
        case 14:
                io->set_heterogeneous_mode.enabled = u8(in) & 1;
                run(f, 0, NVV_CMD_SET_HETEROGENEOUS_MODE);
                break;
        case 15:
                io->set_vgpu_mgr_config.heterogeneous_timesliced = u8(in) & 1;
                run(f, 0, NVV_CMD_SET_VGPU_MGR_CONFIG);
                break;
        case 16: {
                uint32_t n = 1 + u8(in) % 3;

                io->add_vgpu_types.discard = u8(in) & 1;
                io->add_vgpu_types.count = n;
                for (uint32_t i = 0; i < n; i++)
                        fill_type(in, f, &io->add_vgpu_types.types[i]);
                f->io_dirty = offsetof(struct nvv_cmd_add_vgpu_types, types) + (size_t) n * sizeof(io->add_vgpu_types.types[0]);
                run(f, 0, NVV_CMD_ADD_VGPU_TYPES);
                break;
        }
        case 17:
                io->sched_state.policy = u8(in) % 7;
                io->sched_state.arr = u8(in) % 5;
                io->sched_state.timeslice_ns = u8(in) % 2 ? u32(in) : 1000000u * (u8(in) % 32);
                run(f, 0, NVV_CMD_SCHED_SET_STATE);
                break;
        case 18:
                run(f, 0, u8(in) % 2 ? NVV_CMD_SCHED_GET_CAPS : NVV_CMD_SCHED_GET_STATE);
                break;
        case 19:
                run(f, 0, NVV_CMD_ENUMERATE_VGPUS);
                if (f->fw->commands[NVV_CMD_ENUMERATE_VGPUS]) {
                        nvv_gsp_get_state(f->g, &s);
                        if (io->enumerate_vgpus.count != s.n_hosts)
                                die(f, "enumerate: %u, %zu host devices", io->enumerate_vgpus.count, s.n_hosts);
                }
                break;
        case 20:
                r = nvv_gsp_guest_driver(f->g, gfid, u8(in) & 1);
                if (r != 0 && r != -ENOENT && r != -ESRCH)
                        die(f, "guest_driver returned %d", r);
                check(f, "guest_driver");
                break;
        case 21:
                r = nvv_gsp_rc_error(f->g, gfid, u16(in) % (f->cfg.total_chids + 2));
                if (r != 0 && r != -ENOENT && r != -ERANGE)
                        die(f, "rc_error returned %d", r);
                break;
        case 22:
                io->set_guest_lifecycle.state = u8(in) % 5;
                run(f, gfid, NVV_CMD_SET_GUEST_LIFECYCLE);
                break;
        case 23: {
                struct nvv_gsp_host_info h;
                struct nvv_gsp_vgpu_info v;

                io->set_placement_id.placement_id = pick_placement(in, f);
                io->set_placement_id.num_channels = u16(in);
                if (nvv_gsp_get_host(f->g, gfid, &h) == 0 && h.vgpu_id && u8(in) % 2)
                        for (size_t i = 0; nvv_gsp_get_vgpu(f->g, i, &v) == 0; i++)
                                if (v.vgpu_id == h.vgpu_id) {
                                        io->set_placement_id.placement_id = v.placement_id;
                                        io->set_placement_id.num_channels = v.num_chids;
                                }
                run(f, gfid, NVV_CMD_SET_PLACEMENT_ID);
                break;
        }
        case 24:
                switch (u8(in) % 4) {
                case 0:
                        io->set_power_state.state = u8(in);
                        run(f, 0, NVV_CMD_SET_POWER_STATE);
                        break;
                case 1:
                        io->gfid.gfid = gfid;
                        run(f, 0, NVV_CMD_CLEAR_GUEST_VM_INFO);
                        break;
                case 2:
                        fill_name(in, io->get_start_data.mdev_uuid);
                        run(f, 0, NVV_CMD_GET_START_DATA);
                        break;
                default:
                        run(f, 0, NVV_CMD_GET_FEATURES);
                        break;
                }
                break;
        default:
                raw(f, in, u8(in) % _NVV_CMD_MAX);
                break;
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        const char *dir = getenv("NVVGPU_FWABI_DIR"), *top = getenv("NVV_TOP_SRCDIR");
        _cleanup_free_ char *path = NULL, *err = NULL;

        if (!dir && top && asprintf(&path, "%s/data/fwabi", top) >= 0)
                dir = path;
        if (!dir || nvv_fwdb_new(&db) < 0 || nvv_fwdb_load_dir(db, dir, &err) < 0 || nvv_fwdb_count(db) == 0) {
                fprintf(stderr, "fuzz-gsp: cannot load release descriptions from %s: %s\n", dir ? dir : "(unset)",
                        err ? err : "set NVVGPU_FWABI_DIR");
                abort();
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(nvv_gsp_freep) struct nvv_gsp *g = NULL;
        static union nvv_cmd_any *io; /* 170 KB: allocated once, not per input */
        struct in in = { data, size };
        struct fz f = {};
        uint32_t per_unit;

        if (size < 8)
                return 0;
        f.fw = nvv_fwdb_get(db, u8(&in) % nvv_fwdb_count(db));
        f.cfg.vmmu_segment = (32 * MiB) << (u8(&in) % 5);
        f.cfg.placement_units = 1 + u8(&in) % 64;
        per_unit = 1 + u8(&in) % 4;
        f.cfg.fb_reserved = (uint64_t) (u8(&in) % 3) * f.cfg.vmmu_segment + (u8(&in) % 2) * MiB;
        f.cfg.fb_total = f.cfg.fb_reserved +
                         ((uint64_t) f.cfg.placement_units * per_unit + u8(&in) % 7) * f.cfg.vmmu_segment +
                         (u8(&in) % 5) * MiB;
        f.cfg.num_vfs = u8(&in) % (NVV_MAX_VGPUS + 1);
        f.cfg.total_chids = u8(&in) % 4 ? 64u << (u8(&in) % 7) : u16(&in);
        if (!io)
                io = malloc(sizeof(*io));
        if (!io)
                return 0;
        memset(io, 0, sizeof(*io));
        f.io = io;
        if (nvv_gsp_new(&f.cfg, f.fw, &g) < 0)
                die(&f, "config refused");
        f.g = g;
        nvv_gsp_set_event_fn(g, on_event, &f);

        /* init: config, types, mode */
        io->set_vgpu_mgr_config.heterogeneous_timesliced = u8(&in) & 1;
        run(&f, 0, NVV_CMD_SET_VGPU_MGR_CONFIG);
        memset(io, 0, sizeof(*io));
        io->add_vgpu_types.discard = true;
        io->add_vgpu_types.count = 1 + u8(&in) % 8;
        for (uint32_t i = 0; i < io->add_vgpu_types.count; i++)
                fill_type(&in, &f, &io->add_vgpu_types.types[i]);
        run(&f, 0, NVV_CMD_ADD_VGPU_TYPES);
        memset(io, 0, sizeof(*io));
        io->set_heterogeneous_mode.enabled = u8(&in) & 1;
        run(&f, 0, NVV_CMD_SET_HETEROGENEOUS_MODE);

        for (unsigned i = 0; i < MAX_OPS && in.n > 0; i++)
                step(&f, &in);
        return 0;
}
