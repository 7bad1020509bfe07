/*
 * test_api.c — the library calls a program embeds cnn with: the version,
 * batch prediction (bit for bit cnn_predict's, any thread count), a data
 * set from memory (copied or borrowed, and what cnn_dataset_free frees),
 * the flat parameter block's documented order, and include/cnn.h compiled
 * as C++ (with g++, when installed).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model.h"
#include "tests.h"

#define SPEC "conv3x3:4:same,bn,relu,maxpool2,conv3x3s2:6:valid,relu,flatten,dense:5,softmax"
enum { SIDE = 12, NCLASS = 5 };

static void api_version_matches_the_header(void)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", CNN_VERSION_MAJOR, CNN_VERSION_MINOR,
             CNN_VERSION_PATCH);
    CHECK(strcmp(CNN_VERSION, want) == 0, "CNN_VERSION %s, the numbers say %s", CNN_VERSION,
          want);
    CHECK(cnn_version() && strcmp(cnn_version(), CNN_VERSION) == 0, "cnn_version() = %s",
          cnn_version() ? cnn_version() : "(null)");
}

/* A model with every tensor kind (conv, bn, dense), initialised, with bn's
   moving statistics away from their defaults. */
static cnn_model *api_model(void)
{
    cnn_model *m = NULL;
    int st = cnn_model_create(SPEC, SIDE, SIDE, 1, NCLASS, &m);
    CHECK(st == CNN_OK, "create: %s", cnn_last_error());
    if (st != CNN_OK)
        return NULL;
    cnn_model_init(m, 7);
    cnn_tensor_info t[16];
    int n = cnn_model_tensors(m, t, 16);
    uint64_t s = 3;
    for (int i = 0; i < n; i++)
        if (t[i].role == CNN_TENSOR_BUFFER)
            test_fill_uniform(cnn_model_params(m) + t[i].offset, t[i].count, 0.5f, 1.5f, &s);
    return m;
}

static void api_predict_batch_matches_predict(void)
{
    cnn_model *m = api_model();
    if (!m)
        return;
    enum { N = 37 };
    const size_t in = SIDE * SIDE;
    float *x = malloc(N * in * sizeof *x), want[N * NCLASS];
    uint64_t s = 11;
    test_fill_uniform(x, N * in, 0, 1, &s);
    for (int i = 0; i < N; i++)
        CHECK(cnn_predict(m, x + i * in, want + i * NCLASS) == CNN_OK, "predict %d", i);
    /* Teams of at most 4, largest first: LLVM's libomp 14 (the sanitizer
       builds' runtime) leaks its team arrays when a team of more than 4
       follows a smaller one in the process (a plain OpenMP program with
       teams of 3 then 5 shows it under LeakSanitizer). */
    const int threads[] = {4, 3, 2, 1};
    for (int k = 0; k < 4; k++) {
        for (int n = 1; n <= N; n += N - 1) {
            float *probs = test_alloc_guarded((size_t)n * NCLASS, NAN);
            int st = cnn_predict_batch(m, x, n, probs, threads[k]);
            CHECK(st == CNN_OK, "%d threads: %s", threads[k], cnn_last_error());
            CHECK(test_bits_equal(probs, want, (size_t)n * NCLASS),
                  "%d images on %d threads: not cnn_predict's bits", n, threads[k]);
            CHECK(test_guard_intact(probs, (size_t)n * NCLASS), "wrote past n*classes");
            free(probs);
        }
    }
    free(x);
    cnn_model_free(m);
}

static void api_predict_batch_refuses_bad_arguments(void)
{
    cnn_model *m = api_model(), *d = NULL;
    if (!m)
        return;
    float x[SIDE * SIDE] = {0}, probs[NCLASS];
    CHECK(cnn_predict_batch(m, x, 0, NULL, 1) == CNN_OK, "n = 0 does nothing");
    CHECK(cnn_predict_batch(m, x, -1, probs, 1) == CNN_ERR_ARG, "n < 0");
    CHECK(cnn_predict_batch(m, x, 1, probs, -2) == CNN_ERR_ARG, "threads < 0");
    CHECK(cnn_predict_batch(m, NULL, 1, probs, 1) == CNN_ERR_ARG, "x NULL");
    CHECK(cnn_predict_batch(m, x, 1, NULL, 1) == CNN_ERR_ARG, "probs NULL");
    CHECK(cnn_predict_batch(NULL, x, 1, probs, 1) == CNN_ERR_ARG, "model NULL");
    CHECK(cnn_model_describe(SPEC, SIDE, SIDE, 1, NCLASS, &d) == CNN_OK, "describe");
    CHECK(cnn_predict_batch(d, x, 1, probs, 1) == CNN_ERR_ARG &&
              strstr(cnn_last_error(), "described"),
          "a described model: %s", cnn_last_error());
    cnn_model_free(d);
    cnn_model_free(m);
}

/* Trains one epoch on ds and returns the parameters' bits (malloc'd). */
static float *train_bits(const cnn_dataset *ds, size_t *count)
{
    cnn_model *m = NULL;
    if (cnn_model_create("conv3x3:4:same,relu,flatten,dense:3,softmax", 8, 8, 1, 3, &m))
        return NULL;
    cnn_model_init(m, 5);
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.epochs = 1, cfg.batch = 8, cfg.threads = 2, cfg.bind = 0;
    int st = cnn_train(m, ds, &cfg, NULL);
    CHECK(st == CNN_OK, "train: %s", cnn_last_error());
    *count = cnn_model_params_size(m);
    float *p = malloc(*count * sizeof *p);
    memcpy(p, cnn_model_params(m), *count * sizeof *p);
    cnn_model_free(m);
    return p;
}

static void api_dataset_from_memory_copies(void)
{
    cnn_dataset *bands = test_bands(48, 8, 8, 3, 9), *ds = NULL;
    const size_t bytes = 48 * 8 * 8;
    uint8_t *images = malloc(bytes), *labels = malloc(48);
    memcpy(images, bands->images, bytes);
    memcpy(labels, bands->labels, 48);
    int st = cnn_dataset_from_memory(images, labels, 48, 8, 8, 1, 0, CNN_DATASET_COPY, &ds);
    CHECK(st == CNN_OK, "from_memory: %s", cnn_last_error());
    if (st != CNN_OK)
        return;
    CHECK(ds->images != images && ds->labels != labels && !ds->borrowed, "not a copy");
    CHECK(ds->count == 48 && ds->height == 8 && ds->width == 8 && ds->channels == 1 &&
              ds->classes == 3,
          "shape %d %dx%dx%d, %d classes", ds->count, ds->height, ds->width, ds->channels,
          ds->classes);
    /* The caller's buffers are its own again: changed and freed. */
    memset(images, 0, bytes);
    memset(labels, 0, 48);
    free(images);
    free(labels);
    CHECK(memcmp(ds->images, bands->images, bytes) == 0 &&
              memcmp(ds->labels, bands->labels, 48) == 0,
          "the copy changed with the caller's buffers");
    size_t na = 0, nb = 0;
    float *a = train_bits(ds, &na), *b = train_bits(bands, &nb);
    CHECK(a && b && na == nb && test_bits_equal(a, b, na),
          "training on the copy differs from training on the loaded set");
    free(a);
    free(b);
    cnn_dataset_free(ds);
    cnn_dataset_free(bands);
}

/* Static buffers: cnn_dataset_free freeing them would abort in free(). */
static uint8_t borrowed_images[10 * 4 * 4 * 3], borrowed_labels[10];

static void api_dataset_from_memory_borrows(void)
{
    for (int i = 0; i < 10; i++)
        borrowed_labels[i] = (uint8_t)(i % 4);
    cnn_dataset *ds = NULL;
    int st = cnn_dataset_from_memory(borrowed_images, borrowed_labels, 10, 4, 4, 3, 6,
                                     CNN_DATASET_BORROW, &ds);
    CHECK(st == CNN_OK, "from_memory: %s", cnn_last_error());
    if (st != CNN_OK)
        return;
    CHECK(ds->images == borrowed_images && ds->labels == borrowed_labels && ds->borrowed,
          "a borrowed set points at the caller's buffers");
    CHECK(ds->classes == 6 && ds->channels == 3, "classes %d, channels %d", ds->classes,
          ds->channels);
    cnn_dataset_free(ds);
    borrowed_labels[0] = 3; /* still the caller's */
    CHECK(borrowed_labels[0] == 3, "unreachable");
}

static void api_dataset_from_memory_refuses_bad_arguments(void)
{
    uint8_t px[2 * 3 * 3] = {0}, lab[2] = {1, 4};
    cnn_dataset *ds = (cnn_dataset *)1;
    CHECK(cnn_dataset_from_memory(px, lab, 2, 3, 3, 1, 4, 0, &ds) == CNN_ERR_MISMATCH &&
              strstr(cnn_last_error(), "index 1") && ds == NULL,
          "label 4 of 4 classes: %s", cnn_last_error());
    const struct {
        int count, h, w, c, classes, flags;
    } bad[] = {{0, 3, 3, 1, 0, 0},   {-1, 3, 3, 1, 0, 0},      {2, 0, 3, 1, 0, 0},
               {2, 3, -3, 1, 0, 0},  {2, 3, 3, 0, 0, 0},       {2, 3, 3, 1, 257, 0},
               {2, 3, 3, 1, -1, 0},  {2, 3, 3, 1, 0, 2},       {2, 65536, 65536, 1, 0, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(cnn_dataset_from_memory(px, lab, bad[i].count, bad[i].h, bad[i].w, bad[i].c,
                                      bad[i].classes, bad[i].flags, &ds) == CNN_ERR_ARG,
              "case %zu accepted", i);
    CHECK(cnn_dataset_from_memory(NULL, lab, 2, 3, 3, 1, 0, 0, &ds) == CNN_ERR_ARG, "NULL");
    CHECK(cnn_dataset_from_memory(px, lab, 2, 3, 3, 1, 0, 0, NULL) == CNN_ERR_ARG, "NULL");
    cnn_dataset_free(NULL);
}

/* The header's rule: layer by layer, conv/dense weight then bias, bn's
   gamma, beta, moving_mean, moving_variance; each tensor at the end of
   the one before rounded up to 16 floats.  Checked, from cnn_model_layer
   alone, against the tensors the model declares. */
static void api_param_block_order_is_the_documented_one(void)
{
    cnn_model *m = api_model();
    if (!m)
        return;
    cnn_tensor_info t[16];
    int nt = cnn_model_tensors(m, t, 16), k = 0;
    size_t off = 0;
    for (int i = 0; i < cnn_model_layer_count(m); i++) {
        cnn_layer_info L;
        cnn_model_layer(m, i, &L);
        size_t counts[4];
        int n = 0;
        if (!strcmp(L.type, "conv")) {
            counts[n++] = (size_t)L.kernel * L.kernel * L.in_c * L.out_c;
            counts[n++] = (size_t)L.out_c;
        } else if (!strcmp(L.type, "dense")) { /* its input is a vector: 1 x 1 x in */
            counts[n++] = (size_t)L.in_h * L.in_w * L.in_c * L.out_c;
            counts[n++] = (size_t)L.out_c;
        } else if (!strcmp(L.type, "bn")) {
            for (; n < 4; n++)
                counts[n] = (size_t)L.out_c;
        }
        for (int j = 0; j < n; j++, k++) {
            CHECK(k < nt && t[k].offset == off && t[k].count == counts[j],
                  "%s tensor %d: offset %zu count %zu, documented %zu %zu", L.name, j,
                  k < nt ? t[k].offset : 0, k < nt ? t[k].count : 0, off, counts[j]);
            off = (off + counts[j] + 15) / 16 * 16;
        }
    }
    CHECK(k == nt, "%d tensors documented, %d in the model", k, nt);
    CHECK(cnn_model_params_size(m) == off, "block %zu floats, documented %zu",
          cnn_model_params_size(m), off);
    CHECK(((uintptr_t)cnn_model_params(m) & 63) == 0, "block not 64-byte aligned");
    cnn_model_free(m);
}

/* A C++ translation unit that includes cnn.h and calls into it. */
static const char cpp_source[] =
    "#include \"cnn.h\"\n"
    "#include <cstdio>\n"
    "int main() {\n"
    "    cnn_model *m = nullptr;\n"
    "    cnn_dataset *d = nullptr;\n"
    "    cnn_train_config c;\n"
    "    cnn_train_config_default(&c);\n"
    "    std::printf(\"%s %d\\n\", cnn_version(), CNN_VERSION_MAJOR);\n"
    "    int st = cnn_model_create(\"seed\", 28, 28, 1, 10, &m);\n"
    "    cnn_dataset_free(d);\n"
    "    cnn_model_free(m);\n"
    "    return st == CNN_OK ? 0 : 1;\n"
    "}\n";

static void api_header_compiles_as_cpp(void)
{
    if (system("command -v g++ >/dev/null 2>&1") != 0) {
        test_skip("g++ not installed");
        return;
    }
    const char *src = test_write_file("header.cpp", cpp_source, sizeof cpp_source - 1);
    const char *stds[] = {"c++11", "c++17"};
    for (int i = 0; i < 2; i++) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "g++ -std=%s -Wall -Wextra -pedantic -Werror -Iinclude "
                 "-fsyntax-only '%s' 2>&1", stds[i], src);
        int status = system(cmd);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "include/cnn.h does not compile as %s (output above)", stds[i]);
    }
}

TEST_TABLE(api, {"api_version_matches_the_header", api_version_matches_the_header},
           {"api_predict_batch_matches_predict", api_predict_batch_matches_predict},
           {"api_predict_batch_refuses_bad_arguments", api_predict_batch_refuses_bad_arguments},
           {"api_dataset_from_memory_copies", api_dataset_from_memory_copies},
           {"api_dataset_from_memory_borrows", api_dataset_from_memory_borrows},
           {"api_dataset_from_memory_refuses_bad_arguments",
            api_dataset_from_memory_refuses_bad_arguments},
           {"api_param_block_order_is_the_documented_one",
            api_param_block_order_is_the_documented_one},
           {"api_header_compiles_as_cpp", api_header_compiles_as_cpp})
