/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nvv-simfs-tree.h"
#include "util.h"

/* Directories. */
enum {
        D_ROOT,
        D_CLASS,
        D_MDEV_BUS,             /* class/mdev_bus */
        D_BUS,
        D_BUS_PCI,
        D_PCI_DEVICES,          /* bus/pci/devices */
        D_PCI_DRIVERS,
        D_PCI_DRV,              /* bus/pci/drivers/nvidia */
        D_BUS_MDEV,
        D_MDEV_DEVICES,         /* bus/mdev/devices */
        D_MDEV_DRIVERS,
        D_MDEV_DRV,             /* bus/mdev/drivers/nvidia-vgpu-vfio */
        D_KERNEL,
        D_GROUPS,               /* kernel/iommu_groups */
        D_GROUP,                /* kernel/iommu_groups/N: gpu, vf or vgpu */
        D_GROUP_DEVICES,
        D_DEVICES,
        D_PCI_ROOT,             /* devices/pciDDDD:BB: gpu (the first on that bus) */
        D_PF,
        D_VF,
        D_VF_NVIDIA,
        D_TYPES,                /* PF/mdev_supported_types */
        D_TYPE,
        D_TYPE_DEVICES,
        D_MDEV,                 /* PF/UUID */
};

/* Files. */
enum {
        A_VENDOR,
        A_DEVICE,
        A_CLASS,
        A_SUBSYSTEM_VENDOR,
        A_SUBSYSTEM_DEVICE,
        A_REVISION,
        A_NUMA_NODE,
        A_RESOURCE,
        A_UEVENT,
        A_MODALIAS,
        A_ENABLE,
        A_RESET_METHOD,
        A_DMA_MASK_BITS,
        A_SRIOV_TOTALVFS,
        A_SRIOV_NUMVFS,
        A_SRIOV_OFFSET,
        A_SRIOV_STRIDE,
        A_SRIOV_VF_DEVICE,
        A_SRIOV_AUTOPROBE,
        A_CREATABLE,
        A_CURRENT,
        A_T_NAME,
        A_T_DESCRIPTION,
        A_T_AVAILABLE,
        A_T_DEVICE_API,
        A_T_CREATE,
        A_M_REMOVE,
        A_M_UEVENT,
};

#define PCI_DRIVER "nvidia"
/* The driver NVIDIA's vGPU manager binds its mediated devices to. */
#define MDEV_DRIVER "nvidia-vgpu-vfio"
#define VF_OFFSET 4
/* IOMMU groups: the PF's is 100 * (index + 1); its VF i's one more than i above it; an mdev's
 * its vGPU id above it (mdev and VF model never meet on one GPU). */
#define GROUP_STRIDE 100

struct builder {
        const struct nvv_simfs_view *v;
        const struct nvv_simfs_node *dir;
        nvv_simfs_list_fn fn;
        void *userdata;
        int stop;
};

static struct nvv_simfs_node base(const struct nvv_simfs_node *dir)
{
        return (struct nvv_simfs_node) { .gpu = dir->gpu, .vf = dir->vf, .type = dir->type, .vgpu = dir->vgpu };
}

static void emit(struct builder *b, const char *name, struct nvv_simfs_node *n)
{
        int k;

        if (b->stop)
                return;
        k = snprintf(n->path, sizeof(n->path), "%s%s%s", b->dir->path, b->dir->path[0] ? "/" : "", name);
        if (k < 0 || (size_t) k >= sizeof(n->path))
                return;
        b->stop = b->fn(b->userdata, name, n);
}

/* The shortest relative path from directory `from` to `to` (both from the root), as sysfs
 * makes its links: "../" for each component of `from` past the common prefix. */
static int relative(const char *from, const char *to, char *buf, size_t cap)
{
        const char *rf, *rt;
        size_t i = 0, o = 0, up = 0;

        /* Skip the components both share. */
        for (;;) {
                size_t fl = strcspn(from + i, "/"), tl = strcspn(to + i, "/");

                if (fl == 0 || fl != tl || memcmp(from + i, to + i, fl) != 0)
                        break;
                i += fl;
                if (from[i] != '/' || to[i] != '/')
                        break;
                i++;
        }
        rf = from + i + (from[i] == '/');
        rt = to + i + (to[i] == '/');
        for (const char *p = rf; *p; p++)
                up += *p == '/';
        up += *rf != '\0';
        for (size_t k = 0; k < up; k++) {
                if (o + 3 >= cap)
                        return -ENOBUFS;
                memcpy(buf + o, "../", 3);
                o += 3;
        }
        if (o + strlen(rt) >= cap)
                return -ENOBUFS;
        strcpy(buf + o, rt);
        if (!*rt && o > 0)
                buf[o - 1] = '\0';      /* an ancestor: "../.." */
        return 0;
}

static void emit_dir(struct builder *b, const char *name, int what, int gpu, int vf, int type, int vgpu)
{
        struct nvv_simfs_node n = base(b->dir);

        n.kind = NVV_SIMFS_DIR;
        n.what = what;
        n.mode = 0755;
        n.gpu = gpu;
        n.vf = vf;
        n.type = type;
        n.vgpu = vgpu;
        emit(b, name, &n);
}

static void emit_file(struct builder *b, const char *name, int what, unsigned mode)
{
        struct nvv_simfs_node n = base(b->dir);

        n.kind = NVV_SIMFS_FILE;
        n.what = what;
        n.mode = mode;
        emit(b, name, &n);
}

_printf_(3, 4) static void emit_link(struct builder *b, const char *name, const char *fmt, ...)
{
        struct nvv_simfs_node n = base(b->dir);
        char to[NVV_SIMFS_PATH_MAX];
        va_list ap;
        int k;

        n.kind = NVV_SIMFS_LINK;
        n.mode = 0777;
        va_start(ap, fmt);
        k = vsnprintf(to, sizeof(to), fmt, ap);
        va_end(ap);
        if (k < 0 || (size_t) k >= sizeof(to) || relative(b->dir->path, to, n.target, sizeof(n.target)) < 0)
                return;
        emit(b, name, &n);
}

/* ---- names and paths ---- */

static bool parse_bdf(const char *s, unsigned *dom, unsigned *bus, unsigned *dev, unsigned *fn)
{
        return sscanf(s, "%x:%x:%x.%x", dom, bus, dev, fn) == 4;
}

int nvv_simfs_vf_bdf(const struct nvv_simfs_gpu *g, uint32_t i, char ret[NVV_SYSFS_BDF_MAX])
{
        unsigned dom, bus, dev, fn, devfn;

        if (!parse_bdf(g->bdf, &dom, &bus, &dev, &fn) || i >= g->num_vfs)
                return -EINVAL;
        devfn = (dev << 3 | fn) + VF_OFFSET + i;
        if (devfn > 0xff)
                return -ERANGE;
        snprintf(ret, NVV_SYSFS_BDF_MAX, "%04x:%02x:%02x.%x", dom, bus, devfn >> 3, devfn & 7);
        return 0;
}

static void bdf_of(const struct nvv_simfs_gpu *g, int vf, char ret[NVV_SYSFS_BDF_MAX])
{
        if (vf < 0 || nvv_simfs_vf_bdf(g, (uint32_t) vf, ret) < 0)
                snprintf(ret, NVV_SYSFS_BDF_MAX, "%s", g->bdf);
}

static void root_bus(const struct nvv_simfs_gpu *g, char ret[16])
{
        unsigned dom = 0, bus = 0, dev, fn;

        (void) parse_bdf(g->bdf, &dom, &bus, &dev, &fn);
        snprintf(ret, 16, "pci%04x:%02x", dom, bus);
}

int nvv_simfs_device_path(const struct nvv_simfs_gpu *g, int vf, char *buf, size_t cap)
{
        char rb[16], bdf[NVV_SYSFS_BDF_MAX];
        int k;

        root_bus(g, rb);
        bdf_of(g, vf, bdf);
        k = snprintf(buf, cap, "devices/%s/%s", rb, bdf);
        return k < 0 || (size_t) k >= cap ? -ENOBUFS : k;
}

int nvv_simfs_classify_name(const struct nvv_simfs_gpu *g, const uint8_t name[16],
                            char ret_uuid[NVV_SYSFS_UUID_LEN + 1])
{
        static const char hex[] = "0123456789abcdef";
        bool zero = true;
        size_t o = 0;

        for (size_t i = 0; i < 16; i++)
                zero = zero && name[i] == 0;
        if (zero)
                return -2;
        if (g->vf_model)
                for (uint32_t i = 0; i < g->num_vfs; i++) {
                        char bdf[NVV_SYSFS_BDF_MAX] = "";
                        uint8_t want[16] = {};

                        if (nvv_simfs_vf_bdf(g, i, bdf) < 0)
                                continue;
                        memcpy(want, bdf, strlen(bdf));
                        if (memcmp(want, name, 16) == 0)
                                return (int) i;
                }
        for (size_t i = 0; i < 16; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        ret_uuid[o++] = '-';
                ret_uuid[o++] = hex[name[i] >> 4];
                ret_uuid[o++] = hex[name[i] & 15];
        }
        ret_uuid[o] = '\0';
        return -1;
}

static const char *path_pf(const struct nvv_simfs_gpu *g, char buf[NVV_SIMFS_PATH_MAX])
{
        nvv_simfs_device_path(g, -1, buf, NVV_SIMFS_PATH_MAX);
        return buf;
}

static uint32_t group_of(const struct nvv_simfs_gpu *g, int vf, int vgpu)
{
        uint32_t pf = GROUP_STRIDE * (g->index + 1);

        if (vgpu >= 0)
                return pf + g->vgpus[vgpu].vgpu_id;
        return vf >= 0 ? pf + 1 + (uint32_t) vf : pf;
}

static bool is_mdev(const struct nvv_simfs_gpu *g, size_t i)
{
        return !g->vf_model && g->vgpus[i].vf < 0 && g->vgpus[i].name[0];
}

int nvv_simfs_vf_vgpu(const struct nvv_simfs_gpu *g, int vf)
{
        for (size_t i = 0; g->vf_model && i < g->n_vgpus; i++)
                if (g->vgpus[i].vf == vf)
                        return (int) i;
        return -1;
}

static int type_index(const struct nvv_simfs_gpu *g, uint32_t id)
{
        for (size_t i = 0; i < g->n_types; i++)
                if (g->types[i].id == id)
                        return (int) i;
        return -1;
}

/* ---- directories ---- */

static void list_pci_attrs(struct builder *b, const struct nvv_simfs_gpu *g, int vf)
{
        char group[16];

        emit_file(b, "vendor", A_VENDOR, 0444);
        emit_file(b, "device", A_DEVICE, 0444);
        emit_file(b, "class", A_CLASS, 0444);
        emit_file(b, "subsystem_vendor", A_SUBSYSTEM_VENDOR, 0444);
        emit_file(b, "subsystem_device", A_SUBSYSTEM_DEVICE, 0444);
        emit_file(b, "revision", A_REVISION, 0444);
        emit_file(b, "numa_node", A_NUMA_NODE, 0644);
        emit_file(b, "resource", A_RESOURCE, 0444);
        emit_file(b, "uevent", A_UEVENT, 0644);
        emit_file(b, "modalias", A_MODALIAS, 0444);
        emit_file(b, "enable", A_ENABLE, 0644);
        emit_file(b, "reset_method", A_RESET_METHOD, 0644);
        emit_file(b, "dma_mask_bits", A_DMA_MASK_BITS, 0444);
        emit_link(b, "driver", "bus/pci/drivers/" PCI_DRIVER);
        emit_link(b, "subsystem", "bus/pci");
        snprintf(group, sizeof(group), "%u", group_of(g, vf, -1));
        emit_link(b, "iommu_group", "kernel/iommu_groups/%s", group);
}

static void list_dir(struct builder *b)
{
        const struct nvv_simfs_view *v = b->v;
        const struct nvv_simfs_node *d = b->dir;
        const struct nvv_simfs_gpu *g = d->gpu >= 0 && (size_t) d->gpu < v->n_gpus ? &v->gpus[d->gpu] : NULL;
        char path[NVV_SIMFS_PATH_MAX], bdf[NVV_SYSFS_BDF_MAX], name[32];

        switch (d->what) {
        case D_ROOT:
                emit_dir(b, "bus", D_BUS, -1, -1, -1, -1);
                emit_dir(b, "class", D_CLASS, -1, -1, -1, -1);
                emit_dir(b, "devices", D_DEVICES, -1, -1, -1, -1);
                emit_dir(b, "kernel", D_KERNEL, -1, -1, -1, -1);
                break;
        case D_CLASS:
                emit_dir(b, "mdev_bus", D_MDEV_BUS, -1, -1, -1, -1);
                break;
        case D_MDEV_BUS:
                /* A parent is registered with the mdev core while it offers a type. */
                for (size_t i = 0; i < v->n_gpus; i++)
                        if (!v->gpus[i].unplugged && !v->gpus[i].vf_model && v->gpus[i].n_types > 0) {
                                nvv_simfs_device_path(&v->gpus[i], -1, path, sizeof(path));
                                emit_link(b, v->gpus[i].bdf, "%s", path);
                        }
                break;
        case D_BUS:
                emit_dir(b, "mdev", D_BUS_MDEV, -1, -1, -1, -1);
                emit_dir(b, "pci", D_BUS_PCI, -1, -1, -1, -1);
                break;
        case D_BUS_PCI:
                emit_dir(b, "devices", D_PCI_DEVICES, -1, -1, -1, -1);
                emit_dir(b, "drivers", D_PCI_DRIVERS, -1, -1, -1, -1);
                break;
        case D_PCI_DEVICES:
        case D_PCI_DRV:
                for (size_t i = 0; i < v->n_gpus; i++)
                        for (int vf = -1; !v->gpus[i].unplugged && vf < (v->gpus[i].vf_model ? (int) v->gpus[i].num_vfs : 0); vf++) {
                                bdf_of(&v->gpus[i], vf, bdf);
                                nvv_simfs_device_path(&v->gpus[i], vf, path, sizeof(path));
                                emit_link(b, bdf, "%s", path);
                        }
                break;
        case D_PCI_DRIVERS:
                emit_dir(b, PCI_DRIVER, D_PCI_DRV, -1, -1, -1, -1);
                break;
        case D_BUS_MDEV:
                emit_dir(b, "devices", D_MDEV_DEVICES, -1, -1, -1, -1);
                emit_dir(b, "drivers", D_MDEV_DRIVERS, -1, -1, -1, -1);
                break;
        case D_MDEV_DEVICES:
        case D_MDEV_DRV:
                for (size_t i = 0; i < v->n_gpus; i++)
                        for (size_t k = 0; !v->gpus[i].unplugged && k < v->gpus[i].n_vgpus; k++)
                                if (is_mdev(&v->gpus[i], k)) {
                                        nvv_simfs_device_path(&v->gpus[i], -1, path, sizeof(path));
                                        emit_link(b, v->gpus[i].vgpus[k].name, "%s/%s", path, v->gpus[i].vgpus[k].name);
                                }
                break;
        case D_MDEV_DRIVERS:
                emit_dir(b, MDEV_DRIVER, D_MDEV_DRV, -1, -1, -1, -1);
                break;
        case D_KERNEL:
                emit_dir(b, "iommu_groups", D_GROUPS, -1, -1, -1, -1);
                break;
        case D_GROUPS:
                for (size_t i = 0; i < v->n_gpus; i++) {
                        const struct nvv_simfs_gpu *x = &v->gpus[i];

                        if (x->unplugged)
                                continue;
                        for (int vf = -1; vf < (x->vf_model ? (int) x->num_vfs : 0); vf++) {
                                snprintf(name, sizeof(name), "%u", group_of(x, vf, -1));
                                emit_dir(b, name, D_GROUP, (int) i, vf, -1, -1);
                        }
                        for (size_t k = 0; k < x->n_vgpus; k++)
                                if (is_mdev(x, k)) {
                                        snprintf(name, sizeof(name), "%u", group_of(x, -1, (int) k));
                                        emit_dir(b, name, D_GROUP, (int) i, -1, -1, (int) k);
                                }
                }
                break;
        case D_GROUP:
                emit_dir(b, "devices", D_GROUP_DEVICES, d->gpu, d->vf, -1, d->vgpu);
                break;
        case D_GROUP_DEVICES:
                nvv_simfs_device_path(g, d->vf, path, sizeof(path));
                if (d->vgpu >= 0)
                        emit_link(b, g->vgpus[d->vgpu].name, "%s/%s", path, g->vgpus[d->vgpu].name);
                else {
                        bdf_of(g, d->vf, bdf);
                        emit_link(b, bdf, "%s", path);
                }
                break;
        case D_DEVICES:
                /* One root bus per distinct bus, in order of the first GPU on it. A root bus
                 * stays when its GPUs are unplugged, as a host bridge's does. */
                for (size_t i = 0; i < v->n_gpus; i++) {
                        char rb[16], other[16];
                        bool seen = false;

                        root_bus(&v->gpus[i], rb);
                        for (size_t k = 0; k < i && !seen; k++) {
                                root_bus(&v->gpus[k], other);
                                seen = streq(rb, other);
                        }
                        if (!seen)
                                emit_dir(b, rb, D_PCI_ROOT, (int) i, -1, -1, -1);
                }
                break;
        case D_PCI_ROOT: {
                char rb[16], other[16];

                root_bus(g, rb);
                for (size_t i = 0; i < v->n_gpus; i++) {
                        root_bus(&v->gpus[i], other);
                        if (!streq(rb, other) || v->gpus[i].unplugged)
                                continue;
                        emit_dir(b, v->gpus[i].bdf, D_PF, (int) i, -1, -1, -1);
                        for (uint32_t vf = 0; v->gpus[i].vf_model && vf < v->gpus[i].num_vfs; vf++) {
                                bdf_of(&v->gpus[i], (int) vf, bdf);
                                emit_dir(b, bdf, D_VF, (int) i, (int) vf, -1, -1);
                        }
                }
                break;
        }
        case D_PF:
                list_pci_attrs(b, g, -1);
                if (g->vf_model) {
                        emit_file(b, "sriov_totalvfs", A_SRIOV_TOTALVFS, 0444);
                        emit_file(b, "sriov_numvfs", A_SRIOV_NUMVFS, 0664);
                        emit_file(b, "sriov_offset", A_SRIOV_OFFSET, 0444);
                        emit_file(b, "sriov_stride", A_SRIOV_STRIDE, 0444);
                        emit_file(b, "sriov_vf_device", A_SRIOV_VF_DEVICE, 0444);
                        emit_file(b, "sriov_drivers_autoprobe", A_SRIOV_AUTOPROBE, 0644);
                        for (uint32_t vf = 0; vf < g->num_vfs; vf++) {
                                snprintf(name, sizeof(name), "virtfn%u", vf);
                                nvv_simfs_device_path(g, (int) vf, path, sizeof(path));
                                emit_link(b, name, "%s", path);
                        }
                        break;
                }
                if (g->n_types > 0)
                        emit_dir(b, "mdev_supported_types", D_TYPES, d->gpu, -1, -1, -1);
                for (size_t k = 0; k < g->n_vgpus; k++)
                        if (is_mdev(g, k))
                                emit_dir(b, g->vgpus[k].name, D_MDEV, d->gpu, -1, type_index(g, g->vgpus[k].type_id),
                                         (int) k);
                break;
        case D_VF:
                list_pci_attrs(b, g, d->vf);
                nvv_simfs_device_path(g, -1, path, sizeof(path));
                emit_link(b, "physfn", "%s", path);
                emit_dir(b, "nvidia", D_VF_NVIDIA, d->gpu, d->vf, -1, -1);
                break;
        case D_VF_NVIDIA:
                emit_file(b, "creatable_vgpu_types", A_CREATABLE, 0444);
                emit_file(b, "current_vgpu_type", A_CURRENT, 0644);
                break;
        case D_TYPES:
                for (size_t t = 0; t < g->n_types; t++) {
                        snprintf(name, sizeof(name), "nvidia-%u", g->types[t].id);
                        emit_dir(b, name, D_TYPE, d->gpu, -1, (int) t, -1);
                }
                break;
        case D_TYPE:
                emit_file(b, "available_instances", A_T_AVAILABLE, 0444);
                emit_file(b, "create", A_T_CREATE, 0200);
                emit_file(b, "description", A_T_DESCRIPTION, 0444);
                emit_file(b, "device_api", A_T_DEVICE_API, 0444);
                emit_dir(b, "devices", D_TYPE_DEVICES, d->gpu, -1, d->type, -1);
                emit_file(b, "name", A_T_NAME, 0444);
                break;
        case D_TYPE_DEVICES:
                for (size_t k = 0; k < g->n_vgpus; k++)
                        if (is_mdev(g, k) && g->vgpus[k].type_id == g->types[d->type].id)
                                emit_link(b, g->vgpus[k].name, "%s/%s", path_pf(g, path), g->vgpus[k].name);
                break;
        case D_MDEV:
                snprintf(name, sizeof(name), "%u", group_of(g, -1, d->vgpu));
                emit_link(b, "driver", "bus/mdev/drivers/" MDEV_DRIVER);
                emit_link(b, "iommu_group", "kernel/iommu_groups/%s", name);
                emit_link(b, "mdev_type", "%s/mdev_supported_types/nvidia-%u", path_pf(g, path), g->vgpus[d->vgpu].type_id);
                emit_file(b, "remove", A_M_REMOVE, 0200);
                emit_link(b, "subsystem", "bus/mdev");
                emit_file(b, "uevent", A_M_UEVENT, 0644);
                break;
        }
}

static struct nvv_simfs_node root_node(void)
{
        return (struct nvv_simfs_node) { .kind = NVV_SIMFS_DIR, .what = D_ROOT, .mode = 0755, .gpu = -1, .vf = -1,
                                         .type = -1, .vgpu = -1 };
}

int nvv_simfs_list(const struct nvv_simfs_view *v, const struct nvv_simfs_node *dir, nvv_simfs_list_fn fn,
                   void *userdata)
{
        struct builder b = { .v = v, .dir = dir, .fn = fn, .userdata = userdata };

        assert_return(v && dir && fn, -EINVAL);
        if (dir->kind != NVV_SIMFS_DIR)
                return -ENOTDIR;
        list_dir(&b);
        return b.stop;
}

struct find {
        const char *name;
        size_t len;
        struct nvv_simfs_node *out;
};

static int find_one(void *userdata, const char *name, const struct nvv_simfs_node *n)
{
        struct find *f = userdata;

        if (strlen(name) != f->len || memcmp(name, f->name, f->len) != 0)
                return 0;
        *f->out = *n;
        return 1;
}

/* Join dir, rel and rest into out, resolving "." and ".." (at the root ".." stays there). */
static int join_path(const char *dir, const char *rel, const char *rest, char *out, size_t cap)
{
        char tmp[3 * NVV_SIMFS_PATH_MAX];
        size_t o = 0;
        char *save = NULL;

        if ((size_t) snprintf(tmp, sizeof(tmp), "%s/%s/%s", dir, rel, rest) >= sizeof(tmp))
                return -ENAMETOOLONG;
        out[0] = '\0';
        for (char *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (streq(c, "."))
                        continue;
                if (streq(c, "..")) {
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        if (o > 0)
                                o--;
                        out[o] = '\0';
                        continue;
                }
                if (o + strlen(c) + 2 > cap)
                        return -ENAMETOOLONG;
                if (o > 0)
                        out[o++] = '/';
                strcpy(out + o, c);
                o += strlen(c);
        }
        return 0;
}

int nvv_simfs_lookup(const struct nvv_simfs_view *v, const char *path, struct nvv_simfs_node *ret)
{
        struct nvv_simfs_node cur = root_node(), next;
        char buf[NVV_SIMFS_PATH_MAX];
        unsigned hops = 0;

        assert_return(v && path && ret, -EINVAL);
        while (*path) {
                struct find f = { .out = &next };

                while (*path == '/')
                        path++;
                if (!*path)
                        break;
                /* A link before the last component is followed, as the VFS would (FUSE
                 * itself never asks through one). */
                if (cur.kind == NVV_SIMFS_LINK) {
                        char dir[NVV_SIMFS_PATH_MAX], *slash;
                        int r;

                        if (++hops > 8)
                                return -ELOOP;
                        snprintf(dir, sizeof(dir), "%s", cur.path);
                        slash = strrchr(dir, '/');
                        if (slash)
                                *slash = '\0';
                        else
                                dir[0] = '\0';
                        r = join_path(dir, cur.target, path, buf, sizeof(buf));
                        if (r < 0)
                                return r;
                        path = buf;
                        cur = root_node();
                        continue;
                }
                f.name = path;
                f.len = strcspn(path, "/");
                path += f.len;
                if (cur.kind != NVV_SIMFS_DIR)
                        return -ENOTDIR;
                if (nvv_simfs_list(v, &cur, find_one, &f) != 1)
                        return -ENOENT;
                cur = next;
        }
        *ret = cur;
        return 0;
}

bool nvv_simfs_writable(const struct nvv_simfs_node *n)
{
        return n->kind == NVV_SIMFS_FILE && (n->mode & 0200);
}

/* ---- attributes ---- */

static uint64_t pow2_at_least(uint64_t x)
{
        uint64_t p = UINT64_C(256) << 20;

        while (p < x && p < (UINT64_C(1) << 46))
                p <<= 1;
        return p;
}

int nvv_simfs_format_resource(const struct nvv_simfs_gpu *g, int vf, char *buf, size_t cap)
{
        /* Flags as the captured H200 shows them (tests/fixtures/h200-passthrough: 0x14220c, a
         * 64-bit prefetchable memory BAR); addresses are the simulator's own: 1 TiB per GPU. */
        const uint64_t flags = 0x14220c;
        uint64_t base = UINT64_C(0x100000000000) + (uint64_t) g->index * (UINT64_C(1) << 40);
        uint64_t bar1 = pow2_at_least(g->fb_size);
        uint64_t r[7][3] = {};
        size_t o = 0;

        if (vf < 0) {
                r[0][0] = base + bar1 + (UINT64_C(32) << 20);       /* registers, 16 MiB */
                r[0][1] = r[0][0] + (UINT64_C(16) << 20) - 1;
                r[2][0] = base;                                     /* FB aperture */
                r[2][1] = base + bar1 - 1;
                r[4][0] = base + bar1;                              /* 32 MiB */
                r[4][1] = r[4][0] + (UINT64_C(32) << 20) - 1;
                r[0][2] = r[2][2] = r[4][2] = flags;
        } else {
                uint64_t vfb = pow2_at_least(bar1 / (g->num_vfs ? g->num_vfs : 1) / 2);

                r[0][0] = base + bar1 + (UINT64_C(64) << 20) + (uint64_t) vf * (UINT64_C(256) << 10);
                r[0][1] = r[0][0] + (UINT64_C(256) << 10) - 1;
                r[2][0] = base + (UINT64_C(1) << 39) + (uint64_t) vf * vfb;
                r[2][1] = r[2][0] + vfb - 1;
                r[0][2] = r[2][2] = flags;
        }
        for (size_t i = 0; i < 7; i++) {
                int k = snprintf(buf + o, cap - o, "0x%016" PRIx64 " 0x%016" PRIx64 " 0x%016" PRIx64 "\n", r[i][0],
                                 r[i][1], r[i][2]);

                if (k < 0 || (size_t) k >= cap - o)
                        return -ENOBUFS;
                o += (size_t) k;
        }
        return (int) o;
}

int nvv_simfs_format_creatable(const struct nvv_simfs_gpu *g, int vf, char *buf, size_t cap)
{
        size_t o = 0;
        int k;

        if (cap == 0)
                return -ENOBUFS;
        buf[0] = '\0';
        /* Empty once the VF has a type; else what the firmware would create now. */
        if (nvv_simfs_vf_vgpu(g, vf) >= 0)
                return 0;
        k = snprintf(buf, cap, "ID    : vGPU Name\n");
        if (k < 0 || (size_t) k >= cap)
                return -ENOBUFS;
        o = (size_t) k;
        for (size_t t = 0; t < g->n_types; t++) {
                if (g->available[t] == 0)
                        continue;
                k = snprintf(buf + o, cap - o, "%-5u : %s\n", g->types[t].id, g->types[t].name);
                if (k < 0 || (size_t) k >= cap - o)
                        return -ENOBUFS;
                o += (size_t) k;
        }
        return (int) o;
}

int nvv_simfs_read(const struct nvv_simfs_view *v, const struct nvv_simfs_node *n, char *buf, size_t cap)
{
        const struct nvv_simfs_gpu *g;
        char bdf[NVV_SYSFS_BDF_MAX], modalias[96];
        uint16_t device;
        int k = 0;

        assert_return(v && n && buf, -EINVAL);
        if (n->kind != NVV_SIMFS_FILE)
                return -EISDIR;
        if (!(n->mode & 0444))
                return -EACCES;
        if (n->gpu < 0 || (size_t) n->gpu >= v->n_gpus)
                return -ENOENT;
        g = &v->gpus[n->gpu];
        device = g->device;
        bdf_of(g, n->vf, bdf);
        /* drivers/pci/pci-sysfs.c: modalias_show, "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X". */
        snprintf(modalias, sizeof(modalias), "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X", g->vendor, device,
                 g->subsystem_vendor, g->subsystem_device, (g->pci_class >> 16) & 0xff, (g->pci_class >> 8) & 0xff,
                 g->pci_class & 0xff);
        switch (n->what) {
        /* pci-sysfs.c prints ids "0x%04x", class "0x%06x", revision "0x%02x" (the capture agrees). */
        case A_VENDOR:
                k = snprintf(buf, cap, "0x%04x\n", g->vendor);
                break;
        case A_DEVICE:
                k = snprintf(buf, cap, "0x%04x\n", device);
                break;
        case A_CLASS:
                k = snprintf(buf, cap, "0x%06x\n", g->pci_class);
                break;
        case A_SUBSYSTEM_VENDOR:
                k = snprintf(buf, cap, "0x%04x\n", g->subsystem_vendor);
                break;
        case A_SUBSYSTEM_DEVICE:
                k = snprintf(buf, cap, "0x%04x\n", g->subsystem_device);
                break;
        case A_REVISION:
                k = snprintf(buf, cap, "0x%02x\n", g->revision);
                break;
        case A_NUMA_NODE:
                k = snprintf(buf, cap, "%d\n", g->numa_node);
                break;
        case A_RESOURCE:
                return nvv_simfs_format_resource(g, n->vf, buf, cap);
        case A_UEVENT:
                /* pci_uevent(): DRIVER first (from the driver core), then the PCI_ variables. */
                k = snprintf(buf, cap, "DRIVER=%s\nPCI_CLASS=%X\nPCI_ID=%04X:%04X\nPCI_SUBSYS_ID=%04X:%04X\nPCI_SLOT_NAME=%s\nMODALIAS=%s\n",
                             PCI_DRIVER, g->pci_class, g->vendor, device, g->subsystem_vendor, g->subsystem_device, bdf,
                             modalias);
                break;
        case A_MODALIAS:
                k = snprintf(buf, cap, "%s\n", modalias);
                break;
        case A_ENABLE:
                k = snprintf(buf, cap, "1\n");
                break;
        case A_RESET_METHOD:
                k = snprintf(buf, cap, "flr\n");
                break;
        case A_DMA_MASK_BITS:
                k = snprintf(buf, cap, "52\n");
                break;
        case A_SRIOV_TOTALVFS:
        case A_SRIOV_NUMVFS:
                k = snprintf(buf, cap, "%u\n", g->num_vfs);
                break;
        case A_SRIOV_OFFSET:
                k = snprintf(buf, cap, "%u\n", VF_OFFSET);
                break;
        case A_SRIOV_STRIDE:
                k = snprintf(buf, cap, "1\n");
                break;
        case A_SRIOV_VF_DEVICE:
                /* sriov_vf_device_show: "%x". */
                k = snprintf(buf, cap, "%x\n", device);
                break;
        case A_SRIOV_AUTOPROBE:
                k = snprintf(buf, cap, "1\n");
                break;
        case A_CREATABLE:
                return nvv_simfs_format_creatable(g, n->vf, buf, cap);
        case A_CURRENT: {
                int i = nvv_simfs_vf_vgpu(g, n->vf);

                k = snprintf(buf, cap, "%u\n", i >= 0 ? g->vgpus[i].type_id : 0);
                break;
        }
        case A_T_NAME:
                k = snprintf(buf, cap, "%s\n", g->types[n->type].name);
                break;
        case A_T_DESCRIPTION:
                k = snprintf(buf, cap, "%s\n", g->types[n->type].description);
                break;
        case A_T_AVAILABLE:
                k = snprintf(buf, cap, "%u\n", g->available[n->type]);
                break;
        case A_T_DEVICE_API:
                k = snprintf(buf, cap, "%s\n", g->types[n->type].device_api);
                break;
        case A_M_UEVENT:
                k = snprintf(buf, cap, "DRIVER=%s\nMDEV_TYPE=nvidia-%u\n", MDEV_DRIVER, g->vgpus[n->vgpu].type_id);
                break;
        default:
                return -EACCES;
        }
        return k < 0 || (size_t) k >= cap ? -ENOBUFS : k;
}

/* lib/kstrtox.c: an optional '+', digits in base (0: "0x" hex, "0" octal, else decimal), at
 * most one trailing newline. */
static int kstrtoul(const char *s, size_t len, unsigned base, unsigned long *ret)
{
        unsigned long x = 0;
        size_t i = 0, digits = 0;

        if (len > 0 && s[len - 1] == '\n')
                len--;
        if (i < len && s[i] == '+')
                i++;
        if (base == 0) {
                if (i + 1 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X') && i + 2 < len) {
                        base = 16;
                        i += 2;
                } else if (i < len && s[i] == '0')
                        base = 8;
                else
                        base = 10;
        }
        for (; i < len; i++, digits++) {
                int d = s[i] >= '0' && s[i] <= '9' ? s[i] - '0'
                      : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
                      : s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10 : 99;

                if (d >= (int) base)
                        return -EINVAL;
                if (x > (ULONG_MAX - (unsigned long) d) / base)
                        return -ERANGE;
                x = x * base + (unsigned long) d;
        }
        if (digits == 0)
                return -EINVAL;
        *ret = x;
        return 0;
}

int nvv_simfs_write(const struct nvv_simfs_view *v, const struct nvv_simfs_node *n, const char *data, size_t len,
                    struct nvv_sysfs_request *ret)
{
        const struct nvv_simfs_gpu *g;
        struct nvv_sysfs_request q = {};
        unsigned long x;
        int r, i;

        assert_return(v && n && (data || len == 0) && ret, -EINVAL);
        if (!nvv_simfs_writable(n))
                return -EACCES;
        if (n->gpu < 0 || (size_t) n->gpu >= v->n_gpus)
                return -ENOENT;
        g = &v->gpus[n->gpu];
        if (g->unplugged)
                return -ENODEV;
        snprintf(q.gpu, sizeof(q.gpu), "%s", g->bdf);
        switch (n->what) {
        case A_T_CREATE:
                r = nvv_sysfs_parse_uuid(data, len, q.uuid);
                if (r < 0)
                        return r;
                /* The mdev core's device list spans every parent. */
                for (size_t k = 0; k < v->n_gpus; k++)
                        for (size_t m = 0; m < v->gpus[k].n_vgpus; m++)
                                if (streq(v->gpus[k].vgpus[m].name, q.uuid))
                                        return -EEXIST;
                q.op = NVV_SYSFS_CREATE;
                q.type_id = g->types[n->type].id;
                break;
        case A_M_REMOVE:
                /* mdev_sysfs.c remove_store: kstrtoul(buf, 0); 0 does nothing. */
                r = kstrtoul(data, len, 0, &x);
                if (r < 0)
                        return r;
                if (x == 0)
                        return 1;
                if (g->vgpus[n->vgpu].gfid != 0)
                        return -EBUSY;
                q.op = NVV_SYSFS_REMOVE;
                q.type_id = g->vgpus[n->vgpu].type_id;
                snprintf(q.uuid, sizeof(q.uuid), "%s", g->vgpus[n->vgpu].name);
                break;
        case A_CURRENT:
                /* NVIDIA RFC v2 vfio_sysfs.c current_vgpu_type_store: a decimal type id, 0 to
                 * take the type away; -EBUSY while the VFIO device is open, -ENODEV for a type
                 * the GPU does not offer. */
                r = kstrtoul(data, len, 10, &x);
                if (r < 0)
                        return r;
                i = nvv_simfs_vf_vgpu(g, n->vf);
                bdf_of(g, n->vf, q.vf);
                if (x == 0) {
                        if (i < 0)
                                return 1;
                        if (g->vgpus[i].gfid != 0)
                                return -EBUSY;
                        q.op = NVV_SYSFS_CLEAR_VF_TYPE;
                        q.type_id = g->vgpus[i].type_id;
                        break;
                }
                if (i >= 0)
                        return -EBUSY;
                if (x > UINT32_MAX || type_index(g, (uint32_t) x) < 0)
                        return -ENODEV;
                q.op = NVV_SYSFS_SET_VF_TYPE;
                q.type_id = (uint32_t) x;
                break;
        case A_SRIOV_NUMVFS:
                /* The VFs are enabled at start and stay: the same number is accepted, another
                 * refused as sriov_numvfs_store refuses a change while VFs exist. */
                r = kstrtoul(data, len, 0, &x);
                if (r < 0)
                        return r;
                return x == g->num_vfs ? 1 : -EBUSY;
        default:
                /* numa_node, uevent, enable, reset_method, autoprobe: accepted, changing nothing. */
                return 1;
        }
        *ret = q;
        return 0;
}
