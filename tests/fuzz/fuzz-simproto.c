/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulator socket's packet decoder: input is a sequence of packets, each preceded by a
 * 16-bit little-endian length. A whole FAULT message goes on to the fault-spec parser, as
 * the simulator's server hands it on. */
#include <stdlib.h>

#include "fuzz.h"
#include "nvv-fault.h"
#include "nvv-simproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct nvv_sock_rx rx;
        char err[256];

        nvv_simproto_rx_init(&rx, 1u << 20);
        while (size >= 2) {
                size_t n = (size_t) data[0] | (size_t) data[1] << 8;

                data += 2;
                size -= 2;
                if (n > size)
                        n = size;
                if (nvv_simproto_rx_feed(&rx, data, n, err, sizeof(err)) == 1 && rx.first.type == NVV_SIMPROTO_FAULT) {
                        struct nvv_fault *f = NULL;
                        char *msg = NULL;
                        size_t nf = 0;

                        if (nvv_fault_parse((const char *) rx.data, &f, &nf, &msg) == 0 && nf > NVV_FAULT_MAX_SPECS)
                                abort();
                        free(f);
                        free(msg);
                }
                if (rx.have > rx.cap)
                        abort();
                data += n;
                size -= n;
        }
        nvv_simproto_rx_done(&rx);
        return 0;
}
