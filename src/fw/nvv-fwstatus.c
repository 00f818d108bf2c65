/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "nvv-fwstatus.h"
#include "util.h"

static const char *const status_names[_NVV_FW_STATUS_MAX] = {
        [NVV_FW_OK] = "NV_OK",
        [NVV_FW_OBJECT_NOT_FOUND] = "NV_ERR_OBJECT_NOT_FOUND",
        [NVV_FW_IN_USE] = "NV_ERR_IN_USE",
        [NVV_FW_INSUFFICIENT_RESOURCES] = "NV_ERR_INSUFFICIENT_RESOURCES",
        [NVV_FW_INVALID_STATE] = "NV_ERR_INVALID_STATE",
        [NVV_FW_INVALID_ARGUMENT] = "NV_ERR_INVALID_ARGUMENT",
        [NVV_FW_NOT_SUPPORTED] = "NV_ERR_NOT_SUPPORTED",
};

DEFINE_STRING_TABLE_LOOKUP(nvv_fw_status, enum nvv_fw_status, status_names, _NVV_FW_STATUS_MAX, _NVV_FW_STATUS_INVALID)

int nvv_fw_status_to_errno(enum nvv_fw_status s)
{
        switch (s) {
        case NVV_FW_OK:
                return 0;
        case NVV_FW_OBJECT_NOT_FOUND:
                return -ENOENT;
        case NVV_FW_IN_USE:
                return -EBUSY;
        case NVV_FW_INSUFFICIENT_RESOURCES:
                return -ENOSPC;
        case NVV_FW_INVALID_STATE:
                return -EPERM;
        case NVV_FW_NOT_SUPPORTED:
                return -EOPNOTSUPP;
        default:
                return -EINVAL;
        }
}
