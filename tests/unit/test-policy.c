/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Policy files: the shipped examples, every kind of mistake named by file and key, reload
 * that keeps the old policy, resolution per GPU, and the scheduler against the caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nvv-catalog.h"
#include "nvv-policy.h"
#include "util.h"

static struct nvv_catalog *catalog;
static struct nvv_policy_context ctx;

static int setup(void **state)
{
        char *msg = NULL;

        if (nvv_catalog_new(&catalog) < 0 || nvv_catalog_load_default(catalog, &msg) < 0) {
                fprintf(stderr, "setup: %s\n", msg ? msg : "?");
                return -1;
        }
        ctx.catalog = catalog;
        return 0;
}

static int teardown(void **state)
{
        catalog = nvv_catalog_free(catalog);
        return 0;
}

static struct nvv_policy *load_ok(const char *json)
{
        struct nvv_policy *p = NULL;
        _cleanup_free_ char *msg = NULL;

        if (nvv_policy_load_buffer(json, strlen(json), "p.json", &ctx, &p, &msg) < 0) {
                fprintf(stderr, "unexpected error: %s\n", msg);
                fail();
        }
        return p;
}

static void expect(const char *json, const char *message)
{
        struct nvv_policy *p = NULL;
        _cleanup_free_ char *msg = NULL;

        assert_int_equal(nvv_policy_load_buffer(json, strlen(json), "p.json", &ctx, &p, &msg), -EINVAL);
        assert_null(p);
        assert_non_null(msg);
        if (!streq(msg, message)) {
                fprintf(stderr, "expected: %s\n     got: %s\n", message, msg);
                fail();
        }
}

static void test_examples(void **state)
{
        static const char *const files[] = { "default", "density", "performance", "mixed-size", "tenants" };
        const char *src = getenv("NVV_TOP_SRCDIR");

        assert_non_null(src);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *path = NULL, *msg = NULL;
                _cleanup_(nvv_policy_freep) struct nvv_policy *p = NULL;

                assert_true(asprintf(&path, "%s/policy/%s.json", src, files[i]) > 0);
                if (nvv_policy_load_file(path, &ctx, &p, &msg) < 0) {
                        fprintf(stderr, "%s\n", msg);
                        fail();
                }
        }
}

static void test_defaults(void **state)
{
        _cleanup_(nvv_policy_freep) struct nvv_policy *d = NULL, *p = load_ok("{\"version\": 1}");
        struct nvv_policy_effective e;

        assert_int_equal(nvv_policy_new_default(&d), 0);
        assert_int_equal(p->prefs.strategy, NVV_PLACE_PACK);
        assert_int_equal(p->prefs.numa, NVV_NUMA_PREFER);
        assert_int_equal(nvv_policy_resolve(p, "L40S", NULL, &e), 0);
        assert_int_equal(e.mode, NVV_PARTITION_HOMOGENEOUS);
        assert_int_equal(e.sched.policy, NVV_SCHED_BEST_EFFORT);
        assert_true(nvv_policy_offers(&e, nvv_catalog_find_type(catalog, "H200X-141C")));
        assert_int_equal(nvv_policy_resolve(d, "T4", NULL, &e), 0);
        assert_true(nvv_policy_offers(&e, nvv_catalog_find_type(catalog, "T4-1B")));
}

static void test_resolve(void **state)
{
        _cleanup_(nvv_policy_freep) struct nvv_policy *p = load_ok(
                "{\"version\": 1, \"placement\": \"spread\", \"numa\": \"require\","
                " \"defaults\": {\"types\": [\"*-8Q\", \"*C\"]},"
                " \"gpus\": [{\"match\": \"l40s\", \"mode\": \"mixed-size\", \"types\": [\"L40S-2?\"],"
                "             \"scheduler\": {\"policy\": \"equal-share\", \"timeslice_ms\": 3}},"
                "            {\"match\": \"0000:41:00.0\", \"types\": [\"L40S-48Q\"]}]}");
        struct nvv_policy_effective e;

        assert_int_equal(p->prefs.strategy, NVV_PLACE_SPREAD);
        assert_int_equal(p->prefs.numa, NVV_NUMA_REQUIRE);
        /* A model entry over the defaults... */
        assert_int_equal(nvv_policy_resolve(p, "L40S", "0000:01:00.0", &e), 0);
        assert_int_equal(e.mode, NVV_PARTITION_HETEROGENEOUS);
        assert_true(e.mode_explicit);
        assert_true(nvv_policy_offers(&e, nvv_catalog_find_type(catalog, "L40S-2Q")));
        assert_true(nvv_policy_offers(&e, nvv_catalog_find_type(catalog, "L40S-2B")));
        assert_false(nvv_policy_offers(&e, nvv_catalog_find_type(catalog, "L40S-8Q")));
        assert_int_equal(e.sched.policy, NVV_SCHED_EQUAL_SHARE);
        assert_int_equal(e.sched.timeslice_ns, 3000000);
        /* ...and an address entry over both (keeps the model's mode). */
        assert_int_equal(nvv_policy_resolve(p, "L40S", "0000:41:00.0", &e), 0);
        assert_int_equal(e.mode, NVV_PARTITION_HETEROGENEOUS);
        assert_true(nvv_policy_offers(&e, nvv_catalog_find_type(catalog, "L40S-48Q")));
        assert_false(nvv_policy_offers(&e, nvv_catalog_find_type(catalog, "L40S-2Q")));
        /* Other models get the defaults. */
        assert_int_equal(nvv_policy_resolve(p, "A40", NULL, &e), 0);
        assert_false(e.mode_explicit);
        assert_true(nvv_policy_offers(&e, nvv_catalog_find_type(catalog, "A40-8Q")));
        assert_true(nvv_policy_offers(&e, nvv_catalog_find_type(catalog, "A40-48C")));
        assert_false(nvv_policy_offers(&e, nvv_catalog_find_type(catalog, "A40-4Q")));
}

static void test_errors(void **state)
{
        expect("{\"version\": 1,", "p.json: line 1: unexpected end of file");
        expect("{\"version\": 1} x", "p.json: line 1: invalid JSON: unexpected character");
        expect("[]", "p.json: expected an object");
        expect("{}", "p.json: missing required key 'version'");
        expect("{\"version\": 2}", "p.json: version: 2 is not a version this program reads (1)");
        expect("{\"version\": \"1\"}", "p.json: version: expected a non-negative integer");
        expect("{\"version\": 1, \"placment\": \"pack\"}", "p.json: unknown key 'placment'");
        expect("{\"version\": 1, \"placement\": \"densest\"}", "p.json: placement: 'densest' is not pack or spread");
        expect("{\"version\": 1, \"numa\": true}", "p.json: numa: expected a string");
        expect("{\"version\": 1, \"defaults\": {\"mode\": \"mixed\"}}",
               "p.json: defaults.mode: 'mixed' is not equal-size or mixed-size");
        expect("{\"version\": 1, \"defaults\": {\"types\": []}}",
               "p.json: defaults.types: offers no type at all; list at least one (\"*\" for every type)");
        expect("{\"version\": 1, \"defaults\": {\"types\": [\"L40S-7Q\"]}}",
               "p.json: defaults.types[0]: 'L40S-7Q' matches no vGPU type in the catalog");
        expect("{\"version\": 1, \"gpus\": [{\"match\": \"L40S\", \"types\": [\"A40-8Q\"]}]}",
               "p.json: gpus[0].types[0]: 'A40-8Q' matches no vGPU type of the L40S");
        expect("{\"version\": 1, \"gpus\": [{\"match\": \"L41S\"}]}",
               "p.json: gpus[0].match: 'L41S' is neither a GPU model in the catalog nor a PCI address (0000:41:00.0)");
        expect("{\"version\": 1, \"gpus\": [{\"types\": [\"*\"]}]}", "p.json: gpus[0]: missing required key 'match'");
        expect("{\"version\": 1, \"gpus\": [{\"match\": \"T4\", \"mode\": \"mixed-size\"}]}",
               "p.json: gpus[0].mode: the T4 has no mixed-size mode");
        expect("{\"version\": 1, \"gpus\": [{\"match\": \"L40S\"}, {\"match\": \"l40s\"}]}",
               "p.json: gpus[1]: match: 'L40S' is also gpus[0]; one entry per model or address");
        expect("{\"version\": 1, \"defaults\": {\"scheduler\": {\"policy\": \"round-robin\"}}}",
               "p.json: defaults.scheduler.policy: 'round-robin' is not best-effort, equal-share or fixed-share");
        /* Against the firmware's caps and NVIDIA's mixed-size rule. */
        expect("{\"version\": 1, \"defaults\": {\"scheduler\": {\"timeslice_ms\": 40}}}",
               "p.json: defaults: scheduler.timeslice_ms: 40 is outside the firmware's 1..30 ms");
        expect("{\"version\": 1, \"gpus\": [{\"match\": \"L40S\", \"mode\": \"mixed-size\","
               " \"scheduler\": {\"policy\": \"fixed-share\"}}]}",
               "p.json: gpus[0]: scheduler.policy: mixed-size mode supports only best-effort and equal-share (NVIDIA), not fixed-share");
        expect("{\"version\": 1, \"defaults\": {\"mode\": \"mixed-size\", \"scheduler\": {\"policy\": \"fixed-share\"}}}",
               "p.json: defaults: scheduler.policy: mixed-size mode supports only best-effort and equal-share (NVIDIA), not fixed-share");
        expect("{\"version\": 1, \"defaults\": {\"scheduler\": {\"arr\": \"disable\", \"arr_avg_factor\": 33}}}",
               "p.json: defaults.scheduler: arr_avg_factor and arr_frequency tune ARR, but arr is 'disable'");
        expect("{\"version\": 1, \"quotas\": {\"vm\": {\"max_vgpus\": 0}}}",
               "p.json: quotas.vm.max_vgpus: 0 would forbid every vGPU; leave the key out for no limit");
        expect("{\"version\": 1, \"quotas\": {\"tenants\": {\"acme\": {\"max_gpus\": 3}}}}",
               "p.json: quotas.tenants.acme: unknown key 'max_gpus'");
        expect("{\"version\": 1, \"quotas\": {\"tenants\": {\"acme\": {\"max_fb_gib\": -1}}}}",
               "p.json: quotas.tenants.acme.max_fb_gib: expected a non-negative integer");
}

static void test_caps(void **state)
{
        struct nvv_cmd_sched_get_caps caps = {
                .supported_policies = { NVV_SCHED_BEST_EFFORT, NVV_SCHED_EQUAL_SHARE },
                .arr_supported = false, .min_timeslice_ns = 2000000, .max_timeslice_ns = 10000000,
        };
        struct nvv_policy_context c2 = { .catalog = catalog, .caps = &caps };
        struct nvv_policy *p = NULL;
        _cleanup_free_ char *msg = NULL;
        const char *fixed = "{\"version\": 1, \"defaults\": {\"scheduler\": {\"policy\": \"fixed-share\"}}}";
        const char *arr = "{\"version\": 1, \"defaults\": {\"scheduler\": {\"arr\": \"enable\"}}}";
        const char *ts = "{\"version\": 1, \"defaults\": {\"scheduler\": {\"timeslice_ms\": 1}}}";
        struct nvv_policy_sched s = { .policy = NVV_SCHED_EQUAL_SHARE, .timeslice_ns = 5000000, .arr = NVV_ARR_DEFAULT };
        struct nvv_cmd_sched_state st;

        assert_int_equal(nvv_policy_load_buffer(fixed, strlen(fixed), "f.json", &c2, &p, &msg), -EINVAL);
        assert_string_equal(msg, "f.json: defaults: scheduler.policy: the firmware does not offer 'fixed-share'");
        assert_int_equal(nvv_policy_load_buffer(arr, strlen(arr), "a.json", &c2, &p, &msg), -EINVAL);
        assert_string_equal(msg, "a.json: defaults: scheduler.arr: the firmware has no adaptive round robin");
        assert_int_equal(nvv_policy_load_buffer(ts, strlen(ts), "t.json", &c2, &p, &msg), -EINVAL);
        assert_string_equal(msg, "t.json: defaults: scheduler.timeslice_ms: 1 is outside the firmware's 2..10 ms");
        /* The model's caps (doc/firmware-model.md §7) accept all three policies. */
        p = load_ok(fixed);
        nvv_policy_free(p);
        assert_int_equal(nvv_policy_check_sched(&s, &caps, NVV_PARTITION_HETEROGENEOUS, NULL), 0);
        assert_int_equal(nvv_policy_sched_to_state(&s, &st), 0);
        assert_int_equal(st.policy, NVV_SCHED_EQUAL_SHARE);
        assert_int_equal(st.timeslice_ns, 5000000);
}

static void write_file(const char *path, const char *content)
{
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        fputs(content, f);
        fclose(f);
}

static void test_reload_keeps_old(void **state)
{
        _cleanup_(nvv_policy_freep) struct nvv_policy *cur = NULL;
        _cleanup_free_ char *msg = NULL;
        char path[] = "/tmp/nvv-policy-XXXXXX";
        int fd = mkstemp(path);
        struct nvv_policy *before;

        assert_true(fd >= 0);
        close(fd);
        write_file(path, "{\"version\": 1, \"placement\": \"spread\"}");
        assert_int_equal(nvv_policy_new_default(&cur), 0);
        assert_int_equal(nvv_policy_reload(&cur, path, &ctx, &msg), 0);
        assert_int_equal(cur->prefs.strategy, NVV_PLACE_SPREAD);
        assert_string_equal(cur->path, path);
        /* A broken edit: the error names the file and key, the spread policy stays. */
        write_file(path, "{\"version\": 1, \"placement\": \"pack\", \"numa\": \"sometimes\"}");
        before = cur;
        assert_int_equal(nvv_policy_reload(&cur, path, &ctx, &msg), -EINVAL);
        assert_ptr_equal(cur, before);
        assert_int_equal(cur->prefs.strategy, NVV_PLACE_SPREAD);
        assert_non_null(strstr(msg, ": numa: 'sometimes' is not ignore, prefer or require"));
        assert_true(startswith(msg, path));
        unlink(path);
        assert_int_equal(nvv_policy_reload(&cur, path, &ctx, &msg), -ENOENT);
        assert_ptr_equal(cur, before);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_examples), cmocka_unit_test(test_defaults), cmocka_unit_test(test_resolve),
                cmocka_unit_test(test_errors),   cmocka_unit_test(test_caps),     cmocka_unit_test(test_reload_keeps_old),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
