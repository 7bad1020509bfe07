/*
 * dense-ref.c — the naive reference dense (fully connected) layer: forward,
 * backward-data and backward-weights as the plain sums of their definitions,
 * with double accumulators.  The test oracle for the other kernel sets.
 *
 * Layouts (see kernels.h): x and dx are (n, in), y and dy are (n, out),
 * w is [in][out], b is [out].  The ref set has no pack hook: its backward
 * data reads w itself.
 */
#include <stddef.h>

#include "families.h"

void cnn_dense_forward_ref(int n, int in, int out, const float *x,
                           const float *w, const float *b, float *y, int relu)
{
    for (int s = 0; s < n; s++)
        for (int o = 0; o < out; o++) {
            double sum = b ? b[o] : 0.0;
            for (int i = 0; i < in; i++)
                sum += (double)x[(size_t)s * in + i] * w[(size_t)i * out + o];
            if (relu && !(sum > 0))
                sum = 0;
            y[(size_t)s * out + o] = (float)sum;
        }
}

void cnn_dense_backward_data_ref(int n, int in, int out, const float *dy,
                                 const float *w, const float *mask, float *dx)
{
    for (int s = 0; s < n; s++)
        for (int i = 0; i < in; i++) {
            double sum = 0;
            for (int o = 0; o < out; o++)
                sum += (double)dy[(size_t)s * out + o] * w[(size_t)i * out + o];
            size_t at = (size_t)s * in + i;
            if (mask && !(mask[at] > 0))
                sum = 0;
            dx[at] = (float)sum;
        }
}

void cnn_dense_backward_weights_ref(int n, int in, int out, const float *x,
                                    const float *dy, int i0, int i1,
                                    int start_zero, float *dw, float *db)
{
    for (int i = i0; i < i1; i++)
        for (int o = 0; o < out; o++) {
            double sum = 0;
            for (int s = 0; s < n; s++)
                sum += (double)x[(size_t)s * in + i] * dy[(size_t)s * out + o];
            size_t at = (size_t)i * out + o;
            dw[at] = (float)((start_zero ? 0.0f : dw[at]) + sum);
        }
    if (!db)
        return;
    for (int o = 0; o < out; o++) {
        double sum = 0;
        for (int s = 0; s < n; s++)
            sum += dy[(size_t)s * out + o];
        db[o] = (float)((start_zero ? 0.0f : db[o]) + sum);
    }
}
