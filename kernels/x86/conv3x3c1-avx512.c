/*
 * conv3x3c1-avx512.c — the first layer: KxK convolution (k = 3 or 5) of a
 * one-channel image into at most 32 output channels, AVX-512, any stride
 * and padding.
 *
 *   cnn_conv3x3c1_forward_avx512           y = act(conv(x, w) + b)
 *   cnn_conv3x3c1_backward_weights_avx512  dw += x (x) dy, db += sum dy
 *
 * They apply where cnn_conv3x3c1_fits_avx512 (kernels/list.c) says so.
 * (Backward-data of a first layer is never needed in training; the kernel
 * list gives it the generic 3x3 kernel.)
 *
 * Each image is first copied into a zero-padded stack buffer (at most
 * PAD_CAP floats), so no pixel is a border pixel.  Vectorised over the
 * output channels (V = 1 or 2 zmm vectors, tail masked).  The tile loops
 * take K as a literal (macros instantiated for 3 and 5), so they unroll:
 *   forward           3x3: the 9*V weight vectors stay in registers; tiles
 *                     of up to 6 (V = 2) or 12 (V = 1) pixels of an output
 *                     row, 9 broadcasts per pixel.  5x5 of at most 16
 *                     outputs (25 weight vectors would leave too few
 *                     accumulators): tiles of up to 14 pixels, the weight
 *                     vector of a tap loaded once per tap and tile from a
 *                     copy padded to a whole vector; 5x5 of 17..32
 *                     outputs: the direct kernel (conv3x3-avx512.c), whose
 *                     grid tiles measured faster than 14 px x 2 zmm;
 *   backward_weights  the gradient vectors of a group of kernel rows (all
 *                     K rows but for 5x5 with V = 2: 2, 2 and 1 rows) and
 *                     V bias-gradient vectors stay in registers over every
 *                     pixel of an image, then are added to dw and db.
 */
#include <stddef.h>
#include <string.h>

#include "avx512.h"
#include "list.h"

#define UNROLL _Pragma("GCC unroll 32")

/* The padded image buffer; cnn_conv3x3c1_fits_avx512 (list.c) keeps the
   geometries this set runs here within it. */
enum { PAD_CAP = CNN_CONV3X3C1_AVX512_PAD_CAP, K_MAX = 5 };

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

typedef struct padded {
    int PH, PW;
} padded;

static padded padded_size(const cnn_conv_geom *g)
{
    padded p = {(g->out_h - 1) * g->stride + g->k,
                (g->out_w - 1) * g->stride + g->k};
    return p;
}

/* xp[py][px] = x[py - pad_top][px - pad_left], 0 outside the image. */
static void pad_image(const cnn_conv_geom *g, const float *x, padded p,
                      float *xp)
{
    /* columns [px0, px1) of a padded row come from the image row */
    const int px0 = imax(0, g->pad_left);
    const int px1 = imax(px0, imin(p.PW, g->in_w + g->pad_left));
    for (int py = 0; py < p.PH; py++) {
        const int iy = py - g->pad_top;
        float *row = xp + (ptrdiff_t)py * p.PW;
        if (iy < 0 || iy >= g->in_h || px1 == px0) {
            memset(row, 0, (size_t)p.PW * sizeof *row);
            continue;
        }
        memset(row, 0, (size_t)px0 * sizeof *row);
        memcpy(row + px0, x + (ptrdiff_t)iy * g->in_w + px0 - g->pad_left,
               (size_t)(px1 - px0) * sizeof *row);
        memset(row + px1, 0, (size_t)(p.PW - px1) * sizeof *row);
    }
}

/* --------------------------------------------------------- forward */

/* Weight vector v of tap t: in registers (WREG 1: wv) or loaded from the
   copy padded to whole vectors (WREG 0: wb, 64-byte aligned). */
#define FWD_W1(K, V, t, v) wv[(t) * (V) + (v)]
#define FWD_W0(K, V, t, v) _mm512_load_ps(wbp + ((t) * (V) + (v)) * 16)

/* P output pixels (literal) of V vectors (literal) from padded row pointer
   r, pixels ST apart; bias bv[V] in registers; the caller's `full` says no
   store needs a mask.  A macro, not a function, so that every loop has a
   literal trip count (clang does not fully unroll loops whose bound only
   becomes constant by inlining). */
#define FWD_TILE(K, P, V, ST, WREG)                                          \
    do {                                                                     \
        __m512 acc[P][V];                                                    \
        UNROLL for (int p = 0; p < P; p++)                                   \
            UNROLL for (int v = 0; v < V; v++) acc[p][v] = bv[v];            \
        UNROLL for (int ky = 0; ky < K; ky++)                                \
            UNROLL for (int kx = 0; kx < K; kx++)                            \
                UNROLL for (int p = 0; p < P; p++) {                         \
                    const __m512 a =                                         \
                        _mm512_set1_ps(r[ky * PW + p * (ST) + kx]);          \
                    UNROLL for (int v = 0; v < V; v++)                       \
                        acc[p][v] = _mm512_fmadd_ps(                         \
                            a, FWD_W##WREG(K, V, ky * K + kx, v),            \
                            acc[p][v]);                                      \
                }                                                            \
        UNROLL for (int p = 0; p < P; p++)                                   \
            UNROLL for (int v = 0; v < V; v++) {                             \
                __m512 o = acc[p][v];                                        \
                if (relu)                                                    \
                    o = _mm512_max_ps(o, _mm512_setzero_ps());               \
                if (full)                                                    \
                    _mm512_storeu_ps(yr + p * M + 16 * v, o);                \
                else                                                         \
                    _mm512_mask_storeu_ps(yr + p * M + 16 * v, mk[v], o);    \
            }                                                                \
    } while (0)

#define FWD_CASE(K, P, V, ST, WREG)                                          \
    case P:                                                                  \
        FWD_TILE(K, P, V, ST, WREG);                                         \
        break;
#define FWD_SWITCH_6(K, V, ST, WREG)                                         \
    FWD_CASE(K, 1, V, ST, WREG) FWD_CASE(K, 2, V, ST, WREG)                  \
    FWD_CASE(K, 3, V, ST, WREG) FWD_CASE(K, 4, V, ST, WREG)                  \
    FWD_CASE(K, 5, V, ST, WREG) FWD_CASE(K, 6, V, ST, WREG)
#define FWD_SWITCH_12(K, V, ST, WREG)                                        \
    FWD_SWITCH_6(K, V, ST, WREG)                                             \
    FWD_CASE(K, 7, V, ST, WREG) FWD_CASE(K, 8, V, ST, WREG)                  \
    FWD_CASE(K, 9, V, ST, WREG) FWD_CASE(K, 10, V, ST, WREG)                 \
    FWD_CASE(K, 11, V, ST, WREG) FWD_CASE(K, 12, V, ST, WREG)
#define FWD_SWITCH_14(K, V, ST, WREG)                                        \
    FWD_SWITCH_12(K, V, ST, WREG)                                            \
    FWD_CASE(K, 13, V, ST, WREG) FWD_CASE(K, 14, V, ST, WREG)

/* WREG 0: the weight copy through a pointer the compiler cannot see
   through, so that it loads each tap's vectors in the tile instead of
   hoisting all 25*V of them out of the loops (and spilling them). */
#define FWD_OPAQUE_W1
#define FWD_OPAQUE_W0                                                        \
    const float *wbp = wb;                                                   \
    __asm__("" : "+r"(wbp));

/* Loads the weights: into wv (WREG 1) or into wb padded to whole vectors
   with zeros (WREG 0). */
#define FWD_LOAD_W1(K, V)                                                    \
    __m512 wv[K * K * V];                                                    \
    UNROLL for (int t = 0; t < K * K; t++)                                   \
        UNROLL for (int v = 0; v < V; v++)                                   \
            wv[t * V + v] = _mm512_maskz_loadu_ps(mk[v], w + t * M + 16 * v);
#define FWD_LOAD_W0(K, V)                                                    \
    _Alignas(64) float wb[K * K * V * 16];                                   \
    for (int t = 0; t < K * K; t++)                                          \
        for (int v = 0; v < V; v++)                                          \
            _mm512_store_ps(wb + (t * V + v) * 16,                           \
                            _mm512_maskz_loadu_ps(mk[v], w + t * M + 16 * v));

/* One padded image: output rows in balanced tiles of at most PMAX pixels
   (3x3: PMAX*V accumulators + 9*V weights <= 30 registers; 5x5: PMAX*V
   accumulators + V weights).  S: the stride as a literal (1), or 0 for any
   stride.  FULL: out_c is a multiple of 16, no masks (gcc keeps masks in
   memory and reloads them in loops). */
#define DEFINE_FWD_IMAGE(NAME, K, V, PMAX, S, FULL, WREG)                    \
    static void NAME(const cnn_conv_geom *g, const float *xp, padded pd,     \
                     const float *w, const float *b, float *y, int relu)     \
    {                                                                        \
        const int M = g->out_c, s = g->stride, OW = g->out_w;                \
        const int st = (S) ? (S) : s, full = (FULL);                         \
        const ptrdiff_t PW = pd.PW;                                          \
        __mmask16 mk[V];                                                     \
        __m512 bv[V];                                                        \
        UNROLL for (int v = 0; v < V; v++) {                                 \
            mk[v] = cnn_avx512_lanes(M - 16 * v);                            \
            bv[v] = b ? _mm512_maskz_loadu_ps(mk[v], b + 16 * v)             \
                      : _mm512_setzero_ps();                                 \
        }                                                                    \
        FWD_LOAD_W##WREG(K, V)                                               \
        const int ntiles = (OW + PMAX - 1) / PMAX;                           \
        const int base = OW / ntiles, big = OW % ntiles;                     \
        for (int oy = 0; oy < g->out_h; oy++) {                              \
            int ox = 0;                                                      \
            for (int i = 0; i < ntiles; i++) {                               \
                const int P = base + (i < big);                              \
                const float *r =                                             \
                    xp + (ptrdiff_t)oy * s * PW + (ptrdiff_t)ox * st;        \
                float *yr = y + ((ptrdiff_t)oy * OW + ox) * M;               \
                FWD_OPAQUE_W##WREG                                           \
                switch (P) { FWD_SWITCH_##PMAX(K, V, st, WREG) }             \
                ox += P;                                                     \
            }                                                                \
        }                                                                    \
    }

DEFINE_FWD_IMAGE(fwd3_v2_s1_full, 3, 2, 6, 1, 1, 1)
DEFINE_FWD_IMAGE(fwd3_v2, 3, 2, 6, 0, 0, 1)
DEFINE_FWD_IMAGE(fwd3_v1_s1_full, 3, 1, 12, 1, 1, 1)
DEFINE_FWD_IMAGE(fwd3_v1, 3, 1, 12, 0, 0, 1)
DEFINE_FWD_IMAGE(fwd5_v1_s1_full, 5, 1, 14, 1, 1, 0)
DEFINE_FWD_IMAGE(fwd5_v1, 5, 1, 14, 0, 0, 0)

/* 5x5, stride 1, 8 outputs: two pixels a vector (conv5x5c1-pairs-...),
   not half-empty vectors of one pixel. */
static int pairs(const cnn_conv_geom *g, padded pd)
{
    return g->k == 5 && g->stride == 1 && g->out_c == 8 &&
           pd.PW <= CNN_AVX512_C1X8_PW_CAP;
}

static void fwd_pairs(const cnn_conv_geom *g, const float *xp, padded pd,
                      const float *w, const float *b, float *y, int relu)
{
    cnn_avx512_c1x8_forward_image(g, xp, pd.PW, w, b, y, relu);
}

typedef void (*fwd_image_fn)(const cnn_conv_geom *, const float *, padded,
                             const float *, const float *, float *, int);

/* [k == 5][out_c > 16][stride 1 and out_c 16 or 32] (5x5 of more than
   16 outputs: the direct kernel, see below) */
static const fwd_image_fn fwd_images[2][2][2] = {
    {{fwd3_v1, fwd3_v1_s1_full}, {fwd3_v2, fwd3_v2_s1_full}},
    {{fwd5_v1, fwd5_v1_s1_full}, {NULL, NULL}},
};

void cnn_conv3x3c1_forward_avx512(const cnn_conv_geom *g, int n,
                                  const float *x, const float *w,
                                  const float *b, float *y, int relu)
{
    const padded pd = padded_size(g);
    float xp[PAD_CAP];
    const ptrdiff_t xs = (ptrdiff_t)g->in_h * g->in_w;
    const ptrdiff_t ys = (ptrdiff_t)g->out_h * g->out_w * g->out_c;
    const int v2 = g->out_c > 16;
    const int full = g->stride == 1 && g->out_c == (v2 ? 32 : 16);
    fwd_image_fn f = fwd_images[g->k == 5][v2][full];
    if (pairs(g, pd)) /* see pairs() */
        f = fwd_pairs;
    if (!f) { /* 5x5, 17..32 outputs: the grid GEMM tiles are faster */
        cnn_conv3x3_forward_avx512(g, n, x, w, b, y, relu);
        return;
    }
    for (int img = 0; img < n; img++) {
        pad_image(g, x + img * xs, pd, xp);
        f(g, xp, pd, w, b, y + img * ys, relu);
    }
}

/* ------------------------------------------------ backward weights */

/* One image's sums for kernel rows [KY0, KY0 + NR) (literals) of a KxK
   kernel: their NR*K*V gradient vectors (and, BIAS, the V bias-gradient
   vectors) in registers over every pixel, then added to dw (and db).
   FULL: out_c is a multiple of 16, no masks in the pixel loop. */
#define DEFINE_BWD_ROWS(NAME, K, V, FULL, KY0, NR, BIAS)                     \
    static void NAME(const cnn_conv_geom *g, const float *xp, padded pd,     \
                     const float *d, float *dw, float *db)                   \
    {                                                                        \
        const int M = g->out_c, s = g->stride, OH = g->out_h;                \
        const int OW = g->out_w;                                             \
        const ptrdiff_t PW = pd.PW;                                          \
        __mmask16 mk[V];                                                     \
        __m512 acc[(NR) * K][V], bacc[V];                                    \
        UNROLL for (int v = 0; v < V; v++) {                                 \
            mk[v] = cnn_avx512_lanes(M - 16 * v);                            \
            bacc[v] = _mm512_setzero_ps();                                   \
            UNROLL for (int t = 0; t < (NR) * K; t++) acc[t][v] = bacc[v];   \
        }                                                                    \
        for (int oy = 0; oy < OH; oy++) {                                    \
            const float *r = xp + (ptrdiff_t)(oy * s + (KY0)) * PW;          \
            for (int ox = 0; ox < OW; ox++, r += s, d += M) {                \
                __m512 dv[V];                                                \
                UNROLL for (int v = 0; v < V; v++) {                         \
                    dv[v] = FULL ? _mm512_loadu_ps(d + 16 * v)               \
                                 : _mm512_maskz_loadu_ps(mk[v], d + 16 * v); \
                    if (BIAS)                                                \
                        bacc[v] = _mm512_add_ps(bacc[v], dv[v]);             \
                }                                                            \
                UNROLL for (int ky = 0; ky < (NR); ky++)                     \
                    UNROLL for (int kx = 0; kx < K; kx++) {                  \
                        const __m512 a = _mm512_set1_ps(r[ky * PW + kx]);    \
                        UNROLL for (int v = 0; v < V; v++)                   \
                            acc[ky * K + kx][v] = _mm512_fmadd_ps(           \
                                a, dv[v], acc[ky * K + kx][v]);              \
                    }                                                        \
            }                                                                \
        }                                                                    \
        UNROLL for (int t = 0; t < (NR) * K; t++)                            \
            UNROLL for (int v = 0; v < V; v++) {                             \
                float *o = dw + ((KY0) * K + t) * M + 16 * v;                \
                _mm512_mask_storeu_ps(                                       \
                    o, mk[v],                                                \
                    _mm512_add_ps(_mm512_maskz_loadu_ps(mk[v], o),           \
                                  acc[t][v]));                               \
            }                                                                \
        if ((BIAS) && db)                                                    \
            UNROLL for (int v = 0; v < V; v++) {                             \
                float *o = db + 16 * v;                                      \
                _mm512_mask_storeu_ps(                                       \
                    o, mk[v],                                                \
                    _mm512_add_ps(_mm512_maskz_loadu_ps(mk[v], o),           \
                                  bacc[v]));                                 \
            }                                                                \
    }

/* 3x3: all rows at once (9*V + V + V registers). */
#define BWD3(V, FULL, NAME) DEFINE_BWD_ROWS(NAME##_r0, 3, V, FULL, 0, 3, 1)
/* 5x5, V = 1: all rows (25 + 1 + 1); V = 2: rows 0-1, 2-3, 4 (20 + 2 + 2). */
#define BWD5_V1(FULL, NAME) DEFINE_BWD_ROWS(NAME##_r0, 5, 1, FULL, 0, 5, 1)
#define BWD5_V2(FULL, NAME)                                                  \
    DEFINE_BWD_ROWS(NAME##_r0, 5, 2, FULL, 0, 2, 1)                          \
    DEFINE_BWD_ROWS(NAME##_r1, 5, 2, FULL, 2, 2, 0)                          \
    DEFINE_BWD_ROWS(NAME##_r2, 5, 2, FULL, 4, 1, 0)

BWD3(2, 1, bwd3_v2_full)
BWD3(2, 0, bwd3_v2)
BWD3(1, 1, bwd3_v1_full)
BWD3(1, 0, bwd3_v1)
BWD5_V2(1, bwd5_v2_full)
BWD5_V2(0, bwd5_v2)
BWD5_V1(1, bwd5_v1_full)
BWD5_V1(0, bwd5_v1)

typedef void (*bwd_rows_fn)(const cnn_conv_geom *, const float *, padded,
                            const float *, float *, float *);

/* The row groups of each kind, NULL-terminated:
   [k == 5][out_c > 16][out_c 16 or 32]. */
#define ROWS1(NAME) {NAME##_r0, NULL, NULL}
#define ROWS3(NAME) {NAME##_r0, NAME##_r1, NAME##_r2}
static const bwd_rows_fn bwd_rows[2][2][2][3] = {
    {{ROWS1(bwd3_v1), ROWS1(bwd3_v1_full)},
     {ROWS1(bwd3_v2), ROWS1(bwd3_v2_full)}},
    {{ROWS1(bwd5_v1), ROWS1(bwd5_v1_full)},
     {ROWS3(bwd5_v2), ROWS3(bwd5_v2_full)}},
};

void cnn_conv3x3c1_backward_weights_avx512(const cnn_conv_geom *g, int n,
                                           const float *x, const float *dy,
                                           float *dw, float *db)
{
    const padded pd = padded_size(g);
    float xp[PAD_CAP];
    const int v2 = g->out_c > 16;
    const int full = g->out_c == (v2 ? 32 : 16);
    const bwd_rows_fn *f = bwd_rows[g->k == 5][v2][full];
    const ptrdiff_t ys = (ptrdiff_t)g->out_h * g->out_w * g->out_c;
    for (int img = 0; img < n; img++) {
        pad_image(g, x + (ptrdiff_t)img * g->in_h * g->in_w, pd, xp);
        if (pairs(g, pd)) {
            cnn_avx512_c1x8_backward_weights_image(g, xp, pd.PW, dy + img * ys,
                                                   dw, db);
            continue;
        }
        for (int i = 0; i < 3 && f[i]; i++)
            f[i](g, xp, pd, dy + img * ys, dw, db);
    }
}
