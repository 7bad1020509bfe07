/*
 * dense-gemm.h — the GEMM job that every pass of the x86 dense kernels is
 * (gemm-dense-avx512.c, gemm-dense-avx2.c; used by dense-avx512.c and
 * dense-avx2.c):
 *
 *   C[m][j] = epilogue(init + sum over k = 0..K-1 of A[m][k] * B[k][j])
 *
 * for m < M, j < N, each element one chain of fused multiply-adds in k
 * order from its init, whatever tile it falls in: the bits of an element
 * depend on its own row of A, the data and K only (batch invariance, and
 * the owner form of backward-weights, kernels.h).
 *
 *   forward           A = x (n, in), B = w [in][out], init bias, ReLU
 *   backward_data     A = dy (n, out), B = w transposed [out][in], mask
 *   backward_weights  A = x transposed (a_m = 1, a_k = in), B = dy,
 *                     init = C (dw rows, accumulate)
 */
#ifndef CNN_KERNELS_X86_DENSE_GEMM_H
#define CNN_KERNELS_X86_DENSE_GEMM_H

#include <stddef.h>

typedef struct dense_gemm {
    int M, N, K;
    const float *a;     /* A[m][k] at a + m*a_m + k*a_k: a_m == 1 or a_k == 1 */
    ptrdiff_t a_m, a_k;
    const float *b;     /* B[k][j] at b + k*ldb + j */
    ptrdiff_t ldb;
    float *c;           /* C[m][j] at c + m*ldc + j */
    ptrdiff_t ldc;
    const float *bias;  /* init bias[j] (NULL: 0) unless accum */
    int accum;          /* init C[m][j] (the old value) */
    int relu;           /* C = max(C, 0) */
    const float *mask;  /* laid out as C: C = mask > 0 ? C : 0 (NULL: none) */
} dense_gemm;

/* Run the whole job: columns in blocks of vectors, rows in balanced
   register tiles. */
void cnn_dense_gemm_avx512(const dense_gemm *g);
void cnn_dense_gemm_avx2(const dense_gemm *g);

#endif /* CNN_KERNELS_X86_DENSE_GEMM_H */
