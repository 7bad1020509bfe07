/*
 * adamw.c — AdamW: Adam with decoupled weight decay, in PyTorch's order:
 * first every parameter shrinks, p *= 1 - lr*wd (lr the scheduled rate,
 * before Adam's bias correction), then Keras's Adam step (adam.c) on the
 * shrunk parameters.  With wd = 0 it is Adam bit for bit.  The decay
 * applies to every parameter, biases included (PyTorch's and Keras's
 * default).  State: "m" and "v", as Adam's.
 */
#include "optimizer.h"
#include "widest.h"

static const char *adamw_check(const cnn_optim_params *p)
{
    const char *why = cnn_adam_check_common(p);
    if (why)
        return why;
    if (!(p->weight_decay >= 0 && p->weight_decay < 1))
        return "adamw needs a weight decay from 0 to below 1";
    return NULL;
}

WIDEST static void adamw_update(const cnn_optim_step *s, float *params, float *grad,
                         float *const *state, size_t begin, size_t end)
{
    const float keep = (float)(1.0 - s->lr * (double)s->p->weight_decay);
    float *restrict p = params;
    if (s->p->weight_decay != 0)
#pragma omp simd
        for (size_t j = begin; j < end; j++)
            p[j] *= keep;
    cnn_adam_slice(s, params, grad, state[0], state[1], begin, end);
}

/* Without --weight-decay the command takes PyTorch's default, 0.01. */
const cnn_optimizer cnn_optim_adamw = {"adamw", cnn_adam_states, adamw_check, adamw_update,
                                       0.01f};
