/*
 * trainer.c — the OpenMP batch-parallel trainer.
 *
 * One persistent team for the whole run.  Each step, thread t takes the
 * contiguous share [t*B/T, (t+1)*B/T) of the batch's samples, runs forward
 * and backward on them in small groups and accumulates into its own gradient
 * buffer (allocated and first touched by itself).  After a barrier each
 * thread sums all buffers over its own slice of the parameters, in thread
 * order, and applies Adam to that slice; a second barrier publishes the new
 * weights.  The static mapping and the fixed reduction order make a run
 * bitwise reproducible for a given seed, batch and thread count.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adam.h"
#include "error.h"
#include "eval.h"
#include "model.h"
#include "rng.h"
#include "threads.h"
#include "workspace.h"

void cnn_train_config_default(cnn_train_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->epochs = 3;
    cfg->batch = 32;
    cfg->lr = 0.001f;
    cfg->beta1 = 0.9f;
    cfg->beta2 = 0.999f;
    cfg->eps = 1e-7f;
    cfg->seed = 1151998;
    cfg->shuffle = 1;
    cfg->bind = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Per-thread running sums, one cache line each (no false sharing). */
typedef struct {
    double loss;
    long correct;
    int failed;
    char pad[64 - sizeof(double) - sizeof(long) - sizeof(int)];
} thread_stats;

static int check_config(const cnn_model *m, const cnn_dataset *ds,
                        const cnn_train_config *c)
{
    if (c->epochs < 0 || c->batch < 1 || c->threads < 0 || c->max_steps < 0)
        return cnn_fail(CNN_ERR_ARG, "train: epochs, batch, threads and steps must be "
                                     "non-negative (batch at least 1)");
    if (!(c->lr > 0) || !(c->beta1 >= 0 && c->beta1 < 1) ||
        !(c->beta2 >= 0 && c->beta2 < 1) || !(c->eps > 0) || !isfinite(c->lr))
        return cnn_fail(CNN_ERR_ARG, "train: need lr > 0, 0 <= beta1, beta2 < 1, eps > 0");
    int st = cnn_eval_check(m, ds, "train");
    if (st != CNN_OK)
        return st;
    if (ds->count < 1)
        return cnn_fail(CNN_ERR_ARG, "train: the data set is empty");
    if (c->validation)
        return cnn_eval_check(m, c->validation, "validation");
    return CNN_OK;
}

/* Thread 0's time per phase (seconds), for the result's breakdown. */
enum { PH_DATA, PH_FORWARD, PH_BACKWARD, PH_WAIT, PH_UPDATE, PH_COUNT };

/* Add the time since *t to phase[p] (when timing) and restart *t. */
static void lap(double *phase, int p, double *t)
{
    if (!phase)
        return;
    double now = now_s();
    phase[p] += now - *t;
    *t = now;
}

/* Forward and backward of samples [lo, hi) of the shuffled order; gradients
   accumulate into grads, loss and hits into st.  phase (NULL: no timing)
   receives the time spent per phase. */
static void run_share(const cnn_model *m, const cnn_dataset *ds,
                      const int32_t *order, long lo, long hi, float inv_batch,
                      cnn_workspace *ws, float *grads, thread_stats *st, double *phase)
{
    const int classes = m->classes;
    double t = phase ? now_s() : 0;
    for (long s = lo; s < hi; s += ws->group) {
        int n = (int)(hi - s < ws->group ? hi - s : ws->group);
        cnn_gather_images(m, ds->images, order, s, n, ws->x);
        lap(phase, PH_DATA, &t);
        const float *logits = cnn_model_forward(m, n, ws->x, ws->acts);
        for (int i = 0; i < n; i++) {
            int label = ds->labels[order[s + i]];
            const float *z = logits + (size_t)i * classes;
            float *d = ws->dlogits + (size_t)i * classes;
            st->loss += cnn_softmax_xent(z, classes, label, d);
            st->correct += cnn_argmax(z, classes) == label;
            /* d(mean loss)/dz = (softmax - onehot) / batch */
            d[label] -= 1.0f;
            for (int c = 0; c < classes; c++)
                d[c] *= inv_batch;
        }
        lap(phase, PH_FORWARD, &t);
        cnn_model_backward(m, n, ws->x, ws->acts, ws->dlogits, grads, ws->packed,
                           ws->scratch);
        lap(phase, PH_BACKWARD, &t);
    }
}

int cnn_train(cnn_model *m, const cnn_dataset *ds, const cnn_train_config *cfg,
              cnn_train_result *result)
{
    int st = check_config(m, ds, cfg);
    if (st != CNN_OK)
        return st;
    cnn_threads th;
    cnn_threads_open(&th, cfg->threads, cfg->bind);
    int T = th.threads > cfg->batch ? cfg->batch : th.threads;
    th.threads = T;

    const long count = ds->count, batch = cfg->batch;
    const long steps_per_epoch = (count + batch - 1) / batch;
    long total = (long)cfg->epochs * steps_per_epoch;
    if (cfg->max_steps && cfg->max_steps < total)
        total = cfg->max_steps;

    cnn_adam adam = {cfg->lr, cfg->beta1, cfg->beta2, cfg->eps, 0, NULL, NULL};
    adam.m = cnn_aligned_calloc(m->block * sizeof(float));
    adam.v = cnn_aligned_calloc(m->block * sizeof(float));
    int32_t *order = malloc((size_t)count * sizeof *order);
    float **grads = calloc((size_t)T, sizeof *grads);
    thread_stats *stats = cnn_aligned_calloc((size_t)T * sizeof *stats);
    const cnn_dataset *val = cfg->validation;
    double *val_loss = val ? malloc((size_t)val->count * sizeof *val_loss + 1) : NULL;
    int *val_pred = val ? malloc((size_t)val->count * sizeof *val_pred + 1) : NULL;
    if (!adam.m || !adam.v || !order || !grads || !stats || (val && (!val_loss || !val_pred))) {
        st = cnn_fail(CNN_ERR_NOMEM, "train: out of memory");
        goto done;
    }
    for (long i = 0; i < count; i++)
        order[i] = (int32_t)i;

    cnn_rng rng;
    cnn_rng_seed(&rng, cfg->seed, CNN_RNG_STREAM_SHUFFLE);
    const int group = cnn_group_size(m, (int)((batch + T - 1) / T));
    /* Parameter slices for the reduction, 16-float aligned. */
    const size_t slice = ((m->block + (size_t)T - 1) / (size_t)T + 15) & ~(size_t)15;

    long steps = 0;
    int stop = CNN_OK;
    double phase[PH_COUNT] = {0}, validate_s = 0;
    cnn_eval_result last_val = {0};
    double t_start = now_s(), epoch_loss = 0, epoch_acc = 0;

#pragma omp parallel num_threads(T)
    {
        const int tid = omp_get_thread_num();
        cnn_threads_bind(&th, tid);
        cnn_workspace ws;
        int ok = cnn_workspace_alloc(&ws, m, group, 1) == CNN_OK;
        grads[tid] = cnn_aligned_calloc(m->block * sizeof(float));
        stats[tid].failed = !ok || !grads[tid];
#pragma omp barrier
#pragma omp master
        {
            for (int t = 0; t < T; t++)
                if (stats[t].failed)
                    stop = cnn_fail(CNN_ERR_NOMEM, "train: out of memory for thread buffers");
        }
#pragma omp barrier
        long my_steps = 0; /* each thread counts steps itself: no race on `steps` */
        for (int epoch = 1; epoch <= cfg->epochs && stop == CNN_OK; epoch++) {
#pragma omp single
            {
                if (cfg->shuffle) /* Fisher-Yates */
                    for (long i = count - 1; i > 0; i--) {
                        long j = (long)cnn_rng_below(&rng, (uint32_t)(i + 1));
                        int32_t tmp = order[i];
                        order[i] = order[j];
                        order[j] = tmp;
                    }
            } /* implicit barrier */
            double t_epoch = now_s(), loss_sum = 0;
            long seen = 0, correct = 0;
            for (long step = 0; step < steps_per_epoch; step++) {
                const long lo = step * batch;
                const long bsz = count - lo < batch ? count - lo : batch;
                double *ph = tid == 0 ? phase : NULL, t = 0;
                stats[tid].loss = 0;
                stats[tid].correct = 0;
                /* Each thread repacks its own copy of the new weights: a few
                   microseconds, and no extra barrier. */
                if (ws.packed)
                    cnn_model_pack(m, ws.packed);
                run_share(m, ds, order, lo + tid * bsz / T, lo + (tid + 1) * bsz / T,
                          1.0f / (float)bsz, &ws, grads[tid], &stats[tid], ph);
                if (ph)
                    t = now_s();
#pragma omp barrier
                lap(ph, PH_WAIT, &t);
                /* Every thread sees the same losses, so all skip the update
                   together when one is not finite. */
                int finite = 1;
                for (int t = 0; t < T; t++)
                    finite &= isfinite(stats[t].loss);
                const float lr_t = cnn_adam_step_size(&adam, ++my_steps);
                size_t begin = (size_t)tid * slice, end = begin + slice;
                if (end > m->block)
                    end = m->block;
                if (finite && begin < end)
                    cnn_adam_reduce_update(&adam, lr_t, m->params, grads, T, begin, end);
                /* Validation at the epoch's end, by the whole team, once
                   every slice of the weights is updated. */
                const int validate = val && finite &&
                                     (step + 1 == steps_per_epoch || my_steps == total);
                double t_val = 0;
                if (validate) {
#pragma omp barrier
#pragma omp master
                    t_val = now_s();
                    cnn_eval_slice(m, val, val->count * tid / T, val->count * (tid + 1) / T,
                                   &ws, val_loss, val_pred);
#pragma omp barrier
                }
#pragma omp master
                {
                    for (int t = 0; t < T; t++) {
                        loss_sum += stats[t].loss;
                        correct += stats[t].correct;
                    }
                    seen += bsz;
                    steps += finite;
                    epoch_loss = loss_sum / (double)seen;
                    epoch_acc = (double)correct / (double)seen;
                    if (!finite)
                        stop = cnn_fail(CNN_ERR_NONFINITE,
                                        "train: loss became non-finite at step %ld "
                                        "(epoch %d); the weights are those before it; "
                                        "try a smaller --lr",
                                        steps + 1, epoch);
                    if (validate) {
                        cnn_eval_summarise(val, m->classes, val_loss, val_pred, &last_val);
                        validate_s += now_s() - t_val;
                    }
                    if (finite && cfg->progress) {
                        double now = now_s();
                        cnn_progress p = {epoch, cfg->epochs, step + 1, steps_per_epoch,
                                          steps, epoch_loss, epoch_acc, now - t_epoch,
                                          step + 1 == steps_per_epoch || steps == total,
                                          seen, now - t_start - validate_s, validate,
                                          last_val.loss, last_val.accuracy};
                        cfg->progress(&p, cfg->user);
                    }
                    if (stop == CNN_OK && cfg->cancel && *cfg->cancel)
                        stop = cnn_fail(CNN_ERR_CANCELLED, "train: cancelled after step %ld",
                                        steps);
                    if (stop == CNN_OK && steps >= total)
                        stop = 1; /* done: leave both loops */
                }
#pragma omp barrier
                lap(ph, PH_UPDATE, &t);
                if (stop != CNN_OK)
                    break;
            }
        }
        cnn_workspace_free(&ws);
        cnn_threads_unbind(&th);
    }
    if (stop == 1)
        stop = CNN_OK;
    st = stop;

    if (result) {
        memset(result, 0, sizeof *result);
        result->threads = T;
        result->cores = th.cores;
        result->bound = th.bind && !th.bind_failed;
        result->steps = steps;
        result->seconds = now_s() - t_start;
        result->validate_s = validate_s;
        result->validated = last_val.count > 0;
        result->val_loss = last_val.loss;
        result->val_accuracy = last_val.accuracy;
        result->final_loss = epoch_loss;
        result->final_accuracy = epoch_acc;
        result->data_s = phase[PH_DATA];
        result->forward_s = phase[PH_FORWARD];
        result->backward_s = phase[PH_BACKWARD];
        result->wait_s = phase[PH_WAIT];
        result->update_s = phase[PH_UPDATE];
        if (th.bind_failed)
            snprintf(result->binding, sizeof result->binding,
                     "%d threads, %d cores, unbound (hwloc could not bind)", T, th.cores);
        else
            snprintf(result->binding, sizeof result->binding, "%s", th.desc);
    }
done:
    if (grads)
        for (int t = 0; t < T; t++)
            cnn_aligned_free(grads[t]);
    free(grads);
    cnn_aligned_free(stats);
    free(val_loss);
    free(val_pred);
    free(order);
    cnn_aligned_free(adam.m);
    cnn_aligned_free(adam.v);
    cnn_threads_close(&th);
    return st;
}
