/*
 * train_plan.c — how a run makes its gradient (the plan of trainer.h:
 * which layers are summed per chunk by the tree, which computed by row
 * owners, which run over a whole share at once), and the run's buffers,
 * shared and per thread, with what they cost.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model.h"
#include "trainer.h"

/* Weights a kind streams once per call, beyond this, make it worth running
   the rest of the model over a whole share. */
#define STREAMED_BIG ((size_t)1 << 20)
/* Activations of a group of samples kept within this (about L2). */
#define GROUP_ACT_BYTES ((size_t)256 << 10)

static int owner(const cnn_layer *L)
{
    return L->op->batch_rows && L->op->backward_weights && L->ntensors > 0;
}

/* Floats from a layer's first tensor to the end of its last. */
static size_t layer_span(const cnn_layer *L)
{
    int last = L->ntensors - 1;
    return L->t_off[last] + L->t_count[last] - L->t_off[0];
}

/* The first layer whose streamed weights are big, where every layer from
   it on has no chunk gradient; nlayers when there is none. */
static int find_split(const cnn_model *m, const size_t *chunk_off)
{
    for (int l = 0; l < m->nlayers; l++) {
        const cnn_layer *L = &m->layers[l];
        if (!L->op->streams_weights || !owner(L) || L->t_count[0] * sizeof(float) <= STREAMED_BIG)
            continue;
        for (int j = l; j < m->nlayers; j++)
            if (chunk_off[j] != SIZE_MAX)
                return m->nlayers;
        return l;
    }
    return m->nlayers;
}

/* Floats of one sample's outputs of layers [0, l1). */
static size_t act_floats_before(const cnn_model *m, int l1)
{
    size_t end = 0;
    for (int l = 0; l < l1; l++) {
        size_t e = m->layers[l].act_off + cnn_layer_out_size(&m->layers[l]);
        end = e > end ? e : end;
    }
    return end;
}

/* Where each layer's gradient comes from: a chunk's floats, its row
   owners or its batch sums (those get a place in the threads' totals). */
static void place_layers(const cnn_model *m, train_plan *p)
{
    p->chunk_floats = p->sums_doubles = 0;
    p->synced = 0;
    for (int l = 0; l < m->nlayers; l++) {
        const cnn_layer *L = &m->layers[l];
        p->chunk_off[l] = p->sums_off[l] = SIZE_MAX;
        if (L->op->sums) {
            p->sums_off[l] = p->sums_doubles;
            p->sums_doubles += 2 * (size_t)L->op->sums(L);
            p->synced = 1;
        } else if (L->op->backward_weights && L->ntensors > 0 && !owner(L)) {
            p->chunk_off[l] = p->chunk_floats;
            p->chunk_floats += (layer_span(L) + 15) & ~(size_t)15;
        }
    }
}

int cnn_train_plan(train_run *r)
{
    const cnn_model *m = r->m;
    train_plan *p = &r->plan;
    p->chunk_off = malloc((size_t)m->nlayers * sizeof *p->chunk_off);
    p->sums_off = malloc((size_t)m->nlayers * sizeof *p->sums_off);
    if (!p->chunk_off || !p->sums_off) {
        cnn_train_plan_free(r);
        return cnn_fail(CNN_ERR_NOMEM, "train: out of memory");
    }
    place_layers(m, p);
    const long G = (long)r->R * r->T; /* threads over every rank */
    p->share = (int)((r->step_max + G - 1) / G);
    if (p->synced) { /* stage by stage, each in its own groups (train_share.c),
                        its chunks folded after the last stage */
        p->split = m->nlayers;
        p->group = p->layout = p->ahead = p->share;
        return CNN_OK;
    }
    p->split = find_split(m, p->chunk_off);
    size_t bytes = act_floats_before(m, p->split) * sizeof(float);
    int group = bytes ? (int)(GROUP_ACT_BYTES / bytes) : p->share;
    p->group = group < 1 ? 1 : group > p->share ? p->share : group;
    p->layout = p->split < m->nlayers ? p->share : p->group;
    p->ahead = p->group; /* chunks taken before they are folded */
    return CNN_OK;
}

void cnn_train_plan_free(train_run *r)
{
    free(r->plan.chunk_off);
    free(r->plan.sums_off);
    r->plan.chunk_off = NULL;
    r->plan.sums_off = NULL;
}

/* Samples in the step's last batch, when it is a short one (else the
   batch). */
static long last_batch(const train_run *r)
{
    long rest = r->count % r->batch;
    return rest ? rest : r->step_max;
}

/* Chunk buffers thread tid may hold at once, over a full or a short step. */
static int pool_size(const train_run *r, int tid)
{
    int need = 0;
    const long k[2] = {r->step_max, last_batch(r)};
    for (int i = 0; i < 2; i++) {
        int kk = (int)k[i], a = (int)cnn_train_share_at(r, tid, kk),
            b = (int)cnn_train_share_at(r, tid + 1, kk);
        int n = cnn_tree_fold_buffers(kk, a, b, r->plan.ahead);
        need = n > need ? n : need;
    }
    return need;
}

/* Floats of the suffix's input gradient buffer (0: none). */
static size_t bound_floats(const cnn_model *m, const train_plan *p)
{
    if (p->synced) /* the two boundary buffers of the stages */
        return 2 * (size_t)p->share * m->max_act;
    if (p->split >= m->nlayers || cnn_model_producer(m, p->split) < 0)
        return 0;
    return (size_t)p->share * (size_t)cnn_layer_in_size(&m->layers[p->split]);
}

/* Floats of cnn_tree_sum's tmp for the run's biggest tree. */
static size_t tree_tmp_floats(const train_run *r)
{
    int levels = 1;
    while ((1L << (levels - 1)) < r->step_max)
        levels++;
    return 2 * (size_t)levels * CNN_TREE_PIECE;
}

int cnn_train_ws_alloc(train_run *r, train_ws *tw, int tid)
{
    const train_plan *p = &r->plan;
    memset(tw, 0, sizeof *tw);
    int st = cnn_workspace_alloc(&tw->ws, r->m, p->layout, 1);
    const size_t nb = bound_floats(r->m, p);
    const int npool = p->chunk_floats ? pool_size(r, tid) : 0;
    tw->bound = nb ? cnn_aligned_calloc(nb * sizeof(float)) : NULL;
    tw->chunk = calloc((size_t)p->ahead, sizeof *tw->chunk);
    tw->deferred = calloc((size_t)r->m->nlayers, 1);
    tw->fold.floats = p->chunk_floats;
    tw->fold.pool = calloc((size_t)npool + 1, sizeof *tw->fold.pool);
    tw->pool_mem = cnn_aligned_calloc((size_t)npool * p->chunk_floats * sizeof(float));
    tw->tree_tmp = cnn_aligned_calloc(tree_tmp_floats(r) * sizeof(float));
    tw->sums_tot = calloc(p->sums_doubles + 1, sizeof *tw->sums_tot);
    const int aug = cnn_augment_on(&r->s->augment);
    tw->aug_tmp = aug ? malloc(cnn_model_input_size(r->m) * sizeof(float)) : NULL;
    int ok = st == CNN_OK && (!nb || tw->bound) && tw->chunk && tw->deferred && tw->fold.pool &&
             (tw->pool_mem || !npool) && tw->tree_tmp && tw->sums_tot && (tw->aug_tmp || !aug);
    for (int i = 0; ok && i < npool; i++)
        cnn_tree_fold_give(&tw->fold, tw->pool_mem + (size_t)i * p->chunk_floats);
    if (!ok)
        cnn_train_ws_free(r, tw);
    return ok ? CNN_OK : CNN_ERR_NOMEM;
}

void cnn_train_ws_free(train_run *r, train_ws *tw)
{
    (void)r;
    cnn_workspace_free(&tw->ws);
    cnn_aligned_free(tw->bound);
    free(tw->chunk);
    free(tw->deferred);
    free(tw->fold.pool);
    cnn_aligned_free(tw->pool_mem);
    cnn_aligned_free(tw->tree_tmp);
    free(tw->sums_tot);
    free(tw->aug_tmp);
    memset(tw, 0, sizeof *tw);
}

/* The owner layers' stashes and the sums layers' partials for the batch;
   0 on failure. */
static int alloc_stashes(train_run *r)
{
    const cnn_model *m = r->m;
    r->stash_x = calloc((size_t)m->nlayers, sizeof *r->stash_x);
    r->stash_dy = calloc((size_t)m->nlayers, sizeof *r->stash_dy);
    r->part_fwd = calloc((size_t)m->nlayers, sizeof *r->part_fwd);
    r->part_bwd = calloc((size_t)m->nlayers, sizeof *r->part_bwd);
    if (!r->stash_x || !r->stash_dy || !r->part_fwd || !r->part_bwd)
        return 0;
    for (int l = 0; l < m->nlayers; l++) {
        const cnn_layer *L = &m->layers[l];
        if (L->op->sums) {
            const size_t n = (size_t)r->step_max * L->op->sums(L);
            r->part_fwd[l] = calloc(n, sizeof(double));
            r->part_bwd[l] = calloc(n, sizeof(double));
            if (!r->part_fwd[l] || !r->part_bwd[l])
                return 0;
        }
        if (!owner(L))
            continue;
        r->stash_x[l] = cnn_aligned_calloc((size_t)r->step_max * cnn_layer_in_size(L) * sizeof(float));
        r->stash_dy[l] = cnn_aligned_calloc((size_t)r->step_max * cnn_layer_out_size(L) * sizeof(float));
        if (!r->stash_x[l] || !r->stash_dy[l])
            return 0;
    }
    return 1;
}

int cnn_train_alloc_shared(train_run *r)
{
    const cnn_model *m = r->m;
    const int span = cnn_tree_span((int)r->step_max);
    r->grad = cnn_aligned_calloc(m->block * sizeof(float));
    /* Not cleared: only the packing layers' parts are written and read, so
       the pages of the others (a big dense layer that reads w) are never
       touched and cost no memory. */
    r->packed = cnn_model_needs_pack(m)
                    ? aligned_alloc(64, (m->block * sizeof(float) + 63) & ~(size_t)63)
                    : NULL;
    r->sample_loss = calloc((size_t)r->step_max, sizeof *r->sample_loss);
    r->sample_hit = calloc((size_t)r->step_max, 1);
    r->node = calloc(2 * (size_t)span, sizeof *r->node);
    r->pub = calloc((size_t)r->T * 2 * CNN_TREE_LEVELS, sizeof *r->pub);
    int ok = alloc_stashes(r) && r->grad && (r->packed || !cnn_model_needs_pack(m)) &&
             r->sample_loss && r->sample_hit && r->node && r->pub;
    return ok ? CNN_OK : cnn_fail(CNN_ERR_NOMEM, "train: out of memory");
}

void cnn_train_free_shared(train_run *r)
{
    if (r->stash_x)
        for (int l = 0; l < r->m->nlayers; l++) {
            cnn_aligned_free(r->stash_x[l]);
            cnn_aligned_free(r->stash_dy[l]);
        }
    if (r->part_fwd)
        for (int l = 0; l < r->m->nlayers; l++) {
            free(r->part_fwd[l]);
            free(r->part_bwd[l]);
        }
    free(r->stash_x);
    free(r->stash_dy);
    free(r->part_fwd);
    free(r->part_bwd);
    cnn_aligned_free(r->grad);
    cnn_aligned_free(r->packed);
    free(r->sample_loss);
    free(r->sample_hit);
    free(r->node);
    free(r->pub);
}

double cnn_train_bytes(const cnn_model *m, long batch, long count, int T)
{
    const long step = batch < count ? batch : count;
    train_run r = {.m = (cnn_model *)m, .batch = batch, .step_max = step, .count = count,
                   .T = T, .R = 1};
    double bytes = 0;
    if (cnn_train_plan(&r) == CNN_OK) {
        const train_plan *p = &r.plan;
        const double thread = cnn_workspace_bytes(m, p->layout, 1) +
                              (double)bound_floats(m, p) * sizeof(float) +
                              (double)tree_tmp_floats(&r) * sizeof(float) +
                              (double)p->sums_doubles * sizeof(double) +
                              (double)cnn_model_input_size(m) * sizeof(float);
        bytes = T * thread + (1.0 + cnn_model_needs_pack(m)) * (double)m->block * sizeof(float) +
                (double)step * (sizeof(double) + 1) +
                2.0 * cnn_tree_span((int)step) * sizeof(float *) +
                (double)step * (double)p->sums_doubles * sizeof(double);
        for (int t = 0; t < T && p->chunk_floats; t++)
            bytes += (double)pool_size(&r, t) * (double)p->chunk_floats * sizeof(float);
        for (int l = 0; l < m->nlayers; l++)
            if (owner(&m->layers[l]))
                bytes += (double)step * sizeof(float) *
                         (double)(cnn_layer_in_size(&m->layers[l]) +
                                  cnn_layer_out_size(&m->layers[l]));
    }
    cnn_train_plan_free(&r);
    return bytes;
}
