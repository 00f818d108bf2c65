/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nvv-evqueue.h"
#include "nvv-simconn.h"
#include "nvv-simproto.h"
#include "nvv-sock.h"
#include "util.h"

#define MAX_INFO_JSON (1u << 20)
#define HELLO_TIMEOUT_MS 5000
#define SUBSCRIBE_TIMEOUT_MS 5000
/* Reconnecting after the simulator went away: the first try after 50 ms, then twice as long
 * each time, at most 2 s apart. */
#define RECONNECT_FIRST_MS 50
#define RECONNECT_MAX_MS 2000

/* A caller waiting for the answer to its tag. Filled by the reader thread under c->lock. */
struct waiter {
        struct waiter *next;
        uint32_t gpu, tag;
        uint16_t want;
        void *buf;                /* the answer's payload goes here (may be NULL for ACK) */
        size_t cap, len;
        bool done;
        int result;
        char err[256];
};

struct gpu_slot {
        bool open;                /* a channel uses this GPU */
        bool subscribed;
        int efd;                  /* readable while events wait */
        struct nvv_evqueue events;
};

struct nvv_simconn {
        unsigned refs;            /* under lock */
        int fd;
        char *path;
        pthread_t reader;
        bool reader_started;
        pthread_mutex_t lock;     /* guards everything below, refs and the slots */
        pthread_cond_t cv;        /* an answer arrived, or the connection died */
        pthread_mutex_t write_lock; /* one message at a time on the socket */
        struct waiter *waiters;
        uint32_t next_tag;
        int dead;                 /* <0: the connection is gone, with why */
        char dead_err[256];
        size_t n;
        struct nvv_channel_info *infos;
        struct gpu_slot *slots;
        /* sysfs requests and uevents (nvv_simconn_sysfs_*) */
        bool sysfs_subscribed;
        int sysfs_efd;
        struct nvv_evqueue requests, uevents;
        /* The link (nvv_simconn_set_reconnect): the reader reconnects when the simulator goes. */
        bool reconnect, closing, link_down;
        uint64_t link_gen;        /* +1 at each reconnection */
        char link_why[256];
        int link_efd;             /* readable when the link went down or came back */
        int stop_efd;             /* wakes a reader waiting to reconnect */
};

const char *nvv_simconn_get_path(const struct nvv_simconn *c)
{
        return c->path;
}

size_t nvv_simconn_gpu_count(const struct nvv_simconn *c)
{
        return c->n;
}

const struct nvv_channel_info *nvv_simconn_get_info(const struct nvv_simconn *c, size_t gpu)
{
        return gpu < c->n ? &c->infos[gpu] : NULL;
}

static int sim_connect(const char *path, char **reterr)
{
        int fd, r;

        r = nvv_sock_connect(path, &fd, NULL);
        if (r < 0)
                return nvv_fail_errno(r, reterr, "cannot reach the simulator at '%s': %s", path, nvv_sock_connect_strerror(r));
        return fd;
}

static int parse_info(const uint8_t *data, size_t len, struct nvv_channel_info **ret, size_t *ret_n, char **reterr)
{
        struct json_tokener *tok;
        json_object *root, *gpus;
        _cleanup_free_ struct nvv_channel_info *infos = NULL;
        size_t n;
        int r = 0;

        if (len > MAX_INFO_JSON)
                return nvv_fail(reterr, "the simulator's hello is too large");
        tok = json_tokener_new_ex(6);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        root = json_tokener_parse_ex(tok, (const char *) data, (int) len);
        json_tokener_free(tok);
        if (!root || !json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "gpus", &gpus) ||
            !json_object_is_type(gpus, json_type_array)) {
                json_object_put(root);
                return nvv_fail(reterr, "the simulator's hello is not what was expected");
        }
        n = json_object_array_length(gpus);
        infos = calloc(n ? n : 1, sizeof(*infos));
        if (!infos) {
                json_object_put(root);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *g = json_object_array_get_idx(gpus, i), *v, *h;
                struct nvv_channel_info *in = &infos[i];
                const char *s;

#define STR(key, dst)                                                                                           \
                if (!json_object_object_get_ex(g, key, &v) || !json_object_is_type(v, json_type_string) ||      \
                    strlen(s = json_object_get_string(v)) >= sizeof(dst)) {                                     \
                        r = nvv_fail(reterr, "the simulator's hello: gpus[%zu].%s is missing or too long", i, key); \
                        goto out;                                                                               \
                }                                                                                               \
                strcpy(dst, s);
#define INT(obj, key, dst, max)                                                                                 \
                if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int) ||       \
                    json_object_get_int64(v) < 0 || json_object_get_int64(v) > (int64_t) (max)) {              \
                        r = nvv_fail(reterr, "the simulator's hello: gpus[%zu].%s is missing or out of range", i, key); \
                        goto out;                                                                               \
                }                                                                                               \
                dst = json_object_get_int64(v);
                INT(g, "index", in->index, UINT32_MAX);
                STR("bdf", in->bdf);
                STR("model", in->model);
                STR("release", in->release);
                INT(g, "vendor", in->vendor, UINT16_MAX);
                INT(g, "device", in->device, UINT16_MAX);
                if (!json_object_object_get_ex(g, "handles", &h) || !json_object_is_type(h, json_type_object)) {
                        r = nvv_fail(reterr, "the simulator's hello: gpus[%zu].handles is missing", i);
                        goto out;
                }
                INT(h, "client", in->handles.client, UINT32_MAX);
                INT(h, "device", in->handles.device, UINT32_MAX);
                INT(h, "subdevice", in->handles.subdevice, UINT32_MAX);
                /* A GPU offering the upstream vGPU-management interface, with its VFs' layout. */
                if (json_object_object_get_ex(g, "interface", &v)) {
                        if (!json_object_is_type(v, json_type_string) || !streq(json_object_get_string(v), "vgpu-mgmt")) {
                                r = nvv_fail(reterr, "the simulator's hello: gpus[%zu].interface is not \"vgpu-mgmt\"", i);
                                goto out;
                        }
                        in->vmgmt = true;
                        INT(g, "vf_offset", in->vf_offset, UINT16_MAX);
                        INT(g, "vf_stride", in->vf_stride, UINT16_MAX);
                }
#undef STR
#undef INT
                /* Requests name a GPU by its place in this list. */
                if (in->index != i) {
                        r = nvv_fail(reterr, "the simulator's hello: gpus[%zu] has index %u", i, in->index);
                        goto out;
                }
        }
        *ret = TAKE_PTR(infos);
        *ret_n = n;
out:
        json_object_put(root);
        return r;
}

/* ---- the reader thread: every message from the simulator passes here ---- */

/* The text of an ERROR message, and its errno as a negative return. */
static int error_of(const struct nvv_sock_rx *rx, char *buf, size_t len)
{
        uint32_t e;

        if (rx->have < 4) {
                nvv_errf(buf, len, "malformed error from the simulator");
                return -EBADMSG;
        }
        e = (uint32_t) rx->data[0] | (uint32_t) rx->data[1] << 8 | (uint32_t) rx->data[2] << 16 | (uint32_t) rx->data[3] << 24;
        nvv_errf(buf, len, "%.*s", (int) MIN(rx->have - 4, (size_t) 200), (const char *) rx->data + 4);
        return e > 0 && e < 4096 ? -(int) e : -EIO;
}

static void deliver(struct nvv_simconn *c, const struct nvv_sock_rx *rx)
{
        const struct nvv_sock_header *h = &rx->first;
        struct waiter *w;

        if (h->type == NVV_SIMPROTO_SYSFS_REQUEST || h->type == NVV_SIMPROTO_UEVENT) {
                uint64_t one = 1;

                if (c->sysfs_subscribed &&
                    nvv_evqueue_push(h->type == NVV_SIMPROTO_UEVENT ? &c->uevents : &c->requests, rx->data, rx->have))
                        (void) !write(c->sysfs_efd, &one, sizeof(one));
                return;
        }
        if (h->type == NVV_SIMPROTO_EVENT) {
                struct gpu_slot *s = h->target < c->n ? &c->slots[h->target] : NULL;
                uint64_t one = 1;

                if (s && s->subscribed && nvv_evqueue_push(&s->events, rx->data, rx->have))
                        (void) !write(s->efd, &one, sizeof(one));
                return;
        }
        for (w = c->waiters; w; w = w->next)
                if (!w->done && w->tag == h->tag)
                        break;
        /* An answer nobody waits for (an RPC that timed out, say) is dropped. */
        if (!w)
                return;
        if (h->type == NVV_SIMPROTO_ERROR)
                w->result = error_of(rx, w->err, sizeof(w->err));
        else if (h->type != w->want) {
                nvv_errf(w->err, sizeof(w->err), "expected %s, the simulator sent %s", nvv_simproto_type_to_string(w->want),
                         nvv_simproto_type_to_string(h->type));
                w->result = -EPROTO;
        } else if (h->target != w->gpu && w->gpu != NVV_SIMPROTO_ALL_GPUS) {
                nvv_errf(w->err, sizeof(w->err), "the answer for GPU %u came back for GPU %u", w->gpu, h->target);
                w->result = -EPROTO;
        } else if (rx->have > w->cap) {
                nvv_errf(w->err, sizeof(w->err), "answer of %zu bytes is larger than the %zu expected", rx->have, w->cap);
                w->result = -EBADMSG;
        } else {
                if (rx->have)
                        memcpy(w->buf, rx->data, rx->have);
                w->len = rx->have;
                w->result = 0;
        }
        w->done = true;
        pthread_cond_broadcast(&c->cv);
}

static int say_hello_fd(struct nvv_simconn *c, int fd, struct nvv_channel_info **ret_infos, size_t *ret_n,
                        char **reterr_msg);

static void link_signal(struct nvv_simconn *c)
{
        uint64_t one = 1;

        (void) !write(c->link_efd, &one, sizeof(one));
}

/*
 * The simulator went away (killed, or restarted: to the manager a core-driver reload). Try to
 * connect again with a growing pause; a simulator that serves the same GPUs (addresses and
 * releases) takes the connection's place: the subscriptions are sent again (their ACKs, which
 * nobody waits for, are dropped) and requests flow again. The firmware behind it is a fresh
 * one: what to do about that is the caller's (nvv_simconn_link_state). Returns the new fd, or
 * -ECANCELED when the connection is being closed.
 */
static int reconnect(struct nvv_simconn *c)
{
        int wait_ms = RECONNECT_FIRST_MS;

        for (;;) {
                struct pollfd p = { .fd = c->stop_efd, .events = POLLIN };
                _cleanup_free_ struct nvv_channel_info *infos = NULL;
                _cleanup_free_ char *msg = NULL;
                size_t n = 0;
                bool same;
                int fd;

                if (poll(&p, 1, wait_ms) > 0)
                        return -ECANCELED;
                wait_ms = MIN(wait_ms * 2, RECONNECT_MAX_MS);
                fd = sim_connect(c->path, &msg);
                if (fd < 0)
                        continue;
                if (say_hello_fd(c, fd, &infos, &n, &msg) < 0) {
                        safe_close(fd);
                        continue;
                }
                same = n == c->n;
                for (size_t i = 0; same && i < n; i++)
                        same = streq(infos[i].bdf, c->infos[i].bdf) && streq(infos[i].release, c->infos[i].release) &&
                               infos[i].vmgmt == c->infos[i].vmgmt;
                pthread_mutex_lock(&c->lock);
                if (!same)
                        snprintf(c->link_why, sizeof(c->link_why),
                                 "the simulator at '%s' came back with other GPUs or releases; restart nvvgpud to manage them",
                                 c->path);
                if (!same || c->closing) {
                        pthread_mutex_unlock(&c->lock);
                        safe_close(fd);
                        if (c->closing)
                                return -ECANCELED;
                        link_signal(c);
                        continue;
                }
                for (size_t i = 0; i < c->n; i++)
                        if (c->slots[i].subscribed) {
                                if (++c->next_tag == 0)
                                        c->next_tag = 1;
                                (void) nvv_simproto_send(fd, NVV_SIMPROTO_SUBSCRIBE, (uint32_t) i, c->next_tag, 0, NULL, 0,
                                                         SUBSCRIBE_TIMEOUT_MS);
                        }
                if (c->sysfs_subscribed) {
                        if (++c->next_tag == 0)
                                c->next_tag = 1;
                        (void) nvv_simproto_send(fd, NVV_SIMPROTO_SYSFS_SUBSCRIBE, NVV_SIMPROTO_ALL_GPUS, c->next_tag, 0,
                                                 NULL, 0, SUBSCRIBE_TIMEOUT_MS);
                        /* Requests of the simulator that went can be answered to nobody. */
                        nvv_evqueue_clear(&c->requests);
                }
                pthread_mutex_unlock(&c->lock);
                return fd;
        }
}

static void *reader_main(void *userdata)
{
        struct nvv_simconn *c = userdata;
        struct nvv_sock_rx rx;

        nvv_simproto_rx_init(&rx, NVV_SIMPROTO_MAX_PAYLOAD);
        for (;;) {
                char err[256] = "";
                int r = nvv_simproto_recv(c->fd, &rx, -1, err, sizeof(err));

                /* A malformed message is dropped (its caller times out); a broken socket ends all. */
                if (r == -EBADMSG || r == -EPROTO || r == -E2BIG || r == -ENOMEM) {
                        log_debug("sim %s: dropped a message: %s", c->path, err);
                        continue;
                }
                pthread_mutex_lock(&c->lock);
                if (r < 0) {
                        bool again = c->reconnect && !c->closing;
                        int fd;

                        c->dead = r;
                        snprintf(c->dead_err, sizeof(c->dead_err), "the connection to the simulator at '%s' is gone: %s",
                                 c->path, err[0] ? err : strerror(-r));
                        pthread_cond_broadcast(&c->cv);
                        if (again) {
                                c->link_down = true;
                                snprintf(c->link_why, sizeof(c->link_why), "%.200s; reconnecting", c->dead_err);
                                link_signal(c);
                        }
                        pthread_mutex_unlock(&c->lock);
                        if (!again)
                                break;
                        fd = reconnect(c);
                        if (fd < 0)
                                break;
                        /* Nothing sends on the old socket any more: requests fail while dead. */
                        pthread_mutex_lock(&c->write_lock);
                        pthread_mutex_lock(&c->lock);
                        safe_close(c->fd);
                        c->fd = fd;
                        c->dead = 0;
                        c->link_down = false;
                        c->link_gen++;
                        c->link_why[0] = '\0';
                        link_signal(c);
                        pthread_mutex_unlock(&c->lock);
                        pthread_mutex_unlock(&c->write_lock);
                        nvv_simproto_rx_done(&rx);
                        nvv_simproto_rx_init(&rx, NVV_SIMPROTO_MAX_PAYLOAD);
                        continue;
                }
                deliver(c, &rx);
                pthread_mutex_unlock(&c->lock);
        }
        nvv_simproto_rx_done(&rx);
        return NULL;
}

/* Send one request and wait for its answer (timeout_ms < 0: as long as the connection lives). */
static int request(struct nvv_simconn *c, uint16_t type, uint16_t want, uint32_t gpu, int timeout_ms, const void *req,
                   size_t len, void *buf, size_t cap, size_t *ret_len, char *err, size_t errlen)
{
        struct waiter w = { .gpu = gpu, .want = want, .buf = buf, .cap = cap };
        struct timespec until;
        int r;

        clock_gettime(CLOCK_MONOTONIC, &until);
        if (timeout_ms >= 0) {
                until.tv_sec += timeout_ms / 1000;
                until.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
                if (until.tv_nsec >= 1000000000L) {
                        until.tv_sec++;
                        until.tv_nsec -= 1000000000L;
                }
        }
        pthread_mutex_lock(&c->lock);
        if (c->dead < 0) {
                nvv_errf(err, errlen, "%s", c->dead_err);
                r = c->dead;
                pthread_mutex_unlock(&c->lock);
                return r;
        }
        /* Tag 0 is the simulator's for errors that answer no request. */
        if (++c->next_tag == 0)
                c->next_tag = 1;
        w.tag = c->next_tag;
        w.next = c->waiters;
        c->waiters = &w;
        pthread_mutex_unlock(&c->lock);

        pthread_mutex_lock(&c->write_lock);
        /* A simulator that does not read is waited on no longer than the answer would be. */
        r = nvv_simproto_send(c->fd, type, gpu, w.tag, timeout_ms > 0 ? (uint32_t) timeout_ms : 0, req, len,
                              timeout_ms >= 0 ? timeout_ms : -1);
        if (r == -ETIMEDOUT) /* half a message may be on the wire: the connection is done */
                (void) shutdown(c->fd, SHUT_RDWR);
        pthread_mutex_unlock(&c->write_lock);

        pthread_mutex_lock(&c->lock);
        if (r < 0)
                nvv_errf(err, errlen, "cannot send to the simulator at '%s': %s", c->path, strerror(-r));
        while (r >= 0 && !w.done) {
                if (c->dead < 0) {
                        nvv_errf(err, errlen, "%s", c->dead_err);
                        r = c->dead;
                } else if (timeout_ms < 0)
                        pthread_cond_wait(&c->cv, &c->lock);
                else if (pthread_cond_timedwait(&c->cv, &c->lock, &until) == ETIMEDOUT && !w.done) {
                        nvv_errf(err, errlen, "no answer within %d ms", timeout_ms);
                        r = -ETIMEDOUT;
                }
        }
        for (struct waiter **p = &c->waiters; *p; p = &(*p)->next)
                if (*p == &w) {
                        *p = w.next;
                        break;
                }
        pthread_mutex_unlock(&c->lock);
        if (r < 0)
                return r;
        if (w.result < 0) {
                nvv_errf(err, errlen, "%s", w.err);
                return w.result;
        }
        if (ret_len)
                *ret_len = w.len;
        return 0;
}

static struct nvv_simconn *simconn_ref(struct nvv_simconn *c);

struct nvv_simconn *nvv_simconn_ref(struct nvv_simconn *c)
{
        return c ? simconn_ref(c) : NULL;
}

static struct nvv_simconn *simconn_ref(struct nvv_simconn *c)
{
        pthread_mutex_lock(&c->lock);
        c->refs++;
        pthread_mutex_unlock(&c->lock);
        return c;
}

struct nvv_simconn *nvv_simconn_unref(struct nvv_simconn *c)
{
        bool last;

        if (!c)
                return NULL;
        pthread_mutex_lock(&c->lock);
        last = --c->refs == 0;
        pthread_mutex_unlock(&c->lock);
        if (!last)
                return NULL;
        if (c->reader_started) {
                uint64_t one = 1;

                /* The reader sees the socket end (or, waiting to reconnect, stop_efd) and leaves. */
                pthread_mutex_lock(&c->lock);
                c->closing = true;
                (void) !write(c->stop_efd, &one, sizeof(one));
                shutdown(c->fd, SHUT_RDWR);
                pthread_mutex_unlock(&c->lock);
                pthread_join(c->reader, NULL);
        }
        safe_close(c->fd);
        for (size_t i = 0; c->slots && i < c->n; i++) {
                nvv_evqueue_clear(&c->slots[i].events);
                safe_close(c->slots[i].efd);
        }
        free(c->slots);
        nvv_evqueue_clear(&c->requests);
        nvv_evqueue_clear(&c->uevents);
        safe_close(c->sysfs_efd);
        safe_close(c->link_efd);
        safe_close(c->stop_efd);
        free(c->infos);
        free(c->path);
        pthread_mutex_destroy(&c->write_lock);
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
}

/* The HELLO goes before the reader thread starts: nothing else is on the socket yet. */
static int say_hello_fd(struct nvv_simconn *c, int fd, struct nvv_channel_info **ret_infos, size_t *ret_n,
                        char **reterr_msg)
{
        struct nvv_sock_rx rx;
        char err[256] = "";
        int r, rs;

        nvv_simproto_rx_init(&rx, MAX_INFO_JSON);
        rs = nvv_simproto_send(fd, NVV_SIMPROTO_HELLO, NVV_SIMPROTO_ALL_GPUS, 1, 0, NULL, 0, HELLO_TIMEOUT_MS);
        /* Even when the send failed, read: a simulator that refuses the client (too many
         * clients, not allowed) has said why before closing. */
        do
                r = nvv_simproto_recv(fd, &rx, rs < 0 ? 1000 : HELLO_TIMEOUT_MS, err, sizeof(err));
        while (r >= 0 && rx.first.type == NVV_SIMPROTO_EVENT);
        if (r < 0 && rs < 0)
                r = nvv_fail_errno(rs, reterr_msg, "cannot send hello to the simulator at '%s': %s", c->path, strerror(-rs));
        else if (r < 0)
                nvv_fail(reterr_msg, "the simulator at '%s' did not answer hello: %s", c->path, err[0] ? err : strerror(-r));
        else if (rx.first.type == NVV_SIMPROTO_ERROR) {
                r = error_of(&rx, err, sizeof(err));
                nvv_fail(reterr_msg, "the simulator at '%s' refused the connection: %s", c->path, err);
        } else if (rx.first.type != NVV_SIMPROTO_INFO)
                r = nvv_fail(reterr_msg, "the simulator at '%s' answered hello with %s", c->path,
                             nvv_simproto_type_to_string(rx.first.type));
        else
                r = parse_info(rx.data, rx.have, ret_infos, ret_n, reterr_msg);
        nvv_simproto_rx_done(&rx);
        return r;
}

static int say_hello(struct nvv_simconn *c, char **reterr_msg)
{
        return say_hello_fd(c, c->fd, &c->infos, &c->n, reterr_msg);
}

int nvv_simconn_connect(const char *socket_path, struct nvv_simconn **ret, char **reterr_msg)
{
        _cleanup_(nvv_simconn_unrefp) struct nvv_simconn *c = NULL;
        pthread_condattr_t ca;
        int r;

        assert_return(socket_path && ret, -EINVAL);
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->refs = 1;
        c->fd = -EBADF;
        c->sysfs_efd = -EBADF;
        c->link_efd = -EBADF;
        c->stop_efd = -EBADF;
        pthread_mutex_init(&c->lock, NULL);
        pthread_mutex_init(&c->write_lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&c->cv, &ca);
        pthread_condattr_destroy(&ca);
        c->path = strdup(socket_path);
        if (!c->path)
                return -ENOMEM;
        c->fd = sim_connect(socket_path, reterr_msg);
        if (c->fd < 0) {
                r = c->fd;
                c->fd = -EBADF;
                return r;
        }
        r = say_hello(c, reterr_msg);
        if (r < 0)
                return r;
        c->slots = calloc(c->n ? c->n : 1, sizeof(*c->slots));
        if (!c->slots)
                return -ENOMEM;
        for (size_t i = 0; i < c->n; i++)
                c->slots[i].efd = -EBADF;
        for (size_t i = 0; i < c->n; i++) {
                c->slots[i].efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
                if (c->slots[i].efd < 0)
                        return -errno;
        }
        c->sysfs_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (c->sysfs_efd < 0)
                return -errno;
        c->link_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (c->link_efd < 0)
                return -errno;
        c->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (c->stop_efd < 0)
                return -errno;
        r = -pthread_create(&c->reader, NULL, reader_main, c);
        if (r < 0)
                return r;
        c->reader_started = true;
        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- the transport of one GPU's channel ---- */

struct sim_transport {
        struct nvv_simconn *c;
        uint32_t gpu;
};

static int sim_rpc(void *userdata, const void *req, size_t len, uint32_t sequence, int timeout_ms, void *reply,
                   size_t reply_cap, size_t *ret_len, char *err, size_t errlen)
{
        struct sim_transport *t = userdata;

        /* The channel's sequence number is in the RPC itself; the tag is the connection's. */
        (void) sequence;
        return request(t->c, NVV_SIMPROTO_RPC, NVV_SIMPROTO_REPLY, t->gpu, timeout_ms, req, len, reply, reply_cap, ret_len,
                       err, errlen);
}

static int sim_host_rpc(void *userdata, uint32_t gfid, uint32_t message, int timeout_ms, uint32_t *ret_result,
                        char *err, size_t errlen)
{
        struct sim_transport *t = userdata;
        uint8_t req[8], reply[4];
        size_t n = 0;
        int r;

        put_le32(req, gfid);
        put_le32(req + 4, message);
        r = request(t->c, NVV_SIMPROTO_HOST_RPC, NVV_SIMPROTO_HOST_RPC_RESULT, t->gpu, timeout_ms, req, sizeof(req), reply,
                    sizeof(reply), &n, err, errlen);
        if (r < 0)
                return r;
        if (n != sizeof(reply)) {
                nvv_errf(err, errlen, "host RPC result of %zu bytes, not 4", n);
                return -EPROTO;
        }
        *ret_result = get_le32(reply);
        return 0;
}

static int sim_subscribe(void *userdata, char *err, size_t errlen)
{
        struct sim_transport *t = userdata;
        struct gpu_slot *s = &t->c->slots[t->gpu];
        int r;

        /* Queue events from now on: the first may come before the ACK. */
        pthread_mutex_lock(&t->c->lock);
        if (s->subscribed) {
                pthread_mutex_unlock(&t->c->lock);
                return 0;
        }
        s->subscribed = true;
        pthread_mutex_unlock(&t->c->lock);
        r = request(t->c, NVV_SIMPROTO_SUBSCRIBE, NVV_SIMPROTO_ACK, t->gpu, SUBSCRIBE_TIMEOUT_MS, NULL, 0, NULL, 0, NULL,
                    err, errlen);
        if (r < 0) {
                pthread_mutex_lock(&t->c->lock);
                s->subscribed = false;
                pthread_mutex_unlock(&t->c->lock);
        }
        return r;
}

static int sim_get_fd(void *userdata)
{
        struct sim_transport *t = userdata;

        return t->c->slots[t->gpu].efd;
}

static int sim_next_event(void *userdata, uint8_t **ret_rpc, size_t *ret_len)
{
        struct sim_transport *t = userdata;
        struct gpu_slot *s = &t->c->slots[t->gpu];
        uint64_t v;
        int r;

        pthread_mutex_lock(&t->c->lock);
        r = nvv_evqueue_pop(&s->events, ret_rpc, ret_len);
        if (s->events.n == 0)
                (void) !read(s->efd, &v, sizeof(v)); /* non-blocking: clears the counter */
        pthread_mutex_unlock(&t->c->lock);
        return r;
}

static void sim_close(void *userdata)
{
        struct sim_transport *t = userdata;
        struct gpu_slot *s;
        uint64_t v;

        if (!t)
                return;
        /* The simulator has no unsubscribe: the slot just stops queueing what still comes. */
        s = &t->c->slots[t->gpu];
        pthread_mutex_lock(&t->c->lock);
        s->open = false;
        s->subscribed = false;
        nvv_evqueue_clear(&s->events);
        (void) !read(s->efd, &v, sizeof(v));
        pthread_mutex_unlock(&t->c->lock);
        nvv_simconn_unref(t->c);
        free(t);
}

static const struct nvv_transport sim_transport_ops = {
        .name = "sim",
        .rpc = sim_rpc,
        .host_rpc = sim_host_rpc,
        .subscribe = sim_subscribe,
        .get_fd = sim_get_fd,
        .next_event = sim_next_event,
        .close = sim_close,
};

int nvv_simconn_open_channel(struct nvv_simconn *c, uint32_t gpu, const struct nvv_fwdb *db, struct nvv_channel **ret,
                             char **reterr_msg)
{
        struct sim_transport *t;
        bool busy;

        assert_return(c && ret, -EINVAL);
        if (gpu >= c->n)
                return nvv_fail(reterr_msg, "the simulator at '%s' has %zu GPU%s; there is no GPU %u", c->path, c->n,
                                c->n == 1 ? "" : "s", gpu);
        pthread_mutex_lock(&c->lock);
        busy = c->slots[gpu].open;
        if (!busy)
                c->slots[gpu].open = true;
        pthread_mutex_unlock(&c->lock);
        if (busy)
                return nvv_fail_errno(-EBUSY, reterr_msg, "GPU %u of the simulator at '%s' already has a channel on this connection",
                                      gpu, c->path);
        t = calloc(1, sizeof(*t));
        if (!t) {
                pthread_mutex_lock(&c->lock);
                c->slots[gpu].open = false;
                pthread_mutex_unlock(&c->lock);
                return -ENOMEM;
        }
        t->c = simconn_ref(c);
        t->gpu = gpu;
        if (c->infos[gpu].vmgmt) {
                const struct nvv_vmgmt *vm = nvv_fwdb_vmgmt_match(db, c->infos[gpu].vmgmt_revision, reterr_msg);

                if (!vm) {
                        sim_close(t);
                        return -EOPNOTSUPP;
                }
                return nvv_channel_open_vmgmt(&c->infos[gpu], &sim_transport_ops, t, vm, ret, reterr_msg);
        }
        return nvv_channel_open(&c->infos[gpu], &sim_transport_ops, t, db, ret, reterr_msg);
}

/* ---- the one-GPU entry points of nvv-channel.h ---- */

int nvv_channel_list_sim(const char *socket_path, struct nvv_channel_info **ret, size_t *ret_n, char **reterr_msg)
{
        _cleanup_(nvv_simconn_unrefp) struct nvv_simconn *c = NULL;
        struct nvv_channel_info *infos;
        int r;

        r = nvv_simconn_connect(socket_path, &c, reterr_msg);
        if (r < 0)
                return r;
        infos = calloc(c->n ? c->n : 1, sizeof(*infos));
        if (!infos)
                return -ENOMEM;
        if (c->n)
                memcpy(infos, c->infos, c->n * sizeof(*infos));
        *ret = infos;
        *ret_n = c->n;
        return 0;
}

int nvv_channel_open_sim(const char *socket_path, uint32_t gpu, const struct nvv_fwdb *db, struct nvv_channel **ret,
                         char **reterr_msg)
{
        _cleanup_(nvv_simconn_unrefp) struct nvv_simconn *c = NULL;
        int r;

        r = nvv_simconn_connect(socket_path, &c, reterr_msg);
        if (r < 0)
                return r;
        return nvv_simconn_open_channel(c, gpu, db, ret, reterr_msg);
}

/* ---- the manager's side of sysfs ---- */

#define SYSFS_TIMEOUT_MS 5000

int nvv_simconn_sysfs_subscribe(struct nvv_simconn *c, char **reterr_msg)
{
        char err[256] = "";
        int r;

        assert_return(c, -EINVAL);
        /* Queue from now on: a request may come before the ACK. */
        pthread_mutex_lock(&c->lock);
        c->sysfs_subscribed = true;
        pthread_mutex_unlock(&c->lock);
        r = request(c, NVV_SIMPROTO_SYSFS_SUBSCRIBE, NVV_SIMPROTO_ACK, NVV_SIMPROTO_ALL_GPUS, SYSFS_TIMEOUT_MS, NULL, 0,
                    NULL, 0, NULL, err, sizeof(err));
        if (r < 0) {
                pthread_mutex_lock(&c->lock);
                c->sysfs_subscribed = false;
                pthread_mutex_unlock(&c->lock);
                return nvv_fail_errno(r, reterr_msg, "cannot subscribe to sysfs requests of the simulator at '%s': %s",
                                      c->path, err);
        }
        return 0;
}

int nvv_simconn_sysfs_get_fd(const struct nvv_simconn *c)
{
        return c ? c->sysfs_efd : -EBADF;
}

/* Pop one message of q; clear the eventfd when both queues are empty. */
static bool pop_sysfs(struct nvv_simconn *c, struct nvv_evqueue *q, uint8_t **ret, size_t *ret_len)
{
        uint64_t v;
        bool got;

        pthread_mutex_lock(&c->lock);
        got = nvv_evqueue_pop(q, ret, ret_len);
        if (c->requests.n == 0 && c->uevents.n == 0)
                (void) !read(c->sysfs_efd, &v, sizeof(v));
        pthread_mutex_unlock(&c->lock);
        return got;
}

int nvv_simconn_sysfs_next(struct nvv_simconn *c, struct nvv_sysfs_request *ret)
{
        assert_return(c && ret, -EINVAL);
        for (;;) {
                _cleanup_free_ uint8_t *data = NULL;
                _cleanup_free_ char *msg = NULL;
                size_t len;

                if (!pop_sysfs(c, &c->requests, &data, &len))
                        return -EAGAIN;
                if (nvv_sysfsmsg_parse_request(data, len, ret, &msg) >= 0)
                        return 0;
                /* Nobody can answer what cannot be read: its write times out. */
                log_debug("sim %s: dropped a sysfs request: %s", c->path, msg ? msg : "malformed");
        }
}

int nvv_simconn_sysfs_next_uevent(struct nvv_simconn *c, struct nvv_uevent *ret)
{
        assert_return(c && ret, -EINVAL);
        for (;;) {
                _cleanup_free_ uint8_t *data = NULL;
                _cleanup_free_ char *msg = NULL;
                size_t len;

                if (!pop_sysfs(c, &c->uevents, &data, &len))
                        return -EAGAIN;
                if (nvv_sysfsmsg_parse_uevent(data, len, ret, &msg) >= 0)
                        return 0;
                log_debug("sim %s: dropped a uevent: %s", c->path, msg ? msg : "malformed");
        }
}

int nvv_simconn_sysfs_answer(struct nvv_simconn *c, uint32_t id, int error, char **reterr_msg)
{
        _cleanup_free_ char *json = NULL;
        char err[256] = "";
        int r;

        assert_return(c && error >= 0 && error < 4096, -EINVAL);
        r = nvv_sysfsmsg_format_answer(id, error, &json);
        if (r < 0)
                return r;
        r = request(c, NVV_SIMPROTO_SYSFS_ANSWER, NVV_SIMPROTO_ACK, NVV_SIMPROTO_ALL_GPUS, SYSFS_TIMEOUT_MS, json,
                    strlen(json), NULL, 0, NULL, err, sizeof(err));
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "answer to sysfs request %u refused: %s", id, err);
        return 0;
}

int nvv_simconn_register_types(struct nvv_simconn *c, uint32_t gpu, const struct nvv_sysfs_type *types, size_t n,
                               char **reterr_msg)
{
        _cleanup_free_ char *json = NULL;
        char err[256] = "";
        int r;

        assert_return(c, -EINVAL);
        if (gpu >= c->n)
                return nvv_fail_errno(-ENODEV, reterr_msg, "the simulator at '%s' has no GPU %u", c->path, gpu);
        r = nvv_sysfsmsg_format_types(types, n, &json);
        if (r < 0)
                return r;
        r = request(c, NVV_SIMPROTO_REGISTER_TYPES, NVV_SIMPROTO_ACK, gpu, SYSFS_TIMEOUT_MS, json, strlen(json), NULL, 0,
                    NULL, err, sizeof(err));
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "cannot register the types of GPU %u: %s", gpu, err);
        return 0;
}

/* ---- the link: the simulator going away and coming back ---- */

void nvv_simconn_set_reconnect(struct nvv_simconn *c, bool on)
{
        if (!c)
                return;
        pthread_mutex_lock(&c->lock);
        c->reconnect = on;
        pthread_mutex_unlock(&c->lock);
}

int nvv_simconn_link_get_fd(const struct nvv_simconn *c)
{
        return c ? c->link_efd : -EBADF;
}

int nvv_simconn_link_state(struct nvv_simconn *c, uint64_t *ret_generation, char *why, size_t whylen)
{
        uint64_t v;
        int up;

        assert_return(c, -EINVAL);
        pthread_mutex_lock(&c->lock);
        (void) !read(c->link_efd, &v, sizeof(v)); /* non-blocking: clears it */
        up = c->dead < 0 ? 0 : 1;
        if (ret_generation)
                *ret_generation = c->link_gen;
        if (why && whylen)
                snprintf(why, whylen, "%s", c->link_why[0] ? c->link_why : c->dead_err);
        pthread_mutex_unlock(&c->lock);
        return up;
}
