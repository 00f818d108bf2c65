/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The GPU catalog: the shipped files, provenance, contradictions, and the uploaded record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-catalog.h"
#include "nvv-fwabi.h"
#include "nvv-marshal.h"
#include "util.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

#include "datatest.h"

static const struct nvv_fwabi *release(const char *r)
{
        const struct nvv_fwabi *fw = nvv_fwdb_find(fwdb, r);

        assert_non_null(fw);
        return fw;
}

static void test_shipped(void **state)
{
        static const char *const models[] = { "T4", "A10", "A16", "A2", "A40", "L4", "L40S", "RTX6000-Ada", "H100", "H200", "RTX-PRO-6000" };
        const struct nvv_catalog_gpu *g;
        const struct nvv_catalog_type *t;

        assert_int_equal(nvv_catalog_count(catalog), ELEMENTSOF(models));
        for (size_t i = 0; i < ELEMENTSOF(models); i++)
                assert_non_null(nvv_catalog_find_gpu(catalog, models[i]));

        /* The H200 of the real capture. */
        g = nvv_catalog_find_pci(catalog, 0x10de, 0x2335, 0x10de, 0x18bf);
        assert_non_null(g);
        assert_string_equal(g->short_name, "H200");
        assert_int_equal(g->fb_total, 143771 * MIB);
        assert_int_equal(g->fb_reserved, 616 * MIB);
        assert_int_equal(g->ecc_fb_divisor, 0);
        assert_true(g->sriov);

        /* Real type ids from the reference (firmware-abi-facts §3.4). */
        t = nvv_catalog_find_type(catalog, "L40S-24Q");
        assert_non_null(t);
        assert_int_equal(t->type_id, 1155);
        assert_string_equal(t->name, "NVIDIA L40S-24Q");
        assert_int_equal(t->profile_size, 24 * GIB);
        assert_int_equal(t->max_instance, 2);
        assert_int_equal(t->series, 'Q');
        t = nvv_catalog_find_type(catalog, "nvidia rtx6000-ada-48q");
        assert_non_null(t);
        assert_int_equal(t->type_id, 950);
        t = nvv_catalog_find_type(catalog, "T4-16Q");
        assert_non_null(t);
        assert_int_equal(t->type_id, 234);
        assert_int_equal(t->max_instance, 1);
        assert_int_equal(nvv_catalog_find_type(catalog, "T4-1Q")->max_instance, 16);
        assert_int_equal(nvv_catalog_find_type(catalog, "A10-6Q")->max_instance, 4); /* cloudstack dump: 4 */
        assert_int_equal(nvv_catalog_find_type(catalog, "L40S-1Q")->max_instance, 32); /* the VF count */
        assert_int_equal(nvv_catalog_find_type(catalog, "A40-3Q")->max_instance, 16);
        assert_non_null(nvv_catalog_gpu_find_type(nvv_catalog_find_gpu(catalog, "l40s"), "1147"));
        assert_null(nvv_catalog_find_type(catalog, "L40S-7Q"));
        assert_null(nvv_catalog_find_pci(catalog, 0x10de, 0x1234, 0, 0));
}

/* One device id, two boards: the subsystem tells the A16 from the A2, and a 25b6 with a
 * subsystem no file names is no known model. A model listed without one matches any. */
static void test_pci_subsystem(void **state)
{
        const struct nvv_catalog_gpu *g;

        g = nvv_catalog_find_pci(catalog, 0x10de, 0x25b6, 0x10de, 0x14a9);
        assert_non_null(g);
        assert_string_equal(g->short_name, "A16");
        g = nvv_catalog_find_pci(catalog, 0x10de, 0x25b6, 0x10de, 0x157e);
        assert_non_null(g);
        assert_string_equal(g->short_name, "A2");
        assert_non_null(nvv_catalog_find_type(catalog, "A2-16Q"));
        assert_null(nvv_catalog_find_pci(catalog, 0x10de, 0x25b6, 0x10de, 0x1234));
        assert_null(nvv_catalog_find_pci(catalog, 0x10de, 0x25b6, 0, 0));
        g = nvv_catalog_find_pci(catalog, 0x10de, 0x26b9, 0x10de, 0x1851);
        assert_non_null(g);
        assert_string_equal(g->short_name, "L40S");
        assert_ptr_equal(nvv_catalog_find_pci(catalog, 0x10de, 0x26b9, 0, 0), g);
}

/* Current NVIDIA tables give every C-series type one display of at most 3840x2400. */
static void test_c_series_display(void **state)
{
        unsigned n = 0;

        for (size_t i = 0; i < nvv_catalog_count(catalog); i++) {
                const struct nvv_catalog_gpu *g = nvv_catalog_get(catalog, i);

                for (size_t k = 0; k < g->n_types; k++)
                        if (g->types[k].series == 'C') {
                                assert_int_equal(g->types[k].max_res_x, 3840);
                                assert_int_equal(g->types[k].max_res_y, 2400);
                                assert_int_equal(g->types[k].num_heads, 1);
                                n++;
                        }
        }
        assert_true(n > 40);
}

/* The per-vGPU reservation: plugin heap (16) + profile/16 + 16 + 128 / max vGPUs per GPU
 * (rounded up) + 28 MB compression on Turing (doc/firmware-model.md §1). */
static void test_reserved_fb(void **state)
{
        static const struct {
                const char *type;
                uint64_t mib;
        } cases[] = {
                { "T4-16Q", 16 + 1024 + 16 + 128 + 28 },
                { "T4-1Q", 16 + 64 + 16 + 8 + 28 },
                { "L40S-1Q", 16 + 64 + 16 + 4 },
                { "L40S-16Q", 16 + 1024 + 16 + 43 },  /* 128 / 3 rounded up */
                { "L40S-48Q", 16 + 3072 + 16 + 128 },
                { "H200X-141C", 16 + 9024 + 16 + 128 },
                { "H100-5C", 16 + 320 + 16 + 8 },
                { "H200X-28C", 16 + 1792 + 16 + 26 },   /* 128 / 5 rounded up */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const struct nvv_catalog_type *t = nvv_catalog_find_type(catalog, cases[i].type);

                assert_non_null(t);
                if (t->fb_reservation != cases[i].mib * MIB) {
                        fprintf(stderr, "%s: %" PRIu64 " MiB, expected %" PRIu64 "\n", cases[i].type,
                                t->fb_reservation / MIB, cases[i].mib);
                        fail();
                }
        }
}

/* NVIDIA's published mixed-size maxima (nvvgpu issue 7), and Ampere's mixed-size mode. */
static void test_published(void **state)
{
        static const struct {
                const char *type;
                uint32_t equal, mixed;
        } cases[] = {
                { "L40S-16C", 3, 2 }, { "L40S-8C", 6, 4 }, { "L40S-4C", 12, 8 },
                { "L40S-16Q", 3, 2 }, { "L40S-8B", 0, 0 }, { "L40S-4A", 12, 8 },
                { "RTX6000-Ada-16Q", 3, 2 }, { "RTX6000-Ada-8Q", 6, 4 }, { "RTX6000-Ada-4Q", 12, 8 },
                { "L4-8C", 3, 2 }, { "L4-4C", 6, 4 }, { "L4-8Q", 3, 2 }, { "L4-4A", 6, 4 },
                { "H100-16C", 5, 4 }, { "H100-8C", 10, 8 }, { "H100-4C", 20, 16 }, { "H100-5C", 16, 16 },
                { "H200X-28C", 5, 5 }, { "H200X-14C", 10, 10 }, { "H200X-7C", 20, 20 }, { "H200X-4C", 32, 32 },
                { "A10-4C", 6, 4 }, { "A40-16Q", 3, 2 }, { "T4-4C", 4, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const struct nvv_catalog_type *t = nvv_catalog_find_type(catalog, cases[i].type);

                if (cases[i].equal == 0) {
                        assert_null(t); /* no 8B on the L40S */
                        continue;
                }
                assert_non_null(t);
                assert_int_equal(t->max_instance, cases[i].equal);
                assert_int_equal(t->mixed_max_instance, cases[i].mixed);
                assert_int_equal(t->n_heterogeneous, cases[i].mixed);
        }
        assert_true(nvv_catalog_find_gpu(catalog, "A10")->mixed_size);
        assert_true(nvv_catalog_find_gpu(catalog, "A16")->mixed_size);
        assert_true(nvv_catalog_find_gpu(catalog, "A40")->mixed_size);
        assert_false(nvv_catalog_find_gpu(catalog, "T4")->mixed_size);
}

/* Every type of every model, under every release and ECC state, yields a record that fits. */
static void test_fill_all(void **state)
{
        for (size_t r = 0; r < nvv_fwdb_count(fwdb); r++) {
                const struct nvv_fwabi *fw = nvv_fwdb_get(fwdb, r);

                for (size_t m = 0; m < nvv_catalog_count(catalog); m++) {
                        const struct nvv_catalog_gpu *g = nvv_catalog_get(catalog, m);

                        for (int ecc = 0; ecc < 2; ecc++) {
                                struct nvv_catalog_sizing s;

                                assert_int_equal(nvv_catalog_gpu_sizing(g, fw, ecc, &s), 0);
                                assert_true(s.unit_size > 0 && s.unit_size % s.vmmu_segment == 0);
                                assert_true((uint64_t) s.unit_size * s.placement_units <= s.usable);
                                for (size_t i = 0; i < g->n_types; i++) {
                                        const struct nvv_catalog_type *t = &g->types[i];
                                        struct nvv_vgpu_type v;
                                        uint64_t slot = t->placement_size * s.unit_size;

                                        assert_int_equal(nvv_catalog_fill_vgpu_type(t, fw, ecc, &v), 0);
                                        assert_int_equal(v.type_id, t->type_id);
                                        assert_true(v.fb_length > 0 && v.fb_length <= t->fb_length);
                                        assert_true(v.fb_length % s.vmmu_segment == 0);
                                        /* guest FB + reservation (plugin heap inside) fit the slot */
                                        assert_true(v.fb_length + ALIGN_UP(v.fb_reservation, s.vmmu_segment) <= slot);
                                        assert_true(v.gsp_heap_size <= v.fb_reservation);
                                        assert_true(v.max_instance >= 1 && v.max_instance <= fw->sizing.max_vgpu_per_pgpu);
                                        assert_true(v.homogeneous_placement_count <= v.max_instance);
                                        assert_true(strlen(v.name) < fw->sizing.vgpu_string_size);
                                }
                        }
                }
        }
}

static void test_fill_per_release(void **state)
{
        const struct nvv_catalog_type *t = nvv_catalog_find_type(catalog, "L40S-1Q");
        const struct nvv_catalog_type *t24 = nvv_catalog_find_type(catalog, "L40S-24Q");
        struct nvv_vgpu_type v;

        /* 535: no placement fields on the wire: first-fit. */
        assert_int_equal(nvv_catalog_fill_vgpu_type(t, release("535.113.01"), false, &v), 0);
        assert_int_equal(v.placement_size, 0);
        assert_int_equal(v.homogeneous_placement_count, 0);
        assert_int_equal(v.heterogeneous_placement_count, 0);
        /* 550: one list, the mixed-size one (bound to our heterogeneous fields). */
        assert_int_equal(nvv_catalog_fill_vgpu_type(t24, release("550.40.07"), false, &v), 0);
        assert_int_equal(v.placement_size, 24);
        assert_int_equal(v.homogeneous_placement_count, 0);
        assert_int_equal(v.heterogeneous_placement_count, 2);
        assert_int_equal(v.heterogeneous_placement_ids[1], 24);
        /* 570: 32 entries per list. */
        assert_int_equal(nvv_catalog_fill_vgpu_type(t, release("570.144"), false, &v), 0);
        assert_int_equal(v.max_instance, 32);
        assert_int_equal(v.homogeneous_placement_count, 32);
        assert_int_equal(v.heterogeneous_placement_count, 32);
        assert_int_equal(v.homogeneous_placement_ids[31], 31);
        assert_int_equal(v.max_resolution_x, 5120);
        assert_string_equal(v.short_gpu_name, "L40S");
        assert_string_equal(v.licensed_product_name, "NVIDIA RTX Virtual Workstation");
}

/* The placements the catalog hands each release equal what that release's wire record
 * holds (the rule the fill followed when it read the wire struct itself): 550 carries one
 * list, bound to the mixed-size placements; 570 and later carry both (32, then 48 at 580). */
static uint32_t wire_elements(const struct nvv_fwabi *fw, const char *field)
{
        const struct nvv_wstruct *info = nvv_fwabi_find_struct(fw, "NVA081_CTRL_VGPU_INFO");
        const struct nvv_wfield *f = info ? nvv_wstruct_find_field(info, field) : NULL;

        return f ? f->count : 0;
}

static void test_fill_placements_as_wire(void **state)
{
        static const struct {
                const char *release;
                const char *homog, *heterog; /* wire arrays holding our two lists */
                uint32_t homog_n, heterog_n;
        } rel[] = {
                { "535.113.01", NULL, NULL, 0, 0 },
                { "550.40.07", NULL, "placementIds", 0, 32 },
                { "570.144", "homogeneousPlacementIds", "heterogeneousPlacementIds", 32, 32 },
                { "580.65.06", "homogeneousPlacementIds", "heterogeneousPlacementIds", 48, 48 },
                { "595.45.04", "homogeneousPlacementIds", "heterogeneousPlacementIds", 48, 48 },
        };
        size_t compared = 0;

        for (size_t r = 0; r < ELEMENTSOF(rel); r++) {
                const struct nvv_fwabi *fw = release(rel[r].release);
                uint32_t hcap = rel[r].homog ? wire_elements(fw, rel[r].homog) : 0;
                uint32_t xcap = rel[r].heterog ? wire_elements(fw, rel[r].heterog) : 0;

                assert_int_equal(hcap, rel[r].homog_n);
                assert_int_equal(xcap, rel[r].heterog_n);
                for (size_t m = 0; m < nvv_catalog_count(catalog); m++) {
                        const struct nvv_catalog_gpu *g = nvv_catalog_get(catalog, m);

                        for (size_t i = 0; i < g->n_types; i++) {
                                const struct nvv_catalog_type *t = &g->types[i];
                                struct nvv_vgpu_type v;
                                uint32_t hn, xn;

                                assert_int_equal(nvv_catalog_fill_vgpu_type(t, fw, false, &v), 0);
                                hn = MIN(MIN(t->n_homogeneous, hcap), v.max_instance);
                                xn = MIN(t->n_heterogeneous, xcap);
                                assert_int_equal(v.placement_size, hcap || xcap ? t->placement_size : 0);
                                assert_int_equal(v.homogeneous_placement_count, hn);
                                assert_int_equal(v.heterogeneous_placement_count, xn);
                                assert_memory_equal(v.homogeneous_placement_ids, t->homogeneous, hn * sizeof(uint32_t));
                                assert_memory_equal(v.heterogeneous_placement_ids, t->heterogeneous, xn * sizeof(uint32_t));
                                compared += hn + xn;
                        }
                }
        }
        assert_true(compared > 1000); /* the shipped catalog has placements to compare */
}

/* The query the fill asks: elements bound per stable field, looking into element bindings. */
static void test_plan_field_count(void **state)
{
        const struct nvv_binding *b550 = nvv_fwabi_command(release("550.40.07"), NVV_CMD_ADD_VGPU_TYPES);
        const struct nvv_binding *b595 = nvv_fwabi_command(release("595.45.04"), NVV_CMD_ADD_VGPU_TYPES);

        assert_non_null(b550);
        assert_non_null(b595);
        assert_int_equal(nvv_wplan_field_count(b550->plan, "types.homogeneous_placement_ids"), 0);
        assert_int_equal(nvv_wplan_field_count(b550->plan, "types.heterogeneous_placement_ids"), 32);
        assert_int_equal(nvv_wplan_field_count(b595->plan, "types.homogeneous_placement_ids"), 48);
        assert_int_equal(nvv_wplan_field_count(b595->plan, "types.heterogeneous_placement_ids"), 48);
        assert_int_equal(nvv_wplan_field_count(b595->plan, "types.name"), 64); /* bytes of text */
        assert_true(nvv_wplan_field_count(b595->plan, "types") > 0);
        assert_int_equal(nvv_wplan_field_count(b595->plan, "types.no_such_field"), 0);
        assert_int_equal(nvv_wplan_field_count(b595->plan, "discard.x"), 0); /* not a list of records */
        assert_int_equal(nvv_wplan_field_count(b595->plan, "typesx"), 0);
        assert_int_equal(nvv_wplan_field_count(NULL, "types"), 0);
}

static void test_fill_ecc(void **state)
{
        const struct nvv_catalog_type *a = nvv_catalog_find_type(catalog, "L40S-48Q");
        const struct nvv_catalog_type *h = nvv_catalog_find_type(catalog, "H200X-141C");
        const struct nvv_fwabi *fw = release("595.45.04");
        struct nvv_vgpu_type off, on;

        /* GDDR: ECC costs 1/16 of the FB. */
        assert_int_equal(nvv_catalog_fill_vgpu_type(a, fw, false, &off), 0);
        assert_int_equal(nvv_catalog_fill_vgpu_type(a, fw, true, &on), 0);
        assert_true(on.fb_length < off.fb_length);
        assert_true(off.fb_length - on.fb_length >= (48 * GIB) / 16 - 2 * GIB);
        /* HBM: no cost. */
        assert_int_equal(nvv_catalog_fill_vgpu_type(h, fw, false, &off), 0);
        assert_int_equal(nvv_catalog_fill_vgpu_type(h, fw, true, &on), 0);
        assert_int_equal(on.fb_length, off.fb_length);
}

static char *read_shipped(const char *name)
{
        char *path, *data = NULL;

        assert_true(asprintf(&path, "%s/%s", nvv_catalog_default_dir(), name) > 0);
        assert_int_equal(read_full_file(path, 1 << 20, &data, NULL), 0);
        free(path);
        return data;
}

/* Replace the first occurrence of `from` in the l40s file and load the result. */
static int load_mutated(const char *from, const char *to, char **msg)
{
        _cleanup_(nvv_catalog_freep) struct nvv_catalog *c = NULL;
        _cleanup_free_ char *data = read_shipped("l40s.json"), *out = NULL;
        char *at = strstr(data, from);

        if (!at)
                fail_msg("'%s' is not in l40s.json", from);
        assert_true(asprintf(&out, "%.*s%s%s", (int) (at - data), data, to, at + strlen(from)) > 0);
        assert_int_equal(nvv_catalog_new(&c), 0);
        return nvv_catalog_load_buffer(c, out, strlen(out), "l40s.json", msg);
}

static void expect_error(const char *from, const char *to, const char *message)
{
        _cleanup_free_ char *msg = NULL;

        assert_int_equal(load_mutated(from, to, &msg), -EINVAL);
        assert_non_null(msg);
        if (!strstr(msg, message)) {
                fprintf(stderr, "expected '%s' in '%s'\n", message, msg);
                fail();
        }
}

static void test_errors(void **state)
{
        _cleanup_free_ char *msg = NULL;

        /* The unmodified file loads. */
        assert_int_equal(load_mutated("\"L40S\"", "\"L40S\"", &msg), 0);
        /* Provenance is required. */
        expect_error("\"fb_total_mib\": {\n  \"value\": 49152,\n  \"derived\"", "\"fb_total_mib\": {\n  \"value\": 49152,\n  \"comment\"",
                     "l40s.json: fb_total_mib: no provenance");
        expect_error("\"fb_total_mib\": {\n  \"value\": 49152,\n  \"derived\": \"NVIDIA datasheet nominal 48 GB taken as GiB (x 1024 MiB); the firmware's own figure replaces it at run time\"\n },",
                     "\"fb_total_mib\": [49152],",
                     "l40s.json: fb_total_mib: expected {\"value\"");
        expect_error("\"type_provenance\": {\n  \"name\"", "\"type_provenance\": {\n  \"nom\"",
                     "l40s.json: type_provenance: unknown key 'nom'");
        expect_error("  \"heads\": {\n   \"derived\"", "  \"heads\": {\n   \"note\"", "type_provenance.heads: unknown key 'note'");
        /* Contradictions inside a type. */
        expect_error("\"name\": \"NVIDIA L40S-8Q\"", "\"name\": \"NVIDIA L40S-16Q\"",
                     "types[7].profile_mib: 8192 contradicts the name 'NVIDIA L40S-16Q' (16 GiB)");
        expect_error("\"name\": \"NVIDIA L40S-8Q\"", "\"name\": \"NVIDIA A40-8Q\"",
                     "types[7].name: 'NVIDIA A40-8Q' is not a type of the L40S");
        expect_error("\"type_id\": 1148", "\"type_id\": 1147", "types[3]: type_id 1147 is also types[2]");
        expect_error("\"series\": \"Q\"", "\"series\": \"X\"", "series: 'X' is not a series letter");
        expect_error("\"homogeneous_placement_ids\": [0, 24]", "\"homogeneous_placement_ids\": [0, 25]",
                     "homogeneous_placement_ids: placement 25 + size 24 runs past 48 units");
        expect_error("\"homogeneous_placement_ids\": [0, 24]", "\"homogeneous_placement_ids\": [0]",
                     "homogeneous_placement_ids: 1 ids cannot hold max_instance 2");
        expect_error("\"homogeneous_placement_ids\": [0, 24]", "\"homogeneous_placement_ids\": [24, 0]",
                     "ascending and unique");
        expect_error("\"mixed_size\": {\n  \"value\": true", "\"mixed_size\": {\n  \"value\": false",
                     "heterogeneous_placement_ids: given, but the GPU has no mixed-size mode");
        expect_error("\"vmmu_segment_mib\": {\n  \"value\": 32", "\"vmmu_segment_mib\": {\n  \"value\": 48",
                     "vmmu_segment_mib: 48 is not 32, 64, 128, 256 or 512");
        expect_error("\"10de:26b9\"", "\"1002:26b9\"", "pci_ids[0]: '1002:26b9' is not an NVIDIA id");
        expect_error("\"format\": \"nvvgpu-gpu/1\"", "\"format\": \"nvvgpu-gpu/2\"", "format: 'nvvgpu-gpu/2' is not a format");
        expect_error("\"fb_length_mib\": 44384", "\"fb_length_mib\": 48000",
                     "fb_length_mib: 48000 MiB plus the reservation does not fit 48 placement units");
        /* The mixed-size maximum and the list the firmware is given must agree. */
        expect_error("\"mixed_max_instance\": {\n    \"value\": 2,", "\"mixed_max_instance\": {\n    \"value\": 3,",
                     "types[9].heterogeneous_placement_ids: 2 ids, but mixed_max_instance is 3");
        expect_error("\"mixed_max_instance\": {\n    \"value\": 2,", "\"mixed_max_instance\": {\n    \"value\": 4,",
                     "types[9].mixed_max_instance: 4 is not 1..max_instance (3)");
        expect_error("\"heterogeneous_placement_ids\": [0, 16]", "\"heterogeneous_placement_ids\": [0, 8]",
                     "heterogeneous_placement_ids: placements 0 and 8 overlap");
        expect_error("\"mixed_max_instance\": 1,", "\"mixed_max_instance\": 0,",
                     "mixed_max_instance: 0 is not 1..max_instance");
        /* PCI ids with a subsystem. */
        expect_error("\"10de:26b9\"", "\"10de:26b9:10de\"", "pci_ids[0]: '10de:26b9:10de' is not vvvv:dddd or vvvv:dddd:ssvv:ssdd");
        expect_error("\"10de:26b9\"", "\"10de:26b9:10DE:1851\"", "is not vvvv:dddd or vvvv:dddd:ssvv:ssdd");
        expect_error("\"10de:26b9\"", "\"10de:26b9:10de:1851\", \"10de:26b9:10de:1851\"", "pci_ids[1]: '10de:26b9:10de:1851' listed twice");
        assert_int_equal(load_mutated("\"10de:26b9\"", "\"10de:26b9:10de:1851\", \"10de:26b9\"", &msg), 0);
        expect_error("\"id\": \"l40s\"", "\"id\": \"l40s\", \"extra\": 1", "l40s.json: unknown key 'extra'");
        expect_error("\"types\": [", "\"types\": [}", "l40s.json: line");
}

static void test_cross_file(void **state)
{
        _cleanup_(nvv_catalog_freep) struct nvv_catalog *c = NULL;
        _cleanup_free_ char *data = read_shipped("l40s.json"), *msg = NULL, *copy = NULL;
        char *at;

        assert_int_equal(nvv_catalog_new(&c), 0);
        assert_int_equal(nvv_catalog_load_buffer(c, data, strlen(data), "l40s.json", &msg), 0);
        /* The same model again under another id: its PCI id clashes. */
        at = strstr(data, "\"id\": \"l40s\"");
        assert_true(asprintf(&copy, "%.*s\"id\": \"l40s-copy\"%s", (int) (at - data), data, at + strlen("\"id\": \"l40s\"")) > 0);
        assert_int_equal(nvv_catalog_load_buffer(c, copy, strlen(copy), "copy.json", &msg), -EINVAL);
        assert_string_equal(msg, "copy.json: short_name: 'L40S' is also the short name in l40s.json");
        assert_int_equal(nvv_catalog_count(c), 1);
        assert_int_equal(nvv_catalog_load_buffer(c, data, strlen(data), "again.json", &msg), -EINVAL);
        assert_string_equal(msg, "again.json: id: 'l40s' is also defined by l40s.json");
}

static void test_load_dir_atomic(void **state)
{
        _cleanup_(nvv_catalog_freep) struct nvv_catalog *c = NULL;
        _cleanup_free_ char *msg = NULL, *dir = NULL, *p1 = NULL, *p2 = NULL, *data = read_shipped("a10.json");
        FILE *f;

        dir = strdup("/tmp/nvv-catalog-XXXXXX");
        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&p1, "%s/a.json", dir) > 0);
        assert_true(asprintf(&p2, "%s/b.json", dir) > 0);
        f = fopen(p1, "we");
        fputs(data, f);
        fclose(f);
        f = fopen(p2, "we");
        fputs("{ \"format\": \"nvvgpu-gpu/1\" ", f);
        fclose(f);
        assert_int_equal(nvv_catalog_new(&c), 0);
        assert_int_equal(nvv_catalog_load_dir(c, dir, &msg), -EINVAL);
        assert_non_null(strstr(msg, "b.json: line 1: unexpected end of file"));
        assert_int_equal(nvv_catalog_count(c), 0); /* a.json was loaded, then taken back */
        unlink(p1);
        unlink(p2);
        rmdir(dir);
        assert_int_equal(nvv_catalog_load_dir(c, "/nonexistent-dir", &msg), -ENOENT);
        assert_string_equal(msg, "/nonexistent-dir: No such file or directory");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shipped),        cmocka_unit_test(test_pci_subsystem),
                cmocka_unit_test(test_c_series_display), cmocka_unit_test(test_reserved_fb),
                cmocka_unit_test(test_published),      cmocka_unit_test(test_fill_all),
                cmocka_unit_test(test_fill_per_release), cmocka_unit_test(test_fill_placements_as_wire),
                cmocka_unit_test(test_plan_field_count), cmocka_unit_test(test_fill_ecc),
                cmocka_unit_test(test_errors),         cmocka_unit_test(test_cross_file),
                cmocka_unit_test(test_load_dir_atomic),
        };

        return cmocka_run_group_tests(tests, datatest_setup, datatest_teardown);
}
