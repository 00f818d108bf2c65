/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Round trips through the command channel and nvvgpu-sim's real queue (manager → command ring
 * → GSP thread → status ring → manager), against a floor measured in the same run: the same
 * bytes framed, copied and checksummed both ways through the same rings, futex doorbells and
 * cross-thread hand-off, by an echo thread with no marshalling and no firmware logic.
 * Targets (issue "The command channel and nvvgpu-sim"): a small RPC at >= 200 000 round trips/s
 * and within 2x of its floor; the 694 KB type upload within 3x of its floor.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"
#include "nvv-channel.h"
#include "nvv-cmd.h"
#include "nvv-msgq.h"
#include "nvv-ring.h"
#include "nvv-rpc.h"
#include "nvv-sim.h"

/* ---- the floor: rings and an echo thread ---- */

struct echo {
        const struct nvv_fwabi *fw;
        volatile uint32_t records;   /* messages in the request now in flight */
        struct nvv_ring cmd_g, stat_g, cmd_k, stat_k;
        uint8_t *mem;
        bool stop;                   /* atomic */
        pthread_t thread;
};

/* Like the GSP, take in the whole request before answering; then send every message back. */
static void *echo_main(void *userdata)
{
        struct echo *e = userdata;
        size_t es = e->fw->queue.element_size, cap = 16u << 20;
        uint8_t *buf = malloc(cap);
        uint32_t sizes[512];

        for (;;) {
                uint32_t want = 1, got = 0;
                size_t off = 0;
                int n = 0;

                while (got < want && got < 512) {
                        n = nvv_ring_read(&e->cmd_g, buf + off, cap - off, -1);
                        if (n < 0)
                                break;
                        /* What any receiver must do: check the checksum. */
                        if (nvv_msgq_checksum(buf + off, (size_t) n * es) != 0)
                                abort();
                        sizes[got++] = (uint32_t) n;
                        off += (size_t) n * es;
                        /* Set before the request was queued: visible once its first message is. */
                        want = e->records;
                }
                if (n < 0)
                        break;
                off = 0;
                for (uint32_t i = 0; i < got; i++) {
                        if (nvv_ring_write(&e->stat_g, buf + off, sizes[i], -1) < 0)
                                goto out;
                        off += (size_t) sizes[i] * es;
                }
        }
out:
        free(buf);
        return NULL;
}

static int echo_start(struct echo *e, const struct nvv_fwabi *fw)
{
        size_t qs = fw->queue.queue_size;

        e->fw = fw;
        e->mem = mmap(NULL, 2 * qs, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (e->mem == MAP_FAILED)
                return -ENOMEM;
        nvv_ring_format(&e->cmd_k, e->mem, &fw->queue);
        nvv_ring_format(&e->stat_k, e->mem + qs, &fw->queue);
        nvv_ring_attach(&e->cmd_g, e->mem, &fw->queue);
        nvv_ring_attach(&e->stat_g, e->mem + qs, &fw->queue);
        e->cmd_g.stop = e->stat_g.stop = e->cmd_k.stop = e->stat_k.stop = &e->stop;
        return pthread_create(&e->thread, NULL, echo_main, e) ? -EAGAIN : 0;
}

static void echo_stop(struct echo *e)
{
        __atomic_store_n(&e->stop, true, __ATOMIC_RELEASE);
        nvv_ring_wake_all(&e->cmd_k);
        nvv_ring_wake_all(&e->stat_k);
        pthread_join(e->thread, NULL);
        munmap(e->mem, 2 * (size_t) e->fw->queue.queue_size);
}

/* One floor round trip: frame the request's bytes, send, and take back as many messages. */
static void echo_roundtrip(struct echo *e, const uint8_t *rpc, size_t len, uint8_t *work, uint8_t *in)
{
        uint32_t seq = 0, records = nvv_msgq_records(e->fw, len);

        e->records = records;
        if (nvv_ring_send_rpc(&e->cmd_k, e->fw, rpc, len, &seq, work, -1) < 0)
                abort();
        for (uint32_t i = 0; i < records; i++) {
                int n = nvv_ring_read(&e->stat_k, in, 65536, -1);

                if (n < 0 || nvv_msgq_checksum(in, (size_t) n * e->fw->queue.element_size) != 0)
                        abort();
        }
}

#define RUNS 15

int main(void)
{
        struct nvv_sim_options o = { .gpus = "H200@595.45.04" };
        _cleanup_(nvv_sim_stopp) struct nvv_sim *sim = NULL;
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        struct nvv_fwdb *db = NULL;
        const struct nvv_fwabi *fw;
        struct nvv_cmd_add_vgpu_types *types = calloc(1, sizeof(*types));
        struct nvv_cmd_sched_state ss;
        struct echo e = {};
        uint8_t *work = malloc(65536), *in = malloc(65536), *rpc = malloc(1u << 20);
        char *msg = NULL, err[512], cat[4096];
        const char *top = getenv("NVV_TOP_SRCDIR");
        struct nvv_handles h;
        size_t small_len, big_len;
        struct bench_stats ours_small, floor_small, ours_big, floor_big, rate, rate_floor;
        double r_small, r_big;
        bool rate_ok;
        int fails = 0;

        if (top) {
                snprintf(cat, sizeof(cat), "%s/data/gpus", top);
                o.catalog_dir = cat;
        }
        if (nvv_sim_start(&o, &sim, &msg) < 0 || nvv_fwdb_new(&db) < 0 || nvv_fwdb_load_default(db, &msg) < 0 ||
            nvv_simgpu_open_channel(nvv_sim_get_gpu(sim, 0), db, &ch, &msg) < 0) {
                fprintf(stderr, "bench-channel: %s\n", msg ? msg : "setup failed");
                return 1;
        }
        fw = nvv_channel_get_fwabi(ch);
        h = nvv_channel_get_info(ch)->handles;
        types->discard = true;
        types->count = 128;
        for (int i = 0; i < 128; i++) {
                types->types[i].type_id = 3000 + i;
                snprintf(types->types[i].name, sizeof(types->types[i].name), "BENCH-%dC", i);
                types->types[i].fb_length = 1ull << 30;
                types->types[i].max_instance = 1;
        }

        /* The message sizes both sides move, for the floor. */
        memset(&ss, 0, sizeof(ss));
        if (nvv_rpc_encode_command(fw, NVV_CMD_SCHED_GET_STATE, &ss, &h, 1, 0, rpc, 1u << 20, &small_len, err,
                                   sizeof(err)) < 0)
                return 1;
        if (echo_start(&e, fw) < 0)
                return 1;
        BENCH_PAIR(ours_small, floor_small, RUNS, 20000, {
                memset(&ss, 0, sizeof(ss));
                if (nvv_channel_call(ch, NVV_CMD_SCHED_GET_STATE, &ss, 0, NULL, NULL, err, sizeof(err)) < 0) {
                        fprintf(stderr, "%s\n", err);
                        abort();
                }
        }, echo_roundtrip(&e, rpc, small_len, work, in));
        if (nvv_rpc_encode_command(fw, NVV_CMD_ADD_VGPU_TYPES, types, &h, 1, 0, rpc, 1u << 20, &big_len, err,
                                   sizeof(err)) < 0)
                return 1;
        BENCH_PAIR(ours_big, floor_big, RUNS, 30, {
                if (nvv_channel_call(ch, NVV_CMD_ADD_VGPU_TYPES, types, 0, NULL, NULL, err, sizeof(err)) < 0) {
                        fprintf(stderr, "%s\n", err);
                        abort();
                }
        }, echo_roundtrip(&e, rpc, big_len, work, in));
        echo_stop(&e);

        r_small = ours_small.median / floor_small.median;
        r_big = ours_big.median / floor_big.median;
        /* Round trips per second: 1e9 over each sample, so p10 and p90 swap. */
        rate = (struct bench_stats) { 1e9 / ours_small.median, 1e9 / ours_small.p90, 1e9 / ours_small.p10, ours_small.n };
        rate_floor = (struct bench_stats) { 1e9 / floor_small.median, 1e9 / floor_small.p90, 1e9 / floor_small.p10,
                                            floor_small.n };
        rate_ok = rate.median >= 200000;
        printf("firmware %s, in-process channel to nvvgpu-sim; median of %d runs taken by turns with the floor\n", fw->release, RUNS);
        printf("%-36s %10s %12s %12s %10s %7s\n", "round trip", "rpc bytes", "ours us", "floor us", "ours/s", "ratio");
        printf("%-36s %10zu %12.2f %12.2f %10.0f %6.2fx%s\n", "sched_get_state (small control)", small_len,
               ours_small.median / 1000, floor_small.median / 1000, rate.median, r_small,
               r_small <= 2.0 && rate_ok ? "" : "  (misses a target)");
        printf("%-36s %10zu %12.2f %12.2f %10.0f %6.2fx%s\n", "add_vgpu_types (128 types, 694 KB)", big_len,
               ours_big.median / 1000, floor_big.median / 1000, 1e9 / ours_big.median, r_big,
               r_big <= 3.0 ? "" : "  (over the 3x target)");
        fails += r_small > 2.0 || !rate_ok;
        fails += r_big > 3.0;
        ours_small = bench_stats_scaled(ours_small, 1000);
        floor_small = bench_stats_scaled(floor_small, 1000);
        bench_report("bench-channel", &(struct bench_figure) {
                .figure = "RPC round trip: sched_get_state (small control)", .ours = ours_small, .unit = "us",
                .baseline = "echo through the same rings", .base = floor_small, .vs = BENCH_VS_RATIO, .target = "<= 2x",
                .met = r_small <= 2.0 });
        bench_report("bench-channel", &(struct bench_figure) {
                .figure = "RPC rate: sched_get_state", .ours = rate, .unit = "1/s", .baseline = "echo through the same rings",
                .base = rate_floor, .vs = BENCH_VS_RATIO, .target = ">= 200000/s", .met = rate_ok });
        bench_report("bench-channel", &(struct bench_figure) {
                .figure = "type upload: add_vgpu_types (128 types, 694 KB)", .ours = bench_stats_scaled(ours_big, 1000),
                .unit = "us", .baseline = "echo through the same rings", .base = bench_stats_scaled(floor_big, 1000),
                .vs = BENCH_VS_RATIO, .target = "<= 3x", .met = r_big <= 3.0 });
        nvv_fwdb_free(db);
        free(types);
        free(work);
        free(in);
        free(rpc);
        return fails ? 2 : 0;
}
