/*
 * kernels-layers.h — the layers bench/kernels times: the seed network's
 * (GUIDE.md section 1), every kernel set, every pass.  tests/test_kernels.c
 * reads the same table to check that every entry of the kernel lists
 * (kernels/list.c) is what some row of the benchmark runs.
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
#define NLAYERS ((int)(sizeof seed_layers / sizeof *seed_layers))

#endif /* CNN_BENCH_KERNELS_LAYERS_H */
