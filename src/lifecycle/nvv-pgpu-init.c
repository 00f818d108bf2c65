/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bring-up: the release's `init` list, step by step. The C knows how to build each stable
 * command's input from the GPU's configuration; which steps run, and in which order, is the
 * release description's (a release that adds, drops or reorders steps needs no C change).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nvv-pgpu-internal.h"
#include "util.h"

/* What bring-up undoes on failure. */
struct undo {
        bool types;             /* a type table was uploaded */
        bool mixed;             /* mixed-size mode was enabled */
};

static bool step_known(int cmd)
{
        switch (cmd) {
        case NVV_CMD_GET_FEATURES:
        case NVV_CMD_SET_VGPU_MGR_CONFIG:
        case NVV_CMD_ADD_VGPU_TYPES:
        case NVV_CMD_SET_HETEROGENEOUS_MODE:
        case NVV_CMD_SCHED_GET_CAPS:
        case NVV_CMD_SCHED_GET_STATE:
        case NVV_CMD_SCHED_SET_STATE:
        case NVV_CMD_SET_POWER_STATE:
                return true;
        default:
                return false;
        }
}

/* A refusal the model predicted differently is a disagreement, and the message says both. */
static int check_verdict(struct nvv_pgpu *g, const char *step, int r, enum nvv_fw_status fw, enum nvv_fw_status model,
                         char **msg)
{
        if (r < 0 && fw == model)
                return r;
        if (r >= 0 && model == NVV_FW_OK)
                return 0;
        if (r >= 0) {
                free(*msg);
                *msg = NULL;
                return nvv_fail_errno(-EPROTO, msg, "%s on GPU %s: the firmware accepted it, the model predicted %s",
                                      step, g->name, nvv_fw_status_to_string(model));
        }
        if (fw == NVV_FW_OK) /* no status: a timeout or a bad reply, not a verdict */
                return r;
        {
                _cleanup_free_ char *first = TAKE_PTR(*msg);

                return nvv_fail_errno(r, msg, "%s (the model predicted %s)", first, nvv_fw_status_to_string(model));
        }
}

/* *fw: the firmware's status for the step's last command (NVV_FW_OK: accepted, or no status). */
static int run_step(struct nvv_pgpu *g, size_t index, int cmd, struct nvv_partition *part,
                    struct nvv_pgpu_init_info *info, struct undo *undo, enum nvv_fw_status *fw, char **msg)
{
        _cleanup_free_ union nvv_cmd_any *io = calloc(1, sizeof(*io));
        enum nvv_fw_status model = NVV_FW_OK;
        char step[96];
        int r;

        *fw = NVV_FW_OK;
        if (!io)
                return -ENOMEM;
        snprintf(step, sizeof(step), "bring-up step %zu (%s)", index + 1, nvv_cmd_to_string(cmd));
        switch (cmd) {
        case NVV_CMD_GET_FEATURES:
                r = pgpu_call(g, step, cmd, io, 0, NULL, fw, NULL, msg);
                if (r >= 0)
                        snprintf(info->firmware_version, sizeof(info->firmware_version), "%s",
                                 io->get_features.firmware_version);
                return r;
        case NVV_CMD_SET_VGPU_MGR_CONFIG:
                io->set_vgpu_mgr_config.heterogeneous_timesliced = g->heterogeneous_timesliced;
                r = pgpu_call(g, step, cmd, io, 0, NULL, fw, NULL, msg);
                if (r >= 0)
                        (void) nvv_partition_set_heterogeneous_allowed(part, g->heterogeneous_timesliced);
                return r;
        case NVV_CMD_ADD_VGPU_TYPES:
                io->add_vgpu_types.discard = true;
                io->add_vgpu_types.count = (uint32_t) g->n_types;
                memcpy(io->add_vgpu_types.types, g->types, g->n_types * sizeof(g->types[0]));
                (void) nvv_partition_add_types(part, g->types, g->n_types, true, &model);
                r = pgpu_call(g, step, cmd, io, 0, NULL, fw, NULL, msg);
                undo->types = r >= 0 || *fw == NVV_FW_OK; /* a timeout may have left a table */
                r = check_verdict(g, step, r, *fw, model, msg);
                if (r >= 0)
                        info->n_types = g->n_types;
                return r;
        case NVV_CMD_SET_HETEROGENEOUS_MODE:
                io->set_heterogeneous_mode.enabled = g->mode == NVV_PARTITION_HETEROGENEOUS;
                (void) nvv_partition_set_mode(part, g->mode, &model);
                r = pgpu_call(g, step, cmd, io, 0, NULL, fw, NULL, msg);
                undo->mixed = io->set_heterogeneous_mode.enabled && (r >= 0 || *fw == NVV_FW_OK);
                r = check_verdict(g, step, r, *fw, model, msg);
                if (r >= 0)
                        info->mode = g->mode;
                return r;
        case NVV_CMD_SCHED_GET_CAPS:
                r = pgpu_call(g, step, cmd, io, 0, NULL, fw, NULL, msg);
                if (r < 0)
                        return r;
                info->caps = io->sched_get_caps;
                info->have_caps = true;
                /* The policy's scheduler must be one this firmware has, before it is set. */
                if (g->sched.set) {
                        _cleanup_free_ char *why = NULL;

                        r = nvv_policy_check_sched(&g->sched, &info->caps, g->mode, &why);
                        if (r < 0)
                                return nvv_fail_errno(r, msg, "%s on GPU %s: the policy's scheduler does not fit: %s",
                                                      step, g->name, why ? why : strerror(-r));
                }
                return 0;
        case NVV_CMD_SCHED_GET_STATE:
                r = pgpu_call(g, step, cmd, io, 0, NULL, fw, NULL, msg);
                if (r >= 0)
                        info->sched = io->sched_state;
                return r;
        case NVV_CMD_SCHED_SET_STATE: {
                struct nvv_policy_sched s = g->sched;

                if (!s.set) /* no scheduler in the policy: the firmware's default, said explicitly */
                        s = (struct nvv_policy_sched) { .set = true, .policy = NVV_SCHED_BEST_EFFORT, .arr = NVV_ARR_DEFAULT };
                r = nvv_policy_sched_to_state(&s, &io->sched_state);
                if (r < 0)
                        return nvv_fail_errno(r, msg, "%s on GPU %s: the policy's scheduler cannot be expressed", step,
                                              g->name);
                if (io->sched_state.timeslice_ns == 0) {
                        /* "The firmware's default": what it runs now, else the shortest it takes. */
                        _cleanup_free_ union nvv_cmd_any *cur = calloc(1, sizeof(*cur));

                        if (!cur)
                                return -ENOMEM;
                        if (pgpu_has(g, NVV_CMD_SCHED_GET_STATE)) {
                                r = pgpu_call(g, step, NVV_CMD_SCHED_GET_STATE, cur, 0, NULL, fw, NULL, msg);
                                if (r < 0)
                                        return r;
                                io->sched_state.timeslice_ns = cur->sched_state.timeslice_ns;
                        } else if (info->have_caps)
                                io->sched_state.timeslice_ns = info->caps.min_timeslice_ns;
                }
                r = pgpu_call(g, step, cmd, io, 0, NULL, fw, NULL, msg);
                if (r >= 0)
                        info->sched = io->sched_state;
                return r;
        }
        case NVV_CMD_SET_POWER_STATE:
                /* The state the description names "on" (0 when it names none). */
                io->set_power_state.state = 0;
                return pgpu_call(g, step, cmd, io, 0, NULL, fw, NULL, msg);
        default:
                return nvv_fail_errno(-EOPNOTSUPP, msg, "%s on GPU %s: not a step the manager can run", step, g->name);
        }
}

/* Withdraw what a failed bring-up configured, so the GPU is not left half-configured. */
static void roll_back(struct nvv_pgpu *g, const struct undo *undo)
{
        _cleanup_free_ union nvv_cmd_any *io = calloc(1, sizeof(*io));
        _cleanup_free_ char *msg = NULL;

        if (!io)
                return;
        if (undo->mixed && pgpu_has(g, NVV_CMD_SET_HETEROGENEOUS_MODE)) {
                io->set_heterogeneous_mode.enabled = false;
                if (pgpu_call(g, "undo (set_heterogeneous_mode)", NVV_CMD_SET_HETEROGENEOUS_MODE, io, 0, NULL, NULL,
                              NULL, &msg) < 0)
                        log_debug("%s", msg);
        }
        if (undo->types) {
                memset(io, 0, sizeof(*io));
                io->add_vgpu_types.discard = true;
                io->add_vgpu_types.count = 0;
                free(msg);
                msg = NULL;
                if (pgpu_call(g, "undo (add_vgpu_types)", NVV_CMD_ADD_VGPU_TYPES, io, 0, NULL, NULL, NULL, &msg) < 0)
                        log_debug("%s", msg);
        }
}

int nvv_pgpu_bring_up(struct nvv_pgpu *g, char **reterr_msg)
{
        _cleanup_(nvv_partition_freep) struct nvv_partition *part = NULL;
        struct nvv_pgpu_init_info info = {};
        struct undo undo = {};
        _cleanup_free_ char *msg = NULL;
        bool sets_mode = false;
        int r;

        assert_return(g, -EINVAL);
        PGPU_LOCK(op, &g->op_lock);
        {
                PGPU_LOCK(l, &g->state_lock);
                size_t live = 0;

                for (size_t i = 0; i < g->n; i++)
                        live += g->vgpus[i].pub.state != NVV_VGPU_LOST;
                if (live)
                        return nvv_fail_errno(-EBUSY, reterr_msg, "GPU %s holds %zu vGPUs; bring-up would discard them",
                                              g->name, live);
        }
        if (g->vm)
                return pgpu_up_bring_up(g, reterr_msg);
        /* Check the whole list before sending anything. */
        if (g->fw->n_init > ELEMENTSOF(info.steps))
                return nvv_fail_errno(-E2BIG, reterr_msg, "GPU %s: firmware %s's init list has %zu steps, at most %zu",
                                      g->name, g->fw->release, g->fw->n_init, ELEMENTSOF(info.steps));
        for (size_t i = 0; i < g->fw->n_init; i++) {
                int cmd = g->fw->init[i];

                if (!step_known(cmd))
                        return nvv_fail_errno(-EOPNOTSUPP, reterr_msg,
                                              "GPU %s: firmware %s's init step %zu (%s) is not one the manager can run",
                                              g->name, g->fw->release, i + 1, nvv_cmd_to_string(cmd));
                if (!pgpu_has(g, cmd))
                        return nvv_fail_errno(-EOPNOTSUPP, reterr_msg,
                                              "GPU %s: firmware %s's init step %zu (%s) is not a command it describes",
                                              g->name, g->fw->release, i + 1, nvv_cmd_to_string(cmd));
                sets_mode |= cmd == NVV_CMD_SET_HETEROGENEOUS_MODE;
        }
        if (g->mode == NVV_PARTITION_HETEROGENEOUS && !g->model->mixed_size)
                return nvv_fail_errno(-EOPNOTSUPP, reterr_msg, "GPU %s (%s): mixed-size mode is not available on this GPU model",
                                      g->name, g->model->short_name);
        if (g->mode == NVV_PARTITION_HETEROGENEOUS && !sets_mode)
                return nvv_fail_errno(-EOPNOTSUPP, reterr_msg,
                                      "GPU %s (%s): mixed-size mode is not available under firmware %s", g->name,
                                      g->model->short_name, g->fw->release);
        r = pgpu_new_partition(g, &part, reterr_msg);
        if (r < 0)
                return r;
        info.mode = NVV_PARTITION_HOMOGENEOUS;
        for (size_t i = 0; i < g->fw->n_init; i++) {
                enum nvv_fw_status fw;

                r = run_step(g, i, g->fw->init[i], part, &info, &undo, &fw, &msg);
                if (r < 0) {
                        struct nvv_partition *fresh = NULL;

                        info.failed = true;
                        info.failed_step = g->fw->init[i];
                        info.failed_status = fw;
                        roll_back(g, &undo);
                        pgpu_set_error(g, NVV_PGPU_FAILED, msg);
                        {
                                PGPU_LOCK(l, &g->state_lock);
                                /* The model of a failed GPU holds nothing and offers nothing. */
                                if (pgpu_new_partition(g, &fresh, NULL) >= 0) {
                                        nvv_partition_free(g->part);
                                        g->part = fresh;
                                }
                                g->n = 0;
                                g->init = info;
                        }
                        if (reterr_msg)
                                *reterr_msg = TAKE_PTR(msg);
                        return r;
                }
                info.steps[info.n_steps++] = g->fw->init[i];
        }
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

int nvv_pgpu_set_mode(struct nvv_pgpu *g, enum nvv_partition_mode mode, char **reterr_msg)
{
        enum nvv_partition_mode old;
        int r;

        assert_return(g && (mode == NVV_PARTITION_HOMOGENEOUS || mode == NVV_PARTITION_HETEROGENEOUS), -EINVAL);
        {
                PGPU_LOCK(op, &g->op_lock);
                PGPU_LOCK(l, &g->state_lock);
                size_t live = 0;

                if (mode == NVV_PARTITION_HETEROGENEOUS && !g->model->mixed_size)
                        return nvv_fail_errno(-EOPNOTSUPP, reterr_msg,
                                              "GPU %s (%s): mixed-size mode is not available on this GPU model", g->name,
                                              g->model->short_name);
                for (size_t i = 0; i < g->n; i++)
                        live += g->vgpus[i].pub.state != NVV_VGPU_LOST;
                /* NVIDIA: the mode can be switched only while no vGPU exists on the GPU. */
                if (live)
                        return nvv_fail_errno(-EBUSY, reterr_msg,
                                              "GPU %s holds %zu vGPUs; its mode can be switched only while none exists", g->name,
                                              live);
                if (g->mode == mode && g->state == NVV_PGPU_READY)
                        return 0;
                old = g->mode;
                g->mode = mode;
        }
        r = nvv_pgpu_bring_up(g, reterr_msg);
        if (r == -EBUSY) {
                /* A create came in between; nothing was sent: the mode stays as it was. */
                PGPU_LOCK(op, &g->op_lock);
                g->mode = old;
        }
        return r;
}
