/*
 * conv.c — the 2-D convolution kind: "conv" K "x" K ["s" S] ":" C
 * [":same" | ":valid"], e.g. conv3x3s2:64:same.  Square kernels, equal
 * strides, TensorFlow's 'same' and 'valid' padding (valid by default, as
 * Keras).  Tensors: weight [k][k][in_c][out_c] (Glorot-uniform, fans k*k*in_c
 * and k*k*out_c) and bias [out_c] (zeros).  Runs on the kernel table's conv
 * kernels, chosen per geometry; a following relu is fused into them.
 */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "layer.h"

enum { SAME = 0 }; /* arg[SAME]: 1 for 'same' padding */

static int parse(const char *s, const char *e, cnn_layer *L, const char **why)
{
    const char *p;
    int k2;
    if (e - s <= 4 || !cnn_layer_keyword(s, e, "conv", &p))
        return 0;
    *why = "conv needs KxK[sS]:C[:same|:valid], e.g. conv3x3s2:64:same";
    if (!cnn_layer_parse_int(&p, 64, &L->g.k) || *p++ != 'x' ||
        !cnn_layer_parse_int(&p, 64, &k2))
        return -1;
    if (k2 != L->g.k) {
        *why = "only square conv kernels are supported (KxK)";
        return -1;
    }
    L->g.stride = 1;
    if (*p == 's') {
        p++;
        if (!cnn_layer_parse_int(&p, 64, &L->g.stride))
            return -1;
    }
    if (p >= e || *p++ != ':' || !cnn_layer_parse_int(&p, 1 << 16, &L->g.out_c))
        return -1;
    if (p < e) {
        if (e - p == 5 && !memcmp(p, ":same", 5))
            L->arg[SAME] = 1;
        else if (!(e - p == 6 && !memcmp(p, ":valid", 6)))
            return -1;
    }
    return 1;
}

static void format(const cnn_layer *L, char *buf, size_t size)
{
    char stride[16] = "";
    if (L->g.stride != 1)
        snprintf(stride, sizeof stride, "s%d", L->g.stride);
    snprintf(buf, size, "conv%dx%d%s:%d%s", L->g.k, L->g.k, stride, L->g.out_c,
             L->arg[SAME] ? ":same" : "");
}

/* Output size and padding of one dimension, as TensorFlow defines them. */
static int conv_dim(int in, int k, int s, int same, int *pad_before)
{
    if (same) {
        int out = (in + s - 1) / s;
        int total = (out - 1) * s + k - in;
        if (total < 0)
            total = 0;
        *pad_before = total / 2;
        return out;
    }
    *pad_before = 0;
    return in < k ? 0 : (in - k) / s + 1;
}

static int shape(cnn_layer *L, int layer)
{
    cnn_conv_geom *g = &L->g;
    g->out_h = conv_dim(g->in_h, g->k, g->stride, L->arg[SAME], &g->pad_top);
    g->out_w = conv_dim(g->in_w, g->k, g->stride, L->arg[SAME], &g->pad_left);
    if (g->out_h < 1 || g->out_w < 1)
        return cnn_fail(CNN_ERR_SPEC, "model spec: conv layer %d (%dx%d kernel) does not "
                        "fit its %dx%d input", layer, g->k, g->k, g->in_h, g->in_w);
    return CNN_OK;
}

static int tensors(const cnn_layer *L, cnn_tensor_decl *t)
{
    const cnn_conv_geom *g = &L->g;
    double kk = (double)g->k * g->k;
    t[0] = (cnn_tensor_decl){"weight", 4, {g->k, g->k, g->in_c, g->out_c},
                             (size_t)g->k * g->k * g->in_c * g->out_c, CNN_TENSOR_PARAM,
                             CNN_INIT_GLOROT, kk * g->in_c, kk * g->out_c};
    t[1] = (cnn_tensor_decl){"bias", 1, {g->out_c}, (size_t)g->out_c, CNN_TENSOR_PARAM,
                             CNN_INIT_ZEROS, 0, 0};
    return 2;
}

static void bind(cnn_layer *L, const cnn_kernel_table *kt)
{
    L->k.conv = kt->select_conv(&L->g);
}

static void forward(const cnn_layer *L, const cnn_pass_ctx *ctx, int n, const float *x,
                    const float *params, float *y)
{
    (void)ctx;
    L->k.conv.forward(&L->g, n, x, params + L->t_off[0], params + L->t_off[1], y, L->relu);
}

static void backward_data(const cnn_layer *L, const cnn_pass_ctx *ctx, int n, const float *x,
                          const float *y, const float *dy, const float *w,
                          const float *mask, float *dx)
{
    (void)ctx, (void)x, (void)y;
    L->k.conv.backward_data(&L->g, n, dy, w + L->t_off[0], mask, dx);
}

static void backward_weights(const cnn_layer *L, const cnn_pass_ctx *ctx, int n,
                             const float *x, const float *dy, float *grads)
{
    (void)ctx;
    L->k.conv.backward_weights(&L->g, n, x, dy, grads, grads + (L->t_off[1] - L->t_off[0]));
}

static int pack(const cnn_layer *L, const float *params, float *packed, int part, int parts)
{
    (void)parts;
    if (!L->k.conv.pack_backward_data)
        return 0;
    if (params && part == 0) /* a conv layer's weights are small: one part */
        L->k.conv.pack_backward_data(&L->g, params + L->t_off[0], packed + L->t_off[0]);
    return 1;
}

static void describe(const cnn_layer *L, cnn_layer_text *t, cnn_layer_info *info)
{
    const cnn_conv_geom *g = &L->g;
    snprintf(t->row, sizeof t->row, "Conv2D %dx%d/%d", g->k, g->k, g->stride);
    snprintf(t->keras, sizeof t->keras, "Conv2D");
    snprintf(t->settings, sizeof t->settings, "%dx%d kernel, stride %d, %s padding", g->k,
             g->k, g->stride, L->arg[SAME] ? "same" : "valid");
    info->kernel = g->k;
    info->stride = g->stride;
    info->same = L->arg[SAME];
}

const cnn_layer_op cnn_layer_conv = {
    .name = "conv", .example = "conv3x3s2:4:same",
    .input = CNN_SHAPE_IMAGE, .output = CNN_SHAPE_IMAGE,
    .input_msg = "conv after flatten or dense", .fuses_relu = 1,
    .parse = parse, .format = format, .shape = shape, .tensors = tensors, .bind = bind,
    .forward = forward, .backward_data = backward_data,
    .backward_weights = backward_weights, .pack = pack, .describe = describe,
};
