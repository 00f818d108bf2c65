/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nvv-hotplug.h"
#include "nvv-sysfs.h"
#include "util.h"

struct nvv_hotplug {
        struct udev *udev;
        struct udev_monitor *mon;
        nvv_hotplug_fn fn;
        void *userdata;
};

static const char *const action_names[_NVV_HOTPLUG_ACTION_MAX] = {
        [NVV_HOTPLUG_ADD] = "add",
        [NVV_HOTPLUG_REMOVE] = "remove",
        [NVV_HOTPLUG_BIND] = "bind",
        [NVV_HOTPLUG_UNBIND] = "unbind",
        [NVV_HOTPLUG_CHANGE] = "change",
};

DEFINE_STRING_TABLE_LOOKUP(nvv_hotplug_action, enum nvv_hotplug_action, action_names, _NVV_HOTPLUG_ACTION_MAX, _NVV_HOTPLUG_ACTION_INVALID)

int nvv_hotplug_parse_ids(const char *pci_id, const char *pci_class, uint16_t *ret_device,
                          uint32_t *ret_class)
{
        char ven[7] = "0x", dev[7] = "0x", cls[9] = "0x";
        uint32_t v, d, c;

        /* PCI_ID=10DE:2335  PCI_CLASS=30200 (hex, no prefix, leading zeros dropped) */
        if (!pci_id || !pci_class || strlen(pci_id) != 9 || pci_id[4] != ':')
                return -EINVAL;
        memcpy(ven + 2, pci_id, 4);
        memcpy(dev + 2, pci_id + 5, 4);
        if (strlen(pci_class) == 0 || strlen(pci_class) > 6)
                return -EINVAL;
        strcpy(cls + 2, pci_class);
        if (nvv_sysfs_parse_hex(ven, 16, &v) < 0 || nvv_sysfs_parse_hex(dev, 16, &d) < 0 ||
            nvv_sysfs_parse_hex(cls, 24, &c) < 0)
                return -EINVAL;
        if (v != 0x10de || ((c >> 8) != 0x0300 && (c >> 8) != 0x0302))
                return -ENODEV;
        if (ret_device)
                *ret_device = (uint16_t) d;
        if (ret_class)
                *ret_class = c;
        return 0;
}

int nvv_hotplug_new(nvv_hotplug_fn fn, void *userdata, struct nvv_hotplug **ret)
{
        _cleanup_(nvv_hotplug_freep) struct nvv_hotplug *h = NULL;
        int fd, fl, r;

        assert_return(fn && ret, -EINVAL);
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->fn = fn;
        h->userdata = userdata;
        h->udev = udev_new();
        if (!h->udev)
                return -ENOMEM;
        h->mon = udev_monitor_new_from_netlink(h->udev, "udev");
        if (!h->mon)
                return log_debug_errno(-EIO, "cannot open the udev monitor");
        r = udev_monitor_filter_add_match_subsystem_devtype(h->mon, "pci", NULL);
        if (r >= 0)
                r = udev_monitor_enable_receiving(h->mon);
        if (r < 0)
                return log_debug_errno(r, "udev monitor: %s", strerror(-r));
        fd = udev_monitor_get_fd(h->mon);
        /* libudev opens it non-blocking and close-on-exec; make sure. */
        fl = fcntl(fd, F_GETFD);
        if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
                return -errno;
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
                return -errno;
        *ret = TAKE_PTR(h);
        return 0;
}

struct nvv_hotplug *nvv_hotplug_free(struct nvv_hotplug *h)
{
        if (!h)
                return NULL;
        if (h->mon)
                udev_monitor_unref(h->mon);
        if (h->udev)
                udev_unref(h->udev);
        free(h);
        return NULL;
}

int nvv_hotplug_get_fd(const struct nvv_hotplug *h)
{
        assert_return(h, -EINVAL);
        return udev_monitor_get_fd(h->mon);
}

int nvv_hotplug_process(struct nvv_hotplug *h)
{
        int n = 0;

        assert_return(h, -EINVAL);
        for (;;) {
                struct udev_device *d = udev_monitor_receive_device(h->mon);
                struct nvv_hotplug_event ev = {};
                const char *action, *name, *driver;

                if (!d)
                        break;
                action = udev_device_get_action(d);
                ev.action = nvv_hotplug_action_from_string(action);
                ev.syspath = udev_device_get_syspath(d);
                name = udev_device_get_sysname(d);
                if (ev.action < 0 || !ev.syspath || !name || nvv_sysfs_parse_bdf(name, ev.bdf) < 0 ||
                    nvv_hotplug_parse_ids(udev_device_get_property_value(d, "PCI_ID"),
                                          udev_device_get_property_value(d, "PCI_CLASS"), &ev.device,
                                          &ev.pci_class) < 0) {
                        udev_device_unref(d);
                        continue;
                }
                driver = udev_device_get_property_value(d, "DRIVER");
                ev.driver = ev.action == NVV_HOTPLUG_UNBIND || ev.action == NVV_HOTPLUG_REMOVE ? NULL : driver;
                /* A VF has a physfn link (gone already on remove). */
                if (ev.action != NVV_HOTPLUG_REMOVE) {
                        struct udev_list_entry *e;

                        udev_list_entry_foreach(e, udev_device_get_sysattr_list_entry(d))
                                if (streq(udev_list_entry_get_name(e), "physfn"))
                                        ev.is_vf = true;
                }
                h->fn(&ev, h->userdata);
                n++;
                udev_device_unref(d);
        }
        return n;
}
