/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What changed between two firmware release descriptions (nvv_fwdiff): struct sizes and
 * field offsets, RPC function and event numbers, controls (renumbered, added, removed or
 * re-purposed: one id, another name), allocation classes, the stable command and event
 * bindings, queue geometry and headers, sizing, init steps, value domains and status codes.
 * Computed from two loaded descriptions only; the result is a flat list of changes in a
 * fixed order (section, then name, struct fields by offset), for `nvvgpuctl fw diff` to
 * print as text or JSON.
 */

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-fwabi.h"

/* Sections, in the order the changes are listed. */
enum nvv_fwdiff_section {
        NVV_FWDIFF_COMPATIBLE,
        NVV_FWDIFF_QUEUE,
        NVV_FWDIFF_STRUCTS,
        NVV_FWDIFF_FUNCTIONS,
        NVV_FWDIFF_EVENTS,
        NVV_FWDIFF_CONTROLS,
        NVV_FWDIFF_ALLOCS,
        NVV_FWDIFF_COMMANDS,
        NVV_FWDIFF_EVENT_MAP,
        NVV_FWDIFF_SIZING,
        NVV_FWDIFF_INIT,
        NVV_FWDIFF_VALUES,
        NVV_FWDIFF_STATUS,
        NVV_FWDIFF_HOST_RPC,
        _NVV_FWDIFF_SECTION_MAX,
        _NVV_FWDIFF_SECTION_INVALID = -EINVAL,
};
const char *nvv_fwdiff_section_to_string(enum nvv_fwdiff_section s);
enum nvv_fwdiff_section nvv_fwdiff_section_from_string(const char *s);

enum nvv_fwdiff_kind {
        NVV_FWDIFF_ADDED,       /* only the second release has it */
        NVV_FWDIFF_REMOVED,     /* only the first release has it */
        NVV_FWDIFF_CHANGED,     /* both have it, a property differs */
        NVV_FWDIFF_RENUMBERED,  /* same name, another number (function, event, control id, class) */
        NVV_FWDIFF_REPURPOSED,  /* same control id, class or host RPC message number, another name */
        NVV_FWDIFF_REORDERED,   /* same init steps, another order */
        _NVV_FWDIFF_KIND_MAX,
        _NVV_FWDIFF_KIND_INVALID = -EINVAL,
};
const char *nvv_fwdiff_kind_to_string(enum nvv_fwdiff_kind k);
enum nvv_fwdiff_kind nvv_fwdiff_kind_from_string(const char *s);

enum nvv_fwdiff_vtype {
        NVV_FWDIFF_NONE,        /* this side lacks the thing */
        NVV_FWDIFF_DEC,         /* a number best read in decimal (sizes, offsets) */
        NVV_FWDIFF_HEX,         /* a number best read in hexadecimal (control ids, classes) */
        NVV_FWDIFF_TEXT,
};

struct nvv_fwdiff_value {
        enum nvv_fwdiff_vtype type;
        uint64_t num;           /* DEC, HEX */
        char *text;             /* TEXT */
};

struct nvv_fwdiff_change {
        enum nvv_fwdiff_section section;
        enum nvv_fwdiff_kind kind;
        char *name;             /* what changed: "NVA081_CTRL_VGPU_INFO", "STRUCT.field",
                                 * "GSP_RM_CONTROL", "0x20804001" (a re-purposed id),
                                 * "control_roles.cmd", "sched_policy.ARR", "init" */
        const char *attr;       /* the property compared: "size", "offset", "type", "value",
                                 * "id", "params", "name", "order", ... */
        struct nvv_fwdiff_value from, to;
        char *detail;           /* NULL, or more about an added or removed thing ("u32[4]") */
};

struct nvv_fwdiff {
        char *from_release, *from_path;
        char *to_release, *to_path;
        size_t n_changes;
        struct nvv_fwdiff_change *changes;
        size_t per_section[_NVV_FWDIFF_SECTION_MAX];
};

/* Compare two descriptions (either may be the same object). Fails only for memory. */
int nvv_fwdiff_new(const struct nvv_fwabi *from, const struct nvv_fwabi *to, struct nvv_fwdiff **ret);
struct nvv_fwdiff *nvv_fwdiff_free(struct nvv_fwdiff *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_fwdiff *, nvv_fwdiff_free);

/* The first change in `section` named `name` with property `attr` (NULL: any), or NULL. */
const struct nvv_fwdiff_change *nvv_fwdiff_find(const struct nvv_fwdiff *d, enum nvv_fwdiff_section section,
                                                const char *name, const char *attr);

/* "5416", "0x20804001", the text, or "" for NONE, into buf. */
const char *nvv_fwdiff_value_to_string(const struct nvv_fwdiff_value *v, char *buf, size_t size);

/* {"from": {"release", "file"}, "to": {...}, "identical": bool, "counts": {section: n},
 *  "changes": [{"section", "kind", "name", "attr", "from", "to", "detail"}]}; "from"/"to"
 * of a change are numbers or strings, left out on the side that lacks the thing. */
int nvv_fwdiff_to_json(const struct nvv_fwdiff *d, json_object **ret);
