/*
 * train_state.c — creating, sizing, describing and freeing the training
 * state that checkpoints carry (train_state.h).
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "train_state.h"

int cnn_train_state_create(cnn_train_state **out)
{
    if (!out)
        return cnn_fail(CNN_ERR_ARG, "train state: no output pointer");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return cnn_fail(CNN_ERR_NOMEM, "train state: out of memory");
    (*out)->best_val = -1;
    return CNN_OK;
}

void cnn_train_state_free(cnn_train_state *s)
{
    if (!s)
        return;
    cnn_aligned_free(s->m);
    cnn_aligned_free(s->v);
    free(s->order);
    free(s);
}

int cnn_train_state_alloc(cnn_train_state *s, size_t block, long count)
{
    cnn_aligned_free(s->m);
    cnn_aligned_free(s->v);
    free(s->order);
    s->m = cnn_aligned_calloc(block * sizeof(float));
    s->v = cnn_aligned_calloc(block * sizeof(float));
    s->order = malloc((size_t)(count > 0 ? count : 1) * sizeof *s->order);
    if (!s->m || !s->v || !s->order) {
        cnn_aligned_free(s->m);
        cnn_aligned_free(s->v);
        free(s->order);
        s->m = s->v = NULL;
        s->order = NULL;
        return cnn_fail(CNN_ERR_NOMEM, "train: out of memory for the optimizer state");
    }
    for (long i = 0; i < count; i++)
        s->order[i] = (int32_t)i;
    s->block = block;
    s->count = count;
    return CNN_OK;
}

int cnn_train_state_info_get(const cnn_train_state *s, cnn_train_state_info *out)
{
    memset(out, 0, sizeof *out);
    long spe = s->batch > 0 ? (s->count + s->batch - 1) / s->batch : 0;
    out->steps = s->t;
    out->steps_per_epoch = spe;
    out->epoch = spe > 0 ? (int)(s->t / spe) + 1 : 1;
    out->step = spe > 0 ? s->t % spe : 0;
    out->epochs = s->epochs;
    out->batch = s->batch;
    out->threads = s->threads;
    out->shuffle = s->shuffle;
    out->lr = s->lr;
    out->beta1 = s->beta1;
    out->beta2 = s->beta2;
    out->eps = s->eps;
    out->seed = s->seed;
    out->best_val_accuracy = s->best_val;
    return CNN_OK;
}
