/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The fwctl UAPI, declared here because Debian 12's kernel headers predate it. Layouts and
 * numbers from the Linux kernel's include/uapi/fwctl/fwctl.h (fwctl subsystem, Linux 6.15+):
 * FWCTL_TYPE 0x9A, FWCTL_CMD_INFO 0, FWCTL_CMD_RPC 1, struct fwctl_info, struct fwctl_rpc,
 * enum fwctl_rpc_scope. FWCTL_DEVICE_TYPE_NOVA_CORE (5) is the value nova-core's fwctl patches
 * (2026) add to enum fwctl_device_type. drivers/fwctl/main.c caps RPC buffers at 2 MiB
 * (MAX_RPC_LEN). The device data behind FWCTL_INFO is the nvvgpu kernel contract
 * (doc/kernel-interface.md).
 */

#include <linux/ioctl.h>
#include <stdint.h>

#define NVV_FWCTL_TYPE 0x9A
#define NVV_FWCTL_CMD_INFO 0
#define NVV_FWCTL_CMD_RPC 1
#define NVV_FWCTL_INFO _IO(NVV_FWCTL_TYPE, NVV_FWCTL_CMD_INFO)
#define NVV_FWCTL_RPC _IO(NVV_FWCTL_TYPE, NVV_FWCTL_CMD_RPC)
#define NVV_FWCTL_DEVICE_TYPE_NOVA_CORE 5
#define NVV_FWCTL_RPC_CONFIGURATION 0
#define NVV_FWCTL_MAX_RPC_LEN (2u * 1024u * 1024u)

struct nvv_fwctl_info {
        uint32_t size;
        uint32_t flags;
        uint32_t out_device_type;
        uint32_t device_data_len;
        uint64_t out_device_data __attribute__((aligned(8)));
};
_Static_assert(sizeof(struct nvv_fwctl_info) == 24, "struct fwctl_info is 24 bytes");

struct nvv_fwctl_rpc {
        uint32_t size;
        uint32_t scope;
        uint32_t in_len;
        uint32_t out_len;
        uint64_t in __attribute__((aligned(8)));
        uint64_t out __attribute__((aligned(8)));
};
_Static_assert(sizeof(struct nvv_fwctl_rpc) == 32, "struct fwctl_rpc is 32 bytes");

/* Device data of a nova-core fwctl device under the nvvgpu kernel contract. */
#define NVV_FWCTL_VGPU_INFO_VERSION 1
struct nvv_fwctl_vgpu_info {
        uint32_t version;
        uint32_t pci_dbdf;        /* domain << 16 | bus << 8 | device << 3 | function */
        uint16_t pci_vendor;
        uint16_t pci_device;
        uint32_t h_client, h_device, h_subdevice;
        char firmware_release[64];
};
_Static_assert(sizeof(struct nvv_fwctl_vgpu_info) == 88, "contract: 88 bytes");
