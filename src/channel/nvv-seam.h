/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The few calls that touch the kernel's device files go through here, in their own object,
 * so tests can replace them (-Wl,--wrap=nvv_seam_open, ...) and drive the fwctl transport
 * against a simulated firmware.
 */

/* open(2) with O_CLOEXEC added; returns the fd or -errno. */
int nvv_seam_open(const char *path, int flags);
/* ioctl(2); returns 0 (or the kernel's non-negative result) or -errno. */
int nvv_seam_ioctl(int fd, unsigned long request, void *arg);
