/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The commands that ask nvvgpud: gpus, types, create, destroy, list, show, status, policy.
 * Tables for people, the daemon's JSON (doc/ipc.md) with --json.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nvv-escape.h"
#include "nvv-ipc.h"
#include "nvv-ipcsock.h"
#include "nvv-json.h"
#include "nvv-policy.h"
#include "nvv-catalog.h"
#include "nvvgpuctl.h"
#include "util.h"

#define CALL_TIMEOUT_MS (120 * 1000) /* a create may wait on slow firmware commands */
#define MAP_WIDTH 64

struct opts {
        const char *socket;
        bool json, creatable, prometheus, defined, live;
        int autostart;                          /* -1: not given */
        const char *gpu, *type, *uuid, *vm;
        const char *policy, *arr, *timeslice, *arr_avg_factor, *arr_frequency, *count, *request;
};

static const char *socket_path(const struct opts *o)
{
        const char *e = getenv("NVVGPU_SOCKET");

        return o->socket ? o->socket : e && *e ? e : NVV_IPCSOCK_DEFAULT_PATH;
}

/* One request to nvvgpud: the reply's result (borrowed from *ret_doc). */
static int call(const struct opts *o, const struct nvv_ipc_request *req, json_object **ret_doc, json_object **ret_result)
{
        _cleanup_free_ char *text = NULL, *reply = NULL, *msg = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        r = nvv_ipc_format_request(req, &text);
        if (r < 0)
                return cli_error(r, "out of memory");
        r = nvv_ipcsock_connect(socket_path(o), &fd, &msg);
        if (r < 0)
                return cli_error(r, "%s", msg);
        r = nvv_ipcsock_call(fd, text, CALL_TIMEOUT_MS, &reply, &msg);
        if (r < 0)
                return cli_error(r, "%s", msg);
        r = nvv_ipc_parse_reply(reply, strlen(reply), ret_doc, ret_result, &msg);
        if (r < 0)
                return cli_error(r, "%s", msg);
        return 0;
}

static const char *jget(json_object *o, const char *key)
{
        json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return NULL;
        return json_object_get_string(v);
}

static int64_t jnum(json_object *o, const char *key)
{
        json_object *v = NULL;

        return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/* Text from the daemon is shown escaped: names in it may come from a client. */
static const char *esc(const char *s, char **keep)
{
        free(*keep);
        *keep = nvv_escape(s ? s : "-", 0);
        return *keep ? *keep : "?";
}

static void parse(int argc, char **argv, const char *usage, bool (*allowed)(int c), struct opts *o, int min_args,
                  int max_args, char ***ret_args)
{
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 'S' }, { "json", no_argument, NULL, 'j' },
                { "gpu", required_argument, NULL, 'g' },    { "type", required_argument, NULL, 't' },
                { "uuid", required_argument, NULL, 'u' },   { "vm", required_argument, NULL, 'm' },
                { "creatable", no_argument, NULL, 'C' },    { "prometheus", no_argument, NULL, 'P' },
                { "defined", no_argument, NULL, 'D' },      { "autostart", no_argument, NULL, 'A' },
                { "no-autostart", no_argument, NULL, 'N' }, { "policy", required_argument, NULL, 'p' },
                { "timeslice-ms", required_argument, NULL, 'T' }, { "arr", required_argument, NULL, 'R' },
                { "arr-avg-factor", required_argument, NULL, 'F' }, { "arr-frequency", required_argument, NULL, 'Q' },
                { "count", required_argument, NULL, 'n' },  { "live", no_argument, NULL, 'L' },
                { "request", required_argument, NULL, 'r' }, { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        optind = 1;
        o->autostart = -1;
        while ((c = getopt_long(argc, argv, "jh", opts, NULL)) >= 0) {
                if (c == 'h') {
                        printf("Usage: %s\n", usage);
                        exit(0);
                }
                if (c == '?' || (c != 'S' && c != 'j' && !allowed(c)))
                        cli_usage_error("usage: %s", usage);
                switch (c) {
                case 'S':
                        o->socket = optarg;
                        break;
                case 'j':
                        o->json = true;
                        break;
                case 'g':
                        o->gpu = optarg;
                        break;
                case 't':
                        o->type = optarg;
                        break;
                case 'u':
                        o->uuid = optarg;
                        break;
                case 'm':
                        o->vm = optarg;
                        break;
                case 'C':
                        o->creatable = true;
                        break;
                case 'P':
                        o->prometheus = true;
                        break;
                case 'D':
                        o->defined = true;
                        break;
                case 'A':
                case 'N':
                        o->autostart = c == 'A';
                        break;
                case 'p':
                        o->policy = optarg;
                        break;
                case 'T':
                        o->timeslice = optarg;
                        break;
                case 'R':
                        o->arr = optarg;
                        break;
                case 'F':
                        o->arr_avg_factor = optarg;
                        break;
                case 'Q':
                        o->arr_frequency = optarg;
                        break;
                case 'n':
                        o->count = optarg;
                        break;
                case 'L':
                        o->live = true;
                        break;
                case 'r':
                        o->request = optarg;
                        break;
                }
        }
        if (argc - optind < min_args || argc - optind > max_args)
                cli_usage_error("usage: %s", usage);
        *ret_args = argv + optind;
}

/* Check what the user typed before it goes anywhere: the same rules the daemon applies. */
static void fill(const struct opts *o, struct nvv_ipc_request *req)
{
        _cleanup_free_ char *msg = NULL;

        if (o->gpu && nvv_ipc_check_bdf(o->gpu, req->gpu, &msg) < 0)
                cli_usage_error("--gpu: %s", msg);
        if (o->uuid && nvv_ipc_check_uuid(o->uuid, req->uuid, &msg) < 0)
                cli_usage_error("%s", msg);
        if (o->type) {
                if (nvv_ipc_check_type_name(o->type, &msg) < 0)
                        cli_usage_error("--type: %s", msg);
                snprintf(req->type, sizeof(req->type), "%s", o->type);
        }
        if (o->vm) {
                if (nvv_ipc_check_vm_name(o->vm, &msg) < 0)
                        cli_usage_error("--vm: %s", msg);
                snprintf(req->vm, sizeof(req->vm), "%s", o->vm);
        }
        req->creatable = o->creatable;
        req->prometheus = o->prometheus;
        req->defined = o->defined;
        if (o->autostart >= 0) {
                req->autostart_set = true;
                req->autostart = o->autostart;
        }
        if (o->policy) {
                if (!streq(o->policy, "best-effort") && !streq(o->policy, "equal-share") && !streq(o->policy, "fixed-share"))
                        cli_usage_error("--policy: '%s' is not best-effort, equal-share or fixed-share", o->policy);
                snprintf(req->sched_policy, sizeof(req->sched_policy), "%s", o->policy);
        }
        if (o->arr) {
                if (!streq(o->arr, "default") && !streq(o->arr, "enable") && !streq(o->arr, "disable"))
                        cli_usage_error("--arr: '%s' is not default, enable or disable", o->arr);
                snprintf(req->arr, sizeof(req->arr), "%s", o->arr);
        }
        {
                const struct {
                        const char *opt, *v;
                        uint32_t *out, max;
                } nums[] = {
                        { "--timeslice-ms", o->timeslice, &req->timeslice_ms, 4000 },
                        { "--arr-avg-factor", o->arr_avg_factor, &req->arr_avg_factor, UINT32_MAX },
                        { "--arr-frequency", o->arr_frequency, &req->arr_frequency, UINT32_MAX },
                };
                for (size_t i = 0; i < ELEMENTSOF(nums); i++) {
                        uint64_t n;

                        if (!nums[i].v)
                                continue;
                        if (safe_atou64(nums[i].v, &n) < 0 || n == 0 || n > nums[i].max)
                                cli_usage_error("%s: '%s' is not a number from 1 to %" PRIu32, nums[i].opt, nums[i].v,
                                                nums[i].max);
                        *nums[i].out = (uint32_t) n;
                }
        }
}

/* Check, send, and print the result as JSON when asked: 1 when the caller shows it as text. */
static int ask(const struct opts *o, struct nvv_ipc_request *req, json_object **ret_doc, json_object **ret_result)
{
        int r;

        fill(o, req);
        r = call(o, req, ret_doc, ret_result);
        if (r < 0)
                return r;
        if (o->json) {
                cli_print_json(*ret_result);
                return 0;
        }
        return 1;
}

static bool no_opts(int c)
{
        return false;
}

static bool gpu_opt(int c)
{
        return c == 'g';
}

/* ---- gpus ---- */

static int cmd_gpus(int argc, char **argv)
{
        _cleanup_json_ json_object *doc = NULL;
        _cleanup_free_ char *k1 = NULL, *k2 = NULL;
        struct nvv_ipc_request req = { .method = NVV_IPC_GPUS };
        struct opts o = {};
        json_object *res;
        char **args;
        int r;

        parse(argc, argv, "nvvgpuctl gpus [--gpu BDF] [--json] [--socket PATH]", gpu_opt, &o, 0, 0, &args);
        r = ask(&o, &req, &doc, &res);
        if (r <= 0)
                return r;
        printf("%-13s %-12s %-10s %-10s %-10s %5s %10s %10s\n", "GPU", "MODEL", "FIRMWARE", "STATE", "MODE", "VGPUS",
               "FB FREE", "LARGEST");
        for (size_t i = 0; i < json_object_array_length(res); i++) {
                json_object *g = json_object_array_get_idx(res, i);
                char free_s[24], largest[24];

                snprintf(free_s, sizeof(free_s), "%" PRId64 " MiB", jnum(g, "fb_free_mib"));
                snprintf(largest, sizeof(largest), "%" PRId64 " MiB", jnum(g, "fb_largest_free_mib"));
                printf("%-13s %-12s %-10s %-10s %-10s %5" PRId64 " %10s %10s\n", jget(g, "gpu"), esc(jget(g, "model"), &k1),
                       esc(jget(g, "release"), &k2), jget(g, "state"), jget(g, "mode") ? jget(g, "mode") : "-",
                       jnum(g, "vgpus"), free_s, largest);
                if (jget(g, "error"))
                        printf("  %s\n", esc(jget(g, "error"), &k1));
        }
        return 0;
}

/* ---- types ---- */

static bool types_opt(int c)
{
        return c == 'g' || c == 'C' || c == 't';
}

static int cmd_types(int argc, char **argv)
{
        _cleanup_json_ json_object *doc = NULL;
        _cleanup_free_ char *k1 = NULL;
        struct nvv_ipc_request req = { .method = NVV_IPC_TYPES };
        struct opts o = {};
        json_object *res;
        char **args;
        int r;

        parse(argc, argv, "nvvgpuctl types [--gpu BDF] [--type NAME] [--creatable] [--json] [--socket PATH]", types_opt,
              &o, 0, 0, &args);
        r = ask(&o, &req, &doc, &res);
        if (r <= 0)
                return r;
        printf("%-13s %-16s %6s %9s %9s  %s\n", "GPU", "TYPE", "ID", "FB", "AVAILABLE", "WHY NOT");
        for (size_t i = 0; i < json_object_array_length(res); i++) {
                json_object *t = json_object_array_get_idx(res, i), *why = NULL;
                char fb[24], avail[24];

                snprintf(fb, sizeof(fb), "%" PRId64 " MiB", jnum(t, "fb_mib"));
                snprintf(avail, sizeof(avail), "%" PRId64 "/%" PRId64, jnum(t, "available_instances"),
                         jnum(t, "max_instances"));
                (void) json_object_object_get_ex(t, "why", &why);
                printf("%-13s %-16s %6" PRId64 " %9s %9s  %s\n", jget(t, "gpu"), esc(jget(t, "name"), &k1), jnum(t, "id"),
                       fb, avail, why ? jget(why, "message") : "");
        }
        return 0;
}

/* ---- vGPUs ---- */

static void print_vgpu_row(json_object *v)
{
        _cleanup_free_ char *k1 = NULL, *k2 = NULL;
        const char *p = jget(v, "placement");

        printf("%-36s  %-14s %-13s %9s  %-9s %s\n", jget(v, "uuid") ? jget(v, "uuid") : jget(v, "vf"),
               esc(jget(v, "type"), &k1), jget(v, "gpu"),
               p ? p : "-", jget(v, "state"), jget(v, "vm") ? esc(jget(v, "vm"), &k2) : "-");
}

static void print_vgpu_header(void)
{
        printf("%-36s  %-14s %-13s %9s  %-9s %s\n", "UUID", "TYPE", "GPU", "PLACEMENT", "STATE", "VM");
}

static bool create_opt(int c)
{
        return c == 'g' || c == 't' || c == 'u' || c == 'm';
}

static int cmd_create(int argc, char **argv)
{
        _cleanup_json_ json_object *doc = NULL;
        struct nvv_ipc_request req = { .method = NVV_IPC_CREATE };
        struct opts o = {};
        json_object *res;
        char **args;
        int r;

        parse(argc, argv, "nvvgpuctl create --type NAME [--gpu BDF] [--uuid UUID] [--vm NAME] [--json] [--socket PATH]",
              create_opt, &o, 0, 0, &args);
        if (!o.type)
                cli_usage_error("create: --type is required (see 'nvvgpuctl types')");
        fill(&o, &req);
        r = call(&o, &req, &doc, &res);
        if (r < 0)
                return r;
        if (o.json)
                cli_print_json(res);
        else
                printf("%s\n", jget(res, "uuid"));
        return 0;
}

static int cmd_destroy(int argc, char **argv)
{
        _cleanup_json_ json_object *doc = NULL;
        struct nvv_ipc_request req = { .method = NVV_IPC_DESTROY };
        struct opts o = {};
        json_object *res;
        char **args;
        int r;

        parse(argc, argv, "nvvgpuctl destroy UUID [--socket PATH]", no_opts, &o, 1, 1, &args);
        o.uuid = args[0];
        fill(&o, &req);
        r = call(&o, &req, &doc, &res);
        return r < 0 ? r : 0;
}

static bool list_opt(int c)
{
        return c == 'g' || c == 'm' || c == 'D';
}

static void print_definitions(json_object *res)
{
        printf("%-36s  %-14s %-13s %-9s %-13s %s\n", "UUID", "TYPE", "GPU", "AUTOSTART", "STARTED", "VM");
        for (size_t i = 0; i < json_object_array_length(res); i++) {
                _cleanup_free_ char *k1 = NULL, *k2 = NULL;
                json_object *v = json_object_array_get_idx(res, i), *st = NULL, *au = NULL;

                (void) json_object_object_get_ex(v, "started", &st);
                (void) json_object_object_get_ex(v, "autostart", &au);
                printf("%-36s  %-14s %-13s %-9s %-13s %s\n", jget(v, "uuid"), esc(jget(v, "type"), &k1),
                       jget(v, "gpu") ? jget(v, "gpu") : "any", json_object_get_boolean(au) ? "yes" : "no",
                       json_object_get_boolean(st) ? jget(v, "running_on") : "no", jget(v, "vm") ? esc(jget(v, "vm"), &k2) : "-");
        }
}

static int cmd_list(int argc, char **argv)
{
        _cleanup_json_ json_object *doc = NULL;
        struct nvv_ipc_request req = { .method = NVV_IPC_LIST };
        struct opts o = {};
        json_object *res;
        char **args;
        int r;

        parse(argc, argv, "nvvgpuctl list [--defined] [--gpu BDF] [--vm NAME] [--json] [--socket PATH]", list_opt, &o, 0,
              0, &args);
        r = ask(&o, &req, &doc, &res);
        if (r <= 0)
                return r;
        if (o.defined) {
                print_definitions(res);
                return 0;
        }
        print_vgpu_header();
        for (size_t i = 0; i < json_object_array_length(res); i++)
                print_vgpu_row(json_object_array_get_idx(res, i));
        return 0;
}

static void print_vgpu(json_object *v)
{
        static const char *const keys[] = { "uuid", "type", "gpu", "placement", "state", "vm", "vgpu_id", "gfid" };
        _cleanup_free_ char *k1 = NULL;

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const char *s = jget(v, keys[i]);

                if (s)
                        printf("%-12s %s\n", keys[i], esc(s, &k1));
        }
        printf("%-12s %" PRId64 " MiB at %" PRId64 " MiB (holds %" PRId64 " MiB at %" PRId64 " MiB with its heap)\n",
               "framebuffer", jnum(v, "fb_mib"), jnum(v, "fb_offset_mib"), jnum(v, "alloc_mib"), jnum(v, "alloc_offset_mib"));
        printf("%-12s %" PRId64 "\n", "channels", jnum(v, "channels"));
}

/*
 * The framebuffer as one bar: each vGPU a letter (A, B, ...), '.' free, '#' reserved; each
 * range at least one cell so a small vGPU is never hidden. A legend follows.
 */
static void print_map(json_object *g)
{
        json_object *map = json_object_object_get(g, "map");
        _cleanup_free_ char *k1 = NULL, *k2 = NULL;
        size_t n = map ? json_object_array_length(map) : 0;
        int64_t total = jnum(g, "fb_total_mib");
        char bar[MAP_WIDTH * 2 + 1];
        size_t at = 0, letter = 0;

        printf("GPU %s: %s, firmware %s, %s mode, %" PRId64 " vGPUs\n", jget(g, "gpu"), esc(jget(g, "name"), &k1),
               esc(jget(g, "release"), &k2), jget(g, "mode"), jnum(g, "vgpus"));
        printf("framebuffer %" PRId64 " MiB: %" PRId64 " used, %" PRId64 " free (largest free range %" PRId64
               " MiB), %" PRId64 " reserved\n",
               total, jnum(g, "fb_used_mib"), jnum(g, "fb_free_mib"), jnum(g, "fb_largest_free_mib"),
               total - jnum(g, "fb_usable_mib"));
        if (total <= 0)
                return;
        for (size_t i = 0; i < n && at < sizeof(bar) - 1; i++) {
                json_object *r = json_object_array_get_idx(map, i);
                const char *kind = jget(r, "kind");
                int64_t end = jnum(r, "end_mib");
                size_t upto = (size_t) ((end * MAP_WIDTH + total / 2) / total);
                char ch = streq(kind, "vgpu") ? (char) ('A' + letter++ % 26) : streq(kind, "free") ? '.' : '#';

                if (upto <= at)
                        upto = at + 1;
                while (at < upto && at < sizeof(bar) - 1)
                        bar[at++] = ch;
        }
        bar[at] = '\0';
        printf("|%s|\n", bar);
        printf("0 MiB%*s%" PRId64 " MiB\n", (int) (at > 12 ? at - 12 : 1), "", total);
        letter = 0;
        for (size_t i = 0; i < n; i++) {
                json_object *r = json_object_array_get_idx(map, i);
                const char *kind = jget(r, "kind");
                char key = streq(kind, "vgpu") ? (char) ('A' + letter++ % 26) : streq(kind, "free") ? '.' : '#';

                printf("  %c  %8" PRId64 " - %8" PRId64 " MiB  ", key, jnum(r, "start_mib"), jnum(r, "end_mib"));
                if (streq(kind, "vgpu"))
                        printf("%-14s %s\n", esc(jget(r, "type"), &k1), jget(r, "uuid"));
                else
                        printf("%s\n", kind);
        }
}

static bool show_opt(int c)
{
        return c == 'g' || c == 'm';
}

static int cmd_show(int argc, char **argv)
{
        _cleanup_json_ json_object *doc = NULL;
        struct nvv_ipc_request req = { .method = NVV_IPC_SHOW };
        struct opts o = {};
        json_object *res;
        char **args;
        int r;

        parse(argc, argv, "nvvgpuctl show UUID | --vm NAME | --gpu BDF [--json] [--socket PATH]", show_opt, &o, 0, 1, &args);
        if (args[0])
                o.uuid = args[0];
        if (!!o.uuid + !!o.vm + !!o.gpu != 1)
                cli_usage_error("show: give one of UUID, --vm NAME or --gpu BDF");
        r = ask(&o, &req, &doc, &res);
        if (r <= 0)
                return r;
        if (o.gpu)
                print_map(res);
        else if (o.vm)
                for (size_t i = 0; i < json_object_array_length(res); i++) {
                        if (i)
                                putchar('\n');
                        print_vgpu(json_object_array_get_idx(res, i));
                }
        else
                print_vgpu(res);
        return 0;
}

/* ---- persistent vGPUs ---- */

static bool define_opt(int c)
{
        return c == 'g' || c == 't' || c == 'u' || c == 'm' || c == 'A' || c == 'N';
}

static int cmd_define(int argc, char **argv)
{
        _cleanup_json_ json_object *doc = NULL;
        struct nvv_ipc_request req = { .method = NVV_IPC_DEFINE };
        struct opts o = {};
        json_object *res;
        char **args;
        int r;

        parse(argc, argv,
              "nvvgpuctl define --type NAME [--gpu BDF] [--uuid UUID] [--vm NAME] [--no-autostart] [--json] [--socket PATH]\n"
              "       nvvgpuctl define --uuid UUID   (a vGPU that exists: its type and GPU)",
              define_opt, &o, 0, 0, &args);
        if (!o.type && !o.uuid)
                cli_usage_error("define: --type is required, or --uuid of a vGPU that exists");
        fill(&o, &req);
        r = call(&o, &req, &doc, &res);
        if (r < 0)
                return r;
        if (o.json)
                cli_print_json(res);
        else
                printf("%s\n", jget(res, "uuid"));
        return 0;
}

/* undefine, start, stop: one UUID. */
static int cmd_uuid_verb(int argc, char **argv)
{
        _cleanup_json_ json_object *doc = NULL;
        struct nvv_ipc_request req = {};
        struct opts o = {};
        json_object *res;
        char **args, usage[96];
        int r;

        req.method = nvv_ipc_method_from_string(argv[0]);
        snprintf(usage, sizeof(usage), "nvvgpuctl %s UUID [%s--socket PATH]", argv[0],
                 streq(argv[0], "start") ? "--json " : "");
        parse(argc, argv, usage, no_opts, &o, 1, 1, &args);
        if (o.json && !streq(argv[0], "start"))
                cli_usage_error("usage: %s", usage);
        o.uuid = args[0];
        fill(&o, &req);
        r = call(&o, &req, &doc, &res);
        if (r < 0)
                return r;
        if (o.json)
                cli_print_json(res);
        return 0;
}

/* ---- scheduler ---- */

static bool sched_opt(int c)
{
        return c == 'g' || c == 'p' || c == 'T' || c == 'R' || c == 'F' || c == 'Q';
}

static void print_sched(json_object *res)
{
        printf("%-13s %-12s %10s %-8s %-10s %s\n", "GPU", "POLICY", "TIMESLICE", "ARR", "SOURCE", "FIRMWARE OFFERS");
        for (size_t i = 0; i < json_object_array_length(res); i++) {
                json_object *s = json_object_array_get_idx(res, i), *caps = NULL, *pol = NULL;
                char ts[32], offers[160] = "";
                size_t k = 0;

                snprintf(ts, sizeof(ts), "%.3g ms", (double) jnum(s, "timeslice_us") / 1000.0);
                if (json_object_object_get_ex(s, "caps", &caps) && json_object_object_get_ex(caps, "policies", &pol)) {
                        for (size_t j = 0; j < json_object_array_length(pol) && k < sizeof(offers); j++)
                                k += (size_t) snprintf(offers + k, sizeof(offers) - k, "%s%s", j ? ", " : "",
                                                       json_object_get_string(json_object_array_get_idx(pol, j)));
                        if (k < sizeof(offers))
                                snprintf(offers + k, sizeof(offers) - k, "; %.3g-%.3g ms%s",
                                         (double) jnum(caps, "min_timeslice_us") / 1000.0,
                                         (double) jnum(caps, "max_timeslice_us") / 1000.0, jnum(caps, "arr") ? "; ARR" : "");
                }
                printf("%-13s %-12s %10s %-8s %-10s %s\n", jget(s, "gpu"), jget(s, "policy"), ts, jget(s, "arr"),
                       jget(s, "source"), offers);
        }
}

static int cmd_scheduler(int argc, char **argv)
{
        _cleanup_json_ json_object *doc = NULL;
        struct nvv_ipc_request req = {};
        struct opts o = {};
        json_object *res, *one;
        char **args;
        int r;

        if (argc >= 2 && streq(argv[1], "get")) {
                req.method = NVV_IPC_SCHEDULER_GET;
                parse(argc - 1, argv + 1, "nvvgpuctl scheduler get [--gpu BDF] [--json] [--socket PATH]", gpu_opt, &o, 0,
                      0, &args);
                r = ask(&o, &req, &doc, &res);
                if (r <= 0)
                        return r;
                print_sched(res);
                return 0;
        }
        if (argc >= 2 && streq(argv[1], "set")) {
                req.method = NVV_IPC_SCHEDULER_SET;
                parse(argc - 1, argv + 1,
                      "nvvgpuctl scheduler set --gpu BDF --policy best-effort|equal-share|fixed-share [--timeslice-ms N]\n"
                      "                          [--arr default|enable|disable] [--arr-avg-factor N] [--arr-frequency N]\n"
                      "                          [--json] [--socket PATH]",
                      sched_opt, &o, 0, 0, &args);
                if (!o.gpu || !o.policy)
                        cli_usage_error("scheduler set: --gpu and --policy are required");
                r = ask(&o, &req, &doc, &res);
                if (r <= 0)
                        return r;
                one = json_object_new_array();
                json_object_array_add(one, json_object_get(res));
                print_sched(one);
                json_object_put(one);
                return 0;
        }
        cli_usage_error("usage: nvvgpuctl scheduler get [--gpu BDF] | scheduler set --gpu BDF --policy POLICY ...");
}

/* ---- events ---- */

static bool events_opt(int c)
{
        return c == 'n';
}

/* One event for people: time, name, GPU, vGPU, then the other keys as key=value. */
static void print_event(json_object *e)
{
        _cleanup_free_ char *k = NULL, *line = NULL;
        const char *t = jget(e, "time");
        size_t size = 0, n;
        FILE *f = open_memstream(&line, &size);

        if (!f)
                return;
        fprintf(f, "%s %-15s %-13s %-36s", t ? t : "-", jget(e, "event") ? jget(e, "event") : "?",
                jget(e, "gpu") ? jget(e, "gpu") : "-", jget(e, "uuid") ? jget(e, "uuid") : jget(e, "vf") ? jget(e, "vf") : "-");
        json_object_object_foreach(e, key, v) {
                if (streq(key, "version") || streq(key, "time") || streq(key, "event") || streq(key, "gpu") ||
                    streq(key, "uuid") || streq(key, "vf") || json_object_is_type(v, json_type_null))
                        continue;
                fprintf(f, " %s=%s", key, esc(json_object_get_string(v), &k));
        }
        if (fclose(f) != 0 || !line)
                return;
        for (n = strlen(line); n > 0 && line[n - 1] == ' '; n--)
                line[n - 1] = '\0';
        printf("%s\n", line);
        fflush(stdout);
}

static int cmd_events(int argc, char **argv)
{
        _cleanup_free_ char *text = NULL, *reply = NULL, *msg = NULL;
        _cleanup_json_ json_object *doc = NULL;
        struct nvv_ipc_request req = { .method = NVV_IPC_SUBSCRIBE };
        _cleanup_close_ int fd = -1;
        struct opts o = {};
        json_object *res;
        uint64_t count = 0, seen = 0;
        char **args;
        int r;

        parse(argc, argv, "nvvgpuctl events [--count N] [--json] [--socket PATH]", events_opt, &o, 0, 0, &args);
        if (o.count && (safe_atou64(o.count, &count) < 0 || count == 0))
                cli_usage_error("--count: '%s' is not a number of events (1 or more)", o.count);
        r = nvv_ipc_format_request(&req, &text);
        if (r < 0)
                return cli_error(r, "out of memory");
        r = nvv_ipcsock_connect(socket_path(&o), &fd, &msg);
        if (r < 0)
                return cli_error(r, "%s", msg);
        r = nvv_ipcsock_call(fd, text, CALL_TIMEOUT_MS, &reply, &msg);
        if (r >= 0)
                r = nvv_ipc_parse_reply(reply, strlen(reply), &doc, &res, &msg);
        if (r < 0)
                return cli_error(r, "%s", msg);
        for (;;) {
                _cleanup_json_ json_object *e = NULL;
                _cleanup_free_ char *line = NULL;

                r = nvv_ipcsock_next_event(fd, -1, &line, &msg);
                if (r < 0)
                        return cli_error(r, "%s", msg);
                if (o.json) {
                        printf("%s\n", line);
                        fflush(stdout);
                } else {
                        e = json_tokener_parse(line);
                        if (!e || !json_object_is_type(e, json_type_object))
                                return cli_error(-EBADMSG, "nvvgpud sent an event that is not a JSON object");
                        print_event(e);
                }
                if (count && ++seen >= count)
                        return 0;
        }
}

/* ---- plan --live ---- */

static bool plan_opt(int c)
{
        return c == 'L' || c == 'r';
}

int nvvgpuctl_plan_live(int argc, char **argv)
{
        _cleanup_json_ json_object *doc = NULL;
        struct nvv_ipc_request req = { .method = NVV_IPC_PLAN };
        struct opts o = {};
        json_object *res, *placed = NULL, *unplaced = NULL, *gpus = NULL, *search = NULL;
        char **args;
        int r;

        parse(argc, argv, "nvvgpuctl plan --live --request SPEC [--json] [--socket PATH]", plan_opt, &o, 0, 0, &args);
        if (!o.request)
                cli_usage_error("plan --live: --request is required (e.g. --request 'L40S-24Q*2,L40S-8Q')");
        if (strlen(o.request) >= sizeof(req.spec))
                cli_usage_error("--request: at most %zu characters", sizeof(req.spec) - 1);
        snprintf(req.spec, sizeof(req.spec), "%s", o.request);
        fill(&o, &req);
        r = call(&o, &req, &doc, &res);
        if (r < 0)
                return r;
        (void) json_object_object_get_ex(res, "placed", &placed);
        (void) json_object_object_get_ex(res, "unplaced", &unplaced);
        (void) json_object_object_get_ex(res, "gpus", &gpus);
        (void) json_object_object_get_ex(res, "search", &search);
        if (o.json) {
                cli_print_json(res);
                return json_object_array_length(unplaced) ? -ENOSPC : 0;
        }
        printf("Live state of nvvgpud (policy %s):\n", jget(res, "policy"));
        for (size_t i = 0; i < json_object_array_length(gpus); i++) {
                json_object *g = json_object_array_get_idx(gpus, i);

                printf("  %-13s %-8s %-10s %3" PRId64 " vGPUs\n", jget(g, "gpu"), jget(g, "model"), jget(g, "mode"),
                       jnum(g, "vgpus"));
        }
        printf("\nPlaced %zu of %zu:\n", json_object_array_length(placed),
               json_object_array_length(placed) + json_object_array_length(unplaced));
        if (json_object_array_length(placed))
                printf("  %-4s %-14s %-18s %-13s %-9s %-10s %-10s %s\n", "REQ", "ASKED", "TYPE", "GPU", "PLACEMENT",
                       "FB OFFSET", "GUEST FB", "ORDER");
        for (size_t i = 0; i < json_object_array_length(placed); i++) {
                _cleanup_free_ char *k1 = NULL;
                json_object *p = json_object_array_get_idx(placed, i);
                char off[24], len[24];

                snprintf(off, sizeof(off), "%" PRId64 " MiB", jnum(p, "fb_offset_mib"));
                snprintf(len, sizeof(len), "%" PRId64 " MiB", jnum(p, "fb_length_mib"));
                printf("  %-4" PRId64 " %-14s %-18s %-13s %-9s %-10s %-10s %" PRId64 "\n", jnum(p, "request"),
                       esc(jget(p, "what"), &k1), jget(p, "type_name"), jget(p, "gpu"),
                       jget(p, "placement_id") ? jget(p, "placement_id") : "-", off, len, jnum(p, "order"));
        }
        if (json_object_array_length(unplaced)) {
                printf("\nNot placed:\n");
                for (size_t i = 0; i < json_object_array_length(unplaced); i++) {
                        _cleanup_free_ char *k1 = NULL, *k2 = NULL;
                        json_object *u = json_object_array_get_idx(unplaced, i);

                        printf("  %-4" PRId64 " %-14s %s\n", jnum(u, "request"), esc(jget(u, "what"), &k1),
                               esc(jget(u, "reason"), &k2));
                }
        }
        if (search && json_object_get_boolean(json_object_object_get(search, "ran")))
                printf("\nIn request order not everything fit; a search (%" PRId64 " step%s%s) ran.\n", jnum(search, "steps"),
                       jnum(search, "steps") == 1 ? "" : "s",
                       json_object_get_boolean(json_object_object_get(search, "complete")) ? "" : ", stopped at the budget");
        return json_object_array_length(unplaced) ? -ENOSPC : 0;
}

/* ---- mode ---- */

static int cmd_mode(int argc, char **argv)
{
        _cleanup_json_ json_object *doc = NULL;
        struct nvv_ipc_request req = { .method = NVV_IPC_MODE_SET };
        struct opts o = {};
        json_object *res;
        char **args;
        int r;

        parse(argc, argv, "nvvgpuctl mode --gpu BDF equal-size|mixed-size [--json] [--socket PATH]", gpu_opt, &o, 1, 1,
              &args);
        if (!o.gpu)
                cli_usage_error("mode: --gpu is required");
        if (!streq(args[0], "equal-size") && !streq(args[0], "mixed-size"))
                cli_usage_error("mode: '%s' is not equal-size or mixed-size", args[0]);
        snprintf(req.mode, sizeof(req.mode), "%s", args[0]);
        r = ask(&o, &req, &doc, &res);
        if (r <= 0)
                return r;
        printf("GPU %s: %s, %" PRId64 " types\n", jget(res, "gpu"), jget(res, "mode"), jnum(res, "types"));
        return 0;
}

/* ---- vm ---- */

/* The VMs (libvirt domains) that hold vGPUs, each with its vGPUs and their state. */
static int cmd_vm(int argc, char **argv)
{
        _cleanup_json_ json_object *doc = NULL, *vms = json_object_new_object();
        struct nvv_ipc_request req = { .method = NVV_IPC_LIST };
        struct opts o = {};
        json_object *res;
        char **args;
        int r;

        parse(argc, argv, "nvvgpuctl vm [NAME] [--json] [--socket PATH]", no_opts, &o, 0, 1, &args);
        if (args[0])
                o.vm = args[0];
        fill(&o, &req);
        r = call(&o, &req, &doc, &res);
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(res); i++) {
                json_object *v = json_object_array_get_idx(res, i), *a = NULL;
                const char *vm = jget(v, "vm");

                if (!vm)
                        continue;
                if (!json_object_object_get_ex(vms, vm, &a)) {
                        a = json_object_new_array();
                        json_object_object_add(vms, vm, a);
                }
                json_object_array_add(a, json_object_get(v));
        }
        if (args[0] && json_object_object_length(vms) == 0)
                return cli_error(-ENOENT, "no vGPU is bound to VM '%s'", args[0]);
        if (o.json) {
                _cleanup_json_ json_object *out = json_object_new_array();

                json_object_object_foreach(vms, name, list) {
                        json_object *x = json_object_new_object();

                        json_object_object_add(x, "vm", json_object_new_string(name));
                        json_object_object_add(x, "running", json_object_new_boolean(false));
                        for (size_t i = 0; i < json_object_array_length(list); i++)
                                if (jget(json_object_array_get_idx(list, i), "domain"))
                                        json_object_object_add(x, "running", json_object_new_boolean(true));
                        json_object_object_add(x, "vgpus", json_object_get(list));
                        json_object_array_add(out, x);
                }
                cli_print_json(out);
                return 0;
        }
        printf("%-24s %-36s  %-14s %-13s %s\n", "VM", "VGPU", "TYPE", "GPU", "STATE");
        json_object_object_foreach(vms, name, list) {
                _cleanup_free_ char *k1 = NULL, *k2 = NULL;

                for (size_t i = 0; i < json_object_array_length(list); i++) {
                        json_object *v = json_object_array_get_idx(list, i);

                        printf("%-24s %-36s  %-14s %-13s %s\n", i == 0 ? esc(name, &k1) : "",
                               jget(v, "uuid") ? jget(v, "uuid") : jget(v, "vf"), esc(jget(v, "type"), &k2), jget(v, "gpu"),
                               jget(v, "state"));
                }
        }
        return 0;
}

/* ---- status, policy ---- */

static bool status_opt(int c)
{
        return c == 'P';
}

static int cmd_status(int argc, char **argv)
{
        _cleanup_json_ json_object *doc = NULL;
        struct nvv_ipc_request req = { .method = NVV_IPC_STATUS };
        struct opts o = {};
        json_object *res;
        char **args;
        int r;

        parse(argc, argv, "nvvgpuctl status [--prometheus] [--json] [--socket PATH]", status_opt, &o, 0, 0, &args);
        fill(&o, &req);
        r = call(&o, &req, &doc, &res);
        if (r < 0)
                return r;
        if (o.prometheus && !o.json) {
                fputs(jget(res, "prometheus") ? jget(res, "prometheus") : "", stdout);
                return 0;
        }
        if (o.json) {
                cli_print_json(res);
                return 0;
        }
        printf("nvvgpud %s (protocol %" PRId64 "), up %" PRId64 " s\n", jget(res, "version"), jnum(res, "protocol"),
               jnum(res, "uptime_s"));
        printf("backend      %s\n", jget(res, "backend"));
        printf("policy       %s\n", jget(res, "policy"));
        printf("GPUs         %" PRId64 " (%" PRId64 " ready)\n", jnum(res, "gpus"), jnum(res, "gpus_ready"));
        printf("vGPUs        %" PRId64 "\n", jnum(res, "vgpus"));
        printf("definitions  %" PRId64 "\n", jnum(res, "definitions"));
        printf("subscribers  %" PRId64 "\n", jnum(res, "subscribers"));
        printf("libvirt      %s\n", jget(res, "libvirt") ? jget(res, "libvirt") : "-");
        return 0;
}

static int cmd_policy(int argc, char **argv)
{
        if (argc >= 2 && streq(argv[1], "reload")) {
                _cleanup_json_ json_object *doc = NULL;
                struct nvv_ipc_request req = { .method = NVV_IPC_POLICY_RELOAD };
                struct opts o = {};
                json_object *res;
                char **args;

                parse(argc - 1, argv + 1, "nvvgpuctl policy reload [--socket PATH]", no_opts, &o, 0, 0, &args);
                return call(&o, &req, &doc, &res);
        }
        if (argc >= 2 && streq(argv[1], "check")) {
                _cleanup_(nvv_catalog_freep) struct nvv_catalog *catalog = NULL;
                _cleanup_(nvv_policy_freep) struct nvv_policy *p = NULL;
                _cleanup_free_ char *msg = NULL;
                struct nvv_policy_context ctx = {};
                int r;

                if (argc != 3)
                        cli_usage_error("usage: nvvgpuctl policy check FILE");
                r = cli_load_catalog(NULL, &catalog);
                if (r < 0)
                        return r;
                ctx.catalog = catalog;
                r = nvv_policy_load_file(argv[2], &ctx, &p, &msg);
                if (r < 0)
                        return cli_error(r, "%s", msg ? msg : strerror(-r));
                printf("%s: valid\n", argv[2]);
                return 0;
        }
        cli_usage_error("usage: nvvgpuctl policy check FILE | policy reload [--socket PATH]");
}

int nvvgpuctl_daemon(int argc, char **argv)
{
        static const struct {
                const char *name;
                int (*run)(int argc, char **argv);
        } cmds[] = {
                { "gpus", cmd_gpus },       { "types", cmd_types }, { "create", cmd_create },
                { "destroy", cmd_destroy }, { "list", cmd_list },   { "show", cmd_show },
                { "status", cmd_status },   { "policy", cmd_policy },
                { "define", cmd_define },   { "undefine", cmd_uuid_verb }, { "start", cmd_uuid_verb },
                { "stop", cmd_uuid_verb },  { "scheduler", cmd_scheduler }, { "events", cmd_events },
                { "mode", cmd_mode },       { "vm", cmd_vm },
        };

        for (size_t i = 0; i < ELEMENTSOF(cmds); i++)
                if (streq(cmds[i].name, argv[0]))
                        return cmds[i].run(argc, argv);
        return cli_error(-EINVAL, "unknown command '%s'", argv[0]);
}
