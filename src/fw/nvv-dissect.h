/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The firmware dissector: captured queue elements or a bare RPC in, everything the release
 * description can say about them out, as a json-c tree (the CLI renders it as text or JSON).
 */

#include <json-c/json.h>
#include <stddef.h>

#include "nvv-fwabi.h"

#define NVV_DISSECT_MAX_INPUT (16u * 1024u * 1024u)
/* Values (fields and array elements) one dissection produces at most: over three times the
 * largest message the shipped releases describe (580's PGPU_ADD_VGPU_TYPE, ~157 000). Past
 * it the tree stops and carries NVV_DISSECT_TRUNCATED saying so. */
#define NVV_DISSECT_MAX_VALUES 524288u
#define NVV_DISSECT_TRUNCATED "_truncated"

/* Describe one struct of a release: {"release","struct","size","source","fields":[...]}. */
int nvv_dissect_layout(const struct nvv_fwabi *fw, const char *struct_name, json_object **ret,
                       char *err, size_t errlen);

/* Decode captured bytes. Untrusted: every length is checked, and a message is reported
 * with what was wrong with it. */
int nvv_dissect_bytes(const struct nvv_fwabi *fw, const void *data, size_t len, json_object **ret,
                      char *err, size_t errlen);

/* Decode a struct's bytes into {"field": value, ...}; arrays are trimmed after their last
 * non-zero element, byte arrays holding text become strings. At most NVV_DISSECT_MAX_VALUES
 * values. */
json_object *nvv_dissect_struct(const struct nvv_wstruct *s, const uint8_t *p, size_t len);
