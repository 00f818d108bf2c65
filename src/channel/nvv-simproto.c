/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nvv-simproto.h"
#include "util.h"

static const char *const type_names[_NVV_SIMPROTO_MAX] = {
        [NVV_SIMPROTO_HELLO] = "hello",       [NVV_SIMPROTO_INFO] = "info",     [NVV_SIMPROTO_RPC] = "rpc",
        [NVV_SIMPROTO_REPLY] = "reply",       [NVV_SIMPROTO_ERROR] = "error",   [NVV_SIMPROTO_SUBSCRIBE] = "subscribe",
        [NVV_SIMPROTO_ACK] = "ack",           [NVV_SIMPROTO_EVENT] = "event",   [NVV_SIMPROTO_FAULT] = "fault",
        [NVV_SIMPROTO_STATUS] = "status",     [NVV_SIMPROTO_STATUS_INFO] = "status-info",
};

const char *nvv_simproto_type_to_string(int type)
{
        if (type <= 0 || type >= _NVV_SIMPROTO_MAX)
                return NULL;
        return type_names[type];
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

int nvv_simproto_parse_header(const void *pkt, size_t n, struct nvv_simproto_header *h, char *err, size_t errlen)
{
        const uint8_t *p = pkt;

        if (n < NVV_SIMPROTO_HEADER) {
                nvv_errf(err, errlen, "packet of %zu bytes is shorter than the %d-byte header", n, NVV_SIMPROTO_HEADER);
                return -EBADMSG;
        }
        *h = (struct nvv_simproto_header) {
                .magic = le32(p), .version = (uint16_t) (p[4] | p[5] << 8), .type = (uint16_t) (p[6] | p[7] << 8),
                .gpu = le32(p + 8), .tag = le32(p + 12), .flags = le32(p + 16), .len = le32(p + 20),
                .total = le32(p + 24), .timeout_ms = le32(p + 28),
        };
        if (h->magic != NVV_SIMPROTO_MAGIC) {
                nvv_errf(err, errlen, "bad magic 0x%08x", h->magic);
                return -EBADMSG;
        }
        if (h->version != NVV_SIMPROTO_VERSION) {
                nvv_errf(err, errlen, "protocol version %u, expected %u", h->version, NVV_SIMPROTO_VERSION);
                return -EPROTO;
        }
        if (!nvv_simproto_type_to_string(h->type)) {
                nvv_errf(err, errlen, "unknown packet type %u", h->type);
                return -EBADMSG;
        }
        if (h->flags & ~NVV_SIMPROTO_FLAG_MORE) {
                nvv_errf(err, errlen, "unknown flags 0x%x", h->flags);
                return -EBADMSG;
        }
        if (h->len > NVV_SIMPROTO_CHUNK || (size_t) h->len != n - NVV_SIMPROTO_HEADER) {
                nvv_errf(err, errlen, "packet claims %u payload bytes, carries %zu", h->len, n - NVV_SIMPROTO_HEADER);
                return -EBADMSG;
        }
        return 0;
}

void nvv_simproto_put_header(void *pkt, const struct nvv_simproto_header *h)
{
        uint8_t *p = pkt;

        put32(p, h->magic);
        p[4] = (uint8_t) h->version;
        p[5] = (uint8_t) (h->version >> 8);
        p[6] = (uint8_t) h->type;
        p[7] = (uint8_t) (h->type >> 8);
        put32(p + 8, h->gpu);
        put32(p + 12, h->tag);
        put32(p + 16, h->flags);
        put32(p + 20, h->len);
        put32(p + 24, h->total);
        put32(p + 28, h->timeout_ms);
}

void nvv_simproto_rx_init(struct nvv_simproto_rx *rx, size_t max_payload)
{
        *rx = (struct nvv_simproto_rx) { .max = max_payload };
}

void nvv_simproto_rx_done(struct nvv_simproto_rx *rx)
{
        free(rx->data);
        rx->data = NULL;
        rx->cap = rx->have = 0;
        rx->busy = false;
}

int nvv_simproto_rx_feed(struct nvv_simproto_rx *rx, const void *pkt, size_t n, char *err, size_t errlen)
{
        struct nvv_simproto_header h;
        int r;

        r = nvv_simproto_parse_header(pkt, n, &h, err, errlen);
        if (r < 0)
                goto fail;
        if (!rx->busy) {
                if (h.total > rx->max) {
                        nvv_errf(err, errlen, "message of %u bytes is larger than the %zu accepted", h.total, rx->max);
                        r = -E2BIG;
                        goto fail;
                }
                if (h.len > h.total || (!(h.flags & NVV_SIMPROTO_FLAG_MORE) && h.len != h.total)) {
                        nvv_errf(err, errlen, "packet of %u bytes does not fit a message of %u", h.len, h.total);
                        r = -EBADMSG;
                        goto fail;
                }
                if ((size_t) h.total + 1 > rx->cap) {
                        uint8_t *d = realloc(rx->data, (size_t) h.total + 1);

                        if (!d) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        rx->data = d;
                        rx->cap = (size_t) h.total + 1;
                }
                rx->first = h;
                rx->have = 0;
                rx->busy = true;
        } else if (h.type != rx->first.type || h.tag != rx->first.tag || h.gpu != rx->first.gpu ||
                   h.total != rx->first.total) {
                nvv_errf(err, errlen, "a packet of type %s arrived inside a %s message", nvv_simproto_type_to_string(h.type),
                     nvv_simproto_type_to_string(rx->first.type));
                r = -EPROTO;
                goto fail;
        }
        if (h.len > rx->first.total - rx->have) {
                nvv_errf(err, errlen, "packets carry more than the %u bytes announced", rx->first.total);
                r = -EBADMSG;
                goto fail;
        }
        memcpy(rx->data + rx->have, (const uint8_t *) pkt + NVV_SIMPROTO_HEADER, h.len);
        rx->have += h.len;
        if (h.flags & NVV_SIMPROTO_FLAG_MORE) {
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

int nvv_simproto_send(int fd, uint16_t type, uint32_t gpu, uint32_t tag, uint32_t timeout_ms, const void *payload,
                      size_t len, bool dontwait)
{
        uint8_t pkt[NVV_SIMPROTO_HEADER + NVV_SIMPROTO_CHUNK];
        const uint8_t *p = payload;
        size_t off = 0;

        if (len > NVV_SIMPROTO_MAX_PAYLOAD)
                return -E2BIG;
        do {
                size_t chunk = MIN(len - off, (size_t) NVV_SIMPROTO_CHUNK);
                struct nvv_simproto_header h = {
                        .magic = NVV_SIMPROTO_MAGIC, .version = NVV_SIMPROTO_VERSION, .type = type, .gpu = gpu,
                        .tag = tag, .flags = off + chunk < len ? NVV_SIMPROTO_FLAG_MORE : 0, .len = (uint32_t) chunk,
                        .total = (uint32_t) len, .timeout_ms = timeout_ms,
                };
                ssize_t k;

                nvv_simproto_put_header(pkt, &h);
                if (chunk)
                        memcpy(pkt + NVV_SIMPROTO_HEADER, p + off, chunk);
                k = send(fd, pkt, NVV_SIMPROTO_HEADER + chunk, MSG_NOSIGNAL | (dontwait && off == 0 ? MSG_DONTWAIT : 0));
                if (k < 0)
                        return -errno;
                if ((size_t) k != NVV_SIMPROTO_HEADER + chunk)
                        return -EIO;
                off += chunk;
        } while (off < len);
        return 0;
}

int nvv_simproto_recv(int fd, struct nvv_simproto_rx *rx, int timeout_ms, char *err, size_t errlen)
{
        static _Thread_local uint8_t pkt[NVV_SIMPROTO_HEADER + NVV_SIMPROTO_CHUNK + 1];
        uint64_t deadline = timeout_ms >= 0 ? now_ns() + (uint64_t) timeout_ms * 1000000u : UINT64_MAX;

        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                ssize_t n;
                int r, wait = -1;

                if (deadline != UINT64_MAX) {
                        uint64_t now = now_ns();

                        wait = now >= deadline ? 0 : (int) ((deadline - now + 999999) / 1000000);
                }
                r = poll(&pfd, 1, wait);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (r == 0) {
                        nvv_errf(err, errlen, "no answer within %d ms", timeout_ms);
                        return -ETIMEDOUT;
                }
                n = recv(fd, pkt, sizeof(pkt), MSG_TRUNC);
                if (n < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return -errno;
                }
                if (n == 0) {
                        nvv_errf(err, errlen, "the other side closed the connection");
                        return -ECONNRESET;
                }
                if ((size_t) n > sizeof(pkt) - 1) {
                        nvv_errf(err, errlen, "packet of %zd bytes is larger than allowed", n);
                        rx->busy = false;
                        return -EBADMSG;
                }
                r = nvv_simproto_rx_feed(rx, pkt, (size_t) n, err, errlen);
                if (r != 0)
                        return r;
        }
}
