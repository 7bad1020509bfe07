/*
 * dense-dot-avx512.c — dense backward-data as dot products over w as it
 * is, AVX-512: dx[s][i] = mask(sum over o of dy[s][o] * w[i][o]), with w
 * [in][out] read in place, so that the set needs no transposed copy of w
 * for the wide layers (1568 -> 768: the copy costs more than it saves).
 *
 * A register tile of R samples x C inputs (R <= 4, C <= 6: 24 zmm
 * accumulators) walks o in vectors of 16 lanes, the last one masked
 * (zeros): per step it loads R vectors of dy and C of w and does R*C FMAs.
 * Inputs go in blocks of IB (outer), samples in the middle, the block's
 * tiles of C inputs inner.
 *
 * Each element's lanes are one FMA chain in o order from 0, then a fixed
 * tree (dense_sum4): lane k + (k+8), then + the (k+4) pair, then the four
 * partials as (q0+q2)+(q1+q3).  The tile an element falls in never
 * changes its operations, so its bits depend on in, out and the data only
 * (batch invariance, kernels.h).
 */
#include <immintrin.h>
#include <stddef.h>

#include "dense-dot.h"

/* Tile sizes; IB inputs per block (a multiple of CMAX): the block's rows
   of w (96 x 3 KB at out = 768) stay in L2 while every sample tile reads
   them, a sample tile's rows of dy in L1. */
enum { RMAX = 4, CMAX = 6, IB = 96 };

/* The sums of four accumulators' 16 lanes each, as [a, b, c, d]. */
static inline __m128 dense_sum4(__m512 a, __m512 b, __m512 c, __m512 d)
{
    const __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44),
                                    _mm512_shuffle_f32x4(a, b, 0xEE));
    const __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x44),
                                    _mm512_shuffle_f32x4(c, d, 0xEE));
    /* Block j: element j's four partials (k + k+8) + (k+4 + k+12). */
    const __m512 q = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88),
                                   _mm512_shuffle_f32x4(ab, cd, 0xDD));
    const __m512 t = _mm512_add_ps(q, _mm512_permute_ps(q, 0x4E));
    const __m512 u = _mm512_add_ps(t, _mm512_permute_ps(t, 0xB1));
    const __m512i first = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_castps512_ps128(_mm512_permutexvar_ps(first, u));
}

/* dx of the tile from its reduced sums (R*C floats, sample-major): one
   masked store of C floats per sample. */
static inline void dense_store(int in, int R, int C, const float *sums, const float *mask,
                               float *dx)
{
    const __mmask8 cm = (__mmask8)((1u << C) - 1u);
    const __m256 zero = _mm256_setzero_ps();
    for (int r = 0; r < R; r++) {
        __m256 v = _mm256_maskz_loadu_ps(cm, sums + r * C);
        if (mask) {
            const __m256 m = _mm256_maskz_loadu_ps(cm, mask + (ptrdiff_t)r * in);
            v = _mm256_maskz_mov_ps(_mm256_cmp_ps_mask(m, zero, _CMP_GT_OQ), v);
        }
        _mm256_mask_storeu_ps(dx + (ptrdiff_t)r * in, cm, v);
    }
}

#define UNROLL _Pragma("GCC unroll 32")

/* One step over o at offsets p: the tile's R x C FMAs. */
#define DOT_STEP(LOAD)                                                         \
    {                                                                          \
        __m512 dv[TR], wv[TC];                                                   \
        UNROLL for (int r = 0; r < TR; r++) dv[r] = LOAD(dy + r * (ptrdiff_t)out + o); \
        UNROLL for (int c = 0; c < TC; c++) wv[c] = LOAD(w + c * (ptrdiff_t)out + o);  \
        UNROLL for (int r = 0; r < TR; r++)                                     \
            UNROLL for (int c = 0; c < TC; c++)                                 \
                acc[r * TC + c] = _mm512_fmadd_ps(dv[r], wv[c], acc[r * TC + c]); \
    }
#define FULL(p) _mm512_loadu_ps(p)
#define PART(p) _mm512_maskz_loadu_ps(tail, p)

/* The R x C tile: dy at its first sample, w at its first input row, dx at
   (sample, input).  Literal R and C (a macro body), so that the
   accumulators are registers. */
#define DOT_TILE(R, C)                                                         \
    static void dense_dot_##R##_##C(int in, int out, const float *dy,         \
                                    const float *w, const float *mask,         \
                                    float *dx)                                 \
    {                                                                          \
        enum { TR = R, TC = C, N4 = (R * C + 3) / 4 * 4 };                                     \
        __m512 acc[N4];                                                        \
        UNROLL for (int e = 0; e < N4; e++) acc[e] = _mm512_setzero_ps();     \
        const int o16 = out / 16 * 16;                                         \
        int o = 0;                                                             \
        for (; o < o16; o += 16)                                               \
            DOT_STEP(FULL)                                                     \
        if (o < out) {                                                         \
            const __mmask16 tail = (__mmask16)((1u << (out - o)) - 1u);        \
            DOT_STEP(PART)                                                     \
        }                                                                      \
        float sums[N4];                                                        \
        UNROLL for (int e = 0; e < N4; e += 4)                                 \
            _mm_storeu_ps(sums + e, dense_sum4(acc[e], acc[e + 1], acc[e + 2], acc[e + 3])); \
        dense_store(in, R, C, sums, mask, dx);                                 \
    }

#define TILES_C(X, R) X(R, 1) X(R, 2) X(R, 3) X(R, 4) X(R, 5) X(R, 6)
TILES_C(DOT_TILE, 1)
TILES_C(DOT_TILE, 2)
TILES_C(DOT_TILE, 3)
TILES_C(DOT_TILE, 4)

typedef void (*dot_fn)(int in, int out, const float *dy, const float *w, const float *mask,
                       float *dx);
#define ENTRY(R, C) [R][C] = dense_dot_##R##_##C,
static const dot_fn tiles[RMAX + 1][CMAX + 1] = {
    TILES_C(ENTRY, 1) TILES_C(ENTRY, 2) TILES_C(ENTRY, 3) TILES_C(ENTRY, 4)};

void cnn_dense_backward_data_dot_avx512(int n, int in, int out, const float *dy,
                                        const float *w, const float *mask, float *dx)
{
    for (int b0 = 0; b0 < in; b0 += IB) {
        const int b1 = in - b0 < IB ? in : b0 + IB;
        for (int s0 = 0; s0 < n; s0 += RMAX) {
            const int R = n - s0 < RMAX ? n - s0 : RMAX;
            for (int i0 = b0; i0 < b1; i0 += CMAX) {
                const int C = b1 - i0 < CMAX ? b1 - i0 : CMAX;
                const ptrdiff_t at = (ptrdiff_t)s0 * in + i0;
                tiles[R][C](in, out, dy + (ptrdiff_t)s0 * out, w + (ptrdiff_t)i0 * out,
                            mask ? mask + at : NULL, dx + at);
            }
        }
    }
}
