/*
 * conv1x1-neon.c — NEON 1x1 convolution, stride 1, no padding: each pass is
 * one GEMM over the n * h * w pixels (gemm-neon.c).
 *
 *   forward           y[p][:] = act(b + x[p][:] . w), 5-pixel x 16-channel
 *                     tiles (20 accumulators), in_c reduced 4 at a time by
 *                     lane-indexed FMA; bias and ReLU fused into the store
 *   backward_data     dx[p][:] = mask(dy[p][:] . wt) with wt the weights
 *                     packed [out_c][in_c] (cnn_conv_pack_transposed_neon),
 *                     so it is the same tile vectorised over in_c
 *   backward_weights  dw[ci][:] += sum_p x[p][ci] dy[p][:] held in an
 *                     8 x 12 register tile over all pixels of all images,
 *                     the bias gradient fused into the first row tile
 *
 * Single-threaded, no heap, no static mutable state.
 */
#include <stddef.h>

#include "kernels.h"
#include "neon.h"

void cnn_conv1x1_forward_neon(const cnn_conv_geom *g, int n, const float *x,
                              const float *w, const float *b, float *y,
                              int relu)
{
    const int C = g->in_c, M = g->out_c;
    const ptrdiff_t npix = (ptrdiff_t)n * g->in_h * g->in_w;
    const neon_gemm_a a = {
        .a = x, .a_p = C, .a_r = 0, .a_t = 0,
        .b = w, .b_e = M, .b_r = 0, .b_t = 0,
        .nr = 1, .nt = 1, .len = C,
        .o = y, .o_p = M, .bias = b, .mask = NULL, .relu = relu,
    };
    cnn_neon_gemm_a(&a, npix, M);
}

void cnn_conv1x1_backward_data_neon(const cnn_conv_geom *g, int n,
                                    const float *dy, const float *wt,
                                    const float *mask, float *dx)
{
    const int C = g->in_c, M = g->out_c;
    const ptrdiff_t npix = (ptrdiff_t)n * g->in_h * g->in_w;
    const neon_gemm_a a = {
        .a = dy, .a_p = M, .a_r = 0, .a_t = 0,
        .b = wt, .b_e = C, .b_r = 0, .b_t = 0,
        .nr = 1, .nt = 1, .len = M,
        .o = dx, .o_p = C, .bias = NULL, .mask = mask, .relu = 0,
    };
    cnn_neon_gemm_a(&a, npix, C);
}

void cnn_conv1x1_backward_weights_neon(const cnn_conv_geom *g, int n,
                                       const float *x, const float *dy,
                                       float *dw, float *db)
{
    const int C = g->in_c, M = g->out_c;
    const int npix = n * g->in_h * g->in_w;
    const neon_gemm_b t = {
        .a = x, .a_i = 0, .a_r = 0, .a_c = C,
        .b = dy, .b_i = 0, .b_r = 0, .b_c = M,
        .ni = 1, .nr = 1, .nc = npix,
        .o = dw, .o_p = M, .db = db,
    };
    cnn_neon_gemm_b(&t, C, M);
}
