/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"
#include "nvv-sock.h"
#include "util.h"

int (*nvv_sock_getgrouplist)(const char *user, gid_t group, gid_t *groups, int *ngroups) = getgrouplist;

static int fill_addr(const char *path, struct sockaddr_un *sa, char **reterr)
{
        *sa = (struct sockaddr_un) { .sun_family = AF_UNIX };
        if (!path || !*path)
                return nvv_fail_errno(-EINVAL, reterr, "no socket path given");
        if (strlen(path) >= sizeof(sa->sun_path))
                return nvv_fail_errno(-ENAMETOOLONG, reterr, "socket path '%s' is longer than the %zu bytes a socket address holds",
                                      path, sizeof(sa->sun_path) - 1);
        strcpy(sa->sun_path, path);
        return 0;
}

/* Is someone answering on the socket at sa? 0: no (stale); -EADDRINUSE: yes; other: cannot tell. */
static int probe(const struct sockaddr_un *sa)
{
        int fd, r = 0;

        /* Non-blocking: a live server whose backlog is full answers EAGAIN instead of making
         * the probe wait. */
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (const struct sockaddr *) sa, sizeof(*sa)) == 0)
                r = -EADDRINUSE;
        else if (errno == ECONNREFUSED || errno == ENOENT)
                r = 0;
        else if (errno == EAGAIN || errno == EINPROGRESS || errno == EPROTOTYPE)
                r = -EADDRINUSE; /* listening, busy, or a stream socket someone listens on */
        else
                r = -errno;
        close(fd);
        return r;
}

int nvv_sock_listen(const char *path, const struct nvv_sock_listen_options *o, int *ret_fd, char **reterr_msg)
{
        struct sockaddr_un sa;
        struct stat st;
        int fd, r;

        assert_return(o && ret_fd, -EINVAL);
        r = fill_addr(path, &sa, reterr_msg);
        if (r < 0)
                return r;
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return nvv_fail_errno(-EEXIST, reterr_msg, "'%s' exists and is not a socket; not replacing it", path);
                r = probe(&sa);
                if (r == -EADDRINUSE)
                        return nvv_fail_errno(r, reterr_msg, "another server is listening on %s", path);
                if (r < 0)
                        return nvv_fail_errno(r, reterr_msg, "cannot tell whether a server listens on %s: %s", path,
                                              strerror(-r));
                /* Stale: left by a server that is gone. */
                if (unlink(path) < 0 && errno != ENOENT)
                        return nvv_fail_errno(-errno, reterr_msg, "cannot remove the stale socket %s: %s", path,
                                              strerror(errno));
        } else if (errno != ENOENT)
                return nvv_fail_errno(-errno, reterr_msg, "cannot look at %s: %s", path, strerror(errno));

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return nvv_fail_errno(-errno, reterr_msg, "cannot create a socket: %s", strerror(errno));
        /* Bind in place, then set the mode and group, then listen: until listen() nobody can
         * connect (connect() is refused), so the umask's mode at bind is never a window. The
         * umask is not touched: it is the whole process's, and other threads create files. */
        if (bind(fd, (const struct sockaddr *) &sa, sizeof(sa)) < 0) {
                r = -errno;
                close(fd);
                if (r == -EADDRINUSE) /* someone bound it between the probe and here */
                        return nvv_fail_errno(r, reterr_msg, "another server is listening on %s", path);
                return nvv_fail_errno(r, reterr_msg, "cannot bind %s: %s", path, strerror(-r));
        }
        if (o->gid != (gid_t) -1 && chown(path, (uid_t) -1, o->gid) < 0) {
                r = -errno;
                goto fail;
        }
        if (chmod(path, o->mode & 07777) < 0) {
                r = -errno;
                goto fail;
        }
        if (listen(fd, o->backlog > 0 ? o->backlog : 16) < 0) {
                r = -errno;
                goto fail;
        }
        *ret_fd = fd;
        return 0;
fail:
        (void) unlink(path);
        close(fd);
        return nvv_fail_errno(r, reterr_msg, "cannot set up the socket %s: %s", path, strerror(-r));
}

const char *nvv_sock_connect_strerror(int r)
{
        switch (r) {
        case -ENOENT:
                return "no such socket (is the server running?)";
        case -ECONNREFUSED:
                return "nothing listens on it (a stale socket: the server is gone)";
        case -EACCES:
        case -EPERM:
                return "permission denied (the socket's mode, or a directory above it, does not let this user in)";
        case -ENAMETOOLONG:
                return "the path is longer than a socket address holds";
        default:
                return strerror(-r);
        }
}

int nvv_sock_connect(const char *path, int *ret_fd, char **reterr_msg)
{
        struct sockaddr_un sa;
        int fd, r;

        assert_return(ret_fd, -EINVAL);
        r = fill_addr(path, &sa, NULL);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "cannot connect to '%s': %s", path ? path : "", nvv_sock_connect_strerror(r));
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return nvv_fail_errno(-errno, reterr_msg, "cannot create a socket: %s", strerror(errno));
        for (;;) {
                if (connect(fd, (const struct sockaddr *) &sa, sizeof(sa)) == 0) {
                        *ret_fd = fd;
                        return 0;
                }
                if (errno != EINTR)
                        break;
        }
        r = -errno;
        close(fd);
        return nvv_fail_errno(r, reterr_msg, "cannot connect to '%s': %s", path, nvv_sock_connect_strerror(r));
}

int nvv_sock_accept(int listen_fd, int *ret_fd)
{
        for (;;) {
                int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

                if (fd >= 0) {
                        *ret_fd = fd;
                        return 0;
                }
                if (errno != EINTR && errno != ECONNABORTED)
                        return -errno;
        }
}

int nvv_sock_peer(int fd, struct ucred *ret)
{
        socklen_t l = sizeof(*ret);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ret, &l) < 0)
                return -errno;
        return l == sizeof(*ret) ? 0 : -EIO;
}

static bool uid_in_group(uid_t uid, gid_t primary, gid_t want)
{
        struct passwd pw, *res = NULL;
        char buf[4096];
        gid_t groups[256];
        int n = (int) ELEMENTSOF(groups);

        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
                return false;
        /* More groups than fit is -1 with n set: the first n are still filled in. */
        (void) nvv_sock_getgrouplist(pw.pw_name, primary, groups, &n);
        for (int i = 0; i < MIN(n, (int) ELEMENTSOF(groups)); i++)
                if (groups[i] == want)
                        return true;
        return false;
}

enum nvv_sock_access nvv_sock_access_of(const struct ucred *c, gid_t read_gid)
{
        if (!c)
                return NVV_SOCK_DENY;
        if (c->uid == 0)
                return NVV_SOCK_ALL;
        if (read_gid == (gid_t) -1)
                return NVV_SOCK_DENY;
        if (c->gid == read_gid || uid_in_group(c->uid, c->gid, read_gid))
                return NVV_SOCK_READ;
        return NVV_SOCK_DENY;
}

/* ---- packets ---- */

const char *nvv_sock_type_to_string(const struct nvv_sock_proto *p, int type)
{
        if (type <= 0 || type >= p->n_types)
                return NULL;
        return p->type_names ? p->type_names[type] : NULL;
}

static uint32_t le32(const uint8_t *p)
{
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
        p[2] = (uint8_t) (v >> 16);
        p[3] = (uint8_t) (v >> 24);
}

int nvv_sock_parse_header(const struct nvv_sock_proto *p, const void *pkt, size_t n, struct nvv_sock_header *h,
                          char *err, size_t errlen)
{
        const uint8_t *b = pkt;

        if (n < NVV_SOCK_HEADER) {
                nvv_errf(err, errlen, "packet of %zu bytes is shorter than the %d-byte header", n, NVV_SOCK_HEADER);
                return -EBADMSG;
        }
        *h = (struct nvv_sock_header) {
                .magic = le32(b), .version = (uint16_t) (b[4] | b[5] << 8), .type = (uint16_t) (b[6] | b[7] << 8),
                .target = le32(b + 8), .tag = le32(b + 12), .flags = le32(b + 16), .len = le32(b + 20),
                .total = le32(b + 24), .timeout_ms = le32(b + 28),
        };
        if (h->magic != p->magic) {
                nvv_errf(err, errlen, "bad magic 0x%08x", h->magic);
                return -EBADMSG;
        }
        if (h->version != p->version) {
                nvv_errf(err, errlen, "protocol version %u, expected %u", h->version, p->version);
                return -EPROTO;
        }
        if (h->type == 0 || h->type >= p->n_types) {
                nvv_errf(err, errlen, "unknown packet type %u", h->type);
                return -EBADMSG;
        }
        if (h->flags & ~NVV_SOCK_FLAG_MORE) {
                nvv_errf(err, errlen, "unknown flags 0x%x", h->flags);
                return -EBADMSG;
        }
        if (h->len > NVV_SOCK_CHUNK || (size_t) h->len != n - NVV_SOCK_HEADER) {
                nvv_errf(err, errlen, "packet claims %u payload bytes, carries %zu", h->len, n - NVV_SOCK_HEADER);
                return -EBADMSG;
        }
        return 0;
}

void nvv_sock_put_header(void *pkt, const struct nvv_sock_header *h)
{
        uint8_t *b = pkt;

        put32(b, h->magic);
        b[4] = (uint8_t) h->version;
        b[5] = (uint8_t) (h->version >> 8);
        b[6] = (uint8_t) h->type;
        b[7] = (uint8_t) (h->type >> 8);
        put32(b + 8, h->target);
        put32(b + 12, h->tag);
        put32(b + 16, h->flags);
        put32(b + 20, h->len);
        put32(b + 24, h->total);
        put32(b + 28, h->timeout_ms);
}

void nvv_sock_rx_init(struct nvv_sock_rx *rx, const struct nvv_sock_proto *p, size_t max_payload)
{
        *rx = (struct nvv_sock_rx) { .proto = p, .max = max_payload, .timeo_fd = -1 };
}

void nvv_sock_rx_done(struct nvv_sock_rx *rx)
{
        free(rx->data);
        rx->data = NULL;
        rx->cap = rx->have = 0;
        rx->busy = false;
        rx->skipping = false;
        rx->timeo_fd = -1;
}

static const char *type_name(const struct nvv_sock_proto *p, int type)
{
        return nvv_sock_type_to_string(p, type) ?: "unnamed";
}

int nvv_sock_rx_feed(struct nvv_sock_rx *rx, const void *pkt, size_t n, char *err, size_t errlen)
{
        struct nvv_sock_header h;
        int r;

        r = nvv_sock_parse_header(rx->proto, pkt, n, &h, err, errlen);
        if (r < 0)
                goto fail;
        if (rx->skipping) {
                if (h.type == rx->skip.type && h.tag == rx->skip.tag && h.target == rx->skip.target &&
                    h.total == rx->skip.total) {
                        rx->skipping = (h.flags & NVV_SOCK_FLAG_MORE) != 0;
                        return 0;
                }
                rx->skipping = false;
        }
        if (!rx->busy) {
                if (h.total > rx->max) {
                        nvv_errf(err, errlen, "message of %u bytes is larger than the %zu accepted", h.total, rx->max);
                        if (h.flags & NVV_SOCK_FLAG_MORE) {
                                rx->skipping = true;
                                rx->skip = h;
                        }
                        r = -E2BIG;
                        goto fail;
                }
                if (h.len > h.total || (!(h.flags & NVV_SOCK_FLAG_MORE) && h.len != h.total)) {
                        nvv_errf(err, errlen, "packet of %u bytes does not fit a message of %u", h.len, h.total);
                        r = -EBADMSG;
                        goto fail;
                }
                if ((size_t) h.total + 1 > rx->cap) {
                        uint8_t *d = realloc(rx->data, (size_t) h.total + 1);

                        if (!d) {
                                nvv_errf(err, errlen, "out of memory for a message of %u bytes", h.total);
                                r = -ENOMEM;
                                goto fail;
                        }
                        rx->data = d;
                        rx->cap = (size_t) h.total + 1;
                }
                rx->first = h;
                rx->have = 0;
                rx->busy = true;
        } else if (h.type != rx->first.type || h.tag != rx->first.tag || h.target != rx->first.target ||
                   h.total != rx->first.total) {
                nvv_errf(err, errlen, "a packet of type %s arrived inside a %s message", type_name(rx->proto, h.type),
                         type_name(rx->proto, rx->first.type));
                r = -EPROTO;
                goto fail;
        }
        if (h.len > rx->first.total - rx->have) {
                nvv_errf(err, errlen, "packets carry more than the %u bytes announced", rx->first.total);
                r = -EBADMSG;
                goto fail;
        }
        memcpy(rx->data + rx->have, (const uint8_t *) pkt + NVV_SOCK_HEADER, h.len);
        rx->have += h.len;
        if (h.flags & NVV_SOCK_FLAG_MORE) {
                if (rx->have == rx->first.total) {
                        nvv_errf(err, errlen, "packet flagged MORE after the last byte");
                        r = -EBADMSG;
                        goto fail;
                }
                return 0;
        }
        if (rx->have != rx->first.total) {
                nvv_errf(err, errlen, "message ended after %zu of %u bytes", rx->have, rx->first.total);
                r = -EBADMSG;
                goto fail;
        }
        rx->data[rx->have] = '\0'; /* text payloads are NUL-terminated for the parser's sake */
        rx->busy = false;
        return 1;
fail:
        rx->busy = false;
        rx->have = 0;
        return r;
}

static uint64_t deadline_of(int timeout_ms)
{
        return timeout_ms >= 0 ? now_ns() + (uint64_t) timeout_ms * 1000000u : UINT64_MAX;
}

/* Milliseconds to the deadline for poll(): -1 forever, 0 passed. */
static int ms_left(uint64_t deadline)
{
        uint64_t now;

        if (deadline == UINT64_MAX)
                return -1;
        now = now_ns();
        if (now >= deadline)
                return 0;
        return (int) MIN((deadline - now + 999999) / 1000000, (uint64_t) INT32_MAX);
}

/* One packet from `n` pieces (header and payload: sendmsg() gathers them, so the payload is
 * neither copied nor allocated for); the first try does not wait, which is all a reader
 * that keeps up ever costs: one system call. */
static int send_until(int fd, const struct iovec *iov, size_t n, size_t len, uint64_t deadline, bool may_wait)
{
        struct msghdr m = { .msg_iov = (struct iovec *) iov, .msg_iovlen = n };

        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                ssize_t k = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
                int wait;

                if (k >= 0)
                        return (size_t) k == len ? 0 : -EIO;
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                if (!may_wait)
                        return -EAGAIN;
                wait = ms_left(deadline);
                if (wait == 0)
                        return -ETIMEDOUT;
                if (poll(&pfd, 1, wait) < 0 && errno != EINTR)
                        return -errno;
        }
}

int nvv_sock_send_timeout(int fd, const void *buf, size_t len, int timeout_ms)
{
        struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };

        return send_until(fd, &iov, 1, len, deadline_of(timeout_ms), timeout_ms != 0);
}

int nvv_sock_send_msg(int fd, const struct nvv_sock_proto *p, const struct nvv_sock_header *hh, const void *payload,
                      size_t len, size_t max_payload, int timeout_ms)
{
        const uint8_t *src = payload;
        uint64_t deadline = deadline_of(timeout_ms);
        size_t off = 0;
        int r;

        if (len > max_payload || len > UINT32_MAX)
                return -E2BIG;
        do {
                size_t chunk = MIN(len - off, (size_t) NVV_SOCK_CHUNK);
                struct nvv_sock_header h = {
                        .magic = p->magic, .version = p->version, .type = hh->type, .target = hh->target, .tag = hh->tag,
                        .flags = off + chunk < len ? NVV_SOCK_FLAG_MORE : 0, .len = (uint32_t) chunk,
                        .total = (uint32_t) len, .timeout_ms = hh->timeout_ms,
                };
                uint8_t head[NVV_SOCK_HEADER];
                struct iovec iov[2] = {
                        { .iov_base = head, .iov_len = sizeof(head) },
                        { .iov_base = chunk ? (void *) (src + off) : NULL, .iov_len = chunk },
                };

                nvv_sock_put_header(head, &h);
                r = send_until(fd, iov, chunk ? 2 : 1, NVV_SOCK_HEADER + chunk, deadline, timeout_ms != 0 || off > 0);
                if (r < 0)
                        return r;
                off += chunk;
        } while (off < len);
        return 0;
}

/* recv() gave 0 bytes: the end of the connection, or a zero-length packet? The peer has
 * shut down writing (POLLRDHUP, or POLLHUP when it closed) and nothing but empty packets is
 * queued: the end. Otherwise an empty packet, which carries nothing and is skipped. */
static bool at_eof(int fd)
{
        struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };
        int queued = 0;

        if (poll(&pfd, 1, 0) < 0)
                return false;
        if (!(pfd.revents & (POLLRDHUP | POLLHUP)))
                return false;
        if (ioctl(fd, FIONREAD, &queued) < 0)
                return true;
        return queued == 0;
}

/* Make the socket's SO_RCVTIMEO timeout_ms (<0: none), unless rx set it so on this fd last. */
static int set_recv_timeout(int fd, struct nvv_sock_rx *rx, int timeout_ms)
{
        struct timeval tv = {};

        if (rx->timeo_fd == fd && rx->timeo_ms == timeout_ms)
                return 0;
        if (timeout_ms > 0)
                tv = (struct timeval) { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
                rx->timeo_fd = -1;
                return -errno;
        }
        rx->timeo_fd = fd;
        rx->timeo_ms = timeout_ms;
        return 0;
}

int nvv_sock_recv_msg(int fd, struct nvv_sock_rx *rx, int timeout_ms, char *err, size_t errlen)
{
        static _Thread_local uint8_t pkt[NVV_SOCK_HEADER + NVV_SOCK_CHUNK + 1];
        uint64_t deadline = deadline_of(timeout_ms);
        bool reset = false, polled = false;
        /* The first wait is a blocking recv() that SO_RCVTIMEO bounds by timeout_ms: a message
         * that comes later (the common case: a reply, the next request) costs one system call,
         * not recv(), poll() and recv() again. Any later wait (the next packet of a long
         * message, after an empty packet, EINTR, or an O_NONBLOCK socket) is a poll() up to
         * the deadline, so the whole call still ends within timeout_ms. */
        bool block = timeout_ms != 0 && set_recv_timeout(fd, rx, timeout_ms) == 0;

        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                ssize_t n;
                int r;

                if (polled) {
                        r = poll(&pfd, 1, ms_left(deadline));
                        if (r < 0) {
                                if (errno == EINTR)
                                        continue;
                                nvv_errf(err, errlen, "cannot wait on the socket: %s", strerror(errno));
                                return -errno;
                        }
                        if (r == 0) {
                                nvv_errf(err, errlen, "no answer within %d ms", timeout_ms);
                                return -ETIMEDOUT;
                        }
                }
                n = recv(fd, pkt, sizeof(pkt), MSG_TRUNC | (block ? 0 : MSG_DONTWAIT));
                block = false;
                /* EAGAIN after a blocking recv(): SO_RCVTIMEO ran out (poll() finds the
                 * deadline passed) or the socket does not block. */
                polled = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
                if (n < 0) {
                        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                                continue;
                        /* A peer that closed with our packets unread reports ECONNRESET once,
                         * ahead of what it sent before closing: read that first. */
                        if (errno == ECONNRESET && !reset) {
                                reset = true;
                                continue;
                        }
                        r = -errno;
                        nvv_errf(err, errlen, "cannot read from the socket: %s", strerror(-r));
                        return r == -EPIPE ? -ECONNRESET : r;
                }
                if (n == 0) {
                        if (at_eof(fd)) {
                                nvv_errf(err, errlen, "the other side closed the connection");
                                return -ECONNRESET;
                        }
                        continue;
                }
                if ((size_t) n > sizeof(pkt) - 1) {
                        nvv_errf(err, errlen, "packet of %zd bytes is larger than allowed", n);
                        rx->busy = false;
                        return -EBADMSG;
                }
                r = nvv_sock_rx_feed(rx, pkt, (size_t) n, err, errlen);
                if (r != 0)
                        return r;
        }
}

void nvv_sock_refuse(int fd, const struct nvv_sock_proto *p, uint16_t type, const void *payload, size_t len)
{
        struct nvv_sock_header h = { .type = type };
        uint8_t junk[NVV_SOCK_HEADER];

        if (fd < 0)
                return;
        (void) nvv_sock_send_msg(fd, p, &h, payload, len, len, NVV_SOCK_REFUSE_TIMEOUT_MS);
        /* What the client sent already is read away: closing a socket with unread data makes
         * the client's next read ECONNRESET, ahead of the message. */
        while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT | MSG_TRUNC) > 0)
                ;
        /* Shut down first so the client sees the message, then the end, even if a copy of the
         * fd lingers. */
        (void) shutdown(fd, SHUT_RDWR);
        close(fd);
}
