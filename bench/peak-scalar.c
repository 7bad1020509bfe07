/*
 * peak-scalar.c — FP32 peak loop for the portable kernel set (isa
 * "scalar").  That set is plain C11 compiled with the baseline flags and
 * no FMA contraction (-std=c11 turns GCC's off), so its best case is
 * separate vector multiplies and adds at the architecture's baseline width:
 *   x86-64:  SSE2 (4 floats): 6 mulps chains and 6 addps chains, 12
 *            independent xmm accumulators (16 xmm registers in all);
 *            half the AVX2 FMA peak where mul and add issue on separate
 *            pipes (AMD Zen), a quarter where they share the FMA pipes
 *   AArch64: NEON (4 floats): 6 fmul and 6 fadd chains on q registers
 *   other:   plain scalar floats, same chains.
 * mul is 1 and add 0 at run time, so the values stay put (no overflow, no
 * subnormals).
 */
#include "peak.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
typedef __m128 vec;
#define VSET(v) _mm_set1_ps(v)
#define VMUL(a, b) _mm_mul_ps(a, b)
#define VADD(a, b) _mm_add_ps(a, b)
#define LANES 4
#define WHAT "6 xmm mulps + 6 xmm addps chains (SSE, no FMA)"
static float first_lane(vec v) { return _mm_cvtss_f32(v); }
#elif defined(__aarch64__)
#include <arm_neon.h>
typedef float32x4_t vec;
#define VSET(v) vdupq_n_f32(v)
#define VMUL(a, b) vmulq_f32(a, b)
#define VADD(a, b) vaddq_f32(a, b)
#define LANES 4
#define WHAT "6 q-register fmul + 6 fadd chains (NEON, no FMA)"
static float first_lane(vec v) { return vgetq_lane_f32(v, 0); }
#else
typedef float vec;
#define VSET(v) (v)
#define VMUL(a, b) ((a) * (b))
#define VADD(a, b) ((a) + (b))
#define LANES 1
#define WHAT "6 scalar mul + 6 scalar add chains"
static float first_lane(vec v) { return v; }
#endif

static float run_scalar(long iters, float mul, float add)
{
    const vec m = VSET(mul), a = VSET(add);
    /* Distinct starting values: identical chains could be merged. */
    vec p0 = VSET(1.00f), p1 = VSET(1.01f), p2 = VSET(1.02f);
    vec p3 = VSET(1.03f), p4 = VSET(1.04f), p5 = VSET(1.05f);
    vec s0 = VSET(2.00f), s1 = VSET(2.01f), s2 = VSET(2.02f);
    vec s3 = VSET(2.03f), s4 = VSET(2.04f), s5 = VSET(2.05f);
    for (long i = 0; i < iters; i++) {
        p0 = VMUL(p0, m);
        s0 = VADD(s0, a);
        p1 = VMUL(p1, m);
        s1 = VADD(s1, a);
        p2 = VMUL(p2, m);
        s2 = VADD(s2, a);
        p3 = VMUL(p3, m);
        s3 = VADD(s3, a);
        p4 = VMUL(p4, m);
        s4 = VADD(s4, a);
        p5 = VMUL(p5, m);
        s5 = VADD(s5, a);
    }
    vec p = VADD(VADD(VADD(p0, p1), VADD(p2, p3)), VADD(p4, p5));
    vec s = VADD(VADD(VADD(s0, s1), VADD(s2, s3)), VADD(s4, s5));
    return first_lane(VADD(p, s));
}

const bench_peak_loop bench_peak_scalar = {
    .isa = "scalar",
    .what = WHAT,
    .flops_per_iter = 12 * LANES,
    .run = run_scalar,
};
