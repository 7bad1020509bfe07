/*
 * conv-portable.c — portable C11 convolution kernels, the "scalar" ISA:
 * plain C written so that gcc and clang vectorise it at -O2 for the baseline
 * target (SSE2 on x86-64, NEON on aarch64), no -march flags needed.
 *
 *   cnn_conv_{forward,backward_data,backward_weights}_scalar
 *       any k, stride and padding
 *   cnn_conv1x1_{forward,backward_data,backward_weights}_scalar
 *       1x1, stride 1, no padding: a small GEMM over the pixels
 *
 * How they vectorise.  Every hot loop is a register tile: a few pixels (or
 * input channels) times a fixed-width block of channels, held in a local
 * accumulator array.  The tile helpers are always inlined with constant tile
 * sizes, and `#pragma GCC unroll` unrolls the fixed-width loops completely,
 * so the accumulators live in vector registers (gcc 12 -O2 only vectorises
 * loops whose trip count is a known multiple of the vector width; a
 * straight-line, unrolled body is what its SLP vectoriser turns into SIMD).
 * Innermost loops have no branches: padding is handled by working out, per
 * output row and per edge pixel, which taps are inside the image.
 *
 *   forward           out-channel blocks of 8 (then 4, then 1) x 4 output
 *                     pixels; input scalars broadcast against contiguous
 *                     weights w[ky][kx][ci][co..co+7].  For one kernel row
 *                     the (kx, ci) pairs are contiguous in both x and w, so
 *                     they run as one loop of k*in_c steps.
 *   backward_data     a gather: each dx pixel sums the dy pixels and taps
 *                     that touch it, so nothing is scattered.  The weights
 *                     for a block of 8 input channels are first copied
 *                     transposed, [ky][kx][co][8], into a fixed-size stack
 *                     buffer (no heap), so dy scalars broadcast against
 *                     contiguous weights just as in the forward pass.  With
 *                     stride s, the dx pixels of one row split into s phases
 *                     (ix mod s); pixels of a phase use the same taps, and s
 *                     apart in dx they are 1 apart in dy, so tiles of 4 of
 *                     them share every load pattern.
 *   backward_weights  per tap (ky, kx): a tile of 4 input channels x 8
 *                     output channels (or 1 x up to 32 when in_c is small)
 *                     accumulates over every pixel of all n images, then is
 *                     added to dw once.
 *
 * No allocation, no threads, no static mutable state.
 */
#include <stddef.h>

#include "kernels.h"
#include "portable.h"

#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* Unroll the next loop completely (its trip count is a small constant once
   the tile helper is inlined). */
#define UNROLL _Pragma("GCC unroll 32")

/* Tile sizes.  Accumulators per tile: PIX * OC_BLOCK / 4 SSE registers. */
enum {
    PIX = 4,       /* output (or dx) pixels per tile */
    OC_BLOCK = 8,  /* channels per vector block */
    IC_BLOCK = 4,  /* input channels per backward-weights tile */
    MAX_TILE = 32, /* largest block width any tile uses */
    /* Floats in the backward-data transposed-weights buffer (32 KB). */
    WT_CAP = 8192,
};

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

/* ceil(a / b) for b > 0 and any a. */
static inline int ceil_div(int a, int b)
{
    return a > 0 ? (a + b - 1) / b : -((-a) / b);
}

/* floor(a / b) for b > 0 and any a. */
static inline int floor_div(int a, int b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Output positions o in [0, out) whose tap `off` lands inside the input:
   0 <= o*s - pad + off < in.  Returns [*lo, *hi), possibly empty. */
static void valid_outputs(int pad, int s, int off, int in, int out, int *lo,
                          int *hi)
{
    int a = imax(0, ceil_div(pad - off, s));
    int b = imin(out, floor_div(in - 1 + pad - off, s) + 1);
    *lo = imin(a, out);
    *hi = imax(b, *lo);
}

/* ------------------------------------------------------------ forward */

/*
 * One forward tile: P output pixels x W output channels.
 * x points at the first input element of pixel 0 for the first kernel row;
 * pixel p's element e of kernel row r is x[r*x_row + p*x_pix + e].
 * w points at the weight of (first row, first tap, ci 0, first channel);
 * element e of row r is w[r*w_row + e*w_el + j].
 */
static ALWAYS_INLINE void fwd_tile(const int P, const int W, int nrows,
                                   int len, const float *restrict x,
                                   ptrdiff_t x_row, ptrdiff_t x_pix,
                                   const float *restrict w, ptrdiff_t w_row,
                                   ptrdiff_t w_el, const float *restrict b,
                                   float *restrict y, ptrdiff_t y_pix,
                                   int relu)
{
    float acc[PIX][MAX_TILE];
    if (b) {
        UNROLL for (int p = 0; p < P; p++)
            UNROLL for (int j = 0; j < W; j++) acc[p][j] = b[j];
    } else {
        UNROLL for (int p = 0; p < P; p++)
            UNROLL for (int j = 0; j < W; j++) acc[p][j] = 0.0f;
    }
    for (int r = 0; r < nrows; r++) {
        const float *restrict xr = x + r * x_row;
        const float *restrict wr = w + r * w_row;
        for (int e = 0; e < len; e++) {
            const float *restrict we = wr + e * w_el;
            UNROLL for (int p = 0; p < P; p++) {
                const float xv = xr[p * x_pix + e];
                UNROLL for (int j = 0; j < W; j++) acc[p][j] += xv * we[j];
            }
        }
    }
    if (relu) {
        /* Not unrolled: the loop vectoriser turns the select into a
           compare and a mask, where straight-line code would branch. */
        for (int p = 0; p < P; p++)
            for (int j = 0; j < W; j++) {
                const float v = acc[p][j];
                y[p * y_pix + j] = v > 0.0f ? v : 0.0f;
            }
    } else {
        UNROLL for (int p = 0; p < P; p++)
            UNROLL for (int j = 0; j < W; j++) y[p * y_pix + j] = acc[p][j];
    }
}

/* P output pixels, all M output channels (w, b, y point at channel 0). */
static ALWAYS_INLINE void fwd_pixels(const int P, int M, int nrows, int len,
                                     const float *x, ptrdiff_t x_row,
                                     ptrdiff_t x_pix, const float *w,
                                     ptrdiff_t w_row, const float *b,
                                     float *y, int relu)
{
    int co = 0;
    for (; co + OC_BLOCK <= M; co += OC_BLOCK)
        fwd_tile(P, OC_BLOCK, nrows, len, x, x_row, x_pix, w + co, w_row, M,
                 b ? b + co : NULL, y + co, M, relu);
    for (; co + 4 <= M; co += 4)
        fwd_tile(P, 4, nrows, len, x, x_row, x_pix, w + co, w_row, M,
                 b ? b + co : NULL, y + co, M, relu);
    for (; co < M; co++)
        fwd_tile(P, 1, nrows, len, x, x_row, x_pix, w + co, w_row, M,
                 b ? b + co : NULL, y + co, M, relu);
}

void cnn_conv_forward_scalar(const cnn_conv_geom *g, int n, const float *x,
                             const float *w, const float *b, float *y,
                             int relu)
{
    const int H = g->in_h, IW = g->in_w, C = g->in_c;
    const int OH = g->out_h, OW = g->out_w, M = g->out_c;
    const int k = g->k, s = g->stride, pl = g->pad_left;
    const ptrdiff_t x_row = (ptrdiff_t)IW * C;
    const ptrdiff_t w_row = (ptrdiff_t)k * C * M;
    const ptrdiff_t x_pix = (ptrdiff_t)s * C;
    /* Output columns whose k taps are all inside the image. */
    int ox_lo, ox_hi;
    valid_outputs(pl, s, 0, IW - k + 1, OW, &ox_lo, &ox_hi);

    for (int img = 0; img < n; img++) {
        const float *xi = x + (ptrdiff_t)img * H * x_row;
        for (int oy = 0; oy < OH; oy++) {
            const int iy0 = oy * s - g->pad_top;
            const int ky0 = imax(0, -iy0), ky1 = imin(k, H - iy0);
            const int nrows = imax(0, ky1 - ky0);
            /* Row ky0 of the input and of the weights, column 0. */
            const float *xr = nrows ? xi + (iy0 + ky0) * x_row : xi;
            const float *wr = nrows ? w + ky0 * w_row : w;
            float *yr = y + ((ptrdiff_t)img * OH + oy) * OW * M;
            int ox = 0;
            for (; ox < OW; ox++) {
                if (ox == ox_lo) {
                    /* The interior: all taps valid, tiles of PIX pixels. */
                    const float *xo = xr + (ptrdiff_t)(ox * s - pl) * C;
                    for (; ox + PIX <= ox_hi; ox += PIX, xo += PIX * x_pix)
                        fwd_pixels(PIX, M, nrows, k * C, xo, x_row, x_pix, wr,
                                   w_row, b, yr + (ptrdiff_t)ox * M, relu);
                    for (; ox < ox_hi; ox++, xo += x_pix)
                        fwd_pixels(1, M, nrows, k * C, xo, x_row, x_pix, wr,
                                   w_row, b, yr + (ptrdiff_t)ox * M, relu);
                    if (ox >= OW)
                        break;
                }
                /* An edge pixel: only taps kx0..kx1-1 are inside. */
                const int ix0 = ox * s - pl;
                const int kx0 = imax(0, -ix0), kx1 = imin(k, IW - ix0);
                const int len = imax(0, kx1 - kx0) * C;
                fwd_pixels(1, M, nrows, len, len ? xr + (ix0 + kx0) * C : xr,
                           x_row, x_pix, len ? wr + kx0 * C * M : wr, w_row,
                           b, yr + (ptrdiff_t)ox * M, relu);
            }
        }
    }
}

void cnn_conv1x1_forward_scalar(const cnn_conv_geom *g, int n, const float *x,
                                const float *w, const float *b, float *y,
                                int relu)
{
    const int C = g->in_c, M = g->out_c;
    const ptrdiff_t npix = (ptrdiff_t)n * g->in_h * g->in_w;
    ptrdiff_t p = 0;
    for (; p + PIX <= npix; p += PIX)
        fwd_pixels(PIX, M, 1, C, x + p * C, 0, C, w, 0, b, y + p * M, relu);
    for (; p < npix; p++)
        fwd_pixels(1, M, 1, C, x + p * C, 0, C, w, 0, b, y + p * M, relu);
}

/* ------------------------------------------------------ backward data */

/*
 * One backward-data tile: P dx pixels x W input channels, summing over
 * ntap_y x ntap_x taps and len output channels.  Pixel p, tap (a, t),
 * channel co reads dy[a*dy_ty + t*dy_tx + p*dy_pix + co] and the transposed
 * weights wt[a*wt_ty + t*wt_tx + co*W + j].  first: start from zero, else
 * add to dx; last: apply the mask (when not NULL) on the store.
 */
static ALWAYS_INLINE void bwd_tile(const int P, const int W, int ntap_y,
                                   int ntap_x, int len,
                                   const float *restrict dy, ptrdiff_t dy_ty,
                                   ptrdiff_t dy_tx, ptrdiff_t dy_pix,
                                   const float *restrict wt, ptrdiff_t wt_ty,
                                   ptrdiff_t wt_tx, float *restrict dx,
                                   ptrdiff_t dx_pix,
                                   const float *restrict mask, int first,
                                   int last)
{
    float acc[PIX][MAX_TILE];
    if (first) {
        UNROLL for (int p = 0; p < P; p++)
            UNROLL for (int j = 0; j < W; j++) acc[p][j] = 0.0f;
    } else {
        UNROLL for (int p = 0; p < P; p++)
            UNROLL for (int j = 0; j < W; j++) acc[p][j] = dx[p * dx_pix + j];
    }
    for (int a = 0; a < ntap_y; a++)
        for (int t = 0; t < ntap_x; t++) {
            const float *restrict d = dy + a * dy_ty + t * dy_tx;
            const float *restrict wp = wt + a * wt_ty + t * wt_tx;
            for (int co = 0; co < len; co++) {
                const float *restrict wc = wp + co * W;
                UNROLL for (int p = 0; p < P; p++) {
                    const float v = d[p * dy_pix + co];
                    UNROLL for (int j = 0; j < W; j++) acc[p][j] += v * wc[j];
                }
            }
        }
    if (last && mask) {
        /* Not unrolled, both operands loaded unconditionally: see the
           ReLU store of fwd_tile. */
        for (int p = 0; p < P; p++)
            for (int j = 0; j < W; j++) {
                const float v = acc[p][j], m = mask[p * dx_pix + j];
                dx[p * dx_pix + j] = m > 0.0f ? v : 0.0f;
            }
    } else {
        UNROLL for (int p = 0; p < P; p++)
            UNROLL for (int j = 0; j < W; j++) dx[p * dx_pix + j] = acc[p][j];
    }
}

/* Copy w[t][cb..cb+W-1][c0..c0+cn-1] for every tap t < taps into
   wt[t][co][j] (co < cn, j < W). */
static ALWAYS_INLINE void pack_transposed(const int W, const float *restrict w,
                                          int taps, int C, int M, int cb,
                                          int c0, int cn, float *restrict wt)
{
    for (int t = 0; t < taps; t++)
        for (int co = 0; co < cn; co++)
            UNROLL for (int j = 0; j < W; j++)
                wt[((ptrdiff_t)t * cn + co) * W + j] =
                    w[((ptrdiff_t)t * C + cb + j) * M + c0 + co];
}

/* Taps t in [0, k) that reach input coordinate i (q = i + pad) from an
   output o = (q - t) / s in [0, out): t = t0, t0 + s, ... (*count of them),
   the first from output *o0, each next one from the output before it. */
static void taps_reaching(int q, int s, int k, int out, int *t0, int *count,
                          int *o0)
{
    int t_min = imax(0, q - s * out + 1), t_max = imin(k - 1, q);
    int t = t_min + (q - t_min) % s;
    *t0 = t;
    *count = t <= t_max ? (t_max - t) / s + 1 : 0;
    *o0 = (q - t) / s;
}

/*
 * dx[..][cb..cb+W-1] of every image, summing output channels c0..c0+cn-1
 * with the weights packed in wt; first/last as in bwd_tile.
 */
static ALWAYS_INLINE void bwd_data_pass(const int W, const cnn_conv_geom *g,
                                        int n, const float *dy,
                                        const float *wt, const float *mask,
                                        float *dx, int cb, int c0, int cn,
                                        int first, int last)
{
    const int H = g->in_h, IW = g->in_w, C = g->in_c;
    const int OH = g->out_h, OW = g->out_w, M = g->out_c;
    const int k = g->k, s = g->stride, pl = g->pad_left;
    const ptrdiff_t dy_ty = -(ptrdiff_t)OW * M, dy_tx = -(ptrdiff_t)M;
    const ptrdiff_t wt_ty = (ptrdiff_t)s * k * cn * W;
    const ptrdiff_t wt_tx = (ptrdiff_t)s * cn * W;
    const ptrdiff_t dx_pix = (ptrdiff_t)s * C;

    for (int img = 0; img < n; img++)
        for (int iy = 0; iy < H; iy++) {
            int ty0, nty, oy0;
            taps_reaching(iy + g->pad_top, s, k, OH, &ty0, &nty, &oy0);
            /* dy row oy0 at channel c0, weights row ty0. */
            const float *dyr =
                nty ? dy + ((ptrdiff_t)img * OH + oy0) * OW * M + c0 : dy;
            const float *wtr = nty ? wt + (ptrdiff_t)ty0 * k * cn * W : wt;
            const ptrdiff_t row = ((ptrdiff_t)img * H + iy) * IW;
            for (int r = 0; r < s && r < IW; r++) {
                /* Phase r: dx columns ix = r + s*i, i < count. */
                const int count = (IW - 1 - r) / s + 1;
                /* Interior: k-1 <= ix + pl <= s*OW - 1, all taps valid. */
                int i_lo = imin(count, imax(0, ceil_div(k - 1 - pl - r, s)));
                int lim = imin(IW - 1, s * OW - 1 - pl);
                int i_hi = lim >= r ? imin(count, (lim - r) / s + 1) : 0;
                i_hi = imax(i_hi, i_lo);
                const int tx0 = (r + pl) % s;
                const int ntx = tx0 < k ? (k - 1 - tx0) / s + 1 : 0;
                for (int i = 0; i < count; i++) {
                    int ix = r + s * i;
                    if (i == i_lo && nty && ntx) {
                        for (; i + PIX <= i_hi; i += PIX, ix += PIX * s) {
                            const int ox0 = (ix + pl - tx0) / s;
                            const ptrdiff_t at = (row + ix) * C + cb;
                            bwd_tile(PIX, W, nty, ntx, cn,
                                     dyr + (ptrdiff_t)ox0 * M, dy_ty, dy_tx,
                                     M, wtr + (ptrdiff_t)tx0 * cn * W, wt_ty,
                                     wt_tx, dx + at, dx_pix,
                                     mask ? mask + at : NULL, first, last);
                        }
                        if (i >= count)
                            break;
                    }
                    /* One pixel with its own taps. */
                    int tx, ntxp, ox0;
                    taps_reaching(ix + pl, s, k, OW, &tx, &ntxp, &ox0);
                    const int any = nty && ntxp;
                    const ptrdiff_t at = (row + ix) * C + cb;
                    bwd_tile(1, W, nty, ntxp, cn,
                             any ? dyr + (ptrdiff_t)ox0 * M : dy, dy_ty,
                             dy_tx, M,
                             any ? wtr + (ptrdiff_t)tx * cn * W : wt, wt_ty,
                             wt_tx, dx + at, dx_pix, mask ? mask + at : NULL,
                             first, last);
                }
            }
        }
}

/* Largest output-channel chunk whose transposed weights fit the buffer. */
static int chunk_channels(int taps, int W, int M)
{
    return imin(M, WT_CAP / (taps * W));
}

/* The input-channel block [cb, cb+W) of dx, all output channels. */
static ALWAYS_INLINE void bwd_data_block(const int W, const cnn_conv_geom *g,
                                         int n, const float *dy,
                                         const float *w, const float *mask,
                                         float *dx, int cb, float *wt)
{
    const int taps = g->k * g->k, M = g->out_c;
    const int chunk = chunk_channels(taps, W, M);
    for (int c0 = 0; c0 < M; c0 += chunk) {
        const int cn = imin(chunk, M - c0);
        pack_transposed(W, w, taps, g->in_c, M, cb, c0, cn, wt);
        bwd_data_pass(W, g, n, dy, wt, mask, dx, cb, c0, cn, c0 == 0,
                      c0 + cn == M);
    }
}

/* Fallback for kernels too large for the buffer (k*k > WT_CAP): one dx
   element at a time, straight from w. */
static void bwd_data_direct(const cnn_conv_geom *g, int n, const float *dy,
                            const float *w, const float *mask, float *dx)
{
    const int H = g->in_h, IW = g->in_w, C = g->in_c;
    const int OH = g->out_h, OW = g->out_w, M = g->out_c;
    const int k = g->k, s = g->stride;
    for (int img = 0; img < n; img++)
        for (int iy = 0; iy < H; iy++) {
            int ty0, nty, oy0;
            taps_reaching(iy + g->pad_top, s, k, OH, &ty0, &nty, &oy0);
            for (int ix = 0; ix < IW; ix++) {
                int tx0, ntx, ox0;
                taps_reaching(ix + g->pad_left, s, k, OW, &tx0, &ntx, &ox0);
                for (int ci = 0; ci < C; ci++) {
                    float sum = 0.0f;
                    for (int a = 0; a < nty; a++)
                        for (int t = 0; t < ntx; t++) {
                            const float *d =
                                dy + (((ptrdiff_t)img * OH + oy0 - a) * OW +
                                      ox0 - t) * M;
                            const float *wc =
                                w + (((ptrdiff_t)(ty0 + s * a) * k + tx0 +
                                      s * t) * C + ci) * M;
                            for (int co = 0; co < M; co++)
                                sum += d[co] * wc[co];
                        }
                    const ptrdiff_t at = (((ptrdiff_t)img * H + iy) * IW + ix) *
                                         C + ci;
                    dx[at] = mask && !(mask[at] > 0.0f) ? 0.0f : sum;
                }
            }
        }
}

void cnn_conv_backward_data_scalar(const cnn_conv_geom *g, int n,
                                   const float *dy, const float *w,
                                   const float *mask, float *dx)
{
    const int taps = g->k * g->k, C = g->in_c;
    float wt[WT_CAP];
    if (taps > WT_CAP) {
        bwd_data_direct(g, n, dy, w, mask, dx);
        return;
    }
    int cb = 0;
    if (taps * OC_BLOCK <= WT_CAP)
        for (; cb + OC_BLOCK <= C; cb += OC_BLOCK)
            bwd_data_block(OC_BLOCK, g, n, dy, w, mask, dx, cb, wt);
    if (taps * 4 <= WT_CAP)
        for (; cb + 4 <= C; cb += 4)
            bwd_data_block(4, g, n, dy, w, mask, dx, cb, wt);
    for (; cb < C; cb++)
        bwd_data_block(1, g, n, dy, w, mask, dx, cb, wt);
}

/* 1x1: dx pixel p, channels [cb, cb+W) = dy pixel p times packed weights. */
static ALWAYS_INLINE void bwd1x1_block(const int W, ptrdiff_t npix, int C,
                                       int M, const float *dy, const float *w,
                                       const float *mask, float *dx, int cb,
                                       float *wt)
{
    const int chunk = chunk_channels(1, W, M);
    for (int c0 = 0; c0 < M; c0 += chunk) {
        const int cn = imin(chunk, M - c0);
        const int first = c0 == 0, last = c0 + cn == M;
        pack_transposed(W, w, 1, C, M, cb, c0, cn, wt);
        ptrdiff_t p = 0;
        for (; p + PIX <= npix; p += PIX)
            bwd_tile(PIX, W, 1, 1, cn, dy + p * M + c0, 0, 0, M, wt, 0, 0,
                     dx + p * C + cb, C, mask ? mask + p * C + cb : NULL,
                     first, last);
        for (; p < npix; p++)
            bwd_tile(1, W, 1, 1, cn, dy + p * M + c0, 0, 0, M, wt, 0, 0,
                     dx + p * C + cb, C, mask ? mask + p * C + cb : NULL,
                     first, last);
    }
}

void cnn_conv1x1_backward_data_scalar(const cnn_conv_geom *g, int n,
                                      const float *dy, const float *w,
                                      const float *mask, float *dx)
{
    const int C = g->in_c, M = g->out_c;
    const ptrdiff_t npix = (ptrdiff_t)n * g->in_h * g->in_w;
    float wt[WT_CAP];
    int cb = 0;
    for (; cb + OC_BLOCK <= C; cb += OC_BLOCK)
        bwd1x1_block(OC_BLOCK, npix, C, M, dy, w, mask, dx, cb, wt);
    for (; cb + 4 <= C; cb += 4)
        bwd1x1_block(4, npix, C, M, dy, w, mask, dx, cb, wt);
    for (; cb < C; cb++)
        bwd1x1_block(1, npix, C, M, dy, w, mask, dx, cb, wt);
}

/* --------------------------------------------------- backward weights */

/*
 * One backward-weights tile: Q input channels x W output channels of one
 * tap, summed over n images x nrows rows x ncols columns of output pixels.
 * Pixel (img, r, c) reads x[img*x_img + r*x_row + c*x_col + q] and
 * dy[img*dy_img + r*dy_row + c*dy_col + j]; the sums are added to
 * dw[q*M + j].
 */
static ALWAYS_INLINE void bww_tile(const int Q, const int W, int n, int nrows,
                                   ptrdiff_t ncols, const float *restrict x,
                                   ptrdiff_t x_img, ptrdiff_t x_row,
                                   ptrdiff_t x_col, const float *restrict dy,
                                   ptrdiff_t dy_img, ptrdiff_t dy_row,
                                   ptrdiff_t dy_col, float *restrict dw, int M)
{
    float acc[IC_BLOCK][MAX_TILE];
    UNROLL for (int q = 0; q < Q; q++)
        UNROLL for (int j = 0; j < W; j++) acc[q][j] = 0.0f;
    for (int img = 0; img < n; img++)
        for (int r = 0; r < nrows; r++) {
            const float *restrict xr = x + img * x_img + r * x_row;
            const float *restrict dr = dy + img * dy_img + r * dy_row;
            for (ptrdiff_t c = 0; c < ncols; c++) {
                const float *restrict xc = xr + c * x_col;
                const float *restrict dc = dr + c * dy_col;
                UNROLL for (int q = 0; q < Q; q++) {
                    const float xv = xc[q];
                    UNROLL for (int j = 0; j < W; j++) acc[q][j] += xv * dc[j];
                }
            }
        }
    UNROLL for (int q = 0; q < Q; q++)
        UNROLL for (int j = 0; j < W; j++) dw[q * M + j] += acc[q][j];
}

/* All (ci, co) of one tap: x, dy point at the first pixel, channel 0;
   dw at the tap's [0][0]. */
static void bww_tap(int C, int M, int n, int nrows, ptrdiff_t ncols,
                    const float *x, ptrdiff_t x_img, ptrdiff_t x_row,
                    ptrdiff_t x_col, const float *dy, ptrdiff_t dy_img,
                    ptrdiff_t dy_row, ptrdiff_t dy_col, float *dw)
{
#define BWW(Q, W)                                                            \
    bww_tile(Q, W, n, nrows, ncols, x + ci, x_img, x_row, x_col, dy + co,   \
             dy_img, dy_row, dy_col, dw + (ptrdiff_t)ci * M + co, M)
    int ci = 0;
    for (; ci + IC_BLOCK <= C; ci += IC_BLOCK) {
        int co = 0;
        for (; co + OC_BLOCK <= M; co += OC_BLOCK)
            BWW(IC_BLOCK, OC_BLOCK);
        for (; co + 4 <= M; co += 4)
            BWW(IC_BLOCK, 4);
        for (; co < M; co++)
            BWW(IC_BLOCK, 1);
    }
    /* Leftover input channels one at a time, with wider channel blocks so
       that a tile still has several independent accumulators. */
    for (; ci < C; ci++) {
        int co = 0;
        for (; co + 32 <= M; co += 32)
            BWW(1, 32);
        for (; co + 16 <= M; co += 16)
            BWW(1, 16);
        for (; co + 8 <= M; co += 8)
            BWW(1, 8);
        for (; co + 4 <= M; co += 4)
            BWW(1, 4);
        for (; co < M; co++)
            BWW(1, 1);
    }
#undef BWW
}

/* db[co] += sum of dy over npix pixels. */
static ALWAYS_INLINE void bias_block(const int W, ptrdiff_t npix, int M,
                                     const float *restrict dy,
                                     float *restrict db)
{
    float acc[MAX_TILE];
    UNROLL for (int j = 0; j < W; j++) acc[j] = 0.0f;
    for (ptrdiff_t p = 0; p < npix; p++)
        UNROLL for (int j = 0; j < W; j++) acc[j] += dy[p * M + j];
    UNROLL for (int j = 0; j < W; j++) db[j] += acc[j];
}

static void bias_grad(ptrdiff_t npix, int M, const float *dy, float *db)
{
    int co = 0;
    for (; co + 16 <= M; co += 16)
        bias_block(16, npix, M, dy + co, db + co);
    for (; co + 4 <= M; co += 4)
        bias_block(4, npix, M, dy + co, db + co);
    for (; co < M; co++)
        bias_block(1, npix, M, dy + co, db + co);
}

void cnn_conv_backward_weights_scalar(const cnn_conv_geom *g, int n,
                                      const float *x, const float *dy,
                                      float *dw, float *db)
{
    const int H = g->in_h, IW = g->in_w, C = g->in_c;
    const int OH = g->out_h, OW = g->out_w, M = g->out_c;
    const int k = g->k, s = g->stride;
    const ptrdiff_t x_img = (ptrdiff_t)H * IW * C;
    const ptrdiff_t dy_img = (ptrdiff_t)OH * OW * M;
    for (int ky = 0; ky < k; ky++) {
        int oy_lo, oy_hi;
        valid_outputs(g->pad_top, s, ky, H, OH, &oy_lo, &oy_hi);
        if (oy_lo == oy_hi)
            continue;
        for (int kx = 0; kx < k; kx++) {
            int ox_lo, ox_hi;
            valid_outputs(g->pad_left, s, kx, IW, OW, &ox_lo, &ox_hi);
            if (ox_lo == ox_hi)
                continue;
            const int iy = oy_lo * s - g->pad_top + ky;
            const int ix = ox_lo * s - g->pad_left + kx;
            bww_tap(C, M, n, oy_hi - oy_lo, ox_hi - ox_lo,
                    x + ((ptrdiff_t)iy * IW + ix) * C, x_img,
                    (ptrdiff_t)s * IW * C, (ptrdiff_t)s * C,
                    dy + ((ptrdiff_t)oy_lo * OW + ox_lo) * M, dy_img,
                    (ptrdiff_t)OW * M, M,
                    dw + ((ptrdiff_t)ky * k + kx) * C * M);
        }
    }
    if (db)
        bias_grad((ptrdiff_t)n * OH * OW, M, dy, db);
}

void cnn_conv1x1_backward_weights_scalar(const cnn_conv_geom *g, int n,
                                         const float *x, const float *dy,
                                         float *dw, float *db)
{
    const ptrdiff_t npix = (ptrdiff_t)n * g->in_h * g->in_w;
    bww_tap(g->in_c, g->out_c, 1, 1, npix, x, 0, 0, g->in_c, dy, 0, 0,
            g->out_c, dw);
    if (db)
        bias_grad(npix, g->out_c, dy, db);
}
