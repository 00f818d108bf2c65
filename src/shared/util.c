/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

void nvv_errf(char *err, size_t errlen, const char *fmt, ...)
{
        va_list ap;

        if (err && errlen) {
                va_start(ap, fmt);
                vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
}

_printf_(2, 0) static void set_error(char **reterr, const char *fmt, va_list ap)
{
        if (reterr) {
                free(*reterr);
                if (vasprintf(reterr, fmt, ap) < 0)
                        *reterr = NULL;
        }
}

int nvv_fail(char **reterr, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        set_error(reterr, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

int nvv_fail_errno(int error, char **reterr, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        set_error(reterr, fmt, ap);
        va_end(ap);
        return error;
}

/* Decimal, or hexadecimal after an explicit "0x"; nothing else. strtoull's base 0 would read
 * "010" as 8 and its base 16 would take a second "0x" and leading blanks, so digits are
 * taken here one by one. */
static int parse_unsigned(const char *s, uint64_t *ret)
{
        unsigned base = 10;
        uint64_t v = 0;

        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
                base = 16;
                s += 2;
        } else if (s[0] == '0' && s[1] != '\0')
                return -EINVAL; /* a leading zero: not octal, and not a number we accept */
        if (!*s)
                return -EINVAL;
        for (; *s; s++) {
                unsigned d;

                if (*s >= '0' && *s <= '9')
                        d = (unsigned) (*s - '0');
                else if (base == 16 && *s >= 'a' && *s <= 'f')
                        d = (unsigned) (*s - 'a') + 10;
                else if (base == 16 && *s >= 'A' && *s <= 'F')
                        d = (unsigned) (*s - 'A') + 10;
                else
                        return -EINVAL;
                if (v > (UINT64_MAX - d) / base)
                        return -ERANGE;
                v = v * base + d;
        }
        *ret = v;
        return 0;
}

int safe_atou64(const char *s, uint64_t *ret)
{
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        r = parse_unsigned(s, &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

int safe_atou32(const char *s, uint32_t *ret)
{
        uint64_t v;
        int r = safe_atou64(s, &v);

        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

int safe_atoi64(const char *s, int64_t *ret)
{
        bool neg;
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        neg = *s == '-';
        r = parse_unsigned(s + neg, &v);
        if (r < 0)
                return r;
        if (v > (neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX))
                return -ERANGE;
        *ret = neg ? (int64_t) (0 - v) : (int64_t) v;
        return 0;
}

int read_full_stream(FILE *f, size_t max, char **ret_data, size_t *ret_size)
{
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, cap = 0;

        for (;;) {
                size_t k;

                if (n + 4096 + 1 > cap) {
                        size_t ncap = cap ? cap * 2 : 8192;
                        char *nb;

                        if (ncap > max + 4096 + 1)
                                ncap = max + 4096 + 1;
                        nb = realloc(buf, ncap);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        cap = ncap;
                }
                k = fread(buf + n, 1, cap - n - 1, f);
                n += k;
                if (n > max)
                        return -EFBIG;
                if (k == 0) {
                        if (ferror(f))
                                return -EIO;
                        break;
                }
        }
        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[n] = '\0';
        *ret_data = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = n;
        return 0;
}

int read_full_file(const char *path, size_t max, char **ret_data, size_t *ret_size)
{
        return read_full_file_at(AT_FDCWD, path, 0, max, ret_data, ret_size);
}

int read_full_file_at(int dfd, const char *name, int open_flags, size_t max, char **ret_data, size_t *ret_size)
{
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        /* O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it. */
        fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | open_flags);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;
        f = fdopen(fd, "re");
        if (!f)
                return -errno;
        TAKE_FD(fd);
        return read_full_stream(f, max, ret_data, ret_size);
}

const char *read_full_file_strerror(int r)
{
        if (r == -EBADFD)
                return "not a regular file";
        if (r == -EFBIG)
                return "file is too large";
        return strerror(-r);
}

bool streq_ptr(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

bool startswith(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

char **strv_free(char **l)
{
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l)
{
        size_t n = 0;

        if (!l)
                return 0;
        while (l[n])
                n++;
        return n;
}

int strv_push(char ***l, char *s)
{
        size_t n = strv_length(*l);
        char **nl;

        nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(s);
                return -ENOMEM;
        }
        nl[n] = s;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

int strv_extend(char ***l, const char *s)
{
        char *c = strdup(s);

        if (!c)
                return -ENOMEM;
        return strv_push(l, c);
}

int strv_split(const char *s, char sep, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        const char *p = s;

        if (!s || !*s)
                return -EINVAL;
        for (;;) {
                const char *e = strchr(p, sep);
                size_t len = e ? (size_t) (e - p) : strlen(p);
                char *item;
                int r;

                if (len == 0)
                        return -EINVAL;
                item = strndup(p, len);
                if (!item)
                        return -ENOMEM;
                r = strv_push(&l, item);
                if (r < 0)
                        return r;
                if (!e)
                        break;
                p = e + 1;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static const struct {
        const char *name;
        int value;
} errno_names[] = {
        { "EPERM", EPERM },     { "ENOENT", ENOENT },   { "EIO", EIO },
        { "ENOMEM", ENOMEM },   { "EBUSY", EBUSY },     { "EINVAL", EINVAL },
        { "ENOSPC", ENOSPC },   { "ERANGE", ERANGE },   { "EAGAIN", EAGAIN },
        { "ENODEV", ENODEV },   { "ENOBUFS", ENOBUFS }, { "ETIMEDOUT", ETIMEDOUT },
        { "EOPNOTSUPP", EOPNOTSUPP }, { "EBADFD", EBADFD }, { "EBADMSG", EBADMSG },
        { "ENOTRECOVERABLE", ENOTRECOVERABLE }, { "EPROTO", EPROTO }, { "E2BIG", E2BIG },
        { "EEXIST", EEXIST },   { "ECONNRESET", ECONNRESET }, { "ENOTCONN", ENOTCONN },
        { "EACCES", EACCES },   { "EFBIG", EFBIG },     { "EMSGSIZE", EMSGSIZE },
        { "EPROTONOSUPPORT", EPROTONOSUPPORT }, { "ECANCELED", ECANCELED }, { "ECONNREFUSED", ECONNREFUSED },
        { "EADDRINUSE", EADDRINUSE }, { "ESRCH", ESRCH }, { "ENOTDIR", ENOTDIR }, { "EISDIR", EISDIR },
        { "ELOOP", ELOOP },     { "ENAMETOOLONG", ENAMETOOLONG }, { "EROFS", EROFS }, { "EUSERS", EUSERS },
        { "ENOTSOCK", ENOTSOCK }, { "EPIPE", EPIPE }, { "EWOULDBLOCK", EWOULDBLOCK }, { "EALREADY", EALREADY },
};

int errno_from_name(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(errno_names); i++)
                if (streq(errno_names[i].name, name))
                        return errno_names[i].value;
        return -EINVAL;
}

const char *errno_to_name(int e)
{
        if (e < 0)
                e = -e;
        for (size_t i = 0; i < ELEMENTSOF(errno_names); i++)
                if (errno_names[i].value == e)
                        return errno_names[i].name;
        return NULL;
}

uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

void hexdump(FILE *f, const void *p, size_t n, const char *indent)
{
        const uint8_t *b = p;

        for (size_t i = 0; i < n; i += 16) {
                fprintf(f, "%s%04zx:", indent ? indent : "", i);
                for (size_t j = i; j < i + 16 && j < n; j++)
                        fprintf(f, " %02x", b[j]);
                fputc('\n', f);
        }
}

static int cmp_strp(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void strv_sort(char **l)
{
        size_t n = strv_length(l);

        if (n > 1)
                qsort(l, n, sizeof(char *), cmp_strp);
}

int nvv_dir_list(const char *dir, const char *prefix, const char *suffix, size_t max, char ***ret)
{
        _cleanup_strv_free_ char **names = NULL;
        DIR *d;
        struct dirent *de;
        size_t n = 0;
        int r = 0;

        d = opendir(dir);
        if (!d)
                return -errno;
        names = calloc(1, sizeof(char *));
        if (!names)
                r = -ENOMEM;
        while (r == 0 && (errno = 0, de = readdir(d))) {
                size_t len = strlen(de->d_name), sl = suffix ? strlen(suffix) : 0;

                if (de->d_name[0] == '.' || (prefix && !startswith(de->d_name, prefix)) ||
                    len <= sl || (suffix && !streq(de->d_name + len - sl, suffix)))
                        continue;
                if (++n > max)
                        r = -E2BIG;
                else
                        r = strv_extend(&names, de->d_name);
        }
        if (r == 0 && errno != 0)
                r = -errno;
        closedir(d);
        if (r < 0)
                return r;
        strv_sort(names);
        *ret = TAKE_PTR(names);
        return 0;
}

static int atomic_write_all(int fd, const char *p, size_t n, int (*step)(enum atomic_write_step s, void *userdata),
                            void *userdata)
{
        while (n > 0) {
                size_t len = n < 4096 ? n : 4096;
                ssize_t k;
                int r = step ? step(ATOMIC_WRITE_WRITE, userdata) : 0;

                if (r < 0)
                        return r;
                k = write(fd, p, len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

static int write_file_at(int dfd, const char *name, const char *tmp_prefix, const void *data, size_t len, unsigned mode,
                         bool sync, int (*step)(enum atomic_write_step s, void *userdata), void *userdata,
                         const char **ret_step)
{
        static unsigned counter;
        char tmp[256];
        const char *what = "creating";
        int fd = -1, r;

        if (strlen(tmp_prefix) > sizeof(tmp) - 32)
                return -ENAMETOOLONG;
        r = step ? step(ATOMIC_WRITE_OPEN, userdata) : 0;
        for (unsigned attempt = 0; r >= 0 && fd < 0; attempt++) {
                snprintf(tmp, sizeof(tmp), "%s%d-%u", tmp_prefix, (int) getpid(),
                         __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
                fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, (mode_t) mode);
                if (fd < 0 && (errno != EEXIST || attempt >= 100))
                        r = -errno;
        }
        if (r < 0)
                goto done;
        what = "writing";
        r = atomic_write_all(fd, data, len, step, userdata);
        if (r >= 0) {
                what = "syncing";
                r = step ? step(ATOMIC_WRITE_FSYNC, userdata) : 0;
                if (r >= 0 && sync && fsync(fd) < 0)
                        r = -errno;
        }
        /* After fsync nothing is left to lose: a close error cannot mean lost data. */
        close(fd);
        if (r >= 0) {
                what = "renaming";
                r = step ? step(ATOMIC_WRITE_RENAME, userdata) : 0;
                if (r >= 0 && renameat(dfd, tmp, dfd, name) < 0)
                        r = -errno;
        }
        if (r < 0) {
                (void) unlinkat(dfd, tmp, 0);
                goto done;
        }
        /* Only now is the rename itself durable. */
        what = "syncing the directory";
        r = step ? step(ATOMIC_WRITE_FSYNC_DIR, userdata) : 0;
        if (r >= 0 && sync && fsync(dfd) < 0)
                r = -errno;
done:
        if (r < 0 && ret_step)
                *ret_step = what;
        return r;
}

int write_file_atomic_at(int dfd, const char *name, const char *tmp_prefix, const void *data, size_t len,
                         unsigned mode, int (*step)(enum atomic_write_step s, void *userdata), void *userdata,
                         const char **ret_step)
{
        return write_file_at(dfd, name, tmp_prefix, data, len, mode, true, step, userdata, ret_step);
}

int write_file_replace_at(int dfd, const char *name, const char *tmp_prefix, const void *data, size_t len,
                          unsigned mode, const char **ret_step)
{
        return write_file_at(dfd, name, tmp_prefix, data, len, mode, false, NULL, NULL, ret_step);
}
