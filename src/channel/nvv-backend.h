/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Where the GPUs' firmware is reached: one parser for the backend strings users type and one
 * opener for all the GPUs behind a backend.
 *   sim:SOCKET   the GPUs of nvvgpu-sim on SOCKET, all over one connection (nvv-simconn.h)
 *   fwctl        every fwctl device in /dev/fwctl
 *   fwctl:DEV    one fwctl device (/dev/fwctl/fwctlN), or every one in the directory DEV
 * The in-process form has no string: a library user hands over GPUs that live in the same
 * process through a provider (the simulator offers one: nvv_sim_get_backend() in nvv-sim.h),
 * so this library never links against what provides them.
 */

#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-channel.h"

struct nvv_simconn;

#define NVV_BACKEND_MAX 4096   /* bytes of a backend string */

enum nvv_backend_kind {
        NVV_BACKEND_SIM,
        NVV_BACKEND_FWCTL,
        NVV_BACKEND_INPROC,
};

/* GPUs in this process. */
struct nvv_backend_provider {
        const char *name;                          /* for messages: "in-process simulator" */
        size_t (*gpu_count)(void *object);
        /* What the GPU is, known before its channel opens. */
        void (*get_info)(void *object, size_t gpu, struct nvv_channel_info *ret);
        int (*open)(void *object, size_t gpu, const struct nvv_fwdb *db, struct nvv_channel **ret,
                    char **reterr_msg);
};

struct nvv_backend;

/* Parse a backend string. A bad one is -EINVAL with a message naming it and the forms
 * expected. */
int nvv_backend_parse(const char *s, struct nvv_backend **ret, char **reterr_msg);
/* The in-process backend over `object` (borrowed: it must outlive the backend's channels). */
int nvv_backend_new_inproc(const struct nvv_backend_provider *p, void *object, struct nvv_backend **ret);
struct nvv_backend *nvv_backend_free(struct nvv_backend *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_backend *, nvv_backend_free);

enum nvv_backend_kind nvv_backend_get_kind(const struct nvv_backend *b);
/* The socket (sim), the device or directory (fwctl; "/dev/fwctl" when none was given), or
 * NULL (in-process). */
const char *nvv_backend_get_path(const struct nvv_backend *b);

/* One GPU behind a backend. */
struct nvv_backend_gpu {
        struct nvv_channel_info info;     /* as the transport reports it; zero (but `source`) when a
                                           * fwctl device could not be opened */
        char *source;                     /* "sim:SOCKET#N", the fwctl device, "in-process#N" */
        struct nvv_channel *channel;      /* NULL when it could not be opened ... */
        int error;                        /* ... with this negative errno */
        char *error_msg;                  /* ... and why */
        /* sim: the connection (a reference) and the GPU's index on it, for the sysfs contract
         * (nvv-simconn.h: the manager's side); NULL for other backends. */
        struct nvv_simconn *sim;
        uint32_t sim_index;
};
void nvv_backend_gpus_free(struct nvv_backend_gpu *g, size_t n);

/*
 * Open a channel to every GPU behind the backend (a simulator's over one connection and one
 * HELLO). A GPU whose channel cannot be opened (a release no description serves, say) is
 * listed with its error; the call fails only when the backend cannot be reached or has no
 * GPU at all (-ENODEV), with *reterr_msg saying so.
 */
int nvv_backend_open_all(const struct nvv_backend *b, const struct nvv_fwdb *db, struct nvv_backend_gpu **ret,
                         size_t *ret_n, char **reterr_msg);
