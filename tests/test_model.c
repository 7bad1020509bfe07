/*
 * test_model.c — model building: parameter counts of the presets, output
 * shapes and Keras 'same' padding, spec grammar errors, the summary table,
 * Glorot initialisation, and the PRNG (also the per-sample stream); every
 * listed kind's spec round trip; relu fused or a layer of its own; models
 * described without their
 * parameters (any spec's summary costs nothing) and the physical-memory
 * bound on the parameter block.
 */
#include <math.h>
#include <string.h>

#include "cnn.h"
#include "memlimit.h"
#include "model.h"
#include "rng.h"
#include "tests.h"

static void presets_have_notebook_param_counts(void)
{
    static const struct {
        const char *name;
        size_t params;
    } want[] = {{"seed", 24186}, {"seed-dense", 1249962}, {"logreg", 7850}};
    for (size_t i = 0; i < 3; i++) {
        cnn_model *m = NULL;
        int st = cnn_model_create(want[i].name, 28, 28, 1, 10, &m);
        CHECK(st == CNN_OK, "%s: %s", want[i].name, cnn_last_error());
        if (m)
            CHECK(cnn_model_param_count(m) == want[i].params, "%s: %zu parameters, want %zu",
                  want[i].name, cnn_model_param_count(m), want[i].params);
        cnn_model_free(m);
    }
}

static void same_padding_follows_tensorflow(void)
{
    cnn_model *m = NULL;
    CHECK(cnn_model_create("seed", 28, 28, 1, 10, &m) == CNN_OK, "%s", cnn_last_error());
    if (!m)
        return;
    /* conv3x3 s2 same on 28 -> 14: total pad 1, all at the bottom/right. */
    const cnn_layer *L = &m->layers[2];
    CHECK(L->g.out_h == 14 && L->g.out_w == 14 && L->g.out_c == 64, "shape %dx%dx%d",
          L->g.out_h, L->g.out_w, L->g.out_c);
    CHECK(L->g.pad_top == 0 && L->g.pad_left == 0, "pads %d %d", L->g.pad_top, L->g.pad_left);
    CHECK(m->layers[0].g.pad_top == 1 && m->layers[0].g.out_h == 28, "first layer pad %d",
          m->layers[0].g.pad_top);
    CHECK(m->layers[4].g.out_h == 7 && m->layers[4].g.pad_top == 0, "third conv");
    cnn_model_free(m);
    /* Odd input, stride 2, same: 7 -> 4, total pad (4-1)*2+3-7 = 2 -> 1 top. */
    CHECK(cnn_model_create("conv3x3s2:4:same,flatten,dense:2,softmax", 7, 7, 1, 2, &m) ==
              CNN_OK, "%s", cnn_last_error());
    if (m)
        CHECK(m->layers[0].g.out_h == 4 && m->layers[0].g.pad_top == 1, "odd same: %d %d",
              m->layers[0].g.out_h, m->layers[0].g.pad_top);
    cnn_model_free(m);
    /* valid: 7 -> (7-3)/2+1 = 3 */
    CHECK(cnn_model_create("conv3x3s2:4:valid,flatten,dense:2,softmax", 7, 7, 1, 2, &m) ==
              CNN_OK, "%s", cnn_last_error());
    if (m)
        CHECK(m->layers[0].g.out_h == 3 && m->layers[0].g.pad_top == 0, "valid: %d",
              m->layers[0].g.out_h);
    cnn_model_free(m);
}

static void bad_specs_are_rejected(void)
{
    static const char *bad[] = {
        "",
        "dense:10,softmax",                 /* dense without flatten */
        "flatten,dense:10",                 /* no softmax */
        "flatten,dense:10,softmax,relu",    /* softmax not last */
        "relu,relu,flatten,dense:10,softmax", /* relu twice */
        "conv3x3:8,relu,relu,flatten,dense:10,softmax",
        "conv3x3:8,flatten,relu,relu,dense:10,softmax",
        "conv3x3:8,relu,flatten,relu,dense:10,softmax", /* relu on relu values */
        "conv3x2:8,flatten,dense:10,softmax",
        "conv3x3:0,flatten,dense:10,softmax",
        "conv3x3s0:8,flatten,dense:10,softmax",
        "conv3x3:8:middle,flatten,dense:10,softmax",
        "conv:8,flatten,dense:10,softmax",
        "flatten,conv3x3:8,dense:10,softmax",
        "flatten,flatten,dense:10,softmax",
        "flatten,dense:-3,softmax",
        "flatten,dense:10x,softmax",
        "flatten,,dense:10,softmax",
        "flatten,dense:10,relu,softmax",
        "pool2x2,flatten,dense:10,softmax",
        "conv29x29:4,flatten,dense:10,softmax", /* kernel larger than the input */
        "flatten,dense:7,softmax",          /* 7 outputs, 10 classes asked */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cnn_model *m = NULL;
        int st = cnn_model_create(bad[i], 28, 28, 1, 10, &m);
        CHECK(st != CNN_OK && m == NULL, "spec '%s' was accepted", bad[i]);
        CHECK(strlen(cnn_last_error()) > 0 && !strchr(cnn_last_error(), '\n'),
              "spec '%s': message '%s'", bad[i], cnn_last_error());
    }
}

static void spec_round_trips_and_spaces(void)
{
    cnn_model *a = NULL, *b = NULL;
    CHECK(cnn_model_create("seed", 28, 28, 1, 0, &a) == CNN_OK, "%s", cnn_last_error());
    CHECK(cnn_model_create(" conv3x3:32:same , relu,conv1x1:16,relu,conv3x3s2:64:same,relu,"
                           "conv1x1:16:valid,relu,conv3x3s2:32:same,relu,conv1x1:16,relu, "
                           "flatten,dense:10,softmax ",
                           28, 28, 1, 10, &b) == CNN_OK,
          "%s", cnn_last_error());
    if (a && b) {
        CHECK(strcmp(cnn_model_spec(a), cnn_model_spec(b)) == 0, "'%s' vs '%s'",
              cnn_model_spec(a), cnn_model_spec(b));
        CHECK(strcmp(cnn_model_spec(a), cnn_model_preset("seed")) == 0, "canonical '%s'",
              cnn_model_spec(a));
        CHECK(cnn_model_classes(a) == 10, "classes %d", cnn_model_classes(a));
    }
    cnn_model_free(a);
    cnn_model_free(b);
}

static void summary_lists_layers_and_total(void)
{
    cnn_model *m = NULL;
    CHECK(cnn_model_create("seed", 28, 28, 1, 10, &m) == CNN_OK, "%s", cnn_last_error());
    if (!m)
        return;
    char buf[4096];
    size_t len = cnn_model_summary(m, buf, sizeof buf);
    CHECK(len < sizeof buf && len == strlen(buf), "length %zu", len);
    CHECK(strstr(buf, "Total params: 24,186") != NULL, "no total in:\n%s", buf);
    CHECK(strstr(buf, "(None, 14, 14, 64)") != NULL, "no 14x14x64 shape");
    CHECK(strstr(buf, "9,280") != NULL, "no 9,280 parameters row");
    char small[16];
    size_t need = cnn_model_summary(m, small, sizeof small);
    CHECK(need == len && strlen(small) == sizeof small - 1, "truncation");
    cnn_model_free(m);
}

static void glorot_init_is_seeded_and_bounded(void)
{
    cnn_model *a = NULL, *b = NULL;
    cnn_model_create("seed", 28, 28, 1, 10, &a);
    cnn_model_create("seed", 28, 28, 1, 10, &b);
    if (!a || !b) {
        CHECK(0, "create: %s", cnn_last_error());
        cnn_model_free(a);
        cnn_model_free(b);
        return;
    }
    cnn_model_init(a, 7);
    cnn_model_init(b, 7);
    CHECK(memcmp(a->params, b->params, a->block * sizeof(float)) == 0, "same seed differs");
    cnn_model_init(b, 8);
    CHECK(memcmp(a->params, b->params, a->block * sizeof(float)) != 0, "seed ignored");
    /* conv3 (3x3, 16 -> 64): limit sqrt(6 / (144 + 576)); biases zero. */
    const cnn_layer *L = &a->layers[2];
    float limit = sqrtf(6.0f / (144 + 576)), mx = 0;
    double mean = 0;
    for (size_t i = 0; i < L->t_count[0]; i++) {
        float v = fabsf(a->params[L->t_off[0] + i]);
        mx = v > mx ? v : mx;
        mean += v;
    }
    mean /= (double)L->t_count[0];
    CHECK(mx <= limit && mx > 0.95f * limit, "max |w| %g, limit %g", mx, limit);
    CHECK(fabs(mean - limit / 2) < 0.02 * limit, "mean |w| %g, want about %g", mean, limit / 2);
    for (size_t i = 0; i < L->t_count[1]; i++)
        CHECK(a->params[L->t_off[1] + i] == 0, "bias %zu nonzero", i);
    cnn_model_free(a);
    cnn_model_free(b);
}

static void rng_streams_are_independent_and_uniform(void)
{
    cnn_rng a, b;
    cnn_rng_seed(&a, 42, 1);
    cnn_rng_seed(&b, 42, 2);
    int same = 0;
    for (int i = 0; i < 100; i++)
        same += cnn_rng_next(&a) == cnn_rng_next(&b);
    CHECK(same < 3, "streams agree %d times", same);
    long hist[10] = {0};
    for (int i = 0; i < 100000; i++)
        hist[cnn_rng_below(&a, 10)]++;
    for (int i = 0; i < 10; i++)
        CHECK(hist[i] > 9500 && hist[i] < 10500, "bucket %d has %ld", i, hist[i]);
    for (int i = 0; i < 1000; i++) {
        float u = cnn_rng_uniform(&a);
        CHECK(u >= 0 && u < 1, "uniform %g", u);
    }
    /* PCG32 reference: seed 42, stream 54 starts 0xa15c02b7 0x7b47f409. */
    cnn_rng r;
    cnn_rng_seed(&r, 42, 54);
    uint32_t x0 = cnn_rng_next(&r), x1 = cnn_rng_next(&r);
    CHECK(x0 == 0xa15c02b7u && x1 == 0x7b47f409u, "pcg32 gives %08x %08x", x0, x1);
}

/* Each kind's example parses (claimed by that kind, not one before it in
   the list) and formats back to itself, and a spec of it round-trips. */
static void every_kind_round_trips(void)
{
    for (int k = 0; cnn_layer_ops[k]; k++) {
        const cnn_layer_op *op = cnn_layer_ops[k];
        const char *ex = op->example, *why = "";
        const char *end = ex + strlen(ex);
        cnn_layer L;
        for (int j = 0; j < k; j++) {
            memset(&L, 0, sizeof L);
            L.op = cnn_layer_ops[j];
            CHECK(cnn_layer_ops[j]->parse(ex, end, &L, &why) == 0, "%s's example '%s' is "
                  "claimed by %s, before it in the list", op->name, ex, cnn_layer_ops[j]->name);
        }
        memset(&L, 0, sizeof L);
        L.op = op;
        CHECK(op->parse(ex, end, &L, &why) == 1, "%s: example '%s': %s", op->name, ex, why);
        char back[64];
        op->format(&L, back, sizeof back);
        CHECK(!strcmp(back, ex), "%s: '%s' formats as '%s'", op->name, ex, back);
        /* The grammar check: what the kind claims but cannot read. */
        char bad[80];
        snprintf(bad, sizeof bad, "%s:x", ex);
        memset(&L, 0, sizeof L);
        L.op = op;
        CHECK(op->parse(bad, bad + strlen(bad), &L, &why) <= 0, "%s: '%s' parsed", op->name,
              bad);
    }
}

/* relu fuses into a conv or dense layer before it; anywhere else it is a
   layer of its own (ReLU) with its own output; two in a row are refused. */
static void relu_fuses_or_stands_alone(void)
{
    static const struct {
        const char *spec;
        int layers, relu_layers;
        const char *row;
    } cases[] = {
        {"conv3x3:4,relu,flatten,dense:10,softmax", 3, 0, "conv1 (Conv2D 3x3/1 relu)"},
        {"relu,flatten,dense:10,softmax", 3, 1, "relu1 (ReLU)"},
        {"conv3x3:4,flatten,relu,dense:10,softmax", 4, 1, "relu1 (ReLU)"},
        {"flatten,dense:20,relu,dense:10,softmax", 3, 0, "dense1 (Dense relu)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cnn_model *m = NULL;
        int st = cnn_model_create(cases[i].spec, 28, 28, 1, 10, &m);
        CHECK(st == CNN_OK, "%s: %s", cases[i].spec, cnn_last_error());
        if (!m)
            continue;
        int relus = 0;
        for (int l = 0; l < m->nlayers; l++) {
            cnn_layer_info info;
            cnn_model_layer(m, l, &info);
            relus += !strcmp(info.keras, "ReLU");
            CHECK(cnn_layer_out_size(&m->layers[l]) ==
                      (m->layers[l].op->alias ? 0 : (size_t)info.out_h * info.out_w * info.out_c),
                  "%s: layer %d output size", cases[i].spec, l);
        }
        char table[4096];
        cnn_model_summary(m, table, sizeof table);
        CHECK(m->nlayers == cases[i].layers && relus == cases[i].relu_layers &&
                  strstr(table, cases[i].row) && !strcmp(cnn_model_spec(m), cases[i].spec),
              "%s: %d layers, %d ReLU layers:\n%s", cases[i].spec, m->nlayers, relus, table);
        cnn_model_free(m);
    }
    cnn_model *m = NULL;
    CHECK(cnn_model_create("conv3x3:8,relu,relu,flatten,dense:10,softmax", 28, 28, 1, 10,
                           &m) == CNN_ERR_SPEC &&
              strstr(cnn_last_error(), "item 3: relu directly after relu"),
          "relu,relu: %s", cnn_last_error());
    cnn_model_free(m);
}

/* The per-sample stream depends on (seed, step, sample) only, each of them. */
static void sample_streams_follow_seed_step_and_sample(void)
{
    cnn_rng a, b;
    cnn_rng_sample(&a, 5, 7, 9);
    cnn_rng_sample(&b, 5, 7, 9);
    int same = 1;
    for (int i = 0; i < 8; i++)
        same &= cnn_rng_next(&a) == cnn_rng_next(&b);
    CHECK(same, "the same triple gives different streams");
    static const uint64_t other[][3] = {{6, 7, 9}, {5, 8, 9}, {5, 7, 10}, {7, 5, 9}, {9, 7, 5}};
    for (size_t k = 0; k < sizeof other / sizeof *other; k++) {
        cnn_rng_sample(&a, 5, 7, 9);
        cnn_rng_sample(&b, other[k][0], other[k][1], other[k][2]);
        int agree = 0;
        for (int i = 0; i < 64; i++)
            agree += cnn_rng_next(&a) == cnn_rng_next(&b);
        CHECK(agree < 3, "(5,7,9) and (%llu,%llu,%llu) agree %d times",
              (unsigned long long)other[k][0], (unsigned long long)other[k][1],
              (unsigned long long)other[k][2], agree);
    }
    cnn_pass_ctx ctx = {.training = 1, .step = 7, .seed = 5, .first = 4};
    cnn_pass_sample_rng(&ctx, 5, &a);
    cnn_rng_sample(&b, 5, 7, 9);
    CHECK(cnn_rng_next(&a) == cnn_rng_next(&b), "the context's sample 5 is not sample 9");
}

/* 65536-channel layers: 39 billion parameters (145 GiB), and a dense layer
   of a million units on top of them: 54 trillion (196 TiB, more than any
   machine's memory). */
#define WIDE_SPEC "conv3x3:65536,relu,conv3x3:65536,flatten,dense:10,softmax"
#define HUGE_SPEC "conv3x3:65536:same,flatten,dense:1048576,softmax"

/* A described model has its layers, shapes, counts and summary, and no
   parameter block, whatever its size. */
static void describe_allocates_nothing(void)
{
    cnn_model *m = NULL;
    CHECK(cnn_model_describe(WIDE_SPEC, 28, 28, 1, 0, &m) == CNN_OK, "%s", cnn_last_error());
    if (!m)
        return;
    CHECK(cnn_model_params(m) == NULL, "a described model has a parameter block");
    CHECK(cnn_model_param_count(m) == 39032913930ull, "%zu parameters",
          cnn_model_param_count(m));
    cnn_layer_info L;
    CHECK(cnn_model_layer(m, 1, &L) == CNN_OK && L.out_c == 65536 && L.out_h == 24 &&
          L.params == 38654771200ull, "conv2: %d %d %zu", L.out_c, L.out_h, L.params);
    char buf[4096];
    cnn_model_summary(m, buf, sizeof buf);
    CHECK(strstr(buf, "Total params: 39,032,913,930") && strstr(buf, "(None, 24, 24, 65536)"),
          "summary:\n%s", buf);
    cnn_model_free(m);

    /* Small: the same description as a created model, then parameters. */
    cnn_model *a = NULL, *d = NULL;
    cnn_model_create("seed", 28, 28, 1, 10, &a);
    CHECK(cnn_model_describe("seed", 28, 28, 1, 10, &d) == CNN_OK, "%s", cnn_last_error());
    if (!a || !d)
        goto done;
    char sa[4096], sd[4096];
    cnn_model_summary(a, sa, sizeof sa);
    cnn_model_summary(d, sd, sizeof sd);
    CHECK(strcmp(sa, sd) == 0 && d->block == a->block, "description differs");
    CHECK(cnn_model_params(d) == NULL, "a described seed model has a parameter block");
    CHECK(cnn_model_alloc(d) == CNN_OK && d->params, "alloc: %s", cnn_last_error());
    float *p = d->params;
    size_t zero = 0;
    for (size_t i = 0; i < d->block; i++)
        zero += p[i] == 0;
    CHECK(zero == d->block, "a new block is not zero");
    CHECK(cnn_model_alloc(d) == CNN_OK && d->params == p, "a second alloc replaced the block");
    cnn_model_free(d);
    /* cnn_model_init allocates a described model's block first. */
    d = NULL;
    cnn_model_describe("seed", 28, 28, 1, 10, &d);
    CHECK(d && cnn_model_init(d, 7) == CNN_OK && cnn_model_init(a, 7) == CNN_OK,
          "init: %s", cnn_last_error());
    CHECK(d && d->params && memcmp(d->params, a->params, a->block * sizeof(float)) == 0,
          "init of a described model differs");
done:
    cnn_model_free(a);
    cnn_model_free(d);
}

/* A parameter block beyond the machine's physical memory is refused before
   it is allocated, the message naming both sizes. */
static void parameter_block_bounded_by_memory(void)
{
    uint64_t phys = cnn_mem_physical();
    CHECK(phys > 0, "physical memory unknown");
    cnn_model *m = (cnn_model *)1;
    int st = cnn_model_create(HUGE_SPEC, 28, 28, 1, 0, &m);
    const char *msg = cnn_last_error();
    char have[64];
    cnn_mem_format(phys, have, sizeof have);
    CHECK(st == CNN_ERR_NOMEM && !m, "create: %d %s", st, msg);
    CHECK(strstr(msg, "model needs 196.0 TiB for its 53,876,071,464,960 parameters") &&
          strstr(msg, "more than this machine's") && strstr(msg, have),
          "message: %s (memory %s)", msg, have);
    m = NULL;
    CHECK(cnn_model_describe(HUGE_SPEC, 28, 28, 1, 0, &m) == CNN_OK, "%s", cnn_last_error());
    if (m) {
        CHECK(cnn_model_alloc(m) == CNN_ERR_NOMEM && !cnn_model_params(m), "alloc: %s",
              cnn_last_error());
        CHECK(cnn_model_init(m, 1) == CNN_ERR_NOMEM, "init: %s", cnn_last_error());
    }
    cnn_model_free(m);
    char b[32];
    cnn_mem_format(512, b, sizeof b);
    CHECK(!strcmp(b, "512 bytes"), "%s", b);
    cnn_mem_format(3ull << 30, b, sizeof b);
    CHECK(!strcmp(b, "3.0 GiB"), "%s", b);
}

TEST_TABLE(model,
           {"presets_have_notebook_param_counts", presets_have_notebook_param_counts},
           {"same_padding_follows_tensorflow", same_padding_follows_tensorflow},
           {"bad_specs_are_rejected", bad_specs_are_rejected},
           {"spec_round_trips_and_spaces", spec_round_trips_and_spaces},
           {"summary_lists_layers_and_total", summary_lists_layers_and_total},
           {"glorot_init_is_seeded_and_bounded", glorot_init_is_seeded_and_bounded},
           {"rng_streams_are_independent_and_uniform", rng_streams_are_independent_and_uniform},
           {"describe_allocates_nothing", describe_allocates_nothing},
           {"parameter_block_bounded_by_memory", parameter_block_bounded_by_memory},
           {"every_kind_round_trips", every_kind_round_trips},
           {"relu_fuses_or_stands_alone", relu_fuses_or_stands_alone},
           {"sample_streams_follow_seed_step_and_sample",
            sample_streams_follow_seed_step_and_sample})
