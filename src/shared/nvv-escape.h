/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Text from outside (sysfs entry names, link targets, attribute values) made safe to show:
 * a crafted name must neither drive the terminal nor break a JSON document.
 */

#include <stdbool.h>
#include <stddef.h>

/* Also control characters (C0, DEL, C1), for text a terminal shows. */
#define NVV_ESCAPE_CONTROL 1u

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when it is not one: no
 * overlong forms, no surrogates, nothing above U+10FFFF (RFC 3629 section 3). */
size_t nvv_utf8_sequence(const char *s, size_t n);
bool nvv_utf8_is_valid(const char *s);

/* A copy of s in which every byte that is not part of valid UTF-8 reads \xNN and a
 * backslash reads \\ (so the escaping can be told from the text); with NVV_ESCAPE_CONTROL,
 * control characters read \xNN too (ESC is \x1b; a C1 control, two bytes in UTF-8, is
 * both). Valid text without backslashes (and controls) comes back unchanged. NULL for
 * NULL, or with errno ENOMEM. */
char *nvv_escape(const char *s, unsigned flags);
