/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The managed GPU's vGPUs: create and delete with the model kept in step with the firmware,
 * adopt, and the VM start and stop sequences of DESIGN.md §4.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "nvv-marshal.h"
#include "nvv-pgpu-internal.h"
#include "util.h"

static const char *type_label(const struct nvv_pgpu *g, uint32_t type_id, char buf[static 32])
{
        const struct nvv_catalog_type *t = pgpu_catalog_type(g, type_id);

        if (t)
                return t->short_name;
        snprintf(buf, 32, "type %" PRIu32, type_id);
        return buf;
}

static const char *placement_label(uint32_t id, char buf[static 16])
{
        if (id == NVV_PLACEMENT_NONE)
                return "none";
        snprintf(buf, 16, "%" PRIu32, id);
        return buf;
}

static int ready_or_fail(struct nvv_pgpu *g, char **reterr_msg)
{
        if (g->state == NVV_PGPU_READY)
                return 0;
        return nvv_fail_errno(-ENODEV, reterr_msg, "GPU %s is %s%s%s", g->name, nvv_pgpu_state_to_string(g->state),
                              g->error ? ": " : "", g->error ? g->error : " (not brought up)");
}

/* The wire value for "no placement" where the allocation carries one. */
static uint32_t wire_placement(const struct nvv_pgpu *g, uint32_t id)
{
        return id == NVV_PLACEMENT_NONE ? g->fw->sizing.placement_id_invalid : id;
}

static bool alloc_carries_placement(const struct nvv_pgpu *g)
{
        const struct nvv_binding *b = nvv_fwabi_command(g->fw, NVV_CMD_ALLOC_HOST_VGPU);

        return b && b->plan && nvv_wplan_has_field(b->plan, "placement_id");
}

/* Best effort, for undoing a create the model did not expect. */
static void undo_create(struct nvv_pgpu *g, const uint8_t fw_name[16], uint32_t vgpu_id)
{
        struct nvv_cmd_delete_device dd = { .vgpu_id = vgpu_id };
        _cleanup_free_ char *msg = NULL;

        memcpy(dd.vgpu_name, fw_name, 16);
        if (pgpu_call(g, "undo (delete_device)", NVV_CMD_DELETE_DEVICE, &dd, 0, NULL, NULL, NULL, &msg) < 0)
                log_debug("%s", msg);
}

static void add_rec(struct nvv_pgpu *g, const struct nvv_partition_vgpu *place, const uint8_t fw_name[16],
                    uint32_t vgpu_id, struct nvv_pgpu_vgpu *ret)
{
        struct vgpu_rec *v = &g->vgpus[g->n++];

        *v = (struct vgpu_rec) {};
        snprintf(v->pub.name, sizeof(v->pub.name), "%s", place->name);
        v->pub.type_id = place->type_id;
        v->pub.type = pgpu_catalog_type(g, place->type_id);
        v->pub.state = NVV_VGPU_CREATED;
        v->pub.place = *place;
        v->pub.vgpu_id = vgpu_id;
        memcpy(v->fw_name, fw_name, 16);
        if (ret)
                *ret = v->pub;
}

int nvv_pgpu_create_vgpu(struct nvv_pgpu *g, uint32_t type_id, uint32_t placement_id, const char *name,
                         struct nvv_pgpu_vgpu *ret, struct nvv_pgpu_outcome *outcome, char **reterr_msg)
{
        struct nvv_pgpu_outcome oc = { .predicted = NVV_CHECK_OK };
        struct nvv_cmd_create_device cd = { .type_id = type_id };
        struct nvv_partition_vgpu pred = {}, lowest;
        enum nvv_partition_check check = NVV_CHECK_OK;
        _cleanup_free_ char *msg = NULL;
        enum nvv_fw_status fw;
        uint8_t fw_name[16];
        char tbuf[32], pbuf[16], pbuf2[16];
        const char *tl;
        int pr, r;

        assert_return(g, -EINVAL);
        if (outcome)
                *outcome = oc;
        if (pgpu_fw_name(name, fw_name) < 0)
                return nvv_fail_errno(-EINVAL, reterr_msg,
                                      "'%s' is not a vGPU name: a UUID, or up to 16 printable characters",
                                      name ? name : "");
        if (g->vm)
                return pgpu_up_create(g, type_id, placement_id, name, fw_name, ret, outcome, reterr_msg);
        tl = type_label(g, type_id, tbuf);
        PGPU_LOCK(op, &g->op_lock);
        {
                PGPU_LOCK(l, &g->state_lock);

                r = ready_or_fail(g, reterr_msg);
                if (r < 0)
                        return r;
                pr = nvv_partition_try_create_at(g->part, type_id, name, placement_id, &pred, &check);
                oc.predicted = pr < 0 ? check : NVV_CHECK_OK;
                if (pr >= 0 && placement_id != NVV_PLACEMENT_NONE && pgpu_has(g, NVV_CMD_CREATE_DEVICE) &&
                    nvv_partition_try_create(g->part, type_id, name, &lowest, NULL) >= 0 &&
                    lowest.placement_id != placement_id)
                        return nvv_fail_errno(-EOPNOTSUPP, reterr_msg,
                                              "GPU %s: firmware %s places vGPUs itself (the lowest free placement, %s "
                                              "for %s); placement %s cannot be asked for",
                                              g->name, g->fw->release, placement_label(lowest.placement_id, pbuf), tl,
                                              placement_label(placement_id, pbuf2));
        }
        if (outcome)
                *outcome = oc;

        if (!pgpu_has(g, NVV_CMD_CREATE_DEVICE)) {
                /* 535/550: the firmware makes the vGPU when its VM starts (the allocation);
                 * until then the model's reservation is the vGPU. */
                if (placement_id != NVV_PLACEMENT_NONE && !alloc_carries_placement(g))
                        return nvv_fail_errno(-EOPNOTSUPP, reterr_msg,
                                              "GPU %s: firmware %s has no placements to ask for", g->name,
                                              g->fw->release);
                if (pr < 0)
                        return nvv_fail_errno(nvv_fw_status_to_errno(nvv_partition_check_status(check)), reterr_msg,
                                              "cannot create %s on GPU %s: %s", tl, g->name,
                                              nvv_partition_check_to_string(check));
                {
                        PGPU_LOCK(l, &g->state_lock);
                        r = nvv_partition_create_at(g->part, type_id, name, pred.placement_id, &pred, NULL);
                        if (r < 0)
                                return r;
                        add_rec(g, &pred, fw_name, 0, ret);
                }
                return 0;
        }

        memcpy(cd.vgpu_name, fw_name, 16);
        cd.gpu_pci_id = g->pci_id;
        cd.gpu_pci_bdf = g->pci_bdf;
        r = pgpu_call(g, "create_device", NVV_CMD_CREATE_DEVICE, &cd, 0, NULL, &fw, &oc.fw_status, &msg);
        oc.sent = true;
        oc.status = r >= 0 ? NVV_FW_OK : fw;
        if (r >= 0 && (pr < 0 || cd.vgpu_id != pred.vgpu_id || cd.placement_id != pred.placement_id)) {
                oc.disagreement = true;
                if (outcome)
                        *outcome = oc;
                undo_create(g, fw_name, cd.vgpu_id);
                if (pr < 0)
                        return nvv_fail_errno(-EPROTO, reterr_msg,
                                              "create_device of %s on GPU %s: the firmware accepted it (vGPU %u, "
                                              "placement %s), the model predicted a refusal (%s); undone",
                                              tl, g->name, cd.vgpu_id, placement_label(cd.placement_id, pbuf),
                                              nvv_partition_check_to_string(check));
                return nvv_fail_errno(-EPROTO, reterr_msg,
                                      "create_device of %s on GPU %s: the firmware gave vGPU %u at placement %s, the "
                                      "model predicted vGPU %u at placement %s; undone",
                                      tl, g->name, cd.vgpu_id, placement_label(cd.placement_id, pbuf), pred.vgpu_id,
                                      placement_label(pred.placement_id, pbuf2));
        }
        if (r < 0) {
                if (fw == NVV_FW_OK) {
                        /* No verdict (a timeout, a bad reply): the firmware may hold it anyway. */
                        if (pr >= 0)
                                undo_create(g, fw_name, pred.vgpu_id);
                } else if (pr >= 0 || fw != nvv_partition_check_status(check)) {
                        oc.disagreement = true;
                        if (outcome)
                                *outcome = oc;
                        return nvv_fail_errno(r, reterr_msg, "%s; the model predicted %s", msg,
                                              pr >= 0 ? "success" : nvv_partition_check_to_string(check));
                }
                if (outcome)
                        *outcome = oc;
                if (pr < 0 && fw != NVV_FW_OK)
                        return nvv_fail_errno(r, reterr_msg, "cannot create %s on GPU %s: %s (%s)", tl, g->name,
                                              nvv_partition_check_to_string(check), nvv_fw_status_to_string(fw));
                return nvv_fail_errno(r, reterr_msg, "%s", msg);
        }
        if (outcome)
                *outcome = oc;
        {
                PGPU_LOCK(l, &g->state_lock);
                r = nvv_partition_create_at(g->part, type_id, name, pred.placement_id, &pred, NULL);
                if (r < 0) /* cannot happen: op_lock held since the prediction */
                        return nvv_fail_errno(r, reterr_msg, "GPU %s: the model lost its prediction", g->name);
                add_rec(g, &pred, fw_name, cd.vgpu_id, ret);
        }
        return 0;
}

int nvv_pgpu_discard_vgpu(struct nvv_pgpu *g, const char *name, bool *ret_found, char **reterr_msg)
{
        struct nvv_cmd_delete_device dd = {};
        bool used[NVV_MAX_VGPUS + 1] = {};
        uint8_t fw_name[16];

        assert_return(g, -EINVAL);
        if (ret_found)
                *ret_found = false;
        if (pgpu_fw_name(name, fw_name) < 0)
                return nvv_fail_errno(-EINVAL, reterr_msg, "'%s' is not a vGPU name", name ? name : "");
        if (g->vm) /* an assign whose answer was lost is found by adopt (query_assigned) */
                return 0;
        PGPU_LOCK(op, &g->op_lock);
        {
                PGPU_LOCK(l, &g->state_lock);

                if (pgpu_find(g, name))
                        return nvv_fail_errno(-EBUSY, reterr_msg, "GPU %s: vGPU %s is one the model holds; delete it instead",
                                              g->name, name);
                for (size_t i = 0; i < g->n; i++)
                        if (g->vgpus[i].pub.vgpu_id <= NVV_MAX_VGPUS)
                                used[g->vgpus[i].pub.vgpu_id] = true;
        }
        /* 535/550 make vGPUs only when their VM starts: an interrupted create left nothing. */
        if (!pgpu_has(g, NVV_CMD_DELETE_DEVICE) || !pgpu_has(g, NVV_CMD_CREATE_DEVICE))
                return 0;
        memcpy(dd.vgpu_name, fw_name, 16);
        /* The firmware deletes by name and id; the id the lost create got is not known, so
         * every id no known vGPU holds is tried. */
        for (uint32_t id = 1; id <= NVV_MAX_VGPUS; id++) {
                _cleanup_free_ char *msg = NULL;
                enum nvv_fw_status st = NVV_FW_OK;
                int r;

                if (used[id])
                        continue;
                dd.vgpu_id = id;
                r = pgpu_call(g, "discard (delete_device)", NVV_CMD_DELETE_DEVICE, &dd, 0, NULL, &st, NULL, &msg);
                if (r >= 0) {
                        if (ret_found)
                                *ret_found = true;
                        return 0;
                }
                if (st != NVV_FW_OBJECT_NOT_FOUND)
                        return nvv_fail_errno(r, reterr_msg, "%s", msg ? msg : "delete_device failed");
        }
        return 0;
}

int nvv_pgpu_delete_vgpu(struct nvv_pgpu *g, const char *name, struct nvv_pgpu_outcome *outcome, char **reterr_msg)
{
        struct nvv_pgpu_outcome oc = { .predicted = NVV_CHECK_OK };
        struct nvv_cmd_delete_device dd = {};
        _cleanup_free_ char *msg = NULL;
        enum nvv_fw_status fw;
        struct vgpu_rec *v;
        bool lost;
        int r;

        assert_return(g && name, -EINVAL);
        if (outcome)
                *outcome = oc;
        if (g->vm)
                return pgpu_up_delete(g, name, outcome, reterr_msg);
        PGPU_LOCK(op, &g->op_lock);
        {
                PGPU_LOCK(l, &g->state_lock);

                v = pgpu_find(g, name);
                if (!v)
                        return nvv_fail_errno(-ENOENT, reterr_msg, "GPU %s has no vGPU %s", g->name, name);
                if (v->pub.state == NVV_VGPU_RUNNING || v->pub.state == NVV_VGPU_CRASHED)
                        return nvv_fail_errno(-EBUSY, reterr_msg, "vGPU %s on GPU %s is started (VF gfid %u); stop its VM first",
                                              name, g->name, v->pub.gfid);
                lost = v->pub.state == NVV_VGPU_LOST;
                memcpy(dd.vgpu_name, v->fw_name, 16);
                dd.vgpu_id = v->pub.vgpu_id;
        }
        /* A vGPU the GSP lost on reset, or one only the model holds (535/550), needs no command. */
        if (!lost && pgpu_has(g, NVV_CMD_DELETE_DEVICE)) {
                r = pgpu_call(g, "delete_device", NVV_CMD_DELETE_DEVICE, &dd, 0, NULL, &fw, &oc.fw_status, &msg);
                oc.sent = true;
                oc.status = r >= 0 ? NVV_FW_OK : fw;
                oc.disagreement = r < 0 && fw != NVV_FW_OK;
                if (outcome)
                        *outcome = oc;
                if (r < 0)
                        return nvv_fail_errno(r, reterr_msg, "%s%s", msg,
                                              oc.disagreement ? "; the model holds it and predicted success" : "");
        }
        {
                PGPU_LOCK(l, &g->state_lock);

                v = pgpu_find(g, name);
                (void) nvv_partition_remove(g->part, name);
                if (v)
                        pgpu_remove(g, v);
        }
        return 0;
}

/* ---- VM start and stop ---- */

static uint32_t alloc_parent(const struct nvv_pgpu *g)
{
        const struct nvv_binding *b = nvv_fwabi_command(g->fw, NVV_CMD_ALLOC_HOST_VGPU);
        const struct nvv_handles *h = &nvv_channel_get_info(g->ch)->handles;

        if (b && b->alloc && b->alloc->parent == NVV_OBJ_SUBDEVICE)
                return h->subdevice;
        return h->device;
}

/* A refusal that says the host vGPU device is not there (freed before, or never made). */
static bool refused_as_gone(const struct nvv_pgpu *g, enum nvv_fw_status st, uint32_t raw)
{
        const struct nvv_status *s = raw ? nvv_fwabi_status(g->fw, raw) : NULL;

        return st == NVV_FW_OBJECT_NOT_FOUND || (s && streq(s->name, "NV_ERR_INVALID_OBJECT_HANDLE"));
}

/*
 * The tear-down half of the VM sequence, from wherever start got to. Every step runs; the
 * first error is kept. uncertain: the last step went unanswered, so the firmware may or may
 * not have carried it out; the steps that undo it then tolerate finding nothing to undo.
 * Without it, a step refused as if done already (INVALID_STATE, or the device not found: a
 * stop cut short by a kill, repeated) counts only when the host vGPU device is not freed in
 * the end either: a stop is idempotent, as release must be (DESIGN.md).
 */
static int tear_down(struct nvv_pgpu *g, uint32_t gfid, uint32_t handle, bool plugin, bool uncertain, char **msg)
{
        const struct nvv_channel_info *info = nvv_channel_get_info(g->ch);
        struct nvv_handles target = { .host_vgpu_device = handle };
        struct nvv_cmd_gfid gf = { .gfid = gfid };
        struct nvv_cmd_free_states fs = { .gfid = gfid };
        struct nvv_cmd_free_object fo = { .client = info->handles.client, .parent = alloc_parent(g), .object = handle };
        _cleanup_free_ char *done_msg = NULL;
        enum nvv_fw_status st;
        uint32_t raw;
        char *err = NULL;
        int first = 0, done = 0, r;
        bool gone = false;

#define STEP(call, last)                                                                        \
        do {                                                                                    \
                st = NVV_FW_OK;                                                                 \
                raw = 0;                                                                        \
                r = (call);                                                                     \
                if (r < 0 && (last) && st != NVV_FW_OK && refused_as_gone(g, st, raw))          \
                        gone = true;                                                            \
                else if (r >= 0 && (last))                                                      \
                        gone = true;                                                            \
                else if (r < 0 && uncertain && st != NVV_FW_OK) {                               \
                } else if (r < 0 && !(last) &&                                                  \
                           (st == NVV_FW_INVALID_STATE || st == NVV_FW_OBJECT_NOT_FOUND)) {     \
                        if (done == 0) {                                                        \
                                done = r;                                                       \
                                done_msg = TAKE_PTR(err);                                       \
                        }                                                                       \
                } else if (r < 0 && first == 0) {                                               \
                        first = r;                                                              \
                        *msg = TAKE_PTR(err);                                                   \
                }                                                                               \
                free(err);                                                                      \
                err = NULL;                                                                     \
        } while (0)

        if (plugin) {
                STEP(pgpu_call(g, "shutdown_plugin", NVV_CMD_SHUTDOWN_PLUGIN, &gf, gfid, &target, &st, &raw, &err), false);
                STEP(pgpu_call(g, "cleanup_plugin", NVV_CMD_CLEANUP_PLUGIN, &gf, gfid, &target, &st, &raw, &err), false);
                if (pgpu_has(g, NVV_CMD_FREE_STATES))
                        STEP(pgpu_call(g, "free_states", NVV_CMD_FREE_STATES, &fs, gfid, &target, &st, &raw, &err), false);
        }
        STEP(pgpu_call(g, "free (host vGPU device)", NVV_CMD_FREE_OBJECT, &fo, gfid, NULL, &st, &raw, &err), true);
#undef STEP
        /* A refusal as if done counts when the device is not gone after all. */
        if (first == 0 && done < 0 && !gone) {
                first = done;
                *msg = TAKE_PTR(done_msg);
        }
        return first;
}

/*
 * 535/550 make the vGPU in the firmware only at its VM start, where the firmware places it
 * among the vGPUs it holds then (the started ones). Predict that, and lay the other
 * reservations out again after it; if one of them no longer fits, the start is refused.
 */
static int place_at_start(struct nvv_pgpu *g, struct vgpu_rec *v, struct nvv_partition_vgpu *ret, char **reterr_msg)
{
        _cleanup_(nvv_partition_freep) struct nvv_partition *fw = NULL;
        struct nvv_partition_vgpu pred, old = v->pub.place;
        enum nvv_partition_check check;
        bool carries = alloc_carries_placement(g);
        char tbuf[32];
        int r;

        r = nvv_partition_clone(g->part, &fw);
        if (r < 0)
                return r;
        for (size_t i = 0; i < g->n; i++)
                if (g->vgpus[i].pub.state == NVV_VGPU_CREATED || g->vgpus[i].pub.state == NVV_VGPU_LOST)
                        (void) nvv_partition_remove(fw, g->vgpus[i].pub.name);
        r = nvv_partition_create_at(fw, old.type_id, old.name, carries ? old.placement_id : NVV_PLACEMENT_NONE, &pred,
                                    &check);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "VM start of vGPU %s: firmware %s on GPU %s would refuse it: %s",
                                      old.name, g->fw->release, g->name, nvv_partition_check_to_string(check));
        for (size_t i = 0; i < g->n; i++) {
                const struct nvv_pgpu_vgpu *o = &g->vgpus[i].pub;

                if (&g->vgpus[i] == v || (o->state != NVV_VGPU_CREATED && o->state != NVV_VGPU_LOST))
                        continue;
                r = nvv_partition_create_at(fw, o->type_id, o->name, carries ? o->place.placement_id : NVV_PLACEMENT_NONE,
                                            NULL, &check);
                if (r < 0)
                        return nvv_fail_errno(-ENOSPC, reterr_msg,
                                              "VM start of vGPU %s (%s): firmware %s would place it so that vGPU %s, "
                                              "reserved on GPU %s, no longer fits (%s)",
                                              old.name, type_label(g, old.type_id, tbuf), g->fw->release, o->name,
                                              g->name, nvv_partition_check_to_string(check));
        }
        /* The new layout is the model; every reservation takes its new place. */
        nvv_partition_free(g->part);
        g->part = TAKE_PTR(fw);
        for (size_t i = 0; i < g->n; i++) {
                const struct nvv_partition_vgpu *p = nvv_partition_find(g->part, g->vgpus[i].pub.name);

                if (p)
                        g->vgpus[i].pub.place = *p;
        }
        *ret = v->pub.place;
        return 0;
}

int nvv_pgpu_vm_start(struct nvv_pgpu *g, const char *name, const struct nvv_pgpu_vm_params *params,
                      struct nvv_pgpu_vgpu *ret, char **reterr_msg)
{
        static const struct nvv_pgpu_vm_params none = {};
        _cleanup_free_ struct nvv_cmd_alloc_host_vgpu *al = calloc(1, sizeof(*al));
        _cleanup_free_ struct nvv_cmd_bootload_plugin *bl = calloc(1, sizeof(*bl));
        struct nvv_partition_vgpu place;
        struct nvv_handles target = {};
        _cleanup_free_ char *msg = NULL;
        uint8_t fw_name[16];
        uint32_t gfid, handle, type_id, num_vfs;
        const struct nvv_vgpu_type *t;
        struct vgpu_rec *v;
        bool booted = false, uncertain = false;
        enum nvv_fw_status st = NVV_FW_OK;
        int r;

        assert_return(g && name, -EINVAL);
        if (!al || !bl)
                return -ENOMEM;
        if (!params)
                params = &none;
        if (g->vm)
                return pgpu_up_vm_start(g, name, params, ret, reterr_msg);
        PGPU_LOCK(op, &g->op_lock);
        {
                PGPU_LOCK(l, &g->state_lock);

                r = ready_or_fail(g, reterr_msg);
                if (r < 0)
                        return r;
                v = pgpu_find(g, name);
                if (!v)
                        return nvv_fail_errno(-ENOENT, reterr_msg, "GPU %s has no vGPU %s", g->name, name);
                if (v->pub.state != NVV_VGPU_CREATED)
                        return nvv_fail_errno(v->pub.state == NVV_VGPU_RUNNING ? -EALREADY : -EBUSY, reterr_msg,
                                              "vGPU %s on GPU %s is %s", name, g->name,
                                              nvv_vgpu_state_to_string(v->pub.state));
                num_vfs = MIN(nvv_partition_get_geometry(g->part)->num_vfs, (uint32_t) NVV_MAX_VGPUS);
                gfid = params->gfid;
                for (uint32_t c = 1; gfid == 0 && c <= num_vfs; c++) {
                        bool used = false;

                        for (size_t i = 0; i < g->n && !used; i++)
                                used = g->vgpus[i].pub.gfid == c;
                        if (!used)
                                gfid = c;
                }
                if (gfid == 0 || gfid > num_vfs)
                        return nvv_fail_errno(-ENOSPC, reterr_msg, "GPU %s: no free VF for vGPU %s", g->name, name);
                for (size_t i = 0; i < g->n; i++)
                        if (g->vgpus[i].pub.gfid == gfid)
                                return nvv_fail_errno(-EBUSY, reterr_msg, "GPU %s: VF gfid %u is vGPU %s's", g->name,
                                                      gfid, g->vgpus[i].pub.name);
                place = v->pub.place;
                type_id = v->pub.type_id;
                if (!pgpu_has(g, NVV_CMD_CREATE_DEVICE)) {
                        r = place_at_start(g, v, &place, reterr_msg);
                        if (r < 0)
                                return r;
                }
                memcpy(fw_name, v->fw_name, 16);
                /* Handles are the manager's to choose; a fresh one each start, so a late
                 * answer about an earlier one can never be taken for this one. */
                handle = UINT32_C(0xa0840000) | (g->next_handle++ & 0xffff);
                t = nvv_partition_find_type(g->part, type_id);
        }
        target.host_vgpu_device = handle;
        target.new_object = handle;
        if (params->intent) {
                r = params->intent(params->userdata, name, gfid, handle, &msg);
                if (r < 0)
                        return nvv_fail_errno(r, reterr_msg, "VM start of vGPU %s on GPU %s refused: %s", name, g->name,
                                              msg ? msg : strerror(-r));
        }

        /* 1: the host vGPU device on the VF (535/550: this creates the vGPU in the firmware). */
        al->gfid = gfid;
        al->type_id = type_id;
        al->vm_pid = params->vm_pid;
        al->dbdf = g->pci_bdf;
        al->num_channels = place.chid_count;
        al->placement_id = alloc_carries_placement(g) ? wire_placement(g, place.placement_id) : 0;
        memcpy(al->vgpu_dev_name, fw_name, 16);
        memcpy(al->guest_vm_id, params->vm_uuid, 16);
        r = pgpu_call(g, "VM start: alloc_host_vgpu", NVV_CMD_ALLOC_HOST_VGPU, al, gfid, &target, &st, NULL, &msg);
        if (r < 0 && st != NVV_FW_OK)
                goto fail_none; /* refused: nothing was allocated */
        if (r < 0) {
                uncertain = true; /* no answer: it may be allocated all the same */
                goto fail;
        }

        /* 2: the plugin, with the resources the model placed. */
        bl->gfid = gfid;
        bl->type_id = type_id;
        bl->vm_pid = params->vm_pid;
        bl->dbdf = g->pci_bdf;
        bl->num_channels = place.chid_count;
        bl->chid_offset[0] = place.chid_offset;
        bl->fb_segment_count = 1;
        /* A first-fit vGPU (no placement) holds its whole allocation as guest FB segments. */
        bl->fb_segment_addr[0] = place.fb_offset;
        bl->fb_segment_len[0] = place.placement_id == NVV_PLACEMENT_NONE ? place.alloc_length : place.fb_length;
        bl->plugin_heap_addr = place.heap_offset;
        bl->plugin_heap_len = MAX(MAX(place.heap_length, t ? t->gsp_heap_size : 0), (uint64_t) 1);
        r = pgpu_call(g, "VM start: bootload_plugin", NVV_CMD_BOOTLOAD_PLUGIN, bl, gfid, &target, &st, NULL, &msg);
        if (r < 0) {
                /* Unanswered, the plugin may be running: undo it as if it were. */
                uncertain = booted = st == NVV_FW_OK;
                goto fail;
        }
        booted = true;

        /* 3, 4: where the release has them. */
        if (pgpu_has(g, NVV_CMD_SET_PLACEMENT_ID)) {
                struct nvv_cmd_set_placement_id sp = { .num_channels = place.chid_count,
                                                       .placement_id = wire_placement(g, place.placement_id) };

                r = pgpu_call(g, "VM start: set_placement_id", NVV_CMD_SET_PLACEMENT_ID, &sp, gfid, &target, &st,
                              NULL, &msg);
                if (r < 0) {
                        uncertain = st == NVV_FW_OK;
                        goto fail;
                }
        }
        if (pgpu_has(g, NVV_CMD_SET_GUEST_LIFECYCLE)) {
                struct nvv_cmd_set_guest_lifecycle gl = { .state = NVV_GUEST_CREATED };

                r = pgpu_call(g, "VM start: set_guest_lifecycle", NVV_CMD_SET_GUEST_LIFECYCLE, &gl, gfid, &target,
                              &st, NULL, &msg);
                if (r < 0) {
                        uncertain = st == NVV_FW_OK;
                        goto fail;
                }
        }
        {
                PGPU_LOCK(l, &g->state_lock);

                v = pgpu_find(g, name);
                if (v) {
                        v->pub.state = NVV_VGPU_RUNNING;
                        v->pub.paused = false;
                        v->pub.resets = 0;
                        v->pub.gfid = gfid;
                        v->pub.vm_pid = params->vm_pid;
                        v->host_handle = handle;
                        if (ret)
                                *ret = v->pub;
                }
        }
        return 0;

fail:
        {
                _cleanup_free_ char *undo = NULL;

                if (tear_down(g, gfid, handle, booted, uncertain, &undo) < 0)
                        return nvv_fail_errno(r, reterr_msg, "%s; undoing it failed too: %s", msg, undo);
        }
fail_none:
        return nvv_fail_errno(r, reterr_msg, "%s", msg);
}

int nvv_pgpu_vm_stop(struct nvv_pgpu *g, const char *name, char **reterr_msg)
{
        _cleanup_free_ char *msg = NULL;
        uint32_t gfid, handle;
        struct vgpu_rec *v;
        int r;

        assert_return(g && name, -EINVAL);
        if (g->vm)
                return pgpu_up_vm_stop(g, name, reterr_msg);
        PGPU_LOCK(op, &g->op_lock);
        {
                PGPU_LOCK(l, &g->state_lock);

                v = pgpu_find(g, name);
                if (!v)
                        return nvv_fail_errno(-ENOENT, reterr_msg, "GPU %s has no vGPU %s", g->name, name);
                if (v->pub.state == NVV_VGPU_LOST) {
                        /* The GSP reset: nothing of it is left in the firmware to stop. */
                        v->pub.gfid = 0;
                        return 0;
                }
                if (v->pub.state == NVV_VGPU_CREATED)
                        return 0;
                gfid = v->pub.gfid;
                handle = v->host_handle;
        }
        r = tear_down(g, gfid, handle, true, false, &msg);
        {
                PGPU_LOCK(l, &g->state_lock);

                v = pgpu_find(g, name);
                if (v && r >= 0) {
                        v->pub.state = NVV_VGPU_CREATED;
                        v->pub.gfid = 0;
                        v->pub.vm_pid = 0;
                        v->pub.paused = false;
                        v->host_handle = 0;
                }
        }
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "VM stop of vGPU %s: %s", name, msg);
        return 0;
}

/*
 * The write-ahead intent of a start makes this sound: the handle is the manager's choice and
 * fresh per start, so every command here names only what that start may have made, never
 * another vGPU's device. Whatever step the kill cut the start at, trying every tear-down step
 * with uncertain set undoes exactly what ran.
 */
int nvv_pgpu_vm_settle(struct nvv_pgpu *g, const char *name, uint32_t gfid, uint32_t handle, char **reterr_msg)
{
        _cleanup_free_ char *msg = NULL;
        struct vgpu_rec *v;
        int r;

        assert_return(g && name, -EINVAL);
        if (g->vm)
                return 0; /* an upstream start changes nothing in the firmware */
        PGPU_LOCK(op, &g->op_lock);
        {
                PGPU_LOCK(l, &g->state_lock);

                v = pgpu_find(g, name);
                if (!v)
                        return nvv_fail_errno(-ENOENT, reterr_msg, "GPU %s has no vGPU %s", g->name, name);
                if (v->pub.state == NVV_VGPU_LOST)
                        return 0;
                for (size_t i = 0; i < g->n; i++)
                        if (&g->vgpus[i] != v && g->vgpus[i].pub.gfid == gfid)
                                return 0; /* the VF is another's: this start never got it */
                if (v->pub.state != NVV_VGPU_CREATED && v->host_handle != handle)
                        return nvv_fail_errno(-EBUSY, reterr_msg, "GPU %s: vGPU %s runs with host handle 0x%x, not 0x%x",
                                              g->name, name, v->host_handle, handle);
        }
        r = tear_down(g, gfid, handle, true, true, &msg);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "settling the interrupted VM start of vGPU %s: %s", name, msg);
        {
                PGPU_LOCK(l, &g->state_lock);

                v = pgpu_find(g, name);
                if (v) {
                        v->pub.state = NVV_VGPU_CREATED;
                        v->pub.gfid = 0;
                        v->pub.vm_pid = 0;
                        v->pub.paused = false;
                        v->host_handle = 0;
                }
        }
        return 0;
}

/* ---- pause, resume, reset ---- */

enum host_act { ACT_PAUSE, ACT_RESUME, ACT_RESET };

static int host_act(struct nvv_pgpu *g, const char *name, enum host_act act, char **reterr_msg)
{
        static const char *const message[] = {
                [ACT_PAUSE] = "MIGRATION_STOP_WORK", [ACT_RESUME] = "MIGRATION_RESUME_WORK", [ACT_RESET] = "RESET",
        };
        static const char *const verb[] = { [ACT_PAUSE] = "pause", [ACT_RESUME] = "resume", [ACT_RESET] = "reset" };
        char err[512] = "";
        struct vgpu_rec *v;
        uint32_t gfid;
        int r;

        assert_return(g && name, -EINVAL);
        PGPU_LOCK(op, &g->op_lock);
        {
                PGPU_LOCK(l, &g->state_lock);

                v = pgpu_find(g, name);
                if (!v)
                        return nvv_fail_errno(-ENOENT, reterr_msg, "GPU %s has no vGPU %s", g->name, name);
                if (v->pub.state != NVV_VGPU_RUNNING)
                        return nvv_fail_errno(-ESRCH, reterr_msg, "cannot %s vGPU %s: it is %s, not running", verb[act],
                                              name, nvv_vgpu_state_to_string(v->pub.state));
                if ((act == ACT_PAUSE && v->pub.paused) || (act == ACT_RESUME && !v->pub.paused))
                        return 0;
                gfid = v->pub.gfid;
        }
        r = nvv_channel_host_rpc(g->ch, gfid, message[act], err, sizeof(err));
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "cannot %s vGPU %s: %s", verb[act], name, err);
        {
                PGPU_LOCK(l, &g->state_lock);

                v = pgpu_find(g, name);
                if (v && v->pub.state == NVV_VGPU_RUNNING) {
                        v->pub.paused = act == ACT_PAUSE;
                        if (act == ACT_RESET)
                                v->pub.resets++;
                }
        }
        return 0;
}

int nvv_pgpu_vm_pause(struct nvv_pgpu *g, const char *name, char **reterr_msg)
{
        return host_act(g, name, ACT_PAUSE, reterr_msg);
}

int nvv_pgpu_vm_resume(struct nvv_pgpu *g, const char *name, char **reterr_msg)
{
        return host_act(g, name, ACT_RESUME, reterr_msg);
}

int nvv_pgpu_vm_reset(struct nvv_pgpu *g, const char *name, char **reterr_msg)
{
        return host_act(g, name, ACT_RESET, reterr_msg);
}

/* ---- adopt ---- */

/*
 * Whether the firmware holds a vGPU of this name: 1 it does, 0 it does not, -ESTALE it has no
 * type table (it was restarted: a driver reload), or another negative errno. The RPC releases
 * offer no read of a vGPU that is not started, so create_device of its name and type asks: the
 * firmware checks the type, then the name (IN_USE: held). A create that succeeds means it was
 * not held; that vGPU is deleted again at once.
 */
static int fw_holds(struct nvv_pgpu *g, const struct nvv_pgpu_known *k, const uint8_t fw_name[16], char **reterr_msg)
{
        struct nvv_cmd_create_device cd = { .gpu_pci_id = g->pci_id, .gpu_pci_bdf = g->pci_bdf, .type_id = k->place.type_id };
        _cleanup_free_ char *msg = NULL;
        enum nvv_fw_status st = NVV_FW_OK;
        int r;

        memcpy(cd.vgpu_name, fw_name, 16);
        r = pgpu_call(g, "adopt: create_device (is it held?)", NVV_CMD_CREATE_DEVICE, &cd, 0, NULL, &st, NULL, &msg);
        if (r >= 0) {
                struct nvv_cmd_delete_device dd = { .vgpu_id = cd.vgpu_id };
                _cleanup_free_ char *m = NULL;

                memcpy(dd.vgpu_name, fw_name, 16);
                r = pgpu_call(g, "adopt: delete_device (undo)", NVV_CMD_DELETE_DEVICE, &dd, 0, NULL, NULL, NULL, &m);
                if (r < 0)
                        return nvv_fail_errno(r, reterr_msg, "%s", m ? m : "delete_device failed");
                return 0;
        }
        if (st == NVV_FW_IN_USE)
                return 1;
        if (st == NVV_FW_OBJECT_NOT_FOUND)
                return nvv_fail_errno(-ESTALE, reterr_msg, "the firmware has no type %u: it was restarted and holds none "
                                      "of the recorded vGPUs", k->place.type_id);
        if (st != NVV_FW_OK)
                return 0; /* refused after the name check: the name is free */
        return nvv_fail_errno(r, reterr_msg, "%s", msg ? msg : "create_device failed");
}

int nvv_pgpu_adopt(struct nvv_pgpu *g, const struct nvv_pgpu_known *known, size_t n_known, char ***ret_unplaced,
                   char **reterr_msg)
{
        _cleanup_(nvv_partition_freep) struct nvv_partition *part = NULL;
        _cleanup_free_ struct nvv_cmd_enumerate_vgpus *en = calloc(1, sizeof(*en));
        _cleanup_(strv_freep) char **report = NULL;
        _cleanup_free_ char *msg = NULL;
        struct vgpu_rec recs[NVV_MAX_VGPUS];
        size_t n = 0, missing = 0;
        bool started[NVV_MAX_VGPUS + 1] = {}, accounted[NVV_MAX_VGPUS + 1] = {};
        enum nvv_fw_status st;
        int r;

        assert_return(g && (known || n_known == 0), -EINVAL);
        if (!en)
                return -ENOMEM;
        if (g->vm)
                return pgpu_up_adopt(g, known, n_known, ret_unplaced, reterr_msg);
        PGPU_LOCK(op, &g->op_lock);
        /* What the firmware says runs (a read: nothing changes). */
        if (pgpu_has(g, NVV_CMD_ENUMERATE_VGPUS)) {
                r = pgpu_call(g, "adopt: enumerate_vgpus", NVV_CMD_ENUMERATE_VGPUS, en, 0, NULL, NULL, NULL, &msg);
                if (r < 0)
                        return nvv_fail_errno(r, reterr_msg, "%s", msg);
                for (uint32_t i = 0; i < MIN(en->count, (uint32_t) NVV_MAX_VGPUS); i++)
                        if (en->vgpus[i].gfid >= 1 && en->vgpus[i].gfid <= NVV_MAX_VGPUS)
                                started[en->vgpus[i].gfid] = true;
        }
        r = pgpu_new_partition(g, &part, reterr_msg);
        if (r < 0)
                return r;
        (void) nvv_partition_set_heterogeneous_allowed(part, g->heterogeneous_timesliced);
        r = nvv_partition_add_types(part, g->types, g->n_types, true, &st);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "GPU %s: its type table is not one the firmware would take (%s)",
                                      g->name, nvv_fw_status_to_string(st));
        r = nvv_partition_set_mode(part, g->mode, &st);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "GPU %s: %s mode cannot be set (%s)", g->name,
                                      nvv_partition_mode_to_string(g->mode), nvv_fw_status_to_string(st));
        for (size_t i = 0; i < n_known; i++) {
                const struct nvv_pgpu_known *k = &known[i];
                _cleanup_free_ char *why = NULL;
                uint8_t fw_name[16];
                char *line = NULL;

                r = 0;
                if (pgpu_fw_name(k->place.name, fw_name) < 0)
                        r = nvv_fail(&why, "'%s' is not a vGPU name", k->place.name);
                else if (pgpu_has(g, NVV_CMD_CREATE_DEVICE) &&
                         !(k->gfid >= 1 && k->gfid <= NVV_MAX_VGPUS && started[k->gfid])) {
                        /* A record is no proof the firmware still holds it: after a driver
                         * reload it holds nothing, and then the GPU is brought up afresh. */
                        r = fw_holds(g, k, fw_name, &why);
                        if (r < 0)
                                return nvv_fail_errno(r, reterr_msg, "GPU %s: vGPU %s: %s", g->name, k->place.name, why);
                        if (r == 0) {
                                missing++;
                                if (asprintf(&line, "vGPU %s (type %u) is recorded but the firmware does not hold it",
                                             k->place.name, k->place.type_id) < 0 ||
                                    strv_push(&report, line) < 0)
                                        return -ENOMEM;
                                continue;
                        }
                }
                if (r >= 0)
                        r = nvv_partition_insert(part, &k->place, &why);
                if (r < 0) {
                        if (asprintf(&line, "vGPU %s (type %u, vGPU id %u) is held by the firmware but cannot be placed: %s",
                                     k->place.name, k->place.type_id, k->place.vgpu_id, why ? why : strerror(-r)) < 0 ||
                            strv_push(&report, line) < 0)
                                return -ENOMEM;
                        continue;
                }
                recs[n] = (struct vgpu_rec) {};
                snprintf(recs[n].pub.name, sizeof(recs[n].pub.name), "%s", k->place.name);
                recs[n].pub.type_id = k->place.type_id;
                recs[n].pub.type = pgpu_catalog_type(g, k->place.type_id);
                recs[n].pub.place = *nvv_partition_find(part, k->place.name);
                recs[n].pub.vgpu_id = pgpu_has(g, NVV_CMD_CREATE_DEVICE) ? k->place.vgpu_id : 0;
                recs[n].pub.adopted = true;
                recs[n].pub.state = NVV_VGPU_CREATED;
                memcpy(recs[n].fw_name, fw_name, 16);
                if (k->gfid >= 1 && k->gfid <= NVV_MAX_VGPUS && (started[k->gfid] || !pgpu_has(g, NVV_CMD_ENUMERATE_VGPUS))) {
                        recs[n].pub.state = NVV_VGPU_RUNNING;
                        recs[n].pub.gfid = k->gfid;
                        recs[n].host_handle = k->host_handle;
                        accounted[k->gfid] = true;
                } else if (k->gfid && !k->starting) {
                        if (asprintf(&line, "vGPU %s was recorded started on VF gfid %u; the firmware runs nothing there",
                                     k->place.name, k->gfid) < 0 ||
                            strv_push(&report, line) < 0)
                                return -ENOMEM;
                }
                n++;
        }
        if (n_known > 0 && missing == n_known)
                return nvv_fail_errno(-ESTALE, reterr_msg, "GPU %s: the firmware holds none of the %zu recorded vGPUs",
                                      g->name, n_known);
        for (uint32_t gfid = 1; gfid <= NVV_MAX_VGPUS; gfid++) {
                char *line = NULL;

                if (!started[gfid] || accounted[gfid])
                        continue;
                if (asprintf(&line, "VF gfid %u runs a vGPU that no record accounts for", gfid) < 0 ||
                    strv_push(&report, line) < 0)
                        return -ENOMEM;
        }
        pgpu_install_adopted(g, TAKE_PTR(part), recs, n);
        if (ret_unplaced)
                *ret_unplaced = TAKE_PTR(report);
        return 0;
}
