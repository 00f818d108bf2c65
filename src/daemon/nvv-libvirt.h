/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * nvvgpud's libvirt connection (optional): domain lifecycle events from libvirtd, on a thread
 * of its own running libvirt's default event loop. The connection is opened at start and
 * again, with a backoff of 1 s doubling to 30 s, whenever libvirtd goes away (a restart).
 * After each (re)connect the caller is told which domains run, so it can reconcile. Nothing
 * here calls back into libvirt from a hook: this is the daemon's own client connection.
 */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

enum nvv_libvirt_event {
        NVV_LIBVIRT_STARTED,
        NVV_LIBVIRT_SUSPENDED,
        NVV_LIBVIRT_RESUMED,
        NVV_LIBVIRT_STOPPED,            /* shut off, destroyed, failed, migrated away */
        NVV_LIBVIRT_CRASHED,
        NVV_LIBVIRT_REBOOTED,
        _NVV_LIBVIRT_EVENT_MAX,
};
const char *nvv_libvirt_event_to_string(enum nvv_libvirt_event e);      /* "suspended" */

struct nvv_libvirt_callbacks {
        void (*event)(void *userdata, enum nvv_libvirt_event e, const char *domain, const char *detail);
        /* After each (re)connect: the names of the domains that run now (NULL-terminated). */
        void (*connected)(void *userdata, char *const *running);
        void (*log)(void *userdata, int level, const char *message);
};

struct nvv_libvirt;

/* -ENOENT: libvirt's library is not installed (it is loaded at run time, not linked). */
int nvv_libvirt_start(const char *uri, const struct nvv_libvirt_callbacks *cb, void *userdata, struct nvv_libvirt **ret);
struct nvv_libvirt *nvv_libvirt_stop(struct nvv_libvirt *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_libvirt *, nvv_libvirt_stop);
/* "connected to URI", "not connected to URI: why", or "off" for NULL, into buf. */
const char *nvv_libvirt_describe(struct nvv_libvirt *l, char *buf, size_t size);
bool nvv_libvirt_connected(struct nvv_libvirt *l);
