/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The load clients of rel-load.sh (doc/reliability.md): CLIENTS threads, each a client of its
 * own, for SECS seconds, each operation what nvvgpuctl or a shell would do: a connection to
 * nvvgpud per request (list, show, status, gpus, create, destroy), or an open-write-close of a
 * sysfs attribute through nvvgpu-sim's FUSE tree (create, remove). UUIDs come from a shared
 * pool of 96 so that clients meet (one destroys what another made).
 *
 *   rel-load SOCKET SYSROOT SECS CLIENTS OUT
 *
 * OUT gets one line per operation: "KIND MS ERRNO MESSAGE" (ERRNO 0: it succeeded).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nvv-ipc.h"
#include "nvv-ipcsock.h"
#include "util.h"

#define POOL 96
#define CALL_TIMEOUT_MS 30000
#define TYPE_ID 1148                    /* L40S-2Q in the catalog (data/gpus/l40s.json) */

static const char *const gpus[] = { "0000:41:00.0", "0000:42:00.0" };

enum kind { K_LIST, K_SHOW, K_STATUS, K_GPUS, K_CREATE, K_DESTROY, K_SYSFS_CREATE, K_SYSFS_REMOVE };
static const char *const kind_name[] = { "list", "show", "status", "gpus", "create", "destroy", "sysfs-create",
                                         "sysfs-remove" };

struct op {
        uint8_t kind;
        int err;
        uint32_t us;
        char msg[120];
};

struct client {
        pthread_t thread;
        unsigned seed;
        struct op *ops;
        size_t n, cap;
};

static const char *sock_path, *sysroot;
static uint64_t deadline_ns;

static int ipc(const struct nvv_ipc_request *req, char *msg, size_t msglen)
{
        _cleanup_free_ char *text = NULL, *reply = NULL, *m = NULL;
        _cleanup_close_ int fd = -1;
        json_object *doc = NULL, *result = NULL;
        int r;

        r = nvv_ipc_format_request(req, &text);
        if (r >= 0)
                r = nvv_ipcsock_connect(sock_path, &fd, &m);
        if (r >= 0)
                r = nvv_ipcsock_call(fd, text, CALL_TIMEOUT_MS, &reply, &m);
        if (r >= 0)
                r = nvv_ipc_parse_reply(reply, strlen(reply), &doc, &result, &m);
        json_object_put(doc);
        if (r < 0)
                snprintf(msg, msglen, "%s", m ? m : strerror(-r));
        return r;
}

static int sysfs_write(const char *path, const char *what, char *msg, size_t msglen)
{
        size_t len = strlen(what);
        int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

        if (fd < 0)
                r = -errno;
        else {
                if (write(fd, what, len) != (ssize_t) len)
                        r = errno ? -errno : -EIO;
                if (close(fd) < 0 && r == 0)
                        r = -errno;
        }
        if (r < 0)
                snprintf(msg, msglen, "%s: %s", path, strerror(-r));
        return r;
}

static void *client_main(void *userdata)
{
        struct client *c = userdata;

        while (now_ns() < deadline_ns) {
                unsigned x = (unsigned) rand_r(&c->seed);
                struct nvv_ipc_request req = {};
                char uuid[37], path[512], msg[120] = "";
                const char *gpu = gpus[(x / 7) % 2];
                enum kind k;
                uint64_t t0;
                int r;

                snprintf(uuid, sizeof(uuid), "7a1c3e5f-0b2d-4f6a-8c9e-%012u", (x / 13) % POOL);
                switch (x % 13) {
                case 0: case 1: k = K_LIST; break;
                case 2: k = K_SHOW; break;
                case 3: k = K_STATUS; break;
                case 4: k = K_GPUS; break;
                case 5: case 6: k = K_CREATE; break;
                case 7: case 8: k = K_DESTROY; break;
                case 9: case 10: k = K_SYSFS_CREATE; break;
                default: k = K_SYSFS_REMOVE; break;
                }
                t0 = now_ns();
                switch (k) {
                case K_LIST: req.method = NVV_IPC_LIST; break;
                case K_SHOW: req.method = NVV_IPC_SHOW; break;
                case K_STATUS: req.method = NVV_IPC_STATUS; break;
                case K_GPUS: req.method = NVV_IPC_GPUS; break;
                case K_CREATE:
                        req.method = NVV_IPC_CREATE;
                        snprintf(req.type, sizeof(req.type), "L40S-2Q");
                        snprintf(req.gpu, sizeof(req.gpu), "%s", gpu);
                        break;
                case K_DESTROY: req.method = NVV_IPC_DESTROY; break;
                default: break;
                }
                if (k == K_SHOW || k == K_CREATE || k == K_DESTROY)
                        memcpy(req.uuid, uuid, sizeof(uuid));
                if (k == K_SYSFS_CREATE) {
                        snprintf(path, sizeof(path), "%s/class/mdev_bus/%s/mdev_supported_types/nvidia-%u/create", sysroot,
                                 gpu, TYPE_ID);
                        r = sysfs_write(path, uuid, msg, sizeof(msg));
                } else if (k == K_SYSFS_REMOVE) {
                        snprintf(path, sizeof(path), "%s/bus/mdev/devices/%s/remove", sysroot, uuid);
                        r = sysfs_write(path, "1", msg, sizeof(msg));
                } else
                        r = ipc(&req, msg, sizeof(msg));
                if (c->n == c->cap) {
                        size_t cap = c->cap ? 2 * c->cap : 1024;
                        struct op *o = realloc(c->ops, cap * sizeof(*o));

                        if (!o)
                                break;
                        c->ops = o;
                        c->cap = cap;
                }
                c->ops[c->n] = (struct op) { .kind = (uint8_t) k, .err = -r, .us = (uint32_t) ((now_ns() - t0) / 1000) };
                snprintf(c->ops[c->n].msg, sizeof(c->ops[0].msg), "%s", msg);
                c->n++;
        }
        return NULL;
}

int main(int argc, char **argv)
{
        struct client *c;
        uint32_t secs, clients;
        FILE *out;

        if (argc != 6 || safe_atou32(argv[3], &secs) < 0 || safe_atou32(argv[4], &clients) < 0 || clients == 0 ||
            clients > 1024) {
                fprintf(stderr, "usage: rel-load SOCKET SYSROOT SECS CLIENTS(1..1024) OUT\n");
                return 2;
        }
        sock_path = argv[1];
        sysroot = argv[2];
        c = calloc(clients, sizeof(*c));
        if (!c)
                return 1;
        deadline_ns = now_ns() + (uint64_t) secs * UINT64_C(1000000000);
        for (unsigned i = 0; i < clients; i++) {
                c[i].seed = (unsigned) time(NULL) ^ (i * 2654435761u);
                if (pthread_create(&c[i].thread, NULL, client_main, &c[i]) != 0) {
                        fprintf(stderr, "rel-load: cannot start client %u\n", i);
                        return 1;
                }
        }
        for (unsigned i = 0; i < clients; i++)
                pthread_join(c[i].thread, NULL);
        out = fopen(argv[5], "we");
        if (!out) {
                fprintf(stderr, "rel-load: %s: %m\n", argv[5]);
                return 1;
        }
        for (unsigned i = 0; i < clients; i++) {
                for (size_t k = 0; k < c[i].n; k++) {
                        const struct op *o = &c[i].ops[k];

                        /* One line per operation: the message's newlines would split it. */
                        fprintf(out, "%s %.3f %d ", kind_name[o->kind], o->us / 1000.0, o->err);
                        for (const char *m = o->msg; *m; m++)
                                fputc(*m == '\n' ? ' ' : *m, out);
                        fputc('\n', out);
                }
                free(c[i].ops);
        }
        free(c);
        return fclose(out) == 0 ? 0 : 1;
}
