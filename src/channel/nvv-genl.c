/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-genl.h"
#include "util.h"

struct nvv_genl {
        struct nl_sock *sock;
        int family;
        int group;
        void (*fn)(void *userdata, const struct nvv_genl_event *ev);
        void *userdata;
        int received;
};

int nvv_genl_errno(int nlerr)
{
        static const struct {
                int nl, e;
        } map[] = {
                { NLE_SUCCESS, 0 },          { NLE_NOMEM, ENOMEM },         { NLE_AGAIN, EAGAIN },
                { NLE_BAD_SOCK, EBADF },     { NLE_EXIST, EEXIST },         { NLE_INVAL, EINVAL },
                { NLE_RANGE, ERANGE },       { NLE_MSGSIZE, EMSGSIZE },     { NLE_OPNOTSUPP, EOPNOTSUPP },
                { NLE_AF_NOSUPPORT, EAFNOSUPPORT }, { NLE_OBJ_NOTFOUND, ENOENT }, { NLE_NOATTR, ENODATA },
                { NLE_MISSING_ATTR, ENODATA }, { NLE_AF_MISMATCH, EPROTO },  { NLE_SEQ_MISMATCH, EPROTO },
                { NLE_MSG_OVERFLOW, EOVERFLOW }, { NLE_MSG_TRUNC, EMSGSIZE }, { NLE_NOADDR, EADDRNOTAVAIL },
                { NLE_SRCRT_NOSUPPORT, EOPNOTSUPP }, { NLE_MSG_TOOSHORT, EBADMSG }, { NLE_MSGTYPE_NOSUPPORT, EOPNOTSUPP },
                { NLE_OBJ_MISMATCH, EINVAL }, { NLE_NOCACHE, ENOENT },      { NLE_BUSY, EBUSY },
                { NLE_PROTO_MISMATCH, EPROTONOSUPPORT }, { NLE_NOACCESS, EACCES }, { NLE_PERM, EPERM },
                { NLE_PKTLOC_FILE, ENOENT }, { NLE_PARSE_ERR, EBADMSG },    { NLE_NODEV, ENODEV },
                { NLE_IMMUTABLE, EPERM },    { NLE_DUMP_INTR, EINTR },      { NLE_ATTRSIZE, EBADMSG },
        };
        int v = nlerr < 0 ? -nlerr : nlerr;

        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (map[i].nl == v)
                        return -map[i].e;
        return -EIO;
}

static struct nla_policy policy[NVV_GENL_A_MAX + 1] = {
        [NVV_GENL_A_GPU] = { .type = NLA_U32 },
        [NVV_GENL_A_RELEASE] = { .type = NLA_NUL_STRING, .maxlen = 31 },
        [NVV_GENL_A_RPC] = { .type = NLA_UNSPEC, .minlen = 32, .maxlen = NVV_GENL_MAX_RPC },
};

int nvv_genl_parse(struct nl_msg *msg, struct nvv_genl_event *ev, char *err, size_t errlen)
{
        struct nlattr *tb[NVV_GENL_A_MAX + 1];
        struct nlmsghdr *nlh = nlmsg_hdr(msg);
        struct genlmsghdr *gh;
        int r;

        if (!genlmsg_valid_hdr(nlh, 0)) {
                nvv_errf(err, errlen, "not a generic netlink message");
                return -EBADMSG;
        }
        gh = nlmsg_data(nlh);
        if (gh->cmd != NVV_GENL_CMD_EVENT) {
                nvv_errf(err, errlen, "unexpected command %u", gh->cmd);
                return -EOPNOTSUPP;
        }
        r = genlmsg_parse(nlh, 0, tb, NVV_GENL_A_MAX, policy);
        if (r < 0) {
                nvv_errf(err, errlen, "malformed event: %s", nl_geterror(r));
                return nvv_genl_errno(r);
        }
        if (!tb[NVV_GENL_A_GPU] || !tb[NVV_GENL_A_RPC]) {
                nvv_errf(err, errlen, "event without %s", tb[NVV_GENL_A_GPU] ? "its RPC" : "a GPU");
                return -ENODATA;
        }
        *ev = (struct nvv_genl_event) {
                .gpu = nla_get_u32(tb[NVV_GENL_A_GPU]),
                .rpc = nla_data(tb[NVV_GENL_A_RPC]),
                .len = (size_t) nla_len(tb[NVV_GENL_A_RPC]),
        };
        /* Copied by length: the attribute's bytes are the kernel's, not a C string we trust. */
        if (tb[NVV_GENL_A_RELEASE])
                nla_strlcpy(ev->release, tb[NVV_GENL_A_RELEASE], sizeof(ev->release));
        return 0;
}

int nvv_genl_build(int family, const struct nvv_genl_event *ev, struct nl_msg **ret)
{
        struct nl_msg *msg = nlmsg_alloc();
        int r;

        if (!msg)
                return -ENOMEM;
        if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, NVV_GENL_CMD_EVENT, NVV_GENL_VERSION)) {
                nlmsg_free(msg);
                return -EMSGSIZE;
        }
        r = nla_put_u32(msg, NVV_GENL_A_GPU, ev->gpu);
        if (r >= 0 && ev->release[0])
                r = nla_put_string(msg, NVV_GENL_A_RELEASE, ev->release);
        if (r >= 0)
                r = nla_put(msg, NVV_GENL_A_RPC, (int) ev->len, ev->rpc);
        if (r < 0) {
                nlmsg_free(msg);
                return nvv_genl_errno(r);
        }
        *ret = msg;
        return 0;
}

static int on_msg(struct nl_msg *msg, void *arg)
{
        struct nvv_genl *g = arg;
        struct nvv_genl_event ev;

        if (nvv_genl_parse(msg, &ev, NULL, 0) == 0 && g->fn) {
                g->fn(g->userdata, &ev);
                g->received++;
        }
        return NL_OK;
}

int nvv_genl_open(struct nvv_genl **ret, char *err, size_t errlen)
{
        _cleanup_(nvv_genl_closep) struct nvv_genl *g = calloc(1, sizeof(*g));
        int r;

        if (!g)
                return -ENOMEM;
        g->sock = nl_socket_alloc();
        if (!g->sock)
                return -ENOMEM;
        r = genl_connect(g->sock);
        if (r < 0) {
                nvv_errf(err, errlen, "cannot open a generic netlink socket: %s", nl_geterror(r));
                return nvv_genl_errno(r);
        }
        g->family = genl_ctrl_resolve(g->sock, NVV_GENL_FAMILY);
        if (g->family < 0) {
                if (g->family == -NLE_OBJ_NOTFOUND) {
                        nvv_errf(err, errlen, "core driver not loaded: the kernel has no generic netlink family '%s'",
                             NVV_GENL_FAMILY);
                        return -ENODEV;
                }
                nvv_errf(err, errlen, "cannot resolve generic netlink family '%s': %s", NVV_GENL_FAMILY,
                     nl_geterror(g->family));
                return nvv_genl_errno(g->family);
        }
        g->group = genl_ctrl_resolve_grp(g->sock, NVV_GENL_FAMILY, NVV_GENL_GROUP);
        if (g->group < 0) {
                nvv_errf(err, errlen, "the core driver's family '%s' has no '%s' group", NVV_GENL_FAMILY, NVV_GENL_GROUP);
                return g->group == -NLE_OBJ_NOTFOUND ? -ENODEV : nvv_genl_errno(g->group);
        }
        nl_socket_disable_seq_check(g->sock);
        r = nl_socket_modify_cb(g->sock, NL_CB_VALID, NL_CB_CUSTOM, on_msg, g);
        if (r >= 0)
                r = nl_socket_add_membership(g->sock, g->group);
        if (r >= 0)
                r = nl_socket_set_nonblocking(g->sock);
        if (r < 0) {
                nvv_errf(err, errlen, "cannot join '%s': %s", NVV_GENL_GROUP, nl_geterror(r));
                return nvv_genl_errno(r);
        }
        *ret = TAKE_PTR(g);
        return 0;
}

struct nvv_genl *nvv_genl_close(struct nvv_genl *g)
{
        if (!g)
                return NULL;
        nl_socket_free(g->sock);
        free(g);
        return NULL;
}

int nvv_genl_get_fd(const struct nvv_genl *g)
{
        return nl_socket_get_fd(g->sock);
}

int nvv_genl_receive(struct nvv_genl *g, void (*fn)(void *userdata, const struct nvv_genl_event *ev), void *userdata)
{
        int r;

        g->fn = fn;
        g->userdata = userdata;
        g->received = 0;
        do
                r = nl_recvmsgs_default(g->sock);
        while (r >= 0);
        if (r < 0 && r != -NLE_AGAIN)
                return nvv_genl_errno(r);
        return g->received;
}
