/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Release descriptions are untrusted input: any bytes must load cleanly or fail cleanly. */
#include <stdlib.h>

#include "fuzz.h"
#include "nvv-fwabi-load.h"
#include "nvv-fwabi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct nvv_fwabi *fw = NULL;
        char *msg = NULL;
        int r;

        r = nvv_fwabi_load_buffer((const char *) data, size, "fuzz.json", &fw, &msg);
        if (r < 0 && r != -ENOMEM && !msg)
                abort(); /* every refusal must say why */
        if (r == 0 && (!fw || !fw->release))
                abort();
        nvv_fwabi_free(fw);
        free(msg);
        return 0;
}
