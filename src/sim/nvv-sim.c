/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "nvv-catalog.h"
#include "nvv-fault.h"
#include "nvv-sim.h"
#include "nvv-simproto.h"
#include "util.h"

#define MAX_GPUS 64
#define MAX_CONNECTIONS 64
#define DEFAULT_KERNEL_TIMEOUT_MS 60000
#define MAX_HOST_FILE (256u * 1024u)

#define MAX_QUEUED_RPCS 64      /* per GPU per connection; more is refused with EBUSY */

/* An RPC waiting for its GPU's worker. */
struct job {
        struct job *next;
        uint32_t tag;
        int timeout_ms;
        size_t len;
        uint8_t data[];
};

/* One connection carries the RPCs of every GPU: each GPU's run in order on a worker thread
 * of their own, so a slow or dropped RPC on one GPU does not hold up the others. */
struct worker {
        struct connection *c;
        uint32_t gpu;
        pthread_t thread;
        bool started;
        struct job *head, *tail;
        size_t n;
        pthread_cond_t cv;
};

struct connection {
        struct nvv_sim *sim;
        int fd;
        pthread_t thread;
        pthread_mutex_t write_lock;
        pthread_mutex_t jobs_lock;   /* the workers' queues and `closing` */
        bool closing;
        struct worker workers[MAX_GPUS];
        bool subscribed[MAX_GPUS];
        bool done;
        uint64_t events_dropped;
};

struct nvv_sim {
        struct nvv_fwdb *db;
        struct nvv_catalog *catalog;
        size_t n_gpus;
        struct nvv_simgpu *gpus[MAX_GPUS];
        char *socket_path;
        int listen_fd;
        pthread_t accept_thread;
        bool accepting;
        bool stop;                   /* atomic: read by every connection thread */
        pthread_mutex_t lock;
        struct connection *conns[MAX_CONNECTIONS];
        size_t n_conns;
        struct nvv_sim_counters counters;  /* atomics */
};

void nvv_sim_get_counters(const struct nvv_sim *s, struct nvv_sim_counters *ret)
{
        *ret = (struct nvv_sim_counters) {
                .connections = __atomic_load_n(&s->counters.connections, __ATOMIC_RELAXED),
                .hellos = __atomic_load_n(&s->counters.hellos, __ATOMIC_RELAXED),
                .rpcs = __atomic_load_n(&s->counters.rpcs, __ATOMIC_RELAXED),
        };
}

size_t nvv_sim_gpu_count(const struct nvv_sim *s)
{
        return s->n_gpus;
}

struct nvv_simgpu *nvv_sim_get_gpu(const struct nvv_sim *s, size_t i)
{
        return i < s->n_gpus ? s->gpus[i] : NULL;
}

const struct nvv_fwdb *nvv_sim_get_fwdb(const struct nvv_sim *s)
{
        return s->db;
}

const struct nvv_catalog *nvv_sim_get_catalog(const struct nvv_sim *s)
{
        return s->catalog;
}

/* ---- GPUs ---- */

static int add_gpu(struct nvv_sim *s, const char *model, const char *release, const char *bdf, char **reterr)
{
        const struct nvv_catalog_gpu *cg = nvv_catalog_find_gpu(s->catalog, model);
        const struct nvv_fwabi *fw;
        struct nvv_catalog_sizing sz;
        struct nvv_simgpu_config cfg = { .index = (uint32_t) s->n_gpus };
        _cleanup_free_ char *msg = NULL;
        int r;

        if (s->n_gpus >= MAX_GPUS)
                return nvv_fail(reterr, "more than %d GPUs", MAX_GPUS);
        if (!cg)
                return nvv_fail(reterr, "GPU %zu: unknown model '%s' (the catalog in %s has no such GPU)", s->n_gpus, model,
                            nvv_catalog_default_dir());
        if (!release)
                release = nvv_fwdb_get(s->db, nvv_fwdb_count(s->db) - 1)->release;
        fw = nvv_fwdb_match(s->db, release, &msg);
        if (!fw)
                return nvv_fail(reterr, "GPU %zu (%s): %s", s->n_gpus, cg->short_name, msg ? msg : "no description");
        r = nvv_catalog_gpu_sizing(cg, fw, false, &sz);
        if (r < 0)
                return nvv_fail(reterr, "GPU %zu (%s): cannot size it for firmware %s", s->n_gpus, cg->short_name, release);
        snprintf(cfg.model, sizeof(cfg.model), "%s", cg->model);
        snprintf(cfg.release, sizeof(cfg.release), "%s", release);
        if (bdf)
                snprintf(cfg.bdf, sizeof(cfg.bdf), "%s", bdf);
        else
                snprintf(cfg.bdf, sizeof(cfg.bdf), "0000:%02zx:00.0", 0x41 + s->n_gpus);
        cfg.pci_vendor = cg->n_pci ? cg->pci[0].vendor : 0x10de;
        cfg.pci_device = cg->n_pci ? cg->pci[0].device : 0;
        cfg.gsp = (struct nvv_gsp_config) {
                .fb_total = sz.fb_total, .fb_reserved = sz.fb_reserved, .vmmu_segment = sz.vmmu_segment,
                .placement_units = sz.placement_units, .num_vfs = MIN(sz.num_vfs, (uint32_t) NVV_MAX_VGPUS),
                .total_chids = sz.total_chids, .gpu_pci_id = (uint32_t) cfg.pci_device << 16 | cfg.pci_vendor,
                .gpu_pci_bdf = 0,
        };
        {
                unsigned dom, bus, dev, fn;

                if (sscanf(cfg.bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) == 4)
                        cfg.gsp.gpu_pci_bdf = dom << 16 | bus << 8 | dev << 3 | fn;
        }
        snprintf(cfg.gsp.firmware_version, sizeof(cfg.gsp.firmware_version), "%s", release);
        r = nvv_simgpu_new(&cfg, fw, &s->gpus[s->n_gpus]);
        if (r < 0)
                return nvv_fail(reterr, "GPU %zu (%s): cannot start: %s", s->n_gpus, cg->short_name, strerror(-r));
        s->n_gpus++;
        return 0;
}

static int add_gpus_from_spec(struct nvv_sim *s, const char *spec, char **reterr)
{
        _cleanup_strv_free_ char **items = NULL;
        int r;

        if (strlen(spec) > 4096)
                return nvv_fail(reterr, "GPU spec longer than 4096 bytes");
        r = strv_split(spec, ',', &items);
        if (r < 0)
                return r == -ENOMEM ? r : nvv_fail(reterr, "GPU spec '%s' has an empty item", spec);
        for (char **i = items; *i; i++) {
                char *model = *i, *release = NULL, *p;
                uint32_t count = 1;

                if ((p = strchr(model, '*'))) {
                        *p = '\0';
                        if (safe_atou32(p + 1, &count) < 0 || count == 0 || count > MAX_GPUS)
                                return nvv_fail(reterr, "GPU spec '%s': count '%s' must be 1..%d", *i, p + 1, MAX_GPUS);
                }
                if ((p = strchr(model, '@'))) {
                        *p = '\0';
                        release = p + 1;
                        if (!nvv_release_is_valid(release))
                                return nvv_fail(reterr, "GPU spec: '%s' is not a firmware release", release);
                }
                if (!*model)
                        return nvv_fail(reterr, "GPU spec: an item has no model");
                for (uint32_t k = 0; k < count; k++) {
                        r = add_gpu(s, model, release, NULL, reterr);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int add_gpus_from_file(struct nvv_sim *s, const char *path, char **reterr)
{
        _cleanup_free_ char *data = NULL;
        struct json_tokener *tok;
        json_object *root, *gpus;
        size_t size;
        int r;

        r = read_full_file(path, MAX_HOST_FILE, &data, &size);
        if (r < 0)
                return nvv_fail(reterr, "%s: %s", path, r == -EFBIG ? "larger than 256 KiB" : read_full_file_strerror(r));
        tok = json_tokener_new_ex(8);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        root = json_tokener_parse_ex(tok, data, (int) size);
        if (!root || json_tokener_get_error(tok) != json_tokener_success) {
                r = nvv_fail(reterr, "%s: invalid JSON: %s", path, json_tokener_error_desc(json_tokener_get_error(tok)));
                json_tokener_free(tok);
                json_object_put(root);
                return r;
        }
        json_tokener_free(tok);
        if (!json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "gpus", &gpus) ||
            !json_object_is_type(gpus, json_type_array)) {
                json_object_put(root);
                return nvv_fail(reterr, "%s: expected {\"gpus\": [...]}", path);
        }
        for (size_t i = 0; i < json_object_array_length(gpus); i++) {
                json_object *g = json_object_array_get_idx(gpus, i), *v;
                const char *model = NULL, *release = NULL, *bdf = NULL;
                int64_t count = 1;

                if (!json_object_is_type(g, json_type_object)) {
                        r = nvv_fail(reterr, "%s: gpus[%zu]: expected an object", path, i);
                        goto out;
                }
                json_object_object_foreach(g, k, x) {
                        if (!streq(k, "model") && !streq(k, "release") && !streq(k, "count") && !streq(k, "bdf")) {
                                r = nvv_fail(reterr, "%s: gpus[%zu]: unknown key '%s'", path, i, k);
                                goto out;
                        }
                        (void) x;
                }
                if (!json_object_object_get_ex(g, "model", &v) || !json_object_is_type(v, json_type_string)) {
                        r = nvv_fail(reterr, "%s: gpus[%zu].model: a string is required", path, i);
                        goto out;
                }
                model = json_object_get_string(v);
                if (json_object_object_get_ex(g, "release", &v)) {
                        if (!json_object_is_type(v, json_type_string) || !nvv_release_is_valid(json_object_get_string(v))) {
                                r = nvv_fail(reterr, "%s: gpus[%zu].release: not a firmware release", path, i);
                                goto out;
                        }
                        release = json_object_get_string(v);
                }
                if (json_object_object_get_ex(g, "bdf", &v)) {
                        if (!json_object_is_type(v, json_type_string) || strlen(json_object_get_string(v)) != 12) {
                                r = nvv_fail(reterr, "%s: gpus[%zu].bdf: expected \"DDDD:BB:DD.F\"", path, i);
                                goto out;
                        }
                        bdf = json_object_get_string(v);
                }
                if (json_object_object_get_ex(g, "count", &v)) {
                        count = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
                        if (count < 1 || count > MAX_GPUS || (bdf && count != 1)) {
                                r = nvv_fail(reterr, "%s: gpus[%zu].count: 1..%d (1 when a bdf is given)", path, i, MAX_GPUS);
                                goto out;
                        }
                }
                for (int64_t n = 0; n < count; n++) {
                        r = add_gpu(s, model, release, bdf, reterr);
                        if (r < 0)
                                goto out;
                }
        }
        r = 0;
out:
        json_object_put(root);
        return r;
}

/* ---- socket server ---- */

static void on_event(void *userdata, struct nvv_simgpu *g, const uint8_t *rpc, size_t len)
{
        struct connection *c = userdata;
        uint32_t idx = nvv_simgpu_get_config(g)->index;

        if (idx >= MAX_GPUS || !c->subscribed[idx])
                return;
        pthread_mutex_lock(&c->write_lock);
        if (nvv_simproto_send(c->fd, NVV_SIMPROTO_EVENT, idx, 0, 0, rpc, len, true) < 0)
                c->events_dropped++;
        pthread_mutex_unlock(&c->write_lock);
}

static int send_locked(struct connection *c, uint16_t type, uint32_t gpu, uint32_t tag, const void *p, size_t len)
{
        int r;

        pthread_mutex_lock(&c->write_lock);
        r = nvv_simproto_send(c->fd, type, gpu, tag, 0, p, len, false);
        pthread_mutex_unlock(&c->write_lock);
        return r;
}

static int send_error(struct connection *c, uint32_t gpu, uint32_t tag, int error, const char *msg)
{
        size_t ml = strlen(msg);
        _cleanup_free_ uint8_t *b = malloc(4 + ml);

        if (!b)
                return -ENOMEM;
        b[0] = (uint8_t) error;
        b[1] = (uint8_t) (error >> 8);
        b[2] = (uint8_t) (error >> 16);
        b[3] = (uint8_t) (error >> 24);
        memcpy(b + 4, msg, ml);
        return send_locked(c, NVV_SIMPROTO_ERROR, gpu, tag, b, 4 + ml);
}

static json_object *info_json(struct nvv_sim *s)
{
        json_object *root = json_object_new_object(), *arr = json_object_new_array();

        for (size_t i = 0; i < s->n_gpus; i++) {
                const struct nvv_simgpu_config *c = nvv_simgpu_get_config(s->gpus[i]);
                struct nvv_handles h;
                json_object *o = json_object_new_object(), *ho = json_object_new_object();

                nvv_simgpu_get_handles(s->gpus[i], &h);
                json_object_object_add(o, "index", json_object_new_int64(c->index));
                json_object_object_add(o, "bdf", json_object_new_string(c->bdf));
                json_object_object_add(o, "model", json_object_new_string(c->model));
                json_object_object_add(o, "vendor", json_object_new_int64(c->pci_vendor));
                json_object_object_add(o, "device", json_object_new_int64(c->pci_device));
                json_object_object_add(o, "release", json_object_new_string(c->release));
                json_object_object_add(ho, "client", json_object_new_int64(h.client));
                json_object_object_add(ho, "device", json_object_new_int64(h.device));
                json_object_object_add(ho, "subdevice", json_object_new_int64(h.subdevice));
                json_object_object_add(o, "handles", ho);
                json_object_array_add(arr, o);
        }
        json_object_object_add(root, "gpus", arr);
        return root;
}

static json_object *status_json(struct nvv_simgpu *g)
{
        _cleanup_free_ struct nvv_simgpu_status *st = calloc(1, sizeof(*st));
        json_object *o, *arr;

        if (!st || nvv_simgpu_get_status(g, st) < 0)
                return NULL;
        o = json_object_new_object();
        arr = json_object_new_array();
        json_object_object_add(o, "heterogeneous_mode", json_object_new_boolean(st->state.heterogeneous_mode));
        json_object_object_add(o, "types", json_object_new_int64((int64_t) st->state.n_types));
        {
                json_object *sup = json_object_new_array(), *cre = json_object_new_array();

                for (size_t i = 0; i < st->n_types; i++) {
                        json_object_array_add(sup, json_object_new_int64(st->type_ids[i]));
                        if (st->creatable[i])
                                json_object_array_add(cre, json_object_new_int64(st->type_ids[i]));
                }
                json_object_object_add(o, "supported_types", sup);
                json_object_object_add(o, "creatable_types", cre);
        }
        json_object_object_add(o, "rpcs", json_object_new_int64((int64_t) st->rpcs_handled));
        json_object_object_add(o, "events", json_object_new_int64((int64_t) st->events_sent));
        json_object_object_add(o, "bad_messages", json_object_new_int64((int64_t) st->bad_messages));
        for (size_t i = 0; i < st->n_vgpus; i++) {
                json_object *v = json_object_new_object();

                json_object_object_add(v, "vgpu_id", json_object_new_int64(st->vgpus[i].vgpu_id));
                json_object_object_add(v, "type_id", json_object_new_int64(st->vgpus[i].type_id));
                json_object_object_add(v, "placement_id", json_object_new_int64(st->vgpus[i].placement_id));
                json_object_object_add(v, "fb_offset", json_object_new_int64((int64_t) st->vgpus[i].fb_offset));
                json_object_object_add(v, "fb_length", json_object_new_int64((int64_t) st->vgpus[i].fb_length));
                json_object_object_add(v, "gfid", json_object_new_int64(st->vgpus[i].gfid));
                json_object_object_add(v, "task", json_object_new_string(nvv_gsp_task_to_string(st->vgpus[i].task)));
                json_object_array_add(arr, v);
        }
        json_object_object_add(o, "vgpus", arr);
        return o;
}

static void run_rpc(struct connection *c, uint32_t gpu, const struct job *j)
{
        _cleanup_free_ uint8_t *reply = NULL;
        size_t cap = MAX(j->len, (size_t) 65536), len = 0;
        char err[512] = "";
        int r;

        reply = malloc(cap);
        if (!reply) {
                (void) send_error(c, gpu, j->tag, ENOMEM, "out of memory");
                return;
        }
        r = nvv_simgpu_rpc(c->sim->gpus[gpu], j->data, j->len, j->timeout_ms, reply, cap, &len, err, sizeof(err));
        if (r < 0)
                (void) send_error(c, gpu, j->tag, -r, err[0] ? err : strerror(-r));
        else
                (void) send_locked(c, NVV_SIMPROTO_REPLY, gpu, j->tag, reply, len);
}

static void *worker_main(void *userdata)
{
        struct worker *w = userdata;
        struct connection *c = w->c;

        pthread_mutex_lock(&c->jobs_lock);
        for (;;) {
                struct job *j;

                while (!w->head && !c->closing)
                        pthread_cond_wait(&w->cv, &c->jobs_lock);
                if (c->closing)
                        break;
                j = w->head;
                w->head = j->next;
                if (!w->head)
                        w->tail = NULL;
                w->n--;
                pthread_mutex_unlock(&c->jobs_lock);
                run_rpc(c, w->gpu, j);
                free(j);
                pthread_mutex_lock(&c->jobs_lock);
        }
        pthread_mutex_unlock(&c->jobs_lock);
        return NULL;
}

/* Hand an RPC to its GPU's worker (started on the GPU's first RPC). */
static int queue_rpc(struct connection *c, const struct nvv_simproto_rx *rx, int timeout_ms)
{
        struct worker *w = &c->workers[rx->first.gpu];
        struct job *j;
        int r = 0;

        j = malloc(sizeof(*j) + rx->have);
        if (!j)
                return -ENOMEM;
        *j = (struct job) { .tag = rx->first.tag, .timeout_ms = timeout_ms, .len = rx->have };
        memcpy(j->data, rx->data, rx->have);
        pthread_mutex_lock(&c->jobs_lock);
        if (w->n >= MAX_QUEUED_RPCS)
                r = -EBUSY;
        else if (!w->started) {
                w->c = c;
                w->gpu = rx->first.gpu;
                pthread_cond_init(&w->cv, NULL);
                if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
                        pthread_cond_destroy(&w->cv);
                        r = -EAGAIN;
                } else
                        w->started = true;
        }
        if (r == 0) {
                if (w->tail)
                        w->tail->next = j;
                else
                        w->head = j;
                w->tail = j;
                w->n++;
                pthread_cond_signal(&w->cv);
        }
        pthread_mutex_unlock(&c->jobs_lock);
        if (r < 0)
                free(j);
        return r;
}

static void stop_workers(struct connection *c)
{
        pthread_mutex_lock(&c->jobs_lock);
        c->closing = true;
        for (size_t i = 0; i < MAX_GPUS; i++)
                if (c->workers[i].started)
                        pthread_cond_signal(&c->workers[i].cv);
        pthread_mutex_unlock(&c->jobs_lock);
        for (size_t i = 0; i < MAX_GPUS; i++) {
                struct worker *w = &c->workers[i];

                if (!w->started)
                        continue;
                pthread_join(w->thread, NULL);
                while (w->head) {
                        struct job *j = w->head;

                        w->head = j->next;
                        free(j);
                }
                pthread_cond_destroy(&w->cv);
                w->started = false;
        }
}

static void serve_message(struct connection *c, const struct nvv_simproto_rx *rx)
{
        struct nvv_sim *s = c->sim;
        const struct nvv_simproto_header *h = &rx->first;
        int r;

        switch (h->type) {
        case NVV_SIMPROTO_HELLO: {
                json_object *o = info_json(s);
                const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

                __atomic_add_fetch(&s->counters.hellos, 1, __ATOMIC_RELAXED);
                (void) send_locked(c, NVV_SIMPROTO_INFO, NVV_SIMPROTO_ALL_GPUS, h->tag, t, strlen(t));
                json_object_put(o);
                break;
        }
        case NVV_SIMPROTO_RPC: {
                int timeout = h->timeout_ms ? (int) MIN(h->timeout_ms, 600000u) : DEFAULT_KERNEL_TIMEOUT_MS;

                if (h->gpu >= s->n_gpus) {
                        (void) send_error(c, h->gpu, h->tag, ENODEV, "no such GPU");
                        break;
                }
                __atomic_add_fetch(&s->counters.rpcs, 1, __ATOMIC_RELAXED);
                r = queue_rpc(c, rx, timeout);
                if (r == -EBUSY)
                        (void) send_error(c, h->gpu, h->tag, EBUSY, "too many RPCs queued for this GPU");
                else if (r < 0)
                        (void) send_error(c, h->gpu, h->tag, -r, strerror(-r));
                break;
        }
        case NVV_SIMPROTO_SUBSCRIBE:
                for (size_t i = 0; i < s->n_gpus; i++) {
                        if (h->gpu != NVV_SIMPROTO_ALL_GPUS && h->gpu != i)
                                continue;
                        if (!c->subscribed[i]) {
                                r = nvv_simgpu_add_listener(s->gpus[i], on_event, c);
                                if (r < 0) {
                                        (void) send_error(c, (uint32_t) i, h->tag, -r, "cannot subscribe");
                                        return;
                                }
                                c->subscribed[i] = true;
                        }
                }
                if (h->gpu != NVV_SIMPROTO_ALL_GPUS && h->gpu >= s->n_gpus)
                        (void) send_error(c, h->gpu, h->tag, ENODEV, "no such GPU");
                else
                        (void) send_locked(c, NVV_SIMPROTO_ACK, h->gpu, h->tag, NULL, 0);
                break;
        case NVV_SIMPROTO_FAULT: {
                _cleanup_free_ char *msg = NULL;

                r = nvv_sim_inject(s, (const char *) rx->data, &msg);
                if (r < 0)
                        (void) send_error(c, h->gpu, h->tag, -r, msg ? msg : strerror(-r));
                else
                        (void) send_locked(c, NVV_SIMPROTO_ACK, h->gpu, h->tag, NULL, 0);
                break;
        }
        case NVV_SIMPROTO_STATUS: {
                json_object *o;
                const char *t;

                if (h->gpu >= s->n_gpus) {
                        (void) send_error(c, h->gpu, h->tag, ENODEV, "no such GPU");
                        break;
                }
                o = status_json(s->gpus[h->gpu]);
                if (!o) {
                        (void) send_error(c, h->gpu, h->tag, EIO, "cannot read the firmware's state");
                        break;
                }
                t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
                (void) send_locked(c, NVV_SIMPROTO_STATUS_INFO, h->gpu, h->tag, t, strlen(t));
                json_object_put(o);
                break;
        }
        default:
                (void) send_error(c, h->gpu, h->tag, EOPNOTSUPP, "unexpected packet type");
                break;
        }
}

static void *connection_main(void *userdata)
{
        struct connection *c = userdata;
        struct nvv_simproto_rx rx;

        nvv_simproto_rx_init(&rx, NVV_SIMPROTO_MAX_PAYLOAD);
        while (!__atomic_load_n(&c->sim->stop, __ATOMIC_ACQUIRE)) {
                char err[256];
                int r = nvv_simproto_recv(c->fd, &rx, -1, err, sizeof(err));

                if (r == -ECONNRESET || r == -EBADF || r == -EINVAL || r == -ENOTCONN)
                        break;
                if (r < 0) {
                        log_debug("sim: client sent a bad packet: %s", err);
                        (void) send_error(c, NVV_SIMPROTO_ALL_GPUS, 0, -r, err);
                        continue;
                }
                serve_message(c, &rx);
        }
        nvv_simproto_rx_done(&rx);
        stop_workers(c);
        for (size_t i = 0; i < c->sim->n_gpus; i++)
                if (c->subscribed[i])
                        nvv_simgpu_remove_listener(c->sim->gpus[i], on_event, c);
        pthread_mutex_lock(&c->sim->lock);
        c->done = true;
        pthread_mutex_unlock(&c->sim->lock);
        return NULL;
}

static void reap_connections(struct nvv_sim *s, bool all)
{
        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->n_conns;) {
                struct connection *c = s->conns[i];

                if (!c->done && !all) {
                        i++;
                        continue;
                }
                s->conns[i] = s->conns[--s->n_conns];
                pthread_mutex_unlock(&s->lock);
                if (all)
                        shutdown(c->fd, SHUT_RDWR);
                pthread_join(c->thread, NULL);
                safe_close(c->fd);
                pthread_mutex_destroy(&c->jobs_lock);
                pthread_mutex_destroy(&c->write_lock);
                free(c);
                pthread_mutex_lock(&s->lock);
        }
        pthread_mutex_unlock(&s->lock);
}

static void *accept_main(void *userdata)
{
        struct nvv_sim *s = userdata;

        while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
                struct connection *c;
                int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);

                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        break;
                }
                reap_connections(s, false);
                c = calloc(1, sizeof(*c));
                pthread_mutex_lock(&s->lock);
                if (!c || s->n_conns >= MAX_CONNECTIONS) {
                        pthread_mutex_unlock(&s->lock);
                        free(c);
                        close(fd);
                        continue;
                }
                c->sim = s;
                c->fd = fd;
                pthread_mutex_init(&c->write_lock, NULL);
                pthread_mutex_init(&c->jobs_lock, NULL);
                if (pthread_create(&c->thread, NULL, connection_main, c) != 0) {
                        pthread_mutex_unlock(&s->lock);
                        pthread_mutex_destroy(&c->jobs_lock);
                        pthread_mutex_destroy(&c->write_lock);
                        free(c);
                        close(fd);
                        continue;
                }
                s->conns[s->n_conns++] = c;
                __atomic_add_fetch(&s->counters.connections, 1, __ATOMIC_RELAXED);
                pthread_mutex_unlock(&s->lock);
        }
        return NULL;
}

static int listen_on(struct nvv_sim *s, const char *path, char **reterr)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;

        if (strlen(path) >= sizeof(sa.sun_path))
                return nvv_fail(reterr, "socket path '%s' is too long", path);
        strcpy(sa.sun_path, path);
        s->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (s->listen_fd < 0)
                return -errno;
        /* A socket left by an earlier run is replaced; anything else is refused. */
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return nvv_fail(reterr, "'%s' exists and is not a socket", path);
                (void) unlink(path);
        }
        if (bind(s->listen_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return nvv_fail(reterr, "cannot bind '%s': %s", path, strerror(errno));
        if (listen(s->listen_fd, 16) < 0)
                return nvv_fail(reterr, "cannot listen on '%s': %s", path, strerror(errno));
        s->socket_path = strdup(path);
        if (!s->socket_path)
                return -ENOMEM;
        if (pthread_create(&s->accept_thread, NULL, accept_main, s) != 0)
                return -EAGAIN;
        s->accepting = true;
        return 0;
}

int nvv_sim_inject(struct nvv_sim *s, const char *spec, char **reterr_msg)
{
        _cleanup_free_ struct nvv_fault *faults = NULL;
        size_t n = 0;
        int r;

        r = nvv_fault_parse(spec, &faults, &n, reterr_msg);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char first_err[256] = "";
                size_t armed = 0, first_gpu = 0;
                int first_r = 0;

                if (faults[i].gpu != NVV_FAULT_ANY_GPU && (size_t) faults[i].gpu >= s->n_gpus)
                        return nvv_fail(reterr_msg, "fault for GPU %d, but there are %zu GPUs", faults[i].gpu, s->n_gpus);
                for (size_t g = 0; g < s->n_gpus; g++) {
                        char err[256] = "";

                        if (faults[i].gpu != NVV_FAULT_ANY_GPU && (size_t) faults[i].gpu != g)
                                continue;
                        r = nvv_simgpu_inject(s->gpus[g], &faults[i], err, sizeof(err));
                        /* A fault for any GPU skips GPUs whose release lacks the command or the
                         * status, as long as one GPU takes it. */
                        if ((r == -EOPNOTSUPP || r == -EINVAL) && faults[i].gpu == NVV_FAULT_ANY_GPU && s->n_gpus > 1) {
                                if (first_r == 0) {
                                        first_r = r;
                                        first_gpu = g;
                                        snprintf(first_err, sizeof(first_err), "%s", err);
                                }
                                continue;
                        }
                        if (r < 0) {
                                nvv_fail(reterr_msg, "GPU %zu: %s", g, err[0] ? err : strerror(-r));
                                return r;
                        }
                        armed++;
                }
                if (armed == 0 && first_r < 0) {
                        nvv_fail(reterr_msg, "no GPU takes the fault; GPU %zu: %s", first_gpu,
                                 first_err[0] ? first_err : strerror(-first_r));
                        return first_r;
                }
        }
        return 0;
}

struct nvv_sim *nvv_sim_stop(struct nvv_sim *s)
{
        if (!s)
                return NULL;
        __atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
        if (s->accepting) {
                shutdown(s->listen_fd, SHUT_RDWR);
                pthread_join(s->accept_thread, NULL);
        }
        reap_connections(s, true);
        safe_close(s->listen_fd);
        if (s->socket_path)
                (void) unlink(s->socket_path);
        free(s->socket_path);
        for (size_t i = 0; i < s->n_gpus; i++)
                nvv_simgpu_free(s->gpus[i]);
        nvv_catalog_free(s->catalog);
        nvv_fwdb_free(s->db);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
}

int nvv_sim_start(const struct nvv_sim_options *o, struct nvv_sim **ret, char **reterr_msg)
{
        _cleanup_(nvv_sim_stopp) struct nvv_sim *s = NULL;
        int r;

        assert_return(o && ret, -EINVAL);
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->listen_fd = -EBADF;
        pthread_mutex_init(&s->lock, NULL);
        if ((r = nvv_fwdb_new(&s->db)) < 0 || (r = nvv_catalog_new(&s->catalog)) < 0)
                return r;
        for (char **d = o->fwabi_dirs; d && *d; d++) {
                r = nvv_fwdb_load_dir(s->db, *d, reterr_msg);
                if (r < 0)
                        return r;
        }
        r = nvv_fwdb_load_default(s->db, reterr_msg);
        if (r < 0 && !(r == -ENOENT && o->fwabi_dirs && nvv_fwdb_count(s->db) > 0))
                return r;
        if (nvv_fwdb_count(s->db) == 0)
                return nvv_fail(reterr_msg, "no firmware release descriptions found");
        r = o->catalog_dir ? nvv_catalog_load_dir(s->catalog, o->catalog_dir, reterr_msg)
                           : nvv_catalog_load_default(s->catalog, reterr_msg);
        if (r < 0)
                return r;
        if (o->gpus && o->gpus_file)
                return nvv_fail(reterr_msg, "give the GPUs either as a spec or as a file, not both");
        r = o->gpus_file ? add_gpus_from_file(s, o->gpus_file, reterr_msg)
                         : add_gpus_from_spec(s, o->gpus ? o->gpus : "L40S", reterr_msg);
        if (r < 0)
                return r;
        if (o->faults) {
                r = nvv_sim_inject(s, o->faults, reterr_msg);
                if (r < 0)
                        return r;
        }
        if (o->socket_path) {
                r = listen_on(s, o->socket_path, reterr_msg);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}
