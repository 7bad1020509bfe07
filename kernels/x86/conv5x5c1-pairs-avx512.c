/*
 * conv5x5c1-pairs-avx512.c — the first layer of 8 output channels, 5x5,
 * stride 1, AVX-512, one zero-padded image at a time (called by
 * conv3x3c1-avx512.c, which pads it):
 *
 *   cnn_avx512_c1x8_forward_image           y = act(conv(x, w) + b)
 *   cnn_avx512_c1x8_backward_weights_image  dw += x (x) dy, db += sum dy
 *
 * With 8 outputs a zmm of one pixel's channels would be half empty, so a
 * vector here holds two horizontally adjacent pixels x 8 channels, which
 * is also how 16 consecutive floats of y and dy lie in NHWC.  Its input
 * is the "pair" vector (x[c] x 8, x[c+1] x 8): every padded row is
 * expanded into such vectors once (a ring of the 6 rows in use), and the
 * weights of a tap are duplicated into both halves.
 *   forward           tiles of up to 5 pairs x 2 output rows (10
 *                     accumulators), per kernel row its 5 weight vectors
 *                     and the 2P + 3 pair vectors of an output row in
 *                     registers; bias and ReLU fused;
 *                     the last pixel of an odd row stored by mask;
 *   backward_weights  25 tap vectors (and the bias) accumulate pair vector
 *                     x dy pair over every pixel pair of the image, then
 *                     each folds its two halves into dw (db).
 * The tiles depend on the geometry alone (batch invariance).
 */
#include <stddef.h>

#include "avx512.h"

#define UNROLL _Pragma("GCC unroll 32")
#define NOINLINE __attribute__((noinline))

enum { K = 5, RING = K + 1, PMAX = 5, CAP = CNN_AVX512_C1X8_PW_CAP };

/* e[c] = (xr[c] x 8, xr[c+1] x 8) for c < pw; xr[pw] reads as 0. */
static inline __attribute__((always_inline)) void pair_row(const float *xr, int pw, __m512 *e)
{
    const __m512i idx =
        _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    for (int c = 0; c < pw; c++) {
        const __m128 two = _mm_maskz_loadu_ps(c + 1 < pw ? 3 : 1, xr + c);
        e[c] = _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(two));
    }
}

/* The ring of pair rows: rows [0, *built) of the padded image are
   expanded, row py in ring[py % RING]; expands up to row `need` - 1. */
static inline __attribute__((always_inline)) void ring_fill(const float *xp, int pw, int need, int *built,
                      __m512 (*ring)[CAP])
{
    for (; *built < need; ++*built)
        pair_row(xp + (ptrdiff_t)*built * pw, pw, ring[*built % RING]);
}

/* w [25][8] -> wd [25][16], each tap's 8 weights in both halves. */
static void duplicate(const float *w, float *wd)
{
    for (int t = 0; t < K * K; t++)
        for (int m = 0; m < 8; m++)
            wd[t * 16 + m] = wd[t * 16 + 8 + m] = w[t * 8 + m];
}

/* --------------------------------------------------------- forward */

/* R output rows (literal) x P pairs (literal) from pair j0: er[i] is the
   pair row of padded row oy + i; y at the tile's first pixel, yr floats
   a row; `last` masks the store of the tile's last pair.  Per kernel row
   and output row, the 2P + 3 pair vectors its taps read are loaded once
   into registers and the kernel row's 5 weight vectors are held, so a
   load serves about two FMAs. */
#define DEFINE_FWD(R, P)                                                     \
    static NOINLINE void fwd_##R##_##P(const __m512 *const *er, int j0,      \
                                       const float *wd, __m512 bv, float *y, \
                                       ptrdiff_t yr, int relu,               \
                                       __mmask16 last)                       \
    {                                                                        \
        __m512 acc[R][P];                                                    \
        UNROLL for (int r = 0; r < (R); r++)                                 \
            UNROLL for (int p = 0; p < (P); p++) acc[r][p] = bv;             \
        UNROLL for (int ky = 0; ky < K; ky++) {                              \
            __m512 wv[K];                                                    \
            UNROLL for (int kx = 0; kx < K; kx++)                            \
                wv[kx] = _mm512_load_ps(wd + (ky * K + kx) * 16);            \
            UNROLL for (int r = 0; r < (R); r++) {                           \
                const __m512 *e = er[r + ky] + 2 * j0;                       \
                __m512 ev[2 * (P) + K - 2];                                  \
                UNROLL for (int c = 0; c < 2 * (P) + K - 2; c++)             \
                    ev[c] = e[c];                                            \
                UNROLL for (int kx = 0; kx < K; kx++)                        \
                    UNROLL for (int p = 0; p < (P); p++)                     \
                        acc[r][p] = _mm512_fmadd_ps(ev[2 * p + kx], wv[kx],  \
                                                    acc[r][p]);              \
            }                                                                \
        }                                                                    \
        UNROLL for (int r = 0; r < (R); r++)                                 \
            UNROLL for (int p = 0; p < (P); p++) {                           \
                __m512 o = acc[r][p];                                        \
                if (relu)                                                    \
                    o = _mm512_max_ps(o, _mm512_setzero_ps());               \
                float *at = y + r * yr + p * 16;                             \
                if (p == (P)-1)                                              \
                    _mm512_mask_storeu_ps(at, last, o);                      \
                else                                                         \
                    _mm512_storeu_ps(at, o);                                 \
            }                                                                \
    }

#define FOR_P(X, R) X(R, 1) X(R, 2) X(R, 3) X(R, 4) X(R, 5)
FOR_P(DEFINE_FWD, 1)
FOR_P(DEFINE_FWD, 2)

typedef void (*fwd_fn)(const __m512 *const *, int, const float *, __m512,
                       float *, ptrdiff_t, int, __mmask16);
#define FNS(R)                                                               \
    {fwd_##R##_1, fwd_##R##_2, fwd_##R##_3, fwd_##R##_4, fwd_##R##_5}
static const fwd_fn fwd_fns[2][PMAX] = {FNS(1), FNS(2)};

void cnn_avx512_c1x8_forward_image(const cnn_conv_geom *g, const float *xp,
                                   int pw, const float *w, const float *b,
                                   float *y, int relu)
{
    __m512 ring[RING][CAP];
    _Alignas(64) float wd[K * K * 16];
    duplicate(w, wd);
    __m512 bias = _mm512_setzero_ps();
    if (b) {
        _Alignas(64) float bb[16];
        for (int m = 0; m < 8; m++)
            bb[m] = bb[8 + m] = b[m];
        bias = _mm512_load_ps(bb);
    }
    const int OW = g->out_w, OH = g->out_h, np = (OW + 1) / 2;
    const int ntiles = (np + PMAX - 1) / PMAX;
    const int base = np / ntiles, big = np % ntiles;
    const __mmask16 tail = OW % 2 ? 0x00FF : 0xFFFF;
    int built = 0;
    for (int oy = 0; oy < OH;) {
        const int R = OH - oy >= 2 ? 2 : 1;
        ring_fill(xp, pw, oy + R + K - 1, &built, ring);
        const __m512 *er[RING];
        for (int i = 0; i < R + K - 1; i++)
            er[i] = ring[(oy + i) % RING];
        for (int i = 0, j0 = 0; i < ntiles; i++) {
            const int P = base + (i < big);
            fwd_fns[R - 1][P - 1](er, j0, wd, bias,
                                  y + ((ptrdiff_t)oy * OW + 2 * j0) * 8,
                                  (ptrdiff_t)OW * 8, relu,
                                  i == ntiles - 1 ? tail : 0xFFFF);
            j0 += P;
        }
        oy += R;
    }
}

/* ------------------------------------------------ backward weights */

/* One pixel pair's dy vector dv into the 25 sums and the bias sum; e:
   the pair rows of the output row, at the pair's first column. */
#define BWD_PAIR(e, c, dv)                                                   \
    do {                                                                     \
        bacc = _mm512_add_ps(bacc, dv);                                      \
        UNROLL for (int ky = 0; ky < K; ky++)                                \
            UNROLL for (int kx = 0; kx < K; kx++)                            \
                acc[ky * K + kx] = _mm512_fmadd_ps(                          \
                    e[ky][(c) + kx], dv, acc[ky * K + kx]);                  \
    } while (0)

/* *o[0..8) += the sum of v's two halves. */
static inline void fold_add(float *o, __m512 v)
{
    const __m512 s = _mm512_add_ps(
        v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
    _mm512_mask_storeu_ps(o, 0x00FF,
                          _mm512_add_ps(_mm512_maskz_loadu_ps(0x00FF, o), s));
}

void cnn_avx512_c1x8_backward_weights_image(const cnn_conv_geom *g,
                                            const float *xp, int pw,
                                            const float *dy, float *dw,
                                            float *db)
{
    __m512 ring[RING][CAP];
    __m512 acc[K * K], bacc = _mm512_setzero_ps();
    UNROLL for (int t = 0; t < K * K; t++) acc[t] = bacc;
    const int OW = g->out_w, OH = g->out_h, full = OW / 2;
    int built = 0;
    for (int oy = 0; oy < OH; oy++) {
        ring_fill(xp, pw, oy + K, &built, ring);
        const __m512 *e[K];
        for (int i = 0; i < K; i++)
            e[i] = ring[(oy + i) % RING];
        const float *d = dy + (ptrdiff_t)oy * OW * 8;
        for (int j = 0; j < full; j++) {
            const __m512 dv = _mm512_loadu_ps(d + 16 * j);
            /* an opaque column: gcc would otherwise carry the pair vectors
               shared with the next pair in registers and spill the sums */
            ptrdiff_t c = 2 * j;
            __asm__("" : "+r"(c));
            BWD_PAIR(e, c, dv);
        }
        if (OW % 2) {
            const __m512 dv = _mm512_maskz_loadu_ps(0x00FF, d + 16 * full);
            BWD_PAIR(e, 2 * full, dv);
        }
    }
    for (int t = 0; t < K * K; t++)
        fold_add(dw + t * 8, acc[t]);
    if (db)
        fold_add(db, bacc);
}
