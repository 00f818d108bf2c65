/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The upstream vGPU-management interface: NVIDIA's nova-core fwctl driver passes seven GMC
 * API commands through FWCTL_RPC (configuration scope), each request a header
 * {u32 command_id; u32 reserved} and a payload, each reply the same header echoed and the
 * firmware's answer. Which numbers the commands have, how their payloads are laid out, the
 * NVKV keys of a type's properties, where a firmware status sits in a reply and how statuses
 * map to errnos: all of it is an interface description (data/fwabi/upstream/REVISION.json,
 * nvvgpu-fwabi(5) "UPSTREAM INTERFACE DESCRIPTIONS"), never C. The C below speaks one stable
 * set of seven operations in its own structs.
 *
 * Two error conventions are seen upstream and both are handled: a firmware status inside the
 * reply (fwctl's documented rule: "Return status originating in the device ... must be
 * encoded into out", include/uapi/fwctl/fwctl.h), and EIO from the ioctl for any non-zero
 * firmware status (the nova-core development tree's fwctl.rs). EPERM is the kernel refusing
 * a command id it does not permit at the scope.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-cmd.h"
#include "nvv-fwabi.h"

enum nvv_vmgmt_cmd {
        NVV_VMGMT_ADD_TYPE,
        NVV_VMGMT_QUERY_SUPPORTED,
        NVV_VMGMT_QUERY_CREATABLE,
        NVV_VMGMT_ASSIGN,
        NVV_VMGMT_DEASSIGN,
        NVV_VMGMT_QUERY_PROPERTIES,
        NVV_VMGMT_QUERY_ASSIGNED,
        _NVV_VMGMT_MAX,
        _NVV_VMGMT_INVALID = -EINVAL,
};
const char *nvv_vmgmt_cmd_to_string(int cmd);
int nvv_vmgmt_cmd_from_string(const char *s);

/* Largest description file accepted. */
#define NVV_VMGMT_MAX_FILE_SIZE (256u * 1024u)
#define NVV_VMGMT_MAX_IDS 1024u

/* A PCI function, as the commands name VFs. */
struct nvv_pci_addr {
        uint32_t domain;
        uint8_t bus, dev, fn;
};
/* "DDDD:BB:DD.F" → addr; -EINVAL if it is not one. */
int nvv_pci_addr_parse(const char *s, struct nvv_pci_addr *ret);
void nvv_pci_addr_format(const struct nvv_pci_addr *a, char out[static 16]);

/* One operation's inputs and outputs (which fields count is per command). */
struct nvv_vmgmt_io {
        struct nvv_pci_addr vf;          /* in: assign, deassign, query_assigned */
        uint32_t type_id;                /* in: assign, query_properties; out: query_assigned (0: none) */
        uint32_t placement_id;           /* in: assign (NVV_PLACEMENT_NONE: the firmware's choice);
                                          * out: query_assigned (NVV_PLACEMENT_NONE when none) */
        uint32_t swizz_id;               /* in: assign; out: query_assigned (MIG, reserved) */
        struct nvv_vgpu_type type;       /* in: add_type; out: query_properties */
        uint32_t n_ids;                  /* out: query_supported, query_creatable */
        uint32_t ids[NVV_MAX_VGPU_TYPES];
};

/* How an operation ended, when it did not succeed. */
struct nvv_vmgmt_result {
        bool refused;                    /* the firmware refused it (a status, or EIO) */
        bool have_status;                /* ... with this status (status-in-reply convention) */
        uint32_t status;
        bool not_permitted;              /* EPERM: the kernel does not let the command through */
};

struct nvv_vmgmt;

int nvv_vmgmt_load_file(const char *path, struct nvv_vmgmt **ret, char **reterr_msg);
int nvv_vmgmt_load_buffer(const char *data, size_t size, const char *name, struct nvv_vmgmt **ret,
                          char **reterr_msg);
struct nvv_vmgmt *nvv_vmgmt_free(struct nvv_vmgmt *vm);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_vmgmt *, nvv_vmgmt_free);

const char *nvv_vmgmt_get_revision(const struct nvv_vmgmt *vm);
const char *nvv_vmgmt_get_path(const struct nvv_vmgmt *vm);
uint32_t nvv_vmgmt_get_device_type(const struct nvv_vmgmt *vm);   /* FWCTL_INFO out_device_type */
uint32_t nvv_vmgmt_get_scope(const struct nvv_vmgmt *vm);         /* FWCTL_RPC scope */
uint32_t nvv_vmgmt_get_max_reply(const struct nvv_vmgmt *vm);     /* payload bytes of the longest reply */
uint32_t nvv_vmgmt_get_header_size(const struct nvv_vmgmt *vm);
uint32_t nvv_vmgmt_command_id(const struct nvv_vmgmt *vm, int cmd);
/* The command a wire id names, or -ENOENT. */
int nvv_vmgmt_command_from_id(const struct nvv_vmgmt *vm, uint32_t id);
/* What the managed GPU's model and messages need of a release (its name is the revision,
 * its sizing and status table the description's; it binds no RPC command). */
const struct nvv_fwabi *nvv_vmgmt_get_fwabi(const struct nvv_vmgmt *vm);
/* The wire value of a VF address. */
uint64_t nvv_vmgmt_vf_to_wire(const struct nvv_vmgmt *vm, const struct nvv_pci_addr *a);
void nvv_vmgmt_vf_from_wire(const struct nvv_vmgmt *vm, uint64_t v, struct nvv_pci_addr *ret);

/* Manager side: the request for `cmd` (header and payload) into buf; -ENOBUFS if it does not fit. */
int nvv_vmgmt_encode_request(const struct nvv_vmgmt *vm, int cmd, const struct nvv_vmgmt_io *io, void *buf,
                             size_t size, size_t *ret_len, char *err, size_t errlen);
/*
 * Manager side: the reply to `cmd`, given what the ioctl returned (ioctl_r: 0 or a negative
 * errno) and, when it succeeded, the reply bytes. Outputs go to io. A refusal returns the
 * errno it means (the description's mapping of the status; EIO when the kernel gave no
 * status) with *res saying how it was refused; a malformed reply is -EBADMSG.
 */
int nvv_vmgmt_decode_reply(const struct nvv_vmgmt *vm, int cmd, int ioctl_r, const void *reply, size_t len,
                           struct nvv_vmgmt_io *io, struct nvv_vmgmt_result *res, char *err, size_t errlen);

/* Firmware side (the simulator): what a request asks. *ret_cmd is -ENOENT for an id the
 * description does not name; payload checks fail with -EINVAL. */
int nvv_vmgmt_parse_request(const struct nvv_vmgmt *vm, const void *req, size_t len, int *ret_cmd,
                            struct nvv_vmgmt_io *io, char *err, size_t errlen);
/* Firmware side: a reply carrying `status` in the reply header (0 = success, with io's outputs). */
int nvv_vmgmt_encode_reply(const struct nvv_vmgmt *vm, int cmd, uint32_t status, const struct nvv_vmgmt_io *io,
                           void *buf, size_t size, size_t *ret_len, char *err, size_t errlen);
/* The status a description names, or -ENOENT. */
int nvv_vmgmt_status_value(const struct nvv_vmgmt *vm, const char *name, uint32_t *ret);

/* A type's properties as NVKV (what query_properties answers and add_type uploads). */
int nvv_vmgmt_encode_properties(const struct nvv_vmgmt *vm, const struct nvv_vgpu_type *t, void *buf, size_t size,
                                size_t *ret_len);
int nvv_vmgmt_decode_properties(const struct nvv_vmgmt *vm, const void *data, size_t len, struct nvv_vgpu_type *ret,
                                char *err, size_t errlen);
