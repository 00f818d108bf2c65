/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Encode + frame + checksum against a floor measured in the same run: memcpy of the RPC's
 * bytes into queue elements plus the XOR checksum over those elements — what any sender
 * must do at least. Target (issue "Foundation and the firmware ABI layer"): within 3x.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "nvv-cmd.h"
#include "nvv-fwabi.h"
#include "nvv-fwdb.h"
#include "nvv-msgq.h"
#include "nvv-rpc.h"

static const struct nvv_handles handles = { .client = 0xc1d00001, .device = 0xde000001, .subdevice = 0x5d000001 };

struct result {
        const char *what;
        size_t rpc_bytes, framed_bytes;
        struct bench_stats ours, floor;
};

static int run(const struct nvv_fwabi *fw, int cmd, const void *stable, long iters, struct result *res)
{
        size_t cap = 1u << 21, len, framed = 0;
        uint8_t *rpc = malloc(cap), *frames = malloc(cap), *src = malloc(cap);
        uint32_t records, seq = 0;
        char err[256];
        struct bench_stats ours, floor;
        int r;

        if (!rpc || !frames || !src)
                return -ENOMEM;
        r = nvv_rpc_encode_command(fw, cmd, stable, &handles, 1, 0, rpc, cap, &len, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "encode: %s\n", err);
                return r;
        }
        records = nvv_msgq_records(fw, len);
        for (uint32_t i = 0; i < records; i++)
                framed += (size_t) nvv_msgq_frame_record(fw, rpc, len, i, i, frames + framed, cap - framed) *
                          fw->queue.element_size;
        memcpy(src, rpc, len);

        /* Ours: stable struct → wire bytes → framed, checksummed queue elements. */
        BENCH(ours, 9, iters, {
                size_t off = 0;

                nvv_rpc_encode_command(fw, cmd, stable, &handles, seq, 0, rpc, cap, &len, err, sizeof(err));
                for (uint32_t k = 0; k < records; k++)
                        off += (size_t) nvv_msgq_frame_record(fw, rpc, len, k, seq++, frames + off, cap - off) *
                               fw->queue.element_size;
                bench_sink(frames);
        });
        /* Floor: the same bytes copied into the elements and checksummed, nothing else. */
        BENCH(floor, 9, iters, {
                uint32_t sum;

                memcpy(frames, src, len);
                sum = nvv_msgq_checksum(frames, framed);
                bench_sink(&sum);
                bench_sink(frames);
        });
        res->rpc_bytes = len;
        res->framed_bytes = framed;
        res->ours = ours;
        res->floor = floor;
        free(rpc);
        free(frames);
        free(src);
        return 0;
}

int main(void)
{
        struct nvv_fwdb *db = NULL;
        char *msg = NULL;
        const struct nvv_fwabi *fw;
        struct nvv_cmd_create_device cd = { .gpu_pci_id = 0x233510de, .gpu_pci_bdf = 0x300, .type_id = 1152 };
        struct nvv_cmd_bootload_plugin *bl = calloc(1, sizeof(*bl));
        struct nvv_cmd_add_vgpu_types *types = calloc(1, sizeof(*types));
        struct result res[3];
        int fails = 0;

        if (nvv_fwdb_new(&db) < 0 || nvv_fwdb_load_default(db, &msg) < 0 || !bl || !types) {
                fprintf(stderr, "cannot load release descriptions: %s\n", msg ? msg : "?");
                return 1;
        }
        fw = nvv_fwdb_find(db, "595.45.04");
        if (!fw) {
                fprintf(stderr, "595.45.04 is not among the loaded descriptions\n");
                return 1;
        }
        memcpy(cd.vgpu_name, "0123456789abcdef", 16);
        bl->gfid = 3;
        bl->type_id = 1152;
        bl->num_channels = 256;
        bl->fb_segment_count = 1;
        bl->fb_segment_addr[0] = 1ull << 33;
        bl->fb_segment_len[0] = 1ull << 33;
        types->discard = true;
        types->count = 128; /* a full table: the 694 KB upload */
        for (int i = 0; i < 128; i++) {
                types->types[i].type_id = 1000 + i;
                snprintf(types->types[i].name, sizeof(types->types[i].name), "NVIDIA H200-%dC", i);
                types->types[i].fb_length = (uint64_t) (i + 1) << 30;
                types->types[i].max_instance = 1 + i % 48;
                types->types[i].placement_size = 1 + i % 8;
                types->types[i].heterogeneous_placement_count = 8;
                for (int k = 0; k < 8; k++)
                        types->types[i].heterogeneous_placement_ids[k] = (uint32_t) k * 8;
        }
        if (run(fw, NVV_CMD_CREATE_DEVICE, &cd, 200000, &res[0]) < 0 ||
            run(fw, NVV_CMD_BOOTLOAD_PLUGIN, bl, 50000, &res[1]) < 0 ||
            run(fw, NVV_CMD_ADD_VGPU_TYPES, types, 300, &res[2]) < 0)
                return 1;
        res[0].what = "create_device (small control)";
        res[1].what = "bootload_plugin (6.6 KB control)";
        res[2].what = "add_vgpu_types (128 types)";
        printf("firmware %s; median of 9 runs; floor = memcpy + checksum of the same bytes\n", fw->release);
        printf("%-34s %10s %10s %12s %12s %7s\n", "message", "rpc bytes", "framed", "ours ns", "floor ns", "ratio");
        for (int i = 0; i < 3; i++) {
                double ratio = res[i].ours.median / res[i].floor.median;
                char what[96];

                printf("%-34s %10zu %10zu %12.1f %12.1f %6.2fx%s\n", res[i].what, res[i].rpc_bytes, res[i].framed_bytes,
                       res[i].ours.median, res[i].floor.median, ratio, ratio <= 3.0 ? "" : "  (over the 3x target)");
                fails += ratio > 3.0;
                snprintf(what, sizeof(what), "encode + frame: %s, %zu B", res[i].what, res[i].rpc_bytes);
                bench_report("bench-fw", &(struct bench_figure) {
                        .figure = what, .ours = res[i].ours, .unit = "ns", .baseline = "memcpy + checksum",
                        .base = res[i].floor, .vs = BENCH_VS_RATIO, .target = "<= 3x", .met = ratio <= 3.0 });
        }
        nvv_fwdb_free(db);
        free(bl);
        free(types);
        return fails ? 2 : 0;
}
