/*
 * bn.c — the "bn" kind: batch normalisation over channels, after a conv
 * (per channel over the batch's samples and pixels) or a dense layer (per
 * unit over the batch), as Keras's BatchNormalization: "bn" has its
 * defaults, momentum 0.99 and epsilon 1e-3; "bn:M" and "bn:M:E" set them.
 *
 * Tensors: gamma (ones) and beta (zeros), trained; moving_mean (zeros) and
 * moving_variance (ones), buffers: saved, never trained.  Training
 * normalises with the batch's mean and (biased) variance, made from sums
 * over the whole batch (layer.h: sums; the trainer adds every thread's
 * samples' partials in sample order, so the batch is one whole across
 * threads); inference with the moving statistics, so one image gets the
 * same output alone or in a batch.  After each step the moving statistics
 * follow the batch's: m = m * momentum + batch * (1 - momentum).
 * A following relu is fused into its output.  Kernels: kernels/bn.h.
 */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "layer.h"

enum { GAMMA, BETA, MEAN, VAR };
enum { MOMENTUM = 0, EPS = 1 };        /* farg */
enum { BLOCK = 64 };                   /* channels summed at once on a call
                                          that holds the whole batch */
static const float default_momentum = 0.99f, default_eps = 1e-3f;

static int parse(const char *s, const char *e, cnn_layer *L, const char **why)
{
    const char *p;
    if (!cnn_layer_keyword(s, e, "bn", &p) || (p < e && *p != ':'))
        return 0;
    *why = "bn takes [:MOMENTUM[:EPSILON]], momentum in [0, 1), epsilon in (0, 1], "
           "e.g. bn or bn:0.9:1e-5";
    L->farg[MOMENTUM] = default_momentum;
    L->farg[EPS] = default_eps;
    if (p < e && (*p++ != ':' || !cnn_layer_parse_real(&p, 0, 1, &L->farg[MOMENTUM]) ||
                  !(L->farg[MOMENTUM] < 1)))
        return -1;
    if (p < e && (*p++ != ':' || !cnn_layer_parse_real(&p, 0, 1, &L->farg[EPS]) ||
                  !(L->farg[EPS] > 0)))
        return -1;
    return p == e ? 1 : -1;
}

static void format(const cnn_layer *L, char *buf, size_t size)
{
    char m[32], e[32];
    cnn_layer_format_real(m, sizeof m, "bn:", L->farg[MOMENTUM]);
    cnn_layer_format_real(e, sizeof e, ":", L->farg[EPS]);
    if (L->farg[EPS] != default_eps)
        snprintf(buf, size, "%s%s", m, e);
    else if (L->farg[MOMENTUM] != default_momentum)
        snprintf(buf, size, "%s", m);
    else
        snprintf(buf, size, "bn");
}

static int tensors(const cnn_layer *L, cnn_tensor_decl *out)
{
    static const char *const names[] = {"gamma", "beta", "moving_mean", "moving_variance"};
    static const cnn_tensor_init init[] = {CNN_INIT_ONES, CNN_INIT_ZEROS, CNN_INIT_ZEROS,
                                           CNN_INIT_ONES};
    for (int i = 0; i < 4; i++)
        out[i] = (cnn_tensor_decl){.suffix = names[i], .ndim = 1, .shape = {L->g.out_c},
                                   .count = (size_t)L->g.out_c,
                                   .role = i < 2 ? CNN_TENSOR_PARAM : CNN_TENSOR_BUFFER,
                                   .init = init[i]};
    return 4;
}

static void bind(cnn_layer *L, const cnn_kernel_table *kt)
{
    static const cnn_bn_kernels ref = CNN_BN_KERNELS(ref), scalar = CNN_BN_KERNELS(scalar);
    L->k.bn = kt == &cnn_kernels_ref ? ref : scalar;
}

static int hw_of(const cnn_layer *L) { return L->g.in_h * L->g.in_w; }

static const float *tensor(const cnn_layer *L, const float *params, int i)
{
    return params + L->t_off[i];
}

/* The statistics of the batch from totals of channels [c0, ...) over n
   samples. */
static cnn_bn_stats batch_stats(const cnn_layer *L, const double *tot, int w, long n)
{
    return (cnn_bn_stats){.sum = tot, .sumsq = tot + w, .count = (double)n * hw_of(L),
                          .eps = L->farg[EPS]};
}

static void forward(const cnn_layer *L, const cnn_pass_ctx *ctx, int n, const float *x,
                    const float *params, float *y)
{
    const int c = L->g.in_c, hw = hw_of(L);
    const float *gamma = tensor(L, params, GAMMA), *beta = tensor(L, params, BETA);
    if (!ctx->training) {
        cnn_bn_stats st = {.mean = tensor(L, params, MEAN), .var = tensor(L, params, VAR),
                           .eps = L->farg[EPS]};
        L->k.bn.forward(n, hw, c, 0, c, x, &st, gamma, beta, L->relu, y);
    } else if (ctx->batch_sums) {
        cnn_bn_stats st = batch_stats(L, ctx->batch_sums, c, ctx->batch);
        L->k.bn.forward(n, hw, c, 0, c, x, &st, gamma, beta, L->relu, y);
    } else { /* the call is the batch: its totals, a block of channels at a time */
        for (int b = 0; b < c; b += BLOCK) {
            const int w = c - b < BLOCK ? c - b : BLOCK;
            double tot[2 * BLOCK] = {0};
            L->k.bn.sums_forward(n, hw, c, b, b + w, x, 1, tot);
            cnn_bn_stats st = batch_stats(L, tot, w, n);
            L->k.bn.forward(n, hw, c, b, b + w, x, &st, gamma, beta, L->relu, y);
        }
    }
}

/* A whole-batch call's totals of channels [b, b + w), forward and
   backward. */
static void own_totals(const cnn_layer *L, int n, const float *x, const float *dy, int b,
                       int w, double *fwd, double *bwd)
{
    const int c = L->g.in_c, hw = hw_of(L);
    memset(fwd, 0, 2 * (size_t)w * sizeof *fwd);
    memset(bwd, 0, 2 * (size_t)w * sizeof *bwd);
    L->k.bn.sums_forward(n, hw, c, b, b + w, x, 1, fwd);
    cnn_bn_stats st = batch_stats(L, fwd, w, n);
    L->k.bn.sums_backward(n, hw, c, b, b + w, x, dy, &st, 1, bwd);
}

static void backward_data(const cnn_layer *L, const cnn_pass_ctx *ctx, int n, const float *x,
                          const float *y, const float *dy, const float *w, const float *mask,
                          float *dx)
{
    (void)y;
    const int c = L->g.in_c, hw = hw_of(L);
    const float *gamma = tensor(L, w, GAMMA);
    if (ctx->batch_sums) {
        cnn_bn_stats st = batch_stats(L, ctx->batch_sums, c, ctx->batch);
        L->k.bn.backward_data(n, hw, c, 0, c, x, dy, &st, ctx->grad_sums, gamma, mask, dx);
        return;
    }
    for (int b = 0; b < c; b += BLOCK) {
        const int bw = c - b < BLOCK ? c - b : BLOCK;
        double fwd[2 * BLOCK], bwd[2 * BLOCK];
        own_totals(L, n, x, dy, b, bw, fwd, bwd);
        cnn_bn_stats st = batch_stats(L, fwd, bw, n);
        L->k.bn.backward_data(n, hw, c, b, b + bw, x, dy, &st, bwd, gamma, mask, dx);
    }
}

/* A whole-batch call's gradient, added (the trainer uses sums_grads). */
static void backward_weights(const cnn_layer *L, const cnn_pass_ctx *ctx, int n,
                             const float *x, const float *dy, float *grads)
{
    (void)ctx;
    const int c = L->g.in_c;
    float *beta = grads + (L->t_off[BETA] - L->t_off[GAMMA]);
    for (int b = 0; b < c; b += BLOCK) {
        const int bw = c - b < BLOCK ? c - b : BLOCK;
        double fwd[2 * BLOCK], bwd[2 * BLOCK];
        own_totals(L, n, x, dy, b, bw, fwd, bwd);
        for (int j = 0; j < bw; j++) {
            grads[b + j] += (float)bwd[bw + j]; /* gamma: sum of dy * xhat */
            beta[b + j] += (float)bwd[j];       /* beta: sum of dy */
        }
    }
}

static int sums(const cnn_layer *L) { return 2 * L->g.in_c; }

static void forward_sums(const cnn_layer *L, int n, const float *x, double *out)
{
    const int c = L->g.in_c;
    L->k.bn.sums_forward(n, hw_of(L), c, 0, c, x, 0, out);
}

static void backward_sums(const cnn_layer *L, const cnn_pass_ctx *ctx, int n, const float *x,
                          const float *dy, const float *params, double *out)
{
    (void)params;
    const int c = L->g.in_c;
    cnn_bn_stats st = batch_stats(L, ctx->batch_sums, c, ctx->batch);
    L->k.bn.sums_backward(n, hw_of(L), c, 0, c, x, dy, &st, 0, out);
}

static void sums_grads(const cnn_layer *L, const double *gsums, float *grads)
{
    const int c = L->g.in_c;
    float *beta = grads + (L->t_off[BETA] - L->t_off[GAMMA]);
    for (int j = 0; j < c; j++) {
        grads[j] = (float)gsums[c + j];
        beta[j] = (float)gsums[j];
    }
}

static void update_buffers(const cnn_layer *L, const double *tot, long batch, float *params)
{
    const int c = L->g.in_c;
    const float mom = L->farg[MOMENTUM];
    float *mean = params + L->t_off[MEAN], *var = params + L->t_off[VAR];
    cnn_bn_stats st = batch_stats(L, tot, c, batch);
    for (int j = 0; j < c; j++) {
        double m = st.sum[j] / st.count, v = st.sumsq[j] / st.count - m * m;
        mean[j] = mean[j] * mom + (float)m * (1 - mom);
        var[j] = var[j] * mom + (float)(v > 0 ? v : 0) * (1 - mom);
    }
}

static void describe(const cnn_layer *L, cnn_layer_text *t, cnn_layer_info *info)
{
    (void)info;
    cnn_layer_name_text(t, "BatchNormalization");
    snprintf(t->row, sizeof t->row, "BatchNorm");
    snprintf(t->settings, sizeof t->settings, "momentum %g, epsilon %g", L->farg[MOMENTUM],
             L->farg[EPS]);
}

const cnn_layer_op cnn_layer_bn = {
    .name = "bn", .example = "bn",
    .input = CNN_SHAPE_ANY, .output = CNN_SHAPE_ANY, .fuses_relu = 1,
    .parse = parse, .format = format, .shape = cnn_layer_shape_same, .tensors = tensors,
    .bind = bind, .forward = forward, .backward_data = backward_data,
    .backward_weights = backward_weights, .sums = sums, .forward_sums = forward_sums,
    .backward_sums = backward_sums, .sums_grads = sums_grads,
    .update_buffers = update_buffers, .describe = describe,
};
