/*
 * adam.c — Keras's Adam, the default optimizer: the bias correction folded
 * into the step size, epsilon outside the square root.  State: "m" (first
 * moments) and "v" (second moments).
 */
#include <math.h>

#include "optimizer.h"
#include "widest.h"

/* The step's constants. */
typedef struct adam_k {
    float lr_t, b1, b2, eps;
} adam_k;

/* n elements: m, v updated in place, the gradient cleared, the new
   parameters (from p_in) written to p_out, which may be p_in itself. */
WIDEST static void adam_core(const adam_k *k, const float *p_in, float *p_out,
                             float *restrict g, float *restrict m, float *restrict v,
                             size_t n)
{
    const float lr_t = k->lr_t, b1 = k->b1, b2 = k->b2, eps = k->eps;
#pragma omp simd
    for (size_t j = 0; j < n; j++) {
        float gj = g[j];
        g[j] = 0;
        m[j] = b1 * m[j] + (1.0f - b1) * gj;
        v[j] = b2 * v[j] + (1.0f - b2) * gj * gj;
        p_out[j] = p_in[j] - lr_t * m[j] / (sqrtf(v[j]) + eps);
    }
}

#if defined(__x86_64__)
#include <emmintrin.h>
#include <stdint.h>

/* The same, the new parameters written with non-temporal stores (SSE,
   every x86-64) through a 64-float staging block: a line another core has
   read needs no ownership first, so the owner of a big layer's rows that
   every thread reads does not wait on the others' caches.  The values are
   the same; a fence at the end orders the stores before the barrier. */
static void adam_streamed(const adam_k *k, float *p, float *g, float *m, float *v, size_t n)
{
    /* floats up to the first 16-byte boundary, done in place */
    size_t head = ((16 - ((uintptr_t)p & 15)) & 15) / sizeof(float), j;
    head = head < n ? head : n;
    adam_core(k, p, p, g, m, v, head);
    float stage[64] __attribute__((aligned(16)));
    for (j = head; j + 64 <= n; j += 64) {
        adam_core(k, p + j, stage, g + j, m + j, v + j, 64);
        for (int q = 0; q < 64; q += 4)
            _mm_stream_ps(p + j + q, _mm_load_ps(stage + q));
    }
    adam_core(k, p + j, p + j, g + j, m + j, v + j, n - j);
    _mm_sfence();
}
#endif

void cnn_adam_slice(const cnn_optim_step *s, float *params, float *grad, float *m, float *v,
                    size_t begin, size_t end)
{
    const cnn_optim_params *h = s->p;
    double b1t = pow(h->beta1, (double)s->t), b2t = pow(h->beta2, (double)s->t);
    const adam_k k = {(float)(s->lr * sqrt(1.0 - b2t) / (1.0 - b1t)), h->beta1, h->beta2,
                      h->eps};
    if (end <= begin)
        return;
#if defined(__x86_64__)
    if (s->stream) {
        adam_streamed(&k, params + begin, grad + begin, m + begin, v + begin, end - begin);
        return;
    }
#endif
    adam_core(&k, params + begin, params + begin, grad + begin, m + begin, v + begin,
              end - begin);
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
