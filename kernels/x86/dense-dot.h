/*
 * dense-dot.h — the x86 dense sets' backward-data in dot-product form,
 * reading w [in][out] as it is (no transposed copy): dense-dot-avx512.c,
 * dense-dot-avx2.c.  dx (n, in) overwritten, then masked (mask[i] > 0 ?
 * dx[i] : 0) when mask is not NULL.  Each dx element's float operations
 * are fixed by in and out alone (batch invariance, kernels.h).
 */
#ifndef CNN_KERNELS_X86_DENSE_DOT_H
#define CNN_KERNELS_X86_DENSE_DOT_H

void cnn_dense_backward_data_dot_avx512(int n, int in, int out, const float *dy,
                                        const float *w, const float *mask, float *dx);
void cnn_dense_backward_data_dot_avx2(int n, int in, int out, const float *dy,
                                      const float *w, const float *mask, float *dx);

#endif /* CNN_KERNELS_X86_DENSE_DOT_H */
