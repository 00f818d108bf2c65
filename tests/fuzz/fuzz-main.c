/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Replay driver: feeds files (or every file of directories) through a fuzz target, so the
 * seed corpus runs in a plain `make check` without libFuzzer. With no arguments it replays
 * $NVV_FUZZ_CORPUS/<program name>/. A missing corpus is a failure, never a silent pass.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "log.h"
#include "util.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        return 0;
}

static int run_file(const char *path)
{
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        r = read_full_file(path, 64u * 1024u * 1024u, &data, &size);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
                return r;
        }
        LLVMFuzzerTestOneInput((const uint8_t *) data, size);
        return 0;
}

static int run_path(const char *path, unsigned *count)
{
        struct stat st;
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        if (!S_ISDIR(st.st_mode)) {
                (*count)++;
                return run_file(path);
        }
        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&p, "%s/%s", path, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = run_path(p, count);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

int main(int argc, char **argv)
{
        unsigned count = 0;
        int r = 0;

        /* Replaying one input by hand: NVVGPU_DEBUG=1 shows what the library says about it. */
        if (getenv("NVVGPU_DEBUG")) {
                nvv_log_set_fn(nvv_log_stderr, NULL);
                nvv_log_set_max_level(7);
        }
        LLVMFuzzerInitialize(&argc, &argv);
        if (argc > 1) {
                for (int i = 1; i < argc && r >= 0; i++)
                        r = run_path(argv[i], &count);
        } else {
                const char *base = getenv("NVV_FUZZ_CORPUS");
                _cleanup_free_ char *dir = NULL, *self = strdup(argv[0]);

                if (!base || !self) {
                        fprintf(stderr, "NVV_FUZZ_CORPUS is not set; pass corpus files or directories\n");
                        return 1;
                }
                if (asprintf(&dir, "%s/%s", base, basename(self)) < 0)
                        return 1;
                r = run_path(dir, &count);
        }
        if (r < 0)
                return 1;
        if (count == 0) {
                fprintf(stderr, "no corpus inputs found\n");
                return 1;
        }
        printf("%s: replayed %u inputs\n", argv[0], count);
        return 0;
}
