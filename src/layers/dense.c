/*
 * dense.c — the fully connected kind: "dense:" N, N units on a flat input.
 * Tensors: weight [in][out] (Glorot-uniform, fans in and out) and bias
 * [out] (zeros).  Runs on the kernel table's dense kernels; a following
 * relu is fused into them; the last dense layer gives the logits.
 */
#include <stdio.h>

#include "layer.h"

static int parse(const char *s, const char *e, cnn_layer *L, const char **why)
{
    const char *p;
    if (e - s <= 6 || !cnn_layer_keyword(s, e, "dense:", &p))
        return 0;
    *why = "dense needs a unit count 1..1048576, e.g. dense:10";
    if (!cnn_layer_parse_int(&p, 1 << 20, &L->g.out_c) || p != e)
        return -1;
    return 1;
}

static void format(const cnn_layer *L, char *buf, size_t size)
{
    snprintf(buf, size, "dense:%d", L->g.out_c);
}

static int shape(cnn_layer *L, int layer)
{
    (void)layer;
    L->g.out_h = L->g.out_w = 1;
    return CNN_OK;
}

static int tensors(const cnn_layer *L, cnn_tensor_decl *t)
{
    int in = cnn_layer_in_size(L), out = L->g.out_c;
    t[0] = (cnn_tensor_decl){"weight", 2, {in, out}, (size_t)in * out, CNN_TENSOR_PARAM,
                             CNN_INIT_GLOROT, (double)L->g.in_h * L->g.in_w * L->g.in_c,
                             1.0 * out};
    t[1] = (cnn_tensor_decl){"bias", 1, {out}, (size_t)out, CNN_TENSOR_PARAM, CNN_INIT_ZEROS,
                             0, 0};
    return 2;
}

static void bind(cnn_layer *L, const cnn_kernel_table *kt) { L->k.dense = kt->dense; }

static void forward(const cnn_layer *L, const cnn_pass_ctx *ctx, int n, const float *x,
                    const float *params, float *y)
{
    (void)ctx;
    L->k.dense.forward(n, cnn_layer_in_size(L), L->g.out_c, x, params + L->t_off[0],
                       params + L->t_off[1], y, L->relu);
}

static void backward_data(const cnn_layer *L, const cnn_pass_ctx *ctx, int n, const float *x,
                          const float *y, const float *dy, const float *w,
                          const float *mask, float *dx)
{
    (void)ctx, (void)x, (void)y;
    L->k.dense.backward_data(n, cnn_layer_in_size(L), L->g.out_c, dy, w + L->t_off[0], mask,
                             dx);
}

static void backward_weights(const cnn_layer *L, const cnn_pass_ctx *ctx, int n,
                             const float *x, const float *dy, float *grads)
{
    (void)ctx;
    int in = cnn_layer_in_size(L);
    L->k.dense.backward_weights(n, in, L->g.out_c, x, dy, 0, in, 0, grads,
                                grads + (L->t_off[1] - L->t_off[0]));
}

static int batch_rows(const cnn_layer *L) { return cnn_layer_in_size(L); }

static void batch_weights(const cnn_layer *L, int n, const float *x, const float *dy,
                          int i0, int i1, int rest, float *grads)
{
    L->k.dense.backward_weights(n, cnn_layer_in_size(L), L->g.out_c, x, dy, i0, i1, 1, grads,
                                rest ? grads + (L->t_off[1] - L->t_off[0]) : NULL);
}

/* Part `part` of the transposed copy: the columns [o0, o1) of w. */
static int pack(const cnn_layer *L, const float *params, float *packed, int part, int parts)
{
    const int out = L->g.out_c;
    if (!cnn_dense_reads_packed(&L->k.dense, cnn_layer_in_size(L), out))
        return 0;
    const int o0 = (int)((long)out * part / parts), o1 = (int)((long)out * (part + 1) / parts);
    if (params && o0 < o1)
        L->k.dense.pack_backward_data(cnn_layer_in_size(L), out, params + L->t_off[0],
                                      packed + L->t_off[0], o0, o1);
    return 1;
}

static void describe(const cnn_layer *L, cnn_layer_text *t, cnn_layer_info *info)
{
    (void)info;
    cnn_layer_name_text(t, "Dense");
    snprintf(t->settings, sizeof t->settings, "%d units", L->g.out_c);
}

const cnn_layer_op cnn_layer_dense = {
    .name = "dense", .example = "dense:5",
    .input = CNN_SHAPE_FLAT, .output = CNN_SHAPE_FLAT,
    .input_msg = "dense needs a flatten before it",
    .fuses_relu = 1, .logits = 1, .streams_weights = 1,
    .parse = parse, .format = format, .shape = shape, .tensors = tensors, .bind = bind,
    .forward = forward, .backward_data = backward_data,
    .backward_weights = backward_weights, .batch_rows = batch_rows,
    .batch_weights = batch_weights, .pack = pack, .describe = describe,
};
