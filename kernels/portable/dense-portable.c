/*
 * dense-portable.c — portable C11 dense (fully connected) kernels, the
 * "scalar" ISA.  A dense layer over n samples is a 1x1 convolution over n
 * one-pixel positions (x (n, in) is NHWC with h = 1, w = n, c = in; w [in][out]
 * is a 1x1 kernel), so each pass hands the work to the 1x1 GEMM kernels of
 * conv-portable.c:
 *   forward           y[s][:] = b + sum_i x[s][i] * w[i][:], vectorised over out
 *   backward_data     dx[s][i] = sum_o dy[s][o] * w[i][o] (then the mask)
 *   backward_weights  dw[i][:] += sum_s x[s][i] * dy[s][:], db += sum_s dy[s]
 */
#include "families.h"

/* The 1x1 geometry that runs a dense layer over n samples as one image. */
static cnn_conv_geom dense_as_1x1(int n, int in, int out)
{
    cnn_conv_geom g = {
        .in_h = 1, .in_w = n, .in_c = in,
        .out_h = 1, .out_w = n, .out_c = out,
        .k = 1, .stride = 1, .pad_top = 0, .pad_left = 0,
    };
    return g;
}

void cnn_dense_forward_scalar(int n, int in, int out, const float *x,
                              const float *w, const float *b, float *y,
                              int relu)
{
    cnn_conv_geom g = dense_as_1x1(n, in, out);
    cnn_conv1x1_forward_scalar(&g, 1, x, w, b, y, relu);
}

void cnn_dense_backward_data_scalar(int n, int in, int out, const float *dy,
                                    const float *w, const float *mask,
                                    float *dx)
{
    cnn_conv_geom g = dense_as_1x1(n, in, out);
    cnn_conv1x1_backward_data_scalar(&g, 1, dy, w, mask, dx);
}

void cnn_dense_backward_weights_scalar(int n, int in, int out, const float *x,
                                       const float *dy, float *dw, float *db)
{
    cnn_conv_geom g = dense_as_1x1(n, in, out);
    cnn_conv1x1_backward_weights_scalar(&g, 1, x, dy, dw, db);
}
