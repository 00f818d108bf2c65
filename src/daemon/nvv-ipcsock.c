/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nvvgpud's socket protocol: the message types on the shared framing, and the client call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nvv-ipcsock.h"
#include "util.h"

static const char *const type_names[_NVV_IPCSOCK_MAX] = {
        [NVV_IPCSOCK_REQUEST] = "request",
        [NVV_IPCSOCK_REPLY] = "reply",
        [NVV_IPCSOCK_EVENT] = "event",
};

const struct nvv_sock_proto nvv_ipcsock_proto = {
        .magic = NVV_IPCSOCK_MAGIC,
        .version = NVV_IPCSOCK_VERSION,
        .n_types = _NVV_IPCSOCK_MAX,
        .type_names = type_names,
};

int nvv_ipcsock_connect(const char *path, int *ret_fd, char **reterr_msg)
{
        return nvv_sock_connect(path, ret_fd, reterr_msg);
}

int nvv_ipcsock_call(int fd, const char *request, int timeout_ms, char **ret_reply, char **reterr_msg)
{
        static uint32_t next_tag = 1;
        struct nvv_sock_header h = { .type = NVV_IPCSOCK_REQUEST, .tag = __atomic_fetch_add(&next_tag, 1, __ATOMIC_RELAXED) };
        struct nvv_sock_rx rx;
        char err[256] = "";
        int r;

        r = nvv_sock_send_msg(fd, &nvv_ipcsock_proto, &h, request, strlen(request), NVV_IPC_MAX_REQUEST, timeout_ms);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "sending the request to nvvgpud: %s", strerror(-r));
        nvv_sock_rx_init(&rx, &nvv_ipcsock_proto, NVV_IPC_MAX_REPLY);
        for (;;) {
                r = nvv_sock_recv_msg(fd, &rx, timeout_ms, err, sizeof(err));
                if (r < 0) {
                        nvv_sock_rx_done(&rx);
                        if (r == -ECONNRESET)
                                return nvv_fail_errno(r, reterr_msg, "nvvgpud closed the connection%s%s",
                                                      err[0] ? ": " : "", err);
                        if (r == -ETIMEDOUT)
                                return nvv_fail_errno(r, reterr_msg, "nvvgpud did not answer within %d ms", timeout_ms);
                        return nvv_fail_errno(r, reterr_msg, "reading nvvgpud's reply: %s", err[0] ? err : strerror(-r));
                }
                /* A refusal (too many clients, permission) comes with tag 0. */
                if (rx.first.type == NVV_IPCSOCK_REPLY && (rx.first.tag == h.tag || rx.first.tag == 0))
                        break;
        }
        if (rx.have == 0 || !rx.data) {
                nvv_sock_rx_done(&rx);
                return nvv_fail_errno(-EBADMSG, reterr_msg, "nvvgpud sent an empty reply");
        }
        /* The payload is NUL-terminated (nvv_sock_rx_feed): it is the reply, not copied. */
        *ret_reply = (char *) TAKE_PTR(rx.data);
        nvv_sock_rx_done(&rx);
        return 0;
}

int nvv_ipcsock_next_event(int fd, int timeout_ms, char **ret_event, char **reterr_msg)
{
        struct nvv_sock_rx rx;
        char err[256] = "";
        int r;

        nvv_sock_rx_init(&rx, &nvv_ipcsock_proto, NVV_IPC_MAX_REPLY);
        for (;;) {
                r = nvv_sock_recv_msg(fd, &rx, timeout_ms, err, sizeof(err));
                if (r < 0) {
                        nvv_sock_rx_done(&rx);
                        if (r == -ECONNRESET)
                                return nvv_fail_errno(r, reterr_msg, "nvvgpud ended the event stream");
                        if (r == -ETIMEDOUT)
                                return nvv_fail_errno(r, reterr_msg, "no event within %d ms", timeout_ms);
                        return nvv_fail_errno(r, reterr_msg, "reading nvvgpud's events: %s", err[0] ? err : strerror(-r));
                }
                if (rx.first.type == NVV_IPCSOCK_EVENT && rx.have > 0 && rx.data)
                        break;
        }
        *ret_event = (char *) TAKE_PTR(rx.data);
        nvv_sock_rx_done(&rx);
        return 0;
}
