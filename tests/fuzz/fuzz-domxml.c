/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The domain XML the libvirt hook reads on stdin: any bytes give what the domain asks for or
 * one clear one-line error, never a crash; what parses is within the limits, and the
 * vm-prepare request built from it is one nvvgpud's parser takes, with the same contents. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nvv-domxml.h"
#include "nvv-hook.h"
#include "nvv-ipc.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct nvv_domxml dx;
        struct nvv_ipc_request q;
        char *msg = NULL, *text = NULL;
        char spec[NVV_DOMXML_SPEC_MAX];
        unsigned sum = 0;
        int r;

        r = nvv_domxml_parse((const char *) data, size, &dx, &msg);
        /* The hook's shortcut never skips a document that names something. */
        if (r >= 0 && !nvv_domxml_may_want_vgpus((const char *) data, size) && (dx.n_mdevs || dx.n_pci || dx.n_requests))
                abort();
        if (r < 0) {
                if (r != -ENOMEM && (!msg || strchr(msg, '\n')))
                        abort(); /* every refusal says why, in one line */
                free(msg);
                return 0;
        }
        if (dx.n_mdevs > NVV_DOMXML_MAX_MDEVS || dx.n_requests > NVV_DOMXML_MAX_REQUESTS || dx.n_vgpus > NVV_DOMXML_MAX_VGPUS)
                abort();
        for (size_t i = 0; i < dx.n_requests; i++) {
                if (dx.requests[i].count < 1)
                        abort();
                sum += dx.requests[i].count;
        }
        if (sum != dx.n_vgpus || nvv_domxml_request_spec(&dx, spec, sizeof(spec)) < 0)
                abort();
        if (nvv_hook_prepare_request("fuzz", &dx, &text, NULL) < 0)
                abort();
        if (nvv_ipc_parse_request(text, strlen(text), &q, &msg) < 0) {
                abort(); /* nvvgpud would refuse what the hook sends */
        }
        if (q.method != NVV_IPC_VM_PREPARE || q.n_uuids != dx.n_mdevs || !streq(q.spec, spec) || !streq(q.vm_uuid, dx.uuid))
                abort();
        for (size_t i = 0; i < dx.n_mdevs; i++)
                if (!streq(q.uuids[i], dx.mdevs[i]))
                        abort();
        if (q.n_pci != dx.n_pci || dx.n_pci > NVV_DOMXML_MAX_PCI)
                abort();
        for (size_t i = 0; i < dx.n_pci; i++)
                if (!streq(q.pci[i], dx.pci[i]))
                        abort();
        nvv_ipc_request_done(&q);
        free(text);
        return 0;
}
