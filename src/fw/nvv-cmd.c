/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>
#include <string.h>

#include "nvv-cmd.h"
#include "util.h"

const char *const nvv_sched_policy_names[_NVV_SCHED_MAX] = {
        "unknown", "other", "best_effort", "equal_share", "fixed_share",
};
const char *const nvv_sched_arr_names[_NVV_ARR_MAX] = {
        "unknown", "default", "disable", "enable",
};
const char *const nvv_plugin_notify_names[_NVV_NOTIFY_MAX] = {
        "unknown", "bootloaded", "unloaded", "crashed", "guest_driver_loaded",
        "guest_driver_unloaded", "print_error", "license_changed", "guest_os_type",
};
const char *const nvv_guest_lifecycle_names[_NVV_GUEST_MAX] = {
        "unknown", "created", "initialising", "destroyed",
};

#define MEMBER(T, f) (((T *) 0)->f)
#define F_UINT(T, f) \
        { .name = #f, .offset = offsetof(T, f), .kind = NVV_SK_UINT, .width = sizeof(MEMBER(T, f)), .count = 1 }
#define F_UINT_DEF(T, f, d) \
        { .name = #f, .offset = offsetof(T, f), .kind = NVV_SK_UINT, .width = sizeof(MEMBER(T, f)), .count = 1, .def = (d) }
#define F_UARR(T, f, cnt) \
        { .name = #f, .offset = offsetof(T, f), .kind = NVV_SK_UINT, .width = sizeof(MEMBER(T, f)[0]), \
          .count = ELEMENTSOF(MEMBER(T, f)), .count_field = (cnt) }
#define F_BOOL(T, f) \
        { .name = #f, .offset = offsetof(T, f), .kind = NVV_SK_BOOL, .width = 1, .count = 1 }
#define F_STR(T, f) \
        { .name = #f, .offset = offsetof(T, f), .kind = NVV_SK_STRING, .width = 1, .count = sizeof(MEMBER(T, f)) }
#define F_BYTES(T, f) \
        { .name = #f, .offset = offsetof(T, f), .kind = NVV_SK_BYTES, .width = 1, .count = sizeof(MEMBER(T, f)) }
#define F_ENUM(T, f, dom, names) \
        { .name = #f, .offset = offsetof(T, f), .kind = NVV_SK_ENUM, .width = 4, .count = 1, .domain = (dom), \
          .enum_names = (names), .n_enum_names = ELEMENTSOF(names) }
#define F_ENUMARR(T, f, dom, names) \
        { .name = #f, .offset = offsetof(T, f), .kind = NVV_SK_ENUM, .width = 4, .count = ELEMENTSOF(MEMBER(T, f)), \
          .domain = (dom), .enum_names = (names), .n_enum_names = ELEMENTSOF(names) }
#define F_STRUCTS(T, f, schema, cnt) \
        { .name = #f, .offset = offsetof(T, f), .kind = NVV_SK_STRUCTS, .count = ELEMENTSOF(MEMBER(T, f)), \
          .elem = &(schema), .elem_size = sizeof(MEMBER(T, f)[0]), .count_field = (cnt) }
#define O(...) { __VA_ARGS__, .out = true }
#define F_UINT_O(T, f) \
        O(.name = #f, .offset = offsetof(T, f), .kind = NVV_SK_UINT, .width = sizeof(MEMBER(T, f)), .count = 1)
#define F_UINT_DEF_O(T, f, d) \
        O(.name = #f, .offset = offsetof(T, f), .kind = NVV_SK_UINT, .width = sizeof(MEMBER(T, f)), .count = 1, .def = (d))
#define F_BOOL_O(T, f) O(.name = #f, .offset = offsetof(T, f), .kind = NVV_SK_BOOL, .width = 1, .count = 1)
#define F_STR_O(T, f) \
        O(.name = #f, .offset = offsetof(T, f), .kind = NVV_SK_STRING, .width = 1, .count = sizeof(MEMBER(T, f)))
#define F_BYTES_O(T, f) \
        O(.name = #f, .offset = offsetof(T, f), .kind = NVV_SK_BYTES, .width = 1, .count = sizeof(MEMBER(T, f)))
#define F_ENUM_O(T, f, dom, names) \
        O(.name = #f, .offset = offsetof(T, f), .kind = NVV_SK_ENUM, .width = 4, .count = 1, .domain = (dom), \
          .enum_names = (names), .n_enum_names = ELEMENTSOF(names))
#define F_ENUMARR_O(T, f, dom, names) \
        O(.name = #f, .offset = offsetof(T, f), .kind = NVV_SK_ENUM, .width = 4, .count = ELEMENTSOF(MEMBER(T, f)), \
          .domain = (dom), .enum_names = (names), .n_enum_names = ELEMENTSOF(names))
#define F_STRUCTS_O(T, f, schema, cnt) \
        O(.name = #f, .offset = offsetof(T, f), .kind = NVV_SK_STRUCTS, .count = ELEMENTSOF(MEMBER(T, f)), \
          .elem = &(schema), .elem_size = sizeof(MEMBER(T, f)[0]), .count_field = (cnt))
#define SCHEMA(var, sname, T, ...)                                                      \
        static const struct nvv_sfield var##_fields[] = { __VA_ARGS__ };                \
        static const struct nvv_sschema var = {                                         \
                .name = sname, .size = sizeof(T), .n_fields = ELEMENTSOF(var##_fields), \
                .fields = var##_fields,                                                 \
        }

#define T struct nvv_cmd_get_features
SCHEMA(s_get_features, "get_features", T,
       F_UINT_O(T, features), F_BOOL_O(T, valid), F_BOOL_O(T, default_gsp_rm_gpu), F_STR_O(T, firmware_version));
#undef T

#define T struct nvv_cmd_set_vgpu_mgr_config
SCHEMA(s_set_vgpu_mgr_config, "set_vgpu_mgr_config", T, F_BOOL(T, heterogeneous_timesliced));
#undef T

#define T struct nvv_vgpu_type
SCHEMA(s_vgpu_type, "vgpu_type", T,
       F_UINT(T, type_id), F_STR(T, name), F_STR(T, class_name), F_BYTES(T, signature), F_STR(T, license),
       F_UINT(T, max_instance), F_UINT(T, num_heads), F_UINT(T, max_resolution_x), F_UINT(T, max_resolution_y),
       F_UINT(T, max_pixels), F_UINT(T, frl_config), F_UINT(T, cuda_enabled), F_UINT(T, ecc_supported),
       F_UINT(T, gpu_instance_size), F_UINT(T, multi_vgpu_supported), F_UINT(T, vdev_id), F_UINT(T, pdev_id),
       F_UINT(T, profile_size), F_UINT(T, fb_length), F_UINT(T, gsp_heap_size), F_UINT(T, fb_reservation),
       F_UINT(T, mappable_video_size), F_UINT(T, encoder_capacity), F_UINT(T, bar1_length), F_UINT(T, frl_enable),
       F_STR(T, adapter_name), F_STR(T, short_gpu_name), F_STR(T, licensed_product_name),
       F_UINT(T, ftrace_enable), F_UINT(T, gpu_direct_supported), F_UINT(T, nvlink_p2p_supported),
       F_UINT(T, multi_vgpu_exclusive), F_UINT(T, exclusive_type), F_UINT(T, exclusive_size),
       F_UINT(T, gpu_instance_profile_id), F_UINT(T, placement_size),
       F_UINT(T, homogeneous_placement_count),
       F_UARR(T, homogeneous_placement_ids, "homogeneous_placement_count"),
       F_UINT(T, heterogeneous_placement_count),
       F_UARR(T, heterogeneous_placement_ids, "heterogeneous_placement_count"),
       F_UINT(T, max_instance_per_gi), F_UINT(T, nominal_fb_region_size), F_UINT(T, vgpu_ssvid));
#undef T

#define T struct nvv_cmd_add_vgpu_types
SCHEMA(s_add_vgpu_types, "add_vgpu_types", T,
       F_BOOL(T, discard), F_UINT(T, count), F_STRUCTS(T, types, s_vgpu_type, "count"));
#undef T

#define T struct nvv_cmd_bootload_plugin
SCHEMA(s_bootload_plugin, "bootload_plugin", T,
       F_UINT(T, dbdf), F_UINT(T, gfid), F_UINT(T, type_id), F_UINT(T, vm_pid), F_UINT(T, swizz_id),
       F_UINT(T, num_channels), F_UINT(T, num_plugin_channels), F_UARR(T, chid_offset, NULL),
       F_BOOL(T, disable_smc_restore), F_UINT(T, fb_segment_count),
       F_UARR(T, fb_segment_addr, "fb_segment_count"), F_UARR(T, fb_segment_len, "fb_segment_count"),
       F_UINT(T, plugin_heap_addr), F_UINT(T, plugin_heap_len), F_UINT(T, ctrl_buf_offset),
       F_UINT(T, init_log_offset), F_UINT(T, init_log_size), F_UINT(T, task_log_offset),
       F_UINT(T, task_log_size), F_UINT(T, kernel_log_offset), F_UINT(T, kernel_log_size),
       F_UINT(T, mig_heap_addr), F_UINT(T, mig_heap_len), F_BOOL(T, profiling));
#undef T

#define T struct nvv_cmd_gfid
SCHEMA(s_shutdown_plugin, "shutdown_plugin", T, F_UINT(T, gfid));
SCHEMA(s_cleanup_plugin, "cleanup_plugin", T, F_UINT(T, gfid));
SCHEMA(s_clear_guest_vm_info, "clear_guest_vm_info", T, F_UINT(T, gfid));
#undef T

#define T struct nvv_cmd_free_states
SCHEMA(s_free_states, "free_states", T, F_UINT(T, gfid), F_UINT(T, flags));
#undef T

#define T struct nvv_cmd_create_device
SCHEMA(s_create_device, "create_device", T,
       F_BYTES(T, vgpu_name), F_UINT(T, gpu_pci_id), F_UINT(T, gpu_pci_bdf), F_UINT(T, type_id),
       F_UINT_O(T, vgpu_id), F_UINT_O(T, gpu_instance_id), F_UINT_DEF_O(T, placement_id, NVV_PLACEMENT_NONE));
#undef T

#define T struct nvv_cmd_delete_device
SCHEMA(s_delete_device, "delete_device", T, F_BYTES(T, vgpu_name), F_UINT(T, vgpu_id));
#undef T

#define T struct nvv_cmd_get_start_data
SCHEMA(s_get_start_data, "get_start_data", T,
       F_BYTES(T, mdev_uuid), F_BYTES_O(T, config_params), F_UINT_O(T, qemu_pid), F_UINT_O(T, gpu_pci_id),
       F_UINT_O(T, vgpu_id), F_UINT_O(T, gpu_pci_bdf));
#undef T

#define T struct nvv_cmd_sched_get_caps
SCHEMA(s_sched_get_caps, "sched_get_caps", T,
       F_UINT(T, engine_id), F_ENUMARR_O(T, supported_policies, "sched_policy", nvv_sched_policy_names),
       F_BOOL_O(T, arr_supported), F_UINT_O(T, max_timeslice_ns), F_UINT_O(T, min_timeslice_ns),
       F_UINT_O(T, max_arr_frequency), F_UINT_O(T, min_arr_frequency), F_UINT_O(T, max_arr_avg_factor),
       F_UINT_O(T, min_arr_avg_factor));
#undef T

#define T struct nvv_cmd_sched_state
SCHEMA(s_sched_get_state, "sched_get_state", T,
       F_UINT(T, engine_id), F_ENUM_O(T, policy, "sched_policy", nvv_sched_policy_names),
       F_ENUM_O(T, arr, "sched_arr", nvv_sched_arr_names), F_UINT_O(T, timeslice_ns), F_UINT_O(T, arr_frequency),
       F_UINT_O(T, arr_avg_factor));
SCHEMA(s_sched_set_state, "sched_set_state", T,
       F_UINT(T, engine_id), F_ENUM(T, policy, "sched_policy", nvv_sched_policy_names),
       F_ENUM(T, arr, "sched_arr", nvv_sched_arr_names), F_UINT(T, timeslice_ns), F_UINT(T, arr_frequency),
       F_UINT(T, arr_avg_factor));
#undef T

#define T struct nvv_vgpu_guest
SCHEMA(s_vgpu_guest, "vgpu_guest", T,
       F_UINT(T, gfid), F_UINT(T, vgpu_pci_id), F_UINT(T, device_instance_id), F_UINT(T, accounting_pid),
       F_UINT(T, fb_used), F_UINT(T, encoder_capacity), F_UINT(T, ecc_state), F_BOOL(T, driver_loaded),
       F_UINT(T, vm_pid), F_UINT(T, guest_os), F_UINT(T, migration_prohibited), F_UINT(T, frame_rate_limit),
       F_BOOL(T, licensed), F_STR(T, guest_driver_version), F_STR(T, guest_driver_branch));
#undef T

#define T struct nvv_cmd_enumerate_vgpus
SCHEMA(s_enumerate_vgpus, "enumerate_vgpus", T, F_UINT_O(T, count), F_STRUCTS_O(T, vgpus, s_vgpu_guest, "count"));
#undef T

#define T struct nvv_cmd_set_heterogeneous_mode
SCHEMA(s_set_heterogeneous_mode, "set_heterogeneous_mode", T, F_BOOL(T, enabled), F_UINT(T, gpu_instance_id));
#undef T

#define T struct nvv_cmd_set_guest_lifecycle
SCHEMA(s_set_guest_lifecycle, "set_guest_lifecycle", T,
       F_ENUM(T, state, "guest_lifecycle", nvv_guest_lifecycle_names));
#undef T

#define T struct nvv_cmd_set_placement_id
SCHEMA(s_set_placement_id, "set_placement_id", T, F_UINT(T, num_channels), F_UINT(T, placement_id));
#undef T

#define T struct nvv_cmd_set_power_state
SCHEMA(s_set_power_state, "set_power_state", T, F_UINT(T, state));
#undef T

#define T struct nvv_cmd_alloc_host_vgpu
SCHEMA(s_alloc_host_vgpu, "alloc_host_vgpu", T,
       F_UINT(T, dbdf), F_UINT(T, gfid), F_UINT(T, swizz_id), F_UINT(T, type_id), F_UINT(T, vm_pid),
       F_UINT(T, accounting_pid), F_UINT(T, num_channels), F_UINT(T, num_plugin_channels),
       F_UINT_DEF(T, placement_id, NVV_PLACEMENT_NONE), F_UINT(T, vm_id_type), F_BYTES(T, guest_vm_id),
       F_BOOL(T, disable_smc_restore), F_UINT(T, device_instance_id), F_UINT(T, plugin_client),
       F_BYTES(T, vgpu_dev_name), F_UINT(T, fb_handle_count), F_UARR(T, fb_handles, "fb_handle_count"),
       F_UINT(T, plugin_heap_handle), F_UINT(T, mig_heap_handle), F_UINT(T, ctrl_buf_offset),
       F_UINT(T, init_log_offset), F_UINT(T, init_log_size), F_UINT(T, task_log_offset), F_UINT(T, task_log_size),
       F_UINT(T, kernel_log_offset), F_UINT(T, kernel_log_size), F_BOOL(T, profiling), F_BOOL(T, live_migration));
#undef T

#define T struct nvv_cmd_free_object
SCHEMA(s_free_object, "free_object", T, F_UINT(T, client), F_UINT(T, parent), F_UINT(T, object));
#undef T

#define T struct nvv_event_plugin
SCHEMA(s_event_plugin, "plugin_event", T,
       F_UINT(T, gfid), F_ENUM(T, notify, "plugin_notify", nvv_plugin_notify_names));
#undef T

#define T struct nvv_event_rc_error
SCHEMA(s_event_rc_error, "rc_error", T,
       F_UINT(T, engine_type), F_UINT(T, chid), F_UINT(T, gfid), F_UINT(T, except_level),
       F_UINT(T, except_type), F_UINT(T, scope));
#undef T

#define T struct nvv_event_gsp_reset
SCHEMA(s_event_gsp_reset, "gsp_reset", T, F_UINT(T, reserved));
#undef T

static const struct nvv_sschema *const cmd_schemas[_NVV_CMD_MAX] = {
        [NVV_CMD_GET_FEATURES] = &s_get_features,
        [NVV_CMD_SET_VGPU_MGR_CONFIG] = &s_set_vgpu_mgr_config,
        [NVV_CMD_ADD_VGPU_TYPES] = &s_add_vgpu_types,
        [NVV_CMD_BOOTLOAD_PLUGIN] = &s_bootload_plugin,
        [NVV_CMD_SHUTDOWN_PLUGIN] = &s_shutdown_plugin,
        [NVV_CMD_CLEANUP_PLUGIN] = &s_cleanup_plugin,
        [NVV_CMD_CLEAR_GUEST_VM_INFO] = &s_clear_guest_vm_info,
        [NVV_CMD_FREE_STATES] = &s_free_states,
        [NVV_CMD_CREATE_DEVICE] = &s_create_device,
        [NVV_CMD_DELETE_DEVICE] = &s_delete_device,
        [NVV_CMD_GET_START_DATA] = &s_get_start_data,
        [NVV_CMD_SCHED_GET_CAPS] = &s_sched_get_caps,
        [NVV_CMD_SCHED_GET_STATE] = &s_sched_get_state,
        [NVV_CMD_SCHED_SET_STATE] = &s_sched_set_state,
        [NVV_CMD_ENUMERATE_VGPUS] = &s_enumerate_vgpus,
        [NVV_CMD_SET_HETEROGENEOUS_MODE] = &s_set_heterogeneous_mode,
        [NVV_CMD_SET_GUEST_LIFECYCLE] = &s_set_guest_lifecycle,
        [NVV_CMD_SET_PLACEMENT_ID] = &s_set_placement_id,
        [NVV_CMD_SET_POWER_STATE] = &s_set_power_state,
        [NVV_CMD_ALLOC_HOST_VGPU] = &s_alloc_host_vgpu,
        [NVV_CMD_FREE_OBJECT] = &s_free_object,
};

static const struct nvv_sschema *const event_schemas[_NVV_EVENT_MAX] = {
        [NVV_EVENT_PLUGIN] = &s_event_plugin,
        [NVV_EVENT_RC_ERROR] = &s_event_rc_error,
        [NVV_EVENT_GSP_RESET] = &s_event_gsp_reset,
};

const char *nvv_cmd_to_string(int cmd)
{
        if (cmd < 0 || cmd >= _NVV_CMD_MAX)
                return NULL;
        return cmd_schemas[cmd]->name;
}

int nvv_cmd_from_string(const char *s)
{
        for (int i = 0; i < _NVV_CMD_MAX; i++)
                if (streq(cmd_schemas[i]->name, s))
                        return i;
        return _NVV_CMD_INVALID;
}

const struct nvv_sschema *nvv_cmd_schema(int cmd)
{
        if (cmd < 0 || cmd >= _NVV_CMD_MAX)
                return NULL;
        return cmd_schemas[cmd];
}

const char *nvv_event_to_string(int ev)
{
        if (ev < 0 || ev >= _NVV_EVENT_MAX)
                return NULL;
        return event_schemas[ev]->name;
}

int nvv_event_from_string(const char *s)
{
        for (int i = 0; i < _NVV_EVENT_MAX; i++)
                if (streq(event_schemas[i]->name, s))
                        return i;
        return _NVV_EVENT_INVALID;
}

const struct nvv_sschema *nvv_event_schema(int ev)
{
        if (ev < 0 || ev >= _NVV_EVENT_MAX)
                return NULL;
        return event_schemas[ev];
}

const struct nvv_sfield *nvv_sschema_find(const struct nvv_sschema *s, const char *name)
{
        for (size_t i = 0; i < s->n_fields; i++)
                if (streq(s->fields[i].name, name))
                        return &s->fields[i];
        return NULL;
}
