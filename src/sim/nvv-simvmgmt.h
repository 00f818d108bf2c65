/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A simulated GPU as NVIDIA's upstream stack offers it: the nova-core fwctl driver's side of
 * FWCTL_RPC (scope and command checks, the 16 KiB reply cap, one of the two error
 * conventions), the firmware's vGPU manager behind it (uploaded types, VF assignments, the
 * locked placement plan), and the VFIO variant driver (nvidia-vgpu-vfio-pci), whose first
 * open of a VF boots the instance of the type assigned to it and whose last close tears it
 * down. Numbers and layouts come from the interface description (nvv-vmgmt.h); the rules are
 * nvvgpu's model of the development tree's (doc/kernel-interface.md §6).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-vmgmt.h"

struct nvv_simvmgmt;

struct nvv_simvmgmt_config {
        const struct nvv_vmgmt *vm;      /* borrowed */
        struct nvv_pci_addr pf;
        uint32_t num_vfs;                /* VF i at the PF's devfn + vf_offset + i * vf_stride */
        uint16_t vf_offset, vf_stride;
        bool eio;                        /* the draft driver's convention: a firmware status is EIO */
};

int nvv_simvmgmt_new(const struct nvv_simvmgmt_config *cfg, struct nvv_simvmgmt **ret);
struct nvv_simvmgmt *nvv_simvmgmt_free(struct nvv_simvmgmt *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_simvmgmt *, nvv_simvmgmt_free);

/* One FWCTL_RPC as the kernel runs it: 0 and the reply (*ret_len bytes in out), or the
 * ioctl's negative errno: EPERM (scope, or a command it does not permit), EINVAL (shorter
 * than the header), EMSGSIZE (out_cap too small for the reply), EIO (a firmware refusal
 * under the EIO convention), ENODEV (the GPU is gone). Thread-safe. */
int nvv_simvmgmt_rpc(struct nvv_simvmgmt *s, uint32_t scope, const void *in, size_t in_len, void *out, size_t out_cap,
                     size_t *ret_len);

/* The VFIO variant driver: open or close VF `vf`. Open boots the assigned type's instance on
 * the first open (ENODEV: no type assigned; ENOENT: not a VF of this GPU); close tears it down
 * on the last (EBADF: not open). */
int nvv_simvmgmt_vfio(struct nvv_simvmgmt *s, const struct nvv_pci_addr *vf, bool open, char *err, size_t errlen);
const char *nvv_simvmgmt_get_revision(const struct nvv_simvmgmt *s);
uint32_t nvv_simvmgmt_get_scope(const struct nvv_simvmgmt *s);       /* the one FWCTL_RPC scope it takes */
bool nvv_simvmgmt_has_vf(const struct nvv_simvmgmt *s, const struct nvv_pci_addr *vf);

/* Surprise removal and return: while gone, RPCs and opens fail with ENODEV; the return boots
 * the firmware afresh (no types, no assignments). */
void nvv_simvmgmt_set_present(struct nvv_simvmgmt *s, bool present);

/* Refuse the next `cmd` with `status` (tests; -ENOENT for a status the description lacks). */
int nvv_simvmgmt_fail_next(struct nvv_simvmgmt *s, int cmd, const char *status);

struct nvv_simvmgmt_vf {
        uint32_t type_id;                /* 0: none */
        uint32_t placement_id;
        uint32_t opens;                  /* VFIO opens */
        bool booted;                     /* the instance runs (gfid = VF index + 1) */
};

struct nvv_simvmgmt_state {
        size_t n_types;
        uint32_t type_ids[NVV_MAX_VGPU_TYPES];
        uint32_t num_vfs;
        struct nvv_simvmgmt_vf vfs[NVV_MAX_VGPUS];
        uint64_t rpcs, refused;
};
void nvv_simvmgmt_get_state(struct nvv_simvmgmt *s, struct nvv_simvmgmt_state *ret);
/* The same as nvvgpu-sim status shows it: {"convention", "types": [ids], "vfs": [{"vf_index",
 * "vf", "type_id", "placement_id", "opens", "booted"}], "rpcs", "refused"}. */
struct json_object;
struct json_object *nvv_simvmgmt_status_json(struct nvv_simvmgmt *s);

struct nvv_channel;
struct nvv_channel_info;
struct nvv_fwdb;
/* A manager-side channel straight into this GPU (the in-process transport), speaking the
 * description db has for info's revision ("" = the newest). */
int nvv_simvmgmt_open_channel(struct nvv_simvmgmt *sim, const struct nvv_channel_info *info, const struct nvv_fwdb *db,
                              struct nvv_channel **ret, char **reterr_msg);
