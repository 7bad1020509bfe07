/*
 * peak-avx2.c — FP32 FMA peak loop for the avx2 kernel set: 12 independent
 * ymm accumulators, each updated by one vfmadd per iteration (12 chains
 * cover an FMA latency of 4 cycles on 2 pipes with room to spare).
 * Compiled with -mavx2 -mfma (Makefile pattern rule for *-avx2.c); run
 * only where the CPU has AVX2 and FMA.
 */
#include <immintrin.h>

#include "peak.h"

#define CHAINS 12

static float run_avx2(long iters, float mul, float add)
{
    const __m256 m = _mm256_set1_ps(mul), a = _mm256_set1_ps(add);
    /* Distinct starting values: identical chains could be merged. */
    __m256 c0 = _mm256_set1_ps(1.00f), c1 = _mm256_set1_ps(1.01f);
    __m256 c2 = _mm256_set1_ps(1.02f), c3 = _mm256_set1_ps(1.03f);
    __m256 c4 = _mm256_set1_ps(1.04f), c5 = _mm256_set1_ps(1.05f);
    __m256 c6 = _mm256_set1_ps(1.06f), c7 = _mm256_set1_ps(1.07f);
    __m256 c8 = _mm256_set1_ps(1.08f), c9 = _mm256_set1_ps(1.09f);
    __m256 c10 = _mm256_set1_ps(1.10f), c11 = _mm256_set1_ps(1.11f);
    for (long i = 0; i < iters; i++) {
        c0 = _mm256_fmadd_ps(c0, m, a);
        c1 = _mm256_fmadd_ps(c1, m, a);
        c2 = _mm256_fmadd_ps(c2, m, a);
        c3 = _mm256_fmadd_ps(c3, m, a);
        c4 = _mm256_fmadd_ps(c4, m, a);
        c5 = _mm256_fmadd_ps(c5, m, a);
        c6 = _mm256_fmadd_ps(c6, m, a);
        c7 = _mm256_fmadd_ps(c7, m, a);
        c8 = _mm256_fmadd_ps(c8, m, a);
        c9 = _mm256_fmadd_ps(c9, m, a);
        c10 = _mm256_fmadd_ps(c10, m, a);
        c11 = _mm256_fmadd_ps(c11, m, a);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                             _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[7];
}

const bench_peak_loop bench_peak_avx2 = {
    .isa = "avx2",
    .what = "12 ymm FMA chains (vfmadd231ps)",
    .flops_per_iter = CHAINS * 8 * 2,
    .run = run_avx2,
};
