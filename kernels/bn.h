/*
 * bn.h — the batch-normalisation kernels' contract: per-channel statistics
 * over NHWC tensors, and the normalisation with them (forward and
 * backward-data).  Declared per ISA: ref (naive loops, the test oracle) and
 * scalar (kernels/portable, loops over channels the compiler vectorises,
 * with AVX2 and AVX-512 clones: element-wise, so every clone gives the same
 * bits).
 *
 * A tensor holds n samples of hw pixels of c channels; every kernel works
 * on channels [c0, c1) only, so a caller can go through many channels in
 * blocks.  Sums are double, each sample's summed over its pixels in order
 * (a sample's partial never depends on the call it is in).  A sums array
 * of a channel range holds, per sample (add = 0) or once (add != 0, each
 * sample's partial added to it in sample order), 2 * (c1 - c0) doubles:
 * first the channels' sums of the input (forward) or of dy (backward),
 * then of x^2 (forward) or of dy * xhat (backward).
 */
#ifndef CNN_KERNELS_BN_H
#define CNN_KERNELS_BN_H

#include <math.h>

/* The statistics a normalisation uses: a batch's totals over `count`
   values per channel (sum[j], sumsq[j] indexed by channel from c0: the
   training mode), or, when sum is NULL, the moving mean and variance
   (indexed by absolute channel: inference). */
typedef struct cnn_bn_stats {
    const double *sum, *sumsq;
    double count;
    const float *mean, *var;
    float eps;
} cnn_bn_stats;

/* Channel j's mean and 1/sqrt(var + eps) (the biased variance of the
   batch, as Keras and TensorFlow normalise; never below 0). */
static inline void cnn_bn_channel(const cnn_bn_stats *s, int j, int jr, float *mean, float *inv)
{
    double m, v;
    if (s->sum) {
        m = s->sum[jr] / s->count;
        v = s->sumsq[jr] / s->count - m * m;
        v = v > 0 ? v : 0;
    } else {
        m = s->mean[j];
        v = s->var[j];
    }
    *mean = (float)m;
    *inv = (float)(1.0 / sqrt(v + (double)s->eps));
}

#define CNN_DECLARE_BN(isa)                                                    \
    void cnn_bn_sums_forward_##isa(int n, int hw, int c, int c0, int c1,      \
                                   const float *x, int add, double *sums);    \
    void cnn_bn_forward_##isa(int n, int hw, int c, int c0, int c1,           \
                              const float *x, const cnn_bn_stats *s,          \
                              const float *gamma, const float *beta,          \
                              int relu, float *y);                            \
    void cnn_bn_sums_backward_##isa(int n, int hw, int c, int c0, int c1,     \
                                    const float *x, const float *dy,          \
                                    const cnn_bn_stats *s, int add,           \
                                    double *sums);                            \
    void cnn_bn_backward_data_##isa(int n, int hw, int c, int c0, int c1,     \
                                    const float *x, const float *dy,          \
                                    const cnn_bn_stats *s,                    \
                                    const double *gsums, const float *gamma,  \
                                    const float *mask, float *dx)

/* forward:       y = x * a + b with a = gamma * inv, b = beta - mean * a
                  (ReLU after when relu);
   sums_backward: of dy and of dy * xhat, xhat = (x - mean) * inv;
   backward_data: dx = a * ((dy - Sdy / N) - xhat * (Sdyxhat / N)), N =
                  s->count, gsums the batch's backward totals (indexed
                  from c0); then dx = 0 where mask <= 0 when mask is not
                  NULL.  dy already carries the layer's own ReLU mask. */
CNN_DECLARE_BN(ref);
CNN_DECLARE_BN(scalar);

/* One set's kernels, for the layer to bind. */
typedef struct cnn_bn_kernels {
    void (*sums_forward)(int n, int hw, int c, int c0, int c1, const float *x, int add,
                         double *sums);
    void (*forward)(int n, int hw, int c, int c0, int c1, const float *x,
                    const cnn_bn_stats *s, const float *gamma, const float *beta, int relu,
                    float *y);
    void (*sums_backward)(int n, int hw, int c, int c0, int c1, const float *x,
                          const float *dy, const cnn_bn_stats *s, int add, double *sums);
    void (*backward_data)(int n, int hw, int c, int c0, int c1, const float *x,
                          const float *dy, const cnn_bn_stats *s, const double *gsums,
                          const float *gamma, const float *mask, float *dx);
} cnn_bn_kernels;

#define CNN_BN_KERNELS(isa)                                                    \
    {                                                                          \
        cnn_bn_sums_forward_##isa, cnn_bn_forward_##isa,                       \
            cnn_bn_sums_backward_##isa, cnn_bn_backward_data_##isa             \
    }

#endif /* CNN_KERNELS_BN_H */
