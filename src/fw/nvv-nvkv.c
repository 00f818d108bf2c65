/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nvv-nvkv.h"
#include "util.h"

static uint64_t word_at(const uint8_t *p)
{
        uint64_t v = 0;

        for (unsigned i = 0; i < 8; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

static uint64_t elem_at(const uint8_t *p, unsigned width)
{
        uint64_t v = 0;

        for (unsigned i = 0; i < width; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

int nvv_nvkv_decode(const void *data, size_t len, nvv_nvkv_visit_fn fn, void *userdata, char *err, size_t errlen)
{
        const uint8_t *p = data;
        size_t words, pos = 0;

        if (len % 8 != 0) {
                nvv_errf(err, errlen, "NVKV stream of %zu bytes is not whole 64-bit words", len);
                return -EBADMSG;
        }
        if (len > NVV_NVKV_MAX_BYTES) {
                nvv_errf(err, errlen, "NVKV stream of %zu bytes is larger than %u", len, NVV_NVKV_MAX_BYTES);
                return -EBADMSG;
        }
        words = len / 8;
        while (pos < words) {
                uint64_t op = word_at(p + 8 * pos);
                struct nvv_nvkv_value v = {
                        .key = (uint16_t) (op & 0xffff),
                        .index = (uint16_t) ((op >> 16) & 0xfff),
                };
                unsigned opcode = (unsigned) ((op >> 28) & 0xf);
                uint32_t value = (uint32_t) (op >> 32);
                size_t need, at = pos + 1;
                int r;

                switch (opcode) {
                case NVV_NVKV_IMM32:
                        v.width = 4;
                        v.scalar = value;
                        r = fn(userdata, &v);
                        if (r < 0)
                                return r;
                        pos = at;
                        continue;
                case NVV_NVKV_SEQ32:
                case NVV_NVKV_ARRAY32:
                        v.width = 4;
                        break;
                case NVV_NVKV_SEQ64:
                case NVV_NVKV_ARRAY64:
                        v.width = 8;
                        break;
                case NVV_NVKV_ARRAY8:
                        v.width = 1;
                        break;
                default:
                        nvv_errf(err, errlen, "NVKV word %zu: unknown opcode %u", pos, opcode);
                        return -EBADMSG;
                }
                need = ((size_t) value * v.width + 7) / 8;
                if (need > words - at) {
                        nvv_errf(err, errlen, "NVKV word %zu: key 0x%04x holds %u values, past the stream's end", pos,
                                 v.key, value);
                        return -EBADMSG;
                }
                if (opcode == NVV_NVKV_SEQ32 || opcode == NVV_NVKV_SEQ64) {
                        if ((uint32_t) v.key + value > 0x10000u) {
                                nvv_errf(err, errlen, "NVKV word %zu: a sequence from key 0x%04x runs past the last key",
                                         pos, v.key);
                                return -EBADMSG;
                        }
                        for (uint32_t i = 0; i < value; i++) {
                                struct nvv_nvkv_value s = v;

                                s.key = (uint16_t) (v.key + i);
                                s.scalar = elem_at(p + 8 * at + (size_t) i * v.width, v.width);
                                r = fn(userdata, &s);
                                if (r < 0)
                                        return r;
                        }
                } else {
                        v.is_array = true;
                        v.count = value;
                        v.bytes = p + 8 * at;
                        r = fn(userdata, &v);
                        if (r < 0)
                                return r;
                }
                pos = at + need;
        }
        return 0;
}

void nvv_nvkv_writer_init(struct nvv_nvkv_writer *w, void *buf, size_t cap)
{
        *w = (struct nvv_nvkv_writer) { .buf = buf, .cap = cap };
}

static void put_word(struct nvv_nvkv_writer *w, uint64_t v)
{
        if (w->error)
                return;
        if (w->cap - w->len < 8) {
                w->error = -ENOBUFS;
                return;
        }
        for (unsigned i = 0; i < 8; i++)
                w->buf[w->len++] = (uint8_t) (v >> (8 * i));
}

static uint64_t op_word(uint16_t key, unsigned opcode, uint32_t value)
{
        return (uint64_t) key | (uint64_t) opcode << 28 | (uint64_t) value << 32;
}

void nvv_nvkv_put_u32(struct nvv_nvkv_writer *w, uint16_t key, uint32_t v)
{
        put_word(w, op_word(key, NVV_NVKV_IMM32, v));
}

void nvv_nvkv_put_u64(struct nvv_nvkv_writer *w, uint16_t key, uint64_t v)
{
        put_word(w, op_word(key, NVV_NVKV_SEQ64, 1));
        put_word(w, v);
}

void nvv_nvkv_put_bytes(struct nvv_nvkv_writer *w, uint16_t key, const void *p, uint32_t n)
{
        const uint8_t *b = p;

        put_word(w, op_word(key, NVV_NVKV_ARRAY8, n));
        for (uint32_t i = 0; i < n; i += 8) {
                uint64_t v = 0;

                for (uint32_t k = 0; k < 8 && i + k < n; k++)
                        v |= (uint64_t) b[i + k] << (8 * k);
                put_word(w, v);
        }
}
