/*
 * kernels-layers.h — the layers bench/kernels times, per model (--model):
 * seed (GUIDE.md section 1: six convolutions and a dense layer),
 * seed-dense (three 3x3 convolutions and two dense layers, `cnn summary
 * --model seed-dense`) and conv5 (the 5x5 shapes of issue 14's recipes,
 * not one network).  tests/test_kernels.c reads the same tables to
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

/* conv5: the 5x5 convolutions issue 14's MNIST recipes use, 'same'
   padding (stride 2: 1 on top and left, 2 below and right), relu: first
   layers of 8..32 outputs, stride-1 layers of 16, 24 or 32 inputs, two
   stride-2 layers, and a dense head.  Each row is its own layer, not a
   network. */
static const layer_spec conv5_layers[] = {
    {"c1-8", 0, {28, 28, 1, 28, 28, 8, 5, 1, 2, 2}, 0, 0, 1, 0},
    {"c1-16", 0, {28, 28, 1, 28, 28, 16, 5, 1, 2, 2}, 0, 0, 1, 0},
    {"c1-24", 0, {28, 28, 1, 28, 28, 24, 5, 1, 2, 2}, 0, 0, 1, 0},
    {"c1-32", 0, {28, 28, 1, 28, 28, 32, 5, 1, 2, 2}, 0, 0, 1, 0},
    {"c16-32", 0, {14, 14, 16, 14, 14, 32, 5, 1, 2, 2}, 0, 0, 1, 1},
    {"c16-64", 0, {14, 14, 16, 14, 14, 64, 5, 1, 2, 2}, 0, 0, 1, 1},
    {"c24-32", 0, {14, 14, 24, 14, 14, 32, 5, 1, 2, 2}, 0, 0, 1, 1},
    {"c24-64", 0, {14, 14, 24, 14, 14, 64, 5, 1, 2, 2}, 0, 0, 1, 1},
    {"c32-32", 0, {14, 14, 32, 14, 14, 32, 5, 1, 2, 2}, 0, 0, 1, 1},
    {"c32-64", 0, {14, 14, 32, 14, 14, 64, 5, 1, 2, 2}, 0, 0, 1, 1},
    {"s2-16-32", 0, {28, 28, 16, 14, 14, 32, 5, 2, 1, 1}, 0, 0, 1, 1},
    {"s2-32-64", 0, {14, 14, 32, 7, 7, 64, 5, 2, 1, 1}, 0, 0, 1, 1},
    {"dense", 1, {0}, 3136, 10, 0, 1}, /* s2-32-64's 7x7x64 to 10 logits */
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
    BENCH_MODEL("conv5", conv5_layers),
};
#define NMODELS ((int)(sizeof bench_models / sizeof *bench_models))

#endif /* CNN_BENCH_KERNELS_LAYERS_H */
