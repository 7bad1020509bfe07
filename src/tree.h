/*
 * tree.h — the fixed pairwise tree that sums a step's per-chunk gradients,
 * so that the sum has the same bits for any thread count.
 *
 * A step's batch is cut into K chunks (one sample each: the cut depends on
 * the batch only).  Their gradients are summed by one fixed tree: the
 * complete binary tree over span = the power of two >= K leaves, a node
 * (lo, size) covering chunks [lo, min(lo + size, K)); a node whose right
 * half lies beyond K is its left half, any other is left + right (float
 * addition is commutative, so only the tree fixes the bits).
 *
 * A thread computes a contiguous range of chunks.  It cuts the range into
 * the largest aligned nodes that fit (its blocks, cnn_tree_blocks), sums
 * each block with a binary-counter fold as its chunks arrive (which makes
 * exactly the tree's additions, in cache, with log2 buffers live), and
 * publishes the block's sum.  The nodes above the blocks, which join
 * different threads' blocks, are summed afterwards over slices of the
 * gradient (cnn_tree_sum), each thread its own slice.  Who computes a node
 * never changes how it is added.
 */
#ifndef CNN_TREE_H
#define CNN_TREE_H

#include <stddef.h>

/* Most levels of the tree (K < 2^30) and the floats cnn_tree_sum works on
   at a time (its tmp: 2 * (log2(span) + 1) pieces). */
enum { CNN_TREE_LEVELS = 31, CNN_TREE_PIECE = 256 };

/* The power of two >= k (k >= 1). */
int cnn_tree_span(int k);

/* A node: chunks [lo, min(lo + size, K)); size a power of two dividing lo. */
typedef struct cnn_tree_block {
    int lo, size;
} cnn_tree_block;

/* Cut chunks [a, b) of a K-chunk tree into the largest nodes each wholly
   inside [a, b) (a node beyond K counts by its part below K), left to
   right, into out (at most 2 * CNN_TREE_LEVELS).  Returns how many. */
int cnn_tree_blocks(int k, int a, int b, cnn_tree_block *out);

/* A node's slot in a table of 2 * span pointers (heap order: the root 1). */
static inline size_t cnn_tree_index(int span, int lo, int size)
{
    return (size_t)(span / size) + (size_t)(lo / size);
}

/* One thread's fold of a block's chunks, as a binary counter: a stack of
   partial nodes, and a pool of zeroed buffers of `floats` each. */
typedef struct cnn_tree_fold {
    size_t floats;
    float **pool;          /* zeroed buffers; npool of them */
    int npool;
    int depth;             /* the stack: */
    int lo[CNN_TREE_LEVELS + 1], size[CNN_TREE_LEVELS + 1];
    float *buf[CNN_TREE_LEVELS + 1];
} cnn_tree_fold;

/* Buffers a fold of chunks [a, b) of a K-chunk tree holds at most at
   once, taking up to `ahead` chunks' buffers before pushing them: its
   blocks (each published until the step's sums are done), one block's
   stack and the chunks taken ahead. */
int cnn_tree_fold_buffers(int k, int a, int b, int ahead);

/* A zeroed buffer for the next chunk's gradient (NULL: the pool is empty,
   which cnn_tree_fold_buffers rules out). */
float *cnn_tree_fold_take(cnn_tree_fold *f);

/* Chunk lo's gradient (a buffer from take) onto the stack; equal nodes at
   the top are added (the upper one's buffer is zeroed and returned to the
   pool). */
void cnn_tree_fold_push(cnn_tree_fold *f, int lo, float *buf);

/* The block's sum: the rest of the stack added top down (a block cut off
   by K ends in a run of smaller nodes).  Returns its buffer, which the
   caller publishes and later gives back with cnn_tree_fold_give. */
float *cnn_tree_fold_finish(cnn_tree_fold *f);

/* Return a zeroed buffer to the pool. */
void cnn_tree_fold_give(cnn_tree_fold *f, float *buf);

/* The published blocks of one step, for cnn_tree_sum: node[i] is the sum
   buffer of the node at slot i (NULL: not published); every chunk lies in
   exactly one published node. */
typedef struct cnn_tree {
    int k, span;
    float *const *node;    /* 2 * span slots */
} cnn_tree;

/* out[j] = the root's sum at floats [u, u + len) of the chunk buffers
   (len <= CNN_TREE_PIECE), from the published nodes; tmp holds
   2 * (log2(span) + 1) * CNN_TREE_PIECE floats.  The published buffers are
   only read. */
void cnn_tree_sum(const cnn_tree *t, size_t u, int len, float *tmp, float *out);

#endif /* CNN_TREE_H */
