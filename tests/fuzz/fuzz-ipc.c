/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nvvgpud's IPC messages from a client (and, the other way, a daemon's reply as nvvgpuctl
 * reads it): parsed or refused with a message; a request that parses formats back into one
 * that parses to the same thing.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nvv-ipc.h"
#include "nvv-json.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct nvv_ipc_request a, b;
        json_object *doc = NULL, *res = NULL;
        char *msg = NULL, *text = NULL;
        int r;

        r = nvv_ipc_parse_request(data, size, &a, &msg);
        if (r < 0) {
                if (!msg)
                        abort(); /* every refusal says why */
        } else {
                if (a.method < 0 || a.method >= _NVV_IPC_METHOD_MAX)
                        abort();
                if (nvv_ipc_format_request(&a, &text) < 0 || nvv_ipc_parse_request(text, strlen(text), &b, NULL) < 0 ||
                    memcmp(&a, &b, sizeof(a)) != 0)
                        abort();
        }
        free(msg);
        free(text);
        msg = NULL;
        r = nvv_ipc_parse_reply(data, size, &doc, &res, &msg);
        if (r < 0 && !msg)
                abort();
        if (r >= 0 && !res)
                abort();
        json_object_put(doc);
        free(msg);
        return 0;
}
