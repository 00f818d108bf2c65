/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The one socket helper of nvvgpu: AF_UNIX SOCK_SEQPACKET servers and clients (the
 * simulator's, the daemon's), and the packet framing their protocols share. A protocol is
 * a magic, a version and a range of message types (struct nvv_sock_proto); on the wire each
 * packet is a 32-byte header and at most NVV_SOCK_CHUNK bytes of payload, a larger message
 * continuing in packets flagged MORE, sent back to back. All numbers are little-endian.
 *
 * Rules every server here follows:
 *  - a live socket is never unlinked (nvv_sock_listen probes it first);
 *  - the socket's mode is the one asked for, never the umask's;
 *  - a client over the server's limit is told so and closed (nvv_sock_refuse), not dropped
 *    silently;
 *  - no send blocks forever: nvv_sock_send_msg takes a deadline, and a client that does not
 *    read within it is dropped by the caller (the stream may hold half a message);
 *  - a zero-length packet is not end of connection: nvv_sock_recv_msg skips it, and takes
 *    0 from recv() for EOF only when the peer has shut down writing and nothing is queued.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define NVV_SOCK_HEADER 32
#define NVV_SOCK_CHUNK (60u * 1024u)
#define NVV_SOCK_FLAG_MORE 1u
/* How long a server waits to tell a client it is refused before closing it anyway. */
#define NVV_SOCK_REFUSE_TIMEOUT_MS 200

/* ---- listening, connecting, peers ---- */

struct nvv_sock_listen_options {
        mode_t mode;          /* the socket's permissions, e.g. 0600; set explicitly, never the umask's */
        gid_t gid;            /* the socket's group; (gid_t) -1: keep the creator's */
        int backlog;          /* <= 0: 16 */
};

/* Bind and listen on `path` (SOCK_SEQPACKET, SOCK_CLOEXEC). A path longer than sun_path is
 * -ENAMETOOLONG; a path that exists and is not a socket is -EEXIST (never unlinked); a
 * socket someone still answers on is -EADDRINUSE ("another server is listening on PATH");
 * only a stale socket (connect() refused) is replaced. *reterr_msg says which. */
int nvv_sock_listen(const char *path, const struct nvv_sock_listen_options *o, int *ret_fd, char **reterr_msg);
/* Connect to `path` (SOCK_SEQPACKET, SOCK_CLOEXEC). *reterr_msg is
 * "cannot connect to 'PATH': " and nvv_sock_connect_strerror(r). */
int nvv_sock_connect(const char *path, int *ret_fd, char **reterr_msg);
/* The reason a connect failed, for users: ENOENT "no such socket (is the server running?)",
 * ECONNREFUSED "nothing listens on it (a stale socket)", EACCES "permission denied ...". */
const char *nvv_sock_connect_strerror(int r);

/* accept4() with SOCK_CLOEXEC, retried on EINTR and ECONNABORTED. -errno on failure.
 *
 * A server bounds its clients itself: it accepts, and one over its limit is refused with
 * a message, in the server's protocol, and closed:
 *
 *         r = nvv_sock_accept(lfd, &fd);
 *         if (r >= 0 && n_clients >= LIMIT) {
 *                 snprintf(msg, sizeof(msg), "too many clients (%d); try again later", LIMIT);
 *                 nvv_sock_refuse(fd, &proto, ERROR_TYPE, msg_payload, msg_len);   (closes fd)
 *         }
 *
 * so the client reads why, rather than a bare end of connection. */
int nvv_sock_accept(int listen_fd, int *ret_fd);

/* The peer's credentials (SO_PEERCRED, taken at connect()). */
int nvv_sock_peer(int fd, struct ucred *ret);

enum nvv_sock_access {
        NVV_SOCK_DENY,
        NVV_SOCK_READ,
        NVV_SOCK_ALL,
};
/* What a peer may do: uid 0 everything; a member of read_gid (its primary gid, or a
 * supplementary group of its uid's user) read; anyone else nothing. read_gid (gid_t) -1:
 * no reading group. */
enum nvv_sock_access nvv_sock_access_of(const struct ucred *c, gid_t read_gid);
/* The group lookup nvv_sock_access_of uses (getgrouplist(3) by default); tests replace it. */
extern int (*nvv_sock_getgrouplist)(const char *user, gid_t group, gid_t *groups, int *ngroups);

/* ---- packets ---- */

struct nvv_sock_proto {
        uint32_t magic;
        uint16_t version;
        uint16_t n_types;                  /* valid message types: 1 .. n_types - 1 */
        const char *const *type_names;     /* n_types entries, for messages */
};

struct nvv_sock_header {
        uint32_t magic;
        uint16_t version;
        uint16_t type;
        uint32_t target;      /* the protocol's: the simulator's GPU index */
        uint32_t tag;         /* matches an answer to its request */
        uint32_t flags;
        uint32_t len;         /* payload bytes in this packet */
        uint32_t total;       /* payload bytes of the whole message */
        uint32_t timeout_ms;  /* a request's: how long its caller waits */
};

/* The type's name, or NULL when the protocol has no such type. */
const char *nvv_sock_type_to_string(const struct nvv_sock_proto *p, int type);

/* Parse and check one packet's header against the bytes received. */
int nvv_sock_parse_header(const struct nvv_sock_proto *p, const void *pkt, size_t n, struct nvv_sock_header *ret,
                          char *err, size_t errlen);
void nvv_sock_put_header(void *pkt, const struct nvv_sock_header *h);

/* Reassembly of one message from its packets. */
struct nvv_sock_rx {
        const struct nvv_sock_proto *proto;
        struct nvv_sock_header first;
        uint8_t *data;        /* NUL-terminated after `have` bytes, for text payloads */
        size_t have, cap, max;
        bool busy;
        /* The rest of a message refused for its size: its packets are dropped quietly, so
         * the peer hears of the refusal once, not once per packet. */
        bool skipping;
        struct nvv_sock_header skip;
        /* The SO_RCVTIMEO nvv_sock_recv_msg last set, and on which fd (-1: none), so that a
         * connection waiting with the same timeout each time sets it once. */
        int timeo_fd, timeo_ms;
};

void nvv_sock_rx_init(struct nvv_sock_rx *rx, const struct nvv_sock_proto *p, size_t max_payload);
void nvv_sock_rx_done(struct nvv_sock_rx *rx);
/* Feed one packet. 1: a message is complete (rx->first, rx->data, rx->have); 0: more packets
 * follow; <0: protocol error (the rx resets). */
int nvv_sock_rx_feed(struct nvv_sock_rx *rx, const void *pkt, size_t n, char *err, size_t errlen);

/* Send one buffer as one packet, waiting at most timeout_ms for room (<0: forever; 0: not
 * at all). -ETIMEDOUT when the peer does not read; -EAGAIN when timeout_ms is 0 and the
 * socket is full; MSG_NOSIGNAL, so a gone peer is -EPIPE. */
int nvv_sock_send_timeout(int fd, const void *buf, size_t len, int timeout_ms);
/* Send a message (h: type, target, tag, timeout_ms; the rest is filled in), split into
 * packets, all within timeout_ms (<0: forever). Nothing is sent when the first packet finds
 * no room in time; after a later packet's -ETIMEDOUT the stream holds half a message and the
 * connection must be dropped. -E2BIG beyond max_payload. */
int nvv_sock_send_msg(int fd, const struct nvv_sock_proto *p, const struct nvv_sock_header *h, const void *payload,
                      size_t len, size_t max_payload, int timeout_ms);
/* Receive one whole message (up to timeout_ms; <0: forever). The payload stays in rx until
 * the next call. 1: a message; -ECONNRESET: the peer closed or shut down writing;
 * -ETIMEDOUT; -EBADMSG/-EPROTO/-E2BIG: a bad packet (the connection is still usable).
 * err always says what happened on failure.
 *
 * The wait is a blocking recv() bounded by the socket's SO_RCVTIMEO, which this sets to
 * timeout_ms (one system call per message where recv() and poll() took three). rx remembers
 * what it set, so: an rx reads one connection at a time (nvv_sock_rx_done or _init before
 * another socket gets the same fd number), and nobody else sets SO_RCVTIMEO on that socket
 * or receives on it without MSG_DONTWAIT. */
int nvv_sock_recv_msg(int fd, struct nvv_sock_rx *rx, int timeout_ms, char *err, size_t errlen);

/* Tell a refused client why (one message of `type`, sent within NVV_SOCK_REFUSE_TIMEOUT_MS)
 * and close fd. */
void nvv_sock_refuse(int fd, const struct nvv_sock_proto *p, uint16_t type, const void *payload, size_t len);
