/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-escape.h"

size_t nvv_utf8_sequence(const char *s, size_t n)
{
        const unsigned char *p = (const unsigned char *) s;
        uint32_t cp, min;
        size_t len;

        if (n == 0)
                return 0;
        if (p[0] < 0x80)
                return 1;
        if (p[0] >= 0xc2 && p[0] <= 0xdf) {
                len = 2, cp = p[0] & 0x1f, min = 0x80;
        } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
                len = 3, cp = p[0] & 0x0f, min = 0x800;
        } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
                len = 4, cp = p[0] & 0x07, min = 0x10000;
        } else
                return 0; /* a continuation byte, C0/C1 (overlong two-byte) or F5..FF */
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

bool nvv_utf8_is_valid(const char *s)
{
        size_t n = s ? strlen(s) : 0;

        for (size_t i = 0; i < n;) {
                size_t k = nvv_utf8_sequence(s + i, n - i);

                if (k == 0)
                        return false;
                i += k;
        }
        return true;
}

static bool is_control(const unsigned char *p, size_t len)
{
        if (len == 1)
                return p[0] < 0x20 || p[0] == 0x7f;
        return len == 2 && p[0] == 0xc2 && p[1] < 0xa0; /* U+0080..U+009F */
}

char *nvv_escape(const char *s, unsigned flags)
{
        static const char hex[] = "0123456789abcdef";
        size_t n, o = 0;
        char *out;

        if (!s)
                return NULL;
        n = strlen(s);
        /* At worst every byte becomes four. */
        out = malloc(n * 4 + 1);
        if (!out) {
                errno = ENOMEM;
                return NULL;
        }
        for (size_t i = 0; i < n;) {
                const unsigned char *p = (const unsigned char *) s + i;
                size_t k = nvv_utf8_sequence(s + i, n - i);

                if (k == 1 && p[0] == '\\') {
                        out[o++] = '\\';
                        out[o++] = '\\';
                } else if (k == 0 || ((flags & NVV_ESCAPE_CONTROL) && is_control(p, k))) {
                        /* One byte at a time: an invalid byte, or each byte of a control. */
                        for (size_t j = 0; j < (k ? k : 1); j++) {
                                out[o++] = '\\';
                                out[o++] = 'x';
                                out[o++] = hex[p[j] >> 4];
                                out[o++] = hex[p[j] & 0xf];
                        }
                        k = k ? k : 1;
                } else {
                        memcpy(out + o, p, k);
                        o += k;
                }
                i += k ? k : 1;
        }
        out[o] = '\0';
        return out;
}
