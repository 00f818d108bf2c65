/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A state file from disk: any bytes give a state or one clear error, never a crash; a state
 * that loads formats to a document that loads to the same state (save loses nothing). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nvv-state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct nvv_state *s = NULL, *again = NULL;
        char *msg = NULL, *text = NULL, *text2 = NULL;
        int r;

        r = nvv_state_parse((const char *) data, size, "state.json", &s, &msg);
        if (r < 0) {
                if (r != -ENOMEM && !msg)
                        abort(); /* every refusal says why */
                free(msg);
                return 0;
        }
        if (nvv_state_format(s, &text) < 0)
                abort();
        if (nvv_state_parse(text, strlen(text), "formatted", &again, &msg) < 0)
                abort(); /* what save writes, load must read */
        /* The text holds every field, so equal texts are equal states. */
        if (nvv_state_format(again, &text2) < 0 || strcmp(text, text2) != 0)
                abort();
        free(text);
        free(text2);
        free(msg);
        nvv_state_free(again);
        nvv_state_free(s);
        return 0;
}
