/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>

#include "nvv-seam.h"

int nvv_seam_open(const char *path, int flags)
{
        int fd = open(path, flags | O_CLOEXEC | O_NOCTTY);

        return fd < 0 ? -errno : fd;
}

int nvv_seam_ioctl(int fd, unsigned long request, void *arg)
{
        int r;

        do
                r = ioctl(fd, request, arg);
        while (r < 0 && errno == EINTR);
        return r < 0 ? -errno : r;
}
