/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The firmware statuses the manager reasons about without a release description at hand
 * (the partition model predicts them, the simulator answers with them). The per-release
 * status table with every value is in the description (nvv_fwabi_status()).
 */

#include <errno.h>

/* Firmware statuses the model predicts (named as in nvstatuscodes.h). */
enum nvv_fw_status {
        NVV_FW_OK,
        NVV_FW_OBJECT_NOT_FOUND,
        NVV_FW_IN_USE,
        NVV_FW_INSUFFICIENT_RESOURCES,
        NVV_FW_INVALID_STATE,
        NVV_FW_INVALID_ARGUMENT,
        NVV_FW_NOT_SUPPORTED,
        _NVV_FW_STATUS_MAX,
        _NVV_FW_STATUS_INVALID = -EINVAL,
};
const char *nvv_fw_status_to_string(enum nvv_fw_status s);     /* "NV_ERR_IN_USE" */
enum nvv_fw_status nvv_fw_status_from_string(const char *s);
int nvv_fw_status_to_errno(enum nvv_fw_status s);               /* negative errno, 0 for OK */
