/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nvv-catalog.h"
#include "nvv-fault.h"
#include "nvv-sim.h"
#include "nvv-simfs.h"
#include "nvv-sysfsmsg.h"
#include "nvv-evqueue.h"
#include "nvv-simproto.h"
#include "nvv-simvmgmt.h"
#include "nvv-sock.h"
#include "util.h"

#define MAX_GPUS 64
#define MAX_CONNECTIONS 64
#define DEFAULT_KERNEL_TIMEOUT_MS 60000
#define MAX_HOST_FILE (256u * 1024u)

#define MAX_QUEUED_RPCS 64      /* per GPU per connection; more is refused with EBUSY */
/* A client must send its first request (HELLO, or a one-shot FAULT/STATUS) this soon after
 * connecting, or it is told so and dropped: idle connections would hold slots of the
 * MAX_CONNECTIONS for nothing. */
#define DEFAULT_HELLO_TIMEOUT_MS 5000
/* A client that leaves an answer or an event unread this long is dropped: the server's
 * threads never wait on a client for longer. */
#define DEFAULT_SEND_TIMEOUT_MS 5000
/* A sysfs write the manager has not answered this soon fails with ETIMEDOUT. */
#define DEFAULT_SYSFS_TIMEOUT_MS 30000
/* Queue entries of a connection's event thread: the GPU index, with this bit for a uevent. */
#define UEVENT_MARK 0x80000000u

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
        bool uevents;                /* atomic: UEVENT messages go to it */
        bool done;
        bool broken;                 /* a send failed or timed out: the socket is shut down */
        struct ucred peer;
        /* Events wait here for the connection's event thread: the GPU's listener only queues
         * (under ev_lock, never held across a send), so a client that does not read cannot
         * hold up the GPU. Full, an event is dropped and counted (events.dropped). */
        pthread_mutex_t ev_lock;
        pthread_cond_t ev_cv;
        struct nvv_evqueue events;
        pthread_t ev_thread;
        bool ev_started, ev_stop;
};

struct nvv_sim {
        struct nvv_fwdb *db;
        struct nvv_catalog *catalog;
        size_t n_gpus;
        struct nvv_simgpu *gpus[MAX_GPUS];
        /* GPUs that offer the upstream vGPU-management interface (nvv-simvmgmt.h) instead of
         * RPCs; NULL for the others. */
        struct nvv_simvmgmt *vmgmt[MAX_GPUS];
        char *socket_path;
        dev_t socket_dev;            /* the socket we bound, so stop removes only ours */
        ino_t socket_ino;
        int listen_fd;
        int hello_timeout_ms, send_timeout_ms;
        bool allow_gid;
        gid_t socket_gid;
        pthread_t accept_thread;
        bool accepting;
        bool stop;                   /* atomic: read by every connection thread */
        pthread_mutex_t lock;
        struct connection *conns[MAX_CONNECTIONS];
        size_t n_conns;
        struct nvv_sim_counters counters;  /* atomics */

        /* The sysfs half of the kernel contract (doc/kernel-interface.md §3). */
        const struct nvv_catalog_gpu *models[MAX_GPUS];
        bool vf_model[MAX_GPUS];
        struct nvv_simfs *simfs;
        int sysfs_timeout_ms;
        uint64_t sysfs_gen;          /* atomic: moves when what sysfs shows may have changed */
        pthread_mutex_t sysfs_lock;  /* everything below */
        pthread_cond_t sysfs_cv;     /* an answer came, the manager left, the simulator stops */
        struct connection *manager;  /* the one connection sysfs requests go to */
        struct sysfs_pending *pending;
        uint32_t next_request;
        size_t n_types[MAX_GPUS];
        struct nvv_sysfs_type *types[MAX_GPUS];
        bool sysfs_closing;          /* stopping: no more forwarding */
        /* uevents: what the last look saw, per GPU. Their own lock: the GPUs' threads take
         * it to note a change, and must never wait behind a forwarded write. */
        pthread_mutex_t uevent_lock;
        pthread_cond_t uevent_cv;
        pthread_t uevent_thread;
        bool uevent_started, uevent_stop, uevent_dirty;
        uint64_t seqnum;             /* atomic */
        /* The mdevs last announced, per GPU; look_lock keeps a look and an unplug or plug
         * (which announce by themselves) from interleaving their uevents. */
        pthread_mutex_t look_lock;
        size_t n_seen[MAX_GPUS];
        struct nvv_simfs_vgpu *seen[MAX_GPUS];
};

/* A write held for the manager's answer. */
struct sysfs_pending {
        struct sysfs_pending *next;
        int gpu;
        uint32_t id;
        bool done;
        int error;
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

/* "upstream" (the status in the reply) or "upstream-eio" (the draft driver's EIO) in place of
 * a release: 1, 2; 0 for anything else. */
static int upstream_flag(const char *release)
{
        return !release ? 0 : streq(release, "upstream") ? 1 : streq(release, "upstream-eio") ? 2 : 0;
}

static int add_vmgmt(struct nvv_sim *s, size_t i, int upstream, uint32_t num_vfs, char **reterr)
{
        const struct nvv_vmgmt *vm;
        struct nvv_simvmgmt_config vc = { .num_vfs = num_vfs, .vf_offset = 4, .vf_stride = 1, .eio = upstream == 2 };
        _cleanup_free_ char *msg = NULL;
        int r;

        vm = nvv_fwdb_vmgmt_match(s->db, NULL, &msg);
        if (!vm)
                return nvv_fail(reterr, "GPU %zu: %s", i, msg ? msg : "no upstream interface description");
        vc.vm = vm;
        if (nvv_pci_addr_parse(nvv_simgpu_get_config(s->gpus[i])->bdf, &vc.pf) < 0)
                return nvv_fail(reterr, "GPU %zu: not a PCI address", i);
        r = nvv_simvmgmt_new(&vc, &s->vmgmt[i]);
        if (r < 0)
                return nvv_fail(reterr, "GPU %zu: cannot start its upstream interface: %s", i, strerror(-r));
        return 0;
}

struct nvv_simvmgmt *nvv_sim_get_vmgmt(const struct nvv_sim *s, size_t i)
{
        return i < s->n_gpus ? s->vmgmt[i] : NULL;
}

int nvv_sim_vfio(struct nvv_sim *s, const char *vf, bool open, char **reterr_msg)
{
        struct nvv_pci_addr a;
        char err[256] = "";
        int r;

        if (nvv_pci_addr_parse(vf, &a) < 0)
                return nvv_fail(reterr_msg, "'%s' is not a PCI address (DDDD:BB:DD.F)", vf ? vf : "");
        for (size_t i = 0; i < s->n_gpus; i++)
                if (s->vmgmt[i] && nvv_simvmgmt_has_vf(s->vmgmt[i], &a)) {
                        r = nvv_simvmgmt_vfio(s->vmgmt[i], &a, open, err, sizeof(err));
                        return r < 0 ? nvv_fail_errno(r, reterr_msg, "%s", err) : 0;
                }
        return nvv_fail_errno(-ENOENT, reterr_msg, "%s is no VF of a GPU offering the upstream interface", vf);
}

static int add_gpu(struct nvv_sim *s, const char *model, const char *release, const char *bdf, bool vf_model,
                   char **reterr)
{
        int upstream = upstream_flag(release);
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
        if (!release || upstream)
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
        s->models[s->n_gpus] = cg;
        s->vf_model[s->n_gpus] = vf_model;
        s->n_gpus++;
        if (upstream)
                return add_vmgmt(s, s->n_gpus - 1, upstream, cfg.gsp.num_vfs, reterr);
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
                bool vf = false;

                /* ":vf" or ":mdev", last: which sysfs interface the GPU offers. */
                if ((p = strchr(model, ':'))) {
                        *p = '\0';
                        if (streq(p + 1, "vf"))
                                vf = true;
                        else if (!streq(p + 1, "mdev"))
                                return nvv_fail(reterr, "GPU spec: ':%s' is neither ':mdev' nor ':vf'", p + 1);
                }

                if ((p = strchr(model, '*'))) {
                        *p = '\0';
                        if (safe_atou32(p + 1, &count) < 0 || count == 0 || count > MAX_GPUS)
                                return nvv_fail(reterr, "GPU spec '%s': count '%s' must be 1..%d", *i, p + 1, MAX_GPUS);
                }
                if ((p = strchr(model, '@'))) {
                        *p = '\0';
                        release = p + 1;
                        if (!nvv_release_is_valid(release) && !upstream_flag(release))
                                return nvv_fail(reterr, "GPU spec: '%s' is not a firmware release", release);
                }
                if (!*model)
                        return nvv_fail(reterr, "GPU spec: an item has no model");
                for (uint32_t k = 0; k < count; k++) {
                        r = add_gpu(s, model, release, NULL, vf, reterr);
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
                bool vf = false;

                if (!json_object_is_type(g, json_type_object)) {
                        r = nvv_fail(reterr, "%s: gpus[%zu]: expected an object", path, i);
                        goto out;
                }
                json_object_object_foreach(g, k, x) {
                        if (!streq(k, "model") && !streq(k, "release") && !streq(k, "count") && !streq(k, "bdf") &&
                            !streq(k, "sysfs")) {
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
                        if (!json_object_is_type(v, json_type_string) || (!nvv_release_is_valid(json_object_get_string(v)) &&
                                                                         !upstream_flag(json_object_get_string(v)))) {
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
                if (json_object_object_get_ex(g, "sysfs", &v)) {
                        const char *kind = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

                        if (!streq(kind, "mdev") && !streq(kind, "vf")) {
                                r = nvv_fail(reterr, "%s: gpus[%zu].sysfs: \"mdev\" or \"vf\"", path, i);
                                goto out;
                        }
                        vf = streq(kind, "vf");
                }
                if (json_object_object_get_ex(g, "count", &v)) {
                        count = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
                        if (count < 1 || count > MAX_GPUS || (bdf && count != 1)) {
                                r = nvv_fail(reterr, "%s: gpus[%zu].count: 1..%d (1 when a bdf is given)", path, i, MAX_GPUS);
                                goto out;
                        }
                }
                for (int64_t n = 0; n < count; n++) {
                        r = add_gpu(s, model, release, bdf, vf, reterr);
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
        _cleanup_free_ uint8_t *b = NULL;

        /* Called under the GPU's lock: queue, never send. */
        if (idx >= MAX_GPUS || !__atomic_load_n(&c->subscribed[idx], __ATOMIC_RELAXED))
                return;
        b = malloc(4 + len);
        pthread_mutex_lock(&c->ev_lock);
        if (!b)
                c->events.dropped++;
        else {
                memcpy(b, &idx, 4);
                memcpy(b + 4, rpc, len);
                if (nvv_evqueue_push(&c->events, b, 4 + len))
                        pthread_cond_signal(&c->ev_cv);
        }
        pthread_mutex_unlock(&c->ev_lock);
}

static int send_locked(struct connection *c, uint16_t type, uint32_t gpu, uint32_t tag, const void *p, size_t len)
{
        int r;

        pthread_mutex_lock(&c->write_lock);
        if (c->broken)
                r = -EPIPE;
        else {
                r = nvv_simproto_send(c->fd, type, gpu, tag, 0, p, len, c->sim->send_timeout_ms);
                if (r == -ETIMEDOUT || r == -EPIPE || r == -ECONNRESET || r == -EIO) {
                        /* Half a message may be on the wire: the connection is no use any more.
                         * Shutting it down wakes its reader, which cleans up. */
                        if (r == -ETIMEDOUT)
                                log_debug("sim: client pid %d left a message unread for %d ms; dropping it",
                                          (int) c->peer.pid, c->sim->send_timeout_ms);
                        __atomic_store_n(&c->broken, true, __ATOMIC_RELEASE);
                        (void) shutdown(c->fd, SHUT_RDWR);
                }
        }
        pthread_mutex_unlock(&c->write_lock);
        return r;
}

static void *event_main(void *userdata)
{
        struct connection *c = userdata;

        pthread_mutex_lock(&c->ev_lock);
        for (;;) {
                uint8_t *ev;
                size_t len;
                uint32_t idx;

                while (c->events.n == 0 && !c->ev_stop)
                        pthread_cond_wait(&c->ev_cv, &c->ev_lock);
                if (c->ev_stop)
                        break;
                if (!nvv_evqueue_pop(&c->events, &ev, &len))
                        continue;
                pthread_mutex_unlock(&c->ev_lock);
                memcpy(&idx, ev, 4);
                (void) send_locked(c, idx & UEVENT_MARK ? NVV_SIMPROTO_UEVENT : NVV_SIMPROTO_EVENT, idx & ~UEVENT_MARK, 0,
                                   ev + 4, len - 4);
                free(ev);
                pthread_mutex_lock(&c->ev_lock);
        }
        pthread_mutex_unlock(&c->ev_lock);
        return NULL;
}

static int start_events(struct connection *c)
{
        int r = 0;

        pthread_mutex_lock(&c->ev_lock);
        if (!c->ev_started) {
                r = -pthread_create(&c->ev_thread, NULL, event_main, c);
                c->ev_started = r == 0;
        }
        pthread_mutex_unlock(&c->ev_lock);
        return r;
}

static void stop_events(struct connection *c)
{
        pthread_mutex_lock(&c->ev_lock);
        c->ev_stop = true;
        pthread_cond_signal(&c->ev_cv);
        pthread_mutex_unlock(&c->ev_lock);
        if (c->ev_started)
                pthread_join(c->ev_thread, NULL);
        c->ev_started = false;
        nvv_evqueue_clear(&c->events);
}

/* An ERROR message's payload: errno (u32), then the text. */
static size_t error_payload(uint8_t *b, size_t cap, int error, const char *msg)
{
        size_t ml = MIN(strlen(msg), cap - 4);

        b[0] = (uint8_t) error;
        b[1] = (uint8_t) (error >> 8);
        b[2] = (uint8_t) (error >> 16);
        b[3] = (uint8_t) (error >> 24);
        memcpy(b + 4, msg, ml);
        return 4 + ml;
}

_printf_(3, 4) static void refuse(int fd, int error, const char *fmt, ...)
{
        char msg[256];
        uint8_t b[4 + sizeof(msg)];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_debug("sim: refusing a client: %s", msg);
        nvv_sock_refuse(fd, &nvv_simproto, NVV_SIMPROTO_ERROR, b, error_payload(b, sizeof(b), error, msg));
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
                /* An upstream GPU reports no release (its fwctl device has no device data): the
                 * interface revision stands in its place. */
                json_object_object_add(o, "release",
                                       json_object_new_string(s->vmgmt[i] ? nvv_simvmgmt_get_revision(s->vmgmt[i]) : c->release));
                if (s->vmgmt[i]) {
                        /* FWCTL_INFO of nova-core: no device data; the VFs as sysfs gives them. */
                        json_object_object_add(o, "interface", json_object_new_string("vgpu-mgmt"));
                        json_object_object_add(o, "vf_offset", json_object_new_int64(4));
                        json_object_object_add(o, "vf_stride", json_object_new_int64(1));
                }
                /* An unplugged GPU keeps its place: clients' indexes never shift. */
                json_object_object_add(o, "present", json_object_new_boolean(nvv_simgpu_is_present(s->gpus[i])));
                json_object_object_add(ho, "client", json_object_new_int64(h.client));
                json_object_object_add(ho, "device", json_object_new_int64(h.device));
                json_object_object_add(ho, "subdevice", json_object_new_int64(h.subdevice));
                json_object_object_add(o, "handles", ho);
                json_object_array_add(arr, o);
        }
        json_object_object_add(root, "gpus", arr);
        return root;
}

/* A vGPU's 16 name bytes as nvv-pgpu wrote them: text (a VF's address) when they are
 * printable characters then zeros, else the UUID they are. */
static void name_text(const uint8_t n[16], char out[40])
{
        size_t len = 0;
        bool text = true;

        while (len < 16 && n[len] >= 0x20 && n[len] < 0x7f)
                len++;
        for (size_t i = len; i < 16; i++)
                text = text && n[i] == 0;
        if (text && len > 0) {
                memcpy(out, n, len);
                out[len] = '\0';
                return;
        }
        snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", n[0], n[1], n[2], n[3],
                 n[4], n[5], n[6], n[7], n[8], n[9], n[10], n[11], n[12], n[13], n[14], n[15]);
}

static json_object *status_json(struct nvv_simgpu *g)
{
        _cleanup_free_ struct nvv_simgpu_status *st = calloc(1, sizeof(*st));
        json_object *o, *arr;

        if (!st || nvv_simgpu_get_status(g, st) < 0)
                return NULL;
        o = json_object_new_object();
        arr = json_object_new_array();
        json_object_object_add(o, "present", json_object_new_boolean(nvv_simgpu_is_present(g)));
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
                if (st->vgpus[i].named) {
                        char name[40];

                        name_text(st->vgpus[i].name, name);
                        json_object_object_add(v, "name", json_object_new_string(name));
                }
                json_object_object_add(v, "type_id", json_object_new_int64(st->vgpus[i].type_id));
                json_object_object_add(v, "placement_id", json_object_new_int64(st->vgpus[i].placement_id));
                json_object_object_add(v, "fb_offset", json_object_new_int64((int64_t) st->vgpus[i].fb_offset));
                json_object_object_add(v, "fb_length", json_object_new_int64((int64_t) st->vgpus[i].fb_length));
                json_object_object_add(v, "gfid", json_object_new_int64(st->vgpus[i].gfid));
                json_object_object_add(v, "task", json_object_new_string(nvv_gsp_task_to_string(st->vgpus[i].task)));
                if (st->vgpus[i].task == NVV_GSP_TASK_RUNNING) {
                        json_object_object_add(v, "work", json_object_new_string(st->vgpus[i].work_stopped ? "stopped" : "running"));
                        json_object_object_add(v, "resets", json_object_new_int64(st->vgpus[i].resets));
                }
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
        if (c->sim->vmgmt[gpu]) /* the socket carries FWCTL_RPCs at the interface's scope for these */
                r = nvv_simvmgmt_rpc(c->sim->vmgmt[gpu], nvv_simvmgmt_get_scope(c->sim->vmgmt[gpu]), j->data, j->len,
                                     reply, cap, &len);
        else
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
                /* A client that shut down its side after its requests still gets their
                 * answers; a stopping simulator or a dead socket answers nobody. */
                if (!w->head || (c->closing && (__atomic_load_n(&c->sim->stop, __ATOMIC_ACQUIRE) || __atomic_load_n(&c->broken, __ATOMIC_ACQUIRE))))
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
static int queue_rpc(struct connection *c, const struct nvv_sock_rx *rx, int timeout_ms)
{
        struct worker *w = &c->workers[rx->first.target];
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
                w->gpu = rx->first.target;
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

/* ---- the sysfs half of the kernel contract ---- */

static void bump_generation(struct nvv_sim *s)
{
        __atomic_add_fetch(&s->sysfs_gen, 1, __ATOMIC_RELEASE);
}

/* On the GSP thread of a GPU whose vGPUs changed: note it, look later (uevent_main). */
static void on_gpu_change(void *userdata, struct nvv_simgpu *g)
{
        struct nvv_sim *s = userdata;

        (void) g;
        bump_generation(s);
        pthread_mutex_lock(&s->uevent_lock);
        s->uevent_dirty = true;
        pthread_cond_signal(&s->uevent_cv);
        pthread_mutex_unlock(&s->uevent_lock);
}

/* PCI identity of a simulated GPU as its sysfs shows it. */
static void fill_identity(struct nvv_sim *s, size_t i, struct nvv_simfs_gpu *out)
{
        const struct nvv_simgpu_config *c = nvv_simgpu_get_config(s->gpus[i]);
        const struct nvv_catalog_gpu *m = s->models[i];

        snprintf(out->bdf, sizeof(out->bdf), "%s", c->bdf);
        out->index = (uint32_t) i;
        out->vendor = c->pci_vendor;
        out->device = c->pci_device;
        /* The catalog names a board's subsystem when it lists one; else the simulator gives
         * NVIDIA's vendor id and the device id. */
        out->subsystem_vendor = m && m->n_pci && m->pci[0].has_subsystem ? m->pci[0].subsystem_vendor : 0x10de;
        out->subsystem_device = m && m->n_pci && m->pci[0].has_subsystem ? m->pci[0].subsystem_device : c->pci_device;
        /* 0x0302 3D controller, as the captured H200 reports; workstation boards (RTX) are
         * VGA controllers, 0x0300. The revision is the capture's. */
        out->pci_class = m && strncmp(m->short_name, "RTX", 3) == 0 ? 0x030000 : 0x030200;
        out->revision = 0xa1;
        out->numa_node = -1;
        out->fb_size = c->gsp.fb_total;
        out->vf_model = s->vf_model[i];
        out->num_vfs = s->vf_model[i] ? c->gsp.num_vfs : 0;
}

/* The vGPUs sysfs shows from a firmware snapshot: named ones, as mdevs or as VF types. */
static void fill_vgpus(const struct nvv_simgpu_status *st, struct nvv_simfs_gpu *out)
{
        out->n_vgpus = 0;
        for (size_t k = 0; k < st->n_vgpus; k++) {
                struct nvv_simfs_vgpu *v = &out->vgpus[out->n_vgpus];
                int vf;

                if (!st->vgpus[k].named)
                        continue;
                vf = nvv_simfs_classify_name(out, st->vgpus[k].name, v->name);
                if (vf == -2 || (vf == -1 && out->vf_model))
                        continue;
                if (vf >= 0)
                        v->name[0] = '\0';
                v->vf = vf;
                v->type_id = st->vgpus[k].type_id;
                v->vgpu_id = st->vgpus[k].vgpu_id;
                v->gfid = st->vgpus[k].gfid;
                out->n_vgpus++;
        }
}

static int sysfs_snapshot(void *userdata, struct nvv_simfs_view *v)
{
        struct nvv_sim *s = userdata;
        _cleanup_free_ struct nvv_simgpu_status *st = calloc(1, sizeof(*st));

        if (!st)
                return -ENOMEM;
        for (size_t i = 0; i < v->n_gpus && i < s->n_gpus; i++) {
                struct nvv_simfs_gpu *g = &v->gpus[i];
                int r;

                fill_identity(s, i, g);
                g->unplugged = !nvv_simgpu_is_present(s->gpus[i]);
                if (g->unplugged) {
                        g->n_types = 0;
                        g->n_vgpus = 0;
                        continue;
                }
                r = nvv_simgpu_get_status(s->gpus[i], st);
                if (r < 0)
                        return r;
                pthread_mutex_lock(&s->sysfs_lock);
                g->n_types = s->n_types[i];
                if (g->n_types)
                        memcpy(g->types, s->types[i], g->n_types * sizeof(*g->types));
                pthread_mutex_unlock(&s->sysfs_lock);
                /* available_instances: the firmware's count for a type its table holds. */
                for (size_t t = 0; t < g->n_types; t++) {
                        g->available[t] = 0;
                        for (size_t k = 0; k < st->n_types; k++)
                                if (st->type_ids[k] == g->types[t].id)
                                        g->available[t] = st->available[k];
                }
                fill_vgpus(st, g);
        }
        return 0;
}

static uint64_t sysfs_generation(void *userdata)
{
        struct nvv_sim *s = userdata;

        return __atomic_load_n(&s->sysfs_gen, __ATOMIC_ACQUIRE);
}

static int gpu_by_bdf(const struct nvv_sim *s, const char *bdf)
{
        for (size_t i = 0; i < s->n_gpus; i++)
                if (streq(nvv_simgpu_get_config(s->gpus[i])->bdf, bdf))
                        return (int) i;
        return -1;
}

static void pending_remove(struct nvv_sim *s, struct sysfs_pending *p)
{
        for (struct sysfs_pending **q = &s->pending; *q; q = &(*q)->next)
                if (*q == p) {
                        *q = p->next;
                        return;
                }
}

/* The core driver's half of a write that makes or removes a vGPU: send it to the manager
 * and hold it until the answer, or until the timeout (then the request is forgotten, and an
 * answer that comes later is refused: the manager undoes what it did). */
static int sysfs_forward(void *userdata, struct nvv_sysfs_request *req)
{
        struct nvv_sim *s = userdata;
        struct sysfs_pending p = {};
        _cleanup_free_ char *json = NULL;
        struct timespec until;
        int gpu = gpu_by_bdf(s, req->gpu), r;

        if (gpu < 0)
                return -ENODEV;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += s->sysfs_timeout_ms / 1000;
        until.tv_nsec += (long) (s->sysfs_timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&s->sysfs_lock);
        /* Checked under the lock an unplug takes to fail the writes held for its GPU. */
        if (!nvv_simgpu_is_present(s->gpus[gpu])) {
                pthread_mutex_unlock(&s->sysfs_lock);
                return -ENODEV;
        }
        if (!s->manager || s->sysfs_closing) {
                pthread_mutex_unlock(&s->sysfs_lock);
                log_debug("sim: sysfs %s on %s: no manager subscribed", nvv_sysfs_op_to_string(req->op), req->gpu);
                return -ENODEV;
        }
        p.gpu = gpu;
        if (++s->next_request == 0)
                s->next_request = 1;
        req->id = p.id = s->next_request;
        r = nvv_sysfsmsg_format_request(req, &json);
        if (r >= 0)
                r = send_locked(s->manager, NVV_SIMPROTO_SYSFS_REQUEST, (uint32_t) gpu, p.id, json, strlen(json));
        if (r < 0) {
                pthread_mutex_unlock(&s->sysfs_lock);
                return -ENODEV;
        }
        p.next = s->pending;
        s->pending = &p;
        while (!p.done)
                if (pthread_cond_timedwait(&s->sysfs_cv, &s->sysfs_lock, &until) == ETIMEDOUT && !p.done)
                        break;
        pending_remove(s, &p);
        pthread_mutex_unlock(&s->sysfs_lock);
        if (!p.done) {
                log_debug("sim: sysfs request %u expired after %d ms", p.id, s->sysfs_timeout_ms);
                return -ETIMEDOUT;
        }
        return -p.error;
}

static const struct nvv_simfs_ops simfs_ops = {
        .snapshot = sysfs_snapshot,
        .generation = sysfs_generation,
        .forward = sysfs_forward,
};

/* ---- uevents: what the kernel would have sent, as UEVENT messages ---- */

/* Queue one uevent for every connection that takes them (never waits on a client). */
static void broadcast_uevent(struct nvv_sim *s, uint32_t gpu, struct nvv_uevent *u)
{
        _cleanup_free_ char *json = NULL;
        char seq[24];
        size_t len;

        snprintf(seq, sizeof(seq), "%" PRIu64, __atomic_add_fetch(&s->seqnum, 1, __ATOMIC_RELAXED));
        if (nvv_uevent_add(u, "SEQNUM", seq) < 0 || nvv_sysfsmsg_format_uevent(u, &json) < 0)
                return;
        len = strlen(json);
        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->n_conns; i++) {
                struct connection *c = s->conns[i];
                uint8_t *b;

                if (c->done || !__atomic_load_n(&c->uevents, __ATOMIC_ACQUIRE))
                        continue;
                b = malloc(4 + len);
                pthread_mutex_lock(&c->ev_lock);
                if (c->ev_stop || !c->ev_started)
                        ;
                else if (!b)
                        c->events.dropped++;
                else {
                        uint32_t idx = gpu | UEVENT_MARK;

                        memcpy(b, &idx, 4);
                        memcpy(b + 4, json, len);
                        if (nvv_evqueue_push(&c->events, b, 4 + len))
                                pthread_cond_signal(&c->ev_cv);
                }
                pthread_mutex_unlock(&c->ev_lock);
                free(b);
        }
        pthread_mutex_unlock(&s->lock);
}

/* Linux: mdev_register_parent()/mdev_unregister_parent() send KOBJ_CHANGE on the parent
 * with MDEV_STATE=registered / unregistered (commit "mdev: Send uevents around parent device
 * registration", 2019). */
static void uevent_parent(struct nvv_sim *s, uint32_t gpu, bool registered)
{
        struct nvv_simfs_gpu *g = calloc(1, sizeof(*g));
        struct nvv_uevent u = {};
        char path[NVV_SIMFS_PATH_MAX + 1];

        if (!g)
                return;
        fill_identity(s, gpu, g);
        path[0] = '/';
        nvv_simfs_device_path(g, -1, path + 1, sizeof(path) - 1);
        (void) nvv_uevent_add(&u, "ACTION", "change");
        (void) nvv_uevent_add(&u, "DEVPATH", path);
        (void) nvv_uevent_add(&u, "SUBSYSTEM", "pci");
        (void) nvv_uevent_add(&u, "MDEV_STATE", registered ? "registered" : "unregistered");
        broadcast_uevent(s, gpu, &u);
        free(g);
}

/* A device_add()/device_del() of an mdev: KOBJ_ADD/KOBJ_REMOVE with DEVPATH and SUBSYSTEM
 * from the driver core, MDEV_TYPE from the mdev bus's uevent callback; then, for an add,
 * the bind of its driver. */
static void uevent_mdev(struct nvv_sim *s, uint32_t gpu, const struct nvv_simfs_gpu *g, const struct nvv_simfs_vgpu *v,
                        bool add)
{
        struct nvv_uevent u = {};
        char path[NVV_SIMFS_PATH_MAX + 64] = "/", type[32];

        nvv_simfs_device_path(g, -1, path + 1, sizeof(path) - 1);
        strncat(path, "/", sizeof(path) - strlen(path) - 1);
        strncat(path, v->name, sizeof(path) - strlen(path) - 1);
        snprintf(type, sizeof(type), "nvidia-%u", v->type_id);
        (void) nvv_uevent_add(&u, "ACTION", add ? "add" : "remove");
        (void) nvv_uevent_add(&u, "DEVPATH", path);
        (void) nvv_uevent_add(&u, "SUBSYSTEM", "mdev");
        (void) nvv_uevent_add(&u, "MDEV_TYPE", type);
        broadcast_uevent(s, gpu, &u);
}

/* A PCI function's device_add() / device_del(), as a hot-plug, a `remove` or a `rescan` makes
 * them: KOBJ_ADD / KOBJ_REMOVE, with ACTION, DEVPATH and SUBSYSTEM from kobject_uevent_env()
 * (lib/kobject_uevent.c), DRIVER from dev_uevent() (drivers/base/core.c) while a driver is
 * bound, then what the PCI bus adds in pci_uevent() (drivers/pci/pci-driver.c):
 * PCI_CLASS=%04X, PCI_ID=%04X:%04X, PCI_SUBSYS_ID=%04X:%04X, PCI_SLOT_NAME=%s and
 * MODALIAS=pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02x (lower-case prog-if there, unlike
 * the modalias attribute). A removed device has lost its driver before device_del(): no
 * DRIVER. An added one carries DRIVER=nvidia here, standing for the bind that follows. */
static void uevent_pci(struct nvv_sim *s, uint32_t gpu, const struct nvv_simfs_gpu *g, int vf, bool add)
{
        struct nvv_uevent u = {};
        char path[NVV_SIMFS_PATH_MAX + 1] = "/", bdf[NVV_SYSFS_BDF_MAX], v[96];

        if (vf >= 0) {
                if (nvv_simfs_vf_bdf(g, (uint32_t) vf, bdf) < 0)
                        return;
        } else
                snprintf(bdf, sizeof(bdf), "%s", g->bdf);
        nvv_simfs_device_path(g, vf, path + 1, sizeof(path) - 1);
        (void) nvv_uevent_add(&u, "ACTION", add ? "add" : "remove");
        (void) nvv_uevent_add(&u, "DEVPATH", path);
        (void) nvv_uevent_add(&u, "SUBSYSTEM", "pci");
        if (add)
                (void) nvv_uevent_add(&u, "DRIVER", "nvidia");
        snprintf(v, sizeof(v), "%04X", g->pci_class);
        (void) nvv_uevent_add(&u, "PCI_CLASS", v);
        snprintf(v, sizeof(v), "%04X:%04X", g->vendor, g->device);
        (void) nvv_uevent_add(&u, "PCI_ID", v);
        snprintf(v, sizeof(v), "%04X:%04X", g->subsystem_vendor, g->subsystem_device);
        (void) nvv_uevent_add(&u, "PCI_SUBSYS_ID", v);
        (void) nvv_uevent_add(&u, "PCI_SLOT_NAME", bdf);
        snprintf(v, sizeof(v), "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02x", g->vendor, g->device, g->subsystem_vendor,
                 g->subsystem_device, (g->pci_class >> 16) & 0xff, (g->pci_class >> 8) & 0xff, g->pci_class & 0xff);
        (void) nvv_uevent_add(&u, "MODALIAS", v);
        broadcast_uevent(s, gpu, &u);
}

static bool seen_has(const struct nvv_simfs_vgpu *list, size_t n, const struct nvv_simfs_vgpu *v)
{
        for (size_t i = 0; i < n; i++)
                if (streq(list[i].name, v->name) && list[i].type_id == v->type_id)
                        return true;
        return false;
}

/* Compare each GPU's mdevs with the last look; announce what came and went. */
/* Compare GPU i's mdevs with the last look; announce what came and went. With look_lock. */
static void look_at_gpu(struct nvv_sim *s, size_t i, struct nvv_simgpu_status *st, struct nvv_simfs_gpu *g)
{
        struct nvv_simfs_vgpu *now;
        size_t n = 0;

        /* An unplugged GPU's mdevs went with it (sim_unplug announced them). */
        if (s->vf_model[i] || !nvv_simgpu_is_present(s->gpus[i]))
                return;
        fill_identity(s, i, g);
        if (nvv_simgpu_get_vgpus(s->gpus[i], st) < 0)
                return;
        fill_vgpus(st, g);
        now = calloc(g->n_vgpus ? g->n_vgpus : 1, sizeof(*now));
        if (!now)
                return;
        for (size_t k = 0; k < g->n_vgpus; k++)
                if (g->vgpus[k].vf < 0)
                        now[n++] = g->vgpus[k];
        for (size_t k = 0; k < s->n_seen[i]; k++)
                if (!seen_has(now, n, &s->seen[i][k]))
                        uevent_mdev(s, (uint32_t) i, g, &s->seen[i][k], false);
        for (size_t k = 0; k < n; k++)
                if (!seen_has(s->seen[i], s->n_seen[i], &now[k]))
                        uevent_mdev(s, (uint32_t) i, g, &now[k], true);
        free(s->seen[i]);
        s->seen[i] = now;
        s->n_seen[i] = n;
}

static void look_for_changes(struct nvv_sim *s, struct nvv_simgpu_status *st, struct nvv_simfs_gpu *g)
{
        for (size_t i = 0; i < s->n_gpus; i++) {
                pthread_mutex_lock(&s->look_lock);
                look_at_gpu(s, i, st, g);
                pthread_mutex_unlock(&s->look_lock);
        }
}

static void *uevent_main(void *userdata)
{
        struct nvv_sim *s = userdata;
        _cleanup_free_ struct nvv_simgpu_status *st = calloc(1, sizeof(*st));
        _cleanup_free_ struct nvv_simfs_gpu *g = calloc(1, sizeof(*g));

        pthread_mutex_lock(&s->uevent_lock);
        while (!s->uevent_stop) {
                if (!s->uevent_dirty || !st || !g) {
                        pthread_cond_wait(&s->uevent_cv, &s->uevent_lock);
                        continue;
                }
                s->uevent_dirty = false;
                pthread_mutex_unlock(&s->uevent_lock);
                look_for_changes(s, st, g);
                pthread_mutex_lock(&s->uevent_lock);
        }
        pthread_mutex_unlock(&s->uevent_lock);
        return NULL;
}

static void serve_sysfs(struct connection *c, const struct nvv_sock_rx *rx)
{
        struct nvv_sim *s = c->sim;
        const struct nvv_sock_header *h = &rx->first;
        _cleanup_free_ char *msg = NULL;
        char text[160];
        int r;

        switch (h->type) {
        case NVV_SIMPROTO_SYSFS_SUBSCRIBE:
                pthread_mutex_lock(&s->sysfs_lock);
                if (s->manager && s->manager != c) {
                        snprintf(text, sizeof(text), "another manager (pid %d) has subscribed to sysfs requests",
                                 (int) s->manager->peer.pid);
                        pthread_mutex_unlock(&s->sysfs_lock);
                        (void) send_error(c, h->target, h->tag, EBUSY, text);
                        return;
                }
                s->manager = c;
                pthread_mutex_unlock(&s->sysfs_lock);
                __attribute__((fallthrough));
        case NVV_SIMPROTO_UEVENT_SUBSCRIBE:
                r = start_events(c);
                if (r < 0) {
                        (void) send_error(c, h->target, h->tag, -r, "cannot start the event thread");
                        return;
                }
                __atomic_store_n(&c->uevents, true, __ATOMIC_RELEASE);
                (void) send_locked(c, NVV_SIMPROTO_ACK, h->target, h->tag, NULL, 0);
                return;
        case NVV_SIMPROTO_SYSFS_ANSWER: {
                struct sysfs_pending *p;
                uint32_t id;
                int e;

                r = nvv_sysfsmsg_parse_answer(rx->data, rx->have, &id, &e, &msg);
                if (r < 0) {
                        (void) send_error(c, h->target, h->tag, EINVAL, msg ? msg : "malformed answer");
                        return;
                }
                pthread_mutex_lock(&s->sysfs_lock);
                if (s->manager != c) {
                        pthread_mutex_unlock(&s->sysfs_lock);
                        (void) send_error(c, h->target, h->tag, EPERM, "only the subscribed manager answers sysfs requests");
                        return;
                }
                for (p = s->pending; p && p->id != id; p = p->next)
                        ;
                if (p) {
                        p->done = true;
                        p->error = e;
                        pthread_cond_broadcast(&s->sysfs_cv);
                }
                pthread_mutex_unlock(&s->sysfs_lock);
                if (!p) {
                        snprintf(text, sizeof(text),
                                 "request %u expired: its write failed with ETIMEDOUT; undo what was done for it", id);
                        (void) send_error(c, h->target, h->tag, ETIMEDOUT, text);
                        return;
                }
                (void) send_locked(c, NVV_SIMPROTO_ACK, h->target, h->tag, NULL, 0);
                return;
        }
        case NVV_SIMPROTO_REGISTER_TYPES: {
                struct nvv_sysfs_type *types = NULL;
                bool was, now;
                size_t n = 0;

                if (h->target >= s->n_gpus) {
                        (void) send_error(c, h->target, h->tag, ENODEV, "no such GPU");
                        return;
                }
                r = nvv_sysfsmsg_parse_types(rx->data, rx->have, &types, &n, &msg);
                if (r < 0) {
                        (void) send_error(c, h->target, h->tag, -r, msg ? msg : strerror(-r));
                        return;
                }

                pthread_mutex_lock(&s->sysfs_lock);
                if (s->manager != c) {
                        pthread_mutex_unlock(&s->sysfs_lock);
                        free(types);
                        (void) send_error(c, h->target, h->tag, EPERM, "subscribe as the manager before registering types");
                        return;
                }
                /* A GPU that is not there registers nothing; withdrawing from it (a manager
                 * that stops) succeeds with nothing to do: its types went at the unplug.
                 * Under sysfs_lock, which the unplug takes after marking the GPU gone. */
                if (!nvv_simgpu_is_present(s->gpus[h->target])) {
                        const struct nvv_simgpu_config *gc = nvv_simgpu_get_config(s->gpus[h->target]);

                        pthread_mutex_unlock(&s->sysfs_lock);
                        free(types);
                        if (n == 0)
                                (void) send_locked(c, NVV_SIMPROTO_ACK, h->target, h->tag, NULL, 0);
                        else {
                                snprintf(text, sizeof(text), "GPU %u (%s) is unplugged", gc->index, gc->bdf);
                                (void) send_error(c, h->target, h->tag, ENODEV, text);
                        }
                        return;
                }
                was = s->n_types[h->target] > 0;
                free(s->types[h->target]);
                s->types[h->target] = types;
                s->n_types[h->target] = n;
                now = n > 0;
                pthread_mutex_unlock(&s->sysfs_lock);
                bump_generation(s);
                if (was != now && !s->vf_model[h->target])
                        uevent_parent(s, h->target, now);
                (void) send_locked(c, NVV_SIMPROTO_ACK, h->target, h->tag, NULL, 0);
                return;
        }
        }
}

/* The manager's connection ends: writes waiting for it fail, new ones get ENODEV. The types
 * it registered stay, as a driver's stay registered while its module is loaded. */
static void sysfs_connection_gone(struct connection *c)
{
        struct nvv_sim *s = c->sim;

        pthread_mutex_lock(&s->sysfs_lock);
        if (s->manager == c) {
                s->manager = NULL;
                for (struct sysfs_pending *p = s->pending; p; p = p->next)
                        if (!p->done) {
                                p->done = true;
                                p->error = ENODEV;
                        }
                pthread_cond_broadcast(&s->sysfs_cv);
        }
        pthread_mutex_unlock(&s->sysfs_lock);
}

/* A client that dies still has the requests it sent carried out, as a kernel completes an
 * ioctl before the process is gone; so the next client must find what they did. A HELLO
 * waits (at most 2 s) for the connections whose peer has hung up to finish theirs. */
static void wait_departed(struct nvv_sim *s, const struct connection *self)
{
        for (int tries = 0; tries < 200; tries++) {
                bool pending = false;

                pthread_mutex_lock(&s->lock);
                for (size_t i = 0; i < s->n_conns && !pending; i++) {
                        struct connection *c = s->conns[i];
                        struct pollfd p = { .fd = c->fd, .events = POLLRDHUP };

                        if (c != self && !c->done && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP)))
                                pending = true;
                }
                pthread_mutex_unlock(&s->lock);
                if (!pending)
                        return;
                (void) usleep(10000);
        }
}

static void serve_message(struct connection *c, const struct nvv_sock_rx *rx)
{
        struct nvv_sim *s = c->sim;
        const struct nvv_sock_header *h = &rx->first;
        int r;

        switch (h->type) {
        case NVV_SIMPROTO_HELLO: {
                json_object *o;

                wait_departed(s, c);
                o = info_json(s);
                const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

                __atomic_add_fetch(&s->counters.hellos, 1, __ATOMIC_RELAXED);
                (void) send_locked(c, NVV_SIMPROTO_INFO, NVV_SIMPROTO_ALL_GPUS, h->tag, t, strlen(t));
                json_object_put(o);
                break;
        }
        case NVV_SIMPROTO_RPC: {
                int timeout = h->timeout_ms ? (int) MIN(h->timeout_ms, 600000u) : DEFAULT_KERNEL_TIMEOUT_MS;

                if (h->target >= s->n_gpus) {
                        (void) send_error(c, h->target, h->tag, ENODEV, "no such GPU");
                        break;
                }
                __atomic_add_fetch(&s->counters.rpcs, 1, __ATOMIC_RELAXED);
                r = queue_rpc(c, rx, timeout);
                if (r == -EBUSY)
                        (void) send_error(c, h->target, h->tag, EBUSY, "too many RPCs queued for this GPU");
                else if (r < 0)
                        (void) send_error(c, h->target, h->tag, -r, strerror(-r));
                break;
        }
        case NVV_SIMPROTO_SUBSCRIBE:
                for (size_t i = 0; i < s->n_gpus; i++) {
                        if (h->target != NVV_SIMPROTO_ALL_GPUS && h->target != i)
                                continue;
                        if (!c->subscribed[i]) {
                                r = start_events(c);
                                if (r >= 0)
                                        r = nvv_simgpu_add_listener(s->gpus[i], on_event, c);
                                if (r < 0) {
                                        (void) send_error(c, (uint32_t) i, h->tag, -r, "cannot subscribe");
                                        return;
                                }
                                __atomic_store_n(&c->subscribed[i], true, __ATOMIC_RELAXED);
                        }
                }
                if (h->target != NVV_SIMPROTO_ALL_GPUS && h->target >= s->n_gpus)
                        (void) send_error(c, h->target, h->tag, ENODEV, "no such GPU");
                else
                        (void) send_locked(c, NVV_SIMPROTO_ACK, h->target, h->tag, NULL, 0);
                break;
        case NVV_SIMPROTO_FAULT: {
                _cleanup_free_ char *msg = NULL;

                r = nvv_sim_inject(s, (const char *) rx->data, &msg);
                if (r < 0)
                        (void) send_error(c, h->target, h->tag, -r, msg ? msg : strerror(-r));
                else
                        (void) send_locked(c, NVV_SIMPROTO_ACK, h->target, h->tag, NULL, 0);
                break;
        }
        case NVV_SIMPROTO_STATUS: {
                json_object *o;
                const char *t;

                if (h->target >= s->n_gpus) {
                        (void) send_error(c, h->target, h->tag, ENODEV, "no such GPU");
                        break;
                }
                o = status_json(s->gpus[h->target]);
                if (!o) {
                        (void) send_error(c, h->target, h->tag, EIO, "cannot read the firmware's state");
                        break;
                }
                if (s->vmgmt[h->target])
                        json_object_object_add(o, "vgpu_mgmt", nvv_simvmgmt_status_json(s->vmgmt[h->target]));
                t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
                (void) send_locked(c, NVV_SIMPROTO_STATUS_INFO, h->target, h->tag, t, strlen(t));
                json_object_put(o);
                break;
        }
        case NVV_SIMPROTO_HOST_RPC: {
                char err[256] = "";
                uint8_t out[4];
                uint32_t result = 0;

                if (h->target >= s->n_gpus) {
                        (void) send_error(c, h->target, h->tag, ENODEV, "no such GPU");
                        break;
                }
                if (rx->have != 8) {
                        (void) send_error(c, h->target, h->tag, EINVAL, "a host RPC is u32 gfid, u32 message");
                        break;
                }
                r = nvv_simgpu_host_rpc(s->gpus[h->target], get_le32(rx->data), get_le32(rx->data + 4), &result, err,
                                        sizeof(err));
                if (r < 0) {
                        (void) send_error(c, h->target, h->tag, -r, err[0] ? err : strerror(-r));
                        break;
                }
                put_le32(out, result);
                (void) send_locked(c, NVV_SIMPROTO_HOST_RPC_RESULT, h->target, h->tag, out, sizeof(out));
                break;
        }
        case NVV_SIMPROTO_SYSFS_SUBSCRIBE:
        case NVV_SIMPROTO_UEVENT_SUBSCRIBE:
        case NVV_SIMPROTO_SYSFS_ANSWER:
        case NVV_SIMPROTO_REGISTER_TYPES:
                serve_sysfs(c, rx);
                break;
        default:
                (void) send_error(c, h->target, h->tag, EOPNOTSUPP, "unexpected packet type");
                break;
        }
}

static void *connection_main(void *userdata)
{
        struct connection *c = userdata;
        struct nvv_sim *s = c->sim;
        struct nvv_sock_rx rx;
        bool first = true;

        nvv_simproto_rx_init(&rx, NVV_SIMPROTO_MAX_PAYLOAD);
        while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
                char err[256] = "";
                int r = nvv_simproto_recv(c->fd, &rx, first ? s->hello_timeout_ms : -1, err, sizeof(err));

                if (r == -ETIMEDOUT && first) {
                        char msg[128];

                        snprintf(msg, sizeof(msg), "no request within %d ms of connecting; closing", s->hello_timeout_ms);
                        log_debug("sim: client pid %d: %s", (int) c->peer.pid, msg);
                        (void) send_error(c, NVV_SIMPROTO_ALL_GPUS, 0, ETIMEDOUT, msg);
                        break;
                }
                if (r == -EBADMSG || r == -EPROTO || r == -E2BIG || r == -ENOMEM) {
                        log_debug("sim: client sent a bad packet: %s", err);
                        if (send_error(c, NVV_SIMPROTO_ALL_GPUS, 0, -r, err) < 0)
                                break;
                        continue;
                }
                if (r < 0) /* the end of the connection, or a socket error */
                        break;
                first = false;
                serve_message(c, &rx);
        }
        nvv_simproto_rx_done(&rx);
        sysfs_connection_gone(c);
        /* Answers to what was asked before the end still go out (a client may shut down its
         * writing side and wait); then no more events, and the client sees the end. */
        stop_workers(c);
        for (size_t i = 0; i < s->n_gpus; i++)
                if (c->subscribed[i])
                        nvv_simgpu_remove_listener(s->gpus[i], on_event, c);
        stop_events(c);
        (void) shutdown(c->fd, SHUT_RDWR);
        pthread_mutex_lock(&s->lock);
        c->done = true;
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

static void connection_free(struct connection *c)
{
        safe_close(c->fd);
        pthread_mutex_destroy(&c->jobs_lock);
        pthread_mutex_destroy(&c->write_lock);
        pthread_mutex_destroy(&c->ev_lock);
        pthread_cond_destroy(&c->ev_cv);
        free(c);
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
                connection_free(c);
                pthread_mutex_lock(&s->lock);
        }
        pthread_mutex_unlock(&s->lock);
}

/* Who may use the simulator: its own user, root, and members of the socket's group when one
 * was given. The socket's mode keeps others out already; this holds when the mode is looser
 * or the socket is reached through a descriptor passed on. */
static bool peer_allowed(const struct nvv_sim *s, const struct ucred *cred)
{
        if (cred->uid == geteuid() || cred->uid == 0)
                return true;
        return s->allow_gid && nvv_sock_access_of(cred, s->socket_gid) != NVV_SOCK_DENY;
}

static void *accept_main(void *userdata)
{
        struct nvv_sim *s = userdata;

        while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
                struct connection *c;
                struct ucred cred = {};
                int fd, r;

                r = nvv_sock_accept(s->listen_fd, &fd);
                if (r == -EMFILE || r == -ENFILE || r == -ENOBUFS || r == -ENOMEM) {
                        /* Out of descriptors: wait for connections to end rather than spin. */
                        reap_connections(s, false);
                        usleep(100 * 1000);
                        continue;
                }
                if (r < 0)
                        break;
                reap_connections(s, false);
                r = nvv_sock_peer(fd, &cred);
                if (r < 0) {
                        refuse(fd, -r, "cannot tell who is connecting: %s", strerror(-r));
                        continue;
                }
                if (!peer_allowed(s, &cred)) {
                        refuse(fd, EACCES, "permission denied: uid %u may not use this simulator (it serves uid %u and root%s)",
                               (unsigned) cred.uid, (unsigned) geteuid(), s->allow_gid ? " and its socket's group" : "");
                        continue;
                }
                c = calloc(1, sizeof(*c));
                if (!c) {
                        refuse(fd, ENOMEM, "out of memory");
                        continue;
                }
                pthread_mutex_lock(&s->lock);
                if (s->n_conns >= MAX_CONNECTIONS) {
                        pthread_mutex_unlock(&s->lock);
                        free(c);
                        refuse(fd, EUSERS, "too many clients (%d); try again later", MAX_CONNECTIONS);
                        continue;
                }
                c->sim = s;
                c->fd = fd;
                c->peer = cred;
                pthread_mutex_init(&c->write_lock, NULL);
                pthread_mutex_init(&c->jobs_lock, NULL);
                pthread_mutex_init(&c->ev_lock, NULL);
                pthread_cond_init(&c->ev_cv, NULL);
                if (pthread_create(&c->thread, NULL, connection_main, c) != 0) {
                        pthread_mutex_unlock(&s->lock);
                        c->fd = -EBADF;
                        connection_free(c);
                        refuse(fd, EAGAIN, "cannot start a thread for this client; try again later");
                        continue;
                }
                s->conns[s->n_conns++] = c;
                __atomic_add_fetch(&s->counters.connections, 1, __ATOMIC_RELAXED);
                pthread_mutex_unlock(&s->lock);
        }
        return NULL;
}

static int listen_on(struct nvv_sim *s, const struct nvv_sim_options *o, char **reterr)
{
        struct nvv_sock_listen_options lo = {
                .mode = o->socket_mode ? o->socket_mode : 0600,
                .gid = o->set_socket_gid ? o->socket_gid : (gid_t) -1,
                .backlog = 16,
        };
        struct stat st;
        int r;

        r = nvv_sock_listen(o->socket_path, &lo, &s->listen_fd, reterr);
        if (r < 0)
                return r;
        if (lstat(o->socket_path, &st) == 0) {
                s->socket_dev = st.st_dev;
                s->socket_ino = st.st_ino;
        }
        s->socket_path = strdup(o->socket_path);
        if (!s->socket_path)
                return -ENOMEM;
        if (pthread_create(&s->accept_thread, NULL, accept_main, s) != 0)
                return -EAGAIN;
        s->accepting = true;
        return 0;
}

/* Fault unplug@N: the GPU is surprise-removed, as `echo 1 > .../remove` or a hot-unplug
 * does it. Its driver's remove runs first: mdev_unregister_parent() removes its mdevs (a
 * KOBJ_REMOVE each) and then says MDEV_STATE=unregistered; pci_disable_sriov() removes its
 * VFs; then the PF goes. Writes held for it fail with ENODEV, its types are forgotten. */
static int sim_unplug(struct nvv_sim *s, size_t i, const struct nvv_fault *f, char **reterr)
{
        _cleanup_free_ struct nvv_simfs_gpu *g = calloc(1, sizeof(*g));
        _cleanup_free_ struct nvv_simgpu_status *st = calloc(1, sizeof(*st));
        char err[256] = "";
        bool had_types;
        int r;

        if (!g || !st)
                return -ENOMEM;
        pthread_mutex_lock(&s->look_lock);
        /* What came since the last look is announced first: an mdev made just before the
         * unplug is added, then removed, as the kernel would have said it. */
        look_at_gpu(s, i, st, g);
        r = nvv_simgpu_inject(s->gpus[i], f, err, sizeof(err));
        if (r < 0) {
                pthread_mutex_unlock(&s->look_lock);
                return nvv_fail_errno(r, reterr, "%s", err[0] ? err : strerror(-r));
        }
        pthread_mutex_lock(&s->sysfs_lock);
        for (struct sysfs_pending *p = s->pending; p; p = p->next)
                if (!p->done && p->gpu == (int) i) {
                        p->done = true;
                        p->error = ENODEV;
                }
        pthread_cond_broadcast(&s->sysfs_cv);
        had_types = s->n_types[i] > 0;
        free(s->types[i]);
        s->types[i] = NULL;
        s->n_types[i] = 0;
        pthread_mutex_unlock(&s->sysfs_lock);
        bump_generation(s);

        fill_identity(s, i, g);
        for (size_t k = 0; k < s->n_seen[i]; k++)
                uevent_mdev(s, (uint32_t) i, g, &s->seen[i][k], false);
        free(s->seen[i]);
        s->seen[i] = NULL;
        s->n_seen[i] = 0;
        if (had_types && !s->vf_model[i])
                uevent_parent(s, (uint32_t) i, false);
        for (uint32_t vf = 0; vf < g->num_vfs; vf++)
                uevent_pci(s, (uint32_t) i, g, (int) vf, false);
        uevent_pci(s, (uint32_t) i, g, -1, false);
        pthread_mutex_unlock(&s->look_lock);
        log_debug("sim: GPU %zu (%s) unplugged", i, g->bdf);
        return 0;
}

/* Fault plug@N: the GPU arrives freshly powered (its firmware boots: no types, no vGPUs) and
 * is bound to nvidia, which enables its VFs in the VF model. A manager registers its types
 * again. */
static int sim_plug(struct nvv_sim *s, size_t i, const struct nvv_fault *f, char **reterr)
{
        _cleanup_free_ struct nvv_simfs_gpu *g = calloc(1, sizeof(*g));
        char err[256] = "";
        int r;

        if (!g)
                return -ENOMEM;
        pthread_mutex_lock(&s->look_lock);
        r = nvv_simgpu_inject(s->gpus[i], f, err, sizeof(err));
        if (r < 0) {
                pthread_mutex_unlock(&s->look_lock);
                return nvv_fail_errno(r, reterr, "%s", err[0] ? err : strerror(-r));
        }
        bump_generation(s);
        fill_identity(s, i, g);
        uevent_pci(s, (uint32_t) i, g, -1, true);
        for (uint32_t vf = 0; vf < g->num_vfs; vf++)
                uevent_pci(s, (uint32_t) i, g, (int) vf, true);
        pthread_mutex_unlock(&s->look_lock);
        log_debug("sim: GPU %zu (%s) plugged in", i, g->bdf);
        return 0;
}

int nvv_sim_inject(struct nvv_sim *s, const char *spec, char **reterr_msg)
{
        _cleanup_free_ struct nvv_fault *faults = NULL;
        size_t n = 0;
        int r;

        /* "vfio:open:BDF", "vfio:close:BDF": the VFIO variant driver of an upstream GPU. */
        if (spec && startswith(spec, "vfio:open:"))
                return nvv_sim_vfio(s, spec + 10, true, reterr_msg);
        if (spec && startswith(spec, "vfio:close:"))
                return nvv_sim_vfio(s, spec + 11, false, reterr_msg);
        r = nvv_fault_parse(spec, &faults, &n, reterr_msg);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char first_err[256] = "";
                size_t armed = 0, first_gpu = 0;
                int first_r = 0;

                if (faults[i].gpu != NVV_FAULT_ANY_GPU && (size_t) faults[i].gpu >= s->n_gpus)
                        return nvv_fail(reterr_msg, "fault for GPU %d, but there are %zu GPUs", faults[i].gpu, s->n_gpus);
                /* The parser made sure these name their GPU. */
                if (faults[i].kind == NVV_FAULT_UNPLUG || faults[i].kind == NVV_FAULT_PLUG) {
                        r = faults[i].kind == NVV_FAULT_UNPLUG ? sim_unplug(s, (size_t) faults[i].gpu, &faults[i], reterr_msg)
                                                               : sim_plug(s, (size_t) faults[i].gpu, &faults[i], reterr_msg);
                        if (r < 0)
                                return r;
                        if (s->vmgmt[faults[i].gpu])
                                nvv_simvmgmt_set_present(s->vmgmt[faults[i].gpu], faults[i].kind == NVV_FAULT_PLUG);
                        continue;
                }
                for (size_t g = 0; g < s->n_gpus; g++) {
                        char err[256] = "";

                        if (faults[i].gpu != NVV_FAULT_ANY_GPU && (size_t) faults[i].gpu != g)
                                continue;
                        r = nvv_simgpu_inject(s->gpus[g], &faults[i], err, sizeof(err));
                        /* A fault for any GPU skips GPUs whose release lacks the command or the
                         * status, and unplugged ones, as long as one GPU takes it. */
                        if ((r == -EOPNOTSUPP || r == -EINVAL || r == -ENODEV) && faults[i].gpu == NVV_FAULT_ANY_GPU &&
                            s->n_gpus > 1) {
                                if (first_r == 0) {
                                        first_r = r;
                                        first_gpu = g;
                                        snprintf(first_err, sizeof(first_err), "%s", err);
                                }
                                continue;
                        }
                        if (r == -ENODEV) /* the text names the GPU */
                                return nvv_fail_errno(r, reterr_msg, "%s", err);
                        if (r < 0) {
                                nvv_fail(reterr_msg, "GPU %zu: %s", g, err[0] ? err : strerror(-r));
                                return r;
                        }
                        armed++;
                }
                if (armed == 0 && first_r == -ENODEV)
                        return nvv_fail_errno(first_r, reterr_msg, "no GPU takes the fault: %s", first_err);
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
        /* Writes held for the manager fail now (ENODEV), so that the tree's threads end;
         * no sysfs access after the unmount: the tree asks the GPUs and the connections. */
        pthread_mutex_lock(&s->sysfs_lock);
        s->sysfs_closing = true;
        for (struct sysfs_pending *p = s->pending; p; p = p->next)
                if (!p->done) {
                        p->done = true;
                        p->error = ENODEV;
                }
        pthread_cond_broadcast(&s->sysfs_cv);
        pthread_mutex_unlock(&s->sysfs_lock);
        s->simfs = nvv_simfs_unmount(s->simfs);
        if (s->uevent_started) {
                pthread_mutex_lock(&s->uevent_lock);
                s->uevent_stop = true;
                pthread_cond_broadcast(&s->uevent_cv);
                pthread_mutex_unlock(&s->uevent_lock);
                pthread_join(s->uevent_thread, NULL);
        }
        for (size_t i = 0; i < s->n_gpus; i++)
                nvv_simgpu_set_change_fn(s->gpus[i], NULL, NULL);
        __atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
        if (s->accepting) {
                shutdown(s->listen_fd, SHUT_RDWR);
                pthread_join(s->accept_thread, NULL);
        }
        reap_connections(s, true);
        safe_close(s->listen_fd);
        /* Only the socket we bound: if another server has taken the path since, it is its. */
        if (s->socket_path) {
                struct stat st;

                if (lstat(s->socket_path, &st) == 0 && st.st_dev == s->socket_dev && st.st_ino == s->socket_ino)
                        (void) unlink(s->socket_path);
        }
        free(s->socket_path);
        for (size_t i = 0; i < s->n_gpus; i++) {
                nvv_simgpu_free(s->gpus[i]);
                nvv_simvmgmt_free(s->vmgmt[i]);
                free(s->types[i]);
                free(s->seen[i]);
        }
        pthread_mutex_destroy(&s->sysfs_lock);
        pthread_cond_destroy(&s->sysfs_cv);
        pthread_mutex_destroy(&s->uevent_lock);
        pthread_mutex_destroy(&s->look_lock);
        pthread_cond_destroy(&s->uevent_cv);
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
        s->hello_timeout_ms = o->hello_timeout_ms > 0 ? o->hello_timeout_ms : DEFAULT_HELLO_TIMEOUT_MS;
        s->send_timeout_ms = o->send_timeout_ms > 0 ? o->send_timeout_ms : DEFAULT_SEND_TIMEOUT_MS;
        s->allow_gid = o->set_socket_gid;
        s->socket_gid = o->socket_gid;
        s->sysfs_timeout_ms = o->sysfs_timeout_ms > 0 ? o->sysfs_timeout_ms : DEFAULT_SYSFS_TIMEOUT_MS;
        pthread_mutex_init(&s->lock, NULL);
        pthread_mutex_init(&s->sysfs_lock, NULL);
        pthread_mutex_init(&s->uevent_lock, NULL);
        pthread_mutex_init(&s->look_lock, NULL);
        pthread_cond_init(&s->uevent_cv, NULL);
        {
                pthread_condattr_t ca;

                pthread_condattr_init(&ca);
                pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
                pthread_cond_init(&s->sysfs_cv, &ca);
                pthread_condattr_destroy(&ca);
        }
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
        for (size_t i = 0; i < s->n_gpus; i++)
                nvv_simgpu_set_change_fn(s->gpus[i], on_gpu_change, s);
        if (pthread_create(&s->uevent_thread, NULL, uevent_main, s) != 0)
                return -EAGAIN;
        s->uevent_started = true;
        if (o->sysfs_mount) {
                r = nvv_simfs_mount(o->sysfs_mount, s->n_gpus, &simfs_ops, s, &s->simfs, reterr_msg);
                if (r < 0)
                        return r;
        }
        if (o->socket_path) {
                r = listen_on(s, o, reterr_msg);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}
