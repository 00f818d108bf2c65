/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The sysfs seam: every read of sysfs (and of procfs) goes through these functions, under
 * a root that tests replace with a tree of their own. Paths are relative to the root
 * ("bus/pci/devices/0000:41:00.0/vendor"), never absolute and never with "..": a caller
 * cannot leave the root. Reads are bounded; the attribute parsers below are pure and
 * fuzzed.
 *
 * Nothing is read from outside the root either: every lookup under it, links included, is
 * confined to the tree (openat2(2) RESOLVE_BENEATH, or the same rule applied component by
 * component where that call is missing), and a link that would leave it (an absolute
 * target, or ".." above the root) fails with -EXDEV instead of being followed.
 *
 * Captured trees (shared/fixtures) store links as plain files holding the link target;
 * nvv_sysfs_read_link() accepts both, so a capture reads like the real thing.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define NVV_SYSFS_ATTR_MAX 4096u       /* one page: what the kernel returns for a text attribute */
#define NVV_SYSFS_LINK_MAX 4096u
#define NVV_SYSFS_DIR_MAX 4096u        /* entries listed from one directory */

struct nvv_sysfs;

/* root NULL means "/sys". The root must be an existing directory. */
int nvv_sysfs_new(const char *root, struct nvv_sysfs **ret);
struct nvv_sysfs *nvv_sysfs_free(struct nvv_sysfs *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_sysfs *, nvv_sysfs_free);
const char *nvv_sysfs_get_root(const struct nvv_sysfs *s);
/* Tests: resolve component by component even where openat2(2) works (the path taken on
 * kernels before 5.6 and under filters that refuse the call). */
void nvv_sysfs_set_portable_resolve(struct nvv_sysfs *s, bool portable);
/* What an error of these functions means, for messages (-EXDEV: "a link leading out of
 * the tree, not followed"). */
const char *nvv_sysfs_strerror(int r);

/* A text attribute, trailing newline removed. -ENOENT when absent, -EFBIG when longer than
 * max (0 = NVV_SYSFS_ATTR_MAX), -EBADMSG when it holds a NUL byte. */
int nvv_sysfs_read_attr(const struct nvv_sysfs *s, const char *path, size_t max, char **ret);
/* Read and parse in one step; parse errors are -EBADMSG. */
int nvv_sysfs_read_u32(const struct nvv_sysfs *s, const char *path, uint32_t *ret);
int nvv_sysfs_read_int(const struct nvv_sysfs *s, const char *path, int *ret);
int nvv_sysfs_read_hex(const struct nvv_sysfs *s, const char *path, unsigned bits, uint32_t *ret);

/* A link's target as written (relative), or the content of a captured-link file. */
int nvv_sysfs_read_link(const struct nvv_sysfs *s, const char *path, char **ret_target);
/* Follow a link to a root-relative, normalised path ("devices/pci0000:00/0000:00:06.0"),
 * links on the way resolved inside the tree. -EXDEV when the target would leave the root. */
int nvv_sysfs_resolve_link(const struct nvv_sysfs *s, const char *path, char **ret_path);
/* The last component of a link's target ("nvidia" for driver -> ../../bus/pci/drivers/nvidia);
 * -EXDEV for a link leading out of the tree. */
int nvv_sysfs_read_link_name(const struct nvv_sysfs *s, const char *path, char **ret_name);

bool nvv_sysfs_exists(const struct nvv_sysfs *s, const char *path);
bool nvv_sysfs_is_dir(const struct nvv_sysfs *s, const char *path);
/* Sorted entry names (no "." entries); -ENOENT when the directory is absent. */
int nvv_sysfs_list_dir(const struct nvv_sysfs *s, const char *path, char ***ret_names);

/* Pure parsers for attribute text (what the read_* functions use). */
int nvv_sysfs_parse_u32(const char *text, uint32_t *ret);       /* decimal */
int nvv_sysfs_parse_int(const char *text, int *ret);            /* decimal, may be negative */
int nvv_sysfs_parse_hex(const char *text, unsigned bits, uint32_t *ret); /* "0x10de", at most bits wide */
/* "KEY=value" lines (uevent): the value of key, or -ENOENT. */
int nvv_sysfs_parse_uevent(const char *text, const char *key, char **ret_value);
/* "0000:41:00.0" → canonical lower-case BDF; -EINVAL otherwise. */
int nvv_sysfs_parse_bdf(const char *text, char ret[static 13]);
/* Lexically normalise "a/b/../c" relative to dir; -EXDEV when it climbs above the root. */
int nvv_sysfs_normalize(const char *dir, const char *target, char **ret);
