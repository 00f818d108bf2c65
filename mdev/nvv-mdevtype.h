/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The mdev types a managed GPU registers with the core driver: every type of its catalog model
 * that the firmware's type table holds, named and described as NVIDIA's vendor driver
 * describes them in mdev_supported_types/nvidia-ID/description, e.g.
 * "num_heads=4, frl_config=60, framebuffer=8192M, max_resolution=7680x4320, max_instance=6".
 */

#include <stddef.h>

#include "nvv-sysfsmsg.h"

struct nvv_pgpu;

/* Fill ret[0..cap) and return how many were written. */
size_t nvv_mdevtype_list(const struct nvv_pgpu *g, struct nvv_sysfs_type *ret, size_t cap);
