/*
 * conv1x1-avx2.c — 1x1 stride-1 unpadded convolutions, AVX2+FMA: GEMMs over
 * pixels (contiguous rows of in_c / out_c floats), on the register tiles
 * of tile-avx2.c (see avx2.h).  Forward and backward data run one GEMM per
 * image: the tiles (and so the split of short tiles' reductions over two
 * accumulator sets) never depend on n nor on an image's place in the call
 * (batch invariance).  The dense kernels (dense-avx2.c) reuse them, the n
 * samples as one image of n pixels.
 *
 *   cnn_conv1x1_forward_avx2           y[p] = act(b + x[p] . w), tiles of
 *                                      pixels x out_c vectors
 *   cnn_conv1x1_backward_data_avx2     dx[p] = dy[p] . wT (wT [out_c][in_c]
 *                                      from cnn_conv_pack_backward_data_avx2),
 *                                      tiles of pixels x in_c vectors, masked
 *                                      in the store
 *   cnn_conv1x1_backward_weights_avx2  dw[ci] += sum_p x[p][ci] * dy[p]:
 *                                      tiles of in_c rows x out_c vectors
 *                                      held over L2-sized chunks of pixels;
 *                                      db += sum dy, chunk by chunk
 *   cnn_avx2_gemm_at_b(_chunked)       the backward-weights GEMM itself
 *                                      (also used by conv3x3 and dense)
 */
#include <stddef.h>

#include "avx2.h"

void cnn_conv1x1_forward_avx2(const cnn_conv_geom *g, int n, const float *x,
                              const float *w, const float *b, float *y,
                              int relu)
{
    const int C = g->in_c, M = g->out_c;
    const ptrdiff_t hw = (ptrdiff_t)g->in_h * g->in_w;
    const cnn_avx2_seg seg = {0, 0, C};
    for (int img = 0; img < n; img++) {
        const cnn_avx2_gemm q = {
            .a = x + img * hw * C, .a_p = C, .a_e = 1, .b = w, .b_e = M,
            .seg = &seg, .nseg = 1, .io = y + img * hw * M, .io_p = M,
            .start = b ? CNN_AVX2_FROM_BIAS : CNN_AVX2_FROM_ZERO, .bias = b,
            .relu = relu, .tail = 8,
        };
        cnn_avx2_rows_all(&q, M, hw);
    }
}

void cnn_conv1x1_backward_data_avx2(const cnn_conv_geom *g, int n,
                                    const float *dy, const float *w,
                                    const float *mask, float *dx)
{
    const int C = g->in_c, M = g->out_c;
    const ptrdiff_t hw = (ptrdiff_t)g->in_h * g->in_w;
    const cnn_avx2_seg seg = {0, 0, M};
    for (int img = 0; img < n; img++) {
        const cnn_avx2_gemm q = {
            .a = dy + img * hw * M, .a_p = M, .a_e = 1, .b = w, .b_e = C,
            .seg = &seg, .nseg = 1, .io = dx + img * hw * C, .io_p = C,
            .start = CNN_AVX2_FROM_ZERO,
            .mask = mask ? mask + img * hw * C : NULL, .tail = 8,
        };
        cnn_avx2_rows_all(&q, C, hw);
    }
}

/* dw[ci][co] += sum_{p < npix} x[p][ci] * dy[p][co], in chunks of pixels
   whose x and dy stay in L2 while every tile of dw passes over them; db
   (when not NULL) += sum of dy, chunk by chunk. */
void cnn_avx2_gemm_at_b(ptrdiff_t npix, int C, int M, const float *x,
                        const float *dy, float *dw, float *db)
{
    /* (measured: L2-sized chunks beat L1-sized ones for these strides) */
    ptrdiff_t chunk = CNN_AVX2_L2_BUDGET / ((ptrdiff_t)(C + M) * sizeof(float));
    cnn_avx2_gemm_at_b_chunked(npix, C, M, x, dy, dw, db, chunk < 16 ? 16 : chunk);
}

void cnn_avx2_gemm_at_b_chunked(ptrdiff_t npix, int C, int M, const float *x,
                                const float *dy, float *dw, float *db,
                                ptrdiff_t chunk)
{
    const int nv = (M + 7) / 8, tail = M - 8 * (nv - 1);
    if (chunk < 1)
        chunk = 1;
    const ptrdiff_t nchunks = (npix + chunk - 1) / chunk;
    if (nchunks > 1) /* chunks of about equal size */
        chunk = (npix + nchunks - 1) / nchunks;
    for (ptrdiff_t p0 = 0; p0 < npix; p0 += chunk) {
        const ptrdiff_t np = npix - p0 < chunk ? npix - p0 : chunk;
        const float *xc = x + p0 * C, *dyc = dy + p0 * M;
        for (int v0 = 0; v0 < nv; v0 += 4) {
            const int V = nv - v0 < 4 ? nv - v0 : 4;
            const cnn_avx2_seg seg = {0, 0, np};
            const cnn_avx2_gemm q = {
                .a = xc, .a_p = 1, .a_e = C, .b = dyc + 8 * v0, .b_e = M,
                .seg = &seg, .nseg = 1, .io = dw + 8 * v0, .io_p = M,
                .start = CNN_AVX2_FROM_IO, .tail = v0 + V == nv ? tail : 8,
            };
            /* the C rows of dw in tiles of about equal size */
            cnn_avx2_rows(&q, V, C);
        }
        if (db)
            cnn_avx2_bias_grad(np, M, dyc, db);
    }
}

void cnn_conv1x1_backward_weights_avx2(const cnn_conv_geom *g, int n,
                                       const float *x, const float *dy,
                                       float *dw, float *db)
{
    const ptrdiff_t npix = (ptrdiff_t)n * g->in_h * g->in_w;
    cnn_avx2_gemm_at_b(npix, g->in_c, g->out_c, x, dy, dw, db);
}
