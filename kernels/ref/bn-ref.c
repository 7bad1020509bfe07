/*
 * bn-ref.c — the batch-normalisation kernels as plain loops, one value at
 * a time: the oracle the portable kernels are tested against (bn.h).
 */
#include <stddef.h>

#include "bn.h"

void cnn_bn_sums_forward_ref(int n, int hw, int c, int c0, int c1, const float *x, int add,
                             double *sums)
{
    const int w = c1 - c0;
    for (int s = 0; s < n; s++) {
        double *o = add ? sums : sums + (size_t)s * 2 * w;
        for (int j = c0; j < c1; j++) {
            double a = 0, q = 0;
            for (int p = 0; p < hw; p++) {
                double v = x[((size_t)s * hw + p) * c + j];
                a += v;
                q += v * v;
            }
            o[j - c0] = add ? o[j - c0] + a : a;
            o[w + j - c0] = add ? o[w + j - c0] + q : q;
        }
    }
}

void cnn_bn_forward_ref(int n, int hw, int c, int c0, int c1, const float *x,
                        const cnn_bn_stats *st, const float *gamma, const float *beta, int relu,
                        float *y)
{
    for (int j = c0; j < c1; j++) {
        float mean, inv;
        cnn_bn_channel(st, j, j - c0, &mean, &inv);
        float a = gamma[j] * inv, b = beta[j] - mean * a;
        for (size_t i = 0; i < (size_t)n * hw; i++) {
            float v = x[i * c + j] * a + b;
            y[i * c + j] = relu && !(v > 0) ? 0 : v;
        }
    }
}

void cnn_bn_sums_backward_ref(int n, int hw, int c, int c0, int c1, const float *x,
                              const float *dy, const cnn_bn_stats *st, int add, double *sums)
{
    const int w = c1 - c0;
    for (int j = c0; j < c1; j++) {
        float mean, inv;
        cnn_bn_channel(st, j, j - c0, &mean, &inv);
        for (int s = 0; s < n; s++) {
            double *o = add ? sums : sums + (size_t)s * 2 * w;
            double a = 0, q = 0;
            for (int p = 0; p < hw; p++) {
                size_t i = ((size_t)s * hw + p) * c + j;
                float xhat = (x[i] - mean) * inv;
                a += dy[i];
                q += (double)(dy[i] * xhat);
            }
            o[j - c0] = add ? o[j - c0] + a : a;
            o[w + j - c0] = add ? o[w + j - c0] + q : q;
        }
    }
}

void cnn_bn_backward_data_ref(int n, int hw, int c, int c0, int c1, const float *x,
                              const float *dy, const cnn_bn_stats *st, const double *gsums,
                              const float *gamma, const float *mask, float *dx)
{
    const int w = c1 - c0;
    for (int j = c0; j < c1; j++) {
        float mean, inv;
        cnn_bn_channel(st, j, j - c0, &mean, &inv);
        const float a = gamma[j] * inv;
        const float m1 = (float)(gsums[j - c0] / st->count);
        const float m2 = (float)(gsums[w + j - c0] / st->count);
        for (size_t i = 0; i < (size_t)n * hw; i++) {
            size_t k = i * c + j;
            float xhat = (x[k] - mean) * inv;
            float v = a * ((dy[k] - m1) - xhat * m2);
            dx[k] = mask && !(mask[k] > 0) ? 0 : v;
        }
    }
}
