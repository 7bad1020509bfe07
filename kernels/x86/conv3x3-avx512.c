/*
 * conv3x3-avx512.c — direct KxK convolution (k = 3 or 5, at most K_MAX),
 * AVX-512, any stride, padding and channel counts:
 *
 *   cnn_conv3x3_forward_avx512             y = act(conv(x, w) + b)
 *   cnn_conv3x3_pack_backward_data_avx512  w -> [ky][kx slot][out_c][in_c]
 *   cnn_conv3x3_backward_data_avx512       dx = conv^T(dy, packed w), mask
 *   cnn_conv3x3_backward_weights_avx512    dw += x (x) dy, db += sum dy
 *
 * All three are register-tile GEMMs (gemm-avx512.c), no im2col copy,
 * but for the stride-2 backward data of at most 16 input channels
 * (conv3x3s2-narrow-avx512.c, k = 3 or 5).  Forward and backward data work image by
 * image on regions whose outputs share their taps, so an image's tiles,
 * and its bits, depend on the geometry alone (batch invariance):
 *
 * forward: the output rows and columns split into runs whose taps inside
 *   the image are the same (the interior, and the border rows / columns
 *   that lose taps); a run of rows x a run of columns is one grid GEMM
 *   (cnn_avx512_gemm_grid: short lines by pairs, a border column by rows)
 *   of output pixels x all output channels, one reduction segment per
 *   kernel row: its (kx1 - kx0)*in_c contiguous floats of x times as many
 *   contiguous rows of w.  Pixels are s*in_c apart in x, rows s*in_w*in_c.
 *
 * backward_data: a gather, vectorised over in_c.  dx rows and columns
 *   split into s phases (i mod s) and, within a phase, runs that the same
 *   taps reach, from consecutive dy pixels.  The packed weights hold each
 *   kernel row's taps grouped by phase in descending kx, so the taps of
 *   one kernel row meet contiguous dy pixels and contiguous packed rows:
 *   one segment of ntaps*out_c per kernel row; a row run x a column run is
 *   one grid GEMM.  Stride 2 gives the 4 phases 2x2, 2x1, 1x2, 1x1 taps,
 *   each writing disjoint pixels; the mask is applied in the store.
 *
 * backward_weights: for each tap (ky, kx), tiles of input channels x
 *   output-channel vectors held in registers while streaming every output
 *   pixel (of all n images) whose tap is inside the image, then added to
 *   dw once; db by a separate pass over dy.
 */
#include <stddef.h>

#include "avx512.h"

/* K_MAX: the largest k; the run and segment arrays are sized by it. */
enum { K_MAX = 5, SEG_CHUNK = 256 };

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

/* A run of consecutive outputs [o0, o0 + len) of one axis whose taps
   inside the input are the same, [t_lo, t_hi). */
typedef struct fwd_run {
    int o0, len, t_lo, t_hi;
} fwd_run;

enum { FWD_RUN_CAP = 2 * K_MAX + 2 };

/* The runs of one axis (at most 2k + 2: each end of the tap range moves
   monotonically through 0..k).  Returns their count. */
static int forward_runs(int K, int s, int pad, int in, int out, fwd_run *runs)
{
    int n = 0;
    for (int o = 0; o < out; o++) {
        const int lo = imax(0, imin(K, pad - o * s));
        const int hi = imax(lo, imin(K, in + pad - o * s));
        if (n && runs[n - 1].t_lo == lo && runs[n - 1].t_hi == hi)
            runs[n - 1].len++;
        else
            runs[n++] = (fwd_run){o, 1, lo, hi};
    }
    return n;
}

/* The outputs of image img in rows ry x columns rx: every one sees the
   same taps, so the region is one grid GEMM, a segment per kernel row. */
static void forward_region(const cnn_conv_geom *g, int img, fwd_run ry,
                           fwd_run rx, const float *x, const float *w,
                           const float *b, float *y, int relu)
{
    const int C = g->in_c, M = g->out_c, s = g->stride, W = g->in_w;
    const int K = g->k;
    avx512_seg seg[K_MAX];
    int nseg = 0;
    if (rx.t_hi > rx.t_lo)
        for (int ky = ry.t_lo; ky < ry.t_hi; ky++) {
            const int iy = ry.o0 * s - g->pad_top + ky;
            const int ix = rx.o0 * s - g->pad_left + rx.t_lo;
            seg[nseg].a = x + (((ptrdiff_t)img * g->in_h + iy) * W + ix) * C;
            seg[nseg].b = w + (ptrdiff_t)(ky * K + rx.t_lo) * C * M;
            seg[nseg].len = (ptrdiff_t)(rx.t_hi - rx.t_lo) * C;
            nseg++;
        }
    const avx512_gemm t = {
        .seg = seg, .nseg = nseg, .a_p = (ptrdiff_t)s * C,
        .a_r = (ptrdiff_t)s * W * C, .a_e = 1, .ldb = M,
        .out = y + (((ptrdiff_t)img * g->out_h + ry.o0) * g->out_w + rx.o0) * M,
        .out_p = M, .out_r = (ptrdiff_t)g->out_w * M, .bias = b, .mask = NULL,
        .accum = 0, .relu = relu};
    cnn_avx512_gemm_grid(ry.len, rx.len, M, &t);
}

void cnn_conv3x3_forward_avx512(const cnn_conv_geom *g, int n, const float *x,
                                const float *w, const float *b, float *y,
                                int relu)
{
    fwd_run rows[FWD_RUN_CAP], cols[FWD_RUN_CAP];
    const int nr =
        forward_runs(g->k, g->stride, g->pad_top, g->in_h, g->out_h, rows);
    const int nc =
        forward_runs(g->k, g->stride, g->pad_left, g->in_w, g->out_w, cols);
    for (int img = 0; img < n; img++)
        for (int i = 0; i < nr; i++)
            for (int j = 0; j < nc; j++)
                forward_region(g, img, rows[i], cols[j], x, w, b, y, relu);
}

/* --------------------------------------------------- backward data */

/* Taps t in [0, K) that reach input coordinate q (= i + pad) from an
   output o = (q - t) / s in [0, out): t = t0, t0 + s, ... (*count of
   them), the first from output *o0, each next one from the output before
   it. */
static void taps_reaching(int K, int q, int s, int out, int *t0, int *count,
                          int *o0)
{
    const int t_min = imax(0, q - s * out + 1), t_max = imin(K - 1, q);
    const int t = t_min + (q - t_min) % s;
    *t0 = t;
    *count = t <= t_max ? (t_max - t) / s + 1 : 0;
    *o0 = (q - t) / s;
}

/* Slot of tap kx in a packed kernel row: taps grouped by phase kx mod s,
   each group in descending kx. */
static int kx_slot(int K, int kx, int s)
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
    const int C = g->in_c, M = g->out_c, K = g->k;
    for (int ky = 0; ky < K; ky++)
        for (int kx = 0; kx < K; kx++) {
            const float *src = w + (ptrdiff_t)(ky * K + kx) * C * M;
            float *dst =
                packed + (ptrdiff_t)(ky * K + kx_slot(K, kx, g->stride)) * M * C;
            for (int co = 0; co < M; co++)
                for (int ci = 0; ci < C; ci++)
                    dst[(ptrdiff_t)co * C + ci] = src[(ptrdiff_t)ci * M + co];
        }
}

/* A run of dx coordinates i0, i0 + s, ... (len of them, one phase) that
   the same taps t0, t0 + s, ... (count of them) reach; the first tap of
   coordinate i0 from output o0, of each next coordinate from one output
   further. */
typedef struct bwd_run {
    int i0, len, t0, count, o0;
} bwd_run;

enum { BWD_RUN_CAP = 2 * K_MAX + 1, PHASE_CAP = 8 };

/* The runs of phase r (coordinates r, r + s, ... < in): at most 2k + 1,
   as the ends of the reaching taps move monotonically.  Returns their
   count. */
static int backward_runs(int K, int r, int s, int pad, int in, int out,
                         bwd_run *runs)
{
    int n = 0;
    for (int i = r; i < in; i += s) {
        int t0, count, o0;
        taps_reaching(K, i + pad, s, out, &t0, &count, &o0);
        if (count == 0)
            t0 = 0, o0 = 0;
        bwd_run *last = n ? &runs[n - 1] : NULL;
        if (last && last->t0 == t0 && last->count == count &&
            (count == 0 || last->o0 + last->len == o0))
            last->len++;
        else
            runs[n++] = (bwd_run){i, 1, t0, count, o0};
    }
    return n;
}

/* The dx pixels of image img in rows ry x columns rx: every one gets the
   same taps, the packed taps of a kernel row from contiguous dy pixels,
   so the region is one grid GEMM, a segment per kernel row; slot_of[kx]:
   the packed slot of tap kx. */
static void backward_region(const cnn_conv_geom *g, int img, bwd_run ry,
                            bwd_run rx, const int *slot_of, const float *dy,
                            const float *wt, const float *mask, float *dx)
{
    const int C = g->in_c, M = g->out_c, s = g->stride, OW = g->out_w;
    const int K = g->k;
    avx512_seg seg[K_MAX];
    int nseg = 0;
    if (rx.count > 0) {
        const int slot = slot_of[rx.t0 + s * (rx.count - 1)];
        for (int a = 0; a < ry.count; a++) {
            const int ky = ry.t0 + s * a;
            seg[nseg].a = dy + (((ptrdiff_t)img * g->out_h + ry.o0 - a) * OW +
                                rx.o0 - (rx.count - 1)) * M;
            seg[nseg].b = wt + (ptrdiff_t)(ky * K + slot) * M * C;
            seg[nseg].len = (ptrdiff_t)rx.count * M;
            nseg++;
        }
    }
    const ptrdiff_t at =
        (((ptrdiff_t)img * g->in_h + ry.i0) * g->in_w + rx.i0) * C;
    const avx512_gemm t = {
        .seg = seg, .nseg = nseg, .a_p = M, .a_r = (ptrdiff_t)OW * M,
        .a_e = 1, .ldb = C, .out = dx + at, .out_p = (ptrdiff_t)s * C,
        .out_r = (ptrdiff_t)s * g->in_w * C, .bias = NULL,
        .mask = mask ? mask + at : NULL, .accum = 0, .relu = 0};
    cnn_avx512_gemm_grid(ry.len, rx.len, C, &t);
}

/* The runs of every phase of one axis, worked out once per call when the
   stride is at most PHASE_CAP (else phase by phase, as they are used). */
typedef struct axis_runs {
    int cached, k, s, pad, in, out;
    int n[PHASE_CAP];
    bwd_run run[PHASE_CAP][BWD_RUN_CAP];
} axis_runs;

static void axis_init(axis_runs *ax, int k, int s, int pad, int in, int out)
{
    ax->cached = s <= PHASE_CAP;
    ax->k = k, ax->s = s, ax->pad = pad, ax->in = in, ax->out = out;
    for (int r = 0; ax->cached && r < s; r++)
        ax->n[r] = backward_runs(k, r, s, pad, in, out, ax->run[r]);
}

/* Phase r's runs: *runs (the cache, or buf filled now); returns the count. */
static int axis_phase(const axis_runs *ax, int r, bwd_run *buf,
                      const bwd_run **runs)
{
    if (ax->cached) {
        *runs = ax->run[r];
        return ax->n[r];
    }
    *runs = buf;
    return backward_runs(ax->k, r, ax->s, ax->pad, ax->in, ax->out, buf);
}

void cnn_conv3x3_backward_data_avx512(const cnn_conv_geom *g, int n,
                                      const float *dy, const float *wt,
                                      const float *mask, float *dx)
{
    const int s = g->stride, K = g->k;
    int slot_of[K_MAX];
    for (int kx = 0; kx < K; kx++)
        slot_of[kx] = kx_slot(K, kx, s);
    if (K == 3 && s == 2 && g->in_c <= 16) {
        cnn_avx512_conv3x3s2_backward_data_narrow(g, n, dy, wt, slot_of, mask,
                                                  dx);
        return;
    }
    axis_runs rows, cols;
    axis_init(&rows, K, s, g->pad_top, g->in_h, g->out_h);
    axis_init(&cols, K, s, g->pad_left, g->in_w, g->out_w);
    bwd_run rbuf[BWD_RUN_CAP], cbuf[BWD_RUN_CAP];
    for (int img = 0; img < n; img++)
        for (int ry = 0; ry < s && ry < g->in_h; ry++) {
            const bwd_run *rr;
            const int nr = axis_phase(&rows, ry, rbuf, &rr);
            for (int rx = 0; rx < s && rx < g->in_w; rx++) {
                const bwd_run *cr;
                const int nc = axis_phase(&cols, rx, cbuf, &cr);
                for (int i = 0; i < nr; i++)
                    for (int j = 0; j < nc; j++)
                        backward_region(g, img, rr[i], cr[j], slot_of, dy, wt,
                                        mask, dx);
            }
        }
}

/* ------------------------------------------------ backward weights */

void cnn_conv3x3_backward_weights_avx512(const cnn_conv_geom *g, int n,
                                         const float *x, const float *dy,
                                         float *dw, float *db)
{
    const int C = g->in_c, M = g->out_c, s = g->stride, K = g->k;
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
