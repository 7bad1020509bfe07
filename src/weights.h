/*
 * weights.h — pieces of weights I/O that checkpoints reuse: the model's
 * tensors as a safetensors list, the common metadata, and a model built
 * from a file's metadata.
 */
#ifndef CNN_WEIGHTS_H
#define CNN_WEIGHTS_H

#include <jansson.h>
#include <stdint.h>

#include "model.h"
#include "safetensors.h"

/* The model's parameter tensors (names prefixed with prefix) with their
   data at params + offset (params: a block laid out like m->params).
   With out NULL, returns the count only; -1 when out of memory. */
int cnn_weights_tensors(const cnn_model *m, float *params, const char *prefix,
                        st_tensor *out);

/* The same for the trainable tensors only (an optimizer's state tensors
   follow them; buffers have none).  -1 when out of memory. */
int cnn_weights_param_tensors(const cnn_model *m, float *params, const char *prefix,
                              st_tensor *out);

/* {"format": format, "spec": ..., "input": "HxWxC"} (NULL: out of memory). */
json_t *cnn_weights_metadata(const cnn_model *m, const char *format);

/* Create (not load) the model a file's metadata describes, its parameters
   zero: refused (CNN_ERR_FORMAT) before anything is allocated when the
   file's data_size bytes of tensors cannot hold them (4 bytes a
   parameter, and 4 more for each state tensor of a checkpoint's
   optimizer: 12 for Adam's). */
int cnn_weights_create_model(const char *path, json_t *meta, uint64_t data_size,
                             cnn_model **out);

#endif /* CNN_WEIGHTS_H */
