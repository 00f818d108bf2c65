/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * nvvgpu-sim as a library: a host of simulated GPUs (nvv-simgpu), each running a firmware
 * release, optionally served on a socket in the protocol of nvv-simproto.h. Tests and the
 * demo start one in-process; the nvvgpu-sim program is a thin main() around it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "nvv-fwabi.h"
#include "nvv-fwdb.h"
#include "nvv-simgpu.h"

struct nvv_catalog;
struct nvv_sim;

struct nvv_sim_options {
        /* "MODEL[@RELEASE][*COUNT][:mdev|:vf],..." e.g. "L40S@570.144*2:vf,H200@580.159.04";
         * RELEASE defaults to the newest described release; the suffix chooses the sysfs
         * interface (default mdev). RELEASE "upstream" (or "upstream-eio") makes a GPU that
         * offers the upstream vGPU-management interface (nvv-simvmgmt.h) instead of RPCs. */
        const char *gpus;
        /* Or a JSON host file: {"gpus": [{"model", "release", "count", "bdf", "sysfs"}]} */
        const char *gpus_file;
        const char *socket_path;      /* serve here; NULL = in-process only */
        char **fwabi_dirs;            /* searched before the installed descriptions */
        const char *faults;           /* armed at start (nvv-fault.h) */
        const char *catalog_dir;      /* GPU catalog; NULL = installed */
        mode_t socket_mode;           /* 0: 0600 (the simulator's user and root only) */
        bool set_socket_gid;          /* give the socket to socket_gid, whose members may connect too */
        gid_t socket_gid;
        int hello_timeout_ms;         /* a client's first request must come this soon; 0: 5000 */
        int send_timeout_ms;          /* a client that does not read for this long is dropped; 0: 5000 */
        const char *sysfs_mount;      /* mount the simulated sysfs here (FUSE); NULL: none */
        int sysfs_timeout_ms;         /* a sysfs write the manager leaves unanswered fails; 0: 30000 */
};

int nvv_sim_start(const struct nvv_sim_options *o, struct nvv_sim **ret, char **reterr_msg);
struct nvv_sim *nvv_sim_stop(struct nvv_sim *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_sim *, nvv_sim_stop);

size_t nvv_sim_gpu_count(const struct nvv_sim *s);
struct nvv_simgpu *nvv_sim_get_gpu(const struct nvv_sim *s, size_t i);
const struct nvv_fwdb *nvv_sim_get_fwdb(const struct nvv_sim *s);
const struct nvv_catalog *nvv_sim_get_catalog(const struct nvv_sim *s);
/* What the socket server has served since start: connections accepted, HELLOs answered,
 * RPCs taken. */
struct nvv_sim_counters {
        uint64_t connections, hellos, rpcs;
};
void nvv_sim_get_counters(const struct nvv_sim *s, struct nvv_sim_counters *ret);
struct nvv_backend;
/* The simulator's GPUs as an in-process backend (nvv-backend.h): nvv_backend_open_all gives
 * a channel straight onto each GPU's queue. The simulator must outlive those channels. */
int nvv_sim_get_backend(struct nvv_sim *s, struct nvv_backend **ret);
/* The upstream vGPU-management interface of GPU i (a GPU given as MODEL@upstream), or NULL. */
struct nvv_simvmgmt;
struct nvv_simvmgmt *nvv_sim_get_vmgmt(const struct nvv_sim *s, size_t i);
/* The VFIO variant driver's open or close of VF `vf` ("DDDD:BB:DD.F") of an upstream GPU. */
int nvv_sim_vfio(struct nvv_sim *s, const char *vf, bool open, char **reterr_msg);
/* Arm or fire faults at run time (a spec as for --faults; also "vfio:open:BDF" and
 * "vfio:close:BDF", nvv_sim_vfio). */
int nvv_sim_inject(struct nvv_sim *s, const char *spec, char **reterr_msg);
