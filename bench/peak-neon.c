/*
 * peak-neon.c — FP32 FMA peak loop for the neon kernel set (AArch64): 24
 * independent q-register accumulators, each updated by one fmla per
 * iteration (enough for 4 FMA pipes of latency 4, as on Apple M1 or
 * Neoverse V1; 2-pipe cores need 8).  Each chain is its own fmla's
 * accumulator, c += m * a with m = 1 and a = 0 at run time, so the loop is
 * fmla after fmla with no register moves.  Built only on AArch64.
 */
#include "peak.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#define CHAINS 24

static float run_neon(long iters, float mul, float add)
{
    const float32x4_t m = vdupq_n_f32(mul), a = vdupq_n_f32(add);
    /* Distinct starting values: identical chains could be merged. */
    float32x4_t c0 = vdupq_n_f32(1.00f), c1 = vdupq_n_f32(1.01f), c2 = vdupq_n_f32(1.02f);
    float32x4_t c3 = vdupq_n_f32(1.03f), c4 = vdupq_n_f32(1.04f), c5 = vdupq_n_f32(1.05f);
    float32x4_t c6 = vdupq_n_f32(1.06f), c7 = vdupq_n_f32(1.07f), c8 = vdupq_n_f32(1.08f);
    float32x4_t c9 = vdupq_n_f32(1.09f), c10 = vdupq_n_f32(1.10f), c11 = vdupq_n_f32(1.11f);
    float32x4_t c12 = vdupq_n_f32(1.12f), c13 = vdupq_n_f32(1.13f), c14 = vdupq_n_f32(1.14f);
    float32x4_t c15 = vdupq_n_f32(1.15f), c16 = vdupq_n_f32(1.16f), c17 = vdupq_n_f32(1.17f);
    float32x4_t c18 = vdupq_n_f32(1.18f), c19 = vdupq_n_f32(1.19f), c20 = vdupq_n_f32(1.20f);
    float32x4_t c21 = vdupq_n_f32(1.21f), c22 = vdupq_n_f32(1.22f), c23 = vdupq_n_f32(1.23f);
    for (long i = 0; i < iters; i++) {
        c0 = vfmaq_f32(c0, m, a);
        c1 = vfmaq_f32(c1, m, a);
        c2 = vfmaq_f32(c2, m, a);
        c3 = vfmaq_f32(c3, m, a);
        c4 = vfmaq_f32(c4, m, a);
        c5 = vfmaq_f32(c5, m, a);
        c6 = vfmaq_f32(c6, m, a);
        c7 = vfmaq_f32(c7, m, a);
        c8 = vfmaq_f32(c8, m, a);
        c9 = vfmaq_f32(c9, m, a);
        c10 = vfmaq_f32(c10, m, a);
        c11 = vfmaq_f32(c11, m, a);
        c12 = vfmaq_f32(c12, m, a);
        c13 = vfmaq_f32(c13, m, a);
        c14 = vfmaq_f32(c14, m, a);
        c15 = vfmaq_f32(c15, m, a);
        c16 = vfmaq_f32(c16, m, a);
        c17 = vfmaq_f32(c17, m, a);
        c18 = vfmaq_f32(c18, m, a);
        c19 = vfmaq_f32(c19, m, a);
        c20 = vfmaq_f32(c20, m, a);
        c21 = vfmaq_f32(c21, m, a);
        c22 = vfmaq_f32(c22, m, a);
        c23 = vfmaq_f32(c23, m, a);
    }
    float32x4_t s = c0;
    s = vaddq_f32(s, c1);
    s = vaddq_f32(s, c2);
    s = vaddq_f32(s, c3);
    s = vaddq_f32(s, c4);
    s = vaddq_f32(s, c5);
    s = vaddq_f32(s, c6);
    s = vaddq_f32(s, c7);
    s = vaddq_f32(s, c8);
    s = vaddq_f32(s, c9);
    s = vaddq_f32(s, c10);
    s = vaddq_f32(s, c11);
    s = vaddq_f32(s, c12);
    s = vaddq_f32(s, c13);
    s = vaddq_f32(s, c14);
    s = vaddq_f32(s, c15);
    s = vaddq_f32(s, c16);
    s = vaddq_f32(s, c17);
    s = vaddq_f32(s, c18);
    s = vaddq_f32(s, c19);
    s = vaddq_f32(s, c20);
    s = vaddq_f32(s, c21);
    s = vaddq_f32(s, c22);
    s = vaddq_f32(s, c23);
    return vgetq_lane_f32(s, 0);
}

const bench_peak_loop bench_peak_neon = {
    .isa = "neon",
    .what = "24 q-register FMA chains (fmla)",
    .flops_per_iter = CHAINS * 4 * 2,
    .run = run_neon,
};
#else
/* Not AArch64: nothing to define (the Makefile builds this file only on
   AArch64). */
typedef int bench_peak_neon_unused;
#endif
