/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A prepare mark: STATE_DIR/preparing-HEX, written while nvvgpud prepares a VM's start and
 * read back at its next start if it died meanwhile (doc/state-store.md, "Prepares in
 * progress"). The text: the VM's name on the first line, then one vGPU name (a UUID, or a
 * VF's address) per line, every line ending in a newline.
 */
#include <stddef.h>

#include "macro.h"
#include "nvv-state.h"

#define NVV_PREPMARK_MAX_SIZE (64u * 1024u)
#define NVV_PREPMARK_MAX_VGPUS 256   /* a prepare makes at most 16 hostdevs + 64 by metadata */

struct nvv_prepmark {
        char vm[NVV_STATE_VM_NAME_MAX];
        size_t n_vgpus;
        char vgpus[NVV_PREPMARK_MAX_VGPUS][NVV_STATE_UUID_MAX];
};

/* -EINVAL with a message naming the line for anything but a mark as format writes it; -E2BIG
 * for more than NVV_PREPMARK_MAX_SIZE bytes or NVV_PREPMARK_MAX_VGPUS names. */
int nvv_prepmark_parse(const char *text, size_t size, struct nvv_prepmark *ret, char **reterr_msg);
/* -EINVAL when a name is not valid (nothing written then). */
int nvv_prepmark_format(const struct nvv_prepmark *m, char **ret_text, size_t *ret_len);
/* Append a vGPU's name: -E2BIG when full, -EINVAL when not a vGPU name. */
int nvv_prepmark_add(struct nvv_prepmark *m, const char *vgpu);
