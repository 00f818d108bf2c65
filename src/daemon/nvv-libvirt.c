/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nvvgpud's libvirt client: lifecycle events, reconnection with backoff. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "nvv-libvirt.h"
#include "util.h"

/* libvirt is loaded when a connection is asked for (dlopen), not linked: nvvgpud runs, and
 * stays small, on a host without it; --libvirt then says it is absent. Its headers still give
 * the types and constants. */
static struct {
        __typeof__(virEventRegisterDefaultImpl) *virEventRegisterDefaultImpl;
        __typeof__(virEventRunDefaultImpl) *virEventRunDefaultImpl;
        __typeof__(virEventAddHandle) *virEventAddHandle;
        __typeof__(virEventRemoveHandle) *virEventRemoveHandle;
        __typeof__(virEventAddTimeout) *virEventAddTimeout;
        __typeof__(virEventRemoveTimeout) *virEventRemoveTimeout;
        __typeof__(virConnectOpen) *virConnectOpen;
        __typeof__(virConnectClose) *virConnectClose;
        __typeof__(virConnectRegisterCloseCallback) *virConnectRegisterCloseCallback;
        __typeof__(virConnectDomainEventRegisterAny) *virConnectDomainEventRegisterAny;
        __typeof__(virConnectDomainEventDeregisterAny) *virConnectDomainEventDeregisterAny;
        __typeof__(virConnectListAllDomains) *virConnectListAllDomains;
        __typeof__(virDomainGetName) *virDomainGetName;
        __typeof__(virDomainFree) *virDomainFree;
        __typeof__(virGetLastError) *virGetLastError;
        __typeof__(virSetErrorFunc) *virSetErrorFunc;
        __typeof__(virConnectIsAlive) *virConnectIsAlive;
} lv;

static void load_once(void)
{
        /* The soname of libvirt's C library (libvirt 7 and later keep it). */
        void *h = dlopen("libvirt.so.0", RTLD_NOW | RTLD_LOCAL);

        if (!h)
                return;
        lv.virEventRegisterDefaultImpl = dlsym(h, "virEventRegisterDefaultImpl");
        lv.virEventRunDefaultImpl = dlsym(h, "virEventRunDefaultImpl");
        lv.virEventAddHandle = dlsym(h, "virEventAddHandle");
        lv.virEventRemoveHandle = dlsym(h, "virEventRemoveHandle");
        lv.virEventAddTimeout = dlsym(h, "virEventAddTimeout");
        lv.virEventRemoveTimeout = dlsym(h, "virEventRemoveTimeout");
        lv.virConnectOpen = dlsym(h, "virConnectOpen");
        lv.virConnectClose = dlsym(h, "virConnectClose");
        lv.virConnectRegisterCloseCallback = dlsym(h, "virConnectRegisterCloseCallback");
        lv.virConnectDomainEventRegisterAny = dlsym(h, "virConnectDomainEventRegisterAny");
        lv.virConnectDomainEventDeregisterAny = dlsym(h, "virConnectDomainEventDeregisterAny");
        lv.virConnectListAllDomains = dlsym(h, "virConnectListAllDomains");
        lv.virDomainGetName = dlsym(h, "virDomainGetName");
        lv.virDomainFree = dlsym(h, "virDomainFree");
        lv.virGetLastError = dlsym(h, "virGetLastError");
        lv.virSetErrorFunc = dlsym(h, "virSetErrorFunc");
        lv.virConnectIsAlive = dlsym(h, "virConnectIsAlive");
        /* All or nothing: a libvirt without one of them is not used. */
        if (!lv.virEventRegisterDefaultImpl || !lv.virEventRunDefaultImpl || !lv.virEventAddHandle ||
            !lv.virEventRemoveHandle || !lv.virEventAddTimeout || !lv.virEventRemoveTimeout || !lv.virConnectOpen ||
            !lv.virConnectClose || !lv.virConnectRegisterCloseCallback || !lv.virConnectDomainEventRegisterAny ||
            !lv.virConnectDomainEventDeregisterAny || !lv.virConnectListAllDomains || !lv.virDomainGetName ||
            !lv.virDomainFree || !lv.virGetLastError || !lv.virSetErrorFunc || !lv.virConnectIsAlive)
                memset(&lv, 0, sizeof(lv));
}

static int load_libvirt(void)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;

        pthread_once(&once, load_once);
        return lv.virConnectOpen ? 0 : -ENOENT;
}

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000

static const char *const event_names[_NVV_LIBVIRT_EVENT_MAX] = {
        [NVV_LIBVIRT_STARTED] = "started",   [NVV_LIBVIRT_SUSPENDED] = "suspended", [NVV_LIBVIRT_RESUMED] = "resumed",
        [NVV_LIBVIRT_STOPPED] = "stopped",   [NVV_LIBVIRT_CRASHED] = "crashed",     [NVV_LIBVIRT_REBOOTED] = "rebooted",
};

const char *nvv_libvirt_event_to_string(enum nvv_libvirt_event e)
{
        return e < _NVV_LIBVIRT_EVENT_MAX ? event_names[e] : NULL;
}

struct nvv_libvirt {
        char *uri;
        struct nvv_libvirt_callbacks cb;
        void *userdata;
        pthread_t thread;
        int stop_fd;
        /* loop thread only, but read by describe() under lock */
        pthread_mutex_t lock;
        virConnectPtr conn;
        int lifecycle_id, reboot_id;
        bool stopping, closed;
        int backoff_ms, retry_timer;
        char why[256];
};

static void say(struct nvv_libvirt *l, int level, const char *fmt, ...) _printf_(3, 4);
static void say(struct nvv_libvirt *l, int level, const char *fmt, ...)
{
        char buf[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (l->cb.log)
                l->cb.log(l->userdata, level, buf);
}

/* libvirt prints every error on stderr unless told otherwise; ours are reported once, here. */
static void quiet(void *userdata, virErrorPtr err)
{
}

static enum nvv_libvirt_event map_lifecycle(int event, int detail, bool *ret_known)
{
        *ret_known = true;
        switch (event) {
        case VIR_DOMAIN_EVENT_STARTED:
                return NVV_LIBVIRT_STARTED;
        case VIR_DOMAIN_EVENT_SUSPENDED:
                return NVV_LIBVIRT_SUSPENDED;
        case VIR_DOMAIN_EVENT_RESUMED:
                return NVV_LIBVIRT_RESUMED;
        case VIR_DOMAIN_EVENT_STOPPED:
                return NVV_LIBVIRT_STOPPED;
        case VIR_DOMAIN_EVENT_CRASHED:
                return NVV_LIBVIRT_CRASHED;
        default:
                *ret_known = false;
                return NVV_LIBVIRT_STARTED;
        }
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
        struct nvv_libvirt *l = opaque;
        bool known;
        enum nvv_libvirt_event e = map_lifecycle(event, detail, &known);
        char d[32];

        if (!known || !l->cb.event)
                return 0;
        snprintf(d, sizeof(d), "%d/%d", event, detail);
        l->cb.event(l->userdata, e, lv.virDomainGetName(dom), d);
        return 0;
}

static void on_reboot(virConnectPtr conn, virDomainPtr dom, void *opaque)
{
        struct nvv_libvirt *l = opaque;

        if (l->cb.event)
                l->cb.event(l->userdata, NVV_LIBVIRT_REBOOTED, lv.virDomainGetName(dom), "reboot");
}

static void schedule_retry(struct nvv_libvirt *l);

/* The calls into libvirt run without the lock: one of them may find the connection dead and
 * run on_close() there and then, which takes the lock (nvvgpud hung at its stop so, with
 * libvirtd gone). */
static void drop_connection(struct nvv_libvirt *l)
{
        virConnectPtr c;
        int lifecycle_id, reboot_id;

        pthread_mutex_lock(&l->lock);
        c = l->conn;
        l->conn = NULL;
        lifecycle_id = l->lifecycle_id;
        reboot_id = l->reboot_id;
        l->lifecycle_id = l->reboot_id = -1;
        pthread_mutex_unlock(&l->lock);
        if (!c)
                return;
        if (lifecycle_id >= 0)
                (void) lv.virConnectDomainEventDeregisterAny(c, lifecycle_id);
        if (reboot_id >= 0)
                (void) lv.virConnectDomainEventDeregisterAny(c, reboot_id);
        lv.virConnectClose(c);
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
        struct nvv_libvirt *l = opaque;

        pthread_mutex_lock(&l->lock);
        l->closed = true;
        snprintf(l->why, sizeof(l->why), "libvirtd closed the connection (reason %d)", reason);
        pthread_mutex_unlock(&l->lock);
}

static void report_running(struct nvv_libvirt *l)
{
        virDomainPtr *doms = NULL;
        char **names = NULL;
        int n = lv.virConnectListAllDomains(l->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

        for (int i = 0; i < n; i++) {
                if (strv_extend(&names, lv.virDomainGetName(doms[i])) < 0)
                        break;
        }
        for (int i = 0; i < n; i++)
                lv.virDomainFree(doms[i]);
        free(doms);
        if (n >= 0 && l->cb.connected)
                l->cb.connected(l->userdata, names ? names : (char *[]) { NULL });
        strv_free(names);
}

static bool try_connect(struct nvv_libvirt *l)
{
        virConnectPtr c = lv.virConnectOpen(l->uri);
        virErrorPtr e;

        if (!c) {
                e = lv.virGetLastError();
                pthread_mutex_lock(&l->lock);
                snprintf(l->why, sizeof(l->why), "%s", e && e->message ? e->message : "cannot connect");
                pthread_mutex_unlock(&l->lock);
                return false;
        }
        pthread_mutex_lock(&l->lock);
        l->conn = c;
        l->closed = false;
        l->why[0] = '\0';
        pthread_mutex_unlock(&l->lock);
        (void) lv.virConnectRegisterCloseCallback(c, on_close, l, NULL);
        l->lifecycle_id = lv.virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                           VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), l, NULL);
        l->reboot_id = lv.virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_REBOOT,
                                                        VIR_DOMAIN_EVENT_CALLBACK(on_reboot), l, NULL);
        say(l, 6, "libvirt: connected to %s", l->uri);
        l->backoff_ms = BACKOFF_MIN_MS;
        report_running(l);
        return true;
}

static void on_retry(int timer, void *opaque)
{
        struct nvv_libvirt *l = opaque;

        lv.virEventRemoveTimeout(timer);
        l->retry_timer = -1;
        if (l->stopping)
                return;
        if (!try_connect(l)) {
                say(l, 7, "libvirt: %s not reachable: %s; retrying in %d s", l->uri, l->why, l->backoff_ms / 1000);
                schedule_retry(l);
        }
}

static void schedule_retry(struct nvv_libvirt *l)
{
        int ms = l->backoff_ms;

        l->backoff_ms = MIN(l->backoff_ms * 2, BACKOFF_MAX_MS);
        l->retry_timer = lv.virEventAddTimeout(ms, on_retry, l, NULL);
}

static void on_stop(int watch, int fd, int events, void *opaque)
{
        struct nvv_libvirt *l = opaque;

        l->stopping = true;
}

/* Every second: a connection libvirtd closed is dropped and reopened later. */
static void on_tick(int timer, void *opaque)
{
        struct nvv_libvirt *l = opaque;
        virConnectPtr c;
        bool closed;

        /* Only this thread (the event loop's) sets l->conn, so c stays valid unlocked; libvirt
         * is called without the lock, as in drop_connection(). */
        pthread_mutex_lock(&l->lock);
        c = l->conn;
        closed = l->closed;
        pthread_mutex_unlock(&l->lock);
        closed = c && (closed || lv.virConnectIsAlive(c) != 1);
        if (closed && !l->stopping) {
                say(l, 4, "libvirt: the connection to %s is gone (%s); reconnecting", l->uri, l->why[0] ? l->why : "not alive");
                drop_connection(l);
                if (l->retry_timer < 0)
                        schedule_retry(l);
        }
}

static void *loop_main(void *userdata)
{
        struct nvv_libvirt *l = userdata;
        int watch = lv.virEventAddHandle(l->stop_fd, VIR_EVENT_HANDLE_READABLE, on_stop, l, NULL);
        int tick = lv.virEventAddTimeout(1000, on_tick, l, NULL);

        if (!try_connect(l)) {
                say(l, 5, "libvirt: %s not reachable: %s; retrying in the background", l->uri, l->why);
                schedule_retry(l);
        }
        while (!l->stopping)
                if (lv.virEventRunDefaultImpl() < 0)
                        break;
        if (l->retry_timer >= 0)
                lv.virEventRemoveTimeout(l->retry_timer);
        lv.virEventRemoveTimeout(tick);
        lv.virEventRemoveHandle(watch);
        drop_connection(l);
        return NULL;
}

static int registered = -1;

static void register_loop(void)
{
        registered = lv.virEventRegisterDefaultImpl();
}

int nvv_libvirt_start(const char *uri, const struct nvv_libvirt_callbacks *cb, void *userdata, struct nvv_libvirt **ret)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        struct nvv_libvirt *l;

        assert_return(uri && cb && ret, -EINVAL);
        if (load_libvirt() < 0)
                return -ENOENT;
        lv.virSetErrorFunc(NULL, quiet);
        /* The default event loop is process-wide: registered once. */
        pthread_once(&once, register_loop);
        if (registered < 0)
                return -EIO;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->uri = strdup(uri);
        l->cb = *cb;
        l->userdata = userdata;
        l->lifecycle_id = l->reboot_id = l->retry_timer = -1;
        l->backoff_ms = BACKOFF_MIN_MS;
        l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        pthread_mutex_init(&l->lock, NULL);
        if (!l->uri || l->stop_fd < 0 || pthread_create(&l->thread, NULL, loop_main, l) != 0) {
                if (l->stop_fd >= 0)
                        close(l->stop_fd);
                free(l->uri);
                free(l);
                return -ENOMEM;
        }
        *ret = l;
        return 0;
}

struct nvv_libvirt *nvv_libvirt_stop(struct nvv_libvirt *l)
{
        uint64_t one = 1;

        if (!l)
                return NULL;
        (void) !write(l->stop_fd, &one, sizeof(one));
        pthread_join(l->thread, NULL);
        close(l->stop_fd);
        pthread_mutex_destroy(&l->lock);
        free(l->uri);
        free(l);
        return NULL;
}

bool nvv_libvirt_connected(struct nvv_libvirt *l)
{
        bool c;

        if (!l)
                return false;
        pthread_mutex_lock(&l->lock);
        c = l->conn && !l->closed;
        pthread_mutex_unlock(&l->lock);
        return c;
}

const char *nvv_libvirt_describe(struct nvv_libvirt *l, char *buf, size_t size)
{
        if (!l) {
                snprintf(buf, size, "off");
                return buf;
        }
        pthread_mutex_lock(&l->lock);
        if (l->conn && !l->closed)
                snprintf(buf, size, "connected to %s", l->uri);
        else
                snprintf(buf, size, "not connected to %s: %s", l->uri, l->why[0] ? l->why : "connecting");
        pthread_mutex_unlock(&l->lock);
        return buf;
}
