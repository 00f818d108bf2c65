/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A test harness, linked into the tests and the benchmark that use it (never a library).
 * Agreement between the partitioner and a firmware: the same create/delete script replayed
 * through two oracles, verdict by verdict. An oracle is anything that can take a type table
 * and a mode on a fresh GPU and answer create_device / delete_device: the partitioner
 * (nvv_oracle_partition_new) or the simulated GSP of nvvgpu-sim.
 *
 * The nvvgpu-sim oracle lives in tests/unit/test-agreement.c: the managed GPU (nvv-pgpu) on
 * a fresh in-process simulated GPU, given the type table and mode; reset = its bring-up by the
 * release's init list, create and remove = nvv_pgpu_create_vgpu / nvv_pgpu_delete_vgpu, each
 * verdict the firmware's status for the command the manager sent; it replays the scripts of
 * nvv_oracle_script_random through both.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-cmd.h"
#include "nvv-partition.h"

enum nvv_oracle_op_kind {
        NVV_ORACLE_CREATE,
        NVV_ORACLE_REMOVE,
};

struct nvv_oracle_op {
        enum nvv_oracle_op_kind kind;
        uint32_t type_id;                       /* create */
        char name[NVV_PARTITION_NAME_MAX];
};

struct nvv_oracle_verdict {
        enum nvv_fw_status status;
        uint32_t vgpu_id;                       /* create, NV_OK */
        uint32_t placement_id;                  /* create, NV_OK; NVV_PLACEMENT_NONE if none */
};

struct nvv_partition_oracle {
        const char *name;
        void *userdata;
        /* A fresh GPU holding this type table, in this mode. */
        int (*reset)(void *userdata, const struct nvv_vgpu_type *types, size_t n_types,
                     enum nvv_partition_mode mode, struct nvv_oracle_verdict *ret);
        int (*create)(void *userdata, uint32_t type_id, const char *name, struct nvv_oracle_verdict *ret);
        int (*remove)(void *userdata, const char *name, struct nvv_oracle_verdict *ret);
};

struct nvv_oracle_script {
        enum nvv_partition_mode mode;
        size_t n_types;
        struct nvv_vgpu_type *types;
        size_t n_ops;
        struct nvv_oracle_op *ops;
};

/* n_ops creates (of random types) and removes (of earlier names, some never created). */
int nvv_oracle_script_random(const struct nvv_vgpu_type *types, size_t n_types, enum nvv_partition_mode mode,
                             size_t n_ops, uint64_t seed, struct nvv_oracle_script **ret);
struct nvv_oracle_script *nvv_oracle_script_free(struct nvv_oracle_script *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_oracle_script *, nvv_oracle_script_free);

/* Replay through both; 0 when every verdict agrees (status, and vgpu_id and placement on
 * success), -EDOM with "op N (create T 'name'): A says ..., B says ..." at the first
 * disagreement, or the error of an oracle that failed to answer. */
int nvv_oracle_replay(const struct nvv_oracle_script *s, const struct nvv_partition_oracle *a,
                      const struct nvv_partition_oracle *b, char **reterr_msg);

/* The partitioner as an oracle, on a GPU of this geometry. */
int nvv_oracle_partition_new(const struct nvv_partition_geometry *geo, struct nvv_partition_oracle **ret);
struct nvv_partition_oracle *nvv_oracle_partition_free(struct nvv_partition_oracle *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_partition_oracle *, nvv_oracle_partition_free);
/* Its current partition (for invariant checks between steps). */
const struct nvv_partition *nvv_oracle_partition_get(const struct nvv_partition_oracle *o);

/* Small, seedable, reproducible PRNG (xorshift64*), shared by the tests and the benchmark. */
uint64_t nvv_oracle_rand(uint64_t *state);
