/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Attribute text as sysfs/procfs/uevents hand it over, through every parser discovery uses. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nvv-escape.h"
#include "nvv-host.h"
#include "nvv-hotplug.h"
#include "nvv-sysfs.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s, *v = NULL, *n = NULL, bdf[13];
        uint32_t u;
        uint16_t dev;
        int i;

        if (size > 8192)
                return 0;
        s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        (void) nvv_sysfs_parse_u32(s, &u);
        (void) nvv_sysfs_parse_int(s, &i);
        (void) nvv_sysfs_parse_hex(s, 16, &u);
        (void) nvv_sysfs_parse_hex(s, 24, &u);
        if (nvv_sysfs_parse_bdf(s, bdf) == 0 && strlen(bdf) != 12)
                abort();
        if (nvv_sysfs_parse_uevent(s, "PCI_ID", &v) == 0)
                free(v);
        if (nvv_host_parse_driver_information(s, &v) == 0)
                free(v);
        if (nvv_host_capture_information(s, "0000:00:06.0", &v) == 0)
                free(v);
        if (nvv_sysfs_normalize("bus/pci/devices", s, &n) == 0) {
                size_t len = strlen(n);

                /* The result never climbs: no ".." component anywhere. */
                if (streq(n, "..") || strncmp(n, "../", 3) == 0 || strstr(n, "/../") ||
                    (len >= 3 && streq(n + len - 3, "/..")) || n[0] == '/')
                        abort();
                free(n);
        }
        /* What host scan shows of a name: valid UTF-8, no control left for a terminal. */
        for (unsigned f = 0; f <= NVV_ESCAPE_CONTROL; f++) {
                char *e = nvv_escape(s, f);

                if (!e)
                        break;
                if (!nvv_utf8_is_valid(e))
                        abort();
                for (const unsigned char *p = (const unsigned char *) e; f && *p; p++)
                        if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0))
                                abort();
                free(e);
        }
        {
                const char *colon = strchr(s, '\n');

                if (colon)
                        (void) nvv_hotplug_parse_ids(s, colon + 1, &dev, &u);
        }
        free(s);
        return 0;
}
