/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's state store (doc/state-store.md): the vGPUs nvvgpud made (so a restart can
 * adopt them) and the persistent definitions (vGPUs to make at boot or when their GPU
 * appears). One file, DIR/state.json, pretty-printed JSON with a format name and a version.
 *
 * Save is crash-safe: a temporary file in the same directory is written, fsync'd, renamed
 * over state.json, and the directory fsync'd; it returns only after that, so a save that
 * returned is never lost, and a kill at any point leaves the old or the new file. Load
 * never guesses: a file it cannot read as a state is kept aside (renamed, never deleted) and
 * an empty state is returned with info.rebuilt, so the daemon rebuilds from firmware and
 * sysfs; a file of a newer version is refused and left alone.
 *
 * One daemon per state directory: the store does not lock (the daemon holds its own lock).
 */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct nvv_pgpu_known;
struct nvv_pgpu_vgpu;

#define NVV_STATE_FILE "state.json"
#define NVV_STATE_FORMAT "nvvgpu-state"
/* 2: the "starting" intent (a version-1 reader would refuse it and rebuild, losing the
 * definitions; it refuses a version-2 file instead, leaving it as it is). */
#define NVV_STATE_VERSION 2
#define NVV_STATE_MAX_FILE_SIZE (16u * 1024u * 1024u)
#define NVV_STATE_MAX_VGPUS 4096
#define NVV_STATE_MAX_DEFINITIONS 4096

#define NVV_STATE_UUID_MAX 37           /* "0b6b1c2e-...": 36 characters + NUL */
#define NVV_STATE_BDF_MAX 13            /* "0000:41:00.0" + NUL */
#define NVV_STATE_TYPE_NAME_MAX 64      /* "L40S-8Q": 63 characters at most */
#define NVV_STATE_VM_NAME_MAX 256       /* 255 printable ASCII characters at most */

enum nvv_state_vgpu_state {
        NVV_STATE_VGPU_CREATED,         /* the firmware holds it; no VM runs on it (gfid 0) */
        NVV_STATE_VGPU_RUNNING,         /* started: gfid and host_handle are its VF's */
        /* Write-ahead intents, saved before the firmware command: a daemon killed between
         * the command and the next save finds them at start and settles them (the create is
         * undone, the destroy finished), so the state and the firmware never drift apart. */
        NVV_STATE_VGPU_CREATING,        /* CREATE_DEVICE about to be sent; vgpu_id is the predicted one */
        NVV_STATE_VGPU_DESTROYING,      /* DELETE_DEVICE about to be sent */
        /* A VM start about to send its first firmware command (the host vGPU device on VF
         * gfid with handle host_handle): a daemon killed before the start's record tears
         * the start down again with that handle, and the vGPU is created, not started. */
        NVV_STATE_VGPU_STARTING,
        _NVV_STATE_VGPU_STATE_MAX,
        _NVV_STATE_VGPU_STATE_INVALID = -EINVAL,
};
const char *nvv_state_vgpu_state_to_string(enum nvv_state_vgpu_state s);        /* "running" */
enum nvv_state_vgpu_state nvv_state_vgpu_state_from_string(const char *s);

/* A vGPU the daemon made, with what adopt needs (struct nvv_pgpu_known). */
struct nvv_state_vgpu {
        char uuid[NVV_STATE_UUID_MAX];          /* lowercase canonical, or a VF's address: the vGPU's name */
        char gpu[NVV_STATE_BDF_MAX];            /* its physical GPU, canonical PCI address */
        char type_name[NVV_STATE_TYPE_NAME_MAX]; /* "L40S-8Q" */
        uint32_t type_id;
        uint32_t vgpu_id;
        uint32_t placement_id;                  /* NVV_PLACEMENT_NONE (UINT32_MAX): first-fit */
        uint64_t fb_offset, fb_length;          /* at most INT64_MAX */
        uint32_t chid_offset, chid_count;
        uint32_t gfid;                          /* 0 unless running or starting */
        uint32_t host_handle;                   /* 0 unless running or starting */
        char vm_name[NVV_STATE_VM_NAME_MAX];    /* "": none */
        char vm_uuid[NVV_STATE_UUID_MAX];       /* "": none */
        bool on_demand;                         /* made for vm_name by its start; its release removes it */
        enum nvv_state_vgpu_state state;
};

/* A vGPU to make at boot or when its GPU appears. */
struct nvv_state_definition {
        char uuid[NVV_STATE_UUID_MAX];
        char type_name[NVV_STATE_TYPE_NAME_MAX];
        char gpu[NVV_STATE_BDF_MAX];            /* "": any GPU of the type's model */
        char vm_name[NVV_STATE_VM_NAME_MAX];    /* "": none */
        bool autostart;
        /* Also written to mdevctl's DIR/GPU/UUID: that file going away is an undefine. */
        bool mdevctl;
};

/* Both lists are kept sorted by uuid (so a saved file does not depend on history). */
struct nvv_state {
        struct nvv_state_vgpu *vgpus;
        size_t n_vgpus;
        struct nvv_state_definition *definitions;
        size_t n_definitions;
};

int nvv_state_new(struct nvv_state **ret);
struct nvv_state *nvv_state_free(struct nvv_state *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_state *, nvv_state_free);

/* Field checks (what add and load apply). */
bool nvv_state_uuid_valid(const char *s);       /* 8-4-4-4-12 lowercase hex */
bool nvv_state_bdf_valid(const char *s);        /* "0000:41:00.0", lowercase */
/* A vGPU's name: its UUID (mdev model), or its VF's address (the VF model, where a VF holds
 * the vGPU and the firmware knows it by that address). */
bool nvv_state_vgpu_name_valid(const char *s);
bool nvv_state_type_name_valid(const char *s);  /* 1..63 of [A-Za-z0-9._-] */
bool nvv_state_vm_name_valid(const char *s);    /* 1..255 printable ASCII characters */

/* Copies in. -EINVAL with a message naming the field for an invalid entry, -EEXIST for a
 * uuid already there, -E2BIG when the list is full. */
int nvv_state_add_vgpu(struct nvv_state *s, const struct nvv_state_vgpu *v, char **reterr_msg);
/* Replace the entry with v's uuid (-ENOENT: none), e.g. when a VM starts or stops. */
int nvv_state_update_vgpu(struct nvv_state *s, const struct nvv_state_vgpu *v, char **reterr_msg);
int nvv_state_remove_vgpu(struct nvv_state *s, const char *uuid);                 /* -ENOENT */
/* Valid until the next add, update or remove; NULL when absent. */
const struct nvv_state_vgpu *nvv_state_find_vgpu(const struct nvv_state *s, const char *uuid);

int nvv_state_add_definition(struct nvv_state *s, const struct nvv_state_definition *d, char **reterr_msg);
int nvv_state_remove_definition(struct nvv_state *s, const char *uuid);           /* -ENOENT */
const struct nvv_state_definition *nvv_state_find_definition(const struct nvv_state *s, const char *uuid);

/* Between the store and the managed GPU: what nvv_pgpu_adopt() takes (the fields the store
 * does not hold are zero; insert derives them), and a record of a vGPU nvv_pgpu made on the
 * GPU at address gpu (host_handle is not in nvv_pgpu_vgpu: the caller sets it). type_name
 * NULL: the catalog type's short name. -EINVAL when the result would not be valid. */
int nvv_state_vgpu_to_known(const struct nvv_state_vgpu *v, struct nvv_pgpu_known *ret);
int nvv_state_vgpu_from_pgpu(const char *gpu, const struct nvv_pgpu_vgpu *pv, const char *type_name,
                             struct nvv_state_vgpu *ret, char **reterr_msg);

/* Create the state directory (mode 0700; its parent must exist) when it does not exist.
 * -ENOTDIR: it is not a directory; -EPERM: it is writable by everyone. */
int nvv_state_dir_prepare(const char *dir, char **reterr_msg);

struct nvv_state_load_info {
        bool missing;                   /* no state file (first start): empty state */
        bool rebuilt;                   /* the file was not a usable state: kept aside, empty state */
        char kept_as[PATH_MAX];         /* rebuilt: where the file is now */
        unsigned temp_removed;          /* temporary files of interrupted saves removed */
};

/*
 * Load DIR/state.json. 0 with a state in every case the daemon can go on from: the file
 * (info.missing and info.rebuilt false), no file (info.missing), or a file that is corrupt,
 * truncated, of the wrong shape or too large (info.rebuilt; *reterr_msg says what was wrong
 * and where the file was moved). Errors, with a message, leave the file where it is:
 * -EPROTONOSUPPORT written by a newer nvvgpu, -EBADFD not a regular file (a FIFO, a
 * device), -EISDIR, -ELOOP a symbolic link, -errno when the directory or file cannot be
 * read or the file cannot be moved aside. ret_info may be NULL.
 */
int nvv_state_load(const char *dir, struct nvv_state **ret, struct nvv_state_load_info *ret_info,
                   char **reterr_msg);

/* Write DIR/state.json crash-safely (see above); removes temporary files of interrupted saves
 * first. On failure the previous file is untouched, except after the rename (the directory
 * fsync failed): then the new file may or may not survive a crash. */
int nvv_state_save(const struct nvv_state *s, const char *dir, char **reterr_msg);
/*
 * The same without the fsyncs, for write-ahead intents: the file is replaced atomically, so a
 * killed process (kill -9, a crash of the daemon) finds the old or the new state; after a
 * power loss or a host crash it may find the old one. An intent needs no more: a host that
 * loses power loses its GPUs' firmware state too, so there is no firmware command left to
 * settle. The test seam sees CLEAN, OPEN, WRITE, RENAME, DONE.
 */
int nvv_state_save_nosync(const struct nvv_state *s, const char *dir, char **reterr_msg);
/* The files an unsynced save replaced keep a second name (DIR/.state.json.old-*) until this
 * removes them: a caller answers first and reaps after. Only those names are touched (a
 * temporary file may be a save in progress); nvv_state_load() removes both kinds. */
int nvv_state_reap(const char *dir, char **reterr_msg);

/* The document itself (load and save are these plus the file handling). name is for
 * messages. parse: -EINVAL with "NAME: key.path: what is wrong", -EPROTONOSUPPORT for a
 * newer version. format: pretty-printed, keys in a fixed order, ending in a newline. */
int nvv_state_parse(const char *data, size_t size, const char *name, struct nvv_state **ret, char **reterr_msg);
int nvv_state_format(const struct nvv_state *s, char **ret_text);

/*
 * Test seam: called before each step of a save (NVV_STATE_SAVE_WRITE before each chunk of
 * at most 4096 bytes) and once after the last. A negative return fails the save at that
 * step as a failing system call would; a test may also kill the process from it. Not for
 * production use; not thread-safe (set it before any save runs).
 */
enum nvv_state_save_step {
        NVV_STATE_SAVE_CLEAN,           /* removing leftover temporary files */
        NVV_STATE_SAVE_OPEN,            /* creating the temporary file */
        NVV_STATE_SAVE_WRITE,
        NVV_STATE_SAVE_FSYNC,
        NVV_STATE_SAVE_RENAME,
        NVV_STATE_SAVE_FSYNC_DIR,
        NVV_STATE_SAVE_DONE,
};
typedef int (*nvv_state_save_hook_t)(enum nvv_state_save_step step, void *userdata);
void nvv_state_set_save_hook(nvv_state_save_hook_t fn, void *userdata);
