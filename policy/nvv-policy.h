/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Placement and scheduling policy (policy/NAME.json, nvvgpu-policy(5)): which vGPU types each
 * GPU (or GPU model) offers, equal-size or mixed-size mode, the scheduler (best effort,
 * equal share, fixed share; time slice; ARR) checked against the firmware's scheduler caps,
 * per-VM and per-tenant quotas, and the placement preference (pack, spread, NUMA).
 *
 * A policy is loaded whole or not at all: nvv_policy_reload() swaps the new one in only when
 * it is valid, so a bad file leaves the old policy in force, and its error names the file,
 * the key and what is wrong.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-catalog.h"
#include "nvv-cmd.h"
#include "nvv-partition.h"
#include "nvv-pool.h"
#include "nvv-planner.h"

#define NVV_POLICY_MAX_FILE_SIZE (256u * 1024u)
#define NVV_POLICY_MAX_GPUS 256
#define NVV_POLICY_MAX_PATTERNS 128
#define NVV_POLICY_MAX_TENANTS 1024

struct nvv_policy_sched {
        bool set;                       /* the file gave a scheduler */
        enum nvv_sched_policy policy;
        uint32_t timeslice_ns;          /* 0: the firmware's default */
        enum nvv_sched_arr arr;
        uint32_t arr_avg_factor;        /* 0: default */
        uint32_t arr_frequency;         /* 0: default */
};

struct nvv_policy_gpu {
        char *match;                    /* model short name or PCI address; NULL: the defaults */
        bool match_is_address;
        bool mode_set;
        enum nvv_partition_mode mode;
        char **types;                   /* patterns (fnmatch, case-insensitive); NULL: inherit */
        struct nvv_policy_sched sched;
};

struct nvv_policy_quota {
        uint32_t max_vgpus;             /* 0: unlimited */
        uint64_t max_fb;                /* bytes, 0: unlimited */
};

struct nvv_policy_tenant {
        char *name;
        struct nvv_policy_quota quota;
};

struct nvv_policy {
        char *path;
        struct nvv_place_prefs prefs;
        struct nvv_policy_gpu defaults;
        size_t n_gpus;
        struct nvv_policy_gpu *gpus;
        struct nvv_policy_quota vm_quota;
        size_t n_tenants;
        struct nvv_policy_tenant *tenants;
};

/* The settings one GPU gets: the defaults overlaid by the first matching model entry and then
 * the first matching address entry. */
struct nvv_policy_effective {
        enum nvv_partition_mode mode;
        bool mode_explicit;             /* from a model or address entry, not the defaults */
        char *const *types;             /* never NULL: at least "*" */
        struct nvv_policy_sched sched;
};

/* What a policy is checked against while loading (all optional). */
struct nvv_policy_context {
        const struct nvv_catalog *catalog;              /* type patterns and models must exist */
        const struct nvv_cmd_sched_get_caps *caps;      /* NULL: nvv_policy_model_caps() */
};

/* The policy used when none is given: pack, NUMA prefer, equal-size, every type, best effort. */
int nvv_policy_new_default(struct nvv_policy **ret);
int nvv_policy_load_buffer(const char *data, size_t size, const char *name, const struct nvv_policy_context *ctx,
                           struct nvv_policy **ret, char **reterr_msg);
int nvv_policy_load_file(const char *path, const struct nvv_policy_context *ctx, struct nvv_policy **ret,
                         char **reterr_msg);
/* Load path; on success free *current and replace it, on failure leave *current alone. */
int nvv_policy_reload(struct nvv_policy **current, const char *path, const struct nvv_policy_context *ctx,
                      char **reterr_msg);
struct nvv_policy *nvv_policy_free(struct nvv_policy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_policy *, nvv_policy_free);

int nvv_policy_resolve(const struct nvv_policy *p, const char *model_short_name, const char *address,
                       struct nvv_policy_effective *ret);
bool nvv_policy_offers(const struct nvv_policy_effective *e, const struct nvv_catalog_type *t);

/* What a policy makes of one GPU running release fw: its effective settings and the mode it
 * runs in. mode_override >= 0 (a what-if host spec) wins over the policy. A mixed-size
 * default falls back to equal-size where the model or the release lacks it; a mixed-size
 * mode asked for by name is kept, so that setting the GPU up says why it cannot be. */
struct nvv_policy_gpu_setup {
        struct nvv_policy_effective eff;
        enum nvv_partition_mode mode;
};
int nvv_policy_setup_gpu(const struct nvv_policy *p, const struct nvv_catalog_gpu *model, const char *address,
                         const struct nvv_fwabi *fw, int mode_override, struct nvv_policy_gpu_setup *ret);
/* The pool configuration of that GPU (offered types by the policy's patterns). s and name are
 * referenced, not copied: keep them while ret is used. */
void nvv_policy_pool_config(const struct nvv_policy_gpu_setup *s, const char *name, const struct nvv_catalog_gpu *model,
                            const struct nvv_fwabi *fw, int numa_node, bool ecc, struct nvv_pool_gpu_config *ret);

/* The planner's options from the policy: placement preferences and quotas. The tenants'
 * quotas are in *ret_tenants (caller frees; names borrowed from p). */
int nvv_policy_plan_options(const struct nvv_policy *p, struct nvv_plan_options *ret,
                            struct nvv_plan_tenant_quota **ret_tenants);

/* The scheduler caps doc/firmware-model.md §7 says a GSP reports (for offline checks). */
void nvv_policy_model_caps(struct nvv_cmd_sched_get_caps *ret);
/* Check a scheduler against the firmware's caps and the mode: 0 or -EINVAL with a message
 * ("scheduler.timeslice_ms: 40 is outside the firmware's 1..30 ms"). */
int nvv_policy_check_sched(const struct nvv_policy_sched *s, const struct nvv_cmd_sched_get_caps *caps,
                           enum nvv_partition_mode mode, char **reterr_msg);
/* The OBJSCHED_SET_STATE the scheduler asks for. */
int nvv_policy_sched_to_state(const struct nvv_policy_sched *s, struct nvv_cmd_sched_state *ret);

const char *nvv_policy_sched_name(enum nvv_sched_policy p);     /* "best-effort" */
