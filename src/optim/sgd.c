/*
 * sgd.c — SGD with optional momentum and Nesterov momentum, as PyTorch
 * writes it (dampening 0): with g = grad + wd*p (weight decay coupled, as
 * PyTorch's SGD; none by default),
 *   momentum 0:  p -= lr*g                      (no state)
 *   momentum mu: v = mu*v + g;  p -= lr*v        (state "velocity")
 *   Nesterov:    v = mu*v + g;  p -= lr*(g + mu*v)
 * v starts at 0, so the first step's v is g, as PyTorch's.
 */
#include "optimizer.h"
#include "widest.h"

static int sgd_states(const cnn_optim_params *p, const char **names)
{
    if (p->momentum == 0)
        return 0;
    names[0] = "velocity";
    return 1;
}

static const char *sgd_check(const cnn_optim_params *p)
{
    if (!(p->momentum >= 0 && p->momentum < 1))
        return "sgd needs a momentum from 0 to below 1";
    if (p->nesterov && p->momentum == 0)
        return "nesterov needs a momentum above 0";
    if (!(p->weight_decay >= 0 && p->weight_decay < 1))
        return "sgd needs a weight decay from 0 to below 1";
    return NULL;
}

WIDEST static void sgd_update(const cnn_optim_step *s, float *params, float *grad,
                       float *const *state, size_t begin, size_t end)
{
    const float lr = (float)s->lr, mu = s->p->momentum, wd = s->p->weight_decay;
    float *restrict p = params, *restrict g = grad;
    if (wd != 0)
#pragma omp simd
        for (size_t j = begin; j < end; j++)
            g[j] += wd * p[j];
    if (mu == 0) {
#pragma omp simd
        for (size_t j = begin; j < end; j++) {
            p[j] -= lr * g[j];
            g[j] = 0;
        }
        return;
    }
    float *restrict v = state[0];
    if (s->p->nesterov)
#pragma omp simd
        for (size_t j = begin; j < end; j++) {
            float gj = g[j];
            g[j] = 0;
            v[j] = mu * v[j] + gj;
            p[j] -= lr * (gj + mu * v[j]);
        }
    else
#pragma omp simd
        for (size_t j = begin; j < end; j++) {
            float gj = g[j];
            g[j] = 0;
            v[j] = mu * v[j] + gj;
            p[j] -= lr * v[j];
        }
}

const cnn_optimizer cnn_optim_sgd = {"sgd", sgd_states, sgd_check, sgd_update, 0};
