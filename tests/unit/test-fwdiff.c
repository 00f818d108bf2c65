/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nvv_fwdiff on crafted pairs: two descriptions made from 570.144, each edited so that
 * every kind of change is there once (a struct grown, fields moved, added and removed,
 * functions and events renumbered, a control re-purposed, a queue, sizing, init, value
 * domain and status change), then the comparison must name each with both values, and
 * nothing it was not given.
 */
#include "nvv-fwdiff.h"
#include "testutil.h"

static struct nvv_fwabi *fa, *fb;
static struct nvv_fwdiff *diff;

static json_object *get(json_object *o, const char *k)
{
        json_object *v = NULL;

        if (!json_object_object_get_ex(o, k, &v))
                fail_msg("no key '%s'", k);
        return v;
}

static void set_int(json_object *o, const char *k, int64_t v)
{
        json_object_object_add(o, k, json_object_new_int64(v));
}

static json_object *strv_json(const char *const *l)
{
        json_object *a = json_object_new_array();

        for (; *l; l++)
                json_object_array_add(a, json_object_new_string(*l));
        return a;
}

static void load(json_object *doc, const char *name, struct nvv_fwabi **ret)
{
        char *msg = NULL;

        if (test_load_json(doc, name, ret, &msg) < 0)
                fail_msg("%s", msg);
        json_object_put(doc);
}

/* The first release: 570.144 with a control the second one drops and an init list
 * without sched_get_caps. */
static json_object *make_from(void)
{
        json_object *doc = test_release_json("570.144"), *ctl = json_object_new_object();
        static const char *const init[] = { "get_features", "set_vgpu_mgr_config", "add_vgpu_types",
                                            "set_heterogeneous_mode", "sched_set_state", NULL };

        json_object_object_add(ctl, "id", json_object_new_string("0x20803699"));
        json_object_object_add(ctl, "params", json_object_new_string("NV2080_CTRL_GSP_GET_FEATURES_PARAMS"));
        json_object_object_add(ctl, "object", json_object_new_string("subdevice"));
        json_object_object_add(get(doc, "controls"), "NV2080_CTRL_CMD_TEST_GONE", ctl);
        json_object_object_add(doc, "init", strv_json(init));
        return doc;
}

static json_object *make_to(void)
{
        json_object *doc = test_release_json("570.144"), *structs, *controls, *s, *fields, *f, *ctl;
        static const char *const init[] = { "set_vgpu_mgr_config", "get_features", "add_vgpu_types",
                                            "set_heterogeneous_mode", "sched_get_caps", NULL };
        static const char *const devices[] = { "10de:2331:10de:1626", NULL };

        json_object_object_add(doc, "release", json_object_new_string("999.2.0"));
        /* Queue: a larger ring and a longer default timeout. */
        set_int(get(doc, "queue"), "queue_size", 524288);
        set_int(get(doc, "queue"), "timeout_ms", 7000);

        structs = get(doc, "structs");
        /* NV2080_CTRL_GSP_GET_FEATURES_PARAMS grows by 8: bValid moves, a field is added at
         * the end, bDefaultGspRmGpu goes away, firmwareVersion doubles. */
        s = get(structs, "NV2080_CTRL_GSP_GET_FEATURES_PARAMS");
        set_int(s, "size", 144);
        fields = json_object_new_array();
        f = json_object_new_object();
        json_object_object_add(f, "name", json_object_new_string("gspFeatures"));
        set_int(f, "offset", 0);
        json_object_object_add(f, "type", json_object_new_string("u32"));
        json_object_array_add(fields, f);
        f = json_object_new_object();
        json_object_object_add(f, "name", json_object_new_string("bValid"));
        set_int(f, "offset", 8);
        json_object_object_add(f, "type", json_object_new_string("bool"));
        json_object_array_add(fields, f);
        f = json_object_new_object();
        json_object_object_add(f, "name", json_object_new_string("firmwareVersion"));
        set_int(f, "offset", 9);
        json_object_object_add(f, "type", json_object_new_string("u8"));
        set_int(f, "count", 128);
        json_object_array_add(fields, f);
        f = json_object_new_object();
        json_object_object_add(f, "name", json_object_new_string("extra"));
        set_int(f, "offset", 140);
        json_object_object_add(f, "type", json_object_new_string("u32"));
        json_object_array_add(fields, f);
        json_object_object_add(s, "fields", fields);
        json_object_object_del(get(get(get(doc, "commands"), "get_features"), "fields"), "default_gsp_rm_gpu");
        /* A struct only the second release has. */
        s = json_object_new_object();
        set_int(s, "size", 4);
        fields = json_object_new_array();
        f = json_object_new_object();
        json_object_object_add(f, "name", json_object_new_string("value"));
        set_int(f, "offset", 0);
        json_object_object_add(f, "type", json_object_new_string("u32"));
        json_object_array_add(fields, f);
        json_object_object_add(s, "fields", fields);
        json_object_object_add(structs, "NV_TEST_NEW_PARAMS", s);

        /* Functions: one renumbered, one added, one dropped; an event renumbered. */
        set_int(get(doc, "functions"), "GSP_RM_CONTROL", 250);
        set_int(get(doc, "functions"), "TEST_NEW_FUNCTION", 251);
        json_object_object_del(get(doc, "functions"), "NOP");
        set_int(get(doc, "events"), "VGPU_GSP_PLUGIN_TRIGGERED", 0x1099);

        /* Controls: GET_FEATURES keeps its id under a new name (re-purposed), CREATE_DEVICE
         * is renumbered, a new one is added, NV2080_CTRL_CMD_TEST_GONE (in the first only)
         * is removed. */
        controls = get(doc, "controls");
        ctl = json_object_get(get(controls, "NV2080_CTRL_CMD_GSP_GET_FEATURES"));
        json_object_object_del(controls, "NV2080_CTRL_CMD_GSP_GET_FEATURES");
        json_object_object_add(controls, "NV2080_CTRL_CMD_GSP_GET_FEATURES_V2", ctl);
        json_object_object_add(get(get(doc, "commands"), "get_features"), "control",
                               json_object_new_string("NV2080_CTRL_CMD_GSP_GET_FEATURES_V2"));
        json_object_object_add(get(controls, "NV0000_CTRL_CMD_VGPU_CREATE_DEVICE"), "id",
                               json_object_new_string("0xc12"));
        ctl = json_object_new_object();
        json_object_object_add(ctl, "id", json_object_new_string("0x20804077"));
        json_object_object_add(ctl, "params", json_object_new_string("NV_TEST_NEW_PARAMS"));
        json_object_object_add(ctl, "object", json_object_new_string("subdevice"));
        json_object_object_add(controls, "NV2080_CTRL_CMD_TEST_NEW", ctl);

        /* A stable command waits longer. */
        set_int(get(get(doc, "commands"), "create_device"), "timeout_ms", 9000);

        /* Sizing: more vGPUs, a 48-VM heap and its device. */
        set_int(get(doc, "sizing"), "max_vgpu_per_pgpu", 48);
        set_int(get(doc, "sizing"), "gsp_fw_heap_vgpu_48vms_mb", 1370);
        json_object_object_add(get(doc, "sizing"), "gsp_fw_heap_48vms_devices", strv_json(devices));

        /* Init: the first two swapped, sched_set_state dropped, sched_get_caps added. */
        json_object_object_add(doc, "init", strv_json(init));

        /* A value renumbered and one added; a status code renumbered and one re-mapped. */
        set_int(get(get(doc, "values"), "sched_policy"), "best_effort", 7);
        set_int(get(get(doc, "values"), "sched_policy"), "test_new_policy", 9);
        set_int(get(doc, "status"), "NV_ERR_BUFFER_TOO_SMALL", 0x7777);
        json_object_object_add(get(doc, "status_errno"), "NV_ERR_TIMEOUT", json_object_new_string("EBUSY"));
        return doc;
}

static int setup(void **state)
{
        load(make_from(), "from.json", &fa);
        load(make_to(), "to.json", &fb);
        assert_int_equal(nvv_fwdiff_new(fa, fb, &diff), 0);
        return 0;
}

static int teardown(void **state)
{
        diff = nvv_fwdiff_free(diff);
        fa = nvv_fwabi_free(fa);
        fb = nvv_fwabi_free(fb);
        return 0;
}

/* The one change named so, of the expected kind, with these two values ("" = absent). */
static const struct nvv_fwdiff_change *expect(enum nvv_fwdiff_section section, const char *name, const char *attr,
                                              enum nvv_fwdiff_kind kind, const char *from, const char *to)
{
        const struct nvv_fwdiff_change *ch = nvv_fwdiff_find(diff, section, name, attr);
        char a[256], b[256];

        if (!ch)
                fail_msg("no %s change for %s %s", nvv_fwdiff_section_to_string(section), name, attr ? attr : "");
        assert_string_equal(nvv_fwdiff_kind_to_string(ch->kind), nvv_fwdiff_kind_to_string(kind));
        assert_string_equal(nvv_fwdiff_value_to_string(&ch->from, a, sizeof(a)), from);
        assert_string_equal(nvv_fwdiff_value_to_string(&ch->to, b, sizeof(b)), to);
        return ch;
}

static void test_structs(void **state)
{
        const struct nvv_fwdiff_change *ch;

        expect(NVV_FWDIFF_STRUCTS, "NV2080_CTRL_GSP_GET_FEATURES_PARAMS", "size", NVV_FWDIFF_CHANGED, "72", "144");
        expect(NVV_FWDIFF_STRUCTS, "NV2080_CTRL_GSP_GET_FEATURES_PARAMS.bValid", "offset", NVV_FWDIFF_CHANGED, "4", "8");
        expect(NVV_FWDIFF_STRUCTS, "NV2080_CTRL_GSP_GET_FEATURES_PARAMS.firmwareVersion", "offset", NVV_FWDIFF_CHANGED,
               "6", "9");
        expect(NVV_FWDIFF_STRUCTS, "NV2080_CTRL_GSP_GET_FEATURES_PARAMS.firmwareVersion", "type", NVV_FWDIFF_CHANGED,
               "u8[64]", "u8[128]");
        ch = expect(NVV_FWDIFF_STRUCTS, "NV2080_CTRL_GSP_GET_FEATURES_PARAMS.extra", "offset", NVV_FWDIFF_ADDED, "", "140");
        assert_string_equal(ch->detail, "u32");
        ch = expect(NVV_FWDIFF_STRUCTS, "NV2080_CTRL_GSP_GET_FEATURES_PARAMS.bDefaultGspRmGpu", "offset",
                    NVV_FWDIFF_REMOVED, "5", "");
        assert_string_equal(ch->detail, "bool");
        expect(NVV_FWDIFF_STRUCTS, "NV_TEST_NEW_PARAMS", "size", NVV_FWDIFF_ADDED, "", "4");
        /* gspFeatures stayed where it was; so did every other struct. */
        assert_null(nvv_fwdiff_find(diff, NVV_FWDIFF_STRUCTS, "NV2080_CTRL_GSP_GET_FEATURES_PARAMS.gspFeatures", NULL));
        assert_null(nvv_fwdiff_find(diff, NVV_FWDIFF_STRUCTS, "NVA081_CTRL_VGPU_INFO", NULL));
        /* Listed by offset (the second release's, the first's for a removed field), after the size. */
        {
                static const char *const order[] = {
                        "NV2080_CTRL_GSP_GET_FEATURES_PARAMS",                  /* size */
                        "NV2080_CTRL_GSP_GET_FEATURES_PARAMS.bDefaultGspRmGpu", /* was at 5 */
                        "NV2080_CTRL_GSP_GET_FEATURES_PARAMS.bValid",           /* 8 */
                        "NV2080_CTRL_GSP_GET_FEATURES_PARAMS.firmwareVersion",  /* 9: offset */
                        "NV2080_CTRL_GSP_GET_FEATURES_PARAMS.firmwareVersion",  /* 9: type */
                        "NV2080_CTRL_GSP_GET_FEATURES_PARAMS.extra",            /* 140 */
                };
                size_t i = 0;

                while (i < diff->n_changes && !streq(diff->changes[i].name, order[0]))
                        i++;
                assert_true(i + ELEMENTSOF(order) <= diff->n_changes);
                for (size_t k = 0; k < ELEMENTSOF(order); k++)
                        assert_string_equal(diff->changes[i + k].name, order[k]);
        }
        assert_int_equal(diff->per_section[NVV_FWDIFF_STRUCTS], 7);
}

static void test_functions_events(void **state)
{
        expect(NVV_FWDIFF_FUNCTIONS, "GSP_RM_CONTROL", "value", NVV_FWDIFF_RENUMBERED, "76", "250");
        expect(NVV_FWDIFF_FUNCTIONS, "TEST_NEW_FUNCTION", "value", NVV_FWDIFF_ADDED, "", "251");
        expect(NVV_FWDIFF_FUNCTIONS, "NOP", "value", NVV_FWDIFF_REMOVED, "0", "");
        assert_int_equal(diff->per_section[NVV_FWDIFF_FUNCTIONS], 3);
        expect(NVV_FWDIFF_EVENTS, "VGPU_GSP_PLUGIN_TRIGGERED", "value", NVV_FWDIFF_RENUMBERED, "0x100d", "0x1099");
        assert_int_equal(diff->per_section[NVV_FWDIFF_EVENTS], 1);
        /* The queue names the control function by name: unchanged. */
        assert_null(nvv_fwdiff_find(diff, NVV_FWDIFF_QUEUE, "control_function", NULL));
}

static void test_controls(void **state)
{
        const struct nvv_fwdiff_change *ch;

        /* Same id, new name: re-purposed, and neither name reported as added or removed. */
        ch = expect(NVV_FWDIFF_CONTROLS, "0x20803601", "name", NVV_FWDIFF_REPURPOSED, "NV2080_CTRL_CMD_GSP_GET_FEATURES",
                    "NV2080_CTRL_CMD_GSP_GET_FEATURES_V2");
        assert_null(ch->detail); /* same params, same object */
        assert_null(nvv_fwdiff_find(diff, NVV_FWDIFF_CONTROLS, "NV2080_CTRL_CMD_GSP_GET_FEATURES", NULL));
        assert_null(nvv_fwdiff_find(diff, NVV_FWDIFF_CONTROLS, "NV2080_CTRL_CMD_GSP_GET_FEATURES_V2", NULL));
        expect(NVV_FWDIFF_CONTROLS, "NV0000_CTRL_CMD_VGPU_CREATE_DEVICE", "id", NVV_FWDIFF_RENUMBERED, "0xc02", "0xc12");
        ch = expect(NVV_FWDIFF_CONTROLS, "NV2080_CTRL_CMD_TEST_NEW", "id", NVV_FWDIFF_ADDED, "", "0x20804077");
        assert_string_equal(ch->detail, "params NV_TEST_NEW_PARAMS, object subdevice");
        expect(NVV_FWDIFF_CONTROLS, "NV2080_CTRL_CMD_TEST_GONE", "id", NVV_FWDIFF_REMOVED, "0x20803699", "");
        assert_int_equal(diff->per_section[NVV_FWDIFF_CONTROLS], 4);
        /* The re-purposed control is listed first: it is keyed by its number. */
        for (size_t i = 0; i < diff->n_changes; i++)
                if (diff->changes[i].section == NVV_FWDIFF_CONTROLS) {
                        assert_int_equal(diff->changes[i].kind, NVV_FWDIFF_REPURPOSED);
                        break;
                }
}

static void test_commands(void **state)
{
        expect(NVV_FWDIFF_COMMANDS, "get_features", "target", NVV_FWDIFF_CHANGED,
               "control NV2080_CTRL_CMD_GSP_GET_FEATURES", "control NV2080_CTRL_CMD_GSP_GET_FEATURES_V2");
        expect(NVV_FWDIFF_COMMANDS, "create_device", "timeout_ms", NVV_FWDIFF_CHANGED, "6000", "9000");
        /* The firmware version string the stable field reads is twice as wide. */
        expect(NVV_FWDIFF_COMMANDS, "get_features.firmware_version", "elements", NVV_FWDIFF_CHANGED, "64", "128");
        expect(NVV_FWDIFF_COMMANDS, "get_features.default_gsp_rm_gpu", "elements", NVV_FWDIFF_REMOVED, "1", "");
}

static void test_queue_sizing_init(void **state)
{
        expect(NVV_FWDIFF_QUEUE, "queue_size", "value", NVV_FWDIFF_CHANGED, "262144", "524288");
        expect(NVV_FWDIFF_QUEUE, "timeout_ms", "value", NVV_FWDIFF_CHANGED, "6000", "7000");
        assert_int_equal(diff->per_section[NVV_FWDIFF_QUEUE], 2);
        expect(NVV_FWDIFF_SIZING, "max_vgpu_per_pgpu", "value", NVV_FWDIFF_CHANGED, "32", "48");
        expect(NVV_FWDIFF_SIZING, "gsp_fw_heap_vgpu_48vms_mb", "value", NVV_FWDIFF_ADDED, "", "1370");
        expect(NVV_FWDIFF_SIZING, "gsp_fw_heap_48vms_devices", "device", NVV_FWDIFF_ADDED, "", "10de:2331:10de:1626");
        assert_int_equal(diff->per_section[NVV_FWDIFF_SIZING], 3);
        expect(NVV_FWDIFF_INIT, "sched_set_state", "step", NVV_FWDIFF_REMOVED, "5", "");
        expect(NVV_FWDIFF_INIT, "sched_get_caps", "step", NVV_FWDIFF_ADDED, "", "5");
        expect(NVV_FWDIFF_INIT, "init", "order", NVV_FWDIFF_REORDERED,
               "get_features, set_vgpu_mgr_config, add_vgpu_types, set_heterogeneous_mode, sched_set_state",
               "set_vgpu_mgr_config, get_features, add_vgpu_types, set_heterogeneous_mode, sched_get_caps");
        assert_int_equal(diff->per_section[NVV_FWDIFF_INIT], 3);
        assert_int_equal(diff->per_section[NVV_FWDIFF_COMPATIBLE], 0);
}

static void test_values_status(void **state)
{
        expect(NVV_FWDIFF_VALUES, "sched_policy.best_effort", "value", NVV_FWDIFF_RENUMBERED, "2", "7");
        expect(NVV_FWDIFF_VALUES, "sched_policy.test_new_policy", "value", NVV_FWDIFF_ADDED, "", "9");
        assert_int_equal(diff->per_section[NVV_FWDIFF_VALUES], 2);
        expect(NVV_FWDIFF_STATUS, "NV_ERR_BUFFER_TOO_SMALL", "value", NVV_FWDIFF_RENUMBERED, "0x2", "0x7777");
        expect(NVV_FWDIFF_STATUS, "NV_ERR_TIMEOUT", "errno", NVV_FWDIFF_CHANGED, "ETIMEDOUT", "EBUSY");
        assert_int_equal(diff->per_section[NVV_FWDIFF_STATUS], 2);
        assert_int_equal(diff->per_section[NVV_FWDIFF_ALLOCS], 0);
        assert_int_equal(diff->per_section[NVV_FWDIFF_EVENT_MAP], 0);
}

/* Sections come in their fixed order, and within one section names do not go backwards
 * except struct fields (by offset) under their struct. */
static void test_order(void **state)
{
        for (size_t i = 1; i < diff->n_changes; i++)
                assert_true(diff->changes[i - 1].section <= diff->changes[i].section);
}

static void test_json(void **state)
{
        json_object *o = NULL, *changes, *c0 = NULL;

        assert_int_equal(nvv_fwdiff_to_json(diff, &o), 0);
        assert_string_equal(json_object_get_string(get(get(o, "from"), "release")), "570.144");
        assert_string_equal(json_object_get_string(get(get(o, "to"), "release")), "999.2.0");
        assert_false(json_object_get_boolean(get(o, "identical")));
        changes = get(o, "changes");
        assert_int_equal(json_object_array_length(changes), diff->n_changes);
        for (size_t i = 0; i < json_object_array_length(changes); i++) {
                json_object *c = json_object_array_get_idx(changes, i);

                if (streq(json_object_get_string(get(c, "name")), "NV2080_CTRL_GSP_GET_FEATURES_PARAMS") &&
                    streq(json_object_get_string(get(c, "attr")), "size"))
                        c0 = c;
        }
        assert_non_null(c0);
        assert_string_equal(json_object_get_string(get(c0, "section")), "structs");
        assert_string_equal(json_object_get_string(get(c0, "kind")), "changed");
        assert_true(json_object_is_type(get(c0, "from"), json_type_int));
        assert_int_equal(json_object_get_int64(get(c0, "from")), 72);
        assert_int_equal(json_object_get_int64(get(c0, "to")), 144);
        assert_int_equal(json_object_get_int64(get(get(o, "counts"), "structs")), 7);
        json_object_put(o);
}

static void test_identical(void **state)
{
        struct nvv_fwabi *again = NULL;
        struct nvv_fwdiff *d = NULL;
        json_object *o = NULL;

        assert_int_equal(nvv_fwdiff_new(fa, fa, &d), 0);
        assert_int_equal(d->n_changes, 0);
        d = nvv_fwdiff_free(d);
        /* Two loads of one document compare equal too: nothing depends on addresses. */
        load(make_from(), "again.json", &again);
        assert_int_equal(nvv_fwdiff_new(fa, again, &d), 0);
        assert_int_equal(d->n_changes, 0);
        assert_int_equal(nvv_fwdiff_to_json(d, &o), 0);
        assert_true(json_object_get_boolean(get(o, "identical")));
        assert_int_equal(json_object_array_length(get(o, "changes")), 0);
        json_object_put(o);
        nvv_fwdiff_free(d);
        nvv_fwabi_free(again);
}

/* Backwards, every addition is a removal and the re-purposing runs the other way. */
static void test_reverse(void **state)
{
        struct nvv_fwdiff *d = NULL;
        struct nvv_fwdiff *saved = diff;

        assert_int_equal(nvv_fwdiff_new(fb, fa, &d), 0);
        diff = d;
        expect(NVV_FWDIFF_CONTROLS, "0x20803601", "name", NVV_FWDIFF_REPURPOSED, "NV2080_CTRL_CMD_GSP_GET_FEATURES_V2",
               "NV2080_CTRL_CMD_GSP_GET_FEATURES");
        expect(NVV_FWDIFF_CONTROLS, "NV2080_CTRL_CMD_TEST_GONE", "id", NVV_FWDIFF_ADDED, "", "0x20803699");
        expect(NVV_FWDIFF_STRUCTS, "NV_TEST_NEW_PARAMS", "size", NVV_FWDIFF_REMOVED, "4", "");
        assert_int_equal(d->n_changes, saved->n_changes);
        diff = saved;
        nvv_fwdiff_free(d);
}

static void test_strings(void **state)
{
        for (int s = 0; s < _NVV_FWDIFF_SECTION_MAX; s++)
                assert_int_equal(nvv_fwdiff_section_from_string(nvv_fwdiff_section_to_string(s)), s);
        for (int k = 0; k < _NVV_FWDIFF_KIND_MAX; k++)
                assert_int_equal(nvv_fwdiff_kind_from_string(nvv_fwdiff_kind_to_string(k)), k);
        assert_int_equal(nvv_fwdiff_section_from_string("nonsense"), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_structs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_functions_events, setup, teardown),
                cmocka_unit_test_setup_teardown(test_controls, setup, teardown),
                cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
                cmocka_unit_test_setup_teardown(test_queue_sizing_init, setup, teardown),
                cmocka_unit_test_setup_teardown(test_values_status, setup, teardown),
                cmocka_unit_test_setup_teardown(test_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_json, setup, teardown),
                cmocka_unit_test_setup_teardown(test_identical, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reverse, setup, teardown),
                cmocka_unit_test(test_strings),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
