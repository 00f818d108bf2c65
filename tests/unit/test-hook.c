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
#include "nvv-sysfs.h"
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
        "<source><address uuid='6e0f3a52-9d1b-4c7e-8a21-00000000a102'/></source></hostdev>"
        "<hostdev mode='subsystem' type='pci' managed='yes'>"
        "<source><address domain='0x0000' bus='0x43' slot='0x00' function='0x4'/></source></hostdev></devices></domain>";

static void test_prepare_request(void **state)
{
        _cleanup_free_ char *text = NULL, *msg = NULL;
        struct nvv_ipc_request q;
        struct nvv_domxml dx;

        (void) state;
        assert_int_equal(nvv_domxml_parse(domain_xml, strlen(domain_xml), &dx, &msg), 0);
        assert_int_equal(nvv_hook_prepare_request("web", &dx, &text, &msg), 0);
        assert_string_equal(text, "{\"version\":1,\"method\":\"vm-prepare\",\"params\":{\"vm\":\"web\","
                                  "\"request\":\"L40S-8Q*2,L40S-4Q\",\"vm_uuid\":\"c7a5fdbd-cdaf-9455-926a-d65c16db1809\","
                                  "\"uuids\":[\"6e0f3a52-9d1b-4c7e-8a21-00000000a101\",\"6e0f3a52-9d1b-4c7e-8a21-00000000a102\"],"
                                  "\"pci\":[\"0000:43:00.4\"]}}");
        /* nvvgpud reads it as meant. */
        assert_int_equal(nvv_ipc_parse_request(text, strlen(text), &q, &msg), 0);
        assert_int_equal(q.method, NVV_IPC_VM_PREPARE);
        assert_string_equal(q.vm, "web");
        assert_string_equal(q.vm_uuid, "c7a5fdbd-cdaf-9455-926a-d65c16db1809");
        assert_int_equal(q.n_uuids, 2);
        assert_string_equal(q.uuids[1], "6e0f3a52-9d1b-4c7e-8a21-00000000a102");
        assert_int_equal(q.n_pci, 1);
        assert_string_equal(q.pci[0], "0000:43:00.4");
        assert_string_equal(q.spec, "L40S-8Q*2,L40S-4Q");
        assert_null(q.xml);

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
        /* An mdev its metadata names (uuid='...') goes as named, apart from the request list. */
        {
                static const char named[] =
                        "<domain><metadata><n:vgpus xmlns:n='urn:nvvgpu:libvirt:1'><n:vgpu type='L40S-8Q' "
                        "uuid='6e0f3a52-9d1b-4c7e-8a21-00000000a101'/><n:vgpu type='L40S-4Q'/></n:vgpus></metadata></domain>";

                free(text);
                text = NULL;
                assert_int_equal(nvv_domxml_parse(named, strlen(named), &dx, &msg), 0);
                assert_int_equal(nvv_hook_prepare_request("db", &dx, &text, &msg), 0);
                assert_string_equal(text, "{\"version\":1,\"method\":\"vm-prepare\",\"params\":{\"vm\":\"db\","
                                          "\"request\":\"L40S-4Q\","
                                          "\"named\":[{\"uuid\":\"6e0f3a52-9d1b-4c7e-8a21-00000000a101\",\"type\":\"L40S-8Q\"}]}}");
                assert_int_equal(nvv_ipc_parse_request(text, strlen(text), &q, &msg), 0);
                assert_int_equal(q.n_named, 1);
                assert_string_equal(q.named[0].uuid, "6e0f3a52-9d1b-4c7e-8a21-00000000a101");
                assert_string_equal(q.named[0].type, "L40S-8Q");
                assert_string_equal(q.spec, "L40S-4Q");
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

/* The request that hands nvvgpud the XML itself: it arrives byte for byte; one past what
 * nvvgpud reads is -E2BIG (the hook then reads the XML itself); xml comes alone. */
static void test_prepare_xml_request(void **state)
{
        _cleanup_free_ char *text = NULL, *msg = NULL, *big = NULL;
        _cleanup_(nvv_ipc_request_done) struct nvv_ipc_request q = {};
        size_t n;

        (void) state;
        assert_int_equal(nvv_hook_prepare_xml_request("web", domain_xml, strlen(domain_xml), &text, &msg), 0);
        assert_int_equal(nvv_ipc_parse_request(text, strlen(text), &q, &msg), 0);
        assert_int_equal(q.method, NVV_IPC_VM_PREPARE);
        assert_string_equal(q.vm, "web");
        assert_non_null(q.xml);
        assert_string_equal(q.xml, domain_xml);
        assert_int_equal(q.n_uuids, 0);
        assert_int_equal(nvv_hook_prepare_xml_request("a/b", domain_xml, strlen(domain_xml), &text, &msg), -EINVAL);
        /* Quotes double in JSON: a document that fits as XML may not as a request. */
        n = NVV_IPC_MAX_REQUEST - 100;
        big = malloc(n + 1);
        assert_non_null(big);
        memset(big, 'a', n);
        big[n] = '\0';
        free(text);
        text = NULL;
        assert_int_equal(nvv_hook_prepare_xml_request("web", big, n, &text, &msg), 0);
        free(text);
        text = NULL;
        memset(big, '"', n);
        assert_int_equal(nvv_hook_prepare_xml_request("web", big, n, &text, &msg), -E2BIG);
        assert_null(text);
        assert_int_equal(nvv_hook_prepare_xml_request("web", big, NVV_IPC_MAX_REQUEST + 1, &text, &msg), -E2BIG);
        /* pci: PCI addresses, canonical ("43:00.4" gets its domain), none twice. */
        nvv_ipc_request_done(&q);
        {
                static const struct {
                        const char *pci, *why;
                } bad[] = {
                        { "[\"0000:43:00.4\",\"43:00.4\"]", "params.pci[1]: 0000:43:00.4 twice" },
                        { "[\"0000:43:00\"]", "0000:43:00" },
                        { "\"0000:43:00.4\"", "params.pci: expected an array" },
                };
                static const struct {
                        const char *named, *why;
                } bad_named[] = {
                        { "[\"6e0f3a52-9d1b-4c7e-8a21-00000000a101\"]", "params.named[0]: expected an object" },
                        { "[{\"uuid\":\"6e0f3a52-9d1b-4c7e-8a21-00000000a101\"}]", "type" },
                        { "[{\"uuid\":\"6e0f3a52-9d1b-4c7e-8a21-00000000a101\",\"type\":\"L40S-8Q\",\"count\":2}]", "count" },
                        { "[{\"uuid\":\"6e0f3a52-9d1b-4c7e-8a21-00000000a101\",\"type\":\"L40S-8Q\"},"
                          "{\"uuid\":\"6E0F3A52-9d1b-4c7e-8a21-00000000a101\",\"type\":\"L40S-4Q\"}]",
                          "params.named[1]: 6e0f3a52-9d1b-4c7e-8a21-00000000a101 twice" },
                };
                static const char good[] =
                        "{\"version\":1,\"method\":\"vm-prepare\",\"params\":{\"vm\":\"w\",\"pci\":[\"43:00.4\",\"0000:43:00.5\"]}}";
                char text2[256];

                assert_int_equal(nvv_ipc_parse_request(good, strlen(good), &q, &msg), 0);
                assert_int_equal(q.n_pci, 2);
                assert_string_equal(q.pci[0], "0000:43:00.4");
                for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                        snprintf(text2, sizeof(text2),
                                 "{\"version\":1,\"method\":\"vm-prepare\",\"params\":{\"vm\":\"w\",\"pci\":%s}}", bad[i].pci);
                        assert_int_equal(nvv_ipc_parse_request(text2, strlen(text2), &q, &msg), -EINVAL);
                        if (!strstr(msg, bad[i].why))
                                fail_msg("pci %s: '%s', want '%s'", bad[i].pci, msg, bad[i].why);
                }
                for (size_t i = 0; i < ELEMENTSOF(bad_named); i++) {
                        snprintf(text2, sizeof(text2),
                                 "{\"version\":1,\"method\":\"vm-prepare\",\"params\":{\"vm\":\"w\",\"named\":%s}}", bad_named[i].named);
                        assert_int_equal(nvv_ipc_parse_request(text2, strlen(text2), &q, &msg), -EINVAL);
                        if (!strstr(msg, bad_named[i].why))
                                fail_msg("named %s: '%s', want '%s'", bad_named[i].named, msg, bad_named[i].why);
                }
        }
        /* nvvgpud refuses xml beside the fields it reads from it. */
        nvv_ipc_request_done(&q);
        {
                static const char both[] =
                        "{\"version\":1,\"method\":\"vm-prepare\",\"params\":{\"vm\":\"web\",\"xml\":\"<domain/>\","
                        "\"request\":\"L40S-8Q\"}}";

                assert_int_equal(nvv_ipc_parse_request(both, strlen(both), &q, &msg), -EINVAL);
                assert_non_null(strstr(msg, "params.xml comes alone"));
                assert_null(q.xml);
        }
}

/* An NVIDIA VF is one with vendor 0x10de and a physfn link; a PF or another vendor's VF is not. */
static void test_is_nvidia_vf(void **state)
{
        _cleanup_(nvv_sysfs_freep) struct nvv_sysfs *sys = NULL;
        char root[] = "/tmp/test-hook-XXXXXX", cmd[1024];

        (void) state;
        assert_non_null(mkdtemp(root));
        snprintf(cmd, sizeof(cmd),
                 "set -e; cd %s; d=bus/pci/devices; mkdir -p $d/0000:43:00.0 $d/0000:43:00.4 $d/0000:05:00.1 $d/0000:05:00.0;"
                 "echo 0x10de > $d/0000:43:00.0/vendor; echo 0x10de > $d/0000:43:00.4/vendor;"
                 "ln -s ../0000:43:00.0 $d/0000:43:00.4/physfn; echo 0x8086 > $d/0000:05:00.1/vendor;"
                 "ln -s ../0000:05:00.0 $d/0000:05:00.1/physfn",
                 root);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(nvv_sysfs_new(root, &sys), 0);
        assert_true(nvv_hook_is_nvidia_vf(sys, "0000:43:00.4"));
        assert_false(nvv_hook_is_nvidia_vf(sys, "0000:43:00.0"));
        assert_false(nvv_hook_is_nvidia_vf(sys, "0000:05:00.1"));
        assert_false(nvv_hook_is_nvidia_vf(sys, "0000:99:00.0"));
        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        assert_int_equal(system(cmd), 0);
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
                cmocka_unit_test(test_prepare_xml_request),
                cmocka_unit_test(test_is_nvidia_vf),
                cmocka_unit_test(test_release_request),
                cmocka_unit_test(test_call_absent),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
