/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * GPU discovery: the NVIDIA display-class PCI functions of a host (vendor 0x10de, class
 * 0x0300 or 0x0302), what they are (catalog model, FB), how they are set up (SR-IOV, VFs,
 * driver, IOMMU group, NUMA node, GSP firmware release) and, for each, every reason it
 * cannot host vGPUs. Enumeration goes through libudev on the real /sys (so umockdev test
 * beds work) and through a directory walk of bus/pci/devices under any other root (libudev
 * ignores $SYSFS_PATH); both feed the same probe.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-catalog.h"
#include "nvv-fwabi.h"
#include "nvv-fwdb.h"
#include "nvv-sysfs.h"

#define NVV_HOST_MAX_GPUS 256
/* Largest NVIDIA driver information read: one GPU's procfs file, or a capture's copy of
 * every GPU's (a few hundred bytes each). Larger is reported, naming the file and this. */
#define NVV_HOST_DRIVER_INFO_MAX (64u * 1024u)

enum nvv_host_issue {
        NVV_HOST_ISSUE_MODEL,           /* not in the catalog */
        NVV_HOST_ISSUE_SRIOV,           /* no SR-IOV capability visible */
        NVV_HOST_ISSUE_SRIOV_VFS,       /* fewer than 2 VFs */
        NVV_HOST_ISSUE_DRIVER,          /* not driven by the NVIDIA core driver */
        NVV_HOST_ISSUE_IOMMU,           /* no IOMMU group */
        NVV_HOST_ISSUE_FIRMWARE,        /* release unknown or without a description */
        NVV_HOST_ISSUE_SYSFS,           /* an attribute we need holds garbage */
        _NVV_HOST_ISSUE_MAX,
        _NVV_HOST_ISSUE_INVALID = -EINVAL,
};
const char *nvv_host_issue_to_string(enum nvv_host_issue i); /* "no-sriov" */

struct nvv_host_reason {
        enum nvv_host_issue issue;
        char *message;
};

enum nvv_fb_source {
        NVV_FB_UNKNOWN,
        NVV_FB_CATALOG,
        NVV_FB_FIRMWARE,
};

struct nvv_host_gpu {
        char bdf[13];
        char *devpath;                  /* relative to the sysfs root */
        uint16_t vendor, device, subsystem_vendor, subsystem_device;
        uint32_t pci_class;
        char *driver;                   /* NULL: none bound */
        int iommu_group;                /* -1: none */
        int numa_node;                  /* -1: none */
        bool sriov_capable;
        uint32_t sriov_total_vfs, sriov_num_vfs;
        char **vfs;                     /* VF addresses (virtfnN links) */
        char *firmware;                 /* GSP release as the driver reports it; NULL unknown */
        const struct nvv_fwabi *fwabi;  /* the description serving it */
        const struct nvv_catalog_gpu *model;
        uint64_t fb_total;
        enum nvv_fb_source fb_source;
        size_t n_reasons;
        struct nvv_host_reason *reasons;
};

struct nvv_host {
        size_t n;
        struct nvv_host_gpu **gpus;     /* sorted by address */
        char **warnings;                /* devices or attributes skipped, with why */
        bool no_driver_info;            /* neither a procfs nor a captured copy was found, so no
                                         * GPU's firmware release could be known */
};

struct nvv_host_scan_params {
        const char *sysfs_root;         /* NULL: /sys */
        const char *proc_root;          /* NULL: /proc with the real /sys; beside a re-rooted tree
                                         * (a capture directory or the tree's parent) proc/ or the
                                         * captured host/proc-driver-nvidia-gpus-information.txt */
        bool no_udev;                   /* walk bus/pci/devices even on /sys */
        const struct nvv_catalog *catalog;
        const struct nvv_fwdb *fwdb;
};

int nvv_host_scan(const struct nvv_host_scan_params *params, struct nvv_host **ret, char **reterr_msg);
struct nvv_host *nvv_host_free(struct nvv_host *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_host *, nvv_host_free);

/* The shared probe: one PCI function at devpath. 0 and *ret NULL when it is not an NVIDIA
 * display function (or is a VF); warnings are appended to *warnings. */
int nvv_host_probe(const struct nvv_sysfs *sys, const struct nvv_sysfs *proc,
                   const struct nvv_catalog *catalog, const struct nvv_fwdb *fwdb, const char *devpath,
                   struct nvv_host_gpu **ret, char ***warnings);
struct nvv_host_gpu *nvv_host_gpu_free(struct nvv_host_gpu *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_host_gpu *, nvv_host_gpu_free);

static inline bool nvv_host_gpu_can_host(const struct nvv_host_gpu *g)
{
        return g && g->n_reasons == 0;
}

/* The information section of one GPU in a capture's host/proc-driver-nvidia-gpus-information.txt. */
int nvv_host_capture_information(const char *capture, const char *bdf, char **ret_text);
/* "GPU Firmware:" of /proc/driver/nvidia/gpus/BDF/information; -ENOENT when absent. */
int nvv_host_parse_driver_information(const char *text, char **ret_firmware);
