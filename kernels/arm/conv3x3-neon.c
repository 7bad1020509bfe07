/*
 * conv3x3-neon.c — direct NEON 3x3 convolution, stride 1 or 2, any padding
 * and channel counts (written for any k; the lists select it for k == 3
 * or 5).
 *
 *   forward           per output row: the kernel rows inside the image are
 *                     found once; the output columns whose taps are all
 *                     inside run as one strip of 5-pixel x 16-channel tiles
 *                     (gemm-neon.c, 20 accumulators) whose reduction is
 *                     kernel rows x (k * in_c contiguous floats: the taps of
 *                     one kernel row are adjacent in NHWC and in the weights),
 *                     stepping the input by stride * in_c per pixel; the
 *                     border columns run one pixel at a time with their own
 *                     tap range.  Bias and ReLU are fused into the store.
 *   backward_data     reads the weights packed [ky][kx][out_c][in_c]
 *                     (cnn_conv_pack_transposed_neon) and gathers: each dx
 *                     pixel sums dy pixels x transposed taps, vectorised
 *                     over in_c.  With stride 2 the dx pixels split into 4
 *                     parity phases (row parity from the dx row, column
 *                     parity ix mod 2); within a phase every pixel sees the
 *                     same taps (2x2, 2x1, 1x2 or 1x1 for 3x3), sits 2
 *                     pixels from the next in dx and 1 in dy: a strided
 *                     tile, no scattered writes.  The mask is fused into the
 *                     store.
 *   backward_weights  per tap (ky, kx): the rectangle of output pixels for
 *                     which that tap is inside the image, over all n images,
 *                     accumulated into an 8-channel x 12-channel register
 *                     tile (x channels broadcast by lane, dy channels as
 *                     vectors) added to dw once.  The bias gradient is fused
 *                     into a tap that sees every output pixel (any tap of a
 *                     "same" or "valid" 3x3), else done on its own.
 *
 * Single-threaded, no heap, no static mutable state.
 */
#include <stddef.h>

#include "kernels.h"
#include "neon.h"

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

/* ceil(a / s) for s > 0, any sign of a. */
static inline int ceil_div(int a, int s)
{
    return a >= 0 ? (a + s - 1) / s : -((-a) / s);
}
/* floor(a / s) for s > 0, any sign of a. */
static inline int floor_div(int a, int s)
{
    return a >= 0 ? a / s : -((-a + s - 1) / s);
}

/* ------------------------------------------------------------ forward */

void cnn_conv3x3_forward_cols_neon(const cnn_conv_geom *g, const float *x,
                                   const float *w, const float *b, float *y,
                                   int relu, int img, int oy, int ox_begin,
                                   int ox_end)
{
    const int H = g->in_h, IW = g->in_w, C = g->in_c;
    const int OH = g->out_h, OW = g->out_w, M = g->out_c;
    const int k = g->k, s = g->stride, pt = g->pad_top, pl = g->pad_left;
    /* Output columns [ox_lo, ox_hi) have all k taps inside the image. */
    const int ox_lo = imax(ox_begin, imin(ox_end, ceil_div(pl, s)));
    const int ox_hi =
        imax(ox_lo, imin(ox_end, floor_div(IW - k + pl, s) + 1));
    const int iy0 = oy * s - pt;
    const int ky0 = imax(0, -iy0), ky1 = imin(k, H - iy0);
    const float *ximg = x + (ptrdiff_t)img * H * IW * C;
    float *yrow = y + ((ptrdiff_t)img * OH + oy) * OW * M;
    const neon_gemm_a a = {
        .a_p = (ptrdiff_t)s * C, .a_r = (ptrdiff_t)IW * C, .a_t = 0,
        .b_e = M, .b_r = (ptrdiff_t)k * C * M, .b_t = 0,
        .nr = ky1 > ky0 ? ky1 - ky0 : 0, .nt = 1,
        .o_p = M, .bias = b, .mask = NULL, .relu = relu,
    };
    for (int ox = ox_begin; ox < ox_end;) {
        const int ix0 = ox * s - pl;
        int npx, kx0, kx1;
        if (ox == ox_lo && ox_hi > ox_lo) {
            npx = ox_hi - ox_lo, kx0 = 0, kx1 = k;
        } else {
            npx = 1;
            kx0 = imax(0, -ix0), kx1 = imin(k, IW - ix0);
        }
        neon_gemm_a t = a;
        if (t.nr && kx1 > kx0) {
            t.a = ximg + ((ptrdiff_t)(iy0 + ky0) * IW + ix0 + kx0) * C;
            t.b = w + ((ptrdiff_t)ky0 * k + kx0) * C * M;
            t.len = (kx1 - kx0) * C;
        } else {
            t.a = x, t.b = w, t.nr = 0, t.len = 0;
        }
        t.o = yrow + (ptrdiff_t)ox * M;
        cnn_neon_gemm_a(&t, npx, M);
        ox += npx;
    }
}

void cnn_conv3x3_forward_neon(const cnn_conv_geom *g, int n, const float *x,
                              const float *w, const float *b, float *y,
                              int relu)
{
    for (int img = 0; img < n; img++)
        for (int oy = 0; oy < g->out_h; oy++)
            cnn_conv3x3_forward_cols_neon(g, x, w, b, y, relu, img, oy, 0,
                                          g->out_w);
}

/* ------------------------------------------------------ backward data */

/* The taps of one axis that reach input coordinate i (i + pad = q): those
   kk = c + s*m (c = q mod s, m < count of the class) whose output
   o = base - m (base = (q - c) / s) lies in [0, out).  Sets *first (the
   first valid tap), *ntaps and *o0 (its output; each next tap: o - 1). */
static void taps_reaching(int q, int s, int k, int out, int *first,
                          int *ntaps, int *o0)
{
    const int c = q % s, base = q / s;
    const int nclass = c < k ? (k - 1 - c) / s + 1 : 0;
    const int m_lo = imax(0, base - out + 1), m_hi = imin(nclass, base + 1);
    *first = c + s * m_lo;
    *ntaps = m_hi > m_lo ? m_hi - m_lo : 0;
    *o0 = base - m_lo;
}

void cnn_conv3x3_backward_data_neon(const cnn_conv_geom *g, int n,
                                    const float *dy, const float *wt,
                                    const float *mask, float *dx)
{
    const int H = g->in_h, IW = g->in_w, C = g->in_c;
    const int OH = g->out_h, OW = g->out_w, M = g->out_c;
    const int k = g->k, s = g->stride, pt = g->pad_top, pl = g->pad_left;
    for (int img = 0; img < n; img++)
        for (int iy = 0; iy < H; iy++) {
            int ty0, nty, oy0;
            taps_reaching(iy + pt, s, k, OH, &ty0, &nty, &oy0);
            const ptrdiff_t at_row = ((ptrdiff_t)img * H + iy) * IW * C;
            neon_gemm_a a = {
                .a_p = M, .a_r = -(ptrdiff_t)OW * M, .a_t = -(ptrdiff_t)M,
                .b_e = C, .b_r = (ptrdiff_t)s * k * M * C,
                .b_t = (ptrdiff_t)s * M * C, .len = M,
                .o_p = (ptrdiff_t)s * C, .bias = NULL, .relu = 0,
            };
            for (int r = 0; r < s && r < IW; r++) {
                /* Phase r: dx columns ix = r + s*i, i < count, all with
                   taps of class c = (r + pl) mod s. */
                const int count = (IW - 1 - r) / s + 1;
                const int c = (r + pl) % s, base = (r + pl) / s;
                const int nclass = c < k ? (k - 1 - c) / s + 1 : 0;
                /* Pixels i in [i_lo, i_hi) see every tap of the class. */
                const int i_lo = imin(count, imax(0, nclass - 1 - base));
                const int i_hi = imax(i_lo, imin(count, OW - base));
                for (int i = 0; i < count;) {
                    const int ix = r + s * i;
                    int tx0, ntx, ox0, npx;
                    taps_reaching(ix + pl, s, k, OW, &tx0, &ntx, &ox0);
                    npx = i == i_lo && i_hi > i_lo ? i_hi - i_lo : 1;
                    neon_gemm_a t = a;
                    if (nty && ntx) {
                        t.a = dy + (((ptrdiff_t)img * OH + oy0) * OW + ox0) * M;
                        t.b = wt + ((ptrdiff_t)ty0 * k + tx0) * M * C;
                        t.nr = nty, t.nt = ntx;
                    } else {
                        t.a = dy, t.b = wt, t.nr = 0, t.nt = 0;
                    }
                    t.o = dx + at_row + (ptrdiff_t)ix * C;
                    t.mask = mask ? mask + at_row + (ptrdiff_t)ix * C : NULL;
                    cnn_neon_gemm_a(&t, npx, C);
                    i += npx;
                }
            }
        }
}

/* --------------------------------------------------- backward weights */

/* Outputs o in [*lo, *hi) whose tap kk (one axis) reads inside [0, in). */
static void tap_outputs(int kk, int s, int pad, int in, int out, int *lo,
                        int *hi)
{
    *lo = imin(out, imax(0, ceil_div(pad - kk, s)));
    *hi = imax(*lo, imin(out, floor_div(in - 1 + pad - kk, s) + 1));
}

void cnn_conv3x3_backward_weights_neon(const cnn_conv_geom *g, int n,
                                       const float *x, const float *dy,
                                       float *dw, float *db)
{
    const int H = g->in_h, IW = g->in_w, C = g->in_c;
    const int OH = g->out_h, OW = g->out_w, M = g->out_c;
    const int k = g->k, s = g->stride, pt = g->pad_top, pl = g->pad_left;
    float *db_left = db; /* the bias gradient, until a tap takes it */
    for (int ky = 0; ky < k; ky++) {
        int oy_lo, oy_hi;
        tap_outputs(ky, s, pt, H, OH, &oy_lo, &oy_hi);
        for (int kx = 0; kx < k; kx++) {
            int ox_lo, ox_hi;
            tap_outputs(kx, s, pl, IW, OW, &ox_lo, &ox_hi);
            if (oy_hi == oy_lo || ox_hi == ox_lo)
                continue;
            const int all = oy_lo == 0 && oy_hi == OH && ox_lo == 0 &&
                            ox_hi == OW;
            neon_gemm_b t = {
                .a = x + ((ptrdiff_t)(oy_lo * s - pt + ky) * IW +
                          ox_lo * s - pl + kx) * C,
                .a_i = (ptrdiff_t)H * IW * C, .a_r = (ptrdiff_t)s * IW * C,
                .a_c = (ptrdiff_t)s * C,
                .b = dy + ((ptrdiff_t)oy_lo * OW + ox_lo) * M,
                .b_i = (ptrdiff_t)OH * OW * M, .b_r = (ptrdiff_t)OW * M,
                .b_c = M,
                .ni = n, .nr = oy_hi - oy_lo, .nc = ox_hi - ox_lo,
                .o = dw + ((ptrdiff_t)ky * k + kx) * C * M, .o_p = M,
                .db = all ? db_left : NULL,
            };
            if (all)
                db_left = NULL;
            cnn_neon_gemm_b(&t, C, M);
        }
    }
    if (db_left)
        cnn_neon_bias_grad(dy, (ptrdiff_t)OH * OW * M, (ptrdiff_t)OW * M, M,
                           n, OH, OW, M, db_left);
}
