/*
 * train_step.c — one training step, run by every thread of the team:
 *   1. each thread's contiguous share [t*B/T, (t+1)*B/T) of the batch,
 *      forward and backward in small groups, into its own gradient block;
 *   2. (barrier) each thread sums every block over its own slice of the
 *      parameters, in thread order (reduce.c), and checks the sums;
 *   3. (barrier) all agree whether every loss and sum is finite; if so,
 *      each applies the optimizer to its slice at the scheduled rate;
 *   4. validation at the epoch's end by the whole team, then the master
 *      thread's bookkeeping (train_report.c), then a barrier that
 *      publishes the new weights.
 * The static mapping and the fixed reduction order make a run bitwise
 * reproducible for a given seed, batch and thread count.  Also here: the
 * epoch's shuffle.
 */
#include <math.h>
#include <string.h>

#include "model.h"
#include "optim/schedule.h"
#include "reduce.h"
#include "trainer.h"

void cnn_train_begin_epoch(train_run *r, long step0)
{
    cnn_train_state *s = r->s;
#pragma omp single
    {
        if (step0 == 0) {
            memcpy(r->order_before, s->order, (size_t)r->count * sizeof *s->order);
            r->rng_before = s->rng;
            if (s->shuffle) /* Fisher-Yates */
                for (long i = r->count - 1; i > 0; i--) {
                    long j = (long)cnn_rng_below(&s->rng, (uint32_t)(i + 1));
                    int32_t tmp = s->order[i];
                    s->order[i] = s->order[j];
                    s->order[j] = tmp;
                }
            s->loss_sum = 0, s->correct = 0, s->seen = 0;
        }
    } /* implicit barrier */
}

/* Forward and backward of samples [lo, hi) of the shuffled order, under
   the step's pass context (ctx->first is set here: the group's first
   sample's index within the batch, whose first sample is batch_lo);
   gradients accumulate into grads, loss and hits into st.  phase (NULL:
   no timing) receives the time spent per phase. */
static void run_share(const cnn_model *m, const cnn_dataset *ds, const int32_t *order,
                      long batch_lo, long lo, long hi, cnn_pass_ctx *ctx, float inv_batch,
                      cnn_workspace *ws, float *grads, thread_stats *st, double *phase)
{
    const int classes = m->classes;
    double t = phase ? cnn_train_now() : 0;
    for (long s = lo; s < hi; s += ws->group) {
        int n = (int)(hi - s < ws->group ? hi - s : ws->group);
        cnn_gather_images(m, ds->images, order, s, n, ws->x);
        cnn_train_lap(phase, PH_DATA, &t);
        ctx->first = s - batch_lo;
        const float *logits = cnn_model_forward_ctx(m, ctx, n, ws->x, ws->acts);
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
        cnn_train_lap(phase, PH_FORWARD, &t);
        cnn_model_backward_ctx(m, ctx, n, ws->x, ws->acts, ws->dlogits, grads, ws->packed,
                               ws->scratch);
        cnn_train_lap(phase, PH_BACKWARD, &t);
    }
}

/* Whether every thread's loss and gradient slice is finite, and the first
   non-finite gradient index. */
static void agree(const train_run *r, train_step *st)
{
    st->finite = 1;
    st->bad = -1;
    for (int t = 0; t < r->T; t++) {
        st->finite &= isfinite(r->stats[t].loss) && r->stats[t].bad < 0;
        if (st->bad < 0)
            st->bad = r->stats[t].bad;
    }
}

/* The optimizer on parameters [begin, end) at the scheduled rate.  Only
   trainable tensors are the optimizer's: in a model with buffers (saved,
   not trained), the slice is cut into its trainable ranges; an update is
   element by element, so the cut changes no bit. */
static void update(const train_run *r, const train_step *st, size_t begin, size_t end)
{
    const long run_steps = (long)r->s->epochs * r->steps_per_epoch;
    cnn_optim_step os = {&r->hp, st->global,
                         cnn_schedule_lr(&r->s->sched, (double)r->hp.lr, st->global - 1,
                                         run_steps, r->steps_per_epoch)};
    const cnn_model *m = r->m;
    if (m->nbuffers == 0) {
        r->optim->update(&os, m->params, r->grads[0], r->s->opt, begin, end);
        return;
    }
    for (int l = 0; l < m->nlayers; l++) {
        const cnn_layer *L = &m->layers[l];
        for (int i = 0; i < L->ntensors; i++) {
            size_t lo = L->t_off[i], hi = lo + L->t_count[i];
            lo = lo > begin ? lo : begin;
            hi = hi < end ? hi : end;
            if (L->t_role[i] == CNN_TENSOR_PARAM && lo < hi)
                r->optim->update(&os, m->params, r->grads[0], r->s->opt, lo, hi);
        }
    }
}

/* Validation at the epoch's end and checkpoints: both once every slice is
   updated. */
static void plan_after(const train_run *r, train_step *st)
{
    const cnn_train_config *cfg = r->cfg;
    st->validate = r->val && st->finite && (st->epoch_end || st->last);
    st->ckpt = st->finite && cfg->checkpoint &&
               ((cfg->checkpoint_steps && st->global % cfg->checkpoint_steps == 0) ||
                (cfg->checkpoint_epochs && st->epoch_end &&
                 st->epoch % cfg->checkpoint_epochs == 0));
}

/* The whole team evaluates the validation set, each thread its share. */
static void validate(train_run *r, cnn_workspace *ws, int tid, train_step *st)
{
#pragma omp master
    st->t_val = cnn_train_now();
    const int T = r->T;
    cnn_eval_slice(r->m, r->val, r->val->count * tid / T, r->val->count * (tid + 1) / T, ws,
                   r->val_loss, r->val_pred);
#pragma omp barrier
}

void cnn_train_step(train_run *r, cnn_workspace *ws, int tid, train_step *st)
{
    const int T = r->T;
    double *ph = tid == 0 ? r->phase : NULL, t = 0;
    thread_stats *me = &r->stats[tid];
    me->loss = 0;
    me->correct = 0;
    /* Each thread repacks its own copy of the new weights: a few
       microseconds, and no extra barrier. */
    if (ws->packed)
        cnn_model_pack(r->m, ws->packed);
    cnn_pass_ctx ctx = cnn_train_pass_ctx(r, st);
    run_share(r->m, r->ds, r->s->order, st->lo, st->lo + tid * st->bsz / T,
              st->lo + (tid + 1) * st->bsz / T, &ctx, 1.0f / (float)st->bsz, ws,
              r->grads[tid], me, ph);
    if (ph)
        t = cnn_train_now();
#pragma omp barrier
    cnn_train_lap(ph, PH_WAIT, &t);
    /* Sum the blocks over this thread's slice, then agree on whether the
       step is finite before anything changes. */
    size_t begin = (size_t)tid * r->slice, end = begin + r->slice;
    if (end > r->m->block)
        end = r->m->block;
    me->bad = begin < end ? cnn_reduce_grads(r->grads, T, begin, end) : -1;
#pragma omp barrier
    agree(r, st);
    if (st->finite && begin < end)
        update(r, st, begin, end);
    plan_after(r, st);
    if (st->validate || st->ckpt) {
#pragma omp barrier
    }
    if (st->validate)
        validate(r, ws, tid, st);
#pragma omp master
    cnn_train_after_step(r, ws, st);
#pragma omp barrier
    cnn_train_lap(ph, PH_UPDATE, &t);
}
