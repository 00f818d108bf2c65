/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulator's request path, end to end: the input's bytes go into the command queue as
 * raw elements (the GSP thread unframes, reassembles, parses and executes whatever they
 * hold), then a well-formed RPC must still get its answer. A crash, hang or leak fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nvv-cmd.h"
#include "nvv-msgq.h"
#include "nvv-ring.h"
#include "nvv-rpc.h"
#include "nvv-sim.h"

static struct nvv_sim *sim;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        struct nvv_sim_options o = { .gpus = "L40S@570.144" };
        char *msg = NULL, dir[4096];
        const char *top = getenv("NVV_TOP_SRCDIR");

        if (top) {
                snprintf(dir, sizeof(dir), "%s/data/gpus", top);
                o.catalog_dir = dir;
        }
        if (nvv_sim_start(&o, &sim, &msg) < 0) {
                fprintf(stderr, "fuzz-simgpu: cannot start the simulator: %s\n", msg ? msg : "?");
                exit(1);
        }
        free(msg);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct nvv_simgpu *g;
        const struct nvv_fwabi *fw;
        struct nvv_handles h;
        struct nvv_cmd_get_features f = {};
        uint8_t rpc[512], reply[4096];
        size_t len, rlen;
        char err[256];

        if (!sim)
                LLVMFuzzerInitialize(NULL, NULL);
        g = nvv_sim_get_gpu(sim, 0);
        fw = nvv_simgpu_get_fwabi(g);
        nvv_simgpu_get_handles(g, &h);
        if (size > 0 && size <= 64 * 4096)
                (void) nvv_simgpu_submit_raw(g, data, size, 1000);
        if (nvv_rpc_encode_command(fw, NVV_CMD_GET_FEATURES, &f, &h, 7, 0, rpc, sizeof(rpc), &len, err, sizeof(err)) < 0)
                abort();
        /* The input may end in a message whose header claims more elements than it wrote: the
         * GSP then takes the next elements (our RPC's) as its rest, as a real one would, and our
         * RPC goes unanswered once. The next one must be answered. */
        for (int tries = 0;; tries++) {
                if (nvv_simgpu_rpc(g, rpc, len, 2000, reply, sizeof(reply), &rlen, err, sizeof(err)) >= 0 &&
                    nvv_rpc_decode_reply(fw, NVV_CMD_GET_FEATURES, reply, rlen, 7, &f, NULL, err, sizeof(err)) >= 0)
                        break;
                if (tries == 1) {
                        fprintf(stderr, "fuzz-simgpu: the simulator stopped answering: %s\n", err);
                        abort();
                }
        }
        return 0;
}
