/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nvv-channel.h"
#include "nvv-msgq.h"
#include "util.h"

struct nvv_channel {
        struct nvv_channel_info info;
        const struct nvv_fwabi *fw;
        const struct nvv_transport *t;
        void *ud;
        uint32_t seq;
        int timeout_override;
        uint8_t *req;
        size_t req_cap;
        uint8_t *reply;
        size_t reply_cap;
        nvv_channel_event_fn event_fn;
        void *event_ud;
        union nvv_cmd_any *scratch;
        uint64_t events_unmapped;
        const struct nvv_vmgmt *vm;
};

const struct nvv_vmgmt *nvv_channel_get_vmgmt(const struct nvv_channel *ch)
{
        return ch->vm;
}

const struct nvv_channel_info *nvv_channel_get_info(const struct nvv_channel *ch)
{
        return &ch->info;
}

const struct nvv_fwabi *nvv_channel_get_fwabi(const struct nvv_channel *ch)
{
        return ch->fw;
}

void nvv_channel_set_timeout(struct nvv_channel *ch, int timeout_ms)
{
        ch->timeout_override = timeout_ms;
}

static int reserve(uint8_t **buf, size_t *cap, size_t n)
{
        uint8_t *b;

        if (n <= *cap)
                return 0;
        b = realloc(*buf, n);
        if (!b)
                return -ENOMEM;
        *buf = b;
        *cap = n;
        return 0;
}

/*
 * The few large commands (the type upload, some 700 KB, sent once per bring-up) need buffers
 * that no other command does. A channel does not keep them: a host of many GPUs would hold two
 * per GPU for its whole life (16 GPUs: some 21 MiB of RSS, measured by bench-daemon). Nor are
 * they freed outright: then every upload mallocs and faults in fresh pages, which made the
 * upload 5x its floor (bench-channel). The process keeps one spare request buffer and one
 * spare reply buffer instead, the largest given back, for the next large call of any channel
 * (the next GPU's bring-up, a re-upload after a reset): at most 2 x SPARE_MAX bytes per
 * process, however many GPUs.
 */
#define KEEP_BUFFER (256u * 1024u)
#define SPARE_MAX (2u * 1024u * 1024u)  /* NVV_FWCTL_MAX_RPC_LEN: no message is larger */

struct spare {
        uint8_t *buf;
        size_t cap;
};

static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static struct spare spare_req, spare_reply;

/* The spare into *buf if it is large enough for n bytes and *buf is not. */
static void spare_take(struct spare *sp, uint8_t **buf, size_t *cap, size_t n)
{
        if (n <= *cap || n <= KEEP_BUFFER)
                return;
        pthread_mutex_lock(&spare_lock);
        if (sp->cap >= n) {
                free(*buf);
                *buf = sp->buf;
                *cap = sp->cap;
                *sp = (struct spare) {};
        }
        pthread_mutex_unlock(&spare_lock);
}

/* A large *buf back: kept as the spare if there is none as large, else freed. */
static void spare_give(struct spare *sp, uint8_t **buf, size_t *cap)
{
        uint8_t *drop = *buf;

        if (*cap <= KEEP_BUFFER)
                return;
        pthread_mutex_lock(&spare_lock);
        if (*cap <= SPARE_MAX && *cap > sp->cap) {
                drop = sp->buf;
                *sp = (struct spare) { *buf, *cap };
        }
        pthread_mutex_unlock(&spare_lock);
        free(drop);
        *buf = NULL;
        *cap = 0;
}

/* For leak checkers: the spares are not lost at exit. */
__attribute__((destructor)) static void spare_free_all(void)
{
        pthread_mutex_lock(&spare_lock);
        free(spare_req.buf);
        free(spare_reply.buf);
        spare_req = spare_reply = (struct spare) {};
        pthread_mutex_unlock(&spare_lock);
}

static int channel_call(struct nvv_channel *ch, int cmd, void *stable, uint32_t gfid, const struct nvv_handles *target,
                     uint32_t *reterr_fw_status, char *err, size_t errlen)
{
        const struct nvv_binding *b;
        struct nvv_handles h;
        char why[512] = "";
        size_t len, rlen = 0, need;
        uint32_t seq;
        int r, timeout;

        assert_return(ch && stable, -EINVAL);
        b = nvv_fwabi_command(ch->fw, cmd);
        if (!b) {
                nvv_errf(err, errlen, "'%s' is not supported by firmware %s (GPU %s)", nvv_cmd_to_string(cmd) ?: "?",
                     ch->fw->release, ch->info.bdf);
                return -EOPNOTSUPP;
        }
        h = ch->info.handles;
        if (target) {
                h.host_vgpu_device = target->host_vgpu_device;
                h.new_object = target->new_object;
        }
        need = nvv_rpc_size(ch->fw, cmd);
        spare_take(&spare_req, &ch->req, &ch->req_cap, need);
        spare_take(&spare_reply, &ch->reply, &ch->reply_cap, MAX(need, (size_t) 65536));
        /* The firmware answers a control with its params, so the answer is as large as the request. */
        if (reserve(&ch->req, &ch->req_cap, need) < 0 || reserve(&ch->reply, &ch->reply_cap, MAX(need, (size_t) 65536)) < 0)
                return -ENOMEM;
        seq = ch->seq++;
        r = nvv_rpc_encode_command(ch->fw, cmd, stable, &h, seq, gfid, ch->req, ch->req_cap, &len, why, sizeof(why));
        if (r < 0) {
                nvv_errf(err, errlen, "'%s' for GPU %s: %s", b->name, ch->info.bdf, why);
                return r;
        }
        timeout = ch->timeout_override >= 0 ? ch->timeout_override : (int) b->timeout_ms;
        r = ch->t->rpc(ch->ud, ch->req, len, seq, timeout, ch->reply, ch->reply_cap, &rlen, why, sizeof(why));
        if (r == -ETIMEDOUT) {
                nvv_errf(err, errlen, "'%s' to GPU %s (firmware %s) timed out: no answer within %d ms", b->name, ch->info.bdf,
                     ch->fw->release, timeout);
                return r;
        }
        if (r < 0) {
                nvv_errf(err, errlen, "'%s' to GPU %s (firmware %s) failed: %s", b->name, ch->info.bdf, ch->fw->release,
                     why[0] ? why : strerror(-r));
                return r;
        }
        r = nvv_rpc_decode_reply(ch->fw, cmd, ch->reply, rlen, seq, stable, reterr_fw_status, why, sizeof(why));
        if (r < 0)
                nvv_errf(err, errlen, "'%s' on GPU %s: %s", b->name, ch->info.bdf, why);
        return r;
}

int nvv_channel_call(struct nvv_channel *ch, int cmd, void *stable, uint32_t gfid, const struct nvv_handles *target,
                     uint32_t *reterr_fw_status, char *err, size_t errlen)
{
        int r = channel_call(ch, cmd, stable, gfid, target, reterr_fw_status, err, errlen);

        if (ch) {
                spare_give(&spare_req, &ch->req, &ch->req_cap);
                spare_give(&spare_reply, &ch->reply, &ch->reply_cap);
        }
        return r;
}

static void dispatch_event(struct nvv_channel *ch, const uint8_t *rpc, size_t len)
{
        uint32_t number = 0;
        int event, r;
        char why[256];

        r = nvv_rpc_decode_event(ch->fw, rpc, len, &event, &number, ch->scratch, why, sizeof(why));
        if (r < 0) {
                ch->events_unmapped++;
                log_debug("GPU %s: event not delivered: %s", ch->info.bdf, why);
                return;
        }
        if (ch->event_fn)
                ch->event_fn(ch->event_ud, ch, event, ch->scratch, number);
}

int nvv_channel_subscribe(struct nvv_channel *ch, nvv_channel_event_fn fn, void *userdata, char *err, size_t errlen)
{
        int r;

        if (!ch->t->subscribe) {
                nvv_errf(err, errlen, "the %s transport carries no events", ch->t->name);
                return -EOPNOTSUPP;
        }
        r = ch->t->subscribe(ch->ud, err, errlen);
        if (r < 0)
                return r;
        ch->event_fn = fn;
        ch->event_ud = userdata;
        return 0;
}

int nvv_channel_get_fd(const struct nvv_channel *ch)
{
        return ch->t->get_fd ? ch->t->get_fd(ch->ud) : -1;
}

int nvv_channel_process(struct nvv_channel *ch)
{
        int n = 0;

        if (!ch->t->next_event)
                return 0;
        for (;;) {
                _cleanup_free_ uint8_t *rpc = NULL;
                size_t len;
                int r = ch->t->next_event(ch->ud, &rpc, &len);

                if (r <= 0)
                        return r < 0 ? r : n;
                dispatch_event(ch, rpc, len);
                n++;
        }
}

int nvv_channel_host_rpc(struct nvv_channel *ch, uint32_t gfid, const char *message, char *err, size_t errlen)
{
        uint32_t number, result = 0;
        char e[256] = "";
        int r;

        assert_return(ch && message, -EINVAL);
        if (nvv_fwabi_host_msg_value(ch->fw, message, &number) < 0) {
                nvv_errf(err, errlen, "GPU %s: firmware %s's description names no host RPC message %s", ch->info.bdf,
                         ch->fw->release, message);
                return -EOPNOTSUPP;
        }
        if (!ch->t->host_rpc) {
                nvv_errf(err, errlen, "GPU %s: the %s transport has no host RPC channel to send %s on", ch->info.bdf,
                         ch->t->name, message);
                return -EOPNOTSUPP;
        }
        r = ch->t->host_rpc(ch->ud, gfid, number, ch->timeout_override >= 0 ? ch->timeout_override : ch->fw->host_rpc_timeout_ms,
                            &result, e, sizeof(e));
        if (r < 0) {
                nvv_errf(err, errlen, "GPU %s: host RPC %s to gfid %" PRIu32 ": %s", ch->info.bdf, message, gfid,
                         e[0] ? e : strerror(-r));
                return r;
        }
        if (result != 0) {
                nvv_errf(err, errlen, "GPU %s: the plugin of gfid %" PRIu32 " answered %s with result %" PRIu32,
                         ch->info.bdf, gfid, message, result);
                return -EIO;
        }
        return 0;
}

int nvv_channel_measure_rtt(struct nvv_channel *ch, unsigned n, uint64_t *ret_ns, char *err, size_t errlen)
{
        _cleanup_free_ uint64_t *t = calloc(n ? n : 1, sizeof(uint64_t));
        struct nvv_cmd_get_features f;
        int r;

        if (!t || n == 0)
                return -EINVAL;
        for (unsigned i = 0; i < n; i++) {
                uint64_t s = now_ns();

                memset(&f, 0, sizeof(f));
                if (ch->vm) { /* the upstream interface: its lightest read */
                        struct nvv_vmgmt_io io = {};

                        r = nvv_channel_vmgmt_call(ch, NVV_VMGMT_QUERY_SUPPORTED, &io, NULL, err, errlen);
                } else
                        r = nvv_channel_call(ch, NVV_CMD_GET_FEATURES, &f, 0, NULL, NULL, err, errlen);
                if (r < 0)
                        return r;
                t[i] = now_ns() - s;
        }
        for (unsigned i = 1; i < n; i++)
                for (unsigned j = i; j > 0 && t[j - 1] > t[j]; j--) {
                        uint64_t x = t[j];

                        t[j] = t[j - 1];
                        t[j - 1] = x;
                }
        *ret_ns = t[n / 2];
        return 0;
}

struct nvv_channel *nvv_channel_close(struct nvv_channel *ch)
{
        if (!ch)
                return NULL;
        if (ch->t && ch->t->close)
                ch->t->close(ch->ud);
        free(ch->req);
        free(ch->reply);
        free(ch->scratch);
        free(ch);
        return NULL;
}

/* A channel over t, owning userdata (closed here when there is no memory for it). */
static struct nvv_channel *channel_alloc(const struct nvv_channel_info *info, const struct nvv_transport *t,
                                         void *userdata)
{
        struct nvv_channel *ch = calloc(1, sizeof(*ch));

        if (!ch) {
                t->close(userdata);
                return NULL;
        }
        ch->t = t;
        ch->ud = userdata;
        ch->info = *info;
        return ch;
}

int nvv_channel_open(const struct nvv_channel_info *info, const struct nvv_transport *t, void *userdata,
                     const struct nvv_fwdb *db, struct nvv_channel **ret, char **reterr_msg)
{
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        _cleanup_free_ char *msg = NULL;
        struct nvv_cmd_get_features f = {};
        char err[512];
        int r;

        ch = channel_alloc(info, t, userdata);
        if (!ch)
                return -ENOMEM;
        ch->timeout_override = -1;
        ch->seq = 1;
        ch->scratch = malloc(sizeof(*ch->scratch));
        if (!ch->scratch)
                return -ENOMEM;
        ch->fw = nvv_fwdb_match(db, info->release, &msg);
        if (!ch->fw)
                return nvv_fail(reterr_msg, "GPU %s: %s", info->bdf, msg ? msg : "unknown firmware release");
        /* Ask the firmware itself, through the description just chosen: it must agree. */
        if (nvv_fwabi_command(ch->fw, NVV_CMD_GET_FEATURES)) {
                r = nvv_channel_call(ch, NVV_CMD_GET_FEATURES, &f, 0, NULL, NULL, err, sizeof(err));
                if (r < 0) {
                        nvv_fail(reterr_msg, "%s", err);
                        return r;
                }
                if (f.valid && f.firmware_version[0] && !streq(f.firmware_version, info->release))
                        return nvv_fail(reterr_msg, "GPU %s: the transport reports firmware %s but the firmware says %s",
                                    info->bdf, info->release, f.firmware_version);
        }
        *ret = TAKE_PTR(ch);
        return 0;
}

int nvv_channel_open_vmgmt(const struct nvv_channel_info *info, const struct nvv_transport *t, void *userdata,
                           const struct nvv_vmgmt *vm, struct nvv_channel **ret, char **reterr_msg)
{
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;

        (void) reterr_msg;
        ch = channel_alloc(info, t, userdata);
        if (!ch)
                return -ENOMEM;
        ch->info.vmgmt = true;
        snprintf(ch->info.vmgmt_revision, sizeof(ch->info.vmgmt_revision), "%s", nvv_vmgmt_get_revision(vm));
        snprintf(ch->info.release, sizeof(ch->info.release), "%s", nvv_vmgmt_get_revision(vm));
        ch->timeout_override = -1;
        ch->vm = vm;
        ch->fw = nvv_vmgmt_get_fwabi(vm);
        ch->scratch = malloc(sizeof(*ch->scratch));
        if (!ch->scratch)
                return -ENOMEM;
        *ret = TAKE_PTR(ch);
        return 0;
}

int nvv_channel_vmgmt_call(struct nvv_channel *ch, int cmd, struct nvv_vmgmt_io *io, struct nvv_vmgmt_result *res,
                           char *err, size_t errlen)
{
        struct nvv_vmgmt_result dummy;
        char why[512] = "";
        size_t len = 0, rlen = 0, cap;
        int r;

        assert_return(ch && io, -EINVAL);
        if (!res)
                res = &dummy;
        *res = (struct nvv_vmgmt_result) {};
        if (!ch->vm) {
                nvv_errf(err, errlen, "GPU %s offers RPCs, not the upstream vGPU-management interface", ch->info.bdf);
                return -EOPNOTSUPP;
        }
        /* A request is the header and at most a type's properties; a reply at most the cap. */
        cap = nvv_vmgmt_get_header_size(ch->vm) + MAX((size_t) nvv_vmgmt_get_max_reply(ch->vm), (size_t) 4096);
        if (reserve(&ch->req, &ch->req_cap, cap) < 0 || reserve(&ch->reply, &ch->reply_cap, cap) < 0)
                return -ENOMEM;
        r = nvv_vmgmt_encode_request(ch->vm, cmd, io, ch->req, ch->req_cap, &len, why, sizeof(why));
        if (r < 0) {
                nvv_errf(err, errlen, "%s for GPU %s: %s", nvv_vmgmt_cmd_to_string(cmd) ?: "?", ch->info.bdf,
                         why[0] ? why : strerror(-r));
                return r;
        }
        r = ch->t->rpc(ch->ud, ch->req, len, 0, ch->timeout_override, ch->reply, ch->reply_cap, &rlen, why, sizeof(why));
        if (r < 0 && r != -EIO && r != -EPERM) {
                nvv_errf(err, errlen, "%s to GPU %s (interface %s) failed: %s", nvv_vmgmt_cmd_to_string(cmd) ?: "?",
                         ch->info.bdf, nvv_vmgmt_get_revision(ch->vm), why[0] ? why : strerror(-r));
                return r;
        }
        r = nvv_vmgmt_decode_reply(ch->vm, cmd, r, ch->reply, rlen, io, res, why, sizeof(why));
        if (r < 0)
                nvv_errf(err, errlen, "GPU %s: %s", ch->info.bdf, why);
        return r;
}
