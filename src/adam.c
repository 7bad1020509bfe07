/*
 * adam.c — Keras's Adam (bias correction folded into the step size, epsilon
 * outside the square root) fused with the fixed-order sum of the per-thread
 * gradient buffers.
 */
#include "adam.h"

#include <math.h>

float cnn_adam_step_size(const cnn_adam *a, long t)
{
    double b1t = pow(a->beta1, (double)t), b2t = pow(a->beta2, (double)t);
    return (float)(a->lr * sqrt(1.0 - b2t) / (1.0 - b1t));
}

void cnn_adam_reduce_update(const cnn_adam *a, float lr_t, float *params,
                            float *const *grads, int nthreads, size_t begin,
                            size_t end)
{
    enum { CHUNK = 256 };
    const float b1 = a->beta1, b2 = a->beta2, eps = a->eps;
    float *restrict m = a->m, *restrict v = a->v, *restrict p = params;
    float g[CHUNK];
    for (size_t c0 = begin; c0 < end; c0 += CHUNK) {
        size_t len = end - c0 < CHUNK ? end - c0 : CHUNK;
        /* Sum the threads' buffers in thread order, clearing them. */
        float *restrict g0 = grads[0] + c0;
        for (size_t i = 0; i < len; i++) {
            g[i] = g0[i];
            g0[i] = 0;
        }
        for (int t = 1; t < nthreads; t++) {
            float *restrict gt = grads[t] + c0;
            for (size_t i = 0; i < len; i++) {
                g[i] += gt[i];
                gt[i] = 0;
            }
        }
        for (size_t i = 0; i < len; i++) {
            size_t j = c0 + i;
            m[j] = b1 * m[j] + (1.0f - b1) * g[i];
            v[j] = b2 * v[j] + (1.0f - b2) * g[i] * g[i];
            p[j] -= lr_t * m[j] / (sqrtf(v[j]) + eps);
        }
    }
}
