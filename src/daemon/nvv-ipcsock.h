/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * nvvgpud's socket protocol on the shared framing (nvv-sock.h): a client sends REQUEST
 * messages holding one JSON request each (nvv-ipc.h) and reads one REPLY per request, in
 * order; the tag of a reply is its request's.
 */

#include "nvv-ipc.h"
#include "nvv-sock.h"

#define NVV_IPCSOCK_MAGIC 0x4447564eu /* "NVGD" */
#define NVV_IPCSOCK_VERSION 1
#define NVV_IPCSOCK_DEFAULT_PATH "/run/nvvgpu/nvvgpud.sock"

enum nvv_ipcsock_type {
        NVV_IPCSOCK_REQUEST = 1,
        NVV_IPCSOCK_REPLY = 2,
        NVV_IPCSOCK_EVENT = 3,          /* after a "subscribe" reply: one event (JSON) each */
        _NVV_IPCSOCK_MAX,
};

extern const struct nvv_sock_proto nvv_ipcsock_proto;

/* The client side: connect, send one request, read its reply (the JSON text, caller frees).
 * timeout_ms bounds the wait for the reply (<0: forever). */
int nvv_ipcsock_connect(const char *path, int *ret_fd, char **reterr_msg);
int nvv_ipcsock_call(int fd, const char *request, int timeout_ms, char **ret_reply, char **reterr_msg);
/* After a "subscribe" call: the next event (its JSON text, caller frees), waiting up to
 * timeout_ms (<0: forever). -ECONNRESET when nvvgpud ended the stream. */
int nvv_ipcsock_next_event(int fd, int timeout_ms, char **ret_event, char **reterr_msg);
