/*
 * dense-avx512.c — dense (fully connected) kernels, AVX-512.  x is
 * (n, in), w [in][out], y and dy (n, out).
 *
 *   cnn_dense_forward_avx512           y[s] = act(x[s] . w + b): register
 *                                      tiles of samples x out vectors
 *   cnn_dense_backward_data_avx512     dx[s][i] = dy[s] . w[i] (then the
 *                                      mask): for n >= 4 a GEMM over
 *                                      chunks of w transposed on the
 *                                      stack, else dot products over out,
 *                                      four samples sharing each w[i]
 *   cnn_dense_backward_weights_avx512  dw += x^T dy, db += sum dy: tiles of
 *                                      inputs x out vectors over the samples
 *
 * The out tail (784 -> 10, 1568 -> 768 ...) is masked, never scalar.
 */
#include <stddef.h>

#include "avx512.h"

void cnn_dense_forward_avx512(int n, int in, int out, const float *x,
                              const float *w, const float *b, float *y,
                              int relu)
{
    const avx512_seg seg = {.a = x, .b = w, .len = in};
    const avx512_gemm t = {.seg = &seg, .nseg = 1, .a_p = in, .a_e = 1,
                           .ldb = out, .out = y, .out_p = out, .bias = b,
                           .mask = NULL, .accum = 0, .relu = relu};
    cnn_avx512_gemm(n, out, &t);
}

/* dx[s][i] for S samples (1..4) from s0, every i. */
static inline __attribute__((always_inline)) void
bwd_samples(const int S, int in, int out, const float *dy, const float *w,
            const float *mask, float *dx)
{
    for (int i = 0; i < in; i++) {
        const float *wi = w + (ptrdiff_t)i * out;
        __m512 acc[4];
        for (int s = 0; s < S; s++)
            acc[s] = _mm512_setzero_ps();
        for (int o = 0; o < out; o += 16) {
            const __mmask16 mk = cnn_avx512_lanes(out - o);
            const __m512 wv = _mm512_maskz_loadu_ps(mk, wi + o);
            for (int s = 0; s < S; s++)
                acc[s] = _mm512_fmadd_ps(
                    _mm512_maskz_loadu_ps(mk, dy + (ptrdiff_t)s * out + o),
                    wv, acc[s]);
        }
        for (int s = 0; s < S; s++) {
            const ptrdiff_t at = (ptrdiff_t)s * in + i;
            const float v = _mm512_reduce_add_ps(acc[s]);
            dx[at] = mask && !(mask[at] > 0.0f) ? 0.0f : v;
        }
    }
}

/* Transposed weights on the stack for the GEMM form of backward-data. */
enum { WT_CAP = 8192, GEMM_MIN_N = 4 };

void cnn_dense_backward_data_avx512(int n, int in, int out, const float *dy,
                                    const float *w, const float *mask,
                                    float *dx)
{
    if (n >= GEMM_MIN_N && out <= WT_CAP / 16) {
        /* dx[:, i0 + j] = dy . wt[:, j] over chunks of inputs whose
           transposed weights wt [out][nb] fit the stack buffer: the copy
           (in*out floats) is paid back over n >= 4 samples. */
        float wt[WT_CAP];
        const int ib = WT_CAP / out / 16 * 16;
        for (int i0 = 0; i0 < in; i0 += ib) {
            const int nb = in - i0 < ib ? in - i0 : ib;
            for (int j = 0; j < nb; j++) {
                const float *wj = w + (ptrdiff_t)(i0 + j) * out;
                for (int o = 0; o < out; o++)
                    wt[(ptrdiff_t)o * nb + j] = wj[o];
            }
            const avx512_seg seg = {.a = dy, .b = wt, .len = out};
            const avx512_gemm t = {
                .seg = &seg, .nseg = 1, .a_p = out, .a_e = 1, .ldb = nb,
                .out = dx + i0, .out_p = in, .bias = NULL,
                .mask = mask ? mask + i0 : NULL, .accum = 0, .relu = 0};
            cnn_avx512_gemm(n, nb, &t);
        }
        return;
    }
    int s0 = 0;
    for (; s0 + 4 <= n; s0 += 4)
        bwd_samples(4, in, out, dy + (ptrdiff_t)s0 * out, w,
                    mask ? mask + (ptrdiff_t)s0 * in : NULL,
                    dx + (ptrdiff_t)s0 * in);
    for (; s0 < n; s0++)
        bwd_samples(1, in, out, dy + (ptrdiff_t)s0 * out, w,
                    mask ? mask + (ptrdiff_t)s0 * in : NULL,
                    dx + (ptrdiff_t)s0 * in);
}

void cnn_dense_backward_weights_avx512(int n, int in, int out,
                                       const float *x, const float *dy,
                                       float *dw, float *db)
{
    const avx512_seg seg = {.a = x, .b = dy, .len = n};
    const avx512_gemm t = {.seg = &seg, .nseg = 1, .a_p = 1, .a_e = in,
                           .ldb = out, .out = dw, .out_p = out, .bias = NULL,
                           .mask = NULL, .accum = 1, .relu = 0};
    cnn_avx512_gemm(in, out, &t);
    if (db)
        cnn_avx512_bias_grad(n, out, dy, db);
}
