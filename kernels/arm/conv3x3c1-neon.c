/*
 * conv3x3c1-neon.c — NEON KxK convolution (k = 3 or 5) of one input
 * channel (the first layer: 28x28x1 -> 28x28x32), stride 1 or 2, any
 * padding.  With one input channel the direct kernels' reduction is only
 * k*k taps long, so these vectorise differently; K is a compile-time
 * constant of the tile functions (instantiated for 3 and 5):
 *
 *   forward           tiles of 8 output pixels x 3 channel vectors (24
 *                     accumulators; 2 vectors for stride 2, whose loads take
 *                     twice the registers): per tap, the 8 pixels' inputs
 *                     are two q loads (stride 2: two de-interleaving vld2q
 *                     loads, even lanes), each broadcast by lane into the
 *                     FMAs with that tap's weight vectors.  Bias and ReLU
 *                     fused into the store.  Tiles cover the output columns
 *                     whose taps (and, for stride 2, the one float past the
 *                     last tap that vld2q reads) are inside the row; the
 *                     other columns and rows go to
 *                     cnn_conv3x3_forward_cols_neon.
 *   backward_weights  the output pixels whose k*k taps are all inside the
 *                     image run through one register tile holding the
 *                     gradient of all taps x V channel vectors (3x3: 9 x 2,
 *                     5x5: 25 x 1) plus the bias gradient (V), over all n
 *                     images; per pixel and kernel row, two small loads
 *                     of x (taps as lanes), and V loads of dy.
 *                     The border strips then go, per tap, to the generic
 *                     outer-product tiles (gemm-neon.c), the bias gradient
 *                     of the border pixels to cnn_neon_bias_grad.
 *   backward_data     not here: the first layer needs none in training, and
 *                     the table uses cnn_conv3x3_backward_data_neon.
 *
 * Single-threaded, no heap, no static mutable state.
 */
#include <stddef.h>

#include "kernels.h"
#include "neon.h"

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

static inline int ceil_div(int a, int s)
{
    return a >= 0 ? (a + s - 1) / s : -((-a) / s);
}
static inline int floor_div(int a, int s)
{
    return a >= 0 ? a / s : -((-a + s - 1) / s);
}

/* ------------------------------------------------------------ forward */

/* Arguments of one strip of 8-pixel forward tiles. */
typedef struct c1_fwd {
    const float *x;  /* input row of kernel row ky0, at the first tap */
    ptrdiff_t x_r;   /* input row stride */
    const float *w;  /* w[ky0][0][0][co0] */
    ptrdiff_t w_r;   /* k * out_c: next kernel row */
    int M, nr;       /* out_c; kernel rows inside the image */
    const float *b;  /* bias at co0, or NULL */
    float *y;        /* output pixel of the first tile, channel co0 */
    int relu;
} c1_fwd;

#define C1_FMA8(j, wv)                                                       \
    do {                                                                     \
        acc[0][j] = vfmaq_laneq_f32(acc[0][j], wv, x0, 0);                   \
        acc[1][j] = vfmaq_laneq_f32(acc[1][j], wv, x0, 1);                   \
        acc[2][j] = vfmaq_laneq_f32(acc[2][j], wv, x0, 2);                   \
        acc[3][j] = vfmaq_laneq_f32(acc[3][j], wv, x0, 3);                   \
        acc[4][j] = vfmaq_laneq_f32(acc[4][j], wv, x1, 0);                   \
        acc[5][j] = vfmaq_laneq_f32(acc[5][j], wv, x1, 1);                   \
        acc[6][j] = vfmaq_laneq_f32(acc[6][j], wv, x1, 2);                   \
        acc[7][j] = vfmaq_laneq_f32(acc[7][j], wv, x1, 3);                   \
    } while (0)

/* ntiles tiles of 8 pixels (stride S) x V channel vectors, the last one
   with rl (1..4) lanes, a KxK kernel; all four compile-time constants. */
NEON_INLINE void c1_fwd_tiles(const int K, const int S, const int V,
                              const int rl, const c1_fwd *f, int ntiles)
{
    const int M = f->M, nr = f->nr;
    for (int tile = 0; tile < ntiles; tile++) {
        const float *xt = f->x + (ptrdiff_t)tile * 8 * S;
        float *yt = f->y + (ptrdiff_t)tile * 8 * M;
        float32x4_t acc[8][3];
        NEON_UNROLL for (int j = 0; j < V; j++) {
            const float32x4_t start =
                f->b ? neon_load(f->b + 4 * j, j == V - 1 ? rl : 4)
                     : vdupq_n_f32(0.0f);
            NEON_UNROLL for (int p = 0; p < 8; p++) acc[p][j] = start;
        }
        for (int ky = 0; ky < nr; ky++) {
            const float *xr = xt + ky * f->x_r;
            const float *wr = f->w + ky * f->w_r;
            NEON_UNROLL for (int kx = 0; kx < K; kx++) {
                float32x4_t x0, x1;
                if (S == 1) {
                    x0 = vld1q_f32(xr + kx);
                    x1 = vld1q_f32(xr + kx + 4);
                } else {
                    x0 = vld2q_f32(xr + kx).val[0];
                    x1 = vld2q_f32(xr + kx + 8).val[0];
                }
                NEON_UNROLL for (int j = 0; j < V; j++) {
                    const float32x4_t wv =
                        neon_load(wr + kx * M + 4 * j, j == V - 1 ? rl : 4);
                    C1_FMA8(j, wv);
                }
            }
        }
        const float32x4_t zero = vdupq_n_f32(0.0f);
        NEON_UNROLL for (int p = 0; p < 8; p++)
            NEON_UNROLL for (int j = 0; j < V; j++) {
                float32x4_t v = acc[p][j];
                if (f->relu)
                    v = vmaxq_f32(v, zero);
                neon_store(yt + p * M + 4 * j, v, j == V - 1 ? rl : 4);
            }
    }
}

typedef void (*c1_fwd_fn)(const c1_fwd *f, int ntiles);

#define DEFINE_C1_FWD1(K, S, V, R)                                           \
    static NEON_NOINLINE void c1_fwd##K##_s##S##_##V##_##R(const c1_fwd *f,  \
                                                           int nt)           \
    {                                                                        \
        c1_fwd_tiles(K, S, V, R, f, nt);                                     \
    }
#define DEFINE_C1_FWD(K, S, V)                                               \
    DEFINE_C1_FWD1(K, S, V, 1)                                               \
    DEFINE_C1_FWD1(K, S, V, 2)                                               \
    DEFINE_C1_FWD1(K, S, V, 3)                                               \
    DEFINE_C1_FWD1(K, S, V, 4)
#define C1_FWDS(K, S, V)                                                     \
    {c1_fwd##K##_s##S##_##V##_1, c1_fwd##K##_s##S##_##V##_2,                 \
     c1_fwd##K##_s##S##_##V##_3, c1_fwd##K##_s##S##_##V##_4}
#define C1_FWD_K(K)                                                          \
    DEFINE_C1_FWD(K, 1, 1)                                                   \
    DEFINE_C1_FWD(K, 1, 2)                                                   \
    DEFINE_C1_FWD(K, 1, 3)                                                   \
    DEFINE_C1_FWD(K, 2, 1)                                                   \
    DEFINE_C1_FWD(K, 2, 2)
C1_FWD_K(3)
C1_FWD_K(5)

/* [k == 5][stride - 1][V - 1][lanes of the last vector - 1]; stride 2 uses
   at most 2 vectors. */
static const c1_fwd_fn c1_fwd_fns[2][2][3][4] = {
    {{C1_FWDS(3, 1, 1), C1_FWDS(3, 1, 2), C1_FWDS(3, 1, 3)},
     {C1_FWDS(3, 2, 1), C1_FWDS(3, 2, 2), {NULL, NULL, NULL, NULL}}},
    {{C1_FWDS(5, 1, 1), C1_FWDS(5, 1, 2), C1_FWDS(5, 1, 3)},
     {C1_FWDS(5, 2, 1), C1_FWDS(5, 2, 2), {NULL, NULL, NULL, NULL}}},
};

void cnn_conv3x3c1_forward_neon(const cnn_conv_geom *g, int n,
                                const float *x, const float *w,
                                const float *b, float *y, int relu)
{
    const int H = g->in_h, IW = g->in_w;
    const int OH = g->out_h, OW = g->out_w, M = g->out_c;
    const int s = g->stride, pt = g->pad_top, pl = g->pad_left, K = g->k;
    /* Columns whose K taps, and the float a vld2q reads past them, are
       inside the row: [vec_lo, vec_hi), in tiles of 8. */
    const int vec_lo = imin(OW, ceil_div(pl, s));
    const int vec_hi =
        imax(vec_lo, imin(OW, floor_div(IW - (K - 1) - s + pl, s) + 1));
    const int ntiles = (vec_hi - vec_lo) / 8;
    const int tiled_end = vec_lo + 8 * ntiles;
    for (int img = 0; img < n; img++)
        for (int oy = 0; oy < OH; oy++) {
            const int iy0 = oy * s - pt;
            const int ky0 = imax(0, -iy0), ky1 = imin(K, H - iy0);
            if (ntiles == 0 || ky1 <= ky0) {
                cnn_conv3x3_forward_cols_neon(g, x, w, b, y, relu, img, oy, 0,
                                              OW);
                continue;
            }
            for (int co = 0; co < M;) {
                const int rem = M - co, vmax = s == 1 ? 3 : 2;
                const int V = rem >= 4 * vmax ? vmax : (rem + 3) / 4;
                const int r = rem >= 4 * vmax || rem % 4 == 0 ? 4 : rem % 4;
                const c1_fwd f = {
                    .x = x + ((ptrdiff_t)img * H + iy0 + ky0) * IW +
                         vec_lo * s - pl,
                    .x_r = IW,
                    .w = w + (ptrdiff_t)ky0 * K * M + co,
                    .w_r = (ptrdiff_t)K * M,
                    .M = M, .nr = ky1 - ky0,
                    .b = b ? b + co : NULL,
                    .y = y + (((ptrdiff_t)img * OH + oy) * OW + vec_lo) * M +
                         co,
                    .relu = relu,
                };
                c1_fwd_fns[K == 5][s - 1][V - 1][r - 1](&f, ntiles);
                co += 4 * (V - 1) + r;
            }
            cnn_conv3x3_forward_cols_neon(g, x, w, b, y, relu, img, oy, 0,
                                          vec_lo);
            cnn_conv3x3_forward_cols_neon(g, x, w, b, y, relu, img, oy,
                                          tiled_end, OW);
        }
}

/* --------------------------------------------------- backward weights */

/* Arguments of the all-taps-inside backward-weights tile. */
typedef struct c1_bwd {
    const float *x;   /* input pixel of tap (0, 0) of the first output */
    ptrdiff_t x_i, x_r, x_c; /* per image, output row, output column */
    const float *dy;  /* dy of the first output, channel co0 */
    ptrdiff_t d_i, d_r;      /* per image, output row (column: M) */
    int M, ni, nr, nc, W;    /* W: input row stride */
    float *dw;        /* dw[0][0][0][co0] */
    float *db;        /* db + co0, or NULL */
} c1_bwd;

/* acc[tap][j] += dy[j] * x(tap), taps 0..K*K-1, K per kernel row. */
/* Kernel row ky of a 3x3 kernel at one pixel: its 3 inputs at xp, exactly
   3 floats read (a d load for taps 0-1, an s load for tap 2). */
#define C1_BWD_ROW(ky, xp)                                                   \
    do {                                                                     \
        const float32x2_t x01 = vld1_f32(xp);                                \
        const float x2 = (xp)[2];                                            \
        float32x4_t *a0 = acc[3 * (ky)], *a1 = acc[3 * (ky) + 1];            \
        float32x4_t *a2 = acc[3 * (ky) + 2];                                 \
        NEON_UNROLL for (int j = 0; j < V; j++) {                            \
            a0[j] = vfmaq_lane_f32(a0[j], dv[j], x01, 0);                    \
            a1[j] = vfmaq_lane_f32(a1[j], dv[j], x01, 1);                    \
            a2[j] = vfmaq_n_f32(a2[j], dv[j], x2);                           \
        }                                                                    \
    } while (0)

/* The same for a 5x5 kernel (one vector: V = 1): 5 floats read, a q load
   for taps 0-3 and an s load for tap 4. */
#define C1_BWD_ROW5(ky, xp)                                                  \
    do {                                                                     \
        const float32x4_t x03 = vld1q_f32(xp);                               \
        const float x4 = (xp)[4];                                            \
        acc[5 * (ky)][0] = vfmaq_laneq_f32(acc[5 * (ky)][0], dv[0], x03, 0); \
        acc[5 * (ky) + 1][0] =                                               \
            vfmaq_laneq_f32(acc[5 * (ky) + 1][0], dv[0], x03, 1);            \
        acc[5 * (ky) + 2][0] =                                               \
            vfmaq_laneq_f32(acc[5 * (ky) + 2][0], dv[0], x03, 2);            \
        acc[5 * (ky) + 3][0] =                                               \
            vfmaq_laneq_f32(acc[5 * (ky) + 3][0], dv[0], x03, 3);            \
        acc[5 * (ky) + 4][0] = vfmaq_n_f32(acc[5 * (ky) + 4][0], dv[0], x4); \
    } while (0)

/* V channel vectors (3x3: 1 or 2; 5x5: 1), the last with rl (1..4)
   lanes, a KxK kernel, all compile-time. */
NEON_INLINE void c1_bwd_tile(const int K, const int V, const int rl,
                             const int with_db, const c1_bwd *t)
{
    const int M = t->M, W = t->W;
    float32x4_t acc[25][2], dacc[2];
    NEON_UNROLL for (int q = 0; q < K * K; q++)
        NEON_UNROLL for (int j = 0; j < V; j++) acc[q][j] = vdupq_n_f32(0.0f);
    NEON_UNROLL for (int j = 0; j < V; j++) dacc[j] = vdupq_n_f32(0.0f);
    for (int i = 0; i < t->ni; i++)
        for (int rr = 0; rr < t->nr; rr++) {
            const float *xp = t->x + i * t->x_i + rr * t->x_r;
            const float *dp = t->dy + i * t->d_i + rr * t->d_r;
            for (int c = 0; c < t->nc; c++) {
                float32x4_t dv[2];
                NEON_UNROLL for (int j = 0; j < V; j++)
                    dv[j] = neon_load(dp + 4 * j, j == V - 1 ? rl : 4);
                if (K == 3) {
                    C1_BWD_ROW(0, xp);
                    C1_BWD_ROW(1, xp + W);
                    C1_BWD_ROW(2, xp + 2 * W);
                } else {
                    NEON_UNROLL for (int ky = 0; ky < 5; ky++)
                        C1_BWD_ROW5(ky, xp + ky * W);
                }
                if (with_db)
                    NEON_UNROLL for (int j = 0; j < V; j++)
                        dacc[j] = vaddq_f32(dacc[j], dv[j]);
                xp += t->x_c;
                dp += M;
            }
        }
    NEON_UNROLL for (int q = 0; q < K * K; q++)
        NEON_UNROLL for (int j = 0; j < V; j++) {
            const int rj = j == V - 1 ? rl : 4;
            float *op = t->dw + q * M + 4 * j;
            neon_store(op, vaddq_f32(neon_load(op, rj), acc[q][j]), rj);
        }
    if (with_db)
        NEON_UNROLL for (int j = 0; j < V; j++) {
            const int rj = j == V - 1 ? rl : 4;
            float *op = t->db + 4 * j;
            neon_store(op, vaddq_f32(neon_load(op, rj), dacc[j]), rj);
        }
}

typedef void (*c1_bwd_fn)(const c1_bwd *t);

#define DEFINE_C1_BWD1(K, V, R, DB)                                          \
    static NEON_NOINLINE void c1_bwd##K##_##V##_##R##_##DB(const c1_bwd *t)  \
    {                                                                        \
        c1_bwd_tile(K, V, R, DB, t);                                         \
    }
#define DEFINE_C1_BWD(K, V, R)                                               \
    DEFINE_C1_BWD1(K, V, R, 0)                                               \
    DEFINE_C1_BWD1(K, V, R, 1)
#define C1_BWDS(K, V, R) {c1_bwd##K##_##V##_##R##_0, c1_bwd##K##_##V##_##R##_1}
#define C1_BWD_V(K, V)                                                       \
    DEFINE_C1_BWD(K, V, 1)                                                   \
    DEFINE_C1_BWD(K, V, 2)                                                   \
    DEFINE_C1_BWD(K, V, 3)                                                   \
    DEFINE_C1_BWD(K, V, 4)
#define C1_BWDS_V(K, V)                                                      \
    {C1_BWDS(K, V, 1), C1_BWDS(K, V, 2), C1_BWDS(K, V, 3), C1_BWDS(K, V, 4)}
C1_BWD_V(3, 1)
C1_BWD_V(3, 2)
C1_BWD_V(5, 1)

/* [k == 5][V - 1][lanes of the last vector - 1][with db]; 5x5: V = 1
   (25 sums of one vector). */
static const c1_bwd_fn c1_bwd_fns[2][2][4][2] = {
    {C1_BWDS_V(3, 1), C1_BWDS_V(3, 2)},
    {C1_BWDS_V(5, 1), {{NULL, NULL}}},
};

/* Outputs o in [*lo, *hi) whose tap kk (one axis) reads inside [0, in). */
static void tap_outputs(int kk, int s, int pad, int in, int out, int *lo,
                        int *hi)
{
    *lo = imin(out, imax(0, ceil_div(pad - kk, s)));
    *hi = imax(*lo, imin(out, floor_div(in - 1 + pad - kk, s) + 1));
}

/* A rectangle of output pixels: rows [y0, y1), columns [x0, x1). */
typedef struct rect {
    int y0, y1, x0, x1;
} rect;

/* dw[ky][kx] += contributions of the output pixels in q (all of whose
   tap-(ky, kx) inputs are inside the image). */
static void tap_rect(const cnn_conv_geom *g, int n, const float *x,
                     const float *dy, float *dw, int ky, int kx, rect q)
{
    if (q.y1 <= q.y0 || q.x1 <= q.x0)
        return;
    const int H = g->in_h, IW = g->in_w, OH = g->out_h, OW = g->out_w;
    const int M = g->out_c, s = g->stride;
    const neon_gemm_b t = {
        .a = x + (ptrdiff_t)(q.y0 * s - g->pad_top + ky) * IW +
             q.x0 * s - g->pad_left + kx,
        .a_i = (ptrdiff_t)H * IW, .a_r = (ptrdiff_t)s * IW, .a_c = s,
        .b = dy + ((ptrdiff_t)q.y0 * OW + q.x0) * M,
        .b_i = (ptrdiff_t)OH * OW * M, .b_r = (ptrdiff_t)OW * M, .b_c = M,
        .ni = n, .nr = q.y1 - q.y0, .nc = q.x1 - q.x0,
        .o = dw + (ptrdiff_t)(ky * g->k + kx) * M, .o_p = M, .db = NULL,
    };
    cnn_neon_gemm_b(&t, 1, M);
}

/* db += the dy of the output pixels in q. */
static void bias_rect(const cnn_conv_geom *g, int n, const float *dy,
                      float *db, rect q)
{
    if (q.y1 <= q.y0 || q.x1 <= q.x0)
        return;
    const int OH = g->out_h, OW = g->out_w, M = g->out_c;
    cnn_neon_bias_grad(dy + ((ptrdiff_t)q.y0 * OW + q.x0) * M,
                       (ptrdiff_t)OH * OW * M, (ptrdiff_t)OW * M, M, n,
                       q.y1 - q.y0, q.x1 - q.x0, M, db);
}

void cnn_conv3x3c1_backward_weights_neon(const cnn_conv_geom *g, int n,
                                         const float *x, const float *dy,
                                         float *dw, float *db)
{
    const int H = g->in_h, IW = g->in_w, OH = g->out_h, OW = g->out_w;
    const int M = g->out_c, s = g->stride, K = g->k;
    const int pt = g->pad_top, pl = g->pad_left;
    /* The interior: outputs whose K*K taps are all inside the image (the
       intersection of tap (0, 0)'s and tap (K-1, K-1)'s rectangles). */
    int a0, a1, b0, b1;
    rect in;
    tap_outputs(0, s, pt, H, OH, &a0, &a1);
    tap_outputs(K - 1, s, pt, H, OH, &b0, &b1);
    in.y0 = imax(a0, b0), in.y1 = imin(a1, b1);
    tap_outputs(0, s, pl, IW, OW, &a0, &a1);
    tap_outputs(K - 1, s, pl, IW, OW, &b0, &b1);
    in.x0 = imax(a0, b0), in.x1 = imin(a1, b1);
    if (in.y1 <= in.y0 || in.x1 <= in.x0) { /* no interior */
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++) {
                rect q;
                tap_outputs(ky, s, pt, H, OH, &q.y0, &q.y1);
                tap_outputs(kx, s, pl, IW, OW, &q.x0, &q.x1);
                tap_rect(g, n, x, dy, dw, ky, kx, q);
            }
        if (db)
            bias_rect(g, n, dy, db, (rect){0, OH, 0, OW});
        return;
    }
    for (int co = 0; co < M;) {
        const int rem = M - co;
        const int vmax = K == 5 ? 1 : 2;
        const int V = rem >= 4 * vmax ? vmax : (rem + 3) / 4;
        const int r = rem >= 4 * vmax || rem % 4 == 0 ? 4 : rem % 4;
        const c1_bwd t = {
            .x = x + (ptrdiff_t)(in.y0 * s - pt) * IW + in.x0 * s - pl,
            .x_i = (ptrdiff_t)H * IW, .x_r = (ptrdiff_t)s * IW, .x_c = s,
            .dy = dy + ((ptrdiff_t)in.y0 * OW + in.x0) * M + co,
            .d_i = (ptrdiff_t)OH * OW * M, .d_r = (ptrdiff_t)OW * M,
            .M = M, .ni = n, .nr = in.y1 - in.y0, .nc = in.x1 - in.x0,
            .W = IW,
            .dw = dw + co, .db = db ? db + co : NULL,
        };
        c1_bwd_fns[K == 5][V - 1][r - 1][db != NULL](&t);
        co += 4 * (V - 1) + r;
    }
    /* Border: each tap's rectangle less the interior, as 4 strips. */
    for (int ky = 0; ky < K; ky++)
        for (int kx = 0; kx < K; kx++) {
            rect q;
            tap_outputs(ky, s, pt, H, OH, &q.y0, &q.y1);
            tap_outputs(kx, s, pl, IW, OW, &q.x0, &q.x1);
            const rect strips[4] = {
                {q.y0, in.y0, q.x0, q.x1},   /* above the interior */
                {in.y1, q.y1, q.x0, q.x1},   /* below */
                {in.y0, in.y1, q.x0, in.x0}, /* left */
                {in.y0, in.y1, in.x1, q.x1}, /* right */
            };
            for (int i = 0; i < 4; i++)
                tap_rect(g, n, x, dy, dw, ky, kx, strips[i]);
        }
    if (db) {
        bias_rect(g, n, dy, db, (rect){0, in.y0, 0, OW});
        bias_rect(g, n, dy, db, (rect){in.y1, OH, 0, OW});
        bias_rect(g, n, dy, db, (rect){in.y0, in.y1, 0, in.x0});
        bias_rect(g, n, dy, db, (rect){in.y0, in.y1, in.x1, OW});
    }
}
