/*
 * adam.c — Keras's Adam, the default optimizer: the bias correction folded
 * into the step size, epsilon outside the square root.  State: "m" (first
 * moments) and "v" (second moments).
 */
#include <math.h>

#include "optimizer.h"
#include "widest.h"

WIDEST void cnn_adam_slice(const cnn_optim_step *s, float *params, float *grad, float *m,
                           float *v, size_t begin, size_t end)
{
    const cnn_optim_params *h = s->p;
    double b1t = pow(h->beta1, (double)s->t), b2t = pow(h->beta2, (double)s->t);
    const float lr_t = (float)(s->lr * sqrt(1.0 - b2t) / (1.0 - b1t));
    const float b1 = h->beta1, b2 = h->beta2, eps = h->eps;
    float *restrict mm = m, *restrict vv = v, *restrict p = params, *restrict g = grad;
#pragma omp simd
    for (size_t j = begin; j < end; j++) {
        float gj = g[j];
        g[j] = 0;
        mm[j] = b1 * mm[j] + (1.0f - b1) * gj;
        vv[j] = b2 * vv[j] + (1.0f - b2) * gj * gj;
        p[j] -= lr_t * mm[j] / (sqrtf(vv[j]) + eps);
    }
}

int cnn_adam_states(const cnn_optim_params *p, const char **names)
{
    (void)p;
    names[0] = "m";
    names[1] = "v";
    return 2;
}

const char *cnn_adam_check_common(const cnn_optim_params *p)
{
    if (!(p->beta1 >= 0 && p->beta1 < 1) || !(p->beta2 >= 0 && p->beta2 < 1) || !(p->eps > 0))
        return "adam and adamw need 0 <= beta1, beta2 < 1 and eps > 0";
    if (p->momentum != 0 || p->nesterov)
        return "momentum and nesterov are sgd's (adam and adamw have beta1)";
    return NULL;
}

static const char *adam_check(const cnn_optim_params *p)
{
    const char *why = cnn_adam_check_common(p);
    if (why)
        return why;
    if (p->weight_decay != 0)
        return "adam takes no weight decay; use adamw (decoupled weight decay)";
    return NULL;
}

static void adam_update(const cnn_optim_step *s, float *params, float *grad,
                        float *const *state, size_t begin, size_t end)
{
    cnn_adam_slice(s, params, grad, state[0], state[1], begin, end);
}

const cnn_optimizer cnn_optim_adam = {"adam", cnn_adam_states, adam_check, adam_update, 0};
