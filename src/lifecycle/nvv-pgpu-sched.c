/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The managed GPU's time-sliced scheduler at run time (nvvgpuctl scheduler get|set). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-pgpu-internal.h"
#include "util.h"

int nvv_pgpu_sched_get(struct nvv_pgpu *g, struct nvv_pgpu_sched *ret, char **reterr_msg)
{
        _cleanup_free_ union nvv_cmd_any *io = calloc(1, sizeof(*io));
        struct nvv_pgpu_sched out = {};
        int r;

        assert_return(g && ret, -EINVAL);
        if (!io)
                return -ENOMEM;
        PGPU_LOCK(op, &g->op_lock);
        {
                PGPU_LOCK(st, &g->state_lock);

                if (g->state != NVV_PGPU_READY)
                        return nvv_fail_errno(-ENODEV, reterr_msg, "GPU %s is %s; its scheduler cannot be read", g->name,
                                              nvv_pgpu_state_to_string(g->state));
                out.have_caps = g->init.have_caps;
                out.caps = g->init.caps;
                out.state = g->init.sched;
        }
        out.set = g->sched;
        if (pgpu_has(g, NVV_CMD_SCHED_GET_STATE)) {
                r = pgpu_call(g, "scheduler get", NVV_CMD_SCHED_GET_STATE, io, 0, NULL, NULL, NULL, reterr_msg);
                if (r < 0)
                        return r;
                out.state = io->sched_state;
                out.from_firmware = true;
        }
        *ret = out;
        return 0;
}

int nvv_pgpu_sched_set(struct nvv_pgpu *g, const struct nvv_policy_sched *s, char **reterr_msg)
{
        _cleanup_free_ union nvv_cmd_any *io = calloc(1, sizeof(*io));
        _cleanup_free_ char *why = NULL;
        struct nvv_cmd_sched_get_caps caps;
        bool have_caps;
        int r;

        assert_return(g && s && s->set, -EINVAL);
        if (!io)
                return -ENOMEM;
        PGPU_LOCK(op, &g->op_lock);
        {
                PGPU_LOCK(st, &g->state_lock);

                if (g->state != NVV_PGPU_READY)
                        return nvv_fail_errno(-ENODEV, reterr_msg, "GPU %s is %s; its scheduler cannot be set", g->name,
                                              nvv_pgpu_state_to_string(g->state));
                have_caps = g->init.have_caps;
                caps = g->init.caps;
        }
        if (!pgpu_has(g, NVV_CMD_SCHED_SET_STATE))
                return nvv_fail_errno(-EOPNOTSUPP, reterr_msg, "GPU %s: firmware %s has no scheduler control", g->name,
                                      g->fw->release);
        /* The same checks as a policy file's scheduler gets at bring-up. */
        if (have_caps) {
                r = nvv_policy_check_sched(s, &caps, g->mode, &why);
                if (r < 0)
                        return nvv_fail_errno(r, reterr_msg, "GPU %s: %s", g->name, why ? why : strerror(-r));
        }
        r = nvv_policy_sched_to_state(s, &io->sched_state);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "GPU %s: this scheduler cannot be expressed", g->name);
        if (io->sched_state.timeslice_ns == 0) {
                /* Not given: keep the time slice the firmware runs now. */
                PGPU_LOCK(st, &g->state_lock);
                io->sched_state.timeslice_ns = g->init.sched.timeslice_ns ? g->init.sched.timeslice_ns
                                               : have_caps                 ? caps.min_timeslice_ns
                                                                           : 0;
        }
        r = pgpu_call(g, "scheduler set", NVV_CMD_SCHED_SET_STATE, io, 0, NULL, NULL, NULL, reterr_msg);
        if (r < 0)
                return r;
        {
                PGPU_LOCK(st, &g->state_lock);

                g->init.sched = io->sched_state;
        }
        /* Kept: a bring-up after a GSP reset sets this one again, not the policy's. */
        g->sched = *s;
        return 0;
}
