/*
 * train_share.c — one thread's share of a training step: samples [a, b)
 * of the batch (the thread's chunks, one sample each), forward, the
 * per-sample loss, backward.
 *
 * Activations are kept layer-major for `layout` samples (layer l's block
 * is acts + layout * act_off, sample s at s * its output size), so any run
 * of samples is contiguous in every layer.  Layers before plan.split run
 * in groups sized for the cache; layers from split on (a big dense layer
 * and what follows) run over the whole share in one call each, between
 * the groups' forward and backward.  A model with batch sums runs in
 * stages between its sums layers, each in its own groups (share_synced).
 *
 * Each sample's gradient of the per-chunk layers goes into its own chunk
 * buffer; after its group, the chunks are folded in order into the tree's
 * blocks (tree.h) and each finished block is published.  The owner-computed
 * layers' inputs and output gradients are stashed by sample index for the
 * row owners (train_grads.c).  Nothing here depends on how many threads
 * there are, beyond which samples this one gets.
 */
#include <string.h>

#include "model.h"
#include "trainer.h"

/* Activations of one group of a synced stage kept within this (L2). */
#ifndef STAGE_BYTES
#define STAGE_BYTES ((size_t)512 << 10)
#endif

/* Layer l's output for sample s of the layout. */
static float *out_at(const cnn_model *m, float *acts, int layout, int l, int s)
{
    const cnn_layer *L = &m->layers[l];
    return acts + (size_t)layout * L->act_off + (size_t)s * cnn_layer_out_size(L);
}

/* Layer l's input for sample s: its producer's output, or the images. */
static float *in_at(const cnn_model *m, const train_ws *tw, int layout, int l, int s)
{
    int j = cnn_model_producer(m, l);
    if (j < 0)
        return tw->ws.x + (size_t)s * cnn_model_input_size(m);
    return out_at(m, tw->ws.acts, layout, j, s);
}

/* Forward of layers [l0, l1) on samples [s, s + n); returns the last
   one's output (NULL when the range holds only aliases). */
static const float *forward_range(const train_run *r, const train_ws *tw,
                                  const cnn_pass_ctx *ctx, int l0, int l1, int s, int n)
{
    const cnn_model *m = r->m;
    const int layout = r->plan.layout;
    const float *y = NULL;
    for (int l = l0; l < l1; l++) {
        const cnn_layer *L = &m->layers[l];
        if (L->op->alias)
            continue;
        float *out = out_at(m, tw->ws.acts, layout, l, s);
        L->op->forward(L, ctx, n, in_at(m, tw, layout, l, s), m->params, out);
        y = out;
    }
    return y;
}

/* Layer l's weight gradient of n samples (the first at ctx->first in the
   batch): stashed for its row owners, or each sample into its chunk. */
static void weight_grads(const train_run *r, float *const *chunk, const cnn_pass_ctx *ctx,
                         int l, const float *in, const float *dy, int n)
{
    const cnn_layer *L = &r->m->layers[l];
    const size_t in_size = (size_t)cnn_layer_in_size(L), out_size = cnn_layer_out_size(L);
    if (!L->op->backward_weights || L->ntensors == 0)
        return;
    if (r->stash_x[l]) {
        memcpy(r->stash_x[l] + (size_t)ctx->first * in_size, in, n * in_size * sizeof(float));
        memcpy(r->stash_dy[l] + (size_t)ctx->first * out_size, dy, n * out_size * sizeof(float));
        return;
    }
    cnn_pass_ctx one = *ctx;
    for (int i = 0; i < n; i++) {
        one.first = ctx->first + i;
        L->op->backward_weights(L, &one, 1, in + i * in_size, dy + i * out_size,
                                chunk[i] + r->plan.chunk_off[l]);
    }
}

/* Backward of layers l1-1 down to l0 on samples [s, s + n), from dy, the
   gradient at layer l1-1's output; each sample's weight gradients into its
   chunk (chunk[i] for sample s + i).  The lowest layer's input gradient
   goes to dx_last (NULL: not needed); the others' to the scratch pair,
   from its half `which` on (the other may hold dy). */
static void backward_range(const train_run *r, const train_ws *tw, const cnn_pass_ctx *ctx,
                           int l0, int l1, int s, int n, const float *dy, float *dx_last,
                           float *const *chunk, int which)
{
    const cnn_model *m = r->m;
    const int layout = r->plan.layout;
    float *buf[2] = {tw->ws.scratch, tw->ws.scratch + (size_t)n * m->max_act};
    int lowest = l0;
    while (lowest < l1 && m->layers[lowest].op->alias)
        lowest++;
    for (int l = l1 - 1; l >= lowest; l--) {
        const cnn_layer *L = &m->layers[l];
        if (L->op->alias)
            continue;
        const int j = cnn_model_producer(m, l);
        const float *in = in_at(m, tw, layout, l, s);
        weight_grads(r, chunk, ctx, l, in, dy, n);
        float *dx = l == lowest ? dx_last : buf[which];
        if (j < 0 || !dx)
            break;
        const float *mask = m->layers[j].relu ? in : NULL;
        L->op->backward_data(L, ctx, n, in, out_at(m, tw->ws.acts, layout, l, s), dy,
                             cnn_layer_packs(L) ? r->packed : m->params, mask, dx);
        dy = dx;
        which ^= 1;
    }
}

/* Loss (smoothed when the run says so), hit and logit gradient of n
   samples (batch index first on). */
static void losses(train_run *r, const train_step *st, const float *logits, long first, int n,
                   float *dlogits, thread_stats *me)
{
    const int classes = r->m->classes;
    const float inv_batch = 1.0f / (float)st->bsz;
    for (int i = 0; i < n; i++) {
        int label = r->ds->labels[r->s->order[st->lo + first + i]];
        const float *z = logits + (size_t)i * classes;
        float *d = dlogits + (size_t)i * classes;
        double loss = cnn_softmax_xent_smooth(z, classes, label, r->s->label_smoothing, d);
        r->sample_loss[first + i] = loss;
        r->sample_hit[first + i] = cnn_argmax(z, classes) == label;
        me->loss += loss;
        /* d(mean loss)/dz = (softmax - target) / batch */
        for (int c = 0; c < classes; c++)
            d[c] *= inv_batch;
    }
}

/* The thread's place in the step's tree: its blocks and the next one. */
typedef struct share_fold {
    cnn_tree_block blk[2 * CNN_TREE_LEVELS];
    int nblk, cur, k, span;
} share_fold;

/* Fresh chunk buffers for n samples. */
static void take_chunks(const train_run *r, train_ws *tw, int n)
{
    for (int i = 0; i < n && r->plan.chunk_floats; i++)
        tw->chunk[i] = cnn_tree_fold_take(&tw->fold);
}

/* The chunks of samples [first, first + n) into the fold, in order; each
   block finished is published. */
static void fold_chunks(train_run *r, train_ws *tw, int tid, share_fold *sf, long first, int n)
{
    if (!r->plan.chunk_floats)
        return;
    for (int i = 0; i < n; i++) {
        const int c = (int)first + i;
        cnn_tree_fold_push(&tw->fold, c, tw->chunk[i]);
        const cnn_tree_block *b = &sf->blk[sf->cur];
        const int end = b->lo + b->size < sf->k ? b->lo + b->size : sf->k;
        if (c + 1 == end) {
            float *sum = cnn_tree_fold_finish(&tw->fold);
            r->node[cnn_tree_index(sf->span, b->lo, b->size)] = sum;
            r->pub[(size_t)tid * 2 * CNN_TREE_LEVELS + r->stats[tid].npub++] = sum;
            sf->cur++;
        }
    }
}

/* Gather n images of the batch (first on) into sample s of the layout,
   each augmented when the run augments: its transform drawn from (seed,
   epoch, the image's index in the data set), whatever the thread. */
static void gather(const train_run *r, const train_step *st, const train_ws *tw, long first,
                   int s, int n)
{
    const cnn_model *m = r->m;
    const size_t size = cnn_model_input_size(m);
    float *x = tw->ws.x + (size_t)s * size;
    cnn_gather_images(m, r->ds->images, r->s->order, st->lo + first, n, x);
    for (int i = 0; i < n && tw->aug_tmp; i++) {
        cnn_augment_image(&r->s->augment, r->s->seed, st->epoch - 1,
                          r->s->order[st->lo + first + i], r->ds->height, r->ds->width,
                          r->ds->channels, x + i * size, tw->aug_tmp);
        memcpy(x + i * size, tw->aug_tmp, size * sizeof(float));
    }
}

/* Every layer in groups: forward, loss and backward of each group. */
static void share_in_groups(train_run *r, train_ws *tw, int tid, const train_step *st,
                            share_fold *sf, long a, long b, double *ph)
{
    const cnn_model *m = r->m;
    cnn_pass_ctx ctx = cnn_train_pass_ctx(r, st);
    double t = ph ? cnn_train_now() : 0;
    for (long first = a; first < b; first += r->plan.group) {
        const int n = (int)(b - first < r->plan.group ? b - first : r->plan.group);
        gather(r, st, tw, first, 0, n);
        cnn_train_lap(ph, PH_DATA, &t);
        ctx.first = first;
        const float *logits = forward_range(r, tw, &ctx, 0, m->nlayers, 0, n);
        losses(r, st, logits, first, n, tw->ws.dlogits, &r->stats[tid]);
        cnn_train_lap(ph, PH_FORWARD, &t);
        take_chunks(r, tw, n);
        backward_range(r, tw, &ctx, 0, m->nlayers, 0, n, tw->ws.dlogits, NULL, tw->chunk, 0);
        fold_chunks(r, tw, tid, sf, first, n);
        cnn_train_lap(ph, PH_BACKWARD, &t);
    }
}

/* Layers before split in groups, the rest over the whole share. */
static void share_split(train_run *r, train_ws *tw, int tid, const train_step *st,
                        share_fold *sf, long a, long b, double *ph)
{
    const cnn_model *m = r->m;
    const int split = r->plan.split, n_all = (int)(b - a), g = r->plan.group;
    const size_t bound_row = (size_t)cnn_layer_in_size(&m->layers[split]);
    cnn_pass_ctx ctx = cnn_train_pass_ctx(r, st);
    double t = ph ? cnn_train_now() : 0;
    gather(r, st, tw, a, 0, n_all);
    cnn_train_lap(ph, PH_DATA, &t);
    for (int s = 0; s < n_all; s += g) {
        ctx.first = a + s;
        forward_range(r, tw, &ctx, 0, split, s, n_all - s < g ? n_all - s : g);
    }
    ctx.first = a;
    const float *logits = forward_range(r, tw, &ctx, split, m->nlayers, 0, n_all);
    losses(r, st, logits, a, n_all, tw->ws.dlogits, &r->stats[tid]);
    cnn_train_lap(ph, PH_FORWARD, &t);
    backward_range(r, tw, &ctx, split, m->nlayers, 0, n_all, tw->ws.dlogits, tw->bound,
                   tw->chunk, 0);
    for (int s = 0; s < n_all && tw->bound; s += g) {
        const int n = n_all - s < g ? n_all - s : g;
        ctx.first = a + s;
        take_chunks(r, tw, n);
        backward_range(r, tw, &ctx, 0, split, s, n, tw->bound + (size_t)s * bound_row, NULL,
                       tw->chunk, 0);
        fold_chunks(r, tw, tid, sf, a + s, n);
    }
    cnn_train_lap(ph, PH_BACKWARD, &t);
}

/* The batch's totals of k samples' partials (count doubles each), once
   every thread (of every rank) has published its own: added in sample
   order, from 0. */
static const double *batch_totals(const train_run *r, double *part, int count, int k,
                                  double *tot)
{
#pragma omp barrier
    if (r->R > 1) {
#pragma omp master
        cnn_train_ranks_partials(r, part, count, k);
#pragma omp barrier
    }
    memset(tot, 0, (size_t)count * sizeof *tot);
    for (int s = 0; s < k; s++)
        for (int j = 0; j < count; j++)
            tot[j] += part[(size_t)s * count + j];
    return tot;
}

/* A model's stages: [0, s1), [s1, s2), ..., [sK, nlayers), s1 < ... < sK
   its sums layers (s1 = 0 when the first layer has sums: an empty first
   stage).  The first sums layer after layer l, or nlayers. */
static int next_sums(const cnn_model *m, int l)
{
    while (++l < m->nlayers && !m->layers[l].op->sums)
        ;
    return l;
}

/* The last sums layer before layer l, or 0. */
static int prev_sums(const cnn_model *m, int l)
{
    while (--l > 0 && !m->layers[l].op->sums)
        ;
    return l > 0 ? l : 0;
}

/* Samples per group of stage [l0, l1] (the sums layer l1 included): as
   many as keep the stage's activations in cache, or the whole share when
   a layer streams its weights once per call (dense: a GEMM over the share
   reads them once). */
static int stage_group(const train_run *r, int l0, int l1)
{
    const cnn_model *m = r->m;
    size_t floats = 0;
    for (int l = l0; l <= l1 && l < m->nlayers; l++) {
        const cnn_layer *L = &m->layers[l];
        if (L->op->streams_weights)
            return r->plan.share;
        floats += L->op->alias ? 0 : cnn_layer_out_size(L);
    }
    size_t g = floats ? STAGE_BYTES / (floats * sizeof(float)) : (size_t)r->plan.share;
    return g < 1 ? 1 : g > (size_t)r->plan.share ? r->plan.share : (int)g;
}

/* A sums layer's totals in the thread's; forward first, then backward. */
static double *totals_of(const train_run *r, const train_ws *tw, int l)
{
    return tw->sums_tot + r->plan.sums_off[l];
}

/* Forward of samples [a, a + n) of k, stage by stage, each in groups (in
   cache); a stage's sums layer has its totals before it runs, and the
   next one's input partials are made as each group ends. */
static void forward_synced(const train_run *r, const train_ws *tw, const cnn_pass_ctx *ctx,
                           long a, int n, int k)
{
    const cnn_model *m = r->m;
    const int layout = r->plan.layout;
    cnn_pass_ctx c = *ctx;
    int l0 = 0, l1 = m->layers[0].op->sums ? 0 : next_sums(m, 0);
    for (;;) {
        const int g = stage_group(r, l0, l1);
        const cnn_layer *E = l1 < m->nlayers ? &m->layers[l1] : NULL;
        for (int s = 0; s < n; s += g) {
            const int nn = n - s < g ? n - s : g;
            c.first = a + s;
            forward_range(r, tw, &c, l0, l1, s, nn);
            if (E)
                E->op->forward_sums(E, nn, in_at(m, tw, layout, l1, s),
                                    r->part_fwd[l1] + (size_t)(a + s) * E->op->sums(E));
        }
        if (!E)
            return;
        c.batch_sums =
            batch_totals(r, r->part_fwd[l1], E->op->sums(E), k, totals_of(r, tw, l1));
        c.batch = k;
        l0 = l1;
        l1 = next_sums(m, l1);
    }
}

/* A sums layer's backward totals once every thread's partials are in;
   thread 0 writes its gradient. */
static void sums_done(const train_run *r, const train_ws *tw, int tid, int l, int k)
{
    const cnn_layer *L = &r->m->layers[l];
    const int count = L->op->sums(L);
    const double *g = batch_totals(r, r->part_bwd[l], count, k, totals_of(r, tw, l) + count);
    if (tid == 0)
        L->op->sums_grads(L, g, r->grad + L->t_off[0]);
}

/* Whether layers [lo, hi) hold one that is no alias. */
static int has_pass(const cnn_model *m, int lo, int hi)
{
    for (int l = lo; l < hi; l++)
        if (!m->layers[l].op->alias)
            return 1;
    return 0;
}

/* The input gradient of sums layer l for samples [s, s + n), from its
   output gradient dy, into dx. */
static void sums_backward_data(const train_run *r, const train_ws *tw, cnn_pass_ctx c, int l,
                               int s, int n, int k, const float *dy, float *dx)
{
    const cnn_model *m = r->m;
    const cnn_layer *L = &m->layers[l];
    const int j = cnn_model_producer(m, l), layout = r->plan.layout;
    const float *in = in_at(m, tw, layout, l, s);
    c.batch_sums = totals_of(r, tw, l);
    c.grad_sums = c.batch_sums + L->op->sums(L);
    c.batch = k;
    if (j >= 0 && dx)
        L->op->backward_data(L, &c, n, in, out_at(m, tw->ws.acts, layout, l, s), dy,
                             m->params, m->layers[j].relu ? in : NULL, dx);
}

/* Backward of stage [l0, l1) on samples [a, a + n) of k, in groups: from
   the logits, or through sums layer l1 from its output gradient `above`;
   when l0 is a sums layer, its output gradient goes to `below` and its
   partials are made. */
static void backward_stage(const train_run *r, const train_ws *tw, const cnn_pass_ctx *ctx,
                           int l0, int l1, long a, int n, int k, const float *above,
                           float *below)
{
    const cnn_model *m = r->m;
    const int g = stage_group(r, l0, l1), bottom = m->layers[l0].op->sums != NULL;
    const int lo = bottom ? l0 + 1 : l0, chain = has_pass(m, lo, l1);
    const size_t out0 = cnn_layer_out_size(&m->layers[l0]);
    cnn_pass_ctx c = *ctx;
    for (int s = 0; s < n; s += g) {
        const int nn = n - s < g ? n - s : g;
        float *to = bottom ? below + (size_t)s * out0 : NULL;
        const float *dy = tw->ws.dlogits + (size_t)s * m->classes;
        c.first = a + s;
        if (l1 < m->nlayers) {
            float *dx = chain ? tw->ws.scratch : to;
            sums_backward_data(r, tw, c, l1, s, nn, k,
                               above + (size_t)s * cnn_layer_out_size(&m->layers[l1]), dx);
            dy = dx;
        }
        if (chain)
            backward_range(r, tw, &c, lo, l1, s, nn, dy, to, tw->chunk + s, l1 < m->nlayers);
        if (bottom) {
            const cnn_layer *L = &m->layers[l0];
            cnn_pass_ctx b = c;
            b.batch_sums = totals_of(r, tw, l0), b.batch = k;
            L->op->backward_sums(L, &b, nn, in_at(m, tw, r->plan.layout, l0, s), to, m->params,
                                 r->part_bwd[l0] + (size_t)(a + s) * L->op->sums(L));
        }
    }
}

/* Backward of samples [a, a + n) of k, stage by stage from the top; each
   sums layer's output gradient waits for its totals in one of the two
   boundary buffers. */
static void backward_synced(const train_run *r, const train_ws *tw, int tid,
                            const cnn_pass_ctx *ctx, long a, int n, int k)
{
    const cnn_model *m = r->m;
    float *bnd[2] = {tw->bound, tw->bound + (size_t)r->plan.share * m->max_act};
    int cur = 0, l1 = m->nlayers;
    for (;;) {
        const int l0 = prev_sums(m, l1);
        backward_stage(r, tw, ctx, l0, l1, a, n, k, bnd[cur], bnd[cur ^ 1]);
        if (m->layers[l0].op->sums)
            sums_done(r, tw, tid, l0, k);
        if (l0 == 0)
            return;
        cur ^= 1;
        l1 = l0;
    }
}

/* Every layer over the whole share, stage by stage, synced with the other
   threads at each sums layer (so every thread comes here, even with no
   samples). */
static void share_synced(train_run *r, train_ws *tw, int tid, const train_step *st,
                         share_fold *sf, long a, long b, double *ph)
{
    const int n = (int)(b - a), k = (int)st->bsz;
    cnn_pass_ctx ctx = cnn_train_pass_ctx(r, st);
    double t = ph ? cnn_train_now() : 0;
    ctx.first = a;
    if (n)
        gather(r, st, tw, a, 0, n);
    cnn_train_lap(ph, PH_DATA, &t);
    forward_synced(r, tw, &ctx, a, n, k);
    if (n)
        losses(r, st, out_at(r->m, tw->ws.acts, r->plan.layout, r->m->nlayers - 1, 0), a, n,
               tw->ws.dlogits, &r->stats[tid]);
    cnn_train_lap(ph, PH_FORWARD, &t);
    take_chunks(r, tw, n);
    backward_synced(r, tw, tid, &ctx, a, n, k);
    fold_chunks(r, tw, tid, sf, a, n);
    cnn_train_lap(ph, PH_BACKWARD, &t);
}

void cnn_train_share(train_run *r, train_ws *tw, int tid, const train_step *st, double *phase)
{
    const int k = (int)st->bsz;
    const long a = cnn_train_share_at(r, tid, k), b = cnn_train_share_at(r, tid + 1, k);
    share_fold sf = {.k = k, .span = cnn_tree_span(k)};
    sf.nblk = cnn_tree_blocks(k, (int)a, (int)b, sf.blk);
    r->stats[tid].loss = 0;
    r->stats[tid].npub = 0;
    if (r->plan.synced)
        share_synced(r, tw, tid, st, &sf, a, b, phase);
    else if (a == b)
        return;
    else if (r->plan.split < r->m->nlayers)
        share_split(r, tw, tid, st, &sf, a, b, phase);
    else
        share_in_groups(r, tw, tid, st, &sf, a, b, phase);
}
