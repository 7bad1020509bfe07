/*
 * conv3x3c1-avx2.c — first-layer convolution (KxK, k = 3 or 5, one input
 * channel, any stride and padding), AVX2+FMA, vectorised over the output
 * channels in blocks of 32 (V = 4 ymm) and a last block of 8, 16 or 24
 * (V = 1..3); K and V are literal parameters of the tile functions, so
 * their loops unroll:
 *
 *   cnn_conv3x3c1_forward_avx2           tiles of up to 3 (V = 3, 4), 4
 *                                        (V = 2) or 7 (V = 1) output pixels
 *                                        x V vectors, the K*K taps
 *                                        unrolled, bias and ReLU fused
 *   cnn_conv3x3c1_backward_weights_avx2  V = 3, 4: per kernel row, 3 taps
 *                                        (5x5: taps 0-2, then 3-4) x V
 *                                        vectors of dw in registers, the
 *                                        3 broadcasts held, dy streamed;
 *                                        V = 1, 2: the dy vectors held and
 *                                        the taps of 1 to 3 kernel rows
 *                                        (at most 12 sums); in both, a
 *                                        chunk of dy rows (in L1) streams
 *                                        through; db from the same chunk
 *
 * Each image is first copied into a zero-padded stack buffer (at most
 * C1_CAP floats), so every tap of every pixel is inside it: no border
 * cases, no branch in the loops.  Output channels not a multiple of 8, or
 * images too large for the buffer, go to the direct kernels.
 * (Backward data, never needed for a first layer, is the direct 3x3
 * kernel's.)
 */
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "avx2.h"

#define NOINLINE __attribute__((noinline))
#define UNROLL _Pragma("GCC unroll 16")

enum { C1_CAP = 8192 }; /* floats of padded image on the stack (32 KB) */

/* Padded image: rows py = iy + pad_top, columns px = ix + pad_left, as
   many as the output needs ((out-1)*s + k). */
static int padded_dims(const cnn_conv_geom *g, int *ph, int *pw)
{
    *ph = (g->out_h - 1) * g->stride + g->k;
    *pw = (g->out_w - 1) * g->stride + g->k;
    return (g->k == 3 || g->k == 5) && g->in_c == 1 && g->out_c % 8 == 0 &&
           (ptrdiff_t)*ph * *pw <= C1_CAP;
}

static void pad_image(const cnn_conv_geom *g, const float *x, int ph, int pw,
                      float *pad)
{
    memset(pad, 0, (size_t)ph * pw * sizeof *pad);
    for (int py = 0; py < ph; py++) {
        const int iy = py - g->pad_top;
        if (iy < 0 || iy >= g->in_h)
            continue;
        const int px0 = g->pad_left > 0 ? g->pad_left : 0;
        const int ix0 = px0 - g->pad_left;
        int cnt = g->in_w - ix0;
        if (px0 + cnt > pw)
            cnt = pw - px0;
        if (cnt > 0)
            memcpy(pad + (ptrdiff_t)py * pw + px0,
                   x + (ptrdiff_t)iy * g->in_w + ix0, (size_t)cnt * sizeof *pad);
    }
}

/* ntiles tiles of P pixels (s apart in in, tiles P*s apart) x V vectors:
   out = act(bias + sum of the K*K taps); w: the block's K*K x 8V weights,
   contiguous. */
#define DEFINE_FWD(K, V, P)                                                  \
    static NOINLINE void fwd##K##_v##V##_##P(                                \
        ptrdiff_t ntiles, const float *in, ptrdiff_t pw, ptrdiff_t s,        \
        const float *w, ptrdiff_t M, const float *bias, float *out,          \
        int relu)                                                            \
    {                                                                        \
        const __m256 zero = _mm256_setzero_ps();                             \
        for (ptrdiff_t t = 0; t < ntiles; t++) {                             \
            const float *a = in + t * (P) * s;                               \
            float *o = out + t * (P) * M;                                    \
            __m256 acc[P][V];                                                \
            UNROLL for (int v = 0; v < (V); v++) {                           \
                const __m256 bb = bias ? _mm256_loadu_ps(bias + 8 * v) : zero; \
                UNROLL for (int p = 0; p < (P); p++) acc[p][v] = bb;         \
            }                                                                \
            UNROLL for (int tap = 0; tap < (K) * (K); tap++) {               \
                const float *at = a + (tap / (K)) * pw + tap % (K);          \
                __m256 av[P]; /* P broadcasts held, w vector by vector */    \
                UNROLL for (int p = 0; p < (P); p++)                         \
                    av[p] = _mm256_broadcast_ss(at + p * s);                 \
                UNROLL for (int v = 0; v < (V); v++) {                       \
                    const __m256 wv =                                        \
                        _mm256_loadu_ps(w + tap * 8 * (V) + 8 * v);          \
                    UNROLL for (int p = 0; p < (P); p++)                     \
                        acc[p][v] = _mm256_fmadd_ps(av[p], wv, acc[p][v]);   \
                }                                                            \
            }                                                                \
            /* row pointer with an opaque step: no P*V address               \
               induction variables (they spill) */                           \
            UNROLL for (int p = 0; p < (P); p++) {                           \
                UNROLL for (int v = 0; v < (V); v++)                         \
                    _mm256_storeu_ps(o + 8 * v,                              \
                                     relu ? _mm256_max_ps(acc[p][v], zero)   \
                                          : acc[p][v]);                      \
                o += M;                                                      \
                __asm__("" : "+r"(o));                                       \
            }                                                                \
        }                                                                    \
    }

#define FWD_P3(K, V) DEFINE_FWD(K, V, 1) DEFINE_FWD(K, V, 2) DEFINE_FWD(K, V, 3)
#define FWD_P4(K, V) FWD_P3(K, V) DEFINE_FWD(K, V, 4)
#define FWD_P7(K, V)                                                         \
    FWD_P4(K, V) DEFINE_FWD(K, V, 5) DEFINE_FWD(K, V, 6) DEFINE_FWD(K, V, 7)
FWD_P7(3, 1)
FWD_P4(3, 2)
FWD_P3(3, 3)
FWD_P3(3, 4)
FWD_P7(5, 1)
FWD_P4(5, 2)
FWD_P3(5, 3)
FWD_P3(5, 4)

typedef void (*fwd_tile_fn)(ptrdiff_t, const float *, ptrdiff_t, ptrdiff_t,
                            const float *, ptrdiff_t, const float *, float *,
                            int);
/* The most pixels a tile of V vectors holds: P*V + P + 1 <= 16 ymm. */
static const int fwd_pmax[4] = {7, 4, 3, 3};
#define T3(K, V) fwd##K##_v##V##_1, fwd##K##_v##V##_2, fwd##K##_v##V##_3
#define T4(K, V) T3(K, V), fwd##K##_v##V##_4
#define T7(K, V) T4(K, V), fwd##K##_v##V##_5, fwd##K##_v##V##_6, fwd##K##_v##V##_7
/* [k == 5][V - 1][P - 1] */
static const fwd_tile_fn fwd_tiles[2][4][7] = {
    {{T7(3, 1)}, {T4(3, 2)}, {T3(3, 3)}, {T3(3, 4)}},
    {{T7(5, 1)}, {T4(5, 2)}, {T3(5, 3)}, {T3(5, 4)}},
};

/* One output row of one block: OW pixels in balanced tiles of at most
   fwd_pmax[V - 1] (their sizes depend on OW and V only). */
static void forward_row(const fwd_tile_fn *tile, int pmax, int OW, int s,
                        const float *in, ptrdiff_t pw, const float *wl,
                        int M, const float *bias, float *out, int relu)
{
    const int nt = (OW + pmax - 1) / pmax;
    const int base = OW / nt, extra = OW % nt;
    /* extra tiles of base + 1 pixels, then nt - extra of base */
    if (extra)
        tile[base](extra, in, pw, s, wl, M, bias, out, relu);
    tile[base - 1](nt - extra, in + (ptrdiff_t)extra * (base + 1) * s, pw, s,
                   wl, M, bias, out + (ptrdiff_t)extra * (base + 1) * M,
                   relu);
}

void cnn_conv3x3c1_forward_avx2(const cnn_conv_geom *g, int n, const float *x,
                                const float *w, const float *b, float *y,
                                int relu)
{
    int ph, pw;
    if (!padded_dims(g, &ph, &pw)) {
        cnn_conv3x3_forward_avx2(g, n, x, w, b, y, relu);
        return;
    }
    const int M = g->out_c, s = g->stride, OH = g->out_h, OW = g->out_w;
    const int taps = g->k * g->k;
    float pad[C1_CAP];
    float wl[25 * 32]; /* the block's weights, contiguous */
    for (int c0 = 0; c0 < M; c0 += 32) {
        const int cb = M - c0 < 32 ? M - c0 : 32, V = cb / 8;
        const fwd_tile_fn *tile = fwd_tiles[g->k == 5][V - 1];
        for (int tap = 0; tap < taps; tap++)
            memcpy(wl + tap * cb, w + (ptrdiff_t)tap * M + c0, cb * sizeof *wl);
        const float *bias = b ? b + c0 : NULL;
        for (int img = 0; img < n; img++) {
            pad_image(g, x + (ptrdiff_t)img * g->in_h * g->in_w, ph, pw, pad);
            for (int oy = 0; oy < OH; oy++)
                forward_row(tile, fwd_pmax[V - 1], OW, s,
                            pad + (ptrdiff_t)oy * s * pw, pw, wl, M, bias,
                            y + ((ptrdiff_t)img * OH + oy) * OW * M + c0,
                            relu);
        }
    }
}

/* ------------------------------------------------ backward weights */

/* A call of a backward-weights group: kernel rows from ky (dw points at
   dw[ky][0][c0]), output rows [oy0, oy1), dy at channel c0. */
typedef void (*bwd_fn)(const cnn_conv_geom *g, const float *pad, int pw,
                       int ky, int oy0, int oy1, const float *dy, float *dw);

/* V = 3, 4: dw[ky][KX0 .. KX0+NKX)[V vectors] += sum over output rows
   [oy0, oy1) of pad[(oy*s + ky)*pw + ox*s + kx] * dy[oy][ox][..]; NKX <= 3
   broadcasts held, dy loaded vector by vector (V*NKX + NKX + 1 <= 16). */
#define DEFINE_BWD_ROW(K, V, KX0, NKX)                                       \
    static NOINLINE void bwd##K##_v##V##_row_##KX0(                          \
        const cnn_conv_geom *g, const float *pad, int pw, int ky, int oy0,   \
        int oy1, const float *dy, float *dw)                                 \
    {                                                                        \
        const int M = g->out_c, s = g->stride, OW = g->out_w;                \
        __m256 acc[NKX][V];                                                  \
        dw += (KX0) * M;                                                     \
        UNROLL for (int kx = 0; kx < (NKX); kx++)                            \
            UNROLL for (int v = 0; v < (V); v++)                             \
                acc[kx][v] = _mm256_loadu_ps(dw + kx * M + 8 * v);           \
        for (int oy = oy0; oy < oy1; oy++) {                                 \
            const float *a = pad + (ptrdiff_t)(oy * s + ky) * pw + (KX0);    \
            const float *d = dy + (ptrdiff_t)oy * OW * M;                    \
            for (int ox = 0; ox < OW; ox++) {                                \
                __m256 av[NKX];                                              \
                UNROLL for (int kx = 0; kx < (NKX); kx++)                    \
                    av[kx] = _mm256_broadcast_ss(a + kx);                    \
                UNROLL for (int v = 0; v < (V); v++) {                       \
                    const __m256 dv = _mm256_loadu_ps(d + 8 * v);            \
                    UNROLL for (int kx = 0; kx < (NKX); kx++)                \
                        acc[kx][v] = _mm256_fmadd_ps(av[kx], dv, acc[kx][v]); \
                }                                                            \
                a += s;                                                      \
                d += M;                                                      \
            }                                                                \
        }                                                                    \
        UNROLL for (int kx = 0; kx < (NKX); kx++)                            \
            UNROLL for (int v = 0; v < (V); v++)                             \
                _mm256_storeu_ps(dw + kx * M + 8 * v, acc[kx][v]);           \
    }

/* V = 1, 2: dw[ky .. ky+NKY)[every kx][V vectors] += the same sums, the V
   dy vectors held and each tap's broadcast used at once (NKY*K*V sums,
   <= 12, + V + 1 ymm). */
#define DEFINE_BWD_ROWS(K, V, NKY)                                           \
    static NOINLINE void bwd##K##_v##V##_rows_##NKY(                         \
        const cnn_conv_geom *g, const float *pad, int pw, int ky, int oy0,   \
        int oy1, const float *dy, float *dw)                                 \
    {                                                                        \
        const int M = g->out_c, s = g->stride, OW = g->out_w;                \
        __m256 acc[(NKY) * (K)][V];                                          \
        UNROLL for (int t = 0; t < (NKY) * (K); t++)                         \
            UNROLL for (int v = 0; v < (V); v++)                             \
                acc[t][v] = _mm256_loadu_ps(dw + t * M + 8 * v);             \
        for (int oy = oy0; oy < oy1; oy++) {                                 \
            const float *a = pad + (ptrdiff_t)(oy * s + ky) * pw;            \
            const float *d = dy + (ptrdiff_t)oy * OW * M;                    \
            for (int ox = 0; ox < OW; ox++) {                                \
                __m256 dv[V];                                                \
                UNROLL for (int v = 0; v < (V); v++)                         \
                    dv[v] = _mm256_loadu_ps(d + 8 * v);                      \
                UNROLL for (int t = 0; t < (NKY) * (K); t++) {               \
                    const __m256 av =                                        \
                        _mm256_broadcast_ss(a + (t / (K)) * pw + t % (K));   \
                    UNROLL for (int v = 0; v < (V); v++)                     \
                        acc[t][v] = _mm256_fmadd_ps(av, dv[v], acc[t][v]);   \
                }                                                            \
                a += s;                                                      \
                d += M;                                                      \
            }                                                                \
        }                                                                    \
        UNROLL for (int t = 0; t < (NKY) * (K); t++)                         \
            UNROLL for (int v = 0; v < (V); v++)                             \
                _mm256_storeu_ps(dw + t * M + 8 * v, acc[t][v]);             \
    }

DEFINE_BWD_ROW(3, 4, 0, 3)
DEFINE_BWD_ROW(3, 3, 0, 3)
DEFINE_BWD_ROW(5, 4, 0, 3)
DEFINE_BWD_ROW(5, 4, 3, 2)
DEFINE_BWD_ROW(5, 3, 0, 3)
DEFINE_BWD_ROW(5, 3, 3, 2)
DEFINE_BWD_ROWS(3, 1, 3)
DEFINE_BWD_ROWS(3, 2, 2)
DEFINE_BWD_ROWS(3, 2, 1)
DEFINE_BWD_ROWS(5, 1, 2)
DEFINE_BWD_ROWS(5, 1, 1)
DEFINE_BWD_ROWS(5, 2, 1)

/* The calls covering every tap of one block: (function, first kernel
   row), ended by a NULL function; [k == 5][V - 1]. */
typedef struct bwd_call {
    bwd_fn fn;
    int ky;
} bwd_call;
#define ROWS3(f) {f, 0}, {f, 1}, {f, 2}
#define ROWS5(f) {f, 0}, {f, 1}, {f, 2}, {f, 3}, {f, 4}
#define ROWS5X2(f, h)                                                        \
    {f, 0}, {h, 0}, {f, 1}, {h, 1}, {f, 2}, {h, 2}, {f, 3}, {h, 3}, {f, 4},  \
        {h, 4}
static const bwd_call bwd_calls[2][4][11] = {
    {{{bwd3_v1_rows_3, 0}},
     {{bwd3_v2_rows_2, 0}, {bwd3_v2_rows_1, 2}},
     {ROWS3(bwd3_v3_row_0)},
     {ROWS3(bwd3_v4_row_0)}},
    {{{bwd5_v1_rows_2, 0}, {bwd5_v1_rows_2, 2}, {bwd5_v1_rows_1, 4}},
     {ROWS5(bwd5_v2_rows_1)},
     {ROWS5X2(bwd5_v3_row_0, bwd5_v3_row_3)},
     {ROWS5X2(bwd5_v4_row_0, bwd5_v4_row_3)}},
};

void cnn_conv3x3c1_backward_weights_avx2(const cnn_conv_geom *g, int n,
                                         const float *x, const float *dy,
                                         float *dw, float *db)
{
    int ph, pw;
    if (!padded_dims(g, &ph, &pw)) {
        cnn_conv3x3_backward_weights_avx2(g, n, x, dy, dw, db);
        return;
    }
    const int M = g->out_c, K = g->k;
    const ptrdiff_t npix = (ptrdiff_t)g->out_h * g->out_w;
    int rows = (int)(CNN_AVX2_L1_BUDGET / ((ptrdiff_t)g->out_w * M * 4));
    if (rows < 1)
        rows = 1;
    float pad[C1_CAP];
    for (int img = 0; img < n; img++) {
        pad_image(g, x + (ptrdiff_t)img * g->in_h * g->in_w, ph, pw, pad);
        /* Chunks of dy rows that stay in L1 while the K kernel rows and
           every block of channels pass over them. */
        for (int oy0 = 0; oy0 < g->out_h; oy0 += rows) {
            const int oy1 = oy0 + rows < g->out_h ? oy0 + rows : g->out_h;
            for (int c0 = 0; c0 < M; c0 += 32) {
                const int V = (M - c0 < 32 ? M - c0 : 32) / 8;
                for (const bwd_call *c = bwd_calls[K == 5][V - 1]; c->fn; c++)
                    c->fn(g, pad, pw, c->ky, oy0, oy1,
                          dy + img * npix * M + c0,
                          dw + (ptrdiff_t)c->ky * K * M + c0);
            }
            if (db)
                cnn_avx2_bias_grad((ptrdiff_t)(oy1 - oy0) * g->out_w, M,
                                   dy + (img * npix + (ptrdiff_t)oy0 * g->out_w) * M,
                                   db);
        }
    }
}
