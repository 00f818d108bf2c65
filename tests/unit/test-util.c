/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shared parsers and readers every loader stands on. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nvv-catalog.h"
#include "nvv-json.h"
#include "testutil.h"

static void test_unsigned_syntax(void **state)
{
        uint64_t v = 7;
        uint32_t w = 7;

        assert_int_equal(safe_atou64("0", &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(safe_atou64("10", &v), 0);
        assert_int_equal(v, 10);
        assert_int_equal(safe_atou64("0x1A", &v), 0);
        assert_int_equal(v, 26);
        assert_int_equal(safe_atou64("0X1a", &v), 0);
        assert_int_equal(v, 26);
        assert_int_equal(safe_atou64("18446744073709551615", &v), 0);
        assert_true(v == UINT64_MAX);
        assert_int_equal(safe_atou64("0xffffffffffffffff", &v), 0);
        assert_true(v == UINT64_MAX);

        /* A leading zero is an error, not octal. */
        assert_int_equal(safe_atou64("010", &v), -EINVAL);
        assert_int_equal(safe_atou64("00", &v), -EINVAL);
        assert_int_equal(safe_atou64("08", &v), -EINVAL);
        /* Only one prefix, digits after it, nothing around it. */
        assert_int_equal(safe_atou64("0x", &v), -EINVAL);
        assert_int_equal(safe_atou64("0x0x10", &v), -EINVAL);
        assert_int_equal(safe_atou64("0x 10", &v), -EINVAL);
        assert_int_equal(safe_atou64("0x-1", &v), -EINVAL);
        assert_int_equal(safe_atou64(" 1", &v), -EINVAL);
        assert_int_equal(safe_atou64("1 ", &v), -EINVAL);
        assert_int_equal(safe_atou64("+1", &v), -EINVAL);
        assert_int_equal(safe_atou64("-1", &v), -EINVAL);
        assert_int_equal(safe_atou64("", &v), -EINVAL);
        assert_int_equal(safe_atou64("1f", &v), -EINVAL);
        assert_int_equal(safe_atou64("0b101", &v), -EINVAL);
        assert_int_equal(safe_atou64("18446744073709551616", &v), -ERANGE);
        assert_int_equal(safe_atou64("0x10000000000000000", &v), -ERANGE);
        assert_true(v == UINT64_MAX); /* untouched by the failures */

        assert_int_equal(safe_atou32("4294967295", &w), 0);
        assert_true(w == UINT32_MAX);
        assert_int_equal(safe_atou32("4294967296", &w), -ERANGE);
        assert_int_equal(safe_atou32("017", &w), -EINVAL);
}

static void test_signed_syntax(void **state)
{
        int64_t v = 7;

        assert_int_equal(safe_atoi64("-12", &v), 0);
        assert_int_equal(v, -12);
        assert_int_equal(safe_atoi64("-0x10", &v), 0);
        assert_int_equal(v, -16);
        assert_int_equal(safe_atoi64("9223372036854775807", &v), 0);
        assert_true(v == INT64_MAX);
        assert_int_equal(safe_atoi64("-9223372036854775808", &v), 0);
        assert_true(v == INT64_MIN);
        assert_int_equal(safe_atoi64("9223372036854775808", &v), -ERANGE);
        assert_int_equal(safe_atoi64("-9223372036854775809", &v), -ERANGE);
        assert_int_equal(safe_atoi64("-010", &v), -EINVAL);
        assert_int_equal(safe_atoi64("+5", &v), -EINVAL);
        assert_int_equal(safe_atoi64("-", &v), -EINVAL);
        assert_int_equal(safe_atoi64("--1", &v), -EINVAL);
}

/* Parse text; on failure return the message (caller frees), on success NULL. */
static char *json_error(const char *text)
{
        char *msg = NULL;
        struct nvv_json j = { .file = "t.json", .err = &msg };
        json_object *o = NULL;
        int r = nvv_json_parse(&j, text, strlen(text), 1u << 20, &o);

        if (r == 0) {
                assert_non_null(o);
                json_object_put(o);
                assert_null(msg);
                return NULL;
        }
        assert_int_equal(r, -EINVAL);
        assert_null(o);
        assert_non_null(msg);
        return msg;
}

static void expect_json_error(const char *text, const char *message)
{
        _cleanup_free_ char *msg = json_error(text);

        assert_non_null(msg);
        assert_string_equal(msg, message);
}

static void test_json_duplicate_keys(void **state)
{
        expect_json_error("{\"a\": 1, \"a\": 2}", "t.json: line 1: duplicate key 'a'");
        expect_json_error("{\"x\": {\"a\": 1,\n \"b\": [{\"c\": 1}, {\"c\": 2,\n \"c\": 3}]}}",
                          "t.json: x.b[1]: line 3: duplicate key 'c'");
        /* Equal after decoding is equal. */
        expect_json_error("{\"key\": 1, \"k\\u0065y\": 2}", "t.json: line 1: duplicate key 'key'");
        expect_json_error("{\"s\": {\"\\u00e9\": 1, \"\xc3\xa9\": 2}}", "t.json: s: line 1: duplicate key '\xc3\xa9'");
        expect_json_error("{\"\\ud83d\\ude00\": 1, \"\xf0\x9f\x98\x80\": 2}", "t.json: line 1: duplicate key '\xf0\x9f\x98\x80'");
        /* Past the first keys (compared one by one) into the hash table: a key from before,
         * a key from after, none; and in a document too long for the scan's stack buffer. */
        expect_json_error("{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k0\":10}",
                          "t.json: line 1: duplicate key 'k0'");
        expect_json_error("{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k9\":10}",
                          "t.json: line 1: duplicate key 'k9'");
        assert_null(json_error("{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10}"));
        {
                char big[2048];
                int n = snprintf(big, sizeof(big), "{\"pad\": \"%0600d\", \"o\": {", 0);

                for (int i = 0; i < 30; i++)
                        n += snprintf(big + n, sizeof(big) - (size_t) n, "\"key%d\": %d, ", i, i);
                snprintf(big + n, sizeof(big) - (size_t) n, "\"key17\": 0}}");
                expect_json_error(big, "t.json: o: line 1: duplicate key 'key17'");
        }
        /* The same key in different objects, or as a string value, is fine. */
        assert_null(json_error("{\"a\": {\"a\": \"a\"}, \"b\": [{\"a\": 1}, {\"a\": 2}], \"c\": \"a\"}"));
        assert_null(json_error("{\"a\\\"\": 1, \"a\": 2, \"a\\\\\": 3}"));
}

static void test_json_integer_range(void **state)
{
        assert_null(json_error("{\"a\": 9223372036854775807, \"b\": -9223372036854775808, \"c\": 1e30}"));
        expect_json_error("{\"a\": {\"size\": 9223372036854775808}}",
                          "t.json: a.size: line 1: 9223372036854775808 is out of range "
                          "(integers are -9223372036854775808..9223372036854775807)");
        expect_json_error("[1, -9223372036854775809]",
                          "t.json: [1]: line 1: -9223372036854775809 is out of range "
                          "(integers are -9223372036854775808..9223372036854775807)");
        expect_json_error("{\"n\": 123456789012345678901234567890}",
                          "t.json: n: line 1: 123456789012345678901234567890 is out of range "
                          "(integers are -9223372036854775808..9223372036854775807)");
}

/* A FIFO, a device or a directory where a file is expected is refused at once; before, a
 * FIFO named *.json hung the loader for good. alarm() turns a hang into a failure. */
static void test_read_refuses_non_regular(void **state)
{
        char dir[] = "/tmp/nvv-util-XXXXXX", fifo[256], reg[256];
        char *data = NULL, *msg = NULL;
        struct nvv_fwdb *db = NULL;
        struct nvv_catalog *cat = NULL;
        size_t size;
        FILE *f;

        alarm(20);
        assert_non_null(mkdtemp(dir));
        snprintf(fifo, sizeof(fifo), "%s/570.144.json", dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(read_full_file(fifo, 1024, &data, &size), -EBADFD);
        assert_string_equal(read_full_file_strerror(-EBADFD), "not a regular file");
        assert_int_equal(read_full_file("/dev/null", 1024, &data, &size), -EBADFD);
        assert_int_equal(read_full_file(dir, 1024, &data, &size), -EISDIR);
        assert_null(data);

        snprintf(reg, sizeof(reg), "%s/plain", dir);
        f = fopen(reg, "we");
        assert_non_null(f);
        fputs("{}", f);
        fclose(f);
        assert_int_equal(read_full_file(reg, 1024, &data, &size), 0);
        assert_string_equal(data, "{}");
        assert_int_equal(size, 2);
        free(data);
        assert_int_equal(read_full_file(reg, 1, &data, &size), -EFBIG);
        unlink(reg);

        /* Release descriptions and the GPU catalog, both read from a directory. */
        assert_int_equal(nvv_fwdb_new(&db), 0);
        assert_int_equal(nvv_fwdb_load_dir(db, dir, &msg), -EBADFD);
        assert_non_null(msg);
        assert_strstr(msg, fifo);
        assert_strstr(msg, ": not a regular file");
        assert_int_equal(nvv_fwdb_count(db), 0);
        nvv_fwdb_free(db);
        free(msg);
        msg = NULL;
        assert_int_equal(nvv_catalog_new(&cat), 0);
        assert_int_equal(nvv_catalog_load_dir(cat, dir, &msg), -EBADFD);
        assert_non_null(msg);
        assert_strstr(msg, fifo);
        assert_strstr(msg, ": not a regular file");
        nvv_catalog_free(cat);
        free(msg);

        unlink(fifo);
        rmdir(dir);
        alarm(0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unsigned_syntax),
                cmocka_unit_test(test_signed_syntax),
                cmocka_unit_test(test_json_duplicate_keys),
                cmocka_unit_test(test_json_integer_range),
                cmocka_unit_test(test_read_refuses_non_regular),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
