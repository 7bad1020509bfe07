/*
 * augment_avx2.c — augmentation's one-channel rows with AVX2, for CPUs
 * without AVX-512: 8 output pixels at a time, their 4 taps gathered (a tap
 * outside the image masked off, so it reads as 0).  The float operations
 * are the scalar row's (augment.c), in its order and without contraction,
 * so the bits are the same on any CPU.  Compiled for x86-64 only, with a
 * target attribute.
 */
#include "augment.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

/* All ones in the lanes whose x lies in [0, n). */
static AVX2 __m256i inside(__m256i x, __m256i n)
{
    return _mm256_and_si256(_mm256_cmpgt_epi32(x, _mm256_set1_epi32(-1)),
                            _mm256_cmpgt_epi32(n, x));
}

/* Gather src[idx] where m is all ones, 0 elsewhere (not read). */
static AVX2 __m256 tap(const float *src, __m256i idx, __m256i m)
{
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), src, idx, _mm256_castsi256_ps(m), 4);
}

/* floor(p) from its truncation t: one less where t went up. */
static AVX2 __m256i floor_of(__m256 p, __m256i t)
{
    __m256 up = _mm256_cmp_ps(p, _mm256_cvtepi32_ps(t), _CMP_LT_OQ);
    return _mm256_add_epi32(t, _mm256_castps_si256(up)); /* + (-1) */
}

AVX2 void cnn_augment_row1_avx2(const float *src, int h, int w, float rx, float ry, float fa,
                                float fb, float *out)
{
    const __m256i lane_i = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 lane = _mm256_cvtepi32_ps(lane_i), one = _mm256_set1_ps(1);
    const __m256 va = _mm256_set1_ps(fa), vb = _mm256_set1_ps(fb);
    const __m256 vrx = _mm256_set1_ps(rx), vry = _mm256_set1_ps(ry);
    const __m256i vw = _mm256_set1_epi32(w), vh = _mm256_set1_epi32(h);
    const __m256i i1 = _mm256_set1_epi32(1);
    for (int x = 0; x < w; x += 8) {
        const __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32(w - x), lane_i);
        const __m256 xs = _mm256_add_ps(_mm256_set1_ps((float)x), lane);
        const __m256 px = _mm256_add_ps(vrx, _mm256_mul_ps(va, xs));
        const __m256 py = _mm256_add_ps(vry, _mm256_mul_ps(vb, xs));
        const __m256i x0 = floor_of(px, _mm256_cvttps_epi32(px));
        const __m256i y0 = floor_of(py, _mm256_cvttps_epi32(py));
        const __m256 fx = _mm256_sub_ps(px, _mm256_cvtepi32_ps(x0));
        const __m256 fy = _mm256_sub_ps(py, _mm256_cvtepi32_ps(y0));
        const __m256 gx = _mm256_sub_ps(one, fx), gy = _mm256_sub_ps(one, fy);
        const __m256i cx0 = inside(x0, vw), cx1 = inside(_mm256_add_epi32(x0, i1), vw);
        const __m256i ry0 = _mm256_and_si256(live, inside(y0, vh));
        const __m256i ry1 = _mm256_and_si256(live, inside(_mm256_add_epi32(y0, i1), vh));
        const __m256i idx = _mm256_add_epi32(_mm256_mullo_epi32(y0, vw), x0);
        const __m256i idxw = _mm256_add_epi32(idx, vw);
        const __m256 p0 = tap(src, idx, _mm256_and_si256(ry0, cx0));
        const __m256 p1 = tap(src, _mm256_add_epi32(idx, i1), _mm256_and_si256(ry0, cx1));
        const __m256 p2 = tap(src, idxw, _mm256_and_si256(ry1, cx0));
        const __m256 p3 = tap(src, _mm256_add_epi32(idxw, i1), _mm256_and_si256(ry1, cx1));
        __m256 v = _mm256_mul_ps(_mm256_mul_ps(gx, gy), p0);
        v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_mul_ps(fx, gy), p1));
        v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_mul_ps(gx, fy), p2));
        v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_mul_ps(fx, fy), p3));
        _mm256_maskstore_ps(out + x, live, v);
    }
}
#endif
