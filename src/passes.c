/*
 * passes.c — forward and backward passes of a group of samples through a
 * model's layers, and the fused, numerically stable softmax cross-entropy.
 * Single-threaded: the trainer runs one call per thread on its own samples.
 */
#include <math.h>

#include "model.h"

/* The layer that produced layer l's input, skipping flattens (which only
   reshape NHWC memory); -1 when the input is the image itself. */
static int producer(const cnn_model *m, int l)
{
    int j = l - 1;
    while (j >= 0 && m->layers[j].kind == CNN_LAYER_FLATTEN)
        j--;
    return j;
}

static const float *layer_input(const cnn_model *m, int l, int n, const float *x,
                                const float *acts)
{
    int j = producer(m, l);
    return j < 0 ? x : acts + (size_t)n * m->layers[j].act_off;
}

const float *cnn_model_forward(const cnn_model *m, int n, const float *x,
                               float *acts)
{
    const float *in = x;
    for (int l = 0; l < m->nlayers; l++) {
        const cnn_layer *L = &m->layers[l];
        if (L->kind == CNN_LAYER_FLATTEN)
            continue;
        float *out = acts + (size_t)n * L->act_off;
        const float *w = m->params + L->w_off, *b = m->params + L->b_off;
        if (L->kind == CNN_LAYER_CONV)
            L->conv.forward(&L->g, n, in, w, b, out, L->relu);
        else
            L->dense.forward(n, L->g.in_h * L->g.in_w * L->g.in_c, L->g.out_c, in, w, b,
                             out, L->relu);
        in = out;
    }
    return in;
}

int cnn_model_needs_pack(const cnn_model *m)
{
    for (int l = 0; l < m->nlayers; l++)
        if (m->layers[l].kind == CNN_LAYER_CONV && m->layers[l].conv.pack_backward_data)
            return 1;
    return 0;
}

void cnn_model_pack(const cnn_model *m, float *packed)
{
    for (int l = 0; l < m->nlayers; l++) {
        const cnn_layer *L = &m->layers[l];
        if (L->kind == CNN_LAYER_CONV && L->conv.pack_backward_data)
            L->conv.pack_backward_data(&L->g, m->params + L->w_off, packed + L->w_off);
    }
}

void cnn_model_backward(const cnn_model *m, int n, const float *x,
                        const float *acts, const float *dlogits, float *grads,
                        const float *packed, float *scratch)
{
    const float *dy = dlogits;
    float *buf[2] = {scratch, scratch + (size_t)n * m->max_act};
    int which = 0;
    for (int l = m->nlayers - 1; l >= 0; l--) {
        const cnn_layer *L = &m->layers[l];
        if (L->kind == CNN_LAYER_FLATTEN)
            continue;
        int j = producer(m, l);
        const float *in = layer_input(m, l, n, x, acts);
        const float *w = m->params + L->w_off;
        float *dw = grads + L->w_off, *db = grads + L->b_off;
        /* The input's ReLU mask is fused into backward-data's store. */
        const float *mask = j >= 0 && m->layers[j].relu ? in : 0;
        float *dx = buf[which];
        int in_size = L->g.in_h * L->g.in_w * L->g.in_c;
        if (L->kind == CNN_LAYER_CONV) {
            L->conv.backward_weights(&L->g, n, in, dy, dw, db);
            const float *wb = L->conv.pack_backward_data ? packed + L->w_off : w;
            if (j >= 0)
                L->conv.backward_data(&L->g, n, dy, wb, mask, dx);
        } else {
            L->dense.backward_weights(n, in_size, L->g.out_c, in, dy, dw, db);
            if (j >= 0)
                L->dense.backward_data(n, in_size, L->g.out_c, dy, w, mask, dx);
        }
        dy = dx;
        which ^= 1;
    }
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

int cnn_argmax(const float *z, int classes)
{
    int best = 0;
    for (int c = 1; c < classes; c++)
        best = z[c] > z[best] ? c : best;
    return best;
}
