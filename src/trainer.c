/*
 * trainer.c — cnn_train: the OpenMP batch-parallel trainer's outer loop.
 *
 * One persistent team for the whole run.  Each epoch: shuffle; then each
 * step (train_step.c): every thread's share of the batch forward and
 * backward, each image's gradient into the fixed tree (train_share.c);
 * each thread its part of the gradient (train_grads.c); check finite;
 * update with the optimizer; then the bookkeeping (train_report.c):
 * progress, validation, checkpoint.
 *
 * Under mpirun (comm.h) every rank runs such a team, the batch cut over
 * all ranks' threads, and the ranks gather each other's work by sample
 * and tree node (train_ranks.c).
 *
 * Everything besides the weights that the next step depends on lives in a
 * cnn_train_state (the caller's, or a private one), so a checkpoint taken
 * between steps resumes the run bit for bit.
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "comm.h"
#include "error.h"
#include "model.h"
#include "trainer.h"

double cnn_train_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cnn_train_lap(double *phase, int p, double *t)
{
    if (!phase)
        return;
    double now = cnn_train_now();
    phase[p] += now - *t;
    *t = now;
}

/* The master's check that every thread got its buffers and that OpenMP
   started the whole team. */
static void check_team(train_run *r)
{
    for (int t = 0; t < r->T; t++)
        if (r->stats[t].failed)
            r->stop = cnn_fail(CNN_ERR_NOMEM, "train: out of memory for thread buffers");
    /* Fewer (a nested region, say): the missing shares would be lost. */
    if (omp_get_num_threads() != r->T)
        r->stop = cnn_fail(CNN_ERR_UNSUPPORTED, "train: OpenMP started %d of the %d threads "
                           "asked for", omp_get_num_threads(), r->T);
}

/* One thread of the team, from its buffers to the run's end. */
static void team(train_run *r, cnn_threads *th)
{
    const int tid = omp_get_thread_num();
    cnn_threads_bind(th, tid);
    train_ws tw;
    r->stats[tid].failed = cnn_train_ws_alloc(r, &tw, tid) != CNN_OK;
#pragma omp barrier
#pragma omp master
    check_team(r);
#pragma omp barrier
    long my_steps = 0; /* each thread counts steps itself: no race */
    const long spe = r->steps_per_epoch;
    for (int epoch = r->first_epoch; epoch <= r->cfg->epochs && r->stop == CNN_OK; epoch++) {
        const long step0 = epoch == r->first_epoch ? r->first_step : 0;
        cnn_train_begin_epoch(r, step0);
        const double t_epoch = cnn_train_now();
        for (long step = step0; step < spe; step++) {
            const long lo = step * r->batch;
            train_step st = {.epoch = epoch, .step = step, .lo = lo,
                             .bsz = r->count - lo < r->batch ? r->count - lo : r->batch,
                             .epoch_end = step + 1 == spe, .t_epoch = t_epoch};
            ++my_steps;
            st.global = r->t0 + my_steps;
            st.last = my_steps >= r->total;
            cnn_train_step(r, &tw, tid, &st);
            if (r->stop != CNN_OK)
                break;
        }
    }
    cnn_train_ws_free(r, &tw);
    cnn_threads_unbind(th);
}

/* The run's buffers; CNN_ERR_NOMEM when one is missing. */
static int alloc_run(train_run *r)
{
    const cnn_dataset *val = r->val;
    /* The order before an epoch's shuffle, put back if that epoch's first
       step is not finite (the state must stay at the step before). */
    r->order_before = malloc((size_t)r->count * sizeof *r->order_before);
    r->stats = cnn_aligned_calloc((size_t)r->T * sizeof *r->stats);
    r->val_loss = val ? malloc((size_t)val->count * sizeof *r->val_loss + 1) : NULL;
    r->val_pred = val ? malloc((size_t)val->count * sizeof *r->val_pred + 1) : NULL;
    if (!r->stats || !r->order_before || (val && (!r->val_loss || !r->val_pred)))
        return cnn_fail(CNN_ERR_NOMEM, "train: out of memory");
    int st = cnn_train_plan(r);
    if (st == CNN_OK)
        st = cnn_train_alloc_shared(r);
    return st == CNN_OK ? cnn_train_ranks_alloc(r) : st;
}

static void free_run(train_run *r)
{
    if (r->plan.chunk_off)
        cnn_train_free_shared(r);
    cnn_train_ranks_free(r);
    cnn_train_plan_free(r);
    free(r->order_before);
    cnn_aligned_free(r->stats);
    free(r->val_loss);
    free(r->val_pred);
}

/* Where this call starts (the state's position) and how far it goes. */
static void plan_run(train_run *r)
{
    const cnn_train_state *s = r->s;
    const long spe = r->steps_per_epoch;
    r->t0 = s->t;
    r->total = (long)r->cfg->epochs * spe - r->t0;
    if (r->total < 0)
        r->total = 0;
    if (r->cfg->max_steps && r->cfg->max_steps < r->total)
        r->total = r->cfg->max_steps;
    r->first_epoch = (int)(r->t0 / spe) + 1;
    r->first_step = r->t0 % spe;
    r->train_s0 = s->train_s;
    r->optim = cnn_train_state_optim(s);
    r->hp = cnn_train_state_params(s);
    r->stop = r->total > 0 ? CNN_OK : 1;
    if (r->first_step > 0 && s->seen > 0) {
        r->epoch_loss = s->loss_sum / (double)s->seen;
        r->epoch_acc = (double)s->correct / (double)s->seen;
    }
}

/* The team over the run: exactly T threads, no dynamic adjustment. */
static int run_team(train_run *r, cnn_threads *th)
{
    r->rng_before = r->s->rng;
    r->t_start = cnn_train_now();
    r->comm_s0 = cnn_comm_seconds();
    r->comm_bytes0 = cnn_comm_bytes();
    const int dynamic = omp_get_dynamic();
    omp_set_dynamic(0);
#pragma omp parallel num_threads(r->T)
    team(r, th);
    omp_set_dynamic(dynamic);
    return r->stop == 1 ? CNN_OK : r->stop;
}

int cnn_train(cnn_model *m, const cnn_dataset *ds, const cnn_train_config *cfg,
              cnn_train_result *result)
{
    int st = cnn_train_check(m, ds, cfg);
    if (st != CNN_OK)
        return st;
    /* A step never holds more images than this, however large the batch:
       the team and every buffer are sized by it. */
    const long per_step = cfg->batch < ds->count ? cfg->batch : ds->count;
    cnn_threads th;
    st = cnn_threads_open(&th, cfg->threads, cfg->bind);
    cnn_threads_limit(&th, per_step);
    if (st == CNN_OK)
        st = cnn_train_check_memory(m, ds, cfg, th.threads, per_step);
    if (st == CNN_OK && cnn_comm_size() > 1 && !cnn_comm_same_u64((uint64_t)th.threads))
        st = cnn_fail(CNN_ERR_ARG, "train: the ranks run different thread counts (this one "
                      "%d); give every rank the same --threads or OMP_NUM_THREADS",
                      th.threads);
    if (st != CNN_OK) {
        cnn_threads_close(&th);
        return st;
    }
    cnn_train_state own = {0};
    train_run r = {.m = m, .ds = ds, .val = cfg->validation, .cfg = cfg,
                   .s = cfg->state ? cfg->state : &own, .T = th.threads,
                   .R = cnn_comm_size(), .rank = cnn_comm_rank(),
                   .count = ds->count, .batch = cfg->batch, .step_max = per_step,
                   .steps_per_epoch = (ds->count + cfg->batch - 1) / cfg->batch};
    if ((st = alloc_run(&r)) == CNN_OK &&
        (st = cnn_train_prepare_state(r.s, m, ds, cfg, r.T)) == CNN_OK) {
        cnn_train_state_set_data(r.s, m, ds);
        plan_run(&r);
        st = run_team(&r, &th);
        if (result)
            cnn_train_fill_result(&r, &th, result);
    }
    free_run(&r);
    if (r.s == &own)
        cnn_train_state_release(&own);
    cnn_threads_close(&th);
    return st;
}
