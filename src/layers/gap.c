/*
 * gap.c — the "gap" kind, global average pooling: an image (h x w x c)
 * becomes the vector of its c channel means (1 x 1 x c), as Keras's
 * GlobalAveragePooling2D; a dense layer may follow it directly.  No
 * tensors; runs on the gap kernels (kernels/ref/pool-ref.c with the
 * reference table, kernels/portable/pool-portable.c with any other) and
 * honours the fused ReLU mask of the layer before it.
 */
#include <stdio.h>

#include "families.h"
#include "layer.h"

enum { REF = 0 }; /* arg[REF]: 1 when bound to the reference table */

static int shape(cnn_layer *L, int layer)
{
    (void)layer;
    L->g.out_h = L->g.out_w = 1;
    L->g.out_c = L->g.in_c;
    return CNN_OK;
}

static void bind(cnn_layer *L, const cnn_kernel_table *kt)
{
    L->arg[REF] = kt == &cnn_kernels_ref;
}

static void forward(const cnn_layer *L, const cnn_pass_ctx *ctx, int n, const float *x,
                    const float *params, float *y)
{
    (void)ctx, (void)params;
    int hw = L->g.in_h * L->g.in_w;
    if (L->arg[REF])
        cnn_gap_forward_ref(n, hw, L->g.in_c, x, y);
    else
        cnn_gap_forward_scalar(n, hw, L->g.in_c, x, y);
}

static void backward_data(const cnn_layer *L, const cnn_pass_ctx *ctx, int n, const float *x,
                          const float *y, const float *dy, const float *w,
                          const float *mask, float *dx)
{
    (void)ctx, (void)x, (void)y, (void)w;
    int hw = L->g.in_h * L->g.in_w;
    if (L->arg[REF])
        cnn_gap_backward_data_ref(n, hw, L->g.in_c, dy, mask, dx);
    else
        cnn_gap_backward_data_scalar(n, hw, L->g.in_c, dy, mask, dx);
}

static void describe(const cnn_layer *L, cnn_layer_text *t, cnn_layer_info *info)
{
    (void)L, (void)info;
    /* The row is short, as the summary's first column is 29 wide. */
    snprintf(t->row, sizeof t->row, "GlobalAvgPool");
    snprintf(t->keras, sizeof t->keras, "GlobalAveragePooling2D");
}

const cnn_layer_op cnn_layer_gap = {
    .name = "gap", .example = "gap",
    .input = CNN_SHAPE_IMAGE, .output = CNN_SHAPE_FLAT,
    .input_msg = "gap needs an image input (its input is already flat)",
    .parse = cnn_layer_parse_name, .format = cnn_layer_format_name,
    .shape = shape, .bind = bind,
    .forward = forward, .backward_data = backward_data, .describe = describe,
};
