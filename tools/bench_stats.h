/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small statistics shared by the benchmark tools. */
#ifndef MINIVMM_BENCH_STATS_H
#define MINIVMM_BENCH_STATS_H

#include <stdlib.h>

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v in place (so v[0] and v[n-1] are then the extremes). */
static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
