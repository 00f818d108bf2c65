/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The simulated sysfs tree as pure functions of one snapshot (a view): the GPUs with their
 * PCI identity, the types the manager registered, and what the firmware holds. Paths are
 * relative to the mount point, which stands for /sys ("bus/mdev/devices/UUID"). Layout,
 * attribute formats and write rules: doc/kernel-interface.md §3, nvvgpu-sim(8). No I/O, no
 * locking: the FUSE layer (nvv-simfs.c) builds the view and forwards what a write asks.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-cmd.h"
#include "nvv-sysfsmsg.h"

#define NVV_SIMFS_MAX_GPUS 64
#define NVV_SIMFS_PATH_MAX 256

struct nvv_simfs_vgpu {
        char name[NVV_SYSFS_UUID_LEN + 1];     /* an mdev's UUID, lower case ("" for a VF's) */
        int vf;                                 /* index of the VF it is named after, or -1 */
        uint32_t type_id, vgpu_id, gfid;        /* gfid != 0: a host vGPU device, its VM runs */
};

struct nvv_simfs_gpu {
        char bdf[NVV_SYSFS_BDF_MAX];            /* "0000:41:00.0" */
        uint16_t vendor, device, subsystem_vendor, subsystem_device;
        uint8_t revision;
        uint32_t pci_class;                     /* 0x030200 */
        int numa_node;
        uint64_t fb_size;                       /* sizes the FB aperture (BAR1) */
        uint32_t index;                         /* spaces the BAR addresses and IOMMU groups */
        bool unplugged;                         /* removed: in no directory; its root bus stays */
        bool vf_model;                          /* SR-IOV VFs with nvidia/; else an mdev parent */
        uint32_t num_vfs;                       /* VF model: enabled VFs */
        size_t n_types;                         /* registered by the manager */
        struct nvv_sysfs_type types[NVV_SYSFS_MAX_TYPES];
        uint32_t available[NVV_SYSFS_MAX_TYPES]; /* the firmware's count per registered type */
        size_t n_vgpus;
        struct nvv_simfs_vgpu vgpus[NVV_MAX_VGPUS];
};

struct nvv_simfs_view {
        size_t n_gpus;
        struct nvv_simfs_gpu *gpus;
};

enum nvv_simfs_kind {
        NVV_SIMFS_DIR,
        NVV_SIMFS_FILE,
        NVV_SIMFS_LINK,
};

struct nvv_simfs_node {
        enum nvv_simfs_kind kind;
        int what;                               /* which directory or attribute (internal) */
        unsigned mode;                          /* permission bits, as sysfs gives them */
        int gpu, vf, type, vgpu;                /* indices into the view, -1: none */
        char path[NVV_SIMFS_PATH_MAX];          /* from the root, no leading '/' */
        char target[NVV_SIMFS_PATH_MAX];        /* a link's target, relative as sysfs writes it */
};

/* The node at path ("" or "/" is the root). -ENOENT, -ENOTDIR. */
int nvv_simfs_lookup(const struct nvv_simfs_view *v, const char *path, struct nvv_simfs_node *ret);
/* The names in directory `dir`, in a stable order. Returns what fn returned if it stopped the
 * walk (non-zero), else 0. */
typedef int (*nvv_simfs_list_fn)(void *userdata, const char *name, const struct nvv_simfs_node *n);
int nvv_simfs_list(const struct nvv_simfs_view *v, const struct nvv_simfs_node *dir, nvv_simfs_list_fn fn,
                   void *userdata);
/* A file's contents, as the kernel would print them, NUL-terminated in buf. Returns the
 * length; -ENOBUFS when cap is too small; -EACCES for a write-only attribute. */
int nvv_simfs_read(const struct nvv_simfs_view *v, const struct nvv_simfs_node *n, char *buf, size_t cap);
bool nvv_simfs_writable(const struct nvv_simfs_node *n);

/*
 * A write of len bytes to file n, judged as the kernel judges it before the driver acts:
 *   < 0  the write fails with that errno (EINVAL a bad UUID or number, EEXIST a UUID in use,
 *        ENODEV a type nobody registered, EBUSY a VF that has a type or a vGPU whose VM
 *        runs, EACCES a read-only attribute);
 *   0    the core driver forwards *ret to the manager (id left 0) and returns its answer;
 *   1    nothing to do: the write succeeds (remove with 0, a VF cleared twice).
 */
int nvv_simfs_write(const struct nvv_simfs_view *v, const struct nvv_simfs_node *n, const char *data, size_t len,
                    struct nvv_sysfs_request *ret);

/* ---- formats, exposed for tests and for the uevents ---- */

/* "devices/pci0000:41/0000:41:00.0"; vf < 0 for the physical function. */
int nvv_simfs_device_path(const struct nvv_simfs_gpu *g, int vf, char *buf, size_t cap);
/* The i-th VF's address: devfn of the PF + 4 + i (offset 4, stride 1). */
int nvv_simfs_vf_bdf(const struct nvv_simfs_gpu *g, uint32_t i, char ret[NVV_SYSFS_BDF_MAX]);
/* The 16 name bytes the firmware holds for a vGPU, as nvv-pgpu names it: the UUID's bytes,
 * or the VF's address as text. Returns the VF index the name is, -1 for a UUID (ret_uuid
 * filled), -2 for neither. */
int nvv_simfs_classify_name(const struct nvv_simfs_gpu *g, const uint8_t name[16],
                            char ret_uuid[NVV_SYSFS_UUID_LEN + 1]);
/* NVIDIA's creatable_vgpu_types text for VF vf (RFC v2 vfio_sysfs.c: a header "ID    : vGPU
 * Name", then "%-5u : %s" per type; nothing once the VF has a type). */
int nvv_simfs_format_creatable(const struct nvv_simfs_gpu *g, int vf, char *buf, size_t cap);
/* The PCI `resource` attribute: 7 lines "0x%016llx 0x%016llx 0x%016llx" (start, end, flags). */
int nvv_simfs_format_resource(const struct nvv_simfs_gpu *g, int vf, char *buf, size_t cap);
/* The vGPU index on g whose VF is vf, or -1. */
int nvv_simfs_vf_vgpu(const struct nvv_simfs_gpu *g, int vf);
