/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * NVKV, the key/value stream the GMC API (NVIDIA's upstream firmware interface) answers
 * QUERY_VGPU_PROPERTIES with. A stream is a sequence of little-endian 64-bit words; each
 * operation starts with an op word
 *     bits 15:0 key, 27:16 index, 31:28 opcode, 63:32 value
 * and opcode says what follows (value is a count where something follows):
 *     0 IMM32    a 32-bit value in the op word itself
 *     1 SEQ32    `value` 32-bit values for keys key, key+1, ... (packed two per word)
 *     2 SEQ64    `value` 64-bit values for keys key, key+1, ...
 *     3 ARRAY8   `value` bytes, padded to whole words
 *     4 ARRAY32  `value` 32-bit elements, padded to whole words
 *     5 ARRAY64  `value` 64-bit elements
 * (Format: the nova-core development tree's drivers/gpu/nova-core/gsp/nvkv.rs, "Op" bitfield
 * and "Opcode" enum; the code here is ours.) The decoder is strict: an unknown opcode, a
 * count that runs past the end, or a stream that is not whole words fails with -EBADMSG.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum nvv_nvkv_opcode {
        NVV_NVKV_IMM32,
        NVV_NVKV_SEQ32,
        NVV_NVKV_SEQ64,
        NVV_NVKV_ARRAY8,
        NVV_NVKV_ARRAY32,
        NVV_NVKV_ARRAY64,
};

/* Largest stream accepted (the GMC reply cap is 16 KiB). */
#define NVV_NVKV_MAX_BYTES (64u * 1024u)

/* One decoded value: a scalar (width 4 or 8) or an array (bytes points into the stream). */
struct nvv_nvkv_value {
        uint16_t key;
        uint16_t index;
        bool is_array;
        uint8_t width;          /* 1, 4 or 8: element width */
        uint64_t scalar;        /* !is_array */
        const uint8_t *bytes;   /* is_array: count * width bytes, little-endian elements */
        uint32_t count;
};

/* Calls fn for every value (a SEQ op yields one scalar per key). fn returns <0 to stop with
 * that error. */
typedef int (*nvv_nvkv_visit_fn)(void *userdata, const struct nvv_nvkv_value *v);
int nvv_nvkv_decode(const void *data, size_t len, nvv_nvkv_visit_fn fn, void *userdata, char *err, size_t errlen);

/* An encoder over a caller's buffer; the first error sticks (-ENOBUFS when it is full). */
struct nvv_nvkv_writer {
        uint8_t *buf;
        size_t cap, len;
        int error;
};
void nvv_nvkv_writer_init(struct nvv_nvkv_writer *w, void *buf, size_t cap);
void nvv_nvkv_put_u32(struct nvv_nvkv_writer *w, uint16_t key, uint32_t v);    /* IMM32 */
void nvv_nvkv_put_u64(struct nvv_nvkv_writer *w, uint16_t key, uint64_t v);    /* SEQ64 of one */
void nvv_nvkv_put_bytes(struct nvv_nvkv_writer *w, uint16_t key, const void *p, uint32_t n); /* ARRAY8 */
