/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An mdevctl definition file: any bytes give a definition or one clear error, never a crash;
 * a definition that parses formats (as mdevctl writes it) to one that parses the same. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nvv-mdevctl.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct nvv_mdevctl_def a = {}, b = {};
        char *msg = NULL, *text = NULL;
        int r;

        r = nvv_mdevctl_parse((const char *) data, size, "def", &a, &msg);
        if (r < 0) {
                if (r != -ENOMEM && !msg)
                        abort(); /* every refusal says why */
                free(msg);
                return 0;
        }
        if (!nvv_mdevctl_type_valid(a.mdev_type) || a.n_attrs > NVV_MDEVCTL_MAX_ATTRS)
                abort();
        if (nvv_mdevctl_format(&a, &text) < 0 || nvv_mdevctl_parse(text, strlen(text), "formatted", &b, NULL) < 0)
                abort();
        if (!streq_ptr(a.mdev_type, b.mdev_type) || a.autostart != b.autostart || b.n_attrs != 0)
                abort();
        free(text);
        return 0;
}
