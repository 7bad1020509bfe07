/*
 * test_kernels.c — kernel tests.
 *
 * The reference kernels (kernels/ref, the oracle) are checked against
 * hand-worked examples and against finite differences of their own forward
 * pass.  Every other kernel table is then checked against the reference,
 * through its select_conv (so specialised kernels are the ones exercised),
 * for all three passes: on the seed network's exact shapes, on a few shapes
 * chosen to hit the kernels' chunking and fallback paths, and on seeded
 * random shapes (k in {1,3,5}, stride 1 or 2, TF "same" or "valid"
 * padding, odd sizes, channels from {1,3,8,16,17,32,64}, n in {1,2,3}, ReLU
 * on/off, mask and db NULL or not, bias NULL or not).
 *
 * Conventions checked along the way: forward and backward_data overwrite
 * their output (pre-filled with NaN here), backward_weights accumulates
 * (dw and db pre-filled with random values), nothing is written past the
 * end of an output (guard floats), tolerance 1e-4 relative to
 * max(1, |reference|).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "dispatch.h"
#include "kernels.h"
#include "portable/portable.h"
#include "test.h"
#include "tests.h"

#define TOL 1e-4
#define GUARD 16             /* guard floats after every output buffer */
#define GUARD_VALUE 12345.0f /* what the guard floats hold */

/* The kernel tables compared against the reference: every set built into
   this binary that the CPU supports (sets it lacks are reported once). */
#define MAX_TABLES 8
static const cnn_kernel_table *tables[MAX_TABLES];
static size_t NTABLES;

static void load_tables(void)
{
    if (NTABLES)
        return;
    const cnn_kernel_table *all[MAX_TABLES];
    int n = cnn_kernels_available(all, MAX_TABLES);
    for (int i = 0; i < n; i++)
        if (all[i] != &cnn_kernels_ref)
            tables[NTABLES++] = all[i];
    static const char *simd[] = {"avx512", "avx2", "neon"};
    for (size_t i = 0; i < sizeof simd / sizeof *simd; i++) {
        int st;
        if (!cnn_kernels_by_name(simd[i], &st))
            fprintf(stderr, "  note: %s kernels not tested: %s\n", simd[i], cnn_last_error());
    }
}

/* backward_data's weights: packed when the set packs them. */
static const float *bwd_weights(const cnn_conv_kernels *kk, const cnn_conv_geom *g,
                                const float *w, float **packed)
{
    *packed = NULL;
    if (!kk->pack_backward_data)
        return w;
    size_t nw = (size_t)g->k * g->k * g->in_c * g->out_c;
    *packed = aligned_alloc(64, ((nw * sizeof(float)) + 63) & ~(size_t)63);
    kk->pack_backward_data(g, w, *packed);
    return *packed;
}

/* ---------------------------------------------------------- helpers */

/* A geometry as TensorFlow/Keras builds it: "same" -> out = ceil(in/s),
   total pad = max((out-1)*s + k - in, 0), top/left = total/2 (the extra on
   the bottom/right); "valid" -> out = (in-k)/s + 1, no padding. */
static cnn_conv_geom make_geom(int h, int w, int c, int m, int k, int s,
                               int same)
{
    cnn_conv_geom g = {.in_h = h, .in_w = w, .in_c = c, .out_c = m,
                       .k = k, .stride = s};
    if (same) {
        g.out_h = (h + s - 1) / s;
        g.out_w = (w + s - 1) / s;
        int th = (g.out_h - 1) * s + k - h, tw = (g.out_w - 1) * s + k - w;
        g.pad_top = (th > 0 ? th : 0) / 2;
        g.pad_left = (tw > 0 ? tw : 0) / 2;
    } else {
        g.out_h = (h - k) / s + 1;
        g.out_w = (w - k) / s + 1;
    }
    return g;
}

static void describe(char *buf, size_t size, const cnn_conv_geom *g, int n)
{
    snprintf(buf, size, "k%d s%d %dx%dx%d->%dx%dx%d pad %d,%d n%d", g->k,
             g->stride, g->in_h, g->in_w, g->in_c, g->out_h, g->out_w,
             g->out_c, g->pad_top, g->pad_left, n);
}

/* An output buffer of `count` floats followed by GUARD guard floats,
   pre-filled with `fill` (NaN shows any element left unwritten). */
static float *alloc_out(size_t count, float fill)
{
    float *p = malloc((count + GUARD) * sizeof *p);
    if (!p) {
        perror("malloc");
        exit(2);
    }
    for (size_t i = 0; i < count; i++)
        p[i] = fill;
    for (size_t i = 0; i < GUARD; i++)
        p[count + i] = GUARD_VALUE;
    return p;
}

static float *alloc_random(size_t count, float lo, float hi, uint64_t *rng)
{
    float *p = alloc_out(count, 0.0f);
    test_fill_uniform(p, count, lo, hi, rng);
    return p;
}

static int guard_intact(const float *p, size_t count)
{
    for (size_t i = 0; i < GUARD; i++)
        if (p[count + i] != GUARD_VALUE)
            return 0;
    return 1;
}

/* CHECK that got matches want (count floats) and that got's guard holds. */
static void expect_close(const char *isa, const char *what, const char *shape,
                         const float *got, const float *want, size_t count)
{
    size_t at = 0;
    double err = test_max_rel_err(got, want, count, &at);
    CHECK(err <= TOL, "%s %s [%s]: max rel err %g at %zu (got %g, want %g)",
          isa, what, shape, err, at, count ? got[at] : 0.0,
          count ? want[at] : 0.0);
    CHECK(guard_intact(got, count), "%s %s [%s]: wrote past the end", isa,
          what, shape);
}

/* ------------------------------------------- one conv case vs the ref */

typedef struct conv_case {
    cnn_conv_geom g;
    int n;
    int relu, use_bias, use_mask, use_db;
} conv_case;

/* All three passes of every table against the reference on one case. */
static void check_conv_case(const conv_case *cc, uint64_t *rng)
{
    load_tables();
    const cnn_conv_geom *g = &cc->g;
    const int n = cc->n;
    const size_t nx = (size_t)n * g->in_h * g->in_w * g->in_c;
    const size_t ny = (size_t)n * g->out_h * g->out_w * g->out_c;
    const size_t nw = (size_t)g->k * g->k * g->in_c * g->out_c;
    const size_t nb = (size_t)g->out_c;
    char shape[160], label[200];
    describe(shape, sizeof shape, g, n);
    snprintf(label, sizeof label, "%s relu%d bias%d mask%d db%d", shape,
             cc->relu, cc->use_bias, cc->use_mask, cc->use_db);

    float *x = alloc_random(nx, -1, 1, rng);
    float *w = alloc_random(nw, -1, 1, rng);
    float *b = alloc_random(nb, -1, 1, rng);
    float *dy = alloc_random(ny, -1, 1, rng);
    float *mask = alloc_random(nx, -1, 1, rng); /* about half <= 0 */
    float *dw0 = alloc_random(nw, -1, 1, rng);  /* pre-fill of dw */
    float *db0 = alloc_random(nb, -1, 1, rng);  /* pre-fill of db */
    const float *bias = cc->use_bias ? b : NULL;
    const float *m = cc->use_mask ? mask : NULL;

    cnn_conv_kernels ref = cnn_kernels_ref.select_conv(g);
    float *y_ref = alloc_out(ny, NAN), *dx_ref = alloc_out(nx, NAN);
    float *dw_ref = alloc_out(nw, 0), *db_ref = alloc_out(nb, 0);
    memcpy(dw_ref, dw0, nw * sizeof *dw_ref);
    memcpy(db_ref, db0, nb * sizeof *db_ref);
    ref.forward(g, n, x, w, bias, y_ref, cc->relu);
    ref.backward_data(g, n, dy, w, m, dx_ref);
    ref.backward_weights(g, n, x, dy, dw_ref, cc->use_db ? db_ref : NULL);

    for (size_t t = 0; t < NTABLES; t++) {
        const char *isa = tables[t]->isa;
        cnn_conv_kernels kk = tables[t]->select_conv(g);
        float *y = alloc_out(ny, NAN), *dx = alloc_out(nx, NAN);
        float *dw = alloc_out(nw, 0), *db = alloc_out(nb, 0);
        memcpy(dw, dw0, nw * sizeof *dw);
        memcpy(db, db0, nb * sizeof *db);
        kk.forward(g, n, x, w, bias, y, cc->relu);
        expect_close(isa, "conv forward", label, y, y_ref, ny);
        float *packed;
        kk.backward_data(g, n, dy, bwd_weights(&kk, g, w, &packed), m, dx);
        free(packed);
        expect_close(isa, "conv backward_data", label, dx, dx_ref, nx);
        kk.backward_weights(g, n, x, dy, dw, cc->use_db ? db : NULL);
        expect_close(isa, "conv backward_weights dw", label, dw, dw_ref, nw);
        if (cc->use_db)
            expect_close(isa, "conv backward_weights db", label, db, db_ref,
                         nb);
        else
            CHECK(memcmp(db, db0, nb * sizeof *db) == 0,
                  "%s conv backward_weights [%s]: db NULL but db written",
                  isa, label);
        free(y), free(dx), free(dw), free(db);
    }
    free(x), free(w), free(b), free(dy), free(mask), free(dw0), free(db0);
    free(y_ref), free(dx_ref), free(dw_ref), free(db_ref);
}

/* ------------------------------------------ one dense case vs the ref */

static void check_dense_case(int n, int in, int out, int relu, int use_bias,
                             int use_mask, int use_db, uint64_t *rng)
{
    load_tables();
    const size_t nx = (size_t)n * in, ny = (size_t)n * out;
    const size_t nw = (size_t)in * out;
    char label[160];
    snprintf(label, sizeof label, "n%d %d->%d relu%d bias%d mask%d db%d", n,
             in, out, relu, use_bias, use_mask, use_db);
    float *x = alloc_random(nx, -1, 1, rng);
    float *w = alloc_random(nw, -1, 1, rng);
    float *b = alloc_random(out, -1, 1, rng);
    float *dy = alloc_random(ny, -1, 1, rng);
    float *mask = alloc_random(nx, -1, 1, rng);
    float *dw0 = alloc_random(nw, -1, 1, rng);
    float *db0 = alloc_random(out, -1, 1, rng);
    const float *bias = use_bias ? b : NULL;
    const float *m = use_mask ? mask : NULL;

    const cnn_dense_kernels *ref = &cnn_kernels_ref.dense;
    float *y_ref = alloc_out(ny, NAN), *dx_ref = alloc_out(nx, NAN);
    float *dw_ref = alloc_out(nw, 0), *db_ref = alloc_out(out, 0);
    memcpy(dw_ref, dw0, nw * sizeof *dw_ref);
    memcpy(db_ref, db0, out * sizeof *db_ref);
    ref->forward(n, in, out, x, w, bias, y_ref, relu);
    ref->backward_data(n, in, out, dy, w, m, dx_ref);
    ref->backward_weights(n, in, out, x, dy, dw_ref, use_db ? db_ref : NULL);

    for (size_t t = 0; t < NTABLES; t++) {
        const char *isa = tables[t]->isa;
        const cnn_dense_kernels *kk = &tables[t]->dense;
        float *y = alloc_out(ny, NAN), *dx = alloc_out(nx, NAN);
        float *dw = alloc_out(nw, 0), *db = alloc_out(out, 0);
        memcpy(dw, dw0, nw * sizeof *dw);
        memcpy(db, db0, out * sizeof *db);
        kk->forward(n, in, out, x, w, bias, y, relu);
        expect_close(isa, "dense forward", label, y, y_ref, ny);
        kk->backward_data(n, in, out, dy, w, m, dx);
        expect_close(isa, "dense backward_data", label, dx, dx_ref, nx);
        kk->backward_weights(n, in, out, x, dy, dw, use_db ? db : NULL);
        expect_close(isa, "dense backward_weights dw", label, dw, dw_ref, nw);
        if (use_db)
            expect_close(isa, "dense backward_weights db", label, db, db_ref,
                         out);
        else
            CHECK(memcmp(db, db0, out * sizeof *db) == 0,
                  "%s dense backward_weights [%s]: db NULL but db written",
                  isa, label);
        free(y), free(dx), free(dw), free(db);
    }
    free(x), free(w), free(b), free(dy), free(mask), free(dw0), free(db0);
    free(y_ref), free(dx_ref), free(dw_ref), free(db_ref);
}

/* ------------------------------------------- the reference by hand */

/* x = 1..9 as a 3x3 single-channel image, two 2x2 kernels:
   co 0 = [[1,2],[3,4]], co 1 = [[0,-1],[1,0]]; w is [ky][kx][ci][co]. */
static const float hand_x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const float hand_w[8] = {1, 0, 2, -1, 3, 1, 4, 0};

static void test_ref_conv_by_hand(void)
{
    /* Valid, stride 1: 2x2 outputs.  co 0: 37 47 / 67 77; co 1: all 2.
       Bias (-40, -1): -3 7 / 27 37 and 1; ReLU zeroes the -3. */
    cnn_conv_geom g = make_geom(3, 3, 1, 2, 2, 1, 0);
    const float b[2] = {-40, -1};
    const float want[8] = {-3, 1, 7, 1, 27, 1, 37, 1};
    const float want_relu[8] = {0, 1, 7, 1, 27, 1, 37, 1};
    float y[8];
    cnn_conv_forward_ref(&g, 1, hand_x, hand_w, b, y, 0);
    for (int i = 0; i < 8; i++)
        CHECK(y[i] == want[i], "valid s1: y[%d] = %g, want %g", i, y[i],
              want[i]);
    cnn_conv_forward_ref(&g, 1, hand_x, hand_w, b, y, 1);
    for (int i = 0; i < 8; i++)
        CHECK(y[i] == want_relu[i], "valid s1 relu: y[%d] = %g, want %g", i,
              y[i], want_relu[i]);

    /* "Same", stride 2 (TF: out 2x2, total pad 1, all bottom/right), only
       kernel co 0: y = 1+4+12+20, 3+18, 7+16, 9 = 37 21 / 23 9. */
    cnn_conv_geom g2 = make_geom(3, 3, 1, 1, 2, 2, 1);
    CHECK(g2.out_h == 2 && g2.out_w == 2 && g2.pad_top == 0 &&
              g2.pad_left == 0,
          "same s2 geometry: out %dx%d pad %d,%d", g2.out_h, g2.out_w,
          g2.pad_top, g2.pad_left);
    const float w0[4] = {1, 2, 3, 4};
    const float want2[4] = {37, 21, 23, 9};
    cnn_conv_forward_ref(&g2, 1, hand_x, w0, NULL, y, 0);
    for (int i = 0; i < 4; i++)
        CHECK(y[i] == want2[i], "same s2: y[%d] = %g, want %g", i, y[i],
              want2[i]);

    /* Backward data of that conv: dy = 1 at (0,0) puts the kernel at the
       top-left of dx; dy = 1 at (1,1) reaches only dx(2,2) (the other taps
       fall in the padding).  Mask zeroes dx(1,0). */
    float dx[9];
    const float dy00[4] = {1, 0, 0, 0}, dy11[4] = {0, 0, 0, 1};
    const float want_dx00[9] = {1, 2, 0, 3, 4, 0, 0, 0, 0};
    const float want_dx11[9] = {0, 0, 0, 0, 0, 0, 0, 0, 1};
    const float mask[9] = {1, 1, 1, -1, 1, 1, 1, 1, 0.5f};
    cnn_conv_backward_data_ref(&g2, 1, dy00, w0, NULL, dx);
    for (int i = 0; i < 9; i++)
        CHECK(dx[i] == want_dx00[i], "same s2 dx (dy00): dx[%d] = %g, want %g",
              i, dx[i], want_dx00[i]);
    cnn_conv_backward_data_ref(&g2, 1, dy00, w0, mask, dx);
    for (int i = 0; i < 9; i++)
        CHECK(dx[i] == (i == 3 ? 0 : want_dx00[i]),
              "same s2 dx masked: dx[%d] = %g", i, dx[i]);
    cnn_conv_backward_data_ref(&g2, 1, dy11, w0, mask, dx);
    for (int i = 0; i < 9; i++)
        CHECK(dx[i] == want_dx11[i], "same s2 dx (dy11): dx[%d] = %g, want %g",
              i, dx[i], want_dx11[i]);

    /* Backward weights: dy = 1 at (0,0) gives dw = the top-left 2x2 of x,
       db = 1, both added to what was there (10). */
    float dw[4] = {10, 10, 10, 10}, db = 10;
    const float want_dw[4] = {11, 12, 14, 15};
    cnn_conv_backward_weights_ref(&g2, 1, hand_x, dy00, dw, &db);
    for (int i = 0; i < 4; i++)
        CHECK(dw[i] == want_dw[i], "same s2 dw[%d] = %g, want %g", i, dw[i],
              want_dw[i]);
    CHECK(db == 11, "same s2 db = %g, want 11", db);
    /* dy = 1 at (1,1): only tap (0,0) is inside, dw[0] += x(2,2) = 9. */
    cnn_conv_backward_weights_ref(&g2, 1, hand_x, dy11, dw, NULL);
    CHECK(dw[0] == 20 && dw[1] == 12 && dw[2] == 14 && dw[3] == 15,
          "same s2 dw after dy11: %g %g %g %g", dw[0], dw[1], dw[2], dw[3]);
}

static void test_ref_dense_by_hand(void)
{
    /* x = (1, 2), w = [[1, 2, 3], [4, 5, 6]], b = (0, -20, 1):
       y = (9, -8, 16); with ReLU (9, 0, 16). */
    const float x[2] = {1, 2}, w[6] = {1, 2, 3, 4, 5, 6}, b[3] = {0, -20, 1};
    float y[3];
    cnn_dense_forward_ref(1, 2, 3, x, w, b, y, 1);
    CHECK(y[0] == 9 && y[1] == 0 && y[2] == 16, "dense y = %g %g %g", y[0],
          y[1], y[2]);
    /* dy = (1, 0, -1): dx = (1-3, 4-6) = (-2, -2); mask zeroes dx[1]. */
    const float dy[3] = {1, 0, -1}, mask[2] = {3, 0};
    float dx[2];
    cnn_dense_backward_data_ref(1, 2, 3, dy, w, mask, dx);
    CHECK(dx[0] == -2 && dx[1] == 0, "dense dx = %g %g", dx[0], dx[1]);
    float dw[6] = {0}, db[3] = {1, 1, 1};
    cnn_dense_backward_weights_ref(1, 2, 3, x, dy, dw, db);
    CHECK(dw[0] == 1 && dw[1] == 0 && dw[2] == -1 && dw[3] == 2 &&
              dw[4] == 0 && dw[5] == -2,
          "dense dw = %g %g %g %g %g %g", dw[0], dw[1], dw[2], dw[3], dw[4],
          dw[5]);
    CHECK(db[0] == 2 && db[1] == 1 && db[2] == 0, "dense db = %g %g %g",
          db[0], db[1], db[2]);
}

/* ---------------------------- the reference by finite differences */

/* L = sum(y * r) in double, y = conv(x, w) + b. */
static double conv_loss(const cnn_conv_geom *g, int n, const float *x,
                        const float *w, const float *b, const float *r,
                        float *y)
{
    size_t ny = (size_t)n * g->out_h * g->out_w * g->out_c;
    cnn_conv_forward_ref(g, n, x, w, b, y, 0);
    double l = 0;
    for (size_t i = 0; i < ny; i++)
        l += (double)y[i] * r[i];
    return l;
}

/* Central difference of L along p[i] (L is linear in each element, so the
   step can be large and the only error is rounding). */
#define FD_STEP 0.25f

static void test_ref_conv_gradients(void)
{
    static const struct { int h, w, c, m, k, s, same, n; } cases[] = {
        {5, 6, 3, 4, 3, 2, 1, 2}, /* same, stride 2, pad at bottom/right */
        {6, 5, 2, 3, 3, 1, 1, 1}, /* same, stride 1, pad on both sides */
        {7, 7, 2, 2, 5, 2, 0, 1}, /* valid, stride 2 */
        {5, 4, 3, 2, 1, 2, 1, 2}, /* k < stride: some inputs unused */
        {6, 6, 2, 3, 4, 2, 1, 1}, /* even k, same: pads 1 top, 2 bottom */
    };
    uint64_t rng = 7;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        cnn_conv_geom g = make_geom(cases[c].h, cases[c].w, cases[c].c,
                                    cases[c].m, cases[c].k, cases[c].s,
                                    cases[c].same);
        const int n = cases[c].n;
        const size_t nx = (size_t)n * g.in_h * g.in_w * g.in_c;
        const size_t ny = (size_t)n * g.out_h * g.out_w * g.out_c;
        const size_t nw = (size_t)g.k * g.k * g.in_c * g.out_c;
        const size_t nb = (size_t)g.out_c;
        char shape[160];
        describe(shape, sizeof shape, &g, n);
        float *x = alloc_random(nx, -1, 1, &rng);
        float *w = alloc_random(nw, -1, 1, &rng);
        float *b = alloc_random(nb, -1, 1, &rng);
        float *r = alloc_random(ny, -1, 1, &rng);
        float *y = alloc_out(ny, 0), *dx = alloc_out(nx, NAN);
        float *dw = alloc_out(nw, 0), *db = alloc_out(nb, 0);
        cnn_conv_backward_data_ref(&g, n, r, w, NULL, dx);
        cnn_conv_backward_weights_ref(&g, n, x, r, dw, db);

        struct { const char *name; float *p; size_t count; const float *grad; }
            params[] = {{"dx", x, nx, dx}, {"dw", w, nw, dw}, {"db", b, nb, db}};
        for (size_t q = 0; q < 3; q++) {
            double worst = 0;
            size_t worst_at = 0;
            for (size_t i = 0; i < params[q].count; i++) {
                float *p = params[q].p, keep = p[i];
                p[i] = keep + FD_STEP;
                double up = conv_loss(&g, n, x, w, b, r, y);
                p[i] = keep - FD_STEP;
                double down = conv_loss(&g, n, x, w, b, r, y);
                p[i] = keep;
                double num = (up - down) / (2.0 * FD_STEP);
                double got = params[q].grad[i];
                double err = fabs(num - got) / (fabs(num) > 1 ? fabs(num) : 1);
                if (err > worst)
                    worst = err, worst_at = i;
            }
            CHECK(worst <= 1e-4, "[%s] ref %s vs finite differences: rel err "
                  "%g at %zu", shape, params[q].name, worst, worst_at);
        }
        free(x), free(w), free(b), free(r), free(y), free(dx), free(dw),
            free(db);
    }
}

static void test_ref_dense_gradients(void)
{
    const int n = 3, in = 5, out = 4;
    uint64_t rng = 11;
    float *x = alloc_random((size_t)n * in, -1, 1, &rng);
    float *w = alloc_random((size_t)in * out, -1, 1, &rng);
    float *b = alloc_random(out, -1, 1, &rng);
    float *r = alloc_random((size_t)n * out, -1, 1, &rng);
    float y[12], dx[15], dw[20] = {0}, db[4] = {0};
    cnn_dense_backward_data_ref(n, in, out, r, w, NULL, dx);
    cnn_dense_backward_weights_ref(n, in, out, x, r, dw, db);
    struct { const char *name; float *p; int count; const float *grad; }
        params[] = {{"dx", x, n * in, dx}, {"dw", w, in * out, dw},
                    {"db", b, out, db}};
    for (int q = 0; q < 3; q++)
        for (int i = 0; i < params[q].count; i++) {
            float *p = params[q].p, keep = p[i];
            double l[2];
            for (int side = 0; side < 2; side++) {
                p[i] = keep + (side ? -FD_STEP : FD_STEP);
                cnn_dense_forward_ref(n, in, out, x, w, b, y, 0);
                l[side] = 0;
                for (int j = 0; j < n * out; j++)
                    l[side] += (double)y[j] * r[j];
            }
            p[i] = keep;
            double num = (l[0] - l[1]) / (2.0 * FD_STEP);
            CHECK(fabs(num - params[q].grad[i]) <= 1e-4 * fmax(1, fabs(num)),
                  "dense ref %s[%d] = %g, finite difference %g",
                  params[q].name, i, params[q].grad[i], num);
        }
    free(x), free(w), free(b), free(r);
}

/* ------------------------------------------- tables vs the reference */

static void test_tables_named(void)
{
    CHECK(strcmp(cnn_kernels_ref.isa, "ref") == 0, "ref isa \"%s\"",
          cnn_kernels_ref.isa);
    CHECK(strcmp(cnn_kernels_portable.isa, "scalar") == 0,
          "portable isa \"%s\"", cnn_kernels_portable.isa);
    /* The portable set specialises 1x1 stride-1 unpadded convolutions. */
    cnn_conv_geom g1 = make_geom(7, 7, 32, 16, 1, 1, 1);
    cnn_conv_kernels k1 = cnn_kernels_portable.select_conv(&g1);
    CHECK(k1.forward == cnn_conv1x1_forward_scalar &&
              k1.backward_data == cnn_conv1x1_backward_data_scalar &&
              k1.backward_weights == cnn_conv1x1_backward_weights_scalar,
          "portable select_conv does not pick the 1x1 kernels for 1x1 s1");
    cnn_conv_geom g2 = make_geom(7, 7, 32, 16, 1, 2, 1);
    cnn_conv_kernels k2 = cnn_kernels_portable.select_conv(&g2);
    CHECK(k2.forward == cnn_conv_forward_scalar,
          "portable select_conv picks a 1x1 s1 kernel for 1x1 s2");
}

/* The seed network (GUIDE.md): its six convolutions and its dense layer,
   at the per-thread batch of 2 threads x 16 (n = 3 here, to keep the
   reference quick while covering more than one image). */
static void test_seed_shapes(void)
{
    static const struct { int h, c, m, k, s; } convs[] = {
        {28, 1, 32, 3, 1}, {28, 32, 16, 1, 1}, {28, 16, 64, 3, 2},
        {14, 64, 16, 1, 1}, {14, 16, 32, 3, 2}, {7, 32, 16, 1, 1},
    };
    uint64_t rng = 2018;
    for (size_t i = 0; i < sizeof convs / sizeof *convs; i++) {
        conv_case cc = {
            .g = make_geom(convs[i].h, convs[i].h, convs[i].c, convs[i].m,
                           convs[i].k, convs[i].s, 1),
            .n = 3, .relu = 1, .use_bias = 1, .use_mask = i > 0, .use_db = 1};
        check_conv_case(&cc, &rng);
    }
    /* The "same" 28->14 stride-2 layer pads only bottom/right. */
    cnn_conv_geom g = make_geom(28, 28, 16, 64, 3, 2, 1);
    CHECK(g.out_h == 14 && g.pad_top == 0 && g.pad_left == 0,
          "seed 28->14 geometry: out %d pad %d,%d", g.out_h, g.pad_top,
          g.pad_left);
    /* Wide one-channel inputs reach the first-layer kernels' widest tiles:
       stride 1 and 2, same and valid, 32 and 17 outputs. */
    static const struct { int h, w, m, s, same; } wide[] = {
        {9, 45, 32, 2, 1}, {7, 44, 32, 2, 0}, {6, 40, 32, 1, 1}, {5, 33, 17, 2, 1},
    };
    for (size_t i = 0; i < sizeof wide / sizeof *wide; i++) {
        conv_case cc = {.g = make_geom(wide[i].h, wide[i].w, 1, wide[i].m, 3, wide[i].s,
                                       wide[i].same),
                        .n = 2, .relu = 1, .use_bias = 1, .use_mask = 1, .use_db = 1};
        check_conv_case(&cc, &rng);
    }
    check_dense_case(32, 784, 10, 0, 1, 0, 1, &rng);   /* seed */
    check_dense_case(5, 784, 768, 1, 1, 0, 1, &rng);   /* seed-dense */
    check_dense_case(5, 768, 10, 0, 1, 1, 1, &rng);
}

/* Shapes that exercise the kernels' buffer chunking and fallbacks: many
   channels (several input-channel passes in backward data), very many
   output channels with a 5x5 kernel (output-channel chunks), a patch
   larger than the im2col buffer, and a kernel whose taps alone overflow
   the transposed-weights buffer. */
static void test_large_shapes(void)
{
    static const struct { int h, w, c, m, k, s, same, n; } cases[] = {
        {9, 7, 64, 64, 3, 1, 1, 1},
        {8, 9, 17, 64, 5, 2, 1, 2},
        {6, 7, 2, 700, 5, 2, 1, 1},
        {5, 5, 400, 3, 5, 1, 1, 1},
        {91, 92, 1, 2, 91, 1, 0, 1},
        {129, 130, 1, 2, 129, 1, 0, 1},
        {40, 3, 3, 40, 1, 1, 1, 2},
    };
    uint64_t rng = 99;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        conv_case cc = {
            .g = make_geom(cases[i].h, cases[i].w, cases[i].c, cases[i].m,
                           cases[i].k, cases[i].s, cases[i].same),
            .n = cases[i].n, .relu = (int)(i & 1), .use_bias = 1,
            .use_mask = 1, .use_db = 1};
        check_conv_case(&cc, &rng);
    }
    check_dense_case(3, 3000, 700, 1, 1, 1, 1, &rng);
}

static uint32_t below(uint64_t *rng, uint32_t bound)
{
    *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((*rng >> 33) % bound);
}

#define RANDOM_CASES 400
#define RANDOM_WORK 1000000 /* multiply-adds per pass, at most */

static void test_random_conv_shapes(void)
{
    static const int ks[] = {1, 3, 5}, chans[] = {1, 3, 8, 16, 17, 32, 64};
    uint64_t rng = 12345;
    for (int done = 0; done < RANDOM_CASES;) {
        const int k = ks[below(&rng, 3)], s = 1 + (int)below(&rng, 2);
        const int same = (int)below(&rng, 2);
        const int h = 1 + (int)below(&rng, 15), w = 1 + (int)below(&rng, 15);
        const int c = chans[below(&rng, 7)], m = chans[below(&rng, 7)];
        const int n = 1 + (int)below(&rng, 3);
        if (!same && (h < k || w < k))
            continue;
        conv_case cc = {.g = make_geom(h, w, c, m, k, s, same), .n = n,
                        .relu = (int)below(&rng, 2),
                        .use_bias = below(&rng, 4) != 0,
                        .use_mask = (int)below(&rng, 2),
                        .use_db = below(&rng, 4) != 0};
        double work = (double)n * cc.g.out_h * cc.g.out_w * k * k * c * m;
        if (work > RANDOM_WORK)
            continue;
        check_conv_case(&cc, &rng);
        done++;
    }
}

static void test_random_dense_shapes(void)
{
    static const int sizes[] = {1, 3, 8, 16, 17, 32, 64, 100, 784};
    uint64_t rng = 4242;
    for (int i = 0; i < 40; i++) {
        const int in = sizes[below(&rng, 9)], out = sizes[below(&rng, 8)];
        const int n = 1 + (int)below(&rng, 5);
        check_dense_case(n, in, out, (int)below(&rng, 2),
                         below(&rng, 4) != 0, (int)below(&rng, 2),
                         below(&rng, 4) != 0, &rng);
    }
}

/* backward_weights adds to dw/db: running it on zeroed buffers and on
   pre-filled ones differs by exactly the pre-fill (up to rounding). */
static void test_backward_weights_accumulates(void)
{
    cnn_conv_geom g = make_geom(9, 8, 16, 32, 3, 2, 1);
    const int n = 2;
    const size_t nx = (size_t)n * g.in_h * g.in_w * g.in_c;
    const size_t ny = (size_t)n * g.out_h * g.out_w * g.out_c;
    const size_t nw = (size_t)g.k * g.k * g.in_c * g.out_c;
    uint64_t rng = 5;
    float *x = alloc_random(nx, -1, 1, &rng);
    float *dy = alloc_random(ny, -1, 1, &rng);
    float *fill = alloc_random(nw + 32, 100, 200, &rng);
    load_tables();
    const cnn_kernel_table *all[1 + MAX_TABLES];
    all[0] = &cnn_kernels_ref;
    for (size_t t = 0; t < NTABLES; t++)
        all[1 + t] = tables[t];
    for (size_t t = 0; t < 1 + NTABLES; t++) {
        cnn_conv_kernels kk = all[t]->select_conv(&g);
        float *dw0 = alloc_out(nw, 0), *db0 = alloc_out(32, 0);
        float *dw1 = alloc_out(nw, 0), *db1 = alloc_out(32, 0);
        memcpy(dw1, fill, nw * sizeof *dw1);
        memcpy(db1, fill + nw, 32 * sizeof *db1);
        kk.backward_weights(&g, n, x, dy, dw0, db0);
        kk.backward_weights(&g, n, x, dy, dw1, db1);
        double worst = 0;
        for (size_t i = 0; i < nw + 32; i++) {
            double added = i < nw ? (double)dw1[i] - dw0[i]
                                  : (double)db1[i - nw] - db0[i - nw];
            double e = fabs(added - fill[i]) / fill[i];
            worst = e > worst ? e : worst;
        }
        CHECK(worst <= 1e-5, "%s backward_weights does not accumulate: rel "
              "err %g", all[t]->isa, worst);
        free(dw0), free(db0), free(dw1), free(db1);
    }
    free(x), free(dy), free(fill);
}

TEST_TABLE(kernels,
           {"ref_conv_by_hand", test_ref_conv_by_hand},
           {"ref_dense_by_hand", test_ref_dense_by_hand},
           {"ref_conv_gradients", test_ref_conv_gradients},
           {"ref_dense_gradients", test_ref_dense_gradients},
           {"tables_named", test_tables_named},
           {"backward_weights_accumulates",
            test_backward_weights_accumulates},
           {"seed_shapes", test_seed_shapes},
           {"large_shapes", test_large_shapes},
           {"random_conv_shapes", test_random_conv_shapes},
           {"random_dense_shapes", test_random_dense_shapes})
