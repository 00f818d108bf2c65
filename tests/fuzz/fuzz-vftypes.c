/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A VF's creatable_vgpu_types: any bytes give types or one clear error; every type read has a
 * nonzero id, a printable name, and no id twice. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nvv-vftypes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct nvv_vftype *t = NULL;
        char *msg = NULL;
        size_t n = 0;
        int r;

        r = nvv_vftypes_parse((const char *) data, size, &t, &n, &msg);
        if (r < 0) {
                if (r != -ENOMEM && !msg)
                        abort(); /* every refusal says why */
                free(msg);
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                if (t[i].id == 0 || !t[i].name[0] || strlen(t[i].name) >= NVV_VFTYPES_NAME_MAX)
                        abort();
                for (const char *c = t[i].name; *c; c++)
                        if (!isprint((unsigned char) *c))
                                abort();
                for (size_t k = 0; k < i; k++)
                        if (t[k].id == t[i].id)
                                abort();
        }
        free(t);
        return 0;
}
