/*
 * conv3x3c1-avx2.c — first-layer convolution (KxK, k = 3 or 5, one input
 * channel, any stride and padding), AVX2+FMA, vectorised over the output
 * channels; K is a literal parameter of the tile functions (instantiated
 * for 3 and 5), so their tap loops unroll:
 *
 *   cnn_conv3x3c1_forward_avx2           tiles of 3 (or 2) output pixels x
 *                                        32 output channels, the K*K taps
 *                                        unrolled, bias and ReLU fused
 *   cnn_conv3x3c1_backward_weights_avx2  per kernel row, 3 taps (5x5: taps
 *                                        0-2, then 3-4) x 32 channels of dw
 *                                        held in 12 registers while a chunk
 *                                        of dy rows (in L1) streams
 *                                        through; db from the same chunk
 *
 * Each image is first copied into a zero-padded stack buffer (at most
 * C1_CAP floats), so every tap of every pixel is inside it: no border
 * cases, no branch in the loops.  Output channels not a multiple of 32, or
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
    return (g->k == 3 || g->k == 5) && g->in_c == 1 && g->out_c % 32 == 0 &&
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

/* ntiles tiles of P pixels (s apart in in, tiles P*s apart) x 32 channels:
   out = act(bias + sum of the K*K taps). */
#define DEFINE_FWD(K, P)                                                     \
    static NOINLINE void fwd##K##_tile_##P(ptrdiff_t ntiles, const float *in, \
                                      ptrdiff_t pw, ptrdiff_t s,             \
                                      const float *w, ptrdiff_t M,           \
                                      const float *bias, float *out,         \
                                      int relu)                              \
                         \
    {                                                                        \
        const __m256 zero = _mm256_setzero_ps();                             \
        for (ptrdiff_t t = 0; t < ntiles; t++) {                             \
            const float *a = in + t * (P) * s;                               \
            float *o = out + t * (P) * M;                                    \
            __m256 acc[P][4];                                                \
            UNROLL for (int v = 0; v < 4; v++) {                             \
                const __m256 bb = bias ? _mm256_loadu_ps(bias + 8 * v) : zero; \
                UNROLL for (int p = 0; p < (P); p++) acc[p][v] = bb;         \
            }                                                                \
            UNROLL for (int tap = 0; tap < (K) * (K); tap++) {               \
                const float *at = a + (tap / (K)) * pw + tap % (K);          \
                __m256 av[P]; /* P broadcasts held, w vector by vector */    \
                UNROLL for (int p = 0; p < (P); p++)                         \
                    av[p] = _mm256_broadcast_ss(at + p * s);                 \
                UNROLL for (int v = 0; v < 4; v++) {                         \
                    const __m256 wv = _mm256_loadu_ps(w + tap * 32 + 8 * v); \
                    UNROLL for (int p = 0; p < (P); p++)                     \
                        acc[p][v] = _mm256_fmadd_ps(av[p], wv, acc[p][v]);   \
                }                                                            \
            }                                                                \
            /* row pointer with an opaque step: no P*4 address               \
               induction variables (they spill) */                           \
            if (relu) {                                                      \
                UNROLL for (int p = 0; p < (P); p++) {                       \
                    UNROLL for (int v = 0; v < 4; v++)                       \
                        _mm256_storeu_ps(o + 8 * v,                          \
                                         _mm256_max_ps(acc[p][v], zero));    \
                    o += M;                                                  \
                    __asm__("" : "+r"(o));                                   \
                }                                                            \
            } else {                                                         \
                UNROLL for (int p = 0; p < (P); p++) {                       \
                    UNROLL for (int v = 0; v < 4; v++)                       \
                        _mm256_storeu_ps(o + 8 * v, acc[p][v]);              \
                    o += M;                                                  \
                    __asm__("" : "+r"(o));                                   \
                }                                                            \
            }                                                                \
        }                                                                    \
    }

DEFINE_FWD(3, 1)
DEFINE_FWD(3, 2)
DEFINE_FWD(3, 3)
DEFINE_FWD(5, 1)
DEFINE_FWD(5, 2)
DEFINE_FWD(5, 3)

typedef void (*fwd_tile_fn)(ptrdiff_t, const float *, ptrdiff_t, ptrdiff_t,
                            const float *, ptrdiff_t, const float *, float *,
                            int);
/* [k == 5][P - 1] */
static const fwd_tile_fn fwd_tiles[2][3] = {
    {fwd3_tile_1, fwd3_tile_2, fwd3_tile_3},
    {fwd5_tile_1, fwd5_tile_2, fwd5_tile_3},
};

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
    const fwd_tile_fn *tile = fwd_tiles[g->k == 5];
    /* Row of OW pixels in tiles of 3 or 2 of about equal size. */
    const int nt = OW >= 3 ? (OW + 2) / 3 : 1;
    const int base = OW / nt, extra = OW % nt;
    float pad[C1_CAP];
    float wl[25 * 32]; /* the block's weights, contiguous */
    for (int c0 = 0; c0 < M; c0 += 32) {
        for (int tap = 0; tap < taps; tap++)
            memcpy(wl + tap * 32, w + (ptrdiff_t)tap * M + c0, 32 * sizeof *wl);
        const float *bias = b ? b + c0 : NULL;
        for (int img = 0; img < n; img++) {
            pad_image(g, x + (ptrdiff_t)img * g->in_h * g->in_w, ph, pw, pad);
            for (int oy = 0; oy < OH; oy++) {
                const float *in = pad + (ptrdiff_t)oy * s * pw;
                float *out = y + ((ptrdiff_t)img * OH + oy) * OW * M + c0;
                const float *in2 = in + (ptrdiff_t)extra * (base + 1) * s;
                float *out2 = out + (ptrdiff_t)extra * (base + 1) * M;
                /* extra tiles of base + 1 pixels, then nt - extra of base */
                if (extra)
                    tile[base](extra, in, pw, s, wl, M, bias, out, relu);
                tile[base - 1](nt - extra, in2, pw, s, wl, M, bias, out2,
                               relu);
            }
        }
    }
}

/* dw[ky][KX0 .. KX0+NKX)[c0 .. c0+32) += sum over output rows [oy0, oy1)
   of pad[(oy*s + ky)*pw + ox*s + kx] * dy[oy][ox][c0 ..] (K, KX0 and NKX
   literals; NKX <= 3: 3 broadcasts and 12 sums, 16 ymm). */
#define DEFINE_BWD_ROW(K, KX0, NKX)                                          \
    static NOINLINE void bwd##K##_row_##KX0(                                 \
        const cnn_conv_geom *g, const float *pad, int pw, int ky, int oy0,   \
        int oy1, const float *dy, float *dw)                                 \
    {                                                                        \
        const int M = g->out_c, s = g->stride, OW = g->out_w;                \
        __m256 acc[NKX][4];                                                  \
        dw += (KX0) * M;                                                     \
        UNROLL for (int kx = 0; kx < (NKX); kx++)                            \
            UNROLL for (int v = 0; v < 4; v++)                               \
                acc[kx][v] = _mm256_loadu_ps(dw + kx * M + 8 * v);           \
        for (int oy = oy0; oy < oy1; oy++) {                                 \
            const float *a = pad + (ptrdiff_t)(oy * s + ky) * pw + (KX0);    \
            const float *d = dy + (ptrdiff_t)oy * OW * M;                    \
            for (int ox = 0; ox < OW; ox++) {                                \
                /* NKX broadcasts held, dy loaded vector by vector */        \
                __m256 av[NKX];                                              \
                UNROLL for (int kx = 0; kx < (NKX); kx++)                    \
                    av[kx] = _mm256_broadcast_ss(a + kx);                    \
                UNROLL for (int v = 0; v < 4; v++) {                         \
                    const __m256 dv = _mm256_loadu_ps(d + 8 * v);            \
                    UNROLL for (int kx = 0; kx < (NKX); kx++)                \
                        acc[kx][v] = _mm256_fmadd_ps(av[kx], dv, acc[kx][v]); \
                }                                                            \
                a += s;                                                      \
                d += M;                                                      \
            }                                                                \
        }                                                                    \
        UNROLL for (int kx = 0; kx < (NKX); kx++)                            \
            UNROLL for (int v = 0; v < 4; v++)                               \
                _mm256_storeu_ps(dw + kx * M + 8 * v, acc[kx][v]);           \
    }

DEFINE_BWD_ROW(3, 0, 3)
DEFINE_BWD_ROW(5, 0, 3)
DEFINE_BWD_ROW(5, 3, 2)

typedef void (*bwd_row_fn)(const cnn_conv_geom *, const float *, int, int,
                           int, int, const float *, float *);
/* The column groups of one kernel row, NULL-terminated: [k == 5]. */
static const bwd_row_fn bwd_rows[2][3] = {
    {bwd3_row_0, NULL, NULL},
    {bwd5_row_0, bwd5_row_3, NULL},
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
    const bwd_row_fn *row = bwd_rows[K == 5];
    const ptrdiff_t npix = (ptrdiff_t)g->out_h * g->out_w;
    int rows = (int)(CNN_AVX2_L1_BUDGET / ((ptrdiff_t)g->out_w * M * 4));
    if (rows < 1)
        rows = 1;
    float pad[C1_CAP];
    for (int img = 0; img < n; img++) {
        pad_image(g, x + (ptrdiff_t)img * g->in_h * g->in_w, ph, pw, pad);
        /* Chunks of dy rows that stay in L1 while the K kernel rows and
           every block of 32 channels pass over them. */
        for (int oy0 = 0; oy0 < g->out_h; oy0 += rows) {
            const int oy1 = oy0 + rows < g->out_h ? oy0 + rows : g->out_h;
            for (int ky = 0; ky < K; ky++)
                for (int c0 = 0; c0 < M; c0 += 32)
                    for (int i = 0; row[i]; i++)
                        row[i](g, pad, pw, ky, oy0, oy1,
                               dy + img * npix * M + c0,
                               dw + (ptrdiff_t)ky * K * M + c0);
            if (db)
                cnn_avx2_bias_grad((ptrdiff_t)(oy1 - oy0) * g->out_w, M,
                                   dy + (img * npix + (ptrdiff_t)oy0 * g->out_w) * M,
                                   db);
        }
    }
}
