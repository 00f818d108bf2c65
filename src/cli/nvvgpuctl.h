/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

/* One entry per object: `nvvgpuctl OBJECT COMMAND [args]`. */
int nvvgpuctl_fw(int argc, char **argv);
int nvvgpuctl_host(int argc, char **argv);
int nvvgpuctl_plan(int argc, char **argv);
/* gpus, types, create, destroy, list, show, status, policy: argv[0] is the command. */
int nvvgpuctl_daemon(int argc, char **argv);
/* plan --live: the plan nvvgpud makes on its live state. */
int nvvgpuctl_plan_live(int argc, char **argv);

/* Shared by subcommands. */
void cli_print_json(json_object *o);
_Noreturn void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_error(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct nvv_catalog;
struct nvv_fwdb;
/* The GPU catalog from dir (NULL: the default) and the installed release descriptions. */
int cli_load_catalog(const char *dir, struct nvv_catalog **ret);
int cli_load_fwdb(char *const *fwabi_dirs, struct nvv_fwdb **ret);
