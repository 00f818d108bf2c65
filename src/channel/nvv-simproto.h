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
#include "nvv-sock.h"

#define NVV_SIMPROTO_MAGIC 0x4d53564eu /* "NVSM" */
#define NVV_SIMPROTO_VERSION 1
#define NVV_SIMPROTO_HEADER NVV_SOCK_HEADER
#define NVV_SIMPROTO_CHUNK NVV_SOCK_CHUNK
#define NVV_SIMPROTO_MAX_PAYLOAD (4u * 1024u * 1024u)
#define NVV_SIMPROTO_ALL_GPUS UINT32_MAX
#define NVV_SIMPROTO_FLAG_MORE NVV_SOCK_FLAG_MORE

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
        /* The sysfs half of the kernel contract (doc/kernel-interface.md §3, nvv-sysfsmsg.h). */
        NVV_SIMPROTO_SYSFS_SUBSCRIBE = 12, /* become the manager → ACK, or ERROR EBUSY */
        NVV_SIMPROTO_SYSFS_REQUEST = 13,   /* sim → manager; gpu, tag = request id; JSON */
        NVV_SIMPROTO_SYSFS_ANSWER = 14,    /* manager → sim; JSON {id, errno} → ACK, or ERROR ETIMEDOUT */
        NVV_SIMPROTO_REGISTER_TYPES = 15,  /* manager → sim; gpu; JSON {types} → ACK or ERROR */
        NVV_SIMPROTO_UEVENT = 16,          /* sim → subscribers; gpu; JSON {ACTION, DEVPATH, ...} */
        NVV_SIMPROTO_UEVENT_SUBSCRIBE = 17, /* uevents only → ACK */
        NVV_SIMPROTO_HOST_RPC = 18,        /* gpu, tag, timeout; u32 gfid, u32 message → HOST_RPC_RESULT or ERROR */
        NVV_SIMPROTO_HOST_RPC_RESULT = 19, /* gpu, tag; u32 result code */
        _NVV_SIMPROTO_MAX,
};

/* The framing is nvv-sock's (header, chunks, reassembly); this is the simulator's protocol
 * in it. The header's `target` is the GPU index. */
extern const struct nvv_sock_proto nvv_simproto;

const char *nvv_simproto_type_to_string(int type);

/* Parse and check one packet's header against the bytes received. */
int nvv_simproto_parse_header(const void *pkt, size_t n, struct nvv_sock_header *ret, char *err, size_t errlen);
void nvv_simproto_put_header(void *pkt, const struct nvv_sock_header *h);

/* Reassembly of one message from its packets (nvv_sock_rx_feed). */
void nvv_simproto_rx_init(struct nvv_sock_rx *rx, size_t max_payload);
void nvv_simproto_rx_done(struct nvv_sock_rx *rx);
int nvv_simproto_rx_feed(struct nvv_sock_rx *rx, const void *pkt, size_t n, char *err, size_t errlen);

/* Send a message over fd, split into packets, within send_timeout_ms (<0: forever; 0: only
 * if the socket has room now). -ETIMEDOUT: the peer does not read; drop it. */
int nvv_simproto_send(int fd, uint16_t type, uint32_t gpu, uint32_t tag, uint32_t timeout_ms, const void *payload,
                      size_t len, int send_timeout_ms);
/* Receive one whole message (up to timeout_ms; <0 = forever); nvv_sock_recv_msg. The payload
 * stays in rx until the next call. */
int nvv_simproto_recv(int fd, struct nvv_sock_rx *rx, int timeout_ms, char *err, size_t errlen);
