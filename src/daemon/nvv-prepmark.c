/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-prepmark.h"
#include "util.h"

_printf_(2, 3) static int fail(char **reterr_msg, const char *fmt, ...)
{
        va_list ap;

        if (reterr_msg) {
                va_start(ap, fmt);
                if (vasprintf(reterr_msg, fmt, ap) < 0)
                        *reterr_msg = NULL;
                va_end(ap);
        }
        return -EINVAL;
}

int nvv_prepmark_add(struct nvv_prepmark *m, const char *vgpu)
{
        if (!nvv_state_vgpu_name_valid(vgpu))
                return -EINVAL;
        if (m->n_vgpus >= NVV_PREPMARK_MAX_VGPUS)
                return -E2BIG;
        /* Valid names are at most 36 characters. */
        memcpy(m->vgpus[m->n_vgpus], vgpu, strlen(vgpu) + 1);
        m->n_vgpus++;
        return 0;
}

int nvv_prepmark_parse(const char *text, size_t size, struct nvv_prepmark *ret, char **reterr_msg)
{
        size_t at = 0;
        unsigned line = 0;

        if (reterr_msg)
                *reterr_msg = NULL;
        memset(ret, 0, sizeof(*ret));
        if (size > NVV_PREPMARK_MAX_SIZE) {
                (void) fail(reterr_msg, "%zu bytes; a prepare mark has at most %u", size, NVV_PREPMARK_MAX_SIZE);
                return -E2BIG;
        }
        if (size == 0)
                return fail(reterr_msg, "empty; a prepare mark names its VM on the first line");
        /* Written whole by a rename: a missing last newline means it is not ours. */
        if (text[size - 1] != '\n')
                return fail(reterr_msg, "does not end in a newline");
        while (at < size) {
                const char *nl = memchr(text + at, '\n', size - at);
                size_t len = (size_t) (nl - (text + at));
                char buf[NVV_STATE_VM_NAME_MAX];
                int r;

                line++;
                if (len == 0 || len >= sizeof(buf) || memchr(text + at, 0, len))
                        return fail(reterr_msg, "line %u: %s", line,
                                    len == 0 ? "empty" : len >= sizeof(buf) ? "too long" : "holds a NUL byte");
                memcpy(buf, text + at, len);
                buf[len] = 0;
                at += len + 1;
                if (line == 1) {
                        if (!nvv_state_vm_name_valid(buf))
                                return fail(reterr_msg, "line 1: not a VM name (1..255 printable ASCII characters)");
                        snprintf(ret->vm, sizeof(ret->vm), "%s", buf);
                        continue;
                }
                r = nvv_prepmark_add(ret, buf);
                if (r == -E2BIG) {
                        (void) fail(reterr_msg, "line %u: more than %u vGPUs", line, NVV_PREPMARK_MAX_VGPUS);
                        return r;
                }
                if (r < 0)
                        return fail(reterr_msg, "line %u: not a vGPU name (a UUID or a VF's PCI address)", line);
        }
        return 0;
}

int nvv_prepmark_format(const struct nvv_prepmark *m, char **ret_text, size_t *ret_len)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f;

        if (!nvv_state_vm_name_valid(m->vm) || m->n_vgpus > NVV_PREPMARK_MAX_VGPUS)
                return -EINVAL;
        for (size_t i = 0; i < m->n_vgpus; i++)
                if (!nvv_state_vgpu_name_valid(m->vgpus[i]))
                        return -EINVAL;
        f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "%s\n", m->vm);
        for (size_t i = 0; i < m->n_vgpus; i++)
                fprintf(f, "%s\n", m->vgpus[i]);
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        *ret_len = len;
        return 0;
}
