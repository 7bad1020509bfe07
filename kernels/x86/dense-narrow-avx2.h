/*
 * dense-narrow-avx2.h — the AVX2 dense backward-data for out <= 12
 * (dense-narrow-avx2.c), which dense-avx2.c hands narrow layers to.
 * Only files compiled with the AVX2 flags use it.
 */
#ifndef CNN_KERNELS_X86_DENSE_NARROW_AVX2_H
#define CNN_KERNELS_X86_DENSE_NARROW_AVX2_H

#define CNN_DENSE_NARROW_AVX2_MAX 12

/* The dense backward_data (kernels.h) for 1 <= out <= CNN_DENSE_NARROW_AVX2_MAX,
   reading w [in][out] itself. */
void cnn_dense_backward_data_narrow_avx2(int n, int in, int out, const float *dy,
                                         const float *w, const float *mask, float *dx);

#endif /* CNN_KERNELS_X86_DENSE_NARROW_AVX2_H */
