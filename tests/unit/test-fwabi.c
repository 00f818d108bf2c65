/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The loader and validator: strict, a clear "FILE: key.path: what" for every defect, never partial. */
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static json_object *doc; /* 570.144, reloaded for every test */

static int setup(void **state)
{
        doc = test_release_json("570.144");
        return 0;
}

static int teardown(void **state)
{
        json_object_put(doc);
        doc = NULL;
        return 0;
}

/* Loading must fail with `code` and a message holding every one of `needles`. */
static void expect_failure(int code, const char *needle1, const char *needle2)
{
        struct nvv_fwabi *fw = NULL;
        char *msg = NULL;
        int r = test_load_json(doc, "bad.json", &fw, &msg);

        assert_int_equal(r, code);
        assert_null(fw);
        assert_non_null(msg);
        assert_strstr(msg, "bad.json: ");
        if (needle1)
                assert_strstr(msg, needle1);
        if (needle2)
                assert_strstr(msg, needle2);
        free(msg);
}

static json_object *structs(void)
{
        return json_object_object_get(doc, "structs");
}

static void test_valid_loads(void **state)
{
        struct nvv_fwabi *fw = NULL;
        char *msg = NULL;

        assert_int_equal(test_load_json(doc, "good.json", &fw, &msg), 0);
        assert_null(msg);
        assert_string_equal(fw->release, "570.144");
        assert_int_equal(nvv_fwabi_serves(fw, "570.144"), 2);
        assert_int_equal(nvv_fwabi_serves(fw, "570.172.08"), 1);
        assert_int_equal(nvv_fwabi_serves(fw, "575.51.02"), 0);
        nvv_fwabi_free(fw);
}

static void test_overlapping_fields(void **state)
{
        json_object *f = test_json_field(doc, "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS", "gpuPciBdf");

        json_object_object_add(f, "offset", json_object_new_int(18)); /* gpuPciId is 16..19 */
        expect_failure(-EINVAL, "structs.NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS.fields",
                       "'gpuPciId' (16..20) and 'gpuPciBdf' (offset 18) overlap");
}

static void test_field_past_size(void **state)
{
        json_object *f = test_json_field(doc, "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS", "placementId");

        json_object_object_add(f, "offset", json_object_new_int(38));
        expect_failure(-EINVAL, "structs.NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS.fields[6]",
                       "runs past the struct's size 40");
}

static void test_unknown_type(void **state)
{
        json_object *f = test_json_field(doc, "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS", "vgpuTypeId");

        json_object_object_add(f, "type", json_object_new_string("u24"));
        expect_failure(-EINVAL, "fields[3]", "unknown type 'u24'");
}

static void test_duplicate_function_number(void **state)
{
        json_object *fn = json_object_object_get(doc, "functions");

        json_object_object_add(fn, "MY_NEW_RPC", json_object_new_int(76));
        expect_failure(-EINVAL, "functions: duplicate function number 76", "GSP_RM_CONTROL");
}

static void test_event_number_clashes_with_function(void **state)
{
        json_object *ev = json_object_object_get(doc, "events");

        json_object_object_add(ev, "ODD_EVENT", json_object_new_int(71));
        expect_failure(-EINVAL, "events: event 'ODD_EVENT' has number 71", "CONTINUATION_RECORD");
}

static void test_missing_required_keys(void **state)
{
        static const char *const required[] = { "release", "compatible", "queue", "functions", "events",
                                                "structs", "controls", "commands", "sizing", "init" };

        for (size_t i = 0; i < ELEMENTSOF(required); i++) {
                json_object *copy = NULL;

                json_object_deep_copy(doc, &copy, NULL);
                json_object_object_del(doc, required[i]);
                {
                        char needle[128];

                        snprintf(needle, sizeof(needle), "missing required key '%s'", required[i]);
                        expect_failure(-EINVAL, needle, NULL);
                }
                json_object_put(doc);
                doc = copy;
        }
}

static void test_missing_nested_key(void **state)
{
        json_object_object_del(json_object_object_get(doc, "queue"), "element_size");
        expect_failure(-EINVAL, "queue: missing required key 'element_size'", NULL);
}

static void test_unknown_key(void **state)
{
        json_object_object_add(doc, "strcuts", json_object_new_object());
        expect_failure(-EINVAL, "unknown key 'strcuts'", NULL);
}

static void test_bad_json(void **state)
{
        static const char text[] = "{\n \"release\": \"570.144\",\n \"compatible\": [\"570.\"\n}";
        struct nvv_fwabi *fw = NULL;
        char *msg = NULL;

        assert_int_equal(nvv_fwabi_load_buffer(text, sizeof(text) - 1, "broken.json", &fw, &msg), -EINVAL);
        assert_strstr(msg, "broken.json: line 4: invalid JSON");
        free(msg);
        msg = NULL;
        assert_int_equal(nvv_fwabi_load_buffer("{} {}", 5, "two.json", &fw, &msg), -EINVAL);
        assert_strstr(msg, "two.json: line 1: invalid JSON");
        free(msg);
        msg = NULL;
        assert_int_equal(nvv_fwabi_load_buffer("{\"a\":", 5, "cut.json", &fw, &msg), -EINVAL);
        assert_strstr(msg, "unexpected end of file");
        free(msg);
        msg = NULL;
        assert_int_equal(nvv_fwabi_load_buffer("[1,2]", 5, "arr.json", &fw, &msg), -EINVAL);
        assert_strstr(msg, "the top level must be an object");
        free(msg);
}

static void test_deep_nesting_refused(void **state)
{
        char text[512];
        struct nvv_fwabi *fw = NULL;
        char *msg = NULL;
        size_t n = 0;

        for (int i = 0; i < 100; i++)
                text[n++] = '[';
        for (int i = 0; i < 100; i++)
                text[n++] = ']';
        assert_int_equal(nvv_fwabi_load_buffer(text, n, "deep.json", &fw, &msg), -EINVAL);
        assert_strstr(msg, "nesting too deep");
        free(msg);
}

/* A chain of n structs, each holding the next; `reverse` names them so that the innermost
 * sorts first (the loader then meets each one after the struct it holds). */
static void add_struct_chain(unsigned n, bool reverse)
{
        for (unsigned i = 0; i < n; i++) {
                json_object *s = json_object_new_object(), *fields = json_object_new_array(),
                            *f = json_object_new_object();
                char name[32], next[32];
                unsigned k = reverse ? n - 1 - i : i;

                snprintf(name, sizeof(name), "CHAIN_%05u", k);
                snprintf(next, sizeof(next), "CHAIN_%05u", reverse ? k - 1 : k + 1);
                json_object_object_add(f, "name", json_object_new_string(i + 1 < n ? "next" : "leaf"));
                json_object_object_add(f, "offset", json_object_new_int(0));
                json_object_object_add(f, "type", json_object_new_string(i + 1 < n ? next : "u32"));
                json_object_array_add(fields, f);
                json_object_object_add(s, "size", json_object_new_int(4));
                json_object_object_add(s, "fields", fields);
                json_object_object_add(structs(), name, s);
        }
}

static void test_struct_nesting_bounded(void **state)
{
        struct nvv_fwabi *fw = NULL;
        char *msg = NULL;
        json_object *copy = NULL;

        copy = NULL;
        json_object_deep_copy(doc, &copy, NULL);
        add_struct_chain(NVV_FWABI_MAX_NESTING, false);
        assert_int_equal(test_load_json(doc, "ok.json", &fw, &msg), 0);
        assert_int_equal(nvv_fwabi_find_struct(fw, "CHAIN_00000")->depth, NVV_FWABI_MAX_NESTING);
        nvv_fwabi_free(fw);
        json_object_put(doc);
        doc = copy;

        copy = NULL;
        json_object_deep_copy(doc, &copy, NULL);
        add_struct_chain(NVV_FWABI_MAX_NESTING + 1, false);
        expect_failure(-EINVAL, "structs: struct 'CHAIN_00000' nests structs more than 16 levels deep",
                       "level 17 is 'CHAIN_00016'");
        json_object_put(doc);
        doc = copy;

        /* Met innermost first, the depth adds up through structs already loaded. */
        copy = NULL;
        json_object_deep_copy(doc, &copy, NULL);
        add_struct_chain(NVV_FWABI_MAX_NESTING + 1, true);
        expect_failure(-EINVAL, "structs: struct 'CHAIN_00016' nests structs 17 levels deep, more than 16", NULL);
        json_object_put(doc);
        doc = copy;
}

/* The probe's chain: 30 000 levels, ~2 MB, under the size cap. Refused, not a stack overflow. */
static void test_very_deep_struct_chain(void **state)
{
        add_struct_chain(30000, false);
        expect_failure(-EINVAL, "struct 'CHAIN_00000' nests structs more than 16 levels deep", NULL);
}

static void test_struct_cycle(void **state)
{
        json_object *f = test_json_field(doc, "NV2080_HOST_VGPU_DEVICE", "gfid");
        json_object *g = test_json_field(doc, "NV2080_VGPU_GUEST", "vgpuDevice");

        assert_non_null(f);
        assert_non_null(g);
        /* NV2080_VGPU_GUEST contains NV2080_HOST_VGPU_DEVICE; make that contain NV2080_VGPU_GUEST. */
        json_object_object_add(f, "type", json_object_new_string("NV2080_VGPU_GUEST"));
        expect_failure(-EINVAL, "contains itself", NULL);
}

static void test_flexible_array_not_last(void **state)
{
        json_object *f = test_json_field(doc, "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS", "gpuPciId");

        json_object_object_add(f, "count", json_object_new_int(0));
        expect_failure(-EINVAL, "only the last field may be a flexible array", NULL);
}

static void test_duplicate_field(void **state)
{
        json_object *f = test_json_field(doc, "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS", "gpuPciBdf");

        json_object_object_add(f, "name", json_object_new_string("gpuPciId"));
        expect_failure(-EINVAL, "duplicate field 'gpuPciId'", NULL);
}

static void test_bad_binding(void **state)
{
        json_object *cmd = json_object_object_get(json_object_object_get(doc, "commands"), "create_device");
        json_object *fields = json_object_object_get(cmd, "fields");

        json_object_object_add(fields, "placement_id", json_object_new_string("placementIdx"));
        expect_failure(-EINVAL, "commands.create_device",
                       "'placement_id' → 'placementIdx': no such field in NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS");
}

static void test_binding_type_mismatch(void **state)
{
        json_object *cmd = json_object_object_get(json_object_object_get(doc, "commands"), "create_device");

        json_object_object_add(json_object_object_get(cmd, "fields"), "type_id", json_object_new_string("vgpuName"));
        expect_failure(-EINVAL, "'type_id' and 'vgpuName' differ in being an array", NULL);
}

static void test_unknown_stable_command(void **state)
{
        json_object *cmds = json_object_object_get(doc, "commands");
        json_object *copy = NULL;

        json_object_deep_copy(json_object_object_get(cmds, "create_device"), &copy, NULL);
        json_object_object_add(cmds, "create_devise", copy);
        expect_failure(-EINVAL, "commands.create_devise: unknown stable command 'create_devise'", NULL);
}

static void test_binding_to_unknown_control(void **state)
{
        json_object *cmd = json_object_object_get(json_object_object_get(doc, "commands"), "create_device");

        json_object_object_add(cmd, "control", json_object_new_string("NV0000_CTRL_CMD_VGPU_CREATE_DEVICE_V2"));
        expect_failure(-EINVAL, "'NV0000_CTRL_CMD_VGPU_CREATE_DEVICE_V2' is not in 'controls'", NULL);
}

static void test_init_needs_bound_command(void **state)
{
        json_object_object_del(json_object_object_get(doc, "commands"), "set_vgpu_mgr_config");
        expect_failure(-EINVAL, "init[1]: 'set_vgpu_mgr_config' is not bound in 'commands'", NULL);
}

static void test_role_must_exist(void **state)
{
        json_object *roles = json_object_object_get(json_object_object_get(doc, "queue"), "rpc_roles");

        json_object_object_add(roles, "length", json_object_new_string("len"));
        expect_failure(-EINVAL, "queue.rpc_roles.length: 'len' is not a field of rpc_message_header_v03_00", NULL);
}

static void test_bad_queue_geometry(void **state)
{
        json_object *q = json_object_object_get(doc, "queue");

        json_object_object_add(q, "element_size", json_object_new_int(3000));
        expect_failure(-EINVAL, "element_size 3000 must be a power of two between 4096 and 65536", NULL);
}

/* The probe's geometry: 1 MiB elements, 2 GiB rings. Nothing a GSP has; refused. */
static void test_queue_geometry_capped(void **state)
{
        json_object *q = json_object_object_get(doc, "queue");

        json_object_object_add(q, "element_size", json_object_new_int(1 << 20));
        expect_failure(-EINVAL, "queue: ", "element_size 1048576 must be a power of two between 4096 and 65536");
        json_object_object_add(q, "element_size", json_object_new_int(2048));
        expect_failure(-EINVAL, "element_size 2048 must be a power of two between 4096", NULL);
        json_object_object_add(q, "element_size", json_object_new_int(4096));
        json_object_object_add(q, "max_elements", json_object_new_int(17));
        expect_failure(-EINVAL, "max_elements 17", "more than a GSP message holds (65536 bytes)");
        json_object_object_add(q, "max_elements", json_object_new_int(16));
        json_object_object_add(q, "queue_size", json_object_new_int64(1LL << 31));
        expect_failure(-EINVAL, "queue_size 2147483648", "at most 2097152 bytes");
        json_object_object_add(q, "queue_size", json_object_new_int(32768));
        expect_failure(-EINVAL, "queue_size 32768", "one whole message (65536 bytes)");
        json_object_object_add(q, "queue_size", json_object_new_int(2 << 20));
        {
                struct nvv_fwabi *fw = NULL;
                char *msg = NULL;

                assert_int_equal(test_load_json(doc, "big.json", &fw, &msg), 0);
                assert_int_equal(fw->queue.queue_size, 2 << 20);
                nvv_fwabi_free(fw);
        }
}

static void test_duplicate_control_id(void **state)
{
        json_object *c = json_object_object_get(json_object_object_get(doc, "controls"),
                                                 "NV0000_CTRL_CMD_VGPU_DELETE_DEVICE");

        json_object_object_add(c, "id", json_object_new_string("0xc02"));
        expect_failure(-EINVAL, "duplicate control id 0xc02", NULL);
}

static void test_bad_release_string(void **state)
{
        json_object_object_add(doc, "release", json_object_new_string("570.x"));
        expect_failure(-EINVAL, "release: '570.x' is not a release version", NULL);
}

static void test_negative_and_huge_numbers(void **state)
{
        json_object *s = json_object_object_get(structs(), "NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS");

        json_object_object_add(s, "size", json_object_new_int(-4));
        expect_failure(-EINVAL, "structs.NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS.size", "non-negative integer");
        json_object_object_add(s, "size", json_object_new_int64(1LL << 40));
        expect_failure(-EINVAL, "structs.NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS.size", "is larger than");
}

/* Integers in strings are decimal or 0x-hex; "010" was once octal 8. */
static void test_string_integer_syntax(void **state)
{
        json_object *c = json_object_object_get(json_object_object_get(doc, "controls"),
                                                 "NV0000_CTRL_CMD_VGPU_DELETE_DEVICE");
        struct nvv_fwabi *fw = NULL;
        char *msg = NULL;

        json_object_object_add(c, "id", json_object_new_string("010"));
        expect_failure(-EINVAL, "controls.NV0000_CTRL_CMD_VGPU_DELETE_DEVICE.id", "'010' is not an integer");
        json_object_object_add(c, "id", json_object_new_string(" 0xc05"));
        expect_failure(-EINVAL, "' 0xc05' is not an integer", NULL);
        json_object_object_add(c, "id", json_object_new_string("0x0xc05"));
        expect_failure(-EINVAL, "'0x0xc05' is not an integer", NULL);
        json_object_object_add(c, "id", json_object_new_string("3076"));
        assert_int_equal(test_load_json(doc, "dec.json", &fw, &msg), 0);
        assert_string_equal(nvv_fwabi_control_by_id(fw, 0xc04)->name, "NV0000_CTRL_CMD_VGPU_DELETE_DEVICE");
        nvv_fwabi_free(fw);
}

/* Load the document's text with `from` replaced by `to` (first occurrence). */
static int load_edited(const char *from, const char *to, char **msg)
{
        const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
        const char *at = strstr(s, from);
        _cleanup_free_ char *text = NULL;
        struct nvv_fwabi *fw = NULL;
        int r;

        assert_non_null(at);
        assert_true(asprintf(&text, "%.*s%s%s", (int) (at - s), s, to, at + strlen(from)) > 0);
        r = nvv_fwabi_load_buffer(text, strlen(text), "bad.json", &fw, msg);
        nvv_fwabi_free(fw);
        return r;
}

/* json-c keeps the last of two equal keys and clamps big integers; the reader refuses both. */
static void test_duplicate_keys_and_big_numbers(void **state)
{
        _cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL;

        assert_int_equal(load_edited("\"release\":\"570.144\"", "\"release\":\"570.144\",\"release\":\"580.65.06\"", &m1),
                         -EINVAL);
        assert_string_equal(m1, "bad.json: line 1: duplicate key 'release'");
        assert_int_equal(load_edited("\"size\":40,\"fields\":[{\"name\":\"vgpuName\"",
                                     "\"size\":40,\"size\":4,\"fields\":[{\"name\":\"vgpuName\"", &m2),
                         -EINVAL);
        assert_string_equal(m2, "bad.json: structs.NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS: line 1: duplicate key 'size'");
        assert_int_equal(load_edited("\"size\":40,\"fields\":[{\"name\":\"vgpuName\"",
                                     "\"size\":18446744073709551656,\"fields\":[{\"name\":\"vgpuName\"", &m3),
                         -EINVAL);
        assert_string_equal(m3, "bad.json: structs.NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS.size: line 1: "
                                "18446744073709551656 is out of range (integers are -9223372036854775808..9223372036854775807)");
}

static void test_nul_byte_refused(void **state)
{
        struct nvv_fwabi *fw = NULL;
        char *msg = NULL;

        assert_int_equal(nvv_fwabi_load_buffer("{\"release\":\0}", 13, "nul.json", &fw, &msg), -EINVAL);
        assert_strstr(msg, "NUL byte");
        free(msg);
}

/* ---- the set of releases: matching and refusing ---- */

static void test_match(void **state)
{
        struct nvv_fwdb *db = test_load_db();
        char *msg = NULL;
        const struct nvv_fwabi *fw;

        fw = nvv_fwdb_match(db, "570.144", &msg);
        assert_non_null(fw);
        assert_string_equal(fw->release, "570.144");
        /* What a real H200 host runs today (shared/fixtures/h200-passthrough). */
        fw = nvv_fwdb_match(db, "580.159.04", &msg);
        assert_non_null(fw);
        assert_string_equal(fw->release, "580.65.06");
        /* An older build of a described branch is served by the branch's description ("575."). */
        fw = nvv_fwdb_match(db, "575.51.02", &msg);
        assert_non_null(fw);
        assert_string_equal(fw->release, "575.64.05");
        /* No NVIDIA branch 585 is described (nor published): refused, never guessed. */
        fw = nvv_fwdb_match(db, "585.12.01", &msg);
        assert_null(fw);
        assert_strstr(msg, "firmware release 585.12.01 is not supported");
        assert_strstr(msg, "the nearest known release is 580.65.06");
        free(msg);
        msg = NULL;
        fw = nvv_fwdb_match(db, "610.1.2", &msg);
        assert_null(fw);
        assert_strstr(msg, "nearest known release is 595.45.04");
        free(msg);
        msg = NULL;
        fw = nvv_fwdb_match(db, "latest", &msg);
        assert_null(fw);
        assert_strstr(msg, "'latest' is not a firmware release version");
        free(msg);
        nvv_fwdb_free(db);
}

static void test_release_compare(void **state)
{
        assert_true(nvv_release_compare("570.144", "580.65.06") < 0);
        assert_true(nvv_release_compare("580.159.04", "580.65.06") > 0);
        assert_true(nvv_release_compare("535.113.01", "535.113.01") == 0);
        assert_true(nvv_release_compare("550.40", "550.40.07") < 0);
        assert_true(nvv_release_is_valid("595.45.04"));
        assert_false(nvv_release_is_valid("595"));
        assert_false(nvv_release_is_valid("595..4"));
        assert_false(nvv_release_is_valid("595.45."));
        assert_false(nvv_release_is_valid(""));
}

static void write_file(const char *path, const char *data)
{
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        fputs(data, f);
        fclose(f);
}

/* A bad file fails the whole directory and nothing from it is added. */
static void test_dir_all_or_nothing(void **state)
{
        char dir[] = "/tmp/nvv-fwabi-XXXXXX", path[256];
        struct nvv_fwdb *db;
        char *msg = NULL;
        json_object *bad;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/570.144.json", dir);
        write_file(path, json_object_to_json_string(doc));
        bad = test_release_json("580.65.06");
        json_object_object_add(test_json_field(bad, "rpc_message_header_v03_00", "length"), "offset",
                               json_object_new_int(4));
        snprintf(path, sizeof(path), "%s/zzz-broken.json", dir);
        write_file(path, json_object_to_json_string(bad));
        json_object_put(bad);

        assert_int_equal(nvv_fwdb_new(&db), 0);
        assert_int_equal(nvv_fwdb_load_dir(db, dir, &msg), -EINVAL);
        assert_strstr(msg, "zzz-broken.json: structs.rpc_message_header_v03_00.fields");
        assert_strstr(msg, "overlap");
        assert_int_equal(nvv_fwdb_count(db), 0);
        free(msg);
        msg = NULL;

        /* Two files for one release. */
        snprintf(path, sizeof(path), "%s/zzz-broken.json", dir);
        write_file(path, json_object_to_json_string(doc));
        assert_int_equal(nvv_fwdb_load_dir(db, dir, &msg), -EEXIST);
        assert_strstr(msg, "release 570.144 is also described by");
        assert_int_equal(nvv_fwdb_count(db), 0);
        free(msg);
        msg = NULL;

        unlink(path);
        assert_int_equal(nvv_fwdb_load_dir(db, dir, &msg), 1);
        assert_int_equal(nvv_fwdb_count(db), 1);
        nvv_fwdb_free(db);
        snprintf(path, sizeof(path), "%s/570.144.json", dir);
        unlink(path);
        rmdir(dir);
}

static void test_missing_dir(void **state)
{
        struct nvv_fwdb *db;
        char *msg = NULL;

        assert_int_equal(nvv_fwdb_new(&db), 0);
        assert_int_equal(nvv_fwdb_load_dir(db, "/nonexistent/fwabi", &msg), -ENOENT);
        assert_strstr(msg, "/nonexistent/fwabi: No such file or directory");
        free(msg);
        nvv_fwdb_free(db);
}

static void test_status_translation(void **state)
{
        struct nvv_fwdb *db = test_load_db();
        const struct nvv_fwabi *fw = nvv_fwdb_find(db, "570.144");
        char buf[96];

        /* nvstatuscodes.h: NV_ERR_INSUFFICIENT_RESOURCES 0x1a, NV_ERR_IN_USE 0x17, NV_ERR_NOT_SUPPORTED 0x56 */
        assert_int_equal(nvv_fwabi_status_to_errno(fw, 0), 0);
        assert_int_equal(nvv_fwabi_status_to_errno(fw, 0x1a), -ENOSPC);
        assert_int_equal(nvv_fwabi_status_to_errno(fw, 0x17), -EBUSY);
        assert_int_equal(nvv_fwabi_status_to_errno(fw, 0x56), -EOPNOTSUPP);
        assert_int_equal(nvv_fwabi_status_to_errno(fw, 0x12345678), -EIO);
        assert_string_equal(nvv_fwabi_status_to_string(fw, 0x1a, buf, sizeof(buf)),
                            "NV_ERR_INSUFFICIENT_RESOURCES (0x1a)");
        assert_string_equal(nvv_fwabi_status_to_string(fw, 0x12345678, buf, sizeof(buf)), "unknown status 0x12345678");
        nvv_fwdb_free(db);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_valid_loads, setup, teardown),
                cmocka_unit_test_setup_teardown(test_overlapping_fields, setup, teardown),
                cmocka_unit_test_setup_teardown(test_field_past_size, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_type, setup, teardown),
                cmocka_unit_test_setup_teardown(test_duplicate_function_number, setup, teardown),
                cmocka_unit_test_setup_teardown(test_event_number_clashes_with_function, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_required_keys, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_nested_key, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_json, setup, teardown),
                cmocka_unit_test_setup_teardown(test_deep_nesting_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_struct_cycle, setup, teardown),
                cmocka_unit_test_setup_teardown(test_struct_nesting_bounded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_very_deep_struct_chain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_flexible_array_not_last, setup, teardown),
                cmocka_unit_test_setup_teardown(test_duplicate_field, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_binding, setup, teardown),
                cmocka_unit_test_setup_teardown(test_binding_type_mismatch, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_stable_command, setup, teardown),
                cmocka_unit_test_setup_teardown(test_binding_to_unknown_control, setup, teardown),
                cmocka_unit_test_setup_teardown(test_init_needs_bound_command, setup, teardown),
                cmocka_unit_test_setup_teardown(test_role_must_exist, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_queue_geometry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_queue_geometry_capped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_duplicate_control_id, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_release_string, setup, teardown),
                cmocka_unit_test_setup_teardown(test_negative_and_huge_numbers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_string_integer_syntax, setup, teardown),
                cmocka_unit_test_setup_teardown(test_duplicate_keys_and_big_numbers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nul_byte_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_match, setup, teardown),
                cmocka_unit_test_setup_teardown(test_release_compare, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dir_all_or_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_status_translation, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
