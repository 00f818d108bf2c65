/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nvvgpud's IPC messages: strict request parsing and reply building (no I/O). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-ipc.h"
#include "nvv-json.h"
#include "util.h"

static const char *const method_names[_NVV_IPC_METHOD_MAX] = {
        [NVV_IPC_STATUS] = "status",   [NVV_IPC_GPUS] = "gpus",       [NVV_IPC_TYPES] = "types",
        [NVV_IPC_LIST] = "list",       [NVV_IPC_SHOW] = "show",       [NVV_IPC_CREATE] = "create",
        [NVV_IPC_DESTROY] = "destroy", [NVV_IPC_POLICY_RELOAD] = "policy-reload",
        [NVV_IPC_DEFINE] = "define",   [NVV_IPC_UNDEFINE] = "undefine", [NVV_IPC_START] = "start",
        [NVV_IPC_STOP] = "stop",       [NVV_IPC_SCHEDULER_GET] = "scheduler-get",
        [NVV_IPC_SCHEDULER_SET] = "scheduler-set", [NVV_IPC_PLAN] = "plan", [NVV_IPC_SUBSCRIBE] = "subscribe",
        [NVV_IPC_MODE_SET] = "mode-set",  [NVV_IPC_VM_PREPARE] = "vm-prepare", [NVV_IPC_VM_RELEASE] = "vm-release",
};

/* Which parameters each method takes; anything else is refused. */
static const char *const method_params[_NVV_IPC_METHOD_MAX][8] = {
        [NVV_IPC_STATUS] = { "prometheus" },
        [NVV_IPC_GPUS] = { "gpu" },
        [NVV_IPC_TYPES] = { "gpu", "creatable", "type" },
        [NVV_IPC_LIST] = { "gpu", "vm", "defined" },
        [NVV_IPC_SHOW] = { "uuid", "vm", "gpu" },
        [NVV_IPC_CREATE] = { "type", "gpu", "uuid", "vm" },
        [NVV_IPC_DESTROY] = { "uuid" },
        [NVV_IPC_POLICY_RELOAD] = {},
        [NVV_IPC_DEFINE] = { "uuid", "type", "gpu", "vm", "autostart" },
        [NVV_IPC_UNDEFINE] = { "uuid" },
        [NVV_IPC_START] = { "uuid" },
        [NVV_IPC_STOP] = { "uuid" },
        [NVV_IPC_SCHEDULER_GET] = { "gpu" },
        [NVV_IPC_SCHEDULER_SET] = { "gpu", "policy", "timeslice_ms", "arr", "arr_avg_factor", "arr_frequency" },
        [NVV_IPC_PLAN] = { "request" },
        [NVV_IPC_SUBSCRIBE] = {},
        [NVV_IPC_MODE_SET] = { "gpu", "mode" },
        [NVV_IPC_VM_PREPARE] = { "vm", "vm_uuid", "uuids", "pci", "named", "request", "xml" },
        [NVV_IPC_VM_RELEASE] = { "vm" },
};

const char *nvv_ipc_method_to_string(enum nvv_ipc_method m)
{
        return m >= 0 && m < _NVV_IPC_METHOD_MAX ? method_names[m] : NULL;
}

enum nvv_ipc_method nvv_ipc_method_from_string(const char *s)
{
        for (int i = 0; s && i < _NVV_IPC_METHOD_MAX; i++)
                if (streq(s, method_names[i]))
                        return i;
        return _NVV_IPC_METHOD_INVALID;
}

bool nvv_ipc_method_mutates(enum nvv_ipc_method m)
{
        return m == NVV_IPC_CREATE || m == NVV_IPC_DESTROY || m == NVV_IPC_POLICY_RELOAD || m == NVV_IPC_DEFINE ||
               m == NVV_IPC_UNDEFINE || m == NVV_IPC_START || m == NVV_IPC_STOP || m == NVV_IPC_SCHEDULER_SET ||
               m == NVV_IPC_MODE_SET || m == NVV_IPC_VM_PREPARE || m == NVV_IPC_VM_RELEASE;
}

/* Text that came from a client is quoted in messages only when it is short and printable. */
static const char *shown(const char *s, char buf[static 48])
{
        size_t n = strlen(s);

        for (size_t i = 0; i < n; i++)
                if (!isprint((unsigned char) s[i]))
                        return "(unprintable)";
        if (n <= 40)
                return s;
        snprintf(buf, 48, "%.37s...", s);
        return buf;
}

int nvv_ipc_check_uuid(const char *s, char out[static 37], char **reterr_msg)
{
        char b[48];

        if (!s || strlen(s) != 36)
                goto bad;
        for (size_t i = 0; i < 36; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;

                if (dash ? s[i] != '-' : !isxdigit((unsigned char) s[i]))
                        goto bad;
                out[i] = (char) tolower((unsigned char) s[i]);
        }
        out[36] = '\0';
        return 0;
bad:
        return nvv_fail_errno(-EINVAL, reterr_msg, "'%s' is not a UUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                              s ? shown(s, b) : "");
}

int nvv_ipc_check_bdf(const char *s, char out[static 13], char **reterr_msg)
{
        const char *p = s;
        char b[48], full[13];
        size_t n = s ? strlen(s) : 0;

        /* DDDD:BB:DD.F, or BB:DD.F in domain 0; hex digits; device ≤ 0x1f, function ≤ 7. */
        if (n == 7) {
                snprintf(full, sizeof(full), "0000:%s", s);
                p = full;
        } else if (n != 12)
                goto bad;
        for (size_t i = 0; i < 12; i++) {
                bool sep = i == 4 || i == 7 || i == 10;

                if (sep ? p[i] != (i == 10 ? '.' : ':') : !isxdigit((unsigned char) p[i]))
                        goto bad;
        }
        if (strtoul(p + 8, NULL, 16) > 0x1f || p[11] > '7')
                goto bad;
        for (size_t i = 0; i < 12; i++)
                out[i] = (char) tolower((unsigned char) p[i]);
        out[12] = '\0';
        return 0;
bad:
        return nvv_fail_errno(-EINVAL, reterr_msg, "'%s' is not a PCI address (expected DDDD:BB:DD.F, e.g. 0000:41:00.0)",
                              s ? shown(s, b) : "");
}

int nvv_ipc_check_type_name(const char *s, char **reterr_msg)
{
        char b[48];
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n >= NVV_IPC_TYPE_MAX)
                goto bad;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && s[i] != '-' && s[i] != '_')
                        goto bad;
        return 0;
bad:
        return nvv_fail_errno(-EINVAL, reterr_msg, "'%s' is not a vGPU type name (letters, digits, '-' and '_', e.g. L40S-8Q)",
                              s ? shown(s, b) : "");
}

int nvv_ipc_check_vm_name(const char *s, char **reterr_msg)
{
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > NVV_IPC_NAME_MAX)
                return nvv_fail_errno(-EINVAL, reterr_msg, "a VM name has 1 to %d characters", NVV_IPC_NAME_MAX);
        /* libvirt domain names: printable, no '/' (they become file names there). */
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f || s[i] == '/')
                        return nvv_fail_errno(-EINVAL, reterr_msg,
                                              "a VM name has no control characters and no '/'");
        return 0;
}

static int get_string_param(struct nvv_json *j, json_object *params, const char *key, size_t max, const char **ret);

static int get_bool_param(struct nvv_json *j, json_object *params, const char *key, bool *ret, bool *ret_set)
{
        json_object *v = NULL;
        size_t old;
        int r;

        r = nvv_json_member(j, params, key, false, &v);
        if (r < 0 || !v)
                return r;
        old = nvv_json_push(j, key);
        r = nvv_json_get_bool(j, v, ret);
        nvv_json_pop(j, old);
        if (r >= 0 && ret_set)
                *ret_set = true;
        return r;
}

static int get_u32_param(struct nvv_json *j, json_object *params, const char *key, uint32_t max, uint32_t *ret)
{
        json_object *v = NULL;
        size_t old;
        int r;

        r = nvv_json_member(j, params, key, false, &v);
        if (r < 0 || !v)
                return r;
        old = nvv_json_push(j, key);
        r = nvv_json_get_u32(j, v, max, ret);
        if (r >= 0 && *ret == 0)
                r = nvv_json_fail(j, "must be at least 1");
        nvv_json_pop(j, old);
        return r;
}

/* One of a fixed set of words; the message lists them. */
static int get_word_param(struct nvv_json *j, json_object *params, const char *key, const char *const *words,
                          char *out, size_t outlen)
{
        const char *s;
        int r = get_string_param(j, params, key, 64, &s);

        if (r < 0 || !s)
                return r;
        for (const char *const *w = words; *w; w++)
                if (streq(s, *w)) {
                        snprintf(out, outlen, "%s", s);
                        return 0;
                }
        {
                size_t old = nvv_json_push(j, key);
                char b[48];

                char list[128] = "";
                size_t k = 0;

                for (const char *const *w = words; *w && k < sizeof(list); w++)
                        k += (size_t) snprintf(list + k, sizeof(list) - k, "%s%s", w == words ? "" : ", ", *w);
                r = nvv_json_fail(j, "'%s' is not one of %s", shown(s, b), list);
                nvv_json_pop(j, old);
        }
        return r;
}

static int get_string_param(struct nvv_json *j, json_object *params, const char *key, size_t max, const char **ret)
{
        json_object *v = NULL;
        size_t old;
        int r;

        *ret = NULL;
        r = nvv_json_member(j, params, key, false, &v);
        if (r < 0 || !v)
                return r;
        old = nvv_json_push(j, key);
        r = nvv_json_get_string(j, v, max, ret);
        nvv_json_pop(j, old);
        return r;
}

/* An array of at most max ids (UUIDs, PCI addresses), each checked and canonicalised by check
 * into out[i * stride], none twice. */
static int get_id_array(struct nvv_json *j, json_object *params, const char *key, size_t max,
                        int (*check)(const char *s, char *out, char **reterr_msg), char *out, size_t stride,
                        size_t *ret_n, char **err)
{
        json_object *v = NULL;
        size_t old, n = 0;
        int r;

        r = nvv_json_member(j, params, key, false, &v);
        if (r < 0 || !v)
                return r;
        old = nvv_json_push(j, key);
        r = nvv_json_get_array(j, v, max, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                size_t o = nvv_json_push_index(j, i);
                const char *s;

                r = nvv_json_get_string(j, json_object_array_get_idx(v, i), 64, &s);
                if (r >= 0)
                        r = check(s, out + i * stride, err);
                for (size_t k = 0; r >= 0 && k < i; k++)
                        if (streq(out + k * stride, out + i * stride))
                                r = nvv_json_fail(j, "%s twice", out + i * stride);
                nvv_json_pop(j, o);
        }
        if (r >= 0)
                *ret_n = n;
        nvv_json_pop(j, old);
        return r;
}

/* vm-prepare's named: [{"uuid": U, "type": T}], the mdevs to make on demand, none twice. */
static int get_named(struct nvv_json *j, json_object *params, struct nvv_ipc_request *req, char **err)
{
        static const char *const keys[] = { "uuid", "type", NULL };
        json_object *v = NULL;
        size_t old, n = 0;
        int r;

        r = nvv_json_member(j, params, "named", false, &v);
        if (r < 0 || !v)
                return r;
        old = nvv_json_push(j, "named");
        r = nvv_json_get_array(j, v, NVV_IPC_MAX_UUIDS, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                size_t o = nvv_json_push_index(j, i);
                json_object *e = json_object_array_get_idx(v, i), *f = NULL;
                const char *s;

                if (!json_object_is_type(e, json_type_object))
                        r = nvv_json_fail(j, "expected an object {\"uuid\": ..., \"type\": ...}");
                if (r >= 0)
                        r = nvv_json_check_keys(j, e, keys);
                if (r >= 0)
                        r = nvv_json_member(j, e, "uuid", true, &f);
                if (r >= 0) {
                        size_t o2 = nvv_json_push(j, "uuid");

                        r = nvv_json_get_string(j, f, 64, &s);
                        if (r >= 0)
                                r = nvv_ipc_check_uuid(s, req->named[i].uuid, err);
                        nvv_json_pop(j, o2);
                }
                if (r >= 0)
                        r = nvv_json_member(j, e, "type", true, &f);
                if (r >= 0) {
                        size_t o2 = nvv_json_push(j, "type");

                        r = nvv_json_get_string(j, f, 64, &s);
                        if (r >= 0)
                                r = nvv_ipc_check_type_name(s, err);
                        if (r >= 0)
                                snprintf(req->named[i].type, sizeof(req->named[i].type), "%s", s);
                        nvv_json_pop(j, o2);
                }
                for (size_t k = 0; r >= 0 && k < i; k++)
                        if (streq(req->named[k].uuid, req->named[i].uuid))
                                r = nvv_json_fail(j, "%s twice", req->named[i].uuid);
                nvv_json_pop(j, o);
        }
        if (r >= 0)
                req->n_named = n;
        nvv_json_pop(j, old);
        return r;
}

void nvv_ipc_request_done(struct nvv_ipc_request *req)
{
        if (!req)
                return;
        free(req->xml);
        req->xml = NULL;
}

/* A refusal of a request parsed this far: what it owns freed. */
_printf_(4, 5) static int fail_request(struct nvv_ipc_request *req, char **reterr_msg, int error, const char *fmt, ...)
{
        char m[256];
        va_list ap;

        nvv_ipc_request_done(req);
        va_start(ap, fmt);
        (void) vsnprintf(m, sizeof(m), fmt, ap);
        va_end(ap);
        return nvv_fail_errno(error, reterr_msg, "%s", m);
}

int nvv_ipc_parse_request(const void *data, size_t size, struct nvv_ipc_request *ret, char **reterr_msg)
{
        _cleanup_json_ json_object *doc = NULL;
        _cleanup_free_ char *err = NULL;
        struct nvv_json j = { .file = "request", .err = &err };
        static const char *const top[] = { "version", "method", "params", NULL };
        json_object *v = NULL, *params = NULL;
        const char *method, *s;
        const char *allowed[9] = {};
        struct nvv_ipc_request req = {};
        uint32_t version;
        size_t n;
        int r;

        assert_return(data && ret, -EINVAL);
        if (size > NVV_IPC_MAX_REQUEST)
                return nvv_fail_errno(-EMSGSIZE, reterr_msg, "request of %zu bytes, at most %u", size, NVV_IPC_MAX_REQUEST);
        r = nvv_json_parse(&j, data, size, NVV_IPC_MAX_REQUEST, &doc);
        if (r >= 0 && !json_object_is_type(doc, json_type_object))
                r = nvv_json_fail(&j, "a request is a JSON object");
        if (r >= 0)
                r = nvv_json_check_keys(&j, doc, top);
        if (r >= 0)
                r = nvv_json_member(&j, doc, "version", true, &v);
        if (r >= 0) {
                size_t old = nvv_json_push(&j, "version");

                r = nvv_json_get_u32(&j, v, UINT32_MAX, &version);
                nvv_json_pop(&j, old);
        }
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s", err ? err : "bad request");
        if (version != NVV_IPC_VERSION)
                return nvv_fail_errno(-EPROTONOSUPPORT, reterr_msg,
                                      "request version %u; this nvvgpud speaks version %d", version, NVV_IPC_VERSION);
        r = nvv_json_member(&j, doc, "method", true, &v);
        if (r >= 0) {
                size_t old = nvv_json_push(&j, "method");

                r = nvv_json_get_string(&j, v, 64, &method);
                nvv_json_pop(&j, old);
        }
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s", err ? err : "bad request");
        req.method = nvv_ipc_method_from_string(method);
        if (req.method < 0) {
                char b[48];

                return nvv_fail_errno(-EOPNOTSUPP, reterr_msg, "unknown method '%s'", shown(method, b));
        }
        r = nvv_json_member_object(&j, doc, "params", false, &params);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s", err);
        if (params) {
                size_t old = nvv_json_push(&j, "params");

                for (n = 0; n < ELEMENTSOF(method_params[0]) && method_params[req.method][n]; n++)
                        allowed[n] = method_params[req.method][n];
                r = nvv_json_check_keys(&j, params, allowed);
                if (r >= 0 && (r = get_string_param(&j, params, "gpu", 64, &s)) >= 0 && s)
                        r = nvv_ipc_check_bdf(s, req.gpu, &err);
                if (r >= 0 && (r = get_string_param(&j, params, "uuid", 64, &s)) >= 0 && s)
                        r = nvv_ipc_check_uuid(s, req.uuid, &err);
                if (r >= 0 && (r = get_string_param(&j, params, "type", 64, &s)) >= 0 && s) {
                        r = nvv_ipc_check_type_name(s, &err);
                        if (r >= 0)
                                snprintf(req.type, sizeof(req.type), "%s", s);
                }
                if (r >= 0 && (r = get_string_param(&j, params, "vm", 4 * NVV_IPC_NAME_MAX, &s)) >= 0 && s) {
                        r = nvv_ipc_check_vm_name(s, &err);
                        if (r >= 0)
                                snprintf(req.vm, sizeof(req.vm), "%s", s);
                }
                if (r >= 0)
                        r = get_bool_param(&j, params, "creatable", &req.creatable, NULL);
                if (r >= 0)
                        r = get_bool_param(&j, params, "prometheus", &req.prometheus, NULL);
                if (r >= 0)
                        r = get_bool_param(&j, params, "defined", &req.defined, NULL);
                if (r >= 0)
                        r = get_bool_param(&j, params, "autostart", &req.autostart, &req.autostart_set);
                if (r >= 0) {
                        static const char *const pol[] = { "best-effort", "equal-share", "fixed-share", NULL };

                        r = get_word_param(&j, params, "policy", pol, req.sched_policy, sizeof(req.sched_policy));
                }
                if (r >= 0 && (r = get_string_param(&j, params, "vm_uuid", 64, &s)) >= 0 && s) {
                        size_t o2 = nvv_json_push(&j, "vm_uuid");

                        r = nvv_ipc_check_uuid(s, req.vm_uuid, &err);
                        nvv_json_pop(&j, o2);
                }
                if (r >= 0)
                        r = get_id_array(&j, params, "uuids", NVV_IPC_MAX_UUIDS, nvv_ipc_check_uuid, req.uuids[0],
                                         sizeof(req.uuids[0]), &req.n_uuids, &err);
                if (r >= 0)
                        r = get_id_array(&j, params, "pci", NVV_IPC_MAX_PCI, nvv_ipc_check_bdf, req.pci[0], sizeof(req.pci[0]),
                                         &req.n_pci, &err);
                if (r >= 0)
                        r = get_named(&j, params, &req, &err);
                /* The XML itself is read by nvvgpud (libxml2, nvv-domxml.c); a request is at most
                 * NVV_IPC_MAX_REQUEST bytes, so is the XML in it. */
                if (r >= 0 && (r = get_string_param(&j, params, "xml", NVV_IPC_MAX_REQUEST, &s)) >= 0 && s) {
                        req.xml = strdup(s);
                        if (!req.xml)
                                r = -ENOMEM;
                }
                if (r >= 0) {
                        static const char *const modes[] = { "equal-size", "mixed-size", NULL };

                        r = get_word_param(&j, params, "mode", modes, req.mode, sizeof(req.mode));
                }
                if (r >= 0) {
                        static const char *const arr[] = { "default", "enable", "disable", NULL };

                        r = get_word_param(&j, params, "arr", arr, req.arr, sizeof(req.arr));
                }
                /* Bounds of the firmware's fields (u32); the firmware's caps are checked later. */
                if (r >= 0)
                        r = get_u32_param(&j, params, "timeslice_ms", 4000, &req.timeslice_ms);
                if (r >= 0)
                        r = get_u32_param(&j, params, "arr_avg_factor", UINT32_MAX, &req.arr_avg_factor);
                if (r >= 0)
                        r = get_u32_param(&j, params, "arr_frequency", UINT32_MAX, &req.arr_frequency);
                if (r >= 0 && (r = get_string_param(&j, params, "request", NVV_IPC_SPEC_MAX - 1, &s)) >= 0 && s) {
                        size_t o2 = nvv_json_push(&j, "request");

                        if (!*s)
                                r = nvv_json_fail(&j, "is empty");
                        for (const char *c = s; r >= 0 && *c; c++)
                                if (!isprint((unsigned char) *c))
                                        r = nvv_json_fail(&j, "holds a control character");
                        nvv_json_pop(&j, o2);
                        if (r >= 0)
                                snprintf(req.spec, sizeof(req.spec), "%s", s);
                }
                nvv_json_pop(&j, old);
                if (r < 0) {
                        nvv_ipc_request_done(&req);
                        return nvv_fail_errno(r, reterr_msg, "%s", err ? err : "bad parameters");
                }
        }
        if (req.xml && (req.vm_uuid[0] || req.n_uuids || req.n_pci || req.n_named || req.spec[0])) {
                nvv_ipc_request_done(&req);
                return nvv_fail_errno(-EINVAL, reterr_msg,
                                      "vm-prepare: params.xml comes alone (nvvgpud reads vm_uuid, uuids, pci, named and request from it)");
        }
        /* What each method cannot do without. */
        if (req.method == NVV_IPC_CREATE && !req.type[0])
                return fail_request(&req, reterr_msg, -EINVAL, "create: params.type is required");
        if ((req.method == NVV_IPC_DESTROY || req.method == NVV_IPC_UNDEFINE || req.method == NVV_IPC_START ||
             req.method == NVV_IPC_STOP) && !req.uuid[0])
                return fail_request(&req, reterr_msg, -EINVAL, "%s: params.uuid is required", method_names[req.method]);
        if (req.method == NVV_IPC_DEFINE && !req.type[0] && !req.uuid[0])
                return fail_request(&req, reterr_msg, -EINVAL, "define: params.type is required (or params.uuid of a vGPU that exists)");
        if (req.method == NVV_IPC_SCHEDULER_SET && !req.gpu[0])
                return fail_request(&req, reterr_msg, -EINVAL, "scheduler-set: params.gpu is required");
        if (req.method == NVV_IPC_SCHEDULER_SET && !req.sched_policy[0])
                return fail_request(&req, reterr_msg, -EINVAL, "scheduler-set: params.policy is required");
        if ((req.method == NVV_IPC_VM_PREPARE || req.method == NVV_IPC_VM_RELEASE) && !req.vm[0])
                return fail_request(&req, reterr_msg, -EINVAL, "%s: params.vm is required", method_names[req.method]);
        if (req.method == NVV_IPC_MODE_SET && (!req.gpu[0] || !req.mode[0]))
                return fail_request(&req, reterr_msg, -EINVAL, "mode-set: params.gpu and params.mode are required");
        if (req.method == NVV_IPC_PLAN && !req.spec[0])
                return fail_request(&req, reterr_msg, -EINVAL, "plan: params.request is required");
        if (req.method == NVV_IPC_SHOW && !req.uuid[0] && !req.vm[0] && !req.gpu[0])
                return fail_request(&req, reterr_msg, -EINVAL, "show: one of params.uuid, params.vm, params.gpu is required");
        *ret = req;
        return 0;
}

int nvv_ipc_format_request(const struct nvv_ipc_request *req, char **ret)
{
        _cleanup_json_ json_object *o = json_object_new_object(), *p = json_object_new_object();
        const char *m = nvv_ipc_method_to_string(req->method);
        char *s;

        if (!m)
                return -EINVAL;
        if (!o || !p)
                return -ENOMEM;
        if (req->gpu[0])
                json_object_object_add(p, "gpu", json_object_new_string(req->gpu));
        if (req->type[0])
                json_object_object_add(p, "type", json_object_new_string(req->type));
        if (req->uuid[0])
                json_object_object_add(p, "uuid", json_object_new_string(req->uuid));
        if (req->vm[0])
                json_object_object_add(p, "vm", json_object_new_string(req->vm));
        if (req->creatable)
                json_object_object_add(p, "creatable", json_object_new_boolean(true));
        if (req->prometheus)
                json_object_object_add(p, "prometheus", json_object_new_boolean(true));
        if (req->defined)
                json_object_object_add(p, "defined", json_object_new_boolean(true));
        if (req->autostart_set)
                json_object_object_add(p, "autostart", json_object_new_boolean(req->autostart));
        if (req->sched_policy[0])
                json_object_object_add(p, "policy", json_object_new_string(req->sched_policy));
        if (req->arr[0])
                json_object_object_add(p, "arr", json_object_new_string(req->arr));
        if (req->timeslice_ms)
                json_object_object_add(p, "timeslice_ms", json_object_new_int64(req->timeslice_ms));
        if (req->arr_avg_factor)
                json_object_object_add(p, "arr_avg_factor", json_object_new_int64(req->arr_avg_factor));
        if (req->arr_frequency)
                json_object_object_add(p, "arr_frequency", json_object_new_int64(req->arr_frequency));
        if (req->spec[0])
                json_object_object_add(p, "request", json_object_new_string(req->spec));
        if (req->mode[0])
                json_object_object_add(p, "mode", json_object_new_string(req->mode));
        if (req->vm_uuid[0])
                json_object_object_add(p, "vm_uuid", json_object_new_string(req->vm_uuid));
        if (req->n_uuids) {
                json_object *a = json_object_new_array();

                for (size_t i = 0; i < req->n_uuids; i++)
                        json_object_array_add(a, json_object_new_string(req->uuids[i]));
                json_object_object_add(p, "uuids", a);
        }
        if (req->n_pci) {
                json_object *a = json_object_new_array();

                for (size_t i = 0; i < req->n_pci; i++)
                        json_object_array_add(a, json_object_new_string(req->pci[i]));
                json_object_object_add(p, "pci", a);
        }
        if (req->n_named) {
                json_object *a = json_object_new_array();

                for (size_t i = 0; i < req->n_named; i++) {
                        json_object *e = json_object_new_object();

                        json_object_object_add(e, "uuid", json_object_new_string(req->named[i].uuid));
                        json_object_object_add(e, "type", json_object_new_string(req->named[i].type));
                        json_object_array_add(a, e);
                }
                json_object_object_add(p, "named", a);
        }
        if (req->xml)
                json_object_object_add(p, "xml", json_object_new_string(req->xml));
        json_object_object_add(o, "version", json_object_new_int(NVV_IPC_VERSION));
        json_object_object_add(o, "method", json_object_new_string(m));
        json_object_object_add(o, "params", TAKE_PTR(p));
        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

json_object *nvv_ipc_reply_ok(json_object *result)
{
        json_object *o = json_object_new_object();

        if (!o) {
                json_object_put(result);
                return NULL;
        }
        json_object_object_add(o, "version", json_object_new_int(NVV_IPC_VERSION));
        json_object_object_add(o, "ok", json_object_new_boolean(true));
        json_object_object_add(o, "result", result ? result : json_object_new_object());
        return o;
}

json_object *nvv_ipc_reply_error(int error, const char *message)
{
        json_object *o = json_object_new_object(), *e = json_object_new_object();
        const char *name = errno_to_name(error < 0 ? -error : error);

        if (!o || !e) {
                json_object_put(o);
                json_object_put(e);
                return NULL;
        }
        json_object_object_add(e, "errno", json_object_new_int(error < 0 ? -error : error));
        json_object_object_add(e, "code", json_object_new_string(name ? name : "EIO"));
        json_object_object_add(e, "message", json_object_new_string(message ? message : strerror(error < 0 ? -error : error)));
        json_object_object_add(o, "version", json_object_new_int(NVV_IPC_VERSION));
        json_object_object_add(o, "ok", json_object_new_boolean(false));
        json_object_object_add(o, "error", e);
        return o;
}

/* ---- writing a message ---- */

struct text {
        char *p;
        size_t n, cap;
        int r;                  /* the first failure; once set, nothing more is written */
};

static char *text_room(struct text *t, size_t k)
{
        if (t->r < 0)
                return NULL;
        if (k > NVV_IPC_MAX_REPLY - t->n) {
                t->r = -E2BIG;
                return NULL;
        }
        if (t->n + k + 1 > t->cap) {
                size_t cap = MAX(t->cap * 2, t->n + k + 1);
                char *p = realloc(t->p, cap);

                if (!p) {
                        t->r = -ENOMEM;
                        return NULL;
                }
                t->p = p;
                t->cap = cap;
        }
        return t->p + t->n;
}

static void text_put(struct text *t, const char *s, size_t k)
{
        char *d = text_room(t, k);

        if (d) {
                memcpy(d, s, k);
                t->n += k;
        }
}

#define text_puts(t, lit) text_put((t), "" lit, sizeof(lit) - 1)

/* A string as json-c's json_escape_str() writes it (without JSON_C_TO_STRING_NOSLASHESCAPE):
 * \b \f \n \r \t \" \\ and \/ by name, other bytes below 0x20 as \u00xx (lower-case hex),
 * everything else, bytes above 0x7e included, as it is. */
static void text_string(struct text *t, const char *s, size_t len)
{
        static const char hex[] = "0123456789abcdef";
        size_t start = 0;

        text_puts(t, "\"");
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                char esc[6] = { '\\' };
                size_t k = 2;

                switch (c) {
                case '\b': esc[1] = 'b'; break;
                case '\f': esc[1] = 'f'; break;
                case '\n': esc[1] = 'n'; break;
                case '\r': esc[1] = 'r'; break;
                case '\t': esc[1] = 't'; break;
                case '"': esc[1] = '"'; break;
                case '\\': esc[1] = '\\'; break;
                case '/': esc[1] = '/'; break;
                default:
                        if (c >= 0x20)
                                continue;
                        memcpy(esc + 1, "u00", 3);
                        esc[4] = hex[c >> 4];
                        esc[5] = hex[c & 0xf];
                        k = 6;
                }
                text_put(t, s + start, i - start);
                text_put(t, esc, k);
                start = i + 1;
        }
        text_put(t, s + start, len - start);
        text_puts(t, "\"");
}

static void text_int(struct text *t, int64_t v)
{
        char b[24], *e = b + sizeof(b), *p = e;
        uint64_t u = v < 0 ? 0 - (uint64_t) v : (uint64_t) v;

        do
                *--p = (char) ('0' + u % 10);
        while ((u /= 10) > 0);
        if (v < 0)
                *--p = '-';
        text_put(t, p, (size_t) (e - p));
}

static void text_value(struct text *t, json_object *o)
{
        const char *s;
        size_t i, n;
        bool first = true;
        int64_t v;

        switch (json_object_get_type(o)) {
        case json_type_null:
                text_puts(t, "null");
                return;
        case json_type_boolean:
                if (json_object_get_boolean(o))
                        text_puts(t, "true");
                else
                        text_puts(t, "false");
                return;
        case json_type_int:
                v = json_object_get_int64(o);
                /* INT64_MAX may stand for a larger unsigned value (json-c clamps it there):
                 * json-c writes that one itself, as below for doubles. */
                if (v != INT64_MAX) {
                        text_int(t, v);
                        return;
                }
                break;
        case json_type_string:
                text_string(t, json_object_get_string(o), (size_t) json_object_get_string_len(o));
                return;
        case json_type_object:
                text_puts(t, "{");
                json_object_object_foreach(o, key, val) {
                        if (!first)
                                text_puts(t, ",");
                        first = false;
                        text_string(t, key, strlen(key));
                        text_puts(t, ":");
                        text_value(t, val);
                }
                text_puts(t, "}");
                return;
        case json_type_array:
                text_puts(t, "[");
                n = json_object_array_length(o);
                for (i = 0; i < n; i++) {
                        if (i > 0)
                                text_puts(t, ",");
                        text_value(t, json_object_array_get_idx(o, i));
                }
                text_puts(t, "]");
                return;
        default:
                break;
        }
        /* Doubles (and the clamped integer): json-c's own formatting, so the text stays its. */
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        if (!s) {
                t->r = -ENOMEM;
                return;
        }
        text_put(t, s, strlen(s));
}

int nvv_ipc_to_text(json_object *o, char **ret)
{
        struct text t = {};

        assert_return(ret, -EINVAL);
        t.p = malloc(t.cap = 512);
        if (!t.p)
                return -ENOMEM;
        text_value(&t, o);
        if (t.r < 0) {
                free(t.p);
                return t.r;
        }
        t.p[t.n] = '\0';
        *ret = t.p;
        return 0;
}

/* The status fields in their order, for the object and the text alike. */
static const struct status_field {
        const char *key;
        size_t offset;          /* in struct nvv_ipc_status; SIZE_MAX: the protocol version */
        bool string;
} status_fields[] = {
#define S(f) { #f, offsetof(struct nvv_ipc_status, f), true }
#define I(f) { #f, offsetof(struct nvv_ipc_status, f), false }
        S(version), { "protocol", SIZE_MAX, false }, S(backend), S(policy), I(gpus), I(gpus_ready),
        I(vgpus), I(uptime_s), I(definitions), I(subscribers), S(libvirt),
#undef S
#undef I
};

static const char *status_string(const struct nvv_ipc_status *st, const struct status_field *f)
{
        const char *v;

        memcpy(&v, (const char *) st + f->offset, sizeof(v));
        return v ?: "";
}

static int64_t status_int(const struct nvv_ipc_status *st, const struct status_field *f)
{
        int64_t v;

        if (f->offset == SIZE_MAX)
                return NVV_IPC_VERSION;
        memcpy(&v, (const char *) st + f->offset, sizeof(v));
        return v;
}

json_object *nvv_ipc_status_to_json(const struct nvv_ipc_status *st)
{
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(status_fields); i++) {
                const struct status_field *f = &status_fields[i];
                json_object *v = f->string ? json_object_new_string(status_string(st, f))
                                           : json_object_new_int64(status_int(st, f));

                if (!v || json_object_object_add(o, f->key, v) < 0) {
                        json_object_put(v);
                        json_object_put(o);
                        return NULL;
                }
        }
        return o;
}

int nvv_ipc_status_reply_text(const struct nvv_ipc_status *st, char **ret)
{
        struct text t = {};

        assert_return(st && ret, -EINVAL);
        t.p = malloc(t.cap = 512);
        if (!t.p)
                return -ENOMEM;
        /* nvv_ipc_reply_ok's members around the result. */
        text_puts(&t, "{\"version\":");
        text_int(&t, NVV_IPC_VERSION);
        text_puts(&t, ",\"ok\":true,\"result\":{");
        for (size_t i = 0; i < ELEMENTSOF(status_fields); i++) {
                const struct status_field *f = &status_fields[i];

                if (i > 0)
                        text_puts(&t, ",");
                text_string(&t, f->key, strlen(f->key));
                text_puts(&t, ":");
                if (f->string) {
                        const char *v = status_string(st, f);

                        text_string(&t, v, strlen(v));
                } else
                        text_int(&t, status_int(st, f));
        }
        text_puts(&t, "}}");
        if (t.r < 0) {
                free(t.p);
                return t.r;
        }
        t.p[t.n] = '\0';
        *ret = t.p;
        return 0;
}

int nvv_ipc_parse_reply(const void *data, size_t size, json_object **ret_doc, json_object **ret_result,
                        char **reterr_msg)
{
        _cleanup_json_ json_object *doc = NULL;
        _cleanup_free_ char *err = NULL;
        struct nvv_json j = { .file = "nvvgpud's reply", .err = &err };
        json_object *ok = NULL, *v = NULL, *e = NULL;
        int r;

        r = nvv_json_parse(&j, data, size, NVV_IPC_MAX_REPLY, &doc);
        if (r >= 0 && !json_object_is_type(doc, json_type_object))
                r = nvv_json_fail(&j, "not a JSON object");
        if (r >= 0)
                r = nvv_json_member(&j, doc, "ok", true, &ok);
        if (r >= 0 && !json_object_is_type(ok, json_type_boolean))
                r = nvv_json_fail(&j, "\"ok\" is not a boolean");
        if (r < 0)
                return nvv_fail_errno(-EBADMSG, reterr_msg, "%s", err ? err : "bad reply");
        if (!json_object_get_boolean(ok)) {
                json_object *m = NULL;
                int64_t no = EIO;

                if (json_object_object_get_ex(doc, "error", &e) && json_object_is_type(e, json_type_object)) {
                        if (json_object_object_get_ex(e, "errno", &v) && json_object_is_type(v, json_type_int))
                                no = json_object_get_int64(v);
                        (void) json_object_object_get_ex(e, "message", &m);
                }
                if (no <= 0 || no > 4095)
                        no = EIO;
                return nvv_fail_errno((int) -no, reterr_msg, "%s",
                                      m && json_object_is_type(m, json_type_string) ? json_object_get_string(m)
                                                                                    : "nvvgpud refused the request");
        }
        if (!json_object_object_get_ex(doc, "result", &v))
                return nvv_fail_errno(-EBADMSG, reterr_msg, "nvvgpud's reply has no result");
        *ret_result = v;
        *ret_doc = TAKE_PTR(doc);
        return 0;
}
