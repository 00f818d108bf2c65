/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "nvv-catalog.h"
#include "nvv-json.h"
#include "nvv-marshal.h"
#include "util.h"

#define MIB (UINT64_C(1024) * 1024)

struct nvv_catalog {
        size_t n;
        struct nvv_catalog_gpu **gpus;
};

int nvv_catalog_new(struct nvv_catalog **ret)
{
        assert_return(ret, -EINVAL);
        *ret = calloc(1, sizeof(struct nvv_catalog));
        return *ret ? 0 : -ENOMEM;
}

static struct nvv_catalog_gpu *gpu_free(struct nvv_catalog_gpu *g)
{
        if (!g)
                return NULL;
        for (size_t i = 0; i < g->n_types; i++) {
                free(g->types[i].name);
                free(g->types[i].class_name);
        }
        free(g->types);
        free(g->id);
        free(g->model);
        free(g->short_name);
        free(g->architecture);
        free(g->memory);
        free(g->path);
        free(g);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_catalog_gpu *, gpu_free);

struct nvv_catalog *nvv_catalog_free(struct nvv_catalog *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n; i++)
                gpu_free(c->gpus[i]);
        free(c->gpus);
        free(c);
        return NULL;
}

/* ---- provenance ---- */

static const char *const prov_kinds[] = { "source", "derived", "unverified", NULL };

/* {"source"|"derived"|"unverified": "non-empty text"} with exactly one of them. */
static int check_prov_object(struct nvv_json *j, json_object *o, bool with_value)
{
        unsigned found = 0;

        json_object_object_foreach(o, k, v) {
                bool known = streq(k, "comment") || (with_value && streq(k, "value"));

                for (size_t i = 0; prov_kinds[i]; i++)
                        if (streq(k, prov_kinds[i])) {
                                const char *s;
                                size_t old = nvv_json_push(j, k);
                                int r = nvv_json_get_string(j, v, 4096, &s);

                                nvv_json_pop(j, old);
                                if (r < 0)
                                        return r;
                                found++;
                                known = true;
                        }
                if (!known)
                        return nvv_json_fail(j, "unknown key '%s'", k);
        }
        if (found == 0)
                return nvv_json_fail(j, "no provenance: give \"source\", \"derived\" (with the rule) or \"unverified\"");
        if (found > 1)
                return nvv_json_fail(j, "more than one of \"source\", \"derived\", \"unverified\"");
        return 0;
}

/* A GPU-level value: always {"value": X, provenance}. */
static int gpu_value(struct nvv_json *j, json_object *root, const char *key, json_object **ret)
{
        json_object *o, *v;
        size_t old;
        int r;

        r = nvv_json_member(j, root, key, true, &o);
        if (r < 0)
                return r;
        old = nvv_json_push(j, key);
        if (!json_object_is_type(o, json_type_object)) {
                r = nvv_json_fail(j, "expected {\"value\": ..., \"source\"|\"derived\"|\"unverified\": ...}");
                goto out;
        }
        r = check_prov_object(j, o, true);
        if (r < 0)
                goto out;
        r = nvv_json_member(j, o, "value", true, &v);
        if (r < 0)
                goto out;
        *ret = v;
out:
        nvv_json_pop(j, old);
        return r;
}

/* ---- one GPU file ---- */

struct parse {
        struct nvv_json j;
        json_object *type_prov;
        struct nvv_catalog_gpu *g;
};

static const char *const type_keys[] = {
        "type_id", "name", "series", "class", "profile_mib", "fb_length_mib", "gsp_heap_mib",
        "fb_reservation_mib", "max_instance", "mixed_max_instance", "heads", "max_resolution", "frl", "cuda",
        "ecc_supported", "placement_size", "homogeneous_placement_ids",
        "heterogeneous_placement_ids", NULL
};

/* A per-type value: bare (covered by type_provenance) or inline {"value", provenance}. */
static int type_value(struct parse *p, json_object *t, const char *key, json_object **ret)
{
        struct nvv_json *j = &p->j;
        json_object *o, *v = NULL;
        size_t old;
        int r;

        r = nvv_json_member(j, t, key, true, &o);
        if (r < 0)
                return r;
        old = nvv_json_push(j, key);
        if (json_object_is_type(o, json_type_object)) {
                r = check_prov_object(j, o, true);
                if (r >= 0)
                        r = nvv_json_member(j, o, "value", true, &v);
        } else {
                json_object *pv = NULL;

                if (!p->type_prov || !json_object_object_get_ex(p->type_prov, key, &pv) || !pv)
                        r = nvv_json_fail(j, "no provenance: add type_provenance.%s or give "
                                          "{\"value\": ..., \"source\"|\"derived\": ...}", key);
                else
                        v = o;
        }
        nvv_json_pop(j, old);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

static int type_u32(struct parse *p, json_object *t, const char *key, uint32_t max, uint32_t *ret)
{
        json_object *v;
        size_t old;
        int r;

        r = type_value(p, t, key, &v);
        if (r < 0)
                return r;
        old = nvv_json_push(&p->j, key);
        r = nvv_json_get_u32(&p->j, v, max, ret);
        nvv_json_pop(&p->j, old);
        return r;
}

static int type_mib(struct parse *p, json_object *t, const char *key, uint64_t *ret)
{
        uint32_t v;
        int r;

        r = type_u32(p, t, key, 16u * 1024u * 1024u, &v);
        if (r < 0)
                return r;
        *ret = (uint64_t) v * MIB;
        return 0;
}

static int type_bool(struct parse *p, json_object *t, const char *key, bool *ret)
{
        json_object *v;
        size_t old;
        int r;

        r = type_value(p, t, key, &v);
        if (r < 0)
                return r;
        old = nvv_json_push(&p->j, key);
        r = nvv_json_get_bool(&p->j, v, ret);
        nvv_json_pop(&p->j, old);
        return r;
}

static int type_string(struct parse *p, json_object *t, const char *key, const char **ret)
{
        json_object *v;
        size_t old;
        int r;

        r = type_value(p, t, key, &v);
        if (r < 0)
                return r;
        old = nvv_json_push(&p->j, key);
        r = nvv_json_get_string(&p->j, v, NVV_CATALOG_NAME_MAX, ret);
        nvv_json_pop(&p->j, old);
        return r;
}

static int type_ids(struct parse *p, json_object *t, const char *key, uint32_t *ids, uint32_t *ret_n)
{
        struct nvv_json *j = &p->j;
        json_object *v;
        size_t n, old;
        int r;

        r = type_value(p, t, key, &v);
        if (r < 0)
                return r;
        old = nvv_json_push(j, key);
        r = nvv_json_get_array(j, v, NVV_MAX_PLACEMENTS, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                size_t o2 = nvv_json_push_index(j, i);

                r = nvv_json_get_u32(j, json_object_array_get_idx(v, i), NVV_CATALOG_MAX_UNITS - 1, &ids[i]);
                if (r >= 0 && i > 0 && ids[i] <= ids[i - 1])
                        r = nvv_json_fail(j, "placement ids must be ascending and unique");
                nvv_json_pop(j, o2);
        }
        nvv_json_pop(j, old);
        if (r < 0)
                return r;
        *ret_n = (uint32_t) n;
        return 0;
}

static int parse_resolution(const char *s, uint32_t *x, uint32_t *y)
{
        _cleanup_free_ char *a = strdup(s);
        char *sep;

        if (!a)
                return -ENOMEM;
        sep = strchr(a, 'x');
        if (!sep)
                return -EINVAL;
        *sep = '\0';
        if (safe_atou32(a, x) < 0 || safe_atou32(sep + 1, y) < 0 || *x == 0 || *y == 0 ||
            *x > 65536 || *y > 65536 || a[0] == '0' || sep[1] == '0')
                return -EINVAL;
        return 0;
}

static bool pci_id_same(const struct nvv_catalog_pci_id *a, const struct nvv_catalog_pci_id *b)
{
        return a->vendor == b->vendor && a->device == b->device && a->has_subsystem == b->has_subsystem &&
               (!a->has_subsystem ||
                (a->subsystem_vendor == b->subsystem_vendor && a->subsystem_device == b->subsystem_device));
}

/* "NVIDIA L40S-8Q": the part after the vendor prefix, and its size and series. */
static const char *name_short(const char *name)
{
        const char *sp = strrchr(name, ' ');

        return sp ? sp + 1 : name;
}

static int parse_type(struct parse *p, json_object *t, struct nvv_catalog_type *ct)
{
        struct nvv_catalog_gpu *g = p->g;
        struct nvv_json *j = &p->j;
        const char *name, *series, *cls, *res, *sn, *dash;
        uint32_t gib;
        uint64_t slot_max;
        int r;

        r = nvv_json_get_object(j, t);
        if (r < 0)
                return r;
        r = nvv_json_check_keys(j, t, type_keys);
        if (r < 0)
                return r;
        if ((r = type_u32(p, t, "type_id", UINT32_MAX, &ct->type_id)) < 0 ||
            (r = type_string(p, t, "name", &name)) < 0 ||
            (r = type_string(p, t, "series", &series)) < 0 ||
            (r = type_string(p, t, "class", &cls)) < 0 ||
            (r = type_mib(p, t, "profile_mib", &ct->profile_size)) < 0 ||
            (r = type_mib(p, t, "fb_length_mib", &ct->fb_length)) < 0 ||
            (r = type_mib(p, t, "gsp_heap_mib", &ct->gsp_heap_size)) < 0 ||
            (r = type_mib(p, t, "fb_reservation_mib", &ct->fb_reservation)) < 0 ||
            (r = type_u32(p, t, "max_instance", NVV_MAX_VGPUS, &ct->max_instance)) < 0 ||
            (r = type_u32(p, t, "mixed_max_instance", NVV_MAX_VGPUS, &ct->mixed_max_instance)) < 0 ||
            (r = type_u32(p, t, "heads", 16, &ct->num_heads)) < 0 ||
            (r = type_string(p, t, "max_resolution", &res)) < 0 ||
            (r = type_u32(p, t, "frl", 1000, &ct->frl)) < 0 ||
            (r = type_bool(p, t, "cuda", &ct->cuda)) < 0 ||
            (r = type_bool(p, t, "ecc_supported", &ct->ecc_supported)) < 0 ||
            (r = type_u32(p, t, "placement_size", NVV_CATALOG_MAX_UNITS, &ct->placement_size)) < 0 ||
            (r = type_ids(p, t, "homogeneous_placement_ids", ct->homogeneous, &ct->n_homogeneous)) < 0 ||
            (r = type_ids(p, t, "heterogeneous_placement_ids", ct->heterogeneous, &ct->n_heterogeneous)) < 0)
                return r;

#define FAIL_AT(key, ...)                                       \
        ({                                                      \
                size_t _o = nvv_json_push(j, key);              \
                int _r = nvv_json_fail(j, __VA_ARGS__);         \
                nvv_json_pop(j, _o);                            \
                _r;                                             \
        })
        if (strlen(series) != 1 || !strchr("QBAC", series[0]))
                return FAIL_AT("series", "'%s' is not a series letter (Q, B, A or C)", series);
        ct->series = series[0];
        if (parse_resolution(res, &ct->max_res_x, &ct->max_res_y) < 0)
                return FAIL_AT("max_resolution", "'%s' is not WIDTHxHEIGHT", res);

        /* The name says the GPU, the size and the series: they must agree with the values. */
        sn = name_short(name);
        if (!startswith(sn, g->short_name))
                return FAIL_AT("name", "'%s' is not a type of the %s", name, g->short_name);
        dash = strrchr(sn, '-');
        if (!dash || dash == sn || sscanf(dash + 1, "%" SCNu32, &gib) != 1 ||
            strlen(dash + 1) < 2 || dash[strlen(dash) - 1] != ct->series)
                return FAIL_AT("name", "'%s' does not end in -<GiB><series> with series %c", name, ct->series);
        {
                char expect[32];

                snprintf(expect, sizeof(expect), "%" PRIu32 "%c", gib, ct->series);
                if (!streq(dash + 1, expect))
                        return FAIL_AT("name", "'%s' does not end in -<GiB><series>", name);
        }
        if ((uint64_t) gib * 1024 * MIB != ct->profile_size)
                return FAIL_AT("profile_mib", "%" PRIu64 " contradicts the name '%s' (%" PRIu32 " GiB)",
                               ct->profile_size / MIB, name, gib);
        if (ct->fb_length == 0 || ct->fb_length % g->vmmu_segment)
                return FAIL_AT("fb_length_mib", "%" PRIu64 " is not a positive multiple of the VMMU segment (%" PRIu64 " MiB)",
                               ct->fb_length / MIB, g->vmmu_segment / MIB);
        if (ct->fb_length > ct->profile_size)
                return FAIL_AT("fb_length_mib", "%" PRIu64 " is larger than the profile (%" PRIu64 " MiB)",
                               ct->fb_length / MIB, ct->profile_size / MIB);
        if (ct->fb_reservation < ct->gsp_heap_size)
                return FAIL_AT("fb_reservation_mib", "smaller than gsp_heap_mib: the plugin heap lives in the reservation");
        if (ct->gsp_heap_size == 0)
                return FAIL_AT("gsp_heap_mib", "must not be 0");
        if (ct->placement_size == 0 || ct->placement_size > g->placement_units)
                return FAIL_AT("placement_size", "must be 1..%" PRIu32 " (placement_units)", g->placement_units);
        if (ct->max_instance == 0)
                return FAIL_AT("max_instance", "must not be 0");
        if (ct->max_instance > g->num_vfs)
                return FAIL_AT("max_instance", "%" PRIu32 " is more than the GPU's %" PRIu32 " VFs",
                               ct->max_instance, g->num_vfs);
        if ((uint64_t) ct->max_instance * ct->placement_size > g->placement_units)
                return FAIL_AT("max_instance", "%" PRIu32 " x placement_size %" PRIu32 " is more than %" PRIu32 " placement units",
                               ct->max_instance, ct->placement_size, g->placement_units);
        /* Upper bound of a slot: no GSP heap at all. */
        slot_max = (g->fb_total - g->fb_reserved) / g->placement_units * ct->placement_size;
        if (ALIGN_UP(ct->fb_length, g->vmmu_segment) + ALIGN_UP(ct->fb_reservation, g->vmmu_segment) > slot_max)
                return FAIL_AT("fb_length_mib", "%" PRIu64 " MiB plus the reservation does not fit %" PRIu32 " placement units (%" PRIu64 " MiB)",
                               ct->fb_length / MIB, ct->placement_size, slot_max / MIB);
        if (ct->n_homogeneous < ct->max_instance)
                return FAIL_AT("homogeneous_placement_ids", "%" PRIu32 " ids cannot hold max_instance %" PRIu32,
                               ct->n_homogeneous, ct->max_instance);
        if (ct->n_heterogeneous > 0 && !g->mixed_size)
                return FAIL_AT("heterogeneous_placement_ids", "given, but the GPU has no mixed-size mode (mixed_size is false)");
        if (g->mixed_size && ct->n_heterogeneous == 0)
                return FAIL_AT("heterogeneous_placement_ids", "empty, but the GPU has mixed-size mode");
        /* The firmware learns the mixed-size maximum from the list alone (doc/firmware-model.md
         * §3): the list must hold exactly that many vGPUs side by side. */
        if (!g->mixed_size && ct->mixed_max_instance != 0)
                return FAIL_AT("mixed_max_instance", "%" PRIu32 ", but the GPU has no mixed-size mode (must be 0)",
                               ct->mixed_max_instance);
        if (g->mixed_size && (ct->mixed_max_instance == 0 || ct->mixed_max_instance > ct->max_instance))
                return FAIL_AT("mixed_max_instance", "%" PRIu32 " is not 1..max_instance (%" PRIu32 ")",
                               ct->mixed_max_instance, ct->max_instance);
        if (g->mixed_size && ct->n_heterogeneous != ct->mixed_max_instance)
                return FAIL_AT("heterogeneous_placement_ids", "%" PRIu32 " ids, but mixed_max_instance is %" PRIu32,
                               ct->n_heterogeneous, ct->mixed_max_instance);
        for (int pass = 0; pass < 2; pass++) {
                const uint32_t *ids = pass ? ct->heterogeneous : ct->homogeneous;
                uint32_t n = pass ? ct->n_heterogeneous : ct->n_homogeneous;
                const char *key = pass ? "heterogeneous_placement_ids" : "homogeneous_placement_ids";

                for (uint32_t i = 0; i < n; i++) {
                        if (ids[i] + ct->placement_size > g->placement_units)
                                return FAIL_AT(key, "placement %" PRIu32 " + size %" PRIu32 " runs past %" PRIu32 " units",
                                               ids[i], ct->placement_size, g->placement_units);
                        if (i > 0 && ids[i] < ids[i - 1] + ct->placement_size)
                                return FAIL_AT(key, "placements %" PRIu32 " and %" PRIu32 " overlap: the vGPUs must fit side by side",
                                               ids[i - 1], ids[i]);
                }
        }
#undef FAIL_AT
        ct->name = strdup(name);
        ct->class_name = strdup(cls);
        if (!ct->name || !ct->class_name)
                return -ENOMEM;
        ct->short_name = name_short(ct->name);
        return 0;
}

static int get_gpu_string(struct nvv_json *j, json_object *root, const char *key, char **ret)
{
        json_object *v;
        const char *s;
        size_t old;
        int r;

        r = gpu_value(j, root, key, &v);
        if (r < 0)
                return r;
        old = nvv_json_push(j, key);
        r = nvv_json_get_string(j, v, 128, &s);
        nvv_json_pop(j, old);
        if (r < 0)
                return r;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int get_gpu_u32(struct nvv_json *j, json_object *root, const char *key, uint32_t max, uint32_t *ret)
{
        json_object *v;
        size_t old;
        int r;

        r = gpu_value(j, root, key, &v);
        if (r < 0)
                return r;
        old = nvv_json_push(j, key);
        r = nvv_json_get_u32(j, v, max, ret);
        nvv_json_pop(j, old);
        return r;
}

static int get_gpu_bool(struct nvv_json *j, json_object *root, const char *key, bool *ret)
{
        json_object *v;
        size_t old;
        int r;

        r = gpu_value(j, root, key, &v);
        if (r < 0)
                return r;
        old = nvv_json_push(j, key);
        r = nvv_json_get_bool(j, v, ret);
        nvv_json_pop(j, old);
        return r;
}

static const char *const gpu_keys[] = {
        "format", "id", "model", "short_name", "architecture", "pci_ids", "memory", "fb_total_mib",
        "fb_reserved_mib", "ecc_fb_divisor", "vmmu_segment_mib", "placement_units", "sriov",
        "num_vfs", "total_chids", "mixed_size", "type_provenance", "types", NULL
};

static int parse_gpu(struct parse *p, json_object *root)
{
        struct nvv_json *j = &p->j;
        struct nvv_catalog_gpu *g = p->g;
        json_object *o, *types;
        const char *s;
        uint32_t v, fb_total, fb_reserved;
        size_t n, old;
        int r;

        r = nvv_json_get_object(j, root);
        if (r < 0)
                return r;
        r = nvv_json_check_keys(j, root, gpu_keys);
        if (r < 0)
                return r;
        r = nvv_json_member(j, root, "format", true, &o);
        if (r < 0)
                return r;
        old = nvv_json_push(j, "format");
        r = nvv_json_get_string(j, o, 64, &s);
        if (r >= 0 && !streq(s, "nvvgpu-gpu/1"))
                r = nvv_json_fail(j, "'%s' is not a format this program reads (nvvgpu-gpu/1)", s);
        nvv_json_pop(j, old);
        if (r < 0)
                return r;
        r = nvv_json_member(j, root, "id", true, &o);
        if (r < 0)
                return r;
        old = nvv_json_push(j, "id");
        r = nvv_json_get_string(j, o, 32, &s);
        for (const char *c = s; r >= 0 && *c; c++)
                if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-", *c))
                        r = nvv_json_fail(j, "'%s' is not a lower-case id ([a-z0-9-])", s);
        nvv_json_pop(j, old);
        if (r < 0)
                return r;
        g->id = strdup(s);
        if (!g->id)
                return -ENOMEM;
        if ((r = get_gpu_string(j, root, "model", &g->model)) < 0 ||
            (r = get_gpu_string(j, root, "short_name", &g->short_name)) < 0 ||
            (r = get_gpu_string(j, root, "architecture", &g->architecture)) < 0 ||
            (r = get_gpu_string(j, root, "memory", &g->memory)) < 0 ||
            (r = get_gpu_u32(j, root, "fb_total_mib", 4u * 1024u * 1024u, &fb_total)) < 0 ||
            (r = get_gpu_u32(j, root, "fb_reserved_mib", 4u * 1024u * 1024u, &fb_reserved)) < 0 ||
            (r = get_gpu_u32(j, root, "ecc_fb_divisor", 1024, &g->ecc_fb_divisor)) < 0 ||
            (r = get_gpu_u32(j, root, "vmmu_segment_mib", 512, &v)) < 0 ||
            (r = get_gpu_u32(j, root, "placement_units", NVV_CATALOG_MAX_UNITS, &g->placement_units)) < 0 ||
            (r = get_gpu_bool(j, root, "sriov", &g->sriov)) < 0 ||
            (r = get_gpu_u32(j, root, "num_vfs", NVV_MAX_VGPUS, &g->num_vfs)) < 0 ||
            (r = get_gpu_u32(j, root, "total_chids", 1u << 20, &g->total_chids)) < 0 ||
            (r = get_gpu_bool(j, root, "mixed_size", &g->mixed_size)) < 0)
                return r;
        for (const char *c = g->short_name; *c; c++)
                if (*c == ' ' || *c == ',' || *c == '*' || *c == ':')
                        return nvv_json_fail(j, "short_name: '%s' must not contain spaces, ',', '*' or ':'", g->short_name);
        if (v != 32 && v != 64 && v != 128 && v != 256 && v != 512)
                return nvv_json_fail(j, "vmmu_segment_mib: %" PRIu32 " is not 32, 64, 128, 256 or 512", v);
        g->vmmu_segment = (uint64_t) v * MIB;
        g->fb_total = (uint64_t) fb_total * MIB;
        g->fb_reserved = (uint64_t) fb_reserved * MIB;
        if (g->fb_reserved >= g->fb_total)
                return nvv_json_fail(j, "fb_reserved_mib: %" PRIu32 " leaves nothing of fb_total_mib %" PRIu32, fb_reserved, fb_total);
        if (g->placement_units == 0)
                return nvv_json_fail(j, "placement_units: must not be 0");
        if (g->num_vfs == 0)
                return nvv_json_fail(j, "num_vfs: must not be 0");
        if (g->total_chids < g->num_vfs)
                return nvv_json_fail(j, "total_chids: %" PRIu32 " is fewer than one per VF (%" PRIu32 ")", g->total_chids, g->num_vfs);
        if ((g->fb_total - g->fb_reserved) / g->placement_units < g->vmmu_segment)
                return nvv_json_fail(j, "placement_units: %" PRIu32 " units are smaller than one VMMU segment", g->placement_units);

        /* PCI ids: ["10de:26b9", "10de:25b6:10de:14a9" (with the subsystem), ...] */
        r = gpu_value(j, root, "pci_ids", &o);
        if (r < 0)
                return r;
        old = nvv_json_push(j, "pci_ids");
        r = nvv_json_get_array(j, o, NVV_CATALOG_MAX_PCI_IDS, &n);
        if (r >= 0 && n == 0)
                r = nvv_json_fail(j, "must list at least one id");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                size_t o2 = nvv_json_push_index(j, i);
                unsigned ven, dev, sven = 0, sdev = 0;
                int used = 0;

                r = nvv_json_get_string(j, json_object_array_get_idx(o, i), 19, &s);
                if (r >= 0 && !(strlen(s) == 9 ? sscanf(s, "%4x:%4x%n", &ven, &dev, &used) == 2 && used == 9
                                               : strlen(s) == 19 && strspn(s, "0123456789abcdef:") == 19 &&
                                                         sscanf(s, "%4x:%4x:%4x:%4x%n", &ven, &dev, &sven, &sdev, &used) == 4 &&
                                                         used == 19))
                        r = nvv_json_fail(j, "'%s' is not vvvv:dddd or vvvv:dddd:ssvv:ssdd", s);
                else if (r >= 0 && ven != 0x10de)
                        r = nvv_json_fail(j, "'%s' is not an NVIDIA id (10de)", s);
                if (r >= 0) {
                        g->pci[i] = (struct nvv_catalog_pci_id) {
                                .vendor = (uint16_t) ven, .device = (uint16_t) dev,
                                .has_subsystem = strlen(s) == 19,
                                .subsystem_vendor = (uint16_t) sven, .subsystem_device = (uint16_t) sdev,
                        };
                        for (size_t k = 0; k < i; k++)
                                if (pci_id_same(&g->pci[k], &g->pci[i]))
                                        r = nvv_json_fail(j, "'%s' listed twice", s);
                }
                nvv_json_pop(j, o2);
        }
        nvv_json_pop(j, old);
        if (r < 0)
                return r;
        g->n_pci = n;

        /* type_provenance: field -> provenance */
        r = nvv_json_member(j, root, "type_provenance", false, &p->type_prov);
        if (r < 0)
                return r;
        if (p->type_prov) {
                old = nvv_json_push(j, "type_provenance");
                r = nvv_json_get_object(j, p->type_prov);
                if (r >= 0)
                        r = nvv_json_check_keys(j, p->type_prov, type_keys);
                json_object_object_foreach(p->type_prov, k, pv) {
                        size_t o2;

                        if (r < 0)
                                break;
                        o2 = nvv_json_push(j, k);
                        r = nvv_json_get_object(j, pv);
                        if (r >= 0)
                                r = check_prov_object(j, pv, false);
                        nvv_json_pop(j, o2);
                }
                nvv_json_pop(j, old);
                if (r < 0)
                        return r;
        }

        r = nvv_json_member(j, root, "types", true, &types);
        if (r < 0)
                return r;
        old = nvv_json_push(j, "types");
        r = nvv_json_get_array(j, types, NVV_CATALOG_MAX_TYPES, &n);
        if (r >= 0 && n == 0)
                r = nvv_json_fail(j, "no vGPU types");
        if (r >= 0) {
                g->types = calloc(n, sizeof(struct nvv_catalog_type));
                if (!g->types)
                        r = -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && i < n; i++) {
                size_t o2 = nvv_json_push_index(j, i);
                struct nvv_catalog_type *ct = &g->types[i];

                r = parse_type(p, json_object_array_get_idx(types, i), ct);
                g->n_types = i + 1; /* freed from here on */
                ct->gpu = g;
                for (size_t k = 0; r >= 0 && k < i; k++) {
                        if (g->types[k].type_id == ct->type_id)
                                r = nvv_json_fail(j, "type_id %" PRIu32 " is also types[%zu]", ct->type_id, k);
                        else if (strcasecmp(g->types[k].short_name, ct->short_name) == 0)
                                r = nvv_json_fail(j, "name '%s' is also types[%zu]", ct->name, k);
                }
                nvv_json_pop(j, o2);
        }
        nvv_json_pop(j, old);
        return r;
}

int nvv_catalog_load_buffer(struct nvv_catalog *c, const char *data, size_t size, const char *name,
                            char **reterr_msg)
{
        _cleanup_(gpu_freep) struct nvv_catalog_gpu *g = NULL;
        _cleanup_json_ json_object *root = NULL;
        struct parse p = { .j = { .file = name ? name : "<buffer>", .err = reterr_msg } };
        struct nvv_catalog_gpu **ng;
        int r;

        assert_return(c && data, -EINVAL);
        if (c->n >= NVV_CATALOG_MAX_GPUS)
                return nvv_json_fail(&p.j, "more than %u GPU models", NVV_CATALOG_MAX_GPUS);
        r = nvv_json_parse(&p.j, data, size, NVV_CATALOG_MAX_FILE_SIZE, &root);
        if (r < 0)
                return r;
        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        p.g = g;
        r = parse_gpu(&p, root);
        if (r < 0)
                return r;
        /* Contradictions with the models already known. */
        for (size_t i = 0; i < c->n; i++) {
                const struct nvv_catalog_gpu *o = c->gpus[i];

                if (streq(o->id, g->id))
                        return nvv_json_fail(&p.j, "id: '%s' is also defined by %s", g->id, o->path ? o->path : o->id);
                if (strcasecmp(o->short_name, g->short_name) == 0)
                        return nvv_json_fail(&p.j, "short_name: '%s' is also the short name in %s", g->short_name,
                                             o->path ? o->path : o->id);
                for (size_t a = 0; a < g->n_pci; a++)
                        for (size_t b = 0; b < o->n_pci; b++)
                                if (pci_id_same(&g->pci[a], &o->pci[b]))
                                        return nvv_json_fail(&p.j, "pci_ids: 10de:%04x%s is also the %s (%s)",
                                                             g->pci[a].device,
                                                             g->pci[a].has_subsystem ? " (same subsystem)" : "",
                                                             o->model, o->path ? o->path : o->id);
                for (size_t a = 0; a < g->n_types; a++)
                        for (size_t b = 0; b < o->n_types; b++)
                                if (strcasecmp(g->types[a].short_name, o->types[b].short_name) == 0)
                                        return nvv_json_fail(&p.j, "types[%zu].name: '%s' is also a type of the %s",
                                                             a, g->types[a].short_name, o->model);
        }
        if (name) {
                g->path = strdup(name);
                if (!g->path)
                        return -ENOMEM;
        }
        ng = realloc(c->gpus, (c->n + 1) * sizeof(*ng));
        if (!ng)
                return -ENOMEM;
        c->gpus = ng;
        c->gpus[c->n++] = TAKE_PTR(g);
        return 0;
}

int nvv_catalog_load_file(struct nvv_catalog *c, const char *path, char **reterr_msg)
{
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        assert_return(c && path, -EINVAL);
        r = read_full_file(path, NVV_CATALOG_MAX_FILE_SIZE, &data, &size);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s: %s", path, read_full_file_strerror(r));
        return nvv_catalog_load_buffer(c, data, size, path, reterr_msg);
}

int nvv_catalog_load_dir(struct nvv_catalog *c, const char *dir, char **reterr_msg)
{
        _cleanup_strv_free_ char **files = NULL;
        size_t before, n;
        int r = 0;

        assert_return(c && dir, -EINVAL);
        r = nvv_dir_list(dir, NULL, ".json", 1024, &files);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s: %s", dir, r == -E2BIG ? "more than 1024 GPU descriptions" : strerror(-r));
        n = strv_length(files);
        before = c->n;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "%s/%s", dir, files[i]) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = nvv_catalog_load_file(c, path, reterr_msg);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                while (c->n > before)
                        gpu_free(c->gpus[--c->n]);
                return r;
        }
        if (n == 0)
                return nvv_fail_errno(-ENOENT, reterr_msg, "%s: no GPU descriptions (*.json)", dir);
        return 0;
}

const char *nvv_catalog_default_dir(void)
{
        const char *e = secure_getenv("NVVGPU_GPUS_DIR");

        return e && *e ? e : NVV_GPUS_DIR;
}

int nvv_catalog_load_default(struct nvv_catalog *c, char **reterr_msg)
{
        return nvv_catalog_load_dir(c, nvv_catalog_default_dir(), reterr_msg);
}

size_t nvv_catalog_count(const struct nvv_catalog *c)
{
        return c ? c->n : 0;
}

const struct nvv_catalog_gpu *nvv_catalog_get(const struct nvv_catalog *c, size_t i)
{
        return c && i < c->n ? c->gpus[i] : NULL;
}

const struct nvv_catalog_gpu *nvv_catalog_find_pci(const struct nvv_catalog *c, uint16_t vendor,
                                                   uint16_t device, uint16_t subsystem_vendor,
                                                   uint16_t subsystem_device)
{
        const struct nvv_catalog_gpu *any = NULL;

        /* An entry naming the subsystem matches only that board and wins over one that does
         * not (one device id, several boards: the A2 and the A16 are both 25b6). */
        for (size_t i = 0; c && i < c->n; i++)
                for (size_t k = 0; k < c->gpus[i]->n_pci; k++) {
                        const struct nvv_catalog_pci_id *id = &c->gpus[i]->pci[k];

                        if (id->vendor != vendor || id->device != device)
                                continue;
                        if (!id->has_subsystem)
                                any = any ?: c->gpus[i];
                        else if (id->subsystem_vendor == subsystem_vendor &&
                                 id->subsystem_device == subsystem_device)
                                return c->gpus[i];
                }
        return any;
}

const struct nvv_catalog_gpu *nvv_catalog_find_gpu(const struct nvv_catalog *c, const char *name)
{
        for (size_t i = 0; c && name && i < c->n; i++)
                if (strcasecmp(c->gpus[i]->short_name, name) == 0 || strcasecmp(c->gpus[i]->id, name) == 0)
                        return c->gpus[i];
        return NULL;
}

const struct nvv_catalog_type *nvv_catalog_gpu_find_type(const struct nvv_catalog_gpu *g,
                                                         const char *name)
{
        uint32_t id;
        bool numeric;

        if (!g || !name)
                return NULL;
        numeric = safe_atou32(name, &id) >= 0 && name[0] != '0';
        for (size_t i = 0; i < g->n_types; i++) {
                const struct nvv_catalog_type *t = &g->types[i];

                if (numeric ? t->type_id == id
                            : strcasecmp(t->name, name) == 0 || strcasecmp(t->short_name, name) == 0)
                        return t;
        }
        return NULL;
}

const struct nvv_catalog_type *nvv_catalog_find_type(const struct nvv_catalog *c, const char *name)
{
        for (size_t i = 0; c && i < c->n; i++) {
                const struct nvv_catalog_type *t = nvv_catalog_gpu_find_type(c->gpus[i], name);

                if (t)
                        return t;
        }
        return NULL;
}

/* ---- sizing and the uploaded record ---- */

int nvv_catalog_gpu_sizing(const struct nvv_catalog_gpu *g, const struct nvv_fwabi *fw, bool ecc,
                           struct nvv_catalog_sizing *ret)
{
        struct nvv_catalog_sizing s = {};
        uint64_t heap;

        assert_return(g && fw && ret, -EINVAL);
        heap = fw->sizing.gsp_fw_heap_vgpu_mb * MIB;
        s.fb_total = g->fb_total;
        s.fb_reserved = heap + g->fb_reserved;
        if (s.fb_reserved >= s.fb_total)
                return -ERANGE;
        if (ecc && g->ecc_fb_divisor)
                s.fb_reserved += (s.fb_total - s.fb_reserved) / g->ecc_fb_divisor;
        s.usable = s.fb_total - s.fb_reserved;
        s.vmmu_segment = g->vmmu_segment;
        s.placement_units = g->placement_units;
        s.unit_size = s.usable / g->placement_units / g->vmmu_segment * g->vmmu_segment;
        if (s.unit_size == 0)
                return -ERANGE;
        s.num_vfs = g->num_vfs;
        s.total_chids = g->total_chids;
        s.max_vgpus = MIN(g->num_vfs, fw->sizing.max_vgpu_per_pgpu);
        *ret = s;
        return 0;
}

static int copy_name(char *dst, size_t dst_size, const char *src, uint32_t wire_size)
{
        size_t limit = dst_size;

        if (wire_size > 0 && wire_size < limit)
                limit = wire_size;
        if (strlen(src) + 1 > limit)
                return -ENAMETOOLONG;
        strcpy(dst, src);
        return 0;
}

static const char *licensed_product(char series)
{
        /* NVIDIA's product names per series (NVIDIA vGPU documentation). */
        switch (series) {
        case 'Q':
                return "NVIDIA RTX Virtual Workstation";
        case 'B':
                return "NVIDIA Virtual PC";
        case 'A':
                return "NVIDIA Virtual Applications";
        default:
                return "NVIDIA Virtual Compute Server";
        }
}

int nvv_catalog_fill_vgpu_type(const struct nvv_catalog_type *t, const struct nvv_fwabi *fw, bool ecc,
                               struct nvv_vgpu_type *ret)
{
        const struct nvv_catalog_gpu *g;
        const struct nvv_binding *add;
        struct nvv_catalog_sizing s;
        struct nvv_vgpu_type o = {};
        uint64_t slot, fb;
        uint32_t cap, strsz, homog_cap, heterog_cap;
        int r;

        assert_return(t && t->gpu && fw && ret, -EINVAL);
        g = t->gpu;
        if (ecc && !t->ecc_supported)
                return -EOPNOTSUPP;
        r = nvv_catalog_gpu_sizing(g, fw, ecc, &s);
        if (r < 0)
                return r;
        slot = (uint64_t) t->placement_size * s.unit_size;
        if (slot < ALIGN_UP(t->fb_reservation, s.vmmu_segment) + s.vmmu_segment)
                return -ERANGE;
        fb = (slot - ALIGN_UP(t->fb_reservation, s.vmmu_segment)) / s.vmmu_segment * s.vmmu_segment;
        o.fb_length = MIN(t->fb_length, fb);

        strsz = fw->sizing.vgpu_string_size;
        o.type_id = t->type_id;
        if ((r = copy_name(o.name, sizeof(o.name), t->name, strsz)) < 0 ||
            (r = copy_name(o.class_name, sizeof(o.class_name), t->class_name, strsz)) < 0 ||
            (r = copy_name(o.adapter_name, sizeof(o.adapter_name), g->model, 0)) < 0 ||
            (r = copy_name(o.short_gpu_name, sizeof(o.short_gpu_name), g->short_name, 0)) < 0 ||
            (r = copy_name(o.licensed_product_name, sizeof(o.licensed_product_name),
                           licensed_product(t->series), 0)) < 0)
                return r;
        cap = fw->sizing.max_vgpu_per_pgpu_non_mig ? fw->sizing.max_vgpu_per_pgpu_non_mig
                                                   : fw->sizing.max_vgpu_per_pgpu;
        o.max_instance = MIN(t->max_instance, cap);
        o.num_heads = t->num_heads;
        o.max_resolution_x = t->max_res_x;
        o.max_resolution_y = t->max_res_y;
        o.max_pixels = t->max_res_x * t->max_res_y;
        o.frl_config = t->frl;
        o.frl_enable = t->frl > 0;
        o.cuda_enabled = t->cuda;
        o.ecc_supported = t->ecc_supported;
        o.multi_vgpu_supported = 0;
        o.pdev_id = (uint64_t) g->pci[0].device << 16;
        o.profile_size = t->profile_size;
        o.gsp_heap_size = t->gsp_heap_size;
        o.fb_reservation = t->fb_reservation;
        o.encoder_capacity = 100;

        /* Placement ids only where the release binds them, as many as its arrays hold. A
         * release with one list binds it to the heterogeneous fields (mixed-size placements;
         * equal-size mode then has no ids: first-fit). */
        add = nvv_fwabi_command(fw, NVV_CMD_ADD_VGPU_TYPES);
        homog_cap = add ? nvv_wplan_field_count(add->plan, "types.homogeneous_placement_ids") : 0;
        heterog_cap = add ? nvv_wplan_field_count(add->plan, "types.heterogeneous_placement_ids") : 0;
        if (homog_cap > 0 || heterog_cap > 0)
                o.placement_size = t->placement_size;
        o.homogeneous_placement_count = MIN(MIN(t->n_homogeneous, homog_cap), o.max_instance);
        memcpy(o.homogeneous_placement_ids, t->homogeneous, o.homogeneous_placement_count * sizeof(uint32_t));
        o.heterogeneous_placement_count = MIN(t->n_heterogeneous, heterog_cap);
        memcpy(o.heterogeneous_placement_ids, t->heterogeneous, o.heterogeneous_placement_count * sizeof(uint32_t));
        o.max_instance_per_gi = 0;
        *ret = o;
        return 0;
}
