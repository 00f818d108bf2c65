/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The backend string parser (nvvgpuctl --backend): input is the string. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nvv-backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct nvv_backend *b = NULL;
        char *s, *msg = NULL;

        if (size > 2 * NVV_BACKEND_MAX)
                return 0;
        /* As a C string: an embedded NUL ends it, as it would on a command line. (Copied, not
         * strndup'd: ASan's strndup reads a byte past n when there is no NUL within it.) */
        s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = 0;
        if (nvv_backend_parse(s, &b, &msg) == 0) {
                /* Whatever is accepted names a place, and no control character reaches it. */
                const char *p = nvv_backend_get_path(b);

                if (!p || !*p || nvv_backend_get_kind(b) == NVV_BACKEND_INPROC)
                        abort();
                for (; *p; p++)
                        if ((unsigned char) *p < 0x20 || *p == 0x7f)
                                abort();
        } else if (!msg)
                abort();
        nvv_backend_free(b);
        free(msg);
        free(s);
        return 0;
}
