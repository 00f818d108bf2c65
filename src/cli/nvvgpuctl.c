/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nvvgpuctl.h"
#include "util.h"

static const struct {
        const char *object;
        int (*run)(int argc, char **argv);
        const char *summary;
} objects[] = {
        { "fw", nvvgpuctl_fw, "firmware releases, struct layouts and a dissector for captured traffic" },
        { "host", nvvgpuctl_host, "the GPUs of this machine and whether each can host vGPUs" },
        { "plan", nvvgpuctl_plan, "where VM requests would go (what-if, creates nothing)" },
        /* These ask nvvgpud. */
        { "gpus", nvvgpuctl_daemon, "the GPUs nvvgpud manages, their state and free framebuffer" },
        { "types", nvvgpuctl_daemon, "vGPU types per GPU, how many can be made, and why not" },
        { "create", nvvgpuctl_daemon, "make a vGPU" },
        { "destroy", nvvgpuctl_daemon, "remove a vGPU" },
        { "list", nvvgpuctl_daemon, "the vGPUs" },
        { "show", nvvgpuctl_daemon, "one vGPU, a VM's vGPUs, or a GPU's framebuffer map" },
        { "status", nvvgpuctl_daemon, "nvvgpud's state (--prometheus: metrics)" },
        { "policy", nvvgpuctl_daemon, "check a policy file, or make nvvgpud reload its own" },
        { "define", nvvgpuctl_daemon, "a persistent vGPU, made at boot or when its GPU appears" },
        { "undefine", nvvgpuctl_daemon, "forget a persistent vGPU (a running one stays)" },
        { "start", nvvgpuctl_daemon, "make a defined vGPU now" },
        { "stop", nvvgpuctl_daemon, "remove a vGPU, keeping its definition" },
        { "scheduler", nvvgpuctl_daemon, "a GPU's time-sliced scheduler: get, or set until nvvgpud restarts" },
        { "events", nvvgpuctl_daemon, "follow firmware and lifecycle events" },
        { "vm", nvvgpuctl_daemon, "the VMs that hold vGPUs, and their vGPUs' state" },
        { "mode", nvvgpuctl_daemon, "switch a GPU between equal-size and mixed-size mode (no vGPU on it)" },
};

void cli_print_json(json_object *o)
{
        fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                        JSON_C_TO_STRING_NOSLASHESCAPE),
              stdout);
        fputc('\n', stdout);
}

void cli_usage_error(const char *fmt, ...)
{
        va_list ap;

        fputs("nvvgpuctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\n", stderr);
        exit(2);
}

int cli_error(int r, const char *fmt, ...)
{
        va_list ap;

        fputs("nvvgpuctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\n", stderr);
        return r < 0 ? r : -EINVAL;
}

static void help(void)
{
        printf("Usage: nvvgpuctl OBJECT COMMAND [ARGS]\n\nObjects:\n");
        for (size_t i = 0; i < ELEMENTSOF(objects); i++)
                printf("  %-8s %s\n", objects[i].object, objects[i].summary);
        printf("\nRun 'nvvgpuctl fw help', 'nvvgpuctl host help', or 'nvvgpuctl COMMAND --help'. See nvvgpuctl(1).\n");
}

int main(int argc, char **argv)
{
        nvv_log_set_fn(nvv_log_stderr, NULL);
        if (getenv("NVVGPU_DEBUG"))
                nvv_log_set_max_level(7);
        if (argc < 2) {
                help();
                return 2;
        }
        if (streq(argv[1], "help") || streq(argv[1], "--help") || streq(argv[1], "-h")) {
                help();
                return 0;
        }
        if (streq(argv[1], "--version")) {
                printf("nvvgpuctl %s\n", PACKAGE_VERSION);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(objects); i++)
                if (streq(objects[i].object, argv[1]))
                        return objects[i].run(argc - 1, argv + 1) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        cli_usage_error("unknown object '%s' (try 'nvvgpuctl help')", argv[1]);
}
