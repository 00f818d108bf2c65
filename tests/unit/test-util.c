/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shared parsers and readers every loader stands on. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unsigned_syntax),
                cmocka_unit_test(test_signed_syntax),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
