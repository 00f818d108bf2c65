/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static nvv_log_fn log_fn;
static void *log_userdata;
static int log_max_level = LOG_INFO;

void nvv_log_set_fn(nvv_log_fn fn, void *userdata)
{
        log_fn = fn;
        log_userdata = userdata;
}

void nvv_log_set_max_level(int level)
{
        log_max_level = level;
}

int nvv_log_get_max_level(void)
{
        return log_max_level;
}

void nvv_log_internal(int level, const char *file, int line, const char *func, const char *fmt, ...)
{
        va_list ap;
        int saved = errno;

        if (!log_fn)
                return;
        va_start(ap, fmt);
        log_fn(level, file, line, func, fmt, ap, log_userdata);
        va_end(ap);
        errno = saved;
}

void nvv_log_stderr(int level, const char *file _unused_, int line _unused_,
                    const char *func _unused_, const char *fmt, va_list ap, void *userdata _unused_)
{
        /* journald reads "<N>" prefixes from services' stderr (sd-daemon(3)). */
        const char *stream = getenv("JOURNAL_STREAM");

        if (stream && *stream)
                fprintf(stderr, "<%d>", level);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
}
