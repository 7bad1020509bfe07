/*
 * trainer.h — what the trainer's files share: the run (everything the team
 * of threads reads and writes during cnn_train) and the functions of one
 * step.
 *
 *   trainer.c        cnn_train: set up, run the team, report
 *   train_setup.c    the config's defaults and checks, the state's setup
 *   train_step.c     one step: each thread's share forward and backward,
 *                    reduce, check finite, update; the epoch's shuffle
 *   train_report.c   bookkeeping after a step: progress, validation,
 *                    checkpoint, cancellation; the result
 *   train_diagnose.c naming the tensor or layer that went non-finite
 *   reduce.c         the gradient reduction
 */
#ifndef CNN_TRAINER_H
#define CNN_TRAINER_H

#include <stddef.h>
#include <stdint.h>

#include "cnn.h"
#include "eval.h"
#include "layer.h"
#include "optim/optimizer.h"
#include "rng.h"
#include "threads.h"
#include "train_state.h"
#include "workspace.h"

/* Per-thread running sums, one cache line each (no false sharing). */
typedef struct {
    double loss;
    long correct;
    long bad;       /* first non-finite gradient index of the slice, or -1 */
    int failed;
    char pad[64 - sizeof(double) - 2 * sizeof(long) - sizeof(int)];
} thread_stats;

/* Thread 0's time per phase (seconds), for the result's breakdown. */
enum { PH_DATA, PH_FORWARD, PH_BACKWARD, PH_WAIT, PH_UPDATE, PH_COUNT };

/* The run: set up by cnn_train, shared by the team. */
typedef struct train_run {
    cnn_model *m;
    const cnn_dataset *ds, *val;
    const cnn_train_config *cfg;
    cnn_train_state *s;
    int T;                  /* threads */
    long count, batch, steps_per_epoch;
    long t0, total;         /* the state's step at the start; steps to take */
    int first_epoch;
    long first_step;        /* of first_epoch */
    double train_s0;        /* the state's training seconds at the start */
    size_t slice;           /* parameters per thread in reduce and update */
    const cnn_optimizer *optim;
    cnn_optim_params hp;
    float **grads;          /* a gradient block per thread */
    thread_stats *stats;
    int32_t *order_before;  /* the order before this epoch's shuffle, and */
    cnn_rng rng_before;     /* the PRNG: put back if its first step fails */
    double *val_loss;
    int *val_pred;
    /* written by one thread between barriers */
    int stop;               /* CNN_OK, 1 (done) or an error status */
    long steps, run_images; /* steps and images of this call */
    double phase[PH_COUNT], validate_s, t_start, t_epoch;
    double epoch_loss, epoch_acc;
    cnn_eval_result last_val;
} train_run;

/* One step as the team sees it. */
typedef struct train_step {
    int epoch;
    long step;              /* within the epoch, 0-based */
    long lo, bsz;           /* its samples [lo, lo + bsz) of the order */
    long global;            /* the step's number, 1-based from the start */
    int finite;             /* every loss and gradient sum finite */
    long bad;               /* first non-finite gradient index, or -1 */
    int epoch_end;          /* the epoch's last step */
    int last;               /* this call's last step */
    int validate, ckpt;     /* validation, checkpoint after it */
    double t_epoch;         /* when the epoch began (this call) */
    double t_val;           /* when validation began (thread 0) */
} train_step;

/* A training step's pass context: random streams come from (seed, step,
   sample index within the batch), never from the thread; first is set per
   group by the caller. */
static inline cnn_pass_ctx cnn_train_pass_ctx(const train_run *r, const train_step *st)
{
    cnn_pass_ctx ctx = {.training = 1, .step = st->global - 1, .seed = r->s->seed};
    return ctx;
}

double cnn_train_now(void);

/* Add the time since *t to phase[p] (when timing: phase not NULL) and
   restart *t. */
void cnn_train_lap(double *phase, int p, double *t);

/* train_setup.c */
int cnn_train_check(const cnn_model *m, const cnn_dataset *ds, const cnn_train_config *c);
int cnn_train_check_memory(const cnn_model *m, const cnn_dataset *ds,
                           const cnn_train_config *cfg, int T, int group);
int cnn_train_prepare_state(cnn_train_state *s, const cnn_model *m, const cnn_dataset *ds,
                            const cnn_train_config *cfg, int threads);

/* train_step.c: called by every thread of the team */
void cnn_train_begin_epoch(train_run *r, long step0);
void cnn_train_step(train_run *r, cnn_workspace *ws, int tid, train_step *st);

/* train_report.c: the master thread's part after a step */
void cnn_train_after_step(train_run *r, cnn_workspace *ws, const train_step *st);
void cnn_train_fill_result(const train_run *r, const cnn_threads *th,
                           cnn_train_result *result);

/* train_diagnose.c */
void cnn_train_tensor_of(const cnn_model *m, long i, char *out, size_t size);
void cnn_train_nonfinite_layer(const cnn_model *m, const cnn_dataset *ds,
                               const int32_t *order, long lo, long hi,
                               const cnn_pass_ctx *step_ctx, cnn_workspace *ws,
                               char *out, size_t size);

#endif /* CNN_TRAINER_H */
