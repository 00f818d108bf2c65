/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The stable, version-free command set the manager speaks. Every struct here is ours;
 * data/fwabi/RELEASE.json binds each field by name to the wire layout of a release, and
 * the marshaller (nvv-marshal.h) converts. Nothing in this file depends on a release.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

enum nvv_cmd_id {
        NVV_CMD_GET_FEATURES,
        NVV_CMD_SET_VGPU_MGR_CONFIG,
        NVV_CMD_ADD_VGPU_TYPES,
        NVV_CMD_BOOTLOAD_PLUGIN,
        NVV_CMD_SHUTDOWN_PLUGIN,
        NVV_CMD_CLEANUP_PLUGIN,
        NVV_CMD_CLEAR_GUEST_VM_INFO,
        NVV_CMD_FREE_STATES,
        NVV_CMD_CREATE_DEVICE,
        NVV_CMD_DELETE_DEVICE,
        NVV_CMD_GET_START_DATA,
        NVV_CMD_SCHED_GET_CAPS,
        NVV_CMD_SCHED_GET_STATE,
        NVV_CMD_SCHED_SET_STATE,
        NVV_CMD_ENUMERATE_VGPUS,
        NVV_CMD_SET_HETEROGENEOUS_MODE,
        NVV_CMD_SET_GUEST_LIFECYCLE,
        NVV_CMD_SET_PLACEMENT_ID,
        NVV_CMD_SET_POWER_STATE,
        NVV_CMD_ALLOC_HOST_VGPU,
        NVV_CMD_FREE_OBJECT,
        _NVV_CMD_MAX,
        _NVV_CMD_INVALID = -EINVAL,
};

enum nvv_event_id {
        NVV_EVENT_PLUGIN,    /* plugin task / guest driver notification */
        NVV_EVENT_RC_ERROR,  /* robust-channel error */
        NVV_EVENT_GSP_RESET, /* the GSP came (back) up */
        _NVV_EVENT_MAX,
        _NVV_EVENT_INVALID = -EINVAL,
};

/* Stable enums: value 0 is always "unknown", what a decode yields for a wire value the
 * release description does not name. Names match the value domains in the data files. */
enum nvv_sched_policy {
        NVV_SCHED_UNKNOWN,
        NVV_SCHED_OTHER,
        NVV_SCHED_BEST_EFFORT,
        NVV_SCHED_EQUAL_SHARE,
        NVV_SCHED_FIXED_SHARE,
        _NVV_SCHED_MAX,
};
enum nvv_sched_arr {
        NVV_ARR_UNKNOWN,
        NVV_ARR_DEFAULT,
        NVV_ARR_DISABLE,
        NVV_ARR_ENABLE,
        _NVV_ARR_MAX,
};
enum nvv_plugin_notify {
        NVV_NOTIFY_UNKNOWN,
        NVV_NOTIFY_BOOTLOADED,
        NVV_NOTIFY_UNLOADED,
        NVV_NOTIFY_CRASHED,
        NVV_NOTIFY_GUEST_DRIVER_LOADED,
        NVV_NOTIFY_GUEST_DRIVER_UNLOADED,
        NVV_NOTIFY_PRINT_ERROR,
        NVV_NOTIFY_LICENSE_CHANGED,
        NVV_NOTIFY_GUEST_OS_TYPE,
        _NVV_NOTIFY_MAX,
};
enum nvv_guest_lifecycle {
        NVV_GUEST_UNKNOWN,
        NVV_GUEST_CREATED,
        NVV_GUEST_INITIALISING,
        NVV_GUEST_DESTROYED,
        _NVV_GUEST_MAX,
};

extern const char *const nvv_sched_policy_names[_NVV_SCHED_MAX];
extern const char *const nvv_sched_arr_names[_NVV_ARR_MAX];
extern const char *const nvv_plugin_notify_names[_NVV_NOTIFY_MAX];
extern const char *const nvv_guest_lifecycle_names[_NVV_GUEST_MAX];

#define NVV_NAME_MAX 64
#define NVV_LONG_NAME_MAX 128
#define NVV_MAX_VGPU_TYPES 128
#define NVV_MAX_PLACEMENTS 64
#define NVV_MAX_ENGINES 128
#define NVV_MAX_FB_SEGMENTS 384
#define NVV_MAX_VGPUS 64
#define NVV_PLACEMENT_NONE UINT32_MAX

struct nvv_cmd_get_features {
        uint32_t features;
        bool valid;
        bool default_gsp_rm_gpu;
        char firmware_version[NVV_NAME_MAX];
};

struct nvv_cmd_set_vgpu_mgr_config {
        bool heterogeneous_timesliced;
};

struct nvv_vgpu_type {
        uint32_t type_id;
        char name[NVV_NAME_MAX];
        char class_name[NVV_NAME_MAX];
        uint8_t signature[128];
        char license[NVV_LONG_NAME_MAX];
        uint32_t max_instance;
        uint32_t num_heads;
        uint32_t max_resolution_x, max_resolution_y, max_pixels;
        uint32_t frl_config;
        uint32_t cuda_enabled;
        uint32_t ecc_supported;
        uint32_t gpu_instance_size;
        uint32_t multi_vgpu_supported;
        uint64_t vdev_id, pdev_id;
        uint64_t profile_size;
        uint64_t fb_length;
        uint64_t gsp_heap_size;
        uint64_t fb_reservation;
        uint64_t mappable_video_size;
        uint32_t encoder_capacity;
        uint64_t bar1_length;
        uint32_t frl_enable;
        char adapter_name[NVV_NAME_MAX];
        char short_gpu_name[NVV_NAME_MAX];
        char licensed_product_name[NVV_LONG_NAME_MAX];
        uint32_t ftrace_enable;
        uint32_t gpu_direct_supported;
        uint32_t nvlink_p2p_supported;
        uint32_t multi_vgpu_exclusive;
        uint32_t exclusive_type;
        uint32_t exclusive_size;
        uint32_t gpu_instance_profile_id;
        uint32_t placement_size;
        uint32_t homogeneous_placement_count;
        uint32_t homogeneous_placement_ids[NVV_MAX_PLACEMENTS];
        uint32_t heterogeneous_placement_count;
        uint32_t heterogeneous_placement_ids[NVV_MAX_PLACEMENTS];
        uint32_t max_instance_per_gi;
        uint32_t nominal_fb_region_size;
        uint16_t vgpu_ssvid;
};

struct nvv_cmd_add_vgpu_types {
        bool discard;
        uint32_t count;
        struct nvv_vgpu_type types[NVV_MAX_VGPU_TYPES];
};

struct nvv_cmd_bootload_plugin {
        uint32_t dbdf, gfid, type_id, vm_pid, swizz_id;
        uint32_t num_channels, num_plugin_channels;
        uint32_t chid_offset[NVV_MAX_ENGINES];
        bool disable_smc_restore;
        uint32_t fb_segment_count;
        uint64_t fb_segment_addr[NVV_MAX_FB_SEGMENTS];
        uint64_t fb_segment_len[NVV_MAX_FB_SEGMENTS];
        uint64_t plugin_heap_addr, plugin_heap_len;
        uint64_t ctrl_buf_offset;
        uint64_t init_log_offset, init_log_size;
        uint64_t task_log_offset, task_log_size;
        uint64_t kernel_log_offset, kernel_log_size;
        uint64_t mig_heap_addr, mig_heap_len;
        bool profiling;
};

struct nvv_cmd_gfid {
        uint32_t gfid;
};

struct nvv_cmd_free_states {
        uint32_t gfid;
        uint32_t flags;
};

struct nvv_cmd_create_device {
        uint8_t vgpu_name[16];  /* mdev UUID, or the VF's BDF as text */
        uint32_t gpu_pci_id;
        uint32_t gpu_pci_bdf;
        uint32_t type_id;
        uint32_t vgpu_id;          /* out */
        uint32_t gpu_instance_id;  /* out */
        uint32_t placement_id;     /* out; NVV_PLACEMENT_NONE when the release has none */
};

struct nvv_cmd_delete_device {
        uint8_t vgpu_name[16];
        uint32_t vgpu_id;
};

struct nvv_cmd_get_start_data {
        uint8_t mdev_uuid[16];
        uint8_t config_params[1024]; /* out */
        uint32_t qemu_pid;           /* out */
        uint32_t gpu_pci_id;         /* out */
        uint32_t vgpu_id;            /* out */
        uint32_t gpu_pci_bdf;        /* out */
};

struct nvv_cmd_sched_get_caps {
        uint32_t engine_id;
        uint32_t supported_policies[8]; /* enum nvv_sched_policy */
        bool arr_supported;
        uint32_t max_timeslice_ns, min_timeslice_ns;
        uint32_t max_arr_frequency, min_arr_frequency;
        uint32_t max_arr_avg_factor, min_arr_avg_factor;
};

struct nvv_cmd_sched_state {
        uint32_t engine_id;
        uint32_t policy;          /* enum nvv_sched_policy */
        uint32_t arr;             /* enum nvv_sched_arr */
        uint32_t timeslice_ns;
        uint32_t arr_frequency;   /* set only */
        uint32_t arr_avg_factor;
};

struct nvv_vgpu_guest {
        uint32_t gfid;
        uint64_t vgpu_pci_id;
        uint32_t device_instance_id;
        uint32_t accounting_pid;
        uint64_t fb_used;
        uint32_t encoder_capacity;
        uint32_t ecc_state;
        bool driver_loaded;
        uint32_t vm_pid;
        uint32_t guest_os;
        uint32_t migration_prohibited;
        uint32_t frame_rate_limit;
        bool licensed;
        char guest_driver_version[NVV_NAME_MAX];
        char guest_driver_branch[NVV_NAME_MAX];
};

struct nvv_cmd_enumerate_vgpus {
        uint32_t count;
        struct nvv_vgpu_guest vgpus[NVV_MAX_VGPUS];
};

struct nvv_cmd_set_heterogeneous_mode {
        bool enabled;
        uint32_t gpu_instance_id;
};

struct nvv_cmd_set_guest_lifecycle {
        uint32_t state; /* enum nvv_guest_lifecycle */
};

struct nvv_cmd_set_placement_id {
        uint32_t num_channels;
        uint32_t placement_id;
};

struct nvv_cmd_set_power_state {
        uint32_t state;
};

struct nvv_cmd_alloc_host_vgpu {
        uint32_t dbdf, gfid, swizz_id, type_id, vm_pid, accounting_pid;
        uint32_t num_channels, num_plugin_channels;
        uint32_t placement_id;
        uint32_t vm_id_type;
        uint8_t guest_vm_id[16];
        bool disable_smc_restore;
        uint32_t device_instance_id;
        uint32_t plugin_client;
        uint8_t vgpu_dev_name[16];
        uint32_t fb_handle_count;
        uint32_t fb_handles[NVV_MAX_FB_SEGMENTS];
        uint32_t plugin_heap_handle, mig_heap_handle;
        uint64_t ctrl_buf_offset;
        uint64_t init_log_offset, init_log_size;
        uint64_t task_log_offset, task_log_size;
        uint64_t kernel_log_offset, kernel_log_size;
        bool profiling;
        bool live_migration;
};

/* RM FREE of an object (the host vGPU device, say). */
struct nvv_cmd_free_object {
        uint32_t client;
        uint32_t parent;
        uint32_t object;
};

struct nvv_event_plugin {
        uint32_t gfid;
        uint32_t notify; /* enum nvv_plugin_notify */
};

struct nvv_event_rc_error {
        uint32_t engine_type, chid, gfid;
        uint32_t except_level, except_type, scope;
};

struct nvv_event_gsp_reset {
        uint32_t reserved;
};

/* Large enough for any command or event above. */
union nvv_cmd_any {
        struct nvv_cmd_get_features get_features;
        struct nvv_cmd_set_vgpu_mgr_config set_vgpu_mgr_config;
        struct nvv_cmd_add_vgpu_types add_vgpu_types;
        struct nvv_cmd_bootload_plugin bootload_plugin;
        struct nvv_cmd_gfid gfid;
        struct nvv_cmd_free_states free_states;
        struct nvv_cmd_create_device create_device;
        struct nvv_cmd_delete_device delete_device;
        struct nvv_cmd_get_start_data get_start_data;
        struct nvv_cmd_sched_get_caps sched_get_caps;
        struct nvv_cmd_sched_state sched_state;
        struct nvv_cmd_enumerate_vgpus enumerate_vgpus;
        struct nvv_cmd_set_heterogeneous_mode set_heterogeneous_mode;
        struct nvv_cmd_set_guest_lifecycle set_guest_lifecycle;
        struct nvv_cmd_set_placement_id set_placement_id;
        struct nvv_cmd_set_power_state set_power_state;
        struct nvv_cmd_alloc_host_vgpu alloc_host_vgpu;
        struct nvv_cmd_free_object free_object;
        struct nvv_event_plugin event_plugin;
        struct nvv_event_rc_error event_rc_error;
        struct nvv_event_gsp_reset event_gsp_reset;
};

/* Stable schema: what the marshaller knows about our side of a binding. */
enum nvv_skind {
        NVV_SK_UINT,    /* unsigned integer of `width` bytes; count > 1 = array */
        NVV_SK_BOOL,    /* C bool */
        NVV_SK_STRING,  /* NUL-terminated text, `count` bytes of storage */
        NVV_SK_BYTES,   /* opaque bytes, `count` of them */
        NVV_SK_ENUM,    /* uint32 index into enum_names, translated through a value domain */
        NVV_SK_STRUCTS, /* array of `count` elements described by `elem` */
};

struct nvv_sschema;

struct nvv_sfield {
        const char *name;
        uint32_t offset;
        enum nvv_skind kind;
        uint8_t width;
        uint32_t count;
        const struct nvv_sschema *elem;
        uint32_t elem_size;
        const char *domain;             /* NVV_SK_ENUM: value domain name in the data */
        const char *const *enum_names;
        uint32_t n_enum_names;
        const char *count_field;        /* the field holding this array's used length */
        uint64_t def;                   /* value when a release lacks the field */
        bool out;                       /* filled by the firmware: a request leaves it zero */
};

struct nvv_sschema {
        const char *name;
        uint32_t size;
        size_t n_fields;
        const struct nvv_sfield *fields;
};

const char *nvv_cmd_to_string(int cmd);
int nvv_cmd_from_string(const char *s);
const struct nvv_sschema *nvv_cmd_schema(int cmd);
const char *nvv_event_to_string(int ev);
int nvv_event_from_string(const char *s);
const struct nvv_sschema *nvv_event_schema(int ev);
const struct nvv_sfield *nvv_sschema_find(const struct nvv_sschema *s, const char *name);
