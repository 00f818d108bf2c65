/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Table-driven conversion between a stable command struct (nvv-cmd.h) and the wire
 * struct of one release. A binding (stable field name → wire field path) is compiled once
 * into a wire plan (nvv_wplan) of copy operations; encode and decode then only walk it.
 *
 * Rules: a wire field no stable field maps to is zeroed on encode; a stable field the
 * release lacks is dropped on encode and gets its schema default on decode; strings must
 * fit the release's width (with the terminating NUL) or encode fails; arrays copy as many
 * elements as the release holds, and a count or a non-zero element beyond that fails.
 */

#include <stddef.h>
#include <stdint.h>

#include "nvv-cmd.h"
#include "nvv-wstruct.h"

struct nvv_map;

struct nvv_map_entry {
        char *stable;
        char *wire;             /* field path in the wire struct: "a" or "a.b" */
        struct nvv_map *elements; /* for an array of structs: the element binding */
};

struct nvv_map {
        size_t n;
        struct nvv_map_entry *entries;
};

struct nvv_map *nvv_map_free(struct nvv_map *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_map *, nvv_map_free);

struct nvv_wplan;

/* Build a plan for `release` (named in messages), with its value domains for enum fields;
 * *reterr_msg explains a binding that does not fit (unknown field, type). */
int nvv_wplan_compile(const char *release, const struct nvv_domain *domains, size_t n_domains,
                      const struct nvv_sschema *schema,
                      const struct nvv_wstruct *wire, const struct nvv_map *map,
                      struct nvv_wplan **ret, char **reterr_msg);
struct nvv_wplan *nvv_wplan_free(struct nvv_wplan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_wplan *, nvv_wplan_free);

const struct nvv_wstruct *nvv_wplan_wire(const struct nvv_wplan *p);
const struct nvv_sschema *nvv_wplan_schema(const struct nvv_wplan *p);
/* Is the stable field bound to a wire field in this release? */
bool nvv_wplan_has_field(const struct nvv_wplan *p, const char *stable_name);
/* How many elements the release holds for a bound stable field (records for a list of
 * records, bytes for text); "types.homogeneous_placement_ids" looks inside the element
 * binding of "types". 0 when the release does not bind the field. */
uint32_t nvv_wplan_field_count(const struct nvv_wplan *p, const char *stable_path);

/* stable → wire. `wire` must hold wire_size >= the wire struct's size; it is fully written.
 * A request (the default) leaves the firmware's output fields zero; NVV_ENCODE_REPLY, as the
 * firmware side answers, writes them too. */
#define NVV_ENCODE_REPLY 1u
int nvv_wplan_encode(const struct nvv_wplan *p, const void *stable, void *wire, size_t wire_size,
                     unsigned flags, char *err, size_t errlen);
/* wire → stable. The stable struct is fully written (defaults where the release has nothing). */
int nvv_wplan_decode(const struct nvv_wplan *p, const void *wire, size_t wire_size, void *stable,
                     char *err, size_t errlen);
