/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The set of release descriptions a process knows (nvv_fwdb): loaded from directories,
 * kept sorted by version, matched against the release a GPU runs.
 */

#include <stddef.h>

#include "macro.h"
#include "nvv-fwabi.h"
#include "nvv-vmgmt.h"

/* Every release description known to a process. */
struct nvv_fwdb;

int nvv_fwdb_new(struct nvv_fwdb **ret);
struct nvv_fwdb *nvv_fwdb_free(struct nvv_fwdb *db);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_fwdb *, nvv_fwdb_free);
/* Load every *.json in dir, and every upstream interface description in dir/upstream
 * (nvv-vmgmt.h; a missing subdirectory is none). A bad file fails the call and adds nothing from that dir. A
 * release already known is kept (the first directory loaded wins). */
int nvv_fwdb_load_dir(struct nvv_fwdb *db, const char *dir, char **reterr_msg);
/* $NVVGPU_FWABI_DIR if set, else the installed data directory. */
int nvv_fwdb_load_default(struct nvv_fwdb *db, char **reterr_msg);
const char *nvv_fwdb_default_dir(void);
int nvv_fwdb_add(struct nvv_fwdb *db, struct nvv_fwabi *fw); /* takes ownership */
size_t nvv_fwdb_count(const struct nvv_fwdb *db);
const struct nvv_fwabi *nvv_fwdb_get(const struct nvv_fwdb *db, size_t i); /* sorted by version */
const struct nvv_fwabi *nvv_fwdb_find(const struct nvv_fwdb *db, const char *release); /* exact */
/* The description serving `release` (exact match first, then the longest compatible
 * prefix), or NULL with *reterr_msg naming the nearest known release. */
const struct nvv_fwabi *nvv_fwdb_match(const struct nvv_fwdb *db, const char *release,
                                       char **reterr_msg);

/* The upstream vGPU-management interface descriptions known (sorted by revision). */
int nvv_fwdb_add_vmgmt(struct nvv_fwdb *db, struct nvv_vmgmt *vm); /* takes ownership */
size_t nvv_fwdb_vmgmt_count(const struct nvv_fwdb *db);
const struct nvv_vmgmt *nvv_fwdb_vmgmt_get(const struct nvv_fwdb *db, size_t i);
/* The description of `revision`, or with NULL the newest; NULL with *reterr_msg when there
 * is none. */
const struct nvv_vmgmt *nvv_fwdb_vmgmt_match(const struct nvv_fwdb *db, const char *revision, char **reterr_msg);
