/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The GPU catalog (data/gpus/MODEL.json, nvvgpu-catalog(5)): per GPU model its PCI ids,
 * framebuffer, VMMU segment, placement units, VFs, channel pool, and the vGPU types it
 * offers. Every value in the files carries its provenance (source, derived with the rule,
 * or unverified); the loader refuses a value without one, and a file that contradicts
 * itself or another file.
 *
 * Firmware-release facts (GSP heap, instance caps, wire array sizes) are not here: they are
 * read from the release description (nvv-fwabi.h) when a type is turned into the record the
 * manager uploads (nvv_catalog_fill_vgpu_type).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-cmd.h"
#include "nvv-fwabi.h"

#define NVV_CATALOG_MAX_FILE_SIZE (1024u * 1024u)
#define NVV_CATALOG_MAX_TYPES 64
#define NVV_CATALOG_MAX_PCI_IDS 8
#define NVV_CATALOG_MAX_UNITS 256
#define NVV_CATALOG_MAX_GPUS 256
#define NVV_CATALOG_NAME_MAX 63

struct nvv_catalog_gpu;

struct nvv_catalog_type {
        uint32_t type_id;
        char *name;                     /* "NVIDIA L40S-8Q" */
        const char *short_name;         /* "L40S-8Q" (inside name) */
        char series;                    /* 'Q', 'B', 'A' or 'C' */
        char *class_name;
        uint64_t profile_size;          /* bytes, the nominal size in the name */
        uint64_t fb_length;             /* bytes of guest FB, reference configuration */
        uint64_t gsp_heap_size;         /* plugin heap, bytes */
        uint64_t fb_reservation;        /* bytes reserved per vGPU, plugin heap included */
        uint32_t max_instance;          /* equal-size mode */
        uint32_t mixed_max_instance;    /* mixed-size mode (= n_heterogeneous); 0 without it */
        uint32_t num_heads, max_res_x, max_res_y, frl;
        bool cuda, ecc_supported;
        uint32_t placement_size;        /* units */
        uint32_t n_homogeneous, homogeneous[NVV_MAX_PLACEMENTS];
        uint32_t n_heterogeneous, heterogeneous[NVV_MAX_PLACEMENTS];
        const struct nvv_catalog_gpu *gpu;
};

struct nvv_catalog_pci_id {
        uint16_t vendor, device;
        bool has_subsystem;             /* only this board: subsystem_vendor:subsystem_device */
        uint16_t subsystem_vendor, subsystem_device;
};

struct nvv_catalog_gpu {
        char *id;                       /* file stem: "l40s" */
        char *model;                    /* "NVIDIA L40S" */
        char *short_name;               /* "L40S" */
        char *architecture;
        char *memory;
        char *path;
        size_t n_pci;
        struct nvv_catalog_pci_id pci[NVV_CATALOG_MAX_PCI_IDS];
        uint64_t fb_total;              /* bytes */
        uint64_t fb_reserved;           /* bytes the host keeps besides the GSP heap */
        uint32_t ecc_fb_divisor;        /* ECC costs fb/divisor; 0 = free (HBM) */
        uint64_t vmmu_segment;          /* bytes */
        uint32_t placement_units;
        bool sriov;
        uint32_t num_vfs;
        uint32_t total_chids;
        bool mixed_size;
        size_t n_types;
        struct nvv_catalog_type *types;
};

/* What one GPU model gives under one firmware release and ECC state (doc/firmware-model.md §1). */
struct nvv_catalog_sizing {
        uint64_t fb_total;
        uint64_t fb_reserved;           /* GSP heap of the release + catalog reservation + ECC */
        uint64_t usable;                /* fb_total - fb_reserved */
        uint64_t vmmu_segment;
        uint64_t unit_size;             /* align_down(usable / placement_units, vmmu_segment) */
        uint32_t placement_units;
        uint32_t num_vfs;
        uint32_t total_chids;
        uint32_t max_vgpus;             /* min(num_vfs, release max_vgpu_per_pgpu) */
};

struct nvv_catalog;

int nvv_catalog_new(struct nvv_catalog **ret);
struct nvv_catalog *nvv_catalog_free(struct nvv_catalog *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_catalog *, nvv_catalog_free);

/* Parse one GPU file and add it. On error nothing is added and *reterr_msg says
 * "FILE: key.path: what is wrong". */
int nvv_catalog_load_buffer(struct nvv_catalog *c, const char *data, size_t size, const char *name,
                            char **reterr_msg);
int nvv_catalog_load_file(struct nvv_catalog *c, const char *path, char **reterr_msg);
/* Every *.json of dir; one bad file fails the call and adds nothing from dir. */
int nvv_catalog_load_dir(struct nvv_catalog *c, const char *dir, char **reterr_msg);
/* $NVVGPU_GPUS_DIR if set, else the installed data directory. */
int nvv_catalog_load_default(struct nvv_catalog *c, char **reterr_msg);
const char *nvv_catalog_default_dir(void);

size_t nvv_catalog_count(const struct nvv_catalog *c);
const struct nvv_catalog_gpu *nvv_catalog_get(const struct nvv_catalog *c, size_t i);
/* The model of a PCI function: an entry naming its subsystem first, else one naming none. */
const struct nvv_catalog_gpu *nvv_catalog_find_pci(const struct nvv_catalog *c, uint16_t vendor,
                                                   uint16_t device, uint16_t subsystem_vendor,
                                                   uint16_t subsystem_device);
/* By short name ("L40S") or id ("l40s"), case-insensitive. */
const struct nvv_catalog_gpu *nvv_catalog_find_gpu(const struct nvv_catalog *c, const char *name);
/* By full name, short name ("L40S-8Q", case-insensitive) or decimal type id. */
const struct nvv_catalog_type *nvv_catalog_gpu_find_type(const struct nvv_catalog_gpu *g,
                                                         const char *name);
/* By short or full name across every GPU model. */
const struct nvv_catalog_type *nvv_catalog_find_type(const struct nvv_catalog *c, const char *name);

int nvv_catalog_gpu_sizing(const struct nvv_catalog_gpu *g, const struct nvv_fwabi *fw, bool ecc,
                           struct nvv_catalog_sizing *ret);

/* The record the manager uploads with ADD_VGPU_TYPES for this release and ECC state:
 * fb_length re-derived for the release's heap and ECC (never above the catalog's), instance
 * and placement counts capped to what the release carries, placement ids dropped for
 * releases without them. -EOPNOTSUPP: the type does not run with ECC on; -ERANGE: its FB
 * does not fit its placement under this release; -ENAMETOOLONG: its name does not fit the
 * release's strings. */
int nvv_catalog_fill_vgpu_type(const struct nvv_catalog_type *t, const struct nvv_fwabi *fw, bool ecc,
                               struct nvv_vgpu_type *ret);
