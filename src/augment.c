/*
 * augment.c — one image's augmentation (augment.h): the transform drawn
 * from (seed, epoch, sample), and the image resampled under it: the
 * inverse affine map of every output pixel, then 4-tap bilinear
 * interpolation over all channels at once, zero outside the image; rows
 * of one channel on AVX-512 or AVX2 when the CPU has them
 * (augment_avx512.c, augment_avx2.c: the same bits).
 */
#include <math.h>
#include <string.h>

#include "augment.h"
#include "cpu.h"
#include "rng.h"

int cnn_augment_on(const cnn_augment *a)
{
    return a->shift != 0 || a->rotate != 0 || a->zoom != 0 || a->flip != 0;
}

void cnn_augment_draw(const cnn_augment *a, uint64_t seed, long epoch, long sample,
                      cnn_augment_xf *xf)
{
    cnn_rng r;
    cnn_rng_keyed(&r, CNN_RNG_STREAM_AUGMENT, seed, (uint64_t)epoch, (uint64_t)sample);
    float u[4];
    for (int i = 0; i < 4; i++)
        u[i] = 2.0f * cnn_rng_uniform(&r) - 1.0f; /* [-1, 1), exact */
    xf->dx = a->shift * u[0];
    xf->dy = a->shift * u[1];
    xf->angle = a->rotate * u[2];
    xf->scale = 1.0f + a->zoom * u[3];
    xf->flip = cnn_rng_uniform(&r) < a->flip; /* drawn always, last */
}

/* Sine and cosine of an angle in degrees, exact at multiples of 90. */
static void sincos_deg(double deg, double *s, double *c)
{
    static const double sn[4] = {0, 1, 0, -1}, cs[4] = {1, 0, -1, 0};
    double q = deg / 90.0;
    if (q == floor(q) && fabs(q) < 1e9) {
        long k = ((long)q % 4 + 4) % 4;
        *s = sn[k], *c = cs[k];
        return;
    }
    double rad = deg * (3.14159265358979323846 / 180.0);
    *s = sin(rad), *c = cos(rad);
}

/* An output pixel whose neighbours are partly outside the image: the same
   sum as inside, an outside neighbour counting 0. */
static void edge_pixel(const float *src, int h, int w, int c, int x0, int y0,
                       const float wt[4], float *out)
{
    const float *tap[4] = {NULL, NULL, NULL, NULL};
    for (int j = 0; j < 4; j++) {
        int x = x0 + (j & 1), y = y0 + (j >> 1);
        if (x >= 0 && x < w && y >= 0 && y < h)
            tap[j] = src + ((size_t)y * w + x) * c;
    }
    for (int k = 0; k < c; k++) {
        float v[4];
        for (int j = 0; j < 4; j++)
            v[j] = tap[j] ? tap[j][k] : 0.0f;
        out[k] = wt[0] * v[0] + wt[1] * v[1] + wt[2] * v[2] + wt[3] * v[3];
    }
}

/* One output pixel read at (px, py) of the input (inlined, so that the
   one-channel rows drop the channel loop). */
static inline __attribute__((always_inline)) void
sample_pixel(const float *src, int h, int w, int c, float px, float py, float *out)
{
    int x0 = (int)px, y0 = (int)py;
    x0 -= px < (float)x0; /* floor */
    y0 -= py < (float)y0;
    const float fx = px - (float)x0, fy = py - (float)y0;
    const float wt[4] = {(1.0f - fx) * (1.0f - fy), fx * (1.0f - fy), (1.0f - fx) * fy,
                         fx * fy};
    if ((unsigned)x0 < (unsigned)(w - 1) && (unsigned)y0 < (unsigned)(h - 1)) {
        const float *p = src + ((size_t)y0 * w + x0) * c;
        const size_t row = (size_t)w * c;
        for (int k = 0; k < c; k++)
            out[k] = wt[0] * p[k] + wt[1] * p[k + c] + wt[2] * p[k + row] +
                     wt[3] * p[k + row + c];
    } else if (x0 < -1 || x0 >= w || y0 < -1 || y0 >= h) {
        for (int k = 0; k < c; k++)
            out[k] = 0.0f;
    } else
        edge_pixel(src, h, w, c, x0, y0, wt, out);
}

int cnn_augment_row1_sets(cnn_augment_row1_fn **out, int max)
{
    int n = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    const cnn_cpu *cpu = cnn_cpu_get();
    if (cpu->avx512 && n < max)
        out[n++] = cnn_augment_row1_avx512;
    if (cpu->avx2 && n < max)
        out[n++] = cnn_augment_row1_avx2;
#endif
    (void)out, (void)max;
    return n;
}

void cnn_augment_apply_with(const cnn_augment_xf *xf, int h, int w, int c, const float *src,
                            float *dst, cnn_augment_row1_fn *row1)
{
    if (xf->dx == 0 && xf->dy == 0 && xf->angle == 0 && xf->scale == 1 && !xf->flip) {
        memcpy(dst, src, (size_t)h * w * c * sizeof *src);
        return;
    }
    double sn, cs;
    sincos_deg(xf->angle, &sn, &cs);
    /* p = centre + s R(-angle) (q - centre - d) = (a q.x - b q.y + ox,
       b q.x + a q.y + oy) */
    const double a = xf->scale * cs, b = xf->scale * sn;
    const double cx = (w - 1) * 0.5, cy = (h - 1) * 0.5;
    const double tx = cx + xf->dx, ty = cy + xf->dy;
    const float fa = (float)a, fb = (float)b;
    const float ox = (float)(cx - a * tx + b * ty), oy = (float)(cy - b * tx - a * ty);
    /* mirrored: the input column w - 1 - p.x, which steps by -a along x */
    const float sa = xf->flip ? -fa : fa;
    for (int y = 0; y < h; y++) {
        float rx = ox - fb * (float)y;
        const float ry = oy + fa * (float)y;
        float *out = dst + (size_t)y * w * c;
        if (xf->flip)
            rx = (float)(w - 1) - rx;
        if (c == 1 && row1)
            row1(src, h, w, rx, ry, sa, fb, out);
        else if (c == 1)
            for (int x = 0; x < w; x++)
                sample_pixel(src, h, w, 1, rx + sa * (float)x, ry + fb * (float)x, out + x);
        else
            for (int x = 0; x < w; x++)
                sample_pixel(src, h, w, c, rx + sa * (float)x, ry + fb * (float)x,
                             out + (size_t)x * c);
    }
}

void cnn_augment_apply(const cnn_augment_xf *xf, int h, int w, int c, const float *src,
                       float *dst)
{
    cnn_augment_row1_fn *row1[2];
    cnn_augment_apply_with(xf, h, w, c, src, dst, cnn_augment_row1_sets(row1, 2) ? row1[0] : NULL);
}

void cnn_augment_image(const cnn_augment *a, uint64_t seed, long epoch, long sample, int h,
                       int w, int c, const float *src, float *dst)
{
    if (!cnn_augment_on(a)) {
        memcpy(dst, src, (size_t)h * w * c * sizeof *src);
        return;
    }
    cnn_augment_xf xf;
    cnn_augment_draw(a, seed, epoch, sample, &xf);
    cnn_augment_apply(&xf, h, w, c, src, dst);
}
