/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * nvvgpud's IPC messages (doc/ipc.md): one JSON object per message, both ways.
 *   request  {"version": 1, "method": "list", "params": {...}}
 *   reply    {"version": 1, "ok": true, "result": ...}
 *            {"version": 1, "ok": false, "error": {"errno": 2, "code": "ENOENT", "message": "..."}}
 * This file parses and checks requests strictly (unknown methods, unknown or mistyped
 * parameters, malformed UUIDs, PCI addresses, type and VM names are refused with a message
 * naming the field) and builds replies; it does no I/O.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define NVV_IPC_VERSION 1
#define NVV_IPC_MAX_REQUEST (64u * 1024u)        /* bytes of one request */
#define NVV_IPC_MAX_REPLY (16u * 1024u * 1024u)  /* bytes of one reply */
#define NVV_IPC_NAME_MAX 64                      /* VM names */
#define NVV_IPC_TYPE_MAX 32                      /* "L40S-8Q" */
#define NVV_IPC_SPEC_MAX 4096                    /* a plan's request list */
#define NVV_IPC_MAX_UUIDS 16                     /* vm-prepare: a domain's mdev hostdevs */
#define NVV_IPC_MAX_PCI 64                       /* vm-prepare: a domain's PCI hostdevs */

enum nvv_ipc_method {
        NVV_IPC_STATUS,
        NVV_IPC_GPUS,
        NVV_IPC_TYPES,
        NVV_IPC_LIST,
        NVV_IPC_SHOW,
        NVV_IPC_CREATE,
        NVV_IPC_DESTROY,
        NVV_IPC_POLICY_RELOAD,
        NVV_IPC_DEFINE,                         /* persistent vGPUs (doc/ipc.md) */
        NVV_IPC_UNDEFINE,
        NVV_IPC_START,
        NVV_IPC_STOP,
        NVV_IPC_SCHEDULER_GET,
        NVV_IPC_SCHEDULER_SET,
        NVV_IPC_PLAN,                           /* what-if against the live state */
        NVV_IPC_SUBSCRIBE,                      /* the connection becomes an event stream */
        NVV_IPC_MODE_SET,                       /* equal-size / mixed-size, while no vGPU exists */
        NVV_IPC_VM_PREPARE,                     /* the libvirt hook: a domain's vGPUs made and started */
        NVV_IPC_VM_RELEASE,                     /* ... stopped, and those made on demand removed */
        _NVV_IPC_METHOD_MAX,
        _NVV_IPC_METHOD_INVALID = -EINVAL,
};
const char *nvv_ipc_method_to_string(enum nvv_ipc_method m);    /* "list" */
enum nvv_ipc_method nvv_ipc_method_from_string(const char *s);
/* Whether the method changes anything (root only; readers may call the others). */
bool nvv_ipc_method_mutates(enum nvv_ipc_method m);

struct nvv_ipc_request {
        enum nvv_ipc_method method;
        char gpu[13];                           /* "0000:41:00.0", "" when not given */
        char type[NVV_IPC_TYPE_MAX];            /* "" when not given */
        char uuid[37];                          /* canonical lowercase, "" when not given */
        char vm[NVV_IPC_NAME_MAX + 1];          /* "" when not given */
        bool creatable;                         /* types: only those that can be made now */
        bool prometheus;                        /* status: metrics */
        bool defined;                           /* list: the definitions, not the vGPUs */
        bool autostart, autostart_set;          /* define: start at boot / when the GPU appears */
        /* scheduler-set: "" when not given; timeslice_ms 0 when not given */
        char sched_policy[16];                  /* "best-effort", "equal-share", "fixed-share" */
        char arr[16];                           /* "default", "enable", "disable" */
        uint32_t timeslice_ms, arr_avg_factor, arr_frequency;
        char spec[NVV_IPC_SPEC_MAX];            /* plan: "L40S-8Q*2,L40S-24Q:vm=db" */
        char mode[16];                          /* mode-set: "equal-size", "mixed-size" */
        char vm_uuid[37];                       /* vm-prepare: the domain's UUID, "" when not given */
        size_t n_uuids;                         /* vm-prepare: the mdevs its hostdevs name */
        char uuids[NVV_IPC_MAX_UUIDS][37];
        size_t n_named;                         /* vm-prepare: mdevs its metadata asks to make */
        struct {
                char uuid[37];
                char type[NVV_IPC_TYPE_MAX];
        } named[NVV_IPC_MAX_UUIDS];
        size_t n_pci;                           /* vm-prepare: the PCI functions its hostdevs name */
        char pci[NVV_IPC_MAX_PCI][13];
        /* vm-prepare: the domain XML itself, for nvvgpud to read (instead of vm_uuid, uuids,
         * pci, named and request); owned, freed by nvv_ipc_request_done(). NULL when not given. */
        char *xml;
};

/* Frees what a parsed request owns (xml); takes a request without any. */
void nvv_ipc_request_done(struct nvv_ipc_request *req);

/* Parse one request. -EINVAL (or -EPROTONOSUPPORT for a newer version) with a message
 * naming what is wrong. */
int nvv_ipc_parse_request(const void *data, size_t size, struct nvv_ipc_request *ret, char **reterr_msg);
/* Build a request (the client side); the caller frees the string. */
int nvv_ipc_format_request(const struct nvv_ipc_request *req, char **ret);

/* Replies. Both take ownership of `result`. */
json_object *nvv_ipc_reply_ok(json_object *result);
json_object *nvv_ipc_reply_error(int error, const char *message);
/* A message's text (the caller frees it): byte for byte what
 * json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) writes, written straight into
 * one buffer (json-c formats each integer through snprintf() and appends a string's pieces
 * one by one: most of what a small reply costs). -ENOMEM, or -E2BIG past NVV_IPC_MAX_REPLY. */
int nvv_ipc_to_text(json_object *o, char **ret);

/* The answer to "status" (without "prometheus"): what monitoring asks for again and again. */
struct nvv_ipc_status {
        const char *version, *backend, *policy;
        int64_t gpus, gpus_ready, vgpus, uptime_s, definitions, subscribers;
        const char *libvirt;                    /* "connected to URI", "not connected ...", "off" */
};
/* As a result (for nvv_ipc_reply_ok; the protocol version added), and as the text of the
 * whole reply, written without building objects: the same text as
 * nvv_ipc_to_text(nvv_ipc_reply_ok(nvv_ipc_status_to_json(st))) (fuzz-ipc checks it). */
json_object *nvv_ipc_status_to_json(const struct nvv_ipc_status *st);
int nvv_ipc_status_reply_text(const struct nvv_ipc_status *st, char **ret);
/* Read a reply (the client side): *ret_result borrowed from *ret_doc; on an error reply, the
 * negative errno and the daemon's message. */
int nvv_ipc_parse_reply(const void *data, size_t size, json_object **ret_doc, json_object **ret_result,
                        char **reterr_msg);

/* Field checks shared with the CLI: 0, or -EINVAL with a message naming the value. */
int nvv_ipc_check_uuid(const char *s, char out[static 37], char **reterr_msg);  /* canonicalises */
int nvv_ipc_check_bdf(const char *s, char out[static 13], char **reterr_msg);   /* "41:00.0" gets domain 0000 */
int nvv_ipc_check_type_name(const char *s, char **reterr_msg);
int nvv_ipc_check_vm_name(const char *s, char **reterr_msg);
