/*
 * predict.c — batch prediction: the class probabilities of n images held
 * in the caller's memory, the images split statically across threads and
 * run through the model in cache-sized groups.  Each image's probabilities
 * are bit for bit cnn_predict's (a sample's forward bits do not depend on
 * the group it is run in), whatever the thread count.
 */
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "error.h"
#include "model.h"
#include "threads.h"
#include "workspace.h"

/* Images lo..hi-1 of x, a group at a time, through one thread's acts. */
static void predict_slice(const cnn_model *m, const float *x, long lo, long hi,
                          int group, float *acts, float *probs)
{
    const size_t in = cnn_model_input_size(m);
    const int classes = m->classes;
    for (long s = lo; s < hi; s += group) {
        int n = (int)(hi - s < group ? hi - s : group);
        const float *logits = cnn_model_forward(m, n, x + (size_t)s * in, acts);
        for (int i = 0; i < n; i++)
            cnn_softmax_xent(logits + (size_t)i * classes, classes, 0,
                             probs + (size_t)(s + i) * classes);
    }
}

static int check_args(const cnn_model *m, const float *x, int n, const float *probs,
                      int threads)
{
    if (!m || (n > 0 && (!x || !probs)))
        return cnn_fail(CNN_ERR_ARG, "cnn_predict_batch: NULL argument");
    if (n < 0)
        return cnn_fail(CNN_ERR_ARG, "cnn_predict_batch: image count %d is negative", n);
    if (threads < 0)
        return cnn_fail(CNN_ERR_ARG, "cnn_predict_batch: thread count %d is negative",
                        threads);
    if (!m->params)
        return cnn_fail(CNN_ERR_ARG, "cnn_predict_batch: the model has no parameters "
                        "(only described)");
    return CNN_OK;
}

/* The team's size for n images: threads when given (within the cap),
   else the default count, found once (hwloc's topology costs about 13 ms
   to load: not a price to pay on every call), at most n.  Unbound: the
   caller's program has threads of its own. */
static int team_size(int threads, int n, int *st)
{
    static _Atomic int found; /* the default count; 0 until known */
    int T = threads > 0 ? (threads < cnn_threads_cap() ? threads : cnn_threads_cap())
                        : atomic_load(&found);
    *st = CNN_OK;
    if (T == 0) {
        cnn_threads th;
        *st = cnn_threads_open(&th, 0, 0);
        T = th.threads;
        cnn_threads_close(&th);
        if (*st == CNN_OK)
            atomic_store(&found, T);
    }
    return T < n ? T : n;
}

int cnn_predict_batch(cnn_model *m, const float *x, int n, float *probs, int threads)
{
    int st = check_args(m, x, n, probs, threads);
    if (st != CNN_OK || n == 0)
        return st;
    const int T = team_size(threads, n, &st);
    const long share = (n + T - 1) / T;
    const int group = cnn_group_size(m, share < 64 ? (int)share : 64);
    const size_t acts_bytes = (size_t)group * m->act_floats * sizeof(float);
    if (st == CNN_OK)
        st = cnn_memory_check((double)T * (double)acts_bytes, T, "predict", "prediction");
    if (st != CNN_OK)
        return st;
    int failed = 0;
#pragma omp parallel num_threads(T) reduction(| : failed)
    {
        /* The team OpenMP gave (it may be smaller): every image is covered. */
        const int tid = omp_get_thread_num(), team = omp_get_num_threads();
        float *acts = cnn_aligned_calloc(acts_bytes);
        if (!acts)
            failed = 1;
        else
            predict_slice(m, x, (long)n * tid / team, (long)n * (tid + 1) / team, group,
                          acts, probs);
        cnn_aligned_free(acts);
    }
    if (failed)
        return cnn_fail(CNN_ERR_NOMEM, "predict: out of memory for thread buffers");
    return CNN_OK;
}
