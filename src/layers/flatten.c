/*
 * flatten.c — the "flatten" kind: an image becomes a vector in NHWC order
 * (as Keras).  NHWC memory already is that vector, so the layer is an
 * alias of its input: no storage, no tensors, nothing to run.
 */
#include <stdio.h>

#include "layer.h"

static int shape(cnn_layer *L, int layer)
{
    (void)layer;
    L->g.out_h = L->g.out_w = 1;
    L->g.out_c = cnn_layer_in_size(L);
    return CNN_OK;
}

static void describe(const cnn_layer *L, cnn_layer_text *t, cnn_layer_info *info)
{
    (void)L, (void)info;
    cnn_layer_name_text(t, "Flatten");
}

const cnn_layer_op cnn_layer_flatten = {
    .name = "flatten", .example = "flatten",
    .input = CNN_SHAPE_IMAGE, .output = CNN_SHAPE_FLAT,
    .input_msg = "input is already flat", .alias = 1,
    .parse = cnn_layer_parse_name, .format = cnn_layer_format_name,
    .shape = shape, .describe = describe,
};
