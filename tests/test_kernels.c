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
 * The kernel lists (kernels/list.c) are checked too: every table's choice
 * equals the rule the hand-kept tables followed before them, on a grid of
 * geometries; every entry of a set this CPU runs, alone, against the
 * reference on random shapes of its shape class; and every entry is run
 * by some row of bench/kernels (its layers, bench/kernels-layers.h).
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
#include "list.h"
#include "test.h"
#include "tests.h"

#include "../bench/kernels-layers.h"

#define TOL 1e-4

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

static float *alloc_random(size_t count, float lo, float hi, uint64_t *rng)
{
    float *p = test_alloc_guarded(count, 0.0f);
    test_fill_uniform(p, count, lo, hi, rng);
    return p;
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
    CHECK(test_guard_intact(got, count), "%s %s [%s]: wrote past the end", isa,
          what, shape);
}

/* ------------------------------------------- one conv case vs the ref */

typedef struct conv_case {
    cnn_conv_geom g;
    int n;
    int relu, use_bias, use_mask, use_db;
} conv_case;

/* One case's inputs and the reference's outputs. */
typedef struct conv_data {
    const conv_case *cc;
    size_t nx, ny, nw, nb;
    char label[200];
    float *x, *w, *b, *dy, *mask, *dw0, *db0; /* dw0, db0: dw, db pre-fill */
    float *y_ref, *dx_ref, *dw_ref, *db_ref;
} conv_data;

static void conv_data_init(conv_data *d, const conv_case *cc, uint64_t *rng)
{
    const cnn_conv_geom *g = &cc->g;
    d->cc = cc;
    d->nx = (size_t)cc->n * g->in_h * g->in_w * g->in_c;
    d->ny = (size_t)cc->n * g->out_h * g->out_w * g->out_c;
    d->nw = (size_t)g->k * g->k * g->in_c * g->out_c;
    d->nb = (size_t)g->out_c;
    char shape[160];
    describe(shape, sizeof shape, g, cc->n);
    snprintf(d->label, sizeof d->label, "%s relu%d bias%d mask%d db%d", shape,
             cc->relu, cc->use_bias, cc->use_mask, cc->use_db);
    d->x = alloc_random(d->nx, -1, 1, rng);
    d->w = alloc_random(d->nw, -1, 1, rng);
    d->b = alloc_random(d->nb, -1, 1, rng);
    d->dy = alloc_random(d->ny, -1, 1, rng);
    d->mask = alloc_random(d->nx, -1, 1, rng); /* about half <= 0 */
    d->dw0 = alloc_random(d->nw, -1, 1, rng);
    d->db0 = alloc_random(d->nb, -1, 1, rng);
    d->y_ref = test_alloc_guarded(d->ny, NAN), d->dx_ref = test_alloc_guarded(d->nx, NAN);
    d->dw_ref = test_alloc_guarded(d->nw, 0), d->db_ref = test_alloc_guarded(d->nb, 0);
    memcpy(d->dw_ref, d->dw0, d->nw * sizeof *d->dw_ref);
    memcpy(d->db_ref, d->db0, d->nb * sizeof *d->db_ref);
    cnn_conv_forward_ref(g, cc->n, d->x, d->w, cc->use_bias ? d->b : NULL,
                         d->y_ref, cc->relu);
    cnn_conv_backward_data_ref(g, cc->n, d->dy, d->w,
                               cc->use_mask ? d->mask : NULL, d->dx_ref);
    cnn_conv_backward_weights_ref(g, cc->n, d->x, d->dy, d->dw_ref,
                                  cc->use_db ? d->db_ref : NULL);
}

static void conv_data_free(conv_data *d)
{
    float *all[] = {d->x,     d->w,      d->b,      d->dy,    d->mask,
                    d->dw0,   d->db0,    d->y_ref,  d->dx_ref, d->dw_ref,
                    d->db_ref};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        free(all[i]);
}

/* The passes of kk that are not NULL against the reference; who names
   them in messages. */
static void check_conv_kernels(const conv_data *d, const char *who,
                               const cnn_conv_kernels *kk)
{
    const conv_case *cc = d->cc;
    const cnn_conv_geom *g = &cc->g;
    const char *label = d->label;
    if (kk->forward) {
        float *y = test_alloc_guarded(d->ny, NAN);
        kk->forward(g, cc->n, d->x, d->w, cc->use_bias ? d->b : NULL, y,
                    cc->relu);
        expect_close(who, "conv forward", label, y, d->y_ref, d->ny);
        free(y);
    }
    if (kk->backward_data) {
        float *dx = test_alloc_guarded(d->nx, NAN), *packed;
        kk->backward_data(g, cc->n, d->dy, bwd_weights(kk, g, d->w, &packed),
                          cc->use_mask ? d->mask : NULL, dx);
        free(packed);
        expect_close(who, "conv backward_data", label, dx, d->dx_ref, d->nx);
        free(dx);
    }
    if (kk->backward_weights) {
        float *dw = test_alloc_guarded(d->nw, 0), *db = test_alloc_guarded(d->nb, 0);
        memcpy(dw, d->dw0, d->nw * sizeof *dw);
        memcpy(db, d->db0, d->nb * sizeof *db);
        kk->backward_weights(g, cc->n, d->x, d->dy, dw, cc->use_db ? db : NULL);
        expect_close(who, "conv backward_weights dw", label, dw, d->dw_ref,
                     d->nw);
        if (cc->use_db)
            expect_close(who, "conv backward_weights db", label, db,
                         d->db_ref, d->nb);
        else
            CHECK(memcmp(db, d->db0, d->nb * sizeof *db) == 0,
                  "%s conv backward_weights [%s]: db NULL but db written",
                  who, label);
        free(dw), free(db);
    }
}

/* All three passes of every table against the reference on one case. */
static void check_conv_case(const conv_case *cc, uint64_t *rng)
{
    load_tables();
    conv_data d;
    conv_data_init(&d, cc, rng);
    for (size_t t = 0; t < NTABLES; t++) {
        cnn_conv_kernels kk = tables[t]->select_conv(&cc->g);
        check_conv_kernels(&d, tables[t]->isa, &kk);
    }
    conv_data_free(&d);
}

/* ------------------------------------------ one dense case vs the ref */

/* The weights backward_data of set kk reads for in -> out: w itself, or
   its packed copy (made by two pack calls, [0, out/2) and [out/2, out)) in
   *packed, which the caller frees. */
static const float *dense_bwd_weights(const cnn_dense_kernels *kk, int in, int out,
                                      const float *w, float **packed)
{
    *packed = NULL;
    if (!cnn_dense_reads_packed(kk, in, out))
        return w;
    *packed = test_alloc_guarded((size_t)in * out, NAN);
    kk->pack_backward_data(in, out, w, *packed, 0, out / 2);
    kk->pack_backward_data(in, out, w, *packed, out / 2, out);
    return *packed;
}

/* backward_weights over rows [i0, i1) of set kk, from dw0: rows in the
   range against dw_ref, every other row left exactly as dw0.  zero: in
   overwrite mode (start_zero), the rows in the range pre-filled with NaN
   (read, they would poison the result). */
static void check_dense_rows(const char *isa, const char *label, const cnn_dense_kernels *kk,
                             int n, int in, int out, const float *x, const float *dy,
                             const float *dw0, const float *dw_ref, int i0, int i1, int zero)
{
    const size_t nw = (size_t)in * out;
    float *dw = test_alloc_guarded(nw, 0);
    memcpy(dw, dw0, nw * sizeof *dw);
    for (size_t j = (size_t)i0 * out; zero && j < (size_t)i1 * out; j++)
        dw[j] = NAN;
    kk->backward_weights(n, in, out, x, dy, i0, i1, zero, dw, NULL);
    char what[64];
    snprintf(what, sizeof what, "dense backward_weights%s rows [%d, %d)",
             zero ? " (overwrite)" : "", i0, i1);
    size_t at = 0;
    const double err = test_max_rel_err(dw + (size_t)i0 * out, dw_ref + (size_t)i0 * out,
                                        (size_t)(i1 - i0) * out, &at);
    CHECK(err <= TOL, "%s %s [%s]: max rel err %g at %zu", isa, what, label, err, at);
    CHECK(memcmp(dw, dw0, (size_t)i0 * out * sizeof *dw) == 0 &&
              memcmp(dw + (size_t)i1 * out, dw0 + (size_t)i1 * out,
                     (nw - (size_t)i1 * out) * sizeof *dw) == 0 &&
              test_guard_intact(dw, nw),
          "%s %s [%s]: wrote outside its rows", isa, what, label);
    free(dw);
}

/* Overwrite mode (start_zero) over every row, dw and db pre-filled with
   NaN, which must never be read: against the ref's overwrite; db NULL
   leaves db as it was. */
static void check_dense_overwrite(const char *isa, const char *label,
                                  const cnn_dense_kernels *kk, int n, int in, int out,
                                  const float *x, const float *dy, int use_db,
                                  const float *dw_ref, const float *db_ref)
{
    const size_t nw = (size_t)in * out;
    float *dw = test_alloc_guarded(nw, NAN), *db = test_alloc_guarded(out, NAN);
    kk->backward_weights(n, in, out, x, dy, 0, in, 1, dw, use_db ? db : NULL);
    expect_close(isa, "dense backward_weights (overwrite) dw", label, dw, dw_ref, nw);
    if (use_db)
        expect_close(isa, "dense backward_weights (overwrite) db", label, db, db_ref, out);
    int kept = test_guard_intact(db, out);
    for (int o = 0; o < out; o++)
        kept = kept && isnan(db[o]);
    if (!use_db)
        CHECK(kept,
              "%s dense backward_weights (overwrite) [%s]: db NULL but db written", isa,
              label);
    free(dw), free(db);
}

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
    float *y_ref = test_alloc_guarded(ny, NAN), *dx_ref = test_alloc_guarded(nx, NAN);
    float *dw_ref = test_alloc_guarded(nw, 0), *db_ref = test_alloc_guarded(out, 0);
    memcpy(dw_ref, dw0, nw * sizeof *dw_ref);
    memcpy(db_ref, db0, out * sizeof *db_ref);
    ref->forward(n, in, out, x, w, bias, y_ref, relu);
    ref->backward_data(n, in, out, dy, w, m, dx_ref);
    ref->backward_weights(n, in, out, x, dy, 0, in, 0, dw_ref, use_db ? db_ref : NULL);
    float *dwz_ref = test_alloc_guarded(nw, NAN), *dbz_ref = test_alloc_guarded(out, NAN);
    ref->backward_weights(n, in, out, x, dy, 0, in, 1, dwz_ref, dbz_ref);

    for (size_t t = 0; t < NTABLES; t++) {
        const char *isa = tables[t]->isa;
        const cnn_dense_kernels *kk = &tables[t]->dense;
        float *y = test_alloc_guarded(ny, NAN), *dx = test_alloc_guarded(nx, NAN);
        float *dw = test_alloc_guarded(nw, 0), *db = test_alloc_guarded(out, 0), *packed;
        memcpy(dw, dw0, nw * sizeof *dw);
        memcpy(db, db0, out * sizeof *db);
        kk->forward(n, in, out, x, w, bias, y, relu);
        expect_close(isa, "dense forward", label, y, y_ref, ny);
        const float *wp = dense_bwd_weights(kk, in, out, w, &packed);
        CHECK(!packed || test_guard_intact(packed, nw), "%s dense pack [%s]: wrote past the end",
              isa, label);
        kk->backward_data(n, in, out, dy, wp, m, dx);
        expect_close(isa, "dense backward_data", label, dx, dx_ref, nx);
        kk->backward_weights(n, in, out, x, dy, 0, in, 0, dw, use_db ? db : NULL);
        expect_close(isa, "dense backward_weights dw", label, dw, dw_ref, nw);
        if (use_db)
            expect_close(isa, "dense backward_weights db", label, db, db_ref,
                         out);
        else
            CHECK(memcmp(db, db0, out * sizeof *db) == 0,
                  "%s dense backward_weights [%s]: db NULL but db written",
                  isa, label);
        check_dense_overwrite(isa, label, kk, n, in, out, x, dy, use_db, dwz_ref, dbz_ref);
        /* A part of the rows, and none, in both modes. */
        for (int z = 0; z < 2; z++) {
            const float *want = z ? dwz_ref : dw_ref;
            check_dense_rows(isa, label, kk, n, in, out, x, dy, dw0, want, in / 3,
                             in - in / 4, z);
            check_dense_rows(isa, label, kk, n, in, out, x, dy, dw0, want, in / 2, in / 2, z);
        }
        free(y), free(dx), free(dw), free(db), free(packed);
    }
    free(x), free(w), free(b), free(dy), free(mask), free(dw0), free(db0);
    free(y_ref), free(dx_ref), free(dw_ref), free(db_ref), free(dwz_ref), free(dbz_ref);
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
    cnn_dense_backward_weights_ref(1, 2, 3, x, dy, 0, 2, 0, dw, db);
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
        float *y = test_alloc_guarded(ny, 0), *dx = test_alloc_guarded(nx, NAN);
        float *dw = test_alloc_guarded(nw, 0), *db = test_alloc_guarded(nb, 0);
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
    cnn_dense_backward_weights_ref(n, in, out, x, r, 0, in, 0, dw, db);
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
    static const int sizes[] = {1, 3, 8, 10, 16, 17, 32, 47, 64, 100, 784};
    uint64_t rng = 4242;
    for (int i = 0; i < 60; i++) {
        const int in = sizes[below(&rng, 11)], out = sizes[below(&rng, 10)];
        const int n = 1 + (int)below(&rng, 33);
        check_dense_case(n, in, out, (int)below(&rng, 2),
                         below(&rng, 4) != 0, (int)below(&rng, 2),
                         below(&rng, 4) != 0, &rng);
    }
    /* Wide outputs, where the x86 sets read w in dot products instead of
       a packed copy (cnn_dense_packs_*: out >= 128), ragged in every
       dimension, and their neighbour just below the switch. */
    static const int wide[][3] = {{1, 1, 128},  {5, 7, 131},   {13, 13, 200}, {4, 37, 768},
                                  {32, 25, 1568}, {3, 6, 127}, {17, 100, 144}};
    for (size_t i = 0; i < sizeof wide / sizeof *wide; i++)
        for (int v = 0; v < 2; v++)
            check_dense_case(wide[i][0], wide[i][1], wide[i][2], v, 1, v, 1 - v, &rng);
}

/* Narrow layers (out <= 12), where the x86 sets read w itself through
   registers (dense-narrow-*.c): every out from 1 to 12 with every n from 1
   to 33 (groups of samples and their tails), in ragged around the vector
   widths (8, 16), the mask on and off. */
static void test_narrow_dense_shapes(void)
{
    static const int ins[] = {1, 3, 8, 9, 15, 17, 33, 100};
    uint64_t rng = 1212;
    for (int out = 1; out <= 12; out++)
        for (int n = 1; n <= 33; n++)
            check_dense_case(n, ins[(5 * n + out) % 8], out, n & 1, 1, (n + out) & 1, 1, &rng);
}

/* ------------------------------------------- dense batch invariance */

/* Whether a and b (count floats) hold the same bits. */
static int same_bits(const float *a, const float *b, size_t count)
{
    return memcmp(a, b, count * sizeof *a) == 0;
}

/* forward, or backward_data when bwd, of set kk on the N samples in calls
   of sizes[0], sizes[1], ... (summing to N), into out. */
static void dense_in_calls(const cnn_dense_kernels *kk, int bwd, const int *sizes, int in,
                           int out, const float *src, const float *w, const float *b,
                           const float *mask, float *dst)
{
    const int from = bwd ? out : in, to = bwd ? in : out;
    for (int s = 0, c = 0; sizes[c]; s += sizes[c++]) {
        const float *xs = src + (size_t)s * from;
        float *ys = dst + (size_t)s * to;
        if (bwd)
            kk->backward_data(sizes[c], in, out, xs, w, mask + (size_t)s * in, ys);
        else
            kk->forward(sizes[c], in, out, xs, w, b, ys, 1);
    }
}

enum { INV_N = 19 };

/* The bits of each sample's forward and backward_data outputs do not
   depend on the call's size or the sample's place in it: 19 samples in
   one call, one by one, and as 3 + 4 + 12. */
static void check_dense_samples(const char *isa, const cnn_dense_kernels *kk, int in, int out,
                                const float *x, const float *w, const float *wp,
                                const float *b, const float *dy, const float *mask)
{
    static const int whole[] = {INV_N, 0}, split[] = {3, 4, 12, 0};
    int ones[INV_N + 1] = {0};
    for (int s = 0; s < INV_N; s++)
        ones[s] = 1;
    const int *ways[] = {whole, ones, split};
    for (int bwd = 0; bwd < 2; bwd++) {
        const size_t count = (size_t)INV_N * (bwd ? in : out);
        float *got[3];
        for (int k = 0; k < 3; k++) {
            got[k] = test_alloc_guarded(count, NAN);
            dense_in_calls(kk, bwd, ways[k], in, out, bwd ? dy : x, bwd ? wp : w, b, mask,
                           got[k]);
        }
        CHECK(same_bits(got[0], got[1], count) && same_bits(got[0], got[2], count),
              "%s dense %s %d->%d: 19 samples in one call, one by one and as "
              "3 + 4 + 12 differ in their bits", isa, bwd ? "backward_data" : "forward", in, out);
        for (int k = 0; k < 3; k++)
            free(got[k]);
    }
}

/* Overwrite mode in pieces (over NaN) gives the bits of accumulating onto
   zeros in one call, whatever the cut: the owners' form needs no memset. */
static void check_dense_overwrite_pieces(const char *isa, const cnn_dense_kernels *kk, int in,
                                         int out, const float *x, const float *dy)
{
    const size_t nw = (size_t)in * out;
    float *dw[2] = {test_alloc_guarded(nw, 0), test_alloc_guarded(nw, NAN)};
    float *db[2] = {test_alloc_guarded(out, 0), test_alloc_guarded(out, NAN)};
    memset(dw[0], 0, nw * sizeof(float));
    memset(db[0], 0, (size_t)out * sizeof(float));
    kk->backward_weights(INV_N, in, out, x, dy, 0, in, 0, dw[0], db[0]);
    const int cut[] = {0, in / 7, in / 7, in / 3 + 1, in};
    for (int c = 0; c < 4; c++)
        kk->backward_weights(INV_N, in, out, x, dy, cut[c], cut[c + 1], 1, dw[1],
                             c == 1 ? db[1] : NULL);
    CHECK(same_bits(dw[0], dw[1], nw) && same_bits(db[0], db[1], (size_t)out),
          "%s dense backward_weights %d->%d: overwrite in pieces differs from accumulating "
          "onto zeros", isa, in, out);
    for (int k = 0; k < 2; k++)
        free(dw[k]), free(db[k]);
}

/* The bits of dw and db do not depend on how the rows are cut, nor those
   of the packed weights on how the columns are. */
static void check_dense_pieces(const char *isa, const cnn_dense_kernels *kk, int in, int out,
                               const float *x, const float *w, const float *dy,
                               const float *dw0, const float *db0)
{
    const size_t nw = (size_t)in * out;
    float *dw[2], *db[2];
    const int cut[2][5] = {{0, in, -1}, {0, in / 5, in / 5, in / 2 + 1, in}};
    for (int k = 0; k < 2; k++) {
        dw[k] = test_alloc_guarded(nw, 0), db[k] = test_alloc_guarded(out, 0);
        memcpy(dw[k], dw0, nw * sizeof(float));
        memcpy(db[k], db0, (size_t)out * sizeof(float));
        for (int c = 0; c + 1 < 5 && cut[k][c + 1] >= 0; c++) /* db with the last piece */
            kk->backward_weights(INV_N, in, out, x, dy, cut[k][c], cut[k][c + 1], 0, dw[k],
                                 cut[k][c + 1] == in ? db[k] : NULL);
    }
    CHECK(same_bits(dw[0], dw[1], nw) && same_bits(db[0], db[1], (size_t)out),
          "%s dense backward_weights %d->%d: rows in one call and in pieces differ", isa, in,
          out);
    check_dense_overwrite_pieces(isa, kk, in, out, x, dy);
    if (kk->pack_backward_data) {
        float *p[2] = {test_alloc_guarded(nw, NAN), test_alloc_guarded(nw, NAN)};
        kk->pack_backward_data(in, out, w, p[0], 0, out);
        kk->pack_backward_data(in, out, w, p[1], out / 3, out);
        kk->pack_backward_data(in, out, w, p[1], 1 < out ? 1 : out, out / 3 > 1 ? out / 3 : 1);
        kk->pack_backward_data(in, out, w, p[1], 0, 1);
        CHECK(same_bits(p[0], p[1], nw) && test_guard_intact(p[1], nw),
              "%s dense pack %d->%d: columns in one call and in pieces differ", isa, in, out);
        free(p[0]), free(p[1]);
    }
    for (int k = 0; k < 2; k++)
        free(dw[k]), free(db[k]);
}

/* Batch invariance (kernels.h) of every set's dense kernels, on the seed
   and seed-dense shapes and ragged ones (narrow: out <= 12). */
static void test_dense_batch_invariance(void)
{
    static const int shapes[][2] = {{1568, 768}, {768, 10}, {784, 10}, {37, 23}, {5, 33},
                                    {100, 17},   {3, 1},    {13, 131}, {6, 1},   {7, 12},
                                    {9, 9},      {17, 8},   {23, 5},   {15, 11}, {8, 2}};
    uint64_t rng = 777;
    load_tables();
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const int in = shapes[i][0], out = shapes[i][1];
        const size_t nx = (size_t)INV_N * in, ny = (size_t)INV_N * out, nw = (size_t)in * out;
        float *x = alloc_random(nx, -1, 1, &rng), *w = alloc_random(nw, -1, 1, &rng);
        float *b = alloc_random(out, -1, 1, &rng), *dy = alloc_random(ny, -1, 1, &rng);
        float *mask = alloc_random(nx, -1, 1, &rng), *dw0 = alloc_random(nw, -1, 1, &rng);
        float *db0 = alloc_random(out, -1, 1, &rng);
        for (size_t t = 0; t < NTABLES; t++) {
            const cnn_dense_kernels *kk = &tables[t]->dense;
            float *packed;
            const float *wp = dense_bwd_weights(kk, in, out, w, &packed);
            check_dense_samples(tables[t]->isa, kk, in, out, x, w, wp, b, dy, mask);
            check_dense_pieces(tables[t]->isa, kk, in, out, x, w, dy, dw0, db0);
            free(packed);
        }
        free(x), free(w), free(b), free(dy), free(mask), free(dw0), free(db0);
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
        float *dw0 = test_alloc_guarded(nw, 0), *db0 = test_alloc_guarded(32, 0);
        float *dw1 = test_alloc_guarded(nw, 0), *db1 = test_alloc_guarded(32, 0);
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

/* ------------------------------------------------- the kernel lists */

/* The choices the hand-kept tables made before the kernel lists (commit
   d5d7b95, kernels/<dir>/table-<isa>.c), written out again: the oracle of
   the list walk. */
#define KK(f, d, w, p) ((cnn_conv_kernels){f, d, w, p})

static int old_is_1x1(const cnn_conv_geom *g)
{
    return g->k == 1 && g->stride == 1 && g->pad_top == 0 && g->pad_left == 0 &&
           g->out_h == g->in_h && g->out_w == g->in_w;
}

static cnn_conv_kernels old_scalar(const cnn_conv_geom *g)
{
    if (old_is_1x1(g))
        return KK(cnn_conv1x1_forward_scalar, cnn_conv1x1_backward_data_scalar,
                  cnn_conv1x1_backward_weights_scalar, NULL);
    return KK(cnn_conv_forward_scalar, cnn_conv_backward_data_scalar,
              cnn_conv_backward_weights_scalar, NULL);
}

static cnn_conv_kernels old_ref(const cnn_conv_geom *g)
{
    (void)g;
    return KK(cnn_conv_forward_ref, cnn_conv_backward_data_ref,
              cnn_conv_backward_weights_ref, NULL);
}

/* The generic fallback of the SIMD tables: never the scalar 1x1 ones. */
static cnn_conv_kernels old_generic(void)
{
    return KK(cnn_conv_forward_scalar, cnn_conv_backward_data_scalar,
              cnn_conv_backward_weights_scalar, NULL);
}

#if defined(__x86_64__) || defined(__aarch64__)
/* The old avx2 and neon rule: the 3x3 kernels k3 for k == 3 (neon: only
   for stride 1 or 2), with the first-layer forward and backward weights
   for one input channel; the 1x1 kernels k1; else the generic ones. */
typedef struct old_simd {
    int k5, c1_k5; /* k3 and the first-layer kernels also for k == 5 */
    int stride12_only;
    cnn_conv_kernels k3;
    cnn_conv_forward_fn c1_forward;
    cnn_conv_backward_weights_fn c1_backward_weights;
    cnn_conv_kernels k1;
} old_simd;

static cnn_conv_kernels old_simd_rule(const cnn_conv_geom *g, const old_simd *r)
{
    const int k3 = g->k == 3 || (g->k == 5 && r->k5);
    if (k3 && (!r->stride12_only || g->stride == 1 || g->stride == 2)) {
        cnn_conv_kernels k = r->k3;
        if (g->in_c == 1 && (g->k == 3 || r->c1_k5)) {
            k.forward = r->c1_forward;
            k.backward_weights = r->c1_backward_weights;
        }
        return k;
    }
    return old_is_1x1(g) ? r->k1 : old_generic();
}
#endif

#if defined(__x86_64__)
static cnn_conv_kernels old_avx2(const cnn_conv_geom *g)
{
    static const old_simd r = {1, 1, 0,
        {cnn_conv3x3_forward_avx2, cnn_conv3x3_backward_data_avx2,
         cnn_conv3x3_backward_weights_avx2, cnn_conv_pack_backward_data_avx2},
        cnn_conv3x3c1_forward_avx2, cnn_conv3x3c1_backward_weights_avx2,
        {cnn_conv1x1_forward_avx2, cnn_conv1x1_backward_data_avx2,
         cnn_conv1x1_backward_weights_avx2, cnn_conv_pack_backward_data_avx2}};
    return old_simd_rule(g, &r);
}

static cnn_conv_kernels old_avx512(const cnn_conv_geom *g)
{
    if (g->k == 3 || g->k == 5) {
        cnn_conv_kernels k = KK(cnn_conv3x3_forward_avx512, cnn_conv3x3_backward_data_avx512,
                                cnn_conv3x3_backward_weights_avx512,
                                cnn_conv3x3_pack_backward_data_avx512);
        /* cnn_conv3x3c1_fits_avx512 as it was: the padded image in 8192
           floats. */
        const long ph = (g->out_h - 1) * g->stride + g->k;
        const long pw = (g->out_w - 1) * g->stride + g->k;
        if (g->in_c == 1 && g->out_c >= 1 && g->out_c <= 32 &&
            ph * pw <= 8192) {
            k.forward = cnn_conv3x3c1_forward_avx512;
            k.backward_weights = cnn_conv3x3c1_backward_weights_avx512;
        }
        return k;
    }
    if (old_is_1x1(g))
        return KK(cnn_conv1x1_forward_avx512, cnn_conv1x1_backward_data_avx512,
                  cnn_conv1x1_backward_weights_avx512, cnn_conv1x1_pack_backward_data_avx512);
    return old_generic();
}
#endif

#if defined(__aarch64__)
static cnn_conv_kernels old_neon(const cnn_conv_geom *g)
{
    static const old_simd r = {1, 1, 1, {cnn_conv3x3_forward_neon, cnn_conv3x3_backward_data_neon,
        cnn_conv3x3_backward_weights_neon, cnn_conv_pack_transposed_neon},
        cnn_conv3x3c1_forward_neon, cnn_conv3x3c1_backward_weights_neon,
        {cnn_conv1x1_forward_neon, cnn_conv1x1_backward_data_neon,
         cnn_conv1x1_backward_weights_neon, cnn_conv_pack_transposed_neon}};
    return old_simd_rule(g, &r);
}
#endif

/* Every table this binary holds (whatever the CPU) and its old rule. */
static const struct {
    const cnn_kernel_table *table;
    cnn_conv_kernels (*old)(const cnn_conv_geom *g);
} built_in[] = {
    {&cnn_kernels_ref, old_ref},
    {&cnn_kernels_portable, old_scalar},
#if defined(__x86_64__)
    {&cnn_kernels_avx2, old_avx2},
    {&cnn_kernels_avx512, old_avx512},
#endif
#if defined(__aarch64__)
    {&cnn_kernels_neon, old_neon},
#endif
};
#define NBUILT_IN (sizeof built_in / sizeof *built_in)

static int same_kernels(cnn_conv_kernels a, cnn_conv_kernels b)
{
    return a.forward == b.forward && a.backward_data == b.backward_data &&
           a.backward_weights == b.backward_weights &&
           a.pack_backward_data == b.pack_backward_data;
}

/* The derived choice equals the old rule on every table, for a grid of
   geometries, plus odd ones a TF-style builder never makes (1x1 with
   padding, outputs cropped). */
static void test_list_choice_matches_old_rules(void)
{
    static const int ks[] = {1, 3, 5}, cs[] = {1, 2, 3, 16, 32};
    static const int ms[] = {1, 2, 3, 8, 16, 17, 31, 32, 33, 48, 64, 70};
    static const int hw[][2] = {{3, 3}, {5, 5}, {7, 9}, {14, 14}, {28, 28},
                                {7, 30}, {88, 88}, {89, 89}, {90, 40}, {100, 100}};
    int geoms = 0;
    for (size_t a = 0; a < 3 * 3 * 2 * 5 * 12 * 10 + 4; a++) {
        cnn_conv_geom g;
        size_t r = a;
        if (a < 3 * 3 * 2 * 5 * 12 * 10) {
            const int k = ks[r % 3], s = 1 + (int)(r / 3 % 3), same = (int)(r / 9 % 2);
            r /= 18;
            const int c = cs[r % 5], m = ms[r / 5 % 12], *sz = hw[r / 60 % 10];
            if (!same && (sz[0] < k || sz[1] < k))
                continue;
            g = make_geom(sz[0], sz[1], c, m, k, s, same);
        } else {
            g = make_geom(6, 6, 4, 8, 1, 1, 0);
            g.out_h -= a & 1;                     /* cropped */
            g.pad_top = g.pad_left = (a >> 1) & 1; /* padded */
            g.out_h += 2 * g.pad_top, g.out_w += 2 * g.pad_left;
        }
        geoms++;
        for (size_t t = 0; t < NBUILT_IN; t++) {
            char shape[160];
            describe(shape, sizeof shape, &g, 1);
            CHECK(same_kernels(built_in[t].table->select_conv(&g), built_in[t].old(&g)),
                  "%s: [%s] the kernel list chooses other kernels than the old table",
                  built_in[t].table->isa, shape);
        }
    }
    CHECK(geoms > 3000, "only %d geometries", geoms);
}

/* The lists are well formed, and each table's dense kernels are its ISA's
   entry of the dense list. */
static void test_list_well_formed(void)
{
    for (int f = 0; cnn_conv_families[f]; f++)
        for (const cnn_conv_entry *e = cnn_conv_families[f]; e->isa; e++) {
            CHECK(e->family && !strcmp(e->family, cnn_conv_families[f]->family),
                  "%s/%s: not the family of its list", e->family, e->isa);
            CHECK(e->shape && e->fits && e->tile, "%s/%s: no shape class or tile",
                  e->family, e->isa);
            CHECK(e->k.forward || e->k.backward_data || e->k.backward_weights,
                  "%s/%s: no pass", e->family, e->isa);
            CHECK(e->k.backward_data || !e->k.pack_backward_data,
                  "%s/%s: a pack hook without backward data", e->family, e->isa);
        }
    for (size_t t = 0; t < NBUILT_IN; t++) {
        const cnn_kernel_table *kt = built_in[t].table;
        const cnn_dense_entry *e = cnn_dense_entry_of(kt->isa);
        CHECK(e && e->tile && kt->dense.forward == e->k.forward &&
                  kt->dense.backward_data == e->k.backward_data &&
                  kt->dense.backward_weights == e->k.backward_weights &&
                  kt->dense.pack_backward_data == e->k.pack_backward_data,
              "%s: the table's dense kernels are not its dense list entry", kt->isa);
    }
}

/* Whether this CPU can run the set named isa. */
static int runnable(const char *isa)
{
    return cnn_kernels_by_name(isa, NULL) != NULL;
}

#define ENTRY_CASES 6     /* random shapes of its class per entry */
#define ENTRY_DRAWS 20000 /* draws to find them, at most */

/* A random case (as test_random_conv_shapes, strides up to 3), or 0 when
   the draw is not a usable geometry. */
static int random_case(conv_case *cc, uint64_t *rng)
{
    static const int ks[] = {1, 3, 5}, chans[] = {1, 3, 8, 16, 17, 32, 64};
    const int k = ks[below(rng, 3)], s = 1 + (int)below(rng, 3);
    const int same = (int)below(rng, 2);
    const int h = 1 + (int)below(rng, 15), w = 1 + (int)below(rng, 15);
    const int c = chans[below(rng, 7)], m = chans[below(rng, 7)];
    if (!same && (h < k || w < k))
        return 0;
    *cc = (conv_case){.g = make_geom(h, w, c, m, k, s, same), .n = 1 + (int)below(rng, 3),
                      .relu = (int)below(rng, 2), .use_bias = below(rng, 4) != 0,
                      .use_mask = (int)below(rng, 2), .use_db = below(rng, 4) != 0};
    return (double)cc->n * cc->g.out_h * cc->g.out_w * k * k * c * m <= RANDOM_WORK;
}

/* Every list entry of a set this CPU runs, on its own (the passes it has),
   against the reference on random shapes of its shape class. */
static void test_list_entries_vs_ref(void)
{
    uint64_t rng = 31337;
    for (int f = 0; cnn_conv_families[f]; f++)
        for (const cnn_conv_entry *e = cnn_conv_families[f]; e->isa; e++) {
            if (!strcmp(e->isa, "ref") || !runnable(e->isa))
                continue;
            char who[64];
            snprintf(who, sizeof who, "%s/%s", e->family, e->isa);
            int found = 0;
            for (int draw = 0; draw < ENTRY_DRAWS && found < ENTRY_CASES; draw++) {
                conv_case cc;
                if (!random_case(&cc, &rng) || !e->fits(&cc.g))
                    continue;
                conv_data d;
                conv_data_init(&d, &cc, &rng);
                check_conv_kernels(&d, who, &e->k);
                conv_data_free(&d);
                found++;
            }
            CHECK(found == ENTRY_CASES, "%s: %d random shapes of class \"%s\"", who,
                  found, e->shape);
        }
}

/* How many rows of bench/kernels (any --model) run pass p of conv entry e:
   a layer on the entry's set, or on a set that falls back to it. */
static int conv_entry_bench_rows(const cnn_conv_entry *e, int p)
{
    int rows = 0;
    for (int m = 0; m < NMODELS; m++)
        for (size_t t = 0; t < NBUILT_IN; t++)
            for (int l = 0; l < bench_models[m].nlayers; l++) {
                const layer_spec *L = &bench_models[m].layers[l];
                if (L->dense || (p == CNN_PASS_BACKWARD_DATA && !L->has_bwd_data))
                    continue;
                rows += cnn_conv_choose(built_in[t].table->isa, &L->g).from[p] == e;
            }
    return rows;
}

/* The guard of the kernel checklist: every pass of every conv list entry
   is the one some row of bench/kernels runs, and every model's dense
   entries have dense rows (each set runs the dense rows of its entry). */
static void test_list_entries_benched(void)
{
    for (int m = 0; m < NMODELS; m++) {
        int dense_rows = 0;
        for (int l = 0; l < bench_models[m].nlayers; l++)
            dense_rows += bench_models[m].layers[l].dense;
        CHECK(dense_rows > 0, "bench/kernels --model %s has no dense row",
              bench_models[m].name);
    }
    for (int f = 0; cnn_conv_families[f]; f++)
        for (const cnn_conv_entry *e = cnn_conv_families[f]; e->isa; e++)
            for (int p = 0; p < CNN_NPASSES; p++) {
                if (!cnn_conv_entry_has(e, p))
                    continue;
                int rows = conv_entry_bench_rows(e, p);
                CHECK(rows > 0, "%s/%s %s: no bench/kernels row runs it "
                      "(add a layer to bench/kernels-layers.h)", e->family, e->isa,
                      p == CNN_PASS_FORWARD         ? "forward"
                      : p == CNN_PASS_BACKWARD_DATA ? "backward_data"
                                                    : "backward_weights");
            }
}

/* ------------------------------------------------ batch invariance */

#define INV_N 5 /* images per batch-invariance case */

/* Whether floats a and b (count of them) are the same bits; *at: the
   first that differs. */
static int conv_bits_equal(const float *a, const float *b, size_t count, size_t *at)
{
    for (size_t i = 0; i < count; i++)
        if (memcmp(a + i, b + i, sizeof *a) != 0) {
            *at = i;
            return 0;
        }
    return 1;
}

/* The INV_N-image output `all` (per image `per` floats) against the same
   pass run on each image alone and on the split 2 + 3: run(first, count,
   out) computes images [first, first + count) into out. */
typedef void (*inv_run)(const void *ctx, int first, int count, float *out);

static void check_invariant(const char *who, const char *what, const char *shape,
                            inv_run run, const void *ctx, size_t per)
{
    float *all = test_alloc_guarded(INV_N * per, NAN), *part = test_alloc_guarded(INV_N * per, NAN);
    run(ctx, 0, INV_N, all);
    for (int i = 0; i < INV_N; i++)
        run(ctx, i, 1, part + i * per);
    size_t at = 0;
    CHECK(conv_bits_equal(all, part, INV_N * per, &at),
          "%s %s [%s]: image %zu alone differs from it in a call of %d (float %zu)",
          who, what, shape, at / per, INV_N, at % per);
    run(ctx, 0, 2, part);
    run(ctx, 2, INV_N - 2, part + 2 * per);
    CHECK(conv_bits_equal(all, part, INV_N * per, &at),
          "%s %s [%s]: the split 2 + %d differs from one call at image %zu (float %zu)",
          who, what, shape, INV_N - 2, at / per, at % per);
    free(all), free(part);
}

/* The inputs of one geometry's batch-invariance case. */
typedef struct inv_case {
    const cnn_conv_geom *g;
    const cnn_conv_kernels *kk;
    const float *x, *w, *b, *dy, *wt, *mask;
} inv_case;

static void inv_forward(const void *ctx, int first, int count, float *out)
{
    const inv_case *c = ctx;
    const size_t in = (size_t)c->g->in_h * c->g->in_w * c->g->in_c;
    c->kk->forward(c->g, count, c->x + first * in, c->w, c->b, out, 1);
}

static void inv_backward_data(const void *ctx, int first, int count, float *out)
{
    const inv_case *c = ctx;
    const size_t in = (size_t)c->g->in_h * c->g->in_w * c->g->in_c;
    const size_t o = (size_t)c->g->out_h * c->g->out_w * c->g->out_c;
    c->kk->backward_data(c->g, count, c->dy + first * o, c->wt,
                         c->mask + first * in, out);
}

/* Forward and backward data of entry e's passes on geometry g. */
static void check_entry_invariant(const char *who, const cnn_conv_kernels *kk,
                                  const cnn_conv_geom *g, uint64_t *rng)
{
    const size_t in = (size_t)g->in_h * g->in_w * g->in_c;
    const size_t o = (size_t)g->out_h * g->out_w * g->out_c;
    const size_t nw = (size_t)g->k * g->k * g->in_c * g->out_c;
    char shape[160];
    describe(shape, sizeof shape, g, INV_N);
    float *x = alloc_random(INV_N * in, -1, 1, rng), *w = alloc_random(nw, -1, 1, rng);
    float *b = alloc_random(g->out_c, -1, 1, rng);
    float *dy = alloc_random(INV_N * o, -1, 1, rng);
    float *mask = alloc_random(INV_N * in, -1, 1, rng), *packed = NULL;
    inv_case c = {.g = g, .kk = kk, .x = x, .w = w, .b = b, .dy = dy, .mask = mask};
    if (kk->forward)
        check_invariant(who, "forward", shape, inv_forward, &c, o);
    if (kk->backward_data) {
        c.wt = bwd_weights(kk, g, w, &packed);
        check_invariant(who, "backward_data", shape, inv_backward_data, &c, in);
    }
    free(x), free(w), free(b), free(dy), free(mask), free(packed);
}

/* The batch-invariance rule (docs: the same bits for any thread count):
   forward and backward data give each image the same bits whatever n and
   wherever it sits in the call.  Every conv entry of every set this CPU
   runs, on the geometries of bench/kernels' models and ragged ones (odd
   sizes and channel counts, both strides, both paddings). */
static void test_conv_batch_invariant(void)
{
    cnn_conv_geom geoms[64];
    int ng = 0;
    for (int m = 0; m < NMODELS; m++)
        for (int l = 0; l < bench_models[m].nlayers; l++)
            if (!bench_models[m].layers[l].dense)
                geoms[ng++] = bench_models[m].layers[l].g;
    static const struct { int h, w, c, m, k, s, same; } ragged[] = {
        {9, 7, 17, 33, 3, 2, 1}, {11, 13, 16, 32, 3, 2, 0}, {5, 6, 3, 17, 3, 1, 1},
        {8, 10, 64, 16, 3, 2, 1}, {13, 5, 1, 32, 3, 1, 1}, {15, 9, 1, 17, 3, 2, 1},
        {7, 9, 17, 24, 1, 1, 0}, {3, 5, 40, 9, 1, 1, 0}, {1, 3, 17, 24, 1, 1, 0},
        {2, 1, 40, 9, 1, 1, 0}, {6, 6, 8, 8, 5, 2, 1},
        /* 5x5 (the KxK families): first layers of 1..32 outputs, odd
           sizes and channels, both strides and paddings */
        {13, 11, 1, 8, 5, 1, 1}, {9, 12, 1, 24, 5, 2, 1}, {11, 9, 1, 17, 5, 1, 0},
        {7, 10, 1, 32, 5, 2, 0}, {9, 7, 17, 33, 5, 2, 1}, {11, 13, 16, 32, 5, 2, 0},
        {5, 6, 3, 17, 5, 1, 1}, {8, 10, 24, 64, 5, 1, 0}, {7, 7, 16, 20, 5, 2, 1},
    };
    for (size_t i = 0; i < sizeof ragged / sizeof *ragged; i++)
        geoms[ng++] = make_geom(ragged[i].h, ragged[i].w, ragged[i].c, ragged[i].m,
                                ragged[i].k, ragged[i].s, ragged[i].same);
    uint64_t rng = 1313;
    for (int f = 0; cnn_conv_families[f]; f++)
        for (const cnn_conv_entry *e = cnn_conv_families[f]; e->isa; e++) {
            if (!runnable(e->isa))
                continue;
            char who[64];
            snprintf(who, sizeof who, "%s/%s", e->family, e->isa);
            for (int i = 0; i < ng; i++)
                if (e->fits(&geoms[i]))
                    check_entry_invariant(who, &e->k, &geoms[i], &rng);
        }
}

/* The AVX-512 KxK kernels' regions and grid tiles (kernels/x86,
   conv3x3-avx512.c, gemm-avx512.c), on every set, against the reference,
   for k = 3 and 5 (5x5: more runs per axis, images narrower than k):
   small images whose short lines go by pairs of lines, with every
   constant A stride of the tiles (16, 32, 64 floats: in_c * stride
   forward, out_c backward data) and ragged channels (run-time strides,
   masked columns), both strides and paddings; strides above the cached
   phases of backward data (9, 10); one-column regions (7 x 1); the
   stride-2 narrow backward data; every line length from 2 to 17. */
static void test_conv3x3_regions(void)
{
    static const struct { int c, m; } chans[] = {
        {16, 16}, {16, 32}, {32, 48}, {16, 64}, {64, 16}, {17, 33}, {32, 64}, {64, 32},
    };
    static const struct { int h, w; } sizes[] = {{7, 7}, {9, 6}, {5, 11}, {7, 1}};
    uint64_t rng = 777;
    for (int k = 3; k <= 5; k += 2)
    for (int s = 1; s <= 2; s++)
        for (size_t c = 0; c < sizeof chans / sizeof *chans; c++)
            for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++)
                for (int same = 0; same <= 1; same++) {
                    if (!same && (sizes[z].w < k || sizes[z].h < k))
                        continue;
                    conv_case cc = {.g = make_geom(sizes[z].h, sizes[z].w, chans[c].c,
                                                   chans[c].m, k, s, same),
                                    .n = 2, .relu = same, .use_bias = 1,
                                    .use_mask = 1, .use_db = 1};
                    check_conv_case(&cc, &rng);
                }
    /* Every line length of the two-line tiles and past them (interior
       lines of 2 to 17 pixels), one to four column vectors. */
    static const struct { int c, m; } sweep[] = {{16, 16}, {32, 64}, {17, 40}, {64, 48}};
    for (int k = 3; k <= 5; k += 2)
    for (size_t c = 0; c < sizeof sweep / sizeof *sweep; c++)
        for (int w = 4; w <= 19; w++) {
            conv_case cc = {.g = make_geom(5, w, sweep[c].c, sweep[c].m, k, 1, 1),
                            .n = 1, .relu = 1, .use_bias = 1, .use_mask = 1, .use_db = 0};
            check_conv_case(&cc, &rng);
        }
    /* Stride 2 with at most 16 input channels (conv3x3s2-narrow-avx512.c):
       blocks of 1 to 7 dy columns (out_w 1 .. 16), the column carried
       between blocks, dx columns left of the first block (pad_left 1) or
       right of the last (valid, even width), out_c 32, 64 and others. */
    static const struct { int c, m; } narrow[] = {{16, 32}, {16, 64}, {5, 24}, {16, 20}};
    static const struct { int h, w; } nsizes[] = {
        {15, 15}, {16, 9}, {5, 31}, {3, 30}, {2, 2}, {5, 1}, {9, 26}, {4, 11},
    };
    for (size_t c = 0; c < sizeof narrow / sizeof *narrow; c++)
        for (size_t z = 0; z < sizeof nsizes / sizeof *nsizes; z++)
            for (int same = 0; same <= 1; same++) {
                if (!same && (nsizes[z].w < 3 || nsizes[z].h < 3))
                    continue;
                conv_case cc = {.g = make_geom(nsizes[z].h, nsizes[z].w, narrow[c].c,
                                               narrow[c].m, 3, 2, same),
                                .n = 2, .relu = 1, .use_bias = 1, .use_mask = same,
                                .use_db = 1};
                check_conv_case(&cc, &rng);
            }
    static const struct { int h, w, s, same; } wide[] = {
        {20, 23, 9, 1}, {21, 20, 10, 1}, {25, 19, 9, 0},
    };
    for (size_t i = 0; i < sizeof wide / sizeof *wide; i++) {
        conv_case cc = {.g = make_geom(wide[i].h, wide[i].w, 16, 32, 3, wide[i].s,
                                       wide[i].same),
                        .n = 2, .relu = 1, .use_bias = 1, .use_mask = 1, .use_db = 1};
        check_conv_case(&cc, &rng);
    }
    /* The first-layer KxK tiles (conv3x3c1-*.c, conv5x5c1-pairs-avx512.c):
       every output width 1..17 (the balanced tiles of 1..14 pixels or 1..8
       pixel pairs, odd widths' half pair), out_c 1..32 (one or two vectors,
       full or masked), both strides and paddings, 3x3 and 5x5. */
    static const int c1_outs[] = {1, 8, 16, 24, 32};
    for (int k = 3; k <= 5; k += 2)
        for (size_t m = 0; m < sizeof c1_outs / sizeof *c1_outs; m++)
            for (int w = 1; w <= 17; w++)
                for (int s = 1; s <= 2; s++) {
                const int same = w < k || (w + k + s) % 3 != 0;
                conv_case cc = {.g = make_geom(k + 2, w, 1, c1_outs[m], k, s, same),
                                .n = 2, .relu = w % 2, .use_bias = 1, .use_mask = 0,
                                .use_db = 1};
                check_conv_case(&cc, &rng);
                }
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
           {"random_dense_shapes", test_random_dense_shapes},
           {"narrow_dense_shapes", test_narrow_dense_shapes},
           {"dense_batch_invariance", test_dense_batch_invariance},
           {"list_choice_matches_old_rules", test_list_choice_matches_old_rules},
           {"list_well_formed", test_list_well_formed},
           {"list_entries_vs_ref", test_list_entries_vs_ref},
           {"list_entries_benched", test_list_entries_benched},
           {"conv_batch_invariant", test_conv_batch_invariant},
           {"conv3x3_regions", test_conv3x3_regions})
