/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nvvgpuctl fw: releases, layout, diff, decode — the firmware dissector. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-backend.h"
#include "nvv-channel.h"
#include "nvv-cmd.h"
#include "nvv-dissect.h"
#include "nvv-fwabi.h"
#include "nvv-fwdiff.h"
#include "nvvgpuctl.h"
#include "util.h"

static char **arg_fwabi_dirs;
static const char *arg_backend;
static bool arg_json;
static bool arg_all;
static bool arg_hex;

static int load_db(struct nvv_fwdb **ret)
{
        return cli_load_fwdb(arg_fwabi_dirs, ret);
}

static const struct nvv_fwabi *find_release(const struct nvv_fwdb *db, const char *release)
{
        _cleanup_free_ char *msg = NULL;
        const struct nvv_fwabi *fw = nvv_fwdb_match(db, release, &msg);

        if (!fw)
                cli_error(-ENOENT, "%s", msg ? msg : "no such release");
        return fw;
}

static int parse_common(int argc, char **argv, const char *usage)
{
        static const struct option opts[] = {
                { "fwabi-dir", required_argument, NULL, 'd' },
                { "json", no_argument, NULL, 'j' },
                { "all", no_argument, NULL, 'a' },
                { "hex", no_argument, NULL, 'x' },
                { "backend", required_argument, NULL, 'b' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "d:jaxb:h", opts, NULL)) >= 0)
                switch (c) {
                case 'b':
                        arg_backend = optarg;
                        break;
                case 'd':
                        if (strv_extend(&arg_fwabi_dirs, optarg) < 0)
                                return -ENOMEM;
                        break;
                case 'j':
                        arg_json = true;
                        break;
                case 'a':
                        arg_all = true;
                        break;
                case 'x':
                        arg_hex = true;
                        break;
                case 'h':
                        printf("Usage: %s\n", usage);
                        exit(0);
                default:
                        cli_usage_error("usage: %s", usage);
                }
        return optind;
}

static int cmd_releases(int argc, char **argv)
{
        _cleanup_(nvv_fwdb_freep) struct nvv_fwdb *db = NULL;
        json_object *arr;
        int r;

        r = parse_common(argc, argv, "nvvgpuctl fw releases [--fwabi-dir DIR] [--json]");
        if (r < 0)
                return r;
        if (r != argc)
                cli_usage_error("fw releases takes no arguments");
        r = load_db(&db);
        if (r < 0)
                return r;
        arr = json_object_new_array();
        for (size_t i = 0; i < nvv_fwdb_count(db); i++) {
                const struct nvv_fwabi *fw = nvv_fwdb_get(db, i);
                json_object *o = json_object_new_object(), *compat = json_object_new_array(), *cmds = json_object_new_array();

                for (char **p = fw->compatible; p && *p; p++)
                        json_object_array_add(compat, json_object_new_string(*p));
                for (int c = 0; c < _NVV_CMD_MAX; c++)
                        if (fw->commands[c])
                                json_object_array_add(cmds, json_object_new_string(nvv_cmd_to_string(c)));
                json_object_object_add(o, "release", json_object_new_string(fw->release));
                json_object_object_add(o, "compatible", compat);
                json_object_object_add(o, "file", json_object_new_string(fw->path ? fw->path : ""));
                json_object_object_add(o, "element_size", json_object_new_int64(fw->queue.element_size));
                json_object_object_add(o, "max_message_size",
                                       json_object_new_int64((int64_t) fw->queue.element_size * fw->queue.max_elements));
                json_object_object_add(o, "geometry", json_object_new_string(fw->queue.negotiated ? "negotiated" : "fixed"));
                json_object_object_add(o, "control_header_size", json_object_new_int64(fw->queue.ctl_header_size));
                json_object_object_add(o, "structs", json_object_new_int64((int64_t) fw->n_structs));
                json_object_object_add(o, "commands", cmds);
                json_object_array_add(arr, o);
        }
        if (arg_json)
                cli_print_json(arr);
        else {
                printf("%-12s %-11s %-22s %-8s %-9s %s\n", "RELEASE", "SERVES", "QUEUE", "CTRL-HDR", "COMMANDS", "FILE");
                for (size_t i = 0; i < nvv_fwdb_count(db); i++) {
                        const struct nvv_fwabi *fw = nvv_fwdb_get(db, i);
                        char serves[64] = "", queue[64];
                        int n = 0;

                        for (char **p = fw->compatible; p && *p; p++)
                                snprintf(serves + strlen(serves), sizeof(serves) - strlen(serves), "%s%s*",
                                         p == fw->compatible ? "" : ",", *p);
                        for (int c = 0; c < _NVV_CMD_MAX; c++)
                                n += fw->commands[c] != NULL;
                        snprintf(queue, sizeof(queue), "%ux%u B%s", fw->queue.max_elements, fw->queue.element_size,
                                 fw->queue.negotiated ? " negotiated" : "");
                        printf("%-12s %-11s %-22s %-8u %2d of %-3d %s\n", fw->release, serves, queue,
                               fw->queue.ctl_header_size, n, _NVV_CMD_MAX, fw->path ? fw->path : "");
                }
        }
        json_object_put(arr);
        return 0;
}

static int cmd_layout(int argc, char **argv)
{
        _cleanup_(nvv_fwdb_freep) struct nvv_fwdb *db = NULL;
        const struct nvv_fwabi *fw;
        json_object *o, *fields;
        char err[256];
        int r, i;

        i = parse_common(argc, argv, "nvvgpuctl fw layout RELEASE STRUCT [--fwabi-dir DIR] [--json]");
        if (i < 0)
                return i;
        if (argc - i != 2)
                cli_usage_error("usage: nvvgpuctl fw layout RELEASE STRUCT [--json]");
        r = load_db(&db);
        if (r < 0)
                return r;
        fw = find_release(db, argv[i]);
        if (!fw)
                return -ENOENT;
        r = nvv_dissect_layout(fw, argv[i + 1], &o, err, sizeof(err));
        if (r < 0)
                return cli_error(r, "%s", err);
        if (arg_json) {
                cli_print_json(o);
                json_object_put(o);
                return 0;
        }
        if (!streq(fw->release, argv[i]))
                printf("firmware %s is served by the description of %s\n", argv[i], fw->release);
        printf("%s: %" PRId64 " bytes in firmware %s%s%s%s\n", argv[i + 1],
               json_object_get_int64(json_object_object_get(o, "size")), fw->release,
               json_object_object_get(o, "source") ? " (" : "",
               json_object_object_get(o, "source") ? json_object_get_string(json_object_object_get(o, "source")) : "",
               json_object_object_get(o, "source") ? ")" : "");
        printf("%8s %8s  %-28s %s\n", "OFFSET", "SIZE", "TYPE", "NAME");
        fields = json_object_object_get(o, "fields");
        {
                const struct nvv_wstruct *s = nvv_fwabi_find_struct(fw, argv[i + 1]);

                for (size_t k = 0; k < s->n_fields; k++) {
                        const struct nvv_wfield *f = &s->fields[k];
                        char type[96];

                        if (f->count == 1)
                                snprintf(type, sizeof(type), "%s", f->type_name);
                        else
                                snprintf(type, sizeof(type), "%s[%u]", f->type_name, f->count);
                        printf("%8u %8" PRIu64 "  %-28s %s\n", f->offset, (uint64_t) f->elem_size * f->count, type,
                               f->name);
                }
        }
        (void) fields;
        json_object_put(o);
        return 0;
}

/* One side of a diff: the release asked for, and the description that serves it. */
static void print_side(const char *label, const char *asked, const char *release, const char *path)
{
        if (streq(asked, release))
                printf("%s %s (%s)\n", label, release, path);
        else
                printf("%s %s, served by the description of %s (%s)\n", label, asked, release, path);
}

static void print_change(const struct nvv_fwdiff_change *ch)
{
        char a[256], b[256];

        nvv_fwdiff_value_to_string(&ch->from, a, sizeof(a));
        nvv_fwdiff_value_to_string(&ch->to, b, sizeof(b));
        printf("  %-10s %s%s%s", nvv_fwdiff_kind_to_string(ch->kind), ch->name, ch->attr ? " " : "",
               ch->attr ? ch->attr : "");
        if (ch->from.type != NVV_FWDIFF_NONE && ch->to.type != NVV_FWDIFF_NONE)
                printf(" %s -> %s", a, b);
        else if (ch->from.type != NVV_FWDIFF_NONE)
                printf(" %s", a);
        else if (ch->to.type != NVV_FWDIFF_NONE)
                printf(" %s", b);
        if (ch->detail)
                printf(" (%s)", ch->detail);
        printf("\n");
}

static int cmd_diff(int argc, char **argv)
{
        _cleanup_(nvv_fwdb_freep) struct nvv_fwdb *db = NULL;
        _cleanup_(nvv_fwdiff_freep) struct nvv_fwdiff *d = NULL;
        const struct nvv_fwabi *a, *b;
        int r, i;

        i = parse_common(argc, argv, "nvvgpuctl fw diff RELEASE_A RELEASE_B [--fwabi-dir DIR] [--json]");
        if (i < 0)
                return i;
        if (argc - i != 2)
                cli_usage_error("usage: nvvgpuctl fw diff RELEASE_A RELEASE_B [--fwabi-dir DIR] [--json]");
        r = load_db(&db);
        if (r < 0)
                return r;
        a = find_release(db, argv[i]);
        if (!a)
                return -ENOENT;
        b = find_release(db, argv[i + 1]);
        if (!b)
                return -ENOENT;
        r = nvv_fwdiff_new(a, b, &d);
        if (r < 0)
                return cli_error(r, "comparing %s with %s: %s", a->release, b->release, strerror(-r));
        if (arg_json) {
                json_object *o = NULL;

                r = nvv_fwdiff_to_json(d, &o);
                if (r < 0)
                        return cli_error(r, "out of memory");
                json_object_object_add(json_object_object_get(o, "from"), "requested", json_object_new_string(argv[i]));
                json_object_object_add(json_object_object_get(o, "to"), "requested", json_object_new_string(argv[i + 1]));
                cli_print_json(o);
                json_object_put(o);
                return 0;
        }
        print_side("from", argv[i], a->release, d->from_path);
        print_side("to  ", argv[i + 1], b->release, d->to_path);
        if (d->n_changes == 0) {
                printf("nothing changed: %s and %s are described alike\n", a->release, b->release);
                return 0;
        }
        for (size_t k = 0; k < d->n_changes; k++) {
                if (k == 0 || d->changes[k].section != d->changes[k - 1].section)
                        printf("%s:\n", nvv_fwdiff_section_to_string(d->changes[k].section));
                print_change(&d->changes[k]);
        }
        printf("%zu change%s:", d->n_changes, d->n_changes == 1 ? "" : "s");
        for (int s = 0, first = 1; s < _NVV_FWDIFF_SECTION_MAX; s++)
                if (d->per_section[s]) {
                        printf("%s %s %zu", first ? "" : ",", nvv_fwdiff_section_to_string(s), d->per_section[s]);
                        first = 0;
                }
        printf("\n");
        return 0;
}

/* ---- text rendering of a dissection ---- */

static void print_value(const char *indent, const char *name, json_object *v);

static bool is_zero(json_object *v)
{
        switch (json_object_get_type(v)) {
        case json_type_null:
                return true;
        case json_type_int:
                return json_object_get_int64(v) == 0 && json_object_get_uint64(v) == 0;
        case json_type_boolean:
                return !json_object_get_boolean(v);
        case json_type_array:
                return json_object_array_length(v) == 0;
        case json_type_object: {
                json_object_object_foreach(v, k, x) {
                        (void) k;
                        if (!is_zero(x))
                                return false;
                }
                return true;
        }
        default:
                return false;
        }
}

static void print_object(const char *indent, json_object *o)
{
        char sub[64];
        int hidden = 0;

        snprintf(sub, sizeof(sub), "%s  ", indent);
        json_object_object_foreach(o, k, v) {
                if (!arg_all && is_zero(v)) {
                        hidden++;
                        continue;
                }
                print_value(indent, k, v);
        }
        if (hidden)
                printf("%s(%d zero field%s not shown; --all shows them)\n", indent, hidden, hidden == 1 ? "" : "s");
}

static void print_value(const char *indent, const char *name, json_object *v)
{
        char sub[64];

        snprintf(sub, sizeof(sub), "%s  ", indent);
        switch (json_object_get_type(v)) {
        case json_type_int: {
                uint64_t u = json_object_get_uint64(v);
                int64_t s = json_object_get_int64(v);

                if (s < 0)
                        printf("%s%s = %" PRId64 "\n", indent, name, s);
                else if (u > 9)
                        printf("%s%s = %" PRIu64 " (0x%" PRIx64 ")\n", indent, name, u, u);
                else
                        printf("%s%s = %" PRIu64 "\n", indent, name, u);
                break;
        }
        case json_type_string:
                printf("%s%s = \"%s\"\n", indent, name, json_object_get_string(v));
                break;
        case json_type_boolean:
                printf("%s%s = %s\n", indent, name, json_object_get_boolean(v) ? "true" : "false");
                break;
        case json_type_null:
                printf("%s%s = (none)\n", indent, name);
                break;
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        json_object *e = json_object_array_get_idx(v, i);
                        char n[160];

                        if (!arg_all && is_zero(e))
                                continue;
                        snprintf(n, sizeof(n), "%s[%zu]", name, i);
                        print_value(indent, n, e);
                }
                break;
        case json_type_object:
                printf("%s%s:\n", indent, name);
                print_object(sub, v);
                break;
        default:
                break;
        }
}

static const char *jstr(json_object *o, const char *k)
{
        json_object *v = json_object_object_get(o, k);

        return v && !json_object_is_type(v, json_type_null) ? json_object_get_string(v) : "?";
}

static int64_t jint(json_object *o, const char *k)
{
        return json_object_get_int64(json_object_object_get(o, k));
}

/* Problems found in a capture: each becomes one stderr line and a non-zero exit. */
static int report_problems(json_object *root)
{
        json_object *msgs = json_object_object_get(root, "messages"), *rpcs = json_object_object_get(root, "rpcs");
        int n = 0;

        for (size_t i = 0; msgs && i < json_object_array_length(msgs); i++) {
                json_object *m = json_object_array_get_idx(msgs, i);

                if (!json_object_get_boolean(json_object_object_get(m, "checksum_ok"))) {
                        fprintf(stderr, "nvvgpuctl: message %zu at offset %" PRId64 " fails its checksum\n", i,
                                json_object_get_int64(json_object_object_get(m, "offset")));
                        n++;
                }
        }
        for (size_t i = 0; rpcs && i < json_object_array_length(rpcs); i++) {
                json_object *r = json_object_array_get_idx(rpcs, i), *c, *e;

                if (!(c = json_object_object_get(r, "control")))
                        c = json_object_object_get(r, "alloc");
                if (c && (e = json_object_object_get(c, "params_error"))) {
                        fprintf(stderr, "nvvgpuctl: rpc %zu: %s\n", i, json_object_get_string(e));
                        n++;
                }
        }
        if (json_object_object_get(root, "incomplete")) {
                fprintf(stderr, "nvvgpuctl: %s\n", json_object_get_string(json_object_object_get(root, "incomplete")));
                n++;
        }
        return n ? -EBADMSG : 0;
}

static void print_dissection(json_object *root)
{
        json_object *msgs = json_object_object_get(root, "messages"), *rpcs = json_object_object_get(root, "rpcs");

        printf("firmware %s, %s framing\n", jstr(root, "release"), jstr(root, "framing"));
        for (size_t i = 0; msgs && i < json_object_array_length(msgs); i++) {
                json_object *m = json_object_array_get_idx(msgs, i);

                printf("message %zu at offset %" PRId64 ": sequence %" PRId64 ", %" PRId64 " element%s, checksum %s %s, %s (%" PRId64 "), %" PRId64 " bytes\n",
                       i, jint(m, "offset"), jint(m, "sequence"), jint(m, "elements"), jint(m, "elements") == 1 ? "" : "s",
                       jstr(m, "checksum"), json_object_get_boolean(json_object_object_get(m, "checksum_ok")) ? "ok" : "BAD",
                       jstr(m, "function_name"), jint(m, "function"), jint(m, "length"));
        }
        for (size_t i = 0; i < json_object_array_length(rpcs); i++) {
                json_object *r = json_object_array_get_idx(rpcs, i), *h = json_object_object_get(r, "rpc"), *c, *p;

                printf("rpc %zu: %s (%" PRId64 "), %" PRId64 " bytes, sequence %" PRId64 ", result %s (%s), gfid %" PRId64 ", header version %s\n",
                       i, jstr(h, "function_name"), jint(h, "function"), jint(h, "length"), jint(h, "sequence"),
                       jstr(h, "result"), jstr(h, "result_name"), jint(h, "gfid"), jstr(h, "header_version"));
                if ((c = json_object_object_get(r, "control")) || (c = json_object_object_get(r, "alloc"))) {
                        bool alloc = json_object_object_get(r, "alloc") != NULL;

                        printf("%s: %s (%s)%s%s%s, status %s, %" PRId64 " bytes of params%s%s\n",
                               alloc ? "alloc" : "control", jstr(c, alloc ? "class_name" : "cmd_name"),
                               jstr(c, alloc ? "class" : "cmd"),
                               json_object_object_get(c, "command") ? ", stable command '" : "",
                               json_object_object_get(c, "command") ? jstr(c, "command") : "",
                               json_object_object_get(c, "command") ? "'" : "", jstr(c, "status_name"),
                               jint(c, "params_size"), json_object_object_get(c, "params_struct") ? " in " : "",
                               json_object_object_get(c, "params_struct") ? jstr(c, "params_struct") : "");
                        print_object("  ", json_object_object_get(c, "header"));
                }
                if ((c = json_object_object_get(r, "function")))
                        printf("function: stable command '%s', params in %s\n", jstr(c, "command"), jstr(c, "params_struct"));
                if ((c = json_object_object_get(r, "event")))
                        printf("event: %s%s%s%s\n", jstr(c, "name"),
                               json_object_object_get(c, "stable") ? ", stable event '" : "",
                               json_object_object_get(c, "stable") ? jstr(c, "stable") : "",
                               json_object_object_get(c, "stable") ? "'" : "");
                if ((p = json_object_object_get(r, "params"))) {
                        printf("params:\n");
                        print_object("  ", p);
                }
        }
}

static int parse_hex(const char *text, size_t len, uint8_t **ret, size_t *ret_len)
{
        _cleanup_free_ uint8_t *b = malloc(len / 2 + 1);
        size_t n = 0;
        int hi = -1;

        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                char c = text[i];
                int v;

                if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
                        continue;
                if (c >= '0' && c <= '9')
                        v = c - '0';
                else if (c >= 'a' && c <= 'f')
                        v = c - 'a' + 10;
                else if (c >= 'A' && c <= 'F')
                        v = c - 'A' + 10;
                else
                        return -EBADMSG;
                if (hi < 0)
                        hi = v;
                else {
                        b[n++] = (uint8_t) (hi << 4 | v);
                        hi = -1;
                }
        }
        if (hi >= 0)
                return -EBADMSG;
        *ret = TAKE_PTR(b);
        *ret_len = n;
        return 0;
}

static int cmd_decode(int argc, char **argv)
{
        _cleanup_(nvv_fwdb_freep) struct nvv_fwdb *db = NULL;
        _cleanup_free_ char *data = NULL;
        _cleanup_free_ uint8_t *bin = NULL;
        const struct nvv_fwabi *fw;
        const char *file;
        json_object *o = NULL;
        size_t len;
        char err[512];
        int r, i;

        i = parse_common(argc, argv, "nvvgpuctl fw decode RELEASE [FILE] [--hex] [--all] [--fwabi-dir DIR] [--json]");
        if (i < 0)
                return i;
        if (argc - i < 1 || argc - i > 2)
                cli_usage_error("usage: nvvgpuctl fw decode RELEASE [FILE] [--hex] [--all] [--json]");
        file = argc - i == 2 ? argv[i + 1] : "-";
        r = load_db(&db);
        if (r < 0)
                return r;
        fw = find_release(db, argv[i]);
        if (!fw)
                return -ENOENT;
        /* Hex text takes up to three characters a byte. */
        if (streq(file, "-"))
                r = read_full_stream(stdin, arg_hex ? 3 * NVV_DISSECT_MAX_INPUT : NVV_DISSECT_MAX_INPUT, &data, &len);
        else
                r = read_full_file(file, arg_hex ? 3 * NVV_DISSECT_MAX_INPUT : NVV_DISSECT_MAX_INPUT, &data, &len);
        if (r == -EFBIG)
                return cli_error(r, "%s: larger than %u bytes", file, NVV_DISSECT_MAX_INPUT);
        if (r < 0)
                return cli_error(r, "%s: %s", file, read_full_file_strerror(r));
        if (len == 0)
                return cli_error(-EINVAL, "%s: empty input", file);
        if (arg_hex) {
                r = parse_hex(data, len, &bin, &len);
                if (r < 0)
                        return cli_error(r, "%s: not hex text", file);
        }
        r = nvv_dissect_bytes(fw, bin ? (const void *) bin : (const void *) data, len, &o, err, sizeof(err));
        if (r < 0)
                return cli_error(r, "%s: %s", file, err);
        if (arg_json)
                cli_print_json(o);
        else
                print_dissection(o);
        fflush(stdout);
        r = report_problems(o);
        json_object_put(o);
        return r;
}

/* One GPU seen through a backend: what it runs, what serves it, how fast it answers. */
static json_object *probe_one(const struct nvv_channel_info *info, struct nvv_channel *ch, const char *error)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "index", json_object_new_int64(info->index));
        json_object_object_add(o, "bdf", json_object_new_string(info->bdf));
        json_object_object_add(o, "model", json_object_new_string(info->model));
        json_object_object_add(o, "release", json_object_new_string(info->release));
        if (ch) {
                const struct nvv_fwabi *fw = nvv_channel_get_fwabi(ch);
                uint64_t ns = 0;
                char err[512];

                json_object_object_add(o, "description", json_object_new_string(fw->release));
                json_object_object_add(o, "match",
                                       json_object_new_string(nvv_channel_get_vmgmt(ch) ? "upstream interface" :
                                                              nvv_fwabi_serves(fw, info->release) == 2 ? "exact" : "compatible"));
                if (nvv_channel_measure_rtt(ch, 100, &ns, err, sizeof(err)) == 0)
                        json_object_object_add(o, "rtt_us", json_object_new_double((double) ns / 1000.0));
                else
                        json_object_object_add(o, "error", json_object_new_string(err));
        } else
                json_object_object_add(o, "error", json_object_new_string(error ? error : "cannot open"));
        return o;
}

static int cmd_probe(int argc, char **argv)
{
        _cleanup_(nvv_fwdb_freep) struct nvv_fwdb *db = NULL;
        _cleanup_(nvv_backend_freep) struct nvv_backend *backend = NULL;
        _cleanup_free_ char *msg = NULL;
        struct nvv_backend_gpu *gpus = NULL;
        json_object *arr;
        size_t n = 0;
        int r, i, bad = 0;

        i = parse_common(argc, argv, "nvvgpuctl fw probe [--backend sim:SOCKET|fwctl[:DEV]] [--fwabi-dir DIR] [--json]");
        if (i < 0)
                return i;
        if (i != argc)
                cli_usage_error("fw probe takes no arguments");
        r = nvv_backend_parse(arg_backend ? arg_backend : "fwctl", &backend, &msg);
        if (r < 0)
                cli_usage_error("%s", msg ? msg : strerror(-r));
        r = load_db(&db);
        if (r < 0)
                return r;
        r = nvv_backend_open_all(backend, db, &gpus, &n, &msg);
        if (r < 0)
                return cli_error(r, "%s", msg ? msg : strerror(-r));
        arr = json_object_new_array();
        for (size_t k = 0; k < n; k++) {
                struct nvv_channel_info info = gpus[k].info;

                /* A fwctl device that did not open told us nothing about its GPU. */
                if (!info.bdf[0])
                        snprintf(info.bdf, sizeof(info.bdf), "?");
                bad += !gpus[k].channel;
                json_object_array_add(arr, probe_one(&info, gpus[k].channel, gpus[k].error_msg));
        }
        nvv_backend_gpus_free(gpus, n);
        if (arg_json)
                cli_print_json(arr);
        else
                for (size_t k = 0; k < json_object_array_length(arr); k++) {
                        json_object *o = json_object_array_get_idx(arr, k), *v;

                        printf("GPU %s  %s  firmware %s", jstr(o, "bdf"), jstr(o, "model"), jstr(o, "release"));
                        if ((v = json_object_object_get(o, "description")))
                                printf("  described by %s (%s)", json_object_get_string(v), jstr(o, "match"));
                        if ((v = json_object_object_get(o, "rtt_us")))
                                printf("  round trip %.1f us", json_object_get_double(v));
                        if ((v = json_object_object_get(o, "error")))
                                printf("\n  cannot use it: %s", json_object_get_string(v));
                        printf("\n");
                }
        json_object_put(arr);
        return bad ? -ENODEV : 0;
}

int nvvgpuctl_fw(int argc, char **argv)
{
        int r;

        if (argc < 2 || streq(argv[1], "help")) {
                printf("Usage:\n"
                       "  nvvgpuctl fw releases [--fwabi-dir DIR] [--json]\n"
                       "  nvvgpuctl fw layout RELEASE STRUCT [--fwabi-dir DIR] [--json]\n"
                       "  nvvgpuctl fw diff RELEASE_A RELEASE_B [--fwabi-dir DIR] [--json]\n"
                       "  nvvgpuctl fw decode RELEASE [FILE] [--hex] [--all] [--fwabi-dir DIR] [--json]\n"
                       "  nvvgpuctl fw probe [--backend sim:SOCKET|fwctl[:DEV]] [--fwabi-dir DIR] [--json]\n");
                return argc < 2 ? -EINVAL : 0;
        }
        if (streq(argv[1], "releases"))
                r = cmd_releases(argc - 1, argv + 1);
        else if (streq(argv[1], "layout"))
                r = cmd_layout(argc - 1, argv + 1);
        else if (streq(argv[1], "diff"))
                r = cmd_diff(argc - 1, argv + 1);
        else if (streq(argv[1], "decode"))
                r = cmd_decode(argc - 1, argv + 1);
        else if (streq(argv[1], "probe"))
                r = cmd_probe(argc - 1, argv + 1);
        else
                cli_usage_error("unknown command 'fw %s' (try 'nvvgpuctl fw help')", argv[1]);
        arg_fwabi_dirs = strv_free(arg_fwabi_dirs);
        return r;
}
