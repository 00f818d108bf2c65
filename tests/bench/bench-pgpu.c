/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The managed GPU (nvv-pgpu.h) against the channel round trips it is made of, on nvvgpu-sim,
 * in-process and over the simulator's socket. Target (issue "The managed GPU"): bring-up of
 * one GPU, the 128-type upload included, and create + delete of a vGPU, each within 1.5x of
 * the sum of its channel calls.
 *
 *   - bring-up: nvv_pgpu_new + nvv_pgpu_bring_up on a fresh simulated GPU, against the
 *     release's init list issued by hand with nvv_channel_call, with the same inputs, on a
 *     fresh simulated GPU. Starting and stopping the simulator and opening the channel are not
 *     timed, on either side.
 *   - create + delete: nvv_pgpu_create_vgpu + nvv_pgpu_delete_vgpu on a brought-up GPU,
 *     against CREATE_DEVICE + DELETE_DEVICE by hand on the same GPU's channel.
 * The two sides run by turns (floor, ours, floor, ours...) so that whatever else the machine
 * does weighs on both alike; each side's samples give the median and p90, and the ratio is
 * of the medians.
 *
 * No catalog model has 128 types (L40S and A40 have the most, 29), so the table is the L40S
 * types as the release takes them (nvv_catalog_fill_vgpu_type), then copies of them under
 * new type ids up to 128, given to both sides through nvv_pgpu_options.types.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "nvv-catalog.h"
#include "nvv-channel.h"
#include "nvv-cmd.h"
#include "nvv-fwabi.h"
#include "nvv-fwdb.h"
#include "nvv-pgpu.h"
#include "nvv-policy.h"
#include "nvv-sim.h"

#define MODEL "L40S"
#define RELEASE "595.45.04"
#define BRINGUPS 41             /* samples per side and backend (a simulator start each) */
#define CYCLES 2001             /* create + delete samples per side and backend */
#define TARGET 1.5

static const char *const uuid = "5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc01";

_printf_(1, 2) __attribute__((noreturn)) static void die(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        fputs("bench-pgpu: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        exit(1);
}

struct sim {
        struct nvv_sim *sim;
        char dir[64], socket[128];
};

static char catalog_dir[4096];

static void sim_start(struct sim *s)
{
        struct nvv_sim_options o = { .gpus = MODEL "@" RELEASE, .catalog_dir = *catalog_dir ? catalog_dir : NULL };
        char *msg = NULL;

        snprintf(s->dir, sizeof(s->dir), "/tmp/nvv-bench-XXXXXX");
        if (!mkdtemp(s->dir))
                die("mkdtemp: %m");
        snprintf(s->socket, sizeof(s->socket), "%s/sim.sock", s->dir);
        o.socket_path = s->socket;
        if (nvv_sim_start(&o, &s->sim, &msg) < 0)
                die("simulator: %s", msg ? msg : "?");
}

static void sim_stop(struct sim *s)
{
        s->sim = nvv_sim_stop(s->sim);
        unlink(s->socket);
        rmdir(s->dir);
}

static struct nvv_channel *sim_open(struct sim *s, const struct nvv_fwdb *db, bool socket)
{
        struct nvv_channel *ch = NULL;
        char *msg = NULL;
        int r;

        if (socket)
                r = nvv_channel_open_sim(s->socket, 0, db, &ch, &msg);
        else
                r = nvv_simgpu_open_channel(nvv_sim_get_gpu(s->sim, 0), db, &ch, &msg);
        if (r < 0)
                die("opening the channel: %s", msg ? msg : "?");
        return ch;
}

static void sim_status(struct sim *s, struct nvv_simgpu_status *st)
{
        if (nvv_simgpu_get_status(nvv_sim_get_gpu(s->sim, 0), st) < 0)
                die("simulator status");
}

/* The L40S types the release takes, then copies under new ids, to NVV_MAX_VGPU_TYPES. */
static size_t make_types(const struct nvv_catalog *c, const struct nvv_fwabi *fw, struct nvv_vgpu_type *t)
{
        const struct nvv_catalog_gpu *m = NULL;
        size_t n = 0, real;

        for (size_t i = 0; !m && i < nvv_catalog_count(c); i++)
                if (streq(nvv_catalog_get(c, i)->short_name, MODEL))
                        m = nvv_catalog_get(c, i);
        if (!m)
                die("no %s in the catalog", MODEL);
        for (size_t i = 0; i < m->n_types && n < NVV_MAX_VGPU_TYPES; i++)
                if (nvv_catalog_fill_vgpu_type(&m->types[i], fw, false, &t[n]) >= 0)
                        n++;
        real = n;
        if (real == 0)
                die("no %s type fits release %s", MODEL, fw->release);
        for (; n < NVV_MAX_VGPU_TYPES; n++) {
                t[n] = t[n % real];
                t[n].type_id = 0x4000 + (uint32_t) n;
                snprintf(t[n].name, sizeof(t[n].name), "BENCH-%zu", n);
        }
        return real;
}

struct setup {
        const struct nvv_fwdb *db;
        const struct nvv_fwabi *fw;
        struct nvv_vgpu_type types[NVV_MAX_VGPU_TYPES];
        size_t n_types;
        /* The init list's inputs as bring-up builds them, one per step. */
        union nvv_cmd_any *steps;
        bool get_state_first;   /* sched_set_state takes the running timeslice */
};

/* Each init step's input, as nvv-pgpu-init.c builds it for an explicit table in equal-size
 * mode with the default policy (no scheduler: best effort, the firmware's timeslice). */
static void make_steps(struct setup *s)
{
        struct nvv_policy_sched sched = { .set = true, .policy = NVV_SCHED_BEST_EFFORT, .arr = NVV_ARR_DEFAULT };

        s->steps = calloc(s->fw->n_init, sizeof(*s->steps));
        if (!s->steps)
                die("out of memory");
        for (size_t i = 0; i < s->fw->n_init; i++) {
                union nvv_cmd_any *io = &s->steps[i];

                switch (s->fw->init[i]) {
                case NVV_CMD_GET_FEATURES:
                case NVV_CMD_SCHED_GET_CAPS:
                case NVV_CMD_SCHED_GET_STATE:
                        break;
                case NVV_CMD_SET_VGPU_MGR_CONFIG:
                        io->set_vgpu_mgr_config.heterogeneous_timesliced = false;
                        break;
                case NVV_CMD_ADD_VGPU_TYPES:
                        io->add_vgpu_types.discard = true;
                        io->add_vgpu_types.count = NVV_MAX_VGPU_TYPES;
                        memcpy(io->add_vgpu_types.types, s->types, sizeof(s->types));
                        break;
                case NVV_CMD_SET_HETEROGENEOUS_MODE:
                        io->set_heterogeneous_mode.enabled = false;
                        break;
                case NVV_CMD_SCHED_SET_STATE:
                        if (nvv_policy_sched_to_state(&sched, &io->sched_state) < 0)
                                die("the default scheduler has no state");
                        s->get_state_first = io->sched_state.timeslice_ns == 0 &&
                                             nvv_fwabi_command(s->fw, NVV_CMD_SCHED_GET_STATE);
                        break;
                case NVV_CMD_SET_POWER_STATE:
                        io->set_power_state.state = 0;
                        break;
                default:
                        die("release %s: init step %s is not one this benchmark knows", s->fw->release,
                            nvv_cmd_to_string(s->fw->init[i]));
                }
        }
}

static void call(struct nvv_channel *ch, int cmd, void *io)
{
        char err[512] = "";

        if (nvv_channel_call(ch, cmd, io, 0, NULL, NULL, err, sizeof(err)) < 0)
                die("%s: %s", nvv_cmd_to_string(cmd), err);
}

/* The floor: the init list by hand. Inputs are copied in before the clock starts. */
static uint64_t floor_bring_up(const struct setup *s, struct nvv_channel *ch, union nvv_cmd_any *io,
                               union nvv_cmd_any *cur)
{
        uint64_t t0;

        memcpy(io, s->steps, s->fw->n_init * sizeof(*io));
        memset(cur, 0, sizeof(*cur));
        t0 = now_ns();
        for (size_t i = 0; i < s->fw->n_init; i++) {
                int cmd = s->fw->init[i];

                if (cmd == NVV_CMD_SCHED_SET_STATE && s->get_state_first) {
                        call(ch, NVV_CMD_SCHED_GET_STATE, cur);
                        io[i].sched_state.timeslice_ns = cur->sched_state.timeslice_ns;
                }
                call(ch, cmd, &io[i]);
        }
        return now_ns() - t0;
}

static uint64_t ours_bring_up(const struct setup *s, struct nvv_channel *ch, const struct nvv_catalog *c,
                              struct nvv_pgpu **ret)
{
        struct nvv_pgpu_options o = { .catalog = c, .types = s->types, .n_types = NVV_MAX_VGPU_TYPES,
                                      .mode = NVV_PARTITION_HOMOGENEOUS };
        char *msg = NULL;
        uint64_t t0;

        t0 = now_ns();
        if (nvv_pgpu_new(ch, &o, ret, &msg) < 0)
                die("nvv_pgpu_new: %s", msg ? msg : "?");
        if (nvv_pgpu_bring_up(*ret, &msg) < 0)
                die("bring-up: %s", msg ? msg : "?");
        return now_ns() - t0;
}

/* "0000:41:00.0" → bus << 8 | devfn, as the managed GPU sends it. */
static uint32_t parse_bdf(const char *b)
{
        unsigned dom, bus, dev, fn;

        if (sscanf(b, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4 || bus > 0xff || dev > 0x1f || fn > 7)
                return 0;
        return bus << 8 | dev << 3 | fn;
}

static void parse_uuid(const char *s, uint8_t out[16])
{
        for (size_t i = 0, k = 0; k < 16; i += 2, k++) {
                if (s[i] == '-')
                        i++;
                if (sscanf(s + i, "%2hhx", &out[k]) != 1)
                        die("bad UUID %s", s);
        }
}

struct row {
        const char *what;
        struct bench_stats ours, floor;
        uint64_t rpcs_ours, rpcs_floor;  /* firmware commands per operation */
};

static void bench_bring_up(const struct setup *s, bool socket, struct row *row)
{
        static double t_ours[BRINGUPS], t_floor[BRINGUPS];
        union nvv_cmd_any *io = calloc(s->fw->n_init, sizeof(*io)), *cur = calloc(1, sizeof(*cur));
        struct nvv_simgpu_status *st = calloc(1, sizeof(*st));

        if (!io || !cur || !st)
                die("out of memory");
        for (int r = 0; r < BRINGUPS; r++) {
                struct nvv_channel *ch;
                struct nvv_pgpu *g = NULL;
                uint64_t before;
                struct sim sim;

                sim_start(&sim);
                ch = sim_open(&sim, s->db, socket);
                sim_status(&sim, st);
                before = st->rpcs_handled;
                t_floor[r] = (double) floor_bring_up(s, ch, io, cur);
                sim_status(&sim, st);
                if (st->n_types != NVV_MAX_VGPU_TYPES)
                        die("by hand: the firmware holds %zu types, not %d", st->n_types, NVV_MAX_VGPU_TYPES);
                row->rpcs_floor = st->rpcs_handled - before;
                nvv_channel_close(ch);
                sim_stop(&sim);

                sim_start(&sim);
                ch = sim_open(&sim, s->db, socket);
                sim_status(&sim, st);
                before = st->rpcs_handled;
                t_ours[r] = (double) ours_bring_up(s, ch, nvv_sim_get_catalog(sim.sim), &g);
                sim_status(&sim, st);
                if (nvv_pgpu_get_state(g) != NVV_PGPU_READY || st->n_types != NVV_MAX_VGPU_TYPES)
                        die("managed: GPU %s, the firmware holds %zu types",
                            nvv_pgpu_state_to_string(nvv_pgpu_get_state(g)), st->n_types);
                row->rpcs_ours = st->rpcs_handled - before;
                nvv_pgpu_free(g);
                sim_stop(&sim);
        }
        row->ours = bench_stats_of(t_ours, BRINGUPS, 1000);
        row->floor = bench_stats_of(t_floor, BRINGUPS, 1000);
        free(io);
        free(cur);
        free(st);
}

static void bench_create_delete(const struct setup *s, bool socket, struct row *row)
{
        static double t_ours[CYCLES], t_floor[CYCLES];
        struct nvv_simgpu_status *st = calloc(1, sizeof(*st));
        struct nvv_pgpu *g = NULL;
        struct nvv_channel *ch;
        struct nvv_pgpu_vgpu v;
        struct nvv_cmd_create_device cd;
        struct nvv_cmd_delete_device dd;
        const struct nvv_channel_info *info;
        uint8_t name[16];
        uint32_t type = s->types[0].type_id;
        uint64_t before;
        char *msg = NULL;
        struct sim sim;

        if (!st)
                die("out of memory");
        parse_uuid(uuid, name);
        sim_start(&sim);
        (void) ours_bring_up(s, sim_open(&sim, s->db, socket), nvv_sim_get_catalog(sim.sim), &g);
        ch = nvv_pgpu_get_channel(g);
        info = nvv_channel_get_info(ch);
        for (int r = 0; r < CYCLES; r++) {
                uint64_t t0;

                /* As nvv_pgpu_create_vgpu fills it. */
                cd = (struct nvv_cmd_create_device) { .type_id = type, .gpu_pci_id = (uint32_t) info->device << 16 | info->vendor,
                                                      .gpu_pci_bdf = parse_bdf(info->bdf) };
                memcpy(cd.vgpu_name, name, 16);
                dd = (struct nvv_cmd_delete_device) {};
                memcpy(dd.vgpu_name, name, 16);
                sim_status(&sim, st);
                before = st->rpcs_handled;
                t0 = now_ns();
                call(ch, NVV_CMD_CREATE_DEVICE, &cd);
                dd.vgpu_id = cd.vgpu_id;
                call(ch, NVV_CMD_DELETE_DEVICE, &dd);
                t_floor[r] = (double) (now_ns() - t0);
                sim_status(&sim, st);
                row->rpcs_floor = st->rpcs_handled - before;
                before = st->rpcs_handled;

                t0 = now_ns();
                if (nvv_pgpu_create_vgpu(g, type, NVV_PLACEMENT_NONE, uuid, &v, NULL, &msg) < 0)
                        die("create: %s", msg ? msg : "?");
                if (nvv_pgpu_delete_vgpu(g, uuid, NULL, &msg) < 0)
                        die("delete: %s", msg ? msg : "?");
                t_ours[r] = (double) (now_ns() - t0);
                sim_status(&sim, st);
                row->rpcs_ours = st->rpcs_handled - before;
                if (st->n_vgpus != 0 || nvv_pgpu_count(g) != 0)
                        die("after delete: the firmware holds %zu vGPUs, the managed GPU %zu", st->n_vgpus,
                            nvv_pgpu_count(g));
        }
        row->ours = bench_stats_of(t_ours, CYCLES, 1000);
        row->floor = bench_stats_of(t_floor, CYCLES, 1000);
        nvv_pgpu_free(g);
        sim_stop(&sim);
        free(st);
}

int main(void)
{
        struct setup *s = calloc(1, sizeof(*s));
        struct nvv_fwdb *db = NULL;
        struct nvv_channel *ch;
        const char *top = getenv("NVV_TOP_SRCDIR");
        char *msg = NULL;
        struct row rows[4] = {
                { .what = "bring-up (128 types), in-process" },
                { .what = "create + delete, in-process" },
                { .what = "bring-up (128 types), socket" },
                { .what = "create + delete, socket" },
        };
        size_t real;
        int fails = 0;
        struct sim sim;

        if (!s)
                die("out of memory");
        if (top)
                snprintf(catalog_dir, sizeof(catalog_dir), "%s/data/gpus", top);
        if (nvv_fwdb_new(&db) < 0 || nvv_fwdb_load_default(db, &msg) < 0)
                die("%s", msg ? msg : "loading the release descriptions");
        s->db = db;
        /* The release and catalog as the simulator has them. */
        sim_start(&sim);
        ch = sim_open(&sim, db, false);
        s->fw = nvv_channel_get_fwabi(ch);
        real = make_types(nvv_sim_get_catalog(sim.sim), s->fw, s->types);
        nvv_channel_close(ch);
        sim_stop(&sim);
        make_steps(s);

        bench_bring_up(s, false, &rows[0]);
        bench_create_delete(s, false, &rows[1]);
        bench_bring_up(s, true, &rows[2]);
        bench_create_delete(s, true, &rows[3]);

        printf("firmware %s, %s on nvvgpu-sim; type table: %zu catalog types + %zu copies = %d; "
               "%d bring-ups and %d create + delete per side, taken by turns with the floor\n",
               s->fw->release, MODEL, real, (size_t) NVV_MAX_VGPU_TYPES - real, NVV_MAX_VGPU_TYPES, BRINGUPS, CYCLES);
        printf("%-34s %5s %10s %10s %10s %10s %7s\n", "operation (floor: its channel calls)", "rpcs", "ours us",
               "ours p90", "floor us", "floor p90", "ratio");
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                const struct row *r = &rows[i];
                double ratio = r->ours.median / r->floor.median;
                char target[32], note[96];
                bool ok = ratio <= TARGET && r->rpcs_ours == r->rpcs_floor;

                printf("%-34s %2" PRIu64 "/%-2" PRIu64 " %10.1f %10.1f %10.1f %10.1f %6.2fx  %s\n", r->what,
                       r->rpcs_ours, r->rpcs_floor, r->ours.median, r->ours.p90, r->floor.median,
                       r->floor.p90, ratio, ok ? "PASS" : "FAIL");
                if (r->rpcs_ours != r->rpcs_floor)
                        printf("  (the managed GPU sent %" PRIu64 " firmware commands, the floor %" PRIu64 ")\n",
                               r->rpcs_ours, r->rpcs_floor);
                fails += !ok;
                snprintf(target, sizeof(target), "<= %.1fx, same RPCs", TARGET);
                snprintf(note, sizeof(note), "firmware commands: %" PRIu64 " ours, %" PRIu64 " by hand", r->rpcs_ours,
                         r->rpcs_floor);
                bench_report("bench-pgpu", &(struct bench_figure) {
                        .figure = r->what, .ours = r->ours, .unit = "us", .baseline = "its channel calls by hand",
                        .base = r->floor, .vs = BENCH_VS_RATIO, .target = target, .met = ok, .note = note });
        }
        printf("target: ours <= %.1fx the sum of its channel calls (medians)\n", TARGET);
        free(s->steps);
        free(s);
        nvv_fwdb_free(db);
        return fails ? 2 : 0;
}
