/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Starting an in-process simulator for tests: a socket in a private temporary directory. */
#include <poll.h>
#include <unistd.h>

#include "nvv-catalog.h"
#include "nvv-channel.h"
#include "nvv-sim.h"
#include "testutil.h"

struct simtest {
        char dir[64];
        char socket[128];
        struct nvv_sim *sim;
        struct nvv_fwdb *db;
};

static inline const char *simtest_catalog_dir(void)
{
        static char buf[4096];
        const char *top = getenv("NVV_TOP_SRCDIR");

        if (!top) {
                fprintf(stderr, "NVV_TOP_SRCDIR is not set; run through `make check`\n");
                abort();
        }
        snprintf(buf, sizeof(buf), "%s/data/gpus", top);
        return buf;
}

/* Start `gpus` (a --gpus spec) with the socket settings of `sock` (may be NULL: defaults). */
static inline int simtest_start_ex(struct simtest *t, const char *gpus, const struct nvv_sim_options *sock, char **msg)
{
        struct nvv_sim_options o = {
                .gpus = gpus,
                .catalog_dir = simtest_catalog_dir(),
        };

        if (sock) {
                o.socket_mode = sock->socket_mode;
                o.set_socket_gid = sock->set_socket_gid;
                o.socket_gid = sock->socket_gid;
                o.hello_timeout_ms = sock->hello_timeout_ms;
                o.send_timeout_ms = sock->send_timeout_ms;
        }
        memset(t, 0, sizeof(*t));
        snprintf(t->dir, sizeof(t->dir), "/tmp/nvv-simtest-XXXXXX");
        if (!mkdtemp(t->dir))
                return -errno;
        snprintf(t->socket, sizeof(t->socket), "%s/sim.sock", t->dir);
        o.socket_path = t->socket;
        t->db = test_load_db();
        return nvv_sim_start(&o, &t->sim, msg);
}

/* Start `gpus` (a --gpus spec); extra_fwabi (may be NULL) is searched by the simulator only. */
static inline int simtest_start(struct simtest *t, const char *gpus, const char *extra_fwabi, const char *faults,
                                char **msg)
{
        char *dirs[2] = { (char *) extra_fwabi, NULL };
        struct nvv_sim_options o = {
                .gpus = gpus,
                .faults = faults,
                .catalog_dir = simtest_catalog_dir(),
                .fwabi_dirs = extra_fwabi ? dirs : NULL,
        };

        memset(t, 0, sizeof(*t));
        snprintf(t->dir, sizeof(t->dir), "/tmp/nvv-simtest-XXXXXX");
        if (!mkdtemp(t->dir))
                return -errno;
        snprintf(t->socket, sizeof(t->socket), "%s/sim.sock", t->dir);
        o.socket_path = t->socket;
        t->db = test_load_db();
        return nvv_sim_start(&o, &t->sim, msg);
}

static inline void simtest_stop(struct simtest *t)
{
        t->sim = nvv_sim_stop(t->sim);
        t->db = nvv_fwdb_free(t->db);
        unlink(t->socket);
        rmdir(t->dir);
}

/* Wait up to ms for the channel's fd and deliver what arrived. */
static inline int simtest_pump(struct nvv_channel *ch, int ms)
{
        struct pollfd p = { .fd = nvv_channel_get_fd(ch), .events = POLLIN };
        uint64_t until = now_ns() + (uint64_t) ms * 1000000u;
        int n = 0;

        while (now_ns() < until) {
                if (poll(&p, 1, 20) > 0 || true)
                        n += nvv_channel_process(ch);
                if (n > 0)
                        return n;
        }
        return n;
}
