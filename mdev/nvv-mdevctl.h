/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * mdevctl's persistent definitions, read and written so that nvvgpu and mdevctl share them:
 * one file per device, DIR/PARENT/UUID (DIR is /etc/mdevctl.d), holding a JSON object
 *   {"mdev_type": "nvidia-1155", "start": "auto" | "manual", "attrs": [{"NAME": "VALUE"}, ...]}
 * as Debian's mdevctl 1.2.0 writes it (`mdevctl define -p 0000:41:00.0 -t nvidia-1155 -a`,
 * checked against that binary). Files are read strictly: a file that is not such an object, or
 * larger than NVV_MDEVCTL_MAX_FILE, is reported and left alone, never rewritten. nvvgpu writes
 * only files it creates (crash-safely) and removes only the one a user asked it to undefine.
 */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

#define NVV_MDEVCTL_DEFAULT_DIR "/etc/mdevctl.d"
#define NVV_MDEVCTL_MAX_FILE (64u * 1024u)
#define NVV_MDEVCTL_MAX_DEFS 4096
#define NVV_MDEVCTL_MAX_ATTRS 256
#define NVV_MDEVCTL_NAME_MAX 64         /* a parent's or a type's name, with its NUL */

struct nvv_mdevctl_def {
        char parent[NVV_MDEVCTL_NAME_MAX];      /* the parent device: "0000:41:00.0" */
        char uuid[37];                          /* lowercase */
        char mdev_type[NVV_MDEVCTL_NAME_MAX];   /* "nvidia-1155" */
        bool autostart;                         /* "start": "auto" */
        size_t n_attrs;                         /* attributes to write at start (nvvgpu sets none) */
};

/* A parent's name as a directory may carry it: 1..63 of [A-Za-z0-9:._-], not "." or "..". */
bool nvv_mdevctl_parent_valid(const char *s);
/* A type's name: 1..63 of [A-Za-z0-9:._-]. */
bool nvv_mdevctl_type_valid(const char *s);

/* Parse one file's content (name is for messages); parent and uuid are left as they are. */
int nvv_mdevctl_parse(const char *data, size_t size, const char *name, struct nvv_mdevctl_def *ret, char **reterr_msg);
/* The file's content as mdevctl writes it (attrs empty); the caller frees it. */
int nvv_mdevctl_format(const struct nvv_mdevctl_def *d, char **ret_text);

/*
 * Every definition under dir, sorted by parent then UUID. A missing dir is no definitions. A
 * parent directory or file that cannot be read or parsed is skipped with one line in
 * *ret_warnings ("DIR/PARENT/UUID: why"); so are names that are not UUIDs and mdevctl's own
 * scripts.d. -errno only when dir exists and cannot be read.
 */
int nvv_mdevctl_load(const char *dir, struct nvv_mdevctl_def **ret, size_t *ret_n, char ***ret_warnings);

/* Write DIR/PARENT/UUID crash-safely, creating DIR/PARENT (0755) when needed. -EEXIST with a
 * message when the file exists: nvvgpu never overwrites a definition. */
int nvv_mdevctl_save(const char *dir, const struct nvv_mdevctl_def *d, char **reterr_msg);
/* Remove DIR/PARENT/UUID (-ENOENT when it is not there); the parent directory stays. */
int nvv_mdevctl_delete(const char *dir, const char *parent, const char *uuid, char **reterr_msg);
