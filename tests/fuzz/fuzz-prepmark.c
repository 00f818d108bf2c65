/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A prepare mark from the state directory: any bytes give a mark or one clear error, never a
 * crash; a mark that parses formats to the same bytes (nvvgpud writes what it reads). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nvv-prepmark.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct nvv_prepmark *m = calloc(1, sizeof(*m));
        char *msg = NULL, *text = NULL;
        size_t len = 0;
        int r;

        if (!m)
                return 0;
        r = nvv_prepmark_parse((const char *) data, size, m, &msg);
        if (r < 0) {
                if (r != -ENOMEM && !msg)
                        abort(); /* every refusal says why */
        } else if (nvv_prepmark_format(m, &text, &len) < 0 || len != size || memcmp(text, data, size) != 0)
                abort();
        free(text);
        free(msg);
        free(m);
        return 0;
}
