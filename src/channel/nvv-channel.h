/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The command channel to one GPU's firmware: submit a stable command, get its answer; receive
 * the firmware's events. It detects the release the GPU runs, picks the description that
 * serves it (or refuses, naming the nearest known one), builds every byte of each RPC through
 * the marshaller, matches answers by sequence number, applies the release's per-command
 * timeout, and checks every answer before use. Transports: fwctl (a real host), the
 * simulator's socket, and in-process (a simulator in the same process); nvv-backend.h
 * parses the strings that name them and opens every GPU behind one.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-cmd.h"
#include "nvv-fwabi.h"
#include "nvv-fwdb.h"
#include "nvv-rpc.h"
#include "nvv-vmgmt.h"

struct nvv_channel;

/* What the transport says about the GPU (FWCTL_INFO, the simulator's hello). */
struct nvv_channel_info {
        uint32_t index;
        char bdf[16];
        char model[64];
        uint16_t vendor, device;
        char release[32];         /* the firmware release the GPU runs */
        struct nvv_handles handles;
        /* A GPU offering the upstream vGPU-management interface (nvv-vmgmt.h) instead of
         * RPCs: true, with the revision its transport names ("" = the newest described). */
        bool vmgmt;
        char vmgmt_revision[32];
        /* SR-IOV where the transport knows it: VF i is at the PF's devfn + vf_offset + i *
         * vf_stride (vf_stride 0: unknown). */
        uint16_t vf_offset, vf_stride;
};

/* A transport moves RPC bytes; everything above is the channel's. */
struct nvv_transport {
        const char *name;
        /* One RPC; the answer's bytes go to reply. Negative errno with a message in err. */
        int (*rpc)(void *userdata, const void *req, size_t len, uint32_t sequence, int timeout_ms, void *reply,
                   size_t reply_cap, size_t *ret_len, char *err, size_t errlen);
        /* One message on the host RPC channel of gfid's plugin (optional: NULL where the
         * transport has none): 0 and the response region's result code, or negative errno. */
        int (*host_rpc)(void *userdata, uint32_t gfid, uint32_t message, int timeout_ms, uint32_t *ret_result,
                        char *err, size_t errlen);
        /* Start receiving events (optional). */
        int (*subscribe)(void *userdata, char *err, size_t errlen);
        /* An fd that polls readable when events may be waiting (optional, -1 if none). */
        int (*get_fd)(void *userdata);
        /* Take one waiting event RPC without blocking: 1 and a malloc'ed copy, or 0. */
        int (*next_event)(void *userdata, uint8_t **ret_rpc, size_t *ret_len);
        void (*close)(void *userdata);
};

/* Open over any transport; takes ownership of userdata (closed on failure too). */
int nvv_channel_open(const struct nvv_channel_info *info, const struct nvv_transport *t, void *userdata,
                     const struct nvv_fwdb *db, struct nvv_channel **ret, char **reterr_msg);
/* The simulator's socket: GPU `gpu` of the simulator listening on `socket_path`, over a
 * connection of its own (one connect, one HELLO). To open several GPUs of one simulator over
 * one connection, see nvv-simconn.h. */
int nvv_channel_open_sim(const char *socket_path, uint32_t gpu, const struct nvv_fwdb *db, struct nvv_channel **ret,
                         char **reterr_msg);
/* fwctl: /dev/fwctl/fwctlN of a GPU whose core driver speaks the nvvgpu kernel contract. */
int nvv_channel_open_fwctl(const char *dev_path, const struct nvv_fwdb *db, struct nvv_channel **ret,
                           char **reterr_msg);
/*
 * The upstream vGPU-management interface over any transport whose rpc carries one FWCTL_RPC's
 * in and out bytes (an errno from the ioctl comes back as rpc's return). Such a GPU takes no
 * RPC command (nvv_channel_call refuses every one); nvv_channel_get_fwabi gives the
 * description's release-like view (its revision, sizing and statuses). `vm` is borrowed.
 */
int nvv_channel_open_vmgmt(const struct nvv_channel_info *info, const struct nvv_transport *t, void *userdata,
                           const struct nvv_vmgmt *vm, struct nvv_channel **ret, char **reterr_msg);
/* The interface a channel speaks: NULL for an RPC channel. */
const struct nvv_vmgmt *nvv_channel_get_vmgmt(const struct nvv_channel *ch);
/* One of the seven operations: encode, FWCTL_RPC, decode. A refusal returns its errno with
 * *res saying how (status in the reply, or EIO); err names the command, the GPU and why. */
int nvv_channel_vmgmt_call(struct nvv_channel *ch, int cmd, struct nvv_vmgmt_io *io, struct nvv_vmgmt_result *res,
                           char *err, size_t errlen);
struct nvv_channel *nvv_channel_close(struct nvv_channel *ch);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_channel *, nvv_channel_close);

/* The GPUs behind a simulator socket (one HELLO), or the fwctl devices in a directory. */
int nvv_channel_list_sim(const char *socket_path, struct nvv_channel_info **ret, size_t *ret_n, char **reterr_msg);
int nvv_channel_list_fwctl(const char *dir, char ***ret_paths, char **reterr_msg);

const struct nvv_channel_info *nvv_channel_get_info(const struct nvv_channel *ch);
const struct nvv_fwabi *nvv_channel_get_fwabi(const struct nvv_channel *ch);
/* Replace every command's timeout (tests, impatient tools); <0 restores the release's. */
void nvv_channel_set_timeout(struct nvv_channel *ch, int timeout_ms);

/*
 * Run one stable command. `stable` is the command's struct (nvv-cmd.h): inputs in, the
 * firmware's answer out. `target` names the host vGPU device for per-vGPU controls and the
 * handle a new allocation gets (may be NULL otherwise). A refusal by the firmware returns its
 * errno (translated through the release) and the raw status in *reterr_fw_status; err gets
 * one line naming the command, the GPU and what went wrong.
 */
int nvv_channel_call(struct nvv_channel *ch, int cmd, void *stable, uint32_t gfid, const struct nvv_handles *target,
                     uint32_t *reterr_fw_status, char *err, size_t errlen);

typedef void (*nvv_channel_event_fn)(void *userdata, struct nvv_channel *ch, int event,
                                     const union nvv_cmd_any *payload, uint32_t number);
/* Subscribe; events are delivered by nvv_channel_process() (call it when the fd polls). */
int nvv_channel_subscribe(struct nvv_channel *ch, nvv_channel_event_fn fn, void *userdata, char *err, size_t errlen);
int nvv_channel_get_fd(const struct nvv_channel *ch);
/* Deliver waiting events; returns how many. Events with no stable meaning are counted, not delivered. */
int nvv_channel_process(struct nvv_channel *ch);

/*
 * Send `message` (a name the release's "host_rpc" table gives a number, e.g.
 * "MIGRATION_STOP_WORK") to the plugin of the vGPU on gfid, over the host RPC channel of its
 * plugin heap rather than the message queue. -EOPNOTSUPP when the release names no such
 * message or the transport has no such channel; -EIO when the plugin answers a non-zero
 * result code (as the RFC's driver treats it); err names the message, the gfid and the GPU.
 */
int nvv_channel_host_rpc(struct nvv_channel *ch, uint32_t gfid, const char *message, char *err, size_t errlen);

/* Median round trip of n get_features calls (query_supported on the upstream interface), in
 * nanoseconds. */
int nvv_channel_measure_rtt(struct nvv_channel *ch, unsigned n, uint64_t *ret_ns, char *err, size_t errlen);
