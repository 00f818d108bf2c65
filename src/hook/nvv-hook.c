/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt hook's decisions. The operations and sub-operations are libvirt's qemu hook
 * calls (https://libvirt.org/hooks.html, "/etc/libvirt/hooks/qemu"):
 *   prepare begin   before libvirt labels resources and starts QEMU; a failure refuses the start
 *   start begin, started begin, reconnect begin, attach begin   nothing for nvvgpu to do here
 *                   (a failing reconnect would make libvirt kill the running QEMU)
 *   stopped end, release end   the guest is gone; release end also comes after a failed start
 *   migrate begin, restore begin   the only calls whose stdout libvirt reads: it is the domain
 *                   XML to use (scripts in qemu.d/ each filter the previous one's output)
 */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "nvv-hook.h"
#include "nvv-ipc.h"
#include "nvv-ipcsock.h"
#include "nvv-sysfs.h"
#include "util.h"

static const char *const action_table[_NVV_HOOK_ACTION_MAX] = {
        [NVV_HOOK_IGNORE] = "ignore",
        [NVV_HOOK_PREPARE] = "prepare",
        [NVV_HOOK_RELEASE] = "release",
        [NVV_HOOK_FILTER] = "filter",
};

const char *nvv_hook_action_to_string(enum nvv_hook_action a)
{
        return a >= 0 && a < _NVV_HOOK_ACTION_MAX ? action_table[a] : NULL;
}

enum nvv_hook_action nvv_hook_action_from_args(const char *operation, const char *sub_operation)
{
        static const struct {
                const char *op, *sub;
                enum nvv_hook_action action;
        } table[] = {
                { "prepare", "begin", NVV_HOOK_PREPARE },
                { "stopped", "end", NVV_HOOK_RELEASE },
                { "release", "end", NVV_HOOK_RELEASE },
                { "migrate", "begin", NVV_HOOK_FILTER },
                { "restore", "begin", NVV_HOOK_FILTER },
        };

        if (!operation || !sub_operation)
                return NVV_HOOK_IGNORE;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(operation, table[i].op) && streq(sub_operation, table[i].sub))
                        return table[i].action;
        return NVV_HOOK_IGNORE;
}

static inline void json_putp(json_object **o)
{
        if (*o)
                json_object_put(*o);
        *o = NULL;
}

static int request_text(const char *method, json_object *params, char **ret_text)
{
        _cleanup_(json_putp) json_object *o = json_object_new_object();
        const char *s;

        if (!o || !params) {
                json_object_put(params);
                return -ENOMEM;
        }
        json_object_object_add(o, "version", json_object_new_int(NVV_IPC_VERSION));
        json_object_object_add(o, "method", json_object_new_string(method));
        json_object_object_add(o, "params", params);
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        if (!s)
                return -ENOMEM;
        *ret_text = strdup(s);
        return *ret_text ? 0 : -ENOMEM;
}

static int check_vm(const char *vm, char **reterr_msg)
{
        _cleanup_free_ char *msg = NULL;

        if (nvv_ipc_check_vm_name(vm, &msg) < 0)
                return nvv_fail(reterr_msg, "nvvgpud cannot serve this VM: %s", msg ? msg : "bad name");
        return 0;
}

int nvv_hook_request_of_domxml(const char *vm, const struct nvv_domxml *dx, struct nvv_ipc_request *ret,
                               char **reterr_msg)
{
        struct nvv_ipc_request q = { .method = NVV_IPC_VM_PREPARE };
        char spec[NVV_DOMXML_SPEC_MAX];
        int r;

        assert_return(dx && ret, -EINVAL);
        _Static_assert(NVV_DOMXML_MAX_MDEVS <= NVV_IPC_MAX_UUIDS && NVV_DOMXML_MAX_PCI <= NVV_IPC_MAX_PCI &&
                               NVV_DOMXML_MAX_REQUESTS <= NVV_IPC_MAX_UUIDS && NVV_DOMXML_SPEC_MAX <= NVV_IPC_SPEC_MAX &&
                               NVV_DOMXML_TYPE_MAX <= NVV_IPC_TYPE_MAX,
                       "a domain's asks fit in a vm-prepare request");
        r = check_vm(vm, reterr_msg);
        if (r < 0)
                return r;
        r = nvv_domxml_request_spec(dx, spec, sizeof(spec));
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "the vGPU request list is too long");
        snprintf(q.vm, sizeof(q.vm), "%s", vm);
        memcpy(q.vm_uuid, dx->uuid, sizeof(q.vm_uuid));
        q.n_uuids = dx->n_mdevs;
        memcpy(q.uuids, dx->mdevs, sizeof(dx->mdevs[0]) * dx->n_mdevs);
        q.n_pci = dx->n_pci;
        memcpy(q.pci, dx->pci, sizeof(dx->pci[0]) * dx->n_pci);
        for (size_t i = 0; i < dx->n_requests; i++)
                if (dx->requests[i].uuid[0]) {
                        memcpy(q.named[q.n_named].uuid, dx->requests[i].uuid, sizeof(q.named[0].uuid));
                        memcpy(q.named[q.n_named].type, dx->requests[i].type, sizeof(dx->requests[i].type));
                        q.n_named++;
                }
        memcpy(q.spec, spec, sizeof(spec));
        *ret = q;
        return 0;
}

int nvv_hook_prepare_request(const char *vm, const struct nvv_domxml *dx, char **ret_text, char **reterr_msg)
{
        struct nvv_ipc_request q;
        int r;

        assert_return(ret_text, -EINVAL);
        r = nvv_hook_request_of_domxml(vm, dx, &q, reterr_msg);
        if (r < 0)
                return r;
        return nvv_ipc_format_request(&q, ret_text);
}

int nvv_hook_prepare_xml_request(const char *vm, const char *xml, size_t size, char **ret_text, char **reterr_msg)
{
        _cleanup_free_ char *text = NULL;
        json_object *p;
        int r;

        assert_return(xml && ret_text, -EINVAL);
        r = check_vm(vm, reterr_msg);
        if (r < 0)
                return r;
        /* JSON's escapes make the text longer than the XML, never shorter. A NUL byte cannot
         * go in a JSON string: the hook's own reading refuses it, saying so. */
        if (size > NVV_IPC_MAX_REQUEST || memchr(xml, '\0', size))
                return -E2BIG;
        p = json_object_new_object();
        if (!p)
                return -ENOMEM;
        json_object_object_add(p, "vm", json_object_new_string(vm));
        json_object_object_add(p, "xml", json_object_new_string_len(xml, (int) size));
        r = request_text("vm-prepare", p, &text);
        if (r < 0)
                return r;
        if (strlen(text) > NVV_IPC_MAX_REQUEST)
                return -E2BIG;
        *ret_text = TAKE_PTR(text);
        return 0;
}

bool nvv_hook_is_nvidia_vf(const struct nvv_sysfs *sys, const char *bdf)
{
        char path[64];
        uint32_t vendor;

        assert_return(sys && bdf, false);
        snprintf(path, sizeof(path), "bus/pci/devices/%.12s/physfn", bdf);
        if (!nvv_sysfs_exists(sys, path))
                return false;
        snprintf(path, sizeof(path), "bus/pci/devices/%.12s/vendor", bdf);
        /* NVIDIA's PCI vendor id (the PCI-SIG vendor list; nvv-host.c probes for the same). */
        return nvv_sysfs_read_hex(sys, path, 16, &vendor) >= 0 && vendor == 0x10de;
}

int nvv_hook_release_request(const char *vm, char **ret_text, char **reterr_msg)
{
        json_object *p;
        int r;

        assert_return(ret_text, -EINVAL);
        r = check_vm(vm, reterr_msg);
        if (r < 0)
                return r;
        p = json_object_new_object();
        if (!p)
                return -ENOMEM;
        json_object_object_add(p, "vm", json_object_new_string(vm));
        return request_text("vm-release", p, ret_text);
}

int nvv_hook_call(const char *socket_path, const char *request, int timeout_ms, bool *ret_absent, char **reterr_msg)
{
        _cleanup_free_ char *reply = NULL, *msg = NULL;
        _cleanup_(json_putp) json_object *doc = NULL;
        _cleanup_close_ int fd = -EBADF;
        json_object *result = NULL;
        int r;

        assert_return(socket_path && request, -EINVAL);
        if (ret_absent)
                *ret_absent = false;
        r = nvv_ipcsock_connect(socket_path, &fd, &msg);
        if (r < 0) {
                if (ret_absent)
                        *ret_absent = r == -ENOENT || r == -ECONNREFUSED;
                return nvv_fail_errno(r, reterr_msg, "%s", msg ? msg : strerror(-r));
        }
        r = nvv_ipcsock_call(fd, request, timeout_ms, &reply, &msg);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s", msg ? msg : strerror(-r));
        free(msg);
        msg = NULL;
        r = nvv_ipc_parse_reply(reply, strlen(reply), &doc, &result, &msg);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s", msg ? msg : strerror(-r));
        return 0;
}
