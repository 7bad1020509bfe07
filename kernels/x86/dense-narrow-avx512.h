/*
 * dense-narrow-avx512.h — the AVX-512 dense forward and backward-data for
 * out <= 12 (dense-narrow-avx512.c), which
 * dense-avx512.c hands narrow layers to.  Only files compiled with the AVX-512 flags use it.
 */
#ifndef CNN_KERNELS_X86_DENSE_NARROW_AVX512_H
#define CNN_KERNELS_X86_DENSE_NARROW_AVX512_H

#define CNN_DENSE_NARROW_MAX 12

/* The dense forward (kernels.h) for 1 <= out <= CNN_DENSE_NARROW_MAX. */
void cnn_dense_forward_narrow_avx512(int n, int in, int out, const float *x, const float *w,
                                     const float *b, float *y, int relu);
/* The dense backward_data (kernels.h) for 1 <= out <= CNN_DENSE_NARROW_MAX,
   reading w [in][out] itself. */
void cnn_dense_backward_data_narrow_avx512(int n, int in, int out, const float *dy,
                                           const float *w, const float *mask, float *dx);

#endif /* CNN_KERNELS_X86_DENSE_NARROW_AVX512_H */
