/*
 * test_trainer.c — the trainer (the optimizers against their formulas are
 * in test_optim.c): bitwise reproducibility for a seed and thread count, agreement between
 * thread counts, step limits, cancellation, bad configurations, buffers and
 * threads sized by the work (a batch beyond the data set, thousands of
 * threads, OMP_NUM_THREADS), the memory bound, and a short run on real
 * MNIST that must reach a stated test accuracy.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "dispatch.h"
#include "model.h"
#include "omp_env.h"
#include "tests.h"
#include "trainer.h"
#include "threads.h"
#include "workspace.h"

/* The learnable synthetic set of these tests (test_bands, noise seed 5). */
static cnn_dataset *synthetic(int count, int h, int w, int classes)
{
    return test_bands(count, h, w, classes, 5);
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
    static float a[1 << 14], b[1 << 14];
    size_t n;
    /* The same bits for any thread count (the batch of 16 and the last,
       short one of 8 included: 200 = 12 * 16 + 8). */
    CHECK(train_copy(spec, ds, 1, 25, 16, a, &n) == CNN_OK, "%s", cnn_last_error());
    for (int threads = 1; threads <= 3; threads++) {
        CHECK(train_copy(spec, ds, threads, 25, 16, b, &n) == CNN_OK, "%s", cnn_last_error());
        CHECK(memcmp(a, b, n * sizeof(float)) == 0, "1 and %d threads differ", threads);
    }
    cnn_dataset_free(ds);
}

/* An owner-computed (dense) gradient is made after the step is agreed
   finite, fused with the update, when its inputs bound it; else before, and
   checked.  Both ways give the same bits. */
static void owner_gradient_fused_or_checked_same_bits(void)
{
    cnn_dataset *ds = synthetic(200, 12, 12, 4);
    const char *spec = "conv3x3:8:same,relu,flatten,dense:24,relu,dense:4,softmax";
    static float a[1 << 15], b[1 << 15];
    size_t n;
    CHECK(train_copy(spec, ds, 2, 20, 16, a, &n) == CNN_OK, "%s", cnn_last_error());
    const double bound = cnn_train_owner_bound;
    cnn_train_owner_bound = 0; /* never bounded: computed before the agreement */
    CHECK(train_copy(spec, ds, 2, 20, 16, b, &n) == CNN_OK, "%s", cnn_last_error());
    cnn_train_owner_bound = bound;
    CHECK(memcmp(a, b, n * sizeof(float)) == 0, "fused and checked owner gradients differ");
    cnn_dataset_free(ds);
}


/* The paths MNIST's 60 full steps miss: a big dense layer splitting the
   model (run over whole shares) with a short last batch, threads with no
   image in a step (batch 7 on up to 6 threads, short batch 4), and a big
   dense layer on the images themselves (no layer before it). */
static void split_short_batch_and_idle_threads_same_bits(void)
{
    static const struct { const char *spec; int side, batch; } cases[] = {
        {"conv3x3:8:same,relu,flatten,dense:256,relu,dense:4,softmax", 12, 16},
        {"conv3x3:8:same,relu,flatten,dense:256,relu,dense:4,softmax", 12, 7},
        {"flatten,dense:512,relu,dense:4,softmax", 24, 16},
        {"conv3x3:8:same,relu,conv3x3s2:8:same,relu,flatten,dense:4,softmax", 12, 7},
    };
    static float a[1 << 19], b[1 << 19];
    const int most = SANITIZED ? 3 : 6;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        cnn_dataset *ds = synthetic(200, cases[c].side, cases[c].side, 4);
        size_t n;
        CHECK(train_copy(cases[c].spec, ds, 1, 40, cases[c].batch, a, &n) == CNN_OK, "%s",
              cnn_last_error());
        for (int T = 2; T <= most; T++) {
            CHECK(train_copy(cases[c].spec, ds, T, 40, cases[c].batch, b, &n) == CNN_OK, "%s",
                  cnn_last_error());
            CHECK(memcmp(a, b, n * sizeof(float)) == 0, "%s, batch %d: 1 and %d threads differ",
                  cases[c].spec, cases[c].batch, T);
        }
        cnn_dataset_free(ds);
    }
}

/* The promise, on MNIST: `cnn train --steps 60` gives the same
   weights, byte for byte, for 1, 2, 3, 4, 5 and 8 threads (beyond the
   cores: oversubscribed), for seed and seed-dense at batch 32 and 50.  (A
   sanitizer build checks 1-3 threads over 8 steps.) */
static void mnist_same_bits_for_any_thread_count(void)
{
    const char *dir = test_mnist_dir();
    if (!dir) {
        test_skip("no MNIST in data/mnist (run make data)");
        return;
    }
    cnn_dataset *train = NULL;
    CHECK(cnn_dataset_load_dir(dir, "train", 10, &train) == CNN_OK, "%s", cnn_last_error());
    const char *models[] = {"seed", "seed-dense"};
    const int batches[] = {32, 50}, threads[] = {1, 2, 3, 4, 5, 8};
    const int nthreads = SANITIZED ? 3 : 6;
    const long steps = SANITIZED ? 8 : 60;
    float *a = malloc(sizeof(float) << 21), *b = malloc(sizeof(float) << 21);
    size_t na = 0, nb = 0;
    for (int mi = 0; mi < 2 && train; mi++)
        for (int bi = 0; bi < 2; bi++) {
            CHECK(train_copy(models[mi], train, 1, steps, batches[bi], a, &na) == CNN_OK, "%s",
                  cnn_last_error());
            for (int ti = 1; ti < nthreads; ti++) {
                CHECK(train_copy(models[mi], train, threads[ti], steps, batches[bi], b, &nb) ==
                          CNN_OK, "%s", cnn_last_error());
                size_t at = 0;
                while (at < na && !memcmp(a + at, b + at, sizeof *a))
                    at++;
                CHECK(na == nb && at == na, "%s, batch %d: %d threads differ from 1 at "
                      "parameter %zu", models[mi], batches[bi], threads[ti], at);
            }
        }
    free(a);
    free(b);
    cnn_dataset_free(train);
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

/* Train a copy of spec's model (seed 11) for `steps` steps; its
   parameters into out (n floats), the result into *r. */
static int train_result(const char *spec, const cnn_dataset *ds, int threads, int batch,
                        long steps, float *out, size_t *n, cnn_train_result *r)
{
    cnn_model *m = NULL;
    int st = cnn_model_create(spec, ds->height, ds->width, 1, ds->classes, &m);
    if (st != CNN_OK)
        return st;
    cnn_model_init(m, 11);
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.threads = threads;
    cfg.batch = batch;
    cfg.max_steps = steps;
    cfg.epochs = 100;
    memset(r, 0, sizeof *r);
    st = cnn_train(m, ds, &cfg, r);
    *n = m->block;
    memcpy(out, m->params, m->block * sizeof(float));
    cnn_model_free(m);
    return st;
}

/* A batch beyond the data set is one step of all its images: the buffers
   are sized by the images (a dense layer over 1 MB makes each thread take
   its whole share as one group: sized by the batch, that group would ask
   for terabytes), and the weights are those of a batch of exactly the
   data set. */
static void batch_beyond_data_set_trains_as_the_data_set(void)
{
    cnn_dataset *ds = synthetic(40, 12, 12, 4);
    const char *spec = "conv3x3:16:same,relu,flatten,dense:200,relu,dense:4,softmax";
    static float a[1 << 20], b[1 << 20];
    size_t na = 0, nb = 0;
    cnn_train_result ra, rb;
    for (int threads = 1; threads <= 3; threads += 2) {
        CHECK(train_result(spec, ds, threads, 1 << 30, 3, a, &na, &ra) == CNN_OK,
              "batch 2^30, %d threads: %s", threads, cnn_last_error());
        CHECK(train_result(spec, ds, threads, 40, 3, b, &nb, &rb) == CNN_OK,
              "batch 40, %d threads: %s", threads, cnn_last_error());
        CHECK(na == nb && na < (1 << 20) && memcmp(a, b, na * sizeof(float)) == 0,
              "%d threads: batch 2^30 and batch 40 differ", threads);
        CHECK(ra.steps == 3 && ra.threads == threads, "steps %ld, threads %d", ra.steps,
              ra.threads);
    }
    cnn_dataset_free(ds);
}

/* More threads than the work or the machine can use: the team is capped
   (at the images of a step, at the machine's cap), the description says so,
   and capping at the images does not change the weights.  (Teams stay at
   3 threads: LLVM's libomp, under ASan, leaks a little each time a team
   grows past an earlier one.) */
static void threads_capped_at_the_work_and_the_machine(void)
{
    cnn_dataset *ds = synthetic(40, 8, 8, 2), *three = synthetic(3, 8, 8, 2);
    const char *spec = "conv3x3:4:same,relu,flatten,dense:2,softmax";
    static float a[1 << 14], b[1 << 14];
    size_t na = 0, nb = 0;
    cnn_train_result ra, rb;
    CHECK(train_result(spec, ds, 4096, 3, 5, a, &na, &ra) == CNN_OK, "%s", cnn_last_error());
    CHECK(ra.threads == 3, "4096 threads, batch 3: %d threads", ra.threads);
    CHECK(strncmp(ra.binding, "3 threads (4096 asked for)", 26) == 0, "binding '%s'",
          ra.binding);
    CHECK(train_result(spec, ds, 3, 3, 5, b, &nb, &rb) == CNN_OK, "%s", cnn_last_error());
    CHECK(memcmp(a, b, na * sizeof(float)) == 0, "4096 and 3 threads differ at batch 3");
    /* 64 threads (always allowed) on 3 images, batch 100: 3 threads, the
       weights of 3 (idle threads would only add zeros). */
    CHECK(train_result(spec, three, 64, 100, 4, a, &na, &ra) == CNN_OK, "%s", cnn_last_error());
    CHECK(train_result(spec, three, 3, 100, 4, b, &nb, &rb) == CNN_OK, "%s", cnn_last_error());
    CHECK(ra.threads == 3 && memcmp(a, b, na * sizeof(float)) == 0,
          "64 threads on 3 images: %d threads, weights %s", ra.threads,
          memcmp(a, b, na * sizeof(float)) ? "differ" : "equal");
    /* The machine's cap: at least the floor, 4 per hardware thread. */
    int cap = cnn_threads_cap(), n = 0;
    char desc[160], warn[200];
    CHECK(cap >= CNN_THREADS_FLOOR, "cap %d", cap);
    CHECK(cnn_threads_describe(4096, &n, desc, sizeof desc) == CNN_OK, "%s", cnn_last_error());
    CHECK(n == (cap < 4096 ? cap : 4096), "describe(4096): %d threads, cap %d", n, cap);
    CHECK(cnn_threads_check(4096, warn, sizeof warn) == CNN_OK, "%s", cnn_last_error());
    CHECK(cap >= 4096 || (strstr(warn, "4096 threads asked for") && strstr(desc, "4096 asked")),
          "no warning for 4096 threads over a cap of %d: '%s', '%s'", cap, warn, desc);
    CHECK(cnn_threads_check(2, warn, sizeof warn) == CNN_OK && !*warn, "2 threads: '%s'",
          warn);
    /* Evaluation: 4096 threads on 3 images run as 3, one image each. */
    cnn_model *m = NULL;
    cnn_model_create(spec, 8, 8, 1, 2, &m);
    cnn_model_init(m, 3);
    cnn_eval_result e1, e2;
    CHECK(cnn_evaluate(m, three, 3, &e1) == CNN_OK, "%s", cnn_last_error());
    CHECK(cnn_evaluate(m, three, 4096, &e2) == CNN_OK, "%s", cnn_last_error());
    CHECK(e1.loss == e2.loss && e1.accuracy == e2.accuracy, "3 vs 4096 threads: %.17g vs %.17g",
          e1.loss, e2.loss);
    cnn_eval_result_free(&e1);
    cnn_eval_result_free(&e2);
    cnn_model_free(m);
    cnn_dataset_free(ds);
    cnn_dataset_free(three);
}

/* OMP_NUM_THREADS: the grammar, a malformed value reported by name (when
   no count is given), a huge one capped. */
static void omp_num_threads_is_checked(void)
{
    int n = 0;
    CHECK(cnn_omp_env_parse("3", &n) && n == 3, "'3': %d", n);
    CHECK(cnn_omp_env_parse(" 4 , 2 ", &n) && n == 4, "' 4 , 2 ': %d", n);
    CHECK(cnn_omp_env_parse("+5", &n) && n == 5, "'+5': %d", n);
    static const char *const bad[] = {"abc", "0", "-1", "", " ", "3x", "2,", "2,0", ",2",
                                      "99999999999", "1.5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(!cnn_omp_env_parse(bad[i], &n), "'%s' accepted", bad[i]);

    const char *old = getenv("OMP_NUM_THREADS");
    char saved[64] = "";
    if (old)
        snprintf(saved, sizeof saved, "%s", old);
    cnn_dataset *ds = synthetic(20, 8, 8, 2);
    cnn_model *m = NULL;
    cnn_model_create("flatten,dense:2,softmax", 8, 8, 1, 2, &m);
    cnn_model_init(m, 1);
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.max_steps = 1;
    cnn_eval_result e;
    char warn[200];
    static const char *const malformed[] = {"abc", "0", "-1"};
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        setenv("OMP_NUM_THREADS", malformed[i], 1);
        CHECK(cnn_threads_check(0, warn, sizeof warn) == CNN_ERR_ARG &&
                  strstr(cnn_last_error(), "OMP_NUM_THREADS") &&
                  strstr(cnn_last_error(), malformed[i]),
              "OMP_NUM_THREADS=%s: '%s'", malformed[i], cnn_last_error());
        cfg.threads = 0;
        CHECK(cnn_train(m, ds, &cfg, NULL) == CNN_ERR_ARG, "train, OMP_NUM_THREADS=%s",
              malformed[i]);
        CHECK(cnn_evaluate(m, ds, 0, &e) == CNN_ERR_ARG, "evaluate, OMP_NUM_THREADS=%s",
              malformed[i]);
        /* A count given overrides the environment. */
        cfg.threads = 2;
        CHECK(cnn_train(m, ds, &cfg, NULL) == CNN_OK, "%s", cnn_last_error());
        CHECK(cnn_threads_check(2, warn, sizeof warn) == CNN_OK, "%s", cnn_last_error());
    }
    setenv("OMP_NUM_THREADS", "3", 1);
    CHECK(cnn_threads_describe(0, &n, NULL, 0) == CNN_OK && n == 3, "OMP_NUM_THREADS=3: %d", n);
    setenv("OMP_NUM_THREADS", "", 1); /* empty: as if unset */
    CHECK(cnn_threads_check(0, warn, sizeof warn) == CNN_OK, "empty: %s", cnn_last_error());
    setenv("OMP_NUM_THREADS", "1000000", 1);
    CHECK(cnn_threads_check(0, warn, sizeof warn) == CNN_OK &&
              strstr(warn, "1000000 threads asked for by OMP_NUM_THREADS"),
          "OMP_NUM_THREADS=1000000: '%s'", warn);
    CHECK(cnn_threads_describe(0, &n, NULL, 0) == CNN_OK && n == cnn_threads_cap(),
          "OMP_NUM_THREADS=1000000: %d threads", n);
    /* The command: libgomp never gets to complain about a bad value (it
       would before main, with a blank line). */
    setenv("OMP_NUM_THREADS", "abc", 1);
    int rc = test_cnn("summary --model logreg");
    if (rc == -1)
        test_skip("./cnn is not built");
    else
        CHECK(rc == 0 && !*test_err, "summary, OMP_NUM_THREADS=abc: status %d, stderr '%s'",
              rc, test_err);
    if (old)
        setenv("OMP_NUM_THREADS", saved, 1);
    else
        unsetenv("OMP_NUM_THREADS");
    cnn_model_free(m);
    cnn_dataset_free(ds);
}

/* Buffers beyond the machine's memory are refused before anything is
   allocated, naming what they need and what the machine has: a 65536-wide
   conv over 128x128 images holds 4 GiB of activations per image. */
static void workspace_beyond_memory_is_refused(void)
{
    const char *spec = "conv1x1:65536,relu,conv1x1s64:1,flatten,dense:300000,relu,dense:10,"
                       "softmax";
    cnn_model *m = NULL;
    CHECK(cnn_model_create(spec, 128, 128, 1, 10, &m) == CNN_OK, "%s", cnn_last_error());
    if (!m)
        return;
    cnn_dataset *ds = synthetic(1024, 128, 128, 10);
    double need = 1024 * cnn_workspace_bytes(m, 1, 1), have = cnn_memory_bytes();
    if (have <= 0 || need <= have) {
        test_skip("this machine has more memory than the test asks for");
    } else {
        cnn_train_config cfg;
        cnn_train_config_default(&cfg);
        cfg.batch = 1024;
        cfg.threads = 2;
        CHECK(cnn_train(m, ds, &cfg, NULL) == CNN_ERR_NOMEM &&
                  strstr(cnn_last_error(), "train: training needs ") &&
                  strstr(cnn_last_error(), "TiB of buffers for 2 threads, more than this "
                                           "machine's "),
              "train: '%s'", cnn_last_error());
        cnn_eval_result e;
        CHECK(cnn_evaluate(m, ds, 64, &e) == CNN_ERR_NOMEM &&
                  strstr(cnn_last_error(), "evaluate: evaluation needs ") &&
                  strstr(cnn_last_error(), "of memory"),
              "evaluate: '%s'", cnn_last_error());
    }
    /* The figures: a workspace is what cnn_workspace_alloc takes. */
    cnn_model_free(m);
    cnn_model_create("conv3x3:8:same,relu,flatten,dense:4,softmax", 8, 8, 1, 4, &m);
    double w = cnn_workspace_bytes(m, 3, 1);
    double floats = 3.0 * 64 + 3.0 * m->act_floats + 2 * 3.0 * m->max_act + 3.0 * 4;
    CHECK(w >= floats * 4 && w < floats * 4 + 6 * 64 + m->block * 4.0 + 64, "%g bytes", w);
    CHECK(cnn_memory_check(1e30, 3, "x", "y") == CNN_ERR_NOMEM &&
              strstr(cnn_last_error(), "x: y needs ") && strstr(cnn_last_error(), "3 threads"),
          "'%s'", cnn_last_error());
    CHECK(cnn_memory_check(1024, 1, "x", "y") == CNN_OK, "1 KiB refused");
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

TEST_TABLE(trainer,
           {"same_seed_and_threads_are_bitwise_identical",
            same_seed_and_threads_are_bitwise_identical},
           {"mnist_same_bits_for_any_thread_count", mnist_same_bits_for_any_thread_count},
           {"split_short_batch_and_idle_threads_same_bits",
            split_short_batch_and_idle_threads_same_bits},
           {"owner_gradient_fused_or_checked_same_bits",
            owner_gradient_fused_or_checked_same_bits},
           {"learns_synthetic_data", learns_synthetic_data},
           {"steps_cancel_and_bad_configs", steps_cancel_and_bad_configs},
           {"batch_beyond_data_set_trains_as_the_data_set",
            batch_beyond_data_set_trains_as_the_data_set},
           {"threads_capped_at_the_work_and_the_machine",
            threads_capped_at_the_work_and_the_machine},
           {"omp_num_threads_is_checked", omp_num_threads_is_checked},
           {"workspace_beyond_memory_is_refused", workspace_beyond_memory_is_refused},
           {"short_mnist_run_reaches_94_percent_with_every_set",
            short_mnist_run_reaches_94_percent_with_every_set})
