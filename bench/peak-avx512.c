/*
 * peak-avx512.c — FP32 FMA peak loop for the avx512 kernel set: 16
 * independent zmm accumulators, each updated by one vfmadd per iteration
 * (enough for an FMA latency of 4 cycles on 2 pipes; on Zen 4, whose
 * 512-bit FMAs are double-pumped, the peak equals AVX2's).  Compiled with
 * the AVX-512 flags (Makefile pattern rule for *-avx512.c); run only where
 * the CPU has AVX-512F.
 */
#include <immintrin.h>

#include "peak.h"

#define CHAINS 16

static float run_avx512(long iters, float mul, float add)
{
    const __m512 m = _mm512_set1_ps(mul), a = _mm512_set1_ps(add);
    /* Distinct starting values: identical chains could be merged. */
    __m512 c0 = _mm512_set1_ps(1.00f), c1 = _mm512_set1_ps(1.01f);
    __m512 c2 = _mm512_set1_ps(1.02f), c3 = _mm512_set1_ps(1.03f);
    __m512 c4 = _mm512_set1_ps(1.04f), c5 = _mm512_set1_ps(1.05f);
    __m512 c6 = _mm512_set1_ps(1.06f), c7 = _mm512_set1_ps(1.07f);
    __m512 c8 = _mm512_set1_ps(1.08f), c9 = _mm512_set1_ps(1.09f);
    __m512 c10 = _mm512_set1_ps(1.10f), c11 = _mm512_set1_ps(1.11f);
    __m512 c12 = _mm512_set1_ps(1.12f), c13 = _mm512_set1_ps(1.13f);
    __m512 c14 = _mm512_set1_ps(1.14f), c15 = _mm512_set1_ps(1.15f);
    for (long i = 0; i < iters; i++) {
        c0 = _mm512_fmadd_ps(c0, m, a);
        c1 = _mm512_fmadd_ps(c1, m, a);
        c2 = _mm512_fmadd_ps(c2, m, a);
        c3 = _mm512_fmadd_ps(c3, m, a);
        c4 = _mm512_fmadd_ps(c4, m, a);
        c5 = _mm512_fmadd_ps(c5, m, a);
        c6 = _mm512_fmadd_ps(c6, m, a);
        c7 = _mm512_fmadd_ps(c7, m, a);
        c8 = _mm512_fmadd_ps(c8, m, a);
        c9 = _mm512_fmadd_ps(c9, m, a);
        c10 = _mm512_fmadd_ps(c10, m, a);
        c11 = _mm512_fmadd_ps(c11, m, a);
        c12 = _mm512_fmadd_ps(c12, m, a);
        c13 = _mm512_fmadd_ps(c13, m, a);
        c14 = _mm512_fmadd_ps(c14, m, a);
        c15 = _mm512_fmadd_ps(c15, m, a);
    }
    __m512 s0 = _mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3));
    __m512 s1 = _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7));
    __m512 s2 = _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11));
    __m512 s3 = _mm512_add_ps(_mm512_add_ps(c12, c13), _mm512_add_ps(c14, c15));
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

const bench_peak_loop bench_peak_avx512 = {
    .isa = "avx512",
    .what = "16 zmm FMA chains (vfmadd231ps)",
    .flops_per_iter = CHAINS * 16 * 2,
    .run = run_avx512,
};
