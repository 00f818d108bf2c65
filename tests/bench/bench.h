/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <stdlib.h>

#include "util.h"

/* ns per call of `iters` calls of body, into dst. */
#define BENCH_TIME(dst, iters, body)                                                    \
        do {                                                                            \
                uint64_t _s = now_ns();                                                 \
                for (long _i = 0; _i < (iters); _i++) {                                 \
                        body;                                                           \
                }                                                                       \
                (dst) = (double) (now_ns() - _s) / (double) (iters);                    \
        } while (0)

/* Median of `runs` timings of `iters` calls, in ns per call. */
#define BENCH(result, runs, iters, body)                                                \
        do {                                                                            \
                double _t[64];                                                          \
                for (int _r = 0; _r < (runs); _r++)                                     \
                        BENCH_TIME(_t[_r], iters, body);                                \
                (result) = bench_median(_t, (runs));                                    \
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
                (result) = bench_median(_t, (runs));                                    \
                (floor_result) = bench_median(_f, (runs));                              \
        } while (0)

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

/* Keep the optimiser from dropping work whose result is unused. */
static inline void bench_sink(const void *p)
{
        __asm__ volatile("" : : "g"(p) : "memory");
}

/* The pct-th percentile of n timings (sorts them). */
static inline double bench_percentile(double *t, int n, int pct)
{
        qsort(t, (size_t) n, sizeof(double), bench_cmp_double);
        return t[(n - 1) * pct / 100];
}
