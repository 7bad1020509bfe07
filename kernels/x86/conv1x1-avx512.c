/*
 * conv1x1-avx512.c — 1x1 convolution, stride 1, no padding, AVX-512: a
 * GEMM over the h*w pixels of each image, done by the register tiles of gemm-avx512.c.
 *
 *   cnn_conv1x1_forward_avx512             y[p] = act(x[p] . w + b)
 *   cnn_conv1x1_pack_backward_data_avx512  w [in_c][out_c] -> [out_c][in_c]
 *   cnn_conv1x1_backward_data_avx512       dx[p] = dy[p] . w^T, then mask
 *   cnn_conv1x1_backward_weights_avx512    dw += x^T dy, db += sum dy
 *
 * Forward and backward-data tile pixels x channel vectors (vectorised over
 * out_c, resp. in_c with the transposed weights), one GEMM per image: the
 * tiles never cross an image, so an image's bits do not depend on n nor
 * on its place in the call (batch invariance); backward-weights tiles
 * input channels x out_c vectors, held in registers over every pixel of
 * the n images, then added to dw.
 */
#include <stddef.h>

#include "avx512.h"

void cnn_conv1x1_forward_avx512(const cnn_conv_geom *g, int n, const float *x,
                                const float *w, const float *b, float *y,
                                int relu)
{
    const int C = g->in_c, M = g->out_c;
    const ptrdiff_t hw = (ptrdiff_t)g->in_h * g->in_w;
    for (int img = 0; img < n; img++) {
        const avx512_seg seg = {.a = x + img * hw * C, .b = w, .len = C};
        const avx512_gemm t = {.seg = &seg, .nseg = 1, .a_p = C, .a_e = 1,
                               .ldb = M, .out = y + img * hw * M, .out_p = M,
                               .bias = b, .mask = NULL, .accum = 0,
                               .relu = relu};
        cnn_avx512_gemm(hw, M, &t);
    }
}

void cnn_conv1x1_pack_backward_data_avx512(const cnn_conv_geom *g,
                                           const float *w, float *packed)
{
    const int C = g->in_c, M = g->out_c;
    for (int co = 0; co < M; co++)
        for (int ci = 0; ci < C; ci++)
            packed[(ptrdiff_t)co * C + ci] = w[(ptrdiff_t)ci * M + co];
}

void cnn_conv1x1_backward_data_avx512(const cnn_conv_geom *g, int n,
                                      const float *dy, const float *wt,
                                      const float *mask, float *dx)
{
    const int C = g->in_c, M = g->out_c;
    const ptrdiff_t hw = (ptrdiff_t)g->in_h * g->in_w;
    for (int img = 0; img < n; img++) {
        const avx512_seg seg = {.a = dy + img * hw * M, .b = wt, .len = M};
        const avx512_gemm t = {.seg = &seg, .nseg = 1, .a_p = M, .a_e = 1,
                               .ldb = C, .out = dx + img * hw * C, .out_p = C,
                               .bias = NULL,
                               .mask = mask ? mask + img * hw * C : NULL,
                               .accum = 0, .relu = 0};
        cnn_avx512_gemm(hw, C, &t);
    }
}

void cnn_conv1x1_backward_weights_avx512(const cnn_conv_geom *g, int n,
                                         const float *x, const float *dy,
                                         float *dw, float *db)
{
    const int C = g->in_c, M = g->out_c;
    const ptrdiff_t npix = (ptrdiff_t)n * g->in_h * g->in_w;
    const avx512_seg seg = {.a = x, .b = dy, .len = npix};
    const avx512_gemm t = {.seg = &seg, .nseg = 1, .a_p = 1, .a_e = C,
                           .ldb = M, .out = dw, .out_p = M, .bias = NULL,
                           .mask = NULL, .accum = 1, .relu = 0};
    cnn_avx512_gemm(C, M, &t);
    if (db)
        cnn_avx512_bias_grad(npix, M, dy, db);
}
