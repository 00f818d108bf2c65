/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The libvirt hook's decisions (nvvgpu-hook(8)): what an `OBJECT OPERATION SUB-OPERATION
 * EXTRA` call asks of it, the request it sends nvvgpud (doc/ipc.md, vm-prepare and
 * vm-release), and the call itself. The program (nvvgpu-hook.c) reads stdin, prints and exits.
 */

#include <stdbool.h>
#include <stddef.h>

#include "nvv-domxml.h"
#include "nvv-ipc.h"

/* How long the hook waits for nvvgpud's answer: libvirt waits for the hook, and the guest's
 * start with it. A prepare that makes vGPUs issues firmware commands for each. */
#define NVV_HOOK_TIMEOUT_MS (30 * 1000)
/* Past this, the hook gives up whatever it is doing (a connect to a hung nvvgpud too). */
#define NVV_HOOK_DEADLINE_S 40

enum nvv_hook_action {
        NVV_HOOK_IGNORE,        /* exit 0 without output */
        NVV_HOOK_PREPARE,       /* prepare begin: the domain's vGPUs exist and are started */
        NVV_HOOK_RELEASE,       /* stopped end, release end: they are released */
        NVV_HOOK_FILTER,        /* migrate begin, restore begin: the XML goes out unchanged */
        _NVV_HOOK_ACTION_MAX,
};
const char *nvv_hook_action_to_string(enum nvv_hook_action a);

/* The action for libvirt's qemu hook arguments 2 and 3. */
enum nvv_hook_action nvv_hook_action_from_args(const char *operation, const char *sub_operation);

/* The vm-prepare request for domain vm (dx: what its XML asks for): nvvgpud builds the same
 * from the XML the hook hands it. -EINVAL with a message for a VM name nvvgpud would refuse. */
int nvv_hook_request_of_domxml(const char *vm, const struct nvv_domxml *dx, struct nvv_ipc_request *ret,
                               char **reterr_msg);
/* The JSON text of that request, and of vm-release. */
int nvv_hook_prepare_request(const char *vm, const struct nvv_domxml *dx, char **ret_text, char **reterr_msg);
int nvv_hook_release_request(const char *vm, char **ret_text, char **reterr_msg);
/* The vm-prepare request that hands nvvgpud the domain XML itself (size bytes), for it to
 * read: nvvgpud has libxml2 loaded already, the hook would load it at each prepare. -E2BIG
 * when the request would be larger than nvvgpud takes (NVV_IPC_MAX_REQUEST), or the XML has a
 * NUL byte: then the hook
 * reads the XML and sends what it asks for (nvv_hook_prepare_request). */
int nvv_hook_prepare_xml_request(const char *vm, const char *xml, size_t size, char **ret_text, char **reterr_msg);

struct nvv_sysfs;
/* Whether the PCI function bdf ("0000:43:00.4") is an NVIDIA SR-IOV VF in sysfs (vendor
 * 0x10de, a physfn link): one that may hold a vGPU, which only nvvgpud can tell. */
bool nvv_hook_is_nvidia_vf(const struct nvv_sysfs *sys, const char *bdf);

/* Send request to nvvgpud at socket_path and read its answer: 0 when it says ok; the negative
 * errno and nvvgpud's message when it refuses; an error with a message when it cannot be
 * asked. *ret_absent (optional) tells that nvvgpud is not running (no socket, or nothing
 * listening on it). */
int nvv_hook_call(const char *socket_path, const char *request, int timeout_ms, bool *ret_absent, char **reterr_msg);
