/*
 * tree.c — the fixed pairwise tree over a step's chunk gradients (tree.h):
 * cutting a thread's chunks into aligned blocks, the binary-counter fold of
 * a block, and the sum of the nodes above the blocks over one piece of
 * the gradient.
 */
#include "tree.h"

#include <string.h>

#include "widest.h"

int cnn_tree_span(int k)
{
    int s = 1;
    while (s < k)
        s *= 2;
    return s;
}

int cnn_tree_blocks(int k, int a, int b, cnn_tree_block *out)
{
    const int span = cnn_tree_span(k);
    int n = 0;
    for (int p = a; p < b;) {
        int s = 1;
        /* grow while the doubled node is aligned and ends inside [a, b) */
        while (2 * s <= span && p % (2 * s) == 0 && (p + 2 * s < k ? p + 2 * s : k) <= b)
            s *= 2;
        out[n++] = (cnn_tree_block){p, s};
        p += s;
    }
    return n;
}

/* floor(log2(s)) for a power of two. */
static int log2_of(int s)
{
    int l = 0;
    while ((1 << l) < s)
        l++;
    return l;
}

int cnn_tree_fold_buffers(int k, int a, int b, int ahead)
{
    /* While block i folds: i blocks published, at most log2(size) partial
       nodes on the stack (its chunks so far are fewer than size), and the
       chunks taken ahead. */
    cnn_tree_block blk[2 * CNN_TREE_LEVELS];
    int n = cnn_tree_blocks(k, a, b, blk), most = 0;
    for (int i = 0; i < n; i++) {
        int live = i + log2_of(blk[i].size);
        most = live > most ? live : most;
    }
    return most + ahead;
}

float *cnn_tree_fold_take(cnn_tree_fold *f)
{
    return f->npool > 0 ? f->pool[--f->npool] : NULL;
}

void cnn_tree_fold_give(cnn_tree_fold *f, float *buf)
{
    f->pool[f->npool++] = buf;
}

/* a += b; b = 0 (given back zeroed). */
WIDEST static void add_clear(float *restrict a, float *restrict b, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        a[i] += b[i];
        b[i] = 0;
    }
}

/* The top of the stack added into the one below it. */
static void merge_top(cnn_tree_fold *f)
{
    int t = --f->depth;
    add_clear(f->buf[t - 1], f->buf[t], f->floats);
    cnn_tree_fold_give(f, f->buf[t]);
    f->size[t - 1] *= 2;
}

void cnn_tree_fold_push(cnn_tree_fold *f, int lo, float *buf)
{
    f->lo[f->depth] = lo;
    f->size[f->depth] = 1;
    f->buf[f->depth] = buf;
    f->depth++;
    while (f->depth >= 2 && f->size[f->depth - 1] == f->size[f->depth - 2])
        merge_top(f);
}

float *cnn_tree_fold_finish(cnn_tree_fold *f)
{
    /* A block cut off by K: its nodes right of the first are right-nested,
       (s0 + (s1 + (s2 + ...))), so add from the top down. */
    while (f->depth >= 2)
        merge_top(f);
    f->depth = 0;
    return f->buf[0];
}

/* out = a + b over len floats. */
WIDEST static void add_to(float *restrict out, const float *a, const float *b, int len)
{
#pragma omp simd
    for (int i = 0; i < len; i++)
        out[i] = a[i] + b[i];
}

/* The sum of node (lo, size) at [u, u + len): a published buffer, or the
   sum of its halves in tmp's slot for its depth and side. */
static const float *node_sum(const cnn_tree *t, int lo, int size, size_t u, int len,
                             float *tmp, int slot)
{
    float *pub = t->node[cnn_tree_index(t->span, lo, size)];
    if (pub)
        return pub + u;
    const int half = size / 2; /* >= 1: every leaf lies in a published node */
    const int depth = slot / 2 + 1;
    const float *a = node_sum(t, lo, half, u, len, tmp, 2 * depth);
    if (lo + half >= t->k)
        return a;
    const float *b = node_sum(t, lo + half, half, u, len, tmp, 2 * depth + 1);
    float *out = tmp + (size_t)slot * CNN_TREE_PIECE;
    add_to(out, a, b, len);
    return out;
}

void cnn_tree_sum(const cnn_tree *t, size_t u, int len, float *tmp, float *out)
{
    const float *root = node_sum(t, 0, t->span, u, len, tmp, 0);
    memcpy(out, root, (size_t)len * sizeof *out);
}
