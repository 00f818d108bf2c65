/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nvvgpuctl host scan: which GPUs this machine has and whether each can host vGPUs. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-catalog.h"
#include "nvv-escape.h"
#include "nvv-fwabi.h"
#include "nvv-host.h"
#include "nvv-json.h"
#include "nvvgpuctl.h"
#include "util.h"

static const char *arg_sysfs_root;
static const char *arg_proc_root;
static const char *arg_catalog_dir;
static bool arg_json;
static bool arg_no_udev;

int cli_load_catalog(const char *dir, struct nvv_catalog **ret)
{
        _cleanup_(nvv_catalog_freep) struct nvv_catalog *c = NULL;
        _cleanup_free_ char *msg = NULL;
        int r;

        r = nvv_catalog_new(&c);
        if (r < 0)
                return cli_error(r, "out of memory");
        r = dir ? nvv_catalog_load_dir(c, dir, &msg) : nvv_catalog_load_default(c, &msg);
        if (r < 0)
                return cli_error(r, "GPU catalog: %s", msg ? msg : strerror(-r));
        *ret = TAKE_PTR(c);
        return 0;
}

/* The one loader of release descriptions: files from each --fwabi-dir come first and win
 * over installed ones; with a --fwabi-dir, no installed descriptions is not an error. */
int cli_load_fwdb(char *const *dirs, struct nvv_fwdb **ret)
{
        _cleanup_(nvv_fwdb_freep) struct nvv_fwdb *db = NULL;
        _cleanup_free_ char *msg = NULL;
        int r;

        r = nvv_fwdb_new(&db);
        if (r < 0)
                return cli_error(r, "out of memory");
        for (char *const *d = dirs; d && *d; d++) {
                r = nvv_fwdb_load_dir(db, *d, &msg);
                if (r < 0)
                        return cli_error(r, "firmware release descriptions: %s", msg ? msg : strerror(-r));
        }
        r = nvv_fwdb_load_default(db, &msg);
        if (r < 0 && !(r == -ENOENT && dirs && *dirs))
                return cli_error(r, "firmware release descriptions: %s", msg ? msg : strerror(-r));
        if (nvv_fwdb_count(db) == 0)
                return cli_error(-ENOENT, "no firmware release descriptions found in %s", nvv_fwdb_default_dir());
        *ret = TAKE_PTR(db);
        return 0;
}

static void help(void)
{
        printf("Usage: nvvgpuctl host scan [--sysfs-root DIR] [--proc-root DIR] [--catalog DIR]\n"
               "                          [--fwabi-dir DIR]... [--json]\n\n"
               "Find the NVIDIA GPUs of this machine and say, for each, whether it can host vGPUs\n"
               "and, if not, every reason. Runs without nvvgpud.\n\n"
               "  --sysfs-root DIR  read DIR instead of /sys (a captured tree; a directory holding\n"
               "                    sysfs/ and proc/ works too)\n"
               "  --proc-root DIR   read the NVIDIA driver's information from DIR instead of /proc\n"
               "  --catalog DIR     GPU catalog directory (default: $NVVGPU_GPUS_DIR or the installed one)\n"
               "  --fwabi-dir DIR   also read release descriptions from DIR; they win over installed\n"
               "                    ones (repeatable)\n"
               "  --no-udev         walk bus/pci/devices instead of asking libudev\n"
               "  -j, --json        machine-readable output\n");
}

/* Names and messages carry text from the tree (a driver link's target, a directory entry):
 * shown escaped, so that a crafted name neither drives the terminal nor breaks the JSON. */
static json_object *json_text(const char *s)
{
        _cleanup_free_ char *e = NULL;

        if (!s)
                return NULL;
        e = nvv_escape(s, 0);
        return e ? json_object_new_string(e) : NULL;
}

/* An escaped copy for the terminal, kept in *keep until the command is done. */
static const char *tty_text(char ***keep, const char *s)
{
        char *e;

        if (!s)
                return NULL;
        e = nvv_escape(s, NVV_ESCAPE_CONTROL);
        if (!e || strv_push(keep, e) < 0)
                return "(out of memory)";
        return e;
}

static const char *fb_source_str(enum nvv_fb_source s)
{
        return s == NVV_FB_FIRMWARE ? "firmware" : s == NVV_FB_CATALOG ? "catalog" : "unknown";
}

static json_object *gpu_json(const struct nvv_host_gpu *g)
{
        json_object *o = json_object_new_object(), *sriov, *vfs, *reasons, *fw;
        char buf[32];

        json_object_object_add(o, "address", json_object_new_string(g->bdf));
        snprintf(buf, sizeof(buf), "%04x:%04x", g->vendor, g->device);
        json_object_object_add(o, "pci_id", json_object_new_string(buf));
        snprintf(buf, sizeof(buf), "%04x:%04x", g->subsystem_vendor, g->subsystem_device);
        json_object_object_add(o, "subsystem_id", json_object_new_string(buf));
        snprintf(buf, sizeof(buf), "0x%06x", g->pci_class);
        json_object_object_add(o, "class", json_object_new_string(buf));
        json_object_object_add(o, "model", g->model ? json_text(g->model->model) : NULL);
        json_object_object_add(o, "catalog_id", g->model ? json_text(g->model->id) : NULL);
        json_object_object_add(o, "architecture", g->model ? json_text(g->model->architecture) : NULL);
        json_object_object_add(o, "driver", json_text(g->driver));
        json_object_object_add(o, "iommu_group", g->iommu_group >= 0 ? json_object_new_int(g->iommu_group) : NULL);
        json_object_object_add(o, "numa_node", g->numa_node >= 0 ? json_object_new_int(g->numa_node) : NULL);
        sriov = json_object_new_object();
        json_object_object_add(sriov, "capable", json_object_new_boolean(g->sriov_capable));
        json_object_object_add(sriov, "total_vfs", json_object_new_int64(g->sriov_total_vfs));
        json_object_object_add(sriov, "enabled_vfs", json_object_new_int64(g->sriov_num_vfs));
        vfs = json_object_new_array();
        for (char **v = g->vfs; v && *v; v++)
                json_object_array_add(vfs, json_object_new_string(*v));
        json_object_object_add(sriov, "vfs", vfs);
        json_object_object_add(o, "sriov", sriov);
        fw = json_object_new_object();
        json_object_object_add(fw, "release", json_text(g->firmware));
        json_object_object_add(fw, "description", g->fwabi ? json_text(g->fwabi->release) : NULL);
        json_object_object_add(o, "firmware", fw);
        json_object_object_add(o, "fb_total_mib",
                               g->fb_source != NVV_FB_UNKNOWN ? json_object_new_int64((int64_t) (g->fb_total >> 20)) : NULL);
        json_object_object_add(o, "fb_source", json_object_new_string(fb_source_str(g->fb_source)));
        json_object_object_add(o, "can_host_vgpus", json_object_new_boolean(nvv_host_gpu_can_host(g)));
        reasons = json_object_new_array();
        for (size_t i = 0; i < g->n_reasons; i++) {
                json_object *r = json_object_new_object();

                json_object_object_add(r, "code", json_object_new_string(nvv_host_issue_to_string(g->reasons[i].issue)));
                json_object_object_add(r, "message", json_text(g->reasons[i].message));
                json_object_array_add(reasons, r);
        }
        json_object_object_add(o, "reasons", reasons);
        return o;
}

static void print_gpu(const struct nvv_host_gpu *g, char ***keep)
{
        printf("%s  %s (%04x:%04x%s%s)\n", g->bdf, g->model ? tty_text(keep, g->model->model) : "unknown NVIDIA GPU",
               g->vendor, g->device, g->model ? ", " : "", g->model ? tty_text(keep, g->model->architecture) : "");
        printf("  %-13s %s\n", "driver", g->driver ? tty_text(keep, g->driver) : "none");
        if (g->firmware && g->fwabi)
                printf("  %-13s %s (release description %s)\n", "firmware", tty_text(keep, g->firmware),
                       tty_text(keep, g->fwabi->release));
        else
                printf("  %-13s %s\n", "firmware", g->firmware ? tty_text(keep, g->firmware) : "unknown");
        if (g->fb_source != NVV_FB_UNKNOWN)
                printf("  %-13s %" PRIu64 " MiB (%s)\n", "framebuffer", g->fb_total >> 20, fb_source_str(g->fb_source));
        else
                printf("  %-13s unknown\n", "framebuffer");
        if (g->sriov_capable)
                printf("  %-13s %" PRIu32 " VFs, %" PRIu32 " enabled\n", "SR-IOV", g->sriov_total_vfs, g->sriov_num_vfs);
        else
                printf("  %-13s not visible\n", "SR-IOV");
        if (g->vfs && *g->vfs) {
                printf("  %-13s", "VFs");
                for (char **v = g->vfs; *v; v++)
                        printf(" %s", *v);
                printf("\n");
        }
        if (g->iommu_group >= 0)
                printf("  %-13s %d\n", "IOMMU group", g->iommu_group);
        else
                printf("  %-13s none\n", "IOMMU group");
        if (g->numa_node >= 0)
                printf("  %-13s %d\n", "NUMA node", g->numa_node);
        else
                printf("  %-13s none\n", "NUMA node");
        if (nvv_host_gpu_can_host(g)) {
                printf("  %-13s yes (%s%s)\n", "vGPU host", g->model->sriov ? "SR-IOV" : "mediated devices",
                       g->model->mixed_size ? ", equal-size and mixed-size modes" : ", equal-size mode");
                return;
        }
        printf("  %-13s no, because:\n", "vGPU host");
        for (size_t i = 0; i < g->n_reasons; i++)
                printf("    - %s\n", tty_text(keep, g->reasons[i].message));
}

static int verb_scan(int argc, char **argv)
{
        static const struct option opts[] = {
                { "sysfs-root", required_argument, NULL, 's' },
                { "proc-root", required_argument, NULL, 'p' },
                { "catalog", required_argument, NULL, 'c' },
                { "fwabi-dir", required_argument, NULL, 'd' },
                { "no-udev", no_argument, NULL, 'U' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(nvv_catalog_freep) struct nvv_catalog *catalog = NULL;
        _cleanup_(nvv_fwdb_freep) struct nvv_fwdb *db = NULL;
        _cleanup_(nvv_host_freep) struct nvv_host *host = NULL;
        _cleanup_free_ char *msg = NULL;
        _cleanup_strv_free_ char **arg_fwabi_dirs = NULL;
        _cleanup_strv_free_ char **shown = NULL;
        char ***keep = &shown;
        struct nvv_host_scan_params params = {};
        size_t can = 0;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "jh", opts, NULL)) >= 0)
                switch (c) {
                case 's':
                        arg_sysfs_root = optarg;
                        break;
                case 'p':
                        arg_proc_root = optarg;
                        break;
                case 'c':
                        arg_catalog_dir = optarg;
                        break;
                case 'd':
                        if (strv_extend(&arg_fwabi_dirs, optarg) < 0)
                                return cli_error(-ENOMEM, "out of memory");
                        break;
                case 'U':
                        arg_no_udev = true;
                        break;
                case 'j':
                        arg_json = true;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        cli_usage_error("host scan: bad option (try 'nvvgpuctl host help')");
                }
        if (optind < argc)
                cli_usage_error("host scan: unexpected argument '%s'", argv[optind]);

        r = cli_load_catalog(arg_catalog_dir, &catalog);
        if (r < 0)
                return r;
        r = cli_load_fwdb(arg_fwabi_dirs, &db);
        if (r < 0)
                return r;
        params.sysfs_root = arg_sysfs_root;
        params.proc_root = arg_proc_root;
        params.no_udev = arg_no_udev;
        params.catalog = catalog;
        params.fwdb = db;
        r = nvv_host_scan(&params, &host, &msg);
        if (r < 0)
                return cli_error(r, "host scan: %s", msg ? tty_text(keep, msg) : strerror(-r));
        for (size_t i = 0; i < host->n; i++)
                can += nvv_host_gpu_can_host(host->gpus[i]);

        if (arg_json) {
                _cleanup_json_ json_object *o = json_object_new_object();
                json_object *gpus = json_object_new_array(), *warn = json_object_new_array();

                json_object_object_add(o, "sysfs_root", json_text(arg_sysfs_root ? arg_sysfs_root : "/sys"));
                for (size_t i = 0; i < host->n; i++)
                        json_object_array_add(gpus, gpu_json(host->gpus[i]));
                json_object_object_add(o, "gpus", gpus);
                for (char **w = host->warnings; w && *w; w++)
                        json_object_array_add(warn, json_text(*w));
                json_object_object_add(o, "warnings", warn);
                cli_print_json(o);
                return 0;
        }
        for (char **w = host->warnings; w && *w; w++)
                fprintf(stderr, "nvvgpuctl: warning: %s\n", tty_text(keep, *w));
        if (host->n == 0) {
                printf("No NVIDIA GPU found under %s.\n", arg_sysfs_root ? tty_text(keep, arg_sysfs_root) : "/sys");
                return 0;
        }
        for (size_t i = 0; i < host->n; i++) {
                if (i)
                        printf("\n");
                print_gpu(host->gpus[i], keep);
        }
        printf("\n%zu NVIDIA GPU%s, %s can host vGPUs.\n", host->n, host->n == 1 ? "" : "s",
               can == 0 ? "none" : can == host->n ? (host->n == 1 ? "it" : "all") : "some");
        if (host->no_driver_info)
                fprintf(stderr, "nvvgpuctl: hint: --proc-root DIR reads the NVIDIA driver's information "
                                "(DIR/driver/nvidia/gpus/BDF/information)\n");
        return 0;
}

int nvvgpuctl_host(int argc, char **argv)
{
        if (argc < 2 || streq(argv[1], "help") || streq(argv[1], "--help")) {
                help();
                return argc < 2 ? -EINVAL : 0;
        }
        if (streq(argv[1], "scan"))
                return verb_scan(argc - 1, argv + 1);
        cli_usage_error("unknown command 'host %s' (try 'nvvgpuctl host help')", argv[1]);
}
