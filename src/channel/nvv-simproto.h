/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The wire protocol of nvvgpu-sim's socket (AF_UNIX, SOCK_SEQPACKET): the same firmware RPC
 * bytes fwctl would carry, plus what FWCTL_INFO and the generic-netlink event stream give
 * on a real host. Each packet is a 32-byte header and at most NVV_SIMPROTO_CHUNK bytes of
 * payload; a larger payload continues in packets flagged MORE, sent back to back. All
 * numbers are little-endian. One connection carries every GPU's requests (the header names
 * the GPU); answers come in any order and are matched by tag. Documented in
 * doc/kernel-interface.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define NVV_SIMPROTO_MAGIC 0x4d53564eu /* "NVSM" */
#define NVV_SIMPROTO_VERSION 1
#define NVV_SIMPROTO_HEADER 32
#define NVV_SIMPROTO_CHUNK (60u * 1024u)
#define NVV_SIMPROTO_MAX_PAYLOAD (4u * 1024u * 1024u)
#define NVV_SIMPROTO_ALL_GPUS UINT32_MAX
#define NVV_SIMPROTO_FLAG_MORE 1u

enum nvv_simproto_type {
        NVV_SIMPROTO_HELLO = 1,        /* → INFO: the GPUs and the releases they run */
        NVV_SIMPROTO_INFO = 2,         /* JSON */
        NVV_SIMPROTO_RPC = 3,          /* gpu, tag, timeout; payload: one firmware RPC */
        NVV_SIMPROTO_REPLY = 4,        /* gpu, tag; payload: the firmware's answer */
        NVV_SIMPROTO_ERROR = 5,        /* tag; payload: errno (u32) then a message */
        NVV_SIMPROTO_SUBSCRIBE = 6,    /* gpu or ALL → ACK */
        NVV_SIMPROTO_ACK = 7,
        NVV_SIMPROTO_EVENT = 8,        /* gpu; payload: the event's RPC */
        NVV_SIMPROTO_FAULT = 9,        /* payload: a fault spec (nvvgpu-sim(8)) → ACK or ERROR */
        NVV_SIMPROTO_STATUS = 10,      /* gpu → STATUS_INFO */
        NVV_SIMPROTO_STATUS_INFO = 11, /* JSON */
        _NVV_SIMPROTO_MAX,
};

struct nvv_simproto_header {
        uint32_t magic;
        uint16_t version;
        uint16_t type;
        uint32_t gpu;
        uint32_t tag;
        uint32_t flags;
        uint32_t len;         /* payload bytes in this packet */
        uint32_t total;       /* payload bytes of the whole message */
        uint32_t timeout_ms;  /* RPC: how long the caller waits */
};

const char *nvv_simproto_type_to_string(int type);

/* Parse and check one packet's header against the bytes received. */
int nvv_simproto_parse_header(const void *pkt, size_t n, struct nvv_simproto_header *ret, char *err, size_t errlen);
void nvv_simproto_put_header(void *pkt, const struct nvv_simproto_header *h);

/* Reassembly of one message from its packets. */
struct nvv_simproto_rx {
        struct nvv_simproto_header first;
        uint8_t *data;
        size_t have, cap, max;
        bool busy;
};

void nvv_simproto_rx_init(struct nvv_simproto_rx *rx, size_t max_payload);
void nvv_simproto_rx_done(struct nvv_simproto_rx *rx);
/* Feed one packet. 1: a message is complete (rx->first, rx->data, rx->have); 0: more packets
 * follow; <0: protocol error (the rx resets). */
int nvv_simproto_rx_feed(struct nvv_simproto_rx *rx, const void *pkt, size_t n, char *err, size_t errlen);

/* Send a message over fd, split into packets (MSG_NOSIGNAL; `dontwait` drops rather than
 * blocks on a full socket). */
int nvv_simproto_send(int fd, uint16_t type, uint32_t gpu, uint32_t tag, uint32_t timeout_ms, const void *payload,
                      size_t len, bool dontwait);
/* Receive one whole message (blocking, or up to timeout_ms; <0 = forever). The payload stays
 * in rx until the next call. */
int nvv_simproto_recv(int fd, struct nvv_simproto_rx *rx, int timeout_ms, char *err, size_t errlen);
