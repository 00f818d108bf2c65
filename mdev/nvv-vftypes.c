/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* creatable_vgpu_types in both of the layouts seen in the field. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-vftypes.h"
#include "util.h"

/* s[0..n) without blanks around it. */
static void trim(const char **s, size_t *n)
{
        while (*n > 0 && isspace((unsigned char) **s)) {
                (*s)++;
                (*n)--;
        }
        while (*n > 0 && isspace((unsigned char) (*s)[*n - 1]))
                (*n)--;
}

static int parse_id(const char *s, size_t n, uint32_t *ret)
{
        char buf[16];

        if (n == 0 || n >= sizeof(buf))
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!isdigit((unsigned char) s[i]))
                        return -EINVAL;
        memcpy(buf, s, n);
        buf[n] = '\0';
        /* Type ids are positive (0 is "no type" in current_vgpu_type). */
        return safe_atou32(buf, ret) < 0 || *ret == 0 ? -EINVAL : 0;
}

static bool name_ok(const char *s, size_t n)
{
        if (n == 0 || n >= NVV_VFTYPES_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isprint((unsigned char) s[i]))
                        return false;
        return true;
}

static bool is_header(const char *a, size_t an, const char *b, size_t bn)
{
        return (an == 2 && strncmp(a, "ID", 2) == 0 && bn == 9 && strncmp(b, "vGPU Name", 9) == 0) ||
               (bn == 2 && strncmp(b, "ID", 2) == 0 && an == 9 && strncmp(a, "vGPU Name", 9) == 0);
}

int nvv_vftypes_parse(const char *text, size_t len, struct nvv_vftype **ret, size_t *ret_n, char **reterr_msg)
{
        _cleanup_free_ struct nvv_vftype *out = NULL;
        size_t n = 0, line = 0;
        const char *p = text, *end = text + len;

        assert_return(text || len == 0, -EINVAL);
        if (len > NVV_VFTYPES_MAX_FILE)
                return nvv_fail_errno(-E2BIG, reterr_msg, "more than %u bytes", NVV_VFTYPES_MAX_FILE);
        out = calloc(NVV_VFTYPES_MAX, sizeof(*out));
        if (!out)
                return -ENOMEM;
        while (p < end) {
                const char *eol = memchr(p, '\n', (size_t) (end - p)), *l = p, *a, *b, *colon;
                size_t ln = (size_t) ((eol ? eol : end) - p), an, bn;
                uint32_t id;

                p = eol ? eol + 1 : end;
                line++;
                if (memchr(l, '\0', ln))
                        return nvv_fail_errno(-EINVAL, reterr_msg, "line %zu: holds a NUL byte", line);
                trim(&l, &ln);
                if (ln == 0)
                        continue;
                colon = memchr(l, ':', ln);
                if (colon) {
                        /* "ID : NAME" (or the header, either way round) */
                        a = l;
                        an = (size_t) (colon - l);
                        b = colon + 1;
                        bn = ln - an - 1;
                        trim(&a, &an);
                        trim(&b, &bn);
                        if (is_header(a, an, b, bn))
                                continue;
                        if (parse_id(a, an, &id) < 0) {
                                /* "NAME : ID" */
                                const char *t = a;
                                size_t tn = an;

                                a = b, an = bn, b = t, bn = tn;
                                if (parse_id(a, an, &id) < 0)
                                        return nvv_fail_errno(-EINVAL, reterr_msg, "line %zu: no type id beside ':'", line);
                        }
                } else {
                        /* "NAME  ID": the last field is the id */
                        size_t k = ln;

                        while (k > 0 && !isspace((unsigned char) l[k - 1]))
                                k--;
                        a = l + k;
                        an = ln - k;
                        b = l;
                        bn = k;
                        trim(&b, &bn);
                        if (is_header(b, bn, a, an))
                                continue;
                        if (parse_id(a, an, &id) < 0)
                                return nvv_fail_errno(-EINVAL, reterr_msg, "line %zu: does not end in a type id", line);
                }
                if (!name_ok(b, bn))
                        return nvv_fail_errno(-EINVAL, reterr_msg, "line %zu: no type name of 1 to %d printable characters",
                                              line, NVV_VFTYPES_NAME_MAX - 1);
                if (n >= NVV_VFTYPES_MAX)
                        return nvv_fail_errno(-E2BIG, reterr_msg, "more than %u types", NVV_VFTYPES_MAX);
                for (size_t i = 0; i < n; i++)
                        if (out[i].id == id)
                                return nvv_fail_errno(-EINVAL, reterr_msg, "line %zu: type %u twice", line, id);
                out[n].id = id;
                memcpy(out[n].name, b, bn);
                out[n].name[bn] = '\0';
                n++;
        }
        *ret = TAKE_PTR(out);
        *ret_n = n;
        return 0;
}
