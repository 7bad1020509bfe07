/*
 * dense-avx2.c — dense (fully connected) kernels, AVX2+FMA; x is (n, in),
 * w [in][out], y and dy (n, out).
 *
 *   cnn_dense_forward_avx2           the 1x1 forward GEMM over n one-pixel
 *                                    samples (tiles of samples x out vectors)
 *   cnn_dense_backward_data_avx2     dx[s][i] = dy[s] . w[i]: dot products
 *                                    along out, 8 rows of w at a time, reduced
 *                                    into one vector of 8 dx (mask in the
 *                                    store); out % 8 by masked loads
 *   cnn_dense_backward_weights_avx2  dw += x^T dy (tiles of in rows x out
 *                                    vectors held over the n samples),
 *                                    db += sum dy
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "avx2.h"

void cnn_dense_forward_avx2(int n, int in, int out, const float *x,
                            const float *w, const float *b, float *y,
                            int relu)
{
    const cnn_conv_geom g = {.in_h = 1, .in_w = n, .in_c = in, .out_h = 1,
                             .out_w = n, .out_c = out, .k = 1, .stride = 1};
    cnn_conv1x1_forward_avx2(&g, 1, x, w, b, y, relu);
}

static const int32_t tail_bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                      0,  0,  0,  0,  0,  0,  0,  0};

/* Sum of the 8 lanes of each of a[0..7], as one vector. */
static inline __m256 reduce8(const __m256 a[8])
{
    const __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
    const __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
    const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                         _mm256_permute2f128_ps(u0, u1, 0x31));
}

static inline float hsum(__m256 a)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

void cnn_dense_backward_data_avx2(int n, int in, int out, const float *dy,
                                  const float *w, const float *mask,
                                  float *dx)
{
    const int full = out / 8, tail = out - 8 * full;
    const __m256i tm = _mm256_loadu_si256((const __m256i *)(tail_bits + 8 - tail));
    const __m256 zero = _mm256_setzero_ps();
    for (int s = 0; s < n; s++) {
        const float *d = dy + (ptrdiff_t)s * out;
        float *o = dx + (ptrdiff_t)s * in;
        const float *m = mask ? mask + (ptrdiff_t)s * in : NULL;
        int i0 = 0;
        for (; i0 + 8 <= in; i0 += 8) {
            const float *wr = w + (ptrdiff_t)i0 * out;
            __m256 acc[8];
            for (int j = 0; j < 8; j++)
                acc[j] = zero;
            for (int v = 0; v < full; v++) {
                const __m256 dv = _mm256_loadu_ps(d + 8 * v);
                for (int j = 0; j < 8; j++)
                    acc[j] = _mm256_fmadd_ps(
                        _mm256_loadu_ps(wr + (ptrdiff_t)j * out + 8 * v), dv,
                        acc[j]);
            }
            if (tail) {
                const __m256 dv = _mm256_maskload_ps(d + 8 * full, tm);
                for (int j = 0; j < 8; j++)
                    acc[j] = _mm256_fmadd_ps(
                        _mm256_maskload_ps(wr + (ptrdiff_t)j * out + 8 * full, tm),
                        dv, acc[j]);
            }
            __m256 r = reduce8(acc);
            if (m)
                r = _mm256_and_ps(r, _mm256_cmp_ps(_mm256_loadu_ps(m + i0), zero,
                                                   _CMP_GT_OQ));
            _mm256_storeu_ps(o + i0, r);
        }
        for (; i0 < in; i0++) { /* rows left over from blocks of 8 */
            const float *wr = w + (ptrdiff_t)i0 * out;
            __m256 acc = zero;
            for (int v = 0; v < full; v++)
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(wr + 8 * v),
                                      _mm256_loadu_ps(d + 8 * v), acc);
            if (tail)
                acc = _mm256_fmadd_ps(_mm256_maskload_ps(wr + 8 * full, tm),
                                      _mm256_maskload_ps(d + 8 * full, tm), acc);
            const float r = hsum(acc);
            o[i0] = m && !(m[i0] > 0.0f) ? 0.0f : r;
        }
    }
}

void cnn_dense_backward_weights_avx2(int n, int in, int out, const float *x,
                                     const float *dy, float *dw, float *db)
{
    cnn_avx2_gemm_at_b(n, in, out, x, dy, dw, db);
}
