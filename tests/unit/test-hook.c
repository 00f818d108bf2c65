/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt hook's decisions: which of libvirt's qemu hook calls do what, the requests it
 * sends (read back by nvvgpud's own request parser, so the two cannot drift apart), and
 * "nvvgpud is not running" told apart from other failures to reach it.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "nvv-hook.h"
#include "nvv-ipc.h"
#include "testutil.h"

static void test_actions(void **state)
{
        static const struct {
                const char *op, *sub;
                enum nvv_hook_action want;
        } calls[] = {
                /* As libvirt 9.0's qemu driver calls its hook (https://libvirt.org/hooks.html). */
                { "prepare", "begin", NVV_HOOK_PREPARE },
                { "start", "begin", NVV_HOOK_IGNORE },
                { "started", "begin", NVV_HOOK_IGNORE },
                { "stopped", "end", NVV_HOOK_RELEASE },
                { "release", "end", NVV_HOOK_RELEASE },
                { "migrate", "begin", NVV_HOOK_FILTER },
                { "restore", "begin", NVV_HOOK_FILTER },
                { "reconnect", "begin", NVV_HOOK_IGNORE },
                { "attach", "begin", NVV_HOOK_IGNORE },
                /* Anything else, a future operation included, is left alone. */
                { "prepare", "end", NVV_HOOK_IGNORE },
                { "release", "begin", NVV_HOOK_IGNORE },
                { "PREPARE", "begin", NVV_HOOK_IGNORE },
                { "-", "-", NVV_HOOK_IGNORE },
                { "frobnicate", "begin", NVV_HOOK_IGNORE },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(calls); i++)
                if (nvv_hook_action_from_args(calls[i].op, calls[i].sub) != calls[i].want)
                        fail_msg("%s %s: got %s, want %s", calls[i].op, calls[i].sub,
                                 nvv_hook_action_to_string(nvv_hook_action_from_args(calls[i].op, calls[i].sub)),
                                 nvv_hook_action_to_string(calls[i].want));
        assert_int_equal(nvv_hook_action_from_args(NULL, "begin"), NVV_HOOK_IGNORE);
        assert_string_equal(nvv_hook_action_to_string(NVV_HOOK_FILTER), "filter");
        assert_null(nvv_hook_action_to_string(_NVV_HOOK_ACTION_MAX));
}

static const char domain_xml[] =
        "<domain type='qemu'><name>web</name><uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>"
        "<metadata><n:vgpus xmlns:n='urn:nvvgpu:libvirt:1'><n:vgpu type='L40S-8Q' count='2'/><n:vgpu type='L40S-4Q'/>"
        "</n:vgpus></metadata>"
        "<devices><hostdev mode='subsystem' type='mdev' model='vfio-pci'>"
        "<source><address uuid='6e0f3a52-9d1b-4c7e-8a21-00000000a101'/></source></hostdev>"
        "<hostdev mode='subsystem' type='mdev' model='vfio-pci'>"
        "<source><address uuid='6e0f3a52-9d1b-4c7e-8a21-00000000a102'/></source></hostdev></devices></domain>";

static void test_prepare_request(void **state)
{
        _cleanup_free_ char *text = NULL, *msg = NULL;
        struct nvv_ipc_request q;
        struct nvv_domxml dx;

        (void) state;
        assert_int_equal(nvv_domxml_parse(domain_xml, strlen(domain_xml), &dx, &msg), 0);
        assert_int_equal(nvv_hook_prepare_request("web", &dx, &text, &msg), 0);
        assert_string_equal(text, "{\"version\":1,\"method\":\"vm-prepare\",\"params\":{\"vm\":\"web\","
                                  "\"vm_uuid\":\"c7a5fdbd-cdaf-9455-926a-d65c16db1809\","
                                  "\"uuids\":[\"6e0f3a52-9d1b-4c7e-8a21-00000000a101\",\"6e0f3a52-9d1b-4c7e-8a21-00000000a102\"],"
                                  "\"request\":\"L40S-8Q*2,L40S-4Q\"}}");
        /* nvvgpud reads it as meant. */
        assert_int_equal(nvv_ipc_parse_request(text, strlen(text), &q, &msg), 0);
        assert_int_equal(q.method, NVV_IPC_VM_PREPARE);
        assert_string_equal(q.vm, "web");
        assert_string_equal(q.vm_uuid, "c7a5fdbd-cdaf-9455-926a-d65c16db1809");
        assert_int_equal(q.n_uuids, 2);
        assert_string_equal(q.uuids[1], "6e0f3a52-9d1b-4c7e-8a21-00000000a102");
        assert_string_equal(q.spec, "L40S-8Q*2,L40S-4Q");

        /* Only what the domain has: no uuids, no request, no vm_uuid when absent. */
        {
                static const char only_meta[] =
                        "<domain><metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' type='L40S-8Q'/></metadata></domain>";

                free(text);
                text = NULL;
                assert_int_equal(nvv_domxml_parse(only_meta, strlen(only_meta), &dx, &msg), 0);
                assert_int_equal(nvv_hook_prepare_request("db", &dx, &text, &msg), 0);
                assert_string_equal(text, "{\"version\":1,\"method\":\"vm-prepare\",\"params\":{\"vm\":\"db\",\"request\":\"L40S-8Q\"}}");
                assert_int_equal(nvv_ipc_parse_request(text, strlen(text), &q, &msg), 0);
                assert_int_equal(q.n_uuids, 0);
                assert_string_equal(q.vm_uuid, "");
        }
        /* A VM name nvvgpud cannot take (libvirt allows longer ones) is said so here. */
        {
                char longname[80];

                memset(longname, 'a', sizeof(longname) - 1);
                longname[sizeof(longname) - 1] = '\0';
                free(text);
                text = NULL;
                assert_int_equal(nvv_hook_prepare_request(longname, &dx, &text, &msg), -EINVAL);
                assert_non_null(strstr(msg, "nvvgpud cannot serve this VM: a VM name has 1 to 64 characters"));
                assert_null(text);
                assert_int_equal(nvv_hook_prepare_request("a\nb", &dx, &text, &msg), -EINVAL);
                assert_int_equal(nvv_hook_prepare_request("a/b", &dx, &text, &msg), -EINVAL);
        }
}

static void test_release_request(void **state)
{
        _cleanup_free_ char *text = NULL, *msg = NULL;
        struct nvv_ipc_request q;

        (void) state;
        /* A name with quotes and non-ASCII text goes through JSON intact. */
        assert_int_equal(nvv_hook_release_request("web \"prod\" é", &text, &msg), 0);
        assert_int_equal(nvv_ipc_parse_request(text, strlen(text), &q, &msg), 0);
        assert_int_equal(q.method, NVV_IPC_VM_RELEASE);
        assert_string_equal(q.vm, "web \"prod\" é");
        free(text);
        text = NULL;
        assert_int_equal(nvv_hook_release_request("", &text, &msg), -EINVAL);
        assert_null(text);
}

/* No socket, and a socket nothing listens on: "not running". A path that is no socket at
 * all is another failure. */
static void test_call_absent(void **state)
{
        _cleanup_free_ char *msg = NULL;
        char dir[] = "/tmp/nvv-test-hook-XXXXXX", path[64];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        bool absent = false;
        int fd;

        (void) state;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/none.sock", dir);
        assert_int_equal(nvv_hook_call(path, "{}", 1000, &absent, &msg), -ENOENT);
        assert_true(absent);
        assert_non_null(strstr(msg, "none.sock"));

        /* Bound, never listening: what a crashed nvvgpud leaves behind. */
        snprintf(path, sizeof(path), "%s/stale.sock", dir);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        free(msg);
        msg = NULL;
        absent = false;
        assert_int_equal(nvv_hook_call(path, "{}", 1000, &absent, &msg), -ECONNREFUSED);
        assert_true(absent);
        close(fd);
        unlink(path);

        /* A path that cannot lead to a socket: refused, but not "not running". (A path
         * that is no socket reads as nothing listening: connect() says ECONNREFUSED.) */
        free(msg);
        msg = NULL;
        assert_int_equal(nvv_hook_call("/dev/null/nvvgpud.sock", "{}", 1000, &absent, &msg), -ENOTDIR);
        assert_false(absent);
        assert_non_null(msg);
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_actions),
                cmocka_unit_test(test_prepare_request),
                cmocka_unit_test(test_release_request),
                cmocka_unit_test(test_call_absent),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
