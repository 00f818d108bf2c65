/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Message-queue framing: a logical RPC becomes one or more queue messages (the first with
 * the real function, the rest continuation records), each framed into whole queue elements
 * behind the element header, with a sequence number and a checksum that makes the XOR of
 * the message zero. The reassembler does the reverse and checks everything it is fed.
 */

#include <stddef.h>
#include <stdint.h>

#include "nvv-fwabi.h"

/* XOR of all little-endian 64-bit words, folded hi32 ^ lo32. len must be a multiple of 8. */
uint32_t nvv_msgq_checksum(const void *p, size_t len);

/* Messages a logical RPC of rpc_len bytes needs (1 + continuation records). */
uint32_t nvv_msgq_records(const struct nvv_fwabi *fw, size_t rpc_len);

/* Frame message `index` of the logical RPC into `out` with sequence number `seq`.
 * Returns the number of elements written (out gets elements * element_size bytes). */
int nvv_msgq_frame_record(const struct nvv_fwabi *fw, const void *rpc, size_t rpc_len, uint32_t index,
                          uint32_t seq, void *out, size_t out_size);

/* Frame every message of a logical RPC into one new buffer; *seq advances per message. */
int nvv_msgq_frame_all(const struct nvv_fwabi *fw, const void *rpc, size_t rpc_len, uint32_t *seq,
                       uint8_t **ret_buf, size_t *ret_len, uint32_t *ret_messages);

/* Elements the message starting at `first` spans (checked against the release's bounds). */
int nvv_msgq_message_elements(const struct nvv_fwabi *fw, const void *first, size_t avail,
                              uint32_t *ret_elements, char *err, size_t errlen);

/* Check one framed message (checksum, element count, sequence unless expect_seq is
 * UINT32_MAX, RPC header) and point at the RPC inside it. */
int nvv_msgq_unframe(const struct nvv_fwabi *fw, const void *msg, size_t len, uint32_t expect_seq,
                     const uint8_t **ret_rpc, size_t *ret_rpc_len, char *err, size_t errlen);

/* Largest logical RPC the reassembler accepts. */
#define NVV_MSGQ_MAX_RPC (16u * 1024u * 1024u)

struct nvv_reasm;

int nvv_reasm_new(const struct nvv_fwabi *fw, struct nvv_reasm **ret);
struct nvv_reasm *nvv_reasm_free(struct nvv_reasm *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_reasm *, nvv_reasm_free);
/* Feed one message's RPC (as from nvv_msgq_unframe). 1 = a logical RPC is complete,
 * 0 = continuation records are awaited, <0 = protocol error (the reassembler resets).
 * A new message arriving while continuation records are awaited abandons the unfinished
 * one (counted) and starts afresh, so one broken sender cannot wedge the queue. */
int nvv_reasm_feed(struct nvv_reasm *r, const uint8_t *rpc, size_t len, char *err, size_t errlen);
/* The completed RPC; valid until the next feed or reset. */
const uint8_t *nvv_reasm_data(const struct nvv_reasm *r, size_t *ret_len);
void nvv_reasm_reset(struct nvv_reasm *r);
bool nvv_reasm_busy(const struct nvv_reasm *r);
uint64_t nvv_reasm_abandoned(const struct nvv_reasm *r);
