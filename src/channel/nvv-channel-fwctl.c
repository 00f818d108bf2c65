/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fwctl transport: FWCTL_INFO names the GPU and its release, FWCTL_RPC carries one RPC;
 * events come over generic netlink. Device files are reached only through nvv-seam. */
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "nvv-channel.h"
#include "nvv-evqueue.h"
#include "nvv-fwctl.h"
#include "nvv-genl.h"
#include "nvv-seam.h"
#include "util.h"

#define MAX_FWCTL_DEVICES 4096

struct fwctl_transport {
        int fd;
        uint32_t dbdf;
        uint32_t scope;           /* the upstream interface's (nvv-vmgmt.h) */
        struct nvv_genl *genl;
        struct nvv_evqueue events;
};

static int fwctl_rpc(void *userdata, const void *req, size_t len, uint32_t sequence, int timeout_ms, void *reply,
                     size_t reply_cap, size_t *ret_len, char *err, size_t errlen)
{
        struct fwctl_transport *t = userdata;
        struct nvv_fwctl_rpc rpc = {
                .size = sizeof(rpc),
                .scope = NVV_FWCTL_RPC_CONFIGURATION,
                .in_len = (uint32_t) len,
                .out_len = (uint32_t) MIN(reply_cap, (size_t) NVV_FWCTL_MAX_RPC_LEN),
                .in = (uintptr_t) req,
                .out = (uintptr_t) reply,
        };
        int r;

        /* The core driver applies its own timeout to the firmware; fwctl has no field for ours. */
        (void) timeout_ms;
        (void) sequence;
        if (len > NVV_FWCTL_MAX_RPC_LEN) {
                nvv_errf(err, errlen, "RPC of %zu bytes is larger than fwctl's %u", len, NVV_FWCTL_MAX_RPC_LEN);
                return -EMSGSIZE;
        }
        r = nvv_seam_ioctl(t->fd, NVV_FWCTL_RPC, &rpc);
        if (r < 0) {
                switch (r) {
                case -ENODEV:
                        nvv_errf(err, errlen, "the GPU went away (fwctl: ENODEV)");
                        break;
                case -ETIMEDOUT:
                        nvv_errf(err, errlen, "the core driver timed out waiting for the firmware");
                        break;
                case -EMSGSIZE:
                        nvv_errf(err, errlen, "the core driver refused the RPC's size");
                        break;
                default:
                        nvv_errf(err, errlen, "FWCTL_RPC: %s", strerror(-r));
                        break;
                }
                return r;
        }
        if (rpc.out_len > reply_cap || rpc.out_len == 0) {
                nvv_errf(err, errlen, "FWCTL_RPC returned %u bytes for a %zu-byte buffer", rpc.out_len, reply_cap);
                return -EBADMSG;
        }
        *ret_len = rpc.out_len;
        return 0;
}

static void on_genl_event(void *userdata, const struct nvv_genl_event *ev)
{
        struct fwctl_transport *t = userdata;

        if (ev->gpu == t->dbdf)
                (void) nvv_evqueue_push(&t->events, ev->rpc, ev->len);
}

static int fwctl_subscribe(void *userdata, char *err, size_t errlen)
{
        struct fwctl_transport *t = userdata;

        if (t->genl)
                return 0;
        return nvv_genl_open(&t->genl, err, errlen);
}

static int fwctl_get_fd(void *userdata)
{
        struct fwctl_transport *t = userdata;

        return t->genl ? nvv_genl_get_fd(t->genl) : -1;
}

static int fwctl_next_event(void *userdata, uint8_t **ret_rpc, size_t *ret_len)
{
        struct fwctl_transport *t = userdata;

        if (t->genl && t->events.n == 0)
                (void) nvv_genl_receive(t->genl, on_genl_event, t);
        return nvv_evqueue_pop(&t->events, ret_rpc, ret_len);
}

static void fwctl_close(void *userdata)
{
        struct fwctl_transport *t = userdata;

        if (!t)
                return;
        safe_close(t->fd);
        nvv_genl_close(t->genl);
        nvv_evqueue_clear(&t->events);
        free(t);
}

static const struct nvv_transport fwctl_transport_ops = {
        .name = "fwctl",
        .rpc = fwctl_rpc,
        .subscribe = fwctl_subscribe,
        .get_fd = fwctl_get_fd,
        .next_event = fwctl_next_event,
        .close = fwctl_close,
};

/* The upstream interface: the same ioctl at its scope; EIO and EPERM are verdicts the
 * channel reads, so they pass as they are. It has no events. */
static int fwctl_vmgmt_rpc(void *userdata, const void *req, size_t len, uint32_t sequence, int timeout_ms, void *reply,
                           size_t reply_cap, size_t *ret_len, char *err, size_t errlen)
{
        struct fwctl_transport *t = userdata;
        struct nvv_fwctl_rpc rpc = {
                .size = sizeof(rpc),
                .scope = t->scope,
                .in_len = (uint32_t) len,
                .out_len = (uint32_t) MIN(reply_cap, (size_t) NVV_FWCTL_MAX_RPC_LEN),
                .in = (uintptr_t) req,
                .out = (uintptr_t) reply,
        };
        int r;

        (void) sequence;
        (void) timeout_ms;
        if (len > NVV_FWCTL_MAX_RPC_LEN) {
                nvv_errf(err, errlen, "RPC of %zu bytes is larger than fwctl's %u", len, NVV_FWCTL_MAX_RPC_LEN);
                return -EMSGSIZE;
        }
        r = nvv_seam_ioctl(t->fd, NVV_FWCTL_RPC, &rpc);
        if (r < 0) {
                if (r == -ENODEV)
                        nvv_errf(err, errlen, "the GPU went away (fwctl: ENODEV)");
                else
                        nvv_errf(err, errlen, "FWCTL_RPC: %s", strerror(-r));
                return r;
        }
        /* fwctl sets out_len to the reply's length, which may exceed what it could copy. */
        if (rpc.out_len > reply_cap) {
                nvv_errf(err, errlen, "FWCTL_RPC: a reply of %u bytes for a %zu-byte buffer", rpc.out_len, reply_cap);
                return -EBADMSG;
        }
        *ret_len = rpc.out_len;
        return 0;
}

/* The interface defines no events: subscribing succeeds and nothing ever comes. */
static int fwctl_vmgmt_subscribe(void *userdata, char *err, size_t errlen)
{
        (void) userdata;
        (void) err;
        (void) errlen;
        return 0;
}

static const struct nvv_transport fwctl_vmgmt_ops = {
        .name = "fwctl (vGPU management)",
        .rpc = fwctl_vmgmt_rpc,
        .subscribe = fwctl_vmgmt_subscribe,
        .close = fwctl_close,
};

/* One small sysfs attribute of the fwctl device's parent (through the seam); "" if absent. */
static void read_parent_attr(const char *dev_path, const char *attr, char *buf, size_t size)
{
        const char *name = strrchr(dev_path, '/');
        char path[PATH_MAX];
        ssize_t n;
        int fd;

        buf[0] = 0;
        name = name ? name + 1 : dev_path;
        if (snprintf(path, sizeof(path), "/sys/class/fwctl/%s/device/%s", name, attr) >= (int) sizeof(path))
                return;
        fd = nvv_seam_open(path, O_RDONLY);
        if (fd < 0)
                return;
        n = read(fd, buf, size - 1);
        close(fd);
        buf[n > 0 ? n : 0] = 0;
}

/*
 * The upstream nova-core driver (NVIDIA's 2026 development tree, drivers/gpu/nova-core/fwctl.rs)
 * has no device data: the GPU is its fwctl device's parent in sysfs, whose uevent names the
 * slot (PCI_SLOT_NAME, drivers/pci/pci-driver.c) and whose vendor/device/sriov_offset/
 * sriov_stride are the kernel's usual attributes (drivers/pci/pci-sysfs.c, iov.c).
 */
static int upstream_info(const char *path, struct nvv_channel_info *info, uint32_t *ret_dbdf, char **reterr)
{
        char buf[1024], *slot;
        unsigned dom, bus, dev, fn, v = 0, d = 0, off = 0, stride = 0;

        memset(info, 0, sizeof(*info));
        read_parent_attr(path, "uevent", buf, sizeof(buf));
        slot = strstr(buf, "PCI_SLOT_NAME=");
        if (!slot || sscanf(slot + 14, "%4x:%2x:%2x.%1x", &dom, &bus, &dev, &fn) != 4 || dev > 0x1f || fn > 7)
                return nvv_fail(reterr, "%s: a nova-core fwctl device whose parent is no PCI device (no PCI_SLOT_NAME in "
                                "/sys/class/fwctl/.../device/uevent)", path);
        read_parent_attr(path, "vendor", buf, sizeof(buf));
        (void) sscanf(buf, "%x", &v);
        read_parent_attr(path, "device", buf, sizeof(buf));
        (void) sscanf(buf, "%x", &d);
        read_parent_attr(path, "sriov_offset", buf, sizeof(buf));
        (void) sscanf(buf, "%u", &off);
        read_parent_attr(path, "sriov_stride", buf, sizeof(buf));
        (void) sscanf(buf, "%u", &stride);
        info->vendor = (uint16_t) v;
        info->device = (uint16_t) d;
        snprintf(info->bdf, sizeof(info->bdf), "%04x:%02x:%02x.%x", dom & 0xffff, bus, dev, fn);
        snprintf(info->model, sizeof(info->model), "%04x:%04x", info->vendor, info->device);
        info->vmgmt = true;
        info->vf_offset = (uint16_t) off;
        info->vf_stride = (uint16_t) stride;
        *ret_dbdf = (dom & 0xffff) << 16 | bus << 8 | dev << 3 | fn;
        return 0;
}

/* FWCTL_INFO, checked: untrusted like everything from the other side. A nova-core device
 * with no device data is the upstream interface (*ret_upstream). */
static int query_info(int fd, const char *path, struct nvv_channel_info *info, uint32_t *ret_dbdf, bool *ret_upstream,
                      char **reterr)
{
        struct nvv_fwctl_vgpu_info data;
        struct nvv_fwctl_info fi = {
                .size = sizeof(fi),
                .device_data_len = sizeof(data),
                .out_device_data = (uintptr_t) &data,
        };
        int r;

        memset(&data, 0, sizeof(data));
        r = nvv_seam_ioctl(fd, NVV_FWCTL_INFO, &fi);
        if (r < 0) {
                nvv_fail(reterr, "%s: FWCTL_INFO failed: %s", path, strerror(-r));
                return r;
        }
        if (fi.out_device_type != NVV_FWCTL_DEVICE_TYPE_NOVA_CORE)
                return nvv_fail(reterr, "%s is not a nova-core device (fwctl device type %u)", path, fi.out_device_type);
        if (fi.device_data_len == 0) {
                *ret_upstream = true;
                return upstream_info(path, info, ret_dbdf, reterr);
        }
        if (fi.device_data_len < sizeof(data))
                return nvv_fail(reterr, "%s: the core driver gave %u bytes of device data, the contract has %zu", path,
                            fi.device_data_len, sizeof(data));
        if (data.version != NVV_FWCTL_VGPU_INFO_VERSION)
                return nvv_fail(reterr, "%s: device data version %u, expected %u", path, data.version,
                            NVV_FWCTL_VGPU_INFO_VERSION);
        if (!memchr(data.firmware_release, '\0', sizeof(data.firmware_release)) ||
            !nvv_release_is_valid(data.firmware_release) || strlen(data.firmware_release) >= sizeof(info->release))
                return nvv_fail(reterr, "%s: the core driver reports no valid firmware release", path);
        memset(info, 0, sizeof(*info));
        info->vendor = data.pci_vendor;
        info->device = data.pci_device;
        snprintf(info->bdf, sizeof(info->bdf), "%04x:%02x:%02x.%x", data.pci_dbdf >> 16, (data.pci_dbdf >> 8) & 0xff,
                 (data.pci_dbdf >> 3) & 0x1f, data.pci_dbdf & 7);
        memcpy(info->release, data.firmware_release, strlen(data.firmware_release) + 1);
        snprintf(info->model, sizeof(info->model), "%04x:%04x", data.pci_vendor, data.pci_device);
        info->handles.client = data.h_client;
        info->handles.device = data.h_device;
        info->handles.subdevice = data.h_subdevice;
        *ret_dbdf = data.pci_dbdf;
        return 0;
}

int nvv_channel_open_fwctl(const char *dev_path, const struct nvv_fwdb *db, struct nvv_channel **ret,
                           char **reterr_msg)
{
        struct nvv_channel_info info;
        struct fwctl_transport *t;
        bool upstream = false;
        uint32_t dbdf = 0;
        int fd, r;

        fd = nvv_seam_open(dev_path, O_RDWR);
        if (fd < 0) {
                nvv_fail(reterr_msg, "cannot open %s: %s", dev_path, strerror(-fd));
                return fd;
        }
        r = query_info(fd, dev_path, &info, &dbdf, &upstream, reterr_msg);
        if (r < 0) {
                close(fd);
                return r;
        }
        if (upstream) {
                const struct nvv_vmgmt *vm = nvv_fwdb_vmgmt_match(db, NULL, reterr_msg);

                if (!vm) {
                        close(fd);
                        return -EOPNOTSUPP;
                }
        }
        t = calloc(1, sizeof(*t));
        if (!t) {
                close(fd);
                return -ENOMEM;
        }
        t->fd = fd;
        t->dbdf = dbdf;
        if (upstream) {
                const struct nvv_vmgmt *vm = nvv_fwdb_vmgmt_match(db, NULL, NULL);

                t->scope = nvv_vmgmt_get_scope(vm);
                return nvv_channel_open_vmgmt(&info, &fwctl_vmgmt_ops, t, vm, ret, reterr_msg);
        }
        return nvv_channel_open(&info, &fwctl_transport_ops, t, db, ret, reterr_msg);
}

int nvv_channel_list_fwctl(const char *dir, char ***ret_paths, char **reterr_msg)
{
        _cleanup_strv_free_ char **names = NULL, **paths = NULL;
        int r;

        r = nvv_dir_list(dir, "fwctl", NULL, MAX_FWCTL_DEVICES, &names);
        if (r == -ENOENT)
                return nvv_fail_errno(r, reterr_msg, "%s does not exist: no fwctl devices (is the fwctl subsystem in this kernel?)", dir);
        if (r == -E2BIG)
                return nvv_fail_errno(r, reterr_msg, "%s: more than %d fwctl devices", dir, MAX_FWCTL_DEVICES);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "cannot read %s: %s", dir, strerror(-r));
        paths = calloc(1, sizeof(char *));
        if (!paths)
                return -ENOMEM;
        for (size_t i = 0; names[i]; i++) {
                char *p;

                if (asprintf(&p, "%s/%s", dir, names[i]) < 0 || strv_push(&paths, p) < 0)
                        return -ENOMEM;
        }
        *ret_paths = TAKE_PTR(paths);
        return 0;
}
