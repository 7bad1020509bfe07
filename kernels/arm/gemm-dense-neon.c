/*
 * gemm-dense-neon.c — the dense kernels' GEMM (dense-gemm-neon.h), NEON.
 *
 * Register tiles of R rows x V q vectors (4 columns each), R*V <= 24 of
 * the 32 registers: V = 4, 3, 2, 1 with R up to 6, 8, 12, 16.  Per step k
 * the tile loads its V vectors of B once and multiplies them by the R
 * scalars of A, each loaded into all lanes (ld1r).  Columns go in blocks
 * of 3 vectors (4 when M <= 6), the last block taking what is left; a
 * last vector of 1-3 columns is loaded zero-padded and stored by lanes
 * (out = 10: two vectors and one of 2 lanes).  Rows are split into
 * balanced tiles (32 rows, V = 3: four tiles of 8).  K goes in chunks of
 * 256 steps, the partial sums kept in C (exact) between chunks.
 *
 * Every element is one FMA chain in k order, so the tile shape never
 * changes its bits.  One function per (A layout, partial last vector, V,
 * R), written as a macro with literal sizes so that the accumulators are
 * registers.
 */
#include <stddef.h>

#include "dense-gemm-neon.h"
#include "neon.h"

enum { VMAX = 4, KB = 256 };
static const int rmax[VMAX + 1] = {0, 16, 12, 8, 6};

/* Vector v of a tile row at p: the last one has nl lanes when the tile's
   TL says it is partial. */
#define LOAD(p, v) (TL && (v) == VN - 1 ? neon_load((p), nl) : vld1q_f32(p))

#define TILE_BODY(R, V, AT, TAIL)                                              \
    enum { VN = V, TL = TAIL };                                                \
    float32x4_t acc[R][V];                                                     \
    float *c = g->c + (ptrdiff_t)m0 * g->ldc + n0;                             \
    NEON_UNROLL for (int r = 0; r < R; r++)                                    \
        NEON_UNROLL for (int v = 0; v < V; v++)                                \
            acc[r][v] = g->accum  ? LOAD(c + r * g->ldc + 4 * v, v)            \
                        : g->bias ? LOAD(g->bias + n0 + 4 * v, v)              \
                                  : vdupq_n_f32(0.0f);                         \
    const float *b = g->b + n0;                                                \
    const float *a = g->a + (ptrdiff_t)m0 * g->a_m;                            \
    const float *ar[R];                                                        \
    NEON_UNROLL for (int r = 0; r < R; r++) ar[r] = a + (AT ? r : r * g->a_m); \
    const ptrdiff_t step = AT ? g->a_k : 1;                                    \
    for (int k = 0; k < g->K; k++) {                                           \
        float32x4_t bv[V];                                                     \
        NEON_UNROLL for (int v = 0; v < V; v++) bv[v] = LOAD(b + 4 * v, v);    \
        NEON_UNROLL for (int r = 0; r < R; r++) {                              \
            const float32x4_t av = vld1q_dup_f32(ar[r] + (ptrdiff_t)k * step); \
            NEON_UNROLL for (int v = 0; v < V; v++)                            \
                acc[r][v] = vfmaq_f32(acc[r][v], av, bv[v]);                   \
        }                                                                      \
        b += g->ldb;                                                           \
    }                                                                          \
    NEON_UNROLL for (int r = 0; r < R; r++)                                    \
        NEON_UNROLL for (int v = 0; v < V; v++) {                              \
            float32x4_t y = acc[r][v];                                         \
            const ptrdiff_t at = r * g->ldc + 4 * v;                           \
            if (g->relu)                                                       \
                y = vmaxq_f32(y, vdupq_n_f32(0.0f));                           \
            if (g->mask)                                                       \
                y = neon_apply_mask(y, LOAD(g->mask + (c - g->c) + at, v));    \
            if (TL && v == V - 1)                                              \
                neon_store(c + at, y, nl);                                     \
            else                                                               \
                vst1q_f32(c + at, y);                                          \
        }

typedef void (*tile_fn)(const neon_dense_gemm *g, int m0, int n0, int nl);

#define T(at, tail, V, R)                                                      \
    static NEON_NOINLINE void dense_tile_##at##_##tail##_##V##_##R(            \
        const neon_dense_gemm *g, int m0, int n0, int nl)                      \
    {                                                                          \
        (void)nl;                                                              \
        TILE_BODY(R, V, at, tail)                                              \
    }
#define ROWS6(X, a, t, V) X(a, t, V, 1) X(a, t, V, 2) X(a, t, V, 3) X(a, t, V, 4) \
    X(a, t, V, 5) X(a, t, V, 6)
#define ROWS8(X, a, t, V) ROWS6(X, a, t, V) X(a, t, V, 7) X(a, t, V, 8)
#define ROWS12(X, a, t, V) ROWS8(X, a, t, V) X(a, t, V, 9) X(a, t, V, 10) \
    X(a, t, V, 11) X(a, t, V, 12)
#define ROWS16(X, a, t, V) ROWS12(X, a, t, V) X(a, t, V, 13) X(a, t, V, 14) \
    X(a, t, V, 15) X(a, t, V, 16)
#define ALL(X, a, t) ROWS16(X, a, t, 1) ROWS12(X, a, t, 2) ROWS8(X, a, t, 3) \
    ROWS6(X, a, t, 4)
ALL(T, 0, 0)
ALL(T, 0, 1)
ALL(T, 1, 0)
ALL(T, 1, 1)

#define E(a, t, V, R) [a][t][V][R] = dense_tile_##a##_##t##_##V##_##R,
static const tile_fn tiles[2][2][VMAX + 1][17] = {ALL(E, 0, 0) ALL(E, 0, 1) ALL(E, 1, 0)
                                                      ALL(E, 1, 1)};

/* The job's K steps [k0, k0 + kn) as a job of its own: the partial sums
   go through C (exact), the epilogue only at the end. */
static neon_dense_gemm k_chunk(const neon_dense_gemm *g, int k0, int kn)
{
    neon_dense_gemm p = *g;
    p.K = kn;
    p.a = g->a + (ptrdiff_t)k0 * g->a_k;
    p.b = g->b + (ptrdiff_t)k0 * g->ldb;
    p.accum = g->accum || k0 > 0;
    if (k0 + kn < g->K)
        p.relu = 0, p.mask = NULL;
    return p;
}

void cnn_dense_gemm_neon(const neon_dense_gemm *g)
{
    const int nv = (g->N + 3) / 4, vb = g->M <= 6 ? 4 : 3;
    const int at = g->a_m == 1 && g->a_k != 1;
    for (int v0 = 0; v0 < nv; v0 += vb) {
        const int V = nv - v0 < vb ? nv - v0 : vb;
        const int nl = g->N - 4 * (v0 + V - 1);
        const int ntiles = (g->M + rmax[V] - 1) / rmax[V];
        for (int k0 = 0; k0 < g->K; k0 += KB) {
            const neon_dense_gemm p = k_chunk(g, k0, g->K - k0 < KB ? g->K - k0 : KB);
            for (int t = 0, m0 = 0; t < ntiles; t++) {
                const int R = (g->M - m0 + ntiles - t - 1) / (ntiles - t);
                tiles[at][nl < 4][V][R](&p, m0, 4 * v0, nl);
                m0 += R;
            }
        }
    }
}
