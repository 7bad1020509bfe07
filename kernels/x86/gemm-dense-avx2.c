/*
 * gemm-dense-avx2.c — the dense kernels' GEMM (dense-gemm.h), AVX2 + FMA.
 *
 * Register tiles of R rows x V ymm vectors (8 columns each), R*V <= 12
 * accumulators: V = 4, 3, 2, 1 with R up to 3, 4, 6, 12.  Per step k the
 * tile loads its V vectors of B once and multiplies them by R broadcast
 * scalars of A.  Columns go in blocks of 3 vectors (4 when M <= 3), the
 * last block taking what is left; a last vector of fewer than 8 columns
 * is a masked load and store (out = 10: 8 + 2 lanes, never scalar).  Rows
 * are split into balanced tiles (32 rows, V = 3: eight tiles of 4).
 *
 * K goes in chunks of 256 steps per column block, the partial sums kept
 * in C between chunks (exact): a column block's rows of B then stay in L2
 * (a whole 1568 x 48 panel at a 3 KB stride does not: L2 set conflicts).
 * When K fits one chunk (backward-weights, K = the samples) the row tiles
 * go outer instead, so that dw is swept in memory order.
 *
 * Every element is one FMA chain in k order, so the tile shape never
 * changes its bits.  One function per (A layout, tail, V, R).
 */
#include <immintrin.h>
#include <stdint.h>

#include "dense-gemm.h"

enum { VMAX = 4, KB = 256 /* K steps per pass over a column block */ };
static const int rmax[VMAX + 1] = {0, 12, 6, 4, 3};

static const int32_t lane_bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                      0,  0,  0,  0,  0,  0,  0,  0};

#define UNROLL _Pragma("GCC unroll 16")

/* Vector v of a tile row at p, the last one masked when the tile's TL. */
#define LOAD(p, v) (TL && (v) == VN - 1 ? _mm256_maskload_ps((p), last) : _mm256_loadu_ps(p))

/* The R x V tile at rows m0.., columns n0.. (last: lanes of its last
   vector when TAIL); AT: A is transposed in memory (a_m == 1).  A macro
   with literal R and V, so that the accumulators are registers (gcc keeps
   arrays sized by an inlined parameter in memory). */
#define TILE_BODY(R, V, AT, TAIL)                                              \
    enum { VN = V, TL = TAIL };                                                \
    __m256 acc[R][V];                                                          \
    float *c = g->c + (ptrdiff_t)m0 * g->ldc + n0;                             \
    UNROLL for (int r = 0; r < R; r++)                                         \
        UNROLL for (int v = 0; v < V; v++)                                     \
            acc[r][v] = g->accum  ? LOAD(c + r * g->ldc + 8 * v, v)            \
                        : g->bias ? LOAD(g->bias + n0 + 8 * v, v)              \
                                  : _mm256_setzero_ps();                       \
    const float *b = g->b + n0;                                                \
    const float *a = g->a + (ptrdiff_t)m0 * g->a_m;                            \
    const float *ar[R];                                                        \
    UNROLL for (int r = 0; r < R; r++) ar[r] = a + (AT ? r : r * g->a_m);      \
    const ptrdiff_t step = AT ? g->a_k : 1;                                    \
    for (int k = 0; k < g->K; k++) {                                           \
        __m256 bv[V];                                                          \
        UNROLL for (int v = 0; v < V; v++) bv[v] = LOAD(b + 8 * v, v);         \
        UNROLL for (int r = 0; r < R; r++) {                                   \
            const __m256 av = _mm256_broadcast_ss(ar[r] + (ptrdiff_t)k * step); \
            UNROLL for (int v = 0; v < V; v++)                                 \
                acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);             \
        }                                                                      \
        b += g->ldb;                                                           \
    }                                                                          \
    const __m256 zero = _mm256_setzero_ps();                                   \
    UNROLL for (int r = 0; r < R; r++)                                         \
        UNROLL for (int v = 0; v < V; v++) {                                   \
            __m256 y = acc[r][v];                                              \
            const ptrdiff_t at = r * g->ldc + 8 * v;                           \
            if (g->relu)                                                       \
                y = _mm256_max_ps(y, zero);                                    \
            if (g->mask)                                                       \
                y = _mm256_and_ps(y, _mm256_cmp_ps(LOAD(g->mask + (c - g->c) + at, v), \
                                                   zero, _CMP_GT_OQ));         \
            if (TL && v == V - 1)                                              \
                _mm256_maskstore_ps(c + at, last, y);                          \
            else                                                               \
                _mm256_storeu_ps(c + at, y);                                   \
        }

typedef void (*tile_fn)(const dense_gemm *g, int m0, int n0, __m256i last);

#define T(at, tail, V, R)                                                      \
    static void dense_tile_##at##_##tail##_##V##_##R(                          \
        const dense_gemm *g, int m0, int n0, __m256i last)                     \
    {                                                                          \
        (void)last;                                                            \
        TILE_BODY(R, V, at, tail)                                              \
    }
#define ROWS3(X, a, t, V) X(a, t, V, 1) X(a, t, V, 2) X(a, t, V, 3)
#define ROWS4(X, a, t, V) ROWS3(X, a, t, V) X(a, t, V, 4)
#define ROWS6(X, a, t, V) ROWS4(X, a, t, V) X(a, t, V, 5) X(a, t, V, 6)
#define ROWS12(X, a, t, V)                                                     \
    ROWS6(X, a, t, V) X(a, t, V, 7) X(a, t, V, 8) X(a, t, V, 9) X(a, t, V, 10) \
        X(a, t, V, 11) X(a, t, V, 12)
#define ALL(X, a, t) ROWS12(X, a, t, 1) ROWS6(X, a, t, 2) ROWS4(X, a, t, 3) ROWS3(X, a, t, 4)
ALL(T, 0, 0)
ALL(T, 0, 1)
ALL(T, 1, 0)
ALL(T, 1, 1)

#define E(a, t, V, R) [a][t][V][R] = dense_tile_##a##_##t##_##V##_##R,
static const tile_fn tiles[2][2][VMAX + 1][13] = {ALL(E, 0, 0) ALL(E, 0, 1) ALL(E, 1, 0)
                                                      ALL(E, 1, 1)};

/* The job's K steps [k0, k0 + kn) as a job of its own: the partial sums
   go through C (exact), the epilogue only at the end. */
static dense_gemm k_chunk(const dense_gemm *g, int k0, int kn)
{
    dense_gemm p = *g;
    p.K = kn;
    p.a = g->a + (ptrdiff_t)k0 * g->a_k;
    p.b = g->b + (ptrdiff_t)k0 * g->ldb;
    p.accum = g->accum || k0 > 0;
    if (k0 + kn < g->K)
        p.relu = 0, p.mask = NULL;
    return p;
}

/* The mask of the first nl lanes (8 and more: all; the table is never
   read outside its 16 entries). */
static __m256i lanes(int nl)
{
    nl = nl < 0 ? 0 : nl > 8 ? 8 : nl;
    return _mm256_loadu_si256((const __m256i *)(lane_bits + 8 - nl));
}

/* K <= KB (backward-weights: K = the samples): row tiles outer, so that
   the rows of C (dw) are swept in order, each tile across every column
   block (tiles of at most rmax[vb] rows fit every block's V <= vb). */
static void by_rows(const dense_gemm *g, int nv, int vb, int at)
{
    const int ntiles = (g->M + rmax[vb] - 1) / rmax[vb];
    for (int t = 0, m0 = 0; t < ntiles; t++) {
        const int R = (g->M - m0 + ntiles - t - 1) / (ntiles - t);
        for (int v0 = 0; v0 < nv; v0 += vb) {
            const int V = nv - v0 < vb ? nv - v0 : vb;
            const int nl = g->N - 8 * (v0 + V - 1);
            tiles[at][nl < 8][V][R](g, m0, 8 * v0, lanes(nl));
        }
        m0 += R;
    }
}

/* Column blocks outer, K in chunks of KB inside, the rows of a block in
   balanced tiles innermost: a block's chunk of B is reused from cache by
   every row tile. */
static void by_columns(const dense_gemm *g, int nv, int vb, int at)
{
    for (int v0 = 0; v0 < nv; v0 += vb) {
        const int V = nv - v0 < vb ? nv - v0 : vb;
        const int nl = g->N - 8 * (v0 + V - 1);
        const __m256i last = lanes(nl);
        const int ntiles = (g->M + rmax[V] - 1) / rmax[V];
        for (int k0 = 0; k0 < g->K; k0 += KB) {
            const dense_gemm p = k_chunk(g, k0, g->K - k0 < KB ? g->K - k0 : KB);
            for (int t = 0, m0 = 0; t < ntiles; t++) {
                const int R = (g->M - m0 + ntiles - t - 1) / (ntiles - t);
                tiles[at][nl < 8][V][R](&p, m0, 8 * v0, last);
                m0 += R;
            }
        }
    }
}

void cnn_dense_gemm_avx2(const dense_gemm *g)
{
    const int nv = (g->N + 7) / 8, vb = g->M <= 3 ? 4 : 3;
    const int at = g->a_m == 1 && g->a_k != 1;
    if (g->K <= KB)
        by_rows(g, nv, vb, at);
    else
        by_columns(g, nv, vb, at);
}
