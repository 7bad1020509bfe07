/*
 * eval.h — evaluation pieces shared by cnn_evaluate and the trainer's
 * per-epoch validation: one thread's slice of a data set, and the
 * fixed-order summary of per-image results.
 */
#ifndef CNN_EVAL_H
#define CNN_EVAL_H

#include "model.h"
#include "workspace.h"

/* Check that a data set's images and labels fit the model. */
int cnn_eval_check(const cnn_model *m, const cnn_dataset *ds, const char *who);

/* Forward images [lo, hi) of ds through ws (forward buffers only): each
   image's loss into loss[i] and predicted class into pred[i]. */
void cnn_eval_slice(const cnn_model *m, const cnn_dataset *ds, long lo, long hi,
                    cnn_workspace *ws, double *loss, int *pred);

/* Sum per-image results in image order into out (mean loss, accuracy, and
   the confusion matrix when out->confusion is not NULL). */
void cnn_eval_summarise(const cnn_dataset *ds, int classes, const double *loss,
                        const int *pred, cnn_eval_result *out);

#endif /* CNN_EVAL_H */
