/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tree.h"

static void die(const char *what, const char *path)
{
        fprintf(stderr, "tree: %s %s: %s\n", what, path, strerror(errno));
        abort();
}

struct tree *tree_new(void)
{
        struct tree *t = calloc(1, sizeof(*t));
        const char *tmp = getenv("TMPDIR");

        if (!t || asprintf(&t->root, "%s/nvv-test-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
                abort();
        if (!mkdtemp(t->root))
                die("mkdtemp", t->root);
        return t;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        (void) st;
        (void) flag;
        (void) ftw;
        return remove(p);
}

void tree_free(struct tree *t)
{
        if (!t)
                return;
        (void) nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(t->root);
        free(t);
}

char *tree_path(struct tree *t, const char *path)
{
        char *p;

        if (asprintf(&p, "%s/%s", t->root, path) < 0)
                abort();
        return p;
}

static void mkdir_p(char *p)
{
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                                die("mkdir", p);
                        *s = '/';
                }
}

void tree_write_bytes(struct tree *t, const char *path, const void *data, size_t n)
{
        char *p = tree_path(t, path);
        int fd;

        mkdir_p(p);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, data, n) != (ssize_t) n)
                die("write", p);
        close(fd);
        free(p);
}

void tree_write(struct tree *t, const char *path, const char *content)
{
        if (!content) {
                char *p = tree_path(t, path), *q;

                if (asprintf(&q, "%s/", p) < 0)
                        abort();
                mkdir_p(q);
                free(q);
                free(p);
                return;
        }
        tree_write_bytes(t, path, content, strlen(content));
}

void tree_link(struct tree *t, const char *path, const char *target)
{
        char *p = tree_path(t, path);

        mkdir_p(p);
        (void) unlink(p);
        if (symlink(target, p) < 0)
                die("symlink", p);
        free(p);
}

static void attr(struct tree *t, const char *dev, const char *name, const char *val)
{
        char *p;

        if (!val)
                return;
        if (asprintf(&p, "%s/%s", dev, name) < 0)
                abort();
        tree_write(t, p, val);
        free(p);
}

void tree_add_pci(struct tree *t, const struct fake_pci *f)
{
        char *dev, *link, *target;

        if (asprintf(&dev, "devices/pci0000:00/%s", f->bdf) < 0 ||
            asprintf(&link, "bus/pci/devices/%s", f->bdf) < 0 ||
            asprintf(&target, "../../../devices/pci0000:00/%s", f->bdf) < 0)
                abort();
        tree_write(t, dev, NULL);
        tree_link(t, link, target);
        attr(t, dev, "vendor", f->vendor);
        attr(t, dev, "device", f->device);
        attr(t, dev, "class", f->class_);
        attr(t, dev, "numa_node", f->numa_node);
        attr(t, dev, "sriov_totalvfs", f->sriov_totalvfs);
        attr(t, dev, "sriov_numvfs", f->sriov_numvfs);
        if (f->driver) {
                char *l, *tg;

                if (asprintf(&l, "%s/driver", dev) < 0 || asprintf(&tg, "../../../bus/pci/drivers/%s", f->driver) < 0)
                        abort();
                tree_link(t, l, tg);
                free(l);
                free(tg);
        }
        if (f->iommu_group) {
                char *l, *tg;

                if (asprintf(&l, "%s/iommu_group", dev) < 0 ||
                    asprintf(&tg, "../../../kernel/iommu_groups/%s", f->iommu_group) < 0)
                        abort();
                tree_link(t, l, tg);
                free(l);
                free(tg);
        }
        if (f->physfn) {
                char *l, *tg;

                if (asprintf(&l, "%s/physfn", dev) < 0 || asprintf(&tg, "../%s", f->physfn) < 0)
                        abort();
                tree_link(t, l, tg);
                free(l);
                free(tg);
        }
        free(dev);
        free(link);
        free(target);
}

void tree_add_virtfn(struct tree *t, const char *pf, unsigned n, const char *vf)
{
        char *l, *tg;

        if (asprintf(&l, "devices/pci0000:00/%s/virtfn%u", pf, n) < 0 || asprintf(&tg, "../%s", vf) < 0)
                abort();
        tree_link(t, l, tg);
        free(l);
        free(tg);
}

void tree_add_nvidia_info(struct tree *t, const char *bdf, const char *release)
{
        char *p, *c;

        if (asprintf(&p, "proc/driver/nvidia/gpus/%s/information", bdf) < 0 ||
            asprintf(&c, "Model: \t\t NVIDIA something\nIRQ:   \t\t 41\nGPU Firmware: \t %s\nGPU Excluded:\t No\n",
                     release) < 0)
                abort();
        tree_write(t, p, c);
        free(p);
        free(c);
}
