/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Reading and validating one release description (data/fwabi/RELEASE.json,
 * nvvgpu-fwabi(5)) into a struct nvv_fwabi. Every check a description must pass is here;
 * what is loaded is then trusted by the lookups and the marshaller.
 */

#include <stddef.h>

#include "nvv-fwabi.h"

/* Largest description file accepted. */
#define NVV_FWABI_MAX_FILE_SIZE (8u * 1024u * 1024u)

/* How deep structs may hold structs (a struct of scalars is level 1). NVIDIA's deepest in
 * the shipped descriptions is 3 (ENUMERATE_VGPU_PER_PGPU_PARAMS); the loader, marshaller
 * and dissector recurse along it, so it is bounded well above that. */
#define NVV_FWABI_MAX_NESTING 16u

/* Parse and validate one description. On error *reterr_msg says "FILE: KEY.PATH: what". */
int nvv_fwabi_load_file(const char *path, struct nvv_fwabi **ret, char **reterr_msg);
int nvv_fwabi_load_buffer(const char *data, size_t size, const char *name,
                          struct nvv_fwabi **ret, char **reterr_msg);
