/*
 * passes.c — forward and backward passes of a group of samples through a
 * model's layers (each layer's kind runs its own: layer.h), the weight
 * repacking some kernels ask for, and the fused, numerically stable softmax
 * cross-entropy (plain, and with label smoothing).
 * Single-threaded: the trainer runs one call per thread on its own samples.
 */
#include <math.h>

#include "model.h"

int cnn_model_producer(const cnn_model *m, int l)
{
    int j = l - 1;
    while (j >= 0 && m->layers[j].op->alias)
        j--;
    return j;
}

const float *cnn_model_forward_ctx(const cnn_model *m, const cnn_pass_ctx *ctx, int n,
                                   const float *x, float *acts)
{
    const float *in = x;
    for (int l = 0; l < m->nlayers; l++) {
        const cnn_layer *L = &m->layers[l];
        if (L->op->alias)
            continue;
        float *out = acts + (size_t)n * L->act_off;
        L->op->forward(L, ctx, n, in, m->params, out);
        in = out;
    }
    return in;
}

const float *cnn_model_forward(const cnn_model *m, int n, const float *x,
                               float *acts)
{
    const cnn_pass_ctx inference = {0};
    return cnn_model_forward_ctx(m, &inference, n, x, acts);
}

/* Whether layer L's kernels read repacked weights in backward-data. */
int cnn_layer_packs(const cnn_layer *L)
{
    return L->op->pack && L->op->pack(L, NULL, NULL, 0, 1);
}

int cnn_model_needs_pack(const cnn_model *m)
{
    for (int l = 0; l < m->nlayers; l++)
        if (cnn_layer_packs(&m->layers[l]))
            return 1;
    return 0;
}

void cnn_model_pack(const cnn_model *m, float *packed)
{
    for (int l = 0; l < m->nlayers; l++)
        if (cnn_layer_packs(&m->layers[l]))
            m->layers[l].op->pack(&m->layers[l], m->params, packed, 0, 1);
}

void cnn_model_backward_ctx(const cnn_model *m, const cnn_pass_ctx *ctx, int n,
                            const float *x, const float *acts, const float *dlogits,
                            float *grads, const float *packed, float *scratch)
{
    const float *dy = dlogits;
    float *buf[2] = {scratch, scratch + (size_t)n * m->max_act};
    int which = 0;
    for (int l = m->nlayers - 1; l >= 0; l--) {
        const cnn_layer *L = &m->layers[l];
        if (L->op->alias)
            continue;
        int j = cnn_model_producer(m, l);
        const float *in = j < 0 ? x : acts + (size_t)n * m->layers[j].act_off;
        const float *y = acts + (size_t)n * L->act_off;
        /* The input's fused ReLU mask goes into backward-data's store. */
        const float *mask = j >= 0 && m->layers[j].relu ? in : 0;
        float *dx = buf[which];
        if (L->op->backward_weights)
            L->op->backward_weights(L, ctx, n, in, dy, grads + L->t_off[0]);
        if (j >= 0)
            L->op->backward_data(L, ctx, n, in, y, dy, cnn_layer_packs(L) ? packed : m->params, mask,
                                 dx);
        dy = dx;
        which ^= 1;
    }
}

void cnn_model_backward(const cnn_model *m, int n, const float *x,
                        const float *acts, const float *dlogits, float *grads,
                        const float *packed, float *scratch)
{
    const cnn_pass_ctx training = {.training = 1};
    cnn_model_backward_ctx(m, &training, n, x, acts, dlogits, grads, packed, scratch);
}

double cnn_softmax_xent(const float *logits, int classes, int label,
                        float *probs)
{
    float mx = logits[0];
    for (int c = 1; c < classes; c++)
        mx = logits[c] > mx ? logits[c] : mx;
    double sum = 0;
    for (int c = 0; c < classes; c++)
        sum += exp((double)logits[c] - mx);
    if (probs)
        for (int c = 0; c < classes; c++)
            probs[c] = (float)(exp((double)logits[c] - mx) / sum);
    return log(sum) - ((double)logits[label] - mx);
}

double cnn_softmax_xent_smooth(const float *logits, int classes, int label, float eps,
                               float *dlogits)
{
    double loss = cnn_softmax_xent(logits, classes, label, dlogits);
    const float off = eps / (float)classes, on = 1.0f - eps + off;
    for (int c = 0; c < classes; c++)
        dlogits[c] -= c == label ? on : off;
    /* -log p_c = loss + z_label - z_c, so the smoothed loss is
       loss + eps (z_label - mean z); exactly loss at eps = 0. */
    double mean = 0;
    for (int c = 0; c < classes; c++)
        mean += logits[c];
    mean /= classes;
    return loss + (double)eps * ((double)logits[label] - mean);
}

int cnn_argmax(const float *z, int classes)
{
    int best = 0;
    for (int c = 1; c < classes; c++)
        best = z[c] > z[best] ? c : best;
    return best;
}
