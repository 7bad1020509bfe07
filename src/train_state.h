/*
 * train_state.h — the inside of cnn_train_state: what the trainer keeps
 * between steps beyond the weights, so that a checkpoint can resume a run
 * bit for bit.
 */
#ifndef CNN_TRAIN_STATE_H
#define CNN_TRAIN_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "cnn.h"
#include "rng.h"

struct cnn_train_state {
    int ready;            /* set up by the trainer (or a checkpoint load) */
    size_t block;         /* floats in m and v: the model's parameter block */
    float *m, *v;         /* Adam's moments, 64-byte aligned */
    long t;               /* optimizer steps taken */
    long count;           /* training images; order has count entries */
    int32_t *order;       /* this epoch's shuffled order of the images */
    cnn_rng rng;          /* the shuffling PRNG after this epoch's shuffle */
    /* the settings the run started with */
    int epochs, batch, threads, shuffle;
    float lr, beta1, beta2, eps;
    uint64_t seed;
    /* the current epoch's running sums (steps t % steps_per_epoch of it) */
    double loss_sum;
    long correct, seen;
    double train_s;       /* training seconds so far, without validation */
    double best_val;      /* best validation accuracy so far, -1 if none */
};

/* Allocate m, v (zeroed) and order (identity) for a run; CNN_ERR_NOMEM. */
int cnn_train_state_alloc(cnn_train_state *s, size_t block, long count);

#endif /* CNN_TRAIN_STATE_H */
