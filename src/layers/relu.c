/*
 * relu.c — the "relu" kind, max(0, x).  After a conv or dense layer the
 * model builder fuses it into that layer's kernels (its store, and the
 * mask in the next layer's backward-data), and it is no layer of its own;
 * anywhere else (first, after flatten, after another element-wise layer)
 * it runs as this layer.  Two relus in a row are refused by the parser.
 */
#include <stdio.h>

#include "layer.h"

static void forward(const cnn_layer *L, const cnn_pass_ctx *ctx, int n, const float *x,
                    const float *params, float *y)
{
    (void)ctx, (void)params;
    size_t count = (size_t)n * cnn_layer_in_size(L);
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] > 0 ? x[i] : 0;
}

static void backward_data(const cnn_layer *L, const cnn_pass_ctx *ctx, int n, const float *x,
                          const float *y, const float *dy, const float *w,
                          const float *mask, float *dx)
{
    (void)ctx, (void)y, (void)w;
    size_t count = (size_t)n * cnn_layer_in_size(L);
    for (size_t i = 0; i < count; i++)
        dx[i] = x[i] > 0 && (!mask || mask[i] > 0) ? dy[i] : 0;
}

static void describe(const cnn_layer *L, cnn_layer_text *t, cnn_layer_info *info)
{
    (void)L, (void)info;
    cnn_layer_name_text(t, "ReLU");
}

const cnn_layer_op cnn_layer_relu = {
    .name = "relu", .example = "relu",
    .input = CNN_SHAPE_ANY, .output = CNN_SHAPE_ANY, .is_relu = 1,
    .parse = cnn_layer_parse_name, .format = cnn_layer_format_name,
    .shape = cnn_layer_shape_same,
    .forward = forward, .backward_data = backward_data, .describe = describe,
};
