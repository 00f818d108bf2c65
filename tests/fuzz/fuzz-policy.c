/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A policy file from outside: a policy or one clear error naming the key, never a crash. */
#include <stdlib.h>

#include "fuzz.h"
#include "nvv-policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct nvv_policy *p = NULL;
        struct nvv_policy_effective e;
        char *msg = NULL;
        int r;

        r = nvv_policy_load_buffer((const char *) data, size, "fuzz.json", NULL, &p, &msg);
        if (r < 0 && r != -ENOMEM && !msg)
                abort();
        if (r >= 0) {
                (void) nvv_policy_resolve(p, "L40S", "0000:41:00.0", &e);
                if (!e.types || !*e.types)
                        abort(); /* a loaded policy always offers some pattern */
        }
        free(msg);
        nvv_policy_free(p);
        return 0;
}
