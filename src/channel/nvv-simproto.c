/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nvv-simproto.h"

static const char *const type_names[_NVV_SIMPROTO_MAX] = {
        [NVV_SIMPROTO_HELLO] = "hello",       [NVV_SIMPROTO_INFO] = "info",     [NVV_SIMPROTO_RPC] = "rpc",
        [NVV_SIMPROTO_REPLY] = "reply",       [NVV_SIMPROTO_ERROR] = "error",   [NVV_SIMPROTO_SUBSCRIBE] = "subscribe",
        [NVV_SIMPROTO_ACK] = "ack",           [NVV_SIMPROTO_EVENT] = "event",   [NVV_SIMPROTO_FAULT] = "fault",
        [NVV_SIMPROTO_STATUS] = "status",     [NVV_SIMPROTO_STATUS_INFO] = "status-info",
        [NVV_SIMPROTO_SYSFS_SUBSCRIBE] = "sysfs-subscribe", [NVV_SIMPROTO_SYSFS_REQUEST] = "sysfs-request",
        [NVV_SIMPROTO_SYSFS_ANSWER] = "sysfs-answer", [NVV_SIMPROTO_REGISTER_TYPES] = "register-types",
        [NVV_SIMPROTO_UEVENT] = "uevent",     [NVV_SIMPROTO_UEVENT_SUBSCRIBE] = "uevent-subscribe",
        [NVV_SIMPROTO_HOST_RPC] = "host-rpc",   [NVV_SIMPROTO_HOST_RPC_RESULT] = "host-rpc-result",
};

const struct nvv_sock_proto nvv_simproto = {
        .magic = NVV_SIMPROTO_MAGIC,
        .version = NVV_SIMPROTO_VERSION,
        .n_types = _NVV_SIMPROTO_MAX,
        .type_names = type_names,
};

const char *nvv_simproto_type_to_string(int type)
{
        return nvv_sock_type_to_string(&nvv_simproto, type);
}

int nvv_simproto_parse_header(const void *pkt, size_t n, struct nvv_sock_header *h, char *err, size_t errlen)
{
        return nvv_sock_parse_header(&nvv_simproto, pkt, n, h, err, errlen);
}

void nvv_simproto_put_header(void *pkt, const struct nvv_sock_header *h)
{
        nvv_sock_put_header(pkt, h);
}

void nvv_simproto_rx_init(struct nvv_sock_rx *rx, size_t max_payload)
{
        nvv_sock_rx_init(rx, &nvv_simproto, max_payload);
}

void nvv_simproto_rx_done(struct nvv_sock_rx *rx)
{
        nvv_sock_rx_done(rx);
}

int nvv_simproto_rx_feed(struct nvv_sock_rx *rx, const void *pkt, size_t n, char *err, size_t errlen)
{
        return nvv_sock_rx_feed(rx, pkt, n, err, errlen);
}

int nvv_simproto_send(int fd, uint16_t type, uint32_t gpu, uint32_t tag, uint32_t timeout_ms, const void *payload,
                      size_t len, int send_timeout_ms)
{
        struct nvv_sock_header h = { .type = type, .target = gpu, .tag = tag, .timeout_ms = timeout_ms };

        return nvv_sock_send_msg(fd, &nvv_simproto, &h, payload, len, NVV_SIMPROTO_MAX_PAYLOAD, send_timeout_ms);
}

int nvv_simproto_recv(int fd, struct nvv_sock_rx *rx, int timeout_ms, char *err, size_t errlen)
{
        return nvv_sock_recv_msg(fd, rx, timeout_ms, err, errlen);
}
