/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nvvgpud at scale: the real daemon, CLI and simulator of the build directory
 * ($NVV_TOP_BUILDDIR), 16 simulated L40S (595.45.04) with 32 L40S-1Q vGPUs each, made through
 * the daemon on one IPC connection (explicit GPU, fixed UUIDs). Targets (issue "nvvgpud at
 * scale"), each with a floor measured in the same run:
 *
 *   a. the daemon's RSS (VmRSS) once the 512 vGPUs exist: <= 16 MiB. Floor, for reference: a
 *      daemon on 16 GPUs with no vGPUs.
 *   b. restart to reconciled: SIGTERM, wait, start again on the same state directory and the
 *      same firmware; from fork/exec to the first `list` answer that lists all 512: <= 200 ms.
 *      Floor: from fork/exec to the first `list` answer of a daemon on a fresh state directory
 *      and a fresh simulator of the same 16 GPUs with no vGPUs (the bring-up of 16 GPUs and
 *      the first answer, with nothing to reconcile). The waiting side polls connect() every
 *      100 us, on both.
 *   c. `nvvgpuctl list --json` (512 vGPUs, stdout to /dev/null), fork/exec to exit: <= 20 ms.
 *      Floor: `nvvgpuctl --version`, the process start.
 *   d. one status request ({"version":1,"method":"status"}) by nvv_ipcsock_call on one
 *      connection: <= 2x a bare SOCK_SEQPACKET round trip, a thread answering each packet of
 *      the request's size with one packet of the reply's size (header included on both).
 *
 * Floor and ours run by turns (floor, ours, floor, ours...) so that whatever else the machine
 * does weighs on both alike. Every target is reported; exit 2 if any fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "nvv-ipc.h"
#include "nvv-ipcsock.h"

#define GPUS "L40S@595.45.04*16"
#define N_GPUS 16
#define TYPE "L40S-1Q"
#define PER_GPU 32                      /* L40S-1Q fits 32 times on an L40S */
#define N_VGPUS (N_GPUS * PER_GPU)
#define RESTARTS 11                     /* restart samples per side */
#define LISTS 20                        /* nvvgpuctl runs per side */
#define ROUND_TRIPS 2000                /* IPC round trips per side */
#define WARMUP 100
#define START_TIMEOUT_MS 30000
#define CALL_TIMEOUT_MS 30000

#define TARGET_RSS_KIB (16 * 1024)
#define TARGET_RESTART_MS 200.0
#define TARGET_LIST_MS 20.0
#define TARGET_IPC_RATIO 2.0

static const char status_request[] = "{\"version\":1,\"method\":\"status\"}";

extern char **environ;

static char dir[64];
static char bin_daemon[4096], bin_ctl[4096], bin_sim[4096];
static pid_t kill_at_exit[4];

_printf_(1, 2) __attribute__((noreturn)) static void die(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        fputs("bench-daemon: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        exit(1);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void) st;
        (void) flag;
        (void) ftw;
        (void) remove(path);
        return 0;
}

static void rm_rf(const char *path)
{
        (void) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void cleanup(void)
{
        for (size_t i = 0; i < ELEMENTSOF(kill_at_exit); i++)
                if (kill_at_exit[i] > 0) {
                        (void) kill(kill_at_exit[i], SIGKILL);
                        (void) waitpid(kill_at_exit[i], NULL, 0);
                }
        if (*dir)
                rm_rf(dir);
}

static void track(pid_t pid, bool on)
{
        for (size_t i = 0; i < ELEMENTSOF(kill_at_exit); i++)
                if (on ? kill_at_exit[i] == 0 : kill_at_exit[i] == pid) {
                        kill_at_exit[i] = on ? pid : 0;
                        return;
                }
}

/* fork/exec of argv, stdout to `out`, stderr appended to `err`. */
static pid_t spawn(char *const argv[], const char *out, const char *err)
{
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int r;

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out, O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err, O_WRONLY | O_CREAT | O_APPEND, 0600);
        r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                die("cannot run %s: %s", argv[0], strerror(r));
        return pid;
}

static int reap(pid_t pid)
{
        int st;

        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        die("waitpid: %m");
        return st;
}

static void show_log(const char *path)
{
        char line[512];
        FILE *f = fopen(path, "re");

        if (!f)
                return;
        fprintf(stderr, "--- %s\n", path);
        while (fgets(line, sizeof(line), f))
                fputs(line, stderr);
        fclose(f);
}

/* ---- the simulator and the daemon ---- */

struct sim {
        pid_t pid;
        char socket[128], log[128];
};

static void sim_start(struct sim *s, const char *name)
{
        char *argv[] = { bin_sim, (char *) "--gpus", (char *) GPUS, (char *) "--socket", s->socket, NULL };
        uint64_t t0 = now_ns();
        int fd;

        snprintf(s->socket, sizeof(s->socket), "%s/%s.sock", dir, name);
        snprintf(s->log, sizeof(s->log), "%s/%s.log", dir, name);
        s->pid = spawn(argv, "/dev/null", s->log);
        track(s->pid, true);
        while (nvv_sock_connect(s->socket, &fd, NULL) < 0) {
                if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
                        track(s->pid, false);
                        show_log(s->log);
                        die("nvvgpu-sim did not start");
                }
                if (now_ns() - t0 > (uint64_t) START_TIMEOUT_MS * 1000000)
                        die("nvvgpu-sim did not listen within %d ms", START_TIMEOUT_MS);
                usleep(1000);
        }
        close(fd);
}

static void sim_stop(struct sim *s)
{
        (void) kill(s->pid, SIGTERM);
        (void) reap(s->pid);
        track(s->pid, false);
        unlink(s->socket);
}

struct daemon {
        pid_t pid;
        char socket[128], state[128], log[128];
};

static void daemon_init(struct daemon *d, const char *name)
{
        snprintf(d->socket, sizeof(d->socket), "%s/%s.sock", dir, name);
        snprintf(d->state, sizeof(d->state), "%s/%s.state", dir, name);
        snprintf(d->log, sizeof(d->log), "%s/%s.log", dir, name);
}

/* One request on fd: the reply's result, or death. */
static json_object *call(int fd, const char *request, json_object **ret_doc)
{
        _cleanup_free_ char *reply = NULL, *msg = NULL;
        json_object *result = NULL;

        if (nvv_ipcsock_call(fd, request, CALL_TIMEOUT_MS, &reply, &msg) < 0 ||
            nvv_ipc_parse_reply(reply, strlen(reply), ret_doc, &result, &msg) < 0)
                die("%s: %s", request, msg ? msg : "?");
        return result;
}

/* Start the daemon and wait for a `list` answer with `want` vGPUs: the ns from fork/exec to
 * that answer. The daemon listens only once it has reconciled its GPUs (nvvgpud.c), so the
 * first answer normally is the one; any other is asked again. */
static uint64_t daemon_start(struct daemon *d, const struct sim *s, size_t want)
{
        char backend[160];
        /* mdevctl's definitions are not part of this benchmark (and /etc is not ours to write). */
        char *argv[] = { bin_daemon,     (char *) "--backend",   backend,  (char *) "--socket",     d->socket,
                         (char *) "--state-dir", d->state,       (char *) "--mdevctl-dir", (char *) "",
                         (char *) "--libvirt", (char *) "", NULL };
        uint64_t t0;
        int fd = -1;

        snprintf(backend, sizeof(backend), "sim:%s", s->socket);
        unlink(d->socket);
        t0 = now_ns();
        d->pid = spawn(argv, "/dev/null", d->log);
        track(d->pid, true);
        for (;;) {
                _cleanup_free_ char *reply = NULL, *msg = NULL;
                json_object *doc = NULL, *result = NULL;
                uint64_t t1;
                size_t n;

                if (fd < 0 && nvv_ipcsock_connect(d->socket, &fd, NULL) < 0) {
                        if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
                                track(d->pid, false);
                                show_log(d->log);
                                die("nvvgpud did not start");
                        }
                        if (now_ns() - t0 > (uint64_t) START_TIMEOUT_MS * 1000000)
                                die("nvvgpud did not listen within %d ms", START_TIMEOUT_MS);
                        usleep(100);
                        continue;
                }
                if (nvv_ipcsock_call(fd, "{\"version\":1,\"method\":\"list\"}", CALL_TIMEOUT_MS, &reply, &msg) < 0)
                        die("list: %s", msg);
                t1 = now_ns();
                if (nvv_ipc_parse_reply(reply, strlen(reply), &doc, &result, &msg) < 0)
                        die("list: %s", msg);
                n = json_object_is_type(result, json_type_array) ? json_object_array_length(result) : 0;
                json_object_put(doc);
                if (n == want) {
                        close(fd);
                        return t1 - t0;
                }
                if (now_ns() - t0 > (uint64_t) START_TIMEOUT_MS * 1000000)
                        die("nvvgpud lists %zu vGPUs, not %zu", n, want);
                usleep(100);
        }
}

/* Killed by the SIGTERM rather than stopped by it: counted, and said in the report. */
static unsigned killed_by_sigterm, stops;

static void daemon_stop(struct daemon *d)
{
        int st;

        (void) kill(d->pid, SIGTERM);
        st = reap(d->pid);
        track(d->pid, false);
        stops++;
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM)
                killed_by_sigterm++;
        else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                show_log(d->log);
                die("nvvgpud did not stop cleanly (status %#x)", (unsigned) st);
        }
}

/* ---- memory ---- */

struct mem {
        long rss_kib, anon_kib, file_kib, threads;
};

static long proc_field(const char *path, const char *key)
{
        char line[256];
        size_t k = strlen(key);
        long v = -1;
        FILE *f = fopen(path, "re");

        if (!f)
                die("%s: %m", path);
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, key, k) == 0 && line[k] == ':') {
                        v = strtol(line + k + 1, NULL, 10);
                        break;
                }
        fclose(f);
        if (v < 0)
                die("%s: no %s", path, key);
        return v;
}

static struct mem mem_of(pid_t pid)
{
        char status[64];
        struct mem m;

        snprintf(status, sizeof(status), "/proc/%d/status", (int) pid);
        m.rss_kib = proc_field(status, "VmRSS");
        m.anon_kib = proc_field(status, "RssAnon");
        m.file_kib = proc_field(status, "RssFile");
        m.threads = proc_field(status, "Threads");
        return m;
}

/* ---- the bare round trip ---- */

struct echo {
        int fd;
        size_t reply_size;
};

static void *echo_main(void *userdata)
{
        struct echo *e = userdata;
        static uint8_t in[NVV_SOCK_HEADER + NVV_SOCK_CHUNK], out[NVV_SOCK_HEADER + NVV_SOCK_CHUNK];

        for (;;) {
                ssize_t n = recv(e->fd, in, sizeof(in), 0);

                if (n <= 0)
                        return NULL;
                if (send(e->fd, out, e->reply_size, MSG_NOSIGNAL) != (ssize_t) e->reply_size)
                        return NULL;
        }
}

static struct bench_stats stats(double *t, int n)
{
        return bench_stats_of(t, n, 1);
}

static void find_binaries(void)
{
        const char *top = getenv("NVV_TOP_BUILDDIR");

        if (!top)
                die("NVV_TOP_BUILDDIR is not set (run it as: make bench-daemon)");
        snprintf(bin_daemon, sizeof(bin_daemon), "%s/nvvgpud", top);
        snprintf(bin_ctl, sizeof(bin_ctl), "%s/nvvgpuctl", top);
        snprintf(bin_sim, sizeof(bin_sim), "%s/nvvgpu-sim", top);
        if (access(bin_daemon, X_OK) < 0 || access(bin_ctl, X_OK) < 0 || access(bin_sim, X_OK) < 0)
                die("nvvgpud, nvvgpuctl and nvvgpu-sim must be built in %s", top);
}

/* The GPUs' addresses, as the daemon lists them. */
static void gpu_addresses(int fd, char bdf[N_GPUS][13])
{
        json_object *doc = NULL, *gpus = call(fd, "{\"version\":1,\"method\":\"gpus\"}", &doc);

        if (!json_object_is_type(gpus, json_type_array) || json_object_array_length(gpus) != N_GPUS)
                die("nvvgpud does not list %d GPUs", N_GPUS);
        for (size_t i = 0; i < N_GPUS; i++) {
                json_object *g = json_object_array_get_idx(gpus, i), *v = NULL, *st = NULL;

                if (!json_object_object_get_ex(g, "gpu", &v) || !json_object_object_get_ex(g, "state", &st) ||
                    !streq(json_object_get_string(st), "ready"))
                        die("GPU %zu is not ready", i);
                snprintf(bdf[i], 13, "%s", json_object_get_string(v));
        }
        json_object_put(doc);
}

static double create_all(struct daemon *d)
{
        char bdf[N_GPUS][13], req[256];
        uint64_t t0;
        int fd;

        if (nvv_ipcsock_connect(d->socket, &fd, NULL) < 0)
                die("cannot connect to nvvgpud");
        gpu_addresses(fd, bdf);
        t0 = now_ns();
        for (int i = 0; i < N_VGPUS; i++) {
                json_object *doc = NULL;

                snprintf(req, sizeof(req),
                         "{\"version\":1,\"method\":\"create\",\"params\":{\"type\":\"" TYPE "\",\"gpu\":\"%s\","
                         "\"uuid\":\"5d9b4f6e-1c2a-4e3b-9f00-%012x\"}}",
                         bdf[i / PER_GPU], (unsigned) i);
                (void) call(fd, req, &doc);
                json_object_put(doc);
        }
        close(fd);
        return (double) (now_ns() - t0);
}

/* One line of the table, and the figure for the common report: `figure` against `baseline`. */
static bool row(const char *what, const char *figure, const char *baseline, const char *unit, struct bench_stats ours,
                struct bench_stats floor, double scale, bool ok, const char *target)
{
        bench_report("bench-daemon", &(struct bench_figure) {
                .figure = figure, .stat = ours.n > 1 ? NULL : "value", .ours = bench_stats_scaled(ours, scale),
                .unit = unit, .baseline = baseline, .base = bench_stats_scaled(floor, scale), .vs = BENCH_VS_RATIO,
                .target = target, .met = ok });
        printf("%-36s %10.2f %10.2f %10.2f %10.2f %-3s  %-14s %s\n", what, ours.median / scale, ours.p90 / scale,
               floor.median / scale, floor.p90 / scale, unit, target, ok ? "PASS" : "FAIL");
        return ok;
}

int main(void)
{
        static double t_ours[ROUND_TRIPS], t_floor[ROUND_TRIPS];
        static uint8_t pkt[NVV_SOCK_HEADER + NVV_SOCK_CHUNK];
        struct daemon main_d, floor_d;
        struct sim sim, fresh;
        struct mem m_created, m_restarted, m_empty = {};
        struct bench_stats restart, restart_floor, list, list_floor, ipc, ipc_floor;
        char target[32], state_old[160];
        double t_create;
        size_t reply_size;
        int fails = 0;

        find_binaries();
        snprintf(dir, sizeof(dir), "/tmp/nvv-bench-daemon-XXXXXX");
        if (!mkdtemp(dir))
                die("mkdtemp: %m");
        atexit(cleanup);
        signal(SIGPIPE, SIG_IGN);

        /* The 512 vGPUs. */
        sim_start(&sim, "sim");
        daemon_init(&main_d, "d");
        (void) daemon_start(&main_d, &sim, 0);
        t_create = create_all(&main_d);
        m_created = mem_of(main_d.pid);

        /* b: restart on the same state and firmware, against a fresh daemon on fresh GPUs. */
        for (int r = 0; r < RESTARTS; r++) {
                snprintf(state_old, sizeof(state_old), "%s/f.state", dir);
                rm_rf(state_old);
                sim_start(&fresh, "fresh");
                daemon_init(&floor_d, "f");
                t_floor[r] = (double) daemon_start(&floor_d, &fresh, 0);
                if (r == 0)
                        m_empty = mem_of(floor_d.pid);
                daemon_stop(&floor_d);
                sim_stop(&fresh);

                daemon_stop(&main_d);
                t_ours[r] = (double) daemon_start(&main_d, &sim, N_VGPUS);
        }
        restart = stats(t_ours, RESTARTS);
        restart_floor = stats(t_floor, RESTARTS);
        m_restarted = mem_of(main_d.pid);

        /* c: the CLI. */
        if (setenv("NVVGPU_SOCKET", main_d.socket, 1) < 0)
                die("setenv: %m");
        for (int r = 0; r < LISTS + 1; r++) {
                char *version[] = { bin_ctl, (char *) "--version", NULL };
                char *lst[] = { bin_ctl, (char *) "list", (char *) "--json", NULL };
                char errlog[160];
                uint64_t t0;
                int st;

                snprintf(errlog, sizeof(errlog), "%s/ctl.log", dir);
                t0 = now_ns();
                st = reap(spawn(version, "/dev/null", errlog));
                t_floor[r] = (double) (now_ns() - t0);
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                        die("nvvgpuctl --version failed");
                t0 = now_ns();
                st = reap(spawn(lst, "/dev/null", errlog));
                t_ours[r] = (double) (now_ns() - t0);
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                        show_log(errlog);
                        die("nvvgpuctl list --json failed");
                }
        }
        /* The first run of each pays for the page cache: left out. */
        list = stats(t_ours + 1, LISTS);
        list_floor = stats(t_floor + 1, LISTS);

        /* d: IPC round trip against a bare one. */
        {
                struct echo e = {};
                pthread_t th;
                int fd, sp[2];

                if (nvv_ipcsock_connect(main_d.socket, &fd, NULL) < 0)
                        die("cannot connect to nvvgpud");
                {
                        _cleanup_free_ char *reply = NULL, *msg = NULL;

                        if (nvv_ipcsock_call(fd, status_request, CALL_TIMEOUT_MS, &reply, &msg) < 0)
                                die("status: %s", msg);
                        reply_size = strlen(reply);
                }
                if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                        die("socketpair: %m");
                e = (struct echo) { .fd = sp[1], .reply_size = NVV_SOCK_HEADER + reply_size };
                if (e.reply_size > sizeof(pkt))
                        die("the status reply takes more than one packet");
                if (pthread_create(&th, NULL, echo_main, &e) != 0)
                        die("pthread_create");
                for (int i = -WARMUP; i < ROUND_TRIPS; i++) {
                        size_t req_size = NVV_SOCK_HEADER + sizeof(status_request) - 1;
                        _cleanup_free_ char *reply = NULL, *msg = NULL;
                        uint64_t t0;

                        t0 = now_ns();
                        if (send(sp[0], pkt, req_size, MSG_NOSIGNAL) != (ssize_t) req_size ||
                            recv(sp[0], pkt, sizeof(pkt), 0) != (ssize_t) e.reply_size)
                                die("echo: %m");
                        if (i >= 0)
                                t_floor[i] = (double) (now_ns() - t0);

                        t0 = now_ns();
                        if (nvv_ipcsock_call(fd, status_request, CALL_TIMEOUT_MS, &reply, &msg) < 0)
                                die("status: %s", msg);
                        if (i >= 0)
                                t_ours[i] = (double) (now_ns() - t0);
                }
                close(sp[0]);
                pthread_join(th, NULL);
                close(sp[1]);
                close(fd);
                ipc = stats(t_ours, ROUND_TRIPS);
                ipc_floor = stats(t_floor, ROUND_TRIPS);
        }

        printf("nvvgpud on nvvgpu-sim, %s, %d x %s (%d vGPUs, made through the daemon in %.0f ms, %.2f ms each)\n",
               GPUS, N_VGPUS, TYPE, N_VGPUS, t_create / 1e6, t_create / 1e6 / N_VGPUS);
        printf("%-36s %10s %10s %10s %10s %-3s  %-14s\n", "target (floor)", "ours", "ours p90", "floor", "floor p90",
               "", "limit");
        snprintf(target, sizeof(target), "<= %d MiB", TARGET_RSS_KIB / 1024);
        fails += !row("a. RSS, 512 vGPUs (16 GPUs, none)", "RSS (VmRSS), 16 x 32 vGPUs", "the same daemon, 16 GPUs, no vGPUs", "MiB",
                      bench_value((double) m_created.rss_kib),
                      bench_value((double) m_empty.rss_kib), 1024,
                      m_created.rss_kib <= TARGET_RSS_KIB, target);
        snprintf(target, sizeof(target), "<= %.0f ms", TARGET_RESTART_MS);
        fails += !row("b. restart to 512 listed (fresh, 0)", "restart to reconciled, 16 x 32 vGPUs listed",
                      "start on 16 fresh GPUs, no vGPUs", "ms", restart, restart_floor, 1e6,
                      restart.median <= TARGET_RESTART_MS * 1e6, target);
        snprintf(target, sizeof(target), "<= %.0f ms", TARGET_LIST_MS);
        fails += !row("c. nvvgpuctl list --json (--version)", "nvvgpuctl list --json, 16 x 32 vGPUs",
                      "nvvgpuctl --version", "ms", list, list_floor, 1e6,
                      list.median <= TARGET_LIST_MS * 1e6, target);
        snprintf(target, sizeof(target), "<= %.1fx", TARGET_IPC_RATIO);
        fails += !row("d. IPC status round trip (bare)", "IPC status round trip", "SOCK_SEQPACKET echo, same sizes", "us", ipc, ipc_floor, 1e3,
                      ipc.median <= TARGET_IPC_RATIO * ipc_floor.median, target);
        printf("IPC round trip / bare: %.2fx\n", ipc.median / ipc_floor.median);
        bench_report("bench-daemon", &(struct bench_figure) {
                .figure = "RSS (VmRSS), 16 x 32 vGPUs, after a restart", .stat = "value",
                .ours = bench_value((double) m_restarted.rss_kib / 1024), .unit = "MiB" });
        printf("memory (kB, /proc/PID/status)       %10s %10s %10s %8s\n", "VmRSS", "RssAnon", "RssFile", "threads");
        printf("  512 vGPUs, as made                %10ld %10ld %10ld %8ld\n", m_created.rss_kib, m_created.anon_kib,
               m_created.file_kib, m_created.threads);
        printf("  512 vGPUs, after a restart        %10ld %10ld %10ld %8ld\n", m_restarted.rss_kib,
               m_restarted.anon_kib, m_restarted.file_kib, m_restarted.threads);
        printf("  16 GPUs, no vGPUs                 %10ld %10ld %10ld %8ld\n", m_empty.rss_kib, m_empty.anon_kib,
               m_empty.file_kib, m_empty.threads);
        printf("samples: %d restarts, %d CLI runs, %d round trips per side, by turns with the floor; "
               "status request %zu B, reply %zu B (+%d B header each)\n",
               RESTARTS, LISTS, ROUND_TRIPS, sizeof(status_request) - 1, reply_size, NVV_SOCK_HEADER);

        daemon_stop(&main_d);
        sim_stop(&sim);
        if (killed_by_sigterm)
                printf("note: SIGTERM killed nvvgpud (default action, exit 143) in %u of %u stops instead of "
                       "stopping it through its signalfd\n", killed_by_sigterm, stops);
        return fails ? 2 : 0;
}
