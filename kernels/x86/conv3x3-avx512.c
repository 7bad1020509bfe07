/*
 * conv3x3-avx512.c — direct 3x3 convolution, AVX-512, any stride, padding
 * and channel counts:
 *
 *   cnn_conv3x3_forward_avx512             y = act(conv(x, w) + b)
 *   cnn_conv3x3_pack_backward_data_avx512  w -> [ky][kx slot][out_c][in_c]
 *   cnn_conv3x3_backward_data_avx512       dx = conv^T(dy, packed w), mask
 *   cnn_conv3x3_backward_weights_avx512    dw += x (x) dy, db += sum dy
 *
 * All three are register-tile GEMMs (gemm-avx512.c), no im2col copy:
 *
 * forward: a run of output pixels of one row times all output channels;
 *   one reduction segment per kernel row ky inside the image, each
 *   3*in_c contiguous floats of x (the [kx][ci] of a pixel's window) times
 *   3*in_c contiguous rows of w.  Consecutive pixels are s*in_c apart in
 *   x.  Pixels whose window crosses the left/right border get their own
 *   one-pixel tiles with the shortened kx range; rows crossing the top or
 *   bottom just have fewer segments.
 *
 * backward_data: a gather, vectorised over in_c.  dx columns split into s
 *   phases (ix mod s); within a phase every interior pixel sees the same
 *   taps, from consecutive dy pixels.  The packed weights hold each kernel
 *   row's taps grouped by phase in descending kx, so the taps of one kernel
 *   row meet contiguous dy pixels and contiguous packed rows: one segment of
 *   ntaps*out_c per kernel row.  Stride 2 gives the 4 phases 2x2, 2x1, 1x2,
 *   1x1 taps, each writing disjoint pixels; the mask is applied in the
 *   store.
 *
 * backward_weights: for each tap (ky, kx), tiles of input channels x
 *   output-channel vectors held in registers while streaming every output
 *   pixel (of all n images) whose tap is inside the image, then added to
 *   dw once; db by a separate pass over dy.
 */
#include <stddef.h>

#include "avx512.h"

enum { K = 3, SEG_CHUNK = 256 };

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

/* Floor division for any sign of a, b > 0. */
static inline int floordiv(int a, int b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Outputs o in [0, out) whose tap t reaches an input inside [0, in):
   0 <= o*s - pad + t < in.  Returns the range [*lo, *hi) (maybe empty). */
static void tap_range(int t, int s, int pad, int in, int out, int *lo,
                      int *hi)
{
    *lo = imax(0, floordiv(pad - t + s - 1, s));
    *hi = imin(out, floordiv(in - 1 + pad - t, s) + 1);
    if (*hi < *lo)
        *hi = *lo;
}

/* --------------------------------------------------------- forward */

/* Output pixels ox in [ox0, ox0 + count) of row oy of image img, all with
   taps kx in [kx0, kx1) inside the image. */
static void fwd_run(const cnn_conv_geom *g, int img, int oy, int ox0,
                    int count, int kx0, int kx1, const float *x,
                    const float *w, const float *b, float *y, int relu)
{
    const int C = g->in_c, M = g->out_c, s = g->stride;
    avx512_seg seg[K];
    int nseg = 0;
    if (kx1 > kx0)
        for (int ky = 0; ky < K; ky++) {
            const int iy = oy * s - g->pad_top + ky;
            if (iy < 0 || iy >= g->in_h)
                continue;
            const int ix = ox0 * s - g->pad_left + kx0;
            seg[nseg].a =
                x + (((ptrdiff_t)img * g->in_h + iy) * g->in_w + ix) * C;
            seg[nseg].b = w + (ptrdiff_t)(ky * K + kx0) * C * M;
            seg[nseg].len = (ptrdiff_t)(kx1 - kx0) * C;
            nseg++;
        }
    const avx512_gemm t = {
        .seg = seg, .nseg = nseg, .a_p = (ptrdiff_t)s * C, .a_e = 1,
        .ldb = M,
        .out = y + (((ptrdiff_t)img * g->out_h + oy) * g->out_w + ox0) * M,
        .out_p = M, .bias = b, .mask = NULL, .accum = 0, .relu = relu};
    cnn_avx512_gemm(count, M, &t);
}

void cnn_conv3x3_forward_avx512(const cnn_conv_geom *g, int n, const float *x,
                                const float *w, const float *b, float *y,
                                int relu)
{
    const int s = g->stride, pl = g->pad_left, IW = g->in_w, OW = g->out_w;
    /* Interior columns: every kx inside the image. */
    int lo0, hi0, lo2, hi2;
    tap_range(0, s, pl, IW, OW, &lo0, &hi0);
    tap_range(K - 1, s, pl, IW, OW, &lo2, &hi2);
    const int ox_lo = imax(lo0, lo2);
    const int ox_hi = imax(ox_lo, imin(hi0, hi2));
    for (int img = 0; img < n; img++)
        for (int oy = 0; oy < g->out_h; oy++) {
            if (ox_hi > ox_lo)
                fwd_run(g, img, oy, ox_lo, ox_hi - ox_lo, 0, K, x, w, b, y,
                        relu);
            for (int ox = 0; ox < OW; ox++) {
                if (ox == ox_lo && ox_hi > ox_lo) {
                    ox = ox_hi - 1;
                    continue;
                }
                const int ix = ox * s - pl;
                const int kx0 = imax(0, -ix), kx1 = imin(K, IW - ix);
                fwd_run(g, img, oy, ox, 1, kx0, kx1, x, w, b, y, relu);
            }
        }
}

/* --------------------------------------------------- backward data */

/* Taps t in [0, K) that reach input coordinate q (= i + pad) from an
   output o = (q - t) / s in [0, out): t = t0, t0 + s, ... (*count of
   them), the first from output *o0, each next one from the output before
   it. */
static void taps_reaching(int q, int s, int out, int *t0, int *count, int *o0)
{
    const int t_min = imax(0, q - s * out + 1), t_max = imin(K - 1, q);
    const int t = t_min + (q - t_min) % s;
    *t0 = t;
    *count = t <= t_max ? (t_max - t) / s + 1 : 0;
    *o0 = (q - t) / s;
}

/* Slot of tap kx in a packed kernel row: taps grouped by phase kx mod s,
   each group in descending kx. */
static int kx_slot(int kx, int s)
{
    const int rho = kx % s;
    int start = 0;
    for (int r = 0; r < rho && r < K; r++)
        start += (K - 1 - r) / s + 1;
    const int n_rho = (K - 1 - rho) / s + 1;
    return start + n_rho - 1 - (kx - rho) / s;
}

void cnn_conv3x3_pack_backward_data_avx512(const cnn_conv_geom *g,
                                           const float *w, float *packed)
{
    const int C = g->in_c, M = g->out_c;
    for (int ky = 0; ky < K; ky++)
        for (int kx = 0; kx < K; kx++) {
            const float *src = w + (ptrdiff_t)(ky * K + kx) * C * M;
            float *dst =
                packed + (ptrdiff_t)(ky * K + kx_slot(kx, g->stride)) * M * C;
            for (int co = 0; co < M; co++)
                for (int ci = 0; ci < C; ci++)
                    dst[(ptrdiff_t)co * C + ci] = src[(ptrdiff_t)ci * M + co];
        }
}

/* The taps of one kernel axis that reach a dx coordinate (taps_reaching). */
typedef struct taps {
    int t0, count, o0;
} taps;

static taps taps_at(int q, int s, int out)
{
    taps t;
    taps_reaching(q, s, out, &t.t0, &t.count, &t.o0);
    return t;
}

/* count dx pixels of row iy of image img, columns ix, ix + s, ...; kernel
   rows ty.t0, ty.t0 + s, ... (from dy rows ty.o0, ty.o0 - 1, ...) and
   taps tx.t0, tx.t0 + s, ... (from dy columns tx.o0, tx.o0 - 1, ... for
   the first pixel, one more for each next pixel); slot_of[kx]: the packed
   slot of tap kx. */
static void bwd_run(const cnn_conv_geom *g, int img, int iy, int ix,
                    int count, taps ty, taps tx, const int *slot_of,
                    const float *dy, const float *wt, const float *mask,
                    float *dx)
{
    const int C = g->in_c, M = g->out_c, s = g->stride, OW = g->out_w;
    avx512_seg seg[K];
    int nseg = 0;
    if (tx.count > 0) {
        const int slot = slot_of[tx.t0 + s * (tx.count - 1)];
        for (int a = 0; a < ty.count; a++) {
            const int ky = ty.t0 + s * a;
            seg[nseg].a = dy + (((ptrdiff_t)img * g->out_h + ty.o0 - a) * OW +
                                tx.o0 - (tx.count - 1)) * M;
            seg[nseg].b = wt + (ptrdiff_t)(ky * K + slot) * M * C;
            seg[nseg].len = (ptrdiff_t)tx.count * M;
            nseg++;
        }
    }
    const ptrdiff_t at = (((ptrdiff_t)img * g->in_h + iy) * g->in_w + ix) * C;
    const avx512_gemm t = {
        .seg = seg, .nseg = nseg, .a_p = M, .a_e = 1, .ldb = C,
        .out = dx + at, .out_p = (ptrdiff_t)s * C, .bias = NULL,
        .mask = mask ? mask + at : NULL, .accum = 0, .relu = 0};
    cnn_avx512_gemm(count, C, &t);
}

/* Rows and border columns whose taps are worked out once per call (the
   divisions by the stride are not cheap next to a 7-pixel run). */
enum { ROW_CAP = 512, BORDER_CAP = 32 };

void cnn_conv3x3_backward_data_avx512(const cnn_conv_geom *g, int n,
                                      const float *dy, const float *wt,
                                      const float *mask, float *dx)
{
    const int s = g->stride, IW = g->in_w, OW = g->out_w, pl = g->pad_left;
    const int IH = g->in_h, OH = g->out_h, pt = g->pad_top;
    int slot_of[K];
    for (int kx = 0; kx < K; kx++)
        slot_of[kx] = kx_slot(kx, s);
    taps row_taps[ROW_CAP];
    const int rows_cached = IH <= ROW_CAP;
    if (rows_cached)
        for (int iy = 0; iy < IH; iy++)
            row_taps[iy] = taps_at(iy + pt, s, OH);
    for (int r = 0; r < s && r < IW; r++) {
        /* Phase r: dx columns ix = r + s*i, i < count.  Interior: the
           pixels that get every tap of the phase, [i_lo, i_hi). */
        const int count = (IW - 1 - r) / s + 1;
        const int tx_full = (r + pl) % s;
        const int ntx_full = tx_full < K ? (K - 1 - tx_full) / s + 1 : 0;
        int i_lo = -1, i_hi = -1;
        for (int i = 0; i < count; i++) {
            const taps tx = taps_at(r + s * i + pl, s, OW);
            if (tx.count == ntx_full && tx.count > 0) {
                if (i_lo < 0)
                    i_lo = i;
                i_hi = i + 1;
            }
        }
        if (i_lo < 0)
            i_lo = i_hi = 0;
        /* The border columns [0, i_lo) and [i_hi, count), with their taps
           when there are few of them. */
        const int nborder = i_lo + (count - i_hi);
        const int border_cached = nborder <= BORDER_CAP;
        taps border[BORDER_CAP];
        if (border_cached)
            for (int j = 0; j < nborder; j++) {
                const int i = j < i_lo ? j : i_hi + (j - i_lo);
                border[j] = taps_at(r + s * i + pl, s, OW);
            }
        const taps full = {tx_full, ntx_full,
                           (r + s * i_lo + pl - tx_full) / s};
        for (int img = 0; img < n; img++)
            for (int iy = 0; iy < IH; iy++) {
                const taps ty =
                    rows_cached ? row_taps[iy] : taps_at(iy + pt, s, OH);
                if (i_hi > i_lo)
                    bwd_run(g, img, iy, r + s * i_lo, i_hi - i_lo, ty, full,
                            slot_of, dy, wt, mask, dx);
                for (int j = 0; j < nborder; j++) {
                    const int i = j < i_lo ? j : i_hi + (j - i_lo);
                    const int ix = r + s * i;
                    const taps tx =
                        border_cached ? border[j] : taps_at(ix + pl, s, OW);
                    bwd_run(g, img, iy, ix, 1, ty, tx, slot_of, dy, wt, mask,
                            dx);
                }
            }
    }
}

/* ------------------------------------------------ backward weights */

void cnn_conv3x3_backward_weights_avx512(const cnn_conv_geom *g, int n,
                                         const float *x, const float *dy,
                                         float *dw, float *db)
{
    const int C = g->in_c, M = g->out_c, s = g->stride;
    const int IH = g->in_h, IW = g->in_w, OH = g->out_h, OW = g->out_w;
    avx512_seg seg[SEG_CHUNK];
    for (int ky = 0; ky < K; ky++) {
        int oy_lo, oy_hi;
        tap_range(ky, s, g->pad_top, IH, OH, &oy_lo, &oy_hi);
        for (int kx = 0; kx < K; kx++) {
            int ox_lo, ox_hi;
            tap_range(kx, s, g->pad_left, IW, OW, &ox_lo, &ox_hi);
            if (oy_hi <= oy_lo || ox_hi <= ox_lo)
                continue;
            avx512_gemm t = {
                .seg = seg, .a_p = 1, .a_e = (ptrdiff_t)s * C, .ldb = M,
                .out = dw + (ptrdiff_t)(ky * K + kx) * C * M, .out_p = M,
                .bias = NULL, .mask = NULL, .accum = 1, .relu = 0};
            int nseg = 0;
            for (int img = 0; img < n; img++)
                for (int oy = oy_lo; oy < oy_hi; oy++) {
                    const int iy = oy * s - g->pad_top + ky;
                    const int ix = ox_lo * s - g->pad_left + kx;
                    seg[nseg].a =
                        x + (((ptrdiff_t)img * IH + iy) * IW + ix) * C;
                    seg[nseg].b =
                        dy + (((ptrdiff_t)img * OH + oy) * OW + ox_lo) * M;
                    seg[nseg].len = ox_hi - ox_lo;
                    if (++nseg == SEG_CHUNK) {
                        t.nseg = nseg;
                        cnn_avx512_gemm(C, M, &t);
                        nseg = 0;
                    }
                }
            if (nseg) {
                t.nseg = nseg;
                cnn_avx512_gemm(C, M, &t);
            }
        }
    }
    if (db)
        cnn_avx512_bias_grad((ptrdiff_t)n * OH * OW, M, dy, db);
}
