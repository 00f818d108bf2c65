/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The dissector on hostile descriptions: what it builds stays bounded by its own limit,
 * whatever a description multiplies. */
#include "nvv-dissect.h"
#include "testutil.h"

static size_t count_values(json_object *o)
{
        size_t n = 0;

        if (json_object_is_type(o, json_type_object)) {
                json_object_object_foreach(o, k, v) {
                        (void) k;
                        n += 1 + count_values(v);
                }
        } else if (json_object_is_type(o, json_type_array))
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        n += 1 + count_values(json_object_array_get_idx(o, i));
        return n;
}

/* The probe: a struct of 4096 one-byte fields, held 4095 times, over a 16 MiB capture:
 * 16 million values if nothing stopped it. */
static void test_value_budget(void **state)
{
        json_object *doc = test_release_json("570.144"), *structs = json_object_object_get(doc, "structs");
        json_object *bytes = json_object_new_object(), *bf = json_object_new_array();
        json_object *big = json_object_new_object(), *gf = json_object_new_array(), *f, *o, *t;
        struct nvv_fwabi *fw = NULL;
        char *msg = NULL;
        uint8_t *data;
        size_t size = 4096u * 4095u;

        for (int i = 0; i < 4096; i++) {
                char name[16];

                snprintf(name, sizeof(name), "b%d", i);
                f = json_object_new_object();
                json_object_object_add(f, "name", json_object_new_string(name));
                json_object_object_add(f, "offset", json_object_new_int(i));
                json_object_object_add(f, "type", json_object_new_string("u8"));
                json_object_array_add(bf, f);
        }
        json_object_object_add(bytes, "size", json_object_new_int(4096));
        json_object_object_add(bytes, "fields", bf);
        json_object_object_add(structs, "PROBE_BYTES", bytes);
        f = json_object_new_object();
        json_object_object_add(f, "name", json_object_new_string("rows"));
        json_object_object_add(f, "offset", json_object_new_int(0));
        json_object_object_add(f, "type", json_object_new_string("PROBE_BYTES"));
        json_object_object_add(f, "count", json_object_new_int(4095));
        json_object_array_add(gf, f);
        json_object_object_add(big, "size", json_object_new_int64((int64_t) size));
        json_object_object_add(big, "fields", gf);
        json_object_object_add(structs, "PROBE_BIG", big);
        assert_int_equal(test_load_json(doc, "probe.json", &fw, &msg), 0);
        json_object_put(doc);

        data = malloc(size);
        assert_non_null(data);
        memset(data, 0x5a, size);
        o = nvv_dissect_struct(nvv_fwabi_find_struct(fw, "PROBE_BIG"), data, size);
        assert_non_null(o);
        assert_true(count_values(o) <= 2 * (size_t) NVV_DISSECT_MAX_VALUES);
        assert_true(json_object_object_get_ex(o, NVV_DISSECT_TRUNCATED, &t));
        assert_strstr(json_object_get_string(t), "the rest is not shown");
        json_object_put(o);

        /* One row is well inside the budget: complete, and not marked. */
        o = nvv_dissect_struct(nvv_fwabi_find_struct(fw, "PROBE_BYTES"), data, 4096);
        assert_int_equal(count_values(o), 4096);
        assert_false(json_object_object_get_ex(o, NVV_DISSECT_TRUNCATED, NULL));
        json_object_put(o);
        free(data);
        nvv_fwabi_free(fw);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_value_budget),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
