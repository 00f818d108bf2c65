/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>

#include "macro.h"

/* The library never prints: it hands debug messages to a sink the program installs. */
typedef void (*nvv_log_fn)(int level, const char *file, int line, const char *func,
                           const char *fmt, va_list ap, void *userdata) _printf_(5, 0);

void nvv_log_set_fn(nvv_log_fn fn, void *userdata);
void nvv_log_set_max_level(int level);
int nvv_log_get_max_level(void);
void nvv_log_internal(int level, const char *file, int line, const char *func,
                      const char *fmt, ...) _printf_(5, 6);

/* Programs: stderr sink with sd-daemon "<N>" level prefixes when stderr is the journal. */
void nvv_log_stderr(int level, const char *file, int line, const char *func,
                    const char *fmt, va_list ap, void *userdata) _printf_(5, 0);

#define nvv_log(level, ...)                                                     \
        do {                                                                    \
                if ((level) <= nvv_log_get_max_level())                         \
                        nvv_log_internal(level, __FILE__, __LINE__, __func__,   \
                                         __VA_ARGS__);                          \
        } while (0)
#define log_debug(...) nvv_log(7, __VA_ARGS__)

/* Log-and-return for "logging" functions; r is a negative errno. */
#define log_debug_errno(r, ...) ({ log_debug(__VA_ARGS__); (r); })
