/*
 * gemm-dense-avx512.c — the dense kernels' GEMM (dense-gemm.h), AVX-512.
 *
 * Register tiles of R rows x V zmm vectors (16 columns each), R*V <= 24
 * accumulators: V = 4, 3, 2, 1 with R up to 6, 8, 12, 16.  Per step k the
 * tile loads its V vectors of B once and multiplies them by the R scalars
 * of A, broadcast from memory.  Columns go in blocks of 3 vectors (4 when
 * M <= 6), the last block taking what is left, its last vector masked
 * (out = 10: one vector of 10 lanes, never scalar).  Rows are split into
 * balanced tiles (32 rows, V = 3: four tiles of 8).
 *
 * K goes in chunks of 256 steps per column block, the partial sums kept
 * in C between chunks (exact): a column block's rows of B then stay in L2
 * (a whole 1568 x 48 panel at a 3 KB stride does not: L2 set conflicts).
 * When K fits one chunk (backward-weights, K = the samples) the row tiles
 * go outer instead, so that dw is swept in memory order.
 *
 * Every element is one FMA chain in k order, so the tile shape never
 * changes its bits.  One function per (A layout, masked last vector, V,
 * R): dense_tile_<at>_<masked>_<V>_<R>; a body without masks where every
 * vector is whole (gcc reloads masks from memory at each use).
 */
#include <immintrin.h>

#include "dense-gemm.h"

enum { VMAX = 4, KB = 256 /* K steps per pass over a column block */ };
static const int rmax[VMAX + 1] = {0, 16, 12, 8, 6};

static inline __mmask16 lanes(int n)
{
    return (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
}

#define UNROLL _Pragma("GCC unroll 32")

/* Vector v of a tile row at p, the last one masked when the tile's MK. */
#define LOAD(p, v)                                                             \
    (MK && (v) == VN - 1 ? _mm512_maskz_loadu_ps(last, (p)) : _mm512_loadu_ps(p))

/* The R x V tile at rows m0.., columns n0.. (last: the lanes of its last
   vector when MASKED); AT: A is transposed in memory (a_m == 1).  A macro
   with literal R and V, so that the accumulators are registers (gcc keeps
   arrays sized by an inlined parameter in memory). */
#define TILE_BODY(R, V, AT, MASKED)                                            \
    enum { VN = V, MK = MASKED };                                              \
    __m512 acc[R][V];                                                          \
    float *c = g->c + (ptrdiff_t)m0 * g->ldc + n0;                             \
    UNROLL for (int r = 0; r < R; r++)                                         \
        UNROLL for (int v = 0; v < V; v++)                                     \
            acc[r][v] = g->accum  ? LOAD(c + r * g->ldc + 16 * v, v)           \
                        : g->bias ? LOAD(g->bias + n0 + 16 * v, v)             \
                                  : _mm512_setzero_ps();                       \
    const float *b = g->b + n0;                                                \
    const float *a = g->a + (ptrdiff_t)m0 * g->a_m;                            \
    const float *ar[R];                                                        \
    UNROLL for (int r = 0; r < R; r++) ar[r] = a + (AT ? r : r * g->a_m);      \
    const ptrdiff_t step = AT ? g->a_k : 1;                                    \
    for (int k = 0; k < g->K; k++) {                                           \
        __m512 bv[V];                                                          \
        UNROLL for (int v = 0; v < V; v++) bv[v] = LOAD(b + 16 * v, v);        \
        UNROLL for (int r = 0; r < R; r++) {                                   \
            const __m512 av = _mm512_set1_ps(ar[r][(ptrdiff_t)k * step]);      \
            UNROLL for (int v = 0; v < V; v++)                                 \
                acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);             \
        }                                                                      \
        b += g->ldb;                                                           \
    }                                                                          \
    const __m512 zero = _mm512_setzero_ps();                                   \
    UNROLL for (int r = 0; r < R; r++)                                         \
        UNROLL for (int v = 0; v < V; v++) {                                   \
            __m512 y = acc[r][v];                                              \
            const ptrdiff_t at = r * g->ldc + 16 * v;                          \
            if (g->relu)                                                       \
                y = _mm512_max_ps(y, zero);                                    \
            if (g->mask) {                                                     \
                const __m512 mv = LOAD(g->mask + (c - g->c) + at, v);          \
                y = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(mv, zero, _CMP_GT_OQ), y); \
            }                                                                  \
            if (MASKED && v == V - 1)                                          \
                _mm512_mask_storeu_ps(c + at, last, y);                        \
            else                                                               \
                _mm512_storeu_ps(c + at, y);                                   \
        }

typedef void (*tile_fn)(const dense_gemm *g, int m0, int n0, __mmask16 last);

#define T(at, mk, V, R)                                                        \
    static void dense_tile_##at##_##mk##_##V##_##R(                            \
        const dense_gemm *g, int m0, int n0, __mmask16 last)                   \
    {                                                                          \
        (void)last;                                                            \
        TILE_BODY(R, V, at, mk)                                                \
    }
#define ROWS6(X, a, m, V) X(a, m, V, 1) X(a, m, V, 2) X(a, m, V, 3) X(a, m, V, 4) \
    X(a, m, V, 5) X(a, m, V, 6)
#define ROWS8(X, a, m, V) ROWS6(X, a, m, V) X(a, m, V, 7) X(a, m, V, 8)
#define ROWS12(X, a, m, V) ROWS8(X, a, m, V) X(a, m, V, 9) X(a, m, V, 10) \
    X(a, m, V, 11) X(a, m, V, 12)
#define ROWS16(X, a, m, V) ROWS12(X, a, m, V) X(a, m, V, 13) X(a, m, V, 14) \
    X(a, m, V, 15) X(a, m, V, 16)
#define ALL(X, a, m) ROWS16(X, a, m, 1) ROWS12(X, a, m, 2) ROWS8(X, a, m, 3) \
    ROWS6(X, a, m, 4)
ALL(T, 0, 0)
ALL(T, 0, 1)
ALL(T, 1, 0)
ALL(T, 1, 1)

#define E(a, m, V, R) [a][m][V][R] = dense_tile_##a##_##m##_##V##_##R,
static const tile_fn tiles[2][2][VMAX + 1][17] = {ALL(E, 0, 0) ALL(E, 0, 1) ALL(E, 1, 0)
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
            const int nl = g->N - 16 * (v0 + V - 1);
            tiles[at][nl < 16][V][R](g, m0, 16 * v0, lanes(nl));
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
        const int nl = g->N - 16 * (v0 + V - 1);
        const __mmask16 last = lanes(nl);
        const int ntiles = (g->M + rmax[V] - 1) / rmax[V];
        for (int k0 = 0; k0 < g->K; k0 += KB) {
            const dense_gemm p = k_chunk(g, k0, g->K - k0 < KB ? g->K - k0 : KB);
            for (int t = 0, m0 = 0; t < ntiles; t++) {
                const int R = (g->M - m0 + ntiles - t - 1) / (ntiles - t);
                tiles[at][nl < 16][V][R](&p, m0, 16 * v0, last);
                m0 += R;
            }
        }
    }
}

void cnn_dense_gemm_avx512(const dense_gemm *g)
{
    const int nv = (g->N + 15) / 16, vb = g->M <= 6 ? 4 : 3;
    const int at = g->a_m == 1 && g->a_k != 1;
    if (g->K <= KB)
        by_rows(g, nv, vb, at);
    else
        by_columns(g, nv, vb, at);
}
