/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nvvgpud's core: the managed GPUs and the answers to IPC requests. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "nvv-catalog.h"
#include "nvv-daemon.h"
#include "nvv-domxml.h"
#include "nvv-hook.h"
#include "nvv-evbus.h"
#include "nvv-fwdb.h"
#include "nvv-host.h"
#include "nvv-hotplug.h"
#include "nvv-json.h"
#include "nvv-libvirt.h"
#include "nvv-mdevctl.h"
#include "nvv-mdevtype.h"
#include "nvv-simconn.h"
#include "nvv-pgpu.h"
#include "nvv-planner.h"
#include "nvv-policy.h"
#include "nvv-prepmark.h"
#include "nvv-state.h"
#include "util.h"

#define MIB (UINT64_C(1) << 20)

struct daemon_gpu {
        struct nvv_pgpu *g;             /* NULL when its channel did not open */
        struct nvv_channel_info info;
        char *source;
        char *error;                    /* why it did not open */
        bool has_sim;                   /* behind the simulator: its sysfs index */
        uint32_t sim_index;
        bool registered;                /* its types are registered with the core driver */
        bool gone;                      /* unplugged (event thread only) */
        bool on_link;                   /* behind d->link: lost while the simulator is gone */
};

/* What the daemon knows beyond the firmware: which VM a vGPU was made for. */
struct vgpu_note {
        char uuid[37];
        char vm[NVV_IPC_NAME_MAX + 1];
};

struct nvv_daemon {
        struct nvv_daemon_options opt;
        bool reap_pending;                      /* nvv_daemon_reap has files to remove (atomic) */
        char **fwabi_dirs;
        char *backend_s, *catalog_dir, *policy_file, *state_dir, *mdevctl_dir, *sysfs_root;
        struct nvv_host *host;                  /* discovery at start (sysfs_root) */
        struct nvv_hotplug *hotplug;            /* udev: GPUs coming and going (real /sys) */
        char *libvirt_uri;
        struct nvv_libvirt *libvirt;            /* domain lifecycle events */
        struct nvv_fwdb *db;
        struct nvv_catalog *catalog;
        struct nvv_backend *backend;            /* parsed from opt.backend (owned) */

        pthread_mutex_t lock;                   /* guards policy, notes, counters */
        struct nvv_policy *policy;
        /* Policies replaced by a reload stay alive: managed GPUs brought up under them still
         * point at them. */
        struct nvv_policy **old_policies;
        size_t n_old_policies;
        struct vgpu_note *notes;
        size_t n_notes;
        uint64_t creates, destroys, refusals;
        /* What was acknowledged to clients; saved before each acknowledgement (lock). */
        struct nvv_state *state;
        time_t started;

        struct daemon_gpu *gpus;                /* fixed after start */
        size_t n_gpus;

        /* Firmware events: one thread polls every GPU's channel; stop_fd ends it. */
        pthread_t event_thread;
        bool event_started;
        int stop_fd;
        int lock_fd;                            /* flock on STATE_DIR/lock */
        uint64_t resets, recovered, lost;

        struct nvv_evbus *bus;                  /* `nvvgpuctl events` */

        /* The core driver's sysfs side (doc/kernel-interface.md §3): type registration and
         * the create / remove writes forwarded to the manager. The simulator's connection
         * only, today; NULL when there is none or another manager holds it. */
        struct nvv_simconn *sysfs;
        uint64_t sysfs_requests;
        /* The simulator's connection, reconnecting when it goes (a core-driver reload). */
        struct nvv_simconn *link;
        uint64_t link_gen;
        bool link_down;
};

/* ---- set-up ---- */

int nvv_daemon_new(const struct nvv_daemon_options *o, struct nvv_daemon **ret, char **reterr_msg)
{
        _cleanup_(nvv_daemon_freep) struct nvv_daemon *d = NULL;
        struct nvv_policy_context ctx = {};
        int r;

        assert_return(o && ret, -EINVAL);
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        pthread_mutex_init(&d->lock, NULL);
        d->stop_fd = -1;
        d->lock_fd = -1;
        r = nvv_evbus_new(&d->bus);
        if (r < 0)
                return r;
        d->opt = *o;
        d->started = time(NULL);
        for (char *const *p = o->fwabi_dirs; p && *p; p++)
                if (strv_extend(&d->fwabi_dirs, *p) < 0)
                        return -ENOMEM;
        if ((o->backend && !(d->backend_s = strdup(o->backend))) ||
            (o->catalog_dir && !(d->catalog_dir = strdup(o->catalog_dir))) ||
            (o->policy_file && !(d->policy_file = strdup(o->policy_file))) ||
            (o->state_dir && !(d->state_dir = strdup(o->state_dir))) ||
            (o->mdevctl_dir && o->mdevctl_dir[0] && !(d->mdevctl_dir = strdup(o->mdevctl_dir))) ||
            (o->sysfs_root && o->sysfs_root[0] && !(d->sysfs_root = strdup(o->sysfs_root))) ||
            (o->libvirt_uri && o->libvirt_uri[0] && !(d->libvirt_uri = strdup(o->libvirt_uri))))
                return -ENOMEM;
        d->opt.state_dir = d->state_dir;
        d->opt.fwabi_dirs = d->fwabi_dirs;

        r = nvv_fwdb_new(&d->db);
        if (r < 0)
                return r;
        for (char **p = d->fwabi_dirs; p && *p; p++) {
                r = nvv_fwdb_load_dir(d->db, *p, reterr_msg);
                if (r < 0)
                        return r;
        }
        r = nvv_fwdb_load_default(d->db, reterr_msg);
        if (r < 0 && !(r == -ENOENT && d->fwabi_dirs))
                return r;
        if (r < 0 && reterr_msg) {
                free(*reterr_msg);
                *reterr_msg = NULL;
        }
        if (nvv_fwdb_count(d->db) == 0)
                return nvv_fail_errno(-ENOENT, reterr_msg, "no firmware release descriptions found");

        r = nvv_catalog_new(&d->catalog);
        if (r < 0)
                return r;
        r = d->catalog_dir ? nvv_catalog_load_dir(d->catalog, d->catalog_dir, reterr_msg)
                           : nvv_catalog_load_default(d->catalog, reterr_msg);
        if (r < 0)
                return r;

        ctx.catalog = d->catalog;
        r = d->policy_file ? nvv_policy_load_file(d->policy_file, &ctx, &d->policy, reterr_msg)
                           : nvv_policy_new_default(&d->policy);
        if (r < 0)
                return r;

        if (!o->inproc) {
                if (!o->backend)
                        return nvv_fail_errno(-EINVAL, reterr_msg, "no backend given");
                r = nvv_backend_parse(o->backend, &d->backend, reterr_msg);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(d);
        return 0;
}

struct nvv_daemon *nvv_daemon_free(struct nvv_daemon *d)
{
        if (!d)
                return NULL;
        /* Its callbacks use everything below: it goes first. */
        d->libvirt = nvv_libvirt_stop(d->libvirt);
        if (d->event_started) {
                uint64_t one = 1;

                if (write(d->stop_fd, &one, sizeof(one)) != (ssize_t) sizeof(one))
                        log_debug("cannot wake the event thread: %m");
                pthread_join(d->event_thread, NULL);
        }
        if (d->stop_fd >= 0)
                close(d->stop_fd);
        /* Stopping the GPUs: their types go from sysfs. */
        for (size_t i = 0; d->sysfs && i < d->n_gpus; i++)
                if (d->gpus[i].registered)
                        (void) nvv_simconn_register_types(d->sysfs, d->gpus[i].sim_index, NULL, 0, NULL);
        if (d->lock_fd >= 0)
                close(d->lock_fd);
        for (size_t i = 0; i < d->n_gpus; i++) {
                nvv_pgpu_free(d->gpus[i].g);
                free(d->gpus[i].source);
                free(d->gpus[i].error);
        }
        free(d->gpus);
        nvv_simconn_unref(d->sysfs);
        nvv_simconn_unref(d->link);
        for (size_t i = 0; i < d->n_old_policies; i++)
                nvv_policy_free(d->old_policies[i]);
        free(d->old_policies);
        nvv_policy_free(d->policy);
        free(d->notes);
        nvv_backend_free(d->backend);
        nvv_catalog_free(d->catalog);
        nvv_fwdb_free(d->db);
        strv_free(d->fwabi_dirs);
        free(d->backend_s);
        free(d->catalog_dir);
        free(d->policy_file);
        free(d->state_dir);
        free(d->mdevctl_dir);
        free(d->sysfs_root);
        free(d->libvirt_uri);
        nvv_host_free(d->host);
        nvv_hotplug_free(d->hotplug);
        nvv_state_free(d->state);
        nvv_evbus_free(d->bus);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return NULL;
}

/* Start-up lines go to the caller's list, later ones to its callback; both to debug. */
static void log_v(struct nvv_daemon *d, char ***log, int level, const char *fmt, va_list ap) _printf_(4, 0);
static void log_v(struct nvv_daemon *d, char ***log, int level, const char *fmt, va_list ap)
{
        _cleanup_free_ char *s = NULL;

        if (vasprintf(&s, fmt, ap) < 0)
                return;
        log_debug("%s", s);
        if (log)
                (void) strv_extend(log, s);
        if (d && d->opt.log_fn)
                d->opt.log_fn(d->opt.log_userdata, level, s);
}

static void log_line(char ***log, const char *fmt, ...) _printf_(2, 3);
static void log_line(char ***log, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_v(NULL, log, 6, fmt, ap);
        va_end(ap);
}

/* One event for `nvvgpuctl events` (doc/ipc.md): its name, GPU and vGPU, and extra keys (taken). */
static void emit(struct nvv_daemon *d, const char *event, const char *gpu, const char *uuid, json_object *extra)
{
        json_object *o = json_object_new_object();

        if (!o) {
                json_object_put(extra);
                return;
        }
        json_object_object_add(o, "event", json_object_new_string(event));
        if (gpu && gpu[0])
                json_object_object_add(o, "gpu", json_object_new_string(gpu));
        if (uuid && uuid[0])
                json_object_object_add(o, nvv_state_bdf_valid(uuid) ? "vf" : "uuid", json_object_new_string(uuid));
        if (extra) {
                /* Keys without a value are left out. */
                json_object_object_foreach(extra, k, v) if (v) json_object_object_add(o, k, json_object_get(v));
                json_object_put(extra);
        }
        (void) nvv_evbus_publish(d->bus, o);
}

/* Extra keys for emit(): "key", json_object *, ..., NULL. */
static json_object *kv(const char *key, ...)
{
        json_object *o = json_object_new_object();
        va_list ap;

        va_start(ap, key);
        for (const char *k = key; k; k = va_arg(ap, const char *)) {
                json_object *v = va_arg(ap, json_object *);

                if (o)
                        json_object_object_add(o, k, v);
                else
                        json_object_put(v);
        }
        va_end(ap);
        return o;
}

struct nvv_evbus *nvv_daemon_get_bus(struct nvv_daemon *d)
{
        return d ? d->bus : NULL;
}

static void log_v_line(struct nvv_daemon *d, char ***log, int level, const char *fmt, ...) _printf_(4, 5);
static void log_v_line(struct nvv_daemon *d, char ***log, int level, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_v(log ? NULL : d, log, level, fmt, ap);
        va_end(ap);
}

static int cmp_gpu(const void *a, const void *b)
{
        return strcmp(((const struct daemon_gpu *) a)->info.bdf, ((const struct daemon_gpu *) b)->info.bdf);
}

static struct daemon_gpu *find_gpu(struct nvv_daemon *d, const char *bdf);
static void autostart(struct nvv_daemon *d, const char *only_gpu, char ***log);
static int sysfs_register(struct nvv_daemon *d, struct daemon_gpu *x, char ***log);
static void sysfs_process(struct nvv_daemon *d);
static const char *type_name_of(const struct nvv_pgpu *g, uint32_t type_id);
static void recover_gpu(struct nvv_daemon *d, struct daemon_gpu *x, bool replugged);
static bool vm_matches(struct nvv_daemon *d, const char *uuid, const char *vm);
static void note_get(struct nvv_daemon *d, const char *uuid, char vm[static NVV_IPC_NAME_MAX + 1]);
static void settle_prepares(struct nvv_daemon *d, char ***log);
static struct daemon_gpu *where_is(struct nvv_daemon *d, const char *uuid, struct nvv_pgpu_vgpu *ret_v);

/* ---- the state store ---- */

static int state_save_locked(struct nvv_daemon *d, char **reterr_msg)
{
        if (!d->state_dir)
                return 0;
        return nvv_state_save(d->state, d->state_dir, reterr_msg);
}

/* An intent: replaced atomically, not synced (nvv_state_save_nosync says why that is enough). */
static int state_save_intent_locked(struct nvv_daemon *d, char **reterr_msg)
{
        if (!d->state_dir)
                return 0;
        __atomic_store_n(&d->reap_pending, true, __ATOMIC_RELAXED);
        return nvv_state_save_nosync(d->state, d->state_dir, reterr_msg);
}

#define PREPARED_PREFIX ".prepared-"

static void dlog(struct nvv_daemon *d, int level, const char *fmt, ...) _printf_(3, 4);

/* What the saves and prepares of a request left to remove (nvv_state_reap, retired prepare
 * marks), once its answer is sent. */
void nvv_daemon_reap(struct nvv_daemon *d)
{
        _cleanup_free_ char *msg = NULL;
        DIR *dir;

        if (!d || !d->state_dir || !__atomic_exchange_n(&d->reap_pending, false, __ATOMIC_RELAXED))
                return;
        if (nvv_state_reap(d->state_dir, &msg) < 0)
                dlog(d, 7, "%s", msg ? msg : "cannot remove old state files");
        dir = opendir(d->state_dir);
        for (struct dirent *e; dir && (e = readdir(dir));)
                if (startswith(e->d_name, PREPARED_PREFIX))
                        (void) unlinkat(dirfd(dir), e->d_name, 0);
        if (dir)
                closedir(dir);
}

/*
 * What only a VM's run changes (the hook's prepare and release: vGPUs made for the VM and
 * removed after it, a vGPU's running state and VM): replaced atomically, not synced. A power
 * loss or host crash ends the VM and empties the GPUs' firmware whatever the disk holds, and
 * the next nvvgpud meets a record of a run as it would after any power loss during a run:
 * it makes the vGPU again, and releases it once libvirt reports the VM not running
 * (on_libvirt_connected). A sync would keep nothing more, and on some disks costs several
 * milliseconds of each VM start (doc/state-store.md, "Which saves are synced").
 */
static int vm_run_save_locked(struct nvv_daemon *d, char **reterr_msg)
{
        return state_save_intent_locked(d, reterr_msg);
}

static int state_load(struct nvv_daemon *d, char ***log, char **reterr_msg)
{
        struct nvv_state_load_info info = {};
        _cleanup_free_ char *msg = NULL;
        int r;

        if (!d->state_dir)
                return nvv_state_new(&d->state);
        r = nvv_state_dir_prepare(d->state_dir, reterr_msg);
        if (r < 0)
                return r;
        {
                /* One daemon per state directory: a second would overwrite the first's records. */
                _cleanup_free_ char *lock = NULL;

                if (asprintf(&lock, "%s/lock", d->state_dir) < 0)
                        return -ENOMEM;
                d->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (d->lock_fd < 0)
                        return nvv_fail_errno(-errno, reterr_msg, "state store: cannot open %s: %m", lock);
                if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0)
                        return nvv_fail_errno(errno == EWOULDBLOCK ? -EBUSY : -errno, reterr_msg,
                                              "state store %s is in use by another nvvgpud", d->state_dir);
        }
        r = nvv_state_load(d->state_dir, &d->state, &info, &msg);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "state store: %s", msg ? msg : strerror(-r));
        if (info.rebuilt)
                log_line(log, "state store: %s; rebuilding from the firmware", msg ? msg : "unreadable, kept aside");
        else if (!info.missing)
                log_line(log, "state store: %zu vGPUs, %zu definitions", d->state->n_vgpus, d->state->n_definitions);
        for (size_t i = 0; i < d->state->n_vgpus; i++)
                if (d->state->vgpus[i].vm_name[0]) {
                        struct vgpu_note *n = realloc(d->notes, (d->n_notes + 1) * sizeof(*n));

                        if (!n)
                                return -ENOMEM;
                        d->notes = n;
                        snprintf(n[d->n_notes].uuid, sizeof(n->uuid), "%s", d->state->vgpus[i].uuid);
                        snprintf(n[d->n_notes].vm, sizeof(n->vm), "%.*s", NVV_IPC_NAME_MAX, d->state->vgpus[i].vm_name);
                        d->n_notes++;
                }
        return 0;
}

/* The state's record of a vGPU the managed GPU holds, keeping what only the state knows. */
static int state_put(struct nvv_daemon *d, const struct daemon_gpu *x, const struct nvv_pgpu_vgpu *v, const char *vm,
                     char **reterr_msg)
{
        const struct nvv_state_vgpu *old = nvv_state_find_vgpu(d->state, v->name);
        struct nvv_state_vgpu rec;
        int r;

        r = nvv_state_vgpu_from_pgpu(x->info.bdf, v, NULL, &rec, reterr_msg);
        if (r < 0)
                return r;
        /* The handle is the managed GPU's, now: one kept from the record would outlive the
         * start it belonged to (a vGPU made again after a firmware restart is not started),
         * and the store refuses a record that is not running but has one, so the stale
         * record (its old placement too) would stay. */
        rec.host_handle = v->state == NVV_VGPU_RUNNING ? nvv_pgpu_get_host_handle(x->g, v->name) : 0;
        if (old) {
                if (!vm)
                        snprintf(rec.vm_name, sizeof(rec.vm_name), "%s", old->vm_name);
                memcpy(rec.vm_uuid, old->vm_uuid, sizeof(rec.vm_uuid));
                rec.on_demand = old->on_demand;
        }
        if (vm)
                snprintf(rec.vm_name, sizeof(rec.vm_name), "%s", vm);
        return old ? nvv_state_update_vgpu(d->state, &rec, reterr_msg) : nvv_state_add_vgpu(d->state, &rec, reterr_msg);
}

/* Creates and destroys a killed daemon left half done: the create is undone (no client was
 * told of it), the destroy finished. */
static void settle_intents(struct nvv_daemon *d, struct daemon_gpu *x, char ***log)
{
        for (size_t i = 0; i < d->state->n_vgpus;) {
                struct nvv_state_vgpu *v = &d->state->vgpus[i];
                _cleanup_free_ char *m = NULL;
                char uuid[NVV_STATE_UUID_MAX];
                bool creating = v->state == NVV_STATE_VGPU_CREATING, found = false;

                if (!streq(v->gpu, x->info.bdf) || (!creating && v->state != NVV_STATE_VGPU_DESTROYING)) {
                        i++;
                        continue;
                }
                snprintf(uuid, sizeof(uuid), "%s", v->uuid);
                if (nvv_pgpu_discard_vgpu(x->g, uuid, &found, &m) < 0) {
                        log_line(log, "GPU %s: vGPU %s: the interrupted %s cannot be settled: %s; its record stays",
                                 x->info.bdf, uuid, creating ? "create" : "destroy", m ? m : "?");
                        i++;
                        continue;
                }
                log_line(log, "GPU %s: vGPU %s: the interrupted %s is settled (%s)", x->info.bdf, uuid,
                         creating ? "create" : "destroy",
                         found ? "the firmware held it; deleted" : "the firmware did not hold it");
                (void) nvv_state_remove_vgpu(d->state, uuid); /* the array shifts: i stays */
        }
}

/* VM starts a killed daemon left unrecorded (the "starting" intent, vm_start_intent): torn
 * down in the firmware with the handle the intent names; the vGPU is created, not started
 * (the hook's call failed with the kill, so libvirt did not start the VM). After adopt only:
 * a GPU brought up afresh runs nothing. The records follow the model (reconcile_gpu's end). */
static void settle_starts(struct nvv_daemon *d, struct daemon_gpu *x, char ***log)
{
        for (size_t i = 0; i < d->state->n_vgpus; i++) {
                struct nvv_state_vgpu *v = &d->state->vgpus[i];
                _cleanup_free_ char *m = NULL;
                int r;

                if (!streq(v->gpu, x->info.bdf) || v->state != NVV_STATE_VGPU_STARTING)
                        continue;
                r = nvv_pgpu_vm_settle(x->g, v->uuid, v->gfid, v->host_handle, &m);
                if (r == -ENOENT) {
                        /* Not adopted (reported already): its record is of a vGPU not started. */
                        v->state = NVV_STATE_VGPU_CREATED;
                        v->gfid = v->host_handle = 0;
                } else if (r < 0)
                        log_line(log, "GPU %s: vGPU %s: the interrupted VM start cannot be settled: %s", x->info.bdf,
                                 v->uuid, m ? m : strerror(-r));
                else
                        log_line(log, "GPU %s: vGPU %s: the interrupted VM start is settled (torn down; created, not "
                                 "started)", x->info.bdf, v->uuid);
        }
}

/*
 * Bring one GPU into agreement with the state: vGPUs the state records for it are adopted
 * (the firmware keeps them across a manager restart); when that fails the GPU is brought up
 * afresh and each recorded vGPU made again with its UUID and type. Every vGPU that can be
 * neither is logged with its record, never dropped silently.
 */
static int reconcile_gpu(struct nvv_daemon *d, struct daemon_gpu *x, char ***log)
{
        _cleanup_free_ struct nvv_pgpu_known *known = NULL;
        _cleanup_strv_free_ char **unplaced = NULL;
        _cleanup_free_ char *msg = NULL;
        size_t n = 0;
        int r;

        known = calloc(d->state->n_vgpus ? d->state->n_vgpus : 1, sizeof(*known));
        if (!known)
                return -ENOMEM;
        for (size_t i = 0; i < d->state->n_vgpus; i++)
                if (streq(d->state->vgpus[i].gpu, x->info.bdf) && (d->state->vgpus[i].state == NVV_STATE_VGPU_CREATED ||
                                                                  d->state->vgpus[i].state == NVV_STATE_VGPU_RUNNING ||
                                                                  d->state->vgpus[i].state == NVV_STATE_VGPU_STARTING) &&
                    nvv_state_vgpu_to_known(&d->state->vgpus[i], &known[n]) == 0)
                        n++;
        if (n > 0) {
                r = nvv_pgpu_adopt(x->g, known, n, &unplaced, &msg);
                for (char **u = unplaced; u && *u; u++)
                        log_line(log, "GPU %s: %s", x->info.bdf, *u);
                if (r >= 0) {
                        log_line(log, "GPU %s: adopted %zu vGPUs", x->info.bdf, nvv_pgpu_count(x->g));
                        goto sync;
                }
                log_line(log, "GPU %s: cannot adopt the %zu vGPUs the state records (%s); bringing it up afresh",
                         x->info.bdf, n, msg ? msg : strerror(-r));
                msg = (free(msg), NULL);
        }
        /* A create a killed daemon left half done may have left its vGPU in the firmware: it
         * goes first, or the bring-up would find the firmware in use. */
        settle_intents(d, x, log);
        r = nvv_pgpu_bring_up(x->g, &msg);
        if (r < 0) {
                log_line(log, "GPU %s: bring-up failed: %s", x->info.bdf, msg ? msg : strerror(-r));
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *m = NULL;

                r = nvv_pgpu_create_vgpu(x->g, known[i].place.type_id, known[i].place.placement_id, known[i].place.name,
                                         NULL, NULL, &m);
                if (r < 0)
                        r = nvv_pgpu_create_vgpu(x->g, known[i].place.type_id, NVV_PLACEMENT_NONE, known[i].place.name,
                                                 NULL, NULL, &m);
                if (r >= 0)
                        log_line(log, "GPU %s: vGPU %s made again", x->info.bdf, known[i].place.name);
                else {
                        log_line(log, "GPU %s: vGPU %s (type %u) is lost: %s; its record is removed from the state",
                                 x->info.bdf, known[i].place.name, known[i].place.type_id, m ? m : strerror(-r));
                        (void) nvv_state_remove_vgpu(d->state, known[i].place.name);
                }
        }
        goto sync_made;
sync:
        settle_starts(d, x, log);
sync_made:
        settle_intents(d, x, log);
        for (size_t i = 0; i < nvv_pgpu_count(x->g); i++) {
                struct nvv_pgpu_vgpu v;
                _cleanup_free_ char *m = NULL;

                if (nvv_pgpu_get_vgpu(x->g, i, &v) == 0 && state_put(d, x, &v, NULL, &m) < 0)
                        log_line(log, "GPU %s: vGPU %s not recorded: %s", x->info.bdf, v.name, m ? m : "?");
        }
        return 0;
}

static void dlog(struct nvv_daemon *d, int level, const char *fmt, ...) _printf_(3, 4);
static void dlog(struct nvv_daemon *d, int level, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_v(d, NULL, level, fmt, ap);
        va_end(ap);
}

/*
 * After a GSP reset the firmware has forgotten its configuration and every vGPU. What the
 * state records is made again: the vGPUs are stopped and dropped from the model, the GPU is
 * brought up, and each recorded vGPU re-created with its UUID and type; one that cannot be is
 * logged and its record kept, so it is reported, never forgotten.
 */
static void recover_gpu(struct nvv_daemon *d, struct daemon_gpu *x, bool replugged)
{
        _cleanup_free_ struct nvv_pgpu_vgpu *v = NULL;
        _cleanup_free_ char *msg = NULL;
        size_t n = nvv_pgpu_count(x->g), k = 0, made = 0;

        dlog(d, 4, "GPU %s: %s; recovering %zu vGPUs", x->info.bdf, replugged ? "it is back" : "the GSP reset", n);
        emit(d, replugged ? "gpu-added" : "gpu-reset", x->info.bdf, NULL,
             kv("vgpus", json_object_new_int64((int64_t) n), NULL));
        v = calloc(n ? n : 1, sizeof(*v));
        if (!v)
                return;
        for (size_t i = 0; i < n; i++)
                if (nvv_pgpu_get_vgpu(x->g, i, &v[k]) == 0)
                        k++;
        for (size_t i = 0; i < k; i++) {
                (void) nvv_pgpu_vm_stop(x->g, v[i].name, NULL);
                (void) nvv_pgpu_delete_vgpu(x->g, v[i].name, NULL, NULL);
        }
        if (nvv_pgpu_bring_up(x->g, &msg) < 0) {
                dlog(d, 3, "GPU %s: bring-up after the reset failed: %s; its %zu vGPUs stay recorded", x->info.bdf,
                        msg ? msg : "?", k);
                emit(d, "gpu-failed", x->info.bdf, NULL, kv("message", json_object_new_string(msg ? msg : "?"), NULL));
                pthread_mutex_lock(&d->lock);
                d->resets++;
                d->lost += k;
                pthread_mutex_unlock(&d->lock);
                return;
        }
        for (size_t i = 0; i < k; i++) {
                _cleanup_free_ char *m = NULL;
                struct nvv_pgpu_vgpu nv;
                int r;

                r = nvv_pgpu_create_vgpu(x->g, v[i].type_id, v[i].place.placement_id, v[i].name, &nv, NULL, &m);
                if (r < 0) {
                        free(m);
                        m = NULL;
                        r = nvv_pgpu_create_vgpu(x->g, v[i].type_id, NVV_PLACEMENT_NONE, v[i].name, &nv, NULL, &m);
                }
                if (r < 0) {
                        dlog(d, 3, "GPU %s: vGPU %s could not be made again after the reset: %s; its record stays",
                                x->info.bdf, v[i].name, m ? m : strerror(-r));
                        emit(d, "vgpu-lost", x->info.bdf, v[i].name,
                             kv("message", json_object_new_string(m ? m : strerror(-r)), NULL));
                        continue;
                }
                made++;
                pthread_mutex_lock(&d->lock);
                (void) state_put(d, x, &nv, NULL, NULL);
                pthread_mutex_unlock(&d->lock);
        }
        pthread_mutex_lock(&d->lock);
        (void) state_save_locked(d, NULL);
        d->resets++;
        d->recovered += made;
        d->lost += k - made;
        pthread_mutex_unlock(&d->lock);
        dlog(d, 5, "GPU %s: recovered %zu of %zu vGPUs after the GSP reset", x->info.bdf, made, k);
        /* A reset GPU's driver state is new too: its types are registered again. */
        (void) sysfs_register(d, x, NULL);
        emit(d, "gpu-recovered", x->info.bdf, NULL,
             kv("recovered", json_object_new_int64((int64_t) made), "lost", json_object_new_int64((int64_t) (k - made)), NULL));
}

/*
 * The simulator (the core driver and the firmware) went away, or came back. Gone: each of its
 * GPUs is lost, saying why, with its vGPUs' records kept, while the connection retries (a
 * bounded backoff, nvv_simconn_set_reconnect). Back: its firmware is a fresh one, so each GPU
 * is recovered as after a replug: brought up, its recorded vGPUs made again, its types
 * registered in sysfs again, its autostart definitions made.
 */
static void link_changed(struct nvv_daemon *d)
{
        char why[300];
        uint64_t gen;
        int up = nvv_simconn_link_state(d->link, &gen, why, sizeof(why));

        if (up < 0)
                return;
        if (!up) {
                if (d->link_down)
                        return;
                d->link_down = true;
                for (size_t i = 0; i < d->n_gpus; i++) {
                        struct daemon_gpu *x = &d->gpus[i];
                        _cleanup_free_ char *m = NULL;

                        if (!x->on_link || !x->g || x->gone)
                                continue;
                        x->gone = true;
                        x->registered = false;
                        if (asprintf(&m, "the core driver went away (%s)", why) < 0)
                                m = NULL;
                        (void) nvv_pgpu_set_lost(x->g, m ? m : "the core driver went away");
                        dlog(d, 4, "GPU %s: %s; its %zu vGPUs are lost until it is back", x->info.bdf,
                             m ? m : "the core driver went away", nvv_pgpu_count(x->g));
                        emit(d, "gpu-removed", x->info.bdf, NULL,
                             kv("vgpus", json_object_new_int64((int64_t) nvv_pgpu_count(x->g)), "message",
                                json_object_new_string(m ? m : "the core driver went away"), NULL));
                }
                return;
        }
        if (!d->link_down && gen == d->link_gen)
                return;
        d->link_down = false;
        d->link_gen = gen;
        dlog(d, 5, "the simulator at %s is back (connection %" PRIu64 "); recovering its GPUs", nvv_simconn_get_path(d->link),
             gen);
        for (size_t i = 0; i < d->n_gpus; i++) {
                struct daemon_gpu *x = &d->gpus[i];

                if (!x->on_link || !x->g)
                        continue;
                /* Lost with the link, or unplugged before: the new firmware has it, fresh. */
                x->gone = false;
                recover_gpu(d, x, true);
                autostart(d, x->info.bdf, NULL);
        }
}

static void *event_main(void *userdata)
{
        struct nvv_daemon *d = userdata;
        _cleanup_free_ struct pollfd *p = calloc(d->n_gpus + 4, sizeof(*p));
        _cleanup_free_ struct daemon_gpu **who = calloc(d->n_gpus + 4, sizeof(*who));
        size_t n = 0, sysfs_at = 0, hotplug_at = 0, link_at = 0;

        if (!p || !who)
                return NULL;
        p[n++] = (struct pollfd) { .fd = d->stop_fd, .events = POLLIN };
        for (size_t i = 0; i < d->n_gpus; i++)
                if (d->gpus[i].g && nvv_pgpu_get_fd(d->gpus[i].g) >= 0) {
                        who[n] = &d->gpus[i];
                        p[n++] = (struct pollfd) { .fd = nvv_pgpu_get_fd(d->gpus[i].g), .events = POLLIN };
                }
        if (d->sysfs) {
                sysfs_at = n;
                p[n++] = (struct pollfd) { .fd = nvv_simconn_sysfs_get_fd(d->sysfs), .events = POLLIN };
        }
        if (d->hotplug) {
                hotplug_at = n;
                p[n++] = (struct pollfd) { .fd = nvv_hotplug_get_fd(d->hotplug), .events = POLLIN };
        }
        if (d->link) {
                link_at = n;
                p[n++] = (struct pollfd) { .fd = nvv_simconn_link_get_fd(d->link), .events = POLLIN };
        }
        for (;;) {
                if (poll(p, n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[0].revents)
                        break;
                for (size_t i = 1; i < n; i++) {
                        if (!p[i].revents)
                                continue;
                        if (sysfs_at && i == sysfs_at) {
                                sysfs_process(d);
                                continue;
                        }
                        if (hotplug_at && i == hotplug_at) {
                                (void) nvv_hotplug_process(d->hotplug);
                                continue;
                        }
                        if (link_at && i == link_at) {
                                link_changed(d);
                                continue;
                        }
                        (void) nvv_pgpu_process(who[i]->g);
                        if (nvv_pgpu_get_state(who[i]->g) == NVV_PGPU_LOST && !who[i]->gone)
                                recover_gpu(d, who[i], false);
                }
        }
        return NULL;
}

/* ---- sysfs: type registration, and writes forwarded by the core driver ---- */

/* The GPU's uploaded types, as NVIDIA's driver names and describes them in sysfs. */
static int sysfs_register(struct nvv_daemon *d, struct daemon_gpu *x, char ***log)
{
        _cleanup_free_ struct nvv_sysfs_type *t = NULL;
        _cleanup_free_ char *msg = NULL;
        size_t n;
        int r;

        if (!d->sysfs || !x->has_sim || !x->g || nvv_pgpu_get_state(x->g) != NVV_PGPU_READY)
                return 0;
        t = calloc(NVV_SYSFS_MAX_TYPES, sizeof(*t));
        if (!t)
                return -ENOMEM;
        n = nvv_mdevtype_list(x->g, t, NVV_SYSFS_MAX_TYPES);
        r = nvv_simconn_register_types(d->sysfs, x->sim_index, t, n, &msg);
        if (r < 0) {
                log_v_line(d, log, 4, "GPU %s: types not registered in sysfs: %s", x->info.bdf, msg ? msg : strerror(-r));
                return r;
        }
        x->registered = true;
        log_v_line(d, log, 6, "GPU %s: %zu types registered in sysfs", x->info.bdf, n);
        return 0;
}

/* Become the core driver's manager and register every ready GPU's types. Another manager
 * already there is logged: then sysfs writes are not ours to answer. */
static void sysfs_start(struct nvv_daemon *d, char ***log)
{
        _cleanup_free_ char *msg = NULL;
        int r;

        if (!d->sysfs)
                return;
        r = nvv_simconn_sysfs_subscribe(d->sysfs, &msg);
        if (r < 0) {
                log_v_line(d, log, 4, "sysfs: not the manager (%s); sysfs writes are not answered by this nvvgpud",
                           msg ? msg : strerror(-r));
                d->sysfs = nvv_simconn_unref(d->sysfs);
                return;
        }
        for (size_t i = 0; i < d->n_gpus; i++)
                (void) sysfs_register(d, &d->gpus[i], log);
}

static struct daemon_gpu *find_gpu(struct nvv_daemon *d, const char *bdf);
static json_object *do_create(struct nvv_daemon *d, const struct nvv_ipc_request *req);
static json_object *do_destroy(struct nvv_daemon *d, const struct nvv_ipc_request *req);

/* The negative errno of a reply (0 when it says ok), and its message (ret_msg may be NULL). */
static int reply_errno(json_object *reply, const char **ret_msg)
{
        json_object *ok = NULL, *e = NULL, *v = NULL;

        if (ret_msg)
                *ret_msg = NULL;
        if (!reply || !json_object_object_get_ex(reply, "ok", &ok))
                return -ENOMEM;
        if (json_object_get_boolean(ok))
                return 0;
        if (ret_msg && json_object_object_get_ex(reply, "error", &e) && json_object_object_get_ex(e, "message", &v))
                *ret_msg = json_object_get_string(v);
        else
                (void) json_object_object_get_ex(reply, "error", &e);
        return json_object_object_get_ex(e, "errno", &v) ? -(int) json_object_get_int(v) : -EIO;
}

/* A create or remove written in sysfs: done as nvvgpuctl's would be (recorded in the state,
 * told on the event stream), its errno the write's. */
static int sysfs_act(struct nvv_daemon *d, const struct nvv_sysfs_request *q, bool undo)
{
        _cleanup_json_ json_object *reply = NULL;
        struct nvv_ipc_request req = {};
        struct daemon_gpu *x = find_gpu(d, q->gpu);
        const char *msg;
        bool make = (q->op == NVV_SYSFS_CREATE) != undo;
        int r;

        bool vf = q->op == NVV_SYSFS_SET_VF_TYPE || q->op == NVV_SYSFS_CLEAR_VF_TYPE;
        const char *name = vf ? q->vf : q->uuid;

        if (vf)
                make = (q->op == NVV_SYSFS_SET_VF_TYPE) != undo;
        if (!x || !x->g)
                return -ENODEV;
        /* The VF model names the vGPU by its VF (the firmware holds that name); a VF's address
         * never reaches here from a client, only from the core driver. */
        if (vf && !nvv_state_bdf_valid(name))
                return -EINVAL;
        snprintf(req.uuid, sizeof(req.uuid), "%s", name);
        /* NVIDIA's vendor VFIO driver (RFC v2): a type the GPU's equal-size mode refuses is
         * EINVAL on current_vgpu_type, where the mdev model says ENOSPC. */
        if (vf && make && !undo && nvv_pgpu_why_not(x->g, q->type_id, NULL) == NVV_WHY_MODE)
                return -EINVAL;
        if (make) {
                req.method = NVV_IPC_CREATE;
                snprintf(req.gpu, sizeof(req.gpu), "%.12s", x->info.bdf);
                snprintf(req.type, sizeof(req.type), "%s", type_name_of(x->g, q->type_id));
                reply = do_create(d, &req);
        } else {
                req.method = NVV_IPC_DESTROY;
                reply = do_destroy(d, &req);
        }
        r = reply_errno(reply, &msg);
        if (r == -ENOENT && !make && !undo) {
                /* A vGPU the firmware holds that nvvgpud does not know (its state was lost):
                 * removing it in sysfs deletes it in the firmware; a GPU that could not be brought
                 * up because of it is brought up again once it holds none. */
                _cleanup_free_ char *m = NULL;
                bool found = false;

                r = nvv_pgpu_discard_vgpu(x->g, name, &found, &m);
                if (r >= 0 && !found)
                        r = -ENOENT;
                if (r >= 0 && nvv_pgpu_get_state(x->g) == NVV_PGPU_FAILED && nvv_pgpu_count(x->g) == 0) {
                        free(m);
                        m = NULL;
                        if (nvv_pgpu_bring_up(x->g, &m) >= 0) {
                                dlog(d, 5, "GPU %s: brought up, now that the vGPUs nobody recorded are removed", x->info.bdf);
                                (void) sysfs_register(d, x, NULL);
                                autostart(d, x->info.bdf, NULL);
                        }
                }
                msg = r < 0 ? "the firmware holds no such vGPU" : "a vGPU nvvgpud did not know, removed from the firmware";
                if (r >= 0)
                        r = 0;
        }
        dlog(d, r < 0 ? 5 : 6, "sysfs request %u: %s%s %s on GPU %s: %s", q->id, undo ? "undo of " : "",
             nvv_sysfs_op_to_string(q->op), name, q->gpu, r < 0 ? (msg ? msg : strerror(-r)) : "done");
        return r;
}

/* ---- libvirt's events ---- */

static json_object *do_vm_release(struct nvv_daemon *d, const struct nvv_ipc_request *req);

static bool on_demand_of(struct nvv_daemon *d, const char *uuid);

/* running_only: running ones, and with made_too also those made for the VM (on demand). */
static bool vm_has_vgpus(struct nvv_daemon *d, const char *vm, bool running_only, bool made_too)
{
        for (size_t g = 0; g < d->n_gpus; g++)
                for (size_t k = 0; d->gpus[g].g && k < nvv_pgpu_count(d->gpus[g].g); k++) {
                        struct nvv_pgpu_vgpu v;

                        if (nvv_pgpu_get_vgpu(d->gpus[g].g, k, &v) == 0 && vm_matches(d, v.name, vm) &&
                            (!running_only || v.state == NVV_VGPU_RUNNING || (made_too && on_demand_of(d, v.name))))
                                return true;
                }
        return false;
}

static void vm_release_missed(struct nvv_daemon *d, const char *vm, bool made_too, const char *why)
{
        struct nvv_ipc_request q = { .method = NVV_IPC_VM_RELEASE };

        if (strlen(vm) > NVV_IPC_NAME_MAX || !vm_has_vgpus(d, vm, true, made_too))
                return;
        snprintf(q.vm, sizeof(q.vm), "%s", vm);
        json_object_put(do_vm_release(d, &q));
        dlog(d, 4, "VM %s %s without its vGPUs being released; released now", vm, why);
}

/* A suspended VM's vGPUs stop work, a resumed one's resume, a crashed or rebooted one's are
 * reset (DESIGN.md §4), each over its plugin's host RPC channel. A failure is logged and told
 * as an event; the VM itself is libvirt's. */
static void vm_plugins_act(struct nvv_daemon *d, const char *vm, enum nvv_libvirt_event e)
{
        const char *what = e == NVV_LIBVIRT_SUSPENDED ? "paused" : e == NVV_LIBVIRT_RESUMED ? "resumed" : "reset";
        char event[32];

        snprintf(event, sizeof(event), "vgpu-%s", what);
        for (size_t g = 0; g < d->n_gpus; g++) {
                struct daemon_gpu *x = &d->gpus[g];

                for (size_t k = 0; x->g && !x->gone && k < nvv_pgpu_count(x->g); k++) {
                        _cleanup_free_ char *msg = NULL;
                        struct nvv_pgpu_vgpu v;
                        int r;

                        if (nvv_pgpu_get_vgpu(x->g, k, &v) < 0 || v.state != NVV_VGPU_RUNNING ||
                            !vm_matches(d, v.name, vm))
                                continue;
                        /* libvirt resumes every domain it starts: nothing to tell a plugin that works. */
                        if ((e == NVV_LIBVIRT_RESUMED && !v.paused) || (e == NVV_LIBVIRT_SUSPENDED && v.paused))
                                continue;
                        r = e == NVV_LIBVIRT_SUSPENDED ? nvv_pgpu_vm_pause(x->g, v.name, &msg)
                          : e == NVV_LIBVIRT_RESUMED   ? nvv_pgpu_vm_resume(x->g, v.name, &msg)
                                                       : nvv_pgpu_vm_reset(x->g, v.name, &msg);
                        if (r < 0) {
                                dlog(d, 3, "VM %s: %s", vm, msg ? msg : strerror(-r));
                                emit(d, "vgpu-error", x->info.bdf, v.name,
                                     kv("vm", json_object_new_string(vm), "error",
                                        json_object_new_string(msg ? msg : strerror(-r)), NULL));
                                continue;
                        }
                        dlog(d, 6, "VM %s: vGPU %s %s", vm, v.name, what);
                        emit(d, event, x->info.bdf, v.name, kv("vm", json_object_new_string(vm), NULL));
                }
        }
}

static void on_libvirt_event(void *userdata, enum nvv_libvirt_event e, const char *domain, const char *detail)
{
        struct nvv_daemon *d = userdata;
        char name[40];

        if (!domain || strlen(domain) > NVV_IPC_NAME_MAX || !vm_has_vgpus(d, domain, false, false))
                return;
        snprintf(name, sizeof(name), "vm-%s", nvv_libvirt_event_to_string(e));
        emit(d, name, NULL, NULL, kv("vm", json_object_new_string(domain), "detail", json_object_new_string(detail), NULL));
        switch (e) {
        case NVV_LIBVIRT_STOPPED:
                /* The hook's release should have done it; a hook that failed, or a libvirtd
                 * that died in between, leaves it to us. */
                vm_release_missed(d, domain, false, "stopped");
                nvv_daemon_reap(d);
                break;
        case NVV_LIBVIRT_SUSPENDED:
        case NVV_LIBVIRT_RESUMED:
        case NVV_LIBVIRT_CRASHED:
        case NVV_LIBVIRT_REBOOTED:
                vm_plugins_act(d, domain, e);
                break;
        default:
                break;
        }
}

/* After a (re)connect: a VM whose vGPUs run, or that has vGPUs made for it, but which libvirt
 * does not run any more stopped while nobody listened (or before a power loss: its vGPUs were
 * made again at our start, not started). Those that run are left untouched; a VM being
 * started is active in libvirt already when its prepare runs (qemuProcessInit sets its id
 * before the prepare hook), so its new vGPUs are not taken for leftovers. */
static void on_libvirt_connected(void *userdata, char *const *running)
{
        struct nvv_daemon *d = userdata;
        _cleanup_strv_free_ char **vms = NULL;

        for (size_t g = 0; g < d->n_gpus; g++)
                for (size_t k = 0; d->gpus[g].g && k < nvv_pgpu_count(d->gpus[g].g); k++) {
                        struct nvv_pgpu_vgpu v;
                        char vm[NVV_IPC_NAME_MAX + 1];
                        bool seen = false;

                        if (nvv_pgpu_get_vgpu(d->gpus[g].g, k, &v) < 0 ||
                            (v.state != NVV_VGPU_RUNNING && !on_demand_of(d, v.name)))
                                continue;
                        note_get(d, v.name, vm);
                        for (char **p = vms; p && *p; p++)
                                seen |= streq(*p, vm);
                        if (vm[0] && !seen)
                                (void) strv_extend(&vms, vm);
                }
        for (char **vm = vms; vm && *vm; vm++) {
                bool runs = false;

                for (char *const *p = running; p && *p; p++)
                        runs |= streq(*p, *vm);
                if (!runs)
                        vm_release_missed(d, *vm, true, "is not running in libvirt");
        }
        nvv_daemon_reap(d);
}

static void on_libvirt_log(void *userdata, int level, const char *message)
{
        dlog(userdata, level, "%s", message);
}

/* ---- GPUs that go and come back ---- */

/* Unplugged (a PCI remove uevent): what its firmware held is gone. Its vGPUs stay, LOST, and
 * their records stay in the state: they are made again when the GPU is back. */
static void gpu_vanished(struct nvv_daemon *d, const char *bdf, const char *how)
{
        struct daemon_gpu *x = find_gpu(d, bdf);

        if (!x || !x->g || x->gone)
                return;
        x->gone = true;
        x->registered = false;
        (void) nvv_pgpu_set_lost(x->g, "the GPU was removed; it is managed again when it is back");
        dlog(d, 4, "GPU %s: removed (%s); its %zu vGPUs are lost until it is back", bdf, how, nvv_pgpu_count(x->g));
        emit(d, "gpu-removed", bdf, NULL, kv("vgpus", json_object_new_int64((int64_t) nvv_pgpu_count(x->g)), NULL));
}

/* Back (a PCI add uevent), as a freshly powered GPU: brought up, its recorded vGPUs made
 * again, its types registered, its autostart definitions made. A GPU nvvgpud did not manage
 * at start is only logged: the backend's GPUs are opened at start. */
static void gpu_appeared(struct nvv_daemon *d, const char *bdf, const char *how)
{
        struct daemon_gpu *x = find_gpu(d, bdf);

        if (!x || !x->g) {
                /* The core driver's events name VFs too (they come and go with their PF). */
                dlog(d, strstr(how, "udev") ? 5 : 7,
                     "PCI function %s appeared (%s); not a GPU nvvgpud opened at start: restart nvvgpud to manage a new GPU",
                     bdf, how);
                return;
        }
        if (!x->gone)
                return;
        x->gone = false;
        recover_gpu(d, x, true);
        autostart(d, bdf, NULL);
}

static void on_hotplug(const struct nvv_hotplug_event *ev, void *userdata)
{
        struct nvv_daemon *d = userdata;

        if (ev->is_vf)
                return;
        if (ev->action == NVV_HOTPLUG_REMOVE || ev->action == NVV_HOTPLUG_UNBIND)
                gpu_vanished(d, ev->bdf, "udev");
        else if (ev->action == NVV_HOTPLUG_ADD || (ev->action == NVV_HOTPLUG_BIND && ev->driver))
                gpu_appeared(d, ev->bdf, "udev");
}

static void sysfs_process(struct nvv_daemon *d)
{
        struct nvv_sysfs_request q;
        struct nvv_uevent u;

        while (nvv_simconn_sysfs_next(d->sysfs, &q) == 0) {
                _cleanup_free_ char *msg = NULL;
                int r = sysfs_act(d, &q, false);

                pthread_mutex_lock(&d->lock);
                d->sysfs_requests++;
                pthread_mutex_unlock(&d->lock);
                if (nvv_simconn_sysfs_answer(d->sysfs, q.id, r < 0 ? -r : 0, &msg) == -ETIMEDOUT && r >= 0) {
                        /* The write already failed with ETIMEDOUT: what was done is undone. */
                        dlog(d, 4, "sysfs request %u expired before it was answered; undoing it", q.id);
                        (void) sysfs_act(d, &q, true);
                }
        }
        /* Uevents: every create and remove came through us; what is news is a GPU that goes or
         * comes back (the kernel's PCI remove and add). */
        while (nvv_simconn_sysfs_next_uevent(d->sysfs, &u) == 0) {
                const char *sub = nvv_uevent_get(&u, "SUBSYSTEM"), *act = nvv_uevent_get(&u, "ACTION"),
                           *slot = nvv_uevent_get(&u, "PCI_SLOT_NAME");

                if (!sub || !act || !slot || !streq(sub, "pci"))
                        continue;
                if (streq(act, "remove"))
                        gpu_vanished(d, slot, "the core driver's uevent");
                else if (streq(act, "add"))
                        gpu_appeared(d, slot, "the core driver's uevent");
        }
}

/* Every firmware event, as the managed GPU saw it (its state is already updated). */
static void on_firmware_event(void *userdata, struct nvv_pgpu *g, int event, const union nvv_cmd_any *payload)
{
        struct nvv_daemon *d = userdata;
        const char *gpu = nvv_pgpu_get_name(g);
        char uuid[37] = "";
        uint32_t gfid = 0;
        json_object *extra;

        if (event == NVV_EVENT_PLUGIN)
                gfid = payload->event_plugin.gfid;
        else if (event == NVV_EVENT_RC_ERROR)
                gfid = payload->event_rc_error.gfid;
        for (size_t i = 0; gfid && i < nvv_pgpu_count(g); i++) {
                struct nvv_pgpu_vgpu v;

                if (nvv_pgpu_get_vgpu(g, i, &v) == 0 && v.gfid == gfid)
                        snprintf(uuid, sizeof(uuid), "%.36s", v.name);
        }
        extra = kv("kind", json_object_new_string(nvv_event_to_string(event) ? nvv_event_to_string(event) : "?"), NULL);
        if (gfid)
                json_object_object_add(extra, "gfid", json_object_new_int64(gfid));
        if (event == NVV_EVENT_PLUGIN) {
                uint32_t n = payload->event_plugin.notify;

                json_object_object_add(extra, "notify",
                                       json_object_new_string(n < _NVV_NOTIFY_MAX ? nvv_plugin_notify_names[n] : "unknown"));
        } else if (event == NVV_EVENT_RC_ERROR) {
                json_object_object_add(extra, "engine", json_object_new_int64(payload->event_rc_error.engine_type));
                json_object_object_add(extra, "chid", json_object_new_int64(payload->event_rc_error.chid));
                json_object_object_add(extra, "except_type", json_object_new_int64(payload->event_rc_error.except_type));
        }
        emit(d, "firmware", gpu, uuid, extra);
}

/* Listen for every managed GPU's firmware events. A GPU whose channel carries none is
 * logged; it still works, it only cannot be recovered after a reset. */
static int start_events(struct nvv_daemon *d, char ***log)
{
        for (size_t i = 0; i < d->n_gpus; i++) {
                _cleanup_free_ char *m = NULL;

                if (d->gpus[i].g && nvv_pgpu_subscribe(d->gpus[i].g, on_firmware_event, d, &m) < 0)
                        log_line(log, "%s", m ? m : "cannot receive firmware events");
        }
        /* The host's own GPUs coming and going, from udev (only the real /sys has uevents). */
        if (d->sysfs_root && streq(d->sysfs_root, "/sys")) {
                int r = nvv_hotplug_new(on_hotplug, d, &d->hotplug);

                if (r < 0)
                        log_line(log, "cannot watch for GPUs coming and going (udev): %s", strerror(-r));
        }
        d->stop_fd = eventfd(0, EFD_CLOEXEC);
        if (d->stop_fd < 0)
                return -errno;
        if (pthread_create(&d->event_thread, NULL, event_main, d) != 0)
                return -EAGAIN;
        d->event_started = true;
        return 0;
}

/* ---- discovery ---- */

static const struct nvv_host_gpu *host_gpu(struct nvv_daemon *d, const char *bdf)
{
        for (size_t i = 0; d->host && i < d->host->n; i++)
                if (streq(d->host->gpus[i]->bdf, bdf) && d->host->gpus[i]->model)
                        return d->host->gpus[i];
        return NULL;
}

/* What sysfs shows against what the backend has: each GPU found in both gets its NUMA node
 * and model from sysfs; one in only one of them is logged. */
static void discover(struct nvv_daemon *d, const struct nvv_backend_gpu *bg, size_t n, char ***log)
{
        struct nvv_host_scan_params sp = { .sysfs_root = d->sysfs_root, .catalog = d->catalog, .fwdb = d->db };
        _cleanup_free_ char *msg = NULL;
        int r;

        if (!d->sysfs_root)
                return;
        r = nvv_host_scan(&sp, &d->host, &msg);
        if (r < 0) {
                log_line(log, "discovery in %s failed: %s; going on with what the backend reports", d->sysfs_root,
                         msg ? msg : strerror(-r));
                return;
        }
        for (size_t i = 0; i < n; i++)
                if (bg[i].info.bdf[0] && !host_gpu(d, bg[i].info.bdf))
                        log_line(log, "GPU %s behind the backend is not a known GPU in %s", bg[i].info.bdf, d->sysfs_root);
        for (size_t k = 0; k < d->host->n; k++) {
                bool behind = false;

                for (size_t i = 0; i < n; i++)
                        behind |= streq(bg[i].info.bdf, d->host->gpus[k]->bdf);
                if (!behind)
                        log_line(log, "GPU %s in %s has no channel behind the backend; not managed", d->host->gpus[k]->bdf,
                                 d->sysfs_root);
        }
}

/* What sysfs shows of the vGPUs (DIR/bus/mdev/devices) against what nvvgpud holds after
 * reconciling with the firmware and the state: each difference is reported. */
static void reconcile_sysfs(struct nvv_daemon *d, char ***log)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_strv_free_ char **names = NULL;
        int r;

        if (!d->sysfs_root || asprintf(&path, "%s/bus/mdev/devices", d->sysfs_root) < 0)
                return;
        r = nvv_dir_list(path, NULL, NULL, 4 * NVV_STATE_MAX_VGPUS, &names);
        if (r < 0)
                return; /* no mdev bus there: nothing to compare */
        for (char **n = names; n && *n; n++) {
                struct nvv_pgpu_vgpu v;

                if (!where_is(d, *n, &v))
                        log_line(log, "vGPU %s is in %s but not nvvgpud's (not in its state, and not adoptable); left "
                                      "alone: remove it through sysfs, or with the tool that made it", *n, path);
        }
        for (size_t g = 0; g < d->n_gpus; g++)
                for (size_t k = 0; d->gpus[g].g && k < nvv_pgpu_count(d->gpus[g].g); k++) {
                        struct nvv_pgpu_vgpu v;
                        bool seen = false;

                        if (nvv_pgpu_get_vgpu(d->gpus[g].g, k, &v) < 0 || nvv_state_bdf_valid(v.name))
                                continue;
                        for (char **n = names; n && *n && !seen; n++)
                                seen = streq(*n, v.name);
                        if (!seen)
                                log_line(log, "vGPU %s of GPU %s is not in %s", v.name, d->gpus[g].info.bdf, path);
                }
}

int nvv_daemon_start(struct nvv_daemon *d, char ***ret_log, char **reterr_msg)
{
        struct nvv_backend_gpu *bg = NULL;
        size_t n = 0, ready = 0;
        int r;

        assert_return(d && !d->gpus, -EINVAL);
        r = state_load(d, ret_log, reterr_msg);
        if (r < 0)
                return r;
        r = nvv_backend_open_all(d->opt.inproc ? d->opt.inproc : d->backend, d->db, &bg, &n, reterr_msg);
        if (r < 0)
                return r;
        discover(d, bg, n, ret_log);
        d->gpus = calloc(n, sizeof(*d->gpus));
        if (!d->gpus) {
                nvv_backend_gpus_free(bg, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                struct daemon_gpu *x = &d->gpus[d->n_gpus++];
                struct nvv_pgpu_options po = { .catalog = d->catalog, .policy = d->policy,
                                               .host = host_gpu(d, bg[i].info.bdf) };
                _cleanup_free_ char *msg = NULL;

                x->info = bg[i].info;
                x->source = TAKE_PTR(bg[i].source);
                if (bg[i].sim) {
                        x->has_sim = true;
                        x->sim_index = bg[i].sim_index;
                        if (!d->sysfs)
                                d->sysfs = nvv_simconn_ref(bg[i].sim);
                        if (!d->link) {
                                d->link = nvv_simconn_ref(bg[i].sim);
                                nvv_simconn_set_reconnect(d->link, true);
                        }
                        x->on_link = bg[i].sim == d->link;
                }
                if (!bg[i].channel) {
                        x->error = TAKE_PTR(bg[i].error_msg);
                        log_line(ret_log, "GPU %s (%s): not managed: %s", x->info.bdf[0] ? x->info.bdf : "?",
                                 x->source ? x->source : "?", x->error ? x->error : "cannot open its channel");
                        continue;
                }
                r = nvv_pgpu_new(TAKE_PTR(bg[i].channel), &po, &x->g, &msg);
                if (r < 0) {
                        x->error = TAKE_PTR(msg);
                        log_line(ret_log, "GPU %s: not managed: %s", x->info.bdf, x->error ? x->error : strerror(-r));
                        continue;
                }
                if (reconcile_gpu(d, x, ret_log) < 0)
                        continue;
                ready++;
                log_line(ret_log, "GPU %s (%s, firmware %s): ready", x->info.bdf, nvv_pgpu_get_model(x->g)->short_name,
                         nvv_pgpu_get_fwabi(x->g)->release);
        }
        nvv_backend_gpus_free(bg, n);
        qsort(d->gpus, d->n_gpus, sizeof(d->gpus[0]), cmp_gpu);
        if (d->n_gpus == 0)
                return nvv_fail_errno(-ENODEV, reterr_msg, "no GPU behind the backend");
        autostart(d, NULL, ret_log);
        settle_prepares(d, ret_log);
        reconcile_sysfs(d, ret_log);
        for (size_t i = 0; i < d->state->n_vgpus; i++)
                if (!find_gpu(d, d->state->vgpus[i].gpu) || !find_gpu(d, d->state->vgpus[i].gpu)->g)
                        log_line(ret_log, "vGPU %s: its GPU %s is not here; its record stays until the GPU is back",
                                 d->state->vgpus[i].uuid, d->state->vgpus[i].gpu);
        r = state_save_locked(d, reterr_msg);
        if (r < 0)
                return r;
        sysfs_start(d, ret_log);
        r = start_events(d, ret_log);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "cannot start the event thread: %s", strerror(-r));
        if (d->libvirt_uri) {
                static const struct nvv_libvirt_callbacks cb = {
                        .event = on_libvirt_event, .connected = on_libvirt_connected, .log = on_libvirt_log,
                };

                r = nvv_libvirt_start(d->libvirt_uri, &cb, d, &d->libvirt);
                if (r == -ENOENT)
                        log_line(ret_log, "libvirt: not installed (libvirt.so.0); no domain events");
                else if (r < 0)
                        log_line(ret_log, "libvirt: cannot listen for domain events: %s", strerror(-r));
        }
        (void) ready;
        return 0;
}

int nvv_daemon_reload_policy(struct nvv_daemon *d, char **reterr_msg)
{
        struct nvv_policy_context ctx = { .catalog = d->catalog };
        struct nvv_policy *p = NULL, **old;
        int r;

        r = d->policy_file ? nvv_policy_load_file(d->policy_file, &ctx, &p, reterr_msg) : nvv_policy_new_default(&p);
        if (r < 0)
                return r;
        pthread_mutex_lock(&d->lock);
        old = realloc(d->old_policies, (d->n_old_policies + 1) * sizeof(*old));
        if (!old) {
                pthread_mutex_unlock(&d->lock);
                nvv_policy_free(p);
                return -ENOMEM;
        }
        d->old_policies = old;
        d->old_policies[d->n_old_policies++] = d->policy;
        d->policy = p;
        pthread_mutex_unlock(&d->lock);
        return 0;
}

size_t nvv_daemon_gpu_count(const struct nvv_daemon *d)
{
        return d ? d->n_gpus : 0;
}

/* ---- lookups ---- */

static struct daemon_gpu *find_gpu(struct nvv_daemon *d, const char *bdf)
{
        for (size_t i = 0; i < d->n_gpus; i++)
                if (streq(d->gpus[i].info.bdf, bdf))
                        return &d->gpus[i];
        return NULL;
}

static const struct nvv_catalog_type *find_type(const struct nvv_pgpu *g, const char *name)
{
        const struct nvv_catalog_gpu *m = nvv_pgpu_get_model(g);

        for (size_t i = 0; m && i < m->n_types; i++)
                if ((strcasecmp(m->types[i].short_name, name) == 0))
                        return &m->types[i];
        return NULL;
}

static const char *type_name_of(const struct nvv_pgpu *g, uint32_t type_id)
{
        const struct nvv_catalog_gpu *m = nvv_pgpu_get_model(g);

        for (size_t i = 0; m && i < m->n_types; i++)
                if (m->types[i].type_id == type_id)
                        return m->types[i].short_name;
        return "?";
}

static void note_get(struct nvv_daemon *d, const char *uuid, char vm[static NVV_IPC_NAME_MAX + 1])
{
        vm[0] = '\0';
        pthread_mutex_lock(&d->lock);
        for (size_t i = 0; i < d->n_notes; i++)
                if (streq(d->notes[i].uuid, uuid))
                        snprintf(vm, NVV_IPC_NAME_MAX + 1, "%s", d->notes[i].vm);
        pthread_mutex_unlock(&d->lock);
}

static int note_set(struct nvv_daemon *d, const char *uuid, const char *vm)
{
        struct vgpu_note *n;
        int r = 0;

        pthread_mutex_lock(&d->lock);
        for (size_t i = 0; i < d->n_notes; i++)
                if (streq(d->notes[i].uuid, uuid)) {
                        d->notes[i] = d->notes[--d->n_notes];
                        break;
                }
        if (vm && vm[0]) {
                n = realloc(d->notes, (d->n_notes + 1) * sizeof(*n));
                if (!n)
                        r = -ENOMEM;
                else {
                        d->notes = n;
                        snprintf(n[d->n_notes].uuid, sizeof(n->uuid), "%s", uuid);
                        snprintf(n[d->n_notes].vm, sizeof(n->vm), "%s", vm);
                        d->n_notes++;
                }
        }
        pthread_mutex_unlock(&d->lock);
        return r;
}

/* ---- JSON shapes (doc/ipc.md) ---- */

static json_object *jstr(const char *s)
{
        return json_object_new_string(s ? s : "");
}

static json_object *vgpu_json(struct nvv_daemon *d, const struct daemon_gpu *x, const struct nvv_pgpu_vgpu *v)
{
        json_object *o = json_object_new_object();
        char vm[NVV_IPC_NAME_MAX + 1];

        if (!o)
                return NULL;
        note_get(d, v->name, vm);
        if (nvv_state_bdf_valid(v->name)) {
                /* The VF model: the VF holds the vGPU; there is no mdev UUID. */
                json_object_object_add(o, "uuid", NULL);
                json_object_object_add(o, "vf", jstr(v->name));
        } else
                json_object_object_add(o, "uuid", jstr(v->name));
        json_object_object_add(o, "type", jstr(v->type ? v->type->short_name : type_name_of(x->g, v->type_id)));
        json_object_object_add(o, "type_id", json_object_new_int64(v->type_id));
        json_object_object_add(o, "gpu", jstr(x->info.bdf));
        if (v->place.placement_id != NVV_PLACEMENT_NONE)
                json_object_object_add(o, "placement", json_object_new_int64(v->place.placement_id));
        else
                json_object_object_add(o, "placement", NULL);
        /* Paused is running with its plugin's work stopped (a suspended VM). */
        json_object_object_add(o, "state", jstr(v->state == NVV_VGPU_RUNNING && v->paused ? "paused"
                                                                                          : nvv_vgpu_state_to_string(v->state)));
        if (v->resets)
                json_object_object_add(o, "resets", json_object_new_int64(v->resets));
        json_object_object_add(o, "vgpu_id", json_object_new_int64(v->vgpu_id));
        json_object_object_add(o, "fb_offset_mib", json_object_new_int64((int64_t) (v->place.fb_offset / MIB)));
        json_object_object_add(o, "fb_mib", json_object_new_int64((int64_t) (v->place.fb_length / MIB)));
        json_object_object_add(o, "alloc_offset_mib", json_object_new_int64((int64_t) (v->place.alloc_offset / MIB)));
        json_object_object_add(o, "alloc_mib", json_object_new_int64((int64_t) (v->place.alloc_length / MIB)));
        json_object_object_add(o, "channels", json_object_new_int64(v->place.chid_count));
        if (vm[0])
                json_object_object_add(o, "vm", jstr(vm));
        /* Bound: the libvirt domain it runs for. */
        if (vm[0] && v->state == NVV_VGPU_RUNNING)
                json_object_object_add(o, "domain", jstr(vm));
        if (v->gfid)
                json_object_object_add(o, "gfid", json_object_new_int64(v->gfid));
        if (v->adopted)
                json_object_object_add(o, "adopted", json_object_new_boolean(true));
        return o;
}

static json_object *gpu_json(const struct daemon_gpu *x)
{
        json_object *o = json_object_new_object();
        _cleanup_free_ char *err = NULL;
        struct nvv_pgpu_fb fb = {};
        const struct nvv_catalog_gpu *m;
        struct nvv_pgpu_init_info info = {};

        if (!o)
                return NULL;
        json_object_object_add(o, "gpu", jstr(x->info.bdf));
        if (!x->g) {
                json_object_object_add(o, "model", jstr(x->info.model));
                json_object_object_add(o, "release", jstr(x->info.release));
                json_object_object_add(o, "state", jstr("unmanaged"));
                json_object_object_add(o, "error", jstr(x->error ? x->error : "cannot open its channel"));
                return o;
        }
        m = nvv_pgpu_get_model(x->g);
        (void) nvv_pgpu_get_fb(x->g, &fb);
        (void) nvv_pgpu_get_init_info(x->g, &info);
        json_object_object_add(o, "model", jstr(m->short_name));
        json_object_object_add(o, "name", jstr(m->model));
        json_object_object_add(o, "release", jstr(nvv_pgpu_get_fwabi(x->g)->release));
        json_object_object_add(o, "state", jstr(nvv_pgpu_state_to_string(nvv_pgpu_get_state(x->g))));
        err = nvv_pgpu_get_error(x->g);
        if (err)
                json_object_object_add(o, "error", jstr(err));
        json_object_object_add(o, "mode", jstr(info.mode == NVV_PARTITION_HETEROGENEOUS ? "mixed-size" : "equal-size"));
        json_object_object_add(o, "types", json_object_new_int64((int64_t) info.n_types));
        json_object_object_add(o, "vgpus", json_object_new_int64((int64_t) nvv_pgpu_count(x->g)));
        json_object_object_add(o, "fb_total_mib", json_object_new_int64((int64_t) (fb.total / MIB)));
        json_object_object_add(o, "fb_usable_mib", json_object_new_int64((int64_t) (fb.reserved_start / MIB)));
        json_object_object_add(o, "fb_used_mib", json_object_new_int64((int64_t) (fb.used / MIB)));
        json_object_object_add(o, "fb_free_mib", json_object_new_int64((int64_t) (fb.free / MIB)));
        json_object_object_add(o, "fb_largest_free_mib", json_object_new_int64((int64_t) (fb.largest_free / MIB)));
        return o;
}

static json_object *type_json(const struct daemon_gpu *x, const struct nvv_catalog_type *t)
{
        json_object *o = json_object_new_object();
        _cleanup_free_ char *why = NULL;
        enum nvv_pgpu_why w;

        if (!o)
                return NULL;
        w = nvv_pgpu_why_not(x->g, t->type_id, &why);
        json_object_object_add(o, "gpu", jstr(x->info.bdf));
        json_object_object_add(o, "name", jstr(t->short_name));
        json_object_object_add(o, "id", json_object_new_int64(t->type_id));
        json_object_object_add(o, "series", json_object_new_string_len(&t->series, 1));
        json_object_object_add(o, "fb_mib", json_object_new_int64((int64_t) (t->profile_size / MIB)));
        json_object_object_add(o, "max_instances", json_object_new_int64(t->max_instance));
        json_object_object_add(o, "available_instances", json_object_new_int64(nvv_pgpu_available(x->g, t->type_id)));
        json_object_object_add(o, "creatable", json_object_new_boolean(w == NVV_WHY_NONE));
        if (w != NVV_WHY_NONE) {
                json_object *wo = json_object_new_object();

                json_object_object_add(wo, "code", jstr(nvv_pgpu_why_to_string(w)));
                json_object_object_add(wo, "message", jstr(why));
                json_object_object_add(o, "why", wo);
        }
        return o;
}

/* The framebuffer as ranges, lowest first: vGPUs, the free gaps between, the reserved top. */
static int cmp_vgpu_alloc(const void *a, const void *b)
{
        const struct nvv_pgpu_vgpu *x = a, *y = b;

        return x->place.alloc_offset < y->place.alloc_offset ? -1 : x->place.alloc_offset > y->place.alloc_offset;
}

static json_object *map_json(struct nvv_daemon *d, const struct daemon_gpu *x)
{
        _cleanup_free_ struct nvv_pgpu_vgpu *v = NULL;
        json_object *a = json_object_new_array();
        struct nvv_pgpu_fb fb = {};
        size_t n, k = 0;
        uint64_t cur = 0;

        if (!a || !x->g)
                return a;
        n = nvv_pgpu_count(x->g);
        v = calloc(n ? n : 1, sizeof(*v));
        if (!v)
                return a;
        for (size_t i = 0; i < n; i++)
                if (nvv_pgpu_get_vgpu(x->g, i, &v[k]) == 0)
                        k++;
        qsort(v, k, sizeof(*v), cmp_vgpu_alloc);
        (void) nvv_pgpu_get_fb(x->g, &fb);
#define RANGE(kind_, start_, end_, vg_)                                                                  \
        do {                                                                                            \
                json_object *r_ = json_object_new_object();                                            \
                json_object_object_add(r_, "kind", jstr(kind_));                                       \
                json_object_object_add(r_, "start_mib", json_object_new_int64((int64_t) ((start_) / MIB))); \
                json_object_object_add(r_, "end_mib", json_object_new_int64((int64_t) ((end_) / MIB)));     \
                if (vg_) {                                                                             \
                        json_object_object_add(r_, "uuid", jstr((vg_)->name));                         \
                        json_object_object_add(r_, "type", jstr(type_name_of(x->g, (vg_)->type_id)));  \
                }                                                                                      \
                json_object_array_add(a, r_);                                                          \
        } while (0)
        for (size_t i = 0; i < k; i++) {
                if (v[i].place.alloc_offset > cur)
                        RANGE("free", cur, v[i].place.alloc_offset, (const struct nvv_pgpu_vgpu *) NULL);
                RANGE("vgpu", v[i].place.alloc_offset, v[i].place.alloc_offset + v[i].place.alloc_length, &v[i]);
                cur = v[i].place.alloc_offset + v[i].place.alloc_length;
        }
        if (fb.reserved_start > cur)
                RANGE("free", cur, fb.reserved_start, (const struct nvv_pgpu_vgpu *) NULL);
        if (fb.total > fb.reserved_start)
                RANGE("reserved", fb.reserved_start, fb.total, (const struct nvv_pgpu_vgpu *) NULL);
#undef RANGE
        (void) d;
        return a;
}

/* ---- requests ---- */

static json_object *fail(int r, const char *fmt, ...) _printf_(2, 3);
static json_object *fail(int r, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        return nvv_ipc_reply_error(r, k < 0 ? NULL : s);
}

static json_object *do_gpus(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < d->n_gpus; i++)
                if (!req->gpu[0] || streq(req->gpu, d->gpus[i].info.bdf))
                        json_object_array_add(a, gpu_json(&d->gpus[i]));
        if (req->gpu[0] && json_object_array_length(a) == 0) {
                json_object_put(a);
                return fail(-ENOENT, "no GPU %s here", req->gpu);
        }
        return nvv_ipc_reply_ok(a);
}

static json_object *do_types(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        json_object *a = json_object_new_array();
        bool gpu_seen = false, type_seen = false;

        for (size_t i = 0; a && i < d->n_gpus; i++) {
                const struct daemon_gpu *x = &d->gpus[i];
                const struct nvv_catalog_gpu *m;

                if (req->gpu[0] && !streq(req->gpu, x->info.bdf))
                        continue;
                gpu_seen = true;
                if (!x->g)
                        continue;
                m = nvv_pgpu_get_model(x->g);
                for (size_t t = 0; t < m->n_types; t++) {
                        if (req->type[0] && !(strcasecmp(req->type, m->types[t].short_name) == 0))
                                continue;
                        type_seen = true;
                        if (req->creatable && nvv_pgpu_available(x->g, m->types[t].type_id) == 0)
                                continue;
                        json_object_array_add(a, type_json(x, &m->types[t]));
                }
        }
        if (req->gpu[0] && !gpu_seen) {
                json_object_put(a);
                return fail(-ENOENT, "no GPU %s here", req->gpu);
        }
        if (req->type[0] && !type_seen) {
                json_object_put(a);
                return fail(-ENOENT, "no GPU here offers the type %s", req->type);
        }
        return nvv_ipc_reply_ok(a);
}

static bool vm_matches(struct nvv_daemon *d, const char *uuid, const char *vm)
{
        char have[NVV_IPC_NAME_MAX + 1];

        note_get(d, uuid, have);
        return streq(have, vm);
}

static json_object *do_list(struct nvv_daemon *d, const struct nvv_ipc_request *req, bool one)
{
        json_object *a;

        if (req->gpu[0] && !find_gpu(d, req->gpu))
                return fail(-ENOENT, "no GPU %s here", req->gpu);
        a = json_object_new_array();

        for (size_t i = 0; a && i < d->n_gpus; i++) {
                const struct daemon_gpu *x = &d->gpus[i];
                size_t n;

                if (!x->g || (req->gpu[0] && !req->uuid[0] && !streq(req->gpu, x->info.bdf)))
                        continue;
                n = nvv_pgpu_count(x->g);
                for (size_t k = 0; k < n; k++) {
                        struct nvv_pgpu_vgpu v;

                        if (nvv_pgpu_get_vgpu(x->g, k, &v) < 0)
                                continue;
                        if ((req->uuid[0] && !streq(req->uuid, v.name)) || (req->vm[0] && !vm_matches(d, v.name, req->vm)))
                                continue;
                        json_object_array_add(a, vgpu_json(d, x, &v));
                }
        }
        if (one) {
                json_object *r;

                if (req->gpu[0] && !req->uuid[0] && !req->vm[0]) {
                        struct daemon_gpu *x = find_gpu(d, req->gpu);
                        json_object *o;

                        if (!x) {
                                json_object_put(a);
                                return fail(-ENOENT, "no GPU %s here", req->gpu);
                        }
                        o = gpu_json(x);
                        json_object_object_add(o, "vgpu_list", a);
                        json_object_object_add(o, "map", map_json(d, x));
                        return nvv_ipc_reply_ok(o);
                }
                if (json_object_array_length(a) == 0) {
                        json_object_put(a);
                        if (req->uuid[0])
                                return fail(-ENOENT, "no vGPU %s", req->uuid);
                        return fail(-ENOENT, "no vGPU is bound to VM '%s'", req->vm);
                }
                if (req->uuid[0]) {
                        r = json_object_get(json_object_array_get_idx(a, 0));
                        json_object_put(a);
                        return nvv_ipc_reply_ok(r);
                }
        }
        return nvv_ipc_reply_ok(a);
}

static void random_uuid(char out[static 37])
{
        uint8_t b[16];

        if (getrandom(b, sizeof(b), 0) != (ssize_t) sizeof(b))
                for (size_t i = 0; i < sizeof(b); i++)
                        b[i] = (uint8_t) rand();
        b[6] = (b[6] & 0x0f) | 0x40; /* RFC 4122 version 4 */
        b[8] = (b[8] & 0x3f) | 0x80;
        snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static bool uuid_in_use(struct nvv_daemon *d, const char *uuid)
{
        struct nvv_pgpu_vgpu v;

        for (size_t i = 0; i < d->n_gpus; i++)
                if (d->gpus[i].g && nvv_pgpu_find_vgpu(d->gpus[i].g, uuid, &v) == 0)
                        return true;
        return false;
}

/* What a client is told when a type does not fit: no room, or a GPU that is not usable. */
static int why_errno(enum nvv_pgpu_why w)
{
        switch (w) {
        case NVV_WHY_GPU_STATE:
                return -ENODEV;
        case NVV_WHY_UNKNOWN_TYPE:
                return -ENOENT;
        default:
                return -ENOSPC;
        }
}

/* Record what is about to be asked of the firmware, on disk, before it is asked. */
static int intent(struct nvv_daemon *d, const struct daemon_gpu *x, const char *uuid, const struct nvv_catalog_type *t,
                  enum nvv_state_vgpu_state what, char **reterr_msg)
{
        const struct nvv_state_vgpu *old;
        struct nvv_state_vgpu rec = { .state = what, .placement_id = NVV_PLACEMENT_NONE };
        int r;

        pthread_mutex_lock(&d->lock);
        old = nvv_state_find_vgpu(d->state, uuid);
        if (old && what == NVV_STATE_VGPU_CREATING) {
                /* Another request makes this UUID right now (checked under the lock). */
                r = nvv_fail_errno(-EEXIST, reterr_msg, "vGPU %s is being made by another request", uuid);
        } else if (old) {
                rec = *old;
                rec.state = what;
                rec.gfid = rec.host_handle = 0;
                r = nvv_state_update_vgpu(d->state, &rec, reterr_msg);
        } else {
                snprintf(rec.uuid, sizeof(rec.uuid), "%s", uuid);
                snprintf(rec.gpu, sizeof(rec.gpu), "%.12s", x->info.bdf);
                snprintf(rec.type_name, sizeof(rec.type_name), "%s", t->short_name);
                rec.type_id = t->type_id;
                r = nvv_state_add_vgpu(d->state, &rec, reterr_msg);
        }
        if (r >= 0)
                r = state_save_intent_locked(d, reterr_msg);
        pthread_mutex_unlock(&d->lock);
        return r;
}

/* The record of a vGPU a VM's prepare made for it: removed again by that VM's release. */
static int state_set_on_demand_locked(struct nvv_daemon *d, const char *uuid, char **reterr_msg)
{
        const struct nvv_state_vgpu *old = nvv_state_find_vgpu(d->state, uuid);
        struct nvv_state_vgpu rec;

        if (!old)
                return nvv_fail_errno(-ENOENT, reterr_msg, "vGPU %s has no record", uuid);
        rec = *old;
        rec.on_demand = true;
        return nvv_state_update_vgpu(d->state, &rec, reterr_msg);
}

/*
 * on_demand: made by a VM's prepare, for req->vm. Its record says so from the start and is
 * not saved here: on disk it stays the "creating" intent until the VM start's own intent
 * replaces it (a kill in between finds that intent and the prepare's mark naming the vGPU,
 * and undoes both, as for any prepare cut short), and the prepare saves once, before it
 * answers (do_vm_prepare_marked; vm_run_save_locked says why not synced). Each save replaces
 * the file, and on some disks that alone costs more than the firmware commands.
 */
static json_object *create_vgpu(struct nvv_daemon *d, const struct nvv_ipc_request *req, bool on_demand)
{
        _cleanup_free_ char *msg = NULL, *reasons = NULL;
        char uuid[37];
        struct nvv_pgpu_vgpu v;
        bool any_type = false;
        enum nvv_pgpu_why w;
        int r = -ENOSPC;

        if (req->gpu[0] && !find_gpu(d, req->gpu))
                return fail(-ENOENT, "no GPU %s here", req->gpu);
        if (req->uuid[0]) {
                const struct nvv_state_vgpu *rec;
                char where[NVV_STATE_BDF_MAX] = "";
                enum nvv_state_vgpu_state what = NVV_STATE_VGPU_CREATED;
                const struct daemon_gpu *wx;

                pthread_mutex_lock(&d->lock);
                rec = nvv_state_find_vgpu(d->state, req->uuid);
                if (rec) {
                        snprintf(where, sizeof(where), "%s", rec->gpu);
                        what = rec->state;
                }
                pthread_mutex_unlock(&d->lock);
                if (uuid_in_use(d, req->uuid))
                        return fail(-EEXIST, "vGPU %s exists already", req->uuid);
                /* A record without the vGPU: another request is making or destroying it right
                 * now (its intent), or its GPU is not here, or that GPU could not make it again
                 * (after a GSP reset). */
                if (where[0] && what == NVV_STATE_VGPU_CREATING)
                        return fail(-EEXIST, "vGPU %s is being made by another request", req->uuid);
                if (where[0] && what == NVV_STATE_VGPU_DESTROYING)
                        return fail(-EEXIST, "vGPU %s is being destroyed by another request; try again", req->uuid);
                wx = where[0] ? find_gpu(d, where) : NULL;
                if (where[0] && wx && wx->g && !wx->gone)
                        return fail(-EEXIST, "vGPU %s is recorded on GPU %s, which does not hold it now (it could not be "
                                             "made again); its record stays", req->uuid, where);
                if (where[0])
                        return fail(-EEXIST, "vGPU %s is recorded on GPU %s, which is not here; its record stays until "
                                             "the GPU is back", req->uuid, where);
                snprintf(uuid, sizeof(uuid), "%s", req->uuid);
        } else
                random_uuid(uuid);
        /* The GPU asked for, or the first (by address) where the type fits now. */
        for (size_t i = 0; i < d->n_gpus; i++) {
                struct daemon_gpu *x = &d->gpus[i];
                const struct nvv_catalog_type *t;
                _cleanup_free_ char *why = NULL;

                if ((req->gpu[0] && !streq(req->gpu, x->info.bdf)) || !x->g)
                        continue;
                t = find_type(x->g, req->type);
                if (!t)
                        continue;
                any_type = true;
                w = nvv_pgpu_why_not(x->g, t->type_id, &why);
                if (req->gpu[0] && w != NVV_WHY_NONE) {
                        /* Refused before the firmware is asked: the model knows why. */
                        pthread_mutex_lock(&d->lock);
                        d->refusals++;
                        pthread_mutex_unlock(&d->lock);
                        return fail(why_errno(w), "cannot create %s on GPU %s: %s", t->short_name, x->info.bdf,
                                    why ? why : "it does not fit");
                }
                if (w != NVV_WHY_NONE) {
                        char *s = NULL;

                        if (asprintf(&s, "%s%s%s: %s", reasons ? reasons : "", reasons ? "; " : "", x->info.bdf, why) >= 0) {
                                free(reasons);
                                reasons = s;
                        }
                        continue;
                }
                free(msg);
                msg = NULL;
                r = intent(d, x, uuid, t, NVV_STATE_VGPU_CREATING, &msg);
                if (r == -EEXIST)
                        return fail(r, "%s", msg);
                if (r < 0)
                        return fail(r, "vGPU not made: the state store failed: %s", msg ? msg : strerror(-r));
                r = nvv_pgpu_create_vgpu(x->g, t->type_id, NVV_PLACEMENT_NONE, uuid, &v, NULL, &msg);
                if (r < 0) {
                        _cleanup_free_ char *m2 = NULL;

                        pthread_mutex_lock(&d->lock);
                        (void) nvv_state_remove_vgpu(d->state, uuid);
                        (void) state_save_locked(d, &m2);
                        pthread_mutex_unlock(&d->lock);
                        if (req->gpu[0] || r != -ENOSPC)
                                break;
                        continue;
                }
                if (req->vm[0] && note_set(d, uuid, req->vm) < 0) {
                        (void) nvv_pgpu_delete_vgpu(x->g, uuid, NULL, NULL);
                        return fail(-ENOMEM, "out of memory");
                }
                /* Recorded on disk before the client hears of it; if it cannot be, it is undone. */
                pthread_mutex_lock(&d->lock);
                free(msg);
                msg = NULL;
                r = state_put(d, x, &v, req->vm[0] ? req->vm : NULL, &msg);
                if (r >= 0 && on_demand)
                        r = state_set_on_demand_locked(d, uuid, &msg);
                if (r >= 0 && !on_demand)
                        r = state_save_locked(d, &msg);
                if (r < 0) {
                        (void) nvv_state_remove_vgpu(d->state, uuid);
                        pthread_mutex_unlock(&d->lock);
                        (void) nvv_pgpu_delete_vgpu(x->g, uuid, NULL, NULL);
                        (void) note_set(d, uuid, NULL);
                        return fail(r, "vGPU %s was not kept: the state store failed: %s", uuid, msg ? msg : strerror(-r));
                }
                d->creates++;
                pthread_mutex_unlock(&d->lock);
                emit(d, "vgpu-created", x->info.bdf, uuid,
                     kv("type", json_object_new_string(t->short_name), "vm", req->vm[0] ? json_object_new_string(req->vm) : NULL,
                        NULL));
                return nvv_ipc_reply_ok(vgpu_json(d, x, &v));
        }
        pthread_mutex_lock(&d->lock);
        d->refusals++;
        pthread_mutex_unlock(&d->lock);
        if (!any_type)
                return req->gpu[0] ? fail(-ENOENT, "GPU %s does not offer the type %s", req->gpu, req->type)
                                   : fail(-ENOENT, "no GPU here offers the type %s", req->type);
        if (msg)
                return fail(r, "%s", msg);
        return fail(-ENOSPC, "no GPU has room for %s: %s", req->type, reasons ? reasons : "none is ready");
}

static json_object *do_create(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        return create_vgpu(d, req, false);
}

/* sync false: a vGPU a VM's release removes, made for that VM's run (see vm_run_save_locked). */
static json_object *destroy_vgpu(struct nvv_daemon *d, const struct nvv_ipc_request *req, bool sync)
{
        for (size_t i = 0; i < d->n_gpus; i++) {
                struct daemon_gpu *x = &d->gpus[i];
                _cleanup_free_ char *msg = NULL;
                struct nvv_pgpu_vgpu v;
                int r;

                if (!x->g || nvv_pgpu_find_vgpu(x->g, req->uuid, &v) < 0)
                        continue;
                if (v.state == NVV_VGPU_RUNNING)
                        return fail(-EBUSY, "vGPU %s is in use by its VM (%s); stop the VM first", req->uuid,
                                    nvv_vgpu_state_to_string(v.state));
                r = v.type ? intent(d, x, req->uuid, v.type, NVV_STATE_VGPU_DESTROYING, &msg) : 0;
                if (r < 0)
                        return fail(r, "vGPU %s not destroyed: the state store failed: %s", req->uuid,
                                    msg ? msg : strerror(-r));
                r = nvv_pgpu_delete_vgpu(x->g, req->uuid, NULL, &msg);
                if (r < 0 && v.type) {
                        /* Not destroyed: it stays as it was. */
                        _cleanup_free_ char *m2 = NULL;

                        pthread_mutex_lock(&d->lock);
                        (void) state_put(d, x, &v, NULL, &m2);
                        (void) state_save_locked(d, &m2);
                        pthread_mutex_unlock(&d->lock);
                }
                if (r == -EBUSY && v.state == NVV_VGPU_RUNNING)
                        return fail(r, "vGPU %s is in use by its VM (%s); stop the VM first", req->uuid,
                                    nvv_vgpu_state_to_string(v.state));
                if (r == -EBUSY) /* the firmware's or the kernel's refusal: an open VF, say */
                        return fail(r, "vGPU %s is in use: %s", req->uuid, msg ? msg : strerror(-r));
                if (r < 0)
                        return fail(r, "%s", msg ? msg : strerror(-r));
                (void) note_set(d, req->uuid, NULL);
                pthread_mutex_lock(&d->lock);
                (void) nvv_state_remove_vgpu(d->state, req->uuid);
                r = sync ? state_save_locked(d, &msg) : state_save_intent_locked(d, &msg);
                d->destroys++;
                pthread_mutex_unlock(&d->lock);
                emit(d, "vgpu-destroyed", x->info.bdf, req->uuid,
                     kv("type", json_object_new_string(v.type ? v.type->short_name : type_name_of(x->g, v.type_id)), NULL));
                if (r < 0)
                        return fail(r, "vGPU %s is destroyed, but the state store failed: %s", req->uuid,
                                    msg ? msg : strerror(-r));
                return nvv_ipc_reply_ok(NULL);
        }
        return fail(-ENOENT, "no vGPU %s", req->uuid);
}

static json_object *do_destroy(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        return destroy_vgpu(d, req, true);
}

/* ---- persistent definitions ---- */

/*
 * Definitions live in two places: nvvgpud's state store, and mdevctl's files for the GPUs'
 * mdev parents (PARENT = the GPU's address, type "nvidia-ID"), so that a vGPU defined with
 * either tool is seen by both. A definition nvvgpud makes for a named GPU is written to both;
 * one without a GPU only to the state (mdevctl needs a parent).
 */
struct daemon_def {
        struct nvv_state_definition def;
        bool in_state, in_mdevctl;
};

#define MDEV_TYPE_PREFIX "nvidia-"

/* A catalog type by the id an mdev type name carries ("nvidia-1155"): the GPU's model
 * first, else any model. */
static const struct nvv_catalog_type *type_of_mdev(struct nvv_daemon *d, const char *gpu, const char *mdev_type)
{
        const struct nvv_catalog_gpu *m;
        struct daemon_gpu *x = gpu ? find_gpu(d, gpu) : NULL;
        uint32_t id;

        if (!startswith(mdev_type, MDEV_TYPE_PREFIX) || safe_atou32(mdev_type + strlen(MDEV_TYPE_PREFIX), &id) < 0)
                return NULL;
        m = x && x->g ? nvv_pgpu_get_model(x->g) : NULL;
        for (size_t i = 0; m && i < m->n_types; i++)
                if (m->types[i].type_id == id)
                        return &m->types[i];
        for (size_t g = 0; g < nvv_catalog_count(d->catalog); g++) {
                m = nvv_catalog_get(d->catalog, g);
                for (size_t i = 0; i < m->n_types; i++)
                        if (m->types[i].type_id == id)
                                return &m->types[i];
        }
        return NULL;
}

static int cmp_daemon_def(const void *a, const void *b)
{
        return strcmp(((const struct daemon_def *) a)->def.uuid, ((const struct daemon_def *) b)->def.uuid);
}

/* Both sources merged, by UUID (the state's entry wins where both have one). mdevctl's
 * definitions of parents that are not GPU addresses, or of types that are not NVIDIA's, are
 * not ours and are left out; so are files mdevctl itself would not read (their warnings go
 * to *warnings when given). */
static int definitions(struct nvv_daemon *d, struct daemon_def **ret, size_t *ret_n, char ***warnings)
{
        _cleanup_free_ struct nvv_mdevctl_def *md = NULL;
        _cleanup_strv_free_ char **w = NULL;
        struct daemon_def *out;
        size_t n_md = 0, n = 0, n_state;
        int r;

        if (d->mdevctl_dir) {
                r = nvv_mdevctl_load(d->mdevctl_dir, &md, &n_md, &w);
                if (r < 0)
                        return r;
        }
        pthread_mutex_lock(&d->lock);
        n_state = d->state->n_definitions;
        out = calloc(n_state + n_md + 1, sizeof(*out));
        if (!out) {
                pthread_mutex_unlock(&d->lock);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_state; i++)
                out[n++] = (struct daemon_def) { .def = d->state->definitions[i], .in_state = true };
        pthread_mutex_unlock(&d->lock);
        n_state = n;
        for (size_t i = 0; i < n_md; i++) {
                const struct nvv_catalog_type *t;
                char bdf[13];
                bool dup = false;

                if (nvv_ipc_check_bdf(md[i].parent, bdf, NULL) < 0 || !streq(bdf, md[i].parent) ||
                    !startswith(md[i].mdev_type, MDEV_TYPE_PREFIX))
                        continue;
                for (size_t k = 0; k < n_state; k++)
                        if (streq(out[k].def.uuid, md[i].uuid)) {
                                out[k].in_mdevctl = true;
                                dup = true;
                        }
                if (dup)
                        continue;
                t = type_of_mdev(d, bdf, md[i].mdev_type);
                if (!t) {
                        char *m = NULL;

                        if (asprintf(&m, "%s/%s/%s: the type %s is none of the catalog's; skipped", d->mdevctl_dir,
                                     md[i].parent, md[i].uuid, md[i].mdev_type) >= 0 && strv_push(&w, m) < 0)
                                free(m);
                        continue;
                }
                out[n] = (struct daemon_def) { .in_mdevctl = true };
                snprintf(out[n].def.uuid, sizeof(out[n].def.uuid), "%s", md[i].uuid);
                snprintf(out[n].def.gpu, sizeof(out[n].def.gpu), "%s", bdf);
                snprintf(out[n].def.type_name, sizeof(out[n].def.type_name), "%s", t->short_name);
                out[n].def.autostart = md[i].autostart;
                n++;
        }
        /* Shared with mdevctl and its file gone: mdevctl undefined it. */
        for (size_t k = 0; k < n;)
                if (d->mdevctl_dir && out[k].in_state && out[k].def.mdevctl && !out[k].in_mdevctl) {
                        pthread_mutex_lock(&d->lock);
                        if (nvv_state_remove_definition(d->state, out[k].def.uuid) == 0)
                                (void) state_save_locked(d, NULL);
                        pthread_mutex_unlock(&d->lock);
                        out[k] = out[--n];
                } else
                        k++;
        qsort(out, n, sizeof(*out), cmp_daemon_def);
        if (warnings)
                *warnings = TAKE_PTR(w);
        *ret = out;
        *ret_n = n;
        return 0;
}

static int find_definition(struct nvv_daemon *d, const char *uuid, struct daemon_def *ret)
{
        _cleanup_free_ struct daemon_def *defs = NULL;
        size_t n;
        int r = definitions(d, &defs, &n, NULL);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (streq(defs[i].def.uuid, uuid)) {
                        *ret = defs[i];
                        return 0;
                }
        return -ENOENT;
}

/* Where the vGPU of this UUID is now, or "" (*ret_x NULL) when none is. */
static struct daemon_gpu *where_is(struct nvv_daemon *d, const char *uuid, struct nvv_pgpu_vgpu *ret_v)
{
        for (size_t i = 0; i < d->n_gpus; i++)
                if (d->gpus[i].g && nvv_pgpu_find_vgpu(d->gpus[i].g, uuid, ret_v) == 0)
                        return &d->gpus[i];
        return NULL;
}

static json_object *definition_json(struct nvv_daemon *d, const struct nvv_state_definition *def, bool in_state,
                                    bool in_mdevctl)
{
        json_object *o = json_object_new_object();
        struct nvv_pgpu_vgpu v;
        struct daemon_gpu *x = where_is(d, def->uuid, &v);

        if (!o)
                return NULL;
        json_object_object_add(o, "uuid", jstr(def->uuid));
        json_object_object_add(o, "type", jstr(def->type_name));
        json_object_object_add(o, "gpu", def->gpu[0] ? jstr(def->gpu) : NULL);
        json_object_object_add(o, "vm", def->vm_name[0] ? jstr(def->vm_name) : NULL);
        json_object_object_add(o, "autostart", json_object_new_boolean(def->autostart));
        json_object_object_add(o, "started", json_object_new_boolean(x != NULL));
        if (x)
                json_object_object_add(o, "running_on", jstr(x->info.bdf));
        json_object_object_add(o, "source", jstr(in_state && in_mdevctl ? "both" : in_mdevctl ? "mdevctl" : "nvvgpu"));
        return o;
}

static json_object *do_list_defined(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        _cleanup_free_ struct daemon_def *defs = NULL;
        json_object *a;
        size_t n;
        int r;

        r = definitions(d, &defs, &n, NULL);
        if (r < 0)
                return fail(r, "cannot read the definitions in %s: %s", d->mdevctl_dir ? d->mdevctl_dir : "?", strerror(-r));
        a = json_object_new_array();
        for (size_t i = 0; a && i < n; i++) {
                if (req->gpu[0] && !streq(req->gpu, defs[i].def.gpu))
                        continue;
                if (req->vm[0] && !streq(req->vm, defs[i].def.vm_name))
                        continue;
                json_object_array_add(a, definition_json(d, &defs[i].def, defs[i].in_state, defs[i].in_mdevctl));
        }
        return nvv_ipc_reply_ok(a);
}

/*
 * A definition names a type, and optionally a GPU and a VM; it may be made for a GPU that is
 * not here now (it starts when the GPU appears). define with the UUID of a vGPU that exists
 * records that vGPU (its type and GPU). The type's name is checked against the GPU's model,
 * or the catalog when the GPU is not here.
 */
static json_object *do_define(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        struct nvv_state_definition def = { .autostart = req->autostart_set ? req->autostart : true };
        _cleanup_free_ char *msg = NULL;
        const struct nvv_catalog_type *t = NULL;
        struct nvv_pgpu_vgpu v;
        struct daemon_gpu *x = NULL, *at = NULL;
        int r;

        if (req->uuid[0]) {
                snprintf(def.uuid, sizeof(def.uuid), "%s", req->uuid);
                at = where_is(d, req->uuid, &v);
        } else
                random_uuid(def.uuid);
        if (at) {
                const char *have = v.type ? v.type->short_name : type_name_of(at->g, v.type_id);

                if (req->type[0] && strcasecmp(req->type, have) != 0)
                        return fail(-EINVAL, "vGPU %s exists with the type %s, not %s", def.uuid, have, req->type);
                if (req->gpu[0] && !streq(req->gpu, at->info.bdf))
                        return fail(-EINVAL, "vGPU %s exists on GPU %s, not %s", def.uuid, at->info.bdf, req->gpu);
                t = v.type ? v.type : find_type(at->g, have);
                snprintf(def.gpu, sizeof(def.gpu), "%.12s", at->info.bdf);
        } else if (!req->type[0])
                return fail(-ENOENT, "no vGPU %s exists to define; give its type", def.uuid);
        else {
                if (req->gpu[0]) {
                        x = find_gpu(d, req->gpu);
                        snprintf(def.gpu, sizeof(def.gpu), "%s", req->gpu);
                }
                if (x && x->g) {
                        t = find_type(x->g, req->type);
                        if (!t)
                                return fail(-ENOENT, "GPU %s (%s) does not offer the type %s", x->info.bdf,
                                            nvv_pgpu_get_model(x->g)->short_name, req->type);
                } else {
                        t = nvv_catalog_find_type(d->catalog, req->type);
                        if (!t)
                                return fail(-ENOENT, "no GPU model in the catalog has the type %s", req->type);
                }
        }
        snprintf(def.type_name, sizeof(def.type_name), "%s", t ? t->short_name : req->type);
        if (req->vm[0])
                snprintf(def.vm_name, sizeof(def.vm_name), "%s", req->vm);
        else if (at) {
                char vm[NVV_IPC_NAME_MAX + 1];

                note_get(d, def.uuid, vm);
                snprintf(def.vm_name, sizeof(def.vm_name), "%s", vm);
        }
        {
                struct daemon_def have;

                if (find_definition(d, def.uuid, &have) == 0)
                        return fail(-EEXIST, "vGPU %s is defined already%s (nvvgpuctl list --defined)", def.uuid,
                                    have.in_state ? "" : ", by mdevctl");
        }
        def.mdevctl = d->mdevctl_dir && def.gpu[0] && t;
        pthread_mutex_lock(&d->lock);
        r = nvv_state_add_definition(d->state, &def, &msg);
        if (r >= 0) {
                r = state_save_locked(d, &msg);
                if (r < 0) {
                        (void) nvv_state_remove_definition(d->state, def.uuid);
                        pthread_mutex_unlock(&d->lock);
                        return fail(r, "vGPU %s not defined: the state store failed: %s", def.uuid, msg ? msg : strerror(-r));
                }
        }
        pthread_mutex_unlock(&d->lock);
        if (r == -EEXIST)
                return fail(r, "vGPU %s is defined already (nvvgpuctl list --defined)", def.uuid);
        if (r < 0)
                return fail(r, "%s", msg ? msg : strerror(-r));
        /* mdevctl sees it too (it needs the parent: only for a named GPU). */
        if (d->mdevctl_dir && def.gpu[0] && t) {
                struct nvv_mdevctl_def md = { .autostart = def.autostart };

                snprintf(md.parent, sizeof(md.parent), "%s", def.gpu);
                snprintf(md.uuid, sizeof(md.uuid), "%s", def.uuid);
                snprintf(md.mdev_type, sizeof(md.mdev_type), MDEV_TYPE_PREFIX "%u", t->type_id);
                free(msg);
                msg = NULL;
                r = nvv_mdevctl_save(d->mdevctl_dir, &md, &msg);
                if (r < 0) {
                        _cleanup_free_ char *m2 = NULL;

                        pthread_mutex_lock(&d->lock);
                        (void) nvv_state_remove_definition(d->state, def.uuid);
                        (void) state_save_locked(d, &m2);
                        pthread_mutex_unlock(&d->lock);
                        return fail(r, "vGPU %s not defined: %s", def.uuid, msg ? msg : strerror(-r));
                }
        }
        emit(d, "vgpu-defined", def.gpu, def.uuid, kv("type", json_object_new_string(def.type_name), NULL));
        return nvv_ipc_reply_ok(definition_json(d, &def, true, d->mdevctl_dir && def.gpu[0] && t));
}

static json_object *do_undefine(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        _cleanup_free_ char *msg = NULL;
        struct daemon_def have;
        int r;

        r = find_definition(d, req->uuid, &have);
        if (r == -ENOENT)
                return fail(-ENOENT, "vGPU %s is not defined", req->uuid);
        if (r < 0)
                return fail(r, "cannot read the definitions: %s", strerror(-r));
        if (have.in_state) {
                pthread_mutex_lock(&d->lock);
                (void) nvv_state_remove_definition(d->state, req->uuid);
                r = state_save_locked(d, &msg);
                if (r < 0)
                        (void) nvv_state_add_definition(d->state, &have.def, NULL);
                pthread_mutex_unlock(&d->lock);
                if (r < 0)
                        return fail(r, "vGPU %s is still defined: the state store failed: %s", req->uuid,
                                    msg ? msg : strerror(-r));
        }
        if (have.in_mdevctl) {
                r = nvv_mdevctl_delete(d->mdevctl_dir, have.def.gpu, req->uuid, &msg);
                if (r < 0 && r != -ENOENT)
                        return fail(r, "vGPU %s: %s", req->uuid, msg ? msg : strerror(-r));
        }
        emit(d, "vgpu-undefined", have.def.gpu, req->uuid, NULL);
        /* A vGPU made from it stays: undefine only forgets how to make it again. */
        return nvv_ipc_reply_ok(NULL);
}

static json_object *do_create(struct nvv_daemon *d, const struct nvv_ipc_request *req);

/* Make the vGPU a definition describes; *ret_err (optional) gets the refusal's errno. */
static json_object *start_definition(struct nvv_daemon *d, const struct nvv_state_definition *def)
{
        struct nvv_ipc_request c = { .method = NVV_IPC_CREATE };
        struct nvv_pgpu_vgpu v;
        struct daemon_gpu *x = where_is(d, def->uuid, &v);

        if (x)
                return fail(-EALREADY, "vGPU %s is started already, on GPU %s", def->uuid, x->info.bdf);
        if (def->gpu[0] && !find_gpu(d, def->gpu))
                return fail(-ENODEV, "vGPU %s is defined on GPU %s, which is not here%s", def->uuid, def->gpu,
                            def->autostart ? "; it starts when the GPU appears" : "");
        snprintf(c.type, sizeof(c.type), "%.*s", NVV_IPC_TYPE_MAX - 1, def->type_name);
        snprintf(c.gpu, sizeof(c.gpu), "%s", def->gpu);
        snprintf(c.uuid, sizeof(c.uuid), "%s", def->uuid);
        snprintf(c.vm, sizeof(c.vm), "%.*s", NVV_IPC_NAME_MAX, def->vm_name);
        return do_create(d, &c);
}

static json_object *do_start(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        struct daemon_def have;
        int r = find_definition(d, req->uuid, &have);

        if (r == -ENOENT)
                return fail(-ENOENT, "vGPU %s is not defined (nvvgpuctl define --uuid %s --type TYPE)", req->uuid, req->uuid);
        if (r < 0)
                return fail(r, "cannot read the definitions: %s", strerror(-r));
        return start_definition(d, &have.def);
}

static json_object *do_destroy(struct nvv_daemon *d, const struct nvv_ipc_request *req);

static json_object *do_stop(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        struct nvv_pgpu_vgpu v;
        bool defined;

        if (where_is(d, req->uuid, &v))
                return do_destroy(d, req);
        {
                struct daemon_def have;

                defined = find_definition(d, req->uuid, &have) == 0;
        }
        return defined ? fail(-EALREADY, "vGPU %s is not started", req->uuid) : fail(-ENOENT, "no vGPU %s", req->uuid);
}

/* At start, and when a GPU comes up: make every autostart definition that is not made yet.
 * Each outcome is logged. */
static void autostart(struct nvv_daemon *d, const char *only_gpu, char ***log)
{
        _cleanup_free_ struct daemon_def *all = NULL;
        _cleanup_free_ struct nvv_state_definition *defs = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        size_t n = 0;

        if (definitions(d, &all, &n, &warnings) < 0)
                log_v_line(d, log, 4, "cannot read the definitions in %s", d->mdevctl_dir ? d->mdevctl_dir : "?");
        for (char **w = warnings; w && *w; w++)
                log_v_line(d, log, 4, "mdevctl definition: %s", *w);
        defs = calloc(n + 1, sizeof(*defs));
        for (size_t i = 0; defs && i < n; i++)
                defs[i] = all[i].def;
        for (size_t i = 0; defs && i < n; i++) {
                _cleanup_json_ json_object *reply = NULL;
                json_object *e, *m, *ok;
                struct nvv_pgpu_vgpu v;

                if (!defs[i].autostart || where_is(d, defs[i].uuid, &v))
                        continue;
                if (only_gpu && defs[i].gpu[0] && !streq(defs[i].gpu, only_gpu))
                        continue;
                reply = start_definition(d, &defs[i]);
                if (reply && json_object_object_get_ex(reply, "ok", &ok) && json_object_get_boolean(ok)) {
                        log_v_line(d, log, 6, "vGPU %s (%s): started from its definition", defs[i].uuid, defs[i].type_name);
                        continue;
                }
                m = reply && json_object_object_get_ex(reply, "error", &e) && json_object_object_get_ex(e, "message", &m)
                            ? m
                            : NULL;
                log_v_line(d, log, 4, "vGPU %s (%s): not started from its definition: %s", defs[i].uuid,
                           defs[i].type_name, m ? json_object_get_string(m) : "out of memory");
        }
}

/* ---- the scheduler ---- */

static json_object *sched_json(const struct daemon_gpu *x, const struct nvv_pgpu_sched *sc)
{
        json_object *o = json_object_new_object(), *c;
        uint32_t p = sc->state.policy, a = sc->state.arr;

        json_object_object_add(o, "gpu", jstr(x->info.bdf));
        json_object_object_add(o, "policy", jstr(p < _NVV_SCHED_MAX ? nvv_policy_sched_name(p) : "unknown"));
        json_object_object_add(o, "timeslice_us", json_object_new_int64(sc->state.timeslice_ns / 1000));
        json_object_object_add(o, "arr", jstr(a < _NVV_ARR_MAX ? nvv_sched_arr_names[a] : "unknown"));
        json_object_object_add(o, "source", jstr(sc->from_firmware ? "firmware" : "bring-up"));
        json_object_object_add(o, "requested", jstr(sc->set.set ? "manager" : "firmware-default"));
        if (sc->have_caps) {
                json_object *sup = json_object_new_array();

                c = json_object_new_object();
                for (size_t i = 0; i < ELEMENTSOF(sc->caps.supported_policies); i++)
                        if (sc->caps.supported_policies[i] > NVV_SCHED_OTHER && sc->caps.supported_policies[i] < _NVV_SCHED_MAX)
                                json_object_array_add(sup, jstr(nvv_policy_sched_name(sc->caps.supported_policies[i])));
                json_object_object_add(c, "policies", sup);
                json_object_object_add(c, "min_timeslice_us", json_object_new_int64(sc->caps.min_timeslice_ns / 1000));
                json_object_object_add(c, "max_timeslice_us", json_object_new_int64(sc->caps.max_timeslice_ns / 1000));
                json_object_object_add(c, "arr", json_object_new_boolean(sc->caps.arr_supported));
                json_object_object_add(o, "caps", c);
        }
        return o;
}

static json_object *do_scheduler_get(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        json_object *a;

        if (req->gpu[0] && !find_gpu(d, req->gpu))
                return fail(-ENOENT, "no GPU %s here", req->gpu);
        a = json_object_new_array();
        for (size_t i = 0; a && i < d->n_gpus; i++) {
                struct daemon_gpu *x = &d->gpus[i];
                _cleanup_free_ char *msg = NULL;
                struct nvv_pgpu_sched sc;
                int r;

                if (req->gpu[0] && !streq(req->gpu, x->info.bdf))
                        continue;
                if (!x->g) {
                        if (req->gpu[0]) {
                                json_object_put(a);
                                return fail(-ENODEV, "GPU %s is not managed: %s", x->info.bdf, x->error ? x->error : "?");
                        }
                        continue;
                }
                r = nvv_pgpu_sched_get(x->g, &sc, &msg);
                if (r < 0) {
                        if (req->gpu[0]) {
                                json_object_put(a);
                                return fail(r, "%s", msg ? msg : strerror(-r));
                        }
                        continue;
                }
                json_object_array_add(a, sched_json(x, &sc));
        }
        return nvv_ipc_reply_ok(a);
}

static json_object *do_scheduler_set(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        struct nvv_policy_sched ps = { .set = true, .arr = NVV_ARR_DEFAULT };
        _cleanup_free_ char *msg = NULL;
        struct daemon_gpu *x = find_gpu(d, req->gpu);
        struct nvv_pgpu_sched sc;
        int r;

        if (!x)
                return fail(-ENOENT, "no GPU %s here", req->gpu);
        if (!x->g)
                return fail(-ENODEV, "GPU %s is not managed: %s", x->info.bdf, x->error ? x->error : "?");
        ps.policy = streq(req->sched_policy, "equal-share")   ? NVV_SCHED_EQUAL_SHARE
                    : streq(req->sched_policy, "fixed-share") ? NVV_SCHED_FIXED_SHARE
                                                              : NVV_SCHED_BEST_EFFORT;
        if (req->arr[0])
                ps.arr = streq(req->arr, "enable") ? NVV_ARR_ENABLE : streq(req->arr, "disable") ? NVV_ARR_DISABLE : NVV_ARR_DEFAULT;
        ps.timeslice_ns = req->timeslice_ms * 1000000u;
        ps.arr_avg_factor = req->arr_avg_factor;
        ps.arr_frequency = req->arr_frequency;
        if (ps.arr == NVV_ARR_DISABLE && (ps.arr_avg_factor || ps.arr_frequency))
                return fail(-EINVAL, "arr_avg_factor and arr_frequency tune ARR; they make no sense with arr disable");
        r = nvv_pgpu_sched_set(x->g, &ps, &msg);
        if (r < 0)
                return fail(r, "scheduler not changed: %s", msg ? msg : strerror(-r));
        free(msg);
        msg = NULL;
        r = nvv_pgpu_sched_get(x->g, &sc, &msg);
        if (r < 0)
                return fail(r, "scheduler of GPU %s set, but cannot be read back: %s", x->info.bdf, msg ? msg : strerror(-r));
        emit(d, "scheduler-set", x->info.bdf, NULL, kv("policy", json_object_new_string(req->sched_policy), NULL));
        return nvv_ipc_reply_ok(sched_json(x, &sc));
}

/* ---- the GPU's mode ---- */

static json_object *do_mode_set(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        _cleanup_free_ char *msg = NULL;
        struct daemon_gpu *x = find_gpu(d, req->gpu);
        enum nvv_partition_mode m = streq(req->mode, "mixed-size") ? NVV_PARTITION_HETEROGENEOUS : NVV_PARTITION_HOMOGENEOUS;
        int r;

        if (!x)
                return fail(-ENOENT, "no GPU %s here", req->gpu);
        if (!x->g)
                return fail(-ENODEV, "GPU %s is not managed: %s", x->info.bdf, x->error ? x->error : "?");
        r = nvv_pgpu_set_mode(x->g, m, &msg);
        if (r < 0)
                return fail(r, "mode of GPU %s not changed: %s", x->info.bdf, msg ? msg : strerror(-r));
        (void) sysfs_register(d, x, NULL);
        emit(d, "gpu-mode", x->info.bdf, NULL, kv("mode", json_object_new_string(req->mode), NULL));
        return nvv_ipc_reply_ok(gpu_json(x));
}

/* ---- VMs: the libvirt hook's prepare and release ---- */

struct vm_item {
        struct daemon_gpu *x;
        char name[37];
        bool made_here;                 /* made by this prepare: undone on failure */
        bool started_here;
};

static bool on_demand_of(struct nvv_daemon *d, const char *uuid)
{
        const struct nvv_state_vgpu *r;
        bool od;

        pthread_mutex_lock(&d->lock);
        r = nvv_state_find_vgpu(d->state, uuid);
        od = r && r->on_demand;
        pthread_mutex_unlock(&d->lock);
        return od;
}

/* Record what the managed GPU holds for name now (bound to vm); save: durably, else in
 * memory only, for a caller that saves next (a prepare: its mark covers a kill until then). */
static int vm_record(struct nvv_daemon *d, struct daemon_gpu *x, const char *name, const char *vm, bool on_demand,
                     bool save, char **reterr_msg)
{
        struct nvv_pgpu_vgpu v;
        int r;

        if (nvv_pgpu_find_vgpu(x->g, name, &v) < 0)
                return -ENOENT;
        (void) note_set(d, name, vm);
        pthread_mutex_lock(&d->lock);
        r = state_put(d, x, &v, vm, reterr_msg);
        if (r >= 0) {
                const struct nvv_state_vgpu *old = nvv_state_find_vgpu(d->state, name);
                struct nvv_state_vgpu rec;

                if (old) {
                        rec = *old;
                        rec.on_demand = rec.on_demand || on_demand;
                        /* What a later manager needs to stop it (adopt takes it back from here). */
                        rec.host_handle = v.state == NVV_VGPU_RUNNING ? nvv_pgpu_get_host_handle(x->g, name) : 0;
                        r = nvv_state_update_vgpu(d->state, &rec, reterr_msg);
                }
        }
        if (r >= 0 && save)
                r = state_save_locked(d, reterr_msg);
        pthread_mutex_unlock(&d->lock);
        return r;
}

/* The write-ahead intent of a VM start (nvv_pgpu_vm_params.intent): before the firmware
 * allocates a host vGPU device on the VF, the record says which VF and handle, so that a
 * daemon killed before vm_record knows what to tear down (settle_starts). Not synced, as the
 * other intents (nvv_state_save_nosync says why that is enough). */
struct start_intent {
        struct nvv_daemon *d;
        struct daemon_gpu *x;
};

static int vm_start_intent(void *userdata, const char *name, uint32_t gfid, uint32_t handle, char **reterr_msg)
{
        struct start_intent *si = userdata;
        struct nvv_daemon *d = si->d;
        struct nvv_pgpu_vgpu v;
        struct nvv_state_vgpu rec;
        int r;

        if (nvv_pgpu_find_vgpu(si->x->g, name, &v) < 0)
                return nvv_fail_errno(-ENOENT, reterr_msg, "vGPU %s is gone", name);
        pthread_mutex_lock(&d->lock);
        r = state_put(d, si->x, &v, NULL, reterr_msg);
        if (r >= 0) {
                rec = *nvv_state_find_vgpu(d->state, name);
                rec.state = NVV_STATE_VGPU_STARTING;
                rec.gfid = gfid;
                rec.host_handle = handle;
                r = nvv_state_update_vgpu(d->state, &rec, reterr_msg);
        }
        if (r >= 0)
                r = state_save_intent_locked(d, reterr_msg);
        pthread_mutex_unlock(&d->lock);
        if (r < 0 && reterr_msg && *reterr_msg) {
                char *m = NULL;

                if (asprintf(&m, "the state store failed: %s", *reterr_msg) >= 0) {
                        free(*reterr_msg);
                        *reterr_msg = m;
                }
        }
        return r;
}

/* A start that failed (undone in the firmware): its record is of a vGPU not started again. */
static void vm_start_failed(struct nvv_daemon *d, struct daemon_gpu *x, const char *name)
{
        struct nvv_pgpu_vgpu v;

        if (nvv_pgpu_find_vgpu(x->g, name, &v) < 0)
                return;
        pthread_mutex_lock(&d->lock);
        if (state_put(d, x, &v, NULL, NULL) >= 0)
                (void) state_save_intent_locked(d, NULL);
        pthread_mutex_unlock(&d->lock);
}

static void vm_undo(struct nvv_daemon *d, struct vm_item *it, size_t n)
{
        for (size_t i = n; i-- > 0;) {
                if (it[i].started_here)
                        (void) nvv_pgpu_vm_stop(it[i].x->g, it[i].name, NULL);
                if (it[i].made_here) {
                        struct nvv_ipc_request q = { .method = NVV_IPC_DESTROY };

                        snprintf(q.uuid, sizeof(q.uuid), "%s", it[i].name);
                        json_object_put(do_destroy(d, &q));
                } else if (it[i].started_here)
                        (void) vm_record(d, it[i].x, it[i].name, NULL, false, true, NULL);
        }
}

/* ---- starts cut short ----
 * While a prepare runs, STATE_DIR/preparing-HEX (HEX: the VM's name in hex) names the VM and
 * every vGPU the prepare makes, written before it is made. An nvvgpud killed in between
 * finds the mark at its next start: the hook's call failed with the kill, so libvirt refused
 * the start, and what the prepare made or started is undone. The mark goes before the answer,
 * so a prepare that answered is never undone. Not fsync'd: after a power loss the firmware
 * holds nothing of it either. */

static char *prepare_mark_path(struct nvv_daemon *d, const char *vm)
{
        char hex[2 * NVV_IPC_NAME_MAX + 1];
        char *p = NULL;
        size_t k = 0;

        for (const char *c = vm; *c && k + 2 < sizeof(hex); c++, k += 2)
                snprintf(hex + k, 3, "%02x", (unsigned char) *c);
        hex[k] = 0;
        return asprintf(&p, "%s/preparing-%s", d->state_dir, hex) < 0 ? NULL : p;
}

static void prepare_mark(struct nvv_daemon *d, const char *vm, const struct vm_item *it, size_t n, const char *adding)
{
        _cleanup_free_ char *path = NULL, *tmp = NULL, *text = NULL;
        _cleanup_free_ struct nvv_prepmark *m = calloc(1, sizeof(*m));
        size_t len = 0;

        if (!m || !d->state_dir || !(path = prepare_mark_path(d, vm)) || asprintf(&tmp, "%s/.preparing-", d->state_dir) < 0)
                return;
        snprintf(m->vm, sizeof(m->vm), "%s", vm);
        for (size_t i = 0; i < n; i++)
                if (it[i].made_here)
                        (void) nvv_prepmark_add(m, it[i].name);
        if (adding)
                (void) nvv_prepmark_add(m, adding);
        if (nvv_prepmark_format(m, &text, &len) < 0)
                return;
        if (write_file_replace_at(AT_FDCWD, path, tmp, text, len, 0600, NULL) < 0)
                dlog(d, 4, "VM %s: cannot mark its prepare in %s: %m", vm, path);
}

/* Retired by a rename to a name no mark has (freeing its block is, on some disks, a
 * synchronous discard that the answer need not wait for); nvv_daemon_reap removes it. */
static void prepare_unmark(struct nvv_daemon *d, const char *vm)
{
        _cleanup_free_ char *path = d->state_dir ? prepare_mark_path(d, vm) : NULL, *retired = NULL;
        static unsigned seq;

        if (!path)
                return;
        if (asprintf(&retired, "%s/" PREPARED_PREFIX "%d-%u", d->state_dir, (int) getpid(),
                     __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED)) >= 0 &&
            renameat2(AT_FDCWD, path, AT_FDCWD, retired, RENAME_NOREPLACE) == 0) {
                __atomic_store_n(&d->reap_pending, true, __ATOMIC_RELAXED);
                return;
        }
        if (errno == ENOENT)
                return;
        if (unlink(path) < 0 && errno != ENOENT)
                dlog(d, 4, "VM %s: cannot remove %s: %m", vm, path);
}

/* At start: undo every prepare a kill cut short. */
static void settle_prepares(struct nvv_daemon *d, char ***log)
{
        DIR *dir = d->state_dir ? opendir(d->state_dir) : NULL;

        for (struct dirent *e; dir && (e = readdir(dir));) {
                _cleanup_free_ char *path = NULL, *text = NULL, *why = NULL;
                _cleanup_free_ struct nvv_prepmark *m = calloc(1, sizeof(*m));
                struct nvv_ipc_request q = { .method = NVV_IPC_VM_RELEASE };
                size_t removed = 0, len = 0;
                int r;

                if (startswith(e->d_name, PREPARED_PREFIX)) {
                        /* A retired mark a kill left before its removal: its prepare answered. */
                        (void) unlinkat(dirfd(dir), e->d_name, 0);
                        continue;
                }
                if (!m || strncmp(e->d_name, "preparing-", 10) != 0 || asprintf(&path, "%s/%s", d->state_dir, e->d_name) < 0)
                        continue;
                r = read_full_file(path, NVV_PREPMARK_MAX_SIZE, &text, &len);
                if (r >= 0)
                        r = nvv_prepmark_parse(text, len, m, &why);
                if (r >= 0 && strlen(m->vm) > NVV_IPC_NAME_MAX) {
                        r = -EINVAL;
                        why = strdup("the VM's name is longer than a request may carry");
                }
                if (r < 0) {
                        log_line(log, "%s: not a prepare mark (%s); removed", path, why ? why : strerror(-r));
                        (void) unlink(path);
                        continue;
                }
                snprintf(q.vm, sizeof(q.vm), "%s", m->vm);
                json_object_put(do_vm_release(d, &q));
                for (size_t i = 0; i < m->n_vgpus; i++) {
                        struct nvv_ipc_request x = { .method = NVV_IPC_DESTROY };
                        _cleanup_json_ json_object *rep = NULL;
                        struct nvv_pgpu_vgpu v;

                        if (!where_is(d, m->vgpus[i], &v))
                                continue;
                        snprintf(x.uuid, sizeof(x.uuid), "%s", m->vgpus[i]);
                        rep = do_destroy(d, &x);
                        removed += reply_errno(rep, NULL) >= 0;
                }
                log_line(log, "VM %s: its start was cut short by nvvgpud's stop; undone (%zu vGPUs made for it removed)",
                         q.vm, removed);
                (void) unlink(path);
        }
        if (dir)
                closedir(dir);
}

static json_object *do_vm_prepare_marked(struct nvv_daemon *d, const struct nvv_ipc_request *req);

/* vm-prepare with the domain XML (params.xml): what it asks for read here, with the hook's own
 * reader (nvv-domxml.c: size limit, no DTD, entities or network, our namespace checked
 * strictly), into the request the hook would have sent. NULL, or the refusal. */
static json_object *request_of_xml(const struct nvv_ipc_request *req, struct nvv_ipc_request *out)
{
        _cleanup_free_ char *msg = NULL;
        struct nvv_domxml dx;
        int r;

        r = nvv_domxml_parse(req->xml, strlen(req->xml), &dx, &msg);
        if (r >= 0)
                r = nvv_hook_request_of_domxml(req->vm, &dx, out, &msg);
        return r < 0 ? fail(r, "VM %s: %s", req->vm, msg ? msg : strerror(-r)) : NULL;
}

static json_object *do_vm_prepare(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        struct nvv_ipc_request q;
        json_object *r;

        if (req->xml) {
                r = request_of_xml(req, &q);
                if (r)
                        return r;
                req = &q;
        }

        /* The mark is written before the prepare's first change (do_vm_prepare_marked). */
        r = do_vm_prepare_marked(d, req);
        prepare_unmark(d, req->vm);
        return r;
}

/* The GPU nvvgpud manages that PCI function bdf is (*ret_vf false) or is a VF of (true), as
 * discovery found them; NULL for any other device, and where discovery did not run. */
static const char *managed_gpu_of_pci(struct nvv_daemon *d, const char *bdf, bool *ret_vf)
{
        for (size_t i = 0; i < d->n_gpus; i++) {
                const struct nvv_host_gpu *h = host_gpu(d, d->gpus[i].info.bdf);

                if (streq(d->gpus[i].info.bdf, bdf)) {
                        *ret_vf = false;
                        return d->gpus[i].info.bdf;
                }
                for (char **v = h ? h->vfs : NULL; v && *v; v++)
                        if (streq(*v, bdf)) {
                                *ret_vf = true;
                                return d->gpus[i].info.bdf;
                        }
        }
        return NULL;
}

static json_object *do_vm_prepare_marked(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        /* mdevs by hostdev and by name, VFs holding vGPUs (as many as mdevs at most), vGPUs
         * asked for by type */
        struct vm_item it[3 * NVV_IPC_MAX_UUIDS + NVV_PLAN_MAX_REQUESTS / 16];
        struct nvv_pgpu_vm_params params = {};
        struct nvv_plan_request *reqs = NULL;
        size_t n = 0, n_reqs = 0;
        bool have_on_demand = false, any_started = false, marked = false;
        json_object *out, *err = NULL;
        int r;

        /* The domain's UUID as the firmware's 16 bytes (checked canonical by the parser). */
        for (size_t i = 0, k = 0; req->vm_uuid[0] && k < 16 && req->vm_uuid[i]; i++) {
                char hex[3] = { req->vm_uuid[i], req->vm_uuid[i + 1], 0 };

                if (req->vm_uuid[i] == '-')
                        continue;
                params.vm_uuid[k++] = (uint8_t) strtoul(hex, NULL, 16);
                i++;
        }
        /* 0. Whether a finished prepare of this VM made its vGPUs on demand already (a second
         * prepare makes none again): looked at before this one makes any. */
        for (size_t g = 0; g < d->n_gpus && !have_on_demand; g++)
                for (size_t k = 0; d->gpus[g].g && k < nvv_pgpu_count(d->gpus[g].g); k++) {
                        struct nvv_pgpu_vgpu v;

                        if (nvv_pgpu_get_vgpu(d->gpus[g].g, k, &v) == 0 && vm_matches(d, v.name, req->vm) &&
                            on_demand_of(d, v.name))
                                have_on_demand = true;
                }
        /* 1. The mdevs its hostdevs name, then those its metadata names (uuid='...') that no
         * hostdev does: they exist, or are defined (then made now), or, named in its metadata,
         * are made now on demand with the type it asks. */
        for (size_t i = 0; i < req->n_uuids + req->n_named; i++) {
                const char *u = i < req->n_uuids ? req->uuids[i] : req->named[i - req->n_uuids].uuid;
                const char *want = NULL;
                struct nvv_pgpu_vgpu v;
                struct daemon_gpu *x;
                bool made = false, seen = false;
                char vm[NVV_IPC_NAME_MAX + 1];

                for (size_t k = 0; k < req->n_named; k++)
                        if (streq(req->named[k].uuid, u))
                                want = req->named[k].type;
                for (size_t k = 0; i >= req->n_uuids && k < req->n_uuids; k++)
                        seen |= streq(req->uuids[k], u);
                if (seen)
                        continue;
                x = where_is(d, u, &v);
                if (!x) {
                        struct daemon_def def;
                        _cleanup_json_ json_object *rep = NULL;
                        const char *m;
                        bool defined = find_definition(d, u, &def) >= 0;
                        struct nvv_ipc_request c = { .method = NVV_IPC_CREATE };

                        if (!defined && !want) {
                                err = fail(-ENOENT, "VM %s: its mdev %s does not exist; define or create it first", req->vm, u);
                                goto undo;
                        }
                        {
                                struct vm_item next = { .made_here = true };

                                snprintf(next.name, sizeof(next.name), "%.36s", u);
                                prepare_mark(d, req->vm, it, n, next.name);
                                marked = true;
                        }
                        if (defined)
                                rep = start_definition(d, &def.def);
                        else {
                                snprintf(c.type, sizeof(c.type), "%s", want);
                                snprintf(c.vm, sizeof(c.vm), "%s", req->vm);
                                snprintf(c.uuid, sizeof(c.uuid), "%s", u);
                                rep = create_vgpu(d, &c, true);
                        }
                        r = reply_errno(rep, &m);
                        if (r < 0) {
                                err = defined ? fail(r, "VM %s: its mdev %s cannot be made: %s", req->vm, u, m ? m : strerror(-r))
                                              : fail(r, "VM %s: no %s for its mdev %s: %s", req->vm, want, u, m ? m : strerror(-r));
                                goto undo;
                        }
                        x = where_is(d, u, &v);
                        made = true;
                        if (!x) {
                                err = fail(-EIO, "VM %s: mdev %s vanished", req->vm, u);
                                goto undo;
                        }
                }
                if (want && !streq(type_name_of(x->g, v.type_id), want)) {
                        /* it[n] is not filled yet: one made here is undone with the others. */
                        it[n] = (struct vm_item) { .x = x, .made_here = made };
                        snprintf(it[n].name, sizeof(it[n].name), "%.36s", v.name);
                        n++;
                        err = fail(-EINVAL, "VM %s: its mdev %s is %s; its metadata asks for %s", req->vm, u,
                                   type_name_of(x->g, v.type_id), want);
                        goto undo;
                }
                note_get(d, v.name, vm);
                if (v.state == NVV_VGPU_RUNNING && !streq(vm, req->vm)) {
                        err = fail(-EBUSY, "VM %s: its mdev %s is in use by VM %s", req->vm, v.name, vm[0] ? vm : "(another)");
                        goto undo;
                }
                it[n] = (struct vm_item) { .x = x, .made_here = made };
                snprintf(it[n].name, sizeof(it[n].name), "%.36s", v.name);
                n++;
        }
        /* 1b. The PCI functions its hostdevs name: a VF holding a vGPU (its type set in
         * nvidia/current_vgpu_type, or assigned upstream) is one of its vGPUs; a VF of a managed
         * GPU without one, or that GPU itself, cannot serve it; other devices are not ours. */
        for (size_t i = 0; i < req->n_pci; i++) {
                struct nvv_pgpu_vgpu v;
                struct daemon_gpu *x = where_is(d, req->pci[i], &v);
                char vm[NVV_IPC_NAME_MAX + 1];
                const char *gpu;
                bool vf = false;

                if (!x) {
                        gpu = managed_gpu_of_pci(d, req->pci[i], &vf);
                        if (gpu && vf) {
                                err = fail(-ENOENT,
                                           "VM %s: its PCI hostdev %s is a VF of GPU %s that holds no vGPU; give it a type "
                                           "first (nvidia/current_vgpu_type)",
                                           req->vm, req->pci[i], gpu);
                                goto undo;
                        }
                        if (gpu) {
                                err = fail(-EBUSY,
                                           "VM %s: its PCI hostdev %s is GPU %s, which nvvgpud manages for vGPUs; pass one of "
                                           "its VFs or mdevs instead",
                                           req->vm, req->pci[i], gpu);
                                goto undo;
                        }
                        continue;
                }
                note_get(d, v.name, vm);
                if (v.state == NVV_VGPU_RUNNING && !streq(vm, req->vm)) {
                        err = fail(-EBUSY, "VM %s: its VF %s is in use by VM %s", req->vm, v.name, vm[0] ? vm : "(another)");
                        goto undo;
                }
                if (n >= 3 * NVV_IPC_MAX_UUIDS) {
                        err = fail(-E2BIG, "VM %s: more than %d vGPUs by hostdev", req->vm, 3 * NVV_IPC_MAX_UUIDS);
                        goto undo;
                }
                it[n] = (struct vm_item) { .x = x };
                snprintf(it[n].name, sizeof(it[n].name), "%.36s", v.name);
                n++;
        }
        /* 2. vGPUs asked for by type in its metadata, made on demand (once: a second prepare
         * finds them). */
        for (size_t g = 0; g < d->n_gpus; g++)
                for (size_t k = 0; d->gpus[g].g && k < nvv_pgpu_count(d->gpus[g].g); k++) {
                        struct nvv_pgpu_vgpu v;
                        bool listed = false;

                        if (nvv_pgpu_get_vgpu(d->gpus[g].g, k, &v) < 0)
                                continue;
                        for (size_t i = 0; i < n; i++)
                                listed |= streq(it[i].name, v.name);
                        if (!listed && vm_matches(d, v.name, req->vm) && on_demand_of(d, v.name) && n < ELEMENTSOF(it)) {
                                it[n] = (struct vm_item) { .x = &d->gpus[g] };
                                snprintf(it[n].name, sizeof(it[n].name), "%.36s", v.name);
                                n++;
                        }
                }
        if (req->spec[0] && !have_on_demand) {
                _cleanup_free_ char *msg = NULL;

                r = nvv_planner_parse_requests(req->spec, d->catalog, &reqs, &n_reqs, &msg);
                if (r < 0) {
                        err = fail(r, "VM %s: its vGPU request %s", req->vm, msg ? msg : strerror(-r));
                        goto undo;
                }
                for (size_t i = 0; i < n_reqs; i++) {
                        struct nvv_ipc_request c = { .method = NVV_IPC_CREATE };
                        _cleanup_json_ json_object *rep = NULL;
                        json_object *res = NULL, *u = NULL;
                        const char *m;

                        if (!reqs[i].type || n >= ELEMENTSOF(it)) {
                                err = fail(-EINVAL, "VM %s: request %s: ask for a vGPU type (L40S-8Q), at most %zu", req->vm,
                                           reqs[i].what, ELEMENTSOF(it));
                                goto undo;
                        }
                        snprintf(c.type, sizeof(c.type), "%.*s", NVV_IPC_TYPE_MAX - 1, reqs[i].type);
                        snprintf(c.vm, sizeof(c.vm), "%s", req->vm);
                        /* Named before it is made, so that a kill in between leaves its name in the mark. */
                        random_uuid(c.uuid);
                        prepare_mark(d, req->vm, it, n, c.uuid);
                        marked = true;
                        rep = create_vgpu(d, &c, true);
                        r = reply_errno(rep, &m);
                        if (r < 0) {
                                err = fail(r, "VM %s: no %s for it: %s", req->vm, c.type, m ? m : strerror(-r));
                                goto undo;
                        }
                        if (!json_object_object_get_ex(rep, "result", &res) || !json_object_object_get_ex(res, "uuid", &u) ||
                            !json_object_object_get_ex(res, "gpu", &res)) {
                                err = fail(-EIO, "VM %s: a create answered without its vGPU", req->vm);
                                goto undo;
                        }
                        it[n] = (struct vm_item) { .x = find_gpu(d, json_object_get_string(res)), .made_here = true };
                        snprintf(it[n].name, sizeof(it[n].name), "%s", json_object_get_string(u));
                        n++;
                }
        }
        /* 3. Start each (plugin bootloaded, placement set, guest created: §4). Nothing was
         * changed before the first mark; a prepare that made nothing marks itself now. */
        if (!marked && n > 0)
                prepare_mark(d, req->vm, it, n, NULL);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *msg = NULL;
                struct nvv_pgpu_vgpu v;

                struct start_intent si = { .d = d, .x = it[i].x };

                if (nvv_pgpu_find_vgpu(it[i].x->g, it[i].name, &v) == 0 && v.state == NVV_VGPU_RUNNING)
                        continue;
                params.intent = vm_start_intent;
                params.userdata = &si;
                r = nvv_pgpu_vm_start(it[i].x->g, it[i].name, &params, &v, &msg);
                if (r < 0) {
                        vm_start_failed(d, it[i].x, it[i].name);
                        err = fail(r, "VM %s: vGPU %s does not start: %s", req->vm, it[i].name, msg ? msg : strerror(-r));
                        goto undo;
                }
                it[i].started_here = true;
                free(msg);
                msg = NULL;
                r = vm_record(d, it[i].x, it[i].name, req->vm, on_demand_of(d, it[i].name), false, &msg);
                if (r < 0) {
                        err = fail(r, "VM %s: vGPU %s started, but the state store failed: %s", req->vm, it[i].name,
                                   msg ? msg : strerror(-r));
                        goto undo;
                }
                any_started = true;
        }
        /* What the answer tells libvirt is in the store before it goes: one save for all. */
        if (any_started) {
                _cleanup_free_ char *msg = NULL;

                pthread_mutex_lock(&d->lock);
                r = vm_run_save_locked(d, &msg);
                pthread_mutex_unlock(&d->lock);
                if (r < 0) {
                        err = fail(r, "VM %s: its vGPUs started, but the state store failed: %s", req->vm,
                                   msg ? msg : strerror(-r));
                        goto undo;
                }
        }
        for (size_t i = 0; i < n; i++)
                if (it[i].started_here)
                        emit(d, "vgpu-started", it[i].x->info.bdf, it[i].name,
                             kv("vm", json_object_new_string(req->vm), NULL));
        nvv_plan_requests_free(reqs, n_reqs);
        out = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                struct nvv_pgpu_vgpu v;

                if (nvv_pgpu_find_vgpu(it[i].x->g, it[i].name, &v) == 0)
                        json_object_array_add(out, vgpu_json(d, it[i].x, &v));
        }
        return nvv_ipc_reply_ok(kv("vgpus", out, NULL));
undo:
        nvv_plan_requests_free(reqs, n_reqs);
        vm_undo(d, it, n);
        return err;
}

/* Idempotent: every vGPU bound to the VM stopped; those made on demand for it removed. */
static json_object *do_vm_release(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        size_t stopped = 0, removed = 0, kept = 0;

        for (size_t g = 0; g < d->n_gpus; g++) {
                struct daemon_gpu *x = &d->gpus[g];
                char names[NVV_MAX_VGPUS][37];
                size_t k = 0;

                for (size_t i = 0; x->g && i < nvv_pgpu_count(x->g) && k < NVV_MAX_VGPUS; i++) {
                        struct nvv_pgpu_vgpu v;

                        if (nvv_pgpu_get_vgpu(x->g, i, &v) == 0 && vm_matches(d, v.name, req->vm))
                                snprintf(names[k++], 37, "%.36s", v.name);
                }
                for (size_t i = 0; i < k; i++) {
                        _cleanup_free_ char *m = NULL;

                        if (nvv_pgpu_vm_stop(x->g, names[i], &m) < 0)
                                dlog(d, 4, "VM %s: vGPU %s: stop: %s", req->vm, names[i], m ? m : "failed");
                        stopped++;
                        if (on_demand_of(d, names[i])) {
                                struct nvv_ipc_request q = { .method = NVV_IPC_DESTROY };

                                _cleanup_json_ json_object *rep = NULL;
                                const char *m2;

                                snprintf(q.uuid, sizeof(q.uuid), "%.36s", names[i]);
                                rep = destroy_vgpu(d, &q, false);
                                if (reply_errno(rep, &m2) < 0)
                                        dlog(d, 4, "VM %s: vGPU %s made for it cannot be removed: %s", req->vm, names[i],
                                             m2 ? m2 : "?");
                                else
                                        removed++;
                        } else {
                                (void) vm_record(d, x, names[i], req->vm, false, false, NULL);
                                kept++;
                        }
                        emit(d, "vgpu-stopped", x->info.bdf, names[i], kv("vm", json_object_new_string(req->vm), NULL));
                }
        }
        if (kept > 0) {
                pthread_mutex_lock(&d->lock);
                (void) vm_run_save_locked(d, NULL);
                pthread_mutex_unlock(&d->lock);
        }
        return nvv_ipc_reply_ok(kv("stopped", json_object_new_int64((int64_t) stopped), "removed",
                                   json_object_new_int64((int64_t) removed), NULL));
}

/* ---- what-if against the live state ---- */

/*
 * The planner on a copy of every ready GPU's partition as it is now (its vGPUs, its mode, the
 * types it uploaded), offered types and preferences from the current policy. Nothing is made;
 * a create may still find the GPU changed meanwhile.
 */
static json_object *do_plan(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        _cleanup_(nvv_pool_freep) struct nvv_pool *pool = NULL;
        _cleanup_(nvv_plan_result_freep) struct nvv_plan_result *res = NULL;
        _cleanup_free_ struct nvv_plan_tenant_quota *tq = NULL;
        _cleanup_free_ struct nvv_policy_gpu_setup *setup = NULL;
        _cleanup_free_ char *msg = NULL;
        struct nvv_plan_request *reqs = NULL;
        struct nvv_plan_options popts;
        const struct nvv_policy *policy;
        json_object *o = NULL, *gpus;
        size_t n_reqs = 0;
        int r;

        pthread_mutex_lock(&d->lock);
        policy = d->policy; /* stays alive: replaced policies are kept */
        pthread_mutex_unlock(&d->lock);
        r = nvv_planner_parse_requests(req->spec, d->catalog, &reqs, &n_reqs, &msg);
        if (r < 0)
                return fail(r, "plan: request %s", msg ? msg : strerror(-r));
        r = nvv_pool_new(&pool);
        setup = calloc(d->n_gpus + 1, sizeof(*setup));
        if (r < 0 || !setup) {
                nvv_plan_requests_free(reqs, n_reqs);
                return fail(-ENOMEM, "out of memory");
        }
        gpus = json_object_new_array();
        for (size_t i = 0; i < d->n_gpus; i++) {
                struct daemon_gpu *x = &d->gpus[i];
                _cleanup_(nvv_partition_freep) struct nvv_partition *part = NULL;
                struct nvv_pool_gpu_config cfg;
                const struct nvv_catalog_gpu *m;

                if (!x->g || nvv_pgpu_get_state(x->g) != NVV_PGPU_READY || nvv_pgpu_clone_partition(x->g, &part) < 0)
                        continue;
                m = nvv_pgpu_get_model(x->g);
                if (nvv_policy_setup_gpu(policy, m, x->info.bdf, nvv_pgpu_get_fwabi(x->g), -1, &setup[i]) < 0)
                        continue;
                nvv_policy_pool_config(&setup[i], x->info.bdf, m, nvv_pgpu_get_fwabi(x->g), nvv_pgpu_get_numa_node(x->g),
                                       nvv_pgpu_get_ecc(x->g), &cfg);
                free(msg);
                msg = NULL;
                r = nvv_pool_add_partition(pool, &cfg, part, &msg);
                if (r < 0) {
                        json_object_put(gpus);
                        nvv_plan_requests_free(reqs, n_reqs);
                        return fail(r, "plan: GPU %s: %s", x->info.bdf, msg ? msg : strerror(-r));
                }
                {
                        json_object *g = json_object_new_object();

                        json_object_object_add(g, "gpu", jstr(x->info.bdf));
                        json_object_object_add(g, "model", jstr(m->short_name));
                        json_object_object_add(g, "mode", jstr(nvv_partition_mode_to_string(nvv_partition_get_mode(part))));
                        json_object_object_add(g, "vgpus", json_object_new_int64((int64_t) nvv_pgpu_count(x->g)));
                        json_object_array_add(gpus, g);
                }
        }
        if (nvv_pool_count(pool) == 0) {
                json_object_put(gpus);
                nvv_plan_requests_free(reqs, n_reqs);
                return fail(-ENODEV, "plan: no GPU is ready");
        }
        r = nvv_policy_plan_options(policy, &popts, &tq);
        if (r >= 0)
                r = nvv_planner_run(pool, reqs, n_reqs, &popts, &res);
        if (r >= 0)
                o = nvv_plan_result_to_json(pool, reqs, res);
        nvv_plan_requests_free(reqs, n_reqs);
        if (r < 0 || !o) {
                json_object_put(gpus);
                return fail(r < 0 ? r : -ENOMEM, "plan: %s", strerror(r < 0 ? -r : ENOMEM));
        }
        json_object_object_add(o, "gpus", gpus);
        json_object_object_add(o, "policy", jstr(d->policy_file ? d->policy_file : "(default)"));
        return nvv_ipc_reply_ok(o);
}

/* A label value in the exposition format: backslash, double quote and newline escaped. */
static const char *prom_label(const char *s, char buf[static 128])
{
        size_t k = 0;

        for (; s && *s && k < 124; s++) {
                if (*s == '\\' || *s == '"')
                        buf[k++] = '\\';
                else if (*s == '\n') {
                        buf[k++] = '\\';
                        buf[k++] = 'n';
                        continue;
                }
                buf[k++] = *s;
        }
        buf[k] = '\0';
        return buf;
}

/* Prometheus text exposition format, for node_exporter's textfile collector. */
static char *prometheus_text(struct nvv_daemon *d)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        uint64_t creates, destroys, refusals, resets, recovered, lost;

        if (!f)
                return NULL;
        pthread_mutex_lock(&d->lock);
        creates = d->creates;
        destroys = d->destroys;
        refusals = d->refusals;
        resets = d->resets;
        recovered = d->recovered;
        lost = d->lost;
        pthread_mutex_unlock(&d->lock);
        fputs("# HELP nvvgpu_gpu_info A physical GPU nvvgpud knows, with its state (1 per GPU).\n"
              "# TYPE nvvgpu_gpu_info gauge\n", f);
        for (size_t i = 0; i < d->n_gpus; i++) {
                const struct daemon_gpu *x = &d->gpus[i];

                char b1[128], b2[128];

                fprintf(f, "nvvgpu_gpu_info{gpu=\"%s\",model=\"%s\",release=\"%s\",state=\"%s\"} 1\n", x->info.bdf,
                        prom_label(x->g ? nvv_pgpu_get_model(x->g)->short_name : x->info.model, b1),
                        prom_label(x->g ? nvv_pgpu_get_fwabi(x->g)->release : x->info.release, b2),
                        x->g ? nvv_pgpu_state_to_string(nvv_pgpu_get_state(x->g)) : "unmanaged");
        }
        fputs("# HELP nvvgpu_fb_bytes Framebuffer of a GPU by use (used, free, largest_free range, reserved).\n"
              "# TYPE nvvgpu_fb_bytes gauge\n", f);
        for (size_t i = 0; i < d->n_gpus; i++) {
                struct nvv_pgpu_fb fb;

                if (!d->gpus[i].g || nvv_pgpu_get_fb(d->gpus[i].g, &fb) < 0)
                        continue;
                fprintf(f, "nvvgpu_fb_bytes{gpu=\"%s\",use=\"used\"} %" PRIu64 "\n", d->gpus[i].info.bdf, fb.used);
                fprintf(f, "nvvgpu_fb_bytes{gpu=\"%s\",use=\"free\"} %" PRIu64 "\n", d->gpus[i].info.bdf, fb.free);
                fprintf(f, "nvvgpu_fb_bytes{gpu=\"%s\",use=\"largest_free\"} %" PRIu64 "\n", d->gpus[i].info.bdf,
                        fb.largest_free);
                fprintf(f, "nvvgpu_fb_bytes{gpu=\"%s\",use=\"reserved\"} %" PRIu64 "\n", d->gpus[i].info.bdf,
                        fb.total - fb.reserved_start);
        }
        fputs("# HELP nvvgpu_vgpus vGPUs by GPU, type and state.\n# TYPE nvvgpu_vgpus gauge\n", f);
        for (size_t i = 0; i < d->n_gpus; i++) {
                const struct daemon_gpu *x = &d->gpus[i];
                const struct nvv_catalog_gpu *m;

                if (!x->g)
                        continue;
                m = nvv_pgpu_get_model(x->g);
                for (size_t t = 0; t < m->n_types; t++)
                        for (int s = 0; s < _NVV_VGPU_STATE_MAX; s++) {
                                size_t n = nvv_pgpu_count(x->g), c = 0;

                                for (size_t k = 0; k < n; k++) {
                                        struct nvv_pgpu_vgpu v;

                                        if (nvv_pgpu_get_vgpu(x->g, k, &v) == 0 && v.type_id == m->types[t].type_id &&
                                            (int) v.state == s)
                                                c++;
                                }
                                char b1[128];

                                if (c)
                                        fprintf(f, "nvvgpu_vgpus{gpu=\"%s\",type=\"%s\",state=\"%s\"} %zu\n", x->info.bdf,
                                                prom_label(m->types[t].short_name, b1), nvv_vgpu_state_to_string(s), c);
                        }
        }
        fprintf(f,
                "# HELP nvvgpu_requests_total Create and destroy requests served, and creates refused.\n"
                "# TYPE nvvgpu_requests_total counter\n"
                "nvvgpu_requests_total{request=\"create\"} %" PRIu64 "\n"
                "nvvgpu_requests_total{request=\"destroy\"} %" PRIu64 "\n"
                "nvvgpu_requests_total{request=\"create_refused\"} %" PRIu64 "\n"
                "# HELP nvvgpu_gsp_resets_total GSP resets seen, and the vGPUs made again or lost after them.\n"
                "# TYPE nvvgpu_gsp_resets_total counter\n"
                "nvvgpu_gsp_resets_total %" PRIu64 "\n"
                "nvvgpu_vgpus_recovered_total %" PRIu64 "\n"
                "nvvgpu_vgpus_lost_total %" PRIu64 "\n",
                creates, destroys, refusals, resets, recovered, lost);
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(buf);
}

static void status_of(struct nvv_daemon *d, struct nvv_ipc_status *st, char lv[static 320])
{
        *st = (struct nvv_ipc_status) {
                .version = PACKAGE_VERSION,
                .backend = d->backend_s ? d->backend_s : "in-process",
                .policy = d->policy_file ? d->policy_file : "(default)",
                .gpus = (int64_t) d->n_gpus,
                .uptime_s = (int64_t) (time(NULL) - d->started),
                .subscribers = (int64_t) nvv_evbus_count(d->bus),
                .libvirt = nvv_libvirt_describe(d->libvirt, lv, 320),
        };
        for (size_t i = 0; i < d->n_gpus; i++)
                if (d->gpus[i].g) {
                        st->gpus_ready += nvv_pgpu_get_state(d->gpus[i].g) == NVV_PGPU_READY;
                        st->vgpus += (int64_t) nvv_pgpu_count(d->gpus[i].g);
                }
        pthread_mutex_lock(&d->lock);
        st->definitions = (int64_t) d->state->n_definitions;
        pthread_mutex_unlock(&d->lock);
}

static json_object *do_status(struct nvv_daemon *d, const struct nvv_ipc_request *req)
{
        struct nvv_ipc_status st;
        json_object *o;

        if (req->prometheus) {
                _cleanup_free_ char *text = prometheus_text(d);

                o = text ? json_object_new_object() : NULL;
                if (!o)
                        return fail(-ENOMEM, "out of memory");
                json_object_object_add(o, "prometheus", jstr(text));
                return nvv_ipc_reply_ok(o);
        }
        char lv[320];

        status_of(d, &st, lv);
        o = nvv_ipc_status_to_json(&st);
        if (!o)
                return fail(-ENOMEM, "out of memory");
        return nvv_ipc_reply_ok(o);
}

json_object *nvv_daemon_handle(struct nvv_daemon *d, const struct nvv_ipc_request *req, bool may_mutate)
{
        _cleanup_free_ char *msg = NULL;

        if (nvv_ipc_method_mutates(req->method) && !may_mutate)
                return fail(-EPERM, "%s changes the host: only root may ask for it", nvv_ipc_method_to_string(req->method));
        switch (req->method) {
        case NVV_IPC_STATUS:
                return do_status(d, req);
        case NVV_IPC_GPUS:
                return do_gpus(d, req);
        case NVV_IPC_TYPES:
                return do_types(d, req);
        case NVV_IPC_LIST:
                return req->defined ? do_list_defined(d, req) : do_list(d, req, false);
        case NVV_IPC_SHOW:
                return do_list(d, req, true);
        case NVV_IPC_CREATE:
                return do_create(d, req);
        case NVV_IPC_DESTROY:
                return do_destroy(d, req);
        case NVV_IPC_POLICY_RELOAD:
                if (nvv_daemon_reload_policy(d, &msg) < 0)
                        return fail(-EINVAL, "policy not reloaded: %s", msg ? msg : "cannot read it");
                emit(d, "policy-reloaded", NULL, NULL, NULL);
                /* sysfs shows what each GPU offers as it is now (a policy's types reach a GPU at
                 * its next bring-up). */
                for (size_t i = 0; i < d->n_gpus; i++)
                        (void) sysfs_register(d, &d->gpus[i], NULL);
                return nvv_ipc_reply_ok(NULL);
        case NVV_IPC_DEFINE:
                return do_define(d, req);
        case NVV_IPC_UNDEFINE:
                return do_undefine(d, req);
        case NVV_IPC_START:
                return do_start(d, req);
        case NVV_IPC_STOP:
                return do_stop(d, req);
        case NVV_IPC_SCHEDULER_GET:
                return do_scheduler_get(d, req);
        case NVV_IPC_SCHEDULER_SET:
                return do_scheduler_set(d, req);
        case NVV_IPC_PLAN:
                return do_plan(d, req);
        case NVV_IPC_MODE_SET:
                return do_mode_set(d, req);
        case NVV_IPC_VM_PREPARE:
                return do_vm_prepare(d, req);
        case NVV_IPC_VM_RELEASE:
                return do_vm_release(d, req);
        case NVV_IPC_SUBSCRIBE:
                /* The socket server turns the connection into a stream (nvv_daemon_get_bus). */
                return nvv_ipc_reply_ok(kv("stream", json_object_new_string("events"), NULL));
        default:
                return fail(-EOPNOTSUPP, "unknown method");
        }
}

int nvv_daemon_handle_message(struct nvv_daemon *d, const void *data, size_t size, bool may_mutate, char **ret_reply,
                              bool *ret_subscribed)
{
        _cleanup_json_ json_object *reply = NULL;
        _cleanup_free_ char *msg = NULL;
        _cleanup_(nvv_ipc_request_done) struct nvv_ipc_request req = {};
        int r;

        r = nvv_ipc_parse_request(data, size, &req, &msg);
        if (ret_subscribed)
                *ret_subscribed = r >= 0 && req.method == NVV_IPC_SUBSCRIBE;
        /* status (anyone may read it): the reply written as text at once, as do_status's
         * object would be written, without building that object. */
        if (r >= 0 && req.method == NVV_IPC_STATUS && !req.prometheus) {
                struct nvv_ipc_status st;
                char lv[320];

                status_of(d, &st, lv);
                return nvv_ipc_status_reply_text(&st, ret_reply);
        }
        reply = r < 0 ? nvv_ipc_reply_error(r, msg) : nvv_daemon_handle(d, &req, may_mutate);
        if (!reply)
                return -ENOMEM;
        return nvv_ipc_to_text(reply, ret_reply);
}
