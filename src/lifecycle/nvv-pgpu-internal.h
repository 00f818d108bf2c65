/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The managed GPU's insides, shared by its files (object, bring-up, vGPUs, VM sequences). */

#include "nvv-pgpu.h"
#include "nvv-policy.h"

struct vgpu_rec {
        struct nvv_pgpu_vgpu pub;
        uint8_t fw_name[16];            /* the name as the firmware holds it */
        uint32_t host_handle;           /* the host vGPU device's handle while started */
        int vf;                         /* upstream interface: the index of the VF holding it */
};

struct nvv_pgpu {
        pthread_mutex_t op_lock;        /* see nvv-pgpu.h */
        pthread_mutex_t state_lock;

        struct nvv_channel *ch;
        const struct nvv_fwabi *fw;
        const struct nvv_catalog_gpu *model;
        struct nvv_policy *own_policy;  /* the default, when none was given */
        const struct nvv_policy *policy;
        char name[32];
        int numa_node;
        bool ecc;
        uint32_t pci_id;                /* device << 16 | vendor, as create_device carries it */
        uint32_t pci_bdf;               /* bus << 8 | devfn */

        /* What bring-up uploads. */
        struct nvv_vgpu_type *types;
        const struct nvv_catalog_type **cat_types; /* NULL entries for explicit tables */
        size_t n_types;
        enum nvv_partition_mode mode;
        bool heterogeneous_timesliced;
        struct nvv_policy_sched sched;

        /* state_lock */
        enum nvv_pgpu_state state;
        char *error;
        struct nvv_partition *part;
        struct nvv_pgpu_init_info init;
        size_t n;
        struct vgpu_rec vgpus[NVV_MAX_VGPUS];
        uint32_t next_handle;
        bool unsettled;                 /* op_lock: the last command went unanswered */

        nvv_pgpu_event_fn event_fn;
        void *event_userdata;

        /* A GPU offering the upstream vGPU-management interface (nvv-pgpu-upstream.c): NULL
         * for an RPC GPU. Its VFs, in order (index i has gfid i + 1). */
        const struct nvv_vmgmt *vm;
        uint32_t n_vfs;
        struct nvv_pci_addr vfs[NVV_MAX_VGPUS];
};

/* One firmware command; on failure *reterr_msg says "STEP on GPU: what" and *ret_status is
 * the firmware's status in the model's terms (NVV_FW_OK when no status came back, e.g. a
 * timeout, then the return is the transport's errno). */
int pgpu_call(struct nvv_pgpu *g, const char *step, int cmd, void *io, uint32_t gfid, const struct nvv_handles *target,
              enum nvv_fw_status *ret_status, uint32_t *ret_raw, char **reterr_msg);
bool pgpu_has(const struct nvv_pgpu *g, int cmd);
void pgpu_set_error(struct nvv_pgpu *g, enum nvv_pgpu_state state, const char *msg);
int pgpu_new_partition(const struct nvv_pgpu *g, struct nvv_partition **ret, char **reterr_msg);
const struct nvv_catalog_type *pgpu_catalog_type(const struct nvv_pgpu *g, uint32_t type_id);
struct vgpu_rec *pgpu_find(struct nvv_pgpu *g, const char *name);
/* Adopt's last step: the partition and records taken over become the GPU's, and it is ready. */
void pgpu_install_adopted(struct nvv_pgpu *g, struct nvv_partition *part, const struct vgpu_rec *recs, size_t n);
void pgpu_remove(struct nvv_pgpu *g, struct vgpu_rec *v);
int pgpu_fw_name(const char *name, uint8_t out[16]);

/* The upstream interface's lifecycle (nvv-pgpu-upstream.c); the public entry points hand over
 * to these when g->vm is set, with the arguments checked. */
int pgpu_up_setup(struct nvv_pgpu *g, const struct nvv_pgpu_options *o, const struct nvv_channel_info *info,
                  char **reterr_msg);
int pgpu_up_bring_up(struct nvv_pgpu *g, char **reterr_msg);        /* op_lock held */
int pgpu_up_create(struct nvv_pgpu *g, uint32_t type_id, uint32_t placement_id, const char *name,
                   const uint8_t fw_name[16], struct nvv_pgpu_vgpu *ret, struct nvv_pgpu_outcome *outcome,
                   char **reterr_msg);
int pgpu_up_delete(struct nvv_pgpu *g, const char *name, struct nvv_pgpu_outcome *outcome, char **reterr_msg);
int pgpu_up_vm_start(struct nvv_pgpu *g, const char *name, const struct nvv_pgpu_vm_params *params,
                     struct nvv_pgpu_vgpu *ret, char **reterr_msg);
int pgpu_up_vm_stop(struct nvv_pgpu *g, const char *name, char **reterr_msg);
int pgpu_up_adopt(struct nvv_pgpu *g, const struct nvv_pgpu_known *known, size_t n_known, char ***ret_unplaced,
                  char **reterr_msg);

#define PGPU_LOCK(var, m) _cleanup_(pgpu_unlockp) _unused_ pthread_mutex_t *var = pgpu_lock(m)
static inline pthread_mutex_t *pgpu_lock(pthread_mutex_t *m)
{
        pthread_mutex_lock(m);
        return m;
}
static inline void pgpu_unlockp(pthread_mutex_t **m)
{
        if (*m)
                pthread_mutex_unlock(*m);
}
