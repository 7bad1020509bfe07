/*
 * dense-dot-avx2.c — dense backward-data as dot products over w as it is,
 * AVX2: dx[s][i] = mask(sum over o of dy[s][o] * w[i][o]), with w
 * [in][out] read in place, so that the set needs no transposed copy of w
 * for the wide layers (dense-dot-avx512.c explains why).
 *
 * A register tile of R samples x C inputs (R, C <= 3: 9 ymm accumulators,
 * 6 more for the loaded vectors) walks o in vectors of 8 lanes, the last
 * one masked (zeros).  Inputs go outer, samples inner.
 *
 * Each element's lanes are one FMA chain in o order from 0, then a fixed
 * tree (dense_sum4): p_k = lane k + lane k+4, then (p0+p1) + (p2+p3).  The
 * tile an element falls in never changes its operations (batch
 * invariance, kernels.h).
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "dense-dot.h"

enum { RMAX = 3, CMAX = 3 };

/* The sums of four accumulators' 8 lanes each, as [a, b, c, d]. */
static inline __m128 dense_sum4(__m256 a, __m256 b, __m256 c, __m256 d)
{
    const __m256 ab = _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20),
                                    _mm256_permute2f128_ps(a, b, 0x31));
    const __m256 cd = _mm256_add_ps(_mm256_permute2f128_ps(c, d, 0x20),
                                    _mm256_permute2f128_ps(c, d, 0x31));
    const __m256 h = _mm256_hadd_ps(ab, cd); /* [a a c c | b b d d] */
    const __m256 h2 = _mm256_hadd_ps(h, h);  /* [a c a c | b d b d] */
    return _mm_unpacklo_ps(_mm256_castps256_ps128(h2), _mm256_extractf128_ps(h2, 1));
}

/* dx of the tile from its reduced sums (R*C floats, sample-major). */
static inline void dense_store(int in, int R, int C, const float *sums, const float *mask,
                               float *dx)
{
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            const ptrdiff_t at = (ptrdiff_t)r * in + c;
            const float v = sums[r * C + c];
            dx[at] = mask && !(mask[at] > 0) ? 0.0f : v;
        }
}

static const int32_t lane_bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                      0,  0,  0,  0,  0,  0,  0,  0};

#define UNROLL _Pragma("GCC unroll 32")

/* One step over o: the tile's R x C FMAs. */
#define DOT_STEP(LOAD)                                                         \
    {                                                                          \
        __m256 dv[TR], wv[TC];                                                   \
        UNROLL for (int r = 0; r < TR; r++) dv[r] = LOAD(dy + r * (ptrdiff_t)out + o); \
        UNROLL for (int c = 0; c < TC; c++) wv[c] = LOAD(w + c * (ptrdiff_t)out + o);  \
        UNROLL for (int r = 0; r < TR; r++)                                     \
            UNROLL for (int c = 0; c < TC; c++)                                 \
                acc[r * TC + c] = _mm256_fmadd_ps(dv[r], wv[c], acc[r * TC + c]); \
    }
#define FULL(p) _mm256_loadu_ps(p)
#define PART(p) _mm256_maskload_ps(p, tail)

/* The R x C tile (literal sizes: a macro body, accumulators in registers). */
#define DOT_TILE(R, C)                                                         \
    static void dense_dot_##R##_##C(int in, int out, const float *dy,         \
                                    const float *w, const float *mask,         \
                                    float *dx)                                 \
    {                                                                          \
        enum { TR = R, TC = C, N4 = (R * C + 3) / 4 * 4 };                                     \
        __m256 acc[N4];                                                        \
        UNROLL for (int e = 0; e < N4; e++) acc[e] = _mm256_setzero_ps();     \
        const int o8 = out / 8 * 8;                                            \
        int o = 0;                                                             \
        for (; o < o8; o += 8)                                                 \
            DOT_STEP(FULL)                                                     \
        if (o < out) {                                                         \
            const __m256i tail =                                               \
                _mm256_loadu_si256((const __m256i *)(lane_bits + 8 - (out - o))); \
            DOT_STEP(PART)                                                     \
        }                                                                      \
        float sums[N4];                                                        \
        UNROLL for (int e = 0; e < N4; e += 4)                                 \
            _mm_storeu_ps(sums + e, dense_sum4(acc[e], acc[e + 1], acc[e + 2], acc[e + 3])); \
        dense_store(in, R, C, sums, mask, dx);                                 \
    }

#define TILES_C(X, R) X(R, 1) X(R, 2) X(R, 3)
TILES_C(DOT_TILE, 1)
TILES_C(DOT_TILE, 2)
TILES_C(DOT_TILE, 3)

typedef void (*dot_fn)(int in, int out, const float *dy, const float *w, const float *mask,
                       float *dx);
#define ENTRY(R, C) [R][C] = dense_dot_##R##_##C,
static const dot_fn tiles[RMAX + 1][CMAX + 1] = {
    TILES_C(ENTRY, 1) TILES_C(ENTRY, 2) TILES_C(ENTRY, 3)};

void cnn_dense_backward_data_dot_avx2(int n, int in, int out, const float *dy,
                                      const float *w, const float *mask, float *dx)
{
    for (int i0 = 0; i0 < in; i0 += CMAX) {
        const int C = in - i0 < CMAX ? in - i0 : CMAX;
        for (int s0 = 0; s0 < n; s0 += RMAX) {
            const int R = n - s0 < RMAX ? n - s0 : RMAX;
            const ptrdiff_t at = (ptrdiff_t)s0 * in + i0;
            tiles[R][C](in, out, dy + (ptrdiff_t)s0 * out, w + (ptrdiff_t)i0 * out,
                        mask ? mask + at : NULL, dx + at);
        }
    }
}
