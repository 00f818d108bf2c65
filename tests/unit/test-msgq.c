/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Queue framing against hand-built elements: GSP_MSG_QUEUE_ELEMENT (message_queue_priv.h:
 * authTagBuffer[16], aadBuffer[16], checkSum@32, seqNum@36, elemCount@40, rpc@48), 4 KiB
 * elements, 16 at most per message, continuation records (function 71) beyond that, and
 * NVIDIA's checksum: XOR of the element's 64-bit words folded hi32 ^ lo32, zero when valid.
 */
#include "nvv-cmd.h"
#include "nvv-msgq.h"
#include "nvv-rpc.h"
#include "testutil.h"

static struct nvv_fwdb *db;
static const struct nvv_handles handles = { .client = 0xc1d00001, .device = 0xde000001, .subdevice = 0x5d000001 };

static int setup(void **state)
{
        db = test_load_db();
        return 0;
}

static int teardown(void **state)
{
        db = nvv_fwdb_free(db);
        return 0;
}

/* Independent of the code under test: the reference checksum, one word at a time. */
static uint32_t ref_checksum(const uint8_t *p, size_t len)
{
        uint64_t x = 0;

        for (size_t i = 0; i < len; i += 8) {
                uint64_t w = 0;

                for (int b = 0; b < 8; b++)
                        w |= (uint64_t) p[i + b] << (8 * b);
                x ^= w;
        }
        return (uint32_t) (x >> 32) ^ (uint32_t) x;
}

static void test_small_element_byte_exact(void **state)
{
        const struct nvv_fwabi *fw = nvv_fwdb_find(db, "570.144");
        uint8_t rpc[40], out[4096], exp[4096] = { 0 };
        int n;

        /* A 40-byte RPC: header plus 8 bytes of payload. */
        memset(rpc, 0, sizeof(rpc));
        put32(rpc + 0, 0x03000000);
        put32(rpc + 4, 0x43505256);
        put32(rpc + 8, 40);
        put32(rpc + 12, 0x100d);
        put32(rpc + 24, 17);
        put32(rpc + 32, 3);
        n = nvv_msgq_frame_record(fw, rpc, sizeof(rpc), 0, 5, out, sizeof(out));
        assert_int_equal(n, 1);

        put32(exp + 36, 5);  /* seqNum */
        put32(exp + 40, 1);  /* elemCount */
        memcpy(exp + 48, rpc, sizeof(rpc));
        put32(exp + 32, ref_checksum(exp, sizeof(exp))); /* the value that zeroes the fold */
        assert_memory_equal(out, exp, sizeof(exp));
        assert_int_equal(ref_checksum(out, sizeof(out)), 0);
        assert_int_equal(nvv_msgq_checksum(exp, sizeof(exp)), 0);
}

static void test_checksum_matches_reference(void **state)
{
        uint8_t buf[4096 * 3];
        uint32_t seed = 12345;

        for (size_t i = 0; i < sizeof(buf); i++) {
                seed = seed * 1103515245u + 12345u;
                buf[i] = (uint8_t) (seed >> 16);
        }
        for (size_t len = 8; len <= sizeof(buf); len += 8 * 37)
                assert_int_equal(nvv_msgq_checksum(buf, len), ref_checksum(buf, len));
}

static void test_multi_element_message(void **state)
{
        const struct nvv_fwabi *fw = nvv_fwdb_find(db, "580.65.06");
        _cleanup_free_ uint8_t *rpc = calloc(1, 10000), *out = malloc(65536);
        const uint8_t *got;
        size_t got_len;
        char err[256];
        int n;

        put32(rpc + 0, 0x03000000);
        put32(rpc + 4, 0x43505256);
        put32(rpc + 8, 10000);
        put32(rpc + 12, 0x1006);
        for (int i = 32; i < 10000; i++)
                rpc[i] = (uint8_t) i;
        n = nvv_msgq_frame_record(fw, rpc, 10000, 0, 1, out, 65536);
        assert_int_equal(n, 3); /* ceil((48 + 10000) / 4096) */
        assert_int_equal(get32(out + 40), 3);
        assert_int_equal(ref_checksum(out, 3 * 4096), 0);
        assert_int_equal(nvv_msgq_unframe(fw, out, 3 * 4096, 1, &got, &got_len, err, sizeof(err)), 0);
        assert_int_equal(got_len, 10000);
        assert_memory_equal(got, rpc, 10000);
}

/* A full PGPU_ADD_VGPU_TYPE: 694 KB on 595.45.04, 317 KB on 535.113.01. */
static void upload_roundtrip(const char *release, uint32_t expect_records, uint32_t count)
{
        const struct nvv_fwabi *fw = nvv_fwdb_find(db, release);
        _cleanup_free_ struct nvv_cmd_add_vgpu_types *t = calloc(1, sizeof(*t)), *seen = calloc(1, sizeof(*seen));
        _cleanup_(nvv_reasm_freep) struct nvv_reasm *ra = NULL;
        _cleanup_free_ uint8_t *rpc = NULL, *frames = NULL;
        size_t cap = 1u << 20, len, flen, off = 0;
        uint32_t seq = 100, msgs, i = 0;
        struct nvv_rpc_request req;
        char err[256];

        rpc = malloc(cap);
        t->discard = true;
        t->count = count;
        for (uint32_t k = 0; k < count; k++) {
                t->types[k].type_id = 1000 + k;
                snprintf(t->types[k].name, 32, "TYPE-%u", k);
                t->types[k].fb_length = (uint64_t) (k + 1) << 28;
                t->types[k].max_instance = 1 + k % 32;
        }
        assert_int_equal(nvv_rpc_encode_command(fw, NVV_CMD_ADD_VGPU_TYPES, t, &handles, 77, 0, rpc, cap, &len, err,
                                                sizeof(err)), 0);
        assert_int_equal(nvv_msgq_records(fw, len), expect_records);
        assert_int_equal(nvv_msgq_frame_all(fw, rpc, len, &seq, &frames, &flen, &msgs), 0);
        assert_int_equal(msgs, expect_records);
        assert_int_equal(seq, 100 + expect_records);

        assert_int_equal(nvv_reasm_new(fw, &ra), 0);
        while (off < flen) {
                uint32_t el;
                const uint8_t *r;
                size_t rl;
                int k;

                assert_int_equal(nvv_msgq_message_elements(fw, frames + off, flen - off, &el, err, sizeof(err)), 0);
                assert_int_equal(ref_checksum(frames + off, (size_t) el * 4096), 0);
                assert_int_equal(nvv_msgq_unframe(fw, frames + off, flen - off, 100 + i, &r, &rl, err, sizeof(err)), 0);
                /* The first record carries the real function; the rest are continuation records. */
                assert_int_equal(get32(r + 12), i == 0 ? 76 : 71);
                assert_true(rl <= 65536 - 48);
                if (i + 1 < expect_records)
                        assert_int_equal(el, 16);
                k = nvv_reasm_feed(ra, r, rl, err, sizeof(err));
                assert_int_equal(k, i + 1 == expect_records ? 1 : 0);
                off += (size_t) el * 4096;
                i++;
        }
        {
                size_t l;
                const uint8_t *full = nvv_reasm_data(ra, &l);

                assert_int_equal(l, len);
                assert_memory_equal(full, rpc, len);
                assert_int_equal(nvv_rpc_parse_request(fw, full, l, &req, seen, err, sizeof(err)), 0);
        }
        assert_int_equal(req.cmd, NVV_CMD_ADD_VGPU_TYPES);
        assert_int_equal(seen->count, count);
        assert_string_equal(seen->types[count - 1].name, t->types[count - 1].name);
        assert_int_equal(seen->types[count - 1].fb_length, t->types[count - 1].fb_length);
}

static void test_type_upload_595(void **state)
{
        /* 32 + 40 + 694280 = 694352 bytes: one 65488-byte record, then 65456-byte chunks. */
        upload_roundtrip("595.45.04", 11, 128);
}

static void test_type_upload_535(void **state)
{
        /* 32 + 24 + 316936 = 316992 bytes → 5 messages. */
        upload_roundtrip("535.113.01", 5, 64);
}

static void test_unframe_errors(void **state)
{
        const struct nvv_fwabi *fw = nvv_fwdb_find(db, "570.144");
        uint8_t rpc[64] = { 0 }, out[4096], bad[4096];
        const uint8_t *r;
        size_t rl;
        char err[256];

        put32(rpc + 0, 0x03000000);
        put32(rpc + 4, 0x43505256);
        put32(rpc + 8, 64);
        put32(rpc + 12, 76);
        assert_int_equal(nvv_msgq_frame_record(fw, rpc, sizeof(rpc), 0, 9, out, sizeof(out)), 1);

        memcpy(bad, out, sizeof(bad));
        bad[200] ^= 0x10;
        assert_int_equal(nvv_msgq_unframe(fw, bad, sizeof(bad), 9, &r, &rl, err, sizeof(err)), -EBADMSG);
        assert_strstr(err, "checksum mismatch");

        assert_int_equal(nvv_msgq_unframe(fw, out, sizeof(out), 10, &r, &rl, err, sizeof(err)), -EPROTO);
        assert_strstr(err, "sequence number 9, expected 10");

        memcpy(bad, out, sizeof(bad));
        put32(bad + 40, 0);
        assert_int_equal(nvv_msgq_unframe(fw, bad, sizeof(bad), 9, &r, &rl, err, sizeof(err)), -EBADMSG);
        assert_strstr(err, "element count 0 is outside 1..16");
        put32(bad + 40, 17);
        assert_int_equal(nvv_msgq_unframe(fw, bad, sizeof(bad), 9, &r, &rl, err, sizeof(err)), -EBADMSG);
        put32(bad + 40, 2); /* claims 8 KiB, only 4 KiB present */
        assert_int_equal(nvv_msgq_unframe(fw, bad, sizeof(bad), 9, &r, &rl, err, sizeof(err)), -EBADMSG);
        assert_strstr(err, "spans 2 elements but only 4096 bytes are present");

        /* RPC length larger than the element, with a checksum that is right for the lie. */
        memcpy(bad, out, sizeof(bad));
        put32(bad + 48 + 8, 5000);
        put32(bad + 32, 0);
        put32(bad + 32, ref_checksum(bad, sizeof(bad)));
        assert_int_equal(nvv_msgq_unframe(fw, bad, sizeof(bad), 9, &r, &rl, err, sizeof(err)), -EBADMSG);

        /* Unknown header version. */
        memcpy(bad, out, sizeof(bad));
        put32(bad + 48, 0x02000000);
        put32(bad + 32, 0);
        put32(bad + 32, ref_checksum(bad, sizeof(bad)));
        assert_int_equal(nvv_msgq_unframe(fw, bad, sizeof(bad), 9, &r, &rl, err, sizeof(err)), -EPROTO);

        /* Too short for a header at all. */
        assert_int_equal(nvv_msgq_unframe(fw, out, 20, 9, &r, &rl, err, sizeof(err)), -EBADMSG);
}

static void test_reassembly_errors(void **state)
{
        const struct nvv_fwabi *fw = nvv_fwdb_find(db, "570.144");
        _cleanup_(nvv_reasm_freep) struct nvv_reasm *ra = NULL;
        _cleanup_free_ uint8_t *big = calloc(1, 65488);
        uint8_t cont[64] = { 0 }, other[64] = { 0 };
        char err[256];

        assert_int_equal(nvv_reasm_new(fw, &ra), 0);
        put32(cont + 0, 0x03000000);
        put32(cont + 4, 0x43505256);
        put32(cont + 8, 64);
        put32(cont + 12, 71);
        assert_int_equal(nvv_reasm_feed(ra, cont, 64, err, sizeof(err)), -EPROTO);
        assert_strstr(err, "continuation record without a message to continue");

        /* A control RPC claiming 100000 bytes of params: the first record must be full size. */
        put32(big + 0, 0x03000000);
        put32(big + 4, 0x43505256);
        put32(big + 8, 65488);
        put32(big + 12, 76);
        put32(big + 32 + 16, 100000); /* paramsSize */
        assert_int_equal(nvv_reasm_feed(ra, big, 65488, err, sizeof(err)), 0);
        assert_true(nvv_reasm_busy(ra));

        /* A new message mid-message abandons the unfinished one and is taken on its own. */
        memcpy(other, cont, 64);
        put32(other + 12, 76);
        put32(other + 32 + 16, 8); /* paramsSize: fits this record */
        assert_int_equal(nvv_reasm_feed(ra, other, 64, err, sizeof(err)), 1);
        assert_int_equal(nvv_reasm_abandoned(ra), 1);
        assert_false(nvv_reasm_busy(ra));

        /* A continuation carrying more than awaited. */
        assert_int_equal(nvv_reasm_feed(ra, big, 65488, err, sizeof(err)), 0);
        {
                _cleanup_free_ uint8_t *c2 = calloc(1, 65488);

                /* 100056 - 65488 = 34568 awaited; 20000 arrive, then 20000 more is too much. */
                memcpy(c2, cont, 32);
                put32(c2 + 8, 32 + 20000);
                assert_int_equal(nvv_reasm_feed(ra, c2, 32 + 20000, err, sizeof(err)), 0);
                assert_int_equal(nvv_reasm_feed(ra, c2, 32 + 20000, err, sizeof(err)), -EBADMSG);
                assert_strstr(err, "only");
        }

        /* A short first record cannot promise continuation records. */
        put32(big + 8, 4000);
        assert_int_equal(nvv_reasm_feed(ra, big, 4000, err, sizeof(err)), -EBADMSG);

        /* Params claiming more than the accepted maximum. */
        put32(big + 8, 65488);
        put32(big + 32 + 16, 0x7fffffff);
        assert_int_equal(nvv_reasm_feed(ra, big, 65488, err, sizeof(err)), -E2BIG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_small_element_byte_exact),
                cmocka_unit_test(test_checksum_matches_reference),
                cmocka_unit_test(test_multi_element_message),
                cmocka_unit_test(test_type_upload_595),
                cmocka_unit_test(test_type_upload_535),
                cmocka_unit_test(test_unframe_errors),
                cmocka_unit_test(test_reassembly_errors),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
