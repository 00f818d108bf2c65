/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nvv-simfs.h"
#include "util.h"

#define ATTR_SIZE 4096          /* sysfs gives every attribute this size */
#define READ_CAP 65536

struct nvv_simfs {
        const struct nvv_simfs_ops *ops;
        void *userdata;
        char *dir;
        struct fuse *fuse;
        pthread_t thread;
        bool running;
        /* The FUSE connection's abort file, opened at the mount: for an abort if unmounting
         * hangs. Opened then, not looked up by number at the abort: by then the mount may be
         * gone and its number another FUSE mount's (the kernel reuses the lowest free one). */
        int abort_fd;
        time_t mounted_at;
        pthread_mutex_t lock;   /* the snapshot */
        struct nvv_simfs_view view;
        uint64_t gen;
        bool have_view;
        /* Writes forwarded and not answered yet, by the object they act on (a UUID, or a VF's
         * address): a second write to the same object waits for the first (then it is
         * judged on what the first made); writes to other objects go on meanwhile, as the
         * kernel's mdev core reserves a UUID in its list and calls the driver unlocked. */
        pthread_cond_t inflight_cv;
        char inflight[64][NVV_SYSFS_UUID_LEN + 1];
        size_t n_inflight;
};

struct open_file {
        size_t len;
        char data[];
};

static struct nvv_simfs *self(void)
{
        return fuse_get_context()->private_data;
}

/* With the lock held: the snapshot, fresh. */
static int fresh_view(struct nvv_simfs *fs)
{
        uint64_t gen = fs->ops->generation(fs->userdata);
        int r;

        if (fs->have_view && gen == fs->gen)
                return 0;
        r = fs->ops->snapshot(fs->userdata, &fs->view);
        if (r < 0) {
                fs->have_view = false;
                return r;
        }
        fs->gen = gen;
        fs->have_view = true;
        return 0;
}

static int lookup_locked(struct nvv_simfs *fs, const char *path, struct nvv_simfs_node *ret)
{
        int r = fresh_view(fs);

        return r < 0 ? -EIO : nvv_simfs_lookup(&fs->view, path, ret);
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
        struct nvv_simfs *fs = self();
        struct nvv_simfs_node n;
        int r;

        (void) fi;
        pthread_mutex_lock(&fs->lock);
        r = lookup_locked(fs, path, &n);
        pthread_mutex_unlock(&fs->lock);
        if (r < 0)
                return r;
        memset(st, 0, sizeof(*st));
        st->st_atime = st->st_mtime = st->st_ctime = fs->mounted_at;
        switch (n.kind) {
        case NVV_SIMFS_DIR:
                st->st_mode = S_IFDIR | n.mode;
                st->st_nlink = 2;
                break;
        case NVV_SIMFS_FILE:
                st->st_mode = S_IFREG | n.mode;
                st->st_nlink = 1;
                st->st_size = ATTR_SIZE;
                break;
        case NVV_SIMFS_LINK:
                st->st_mode = S_IFLNK | 0777;
                st->st_nlink = 1;
                st->st_size = (off_t) strlen(n.target);
                break;
        }
        return 0;
}

static int op_readlink(const char *path, char *buf, size_t size)
{
        struct nvv_simfs *fs = self();
        struct nvv_simfs_node n;
        int r;

        pthread_mutex_lock(&fs->lock);
        r = lookup_locked(fs, path, &n);
        pthread_mutex_unlock(&fs->lock);
        if (r < 0)
                return r;
        if (n.kind != NVV_SIMFS_LINK)
                return -EINVAL;
        if (size == 0)
                return -EINVAL;
        snprintf(buf, size, "%s", n.target);
        return 0;
}

struct fill {
        void *buf;
        fuse_fill_dir_t filler;
};

static int fill_one(void *userdata, const char *name, const struct nvv_simfs_node *n)
{
        struct fill *f = userdata;

        (void) n;
        return f->filler(f->buf, name, NULL, 0, 0) ? 1 : 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset, struct fuse_file_info *fi,
                      enum fuse_readdir_flags flags)
{
        struct nvv_simfs *fs = self();
        struct fill f = { .buf = buf, .filler = filler };
        struct nvv_simfs_node n;
        int r;

        (void) offset;
        (void) fi;
        (void) flags;
        pthread_mutex_lock(&fs->lock);
        r = lookup_locked(fs, path, &n);
        if (r >= 0 && n.kind != NVV_SIMFS_DIR)
                r = -ENOTDIR;
        if (r >= 0) {
                filler(buf, ".", NULL, 0, 0);
                filler(buf, "..", NULL, 0, 0);
                (void) nvv_simfs_list(&fs->view, &n, fill_one, &f);
        }
        pthread_mutex_unlock(&fs->lock);
        return r < 0 ? r : 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
        struct nvv_simfs *fs = self();
        struct nvv_simfs_node n;
        struct open_file *of = NULL;
        int acc = fi->flags & O_ACCMODE, r;

        pthread_mutex_lock(&fs->lock);
        r = lookup_locked(fs, path, &n);
        if (r >= 0 && n.kind != NVV_SIMFS_FILE)
                r = -EISDIR;
        /* kernfs_fop_open: -EACCES for a read of an attribute without show, a write of one
         * without store, whoever asks. */
        if (r >= 0 && (acc == O_WRONLY || acc == O_RDWR) && !nvv_simfs_writable(&n))
                r = -EACCES;
        if (r >= 0 && (acc == O_RDONLY || acc == O_RDWR) && !(n.mode & 0444))
                r = -EACCES;
        if (r >= 0 && acc != O_WRONLY) {
                /* The contents as of the open, as sysfs reads them at the first read. */
                of = malloc(sizeof(*of) + READ_CAP);
                if (!of)
                        r = -ENOMEM;
                else {
                        r = nvv_simfs_read(&fs->view, &n, of->data, READ_CAP);
                        of->len = r >= 0 ? (size_t) r : 0;
                }
        }
        pthread_mutex_unlock(&fs->lock);
        if (r < 0) {
                free(of);
                return r;
        }
        fi->fh = (uint64_t) (uintptr_t) of;
        fi->direct_io = 1;
        fi->nonseekable = 0;
        return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
        struct open_file *of = (struct open_file *) (uintptr_t) fi->fh;

        (void) path;
        if (!of)
                return -EACCES;
        if (off < 0 || (size_t) off >= of->len)
                return 0;
        size = MIN(size, of->len - (size_t) off);
        memcpy(buf, of->data + off, size);
        return (int) size;
}

static bool inflight_has(const struct nvv_simfs *fs, const char *key)
{
        for (size_t i = 0; i < fs->n_inflight; i++)
                if (streq(fs->inflight[i], key))
                        return true;
        return false;
}

static int op_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
        struct nvv_simfs *fs = self();
        struct nvv_sysfs_request req = {};
        struct nvv_simfs_node n;
        const char *key = NULL;
        int r;

        (void) fi;
        (void) off;
        if (size > READ_CAP)
                return -EINVAL;
        pthread_mutex_lock(&fs->lock);
        for (;;) {
                r = lookup_locked(fs, path, &n);
                if (r >= 0)
                        r = nvv_simfs_write(&fs->view, &n, buf, size, &req);
                if (r != 0)
                        break;
                key = req.op == NVV_SYSFS_CREATE || req.op == NVV_SYSFS_REMOVE ? req.uuid : req.vf;
                if (!inflight_has(fs, key) && fs->n_inflight < ELEMENTSOF(fs->inflight))
                        break;
                pthread_cond_wait(&fs->inflight_cv, &fs->lock);
        }
        if (r == 0)
                snprintf(fs->inflight[fs->n_inflight++], sizeof(fs->inflight[0]), "%s", key);
        pthread_mutex_unlock(&fs->lock);
        if (r != 0)
                return r < 0 ? r : (int) size;
        r = fs->ops->forward(fs->userdata, &req);
        pthread_mutex_lock(&fs->lock);
        for (size_t i = 0; i < fs->n_inflight; i++)
                if (streq(fs->inflight[i], key)) {
                        memmove(fs->inflight[i], fs->inflight[fs->n_inflight - 1], sizeof(fs->inflight[0]));
                        fs->n_inflight--;
                        break;
                }
        pthread_cond_broadcast(&fs->inflight_cv);
        pthread_mutex_unlock(&fs->lock);
        if (r < 0)
                return r;
        return (int) size;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
        struct nvv_simfs *fs = self();
        struct nvv_simfs_node n;
        int r;

        (void) size;
        (void) fi;
        /* `echo > attr` opens with O_TRUNC: sysfs ignores the truncation of an attribute. */
        pthread_mutex_lock(&fs->lock);
        r = lookup_locked(fs, path, &n);
        pthread_mutex_unlock(&fs->lock);
        if (r < 0)
                return r;
        return nvv_simfs_writable(&n) ? 0 : -EACCES;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
        (void) path;
        free((void *) (uintptr_t) fi->fh);
        fi->fh = 0;
        return 0;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
        (void) conn;
        /* Nothing cached by the kernel: every lookup and read sees the state of now. */
        cfg->entry_timeout = 0;
        cfg->negative_timeout = 0;
        cfg->attr_timeout = 0;
        cfg->direct_io = 1;
        cfg->kernel_cache = 0;
        return fuse_get_context()->private_data;
}

static const struct fuse_operations simfs_ops = {
        .getattr = op_getattr,
        .readlink = op_readlink,
        .open = op_open,
        .read = op_read,
        .write = op_write,
        .truncate = op_truncate,
        .release = op_release,
        .readdir = op_readdir,
        .init = op_init,
};

static void *serve_main(void *userdata)
{
        struct nvv_simfs *fs = userdata;

        (void) fuse_loop_mt(fs->fuse, 0);
        return NULL;
}

static void abort_connection(struct nvv_simfs *fs)
{
        /* Documentation/filesystems/fuse.rst: writing to .../connections/N/abort ends a
         * connection whose mount is gone but still referenced (a lazy unmount); once the
         * connection is gone the write fails, touching nothing. */
        if (fs->abort_fd >= 0)
                (void) !write(fs->abort_fd, "1", 1);
}

struct nvv_simfs *nvv_simfs_unmount(struct nvv_simfs *fs)
{
        if (!fs)
                return NULL;
        if (fs->fuse) {
                fuse_exit(fs->fuse);
                fuse_unmount(fs->fuse);
                if (fs->running) {
                        struct timespec until;

                        clock_gettime(CLOCK_REALTIME, &until);
                        until.tv_sec += 2;
                        if (pthread_timedjoin_np(fs->thread, NULL, &until) != 0) {
                                abort_connection(fs);
                                pthread_join(fs->thread, NULL);
                        }
                }
                fuse_destroy(fs->fuse);
        }
        if (fs->abort_fd >= 0)
                close(fs->abort_fd);
        free(fs->view.gpus);
        free(fs->dir);
        pthread_mutex_destroy(&fs->lock);
        pthread_cond_destroy(&fs->inflight_cv);
        free(fs);
        return NULL;
}

int nvv_simfs_mount(const char *dir, size_t n_gpus, const struct nvv_simfs_ops *ops, void *userdata,
                    struct nvv_simfs **ret, char **reterr_msg)
{
        _cleanup_(nvv_simfs_unmountp) struct nvv_simfs *fs = NULL;
        char *argv[] = { (char *) "nvvgpu-sim", (char *) "-o",
                         (char *) (geteuid() == 0 ? "fsname=nvvgpu-sim,subtype=nvvgpu-sysfs,allow_other"
                                                  : "fsname=nvvgpu-sim,subtype=nvvgpu-sysfs"),
                         NULL };
        struct fuse_args args = FUSE_ARGS_INIT(3, argv);
        struct stat st;

        assert_return(dir && ops && ret, -EINVAL);
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return nvv_fail_errno(-ENOTDIR, reterr_msg, "--sysfs-mount: '%s' is not a directory", dir);
        if (access("/dev/fuse", R_OK | W_OK) < 0)
                return nvv_fail_errno(-errno, reterr_msg, "--sysfs-mount: cannot use /dev/fuse: %s", strerror(errno));
        fs = calloc(1, sizeof(*fs));
        if (!fs)
                return -ENOMEM;
        fs->abort_fd = -1;
        pthread_mutex_init(&fs->lock, NULL);
        pthread_cond_init(&fs->inflight_cv, NULL);
        fs->ops = ops;
        fs->userdata = userdata;
        fs->mounted_at = time(NULL);
        fs->view.n_gpus = n_gpus;
        fs->view.gpus = calloc(n_gpus ? n_gpus : 1, sizeof(*fs->view.gpus));
        fs->dir = strdup(dir);
        if (!fs->view.gpus || !fs->dir)
                return -ENOMEM;
        fs->fuse = fuse_new(&args, &simfs_ops, sizeof(simfs_ops), fs);
        fuse_opt_free_args(&args);
        if (!fs->fuse)
                return nvv_fail_errno(-EIO, reterr_msg, "--sysfs-mount: cannot set up FUSE");
        if (fuse_mount(fs->fuse, dir) != 0) {
                fuse_destroy(fs->fuse);
                fs->fuse = NULL;
                return nvv_fail_errno(-EIO, reterr_msg, "--sysfs-mount: cannot mount FUSE on '%s'", dir);
        }
        if (pthread_create(&fs->thread, NULL, serve_main, fs) != 0)
                return -EAGAIN;
        fs->running = true;
        /* The connection is the mount's device minor (fusectl names it so). */
        if (stat(dir, &st) == 0) {
                char p[96];

                snprintf(p, sizeof(p), "/sys/fs/fuse/connections/%u/abort", minor(st.st_dev));
                fs->abort_fd = open(p, O_WRONLY | O_CLOEXEC);
        }
        log_debug("sim: sysfs mounted on %s", dir);
        *ret = TAKE_PTR(fs);
        return 0;
}
