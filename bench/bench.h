/* SPDX-License-Identifier: MIT */
/* The manager benchmark (bench_manager.exe): timing with QueryPerformanceCounter, order
 * statistics, and the CreateJob breakdown of profile.c. */
#ifndef OPENBITS_BENCH_H
#define OPENBITS_BENCH_H

#include <windows.h>
#include <objbase.h>
#include <stdio.h>

#include "bits.h"

struct stats
{
    double median_us, p99_us, mean_us, max_us;
    double batch_mean_us;         /* median over batches of back-to-back calls of (batch time / calls);
                                   * finer than one tick; 0 = not measured */
    size_t count;
};

/* QueryPerformanceCounter ticks. */
static inline LONGLONG bench_now(void)
{
    LARGE_INTEGER counter;

    QueryPerformanceCounter(&counter);
    return counter.QuadPart;
}

double bench_ticks_to_us(LONGLONG ticks);
/* Median and 99th percentile (nearest rank), mean and maximum; sorts `ticks` in place. */
void bench_stats(LONGLONG *ticks, size_t count, struct stats *out);

/* profile.c: the pieces of openbits' CreateJob timed one by one, in this process. */
void profile_create_job(IBackgroundCopyManager *manager, size_t iterations);
/* profile.c: a random read through a table of `count` job-sized blocks, for comparison with GetJob. */
void profile_cold_reads(size_t count, size_t iterations);

#endif
