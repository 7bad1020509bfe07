/*
 * pool.c — the window pooling kinds: "maxpool" K ["s" S] and "avgpool" K
 * ["s" S], e.g. maxpool2, avgpool3s2: K x K windows at stride S (S = K by
 * default), 'valid' padding, as Keras's MaxPooling2D and AveragePooling2D
 * with their defaults.  No tensors.  Max pooling sends each window's
 * gradient to its first maximum in row-major order (the first pixel equal
 * to the window's output); overlapping windows (S < K) add up.  Both run
 * on the pool kernels (kernels/ref/pool-ref.c with the reference table,
 * kernels/portable/pool-portable.c with any other) and honour the fused
 * ReLU mask of the layer before them.
 */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "families.h"
#include "layer.h"

enum { REF = 0 }; /* arg[REF]: 1 when bound to the reference table */

/* The kernels of one kind for one set. */
typedef struct pool_kernels {
    void (*forward)(const cnn_conv_geom *g, int n, const float *x, float *y);
    void (*max_backward)(const cnn_conv_geom *g, int n, const float *x, const float *y,
                         const float *dy, const float *mask, float *dx);
    void (*avg_backward)(const cnn_conv_geom *g, int n, const float *dy, const float *mask,
                         float *dx);
} pool_kernels;

static const pool_kernels max_sets[2] = {
    {cnn_maxpool_forward_scalar, cnn_maxpool_backward_data_scalar, NULL},
    {cnn_maxpool_forward_ref, cnn_maxpool_backward_data_ref, NULL},
};
static const pool_kernels avg_sets[2] = {
    {cnn_avgpool_forward_scalar, NULL, cnn_avgpool_backward_data_scalar},
    {cnn_avgpool_forward_ref, NULL, cnn_avgpool_backward_data_ref},
};

extern const cnn_layer_op cnn_layer_maxpool;

static int is_max(const cnn_layer *L) { return L->op == &cnn_layer_maxpool; }

static const pool_kernels *kernels_of(const cnn_layer *L)
{
    int ref = L->arg[REF] != 0;
    return is_max(L) ? &max_sets[ref] : &avg_sets[ref];
}

static int parse(const char *s, const char *e, cnn_layer *L, const char **why)
{
    const char *p;
    if (!cnn_layer_keyword(s, e, L->op->name, &p))
        return 0;
    *why = is_max(L) ? "maxpool needs K[sS] (window 1..64, stride 1..64), "
                       "e.g. maxpool2 or maxpool3s2"
                     : "avgpool needs K[sS] (window 1..64, stride 1..64), "
                       "e.g. avgpool2 or avgpool3s2";
    if (!cnn_layer_parse_int(&p, 64, &L->g.k))
        return -1;
    L->g.stride = L->g.k;
    if (p < e && *p == 's') {
        p++;
        if (!cnn_layer_parse_int(&p, 64, &L->g.stride))
            return -1;
    }
    return p == e ? 1 : -1;
}

static void format(const cnn_layer *L, char *buf, size_t size)
{
    if (L->g.stride == L->g.k)
        snprintf(buf, size, "%s%d", L->op->name, L->g.k);
    else
        snprintf(buf, size, "%s%ds%d", L->op->name, L->g.k, L->g.stride);
}

static int shape(cnn_layer *L, int layer)
{
    cnn_conv_geom *g = &L->g;
    if (g->in_h < g->k || g->in_w < g->k)
        return cnn_fail(CNN_ERR_SPEC, "model spec: %s layer %d (%dx%d window) does not fit "
                        "its %dx%d input", L->op->name, layer, g->k, g->k, g->in_h, g->in_w);
    g->out_h = (g->in_h - g->k) / g->stride + 1;
    g->out_w = (g->in_w - g->k) / g->stride + 1;
    g->out_c = g->in_c;
    g->pad_top = g->pad_left = 0;
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
    kernels_of(L)->forward(&L->g, n, x, y);
}

static void backward_data(const cnn_layer *L, const cnn_pass_ctx *ctx, int n, const float *x,
                          const float *y, const float *dy, const float *w,
                          const float *mask, float *dx)
{
    (void)ctx, (void)w;
    const pool_kernels *k = kernels_of(L);
    if (k->max_backward)
        k->max_backward(&L->g, n, x, y, dy, mask, dx);
    else
        k->avg_backward(&L->g, n, dy, mask, dx);
}

static void describe(const cnn_layer *L, cnn_layer_text *t, cnn_layer_info *info)
{
    (void)info;
    /* The row is short, as the summary's first column is 29 wide. */
    int max = is_max(L);
    snprintf(t->row, sizeof t->row, "%s %dx%d/%d", max ? "MaxPool" : "AvgPool", L->g.k,
             L->g.k, L->g.stride);
    snprintf(t->keras, sizeof t->keras, "%s", max ? "MaxPooling2D" : "AveragePooling2D");
    snprintf(t->settings, sizeof t->settings, "%dx%d window, stride %d", L->g.k, L->g.k,
             L->g.stride);
}

const cnn_layer_op cnn_layer_maxpool = {
    .name = "maxpool", .example = "maxpool2",
    .input = CNN_SHAPE_IMAGE, .output = CNN_SHAPE_IMAGE,
    .input_msg = "maxpool needs an image input (not after flatten, dense or gap)",
    .parse = parse, .format = format, .shape = shape, .bind = bind,
    .forward = forward, .backward_data = backward_data, .describe = describe,
};

const cnn_layer_op cnn_layer_avgpool = {
    .name = "avgpool", .example = "avgpool2s1",
    .input = CNN_SHAPE_IMAGE, .output = CNN_SHAPE_IMAGE,
    .input_msg = "avgpool needs an image input (not after flatten, dense or gap)",
    .parse = parse, .format = format, .shape = shape, .bind = bind,
    .forward = forward, .backward_data = backward_data, .describe = describe,
};
