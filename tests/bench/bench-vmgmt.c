/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The upstream vGPU-management interface: an assign + deassign round trip through the
 * channel's in-process fwctl transport (encode from the description, FWCTL_RPC into the
 * simulated nova-core kernel and firmware, decode and check the reply), against its floor
 * measured in the same run, by turns: two round trips of the smallest RPC (sched_get_state)
 * through the existing RPC channel's in-process transport (the simulated GSP's real queue).
 * Target (issue 11 §1): ours <= 2x the floor. The in-process fwctl transport calls the simulated
 * kernel directly, with no thread hop, where the RPC channel crosses to the GSP thread; so the
 * same pair is also measured over the simulator's socket, where both cross the same socket and
 * threads (also <= 2x).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "nvv-backend.h"
#include "nvv-channel.h"
#include "nvv-rpc.h"
#include "nvv-sim.h"

int main(void)
{
        struct nvv_sim_options o = { .gpus = "L40S@595.45.04,RTX-PRO-6000@upstream", .socket_path = NULL };
        char sock[64] = "/tmp/nvv-bench-vmgmt-XXXXXX", path[96];
        struct nvv_channel *rpc_s = NULL, *vm_s = NULL;
        struct bench_stats ours_s, floor_s;
        char base_name[96];
        _cleanup_(nvv_sim_stopp) struct nvv_sim *sim = NULL;
        _cleanup_(nvv_backend_freep) struct nvv_backend *b = NULL;
        struct nvv_backend_gpu *gs = NULL;
        struct nvv_fwdb *db = NULL;
        struct nvv_vmgmt_io io = {}, add = {};
        struct nvv_cmd_sched_state ss;
        char *msg = NULL, err[512] = "", cat[4096];
        const char *top = getenv("NVV_TOP_SRCDIR");
        struct bench_stats ours, floor_ns;
        size_t n = 0, rpc_len;
        int fails = 0;

        if (top) {
                snprintf(cat, sizeof(cat), "%s/data/gpus", top);
                o.catalog_dir = cat;
        }
        if (!mkdtemp(sock))
                return 1;
        snprintf(path, sizeof(path), "%s/s.sock", sock);
        o.socket_path = path;
        if (nvv_sim_start(&o, &sim, &msg) < 0 || nvv_fwdb_new(&db) < 0 || nvv_fwdb_load_default(db, &msg) < 0 ||
            nvv_sim_get_backend(sim, &b) < 0 || nvv_backend_open_all(b, db, &gs, &n, &msg) < 0 || n != 2 ||
            !gs[0].channel || !gs[1].channel) {
                fprintf(stderr, "bench-vmgmt: %s\n", msg ? msg : n == 2 ? gs[0].channel ? gs[1].error_msg : gs[0].error_msg
                                                                    : "setup failed");
                return 1;
        }
        add.type = (struct nvv_vgpu_type) { .type_id = 60505, .max_instance = 8, .bar1_length = 256,
                                            .profile_size = 12ull << 30, .fb_length = 10ull << 30,
                                            .gsp_heap_size = 16ull << 20, .fb_reservation = 128ull << 20 };
        snprintf(add.type.name, sizeof(add.type.name), "NVIDIA RTX-PRO-6000-12Q");
        if (nvv_channel_vmgmt_call(gs[1].channel, NVV_VMGMT_ADD_TYPE, &add, NULL, err, sizeof(err)) < 0) {
                fprintf(stderr, "bench-vmgmt: %s\n", err);
                return 1;
        }
        io.vf = (struct nvv_pci_addr) { .bus = 0x42, .dev = 0, .fn = 4 }; /* GPU 1 is 0000:42:00.0 */
        io.type_id = 60505;
        io.placement_id = NVV_PLACEMENT_NONE;
        rpc_len = nvv_rpc_size(nvv_channel_get_fwabi(gs[0].channel), NVV_CMD_SCHED_GET_STATE);

        BENCH_PAIR(ours, floor_ns, 9, 20000,
                   {
                           io.placement_id = NVV_PLACEMENT_NONE;
                           if (nvv_channel_vmgmt_call(gs[1].channel, NVV_VMGMT_ASSIGN, &io, NULL, err, sizeof(err)) < 0 ||
                               nvv_channel_vmgmt_call(gs[1].channel, NVV_VMGMT_DEASSIGN, &io, NULL, err, sizeof(err)) < 0)
                                   fails++;
                   },
                   {
                           for (int k = 0; k < 2; k++) {
                                   memset(&ss, 0, sizeof(ss));
                                   if (nvv_channel_call(gs[0].channel, NVV_CMD_SCHED_GET_STATE, &ss, 0, NULL, NULL, err,
                                                        sizeof(err)) < 0)
                                           fails++;
                           }
                   });
        if (nvv_channel_open_sim(path, 0, db, &rpc_s, &msg) < 0 || nvv_channel_open_sim(path, 1, db, &vm_s, &msg) < 0) {
                fprintf(stderr, "bench-vmgmt: %s\n", msg ? msg : "cannot open the socket channels");
                return 1;
        }
        BENCH_PAIR(ours_s, floor_s, 9, 1000,
                   {
                           io.placement_id = NVV_PLACEMENT_NONE;
                           if (nvv_channel_vmgmt_call(vm_s, NVV_VMGMT_ASSIGN, &io, NULL, err, sizeof(err)) < 0 ||
                               nvv_channel_vmgmt_call(vm_s, NVV_VMGMT_DEASSIGN, &io, NULL, err, sizeof(err)) < 0)
                                   fails++;
                   },
                   {
                           for (int k = 0; k < 2; k++) {
                                   memset(&ss, 0, sizeof(ss));
                                   if (nvv_channel_call(rpc_s, NVV_CMD_SCHED_GET_STATE, &ss, 0, NULL, NULL, err,
                                                        sizeof(err)) < 0)
                                           fails++;
                           }
                   });
        nvv_channel_close(rpc_s);
        nvv_channel_close(vm_s);
        if (fails) {
                fprintf(stderr, "bench-vmgmt: %d calls failed: %s\n", fails, err);
                return 1;
        }
        printf("upstream fwctl interface, in-process transport (assign 32 B + deassign 16 B, 8 B replies):\n");
        printf("  assign + deassign round trip    %9.0f ns  (%.0f/s)\n", ours.median, 1e9 / ours.median);
        printf("  floor: 2 x %zu-byte RPC round trip through the RPC channel (in-process, GSP queue)\n", rpc_len);
        printf("                                  %9.0f ns\n", floor_ns.median);
        printf("  ratio %.2fx (target <= 2x): %s\n", ours.median / floor_ns.median, ours.median <= 2 * floor_ns.median ? "met" : "MISSED");
        printf("the same over the simulator's socket:\n");
        printf("  assign + deassign round trip    %9.0f ns\n", ours_s.median);
        printf("  floor: 2 x %zu-byte RPC         %9.0f ns\n", rpc_len, floor_s.median);
        printf("  ratio %.2fx (target <= 2x): %s\n", ours_s.median / floor_s.median, ours_s.median <= 2 * floor_s.median ? "met" : "MISSED");
        snprintf(base_name, sizeof(base_name), "2 x %zu-byte RPC round trip", rpc_len);
        bench_report("bench-vmgmt", &(struct bench_figure) {
                .figure = "upstream assign + deassign, in-process", .ours = ours, .unit = "ns", .baseline = base_name,
                .base = floor_ns, .vs = BENCH_VS_RATIO, .target = "<= 2x", .met = ours.median <= 2 * floor_ns.median });
        bench_report("bench-vmgmt", &(struct bench_figure) {
                .figure = "upstream assign + deassign, socket", .ours = ours_s, .unit = "ns", .baseline = base_name,
                .base = floor_s, .vs = BENCH_VS_RATIO, .target = "<= 2x", .met = ours_s.median <= 2 * floor_s.median });
        nvv_backend_gpus_free(gs, n);
        sim = nvv_sim_stop(TAKE_PTR(sim));
        (void) rmdir(sock);
        nvv_fwdb_free(db);
        return ours.median <= 2 * floor_ns.median && ours_s.median <= 2 * floor_s.median ? 0 : 2;
}
