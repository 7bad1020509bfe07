/*
 * dense-gemm-neon.h — the GEMM job every pass of the NEON dense kernels is
 * (gemm-dense-neon.c, used by dense-neon.c):
 *
 *   C[m][j] = epilogue(init + sum over k = 0..K-1 of A[m][k] * B[k][j])
 *
 * for m < M, j < N, each element one chain of fused multiply-adds in k
 * order from its init, whatever tile it falls in (batch invariance and
 * the owner form of backward-weights, kernels.h).  As kernels/x86/
 * dense-gemm.h: forward A = x, B = w; backward_data A = dy, B = w
 * transposed; backward_weights A = x transposed (a_m = 1), B = dy,
 * accumulating into dw.
 */
#ifndef CNN_KERNELS_ARM_DENSE_GEMM_NEON_H
#define CNN_KERNELS_ARM_DENSE_GEMM_NEON_H

#include <stddef.h>

typedef struct neon_dense_gemm {
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
} neon_dense_gemm;

/* Run the whole job: columns in blocks of q vectors, rows in balanced
   register tiles, K in chunks. */
void cnn_dense_gemm_neon(const neon_dense_gemm *g);

#endif /* CNN_KERNELS_ARM_DENSE_GEMM_NEON_H */
