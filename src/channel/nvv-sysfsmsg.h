/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The messages of the kernel contract's sysfs half (doc/kernel-interface.md §3), as JSON
 * payloads of nvv-simproto packets:
 *   SYSFS_REQUEST  core driver → manager  a write that makes or removes a vGPU, held until
 *                                          the manager answers
 *   SYSFS_ANSWER   manager → core driver  the errno that write returns
 *   REGISTER_TYPES manager → core driver  the vGPU types one GPU offers
 *   UEVENT         core driver → manager  the properties of a uevent the tree would have sent
 * Formatting and strict parsing (size limits, unknown keys refused) of each; no I/O.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define NVV_SYSFSMSG_MAX 65536u                 /* a request, an answer or a uevent */
#define NVV_SYSFSMSG_MAX_TYPES_JSON (512u * 1024u)
#define NVV_SYSFS_MAX_TYPES 128                 /* per GPU, NVV_MAX_VGPU_TYPES */
#define NVV_SYSFS_NAME_MAX 64                   /* "NVIDIA L40S-8Q" */
#define NVV_SYSFS_DESC_MAX 256
#define NVV_SYSFS_API_MAX 16                    /* "vfio-pci" */
#define NVV_SYSFS_BDF_MAX 16                    /* "0000:41:00.4" */
#define NVV_SYSFS_UUID_LEN 36
#define NVV_UEVENT_MAX_VARS 16
#define NVV_UEVENT_KEY_MAX 32
#define NVV_UEVENT_VALUE_MAX 256

enum nvv_sysfs_op {
        NVV_SYSFS_CREATE,               /* mdev_supported_types/TYPE/create */
        NVV_SYSFS_REMOVE,               /* UUID/remove */
        NVV_SYSFS_SET_VF_TYPE,          /* VF/nvidia/current_vgpu_type: a type id */
        NVV_SYSFS_CLEAR_VF_TYPE,        /* VF/nvidia/current_vgpu_type: 0 */
        _NVV_SYSFS_OP_MAX,
        _NVV_SYSFS_OP_INVALID = -EINVAL,
};
const char *nvv_sysfs_op_to_string(enum nvv_sysfs_op op);      /* "create", "set_vf_type" */
enum nvv_sysfs_op nvv_sysfs_op_from_string(const char *s);

struct nvv_sysfs_request {
        uint32_t id;                    /* the core driver's, unique while the simulator runs */
        enum nvv_sysfs_op op;
        char gpu[NVV_SYSFS_BDF_MAX];    /* the physical GPU's PCI address */
        uint32_t type_id;               /* create, set_vf_type; remove/clear: the vGPU's type */
        char uuid[NVV_SYSFS_UUID_LEN + 1]; /* create, remove: lower case */
        char vf[NVV_SYSFS_BDF_MAX];     /* set_vf_type, clear_vf_type */
};

struct nvv_sysfs_type {
        uint32_t id;                    /* NVIDIA's type id; the directory is nvidia-ID */
        char name[NVV_SYSFS_NAME_MAX];
        char description[NVV_SYSFS_DESC_MAX];
        char device_api[NVV_SYSFS_API_MAX];
};

struct nvv_uevent {
        size_t n;
        char key[NVV_UEVENT_MAX_VARS][NVV_UEVENT_KEY_MAX];
        char value[NVV_UEVENT_MAX_VARS][NVV_UEVENT_VALUE_MAX];
};
/* The value of key, or NULL. */
const char *nvv_uevent_get(const struct nvv_uevent *u, const char *key);
/* Append KEY=VALUE; -E2BIG when full or too long. */
int nvv_uevent_add(struct nvv_uevent *u, const char *key, const char *value);

/* A UUID as the kernel's mdev `create` takes it (guid_parse: 36 characters 8-4-4-4-12 of hex
 * digits, then at most one more byte, the newline of `echo`), into lower case. -EINVAL. */
int nvv_sysfs_parse_uuid(const char *buf, size_t len, char ret[NVV_SYSFS_UUID_LEN + 1]);

/* Every format function gives a NUL-terminated JSON text (free it). Every parse function
 * refuses anything but one object with exactly the documented keys, and says why. */
int nvv_sysfsmsg_format_request(const struct nvv_sysfs_request *r, char **ret);
int nvv_sysfsmsg_parse_request(const void *data, size_t len, struct nvv_sysfs_request *ret, char **reterr_msg);
/* error: 0 or a positive errno value below 4096. */
int nvv_sysfsmsg_format_answer(uint32_t id, int error, char **ret);
int nvv_sysfsmsg_parse_answer(const void *data, size_t len, uint32_t *ret_id, int *ret_error, char **reterr_msg);
/* Names and descriptions are one line of printable text; type ids are 1..0xfffffffe and
 * appear once; device_api is lower-case letters, digits and '-'. */
int nvv_sysfsmsg_format_types(const struct nvv_sysfs_type *t, size_t n, char **ret);
int nvv_sysfsmsg_parse_types(const void *data, size_t len, struct nvv_sysfs_type **ret, size_t *ret_n,
                             char **reterr_msg);
int nvv_sysfsmsg_format_uevent(const struct nvv_uevent *u, char **ret);
int nvv_sysfsmsg_parse_uevent(const void *data, size_t len, struct nvv_uevent *ret, char **reterr_msg);
