/*
 * dense-avx512.c — dense (fully connected) kernels, AVX-512.  x is
 * (n, in), w [in][out], y and dy (n, out).  Each pass is one GEMM job of
 * gemm-dense-avx512.c (dense-gemm.h):
 *
 *   cnn_dense_forward_avx512           y = act(b + x w): samples x out
 *                                      (out <= 12: dense-narrow-avx512.c,
 *                                      vectors over the samples)
 *   cnn_dense_pack_backward_data_avx512  wt[o][i] = w[i][o] for o in
 *                                      [o0, o1) (dense-pack.h)
 *   cnn_dense_backward_data_avx512     dx = mask(dy wt): samples x in, over
 *                                      the out of wt's rows; on w itself
 *                                      for wide layers (dot products,
 *                                      dense-dot-avx512.c) and narrow ones
 *                                      (out <= 12: dense-narrow-avx512.c)
 *   cnn_dense_backward_weights_avx512  dw[i0:i1] += x[:, i0:i1]^T dy: rows
 *                                      of w x out over the samples;
 *                                      db += the column sums of dy
 *
 * Column tails (out = 10) are masked, never scalar.
 */
#include <immintrin.h>
#include <stddef.h>

#include "dense-dot.h"
#include "dense-gemm.h"
#include "dense-narrow-avx512.h"
#include "dense-pack.h"
#include "families.h"

void cnn_dense_forward_avx512(int n, int in, int out, const float *x,
                              const float *w, const float *b, float *y,
                              int relu)
{
    if (out <= CNN_DENSE_NARROW_MAX) {
        cnn_dense_forward_narrow_avx512(n, in, out, x, w, b, y, relu);
        return;
    }
    const dense_gemm g = {.M = n, .N = out, .K = in, .a = x, .a_m = in,
                          .a_k = 1, .b = w, .ldb = out, .c = y, .ldc = out,
                          .bias = b, .relu = relu};
    cnn_dense_gemm_avx512(&g);
}

static inline __mmask16 lanes(int n)
{
    return (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
}

void cnn_dense_pack_backward_data_avx512(int in, int out, const float *w,
                                         float *packed, int o0, int o1)
{
    dense_pack_transposed(in, out, w, packed, o0, o1);
}

/* Pack only for 12 < out < DENSE_DOT_MIN: measured at 1 thread, batch 32
   (and 2 x 16), pack + GEMM against reading w as it is: 1568 -> 768 and
   512 -> 128 go faster as dots (the 4.8 MB copy of 1568 -> 768 alone
   costs as much as its GEMM), 512 -> 32 and 512 -> 64 with the copy, and
   768 -> 10 and 784 -> 10 in the narrow kernel (w's rows transposed in
   registers per 16 inputs: 3.7 us against 2.1 + 3.8 us). */
enum { DENSE_DOT_MIN = 128 };

int cnn_dense_packs_avx512(int in, int out)
{
    (void)in;
    return out > CNN_DENSE_NARROW_MAX && out < DENSE_DOT_MIN;
}

void cnn_dense_backward_data_avx512(int n, int in, int out, const float *dy,
                                    const float *wp, const float *mask,
                                    float *dx)
{
    if (out <= CNN_DENSE_NARROW_MAX) {
        cnn_dense_backward_data_narrow_avx512(n, in, out, dy, wp, mask, dx);
        return;
    }
    if (!cnn_dense_packs_avx512(in, out)) {
        cnn_dense_backward_data_dot_avx512(n, in, out, dy, wp, mask, dx);
        return;
    }
    const dense_gemm g = {.M = n, .N = in, .K = out, .a = dy, .a_m = out,
                          .a_k = 1, .b = wp, .ldb = in, .c = dx, .ldc = in,
                          .mask = mask};
    cnn_dense_gemm_avx512(&g);
}

/* db[o] += sum over the n samples of dy[s][o]: one chain per column. */
static void bias_grad(int n, int out, const float *dy, int start_zero,
                      float *db)
{
    for (int o = 0; o < out; o += 16) {
        const __mmask16 mk = lanes(out - o);
        __m512 acc = _mm512_setzero_ps();
        for (int s = 0; s < n; s++)
            acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(mk, dy + (ptrdiff_t)s * out + o));
        if (!start_zero)
            acc = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, db + o), acc);
        _mm512_mask_storeu_ps(db + o, mk, acc);
    }
}

void cnn_dense_backward_weights_avx512(int n, int in, int out,
                                       const float *x, const float *dy,
                                       int i0, int i1, int start_zero,
                                       float *dw, float *db)
{
    if (i1 > i0) {
        const dense_gemm g = {.M = i1 - i0, .N = out, .K = n, .a = x + i0,
                              .a_m = 1, .a_k = in, .b = dy, .ldb = out,
                              .c = dw + (ptrdiff_t)i0 * out, .ldc = out,
                              .accum = !start_zero};
        cnn_dense_gemm_avx512(&g);
    }
    if (db)
        bias_grad(n, out, dy, start_zero, db);
}
