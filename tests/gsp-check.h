/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Test-side checks of the simulated GSP, written from doc/firmware-model.md without looking
 * at how nvv-gsp.c finds things: invariants over the introspected state, and a brute-force
 * prediction of what a create must answer (unit by unit, segment by segment, block by block).
 * Shared by tests/unit/test-gsp.c and tests/fuzz/fuzz-gsp.c.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nvv-gsp.h"

/* Every invariant the firmware must keep. `relaxed`: a non-discard upload replaced a type
 * that has vGPUs, so their sizes may no longer follow the current table; only overlap,
 * bounds and bookkeeping are checked then. 0, or -EUCLEAN with the broken rule in err. */
int gsp_check_invariants(const struct nvv_gsp *g, const struct nvv_gsp_config *cfg, const struct nvv_fwabi *fw,
                         bool relaxed, char *err, size_t errlen);

/* Is `name` a status the release knows? */
bool gsp_check_status_known(const struct nvv_fwabi *fw, const char *name);

struct gsp_expect {
        const char *status;
        uint32_t placement_id; /* NVV_PLACEMENT_NONE for first-fit */
        uint64_t fb_offset, fb_length;
        uint32_t chid_offset, num_chids;
};

/* What creating a vGPU of type_id must answer now: create_device (name set, key_gfid 0) or
 * alloc_host_vgpu on a release without create_device (key_gfid set, name NULL when none,
 * want = requested placement or NVV_PLACEMENT_NONE). false when the state is too large to
 * predict by brute force. */
bool gsp_check_predict_create(const struct nvv_gsp *g, const struct nvv_gsp_config *cfg,
                              const struct nvv_fwabi *fw, uint32_t type_id, const uint8_t *name,
                              uint32_t key_gfid, uint32_t want, struct gsp_expect *ret);
