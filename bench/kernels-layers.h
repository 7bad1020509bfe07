/*
 * kernels-layers.h — the layers bench/kernels times, per model (--model):
 * seed (GUIDE.md section 1: six convolutions and a dense layer) and
 * seed-dense (three 3x3 convolutions and two dense layers, `cnn summary
 * --model seed-dense`).  tests/test_kernels.c reads the same tables to
 * check that every entry of the kernel lists (kernels/list.c) is what some
 * row of the benchmark runs.
 */
#ifndef CNN_BENCH_KERNELS_LAYERS_H
#define CNN_BENCH_KERNELS_LAYERS_H

#include "kernels.h"

typedef struct layer_spec {
    const char *name;
    int dense;        /* 0: convolution g; 1: dense in -> out */
    cnn_conv_geom g;  /* in_h, in_w, in_c, out_h, out_w, out_c, k, stride, pads */
    int in, out;      /* dense sizes */
    int relu;         /* forward fuses ReLU */
    int has_bwd_data; /* 0 for the first layer: no backward-data */
} layer_spec;

/* TF "same" padding (stride 2: 0 on top and left). */
static const layer_spec seed_layers[] = {
    {"conv1", 0, {28, 28, 1, 28, 28, 32, 3, 1, 1, 1}, 0, 0, 1, 0},
    {"conv2", 0, {28, 28, 32, 28, 28, 16, 1, 1, 0, 0}, 0, 0, 1, 1},
    {"conv3", 0, {28, 28, 16, 14, 14, 64, 3, 2, 0, 0}, 0, 0, 1, 1},
    {"conv4", 0, {14, 14, 64, 14, 14, 16, 1, 1, 0, 0}, 0, 0, 1, 1},
    {"conv5", 0, {14, 14, 16, 7, 7, 32, 3, 2, 0, 0}, 0, 0, 1, 1},
    {"conv6", 0, {7, 7, 32, 7, 7, 16, 1, 1, 0, 0}, 0, 0, 1, 1},
    {"dense", 1, {0}, 784, 10, 0, 1},
};

/* seed-dense: conv3x3:32:same, conv3x3s2:64:same, conv3x3s2:32:same (all
   relu), flatten, dense:768 relu, dense:10 (softmax's logits). */
static const layer_spec seed_dense_layers[] = {
    {"conv1", 0, {28, 28, 1, 28, 28, 32, 3, 1, 1, 1}, 0, 0, 1, 0},
    {"conv2", 0, {28, 28, 32, 14, 14, 64, 3, 2, 0, 0}, 0, 0, 1, 1},
    {"conv3", 0, {14, 14, 64, 7, 7, 32, 3, 2, 0, 0}, 0, 0, 1, 1},
    {"dense1", 1, {0}, 1568, 768, 1, 1},
    {"dense2", 1, {0}, 768, 10, 0, 1},
};

typedef struct model_spec {
    const char *name; /* --model */
    const layer_spec *layers;
    int nlayers;
} model_spec;

#define BENCH_MODEL(name, t) {name, t, (int)(sizeof t / sizeof *t)}
static const model_spec bench_models[] = {
    BENCH_MODEL("seed", seed_layers),
    BENCH_MODEL("seed-dense", seed_dense_layers),
};
#define NMODELS ((int)(sizeof bench_models / sizeof *bench_models))

#endif /* CNN_BENCH_KERNELS_LAYERS_H */
