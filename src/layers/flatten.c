/*
 * flatten.c — the "flatten" kind: an image becomes a vector in NHWC order
 * (as Keras).  NHWC memory already is that vector, so the layer is an
 * alias of its input: no storage, no tensors, nothing to run.
 */
#include <stdio.h>

#include "layer.h"

static int parse(const char *s, const char *e, cnn_layer *L, const char **why)
{
    (void)L, (void)why;
    return e - s == 7 && cnn_layer_keyword(s, e, "flatten", &s);
}

static void format(const cnn_layer *L, char *buf, size_t size)
{
    (void)L;
    snprintf(buf, size, "flatten");
}

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
    snprintf(t->row, sizeof t->row, "Flatten");
    snprintf(t->keras, sizeof t->keras, "Flatten");
}

const cnn_layer_op cnn_layer_flatten = {
    .name = "flatten",
    .example = "flatten",
    .input = CNN_SHAPE_IMAGE,
    .output = CNN_SHAPE_FLAT,
    .input_msg = "input is already flat",
    .alias = 1,
    .parse = parse,
    .format = format,
    .shape = shape,
    .describe = describe,
};
