/*
 * test_tree.c — the fixed pairwise tree that sums a step's chunk gradients
 * (src/tree.c): the cut of a thread's chunks into blocks, and the sum made
 * by folding blocks and adding the nodes above them, which must have the
 * bits of a plain recursive pairwise sum whatever the thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "tree.h"

enum { LEN = 37 }; /* floats per chunk buffer: a piece and a ragged tail */

/* The reference: node (lo, size) of the K-leaf tree, summed recursively
   in double-free float arithmetic, exactly as tree.h defines it. */
static void ref_node(const float *leaf, int k, int lo, int size, float *out)
{
    if (size == 1) {
        memcpy(out, leaf + (size_t)lo * LEN, LEN * sizeof *out);
        return;
    }
    float right[LEN];
    ref_node(leaf, k, lo, size / 2, out);
    if (lo + size / 2 >= k)
        return;
    ref_node(leaf, k, lo + size / 2, size / 2, right);
    for (int i = 0; i < LEN; i++)
        out[i] = out[i] + right[i];
}

/* Leaves whose sums depend on the order: magnitudes over 2^-20..2^20. */
static float *leaves(int k, uint64_t seed)
{
    float *p = malloc((size_t)k * LEN * sizeof *p);
    test_fill_uniform(p, (size_t)k * LEN, -1, 1, &seed);
    for (size_t i = 0; i < (size_t)k * LEN; i++)
        p[i] = ldexpf(p[i], (int)(i * 7919 % 41) - 20);
    return p;
}

/* One thread's fold of chunks [a, b) as the trainer does it: buffers for
   a group of `ahead` chunks taken first, then pushed in order, each block
   published into node when its last chunk is in.  0 when a take failed or
   a buffer came dirty or the blocks are wrong. */
static int fold_range(const float *leaf, int k, int a, int b, int ahead, float **node,
                      float **bufs, int *nbufs)
{
    const int span = cnn_tree_span(k);
    cnn_tree_block blk[2 * CNN_TREE_LEVELS];
    int nb = cnn_tree_blocks(k, a, b, blk), npool = cnn_tree_fold_buffers(k, a, b, ahead);
    int ok = 1, cur = 0;
    cnn_tree_fold f = {.floats = LEN, .pool = calloc((size_t)npool, sizeof(float *))};
    for (int i = 0; i < npool; i++)
        cnn_tree_fold_give(&f, bufs[(*nbufs)++] = calloc(LEN, sizeof(float)));
    for (int c0 = a; c0 < b && ok; c0 += ahead) {
        int n = b - c0 < ahead ? b - c0 : ahead;
        float *g[64];
        for (int i = 0; i < n; i++) {
            g[i] = cnn_tree_fold_take(&f);
            ok &= g[i] != NULL;
            for (int j = 0; ok && j < LEN; j++)
                ok &= g[i][j] == 0; /* given zeroed */
            if (ok)
                memcpy(g[i], leaf + (size_t)(c0 + i) * LEN, LEN * sizeof(float));
        }
        for (int i = 0; i < n && ok; i++) {
            cnn_tree_fold_push(&f, c0 + i, g[i]);
            int end = blk[cur].lo + blk[cur].size < k ? blk[cur].lo + blk[cur].size : k;
            ok &= blk[cur].lo % blk[cur].size == 0 && end <= b;
            if (c0 + i + 1 == end)
                node[cnn_tree_index(span, blk[cur].lo, blk[cur].size)] =
                    cnn_tree_fold_finish(&f), cur++;
        }
    }
    free(f.pool);
    return ok && cur == nb;
}

/* The trainer's way with T threads, each taking `ahead` chunks at a time;
   the root is then summed piece by piece.  out: LEN. */
static int tree_way(const float *leaf, int k, int T, int ahead, float *out)
{
    const int span = cnn_tree_span(k);
    float **node = calloc(2 * (size_t)span, sizeof *node);
    float *tmp = malloc(2 * CNN_TREE_LEVELS * CNN_TREE_PIECE * sizeof *tmp);
    float *bufs[64 * 80];
    int nbufs = 0, ok = 1;
    for (int t = 0; t < T; t++)
        ok &= fold_range(leaf, k, t * k / T, (t + 1) * k / T, ahead, node, bufs, &nbufs);
    const cnn_tree tr = {.k = k, .span = span, .node = node};
    for (int u = 0; u < LEN && ok; u += 16) /* pieces of 16 */
        cnn_tree_sum(&tr, (size_t)u, LEN - u < 16 ? LEN - u : 16, tmp, out + u);
    for (int i = 0; i < nbufs; i++)
        free(bufs[i]);
    free(node);
    free(tmp);
    return ok;
}

static void sum_has_the_reference_bits_for_any_thread_count(void)
{
    const int ks[] = {1, 2, 3, 5, 7, 8, 13, 25, 32, 33, 50, 64, 100};
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
        int k = ks[i];
        float *leaf = leaves(k, 5 + (uint64_t)k), want[LEN], got[LEN];
        ref_node(leaf, k, 0, cnn_tree_span(k), want);
        for (int T = 1; T <= 9 && T <= k; T++)
            for (int ahead = 1; ahead <= 5; ahead += 2) {
                CHECK(tree_way(leaf, k, T, ahead, got), "K %d, %d threads, groups of %d: "
                      "blocks or pool wrong", k, T, ahead);
                CHECK(memcmp(got, want, sizeof got) == 0, "K %d, %d threads, groups of %d: "
                      "sum differs from the reference tree", k, T, ahead);
            }
        free(leaf);
    }
}

/* A left-to-right sum has other bits: the test above can tell them apart. */
static void a_sequential_sum_has_other_bits(void)
{
    int k = 32;
    float *leaf = leaves(k, 9), want[LEN], seq[LEN] = {0};
    ref_node(leaf, k, 0, 32, want);
    for (int c = 0; c < k; c++)
        for (int j = 0; j < LEN; j++)
            seq[j] += leaf[(size_t)c * LEN + j];
    CHECK(memcmp(seq, want, sizeof seq) != 0, "sequential and tree sums agree: weak data");
    free(leaf);
}

static void blocks_cover_ranges_with_aligned_nodes(void)
{
    for (int k = 1; k <= 70; k++)
        for (int a = 0; a <= k; a++)
            for (int b = a; b <= k; b++) {
                cnn_tree_block blk[2 * CNN_TREE_LEVELS];
                int n = cnn_tree_blocks(k, a, b, blk), c = a, ok = n <= 2 * CNN_TREE_LEVELS;
                for (int i = 0; i < n && ok; i++) {
                    int end = blk[i].lo + blk[i].size < k ? blk[i].lo + blk[i].size : k;
                    ok = blk[i].lo == c && blk[i].lo % blk[i].size == 0 && end <= b &&
                         end > c;
                    c = end;
                }
                CHECK(ok && c == b, "K %d, chunks [%d, %d): %d blocks do not cover it", k,
                      a, b, n);
            }
}

TEST_TABLE(tree,
           {"sum_has_the_reference_bits_for_any_thread_count",
            sum_has_the_reference_bits_for_any_thread_count},
           {"a_sequential_sum_has_other_bits", a_sequential_sum_has_other_bits},
           {"blocks_cover_ranges_with_aligned_nodes", blocks_cover_ranges_with_aligned_nodes})
