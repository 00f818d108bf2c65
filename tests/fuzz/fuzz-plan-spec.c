/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --host and --request specs from the command line: parsed or refused with a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nvv-catalog.h"
#include "nvv-planner.h"

static struct nvv_catalog *catalog;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        char *msg = NULL;

        if (nvv_catalog_new(&catalog) < 0 || nvv_catalog_load_default(catalog, &msg) < 0) {
                fprintf(stderr, "fuzz-plan-spec: %s\n", msg ? msg : "cannot load the catalog");
                exit(1);
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct nvv_plan_request *reqs = NULL;
        struct nvv_plan_host_gpu *gpus = NULL;
        size_t n = 0;
        char *s, *msg = NULL;

        if (size > 4096)
                return 0;
        s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (nvv_planner_parse_requests(s, catalog, &reqs, &n, &msg) >= 0) {
                if (n == 0 || n > NVV_PLAN_MAX_REQUESTS)
                        abort();
                nvv_plan_requests_free(reqs, n);
        } else if (!msg)
                abort();
        free(msg);
        msg = NULL;
        if (nvv_planner_parse_host(s, catalog, &gpus, &n, &msg) >= 0)
                free(gpus);
        else if (!msg)
                abort();
        free(msg);
        free(s);
        return 0;
}
