/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <stdlib.h>

#include "util.h"

/* Median of `runs` timings of `iters` calls, in ns per call. */
#define BENCH(result, runs, iters, body)                                                \
        do {                                                                            \
                double _t[64];                                                          \
                for (int _r = 0; _r < (runs); _r++) {                                   \
                        uint64_t _s = now_ns();                                         \
                        for (long _i = 0; _i < (iters); _i++) {                         \
                                body;                                                   \
                        }                                                               \
                        _t[_r] = (double) (now_ns() - _s) / (double) (iters);           \
                }                                                                       \
                qsort(_t, (runs), sizeof(double), bench_cmp_double);                    \
                (result) = _t[(runs) / 2];                                              \
        } while (0)

/* The same for a measurement and its floor, run by turns (floor, ours, floor, ours...) so
 * that whatever else the machine does in the meantime weighs on both alike. */
#define BENCH_PAIR(result, floor_result, runs, iters, body, floor_body)                \
        do {                                                                            \
                double _t[64], _f[64];                                                  \
                for (int _r = 0; _r < (runs); _r++) {                                   \
                        uint64_t _s = now_ns();                                         \
                        for (long _i = 0; _i < (iters); _i++) {                         \
                                floor_body;                                             \
                        }                                                               \
                        _f[_r] = (double) (now_ns() - _s) / (double) (iters);           \
                        _s = now_ns();                                                  \
                        for (long _i = 0; _i < (iters); _i++) {                         \
                                body;                                                   \
                        }                                                               \
                        _t[_r] = (double) (now_ns() - _s) / (double) (iters);           \
                }                                                                       \
                qsort(_t, (runs), sizeof(double), bench_cmp_double);                    \
                qsort(_f, (runs), sizeof(double), bench_cmp_double);                    \
                (result) = _t[(runs) / 2];                                              \
                (floor_result) = _f[(runs) / 2];                                        \
        } while (0)

static inline int bench_cmp_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

/* Keep the optimiser from dropping work whose result is unused. */
static inline void bench_sink(const void *p)
{
        __asm__ volatile("" : : "g"(p) : "memory");
}
