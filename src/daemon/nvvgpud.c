/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nvvgpud: the daemon that owns the GPUs (nvvgpud(8)). A thin main() over nvv-daemon. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "nvv-daemon.h"
#include "nvv-domxml.h"
#include "nvv-evbus.h"
#include "nvv-ipcsock.h"
#include "nvv-mdevctl.h"
#include "nvv-json.h"
#include "util.h"

#define LOG_ERR 3
#define LOG_WARNING 4
#define LOG_NOTICE 5
#define LOG_INFO 6

#define DEFAULT_MAX_CLIENTS 64
#define IDLE_TIMEOUT_MS (60 * 1000)     /* a client that sends nothing this long is closed */
#define SEND_TIMEOUT_MS 5000            /* a client that does not read its reply this long is dropped */

static const char *arg_backend = "fwctl";
static const char *arg_socket = NVV_IPCSOCK_DEFAULT_PATH;
static const char *arg_policy;
static const char *arg_catalog;
static const char *arg_read_group = "nvvgpu";
static const char *arg_state_dir = "/var/lib/nvvgpu";
static const char *arg_mdevctl_dir = NVV_MDEVCTL_DEFAULT_DIR;
static const char *arg_sysfs_root = "/sys";
static const char *arg_libvirt = "qemu:///system";
static char **arg_fwabi_dirs;
static unsigned arg_max_clients = DEFAULT_MAX_CLIENTS;

struct server {
        struct nvv_daemon *d;
        gid_t read_gid;
        pthread_mutex_t lock;
        pthread_cond_t cv;
        unsigned clients;
        int *fds;                       /* the clients' sockets, to wake them at stop */
        bool stopping;
};

struct client {
        struct server *s;
        int fd;
        enum nvv_sock_access access;
};

static void log_event(void *userdata, int level, const char *message)
{
        nvv_log(level, "%s", message);
}

static void help(void)
{
        printf("Usage: nvvgpud [OPTIONS]\n\n"
               "The nvvgpu daemon: owns the vGPU-capable GPUs behind the backend, brings each up\n"
               "per policy, and serves nvvgpuctl over a UNIX socket (nvvgpud(8)).\n\n"
               "  --backend B          sim:SOCKET, fwctl or fwctl:DEV (default fwctl)\n"
               "  --socket PATH        where to serve (default %s)\n"
               "  --state-dir DIR      the state store (default /var/lib/nvvgpu)\n"
               "  --policy FILE        placement policy (nvvgpu-policy(5)); default: the built-in one\n"
               "  --mdevctl-dir DIR    mdevctl's definitions, shared (default /etc/mdevctl.d; '' for none)\n"
               "  --sysfs-root DIR     discovery (default /sys; '' for none)\n"
               "  --libvirt URI        domain events from libvirt (default qemu:///system; '' for none)\n"
               "  --fwabi-dir DIR      also read release descriptions from DIR (repeatable)\n"
               "  --catalog DIR        GPU catalog directory\n"
               "  --read-group NAME    members may read (default nvvgpu; root may do everything)\n"
               "  --max-clients N      connections served at once (default %d)\n"
               "  -v, --verbose        debug messages\n"
               "  --version\n",
               NVV_IPCSOCK_DEFAULT_PATH, DEFAULT_MAX_CLIENTS);
}

static int parse_args(int argc, char **argv)
{
        static const struct option opts[] = {
                { "backend", required_argument, NULL, 'b' },   { "socket", required_argument, NULL, 's' },
                { "policy", required_argument, NULL, 'p' },    { "fwabi-dir", required_argument, NULL, 'd' },
                { "catalog", required_argument, NULL, 'c' },   { "read-group", required_argument, NULL, 'g' },
                { "max-clients", required_argument, NULL, 'm' }, { "verbose", no_argument, NULL, 'v' },
                { "version", no_argument, NULL, 'V' },         { "state-dir", required_argument, NULL, 'D' },
                { "mdevctl-dir", required_argument, NULL, 'M' }, { "sysfs-root", required_argument, NULL, 'R' },
                { "libvirt", required_argument, NULL, 'L' },         { "help", no_argument, NULL, 'h' },
                {},
        };
        uint64_t n;
        int c;

        while ((c = getopt_long(argc, argv, "vh", opts, NULL)) >= 0)
                switch (c) {
                case 'b':
                        arg_backend = optarg;
                        break;
                case 's':
                        arg_socket = optarg;
                        break;
                case 'p':
                        arg_policy = optarg;
                        break;
                case 'd':
                        if (strv_extend(&arg_fwabi_dirs, optarg) < 0)
                                return -ENOMEM;
                        break;
                case 'c':
                        arg_catalog = optarg;
                        break;
                case 'D':
                        arg_state_dir = optarg;
                        break;
                case 'M':
                        arg_mdevctl_dir = optarg;
                        break;
                case 'R':
                        arg_sysfs_root = optarg;
                        break;
                case 'L':
                        arg_libvirt = optarg;
                        break;
                case 'g':
                        arg_read_group = optarg;
                        break;
                case 'm':
                        if (safe_atou64(optarg, &n) < 0 || n == 0 || n > 4096) {
                                fprintf(stderr, "nvvgpud: --max-clients takes 1 to 4096\n");
                                return -EINVAL;
                        }
                        arg_max_clients = (unsigned) n;
                        break;
                case 'v':
                        nvv_log_set_max_level(7);
                        break;
                case 'V':
                        printf("nvvgpud %s\n", PACKAGE_VERSION);
                        exit(0);
                case 'h':
                        help();
                        exit(0);
                default:
                        fprintf(stderr, "nvvgpud: bad option (try --help)\n");
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "nvvgpud: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET ("@" is the abstract
 * namespace). Nothing to do outside systemd. */
static void notify(const char *state)
{
        const char *path = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t len;
        int fd;

        if (!path || !*path || (path[0] != '/' && path[0] != '@'))
                return;
        len = strlen(path);
        if (len >= sizeof(sa.sun_path))
                return;
        memcpy(sa.sun_path, path, len);
        if (sa.sun_path[0] == '@')
                sa.sun_path[0] = '\0';
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return;
        if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *) &sa,
                   (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len)) < 0)
                nvv_log(LOG_WARNING, "sd_notify: %s", strerror(errno));
        close(fd);
}

static void send_reply(int fd, uint32_t tag, const char *text)
{
        struct nvv_sock_header h = { .type = NVV_IPCSOCK_REPLY, .tag = tag };

        (void) nvv_sock_send_msg(fd, &nvv_ipcsock_proto, &h, text, strlen(text), NVV_IPC_MAX_REPLY, SEND_TIMEOUT_MS);
}

static char *error_text(int r, const char *msg)
{
        _cleanup_json_ json_object *o = nvv_ipc_reply_error(r, msg);
        char *s = NULL;

        return o && nvv_ipc_to_text(o, &s) >= 0 ? s : NULL;
}

/*
 * After "subscribe": forward each event until the client goes (it sends nothing more; what
 * it sends is read and dropped) or stops reading for SEND_TIMEOUT_MS. The bus never waits on
 * us, so a slow client only loses its own events ("dropped").
 */
static void stream_events(struct client *c, struct nvv_evsub *sub)
{
        for (;;) {
                struct pollfd p[2] = { { .fd = c->fd, .events = POLLIN | POLLRDHUP },
                                       { .fd = nvv_evsub_get_fd(sub), .events = POLLIN } };
                char *line;

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                if (p[0].revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL))
                        return;
                if (p[0].revents & POLLIN) {
                        char junk[256];

                        if (recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT) < 0 && errno != EAGAIN)
                                return;
                }
                while (nvv_evsub_next(sub, &line) == 0) {
                        struct nvv_sock_header h = { .type = NVV_IPCSOCK_EVENT };
                        int r = nvv_sock_send_msg(c->fd, &nvv_ipcsock_proto, &h, line, strlen(line), NVV_IPC_MAX_REPLY,
                                                  SEND_TIMEOUT_MS);

                        free(line);
                        if (r < 0) {
                                nvv_log(LOG_INFO, "event subscriber dropped: it did not read (%s)", strerror(-r));
                                return;
                        }
                }
        }
}

static void *client_main(void *userdata)
{
        struct client *c = userdata;
        struct server *s = c->s;
        struct nvv_sock_rx rx;

        nvv_sock_rx_init(&rx, &nvv_ipcsock_proto, NVV_IPC_MAX_REQUEST);
        for (;;) {
                _cleanup_(nvv_evsub_closep) struct nvv_evsub *sub = NULL;
                _cleanup_free_ char *reply = NULL;
                bool subscribed = false;
                char err[256] = "";
                int r;

                r = nvv_sock_recv_msg(c->fd, &rx, IDLE_TIMEOUT_MS, err, sizeof(err));
                if (r == -ECONNRESET || r == -ETIMEDOUT)
                        break;
                if (r < 0) {
                        /* A bad packet: say so; the connection stays usable. */
                        reply = error_text(r == -E2BIG ? -EMSGSIZE : -EBADMSG, err);
                        if (reply)
                                send_reply(c->fd, 0, reply);
                        continue;
                }
                if (rx.first.type != NVV_IPCSOCK_REQUEST) {
                        reply = error_text(-EBADMSG, "expected a request message");
                } else if ((r = nvv_daemon_handle_message(s->d, rx.data ? rx.data : (const uint8_t *) "", rx.have,
                                                          c->access == NVV_SOCK_ALL, &reply, &subscribed)) < 0) {
                        reply = r == -E2BIG ? error_text(-EMSGSIZE, "the answer is larger than a reply may be "
                                                                    "(16 MiB); ask for less (one GPU, one VM)")
                                            : error_text(-ENOMEM, "out of memory");
                        subscribed = false;
                }
                if (!reply)
                        break;
                if (subscribed) {
                        /* Subscribed before the reply goes out: nothing after it is missed. */
                        r = nvv_evbus_subscribe(nvv_daemon_get_bus(s->d), 0, &sub);
                        if (r < 0) {
                                free(reply);
                                reply = error_text(r, r == -EUSERS ? "too many event subscribers; try again later"
                                                                   : "cannot subscribe");
                                subscribed = false;
                        }
                }
                {
                        struct nvv_sock_header h = { .type = NVV_IPCSOCK_REPLY, .tag = rx.first.tag };

                        r = nvv_sock_send_msg(c->fd, &nvv_ipcsock_proto, &h, reply, strlen(reply), NVV_IPC_MAX_REPLY,
                                              SEND_TIMEOUT_MS);
                }
                /* The client has its answer: what the request left for later is removed now. */
                nvv_daemon_reap(s->d);
                if (r < 0) {
                        nvv_log(LOG_INFO, "client dropped: it did not read its reply (%s)", strerror(-r));
                        break;
                }
                if (subscribed) {
                        stream_events(c, sub);
                        break;
                }
        }
        nvv_sock_rx_done(&rx);
        pthread_mutex_lock(&s->lock);
        for (unsigned i = 0; i < arg_max_clients; i++)
                if (s->fds[i] == c->fd)
                        s->fds[i] = -1;
        close(c->fd);
        s->clients--;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->lock);
        free(c);
        return NULL;
}

static void serve_one(struct server *s, int fd)
{
        _cleanup_free_ char *refusal = NULL;
        struct ucred cred = {};
        struct client *c;
        pthread_attr_t attr;
        pthread_t th;
        enum nvv_sock_access a = NVV_SOCK_DENY;
        char msg[160];

        if (nvv_sock_peer(fd, &cred) == 0)
                a = nvv_sock_access_of(&cred, s->read_gid);
        if (a == NVV_SOCK_DENY) {
                snprintf(msg, sizeof(msg),
                         "permission denied: uid %u is neither root nor in the group '%s' that may read nvvgpud's state",
                         (unsigned) cred.uid, arg_read_group);
                refusal = error_text(-EACCES, msg);
        } else {
                pthread_mutex_lock(&s->lock);
                if (s->clients >= arg_max_clients) {
                        snprintf(msg, sizeof(msg), "too many clients (%u); try again later", arg_max_clients);
                        refusal = error_text(-EBUSY, msg);
                } else {
                        s->clients++;
                        for (unsigned i = 0; i < arg_max_clients; i++)
                                if (s->fds[i] < 0) {
                                        s->fds[i] = fd;
                                        break;
                                }
                }
                pthread_mutex_unlock(&s->lock);
        }
        if (refusal) {
                nvv_sock_refuse(fd, &nvv_ipcsock_proto, NVV_IPCSOCK_REPLY, refusal, strlen(refusal));
                return;
        }
        c = calloc(1, sizeof(*c));
        if (c) {
                *c = (struct client) { .s = s, .fd = fd, .access = a };
                pthread_attr_init(&attr);
                pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                if (pthread_create(&th, &attr, client_main, c) == 0) {
                        pthread_attr_destroy(&attr);
                        return;
                }
                pthread_attr_destroy(&attr);
                free(c);
        }
        pthread_mutex_lock(&s->lock);
        for (unsigned i = 0; i < arg_max_clients; i++)
                if (s->fds[i] == fd)
                        s->fds[i] = -1;
        close(fd);
        s->clients--;
        pthread_mutex_unlock(&s->lock);
}

static gid_t lookup_group(const char *name)
{
        struct group *g = getgrnam(name);

        return g ? g->gr_gid : (gid_t) -1;
}

int main(int argc, char **argv)
{
        _cleanup_(nvv_daemon_freep) struct nvv_daemon *d = NULL;
        _cleanup_free_ char *msg = NULL;
        char **log = NULL;
        struct nvv_sock_listen_options lo = { .mode = 0660, .gid = (gid_t) -1 };
        struct server s = {};
        sigset_t mask;
        int lfd = -1, sfd = -1, r, exit_status = 0;

        nvv_log_set_fn(nvv_log_stderr, NULL);
        nvv_log_set_max_level(getenv("NVVGPU_DEBUG") ? 7 : LOG_INFO);
        if (parse_args(argc, argv) < 0)
                return 2;
        signal(SIGPIPE, SIG_IGN);
        /* Signals arrive through a descriptor, so the accept loop sees them in order. Blocked
         * before any thread starts, so that every thread inherits the mask and none takes
         * SIGTERM's default action. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);

        struct nvv_daemon_options o = {
                .backend = arg_backend,
                .fwabi_dirs = arg_fwabi_dirs,
                .catalog_dir = arg_catalog,
                .policy_file = arg_policy,
                .state_dir = arg_state_dir,
                .mdevctl_dir = arg_mdevctl_dir,
                .sysfs_root = arg_sysfs_root,
                .libvirt_uri = arg_libvirt,
                .log_fn = log_event,
        };
        r = nvv_daemon_new(&o, &d, &msg);
        if (r < 0) {
                nvv_log(LOG_ERR, "nvvgpud: %s", msg ? msg : strerror(-r));
                return 1;
        }
        r = nvv_daemon_start(d, &log, &msg);
        for (char **l = log; l && *l; l++)
                nvv_log(LOG_INFO, "%s", *l);
        strv_free(log);
        if (r < 0) {
                nvv_log(LOG_ERR, "nvvgpud: %s", msg ? msg : strerror(-r));
                return 1;
        }

        {
                _cleanup_free_ char *m = NULL;

                /* The libvirt hook hands over the domain XML at each VM start (vm-prepare):
                 * libxml2 is loaded once, now, not in the first start. */
                if (nvv_domxml_load(&m) < 0)
                        nvv_log(LOG_WARNING, "nvvgpud: %s; VM starts whose domain XML names vGPUs will be refused",
                                m ? m : "cannot load libxml2");
        }
        s.d = d;
        s.read_gid = lookup_group(arg_read_group);
        if (s.read_gid == (gid_t) -1)
                nvv_log(LOG_NOTICE, "group '%s' does not exist: only root may use nvvgpud", arg_read_group);
        else
                lo.gid = s.read_gid;
        pthread_mutex_init(&s.lock, NULL);
        pthread_cond_init(&s.cv, NULL);
        s.fds = malloc(arg_max_clients * sizeof(*s.fds));
        if (!s.fds) {
                nvv_log(LOG_ERR, "nvvgpud: out of memory");
                return 1;
        }
        for (unsigned i = 0; i < arg_max_clients; i++)
                s.fds[i] = -1;

        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (sfd < 0) {
                nvv_log(LOG_ERR, "nvvgpud: signalfd: %s", strerror(errno));
                return 1;
        }
        free(msg);
        msg = NULL;
        r = nvv_sock_listen(arg_socket, &lo, &lfd, &msg);
        if (r < 0) {
                nvv_log(LOG_ERR, "nvvgpud: %s", msg ? msg : strerror(-r));
                close(sfd);
                return 1;
        }
        nvv_log(LOG_INFO, "serving %zu GPUs on %s", nvv_daemon_gpu_count(d), arg_socket);
        notify("READY=1\nSTATUS=serving");

        while (!s.stopping) {
                struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        nvv_log(LOG_ERR, "nvvgpud: poll: %s", strerror(errno));
                        exit_status = 1;
                        break;
                }
                if (p[1].revents & POLLIN) {
                        struct signalfd_siginfo si;

                        if (read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
                                if (si.ssi_signo == SIGHUP) {
                                        _cleanup_free_ char *m = NULL;

                                        notify("RELOADING=1");
                                        if (nvv_daemon_reload_policy(d, &m) < 0)
                                                nvv_log(LOG_WARNING, "policy not reloaded, the old one stays: %s",
                                                        m ? m : "cannot read it");
                                        else
                                                nvv_log(LOG_INFO, "policy reloaded");
                                        notify("READY=1");
                                } else
                                        s.stopping = true;
                        }
                }
                if (p[0].revents & POLLIN) {
                        int fd;

                        if (nvv_sock_accept(lfd, &fd) >= 0)
                                serve_one(&s, fd);
                }
        }
        notify("STOPPING=1");
        close(lfd);
        (void) unlink(arg_socket);
        /* Let requests in flight finish (a firmware command is bounded by its timeout); idle
         * clients are woken by shutting their sockets down. */
        pthread_mutex_lock(&s.lock);
        for (unsigned i = 0; i < arg_max_clients; i++)
                if (s.fds[i] >= 0)
                        (void) shutdown(s.fds[i], SHUT_RDWR);
        while (s.clients > 0) {
                struct timespec until;

                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += 10;
                if (pthread_cond_timedwait(&s.cv, &s.lock, &until) != 0)
                        break;
        }
        pthread_mutex_unlock(&s.lock);
        if (s.clients > 0) {
                nvv_log(LOG_WARNING, "%u clients still connected at exit", s.clients);
                /* Their threads still use the daemon: do not free it under them. */
                (void) TAKE_PTR(d);
        }
        close(sfd);
        if (s.clients == 0)
                free(s.fds);
        strv_free(arg_fwabi_dirs);
        nvv_log(LOG_INFO, "stopped");
        return exit_status;
}
