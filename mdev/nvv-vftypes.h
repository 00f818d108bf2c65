/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A VF's nvidia/creatable_vgpu_types, as NVIDIA's vendor VFIO driver writes it. Two layouts
 * are seen in the field, and both are read, by what the fields are, never by column:
 *   ID    : vGPU Name                 (NVIDIA's RFC v2, vfio_sysfs.c: "%-5u : %s" per type)
 *   1152  : NVIDIA L40S-8Q
 * and
 *   NVIDIA L40S-8Q    1152            (name, blanks, id; reported on Proxmox and others)
 * A header line ("ID : vGPU Name", either order) is skipped; an empty file is no types (a VF
 * that has one already lists nothing).
 */

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define NVV_VFTYPES_MAX_FILE (64u * 1024u)
#define NVV_VFTYPES_MAX 512
#define NVV_VFTYPES_NAME_MAX 64

struct nvv_vftype {
        uint32_t id;
        char name[NVV_VFTYPES_NAME_MAX];        /* "NVIDIA L40S-8Q" */
};

/* Parse; *ret (caller frees) and *ret_n. -EINVAL with "line N: what is wrong", -E2BIG over the
 * limits. */
int nvv_vftypes_parse(const char *text, size_t len, struct nvv_vftype **ret, size_t *ret_n, char **reterr_msg);
