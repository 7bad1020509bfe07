/*
 * reduce.h — the trainer's fixed-order sum of the per-thread gradient
 * buffers over one slice of the parameters, with a check that the sums
 * are finite; the optimizer's update (optim/optimizer.h) comes after it.
 */
#ifndef CNN_REDUCE_H
#define CNN_REDUCE_H

#include <stddef.h>

/*
 * For i in [begin, end): grads[0][i] = grads[0][i] + ... +
 * grads[nthreads-1][i] (in that order) and the other buffers are cleared.
 * Returns the first index whose sum is not finite, or -1.
 */
long cnn_reduce_grads(float *const *grads, int nthreads, size_t begin, size_t end);

#endif /* CNN_REDUCE_H */
