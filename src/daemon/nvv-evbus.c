/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's event stream: publish once, a bounded queue per subscriber, never wait. */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "nvv-evbus.h"
#include "nvv-ipc.h"
#include "nvv-json.h"
#include "util.h"

struct nvv_evsub {
        struct nvv_evbus *bus;
        int fd;                         /* eventfd: nonzero while lines wait */
        char **lines;                   /* ring of max lines */
        uint64_t *gaps;                 /* events dropped just before each line */
        size_t max, head, n;
        uint64_t dropped;               /* dropped since the last line queued */
        struct nvv_evsub *next;
};

struct nvv_evbus {
        pthread_mutex_t lock;           /* the list and every queue */
        struct nvv_evsub *subs;
        size_t n_subs;
};

int nvv_evbus_new(struct nvv_evbus **ret)
{
        struct nvv_evbus *b = calloc(1, sizeof(*b));

        if (!b)
                return -ENOMEM;
        pthread_mutex_init(&b->lock, NULL);
        *ret = b;
        return 0;
}

struct nvv_evbus *nvv_evbus_free(struct nvv_evbus *b)
{
        if (!b)
                return NULL;
        assert(!b->subs);
        pthread_mutex_destroy(&b->lock);
        free(b);
        return NULL;
}

size_t nvv_evbus_count(struct nvv_evbus *b)
{
        size_t n;

        pthread_mutex_lock(&b->lock);
        n = b->n_subs;
        pthread_mutex_unlock(&b->lock);
        return n;
}

static void wake(struct nvv_evsub *s)
{
        uint64_t one = 1;

        /* Non-blocking: an eventfd near its maximum stays readable, which is all that counts. */
        (void) !write(s->fd, &one, sizeof(one));
}

size_t nvv_evbus_publish(struct nvv_evbus *b, json_object *ev)
{
        _cleanup_json_ json_object *o = json_object_new_object();
        struct timespec ts;
        struct tm tm;
        char when[96];
        const char *text;
        size_t queued = 0;

        if (!o || !ev) {
                json_object_put(ev);
                return 0;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
        json_object_object_add(o, "version", json_object_new_int(NVV_IPC_VERSION));
        json_object_object_add(o, "time", json_object_new_string(when));
        json_object_object_foreach(ev, k, v) json_object_object_add(o, k, json_object_get(v));
        json_object_put(ev);
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        if (!text)
                return 0;
        pthread_mutex_lock(&b->lock);
        for (struct nvv_evsub *s = b->subs; s; s = s->next) {
                char *line;

                if (s->n == s->max || !(line = strdup(text))) {
                        s->dropped++;
                        continue;
                }
                s->lines[(s->head + s->n) % s->max] = line;
                s->gaps[(s->head + s->n) % s->max] = s->dropped;
                s->dropped = 0;
                s->n++;
                queued++;
                wake(s);
        }
        pthread_mutex_unlock(&b->lock);
        return queued;
}

int nvv_evbus_subscribe(struct nvv_evbus *b, size_t max_queue, struct nvv_evsub **ret)
{
        struct nvv_evsub *s;

        assert_return(b && ret, -EINVAL);
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->max = max_queue ? max_queue : NVV_EVBUS_DEFAULT_QUEUE;
        s->lines = calloc(s->max, sizeof(*s->lines));
        s->gaps = calloc(s->max, sizeof(*s->gaps));
        s->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (!s->lines || !s->gaps || s->fd < 0) {
                int r = s->fd < 0 ? -errno : -ENOMEM;

                if (s->fd >= 0)
                        close(s->fd);
                free(s->lines);
                free(s->gaps);
                free(s);
                return r;
        }
        s->bus = b;
        pthread_mutex_lock(&b->lock);
        if (b->n_subs >= NVV_EVBUS_MAX_SUBSCRIBERS) {
                pthread_mutex_unlock(&b->lock);
                close(s->fd);
                free(s->lines);
                free(s->gaps);
                free(s);
                return -EUSERS;
        }
        s->next = b->subs;
        b->subs = s;
        b->n_subs++;
        pthread_mutex_unlock(&b->lock);
        *ret = s;
        return 0;
}

struct nvv_evsub *nvv_evsub_close(struct nvv_evsub *s)
{
        struct nvv_evbus *b;

        if (!s)
                return NULL;
        b = s->bus;
        pthread_mutex_lock(&b->lock);
        for (struct nvv_evsub **p = &b->subs; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        b->n_subs--;
                        break;
                }
        pthread_mutex_unlock(&b->lock);
        for (size_t i = 0; i < s->n; i++)
                free(s->lines[(s->head + i) % s->max]);
        free(s->lines);
        free(s->gaps);
        close(s->fd);
        free(s);
        return NULL;
}

int nvv_evsub_get_fd(const struct nvv_evsub *s)
{
        return s ? s->fd : -EINVAL;
}

int nvv_evsub_next(struct nvv_evsub *s, char **ret_line)
{
        struct nvv_evbus *b = s->bus;
        uint64_t cnt;
        char *line = NULL;
        int r = 0;

        pthread_mutex_lock(&b->lock);
        /* A loss is told where it happened: before the first event queued after it. */
        uint64_t *gap = s->n > 0 ? &s->gaps[s->head] : s->dropped ? &s->dropped : NULL;

        if (gap && *gap) {
                if (asprintf(&line, "{\"version\":%d,\"event\":\"dropped\",\"count\":%llu}", NVV_IPC_VERSION,
                             (unsigned long long) *gap) < 0)
                        r = -ENOMEM;
                else
                        *gap = 0;
        } else if (s->n > 0) {
                line = s->lines[s->head];
                s->lines[s->head] = NULL;
                s->head = (s->head + 1) % s->max;
                s->n--;
        } else
                r = -EAGAIN;
        if (s->n == 0 && !s->dropped)
                (void) !read(s->fd, &cnt, sizeof(cnt)); /* drain: nothing waits now */
        pthread_mutex_unlock(&b->lock);
        if (r < 0)
                return r;
        *ret_line = line;
        return 0;
}
