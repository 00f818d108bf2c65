/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The upstream vGPU-management interface: loading its description, and both sides of its
 * seven commands (nvv-vmgmt.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-json.h"
#include "nvv-nvkv.h"
#include "nvv-vmgmt.h"
#include "util.h"

static const char *const cmd_names[_NVV_VMGMT_MAX] = {
        [NVV_VMGMT_ADD_TYPE] = "add_type",
        [NVV_VMGMT_QUERY_SUPPORTED] = "query_supported",
        [NVV_VMGMT_QUERY_CREATABLE] = "query_creatable",
        [NVV_VMGMT_ASSIGN] = "assign",
        [NVV_VMGMT_DEASSIGN] = "deassign",
        [NVV_VMGMT_QUERY_PROPERTIES] = "query_properties",
        [NVV_VMGMT_QUERY_ASSIGNED] = "query_assigned",
};

DEFINE_STRING_TABLE_LOOKUP(nvv_vmgmt_cmd, int, cmd_names, _NVV_VMGMT_MAX, _NVV_VMGMT_INVALID)

/* The stable fields a payload layout binds. */
enum { LF_VF, LF_TYPE_ID, LF_SWIZZ_ID, LF_PLACEMENT_ID, _LF_MAX };
static const char *const layout_field_names[_LF_MAX] = { "vf", "type_id", "swizz_id", "placement_id" };

struct lfield {
        bool present;
        uint32_t offset;
        uint8_t width;
};

struct layout {
        bool present;
        uint32_t size;
        struct lfield f[_LF_MAX];
};

enum payload_kind {
        PAY_NONE,
        PAY_LAYOUT,      /* a fixed struct */
        PAY_TYPE_IDS,    /* u32 type ids, ending at the first 0 */
        PAY_PROPERTIES,  /* NVKV properties */
};

struct command {
        bool present;
        uint32_t id;
        enum payload_kind in_kind, out_kind;
        struct layout in, out;
};

/* The properties a type has, in the stable struct's terms. */
enum {
        PR_NAME, PR_CLASS, PR_TYPE_ID, PR_BAR1, PR_MAX_INSTANCE, PR_ECC, PR_PROFILE_SIZE, PR_FRL, PR_HEADS, PR_RES_X,
        PR_RES_Y, PR_DEV_ID, PR_SUBSYS_ID, PR_FB_LENGTH, PR_GSP_HEAP, PR_FB_RESERVATION, _PR_MAX
};
static const char *const prop_names[_PR_MAX] = {
        "name", "class_name", "type_id", "bar1_length", "max_instance", "ecc_supported", "profile_size", "frl_config",
        "num_heads", "max_resolution_x", "max_resolution_y", "dev_id", "subsystem_id", "fb_length", "gsp_heap_size",
        "fb_reservation",
};
enum prop_kind { PK_U32, PK_U64, PK_STRING };
static const enum prop_kind prop_kinds[_PR_MAX] = {
        PK_STRING, PK_STRING, PK_U32, PK_U64, PK_U32, PK_U32, PK_U64, PK_U32,
        PK_U32, PK_U32, PK_U32, PK_U32, PK_U32, PK_U64, PK_U64, PK_U64,
};

struct prop {
        bool present;
        uint16_t key;
        uint32_t size;    /* strings: bytes of the array */
        bool required;
};

struct nvv_vmgmt {
        char *revision, *path;
        uint32_t device_type, scope, header_size, cmd_off, rsv_off, max_reply;
        uint32_t status_off, status_width;
        uint32_t vf_width, domain_shift, bus_shift, device_shift;
        uint32_t placement_none, max_type_ids;
        struct command cmds[_NVV_VMGMT_MAX];
        struct prop props[_PR_MAX];
        struct nvv_fwabi *fw;
};

/* ---- small helpers ---- */

static void put_le(uint8_t *p, unsigned width, uint64_t v)
{
        for (unsigned i = 0; i < width; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned width)
{
        uint64_t v = 0;

        for (unsigned i = 0; i < width; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

static uint64_t width_max(unsigned width)
{
        return width >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * width)) - 1;
}

int nvv_pci_addr_parse(const char *s, struct nvv_pci_addr *ret)
{
        unsigned dom, bus, dev, fn;
        int n = 0;

        if (!s || strlen(s) != 12 || sscanf(s, "%4x:%2x:%2x.%1x%n", &dom, &bus, &dev, &fn, &n) != 4 || n != 12 ||
            dev > 0x1f || fn > 7)
                return -EINVAL;
        *ret = (struct nvv_pci_addr) { .domain = dom, .bus = (uint8_t) bus, .dev = (uint8_t) dev, .fn = (uint8_t) fn };
        return 0;
}

void nvv_pci_addr_format(const struct nvv_pci_addr *a, char out[static 16])
{
        snprintf(out, 16, "%04x:%02x:%02x.%x", a->domain & 0xffff, a->bus, a->dev & 0x1f, a->fn & 7);
}

/* ---- loading ---- */

struct ctx {
        struct nvv_json j;
        struct nvv_vmgmt *vm;
};

static bool is_doc_key(const char *k)
{
        size_t n = strlen(k);

        return streq(k, "source") || streq(k, "symbol") || streq(k, "struct") ||
               (n > 7 && streq(k + n - 7, "_source"));
}

static int get_u32_key(struct ctx *c, json_object *o, const char *key, bool required, uint32_t max, uint32_t *ret)
{
        json_object *v = NULL;
        uint64_t x;
        size_t old;
        int r;

        r = nvv_json_member(&c->j, o, key, required, &v);
        if (r < 0 || !v)
                return r;
        old = nvv_json_push(&c->j, key);
        r = nvv_json_get_uint(&c->j, v, max, &x);
        if (r < 0)
                return r;
        nvv_json_pop(&c->j, old);
        *ret = (uint32_t) x;
        return 0;
}

static int parse_layout(struct ctx *c, json_object *o, struct layout *l)
{
        static const char *const allowed[] = { "size", "fields", NULL };
        static const char *const field_keys[] = { "vf", "type_id", "swizz_id", "placement_id", NULL };
        json_object *fields;
        size_t old;
        int r;

        if ((r = nvv_json_get_object(&c->j, o)) < 0 || (r = nvv_json_check_keys(&c->j, o, allowed)) < 0 ||
            (r = get_u32_key(c, o, "size", true, 4096, &l->size)) < 0 ||
            (r = nvv_json_member_object(&c->j, o, "fields", true, &fields)) < 0)
                return r;
        old = nvv_json_push(&c->j, "fields");
        if ((r = nvv_json_check_keys(&c->j, fields, field_keys)) < 0)
                return r;
        for (unsigned i = 0; i < _LF_MAX; i++) {
                static const char *const fallowed[] = { "offset", "type", NULL };
                json_object *f = NULL, *t;
                const char *ts;
                size_t o2;

                if ((r = nvv_json_member_object(&c->j, fields, layout_field_names[i], false, &f)) < 0)
                        return r;
                if (!f)
                        continue;
                o2 = nvv_json_push(&c->j, layout_field_names[i]);
                if ((r = nvv_json_check_keys(&c->j, f, fallowed)) < 0 ||
                    (r = get_u32_key(c, f, "offset", true, 4096, &l->f[i].offset)) < 0 ||
                    (r = nvv_json_member(&c->j, f, "type", true, &t)) < 0 ||
                    (r = nvv_json_get_string(&c->j, t, 8, &ts)) < 0)
                        return r;
                if (streq(ts, "u16"))
                        l->f[i].width = 2;
                else if (streq(ts, "u32"))
                        l->f[i].width = 4;
                else if (streq(ts, "u64"))
                        l->f[i].width = 8;
                else
                        return nvv_json_fail(&c->j, "type '%s': expected u16, u32 or u64", ts);
                if (l->f[i].offset + l->f[i].width > l->size)
                        return nvv_json_fail(&c->j, "the field ends at byte %u, past the struct's %u", l->f[i].offset +
                                             l->f[i].width, l->size);
                for (unsigned k = 0; k < i; k++)
                        if (l->f[k].present && l->f[i].offset < l->f[k].offset + l->f[k].width &&
                            l->f[k].offset < l->f[i].offset + l->f[i].width)
                                return nvv_json_fail(&c->j, "overlaps field '%s'", layout_field_names[k]);
                l->f[i].present = true;
                nvv_json_pop(&c->j, o2);
        }
        nvv_json_pop(&c->j, old);
        l->present = true;
        return 0;
}

/* An optional "in" or "out" layout of a command. */
static int parse_opt_layout(struct ctx *c, json_object *cmd, const char *key, struct layout *ret, enum payload_kind *ret_kind)
{
        json_object *v = NULL;
        size_t old;
        int r;

        if ((r = nvv_json_member(&c->j, cmd, key, false, &v)) < 0 || !v)
                return r;
        old = nvv_json_push(&c->j, key);
        if ((r = parse_layout(c, v, ret)) < 0)
                return r;
        *ret_kind = PAY_LAYOUT;
        nvv_json_pop(&c->j, old);
        return 0;
}

/* What each command must carry, in the C's terms: the fields it reads or fills. */
static int check_command(struct ctx *c, int cmd, const struct command *k)
{
        static const bool in_needs[_NVV_VMGMT_MAX][_LF_MAX] = {
                [NVV_VMGMT_ASSIGN] = { [LF_VF] = true, [LF_TYPE_ID] = true },
                [NVV_VMGMT_DEASSIGN] = { [LF_VF] = true },
                [NVV_VMGMT_QUERY_PROPERTIES] = { [LF_TYPE_ID] = true },
                [NVV_VMGMT_QUERY_ASSIGNED] = { [LF_VF] = true },
        };
        static const enum payload_kind in_kind[_NVV_VMGMT_MAX] = {
                [NVV_VMGMT_ADD_TYPE] = PAY_PROPERTIES, [NVV_VMGMT_ASSIGN] = PAY_LAYOUT, [NVV_VMGMT_DEASSIGN] = PAY_LAYOUT,
                [NVV_VMGMT_QUERY_PROPERTIES] = PAY_LAYOUT, [NVV_VMGMT_QUERY_ASSIGNED] = PAY_LAYOUT,
        };
        static const enum payload_kind out_kind[_NVV_VMGMT_MAX] = {
                [NVV_VMGMT_QUERY_SUPPORTED] = PAY_TYPE_IDS, [NVV_VMGMT_QUERY_CREATABLE] = PAY_TYPE_IDS,
                [NVV_VMGMT_QUERY_PROPERTIES] = PAY_PROPERTIES, [NVV_VMGMT_QUERY_ASSIGNED] = PAY_LAYOUT,
        };

        if (k->in_kind != in_kind[cmd])
                return nvv_json_fail(&c->j, "'%s' %s", cmd_names[cmd],
                                     in_kind[cmd] == PAY_NONE ? "takes no payload" :
                                     in_kind[cmd] == PAY_LAYOUT ? "needs an 'in' layout" : "needs 'payload': \"properties\"");
        if (k->out_kind != out_kind[cmd])
                return nvv_json_fail(&c->j, "'%s' %s", cmd_names[cmd],
                                     out_kind[cmd] == PAY_NONE ? "answers no payload" :
                                     out_kind[cmd] == PAY_LAYOUT ? "needs an 'out' layout" :
                                     out_kind[cmd] == PAY_TYPE_IDS ? "needs 'reply': \"type_ids\"" :
                                     "needs 'reply': \"properties\"");
        for (unsigned i = 0; i < _LF_MAX; i++)
                if (in_needs[cmd][i] && !k->in.f[i].present)
                        return nvv_json_fail(&c->j, "'%s': the 'in' layout lacks '%s'", cmd_names[cmd], layout_field_names[i]);
        if (cmd == NVV_VMGMT_QUERY_ASSIGNED && !k->out.f[LF_TYPE_ID].present)
                return nvv_json_fail(&c->j, "'query_assigned': the 'out' layout lacks 'type_id'");
        if (k->in.present && k->in.f[LF_VF].present && k->in.f[LF_VF].width < 4)
                return nvv_json_fail(&c->j, "'%s': a VF address needs at least a u32", cmd_names[cmd]);
        return 0;
}

/* A required object member of the top level, read by fn with the path pushed. */
static int parse_section(struct ctx *c, json_object *root, const char *key, int (*fn)(struct ctx *, json_object *))
{
        json_object *o = NULL;
        size_t old;
        int r;

        if ((r = nvv_json_member_object(&c->j, root, key, true, &o)) < 0)
                return r;
        old = nvv_json_push(&c->j, key);
        if ((r = fn(c, o)) < 0)
                return r;
        nvv_json_pop(&c->j, old);
        return 0;
}

static int parse_commands(struct ctx *c, json_object *o)
{
        static const char *const allowed[] = { "id", "in", "out", "payload", "reply", NULL };
        json_object_iter it;
        int r;

        json_object_object_foreachC(o, it) {
                int cmd = nvv_vmgmt_cmd_from_string(it.key);
                struct command *k;
                json_object *v = NULL;
                const char *s;
                size_t old = nvv_json_push(&c->j, it.key);

                if (cmd < 0)
                        return nvv_json_fail(&c->j, "not one of the seven vGPU-management commands");
                k = &c->vm->cmds[cmd];
                if ((r = nvv_json_get_object(&c->j, it.val)) < 0 || (r = nvv_json_check_keys(&c->j, it.val, allowed)) < 0 ||
                    (r = get_u32_key(c, it.val, "id", true, UINT32_MAX, &k->id)) < 0)
                        return r;
                if ((r = parse_opt_layout(c, it.val, "in", &k->in, &k->in_kind)) < 0 ||
                    (r = parse_opt_layout(c, it.val, "out", &k->out, &k->out_kind)) < 0)
                        return r;
                if ((r = nvv_json_member(&c->j, it.val, "payload", false, &v)) < 0)
                        return r;
                if (v) {
                        if ((r = nvv_json_get_string(&c->j, v, 32, &s)) < 0)
                                return r;
                        if (!streq(s, "properties") || k->in_kind != PAY_NONE)
                                return nvv_json_fail(&c->j, "'payload' may only be \"properties\", instead of 'in'");
                        k->in_kind = PAY_PROPERTIES;
                }
                if ((r = nvv_json_member(&c->j, it.val, "reply", false, &v)) < 0)
                        return r;
                if (v) {
                        if ((r = nvv_json_get_string(&c->j, v, 32, &s)) < 0)
                                return r;
                        if (k->out_kind != PAY_NONE || (!streq(s, "properties") && !streq(s, "type_ids")))
                                return nvv_json_fail(&c->j, "'reply' may only be \"properties\" or \"type_ids\", instead of 'out'");
                        k->out_kind = streq(s, "properties") ? PAY_PROPERTIES : PAY_TYPE_IDS;
                }
                if ((r = check_command(c, cmd, k)) < 0)
                        return r;
                for (int i = 0; i < cmd; i++)
                        if (c->vm->cmds[i].present && c->vm->cmds[i].id == k->id)
                                return nvv_json_fail(&c->j, "id 0x%x is also '%s'", k->id, cmd_names[i]);
                k->present = true;
                nvv_json_pop(&c->j, old);
        }
        for (int i = 0; i < _NVV_VMGMT_MAX; i++)
                if (!c->vm->cmds[i].present)
                        return nvv_json_fail(&c->j, "command '%s' is missing: the interface has seven", cmd_names[i]);
        return 0;
}

static int parse_properties(struct ctx *c, json_object *o)
{
        static const char *const allowed[] = { "key", "kind", "size", "required", NULL };
        static const char *const kinds[] = { [PK_U32] = "u32", [PK_U64] = "u64", [PK_STRING] = "string" };
        json_object_iter it;
        int r;

        json_object_object_foreachC(o, it) {
                size_t old = nvv_json_push(&c->j, it.key);
                json_object *v = NULL;
                const char *s;
                uint32_t key;
                int p = -1;

                for (int i = 0; i < _PR_MAX; i++)
                        if (streq(prop_names[i], it.key))
                                p = i;
                if (p < 0)
                        return nvv_json_fail(&c->j, "not a property the manager knows");
                if ((r = nvv_json_get_object(&c->j, it.val)) < 0 || (r = nvv_json_check_keys(&c->j, it.val, allowed)) < 0 ||
                    (r = get_u32_key(c, it.val, "key", true, 0xffff, &key)) < 0 ||
                    (r = nvv_json_member(&c->j, it.val, "kind", true, &v)) < 0 ||
                    (r = nvv_json_get_string(&c->j, v, 8, &s)) < 0)
                        return r;
                if (!streq(s, kinds[prop_kinds[p]]))
                        return nvv_json_fail(&c->j, "kind '%s': the manager reads '%s' as %s", s, it.key, kinds[prop_kinds[p]]);
                c->vm->props[p].key = (uint16_t) key;
                if (prop_kinds[p] == PK_STRING) {
                        if ((r = get_u32_key(c, it.val, "size", true, NVV_NAME_MAX, &c->vm->props[p].size)) < 0)
                                return r;
                        if (c->vm->props[p].size < 2)
                                return nvv_json_fail(&c->j, "a string needs room for one character and its NUL");
                }
                if ((r = nvv_json_member(&c->j, it.val, "required", false, &v)) < 0)
                        return r;
                if (v && (r = nvv_json_get_bool(&c->j, v, &c->vm->props[p].required)) < 0)
                        return r;
                for (int i = 0; i < _PR_MAX; i++)
                        if (i != p && c->vm->props[i].present && c->vm->props[i].key == key)
                                return nvv_json_fail(&c->j, "key 0x%x is also '%s'", key, prop_names[i]);
                c->vm->props[p].present = true;
                nvv_json_pop(&c->j, old);
        }
        if (!c->vm->props[PR_TYPE_ID].present)
                return nvv_json_fail(&c->j, "'type_id' is missing: a type's properties must name it");
        return 0;
}

static int parse_status(struct ctx *c, json_object *status, json_object *errmap)
{
        struct nvv_fwabi *fw = c->vm->fw;
        json_object_iter it;
        size_t n = 0;
        int r;

        fw->status = calloc(json_object_object_length(status) + 1, sizeof(*fw->status));
        if (!fw->status)
                return -ENOMEM;
        json_object_object_foreachC(status, it) {
                size_t old = nvv_json_push(&c->j, it.key);
                uint64_t v;

                if ((r = nvv_json_get_uint(&c->j, it.val, UINT32_MAX, &v)) < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        if (fw->status[i].value == v)
                                return nvv_json_fail(&c->j, "value %" PRIu64 " is also '%s'", v, fw->status[i].name);
                fw->status[n].name = strdup(it.key);
                if (!fw->status[n].name)
                        return -ENOMEM;
                fw->status[n].value = (uint32_t) v;
                fw->status[n].errno_value = EIO;
                fw->n_status = ++n;
                nvv_json_pop(&c->j, old);
        }
        if (errmap) {
                size_t o0 = nvv_json_push(&c->j, "status_errno");

                json_object_object_foreachC(errmap, it) {
                        size_t old = nvv_json_push(&c->j, it.key);
                        struct nvv_status *st = NULL;
                        const char *en;
                        int e;

                        for (size_t i = 0; i < n; i++)
                                if (streq(fw->status[i].name, it.key))
                                        st = &fw->status[i];
                        if (!st)
                                return nvv_json_fail(&c->j, "not a status of 'status'");
                        if ((r = nvv_json_get_string(&c->j, it.val, 32, &en)) < 0)
                                return r;
                        e = errno_from_name(en);
                        if (e <= 0)
                                return nvv_json_fail(&c->j, "'%s' is not an errno name", en);
                        st->errno_value = e;
                        nvv_json_pop(&c->j, old);
                }
                nvv_json_pop(&c->j, o0);
        }
        qsort(fw->status, n, sizeof(*fw->status), nvv_status_compare_value);
        if (n == 0 || fw->status[0].value != 0)
                return nvv_json_fail(&c->j, "'status' must name success (value 0)");
        return 0;
}

static int parse_sizing(struct ctx *c, json_object *o)
{
        static const char *const allowed[] = { "gsp_fw_heap_vgpu_mb", "max_vgpu_types_per_pgpu", "max_vgpu_per_pgpu",
                                                "vgpu_string_size", NULL };
        struct nvv_sizing *s = &c->vm->fw->sizing;
        uint32_t heap = 0;
        int r;

        if ((r = nvv_json_check_keys(&c->j, o, allowed)) < 0 ||
            (r = get_u32_key(c, o, "gsp_fw_heap_vgpu_mb", true, 1u << 20, &heap)) < 0 ||
            (r = get_u32_key(c, o, "max_vgpu_types_per_pgpu", true, NVV_MAX_VGPU_TYPES, &s->max_vgpu_types_per_pgpu)) < 0 ||
            (r = get_u32_key(c, o, "max_vgpu_per_pgpu", true, NVV_MAX_VGPUS, &s->max_vgpu_per_pgpu)) < 0 ||
            (r = get_u32_key(c, o, "vgpu_string_size", true, NVV_NAME_MAX, &s->vgpu_string_size)) < 0)
                return r;
        if (s->max_vgpu_per_pgpu == 0 || s->max_vgpu_types_per_pgpu == 0)
                return nvv_json_fail(&c->j, "a GPU with room for no vGPU or no type");
        s->gsp_fw_heap_vgpu_mb = s->gsp_fw_heap_vgpu_min_mb = s->gsp_fw_heap_vgpu_max_mb = heap;
        s->max_vgpu_per_pgpu_non_mig = s->max_vgpu_per_pgpu;
        s->placement_id_invalid = c->vm->placement_none;
        return 0;
}

static int parse_top(struct ctx *c, json_object *root)
{
        static const char *const allowed[] = { "interface", "revision", "fwctl", "errors", "vf_address",
                                                "placement_none", "commands", "max_type_ids", "properties", "status",
                                                "status_errno", "sizing", NULL };
        static const char *const fwctl_allowed[] = { "device_type", "scope", "header_size", "command_id_offset",
                                                     "reserved_offset", "max_reply", NULL };
        static const char *const errors_allowed[] = { "reply_status_offset", "reply_status_width", NULL };
        static const char *const vf_allowed[] = { "width", "domain_shift", "bus_shift", "device_shift", NULL };
        struct nvv_vmgmt *vm = c->vm;
        json_object *v, *o, *o2;
        const char *s;
        size_t old;
        int r;

        if ((r = nvv_json_get_object(&c->j, root)) < 0 || (r = nvv_json_check_keys(&c->j, root, allowed)) < 0)
                return r;
        if ((r = nvv_json_member(&c->j, root, "interface", true, &v)) < 0 ||
            (r = nvv_json_get_string(&c->j, v, 64, &s)) < 0)
                return r;
        if (!streq(s, "nova-core-vgpu-mgmt"))
                return nvv_json_fail(&c->j, "interface '%s': this manager speaks 'nova-core-vgpu-mgmt'", s);
        if ((r = nvv_json_member(&c->j, root, "revision", true, &v)) < 0 ||
            (r = nvv_json_get_string(&c->j, v, 31, &s)) < 0)
                return r;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || *p == '_' || *p == '.' || *p == '-'))
                        return nvv_json_fail(&c->j, "revision '%s': only [0-9a-z_.-]", s);
        if (!*s)
                return nvv_json_fail(&c->j, "an empty revision");
        vm->revision = strdup(s);
        vm->fw->release = strdup(s);
        if (!vm->revision || !vm->fw->release)
                return -ENOMEM;

        if ((r = nvv_json_member_object(&c->j, root, "fwctl", true, &o)) < 0)
                return r;
        old = nvv_json_push(&c->j, "fwctl");
        if ((r = nvv_json_check_keys(&c->j, o, fwctl_allowed)) < 0 ||
            (r = get_u32_key(c, o, "device_type", true, UINT32_MAX, &vm->device_type)) < 0 ||
            (r = get_u32_key(c, o, "scope", true, UINT32_MAX, &vm->scope)) < 0 ||
            (r = get_u32_key(c, o, "header_size", true, 64, &vm->header_size)) < 0 ||
            (r = get_u32_key(c, o, "command_id_offset", true, 60, &vm->cmd_off)) < 0 ||
            (r = get_u32_key(c, o, "reserved_offset", true, 60, &vm->rsv_off)) < 0 ||
            (r = get_u32_key(c, o, "max_reply", true, 1u << 20, &vm->max_reply)) < 0)
                return r;
        if (vm->cmd_off + 4 > vm->header_size || vm->rsv_off + 4 > vm->header_size ||
            (vm->rsv_off < vm->cmd_off + 4 && vm->cmd_off < vm->rsv_off + 4))
                return nvv_json_fail(&c->j, "command_id and reserved must be two u32 inside the header");
        nvv_json_pop(&c->j, old);

        if ((r = nvv_json_member_object(&c->j, root, "errors", true, &o)) < 0)
                return r;
        old = nvv_json_push(&c->j, "errors");
        if ((r = nvv_json_check_keys(&c->j, o, errors_allowed)) < 0 ||
            (r = get_u32_key(c, o, "reply_status_offset", true, 60, &vm->status_off)) < 0 ||
            (r = get_u32_key(c, o, "reply_status_width", true, 4, &vm->status_width)) < 0)
                return r;
        if ((vm->status_width != 2 && vm->status_width != 4) || vm->status_off + vm->status_width > vm->header_size ||
            (vm->status_off < vm->cmd_off + 4 && vm->cmd_off < vm->status_off + vm->status_width))
                return nvv_json_fail(&c->j, "the status must be a u16 or u32 in the reply header, apart from command_id");
        nvv_json_pop(&c->j, old);

        if ((r = nvv_json_member_object(&c->j, root, "vf_address", true, &o)) < 0)
                return r;
        old = nvv_json_push(&c->j, "vf_address");
        if ((r = nvv_json_check_keys(&c->j, o, vf_allowed)) < 0 ||
            (r = get_u32_key(c, o, "width", true, 8, &vm->vf_width)) < 0 ||
            (r = get_u32_key(c, o, "domain_shift", true, 48, &vm->domain_shift)) < 0 ||
            (r = get_u32_key(c, o, "bus_shift", true, 56, &vm->bus_shift)) < 0 ||
            (r = get_u32_key(c, o, "device_shift", true, 59, &vm->device_shift)) < 0)
                return r;
        /* function in the low 3 bits, then device (5), bus (8), domain (16), in that order. */
        if (vm->device_shift < 3 || vm->bus_shift < vm->device_shift + 5 || vm->domain_shift < vm->bus_shift + 8 ||
            vm->domain_shift + 16 > 8 * vm->vf_width)
                return nvv_json_fail(&c->j, "the fields of a VF address must not overlap and must fit its width");
        nvv_json_pop(&c->j, old);

        if ((r = get_u32_key(c, root, "placement_none", true, 0xffff, &vm->placement_none)) < 0 ||
            (r = get_u32_key(c, root, "max_type_ids", true, NVV_MAX_VGPU_TYPES, &vm->max_type_ids)) < 0)
                return r;

        if ((r = parse_section(c, root, "commands", parse_commands)) < 0)
                return r;

        if ((r = parse_section(c, root, "properties", parse_properties)) < 0)
                return r;

        if ((r = nvv_json_member_object(&c->j, root, "status", true, &o)) < 0 ||
            (r = nvv_json_member_object(&c->j, root, "status_errno", false, &o2)) < 0)
                return r;
        old = nvv_json_push(&c->j, "status");
        if ((r = parse_status(c, o, o2)) < 0)
                return r;
        nvv_json_pop(&c->j, old);

        if ((r = parse_section(c, root, "sizing", parse_sizing)) < 0)
                return r;
        return 0;
}

struct nvv_vmgmt *nvv_vmgmt_free(struct nvv_vmgmt *vm)
{
        if (!vm)
                return NULL;
        free(vm->revision);
        free(vm->path);
        nvv_fwabi_free(vm->fw);
        free(vm);
        return NULL;
}

int nvv_vmgmt_load_buffer(const char *data, size_t size, const char *name, struct nvv_vmgmt **ret, char **reterr_msg)
{
        _cleanup_(nvv_vmgmt_freep) struct nvv_vmgmt *vm = NULL;
        _cleanup_json_ json_object *root = NULL;
        struct ctx c = {
                .j = { .file = name ? name : "<buffer>", .err = reterr_msg, .doc_key = is_doc_key },
        };
        int r;

        assert_return(data && ret, -EINVAL);
        r = nvv_json_parse(&c.j, data, size, NVV_VMGMT_MAX_FILE_SIZE, &root);
        if (r < 0)
                return r;
        vm = calloc(1, sizeof(*vm));
        if (!vm || !(vm->fw = calloc(1, sizeof(*vm->fw))))
                return -ENOMEM;
        c.vm = vm;
        r = parse_top(&c, root);
        if (r < 0)
                return r;
        if (name && (!(vm->path = strdup(name)) || !(vm->fw->path = strdup(name))))
                return -ENOMEM;
        *ret = TAKE_PTR(vm);
        return 0;
}

int nvv_vmgmt_load_file(const char *path, struct nvv_vmgmt **ret, char **reterr_msg)
{
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        assert_return(path && ret, -EINVAL);
        r = read_full_file(path, NVV_VMGMT_MAX_FILE_SIZE, &data, &size);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s: %s", path, read_full_file_strerror(r));
        return nvv_vmgmt_load_buffer(data, size, path, ret, reterr_msg);
}

/* ---- lookups ---- */

const char *nvv_vmgmt_get_revision(const struct nvv_vmgmt *vm)
{
        return vm->revision;
}

const char *nvv_vmgmt_get_path(const struct nvv_vmgmt *vm)
{
        return vm->path;
}

uint32_t nvv_vmgmt_get_device_type(const struct nvv_vmgmt *vm)
{
        return vm->device_type;
}

uint32_t nvv_vmgmt_get_scope(const struct nvv_vmgmt *vm)
{
        return vm->scope;
}

uint32_t nvv_vmgmt_get_max_reply(const struct nvv_vmgmt *vm)
{
        return vm->max_reply;
}

uint32_t nvv_vmgmt_get_header_size(const struct nvv_vmgmt *vm)
{
        return vm->header_size;
}

uint32_t nvv_vmgmt_command_id(const struct nvv_vmgmt *vm, int cmd)
{
        return cmd >= 0 && cmd < _NVV_VMGMT_MAX ? vm->cmds[cmd].id : 0;
}

int nvv_vmgmt_command_from_id(const struct nvv_vmgmt *vm, uint32_t id)
{
        for (int i = 0; i < _NVV_VMGMT_MAX; i++)
                if (vm->cmds[i].id == id)
                        return i;
        return -ENOENT;
}

const struct nvv_fwabi *nvv_vmgmt_get_fwabi(const struct nvv_vmgmt *vm)
{
        return vm->fw;
}

int nvv_vmgmt_status_value(const struct nvv_vmgmt *vm, const char *name, uint32_t *ret)
{
        for (size_t i = 0; i < vm->fw->n_status; i++)
                if (streq(vm->fw->status[i].name, name)) {
                        *ret = vm->fw->status[i].value;
                        return 0;
                }
        return -ENOENT;
}

uint64_t nvv_vmgmt_vf_to_wire(const struct nvv_vmgmt *vm, const struct nvv_pci_addr *a)
{
        return (uint64_t) (a->domain & 0xffff) << vm->domain_shift | (uint64_t) a->bus << vm->bus_shift |
               (uint64_t) (a->dev & 0x1f) << vm->device_shift | (a->fn & 7);
}

void nvv_vmgmt_vf_from_wire(const struct nvv_vmgmt *vm, uint64_t v, struct nvv_pci_addr *ret)
{
        *ret = (struct nvv_pci_addr) {
                .domain = (uint32_t) ((v >> vm->domain_shift) & 0xffff),
                .bus = (uint8_t) (v >> vm->bus_shift),
                .dev = (uint8_t) ((v >> vm->device_shift) & 0x1f),
                .fn = (uint8_t) (v & 7),
        };
}

/* ---- properties ---- */

static uint64_t prop_get(const struct nvv_vgpu_type *t, int p)
{
        switch (p) {
        case PR_TYPE_ID: return t->type_id;
        case PR_BAR1: return t->bar1_length;
        case PR_MAX_INSTANCE: return t->max_instance;
        case PR_ECC: return t->ecc_supported;
        case PR_PROFILE_SIZE: return t->profile_size;
        case PR_FRL: return t->frl_config;
        case PR_HEADS: return t->num_heads;
        case PR_RES_X: return t->max_resolution_x;
        case PR_RES_Y: return t->max_resolution_y;
        /* The stable vdev_id carries the guest's PCI device id above its subsystem id. */
        case PR_DEV_ID: return t->vdev_id >> 32;
        case PR_SUBSYS_ID: return t->vdev_id & 0xffffffffu;
        case PR_FB_LENGTH: return t->fb_length;
        case PR_GSP_HEAP: return t->gsp_heap_size;
        case PR_FB_RESERVATION: return t->fb_reservation;
        default: return 0;
        }
}

static void prop_set(struct nvv_vgpu_type *t, int p, uint64_t v)
{
        switch (p) {
        case PR_TYPE_ID: t->type_id = (uint32_t) v; break;
        case PR_BAR1: t->bar1_length = v; break;
        case PR_MAX_INSTANCE: t->max_instance = (uint32_t) v; break;
        case PR_ECC: t->ecc_supported = (uint32_t) v; break;
        case PR_PROFILE_SIZE: t->profile_size = v; break;
        case PR_FRL: t->frl_config = (uint32_t) v; break;
        case PR_HEADS: t->num_heads = (uint32_t) v; break;
        case PR_RES_X: t->max_resolution_x = (uint32_t) v; break;
        case PR_RES_Y: t->max_resolution_y = (uint32_t) v; break;
        case PR_DEV_ID: t->vdev_id = (t->vdev_id & 0xffffffffu) | v << 32; break;
        case PR_SUBSYS_ID: t->vdev_id = (t->vdev_id & ~UINT64_C(0xffffffff)) | (v & 0xffffffffu); break;
        case PR_FB_LENGTH: t->fb_length = v; break;
        case PR_GSP_HEAP: t->gsp_heap_size = v; break;
        case PR_FB_RESERVATION: t->fb_reservation = v; break;
        default: break;
        }
}

static char *prop_string(struct nvv_vgpu_type *t, int p)
{
        return p == PR_NAME ? t->name : t->class_name;
}

int nvv_vmgmt_encode_properties(const struct nvv_vmgmt *vm, const struct nvv_vgpu_type *t, void *buf, size_t size,
                                size_t *ret_len)
{
        struct nvv_nvkv_writer w;

        nvv_nvkv_writer_init(&w, buf, size);
        for (int p = 0; p < _PR_MAX; p++) {
                const struct prop *d = &vm->props[p];

                if (!d->present)
                        continue;
                if (prop_kinds[p] == PK_STRING) {
                        const char *s = p == PR_NAME ? t->name : t->class_name;
                        size_t n = strnlen(s, NVV_NAME_MAX);

                        if (n + 1 > d->size)
                                return -ENAMETOOLONG;
                        nvv_nvkv_put_bytes(&w, d->key, s, (uint32_t) n);
                } else if (prop_kinds[p] == PK_U32) {
                        uint64_t v = prop_get(t, p);

                        if (v > UINT32_MAX)
                                return -ERANGE;
                        nvv_nvkv_put_u32(&w, d->key, (uint32_t) v);
                } else
                        nvv_nvkv_put_u64(&w, d->key, prop_get(t, p));
        }
        if (w.error)
                return w.error;
        *ret_len = w.len;
        return 0;
}

struct prop_decode {
        const struct nvv_vmgmt *vm;
        struct nvv_vgpu_type *t;
        bool seen[_PR_MAX];
        char *err;
        size_t errlen;
};

static int prop_visit(void *userdata, const struct nvv_nvkv_value *v)
{
        struct prop_decode *d = userdata;

        for (int p = 0; p < _PR_MAX; p++) {
                const struct prop *pd = &d->vm->props[p];

                if (!pd->present || pd->key != v->key)
                        continue;
                if (v->index != 0) {
                        nvv_errf(d->err, d->errlen, "property '%s' (key 0x%04x) at index %u: a type has one", prop_names[p],
                                 v->key, v->index);
                        return -EBADMSG;
                }
                if (prop_kinds[p] == PK_STRING) {
                        char *s = prop_string(d->t, p);

                        if (!v->is_array || v->width != 1 || v->count >= pd->size || memchr(v->bytes, 0, v->count)) {
                                nvv_errf(d->err, d->errlen, "property '%s' (key 0x%04x) is not text of at most %u bytes",
                                         prop_names[p], v->key, pd->size - 1);
                                return -EBADMSG;
                        }
                        memcpy(s, v->bytes, v->count);
                        s[v->count] = 0;
                } else {
                        if (v->is_array || (prop_kinds[p] == PK_U32 && v->scalar > UINT32_MAX)) {
                                nvv_errf(d->err, d->errlen, "property '%s' (key 0x%04x) is not a %s", prop_names[p], v->key,
                                         prop_kinds[p] == PK_U32 ? "32-bit number" : "number");
                                return -EBADMSG;
                        }
                        prop_set(d->t, p, v->scalar);
                }
                d->seen[p] = true;
                return 0;
        }
        /* Unknown keys are skipped: a newer firmware may say more. */
        return 0;
}

int nvv_vmgmt_decode_properties(const struct nvv_vmgmt *vm, const void *data, size_t len, struct nvv_vgpu_type *ret,
                                char *err, size_t errlen)
{
        struct nvv_vgpu_type t = {};
        struct prop_decode d = { .vm = vm, .t = &t, .err = err, .errlen = errlen };
        int r;

        r = nvv_nvkv_decode(data, len, prop_visit, &d, err, errlen);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        for (int p = 0; p < _PR_MAX; p++)
                if (vm->props[p].present && vm->props[p].required && !d.seen[p]) {
                        nvv_errf(err, errlen, "the properties lack '%s' (key 0x%04x)", prop_names[p], vm->props[p].key);
                        return -EBADMSG;
                }
        if (t.type_id == 0) {
                nvv_errf(err, errlen, "the properties name type 0");
                return -EBADMSG;
        }
        *ret = t;
        return 0;
}

/* ---- requests and replies ---- */

static void layout_put(const struct nvv_vmgmt *vm, const struct layout *l, const struct nvv_vmgmt_io *io, uint8_t *p)
{
        for (unsigned i = 0; i < _LF_MAX; i++) {
                uint64_t v;

                if (!l->f[i].present)
                        continue;
                switch (i) {
                case LF_VF: v = nvv_vmgmt_vf_to_wire(vm, &io->vf); break;
                case LF_TYPE_ID: v = io->type_id; break;
                case LF_SWIZZ_ID: v = io->swizz_id; break;
                default: v = io->placement_id == NVV_PLACEMENT_NONE ? vm->placement_none : io->placement_id; break;
                }
                put_le(p + l->f[i].offset, l->f[i].width, v);
        }
}

static int layout_get(const struct nvv_vmgmt *vm, const struct layout *l, const uint8_t *p, struct nvv_vmgmt_io *io)
{
        for (unsigned i = 0; i < _LF_MAX; i++) {
                uint64_t v;

                if (!l->f[i].present)
                        continue;
                v = get_le(p + l->f[i].offset, l->f[i].width);
                switch (i) {
                case LF_VF:
                        if (v >> (vm->domain_shift + 16) || ((v >> 3) & ((UINT64_C(1) << (vm->device_shift - 3)) - 1)) ||
                            ((v >> (vm->device_shift + 5)) & ((UINT64_C(1) << (vm->bus_shift - vm->device_shift - 5)) - 1)) ||
                            ((v >> (vm->bus_shift + 8)) & ((UINT64_C(1) << (vm->domain_shift - vm->bus_shift - 8)) - 1)))
                                return -EINVAL;
                        nvv_vmgmt_vf_from_wire(vm, v, &io->vf);
                        break;
                case LF_TYPE_ID: io->type_id = (uint32_t) v; break;
                case LF_SWIZZ_ID: io->swizz_id = (uint32_t) v; break;
                default: io->placement_id = v == vm->placement_none ? NVV_PLACEMENT_NONE : (uint32_t) v; break;
                }
        }
        return 0;
}

static void put_header(const struct nvv_vmgmt *vm, uint8_t *p, uint32_t id)
{
        memset(p, 0, vm->header_size);
        put_le(p + vm->cmd_off, 4, id);
}

int nvv_vmgmt_encode_request(const struct nvv_vmgmt *vm, int cmd, const struct nvv_vmgmt_io *io, void *buf,
                             size_t size, size_t *ret_len, char *err, size_t errlen)
{
        const struct command *k;
        uint8_t *p = buf;
        size_t len;
        int r;

        assert_return(vm && io && buf && ret_len, -EINVAL);
        if (cmd < 0 || cmd >= _NVV_VMGMT_MAX)
                return -EINVAL;
        k = &vm->cmds[cmd];
        if (size < vm->header_size)
                return -ENOBUFS;
        put_header(vm, p, k->id);
        len = vm->header_size;
        switch (k->in_kind) {
        case PAY_LAYOUT:
                if (size - len < k->in.size)
                        return -ENOBUFS;
                if (k->in.f[LF_PLACEMENT_ID].present && io->placement_id != NVV_PLACEMENT_NONE &&
                    (io->placement_id > width_max(k->in.f[LF_PLACEMENT_ID].width) || io->placement_id == vm->placement_none)) {
                        nvv_errf(err, errlen, "placement %u cannot be asked for in interface %s", io->placement_id,
                                 vm->revision);
                        return -ERANGE;
                }
                memset(p + len, 0, k->in.size);
                layout_put(vm, &k->in, io, p + len);
                len += k->in.size;
                break;
        case PAY_PROPERTIES: {
                size_t n = 0;

                r = nvv_vmgmt_encode_properties(vm, &io->type, p + len, size - len, &n);
                if (r == -ENAMETOOLONG || r == -ERANGE) {
                        nvv_errf(err, errlen, "type %u does not fit interface %s's properties", io->type.type_id,
                                 vm->revision);
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
                len += n;
                break;
        }
        default:
                break;
        }
        *ret_len = len;
        return 0;
}

static int errno_of(const struct nvv_vmgmt *vm, uint32_t status)
{
        const struct nvv_status *st = nvv_fwabi_status(vm->fw, status);

        return st ? -st->errno_value : -EIO;
}

int nvv_vmgmt_decode_reply(const struct nvv_vmgmt *vm, int cmd, int ioctl_r, const void *reply, size_t len,
                           struct nvv_vmgmt_io *io, struct nvv_vmgmt_result *res, char *err, size_t errlen)
{
        const struct command *k;
        const uint8_t *p = reply, *pl;
        size_t plen;
        uint32_t id, status;
        char sbuf[96];

        assert_return(vm && io && res, -EINVAL);
        *res = (struct nvv_vmgmt_result) {};
        if (cmd < 0 || cmd >= _NVV_VMGMT_MAX)
                return -EINVAL;
        k = &vm->cmds[cmd];
        if (ioctl_r == -EPERM) {
                res->not_permitted = true;
                nvv_errf(err, errlen, "the kernel does not permit %s (command 0x%08x) at fwctl scope %u: interface %s "
                         "does not match this kernel's nova-core", cmd_names[cmd], k->id, vm->scope, vm->revision);
                return -EPERM;
        }
        if (ioctl_r == -EIO) {
                /* The draft driver's convention: any firmware status is EIO, the status is lost. */
                res->refused = true;
                nvv_errf(err, errlen, "the firmware refused %s (the kernel reports EIO and no status)", cmd_names[cmd]);
                return -EIO;
        }
        if (ioctl_r < 0) {
                nvv_errf(err, errlen, "%s: FWCTL_RPC failed: %s", cmd_names[cmd], strerror(-ioctl_r));
                return ioctl_r;
        }
        if (!reply || len < vm->header_size) {
                nvv_errf(err, errlen, "%s: a reply of %zu bytes, shorter than its %u-byte header", cmd_names[cmd], len,
                         vm->header_size);
                return -EBADMSG;
        }
        if (len - vm->header_size > vm->max_reply) {
                nvv_errf(err, errlen, "%s: a reply payload of %zu bytes, more than the interface's %u", cmd_names[cmd],
                         len - vm->header_size, vm->max_reply);
                return -EBADMSG;
        }
        id = (uint32_t) get_le(p + vm->cmd_off, 4);
        if (id != k->id) {
                nvv_errf(err, errlen, "%s: the reply is for command 0x%08x, not 0x%08x", cmd_names[cmd], id, k->id);
                return -EBADMSG;
        }
        status = (uint32_t) get_le(p + vm->status_off, vm->status_width);
        if (status != 0) {
                res->refused = res->have_status = true;
                res->status = status;
                nvv_errf(err, errlen, "the firmware refused %s: %s", cmd_names[cmd],
                         nvv_fwabi_status_to_string(vm->fw, status, sbuf, sizeof(sbuf)));
                return errno_of(vm, status);
        }
        pl = p + vm->header_size;
        plen = len - vm->header_size;
        switch (k->out_kind) {
        case PAY_NONE:
                if (plen != 0) {
                        nvv_errf(err, errlen, "%s: %zu bytes of payload in a reply that has none", cmd_names[cmd], plen);
                        return -EBADMSG;
                }
                return 0;
        case PAY_TYPE_IDS:
                if (plen % 4 != 0 || plen / 4 > vm->max_type_ids) {
                        nvv_errf(err, errlen, "%s: a list of %zu bytes is not at most %u type ids", cmd_names[cmd], plen,
                                 vm->max_type_ids);
                        return -EBADMSG;
                }
                io->n_ids = 0;
                for (size_t i = 0; i < plen / 4; i++) {
                        uint32_t t = (uint32_t) get_le(pl + 4 * i, 4);

                        if (t == 0)
                                break;
                        for (uint32_t j = 0; j < io->n_ids; j++)
                                if (io->ids[j] == t) {
                                        nvv_errf(err, errlen, "%s: type %u listed twice", cmd_names[cmd], t);
                                        return -EBADMSG;
                                }
                        io->ids[io->n_ids++] = t;
                }
                return 0;
        case PAY_LAYOUT:
                if (plen < k->out.size) {
                        nvv_errf(err, errlen, "%s: a reply payload of %zu bytes, the interface has %u", cmd_names[cmd],
                                 plen, k->out.size);
                        return -EBADMSG;
                }
                if (layout_get(vm, &k->out, pl, io) < 0) {
                        nvv_errf(err, errlen, "%s: the reply holds no valid VF address", cmd_names[cmd]);
                        return -EBADMSG;
                }
                return 0;
        case PAY_PROPERTIES: {
                char why[256] = "";
                struct nvv_vgpu_type t;
                int r = nvv_vmgmt_decode_properties(vm, pl, plen, &t, why, sizeof(why));

                if (r < 0) {
                        nvv_errf(err, errlen, "%s of type %u: %s", cmd_names[cmd], io->type_id, why);
                        return r;
                }
                if (t.type_id != io->type_id) {
                        nvv_errf(err, errlen, "%s: asked for type %u, the firmware described type %u", cmd_names[cmd],
                                 io->type_id, t.type_id);
                        return -EBADMSG;
                }
                io->type = t;
                return 0;
        }
        }
        return -EINVAL;
}

int nvv_vmgmt_parse_request(const struct nvv_vmgmt *vm, const void *req, size_t len, int *ret_cmd,
                            struct nvv_vmgmt_io *io, char *err, size_t errlen)
{
        const uint8_t *p = req;
        const struct command *k;
        int cmd;

        assert_return(vm && ret_cmd && io, -EINVAL);
        *ret_cmd = -ENOENT;
        memset(io, 0, sizeof(*io));
        io->placement_id = NVV_PLACEMENT_NONE;
        if (!req || len < vm->header_size) {
                nvv_errf(err, errlen, "a request of %zu bytes, shorter than the %u-byte header", len, vm->header_size);
                return -EINVAL;
        }
        cmd = nvv_vmgmt_command_from_id(vm, (uint32_t) get_le(p + vm->cmd_off, 4));
        *ret_cmd = cmd;
        if (cmd < 0) {
                nvv_errf(err, errlen, "command 0x%08x is not a vGPU-management command", (uint32_t) get_le(p + vm->cmd_off, 4));
                return -ENOENT;
        }
        if (get_le(p + vm->rsv_off, 4) != 0) {
                nvv_errf(err, errlen, "the header's reserved word is not zero");
                return -EINVAL;
        }
        k = &vm->cmds[cmd];
        p += vm->header_size;
        len -= vm->header_size;
        switch (k->in_kind) {
        case PAY_NONE:
                return 0;
        case PAY_LAYOUT:
                if (len < k->in.size) {
                        nvv_errf(err, errlen, "%s: a payload of %zu bytes, the command has %u", cmd_names[cmd], len, k->in.size);
                        return -EINVAL;
                }
                if (layout_get(vm, &k->in, p, io) < 0) {
                        nvv_errf(err, errlen, "%s: not a VF address", cmd_names[cmd]);
                        return -EINVAL;
                }
                return 0;
        case PAY_PROPERTIES:
                if (nvv_vmgmt_decode_properties(vm, p, len, &io->type, err, errlen) < 0)
                        return -EINVAL;
                return 0;
        default:
                return -EINVAL;
        }
}

int nvv_vmgmt_encode_reply(const struct nvv_vmgmt *vm, int cmd, uint32_t status, const struct nvv_vmgmt_io *io,
                           void *buf, size_t size, size_t *ret_len, char *err, size_t errlen)
{
        const struct command *k;
        uint8_t *p = buf;
        size_t len;
        int r;

        assert_return(vm && io && buf && ret_len && cmd >= 0 && cmd < _NVV_VMGMT_MAX, -EINVAL);
        k = &vm->cmds[cmd];
        if (size < vm->header_size)
                return -ENOBUFS;
        put_header(vm, p, k->id);
        put_le(p + vm->status_off, vm->status_width, status);
        len = vm->header_size;
        if (status == 0) {
                switch (k->out_kind) {
                case PAY_TYPE_IDS:
                        if (io->n_ids > vm->max_type_ids || size - len < 4u * io->n_ids)
                                return -ENOBUFS;
                        for (uint32_t i = 0; i < io->n_ids; i++)
                                put_le(p + len + 4 * i, 4, io->ids[i]);
                        len += 4u * io->n_ids;
                        break;
                case PAY_LAYOUT:
                        if (size - len < k->out.size)
                                return -ENOBUFS;
                        memset(p + len, 0, k->out.size);
                        layout_put(vm, &k->out, io, p + len);
                        len += k->out.size;
                        break;
                case PAY_PROPERTIES: {
                        size_t n = 0;

                        r = nvv_vmgmt_encode_properties(vm, &io->type, p + len, MIN(size - len, (size_t) vm->max_reply), &n);
                        if (r < 0) {
                                nvv_errf(err, errlen, "type %u's properties do not fit the reply", io->type.type_id);
                                return r;
                        }
                        len += n;
                        break;
                }
                default:
                        break;
                }
        }
        *ret_len = len;
        return 0;
}
