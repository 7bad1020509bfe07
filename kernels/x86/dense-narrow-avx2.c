/*
 * dense-narrow-avx2.c — the AVX2 dense backward-data for narrow layers
 * (out <= 12, e.g. the 768 -> 10 and 784 -> 10 logits): dx = mask(dy w^T)
 * reading w [in][out] as it is (no transposed copy, which for so few
 * outputs costs about as much as the product that reads it).
 *
 * Vectors over 8 inputs: per block of 8 inputs, the 8 rows of w (out
 * floats each) are transposed through registers once into out ymm (wt[o]
 * = w[i0..i0+7][o]; a second 8 x 8 transpose for columns 8..11), then
 * every sample's dx[s][i0..i0+7] is one chain of out FMAs, dy[s][o]
 * broadcast, G samples at a time (G independent chains), stored as one
 * vector (masked in the last, ragged block).  Every dx element is one FMA
 * chain in o order from 0, whatever n or the sample's place (batch
 * invariance, kernels.h): G only groups samples, it never splits a sum.
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "dense-narrow-avx2.h"

/* Unroll the next loop completely, so that register arrays stay registers. */
#define UNROLL _Pragma("GCC unroll 16")

static const int32_t lane_bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                      0,  0,  0,  0,  0,  0,  0,  0};

/* The first n lanes (0 <= n; 8 and more: all). */
static inline __m256i lanes(int n)
{
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_loadu_si256((const __m256i *)(lane_bits + 8 - n));
}

/* The 8 x 8 block r[row][col] transposed in place. */
static inline void transpose8(__m256 r[8])
{
    __m256 t[8], u[8];
    UNROLL for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    UNROLL for (int q = 0; q < 8; q += 4) {
        u[q] = _mm256_shuffle_ps(t[q], t[q + 2], 0x44);
        u[q + 1] = _mm256_shuffle_ps(t[q], t[q + 2], 0xEE);
        u[q + 2] = _mm256_shuffle_ps(t[q + 1], t[q + 3], 0x44);
        u[q + 3] = _mm256_shuffle_ps(t[q + 1], t[q + 3], 0xEE);
    }
    UNROLL for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x20);
        r[j + 4] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x31);
    }
}

/* wt[c] = w[i0 + j][c0 + c] for j < left (0 beyond), c < 8, from the
   columns [c0, c0 + cols) of rows of width out (cm: their lanes). */
static inline void load_transposed(const float *w, int out, int left, int c0, int full,
                                   __m256i cm, __m256 wt[8])
{
    UNROLL for (int j = 0; j < 8; j++) {
        const float *row = w + (ptrdiff_t)j * out + c0;
        wt[j] = j >= left ? _mm256_setzero_ps()
                : full    ? _mm256_loadu_ps(row)
                          : _mm256_maskload_ps(row, cm);
    }
    transpose8(wt);
}

/* dx[i0..] of one sample = v where mask > 0 (no mask: v); lanes km when
   the block is ragged (full 0). */
static inline void store_dx(__m256 v, const float *mask, float *dx, int full, __m256i km)
{
    if (mask) {
        const __m256 m = full ? _mm256_loadu_ps(mask) : _mm256_maskload_ps(mask, km);
        v = _mm256_and_ps(v, _mm256_cmp_ps(m, _mm256_setzero_ps(), _CMP_GT_OQ));
    }
    if (full)
        _mm256_storeu_ps(dx, v);
    else
        _mm256_maskstore_ps(dx, km, v);
}

/* The G chains of samples s.. over the O columns (literal G, O). */
#define CHAINS(G)                                                              \
    {                                                                          \
        __m256 acc[G];                                                         \
        UNROLL for (int j = 0; j < G; j++) acc[j] = _mm256_setzero_ps();      \
        UNROLL for (int o = 0; o < O; o++)                                     \
            UNROLL for (int j = 0; j < G; j++)                                 \
                acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dy[(ptrdiff_t)(s + j) * O + o]), \
                                         wt[o], acc[j]);                       \
        UNROLL for (int j = 0; j < G; j++) {                                   \
            const ptrdiff_t at = (ptrdiff_t)(s + j) * in + i0;                 \
            store_dx(acc[j], mask ? mask + at : NULL, dx + at, full, km);      \
        }                                                                      \
    }

/* The whole pass for O outputs, G samples a group (a macro body: wt and
   acc are registers). */
#define BWD_BODY(OUT, GROUP)                                                   \
    enum { O = OUT, G = GROUP };                                               \
    const __m256i cm0 = lanes(O), cm1 = lanes(O - 8);                          \
    for (int i0 = 0; i0 < in; i0 += 8) {                                       \
        const int left = in - i0, full = left >= 8;                            \
        const __m256i km = lanes(left);                                        \
        __m256 wt[16];                                                         \
        load_transposed(w + (ptrdiff_t)i0 * O, O, left, 0, O >= 8, cm0, wt);   \
        if (O > 8)                                                             \
            load_transposed(w + (ptrdiff_t)i0 * O, O, left, 8, 0, cm1, wt + 8); \
        int s = 0;                                                             \
        for (; s + G <= n; s += G)                                             \
            CHAINS(G)                                                          \
        for (; s < n; s++)                                                     \
            CHAINS(1)                                                          \
    }

typedef void (*narrow_bwd_fn)(int n, int in, const float *dy, const float *w,
                              const float *mask, float *dx);

#define B(O, G)                                                                \
    static void narrow_bwd_##O(int n, int in, const float *dy, const float *w, \
                               const float *mask, float *dx)                   \
    {                                                                          \
        BWD_BODY(O, G)                                                         \
    }
/* G: as many chains as the 16 ymm leave beside the O columns of wt and a
   broadcast (8 at most). */
B(1, 8) B(2, 8) B(3, 8) B(4, 8) B(5, 8) B(6, 8) B(7, 8) B(8, 6)
B(9, 6) B(10, 5) B(11, 4) B(12, 3)

#define BE(O) [O] = narrow_bwd_##O,
static const narrow_bwd_fn narrow_bwd[CNN_DENSE_NARROW_AVX2_MAX + 1] = {
    BE(1) BE(2) BE(3) BE(4) BE(5) BE(6) BE(7) BE(8) BE(9) BE(10) BE(11) BE(12)};

void cnn_dense_backward_data_narrow_avx2(int n, int in, int out, const float *dy,
                                         const float *w, const float *mask, float *dx)
{
    narrow_bwd[out](n, in, dy, w, mask, dx);
}
