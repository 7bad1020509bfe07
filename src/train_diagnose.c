/*
 * train_diagnose.c — after a step that is not finite, what to name in the
 * message: the parameter tensor holding a non-finite gradient sum, or the
 * first layer whose output overflowed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "trainer.h"

/* The name of the parameter tensor holding block index i. */
void cnn_train_tensor_of(const cnn_model *m, long i, char *out, size_t size)
{
    int n = cnn_model_tensors(m, NULL, 0);
    cnn_tensor_info *t = calloc(n > 0 ? (size_t)n : 1, sizeof *t);
    snprintf(out, size, "parameter %ld", i);
    if (t)
        cnn_model_tensors(m, t, n);
    for (int k = 0; t && k < n; k++)
        if ((size_t)i >= t[k].offset && (size_t)i < t[k].offset + t[k].count)
            snprintf(out, size, "%.40s", t[k].name);
    free(t);
}

/* After a non-finite loss: forward the batch's samples [lo, hi) one at a
   time, under the step's pass context (so that a random layer draws what
   it drew in the step) and with the step's augmentation, and name the
   first layer whose output is not finite.  (A batch-norm layer normalises
   each image by itself here, not by the batch.) */
void cnn_train_nonfinite_layer(const cnn_model *m, const cnn_dataset *ds,
                               const cnn_train_state *s, int epoch, long lo, long hi,
                               const cnn_pass_ctx *step_ctx, cnn_workspace *ws,
                               char *out, size_t size)
{
    snprintf(out, size, "the loss");
    cnn_pass_ctx ctx = *step_ctx;
    const size_t in = cnn_model_input_size(m);
    float *tmp = cnn_augment_on(&s->augment) ? malloc(in * sizeof(float)) : NULL;
    for (long i = lo; i < hi; i++) {
        cnn_gather_images(m, ds->images, s->order, i, 1, ws->x);
        if (tmp) {
            cnn_augment_image(&s->augment, s->seed, epoch - 1, s->order[i], ds->height,
                              ds->width, ds->channels, ws->x, tmp);
            memcpy(ws->x, tmp, in * sizeof(float));
        }
        ctx.first = i - lo;
        cnn_model_forward_ctx(m, &ctx, 1, ws->x, ws->acts);
        for (int l = 0; l < m->nlayers; l++) {
            const cnn_layer *L = &m->layers[l];
            size_t len = cnn_layer_out_size(L);
            const float *y = ws->acts + L->act_off;
            for (size_t j = 0; j < len; j++)
                if (!isfinite(y[j])) {
                    snprintf(out, size, "the output of %s (image %d)", L->name,
                             (int)s->order[i]);
                    free(tmp);
                    return;
                }
        }
    }
    free(tmp);
}
