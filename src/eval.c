/*
 * eval.c — evaluation (mean loss, accuracy, confusion matrix) of a model on
 * a labelled data set, images split statically across threads (no more
 * threads than images, buffers checked against the machine's memory), and
 * single-image prediction.  Per-image results are summed in image order,
 * whatever the thread count.
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "eval.h"
#include "model.h"
#include "threads.h"
#include "workspace.h"

int cnn_eval_check(const cnn_model *m, const cnn_dataset *ds, const char *who)
{
    if (ds->height != m->in_h || ds->width != m->in_w || ds->channels != m->in_c)
        return cnn_fail(CNN_ERR_MISMATCH, "%s: images are %dx%dx%d but the model takes %dx%dx%d",
                        who, ds->height, ds->width, ds->channels, m->in_h, m->in_w, m->in_c);
    if (ds->classes > m->classes)
        return cnn_fail(CNN_ERR_MISMATCH, "%s: data has %d classes, the model %d", who,
                        ds->classes, m->classes);
    return CNN_OK;
}

void cnn_eval_slice(const cnn_model *m, const cnn_dataset *ds, long lo, long hi,
                    cnn_workspace *ws, double *loss, int *pred)
{
    const int classes = m->classes;
    for (long s = lo; s < hi; s += ws->group) {
        int n = (int)(hi - s < ws->group ? hi - s : ws->group);
        cnn_gather_images(m, ds->images, NULL, s, n, ws->x);
        const float *logits = cnn_model_forward(m, n, ws->x, ws->acts);
        for (int i = 0; i < n; i++) {
            const float *z = logits + (size_t)i * classes;
            loss[s + i] = cnn_softmax_xent(z, classes, ds->labels[s + i], NULL);
            pred[s + i] = cnn_argmax(z, classes);
        }
    }
}

void cnn_eval_summarise(const cnn_dataset *ds, int classes, const double *loss,
                        const int *pred, cnn_eval_result *out)
{
    double sum = 0;
    long hits = 0;
    for (long i = 0; i < ds->count; i++) {
        sum += loss[i];
        hits += pred[i] == ds->labels[i];
        if (out->confusion)
            out->confusion[(size_t)ds->labels[i] * classes + pred[i]]++;
    }
    out->count = ds->count;
    out->classes = classes;
    out->loss = ds->count ? sum / (double)ds->count : 0;
    out->accuracy = ds->count ? (double)hits / (double)ds->count : 0;
}

int cnn_evaluate(cnn_model *m, const cnn_dataset *ds, int threads,
                 cnn_eval_result *out)
{
    memset(out, 0, sizeof *out);
    int st = cnn_eval_check(m, ds, "evaluate");
    if (st != CNN_OK)
        return st;
    const int classes = m->classes;
    const long count = ds->count;
    /* No more threads than images, and groups no larger than a thread's
       share of them. */
    cnn_threads th;
    st = cnn_threads_open(&th, threads, 1);
    cnn_threads_limit(&th, count);
    const int T = th.threads;
    const long share = (count + T - 1) / T;
    const int group = cnn_group_size(m, share < 64 ? (int)share : 64);
    if (st == CNN_OK)
        st = cnn_memory_check(T * cnn_workspace_bytes(m, group, 0) +
                                  (double)count * (sizeof(double) + sizeof(int)) +
                                  (double)classes * classes * sizeof(long),
                              T, "evaluate", "evaluation");
    if (st != CNN_OK) {
        cnn_threads_close(&th);
        return st;
    }
    double *loss = malloc((size_t)(count ? count : 1) * sizeof *loss);
    int *pred = malloc((size_t)(count ? count : 1) * sizeof *pred);
    out->confusion = calloc((size_t)classes * classes, sizeof *out->confusion);
    if (!loss || !pred || !out->confusion) {
        free(loss);
        free(pred);
        cnn_eval_result_free(out);
        cnn_threads_close(&th);
        return cnn_fail(CNN_ERR_NOMEM, "evaluate: out of memory");
    }
    int failed = 0;

#pragma omp parallel num_threads(T) reduction(| : failed)
    {
        /* The team OpenMP gave (it may be smaller): every image is covered. */
        const int tid = omp_get_thread_num(), team = omp_get_num_threads();
        cnn_threads_bind(&th, tid);
        cnn_workspace ws;
        if (cnn_workspace_alloc(&ws, m, group, 0) != CNN_OK) {
            failed = 1;
        } else {
            cnn_eval_slice(m, ds, count * tid / team, count * (tid + 1) / team, &ws, loss,
                           pred);
            cnn_workspace_free(&ws);
        }
        cnn_threads_unbind(&th);
    }
    cnn_threads_close(&th);
    if (!failed)
        cnn_eval_summarise(ds, classes, loss, pred, out);
    free(loss);
    free(pred);
    if (failed) {
        cnn_eval_result_free(out);
        return cnn_fail(CNN_ERR_NOMEM, "evaluate: out of memory for thread buffers");
    }
    return CNN_OK;
}

void cnn_eval_result_free(cnn_eval_result *r)
{
    free(r->confusion);
    r->confusion = NULL;
}

int cnn_predict(cnn_model *m, const float *x, float *probs)
{
    int st = cnn_memory_check((double)m->act_floats * sizeof(float), 1, "predict",
                              "prediction");
    if (st != CNN_OK)
        return st;
    float *acts = cnn_aligned_calloc(m->act_floats * sizeof(float));
    if (!acts)
        return cnn_fail(CNN_ERR_NOMEM, "predict: out of memory");
    const float *logits = cnn_model_forward(m, 1, x, acts);
    cnn_softmax_xent(logits, m->classes, 0, probs);
    cnn_aligned_free(acts);
    return CNN_OK;
}
