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
 * the groups' forward and backward.
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
static void weight_grads(const train_run *r, const train_ws *tw, const cnn_pass_ctx *ctx,
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
                                tw->chunk[i] + r->plan.chunk_off[l]);
    }
}

/* Backward of layers l1-1 down to l0 on samples [s, s + n), from dy, the
   gradient at layer l1-1's output.  The lowest layer's input gradient goes
   to dx_last (NULL: not needed); the others' to the scratch pair. */
static void backward_range(const train_run *r, const train_ws *tw, const cnn_pass_ctx *ctx,
                           int l0, int l1, int s, int n, const float *dy, float *dx_last)
{
    const cnn_model *m = r->m;
    const int layout = r->plan.layout;
    float *buf[2] = {tw->ws.scratch, tw->ws.scratch + (size_t)n * m->max_act};
    int which = 0, lowest = l0;
    while (lowest < l1 && m->layers[lowest].op->alias)
        lowest++;
    for (int l = l1 - 1; l >= lowest; l--) {
        const cnn_layer *L = &m->layers[l];
        if (L->op->alias)
            continue;
        const int j = cnn_model_producer(m, l);
        const float *in = in_at(m, tw, layout, l, s);
        weight_grads(r, tw, ctx, l, in, dy, n);
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
        backward_range(r, tw, &ctx, 0, m->nlayers, 0, n, tw->ws.dlogits, NULL);
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
    backward_range(r, tw, &ctx, split, m->nlayers, 0, n_all, tw->ws.dlogits, tw->bound);
    for (int s = 0; s < n_all && tw->bound; s += g) {
        const int n = n_all - s < g ? n_all - s : g;
        ctx.first = a + s;
        take_chunks(r, tw, n);
        backward_range(r, tw, &ctx, 0, split, s, n, tw->bound + (size_t)s * bound_row, NULL);
        fold_chunks(r, tw, tid, sf, a + s, n);
    }
    cnn_train_lap(ph, PH_BACKWARD, &t);
}

/* The batch's totals of k samples' partials (count doubles each), once
   every thread has published its own: added in sample order, from 0. */
static const double *batch_totals(const double *part, int count, int k, double *tot)
{
#pragma omp barrier
    memset(tot, 0, (size_t)count * sizeof *tot);
    for (int s = 0; s < k; s++)
        for (int j = 0; j < count; j++)
            tot[j] += part[(size_t)s * count + j];
    return tot;
}

/* Forward of every layer over samples [a, a + n) of k, layer by layer. */
static const float *forward_synced(const train_run *r, const train_ws *tw,
                                   const cnn_pass_ctx *ctx, long a, int n, int k)
{
    const cnn_model *m = r->m;
    const float *y = NULL;
    for (int l = 0; l < m->nlayers; l++) {
        const cnn_layer *L = &m->layers[l];
        if (L->op->alias)
            continue;
        const float *in = in_at(m, tw, r->plan.layout, l, 0);
        cnn_pass_ctx c = *ctx;
        if (L->op->sums) {
            const int count = L->op->sums(L);
            if (n)
                L->op->forward_sums(L, n, in, r->part_fwd[l] + (size_t)a * count);
            c.batch_sums = batch_totals(r->part_fwd[l], count, k,
                                        tw->sums_tot + r->plan.sums_off[l]);
            c.batch = k;
        }
        float *out = out_at(m, tw->ws.acts, r->plan.layout, l, 0);
        if (n)
            L->op->forward(L, &c, n, in, m->params, out);
        y = out;
    }
    return y;
}

/* A sums layer's backward totals (after its forward ones in the thread's
   totals); thread 0 writes its gradient. */
static void layer_sums(const train_run *r, const train_ws *tw, int tid, int l, cnn_pass_ctx *c,
                       const float *in, const float *dy, long a, int n, int k)
{
    const cnn_layer *L = &r->m->layers[l];
    const int count = L->op->sums(L);
    double *tot = tw->sums_tot + r->plan.sums_off[l];
    c->batch_sums = tot;
    c->batch = k;
    if (n)
        L->op->backward_sums(L, c, n, in, dy, r->m->params, r->part_bwd[l] + (size_t)a * count);
    c->grad_sums = batch_totals(r->part_bwd[l], count, k, tot + count);
    if (tid == 0)
        L->op->sums_grads(L, c->grad_sums, r->grad + L->t_off[0]);
}

/* Backward of every layer over samples [a, a + n) of k, layer by layer,
   from the logits' gradient; the samples' chunks are taken. */
static void backward_synced(const train_run *r, const train_ws *tw, int tid,
                            const cnn_pass_ctx *ctx, long a, int n, int k)
{
    const cnn_model *m = r->m;
    const int layout = r->plan.layout;
    float *buf[2] = {tw->ws.scratch, tw->ws.scratch + (size_t)layout * m->max_act};
    const float *dy = tw->ws.dlogits;
    for (int l = m->nlayers - 1, which = 0; l >= 0; l--) {
        const cnn_layer *L = &m->layers[l];
        if (L->op->alias)
            continue;
        const int j = cnn_model_producer(m, l);
        const float *in = in_at(m, tw, layout, l, 0);
        cnn_pass_ctx c = *ctx;
        if (L->op->sums)
            layer_sums(r, tw, tid, l, &c, in, dy, a, n, k);
        else if (n)
            weight_grads(r, tw, ctx, l, in, dy, n);
        if (j < 0)
            break;
        const float *mask = m->layers[j].relu ? in : NULL;
        if (n)
            L->op->backward_data(L, &c, n, in, out_at(m, tw->ws.acts, layout, l, 0), dy,
                                 cnn_layer_packs(L) ? r->packed : m->params, mask, buf[which]);
        dy = buf[which];
        which ^= 1;
    }
}

/* Every layer over the whole share, synced with the other threads at each
   sums layer (so every thread comes here, even with no samples). */
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
    const float *logits = forward_synced(r, tw, &ctx, a, n, k);
    if (n)
        losses(r, st, logits, a, n, tw->ws.dlogits, &r->stats[tid]);
    cnn_train_lap(ph, PH_FORWARD, &t);
    take_chunks(r, tw, n);
    backward_synced(r, tw, tid, &ctx, a, n, k);
    fold_chunks(r, tw, tid, sf, a, n);
    cnn_train_lap(ph, PH_BACKWARD, &t);
}

void cnn_train_share(train_run *r, train_ws *tw, int tid, const train_step *st, double *phase)
{
    const int k = (int)st->bsz;
    const long a = (long)tid * k / r->T, b = (long)(tid + 1) * k / r->T;
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
