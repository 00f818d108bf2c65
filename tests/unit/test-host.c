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
                        escape |= streq(*w, "bus/pci/devices/0000:06:00.0: Invalid cross-device link, skipped");
                }
                assert_true(vendor);
                assert_true(cls);
                assert_true(numa);
                assert_true(escape);
        }
        nvv_host_free(h);
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
                cmocka_unit_test(test_driver_information),
        };

        return cmocka_run_group_tests(tests, datatest_setup, datatest_teardown);
}
