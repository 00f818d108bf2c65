/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The wire vocabulary of a firmware release: struct layouts (nvv_wstruct), their fields and
 * named value tables (nvv_domain). These are what the marshaller (nvv-marshal.h) compiles
 * against; the release that owns them is in nvv-fwabi.h.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

enum nvv_wtype {
        NVV_WT_U8,
        NVV_WT_U16,
        NVV_WT_U32,
        NVV_WT_U64,
        NVV_WT_I8,
        NVV_WT_I16,
        NVV_WT_I32,
        NVV_WT_I64,
        NVV_WT_BOOL,
        NVV_WT_CHAR,
        NVV_WT_STRUCT,
        _NVV_WT_MAX,
        _NVV_WT_INVALID = -EINVAL,
};
const char *nvv_wtype_to_string(enum nvv_wtype t);
enum nvv_wtype nvv_wtype_from_string(const char *s);
unsigned nvv_wtype_size(enum nvv_wtype t); /* 0 for STRUCT */
bool nvv_wtype_is_signed(enum nvv_wtype t);

struct nvv_wstruct;

struct nvv_wfield {
        char *name;
        uint32_t offset;
        uint32_t count;         /* 1 for a scalar; 0 for a flexible array member at the end */
        uint32_t elem_size;
        enum nvv_wtype type;
        const struct nvv_wstruct *sub; /* type == NVV_WT_STRUCT */
        char *type_name;               /* as written in the file */
};

struct nvv_wstruct {
        char *name;
        char *source;
        uint32_t size;
        uint32_t depth;         /* 1 + the deepest struct it holds; 1 when it holds none */
        size_t n_fields;
        struct nvv_wfield *fields;
};

const struct nvv_wfield *nvv_wstruct_find_field(const struct nvv_wstruct *s, const char *name);
/* "a.b.c" through nested structs; returns the last field and its absolute offset. */
const struct nvv_wfield *nvv_wstruct_resolve(const struct nvv_wstruct *s, const char *path,
                                             uint32_t *ret_offset);

struct nvv_named {
        char *name;
        uint32_t value;
};

/* A named set of wire values ("values" in the description), one per stable enum. */
struct nvv_domain {
        char *name;
        size_t n;
        struct nvv_named *entries;
};

const struct nvv_domain *nvv_domain_find(const struct nvv_domain *domains, size_t n, const char *name);
