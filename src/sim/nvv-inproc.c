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

#include "nvv-backend.h"
#include "nvv-channel.h"
#include "nvv-evqueue.h"
#include "nvv-sim.h"
#include "nvv-simgpu.h"
#include "nvv-simvmgmt.h"
#include "util.h"

struct inproc {
        struct nvv_simgpu *gpu;
        int efd;
        bool listening;
        pthread_mutex_t lock;        /* events is filled on the simulator's thread */
        struct nvv_evqueue events;
};

static int inproc_rpc(void *userdata, const void *req, size_t len, uint32_t sequence, int timeout_ms, void *reply,
                      size_t reply_cap, size_t *ret_len, char *err, size_t errlen)
{
        struct inproc *p = userdata;

        (void) sequence;
        return nvv_simgpu_rpc(p->gpu, req, len, timeout_ms, reply, reply_cap, ret_len, err, errlen);
}

static int inproc_host_rpc(void *userdata, uint32_t gfid, uint32_t message, int timeout_ms, uint32_t *ret_result,
                           char *err, size_t errlen)
{
        struct inproc *p = userdata;

        (void) timeout_ms; /* answered at once, on the GPU's own thread */
        return nvv_simgpu_host_rpc(p->gpu, gfid, message, ret_result, err, errlen);
}

static void on_event(void *userdata, struct nvv_simgpu *g, const uint8_t *rpc, size_t len)
{
        struct inproc *p = userdata;
        uint64_t one = 1;
        bool queued;

        pthread_mutex_lock(&p->lock);
        queued = nvv_evqueue_push(&p->events, rpc, len);
        pthread_mutex_unlock(&p->lock);
        if (queued)
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
        r = nvv_evqueue_pop(&p->events, ret_rpc, ret_len);
        if (p->events.n == 0)
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
        nvv_evqueue_clear(&p->events);
        safe_close(p->efd);
        pthread_mutex_destroy(&p->lock);
        free(p);
}

static const struct nvv_transport inproc_ops = {
        .name = "in-process",
        .rpc = inproc_rpc,
        .host_rpc = inproc_host_rpc,
        .subscribe = inproc_subscribe,
        .get_fd = inproc_get_fd,
        .next_event = inproc_next_event,
        .close = inproc_close,
};

static void simgpu_info(struct nvv_simgpu *g, struct nvv_channel_info *ret)
{
        const struct nvv_simgpu_config *c = nvv_simgpu_get_config(g);

        *ret = (struct nvv_channel_info) { .index = c->index, .vendor = c->pci_vendor, .device = c->pci_device };
        snprintf(ret->bdf, sizeof(ret->bdf), "%s", c->bdf);
        snprintf(ret->model, sizeof(ret->model), "%s", c->model);
        snprintf(ret->release, sizeof(ret->release), "%s", c->release);
        nvv_simgpu_get_handles(g, &ret->handles);
}

int nvv_simgpu_open_channel(struct nvv_simgpu *g, const struct nvv_fwdb *db, struct nvv_channel **ret,
                            char **reterr_msg)
{
        struct nvv_channel_info info;
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
        simgpu_info(g, &info);
        return nvv_channel_open(&info, &inproc_ops, p, db, ret, reterr_msg);
}

/* ---- a GPU offering the upstream interface: FWCTL_RPC straight into its simulation ---- */

struct inproc_vm {
        struct nvv_simvmgmt *sim;
        uint32_t scope;
};

static int inproc_vm_rpc(void *userdata, const void *req, size_t len, uint32_t sequence, int timeout_ms, void *reply,
                         size_t reply_cap, size_t *ret_len, char *err, size_t errlen)
{
        struct inproc_vm *p = userdata;
        int r;

        (void) sequence;
        (void) timeout_ms;
        r = nvv_simvmgmt_rpc(p->sim, p->scope, req, len, reply, reply_cap, ret_len);
        if (r < 0)
                nvv_errf(err, errlen, "FWCTL_RPC: %s", strerror(-r));
        return r;
}

/* The interface has no events: subscribing succeeds and nothing comes. */
static int inproc_vm_subscribe(void *userdata, char *err, size_t errlen)
{
        (void) userdata;
        (void) err;
        (void) errlen;
        return 0;
}

static void inproc_vm_close(void *userdata)
{
        free(userdata);
}

static const struct nvv_transport inproc_vm_ops = {
        .name = "in-process fwctl",
        .rpc = inproc_vm_rpc,
        .subscribe = inproc_vm_subscribe,
        .close = inproc_vm_close,
};

int nvv_simvmgmt_open_channel(struct nvv_simvmgmt *sim, const struct nvv_channel_info *info, const struct nvv_fwdb *db,
                              struct nvv_channel **ret, char **reterr_msg)
{
        const struct nvv_vmgmt *vm = nvv_fwdb_vmgmt_match(db, info->vmgmt_revision, reterr_msg);
        struct inproc_vm *p;

        if (!vm)
                return -EOPNOTSUPP;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->sim = sim;
        p->scope = nvv_vmgmt_get_scope(vm);
        return nvv_channel_open_vmgmt(info, &inproc_vm_ops, p, vm, ret, reterr_msg);
}

/* ---- the simulator as an in-process backend ---- */

static size_t sim_gpu_count(void *object)
{
        return nvv_sim_gpu_count(object);
}

static void sim_get_info(void *object, size_t gpu, struct nvv_channel_info *ret)
{
        simgpu_info(nvv_sim_get_gpu(object, gpu), ret);
        if (nvv_sim_get_vmgmt(object, gpu)) {
                /* As the simulator's socket says it (nvv-sim.c info_json). */
                ret->vmgmt = true;
                ret->vf_offset = 4;
                ret->vf_stride = 1;
                ret->release[0] = 0;
        }
}

static int sim_open(void *object, size_t gpu, const struct nvv_fwdb *db, struct nvv_channel **ret, char **reterr_msg)
{
        struct nvv_simvmgmt *vm = nvv_sim_get_vmgmt(object, gpu);

        if (vm) {
                struct nvv_channel_info info;

                sim_get_info(object, gpu, &info);
                return nvv_simvmgmt_open_channel(vm, &info, db, ret, reterr_msg);
        }
        return nvv_simgpu_open_channel(nvv_sim_get_gpu(object, gpu), db, ret, reterr_msg);
}

static const struct nvv_backend_provider sim_provider = {
        .name = "in-process simulator",
        .gpu_count = sim_gpu_count,
        .get_info = sim_get_info,
        .open = sim_open,
};

int nvv_sim_get_backend(struct nvv_sim *s, struct nvv_backend **ret)
{
        assert_return(s && ret, -EINVAL);
        return nvv_backend_new_inproc(&sim_provider, s, ret);
}
