/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Hotplug: NVIDIA GPUs and their drivers coming and going, from the kernel's uevents as udev
 * passes them on (a udev monitor on the "udev" netlink group, PCI subsystem). The caller
 * polls the fd and calls nvv_hotplug_process() when it is readable; the callback sees only
 * NVIDIA display-class functions (VFs included, flagged).
 */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

enum nvv_hotplug_action {
        NVV_HOTPLUG_ADD,
        NVV_HOTPLUG_REMOVE,
        NVV_HOTPLUG_BIND,       /* a driver was bound */
        NVV_HOTPLUG_UNBIND,     /* the driver was unbound */
        NVV_HOTPLUG_CHANGE,
        _NVV_HOTPLUG_ACTION_MAX,
        _NVV_HOTPLUG_ACTION_INVALID = -EINVAL,
};
const char *nvv_hotplug_action_to_string(enum nvv_hotplug_action a);
enum nvv_hotplug_action nvv_hotplug_action_from_string(const char *s);

struct nvv_hotplug_event {
        enum nvv_hotplug_action action;
        const char *syspath;            /* "/sys/devices/..." */
        char bdf[13];
        uint16_t device;                /* PCI device id */
        uint32_t pci_class;
        const char *driver;             /* NULL when none (remove, unbind) */
        bool is_vf;
};

typedef void (*nvv_hotplug_fn)(const struct nvv_hotplug_event *ev, void *userdata);

struct nvv_hotplug;

int nvv_hotplug_new(nvv_hotplug_fn fn, void *userdata, struct nvv_hotplug **ret);
struct nvv_hotplug *nvv_hotplug_free(struct nvv_hotplug *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_hotplug *, nvv_hotplug_free);
/* Non-blocking, O_CLOEXEC; poll it for POLLIN. */
int nvv_hotplug_get_fd(const struct nvv_hotplug *h);
/* Handle every pending event; returns how many reached the callback. */
int nvv_hotplug_process(struct nvv_hotplug *h);

/* Is this uevent (PCI_ID "10DE:2335", PCI_CLASS "30200") an NVIDIA display function?
 * Pure, for the filter and its tests. */
int nvv_hotplug_parse_ids(const char *pci_id, const char *pci_class, uint16_t *ret_device,
                          uint32_t *ret_class);
