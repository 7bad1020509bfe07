/*
 * adam.h — the Adam update as Keras defines it, and the fixed-order
 * reduction of the per-thread gradient buffers over one slice of the
 * parameters that comes before it.
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
 * For i in [begin, end): grads[0][i] = grads[0][i] + ... +
 * grads[nthreads-1][i] (in that order) and the other buffers are cleared.
 * Returns the first index whose sum is not finite, or -1.
 */
long cnn_adam_reduce(float *const *grads, int nthreads, size_t begin, size_t end);

/*
 * For i in [begin, end), with g = grad[i] (then cleared):
 *   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g;  p -= lr_t*m/(sqrt(v)+eps).
 */
void cnn_adam_update(const cnn_adam *a, float lr_t, float *params, float *grad,
                     size_t begin, size_t end);

#endif /* CNN_ADAM_H */
