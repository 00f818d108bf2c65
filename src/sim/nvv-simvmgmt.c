/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The upstream stack of one simulated GPU (nvv-simvmgmt.h). The firmware's rules, as
 * nvvgpu models them (doc/kernel-interface.md §6):
 *   add_type          replaces a type of the same id; refused while a VF holds that type
 *                     (IN_USE) and when the table is full (INSUFFICIENT_RESOURCES)
 *   query_supported   the types uploaded, in upload order
 *   query_creatable   those an assign would take now: all with room while no VF has a type;
 *                     once one has, the plan is locked to that type ("once any VF is bound,
 *                     GSP locks the PF's placement plan", NVIDIA's vgpu-mgmt tool notes)
 *   assign            INVALID_ARGUMENT: not a VF of this GPU, or a type the plan does not
 *                     take; OBJECT_NOT_FOUND: no such type; IN_USE: the VF has a type;
 *                     INSUFFICIENT_RESOURCES: max_instance reached, or the placement asked
 *                     for is taken (as the kernel's placement allocator's ENOSPC)
 *   deassign          INVALID_ARGUMENT / OBJECT_NOT_FOUND (no type) / IN_USE (VFIO open)
 *   query_properties  OBJECT_NOT_FOUND for an unknown type
 *   query_assigned    INVALID_ARGUMENT for a VF not of this GPU; type 0 when none
 * A malformed payload is INVALID_ARGUMENT. The kernel part refuses another scope and any
 * other command id with EPERM (fwctl.rs is_command_permitted) and caps replies at the
 * description's max_reply.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "nvv-simvmgmt.h"
#include "util.h"

struct nvv_simvmgmt {
        struct nvv_simvmgmt_config cfg;
        pthread_mutex_t lock;
        bool gone;
        size_t n_types;
        struct nvv_vgpu_type types[NVV_MAX_VGPU_TYPES];
        struct nvv_simvmgmt_vf vfs[NVV_MAX_VGPUS];
        int fail_cmd;
        uint32_t fail_status;
        uint64_t rpcs, refused;
        uint8_t reply[65536];
};

int nvv_simvmgmt_new(const struct nvv_simvmgmt_config *cfg, struct nvv_simvmgmt **ret)
{
        struct nvv_simvmgmt *s;

        assert_return(cfg && cfg->vm && ret && cfg->num_vfs <= NVV_MAX_VGPUS, -EINVAL);
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->cfg = *cfg;
        if (!s->cfg.vf_stride)
                s->cfg.vf_stride = 1;
        s->fail_cmd = -1;
        pthread_mutex_init(&s->lock, NULL);
        *ret = s;
        return 0;
}

struct nvv_simvmgmt *nvv_simvmgmt_free(struct nvv_simvmgmt *s)
{
        if (!s)
                return NULL;
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
}

/* The VF's index, or -1 when it is not one of this GPU's. */
static int vf_index(const struct nvv_simvmgmt *s, const struct nvv_pci_addr *a)
{
        unsigned pf_devfn = (unsigned) s->cfg.pf.dev << 3 | s->cfg.pf.fn;

        for (uint32_t i = 0; i < s->cfg.num_vfs; i++) {
                unsigned devfn = pf_devfn + s->cfg.vf_offset + i * s->cfg.vf_stride;
                unsigned bus = s->cfg.pf.bus + devfn / 256;

                if (a->domain == s->cfg.pf.domain && a->bus == bus && ((unsigned) a->dev << 3 | a->fn) == devfn % 256)
                        return (int) i;
        }
        return -1;
}

const char *nvv_simvmgmt_get_revision(const struct nvv_simvmgmt *s)
{
        return nvv_vmgmt_get_revision(s->cfg.vm);
}

uint32_t nvv_simvmgmt_get_scope(const struct nvv_simvmgmt *s)
{
        return nvv_vmgmt_get_scope(s->cfg.vm);
}

bool nvv_simvmgmt_has_vf(const struct nvv_simvmgmt *s, const struct nvv_pci_addr *vf)
{
        return vf_index(s, vf) >= 0;
}

static const struct nvv_vgpu_type *find_type(const struct nvv_simvmgmt *s, uint32_t id)
{
        for (size_t i = 0; i < s->n_types; i++)
                if (s->types[i].type_id == id)
                        return &s->types[i];
        return NULL;
}

static uint32_t count_of(const struct nvv_simvmgmt *s, uint32_t id, uint32_t *ret_locked)
{
        uint32_t n = 0;

        *ret_locked = 0;
        for (uint32_t i = 0; i < s->cfg.num_vfs; i++)
                if (s->vfs[i].type_id) {
                        *ret_locked = s->vfs[i].type_id;
                        n += s->vfs[i].type_id == id;
                }
        return n;
}

static bool vf_free(const struct nvv_simvmgmt *s)
{
        for (uint32_t i = 0; i < s->cfg.num_vfs; i++)
                if (!s->vfs[i].type_id)
                        return true;
        return false;
}

static bool creatable(const struct nvv_simvmgmt *s, const struct nvv_vgpu_type *t)
{
        uint32_t locked, n = count_of(s, t->type_id, &locked);

        return (!locked || locked == t->type_id) && n < t->max_instance && vf_free(s);
}

static bool placement_taken(const struct nvv_simvmgmt *s, uint32_t type_id, uint32_t p)
{
        for (uint32_t i = 0; i < s->cfg.num_vfs; i++)
                if (s->vfs[i].type_id == type_id && s->vfs[i].placement_id == p)
                        return true;
        return false;
}

static uint32_t status_of(const struct nvv_simvmgmt *s, const char *name)
{
        uint32_t v = 0;

        /* A description without the name still refuses: its generic status, else 0xffff. */
        if (nvv_vmgmt_status_value(s->cfg.vm, name, &v) < 0 &&
            nvv_vmgmt_status_value(s->cfg.vm, "NV_ERR_GENERIC", &v) < 0)
                v = 0xffff;
        return v;
}

/* The firmware: runs cmd, fills io, returns the status. */
static uint32_t execute(struct nvv_simvmgmt *s, int cmd, struct nvv_vmgmt_io *io)
{
        const struct nvv_vgpu_type *t;
        uint32_t locked, n;
        int i;

        switch (cmd) {
        case NVV_VMGMT_ADD_TYPE: {
                struct nvv_vgpu_type *slot = (struct nvv_vgpu_type *) find_type(s, io->type.type_id);

                if (slot) {
                        (void) count_of(s, slot->type_id, &locked);
                        for (uint32_t k = 0; k < s->cfg.num_vfs; k++)
                                if (s->vfs[k].type_id == slot->type_id)
                                        return status_of(s, "NV_ERR_IN_USE");
                } else {
                        if (s->n_types >= MIN((size_t) NVV_MAX_VGPU_TYPES,
                                              (size_t) nvv_vmgmt_get_fwabi(s->cfg.vm)->sizing.max_vgpu_types_per_pgpu))
                                return status_of(s, "NV_ERR_INSUFFICIENT_RESOURCES");
                        slot = &s->types[s->n_types++];
                }
                *slot = io->type;
                return 0;
        }
        case NVV_VMGMT_QUERY_SUPPORTED:
        case NVV_VMGMT_QUERY_CREATABLE:
                io->n_ids = 0;
                for (size_t k = 0; k < s->n_types; k++)
                        if (cmd == NVV_VMGMT_QUERY_SUPPORTED || creatable(s, &s->types[k]))
                                io->ids[io->n_ids++] = s->types[k].type_id;
                return 0;
        case NVV_VMGMT_ASSIGN:
                i = vf_index(s, &io->vf);
                if (i < 0)
                        return status_of(s, "NV_ERR_INVALID_ARGUMENT");
                t = find_type(s, io->type_id);
                if (!t)
                        return status_of(s, "NV_ERR_OBJECT_NOT_FOUND");
                if (s->vfs[i].type_id)
                        return status_of(s, "NV_ERR_IN_USE");
                n = count_of(s, t->type_id, &locked);
                if (locked && locked != t->type_id)
                        return status_of(s, "NV_ERR_INVALID_ARGUMENT");
                if (n >= t->max_instance)
                        return status_of(s, "NV_ERR_INSUFFICIENT_RESOURCES");
                if (io->placement_id != NVV_PLACEMENT_NONE) {
                        if (io->placement_id >= t->max_instance)
                                return status_of(s, "NV_ERR_INVALID_ARGUMENT");
                        if (placement_taken(s, t->type_id, io->placement_id))
                                return status_of(s, "NV_ERR_INSUFFICIENT_RESOURCES");
                } else
                        for (io->placement_id = 0; placement_taken(s, t->type_id, io->placement_id); io->placement_id++)
                                ;
                s->vfs[i] = (struct nvv_simvmgmt_vf) { .type_id = t->type_id, .placement_id = io->placement_id };
                return 0;
        case NVV_VMGMT_DEASSIGN:
                i = vf_index(s, &io->vf);
                if (i < 0)
                        return status_of(s, "NV_ERR_INVALID_ARGUMENT");
                if (!s->vfs[i].type_id)
                        return status_of(s, "NV_ERR_OBJECT_NOT_FOUND");
                if (s->vfs[i].opens || s->vfs[i].booted)
                        return status_of(s, "NV_ERR_IN_USE");
                s->vfs[i] = (struct nvv_simvmgmt_vf) {};
                return 0;
        case NVV_VMGMT_QUERY_PROPERTIES:
                t = find_type(s, io->type_id);
                if (!t)
                        return status_of(s, "NV_ERR_OBJECT_NOT_FOUND");
                io->type = *t;
                return 0;
        case NVV_VMGMT_QUERY_ASSIGNED:
                i = vf_index(s, &io->vf);
                if (i < 0)
                        return status_of(s, "NV_ERR_INVALID_ARGUMENT");
                io->type_id = s->vfs[i].type_id;
                io->placement_id = s->vfs[i].type_id ? s->vfs[i].placement_id : NVV_PLACEMENT_NONE;
                io->swizz_id = 0;
                return 0;
        default:
                return status_of(s, "NV_ERR_INVALID_COMMAND");
        }
}

int nvv_simvmgmt_rpc(struct nvv_simvmgmt *s, uint32_t scope, const void *in, size_t in_len, void *out, size_t out_cap,
                     size_t *ret_len)
{
        const struct nvv_vmgmt *vm;
        _cleanup_free_ struct nvv_vmgmt_io *io = calloc(1, sizeof(*io));
        uint32_t status;
        size_t len = 0;
        int cmd, r;

        assert_return(s && ret_len, -EINVAL);
        if (!io)
                return -ENOMEM;
        vm = s->cfg.vm;
        pthread_mutex_lock(&s->lock);
        if (s->gone) {
                pthread_mutex_unlock(&s->lock);
                return -ENODEV;
        }
        s->rpcs++;
        /* The kernel: the header, then the permitted set at the scope. */
        if (!in || in_len < nvv_vmgmt_get_header_size(vm)) {
                pthread_mutex_unlock(&s->lock);
                return -EINVAL;
        }
        r = nvv_vmgmt_parse_request(vm, in, in_len, &cmd, io, NULL, 0);
        if (scope != nvv_vmgmt_get_scope(vm) || cmd == -ENOENT) {
                pthread_mutex_unlock(&s->lock);
                return -EPERM;
        }
        /* The firmware. */
        if (r < 0)
                status = status_of(s, "NV_ERR_INVALID_ARGUMENT");
        else if (s->fail_cmd == cmd) {
                status = s->fail_status;
                s->fail_cmd = -1;
        } else
                status = execute(s, cmd, io);
        if (status != 0)
                s->refused++;
        if (status != 0 && s->cfg.eio) {
                pthread_mutex_unlock(&s->lock);
                return -EIO;
        }
        r = nvv_vmgmt_encode_reply(vm, cmd, status, io, s->reply,
                                   MIN(sizeof(s->reply), (size_t) nvv_vmgmt_get_header_size(vm) + nvv_vmgmt_get_max_reply(vm)),
                                   &len, NULL, 0);
        if (r >= 0 && len > out_cap)
                r = -EMSGSIZE;
        if (r >= 0) {
                memcpy(out, s->reply, len);
                *ret_len = len;
        }
        pthread_mutex_unlock(&s->lock);
        return r < 0 ? (r == -ENOBUFS ? -EMSGSIZE : r) : 0;
}

int nvv_simvmgmt_vfio(struct nvv_simvmgmt *s, const struct nvv_pci_addr *vf, bool open, char *err, size_t errlen)
{
        char name[16];
        int i, r = 0;

        assert_return(s && vf, -EINVAL);
        nvv_pci_addr_format(vf, name);
        pthread_mutex_lock(&s->lock);
        i = vf_index(s, vf);
        if (s->gone) {
                nvv_errf(err, errlen, "VF %s: the GPU is gone", name);
                r = -ENODEV;
        } else if (i < 0) {
                nvv_errf(err, errlen, "%s is not a VF of GPU %04x:%02x:%02x.%x", name, s->cfg.pf.domain, s->cfg.pf.bus,
                         s->cfg.pf.dev, s->cfg.pf.fn);
                r = -ENOENT;
        } else if (open) {
                /* nvidia_vgpu_open → open_instance: the type assigned, its properties, then the
                 * instance (booted once, on the first open). */
                if (!s->vfs[i].opens && !s->vfs[i].type_id) {
                        nvv_errf(err, errlen, "VF %s has no vGPU type assigned: the variant driver cannot boot it", name);
                        r = -ENODEV;
                } else if (!s->vfs[i].opens && !find_type(s, s->vfs[i].type_id)) {
                        nvv_errf(err, errlen, "VF %s: its type %u is not in the firmware's table", name, s->vfs[i].type_id);
                        r = -ENODEV;
                } else {
                        s->vfs[i].opens++;
                        s->vfs[i].booted = true;
                }
        } else if (!s->vfs[i].opens) {
                nvv_errf(err, errlen, "VF %s is not open", name);
                r = -EBADF;
        } else if (--s->vfs[i].opens == 0)
                s->vfs[i].booted = false;  /* close_instance on the last close */
        pthread_mutex_unlock(&s->lock);
        return r;
}

void nvv_simvmgmt_set_present(struct nvv_simvmgmt *s, bool present)
{
        pthread_mutex_lock(&s->lock);
        if (!present) {
                s->gone = true;
        } else if (s->gone) {
                s->gone = false;
                s->n_types = 0;
                memset(s->vfs, 0, sizeof(s->vfs));
        }
        pthread_mutex_unlock(&s->lock);
}

int nvv_simvmgmt_fail_next(struct nvv_simvmgmt *s, int cmd, const char *status)
{
        uint32_t v;

        if (cmd < 0 || cmd >= _NVV_VMGMT_MAX || nvv_vmgmt_status_value(s->cfg.vm, status, &v) < 0 || v == 0)
                return -ENOENT;
        pthread_mutex_lock(&s->lock);
        s->fail_cmd = cmd;
        s->fail_status = v;
        pthread_mutex_unlock(&s->lock);
        return 0;
}

void nvv_simvmgmt_get_state(struct nvv_simvmgmt *s, struct nvv_simvmgmt_state *ret)
{
        pthread_mutex_lock(&s->lock);
        *ret = (struct nvv_simvmgmt_state) { .n_types = s->n_types, .num_vfs = s->cfg.num_vfs, .rpcs = s->rpcs,
                                             .refused = s->refused };
        for (size_t i = 0; i < s->n_types; i++)
                ret->type_ids[i] = s->types[i].type_id;
        memcpy(ret->vfs, s->vfs, sizeof(ret->vfs));
        pthread_mutex_unlock(&s->lock);
}

struct json_object *nvv_simvmgmt_status_json(struct nvv_simvmgmt *s)
{
        _cleanup_free_ struct nvv_simvmgmt_state *st = calloc(1, sizeof(*st));
        json_object *o = json_object_new_object(), *types = json_object_new_array(), *vfs = json_object_new_array();
        unsigned pf_devfn = (unsigned) s->cfg.pf.dev << 3 | s->cfg.pf.fn;

        if (!st || !o || !types || !vfs) {
                json_object_put(o);
                json_object_put(types);
                json_object_put(vfs);
                return NULL;
        }
        nvv_simvmgmt_get_state(s, st);
        json_object_object_add(o, "revision", json_object_new_string(nvv_vmgmt_get_revision(s->cfg.vm)));
        json_object_object_add(o, "convention", json_object_new_string(s->cfg.eio ? "eio" : "status"));
        for (size_t i = 0; i < st->n_types; i++)
                json_object_array_add(types, json_object_new_int64(st->type_ids[i]));
        json_object_object_add(o, "types", types);
        for (uint32_t i = 0; i < st->num_vfs; i++) {
                json_object *v = json_object_new_object();
                unsigned devfn = pf_devfn + s->cfg.vf_offset + i * s->cfg.vf_stride;
                struct nvv_pci_addr a = { .domain = s->cfg.pf.domain, .bus = (uint8_t) (s->cfg.pf.bus + devfn / 256),
                                          .dev = (uint8_t) ((devfn % 256) >> 3), .fn = (uint8_t) (devfn & 7) };
                char name[16];

                nvv_pci_addr_format(&a, name);
                json_object_object_add(v, "vf_index", json_object_new_int64(i));
                json_object_object_add(v, "vf", json_object_new_string(name));
                json_object_object_add(v, "type_id", json_object_new_int64(st->vfs[i].type_id));
                json_object_object_add(v, "placement_id", json_object_new_int64(st->vfs[i].placement_id));
                json_object_object_add(v, "opens", json_object_new_int64(st->vfs[i].opens));
                json_object_object_add(v, "booted", json_object_new_boolean(st->vfs[i].booted));
                json_object_array_add(vfs, v);
        }
        json_object_object_add(o, "vfs", vfs);
        json_object_object_add(o, "rpcs", json_object_new_int64((int64_t) st->rpcs));
        json_object_object_add(o, "refused", json_object_new_int64((int64_t) st->refused));
        return o;
}
