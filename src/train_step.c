/*
 * train_step.c — one training step, run by every thread of the team:
 *   1. the weights repacked for backward-data, once, shared (when a layer
 *      asks), each thread a part; (barrier)
 *   2. each thread's contiguous share of the batch forward and backward
 *      (train_share.c): each sample's gradient folded into the fixed tree,
 *      the big layers' inputs and output gradients stashed; (barrier)
 *   3. each thread its part of the gradient: its slice of the tree's sums
 *      and its rows of the big layers over the whole batch, checked finite
 *      (train_grads.c); (barrier)
 *   4. all agree whether every loss and sum is finite; if so, each applies
 *      the optimizer to the part it made, at the scheduled rate (and one
 *      moves the batch-norm layers' moving statistics);
 *   5. validation at the epoch's end by the whole team, then the master
 *      thread's bookkeeping (train_report.c), then a barrier that
 *      publishes the new weights.
 * Which samples a thread takes never changes how any sum is ordered, so a
 * run has the same bits for a given seed and batch whatever the thread
 * count.  Also here: the epoch's shuffle.
 */
#include <math.h>
#include <string.h>

#include "comm.h"
#include "model.h"
#include "optim/schedule.h"
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

/* Whether every thread's loss and gradient part is finite, and the first
   non-finite gradient index. */
static void agree(const train_run *r, train_step *st)
{
    st->finite = r->ranks_loss_ok;
    st->bad = -1;
    for (int t = 0; t < r->T; t++) { /* the smallest index: the same tensor
                                          named whatever the thread count */
        long b = r->stats[t].bad;
        st->finite &= isfinite(r->stats[t].loss) && b < 0;
        if (b >= 0 && (st->bad < 0 || b < st->bad))
            st->bad = b;
    }
}

/* The optimizer on parameters [begin, end) at the scheduled rate.  Only
   trainable tensors are the optimizer's: in a model with buffers (saved,
   not trained), the slice is cut into its trainable ranges; an update is
   element by element, so the cut changes no bit. */
static void update(const train_run *r, const train_step *st, size_t begin, size_t end,
                   int shared)
{
    const long run_steps = (long)r->s->epochs * r->steps_per_epoch;
    cnn_optim_step os = {&r->hp, st->global,
                         cnn_schedule_lr(&r->s->sched, (double)r->hp.lr, st->global - 1,
                                         run_steps, r->steps_per_epoch),
                         shared};
    const cnn_model *m = r->m;
    if (m->nbuffers == 0) {
        r->optim->update(&os, m->params, r->grad, r->s->opt, begin, end);
        return;
    }
    for (int l = 0; l < m->nlayers; l++) {
        const cnn_layer *L = &m->layers[l];
        for (int i = 0; i < L->ntensors; i++) {
            size_t lo = L->t_off[i], hi = lo + L->t_count[i];
            lo = lo > begin ? lo : begin;
            hi = hi < end ? hi : end;
            if (L->t_role[i] == CNN_TENSOR_PARAM && lo < hi)
                r->optim->update(&os, m->params, r->grad, r->s->opt, lo, hi);
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

/* Every thread of every rank evaluates its share of the validation set
   (global thread g of G: images [n g / G, n (g + 1) / G)); over ranks the
   per-image results are then gathered, and summed in image order as
   alone. */
static void validate(train_run *r, cnn_workspace *ws, int tid, train_step *st)
{
#pragma omp master
    st->t_val = cnn_train_now();
    const long n = r->val->count, G = (long)r->R * r->T, g = (long)r->rank * r->T + tid;
    cnn_eval_slice(r->m, r->val, n * g / G, n * (g + 1) / G, ws, r->val_loss, r->val_pred);
#pragma omp barrier
    if (r->R > 1) {
#pragma omp master
        {
            const double s0 = cnn_comm_seconds(), b0 = cnn_comm_bytes();
            cnn_train_ranks_validation(r);
            r->val_comm_s += cnn_comm_seconds() - s0; /* not the steps' */
            r->val_comm_bytes += cnn_comm_bytes() - b0;
        }
#pragma omp barrier
    }
}

void cnn_train_step(train_run *r, train_ws *tw, int tid, train_step *st)
{
    double *ph = tid == 0 ? r->phase : NULL, t = ph ? cnn_train_now() : 0;
    thread_stats *me = &r->stats[tid];
    if (r->packed) { /* the new weights, repacked once for every thread */
        cnn_train_pack(r, tid);
#pragma omp barrier
    }
    cnn_train_lap(ph, PH_UPDATE, &t); /* the update phase: pack, sums, optimizer */
    const double t_share = cnn_train_now();
    cnn_train_share(r, tw, tid, st, ph);
    me->busy = cnn_train_now() - t_share;
    if (ph)
        t = cnn_train_now();
#pragma omp barrier
    if (r->R > 1) { /* what the other ranks made, by sample and tree node */
#pragma omp master
        cnn_train_ranks_share(r, st);
#pragma omp barrier
    }
    cnn_train_lap(ph, PH_WAIT, &t);
    /* This thread's part of the gradient, then agree on whether the step
       is finite before anything changes. */
    me->bad = cnn_train_grads(r, tw, tid, st);
#pragma omp barrier
    agree(r, st);
    cnn_train_grads_release(r, tw, tid, st);
    if (st->finite)
        cnn_train_grads_each(r, tw, tid, st, update);
    if (st->finite && tid == 0 && r->plan.synced)
        cnn_train_sums_update(r, tw, st);
    plan_after(r, st);
    if (st->validate || st->ckpt) {
#pragma omp barrier
    }
    if (st->validate)
        validate(r, &tw->ws, tid, st);
#pragma omp master
    cnn_train_after_step(r, tw, st);
#pragma omp barrier
    cnn_train_lap(ph, PH_UPDATE, &t);
}
