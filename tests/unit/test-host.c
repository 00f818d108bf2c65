/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Discovery on the real H200 capture and on built trees: what users see per GPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-catalog.h"
#include "nvv-escape.h"
#include "nvv-fwabi.h"
#include "nvv-host.h"
#include "tree.h"
#include "util.h"

#define MIB (UINT64_C(1) << 20)

#include "datatest.h"

static struct nvv_host *scan(const char *sysfs, const char *proc)
{
        struct nvv_host_scan_params p = { .sysfs_root = sysfs, .proc_root = proc, .catalog = catalog, .fwdb = fwdb };
        struct nvv_host *h = NULL;
        _cleanup_free_ char *msg = NULL;
        int r;

        r = nvv_host_scan(&p, &h, &msg);
        if (r < 0)
                fprintf(stderr, "scan: %s\n", msg ? msg : strerror(-r));
        assert_int_equal(r, 0);
        return h;
}

static char *fixture(const char *sub)
{
        const char *base = getenv("NVV_FIXTURES");
        char *p;

        assert_non_null(base);
        assert_true(asprintf(&p, "%s/h200-passthrough%s", base, sub) > 0);
        return p;
}

static bool has_reason(const struct nvv_host_gpu *g, enum nvv_host_issue issue)
{
        for (size_t i = 0; i < g->n_reasons; i++)
                if (g->reasons[i].issue == issue)
                        return true;
        return false;
}

static void test_h200_fixture(void **state)
{
        _cleanup_free_ char *root = fixture("");
        _cleanup_(nvv_host_freep) struct nvv_host *h = scan(root, NULL);
        const struct nvv_host_gpu *g;

        assert_int_equal(h->n, 1);
        g = h->gpus[0];
        assert_string_equal(g->bdf, "0000:00:06.0");
        assert_int_equal(g->vendor, 0x10de);
        assert_int_equal(g->device, 0x2335);
        assert_int_equal(g->subsystem_device, 0x18bf);
        assert_int_equal(g->pci_class, 0x030200);
        assert_non_null(g->model);
        assert_string_equal(g->model->model, "NVIDIA H200");
        assert_string_equal(g->driver, "nvidia");           /* a captured link */
        assert_int_equal(g->iommu_group, -1);
        assert_int_equal(g->numa_node, -1);                 /* numa_node is -1 in the capture */
        assert_false(g->sriov_capable);
        assert_string_equal(g->firmware, "580.159.04");
        assert_non_null(g->fwabi);
        assert_string_equal(g->fwabi->release, "580.65.06"); /* served by the 580 description */
        assert_int_equal(g->fb_total, 143771 * MIB);
        assert_int_equal(g->fb_source, NVV_FB_CATALOG);
        /* It cannot host vGPUs, and says exactly why: no SR-IOV (pass-through), no IOMMU group. */
        assert_false(nvv_host_gpu_can_host(g));
        assert_int_equal(g->n_reasons, 2);
        assert_int_equal(g->reasons[0].issue, NVV_HOST_ISSUE_SRIOV);
        assert_non_null(strstr(g->reasons[0].message, "no SR-IOV capability visible"));
        assert_non_null(strstr(g->reasons[0].message, "passed through"));
        assert_int_equal(g->reasons[1].issue, NVV_HOST_ISSUE_IOMMU);
        assert_null(h->warnings);
}

static void test_h200_fixture_sysfs_only(void **state)
{
        /* The sysfs tree alone: the captured driver information beside it is found too. */
        _cleanup_free_ char *root = fixture("/sysfs");
        _cleanup_(nvv_host_freep) struct nvv_host *h = scan(root, NULL);

        assert_int_equal(h->n, 1);
        assert_string_equal(h->gpus[0]->firmware, "580.159.04");
}

static void test_h200_no_proc(void **state)
{
        struct tree *t = tree_new();
        _cleanup_free_ char *root = fixture("/sysfs");
        _cleanup_(nvv_host_freep) struct nvv_host *h = scan(root, t->root); /* an empty procfs */

        assert_int_equal(h->n, 1);
        assert_null(h->gpus[0]->firmware);
        assert_true(has_reason(h->gpus[0], NVV_HOST_ISSUE_FIRMWARE));
        assert_int_equal(h->gpus[0]->n_reasons, 3);
        tree_free(t);
}

static void add_l40s(struct tree *t, const char *bdf, const char *numa)
{
        struct fake_pci pf = {
                .bdf = bdf, .vendor = "0x10de", .device = "0x26b9", .class_ = "0x030200", .driver = "nvidia",
                .iommu_group = "17", .numa_node = numa, .sriov_totalvfs = "32", .sriov_numvfs = "2",
        };
        char vf0[13], vf1[13];

        snprintf(vf0, sizeof(vf0), "%.9s0.4", bdf);
        snprintf(vf1, sizeof(vf1), "%.9s0.5", bdf);
        tree_add_pci(t, &pf);
        for (int i = 0; i < 2; i++) {
                struct fake_pci vf = {
                        .bdf = i ? vf1 : vf0, .vendor = "0x10de", .device = "0x26b9", .class_ = "0x030200",
                        .physfn = bdf, .iommu_group = "18",
                };

                tree_add_pci(t, &vf);
                tree_add_virtfn(t, bdf, (unsigned) i, i ? vf1 : vf0);
        }
}

static void test_sriov_host(void **state)
{
        struct tree *t = tree_new();
        _cleanup_free_ char *sys = tree_path(t, "sys"), *proc = tree_path(t, "proc");
        struct tree s = { .root = sys };
        struct nvv_host *h;
        const struct nvv_host_gpu *g;

        /* sysfs at t/sys, procfs at t/proc */
        add_l40s(&s, "0000:41:00.0", "1");
        tree_add_nvidia_info(t, "0000:41:00.0", "570.144");
        h = scan(sys, proc);
        assert_int_equal(h->n, 1); /* the two VFs are listed under their PF, not as GPUs */
        g = h->gpus[0];
        assert_string_equal(g->model->short_name, "L40S");
        assert_true(g->sriov_capable);
        assert_int_equal(g->sriov_total_vfs, 32);
        assert_int_equal(g->sriov_num_vfs, 2);
        assert_int_equal(strv_length(g->vfs), 2);
        assert_string_equal(g->vfs[0], "0000:41:00.4");
        assert_string_equal(g->vfs[1], "0000:41:00.5");
        assert_int_equal(g->iommu_group, 17);
        assert_int_equal(g->numa_node, 1);
        assert_string_equal(g->firmware, "570.144");
        assert_true(nvv_host_gpu_can_host(g));
        nvv_host_free(h);
        tree_free(t);
}

static struct nvv_host *scan_one(struct tree *t, const struct fake_pci *f, const char *fw)
{
        _cleanup_free_ char *proc = tree_path(t, "proc");

        tree_add_pci(t, f);
        tree_write(t, "proc/driver", NULL);
        if (fw)
                tree_add_nvidia_info(t, f->bdf, fw);
        return scan(t->root, proc);
}

static void test_every_reason(void **state)
{
        struct tree *t = tree_new();
        struct fake_pci f = {
                .bdf = "0000:81:00.0", .vendor = "0x10de", .device = "0x26b9", .class_ = "0x030000",
                .driver = "vfio-pci", .numa_node = "0",
        };
        _cleanup_(nvv_host_freep) struct nvv_host *h = scan_one(t, &f, "999.1");
        const struct nvv_host_gpu *g = h->gpus[0];

        assert_int_equal(h->n, 1);
        assert_int_equal(g->pci_class, 0x030000); /* VGA class counts too */
        assert_int_equal(g->n_reasons, 4);
        assert_int_equal(g->reasons[0].issue, NVV_HOST_ISSUE_SRIOV);
        assert_int_equal(g->reasons[1].issue, NVV_HOST_ISSUE_DRIVER);
        assert_non_null(strstr(g->reasons[1].message, "bound to vfio-pci"));
        assert_int_equal(g->reasons[2].issue, NVV_HOST_ISSUE_IOMMU);
        assert_int_equal(g->reasons[3].issue, NVV_HOST_ISSUE_FIRMWARE);
        assert_non_null(strstr(g->reasons[3].message, "GSP firmware 999.1 has no release description"));
        assert_null(g->fwabi);
        tree_free(t);
}

static void test_unknown_model_and_no_driver(void **state)
{
        struct tree *t = tree_new();
        struct fake_pci f = {
                .bdf = "0000:82:00.0", .vendor = "0x10de", .device = "0x1234", .class_ = "0x030200",
                .iommu_group = "3", .sriov_totalvfs = "16", .sriov_numvfs = "0",
        };
        _cleanup_(nvv_host_freep) struct nvv_host *h = scan_one(t, &f, NULL);
        const struct nvv_host_gpu *g = h->gpus[0];

        assert_null(g->model);
        assert_int_equal(g->fb_source, NVV_FB_UNKNOWN);
        assert_int_equal(g->reasons[0].issue, NVV_HOST_ISSUE_MODEL);
        assert_string_equal(g->reasons[0].message, "10de:1234 is not in the GPU catalog: nvvgpu does not know its vGPU types");
        assert_true(has_reason(g, NVV_HOST_ISSUE_DRIVER));
        assert_true(has_reason(g, NVV_HOST_ISSUE_FIRMWARE)); /* no driver, no firmware release */
        tree_free(t);
}

/* One device id, two boards: the subsystem the PCI function reports picks the model. */
static void test_subsystem_model(void **state)
{
        static const struct {
                const char *subsys, *model;
        } cases[] = { { "0x14a9", "A16" }, { "0x157e", "A2" }, { "0x1234", NULL } };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct tree *t = tree_new();
                struct fake_pci f = {
                        .bdf = "0000:84:00.0", .vendor = "0x10de", .device = "0x25b6", .class_ = "0x030200",
                        .driver = "nvidia", .iommu_group = "9", .sriov_totalvfs = "16", .sriov_numvfs = "0",
                };
                _cleanup_(nvv_host_freep) struct nvv_host *h = NULL;
                const struct nvv_host_gpu *g;

                tree_write(t, "devices/pci0000:00/0000:84:00.0/subsystem_vendor", "0x10de\n");
                tree_write(t, "devices/pci0000:00/0000:84:00.0/subsystem_device", cases[i].subsys);
                h = scan_one(t, &f, "580.65.06");
                assert_int_equal(h->n, 1);
                g = h->gpus[0];
                assert_int_equal(g->subsystem_vendor, 0x10de);
                if (cases[i].model) {
                        assert_non_null(g->model);
                        assert_string_equal(g->model->short_name, cases[i].model);
                } else {
                        assert_null(g->model);
                        assert_string_equal(g->reasons[0].message, "10de:25b6 (subsystem 10de:1234) is not in the GPU "
                                                                   "catalog: nvvgpu does not know its vGPU types");
                }
                tree_free(t);
        }
}

static void test_too_few_vfs(void **state)
{
        struct tree *t = tree_new();
        struct fake_pci f = {
                .bdf = "0000:83:00.0", .vendor = "0x10de", .device = "0x2331", .class_ = "0x030200",
                .driver = "nvidia", .iommu_group = "9", .sriov_totalvfs = "1", .sriov_numvfs = "0",
        };
        _cleanup_(nvv_host_freep) struct nvv_host *h = scan_one(t, &f, "580.65.06");
        const struct nvv_host_gpu *g = h->gpus[0];

        assert_string_equal(g->model->short_name, "H100");
        assert_int_equal(g->n_reasons, 1);
        assert_int_equal(g->reasons[0].issue, NVV_HOST_ISSUE_SRIOV_VFS);
        assert_string_equal(g->reasons[0].message, "SR-IOV offers 1 virtual function; vGPU needs at least 2");
        tree_free(t);
}

static void test_turing_needs_no_sriov(void **state)
{
        struct tree *t = tree_new();
        struct fake_pci f = {
                .bdf = "0000:84:00.0", .vendor = "0x10de", .device = "0x1eb8", .class_ = "0x030200",
                .driver = "nvidia", .iommu_group = "4",
        };
        _cleanup_(nvv_host_freep) struct nvv_host *h = scan_one(t, &f, "535.113.01");

        assert_string_equal(h->gpus[0]->model->short_name, "T4");
        assert_true(nvv_host_gpu_can_host(h->gpus[0])); /* mediated devices, no VFs needed */
        tree_free(t);
}

static void test_garbage(void **state)
{
        struct tree *t = tree_new();
        struct fake_pci bad_vendor = { .bdf = "0000:01:00.0", .vendor = "nvidia!", .device = "0x2335", .class_ = "0x030200" };
        struct fake_pci audio = { .bdf = "0000:02:00.1", .vendor = "0x10de", .device = "0x22ba", .class_ = "0x040300" };
        struct fake_pci other = { .bdf = "0000:03:00.0", .vendor = "0x8086", .device = "0x1234", .class_ = "0x030000" };
        struct fake_pci bad_class = { .bdf = "0000:04:00.0", .vendor = "0x10de", .device = "0x2335", .class_ = "3D" };
        struct fake_pci bad_vfs = {
                .bdf = "0000:05:00.0", .vendor = "0x10de", .device = "0x2335", .class_ = "0x030200",
                .driver = "nvidia", .iommu_group = "5", .numa_node = "node0", .sriov_totalvfs = "lots",
        };
        _cleanup_free_ char *proc = tree_path(t, "proc");
        struct nvv_host *h;
        const struct nvv_host_gpu *g;

        tree_add_pci(t, &bad_vendor);
        tree_add_pci(t, &audio);
        tree_add_pci(t, &other);
        tree_add_pci(t, &bad_class);
        tree_add_pci(t, &bad_vfs);
        tree_write(t, "devices/pci0000:00/0000:05:00.0/virtfn0", "not a link\nat all");
        tree_add_nvidia_info(t, "0000:05:00.0", "580.65.06");
        tree_link(t, "bus/pci/devices/0000:06:00.0", "../../../../../outside");
        h = scan(t->root, proc);
        assert_int_equal(h->n, 1);
        g = h->gpus[0];
        assert_string_equal(g->bdf, "0000:05:00.0");
        assert_int_equal(g->numa_node, -1);
        assert_int_equal(g->n_reasons, 1);
        assert_int_equal(g->reasons[0].issue, NVV_HOST_ISSUE_SYSFS);
        assert_string_equal(g->reasons[0].message, "sysfs attribute 'sriov_totalvfs' holds garbage ('lots')");
        /* Everything skipped is said, with the device. */
        assert_non_null(h->warnings);
        {
                bool vendor = false, cls = false, numa = false, escape = false;

                for (char **w = h->warnings; *w; w++) {
                        vendor |= streq(*w, "0000:01:00.0: vendor 'nvidia!' is not a PCI id, skipped");
                        cls |= streq(*w, "0000:04:00.0: NVIDIA function with unreadable class '3D', skipped");
                        numa |= streq(*w, "0000:05:00.0: numa_node 'node0' is not a node number, ignored");
                        escape |= streq(*w, "bus/pci/devices/0000:06:00.0: a link leading out of the tree, not followed, skipped");
                }
                assert_true(vendor);
                assert_true(cls);
                assert_true(numa);
                assert_true(escape);
        }
        nvv_host_free(h);
        tree_free(t);
}

/* Attribute and link names pointing out of the tree: reported, never followed, nothing of
 * the host's files in any message. */
static void test_links_out_of_tree(void **state)
{
        struct tree *t = tree_new();
        struct fake_pci a = { .bdf = "0000:41:00.0", .vendor = "0x10de", .class_ = "0x030200", .numa_node = "0" };
        struct fake_pci b = {
                .bdf = "0000:42:00.0", .vendor = "0x10de", .device = "0x26b9", .class_ = "0x030200",
                .sriov_totalvfs = "32", .sriov_numvfs = "0",
        };
        struct fake_pci c = { .bdf = "0000:43:00.0", .device = "0x26b9", .class_ = "0x030200" };
        _cleanup_free_ char *proc = tree_path(t, "proc");
        struct nvv_host *h;
        const struct nvv_host_gpu *g;
        bool device = false, driver = false, group = false, vendor = false, virtfn = false;

        tree_add_pci(t, &a);
        tree_link(t, "devices/pci0000:00/0000:41:00.0/device", "/etc/passwd");
        tree_add_pci(t, &b);
        tree_link(t, "devices/pci0000:00/0000:42:00.0/driver", "../../../../bus/pci/drivers/nvidia");
        tree_link(t, "devices/pci0000:00/0000:42:00.0/iommu_group", "/sys/kernel/iommu_groups/7");
        tree_link(t, "devices/pci0000:00/0000:42:00.0/virtfn0", "/sys/devices/pci0000:00/0000:42:00.4");
        tree_add_pci(t, &c);
        tree_link(t, "devices/pci0000:00/0000:43:00.0/vendor", "../../../../etc/passwd");
        tree_write(t, "proc/driver", NULL);
        h = scan(t->root, proc);
        assert_int_equal(h->n, 1);
        g = h->gpus[0];
        assert_string_equal(g->bdf, "0000:42:00.0");
        assert_null(g->driver);
        assert_int_equal(g->iommu_group, -1);
        assert_int_equal(strv_length(g->vfs), 0);
        for (char **w = h->warnings; w && *w; w++) {
                assert_null(strstr(*w, "root:"));
                device |= streq(*w, "0000:41:00.0: NVIDIA function whose 'device' attribute is unreadable "
                                    "(a link leading out of the tree, not followed), skipped");
                driver |= streq(*w, "0000:42:00.0: driver link unreadable (a link leading out of the tree, not followed)");
                group |= streq(*w, "0000:42:00.0: iommu_group link unreadable (a link leading out of the tree, not followed)");
                virtfn |= streq(*w, "0000:42:00.0: virtfn0: a link leading out of the tree, not followed, ignored");
                vendor |= streq(*w, "0000:43:00.0: 'vendor' attribute: a link leading out of the tree, not followed, skipped");
        }
        assert_true(device);
        assert_true(driver);
        assert_true(group);
        assert_true(virtfn);
        assert_true(vendor);
        nvv_host_free(h);
        tree_free(t);
}

/* What host scan shows of a crafted name: controls and non-UTF-8 bytes as \\xNN. */
static void test_escape(void **state)
{
        static const struct {
                const char *in, *tty, *json;
        } cases[] = {
                { "nvidia", "nvidia", "nvidia" },
                { "nv\033[2Jidia", "nv\\x1b[2Jidia", "nv\033[2Jidia" },     /* JSON escapes controls itself */
                { "a\377b", "a\\xffb", "a\\xffb" },
                { "back\\slash", "back\\\\slash", "back\\\\slash" },  /* the escape character itself */
                { "Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac", "Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac", "Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac" },
                { "\xc2\x9b" "2J", "\\xc2\\x9b2J", "\xc2\x9b" "2J" },          /* C1 CSI, valid UTF-8 */
                { "\xc0\xaf", "\\xc0\\xaf", "\\xc0\\xaf" },              /* overlong "/" */
                { "\xed\xa0\x80", "\\xed\\xa0\\x80", "\\xed\\xa0\\x80" },   /* a surrogate */
                { "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80", "\\xf4\\x90\\x80\\x80" }, /* above U+10FFFF */
                { "\xe2\x82", "\\xe2\\x82", "\\xe2\\x82" },              /* cut short */
                { "tab\there\x7f", "tab\\x09here\\x7f", "tab\there\x7f" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *tty = nvv_escape(cases[i].in, NVV_ESCAPE_CONTROL);
                _cleanup_free_ char *json = nvv_escape(cases[i].in, 0);

                assert_string_equal(tty, cases[i].tty);
                assert_string_equal(json, cases[i].json);
                assert_true(nvv_utf8_is_valid(tty));
                assert_true(nvv_utf8_is_valid(json));
        }
        assert_false(nvv_utf8_is_valid("a\377"));
        assert_null(nvv_escape(NULL, 0));
}

/* Driver information over the limit: the reason names the file and the limit (it used to
 * be ignored, and the reason then blamed a missing procfs). */
static void test_driver_information_too_large(void **state)
{
        struct tree *t = tree_new();
        struct tree sub = { .root = tree_path(t, "sysfs") };
        struct fake_pci f = {
                .bdf = "0000:41:00.0", .vendor = "0x10de", .device = "0x26b9", .class_ = "0x030200",
                .driver = "nvidia", .iommu_group = "17", .sriov_totalvfs = "32", .sriov_numvfs = "0",
        };
        _cleanup_free_ char *big = malloc(NVV_HOST_DRIVER_INFO_MAX + 2), *want = NULL, *proc = tree_path(t, "proc");
        struct nvv_host *h;
        const struct nvv_host_gpu *g;

        assert_non_null(big);
        memset(big, 'x', NVV_HOST_DRIVER_INFO_MAX + 1);
        memcpy(big, "GPU Firmware: 580.65.06\n", 24);
        big[NVV_HOST_DRIVER_INFO_MAX + 1] = '\0';

        /* A capture directory: sysfs/ and host/'s copy of the information, 64 KiB + 1. */
        tree_add_pci(&sub, &f);
        tree_write(t, "host/proc-driver-nvidia-gpus-information.txt", big);
        h = scan(t->root, NULL);
        assert_int_equal(h->n, 1);
        g = h->gpus[0];
        assert_null(g->firmware);
        assert_true(asprintf(&want, "GSP firmware release unknown: %s/host/proc-driver-nvidia-gpus-information.txt: "
                                    "larger than 64 KiB, the most read", t->root) > 0);
        assert_int_equal(g->n_reasons, 1);
        assert_string_equal(g->reasons[0].message, want);
        assert_false(h->no_driver_info); /* there was one, so no hint to give one */
        nvv_host_free(h);
        free(want);

        /* At the limit, it is read. */
        {
                static const char head[] = "== /proc/driver/nvidia/gpus/0000:41:00.0/information\nGPU Firmware: 580.65.06\n";
                _cleanup_free_ char *cap = malloc(NVV_HOST_DRIVER_INFO_MAX + 1);

                assert_non_null(cap);
                memset(cap, 'x', NVV_HOST_DRIVER_INFO_MAX);
                memcpy(cap, head, strlen(head));
                cap[NVV_HOST_DRIVER_INFO_MAX] = '\0';
                tree_write(t, "host/proc-driver-nvidia-gpus-information.txt", cap);
                h = scan(t->root, NULL);
                assert_string_equal(h->gpus[0]->firmware, "580.65.06");
                nvv_host_free(h);
        }

        /* One GPU's procfs file over the limit, then at it. */
        tree_write(t, "proc/driver/nvidia/gpus/0000:41:00.0/information", big);
        h = scan(sub.root, proc);
        g = h->gpus[0];
        assert_null(g->firmware);
        assert_true(asprintf(&want, "GSP firmware release unknown: %s/driver/nvidia/gpus/0000:41:00.0/information: "
                                    "larger than 64 KiB, the most read", proc) > 0);
        assert_int_equal(g->n_reasons, 1);
        assert_string_equal(g->reasons[0].message, want);
        nvv_host_free(h);
        big[NVV_HOST_DRIVER_INFO_MAX] = '\0';
        tree_write(t, "proc/driver/nvidia/gpus/0000:41:00.0/information", big);
        h = scan(sub.root, proc);
        assert_string_equal(h->gpus[0]->firmware, "580.65.06");
        nvv_host_free(h);
        free(sub.root);
        tree_free(t);
}

static void test_not_a_tree(void **state)
{
        struct tree *t = tree_new();
        struct nvv_host_scan_params p = { .sysfs_root = t->root, .catalog = catalog, .fwdb = fwdb };
        struct nvv_host *h = NULL;
        _cleanup_free_ char *msg = NULL;

        assert_int_equal(nvv_host_scan(&p, &h, &msg), -ENOENT);
        assert_null(h);
        assert_non_null(strstr(msg, "not a sysfs tree (no bus/pci/devices)"));
        tree_free(t);
}

static void test_driver_information(void **state)
{
        char *fw = NULL;

        assert_int_equal(nvv_host_parse_driver_information("Model: x\nGPU Firmware: \t 570.144 \n", &fw), 0);
        assert_string_equal(fw, "570.144");
        free(fw);
        assert_int_equal(nvv_host_parse_driver_information("GPU Firmware: N/A\n", &fw), -EBADMSG);
        assert_int_equal(nvv_host_parse_driver_information("GPU Firmware:\n", &fw), -ENOENT);
        assert_int_equal(nvv_host_parse_driver_information("Model: x\n", &fw), -ENOENT);
        /* A capture of several GPUs' information files. */
        {
                const char *cap = "== /proc/driver/nvidia/gpus/0000:01:00.0/information\nGPU Firmware: 570.144\n"
                                  "== /proc/driver/nvidia/gpus/0000:02:00.0/information\nModel: x\nGPU Firmware: 580.65.06\n";
                char *t = NULL;

                assert_int_equal(nvv_host_capture_information(cap, "0000:02:00.0", &t), 0);
                assert_string_equal(t, "Model: x\nGPU Firmware: 580.65.06\n");
                free(t);
                assert_int_equal(nvv_host_capture_information(cap, "0000:01:00.0", &t), 0);
                assert_string_equal(t, "GPU Firmware: 570.144\n");
                free(t);
                assert_int_equal(nvv_host_capture_information(cap, "0000:03:00.0", &t), -ENOENT);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_h200_fixture),        cmocka_unit_test(test_h200_fixture_sysfs_only),
                cmocka_unit_test(test_h200_no_proc),        cmocka_unit_test(test_sriov_host),
                cmocka_unit_test(test_every_reason),        cmocka_unit_test(test_unknown_model_and_no_driver),
                cmocka_unit_test(test_subsystem_model), cmocka_unit_test(test_too_few_vfs),         cmocka_unit_test(test_turing_needs_no_sriov),
                cmocka_unit_test(test_garbage),             cmocka_unit_test(test_not_a_tree),
                cmocka_unit_test(test_links_out_of_tree),   cmocka_unit_test(test_escape),
                cmocka_unit_test(test_driver_information_too_large),
                cmocka_unit_test(test_driver_information),
        };

        return cmocka_run_group_tests(tests, datatest_setup, datatest_teardown);
}
