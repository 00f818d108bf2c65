/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A firmware release description (data/fwabi/RELEASE.json, nvvgpu-fwabi(5)) loaded into
 * memory, and the lookups on it. Everything that differs between GSP releases lives here;
 * the code only asks. Loading and validating is nvv-fwabi-load.h, the set of known
 * releases nvv-fwdb.h, the struct layouts nvv-wstruct.h.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-marshal.h"
#include "nvv-wstruct.h"

/* The RM object a control or allocation targets. */
enum nvv_object {
        NVV_OBJ_CLIENT,
        NVV_OBJ_DEVICE,
        NVV_OBJ_SUBDEVICE,
        NVV_OBJ_HOST_VGPU_DEVICE,
        _NVV_OBJ_MAX,
        _NVV_OBJ_INVALID = -EINVAL,
};
const char *nvv_object_to_string(enum nvv_object o);

struct nvv_control {
        char *name;
        uint32_t id;
        const struct nvv_wstruct *params;
        enum nvv_object object;
};

struct nvv_alloc {
        char *name;
        uint32_t hclass;
        const struct nvv_wstruct *params;
        enum nvv_object parent;
};

/* A header field found by its role ("length", "checksum", ...). */
struct nvv_role {
        uint32_t offset;
        uint8_t width; /* 1, 2, 4 or 8 */
};

enum nvv_checksum {
        NVV_CHECKSUM_XOR64_FOLD32,
        _NVV_CHECKSUM_MAX,
        _NVV_CHECKSUM_INVALID = -EINVAL,
};

struct nvv_queue_desc {
        uint32_t element_size;    /* bytes of one queue element */
        uint32_t max_elements;    /* elements one message may span */
        uint32_t queue_size;      /* bytes of one ring (command or status) */
        bool negotiated;          /* geometry handed over at boot rather than fixed */
        enum nvv_checksum checksum;
        const struct nvv_wstruct *element_header;
        struct nvv_role el_checksum, el_sequence, el_count;
        uint32_t el_header_size;  /* offset of the RPC inside an element */
        const struct nvv_wstruct *rpc_header;
        struct nvv_role rpc_header_version, rpc_signature, rpc_length, rpc_function,
                rpc_result, rpc_result_private, rpc_sequence, rpc_gfid;
        uint32_t rpc_header_size; /* offset of the RPC payload */
        uint32_t header_version, signature, result_pending;
        uint32_t fn_continuation, fn_control, fn_alloc;
        const struct nvv_wstruct *control_header;
        struct nvv_role ctl_client, ctl_object, ctl_cmd, ctl_status, ctl_params_size;
        uint32_t ctl_header_size;
        const struct nvv_wstruct *alloc_header;
        struct nvv_role al_client, al_parent, al_object, al_class, al_status, al_params_size;
        uint32_t al_header_size;
        uint32_t timeout_ms;
        uint32_t max_rpc_size;    /* element_size * max_elements - el_header_size */
};

struct nvv_status {
        char *name;
        uint32_t value;
        int errno_value; /* positive errno the manager reports it as */
};

/* Stable command → wire binding, checked and compiled at load. */
struct nvv_binding {
        char *name;
        int cmd;                          /* enum nvv_cmd_id */
        const struct nvv_control *control; /* exactly one of control / alloc / function */
        const struct nvv_alloc *alloc;
        bool is_function;                 /* an RPC function of its own (RM FREE, say) */
        uint32_t function;
        const struct nvv_wstruct *payload; /* is_function: the struct after the RPC header */
        uint32_t timeout_ms;
        struct nvv_wplan *plan;
};

struct nvv_event_binding {
        char *name;
        int event;                        /* enum nvv_event_id */
        uint32_t number;                  /* firmware event number */
        const struct nvv_wstruct *payload; /* NULL when the event carries nothing we read */
        struct nvv_wplan *plan;
};

struct nvv_sizing {
        uint64_t gsp_fw_heap_vgpu_mb;
        uint64_t gsp_fw_heap_vgpu_min_mb, gsp_fw_heap_vgpu_max_mb;
        uint64_t gsp_fw_heap_vgpu_48vms_mb; /* 0 when the release has none */
        char **gsp_fw_heap_48vms_devices;   /* "vvvv:dddd:ssss:ssss" */
        uint32_t max_vgpu_types_per_pgpu;
        uint32_t max_vgpu_per_pgpu;
        uint32_t max_vgpu_per_pgpu_non_mig;
        uint32_t max_vgpu_per_gi;
        uint32_t vgpu_string_size;
        uint32_t placement_id_invalid;
        uint32_t max_vmmu_segments;
        uint32_t max_engines;
};

struct nvv_fwabi {
        char *release;
        char **compatible;
        char *path;
        char *source;
        struct nvv_queue_desc queue;

        size_t n_structs;
        struct nvv_wstruct *structs;      /* sorted by name */
        size_t n_functions;
        struct nvv_named *functions;      /* sorted by value */
        size_t n_events;
        struct nvv_named *events;         /* sorted by value */
        size_t n_controls;
        struct nvv_control *controls;     /* sorted by id */
        size_t n_allocs;
        struct nvv_alloc *allocs;
        size_t n_domains;
        struct nvv_domain *domains;
        size_t n_status;
        struct nvv_status *status;        /* sorted by value */
        struct nvv_binding *commands[64];  /* by enum nvv_cmd_id; NULL = not offered */
        struct nvv_event_binding *event_bindings[16]; /* by enum nvv_event_id */
        size_t n_event_bindings;
        struct nvv_sizing sizing;
        int *init;                        /* enum nvv_cmd_id list */
        size_t n_init;
        /* The host RPC channel of a running vGPU's plugin (the control/response regions of its
         * plugin heap and a doorbell, not the message queue): its message numbers, by value;
         * none when the description names none. */
        size_t n_host_msgs;
        struct nvv_named *host_msgs;
        int host_rpc_timeout_ms;
};

/* A loaded release (nvv-fwabi-load.h makes one) and the questions asked of it. */
struct nvv_fwabi *nvv_fwabi_free(struct nvv_fwabi *fw);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_fwabi *, nvv_fwabi_free);

const struct nvv_wstruct *nvv_fwabi_find_struct(const struct nvv_fwabi *fw, const char *name);
const char *nvv_fwabi_function_name(const struct nvv_fwabi *fw, uint32_t value);
const char *nvv_fwabi_event_name(const struct nvv_fwabi *fw, uint32_t value);
int nvv_fwabi_function_value(const struct nvv_fwabi *fw, const char *name, uint32_t *ret);
int nvv_fwabi_event_value(const struct nvv_fwabi *fw, const char *name, uint32_t *ret);
/* A host RPC message's number by its name ("MIGRATION_STOP_WORK"); -ENOENT if not named. */
int nvv_fwabi_host_msg_value(const struct nvv_fwabi *fw, const char *name, uint32_t *ret);
const char *nvv_fwabi_host_msg_name(const struct nvv_fwabi *fw, uint32_t value);
const struct nvv_control *nvv_fwabi_control_by_id(const struct nvv_fwabi *fw, uint32_t id);
const struct nvv_control *nvv_fwabi_control_by_name(const struct nvv_fwabi *fw, const char *name);
const struct nvv_alloc *nvv_fwabi_alloc_by_class(const struct nvv_fwabi *fw, uint32_t hclass);
const struct nvv_alloc *nvv_fwabi_alloc_by_name(const struct nvv_fwabi *fw, const char *name);
const struct nvv_domain *nvv_fwabi_find_domain(const struct nvv_fwabi *fw, const char *name);
const struct nvv_status *nvv_fwabi_status(const struct nvv_fwabi *fw, uint32_t value);
const struct nvv_binding *nvv_fwabi_command(const struct nvv_fwabi *fw, int cmd);
const struct nvv_event_binding *nvv_fwabi_event_binding(const struct nvv_fwabi *fw, uint32_t number);

/* Firmware status word → negative errno (translated once, here). NV_OK → 0. */
int nvv_fwabi_status_to_errno(const struct nvv_fwabi *fw, uint32_t status);
/* "NV_ERR_INSUFFICIENT_RESOURCES (0x1a)" into buf. */
const char *nvv_fwabi_status_to_string(const struct nvv_fwabi *fw, uint32_t status,
                                       char *buf, size_t size);

/* Does this description serve a GPU running `release` (exact, or a compatible prefix)? 2 = exact, 1 = prefix, 0 = no. */
int nvv_fwabi_serves(const struct nvv_fwabi *fw, const char *release);

/* Compare dotted release strings numerically ("570.144" < "580.65.06"). */
int nvv_release_compare(const char *a, const char *b);
/* Checks "NNN.NN[.NN]" shape. */
bool nvv_release_is_valid(const char *s);

/* The orders the loader sorts the tables in, which the lookups search by. */
int nvv_wstruct_compare_name(const void *a, const void *b);
int nvv_named_compare_value(const void *a, const void *b);
int nvv_control_compare_id(const void *a, const void *b);
int nvv_status_compare_value(const void *a, const void *b);
