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
 *   maxpool forward   y = x[window 0], then y = v > y ? v : y over the
 *                     window in row-major order;
 *   maxpool backward  the first window pixel equal to the maximum (y,
 *                     the forward output) gets dy;
 *   avgpool           sums from 0 in row-major window order, / (K*K);
 *                     backward gives dy / (K*K) to each window pixel;
 *   gap               sums from 0 in pixel order, / (h*w).
 * Backward data of overlapping or spaced windows (stride != K) zeroes dx,
 * adds the windows in output order (overlaps accumulate) and applies the
 * mask (mask[i] > 0 ? dx[i] : 0) last; tiled windows (stride == K) store
 * each dx pixel once, the mask fused, and zero the pixels no window
 * covers.
 *
 * Channels go in blocks of 16, then 8, then the rest: each block's inline
 * routine is specialised for the literal widths, its running values
 * (maximum, sum) held in registers across the window, and only
 * the remainder runs a loop of run-time length.
 */
#include <string.h>

#include "families.h"
#include "widest.h"

#define SIMD _Pragma("omp simd")
/* The kernels are WIDEST clones behind plain exported names (clang 14
   names an exported target_clones function only by its .ifunc symbol). */
#define INLINE static inline __attribute__((always_inline))

/* Run BLOCK(c0, cw) over channels [0, C): blocks of 16, one of 8, the
   rest; the literal widths let each inlined routine keep its lanes in
   registers. */
#define CHANNEL_BLOCKS(C, BLOCK)                                               \
    do {                                                                       \
        int c0_ = 0;                                                           \
        for (; c0_ + 16 <= (C); c0_ += 16)                                     \
            BLOCK(c0_, 16);                                                    \
        if (c0_ + 8 <= (C)) {                                                  \
            BLOCK(c0_, 8);                                                     \
            c0_ += 8;                                                          \
        }                                                                      \
        if (c0_ < (C))                                                         \
            BLOCK(c0_, (C) - c0_);                                             \
    } while (0)

/* Visit a window's pixels in row-major order, v pointing at each (at the
   block's first channel, from base); no division per pixel. */
#define FOR_WINDOW(base, k, W, C, v)                                           \
    for (int ky_ = 0; ky_ < (k); ky_++)                                        \
        for (int kx_ = 0;                                                      \
             kx_ < (k) && ((v) = (base) + ((size_t)ky_ * (W) + kx_) * (C), 1); kx_++)

INLINE void mask_in_place(size_t count, const float *restrict mask, float *restrict dx)
{
    if (mask) {
        SIMD for (size_t i = 0; i < count; i++) dx[i] = mask[i] > 0 ? dx[i] : 0.0f;
    }
}

/* out[0, cw) = the window's maximum per channel. */
INLINE void max_window(int k, int W, int C, int cw, const float *win, float *restrict out)
{
    float best[16];
    const float *v;
    SIMD for (int j = 0; j < cw; j++) best[j] = win[j];
    FOR_WINDOW(win, k, W, C, v) {
        SIMD for (int j = 0; j < cw; j++) best[j] = v[j] > best[j] ? v[j] : best[j];
    }
    SIMD for (int j = 0; j < cw; j++) out[j] = best[j];
}

/* The first maximum's dy per channel of [0, cw): the first pixel equal
   to the window's maximum m (ym, the forward output) takes dy (the first
   pixel when m is NaN, as the reference's strict > leaves it).  Written
   without conditional stores to the running values (gcc would make them
   masked stores, which stall the next load).
   Overlapping or spaced windows (!tiled): dwin += dy there, +0 elsewhere,
   which leaves those dx bits as they are (dx is never -0 here).
   Tiled windows (stride k: each dx pixel in one window at most): dwin =
   dy + 0 there (the reference's 0 + dy: -0 becomes +0; added before the
   select, as an FP op inside it would keep gcc from vectorising for
   AVX2), 0 elsewhere and where mwin (the mask at the window, when not
   NULL) is <= 0; `self` (the mask is x itself, the fused ReLU's output)
   tests m > 0 instead, the mask's value at the pixel that takes dy (m is
   NaN only when the window's first pixel is, and NaN > 0 is false). */
INLINE void max_route(int k, int W, int C, int cw, const float *win, const float *restrict ym,
                      const float *restrict dy, int tiled, const float *mwin, int self,
                      float *dwin)
{
    float m[16], dz[16];
    int done[16];
    const float *v;
    SIMD for (int j = 0; j < cw; j++) m[j] = ym[j], done[j] = 0, dz[j] = dy[j] + 0.0f;
    FOR_WINDOW(win, k, W, C, v) {
        float *restrict d = dwin + (v - win);
        const float *restrict mm = mwin ? mwin + (v - win) : NULL;
        if (!tiled) {
            SIMD for (int j = 0; j < cw; j++) {
                int hit = ((v[j] == m[j]) | (m[j] != m[j])) & !done[j];
                d[j] += hit ? dy[j] : 0.0f;
                done[j] |= hit;
            }
        } else if (self) {
            SIMD for (int j = 0; j < cw; j++) {
                int hit = ((v[j] == m[j]) | (m[j] != m[j])) & !done[j];
                d[j] = (hit & (m[j] > 0)) ? dz[j] : 0.0f;
                done[j] |= hit;
            }
        } else if (mm) {
            SIMD for (int j = 0; j < cw; j++) {
                int hit = ((v[j] == m[j]) | (m[j] != m[j])) & !done[j];
                d[j] = (hit & (mm[j] > 0)) ? dz[j] : 0.0f;
                done[j] |= hit;
            }
        } else {
            SIMD for (int j = 0; j < cw; j++) {
                int hit = ((v[j] == m[j]) | (m[j] != m[j])) & !done[j];
                d[j] = hit ? dz[j] : 0.0f;
                done[j] |= hit;
            }
        }
    }
}

/* max_route of a tiled 2 x 2 window in one pass over the channels: the
   four pixels' hits found in order with no state kept between them; K0
   .. K3 say whether each pixel keeps its gradient (the mask). */
#define ROUTE_2X2(K0, K1, K2, K3)                                              \
    SIMD for (int j = 0; j < cw; j++) {                                        \
        const float m = ym[j], dz = dy[j] + 0.0f;                              \
        const int h0 = (v0[j] == m) | (m != m);                                \
        const int h1 = !h0 & (v1[j] == m);                                     \
        const int h2 = !(h0 | h1) & (v2[j] == m);                              \
        const int h3 = !(h0 | h1 | h2) & (v3[j] == m);                         \
        d0[j] = (h0 & (K0)) ? dz : 0.0f;                                       \
        d1[j] = (h1 & (K1)) ? dz : 0.0f;                                       \
        d2[j] = (h2 & (K2)) ? dz : 0.0f;                                       \
        d3[j] = (h3 & (K3)) ? dz : 0.0f;                                       \
    }

INLINE void max_route_2x2(int W, int C, int cw, const float *win, const float *restrict ym,
                          const float *restrict dy, const float *mwin, int self, float *dwin)
{
    const size_t r = (size_t)W * C;
    const float *restrict v0 = win, *restrict v1 = win + C;
    const float *restrict v2 = win + r, *restrict v3 = win + r + C;
    float *restrict d0 = dwin, *restrict d1 = dwin + C;
    float *restrict d2 = dwin + r, *restrict d3 = dwin + r + C;
    if (self) {
        ROUTE_2X2(m > 0, m > 0, m > 0, m > 0);
    } else if (mwin) {
        const float *restrict m0 = mwin, *restrict m1 = mwin + C;
        const float *restrict m2 = mwin + r, *restrict m3 = mwin + r + C;
        ROUTE_2X2(m0[j] > 0, m1[j] > 0, m2[j] > 0, m3[j] > 0);
    } else {
        ROUTE_2X2(1, 1, 1, 1);
    }
}

/* out[0, cw) = the window's sum from 0 in row-major order, / area. */
INLINE void avg_window(int k, int W, int C, int cw, const float *win, float *restrict out)
{
    const float area = (float)(k * k);
    float sum[16];
    const float *v;
    SIMD for (int j = 0; j < cw; j++) sum[j] = 0.0f;
    FOR_WINDOW(win, k, W, C, v) {
        SIMD for (int j = 0; j < cw; j++) sum[j] += v[j];
    }
    SIMD for (int j = 0; j < cw; j++) out[j] = sum[j] / area;
}

/* Each window pixel's dy / area, per channel of [0, cw): added to dwin
   (!tiled), or stored (tiled, as max_route), 0 where mwin <= 0. */
INLINE void avg_spread(int k, int W, int C, int cw, const float *restrict dy, int tiled,
                       const float *mwin, float *dwin)
{
    const float area = (float)(k * k);
    float share[16], sz[16];
    float *d;
    SIMD for (int j = 0; j < cw; j++) share[j] = dy[j] / area, sz[j] = share[j] + 0.0f;
    FOR_WINDOW(dwin, k, W, C, d) {
        const float *restrict mm = mwin ? mwin + (d - dwin) : NULL;
        if (!tiled) {
            SIMD for (int j = 0; j < cw; j++) d[j] += share[j];
        } else if (mm) {
            SIMD for (int j = 0; j < cw; j++) d[j] = mm[j] > 0 ? sz[j] : 0.0f;
        } else {
            SIMD for (int j = 0; j < cw; j++) d[j] = sz[j];
        }
    }
}

/* Prepare sample dxs for windows that store (tiled: stride == k, each
   pixel in one window at most): zero the pixels no window covers (the
   last rows and columns) and return 1; else zero it all and return 0
   (the windows add, the mask comes after). */
INLINE int prepare_dx(const cnn_conv_geom *g, float *dxs)
{
    const size_t C = (size_t)g->in_c, W = (size_t)g->in_w;
    if (g->stride != g->k) {
        memset(dxs, 0, (size_t)g->in_h * W * C * sizeof *dxs);
        return 0;
    }
    const int rows = g->out_h * g->k, cols = g->out_w * g->k;
    for (int y = 0; y < rows && cols < g->in_w; y++)
        memset(dxs + ((size_t)y * W + cols) * C, 0, (W - cols) * C * sizeof *dxs);
    memset(dxs + (size_t)rows * W * C, 0, (size_t)(g->in_h - rows) * W * C * sizeof *dxs);
    return 1;
}

/* Offsets of output pixel (oy, ox) of sample s: its window in x (or dx),
   and its place in y (or dy). */
INLINE size_t win_at(const cnn_conv_geom *g, int s, int oy, int ox)
{
    return (((size_t)s * g->in_h + (size_t)oy * g->stride) * g->in_w + (size_t)ox * g->stride) *
           g->in_c;
}
INLINE size_t out_at(const cnn_conv_geom *g, int s, int oy, int ox)
{
    return (((size_t)s * g->out_h + oy) * g->out_w + ox) * g->in_c;
}

/* Forward of max (max != 0) or average pooling of k x k windows (k a
   literal where it is 2); inlined into each kernel with max a constant. */
INLINE void pool_forward_k(const cnn_conv_geom *g, int n, const float *x, float *y, int max,
                           int k)
{
    const int C = g->in_c, W = g->in_w;
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < g->out_h; oy++)
            for (int ox = 0; ox < g->out_w; ox++) {
                const float *win = x + win_at(g, s, oy, ox);
                float *out = y + out_at(g, s, oy, ox);
#define WINDOW_BLOCK(c0, cw)                                                   \
    do {                                                                       \
        if (max)                                                               \
            max_window(k, W, C, cw, win + (c0), out + (c0));                   \
        else                                                                   \
            avg_window(k, W, C, cw, win + (c0), out + (c0));                   \
    } while (0)
                CHANNEL_BLOCKS(C, WINDOW_BLOCK);
#undef WINDOW_BLOCK
            }
}

INLINE void pool_forward(const cnn_conv_geom *g, int n, const float *x, float *y, int max)
{
    if (g->k == 2)
        pool_forward_k(g, n, x, y, max, 2);
    else
        pool_forward_k(g, n, x, y, max, g->k);
}

/* Backward data of max (max != 0: reads x and its forward output y) or
   average pooling of k x k windows (k a literal where it is 2); inlined
   into each kernel with max a constant. */
INLINE void pool_backward_k(const cnn_conv_geom *g, int n, const float *x, const float *y,
                            const float *dy, const float *mask, float *dx, int max, int k)
{
    const int C = g->in_c, W = g->in_w;
    const size_t in_size = (size_t)g->in_h * W * C;
    const int self = max && mask && mask == x;
    for (int s = 0; s < n; s++) {
        const int tiled = prepare_dx(g, dx + s * in_size);
        for (int oy = 0; oy < g->out_h; oy++)
            for (int ox = 0; ox < g->out_w; ox++) {
                const size_t w0 = win_at(g, s, oy, ox);
                const size_t o = out_at(g, s, oy, ox);
                const float *d = dy + o;
                const float *mw = tiled && mask && !self ? mask + w0 : NULL;
#define BACK_BLOCK(c0, cw)                                                     \
    do {                                                                       \
        const float *mb = mw ? mw + (c0) : NULL;                               \
        if (max && k == 2 && tiled)                                            \
            max_route_2x2(W, C, cw, x + w0 + (c0), y + o + (c0), d + (c0), mb,    \
                          self, dx + w0 + (c0));                               \
        else if (max)                                                          \
            max_route(k, W, C, cw, x + w0 + (c0), y + o + (c0), d + (c0), tiled, mb, \
                      tiled && self, dx + w0 + (c0));                          \
        else                                                                   \
            avg_spread(k, W, C, cw, d + (c0), tiled, mb, dx + w0 + (c0));      \
    } while (0)
                CHANNEL_BLOCKS(C, BACK_BLOCK);
#undef BACK_BLOCK
            }
        if (!tiled)
            mask_in_place(in_size, mask ? mask + s * in_size : NULL, dx + s * in_size);
    }
}

INLINE void pool_backward(const cnn_conv_geom *g, int n, const float *x, const float *y,
                          const float *dy, const float *mask, float *dx, int max)
{
    if (g->k == 2)
        pool_backward_k(g, n, x, y, dy, mask, dx, max, 2);
    else
        pool_backward_k(g, n, x, y, dy, mask, dx, max, g->k);
}

WIDEST static void maxpool_forward(const cnn_conv_geom *g, int n, const float *x,
                                   float *y)
{
    pool_forward(g, n, x, y, 1);
}

void cnn_maxpool_forward_scalar(const cnn_conv_geom *g, int n, const float *x,
                                float *y)
{
    maxpool_forward(g, n, x, y);
}

WIDEST static void maxpool_backward_data(const cnn_conv_geom *g, int n, const float *x,
                                         const float *y, const float *dy, const float *mask,
                                         float *dx)
{
    pool_backward(g, n, x, y, dy, mask, dx, 1);
}

void cnn_maxpool_backward_data_scalar(const cnn_conv_geom *g, int n, const float *x,
                                      const float *y, const float *dy, const float *mask,
                                      float *dx)
{
    maxpool_backward_data(g, n, x, y, dy, mask, dx);
}

WIDEST static void avgpool_forward(const cnn_conv_geom *g, int n, const float *x,
                                   float *y)
{
    pool_forward(g, n, x, y, 0);
}

void cnn_avgpool_forward_scalar(const cnn_conv_geom *g, int n, const float *x,
                                float *y)
{
    avgpool_forward(g, n, x, y);
}

WIDEST static void avgpool_backward_data(const cnn_conv_geom *g, int n, const float *dy,
                                         const float *mask, float *dx)
{
    pool_backward(g, n, NULL, NULL, dy, mask, dx, 0);
}

void cnn_avgpool_backward_data_scalar(const cnn_conv_geom *g, int n, const float *dy,
                                      const float *mask, float *dx)
{
    avgpool_backward_data(g, n, dy, mask, dx);
}

/* out[0, cw) = the mean of hw pixels (rows of C floats from x), summed
   from 0 in pixel order. */
INLINE void gap_channels(int hw, int C, int cw, const float *x, float *restrict out)
{
    float sum[16];
    SIMD for (int j = 0; j < cw; j++) sum[j] = 0.0f;
    for (int p = 0; p < hw; p++) {
        const float *restrict v = x + (size_t)p * C;
        SIMD for (int j = 0; j < cw; j++) sum[j] += v[j];
    }
    SIMD for (int j = 0; j < cw; j++) out[j] = sum[j] / (float)hw;
}

WIDEST static void gap_forward(int n, int hw, int c, const float *x, float *y)
{
    for (int s = 0; s < n; s++) {
        const float *xs = x + (size_t)s * hw * c;
        float *out = y + (size_t)s * c;
#define GAP_BLOCK(c0, cw) gap_channels(hw, c, cw, xs + (c0), out + (c0))
        CHANNEL_BLOCKS(c, GAP_BLOCK);
#undef GAP_BLOCK
    }
}

void cnn_gap_forward_scalar(int n, int hw, int c, const float *x, float *y)
{
    gap_forward(n, hw, c, x, y);
}

WIDEST static void gap_backward_data(int n, int hw, int c, const float *dy,
                                     const float *mask, float *dx)
{
    for (int s = 0; s < n; s++)
        for (int p = 0; p < hw; p++) {
            const float *restrict d = dy + (size_t)s * c;
            float *restrict out = dx + ((size_t)s * hw + p) * c;
            SIMD for (int ch = 0; ch < c; ch++) out[ch] = d[ch] / (float)hw;
        }
    mask_in_place((size_t)n * hw * c, mask, dx);
}

void cnn_gap_backward_data_scalar(int n, int hw, int c, const float *dy,
                                  const float *mask, float *dx)
{
    gap_backward_data(n, hw, c, dy, mask, dx);
}
