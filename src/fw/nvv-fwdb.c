/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvv-fwabi-load.h"
#include "nvv-fwdb.h"
#include "util.h"

static int load_releases_dir(struct nvv_fwdb *db, const char *dir, char **reterr_msg);

#ifndef NVV_FWABI_DIR
#define NVV_FWABI_DIR "/usr/share/nvvgpu/fwabi"
#endif

struct nvv_fwdb {
        size_t n;
        struct nvv_fwabi **fws;
        size_t n_vm;
        struct nvv_vmgmt **vms;
};

int nvv_fwdb_new(struct nvv_fwdb **ret)
{
        *ret = calloc(1, sizeof(struct nvv_fwdb));
        return *ret ? 0 : -ENOMEM;
}

struct nvv_fwdb *nvv_fwdb_free(struct nvv_fwdb *db)
{
        if (!db)
                return NULL;
        for (size_t i = 0; i < db->n; i++)
                nvv_fwabi_free(db->fws[i]);
        free(db->fws);
        for (size_t i = 0; i < db->n_vm; i++)
                nvv_vmgmt_free(db->vms[i]);
        free(db->vms);
        free(db);
        return NULL;
}

size_t nvv_fwdb_count(const struct nvv_fwdb *db)
{
        return db->n;
}

const struct nvv_fwabi *nvv_fwdb_get(const struct nvv_fwdb *db, size_t i)
{
        return i < db->n ? db->fws[i] : NULL;
}

const struct nvv_fwabi *nvv_fwdb_find(const struct nvv_fwdb *db, const char *release)
{
        for (size_t i = 0; i < db->n; i++)
                if (streq(db->fws[i]->release, release))
                        return db->fws[i];
        return NULL;
}

int nvv_fwdb_add(struct nvv_fwdb *db, struct nvv_fwabi *fw)
{
        struct nvv_fwabi **n;
        size_t pos;

        if (nvv_fwdb_find(db, fw->release)) {
                nvv_fwabi_free(fw);
                return 0;
        }
        n = realloc(db->fws, (db->n + 1) * sizeof(*n));
        if (!n) {
                nvv_fwabi_free(fw);
                return -ENOMEM;
        }
        db->fws = n;
        for (pos = db->n; pos > 0 && nvv_release_compare(db->fws[pos - 1]->release, fw->release) > 0; pos--)
                db->fws[pos] = db->fws[pos - 1];
        db->fws[pos] = fw;
        db->n++;
        return 1;
}

int nvv_fwdb_add_vmgmt(struct nvv_fwdb *db, struct nvv_vmgmt *vm)
{
        struct nvv_vmgmt **n;
        size_t pos;

        for (size_t i = 0; i < db->n_vm; i++)
                if (streq(nvv_vmgmt_get_revision(db->vms[i]), nvv_vmgmt_get_revision(vm))) {
                        nvv_vmgmt_free(vm);
                        return 0;
                }
        n = realloc(db->vms, (db->n_vm + 1) * sizeof(*n));
        if (!n) {
                nvv_vmgmt_free(vm);
                return -ENOMEM;
        }
        db->vms = n;
        for (pos = db->n_vm; pos > 0 && strcmp(nvv_vmgmt_get_revision(db->vms[pos - 1]), nvv_vmgmt_get_revision(vm)) > 0; pos--)
                db->vms[pos] = db->vms[pos - 1];
        db->vms[pos] = vm;
        db->n_vm++;
        return 1;
}

size_t nvv_fwdb_vmgmt_count(const struct nvv_fwdb *db)
{
        return db->n_vm;
}

const struct nvv_vmgmt *nvv_fwdb_vmgmt_get(const struct nvv_fwdb *db, size_t i)
{
        return i < db->n_vm ? db->vms[i] : NULL;
}

const struct nvv_vmgmt *nvv_fwdb_vmgmt_match(const struct nvv_fwdb *db, const char *revision, char **reterr_msg)
{
        if (db->n_vm == 0) {
                nvv_fail(reterr_msg, "no description of the upstream vGPU-management interface is loaded "
                         "(data/fwabi/upstream/*.json)");
                return NULL;
        }
        if (!revision || !*revision)
                return db->vms[db->n_vm - 1];
        for (size_t i = 0; i < db->n_vm; i++)
                if (streq(nvv_vmgmt_get_revision(db->vms[i]), revision))
                        return db->vms[i];
        nvv_fail(reterr_msg, "the upstream vGPU-management interface revision %s is not described (known: %s%s)",
                 revision, nvv_vmgmt_get_revision(db->vms[0]), db->n_vm > 1 ? ", ..." : "");
        return NULL;
}

/* The .json files of dir/upstream: all or nothing, like the releases. */
static int load_vmgmt_dir(struct nvv_fwdb *db, const char *dir, char **reterr_msg)
{
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *sub = NULL;
        struct nvv_vmgmt **loaded;
        size_t n;
        int r = 0;

        if (asprintf(&sub, "%s/upstream", dir) < 0) {
                sub = NULL;
                return -ENOMEM;
        }
        r = nvv_dir_list(sub, NULL, ".json", 64, &names);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s: %s", sub, r == -E2BIG ? "more than 64 descriptions" : strerror(-r));
        n = strv_length(names);
        loaded = calloc(n + 1, sizeof(*loaded));
        if (!loaded)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "%s/%s", sub, names[i]) < 0) {
                        path = NULL;
                        r = -ENOMEM;
                        break;
                }
                r = nvv_vmgmt_load_file(path, &loaded[i], reterr_msg);
        }
        for (size_t i = 0; i < n; i++) {
                if (r >= 0 && loaded[i]) {
                        int k = nvv_fwdb_add_vmgmt(db, TAKE_PTR(loaded[i]));

                        if (k < 0)
                                r = k;
                }
                nvv_vmgmt_free(loaded[i]);
        }
        free(loaded);
        return r;
}

int nvv_fwdb_load_dir(struct nvv_fwdb *db, const char *dir, char **reterr_msg)
{
        int r, k;

        r = load_releases_dir(db, dir, reterr_msg);
        if (r < 0)
                return r;
        k = load_vmgmt_dir(db, dir, reterr_msg);
        return k < 0 ? k : r;
}

static int load_releases_dir(struct nvv_fwdb *db, const char *dir, char **reterr_msg)
{
        _cleanup_strv_free_ char **names = NULL;
        struct nvv_fwabi **loaded = NULL;
        size_t n_loaded = 0, n;
        int r = 0;

        assert_return(db && dir, -EINVAL);
        r = nvv_dir_list(dir, NULL, ".json", 1024, &names);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s: %s", dir, r == -E2BIG ? "more than 1024 descriptions" : strerror(-r));
        n = strv_length(names);
        if (n == 0)
                return 0;
        loaded = calloc(n, sizeof(*loaded));
        if (!loaded)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
                        r = -ENOMEM;
                        goto finish;
                }
                r = nvv_fwabi_load_file(path, &loaded[n_loaded], reterr_msg);
                if (r < 0)
                        goto finish;
                for (size_t j = 0; j < n_loaded; j++)
                        if (streq(loaded[j]->release, loaded[n_loaded]->release)) {
                                r = nvv_fail_errno(-EEXIST, reterr_msg, "%s: release %s is also described by %s",
                                                   path, loaded[j]->release, loaded[j]->path);
                                n_loaded++;
                                goto finish;
                        }
                n_loaded++;
        }
        for (size_t i = 0; i < n_loaded; i++) {
                int k = nvv_fwdb_add(db, TAKE_PTR(loaded[i]));

                if (k < 0) {
                        r = k;
                        goto finish;
                }
        }
        r = (int) n_loaded;
finish:
        for (size_t i = 0; i < n_loaded; i++)
                nvv_fwabi_free(loaded[i]);
        free(loaded);
        return r;
}

const char *nvv_fwdb_default_dir(void)
{
        const char *e = secure_getenv("NVVGPU_FWABI_DIR");

        return e && *e ? e : NVV_FWABI_DIR;
}

int nvv_fwdb_load_default(struct nvv_fwdb *db, char **reterr_msg)
{
        return nvv_fwdb_load_dir(db, nvv_fwdb_default_dir(), reterr_msg);
}

const struct nvv_fwabi *nvv_fwdb_match(const struct nvv_fwdb *db, const char *release, char **reterr_msg)
{
        const struct nvv_fwabi *best = NULL, *nearest = NULL;
        size_t best_len = 0;
        uint64_t nearest_d = UINT64_MAX;
        unsigned long major;
        char *known = NULL;
        size_t klen = 0;
        FILE *f;

        if (!release || !nvv_release_is_valid(release)) {
                nvv_fail(reterr_msg, "'%s' is not a firmware release version", release ? release : "");
                return NULL;
        }
        for (size_t i = 0; i < db->n; i++)
                if (streq(db->fws[i]->release, release))
                        return db->fws[i];
        for (size_t i = 0; i < db->n; i++)
                for (char **p = db->fws[i]->compatible; p && *p; p++)
                        if (startswith(release, *p) && strlen(*p) > best_len) {
                                best = db->fws[i];
                                best_len = strlen(*p);
                        }
        if (best)
                return best;

        /* Refuse, naming the closest known branch (never guess the layout). */
        major = strtoul(release, NULL, 10);
        for (size_t i = 0; i < db->n; i++) {
                unsigned long m = strtoul(db->fws[i]->release, NULL, 10);
                uint64_t d = m > major ? m - major : major - m;

                if (d < nearest_d || (d == nearest_d && nvv_release_compare(db->fws[i]->release, nearest->release) < 0)) {
                        nearest = db->fws[i];
                        nearest_d = d;
                }
        }
        if (reterr_msg) {
                f = open_memstream(&known, &klen);
                if (f) {
                        for (size_t i = 0; i < db->n; i++)
                                fprintf(f, "%s%s", i ? ", " : "", db->fws[i]->release);
                        fclose(f);
                }
                if (nearest)
                        nvv_fail(reterr_msg,
                                 "firmware release %s is not supported: no description serves it (known: %s); the nearest known release is %s",
                                 release, known ? known : "", nearest->release);
                else
                        nvv_fail(reterr_msg, "firmware release %s is not supported: no release descriptions are loaded",
                                 release);
                free(known);
        }
        return NULL;
}

