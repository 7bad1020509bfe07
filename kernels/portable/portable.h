/*
 * portable.h — the portable C11 kernels (the "scalar" ISA, kernels/portable)
 * exported one by one, for the kernel table, the dense wrappers, tests and
 * benchmarks.  Same contract as kernels.h; names say op, shape and ISA.
 */
#ifndef CNN_KERNELS_PORTABLE_H
#define CNN_KERNELS_PORTABLE_H

#include "kernels.h"

/* Any k, stride and padding. */
void cnn_conv_forward_scalar(const cnn_conv_geom *g, int n, const float *x,
                             const float *w, const float *b, float *y,
                             int relu);
void cnn_conv_backward_data_scalar(const cnn_conv_geom *g, int n,
                                   const float *dy, const float *w,
                                   const float *mask, float *dx);
void cnn_conv_backward_weights_scalar(const cnn_conv_geom *g, int n,
                                      const float *x, const float *dy,
                                      float *dw, float *db);

/* 1x1, stride 1, no padding (so out_h == in_h, out_w == in_w): a GEMM over
   the n*in_h*in_w pixels. */
void cnn_conv1x1_forward_scalar(const cnn_conv_geom *g, int n, const float *x,
                                const float *w, const float *b, float *y,
                                int relu);
void cnn_conv1x1_backward_data_scalar(const cnn_conv_geom *g, int n,
                                      const float *dy, const float *w,
                                      const float *mask, float *dx);
void cnn_conv1x1_backward_weights_scalar(const cnn_conv_geom *g, int n,
                                         const float *x, const float *dy,
                                         float *dw, float *db);

/* Dense layers: the 1x1 kernels over n one-pixel "images". */
void cnn_dense_forward_scalar(int n, int in, int out, const float *x,
                              const float *w, const float *b, float *y,
                              int relu);
void cnn_dense_backward_data_scalar(int n, int in, int out, const float *dy,
                                    const float *w, const float *mask,
                                    float *dx);
void cnn_dense_backward_weights_scalar(int n, int in, int out, const float *x,
                                       const float *dy, float *dw, float *db);

#endif /* CNN_KERNELS_PORTABLE_H */
