/*
 * bn-portable.c — the batch-normalisation kernels (bn.h) as loops over
 * channels, which are contiguous in NHWC, so the compiler vectorises them;
 * WIDEST adds AVX2 and AVX-512 clones.  Each channel's sums run over the
 * pixels in order and every other operation is element-wise, so the bits
 * are those of the reference kernels on any ISA.  Channels go in blocks of
 * BLOCK, whose per-channel constants are worked out first; every pass then
 * runs LANES channels at a time, their constants and the sums'
 * accumulators in registers.
 */
#include <stddef.h>
#include <string.h>

#include "bn.h"
#include "widest.h"

enum { BLOCK = 64, LANES = 16 };

#define INLINE static inline __attribute__((always_inline))

/* One sample's partial sums of channels [c0, c0 + w) into o (2 * ow
   apart), added or stored.  Sixteen channels at a time, their
   accumulators in registers; each channel's sum runs over the pixels in
   order. */
WIDEST static void sums_fwd_block(int hw, int c, int c0, int w, const float *x, int add,
                                  double *o, int ow)
{
    for (int j0 = 0; j0 < w; j0 += LANES) {
        const int lw = w - j0 < LANES ? w - j0 : LANES;
        double a[LANES] = {0}, q[LANES] = {0};
        const float *xp = x + c0 + j0;
        if (lw == LANES)
            for (int p = 0; p < hw; p++)
#pragma omp simd
                for (int j = 0; j < LANES; j++) {
                    double v = xp[(size_t)p * c + j];
                    a[j] += v;
                    q[j] += v * v;
                }
        else
            for (int p = 0; p < hw; p++)
                for (int j = 0; j < lw; j++) {
                    double v = xp[(size_t)p * c + j];
                    a[j] += v;
                    q[j] += v * v;
                }
        for (int j = 0; j < lw; j++) {
            o[j0 + j] = add ? o[j0 + j] + a[j] : a[j];
            o[ow + j0 + j] = add ? o[ow + j0 + j] + q[j] : q[j];
        }
    }
}

void cnn_bn_sums_forward_scalar(int n, int hw, int c, int c0, int c1, const float *x, int add,
                                double *sums)
{
    const int w = c1 - c0;
    for (int s = 0; s < n; s++)
        for (int b = c0; b < c1; b += BLOCK)
            sums_fwd_block(hw, c, b, c1 - b < BLOCK ? c1 - b : BLOCK,
                           x + (size_t)s * hw * c, add,
                           (add ? sums : sums + (size_t)s * 2 * w) + (b - c0), w);
}

/* Per-channel constants of channels [b, b + w): scale a, shift or mean. */
static void constants(const cnn_bn_stats *st, int c0, int b, int w, const float *gamma,
                      float *mean, float *inv, float *a)
{
    for (int j = 0; j < w; j++) {
        cnn_bn_channel(st, b + j, b + j - c0, &mean[j], &inv[j]);
        a[j] = gamma[b + j] * inv[j];
    }
}

/* Channels [0, lw) of every pixel, lw <= LANES (a literal where it is
   LANES), the constants in registers. */
INLINE void forward_lanes(size_t pixels, int c, int lw, const float *restrict x,
                          const float *a_, const float *sh_, int relu, float *restrict y)
{
    float a[LANES], sh[LANES];
    for (int j = 0; j < lw; j++)
        a[j] = a_[j], sh[j] = sh_[j];
    for (size_t i = 0; i < pixels; i++) {
        const float *xp = x + i * c;
        float *yp = y + i * c;
#pragma omp simd
        for (int j = 0; j < lw; j++) {
            float v = xp[j] * a[j] + sh[j];
            yp[j] = relu && !(v > 0) ? 0 : v;
        }
    }
}

/* Channels [0, w) of every pixel, LANES at a time. */
WIDEST static void forward_block(size_t pixels, int c, int w, const float *x, const float *a,
                                 const float *sh, int relu, float *y)
{
    int j0 = 0;
    for (; j0 + LANES <= w; j0 += LANES)
        if (relu)
            forward_lanes(pixels, c, LANES, x + j0, a + j0, sh + j0, 1, y + j0);
        else
            forward_lanes(pixels, c, LANES, x + j0, a + j0, sh + j0, 0, y + j0);
    if (j0 < w)
        forward_lanes(pixels, c, w - j0, x + j0, a + j0, sh + j0, relu, y + j0);
}

void cnn_bn_forward_scalar(int n, int hw, int c, int c0, int c1, const float *x,
                           const cnn_bn_stats *st, const float *gamma, const float *beta,
                           int relu, float *y)
{
    float mean[BLOCK], inv[BLOCK], a[BLOCK], sh[BLOCK];
    for (int b = c0; b < c1; b += BLOCK) {
        const int w = c1 - b < BLOCK ? c1 - b : BLOCK;
        constants(st, c0, b, w, gamma, mean, inv, a);
        for (int j = 0; j < w; j++)
            sh[j] = beta[b + j] - mean[j] * a[j];
        forward_block((size_t)n * hw, c, w, x + b, a, sh, relu, y + b);
    }
}

/* One sample's backward partials of channels [b, b + w), sixteen at a
   time as the forward ones. */
WIDEST static void sums_bwd_block(int hw, int c, int w, const float *x, const float *dy,
                                  const float *mean, const float *inv, int add, double *o,
                                  int ow)
{
    for (int j0 = 0; j0 < w; j0 += LANES) {
        const int lw = w - j0 < LANES ? w - j0 : LANES;
        double a[LANES] = {0}, q[LANES] = {0};
        const float *xp = x + j0, *dp = dy + j0, *mp = mean + j0, *ip = inv + j0;
        if (lw == LANES)
            for (int p = 0; p < hw; p++)
#pragma omp simd
                for (int j = 0; j < LANES; j++) {
                    float d = dp[(size_t)p * c + j];
                    float xhat = (xp[(size_t)p * c + j] - mp[j]) * ip[j];
                    a[j] += d;
                    q[j] += (double)(d * xhat);
                }
        else
            for (int p = 0; p < hw; p++)
                for (int j = 0; j < lw; j++) {
                    float d = dp[(size_t)p * c + j];
                    float xhat = (xp[(size_t)p * c + j] - mp[j]) * ip[j];
                    a[j] += d;
                    q[j] += (double)(d * xhat);
                }
        for (int j = 0; j < lw; j++) {
            o[j0 + j] = add ? o[j0 + j] + a[j] : a[j];
            o[ow + j0 + j] = add ? o[ow + j0 + j] + q[j] : q[j];
        }
    }
}

void cnn_bn_sums_backward_scalar(int n, int hw, int c, int c0, int c1, const float *x,
                                 const float *dy, const cnn_bn_stats *st, int add,
                                 double *sums)
{
    const int w = c1 - c0;
    float mean[BLOCK], inv[BLOCK];
    for (int b = c0; b < c1; b += BLOCK) {
        const int bw = c1 - b < BLOCK ? c1 - b : BLOCK;
        for (int j = 0; j < bw; j++)
            cnn_bn_channel(st, b + j, b + j - c0, &mean[j], &inv[j]);
        for (int s = 0; s < n; s++) {
            size_t at = (size_t)s * hw * c + b;
            sums_bwd_block(hw, c, bw, x + at, dy + at, mean, inv, add,
                           (add ? sums : sums + (size_t)s * 2 * w) + (b - c0), w);
        }
    }
}

/* The per-channel constants of backward data, LANES of them. */
typedef struct bwd_consts {
    const float *mean, *inv, *a, *m1, *m2;
} bwd_consts;

/* Channels [0, lw) of every pixel, lw <= LANES (a literal where it is
   LANES), the constants in registers; masked when `masked`. */
INLINE void bwd_lanes(size_t pixels, int c, int lw, const float *restrict x,
                      const float *restrict dy, const bwd_consts *k, int j0, int masked,
                      const float *restrict mask, float *restrict dx)
{
    float mean[LANES], inv[LANES], a[LANES], m1[LANES], m2[LANES];
    for (int j = 0; j < lw; j++) {
        mean[j] = k->mean[j0 + j], inv[j] = k->inv[j0 + j], a[j] = k->a[j0 + j];
        m1[j] = k->m1[j0 + j], m2[j] = k->m2[j0 + j];
    }
    for (size_t i = 0; i < pixels; i++) {
        const size_t o = i * c + j0;
#pragma omp simd
        for (int j = 0; j < lw; j++) {
            float xhat = (x[o + j] - mean[j]) * inv[j];
            float v = a[j] * ((dy[o + j] - m1[j]) - xhat * m2[j]);
            dx[o + j] = masked && !(mask[o + j] > 0) ? 0 : v;
        }
    }
}

/* Channels [0, w) of every pixel, LANES at a time. */
WIDEST static void bwd_block(size_t pixels, int c, int w, const float *x, const float *dy,
                             const bwd_consts *k, const float *mask, float *dx)
{
    int j0 = 0;
    for (; j0 + LANES <= w; j0 += LANES)
        if (mask)
            bwd_lanes(pixels, c, LANES, x, dy, k, j0, 1, mask, dx);
        else
            bwd_lanes(pixels, c, LANES, x, dy, k, j0, 0, NULL, dx);
    if (j0 < w)
        bwd_lanes(pixels, c, w - j0, x, dy, k, j0, mask != NULL, mask, dx);
}

void cnn_bn_backward_data_scalar(int n, int hw, int c, int c0, int c1, const float *x,
                                 const float *dy, const cnn_bn_stats *st, const double *gsums,
                                 const float *gamma, const float *mask, float *dx)
{
    const int w = c1 - c0;
    float mean[BLOCK], inv[BLOCK], a[BLOCK], m1[BLOCK], m2[BLOCK];
    for (int b = c0; b < c1; b += BLOCK) {
        const int bw = c1 - b < BLOCK ? c1 - b : BLOCK;
        constants(st, c0, b, bw, gamma, mean, inv, a);
        for (int j = 0; j < bw; j++) {
            m1[j] = (float)(gsums[b - c0 + j] / st->count);
            m2[j] = (float)(gsums[w + b - c0 + j] / st->count);
        }
        const bwd_consts k = {mean, inv, a, m1, m2};
        bwd_block((size_t)n * hw, c, bw, x + b, dy + b, &k, mask ? mask + b : NULL, dx + b);
    }
}
