/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sysfs seam: bounded reads under a root, captured links, and the attribute parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-sysfs.h"
#include "tree.h"
#include "util.h"

static void *mfree(void *p)
{
        free(p);
        return NULL;
}

static void test_parse_u32(void **state)
{
        uint32_t v;

        assert_int_equal(nvv_sysfs_parse_u32("32", &v), 0);
        assert_int_equal(v, 32);
        assert_int_equal(nvv_sysfs_parse_u32("4294967295", &v), 0);
        assert_int_equal(v, UINT32_MAX);
        assert_int_equal(nvv_sysfs_parse_u32("4294967296", &v), -ERANGE);
        assert_int_equal(nvv_sysfs_parse_u32("", &v), -EINVAL);
        assert_int_equal(nvv_sysfs_parse_u32("-1", &v), -EINVAL);
        assert_int_equal(nvv_sysfs_parse_u32(" 1", &v), -EINVAL);
        assert_int_equal(nvv_sysfs_parse_u32("1 ", &v), -EINVAL);
        assert_int_equal(nvv_sysfs_parse_u32("0x10", &v), -EINVAL);
        assert_int_equal(nvv_sysfs_parse_u32("12abc", &v), -EINVAL);
}

static void test_parse_int(void **state)
{
        int v;

        assert_int_equal(nvv_sysfs_parse_int("-1", &v), 0);
        assert_int_equal(v, -1);
        assert_int_equal(nvv_sysfs_parse_int("3", &v), 0);
        assert_int_equal(v, 3);
        assert_int_equal(nvv_sysfs_parse_int("--1", &v), -EINVAL);
        assert_int_equal(nvv_sysfs_parse_int("-", &v), -EINVAL);
        assert_int_equal(nvv_sysfs_parse_int("2147483648", &v), -ERANGE);
}

static void test_parse_hex(void **state)
{
        uint32_t v;

        assert_int_equal(nvv_sysfs_parse_hex("0x10de", 16, &v), 0);
        assert_int_equal(v, 0x10de);
        assert_int_equal(nvv_sysfs_parse_hex("0x030200", 24, &v), 0);
        assert_int_equal(v, 0x030200);
        assert_int_equal(nvv_sysfs_parse_hex("0X2335", 16, &v), 0);
        assert_int_equal(nvv_sysfs_parse_hex("0x10000", 16, &v), -ERANGE);
        assert_int_equal(nvv_sysfs_parse_hex("10de", 16, &v), -EINVAL);
        assert_int_equal(nvv_sysfs_parse_hex("0x", 16, &v), -EINVAL);
        assert_int_equal(nvv_sysfs_parse_hex("0xg0", 16, &v), -EINVAL);
        assert_int_equal(nvv_sysfs_parse_hex("0x123456789", 32, &v), -ERANGE);
}

static void test_parse_bdf(void **state)
{
        char b[13];

        assert_int_equal(nvv_sysfs_parse_bdf("0000:41:00.0", b), 0);
        assert_string_equal(b, "0000:41:00.0");
        assert_int_equal(nvv_sysfs_parse_bdf("0000:4A:1F.7", b), 0);
        assert_string_equal(b, "0000:4a:1f.7");
        assert_int_equal(nvv_sysfs_parse_bdf("0000:41:20.0", b), -EINVAL);  /* device > 0x1f */
        assert_int_equal(nvv_sysfs_parse_bdf("0000:41:00.8", b), -EINVAL);  /* function > 7 */
        assert_int_equal(nvv_sysfs_parse_bdf("0000:41:00.0x", b), -EINVAL);
        assert_int_equal(nvv_sysfs_parse_bdf("pci0000:00", b), -EINVAL);
        assert_int_equal(nvv_sysfs_parse_bdf("", b), -EINVAL);
}

static void test_parse_uevent(void **state)
{
        _cleanup_free_ char *v = NULL;
        const char *ev = "DRIVER=nvidia\nPCI_CLASS=30200\nPCI_ID=10DE:2335\nEMPTY=\n";

        assert_int_equal(nvv_sysfs_parse_uevent(ev, "PCI_ID", &v), 0);
        assert_string_equal(v, "10DE:2335");
        assert_int_equal(nvv_sysfs_parse_uevent(ev, "PCI", &v), -ENOENT);
        v = mfree(v);
        assert_int_equal(nvv_sysfs_parse_uevent(ev, "EMPTY", &v), 0);
        assert_string_equal(v, "");
        assert_int_equal(nvv_sysfs_parse_uevent("", "X", &v), -ENOENT);
}

static void test_normalize(void **state)
{
        char *p;

        assert_int_equal(nvv_sysfs_normalize("bus/pci/devices", "../../../devices/pci0000:00/0000:00:06.0", &p), 0);
        assert_string_equal(p, "devices/pci0000:00/0000:00:06.0");
        free(p);
        assert_int_equal(nvv_sysfs_normalize("a/b", "./c/../d", &p), 0);
        assert_string_equal(p, "a/b/d");
        free(p);
        assert_int_equal(nvv_sysfs_normalize("bus", "../../etc/passwd", &p), -EXDEV);
        assert_int_equal(nvv_sysfs_normalize("bus", "/etc/passwd", &p), -EXDEV);
        assert_int_equal(nvv_sysfs_normalize("a", "..", &p), -EINVAL);
}

static void test_read_attr(void **state)
{
        struct tree *t = tree_new();
        _cleanup_(nvv_sysfs_freep) struct nvv_sysfs *s = NULL;
        char big[NVV_SYSFS_ATTR_MAX + 2];
        char *v = NULL;
        uint32_t u;
        int i;

        tree_write(t, "a/vendor", "0x10de\n");
        tree_write(t, "a/two", "x\n\n");
        tree_write(t, "a/empty", "");
        tree_write_bytes(t, "a/nul", "ab\0cd", 5);
        memset(big, 'x', sizeof(big));
        tree_write_bytes(t, "a/big", big, sizeof(big));
        tree_write_bytes(t, "a/max", big, NVV_SYSFS_ATTR_MAX);
        tree_write(t, "a/num", "garbage\n");
        assert_int_equal(nvv_sysfs_new(t->root, &s), 0);

        assert_int_equal(nvv_sysfs_read_attr(s, "a/vendor", 0, &v), 0);
        assert_string_equal(v, "0x10de"); /* one trailing newline goes */
        free(v);
        assert_int_equal(nvv_sysfs_read_attr(s, "a/two", 0, &v), 0);
        assert_string_equal(v, "x\n");    /* only one */
        free(v);
        assert_int_equal(nvv_sysfs_read_attr(s, "a/empty", 0, &v), 0);
        assert_string_equal(v, "");
        free(v);
        assert_int_equal(nvv_sysfs_read_attr(s, "a/max", 0, &v), 0);
        assert_int_equal(strlen(v), NVV_SYSFS_ATTR_MAX);
        free(v);
        assert_int_equal(nvv_sysfs_read_attr(s, "a/big", 0, &v), -EFBIG);
        assert_int_equal(nvv_sysfs_read_attr(s, "a/vendor", 3, &v), -EFBIG);
        assert_int_equal(nvv_sysfs_read_attr(s, "a/nul", 0, &v), -EBADMSG);
        assert_int_equal(nvv_sysfs_read_attr(s, "a/missing", 0, &v), -ENOENT);
        assert_int_equal(nvv_sysfs_read_attr(s, "a", 0, &v), -EISDIR);
        /* Nothing outside the root. */
        assert_int_equal(nvv_sysfs_read_attr(s, "../etc/passwd", 0, &v), -EINVAL);
        assert_int_equal(nvv_sysfs_read_attr(s, "a/../../x", 0, &v), -EINVAL);
        assert_int_equal(nvv_sysfs_read_attr(s, "/etc/passwd", 0, &v), -EINVAL);
        assert_int_equal(nvv_sysfs_read_hex(s, "a/vendor", 16, &u), 0);
        assert_int_equal(u, 0x10de);
        assert_int_equal(nvv_sysfs_read_u32(s, "a/num", &u), -EBADMSG);
        assert_int_equal(nvv_sysfs_read_u32(s, "a/big", &u), -EBADMSG);
        i = 0;
        assert_int_equal(nvv_sysfs_read_int(s, "a/missing", &i), -ENOENT);
        tree_free(t);
}

static void test_links(void **state)
{
        struct tree *t = tree_new();
        _cleanup_(nvv_sysfs_freep) struct nvv_sysfs *s = NULL;
        char *v = NULL;

        tree_write(t, "devices/pci0000:00/0000:41:00.0/vendor", "0x10de\n");
        tree_link(t, "bus/pci/devices/0000:41:00.0", "../../../devices/pci0000:00/0000:41:00.0");
        tree_link(t, "devices/pci0000:00/0000:41:00.0/driver", "../../../bus/pci/drivers/nvidia");
        /* A captured link: a plain file holding the target, as in shared/fixtures. */
        tree_write(t, "bus/pci/devices/0000:00:06.0", "../../../devices/pci0000:00/0000:00:06.0");
        tree_link(t, "bus/evil", "../../../../etc");
        tree_write(t, "bus/badcapture", "two\nlines");
        assert_int_equal(nvv_sysfs_new(t->root, &s), 0);

        assert_int_equal(nvv_sysfs_resolve_link(s, "bus/pci/devices/0000:41:00.0", &v), 0);
        assert_string_equal(v, "devices/pci0000:00/0000:41:00.0");
        free(v);
        assert_int_equal(nvv_sysfs_resolve_link(s, "bus/pci/devices/0000:00:06.0", &v), 0);
        assert_string_equal(v, "devices/pci0000:00/0000:00:06.0");
        free(v);
        assert_int_equal(nvv_sysfs_read_link_name(s, "devices/pci0000:00/0000:41:00.0/driver", &v), 0);
        assert_string_equal(v, "nvidia");
        free(v);
        assert_int_equal(nvv_sysfs_resolve_link(s, "bus/evil", &v), -EXDEV);
        assert_int_equal(nvv_sysfs_read_link(s, "bus/badcapture", &v), -EBADMSG);
        assert_int_equal(nvv_sysfs_read_link(s, "bus/pci", &v), -ENOLINK);
        assert_int_equal(nvv_sysfs_read_link(s, "bus/none", &v), -ENOENT);
        tree_free(t);
}

/* A crafted tree: links to the host's files, ".." climbing out, absolute links. Nothing of
 * them is read or followed, by openat2(2) and by the component-by-component fallback. */
static void check_confined(bool portable)
{
        struct tree *t = tree_new();
        _cleanup_(nvv_sysfs_freep) struct nvv_sysfs *s = NULL;
        _cleanup_strv_free_ char **l = NULL;
        char *v = NULL;

        tree_write(t, "a/vendor", "0x10de\n");
        tree_link(t, "a/passwd", "/etc/passwd");           /* absolute */
        tree_link(t, "a/up", "../../etc/passwd");          /* climbs out */
        tree_link(t, "a/here", "..");                      /* the root: fine */
        tree_link(t, "a/above", "../..");                  /* above the root */
        tree_link(t, "a/v2", "./vendor");
        tree_link(t, "etc", "/etc");
        tree_link(t, "loop1", "loop2");
        tree_link(t, "loop2", "loop1");
        tree_write(t, "devices/p/0000:41:00.0/vendor", "0x10de\n");
        tree_link(t, "devices/p/0000:41:00.0/device", "../../../../../../../../etc/passwd");
        tree_link(t, "devices/p/0000:41:00.0/driver", "../../../bus/pci/drivers/nvidia");
        tree_link(t, "devices/p/0000:41:00.0/iommu_group", "/sys/kernel/iommu_groups/3");
        tree_write(t, "bus/pci/drivers/nvidia", NULL);
        tree_link(t, "bus/pci/devices/0000:41:00.0", "../../../devices/p/0000:41:00.0");
        tree_link(t, "bus/pci/devices/0000:42:00.0", "../../../a/above/etc");
        assert_int_equal(nvv_sysfs_new(t->root, &s), 0);
        nvv_sysfs_set_portable_resolve(s, portable);

        assert_int_equal(nvv_sysfs_read_attr(s, "a/passwd", 0, &v), -EXDEV);
        assert_int_equal(nvv_sysfs_read_attr(s, "a/up", 0, &v), -EXDEV);
        assert_int_equal(nvv_sysfs_read_attr(s, "a/above/etc/passwd", 0, &v), -EXDEV);
        assert_int_equal(nvv_sysfs_read_attr(s, "etc/passwd", 0, &v), -EXDEV);
        assert_int_equal(nvv_sysfs_read_attr(s, "bus/pci/devices/0000:41:00.0/device", 0, &v), -EXDEV);
        assert_int_equal(nvv_sysfs_read_attr(s, "loop1", 0, &v), -ELOOP);
        assert_false(nvv_sysfs_is_dir(s, "etc"));
        assert_true(nvv_sysfs_exists(s, "etc"));          /* the link itself is in the tree */
        assert_false(nvv_sysfs_exists(s, "etc/passwd"));
        assert_int_equal(nvv_sysfs_list_dir(s, "etc", &l), -EXDEV);
        assert_int_equal(nvv_sysfs_list_dir(s, "a/above", &l), -EXDEV);
        assert_int_equal(nvv_sysfs_resolve_link(s, "a/passwd", &v), -EXDEV);
        assert_int_equal(nvv_sysfs_resolve_link(s, "a/up", &v), -EXDEV);
        assert_int_equal(nvv_sysfs_resolve_link(s, "bus/pci/devices/0000:42:00.0", &v), -EXDEV);
        assert_int_equal(nvv_sysfs_read_link_name(s, "devices/p/0000:41:00.0/iommu_group", &v), -EXDEV);
        assert_int_equal(nvv_sysfs_read_link_name(s, "devices/p/0000:41:00.0/device", &v), -EXDEV);
        assert_string_equal(nvv_sysfs_strerror(-EXDEV), "a link leading out of the tree, not followed");

        /* What stays inside reads as before, links in the middle of a path included. */
        assert_int_equal(nvv_sysfs_read_attr(s, "a/here/a/vendor", 0, &v), 0);
        assert_string_equal(v, "0x10de");
        free(v);
        assert_int_equal(nvv_sysfs_read_attr(s, "a/v2", 0, &v), 0);
        assert_string_equal(v, "0x10de");
        free(v);
        assert_int_equal(nvv_sysfs_read_attr(s, "bus/pci/devices/0000:41:00.0/vendor", 0, &v), 0);
        assert_string_equal(v, "0x10de");
        free(v);
        assert_true(nvv_sysfs_is_dir(s, "a/here"));
        assert_int_equal(nvv_sysfs_read_link(s, "a/passwd", &v), 0); /* the text of the link */
        assert_string_equal(v, "/etc/passwd");
        free(v);
        /* The driver link read through the bus/pci/devices link resolves where it lies. */
        assert_int_equal(nvv_sysfs_resolve_link(s, "bus/pci/devices/0000:41:00.0/driver", &v), 0);
        assert_string_equal(v, "bus/pci/drivers/nvidia");
        free(v);
        assert_int_equal(nvv_sysfs_read_link_name(s, "bus/pci/devices/0000:41:00.0/driver", &v), 0);
        assert_string_equal(v, "nvidia");
        free(v);
        assert_int_equal(nvv_sysfs_resolve_link(s, "bus/pci/devices/0000:41:00.0", &v), 0);
        assert_string_equal(v, "devices/p/0000:41:00.0");
        free(v);
        tree_free(t);
}

static void test_confined(void **state)
{
        check_confined(false);
}

static void test_confined_portable(void **state)
{
        check_confined(true);
}

static void test_list_dir(void **state)
{
        struct tree *t = tree_new();
        _cleanup_(nvv_sysfs_freep) struct nvv_sysfs *s = NULL;
        _cleanup_strv_free_ char **l = NULL;

        tree_write(t, "d/b", "1");
        tree_write(t, "d/a", "1");
        tree_write(t, "d/.hidden", "1");
        tree_write(t, "d/c/x", "1");
        assert_int_equal(nvv_sysfs_new(t->root, &s), 0);
        assert_int_equal(nvv_sysfs_list_dir(s, "d", &l), 0);
        assert_int_equal(strv_length(l), 3);
        assert_string_equal(l[0], "a");
        assert_string_equal(l[1], "b");
        assert_string_equal(l[2], "c");
        assert_true(nvv_sysfs_is_dir(s, "d/c"));
        assert_false(nvv_sysfs_is_dir(s, "d/a"));
        assert_true(nvv_sysfs_exists(s, "d/a"));
        assert_false(nvv_sysfs_exists(s, "d/z"));
        assert_int_equal(nvv_sysfs_list_dir(s, "nope", &l), -ENOENT);
        tree_free(t);
}

static void test_bad_root(void **state)
{
        struct nvv_sysfs *s = NULL;

        assert_int_equal(nvv_sysfs_new("/nonexistent/nvv-root", &s), -ENOENT);
        assert_null(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_u32),   cmocka_unit_test(test_parse_int),
                cmocka_unit_test(test_parse_hex),   cmocka_unit_test(test_parse_bdf),
                cmocka_unit_test(test_parse_uevent), cmocka_unit_test(test_normalize),
                cmocka_unit_test(test_read_attr),   cmocka_unit_test(test_links),
                cmocka_unit_test(test_list_dir),    cmocka_unit_test(test_bad_root),
                cmocka_unit_test(test_confined),    cmocka_unit_test(test_confined_portable),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
