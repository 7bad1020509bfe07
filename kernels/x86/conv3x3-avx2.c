/*
 * conv3x3-avx2.c — direct convolution, AVX2+FMA, written for 3x3 kernels
 * (stride 1 or 2, any padding and channel counts) and correct for any k:
 *
 *   cnn_conv3x3_forward_avx2           y = act(conv(x, w) + b)
 *   cnn_conv3x3_backward_data_avx2     dx = conv_transpose(dy, wT), masked
 *   cnn_conv3x3_backward_weights_avx2  dw += x (x) dy, db += sum dy
 *   cnn_conv_pack_backward_data_avx2   wT = w as [k][k slots][out_c][in_c]
 *
 * All three run on the register tiles of tile-avx2.c (see avx2.h), with
 * the valid taps worked out outside the tiles:
 *
 * forward: tiles of output pixels x output-channel vectors (3 x 4 for 32
 *   or 64 channels).  For one kernel row the k*in_c inputs of an output
 *   pixel are contiguous in x (stride 2: pixels 2*in_c apart), and so are
 *   the k*in_c weight rows in w: one reduction segment per kernel row.  The
 *   interior pixels of all images (every tap inside) form one list, tiled
 *   by gather tiles; the other rows go row by row, border columns one
 *   pixel at a time with their own tap range.
 *
 * backward_data: a gather (no scattered writes), tiles of dx pixels x
 *   input-channel vectors, weights transposed by the pack hook.  dx pixels
 *   are grouped by the taps that reach them (row signature x column
 *   signature): with s = 2 the 4 parity phases (2x2, 2x1, 1x2, 1x1 taps)
 *   plus the borders.  The packed taps of a phase are in descending kx, so
 *   the taps of one kernel row meet contiguous dy pixels: one segment per
 *   kernel row, the same for every pixel of a group, whose pixels (over
 *   all images) go through gather tiles in one list.  Mask in the store.
 *
 * backward_weights: for a chunk of output pixels and one kernel row, the
 *   k*in_c inputs each pixel sees are copied into a stack buffer (zeros
 *   outside x); dw[ky] += buffer^T x dy is then a GEMM whose tiles of dw
 *   rows x output-channel vectors stay in registers over the whole chunk
 *   (all images when they fit) before being added to dw.  db from the same
 *   chunk of dy.
 */
#include <immintrin.h>
#include <stddef.h>

#include "avx2.h"

enum { LIST_CAP = 1024, XS_CAP = 8192 };

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }
/* floor(a / b) for b > 0 */
static inline int fdiv(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static inline int cdiv(int a, int b) { return -fdiv(-a, b); }

/* ------------------------------------------------------------ forward */

/* The output pixels all of whose taps are inside the image: columns
   [ox_lo, ox_hi) of rows [oy_lo, oy_hi). */
typedef struct fwd_box {
    int ox_lo, ox_hi, oy_lo, oy_hi;
} fwd_box;

/* The interior pixels of all images: one list of gather tiles. */
static void forward_interior(const cnn_conv_geom *g, int n, const float *x,
                             float *y, cnn_avx2_gemm *q, cnn_avx2_seg *seg,
                             fwd_box bx)
{
    const int C = g->in_c, M = g->out_c, k = g->k, s = g->stride;
    const int H = g->in_h, W = g->in_w, OH = g->out_h, OW = g->out_w;
    const int pt = g->pad_top, pl = g->pad_left;
    ptrdiff_t aoff[LIST_CAP], iooff[LIST_CAP];
    int cnt = 0;
    for (int ky = 0; ky < k; ky++)
        seg[ky] = (cnn_avx2_seg){(ptrdiff_t)ky * W * C,
                                 (ptrdiff_t)ky * k * C * M, (ptrdiff_t)k * C};
    q->nseg = k;
    q->a = x;
    q->io = y;
    for (int img = 0; img < n; img++)
        for (int oy = bx.oy_lo; oy < bx.oy_hi; oy++)
            for (int ox = bx.ox_lo; ox < bx.ox_hi; ox++) {
                aoff[cnt] = (((ptrdiff_t)img * H + oy * s - pt) * W +
                             ox * s - pl) * C;
                iooff[cnt] = (((ptrdiff_t)img * OH + oy) * OW + ox) * M;
                if (++cnt == LIST_CAP) {
                    cnn_avx2_gather_all(q, M, aoff, iooff, cnt);
                    cnt = 0;
                }
            }
    if (cnt)
        cnn_avx2_gather_all(q, M, aoff, iooff, cnt);
}

/* Output row oy of image img, but for the interior pixels: the row's
   interior columns as one strip when the row is not interior, then the
   border columns one pixel at a time with their own tap range. */
static void forward_row(const cnn_conv_geom *g, const float *x, float *y,
                        cnn_avx2_gemm *q, cnn_avx2_seg *seg, fwd_box bx,
                        int img, int oy)
{
    const int C = g->in_c, M = g->out_c, k = g->k, s = g->stride;
    const int H = g->in_h, W = g->in_w, OH = g->out_h, OW = g->out_w;
    const int pt = g->pad_top, pl = g->pad_left;
    const int ox_lo = bx.ox_lo, ox_hi = bx.ox_hi;
    const int iy0 = oy * s - pt;
    const int ky0 = imax(0, -iy0), ky1 = imin(k, H - iy0);
    const int row_done = oy >= bx.oy_lo && oy < bx.oy_hi;
    float *yrow = y + ((ptrdiff_t)img * OH + oy) * OW * M;
    int ns = 0;
    for (int ky = ky0; ky < ky1; ky++)
        seg[ns++] = (cnn_avx2_seg){
            ((ptrdiff_t)img * H + iy0 + ky) * W * C,
            (ptrdiff_t)ky * k * C * M, (ptrdiff_t)k * C};
    q->nseg = ns;
    if (ox_hi > ox_lo && !row_done) {
        q->a = x + (ptrdiff_t)(ox_lo * s - pl) * C;
        q->a_p = (ptrdiff_t)s * C;
        q->io = yrow + (ptrdiff_t)ox_lo * M;
        cnn_avx2_rows_all(q, M, ox_hi - ox_lo);
    }
    for (int ox = 0; ox < OW; ox++) {
        if (ox == ox_lo && ox_hi > ox_lo)
            ox = ox_hi;
        if (ox >= OW)
            break;
        const int ix0 = ox * s - pl;
        const int kx0 = imax(0, -ix0), kx1 = imax(kx0, imin(k, W - ix0));
        for (int i = 0; i < ns; i++) {
            const int ky = ky0 + i;
            seg[i] = (cnn_avx2_seg){
                (((ptrdiff_t)img * H + iy0 + ky) * W + ix0 + kx0) * C,
                ((ptrdiff_t)ky * k + kx0) * C * M,
                (ptrdiff_t)(kx1 - kx0) * C};
        }
        q->a = x;
        q->a_p = 0;
        q->io = yrow + (ptrdiff_t)ox * M;
        cnn_avx2_rows_all(q, M, 1);
        for (int i = 0; i < ns; i++) { /* restore the full rows */
            const int ky = ky0 + i;
            seg[i] = (cnn_avx2_seg){
                ((ptrdiff_t)img * H + iy0 + ky) * W * C,
                (ptrdiff_t)ky * k * C * M, (ptrdiff_t)k * C};
        }
    }
}

void cnn_conv3x3_forward_avx2(const cnn_conv_geom *g, int n, const float *x,
                              const float *w, const float *b, float *y,
                              int relu)
{
    const int M = g->out_c, k = g->k, s = g->stride;
    const int H = g->in_h, W = g->in_w, OH = g->out_h, OW = g->out_w;
    const int pt = g->pad_top, pl = g->pad_left;
    /* Interior columns: 0 <= ox*s - pl and ox*s - pl + k <= W; rows
       likewise. */
    fwd_box bx;
    bx.ox_lo = imin(OW, cdiv(pl, s));
    bx.ox_hi = imax(bx.ox_lo, imin(OW, fdiv(W - k + pl, s) + 1));
    bx.oy_lo = imin(OH, cdiv(pt, s));
    bx.oy_hi = imax(bx.oy_lo, imin(OH, fdiv(H - k + pt, s) + 1));
    if (k > 64) { /* one segment per kernel row */
        cnn_conv_forward_scalar(g, n, x, w, b, y, relu);
        return;
    }
    cnn_avx2_seg seg[64];
    cnn_avx2_gemm q = {
        .a_e = 1, .b = w, .b_e = M, .seg = seg, .io_p = M,
        .start = b ? CNN_AVX2_FROM_BIAS : CNN_AVX2_FROM_ZERO, .bias = b,
        .relu = relu, .tail = 8,
    };
    if (bx.ox_hi > bx.ox_lo && bx.oy_hi > bx.oy_lo)
        forward_interior(g, n, x, y, &q, seg, bx);
    for (int img = 0; img < n; img++)
        for (int oy = 0; oy < OH; oy++)
            forward_row(g, x, y, &q, seg, bx, img, oy);
}

/* ------------------------------------------------------ backward data */

int cnn_avx2_kx_slot(int kx, int k, int s)
{
    const int rho = kx % s;
    int start = 0;
    for (int r = 0; r < rho && r < k; r++)
        start += (k - 1 - r) / s + 1;
    const int n_rho = (k - 1 - rho) / s + 1;
    return start + n_rho - 1 - (kx - rho) / s;
}

void cnn_conv_pack_backward_data_avx2(const cnn_conv_geom *g, const float *w,
                                      float *packed)
{
    const int k = g->k, C = g->in_c, M = g->out_c;
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++) {
            const float *src = w + (ptrdiff_t)(ky * k + kx) * C * M;
            float *dst = packed +
                         (ptrdiff_t)(ky * k + cnn_avx2_kx_slot(kx, k, g->stride)) *
                             M * C;
            for (int co = 0; co < M; co++)
                for (int ci = 0; ci < C; ci++)
                    dst[(ptrdiff_t)co * C + ci] = src[(ptrdiff_t)ci * M + co];
        }
}

/* Taps t in [0, k) that reach input coordinate q (= i + pad) from an
   output o = (q - t) / s in [0, out): t = *t0, *t0 + s, ... (*count), the
   first from output *o0, each next one from the output before it. */
static void taps_reaching(int q, int s, int k, int out, int *t0, int *count,
                          int *o0)
{
    const int t_min = imax(0, q - s * out + 1), t_max = imin(k - 1, q);
    const int t = t_min + (q - t_min) % s;
    *t0 = t;
    *count = t <= t_max ? (t_max - t) / s + 1 : 0;
    *o0 = (q - t) / s;
}

/* The taps of one axis that reach a dx coordinate: its signature. */
typedef struct taps {
    int t0, count;
} taps;

enum { SIG_CAP = 32, AXIS_CAP = 1024 };

/* One axis of dx (len coordinates) grouped by signature: the nsig distinct
   signatures sig[], and for signature j the coordinates
   order[start[j] .. start[j+1]), each with o0[] (its first tap's dy
   coordinate).  Returns 0 when the caps are exceeded. */
typedef struct axis_groups {
    int nsig;
    taps sig[SIG_CAP];
    int start[SIG_CAP + 1];
    int order[AXIS_CAP];
    int o0[AXIS_CAP];
} axis_groups;

static int group_axis(int len, int pad, int s, int k, int out, axis_groups *ag)
{
    if (len > AXIS_CAP)
        return 0;
    unsigned char id[AXIS_CAP];
    int cnt[SIG_CAP] = {0};
    ag->nsig = 0;
    for (int i = 0; i < len; i++) {
        int t0, c, o0;
        taps_reaching(i + pad, s, k, out, &t0, &c, &o0);
        if (c == 0)
            t0 = 0;
        int j = 0;
        while (j < ag->nsig && !(ag->sig[j].t0 == t0 && ag->sig[j].count == c))
            j++;
        if (j == ag->nsig) {
            if (j == SIG_CAP)
                return 0;
            ag->sig[ag->nsig++] = (taps){t0, c};
        }
        id[i] = (unsigned char)j;
        ag->o0[i] = o0;
        cnt[j]++;
    }
    ag->start[0] = 0;
    for (int j = 0; j < ag->nsig; j++)
        ag->start[j + 1] = ag->start[j] + cnt[j];
    int fill[SIG_CAP];
    for (int j = 0; j < ag->nsig; j++)
        fill[j] = ag->start[j];
    for (int i = 0; i < len; i++)
        ag->order[fill[id[i]]++] = i;
    return 1;
}

/*
 * dx pixels are grouped by the taps that reach them (a row signature x a
 * column signature: with s = 2 the parity phases, plus the borders); the
 * pixels of one group, over all images, share their segments relative to
 * their own first dy pixel, and go through gather tiles in one list.
 */
void cnn_conv3x3_backward_data_avx2(const cnn_conv_geom *g, int n,
                                    const float *dy, const float *w,
                                    const float *mask, float *dx)
{
    const int C = g->in_c, M = g->out_c, k = g->k, s = g->stride;
    const int H = g->in_h, W = g->in_w, OH = g->out_h, OW = g->out_w;
    const int pt = g->pad_top, pl = g->pad_left;
    axis_groups rows, cols;
    if (k > 64 || !group_axis(H, pt, s, k, OH, &rows) ||
        !group_axis(W, pl, s, k, OW, &cols)) {
        cnn_conv_backward_data_scalar(g, n, dy, w, mask, dx);
        return;
    }
    cnn_avx2_seg seg[64];
    ptrdiff_t aoff[LIST_CAP], iooff[LIST_CAP];
    cnn_avx2_gemm q = {
        .a = dy, .a_e = 1, .b = w, .b_e = C, .seg = seg, .io = dx,
        .start = CNN_AVX2_FROM_ZERO, .mask = mask, .tail = 8,
    };
    for (int r = 0; r < rows.nsig; r++)
        for (int c = 0; c < cols.nsig; c++) {
            const taps ry = rows.sig[r], cx = cols.sig[c];
            const int live = ry.count > 0 && cx.count > 0;
            int ns = 0;
            if (live)
                for (int a = 0; a < ry.count; a++)
                    seg[ns++] = (cnn_avx2_seg){
                        -(ptrdiff_t)a * OW * M,
                        ((ptrdiff_t)(ry.t0 + s * a) * k +
                         cnn_avx2_kx_slot(cx.t0 + s * (cx.count - 1), k, s)) *
                            M * C,
                        (ptrdiff_t)cx.count * M};
            q.nseg = ns;
            int cnt = 0;
            for (int img = 0; img < n; img++)
                for (int u = rows.start[r]; u < rows.start[r + 1]; u++) {
                    const int iy = rows.order[u], oy0 = rows.o0[iy];
                    for (int v = cols.start[c]; v < cols.start[c + 1]; v++) {
                        const int ix = cols.order[v], ox0 = cols.o0[ix];
                        /* the first dy pixel of the group's segments */
                        aoff[cnt] = live ? (((ptrdiff_t)img * OH + oy0) * OW +
                                            ox0 - (cx.count - 1)) * M
                                         : 0;
                        iooff[cnt] = (((ptrdiff_t)img * H + iy) * W + ix) * C;
                        if (++cnt == LIST_CAP) {
                            cnn_avx2_gather_all(&q, C, aoff, iooff, cnt);
                            cnt = 0;
                        }
                    }
                }
            if (cnt)
                cnn_avx2_gather_all(&q, C, aoff, iooff, cnt);
        }
}

/* --------------------------------------------------- backward weights */

/* d[0 .. len) = s[0 .. len) */
static inline void copy_floats(float *d, const float *src, int len)
{
    int i = 0;
    for (; i + 8 <= len; i += 8)
        _mm256_storeu_ps(d + i, _mm256_loadu_ps(src + i));
    for (; i < len; i++)
        d[i] = src[i];
}

static inline void zero_floats(float *d, int len)
{
    int i = 0;
    for (; i + 8 <= len; i += 8)
        _mm256_storeu_ps(d + i, _mm256_setzero_ps());
    for (; i < len; i++)
        d[i] = 0.0f;
}

/*
 * Backward weights.  For a chunk of output pixels (over all images) and
 * one kernel row ky, the k*in_c inputs each pixel sees through that row
 * are copied into a stack buffer (zeros where the taps fall outside x):
 * then dw[ky] += buffer^T x dy is one GEMM with a contiguous reduction
 * over the chunk's pixels (cnn_avx2_gemm_at_b: tiles of dw rows x out_c
 * vectors in registers).  The chunk's dy serves the k kernel rows and db.
 */
void cnn_conv3x3_backward_weights_avx2(const cnn_conv_geom *g, int n,
                                       const float *x, const float *dy,
                                       float *dw, float *db)
{
    const int C = g->in_c, M = g->out_c, k = g->k, s = g->stride;
    const int H = g->in_h, W = g->in_w, OH = g->out_h, OW = g->out_w;
    const int KC = k * C;
    if (XS_CAP / KC < 16) { /* in_c > 170: not this set's concern */
        cnn_conv_backward_weights_scalar(g, n, x, dy, dw, db);
        return;
    }
    float xs[XS_CAP];
    /* Chunks whose buffer and dy fit in L1 together. */
    ptrdiff_t chunk = CNN_AVX2_L1_BUDGET / ((ptrdiff_t)(KC + M) * sizeof(float));
    if (chunk > XS_CAP / KC)
        chunk = XS_CAP / KC;
    if (chunk < 16)
        chunk = 16;
    const ptrdiff_t npix = (ptrdiff_t)n * OH * OW;
    for (ptrdiff_t p0 = 0; p0 < npix; p0 += chunk) {
        const int np = (int)(npix - p0 < chunk ? npix - p0 : chunk);
        for (int ky = 0; ky < k; ky++) {
            ptrdiff_t img = p0 / ((ptrdiff_t)OH * OW);
            const int rest = (int)(p0 - img * OH * OW);
            int oy = rest / OW, ox = rest % OW;
            for (int i = 0; i < np;) { /* a run of pixels of one row */
                const int run = imin(OW - ox, np - i);
                const int iy = oy * s - g->pad_top + ky;
                float *d = xs + (ptrdiff_t)i * KC;
                if (iy < 0 || iy >= H) {
                    zero_floats(d, run * KC);
                } else {
                    const float *xr = x + ((ptrdiff_t)img * H + iy) * W * C;
                    for (int j = 0; j < run; j++, d += KC) {
                        const int ix0 = (ox + j) * s - g->pad_left;
                        if (ix0 >= 0 && ix0 + k <= W) {
                            copy_floats(d, xr + (ptrdiff_t)ix0 * C, KC);
                            continue;
                        }
                        const int kx0 = imax(0, -ix0);
                        const int kx1 = imax(kx0, imin(k, W - ix0));
                        zero_floats(d, kx0 * C);
                        if (kx1 > kx0)
                            copy_floats(d + kx0 * C,
                                        xr + (ptrdiff_t)(ix0 + kx0) * C,
                                        (kx1 - kx0) * C);
                        zero_floats(d + kx1 * C, (k - kx1) * C);
                    }
                }
                i += run;
                ox += run;
                if (ox == OW) {
                    ox = 0;
                    if (++oy == OH) {
                        oy = 0;
                        img++;
                    }
                }
            }
            cnn_avx2_gemm_at_b_chunked(np, KC, M, xs, dy + p0 * M,
                                       dw + (ptrdiff_t)ky * KC * M, NULL, np);
        }
        if (db)
            cnn_avx2_bias_grad(np, M, dy + p0 * M, db);
    }
}
