/*
 * pool-ref.c — reference pooling kernels, the test oracle: naive loops,
 * one output element at a time, NHWC.
 *
 *   maxpool  y = the window's maximum (K x K window, stride S, 'valid');
 *            backward data sends dy to the window's first maximum in
 *            row-major order, found again from x (no stored argmax);
 *   avgpool  y = (sum of the window in row-major order) / (K*K); backward
 *            data adds dy / (K*K) to each window element;
 *   gap      y[c] = (sum of the h*w pixels in order) / (h*w); backward
 *            data gives each pixel dy[c] / (h*w).
 *
 * Backward data overwrites dx: zero, then the windows' contributions added
 * in output-pixel order (overlapping windows accumulate), then, when mask
 * is not NULL, dx[i] = mask[i] > 0 ? dx[i] : 0.  Pool geometries use
 * cnn_conv_geom with out_c == in_c and no padding.
 */
#include <string.h>

#include "families.h"

/* Offset of pixel (y, x), channel c of sample s in an NHWC tensor. */
static size_t at(int s, int h, int w, int c, int y, int x, int ch)
{
    return (((size_t)s * h + y) * w + x) * c + ch;
}

static void apply_mask(size_t count, const float *mask, float *dx)
{
    if (mask)
        for (size_t i = 0; i < count; i++)
            dx[i] = mask[i] > 0 ? dx[i] : 0.0f;
}

/* Offset in x of the first maximum of the window of output (oy, ox). */
static size_t first_max(const cnn_conv_geom *g, int s, int oy, int ox, int c,
                        const float *x)
{
    size_t best = at(s, g->in_h, g->in_w, g->in_c, oy * g->stride, ox * g->stride, c);
    for (int ky = 0; ky < g->k; ky++)
        for (int kx = 0; kx < g->k; kx++) {
            size_t i = at(s, g->in_h, g->in_w, g->in_c, oy * g->stride + ky,
                          ox * g->stride + kx, c);
            if (x[i] > x[best])
                best = i;
        }
    return best;
}

void cnn_maxpool_forward_ref(const cnn_conv_geom *g, int n, const float *x, float *y)
{
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < g->out_h; oy++)
            for (int ox = 0; ox < g->out_w; ox++)
                for (int c = 0; c < g->in_c; c++)
                    y[at(s, g->out_h, g->out_w, g->out_c, oy, ox, c)] =
                        x[first_max(g, s, oy, ox, c, x)];
}

void cnn_maxpool_backward_data_ref(const cnn_conv_geom *g, int n, const float *x,
                                   const float *y, const float *dy, const float *mask,
                                   float *dx)
{
    (void)y; /* the maxima are found again from x */
    size_t count = (size_t)n * g->in_h * g->in_w * g->in_c;
    memset(dx, 0, count * sizeof *dx);
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < g->out_h; oy++)
            for (int ox = 0; ox < g->out_w; ox++)
                for (int c = 0; c < g->in_c; c++)
                    dx[first_max(g, s, oy, ox, c, x)] +=
                        dy[at(s, g->out_h, g->out_w, g->out_c, oy, ox, c)];
    apply_mask(count, mask, dx);
}

void cnn_avgpool_forward_ref(const cnn_conv_geom *g, int n, const float *x, float *y)
{
    const float area = (float)(g->k * g->k);
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < g->out_h; oy++)
            for (int ox = 0; ox < g->out_w; ox++)
                for (int c = 0; c < g->in_c; c++) {
                    float sum = 0.0f;
                    for (int ky = 0; ky < g->k; ky++)
                        for (int kx = 0; kx < g->k; kx++)
                            sum += x[at(s, g->in_h, g->in_w, g->in_c, oy * g->stride + ky,
                                        ox * g->stride + kx, c)];
                    y[at(s, g->out_h, g->out_w, g->out_c, oy, ox, c)] = sum / area;
                }
}

void cnn_avgpool_backward_data_ref(const cnn_conv_geom *g, int n, const float *dy,
                                   const float *mask, float *dx)
{
    const float area = (float)(g->k * g->k);
    size_t count = (size_t)n * g->in_h * g->in_w * g->in_c;
    memset(dx, 0, count * sizeof *dx);
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < g->out_h; oy++)
            for (int ox = 0; ox < g->out_w; ox++)
                for (int c = 0; c < g->in_c; c++) {
                    float share = dy[at(s, g->out_h, g->out_w, g->out_c, oy, ox, c)] / area;
                    for (int ky = 0; ky < g->k; ky++)
                        for (int kx = 0; kx < g->k; kx++)
                            dx[at(s, g->in_h, g->in_w, g->in_c, oy * g->stride + ky,
                                  ox * g->stride + kx, c)] += share;
                }
    apply_mask(count, mask, dx);
}

void cnn_gap_forward_ref(int n, int hw, int c, const float *x, float *y)
{
    for (int s = 0; s < n; s++)
        for (int ch = 0; ch < c; ch++) {
            float sum = 0.0f;
            for (int p = 0; p < hw; p++)
                sum += x[((size_t)s * hw + p) * c + ch];
            y[(size_t)s * c + ch] = sum / (float)hw;
        }
}

void cnn_gap_backward_data_ref(int n, int hw, int c, const float *dy, const float *mask,
                               float *dx)
{
    for (int s = 0; s < n; s++)
        for (int p = 0; p < hw; p++)
            for (int ch = 0; ch < c; ch++)
                dx[((size_t)s * hw + p) * c + ch] = dy[(size_t)s * c + ch] / (float)hw;
    apply_mask((size_t)n * hw * c, mask, dx);
}
