/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * nvvgpud's core, without its socket and main(): one managed GPU (nvv-pgpu.h) per physical
 * GPU behind the backend, brought up per policy at start, and the IPC requests (nvv-ipc.h)
 * answered against them. Thread-safe: requests from many connections run at once; each
 * managed GPU serialises its own firmware work, so a slow command on one GPU holds up only
 * the requests for that GPU, and two creates never over-commit one.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "nvv-backend.h"
#include "nvv-ipc.h"

struct nvv_daemon_options {
        const char *backend;                    /* "sim:SOCKET", "fwctl[:DEV]"; or ... */
        struct nvv_backend *inproc;             /* ... an in-process backend (borrowed; tests) */
        char *const *fwabi_dirs;                /* extra release descriptions, win over installed */
        const char *catalog_dir;                /* NULL: $NVVGPU_GPUS_DIR or the installed catalog */
        const char *policy_file;                /* NULL: the default policy */
        const char *state_dir;                  /* NULL: no state store (tests, what-if) */
        /* mdevctl's definitions (nvv-mdevctl.h), shared both ways: NULL or "": not used. */
        const char *mdevctl_dir;
        /* Where discovery reads sysfs (the host's /sys, or a simulator's tree): each GPU's
         * NUMA node and model from there, and differences between sysfs and the backend
         * logged. NULL: no discovery. With "/sys", the udev monitor reports GPUs that come and
         * go (a simulator's connection tells its own). */
        const char *sysfs_root;
        /* libvirt's URI for domain lifecycle events (nvv-libvirt.h); NULL or "": none. */
        const char *libvirt_uri;
        /* What happens later (a GSP reset and its recovery) is told here, with a syslog
         * level; the library itself logs nothing above debug. */
        void (*log_fn)(void *userdata, int level, const char *message);
        void *log_userdata;
};

struct nvv_daemon;

int nvv_daemon_new(const struct nvv_daemon_options *o, struct nvv_daemon **ret, char **reterr_msg);
struct nvv_daemon *nvv_daemon_free(struct nvv_daemon *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_daemon *, nvv_daemon_free);

/* Open every GPU behind the backend and bring each up. A GPU that fails is kept and shown
 * with its error; the call fails only when the backend has no usable GPU at all. Messages
 * for the log (one line each) go to *ret_log when given. */
int nvv_daemon_start(struct nvv_daemon *d, char ***ret_log, char **reterr_msg);

/* Re-read the policy file (SIGHUP, policy-reload): placement choices use it at once, GPUs
 * brought up later use its types and mode. On failure the old policy stays. */
int nvv_daemon_reload_policy(struct nvv_daemon *d, char **reterr_msg);

/* Answer one request. may_mutate: the client is allowed to change things (root). */
json_object *nvv_daemon_handle(struct nvv_daemon *d, const struct nvv_ipc_request *req, bool may_mutate);
/* The same from the bytes of a message to the bytes of the reply (caller frees).
 * *ret_subscribed (optional): it was a "subscribe", answered; the caller streams events now. */
int nvv_daemon_handle_message(struct nvv_daemon *d, const void *data, size_t size, bool may_mutate, char **ret_reply,
                              bool *ret_subscribed);

size_t nvv_daemon_gpu_count(const struct nvv_daemon *d);

/* The event stream (nvv-evbus.h): a socket server subscribes a connection that asked for
 * "subscribe" and forwards what comes. */
struct nvv_evbus;
struct nvv_evbus *nvv_daemon_get_bus(struct nvv_daemon *d);
/* After a request's answer went out: removes what its saves left for later (files the state
 * store replaced, retired prepare marks; doc/state-store.md). Cheap when there is nothing. */
void nvv_daemon_reap(struct nvv_daemon *d);
