/*
 * test_bn.c — batch normalisation (src/layers/bn.c, kernels/bn.h) in the
 * trainer (its kernels: test_layer_kernels.c): the same bits for
 * any thread count (short batches, idle threads, bn on images and on
 * vectors), the trainer's step against the gradient of the whole batch in
 * one call, the moving statistics after a step, inference that treats one
 * image alone as in a batch, and the buffers through save and load.
 * (Finite differences of bn's gradients: test_gradient's guard.)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bn.h"
#include "cnn.h"
#include "model.h"
#include "tests.h"
#include "workspace.h"

/* A learnable synthetic square set (test_bands, noise seed 7). */
static cnn_dataset *bands(int count, int side, int classes)
{
    return test_bands(count, side, side, classes, 7);
}

/* Train spec on ds from seed 11 (shuffled) and keep the block. */
static int train_block(const char *spec, const cnn_dataset *ds, int threads, long steps,
                       int batch, const char *optimizer, float lr, float **out, size_t *n)
{
    cnn_model *m = NULL;
    int st = cnn_model_create(spec, ds->height, ds->width, 1, ds->classes, &m);
    if (st != CNN_OK)
        return st;
    cnn_model_init(m, 11);
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.threads = threads;
    cfg.max_steps = steps;
    cfg.batch = batch;
    cfg.epochs = 100;
    cfg.optimizer = optimizer;
    if (lr > 0)
        cfg.lr = lr;
    st = cnn_train(m, ds, &cfg, NULL);
    *n = m->block;
    *out = malloc(m->block * sizeof(float));
    memcpy(*out, m->params, m->block * sizeof(float));
    cnn_model_free(m);
    return st;
}

/* Batch norm after convolutions and dense layers, on the images, with a
   short last batch (200 = 12 * 16 + 8) and with more threads than images
   (batch 5 on up to 6 threads; 3 under a sanitizer, where LLVM's libomp
   leaks as teams grow): the same bits for every thread count. */
static void same_bits_for_any_thread_count(void)
{
    static const struct { const char *spec; int batch; } cases[] = {
        {"conv3x3:8:same,bn,relu,conv3x3s2:8:same,bn,relu,flatten,dense:16,bn,relu,dense:4,"
         "softmax", 16},
        {"bn,conv3x3:4,bn,flatten,dense:4,softmax", 5},
        {"conv3x3:8:same,relu,flatten,dense:256,bn,relu,dense:4,softmax", 16},
    };
    cnn_dataset *ds = bands(200, 12, 4);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        float *a = NULL, *b = NULL;
        size_t n;
        CHECK(train_block(cases[c].spec, ds, 1, 30, cases[c].batch, NULL, 0, &a, &n) == CNN_OK,
              "%s", cnn_last_error());
        for (int T = 2; T <= (SANITIZED ? 3 : 6); T++) {
            CHECK(train_block(cases[c].spec, ds, T, 30, cases[c].batch, NULL, 0, &b, &n) ==
                      CNN_OK, "%s", cnn_last_error());
            CHECK(a && b && !memcmp(a, b, n * sizeof(float)), "%s: 1 and %d threads differ",
                  cases[c].spec, T);
            free(b);
        }
        free(a);
    }
    cnn_dataset_free(ds);
}

/* The bn preset on 28x28 images at its batch (64): its stages run in
   groups of a few images (several per share at 1 to 3 threads), with a
   short last batch (250 = 3 * 64 + 58): the same bits for each. */
static void preset_in_groups_same_bits(void)
{
    const char *spec = cnn_model_preset("bn");
    cnn_dataset *ds = bands(250, 28, 10);
    float *a = NULL, *b = NULL;
    size_t n;
    CHECK(train_block(spec, ds, 1, 8, 64, NULL, 0, &a, &n) == CNN_OK, "%s", cnn_last_error());
    for (int T = 2; T <= 3; T++) {
        CHECK(train_block(spec, ds, T, 8, 64, NULL, 0, &b, &n) == CNN_OK, "%s",
              cnn_last_error());
        CHECK(a && b && !memcmp(a, b, n * sizeof(float)), "bn preset: 1 and %d threads differ",
              T);
        free(b);
    }
    free(a);
    cnn_dataset_free(ds);
}

/* One SGD step (lr 1, no momentum) on 3 threads moves each parameter by
   the gradient of the whole batch made in one call (whose statistics are
   its own), and the moving statistics by 1 - momentum towards the
   batch's. */
static void step_is_the_whole_batch_gradient(void)
{
    const char *spec = "conv3x3:4:same,bn,relu,flatten,dense:6,bn,relu,dense:3,softmax";
    cnn_dataset *ds = bands(48, 8, 3);
    ds->count = 12; /* one batch: the first 12 images (the only ones) */
    float *after = NULL;
    size_t n;
    CHECK(train_block(spec, ds, 3, 1, 12, "sgd", 1.0f, &after, &n) == CNN_OK, "%s",
          cnn_last_error());
    cnn_model *m = NULL;
    cnn_model_create(spec, 8, 8, 1, 3, &m);
    cnn_model_init(m, 11);
    /* The step's order: the trainer's shuffle of 12 images, from the seed;
       the gradient of a mean does not depend on the order. */
    int32_t order[12];
    for (int i = 0; i < 12; i++)
        order[i] = i;
    const int k = 12;
    float *x = malloc((size_t)k * 64 * 4), *acts = calloc((size_t)k * m->act_floats, 4);
    float *scratch = calloc(2 * (size_t)k * m->max_act, 4), *dl = calloc(k * 3, 4);
    float *g = calloc(m->block, 4), *packed = aligned_alloc(64, (m->block * 4 + 63) & ~63ul);
    cnn_gather_images(m, ds->images, order, 0, k, x);
    const cnn_pass_ctx training = {.training = 1};
    cnn_model_pack(m, packed);
    const float *z = cnn_model_forward_ctx(m, &training, k, x, acts);
    for (int i = 0; i < k; i++) {
        cnn_softmax_xent(z + i * 3, 3, ds->labels[i], dl + i * 3);
        dl[i * 3 + ds->labels[i]] -= 1;
        for (int c = 0; c < 3; c++)
            dl[i * 3 + c] /= (float)k;
    }
    cnn_model_backward_ctx(m, &training, k, x, acts, dl, g, packed, scratch);
    cnn_tensor_info t[16];
    int nt = cnn_model_tensors(m, t, 16), off = 0;
    for (int j = 0; j < nt && after; j++)
        for (size_t i = 0; i < t[j].count; i++) {
            size_t at = t[j].offset + i;
            float want = t[j].role == CNN_TENSOR_PARAM ? m->params[at] - g[at] : m->params[at];
            if (strstr(t[j].name, "moving_mean")) /* 0.99 * 0 + 0.01 * mean */
                want = 0; /* checked below */
            if (!strstr(t[j].name, "moving_") && fabsf(after[at] - want) > 1e-5f * (1 + fabsf(want)) &&
                off++ < 5)
                CHECK(0, "%s[%zu]: step %g, whole batch %g", t[j].name, i, after[at], want);
        }
    CHECK(off == 0, "%d parameters off", off);
    /* bn1's moving mean: 0.01 * the mean of conv1's output per channel. */
    const float *y = acts + (size_t)k * m->layers[0].act_off;
    for (int c = 0; c < 4 && after; c++) {
        double mean = 0;
        for (int p = 0; p < k * 64; p++)
            mean += y[(size_t)p * 4 + c];
        mean /= k * 64;
        float got = after[m->layers[1].t_off[2] + c];
        CHECK(fabs(got - 0.01 * mean) < 1e-6 + 1e-4 * fabs(mean), "bn1.moving_mean[%d] %g, "
              "want %g", c, got, 0.01 * mean);
    }
    free(after), free(x), free(acts), free(scratch), free(dl), free(g), free(packed);
    cnn_model_free(m);
    ds->count = 48;
    cnn_dataset_free(ds);
}

/* Inference normalises with the moving statistics: an image alone gets
   the bits it gets inside a batch; the buffers survive save and load. */
static void inference_and_buffers(void)
{
    const char *spec = "conv3x3:4:same,bn,relu,flatten,dense:6,bn,relu,dense:3,softmax";
    cnn_dataset *ds = bands(96, 8, 3);
    cnn_model *m = NULL;
    cnn_model_create(spec, 8, 8, 1, 3, &m);
    cnn_model_init(m, 5);
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.threads = 2;
    cfg.epochs = 2;
    cfg.batch = 8;
    CHECK(cnn_train(m, ds, &cfg, NULL) == CNN_OK, "%s", cnn_last_error());
    const cnn_layer *B = &m->layers[1];
    CHECK(m->params[B->t_off[2]] != 0 && m->params[B->t_off[3]] != 1,
          "moving statistics did not move");
    int32_t order[5] = {0, 1, 2, 3, 4};
    float x[5 * 64], *acts = calloc(5 * m->act_floats, 4), *one = calloc(m->act_floats, 4);
    cnn_gather_images(m, ds->images, order, 0, 5, x);
    const float *z = cnn_model_forward(m, 5, x, acts);
    const float *z3 = cnn_model_forward(m, 1, x + 3 * 64, one);
    CHECK(!memcmp(z + 3 * 3, z3, 3 * 4), "image 3 alone differs from inside the batch");
    char path[] = "/tmp/cnn-bn-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK(cnn_model_save(m, path) == CNN_OK, "%s", cnn_last_error());
    cnn_model *back = NULL;
    cnn_model_create(spec, 8, 8, 1, 3, &back);
    CHECK(back && cnn_model_load(back, path) == CNN_OK, "%s", cnn_last_error());
    CHECK(back && back->block == m->block &&
              !memcmp(back->params, m->params, m->block * sizeof(float)),
          "save and load changed the block");
    CHECK(cnn_model_buffer_count(m) == 2 * 4 + 2 * 6, "buffers %zu", cnn_model_buffer_count(m));
    unlink(path);
    cnn_model_free(back);
    cnn_model_free(m);
    free(acts), free(one);
    cnn_dataset_free(ds);
}

/* Stopped after 13 steps, saved to a checkpoint, loaded and resumed: the
   same bits as the run that never stopped (the moving statistics are
   buffers in the checkpoint). */
static void checkpoint_resumes_bitwise(void)
{
    const char *spec = "conv3x3:4:same,bn,relu,flatten,dense:6,bn,relu,dense:3,softmax";
    cnn_dataset *ds = bands(96, 8, 3);
    float *whole = NULL;
    for (int part = 0; part < 2; part++) {
        cnn_model *m = NULL;
        cnn_train_state *s = NULL;
        cnn_model_create(spec, 8, 8, 1, 3, &m);
        cnn_model_init(m, 5);
        cnn_train_state_create(&s);
        cnn_train_config cfg;
        cnn_train_config_default(&cfg);
        cfg.threads = 2, cfg.epochs = 2, cfg.batch = 8, cfg.state = s;
        cfg.max_steps = part ? 13 : 0;
        CHECK(cnn_train(m, ds, &cfg, NULL) == CNN_OK, "%s", cnn_last_error());
        if (part) {
            char path[] = "/tmp/cnn-bn-ck-XXXXXX";
            close(mkstemp(path));
            CHECK(cnn_checkpoint_save(m, s, path) == CNN_OK, "%s", cnn_last_error());
            cnn_model_free(m);
            cnn_train_state_free(s);
            CHECK(cnn_checkpoint_load(path, &m, &s) == CNN_OK, "%s", cnn_last_error());
            unlink(path);
            cfg.state = s, cfg.max_steps = 0;
            CHECK(m && cnn_train(m, ds, &cfg, NULL) == CNN_OK, "%s", cnn_last_error());
            CHECK(m && whole && !memcmp(whole, m->params, m->block * sizeof(float)),
                  "resumed run differs from the whole one");
        } else {
            whole = malloc(m->block * sizeof(float));
            memcpy(whole, m->params, m->block * sizeof(float));
        }
        cnn_model_free(m);
        cnn_train_state_free(s);
    }
    free(whole);
    cnn_dataset_free(ds);
}

/* The issue's model (conv5x5, bn, pools, dropout, gap) with augmentation
   and label smoothing: 60 steps give the same bytes on 1, 2 and 3
   threads. */
static void issue_model_with_recipe_same_bits(void)
{
    const char *spec = "conv5x5:8:same,bn,relu,maxpool2,dropout:0.25,conv3x3:16:same,bn,relu,"
                       "avgpool2,gap,dense:10,softmax";
    cnn_dataset *ds = bands(300, 28, 10);
    float *first = NULL;
    for (int T = 1; T <= 3; T++) {
        cnn_model *m = NULL;
        CHECK(cnn_model_create(spec, 28, 28, 1, 10, &m) == CNN_OK, "%s", cnn_last_error());
        cnn_model_init(m, 3);
        cnn_train_config cfg;
        cnn_train_config_default(&cfg);
        cfg.threads = T, cfg.max_steps = 60, cfg.batch = 16, cfg.epochs = 10;
        cfg.augment = "shift=2,rotate=10,zoom=0.1";
        cfg.label_smoothing = 0.1f;
        CHECK(cnn_train(m, ds, &cfg, NULL) == CNN_OK, "%s", cnn_last_error());
        if (!first) {
            first = malloc(m->block * sizeof(float));
            memcpy(first, m->params, m->block * sizeof(float));
        } else {
            CHECK(!memcmp(first, m->params, m->block * sizeof(float)),
                  "1 and %d threads differ", T);
        }
        cnn_model_free(m);
    }
    free(first);
    cnn_dataset_free(ds);
}

/* bn's settings are written back in digits that read back as the same
   floats (the spec is what weights and checkpoints keep), defaults
   dropped. */
static void settings_round_trip_exactly(void)
{
    static const struct { const char *in, *out; } cases[] = {
        {"bn:0.1234567:0.00123456789", "bn:0.1234567:0.0012345678"},
        {"bn:0.99:0.001", "bn"},
        {"bn:0.9", "bn:0.9"},
        {"bn:0.99:1e-05", "bn:0.99:1e-05"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char spec[128];
        snprintf(spec, sizeof spec, "conv3x3:4,%s,flatten,dense:3,softmax", cases[i].in);
        cnn_model *a = NULL, *b = NULL;
        CHECK(cnn_model_create(spec, 6, 6, 1, 3, &a) == CNN_OK, "%s", cnn_last_error());
        if (!a)
            continue;
        char want[128];
        snprintf(want, sizeof want, "conv3x3:4,%s,flatten,dense:3,softmax", cases[i].out);
        CHECK(!strcmp(cnn_model_spec(a), want), "%s written as %s", spec, cnn_model_spec(a));
        CHECK(cnn_model_create(cnn_model_spec(a), 6, 6, 1, 3, &b) == CNN_OK, "%s",
              cnn_last_error());
        CHECK(b && !memcmp(a->layers[1].farg, b->layers[1].farg, sizeof a->layers[1].farg),
              "%s: settings changed through the canonical spec", spec);
        cnn_model_free(a);
        cnn_model_free(b);
    }
}

TEST_TABLE(bn,
           {"same_bits_for_any_thread_count", same_bits_for_any_thread_count},
           {"preset_in_groups_same_bits", preset_in_groups_same_bits},
           {"step_is_the_whole_batch_gradient", step_is_the_whole_batch_gradient},
           {"inference_and_buffers", inference_and_buffers},
           {"checkpoint_resumes_bitwise", checkpoint_resumes_bitwise},
           {"issue_model_with_recipe_same_bits", issue_model_with_recipe_same_bits},
           {"settings_round_trip_exactly", settings_round_trip_exactly})
