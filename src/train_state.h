/*
 * train_state.h — the inside of cnn_train_state: what the trainer keeps
 * between steps beyond the weights, so that a checkpoint can resume a run
 * bit for bit.
 */
#ifndef CNN_TRAIN_STATE_H
#define CNN_TRAIN_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "augment.h"
#include "cnn.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "rng.h"

struct cnn_train_state {
    int ready;            /* set up by the trainer (or a checkpoint load) */
    size_t block;         /* floats in each optimizer state tensor: the
                             model's parameter block */
    const cnn_optimizer *optim; /* NULL: the default, Adam */
    int nopt;             /* the optimizer's state tensors (its declaration) */
    float *opt[CNN_OPTIM_MAX_STATE]; /* each block floats, 64-byte aligned */
    long t;               /* optimizer steps taken */
    long count;           /* training images; order has count entries */
    int32_t *order;       /* this epoch's shuffled order of the images */
    cnn_rng rng;          /* the shuffling PRNG after this epoch's shuffle */
    /* the settings the run started with */
    int epochs, batch, threads, shuffle;
    float lr, beta1, beta2, eps;
    float momentum, weight_decay;
    int nesterov;
    cnn_schedule_params sched; /* the schedule, its settings and warmup */
    cnn_augment augment;  /* the data augmentation (all zero: none) */
    float label_smoothing;
    uint64_t seed;
    /* the current epoch's running sums (steps t % steps_per_epoch of it) */
    double loss_sum;
    long correct, seen;
    double train_s;       /* training seconds so far, without validation */
    double best_val;      /* best validation accuracy so far, -1 if none */
    /* the model the state belongs to: its canonical spec (cut to fit;
       block above is checked too) */
    char spec[128];
    /* the training data it belongs to: its image size (the model's input),
       and zlib's CRC-32 of its pixel bytes and of its label bytes (has_crc
       0: not known, a checkpoint written before cnn kept them) */
    int height, width, channels;
    int has_crc;
    uint32_t images_crc, labels_crc;
    char *source;         /* the checkpoint it was loaded from (malloc'ed),
                             for messages; NULL when made by cnn_train */
};

/* Allocate the optimizer's state tensors (zeroed; as s->optim declares
   them for s's hyper-parameters, which are set first) and order
   (identity) for a run; CNN_ERR_NOMEM. */
int cnn_train_state_alloc(cnn_train_state *s, size_t block, long count);

/* Free the optimizer's state tensors and the order (the state itself
   stays). */
void cnn_train_state_release(cnn_train_state *s);

/* The state's optimizer (Adam when none is set) and its hyper-parameters. */
const cnn_optimizer *cnn_train_state_optim(const cnn_train_state *s);
cnn_optim_params cnn_train_state_params(const cnn_train_state *s);

/* The names of the state tensors its optimizer declares; returns how many. */
int cnn_train_state_names(const cnn_train_state *s, const char **names);

/* Record the model a state belongs to: its spec and input size (a
   checkpoint load). */
void cnn_train_state_set_model(cnn_train_state *s, const cnn_model *m);

/* Record the model and the data set a run trains the state on (cnn_train,
   once the state is prepared): as cnn_train_state_set_model and, when the
   state has none yet (a fresh state, or a checkpoint older than
   fingerprints), the data's CRC-32s, so that the next checkpoint names the
   data it belongs to. */
void cnn_train_state_set_data(cnn_train_state *s, const cnn_model *m,
                              const cnn_dataset *ds);

/* zlib's CRC-32 of n bytes (in calls of at most 1 GiB: crc32 takes a
   uInt). */
uint32_t cnn_crc32(const void *data, size_t n);

/* A data set's fingerprint: zlib's CRC-32 of its pixel bytes and of its
   label bytes (also what the cnn command compares across MPI ranks). */
void cnn_data_fingerprint(const cnn_dataset *ds, uint32_t *images, uint32_t *labels);

#endif /* CNN_TRAIN_STATE_H */
