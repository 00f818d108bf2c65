/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "nvv-wstruct.h"
#include "util.h"


static const char *const wtype_names[_NVV_WT_MAX] = {
        [NVV_WT_U8] = "u8",   [NVV_WT_U16] = "u16", [NVV_WT_U32] = "u32",   [NVV_WT_U64] = "u64",
        [NVV_WT_I8] = "i8",   [NVV_WT_I16] = "i16", [NVV_WT_I32] = "i32",   [NVV_WT_I64] = "i64",
        [NVV_WT_BOOL] = "bool", [NVV_WT_CHAR] = "char", [NVV_WT_STRUCT] = "struct",
};
static const unsigned wtype_sizes[_NVV_WT_MAX] = {
        [NVV_WT_U8] = 1, [NVV_WT_U16] = 2, [NVV_WT_U32] = 4, [NVV_WT_U64] = 8, [NVV_WT_I8] = 1,
        [NVV_WT_I16] = 2, [NVV_WT_I32] = 4, [NVV_WT_I64] = 8, [NVV_WT_BOOL] = 1, [NVV_WT_CHAR] = 1,
};

const char *nvv_wtype_to_string(enum nvv_wtype t)
{
        if ((int) t < 0 || t >= _NVV_WT_MAX)
                return NULL;
        return wtype_names[t];
}

enum nvv_wtype nvv_wtype_from_string(const char *s)
{
        for (int i = 0; i < _NVV_WT_MAX; i++)
                if (i != NVV_WT_STRUCT && streq(wtype_names[i], s))
                        return (enum nvv_wtype) i;
        return _NVV_WT_INVALID;
}

unsigned nvv_wtype_size(enum nvv_wtype t)
{
        if ((int) t < 0 || t >= _NVV_WT_MAX)
                return 0;
        return wtype_sizes[t];
}

bool nvv_wtype_is_signed(enum nvv_wtype t)
{
        return t == NVV_WT_I8 || t == NVV_WT_I16 || t == NVV_WT_I32 || t == NVV_WT_I64;
}

const struct nvv_wfield *nvv_wstruct_find_field(const struct nvv_wstruct *s, const char *name)
{
        for (size_t i = 0; i < s->n_fields; i++)
                if (streq(s->fields[i].name, name))
                        return &s->fields[i];
        return NULL;
}

const struct nvv_wfield *nvv_wstruct_resolve(const struct nvv_wstruct *s, const char *path, uint32_t *ret_offset)
{
        const struct nvv_wfield *f = NULL;
        uint32_t off = 0;
        const char *p = path;

        while (s) {
                const char *dot = strchr(p, '.');
                char part[256];
                size_t len = dot ? (size_t) (dot - p) : strlen(p);

                if (len == 0 || len >= sizeof(part))
                        return NULL;
                memcpy(part, p, len);
                part[len] = '\0';
                f = nvv_wstruct_find_field(s, part);
                if (!f)
                        return NULL;
                off += f->offset;
                if (!dot)
                        break;
                if (f->type != NVV_WT_STRUCT || f->count != 1)
                        return NULL;
                s = f->sub;
                p = dot + 1;
        }
        if (ret_offset)
                *ret_offset = off;
        return f;
}


const struct nvv_domain *nvv_domain_find(const struct nvv_domain *domains, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (streq(domains[i].name, name))
                        return &domains[i];
        return NULL;
}
