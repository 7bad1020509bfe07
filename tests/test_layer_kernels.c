/*
 * test_layer_kernels.c — the batch-norm and pooling kernels alone, with no
 * trainer (so scripts/test-neon.sh runs them under qemu too): the
 * reference pool kernels on hand-worked cases (first maximum on ties,
 * overlapping windows adding up), the portable pool kernels against the
 * reference bit for bit on seeded random shapes with ties, masks (x itself
 * among them), odd sizes and overlaps, and per sample whatever the call's
 * size; the portable batch-norm kernels against the reference.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bn.h"
#include "families.h"
#include "tests.h"

static cnn_conv_geom pool_geom(int h, int w, int c, int k, int s)
{
    cnn_conv_geom g = {.in_h = h, .in_w = w, .in_c = c, .k = k, .stride = s, .out_c = c};
    g.out_h = (h - k) / s + 1;
    g.out_w = (w - k) / s + 1;
    return g;
}

/* ------------------------------------------------------ by hand (ref) */

static void ref_pools_by_hand(void)
{
    /* 3x3, one channel; the maximum 5 appears twice. */
    const float x[9] = {1, 5, 2, 5, 0, 3, 4, 1, 5};
    cnn_conv_geom g = pool_geom(3, 3, 1, 2, 1); /* 2x2 windows, stride 1 */
    float y[4], dx[9];
    cnn_maxpool_forward_ref(&g, 1, x, y);
    CHECK(y[0] == 5 && y[1] == 5 && y[2] == 5 && y[3] == 5, "max %g %g %g %g", y[0], y[1],
          y[2], y[3]);
    /* First maxima: windows 0, 1 -> x[1]; window 2 -> x[3]; window 3 -> x[8]. */
    const float dy[4] = {1, 10, 100, 1000};
    cnn_maxpool_backward_data_ref(&g, 1, x, y, dy, NULL, dx);
    const float want[9] = {0, 11, 0, 100, 0, 0, 0, 0, 1000};
    CHECK(!memcmp(dx, want, sizeof want), "max routing %g %g %g %g %g %g %g %g %g", dx[0],
          dx[1], dx[2], dx[3], dx[4], dx[5], dx[6], dx[7], dx[8]);
    /* The mask zeroes where it is <= 0. */
    const float mask[9] = {1, 0, 1, 1, 1, 1, 1, 1, -1};
    cnn_maxpool_backward_data_ref(&g, 1, x, y, dy, mask, dx);
    CHECK(dx[1] == 0 && dx[3] == 100 && dx[8] == 0, "masked %g %g %g", dx[1], dx[3], dx[8]);

    cnn_avgpool_forward_ref(&g, 1, x, y);
    CHECK(y[0] == 11.0f / 4 && y[3] == 9.0f / 4, "avg %g %g", y[0], y[3]);
    cnn_avgpool_backward_data_ref(&g, 1, dy, NULL, dx);
    /* The centre is in all four windows. */
    CHECK(dx[4] == 1111.0f / 4 && dx[0] == 0.25f && dx[8] == 250.0f, "avg back %g %g %g",
          dx[4], dx[0], dx[8]);

    /* gap: two pixels, two channels. */
    const float xg[4] = {1, 2, 3, 6}, dyg[2] = {4, 8};
    float yg[2], dxg[4];
    cnn_gap_forward_ref(1, 2, 2, xg, yg);
    cnn_gap_backward_data_ref(1, 2, 2, dyg, NULL, dxg);
    CHECK(yg[0] == 2 && yg[1] == 4 && dxg[0] == 2 && dxg[1] == 4 && dxg[2] == 2 && dxg[3] == 4,
          "gap %g %g / %g %g %g %g", yg[0], yg[1], dxg[0], dxg[1], dxg[2], dxg[3]);
}

/* ------------------------------------------------ portable against ref */

/* Values from a small set (many ties, with -0 and NaN), or uniform. */
static void fill_input(float *x, size_t count, int ties, uint64_t *rng)
{
    static const float few[] = {-1.0f, 0.0f, 0.5f, 2.0f, -0.0f, NAN};
    if (ties)
        for (size_t i = 0; i < count; i++)
            x[i] = few[test_below(rng, 6)];
    else
        test_fill_uniform(x, count, -1, 1, rng);
}

/* One pass of a kernel pair on n samples: out of `count` floats filled
   with NaN first; returns whether scalar and ref agree bit for bit and
   wrote nothing past the end. */
typedef void (*pass_fn)(const cnn_conv_geom *g, int n, const float *x, const float *dy,
                        const float *mask, float *out, int ref);

static void pass_max_fwd(const cnn_conv_geom *g, int n, const float *x, const float *dy,
                         const float *mask, float *out, int ref)
{
    (void)dy, (void)mask;
    (ref ? cnn_maxpool_forward_ref : cnn_maxpool_forward_scalar)(g, n, x, out);
}
static void pass_max_bwd(const cnn_conv_geom *g, int n, const float *x, const float *dy,
                         const float *mask, float *out, int ref)
{
    float *y = malloc((size_t)n * g->out_h * g->out_w * g->in_c * sizeof *y);
    cnn_maxpool_forward_ref(g, n, x, y);
    (ref ? cnn_maxpool_backward_data_ref : cnn_maxpool_backward_data_scalar)(g, n, x, y, dy,
                                                                             mask, out);
    free(y);
}
static void pass_avg_fwd(const cnn_conv_geom *g, int n, const float *x, const float *dy,
                         const float *mask, float *out, int ref)
{
    (void)dy, (void)mask;
    (ref ? cnn_avgpool_forward_ref : cnn_avgpool_forward_scalar)(g, n, x, out);
}
static void pass_avg_bwd(const cnn_conv_geom *g, int n, const float *x, const float *dy,
                         const float *mask, float *out, int ref)
{
    (void)x;
    (ref ? cnn_avgpool_backward_data_ref : cnn_avgpool_backward_data_scalar)(g, n, dy, mask,
                                                                             out);
}
static void pass_gap_fwd(const cnn_conv_geom *g, int n, const float *x, const float *dy,
                         const float *mask, float *out, int ref)
{
    (void)dy, (void)mask;
    (ref ? cnn_gap_forward_ref : cnn_gap_forward_scalar)(n, g->in_h * g->in_w, g->in_c, x,
                                                         out);
}
static void pass_gap_bwd(const cnn_conv_geom *g, int n, const float *x, const float *dy,
                         const float *mask, float *out, int ref)
{
    (void)x;
    (ref ? cnn_gap_backward_data_ref : cnn_gap_backward_data_scalar)(
        n, g->in_h * g->in_w, g->in_c, dy, mask, out);
}

static const struct {
    const char *name;
    pass_fn fn;
    int backward, gap;
} passes[] = {
    {"maxpool forward", pass_max_fwd, 0, 0}, {"maxpool backward_data", pass_max_bwd, 1, 0},
    {"avgpool forward", pass_avg_fwd, 0, 0}, {"avgpool backward_data", pass_avg_bwd, 1, 0},
    {"gap forward", pass_gap_fwd, 0, 1},     {"gap backward_data", pass_gap_bwd, 1, 1},
};

/* Pass p on g, n samples: scalar equals ref, and each sample's scalar
   bits are those of a call holding that sample alone. */
static void check_pass(int p, const cnn_conv_geom *g, int n, const float *x, const float *dy,
                       const float *mask)
{
    const size_t in = (size_t)g->in_h * g->in_w * g->in_c;
    const size_t out1 = passes[p].gap ? (size_t)g->in_c : (size_t)g->out_h * g->out_w * g->in_c;
    const size_t per = passes[p].backward ? in : out1, dy_per = out1;
    float *a = test_alloc_guarded(n * per, NAN), *b = test_alloc_guarded(n * per, NAN);
    float *one = test_alloc_guarded(per, NAN);
    passes[p].fn(g, n, x, dy, mask, a, 0);
    passes[p].fn(g, n, x, dy, mask, b, 1);
    CHECK(test_bits_equal(a, b, n * per) && test_guard_intact(a, n * per) &&
              test_guard_intact(b, n * per),
          "%s %dx%dx%d k%d s%d n%d mask %d: scalar differs from ref", passes[p].name, g->in_h,
          g->in_w, g->in_c, g->k, g->stride, n, mask != NULL);
    for (int s = 0; s < n; s++) {
        passes[p].fn(g, 1, x + s * in, dy + s * dy_per, mask ? mask + s * in : NULL, one, 0);
        CHECK(test_bits_equal(one, a + s * per, per) && test_guard_intact(one, per),
              "%s: sample %d of %d differs alone", passes[p].name, s, n);
    }
    free(a);
    free(b);
    free(one);
}

static void portable_pools_equal_ref(void)
{
    uint64_t rng = 2024;
    static const int chans[] = {1, 3, 8, 16, 17, 33};
    for (int t = 0; t < 120; t++) {
        int k = 1 + (int)test_below(&rng, 4), s = 1 + (int)test_below(&rng, 3);
        int h = k + (int)test_below(&rng, 7), w = k + (int)test_below(&rng, 7);
        int c = chans[test_below(&rng, 6)], n = 1 + (int)test_below(&rng, 3);
        cnn_conv_geom g = pool_geom(h, w, c, k, s);
        size_t in = (size_t)n * h * w * c, out = (size_t)n * g.out_h * g.out_w * c;
        float *x = malloc(in * sizeof *x), *mask = malloc(in * sizeof *mask);
        float *dy = malloc((out > (size_t)n * c ? out : (size_t)n * c) * sizeof *dy);
        fill_input(x, in, t % 2, &rng);
        fill_input(mask, in, 1, &rng);
        size_t ndy = out > (size_t)n * c ? out : (size_t)n * c;
        test_fill_uniform(dy, ndy, -1, 1, &rng);
        for (size_t i = 0; i < ndy; i += 7)
            dy[i] = -0.0f; /* 0 + -0 is +0: the reference's sums start at 0 */
        /* no mask, a mask, or x itself (the fused ReLU's output) */
        const float *masks[3] = {NULL, mask, x};
        for (int p = 0; p < 6; p++)
            check_pass(p, &g, n, x, dy, passes[p].backward ? masks[t % 3] : NULL);
        free(x);
        free(mask);
        free(dy);
    }
}

/* The portable kernels give the reference's bits, over channel counts
   around the portable block (64), with and without ReLU and mask. */
static void bn_kernels_match_reference(void)
{
    static const int channels[] = {1, 3, 16, 63, 64, 65, 130};
    uint64_t s = 3;
    for (size_t ci = 0; ci < sizeof channels / sizeof *channels; ci++) {
        const int c = channels[ci], n = 3, hw = 5;
        const size_t count = (size_t)n * hw * c;
        float *x = malloc(count * 4), *dy = malloc(count * 4), *mask = malloc(count * 4);
        float *y[2] = {malloc(count * 4), malloc(count * 4)};
        float *dx[2] = {malloc(count * 4), malloc(count * 4)};
        float *g = malloc(c * 4), *b = malloc(c * 4);
        double *sf[2] = {calloc(2 * c * n, 8), calloc(2 * c * n, 8)};
        double *sb[2] = {calloc(2 * c * n, 8), calloc(2 * c * n, 8)};
        test_fill_uniform(x, count, -2, 3, &s);
        test_fill_uniform(dy, count, -1, 1, &s);
        test_fill_uniform(mask, count, -1, 1, &s);
        test_fill_uniform(g, c, 0.5f, 1.5f, &s);
        test_fill_uniform(b, c, -0.5f, 0.5f, &s);
        const cnn_bn_kernels set[2] = {CNN_BN_KERNELS(ref), CNN_BN_KERNELS(scalar)};
        for (int k = 0; k < 2; k++) {
            set[k].sums_forward(n, hw, c, 0, c, x, 0, sf[k]);
            double tot[2 * 130] = {0};
            set[k].sums_forward(n, hw, c, 0, c, x, 1, tot);
            cnn_bn_stats st = {.sum = tot, .sumsq = tot + c, .count = n * hw, .eps = 1e-3f};
            set[k].forward(n, hw, c, 0, c, x, &st, g, b, ci % 2, y[k]);
            set[k].sums_backward(n, hw, c, 0, c, x, dy, &st, 0, sb[k]);
            set[k].backward_data(n, hw, c, 0, c, x, dy, &st, sb[k], g, ci % 2 ? mask : NULL,
                                 dx[k]);
        }
        CHECK(!memcmp(sf[0], sf[1], 2 * c * n * 8), "c %d: forward sums differ", c);
        CHECK(!memcmp(sb[0], sb[1], 2 * c * n * 8), "c %d: backward sums differ", c);
        CHECK(!memcmp(y[0], y[1], count * 4), "c %d: forward outputs differ", c);
        CHECK(!memcmp(dx[0], dx[1], count * 4), "c %d: backward data differs", c);
        free(x), free(dy), free(mask), free(y[0]), free(y[1]), free(dx[0]), free(dx[1]);
        free(g), free(b);
        free(sf[0]), free(sf[1]), free(sb[0]), free(sb[1]);
    }
}

TEST_TABLE(layer_kernels,
           {"ref_pools_by_hand", ref_pools_by_hand},
           {"portable_pools_equal_ref", portable_pools_equal_ref},
           {"bn_kernels_match_reference", bn_kernels_match_reference})
