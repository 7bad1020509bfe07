/*
 * dense-neon.c — NEON dense (fully connected) kernels; x is (n, in), w is
 * [in][out], y and dy are (n, out).
 *
 *   forward           y = act(b + x w): the broadcast-A GEMM tile of
 *                     gemm-neon.c over the n samples (5 samples x 16
 *                     outputs, 20 accumulators, in reduced 4 at a time)
 *   backward_data     dx[s][i] = mask(dy[s][:] . w[i][:]): dot products
 *                     along out (contiguous in both), 4 samples x 4 inputs
 *                     of vector partial sums (16 accumulators) folded by
 *                     pairwise adds into one vector of 4 dx values; an out
 *                     count that is not a multiple of 4 (784 -> 10) ends
 *                     with one zero-padded vector step
 *   backward_weights  dw += x^T dy, db += sum dy: the outer-product tile of
 *                     gemm-neon.c (8 inputs x 12 outputs) over the samples
 *
 * Single-threaded, no heap, no static mutable state.
 */
#include <stddef.h>

#include "kernels.h"
#include "neon.h"

void cnn_dense_forward_neon(int n, int in, int out, const float *x,
                            const float *w, const float *b, float *y,
                            int relu)
{
    const neon_gemm_a a = {
        .a = x, .a_p = in, .a_r = 0, .a_t = 0,
        .b = w, .b_e = out, .b_r = 0, .b_t = 0,
        .nr = 1, .nt = 1, .len = in,
        .o = y, .o_p = out, .bias = b, .mask = NULL, .relu = relu,
    };
    cnn_neon_gemm_a(&a, n, out);
}

void cnn_dense_backward_weights_neon(int n, int in, int out, const float *x,
                                     const float *dy, float *dw, float *db)
{
    const neon_gemm_b t = {
        .a = x, .a_i = 0, .a_r = 0, .a_c = in,
        .b = dy, .b_i = 0, .b_r = 0, .b_c = out,
        .ni = 1, .nr = 1, .nc = n,
        .o = dw, .o_p = out, .db = db,
    };
    cnn_neon_gemm_b(&t, in, out);
}

/* dx[s*in + i] for S samples s and Q inputs i (Q 4 or 1, ql of them
   valid), from dy rows at dy (stride out) and w rows at w (stride out). */
NEON_INLINE void dot_tile(const int S, const int Q, int ql, int out,
                          const float *dy, const float *w, const float *mask,
                          float *dx, int in)
{
    float32x4_t acc[4][4];
    NEON_UNROLL for (int p = 0; p < S; p++)
        NEON_UNROLL for (int q = 0; q < Q; q++) acc[p][q] = vdupq_n_f32(0.0f);
    int o = 0;
    for (; o + 4 <= out; o += 4) {
        float32x4_t wv[4];
        NEON_UNROLL for (int q = 0; q < Q; q++)
            wv[q] = vld1q_f32(w + (ptrdiff_t)q * out + o);
        NEON_UNROLL for (int p = 0; p < S; p++) {
            const float32x4_t dv = vld1q_f32(dy + (ptrdiff_t)p * out + o);
            NEON_UNROLL for (int q = 0; q < Q; q++)
                acc[p][q] = vfmaq_f32(acc[p][q], dv, wv[q]);
        }
    }
    if (o < out) { /* the last 1..3 outputs, zero-padded */
        const int r = out - o;
        float32x4_t wv[4];
        NEON_UNROLL for (int q = 0; q < Q; q++)
            wv[q] = q < ql ? neon_load(w + (ptrdiff_t)q * out + o, r)
                           : vdupq_n_f32(0.0f);
        NEON_UNROLL for (int p = 0; p < S; p++) {
            const float32x4_t dv = neon_load(dy + (ptrdiff_t)p * out + o, r);
            NEON_UNROLL for (int q = 0; q < Q; q++)
                acc[p][q] = vfmaq_f32(acc[p][q], dv, wv[q]);
        }
    }
    NEON_UNROLL for (int p = 0; p < S; p++) {
        float *d = dx + (ptrdiff_t)p * in;
        const float *m = mask ? mask + (ptrdiff_t)p * in : NULL;
        if (Q == 4) {
            float32x4_t v = vpaddq_f32(vpaddq_f32(acc[p][0], acc[p][1]),
                                       vpaddq_f32(acc[p][2], acc[p][3]));
            if (m)
                v = neon_apply_mask(v, neon_load(m, ql));
            neon_store(d, v, ql);
        } else {
            const float v = vaddvq_f32(acc[p][0]);
            d[0] = m && !(m[0] > 0.0f) ? 0.0f : v;
        }
    }
}

static NEON_NOINLINE void dot_4x4(int ql, int out, const float *dy,
                                  const float *w, const float *mask,
                                  float *dx, int in)
{
    dot_tile(4, 4, ql, out, dy, w, mask, dx, in);
}
static NEON_NOINLINE void dot_1x4(int ql, int out, const float *dy,
                                  const float *w, const float *mask,
                                  float *dx, int in)
{
    dot_tile(1, 4, ql, out, dy, w, mask, dx, in);
}
static NEON_NOINLINE void dot_4x1(int ql, int out, const float *dy,
                                  const float *w, const float *mask,
                                  float *dx, int in)
{
    dot_tile(4, 1, ql, out, dy, w, mask, dx, in);
}
static NEON_NOINLINE void dot_1x1(int ql, int out, const float *dy,
                                  const float *w, const float *mask,
                                  float *dx, int in)
{
    dot_tile(1, 1, ql, out, dy, w, mask, dx, in);
}

void cnn_dense_backward_data_neon(int n, int in, int out, const float *dy,
                                  const float *w, const float *mask,
                                  float *dx)
{
    for (int s = 0; s < n;) {
        const int four = n - s >= 4;
        const float *dys = dy + (ptrdiff_t)s * out;
        const float *ms = mask ? mask + (ptrdiff_t)s * in : NULL;
        float *dxs = dx + (ptrdiff_t)s * in;
        int i = 0;
        for (; i + 4 <= in; i += 4) {
            const float *wi = w + (ptrdiff_t)i * out;
            const float *mi = ms ? ms + i : NULL;
            (four ? dot_4x4 : dot_1x4)(4, out, dys, wi, mi, dxs + i, in);
        }
        for (; i < in; i++) {
            const float *wi = w + (ptrdiff_t)i * out;
            const float *mi = ms ? ms + i : NULL;
            (four ? dot_4x1 : dot_1x1)(1, out, dys, wi, mi, dxs + i, in);
        }
        s += four ? 4 : 1;
    }
}
