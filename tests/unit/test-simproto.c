/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulator's socket protocol: headers, chunking, and every way a peer can lie. */
#include <sys/socket.h>
#include <unistd.h>

#include "nvv-simproto.h"
#include "testutil.h"

static void make_packet(uint8_t *p, uint16_t type, uint32_t flags, uint32_t len, uint32_t total)
{
        struct nvv_sock_header h = { .magic = NVV_SIMPROTO_MAGIC, .version = NVV_SIMPROTO_VERSION, .type = type,
                                         .target = 2, .tag = 9, .flags = flags, .len = len, .total = total };

        nvv_simproto_put_header(p, &h);
}

static void test_header_roundtrip(void **state)
{
        uint8_t p[64];
        struct nvv_sock_header h;
        char err[256];

        make_packet(p, NVV_SIMPROTO_RPC, 0, 0, 0);
        assert_int_equal(nvv_simproto_parse_header(p, 32, &h, err, sizeof(err)), 0);
        assert_int_equal(h.type, NVV_SIMPROTO_RPC);
        assert_int_equal(h.target, 2);
        assert_int_equal(h.tag, 9);
        assert_int_equal(get32(p), 0x4d53564e);
        assert_int_equal(nvv_simproto_parse_header(p, 20, &h, err, sizeof(err)), -EBADMSG);
        put32(p, 0x12345678);
        assert_int_equal(nvv_simproto_parse_header(p, 32, &h, err, sizeof(err)), -EBADMSG);
        assert_strstr(err, "bad magic");
        make_packet(p, 99, 0, 0, 0);
        assert_int_equal(nvv_simproto_parse_header(p, 32, &h, err, sizeof(err)), -EBADMSG);
        assert_strstr(err, "unknown packet type 99");
        make_packet(p, NVV_SIMPROTO_RPC, 4, 0, 0);
        assert_int_equal(nvv_simproto_parse_header(p, 32, &h, err, sizeof(err)), -EBADMSG);
        make_packet(p, NVV_SIMPROTO_RPC, 0, 10, 10);
        assert_int_equal(nvv_simproto_parse_header(p, 36, &h, err, sizeof(err)), -EBADMSG);
        assert_strstr(err, "claims 10 payload bytes, carries 4");
        p[4] = 2;
        assert_int_equal(nvv_simproto_parse_header(p, 42, &h, err, sizeof(err)), -EPROTO);
}

static void test_reassembly_rules(void **state)
{
        uint8_t p[64];
        struct nvv_sock_rx rx;
        char err[256];

        nvv_simproto_rx_init(&rx, 1000);
        /* A 20-byte message in 8 + 12. */
        make_packet(p, NVV_SIMPROTO_RPC, NVV_SIMPROTO_FLAG_MORE, 8, 20);
        memset(p + 32, 'a', 8);
        assert_int_equal(nvv_simproto_rx_feed(&rx, p, 40, err, sizeof(err)), 0);
        make_packet(p, NVV_SIMPROTO_RPC, 0, 12, 20);
        memset(p + 32, 'b', 12);
        assert_int_equal(nvv_simproto_rx_feed(&rx, p, 44, err, sizeof(err)), 1);
        assert_int_equal(rx.have, 20);
        assert_memory_equal(rx.data, "aaaaaaaabbbbbbbbbbbb", 20);

        /* Too large, interleaved, short, overlong, MORE after the end. */
        make_packet(p, NVV_SIMPROTO_RPC, NVV_SIMPROTO_FLAG_MORE, 8, 5000);
        assert_int_equal(nvv_simproto_rx_feed(&rx, p, 40, err, sizeof(err)), -E2BIG);
        make_packet(p, NVV_SIMPROTO_RPC, NVV_SIMPROTO_FLAG_MORE, 8, 20);
        assert_int_equal(nvv_simproto_rx_feed(&rx, p, 40, err, sizeof(err)), 0);
        make_packet(p, NVV_SIMPROTO_EVENT, 0, 12, 20);
        assert_int_equal(nvv_simproto_rx_feed(&rx, p, 44, err, sizeof(err)), -EPROTO);
        assert_strstr(err, "a packet of type event arrived inside a rpc message");
        make_packet(p, NVV_SIMPROTO_RPC, 0, 8, 20);
        assert_int_equal(nvv_simproto_rx_feed(&rx, p, 40, err, sizeof(err)), -EBADMSG);
        make_packet(p, NVV_SIMPROTO_RPC, NVV_SIMPROTO_FLAG_MORE, 8, 20);
        assert_int_equal(nvv_simproto_rx_feed(&rx, p, 40, err, sizeof(err)), 0);
        make_packet(p, NVV_SIMPROTO_RPC, 0, 8, 20);
        assert_int_equal(nvv_simproto_rx_feed(&rx, p, 40, err, sizeof(err)), -EBADMSG);
        assert_strstr(err, "message ended after 16 of 20 bytes");
        make_packet(p, NVV_SIMPROTO_RPC, NVV_SIMPROTO_FLAG_MORE, 8, 8);
        assert_int_equal(nvv_simproto_rx_feed(&rx, p, 40, err, sizeof(err)), -EBADMSG);
        nvv_simproto_rx_done(&rx);
}

static void test_socketpair_large(void **state)
{
        int sv[2];
        size_t len = 300000;
        uint8_t *payload = malloc(len);
        struct nvv_sock_rx rx;
        char err[256];
        pid_t pid;

        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        for (size_t i = 0; i < len; i++)
                payload[i] = (uint8_t) (i * 13);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(sv[0]);
                _exit(nvv_simproto_send(sv[1], NVV_SIMPROTO_REPLY, 0, 77, 0, payload, len, -1) < 0);
        }
        close(sv[1]);
        nvv_simproto_rx_init(&rx, NVV_SIMPROTO_MAX_PAYLOAD);
        assert_int_equal(nvv_simproto_recv(sv[0], &rx, 5000, err, sizeof(err)), 1);
        assert_int_equal(rx.first.tag, 77);
        assert_int_equal(rx.have, len);
        assert_memory_equal(rx.data, payload, len);
        assert_int_equal(nvv_simproto_recv(sv[0], &rx, 1000, err, sizeof(err)), -ECONNRESET);
        nvv_simproto_rx_done(&rx);
        close(sv[0]);
        free(payload);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_header_roundtrip),
                cmocka_unit_test(test_reassembly_rules),
                cmocka_unit_test(test_socketpair_large),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
