/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "nvv-channel.h"
#include "nvv-evqueue.h"
#include "nvv-msgq.h"
#include "nvv-simproto.h"
#include "util.h"

#define MAX_INFO_JSON (1u << 20)

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
};

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

int nvv_channel_call(struct nvv_channel *ch, int cmd, void *stable, uint32_t gfid, const struct nvv_handles *target,
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

int nvv_channel_open(const struct nvv_channel_info *info, const struct nvv_transport *t, void *userdata,
                     const struct nvv_fwdb *db, struct nvv_channel **ret, char **reterr_msg)
{
        _cleanup_(nvv_channel_closep) struct nvv_channel *ch = NULL;
        _cleanup_free_ char *msg = NULL;
        struct nvv_cmd_get_features f = {};
        char err[512];
        int r;

        ch = calloc(1, sizeof(*ch));
        if (!ch) {
                t->close(userdata);
                return -ENOMEM;
        }
        ch->t = t;
        ch->ud = userdata;
        ch->info = *info;
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

/* ---- the simulator's socket ---- */

struct sim_transport {
        int fd;
        uint32_t gpu;
        struct nvv_simproto_rx rx;
        struct nvv_evqueue events;
};

static int sim_connect(const char *path, char **reterr)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return nvv_fail(reterr, "socket path '%s' is too long", path);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = errno;

                close(fd);
                nvv_fail(reterr, "cannot reach the simulator at '%s': %s", path, strerror(e));
                return -e;
        }
        return fd;
}

/* Wait for the message answering `tag`, queueing events that arrive meanwhile and dropping
 * answers to earlier requests (a timed-out RPC's late answer, say). */
static int sim_wait(struct sim_transport *s, uint16_t want, uint32_t tag, int timeout_ms, char *err, size_t errlen)
{
        uint64_t deadline = timeout_ms >= 0 ? now_ns() + (uint64_t) timeout_ms * 1000000u : UINT64_MAX;

        for (;;) {
                uint64_t now = now_ns();
                int r, left = deadline == UINT64_MAX ? -1 : now >= deadline ? 0 : (int) ((deadline - now + 999999) / 1000000);

                r = nvv_simproto_recv(s->fd, &s->rx, left, err, errlen);
                if (r < 0)
                        return r;
                if (s->rx.first.type == NVV_SIMPROTO_EVENT) {
                        (void) nvv_evqueue_push(&s->events, s->rx.data, s->rx.have);
                        continue;
                }
                if (s->rx.first.tag != tag)
                        continue;
                if (s->rx.first.type == NVV_SIMPROTO_ERROR) {
                        uint32_t e;

                        if (s->rx.have < 4) {
                                nvv_errf(err, errlen, "malformed error from the simulator");
                                return -EBADMSG;
                        }
                        e = (uint32_t) s->rx.data[0] | (uint32_t) s->rx.data[1] << 8 | (uint32_t) s->rx.data[2] << 16 |
                            (uint32_t) s->rx.data[3] << 24;
                        nvv_errf(err, errlen, "%.*s", (int) MIN(s->rx.have - 4, (size_t) 400), (const char *) s->rx.data + 4);
                        return e > 0 && e < 4096 ? -(int) e : -EIO;
                }
                if (s->rx.first.type != want) {
                        nvv_errf(err, errlen, "expected %s, the simulator sent %s", nvv_simproto_type_to_string(want),
                             nvv_simproto_type_to_string(s->rx.first.type));
                        return -EPROTO;
                }
                return 0;
        }
}

static int sim_rpc(void *userdata, const void *req, size_t len, uint32_t sequence, int timeout_ms, void *reply,
                   size_t reply_cap, size_t *ret_len, char *err, size_t errlen)
{
        struct sim_transport *s = userdata;
        int r;

        r = nvv_simproto_send(s->fd, NVV_SIMPROTO_RPC, s->gpu, sequence, timeout_ms > 0 ? (uint32_t) timeout_ms : 0, req,
                              len, false);
        if (r < 0) {
                nvv_errf(err, errlen, "cannot send to the simulator: %s", strerror(-r));
                return r;
        }
        r = sim_wait(s, NVV_SIMPROTO_REPLY, sequence, timeout_ms, err, errlen);
        if (r < 0)
                return r;
        if (s->rx.have > reply_cap) {
                nvv_errf(err, errlen, "answer of %zu bytes is larger than the %zu expected", s->rx.have, reply_cap);
                return -EBADMSG;
        }
        memcpy(reply, s->rx.data, s->rx.have);
        *ret_len = s->rx.have;
        return 0;
}

static int sim_subscribe(void *userdata, char *err, size_t errlen)
{
        struct sim_transport *s = userdata;
        static uint32_t tag = 0x80000000u;
        uint32_t t = __atomic_add_fetch(&tag, 1, __ATOMIC_RELAXED);
        int r;

        r = nvv_simproto_send(s->fd, NVV_SIMPROTO_SUBSCRIBE, s->gpu, t, 0, NULL, 0, false);
        if (r < 0)
                return r;
        return sim_wait(s, NVV_SIMPROTO_ACK, t, 5000, err, errlen);
}

static int sim_get_fd(void *userdata)
{
        return ((struct sim_transport *) userdata)->fd;
}

static int sim_next_event(void *userdata, uint8_t **ret_rpc, size_t *ret_len)
{
        struct sim_transport *s = userdata;
        char err[128];

        /* Pull in whatever is waiting on the socket, then hand out the oldest event. */
        while (!nvv_evqueue_full(&s->events)) {
                int r = nvv_simproto_recv(s->fd, &s->rx, 0, err, sizeof(err));

                if (r < 0)
                        break;
                if (s->rx.first.type == NVV_SIMPROTO_EVENT)
                        (void) nvv_evqueue_push(&s->events, s->rx.data, s->rx.have);
        }
        return nvv_evqueue_pop(&s->events, ret_rpc, ret_len);
}

static void sim_close(void *userdata)
{
        struct sim_transport *s = userdata;

        if (!s)
                return;
        safe_close(s->fd);
        nvv_simproto_rx_done(&s->rx);
        nvv_evqueue_clear(&s->events);
        free(s);
}

static const struct nvv_transport sim_transport_ops = {
        .name = "sim",
        .rpc = sim_rpc,
        .subscribe = sim_subscribe,
        .get_fd = sim_get_fd,
        .next_event = sim_next_event,
        .close = sim_close,
};

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
#undef STR
#undef INT
        }
        *ret = TAKE_PTR(infos);
        *ret_n = n;
out:
        json_object_put(root);
        return r;
}

int nvv_channel_list_sim(const char *socket_path, struct nvv_channel_info **ret, size_t *ret_n, char **reterr_msg)
{
        struct nvv_simproto_rx rx;
        char err[256];
        int fd, r;

        fd = sim_connect(socket_path, reterr_msg);
        if (fd < 0)
                return fd;
        nvv_simproto_rx_init(&rx, MAX_INFO_JSON);
        r = nvv_simproto_send(fd, NVV_SIMPROTO_HELLO, NVV_SIMPROTO_ALL_GPUS, 1, 0, NULL, 0, false);
        if (r >= 0)
                do
                        r = nvv_simproto_recv(fd, &rx, 5000, err, sizeof(err));
                while (r >= 0 && rx.first.type == NVV_SIMPROTO_EVENT);
        if (r < 0)
                nvv_fail(reterr_msg, "the simulator at '%s' did not answer hello: %s", socket_path, err);
        else if (rx.first.type != NVV_SIMPROTO_INFO)
                r = nvv_fail(reterr_msg, "the simulator at '%s' answered hello with %s", socket_path,
                         nvv_simproto_type_to_string(rx.first.type));
        else
                r = parse_info(rx.data, rx.have, ret, ret_n, reterr_msg);
        nvv_simproto_rx_done(&rx);
        close(fd);
        return r;
}

int nvv_channel_open_sim(const char *socket_path, uint32_t gpu, const struct nvv_fwdb *db, struct nvv_channel **ret,
                         char **reterr_msg)
{
        _cleanup_free_ struct nvv_channel_info *infos = NULL;
        struct sim_transport *s;
        size_t n = 0;
        int r;

        r = nvv_channel_list_sim(socket_path, &infos, &n, reterr_msg);
        if (r < 0)
                return r;
        if (gpu >= n)
                return nvv_fail(reterr_msg, "the simulator at '%s' has %zu GPU%s; there is no GPU %u", socket_path, n,
                            n == 1 ? "" : "s", gpu);
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->gpu = gpu;
        nvv_simproto_rx_init(&s->rx, NVV_SIMPROTO_MAX_PAYLOAD);
        s->fd = sim_connect(socket_path, reterr_msg);
        if (s->fd < 0) {
                r = s->fd;
                s->fd = -EBADF;
                sim_close(s);
                return r;
        }
        return nvv_channel_open(&infos[gpu], &sim_transport_ops, s, db, ret, reterr_msg);
}
