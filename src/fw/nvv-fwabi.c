/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-cmd.h"
#include "nvv-fwabi.h"
#include "util.h"

static const char *const object_names[_NVV_OBJ_MAX] = {
        [NVV_OBJ_CLIENT] = "client",
        [NVV_OBJ_DEVICE] = "device",
        [NVV_OBJ_SUBDEVICE] = "subdevice",
        [NVV_OBJ_HOST_VGPU_DEVICE] = "host_vgpu_device",
};

const char *nvv_object_to_string(enum nvv_object o)
{
        if ((int) o < 0 || o >= _NVV_OBJ_MAX)
                return NULL;
        return object_names[o];
}

/* ---- structs ---- */

int nvv_wstruct_compare_name(const void *a, const void *b)
{
        return strcmp(((const struct nvv_wstruct *) a)->name, ((const struct nvv_wstruct *) b)->name);
}

const struct nvv_wstruct *nvv_fwabi_find_struct(const struct nvv_fwabi *fw, const char *name)
{
        struct nvv_wstruct key = { .name = (char *) name };

        if (!fw->structs)
                return NULL;
        return bsearch(&key, fw->structs, fw->n_structs, sizeof(struct nvv_wstruct), nvv_wstruct_compare_name);
}

int nvv_named_compare_value(const void *a, const void *b)
{
        const struct nvv_named *x = a, *y = b;

        return x->value < y->value ? -1 : x->value > y->value ? 1 : 0;
}

static const struct nvv_named *named_by_value(const struct nvv_named *t, size_t n, uint32_t v)
{
        struct nvv_named key = { .value = v };

        if (!t || n == 0)
                return NULL;
        return bsearch(&key, t, n, sizeof(struct nvv_named), nvv_named_compare_value);
}

static const struct nvv_named *named_by_name(const struct nvv_named *t, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (streq(t[i].name, name))
                        return &t[i];
        return NULL;
}

const char *nvv_fwabi_function_name(const struct nvv_fwabi *fw, uint32_t value)
{
        const struct nvv_named *e = named_by_value(fw->functions, fw->n_functions, value);

        return e ? e->name : NULL;
}

const char *nvv_fwabi_event_name(const struct nvv_fwabi *fw, uint32_t value)
{
        const struct nvv_named *e = named_by_value(fw->events, fw->n_events, value);

        return e ? e->name : NULL;
}

int nvv_fwabi_function_value(const struct nvv_fwabi *fw, const char *name, uint32_t *ret)
{
        const struct nvv_named *e = named_by_name(fw->functions, fw->n_functions, name);

        if (!e)
                return -ENOENT;
        *ret = e->value;
        return 0;
}

int nvv_fwabi_event_value(const struct nvv_fwabi *fw, const char *name, uint32_t *ret)
{
        const struct nvv_named *e = named_by_name(fw->events, fw->n_events, name);

        if (!e)
                return -ENOENT;
        *ret = e->value;
        return 0;
}

int nvv_fwabi_host_msg_value(const struct nvv_fwabi *fw, const char *name, uint32_t *ret)
{
        const struct nvv_named *e = named_by_name(fw->host_msgs, fw->n_host_msgs, name);

        if (!e)
                return -ENOENT;
        *ret = e->value;
        return 0;
}

const char *nvv_fwabi_host_msg_name(const struct nvv_fwabi *fw, uint32_t value)
{
        const struct nvv_named *e = named_by_value(fw->host_msgs, fw->n_host_msgs, value);

        return e ? e->name : NULL;
}

/* ---- queue ---- */

int nvv_control_compare_id(const void *a, const void *b)
{
        const struct nvv_control *x = a, *y = b;

        return x->id < y->id ? -1 : x->id > y->id ? 1 : 0;
}

const struct nvv_control *nvv_fwabi_control_by_id(const struct nvv_fwabi *fw, uint32_t id)
{
        struct nvv_control key = { .id = id };

        if (!fw->controls)
                return NULL;
        return bsearch(&key, fw->controls, fw->n_controls, sizeof(struct nvv_control), nvv_control_compare_id);
}

const struct nvv_control *nvv_fwabi_control_by_name(const struct nvv_fwabi *fw, const char *name)
{
        for (size_t i = 0; i < fw->n_controls; i++)
                if (streq(fw->controls[i].name, name))
                        return &fw->controls[i];
        return NULL;
}

const struct nvv_alloc *nvv_fwabi_alloc_by_class(const struct nvv_fwabi *fw, uint32_t hclass)
{
        for (size_t i = 0; i < fw->n_allocs; i++)
                if (fw->allocs[i].hclass == hclass)
                        return &fw->allocs[i];
        return NULL;
}

const struct nvv_alloc *nvv_fwabi_alloc_by_name(const struct nvv_fwabi *fw, const char *name)
{
        for (size_t i = 0; i < fw->n_allocs; i++)
                if (streq(fw->allocs[i].name, name))
                        return &fw->allocs[i];
        return NULL;
}

const struct nvv_domain *nvv_fwabi_find_domain(const struct nvv_fwabi *fw, const char *name)
{
        return nvv_domain_find(fw->domains, fw->n_domains, name);
}

int nvv_status_compare_value(const void *a, const void *b)
{
        const struct nvv_status *x = a, *y = b;

        return x->value < y->value ? -1 : x->value > y->value ? 1 : 0;
}

const struct nvv_status *nvv_fwabi_status(const struct nvv_fwabi *fw, uint32_t value)
{
        struct nvv_status key = { .value = value };

        if (!fw->status)
                return NULL;
        return bsearch(&key, fw->status, fw->n_status, sizeof(struct nvv_status), nvv_status_compare_value);
}

int nvv_fwabi_status_to_errno(const struct nvv_fwabi *fw, uint32_t status)
{
        const struct nvv_status *s;

        if (status == 0)
                return 0;
        s = nvv_fwabi_status(fw, status);
        return s ? -s->errno_value : -EIO;
}

const char *nvv_fwabi_status_to_string(const struct nvv_fwabi *fw, uint32_t status, char *buf, size_t size)
{
        const struct nvv_status *s = nvv_fwabi_status(fw, status);

        if (s)
                snprintf(buf, size, "%s (0x%x)", s->name, status);
        else
                snprintf(buf, size, "unknown status 0x%x", status);
        return buf;
}

const struct nvv_binding *nvv_fwabi_command(const struct nvv_fwabi *fw, int cmd)
{
        if (cmd < 0 || cmd >= _NVV_CMD_MAX)
                return NULL;
        return fw->commands[cmd];
}

const struct nvv_event_binding *nvv_fwabi_event_binding(const struct nvv_fwabi *fw, uint32_t number)
{
        for (int i = 0; i < _NVV_EVENT_MAX; i++)
                if (fw->event_bindings[i] && fw->event_bindings[i]->number == number)
                        return fw->event_bindings[i];
        return NULL;
}

/* ---- release strings ---- */

bool nvv_release_is_valid(const char *s)
{
        int parts = 0;

        if (!s || !*s || strlen(s) > 32)
                return false;
        for (const char *p = s; *p;) {
                if (*p < '0' || *p > '9')
                        return false;
                while (*p >= '0' && *p <= '9')
                        p++;
                parts++;
                if (*p == '.') {
                        p++;
                        if (!*p)
                                return false;
                } else if (*p)
                        return false;
        }
        return parts >= 2 && parts <= 4;
}

int nvv_release_compare(const char *a, const char *b)
{
        while (*a || *b) {
                unsigned long x = strtoul(a, (char **) &a, 10), y = strtoul(b, (char **) &b, 10);

                if (x != y)
                        return x < y ? -1 : 1;
                if (*a == '.')
                        a++;
                if (*b == '.')
                        b++;
                if (!*a && *b)
                        return -1;
                if (*a && !*b)
                        return 1;
        }
        return 0;
}

int nvv_fwabi_serves(const struct nvv_fwabi *fw, const char *release)
{
        if (streq(fw->release, release))
                return 2;
        for (char **p = fw->compatible; p && *p; p++)
                if (startswith(release, *p))
                        return 1;
        return 0;
}

/* ---- top level ---- */

struct nvv_fwabi *nvv_fwabi_free(struct nvv_fwabi *fw)
{
        if (!fw)
                return NULL;
        free(fw->release);
        strv_free(fw->compatible);
        free(fw->path);
        free(fw->source);
        for (size_t i = 0; i < fw->n_structs; i++) {
                for (size_t j = 0; j < fw->structs[i].n_fields; j++) {
                        free(fw->structs[i].fields[j].name);
                        free(fw->structs[i].fields[j].type_name);
                }
                free(fw->structs[i].fields);
                free(fw->structs[i].name);
                free(fw->structs[i].source);
        }
        free(fw->structs);
        for (size_t i = 0; i < fw->n_functions; i++)
                free(fw->functions[i].name);
        free(fw->functions);
        for (size_t i = 0; i < fw->n_events; i++)
                free(fw->events[i].name);
        free(fw->events);
        for (size_t i = 0; i < fw->n_host_msgs; i++)
                free(fw->host_msgs[i].name);
        free(fw->host_msgs);
        for (size_t i = 0; i < fw->n_controls; i++)
                free(fw->controls[i].name);
        free(fw->controls);
        for (size_t i = 0; i < fw->n_allocs; i++)
                free(fw->allocs[i].name);
        free(fw->allocs);
        for (size_t i = 0; i < fw->n_domains; i++) {
                for (size_t j = 0; j < fw->domains[i].n; j++)
                        free(fw->domains[i].entries[j].name);
                free(fw->domains[i].entries);
                free(fw->domains[i].name);
        }
        free(fw->domains);
        for (size_t i = 0; i < fw->n_status; i++)
                free(fw->status[i].name);
        free(fw->status);
        for (size_t i = 0; i < ELEMENTSOF(fw->commands); i++)
                if (fw->commands[i]) {
                        free(fw->commands[i]->name);
                        nvv_wplan_free(fw->commands[i]->plan);
                        free(fw->commands[i]);
                }
        for (size_t i = 0; i < ELEMENTSOF(fw->event_bindings); i++)
                if (fw->event_bindings[i]) {
                        free(fw->event_bindings[i]->name);
                        nvv_wplan_free(fw->event_bindings[i]->plan);
                        free(fw->event_bindings[i]);
                }
        strv_free(fw->sizing.gsp_fw_heap_48vms_devices);
        free(fw->init);
        free(fw);
        return NULL;
}

