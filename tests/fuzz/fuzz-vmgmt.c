/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Everything the upstream vGPU-management interface takes from outside: byte 0 picks what
 * the rest is read as (0 an NVKV property stream, 1 the reply to command byte 1, 2 a request
 * as the simulated kernel and firmware run it, 3 an interface description).
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "nvv-fwdb.h"
#include "nvv-simvmgmt.h"
#include "nvv-vmgmt.h"

static struct nvv_fwdb *db;
static const struct nvv_vmgmt *vm;
static struct nvv_simvmgmt *kernel;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        struct nvv_simvmgmt_config c = { .pf = { .bus = 0x41 }, .num_vfs = 4, .vf_offset = 4, .vf_stride = 1 };
        char *msg = NULL;

        (void) argc;
        (void) argv;
        if (nvv_fwdb_new(&db) < 0 || nvv_fwdb_load_default(db, &msg) < 0 || !(vm = nvv_fwdb_vmgmt_match(db, NULL, &msg))) {
                fprintf(stderr, "fuzz-vmgmt: no upstream interface description under %s: %s\n", nvv_fwdb_default_dir(),
                        msg ? msg : "none found");
                exit(1);
        }
        c.vm = vm;
        if (nvv_simvmgmt_new(&c, &kernel) < 0)
                exit(1);
        free(msg);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static uint8_t out[65536];
        struct nvv_vmgmt_io *io = calloc(1, sizeof(*io));
        struct nvv_vmgmt_result res;
        char err[256];
        size_t len = 0;

        if (!db)
                LLVMFuzzerInitialize(NULL, NULL);
        if (!io || size < 2) {
                free(io);
                return 0;
        }
        switch (data[0] % 4) {
        case 0:
                (void) nvv_vmgmt_decode_properties(vm, data + 1, size - 1, &io->type, err, sizeof(err));
                break;
        case 1:
                (void) nvv_vmgmt_decode_reply(vm, data[1] % _NVV_VMGMT_MAX, 0, data + 2, size - 2, io, &res, err,
                                              sizeof(err));
                break;
        case 2:
                (void) nvv_simvmgmt_rpc(kernel, 0, data + 1, size - 1, out, sizeof(out), &len);
                break;
        default: {
                struct nvv_vmgmt *d = NULL;
                char *msg = NULL;

                if (nvv_vmgmt_load_buffer((const char *) data + 1, size - 1, "fuzz", &d, &msg) >= 0)
                        nvv_vmgmt_free(d);
                free(msg);
                break;
        }
        }
        free(io);
        return 0;
}
