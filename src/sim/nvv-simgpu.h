/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One simulated GPU: the core driver's side of the GSP message queue and the GSP itself.
 * Both live in one process around a real shared-memory queue (memfd: a command ring and a
 * status ring of the release's geometry). The GSP runs in its own thread, reads framed
 * messages, checks and reassembles them, executes them with nvv-gsp (the firmware's rules)
 * and answers on the status ring, where events go too. The "kernel" side submits one RPC at
 * a time, as the core driver does, and matches the answer by sequence number.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-fault.h"
#include "nvv-fwabi.h"
#include "nvv-gsp.h"
#include "nvv-rpc.h"

struct nvv_simgpu;

struct nvv_simgpu_config {
        uint32_t index;
        char model[64];           /* "NVIDIA L40S" */
        char bdf[16];             /* "0000:3b:00.0" */
        uint16_t pci_vendor, pci_device;
        char release[32];         /* what the firmware reports, e.g. "580.159.04" */
        struct nvv_gsp_config gsp;
};

/* Start a GPU whose firmware speaks `fw` (borrowed; must outlive the GPU). */
int nvv_simgpu_new(const struct nvv_simgpu_config *cfg, const struct nvv_fwabi *fw, struct nvv_simgpu **ret);
struct nvv_simgpu *nvv_simgpu_free(struct nvv_simgpu *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_simgpu *, nvv_simgpu_free);

const struct nvv_simgpu_config *nvv_simgpu_get_config(const struct nvv_simgpu *g);
const struct nvv_fwabi *nvv_simgpu_get_fwabi(const struct nvv_simgpu *g);
/* The RM handles the core driver allocated for the manager (client, device, subdevice). */
void nvv_simgpu_get_handles(const struct nvv_simgpu *g, struct nvv_handles *ret);

/* Kernel side: submit one logical RPC and wait for its answer (matched by the RPC header's
 * sequence number; late answers to earlier RPCs are dropped). The answer goes to reply
 * (reply_cap bytes). -ETIMEDOUT, -EBADMSG (the answer failed its checksum or framing),
 * -ECONNRESET (the GSP reset while the RPC was pending), -ENOBUFS (reply_cap too small). */
int nvv_simgpu_rpc(struct nvv_simgpu *g, const void *rpc, size_t len, int timeout_ms, void *reply,
                   size_t reply_cap, size_t *ret_len, char *err, size_t errlen);

/* Firmware events as they leave the status ring (the RPC bytes). Listeners run on the thread
 * that read the ring: keep them short. */
typedef void (*nvv_simgpu_event_fn)(void *userdata, struct nvv_simgpu *g, const uint8_t *rpc, size_t len);
int nvv_simgpu_add_listener(struct nvv_simgpu *g, nvv_simgpu_event_fn fn, void *userdata);
void nvv_simgpu_remove_listener(struct nvv_simgpu *g, nvv_simgpu_event_fn fn, void *userdata);

/* Called on the GSP thread after a command (or a fault) changed the firmware's set of vGPUs
 * (one made, deleted, given or losing a host vGPU device, a GSP reset). It must not call back
 * into the GPU (nvv_simgpu_get_status would wait for the thread it runs on): note the change
 * and look later. One function per GPU; NULL removes it. */
typedef void (*nvv_simgpu_change_fn)(void *userdata, struct nvv_simgpu *g);
void nvv_simgpu_set_change_fn(struct nvv_simgpu *g, nvv_simgpu_change_fn fn, void *userdata);

/* Faults: ones that wait for a command are armed; immediate ones (reset, crash, unplug,
 * plug) run on the GSP thread at once. Unplug: from then on RPCs fail with -ENODEV ("GPU N
 * (BDF) is unplugged"), also one waiting for its answer, no event reaches a listener, and
 * immediate faults but plug are refused (-ENODEV); the firmware loses its state. Plug: the
 * firmware boots afresh (no type table, no vGPUs, no host tasks) without a GSP-reset event.
 * A second unplug or plug is -EALREADY ("GPU N is unplugged already", "GPU N is plugged in
 * already"). */
int nvv_simgpu_inject(struct nvv_simgpu *g, const struct nvv_fault *f, char *err, size_t errlen);
/* False between an unplug and the next plug. */
bool nvv_simgpu_is_present(const struct nvv_simgpu *g);

/* A copy of the firmware's state, taken on the GSP thread. */
struct nvv_simgpu_status {
        struct nvv_gsp_state state;
        size_t n_vgpus;
        struct nvv_gsp_vgpu_info vgpus[NVV_MAX_VGPUS];
        /* The type table (supported types) in upload order, and which of them a create
         * would succeed for now (creatable). */
        size_t n_types;
        uint32_t type_ids[NVV_MAX_VGPU_TYPES];
        bool creatable[NVV_MAX_VGPU_TYPES];
        uint32_t available[NVV_MAX_VGPU_TYPES];  /* creates of it that would succeed now */
        uint64_t rpcs_handled, events_sent, bad_messages;
};
int nvv_simgpu_get_status(struct nvv_simgpu *g, struct nvv_simgpu_status *ret);
/* The same without the type table's creatable and available counts (n_types 0): what
 * watching for vGPUs that come and go needs, at a fraction of the cost (counting available
 * instances tries creates of every type). */
int nvv_simgpu_get_vgpus(struct nvv_simgpu *g, struct nvv_simgpu_status *ret);
/* One message on the host RPC channel of gfid's plugin (nvv_gsp_host_message): its result
 * code. -ENOENT / -ESRCH / -ENODEV (unplugged) with a message in err. */
int nvv_simgpu_host_rpc(struct nvv_simgpu *g, uint32_t gfid, uint32_t message, uint32_t *ret_result, char *err,
                        size_t errlen);

struct nvv_channel;
struct nvv_fwdb;
/* A manager-side channel straight onto this GPU's queue (the in-process transport). */
int nvv_simgpu_open_channel(struct nvv_simgpu *g, const struct nvv_fwdb *db, struct nvv_channel **ret,
                            char **reterr_msg);

/* Testing and fuzzing: raw bytes into the command queue as whole elements, unframed, as a
 * misbehaving driver might write them. */
int nvv_simgpu_submit_raw(struct nvv_simgpu *g, const void *data, size_t len, int timeout_ms);
