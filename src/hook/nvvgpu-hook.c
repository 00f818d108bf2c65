/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nvvgpu-hook: libvirt's qemu hook for nvvgpu (nvvgpu-hook(8)), installed as
 * /etc/libvirt/hooks/qemu.d/nvvgpu (or as /etc/libvirt/hooks/qemu). libvirt runs it as
 *   nvvgpu-hook GUEST OPERATION SUB-OPERATION EXTRA   with the domain XML on stdin,
 * and waits for it while holding the domain: it must never call libvirt back (that deadlocks),
 * so it asks nvvgpud only, with a deadline. Its one line on stderr is what `virsh start` shows
 * when it refuses a start.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nvv-domxml.h"
#include "nvv-escape.h"
#include "nvv-hook.h"
#include "nvv-ipcsock.h"
#include "nvv-sysfs.h"
#include "util.h"

static char deadline_msg[256];

static void on_deadline(int sig)
{
        (void) sig;
        (void) !write(STDERR_FILENO, deadline_msg, strlen(deadline_msg));
        _exit(EXIT_FAILURE);
}

/* One line on stderr: "nvvgpu: ...", text from elsewhere escaped (no newline, no terminal
 * control in it). */
_printf_(1, 2) static int say(const char *fmt, ...)
{
        _cleanup_free_ char *line = NULL, *shown = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&line, fmt, ap);
        va_end(ap);
        if (n < 0)
                line = NULL;
        shown = line ? nvv_escape(line, NVV_ESCAPE_CONTROL) : NULL;
        fprintf(stderr, "nvvgpu: %s\n", shown ? shown : "out of memory");
        return EXIT_FAILURE;
}

static const char *socket_path(void)
{
        const char *e = getenv("NVVGPU_SOCKET");

        return e && *e ? e : NVV_IPCSOCK_DEFAULT_PATH;
}

/* migrate begin, restore begin: libvirt reads stdout as the domain XML to use; the XML is
 * nothing nvvgpu changes, so it goes out byte for byte (an empty output would mean the same
 * to libvirt, but a qemu.d/ script after this one reads what this one writes). */
static int filter(void)
{
        char buf[65536];
        ssize_t n;

        while ((n = read(STDIN_FILENO, buf, sizeof(buf))) != 0) {
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return say("reading the domain XML: %s", strerror(errno));
                }
                for (ssize_t o = 0; o < n;) {
                        ssize_t w = write(STDOUT_FILENO, buf + o, (size_t) (n - o));

                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0)
                                return say("writing the domain XML: %s", w < 0 ? strerror(errno) : "short write");
                        o += w;
                }
        }
        return EXIT_SUCCESS;
}

/* nvvgpud not running: refused if the domain uses a vGPU (an mdev, a request, or an NVIDIA
 * VF, which may hold one: only nvvgpud could tell), started untouched if not. */
static int prepare_without_daemon(const char *vm, const struct nvv_domxml *dx, int r)
{
        _cleanup_(nvv_sysfs_freep) struct nvv_sysfs *sys = NULL;
        const char *vf = NULL;

        if (!nvv_domxml_wants_vgpus(dx) && dx->n_pci && nvv_sysfs_new(NULL, &sys) >= 0)
                for (size_t i = 0; i < dx->n_pci && !vf; i++)
                        if (nvv_hook_is_nvidia_vf(sys, dx->pci[i]))
                                vf = dx->pci[i];
        if (!nvv_domxml_wants_vgpus(dx) && !vf)
                return EXIT_SUCCESS;
        return say("VM %s asks for vGPUs%s%s%s, but nvvgpud is not running (%s '%s'); start it (systemctl start nvvgpud)",
                   vm, vf ? " (NVIDIA VF " : "", vf ? vf : "", vf ? ")" : "",
                   r == -ENOENT ? "no socket" : "nothing listens on", socket_path());
}

static int prepare(const char *vm)
{
        _cleanup_free_ char *xml = NULL, *msg = NULL, *req = NULL;
        struct nvv_domxml dx;
        bool absent, parsed = false;
        size_t size = 0;
        int r;

        r = read_full_stream(stdin, NVV_DOMXML_MAX_SIZE, &xml, &size);
        if (r == -EFBIG)
                return say("VM %s: its domain XML is larger than %u bytes; nvvgpu-hook reads no more", vm,
                           NVV_DOMXML_MAX_SIZE);
        if (r < 0)
                return say("VM %s: reading its domain XML: %s", vm, strerror(-r));
        /* A domain without vGPUs starts untouched, nvvgpud running or not. */
        if (!nvv_domxml_may_want_vgpus(xml, size))
                return EXIT_SUCCESS;
        /* nvvgpud reads the XML (libxml2 loaded there once, not here at each start); one too
         * large for a request is read here. */
        r = nvv_hook_prepare_xml_request(vm, xml, size, &req, &msg);
        if (r == -E2BIG) {
                r = nvv_domxml_parse(xml, size, &dx, &msg);
                if (r < 0)
                        return say("VM %s: %s", vm, msg ? msg : strerror(-r));
                parsed = true;
                if (!nvv_domxml_wants_vgpus(&dx) && !dx.n_pci)
                        return EXIT_SUCCESS;
                r = nvv_hook_prepare_request(vm, &dx, &req, &msg);
        }
        if (r < 0)
                return say("VM %s: %s", vm, msg ? msg : strerror(-r));
        r = nvv_hook_call(socket_path(), req, NVV_HOOK_TIMEOUT_MS, &absent, &msg);
        if (r < 0 && absent) {
                int rc = r;

                if (!parsed) {
                        free(msg);
                        msg = NULL;
                        r = nvv_domxml_parse(xml, size, &dx, &msg);
                        if (r < 0)
                                return say("VM %s: %s", vm, msg ? msg : strerror(-r));
                }
                return prepare_without_daemon(vm, &dx, rc);
        }
        if (r < 0)
                return say("%s", msg ? msg : strerror(-r));
        return EXIT_SUCCESS;
}

static int release(const char *vm)
{
        _cleanup_free_ char *msg = NULL, *req = NULL;
        bool absent;
        int r;

        /* No vGPU is bound to a VM whose name nvvgpud cannot take. */
        if (nvv_hook_release_request(vm, &req, NULL) < 0)
                return EXIT_SUCCESS;
        r = nvv_hook_call(socket_path(), req, NVV_HOOK_TIMEOUT_MS, &absent, &msg);
        /* nvvgpud not running holds nothing running for it (at its start it releases the vGPUs
         * of domains that are gone). */
        if (r < 0 && absent)
                return EXIT_SUCCESS;
        if (r < 0)
                return say("VM %s: releasing its vGPUs: %s", vm, msg ? msg : strerror(-r));
        return EXIT_SUCCESS;
}

static int run(int argc, char *argv[])
{
        enum nvv_hook_action a;
        const char *vm;

        if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                printf("Usage: %s GUEST OPERATION SUB-OPERATION EXTRA   (run by libvirt, domain XML on stdin)\n"
                       "libvirt's qemu hook for nvvgpu: see nvvgpu-hook(8).\n",
                       program_invocation_short_name);
                return EXIT_SUCCESS;
        }
        if (argc == 2 && streq(argv[1], "--version")) {
                printf("nvvgpu-hook %s\n", PACKAGE_VERSION);
                return EXIT_SUCCESS;
        }
        if (argc != 5)
                return say("usage: %s GUEST OPERATION SUB-OPERATION EXTRA (libvirt's qemu hook; see nvvgpu-hook(8))",
                           program_invocation_short_name);
        vm = argv[1];
        a = nvv_hook_action_from_args(argv[2], argv[3]);
        if (a == NVV_HOOK_PREPARE || a == NVV_HOOK_RELEASE) {
                _cleanup_free_ char *shown = nvv_escape(vm, NVV_ESCAPE_CONTROL);

                /* The message is made now: the signal handler may only write it. */
                snprintf(deadline_msg, sizeof(deadline_msg), "nvvgpu: VM %.64s: %s: nvvgpud did not answer within %d s; gave up\n",
                         shown ? shown : "?", nvv_hook_action_to_string(a), NVV_HOOK_DEADLINE_S);
                (void) signal(SIGALRM, on_deadline);
                (void) alarm(NVV_HOOK_DEADLINE_S);
        }
        switch (a) {
        case NVV_HOOK_PREPARE:
                return prepare(vm);
        case NVV_HOOK_RELEASE:
                return release(vm);
        case NVV_HOOK_FILTER:
                return filter();
        default:
                /* The XML on stdin stays unread: libvirt takes the closed pipe (EPIPE) as
                 * "the child did not want it" (virCommandProcessIO, src/util/vircommand.c). */
                return EXIT_SUCCESS;
        }
}

int main(int argc, char *argv[])
{
        return run(argc, argv);
}
