/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Firmware events from the core driver over generic netlink (libnl-3), per the nvvgpu kernel
 * contract (doc/kernel-interface.md): family NVV_GENL_FAMILY, multicast group
 * NVV_GENL_GROUP, command EVENT with the GPU's PCI address, its running release and the
 * event's RPC bytes. Decoded through the release description like any answer.
 */

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define NVV_GENL_FAMILY "nova_vgpu"
#define NVV_GENL_GROUP "events"
#define NVV_GENL_VERSION 1
#define NVV_GENL_MAX_RPC 65488u /* one queue message: 64 KiB less its 48-byte element header */

enum {
        NVV_GENL_CMD_UNSPEC,
        NVV_GENL_CMD_EVENT,
};

enum {
        NVV_GENL_A_UNSPEC,
        NVV_GENL_A_GPU,     /* u32: PCI domain << 16 | bus << 8 | devfn */
        NVV_GENL_A_RELEASE, /* string */
        NVV_GENL_A_RPC,     /* binary: the event's RPC */
        _NVV_GENL_A_MAX,
};
#define NVV_GENL_A_MAX (_NVV_GENL_A_MAX - 1)

struct nl_msg;
struct nvv_genl;

struct nvv_genl_event {
        uint32_t gpu;
        char release[32];
        const uint8_t *rpc; /* points into the message */
        size_t len;
};

/* libnl's error codes → negative errno (translated here, once). */
int nvv_genl_errno(int nlerr);

/* Resolve the family and join its event group. No family: -ENODEV, "core driver not loaded". */
int nvv_genl_open(struct nvv_genl **ret, char *err, size_t errlen);
struct nvv_genl *nvv_genl_close(struct nvv_genl *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_genl *, nvv_genl_close);
int nvv_genl_get_fd(const struct nvv_genl *g);
/* Receive what is waiting without blocking; fn sees each valid event. Returns how many. */
int nvv_genl_receive(struct nvv_genl *g, void (*fn)(void *userdata, const struct nvv_genl_event *ev), void *userdata);

/* Message coding, usable without a socket (tests, fuzzing). The event points into msg. */
int nvv_genl_parse(struct nl_msg *msg, struct nvv_genl_event *ret, char *err, size_t errlen);
int nvv_genl_build(int family, const struct nvv_genl_event *ev, struct nl_msg **ret);
