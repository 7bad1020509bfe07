/*
 * workspace.h — one thread's buffers for running a model on a group of
 * samples (inputs as floats, every layer's activations, backward scratch,
 * logit gradients), what they cost against the machine's memory, and the
 * conversion of uint8 images to floats.
 */
#ifndef CNN_WORKSPACE_H
#define CNN_WORKSPACE_H

#include <stdint.h>

#include "model.h"

typedef struct cnn_workspace {
    int group;        /* samples per forward/backward call */
    float *x;         /* (group, input) */
    float *acts;      /* group * act_floats */
    float *scratch;   /* 2 * group * max_act, backward only */
    float *dlogits;   /* (group, classes) */
} cnn_workspace;

/* Allocate (64-byte aligned, first touched by the calling thread).
   with_backward = 0 skips the backward buffers.  Returns CNN_OK or
   CNN_ERR_NOMEM. */
int cnn_workspace_alloc(cnn_workspace *w, const cnn_model *m, int group,
                        int with_backward);
void cnn_workspace_free(cnn_workspace *w);

/* Bytes cnn_workspace_alloc takes for group samples (as a double: no
   overflow whatever the model). */
double cnn_workspace_bytes(const cnn_model *m, int group, int with_backward);

/* The machine's physical memory in bytes (sysconf), 0 when unknown. */
double cnn_memory_bytes(void);

/* The bound on what training and evaluation allocate: CNN_OK when bytes
   fit in the machine's physical memory (or it is unknown), else
   CNN_ERR_NOMEM with "WHO: WHAT needs 3.0 TiB of buffers for 2 threads,
   more than this machine's 23.4 GiB of memory". */
int cnn_memory_check(double bytes, int threads, const char *who, const char *what);

/* x[i] = images[idx[i]] / 255 for i < n (idx NULL: images first..first+n). */
void cnn_gather_images(const cnn_model *m, const uint8_t *images,
                       const int32_t *idx, long first, int n, float *x);

/* Samples per group for a model: small enough that a group's activations
   stay in cache, large enough to reuse big dense weights. */
int cnn_group_size(const cnn_model *m, int share);

#endif /* CNN_WORKSPACE_H */
