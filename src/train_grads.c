/*
 * train_grads.c — the step's gradient after every thread's share: each
 * thread makes its own part of r->grad, so no thread keeps a whole copy.
 *
 *   chunk sums    the per-chunk layers' floats are cut into one slice per
 *                 thread; each thread sums its slice over the tree of the
 *                 published blocks (tree.h), piece by piece in cache, and
 *                 clears that slice of every published buffer;
 *   row owners    each owner-computed layer's rows (dense: its inputs) are
 *                 cut into one range per thread; each computes its rows'
 *                 gradient over the whole batch from the stash (thread 0
 *                 also the bias), written over the old values (no memset);
 *   batch sums    a batch-norm layer's gradient comes from its totals,
 *                 which thread 0 wrote during the share (train_share.c);
 *                 thread 0 checks and updates it.
 *
 * Both checks that the sums are finite; the update (train_step.c) then
 * runs over the same ranges, so the reduction and the optimizer touch each
 * float once per thread, in that thread's cache.  Also the shared repack
 * of the weights for backward-data, split across the threads.
 */
#include <stdint.h>
#include <string.h>

#include "model.h"
#include "trainer.h"
#include "widest.h"

/* First index in [0, n) whose float is not finite (exponent all ones: an
   integer test the compiler vectorises), or -1. */
WIDEST static long first_nonfinite(const float *g, size_t n)
{
    unsigned any = 0;
#pragma omp simd reduction(| : any)
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &g[i], 4);
        any |= (u & 0x7f800000u) == 0x7f800000u;
    }
    if (any)
        for (size_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &g[i], 4);
            if ((u & 0x7f800000u) == 0x7f800000u)
                return (long)i;
        }
    return -1;
}

/* Thread tid's slice [*c0, *c1) of a chunk buffer's floats. */
static void chunk_slice(const train_run *r, int tid, size_t *c0, size_t *c1)
{
    const size_t n = r->plan.chunk_floats, T = (size_t)r->T;
    size_t lo = (n * (size_t)tid / T + 15) & ~(size_t)15;
    size_t hi = tid == r->T - 1 ? n : (n * (size_t)(tid + 1) / T + 15) & ~(size_t)15;
    *c0 = lo < n ? lo : n;
    *c1 = hi < n ? hi : n;
}

/* Thread tid's rows of an owner layer's first tensor. */
static void owner_rows(const train_run *r, const cnn_layer *L, int tid, int *i0, int *i1)
{
    const long rows = L->op->batch_rows(L);
    *i0 = (int)(rows * tid / r->T);
    *i1 = (int)(rows * (tid + 1) / r->T);
}

/* Floats from a layer's first tensor to the end of its last. */
static size_t layer_span(const cnn_layer *L)
{
    int last = L->ntensors - 1;
    return L->t_off[last] + L->t_count[last] - L->t_off[0];
}

/* An owner layer's gradient of rows [i0, i1) (and, when rest, of its other
   tensors) over the batch, into r->grad; the first non-finite index or -1
   when check, else -1. */
static long owner_grads(const train_run *r, int l, int i0, int i1, int rest,
                        const train_step *st, int check)
{
    const cnn_layer *L = &r->m->layers[l];
    const size_t row = L->t_count[0] / (size_t)L->op->batch_rows(L);
    float *g = r->grad + L->t_off[0];
    L->op->batch_weights(L, (int)st->bsz, r->stash_x[l], r->stash_dy[l], i0, i1, rest, g);
    long b = check ? first_nonfinite(g + i0 * row, (size_t)(i1 - i0) * row) : -1;
    if (b >= 0)
        return (long)(L->t_off[0] + i0 * row) + b;
    for (int i = 1; i < L->ntensors && rest && check; i++)
        if ((b = first_nonfinite(r->grad + L->t_off[i], L->t_count[i])) >= 0)
            return (long)L->t_off[i] + b;
    return -1;
}

/* The largest |v| over n floats as its bit pattern (a NaN or an infinity
   is above every finite one): an integer max the compiler vectorises. */
WIDEST static uint32_t max_abs_bits(const float *v, size_t n)
{
    uint32_t most = 0;
#pragma omp simd reduction(max : most)
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        u &= 0x7fffffffu;
        most = u > most ? u : most;
    }
    return most;
}

/* Whether an owner layer's gradient over the batch is sure to be finite
   before it is computed: its stashed inputs and output gradients are, and
   n * max|dy| * max(1, max|x|) stays far below FLT_MAX, which bounds every
   sum of the weights' gradient and of the bias's.
   Then it is computed after the step is agreed finite, fused with the
   update (cnn_train_grads_each); else before, and checked. */
double cnn_train_owner_bound = 0x1p120;

static int owner_bounded(const train_run *r, int l, long n)
{
    const cnn_layer *L = &r->m->layers[l];
    uint32_t bx = max_abs_bits(r->stash_x[l], (size_t)n * cnn_layer_in_size(L));
    uint32_t bd = max_abs_bits(r->stash_dy[l], (size_t)n * cnn_layer_out_size(L));
    if (bx >= 0x7f800000u || bd >= 0x7f800000u)
        return 0;
    float x, d;
    memcpy(&x, &bx, 4);
    memcpy(&d, &bd, 4);
    /* bounds the weights' sums (n |x| |dy|) and the bias's (n |dy|) */
    return (double)n * d * (x > 1 ? x : 1) < cnn_train_owner_bound;
}

/* Rows of an owner layer a fused block holds: about 48 K floats, which
   stay in cache from the gradient to the update. */
static int block_rows(size_t row)
{
    size_t rows = ((size_t)48 << 10) / (row ? row : 1);
    return rows < 1 ? 1 : rows > (1 << 20) ? 1 << 20 : (int)rows;
}

/* Thread tid's part of an owner layer through fn; a deferred gradient is
   computed block by block just before fn takes the block. */
static void owner_each(const train_run *r, const train_ws *tw, int l, int tid,
                       const train_step *st, range_fn fn)
{
    const cnn_layer *L = &r->m->layers[l];
    int i0, i1;
    owner_rows(r, L, tid, &i0, &i1);
    const size_t row = L->t_count[0] / (size_t)L->op->batch_rows(L);
    const int step = tw->deferred[l] ? block_rows(row) : i1 - i0;
    for (int b0 = i0; b0 < i1; b0 += step) {
        int b1 = i1 - b0 < step ? i1 : b0 + step;
        if (tw->deferred[l])
            owner_grads(r, l, b0, b1, 0, st, 0);
        fn(r, st, L->t_off[0] + b0 * row, L->t_off[0] + b1 * row, r->T > 1);
    }
    if (tid != 0 || L->ntensors < 2)
        return;
    if (tw->deferred[l])
        owner_grads(r, l, 0, 0, 1, st, 0);
    for (int i = 1; i < L->ntensors; i++)
        fn(r, st, L->t_off[i], L->t_off[i] + L->t_count[i], 0);
}

void cnn_train_grads_each(const train_run *r, const train_ws *tw, int tid, const train_step *st,
                          range_fn fn)
{
    const cnn_model *m = r->m;
    size_t c0, c1;
    chunk_slice(r, tid, &c0, &c1);
    for (int l = 0; l < m->nlayers; l++) {
        const cnn_layer *L = &m->layers[l];
        const size_t off = r->plan.chunk_off[l];
        if (off != SIZE_MAX) {
            size_t lo = off > c0 ? off : c0, hi = off + layer_span(L);
            hi = hi < c1 ? hi : c1;
            if (lo < hi)
                fn(r, st, L->t_off[0] + (lo - off), L->t_off[0] + (hi - off), 0);
        } else if (r->stash_x[l]) {
            owner_each(r, tw, l, tid, st, fn);
        } else if (L->op->sums && tid == 0) {
            fn(r, st, L->t_off[0], L->t_off[0] + layer_span(L), 0);
        }
    }
}

/* Zero floats [u, u + len) of every published buffer. */
static void clear_published(const train_run *r, size_t u, int len)
{
    for (int t = 0; t < r->T; t++)
        for (int j = 0; j < r->stats[t].npub; j++)
            memset(r->pub[(size_t)t * 2 * CNN_TREE_LEVELS + j] + u, 0, (size_t)len * sizeof(float));
}

/* The tree's sums over chunk floats [lo, hi) (layer floats from off) into
   the gradient at block offset at; returns the first non-finite index. */
static long chunk_sums(const train_run *r, train_ws *tw, const cnn_tree *t, size_t lo,
                       size_t hi, size_t off, size_t at)
{
    long bad = -1;
    for (size_t u = lo; u < hi; u += CNN_TREE_PIECE) {
        const int len = (int)(hi - u < CNN_TREE_PIECE ? hi - u : CNN_TREE_PIECE);
        float *g = r->grad + at + (u - off);
        cnn_tree_sum(t, u, len, tw->tree_tmp, g);
        clear_published(r, u, len);
        long b = first_nonfinite(g, (size_t)len);
        if (b >= 0 && bad < 0)
            bad = (long)(at + (u - off)) + b;
    }
    return bad;
}

long cnn_train_grads(train_run *r, train_ws *tw, int tid, const train_step *st)
{
    const cnn_model *m = r->m;
    const int k = (int)st->bsz;
    const cnn_tree t = {.k = k, .span = cnn_tree_span(k), .node = r->node};
    size_t c0, c1;
    chunk_slice(r, tid, &c0, &c1);
    long bad = -1;
    for (int l = 0; l < m->nlayers; l++) {
        const cnn_layer *L = &m->layers[l];
        const size_t off = r->plan.chunk_off[l];
        long b = -1;
        if (off != SIZE_MAX) {
            size_t lo = off > c0 ? off : c0, hi = off + layer_span(L);
            hi = hi < c1 ? hi : c1;
            if (lo < hi)
                b = chunk_sums(r, tw, &t, lo, hi, off, L->t_off[0]);
        } else if (r->stash_x[l]) {
            tw->deferred[l] = owner_bounded(r, l, st->bsz);
            int i0, i1;
            owner_rows(r, L, tid, &i0, &i1);
            if (!tw->deferred[l])
                b = owner_grads(r, l, i0, i1, tid == 0, st, 1);
        } else if (L->op->sums && tid == 0) {
            for (int i = 0; i < L->ntensors && b < 0; i++)
                if (L->t_role[i] == CNN_TENSOR_PARAM &&
                    (b = first_nonfinite(r->grad + L->t_off[i], L->t_count[i])) >= 0)
                    b += (long)L->t_off[i];
        }
        if (b >= 0 && (bad < 0 || b < bad))
            bad = b;
    }
    return bad;
}

void cnn_train_grads_release(train_run *r, train_ws *tw, int tid, const train_step *st)
{
    const int k = (int)st->bsz, span = cnn_tree_span(k);
    const int a = (int)((long)tid * k / r->T), b = (int)((long)(tid + 1) * k / r->T);
    cnn_tree_block blk[2 * CNN_TREE_LEVELS];
    const int n = cnn_tree_blocks(k, a, b, blk);
    for (int i = 0; i < n; i++)
        r->node[cnn_tree_index(span, blk[i].lo, blk[i].size)] = NULL;
    for (int j = 0; j < r->stats[tid].npub; j++)
        cnn_tree_fold_give(&tw->fold, r->pub[(size_t)tid * 2 * CNN_TREE_LEVELS + j]);
    r->stats[tid].npub = 0;
}

void cnn_train_pack(const train_run *r, int tid)
{
    const cnn_model *m = r->m;
    int item = 0;
    for (int l = 0; l < m->nlayers; l++) {
        const cnn_layer *L = &m->layers[l];
        if (!cnn_layer_packs(L))
            continue;
        const int parts = r->stash_x[l] ? r->T : 1;
        for (int p = 0; p < parts; p++, item++)
            if (item % r->T == tid)
                L->op->pack(L, m->params, r->packed, p, parts);
    }
}

void cnn_train_sums_update(const train_run *r, const train_ws *tw, const train_step *st)
{
    const cnn_model *m = r->m;
    for (int l = 0; l < m->nlayers; l++) {
        const cnn_layer *L = &m->layers[l];
        if (L->op->sums)
            L->op->update_buffers(L, tw->sums_tot + r->plan.sums_off[l], st->bsz, m->params);
    }
}
