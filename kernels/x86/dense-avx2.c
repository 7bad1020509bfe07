/*
 * dense-avx2.c — dense (fully connected) kernels, AVX2 + FMA.  x is
 * (n, in), w [in][out], y and dy (n, out).  Each pass is one GEMM job of
 * gemm-dense-avx2.c (dense-gemm.h):
 *
 *   cnn_dense_forward_avx2           y = act(b + x w): samples x out
 *   cnn_dense_pack_backward_data_avx2  wt[o][i] = w[i][o] for o in
 *                                    [o0, o1) (dense-pack.h)
 *   cnn_dense_backward_data_avx2     dx = mask(dy wt): samples x in, over
 *                                    the out of wt's rows; for wide layers
 *                                    (out >= 128) dot products on w itself,
 *                                    dense-dot-avx2.c, and narrow ones
 *                                    (out <= 12) on w itself too,
 *                                    dense-narrow-avx2.c
 *   cnn_dense_backward_weights_avx2  dw[i0:i1] += x[:, i0:i1]^T dy: rows of
 *                                    w x out over the samples; db += the
 *                                    column sums of dy
 *
 * Column tails (out = 10) are masked loads and stores, never scalar.
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "dense-dot.h"
#include "dense-gemm.h"
#include "dense-narrow-avx2.h"
#include "dense-pack.h"
#include "families.h"

void cnn_dense_forward_avx2(int n, int in, int out, const float *x,
                            const float *w, const float *b, float *y,
                            int relu)
{
    const dense_gemm g = {.M = n, .N = out, .K = in, .a = x, .a_m = in,
                          .a_k = 1, .b = w, .ldb = out, .c = y, .ldc = out,
                          .bias = b, .relu = relu};
    cnn_dense_gemm_avx2(&g);
}

void cnn_dense_pack_backward_data_avx2(int in, int out, const float *w,
                                       float *packed, int o0, int o1)
{
    dense_pack_transposed(in, out, w, packed, o0, o1);
}

/* Pack only for 12 < out < DENSE_DOT_MIN: measured at 1 thread, batch 32
   (and 2 x 16), pack + GEMM against dot products on w: 1568 -> 768 and
   512 -> 128 go faster as dots (the 4.8 MB copy of 1568 -> 768 alone
   costs as much as its GEMM), 512 -> 64 with the copy (a dot of few
   products is mostly its reduction); 768 -> 10 and 784 -> 10 in the
   narrow kernel (w's rows transposed in registers per 8 inputs). */
enum { DENSE_DOT_MIN = 128 };

int cnn_dense_packs_avx2(int in, int out)
{
    (void)in;
    return out > CNN_DENSE_NARROW_AVX2_MAX && out < DENSE_DOT_MIN;
}

void cnn_dense_backward_data_avx2(int n, int in, int out, const float *dy,
                                  const float *wp, const float *mask,
                                  float *dx)
{
    if (out <= CNN_DENSE_NARROW_AVX2_MAX) {
        cnn_dense_backward_data_narrow_avx2(n, in, out, dy, wp, mask, dx);
        return;
    }
    if (!cnn_dense_packs_avx2(in, out)) {
        cnn_dense_backward_data_dot_avx2(n, in, out, dy, wp, mask, dx);
        return;
    }
    const dense_gemm g = {.M = n, .N = in, .K = out, .a = dy, .a_m = out,
                          .a_k = 1, .b = wp, .ldb = in, .c = dx, .ldc = in,
                          .mask = mask};
    cnn_dense_gemm_avx2(&g);
}

static const int32_t lane_bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                      0,  0,  0,  0,  0,  0,  0,  0};

/* db[o] += sum over the n samples of dy[s][o]: one chain per column. */
static void bias_grad(int n, int out, const float *dy, int start_zero,
                      float *db)
{
    for (int o = 0; o < out; o += 8) {
        const int nl = out - o < 8 ? out - o : 8;
        const __m256i mk = _mm256_loadu_si256((const __m256i *)(lane_bits + 8 - nl));
        __m256 acc = _mm256_setzero_ps();
        for (int s = 0; s < n; s++)
            acc = _mm256_add_ps(acc, _mm256_maskload_ps(dy + (ptrdiff_t)s * out + o, mk));
        if (!start_zero)
            acc = _mm256_add_ps(_mm256_maskload_ps(db + o, mk), acc);
        _mm256_maskstore_ps(db + o, mk, acc);
    }
}

void cnn_dense_backward_weights_avx2(int n, int in, int out, const float *x,
                                     const float *dy, int i0, int i1,
                                     int start_zero, float *dw, float *db)
{
    if (i1 > i0) {
        const dense_gemm g = {.M = i1 - i0, .N = out, .K = n, .a = x + i0,
                              .a_m = 1, .a_k = in, .b = dy, .ldb = out,
                              .c = dw + (ptrdiff_t)i0 * out, .ldc = out,
                              .accum = !start_zero};
        cnn_dense_gemm_avx2(&g);
    }
    if (db)
        bias_grad(n, out, dy, start_zero, db);
}
