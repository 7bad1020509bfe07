/*
 * adam.h — the Adam update as Keras defines it, fused with the reduction of
 * the per-thread gradient buffers over one slice of the parameters.
 */
#ifndef CNN_ADAM_H
#define CNN_ADAM_H

#include <stddef.h>

typedef struct cnn_adam {
    float lr, beta1, beta2, eps;
    long t;     /* steps taken */
    float *m;   /* first moments, one per parameter */
    float *v;   /* second moments */
} cnn_adam;

/* Keras's step size for step t (1-based):
   lr * sqrt(1 - beta2^t) / (1 - beta1^t). */
float cnn_adam_step_size(const cnn_adam *a, long t);

/*
 * For i in [begin, end): g = grads[0][i] + ... + grads[nthreads-1][i] (in
 * that order), the buffers are cleared, and
 *   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g;  p -= lr_t*m/(sqrt(v)+eps).
 */
void cnn_adam_reduce_update(const cnn_adam *a, float lr_t, float *params,
                            float *const *grads, int nthreads, size_t begin,
                            size_t end);

#endif /* CNN_ADAM_H */
