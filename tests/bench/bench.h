/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/*
 * Samples and the figures made of them. A sample is one timed run (of `iters` calls for the
 * BENCH macros, of one operation elsewhere). A figure's value is the median of its samples
 * and its spread p90 - p10 of the same samples, in every benchmark (tests/bench/bench-lib.sh
 * computes them the same way for the shell benchmarks): with the samples sorted, the median
 * is sample n/2 and the p-th percentile sample (n-1)*p/100, counted from 0.
 */
struct bench_stats {
        double median, p10, p90;
        int n;                  /* samples; 1: a single value, no spread */
};

static inline int bench_cmp_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

static inline double bench_median(double *t, int n)
{
        qsort(t, (size_t) n, sizeof(double), bench_cmp_double);
        return t[n / 2];
}

/* The pct-th percentile of n timings (sorts them). */
static inline double bench_percentile(double *t, int n, int pct)
{
        qsort(t, (size_t) n, sizeof(double), bench_cmp_double);
        return t[(n - 1) * pct / 100];
}

/* Median, p10 and p90 of n samples, each divided by scale (sorts them). */
static inline struct bench_stats bench_stats_of(double *t, int n, double scale)
{
        qsort(t, (size_t) n, sizeof(double), bench_cmp_double);
        return (struct bench_stats) { .median = t[n / 2] / scale, .p10 = t[(n - 1) * 10 / 100] / scale,
                                      .p90 = t[(n - 1) * 90 / 100] / scale, .n = n };
}

/* The same samples in another unit (divided by scale). */
static inline struct bench_stats bench_stats_scaled(struct bench_stats s, double scale)
{
        return (struct bench_stats) { s.median / scale, s.p10 / scale, s.p90 / scale, s.n };
}

/* A figure that is one value (a count, an RSS): no spread. */
static inline struct bench_stats bench_value(double v)
{
        return (struct bench_stats) { .median = v, .p10 = v, .p90 = v, .n = 1 };
}

/* ns per call of `iters` calls of body, into dst. */
#define BENCH_TIME(dst, iters, body)                                                    \
        do {                                                                            \
                uint64_t _s = now_ns();                                                 \
                for (long _i = 0; _i < (iters); _i++) {                                 \
                        body;                                                           \
                }                                                                       \
                (dst) = (double) (now_ns() - _s) / (double) (iters);                    \
        } while (0)

/* `runs` timings of `iters` calls, in ns per call: their bench_stats into result. */
#define BENCH(result, runs, iters, body)                                                \
        do {                                                                            \
                double _t[64];                                                          \
                for (int _r = 0; _r < (runs); _r++)                                     \
                        BENCH_TIME(_t[_r], iters, body);                                \
                (result) = bench_stats_of(_t, (runs), 1);                               \
        } while (0)

/* The same for a measurement and its floor, run by turns (floor, ours, floor, ours...) so
 * that whatever else the machine does in the meantime weighs on both alike. */
#define BENCH_PAIR(result, floor_result, runs, iters, body, floor_body)                \
        do {                                                                            \
                double _t[64], _f[64];                                                  \
                for (int _r = 0; _r < (runs); _r++) {                                   \
                        BENCH_TIME(_f[_r], iters, floor_body);                          \
                        BENCH_TIME(_t[_r], iters, body);                                \
                }                                                                       \
                (result) = bench_stats_of(_t, (runs), 1);                               \
                (floor_result) = bench_stats_of(_f, (runs), 1);                         \
        } while (0)

/* Keep the optimiser from dropping work whose result is unused. */
static inline void bench_sink(const void *p)
{
        __asm__ volatile("" : : "g"(p) : "memory");
}

/* ---- the common report (doc/benchmarks.md, "Results") ---- */

enum bench_vs {
        BENCH_VS_NONE,          /* no baseline, or nothing to compare */
        BENCH_VS_RATIO,         /* value / baseline, "2.24x" */
        BENCH_VS_DELTA,         /* value - baseline, "+19.30" (the figure's unit) */
};

struct bench_figure {
        const char *figure;     /* what is measured, with its conditions */
        const char *stat;       /* what the value is: NULL for "median"; "p99", "total", "value" */
        struct bench_stats ours;
        const char *unit;
        const char *baseline;   /* the floor or peer measured in the same run; NULL: none */
        struct bench_stats base;
        enum bench_vs vs;
        const char *target;     /* as text ("<= 3x"); NULL: none, the verdict is "info" */
        bool met;
        const char *note;       /* anything the verdict needs besides the numbers; may be NULL */
};

/* One field of a figure line: no tab or newline inside, "-" for nothing. */
static inline void bench_put_field(FILE *f, const char *s, bool last)
{
        if (!s || !*s)
                fputc('-', f);
        for (; s && *s; s++)
                fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
        fputc(last ? '\n' : '\t', f);
}

static inline void bench_put_number(FILE *f, double v, bool have)
{
        if (have && isfinite(v))
                fprintf(f, "%.6g\t", v);
        else
                fputs("-\t", f);
}

/*
 * The figure as one line on stdout's side channel: appended to the file $NVV_BENCH_RESULTS
 * names, when set (tests/bench/run-all.sh sets it and makes the table). Fields, tab-separated:
 * bench figure stat value spread n unit baseline base_value base_spread vs target verdict note.
 * A line that cannot be written ends the benchmark: a figure lost would read as no miss.
 */
static inline void bench_report(const char *bench, const struct bench_figure *fg)
{
        const char *path = getenv("NVV_BENCH_RESULTS");
        bool base = fg->baseline != NULL;
        char vs[32] = "-";
        FILE *f;

        if (!path || !*path)
                return;
        if (base && fg->vs == BENCH_VS_RATIO && fg->base.median != 0)
                snprintf(vs, sizeof(vs), "%.2fx", fg->ours.median / fg->base.median);
        else if (base && fg->vs == BENCH_VS_DELTA)
                snprintf(vs, sizeof(vs), "%+.2f", fg->ours.median - fg->base.median);
        f = fopen(path, "ae");
        if (!f) {
                fprintf(stderr, "%s: cannot open %s: %s\n", bench, path, strerror(errno));
                exit(1);
        }
        bench_put_field(f, bench, false);
        bench_put_field(f, fg->figure, false);
        bench_put_field(f, fg->stat ? fg->stat : "median", false);
        bench_put_number(f, fg->ours.median, true);
        bench_put_number(f, fg->ours.p90 - fg->ours.p10, fg->ours.n > 1);
        fprintf(f, "%d\t", fg->ours.n);
        bench_put_field(f, fg->unit, false);
        bench_put_field(f, fg->baseline, false);
        bench_put_number(f, fg->base.median, base);
        bench_put_number(f, fg->base.p90 - fg->base.p10, base && fg->base.n > 1);
        bench_put_field(f, vs, false);
        bench_put_field(f, fg->target, false);
        bench_put_field(f, !fg->target ? "info" : fg->met ? "met" : "MISSED", false);
        bench_put_field(f, fg->note, true);
        if (fclose(f) != 0) {
                fprintf(stderr, "%s: cannot write %s: %s\n", bench, path, strerror(errno));
                exit(1);
        }
}
