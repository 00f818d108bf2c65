/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Fault injection for the simulated firmware. A spec is a comma-separated list of
 *   KIND[:COMMAND][:ARG][@GPU][*COUNT]
 * where COMMAND is a stable command name or "any", GPU a GPU index (default: every GPU)
 * and COUNT how many times the fault fires (default 1, 0 = every time); numbers are decimal
 * or 0x-hexadecimal. Kinds:
 *   delay:CMD:MS       answer CMD MS milliseconds late
 *   drop:CMD           carry CMD out but never answer
 *   status:CMD:NAME    refuse CMD with the NV status NAME (e.g. NV_ERR_INSUFFICIENT_RESOURCES);
 *                      a name the GPU's release does not describe is refused when armed
 *   checksum:CMD       answer CMD with a queue element whose checksum is wrong
 *   truncate:CMD       answer CMD with an RPC cut short after its control header
 *   garbage:CMD        answer CMD with an element that holds no valid RPC
 *   reset:CMD          the GSP reboots while CMD is pending (no answer; a gsp_reset event)
 *   reset              the GSP reboots now (runtime injection)
 *   crash:GFID         the plugin task of GFID crashes now (runtime injection)
 *   unplug@GPU         GPU is surprise-removed now: RPCs fail with ENODEV, no more events, gone
 *                      from sysfs (runtime injection; the GPU must be named)
 *   plug@GPU           an unplugged GPU comes back, freshly powered (runtime injection)
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum nvv_fault_kind {
        NVV_FAULT_DELAY,
        NVV_FAULT_DROP,
        NVV_FAULT_STATUS,
        NVV_FAULT_CHECKSUM,
        NVV_FAULT_TRUNCATE,
        NVV_FAULT_GARBAGE,
        NVV_FAULT_RESET,
        NVV_FAULT_CRASH,
        NVV_FAULT_UNPLUG,
        NVV_FAULT_PLUG,
        _NVV_FAULT_MAX,
        _NVV_FAULT_INVALID = -22,
};

#define NVV_FAULT_ANY_CMD (-1)
#define NVV_FAULT_ANY_GPU (-1)
#define NVV_FAULT_MAX_SPECS 64

struct nvv_fault {
        enum nvv_fault_kind kind;
        int cmd;                /* enum nvv_cmd_id, NVV_FAULT_ANY_CMD, or -2: none (immediate) */
        int gpu;                /* GPU index, NVV_FAULT_ANY_GPU */
        uint32_t arg;           /* milliseconds (delay), gfid (crash) */
        char status[64];        /* status name (status) */
        uint32_t count;         /* times left; 0 = unlimited */
};

const char *nvv_fault_kind_to_string(enum nvv_fault_kind k);
/* Parse a spec into at most NVV_FAULT_MAX_SPECS faults; *reterr_msg says what is wrong. */
int nvv_fault_parse(const char *spec, struct nvv_fault **ret, size_t *ret_n, char **reterr_msg);
/* An immediate fault (reset now, crash GFID, unplug, plug) rather than one waiting for a command. */
bool nvv_fault_is_immediate(const struct nvv_fault *f);
