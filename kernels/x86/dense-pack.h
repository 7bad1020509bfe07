/*
 * dense-pack.h — the x86 dense sets' pack_backward_data: w [in][out]
 * transposed into wt [out][in] for the columns [o0, o1), by 8 x 8 blocks
 * through AVX registers (the AVX2 and AVX-512 sets both include it; only
 * files compiled with AVX2 or wider flags may).  Edges of fewer than 8
 * rows or columns are copied one float at a time.
 */
#ifndef CNN_KERNELS_X86_DENSE_PACK_H
#define CNN_KERNELS_X86_DENSE_PACK_H

#include <immintrin.h>
#include <stddef.h>

/* wt[o0+c][i0+r] = w[i0+r][o0+c] for r, c < 8. */
static inline void dense_pack_8x8(int in, int out, const float *w, float *wt,
                                  int i0, int o0)
{
    __m256 r[8], t[8];
    for (int j = 0; j < 8; j++)
        r[j] = _mm256_loadu_ps(w + (ptrdiff_t)(i0 + j) * out + o0);
    for (int j = 0; j < 8; j += 2) {
        t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
        t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
    }
    for (int j = 0; j < 8; j += 4) {
        r[j] = _mm256_shuffle_ps(t[j], t[j + 2], 0x44);
        r[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], 0xEE);
        r[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0x44);
        r[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
    }
    for (int j = 0; j < 4; j++) {
        t[j] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x20);
        t[j + 4] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x31);
    }
    for (int j = 0; j < 8; j++)
        _mm256_storeu_ps(wt + (ptrdiff_t)(o0 + j) * in + i0, t[j]);
}

/* Rows of w in chunks of IC, so that the lines of a chunk's rows are still
   cached when the next 8 columns read their other halves (a column of
   1568 rows at a 3 KB stride is not: L2 set conflicts). */
static inline void dense_pack_transposed(int in, int out, const float *w,
                                         float *wt, int o0, int o1)
{
    enum { IC = 128 };
    const int o8 = o0 + (o1 - o0) / 8 * 8, i8 = in / 8 * 8;
    for (int c0 = 0; c0 < i8; c0 += IC) {
        const int c1 = i8 - c0 < IC ? i8 : c0 + IC;
        for (int o = o0; o < o8; o += 8)
            for (int i = c0; i < c1; i += 8)
                dense_pack_8x8(in, out, w, wt, i, o);
    }
    for (int o = o0; o < o8; o++) /* rows left over from blocks of 8 */
        for (int i = i8; i < in; i++)
            wt[(ptrdiff_t)o * in + i] = w[(ptrdiff_t)i * out + o];
    for (int o = o8; o < o1; o++)
        for (int i = 0; i < in; i++)
            wt[(ptrdiff_t)o * in + i] = w[(ptrdiff_t)i * out + o];
}

#endif /* CNN_KERNELS_X86_DENSE_PACK_H */
