/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's event stream (`nvvgpuctl events`, doc/ipc.md "subscribe"): events are
 * published as JSON objects, formatted once, and queued for each subscriber. Publishing never
 * waits on a subscriber: each has a bounded queue, and when it is full the event is dropped
 * for that subscriber and counted; its next read starts with a "dropped" event saying how
 * many it missed. So a client that stops reading cannot hold up the firmware, a create, or
 * any other client. Thread-safe.
 */

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define NVV_EVBUS_DEFAULT_QUEUE 1024    /* events one subscriber may have waiting */
#define NVV_EVBUS_MAX_SUBSCRIBERS 256

struct nvv_evbus;
struct nvv_evsub;

int nvv_evbus_new(struct nvv_evbus **ret);
/* Every subscription must be closed first. */
struct nvv_evbus *nvv_evbus_free(struct nvv_evbus *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_evbus *, nvv_evbus_free);

/* Publish one event (takes ev). "version" and "time" (UTC, RFC 3339 with milliseconds) are
 * added in front of its own keys. Returns how many subscribers it was queued for. */
size_t nvv_evbus_publish(struct nvv_evbus *b, json_object *ev);
size_t nvv_evbus_count(struct nvv_evbus *b);            /* subscribers now */

/* -EUSERS when NVV_EVBUS_MAX_SUBSCRIBERS are subscribed; max_queue 0: the default. */
int nvv_evbus_subscribe(struct nvv_evbus *b, size_t max_queue, struct nvv_evsub **ret);
struct nvv_evsub *nvv_evsub_close(struct nvv_evsub *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_evsub *, nvv_evsub_close);
/* An eventfd (O_CLOEXEC, non-blocking) that polls readable while events wait. */
int nvv_evsub_get_fd(const struct nvv_evsub *s);
/* The next event as one line of JSON without the newline (caller frees); -EAGAIN: none. */
int nvv_evsub_next(struct nvv_evsub *s, char **ret_line);
