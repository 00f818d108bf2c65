/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-json.h"
#include "nvv-sysfsmsg.h"
#include "util.h"

static const char *const op_names[_NVV_SYSFS_OP_MAX] = {
        [NVV_SYSFS_CREATE] = "create",
        [NVV_SYSFS_REMOVE] = "remove",
        [NVV_SYSFS_SET_VF_TYPE] = "set_vf_type",
        [NVV_SYSFS_CLEAR_VF_TYPE] = "clear_vf_type",
};

const char *nvv_sysfs_op_to_string(enum nvv_sysfs_op op)
{
        return op >= 0 && op < _NVV_SYSFS_OP_MAX ? op_names[op] : NULL;
}

enum nvv_sysfs_op nvv_sysfs_op_from_string(const char *s)
{
        for (int i = 0; s && i < _NVV_SYSFS_OP_MAX; i++)
                if (streq(s, op_names[i]))
                        return (enum nvv_sysfs_op) i;
        return _NVV_SYSFS_OP_INVALID;
}

const char *nvv_uevent_get(const struct nvv_uevent *u, const char *key)
{
        for (size_t i = 0; i < u->n; i++)
                if (streq(u->key[i], key))
                        return u->value[i];
        return NULL;
}

int nvv_uevent_add(struct nvv_uevent *u, const char *key, const char *value)
{
        if (u->n >= NVV_UEVENT_MAX_VARS || strlen(key) >= NVV_UEVENT_KEY_MAX || strlen(value) >= NVV_UEVENT_VALUE_MAX)
                return -E2BIG;
        strcpy(u->key[u->n], key);
        strcpy(u->value[u->n], value);
        u->n++;
        return 0;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Linux drivers/vfio/mdev/mdev_sysfs.c create_store(): count must be UUID_STRING_LEN or one
 * more, then guid_parse() (lib/uuid.c: '-' at 8, 13, 18, 23, hex digits elsewhere). The
 * device is named with "%pUl": lower case. */
int nvv_sysfs_parse_uuid(const char *buf, size_t len, char ret[NVV_SYSFS_UUID_LEN + 1])
{
        if (!buf || len < NVV_SYSFS_UUID_LEN || len > NVV_SYSFS_UUID_LEN + 1)
                return -EINVAL;
        for (size_t i = 0; i < NVV_SYSFS_UUID_LEN; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;

                if (dash ? buf[i] != '-' : hexval(buf[i]) < 0)
                        return -EINVAL;
                ret[i] = dash ? '-' : "0123456789abcdef"[hexval(buf[i])];
        }
        ret[NVV_SYSFS_UUID_LEN] = '\0';
        return 0;
}

static bool is_bdf(const char *s)
{
        /* DDDD:BB:DD.F, lower-case hex, as sysfs names PCI functions. */
        if (strlen(s) != 12 || s[4] != ':' || s[7] != ':' || s[10] != '.')
                return false;
        for (size_t i = 0; i < 12; i++) {
                if (i == 4 || i == 7 || i == 10)
                        continue;
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        }
        return s[11] <= '7';
}

static bool is_line(const char *s)
{
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

static bool is_api(const char *s)
{
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
                        return false;
        return true;
}

static int to_text(json_object *o, char **ret)
{
        const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        char *s = t ? strdup(t) : NULL;

        json_object_put(o);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int get_u32(struct nvv_json *j, json_object *obj, const char *key, bool required, uint32_t min, uint32_t max,
                   bool *ret_present, uint32_t *ret)
{
        json_object *v;
        size_t old;
        uint64_t x;
        int r;

        if (ret_present)
                *ret_present = false;
        r = nvv_json_member(j, obj, key, required, &v);
        if (r < 0 || !v)
                return r;
        old = nvv_json_push(j, key);
        r = nvv_json_get_u64(j, v, max, &x);
        if (r >= 0 && x < min)
                r = nvv_json_fail(j, "must be at least %u", min);
        nvv_json_pop(j, old);
        if (r < 0)
                return r;
        *ret = (uint32_t) x;
        if (ret_present)
                *ret_present = true;
        return 0;
}

static int get_str(struct nvv_json *j, json_object *obj, const char *key, bool required, size_t max, const char **ret)
{
        json_object *v;
        size_t old;
        int r;

        *ret = NULL;
        r = nvv_json_member(j, obj, key, required, &v);
        if (r < 0 || !v)
                return r;
        old = nvv_json_push(j, key);
        r = nvv_json_get_string(j, v, max, ret);
        nvv_json_pop(j, old);
        return r;
}

static int parse_root(struct nvv_json *j, const void *data, size_t len, size_t max, json_object **ret)
{
        int r;

        if (!data)
                return nvv_json_fail(j, "no payload");
        r = nvv_json_parse(j, data, len, max, ret);
        if (r < 0)
                return r;
        if (!json_object_is_type(*ret, json_type_object)) {
                json_object_put(*ret);
                *ret = NULL;
                return nvv_json_fail(j, "expected an object");
        }
        return 0;
}

/* ---- requests ---- */

int nvv_sysfsmsg_format_request(const struct nvv_sysfs_request *r, char **ret)
{
        json_object *o;

        assert_return(r && ret && nvv_sysfs_op_to_string(r->op), -EINVAL);
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "id", json_object_new_int64(r->id));
        json_object_object_add(o, "op", json_object_new_string(nvv_sysfs_op_to_string(r->op)));
        json_object_object_add(o, "gpu", json_object_new_string(r->gpu));
        json_object_object_add(o, "type", json_object_new_int64(r->type_id));
        if (r->op == NVV_SYSFS_CREATE || r->op == NVV_SYSFS_REMOVE)
                json_object_object_add(o, "uuid", json_object_new_string(r->uuid));
        else
                json_object_object_add(o, "vf", json_object_new_string(r->vf));
        return to_text(o, ret);
}

int nvv_sysfsmsg_parse_request(const void *data, size_t len, struct nvv_sysfs_request *ret, char **reterr_msg)
{
        static const char *const keys[] = { "id", "op", "gpu", "type", "uuid", "vf", NULL };
        struct nvv_json j = { .file = "sysfs request", .err = reterr_msg };
        _cleanup_json_ json_object *root = NULL;
        struct nvv_sysfs_request q = {};
        const char *op, *gpu, *uuid, *vf;
        bool mdev;
        int r;

        assert_return(ret, -EINVAL);
        r = parse_root(&j, data, len, NVV_SYSFSMSG_MAX, &root);
        if (r < 0)
                return r;
        if ((r = nvv_json_check_keys(&j, root, keys)) < 0 ||
            (r = get_u32(&j, root, "id", true, 0, UINT32_MAX, NULL, &q.id)) < 0 ||
            (r = get_str(&j, root, "op", true, 32, &op)) < 0 ||
            (r = get_str(&j, root, "gpu", true, NVV_SYSFS_BDF_MAX - 1, &gpu)) < 0 ||
            (r = get_u32(&j, root, "type", true, 0, UINT32_MAX - 1, NULL, &q.type_id)) < 0 ||
            (r = get_str(&j, root, "uuid", false, NVV_SYSFS_UUID_LEN, &uuid)) < 0 ||
            (r = get_str(&j, root, "vf", false, NVV_SYSFS_BDF_MAX - 1, &vf)) < 0)
                return r;
        q.op = nvv_sysfs_op_from_string(op);
        if (q.op < 0)
                return nvv_json_fail(&j, "op: '%s' is none of create, remove, set_vf_type, clear_vf_type", op);
        if (!is_bdf(gpu))
                return nvv_json_fail(&j, "gpu: '%s' is not a PCI address DDDD:BB:DD.F", gpu);
        strcpy(q.gpu, gpu);
        mdev = q.op == NVV_SYSFS_CREATE || q.op == NVV_SYSFS_REMOVE;
        if (mdev) {
                if (!uuid || vf)
                        return nvv_json_fail(&j, "%s takes a 'uuid' and no 'vf'", op);
                if (nvv_sysfs_parse_uuid(uuid, strlen(uuid), q.uuid) < 0 || !streq(uuid, q.uuid))
                        return nvv_json_fail(&j, "uuid: '%s' is not a lower-case UUID", uuid);
        } else {
                if (!vf || uuid)
                        return nvv_json_fail(&j, "%s takes a 'vf' and no 'uuid'", op);
                if (!is_bdf(vf))
                        return nvv_json_fail(&j, "vf: '%s' is not a PCI address DDDD:BB:DD.F", vf);
                strcpy(q.vf, vf);
        }
        if ((q.op == NVV_SYSFS_CREATE || q.op == NVV_SYSFS_SET_VF_TYPE) && q.type_id == 0)
                return nvv_json_fail(&j, "type: %s needs a type id above 0", op);
        *ret = q;
        return 0;
}

/* ---- answers ---- */

int nvv_sysfsmsg_format_answer(uint32_t id, int error, char **ret)
{
        json_object *o;

        assert_return(ret && error >= 0 && error < 4096, -EINVAL);
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "id", json_object_new_int64(id));
        json_object_object_add(o, "errno", json_object_new_int64(error));
        return to_text(o, ret);
}

int nvv_sysfsmsg_parse_answer(const void *data, size_t len, uint32_t *ret_id, int *ret_error, char **reterr_msg)
{
        static const char *const keys[] = { "id", "errno", NULL };
        struct nvv_json j = { .file = "sysfs answer", .err = reterr_msg };
        _cleanup_json_ json_object *root = NULL;
        uint32_t id, e;
        int r;

        assert_return(ret_id && ret_error, -EINVAL);
        r = parse_root(&j, data, len, NVV_SYSFSMSG_MAX, &root);
        if (r < 0)
                return r;
        if ((r = nvv_json_check_keys(&j, root, keys)) < 0 ||
            (r = get_u32(&j, root, "id", true, 0, UINT32_MAX, NULL, &id)) < 0 ||
            (r = get_u32(&j, root, "errno", true, 0, 4095, NULL, &e)) < 0)
                return r;
        *ret_id = id;
        *ret_error = (int) e;
        return 0;
}

/* ---- type registration ---- */

int nvv_sysfsmsg_format_types(const struct nvv_sysfs_type *t, size_t n, char **ret)
{
        json_object *o, *arr;

        assert_return(ret && (t || n == 0) && n <= NVV_SYSFS_MAX_TYPES, -EINVAL);
        o = json_object_new_object();
        arr = json_object_new_array();
        if (!o || !arr) {
                json_object_put(o);
                json_object_put(arr);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_new_object();

                json_object_object_add(e, "id", json_object_new_int64(t[i].id));
                json_object_object_add(e, "name", json_object_new_string(t[i].name));
                json_object_object_add(e, "description", json_object_new_string(t[i].description));
                json_object_object_add(e, "device_api", json_object_new_string(t[i].device_api));
                json_object_array_add(arr, e);
        }
        json_object_object_add(o, "types", arr);
        return to_text(o, ret);
}

int nvv_sysfsmsg_parse_types(const void *data, size_t len, struct nvv_sysfs_type **ret, size_t *ret_n,
                             char **reterr_msg)
{
        static const char *const keys[] = { "types", NULL };
        static const char *const tkeys[] = { "id", "name", "description", "device_api", NULL };
        struct nvv_json j = { .file = "type registration", .err = reterr_msg };
        _cleanup_json_ json_object *root = NULL;
        _cleanup_free_ struct nvv_sysfs_type *types = NULL;
        json_object *arr;
        size_t n = 0, old;
        int r;

        assert_return(ret && ret_n, -EINVAL);
        r = parse_root(&j, data, len, NVV_SYSFSMSG_MAX_TYPES_JSON, &root);
        if (r < 0)
                return r;
        if ((r = nvv_json_check_keys(&j, root, keys)) < 0 || (r = nvv_json_member(&j, root, "types", true, &arr)) < 0)
                return r;
        old = nvv_json_push(&j, "types");
        r = nvv_json_get_array(&j, arr, NVV_SYSFS_MAX_TYPES, &n);
        if (r < 0)
                return r;
        types = calloc(n ? n : 1, sizeof(*types));
        if (!types)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                const char *name, *desc, *api;
                size_t o2 = nvv_json_push_index(&j, i);

                r = nvv_json_get_object(&j, e);
                if (r < 0)
                        return r;
                if ((r = nvv_json_check_keys(&j, e, tkeys)) < 0 ||
                    (r = get_u32(&j, e, "id", true, 1, UINT32_MAX - 1, NULL, &types[i].id)) < 0 ||
                    (r = get_str(&j, e, "name", true, NVV_SYSFS_NAME_MAX - 1, &name)) < 0 ||
                    (r = get_str(&j, e, "description", true, NVV_SYSFS_DESC_MAX - 1, &desc)) < 0 ||
                    (r = get_str(&j, e, "device_api", true, NVV_SYSFS_API_MAX - 1, &api)) < 0)
                        return r;
                if (!is_line(name))
                        return nvv_json_fail(&j, "name: a control character in the name");
                if (!is_line(desc))
                        return nvv_json_fail(&j, "description: a control character in the description");
                if (!is_api(api))
                        return nvv_json_fail(&j, "device_api: '%s' is not like 'vfio-pci'", api);
                for (size_t k = 0; k < i; k++)
                        if (types[k].id == types[i].id)
                                return nvv_json_fail(&j, "id: type %u is listed twice", types[i].id);
                strcpy(types[i].name, name);
                strcpy(types[i].description, desc);
                strcpy(types[i].device_api, api);
                nvv_json_pop(&j, o2);
        }
        nvv_json_pop(&j, old);
        *ret = TAKE_PTR(types);
        *ret_n = n;
        return 0;
}

/* ---- uevents ---- */

int nvv_sysfsmsg_format_uevent(const struct nvv_uevent *u, char **ret)
{
        json_object *o;

        assert_return(u && ret, -EINVAL);
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < u->n; i++)
                json_object_object_add(o, u->key[i], json_object_new_string(u->value[i]));
        return to_text(o, ret);
}

int nvv_sysfsmsg_parse_uevent(const void *data, size_t len, struct nvv_uevent *ret, char **reterr_msg)
{
        struct nvv_json j = { .file = "uevent", .err = reterr_msg };
        _cleanup_json_ json_object *root = NULL;
        struct nvv_uevent u = {};
        int r;

        assert_return(ret, -EINVAL);
        r = parse_root(&j, data, len, NVV_SYSFSMSG_MAX, &root);
        if (r < 0)
                return r;
        json_object_object_foreach(root, k, v) {
                const char *s;
                size_t old = nvv_json_push(&j, k);

                /* Kernel uevent keys: upper-case letters, digits and '_'. */
                for (const char *p = k; *p; p++)
                        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
                                return nvv_json_fail(&j, "not a uevent key");
                if (!*k || strlen(k) >= NVV_UEVENT_KEY_MAX)
                        return nvv_json_fail(&j, "key empty or longer than %d", NVV_UEVENT_KEY_MAX - 1);
                r = nvv_json_get_string(&j, v, NVV_UEVENT_VALUE_MAX - 1, &s);
                if (r < 0)
                        return r;
                if (!is_line(s))
                        return nvv_json_fail(&j, "a control character in the value");
                if (nvv_uevent_add(&u, k, s) < 0)
                        return nvv_json_fail(&j, "more than %d properties", NVV_UEVENT_MAX_VARS);
                nvv_json_pop(&j, old);
        }
        if (!nvv_uevent_get(&u, "ACTION") || !nvv_uevent_get(&u, "DEVPATH"))
                return nvv_json_fail(&j, "ACTION and DEVPATH are required");
        *ret = u;
        return 0;
}
