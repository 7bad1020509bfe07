/*
 * augment_avx512.c — augmentation's one-channel rows with AVX-512: 16
 * output pixels at a time, their 4 taps gathered (a tap outside the image
 * masked off, so it reads as 0).  The float operations are the scalar
 * row's (augment.c), in its order and without contraction, so the bits are
 * the same on any CPU.  Compiled for x86-64 only, with a target attribute
 * (the rest of the file is plain C).
 */
#include "augment.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512vl")))

/* The masks of the lanes whose column (row) x lies in [0, n). */
static AVX512 __mmask16 inside(__m512i x, __m512i n)
{
    return _mm512_cmplt_epu32_mask(x, n);
}

AVX512 void cnn_augment_row1_avx512(const float *src, int h, int w, float rx, float ry,
                                    float fa, float fb, float *out)
{
    const __m512 lane = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512 va = _mm512_set1_ps(fa), vb = _mm512_set1_ps(fb), one = _mm512_set1_ps(1);
    const __m512 vrx = _mm512_set1_ps(rx), vry = _mm512_set1_ps(ry), zero = _mm512_setzero_ps();
    const __m512i vw = _mm512_set1_epi32(w), vh = _mm512_set1_epi32(h);
    const __m512i i1 = _mm512_set1_epi32(1);
    for (int x = 0; x < w; x += 16) {
        const __mmask16 live = w - x >= 16 ? 0xffff : (__mmask16)((1u << (w - x)) - 1);
        const __m512 xs = _mm512_add_ps(_mm512_set1_ps((float)x), lane);
        const __m512 px = _mm512_add_ps(vrx, _mm512_mul_ps(va, xs));
        const __m512 py = _mm512_add_ps(vry, _mm512_mul_ps(vb, xs));
        __m512i x0 = _mm512_cvttps_epi32(px), y0 = _mm512_cvttps_epi32(py);
        /* floor: one less where the truncation went up */
        x0 = _mm512_mask_sub_epi32(
            x0, _mm512_cmp_ps_mask(px, _mm512_cvtepi32_ps(x0), _CMP_LT_OQ), x0, i1);
        y0 = _mm512_mask_sub_epi32(
            y0, _mm512_cmp_ps_mask(py, _mm512_cvtepi32_ps(y0), _CMP_LT_OQ), y0, i1);
        const __m512 fx = _mm512_sub_ps(px, _mm512_cvtepi32_ps(x0));
        const __m512 fy = _mm512_sub_ps(py, _mm512_cvtepi32_ps(y0));
        const __m512 gx = _mm512_sub_ps(one, fx), gy = _mm512_sub_ps(one, fy);
        const __mmask16 cx0 = inside(x0, vw), cx1 = inside(_mm512_add_epi32(x0, i1), vw);
        const __mmask16 ry0 = live & inside(y0, vh);
        const __mmask16 ry1 = live & inside(_mm512_add_epi32(y0, i1), vh);
        const __m512i idx = _mm512_add_epi32(_mm512_mullo_epi32(y0, vw), x0);
        const __m512i idx1 = _mm512_add_epi32(idx, i1), idxw = _mm512_add_epi32(idx, vw);
        const __m512i idxw1 = _mm512_add_epi32(idxw, i1);
        const __m512 p0 = _mm512_mask_i32gather_ps(zero, ry0 & cx0, idx, src, 4);
        const __m512 p1 = _mm512_mask_i32gather_ps(zero, ry0 & cx1, idx1, src, 4);
        const __m512 p2 = _mm512_mask_i32gather_ps(zero, ry1 & cx0, idxw, src, 4);
        const __m512 p3 = _mm512_mask_i32gather_ps(zero, ry1 & cx1, idxw1, src, 4);
        __m512 v = _mm512_mul_ps(_mm512_mul_ps(gx, gy), p0);
        v = _mm512_add_ps(v, _mm512_mul_ps(_mm512_mul_ps(fx, gy), p1));
        v = _mm512_add_ps(v, _mm512_mul_ps(_mm512_mul_ps(gx, fy), p2));
        v = _mm512_add_ps(v, _mm512_mul_ps(_mm512_mul_ps(fx, fy), p3));
        _mm512_mask_storeu_ps(out + x, live, v);
    }
}
#endif
