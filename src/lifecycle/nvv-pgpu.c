/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The managed GPU object: construction, firmware calls, snapshots and events. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "nvv-host.h"
#include "nvv-pgpu-internal.h"
#include "nvv-pool.h"
#include "util.h"

static const char *const pgpu_state_names[_NVV_PGPU_STATE_MAX] = {
        [NVV_PGPU_NEW] = "new",
        [NVV_PGPU_READY] = "ready",
        [NVV_PGPU_FAILED] = "failed",
        [NVV_PGPU_LOST] = "lost",
};

DEFINE_STRING_TABLE_LOOKUP(nvv_pgpu_state, enum nvv_pgpu_state, pgpu_state_names, _NVV_PGPU_STATE_MAX,
                           _NVV_PGPU_STATE_INVALID)

static const char *const vgpu_state_names[_NVV_VGPU_STATE_MAX] = {
        [NVV_VGPU_CREATED] = "created",
        [NVV_VGPU_RUNNING] = "running",
        [NVV_VGPU_CRASHED] = "crashed",
        [NVV_VGPU_LOST] = "lost",
};

DEFINE_STRING_TABLE_LOOKUP(nvv_vgpu_state, enum nvv_vgpu_state, vgpu_state_names, _NVV_VGPU_STATE_MAX,
                           _NVV_VGPU_STATE_INVALID)

/* "0000:41:00.0" → bus << 8 | device << 3 | function, the firmware's gpuPciBdf. */
static uint32_t parse_bdf(const char *s)
{
        unsigned dom, bus, dev, fn;

        if (!s || sscanf(s, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4 || bus > 0xff || dev > 0x1f || fn > 7)
                return 0;
        return bus << 8 | dev << 3 | fn;
}

static const struct nvv_catalog_gpu *find_model(const struct nvv_catalog *c, const struct nvv_channel_info *info)
{
        const struct nvv_catalog_gpu *m = NULL;

        if (!c)
                return NULL;
        if (info->vendor && info->device)
                m = nvv_catalog_find_pci(c, info->vendor, info->device, 0, 0);
        for (size_t i = 0; !m && i < nvv_catalog_count(c); i++) {
                const struct nvv_catalog_gpu *x = nvv_catalog_get(c, i);

                if (strcasecmp(x->model, info->model) == 0 || strcasecmp(x->short_name, info->model) == 0)
                        m = x;
        }
        return m;
}

/* The type table and mode bring-up will upload: the catalog's types the policy offers, or an
 * explicit table. Errors that no firmware command could fix are found here. */
static int setup_types(struct nvv_pgpu *g, const struct nvv_pgpu_options *o, char **reterr_msg)
{
        struct nvv_policy_gpu_setup setup;
        struct nvv_pool_gpu_config cfg;
        int r;

        if (o->types) {
                if (o->n_types > NVV_MAX_VGPU_TYPES)
                        return nvv_fail(reterr_msg, "%s: %zu types, the most a GPU takes is %d", g->name, o->n_types,
                                        NVV_MAX_VGPU_TYPES);
                g->types = calloc(MAX(o->n_types, (size_t) 1), sizeof(*g->types));
                g->cat_types = calloc(MAX(o->n_types, (size_t) 1), sizeof(*g->cat_types));
                if (!g->types || !g->cat_types)
                        return -ENOMEM;
                memcpy(g->types, o->types, o->n_types * sizeof(*g->types));
                g->n_types = o->n_types;
                for (size_t i = 0; i < g->n_types; i++)
                        for (size_t k = 0; k < g->model->n_types && !g->cat_types[i]; k++)
                                if (g->model->types[k].type_id == g->types[i].type_id)
                                        g->cat_types[i] = &g->model->types[k];
                g->mode = o->mode == NVV_PARTITION_HETEROGENEOUS ? NVV_PARTITION_HETEROGENEOUS
                                                                 : NVV_PARTITION_HOMOGENEOUS;
                g->heterogeneous_timesliced = o->heterogeneous_timesliced;
                return 0;
        }
        r = nvv_policy_setup_gpu(g->policy, g->model, g->name, g->fw, -1, &setup);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s: the policy gives no settings for it", g->name);
        nvv_policy_pool_config(&setup, g->name, g->model, g->fw, g->numa_node, g->ecc, &cfg);
        r = nvv_pool_gpu_types(&cfg, &g->cat_types, &g->types, &g->n_types);
        if (r < 0)
                return r;
        g->mode = setup.mode;
        g->sched = setup.eff.sched;
        /* Mixed sizes may be enabled later (a policy reload) wherever the model has them. */
        g->heterogeneous_timesliced = g->model->mixed_size;
        return 0;
}

int nvv_pgpu_new(struct nvv_channel *ch, const struct nvv_pgpu_options *o, struct nvv_pgpu **ret,
                 char **reterr_msg)
{
        _cleanup_(nvv_channel_closep) struct nvv_channel *owned = ch;
        _cleanup_(nvv_pgpu_freep) struct nvv_pgpu *g = NULL;
        static const struct nvv_pgpu_options none = {};
        const struct nvv_channel_info *info;
        int r;

        assert_return(ch && ret, -EINVAL);
        if (!o)
                o = &none;
        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        pthread_mutex_init(&g->op_lock, NULL);
        pthread_mutex_init(&g->state_lock, NULL);
        g->ch = TAKE_PTR(owned);
        g->fw = nvv_channel_get_fwabi(ch);
        info = nvv_channel_get_info(ch);
        g->numa_node = -1;
        g->ecc = o->ecc;
        g->next_handle = 1;
        if (o->host) {
                snprintf(g->name, sizeof(g->name), "%s", o->host->bdf);
                g->model = o->host->model;
                g->numa_node = o->host->numa_node;
                g->pci_id = (uint32_t) o->host->device << 16 | o->host->vendor;
        } else {
                snprintf(g->name, sizeof(g->name), "%s", *info->bdf ? info->bdf : "gpu");
                g->model = find_model(o->catalog, info);
                g->pci_id = (uint32_t) info->device << 16 | info->vendor;
        }
        g->pci_bdf = parse_bdf(g->name);
        if (!g->model)
                return nvv_fail_errno(-ENOENT, reterr_msg, "%s: GPU model %s (%04x:%04x) is not in the GPU catalog",
                                      g->name, *info->model ? info->model : "unknown", info->vendor, info->device);
        if (o->policy)
                g->policy = o->policy;
        else {
                r = nvv_policy_new_default(&g->own_policy);
                if (r < 0)
                        return r;
                g->policy = g->own_policy;
        }
        g->vm = nvv_channel_get_vmgmt(ch);
        if (g->vm && (r = pgpu_up_setup(g, o, info, reterr_msg)) < 0)
                return r;
        r = setup_types(g, o, reterr_msg);
        if (r < 0)
                return r;
        r = pgpu_new_partition(g, &g->part, reterr_msg);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(g);
        return 0;
}

struct nvv_pgpu *nvv_pgpu_free(struct nvv_pgpu *g)
{
        if (!g)
                return NULL;
        nvv_channel_close(g->ch);
        nvv_partition_free(g->part);
        nvv_policy_free(g->own_policy);
        free(g->types);
        free(g->cat_types);
        free(g->error);
        pthread_mutex_destroy(&g->op_lock);
        pthread_mutex_destroy(&g->state_lock);
        free(g);
        return NULL;
}

int pgpu_new_partition(const struct nvv_pgpu *g, struct nvv_partition **ret, char **reterr_msg)
{
        struct nvv_partition_geometry geo;
        int r;

        r = nvv_partition_geometry_from_catalog(g->model, g->fw, g->ecc, &geo);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s (%s): no usable framebuffer under firmware %s", g->name,
                                      g->model->short_name, g->fw->release);
        return nvv_partition_new(&geo, ret);
}

const char *nvv_pgpu_get_name(const struct nvv_pgpu *g)
{
        return g ? g->name : NULL;
}

const struct nvv_catalog_gpu *nvv_pgpu_get_model(const struct nvv_pgpu *g)
{
        return g ? g->model : NULL;
}

const struct nvv_fwabi *nvv_pgpu_get_fwabi(const struct nvv_pgpu *g)
{
        return g ? g->fw : NULL;
}

struct nvv_channel *nvv_pgpu_get_channel(const struct nvv_pgpu *g)
{
        return g ? g->ch : NULL;
}

enum nvv_pgpu_state nvv_pgpu_get_state(const struct nvv_pgpu *g)
{
        struct nvv_pgpu *m = (struct nvv_pgpu *) g;

        assert_return(g, _NVV_PGPU_STATE_INVALID);
        PGPU_LOCK(l, &m->state_lock);
        return g->state;
}

char *nvv_pgpu_get_error(const struct nvv_pgpu *g)
{
        struct nvv_pgpu *m = (struct nvv_pgpu *) g;

        assert_return(g, NULL);
        PGPU_LOCK(l, &m->state_lock);
        return g->error ? strdup(g->error) : NULL;
}

void pgpu_set_error(struct nvv_pgpu *g, enum nvv_pgpu_state state, const char *msg)
{
        PGPU_LOCK(l, &g->state_lock);
        g->state = state;
        free(g->error);
        g->error = msg ? strdup(msg) : NULL;
}

int nvv_pgpu_get_init_info(const struct nvv_pgpu *g, struct nvv_pgpu_init_info *ret)
{
        struct nvv_pgpu *m = (struct nvv_pgpu *) g;

        assert_return(g && ret, -EINVAL);
        PGPU_LOCK(l, &m->state_lock);
        *ret = g->init;
        return 0;
}

bool pgpu_has(const struct nvv_pgpu *g, int cmd)
{
        return nvv_fwabi_command(g->fw, cmd) != NULL;
}

/*
 * After a command went unanswered, the firmware may still be working on it and answer late;
 * an answer nobody reads can fill the status queue and stall the firmware. So before the next
 * command, wait until the firmware answers a harmless one: the late answers are read (and
 * dropped by sequence number) on the way.
 */
static void pgpu_settle(struct nvv_pgpu *g)
{
        _cleanup_free_ union nvv_cmd_any *io = calloc(1, sizeof(*io));

        if (!io || !pgpu_has(g, NVV_CMD_GET_FEATURES))
                return;
        for (unsigned tries = 0; tries < 8; tries++) {
                char err[512] = "";
                uint32_t raw = 0;
                int r;

                memset(io, 0, sizeof(*io));
                r = nvv_channel_call(g->ch, NVV_CMD_GET_FEATURES, io, 0, NULL, &raw, err, sizeof(err));
                if (r >= 0 || raw != 0) { /* any verdict means the firmware is listening again */
                        g->unsettled = false;
                        return;
                }
                log_debug("GPU %s: waiting for the firmware: %s", g->name, err);
        }
}

int pgpu_call(struct nvv_pgpu *g, const char *step, int cmd, void *io, uint32_t gfid, const struct nvv_handles *target,
              enum nvv_fw_status *ret_status, uint32_t *ret_raw, char **reterr_msg)
{
        const struct nvv_status *st;
        uint32_t raw = 0;
        char err[512] = "";
        int r;

        if (g->unsettled)
                pgpu_settle(g);
        r = nvv_channel_call(g->ch, cmd, io, gfid, target, &raw, err, sizeof(err));
        /* No verdict: a timeout, a bad reply or a reset; the next command settles first. */
        g->unsettled = r < 0 && raw == 0 && r != -EOPNOTSUPP && r != -EINVAL && r != -ENOMEM;
        if (ret_raw)
                *ret_raw = r < 0 ? raw : 0;
        if (ret_status)
                *ret_status = NVV_FW_OK;
        if (r >= 0)
                return 0;
        /* A refusal carries a status; a timeout or a bad reply does not. */
        st = raw ? nvv_fwabi_status(g->fw, raw) : NULL;
        if (st && ret_status) {
                enum nvv_fw_status s = nvv_fw_status_from_string(st->name);

                /* A status outside the model's few still is a refusal, not success. */
                *ret_status = s >= 0 ? s : NVV_FW_INVALID_STATE;
        }
        /* The channel's message names the command and the GPU already. */
        if (*err)
                return nvv_fail_errno(r, reterr_msg, "%s: %s", step, err);
        return nvv_fail_errno(r, reterr_msg, "%s on GPU %s: %s", step, g->name, strerror(-r));
}

const struct nvv_catalog_type *pgpu_catalog_type(const struct nvv_pgpu *g, uint32_t type_id)
{
        for (size_t i = 0; i < g->model->n_types; i++)
                if (g->model->types[i].type_id == type_id)
                        return &g->model->types[i];
        return NULL;
}

void pgpu_install_adopted(struct nvv_pgpu *g, struct nvv_partition *part, const struct vgpu_rec *recs, size_t n)
{
        PGPU_LOCK(l, &g->state_lock);

        nvv_partition_free(g->part);
        g->part = part;
        memcpy(g->vgpus, recs, n * sizeof(recs[0]));
        g->n = n;
        g->state = NVV_PGPU_READY;
        free(g->error);
        g->error = NULL;
        g->init = (struct nvv_pgpu_init_info) { .mode = g->mode, .n_types = g->n_types };
}

struct vgpu_rec *pgpu_find(struct nvv_pgpu *g, const char *name)
{
        for (size_t i = 0; i < g->n; i++)
                if (streq(g->vgpus[i].pub.name, name))
                        return &g->vgpus[i];
        return NULL;
}

void pgpu_remove(struct nvv_pgpu *g, struct vgpu_rec *v)
{
        size_t i = (size_t) (v - g->vgpus);

        memmove(&g->vgpus[i], &g->vgpus[i + 1], (g->n - i - 1) * sizeof(g->vgpus[0]));
        g->n--;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        c = (char) (c | 0x20);
        return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int pgpu_fw_name(const char *name, uint8_t out[16])
{
        size_t len = name ? strlen(name) : 0;

        memset(out, 0, 16);
        if (len == 0 || len >= NVV_PARTITION_NAME_MAX)
                return -EINVAL;
        /* A UUID in its 8-4-4-4-12 text form is the mdev's, and the firmware holds its 16 bytes. */
        if (len == 36 && name[8] == '-' && name[13] == '-' && name[18] == '-' && name[23] == '-') {
                size_t k = 0;

                for (size_t i = 0; i < 36; i++) {
                        int hi, lo;

                        if (i == 8 || i == 13 || i == 18 || i == 23)
                                continue;
                        hi = hexval(name[i]);
                        lo = hexval(name[i + 1]);
                        if (hi < 0 || lo < 0)
                                return -EINVAL;
                        out[k++] = (uint8_t) (hi << 4 | lo);
                        i++;
                }
                return 0;
        }
        /* Anything else (a VF's address) is carried as text, and must fit. */
        if (len > 16)
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) name[i] < 0x21 || (unsigned char) name[i] > 0x7e)
                        return -EINVAL;
        memcpy(out, name, len);
        return 0;
}

/* ---- snapshots ---- */

size_t nvv_pgpu_count(const struct nvv_pgpu *g)
{
        struct nvv_pgpu *m = (struct nvv_pgpu *) g;

        if (!g)
                return 0;
        PGPU_LOCK(l, &m->state_lock);
        return g->n;
}

int nvv_pgpu_get_vgpu(const struct nvv_pgpu *g, size_t i, struct nvv_pgpu_vgpu *ret)
{
        struct nvv_pgpu *m = (struct nvv_pgpu *) g;

        assert_return(g && ret, -EINVAL);
        PGPU_LOCK(l, &m->state_lock);
        if (i >= g->n)
                return -ENOENT;
        *ret = g->vgpus[i].pub;
        return 0;
}

int nvv_pgpu_find_vgpu(const struct nvv_pgpu *g, const char *name, struct nvv_pgpu_vgpu *ret)
{
        struct nvv_pgpu *m = (struct nvv_pgpu *) g;
        struct vgpu_rec *v;

        assert_return(g && name, -EINVAL);
        PGPU_LOCK(l, &m->state_lock);
        v = pgpu_find(m, name);
        if (!v)
                return -ENOENT;
        if (ret)
                *ret = v->pub;
        return 0;
}

unsigned nvv_pgpu_available(const struct nvv_pgpu *g, uint32_t type_id)
{
        struct nvv_pgpu *m = (struct nvv_pgpu *) g;

        if (!g)
                return 0;
        PGPU_LOCK(l, &m->state_lock);
        return g->state == NVV_PGPU_READY ? nvv_partition_available(g->part, type_id) : 0;
}

int nvv_pgpu_clone_partition(const struct nvv_pgpu *g, struct nvv_partition **ret)
{
        struct nvv_pgpu *m = (struct nvv_pgpu *) g;

        assert_return(g && ret, -EINVAL);
        PGPU_LOCK(l, &m->state_lock);
        return nvv_partition_clone(g->part, ret);
}

/* The GPU and every vGPU are LOST (state_lock held): what the firmware held is gone. */
static void set_lost_locked(struct nvv_pgpu *g, const char *why)
{
        g->state = NVV_PGPU_LOST;
        free(g->error);
        g->error = strdup(why);
        for (size_t i = 0; i < g->n; i++)
                g->vgpus[i].pub.state = NVV_VGPU_LOST;
}

/* ---- events ---- */

static void on_event(void *userdata, struct nvv_channel *ch, int event, const union nvv_cmd_any *payload,
                     uint32_t number)
{
        struct nvv_pgpu *g = userdata;

        (void) ch;
        (void) number;
        {
                PGPU_LOCK(l, &g->state_lock);

                if (event == NVV_EVENT_GSP_RESET)
                        /* The firmware forgot its type table and every vGPU: never forget them here. */
                        set_lost_locked(g, "the GSP reset; the GPU must be brought up again");
                else if (event == NVV_EVENT_PLUGIN && payload->event_plugin.notify == NVV_NOTIFY_CRASHED) {
                        for (size_t i = 0; i < g->n; i++)
                                if (g->vgpus[i].pub.gfid == payload->event_plugin.gfid &&
                                    g->vgpus[i].pub.state == NVV_VGPU_RUNNING)
                                        g->vgpus[i].pub.state = NVV_VGPU_CRASHED;
                }
        }
        if (g->event_fn)
                g->event_fn(g->event_userdata, g, event, payload);
}

int nvv_pgpu_set_lost(struct nvv_pgpu *g, const char *why)
{
        assert_return(g && why, -EINVAL);
        PGPU_LOCK(l, &g->state_lock);
        set_lost_locked(g, why);
        return 0;
}

int nvv_pgpu_subscribe(struct nvv_pgpu *g, nvv_pgpu_event_fn fn, void *userdata, char **reterr_msg)
{
        char err[512] = "";
        int r;

        assert_return(g, -EINVAL);
        g->event_fn = fn;
        g->event_userdata = userdata;
        r = nvv_channel_subscribe(g->ch, on_event, g, err, sizeof(err));
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "GPU %s: cannot receive firmware events: %s", g->name, err);
        return 0;
}

int nvv_pgpu_get_fd(const struct nvv_pgpu *g)
{
        return g ? nvv_channel_get_fd(g->ch) : -EINVAL;
}

int nvv_pgpu_process(struct nvv_pgpu *g)
{
        assert_return(g, -EINVAL);
        return nvv_channel_process(g->ch);
}

int nvv_pgpu_get_numa_node(const struct nvv_pgpu *g)
{
        return g ? g->numa_node : -1;
}

bool nvv_pgpu_get_ecc(const struct nvv_pgpu *g)
{
        return g && g->ecc;
}

uint32_t nvv_pgpu_get_host_handle(const struct nvv_pgpu *g, const char *name)
{
        struct nvv_pgpu *m = (struct nvv_pgpu *) g; /* the lock is not the object's state */
        struct vgpu_rec *v;

        if (!g || !name)
                return 0;
        PGPU_LOCK(l, &m->state_lock);
        v = pgpu_find(m, name);
        return v && v->pub.state == NVV_VGPU_RUNNING ? v->host_handle : 0;
}
