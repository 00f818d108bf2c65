/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The benchmarks' common report (doc/benchmarks.md, "Results"): the figure lines bench.h's
 * bench_report and bench-lib.sh's bench_report write, their statistics (the same from C and
 * from the shell), and run-all.sh's table, JSON and exit status, the last both from known
 * figure lines (--format) and from fake benchmarks that pass, miss, skip, crash or say nothing.
 */
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"

static char dir[64];

static const char *src_dir(void)
{
        const char *s = getenv("NVV_TOP_SRCDIR");

        assert_non_null(s);
        return s;
}

static char *slurp(const char *path)
{
        FILE *f = fopen(path, "re");
        char *buf;
        long n;

        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        rewind(f);
        buf = calloc(1, (size_t) n + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t) n, f), (size_t) n);
        fclose(f);
        return buf;
}

static void spill(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

/* Runs a shell command line; its exit status (or -1 when it did not exit). */
static int sh(const char *fmt, ...)
{
        char cmd[8192];
        va_list ap;
        int st;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        st = system(cmd);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void) st;
        (void) flag;
        (void) ftw;
        return remove(path);
}

static int setup(void **state)
{
        (void) state;
        snprintf(dir, sizeof(dir), "/tmp/nvv-test-bench-XXXXXX");
        assert_non_null(mkdtemp(dir));
        return 0;
}

static int teardown(void **state)
{
        (void) state;
        (void) unsetenv("NVV_BENCH_RESULTS");
        return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_stats(void **state)
{
        double t[] = { 9, 1, 8, 2, 7, 3, 6, 4, 5, 10 };
        struct bench_stats s;

        (void) state;
        /* Sorted 1..10: the median is sample 5 (from 0), p10 sample 0, p90 sample 8. */
        s = bench_stats_of(t, 10, 2);
        assert_true(s.median == 3.0 && s.p10 == 0.5 && s.p90 == 4.5 && s.n == 10);
        s = bench_value(42);
        assert_true(s.median == 42 && s.n == 1);
}

static void test_c_lines(void **state)
{
        char path[128], *text;
        double t[] = { 5, 1, 3, 2, 4 };

        (void) state;
        snprintf(path, sizeof(path), "%s/c.tsv", dir);
        /* Unset: nothing written, nothing fails. */
        bench_report("bench-x", &(struct bench_figure) { .figure = "nowhere", .ours = bench_value(1) });
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(setenv("NVV_BENCH_RESULTS", path, 1), 0);
        bench_report("bench-x", &(struct bench_figure) {
                .figure = "a \"quoted\"\tfigure \\ here", .ours = bench_stats_of(t, 5, 1), .unit = "us",
                .baseline = "floor", .base = bench_value(1.5), .vs = BENCH_VS_RATIO, .target = "<= 3x", .met = true });
        bench_report("bench-x", &(struct bench_figure) {
                .figure = "late", .stat = "p99", .ours = bench_value(19.3), .unit = "ms", .baseline = "no-op\nhook",
                .base = bench_value(2), .vs = BENCH_VS_DELTA, .target = "<= 10 ms", .met = false, .note = "busy" });
        bench_report("bench-x", &(struct bench_figure) { .figure = "rss", .stat = "value", .ours = bench_value(7.25),
                                                         .unit = "MiB" });
        text = slurp(path);
        assert_string_equal(text,
                            "bench-x\ta \"quoted\" figure \\ here\tmedian\t3\t3\t5\tus\tfloor\t1.5\t-\t2.00x\t<= 3x\tmet\t-\n"
                            "bench-x\tlate\tp99\t19.3\t-\t1\tms\tno-op hook\t2\t-\t+17.30\t<= 10 ms\tMISSED\tbusy\n"
                            "bench-x\trss\tvalue\t7.25\t-\t1\tMiB\t-\t-\t-\t-\t-\tinfo\t-\n");
        free(text);
}

/* The shell's statistics and lines are the C ones. */
static void test_shell_lines(void **state)
{
        char samples[128], path[128], cpath[128], *a, *b;
        double t[] = { 12, 7, 3, 11, 5, 9, 1, 8 };
        FILE *f;

        (void) state;
        snprintf(samples, sizeof(samples), "%s/samples", dir);
        snprintf(path, sizeof(path), "%s/sh.tsv", dir);
        snprintf(cpath, sizeof(cpath), "%s/c.tsv", dir);
        f = fopen(samples, "we");
        assert_non_null(f);
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                fprintf(f, "x %g\n", t[i] * 1000);
        fclose(f);
        assert_int_equal(sh("NVV_BENCH_RESULTS='%s' sh -c '. \"%s/tests/bench/bench-lib.sh\"; "
                            "set -- $(bench_stats \"%s\" 2 1000); "
                            "bench_report bench=bench-x figure=\"a \\\"quoted\\\"\tfigure \\\\ here\" value=$1 "
                            "spread=$2 n=$3 unit=us baseline=floor base_value=1.5 vs=ratio target=\"<= 3x\" met=1 && "
                            "bench_report bench=bench-x figure=late stat=p99 value=19.3 unit=ms baseline=\"no-op hook\" "
                            "base_value=2 vs=delta target=\"<= 10 ms\" met=0 note=busy'",
                            path, src_dir(), samples),
                         0);
        assert_int_equal(setenv("NVV_BENCH_RESULTS", cpath, 1), 0);
        bench_report("bench-x", &(struct bench_figure) {
                .figure = "a \"quoted\"\tfigure \\ here", .ours = bench_stats_of(t, ELEMENTSOF(t), 1), .unit = "us",
                .baseline = "floor", .base = bench_value(1.5), .vs = BENCH_VS_RATIO, .target = "<= 3x", .met = true });
        bench_report("bench-x", &(struct bench_figure) {
                .figure = "late", .stat = "p99", .ours = bench_value(19.3), .unit = "ms", .baseline = "no-op hook",
                .base = bench_value(2), .vs = BENCH_VS_DELTA, .target = "<= 10 ms", .met = false, .note = "busy" });
        a = slurp(path);
        b = slurp(cpath);
        assert_string_equal(a, b);
        /* And what they are: sorted 1 3 5 7 8 9 11 12, median sample 4, p10 sample 0, p90 sample 6. */
        assert_non_null(strstr(a, "\tmedian\t8\t10\t8\tus\t"));
        free(a);
        free(b);
}

static json_object *get(json_object *o, const char *key)
{
        json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v)) {
                fprintf(stderr, "no key %s in %s\n", key, json_object_to_json_string(o));
                fail();
        }
        return v;
}

/* run-all's JSON: valid, an array of n objects with every field. */
static json_object *load_json(const char *path, size_t n)
{
        static const char *const keys[] = { "bench", "figure", "stat", "value", "spread", "spread_kind", "n", "unit",
                                            "baseline", "base_value", "base_spread", "vs", "target", "verdict", "note" };
        char *text = slurp(path);
        json_tokener *tok = json_tokener_new();
        json_object *doc = json_tokener_parse_ex(tok, text, (int) strlen(text));

        if (!doc || json_tokener_get_error(tok) != json_tokener_success) {
                fprintf(stderr, "%s does not parse: %s\n%s\n", path,
                        json_tokener_error_desc(json_tokener_get_error(tok)), text);
                fail();
        }
        json_tokener_free(tok);
        free(text);
        assert_true(json_object_is_type(doc, json_type_array));
        assert_int_equal(json_object_array_length(doc), n);
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                        (void) get(json_object_array_get_idx(doc, i), keys[k]);
        return doc;
}

static const char *row_str(json_object *doc, size_t i, const char *key)
{
        json_object *v = get(json_object_array_get_idx(doc, i), key);

        return json_object_is_type(v, json_type_null) ? NULL : json_object_get_string(v);
}

/* Every row of the table has the VERDICT column where the header has it. */
static void check_aligned(const char *txt, size_t rows)
{
        char *text = slurp(txt), *save = NULL, *line = strtok_r(text, "\n", &save);
        const char *h;
        size_t col, seen = 0;

        assert_non_null(line);
        h = strstr(line, "VERDICT");
        assert_non_null(h);
        assert_true(strncmp(line, "BENCH", 5) == 0);
        col = (size_t) (h - line);
        while ((line = strtok_r(NULL, "\n", &save)) && seen < rows) {
                const char *v = line + col;

                assert_true(strlen(line) > col);
                assert_true(v[-1] == ' ' && v[-2] == ' ');
                assert_true(strncmp(v, "met ", 4) == 0 || strncmp(v, "MISSED ", 7) == 0 || strncmp(v, "info ", 5) == 0 ||
                            strncmp(v, "SKIP ", 5) == 0 || strncmp(v, "ERROR ", 6) == 0);
                seen++;
        }
        assert_int_equal(seen, rows);
        free(text);
}

static int format(const char *in, const char *txt, const char *json)
{
        return sh("bash '%s/tests/bench/run-all.sh' --format '%s' '%s' '%s' >/dev/null", src_dir(), in, txt, json);
}

static void test_format(void **state)
{
        char in[128], txt[128], json[128], *t;
        json_object *doc;

        (void) state;
        snprintf(in, sizeof(in), "%s/in.tsv", dir);
        snprintf(txt, sizeof(txt), "%s/out.txt", dir);
        snprintf(json, sizeof(json), "%s/out.json", dir);
        spill(in, "bench-a\tround \"trip\" \\ x\tmedian\t2.5\t0.25\t15\tus\techo\t1.25\t0.1\t2.00x\t<= 3x\tmet\t-\n"
                  "bench-a\trss\tvalue\t7.25\t-\t1\tMiB\t-\t-\t-\t-\t-\tinfo\t-\n"
                  "bench-b\t(skipped)\t-\t-\t-\t0\t-\t-\t-\t-\t-\t-\tSKIP\tneeds root\n");
        /* Met, info and SKIP only: exit 0. */
        assert_int_equal(format(in, txt, json), 0);
        doc = load_json(json, 3);
        assert_string_equal(row_str(doc, 0, "figure"), "round \"trip\" \\ x");
        assert_true(json_object_get_double(get(json_object_array_get_idx(doc, 0), "value")) == 2.5);
        assert_true(json_object_is_type(get(json_object_array_get_idx(doc, 0), "value"), json_type_double));
        assert_int_equal(json_object_get_int(get(json_object_array_get_idx(doc, 0), "n")), 15);
        assert_string_equal(row_str(doc, 0, "vs"), "2.00x");
        assert_string_equal(row_str(doc, 0, "verdict"), "met");
        assert_null(row_str(doc, 1, "spread"));
        assert_null(row_str(doc, 1, "baseline"));
        assert_string_equal(row_str(doc, 1, "verdict"), "info");
        assert_string_equal(row_str(doc, 2, "verdict"), "SKIP");
        assert_string_equal(row_str(doc, 2, "note"), "needs root");
        json_object_put(doc);
        check_aligned(txt, 3);
        t = slurp(txt);
        assert_non_null(strstr(t, "3 figures from 2 benchmarks: 1 met, 0 MISSED, 1 info, 1 SKIP, 0 ERROR"));
        free(t);

        /* A miss: exit 1. */
        spill(in, "bench-a\tlate\tmedian\t19.3\t4\t15\tms\tno-op\t1\t0.5\t+18.30\t<= 10 ms\tMISSED\t-\n"
                  "bench-a\tok\tmedian\t1\t0\t3\tms\t-\t-\t-\t-\t<= 2 ms\tmet\t-\n");
        assert_int_equal(format(in, txt, json), 1);
        doc = load_json(json, 2);
        assert_string_equal(row_str(doc, 0, "verdict"), "MISSED");
        json_object_put(doc);
        check_aligned(txt, 2);

        /* A benchmark that failed to run: exit 1. */
        spill(in, "bench-c\t(failed to run)\t-\t-\t-\t0\t-\t-\t-\t-\t-\t-\tERROR\texit status 1\n");
        assert_int_equal(format(in, txt, json), 1);
        json_object_put(load_json(json, 1));

        /* A line that is not a figure is an ERROR row of its own, not dropped. */
        spill(in, "bench-a\tok\tmedian\t1\t0\t3\tms\t-\t-\t-\t-\t<= 2 ms\tmet\t-\nnot a figure\n"
                  "bench-a\tbad verdict\tmedian\t1\t0\t3\tms\t-\t-\t-\t-\t<= 2 ms\tPASS\t-\n");
        assert_int_equal(format(in, txt, json), 1);
        doc = load_json(json, 3);
        assert_string_equal(row_str(doc, 1, "verdict"), "ERROR");
        assert_string_equal(row_str(doc, 2, "verdict"), "ERROR");
        json_object_put(doc);
}

/* The runner: each fake benchmark's end as a user would see it in the table. */
static void test_runner(void **state)
{
        static const struct {
                const char *name, *script, *figure, *verdict;
        } fake[] = {
                { "bench-ok", "bench_report bench=bench-ok figure=fast value=1 target='<= 2' met=1; exit 0", "fast", "met" },
                { "bench-miss", "bench_report bench=bench-miss figure=slow value=3 target='<= 2' met=0; exit 2", "slow",
                  "MISSED" },
                { "bench-skip", "echo 'SKIP: no libvirt here'; exit 77", "(skipped)", "SKIP" },
                { "bench-crash", "echo 'cannot set up' >&2; exit 1", "(failed to run)", "ERROR" },
                { "bench-quiet", "exit 0", "(failed to run)", "ERROR" },
        };
        char cmd[8192], path[256], json[256];
        size_t k = 0;
        json_object *doc;

        (void) state;
        k += (size_t) snprintf(cmd + k, sizeof(cmd) - k, "NVV_TOP_BUILDDIR='%s' bash '%s/tests/bench/run-all.sh'", dir,
                               src_dir());
        for (size_t i = 0; i < ELEMENTSOF(fake); i++) {
                char body[512];

                snprintf(path, sizeof(path), "%s/%s.sh", dir, fake[i].name);
                snprintf(body, sizeof(body), ". '%s/tests/bench/bench-lib.sh'\n%s\n", src_dir(), fake[i].script);
                spill(path, body);
                k += (size_t) snprintf(cmd + k, sizeof(cmd) - k, " '%s|fake|sh %s'", fake[i].name, path);
        }
        assert_true(k < sizeof(cmd));
        /* Misses and failures: exit 1. */
        assert_int_equal(sh("%s >/dev/null 2>&1", cmd), 1);
        snprintf(json, sizeof(json), "%s/bench-results.json", dir);
        doc = load_json(json, ELEMENTSOF(fake));
        for (size_t i = 0; i < ELEMENTSOF(fake); i++) {
                assert_string_equal(row_str(doc, i, "bench"), fake[i].name);
                assert_string_equal(row_str(doc, i, "figure"), fake[i].figure);
                assert_string_equal(row_str(doc, i, "verdict"), fake[i].verdict);
        }
        assert_string_equal(row_str(doc, 2, "note"), "no libvirt here");
        assert_non_null(strstr(row_str(doc, 3, "note"), "cannot set up"));
        assert_non_null(strstr(row_str(doc, 4, "note"), "no figures"));
        json_object_put(doc);
        snprintf(path, sizeof(path), "%s/bench-results.txt", dir);
        check_aligned(path, ELEMENTSOF(fake));

        /* Passing and skipped only: exit 0. */
        assert_int_equal(sh("NVV_BENCH_ONLY='ok skip' %s >/dev/null 2>&1", cmd), 0);
        json_object_put(load_json(json, 2));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stats),
                cmocka_unit_test_setup_teardown(test_c_lines, setup, teardown),
                cmocka_unit_test_setup_teardown(test_shell_lines, setup, teardown),
                cmocka_unit_test_setup_teardown(test_format, setup, teardown),
                cmocka_unit_test_setup_teardown(test_runner, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
