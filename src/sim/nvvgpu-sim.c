/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nvvgpu-sim: the GPU core driver and GSP firmware, simulated, served on a socket. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "nvv-sim.h"
#include "nvv-simproto.h"
#include "nvv-sock.h"
#include "util.h"

#define DEFAULT_SOCKET "/run/nvvgpu/sim.sock"

static void help(void)
{
        printf("Usage: nvvgpu-sim [--gpus SPEC | --host-file FILE] [--socket PATH] [--fwabi-dir DIR]...\n"
               "                  [--catalog-dir DIR] [--faults SPEC] [--socket-mode MODE]\n"
               "                  [--socket-group GROUP] [--sysfs-mount DIR] [--sysfs-timeout MS] [--verbose]\n"
               "       nvvgpu-sim inject [--socket PATH] SPEC\n"
               "       nvvgpu-sim status [--socket PATH] [GPU]\n"
               "       nvvgpu-sim vfio [--socket PATH] open|close VF\n\n"
               "Simulates GPUs (SPEC: MODEL[@RELEASE][*COUNT][:mdev|:vf],..., e.g. 'L40S@570.144*2:vf,H200@580.159.04';\n"
               "RELEASE 'upstream' or 'upstream-eio': the upstream fwctl vGPU-management interface)\n"
               "and serves their firmware on PATH (default %s). See nvvgpu-sim(8).\n", DEFAULT_SOCKET);
}

static int client(const char *socket_path, uint16_t type, uint32_t gpu, const char *payload)
{
        _cleanup_free_ char *msg = NULL;
        struct nvv_sock_rx rx;
        char err[256] = "";
        int fd, r, rs;

        r = nvv_sock_connect(socket_path, &fd, &msg);
        if (r < 0) {
                fprintf(stderr, "nvvgpu-sim: cannot reach a simulator at '%s': %s\n", socket_path,
                        nvv_sock_connect_strerror(r));
                return 1;
        }
        nvv_simproto_rx_init(&rx, NVV_SIMPROTO_MAX_PAYLOAD);
        rs = nvv_simproto_send(fd, type, gpu, 1, 0, payload, payload ? strlen(payload) : 0, 10000);
        /* Read even after a failed send: a simulator that refused us said why first. */
        do
                r = nvv_simproto_recv(fd, &rx, rs < 0 ? 1000 : 10000, err, sizeof(err));
        while (r >= 0 && rx.first.type == NVV_SIMPROTO_EVENT);
        close(fd);
        if (r < 0) {
                if (rs < 0)
                        fprintf(stderr, "nvvgpu-sim: cannot send to the simulator at '%s': %s\n", socket_path, strerror(-rs));
                else
                        fprintf(stderr, "nvvgpu-sim: %s\n", err[0] ? err : strerror(-r));
                nvv_simproto_rx_done(&rx);
                return 1;
        }
        if (rx.first.type == NVV_SIMPROTO_ERROR) {
                fprintf(stderr, "nvvgpu-sim: %.*s\n", (int) (rx.have > 4 ? rx.have - 4 : 0), (const char *) rx.data + 4);
                nvv_simproto_rx_done(&rx);
                return 1;
        }
        if (rx.first.type == NVV_SIMPROTO_STATUS_INFO) {
                json_object *o = json_tokener_parse((const char *) rx.data);

                printf("%s\n", o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED)
                                 : (const char *) rx.data);
                json_object_put(o);
        }
        nvv_simproto_rx_done(&rx);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "gpus", required_argument, NULL, 'g' },
                { "host-file", required_argument, NULL, 'H' },
                { "socket", required_argument, NULL, 's' },
                { "fwabi-dir", required_argument, NULL, 'd' },
                { "catalog-dir", required_argument, NULL, 'c' },
                { "faults", required_argument, NULL, 'f' },
                { "socket-mode", required_argument, NULL, 'm' },
                { "socket-group", required_argument, NULL, 'G' },
                { "sysfs-mount", required_argument, NULL, 'S' },
                { "sysfs-timeout", required_argument, NULL, 'T' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_strv_free_ char **fwabi_dirs = NULL;
        struct nvv_sim_options o = {};
        _cleanup_(nvv_sim_stopp) struct nvv_sim *sim = NULL;
        _cleanup_free_ char *msg = NULL;
        const char *socket_path = DEFAULT_SOCKET;
        sigset_t mask;
        int c, r, sig;

        nvv_log_set_fn(nvv_log_stderr, NULL);
        if (argc > 1 && streq(argv[1], "vfio")) {
                const char *op = NULL, *vf = NULL;
                _cleanup_free_ char *spec = NULL;

                for (int i = 2; i < argc; i++) {
                        if (streq(argv[i], "--socket") && i + 1 < argc)
                                socket_path = argv[++i];
                        else if (!op)
                                op = argv[i];
                        else if (!vf)
                                vf = argv[i];
                        else {
                                fprintf(stderr, "nvvgpu-sim: unexpected argument '%s'\n", argv[i]);
                                return 2;
                        }
                }
                if (!op || !vf || (!streq(op, "open") && !streq(op, "close"))) {
                        fprintf(stderr, "nvvgpu-sim: vfio needs open or close and a VF address\n");
                        return 2;
                }
                /* The simulator takes it as a runtime fault spec: "vfio:open:BDF". */
                if (asprintf(&spec, "vfio:%s:%s", op, vf) < 0)
                        return 1;
                return client(socket_path, NVV_SIMPROTO_FAULT, NVV_SIMPROTO_ALL_GPUS, spec);
        }
        if (argc > 1 && (streq(argv[1], "inject") || streq(argv[1], "status"))) {
                bool inject = streq(argv[1], "inject");
                const char *arg = NULL;

                for (int i = 2; i < argc; i++) {
                        if (streq(argv[i], "--socket") && i + 1 < argc)
                                socket_path = argv[++i];
                        else if (!arg)
                                arg = argv[i];
                        else {
                                fprintf(stderr, "nvvgpu-sim: unexpected argument '%s'\n", argv[i]);
                                return 2;
                        }
                }
                if (inject) {
                        if (!arg) {
                                fprintf(stderr, "nvvgpu-sim: inject needs a fault spec\n");
                                return 2;
                        }
                        return client(socket_path, NVV_SIMPROTO_FAULT, NVV_SIMPROTO_ALL_GPUS, arg);
                }
                {
                        uint32_t gpu = 0;

                        if (arg && safe_atou32(arg, &gpu) < 0) {
                                fprintf(stderr, "nvvgpu-sim: '%s' is not a GPU index\n", arg);
                                return 2;
                        }
                        return client(socket_path, NVV_SIMPROTO_STATUS, gpu, NULL);
                }
        }
        while ((c = getopt_long(argc, argv, "g:H:s:d:c:f:m:G:S:T:vh", opts, NULL)) >= 0)
                switch (c) {
                case 'g':
                        o.gpus = optarg;
                        break;
                case 'H':
                        o.gpus_file = optarg;
                        break;
                case 's':
                        socket_path = optarg;
                        break;
                case 'd':
                        if (strv_extend(&fwabi_dirs, optarg) < 0)
                                return 1;
                        break;
                case 'c':
                        o.catalog_dir = optarg;
                        break;
                case 'f':
                        o.faults = optarg;
                        break;
                case 'm': {
                        char *end = NULL;
                        unsigned long m;

                        errno = 0;
                        m = strtoul(optarg, &end, 8);
                        if (errno || !end || *end || end == optarg || m == 0 || m > 0777) {
                                fprintf(stderr, "nvvgpu-sim: --socket-mode: '%s' is not an octal mode 1..0777\n", optarg);
                                return 2;
                        }
                        o.socket_mode = (mode_t) m;
                        break;
                }
                case 'G': {
                        struct group *gr = getgrnam(optarg);
                        uint32_t gid;

                        if (gr)
                                o.socket_gid = gr->gr_gid;
                        else if (safe_atou32(optarg, &gid) == 0 && gid != UINT32_MAX)
                                o.socket_gid = (gid_t) gid;
                        else {
                                fprintf(stderr, "nvvgpu-sim: --socket-group: no group '%s'\n", optarg);
                                return 2;
                        }
                        o.set_socket_gid = true;
                        break;
                }
                case 'S':
                        o.sysfs_mount = optarg;
                        break;
                case 'T': {
                        uint32_t ms;

                        if (safe_atou32(optarg, &ms) < 0 || ms == 0 || ms > 600000) {
                                fprintf(stderr, "nvvgpu-sim: --sysfs-timeout: '%s' is not 1..600000 ms\n", optarg);
                                return 2;
                        }
                        o.sysfs_timeout_ms = (int) ms;
                        break;
                }
                case 'v':
                        nvv_log_set_max_level(7);
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        fprintf(stderr, "Try 'nvvgpu-sim --help'.\n");
                        return 2;
                }
        if (optind != argc) {
                fprintf(stderr, "nvvgpu-sim: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        o.fwabi_dirs = fwabi_dirs;
        o.socket_path = socket_path;
        if (streq(socket_path, DEFAULT_SOCKET))
                (void) mkdir("/run/nvvgpu", 0755);

        /* Signals are taken synchronously by this thread; every other thread has them blocked. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);

        r = nvv_sim_start(&o, &sim, &msg);
        if (r < 0) {
                fprintf(stderr, "nvvgpu-sim: %s\n", msg ? msg : strerror(-r));
                return 1;
        }
        for (size_t i = 0; i < nvv_sim_gpu_count(sim); i++) {
                const struct nvv_simgpu_config *g = nvv_simgpu_get_config(nvv_sim_get_gpu(sim, i));
                const struct nvv_fwabi *fw = nvv_simgpu_get_fwabi(nvv_sim_get_gpu(sim, i));

                printf("GPU %zu %s %s firmware %s (speaks the %s description)\n", i, g->bdf, g->model, g->release,
                       fw->release);
        }
        printf("nvvgpu-sim: serving %zu GPU%s on %s\n", nvv_sim_gpu_count(sim), nvv_sim_gpu_count(sim) == 1 ? "" : "s",
               socket_path);
        if (o.sysfs_mount)
                printf("nvvgpu-sim: sysfs on %s\n", o.sysfs_mount);
        fflush(stdout);
        if (sigwait(&mask, &sig) == 0)
                fprintf(stderr, "nvvgpu-sim: %s, shutting down\n", strsignal(sig));
        sim = nvv_sim_stop(sim);
        return 0;
}
