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
 *   train_share.c    one thread's share of a step: forward, loss,
 *                    backward, each sample's gradient into its chunk
 *   train_grads.c    the step's gradient: chunk sums by the fixed tree
 *                    (tree.c), big layers' by their row owners; the
 *                    shared repack
 *   train_plan.c     the gradient plan and the trainer's buffers
 *   train_diagnose.c naming the tensor or layer that went non-finite
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
#include "tree.h"
#include "workspace.h"

/* Per-thread flags, one cache line each (no false sharing). */
typedef struct {
    double loss;    /* the thread's samples' loss (only whether finite) */
    double busy;    /* seconds of its share this step */
    long bad;       /* first non-finite gradient index of the slice, or -1 */
    int failed;
    int npub;       /* blocks of chunks it published this step */
    char pad[64 - 2 * sizeof(double) - sizeof(long) - 2 * sizeof(int)];
} thread_stats;

/* How the step's gradient is made (train_grads.c).  A layer whose kind
   has batch_rows has its gradient computed over the whole batch by the
   owners of its rows, from its input and output gradient kept for every
   sample (stash); every other layer with parameters has its gradient
   summed from one chunk buffer per sample by the fixed tree (tree.h), its
   tensors at chunk_off[l] of a chunk buffer.  Layers [split, nlayers) run
   over a thread's whole share at once (a big dense layer reads its
   weights once per call), the ones before in groups of `group` samples,
   sized for the cache; split = nlayers: every layer in groups. */
typedef struct train_plan {
    size_t chunk_floats;
    size_t *chunk_off;      /* per layer; SIZE_MAX: none */
    int split, group;
    int share;              /* most samples a thread's share holds */
    int layout;             /* samples a thread's activations hold */
    int ahead;              /* chunks a thread holds before folding them */
    /* A model with batch sums (batch norm: layer.h, sums) runs in
       stages cut at those layers (synced): every thread meets a barrier
       at each such layer in forward and in backward, and each stage goes
       over the thread's share in groups sized for the cache (the whole
       share when it holds a dense layer);
       sums_off[l]: the layer's totals in a thread's sums_tot, SIZE_MAX
       when it has none; sums_doubles: their doubles, forward then
       backward. */
    int synced;
    size_t *sums_off, sums_doubles;
} train_plan;

/* One thread's buffers. */
typedef struct train_ws {
    cnn_workspace ws;       /* x (layout, input), acts (layout samples),
                               scratch 2 * layout * max_act, dlogits */
    float *bound;           /* (share, input of layer split): the suffix's
                               gradient for the groups; synced: two (share,
                               max_act) for the stages' boundaries; else
                               NULL */
    float **chunk;          /* group pointers: the current group's chunks */
    unsigned char *deferred; /* per layer: its owner gradient comes with
                               the update (train_grads.c) */
    cnn_tree_fold fold;     /* its pool: the buffers in pool_mem */
    float *pool_mem;
    float *tree_tmp;        /* cnn_tree_sum's */
    float *aug_tmp;         /* one image, for the augmentation (NULL: none) */
    double *sums_tot;       /* the batch's totals of the sums layers, each
                               at plan.sums_off[l]: forward, then backward */
} train_ws;

/* Thread 0's time per phase (seconds), for the result's breakdown. */
enum { PH_DATA, PH_FORWARD, PH_BACKWARD, PH_WAIT, PH_UPDATE, PH_COUNT };

/* The run: set up by cnn_train, shared by the team. */
typedef struct train_run {
    cnn_model *m;
    const cnn_dataset *ds, *val;
    const cnn_train_config *cfg;
    cnn_train_state *s;
    int T;                  /* threads (of this rank: every rank runs T) */
    int R, rank;            /* ranks (MPI, comm.h) and this one: 1, 0 alone */
    long count, batch, steps_per_epoch;
    long step_max;          /* most samples in a step: min(batch, count) */
    long t0, total;         /* the state's step at the start; steps to take */
    int first_epoch;
    long first_step;        /* of first_epoch */
    double train_s0;        /* the state's training seconds at the start */
    const cnn_optimizer *optim;
    cnn_optim_params hp;
    train_plan plan;
    float *grad;            /* the step's gradient (block floats) */
    float *packed;          /* weights repacked for backward-data, shared;
                               NULL when no layer packs */
    float **stash_x, **stash_dy; /* per layer: (batch, in), (batch, out)
                               of the owner-computed layers, else NULL */
    double **part_fwd, **part_bwd; /* per layer with batch sums: each
                               sample's partials (batch, sums), else NULL */
    double *sample_loss;    /* per sample of the step, summed in order */
    unsigned char *sample_hit;
    float **node;           /* the tree's published nodes (2 * span) */
    float **pub;            /* thread t's published buffers at
                               t * 2 * CNN_TREE_LEVELS */
    float *ranks_blocks;    /* over ranks: every rank's published blocks,
                               gathered (train_ranks.c); NULL alone */
    size_t *ranks_slots;    /* the node slots the other ranks' blocks
                               filled, and how many */
    int ranks_nslots;
    int ranks_loss_ok;      /* every other rank's losses finite */
    int ranks_cancel;       /* some rank was cancelled before its share
                               ended: every rank stops after this step */
    double comm_s0, comm_bytes0; /* cnn_comm_seconds() and _bytes() when
                               the team began */
    double val_comm_s, val_comm_bytes; /* of them, validation's */
    thread_stats *stats;
    int32_t *order_before;  /* the order before this epoch's shuffle, and */
    cnn_rng rng_before;     /* the PRNG: put back if its first step fails */
    double *val_loss;
    int *val_pred;
    /* written by one thread between barriers */
    int stop;               /* CNN_OK, 1 (done) or an error status */
    long steps, run_images; /* steps and images of this call */
    double phase[PH_COUNT], validate_s, t_start, t_epoch;
    double busy, busy_max;  /* sums over steps: the shares' seconds, and
                               threads x the slowest share's */
    double epoch_loss, epoch_acc;
    cnn_eval_result last_val;
} train_run;

/* Sample index where global thread g (of R * T, rank q's threads q * T
   .. q * T + T - 1) starts its share of a k-sample step; g = R * T gives
   k.  Every rank runs the same T, so the cut depends on R * T only. */
static inline long cnn_train_global_at(const train_run *r, long g, long k)
{
    return g * k / ((long)r->R * r->T);
}

/* The same for this rank's thread tid; tid = T gives the rank's end. */
static inline long cnn_train_share_at(const train_run *r, int tid, long k)
{
    return cnn_train_global_at(r, (long)r->rank * r->T + tid, k);
}

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
                           const cnn_train_config *cfg, int T, long per_step);
int cnn_train_prepare_state(cnn_train_state *s, const cnn_model *m, const cnn_dataset *ds,
                            const cnn_train_config *cfg, int threads);

/* train_step.c: called by every thread of the team */
void cnn_train_begin_epoch(train_run *r, long step0);
void cnn_train_step(train_run *r, train_ws *tw, int tid, train_step *st);

/* train_share.c: thread tid's samples of the step forward and backward;
   each sample's chunk gradient folded (published in r->node), the owner
   layers' inputs and output gradients stashed, the losses and hits per
   sample.  phase (NULL: no timing) receives the time per phase. */
void cnn_train_share(train_run *r, train_ws *tw, int tid, const train_step *st,
                     double *phase);

/* train_plan.c */
/* The plan for a model, batch and thread count (r->m, r->batch, r->T);
   CNN_OK or CNN_ERR_NOMEM. */
int cnn_train_plan(train_run *r);
void cnn_train_plan_free(train_run *r);
/* The shared buffers of the run (after the plan) and their bytes. */
int cnn_train_alloc_shared(train_run *r);
void cnn_train_free_shared(train_run *r);
/* One thread's buffers; CNN_OK or CNN_ERR_NOMEM. */
int cnn_train_ws_alloc(train_run *r, train_ws *tw, int tid);
void cnn_train_ws_free(train_run *r, train_ws *tw);
/* Bytes the run's buffers take, shared and every thread's, for a batch, a
   data set of count images and T threads. */
double cnn_train_bytes(const cnn_model *m, long batch, long count, int T);

/* train_grads.c */
/* Thread tid's part of the step's gradient into r->grad: its slice of the
   chunk sums and its rows of the owner-computed layers; returns the first
   non-finite index, or -1. */
long cnn_train_grads(train_run *r, train_ws *tw, int tid, const train_step *st);
/* Each range [begin, end) of r->grad that is thread tid's part, through
   fn; an owner layer's gradient that cnn_train_grads deferred (sure to be
   finite) is computed block by block just before fn takes it, in cache.
   shared: a big layer's rows, which every other thread reads next step. */
typedef void (*range_fn)(const train_run *r, const train_step *st, size_t begin, size_t end,
                         int shared);
void cnn_train_grads_each(const train_run *r, const train_ws *tw, int tid, const train_step *st,
                          range_fn fn);
/* The bound on n * max|x| * max|dy| below which an owner layer's gradient
   is deferred to the update (2^120; a test sets 0 to check that the other
   way gives the same bits). */
extern double cnn_train_owner_bound;
/* After every thread's part: thread tid's published buffers back to its
   pool, cleared, and its slots in the node table emptied. */
void cnn_train_grads_release(train_run *r, train_ws *tw, int tid, const train_step *st);
/* Repack the weights into r->packed, thread tid's part. */
void cnn_train_pack(const train_run *r, int tid);
/* After a finite step, the batch-sums layers' buffers (moving statistics)
   from thread tid's totals; one thread. */
void cnn_train_sums_update(const train_run *r, const train_ws *tw, const train_step *st);

/* train_ranks.c: the step over several ranks (nothing when alone) */
/* The buffer for the other ranks' published blocks; CNN_OK or NOMEM. */
int cnn_train_ranks_alloc(train_run *r);
void cnn_train_ranks_free(train_run *r);
/* Master thread, after every thread's share, between barriers: every
   rank's per-sample losses and hits, published blocks (into r->node) and
   owner stashes, gathered by sample index; r->ranks_loss_ok and
   r->ranks_cancel (whether any rank's cfg->cancel was set). */
void cnn_train_ranks_share(train_run *r, const train_step *st);
/* Master thread, between barriers: every rank's samples' partials (count
   doubles each, by sample index) of a k-sample step into part. */
void cnn_train_ranks_partials(const train_run *r, double *part, int count, long k);
/* Master thread, after every thread evaluated its share of the global
   split of r->val: every rank's per-image losses and predictions. */
void cnn_train_ranks_validation(const train_run *r);

/* train_report.c: the master thread's part after a step */
void cnn_train_after_step(train_run *r, train_ws *tw, const train_step *st);
void cnn_train_fill_result(const train_run *r, const cnn_threads *th,
                           cnn_train_result *result);

/* train_diagnose.c */
void cnn_train_tensor_of(const cnn_model *m, long i, char *out, size_t size);
void cnn_train_nonfinite_layer(const cnn_model *m, const cnn_dataset *ds,
                               const cnn_train_state *s, int epoch, long lo, long hi,
                               const cnn_pass_ctx *step_ctx, cnn_workspace *ws,
                               char *out, size_t size);

#endif /* CNN_TRAINER_H */
