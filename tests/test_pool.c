/*
 * test_pool.c — the pooling and dropout kinds (maxpool, avgpool, gap,
 * dropout) beyond the layer list's guard and their kernels'
 * (test_layer_kernels.c): dropout's mask (kept fraction, scale, the same
 * mask in backward data, its stream's inputs, identity at inference) and
 * the batched draws it makes (cnn_rng_fill); spec
 * items read, written back and refused; and a model with all four kinds
 * trained on 1, 2 and 3 threads to the same bits.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "families.h"
#include "model.h"
#include "tests.h"

/* --------------------------------------------------------------- dropout */

/* A model whose first layer is dropout on `size` floats per sample (a
   multiple of 100: images 100 x size/100; its
   name and rate set by the model builder). */
static cnn_model *dropout_model(const char *rate, int size)
{
    char spec[128];
    snprintf(spec, sizeof spec, "dropout:%s,flatten,dense:2,softmax", rate);
    cnn_model *m = NULL;
    CHECK(cnn_model_create(spec, 100, size / 100, 1, 2, &m) == CNN_OK, "%s: %s", spec,
          cnn_last_error());
    return m;
}

static void dropout_keeps_scales_and_repeats(void)
{
    enum { SIZE = 20000, N = 3 };
    static const char *const rates[] = {"0.25", "0.5", "0.9", "0"};
    float *x = malloc(N * SIZE * sizeof *x), *y = malloc(N * SIZE * sizeof *y);
    float *dx = malloc(N * SIZE * sizeof *dx), *one = malloc(SIZE * sizeof *one);
    uint64_t rng = 7;
    test_fill_uniform(x, N * SIZE, 0.5f, 1.5f, &rng);
    for (size_t r = 0; r < sizeof rates / sizeof *rates; r++) {
        cnn_model *m = dropout_model(rates[r], SIZE);
        if (!m)
            continue;
        const cnn_layer *L = &m->layers[0];
        const float R = L->farg[0], scale = 1.0f / (1.0f - R);
        cnn_pass_ctx ctx = {.training = 1, .step = 5, .seed = 3, .first = 2};
        L->op->forward(L, &ctx, N, x, NULL, y);
        size_t kept = 0, wrong = 0;
        for (size_t i = 0; i < N * SIZE; i++) {
            kept += y[i] != 0;
            wrong += y[i] != 0 && y[i] != x[i] * scale;
        }
        double frac = (double)kept / (N * SIZE), sd = sqrt(R * (1 - R) / (N * SIZE));
        CHECK(fabs(frac - (1 - R)) <= 5 * sd + 1e-9, "dropout:%s keeps %.4f", rates[r], frac);
        CHECK(wrong == 0, "dropout:%s: %zu kept values not x / (1 - R)", rates[r], wrong);
        /* Backward data: the same mask and scale, from dy = x. */
        L->op->backward_data(L, &ctx, N, x, y, x, NULL, NULL, dx);
        CHECK(test_bits_equal(dx, y, N * SIZE), "dropout:%s: backward's mask differs", rates[r]);
        /* Sample 1 of the call alone (first moved on): the same bits. */
        cnn_pass_ctx alone = ctx;
        alone.first = ctx.first + 1;
        L->op->forward(L, &alone, 1, x + SIZE, NULL, one);
        CHECK(test_bits_equal(one, y + SIZE, SIZE),
              "dropout:%s: a sample's mask depends on the call", rates[r]);
        /* Inference: the identity. */
        cnn_pass_ctx infer = {0};
        L->op->forward(L, &infer, N, x, NULL, y);
        CHECK(test_bits_equal(x, y, N * SIZE), "dropout:%s is not the identity at inference",
              rates[r]);
        cnn_model_free(m);
    }
    free(x), free(y), free(dx), free(one);
}

/* cnn_rng_fill (dropout's draws) gives the values and the final state of
   as many cnn_rng_next calls, for counts around its lane width. */
static void rng_fill_equals_draws_one_by_one(void)
{
    static const size_t counts[] = {0, 1, 7, 8, 9, 16, 100, 257};
    uint32_t got[300], want[300];
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
        cnn_rng a, b;
        cnn_rng_sample(&a, 3, 4, 5 + k);
        b = a;
        cnn_rng_fill(&a, got, counts[k]);
        for (size_t i = 0; i < counts[k]; i++)
            want[i] = cnn_rng_next(&b);
        CHECK(!memcmp(got, want, counts[k] * sizeof *got), "fill of %zu differs", counts[k]);
        CHECK(a.state == b.state && a.inc == b.inc && cnn_rng_next(&a) == cnn_rng_next(&b),
              "fill of %zu leaves another state", counts[k]);
    }
}

/* The mask changes with the seed, the step, the sample and the layer. */
static void dropout_mask_follows_its_stream(void)
{
    enum { SIZE = 256 };
    float x[SIZE], base[SIZE], other[SIZE];
    for (int i = 0; i < SIZE; i++)
        x[i] = 1;
    cnn_model *m = NULL;
    CHECK(cnn_model_create("dropout:0.5,flatten,dense:4,dropout:0.5,dense:2,softmax", 16, 16,
                           1, 2, &m) == CNN_OK, "%s", cnn_last_error());
    if (!m)
        return;
    cnn_layer *L = &m->layers[0];
    const cnn_pass_ctx ctx = {.training = 1, .step = 4, .seed = 9, .first = 1};
    L->op->forward(L, &ctx, 1, x, NULL, base);
    const cnn_pass_ctx moved[] = {{.training = 1, .step = 4, .seed = 10, .first = 1},
                                  {.training = 1, .step = 5, .seed = 9, .first = 1},
                                  {.training = 1, .step = 4, .seed = 9, .first = 2}};
    for (int k = 0; k < 3; k++) {
        L->op->forward(L, &moved[k], 1, x, NULL, other);
        CHECK(!test_bits_equal(base, other, SIZE), "mask unchanged by input %d of the stream", k);
    }
    /* The second dropout layer's mask, on the same stream, is its own. */
    cnn_layer second = *L;
    snprintf(second.name, sizeof second.name, "%s", m->layers[3].name);
    CHECK(!strcmp(second.name, "dropout2"), "layer 3 is %s", second.name);
    second.op->forward(&second, &ctx, 1, x, NULL, other);
    CHECK(!test_bits_equal(base, other, SIZE), "%s and %s draw the same mask", L->name,
          second.name);
    cnn_model_free(m);
}

/* ------------------------------------------------------------ the specs */

static void pool_specs_round_trip_and_refuse(void)
{
    static const char *const same[][2] = {
        {"conv3x3:4,maxpool2,flatten,dense:3,softmax", NULL},
        {"conv3x3:4,maxpool3s2,avgpool2s1,flatten,dense:3,softmax", NULL},
        {"conv3x3:4,maxpool2s2,flatten,dense:3,softmax",
         "conv3x3:4,maxpool2,flatten,dense:3,softmax"},
        {"conv3x3:4,gap,dropout:0.1,dense:3,softmax", NULL},
        {"conv3x3:4,dropout:0.25,gap,dense:3,softmax", NULL},
        {"flatten,dropout:0,dense:3,softmax", NULL},
        {"flatten,dropout:0.50,dense:3,softmax", "flatten,dropout:0.5,dense:3,softmax"},
        {"flatten,dropout:.3,dense:3,softmax", "flatten,dropout:0.3,dense:3,softmax"},
        {"flatten,dropout:0.123456789,dense:3,softmax",
         "flatten,dropout:0.12345679,dense:3,softmax"},
    };
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        const char *want = same[i][1] ? same[i][1] : same[i][0];
        cnn_model *a = NULL, *b = NULL;
        CHECK(cnn_model_describe(same[i][0], 12, 12, 1, 3, &a) == CNN_OK, "%s: %s", same[i][0],
              cnn_last_error());
        if (!a)
            continue;
        CHECK(!strcmp(cnn_model_spec(a), want), "%s: canonical '%s'", same[i][0],
              cnn_model_spec(a));
        CHECK(cnn_model_describe(cnn_model_spec(a), 12, 12, 1, 3, &b) == CNN_OK &&
                  !strcmp(cnn_model_spec(b), want),
              "%s: read back: %s", want, cnn_last_error());
        cnn_model_free(a);
        cnn_model_free(b);
    }
    static const char *const bad[][2] = {
        {"conv3x3:4,maxpool0,flatten,dense:3,softmax", "item 2 \"maxpool0\": maxpool needs"},
        {"conv3x3:4,maxpool2s0,flatten,dense:3,softmax", "\"maxpool2s0\": maxpool needs"},
        {"conv3x3:4,avgpool2x,flatten,dense:3,softmax", "\"avgpool2x\": avgpool needs"},
        {"conv3x3:4,dropout:1,flatten,dense:3,softmax", "\"dropout:1\": dropout needs"},
        {"conv3x3:4,dropout:-0.1,flatten,dense:3,softmax", "\"dropout:-0.1\": dropout needs"},
        {"conv3x3:4,dropout:abc,flatten,dense:3,softmax", "\"dropout:abc\": dropout needs"},
        {"conv3x3:4,dropout,flatten,dense:3,softmax", "\"dropout\": dropout needs"},
        {"conv3x3:4,flatten,gap,dense:3,softmax", "item 3: gap needs an image input"},
        {"conv3x3:4,gap,maxpool2,dense:3,softmax", "item 3: maxpool needs an image input"},
        {"conv3x3:4,gap,flatten,dense:3,softmax", "item 3: input is already flat"},
        {"conv3x3:4,maxpool11,flatten,dense:3,softmax",
         "maxpool layer 2 (11x11 window) does not fit its 10x10 input"},
        {"avgpool13,flatten,dense:3,softmax",
         "avgpool layer 1 (13x13 window) does not fit its 12x12 input"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cnn_model *m = NULL;
        int st = cnn_model_describe(bad[i][0], 12, 12, 1, 3, &m);
        const char *msg = cnn_last_error();
        CHECK(st == CNN_ERR_SPEC && !m && strstr(msg, bad[i][1]) && !strchr(msg, '\n'),
              "%s: %d '%s'", bad[i][0], st, msg);
        cnn_model_free(m);
    }
}

/* ------------------------------------------------------------ training */

/* Learnable images: class = the brightest of `classes` vertical bands. */
static cnn_dataset *bands(int count, int h, int w, int classes)
{
    cnn_dataset *ds = calloc(1, sizeof *ds);
    *ds = (cnn_dataset){.count = count, .height = h, .width = w, .channels = 1,
                        .classes = classes};
    ds->images = malloc((size_t)count * h * w);
    ds->labels = malloc((size_t)count);
    uint64_t s = 31;
    for (int i = 0; i < count; i++) {
        ds->labels[i] = (uint8_t)(i % classes);
        for (int p = 0; p < h * w; p++)
            ds->images[(size_t)i * h * w + p] =
                (uint8_t)(test_below(&s, 60) + ((p % w) * classes / w == i % classes ? 150 : 20));
    }
    return ds;
}

static int train_weights(const char *spec, const cnn_dataset *ds, int threads, float *out,
                         size_t *n)
{
    cnn_model *m = NULL;
    int st = cnn_model_create(spec, ds->height, ds->width, 1, ds->classes, &m);
    if (st != CNN_OK)
        return st;
    cnn_model_init(m, 5);
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.threads = threads;
    cfg.max_steps = 15;
    cfg.batch = 16;
    cfg.epochs = 100;
    st = cnn_train(m, ds, &cfg, NULL);
    *n = m->block;
    memcpy(out, m->params, m->block * sizeof(float));
    cnn_model_free(m);
    return st;
}

#define POOL_SPEC(rate)                                                                    \
    "conv3x3:8:same,relu,maxpool2,dropout:" rate ",conv3x3:8:same,relu,avgpool2,gap,"     \
    "dense:10,softmax"

/* The model trains to the same bits on 1, 2 and 3 threads (the batch of
   16 and the short last one: 120 = 7 * 16 + 8), and its dropout acts. */
static void pool_model_same_bits_on_1_2_3_threads(void)
{
    cnn_dataset *ds = bands(120, 12, 12, 10);
    static float a[1 << 12], b[1 << 12];
    size_t na = 0, nb = 0;
    CHECK(train_weights(POOL_SPEC("0.25"), ds, 1, a, &na) == CNN_OK, "%s", cnn_last_error());
    for (int threads = 2; threads <= 3; threads++) {
        CHECK(train_weights(POOL_SPEC("0.25"), ds, threads, b, &nb) == CNN_OK, "%s",
              cnn_last_error());
        CHECK(na == nb && test_bits_equal(a, b, na), "1 and %d threads differ", threads);
    }
    CHECK(train_weights(POOL_SPEC("0"), ds, 2, b, &nb) == CNN_OK, "%s", cnn_last_error());
    CHECK(na == nb && !test_bits_equal(a, b, na), "dropout 0.25 trains as dropout 0");
    for (size_t i = 0; i < na; i++)
        if (!isfinite(a[i])) {
            CHECK(0, "weight %zu is %g", i, a[i]);
            break;
        }
    cnn_dataset_free(ds);
}

TEST_TABLE(pool,
           {"dropout_keeps_scales_and_repeats", dropout_keeps_scales_and_repeats},
           {"rng_fill_equals_draws_one_by_one", rng_fill_equals_draws_one_by_one},
           {"dropout_mask_follows_its_stream", dropout_mask_follows_its_stream},
           {"pool_specs_round_trip_and_refuse", pool_specs_round_trip_and_refuse},
           {"pool_model_same_bits_on_1_2_3_threads", pool_model_same_bits_on_1_2_3_threads})
