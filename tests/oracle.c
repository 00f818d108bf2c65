/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"
#include "util.h"

uint64_t nvv_oracle_rand(uint64_t *state)
{
        uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;

        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *state = x;
        return x * 0x2545f4914f6cdd1dull;
}

struct nvv_oracle_script *nvv_oracle_script_free(struct nvv_oracle_script *s)
{
        if (!s)
                return NULL;
        free(s->types);
        free(s->ops);
        free(s);
        return NULL;
}

int nvv_oracle_script_random(const struct nvv_vgpu_type *types, size_t n_types, enum nvv_partition_mode mode,
                             size_t n_ops, uint64_t seed, struct nvv_oracle_script **ret)
{
        _cleanup_(nvv_oracle_script_freep) struct nvv_oracle_script *s = NULL;
        uint64_t st = seed * 2654435761u + 1;
        unsigned next = 0;

        assert_return(types && n_types > 0 && ret, -EINVAL);
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->mode = mode;
        s->types = malloc(n_types * sizeof(*types));
        s->ops = calloc(MAX(n_ops, (size_t) 1), sizeof(*s->ops));
        if (!s->types || !s->ops)
                return -ENOMEM;
        memcpy(s->types, types, n_types * sizeof(*types));
        s->n_types = n_types;
        /* In equal-size mode one type dominates, or nearly everything would be refused. */
        for (size_t i = 0; i < n_ops; i++) {
                struct nvv_oracle_op *op = &s->ops[i];
                uint64_t r = nvv_oracle_rand(&st);

                if (next == 0 || r % 100 < 60) {
                        size_t t = mode == NVV_PARTITION_HOMOGENEOUS && (r >> 8) % 4 != 0 ? (size_t) (seed % n_types)
                                                                                         : (size_t) ((r >> 16) % n_types);

                        op->kind = NVV_ORACLE_CREATE;
                        op->type_id = types[t].type_id;
                        /* Now and then reuse a name: the firmware must refuse it while it lives. */
                        if (next > 0 && (r >> 32) % 25 == 0)
                                snprintf(op->name, sizeof(op->name), "vgpu-%u", (unsigned) ((r >> 40) % next));
                        else
                                snprintf(op->name, sizeof(op->name), "vgpu-%u", next++);
                } else {
                        op->kind = NVV_ORACLE_REMOVE;
                        snprintf(op->name, sizeof(op->name), "vgpu-%u", (unsigned) ((r >> 16) % (next + 1)));
                }
        }
        s->n_ops = n_ops;
        *ret = TAKE_PTR(s);
        return 0;
}

static void verdict_str(const struct nvv_oracle_verdict *v, char buf[static 96])
{
        if (v->status != NVV_FW_OK)
                snprintf(buf, 96, "%s", nvv_fw_status_to_string(v->status) ?: "an unknown status");
        else if (v->placement_id == NVV_PLACEMENT_NONE)
                snprintf(buf, 96, "NV_OK (vgpu_id %" PRIu32 ", no placement)", v->vgpu_id);
        else
                snprintf(buf, 96, "NV_OK (vgpu_id %" PRIu32 ", placement %" PRIu32 ")", v->vgpu_id, v->placement_id);
}

static const char *type_name(const struct nvv_oracle_script *s, uint32_t id)
{
        for (size_t i = 0; i < s->n_types; i++)
                if (s->types[i].type_id == id)
                        return s->types[i].name;
        return "?";
}

int nvv_oracle_replay(const struct nvv_oracle_script *s, const struct nvv_partition_oracle *a,
                      const struct nvv_partition_oracle *b, char **reterr_msg)
{
        struct nvv_oracle_verdict va, vb;
        char sa[96], sb[96];
        int r;

        assert_return(s && a && b, -EINVAL);
        r = a->reset(a->userdata, s->types, s->n_types, s->mode, &va);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s: reset failed: %s", a->name, strerror(-r));
        r = b->reset(b->userdata, s->types, s->n_types, s->mode, &vb);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s: reset failed: %s", b->name, strerror(-r));
        if (va.status != vb.status) /* a reset's verdict is a status only */
                return nvv_fail_errno(-EDOM, reterr_msg, "type upload and mode: %s says %s, %s says %s", a->name,
                                      nvv_fw_status_to_string(va.status) ?: "an unknown status", b->name,
                                      nvv_fw_status_to_string(vb.status) ?: "an unknown status");
        for (size_t i = 0; i < s->n_ops; i++) {
                const struct nvv_oracle_op *op = &s->ops[i];
                const struct nvv_partition_oracle *o[2] = { a, b };
                struct nvv_oracle_verdict *v[2] = { &va, &vb };

                for (int k = 0; k < 2; k++) {
                        *v[k] = (struct nvv_oracle_verdict) { .placement_id = NVV_PLACEMENT_NONE };
                        r = op->kind == NVV_ORACLE_CREATE ? o[k]->create(o[k]->userdata, op->type_id, op->name, v[k])
                                                          : o[k]->remove(o[k]->userdata, op->name, v[k]);
                        if (r < 0)
                                return nvv_fail_errno(r, reterr_msg, "op %zu: %s did not answer: %s", i + 1,
                                                      o[k]->name, strerror(-r));
                }
                if (va.status != vb.status ||
                    (op->kind == NVV_ORACLE_CREATE && va.status == NVV_FW_OK &&
                     (va.vgpu_id != vb.vgpu_id || va.placement_id != vb.placement_id))) {
                        verdict_str(&va, sa);
                        verdict_str(&vb, sb);
                        if (op->kind == NVV_ORACLE_CREATE)
                                return nvv_fail_errno(-EDOM, reterr_msg, "op %zu (create %s '%s'): %s says %s, %s says %s", i + 1,
                                                type_name(s, op->type_id), op->name, a->name, sa, b->name, sb);
                        return nvv_fail_errno(-EDOM, reterr_msg, "op %zu (delete '%s'): %s says %s, %s says %s", i + 1, op->name,
                                        a->name, sa, b->name, sb);
                }
        }
        return 0;
}

/* ---- the partitioner as an oracle ---- */

struct part_oracle {
        struct nvv_partition_oracle o;
        struct nvv_partition_geometry geo;
        struct nvv_partition *part;
};

static int po_reset(void *ud, const struct nvv_vgpu_type *types, size_t n, enum nvv_partition_mode mode,
                    struct nvv_oracle_verdict *ret)
{
        struct part_oracle *po = ud;
        enum nvv_fw_status st = NVV_FW_OK;
        int r;

        po->part = nvv_partition_free(po->part);
        r = nvv_partition_new(&po->geo, &po->part);
        if (r < 0)
                return r;
        ret->status = NVV_FW_OK;
        if (nvv_partition_add_types(po->part, types, n, true, &st) < 0 ||
            nvv_partition_set_mode(po->part, mode, &st) < 0)
                ret->status = st;
        return 0;
}

static int po_create(void *ud, uint32_t type_id, const char *name, struct nvv_oracle_verdict *ret)
{
        struct part_oracle *po = ud;
        struct nvv_partition_vgpu v;
        enum nvv_partition_check check = NVV_CHECK_OK;

        if (nvv_partition_create(po->part, type_id, name, &v, &check) < 0) {
                ret->status = nvv_partition_check_status(check);
                return 0;
        }
        ret->status = NVV_FW_OK;
        ret->vgpu_id = v.vgpu_id;
        ret->placement_id = v.placement_id;
        return 0;
}

static int po_remove(void *ud, const char *name, struct nvv_oracle_verdict *ret)
{
        struct part_oracle *po = ud;

        ret->status = nvv_partition_remove(po->part, name) < 0 ? NVV_FW_OBJECT_NOT_FOUND : NVV_FW_OK;
        return 0;
}

int nvv_oracle_partition_new(const struct nvv_partition_geometry *geo, struct nvv_partition_oracle **ret)
{
        struct part_oracle *po;

        assert_return(geo && ret, -EINVAL);
        po = calloc(1, sizeof(*po));
        if (!po)
                return -ENOMEM;
        po->geo = *geo;
        po->o = (struct nvv_partition_oracle) {
                .name = "partitioner", .userdata = po, .reset = po_reset, .create = po_create, .remove = po_remove,
        };
        *ret = &po->o;
        return 0;
}

struct nvv_partition_oracle *nvv_oracle_partition_free(struct nvv_partition_oracle *o)
{
        struct part_oracle *po;

        if (!o)
                return NULL;
        po = o->userdata;
        nvv_partition_free(po->part);
        free(po);
        return NULL;
}

const struct nvv_partition *nvv_oracle_partition_get(const struct nvv_partition_oracle *o)
{
        return o ? ((const struct part_oracle *) o->userdata)->part : NULL;
}
