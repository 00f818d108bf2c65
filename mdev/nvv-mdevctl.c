/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdevctl's definition files (/etc/mdevctl.d/PARENT/UUID): strict reading, crash-safe writing. */
#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nvv-json.h"
#include "nvv-mdevctl.h"
#include "util.h"

static bool name_valid(const char *s)
{
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n >= NVV_MDEVCTL_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr(":._-", s[i]))
                        return false;
        return true;
}

bool nvv_mdevctl_parent_valid(const char *s)
{
        return name_valid(s) && !streq(s, ".") && !streq(s, "..") && s[0] != '.';
}

bool nvv_mdevctl_type_valid(const char *s)
{
        return name_valid(s);
}

/* 8-4-4-4-12 hex digits, either case: what mdevctl accepts; canonical lowercase out. */
static bool uuid_name(const char *s, char out[static 37])
{
        if (strlen(s) != 36)
                return false;
        for (size_t i = 0; i < 36; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;

                if (dash ? s[i] != '-' : !isxdigit((unsigned char) s[i]))
                        return false;
                out[i] = (char) tolower((unsigned char) s[i]);
        }
        out[36] = '\0';
        return true;
}

int nvv_mdevctl_parse(const char *data, size_t size, const char *name, struct nvv_mdevctl_def *ret, char **reterr_msg)
{
        static const char *const keys[] = { "mdev_type", "start", "attrs", NULL };
        _cleanup_json_ json_object *doc = NULL;
        _cleanup_free_ char *err = NULL;
        struct nvv_json j = { .file = name, .err = &err };
        json_object *v = NULL;
        const char *s;
        size_t old, n = 0;
        int r;

        assert_return(data && ret, -EINVAL);
        r = nvv_json_parse(&j, data, size, NVV_MDEVCTL_MAX_FILE, &doc);
        if (r >= 0 && !json_object_is_type(doc, json_type_object))
                r = nvv_json_fail(&j, "a definition is a JSON object");
        if (r >= 0)
                r = nvv_json_check_keys(&j, doc, keys);
        if (r >= 0 && (r = nvv_json_member(&j, doc, "mdev_type", true, &v)) >= 0) {
                old = nvv_json_push(&j, "mdev_type");
                r = nvv_json_get_string(&j, v, NVV_MDEVCTL_NAME_MAX - 1, &s);
                if (r >= 0 && !nvv_mdevctl_type_valid(s))
                        r = nvv_json_fail(&j, "not a type name");
                if (r >= 0)
                        snprintf(ret->mdev_type, sizeof(ret->mdev_type), "%s", s);
                nvv_json_pop(&j, old);
        }
        /* mdevctl writes "start" always; a file without it starts manually, as mdevctl reads it. */
        ret->autostart = false;
        if (r >= 0 && (r = nvv_json_member(&j, doc, "start", false, &v)) >= 0 && v) {
                old = nvv_json_push(&j, "start");
                r = nvv_json_get_string(&j, v, 16, &s);
                if (r >= 0 && !streq(s, "auto") && !streq(s, "manual"))
                        r = nvv_json_fail(&j, "is \"auto\" or \"manual\"");
                if (r >= 0)
                        ret->autostart = streq(s, "auto");
                nvv_json_pop(&j, old);
        }
        if (r >= 0 && (r = nvv_json_member(&j, doc, "attrs", false, &v)) >= 0 && v) {
                old = nvv_json_push(&j, "attrs");
                r = nvv_json_get_array(&j, v, NVV_MDEVCTL_MAX_ATTRS, &n);
                for (size_t i = 0; r >= 0 && i < n; i++) {
                        json_object *a = json_object_array_get_idx(v, i);
                        size_t o2 = nvv_json_push_index(&j, i);

                        /* Each is {"ATTRIBUTE": "VALUE"}: one key, a string. */
                        if (!json_object_is_type(a, json_type_object) || json_object_object_length(a) != 1)
                                r = nvv_json_fail(&j, "an attribute is an object of one key");
                        else {
                                json_object_object_foreach(a, k, val) {
                                        if (!name_valid(k) || !json_object_is_type(val, json_type_string))
                                                r = nvv_json_fail(&j, "an attribute is {\"NAME\": \"VALUE\"}");
                                }
                        }
                        nvv_json_pop(&j, o2);
                }
                nvv_json_pop(&j, old);
        }
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s", err ? err : "not a definition");
        ret->n_attrs = n;
        return 0;
}

int nvv_mdevctl_format(const struct nvv_mdevctl_def *d, char **ret_text)
{
        char *s;

        /* mdevctl's own layout (serde_json's pretty printer), so the two tools' files look alike. */
        if (asprintf(&s, "{\n  \"mdev_type\": \"%s\",\n  \"start\": \"%s\",\n  \"attrs\": []\n}", d->mdev_type,
                     d->autostart ? "auto" : "manual") < 0)
                return -ENOMEM;
        *ret_text = s;
        return 0;
}

static int cmp_def(const void *a, const void *b)
{
        const struct nvv_mdevctl_def *x = a, *y = b;
        int c = strcmp(x->parent, y->parent);

        return c ? c : strcmp(x->uuid, y->uuid);
}

static void warn(char ***w, const char *fmt, ...) _printf_(2, 3);
static void warn(char ***w, const char *fmt, ...)
{
        char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) >= 0 && strv_push(w, s) < 0)
                free(s);
        va_end(ap);
}

static int load_parent(int dfd, const char *dir, const char *parent, struct nvv_mdevctl_def **defs, size_t *n,
                       char ***w)
{
        _cleanup_close_ int pfd = openat(dfd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        DIR *d;
        struct dirent *de;

        if (pfd < 0) {
                warn(w, "%s/%s: cannot read: %s", dir, parent, strerror(errno));
                return 0;
        }
        d = fdopendir(pfd);
        if (!d)
                return -errno;
        pfd = -1; /* the DIR owns it now */
        while ((de = readdir(d))) {
                _cleanup_free_ char *data = NULL, *msg = NULL, *name = NULL;
                struct nvv_mdevctl_def def = {};
                size_t size;
                int r;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&name, "%s/%s/%s", dir, parent, de->d_name) < 0)
                        break;
                if (!uuid_name(de->d_name, def.uuid)) {
                        warn(w, "%s: not a UUID; skipped", name);
                        continue;
                }
                if (*n >= NVV_MDEVCTL_MAX_DEFS) {
                        warn(w, "%s: more than %u definitions; the rest are skipped", dir, NVV_MDEVCTL_MAX_DEFS);
                        break;
                }
                r = read_full_file_at(dirfd(d), de->d_name, O_NOFOLLOW, NVV_MDEVCTL_MAX_FILE, &data, &size);
                if (r < 0) {
                        warn(w, "%s: %s; skipped", name, read_full_file_strerror(r));
                        continue;
                }
                r = nvv_mdevctl_parse(data, size, name, &def, &msg);
                if (r < 0) {
                        warn(w, "%s; skipped", msg ? msg : name);
                        continue;
                }
                snprintf(def.parent, sizeof(def.parent), "%.63s", parent);
                (*defs)[(*n)++] = def;
        }
        closedir(d);
        return 0;
}

int nvv_mdevctl_load(const char *dir, struct nvv_mdevctl_def **ret, size_t *ret_n, char ***ret_warnings)
{
        _cleanup_free_ struct nvv_mdevctl_def *defs = NULL;
        _cleanup_close_ int dfd = -1;
        struct dirent *de;
        size_t n = 0;
        DIR *d;
        int r = 0;

        assert_return(dir && ret && ret_n, -EINVAL);
        defs = calloc(NVV_MDEVCTL_MAX_DEFS, sizeof(*defs));
        if (!defs)
                return -ENOMEM;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 && errno == ENOENT) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (dfd < 0)
                return -errno;
        d = fdopendir(dup(dfd));
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                struct stat st;

                /* mdevctl keeps its callouts and notifiers in scripts.d; not a parent. */
                if (de->d_name[0] == '.' || streq(de->d_name, "scripts.d"))
                        continue;
                if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                if (!nvv_mdevctl_parent_valid(de->d_name)) {
                        warn(ret_warnings, "%s/%s: not a parent device's name; skipped", dir, de->d_name);
                        continue;
                }
                r = load_parent(dfd, dir, de->d_name, &defs, &n, ret_warnings);
                if (r < 0)
                        break;
        }
        closedir(d);
        if (r < 0)
                return r;
        qsort(defs, n, sizeof(*defs), cmp_def);
        *ret = n ? TAKE_PTR(defs) : NULL;
        *ret_n = n;
        return 0;
}

int nvv_mdevctl_save(const char *dir, const struct nvv_mdevctl_def *d, char **reterr_msg)
{
        _cleanup_close_ int dfd = -1, pfd = -1;
        _cleanup_free_ char *text = NULL;
        const char *step = "";
        struct stat st;
        int r;

        assert_return(dir && d, -EINVAL);
        if (!nvv_mdevctl_parent_valid(d->parent) || !nvv_mdevctl_type_valid(d->mdev_type))
                return nvv_fail_errno(-EINVAL, reterr_msg, "not a valid mdevctl definition");
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return nvv_fail_errno(-errno, reterr_msg, "%s: cannot create: %m", dir);
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return nvv_fail_errno(-errno, reterr_msg, "%s: %m", dir);
        if (mkdirat(dfd, d->parent, 0755) < 0 && errno != EEXIST)
                return nvv_fail_errno(-errno, reterr_msg, "%s/%s: cannot create: %m", dir, d->parent);
        pfd = openat(dfd, d->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (pfd < 0)
                return nvv_fail_errno(-errno, reterr_msg, "%s/%s: %m", dir, d->parent);
        if (fstatat(pfd, d->uuid, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return nvv_fail_errno(-EEXIST, reterr_msg, "%s/%s/%s exists: mdevctl has a definition of %s already",
                                      dir, d->parent, d->uuid, d->uuid);
        r = nvv_mdevctl_format(d, &text);
        if (r < 0)
                return r;
        r = write_file_atomic_at(pfd, d->uuid, ".nvvgpu-tmp-", text, strlen(text), 0644, NULL, NULL, &step);
        if (r < 0)
                return nvv_fail_errno(r, reterr_msg, "%s/%s/%s: %s failed: %s", dir, d->parent, d->uuid, step,
                                      strerror(-r));
        return 0;
}

int nvv_mdevctl_delete(const char *dir, const char *parent, const char *uuid, char **reterr_msg)
{
        _cleanup_close_ int pfd = -1;
        _cleanup_free_ char *path = NULL;
        char u[37];

        assert_return(dir && parent && uuid, -EINVAL);
        if (!nvv_mdevctl_parent_valid(parent) || !uuid_name(uuid, u))
                return -EINVAL;
        if (asprintf(&path, "%s/%s", dir, parent) < 0)
                return -ENOMEM;
        pfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (pfd < 0)
                return errno == ENOENT ? -ENOENT : nvv_fail_errno(-errno, reterr_msg, "%s: %m", path);
        if (unlinkat(pfd, u, 0) < 0)
                return errno == ENOENT ? -ENOENT : nvv_fail_errno(-errno, reterr_msg, "%s/%s: cannot remove: %m", path, u);
        (void) fsync(pfd);
        return 0;
}
