/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one socket helper: listening without unlinking a live socket, the mode asked for,
 * connect's messages, peer credentials and access, sends with a deadline, empty packets,
 * receive timeouts (the socket's SO_RCVTIMEO, kept by the rx) that hold whatever came before. */
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <unistd.h>

#include "nvv-sock.h"
#include "testutil.h"

static const char *const names[4] = { NULL, "ping", "pong", "error" };
static const struct nvv_sock_proto proto = { .magic = 0x54534554u, .version = 1, .n_types = 4, .type_names = names };

static char dir[64];
static char path[128];

static int setup(void **state)
{
        snprintf(dir, sizeof(dir), "/tmp/nvv-socktest-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/s.sock", dir);
        return 0;
}

static int teardown(void **state)
{
        unlink(path);
        rmdir(dir);
        return 0;
}

static void test_listen_mode_and_live_socket(void **state)
{
        struct nvv_sock_listen_options o = { .mode = 0640, .gid = (gid_t) -1 };
        struct stat st;
        char *msg = NULL, want[256];
        mode_t old = umask(0);
        int fd, fd2 = -1, c;

        assert_int_equal(nvv_sock_listen(path, &o, &fd, &msg), 0);
        umask(old);
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0640); /* not the umask's 0777 */

        /* A live socket is refused, and left alone. */
        assert_int_equal(nvv_sock_listen(path, &o, &fd2, &msg), -EADDRINUSE);
        snprintf(want, sizeof(want), "another server is listening on %s", path);
        assert_strstr(msg, want);
        free(msg);
        msg = NULL;
        assert_int_equal(nvv_sock_connect(path, &c, &msg), 0);
        close(c);

        /* Once its server is gone, the stale socket is replaced. */
        close(fd);
        assert_int_equal(nvv_sock_connect(path, &c, &msg), -ECONNREFUSED);
        assert_strstr(msg, "nothing listens on it");
        assert_strstr(msg, path);
        free(msg);
        msg = NULL;
        o.mode = 0600;
        assert_int_equal(nvv_sock_listen(path, &o, &fd, &msg), 0);
        assert_int_equal(lstat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        close(fd);
}

static void test_listen_refusals(void **state)
{
        struct nvv_sock_listen_options o = { .mode = 0600, .gid = (gid_t) -1 };
        char longpath[200], *msg = NULL;
        struct stat st;
        int fd;

        memset(longpath, 'x', sizeof(longpath) - 1);
        longpath[0] = '/';
        longpath[sizeof(longpath) - 1] = '\0';
        assert_int_equal(nvv_sock_listen(longpath, &o, &fd, &msg), -ENAMETOOLONG);
        assert_strstr(msg, "is longer than the 107 bytes a socket address holds");
        free(msg);
        msg = NULL;

        /* Not a socket: refused, never unlinked. */
        fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(nvv_sock_listen(path, &o, &fd, &msg), -EEXIST);
        assert_strstr(msg, "exists and is not a socket");
        free(msg);
        msg = NULL;
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        unlink(path);
}

static void test_connect_messages(void **state)
{
        char *msg = NULL, want[256];
        int fd;

        assert_int_equal(nvv_sock_connect(path, &fd, &msg), -ENOENT);
        snprintf(want, sizeof(want), "cannot connect to '%s': no such socket (is the server running?)", path);
        assert_string_equal(msg, want);
        free(msg);
}

static void test_peer_and_access(void **state)
{
        struct ucred c;
        int sv[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(nvv_sock_peer(sv[0], &c), 0);
        assert_int_equal(c.pid, getpid());
        assert_int_equal(c.uid, geteuid());
        close(sv[0]);
        close(sv[1]);

        assert_int_equal(nvv_sock_access_of(&(struct ucred) { .uid = 0, .gid = 0 }, (gid_t) -1), NVV_SOCK_ALL);
        assert_int_equal(nvv_sock_access_of(&(struct ucred) { .uid = 65534, .gid = 4242 }, 4242), NVV_SOCK_READ);
        assert_int_equal(nvv_sock_access_of(&(struct ucred) { .uid = 65534, .gid = 4242 }, (gid_t) -1), NVV_SOCK_DENY);
}

static int fake_groups(const char *user, gid_t group, gid_t *groups, int *ngroups)
{
        static const gid_t mine[] = { 100, 4343 };

        (void) user;
        groups[0] = group;
        memcpy(groups + 1, mine, sizeof(mine));
        *ngroups = 3;
        return 3;
}

static void test_access_supplementary(void **state)
{
        int (*saved)(const char *, gid_t, gid_t *, int *) = nvv_sock_getgrouplist;
        struct ucred c = { .uid = 0, .gid = 0 };

        /* A user that exists (getpwuid must find a name): root's entry, asked as if uid 0 were
         * not special is not possible, so take the first non-root user there is. */
        for (uid_t u = 1; u < 70000; u++) {
                if (getpwuid(u)) {
                        c.uid = u;
                        c.gid = 5555;
                        break;
                }
        }
        if (c.uid == 0) {
                printf("SKIP: no non-root user in the passwd database\n");
                return;
        }
        nvv_sock_getgrouplist = fake_groups;
        assert_int_equal(nvv_sock_access_of(&c, 4343), NVV_SOCK_READ);
        assert_int_equal(nvv_sock_access_of(&c, 4444), NVV_SOCK_DENY);
        nvv_sock_getgrouplist = saved;
}

static void test_send_deadline(void **state)
{
        struct nvv_sock_header h = { .type = 1 };
        uint8_t buf[4096] = {};
        uint64_t start;
        int sv[2], r = 0;

        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        /* Nobody reads sv[1]: the sends fill it, then time out instead of blocking. */
        start = now_ns();
        for (int i = 0; i < 100000 && r == 0; i++)
                r = nvv_sock_send_msg(sv[0], &proto, &h, buf, sizeof(buf), sizeof(buf), 100);
        assert_int_equal(r, -ETIMEDOUT);
        assert_true(now_ns() - start < 5ull * 1000000000u);
        assert_int_equal(nvv_sock_send_timeout(sv[0], buf, 64, 0), -EAGAIN);
        close(sv[1]);
        /* A gone peer is an error at once, not a wait (and no SIGPIPE). */
        r = nvv_sock_send_timeout(sv[0], buf, 64, 100);
        assert_true(r == -EPIPE || r == -ECONNRESET);
        close(sv[0]);
}

static void test_empty_packets_and_eof(void **state)
{
        struct nvv_sock_header h = { .type = 2, .tag = 5 };
        struct nvv_sock_rx rx;
        char err[256];
        int sv[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        nvv_sock_rx_init(&rx, &proto, 1 << 20);
        /* An empty packet, then a message: the message, not an end. */
        assert_int_equal(send(sv[0], "", 0, 0), 0);
        assert_int_equal(nvv_sock_send_msg(sv[0], &proto, &h, "hi", 2, 100, -1), 0);
        assert_int_equal(nvv_sock_recv_msg(sv[1], &rx, 1000, err, sizeof(err)), 1);
        assert_int_equal(rx.first.tag, 5);
        assert_string_equal((const char *) rx.data, "hi");
        /* An empty packet alone is no end either: the wait runs to its timeout. */
        assert_int_equal(send(sv[0], "", 0, 0), 0);
        assert_int_equal(nvv_sock_recv_msg(sv[1], &rx, 200, err, sizeof(err)), -ETIMEDOUT);
        /* Shut down after a message and an empty packet: the message, then the end. */
        assert_int_equal(nvv_sock_send_msg(sv[0], &proto, &h, "yo", 2, 100, -1), 0);
        assert_int_equal(send(sv[0], "", 0, 0), 0);
        assert_int_equal(shutdown(sv[0], SHUT_WR), 0);
        assert_int_equal(nvv_sock_recv_msg(sv[1], &rx, 1000, err, sizeof(err)), 1);
        assert_string_equal((const char *) rx.data, "yo");
        assert_int_equal(nvv_sock_recv_msg(sv[1], &rx, 1000, err, sizeof(err)), -ECONNRESET);
        assert_strstr(err, "closed the connection");
        /* A type outside the protocol's range is a bad packet, and the socket still works. */
        h.type = 4;
        assert_int_equal(nvv_sock_send_msg(sv[1], &proto, &h, NULL, 0, 100, -1), 0);
        assert_int_equal(nvv_sock_recv_msg(sv[0], &rx, 1000, err, sizeof(err)), -EBADMSG);
        assert_strstr(err, "unknown packet type 4");
        nvv_sock_rx_done(&rx);
        close(sv[0]);
        close(sv[1]);
}

static uint64_t ms_since(uint64_t start)
{
        return (now_ns() - start) / 1000000u;
}

/* The wait is the socket's SO_RCVTIMEO, which the rx remembers having set: a shorter timeout
 * on the same rx, the same rx on a new socket under the same fd number, a non-blocking
 * socket, and a message whose second packet never comes all end at their own timeout (a
 * stale SO_RCVTIMEO would wait 30 s, or forever). */
static void test_recv_timeouts(void **state)
{
        struct nvv_sock_header h = { .type = 2, .tag = 1 };
        struct nvv_sock_rx rx;
        uint8_t half[NVV_SOCK_HEADER + 4];
        char err[256];
        uint64_t start;
        int sv[2], fd;

        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        nvv_sock_rx_init(&rx, &proto, 1 << 20);
        assert_int_equal(nvv_sock_send_msg(sv[0], &proto, &h, "a", 1, 100, -1), 0);
        assert_int_equal(nvv_sock_recv_msg(sv[1], &rx, 30000, err, sizeof(err)), 1);
        start = now_ns();
        assert_int_equal(nvv_sock_recv_msg(sv[1], &rx, 150, err, sizeof(err)), -ETIMEDOUT);
        assert_true(ms_since(start) >= 140 && ms_since(start) < 5000);
        assert_strstr(err, "no answer within 150 ms");
        /* Waiting forever, then a message: still read. */
        assert_int_equal(nvv_sock_send_msg(sv[0], &proto, &h, "b", 1, 100, -1), 0);
        assert_int_equal(nvv_sock_recv_msg(sv[1], &rx, -1, err, sizeof(err)), 1);
        assert_string_equal((const char *) rx.data, "b");

        /* A new socket under the old number, after rx_done: its own timeout, though the
         * same timeout was set on the old one (a new socket's SO_RCVTIMEO is "forever";
         * the alarm turns a wait without end into a failure). */
        assert_int_equal(nvv_sock_send_msg(sv[0], &proto, &h, "c", 1, 100, -1), 0);
        assert_int_equal(nvv_sock_recv_msg(sv[1], &rx, 150, err, sizeof(err)), 1);
        fd = sv[1];
        nvv_sock_rx_done(&rx);
        close(sv[0]);
        close(sv[1]);
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        if (sv[1] != fd) {
                int t = sv[0];

                sv[0] = sv[1];
                sv[1] = t;
        }
        assert_int_equal(sv[1], fd);
        alarm(10);
        start = now_ns();
        assert_int_equal(nvv_sock_recv_msg(sv[1], &rx, 150, err, sizeof(err)), -ETIMEDOUT);
        assert_true(ms_since(start) >= 140 && ms_since(start) < 5000);
        alarm(0);

        /* A non-blocking socket waits all the same. */
        assert_int_equal(fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK), 0);
        start = now_ns();
        assert_int_equal(nvv_sock_recv_msg(sv[1], &rx, 150, err, sizeof(err)), -ETIMEDOUT);
        assert_true(ms_since(start) >= 140 && ms_since(start) < 5000);
        assert_int_equal(nvv_sock_send_msg(sv[0], &proto, &h, "d", 1, 100, -1), 0);
        assert_int_equal(nvv_sock_recv_msg(sv[1], &rx, 1000, err, sizeof(err)), 1);
        assert_string_equal((const char *) rx.data, "d");
        assert_int_equal(fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) & ~O_NONBLOCK), 0);

        /* The first packet of two, and no second: the whole call ends at the timeout. */
        nvv_sock_put_header(half, &(struct nvv_sock_header) { .magic = proto.magic, .version = proto.version,
                                                               .type = 2, .tag = 3, .flags = NVV_SOCK_FLAG_MORE,
                                                               .len = 4, .total = 8 });
        memcpy(half + NVV_SOCK_HEADER, "half", 4);
        assert_int_equal(send(sv[0], half, sizeof(half), 0), (ssize_t) sizeof(half));
        start = now_ns();
        assert_int_equal(nvv_sock_recv_msg(sv[1], &rx, 150, err, sizeof(err)), -ETIMEDOUT);
        assert_true(ms_since(start) >= 140 && ms_since(start) < 5000);
        nvv_sock_rx_done(&rx);
        close(sv[0]);
        close(sv[1]);
}

/* A message over the limit is refused once, however many packets it comes in, and the
 * next message is read as usual. */
static void test_oversized_refused_once(void **state)
{
        struct nvv_sock_header h = { .type = 2, .tag = 9 };
        struct nvv_sock_rx rx;
        char err[256];
        int sv[2], st;
        pid_t pid;

        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                static char big[3 * NVV_SOCK_CHUNK + 10];

                memset(big, 'x', sizeof(big));
                if (nvv_sock_send_msg(sv[0], &proto, &h, big, sizeof(big), sizeof(big), 5000) < 0)
                        _exit(1);
                h.tag = 10;
                _exit(nvv_sock_send_msg(sv[0], &proto, &h, "ok", 2, 100, 5000) < 0 ? 2 : 0);
        }
        nvv_sock_rx_init(&rx, &proto, 1000);
        assert_int_equal(nvv_sock_recv_msg(sv[1], &rx, 5000, err, sizeof(err)), -E2BIG);
        assert_strstr(err, "larger than the 1000 accepted");
        /* The other three packets go quietly; then the next message. */
        assert_int_equal(nvv_sock_recv_msg(sv[1], &rx, 5000, err, sizeof(err)), 1);
        assert_int_equal(rx.first.tag, 10);
        assert_string_equal((const char *) rx.data, "ok");
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        nvv_sock_rx_done(&rx);
        close(sv[0]);
        close(sv[1]);
}

static void test_refuse(void **state)
{
        struct nvv_sock_listen_options o = { .mode = 0600, .gid = (gid_t) -1 };
        struct nvv_sock_rx rx;
        char *msg = NULL, err[256];
        int lfd, c, s;

        assert_int_equal(nvv_sock_listen(path, &o, &lfd, &msg), 0);
        assert_int_equal(nvv_sock_connect(path, &c, &msg), 0);
        /* The client has already sent something the server never reads. */
        assert_int_equal(nvv_sock_send_msg(c, &proto, &(struct nvv_sock_header) { .type = 1 }, "x", 1, 10, -1), 0);
        assert_int_equal(nvv_sock_accept(lfd, &s), 0);
        nvv_sock_refuse(s, &proto, 3, "too many clients (1); try again later", 37);
        nvv_sock_rx_init(&rx, &proto, 1 << 20);
        assert_int_equal(nvv_sock_recv_msg(c, &rx, 1000, err, sizeof(err)), 1);
        assert_int_equal(rx.first.type, 3);
        assert_string_equal((const char *) rx.data, "too many clients (1); try again later");
        assert_int_equal(nvv_sock_recv_msg(c, &rx, 1000, err, sizeof(err)), -ECONNRESET);
        nvv_sock_rx_done(&rx);
        close(c);
        close(lfd);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_listen_mode_and_live_socket, setup, teardown),
                cmocka_unit_test_setup_teardown(test_listen_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_connect_messages, setup, teardown),
                cmocka_unit_test(test_peer_and_access),
                cmocka_unit_test(test_access_supplementary),
                cmocka_unit_test(test_send_deadline),
                cmocka_unit_test(test_empty_packets_and_eof),
                cmocka_unit_test(test_recv_timeouts),
                cmocka_unit_test(test_oversized_refused_once),
                cmocka_unit_test_setup_teardown(test_refuse, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
