/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The in-process transport: a channel straight onto a simulated GPU's queue, for tests,
 * benchmarks and the demo. Events cross threads through a locked queue and an eventfd. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "nvv-channel.h"
#include "nvv-simgpu.h"
#include "util.h"

#define MAX_QUEUED_EVENTS 256

struct inproc {
        struct nvv_simgpu *gpu;
        int efd;
        bool listening;
        pthread_mutex_t lock;
        struct {
                uint8_t *rpc;
                size_t len;
        } events[MAX_QUEUED_EVENTS];
        size_t n_events;
        uint64_t dropped;
};

static int inproc_rpc(void *userdata, const void *req, size_t len, uint32_t sequence, int timeout_ms, void *reply,
                      size_t reply_cap, size_t *ret_len, char *err, size_t errlen)
{
        struct inproc *p = userdata;

        (void) sequence;
        return nvv_simgpu_rpc(p->gpu, req, len, timeout_ms, reply, reply_cap, ret_len, err, errlen);
}

static void on_event(void *userdata, struct nvv_simgpu *g, const uint8_t *rpc, size_t len)
{
        struct inproc *p = userdata;
        uint64_t one = 1;
        uint8_t *c;

        pthread_mutex_lock(&p->lock);
        if (p->n_events >= MAX_QUEUED_EVENTS || !(c = malloc(len ? len : 1))) {
                p->dropped++;
                pthread_mutex_unlock(&p->lock);
                return;
        }
        memcpy(c, rpc, len);
        p->events[p->n_events].rpc = c;
        p->events[p->n_events].len = len;
        p->n_events++;
        pthread_mutex_unlock(&p->lock);
        (void) !write(p->efd, &one, sizeof(one));
}

static int inproc_subscribe(void *userdata, char *err, size_t errlen)
{
        struct inproc *p = userdata;
        int r;

        if (p->listening)
                return 0;
        r = nvv_simgpu_add_listener(p->gpu, on_event, p);
        if (r < 0)
                return r;
        p->listening = true;
        return 0;
}

static int inproc_get_fd(void *userdata)
{
        return ((struct inproc *) userdata)->efd;
}

static int inproc_next_event(void *userdata, uint8_t **ret_rpc, size_t *ret_len)
{
        struct inproc *p = userdata;
        uint64_t v;
        int r = 0;

        pthread_mutex_lock(&p->lock);
        if (p->n_events > 0) {
                *ret_rpc = p->events[0].rpc;
                *ret_len = p->events[0].len;
                memmove(&p->events[0], &p->events[1], (p->n_events - 1) * sizeof(p->events[0]));
                p->n_events--;
                r = 1;
        }
        if (p->n_events == 0)
                (void) !read(p->efd, &v, sizeof(v)); /* non-blocking: clears the counter */
        pthread_mutex_unlock(&p->lock);
        return r;
}

static void inproc_close(void *userdata)
{
        struct inproc *p = userdata;

        if (!p)
                return;
        if (p->listening)
                nvv_simgpu_remove_listener(p->gpu, on_event, p);
        for (size_t i = 0; i < p->n_events; i++)
                free(p->events[i].rpc);
        safe_close(p->efd);
        pthread_mutex_destroy(&p->lock);
        free(p);
}

static const struct nvv_transport inproc_ops = {
        .name = "in-process",
        .rpc = inproc_rpc,
        .subscribe = inproc_subscribe,
        .get_fd = inproc_get_fd,
        .next_event = inproc_next_event,
        .close = inproc_close,
};

int nvv_simgpu_open_channel(struct nvv_simgpu *g, const struct nvv_fwdb *db, struct nvv_channel **ret,
                            char **reterr_msg)
{
        const struct nvv_simgpu_config *c = nvv_simgpu_get_config(g);
        struct nvv_channel_info info = { .index = c->index, .vendor = c->pci_vendor, .device = c->pci_device };
        struct inproc *p = calloc(1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        p->gpu = g;
        pthread_mutex_init(&p->lock, NULL);
        p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (p->efd < 0) {
                int e = -errno;

                pthread_mutex_destroy(&p->lock);
                free(p);
                return e;
        }
        snprintf(info.bdf, sizeof(info.bdf), "%s", c->bdf);
        snprintf(info.model, sizeof(info.model), "%s", c->model);
        snprintf(info.release, sizeof(info.release), "%s", c->release);
        nvv_simgpu_get_handles(g, &info.handles);
        return nvv_channel_open(&info, &inproc_ops, p, db, ret, reterr_msg);
}
