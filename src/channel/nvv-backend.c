/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "nvv-backend.h"
#include "nvv-simconn.h"
#include "util.h"

#define DEFAULT_FWCTL_DIR "/dev/fwctl"
#define EXPECTED "expected sim:SOCKET, fwctl or fwctl:DEV"

struct nvv_backend {
        enum nvv_backend_kind kind;
        char *path;
        const struct nvv_backend_provider *provider;
        void *object;
};

enum nvv_backend_kind nvv_backend_get_kind(const struct nvv_backend *b)
{
        return b->kind;
}

const char *nvv_backend_get_path(const struct nvv_backend *b)
{
        return b->path;
}

struct nvv_backend *nvv_backend_free(struct nvv_backend *b)
{
        if (!b)
                return NULL;
        free(b->path);
        free(b);
        return NULL;
}

static int backend_new(enum nvv_backend_kind kind, const char *path, struct nvv_backend **ret)
{
        struct nvv_backend *b = calloc(1, sizeof(*b));

        if (!b)
                return -ENOMEM;
        b->kind = kind;
        if (path && !(b->path = strdup(path))) {
                free(b);
                return -ENOMEM;
        }
        *ret = b;
        return 0;
}

int nvv_backend_parse(const char *s, struct nvv_backend **ret, char **reterr_msg)
{
        const struct sockaddr_un sa = {};
        size_t len;

        assert_return(ret, -EINVAL);
        if (!s || !*s)
                return nvv_fail(reterr_msg, "no backend given: " EXPECTED);
        len = strnlen(s, NVV_BACKEND_MAX + 1);
        if (len > NVV_BACKEND_MAX)
                return nvv_fail(reterr_msg, "backend string longer than %d bytes: " EXPECTED, NVV_BACKEND_MAX);
        /* The string may end up in messages and paths: no control characters. */
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return nvv_fail(reterr_msg, "the backend string has a control character (byte %zu): " EXPECTED, i);
        if (startswith(s, "sim:")) {
                const char *path = s + 4;

                if (!*path)
                        return nvv_fail(reterr_msg, "backend 'sim:' names no socket: expected sim:SOCKET");
                if (strlen(path) >= sizeof(sa.sun_path))
                        return nvv_fail(reterr_msg, "backend '%s': the socket path is longer than %zu bytes", s,
                                        sizeof(sa.sun_path) - 1);
                return backend_new(NVV_BACKEND_SIM, path, ret);
        }
        if (streq(s, "fwctl"))
                return backend_new(NVV_BACKEND_FWCTL, DEFAULT_FWCTL_DIR, ret);
        if (startswith(s, "fwctl:")) {
                const char *path = s + 6;

                if (!*path)
                        return nvv_fail(reterr_msg, "backend 'fwctl:' names no device: expected fwctl or fwctl:DEV");
                if (strlen(path) >= PATH_MAX)
                        return nvv_fail(reterr_msg, "backend 'fwctl:...': the path is longer than %d bytes", PATH_MAX - 1);
                return backend_new(NVV_BACKEND_FWCTL, path, ret);
        }
        return nvv_fail(reterr_msg, "unknown backend '%s': " EXPECTED, s);
}

int nvv_backend_new_inproc(const struct nvv_backend_provider *p, void *object, struct nvv_backend **ret)
{
        int r;

        assert_return(p && p->gpu_count && p->open && ret, -EINVAL);
        r = backend_new(NVV_BACKEND_INPROC, NULL, ret);
        if (r < 0)
                return r;
        (*ret)->provider = p;
        (*ret)->object = object;
        return 0;
}

void nvv_backend_gpus_free(struct nvv_backend_gpu *g, size_t n)
{
        if (!g)
                return;
        for (size_t i = 0; i < n; i++) {
                nvv_channel_close(g[i].channel);
                nvv_simconn_unref(g[i].sim);
                free(g[i].source);
                free(g[i].error_msg);
        }
        free(g);
}

/* Open one GPU into its slot: fills info and source, returns what opening its channel did. */
typedef int (*open_one_fn)(void *userdata, size_t i, const struct nvv_fwdb *db, struct nvv_backend_gpu *g,
                           char **reterr_msg);

/* Every GPU through `one`; a GPU that fails keeps its error in its slot, only running out of
 * memory fails the whole. */
static int open_each(size_t n, open_one_fn one, void *userdata, const struct nvv_fwdb *db, struct nvv_backend_gpu **ret,
                     size_t *ret_n)
{
        struct nvv_backend_gpu *g = calloc(n ? n : 1, sizeof(*g));

        if (!g)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char *msg = NULL;
                int r = one(userdata, i, db, &g[i], &msg);

                if (r < 0 && r != -ENOMEM && g[i].source) {
                        g[i].error = r;
                        g[i].error_msg = msg ? msg : strdup(strerror(-r));
                        msg = NULL;
                        if (!g[i].error_msg)
                                r = -ENOMEM;
                }
                free(msg);
                if (r == -ENOMEM || !g[i].source) {
                        nvv_backend_gpus_free(g, n);
                        return -ENOMEM;
                }
        }
        *ret = g;
        *ret_n = n;
        return 0;
}

static int sim_one(void *userdata, size_t i, const struct nvv_fwdb *db, struct nvv_backend_gpu *g, char **reterr_msg)
{
        struct nvv_simconn *c = userdata;

        g->info = *nvv_simconn_get_info(c, i);
        if (asprintf(&g->source, "sim:%s#%zu", nvv_simconn_get_path(c), i) < 0) {
                g->source = NULL;
                return -ENOMEM;
        }
        g->sim = nvv_simconn_ref(c);
        g->sim_index = (uint32_t) i;
        return nvv_simconn_open_channel(c, (uint32_t) i, db, &g->channel, reterr_msg);
}

static int open_sim(const struct nvv_backend *b, const struct nvv_fwdb *db, struct nvv_backend_gpu **ret,
                    size_t *ret_n, char **reterr_msg)
{
        _cleanup_(nvv_simconn_unrefp) struct nvv_simconn *c = NULL;
        int r;

        r = nvv_simconn_connect(b->path, &c, reterr_msg);
        if (r < 0)
                return r;
        if (nvv_simconn_gpu_count(c) == 0)
                return nvv_fail_errno(-ENODEV, reterr_msg, "the simulator at '%s' has no GPUs", b->path);
        /* Each channel holds the connection; ours goes when this returns. */
        return open_each(nvv_simconn_gpu_count(c), sim_one, c, db, ret, ret_n);
}

static int fwctl_one(void *userdata, size_t i, const struct nvv_fwdb *db, struct nvv_backend_gpu *g, char **reterr_msg)
{
        char **paths = userdata;
        int r;

        g->source = strdup(paths[i]);
        if (!g->source)
                return -ENOMEM;
        r = nvv_channel_open_fwctl(g->source, db, &g->channel, reterr_msg);
        if (r >= 0)
                g->info = *nvv_channel_get_info(g->channel);
        return r;
}

static int open_fwctl(const struct nvv_backend *b, const struct nvv_fwdb *db, struct nvv_backend_gpu **ret,
                      size_t *ret_n, char **reterr_msg)
{
        _cleanup_strv_free_ char **paths = NULL;
        struct stat st;
        int r;

        /* A path that exists and is no directory is one device; anything else is listed
         * (and a missing directory says that there is no fwctl here). */
        if (stat(b->path, &st) == 0 && !S_ISDIR(st.st_mode))
                r = strv_extend(&paths, b->path);
        else
                r = nvv_channel_list_fwctl(b->path, &paths, reterr_msg);
        if (r < 0)
                return r;
        if (strv_length(paths) == 0)
                return nvv_fail_errno(-ENODEV, reterr_msg,
                                      "no fwctl devices in %s: no GPU core driver offers vGPU management here", b->path);
        return open_each(strv_length(paths), fwctl_one, paths, db, ret, ret_n);
}

static int inproc_one(void *userdata, size_t i, const struct nvv_fwdb *db, struct nvv_backend_gpu *g, char **reterr_msg)
{
        const struct nvv_backend *b = userdata;

        if (b->provider->get_info)
                b->provider->get_info(b->object, i, &g->info);
        if (asprintf(&g->source, "in-process#%zu", i) < 0) {
                g->source = NULL;
                return -ENOMEM;
        }
        return b->provider->open(b->object, i, db, &g->channel, reterr_msg);
}

static int open_inproc(const struct nvv_backend *b, const struct nvv_fwdb *db, struct nvv_backend_gpu **ret,
                       size_t *ret_n, char **reterr_msg)
{
        size_t n = b->provider->gpu_count(b->object);

        if (n == 0)
                return nvv_fail_errno(-ENODEV, reterr_msg, "the %s has no GPUs", b->provider->name);
        return open_each(n, inproc_one, (void *) b, db, ret, ret_n);
}

int nvv_backend_open_all(const struct nvv_backend *b, const struct nvv_fwdb *db, struct nvv_backend_gpu **ret,
                         size_t *ret_n, char **reterr_msg)
{
        assert_return(b && db && ret && ret_n, -EINVAL);
        switch (b->kind) {
        case NVV_BACKEND_SIM:
                return open_sim(b, db, ret, ret_n, reterr_msg);
        case NVV_BACKEND_FWCTL:
                return open_fwctl(b, db, ret, ret_n, reterr_msg);
        case NVV_BACKEND_INPROC:
                return open_inproc(b, db, ret, ret_n, reterr_msg);
        }
        return -EINVAL;
}
