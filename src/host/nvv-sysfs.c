/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#endif

#include "log.h"
#include "nvv-sysfs.h"
#include "util.h"

struct nvv_sysfs {
        char *root;
        int root_fd;
        bool portable; /* resolve component by component even where openat2(2) works */
};

static void closedirp(DIR **d)
{
        if (*d)
                (void) closedir(*d);
}

int nvv_sysfs_new(const char *root, struct nvv_sysfs **ret)
{
        _cleanup_(nvv_sysfs_freep) struct nvv_sysfs *s = NULL;
        size_t n;

        assert_return(ret, -EINVAL);
        if (!root)
                root = "/sys";
        assert_return(*root, -EINVAL);
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->root_fd = -EBADF;
        s->root = strdup(root);
        if (!s->root)
                return -ENOMEM;
        n = strlen(s->root);
        while (n > 1 && s->root[n - 1] == '/')
                s->root[--n] = '\0';
        s->root_fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->root_fd < 0)
                return log_debug_errno(-errno, "sysfs root '%s': %m", s->root);
        *ret = TAKE_PTR(s);
        return 0;
}

struct nvv_sysfs *nvv_sysfs_free(struct nvv_sysfs *s)
{
        if (!s)
                return NULL;
        safe_close(s->root_fd);
        free(s->root);
        free(s);
        return NULL;
}

const char *nvv_sysfs_get_root(const struct nvv_sysfs *s)
{
        return s ? s->root : NULL;
}

/* Relative, no "..", no empty components at the start. */
static bool path_ok(const char *p)
{
        const char *c = p;

        if (!p || !*p || *p == '/')
                return false;
        while (*c) {
                const char *e = strchr(c, '/');
                size_t len = e ? (size_t) (e - c) : strlen(c);

                if (len == 2 && c[0] == '.' && c[1] == '.')
                        return false;
                if (!e)
                        break;
                c = e + 1;
        }
        return strlen(p) < PATH_MAX;
}

void nvv_sysfs_set_portable_resolve(struct nvv_sysfs *s, bool portable)
{
        if (s)
                s->portable = portable;
}

/* The kernel's own bound on links followed in one lookup (MAXSYMLINKS, include/linux/namei.h). */
#define MAX_LINKS 40
/* Directories held open on the way down; sysfs device paths are a few tens deep. */
#define MAX_DEPTH 256

/* Directories entered so far below the root, for "..". */
struct walk {
        int root_fd;
        size_t depth, cap;
        int *fds;
        char **names;
};

static void walk_done(struct walk *w)
{
        for (size_t i = 0; i < w->depth; i++) {
                safe_close(w->fds[i]);
                free(w->names[i]);
        }
        free(w->fds);
        free(w->names);
}

static int walk_top(const struct walk *w)
{
        return w->depth ? w->fds[w->depth - 1] : w->root_fd;
}

static int walk_push(struct walk *w, int fd, const char *name)
{
        if (w->depth == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 16;
                int *fds = realloc(w->fds, cap * sizeof(int));
                char **names;

                if (!fds)
                        return -ENOMEM;
                w->fds = fds;
                names = realloc(w->names, cap * sizeof(char *));
                if (!names)
                        return -ENOMEM;
                w->names = names;
                w->cap = cap;
        }
        w->names[w->depth] = strdup(name);
        if (!w->names[w->depth])
                return -ENOMEM;
        w->fds[w->depth++] = fd;
        return 0;
}

static char *walk_path(const struct walk *w, const char *last)
{
        size_t len = 1;
        char *p;

        for (size_t i = 0; i < w->depth; i++)
                len += strlen(w->names[i]) + 1;
        len += last ? strlen(last) : 0;
        p = malloc(len);
        if (!p)
                return NULL;
        p[0] = '\0';
        for (size_t i = 0; i < w->depth; i++) {
                if (i)
                        strcat(p, "/");
                strcat(p, w->names[i]);
        }
        if (last && *last) {
                if (w->depth)
                        strcat(p, "/");
                strcat(p, last);
        }
        return p;
}

/* A link's target, by an O_PATH descriptor of the link itself. */
static int readlink_fd(int fd, char **ret)
{
        _cleanup_free_ char *buf = malloc(NVV_SYSFS_LINK_MAX + 1);
        ssize_t n;

        if (!buf)
                return -ENOMEM;
        n = readlinkat(fd, "", buf, NVV_SYSFS_LINK_MAX + 1);
        if (n < 0)
                return -errno;
        if (n == 0 || (size_t) n > NVV_SYSFS_LINK_MAX)
                return -EFBIG;
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

/*
 * Resolve path under the root one component at a time, each opened O_NOFOLLOW relative to
 * the directory before it, so that nothing is looked up outside the tree: ".." above the
 * root and absolute links (which name the host's tree, not this one) are -EXDEV. Returns
 * the directory holding the final component (a new descriptor), that component ("." when
 * the path ends at a directory), and where it all lies, relative to the root. With
 * follow_last, a final link is resolved too.
 */
static int walk_path_beneath(const struct nvv_sysfs *s, const char *path, bool follow_last,
                             int *ret_dirfd, char **ret_name, char **ret_path)
{
        _cleanup_(walk_done) struct walk w = { .root_fd = s->root_fd };
        _cleanup_free_ char *rest = strdup(path), *last = NULL;
        unsigned links = 0;
        int r;

        if (!rest)
                return -ENOMEM;
        for (;;) {
                _cleanup_close_ int fd = -EBADF;
                _cleanup_free_ char *target = NULL;
                char *slash = strchr(rest, '/'), *c = rest;
                bool final;
                struct stat st;

                if (slash)
                        *slash = '\0';
                final = !slash || !slash[1 + strspn(slash + 1, "/")];
                if (streq(c, "..")) {
                        if (w.depth == 0)
                                return -EXDEV;
                        w.depth--;
                        safe_close(w.fds[w.depth]);
                        free(w.names[w.depth]);
                } else if (*c && !streq(c, ".")) {
                        if (final && !follow_last) {
                                last = strdup(c);
                                if (!last)
                                        return -ENOMEM;
                                break;
                        }
                        fd = openat(walk_top(&w), c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0)
                                return -errno;
                        if (fstat(fd, &st) < 0)
                                return -errno;
                        if (S_ISLNK(st.st_mode)) {
                                char *joined;

                                if (++links > MAX_LINKS)
                                        return -ELOOP;
                                r = readlink_fd(fd, &target);
                                if (r < 0)
                                        return r;
                                if (target[0] == '/')
                                        return -EXDEV;
                                if (asprintf(&joined, "%s%s%s", target, slash ? "/" : "", slash ? slash + 1 : "") < 0)
                                        return -ENOMEM;
                                free(rest);
                                rest = joined;
                                continue;
                        }
                        if (final) {
                                last = strdup(c);
                                if (!last)
                                        return -ENOMEM;
                                break;
                        }
                        if (!S_ISDIR(st.st_mode))
                                return -ENOTDIR;
                        if (w.depth >= MAX_DEPTH)
                                return -ENAMETOOLONG;
                        r = walk_push(&w, fd, c);
                        if (r < 0)
                                return r;
                        fd = -EBADF;
                }
                if (!slash)
                        break;
                memmove(rest, slash + 1, strlen(slash + 1) + 1);
        }
        if (ret_path) {
                *ret_path = walk_path(&w, last);
                if (!*ret_path)
                        return -ENOMEM;
        }
        if (ret_dirfd) {
                int fd = fcntl(walk_top(&w), F_DUPFD_CLOEXEC, 3);

                if (fd < 0) {
                        r = -errno;
                        if (ret_path) {
                                free(*ret_path);
                                *ret_path = NULL;
                        }
                        return r;
                }
                *ret_dirfd = fd;
        }
        if (ret_name)
                *ret_name = last ? TAKE_PTR(last) : strdup(".");
        return 0;
}

#if defined(SYS_openat2) && defined(RESOLVE_BENEATH)
/* 1 works, 0 refused here (old kernel, a sandbox's filter), -1 not tried yet. */
static int openat2_state = -1;

static int open_openat2(int dirfd, const char *path, int flags)
{
        struct open_how how = {
                .flags = (uint64_t) flags,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };

        for (unsigned tries = 0;; tries++) {
                long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

                if (fd >= 0)
                        return (int) fd;
                /* EAGAIN: a rename raced a ".."; the kernel asks to retry. */
                if (errno == EAGAIN && tries < 8)
                        continue;
                return -errno;
        }
}
#endif

/* Open path under the root without ever leaving it (-EXDEV when it would). */
static int open_beneath(const struct nvv_sysfs *s, const char *path, int flags, bool follow_last)
{
        _cleanup_close_ int dirfd = -EBADF;
        _cleanup_free_ char *name = NULL;
        int r, fd;

        flags |= O_CLOEXEC | (follow_last ? 0 : O_NOFOLLOW);
#if defined(SYS_openat2) && defined(RESOLVE_BENEATH)
        if (!s->portable && __atomic_load_n(&openat2_state, __ATOMIC_RELAXED) != 0) {
                fd = open_openat2(s->root_fd, path, flags);
                if (fd >= 0 || (fd != -ENOSYS && fd != -EPERM)) {
                        __atomic_store_n(&openat2_state, 1, __ATOMIC_RELAXED);
                        return fd;
                }
                if (__atomic_load_n(&openat2_state, __ATOMIC_RELAXED) < 0)
                        __atomic_store_n(&openat2_state, 0, __ATOMIC_RELAXED);
        }
#endif
        r = walk_path_beneath(s, path, follow_last, &dirfd, &name, NULL);
        if (r < 0)
                return r;
        /* The final component was checked to be no link (or is opened as one, O_PATH); one
         * that turned into a link since fails with ELOOP rather than being followed. */
        fd = openat(dirfd, name, flags | O_NOFOLLOW);
        return fd < 0 ? -errno : fd;
}

static int read_fd(int fd, size_t max, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        buf = malloc(max + 2);
        if (!buf)
                return -ENOMEM;
        /* sysfs reports a size of 4096 for everything; read until EOF, at most max + 1 bytes. */
        for (;;) {
                ssize_t k = read(fd, buf + n, max + 1 - n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > max)
                        return -EFBIG;
        }
        if (memchr(buf, '\0', n))
                return -EBADMSG;
        if (n > 0 && buf[n - 1] == '\n')
                n--;
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

int nvv_sysfs_read_attr(const struct nvv_sysfs *s, const char *path, size_t max, char **ret)
{
        _cleanup_close_ int fd = -EBADF;

        assert_return(s && ret, -EINVAL);
        assert_return(path_ok(path), -EINVAL);
        fd = open_beneath(s, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, true);
        if (fd < 0)
                return fd;
        return read_fd(fd, max ? max : NVV_SYSFS_ATTR_MAX, ret);
}

const char *nvv_sysfs_strerror(int r)
{
        switch (r) {
        case -EXDEV:
                return "a link leading out of the tree, not followed";
        case -ELOOP:
                return "too many levels of links";
        case -EFBIG:
                return "too long";
        case -EBADMSG:
                return "malformed (a NUL byte, or not what the kernel writes there)";
        default:
                return strerror(r < 0 ? -r : r);
        }
}

int nvv_sysfs_parse_u32(const char *text, uint32_t *ret)
{
        uint64_t v = 0;
        const char *p = text;

        if (!text || !*text)
                return -EINVAL;
        for (; *p; p++) {
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                v = v * 10 + (uint64_t) (*p - '0');
                if (v > UINT32_MAX)
                        return -ERANGE;
        }
        *ret = (uint32_t) v;
        return 0;
}

int nvv_sysfs_parse_int(const char *text, int *ret)
{
        uint32_t v;
        bool neg = false;
        int r;

        if (!text)
                return -EINVAL;
        if (*text == '-') {
                neg = true;
                text++;
        }
        r = nvv_sysfs_parse_u32(text, &v);
        if (r < 0)
                return r;
        if (v > (uint32_t) INT_MAX)
                return -ERANGE;
        *ret = neg ? -(int) v : (int) v;
        return 0;
}

int nvv_sysfs_parse_hex(const char *text, unsigned bits, uint32_t *ret)
{
        uint64_t v = 0;
        size_t digits = 0;
        const char *p;

        assert_return(bits > 0 && bits <= 32, -EINVAL);
        if (!text || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
                return -EINVAL;
        for (p = text + 2; *p; p++, digits++) {
                int d;

                if (*p >= '0' && *p <= '9')
                        d = *p - '0';
                else if (*p >= 'a' && *p <= 'f')
                        d = *p - 'a' + 10;
                else if (*p >= 'A' && *p <= 'F')
                        d = *p - 'A' + 10;
                else
                        return -EINVAL;
                if (digits >= 8)
                        return -ERANGE;
                v = (v << 4) | (uint64_t) d;
        }
        if (digits == 0)
                return -EINVAL;
        if (bits < 32 && v >> bits)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

int nvv_sysfs_parse_uevent(const char *text, const char *key, char **ret_value)
{
        size_t klen;
        const char *line = text;

        assert_return(text && key && ret_value, -EINVAL);
        klen = strlen(key);
        while (*line) {
                const char *eol = strchr(line, '\n');
                size_t len = eol ? (size_t) (eol - line) : strlen(line);

                if (len > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
                        char *v = strndup(line + klen + 1, len - klen - 1);

                        if (!v)
                                return -ENOMEM;
                        *ret_value = v;
                        return 0;
                }
                if (!eol)
                        break;
                line = eol + 1;
        }
        return -ENOENT;
}

int nvv_sysfs_parse_bdf(const char *text, char ret[static 13])
{
        /* dddd:bb:dd.f, hex, device < 0x20, function < 8 */
        static const char shape[] = "xxxx:xx:xx.x";
        char out[13];
        unsigned dev, fn;

        if (!text || strlen(text) != 12)
                return -EINVAL;
        for (size_t i = 0; i < 12; i++) {
                char c = text[i];

                if (shape[i] != 'x') {
                        if (c != shape[i])
                                return -EINVAL;
                        out[i] = c;
                        continue;
                }
                if (!isxdigit((unsigned char) c))
                        return -EINVAL;
                out[i] = (char) tolower((unsigned char) c);
        }
        out[12] = '\0';
        dev = (unsigned) strtoul((char[]){ out[8], out[9], '\0' }, NULL, 16);
        fn = (unsigned) (out[11] - '0');
        if (dev >= 0x20 || !isdigit((unsigned char) out[11]) || fn >= 8)
                return -EINVAL;
        memcpy(ret, out, 13);
        return 0;
}

int nvv_sysfs_normalize(const char *dir, const char *target, char **ret)
{
        _cleanup_free_ char *joined = NULL, *out = NULL;
        _cleanup_free_ const char **parts = NULL;
        size_t depth = 0, len = 0;
        char *save = NULL, *tok;

        assert_return(target && ret, -EINVAL);
        if (target[0] == '/')
                return -EXDEV; /* absolute links leave any re-rooted tree */
        if (asprintf(&joined, "%s%s%s", dir && *dir ? dir : "", dir && *dir ? "/" : "", target) < 0)
                return -ENOMEM;
        parts = calloc(strlen(joined) + 1, sizeof(char *));
        out = malloc(strlen(joined) + 1);
        if (!parts || !out)
                return -ENOMEM;
        for (tok = strtok_r(joined, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
                if (streq(tok, "."))
                        continue;
                if (streq(tok, "..")) {
                        if (depth == 0)
                                return -EXDEV;
                        depth--;
                        continue;
                }
                parts[depth++] = tok;
        }
        if (depth == 0)
                return -EINVAL;
        for (size_t i = 0; i < depth; i++)
                len += (size_t) sprintf(out + len, "%s%s", i ? "/" : "", parts[i]);
        *ret = TAKE_PTR(out);
        return 0;
}

int nvv_sysfs_read_link(const struct nvv_sysfs *s, const char *path, char **ret_target)
{
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        assert_return(s && ret_target, -EINVAL);
        assert_return(path_ok(path), -EINVAL);
        fd = open_beneath(s, path, O_PATH, false);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISREG(st.st_mode)) {
                /* A captured link: the file holds the target. */
                _cleanup_free_ char *t = NULL;
                int r;

                fd = safe_close(fd);
                fd = open_beneath(s, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, false);
                if (fd < 0)
                        return fd;
                r = read_fd(fd, NVV_SYSFS_LINK_MAX, &t);
                if (r < 0)
                        return r;
                if (!*t || strchr(t, '\n'))
                        return -EBADMSG;
                *ret_target = TAKE_PTR(t);
                return 0;
        }
        if (!S_ISLNK(st.st_mode))
                return -ENOLINK;
        return readlink_fd(fd, ret_target);
}

int nvv_sysfs_resolve_link(const struct nvv_sysfs *s, const char *path, char **ret_path)
{
        _cleanup_free_ char *target = NULL, *dir = NULL, *where = NULL, *lexical = NULL, *real = NULL;
        char *slash;
        int r;

        assert_return(s && ret_path, -EINVAL);
        r = nvv_sysfs_read_link(s, path, &target);
        if (r < 0)
                return r;
        /* The target is relative to where the link really lies, its directories' links
         * resolved (inside the tree). */
        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash) {
                *slash = '\0';
                r = walk_path_beneath(s, dir, true, NULL, NULL, &where);
                if (r < 0)
                        return r;
        }
        r = nvv_sysfs_normalize(where, target, &lexical);
        if (r < 0)
                return r;
        /* Then the target's own links, confined the same way. A target that is not there
         * (or lies behind a captured link file) keeps its lexical form. */
        r = walk_path_beneath(s, lexical, true, NULL, NULL, &real);
        if (r == -ENOENT || r == -ENOTDIR) {
                *ret_path = TAKE_PTR(lexical);
                return 0;
        }
        if (r < 0)
                return r;
        if (!*real)
                return -EINVAL; /* the root itself */
        *ret_path = TAKE_PTR(real);
        return 0;
}

int nvv_sysfs_read_link_name(const struct nvv_sysfs *s, const char *path, char **ret_name)
{
        _cleanup_free_ char *target = NULL, *resolved = NULL;
        const char *base;
        size_t n;
        int r;

        assert_return(ret_name, -EINVAL);
        r = nvv_sysfs_read_link(s, path, &target);
        if (r < 0)
                return r;
        /* The name only counts for a link that stays inside the tree. */
        r = nvv_sysfs_resolve_link(s, path, &resolved);
        if (r < 0)
                return r;
        n = strlen(target);
        while (n > 0 && target[n - 1] == '/')
                target[--n] = '\0';
        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        if (!*base || streq(base, "..") || streq(base, "."))
                return -EBADMSG;
        *ret_name = strdup(base);
        return *ret_name ? 0 : -ENOMEM;
}

bool nvv_sysfs_exists(const struct nvv_sysfs *s, const char *path)
{
        _cleanup_close_ int fd = -EBADF;

        if (!s || !path_ok(path))
                return false;
        fd = open_beneath(s, path, O_PATH, false);
        return fd >= 0;
}

bool nvv_sysfs_is_dir(const struct nvv_sysfs *s, const char *path)
{
        _cleanup_close_ int fd = -EBADF;

        if (!s || !path_ok(path))
                return false;
        fd = open_beneath(s, path, O_PATH | O_DIRECTORY, true);
        return fd >= 0;
}

int nvv_sysfs_list_dir(const struct nvv_sysfs *s, const char *path, char ***ret_names)
{
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        size_t n = 0;
        int fd, r;

        assert_return(s && ret_names, -EINVAL);
        assert_return(path_ok(path), -EINVAL);
        fd = open_beneath(s, path, O_RDONLY | O_DIRECTORY, true);
        if (fd < 0)
                return fd;
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                safe_close(fd);
                return r;
        }
        names = calloc(1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        while ((errno = 0, de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (++n > NVV_SYSFS_DIR_MAX)
                        return -E2BIG;
                r = strv_extend(&names, de->d_name);
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return -errno;
        strv_sort(names);
        *ret_names = TAKE_PTR(names);
        return 0;
}

static int read_parsed(const struct nvv_sysfs *s, const char *path, char **ret)
{
        int r = nvv_sysfs_read_attr(s, path, 64, ret);

        return r == -EFBIG ? -EBADMSG : r;
}

int nvv_sysfs_read_u32(const struct nvv_sysfs *s, const char *path, uint32_t *ret)
{
        _cleanup_free_ char *t = NULL;
        int r;

        r = read_parsed(s, path, &t);
        if (r < 0)
                return r;
        return nvv_sysfs_parse_u32(t, ret) < 0 ? -EBADMSG : 0;
}

int nvv_sysfs_read_int(const struct nvv_sysfs *s, const char *path, int *ret)
{
        _cleanup_free_ char *t = NULL;
        int r;

        r = read_parsed(s, path, &t);
        if (r < 0)
                return r;
        return nvv_sysfs_parse_int(t, ret) < 0 ? -EBADMSG : 0;
}

int nvv_sysfs_read_hex(const struct nvv_sysfs *s, const char *path, unsigned bits, uint32_t *ret)
{
        _cleanup_free_ char *t = NULL;
        int r;

        r = read_parsed(s, path, &t);
        if (r < 0)
                return r;
        return nvv_sysfs_parse_hex(t, bits, ret) < 0 ? -EBADMSG : 0;
}
