/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Everything a firmware (or a capture) can hand us: queue elements, RPCs, replies to any
 * command, requests, events. Byte 0 picks the release, byte 1 the command to read a reply as;
 * the rest is the message.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "nvv-cmd.h"
#include "nvv-dissect.h"
#include "nvv-fwabi.h"
#include "nvv-fwdb.h"
#include "nvv-msgq.h"
#include "nvv-rpc.h"

static struct nvv_fwdb *db;
static union nvv_cmd_any *scratch;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        char *msg = NULL;

        scratch = malloc(sizeof(*scratch));
        if (!scratch || nvv_fwdb_new(&db) < 0 || nvv_fwdb_load_default(db, &msg) < 0 || nvv_fwdb_count(db) == 0) {
                fprintf(stderr, "fuzz-rpc: cannot load release descriptions from %s: %s\n", nvv_fwdb_default_dir(),
                        msg ? msg : "none found");
                exit(1);
        }
        free(msg);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const struct nvv_fwabi *fw;
        struct nvv_reasm *ra = NULL;
        struct nvv_rpc_request req;
        json_object *o = NULL;
        char err[256];
        size_t off;
        int cmd, event;
        uint32_t fs, num;

        if (!db)
                LLVMFuzzerInitialize(NULL, NULL);
        if (size < 2)
                return 0;
        fw = nvv_fwdb_get(db, data[0] % nvv_fwdb_count(db));
        cmd = data[1] % _NVV_CMD_MAX;
        data += 2;
        size -= 2;

        if (nvv_dissect_bytes(fw, data, size, &o, err, sizeof(err)) == 0)
                json_object_put(o);

        /* As a stream of framed messages through the reassembler. */
        if (nvv_reasm_new(fw, &ra) == 0) {
                for (off = 0; off < size;) {
                        uint32_t el;
                        const uint8_t *r;
                        size_t rl;

                        if (nvv_msgq_message_elements(fw, data + off, size - off, &el, err, sizeof(err)) < 0)
                                break;
                        if (nvv_msgq_unframe(fw, data + off, size - off, UINT32_MAX, &r, &rl, err, sizeof(err)) == 0 &&
                            nvv_reasm_feed(ra, r, rl, err, sizeof(err)) == 1) {
                                size_t l;
                                const uint8_t *full = nvv_reasm_data(ra, &l);

                                (void) nvv_rpc_parse_request(fw, full, l, &req, scratch, err, sizeof(err));
                        }
                        off += (size_t) el * fw->queue.element_size;
                }
                nvv_reasm_free(ra);
        }

        /* As a bare RPC: a reply, a request, an event. */
        {
                struct nvv_rpc_view v;

                if (nvv_rpc_view(fw, data, size, &v, err, sizeof(err)) == 0)
                        (void) nvv_rpc_decode_reply(fw, cmd, data, size, v.sequence, scratch, &fs, err, sizeof(err));
        }
        (void) nvv_rpc_parse_request(fw, data, size, &req, scratch, err, sizeof(err));
        (void) nvv_rpc_decode_event(fw, data, size, &event, &num, scratch, err, sizeof(err));
        return 0;
}
