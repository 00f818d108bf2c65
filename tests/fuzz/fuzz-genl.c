/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Generic netlink event messages as the kernel would send them: any bytes as a netlink
 * message through the parser and its attribute policy. */
#include <linux/netlink.h>
#include <netlink/msg.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nvv-genl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct nvv_genl_event ev;
        struct nlmsghdr *nlh;
        struct nl_msg *msg;
        char err[256];

        if (size < NLMSG_HDRLEN || size > 65536)
                return 0;
        nlh = calloc(1, NLMSG_ALIGN(size));
        if (!nlh)
                return 0;
        memcpy(nlh, data, size);
        /* The kernel guarantees nlmsg_len fits what was received; so does recvmsgs. */
        if (nlh->nlmsg_len > size || nlh->nlmsg_len < NLMSG_HDRLEN) {
                free(nlh);
                return 0;
        }
        msg = nlmsg_convert(nlh);
        if (msg) {
                if (nvv_genl_parse(msg, &ev, err, sizeof(err)) == 0 && ev.len > 65536)
                        abort();
                nlmsg_free(msg);
        }
        free(nlh);
        return 0;
}
