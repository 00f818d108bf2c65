/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The managed GPU's lifecycle on a GPU that offers the upstream vGPU-management interface
 * (nvv-vmgmt.h) instead of RPCs. The same operations map onto it:
 *   bring-up   add_type for every type of the table, then query_supported to check
 *   create     assign the type to a free VF (the placement the model predicts, or none)
 *   delete     deassign the VF (the firmware refuses while the VF's VFIO device is open)
 *   VM start   query_assigned: the VF must hold the vGPU's type; the kernel's VFIO variant
 *              driver boots the instance on the VM's open, so nothing is sent
 *   VM stop    nothing to send: the last close tears the instance down
 *   adopt      query_assigned on every VF, matched to the vGPUs the state remembers
 * The model predicts as for any GPU; where firmware and model differ, the firmware wins and
 * the disagreement is reported.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nvv-host.h"
#include "nvv-pgpu-internal.h"
#include "util.h"

/* The VFs of this GPU, from discovery or from what the transport says of the layout. */
int pgpu_up_setup(struct nvv_pgpu *g, const struct nvv_pgpu_options *o, const struct nvv_channel_info *info,
                  char **reterr_msg)
{
        struct nvv_pci_addr pf;
        uint32_t want = MIN(g->model->num_vfs, (uint32_t) NVV_MAX_VGPUS);

        g->n_vfs = 0;
        if (o->host && o->host->vfs) {
                for (char **p = o->host->vfs; *p && g->n_vfs < NVV_MAX_VGPUS; p++)
                        if (nvv_pci_addr_parse(*p, &g->vfs[g->n_vfs]) >= 0)
                                g->n_vfs++;
                return 0;
        }
        if (info->vf_stride == 0)
                return 0; /* VFs unknown: creates will say so */
        if (nvv_pci_addr_parse(g->name, &pf) < 0)
                return nvv_fail_errno(-EINVAL, reterr_msg, "GPU %s: not a PCI address", g->name);
        for (uint32_t i = 0; i < want; i++) {
                unsigned devfn = ((unsigned) pf.dev << 3 | pf.fn) + info->vf_offset + i * info->vf_stride;

                g->vfs[i] = (struct nvv_pci_addr) { .domain = pf.domain, .bus = (uint8_t) (pf.bus + devfn / 256),
                                                    .dev = (uint8_t) ((devfn % 256) >> 3), .fn = (uint8_t) (devfn & 7) };
        }
        g->n_vfs = want;
        return 0;
}

static int up_call(struct nvv_pgpu *g, const char *step, int cmd, struct nvv_vmgmt_io *io, enum nvv_fw_status *ret_status,
                   uint32_t *ret_raw, char **reterr_msg)
{
        struct nvv_vmgmt_result res;
        char err[512] = "";
        int r;

        if (ret_status)
                *ret_status = NVV_FW_OK;
        if (ret_raw)
                *ret_raw = 0;
        r = nvv_channel_vmgmt_call(g->ch, cmd, io, &res, err, sizeof(err));
        if (r >= 0)
                return 0;
        if (res.have_status) {
                const struct nvv_status *st = nvv_fwabi_status(g->fw, res.status);
                enum nvv_fw_status s = st ? nvv_fw_status_from_string(st->name) : _NVV_FW_STATUS_INVALID;

                if (ret_status)
                        *ret_status = s >= 0 ? s : NVV_FW_INVALID_STATE;
                if (ret_raw)
                        *ret_raw = res.status;
        }
        return nvv_fail_errno(r, reterr_msg, "%s: %s", step, err);
}

/* A type the firmware already holds (an earlier manager's upload, still in use) is kept
 * when it is the same type. */
static bool same_type(struct nvv_pgpu *g, const struct nvv_vgpu_type *t)
{
        _cleanup_free_ struct nvv_vmgmt_io *io = calloc(1, sizeof(*io));

        if (!io)
                return false;
        io->type_id = t->type_id;
        if (up_call(g, "query_properties", NVV_VMGMT_QUERY_PROPERTIES, io, NULL, NULL, NULL) < 0)
                return false;
        return io->type.fb_length == t->fb_length && io->type.max_instance == t->max_instance &&
               io->type.profile_size == t->profile_size && streq(io->type.name, t->name);
}

int pgpu_up_bring_up(struct nvv_pgpu *g, char **reterr_msg)
{
        _cleanup_(nvv_partition_freep) struct nvv_partition *part = NULL;
        _cleanup_free_ struct nvv_vmgmt_io *io = calloc(1, sizeof(*io));
        struct nvv_pgpu_init_info info = { .mode = NVV_PARTITION_HOMOGENEOUS };
        enum nvv_fw_status model = NVV_FW_OK, st;
        char step[96];
        int r;

        if (!io)
                return -ENOMEM;
        if (g->mode == NVV_PARTITION_HETEROGENEOUS)
                return nvv_fail_errno(-EOPNOTSUPP, reterr_msg,
                                      "GPU %s: mixed-size mode is not available through the upstream interface %s",
                                      g->name, g->fw->release);
        r = pgpu_new_partition(g, &part, reterr_msg);
        if (r < 0)
                return r;
        (void) nvv_partition_add_types(part, g->types, g->n_types, true, &model);
        for (size_t i = 0; i < g->n_types; i++) {
                _cleanup_free_ char *msg = NULL;

                snprintf(step, sizeof(step), "bring-up: add_type %s (%" PRIu32 ")", g->types[i].name, g->types[i].type_id);
                memset(io, 0, sizeof(*io));
                io->type = g->types[i];
                r = up_call(g, step, NVV_VMGMT_ADD_TYPE, io, &st, NULL, &msg);
                if (r == -EBUSY && same_type(g, &g->types[i]))
                        r = 0;
                if (r < 0) {
                        info.failed = true;
                        info.failed_step = NVV_CMD_ADD_VGPU_TYPES;
                        info.failed_status = st;
                        pgpu_set_error(g, NVV_PGPU_FAILED, msg);
                        {
                                PGPU_LOCK(l, &g->state_lock);
                                g->n = 0;
                                g->init = info;
                        }
                        if (reterr_msg)
                                *reterr_msg = TAKE_PTR(msg);
                        return r;
                }
        }
        /* The firmware must list what was uploaded. */
        memset(io, 0, sizeof(*io));
        r = up_call(g, "bring-up: query_supported", NVV_VMGMT_QUERY_SUPPORTED, io, NULL, NULL, reterr_msg);
        if (r < 0) {
                pgpu_set_error(g, NVV_PGPU_FAILED, reterr_msg ? *reterr_msg : "query_supported failed");
                return r;
        }
        for (size_t i = 0; i < g->n_types; i++) {
                bool found = false;

                for (uint32_t k = 0; k < io->n_ids; k++)
                        found |= io->ids[k] == g->types[i].type_id;
                if (!found) {
                        r = nvv_fail_errno(-EPROTO, reterr_msg, "GPU %s: type %s (%" PRIu32 ") was uploaded, but the "
                                           "firmware does not list it as supported", g->name, g->types[i].name,
                                           g->types[i].type_id);
                        pgpu_set_error(g, NVV_PGPU_FAILED, reterr_msg ? *reterr_msg : "type missing");
                        return r;
                }
        }
        info.steps[info.n_steps++] = NVV_CMD_ADD_VGPU_TYPES;
        info.n_types = g->n_types;
        {
                PGPU_LOCK(l, &g->state_lock);
                nvv_partition_free(g->part);
                g->part = TAKE_PTR(part);
                g->n = 0;
                g->init = info;
                g->state = NVV_PGPU_READY;
                free(g->error);
                g->error = NULL;
        }
        return 0;
}

/* The first VF no vGPU of the model holds; -1 when all are. state_lock held. */
static int free_vf(const struct nvv_pgpu *g)
{
        for (uint32_t i = 0; i < g->n_vfs; i++) {
                bool used = false;

                for (size_t k = 0; k < g->n; k++)
                        used |= g->vgpus[k].vf == (int) i;
                if (!used)
                        return (int) i;
        }
        return -1;
}

static void up_deassign(struct nvv_pgpu *g, int vf)
{
        struct nvv_vmgmt_io io = { .vf = g->vfs[vf] };
        _cleanup_free_ char *msg = NULL;

        if (up_call(g, "undo (deassign)", NVV_VMGMT_DEASSIGN, &io, NULL, NULL, &msg) < 0)
                log_debug("%s", msg);
}

int pgpu_up_create(struct nvv_pgpu *g, uint32_t type_id, uint32_t placement_id, const char *name,
                   const uint8_t fw_name[16], struct nvv_pgpu_vgpu *ret, struct nvv_pgpu_outcome *outcome,
                   char **reterr_msg)
{
        struct nvv_pgpu_outcome oc = { .predicted = NVV_CHECK_OK };
        struct nvv_partition_vgpu pred = {};
        enum nvv_partition_check check = NVV_CHECK_OK;
        _cleanup_free_ char *msg = NULL;
        struct nvv_vmgmt_io io = {};
        enum nvv_fw_status fw;
        char vfname[16];
        int pr, vf, r;

        PGPU_LOCK(op, &g->op_lock);
        {
                PGPU_LOCK(l, &g->state_lock);

                if (g->state != NVV_PGPU_READY)
                        return nvv_fail_errno(-ENODEV, reterr_msg, "GPU %s is %s%s%s", g->name,
                                              nvv_pgpu_state_to_string(g->state), g->error ? ": " : "",
                                              g->error ? g->error : " (not brought up)");
                if (pgpu_find(g, name))
                        return nvv_fail_errno(-EEXIST, reterr_msg, "GPU %s already has a vGPU %s", g->name, name);
                pr = nvv_partition_try_create_at(g->part, type_id, name, placement_id, &pred, &check);
                oc.predicted = pr < 0 ? check : NVV_CHECK_OK;
                vf = free_vf(g);
        }
        if (outcome)
                *outcome = oc;
        if (vf < 0)
                return nvv_fail_errno(-ENOSPC, reterr_msg, "cannot create type %" PRIu32 " on GPU %s: %s", type_id,
                                      g->name, g->n_vfs ? "every VF holds a vGPU" : "its VFs are not known");
        io.vf = g->vfs[vf];
        io.type_id = type_id;
        io.placement_id = placement_id != NVV_PLACEMENT_NONE ? placement_id : pred.placement_id;
        nvv_pci_addr_format(&io.vf, vfname);
        r = up_call(g, "assign", NVV_VMGMT_ASSIGN, &io, &fw, &oc.fw_status, &msg);
        oc.sent = true;
        oc.status = r >= 0 ? NVV_FW_OK : fw;
        if (r >= 0 && pr < 0) {
                oc.disagreement = true;
                if (outcome)
                        *outcome = oc;
                up_deassign(g, vf);
                return nvv_fail_errno(-EPROTO, reterr_msg, "assign of type %" PRIu32 " to VF %s of GPU %s: the firmware "
                                      "accepted it, the model predicted a refusal (%s); undone", type_id, vfname, g->name,
                                      nvv_partition_check_to_string(check));
        }
        if (r < 0) {
                /* A status the model predicted otherwise is a disagreement; EIO carries none. */
                oc.disagreement = pr >= 0 && fw != NVV_FW_OK;
                if (outcome)
                        *outcome = oc;
                if (pr < 0)
                        return nvv_fail_errno(r, reterr_msg, "cannot create type %" PRIu32 " on GPU %s: %s (%s)", type_id,
                                              g->name, nvv_partition_check_to_string(check), msg);
                return nvv_fail_errno(r, reterr_msg, "%s%s", msg,
                                      oc.disagreement ? "; the model predicted success" : "");
        }
        if (outcome)
                *outcome = oc;
        {
                PGPU_LOCK(l, &g->state_lock);
                struct vgpu_rec *v;

                r = nvv_partition_create_at(g->part, type_id, name, pred.placement_id, &pred, NULL);
                if (r < 0)
                        return nvv_fail_errno(r, reterr_msg, "GPU %s: the model lost its prediction", g->name);
                v = &g->vgpus[g->n++];
                *v = (struct vgpu_rec) { .vf = vf };
                snprintf(v->pub.name, sizeof(v->pub.name), "%s", name);
                v->pub.type_id = type_id;
                v->pub.type = pgpu_catalog_type(g, type_id);
                v->pub.state = NVV_VGPU_CREATED;
                v->pub.place = pred;
                v->pub.vgpu_id = pred.vgpu_id;
                memcpy(v->fw_name, fw_name, 16);
                if (ret)
                        *ret = v->pub;
        }
        return 0;
}

int pgpu_up_delete(struct nvv_pgpu *g, const char *name, struct nvv_pgpu_outcome *outcome, char **reterr_msg)
{
        struct nvv_pgpu_outcome oc = { .predicted = NVV_CHECK_OK };
        _cleanup_free_ char *msg = NULL;
        struct nvv_vmgmt_io io = {};
        enum nvv_fw_status fw;
        struct vgpu_rec *v;
        char vfname[16];
        bool lost;
        int r, vf;

        PGPU_LOCK(op, &g->op_lock);
        {
                PGPU_LOCK(l, &g->state_lock);

                v = pgpu_find(g, name);
                if (!v)
                        return nvv_fail_errno(-ENOENT, reterr_msg, "GPU %s has no vGPU %s", g->name, name);
                if (v->pub.state == NVV_VGPU_RUNNING)
                        return nvv_fail_errno(-EBUSY, reterr_msg, "vGPU %s on GPU %s is started (VF gfid %u); stop its VM first",
                                              name, g->name, v->pub.gfid);
                lost = v->pub.state == NVV_VGPU_LOST;
                vf = v->vf;
        }
        if (!lost && vf >= 0) {
                io.vf = g->vfs[vf];
                nvv_pci_addr_format(&io.vf, vfname);
                r = up_call(g, "deassign", NVV_VMGMT_DEASSIGN, &io, &fw, &oc.fw_status, &msg);
                oc.sent = true;
                oc.status = r >= 0 ? NVV_FW_OK : fw;
                if (outcome)
                        *outcome = oc;
                if (r == -EBUSY)
                        return nvv_fail_errno(r, reterr_msg, "vGPU %s on GPU %s: its VF %s is open (a VM holds it); "
                                              "stop the VM first (%s)", name, g->name, vfname, msg);
                if (r == -EIO)
                        return nvv_fail_errno(r, reterr_msg, "vGPU %s on GPU %s: %s; the VF %s may be open in a VM",
                                              name, g->name, msg, vfname);
                if (r < 0 && fw != NVV_FW_OBJECT_NOT_FOUND)
                        return nvv_fail_errno(r, reterr_msg, "%s; the model holds it and predicted success", msg);
                /* Not assigned any more (an earlier manager's deassign): it is gone either way. */
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

int pgpu_up_vm_start(struct nvv_pgpu *g, const char *name, const struct nvv_pgpu_vm_params *params,
                     struct nvv_pgpu_vgpu *ret, char **reterr_msg)
{
        _cleanup_free_ char *msg = NULL;
        struct nvv_vmgmt_io io = {};
        uint32_t type_id;
        struct vgpu_rec *v;
        char vfname[16];
        int vf, r;

        PGPU_LOCK(op, &g->op_lock);
        {
                PGPU_LOCK(l, &g->state_lock);

                v = pgpu_find(g, name);
                if (!v)
                        return nvv_fail_errno(-ENOENT, reterr_msg, "GPU %s has no vGPU %s", g->name, name);
                if (v->pub.state != NVV_VGPU_CREATED)
                        return nvv_fail_errno(-EBUSY, reterr_msg, "vGPU %s on GPU %s is %s", name, g->name,
                                              nvv_vgpu_state_to_string(v->pub.state));
                vf = v->vf;
                type_id = v->pub.type_id;
        }
        if (vf < 0)
                return nvv_fail_errno(-ENODEV, reterr_msg, "vGPU %s on GPU %s holds no VF", name, g->name);
        io.vf = g->vfs[vf];
        nvv_pci_addr_format(&io.vf, vfname);
        r = up_call(g, "VM start: query_assigned", NVV_VMGMT_QUERY_ASSIGNED, &io, NULL, NULL, &msg);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s", msg);
        if (io.type_id != type_id)
                return nvv_fail_errno(-EPROTO, reterr_msg, "VM start of vGPU %s: VF %s of GPU %s holds type %" PRIu32
                                      " in the firmware, not %" PRIu32, name, vfname, g->name, io.type_id, type_id);
        {
                PGPU_LOCK(l, &g->state_lock);

                v = pgpu_find(g, name);
                if (!v)
                        return -ENOENT;
                v->pub.state = NVV_VGPU_RUNNING;
                v->pub.gfid = (uint32_t) vf + 1;  /* the variant driver's GFID: VF index + 1 */
                v->pub.vm_pid = params ? params->vm_pid : 0;
                if (ret)
                        *ret = v->pub;
        }
        return 0;
}

int pgpu_up_vm_stop(struct nvv_pgpu *g, const char *name, char **reterr_msg)
{
        struct vgpu_rec *v;

        PGPU_LOCK(op, &g->op_lock);
        PGPU_LOCK(l, &g->state_lock);
        v = pgpu_find(g, name);
        if (!v)
                return nvv_fail_errno(-ENOENT, reterr_msg, "GPU %s has no vGPU %s", g->name, name);
        if (v->pub.state == NVV_VGPU_RUNNING || v->pub.state == NVV_VGPU_CRASHED)
                v->pub.state = NVV_VGPU_CREATED;
        v->pub.gfid = 0;
        v->pub.vm_pid = 0;
        return 0;
}

int pgpu_up_adopt(struct nvv_pgpu *g, const struct nvv_pgpu_known *known, size_t n_known, char ***ret_unplaced,
                  char **reterr_msg)
{
        _cleanup_(nvv_partition_freep) struct nvv_partition *part = NULL;
        _cleanup_(strv_freep) char **report = NULL;
        uint32_t vf_type[NVV_MAX_VGPUS] = {};
        bool claimed[NVV_MAX_VGPUS] = {};
        struct vgpu_rec recs[NVV_MAX_VGPUS];
        enum nvv_fw_status st;
        size_t n = 0;
        int r;

        PGPU_LOCK(op, &g->op_lock);
        for (uint32_t i = 0; i < g->n_vfs; i++) {
                _cleanup_free_ char *msg = NULL;
                struct nvv_vmgmt_io io = { .vf = g->vfs[i] };

                r = up_call(g, "adopt: query_assigned", NVV_VMGMT_QUERY_ASSIGNED, &io, NULL, NULL, &msg);
                if (r < 0)
                        return nvv_fail_errno(r, reterr_msg, "%s", msg);
                vf_type[i] = io.type_id;
        }
        r = pgpu_new_partition(g, &part, reterr_msg);
        if (r < 0)
                return r;
        r = nvv_partition_add_types(part, g->types, g->n_types, true, &st);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "GPU %s: its type table is not one the firmware would take (%s)",
                                      g->name, nvv_fw_status_to_string(st));
        for (size_t k = 0; k < n_known; k++) {
                _cleanup_free_ char *why = NULL;
                uint8_t fw_name[16];
                char *line = NULL;
                int vf = -1;

                for (uint32_t i = 0; i < g->n_vfs && vf < 0; i++)
                        if (!claimed[i] && vf_type[i] == known[k].place.type_id)
                                vf = (int) i;
                if (vf < 0)
                        r = nvv_fail(&why, "no VF holds its type in the firmware");
                else if (pgpu_fw_name(known[k].place.name, fw_name) < 0)
                        r = nvv_fail(&why, "'%s' is not a vGPU name", known[k].place.name);
                else
                        r = nvv_partition_insert(part, &known[k].place, &why);
                if (r < 0) {
                        if (asprintf(&line, "vGPU %s (type %u) cannot be adopted: %s", known[k].place.name,
                                     known[k].place.type_id, why ? why : strerror(-r)) < 0 ||
                            strv_push(&report, line) < 0)
                                return -ENOMEM;
                        continue;
                }
                claimed[vf] = true;
                recs[n] = (struct vgpu_rec) { .vf = vf };
                snprintf(recs[n].pub.name, sizeof(recs[n].pub.name), "%s", known[k].place.name);
                recs[n].pub.type_id = known[k].place.type_id;
                recs[n].pub.type = pgpu_catalog_type(g, known[k].place.type_id);
                recs[n].pub.place = *nvv_partition_find(part, known[k].place.name);
                recs[n].pub.vgpu_id = known[k].place.vgpu_id;
                recs[n].pub.adopted = true;
                recs[n].pub.state = NVV_VGPU_CREATED;
                memcpy(recs[n].fw_name, fw_name, 16);
                n++;
        }
        {
                bool any = false;

                for (uint32_t i = 0; i < g->n_vfs; i++)
                        any |= vf_type[i] != 0;
                /* No VF holds a type: the firmware was restarted (a driver reload) and holds
                 * none of the recorded vGPUs; the GPU is brought up afresh instead. */
                if (n_known > 0 && n == 0 && !any)
                        return nvv_fail_errno(-ESTALE, reterr_msg, "GPU %s: no VF holds a type: the firmware holds none "
                                              "of the %zu recorded vGPUs", g->name, n_known);
        }
        for (uint32_t i = 0; i < g->n_vfs; i++) {
                char *line = NULL, vfname[16];

                if (!vf_type[i] || claimed[i])
                        continue;
                nvv_pci_addr_format(&g->vfs[i], vfname);
                if (asprintf(&line, "VF %s holds type %u, which no record accounts for", vfname, vf_type[i]) < 0 ||
                    strv_push(&report, line) < 0)
                        return -ENOMEM;
        }
        pgpu_install_adopted(g, TAKE_PTR(part), recs, n);
        if (ret_unplaced)
                *ret_unplaced = TAKE_PTR(report);
        return 0;
}
