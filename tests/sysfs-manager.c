/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small manager for the sysfs tests: over one connection to nvvgpu-sim it brings every GPU
 * up with the managed-GPU library (src/lifecycle/nvv-pgpu.h), registers each GPU's types
 * (the catalog's that its firmware table holds, named and described as NVIDIA's driver
 * does), subscribes to sysfs requests and answers each by really creating or deleting the
 * vGPU through the firmware.
 *
 *   sysfs-manager --socket PATH --ready FILE [--mode answer|silent|late] [--late-ms MS]
 *                 [--create GPU:TYPE:UUID]... [--start GPU:TYPE:UUID]...
 *
 * --create makes a vGPU by RPC before serving, --start one and starts its VM too.
 * answer: the errno of the create or delete (the default); silent: never answer (the write
 * times out); late: sleep --late-ms, then act and answer; an answer the simulator refuses
 * as expired is undone. SIGUSR1 switches to silent, SIGUSR2 to late (logged "mode ..."). FILE is written once everything is registered; each request is
 * logged on stdout as "request ID OP ... -> ERRNO" (and "undone ID" after an undo).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nvv-catalog.h"
#include "nvv-fwdb.h"
#include "nvv-mdevtype.h"
#include "nvv-pgpu.h"
#include "nvv-simconn.h"
#include "util.h"

#define MAX_GPUS 64

enum mode { ANSWER, SILENT, LATE };

static volatile sig_atomic_t stop, want_mode = -1;

static void on_signal(int sig)
{
        if (sig == SIGUSR1)
                want_mode = SILENT;
        else if (sig == SIGUSR2)
                want_mode = LATE;
        else
                stop = 1;
}

static struct nvv_pgpu *find_gpu(struct nvv_pgpu **g, size_t n, const char *bdf, size_t *ret_i)
{
        for (size_t i = 0; i < n; i++)
                if (g[i] && streq(nvv_pgpu_get_name(g[i]), bdf)) {
                        *ret_i = i;
                        return g[i];
                }
        return NULL;
}

/* What a request does; the errno of the write (0: done). */
static int act(struct nvv_pgpu *g, const struct nvv_sysfs_request *q)
{
        _cleanup_free_ char *msg = NULL;
        int r;

        switch (q->op) {
        case NVV_SYSFS_CREATE:
                r = nvv_pgpu_create_vgpu(g, q->type_id, NVV_PLACEMENT_NONE, q->uuid, NULL, NULL, &msg);
                break;
        case NVV_SYSFS_SET_VF_TYPE:
                r = nvv_pgpu_create_vgpu(g, q->type_id, NVV_PLACEMENT_NONE, q->vf, NULL, NULL, &msg);
                /* The vendor VFIO driver's errnos (RFC v2): another type than the GPU's
                 * equal-size one is EINVAL, a full GPU ENOSPC. */
                if (r == -EPERM || r == -EBADFD)
                        r = -EINVAL;
                break;
        case NVV_SYSFS_REMOVE:
                r = nvv_pgpu_delete_vgpu(g, q->uuid, NULL, &msg);
                break;
        case NVV_SYSFS_CLEAR_VF_TYPE:
                r = nvv_pgpu_delete_vgpu(g, q->vf, NULL, &msg);
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0)
                fprintf(stderr, "sysfs-manager: %s\n", msg ? msg : strerror(-r));
        return r;
}

static void undo(struct nvv_pgpu *g, const struct nvv_sysfs_request *q)
{
        _cleanup_free_ char *msg = NULL;
        const char *name = q->op == NVV_SYSFS_CREATE || q->op == NVV_SYSFS_REMOVE ? q->uuid : q->vf;
        int r = 0;

        if (q->op == NVV_SYSFS_CREATE || q->op == NVV_SYSFS_SET_VF_TYPE)
                r = nvv_pgpu_delete_vgpu(g, name, NULL, &msg);
        else
                r = nvv_pgpu_create_vgpu(g, q->type_id, NVV_PLACEMENT_NONE, name, NULL, NULL, &msg);
        if (r < 0)
                fprintf(stderr, "sysfs-manager: cannot undo request %u: %s\n", q->id, msg ? msg : strerror(-r));
}

/* The catalog's types that this GPU's firmware table holds, as NVIDIA's driver shows them. */
static int register_types(struct nvv_simconn *c, uint32_t i, struct nvv_pgpu *g)
{
        _cleanup_free_ struct nvv_sysfs_type *t = calloc(NVV_SYSFS_MAX_TYPES, sizeof(*t));
        _cleanup_free_ char *msg = NULL;
        size_t n;
        int r;

        if (!t)
                return -ENOMEM;
        n = nvv_mdevtype_list(g, t, NVV_SYSFS_MAX_TYPES);
        r = nvv_simconn_register_types(c, i, t, n, &msg);
        if (r < 0)
                fprintf(stderr, "sysfs-manager: %s\n", msg ? msg : strerror(-r));
        return r;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' },
                { "ready", required_argument, NULL, 'r' },
                { "mode", required_argument, NULL, 'm' },
                { "late-ms", required_argument, NULL, 'l' },
                { "create", required_argument, NULL, 'c' },
                { "start", required_argument, NULL, 'S' },
                {},
        };
        _cleanup_(nvv_simconn_unrefp) struct nvv_simconn *c = NULL;
        _cleanup_(nvv_fwdb_freep) struct nvv_fwdb *db = NULL;
        _cleanup_(nvv_catalog_freep) struct nvv_catalog *cat = NULL;
        _cleanup_strv_free_ char **creates = NULL, **starts = NULL;
        _cleanup_free_ char *msg = NULL;
        struct nvv_pgpu *gpus[MAX_GPUS] = {};
        const char *socket_path = NULL, *ready = NULL;
        enum mode mode = ANSWER;
        uint32_t late_ms = 3000;
        size_t n = 0;
        int opt, r, rc = 1;

        setvbuf(stdout, NULL, _IOLBF, 0);
        while ((opt = getopt_long(argc, argv, "s:r:m:l:c:S:", opts, NULL)) >= 0)
                switch (opt) {
                case 's':
                        socket_path = optarg;
                        break;
                case 'r':
                        ready = optarg;
                        break;
                case 'm':
                        mode = streq(optarg, "silent") ? SILENT : streq(optarg, "late") ? LATE : ANSWER;
                        break;
                case 'l':
                        if (safe_atou32(optarg, &late_ms) < 0)
                                return 2;
                        break;
                case 'c':
                        if (strv_extend(&creates, optarg) < 0)
                                return 1;
                        break;
                case 'S':
                        if (strv_extend(&starts, optarg) < 0)
                                return 1;
                        break;
                default:
                        return 2;
                }
        if (!socket_path || !ready) {
                fprintf(stderr, "usage: sysfs-manager --socket PATH --ready FILE [--mode answer|silent|late]\n");
                return 2;
        }
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        signal(SIGUSR1, on_signal);
        signal(SIGUSR2, on_signal);
        if ((r = nvv_fwdb_new(&db)) < 0 || (r = nvv_fwdb_load_default(db, &msg)) < 0 || (r = nvv_catalog_new(&cat)) < 0 ||
            (r = nvv_catalog_load_default(cat, &msg)) < 0) {
                fprintf(stderr, "sysfs-manager: %s\n", msg ? msg : strerror(-r));
                return 1;
        }
        r = nvv_simconn_connect(socket_path, &c, &msg);
        if (r < 0) {
                fprintf(stderr, "sysfs-manager: %s\n", msg);
                return 1;
        }
        r = nvv_simconn_sysfs_subscribe(c, &msg);
        if (r < 0) {
                fprintf(stderr, "sysfs-manager: %s\n", msg);
                return r == -EBUSY ? 3 : 1;
        }
        n = MIN(nvv_simconn_gpu_count(c), (size_t) MAX_GPUS);
        for (size_t i = 0; i < n; i++) {
                struct nvv_pgpu_options o = { .catalog = cat };
                struct nvv_channel *ch = NULL;

                if (nvv_simconn_open_channel(c, (uint32_t) i, db, &ch, &msg) < 0 ||
                    nvv_pgpu_new(ch, &o, &gpus[i], &msg) < 0 || nvv_pgpu_bring_up(gpus[i], &msg) < 0 ||
                    register_types(c, (uint32_t) i, gpus[i]) < 0) {
                        fprintf(stderr, "sysfs-manager: GPU %zu: %s\n", i, msg ? msg : "cannot register its types");
                        goto out;
                }
        }
        /* vGPUs made by the manager itself, by RPC (as `nvvgpuctl create` would). */
        for (char **s = creates; s && *s; s++) {
                uint32_t gi, type;
                char uuid[64];

                if (sscanf(*s, "%u:%u:%63s", &gi, &type, uuid) != 3 || gi >= n ||
                    nvv_pgpu_create_vgpu(gpus[gi], type, NVV_PLACEMENT_NONE, uuid, NULL, NULL, &msg) < 0) {
                        fprintf(stderr, "sysfs-manager: --create %s: %s\n", *s, msg ? msg : "bad GPU:TYPE:UUID");
                        goto out;
                }
        }
        /* And one whose VM runs: the firmware holds a host vGPU device for it. */
        for (char **s = starts; s && *s; s++) {
                struct nvv_pgpu_vm_params vp = { .vm_pid = (uint32_t) getpid() };
                uint32_t gi, type;
                char uuid[64];

                if (sscanf(*s, "%u:%u:%63s", &gi, &type, uuid) != 3 || gi >= n ||
                    nvv_pgpu_create_vgpu(gpus[gi], type, NVV_PLACEMENT_NONE, uuid, NULL, NULL, &msg) < 0 ||
                    nvv_pgpu_vm_start(gpus[gi], uuid, &vp, NULL, &msg) < 0) {
                        fprintf(stderr, "sysfs-manager: --start %s: %s\n", *s, msg ? msg : "bad GPU:TYPE:UUID");
                        goto out;
                }
        }
        {
                FILE *f = fopen(ready, "we");

                if (!f || fclose(f) != 0) {
                        fprintf(stderr, "sysfs-manager: cannot write %s\n", ready);
                        goto out;
                }
        }
        while (!stop) {
                struct pollfd p = { .fd = nvv_simconn_sysfs_get_fd(c), .events = POLLIN };
                struct nvv_sysfs_request q;
                struct nvv_uevent u;

                if (poll(&p, 1, 50) < 0 && errno != EINTR)
                        break;
                if (want_mode >= 0) {
                        mode = (enum mode) want_mode;
                        want_mode = -1;
                        printf("mode %s\n", mode == SILENT ? "silent" : "late");
                }
                while (nvv_simconn_sysfs_next_uevent(c, &u) == 0)
                        printf("uevent %s %s %s\n", nvv_uevent_get(&u, "ACTION"), nvv_uevent_get(&u, "DEVPATH"),
                               nvv_uevent_get(&u, "MDEV_TYPE") ? nvv_uevent_get(&u, "MDEV_TYPE")
                               : nvv_uevent_get(&u, "MDEV_STATE") ? nvv_uevent_get(&u, "MDEV_STATE") : "-");
                while (nvv_simconn_sysfs_next(c, &q) == 0) {
                        struct nvv_pgpu *g;
                        size_t gi;
                        int e;

                        g = find_gpu(gpus, n, q.gpu, &gi);
                        if (mode == SILENT) {
                                printf("request %u %s ignored\n", q.id, nvv_sysfs_op_to_string(q.op));
                                continue;
                        }
                        if (mode == LATE)
                                usleep(late_ms * 1000);
                        e = g ? act(g, &q) : -ENODEV;
                        printf("request %u %s %s %u %s -> %d\n", q.id, nvv_sysfs_op_to_string(q.op), q.gpu, q.type_id,
                               q.op <= NVV_SYSFS_REMOVE ? q.uuid : q.vf, -e);
                        free(msg);
                        msg = NULL;
                        r = nvv_simconn_sysfs_answer(c, q.id, -e, &msg);
                        if (r == -ETIMEDOUT && e == 0 && g) {
                                undo(g, &q);
                                printf("undone %u\n", q.id);
                        } else if (r < 0)
                                fprintf(stderr, "sysfs-manager: %s\n", msg ? msg : strerror(-r));
                }
        }
        rc = 0;
out:
        for (size_t i = 0; i < n; i++)
                nvv_pgpu_free(gpus[i]);
        return rc;
}
