/*
 * reduce.c — the fixed-order sum of the per-thread gradient buffers over
 * one slice of the parameters, and the check that the sums are finite.
 */
#include "reduce.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

long cnn_reduce_grads(float *const *grads, int nthreads, size_t begin, size_t end)
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
