/*
 * conv3x3c1-avx512.c — the first layer: 3x3 convolution of a one-channel
 * image into at most 32 output channels, AVX-512, any stride and padding.
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
 * output channels (V = 1 or 2 zmm vectors, tail masked):
 *   forward           the 9*V weight vectors stay in registers; tiles of up
 *                     to 6 (V = 2) or 12 (V = 1) pixels of an output row,
 *                     9 broadcasts per pixel;
 *   backward_weights  the 9*V gradient vectors and V bias-gradient vectors
 *                     stay in registers over every pixel of the n images,
 *                     then are added to dw and db.
 */
#include <stddef.h>

#include "avx512.h"
#include "list.h"

#define UNROLL _Pragma("GCC unroll 32")

/* The padded image buffer; cnn_conv3x3c1_fits_avx512 (list.c) keeps the
   geometries this set runs here within it. */
enum { PAD_CAP = CNN_CONV3X3C1_AVX512_PAD_CAP, K = 3 };

typedef struct padded {
    int PH, PW;
} padded;

static padded padded_size(const cnn_conv_geom *g)
{
    padded p = {(g->out_h - 1) * g->stride + K, (g->out_w - 1) * g->stride + K};
    return p;
}

/* xp[py][px] = x[py - pad_top][px - pad_left], 0 outside the image. */
static void pad_image(const cnn_conv_geom *g, const float *x, padded p,
                      float *xp)
{
    for (int py = 0; py < p.PH; py++) {
        const int iy = py - g->pad_top;
        float *row = xp + (ptrdiff_t)py * p.PW;
        const int inside = iy >= 0 && iy < g->in_h;
        for (int px = 0; px < p.PW; px++) {
            const int ix = px - g->pad_left;
            row[px] = inside && ix >= 0 && ix < g->in_w
                          ? x[(ptrdiff_t)iy * g->in_w + ix]
                          : 0.0f;
        }
    }
}

/* --------------------------------------------------------- forward */

/* P output pixels (literal) of V vectors (literal) from padded row pointer
   r, pixels ST apart; weights wv[9*V], bias bv[V] in registers; the
   caller's `full` says no store needs a mask.  A macro,
   not a function, so that every loop has a literal trip count (clang does
   not fully unroll loops whose bound only becomes constant by inlining). */
#define FWD_TILE(P, V, ST)                                                   \
    do {                                                                     \
        const float *rows[K] = {r, r + PW, r + 2 * PW};                      \
        __m512 acc[P][V];                                                    \
        UNROLL for (int p = 0; p < P; p++)                                   \
            UNROLL for (int v = 0; v < V; v++) acc[p][v] = bv[v];            \
        UNROLL for (int ky = 0; ky < K; ky++)                                \
            UNROLL for (int kx = 0; kx < K; kx++)                            \
                UNROLL for (int p = 0; p < P; p++) {                         \
                    const __m512 a =                                         \
                        _mm512_set1_ps(rows[ky][p * (ST) + kx]);             \
                    UNROLL for (int v = 0; v < V; v++)                       \
                        acc[p][v] = _mm512_fmadd_ps(                         \
                            a, wv[(ky * K + kx) * V + v], acc[p][v]);        \
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

#define FWD_CASE(P, V, ST)                                                   \
    case P:                                                                  \
        FWD_TILE(P, V, ST);                                                  \
        break;
#define FWD_SWITCH_6(V, ST)                                                  \
    FWD_CASE(1, V, ST) FWD_CASE(2, V, ST) FWD_CASE(3, V, ST)                 \
    FWD_CASE(4, V, ST) FWD_CASE(5, V, ST) FWD_CASE(6, V, ST)
#define FWD_SWITCH_12(V, ST)                                                 \
    FWD_SWITCH_6(V, ST)                                                      \
    FWD_CASE(7, V, ST) FWD_CASE(8, V, ST) FWD_CASE(9, V, ST)                 \
    FWD_CASE(10, V, ST) FWD_CASE(11, V, ST) FWD_CASE(12, V, ST)

/* One padded image: output rows in balanced tiles of at most PMAX pixels
   (PMAX*V accumulators + 9*V weights <= 30 registers).  S: the stride as
   a literal (1), or 0 for any stride.  FULL: out_c is a multiple of 16,
   no masks (gcc keeps masks in memory and reloads them in loops). */
#define DEFINE_FWD_IMAGE(NAME, V, PMAX, S, FULL)                             \
    static void NAME(const cnn_conv_geom *g, const float *xp, padded pd,     \
                     const float *w, const float *b, float *y, int relu)     \
    {                                                                        \
        const int M = g->out_c, s = g->stride, OW = g->out_w;                \
        const int st = (S) ? (S) : s, full = (FULL);                         \
        const ptrdiff_t PW = pd.PW;                                          \
        __mmask16 mk[V];                                                     \
        __m512 wv[K * K * V], bv[V];                                         \
        UNROLL for (int v = 0; v < V; v++) {                                 \
            mk[v] = cnn_avx512_lanes(M - 16 * v);                            \
            bv[v] = b ? _mm512_maskz_loadu_ps(mk[v], b + 16 * v)             \
                      : _mm512_setzero_ps();                                 \
        }                                                                    \
        UNROLL for (int t = 0; t < K * K; t++)                               \
            UNROLL for (int v = 0; v < V; v++)                               \
                wv[t * V + v] =                                              \
                    _mm512_maskz_loadu_ps(mk[v], w + t * M + 16 * v);        \
        const int ntiles = (OW + PMAX - 1) / PMAX;                           \
        const int base = OW / ntiles, big = OW % ntiles;                     \
        for (int oy = 0; oy < g->out_h; oy++) {                              \
            int ox = 0;                                                      \
            for (int i = 0; i < ntiles; i++) {                               \
                const int P = base + (i < big);                              \
                const float *r =                                             \
                    xp + (ptrdiff_t)oy * s * PW + (ptrdiff_t)ox * st;        \
                float *yr = y + ((ptrdiff_t)oy * OW + ox) * M;               \
                switch (P) { FWD_SWITCH_##PMAX(V, st) }                      \
                ox += P;                                                     \
            }                                                                \
        }                                                                    \
    }

DEFINE_FWD_IMAGE(fwd_image_v2_s1_full, 2, 6, 1, 1)
DEFINE_FWD_IMAGE(fwd_image_v2, 2, 6, 0, 0)
DEFINE_FWD_IMAGE(fwd_image_v1_s1_full, 1, 12, 1, 1)
DEFINE_FWD_IMAGE(fwd_image_v1, 1, 12, 0, 0)

void cnn_conv3x3c1_forward_avx512(const cnn_conv_geom *g, int n,
                                  const float *x, const float *w,
                                  const float *b, float *y, int relu)
{
    const padded pd = padded_size(g);
    float xp[PAD_CAP];
    const ptrdiff_t xs = (ptrdiff_t)g->in_h * g->in_w;
    const ptrdiff_t ys = (ptrdiff_t)g->out_h * g->out_w * g->out_c;
    for (int img = 0; img < n; img++) {
        pad_image(g, x + img * xs, pd, xp);
        float *yi = y + img * ys;
        if (g->out_c > 16) {
            if (g->stride == 1 && g->out_c == 32)
                fwd_image_v2_s1_full(g, xp, pd, w, b, yi, relu);
            else
                fwd_image_v2(g, xp, pd, w, b, yi, relu);
        } else {
            if (g->stride == 1 && g->out_c == 16)
                fwd_image_v1_s1_full(g, xp, pd, w, b, yi, relu);
            else
                fwd_image_v1(g, xp, pd, w, b, yi, relu);
        }
    }
}

/* ------------------------------------------------ backward weights */

/* FULL: out_c is a multiple of 16, no masks in the pixel loop. */
#define DEFINE_BWD_WEIGHTS(NAME, V, FULL)                                    \
    static void NAME(const cnn_conv_geom *g, int n, const float *x,          \
                     const float *dy, float *dw, float *db)                  \
    {                                                                        \
        const int M = g->out_c, s = g->stride, OH = g->out_h;                \
        const int OW = g->out_w;                                             \
        const padded pd = padded_size(g);                                    \
        const ptrdiff_t PW = pd.PW;                                          \
        float xp[PAD_CAP];                                                   \
        __mmask16 mk[V];                                                     \
        __m512 acc[K * K][V], bacc[V];                                       \
        UNROLL for (int v = 0; v < V; v++) {                                 \
            mk[v] = cnn_avx512_lanes(M - 16 * v);                            \
            bacc[v] = _mm512_setzero_ps();                                   \
            UNROLL for (int t = 0; t < K * K; t++) acc[t][v] = bacc[v];      \
        }                                                                    \
        for (int img = 0; img < n; img++) {                                  \
            pad_image(g, x + (ptrdiff_t)img * g->in_h * g->in_w, pd, xp);    \
            const float *d = dy + (ptrdiff_t)img * OH * OW * M;              \
            for (int oy = 0; oy < OH; oy++) {                                \
                const float *r = xp + (ptrdiff_t)oy * s * PW;                \
                for (int ox = 0; ox < OW; ox++, r += s, d += M) {            \
                    __m512 dv[V];                                            \
                    UNROLL for (int v = 0; v < V; v++) {                     \
                        dv[v] = FULL ? _mm512_loadu_ps(d + 16 * v)           \
                                     : _mm512_maskz_loadu_ps(mk[v],          \
                                                             d + 16 * v);    \
                        bacc[v] = _mm512_add_ps(bacc[v], dv[v]);             \
                    }                                                        \
                    UNROLL for (int ky = 0; ky < K; ky++)                    \
                        UNROLL for (int kx = 0; kx < K; kx++) {              \
                            const __m512 a = _mm512_set1_ps(r[ky * PW + kx]); \
                            UNROLL for (int v = 0; v < V; v++)               \
                                acc[ky * K + kx][v] = _mm512_fmadd_ps(       \
                                    a, dv[v], acc[ky * K + kx][v]);          \
                        }                                                    \
                }                                                            \
            }                                                                \
        }                                                                    \
        UNROLL for (int t = 0; t < K * K; t++)                               \
            UNROLL for (int v = 0; v < V; v++) {                             \
                float *o = dw + t * M + 16 * v;                              \
                _mm512_mask_storeu_ps(                                       \
                    o, mk[v],                                                \
                    _mm512_add_ps(_mm512_maskz_loadu_ps(mk[v], o),           \
                                  acc[t][v]));                               \
            }                                                                \
        if (db)                                                              \
            UNROLL for (int v = 0; v < V; v++) {                             \
                float *o = db + 16 * v;                                      \
                _mm512_mask_storeu_ps(                                       \
                    o, mk[v],                                                \
                    _mm512_add_ps(_mm512_maskz_loadu_ps(mk[v], o),           \
                                  bacc[v]));                                 \
            }                                                                \
    }

DEFINE_BWD_WEIGHTS(bwd_weights_v2_full, 2, 1)
DEFINE_BWD_WEIGHTS(bwd_weights_v2, 2, 0)
DEFINE_BWD_WEIGHTS(bwd_weights_v1_full, 1, 1)
DEFINE_BWD_WEIGHTS(bwd_weights_v1, 1, 0)

void cnn_conv3x3c1_backward_weights_avx512(const cnn_conv_geom *g, int n,
                                           const float *x, const float *dy,
                                           float *dw, float *db)
{
    if (g->out_c == 32)
        bwd_weights_v2_full(g, n, x, dy, dw, db);
    else if (g->out_c > 16)
        bwd_weights_v2(g, n, x, dy, dw, db);
    else if (g->out_c == 16)
        bwd_weights_v1_full(g, n, x, dy, dw, db);
    else
        bwd_weights_v1(g, n, x, dy, dw, db);
}
