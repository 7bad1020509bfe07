/*
 * pool-portable.c — portable C11 pooling kernels, the "scalar" ISA: max and
 * average pooling (K x K window, stride S, 'valid') and global average
 * pooling, NHWC.  The channel loop is innermost and contiguous, written
 * for `#pragma omp simd`; each kernel is compiled for AVX-512, AVX2 and
 * the baseline, the widest the CPU has picked at load time (widest.h).
 *
 * Every output element gets the float operations of the reference
 * (kernels/ref/pool-ref.c) in the same order, one lane per channel and no
 * reduction across lanes, so the results equal the reference bit for bit
 * whatever the vector width, and each sample's bits depend only on the
 * geometry and its own data (batch invariant):
 *   maxpool forward   y = x[window 0], then y = v > y ? v : y over the rest
 *                     of the window in row-major order;
 *   maxpool backward  per block of 16 channels, the first maximum's window
 *                     position found again from x, then dx += dy there
 *                     (windows in output order: overlaps accumulate);
 *   avgpool           sums from 0 in row-major window order, / (K*K);
 *                     backward adds dy / (K*K) over the window;
 *   gap               sums from 0 in pixel order, / (h*w).
 * Backward data zeroes dx first and applies the mask (mask[i] > 0 ? dx[i]
 * : 0) last.
 */
#include <string.h>

#include "families.h"
#include "widest.h"

enum { CB = 16 }; /* channels per block in max-pool backward data */

#define SIMD _Pragma("omp simd")

static inline void mask_in_place(size_t count, const float *restrict mask,
                                 float *restrict dx)
{
    if (mask) {
        SIMD for (size_t i = 0; i < count; i++) dx[i] = mask[i] > 0 ? dx[i] : 0.0f;
    }
}

WIDEST void cnn_maxpool_forward_scalar(const cnn_conv_geom *g, int n, const float *x,
                                       float *y)
{
    const int C = g->in_c, W = g->in_w, k = g->k, S = g->stride;
    for (int s = 0; s < n; s++) {
        const float *xs = x + (size_t)s * g->in_h * W * C;
        for (int oy = 0; oy < g->out_h; oy++)
            for (int ox = 0; ox < g->out_w; ox++) {
                const float *win = xs + ((size_t)oy * S * W + (size_t)ox * S) * C;
                float *restrict out = y + (((size_t)s * g->out_h + oy) * g->out_w + ox) * C;
                SIMD for (int c = 0; c < C; c++) out[c] = win[c];
                for (int p = 1; p < k * k; p++) {
                    const float *restrict v = win + ((size_t)(p / k) * W + p % k) * C;
                    SIMD for (int c = 0; c < C; c++) out[c] = v[c] > out[c] ? v[c] : out[c];
                }
            }
    }
}

/* Channels [0, cw) (cw <= CB) of one window: dx += dy at the first
   maximum.  win and dwin point at the window's first pixel of x and dx. */
static inline void max_route(int k, int W, int C, int cw, const float *win,
                             const float *restrict dy, float *dwin)
{
    float best[CB];
    int arg[CB];
    SIMD for (int j = 0; j < cw; j++) best[j] = win[j], arg[j] = 0;
    for (int p = 1; p < k * k; p++) {
        const float *restrict v = win + ((size_t)(p / k) * W + p % k) * C;
        SIMD for (int j = 0; j < cw; j++) {
            int gt = v[j] > best[j];
            best[j] = gt ? v[j] : best[j];
            arg[j] = gt ? p : arg[j];
        }
    }
    for (int p = 0; p < k * k; p++) {
        float *restrict d = dwin + ((size_t)(p / k) * W + p % k) * C;
        SIMD for (int j = 0; j < cw; j++) d[j] = arg[j] == p ? d[j] + dy[j] : d[j];
    }
}

WIDEST void cnn_maxpool_backward_data_scalar(const cnn_conv_geom *g, int n, const float *x,
                                             const float *dy, const float *mask, float *dx)
{
    const int C = g->in_c, W = g->in_w, k = g->k, S = g->stride;
    const size_t in_size = (size_t)g->in_h * W * C;
    for (int s = 0; s < n; s++) {
        float *dxs = dx + s * in_size;
        memset(dxs, 0, in_size * sizeof *dxs);
        for (int oy = 0; oy < g->out_h; oy++)
            for (int ox = 0; ox < g->out_w; ox++) {
                size_t off = s * in_size + ((size_t)oy * S * W + (size_t)ox * S) * C;
                const float *d = dy + (((size_t)s * g->out_h + oy) * g->out_w + ox) * C;
                for (int c0 = 0; c0 < C; c0 += CB)
                    max_route(k, W, C, C - c0 < CB ? C - c0 : CB, x + off + c0, d + c0,
                              dx + off + c0);
            }
        mask_in_place(in_size, mask ? mask + s * in_size : NULL, dxs);
    }
}

WIDEST void cnn_avgpool_forward_scalar(const cnn_conv_geom *g, int n, const float *x,
                                       float *y)
{
    const int C = g->in_c, W = g->in_w, k = g->k, S = g->stride;
    const float area = (float)(k * k);
    for (int s = 0; s < n; s++) {
        const float *xs = x + (size_t)s * g->in_h * W * C;
        for (int oy = 0; oy < g->out_h; oy++)
            for (int ox = 0; ox < g->out_w; ox++) {
                const float *win = xs + ((size_t)oy * S * W + (size_t)ox * S) * C;
                float *restrict out = y + (((size_t)s * g->out_h + oy) * g->out_w + ox) * C;
                SIMD for (int c = 0; c < C; c++) out[c] = 0.0f;
                for (int p = 0; p < k * k; p++) {
                    const float *restrict v = win + ((size_t)(p / k) * W + p % k) * C;
                    SIMD for (int c = 0; c < C; c++) out[c] += v[c];
                }
                SIMD for (int c = 0; c < C; c++) out[c] /= area;
            }
    }
}

WIDEST void cnn_avgpool_backward_data_scalar(const cnn_conv_geom *g, int n, const float *dy,
                                             const float *mask, float *dx)
{
    const int C = g->in_c, W = g->in_w, k = g->k, S = g->stride;
    const size_t in_size = (size_t)g->in_h * W * C;
    const float area = (float)(k * k);
    for (int s = 0; s < n; s++) {
        float *dxs = dx + s * in_size;
        memset(dxs, 0, in_size * sizeof *dxs);
        for (int oy = 0; oy < g->out_h; oy++)
            for (int ox = 0; ox < g->out_w; ox++) {
                float *dwin = dxs + ((size_t)oy * S * W + (size_t)ox * S) * C;
                const float *restrict d = dy + (((size_t)s * g->out_h + oy) * g->out_w + ox) * C;
                for (int p = 0; p < k * k; p++) {
                    float *restrict v = dwin + ((size_t)(p / k) * W + p % k) * C;
                    SIMD for (int c = 0; c < C; c++) v[c] += d[c] / area;
                }
            }
        mask_in_place(in_size, mask ? mask + s * in_size : NULL, dxs);
    }
}

WIDEST void cnn_gap_forward_scalar(int n, int hw, int c, const float *x, float *y)
{
    for (int s = 0; s < n; s++) {
        float *restrict out = y + (size_t)s * c;
        SIMD for (int ch = 0; ch < c; ch++) out[ch] = 0.0f;
        for (int p = 0; p < hw; p++) {
            const float *restrict v = x + ((size_t)s * hw + p) * c;
            SIMD for (int ch = 0; ch < c; ch++) out[ch] += v[ch];
        }
        SIMD for (int ch = 0; ch < c; ch++) out[ch] /= (float)hw;
    }
}

WIDEST void cnn_gap_backward_data_scalar(int n, int hw, int c, const float *dy,
                                         const float *mask, float *dx)
{
    for (int s = 0; s < n; s++)
        for (int p = 0; p < hw; p++) {
            size_t off = ((size_t)s * hw + p) * c;
            const float *restrict d = dy + (size_t)s * c;
            float *restrict out = dx + off;
            SIMD for (int ch = 0; ch < c; ch++) out[ch] = d[ch] / (float)hw;
        }
    mask_in_place((size_t)n * hw * c, mask, dx);
}
