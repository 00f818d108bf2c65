/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Discovery through libudev and the hotplug monitor, on umockdev test beds: SR-IOV GPUs with
 * VFs, IOMMU groups and drivers, and uevents for GPUs and drivers coming and going.
 * libumockdev-preload must be loaded before the program starts; without it the test re-runs
 * itself with LD_PRELOAD set (umockdev-wrapper does the same).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nvv-catalog.h"
#include "nvv-fwabi.h"
#include "nvv-host.h"
#include "nvv-hotplug.h"
#include "tree.h"
#include "util.h"
/* After our headers: glib redefines MIN/MAX itself. */
#include <umockdev.h>

#include "datatest.h"
static UMockdevTestbed *bed;

static int bed_setup(void **state)
{
        bed = umockdev_testbed_new();
        return bed ? 0 : -1;
}

static int bed_teardown(void **state)
{
        g_object_unref(bed);
        bed = NULL;
        return 0;
}

static char *add_gpu(const char *bdf, const char *device, const char *vfs, const char *driver, const char *group,
                     const char *numa)
{
        char *path;

        path = umockdev_testbed_add_device(bed, "pci", bdf, NULL,
                                           "vendor", "0x10de", "device", device, "class", "0x030200",
                                           "numa_node", numa, NULL,
                                           "PCI_ID", "10DE:26B9", "PCI_CLASS", "30200", "PCI_SLOT_NAME", bdf,
                                           driver ? "DRIVER" : NULL, driver, NULL);
        assert_non_null(path);
        if (vfs) {
                umockdev_testbed_set_attribute(bed, path, "sriov_totalvfs", vfs);
                umockdev_testbed_set_attribute(bed, path, "sriov_numvfs", "0");
        }
        /* umockdev puts a device without a parent at /sys/devices/BDF: two levels up is the
         * root (a link climbing further would leave the tree and is not followed). */
        if (driver) {
                char *t = g_strdup_printf("../../bus/pci/drivers/%s", driver);

                umockdev_testbed_set_attribute_link(bed, path, "driver", t);
                g_free(t);
        }
        if (group) {
                char *t = g_strdup_printf("../../kernel/iommu_groups/%s", group);

                umockdev_testbed_set_attribute_link(bed, path, "iommu_group", t);
                g_free(t);
        }
        return path;
}

static struct nvv_host *scan_udev(const char *proc)
{
        struct nvv_host_scan_params p = { .proc_root = proc, .catalog = catalog, .fwdb = fwdb };
        struct nvv_host *h = NULL;
        _cleanup_free_ char *msg = NULL;

        if (nvv_host_scan(&p, &h, &msg) < 0) {
                fprintf(stderr, "scan: %s\n", msg);
                fail();
        }
        return h;
}

static void test_enumerate_sriov(void **state)
{
        struct tree *proc = tree_new();
        _cleanup_(nvv_host_freep) struct nvv_host *h = NULL;
        char *pf, *vf;
        const struct nvv_host_gpu *g;

        pf = add_gpu("0000:41:00.0", "0x26b9", "32", "nvidia", "17", "1");
        vf = umockdev_testbed_add_device(bed, "pci", "0000:41:00.4", NULL, "vendor", "0x10de", "device", "0x26b9",
                                         "class", "0x030200", NULL, "PCI_ID", "10DE:26B9", "PCI_CLASS", "30200", NULL);
        umockdev_testbed_set_attribute_link(bed, vf, "physfn", "../0000:41:00.0");
        umockdev_testbed_set_attribute_link(bed, pf, "virtfn0", "../0000:41:00.4");
        /* An H100 bound to vfio-pci, and a NIC that is not ours. */
        g_free(add_gpu("0000:81:00.0", "0x2331", "32", "vfio-pci", "40", "0"));
        g_free(umockdev_testbed_add_device(bed, "pci", "0000:05:00.0", NULL, "vendor", "0x15b3", "device", "0x101d",
                                           "class", "0x020000", NULL, NULL));
        /* The NVIDIA driver's information lives in procfs, which a test gives as a directory. */
        tree_write(proc, "driver/nvidia/gpus/0000:41:00.0/information", "GPU Firmware: 580.65.06\n");

        h = scan_udev(proc->root);
        assert_int_equal(h->n, 2); /* the VF is not a GPU of its own, the NIC is not NVIDIA */
        g = h->gpus[0];
        assert_string_equal(g->bdf, "0000:41:00.0");
        assert_string_equal(g->model->short_name, "L40S");
        assert_true(g->sriov_capable);
        assert_int_equal(g->sriov_total_vfs, 32);
        assert_int_equal(strv_length(g->vfs), 1);
        assert_string_equal(g->vfs[0], "0000:41:00.4");
        assert_int_equal(g->iommu_group, 17);
        assert_int_equal(g->numa_node, 1);
        assert_string_equal(g->driver, "nvidia");
        assert_string_equal(g->firmware, "580.65.06");
        assert_true(nvv_host_gpu_can_host(g));
        g = h->gpus[1];
        assert_string_equal(g->model->short_name, "H100");
        assert_false(nvv_host_gpu_can_host(g));
        assert_int_equal(g->reasons[0].issue, NVV_HOST_ISSUE_DRIVER);
        g_free(pf);
        g_free(vf);
        tree_free(proc);
}

struct seen {
        int n;
        struct nvv_hotplug_event ev[8];
        char drivers[8][32];
};

static void on_event(const struct nvv_hotplug_event *ev, void *userdata)
{
        struct seen *s = userdata;

        if (s->n >= 8)
                return;
        s->ev[s->n] = *ev;
        snprintf(s->drivers[s->n], sizeof(s->drivers[0]), "%s", ev->driver ? ev->driver : "");
        s->ev[s->n].syspath = NULL;
        s->ev[s->n].driver = NULL;
        s->n++;
}

static void wait_events(struct nvv_hotplug *hp, struct seen *s, int want)
{
        for (int tries = 0; s->n < want && tries < 50; tries++) {
                struct pollfd p = { .fd = nvv_hotplug_get_fd(hp), .events = POLLIN };

                if (poll(&p, 1, 100) > 0)
                        assert_true(nvv_hotplug_process(hp) >= 0);
        }
}

static void test_hotplug(void **state)
{
        _cleanup_(nvv_hotplug_freep) struct nvv_hotplug *hp = NULL;
        struct seen s = {};
        char *gpu, *nic, *audio;

        assert_int_equal(nvv_hotplug_new(on_event, &s, &hp), 0);
        gpu = add_gpu("0000:c1:00.0", "0x26b9", "32", NULL, "55", "0");
        nic = umockdev_testbed_add_device(bed, "pci", "0000:06:00.0", NULL, "vendor", "0x8086", NULL,
                                          "PCI_ID", "8086:1572", "PCI_CLASS", "20000", NULL);
        audio = umockdev_testbed_add_device(bed, "pci", "0000:c1:00.1", NULL, "vendor", "0x10de", NULL,
                                            "PCI_ID", "10DE:22BA", "PCI_CLASS", "40300", NULL);
        /* umockdev announces each added device with an "add" uevent; the NIC (not NVIDIA) and
         * the audio function (NVIDIA, not a GPU) must not reach the callback. */
        umockdev_testbed_uevent(bed, nic, "change");
        umockdev_testbed_uevent(bed, audio, "change");
        umockdev_testbed_set_property(bed, gpu, "DRIVER", "nvidia");
        umockdev_testbed_uevent(bed, gpu, "bind");
        umockdev_testbed_uevent(bed, gpu, "unbind");
        umockdev_testbed_uevent(bed, gpu, "remove");
        wait_events(hp, &s, 4);
        /* and nothing else arrives */
        {
                struct pollfd p = { .fd = nvv_hotplug_get_fd(hp), .events = POLLIN };

                if (poll(&p, 1, 300) > 0)
                        assert_true(nvv_hotplug_process(hp) >= 0);
        }
        assert_int_equal(s.n, 4);
        assert_int_equal(s.ev[0].action, NVV_HOTPLUG_ADD);
        assert_string_equal(s.ev[0].bdf, "0000:c1:00.0");
        assert_int_equal(s.ev[0].device, 0x26b9);
        assert_int_equal(s.ev[0].pci_class, 0x030200);
        assert_false(s.ev[0].is_vf);
        assert_int_equal(s.ev[1].action, NVV_HOTPLUG_BIND);
        assert_string_equal(s.drivers[1], "nvidia");
        assert_int_equal(s.ev[2].action, NVV_HOTPLUG_UNBIND);
        assert_string_equal(s.drivers[2], ""); /* no driver after unbind */
        assert_int_equal(s.ev[3].action, NVV_HOTPLUG_REMOVE);
        g_free(gpu);
        g_free(nic);
        g_free(audio);
}

static void test_parse_ids(void **state)
{
        uint16_t d;
        uint32_t c;

        assert_int_equal(nvv_hotplug_parse_ids("10DE:2335", "30200", &d, &c), 0);
        assert_int_equal(d, 0x2335);
        assert_int_equal(c, 0x030200);
        assert_int_equal(nvv_hotplug_parse_ids("10DE:2335", "30000", &d, &c), 0);
        assert_int_equal(nvv_hotplug_parse_ids("10DE:22BA", "40300", &d, &c), -ENODEV);
        assert_int_equal(nvv_hotplug_parse_ids("8086:2335", "30200", &d, &c), -ENODEV);
        assert_int_equal(nvv_hotplug_parse_ids("10DE2335", "30200", &d, &c), -EINVAL);
        assert_int_equal(nvv_hotplug_parse_ids("10DE:23G5", "30200", &d, &c), -EINVAL);
        assert_int_equal(nvv_hotplug_parse_ids("10DE:2335", "", &d, &c), -EINVAL);
        assert_int_equal(nvv_hotplug_parse_ids(NULL, "30200", &d, &c), -EINVAL);
        assert_int_equal(nvv_hotplug_action_from_string("bind"), NVV_HOTPLUG_BIND);
        assert_int_equal(nvv_hotplug_action_from_string("move"), _NVV_HOTPLUG_ACTION_INVALID);
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_enumerate_sriov, bed_setup, bed_teardown),
                cmocka_unit_test_setup_teardown(test_hotplug, bed_setup, bed_teardown),
                cmocka_unit_test(test_parse_ids),
        };
        const char *pre = getenv("LD_PRELOAD");

        if (!pre || !strstr(pre, "libumockdev-preload")) {
                char *v = NULL;

                if (asprintf(&v, "libumockdev-preload.so.0%s%s", pre && *pre ? ":" : "", pre ? pre : "") < 0)
                        return 1;
                setenv("LD_PRELOAD", v, 1);
                execv("/proc/self/exe", argv);
                fprintf(stderr, "cannot re-run under libumockdev-preload: %s\n", strerror(errno));
                return 1;
        }
        (void) argc;
        return cmocka_run_group_tests(tests, datatest_setup, datatest_teardown);
}
