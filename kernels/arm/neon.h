/*
 * neon.h — what the AArch64 NEON kernels (kernels/arm) share: the GEMM
 * micro-kernel drivers of gemm-neon.c that the conv and dense files build
 * on, and the forward columns the first-layer kernels borrow from the 3x3
 * ones.  The kernels themselves are declared in families.h.
 *
 * Two micro-kernel families, both vectorised over a contiguous run of
 * output columns (4 floats per q register) with a tile of accumulators held
 * in registers:
 *
 *   neon_gemm_a  "broadcast A": o[p][c] = act(bias[c] + sum a[p][e] b[e][c])
 *                with the reduction index e contiguous in a (4 values loaded
 *                per q register, then broadcast by lane-indexed FMA).  Up to
 *                5 rows (pixels) x 4 column vectors = 20 accumulators.  Used
 *                by every forward pass and every backward-data pass.
 *   neon_gemm_b  "outer product": o[p][c] += sum_e a[e][p] b[e][c] with the
 *                rows p contiguous in a (x channels) and columns contiguous in
 *                b (dy channels); the reduction runs over pixels.  Up to 8
 *                rows x 3 column vectors = 24 accumulators, plus the fused
 *                bias gradient.  Used by every backward-weights pass.
 *
 * Column counts that are not multiples of 4 are handled by the last vector
 * of a tile loading and storing only its valid lanes: tiles are compiled
 * for each lane count (1..4) of their last vector, so neither full nor
 * tail tiles branch in their loops.  No heap, no static mutable state.
 */
#ifndef CNN_KERNELS_NEON_H
#define CNN_KERNELS_NEON_H

#include <stddef.h>

#include "families.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#define NEON_INLINE static inline __attribute__((always_inline))
#define NEON_NOINLINE __attribute__((noinline))
/* Unroll the next loop completely (its trip count is a tile size, known
   once the tile's inline body is instantiated), so that the accumulator
   arrays become registers.  clang 14 ignores "GCC unroll" there. */
#if defined(__clang__)
#define NEON_UNROLL _Pragma("clang loop unroll(full)")
#else
#define NEON_UNROLL _Pragma("GCC unroll 16")
#endif

/* The first r (1..4) floats at p, zeros in the other lanes.  r is a
   compile-time constant in the tiles (4: one vld1q; 2: one 64-bit load),
   so nothing here branches there. */
NEON_INLINE float32x4_t neon_load(const float *p, int r)
{
    switch (r) {
    case 1:
        return vld1q_lane_f32(p, vdupq_n_f32(0.0f), 0);
    case 2:
        return vcombine_f32(vld1_f32(p), vdup_n_f32(0.0f));
    case 3:
        return vcombine_f32(vld1_f32(p),
                            vld1_lane_f32(p + 2, vdup_n_f32(0.0f), 0));
    default:
        return vld1q_f32(p);
    }
}

/* Store the first r (1..4) lanes of v at p. */
NEON_INLINE void neon_store(float *p, float32x4_t v, int r)
{
    switch (r) {
    case 1:
        vst1q_lane_f32(p, v, 0);
        break;
    case 2:
        vst1_f32(p, vget_low_f32(v));
        break;
    case 3:
        vst1_f32(p, vget_low_f32(v));
        vst1q_lane_f32(p + 2, v, 2);
        break;
    default:
        vst1q_f32(p, v);
        break;
    }
}

/* v where m > 0, else 0 (the ReLU mask of backward data). */
NEON_INLINE float32x4_t neon_apply_mask(float32x4_t v, float32x4_t m)
{
    const uint32x4_t keep = vcgtq_f32(m, vdupq_n_f32(0.0f));
    return vreinterpretq_f32_u32(vandq_u32(keep, vreinterpretq_u32_f32(v)));
}
#endif

/*
 * For p < npx, c < ncols:
 *   o[p*o_p + c] = act(bias[c] + sum_{r < nr, t < nt, e < len}
 *                        a[p*a_p + r*a_r + t*a_t + e]
 *                      * b[r*b_r + t*b_t + e*b_e + c])
 * bias NULL: 0.  act: when mask is not NULL, 0 where mask[p*o_p + c] <= 0;
 * else, when relu, max(., 0).  nr or nt may be 0 (then o = act(bias)).
 */
typedef struct neon_gemm_a {
    const float *a;
    ptrdiff_t a_p, a_r, a_t;
    const float *b;
    ptrdiff_t b_e, b_r, b_t;
    int nr, nt, len;
    float *o;
    ptrdiff_t o_p;
    const float *bias, *mask;
    int relu;
} neon_gemm_a;

void cnn_neon_gemm_a(const neon_gemm_a *g, ptrdiff_t npx, int ncols);

/*
 * For p < nrows, c < ncols:
 *   o[p*o_p + c] += sum_{i < ni, r < nr, q < nc} a[i*a_i + r*a_r + q*a_c + p]
 *                                              * b[i*b_i + r*b_r + q*b_c + c]
 * and, when db is not NULL, db[c] += the same sum of b alone.
 */
typedef struct neon_gemm_b {
    const float *a;
    ptrdiff_t a_i, a_r, a_c;
    const float *b;
    ptrdiff_t b_i, b_r, b_c;
    int ni, nr, nc;
    float *o;
    ptrdiff_t o_p;
    float *db;
} neon_gemm_b;

void cnn_neon_gemm_b(const neon_gemm_b *g, int nrows, int ncols);

/* db[c] += sum_{i < ni, r < nr, q < nc} b[i*b_i + r*b_r + q*b_c + c],
   c < ncols. */
void cnn_neon_bias_grad(const float *b, ptrdiff_t b_i, ptrdiff_t b_r,
                        ptrdiff_t b_c, int ni, int nr, int nc, int ncols,
                        float *db);

/* Output columns [ox_begin, ox_end) of output row oy of image img, as
   cnn_conv3x3_forward_neon computes them (for the first-layer kernels'
   border and leftover columns). */
void cnn_conv3x3_forward_cols_neon(const cnn_conv_geom *g, const float *x,
                                   const float *w, const float *b, float *y,
                                   int relu, int img, int oy, int ox_begin,
                                   int ox_end);

#endif /* CNN_KERNELS_NEON_H */
