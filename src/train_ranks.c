/*
 * train_ranks.c — a training step over several ranks (MPI, comm.h).  The
 * batch is cut over R * T global threads (rank q runs threads q * T ..
 * q * T + T - 1, every rank T of them), so each rank's samples are one
 * contiguous range.  After the threads' shares, each rank gathers what the
 * others made, always by sample index or by node of the chunk tree, never
 * summed by MPI: the per-sample losses and hits, the tree's published
 * blocks (tree.h), the owner layers' stashed inputs and output gradients,
 * and, at each batch-norm barrier, the per-sample partials.  Every rank
 * then holds what one process of R * T threads would, sums it in the same
 * order, and applies the whole update itself: the same bits on every rank
 * and for any split of ranks and threads.  Alone (R = 1) nothing here
 * runs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "error.h"
#include "model.h"
#include "trainer.h"

/* Rank q's samples of a k-sample step: [*lo, *hi). */
static void rank_range(const train_run *r, int q, long k, long *lo, long *hi)
{
    *lo = cnn_train_global_at(r, (long)q * r->T, k);
    *hi = cnn_train_global_at(r, (long)(q + 1) * r->T, k);
}

/* The blocks global thread g publishes in a k-sample step. */
static int thread_blocks(const train_run *r, long g, long k, cnn_tree_block *blk)
{
    return cnn_tree_blocks((int)k, (int)cnn_train_global_at(r, g, k),
                           (int)cnn_train_global_at(r, g + 1, k), blk);
}

/* How many blocks rank q's threads publish in a k-sample step. */
static int rank_blocks(const train_run *r, int q, long k)
{
    cnn_tree_block blk[2 * CNN_TREE_LEVELS];
    int n = 0;
    for (int t = 0; t < r->T; t++)
        n += thread_blocks(r, (long)q * r->T + t, k, blk);
    return n;
}

/* Blocks of every rank in a k-sample step. */
static int all_blocks(const train_run *r, long k)
{
    int n = 0;
    for (int q = 0; q < r->R; q++)
        n += rank_blocks(r, q, k);
    return n;
}

int cnn_train_ranks_alloc(train_run *r)
{
    r->ranks_loss_ok = 1;
    if (r->R < 2 || !r->plan.chunk_floats)
        return CNN_OK;
    const long rest = r->count % r->batch;
    int n = all_blocks(r, r->step_max);
    if (rest && all_blocks(r, rest) > n)
        n = all_blocks(r, rest);
    r->ranks_blocks = cnn_aligned_calloc((size_t)n * r->plan.chunk_floats * sizeof(float));
    r->ranks_slots = calloc((size_t)n, sizeof *r->ranks_slots);
    if (!r->ranks_blocks || !r->ranks_slots)
        return cnn_fail(CNN_ERR_NOMEM, "train: out of memory");
    return CNN_OK;
}

void cnn_train_ranks_free(train_run *r)
{
    cnn_aligned_free(r->ranks_blocks);
    free(r->ranks_slots);
    r->ranks_blocks = NULL;
    r->ranks_slots = NULL;
}

/* Each rank's samples of a k-sample step, `unit` bytes each, gathered in
   place into buf (indexed by sample). */
static void gather_samples(const train_run *r, void *buf, size_t unit, long k)
{
    size_t counts[r->R];
    for (int q = 0; q < r->R; q++) {
        long lo, hi;
        rank_range(r, q, k, &lo, &hi);
        counts[q] = (size_t)(hi - lo) * unit;
    }
    cnn_comm_gatherv_bytes(NULL, buf, counts);
}

/* Every rank's published blocks: this rank's copied into its place in
   r->ranks_blocks (rank by rank, thread by thread, block by block), all
   gathered, and the other ranks' entered in the node table. */
static void gather_blocks(train_run *r, long k)
{
    const size_t f = r->plan.chunk_floats;
    const int span = cnn_tree_span((int)k);
    size_t counts[r->R];
    for (int i = 0; i < r->ranks_nslots; i++) /* the last step's */
        r->node[r->ranks_slots[i]] = NULL;
    r->ranks_nslots = 0;
    float *at = r->ranks_blocks, *mine = NULL;
    for (int q = 0; q < r->R; q++) {
        counts[q] = (size_t)rank_blocks(r, q, k) * f * sizeof(float);
        if (q == r->rank)
            mine = at;
        at += counts[q] / sizeof(float);
    }
    cnn_tree_block blk[2 * CNN_TREE_LEVELS];
    for (int t = 0; t < r->T; t++) {
        const int n = thread_blocks(r, (long)r->rank * r->T + t, k, blk);
        for (int i = 0; i < n; i++, mine += f)
            memcpy(mine, r->node[cnn_tree_index(span, blk[i].lo, blk[i].size)],
                   f * sizeof(float));
    }
    cnn_comm_gatherv_bytes(NULL, r->ranks_blocks, counts);
    at = r->ranks_blocks;
    for (long g = 0; g < (long)r->R * r->T; g++) {
        const int n = thread_blocks(r, g, k, blk);
        for (int i = 0; i < n; i++, at += f) {
            if (g / r->T == r->rank)
                continue;
            size_t slot = cnn_tree_index(span, blk[i].lo, blk[i].size);
            r->node[slot] = at;
            r->ranks_slots[r->ranks_nslots++] = slot;
        }
    }
}

/* Whether every other rank's threads had finite losses, and whether any
   rank was asked to stop: every rank then stops after the same step. */
static void agree_flags(train_run *r)
{
    int mine[2] = {1, r->cfg->cancel && *r->cfg->cancel}, all[2 * r->R];
    for (int t = 0; t < r->T; t++)
        mine[0] &= isfinite(r->stats[t].loss) != 0;
    cnn_comm_gather_bytes(mine, sizeof mine, all);
    r->ranks_loss_ok = 1, r->ranks_cancel = 0;
    for (int q = 0; q < r->R; q++) {
        r->ranks_loss_ok &= q == r->rank || all[2 * q];
        r->ranks_cancel |= all[2 * q + 1];
    }
}

void cnn_train_ranks_share(train_run *r, const train_step *st)
{
    const long k = st->bsz;
    const cnn_model *m = r->m;
    gather_samples(r, r->sample_loss, sizeof *r->sample_loss, k);
    gather_samples(r, r->sample_hit, sizeof *r->sample_hit, k);
    agree_flags(r);
    for (int l = 0; r->stash_x && l < m->nlayers; l++)
        if (r->stash_x[l]) {
            const cnn_layer *L = &m->layers[l];
            gather_samples(r, r->stash_x[l], (size_t)cnn_layer_in_size(L) * sizeof(float), k);
            gather_samples(r, r->stash_dy[l], (size_t)cnn_layer_out_size(L) * sizeof(float), k);
        }
    if (r->plan.chunk_floats)
        gather_blocks(r, k);
}

void cnn_train_ranks_partials(const train_run *r, double *part, int count, long k)
{
    gather_samples(r, part, (size_t)count * sizeof *part, k);
}

void cnn_train_ranks_validation(const train_run *r)
{
    const long n = r->val->count, G = (long)r->R * r->T;
    size_t loss[r->R], pred[r->R];
    for (int q = 0; q < r->R; q++) {
        long lo = n * q * r->T / G, hi = n * (q + 1) * r->T / G;
        loss[q] = (size_t)(hi - lo) * sizeof *r->val_loss;
        pred[q] = (size_t)(hi - lo) * sizeof *r->val_pred;
    }
    cnn_comm_gatherv_bytes(NULL, r->val_loss, loss);
    cnn_comm_gatherv_bytes(NULL, r->val_pred, pred);
}
