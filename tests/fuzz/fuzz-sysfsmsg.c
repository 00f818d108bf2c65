/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sysfs contract's messages (a manager's answers and registrations, the simulator's
 * requests and uevents) and the bytes a sysfs write hands the simulated tree. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nvv-simfs-tree.h"
#include "nvv-sysfsmsg.h"
#include "util.h"

static struct nvv_simfs_gpu gpus[2];
static struct nvv_simfs_view view = { .n_gpus = 2, .gpus = gpus };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        (void) argc;
        (void) argv;
        for (int i = 0; i < 2; i++) {
                snprintf(gpus[i].bdf, sizeof(gpus[i].bdf), "0000:%02x:00.0", 0x41 + i);
                gpus[i].index = (uint32_t) i;
                gpus[i].n_types = 1;
                gpus[i].types[0].id = 1152;
                snprintf(gpus[i].types[0].name, sizeof(gpus[i].types[0].name), "NVIDIA L40S-8Q");
                gpus[i].available[0] = 3;
        }
        gpus[0].n_vgpus = 1;
        gpus[0].vgpus[0] = (struct nvv_simfs_vgpu) { .name = "5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc01", .vf = -1,
                                                     .type_id = 1152, .vgpu_id = 1 };
        gpus[1].vf_model = true;
        gpus[1].num_vfs = 4;
        gpus[1].n_vgpus = 1;
        gpus[1].vgpus[0] = (struct nvv_simfs_vgpu) { .vf = 1, .type_id = 1152, .vgpu_id = 1 };
        return 0;
}

static const char *const writable[] = {
        "devices/pci0000:41/0000:41:00.0/mdev_supported_types/nvidia-1152/create",
        "bus/mdev/devices/5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc01/remove",
        "bus/pci/devices/0000:42:00.4/nvidia/current_vgpu_type",
        "bus/pci/devices/0000:42:00.5/nvidia/current_vgpu_type",
        "bus/pci/devices/0000:42:00.0/sriov_numvfs",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct nvv_sysfs_request q;
        struct nvv_sysfs_type *types = NULL;
        struct nvv_uevent u;
        char *msg = NULL, *again = NULL;
        size_t n;
        uint32_t id;
        int e;

        if (size > NVV_SYSFSMSG_MAX_TYPES_JSON)
                return 0;
        if (nvv_sysfsmsg_parse_request(data, size, &q, &msg) == 0) {
                /* What parses formats back to something that parses the same. */
                struct nvv_sysfs_request q2;

                if (nvv_sysfsmsg_format_request(&q, &again) < 0 ||
                    nvv_sysfsmsg_parse_request(again, strlen(again), &q2, NULL) < 0 || q.id != q2.id || q.op != q2.op ||
                    q.type_id != q2.type_id || !streq(q.gpu, q2.gpu) || !streq(q.uuid, q2.uuid) || !streq(q.vf, q2.vf))
                        abort();
                free(again);
                again = NULL;
        }
        free(msg);
        msg = NULL;
        if (nvv_sysfsmsg_parse_answer(data, size, &id, &e, &msg) == 0 && (e < 0 || e > 4095))
                abort();
        free(msg);
        msg = NULL;
        if (nvv_sysfsmsg_parse_types(data, size, &types, &n, &msg) == 0) {
                if (n > NVV_SYSFS_MAX_TYPES)
                        abort();
                for (size_t i = 0; i < n; i++)
                        if (types[i].id == 0 || !types[i].name[0])
                                abort();
                free(types);
        }
        free(msg);
        msg = NULL;
        if (nvv_sysfsmsg_parse_uevent(data, size, &u, &msg) == 0 &&
            (!nvv_uevent_get(&u, "ACTION") || u.n > NVV_UEVENT_MAX_VARS))
                abort();
        free(msg);
        /* The same bytes written to every writable file of the tree. */
        if (size <= 4096)
                for (size_t i = 0; i < ELEMENTSOF(writable); i++) {
                        struct nvv_simfs_node node;
                        int r;

                        if (nvv_simfs_lookup(&view, writable[i], &node) < 0)
                                abort();
                        r = nvv_simfs_write(&view, &node, (const char *) data, size, &q);
                        if (r == 0 && (!q.gpu[0] || nvv_sysfs_op_to_string(q.op) == NULL))
                                abort();
                }
        return 0;
}
