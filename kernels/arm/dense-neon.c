/*
 * dense-neon.c — NEON dense (fully connected) kernels; x is (n, in), w is
 * [in][out], y and dy are (n, out).  Each pass is one GEMM job of
 * gemm-dense-neon.c (dense-gemm-neon.h):
 *
 *   forward             y = act(b + x w): samples x out
 *   pack_backward_data  wt[o][i] = w[i][o] for o in [o0, o1), by 4 x 4
 *                       blocks through registers
 *   backward_data       dx = mask(dy wt): samples x in, over the out of
 *                       wt's rows
 *   backward_weights    dw[i0:i1] += x[:, i0:i1]^T dy: rows of w x out
 *                       over the samples; db += the column sums of dy
 *
 * Column tails (out = 10) are zero-padded vectors, never scalar.
 * Single-threaded, no heap, no static mutable state.
 */
#include <stddef.h>

#include "dense-gemm-neon.h"
#include "kernels.h"
#include "neon.h"

void cnn_dense_forward_neon(int n, int in, int out, const float *x,
                            const float *w, const float *b, float *y,
                            int relu)
{
    const neon_dense_gemm g = {.M = n, .N = out, .K = in, .a = x, .a_m = in,
                               .a_k = 1, .b = w, .ldb = out, .c = y,
                               .ldc = out, .bias = b, .relu = relu};
    cnn_dense_gemm_neon(&g);
}

/* wt[o0+c][i0+r] = w[i0+r][o0+c] for r, c < 4. */
static void pack_4x4(int in, int out, const float *w, float *wt, int i0, int o0)
{
    const float32x4_t r0 = vld1q_f32(w + (ptrdiff_t)i0 * out + o0);
    const float32x4_t r1 = vld1q_f32(w + (ptrdiff_t)(i0 + 1) * out + o0);
    const float32x4_t r2 = vld1q_f32(w + (ptrdiff_t)(i0 + 2) * out + o0);
    const float32x4_t r3 = vld1q_f32(w + (ptrdiff_t)(i0 + 3) * out + o0);
    const float64x2_t t0 = vreinterpretq_f64_f32(vtrn1q_f32(r0, r1));
    const float64x2_t t1 = vreinterpretq_f64_f32(vtrn2q_f32(r0, r1));
    const float64x2_t t2 = vreinterpretq_f64_f32(vtrn1q_f32(r2, r3));
    const float64x2_t t3 = vreinterpretq_f64_f32(vtrn2q_f32(r2, r3));
    float *d = wt + (ptrdiff_t)o0 * in + i0;
    vst1q_f32(d, vreinterpretq_f32_f64(vtrn1q_f64(t0, t2)));
    vst1q_f32(d + in, vreinterpretq_f32_f64(vtrn1q_f64(t1, t3)));
    vst1q_f32(d + 2 * (ptrdiff_t)in, vreinterpretq_f32_f64(vtrn2q_f64(t0, t2)));
    vst1q_f32(d + 3 * (ptrdiff_t)in, vreinterpretq_f32_f64(vtrn2q_f64(t1, t3)));
}

void cnn_dense_pack_backward_data_neon(int in, int out, const float *w,
                                       float *packed, int o0, int o1)
{
    const int o4 = o0 + (o1 - o0) / 4 * 4, i4 = in / 4 * 4;
    for (int o = o0; o < o4; o += 4) {
        for (int i = 0; i < i4; i += 4)
            pack_4x4(in, out, w, packed, i, o);
        for (int oo = o; oo < o + 4; oo++) /* rows left over from blocks of 4 */
            for (int i = i4; i < in; i++)
                packed[(ptrdiff_t)oo * in + i] = w[(ptrdiff_t)i * out + oo];
    }
    for (int o = o4; o < o1; o++)
        for (int i = 0; i < in; i++)
            packed[(ptrdiff_t)o * in + i] = w[(ptrdiff_t)i * out + o];
}

void cnn_dense_backward_data_neon(int n, int in, int out, const float *dy,
                                  const float *wp, const float *mask,
                                  float *dx)
{
    const neon_dense_gemm g = {.M = n, .N = in, .K = out, .a = dy, .a_m = out,
                               .a_k = 1, .b = wp, .ldb = in, .c = dx,
                               .ldc = in, .mask = mask};
    cnn_dense_gemm_neon(&g);
}

/* db[o] += sum over the n samples of dy[s][o]: one chain per column. */
static void bias_grad(int n, int out, const float *dy, int start_zero,
                      float *db)
{
    int o = 0;
    for (; o + 4 <= out; o += 4) {
        float32x4_t acc = vdupq_n_f32(0.0f);
        for (int s = 0; s < n; s++)
            acc = vaddq_f32(acc, vld1q_f32(dy + (ptrdiff_t)s * out + o));
        if (!start_zero)
            acc = vaddq_f32(vld1q_f32(db + o), acc);
        vst1q_f32(db + o, acc);
    }
    if (o < out) {
        const int r = out - o;
        float32x4_t acc = vdupq_n_f32(0.0f);
        for (int s = 0; s < n; s++)
            acc = vaddq_f32(acc, neon_load(dy + (ptrdiff_t)s * out + o, r));
        if (!start_zero)
            acc = vaddq_f32(neon_load(db + o, r), acc);
        neon_store(db + o, acc, r);
    }
}

void cnn_dense_backward_weights_neon(int n, int in, int out, const float *x,
                                     const float *dy, int i0, int i1,
                                     int start_zero, float *dw, float *db)
{
    if (i1 > i0) {
        const neon_dense_gemm g = {.M = i1 - i0, .N = out, .K = n, .a = x + i0,
                                   .a_m = 1, .a_k = in, .b = dy, .ldb = out,
                                   .c = dw + (ptrdiff_t)i0 * out, .ldc = out,
                                   .accum = !start_zero};
        cnn_dense_gemm_neon(&g);
    }
    if (db)
        bias_grad(n, out, dy, start_zero, db);
}
