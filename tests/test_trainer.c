/*
 * test_trainer.c — the trainer: Adam against a double-precision formula,
 * bitwise reproducibility for a seed and thread count, agreement between
 * thread counts, step limits, cancellation, bad configurations, and a short
 * run on real MNIST that must reach a stated test accuracy.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adam.h"
#include "cnn.h"
#include "dispatch.h"
#include "model.h"
#include "tests.h"

/* A learnable synthetic set: class = brightest of `classes` vertical bands. */
static cnn_dataset *synthetic(int count, int h, int w, int classes)
{
    cnn_dataset *ds = calloc(1, sizeof *ds);
    ds->count = count;
    ds->height = h, ds->width = w, ds->channels = 1;
    ds->classes = classes;
    ds->images = malloc((size_t)count * h * w);
    ds->labels = malloc((size_t)count);
    uint64_t s = 5;
    for (int i = 0; i < count; i++) {
        int label = i % classes;
        ds->labels[i] = (uint8_t)label;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                int noise = (int)(s >> 58);
                int band = x * classes / w;
                ds->images[((size_t)i * h + y) * w + x] =
                    (uint8_t)(noise + (band == label ? 180 : 20));
            }
    }
    return ds;
}

static void adam_matches_keras_formula(void)
{
    enum { P = 300, T = 3 };
    float params[P], m[P] = {0}, v[P] = {0}, *g[T];
    double pd[P], md[P] = {0}, vd[P] = {0};
    uint64_t s = 1;
    test_fill_uniform(params, P, -1, 1, &s);
    for (int i = 0; i < P; i++)
        pd[i] = params[i];
    for (int t = 0; t < T; t++)
        g[t] = malloc(P * sizeof(float));
    cnn_adam a = {0.001f, 0.9f, 0.999f, 1e-7f, 0, m, v};
    for (long step = 1; step <= 5; step++) {
        double gsum[P] = {0};
        for (int t = 0; t < T; t++) {
            test_fill_uniform(g[t], P, -0.5f, 0.5f, &s);
            for (int i = 0; i < P; i++)
                gsum[i] += g[t][i];
        }
        CHECK(cnn_adam_reduce(g, T, 0, P) == -1, "finite gradients reported non-finite");
        cnn_adam_update(&a, cnn_adam_step_size(&a, step), params, g[0], 0, P);
        double lr_t = 0.001 * sqrt(1 - pow(0.999, step)) / (1 - pow(0.9, step));
        for (int i = 0; i < P; i++) {
            md[i] = 0.9 * md[i] + 0.1 * gsum[i];
            vd[i] = 0.999 * vd[i] + 0.001 * gsum[i] * gsum[i];
            pd[i] -= lr_t * md[i] / (sqrt(vd[i]) + 1e-7);
        }
        for (int t = 0; t < T; t++)
            for (int i = 0; i < P; i++)
                CHECK(g[t][i] == 0, "gradient buffer %d not cleared", t);
    }
    size_t at;
    float pf[P];
    for (int i = 0; i < P; i++)
        pf[i] = (float)pd[i];
    double err = test_max_rel_err(params, pf, P, &at);
    CHECK(err < 1e-5, "parameter %zu: %g vs %g", at, params[at], pf[at]);
    for (int t = 0; t < T; t++)
        free(g[t]);
}

static int train_copy(const char *spec, const cnn_dataset *ds, int threads, long steps,
                      int batch, float *out, size_t *n)
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
    st = cnn_train(m, ds, &cfg, NULL);
    *n = m->block;
    memcpy(out, m->params, m->block * sizeof(float));
    cnn_model_free(m);
    return st;
}

static void same_seed_and_threads_are_bitwise_identical(void)
{
    cnn_dataset *ds = synthetic(200, 12, 12, 4);
    const char *spec = "conv3x3:8:same,relu,conv1x1:4,relu,conv3x3s2:8:same,relu,flatten,"
                       "dense:4,softmax";
    static float a[1 << 14], b[1 << 14], c[1 << 14];
    size_t n;
    for (int threads = 1; threads <= 3; threads++) {
        CHECK(train_copy(spec, ds, threads, 25, 16, a, &n) == CNN_OK, "%s", cnn_last_error());
        CHECK(train_copy(spec, ds, threads, 25, 16, b, &n) == CNN_OK, "%s", cnn_last_error());
        CHECK(memcmp(a, b, n * sizeof(float)) == 0, "%d threads: runs differ", threads);
    }
    /* Other thread counts sum in another order: close, not identical. */
    train_copy(spec, ds, 1, 25, 16, a, &n);
    train_copy(spec, ds, 3, 25, 16, c, &n);
    size_t at;
    double err = test_max_rel_err(c, a, n, &at);
    CHECK(err < 1e-3, "1 vs 3 threads: parameter %zu %g vs %g", at, c[at], a[at]);
    cnn_dataset_free(ds);
}

static void learns_synthetic_data(void)
{
    cnn_dataset *ds = synthetic(512, 12, 12, 4);
    cnn_model *m = NULL;
    cnn_model_create("conv3x3:8:same,relu,conv3x3s2:8:same,relu,flatten,dense:4,softmax", 12,
                     12, 1, 4, &m);
    cnn_model_init(m, 1);
    cnn_eval_result before, after;
    cnn_evaluate(m, ds, 2, &before);
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.epochs = 10;
    cfg.validation = ds;
    cnn_train_result r;
    CHECK(cnn_train(m, ds, &cfg, &r) == CNN_OK, "%s", cnn_last_error());
    CHECK(r.steps == 10 * 16, "steps %ld", r.steps);
    cnn_evaluate(m, ds, 2, &after);
    /* The trainer's own validation after the last epoch is the evaluation
       of the final weights, summed in the same order. */
    CHECK(r.validated && r.val_loss == after.loss && r.val_accuracy == after.accuracy,
          "validation %g/%g vs evaluation %g/%g", r.val_loss, r.val_accuracy, after.loss,
          after.accuracy);
    CHECK(after.loss < 0.5 * before.loss, "loss %g -> %g", before.loss, after.loss);
    CHECK(after.accuracy > 0.95, "accuracy %g", after.accuracy);
    long total = 0;
    for (int i = 0; i < 16; i++)
        total += after.confusion[i];
    CHECK(total == 512, "confusion sums to %ld", total);
    cnn_eval_result_free(&before);
    cnn_eval_result_free(&after);
    cnn_model_free(m);
    cnn_dataset_free(ds);
}

static int cancel_at_three(const cnn_progress *p)
{
    return p->global_step >= 3;
}

static volatile sig_atomic_t cancel_flag;
static void progress_cancel(const cnn_progress *p, void *user)
{
    (void)user;
    if (cancel_at_three(p))
        cancel_flag = 1;
}

static void steps_cancel_and_bad_configs(void)
{
    cnn_dataset *ds = synthetic(100, 8, 8, 2);
    cnn_model *m = NULL;
    cnn_model_create("flatten,dense:2,softmax", 8, 8, 1, 2, &m);
    cnn_model_init(m, 1);
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cnn_train_result r;
    cfg.max_steps = 7;
    CHECK(cnn_train(m, ds, &cfg, &r) == CNN_OK && r.steps == 7, "steps %ld", r.steps);
    cfg.max_steps = 0;
    cfg.batch = 30; /* 100 images: 4 steps per epoch, the last of 10 images */
    cfg.epochs = 2;
    CHECK(cnn_train(m, ds, &cfg, &r) == CNN_OK && r.steps == 8, "steps %ld", r.steps);
    cfg.progress = progress_cancel;
    cfg.cancel = &cancel_flag;
    CHECK(cnn_train(m, ds, &cfg, &r) == CNN_ERR_CANCELLED, "not cancelled");
    cfg.progress = NULL;
    cfg.cancel = NULL;
    cfg.batch = 0;
    CHECK(cnn_train(m, ds, &cfg, &r) == CNN_ERR_ARG, "batch 0 accepted");
    cfg.batch = 32;
    cfg.lr = -1;
    CHECK(cnn_train(m, ds, &cfg, &r) == CNN_ERR_ARG, "negative lr accepted");
    cfg.lr = 0.001f;
    m->params[5] = NAN; /* a poisoned weight must stop training at once */
    CHECK(cnn_train(m, ds, &cfg, &r) == CNN_ERR_NONFINITE && r.steps == 0, "NaN weight: %s",
          cnn_last_error());
    cnn_model_free(m);
    cnn_model_create("flatten,dense:2,softmax", 4, 4, 1, 2, &m);
    cfg.lr = 0.001f;
    CHECK(cnn_train(m, ds, &cfg, &r) == CNN_ERR_MISMATCH, "wrong image size accepted");
    cnn_model_free(m);
    cnn_dataset_free(ds);
}

/* 600 steps of batch 32 (19,200 images, a third of an epoch) on real MNIST
   with the notebook's recipe must reach 94% test accuracy (measured at the
   default seed: 94.99%; `./cnn train --steps 600` shows it), with every
   kernel set the CPU supports (the naive reference excepted: too slow), and
   the sets must agree within half a point. */
static void short_mnist_run_reaches_94_percent_with_every_set(void)
{
    const char *dir = test_mnist_dir();
    if (!dir) {
        test_skip("no MNIST in data/mnist (run make data)");
        return;
    }
    cnn_dataset *train = NULL, *test = NULL;
    CHECK(cnn_dataset_load_dir(dir, "train", 10, &train) == CNN_OK, "%s", cnn_last_error());
    CHECK(cnn_dataset_load_dir(dir, "test", 10, &test) == CNN_OK, "%s", cnn_last_error());
    const cnn_kernel_table *sets[8];
    int nsets = cnn_kernels_available(sets, 8);
    double lo = 1, hi = 0;
    for (int t = 0; t < nsets && t < 8 && train && test; t++) {
        if (sets[t] == &cnn_kernels_ref)
            continue;
        cnn_model *m = NULL;
        if (cnn_model_create("seed", 28, 28, 1, 10, &m) != CNN_OK ||
            cnn_model_set_isa(m, sets[t]->isa) != CNN_OK) {
            CHECK(0, "%s: %s", sets[t]->isa, cnn_last_error());
            cnn_model_free(m);
            continue;
        }
        cnn_model_init(m, 1151998);
        cnn_train_config cfg;
        cnn_train_config_default(&cfg);
        cfg.max_steps = 600;
        CHECK(cnn_train(m, train, &cfg, NULL) == CNN_OK, "%s", cnn_last_error());
        cnn_eval_result r;
        CHECK(cnn_evaluate(m, test, 0, &r) == CNN_OK, "%s", cnn_last_error());
        CHECK(r.accuracy >= 0.94, "%s: test accuracy %.4f after 600 steps", sets[t]->isa,
              r.accuracy);
        fprintf(stderr, "  %s, 600 steps: test loss %.4f, accuracy %.4f\n", sets[t]->isa,
                r.loss, r.accuracy);
        lo = r.accuracy < lo ? r.accuracy : lo;
        hi = r.accuracy > hi ? r.accuracy : hi;
        cnn_eval_result_free(&r);
        cnn_model_free(m);
    }
    CHECK(hi - lo <= 0.005, "kernel sets disagree: accuracy %.4f to %.4f", lo, hi);
    cnn_dataset_free(train);
    cnn_dataset_free(test);
}

TEST_TABLE(trainer, {"adam_matches_keras_formula", adam_matches_keras_formula},
           {"same_seed_and_threads_are_bitwise_identical",
            same_seed_and_threads_are_bitwise_identical},
           {"learns_synthetic_data", learns_synthetic_data},
           {"steps_cancel_and_bad_configs", steps_cancel_and_bad_configs},
           {"short_mnist_run_reaches_94_percent_with_every_set",
            short_mnist_run_reaches_94_percent_with_every_set})
