/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>

#include "nvv-catalog.h"
#include "nvv-mdevtype.h"
#include "nvv-pgpu.h"

size_t nvv_mdevtype_list(const struct nvv_pgpu *g, struct nvv_sysfs_type *ret, size_t cap)
{
        const struct nvv_catalog_gpu *m = g ? nvv_pgpu_get_model(g) : NULL;
        size_t n = 0;

        for (size_t k = 0; m && k < m->n_types && n < cap; k++) {
                const struct nvv_catalog_type *ct = &m->types[k];

                if (nvv_pgpu_why_not(g, ct->type_id, NULL) == NVV_WHY_UNKNOWN_TYPE)
                        continue;
                ret[n].id = ct->type_id;
                snprintf(ret[n].name, sizeof(ret[n].name), "%s", ct->name);
                snprintf(ret[n].description, sizeof(ret[n].description),
                         "num_heads=%u, frl_config=%u, framebuffer=%" PRIu64 "M, max_resolution=%ux%u, max_instance=%u",
                         ct->num_heads, ct->frl, ct->profile_size >> 20, ct->max_res_x, ct->max_res_y, ct->max_instance);
                snprintf(ret[n].device_api, sizeof(ret[n].device_api), "vfio-pci");
                n++;
        }
        return n;
}
