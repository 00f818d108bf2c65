/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A host's GPUs as the partitioner sees them: per GPU its catalog model, NUMA node, ECC
 * state, mode, the types it offers (uploaded under one firmware release) and its partition
 * state. nvv_pool_choose() is the one placement decision: which GPU a new vGPU goes to, by
 * the placement preferences (pack for density, spread for performance, NUMA affinity).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-catalog.h"
#include "nvv-fwabi.h"
#include "nvv-partition.h"

#define NVV_POOL_MAX_GPUS 64

enum nvv_place_strategy {
        NVV_PLACE_PACK,         /* density: fill a GPU before starting the next (depth-first) */
        NVV_PLACE_SPREAD,       /* performance: the least loaded GPU first (breadth-first) */
        _NVV_PLACE_STRATEGY_MAX,
        _NVV_PLACE_STRATEGY_INVALID = -EINVAL,
};
const char *nvv_place_strategy_to_string(enum nvv_place_strategy s);
enum nvv_place_strategy nvv_place_strategy_from_string(const char *s);

enum nvv_numa_mode {
        NVV_NUMA_IGNORE,
        NVV_NUMA_PREFER,        /* the VM's node first, others when it is full */
        NVV_NUMA_REQUIRE,       /* only the VM's node */
        _NVV_NUMA_MODE_MAX,
        _NVV_NUMA_MODE_INVALID = -EINVAL,
};
const char *nvv_numa_mode_to_string(enum nvv_numa_mode m);
enum nvv_numa_mode nvv_numa_mode_from_string(const char *s);

struct nvv_place_prefs {
        enum nvv_place_strategy strategy;
        enum nvv_numa_mode numa;
};

typedef bool (*nvv_pool_offers_fn)(const struct nvv_catalog_type *t, void *userdata);

struct nvv_pool_gpu_config {
        const char *name;                       /* "gpu0", a PCI address, ... */
        const struct nvv_catalog_gpu *model;
        const struct nvv_fwabi *fw;             /* the release this GPU runs (a host mixes them) */
        int numa_node;                          /* -1: unknown */
        bool ecc;
        enum nvv_partition_mode mode;
        nvv_pool_offers_fn offers;              /* NULL: every type of the model */
        void *offers_userdata;
};

struct nvv_pool_gpu {
        char *name;
        const struct nvv_catalog_gpu *model;
        const struct nvv_fwabi *fw;
        int numa_node;
        bool ecc;
        struct nvv_partition *part;
        size_t n_types;                         /* offered and uploaded */
        const struct nvv_catalog_type **types;
        unsigned klass;                         /* GPUs of one class differ only in state */
};

/* One vGPU a VM asks for: a type by name, or an FB size (optionally of one series). */
struct nvv_pool_request {
        const char *type;                       /* "L40S-8Q"; NULL for an FB request */
        uint64_t fb;                            /* bytes, FB requests */
        char series;                            /* FB requests: 'Q', 'B', 'A', 'C' or 0 for any */
        int numa_node;                          /* the VM's node, -1: none */
};

struct nvv_pool;

int nvv_pool_new(struct nvv_pool **ret);
struct nvv_pool *nvv_pool_free(struct nvv_pool *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_pool *, nvv_pool_free);
/* A deep copy: the same GPUs, their own partition state. */
int nvv_pool_clone(const struct nvv_pool *p, struct nvv_pool **ret);

/* The type table a GPU of this configuration uploads: the offered catalog types that run under
 * its release and ECC state, in catalog order, and their records filled for the release
 * (nvv_catalog_fill_vgpu_type). ret_types may be NULL; both arrays are malloc'ed. */
int nvv_pool_gpu_types(const struct nvv_pool_gpu_config *cfg, const struct nvv_catalog_type ***ret_types,
                       struct nvv_vgpu_type **ret_filled, size_t *ret_n);

/* Upload the offered types (filled for the GPU's release and ECC) and set the mode.
 * Errors name the GPU: a mixed-size mode it lacks, no type left to offer. */
int nvv_pool_add_gpu(struct nvv_pool *p, const struct nvv_pool_gpu_config *cfg, char **reterr_msg);
/*
 * Add a GPU as it is now: its partition starts as a copy of live (the managed GPU's model,
 * e.g. nvv_pgpu_clone_partition(), with its vGPUs, geometry, type table and mode), so a plan
 * on the pool places around the vGPUs already there and never on them. cfg gives the name,
 * model, release, NUMA node, ECC state and offer filter; cfg->mode is not used: the GPU stays
 * in the mode it is in (the firmware changes it only on an empty GPU). The offered types are
 * those cfg offers that the GPU has uploaded. live is not kept. Errors name the GPU: a live
 * state that breaks the partition invariants (nvv_partition_check_invariants).
 */
int nvv_pool_add_partition(struct nvv_pool *p, const struct nvv_pool_gpu_config *cfg, const struct nvv_partition *live,
                           char **reterr_msg);
size_t nvv_pool_count(const struct nvv_pool *p);
const struct nvv_pool_gpu *nvv_pool_get(const struct nvv_pool *p, size_t i);
struct nvv_partition *nvv_pool_get_partition(struct nvv_pool *p, size_t i);

/* The type GPU i would give this request (an offered one; for FB requests the smallest
 * that holds the size, Q before C before B before A on a tie), or NULL. */
const struct nvv_catalog_type *nvv_pool_resolve(const struct nvv_pool *p, size_t i,
                                                const struct nvv_pool_request *req);

/* GPUs that would accept the request now, best first by prefs. Returns how many (<= max). */
size_t nvv_pool_rank(const struct nvv_pool *p, const struct nvv_pool_request *req,
                     const struct nvv_place_prefs *prefs, size_t *ret_gpus,
                     const struct nvv_catalog_type **ret_types, size_t max);

/* The placement decision: the best GPU for one vGPU, or -ENOSPC. */
int nvv_pool_choose(const struct nvv_pool *p, const struct nvv_pool_request *req,
                    const struct nvv_place_prefs *prefs, size_t *ret_gpu,
                    const struct nvv_catalog_type **ret_type);

/* Why GPU i does not take the request now: a short phrase ("equal-size mode holds NVIDIA
 * L40S-8Q"), or NULL if it would. */
char *nvv_pool_explain(const struct nvv_pool *p, size_t i, const struct nvv_pool_request *req);
