/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <libudev.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nvv-host.h"
#include "util.h"

static void *mfree(void *p)
{
        free(p);
        return NULL;
}

static const char *const issue_names[_NVV_HOST_ISSUE_MAX] = {
        [NVV_HOST_ISSUE_MODEL] = "unknown-model",
        [NVV_HOST_ISSUE_SRIOV] = "no-sriov",
        [NVV_HOST_ISSUE_SRIOV_VFS] = "too-few-vfs",
        [NVV_HOST_ISSUE_DRIVER] = "driver",
        [NVV_HOST_ISSUE_IOMMU] = "no-iommu-group",
        [NVV_HOST_ISSUE_FIRMWARE] = "firmware",
        [NVV_HOST_ISSUE_SYSFS] = "sysfs",
};

const char *nvv_host_issue_to_string(enum nvv_host_issue i)
{
        return i >= 0 && i < _NVV_HOST_ISSUE_MAX ? issue_names[i] : NULL;
}

struct nvv_host_gpu *nvv_host_gpu_free(struct nvv_host_gpu *g)
{
        if (!g)
                return NULL;
        for (size_t i = 0; i < g->n_reasons; i++)
                free(g->reasons[i].message);
        free(g->reasons);
        free(g->devpath);
        free(g->driver);
        strv_free(g->vfs);
        free(g->firmware);
        free(g);
        return NULL;
}

struct nvv_host *nvv_host_free(struct nvv_host *h)
{
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n; i++)
                nvv_host_gpu_free(h->gpus[i]);
        free(h->gpus);
        strv_free(h->warnings);
        free(h);
        return NULL;
}

_printf_(3, 4) static int add_reason(struct nvv_host_gpu *g, enum nvv_host_issue issue, const char *fmt, ...)
{
        struct nvv_host_reason *n;
        char *msg;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        n = realloc(g->reasons, (g->n_reasons + 1) * sizeof(*n));
        if (!n) {
                free(msg);
                return -ENOMEM;
        }
        g->reasons = n;
        g->reasons[g->n_reasons++] = (struct nvv_host_reason) { issue, msg };
        return 0;
}

_printf_(2, 3) static int add_warning(char ***warnings, const char *fmt, ...)
{
        char *msg;
        va_list ap;
        int k;

        if (!warnings)
                return 0;
        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        return strv_push(warnings, msg);
}

/* Printable copy of an attribute for messages: at most 32 characters, controls escaped. */
static void quote_attr(const char *s, char out[static 40])
{
        size_t o = 0;

        for (size_t i = 0; s && s[i] && o < 32; i++)
                out[o++] = isprint((unsigned char) s[i]) ? s[i] : '?';
        if (s && strlen(s) > 32)
                memcpy(out + o, "...", 4);
        else
                out[o] = '\0';
}

static char *path_join(const char *a, const char *b)
{
        char *p;

        return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

/* Read attr; returns 1 with *ret when present, 0 when absent, <0 on other errors. */
static int read_opt(const struct nvv_sysfs *sys, const char *devpath, const char *attr, char **ret)
{
        _cleanup_free_ char *p = path_join(devpath, attr);
        int r;

        if (!p)
                return -ENOMEM;
        r = nvv_sysfs_read_attr(sys, p, 0, ret);
        if (r == -ENOENT)
                return 0;
        return r < 0 ? r : 1;
}

static int link_name(const struct nvv_sysfs *sys, const char *devpath, const char *attr, char **ret)
{
        _cleanup_free_ char *p = path_join(devpath, attr);
        int r;

        if (!p)
                return -ENOMEM;
        r = nvv_sysfs_read_link_name(sys, p, ret);
        if (r == -ENOENT)
                return 0;
        return r < 0 ? r : 1;
}

int nvv_host_parse_driver_information(const char *text, char **ret_firmware)
{
        const char *line = text;

        assert_return(text && ret_firmware, -EINVAL);
        while (*line) {
                const char *eol = strchr(line, '\n');
                size_t len = eol ? (size_t) (eol - line) : strlen(line);

                if (len > 13 && strncmp(line, "GPU Firmware:", 13) == 0) {
                        const char *v = line + 13, *end = line + len;
                        char *fw;

                        while (v < end && (*v == ' ' || *v == '\t'))
                                v++;
                        while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
                                end--;
                        if (end == v || end - v > 63)
                                return -EBADMSG;
                        fw = strndup(v, (size_t) (end - v));
                        if (!fw)
                                return -ENOMEM;
                        if (!nvv_release_is_valid(fw)) {
                                free(fw);
                                return -EBADMSG;
                        }
                        *ret_firmware = fw;
                        return 0;
                }
                if (!eol)
                        break;
                line = eol + 1;
        }
        return -ENOENT;
}

/* Where the NVIDIA driver's per-GPU information comes from: a procfs, or the text of a
 * capture (shared/fixtures: host/proc-driver-nvidia-gpus-information.txt, sections headed
 * "== /proc/driver/nvidia/gpus/BDF/information"). */
struct drvinfo {
        const struct nvv_sysfs *proc;
        const char *capture;
        const char *capture_name;
        const char *capture_error; /* why a capture that is there could not be used */
};

/* Why a driver information file could not be read, for a reason naming it. */
static const char *drvinfo_error(int r, char buf[static 64])
{
        if (r == -EFBIG) {
                snprintf(buf, 64, "larger than %u KiB, the most read", NVV_HOST_DRIVER_INFO_MAX / 1024);
                return buf;
        }
        return nvv_sysfs_strerror(r);
}

int nvv_host_capture_information(const char *capture, const char *bdf, char **ret_text)
{
        _cleanup_free_ char *head = NULL;
        const char *at, *end;

        assert_return(capture && bdf && ret_text, -EINVAL);
        if (asprintf(&head, "== /proc/driver/nvidia/gpus/%s/information\n", bdf) < 0)
                return -ENOMEM;
        at = strstr(capture, head);
        if (!at || (at != capture && at[-1] != '\n'))
                return -ENOENT;
        at += strlen(head);
        end = strstr(at, "\n== ");
        *ret_text = strndup(at, end ? (size_t) (end - at + 1) : strlen(at));
        return *ret_text ? 0 : -ENOMEM;
}

static int probe_firmware(struct nvv_host_gpu *g, const struct drvinfo *info, const struct nvv_fwdb *fwdb,
                          char ***warnings)
{
        _cleanup_free_ char *path = NULL, *text = NULL, *near = NULL;
        const struct nvv_sysfs *proc = info ? info->proc : NULL;
        char buf[64];
        int r;

        if (info && info->capture_error)
                return add_reason(g, NVV_HOST_ISSUE_FIRMWARE, "GSP firmware release unknown: %s: %s",
                                  info->capture_name, info->capture_error);
        if (info && info->capture) {
                r = nvv_host_capture_information(info->capture, g->bdf, &text);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return add_reason(g, NVV_HOST_ISSUE_FIRMWARE,
                                          "GSP firmware release unknown: %s has no information for %s",
                                          info->capture_name, g->bdf);
                goto parse;
        }
        if (!proc)
                return add_reason(g, NVV_HOST_ISSUE_FIRMWARE,
                                  "GSP firmware release unknown: no procfs to read the NVIDIA driver's "
                                  "information from");
        if (asprintf(&path, "driver/nvidia/gpus/%s/information", g->bdf) < 0)
                return -ENOMEM;
        r = nvv_sysfs_read_attr(proc, path, NVV_HOST_DRIVER_INFO_MAX, &text);
        if (r < 0) {
                if (!g->driver || !streq(g->driver, "nvidia"))
                        return add_reason(g, NVV_HOST_ISSUE_FIRMWARE,
                                          "GSP firmware release unknown: only the NVIDIA driver reports it");
                return add_reason(g, NVV_HOST_ISSUE_FIRMWARE,
                                  "GSP firmware release unknown: %s/%s: %s", nvv_sysfs_get_root(proc), path,
                                  drvinfo_error(r, buf));
        }
parse:
        r = nvv_host_parse_driver_information(text, &g->firmware);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return add_reason(g, NVV_HOST_ISSUE_FIRMWARE,
                                  "GSP firmware release unknown: the driver information has no valid "
                                  "'GPU Firmware:' line");
        if (!fwdb)
                return 0;
        g->fwabi = nvv_fwdb_match(fwdb, g->firmware, &near);
        if (!g->fwabi)
                return add_reason(g, NVV_HOST_ISSUE_FIRMWARE, "GSP firmware %s has no release description: %s",
                                  g->firmware, near ? near : "none known");
        (void) warnings;
        return 0;
}

static int probe_sriov(struct nvv_host_gpu *g, const struct nvv_sysfs *sys, char ***warnings)
{
        _cleanup_free_ char *total = NULL, *num = NULL;
        _cleanup_strv_free_ char **entries = NULL;
        char q[40];
        int r;

        r = read_opt(sys, g->devpath, "sriov_totalvfs", &total);
        if (r < 0 && r != -EFBIG && r != -EBADMSG)
                return r;
        if (r == 0)
                return 0;
        if (r < 0 || nvv_sysfs_parse_u32(total, &g->sriov_total_vfs) < 0) {
                quote_attr(total, q);
                return add_reason(g, NVV_HOST_ISSUE_SYSFS, "sysfs attribute 'sriov_totalvfs' holds garbage ('%s')",
                                  r < 0 ? "too long" : q);
        }
        g->sriov_capable = true;
        r = read_opt(sys, g->devpath, "sriov_numvfs", &num);
        if (r == -ENOMEM)
                return r;
        if (r > 0 && nvv_sysfs_parse_u32(num, &g->sriov_num_vfs) < 0) {
                quote_attr(num, q);
                r = add_reason(g, NVV_HOST_ISSUE_SYSFS, "sysfs attribute 'sriov_numvfs' holds garbage ('%s')", q);
                if (r < 0)
                        return r;
        } else if (r < 0)
                (void) add_warning(warnings, "%s: sriov_numvfs: %s, taken as 0", g->bdf, strerror(-r));

        /* VFs: virtfnN links to the VF functions. */
        r = nvv_sysfs_list_dir(sys, g->devpath, &entries);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        for (char **e = entries; *e; e++) {
                _cleanup_free_ char *name = NULL;
                char bdf[13];

                if (!startswith(*e, "virtfn"))
                        continue;
                r = link_name(sys, g->devpath, *e, &name);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        (void) add_warning(warnings, "%s: %s: %s, ignored", g->bdf, *e, nvv_sysfs_strerror(r));
                        continue;
                }
                if (r == 0 || nvv_sysfs_parse_bdf(name, bdf) < 0) {
                        (void) add_warning(warnings, "%s: %s does not name a PCI function, ignored", g->bdf, *e);
                        continue;
                }
                r = strv_extend(&g->vfs, bdf);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int probe(const struct nvv_sysfs *sys, const struct drvinfo *info, const struct nvv_catalog *catalog,
                 const struct nvv_fwdb *fwdb, const char *devpath, struct nvv_host_gpu **ret, char ***warnings)
{
        _cleanup_(nvv_host_gpu_freep) struct nvv_host_gpu *g = NULL;
        _cleanup_free_ char *vendor = NULL, *device = NULL, *cls = NULL, *tmp = NULL, *physfn = NULL;
        const char *base;
        uint32_t v, d, c;
        char q[40];
        int r;

        assert_return(sys && devpath && ret, -EINVAL);
        *ret = NULL;
        base = strrchr(devpath, '/');
        base = base ? base + 1 : devpath;

        r = read_opt(sys, devpath, "vendor", &vendor);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return add_warning(warnings, "%s: 'vendor' attribute: %s, skipped", base, nvv_sysfs_strerror(r));
        if (r == 0)
                return add_warning(warnings, "%s: no 'vendor' attribute, skipped", base);
        if (nvv_sysfs_parse_hex(vendor, 16, &v) < 0) {
                quote_attr(vendor, q);
                return add_warning(warnings, "%s: vendor '%s' is not a PCI id, skipped", base, q);
        }
        if (v != 0x10de)
                return 0;
        r = read_opt(sys, devpath, "class", &cls);
        if (r < 0 && r != -ENOMEM)
                return add_warning(warnings, "%s: NVIDIA function whose 'class' attribute is unreadable (%s), skipped",
                                   base, nvv_sysfs_strerror(r));
        if (r <= 0 || nvv_sysfs_parse_hex(cls, 24, &c) < 0) {
                quote_attr(r > 0 ? cls : "", q);
                return r == -ENOMEM ? r : add_warning(warnings, "%s: NVIDIA function with unreadable class '%s', skipped", base, q);
        }
        if ((c >> 8) != 0x0300 && (c >> 8) != 0x0302)
                return 0; /* audio, USB, bridges ... */
        /* VFs are listed under their physical function. */
        r = link_name(sys, devpath, "physfn", &physfn);
        if (r == -ENOMEM)
                return r;
        if (r > 0)
                return 0;
        if (r < 0)
                return add_warning(warnings, "%s: physfn link: %s, skipped", base, nvv_sysfs_strerror(r));

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->iommu_group = -1;
        g->numa_node = -1;
        g->vendor = (uint16_t) v;
        g->pci_class = c;
        g->devpath = strdup(devpath);
        if (!g->devpath)
                return -ENOMEM;
        if (nvv_sysfs_parse_bdf(base, g->bdf) < 0)
                return add_warning(warnings, "%s: not a PCI address, skipped", base);
        r = read_opt(sys, devpath, "device", &device);
        if (r < 0 && r != -ENOMEM)
                return add_warning(warnings, "%s: NVIDIA function whose 'device' attribute is unreadable (%s), skipped",
                                   g->bdf, nvv_sysfs_strerror(r));
        if (r <= 0 || nvv_sysfs_parse_hex(device, 16, &d) < 0) {
                quote_attr(r > 0 ? device : "", q);
                return r == -ENOMEM ? r : add_warning(warnings, "%s: NVIDIA function with unreadable device id '%s', skipped", g->bdf, q);
        }
        g->device = (uint16_t) d;
        if (read_opt(sys, devpath, "subsystem_vendor", &tmp) > 0 && nvv_sysfs_parse_hex(tmp, 16, &v) >= 0)
                g->subsystem_vendor = (uint16_t) v;
        tmp = mfree(tmp);
        if (read_opt(sys, devpath, "subsystem_device", &tmp) > 0 && nvv_sysfs_parse_hex(tmp, 16, &v) >= 0)
                g->subsystem_device = (uint16_t) v;
        tmp = mfree(tmp);

        r = link_name(sys, devpath, "driver", &g->driver);
        if (r < 0 && r != -ENOMEM) {
                (void) add_warning(warnings, "%s: driver link unreadable (%s)", g->bdf, nvv_sysfs_strerror(r));
                g->driver = NULL;
        } else if (r == -ENOMEM)
                return r;
        r = link_name(sys, devpath, "iommu_group", &tmp);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                (void) add_warning(warnings, "%s: iommu_group link unreadable (%s)", g->bdf, nvv_sysfs_strerror(r));
        if (r > 0) {
                if (nvv_sysfs_parse_int(tmp, &g->iommu_group) < 0 || g->iommu_group < 0) {
                        quote_attr(tmp, q);
                        (void) add_warning(warnings, "%s: iommu_group link '%s' is not a group number", g->bdf, q);
                        g->iommu_group = -1;
                }
        }
        tmp = mfree(tmp);
        r = read_opt(sys, devpath, "numa_node", &tmp);
        if (r == -ENOMEM)
                return r;
        if (r > 0 && (nvv_sysfs_parse_int(tmp, &g->numa_node) < 0 || g->numa_node < -1)) {
                quote_attr(tmp, q);
                (void) add_warning(warnings, "%s: numa_node '%s' is not a node number, ignored", g->bdf, q);
                g->numa_node = -1;
        }
        tmp = mfree(tmp);

        r = probe_sriov(g, sys, warnings);
        if (r < 0)
                return r;

        g->model = nvv_catalog_find_pci(catalog, g->vendor, g->device, g->subsystem_vendor, g->subsystem_device);
        if (g->model) {
                g->fb_total = g->model->fb_total;
                g->fb_source = NVV_FB_CATALOG;
        }

        /* Every reason, in the order a person fixes them. */
        if (!g->model) {
                char sub[32] = "";

                /* The catalog may tell boards of one device id apart by subsystem: say which. */
                if (g->subsystem_vendor != 0 || g->subsystem_device != 0)
                        snprintf(sub, sizeof(sub), " (subsystem %04x:%04x)", g->subsystem_vendor, g->subsystem_device);
                r = add_reason(g, NVV_HOST_ISSUE_MODEL,
                               "10de:%04x%s is not in the GPU catalog: nvvgpu does not know its vGPU types", g->device, sub);
                if (r < 0)
                        return r;
        } else if (g->model->sriov && !g->sriov_capable) {
                bool garbage = false;

                for (size_t i = 0; i < g->n_reasons; i++)
                        garbage = garbage || g->reasons[i].issue == NVV_HOST_ISSUE_SYSFS;
                if (!garbage) {
                        r = add_reason(g, NVV_HOST_ISSUE_SRIOV,
                                       "no SR-IOV capability visible (no sriov_totalvfs attribute): the GPU is "
                                       "passed through whole to this machine, or SR-IOV is off in its firmware "
                                       "or the BIOS; the %s hosts vGPUs on SR-IOV virtual functions",
                                       g->model->short_name);
                        if (r < 0)
                                return r;
                }
        } else if (g->model->sriov && g->sriov_total_vfs < 2) {
                r = add_reason(g, NVV_HOST_ISSUE_SRIOV_VFS,
                               "SR-IOV offers %u virtual function%s; vGPU needs at least 2",
                               g->sriov_total_vfs, g->sriov_total_vfs == 1 ? "" : "s");
                if (r < 0)
                        return r;
        }
        r = 0;
        if (!g->driver)
                r = add_reason(g, NVV_HOST_ISSUE_DRIVER,
                               "no driver is bound: the NVIDIA driver (nvidia) must drive the physical function");
        else if (streq(g->driver, "vfio-pci"))
                r = add_reason(g, NVV_HOST_ISSUE_DRIVER,
                               "bound to vfio-pci, i.e. set up for pass-through: the NVIDIA driver (nvidia) "
                               "must drive the physical function");
        else if (!streq(g->driver, "nvidia"))
                r = add_reason(g, NVV_HOST_ISSUE_DRIVER,
                               "bound to '%s': the NVIDIA driver (nvidia) must drive the physical function",
                               g->driver);
        if (r < 0)
                return r;
        if (g->iommu_group < 0) {
                r = add_reason(g, NVV_HOST_ISSUE_IOMMU,
                               "no IOMMU group: the IOMMU is off (intel_iommu=on or amd_iommu=on) or not "
                               "exposed to this machine; vGPUs cannot be given to VMs without it");
                if (r < 0)
                        return r;
        }
        r = probe_firmware(g, info, fwdb, warnings);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(g);
        return 0;
}

int nvv_host_probe(const struct nvv_sysfs *sys, const struct nvv_sysfs *proc,
                   const struct nvv_catalog *catalog, const struct nvv_fwdb *fwdb, const char *devpath,
                   struct nvv_host_gpu **ret, char ***warnings)
{
        struct drvinfo info = { .proc = proc };

        return probe(sys, &info, catalog, fwdb, devpath, ret, warnings);
}

static int cmp_gpu(const void *a, const void *b)
{
        return strcmp((*(struct nvv_host_gpu *const *) a)->bdf, (*(struct nvv_host_gpu *const *) b)->bdf);
}

static int add_gpu(struct nvv_host *h, struct nvv_host_gpu *g)
{
        struct nvv_host_gpu **n;

        for (size_t i = 0; i < h->n; i++)
                if (streq(h->gpus[i]->bdf, g->bdf)) {
                        nvv_host_gpu_free(g);
                        return 0;
                }
        if (h->n >= NVV_HOST_MAX_GPUS) {
                nvv_host_gpu_free(g);
                return add_warning(&h->warnings, "more than %d NVIDIA GPUs, the rest ignored", NVV_HOST_MAX_GPUS);
        }
        n = realloc(h->gpus, (h->n + 1) * sizeof(*n));
        if (!n) {
                nvv_host_gpu_free(g);
                return -ENOMEM;
        }
        h->gpus = n;
        h->gpus[h->n++] = g;
        return 0;
}

static int scan_dir(struct nvv_host *h, const struct nvv_sysfs *sys, const struct drvinfo *info,
                    const struct nvv_host_scan_params *params)
{
        _cleanup_strv_free_ char **names = NULL;
        int r;

        r = nvv_sysfs_list_dir(sys, "bus/pci/devices", &names);
        if (r < 0)
                return r;
        for (char **n = names; *n; n++) {
                _cleanup_free_ char *link = NULL, *devpath = NULL;
                struct nvv_host_gpu *g = NULL;

                link = path_join("bus/pci/devices", *n);
                if (!link)
                        return -ENOMEM;
                r = nvv_sysfs_resolve_link(sys, link, &devpath);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        (void) add_warning(&h->warnings, "bus/pci/devices/%s: %s, skipped", *n, nvv_sysfs_strerror(r));
                        continue;
                }
                r = probe(sys, info, params->catalog, params->fwdb, devpath, &g, &h->warnings);
                if (r < 0)
                        return r;
                if (g) {
                        r = add_gpu(h, g);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static void udev_unrefp(struct udev **u)
{
        if (*u)
                udev_unref(*u);
}

static void udev_enumerate_unrefp(struct udev_enumerate **e)
{
        if (*e)
                udev_enumerate_unref(*e);
}

static int scan_udev(struct nvv_host *h, const struct nvv_sysfs *sys, const struct drvinfo *info,
                     const struct nvv_host_scan_params *params)
{
        _cleanup_(udev_unrefp) struct udev *udev = NULL;
        _cleanup_(udev_enumerate_unrefp) struct udev_enumerate *e = NULL;
        struct udev_list_entry *l;
        int r;

        udev = udev_new();
        if (!udev)
                return -ENOMEM;
        e = udev_enumerate_new(udev);
        if (!e)
                return -ENOMEM;
        r = udev_enumerate_add_match_subsystem(e, "pci");
        if (r >= 0)
                r = udev_enumerate_add_match_sysattr(e, "vendor", "0x10de");
        if (r >= 0)
                r = udev_enumerate_scan_devices(e);
        if (r < 0)
                return log_debug_errno(r, "udev enumeration failed: %s", strerror(-r));
        udev_list_entry_foreach(l, udev_enumerate_get_list_entry(e)) {
                const char *syspath = udev_list_entry_get_name(l);
                struct nvv_host_gpu *g = NULL;

                /* syspath is "/sys/devices/..."; the probe wants it relative to the root. */
                if (!startswith(syspath, "/sys/"))
                        continue;
                r = probe(sys, info, params->catalog, params->fwdb, syspath + 5, &g, &h->warnings);
                if (r < 0)
                        return r;
                if (g) {
                        r = add_gpu(h, g);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Beside a re-rooted sysfs tree (base = the capture directory): proc/, or the captured
 * driver information of shared/fixtures. */
static int find_capture_info(const char *base, struct nvv_sysfs **ret_proc, char **ret_capture, char **ret_name,
                             char **ret_error)
{
        _cleanup_(nvv_sysfs_freep) struct nvv_sysfs *b = NULL;
        _cleanup_free_ char *proc = NULL;
        char buf[64];
        int r;

        if (asprintf(&proc, "%s/proc", base) < 0)
                return -ENOMEM;
        if (nvv_sysfs_new(proc, ret_proc) >= 0)
                return 0;
        *ret_proc = NULL;
        if (nvv_sysfs_new(base, &b) < 0)
                return 0;
        r = nvv_sysfs_read_attr(b, "host/proc-driver-nvidia-gpus-information.txt", NVV_HOST_DRIVER_INFO_MAX,
                                ret_capture);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                *ret_capture = NULL;
        if (r == -ENOENT)
                return 0;
        if (asprintf(ret_name, "%s/host/proc-driver-nvidia-gpus-information.txt", base) < 0)
                return -ENOMEM;
        /* There but unusable: said per GPU, naming the file, rather than blamed on procfs. */
        if (r < 0 && !(*ret_error = strdup(drvinfo_error(r, buf))))
                return -ENOMEM;
        return 0;
}

int nvv_host_scan(const struct nvv_host_scan_params *params, struct nvv_host **ret, char **reterr_msg)
{
        _cleanup_(nvv_sysfs_freep) struct nvv_sysfs *sys = NULL, *proc = NULL;
        _cleanup_(nvv_host_freep) struct nvv_host *h = NULL;
        _cleanup_free_ char *capture_sys = NULL, *base = NULL, *capture = NULL, *capture_name = NULL,
                *capture_error = NULL;
        struct drvinfo info = {};
        const char *root;
        bool real_sys;
        int r;

        assert_return(params && ret, -EINVAL);
        root = params->sysfs_root ? params->sysfs_root : "/sys";
        real_sys = streq(root, "/sys");

        r = nvv_sysfs_new(root, &sys);
        if (r < 0)
                return nvv_fail_errno(-ENOENT, reterr_msg, "%s: %s", root, strerror(-r)), r;
        if (!nvv_sysfs_is_dir(sys, "bus/pci/devices")) {
                /* A capture directory holding sysfs/ (shared/fixtures lays them out so). */
                if (asprintf(&capture_sys, "%s/sysfs", root) < 0)
                        return -ENOMEM;
                sys = nvv_sysfs_free(sys);
                if (nvv_sysfs_new(capture_sys, &sys) < 0 || !nvv_sysfs_is_dir(sys, "bus/pci/devices"))
                        return nvv_fail_errno(-ENOENT, reterr_msg, "%s: not a sysfs tree (no bus/pci/devices)", root);
                base = strdup(root);
        } else if (!real_sys && asprintf(&base, "%s/..", root) < 0)
                base = NULL;
        if (!real_sys && !base)
                return -ENOMEM;

        if (params->proc_root) {
                r = nvv_sysfs_new(params->proc_root, &proc);
                if (r < 0)
                        return nvv_fail_errno(-ENOENT, reterr_msg, "%s: %s", params->proc_root, strerror(-r)), r;
        } else if (real_sys) {
                if (nvv_sysfs_new("/proc", &proc) < 0)
                        proc = NULL;
        } else {
                r = find_capture_info(base, &proc, &capture, &capture_name, &capture_error);
                if (r < 0)
                        return r;
        }
        info = (struct drvinfo) {
                .proc = proc, .capture = capture, .capture_name = capture_name, .capture_error = capture_error,
        };

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->no_driver_info = !proc && !capture && !capture_error;
        if (real_sys && !params->no_udev)
                r = scan_udev(h, sys, &info, params);
        else
                r = scan_dir(h, sys, &info, params);
        if (r < 0)
                return nvv_fail_errno(-ENOENT, reterr_msg, "%s: PCI enumeration failed: %s", nvv_sysfs_get_root(sys), strerror(-r)), r;
        if (h->n > 1)
                qsort(h->gpus, h->n, sizeof(h->gpus[0]), cmp_gpu);
        *ret = TAKE_PTR(h);
        return 0;
}
