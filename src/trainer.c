/*
 * trainer.c — the OpenMP batch-parallel trainer.
 *
 * One persistent team for the whole run.  Each step, thread t takes the
 * contiguous share [t*B/T, (t+1)*B/T) of the batch's samples, runs forward
 * and backward on them in small groups and accumulates into its own gradient
 * buffer (allocated and first touched by itself).  After a barrier each
 * thread sums all buffers over its own slice of the parameters, in thread
 * order and checks the sums are finite; after a second barrier, when every
 * loss and every slice is finite, each applies Adam to its slice; a third
 * barrier publishes the new weights.  The static mapping and the fixed
 * reduction order make a run bitwise reproducible for a given seed, batch
 * and thread count.
 *
 * Everything besides the weights that the next step depends on lives in a
 * cnn_train_state (the caller's, or a private one), so a checkpoint taken
 * between steps resumes the run bit for bit.
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
#include "train_state.h"
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
    long bad;       /* first non-finite gradient index of the slice, or -1 */
    int failed;
    char pad[64 - sizeof(double) - 2 * sizeof(long) - sizeof(int)];
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

/* Set up a fresh state for this run, or check that a used one fits it. */
static int prepare_state(cnn_train_state *s, const cnn_model *m, const cnn_dataset *ds,
                         const cnn_train_config *cfg, int threads)
{
    if (s->ready) {
        int st = cnn_train_state_check(s, m, ds, cfg->batch);
        if (st != CNN_OK)
            return st;
        s->lr = cfg->lr, s->beta1 = cfg->beta1, s->beta2 = cfg->beta2, s->eps = cfg->eps;
        s->threads = threads;
        s->epochs = cfg->epochs;
        return CNN_OK;
    }
    int st = cnn_train_state_alloc(s, m->block, ds->count);
    if (st != CNN_OK)
        return st;
    cnn_rng_seed(&s->rng, cfg->seed, CNN_RNG_STREAM_SHUFFLE);
    s->t = 0;
    s->epochs = cfg->epochs;
    s->batch = cfg->batch;
    s->threads = threads;
    s->shuffle = cfg->shuffle;
    s->lr = cfg->lr, s->beta1 = cfg->beta1, s->beta2 = cfg->beta2, s->eps = cfg->eps;
    s->seed = cfg->seed;
    s->loss_sum = 0, s->correct = 0, s->seen = 0, s->train_s = 0;
    s->best_val = -1;
    s->ready = 1;
    return CNN_OK;
}

/* The name of the parameter tensor holding block index i. */
static void tensor_of(const cnn_model *m, long i, char *out, size_t size)
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
   time and name the first layer whose output is not finite. */
static void nonfinite_layer(const cnn_model *m, const cnn_dataset *ds, const int32_t *order,
                            long lo, long hi, cnn_workspace *ws, char *out, size_t size)
{
    snprintf(out, size, "the loss");
    for (long s = lo; s < hi; s++) {
        cnn_gather_images(m, ds->images, order, s, 1, ws->x);
        cnn_model_forward(m, 1, ws->x, ws->acts);
        for (int l = 0; l < m->nlayers; l++) {
            const cnn_layer *L = &m->layers[l];
            size_t len = (size_t)L->g.out_h * L->g.out_w * L->g.out_c;
            const float *y = ws->acts + L->act_off;
            for (size_t j = 0; j < len; j++)
                if (!isfinite(y[j])) {
                    snprintf(out, size, "the output of %s (image %d)", L->name,
                             (int)order[s]);
                    return;
                }
        }
    }
}

/* Everything cnn_train allocates for T threads working in groups of
   `group` samples, against the machine's memory (before allocating). */
static int check_memory(const cnn_model *m, const cnn_dataset *ds,
                        const cnn_train_config *cfg, int T, int group)
{
    double per_thread = cnn_workspace_bytes(m, group, 1) +
                        (double)m->block * sizeof(float) + sizeof(thread_stats);
    double shared = (double)ds->count * sizeof(int32_t) + (double)T * sizeof(float *);
    if (cfg->validation)
        shared += (double)cfg->validation->count * (sizeof(double) + sizeof(int));
    if (!cfg->state || !cfg->state->ready) /* Adam's moments and the order */
        shared += 2.0 * (double)m->block * sizeof(float) + (double)ds->count * sizeof(int32_t);
    return cnn_memory_check(T * per_thread + shared, T, "train", "training");
}

int cnn_train(cnn_model *m, const cnn_dataset *ds, const cnn_train_config *cfg,
              cnn_train_result *result)
{
    int st = check_config(m, ds, cfg);
    if (st != CNN_OK)
        return st;
    const long count = ds->count, batch = cfg->batch;
    /* A step never holds more images than this, however large the batch:
       the team and every buffer are sized by it. */
    const long per_step = batch < count ? batch : count;
    cnn_threads th;
    st = cnn_threads_open(&th, cfg->threads, cfg->bind);
    cnn_threads_limit(&th, per_step);
    const int T = th.threads;
    const int group = cnn_group_size(m, (int)((per_step + T - 1) / T));
    if (st == CNN_OK)
        st = check_memory(m, ds, cfg, T, group);
    if (st != CNN_OK) {
        cnn_threads_close(&th);
        return st;
    }

    const long steps_per_epoch = (count + batch - 1) / batch;
    cnn_train_state own = {0}, *s = cfg->state ? cfg->state : &own;
    const cnn_dataset *val = cfg->validation;
    float **grads = calloc((size_t)T, sizeof *grads);
    /* The order before an epoch's shuffle, put back if that epoch's first
       step is not finite (the state must stay at the step before). */
    int32_t *order_before = malloc((size_t)count * sizeof *order_before);
    thread_stats *stats = cnn_aligned_calloc((size_t)T * sizeof *stats);
    double *val_loss = val ? malloc((size_t)val->count * sizeof *val_loss + 1) : NULL;
    int *val_pred = val ? malloc((size_t)val->count * sizeof *val_pred + 1) : NULL;
    if (!grads || !stats || !order_before || (val && (!val_loss || !val_pred))) {
        st = cnn_fail(CNN_ERR_NOMEM, "train: out of memory");
        goto done;
    }
    if ((st = prepare_state(s, m, ds, cfg, T)) != CNN_OK)
        goto done;
    cnn_train_state_set_data(s, m, ds);

    /* Where this call starts (the state's position) and how far it goes. */
    const long t0 = s->t;
    long total = (long)cfg->epochs * steps_per_epoch - t0;
    if (total < 0)
        total = 0;
    if (cfg->max_steps && cfg->max_steps < total)
        total = cfg->max_steps;
    const int first_epoch = (int)(t0 / steps_per_epoch) + 1;
    const long first_step = t0 % steps_per_epoch;
    const double train_s0 = s->train_s;

    cnn_adam adam = {cfg->lr, cfg->beta1, cfg->beta2, cfg->eps, t0, s->m, s->v};
    int32_t *order = s->order;
    /* Parameter slices for the reduction, 16-float aligned. */
    const size_t slice = ((m->block + (size_t)T - 1) / (size_t)T + 15) & ~(size_t)15;

    long steps = 0, run_images = 0;
    int stop = total > 0 ? CNN_OK : 1;
    double phase[PH_COUNT] = {0}, validate_s = 0;
    cnn_eval_result last_val = {0};
    cnn_rng rng_before = s->rng;
    double t_start = now_s(), epoch_loss = 0, epoch_acc = 0;
    if (first_step > 0 && s->seen > 0) {
        epoch_loss = s->loss_sum / (double)s->seen;
        epoch_acc = (double)s->correct / (double)s->seen;
    }

    /* The arithmetic needs exactly T threads: no dynamic adjustment. */
    const int dynamic = omp_get_dynamic();
    omp_set_dynamic(0);
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
            /* Fewer (a nested region, say): the missing shares would be lost. */
            if (omp_get_num_threads() != T)
                stop = cnn_fail(CNN_ERR_UNSUPPORTED, "train: OpenMP started %d of the %d "
                                "threads asked for", omp_get_num_threads(), T);
        }
#pragma omp barrier
        long my_steps = 0; /* each thread counts steps itself: no race on `steps` */
        for (int epoch = first_epoch; epoch <= cfg->epochs && stop == CNN_OK; epoch++) {
            const long step0 = epoch == first_epoch ? first_step : 0;
#pragma omp single
            {
                if (step0 == 0) {
                    memcpy(order_before, order, (size_t)count * sizeof *order);
                    rng_before = s->rng;
                    if (s->shuffle) /* Fisher-Yates */
                        for (long i = count - 1; i > 0; i--) {
                            long j = (long)cnn_rng_below(&s->rng, (uint32_t)(i + 1));
                            int32_t tmp = order[i];
                            order[i] = order[j];
                            order[j] = tmp;
                        }
                    s->loss_sum = 0, s->correct = 0, s->seen = 0;
                }
            } /* implicit barrier */
            double t_epoch = now_s();
            for (long step = step0; step < steps_per_epoch; step++) {
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
                /* Sum the buffers over this thread's slice, then agree on
                   whether the step is finite before anything changes. */
                size_t begin = (size_t)tid * slice, end = begin + slice;
                if (end > m->block)
                    end = m->block;
                stats[tid].bad = begin < end ? cnn_adam_reduce(grads, T, begin, end) : -1;
#pragma omp barrier
                int finite = 1;
                long bad = -1;
                for (int t = 0; t < T; t++) {
                    finite &= isfinite(stats[t].loss) && stats[t].bad < 0;
                    if (bad < 0)
                        bad = stats[t].bad;
                }
                ++my_steps;
                const long global = t0 + my_steps;
                if (finite && begin < end)
                    cnn_adam_update(&adam, cnn_adam_step_size(&adam, global), m->params,
                                    grads[0], begin, end);
                const int epoch_end = step + 1 == steps_per_epoch;
                const int last = my_steps == total;
                /* Validation at the epoch's end, by the whole team, and
                   checkpoints: both once every slice is updated. */
                const int validate = val && finite && (epoch_end || last);
                const int ckpt = finite && cfg->checkpoint &&
                                 ((cfg->checkpoint_steps && global % cfg->checkpoint_steps == 0) ||
                                  (cfg->checkpoint_epochs && epoch_end &&
                                   epoch % cfg->checkpoint_epochs == 0));
                double t_val = 0;
                if (validate || ckpt) {
#pragma omp barrier
                }
                if (validate) {
#pragma omp master
                    t_val = now_s();
                    cnn_eval_slice(m, val, val->count * tid / T, val->count * (tid + 1) / T,
                                   &ws, val_loss, val_pred);
#pragma omp barrier
                }
#pragma omp master
                {
                    double loss_sum = 0;
                    long correct = 0;
                    for (int t = 0; t < T; t++) {
                        loss_sum += stats[t].loss;
                        correct += stats[t].correct;
                    }
                    if (!finite) {
                        if (step == 0) { /* undo this epoch's shuffle */
                            memcpy(order, order_before, (size_t)count * sizeof *order);
                            s->rng = rng_before;
                        }
                        char where[96];
                        if (bad >= 0) {
                            tensor_of(m, bad, where, sizeof where);
                            stop = cnn_fail(CNN_ERR_NONFINITE,
                                            "train: the gradient of %s is not finite at "
                                            "step %ld (epoch %d); that step was not "
                                            "applied; try a smaller --lr",
                                            where, global, epoch);
                        } else {
                            nonfinite_layer(m, ds, order, lo, lo + bsz, &ws, where,
                                            sizeof where);
                            stop = cnn_fail(CNN_ERR_NONFINITE,
                                            "train: the loss is not finite at step %ld "
                                            "(epoch %d): %s overflowed; that step was "
                                            "not applied; try a smaller --lr",
                                            global, epoch, where);
                        }
                    } else {
                        s->loss_sum += loss_sum;
                        s->correct += correct;
                        s->seen += bsz;
                        s->t = global;
                        steps++;
                        run_images += bsz;
                        epoch_loss = s->loss_sum / (double)s->seen;
                        epoch_acc = (double)s->correct / (double)s->seen;
                        int best = 0;
                        if (validate) {
                            cnn_eval_summarise(val, m->classes, val_loss, val_pred, &last_val);
                            validate_s += now_s() - t_val;
                            if (last_val.accuracy > s->best_val) {
                                s->best_val = last_val.accuracy;
                                best = 1;
                            }
                        }
                        double now = now_s();
                        s->train_s = train_s0 + (now - t_start - validate_s);
                        if (epoch_end) /* the next step starts a new epoch */
                            s->loss_sum = 0, s->correct = 0, s->seen = 0;
                        cnn_progress p = {
                            .epoch = epoch, .epochs = cfg->epochs, .step = step + 1,
                            .steps_per_epoch = steps_per_epoch, .global_step = global,
                            .loss = epoch_loss, .accuracy = epoch_acc,
                            .elapsed_s = now - t_epoch, .epoch_done = epoch_end || last,
                            .images = epoch_end ? count : s->seen, .train_s = s->train_s,
                            .validated = validate, .val_loss = last_val.loss,
                            .val_accuracy = last_val.accuracy, .val_best = best,
                            .checkpoint_due = ckpt,
                            .batch = (int)batch, .run_images = run_images,
                            .run_s = now - t_start - validate_s};
                        if (cfg->progress)
                            cfg->progress(&p, cfg->user);
                        if (ckpt || (best && cfg->checkpoint)) {
                            int cst = cfg->checkpoint(&p, cfg->user);
                            if (cst != CNN_OK)
                                stop = cst;
                        }
                    }
                    if (stop == CNN_OK && cfg->cancel && *cfg->cancel)
                        stop = cnn_fail(CNN_ERR_CANCELLED, "train: cancelled after step %ld",
                                        s->t);
                    if (stop == CNN_OK && my_steps >= total)
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
    omp_set_dynamic(dynamic);
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
    free(order_before);
    cnn_aligned_free(stats);
    free(val_loss);
    free(val_pred);
    if (s == &own) {
        cnn_aligned_free(own.m);
        cnn_aligned_free(own.v);
        free(own.order);
    }
    cnn_threads_close(&th);
    return st;
}
