/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's state store: what a restart finds after a save, a crash, or a damaged file. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nvv-cmd.h"
#include "nvv-pgpu.h"
#include "nvv-prepmark.h"
#include "nvv-state.h"
#include "testutil.h"

#define UUID_A "0b6b1c2e-5d4a-4f3e-9a8b-7c6d5e4f3a2b"
#define UUID_B "8f0e3c21-7a6b-4d5c-8e9f-0a1b2c3d4e5f"
#define UUID_C "c3d2e1f0-aaaa-4bbb-8ccc-dddddddddddd"
#define VM_UUID "11111111-2222-4333-8444-555555555555"

/* ---- helpers ---- */

static char *make_dir(void)
{
        char *d = strdup("/tmp/nvv-test-state-XXXXXX");

        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

static void remove_tree(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                char p[4096];

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
                if (unlink(p) < 0)
                        remove_tree(p);
        }
        closedir(d);
        rmdir(dir);
}

/* The names in dir, sorted, joined by spaces ("" when empty). */
static char *dir_names(const char *dir)
{
        _cleanup_strv_free_ char **l = NULL;
        char *out = NULL;
        size_t len = 0;

        assert_int_equal(nvv_dir_list(dir, "", NULL, 1000, &l), 0);
        /* nvv_dir_list skips dot files; temporary files are dot files: list those too. */
        {
                DIR *d = opendir(dir);
                struct dirent *de;

                assert_non_null(d);
                while ((de = readdir(d)))
                        if (de->d_name[0] == '.' && !streq(de->d_name, ".") && !streq(de->d_name, ".."))
                                assert_int_equal(strv_extend(&l, de->d_name), 0);
                closedir(d);
        }
        strv_sort(l);
        out = strdup("");
        for (char **i = l; i && *i; i++) {
                size_t n = strlen(*i);

                out = realloc(out, len + n + 2);
                assert_non_null(out);
                if (len)
                        out[len++] = ' ';
                memcpy(out + len, *i, n + 1);
                len += n;
        }
        return out;
}

static void write_file(const char *dir, const char *name, const char *data, size_t size)
{
        char p[4096];
        int fd;

        snprintf(p, sizeof(p), "%s/%s", dir, name);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
        close(fd);
}

static char *read_file(const char *path, size_t *ret_size)
{
        char *data = NULL;
        size_t size = 0;

        assert_int_equal(read_full_file(path, 64u << 20, &data, &size), 0);
        if (ret_size)
                *ret_size = size;
        return data;
}

static struct nvv_state_vgpu sample_vgpu(const char *uuid)
{
        struct nvv_state_vgpu v = {
                .type_id = 1155,
                .vgpu_id = 1,
                .placement_id = 0,
                .fb_offset = 0,
                .fb_length = 8ull << 30,
                .chid_offset = 0,
                .chid_count = 512,
                .state = NVV_STATE_VGPU_CREATED,
        };

        snprintf(v.uuid, sizeof(v.uuid), "%s", uuid);
        strcpy(v.gpu, "0000:41:00.0");
        strcpy(v.type_name, "L40S-8Q");
        return v;
}

/* Two vGPUs (one running, one first-fit and idle) and two definitions. */
static struct nvv_state *sample_state(void)
{
        struct nvv_state *s = NULL;
        struct nvv_state_vgpu a = sample_vgpu(UUID_A), b = sample_vgpu(UUID_B);
        struct nvv_state_definition d1 = { .autostart = true }, d2 = { .autostart = false };
        char *msg = NULL;

        assert_int_equal(nvv_state_new(&s), 0);
        a.state = NVV_STATE_VGPU_RUNNING;
        a.gfid = 1;
        a.host_handle = 0x1001;
        strcpy(a.vm_name, "web-01 (tenant \"blue\")");
        strcpy(a.vm_uuid, VM_UUID);
        b.vgpu_id = 2;
        b.placement_id = NVV_PLACEMENT_NONE;
        b.fb_offset = 8ull << 30;
        b.chid_offset = 512;
        strcpy(b.gpu, "0000:c1:00.0");
        /* Added out of order: the store sorts by uuid. */
        assert_int_equal(nvv_state_add_vgpu(s, &b, &msg), 0);
        assert_int_equal(nvv_state_add_vgpu(s, &a, &msg), 0);
        strcpy(d1.uuid, UUID_C);
        strcpy(d1.type_name, "L40S-8Q");
        strcpy(d1.gpu, "0000:41:00.0");
        strcpy(d1.vm_name, "db-02");
        strcpy(d2.uuid, UUID_A);
        strcpy(d2.type_name, "L40S-4Q");
        assert_int_equal(nvv_state_add_definition(s, &d1, &msg), 0);
        assert_int_equal(nvv_state_add_definition(s, &d2, &msg), 0);
        assert_null(msg);
        return s;
}

static char *format(const struct nvv_state *s)
{
        char *t = NULL;

        assert_int_equal(nvv_state_format(s, &t), 0);
        return t;
}

/* A state whose first definition's vm name carries gen, padded to a few write chunks. */
static struct nvv_state *gen_state(unsigned gen, unsigned n_vgpus)
{
        struct nvv_state *s = NULL;
        struct nvv_state_definition d = { .autostart = true };

        assert_int_equal(nvv_state_new(&s), 0);
        for (unsigned i = 0; i < n_vgpus; i++) {
                char u[NVV_STATE_UUID_MAX];
                struct nvv_state_vgpu v;

                snprintf(u, sizeof(u), "00000000-0000-4000-8000-%012x", i);
                v = sample_vgpu(u);
                v.vgpu_id = i + 1;
                snprintf(v.vm_name, sizeof(v.vm_name), "vm-%u-%0200u", gen, i);
                assert_int_equal(nvv_state_add_vgpu(s, &v, NULL), 0);
        }
        strcpy(d.uuid, UUID_C);
        strcpy(d.type_name, "L40S-8Q");
        snprintf(d.vm_name, sizeof(d.vm_name), "gen-%u", gen);
        assert_int_equal(nvv_state_add_definition(s, &d, NULL), 0);
        return s;
}

static unsigned state_gen(const struct nvv_state *s)
{
        unsigned gen;

        assert_int_equal(s->n_definitions, 1);
        assert_int_equal(sscanf(s->definitions[0].vm_name, "gen-%u", &gen), 1);
        return gen;
}

/* ---- the API ---- */

static void test_add_find_remove(void **state)
{
        _cleanup_(nvv_state_freep) struct nvv_state *s = sample_state();
        struct nvv_state_vgpu v = sample_vgpu(UUID_C);
        struct nvv_state_definition d = {};
        char *msg = NULL;

        assert_string_equal(s->vgpus[0].uuid, UUID_A);
        assert_string_equal(s->vgpus[1].uuid, UUID_B);
        assert_string_equal(nvv_state_find_vgpu(s, UUID_B)->gpu, "0000:c1:00.0");
        assert_null(nvv_state_find_vgpu(s, UUID_C));
        assert_string_equal(nvv_state_find_definition(s, UUID_C)->vm_name, "db-02");

        v = *nvv_state_find_vgpu(s, UUID_A);
        assert_int_equal(nvv_state_add_vgpu(s, &v, &msg), -EEXIST);
        assert_strstr(msg, UUID_A);
        v.state = NVV_STATE_VGPU_CREATED;
        v.gfid = 0;
        v.host_handle = 0;
        v.vm_name[0] = '\0';
        assert_int_equal(nvv_state_update_vgpu(s, &v, &msg), 0);
        assert_int_equal(nvv_state_find_vgpu(s, UUID_A)->state, NVV_STATE_VGPU_CREATED);
        assert_string_equal(nvv_state_find_vgpu(s, UUID_A)->vm_name, "");
        strcpy(v.uuid, UUID_C);
        assert_int_equal(nvv_state_update_vgpu(s, &v, &msg), -ENOENT);

        assert_int_equal(nvv_state_remove_vgpu(s, UUID_A), 0);
        assert_int_equal(nvv_state_remove_vgpu(s, UUID_A), -ENOENT);
        assert_int_equal(s->n_vgpus, 1);
        assert_string_equal(s->vgpus[0].uuid, UUID_B);
        assert_int_equal(nvv_state_remove_definition(s, UUID_C), 0);
        assert_int_equal(nvv_state_remove_definition(s, UUID_C), -ENOENT);
        assert_null(nvv_state_find_definition(s, UUID_C));

        strcpy(d.uuid, UUID_B);
        strcpy(d.type_name, "L40S-8Q");
        strcpy(d.gpu, "0000:41:00.0");
        assert_int_equal(nvv_state_add_definition(s, &d, &msg), 0);
        assert_int_equal(nvv_state_add_definition(s, &d, &msg), -EEXIST);
        free(msg);
}

static void test_add_refuses_invalid(void **state)
{
        _cleanup_(nvv_state_freep) struct nvv_state *s = NULL;
        static const char *const bad_uuids[] = {
                "0B6B1C2E-5D4A-4F3E-9A8B-7C6D5E4F3A2B", /* upper case */
                "0b6b1c2e5d4a4f3e9a8b7c6d5e4f3a2b",     /* no dashes */
                "0b6b1c2e-5d4a-4f3e-9a8b-7c6d5e4f3a2",  /* short */
                "{0b6b1c2e-5d4a-4f3e-9a8b-7c6d5e4f3a2}",
                "0b6b1c2e-5d4a-4f3e-9a8b-7c6d5e4f3a2g",
                "",
        };
        static const char *const bad_bdfs[] = {
                "0000:41:00.8", "0000:41:20.0", "0000:41:00", "41:00.0", "0000:4G:00.0",
                "0000:C1:00.0", /* valid, but not canonical */
        };
        struct nvv_state_vgpu v;
        struct nvv_state_definition d = {};
        char *msg = NULL;

        assert_int_equal(nvv_state_new(&s), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad_uuids); i++) {
                v = sample_vgpu(bad_uuids[i]);
                assert_int_equal(nvv_state_add_vgpu(s, &v, &msg), -EINVAL);
                assert_strstr(msg, "uuid");
        }
        for (size_t i = 0; i < ELEMENTSOF(bad_bdfs); i++) {
                v = sample_vgpu(UUID_A);
                strcpy(v.gpu, bad_bdfs[i]);
                assert_int_equal(nvv_state_add_vgpu(s, &v, &msg), -EINVAL);
                assert_strstr(msg, "gpu is not a PCI address");
        }
        /* An address with trailing text fills the field: no NUL inside it (a strcpy of
         * "0000:41:00.0 " here wrote past the field; _FORTIFY_SOURCE stopped it). */
        v = sample_vgpu(UUID_A);
        memcpy(v.gpu, "0000:41:00.0 ", sizeof(v.gpu));
        assert_int_equal(nvv_state_add_vgpu(s, &v, &msg), -EINVAL);
        assert_strstr(msg, "gpu is not a PCI address");
        v = sample_vgpu(UUID_A);
        strcpy(v.vm_name, "bad\tname");
        assert_int_equal(nvv_state_add_vgpu(s, &v, &msg), -EINVAL);
        assert_strstr(msg, "vm name");
        v = sample_vgpu(UUID_A);
        memset(v.vm_name, 'x', sizeof(v.vm_name)); /* no NUL inside the field */
        assert_int_equal(nvv_state_add_vgpu(s, &v, &msg), -EINVAL);
        v = sample_vgpu(UUID_A);
        strcpy(v.vm_uuid, "not-a-uuid");
        assert_int_equal(nvv_state_add_vgpu(s, &v, &msg), -EINVAL);
        assert_strstr(msg, "vm uuid");
        v = sample_vgpu(UUID_A);
        strcpy(v.type_name, "L40S 8Q");
        assert_int_equal(nvv_state_add_vgpu(s, &v, &msg), -EINVAL);
        assert_strstr(msg, "type");
        v = sample_vgpu(UUID_A);
        v.state = NVV_STATE_VGPU_RUNNING; /* gfid 0 */
        assert_int_equal(nvv_state_add_vgpu(s, &v, &msg), -EINVAL);
        assert_strstr(msg, "running without a gfid");
        v = sample_vgpu(UUID_A);
        v.gfid = 3; /* created, yet holding a VF */
        assert_int_equal(nvv_state_add_vgpu(s, &v, &msg), -EINVAL);
        v = sample_vgpu(UUID_A);
        v.fb_offset = UINT64_MAX;
        assert_int_equal(nvv_state_add_vgpu(s, &v, &msg), -EINVAL);
        v = sample_vgpu(UUID_A);
        v.state = 7;
        assert_int_equal(nvv_state_add_vgpu(s, &v, &msg), -EINVAL);
        assert_int_equal(s->n_vgpus, 0);

        strcpy(d.uuid, UUID_A);
        strcpy(d.type_name, "L40S-8Q");
        strcpy(d.gpu, "0000:41:00.9");
        assert_int_equal(nvv_state_add_definition(s, &d, &msg), -EINVAL);
        assert_strstr(msg, "gpu");
        d.gpu[0] = '\0';
        strcpy(d.vm_name, "caf\xc3\xa9");
        assert_int_equal(nvv_state_add_definition(s, &d, &msg), -EINVAL);
        assert_int_equal(s->n_definitions, 0);
        free(msg);
}

static void test_to_known(void **state)
{
        _cleanup_(nvv_state_freep) struct nvv_state *s = sample_state();
        struct nvv_pgpu_known k;
        struct nvv_pgpu_vgpu pv = {};
        struct nvv_state_vgpu back;
        char *msg = NULL;

        assert_int_equal(nvv_state_vgpu_to_known(nvv_state_find_vgpu(s, UUID_A), &k), 0);
        assert_string_equal(k.place.name, UUID_A);
        assert_int_equal(k.place.type_id, 1155);
        assert_int_equal(k.place.chid_count, 512);
        assert_true(k.place.fb_length == 8ull << 30);
        assert_int_equal(k.gfid, 1);
        assert_int_equal(k.host_handle, 0x1001);
        assert_int_equal(nvv_state_vgpu_to_known(nvv_state_find_vgpu(s, UUID_B), &k), 0);
        assert_true(k.place.placement_id == NVV_PLACEMENT_NONE);
        assert_int_equal(k.place.vgpu_id, 2);
        assert_int_equal(k.gfid, 0);

        /* And back from what the managed GPU reports. */
        strcpy(pv.name, UUID_B);
        pv.type_id = 1155;
        pv.state = NVV_VGPU_RUNNING;
        pv.place = k.place;
        pv.gfid = 4;
        assert_int_equal(nvv_state_vgpu_from_pgpu("0000:c1:00.0", &pv, "L40S-8Q", &back, &msg), 0);
        assert_int_equal(back.state, NVV_STATE_VGPU_RUNNING);
        assert_int_equal(back.gfid, 4);
        assert_int_equal(back.vgpu_id, 2);
        assert_true(back.placement_id == NVV_PLACEMENT_NONE);
        pv.state = NVV_VGPU_CRASHED;
        assert_int_equal(nvv_state_vgpu_from_pgpu("0000:c1:00.0", &pv, "L40S-8Q", &back, &msg), -EINVAL);
        assert_strstr(msg, "crashed");
        pv.state = NVV_VGPU_CREATED;
        assert_int_equal(nvv_state_vgpu_from_pgpu("0000:c1:00.0", &pv, NULL, &back, &msg), -EINVAL);
        assert_strstr(msg, "no name");
        free(msg);
}

/* ---- files ---- */

static void test_round_trip(void **state)
{
        _cleanup_(nvv_state_freep) struct nvv_state *s = sample_state(), *l = NULL, *e = NULL;
        _cleanup_free_ char *dir = make_dir(), *t1 = NULL, *t2 = NULL, *names = NULL;
        struct nvv_state_load_info info;
        struct stat st;
        char p[4096], *msg = NULL;

        /* No file yet: the first start. */
        assert_int_equal(nvv_state_load(dir, &e, &info, &msg), 0);
        assert_true(info.missing);
        assert_false(info.rebuilt);
        assert_int_equal(e->n_vgpus + e->n_definitions, 0);
        assert_null(msg);

        assert_int_equal(nvv_state_save(s, dir, &msg), 0);
        assert_int_equal(nvv_state_load(dir, &l, &info, &msg), 0);
        assert_null(msg);
        assert_false(info.missing);
        assert_false(info.rebuilt);
        assert_int_equal(l->n_vgpus, 2);
        assert_int_equal(l->n_definitions, 2);
        assert_string_equal(nvv_state_find_vgpu(l, UUID_A)->vm_name, "web-01 (tenant \"blue\")");
        assert_string_equal(nvv_state_find_vgpu(l, UUID_A)->vm_uuid, VM_UUID);
        assert_int_equal(nvv_state_find_vgpu(l, UUID_A)->host_handle, 0x1001);
        assert_true(nvv_state_find_vgpu(l, UUID_B)->placement_id == NVV_PLACEMENT_NONE);
        assert_true(nvv_state_find_vgpu(l, UUID_B)->fb_offset == 8ull << 30);
        assert_string_equal(nvv_state_find_vgpu(l, UUID_B)->vm_name, "");
        assert_true(nvv_state_find_definition(l, UUID_C)->autostart);
        assert_string_equal(nvv_state_find_definition(l, UUID_A)->gpu, "");
        t1 = format(s);
        t2 = format(l);
        assert_string_equal(t1, t2);

        /* The file is the owner's only, and nothing else is left in the directory. */
        snprintf(p, sizeof(p), "%s/state.json", dir);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        names = dir_names(dir);
        assert_string_equal(names, "state.json");

        /* Saving into a directory that is not there fails and says where. */
        snprintf(p, sizeof(p), "%s/absent", dir);
        assert_int_equal(nvv_state_save(s, p, &msg), -ENOENT);
        assert_strstr(msg, p);
        free(msg);
        remove_tree(dir);
}

static void test_golden(void **state)
{
        _cleanup_(nvv_state_freep) struct nvv_state *s = sample_state(), *l = NULL;
        _cleanup_free_ char *dir = make_dir(), *actual = NULL, *expected = NULL, *again = NULL;
        struct nvv_state_vgpu c = sample_vgpu(UUID_C);
        const char *src = getenv("NVV_TOP_SRCDIR");
        char p[4096], golden[4096], *msg = NULL;
        size_t n;

        if (!src)
                fail_msg("NVV_TOP_SRCDIR is not set; run through `make check`");
        snprintf(golden, sizeof(golden), "%s/tests/golden/expected/state-store.json", src);
        /* And a VM start under way (its write-ahead intent): the VF and handle it chose. */
        c.vgpu_id = 3;
        c.placement_id = 2;
        c.fb_offset = 16ull << 30;
        c.chid_offset = 1024;
        c.state = NVV_STATE_VGPU_STARTING;
        c.gfid = 2;
        c.host_handle = 0xa0840007;
        strcpy(c.vm_name, "ml-03");
        assert_int_equal(nvv_state_add_vgpu(s, &c, &msg), 0);
        assert_int_equal(nvv_state_save(s, dir, &msg), 0);
        snprintf(p, sizeof(p), "%s/state.json", dir);
        actual = read_file(p, &n);
        /* It reads back as it was. */
        assert_int_equal(nvv_state_load(dir, &l, NULL, &msg), 0);
        assert_int_equal(nvv_state_find_vgpu(l, UUID_C)->state, NVV_STATE_VGPU_STARTING);
        again = format(l);
        assert_string_equal(again, actual);
        if (streq_ptr(getenv("NVV_TEST_REGENERATE_OUTPUT"), "1")) {
                FILE *f = fopen(golden, "we");

                assert_non_null(f);
                assert_int_equal(fwrite(actual, 1, n, f), n);
                assert_int_equal(fclose(f), 0);
                fprintf(stderr, "regenerated %s\n", golden);
        }
        expected = read_file(golden, NULL);
        assert_string_equal(actual, expected);
        remove_tree(dir);
}

/* ---- interrupted saves ---- */

struct steps {
        size_t n;
        enum nvv_state_save_step step[64];
};

static int record_hook(enum nvv_state_save_step step, void *userdata)
{
        struct steps *st = userdata;

        if (st->n < ELEMENTSOF(st->step))
                st->step[st->n++] = step;
        return 0;
}

static int kill_hook(enum nvv_state_save_step step, void *userdata)
{
        size_t *left = userdata;

        if ((*left)-- == 0)
                raise(SIGKILL);
        return 0;
}

struct fail_at {
        size_t left;
        int error;
};

static int fail_hook(enum nvv_state_save_step step, void *userdata)
{
        struct fail_at *f = userdata;

        return f->left-- == 0 ? f->error : 0;
}

/* Kill the save at each of its steps (each write chunk too): the old state before the
 * rename, the new one after; the next load removes the temporary file. */
static void test_save_killed_at_every_step(void **state)
{
        _cleanup_(nvv_state_freep) struct nvv_state *old = gen_state(1, 2), *new = gen_state(2, 40);
        _cleanup_free_ char *dir = make_dir(), *probe = make_dir();
        struct steps st = {};
        size_t n_writes = 0, saw_temp = 0;
        char *msg = NULL;

        /* The steps a save of `new` takes, as the hook sees them. */
        nvv_state_set_save_hook(record_hook, &st);
        assert_int_equal(nvv_state_save(new, probe, &msg), 0);
        nvv_state_set_save_hook(NULL, NULL);
        for (size_t i = 0; i < st.n; i++)
                n_writes += st.step[i] == NVV_STATE_SAVE_WRITE;
        assert_true(n_writes >= 3); /* the file spans several chunks: kills land mid-file */
        assert_int_equal(st.step[st.n - 1], NVV_STATE_SAVE_DONE);

        assert_int_equal(nvv_state_save(old, dir, &msg), 0);
        for (size_t k = 0; k < st.n; k++) {
                _cleanup_(nvv_state_freep) struct nvv_state *l = NULL;
                _cleanup_free_ char *before = NULL, *after = NULL;
                struct nvv_state_load_info info;
                bool renamed = false;
                int status;
                pid_t pid;

                for (size_t i = 0; i < k; i++)
                        renamed = renamed || st.step[i] == NVV_STATE_SAVE_RENAME;
                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        size_t left = k;

                        nvv_state_set_save_hook(kill_hook, &left);
                        (void) nvv_state_save(new, dir, NULL);
                        _exit(3); /* not reached: the hook kills at step k */
                }
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

                before = dir_names(dir);
                if (strchr(before, ' '))
                        saw_temp++;
                assert_int_equal(nvv_state_load(dir, &l, &info, &msg), 0);
                assert_false(info.rebuilt);
                assert_int_equal(state_gen(l), renamed ? 2 : 1);
                assert_int_equal(l->n_vgpus, renamed ? 40 : 2);
                /* A temporary file exists from the open to the rename, and load removes it. */
                assert_int_equal(info.temp_removed, strchr(before, ' ') ? 1 : 0);
                after = dir_names(dir);
                assert_string_equal(after, "state.json");
                /* Back to the old state for the next kill. */
                assert_int_equal(nvv_state_save(old, dir, &msg), 0);
        }
        /* Killed between the open and the rename, n_writes + 2 times (write chunks, fsync, rename). */
        assert_int_equal(saw_temp, n_writes + 2);
        assert_null(msg);
        remove_tree(dir);
        remove_tree(probe);
}

/* A step that fails (as a full disk or an I/O error would) fails the save, says so, keeps the
 * old state and leaves no temporary file behind. */
/* An unsynced save leaves the file it replaced a second name (freeing it later, after the
 * daemon answered); nvv_state_reap removes exactly those, load removes leftovers; a synced
 * save leaves none. The file read back is the newest in each case. */
static void test_nosync_old_names(void **state)
{
        _cleanup_(nvv_state_freep) struct nvv_state *a = gen_state(1, 2), *b = gen_state(2, 3), *c = gen_state(3, 4);
        _cleanup_free_ char *dir = make_dir(), *names = NULL;
        char *msg = NULL;

        assert_int_equal(nvv_state_save(a, dir, &msg), 0);
        names = dir_names(dir);
        assert_string_equal(names, "state.json");
        /* The first save of a directory replaces nothing: no second name. */
        assert_int_equal(nvv_state_save_nosync(b, dir, &msg), 0);
        assert_int_equal(nvv_state_save_nosync(c, dir, &msg), 0);
        free(names);
        names = dir_names(dir);
        /* Two old versions (a's and b's file), each under its own name. */
        assert_int_equal(strncmp(names, ".state.json.old-", 16), 0);
        assert_non_null(strstr(names + 16, " .state.json.old-"));
        assert_non_null(strstr(names, " state.json"));
        {
                _cleanup_(nvv_state_freep) struct nvv_state *l = NULL;

                assert_int_equal(nvv_state_load(dir, &l, NULL, &msg), 0);
                assert_int_equal(state_gen(l), 3);
        }
        free(names);
        names = dir_names(dir);
        assert_string_equal(names, "state.json"); /* load removed the leftovers */
        assert_int_equal(nvv_state_save_nosync(b, dir, &msg), 0);
        assert_int_equal(nvv_state_reap(dir, &msg), 0);
        free(names);
        names = dir_names(dir);
        assert_string_equal(names, "state.json");
        assert_int_equal(nvv_state_reap(dir, &msg), 0); /* nothing to do is fine */
        /* A temporary file (a save in progress) is not the reaper's. */
        write_file(dir, ".state.json.tmp-1-1", "{", 1);
        assert_int_equal(nvv_state_reap(dir, &msg), 0);
        free(names);
        names = dir_names(dir);
        assert_string_equal(names, ".state.json.tmp-1-1 state.json");
        {
                _cleanup_(nvv_state_freep) struct nvv_state *l = NULL;
                struct nvv_state_load_info info;

                assert_int_equal(nvv_state_load(dir, &l, &info, &msg), 0);
                assert_int_equal(state_gen(l), 2);
                assert_int_equal(info.temp_removed, 1);
        }
        assert_null(msg);
        remove_tree(dir);
}

static void test_save_fails_at_every_step(void **state)
{
        _cleanup_(nvv_state_freep) struct nvv_state *old = gen_state(1, 2), *new = gen_state(2, 40);
        _cleanup_free_ char *dir = make_dir();
        struct steps st = {};
        char *msg = NULL;

        nvv_state_set_save_hook(record_hook, &st);
        assert_int_equal(nvv_state_save(old, dir, &msg), 0);
        nvv_state_set_save_hook(NULL, NULL);
        st.n = 0;
        nvv_state_set_save_hook(record_hook, &st);
        assert_int_equal(nvv_state_save(new, dir, &msg), 0);
        nvv_state_set_save_hook(NULL, NULL);

        for (size_t k = 0; k + 1 < st.n; k++) {
                _cleanup_(nvv_state_freep) struct nvv_state *l = NULL;
                _cleanup_free_ char *names = NULL;
                struct fail_at f = { .left = k, .error = -EIO };
                bool synced_dir = st.step[k] == NVV_STATE_SAVE_FSYNC_DIR;

                assert_int_equal(nvv_state_save(old, dir, &msg), 0);
                nvv_state_set_save_hook(fail_hook, &f);
                assert_int_equal(nvv_state_save(new, dir, &msg), -EIO);
                nvv_state_set_save_hook(NULL, NULL);
                assert_strstr(msg, dir);
                assert_strstr(msg, strerror(EIO));
                if (synced_dir)
                        assert_strstr(msg, "may not survive a crash");
                else if (st.step[k] != NVV_STATE_SAVE_CLEAN && st.step[k] != NVV_STATE_SAVE_OPEN)
                        assert_strstr(msg, "the previous state is kept");
                names = dir_names(dir);
                assert_string_equal(names, "state.json");
                assert_int_equal(nvv_state_load(dir, &l, NULL, &msg), 0);
                assert_int_equal(state_gen(l), synced_dir ? 2 : 1);
        }
        free(msg);
        remove_tree(dir);
}

/* Kill -9 at random moments of a process that saves in a loop and acknowledges each save:
 * what load finds is the last acknowledged state or the one being saved, never older, never
 * anything else. */
static void test_save_killed_at_random(void **state)
{
        _cleanup_free_ char *dir = make_dir();
        unsigned gen = 1, killed_mid_save = 0;
        char *msg = NULL;

        {
                _cleanup_(nvv_state_freep) struct nvv_state *s = gen_state(gen, 8);

                assert_int_equal(nvv_state_save(s, dir, &msg), 0);
        }
        srand((unsigned) time(NULL));
        for (unsigned round = 0; round < 200; round++) {
                _cleanup_(nvv_state_freep) struct nvv_state *l = NULL;
                _cleanup_free_ char *names = NULL;
                struct nvv_state_load_info info;
                unsigned acked = gen, got, v;
                struct timespec ts = { 0, (long) (rand() % 3000) * 1000 };
                int pfd[2], status;
                pid_t pid;

                assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        close(pfd[0]);
                        for (unsigned g = gen + 1;; g++) {
                                struct nvv_state *s = gen_state(g, 8 + g % 32);

                                if (nvv_state_save(s, dir, NULL) < 0)
                                        _exit(2);
                                nvv_state_free(s);
                                if (write(pfd[1], &g, sizeof(g)) != sizeof(g))
                                        _exit(2);
                        }
                }
                close(pfd[1]);
                nanosleep(&ts, NULL);
                kill(pid, SIGKILL);
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
                while (read(pfd[0], &v, sizeof(v)) == sizeof(v))
                        acked = v;
                close(pfd[0]);

                assert_int_equal(nvv_state_load(dir, &l, &info, &msg), 0);
                assert_false(info.rebuilt);
                got = state_gen(l);
                if (got != acked && got != acked + 1)
                        fail_msg("round %u: loaded generation %u, last acknowledged %u", round, got, acked);
                killed_mid_save += info.temp_removed;
                names = dir_names(dir);
                assert_string_equal(names, "state.json");
                gen = got;
        }
        fprintf(stderr, "random kills: 200 rounds, %u left a temporary file, last generation %u\n",
                killed_mid_save, gen);
        assert_null(msg);
        remove_tree(dir);
}

/* ---- damaged files ---- */

/* Load dir after writing data as its state.json: the state must be rebuilt, the bytes kept
 * aside unchanged, and the message name the file, the place it went and want (NULL: any). */
static void expect_rebuilt(const char *dir, const char *data, size_t size, const char *want)
{
        _cleanup_(nvv_state_freep) struct nvv_state *l = NULL;
        _cleanup_free_ char *kept = NULL;
        struct nvv_state_load_info info;
        char path[4096], *msg = NULL;
        size_t n;

        write_file(dir, "state.json", data, size);
        assert_int_equal(nvv_state_load(dir, &l, &info, &msg), 0);
        if (!info.rebuilt)
                fail_msg("loaded %zu bytes as a state: %.*s", size, (int) MIN(size, (size_t) 400), data);
        assert_false(info.missing);
        assert_int_equal(l->n_vgpus + l->n_definitions, 0);
        snprintf(path, sizeof(path), "%s/state.json", dir);
        assert_strstr(msg, path);
        assert_strstr(msg, "kept as ");
        assert_strstr(msg, info.kept_as);
        assert_strstr(info.kept_as, "/state.json.corrupt-");
        if (want)
                assert_strstr(msg, want);
        assert_int_equal(access(path, F_OK), -1); /* moved, so the next save does not overwrite it */
        kept = read_file(info.kept_as, &n);
        assert_int_equal(n, size);
        assert_memory_equal(kept, data, size);
        assert_int_equal(unlink(info.kept_as), 0); /* the test's cleanup; the store never deletes */
        free(msg);
}

static void test_truncated_at_every_length(void **state)
{
        _cleanup_(nvv_state_freep) struct nvv_state *s = sample_state();
        _cleanup_free_ char *dir = make_dir(), *text = format(s);
        size_t len = strlen(text), end = len;
        char *msg = NULL;

        while (end > 0 && text[end - 1] != '}')
                end--; /* the document ends here; after it only the newline */

        assert_true(len > 500);
        for (size_t n = 0; n < len; n++) {
                if (n < end) {
                        expect_rebuilt(dir, text, n, n == 0 ? "unexpected end of file" : NULL);
                } else {
                        /* Only the final newline is missing: still the whole document. */
                        _cleanup_(nvv_state_freep) struct nvv_state *l = NULL;
                        _cleanup_free_ char *t = NULL;
                        struct nvv_state_load_info info;

                        write_file(dir, "state.json", text, n);
                        assert_int_equal(nvv_state_load(dir, &l, &info, &msg), 0);
                        assert_false(info.rebuilt);
                        t = format(l);
                        assert_string_equal(t, text);
                }
        }
        assert_null(msg);
        remove_tree(dir);
}

static void test_corrupted_byte(void **state)
{
        _cleanup_(nvv_state_freep) struct nvv_state *s = sample_state();
        _cleanup_free_ char *dir = make_dir(), *text = format(s), *names = NULL;
        size_t len = strlen(text);

        /* A NUL or a 0xff byte anywhere: refused, wherever it lands (structure, number, key,
         * uuid, address, name). */
        for (size_t i = 0; i < len; i++) {
                char *t = strdup(text);

                assert_non_null(t);
                t[i] = '\0';
                expect_rebuilt(dir, t, len, NULL);
                t[i] = (char) 0xff;
                expect_rebuilt(dir, t, len, NULL);
                free(t);
        }
        /* Two damaged files in one second: neither replaces the other. */
        {
                _cleanup_(nvv_state_freep) struct nvv_state *l1 = NULL, *l2 = NULL;
                struct nvv_state_load_info i1, i2;
                char *msg = NULL;

                write_file(dir, "state.json", "{", 1);
                assert_int_equal(nvv_state_load(dir, &l1, &i1, &msg), 0);
                write_file(dir, "state.json", "[", 1);
                assert_int_equal(nvv_state_load(dir, &l2, &i2, &msg), 0);
                assert_true(i1.rebuilt && i2.rebuilt);
                assert_string_not_equal(i1.kept_as, i2.kept_as);
                assert_int_equal(access(i1.kept_as, F_OK), 0);
                assert_int_equal(access(i2.kept_as, F_OK), 0);
                unlink(i1.kept_as);
                unlink(i2.kept_as);
                free(msg);
        }
        names = dir_names(dir);
        assert_string_equal(names, "");
        remove_tree(dir);
}

/* Replace the first occurrence of from in text by to. */
static char *edit(const char *text, const char *from, const char *to)
{
        const char *at = strstr(text, from);
        char *out;

        if (!at)
                fail_msg("'%s' not in the sample", from);
        assert_true(asprintf(&out, "%.*s%s%s", (int) (at - text), text, to, at + strlen(from)) > 0);
        return out;
}

static void test_wrong_shape(void **state)
{
        static const struct {
                const char *from, *to, *want;
        } cases[] = {
                { "\"uuid\": \"" UUID_A "\"", "\"uuid\": \"0B6B1C2E-5D4A-4F3E-9A8B-7C6D5E4F3A2B\"", "vgpus[0].uuid: '0B6B" },
                { "\"gpu\": \"0000:41:00.0\"", "\"gpu\": \"0000:41:00.8\"", "vgpus[0].gpu: '0000:41:00.8' is not a PCI address" },
                { "\"gpu\": \"0000:41:00.0\"", "\"gpu\": 4", "vgpus[0].gpu: expected a string" },
                { "\"gfid\": 1", "\"gfid\": \"1\"", "vgpus[0].gfid: expected a non-negative integer" },
                { "\"gfid\": 1", "\"gfid\": 0", "vgpus[0]: running but gfid 0" },
                { "\"fb_offset\": 0", "\"fb_offset\": -1", "vgpus[0].fb_offset: expected a non-negative integer" },
                { "\"fb_offset\": 0", "\"fb_offset\": 0.5", "vgpus[0].fb_offset" },
                { "\"fb_offset\": 0", "\"fb_offset\": 99999999999999999999", "out of range" },
                { "\"chid_count\": 512", "\"chid_count\": 4294967296", "vgpus[0].chid_count: 4294967296 is larger than" },
                { "\"placement_id\": null", "\"placement_id\": 4294967295", "vgpus[1].placement_id" },
                { "\"placement_id\": null", "\"placemant_id\": null", "vgpus[1]: unknown key 'placemant_id'" },
                { "\"state\": \"running\"", "\"state\": \"paused\"", "vgpus[0].state: 'paused'" },
                { "\"state\": \"running\"", "\"state\": \"running\", \"state\": \"created\"", "duplicate key 'state'" },
                { "\"autostart\": true", "\"autostart\": 1", "definitions[1].autostart: expected true or false" },
                { "\"vm\": \"db-02\"", "\"vm\": \"\"", "definitions[1].vm: must not be empty" },
                { "\"vm\": \"db-02\"", "\"vm\": \"db\\u000a02\"", "definitions[1].vm" },
                { "\"type\": \"L40S-4Q\"", "\"type\": [\"L40S-4Q\"]", "definitions[0].type: expected a string" },
                { "\"vgpus\": [", "\"vgpus\": 1, \"x\": [", "unknown key 'x'" },
                { "\"format\": \"nvvgpu-state\"", "\"format\": \"other\"", "format: 'other' is not \"nvvgpu-state\"" },
                { "\"version\": 2", "\"version\": \"2\"", "version: expected a non-negative integer" },
                { "\"version\": 2", "\"version\": 0", "version: 0 is not a version" },
                { "\"version\": 2,", "", "missing required key 'version'" },
                /* The start intent names the VF and the handle its tear-down needs. */
                { "\"state\": \"created\"", "\"state\": \"starting\"", "vgpus[1]: starting but gfid 0" },
                { "\"state\": \"running\"", "\"state\": \"begun\"", "or \"starting\"" },
                { "\"uuid\": \"" UUID_B "\"", "\"uuid\": \"" UUID_A "\"", "vgpus[1]: vGPU " UUID_A " is listed twice" },
        };
        _cleanup_(nvv_state_freep) struct nvv_state *s = sample_state();
        _cleanup_free_ char *dir = make_dir(), *text = format(s);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *t = edit(text, cases[i].from, cases[i].to);

                expect_rebuilt(dir, t, strlen(t), cases[i].want);
        }
        expect_rebuilt(dir, "[]", 2, "expected an object");
        {
                static const char doc[] = "{\"format\": \"nvvgpu-state\", \"version\": 1, \"vgpus\": {}, \"definitions\": []}";

                expect_rebuilt(dir, doc, strlen(doc), "vgpus: expected an array");
        }
        expect_rebuilt(dir, "{\"format\": \"nvvgpu-state\"}", 26, "missing required key 'version'");
        remove_tree(dir);
}

static void test_newer_version(void **state)
{
        _cleanup_(nvv_state_freep) struct nvv_state *s = sample_state(), *l = NULL;
        _cleanup_free_ char *dir = make_dir(), *text = format(s), *names = NULL, *kept = NULL;
        _cleanup_free_ char *t = edit(text, "\"version\": 2,", "\"version\": 3, \"vgpus_v3\": {},");
        char path[4096], *msg = NULL;

        write_file(dir, "state.json", t, strlen(t));
        assert_int_equal(nvv_state_load(dir, &l, NULL, &msg), -EPROTONOSUPPORT);
        assert_null(l);
        assert_strstr(msg, "state.json: version: version 3 was written by a newer nvvgpu");
        assert_strstr(msg, "reads version 2");
        /* Left where it is, unchanged: a downgrade must not lose it. */
        names = dir_names(dir);
        assert_string_equal(names, "state.json");
        snprintf(path, sizeof(path), "%s/state.json", dir);
        kept = read_file(path, NULL);
        assert_string_equal(kept, t);
        free(msg);
        remove_tree(dir);
}

/* A version-1 file (before the start intent) reads as it is, and is saved as the current one. */
static void test_older_version(void **state)
{
        _cleanup_(nvv_state_freep) struct nvv_state *s = sample_state(), *l = NULL;
        _cleanup_free_ char *dir = make_dir(), *text = format(s), *saved = NULL;
        _cleanup_free_ char *t = edit(text, "\"version\": 2,", "\"version\": 1,");
        char path[4096], *msg = NULL;

        write_file(dir, "state.json", t, strlen(t));
        assert_int_equal(nvv_state_load(dir, &l, NULL, &msg), 0);
        assert_null(msg);
        assert_int_equal(l->n_vgpus, 2);
        assert_int_equal(l->n_definitions, 2);
        assert_int_equal(nvv_state_save(l, dir, &msg), 0);
        snprintf(path, sizeof(path), "%s/state.json", dir);
        saved = read_file(path, NULL);
        assert_string_equal(saved, text);
        remove_tree(dir);
}

static void test_oversize(void **state)
{
        _cleanup_(nvv_state_freep) struct nvv_state *l = NULL;
        _cleanup_free_ char *dir = make_dir();
        struct nvv_state_load_info info;
        char path[4096], *msg = NULL;
        int fd;

        snprintf(path, sizeof(path), "%s/state.json", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, NVV_STATE_MAX_FILE_SIZE + 1), 0); /* sparse: cheap */
        close(fd);
        assert_int_equal(nvv_state_load(dir, &l, &info, &msg), 0);
        assert_true(info.rebuilt);
        assert_strstr(msg, "larger than 16777216 bytes");
        assert_strstr(msg, info.kept_as);
        free(msg);
        remove_tree(dir);
}

static void test_not_regular(void **state)
{
        _cleanup_free_ char *dir = make_dir(), *names = NULL;
        char path[4096], *msg = NULL;
        struct nvv_state *l = NULL;

        snprintf(path, sizeof(path), "%s/state.json", dir);
        alarm(10); /* a FIFO opened for reading without O_NONBLOCK would wait here forever */
        assert_int_equal(mkfifo(path, 0600), 0);
        assert_int_equal(nvv_state_load(dir, &l, NULL, &msg), -EBADFD);
        assert_strstr(msg, path);
        assert_strstr(msg, ": not a regular file");
        names = dir_names(dir);
        assert_string_equal(names, "state.json"); /* refused, not moved */
        unlink(path);
        alarm(0);

        assert_int_equal(mkdir(path, 0700), 0);
        assert_int_equal(nvv_state_load(dir, &l, NULL, &msg), -EISDIR);
        assert_strstr(msg, path);
        rmdir(path);

        assert_int_equal(symlink("/etc/passwd", path), 0);
        assert_int_equal(nvv_state_load(dir, &l, NULL, &msg), -ELOOP);
        assert_strstr(msg, "symbolic link");
        unlink(path);

        snprintf(path, sizeof(path), "%s/absent", dir);
        assert_int_equal(nvv_state_load(path, &l, NULL, &msg), -ENOENT);
        assert_strstr(msg, path);
        assert_null(l);
        free(msg);
        remove_tree(dir);
}

static void test_dir_prepare(void **state)
{
        _cleanup_free_ char *dir = make_dir();
        char p[4096], *msg = NULL;
        struct stat st;

        snprintf(p, sizeof(p), "%s/state", dir);
        assert_int_equal(nvv_state_dir_prepare(p, &msg), 0);
        assert_int_equal(stat(p, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(nvv_state_dir_prepare(p, &msg), 0); /* there already */
        assert_null(msg);
        assert_int_equal(chmod(p, 0777), 0);
        assert_int_equal(nvv_state_dir_prepare(p, &msg), -EPERM);
        assert_strstr(msg, "writable by everyone");
        rmdir(p);

        write_file(dir, "file", "x", 1);
        snprintf(p, sizeof(p), "%s/file", dir);
        assert_int_equal(nvv_state_dir_prepare(p, &msg), -ENOTDIR);
        assert_strstr(msg, "not a directory");
        snprintf(p, sizeof(p), "%s/no/parent", dir);
        assert_int_equal(nvv_state_dir_prepare(p, &msg), -ENOENT);
        assert_strstr(msg, p);
        free(msg);
        remove_tree(dir);
}

/* A prepare mark: what format writes, parse reads back; anything else is refused by line. */
static void test_prepmark(void **state)
{
        _cleanup_free_ struct nvv_prepmark *m = calloc(1, sizeof(*m));
        _cleanup_free_ struct nvv_prepmark *back = calloc(1, sizeof(*back));
        _cleanup_free_ char *text = NULL, *big = NULL;
        char *msg = NULL;
        size_t len = 0, n = 0;
        static const struct {
                const char *text;
                size_t len;
                const char *why;
        } bad[] = {
                { "", 0, "empty; a prepare mark names its VM on the first line" },
                { "web", 3, "does not end in a newline" },
                { "web\n\n", 5, "line 2: empty" },
                { "web\nnot-a-uuid\n", 15, "line 2: not a vGPU name (a UUID or a VF's PCI address)" },
                { "w\0b\n", 4, "line 1: holds a NUL byte" },
                { "\x01web\n", 5, "line 1: not a VM name (1..255 printable ASCII characters)" },
                { "web\n5D9B4F6E-1C2A-4E3B-9F00-AA11BB22CC01\n", 41, "line 2: not a vGPU name (a UUID or a VF's PCI address)" },
        };

        (void) state;
        assert_non_null(m);
        assert_non_null(back);
        snprintf(m->vm, sizeof(m->vm), "my vm (2)");
        assert_int_equal(nvv_prepmark_add(m, "5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc01"), 0);
        assert_int_equal(nvv_prepmark_add(m, "0000:41:00.4"), 0);
        assert_int_equal(nvv_prepmark_add(m, "web"), -EINVAL);
        assert_int_equal(nvv_prepmark_format(m, &text, &len), 0);
        assert_string_equal(text, "my vm (2)\n5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc01\n0000:41:00.4\n");
        assert_int_equal(nvv_prepmark_parse(text, len, back, &msg), 0);
        assert_null(msg);
        assert_string_equal(back->vm, "my vm (2)");
        assert_int_equal(back->n_vgpus, 2);
        assert_string_equal(back->vgpus[1], "0000:41:00.4");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(nvv_prepmark_parse(bad[i].text, bad[i].len, back, &msg), -EINVAL);
                assert_non_null(msg);
                assert_string_equal(msg, bad[i].why);
                free(msg);
                msg = NULL;
        }
        /* Limits: one name more than fits, and one byte more than the size cap. */
        big = malloc(NVV_PREPMARK_MAX_SIZE + 1);
        assert_non_null(big);
        n = (size_t) sprintf(big, "web\n");
        for (unsigned i = 0; i <= NVV_PREPMARK_MAX_VGPUS; i++)
                n += (size_t) sprintf(big + n, "5d9b4f6e-1c2a-4e3b-9f00-aa11bb%06x\n", i);
        assert_int_equal(nvv_prepmark_parse(big, n, back, &msg), -E2BIG);
        assert_string_equal(msg, "line 258: more than 256 vGPUs");
        free(msg);
        msg = NULL;
        assert_int_equal(nvv_prepmark_parse(big, NVV_PREPMARK_MAX_SIZE + 1, back, &msg), -E2BIG);
        assert_non_null(msg);
        free(msg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_add_find_remove),
                cmocka_unit_test(test_add_refuses_invalid),
                cmocka_unit_test(test_to_known),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_golden),
                cmocka_unit_test(test_save_killed_at_every_step),
                cmocka_unit_test(test_nosync_old_names),
                cmocka_unit_test(test_save_fails_at_every_step),
                cmocka_unit_test(test_save_killed_at_random),
                cmocka_unit_test(test_truncated_at_every_length),
                cmocka_unit_test(test_corrupted_byte),
                cmocka_unit_test(test_wrong_shape),
                cmocka_unit_test(test_newer_version),
                cmocka_unit_test(test_older_version),
                cmocka_unit_test(test_oversize),
                cmocka_unit_test(test_not_regular),
                cmocka_unit_test(test_dir_prepare),
                cmocka_unit_test(test_prepmark),
        };

        umask(022);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
