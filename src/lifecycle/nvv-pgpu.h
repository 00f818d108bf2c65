/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The managed GPU: one physical GPU, its command channel, and the partition model kept in
 * step with what its firmware holds (DESIGN.md §2, §4). Bring-up runs the release's `init`
 * list from its description; create and delete predict with the model, issue the firmware
 * commands, and check the firmware's answer against the prediction; adopt takes over vGPUs a
 * previous manager made; VM start and stop are the sequences the hook and the daemon call.
 * Every failure midway undoes what that call did.
 *
 * Threads. One owner creates and frees the object; any number of threads may call the rest
 * at once. Two locks:
 *   - op_lock serialises everything that sends firmware commands (bring-up, adopt, create,
 *     delete, VM start and stop, reset handling). It is held across the firmware round trips,
 *     so two mutations of one GPU never interleave and never over-commit it.
 *   - state_lock guards the model, the vGPU table and the GPU state; it is held only for
 *     short reads and updates, never across a firmware command, so readers (list, available
 *     counts, snapshots) are not held up by a slow command.
 * Lock order: op_lock, then state_lock. Events (nvv_pgpu_process) take state_lock only.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-catalog.h"
#include "nvv-channel.h"
#include "nvv-cmd.h"
#include "nvv-fwabi.h"
#include "nvv-partition.h"
#include "nvv-policy.h"

struct nvv_host_gpu;
struct nvv_policy;

enum nvv_pgpu_state {
        NVV_PGPU_NEW,           /* not brought up */
        NVV_PGPU_READY,         /* init ran; vGPUs can be made */
        NVV_PGPU_FAILED,        /* a bring-up step was refused; nothing of it is left configured */
        NVV_PGPU_LOST,          /* the GSP reset: the firmware forgot its configuration and vGPUs */
        _NVV_PGPU_STATE_MAX,
        _NVV_PGPU_STATE_INVALID = -EINVAL,
};
const char *nvv_pgpu_state_to_string(enum nvv_pgpu_state s);    /* "ready" */
enum nvv_pgpu_state nvv_pgpu_state_from_string(const char *s);

enum nvv_vgpu_state {
        NVV_VGPU_CREATED,       /* the firmware holds it (535/550: the model reserves it) */
        NVV_VGPU_RUNNING,       /* host vGPU device allocated, plugin bootloaded */
        NVV_VGPU_CRASHED,       /* its plugin crashed; stop it to free its resources */
        NVV_VGPU_LOST,          /* the GSP reset under it */
        _NVV_VGPU_STATE_MAX,
        _NVV_VGPU_STATE_INVALID = -EINVAL,
};
const char *nvv_vgpu_state_to_string(enum nvv_vgpu_state s);    /* "running" */
enum nvv_vgpu_state nvv_vgpu_state_from_string(const char *s);

/* A vGPU as the managed GPU knows it (a copy: valid after the call). */
struct nvv_pgpu_vgpu {
        char name[NVV_PARTITION_NAME_MAX];      /* mdev UUID as text, or a VF's PCI address */
        uint32_t type_id;
        const struct nvv_catalog_type *type;    /* NULL for a type outside the catalog */
        enum nvv_vgpu_state state;
        struct nvv_partition_vgpu place;        /* placement, guest FB, plugin heap, channels */
        uint32_t vgpu_id;                       /* the firmware's id; 0 while it has none (535/550) */
        uint32_t gfid;                          /* while started: its VF's function id */
        uint32_t vm_pid;
        bool adopted;                           /* taken over from an earlier manager */
        bool paused;                            /* RUNNING, its plugin told to stop work */
        uint32_t resets;                        /* plugin resets since it started */
};

struct nvv_pgpu_options {
        const struct nvv_host_gpu *host;        /* from discovery (address, model, NUMA); optional */
        const struct nvv_catalog *catalog;      /* to find the model when host is NULL */
        const struct nvv_policy *policy;        /* NULL: the default policy */
        bool ecc;
        /* Tests and what-if: upload exactly these types in this mode instead of the catalog's
         * filtered by policy (copied). */
        const struct nvv_vgpu_type *types;
        size_t n_types;
        int mode;                               /* with types: enum nvv_partition_mode */
        bool heterogeneous_timesliced;          /* with types: what set_vgpu_mgr_config says */
};

struct nvv_pgpu;

/* Takes ownership of the channel (closed on failure too). The model comes from the host GPU
 * or the catalog entry matching the channel's PCI ids or model name. */
int nvv_pgpu_new(struct nvv_channel *ch, const struct nvv_pgpu_options *o, struct nvv_pgpu **ret,
                 char **reterr_msg);
struct nvv_pgpu *nvv_pgpu_free(struct nvv_pgpu *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_pgpu *, nvv_pgpu_free);

const char *nvv_pgpu_get_name(const struct nvv_pgpu *g);                /* PCI address */
const struct nvv_catalog_gpu *nvv_pgpu_get_model(const struct nvv_pgpu *g);
const struct nvv_fwabi *nvv_pgpu_get_fwabi(const struct nvv_pgpu *g);
struct nvv_channel *nvv_pgpu_get_channel(const struct nvv_pgpu *g);
enum nvv_pgpu_state nvv_pgpu_get_state(const struct nvv_pgpu *g);
int nvv_pgpu_get_numa_node(const struct nvv_pgpu *g);                   /* -1: unknown */
bool nvv_pgpu_get_ecc(const struct nvv_pgpu *g);
/* Why the GPU is failed or lost (a copy), or NULL. */
char *nvv_pgpu_get_error(const struct nvv_pgpu *g);

/*
 * Run the release's init list. Each step's input is built from the catalog, policy and
 * model; the firmware's answer is checked against the model. A refused step fails the call
 * with a message naming the step, the GPU and the status; the types uploaded so far are
 * withdrawn and the GPU is FAILED. A step the manager cannot build is refused before any
 * command is sent. Bringing up a READY GPU again (after a policy change, or LOST) re-runs it
 * when no vGPU exists (-EBUSY otherwise).
 */
int nvv_pgpu_bring_up(struct nvv_pgpu *g, char **reterr_msg);
/* Switch between equal-size and mixed-size mode and bring the GPU up in it: only while no vGPU
 * exists on it (-EBUSY, saying so), and mixed-size only on models that have it (-EOPNOTSUPP).
 * The mode stays for later bring-ups (after a GSP reset). */
int nvv_pgpu_set_mode(struct nvv_pgpu *g, enum nvv_partition_mode mode, char **reterr_msg);

/* What the init list did (for status output and tests). */
struct nvv_pgpu_init_info {
        size_t n_steps;
        int steps[32];                          /* enum nvv_cmd_id, in the order run */
        char firmware_version[NVV_NAME_MAX];    /* from get_features, "" if not asked */
        bool have_caps;
        struct nvv_cmd_sched_get_caps caps;
        struct nvv_cmd_sched_state sched;
        enum nvv_partition_mode mode;
        size_t n_types;
        /* A bring-up that failed at a step: that step (enum nvv_cmd_id) and the firmware's
         * status for its last command, in the model's terms: the refusal's, or NVV_FW_OK when
         * the firmware accepted it (the model or the policy refused) or gave no status (a
         * timeout). Unset after a bring-up that succeeded; a bring-up refused before any
         * command is sent changes nothing here. */
        bool failed;
        int failed_step;
        enum nvv_fw_status failed_status;
};
int nvv_pgpu_get_init_info(const struct nvv_pgpu *g, struct nvv_pgpu_init_info *ret);

/* The outcome of one firmware command, for callers that compare (the agreement test). */
struct nvv_pgpu_outcome {
        bool sent;                              /* a firmware command was issued */
        enum nvv_fw_status status;              /* its status in the model's terms */
        uint32_t fw_status;                     /* raw */
        enum nvv_partition_check predicted;     /* the model's verdict (NVV_CHECK_OK: accept) */
        bool disagreement;                      /* firmware and model differed */
};

/*
 * Create a vGPU of type_id named `name` (a UUID's text, or up to 16 bytes for a VF address).
 * placement_id: NVV_PLACEMENT_NONE for the firmware's rule (the lowest free); an explicit one
 * is honoured where the release lets the manager choose. The model predicts, the firmware
 * decides (CREATE_DEVICE; on 535/550 the allocation at VM start, so the model alone reserves
 * it now); a disagreement is an error naming both, and a vGPU the firmware made against the
 * prediction is deleted again. ret and outcome may be NULL.
 */
int nvv_pgpu_create_vgpu(struct nvv_pgpu *g, uint32_t type_id, uint32_t placement_id, const char *name,
                         struct nvv_pgpu_vgpu *ret, struct nvv_pgpu_outcome *outcome, char **reterr_msg);
/* Make sure the firmware holds no vGPU of this name that the model does not know: what a
 * create interrupted by a crash may have left. DELETE_DEVICE with every id the model does
 * not hold until one is accepted; NV_ERR_OBJECT_NOT_FOUND for all is success too.
 * *ret_found: one was deleted. -EBUSY when the model holds the name. */
int nvv_pgpu_discard_vgpu(struct nvv_pgpu *g, const char *name, bool *ret_found, char **reterr_msg);
/* Delete a vGPU that is not started (-EBUSY if it is). -ENOENT: unknown. */
int nvv_pgpu_delete_vgpu(struct nvv_pgpu *g, const char *name, struct nvv_pgpu_outcome *outcome,
                         char **reterr_msg);

/*
 * VM start (DESIGN.md §4, hook `prepare`): allocate the host vGPU device on a free VF, bootload
 * the plugin with the FB segments, channel block and heap from the model, set its placement
 * where the release has that control, and mark the guest created. A failure midway undoes
 * the steps that succeeded (shutdown, cleanup, free), in reverse.
 * gfid 0: the lowest free VF.
 */
struct nvv_pgpu_vm_params {
        uint32_t gfid;
        uint32_t vm_pid;
        uint8_t vm_uuid[16];
        /* Optional write-ahead intent: called once the VF (gfid) and the host vGPU device's
         * handle are chosen, before the first firmware command, so that a manager killed
         * midway knows what to tear down (nvv_pgpu_vm_settle). A negative return refuses
         * the start with nothing sent (its *reterr_msg says why). Called with op_lock held:
         * it may read this GPU (nvv_pgpu_find_vgpu), not change it. Not called on GPUs of
         * the upstream interface, whose start changes nothing in the firmware. */
        int (*intent)(void *userdata, const char *name, uint32_t gfid, uint32_t handle, char **reterr_msg);
        void *userdata;
};
int nvv_pgpu_vm_start(struct nvv_pgpu *g, const char *name, const struct nvv_pgpu_vm_params *params,
                      struct nvv_pgpu_vgpu *ret, char **reterr_msg);
/* VM stop (hook `stopped` / `release`): shut the plugin down, clean it up, free its states and
 * the host vGPU device. Idempotent: a vGPU not started is left as it is (0), and so is one
 * whose stop was cut short before (a manager killed midway): once the host vGPU device is
 * freed, or found freed already, the refusals of steps already done (INVALID_STATE, not
 * found) do not count. Every step runs even when one before it fails; otherwise the first
 * error is returned. */
int nvv_pgpu_vm_stop(struct nvv_pgpu *g, const char *name, char **reterr_msg);
/* Settle a VM start that a killed manager left unrecorded: its write-ahead intent (the
 * params' intent) named the VF and the handle. Every tear-down step is tried with that handle
 * (refusals of steps that never ran are ignored), and the vGPU is CREATED, whether the model
 * took it as running (adopt: the firmware runs it) or not. Nothing is sent when another vGPU
 * of the model holds that VF (the start then never got its device). -ENOENT: no such vGPU;
 * a command left unanswered fails the call, and the model keeps what adopt found. */
int nvv_pgpu_vm_settle(struct nvv_pgpu *g, const char *name, uint32_t gfid, uint32_t handle, char **reterr_msg);

/*
 * What a running VM's pause, resume and reset mean for its vGPU: a message on the host RPC
 * channel of its plugin (MIGRATION_STOP_WORK, MIGRATION_RESUME_WORK, RESET; the numbers are
 * the release's, nvv_channel_host_rpc). Pausing a paused vGPU or resuming a running one does
 * nothing; a reset resumes too. -ESRCH: the vGPU is not running; -EOPNOTSUPP: the release or
 * the transport has no such channel; the plugin's refusal is -EIO.
 */
int nvv_pgpu_vm_pause(struct nvv_pgpu *g, const char *name, char **reterr_msg);
int nvv_pgpu_vm_resume(struct nvv_pgpu *g, const char *name, char **reterr_msg);
int nvv_pgpu_vm_reset(struct nvv_pgpu *g, const char *name, char **reterr_msg);

/*
 * Adopt: rebuild the model from what the firmware holds, without sending a command that
 * changes anything. `known` are the vGPUs the firmware holds as an earlier manager recorded
 * them (state store, sysfs, or the simulator's state); the firmware's own list
 * (ENUMERATE_VGPU_PER_PGPU) says which of them are started. The types and mode come from the
 * same catalog and policy as bring-up would use. Every known vGPU is either taken into the
 * model or reported in *ret_unplaced (one line each, never dropped); a started VF the
 * firmware reports that no known vGPU accounts for is reported too. The GPU is READY after.
 */
struct nvv_pgpu_known {
        struct nvv_partition_vgpu place;        /* name, type, vgpu_id, placement, FB, channels */
        uint32_t gfid;                          /* 0: not started */
        uint32_t host_handle;                   /* its host vGPU device, when started */
        /* A start was under way on gfid (a write-ahead intent): the firmware may run it or
         * not, and either is no news (taken as running when it does; nothing reported when
         * it does not). The caller settles it next (nvv_pgpu_vm_settle). */
        bool starting;
};
int nvv_pgpu_adopt(struct nvv_pgpu *g, const struct nvv_pgpu_known *known, size_t n_known, char ***ret_unplaced,
                   char **reterr_msg);

/* Snapshots (state_lock only). */
size_t nvv_pgpu_count(const struct nvv_pgpu *g);
int nvv_pgpu_get_vgpu(const struct nvv_pgpu *g, size_t i, struct nvv_pgpu_vgpu *ret);
int nvv_pgpu_find_vgpu(const struct nvv_pgpu *g, const char *name, struct nvv_pgpu_vgpu *ret);
/* The handle of a started vGPU's host vGPU device (what the state records, so that a later
 * manager can stop it); 0 when it is not started or not there. */
uint32_t nvv_pgpu_get_host_handle(const struct nvv_pgpu *g, const char *name);
unsigned nvv_pgpu_available(const struct nvv_pgpu *g, uint32_t type_id);
/* A copy of the model (for planning against live state). */
int nvv_pgpu_clone_partition(const struct nvv_pgpu *g, struct nvv_partition **ret);

/*
 * The time-sliced scheduler at run time. get: what the firmware runs now (OBJSCHED_GET_STATE
 * where the release has it, else what bring-up set), the caps read at bring-up, and the
 * scheduler the manager asked for (set.set false: the firmware's default). set: checked
 * against the caps and the mode as a policy file's is, then OBJSCHED_SET_STATE; a time slice
 * of 0 keeps the current one. What set asked for stays for later bring-ups (after a GSP
 * reset) until the manager restarts. Both -ENODEV unless the GPU is READY. NVIDIA documents
 * that running vGPUs see a scheduler change only after they restart.
 */
struct nvv_pgpu_sched {
        bool have_caps;
        struct nvv_cmd_sched_get_caps caps;
        struct nvv_cmd_sched_state state;
        bool from_firmware;                     /* state was read back from the firmware */
        struct nvv_policy_sched set;
};
int nvv_pgpu_sched_get(struct nvv_pgpu *g, struct nvv_pgpu_sched *ret, char **reterr_msg);
int nvv_pgpu_sched_set(struct nvv_pgpu *g, const struct nvv_policy_sched *s, char **reterr_msg);

/*
 * Events. nvv_pgpu_process() delivers what the channel has waiting (call it when
 * nvv_pgpu_get_fd() polls readable): a plugin crash marks its vGPU CRASHED, a GSP reset marks
 * the GPU and every vGPU LOST. fn (optional) sees every event after that, for the daemon's
 * event stream.
 */
typedef void (*nvv_pgpu_event_fn)(void *userdata, struct nvv_pgpu *g, int event, const union nvv_cmd_any *payload);
int nvv_pgpu_subscribe(struct nvv_pgpu *g, nvv_pgpu_event_fn fn, void *userdata, char **reterr_msg);
int nvv_pgpu_get_fd(const struct nvv_pgpu *g);
int nvv_pgpu_process(struct nvv_pgpu *g);
/* What a GSP reset event does, for when the manager learns otherwise that the firmware's
 * state is gone (the GPU was unplugged): the GPU and every vGPU LOST, why as its error. */
int nvv_pgpu_set_lost(struct nvv_pgpu *g, const char *why);

/*
 * Why a type cannot be created on this GPU now, for people ("no peer tells its users this").
 * NVV_WHY_NONE: it can (available > 0). The message is a sentence naming the cause and the
 * numbers behind it, e.g. "its cap is reached: 2 of 2 L40S-24Q exist".
 */
enum nvv_pgpu_why {
        NVV_WHY_NONE,
        NVV_WHY_UNKNOWN_TYPE,   /* not in this GPU's type table */
        NVV_WHY_CAP,            /* max_instance of the type reached */
        NVV_WHY_MODE,           /* equal-size mode and another type holds the GPU */
        NVV_WHY_FRAGMENTED,     /* enough free framebuffer in total, but no placement free */
        NVV_WHY_FB,             /* not enough free framebuffer */
        NVV_WHY_NO_VF,          /* every VF (or the release's vGPU limit) is in use */
        NVV_WHY_CHANNELS,       /* no channel block free */
        NVV_WHY_GPU_STATE,      /* the GPU is not ready (failed bring-up, lost, not brought up) */
        _NVV_WHY_MAX,
        _NVV_WHY_INVALID = -EINVAL,
};
const char *nvv_pgpu_why_to_string(enum nvv_pgpu_why w);        /* "cap-reached" */
enum nvv_pgpu_why nvv_pgpu_why_not(const struct nvv_pgpu *g, uint32_t type_id, char **ret_message);

/* Framebuffer picture for maps: what the model holds (state_lock). */
struct nvv_pgpu_fb {
        uint64_t total, reserved_start;         /* vGPU-usable range: [0, reserved_start) */
        uint64_t used, free, largest_free;      /* bytes inside the usable range */
};
int nvv_pgpu_get_fb(const struct nvv_pgpu *g, struct nvv_pgpu_fb *ret);
