/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Throw-away directory trees for tests: fake sysfs and procfs roots. */

#include <stdbool.h>

struct tree {
        char *root;
};

struct tree *tree_new(void);
void tree_free(struct tree *t);
/* Write a file (creating directories); content NULL creates a directory. */
void tree_write(struct tree *t, const char *path, const char *content);
void tree_write_bytes(struct tree *t, const char *path, const void *data, size_t n);
void tree_link(struct tree *t, const char *path, const char *target);
char *tree_path(struct tree *t, const char *path); /* caller frees */

/* A PCI function under devices/pci0000:00/BDF with bus/pci/devices/BDF -> it. Attributes
 * given as NULL are left out. */
struct fake_pci {
        const char *bdf;
        const char *vendor, *device, *class_;
        const char *driver;             /* link to bus/pci/drivers/NAME */
        const char *iommu_group;        /* link to kernel/iommu_groups/N */
        const char *numa_node;
        const char *sriov_totalvfs, *sriov_numvfs;
        const char *physfn;             /* BDF of the PF (makes this a VF) */
};
void tree_add_pci(struct tree *t, const struct fake_pci *p);
/* devices/.../PF/virtfnN -> ../VF */
void tree_add_virtfn(struct tree *t, const char *pf, unsigned n, const char *vf);
/* proc/driver/nvidia/gpus/BDF/information with "GPU Firmware: release" */
void tree_add_nvidia_info(struct tree *t, const char *bdf, const char *release);
