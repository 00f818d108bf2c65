/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nvvgpud's IPC messages from a client (and, the other way, a daemon's reply as nvvgpuctl
 * reads it): parsed or refused with a message; a request that parses formats back into one
 * that parses to the same thing; any JSON document (and any reply) is written by
 * nvv_ipc_to_text byte for byte as json-c writes it; and a status reply written as text is
 * the text of its object (numbers and strings taken from the input).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nvv-ipc.h"
#include "nvv-json.h"
#include "util.h"

/* nvv_ipc_to_text against json-c's writer, on whatever o is. */
static void check_text(json_object *o)
{
        const char *want = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        char *got = NULL;

        if (nvv_ipc_to_text(o, &got) < 0 || !want || strcmp(got, want) != 0)
                abort();
        free(got);
}

static void check_status(const uint8_t *data, size_t size)
{
        struct nvv_ipc_status st = {};
        int64_t n[6] = {};
        char str[3][128] = {};
        size_t k = MIN(size, sizeof(n)), rest;
        json_object *o;
        char *want = NULL, *got = NULL;

        memcpy(n, data, k);
        rest = size - k;
        for (size_t i = 0; i < 3; i++)
                memcpy(str[i], data + k + i * rest / 3, MIN(rest / 3, sizeof(str[i]) - 1));
        st = (struct nvv_ipc_status) { .version = str[0], .backend = str[1], .policy = str[2], .gpus = n[0],
                                       .gpus_ready = n[1], .vgpus = n[2], .uptime_s = n[3], .definitions = n[4],
                                       .subscribers = n[5] };
        o = nvv_ipc_reply_ok(nvv_ipc_status_to_json(&st));
        if (!o || nvv_ipc_to_text(o, &want) < 0 || nvv_ipc_status_reply_text(&st, &got) < 0 || strcmp(want, got) != 0)
                abort();
        json_object_put(o);
        free(want);
        free(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct json_tokener *tok;
        json_object *any;
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
                if (nvv_ipc_format_request(&a, &text) < 0 || nvv_ipc_parse_request(text, strlen(text), &b, NULL) < 0)
                        abort();
                /* The XML is owned text: compared as text, the rest byte for byte. */
                if (!a.xml != !b.xml || (a.xml && strcmp(a.xml, b.xml) != 0))
                        abort();
                nvv_ipc_request_done(&a);
                nvv_ipc_request_done(&b);
                if (memcmp(&a, &b, sizeof(a)) != 0)
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
        if (r >= 0)
                check_text(doc);
        json_object_put(doc);
        free(msg);
        check_status(data, size);
        /* Any document json-c reads, strict or not (duplicate keys, big numbers, doubles). */
        if (size > (size_t) INT32_MAX)
                return 0;
        tok = json_tokener_new();
        if (!tok)
                return 0;
        any = json_tokener_parse_ex(tok, (const char *) data, (int) size);
        json_tokener_free(tok);
        if (any)
                check_text(any);
        json_object_put(any);
        return 0;
}
