/*
 * checkpoint.h — what the weights reader needs to know about a checkpoint
 * before it allocates: how many state tensors its optimizer declares
 * (checkpoint.c holds the format).
 */
#ifndef CNN_CHECKPOINT_H
#define CNN_CHECKPOINT_H

#include <jansson.h>
#include <stdint.h>

#include "model.h"

/* The per-parameter state tensors the optimizer named in a checkpoint's
   metadata declares for its settings (no "optimizer": Adam's two), and
   its name into *name; a name or setting the loader will refuse counts as
   Adam's. */
int cnn_checkpoint_state_tensors(json_t *meta, const char **name);

/* Bytes of tensors a checkpoint of m holds: 4 a value (parameters and
   buffers), 4 more a trainable parameter for each of the optimizer's nopt
   state tensors, then count int32s (the shuffled order). */
uint64_t cnn_checkpoint_tensor_bytes(const cnn_model *m, int nopt, long count);

#endif /* CNN_CHECKPOINT_H */
