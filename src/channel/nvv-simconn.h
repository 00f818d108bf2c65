/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One connection to nvvgpu-sim's socket, shared by the channels of all its GPUs: one connect
 * and one HELLO (which lists every GPU) however many GPUs are opened. Each request carries
 * its GPU's index and a tag unique on the connection; a reader thread matches answers to
 * their callers by tag (answers for different GPUs may come in any order) and sorts events
 * into one queue per GPU, so channels on different threads share the connection safely.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-channel.h"
#include "nvv-sysfsmsg.h"

struct nvv_simconn;

/* Connect and say HELLO. *reterr_msg names the socket when the simulator cannot be reached. */
int nvv_simconn_connect(const char *socket_path, struct nvv_simconn **ret, char **reterr_msg);
/* Drop the caller's reference; the connection closes when no channel holds it either. */
struct nvv_simconn *nvv_simconn_unref(struct nvv_simconn *c);
/* Another reference (the connection lives until the last is dropped). */
struct nvv_simconn *nvv_simconn_ref(struct nvv_simconn *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_simconn *, nvv_simconn_unref);

const char *nvv_simconn_get_path(const struct nvv_simconn *c);
/* The GPUs the HELLO listed. */
size_t nvv_simconn_gpu_count(const struct nvv_simconn *c);
const struct nvv_channel_info *nvv_simconn_get_info(const struct nvv_simconn *c, size_t gpu);

/* A channel to GPU `gpu` over this connection (it holds a reference). One channel per GPU
 * per connection: a second is -EBUSY. */
int nvv_simconn_open_channel(struct nvv_simconn *c, uint32_t gpu, const struct nvv_fwdb *db, struct nvv_channel **ret,
                             char **reterr_msg);

/*
 * The manager's side of the sysfs contract (doc/kernel-interface.md §3). A manager subscribes
 * once; the simulator then forwards to it every sysfs write that makes or removes a vGPU,
 * and holds the write until the manager answers with an errno (or until the simulator's
 * --sysfs-timeout, when the write fails with ETIMEDOUT). Requests and uevents are queued by
 * the connection's reader thread; the manager takes them on its own thread, so it can issue
 * the firmware commands a request needs over this same connection before it answers.
 */

/* Become the manager (and receive uevents). -EBUSY: another connection is the manager. */
int nvv_simconn_sysfs_subscribe(struct nvv_simconn *c, char **reterr_msg);
/* An eventfd, readable while requests or uevents wait. */
int nvv_simconn_sysfs_get_fd(const struct nvv_simconn *c);
/* The oldest forwarded request. -EAGAIN: none waits. */
int nvv_simconn_sysfs_next(struct nvv_simconn *c, struct nvv_sysfs_request *ret);
/* Answer request `id` with `error` (0, or a positive errno the write returns). -ETIMEDOUT:
 * the request had expired and its write already failed: the manager must undo what it did
 * for it. */
int nvv_simconn_sysfs_answer(struct nvv_simconn *c, uint32_t id, int error, char **reterr_msg);
/* The oldest uevent. -EAGAIN: none waits. */
int nvv_simconn_sysfs_next_uevent(struct nvv_simconn *c, struct nvv_uevent *ret);
/* The types GPU `gpu` offers, replacing what was registered (n = 0 withdraws them all):
 * its mdev type directories, or what its VFs' creatable_vgpu_types may list. Only the
 * subscribed manager may register (-EPERM otherwise). */
int nvv_simconn_register_types(struct nvv_simconn *c, uint32_t gpu, const struct nvv_sysfs_type *types, size_t n,
                               char **reterr_msg);

/*
 * The link. By default a connection the simulator closes stays dead (every request fails).
 * With reconnect on, the reader tries to connect again (after 50 ms, then twice as long each
 * time, at most 2 s apart) until a simulator serving the same GPUs and releases answers; the
 * subscriptions (events, sysfs manager) are renewed and requests work again. To the manager
 * that is a core-driver reload: the firmware behind the new connection holds nothing.
 */
void nvv_simconn_set_reconnect(struct nvv_simconn *c, bool on);
/* An eventfd, readable when the link went down or came back. */
int nvv_simconn_link_get_fd(const struct nvv_simconn *c);
/* 1 up, 0 down (why says why); *ret_generation counts the reconnections. Clears the eventfd. */
int nvv_simconn_link_state(struct nvv_simconn *c, uint64_t *ret_generation, char *why, size_t whylen);
