/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulated sysfs as pure functions (no FUSE) and the JSON messages of its contract. */
#include <stdlib.h>
#include <string.h>

#include "nvv-simfs-tree.h"
#include "nvv-sysfsmsg.h"
#include "testutil.h"

#define UUID_A "5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc01"
#define UUID_B "5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc02"

/* GPU 0: an mdev parent at 0000:41:00.0 with L40S-8Q (3 left) and L40S-24Q (none left), one
 * 8Q made and one whose VM runs. GPU 1: the VF model at 0000:42:00.0, 6 VFs, VF 1 has an
 * 8Q, VF 2 an 8Q whose VM runs. */
static struct nvv_simfs_gpu gpus[2];
static struct nvv_simfs_view view = { .n_gpus = 2, .gpus = gpus };

static void add_type(struct nvv_simfs_gpu *g, uint32_t id, const char *name, uint32_t avail)
{
        struct nvv_sysfs_type *t = &g->types[g->n_types];

        t->id = id;
        snprintf(t->name, sizeof(t->name), "%s", name);
        snprintf(t->description, sizeof(t->description), "num_heads=4, frl_config=60, framebuffer=8192M");
        snprintf(t->device_api, sizeof(t->device_api), "vfio-pci");
        g->available[g->n_types++] = avail;
}

static int setup(void **state)
{
        struct nvv_simfs_gpu *g;

        (void) state;
        memset(gpus, 0, sizeof(gpus));
        for (int i = 0; i < 2; i++) {
                g = &gpus[i];
                snprintf(g->bdf, sizeof(g->bdf), "0000:%02x:00.0", 0x41 + i);
                g->vendor = 0x10de;
                g->device = 0x26b9;
                g->subsystem_vendor = 0x10de;
                g->subsystem_device = 0x1851;
                g->pci_class = 0x030200;
                g->revision = 0xa1;
                g->numa_node = -1;
                g->fb_size = 48ull << 30;
                g->index = (uint32_t) i;
                add_type(g, 1152, "NVIDIA L40S-8Q", 3);
                add_type(g, 1155, "NVIDIA L40S-24Q", 0);
        }
        g = &gpus[0];
        g->n_vgpus = 2;
        g->vgpus[0] = (struct nvv_simfs_vgpu) { .name = UUID_A, .vf = -1, .type_id = 1152, .vgpu_id = 1 };
        g->vgpus[1] = (struct nvv_simfs_vgpu) { .name = UUID_B, .vf = -1, .type_id = 1152, .vgpu_id = 2, .gfid = 3 };
        g = &gpus[1];
        g->vf_model = true;
        g->num_vfs = 6;
        g->n_vgpus = 2;
        g->vgpus[0] = (struct nvv_simfs_vgpu) { .vf = 1, .type_id = 1152, .vgpu_id = 1 };
        g->vgpus[1] = (struct nvv_simfs_vgpu) { .vf = 2, .type_id = 1152, .vgpu_id = 2, .gfid = 3 };
        return 0;
}

static struct nvv_simfs_node node(const char *path)
{
        struct nvv_simfs_node n;

        if (nvv_simfs_lookup(&view, path, &n) < 0)
                fail_msg("no %s", path);
        return n;
}

static const char *link_of(const char *path)
{
        static struct nvv_simfs_node n;

        n = node(path);
        assert_int_equal(n.kind, NVV_SIMFS_LINK);
        return n.target;
}

static const char *read_of(const char *path)
{
        static char buf[8192];
        struct nvv_simfs_node n = node(path);
        int r = nvv_simfs_read(&view, &n, buf, sizeof(buf));

        if (r < 0)
                fail_msg("read %s: %s", path, strerror(-r));
        assert_int_equal((size_t) r, strlen(buf));
        return buf;
}

static int write_to(const char *path, const char *data, struct nvv_sysfs_request *q)
{
        struct nvv_simfs_node n = node(path);

        memset(q, 0, sizeof(*q));
        return nvv_simfs_write(&view, &n, data, strlen(data), q);
}

struct names {
        char buf[4096];
};

static int collect(void *userdata, const char *name, const struct nvv_simfs_node *n)
{
        struct names *x = userdata;

        (void) n;
        strncat(x->buf, name, sizeof(x->buf) - strlen(x->buf) - 2);
        strcat(x->buf, " ");
        return 0;
}

static const char *list_of(const char *path)
{
        static struct names x;
        struct nvv_simfs_node n = node(path);

        x.buf[0] = '\0';
        assert_int_equal(nvv_simfs_list(&view, &n, collect, &x), 0);
        return x.buf;
}

static void test_layout(void **state)
{
        struct nvv_simfs_node n;

        (void) state;
        assert_string_equal(list_of(""), "bus class devices kernel ");
        /* Only the mdev-model GPU is an mdev parent. */
        assert_string_equal(list_of("class/mdev_bus"), "0000:41:00.0 ");
        assert_string_equal(list_of("bus/mdev/devices"), UUID_A " " UUID_B " ");
        assert_string_equal(list_of("devices"), "pci0000:41 pci0000:42 ");
        assert_string_equal(list_of("devices/pci0000:42"),
                            "0000:42:00.0 0000:42:00.4 0000:42:00.5 0000:42:00.6 0000:42:00.7 0000:42:01.0 0000:42:01.1 ");
        assert_string_equal(list_of("devices/pci0000:41/0000:41:00.0/mdev_supported_types"), "nvidia-1152 nvidia-1155 ");
        assert_string_equal(list_of("devices/pci0000:41/0000:41:00.0/mdev_supported_types/nvidia-1152"),
                            "available_instances create description device_api devices name ");
        assert_string_equal(list_of("devices/pci0000:41/0000:41:00.0/mdev_supported_types/nvidia-1152/devices"),
                            UUID_A " " UUID_B " ");
        assert_string_equal(list_of("bus/pci/devices/0000:42:00.5/nvidia"), "creatable_vgpu_types current_vgpu_type ");
        /* A VF-model GPU has no mdev_supported_types; an mdev GPU no SR-IOV files. */
        assert_int_equal(nvv_simfs_lookup(&view, "devices/pci0000:42/0000:42:00.0/mdev_supported_types", &n), -ENOENT);
        assert_int_equal(nvv_simfs_lookup(&view, "devices/pci0000:41/0000:41:00.0/sriov_numvfs", &n), -ENOENT);
        assert_int_equal(nvv_simfs_lookup(&view, "devices/pci0000:41/0000:41:00.0/vendor/x", &n), -ENOTDIR);
        assert_int_equal(nvv_simfs_lookup(&view, "bus/mdev/devices/" UUID_A "/nothing", &n), -ENOENT);
        /* No types registered: the parent leaves class/mdev_bus. */
        gpus[0].n_types = 0;
        assert_string_equal(list_of("class/mdev_bus"), "");
        assert_int_equal(nvv_simfs_lookup(&view, "devices/pci0000:41/0000:41:00.0/mdev_supported_types", &n), -ENOENT);
}

/* Links are relative, the shortest path as sysfs makes them. */
static void test_links(void **state)
{
        (void) state;
        assert_string_equal(link_of("class/mdev_bus/0000:41:00.0"), "../../devices/pci0000:41/0000:41:00.0");
        assert_string_equal(link_of("bus/mdev/devices/" UUID_A), "../../../devices/pci0000:41/0000:41:00.0/" UUID_A);
        assert_string_equal(link_of("bus/pci/devices/0000:42:00.4"), "../../../devices/pci0000:42/0000:42:00.4");
        assert_string_equal(link_of("bus/pci/drivers/nvidia/0000:41:00.0"), "../../../../devices/pci0000:41/0000:41:00.0");
        /* The fixture's own: tests/fixtures/h200-passthrough/sysfs/.../driver. */
        assert_string_equal(link_of("devices/pci0000:41/0000:41:00.0/driver"), "../../../bus/pci/drivers/nvidia");
        assert_string_equal(link_of("devices/pci0000:41/0000:41:00.0/subsystem"), "../../../bus/pci");
        assert_string_equal(link_of("devices/pci0000:41/0000:41:00.0/iommu_group"), "../../../kernel/iommu_groups/100");
        assert_string_equal(link_of("devices/pci0000:41/0000:41:00.0/" UUID_A "/mdev_type"),
                            "../mdev_supported_types/nvidia-1152");
        assert_string_equal(link_of("devices/pci0000:41/0000:41:00.0/" UUID_A "/driver"),
                            "../../../../bus/mdev/drivers/nvidia-vgpu-vfio");
        assert_string_equal(link_of("devices/pci0000:41/0000:41:00.0/" UUID_A "/iommu_group"),
                            "../../../../kernel/iommu_groups/101");
        assert_string_equal(link_of("devices/pci0000:41/0000:41:00.0/mdev_supported_types/nvidia-1152/devices/" UUID_A),
                            "../../../" UUID_A);
        assert_string_equal(link_of("devices/pci0000:42/0000:42:00.0/virtfn0"), "../0000:42:00.4");
        assert_string_equal(link_of("devices/pci0000:42/0000:42:00.0/virtfn4"), "../0000:42:01.0");
        assert_string_equal(link_of("devices/pci0000:42/0000:42:00.5/physfn"), "../0000:42:00.0");
        assert_string_equal(link_of("devices/pci0000:42/0000:42:00.5/iommu_group"), "../../../kernel/iommu_groups/202");
        assert_string_equal(link_of("kernel/iommu_groups/202/devices/0000:42:00.5"),
                            "../../../../devices/pci0000:42/0000:42:00.5");
        assert_string_equal(link_of("kernel/iommu_groups/102/devices/" UUID_B),
                            "../../../../devices/pci0000:41/0000:41:00.0/" UUID_B);
}

/* The kernel's formats, as the captured H200 host prints them. */
static void test_attributes(void **state)
{
        const char *p = "devices/pci0000:41/0000:41:00.0/";
        char path[256];

        (void) state;
#define A(name) (snprintf(path, sizeof(path), "%s%s", p, name), read_of(path))
        assert_string_equal(A("vendor"), "0x10de\n");
        assert_string_equal(A("device"), "0x26b9\n");
        assert_string_equal(A("class"), "0x030200\n");
        assert_string_equal(A("subsystem_vendor"), "0x10de\n");
        assert_string_equal(A("subsystem_device"), "0x1851\n");
        assert_string_equal(A("revision"), "0xa1\n");
        assert_string_equal(A("numa_node"), "-1\n");
        assert_string_equal(A("modalias"), "pci:v000010DEd000026B9sv000010DEsd00001851bc03sc02i00\n");
        assert_string_equal(A("uevent"), "DRIVER=nvidia\nPCI_CLASS=30200\nPCI_ID=10DE:26B9\nPCI_SUBSYS_ID=10DE:1851\n"
                                         "PCI_SLOT_NAME=0000:41:00.0\n"
                                         "MODALIAS=pci:v000010DEd000026B9sv000010DEsd00001851bc03sc02i00\n");
        /* 7 lines of three 0x%016llx; a 64 GiB aperture for 48 GiB of FB. */
        assert_string_equal(A("resource"), "0x0000101002000000 0x0000101002ffffff 0x000000000014220c\n"
                                           "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
                                           "0x0000100000000000 0x0000100fffffffff 0x000000000014220c\n"
                                           "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
                                           "0x0000101000000000 0x0000101001ffffff 0x000000000014220c\n"
                                           "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
                                           "0x0000000000000000 0x0000000000000000 0x0000000000000000\n");
        assert_string_equal(A("mdev_supported_types/nvidia-1152/name"), "NVIDIA L40S-8Q\n");
        assert_string_equal(A("mdev_supported_types/nvidia-1152/available_instances"), "3\n");
        assert_string_equal(A("mdev_supported_types/nvidia-1155/available_instances"), "0\n");
        assert_string_equal(A("mdev_supported_types/nvidia-1152/device_api"), "vfio-pci\n");
        assert_string_equal(A("mdev_supported_types/nvidia-1152/description"),
                            "num_heads=4, frl_config=60, framebuffer=8192M\n");
        assert_string_equal(A(UUID_A "/uevent"), "DRIVER=nvidia-vgpu-vfio\nMDEV_TYPE=nvidia-1152\n");
#undef A
        assert_string_equal(read_of("bus/pci/devices/0000:42:00.0/sriov_totalvfs"), "6\n");
        assert_string_equal(read_of("bus/pci/devices/0000:42:00.0/sriov_numvfs"), "6\n");
        assert_string_equal(read_of("bus/pci/devices/0000:42:00.0/sriov_offset"), "4\n");
        assert_string_equal(read_of("bus/pci/devices/0000:42:00.0/sriov_vf_device"), "26b9\n");
        assert_string_equal(read_of("bus/pci/devices/0000:42:00.6/uevent") + strlen("DRIVER=nvidia\nPCI_CLASS=30200\n"
                                                                                      "PCI_ID=10DE:26B9\n"
                                                                                      "PCI_SUBSYS_ID=10DE:1851\n"),
                            "PCI_SLOT_NAME=0000:42:00.6\nMODALIAS=pci:v000010DEd000026B9sv000010DEsd00001851bc03sc02i00\n");
}

/* RFC v2 vfio_sysfs.c: a header, then "%-5u : %s"; empty for a VF with a type; only what the
 * firmware would create now (24Q has none left). */
static void test_vf_files(void **state)
{
        (void) state;
        assert_string_equal(read_of("bus/pci/devices/0000:42:00.4/nvidia/creatable_vgpu_types"),
                            "ID    : vGPU Name\n1152  : NVIDIA L40S-8Q\n");
        assert_string_equal(read_of("bus/pci/devices/0000:42:00.5/nvidia/creatable_vgpu_types"), "");
        assert_string_equal(read_of("bus/pci/devices/0000:42:00.4/nvidia/current_vgpu_type"), "0\n");
        assert_string_equal(read_of("bus/pci/devices/0000:42:00.5/nvidia/current_vgpu_type"), "1152\n");
        gpus[1].available[0] = 0;
        assert_string_equal(read_of("bus/pci/devices/0000:42:00.4/nvidia/creatable_vgpu_types"), "ID    : vGPU Name\n");
}

static void test_writes_mdev(void **state)
{
        const char *c = "devices/pci0000:41/0000:41:00.0/mdev_supported_types/nvidia-1155/create";
        struct nvv_sysfs_request q;
        struct nvv_simfs_node n;
        char buf[64];

        (void) state;
        /* mdev create_store: 36 or 37 bytes, guid_parse; the device is named in lower case. */
        assert_int_equal(write_to(c, "5D9B4F6E-1C2A-4E3B-9F00-AA11BB22CC09\n", &q), 0);
        assert_int_equal(q.op, NVV_SYSFS_CREATE);
        assert_string_equal(q.uuid, "5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc09");
        assert_string_equal(q.gpu, "0000:41:00.0");
        assert_int_equal(q.type_id, 1155);
        assert_int_equal(write_to(c, "5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc09", &q), 0);
        assert_int_equal(write_to(c, "5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc0", &q), -EINVAL);
        assert_int_equal(write_to(c, "5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc09\n\n", &q), -EINVAL);
        assert_int_equal(write_to(c, "5d9b4f6e_1c2a-4e3b-9f00-aa11bb22cc09", &q), -EINVAL);
        assert_int_equal(write_to(c, "5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cg09", &q), -EINVAL);
        /* The mdev core's list spans all parents: a UUID in use anywhere is EEXIST. */
        assert_int_equal(write_to(c, UUID_A "\n", &q), -EEXIST);
        /* remove_store: kstrtoul(buf, 0); 0 does nothing; a running VM is EBUSY. */
        assert_int_equal(write_to("bus/mdev/devices/" UUID_A "/remove", "0\n", &q), 1);
        assert_int_equal(write_to("bus/mdev/devices/" UUID_A "/remove", "yes", &q), -EINVAL);
        assert_int_equal(write_to("bus/mdev/devices/" UUID_A "/remove", "", &q), -EINVAL);
        assert_int_equal(write_to("bus/mdev/devices/" UUID_B "/remove", "1\n", &q), -EBUSY);
        assert_int_equal(write_to("bus/mdev/devices/" UUID_A "/remove", "0x1\n", &q), 0);
        assert_int_equal(q.op, NVV_SYSFS_REMOVE);
        assert_string_equal(q.uuid, UUID_A);
        assert_int_equal(q.type_id, 1152);
        /* Read-only attributes refuse writes, write-only ones reads. */
        assert_int_equal(write_to("devices/pci0000:41/0000:41:00.0/vendor", "0x1234", &q), -EACCES);
        n = node(c);
        assert_false(n.mode & 0444);
        assert_int_equal(nvv_simfs_read(&view, &n, buf, sizeof(buf)), -EACCES);
}

static void test_writes_vf(void **state)
{
        const char *v = "bus/pci/devices/0000:42:00.";
        struct nvv_sysfs_request q;
        char path[128];

        (void) state;
#define CUR(fn) (snprintf(path, sizeof(path), "%s%s/nvidia/current_vgpu_type", v, fn), path)
        assert_int_equal(write_to(CUR("4"), "1152\n", &q), 0);
        assert_int_equal(q.op, NVV_SYSFS_SET_VF_TYPE);
        assert_string_equal(q.vf, "0000:42:00.4");
        assert_string_equal(q.gpu, "0000:42:00.0");
        assert_int_equal(q.type_id, 1152);
        assert_int_equal(write_to(CUR("4"), "424242", &q), -ENODEV);        /* not a type the GPU offers */
        assert_int_equal(write_to(CUR("4"), "0x480", &q), -EINVAL);         /* decimal only */
        assert_int_equal(write_to(CUR("4"), "0", &q), 1);                   /* no type: nothing to do */
        assert_int_equal(write_to(CUR("5"), "1152", &q), -EBUSY);           /* has a type */
        assert_int_equal(write_to(CUR("6"), "0\n", &q), -EBUSY);            /* its VM runs */
        assert_int_equal(write_to(CUR("5"), "0\n", &q), 0);
        assert_int_equal(q.op, NVV_SYSFS_CLEAR_VF_TYPE);
        assert_string_equal(q.vf, "0000:42:00.5");
        assert_int_equal(q.type_id, 1152);
        assert_int_equal(write_to("bus/pci/devices/0000:42:00.0/sriov_numvfs", "6\n", &q), 1);
        assert_int_equal(write_to("bus/pci/devices/0000:42:00.0/sriov_numvfs", "2\n", &q), -EBUSY);
#undef CUR
}

static void test_names(void **state)
{
        uint8_t name[16] = {}, uuid[16] = { 0x5d, 0x9b, 0x4f, 0x6e, 0x1c, 0x2a, 0x4e, 0x3b,
                                            0x9f, 0x00, 0xaa, 0x11, 0xbb, 0x22, 0xcc, 0x01 };
        char text[NVV_SYSFS_UUID_LEN + 1], bdf[NVV_SYSFS_BDF_MAX];

        (void) state;
        assert_int_equal(nvv_simfs_classify_name(&gpus[1], name, text), -2);
        memcpy(name, "0000:42:00.6", 12);
        assert_int_equal(nvv_simfs_classify_name(&gpus[1], name, text), 2);
        assert_int_equal(nvv_simfs_classify_name(&gpus[1], uuid, text), -1);
        assert_string_equal(text, UUID_A);
        /* On an mdev GPU every name is a UUID. */
        assert_int_equal(nvv_simfs_classify_name(&gpus[0], uuid, text), -1);
        assert_int_equal(nvv_simfs_vf_bdf(&gpus[1], 5, bdf), 0);
        assert_string_equal(bdf, "0000:42:01.1");
        assert_int_equal(nvv_simfs_vf_bdf(&gpus[1], 6, bdf), -EINVAL);
}

/* ---- the messages ---- */

static void assert_request_equal(const struct nvv_sysfs_request *a, const struct nvv_sysfs_request *b)
{
        assert_int_equal(a->id, b->id);
        assert_int_equal(a->op, b->op);
        assert_int_equal(a->type_id, b->type_id);
        assert_string_equal(a->gpu, b->gpu);
        assert_string_equal(a->uuid, b->uuid);
        assert_string_equal(a->vf, b->vf);
}

static void test_request_roundtrip(void **state)
{
        struct nvv_sysfs_request q = { .id = 7, .op = NVV_SYSFS_CREATE, .gpu = "0000:41:00.0", .type_id = 1152,
                                       .uuid = UUID_A },
                                 v = { .id = 8, .op = NVV_SYSFS_CLEAR_VF_TYPE, .gpu = "0000:42:00.0", .type_id = 1152,
                                       .vf = "0000:42:00.5" },
                                 out;
        _cleanup_free_ char *t = NULL, *t2 = NULL, *msg = NULL;

        (void) state;
        assert_int_equal(nvv_sysfsmsg_format_request(&q, &t), 0);
        assert_string_equal(t, "{\"id\":7,\"op\":\"create\",\"gpu\":\"0000:41:00.0\",\"type\":1152,\"uuid\":\"" UUID_A "\"}");
        assert_int_equal(nvv_sysfsmsg_parse_request(t, strlen(t), &out, &msg), 0);
        assert_request_equal(&out, &q);
        assert_int_equal(nvv_sysfsmsg_format_request(&v, &t2), 0);
        assert_int_equal(nvv_sysfsmsg_parse_request(t2, strlen(t2), &out, &msg), 0);
        assert_request_equal(&out, &v);
}

static void expect_bad_request(const char *json, const char *why)
{
        _cleanup_free_ char *msg = NULL;
        struct nvv_sysfs_request out;

        assert_int_equal(nvv_sysfsmsg_parse_request(json, strlen(json), &out, &msg), -EINVAL);
        assert_non_null(msg);
        if (!strstr(msg, why))
                fail_msg("'%s': expected '%s' in '%s'", json, why, msg);
}

static void test_request_refused(void **state)
{
        (void) state;
        expect_bad_request("[]", "expected an object");
        expect_bad_request("{\"id\":1,\"op\":\"make\",\"gpu\":\"0000:41:00.0\",\"type\":1,\"uuid\":\"" UUID_A "\"}", "op");
        expect_bad_request("{\"id\":1,\"op\":\"create\",\"gpu\":\"0000:41:00.0\",\"type\":1}", "takes a 'uuid'");
        expect_bad_request("{\"id\":1,\"op\":\"create\",\"gpu\":\"0000:41:00.0\",\"type\":1,\"uuid\":\"" UUID_A
                           "\",\"vf\":\"0000:41:00.4\"}", "no 'vf'");
        expect_bad_request("{\"id\":1,\"op\":\"create\",\"gpu\":\"41:00.0\",\"type\":1,\"uuid\":\"" UUID_A "\"}",
                           "not a PCI address");
        expect_bad_request("{\"id\":1,\"op\":\"create\",\"gpu\":\"0000:41:00.0\",\"type\":0,\"uuid\":\"" UUID_A "\"}",
                           "above 0");
        expect_bad_request("{\"id\":1,\"op\":\"remove\",\"gpu\":\"0000:41:00.0\",\"type\":1,"
                           "\"uuid\":\"5D9B4F6E-1C2A-4E3B-9F00-AA11BB22CC01\"}", "lower-case");
        expect_bad_request("{\"id\":-1,\"op\":\"remove\",\"gpu\":\"0000:41:00.0\",\"type\":1,\"uuid\":\"" UUID_A "\"}",
                           "id");
        expect_bad_request("{\"id\":1,\"op\":\"set_vf_type\",\"gpu\":\"0000:42:00.0\",\"type\":1,\"vf\":\"0000:42:00.4\","
                           "\"extra\":1}", "extra");
        expect_bad_request("{\"id\":1,\"id\":2,\"op\":\"set_vf_type\",\"gpu\":\"0000:42:00.0\",\"type\":1,"
                           "\"vf\":\"0000:42:00.4\"}", "");
}

static void test_answer(void **state)
{
        _cleanup_free_ char *t = NULL, *msg = NULL;
        uint32_t id;
        int e;

        (void) state;
        assert_int_equal(nvv_sysfsmsg_format_answer(12, ENOSPC, &t), 0);
        assert_string_equal(t, "{\"id\":12,\"errno\":28}");
        assert_int_equal(nvv_sysfsmsg_parse_answer(t, strlen(t), &id, &e, &msg), 0);
        assert_int_equal(id, 12);
        assert_int_equal(e, ENOSPC);
        assert_int_equal(nvv_sysfsmsg_format_answer(1, -5, &t), -EINVAL);
        assert_int_equal(nvv_sysfsmsg_parse_answer("{\"id\":1,\"errno\":4096}", 21, &id, &e, &msg), -EINVAL);
        assert_int_equal(nvv_sysfsmsg_parse_answer("{\"id\":1}", 8, &id, &e, &msg), -EINVAL);
        assert_int_equal(nvv_sysfsmsg_parse_answer("{\"id\":1,\"errno\":0", 17, &id, &e, &msg), -EINVAL);
}

static void test_types(void **state)
{
        struct nvv_sysfs_type in[2] = {
                { .id = 1152, .name = "NVIDIA L40S-8Q", .description = "num_heads=4, frl_config=60", .device_api = "vfio-pci" },
                { .id = 1155, .name = "NVIDIA L40S-24Q", .description = "num_heads=4", .device_api = "vfio-pci" },
        };
        _cleanup_free_ struct nvv_sysfs_type *out = NULL;
        _cleanup_free_ char *t = NULL, *msg = NULL, *big = NULL;
        size_t n, o = 0;

        (void) state;
        assert_int_equal(nvv_sysfsmsg_format_types(in, 2, &t), 0);
        assert_int_equal(nvv_sysfsmsg_parse_types(t, strlen(t), &out, &n, &msg), 0);
        assert_int_equal(n, 2);
        assert_memory_equal(out, in, sizeof(in));
        free(out);
        out = NULL;
        assert_int_equal(nvv_sysfsmsg_parse_types("{\"types\":[]}", 12, &out, &n, &msg), 0);
        assert_int_equal(n, 0);
        free(out);
        out = NULL;
#define BAD(json, why)                                                                                   \
        do {                                                                                             \
                free(msg);                                                                               \
                msg = NULL;                                                                              \
                assert_int_equal(nvv_sysfsmsg_parse_types(json, strlen(json), &out, &n, &msg), -EINVAL); \
                if (!strstr(msg, why))                                                                   \
                        fail_msg("expected '%s' in '%s'", why, msg);                                     \
        } while (0)
        BAD("{\"types\":[{\"id\":1,\"name\":\"a\",\"description\":\"b\",\"device_api\":\"vfio-pci\"},"
            "{\"id\":1,\"name\":\"c\",\"description\":\"d\",\"device_api\":\"vfio-pci\"}]}", "listed twice");
        BAD("{\"types\":[{\"id\":0,\"name\":\"a\",\"description\":\"b\",\"device_api\":\"vfio-pci\"}]}", "at least 1");
        BAD("{\"types\":[{\"id\":1,\"name\":\"a\\nb\",\"description\":\"b\",\"device_api\":\"vfio-pci\"}]}",
            "control character");
        BAD("{\"types\":[{\"id\":1,\"name\":\"a\",\"description\":\"b\",\"device_api\":\"VFIO PCI\"}]}", "device_api");
        BAD("{\"types\":[{\"id\":1,\"name\":\"a\",\"description\":\"b\"}]}", "device_api");
        BAD("{\"types\":{}}", "types");
        /* More types than a GPU holds. */
        big = malloc(65536);
        assert_non_null(big);
        o = (size_t) sprintf(big, "{\"types\":[");
        for (int i = 1; i <= NVV_SYSFS_MAX_TYPES + 1; i++)
                o += (size_t) sprintf(big + o, "%s{\"id\":%d,\"name\":\"a\",\"description\":\"b\",\"device_api\":\"vfio-pci\"}",
                                      i > 1 ? "," : "", i);
        sprintf(big + o, "]}");
        BAD(big, "types");
#undef BAD
}

static void test_uevent(void **state)
{
        struct nvv_uevent u = {}, out;
        _cleanup_free_ char *t = NULL, *msg = NULL;

        (void) state;
        assert_int_equal(nvv_uevent_add(&u, "ACTION", "add"), 0);
        assert_int_equal(nvv_uevent_add(&u, "DEVPATH", "/devices/pci0000:41/0000:41:00.0/" UUID_A), 0);
        assert_int_equal(nvv_uevent_add(&u, "MDEV_TYPE", "nvidia-1152"), 0);
        assert_int_equal(nvv_sysfsmsg_format_uevent(&u, &t), 0);
        assert_int_equal(nvv_sysfsmsg_parse_uevent(t, strlen(t), &out, &msg), 0);
        assert_int_equal(out.n, 3);
        assert_string_equal(nvv_uevent_get(&out, "MDEV_TYPE"), "nvidia-1152");
        assert_null(nvv_uevent_get(&out, "SEQNUM"));
        assert_int_equal(nvv_sysfsmsg_parse_uevent("{\"ACTION\":\"add\"}", 16, &out, &msg), -EINVAL);
        assert_int_equal(nvv_sysfsmsg_parse_uevent("{\"ACTION\":\"add\",\"DEVPATH\":\"/x\",\"lower\":\"v\"}", 42, &out, &msg),
                         -EINVAL);
        assert_int_equal(nvv_sysfsmsg_parse_uevent("{\"ACTION\":\"add\",\"DEVPATH\":1}", 28, &out, &msg), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_layout, setup),
                cmocka_unit_test_setup(test_links, setup),
                cmocka_unit_test_setup(test_attributes, setup),
                cmocka_unit_test_setup(test_vf_files, setup),
                cmocka_unit_test_setup(test_writes_mdev, setup),
                cmocka_unit_test_setup(test_writes_vf, setup),
                cmocka_unit_test_setup(test_names, setup),
                cmocka_unit_test(test_request_roundtrip),
                cmocka_unit_test(test_request_refused),
                cmocka_unit_test(test_answer),
                cmocka_unit_test(test_types),
                cmocka_unit_test(test_uevent),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
