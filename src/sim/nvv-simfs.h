/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The simulated sysfs, mounted with FUSE (libfuse3): the tree of nvv-simfs-tree.h, served
 * from a snapshot that is rebuilt whenever the owner's generation number moves. Reads answer
 * from the snapshot; a write the tree accepts is handed to ops->forward, which blocks until
 * the manager has answered (or the request expired), and the write returns its errno.
 * Writes that forward run one at a time, as the kernel's mdev core holds its lock across a
 * create. The owner (nvv-sim.c) builds the snapshot and forwards.
 */

#include <stdint.h>

#include "macro.h"
#include "nvv-simfs-tree.h"

struct nvv_simfs_ops {
        /* A new snapshot into v (v->gpus has room for v->n_gpus, which is set). */
        int (*snapshot)(void *userdata, struct nvv_simfs_view *v);
        /* Moves whenever what a snapshot shows may have changed. */
        uint64_t (*generation)(void *userdata);
        /* Hand the request to the manager; 0 or a negative errno for the write. */
        int (*forward)(void *userdata, struct nvv_sysfs_request *req);
};

struct nvv_simfs;

/* Mount on dir (an existing directory) and serve on threads of its own. */
int nvv_simfs_mount(const char *dir, size_t n_gpus, const struct nvv_simfs_ops *ops, void *userdata,
                    struct nvv_simfs **ret, char **reterr_msg);
/* Unmount and stop serving. */
struct nvv_simfs *nvv_simfs_unmount(struct nvv_simfs *fs);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_simfs *, nvv_simfs_unmount);
