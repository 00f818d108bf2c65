/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One physical GPU's vGPU partitioning, as the firmware will decide it: a pure model (no I/O)
 * of doc/firmware-model.md §1-5. It holds the uploaded type table, the mode and the vGPUs with
 * their placement, guest FB range, plugin heap and channel block; create() applies the
 * firmware's checks in the firmware's order and picks what the firmware would pick (lowest
 * free placement id, first-fit FB, lowest free channel block). available() counts how many
 * more of a type the firmware would accept now, so it never promises what it would refuse.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "nvv-catalog.h"
#include "nvv-cmd.h"
#include "nvv-fwabi.h"
#include "nvv-fwstatus.h"

#define NVV_PARTITION_NAME_MAX 40
#define NVV_PARTITION_MAX_UNITS 256

/* The create_device checks of doc/firmware-model.md §4, in their order. */
enum nvv_partition_check {
        NVV_CHECK_OK,
        NVV_CHECK_TYPE,          /* 1: the type exists */
        NVV_CHECK_NAME,          /* 2: the name is free */
        NVV_CHECK_SLOTS,         /* 3: vGPUs < min(num_vfs, release max) */
        NVV_CHECK_MAX_INSTANCE,  /* 4: vGPUs of the type < max_instance */
        NVV_CHECK_MODE,          /* 5: equal-size mode holds only this type */
        NVV_CHECK_PLACEMENT,     /* 6: a free placement (or first-fit FB) */
        NVV_CHECK_CHANNELS,      /* 7: a free channel block */
        _NVV_CHECK_MAX,
};
const char *nvv_partition_check_to_string(enum nvv_partition_check c);
enum nvv_fw_status nvv_partition_check_status(enum nvv_partition_check c);

enum nvv_partition_mode {
        NVV_PARTITION_HOMOGENEOUS,      /* equal-size (the default) */
        NVV_PARTITION_HETEROGENEOUS,    /* mixed-size */
        _NVV_PARTITION_MODE_MAX,
        _NVV_PARTITION_MODE_INVALID = -EINVAL,
};
const char *nvv_partition_mode_to_string(enum nvv_partition_mode m);   /* "equal-size" */
enum nvv_partition_mode nvv_partition_mode_from_string(const char *s);

/* doc/firmware-model.md §1. */
struct nvv_partition_geometry {
        uint64_t fb_total;
        uint64_t fb_reserved;
        uint64_t vmmu_segment;
        uint32_t placement_units;
        uint32_t num_vfs;
        uint32_t total_chids;
        uint32_t max_vgpu_per_pgpu;      /* the release's sizing.max_vgpu_per_pgpu */
        uint32_t max_vgpu_types;         /* the release's sizing.max_vgpu_types_per_pgpu */
        bool heterogeneous_timesliced;   /* set_vgpu_mgr_config: mixed sizes may be enabled */
};

/* Geometry of a catalog GPU model under a release and ECC state. */
int nvv_partition_geometry_from_catalog(const struct nvv_catalog_gpu *g, const struct nvv_fwabi *fw,
                                        bool ecc, struct nvv_partition_geometry *ret);

struct nvv_partition_vgpu {
        uint32_t vgpu_id;               /* lowest unused from 1 */
        uint32_t type_id;
        char name[NVV_PARTITION_NAME_MAX];
        uint32_t placement_id;          /* NVV_PLACEMENT_NONE for first-fit types */
        uint32_t placement_size;        /* units; 0 for first-fit */
        uint64_t fb_offset, fb_length;  /* guest FB */
        uint64_t heap_offset, heap_length; /* plugin heap, inside the vGPU's slot */
        uint64_t alloc_offset, alloc_length; /* everything the vGPU holds of the FB */
        uint32_t chid_offset, chid_count;
};

struct nvv_partition;

int nvv_partition_new(const struct nvv_partition_geometry *geo, struct nvv_partition **ret);
struct nvv_partition *nvv_partition_free(struct nvv_partition *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nvv_partition *, nvv_partition_free);
/* An independent copy (the type table is shared, copy-on-write). */
int nvv_partition_clone(const struct nvv_partition *p, struct nvv_partition **ret);
/* Make dst equal to src (same geometry required); cheap, for search and what-if. */
int nvv_partition_assign(struct nvv_partition *dst, const struct nvv_partition *src);

const struct nvv_partition_geometry *nvv_partition_get_geometry(const struct nvv_partition *p);
uint64_t nvv_partition_unit_size(const struct nvv_partition *p);
uint32_t nvv_partition_max_vgpus(const struct nvv_partition *p);

/* doc §2: upload types. 0 or a negative errno with *reterr_status set. */
int nvv_partition_add_types(struct nvv_partition *p, const struct nvv_vgpu_type *types, size_t n,
                            bool discard, enum nvv_fw_status *reterr_status);
size_t nvv_partition_type_count(const struct nvv_partition *p);
const struct nvv_vgpu_type *nvv_partition_find_type(const struct nvv_partition *p, uint32_t type_id);

/* doc §3 */
int nvv_partition_set_heterogeneous_allowed(struct nvv_partition *p, bool allowed);
int nvv_partition_set_mode(struct nvv_partition *p, enum nvv_partition_mode mode,
                           enum nvv_fw_status *reterr_status);
enum nvv_partition_mode nvv_partition_get_mode(const struct nvv_partition *p);

/* doc §4. On failure returns a negative errno (nvv_fw_status_to_errno of the status) and
 * says which check failed. ret may be NULL. */
int nvv_partition_create(struct nvv_partition *p, uint32_t type_id, const char *name,
                         struct nvv_partition_vgpu *ret, enum nvv_partition_check *reterr_check);
/* What create would do, without doing it. */
int nvv_partition_try_create(const struct nvv_partition *p, uint32_t type_id, const char *name,
                             struct nvv_partition_vgpu *ret, enum nvv_partition_check *reterr_check);
/* The same at one placement id (the firmware lets the manager choose it on releases whose
 * allocation carries one); NVV_PLACEMENT_NONE: the lowest free, as above. */
int nvv_partition_try_create_at(const struct nvv_partition *p, uint32_t type_id, const char *name,
                                uint32_t placement_id, struct nvv_partition_vgpu *ret,
                                enum nvv_partition_check *reterr_check);
int nvv_partition_create_at(struct nvv_partition *p, uint32_t type_id, const char *name, uint32_t placement_id,
                            struct nvv_partition_vgpu *ret, enum nvv_partition_check *reterr_check);
/* Take over a vGPU as the firmware already holds it (adopt): name, type, vgpu_id, placement
 * id, guest FB offset and channel block as given (fb_length checked when non-zero; the rest
 * follows from the type), if the firmware's rules allow it beside the others; else -EINVAL
 * saying why. */
int nvv_partition_insert(struct nvv_partition *p, const struct nvv_partition_vgpu *v, char **reterr_msg);
/* doc §5 (the plugin-task check belongs to the lifecycle layer). -ENOENT when unknown. */
int nvv_partition_remove(struct nvv_partition *p, const char *name);

/* How many more vGPUs of the type the firmware would create now, one after another (counted
 * without creating them for types with placement ids). */
unsigned nvv_partition_available(const struct nvv_partition *p, uint32_t type_id);
/* The same by creating them one after another on a scratch copy (slower; the definition, for
 * tests). */
unsigned nvv_partition_available_by_creating(const struct nvv_partition *p, uint32_t type_id);

/* The placement ids a type with placement ids could still be created at: those whose units
 * are all free, if the GPU has a slot, an instance and (equal-size mode) no other type for it;
 * none otherwise. Each covers the type's placement_size units from the id. Returns how many
 * (>= 0), -EOPNOTSUPP for a type placed first-fit in this mode (it may take any free FB),
 * -ENOENT for an unknown type. */
int nvv_partition_free_placements(const struct nvv_partition *p, uint32_t type_id, uint32_t ret[static NVV_MAX_PLACEMENTS]);

size_t nvv_partition_count(const struct nvv_partition *p);
const struct nvv_partition_vgpu *nvv_partition_get(const struct nvv_partition *p, size_t i);
const struct nvv_partition_vgpu *nvv_partition_find(const struct nvv_partition *p, const char *name);
unsigned nvv_partition_count_type(const struct nvv_partition *p, uint32_t type_id);
/* Placement units in use, bytes of FB held. */
uint32_t nvv_partition_used_units(const struct nvv_partition *p);
uint64_t nvv_partition_used_fb(const struct nvv_partition *p);
/* The same GPU before any vGPU: geometry, mode and type table (by content). Partitions that
 * are copies of one share their table; live ones read from separate GPUs compare the records. */
bool nvv_partition_same_config(const struct nvv_partition *a, const struct nvv_partition *b);
/* Equal state (mode, types, vGPUs with their resources; names ignored). */
bool nvv_partition_same_state(const struct nvv_partition *a, const struct nvv_partition *b);

/* Check every invariant (no FB, placement or channel overlap; all inside the GPU; counts and
 * mode respected). 0 or -EUCLEAN with a message. */
int nvv_partition_check_invariants(const struct nvv_partition *p, char **reterr_msg);
