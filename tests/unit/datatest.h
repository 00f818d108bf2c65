/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The GPU catalog and the release descriptions, loaded once per test program (from
 * $NVVGPU_GPUS_DIR and $NVVGPU_FWABI_DIR, which `make check` points at the source tree). */
#include <stdio.h>

#include "nvv-catalog.h"
#include "nvv-fwabi.h"
#include "nvv-fwdb.h"

static struct nvv_catalog *catalog;
static struct nvv_fwdb *fwdb;

static inline int datatest_setup(void **state)
{
        char *msg = NULL;

        if (nvv_catalog_new(&catalog) < 0 || nvv_catalog_load_default(catalog, &msg) < 0 ||
            nvv_fwdb_new(&fwdb) < 0 || nvv_fwdb_load_default(fwdb, &msg) < 0) {
                fprintf(stderr, "setup: %s\n", msg ? msg : "?");
                free(msg);
                return -1;
        }
        return 0;
}

static inline int datatest_teardown(void **state)
{
        catalog = nvv_catalog_free(catalog);
        fwdb = nvv_fwdb_free(fwdb);
        return 0;
}
