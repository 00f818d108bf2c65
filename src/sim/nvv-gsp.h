/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The simulated GSP firmware of one physical GPU: a transport-free state machine that
 * applies the rules of doc/firmware-model.md to the stable commands of nvv-cmd.h.
 *
 * The transport decodes an RPC into a union nvv_cmd_any, calls nvv_gsp_handle() and encodes
 * what it leaves in the union together with the NV status *name* it returns; the name is
 * mapped to the running release's number by the transport. Everything that differs between
 * firmware releases is asked of the struct nvv_fwabi (which commands exist, sizing limits,
 * which allocation fields a release carries); this file knows no release by name.
 *
 * One object per GPU, no global state, no locking: call it from one thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-cmd.h"
#include "nvv-fwabi.h"

struct nvv_gsp;

/* One GPU as the firmware sees it (doc/firmware-model.md §1). */
struct nvv_gsp_config {
        uint64_t fb_total;        /* framebuffer bytes */
        uint64_t fb_reserved;     /* bytes the host keeps; <= fb_total */
        uint64_t vmmu_segment;    /* VMMU segment size, > 0 */
        uint32_t placement_units; /* units the usable FB is divided into, > 0 */
        uint32_t num_vfs;         /* SR-IOV VFs, <= NVV_MAX_VGPUS; gfid = VF index + 1 */
        uint32_t total_chids;     /* channel ids in the vGPU channel-id pool */
        uint32_t gpu_pci_id;      /* reported by get_start_data */
        uint32_t gpu_pci_bdf;
        char firmware_version[NVV_NAME_MAX]; /* running release; "" = the description's */
};

/* Plugin task of one gfid (doc/firmware-model.md §6). NONE = no host vGPU device. */
enum nvv_gsp_task {
        NVV_GSP_TASK_NONE,
        NVV_GSP_TASK_ALLOCATED,
        NVV_GSP_TASK_RUNNING,
        NVV_GSP_TASK_STOPPED,
        NVV_GSP_TASK_CLEANED,
        NVV_GSP_TASK_CRASHED,
        _NVV_GSP_TASK_MAX,
        _NVV_GSP_TASK_INVALID = -EINVAL,
};

const char *nvv_gsp_task_to_string(enum nvv_gsp_task t);

/* Create the firmware of one GPU. `fw` is borrowed and must outlive the object.
 * -EINVAL for a config that breaks the limits above. */
int nvv_gsp_new(const struct nvv_gsp_config *cfg, const struct nvv_fwabi *fw, struct nvv_gsp **ret);
struct nvv_gsp *nvv_gsp_free(struct nvv_gsp *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_gsp *, nvv_gsp_free);

/*
 * Execute one command. `io` holds the decoded request and receives the reply fields (only
 * when the status is NV_OK). *ret_status is the NV status name ("NV_OK",
 * "NV_ERR_IN_USE", ...). Returns 0 whenever the command was handled, refused or not;
 * -EINVAL only for programming errors (NULL pointers, cmd out of range).
 * A command the release does not offer answers NV_ERR_NOT_SUPPORTED.
 */
int nvv_gsp_handle(struct nvv_gsp *g, int cmd, union nvv_cmd_any *io, const char **ret_status);
/* Same, for a control addressed to the host vGPU device object of `gfid`
 * (set_guest_lifecycle, set_placement_id carry no gfid of their own). nvv_gsp_handle()
 * passes gfid 0, which names no object. */
int nvv_gsp_handle_device(struct nvv_gsp *g, uint32_t gfid, int cmd, union nvv_cmd_any *io,
                          const char **ret_status);
/* RM FREE of the host vGPU device of `gfid` (an NVA084 object). Same return convention. */
int nvv_gsp_free_host_vgpu(struct nvv_gsp *g, uint32_t gfid, const char **ret_status);

/* Events: called synchronously, after the state change, from inside the call that caused
 * it. `event` is an enum nvv_event_id; payload->event_plugin / event_rc_error /
 * event_gsp_reset. Only events the release describes are emitted. The payload lives in the
 * object: valid until the callback returns, and overwritten if the callback calls into g
 * and that raises another event. */
typedef void (*nvv_gsp_event_fn)(void *userdata, int event, const union nvv_cmd_any *payload);
void nvv_gsp_set_event_fn(struct nvv_gsp *g, nvv_gsp_event_fn fn, void *userdata);

/* Fault and scenario hooks (the simulator's fault injection). */
/* RUNNING task of gfid crashes: -> CRASHED, event crashed. -ENOENT: no host vGPU device;
 * -ESRCH: its task is not RUNNING. */
int nvv_gsp_crash_plugin(struct nvv_gsp *g, uint32_t gfid);
/* One message on the host RPC channel of gfid's plugin (the control region of its plugin
 * heap; message numbers from the release's "host_rpc"): MIGRATION_STOP_WORK stops its vGPU's
 * work, MIGRATION_RESUME_WORK resumes it, RESET starts the guest's GPU over (its driver
 * unloads). *ret_result is the response region's result code: OK, UNKNOWN (a number the
 * release does not name) or UNSUPPORTED (a message this model does not act on) — values of
 * the model (doc/firmware-model.md §6). -ENOENT: no host vGPU device; -ESRCH: the plugin is
 * not RUNNING (nobody reads the region). */
#define NVV_GSP_HOST_RESULT_OK 0u
#define NVV_GSP_HOST_RESULT_UNKNOWN 1u
#define NVV_GSP_HOST_RESULT_UNSUPPORTED 2u
int nvv_gsp_host_message(struct nvv_gsp *g, uint32_t gfid, uint32_t message, uint32_t *ret_result);
/* GSP reboot: every task CRASHED, every vGPU, the type table, the modes, the scheduler and
 * power state lost; event gsp_reset. */
int nvv_gsp_reset(struct nvv_gsp *g);
/* The guest driver of gfid's VM loaded / unloaded: event. -ENOENT / -ESRCH as above. */
int nvv_gsp_guest_driver(struct nvv_gsp *g, uint32_t gfid, bool loaded);
/* A channel of gfid's vGPU faulted: event rc_error. -ENOENT: no host vGPU device or its
 * vGPU is gone; -ERANGE: chid is not in the vGPU's channel block. */
int nvv_gsp_rc_error(struct nvv_gsp *g, uint32_t gfid, uint32_t chid);

/* ---- introspection (tests, the simulator's status output) ---- */

struct nvv_gsp_vgpu_info {
        uint32_t vgpu_id;
        uint8_t name[16];
        bool named;               /* false: created by alloc_host_vgpu without a name */
        uint32_t type_id;
        uint32_t placement_id;    /* NVV_PLACEMENT_NONE for first-fit types */
        uint32_t placement_size;  /* units occupied, 0 with no placement */
        uint64_t fb_offset, fb_length; /* guest FB range, offset from the usable FB start */
        uint32_t chid_offset, num_chids;
        uint32_t gfid;            /* 0: no host vGPU device */
        enum nvv_gsp_task task;
        bool work_stopped;        /* its plugin was told MIGRATION_STOP_WORK */
        uint32_t resets;          /* host RPC RESETs since its plugin booted */
};

struct nvv_gsp_host_info {
        uint32_t gfid;
        enum nvv_gsp_task task;
        uint32_t vgpu_id;         /* 0: its vGPU was lost (GSP reset) */
        uint32_t dbdf, vm_pid, accounting_pid, device_instance_id;
        uint32_t guest_lifecycle; /* enum nvv_guest_lifecycle, UNKNOWN until set */
        bool driver_loaded;
        bool work_stopped;
        uint32_t resets;
};

struct nvv_gsp_state {
        uint64_t usable_fb, unit_size;
        uint32_t placement_units, total_chids, num_vfs;
        uint32_t max_vgpus;       /* min(num_vfs, release max_vgpu_per_pgpu) */
        uint32_t max_types;       /* release max_vgpu_types_per_pgpu */
        bool heterogeneous_timesliced, heterogeneous_mode;
        size_t n_types, n_vgpus, n_hosts;
        struct nvv_cmd_sched_state sched;
        uint32_t power_state;
};

void nvv_gsp_get_state(const struct nvv_gsp *g, struct nvv_gsp_state *ret);
/* The i-th vGPU in vgpu_id order, i < n_vgpus. -ENOENT beyond. */
int nvv_gsp_get_vgpu(const struct nvv_gsp *g, size_t i, struct nvv_gsp_vgpu_info *ret);
/* The host vGPU device of gfid. -ENOENT when there is none. */
int nvv_gsp_get_host(const struct nvv_gsp *g, uint32_t gfid, struct nvv_gsp_host_info *ret);
enum nvv_gsp_task nvv_gsp_get_task(const struct nvv_gsp *g, uint32_t gfid);
/* The i-th type of the table (upload order), NULL beyond. */
const struct nvv_vgpu_type *nvv_gsp_get_type(const struct nvv_gsp *g, size_t i);
const struct nvv_vgpu_type *nvv_gsp_find_type(const struct nvv_gsp *g, uint32_t type_id);
/* Would create_device of this type succeed now (the creatable types: every check of
 * doc/firmware-model.md §4 but the name's)? */
bool nvv_gsp_creatable(const struct nvv_gsp *g, uint32_t type_id);
/* How many more vGPUs of this type create_device would make now, one after the other (0 when
 * it is not creatable). The state is the same after the call; it is not const because the
 * count is taken by placing them and taking them back. */
unsigned nvv_gsp_available(struct nvv_gsp *g, uint32_t type_id);
