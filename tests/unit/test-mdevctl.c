/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mdevctl's definition files: read strictly (what Debian's mdevctl 1.2.0 writes reads back;
 * what it would not read is refused with the reason), written in mdevctl's own layout, never
 * over an existing file, and a directory tree with other parents, scripts.d and stray files
 * loaded without touching any of them.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nvv-mdevctl.h"
#include "nvv-vftypes.h"
#include "testutil.h"

/* As `mdevctl define -p 0000:41:00.0 -t nvidia-1155 -u ... -a` wrote it (mdevctl 1.2.0, Debian 12). */
static const char written_by_mdevctl[] = "{\n  \"mdev_type\": \"nvidia-1155\",\n  \"start\": \"auto\",\n  \"attrs\": []\n}";

static void test_parse(void **state)
{
        struct nvv_mdevctl_def d = {};
        _cleanup_free_ char *msg = NULL, *text = NULL;
        static const struct {
                const char *doc, *why;
        } bad[] = {
                { "[]", "a definition is a JSON object" },
                { "{\"start\": \"auto\"}", "mdev_type" },
                { "{\"mdev_type\": \"nvidia-1\", \"start\": \"sometimes\"}", "start: is \"auto\" or \"manual\"" },
                { "{\"mdev_type\": \"../x\", \"start\": \"auto\"}", "mdev_type: not a type name" },
                { "{\"mdev_type\": \"nvidia-1\", \"uuid\": \"x\"}", "uuid" },
                { "{\"mdev_type\": \"nvidia-1\", \"attrs\": [{\"a\": \"1\", \"b\": \"2\"}]}", "attrs[0]" },
                { "{\"mdev_type\": \"nvidia-1\", \"attrs\": [{\"a\": 1}]}", "{\"NAME\": \"VALUE\"}" },
                { "{\"mdev_type\": \"nvidia-1\"", "def" },
        };

        assert_int_equal(nvv_mdevctl_parse(written_by_mdevctl, strlen(written_by_mdevctl), "def", &d, &msg), 0);
        assert_string_equal(d.mdev_type, "nvidia-1155");
        assert_true(d.autostart);
        assert_int_equal(d.n_attrs, 0);
        /* And ours is byte for byte the same. */
        assert_int_equal(nvv_mdevctl_format(&d, &text), 0);
        assert_string_equal(text, written_by_mdevctl);
        {
                const char *a = "{\"mdev_type\":\"vfio_ap-passthrough\",\"start\":\"manual\",\"attrs\":[{\"assign_adapter\":\"5\"},"
                                "{\"assign_domain\":\"0xab\"}]}";

                assert_int_equal(nvv_mdevctl_parse(a, strlen(a), "def", &d, NULL), 0);
                assert_false(d.autostart);
                assert_int_equal(d.n_attrs, 2);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                free(msg);
                msg = NULL;
                assert_int_equal(nvv_mdevctl_parse(bad[i].doc, strlen(bad[i].doc), "def", &d, &msg), -EINVAL);
                if (!msg || !strstr(msg, bad[i].why))
                        fail_msg("%s: got '%s', want '%s'", bad[i].doc, msg ? msg : "(none)", bad[i].why);
        }
        assert_true(nvv_mdevctl_parent_valid("0000:41:00.0"));
        assert_true(nvv_mdevctl_parent_valid("matrix"));
        assert_false(nvv_mdevctl_parent_valid(".."));
        assert_false(nvv_mdevctl_parent_valid("a/b"));
        assert_false(nvv_mdevctl_parent_valid(""));
}

static void put(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

static void test_tree(void **state)
{
        char dir[] = "/tmp/nvv-mdevctl-XXXXXX", p[256], cmd[300];
        _cleanup_free_ struct nvv_mdevctl_def *defs = NULL;
        _cleanup_free_ char *msg = NULL, *data = NULL;
        _cleanup_strv_free_ char **w = NULL;
        struct nvv_mdevctl_def d = { .parent = "0000:42:00.0", .uuid = "6e0f3a52-9d1b-4c7e-8a21-00000000b002",
                                     .mdev_type = "nvidia-1153" };
        struct stat st;
        size_t n = 0, size;

        assert_non_null(mkdtemp(dir));
        /* A missing directory is no definitions. */
        snprintf(p, sizeof(p), "%s/none", dir);
        assert_int_equal(nvv_mdevctl_load(p, &defs, &n, &w), 0);
        assert_int_equal(n, 0);
        snprintf(cmd, sizeof(cmd), "mkdir -p %s/scripts.d/callouts %s/0000:41:00.0 %s/matrix %s/.hidden", dir, dir, dir, dir);
        assert_int_equal(system(cmd), 0);
        snprintf(p, sizeof(p), "%s/0000:41:00.0/6E0F3A52-9D1B-4C7E-8A21-00000000B001", dir);
        put(p, written_by_mdevctl);
        snprintf(p, sizeof(p), "%s/0000:41:00.0/notes.txt", dir);
        put(p, "hello");
        snprintf(p, sizeof(p), "%s/0000:41:00.0/6e0f3a52-9d1b-4c7e-8a21-00000000b009", dir);
        put(p, "{\"mdev_type\": \"nvidia-1152\", \"start\": \"sometimes\"}");
        snprintf(p, sizeof(p), "%s/matrix/6e0f3a52-9d1b-4c7e-8a21-00000000b003", dir);
        put(p, "{\"mdev_type\":\"vfio_ap-passthrough\",\"start\":\"manual\",\"attrs\":[]}");
        /* A symbolic link is not followed. */
        snprintf(cmd, sizeof(cmd), "ln -s /etc/passwd %s/0000:41:00.0/6e0f3a52-9d1b-4c7e-8a21-00000000b008", dir);
        assert_int_equal(system(cmd), 0);

        assert_int_equal(nvv_mdevctl_save(dir, &d, &msg), 0);
        assert_int_equal(nvv_mdevctl_save(dir, &d, &msg), -EEXIST);
        assert_non_null(strstr(msg, "mdevctl has a definition of 6e0f3a52-9d1b-4c7e-8a21-00000000b002 already"));
        snprintf(p, sizeof(p), "%s/0000:42:00.0/6e0f3a52-9d1b-4c7e-8a21-00000000b002", dir);
        assert_int_equal(read_full_file(p, 4096, &data, &size), 0);
        assert_string_equal(data, "{\n  \"mdev_type\": \"nvidia-1153\",\n  \"start\": \"manual\",\n  \"attrs\": []\n}");
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);

        assert_int_equal(nvv_mdevctl_load(dir, &defs, &n, &w), 0);
        assert_int_equal(n, 3);
        assert_string_equal(defs[0].parent, "0000:41:00.0");
        assert_string_equal(defs[0].uuid, "6e0f3a52-9d1b-4c7e-8a21-00000000b001"); /* lowercased */
        assert_true(defs[0].autostart);
        assert_string_equal(defs[1].parent, "0000:42:00.0");
        assert_false(defs[1].autostart);
        assert_string_equal(defs[2].parent, "matrix");
        /* notes.txt, the bad "start" and the link are each reported; scripts.d and .hidden are not parents. */
        assert_int_equal(strv_length(w), 3);
        for (char **l = w; *l; l++)
                if (!strstr(*l, "notes.txt: not a UUID") && !strstr(*l, "b009: start: is") && !strstr(*l, "b008: "))
                        fail_msg("unexpected warning: %s", *l);

        assert_int_equal(nvv_mdevctl_delete(dir, "0000:42:00.0", "6e0f3a52-9d1b-4c7e-8a21-00000000b002", &msg), 0);
        assert_int_equal(nvv_mdevctl_delete(dir, "0000:42:00.0", "6e0f3a52-9d1b-4c7e-8a21-00000000b002", NULL), -ENOENT);
        assert_int_equal(nvv_mdevctl_delete(dir, "../x", "6e0f3a52-9d1b-4c7e-8a21-00000000b002", NULL), -EINVAL);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

/* creatable_vgpu_types in both field layouts, read by field, not column. */
static void test_vftypes(void **state)
{
        static const char rfc[] = "ID    : vGPU Name\n1152  : NVIDIA L40S-8Q\n1155  : NVIDIA L40S-24Q\n";
        static const char field[] = "vGPU Name    ID\nNVIDIA L40S-8Q       1152\n  NVIDIA L40S-24Q 1155  \n\n";
        static const char *const bad[] = { "1152 : \n", "NVIDIA L40S-8Q\n", "abc : NVIDIA L40S-8Q\n", "0 : x\n",
                                           "1152 : a\n1152 : b\n", "99999999999 : x\n" };
        const char *docs[] = { rfc, field };

        for (size_t k = 0; k < 2; k++) {
                _cleanup_free_ struct nvv_vftype *t = NULL;
                size_t n = 0;

                assert_int_equal(nvv_vftypes_parse(docs[k], strlen(docs[k]), &t, &n, NULL), 0);
                assert_int_equal(n, 2);
                assert_int_equal(t[0].id, 1152);
                assert_string_equal(t[0].name, "NVIDIA L40S-8Q");
                assert_int_equal(t[1].id, 1155);
                assert_string_equal(t[1].name, "NVIDIA L40S-24Q");
        }
        {
                _cleanup_free_ struct nvv_vftype *t = NULL;
                size_t n = 9;

                assert_int_equal(nvv_vftypes_parse("", 0, &t, &n, NULL), 0); /* a VF with a type lists nothing */
                assert_int_equal(n, 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ struct nvv_vftype *t = NULL;
                _cleanup_free_ char *msg = NULL;
                size_t n;

                if (nvv_vftypes_parse(bad[i], strlen(bad[i]), &t, &n, &msg) != -EINVAL || !msg || !strstr(msg, "line "))
                        fail_msg("'%s' was not refused with a line number (%s)", bad[i], msg ? msg : "no message");
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_tree),
                cmocka_unit_test(test_vftypes),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
