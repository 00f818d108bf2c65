/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One connection to nvvgpu-sim's socket, shared by the channels of all its GPUs: one connect
 * and one HELLO (which lists every GPU) however many GPUs are opened. Each request carries
 * its GPU's index and a tag unique on the connection; a reader thread matches answers to
 * their callers by tag (answers for different GPUs may come in any order) and sorts events
 * into one queue per GPU, so channels on different threads share the connection safely.
 */

#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-channel.h"

struct nvv_simconn;

/* Connect and say HELLO. *reterr_msg names the socket when the simulator cannot be reached. */
int nvv_simconn_connect(const char *socket_path, struct nvv_simconn **ret, char **reterr_msg);
/* Drop the caller's reference; the connection closes when no channel holds it either. */
struct nvv_simconn *nvv_simconn_unref(struct nvv_simconn *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_simconn *, nvv_simconn_unref);

const char *nvv_simconn_get_path(const struct nvv_simconn *c);
/* The GPUs the HELLO listed. */
size_t nvv_simconn_gpu_count(const struct nvv_simconn *c);
const struct nvv_channel_info *nvv_simconn_get_info(const struct nvv_simconn *c, size_t gpu);

/* A channel to GPU `gpu` over this connection (it holds a reference). One channel per GPU
 * per connection: a second is -EBUSY. */
int nvv_simconn_open_channel(struct nvv_simconn *c, uint32_t gpu, const struct nvv_fwdb *db, struct nvv_channel **ret,
                             char **reterr_msg);
