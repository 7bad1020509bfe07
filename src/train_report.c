/*
 * train_report.c — the master thread's bookkeeping after each step, with
 * the whole team waiting: a step that is not finite stops the run with a
 * message naming the step and the tensor or layer (the state stays at the
 * step before); a finite one is counted into the state, its validation
 * summarised, and reported to the progress and checkpoint callbacks; then
 * cancellation and the end of the run.  Also the result cnn_train returns.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "comm.h"
#include "error.h"
#include "model.h"
#include "trainer.h"

/* A step that is not finite: nothing was applied; say what overflowed,
   then undo this epoch's shuffle when it was its first step.  A loss that
   is not finite comes from the forward pass, whose gradients then are not
   finite either: the first layer whose output overflowed (found on the
   step's own images, the order as shuffled) says more than the first
   gradient tensor, which is named when the loss is finite. */
static void fail_step(train_run *r, cnn_workspace *ws, const train_step *st)
{
    cnn_train_state *s = r->s;
    int loss_finite = r->ranks_loss_ok;
    for (int t = 0; t < r->T; t++)
        loss_finite &= isfinite(r->stats[t].loss);
    char where[96];
    if (loss_finite && st->bad >= 0) {
        cnn_train_tensor_of(r->m, st->bad, where, sizeof where);
        r->stop = cnn_fail(CNN_ERR_NONFINITE, "train: the gradient of %s is not finite at "
                           "step %ld (epoch %d); that step was not applied; try a smaller "
                           "--lr", where, st->global, st->epoch);
    } else {
        cnn_pass_ctx ctx = cnn_train_pass_ctx(r, st);
        cnn_train_nonfinite_layer(r->m, r->ds, s, st->epoch, st->lo, st->lo + st->bsz, &ctx,
                                  ws, where, sizeof where);
        r->stop = cnn_fail(CNN_ERR_NONFINITE, "train: the loss is not finite at step %ld "
                           "(epoch %d): %s overflowed; that step was not applied; try a "
                           "smaller --lr", st->global, st->epoch, where);
    }
    if (st->step == 0) {
        memcpy(s->order, r->order_before, (size_t)r->count * sizeof *s->order);
        s->rng = r->rng_before;
    }
}

/* The step's loss and hits into the state and the run's counts. */
static void count_step(train_run *r, const train_step *st)
{
    cnn_train_state *s = r->s;
    double loss_sum = 0; /* in sample order: the same bits for any thread count */
    long correct = 0;
    for (long i = 0; i < st->bsz; i++) {
        loss_sum += r->sample_loss[i];
        correct += r->sample_hit[i];
    }
    double busy = 0, slowest = 0;
    for (int t = 0; t < r->T; t++) {
        busy += r->stats[t].busy;
        slowest = r->stats[t].busy > slowest ? r->stats[t].busy : slowest;
    }
    r->busy += busy;
    r->busy_max += slowest * r->T;
    s->loss_sum += loss_sum;
    s->correct += correct;
    s->seen += st->bsz;
    s->t = st->global;
    r->steps++;
    r->run_images += st->bsz;
    r->epoch_loss = s->loss_sum / (double)s->seen;
    r->epoch_acc = (double)s->correct / (double)s->seen;
}

/* The validation's summary; 1 when it is the best so far. */
static int summarise_validation(train_run *r, const train_step *st)
{
    cnn_eval_summarise(r->val, r->m->classes, r->val_loss, r->val_pred, &r->last_val);
    r->validate_s += cnn_train_now() - st->t_val;
    if (r->last_val.accuracy > r->s->best_val) {
        r->s->best_val = r->last_val.accuracy;
        return 1;
    }
    return 0;
}

/* The progress callback, then the checkpoint callback when due. */
static void report(train_run *r, const train_step *st, int best, double now)
{
    const cnn_train_config *cfg = r->cfg;
    const cnn_train_state *s = r->s;
    cnn_progress p = {
        .epoch = st->epoch, .epochs = cfg->epochs, .step = st->step + 1,
        .steps_per_epoch = r->steps_per_epoch, .global_step = st->global,
        .loss = r->epoch_loss, .accuracy = r->epoch_acc, .elapsed_s = now - st->t_epoch,
        .epoch_done = st->epoch_end || st->last,
        .images = st->epoch_end ? r->count : s->seen, .train_s = s->train_s,
        .validated = st->validate, .val_loss = r->last_val.loss,
        .val_accuracy = r->last_val.accuracy, .val_best = best,
        .checkpoint_due = st->ckpt, .batch = (int)r->batch, .run_images = r->run_images,
        .run_s = now - r->t_start - r->validate_s};
    if (cfg->progress)
        cfg->progress(&p, cfg->user);
    if (st->ckpt || (best && cfg->checkpoint)) {
        int cst = cfg->checkpoint(&p, cfg->user);
        if (cst != CNN_OK)
            r->stop = cst;
    }
}

/* A finite step: counted, validated, timed and reported. */
static void record_step(train_run *r, const train_step *st)
{
    cnn_train_state *s = r->s;
    count_step(r, st);
    int best = st->validate ? summarise_validation(r, st) : 0;
    double now = cnn_train_now();
    s->train_s = r->train_s0 + (now - r->t_start - r->validate_s);
    if (st->epoch_end) /* the next step starts a new epoch */
        s->loss_sum = 0, s->correct = 0, s->seen = 0;
    report(r, st, best, now);
}

void cnn_train_after_step(train_run *r, train_ws *tw, const train_step *st)
{
    if (!st->finite)
        fail_step(r, &tw->ws, st);
    else
        record_step(r, st);
    /* Over ranks, the cancel all of them agreed on in this step's gather. */
    const int cancel = r->R > 1 ? r->ranks_cancel : r->cfg->cancel && *r->cfg->cancel;
    if (r->stop == CNN_OK && cancel)
        r->stop = cnn_fail(CNN_ERR_CANCELLED, "train: cancelled after step %ld", r->s->t);
    if (r->stop == CNN_OK && st->last)
        r->stop = 1; /* done: the team leaves both loops */
}

void cnn_train_fill_result(const train_run *r, const cnn_threads *th,
                           cnn_train_result *result)
{
    memset(result, 0, sizeof *result);
    result->threads = r->T;
    result->cores = th->cores;
    result->bound = th->bind && !th->bind_failed;
    result->steps = r->steps;
    result->seconds = cnn_train_now() - r->t_start;
    result->validate_s = r->validate_s;
    result->validated = r->last_val.count > 0;
    result->val_loss = r->last_val.loss;
    result->val_accuracy = r->last_val.accuracy;
    result->final_loss = r->epoch_loss;
    result->final_accuracy = r->epoch_acc;
    result->data_s = r->phase[PH_DATA];
    result->forward_s = r->phase[PH_FORWARD];
    result->backward_s = r->phase[PH_BACKWARD];
    result->wait_s = r->phase[PH_WAIT];
    result->update_s = r->phase[PH_UPDATE];
    result->comm_s = cnn_comm_seconds() - r->comm_s0 - r->val_comm_s;
    result->comm_bytes = cnn_comm_bytes() - r->comm_bytes0 - r->val_comm_bytes;
    result->idle = r->busy_max > 0 ? 1 - r->busy / r->busy_max : 0;
    if (th->bind_failed)
        snprintf(result->binding, sizeof result->binding,
                 "%d threads, %d cores, unbound (hwloc could not bind)", r->T, th->cores);
    else
        snprintf(result->binding, sizeof result->binding, "%s", th->desc);
}
