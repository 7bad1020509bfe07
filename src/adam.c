/*
 * adam.c — Keras's Adam (bias correction folded into the step size, epsilon
 * outside the square root) and the fixed-order sum of the per-thread
 * gradient buffers with a check that the sum is finite.
 */
#include "adam.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

float cnn_adam_step_size(const cnn_adam *a, long t)
{
    double b1t = pow(a->beta1, (double)t), b2t = pow(a->beta2, (double)t);
    return (float)(a->lr * sqrt(1.0 - b2t) / (1.0 - b1t));
}

long cnn_adam_reduce(float *const *grads, int nthreads, size_t begin, size_t end)
{
    enum { CHUNK = 256 };
    long bad = -1;
    for (size_t c0 = begin; c0 < end; c0 += CHUNK) {
        size_t len = end - c0 < CHUNK ? end - c0 : CHUNK;
        float *restrict g0 = grads[0] + c0;
        for (int t = 1; t < nthreads; t++) {
            float *restrict gt = grads[t] + c0;
            for (size_t i = 0; i < len; i++) {
                g0[i] += gt[i];
                gt[i] = 0;
            }
        }
        /* A float is not finite when its exponent bits are all ones: an
           integer test, which the compiler can vectorise. */
        unsigned nonfinite = 0;
        for (size_t i = 0; i < len; i++) {
            uint32_t u;
            memcpy(&u, &g0[i], 4);
            nonfinite |= (u & 0x7f800000u) == 0x7f800000u;
        }
        if (nonfinite && bad < 0)
            for (size_t i = 0; i < len && bad < 0; i++)
                if (!isfinite(g0[i]))
                    bad = (long)(c0 + i);
    }
    return bad;
}

void cnn_adam_update(const cnn_adam *a, float lr_t, float *params, float *grad,
                     size_t begin, size_t end)
{
    const float b1 = a->beta1, b2 = a->beta2, eps = a->eps;
    float *restrict m = a->m, *restrict v = a->v, *restrict p = params;
    float *restrict g = grad;
    for (size_t j = begin; j < end; j++) {
        float gj = g[j];
        g[j] = 0;
        m[j] = b1 * m[j] + (1.0f - b1) * gj;
        v[j] = b2 * v[j] + (1.0f - b2) * gj * gj;
        p[j] -= lr_t * m[j] / (sqrtf(v[j]) + eps);
    }
}
