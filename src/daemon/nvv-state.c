/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nvv-catalog.h"
#include "nvv-cmd.h"
#include "nvv-json.h"
#include "nvv-pgpu.h"
#include "nvv-state.h"
#include "nvv-sysfs.h"
#include "util.h"

#define TEMP_PREFIX "." NVV_STATE_FILE ".tmp-"
#define OLD_PREFIX "." NVV_STATE_FILE ".old-"
#define CORRUPT_PREFIX NVV_STATE_FILE ".corrupt-"

static const char *const vgpu_state_table[_NVV_STATE_VGPU_STATE_MAX] = {
        [NVV_STATE_VGPU_CREATED] = "created",
        [NVV_STATE_VGPU_RUNNING] = "running",
        [NVV_STATE_VGPU_CREATING] = "creating",
        [NVV_STATE_VGPU_DESTROYING] = "destroying",
        [NVV_STATE_VGPU_STARTING] = "starting",
};
DEFINE_STRING_TABLE_LOOKUP(nvv_state_vgpu_state, enum nvv_state_vgpu_state, vgpu_state_table,
                           _NVV_STATE_VGPU_STATE_MAX, _NVV_STATE_VGPU_STATE_INVALID)

static nvv_state_save_hook_t save_hook;
static void *save_hook_userdata;

void nvv_state_set_save_hook(nvv_state_save_hook_t fn, void *userdata)
{
        save_hook = fn;
        save_hook_userdata = userdata;
}

static int hook(enum nvv_state_save_step step)
{
        return save_hook ? save_hook(step, save_hook_userdata) : 0;
}

/* ---- field checks ---- */

bool nvv_state_vgpu_name_valid(const char *s)
{
        return nvv_state_uuid_valid(s) || nvv_state_bdf_valid(s);
}

bool nvv_state_uuid_valid(const char *s)
{
        if (!s || strlen(s) != 36)
                return false;
        for (size_t i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return false;
                } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        }
        return true;
}

bool nvv_state_bdf_valid(const char *s)
{
        char canon[13];

        /* The sysfs parser accepts upper case; the store holds the canonical form only. */
        return s && nvv_sysfs_parse_bdf(s, canon) == 0 && streq(s, canon);
}

bool nvv_state_type_name_valid(const char *s)
{
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n >= NVV_STATE_TYPE_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-'))
                        return false;
        }
        return true;
}

bool nvv_state_vm_name_valid(const char *s)
{
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n >= NVV_STATE_VM_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < 0x20 || s[i] > 0x7e)
                        return false;
        return true;
}

/* Bounded fields must hold a NUL inside them before anything looks at their text. */
#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

/* The states in which a vGPU holds (or may hold) a VF: gfid and host_handle are set. */
static bool has_vf(enum nvv_state_vgpu_state s)
{
        return s == NVV_STATE_VGPU_RUNNING || s == NVV_STATE_VGPU_STARTING;
}

static int vgpu_check(const struct nvv_state_vgpu *v, char **reterr_msg)
{
        const char *id;

        if (!TERMINATED(v->uuid) || !nvv_state_vgpu_name_valid(v->uuid))
                return nvv_fail(reterr_msg, "vGPU uuid is not a lowercase canonical UUID, nor a VF's PCI address");
        id = v->uuid;
        if (!TERMINATED(v->gpu) || !nvv_state_bdf_valid(v->gpu))
                return nvv_fail(reterr_msg, "vGPU %s: gpu is not a PCI address like 0000:41:00.0", id);
        if (!TERMINATED(v->type_name) || !nvv_state_type_name_valid(v->type_name))
                return nvv_fail(reterr_msg, "vGPU %s: type is not a type name like L40S-8Q", id);
        if (v->fb_offset > INT64_MAX || v->fb_length > INT64_MAX)
                return nvv_fail(reterr_msg, "vGPU %s: framebuffer range beyond 2^63", id);
        if (!TERMINATED(v->vm_name) || (v->vm_name[0] && !nvv_state_vm_name_valid(v->vm_name)))
                return nvv_fail(reterr_msg, "vGPU %s: vm name is not 1 to %d printable ASCII characters", id,
                                NVV_STATE_VM_NAME_MAX - 1);
        if (!TERMINATED(v->vm_uuid) || (v->vm_uuid[0] && !nvv_state_uuid_valid(v->vm_uuid)))
                return nvv_fail(reterr_msg, "vGPU %s: vm uuid is not a lowercase canonical UUID", id);
        if (v->state < 0 || v->state >= _NVV_STATE_VGPU_STATE_MAX)
                return nvv_fail(reterr_msg, "vGPU %s: state is not created, running, creating, destroying or starting", id);
        if (!has_vf(v->state) && (v->gfid || v->host_handle))
                return nvv_fail(reterr_msg, "vGPU %s: %s (neither running nor starting) but has gfid %u, host handle %u",
                                id, nvv_state_vgpu_state_to_string(v->state) ?: "?", v->gfid, v->host_handle);
        if (has_vf(v->state) && v->gfid == 0)
                return nvv_fail(reterr_msg, "vGPU %s: %s without a gfid", id, nvv_state_vgpu_state_to_string(v->state));
        if (v->state == NVV_STATE_VGPU_STARTING && v->host_handle == 0)
                return nvv_fail(reterr_msg, "vGPU %s: starting without a host handle", id);
        return 0;
}

static int definition_check(const struct nvv_state_definition *d, char **reterr_msg)
{
        if (!TERMINATED(d->uuid) || !nvv_state_uuid_valid(d->uuid))
                return nvv_fail(reterr_msg, "definition uuid is not a lowercase canonical UUID");
        if (!TERMINATED(d->type_name) || !nvv_state_type_name_valid(d->type_name))
                return nvv_fail(reterr_msg, "definition %s: type is not a type name like L40S-8Q", d->uuid);
        if (!TERMINATED(d->gpu) || (d->gpu[0] && !nvv_state_bdf_valid(d->gpu)))
                return nvv_fail(reterr_msg, "definition %s: gpu is not a PCI address like 0000:41:00.0", d->uuid);
        if (!TERMINATED(d->vm_name) || (d->vm_name[0] && !nvv_state_vm_name_valid(d->vm_name)))
                return nvv_fail(reterr_msg, "definition %s: vm name is not 1 to %d printable ASCII characters",
                                d->uuid, NVV_STATE_VM_NAME_MAX - 1);
        return 0;
}

/* ---- the in-memory state ---- */

int nvv_state_new(struct nvv_state **ret)
{
        assert_return(ret, -EINVAL);
        *ret = calloc(1, sizeof(struct nvv_state));
        return *ret ? 0 : -ENOMEM;
}

struct nvv_state *nvv_state_free(struct nvv_state *s)
{
        if (!s)
                return NULL;
        free(s->vgpus);
        free(s->definitions);
        free(s);
        return NULL;
}

/* Both lists are sorted by uuid; the position of uuid, or where it would go. */
#define DEFINE_SEARCH(name, type, array, count)                                         \
        static size_t name(const struct nvv_state *s, const char *uuid, bool *found)    \
        {                                                                               \
                size_t lo = 0, hi = s->count;                                           \
                                                                                        \
                *found = false;                                                         \
                while (lo < hi) {                                                       \
                        size_t mid = lo + (hi - lo) / 2;                                \
                        int c = strcmp(s->array[mid].uuid, uuid);                       \
                                                                                        \
                        if (c == 0) {                                                   \
                                *found = true;                                          \
                                return mid;                                             \
                        }                                                               \
                        if (c < 0)                                                      \
                                lo = mid + 1;                                           \
                        else                                                            \
                                hi = mid;                                               \
                }                                                                       \
                return lo;                                                              \
        }
DEFINE_SEARCH(vgpu_search, struct nvv_state_vgpu, vgpus, n_vgpus)
DEFINE_SEARCH(definition_search, struct nvv_state_definition, definitions, n_definitions)

int nvv_state_add_vgpu(struct nvv_state *s, const struct nvv_state_vgpu *v, char **reterr_msg)
{
        struct nvv_state_vgpu *nv;
        bool found;
        size_t at;
        int r;

        assert_return(s && v, -EINVAL);
        r = vgpu_check(v, reterr_msg);
        if (r < 0)
                return r;
        at = vgpu_search(s, v->uuid, &found);
        if (found)
                return nvv_fail_errno(-EEXIST, reterr_msg, "vGPU %s is recorded already", v->uuid);
        if (s->n_vgpus >= NVV_STATE_MAX_VGPUS)
                return nvv_fail_errno(-E2BIG, reterr_msg, "more than %d vGPUs", NVV_STATE_MAX_VGPUS);
        nv = reallocarray(s->vgpus, s->n_vgpus + 1, sizeof(*nv));
        if (!nv)
                return -ENOMEM;
        s->vgpus = nv;
        memmove(nv + at + 1, nv + at, (s->n_vgpus - at) * sizeof(*nv));
        nv[at] = *v;
        s->n_vgpus++;
        return 0;
}

int nvv_state_update_vgpu(struct nvv_state *s, const struct nvv_state_vgpu *v, char **reterr_msg)
{
        bool found;
        size_t at;
        int r;

        assert_return(s && v, -EINVAL);
        r = vgpu_check(v, reterr_msg);
        if (r < 0)
                return r;
        at = vgpu_search(s, v->uuid, &found);
        if (!found)
                return nvv_fail_errno(-ENOENT, reterr_msg, "vGPU %s is not recorded", v->uuid);
        s->vgpus[at] = *v;
        return 0;
}

int nvv_state_remove_vgpu(struct nvv_state *s, const char *uuid)
{
        bool found;
        size_t at;

        assert_return(s && uuid, -EINVAL);
        at = vgpu_search(s, uuid, &found);
        if (!found)
                return -ENOENT;
        memmove(s->vgpus + at, s->vgpus + at + 1, (s->n_vgpus - at - 1) * sizeof(*s->vgpus));
        s->n_vgpus--;
        return 0;
}

const struct nvv_state_vgpu *nvv_state_find_vgpu(const struct nvv_state *s, const char *uuid)
{
        bool found;
        size_t at;

        if (!s || !uuid)
                return NULL;
        at = vgpu_search(s, uuid, &found);
        return found ? &s->vgpus[at] : NULL;
}

int nvv_state_add_definition(struct nvv_state *s, const struct nvv_state_definition *d, char **reterr_msg)
{
        struct nvv_state_definition *nd;
        bool found;
        size_t at;
        int r;

        assert_return(s && d, -EINVAL);
        r = definition_check(d, reterr_msg);
        if (r < 0)
                return r;
        at = definition_search(s, d->uuid, &found);
        if (found)
                return nvv_fail_errno(-EEXIST, reterr_msg, "definition %s exists already", d->uuid);
        if (s->n_definitions >= NVV_STATE_MAX_DEFINITIONS)
                return nvv_fail_errno(-E2BIG, reterr_msg, "more than %d definitions", NVV_STATE_MAX_DEFINITIONS);
        nd = reallocarray(s->definitions, s->n_definitions + 1, sizeof(*nd));
        if (!nd)
                return -ENOMEM;
        s->definitions = nd;
        memmove(nd + at + 1, nd + at, (s->n_definitions - at) * sizeof(*nd));
        nd[at] = *d;
        s->n_definitions++;
        return 0;
}

int nvv_state_remove_definition(struct nvv_state *s, const char *uuid)
{
        bool found;
        size_t at;

        assert_return(s && uuid, -EINVAL);
        at = definition_search(s, uuid, &found);
        if (!found)
                return -ENOENT;
        memmove(s->definitions + at, s->definitions + at + 1,
                (s->n_definitions - at - 1) * sizeof(*s->definitions));
        s->n_definitions--;
        return 0;
}

const struct nvv_state_definition *nvv_state_find_definition(const struct nvv_state *s, const char *uuid)
{
        bool found;
        size_t at;

        if (!s || !uuid)
                return NULL;
        at = definition_search(s, uuid, &found);
        return found ? &s->definitions[at] : NULL;
}

/* ---- to and from the managed GPU ---- */

int nvv_state_vgpu_to_known(const struct nvv_state_vgpu *v, struct nvv_pgpu_known *ret)
{
        assert_return(v && ret, -EINVAL);
        if (vgpu_check(v, NULL) < 0)
                return -EINVAL;
        *ret = (struct nvv_pgpu_known) {
                .place = {
                        .vgpu_id = v->vgpu_id,
                        .type_id = v->type_id,
                        .placement_id = v->placement_id,
                        .fb_offset = v->fb_offset,
                        .fb_length = v->fb_length,
                        .chid_offset = v->chid_offset,
                        .chid_count = v->chid_count,
                },
                .gfid = v->gfid,
                .host_handle = v->host_handle,
                .starting = v->state == NVV_STATE_VGPU_STARTING,
        };
        snprintf(ret->place.name, sizeof(ret->place.name), "%s", v->uuid);
        return 0;
}

int nvv_state_vgpu_from_pgpu(const char *gpu, const struct nvv_pgpu_vgpu *pv, const char *type_name,
                             struct nvv_state_vgpu *ret, char **reterr_msg)
{
        struct nvv_state_vgpu v = {};

        assert_return(gpu && pv && ret, -EINVAL);
        if (!type_name)
                type_name = pv->type ? pv->type->short_name : NULL;
        if (!type_name)
                return nvv_fail(reterr_msg, "vGPU %s: type %u has no name in the catalog", pv->name, pv->type_id);
        if (pv->state != NVV_VGPU_CREATED && pv->state != NVV_VGPU_RUNNING)
                return nvv_fail(reterr_msg, "vGPU %s is %s, neither created nor running", pv->name,
                                nvv_vgpu_state_to_string(pv->state) ?: "in an unknown state");
        if (strlen(pv->name) >= sizeof(v.uuid) || strlen(gpu) >= sizeof(v.gpu) ||
            strlen(type_name) >= sizeof(v.type_name))
                return nvv_fail(reterr_msg, "vGPU %s: a name too long for the state store", pv->name);
        strcpy(v.uuid, pv->name);
        strcpy(v.gpu, gpu);
        strcpy(v.type_name, type_name);
        v.type_id = pv->type_id;
        /* The model's id, never 0: pv->vgpu_id is 0 on releases where the firmware has none yet,
         * but adopt re-inserts the placement with the model's. */
        v.vgpu_id = pv->place.vgpu_id;
        v.placement_id = pv->place.placement_id;
        v.fb_offset = pv->place.fb_offset;
        v.fb_length = pv->place.fb_length;
        v.chid_offset = pv->place.chid_offset;
        v.chid_count = pv->place.chid_count;
        v.state = pv->state == NVV_VGPU_RUNNING ? NVV_STATE_VGPU_RUNNING : NVV_STATE_VGPU_CREATED;
        v.gfid = v.state == NVV_STATE_VGPU_RUNNING ? pv->gfid : 0;
        *ret = v;
        return vgpu_check(&v, reterr_msg);
}

/* ---- the document ---- */

static int json_add(json_object *o, const char *key, json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* An empty optional field is written as null (json-c's null is a NULL member). */
static int json_add_opt(json_object *o, const char *key, const char *s)
{
        if (!s[0])
                return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
        return json_add(o, key, json_object_new_string(s));
}

static json_object *vgpu_to_json(const struct nvv_state_vgpu *v)
{
        _cleanup_json_ json_object *o = json_object_new_object();
        int r = 0;

        if (!o)
                return NULL;
        /* The order a person reads it in: identity, placement, run state. */
        r = r ?: json_add(o, "uuid", json_object_new_string(v->uuid));
        r = r ?: json_add(o, "gpu", json_object_new_string(v->gpu));
        r = r ?: json_add(o, "type", json_object_new_string(v->type_name));
        r = r ?: json_add(o, "type_id", json_object_new_int64(v->type_id));
        r = r ?: json_add(o, "vgpu_id", json_object_new_int64(v->vgpu_id));
        if (v->placement_id == NVV_PLACEMENT_NONE)
                r = r ?: (json_object_object_add(o, "placement_id", NULL) < 0 ? -ENOMEM : 0);
        else
                r = r ?: json_add(o, "placement_id", json_object_new_int64(v->placement_id));
        r = r ?: json_add(o, "fb_offset", json_object_new_int64((int64_t) v->fb_offset));
        r = r ?: json_add(o, "fb_length", json_object_new_int64((int64_t) v->fb_length));
        r = r ?: json_add(o, "chid_offset", json_object_new_int64(v->chid_offset));
        r = r ?: json_add(o, "chid_count", json_object_new_int64(v->chid_count));
        r = r ?: json_add(o, "state", json_object_new_string(nvv_state_vgpu_state_to_string(v->state)));
        r = r ?: json_add(o, "gfid", json_object_new_int64(v->gfid));
        r = r ?: json_add(o, "host_handle", json_object_new_int64(v->host_handle));
        r = r ?: json_add_opt(o, "vm", v->vm_name);
        r = r ?: json_add_opt(o, "vm_uuid", v->vm_uuid);
        if (v->on_demand)
                r = r ?: json_add(o, "on_demand", json_object_new_boolean(true));
        return r < 0 ? NULL : TAKE_PTR(o);
}

static json_object *definition_to_json(const struct nvv_state_definition *d)
{
        _cleanup_json_ json_object *o = json_object_new_object();
        int r = 0;

        if (!o)
                return NULL;
        r = r ?: json_add(o, "uuid", json_object_new_string(d->uuid));
        r = r ?: json_add(o, "type", json_object_new_string(d->type_name));
        r = r ?: json_add_opt(o, "gpu", d->gpu);
        r = r ?: json_add_opt(o, "vm", d->vm_name);
        r = r ?: json_add(o, "autostart", json_object_new_boolean(d->autostart));
        if (d->mdevctl)
                r = r ?: json_add(o, "mdevctl", json_object_new_boolean(true));
        return r < 0 ? NULL : TAKE_PTR(o);
}

int nvv_state_format(const struct nvv_state *s, char **ret_text)
{
        _cleanup_json_ json_object *root = NULL;
        json_object *vgpus, *defs;
        const char *text;
        int r = 0;

        assert_return(s && ret_text, -EINVAL);
        root = json_object_new_object();
        vgpus = json_object_new_array();
        defs = json_object_new_array();
        if (!root || !vgpus || !defs) {
                json_object_put(vgpus);
                json_object_put(defs);
                return -ENOMEM;
        }
        r = r ?: json_add(root, "format", json_object_new_string(NVV_STATE_FORMAT));
        r = r ?: json_add(root, "version", json_object_new_int(NVV_STATE_VERSION));
        if (r < 0 || json_add(root, "vgpus", vgpus) < 0 || json_add(root, "definitions", defs) < 0) {
                if (!json_object_object_get_ex(root, "vgpus", NULL))
                        json_object_put(vgpus);
                if (!json_object_object_get_ex(root, "definitions", NULL))
                        json_object_put(defs);
                return -ENOMEM;
        }
        for (size_t i = 0; i < s->n_vgpus; i++) {
                json_object *o = vgpu_to_json(&s->vgpus[i]);

                if (!o || json_object_array_add(vgpus, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        for (size_t i = 0; i < s->n_definitions; i++) {
                json_object *o = definition_to_json(&s->definitions[i]);

                if (!o || json_object_array_add(defs, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text || asprintf(ret_text, "%s\n", text) < 0)
                return -ENOMEM;
        return 0;
}

/* A required string member, checked by valid (NULL: any), copied into a bounded field. */
static int get_text(struct nvv_json *j, json_object *obj, const char *key, bool required, size_t size,
                    bool (*valid)(const char *), const char *what, char *out)
{
        json_object *o;
        const char *s;
        size_t old;
        int r;

        out[0] = '\0';
        r = nvv_json_member(j, obj, key, required, &o);
        if (r < 0 || !o)
                return r;
        old = nvv_json_push(j, key);
        r = nvv_json_get_string(j, o, size - 1, &s);
        if (r >= 0 && valid && !valid(s))
                r = nvv_json_fail(j, "'%.80s%s' is not %s", s, strlen(s) > 80 ? "..." : "", what);
        if (r >= 0)
                memcpy(out, s, strlen(s) + 1);
        nvv_json_pop(j, old);
        return r;
}

static int get_u64(struct nvv_json *j, json_object *obj, const char *key, uint64_t max, uint64_t *ret)
{
        json_object *o;
        size_t old;
        int r;

        r = nvv_json_member(j, obj, key, true, &o);
        if (r < 0)
                return r;
        old = nvv_json_push(j, key);
        r = nvv_json_get_u64(j, o, max, ret);
        nvv_json_pop(j, old);
        return r;
}

static int get_u32(struct nvv_json *j, json_object *obj, const char *key, uint32_t *ret)
{
        uint64_t v;
        int r = get_u64(j, obj, key, UINT32_MAX, &v);

        if (r >= 0)
                *ret = (uint32_t) v;
        return r;
}

static const char *const vgpu_keys[] = {
        "uuid", "gpu", "type", "type_id", "vgpu_id", "placement_id", "fb_offset", "fb_length",
        "chid_offset", "chid_count", "state", "gfid", "host_handle", "vm", "vm_uuid", "on_demand", NULL,
};

static int vgpu_from_json(struct nvv_json *j, json_object *o, struct nvv_state_vgpu *v)
{
        json_object *p = NULL;
        const char *st;
        size_t old;
        int r;

        *v = (struct nvv_state_vgpu) {};
        r = nvv_json_get_object(j, o);
        r = r ?: nvv_json_check_keys(j, o, vgpu_keys);
        r = r ?: get_text(j, o, "uuid", true, sizeof(v->uuid), nvv_state_vgpu_name_valid,
                          "a UUID in lowercase canonical form, or a VF's PCI address", v->uuid);
        r = r ?: get_text(j, o, "gpu", true, sizeof(v->gpu), nvv_state_bdf_valid,
                          "a PCI address like 0000:41:00.0", v->gpu);
        r = r ?: get_text(j, o, "type", true, sizeof(v->type_name), nvv_state_type_name_valid,
                          "a type name like L40S-8Q", v->type_name);
        r = r ?: get_u32(j, o, "type_id", &v->type_id);
        r = r ?: get_u32(j, o, "vgpu_id", &v->vgpu_id);
        if (r < 0)
                return r;
        /* null: first-fit (NVV_PLACEMENT_NONE), which the file does not spell as a number. */
        if (!json_object_object_get_ex(o, "placement_id", &p))
                return nvv_json_fail(j, "missing required key 'placement_id'");
        if (p) {
                uint64_t id;

                old = nvv_json_push(j, "placement_id");
                r = nvv_json_get_u64(j, p, NVV_PLACEMENT_NONE - 1, &id);
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
                v->placement_id = (uint32_t) id;
        } else
                v->placement_id = NVV_PLACEMENT_NONE;
        r = r ?: get_u64(j, o, "fb_offset", INT64_MAX, &v->fb_offset);
        r = r ?: get_u64(j, o, "fb_length", INT64_MAX, &v->fb_length);
        r = r ?: get_u32(j, o, "chid_offset", &v->chid_offset);
        r = r ?: get_u32(j, o, "chid_count", &v->chid_count);
        r = r ?: get_u32(j, o, "gfid", &v->gfid);
        r = r ?: get_u32(j, o, "host_handle", &v->host_handle);
        r = r ?: get_text(j, o, "vm", false, sizeof(v->vm_name), nvv_state_vm_name_valid,
                          "1 to 255 printable ASCII characters", v->vm_name);
        r = r ?: get_text(j, o, "vm_uuid", false, sizeof(v->vm_uuid), nvv_state_uuid_valid,
                          "a UUID in lowercase canonical form", v->vm_uuid);
        if (r < 0)
                return r;
        {
                json_object *od = NULL;

                r = nvv_json_member(j, o, "on_demand", false, &od);
                if (r >= 0 && od) {
                        size_t o2 = nvv_json_push(j, "on_demand");

                        r = nvv_json_get_bool(j, od, &v->on_demand);
                        nvv_json_pop(j, o2);
                }
                if (r >= 0 && v->on_demand && !v->vm_name[0])
                        r = nvv_json_fail(j, "on_demand: a vGPU made on demand is made for a VM (vm)");
                if (r < 0)
                        return r;
        }
        r = nvv_json_member(j, o, "state", true, &p);
        if (r < 0)
                return r;
        old = nvv_json_push(j, "state");
        r = nvv_json_get_string(j, p, 16, &st);
        if (r >= 0) {
                v->state = nvv_state_vgpu_state_from_string(st);
                if (v->state < 0)
                        r = nvv_json_fail(j, "'%s' is not \"created\", \"running\", \"creating\", \"destroying\" "
                                          "or \"starting\"", st);
        }
        nvv_json_pop(j, old);
        if (r < 0)
                return r;
        if (!has_vf(v->state) && (v->gfid || v->host_handle))
                return nvv_json_fail(j, "neither running nor starting but gfid %u, host_handle %u", v->gfid,
                                     v->host_handle);
        if (has_vf(v->state) && v->gfid == 0)
                return nvv_json_fail(j, "%s but gfid 0", nvv_state_vgpu_state_to_string(v->state));
        if (v->state == NVV_STATE_VGPU_STARTING && v->host_handle == 0)
                return nvv_json_fail(j, "starting but host_handle 0");
        return 0;
}

static const char *const definition_keys[] = { "uuid", "type", "gpu", "vm", "autostart", "mdevctl", NULL };

static int definition_from_json(struct nvv_json *j, json_object *o, struct nvv_state_definition *d)
{
        json_object *a;
        size_t old;
        int r;

        *d = (struct nvv_state_definition) {};
        r = nvv_json_get_object(j, o);
        r = r ?: nvv_json_check_keys(j, o, definition_keys);
        r = r ?: get_text(j, o, "uuid", true, sizeof(d->uuid), nvv_state_uuid_valid,
                          "a UUID in lowercase canonical form", d->uuid);
        r = r ?: get_text(j, o, "type", true, sizeof(d->type_name), nvv_state_type_name_valid,
                          "a type name like L40S-8Q", d->type_name);
        r = r ?: get_text(j, o, "gpu", false, sizeof(d->gpu), nvv_state_bdf_valid,
                          "a PCI address like 0000:41:00.0", d->gpu);
        r = r ?: get_text(j, o, "vm", false, sizeof(d->vm_name), nvv_state_vm_name_valid,
                          "1 to 255 printable ASCII characters", d->vm_name);
        r = r ?: nvv_json_member(j, o, "autostart", true, &a);
        if (r < 0)
                return r;
        old = nvv_json_push(j, "autostart");
        r = nvv_json_get_bool(j, a, &d->autostart);
        nvv_json_pop(j, old);
        r = r ?: nvv_json_member(j, o, "mdevctl", false, &a);
        if (r >= 0 && a) {
                old = nvv_json_push(j, "mdevctl");
                r = nvv_json_get_bool(j, a, &d->mdevctl);
                nvv_json_pop(j, old);
                if (r >= 0 && d->mdevctl && !d->gpu[0])
                        r = nvv_json_fail(j, "a definition shared with mdevctl names its GPU");
        }
        return r;
}

static const char *const top_keys[] = { "format", "version", "vgpus", "definitions", NULL };

int nvv_state_parse(const char *data, size_t size, const char *name, struct nvv_state **ret, char **reterr_msg)
{
        _cleanup_(nvv_state_freep) struct nvv_state *s = NULL;
        _cleanup_json_ json_object *root = NULL;
        struct nvv_json j = { .file = name, .err = reterr_msg };
        json_object *o, *list;
        const char *format;
        uint64_t version;
        size_t n, old;
        int r;

        assert_return(data && ret, -EINVAL);
        r = nvv_json_parse(&j, data, size, NVV_STATE_MAX_FILE_SIZE, &root);
        if (r < 0)
                return r;
        r = nvv_json_get_object(&j, root);
        if (r < 0)
                return r;
        /* The format and version first: a newer version may have anything else. */
        r = nvv_json_member(&j, root, "format", true, &o);
        if (r < 0)
                return r;
        old = nvv_json_push(&j, "format");
        r = nvv_json_get_string(&j, o, 64, &format);
        if (r >= 0 && !streq(format, NVV_STATE_FORMAT))
                r = nvv_json_fail(&j, "'%s' is not \"%s\": not an nvvgpu state file", format, NVV_STATE_FORMAT);
        nvv_json_pop(&j, old);
        if (r < 0)
                return r;
        r = get_u64(&j, root, "version", INT64_MAX, &version);
        if (r < 0)
                return r;
        if (version == 0) {
                old = nvv_json_push(&j, "version");
                r = nvv_json_fail(&j, "0 is not a version (they start at 1)");
                nvv_json_pop(&j, old);
                return r;
        }
        if (version > NVV_STATE_VERSION) {
                old = nvv_json_push(&j, "version");
                nvv_json_fail(&j, "version %" PRIu64 " was written by a newer nvvgpu; this one reads version %d "
                              "and will not guess (upgrade nvvgpu, or move the file away to rebuild)",
                              version, NVV_STATE_VERSION);
                nvv_json_pop(&j, old);
                return -EPROTONOSUPPORT;
        }
        r = nvv_json_check_keys(&j, root, top_keys);
        if (r < 0)
                return r;
        r = nvv_state_new(&s);
        if (r < 0)
                return r;

        r = nvv_json_member(&j, root, "vgpus", true, &list);
        if (r < 0)
                return r;
        old = nvv_json_push(&j, "vgpus");
        r = nvv_json_get_array(&j, list, NVV_STATE_MAX_VGPUS, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct nvv_state_vgpu v;
                size_t old2 = nvv_json_push_index(&j, i);

                r = vgpu_from_json(&j, json_object_array_get_idx(list, i), &v);
                if (r >= 0) {
                        r = nvv_state_add_vgpu(s, &v, NULL);
                        if (r == -EEXIST)
                                r = nvv_json_fail(&j, "vGPU %s is listed twice", v.uuid);
                        else if (r < 0 && r != -ENOMEM)
                                r = nvv_json_fail(&j, "not a valid vGPU"); /* the getters checked each field */
                }
                nvv_json_pop(&j, old2);
        }
        nvv_json_pop(&j, old);
        if (r < 0)
                return r;

        r = nvv_json_member(&j, root, "definitions", true, &list);
        if (r < 0)
                return r;
        old = nvv_json_push(&j, "definitions");
        r = nvv_json_get_array(&j, list, NVV_STATE_MAX_DEFINITIONS, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct nvv_state_definition d;
                size_t old2 = nvv_json_push_index(&j, i);

                r = definition_from_json(&j, json_object_array_get_idx(list, i), &d);
                if (r >= 0) {
                        r = nvv_state_add_definition(s, &d, NULL);
                        if (r == -EEXIST)
                                r = nvv_json_fail(&j, "definition %s is listed twice", d.uuid);
                        else if (r < 0 && r != -ENOMEM)
                                r = nvv_json_fail(&j, "not a valid definition");
                }
                nvv_json_pop(&j, old2);
        }
        nvv_json_pop(&j, old);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- files ---- */

static int open_dir(const char *dir, char **reterr_msg)
{
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return nvv_fail_errno(-errno, reterr_msg, "state directory %s: %s", dir, strerror(errno));
        return fd;
}

enum { REMOVE_TEMP = 1, REMOVE_OLD = 2 };

/* REMOVE_TEMP: temporary files of saves that were killed midway; REMOVE_OLD: the second
 * names unsynced saves left (nvv_state_reap). Nothing else in the directory is touched. */
static int remove_temp_files(int dfd, const char *dir, int what, unsigned *ret_removed, char **reterr_msg)
{
        DIR *d;
        struct dirent *de;
        int fd, r = 0;

        fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return nvv_fail_errno(-errno, reterr_msg, "%s: %s", dir, strerror(errno));
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                close(fd);
                return nvv_fail_errno(r, reterr_msg, "%s: %s", dir, strerror(-r));
        }
        rewinddir(d);
        while ((errno = 0, de = readdir(d))) {
                if (!((what & REMOVE_TEMP) && startswith(de->d_name, TEMP_PREFIX)) &&
                    !((what & REMOVE_OLD) && startswith(de->d_name, OLD_PREFIX)))
                        continue;
                if (unlinkat(dfd, de->d_name, 0) < 0) {
                        if (errno == ENOENT)
                                continue;
                        r = nvv_fail_errno(-errno, reterr_msg, "%s/%s: cannot remove a leftover temporary file: %s",
                                           dir, de->d_name, strerror(errno));
                        break;
                }
                if (ret_removed)
                        (*ret_removed)++;
        }
        if (r == 0 && errno != 0)
                r = nvv_fail_errno(-errno, reterr_msg, "%s: %s", dir, strerror(errno));
        closedir(d);
        return r;
}

/* The save steps as the test seam names them. */
static int save_step(enum atomic_write_step st, void *userdata)
{
        static const enum nvv_state_save_step map[] = {
                [ATOMIC_WRITE_OPEN] = NVV_STATE_SAVE_OPEN,     [ATOMIC_WRITE_WRITE] = NVV_STATE_SAVE_WRITE,
                [ATOMIC_WRITE_FSYNC] = NVV_STATE_SAVE_FSYNC,   [ATOMIC_WRITE_RENAME] = NVV_STATE_SAVE_RENAME,
                [ATOMIC_WRITE_FSYNC_DIR] = NVV_STATE_SAVE_FSYNC_DIR,
        };

        return hook(map[st]);
}

static int state_save(const struct nvv_state *s, const char *dir, bool sync, char **reterr_msg)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int dfd = -EBADF;
        const char *step = "";
        int r;

        assert_return(s && dir, -EINVAL);
        r = nvv_state_format(s, &text);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s/%s: cannot format the state: %s", dir, NVV_STATE_FILE,
                                      strerror(-r));
        if (strlen(text) > NVV_STATE_MAX_FILE_SIZE)
                return nvv_fail_errno(-EFBIG, reterr_msg, "%s/%s: the state is larger than %u bytes", dir,
                                      NVV_STATE_FILE, NVV_STATE_MAX_FILE_SIZE);
        dfd = open_dir(dir, reterr_msg);
        if (dfd < 0)
                return dfd;

        r = hook(NVV_STATE_SAVE_CLEAN);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s: removing leftover temporary files: %s", dir, strerror(-r));
        r = remove_temp_files(dfd, dir, REMOVE_TEMP, NULL, reterr_msg);
        if (r < 0)
                return r;
        /* An unsynced save (they come in bursts: a VM start makes three) leaves the file it
         * replaces a second name, so that freeing its blocks is not part of the save: on some
         * disks that is a synchronous discard, some 0.3 ms. nvv_state_reap() frees them. A
         * link that cannot be made only means the save frees the old file itself. */
        if (!sync) {
                static unsigned seq;
                char old[sizeof(OLD_PREFIX) + 32];

                snprintf(old, sizeof(old), "%s%d-%u", OLD_PREFIX, (int) getpid(), __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
                (void) linkat(dfd, NVV_STATE_FILE, dfd, old, 0);
        }

        r = sync ? write_file_atomic_at(dfd, NVV_STATE_FILE, TEMP_PREFIX, text, strlen(text), 0600, save_step, NULL, &step)
                 : write_file_replace_at(dfd, NVV_STATE_FILE, TEMP_PREFIX, text, strlen(text), 0600, &step);
        if (r < 0 && streq(step, "creating"))
                return nvv_fail_errno(r, reterr_msg, "%s: cannot create a temporary file: %s", dir, strerror(-r));
        if (r < 0 && streq(step, "syncing the directory"))
                return nvv_fail_errno(r, reterr_msg, "%s: syncing the directory after writing %s failed: %s; "
                                      "the new state may not survive a crash", dir, NVV_STATE_FILE, strerror(-r));
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s/%s: %s the new state failed: %s; the previous state is kept",
                                      dir, NVV_STATE_FILE, step, strerror(-r));
        (void) hook(NVV_STATE_SAVE_DONE);
        return 0;
}

int nvv_state_save(const struct nvv_state *s, const char *dir, char **reterr_msg)
{
        return state_save(s, dir, true, reterr_msg);
}

int nvv_state_save_nosync(const struct nvv_state *s, const char *dir, char **reterr_msg)
{
        return state_save(s, dir, false, reterr_msg);
}

int nvv_state_reap(const char *dir, char **reterr_msg)
{
        _cleanup_close_ int dfd = -EBADF;

        assert_return(dir, -EINVAL);
        dfd = open_dir(dir, reterr_msg);
        if (dfd < 0)
                return dfd;
        return remove_temp_files(dfd, dir, REMOVE_OLD, NULL, reterr_msg);
}

int nvv_state_dir_prepare(const char *dir, char **reterr_msg)
{
        struct stat st;

        assert_return(dir, -EINVAL);
        if (!dir[0])
                return nvv_fail(reterr_msg, "the state directory is an empty path");
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return nvv_fail_errno(-errno, reterr_msg, "cannot create state directory %s: %s", dir, strerror(errno));
        if (stat(dir, &st) < 0)
                return nvv_fail_errno(-errno, reterr_msg, "state directory %s: %s", dir, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return nvv_fail_errno(-ENOTDIR, reterr_msg, "state directory %s is not a directory", dir);
        if (st.st_mode & S_IWOTH)
                return nvv_fail_errno(-EPERM, reterr_msg,
                                      "state directory %s is writable by everyone (mode %04o); refusing to keep state there",
                                      dir, (unsigned) (st.st_mode & 07777));
        return 0;
}

/* Move the unusable file out of the way under a name no other file has. */
static int keep_aside(int dfd, const char *dir, char *ret_path, size_t ret_len, char **reterr_msg)
{
        char stamp[32], name[sizeof(CORRUPT_PREFIX) + 48];
        time_t now = time(NULL);
        struct tm tm;

        if (!gmtime_r(&now, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
                snprintf(stamp, sizeof(stamp), "%lld", (long long) now);
        for (unsigned i = 0; i < 1000; i++) {
                if (i == 0)
                        snprintf(name, sizeof(name), "%s%s", CORRUPT_PREFIX, stamp);
                else
                        snprintf(name, sizeof(name), "%s%s.%u", CORRUPT_PREFIX, stamp, i);
                /* link + unlink: never replaces a file kept aside before (rename would). */
                if (linkat(dfd, NVV_STATE_FILE, dfd, name, 0) < 0) {
                        if (errno == EEXIST)
                                continue;
                        return nvv_fail_errno(-errno, reterr_msg, "%s/%s is not a usable state and cannot be kept aside "
                                              "as %s: %s", dir, NVV_STATE_FILE, name, strerror(errno));
                }
                if (unlinkat(dfd, NVV_STATE_FILE, 0) < 0)
                        return nvv_fail_errno(-errno, reterr_msg, "%s/%s: removing it after keeping it as %s: %s", dir,
                                              NVV_STATE_FILE, name, strerror(errno));
                (void) fsync(dfd);
                snprintf(ret_path, ret_len, "%s/%s", dir, name);
                return 0;
        }
        return nvv_fail_errno(-EEXIST, reterr_msg, "%s/%s: too many files kept aside at %s", dir, NVV_STATE_FILE, stamp);
}

int nvv_state_load(const char *dir, struct nvv_state **ret, struct nvv_state_load_info *ret_info,
                   char **reterr_msg)
{
        _cleanup_(nvv_state_freep) struct nvv_state *s = NULL;
        _cleanup_free_ char *data = NULL, *why = NULL, *path = NULL;
        _cleanup_close_ int dfd = -EBADF;
        struct nvv_state_load_info info = {};
        bool too_big;
        size_t size = 0;
        int r;

        assert_return(dir && ret, -EINVAL);
        if (asprintf(&path, "%s/%s", dir, NVV_STATE_FILE) < 0)
                return -ENOMEM;
        dfd = open_dir(dir, reterr_msg);
        if (dfd < 0)
                return dfd;
        r = remove_temp_files(dfd, dir, REMOVE_TEMP | REMOVE_OLD, &info.temp_removed, reterr_msg);
        if (r < 0)
                return r;

        r = read_full_file_at(dfd, NVV_STATE_FILE, O_NOFOLLOW, NVV_STATE_MAX_FILE_SIZE, &data, &size);
        too_big = r == -EFBIG;
        if (too_big)
                r = 0;
        if (r == -ENOENT) {
                info.missing = true;
                r = nvv_state_new(&s);
                if (r < 0)
                        return r;
                goto done;
        }
        if (r == -ELOOP)
                return nvv_fail_errno(r, reterr_msg, "%s: is a symbolic link; refusing to follow it", path);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s: %s", path, read_full_file_strerror(r));

        if (too_big)
                r = nvv_fail(&why, "%s: larger than %u bytes", path, NVV_STATE_MAX_FILE_SIZE);
        else
                r = nvv_state_parse(data, size, path, &s, &why);
        if (r == -EPROTONOSUPPORT || r == -ENOMEM) {
                if (reterr_msg) {
                        free(*reterr_msg);
                        *reterr_msg = TAKE_PTR(why);
                }
                return r;
        }
        if (r < 0) {
                r = keep_aside(dfd, dir, info.kept_as, sizeof(info.kept_as), reterr_msg);
                if (r < 0)
                        return r;
                info.rebuilt = true;
                r = nvv_state_new(&s);
                if (r < 0)
                        return r;
                nvv_fail(reterr_msg, "%s; kept as %s; starting from an empty state, to be rebuilt from the "
                         "firmware and sysfs", why ? why : path, info.kept_as);
        }
done:
        if (ret_info)
                *ret_info = info;
        *ret = TAKE_PTR(s);
        return 0;
}
