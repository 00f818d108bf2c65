/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A plan as JSON: the shape `nvvgpuctl plan --json` and nvvgpud's "plan" share (doc/ipc.md). */
#include <errno.h>

#include "nvv-planner.h"

#define MIB (UINT64_C(1) << 20)

static json_object *str_or_null(const char *s)
{
        return s ? json_object_new_string(s) : NULL;
}

json_object *nvv_plan_result_to_json(const struct nvv_pool *pool, const struct nvv_plan_request *reqs,
                                     const struct nvv_plan_result *res)
{
        json_object *o = json_object_new_object(), *placed = json_object_new_array(),
                    *unplaced = json_object_new_array(), *search = json_object_new_object();

        if (!o || !placed || !unplaced || !search) {
                json_object_put(o);
                json_object_put(placed);
                json_object_put(unplaced);
                json_object_put(search);
                return NULL;
        }
        for (size_t i = 0; i < res->n_placed; i++) {
                const struct nvv_plan_placement *p = &res->placed[i];
                const struct nvv_plan_request *q = &reqs[p->request - 1];
                json_object *x = json_object_new_object();

                json_object_object_add(x, "request", json_object_new_int64(p->request));
                json_object_object_add(x, "what", json_object_new_string(q->what));
                json_object_object_add(x, "vm", str_or_null(q->vm));
                json_object_object_add(x, "gpu", json_object_new_string(nvv_pool_get(pool, p->gpu)->name));
                json_object_object_add(x, "type", json_object_new_string(p->type->name));
                json_object_object_add(x, "type_name", json_object_new_string(p->type->short_name));
                json_object_object_add(x, "type_id", json_object_new_int64(p->type->type_id));
                json_object_object_add(x, "placement_id", p->vgpu.placement_id != NVV_PLACEMENT_NONE
                                                                  ? json_object_new_int64(p->vgpu.placement_id)
                                                                  : NULL);
                json_object_object_add(x, "fb_offset_mib", json_object_new_int64((int64_t) (p->vgpu.fb_offset / MIB)));
                json_object_object_add(x, "fb_length_mib", json_object_new_int64((int64_t) (p->vgpu.fb_length / MIB)));
                json_object_object_add(x, "channels", json_object_new_int64(p->vgpu.chid_count));
                json_object_object_add(x, "order", json_object_new_int64(p->order));
                json_object_array_add(placed, x);
        }
        json_object_object_add(o, "placed", placed);
        for (size_t i = 0; i < res->n_unplaced; i++) {
                const struct nvv_plan_unplaced *u = &res->unplaced[i];
                json_object *x = json_object_new_object();

                json_object_object_add(x, "request", json_object_new_int64(u->request));
                json_object_object_add(x, "what", json_object_new_string(reqs[u->request - 1].what));
                json_object_object_add(x, "vm", str_or_null(reqs[u->request - 1].vm));
                json_object_object_add(x, "reason", json_object_new_string(u->reason));
                json_object_array_add(unplaced, x);
        }
        json_object_object_add(o, "unplaced", unplaced);
        json_object_object_add(search, "ran", json_object_new_boolean(res->searched));
        json_object_object_add(search, "complete", json_object_new_boolean(res->complete));
        json_object_object_add(search, "steps", json_object_new_int64((int64_t) res->steps));
        json_object_object_add(o, "search", search);
        return o;
}
