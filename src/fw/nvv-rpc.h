/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One logical firmware RPC: the release's RPC header, then a control or allocation header,
 * then the params struct. Built from and decoded into stable commands; every length,
 * signature and number from the other side is checked before use.
 */

#include <stddef.h>
#include <stdint.h>

#include "nvv-cmd.h"
#include "nvv-fwabi.h"

/* RM object handles the channel owns; the release description says which one a control targets. */
struct nvv_handles {
        uint32_t client;
        uint32_t device;
        uint32_t subdevice;
        uint32_t host_vgpu_device; /* the vGPU's NVA084 object, for per-vGPU controls */
        uint32_t new_object;       /* handle to give an allocation */
};

struct nvv_rpc_view {
        uint32_t header_version, signature, length, function;
        uint32_t result, result_private, sequence, gfid;
        const uint8_t *payload;
        size_t payload_len;
};

/* What a request asks for, as the firmware side sees it. */
struct nvv_rpc_request {
        int cmd;                /* enum nvv_cmd_id, or -ENOENT for a control/class the release binds to no command */
        uint32_t function, sequence, gfid;
        uint32_t client, object, parent; /* handles from the control / alloc header */
        uint32_t control_id;    /* control requests */
        uint32_t hclass;        /* alloc requests */
        bool is_alloc;
        bool is_function;       /* a command with an RPC function of its own (no control header) */
        const uint8_t *params;
        size_t params_len;
};

/* Bytes the logical RPC for `cmd` takes in this release (0 if the release lacks it). */
size_t nvv_rpc_size(const struct nvv_fwabi *fw, int cmd);

/* "'create_device' is not supported by firmware 535.113.01" → -EOPNOTSUPP */
int nvv_rpc_check_supported(const struct nvv_fwabi *fw, int cmd, char *err, size_t errlen);

int nvv_rpc_encode_command(const struct nvv_fwabi *fw, int cmd, const void *stable,
                           const struct nvv_handles *h, uint32_t sequence, uint32_t gfid,
                           void *buf, size_t size, size_t *ret_len, char *err, size_t errlen);

/* Parse the RPC header; checks signature, header version and that `length` fits `len`. */
int nvv_rpc_view(const struct nvv_fwabi *fw, const void *rpc, size_t len, struct nvv_rpc_view *ret,
                 char *err, size_t errlen);

/* Check a reply matches the request (function, sequence, control id, sizes) and decode it.
 * A firmware error status returns its errno and sets *reterr_fw_status. */
int nvv_rpc_decode_reply(const struct nvv_fwabi *fw, int cmd, const void *rpc, size_t len,
                         uint32_t sequence, void *stable, uint32_t *reterr_fw_status,
                         char *err, size_t errlen);

/* Firmware side: what does this request ask, decoded into `stable` when it is a known command. */
int nvv_rpc_parse_request(const struct nvv_fwabi *fw, const void *rpc, size_t len,
                          struct nvv_rpc_request *ret, void *stable, char *err, size_t errlen);

/* Firmware side: reply to `req` (copied header, statuses set, params from `stable` when
 * non-NULL, else echoed from the request). */
int nvv_rpc_encode_reply(const struct nvv_fwabi *fw, const void *req_rpc, size_t req_len,
                         const struct nvv_rpc_request *req, const void *stable, uint32_t rpc_result,
                         uint32_t ctl_status, void *buf, size_t size, size_t *ret_len,
                         char *err, size_t errlen);

int nvv_rpc_encode_event(const struct nvv_fwabi *fw, int event, const void *stable,
                         uint32_t sequence, void *buf, size_t size, size_t *ret_len,
                         char *err, size_t errlen);

/* An event RPC → stable event. -ENOENT (with *ret_number set) for events the release binds to none. */
int nvv_rpc_decode_event(const struct nvv_fwabi *fw, const void *rpc, size_t len, int *ret_event,
                         uint32_t *ret_number, void *stable, char *err, size_t errlen);

/* Does this function number belong to the event range of the release? */
bool nvv_rpc_is_event(const struct nvv_fwabi *fw, uint32_t function);

/* Little-endian field access by role. */
uint64_t nvv_role_get(const struct nvv_role *r, const void *base);
void nvv_role_set(const struct nvv_role *r, void *base, uint64_t v);
