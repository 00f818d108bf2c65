/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nvv-cmd.h"
#include "nvv-msgq.h"
#include "nvv-ring.h"
#include "nvv-rpc.h"
#include "nvv-simgpu.h"
#include "util.h"

#define MAX_LISTENERS 16
#define MAX_PENDING_EVENTS 64
#define MAX_ACTIONS 16

struct pending_event {
        int event;
        union nvv_cmd_any payload;
};

struct object_map {
        uint32_t handle;
        uint32_t gfid;
};

enum action_kind {
        ACT_FAULT,
        ACT_STATUS,
        ACT_HOST_RPC,
};

struct action {
        enum action_kind kind;
        struct nvv_fault fault;
        struct nvv_simgpu_status *status;
        bool vgpus_only;                /* status: without the type table's counts */
        uint32_t gfid, message, rpc_result; /* host RPC */
        int result;
        char err[128];
        bool done;
};

struct nvv_simgpu {
        struct nvv_simgpu_config cfg;
        const struct nvv_fwabi *fw;
        struct nvv_handles handles;
        int memfd;
        uint8_t *mem;
        size_t mem_size;
        size_t msg_cap;              /* bytes of the largest message */
        bool stop;                   /* atomic: the rings' waits read it too */
        volatile uint32_t kick;

        /* GSP side (owned by the GSP thread after start). */
        pthread_t gsp_thread;
        bool gsp_started;
        struct nvv_ring cmd_g, stat_g;
        struct nvv_gsp *engine;
        struct nvv_reasm *gsp_reasm;
        uint8_t *gsp_work;
        uint8_t *gsp_reply;
        size_t gsp_reply_cap;
        union nvv_cmd_any *gsp_io;
        uint32_t gsp_rx_seq, gsp_tx_seq, gsp_event_seq;
        struct pending_event *events;
        size_t n_events;
        struct object_map objects[NVV_MAX_VGPUS];
        size_t n_objects;
        struct nvv_fault faults[NVV_FAULT_MAX_SPECS];
        size_t n_faults;
        uint64_t rpcs_handled, events_sent, bad_messages;

        /* Kernel side. */
        pthread_mutex_t submit_lock;
        pthread_mutex_t lock;        /* listeners, reader hand-over, actions */
        pthread_cond_t idle_cv, reader_cv, action_cv;
        struct nvv_ring cmd_k, stat_k;
        struct nvv_reasm *k_reasm;
        uint8_t *k_work;
        uint32_t k_tx_seq, k_rx_seq;
        bool rpc_active, reading;
        bool irq_pending;            /* the status ring has something for the interrupt handler */
        struct {
                nvv_simgpu_event_fn fn;
                void *userdata;
        } listeners[MAX_LISTENERS];
        size_t n_listeners;
        pthread_t irq_thread;
        bool irq_started;
        struct action *actions[MAX_ACTIONS];
        size_t n_actions;
        uint32_t reset_event; /* firmware event number that announces a GSP (re)boot, 0 if none */
        nvv_simgpu_change_fn change_fn; /* under lock */
        void *change_ud;
        uint64_t vgpu_sig;   /* GSP thread: signature of the vGPU set last seen */
        /* Surprise-removed (fault unplug): atomic, set and cleared on the GSP thread. It is
         * the kick word of the kernel side's rings, so that an RPC waiting on them gives up
         * with ENODEV at once. */
        volatile uint32_t gone;
};

static inline bool stopping(const struct nvv_simgpu *g)
{
        return __atomic_load_n(&g->stop, __ATOMIC_ACQUIRE);
}

static inline bool is_gone(const struct nvv_simgpu *g)
{
        return __atomic_load_n(&g->gone, __ATOMIC_ACQUIRE) != 0;
}

bool nvv_simgpu_is_present(const struct nvv_simgpu *g)
{
        return !is_gone(g);
}

static int unplugged_error(const struct nvv_simgpu *g, char *err, size_t errlen)
{
        nvv_errf(err, errlen, "GPU %u (%s) is unplugged", g->cfg.index, g->cfg.bdf);
        return -ENODEV;
}

const struct nvv_simgpu_config *nvv_simgpu_get_config(const struct nvv_simgpu *g)
{
        return &g->cfg;
}

const struct nvv_fwabi *nvv_simgpu_get_fwabi(const struct nvv_simgpu *g)
{
        return g->fw;
}

void nvv_simgpu_get_handles(const struct nvv_simgpu *g, struct nvv_handles *ret)
{
        *ret = g->handles;
}

/* ---- GSP side ---- */

static uint32_t status_value(const struct nvv_fwabi *fw, const char *name)
{
        for (size_t i = 0; i < fw->n_status; i++)
                if (streq(fw->status[i].name, name))
                        return fw->status[i].value;
        /* A name this release does not know: the generic error, or 0xffff as nvstatuscodes.h has it. */
        for (size_t i = 0; i < fw->n_status; i++)
                if (streq(fw->status[i].name, "NV_ERR_GENERIC"))
                        return fw->status[i].value;
        return 0xffff;
}

static bool status_known(const struct nvv_fwabi *fw, const char *name)
{
        for (size_t i = 0; i < fw->n_status; i++)
                if (streq(fw->status[i].name, name))
                        return true;
        return false;
}

/* Edit distance (insert, delete, substitute), for naming the status a misspelt one meant;
 * names are short (< 64), so one row of 64 suffices. */
static size_t edit_distance(const char *a, const char *b)
{
        size_t la = MIN(strlen(a), (size_t) 63), lb = MIN(strlen(b), (size_t) 63), row[64];

        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t diag = row[0];

                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

                        best = MIN(best, up + 1);
                        best = MIN(best, row[j - 1] + 1);
                        diag = up;
                        row[j] = best;
                }
        }
        return row[lb];
}

static const char *status_closest(const struct nvv_fwabi *fw, const char *name)
{
        const char *best = NULL;
        size_t best_d = SIZE_MAX;

        for (size_t i = 0; i < fw->n_status; i++) {
                size_t d = edit_distance(name, fw->status[i].name);

                if (d < best_d) {
                        best = fw->status[i].name;
                        best_d = d;
                }
        }
        /* A name far from every known one is no spelling slip: suggest nothing. */
        return best && best_d <= MAX(strlen(name) / 4, (size_t) 2) ? best : NULL;
}

static void on_engine_event(void *userdata, int event, const union nvv_cmd_any *payload)
{
        struct nvv_simgpu *g = userdata;

        if (is_gone(g))
                return;         /* a removed GPU tells nobody anything */
        if (g->n_events >= MAX_PENDING_EVENTS) {
                g->bad_messages++;
                log_debug("GPU %u: event queue full, event %d dropped", g->cfg.index, event);
                return;
        }
        g->events[g->n_events].event = event;
        g->events[g->n_events].payload = *payload;
        g->n_events++;
}

static int ensure_reply_cap(struct nvv_simgpu *g, size_t n)
{
        uint8_t *b;

        if (n <= g->gsp_reply_cap)
                return 0;
        b = realloc(g->gsp_reply, n);
        if (!b)
                return -ENOMEM;
        g->gsp_reply = b;
        g->gsp_reply_cap = n;
        return 0;
}

/* The status-queue interrupt. While an RPC is in flight its submitter polls the ring itself
 * and the interrupt is masked, as the core driver does; otherwise the handler thread is woken.
 * Waking it for every answer would cost two context switches per RPC. */
static void raise_irq(struct nvv_simgpu *g)
{
        /* Pairs with the fence in nvv_simgpu_rpc(): either it sees what was written, or we
         * see that it is no longer polling. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(&g->rpc_active, __ATOMIC_SEQ_CST))
                return;
        pthread_mutex_lock(&g->lock);
        g->irq_pending = true;
        pthread_cond_broadcast(&g->idle_cv);
        pthread_mutex_unlock(&g->lock);
}

/* Send events that fit now; the rest wait for the next wake-up. Never blocks: a status ring
 * nobody drains must not wedge the firmware. */
static void flush_events(struct nvv_simgpu *g)
{
        size_t sent = 0;
        bool wrote = false;

        if (is_gone(g)) {
                g->n_events = 0;
                return;
        }
        while (sent < g->n_events) {
                uint8_t buf[512];
                size_t len;
                char err[128];
                uint32_t records, seq = g->gsp_tx_seq;
                int r;

                r = nvv_rpc_encode_event(g->fw, g->events[sent].event, &g->events[sent].payload, g->gsp_event_seq, buf,
                                         sizeof(buf), &len, err, sizeof(err));
                if (r < 0) {
                        log_debug("GPU %u: event not sent: %s", g->cfg.index, err);
                        sent++;
                        continue;
                }
                records = nvv_msgq_records(g->fw, len);
                if (records != 1 || nvv_ring_used(&g->stat_g) + DIV_ROUND_UP(g->fw->queue.el_header_size + len,
                                                                            g->fw->queue.element_size) >=
                                            g->stat_g.count - 1)
                        break;
                r = nvv_ring_send_rpc(&g->stat_g, g->fw, buf, len, &seq, g->gsp_work, 0);
                if (r < 0)
                        break;
                g->gsp_tx_seq = seq;
                g->gsp_event_seq++;
                g->events_sent++;
                sent++;
                wrote = true;
        }
        memmove(g->events, g->events + sent, (g->n_events - sent) * sizeof(*g->events));
        g->n_events -= sent;
        if (wrote)
                raise_irq(g);
}

static uint32_t *object_gfid(struct nvv_simgpu *g, uint32_t handle)
{
        for (size_t i = 0; i < g->n_objects; i++)
                if (g->objects[i].handle == handle)
                        return &g->objects[i].gfid;
        return NULL;
}

static void forget_object(struct nvv_simgpu *g, uint32_t handle)
{
        for (size_t i = 0; i < g->n_objects; i++)
                if (g->objects[i].handle == handle) {
                        g->objects[i] = g->objects[--g->n_objects];
                        return;
                }
}

static struct nvv_fault *match_fault(struct nvv_simgpu *g, int cmd)
{
        for (size_t i = 0; i < g->n_faults; i++) {
                struct nvv_fault *f = &g->faults[i];

                if (f->cmd == NVV_FAULT_ANY_CMD || f->cmd == cmd)
                        return f;
        }
        return NULL;
}

static void consume_fault(struct nvv_simgpu *g, struct nvv_fault *f)
{
        if (f->count == 0)
                return;
        if (--f->count == 0) {
                size_t i = (size_t) (f - g->faults);

                memmove(&g->faults[i], &g->faults[i + 1], (g->n_faults - i - 1) * sizeof(*f));
                g->n_faults--;
        }
}

static void gsp_sleep(struct nvv_simgpu *g, uint32_t ms)
{
        uint64_t until = now_ns() + (uint64_t) ms * 1000000u;

        while (!stopping(g) && now_ns() < until) {
                struct timespec ts = { 0, 5 * 1000000L };

                nanosleep(&ts, NULL);
        }
}

/* The firmware lost everything: forget RM objects too. */
static void gsp_reset(struct nvv_simgpu *g)
{
        (void) nvv_gsp_reset(g->engine);
        g->n_objects = 0;
        nvv_reasm_reset(g->gsp_reasm);
}

static void engine_config(const struct nvv_simgpu *g, struct nvv_gsp_config *ret)
{
        *ret = g->cfg.gsp;
        if (!ret->firmware_version[0])
                snprintf(ret->firmware_version, sizeof(ret->firmware_version), "%s", g->cfg.release);
}

/* Power lost or restored (unplug, plug): the firmware as it boots, with no host tasks, no
 * type table and no vGPUs, and no GSP-reset event (a GPU that was away announces nothing
 * through its queue; its arrival is a PCI uevent). Armed faults stay: they belong to the
 * test, not to the GPU. */
static int power_cycle(struct nvv_simgpu *g)
{
        struct nvv_gsp_config gc;
        struct nvv_gsp *e;
        int r;

        engine_config(g, &gc);
        r = nvv_gsp_new(&gc, g->fw, &e);
        if (r < 0)
                return r;
        nvv_gsp_set_event_fn(e, on_engine_event, g);
        nvv_gsp_free(g->engine);
        g->engine = e;
        g->n_objects = 0;
        g->n_events = 0;
        nvv_reasm_reset(g->gsp_reasm);
        return 0;
}

/* RM's checks of an allocation's parent (serverAllocResourceUnderLock in
 * src/nvidia/src/kernel/rmapi/alloc_free.c): a handle the client does not hold is
 * NV_ERR_OBJECT_NOT_FOUND; an object of a class the allocated class may not live under is
 * NV_ERR_INVALID_OBJECT_PARENT. Which class that is comes from the release description. */
static const char *check_parent(struct nvv_simgpu *g, const struct nvv_alloc *a, uint32_t parent)
{
        const struct {
                enum nvv_object kind;
                uint32_t handle;
        } held[] = {
                { NVV_OBJ_CLIENT, g->handles.client },
                { NVV_OBJ_DEVICE, g->handles.device },
                { NVV_OBJ_SUBDEVICE, g->handles.subdevice },
        };

        for (size_t i = 0; i < ELEMENTSOF(held); i++)
                if (held[i].handle == parent)
                        return held[i].kind == a->parent ? "NV_OK" : "NV_ERR_INVALID_OBJECT_PARENT";
        if (object_gfid(g, parent))
                return a->parent == NVV_OBJ_HOST_VGPU_DEVICE ? "NV_OK" : "NV_ERR_INVALID_OBJECT_PARENT";
        return "NV_ERR_OBJECT_NOT_FOUND";
}

/* Run one command; *ret_status is the release's status value. */
static void execute(struct nvv_simgpu *g, const struct nvv_rpc_request *req, uint32_t *ret_status)
{
        const struct nvv_binding *b = g->fw->commands[req->cmd];
        union nvv_cmd_any *io = g->gsp_io;
        const char *st = "NV_OK";
        uint32_t *gfid;

        if (req->client != g->handles.client && !(req->is_function && req->cmd == NVV_CMD_FREE_OBJECT &&
                                                   io->free_object.client == g->handles.client)) {
                *ret_status = status_value(g->fw, "NV_ERR_INVALID_CLIENT");
                return;
        }
        switch (req->cmd) {
        case NVV_CMD_FREE_OBJECT:
                gfid = object_gfid(g, io->free_object.object);
                if (!gfid) {
                        st = "NV_ERR_INVALID_OBJECT_HANDLE";
                        break;
                }
                (void) nvv_gsp_free_host_vgpu(g->engine, *gfid, &st);
                if (streq(st, "NV_OK"))
                        forget_object(g, io->free_object.object);
                break;
        case NVV_CMD_ALLOC_HOST_VGPU:
                st = check_parent(g, b->alloc, req->parent);
                if (!streq(st, "NV_OK"))
                        break;
                if (object_gfid(g, req->object) || g->n_objects >= ELEMENTSOF(g->objects)) {
                        st = "NV_ERR_INSERT_DUPLICATE_NAME";
                        break;
                }
                (void) nvv_gsp_handle(g->engine, req->cmd, io, &st);
                if (streq(st, "NV_OK"))
                        g->objects[g->n_objects++] = (struct object_map) { req->object, io->alloc_host_vgpu.gfid };
                break;
        default:
                if (b->control && b->control->object == NVV_OBJ_HOST_VGPU_DEVICE) {
                        gfid = object_gfid(g, req->object);
                        if (!gfid) {
                                st = "NV_ERR_INVALID_OBJECT_HANDLE";
                                break;
                        }
                        (void) nvv_gsp_handle_device(g->engine, *gfid, req->cmd, io, &st);
                } else
                        (void) nvv_gsp_handle(g->engine, req->cmd, io, &st);
                break;
        }
        *ret_status = status_value(g->fw, st);
}

static int write_reply(struct nvv_simgpu *g, const uint8_t *reply, size_t len, const struct nvv_fault *f)
{
        const struct nvv_queue_desc *q = &g->fw->queue;
        int r;

        if (!f || (f->kind != NVV_FAULT_CHECKSUM && f->kind != NVV_FAULT_GARBAGE)) {
                uint32_t records = nvv_msgq_records(g->fw, len);

                /* One interrupt per record, as the GSP raises them: a long answer whose RPC
                 * gave up is then drained by the handler instead of filling the queue. */
                for (uint32_t i = 0; i < records; i++) {
                        r = nvv_msgq_frame_record(g->fw, reply, len, i, g->gsp_tx_seq, g->gsp_work, g->msg_cap);
                        if (r < 0)
                                return r;
                        if (i > 0)
                                raise_irq(g);
                        r = nvv_ring_write(&g->stat_g, g->gsp_work, (uint32_t) r, -1);
                        if (r < 0)
                                return r;
                        g->gsp_tx_seq++;
                }
                return 0;
        }
        /* A damaged first message: either its checksum, or the RPC inside it. */
        r = nvv_msgq_frame_record(g->fw, reply, len, 0, g->gsp_tx_seq, g->gsp_work, g->msg_cap);
        if (r < 0)
                return r;
        if (f->kind == NVV_FAULT_CHECKSUM)
                g->gsp_work[q->el_header_size + q->rpc_header_size] ^= 0x5a;
        else {
                for (size_t i = q->el_header_size; i < (size_t) r * q->element_size; i++)
                        g->gsp_work[i] = (uint8_t) (i * 37 + 11);
                nvv_role_set(&q->el_checksum, g->gsp_work, 0);
                nvv_role_set(&q->el_checksum, g->gsp_work, nvv_msgq_checksum(g->gsp_work, (size_t) r * q->element_size));
        }
        g->gsp_tx_seq++;
        return nvv_ring_write(&g->stat_g, g->gsp_work, (uint32_t) r, -1);
}

static int send_reply(struct nvv_simgpu *g, const uint8_t *reply, size_t len, const struct nvv_fault *f)
{
        int r = write_reply(g, reply, len, f);

        raise_irq(g);
        return r;
}

/* FNV-1a over what sysfs shows of each vGPU: its id, name, type and host device. */
static uint64_t vgpu_signature(const struct nvv_simgpu *g)
{
        struct nvv_gsp_vgpu_info v;
        struct nvv_gsp_state st;
        uint64_t h = 0xcbf29ce484222325ull;

        /* The type table and the mode decide what is creatable: part of what sysfs shows. */
        nvv_gsp_get_state(g->engine, &st);
        h = (h ^ st.n_types) * 0x100000001b3ull;
        h = (h ^ st.heterogeneous_mode) * 0x100000001b3ull;

        for (size_t i = 0; nvv_gsp_get_vgpu(g->engine, i, &v) == 0; i++) {
                uint32_t w[4] = { v.vgpu_id, v.type_id, v.gfid, v.named };
                const uint8_t *p = (const uint8_t *) w;

                for (size_t k = 0; k < sizeof(w); k++)
                        h = (h ^ p[k]) * 0x100000001b3ull;
                for (size_t k = 0; k < sizeof(v.name); k++)
                        h = (h ^ v.name[k]) * 0x100000001b3ull;
        }
        return h;
}

static void notify_change(struct nvv_simgpu *g)
{
        uint64_t sig = vgpu_signature(g);

        if (sig == g->vgpu_sig)
                return;
        g->vgpu_sig = sig;
        pthread_mutex_lock(&g->lock);
        if (g->change_fn)
                g->change_fn(g->change_ud, g);
        pthread_mutex_unlock(&g->lock);
}

void nvv_simgpu_set_change_fn(struct nvv_simgpu *g, nvv_simgpu_change_fn fn, void *userdata)
{
        pthread_mutex_lock(&g->lock);
        g->change_fn = fn;
        g->change_ud = userdata;
        pthread_mutex_unlock(&g->lock);
}

static void handle_request(struct nvv_simgpu *g, const uint8_t *rpc, size_t len)
{
        const struct nvv_queue_desc *q = &g->fw->queue;
        struct nvv_rpc_request req;
        struct nvv_fault fault_copy, *f = NULL;
        uint32_t status = 0;
        size_t rlen;
        char err[256];
        int r;

        g->rpcs_handled++;
        /* No memset of gsp_io (170 KB, the size of a type upload): decoding zeroes the one
         * command's struct, and nothing reads it when no command was decoded. */
        r = nvv_rpc_parse_request(g->fw, rpc, len, &req, g->gsp_io, err, sizeof(err));
        if (r < 0 && r != -EOPNOTSUPP) {
                /* Not even a request we can answer: the firmware drops it. */
                log_debug("GPU %u: request dropped: %s", g->cfg.index, err);
                g->bad_messages++;
                return;
        }
        if (r == -EOPNOTSUPP || req.cmd < 0)
                status = status_value(g->fw, "NV_ERR_NOT_SUPPORTED");
        else {
                f = match_fault(g, req.cmd);
                if (f) {
                        fault_copy = *f;
                        consume_fault(g, f);
                        f = &fault_copy;
                        log_debug("GPU %u: fault '%s' on '%s'", g->cfg.index, nvv_fault_kind_to_string(f->kind),
                                  nvv_cmd_to_string(req.cmd));
                }
                if (f && f->kind == NVV_FAULT_RESET) {
                        gsp_reset(g);
                        notify_change(g);
                        flush_events(g);
                        return;
                }
                if (f && f->kind == NVV_FAULT_STATUS)
                        status = status_value(g->fw, f->status);
                else
                        execute(g, &req, &status);
        }
        if (f && f->kind == NVV_FAULT_DELAY)
                gsp_sleep(g, f->arg);
        if (ensure_reply_cap(g, len) < 0)
                return;
        if (r == -EOPNOTSUPP) {
                /* A function we do not serve: the same header back with the status. */
                memcpy(g->gsp_reply, rpc, q->rpc_header_size);
                nvv_role_set(&q->rpc_length, g->gsp_reply, q->rpc_header_size);
                nvv_role_set(&q->rpc_result, g->gsp_reply, status);
                rlen = q->rpc_header_size;
        } else {
                bool fn = req.is_function || req.cmd < 0;

                r = nvv_rpc_encode_reply(g->fw, rpc, len, &req, status == 0 && req.cmd >= 0 ? g->gsp_io : NULL,
                                         fn ? status : 0, fn ? 0 : status, g->gsp_reply, g->gsp_reply_cap, &rlen, err,
                                         sizeof(err));
                if (r < 0) {
                        log_debug("GPU %u: reply not encoded: %s", g->cfg.index, err);
                        g->bad_messages++;
                        return;
                }
        }
        if (f && f->kind == NVV_FAULT_TRUNCATE) {
                /* Cut after the control header: the params are missing. */
                rlen = MIN(rlen, (size_t) q->rpc_header_size + q->ctl_header_size);
                nvv_role_set(&q->rpc_length, g->gsp_reply, rlen);
        }
        /* Before the answer: whoever reads sysfs after hearing it sees the change. */
        notify_change(g);
        if (!(f && f->kind == NVV_FAULT_DROP)) {
                r = send_reply(g, g->gsp_reply, rlen, f);
                if (r < 0)
                        return;
        }
        flush_events(g);
}

static void run_actions(struct nvv_simgpu *g)
{
        pthread_mutex_lock(&g->lock);
        __atomic_store_n(&g->kick, 0, __ATOMIC_RELEASE);
        for (size_t i = 0; i < g->n_actions; i++) {
                struct action *a = g->actions[i];

                a->result = 0;
                if (a->kind == ACT_STATUS) {
                        struct nvv_simgpu_status *s = a->status;

                        nvv_gsp_get_state(g->engine, &s->state);
                        s->n_vgpus = 0;
                        while (s->n_vgpus < NVV_MAX_VGPUS &&
                               nvv_gsp_get_vgpu(g->engine, s->n_vgpus, &s->vgpus[s->n_vgpus]) == 0)
                                s->n_vgpus++;
                        s->n_types = 0;
                        for (const struct nvv_vgpu_type *t;
                             !a->vgpus_only && s->n_types < NVV_MAX_VGPU_TYPES &&
                             (t = nvv_gsp_get_type(g->engine, s->n_types));
                             s->n_types++) {
                                s->type_ids[s->n_types] = t->type_id;
                                s->creatable[s->n_types] = nvv_gsp_creatable(g->engine, t->type_id);
                                s->available[s->n_types] = nvv_gsp_available(g->engine, t->type_id);
                        }
                        s->rpcs_handled = g->rpcs_handled;
                        s->events_sent = g->events_sent;
                        s->bad_messages = g->bad_messages;
                } else if (a->kind == ACT_HOST_RPC) {
                        if (is_gone(g)) {
                                a->result = -ENODEV;
                                nvv_errf(a->err, sizeof(a->err), "GPU %u is unplugged", g->cfg.index);
                        } else {
                                a->result = nvv_gsp_host_message(g->engine, a->gfid, a->message, &a->rpc_result);
                                if (a->result == -ENOENT)
                                        nvv_errf(a->err, sizeof(a->err), "gfid %u has no host vGPU device", a->gfid);
                                else if (a->result == -ESRCH)
                                        nvv_errf(a->err, sizeof(a->err), "the plugin of gfid %u is not running",
                                                 a->gfid);
                        }
                } else if (a->fault.kind == NVV_FAULT_UNPLUG) {
                        if (is_gone(g)) {
                                a->result = -EALREADY;
                                nvv_errf(a->err, sizeof(a->err), "GPU %u is unplugged already", g->cfg.index);
                        } else {
                                /* First gone, so that nothing the old firmware still says
                                 * reaches anyone; then the waiting RPCs are woken. */
                                __atomic_store_n(&g->gone, 1, __ATOMIC_RELEASE);
                                nvv_ring_wake_all(&g->cmd_k);
                                nvv_ring_wake_all(&g->stat_k);
                                /* Out of memory, the old state stays until the plug
                                 * boots it afresh (or fails to). */
                                if (power_cycle(g) < 0)
                                        log_debug("GPU %u: unplugged; its firmware state stays until a plug",
                                                  g->cfg.index);
                        }
                } else if (a->fault.kind == NVV_FAULT_PLUG) {
                        if (!is_gone(g)) {
                                a->result = -EALREADY;
                                nvv_errf(a->err, sizeof(a->err), "GPU %u is plugged in already", g->cfg.index);
                        } else {
                                a->result = power_cycle(g);
                                if (a->result < 0)
                                        nvv_errf(a->err, sizeof(a->err), "GPU %u cannot boot: %s", g->cfg.index,
                                                 strerror(-a->result));
                                else
                                        __atomic_store_n(&g->gone, 0, __ATOMIC_RELEASE);
                        }
                } else if (a->fault.kind == NVV_FAULT_RESET && nvv_fault_is_immediate(&a->fault)) {
                        gsp_reset(g);
                } else if (a->fault.kind == NVV_FAULT_CRASH) {
                        a->result = nvv_gsp_crash_plugin(g->engine, a->fault.arg);
                        if (a->result == -ENOENT)
                                nvv_errf(a->err, sizeof(a->err), "gfid %u has no host vGPU device", a->fault.arg);
                        else if (a->result == -ESRCH)
                                nvv_errf(a->err, sizeof(a->err), "the plugin of gfid %u is not running", a->fault.arg);
                } else if (g->n_faults < ELEMENTSOF(g->faults)) {
                        g->faults[g->n_faults++] = a->fault;
                } else {
                        a->result = -ENOSPC;
                        nvv_errf(a->err, sizeof(a->err), "too many armed faults");
                }
                a->done = true;
        }
        g->n_actions = 0;
        pthread_cond_broadcast(&g->action_cv);
        pthread_mutex_unlock(&g->lock);
        flush_events(g);
}

static void *gsp_main(void *userdata)
{
        struct nvv_simgpu *g = userdata;
        const struct nvv_queue_desc *q = &g->fw->queue;

        g->vgpu_sig = vgpu_signature(g);
        for (;;) {
                const uint8_t *rpc;
                size_t rlen;
                char err[256];
                int n, r;

                if (g->n_events)
                        flush_events(g);
                n = nvv_ring_peek(&g->cmd_g, g->gsp_work, g->msg_cap, -1);
                if (n == -ECANCELED || stopping(g))
                        break;
                if (n == -EAGAIN) {
                        run_actions(g);
                        notify_change(g);
                        continue;
                }
                if (n < 0) {
                        g->bad_messages++;
                        continue;
                }
                r = nvv_msgq_unframe(g->fw, g->gsp_work, (size_t) n * q->element_size, g->gsp_rx_seq, &rpc, &rlen, err,
                                     sizeof(err));
                if (r == -EPROTO && strstr(err, "sequence")) {
                        /* Resynchronise on the sender's numbering. */
                        r = nvv_msgq_unframe(g->fw, g->gsp_work, (size_t) n * q->element_size, UINT32_MAX, &rpc, &rlen,
                                             err, sizeof(err));
                }
                if (r < 0) {
                        /* Drop only the first element: a damaged count must not swallow what follows. */
                        log_debug("GPU %u: bad command message: %s", g->cfg.index, err);
                        g->bad_messages++;
                        nvv_ring_consume(&g->cmd_g, 1);
                        nvv_reasm_reset(g->gsp_reasm);
                        continue;
                }
                nvv_ring_consume(&g->cmd_g, (uint32_t) n);
                g->gsp_rx_seq = (uint32_t) nvv_role_get(&q->el_sequence, g->gsp_work) + 1;
                r = nvv_reasm_feed(g->gsp_reasm, rpc, rlen, err, sizeof(err));
                if (r < 0) {
                        log_debug("GPU %u: reassembly failed: %s", g->cfg.index, err);
                        g->bad_messages++;
                        continue;
                }
                if (r == 1) {
                        size_t l;
                        const uint8_t *full = nvv_reasm_data(g->gsp_reasm, &l);

                        handle_request(g, full, l);
                }
        }
        return NULL;
}

/* ---- kernel side ---- */

enum { READ_EVENT = 1, READ_REPLY = 2 };

/* Read one complete RPC from the status ring. Events go to the listeners. */
static int kernel_read(struct nvv_simgpu *g, int timeout_ms, const uint8_t **ret_rpc, size_t *ret_len, char *err,
                       size_t errlen)
{
        const struct nvv_queue_desc *q = &g->fw->queue;

        for (;;) {
                const uint8_t *rpc;
                size_t rlen;
                int n, r;
                struct nvv_rpc_view v;

                n = nvv_ring_peek(&g->stat_k, g->k_work, g->msg_cap, timeout_ms);
                if (n == -EBADMSG) {
                        nvv_errf(err, errlen, "a status queue message has an impossible element count");
                        return n;
                }
                if (n < 0)
                        return n;
                r = nvv_msgq_unframe(g->fw, g->k_work, (size_t) n * q->element_size, UINT32_MAX, &rpc, &rlen, err, errlen);
                if (r < 0) {
                        /* The whole damaged message goes: its elements would only read as
                         * more bad messages. */
                        nvv_ring_consume(&g->stat_k, (uint32_t) n);
                        nvv_reasm_reset(g->k_reasm);
                        return -EBADMSG;
                }
                nvv_ring_consume(&g->stat_k, (uint32_t) n);
                g->k_rx_seq = (uint32_t) nvv_role_get(&q->el_sequence, g->k_work) + 1;
                r = nvv_reasm_feed(g->k_reasm, rpc, rlen, err, errlen);
                if (r < 0)
                        return -EBADMSG;
                if (r == 0)
                        continue;
                rpc = nvv_reasm_data(g->k_reasm, &rlen);
                if (nvv_rpc_view(g->fw, rpc, rlen, &v, NULL, 0) == 0 && nvv_rpc_is_event(g->fw, v.function)) {
                        size_t nl;

                        pthread_mutex_lock(&g->lock);
                        nl = is_gone(g) ? 0 : g->n_listeners;
                        for (size_t i = 0; i < nl; i++)
                                g->listeners[i].fn(g->listeners[i].userdata, g, rpc, rlen);
                        pthread_mutex_unlock(&g->lock);
                        *ret_rpc = rpc;
                        *ret_len = rlen;
                        return READ_EVENT;
                }
                *ret_rpc = rpc;
                *ret_len = rlen;
                return READ_REPLY;
        }
}

/* The core driver's interrupt handler: drains the status ring for event listeners while no
 * RPC is in flight (an RPC's submitter reads its own answer, without a hand-off; see
 * raise_irq()). */
static void *irq_main(void *userdata)
{
        struct nvv_simgpu *g = userdata;

        for (;;) {
                const uint8_t *rpc;
                size_t len;
                char err[256];
                int r;

                pthread_mutex_lock(&g->lock);
                while (!stopping(g) && (g->rpc_active || !g->irq_pending))
                        pthread_cond_wait(&g->idle_cv, &g->lock);
                if (stopping(g)) {
                        pthread_mutex_unlock(&g->lock);
                        break;
                }
                g->irq_pending = false;
                g->reading = true;
                pthread_mutex_unlock(&g->lock);
                while (nvv_ring_used(&g->stat_k) > 0) {
                        r = kernel_read(g, 0, &rpc, &len, err, sizeof(err));
                        if (r == READ_REPLY)
                                log_debug("GPU %u: an answer arrived with no RPC waiting; dropped", g->cfg.index);
                        else if (r < 0 && r != -ETIMEDOUT)
                                log_debug("GPU %u: status queue: %s", g->cfg.index, err);
                        /* A bad message is consumed; keep draining what follows it. */
                        if (r < 0 && r != -EBADMSG)
                                break;
                }
                pthread_mutex_lock(&g->lock);
                g->reading = false;
                pthread_cond_broadcast(&g->reader_cv);
                pthread_mutex_unlock(&g->lock);
        }
        return NULL;
}

int nvv_simgpu_rpc(struct nvv_simgpu *g, const void *rpc, size_t len, int timeout_ms, void *reply, size_t reply_cap,
                   size_t *ret_len, char *err, size_t errlen)
{
        const struct nvv_queue_desc *q = &g->fw->queue;
        struct nvv_rpc_view v;
        uint64_t deadline;
        int r;

        assert_return(g && rpc && reply && ret_len, -EINVAL);
        r = nvv_rpc_view(g->fw, rpc, len, &v, err, errlen);
        if (r < 0)
                return r;
        if (len > NVV_MSGQ_MAX_RPC) {
                nvv_errf(err, errlen, "RPC of %zu bytes is larger than the queue accepts", len);
                return -E2BIG;
        }
        if (is_gone(g))
                return unplugged_error(g, err, errlen);
        pthread_mutex_lock(&g->submit_lock);
        pthread_mutex_lock(&g->lock);
        __atomic_store_n(&g->rpc_active, true, __ATOMIC_SEQ_CST);
        while (g->reading)
                pthread_cond_wait(&g->reader_cv, &g->lock);
        pthread_mutex_unlock(&g->lock);

        deadline = timeout_ms >= 0 ? now_ns() + (uint64_t) timeout_ms * 1000000u : UINT64_MAX;
        r = nvv_ring_send_rpc(&g->cmd_k, g->fw, rpc, len, &g->k_tx_seq, g->k_work, timeout_ms);
        if (r == -ETIMEDOUT)
                nvv_errf(err, errlen, "the command queue stayed full for %d ms", timeout_ms);
        else if (r == -EAGAIN) /* the kick: the GPU went away */
                r = unplugged_error(g, err, errlen);
        while (r == 0) {
                const uint8_t *ans;
                size_t alen;
                uint64_t now = now_ns();
                int k;

                if (now >= deadline) {
                        r = -ETIMEDOUT;
                        nvv_errf(err, errlen, "no answer within %d ms", timeout_ms);
                        break;
                }
                if (stopping(g)) {
                        r = -ECANCELED;
                        break;
                }
                k = kernel_read(g, deadline == UINT64_MAX ? -1 : (int) ((deadline - now + 999999) / 1000000), &ans, &alen,
                                err, errlen);
                if (k == -ETIMEDOUT) {
                        r = -ETIMEDOUT;
                        nvv_errf(err, errlen, "no answer within %d ms", timeout_ms);
                        break;
                }
                if (k == -EAGAIN || (k == READ_EVENT && is_gone(g))) {
                        /* Unplugged while waiting: a message cut short stays behind. */
                        nvv_reasm_reset(g->k_reasm);
                        r = unplugged_error(g, err, errlen);
                        break;
                }
                if (k < 0) {
                        r = k;
                        break;
                }
                if (k == READ_EVENT) {
                        struct nvv_rpc_view ev;

                        if (g->reset_event && nvv_rpc_view(g->fw, ans, alen, &ev, NULL, 0) == 0 &&
                            ev.function == g->reset_event) {
                                r = -ECONNRESET;
                                nvv_errf(err, errlen, "the GSP reset while the RPC was pending");
                                break;
                        }
                        continue;
                }
                {
                        struct nvv_rpc_view av;

                        if (nvv_rpc_view(g->fw, ans, alen, &av, NULL, 0) < 0 || av.sequence != v.sequence) {
                                log_debug("GPU %u: dropping a stale answer", g->cfg.index);
                                continue;
                        }
                }
                if (alen > reply_cap) {
                        r = -ENOBUFS;
                        nvv_errf(err, errlen, "answer of %zu bytes does not fit %zu", alen, reply_cap);
                        break;
                }
                memcpy(reply, ans, alen);
                *ret_len = alen;
                break;
        }
        (void) q;
        pthread_mutex_lock(&g->lock);
        __atomic_store_n(&g->rpc_active, false, __ATOMIC_SEQ_CST);
        /* Unmask: what arrived after our answer (an event) is the handler's now. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (nvv_ring_used(&g->stat_k) > 0) {
                g->irq_pending = true;
                pthread_cond_broadcast(&g->idle_cv);
        }
        pthread_mutex_unlock(&g->lock);
        pthread_mutex_unlock(&g->submit_lock);
        return r;
}

int nvv_simgpu_submit_raw(struct nvv_simgpu *g, const void *data, size_t len, int timeout_ms)
{
        const struct nvv_queue_desc *q = &g->fw->queue;
        const uint8_t *p = data;
        size_t off = 0;
        int r = 0;

        if (is_gone(g))
                return -ENODEV;
        pthread_mutex_lock(&g->submit_lock);
        while (off < len && r == 0) {
                size_t chunk = MIN(len - off, (size_t) g->cmd_k.max_elements * q->element_size);
                uint32_t n = (uint32_t) DIV_ROUND_UP(chunk, q->element_size);

                memset(g->k_work, 0, (size_t) n * q->element_size);
                memcpy(g->k_work, p + off, chunk);
                r = nvv_ring_write(&g->cmd_k, g->k_work, n, timeout_ms);
                off += chunk;
        }
        pthread_mutex_unlock(&g->submit_lock);
        return r;
}

int nvv_simgpu_add_listener(struct nvv_simgpu *g, nvv_simgpu_event_fn fn, void *userdata)
{
        int r = 0;

        pthread_mutex_lock(&g->lock);
        if (g->n_listeners >= MAX_LISTENERS)
                r = -ENOSPC;
        else {
                g->listeners[g->n_listeners].fn = fn;
                g->listeners[g->n_listeners].userdata = userdata;
                g->n_listeners++;
        }
        pthread_mutex_unlock(&g->lock);
        return r;
}

void nvv_simgpu_remove_listener(struct nvv_simgpu *g, nvv_simgpu_event_fn fn, void *userdata)
{
        pthread_mutex_lock(&g->lock);
        for (size_t i = 0; i < g->n_listeners; i++)
                if (g->listeners[i].fn == fn && g->listeners[i].userdata == userdata) {
                        g->listeners[i] = g->listeners[--g->n_listeners];
                        break;
                }
        pthread_mutex_unlock(&g->lock);
}

static int post_action(struct nvv_simgpu *g, struct action *a)
{
        pthread_mutex_lock(&g->lock);
        if (g->n_actions >= MAX_ACTIONS) {
                pthread_mutex_unlock(&g->lock);
                return -EBUSY;
        }
        g->actions[g->n_actions++] = a;
        __atomic_store_n(&g->kick, 1, __ATOMIC_RELEASE);
        nvv_ring_wake_all(&g->cmd_k);
        while (!a->done && !stopping(g))
                pthread_cond_wait(&g->action_cv, &g->lock);
        pthread_mutex_unlock(&g->lock);
        return a->done ? 0 : -ECANCELED;
}

int nvv_simgpu_inject(struct nvv_simgpu *g, const struct nvv_fault *f, char *err, size_t errlen)
{
        struct action a = { .kind = ACT_FAULT, .fault = *f };
        int r;

        if (f->cmd >= 0 && !g->fw->commands[f->cmd]) {
                nvv_errf(err, errlen, "firmware %s has no '%s' to fault", g->fw->release, nvv_cmd_to_string(f->cmd));
                return -EOPNOTSUPP;
        }
        /* The status must be one the release's description names: anything else would be
         * answered as NV_ERR_GENERIC, which is not what the spec asked for. */
        if (f->kind == NVV_FAULT_STATUS && !status_known(g->fw, f->status)) {
                const char *near = status_closest(g->fw, f->status);

                if (near)
                        nvv_errf(err, errlen, "firmware %s has no status '%s' (did you mean '%s'?)", g->fw->release,
                                 f->status, near);
                else
                        nvv_errf(err, errlen, "firmware %s has no status '%s'", g->fw->release, f->status);
                return -EINVAL;
        }
        /* Nothing fires on a GPU that is not there; armed faults wait for a command, which
         * can only come after a plug. */
        if (nvv_fault_is_immediate(f) && f->kind != NVV_FAULT_PLUG && f->kind != NVV_FAULT_UNPLUG && is_gone(g))
                return unplugged_error(g, err, errlen);
        r = post_action(g, &a);
        if (r < 0)
                return r;
        if (a.result < 0)
                nvv_errf(err, errlen, "%s", a.err);
        return a.result;
}

int nvv_simgpu_get_status(struct nvv_simgpu *g, struct nvv_simgpu_status *ret)
{
        struct action a = { .kind = ACT_STATUS, .status = ret };

        return post_action(g, &a);
}

int nvv_simgpu_host_rpc(struct nvv_simgpu *g, uint32_t gfid, uint32_t message, uint32_t *ret_result, char *err,
                        size_t errlen)
{
        struct action a = { .kind = ACT_HOST_RPC, .gfid = gfid, .message = message };
        int r;

        r = post_action(g, &a);
        if (r < 0)
                return r;
        if (a.result < 0) {
                nvv_errf(err, errlen, "%s", a.err);
                return a.result;
        }
        *ret_result = a.rpc_result;
        return 0;
}

int nvv_simgpu_get_vgpus(struct nvv_simgpu *g, struct nvv_simgpu_status *ret)
{
        struct action a = { .kind = ACT_STATUS, .status = ret, .vgpus_only = true };

        return post_action(g, &a);
}

/* ---- life cycle ---- */

struct nvv_simgpu *nvv_simgpu_free(struct nvv_simgpu *g)
{
        if (!g)
                return NULL;
        __atomic_store_n(&g->stop, true, __ATOMIC_RELEASE);
        if (g->mem) {
                nvv_ring_wake_all(&g->cmd_k);
                nvv_ring_wake_all(&g->stat_k);
        }
        pthread_mutex_lock(&g->lock);
        pthread_cond_broadcast(&g->idle_cv);
        pthread_cond_broadcast(&g->action_cv);
        pthread_mutex_unlock(&g->lock);
        if (g->gsp_started)
                pthread_join(g->gsp_thread, NULL);
        if (g->irq_started)
                pthread_join(g->irq_thread, NULL);
        nvv_gsp_free(g->engine);
        nvv_reasm_free(g->gsp_reasm);
        nvv_reasm_free(g->k_reasm);
        free(g->gsp_work);
        free(g->k_work);
        free(g->gsp_reply);
        free(g->gsp_io);
        free(g->events);
        if (g->mem)
                munmap(g->mem, g->mem_size);
        safe_close(g->memfd);
        pthread_mutex_destroy(&g->submit_lock);
        pthread_mutex_destroy(&g->lock);
        pthread_cond_destroy(&g->idle_cv);
        pthread_cond_destroy(&g->reader_cv);
        pthread_cond_destroy(&g->action_cv);
        free(g);
        return NULL;
}

int nvv_simgpu_new(const struct nvv_simgpu_config *cfg, const struct nvv_fwabi *fw, struct nvv_simgpu **ret)
{
        _cleanup_(nvv_simgpu_freep) struct nvv_simgpu *g = NULL;
        const struct nvv_queue_desc *q = &fw->queue;
        const struct nvv_event_binding *rb;
        struct nvv_gsp_config gc;
        int r;

        assert_return(cfg && fw && ret, -EINVAL);
        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->memfd = -EBADF;
        g->cfg = *cfg;
        g->fw = fw;
        pthread_mutex_init(&g->submit_lock, NULL);
        pthread_mutex_init(&g->lock, NULL);
        pthread_cond_init(&g->idle_cv, NULL);
        pthread_cond_init(&g->reader_cv, NULL);
        pthread_cond_init(&g->action_cv, NULL);
        /* Handles the core driver allocated on the manager's behalf; distinct per GPU. */
        g->handles = (struct nvv_handles) {
                .client = 0xc1d00000u | (cfg->index & 0xff) << 8 | 1,
                .device = 0xde000000u | (cfg->index & 0xff) << 8 | 1,
                .subdevice = 0x5d000000u | (cfg->index & 0xff) << 8 | 1,
        };
        rb = fw->event_bindings[NVV_EVENT_GSP_RESET];
        g->reset_event = rb ? rb->number : 0;

        g->msg_cap = (size_t) q->element_size * q->max_elements;
        g->mem_size = 2 * (size_t) q->queue_size;
        g->memfd = memfd_create("nvvgpu-sim-queue", MFD_CLOEXEC);
        if (g->memfd < 0)
                return -errno;
        if (ftruncate(g->memfd, (off_t) g->mem_size) < 0)
                return -errno;
        g->mem = mmap(NULL, g->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, g->memfd, 0);
        if (g->mem == MAP_FAILED) {
                g->mem = NULL;
                return -errno;
        }
        /* The core driver formats both queues; the GSP attaches and checks their headers. */
        if ((r = nvv_ring_format(&g->cmd_k, g->mem, q)) < 0 ||
            (r = nvv_ring_format(&g->stat_k, g->mem + q->queue_size, q)) < 0 ||
            (r = nvv_ring_attach(&g->cmd_g, g->mem, q)) < 0 ||
            (r = nvv_ring_attach(&g->stat_g, g->mem + q->queue_size, q)) < 0)
                return r;
        g->cmd_k.stop = g->stat_k.stop = g->cmd_g.stop = g->stat_g.stop = &g->stop;
        g->cmd_g.kick = &g->kick;
        g->cmd_k.kick = g->stat_k.kick = &g->gone;

        engine_config(g, &gc);
        r = nvv_gsp_new(&gc, fw, &g->engine);
        if (r < 0)
                return r;
        nvv_gsp_set_event_fn(g->engine, on_engine_event, g);
        if ((r = nvv_reasm_new(fw, &g->gsp_reasm)) < 0 || (r = nvv_reasm_new(fw, &g->k_reasm)) < 0)
                return r;
        g->gsp_work = malloc(g->msg_cap);
        g->k_work = malloc(g->msg_cap);
        g->gsp_io = malloc(sizeof(*g->gsp_io));
        g->events = calloc(MAX_PENDING_EVENTS, sizeof(*g->events));
        if (!g->gsp_work || !g->k_work || !g->gsp_io || !g->events || ensure_reply_cap(g, 65536) < 0)
                return -ENOMEM;
        r = -pthread_create(&g->gsp_thread, NULL, gsp_main, g);
        if (r < 0)
                return r;
        g->gsp_started = true;
        /* The core driver's interrupt handler is there from the start, as in the kernel: an
         * answer that comes after its RPC gave up (a timeout, a bad first element) is read and
         * dropped, so a status queue nobody polls never wedges the firmware. */
        r = -pthread_create(&g->irq_thread, NULL, irq_main, g);
        if (r < 0)
                return r;
        g->irq_started = true;
        *ret = TAKE_PTR(g);
        return 0;
}
