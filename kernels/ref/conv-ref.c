/*
 * conv-ref.c — the naive reference convolution: forward, backward-data and
 * backward-weights written as the plain sums of their definitions, with
 * double accumulators.  The test oracle for every other kernel set; clarity
 * over speed.
 *
 * Layouts (see kernels.h): x and dx are (n, in_h, in_w, in_c), y and dy are
 * (n, out_h, out_w, out_c), w is [k][k][in_c][out_c].  Output pixel (oy, ox)
 * reads input (oy*stride - pad_top + ky, ox*stride - pad_left + kx); inputs
 * outside the image are zero.
 */
#include <stddef.h>

#include "families.h"

/* Index of element (img, row, col, ch) of an NHWC tensor. */
static size_t nhwc(int img, int row, int col, int ch, int h, int w, int c)
{
    return (((size_t)img * h + row) * w + col) * c + ch;
}

/* Index of w[ky][kx][ci][co]. */
static size_t widx(const cnn_conv_geom *g, int ky, int kx, int ci, int co)
{
    return (((size_t)ky * g->k + kx) * g->in_c + ci) * g->out_c + co;
}

void cnn_conv_forward_ref(const cnn_conv_geom *g, int n, const float *x,
                          const float *w, const float *b, float *y, int relu)
{
    for (int img = 0; img < n; img++)
        for (int oy = 0; oy < g->out_h; oy++)
            for (int ox = 0; ox < g->out_w; ox++)
                for (int co = 0; co < g->out_c; co++) {
                    double sum = b ? b[co] : 0.0;
                    for (int ky = 0; ky < g->k; ky++) {
                        int iy = oy * g->stride - g->pad_top + ky;
                        if (iy < 0 || iy >= g->in_h)
                            continue;
                        for (int kx = 0; kx < g->k; kx++) {
                            int ix = ox * g->stride - g->pad_left + kx;
                            if (ix < 0 || ix >= g->in_w)
                                continue;
                            for (int ci = 0; ci < g->in_c; ci++)
                                sum += (double)x[nhwc(img, iy, ix, ci, g->in_h,
                                                      g->in_w, g->in_c)] *
                                       w[widx(g, ky, kx, ci, co)];
                        }
                    }
                    if (relu && !(sum > 0))
                        sum = 0;
                    y[nhwc(img, oy, ox, co, g->out_h, g->out_w, g->out_c)] =
                        (float)sum;
                }
}

/* dx[iy][ix][ci] = sum of dy[oy][ox][co] * w[ky][kx][ci][co] over every
   (oy, ox, ky, kx) with oy*stride - pad_top + ky == iy and
   ox*stride - pad_left + kx == ix: the transpose of the forward pass, written
   as a gather over the taps that touch each input pixel. */
void cnn_conv_backward_data_ref(const cnn_conv_geom *g, int n,
                                const float *dy, const float *w,
                                const float *mask, float *dx)
{
    const int s = g->stride;
    for (int img = 0; img < n; img++)
        for (int iy = 0; iy < g->in_h; iy++)
            for (int ix = 0; ix < g->in_w; ix++)
                for (int ci = 0; ci < g->in_c; ci++) {
                    double sum = 0;
                    for (int ky = 0; ky < g->k; ky++) {
                        int ty = iy + g->pad_top - ky; /* = oy * s */
                        if (ty < 0 || ty % s != 0 || ty / s >= g->out_h)
                            continue;
                        int oy = ty / s;
                        for (int kx = 0; kx < g->k; kx++) {
                            int tx = ix + g->pad_left - kx; /* = ox * s */
                            if (tx < 0 || tx % s != 0 || tx / s >= g->out_w)
                                continue;
                            int ox = tx / s;
                            for (int co = 0; co < g->out_c; co++)
                                sum += (double)dy[nhwc(img, oy, ox, co,
                                                       g->out_h, g->out_w,
                                                       g->out_c)] *
                                       w[widx(g, ky, kx, ci, co)];
                        }
                    }
                    size_t i = nhwc(img, iy, ix, ci, g->in_h, g->in_w, g->in_c);
                    if (mask && !(mask[i] > 0))
                        sum = 0;
                    dx[i] = (float)sum;
                }
}

void cnn_conv_backward_weights_ref(const cnn_conv_geom *g, int n,
                                   const float *x, const float *dy, float *dw,
                                   float *db)
{
    for (int ky = 0; ky < g->k; ky++)
        for (int kx = 0; kx < g->k; kx++)
            for (int ci = 0; ci < g->in_c; ci++)
                for (int co = 0; co < g->out_c; co++) {
                    double sum = 0;
                    for (int img = 0; img < n; img++)
                        for (int oy = 0; oy < g->out_h; oy++) {
                            int iy = oy * g->stride - g->pad_top + ky;
                            if (iy < 0 || iy >= g->in_h)
                                continue;
                            for (int ox = 0; ox < g->out_w; ox++) {
                                int ix = ox * g->stride - g->pad_left + kx;
                                if (ix < 0 || ix >= g->in_w)
                                    continue;
                                sum += (double)x[nhwc(img, iy, ix, ci, g->in_h,
                                                      g->in_w, g->in_c)] *
                                       dy[nhwc(img, oy, ox, co, g->out_h,
                                               g->out_w, g->out_c)];
                            }
                        }
                    size_t i = widx(g, ky, kx, ci, co);
                    dw[i] = (float)(dw[i] + sum);
                }
    if (!db)
        return;
    for (int co = 0; co < g->out_c; co++) {
        double sum = 0;
        for (int img = 0; img < n; img++)
            for (int oy = 0; oy < g->out_h; oy++)
                for (int ox = 0; ox < g->out_w; ox++)
                    sum += dy[nhwc(img, oy, ox, co, g->out_h, g->out_w,
                                   g->out_c)];
        db[co] = (float)(db[co] + sum);
    }
}
