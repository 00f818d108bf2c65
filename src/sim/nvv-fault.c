/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-cmd.h"
#include "nvv-fault.h"
#include "util.h"

static const char *const kind_names[_NVV_FAULT_MAX] = {
        [NVV_FAULT_DELAY] = "delay",     [NVV_FAULT_DROP] = "drop",       [NVV_FAULT_STATUS] = "status",
        [NVV_FAULT_CHECKSUM] = "checksum", [NVV_FAULT_TRUNCATE] = "truncate", [NVV_FAULT_GARBAGE] = "garbage",
        [NVV_FAULT_RESET] = "reset",     [NVV_FAULT_CRASH] = "crash",      [NVV_FAULT_UNPLUG] = "unplug",
        [NVV_FAULT_PLUG] = "plug",
};

const char *nvv_fault_kind_to_string(enum nvv_fault_kind k)
{
        if ((int) k < 0 || k >= _NVV_FAULT_MAX)
                return NULL;
        return kind_names[k];
}

bool nvv_fault_is_immediate(const struct nvv_fault *f)
{
        return f->cmd == -2;
}

static int parse_one(char *item, struct nvv_fault *f, char **reterr)
{
        char *p, *parts[4] = {};
        size_t n = 0;
        int kind = -1;
        uint32_t v;

        *f = (struct nvv_fault) { .cmd = NVV_FAULT_ANY_CMD, .gpu = NVV_FAULT_ANY_GPU, .count = 1 };
        if ((p = strrchr(item, '*'))) {
                *p = '\0';
                if (safe_atou32(p + 1, &f->count) < 0)
                        return nvv_fail(reterr, "fault '%s': count '%s' is not a number", item, p + 1);
        }
        if ((p = strrchr(item, '@'))) {
                *p = '\0';
                if (safe_atou32(p + 1, &v) < 0 || v > 1023)
                        return nvv_fail(reterr, "fault '%s': GPU '%s' is not a GPU index", item, p + 1);
                f->gpu = (int) v;
        }
        for (char *s = item, *save = NULL; n < 4 && (p = strtok_r(s, ":", &save)); s = NULL)
                parts[n++] = p;
        if (n == 0)
                return nvv_fail(reterr, "empty fault");
        for (int k = 0; k < _NVV_FAULT_MAX; k++)
                if (streq(kind_names[k], parts[0]))
                        kind = k;
        if (kind < 0)
                return nvv_fail(reterr, "unknown fault '%s' (known: delay, drop, status, checksum, truncate, garbage, reset, crash, unplug, plug)",
                           parts[0]);
        f->kind = (enum nvv_fault_kind) kind;
        if (f->kind == NVV_FAULT_CRASH) {
                if (n != 2 || safe_atou32(parts[1], &f->arg) < 0 || f->arg == 0)
                        return nvv_fail(reterr, "fault 'crash' takes a gfid: crash:GFID");
                f->cmd = -2;
                return 0;
        }
        if (f->kind == NVV_FAULT_UNPLUG || f->kind == NVV_FAULT_PLUG) {
                /* A removal or an arrival happens to one device: which one must be said. */
                if (n != 1 || f->gpu == NVV_FAULT_ANY_GPU)
                        return nvv_fail(reterr, "fault '%s' takes a GPU and nothing else: %s@GPU", parts[0], parts[0]);
                f->cmd = -2;
                return 0;
        }
        if (f->kind == NVV_FAULT_RESET && n == 1) {
                f->cmd = -2;
                return 0;
        }
        if (n < 2)
                return nvv_fail(reterr, "fault '%s' needs a command: %s:COMMAND", parts[0], parts[0]);
        if (!streq(parts[1], "any")) {
                f->cmd = nvv_cmd_from_string(parts[1]);
                if (f->cmd < 0)
                        return nvv_fail(reterr, "fault '%s': unknown command '%s'", parts[0], parts[1]);
        }
        switch (f->kind) {
        case NVV_FAULT_DELAY:
                if (n != 3 || safe_atou32(parts[2], &f->arg) < 0 || f->arg > 600000)
                        return nvv_fail(reterr, "fault 'delay' takes milliseconds (at most 600000): delay:COMMAND:MS");
                break;
        case NVV_FAULT_STATUS:
                if (n != 3 || !startswith(parts[2], "NV_") || strlen(parts[2]) >= sizeof(f->status))
                        return nvv_fail(reterr, "fault 'status' takes a status name: status:COMMAND:NV_ERR_...");
                /* Whether the release knows the name is checked when the fault is armed
                 * (nvv_simgpu_inject): only the GPU's description has the list. */
                if (parts[2][strspn(parts[2], "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")] != '\0')
                        return nvv_fail(reterr, "fault 'status': '%s' is not a status name (capitals, digits and '_')",
                                        parts[2]);
                snprintf(f->status, sizeof(f->status), "%s", parts[2]);
                break;
        default:
                if (n != 2)
                        return nvv_fail(reterr, "fault '%s' takes no argument after the command", parts[0]);
                break;
        }
        return 0;
}

int nvv_fault_parse(const char *spec, struct nvv_fault **ret, size_t *ret_n, char **reterr_msg)
{
        _cleanup_strv_free_ char **items = NULL;
        _cleanup_free_ struct nvv_fault *f = NULL;
        size_t n;
        int r;

        if (!spec || strlen(spec) > 4096)
                return nvv_fail(reterr_msg, "fault spec is missing or longer than 4096 bytes");
        r = strv_split(spec, ',', &items);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return nvv_fail(reterr_msg, "fault spec '%s' has an empty item", spec);
        n = strv_length(items);
        if (n > NVV_FAULT_MAX_SPECS)
                return nvv_fail(reterr_msg, "more than %d faults", NVV_FAULT_MAX_SPECS);
        f = calloc(n, sizeof(*f));
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = parse_one(items[i], &f[i], reterr_msg);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(f);
        *ret_n = n;
        return 0;
}
