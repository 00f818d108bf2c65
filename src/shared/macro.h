/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Scope-based cleanup and small helpers shared by every layer. */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _nonnull_ __attribute__((nonnull))
#define _warn_unused_ __attribute__((warn_unused_result))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) / (a) * (a))
#define DIV_ROUND_UP(x, d) (((x) + (d) - 1) / (d))

/* Hand ownership out of a cleanup-scoped variable. */
#define TAKE_PTR(p)                             \
        ({                                      \
                __typeof__(p) _tp_ = (p);       \
                (p) = NULL;                     \
                _tp_;                           \
        })
#define TAKE_FD(fd)                             \
        ({                                      \
                int _tf_ = (fd);                \
                (fd) = -EBADF;                  \
                _tf_;                           \
        })

/* Public entry points check arguments for programming errors only. */
#define assert_return(expr, r)                  \
        do {                                    \
                if (_unlikely_(!(expr)))        \
                        return (r);             \
        } while (0)

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)         \
        static inline void func##p(type *p)             \
        {                                               \
                if (*p)                                 \
                        *p = func(*p);                  \
        }

static inline void freep(void *p)
{
        free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* close() that keeps errno, for cleanup paths. */
static inline int safe_close(int fd)
{
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd)
{
        *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
        if (*f)
                (void) fclose(*f);
        *f = NULL;
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* prefix##_to_string() and prefix##_from_string() over a table of names indexed by the enum:
 * NULL for a value outside it, `invalid` for a name not in it. */
#define DEFINE_STRING_TABLE_LOOKUP(prefix, type, table, max, invalid)                   \
        const char *prefix##_to_string(type v)                                          \
        {                                                                               \
                return v >= 0 && v < (max) ? table[v] : NULL;                           \
        }                                                                               \
        type prefix##_from_string(const char *s)                                        \
        {                                                                               \
                for (int _i = 0; s && _i < (max); _i++)                                 \
                        if (table[_i] && strcmp(table[_i], s) == 0)                     \
                                return (type) _i;                                       \
                return invalid;                                                         \
        }
