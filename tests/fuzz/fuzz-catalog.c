/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A GPU catalog file from outside: any bytes give a model or one clear error, never a crash. */
#include <stdlib.h>

#include "fuzz.h"
#include "nvv-catalog.h"
#include "nvv-fwabi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct nvv_catalog *c = NULL;
        char *msg = NULL;
        int r;

        if (nvv_catalog_new(&c) < 0)
                return 0;
        r = nvv_catalog_load_buffer(c, (const char *) data, size, "fuzz.json", &msg);
        if (r < 0 && r != -ENOMEM && !msg)
                abort(); /* every refusal says why */
        if (r >= 0) {
                const struct nvv_catalog_gpu *g = nvv_catalog_get(c, 0);

                /* A model that loads is usable: sizing and the uploaded record do not crash. */
                for (size_t i = 0; g && i < g->n_types; i++)
                        (void) nvv_catalog_find_type(c, g->types[i].short_name);
        }
        free(msg);
        nvv_catalog_free(c);
        return 0;
}
