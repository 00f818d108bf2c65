/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "macro.h"

/* One line into a caller's error buffer (err may be NULL, errlen 0). */
_printf_(3, 4) void nvv_errf(char *err, size_t errlen, const char *fmt, ...);
/* Replace *reterr (reterr may be NULL) with a formatted message; returns -EINVAL so that
 * `return nvv_fail(reterr, ...)` reads as the error it is. */
_printf_(2, 3) int nvv_fail(char **reterr, const char *fmt, ...);
/* The same, returning `error` (a negative errno) instead. */
_printf_(3, 4) int nvv_fail_errno(int error, char **reterr, const char *fmt, ...);

/* Strict integer parsers: the whole string, decimal or hexadecimal after "0x"/"0X"; no blanks,
 * no "+", a "-" only for the signed one, and no leading zero before digits ("010" is -EINVAL,
 * never octal). -ERANGE when the value does not fit. */
int safe_atou64(const char *s, uint64_t *ret);
int safe_atou32(const char *s, uint32_t *ret);
int safe_atoi64(const char *s, int64_t *ret);

/* Read a whole regular file, refusing anything larger than max bytes (-EFBIG), a directory
 * (-EISDIR) and any other kind of file (-EBADFD: a FIFO would block, a device never end);
 * the result is NUL terminated. */
int read_full_file(const char *path, size_t max, char **ret_data, size_t *ret_size);
/* The same for name relative to dfd, with extra open flags (O_NOFOLLOW, say). */
int read_full_file_at(int dfd, const char *name, int open_flags, size_t max, char **ret_data, size_t *ret_size);
/* What read_full_file's error means, for "PATH: reason" messages. */
const char *read_full_file_strerror(int r);
int read_full_stream(FILE *f, size_t max, char **ret_data, size_t *ret_size);

/*
 * Replace name in the directory dfd crash-safely: the data goes to a new temporary file
 * (tmp_prefix + pid + counter, O_EXCL, mode), written in chunks of at most 4096 bytes,
 * fsync'd, renamed over name, then the directory fsync'd. A reader sees the old file or
 * the new one, never a part. step (optional) is called before each step (open, each write,
 * fsync, rename, directory fsync) and may fail it with a negative errno; *ret_step names the
 * step that failed ("creating", "writing", "syncing", "renaming", "syncing the directory").
 * On a failure before the rename the temporary file is removed and name is untouched.
 */
enum atomic_write_step {
        ATOMIC_WRITE_OPEN,
        ATOMIC_WRITE_WRITE,
        ATOMIC_WRITE_FSYNC,
        ATOMIC_WRITE_RENAME,
        ATOMIC_WRITE_FSYNC_DIR,
};
int write_file_atomic_at(int dfd, const char *name, const char *tmp_prefix, const void *data, size_t len,
                         unsigned mode, int (*step)(enum atomic_write_step s, void *userdata), void *userdata,
                         const char **ret_step);
/* The same without either fsync: a reader (and a restarted process) sees the old file or the
 * new one, but after a power loss either may be there. */
int write_file_replace_at(int dfd, const char *name, const char *tmp_prefix, const void *data, size_t len,
                          unsigned mode, const char **ret_step);

bool streq_ptr(const char *a, const char *b);
/* Little-endian u32 at any alignment (wire payloads). */
static inline void put_le32(void *p, uint32_t v)
{
        uint8_t *b = p;

        b[0] = (uint8_t) v;
        b[1] = (uint8_t) (v >> 8);
        b[2] = (uint8_t) (v >> 16);
        b[3] = (uint8_t) (v >> 24);
}

static inline uint32_t get_le32(const void *p)
{
        const uint8_t *b = p;

        return (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
}

static inline bool streq(const char *a, const char *b)
{
        return __builtin_strcmp(a, b) == 0;
}
bool startswith(const char *s, const char *prefix);

/* NULL-terminated string vectors. */
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)
size_t strv_length(char *const *l);
int strv_push(char ***l, char *s);      /* takes ownership of s, even on failure */
int strv_extend(char ***l, const char *s);

/* Split "a,b,c" (no empty items allowed). */
int strv_split(const char *s, char sep, char ***ret);
void strv_sort(char **l);

/* The names in dir (no dot files) that start with prefix and end with suffix (NULL: any),
 * sorted; -E2BIG when more than max match, -errno when dir cannot be read. */
int nvv_dir_list(const char *dir, const char *prefix, const char *suffix, size_t max, char ***ret);

int errno_from_name(const char *name);
const char *errno_to_name(int e);

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

/* Print "0000: 01 02 ..." lines, 16 bytes a line. */
void hexdump(FILE *f, const void *p, size_t n, const char *indent);
