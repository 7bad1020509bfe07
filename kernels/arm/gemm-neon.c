/*
 * gemm-neon.c — the NEON GEMM micro-kernels every NEON conv and dense pass
 * is built on (see neon.h for what each computes), their drivers, the bias
 * gradient and the weight transpose for backward data.
 *
 *   tile_a_PxV_R    P pixels (5, 2 or 1) x V column vectors (1..4): for
 *                   every 4 reduction steps, one q load of each pixel's
 *                   inputs, then per step V weight vectors and P*V
 *                   lane-indexed FMAs (vfmaq_laneq_f32).  5 x 4 holds 20
 *                   accumulators: with gcc 12 -O2, 6 x 4 (24) spills in
 *                   the inner loop (its scheduler hoists the weight loads)
 *                   while 5 x 4 runs from registers.  The reduction is
 *                   three nested loops (kernel rows, taps, contiguous
 *                   channels), so padding is expressed by the caller as
 *                   tap ranges, never tested in the loop.  Bias is the
 *                   accumulators' start; ReLU or the backward mask is
 *                   applied before the single store.
 *   tile_b_*        R rows (8 or 4 channels of x) x V column vectors (1..3):
 *                   per pixel, R/4 q loads of x and V of dy, R*V lane FMAs;
 *                   8 x 3 holds 24 accumulators, +3 for the fused bias
 *                   gradient.  Accumulates over all pixels of all images
 *                   handed to it, then adds the tile to dw once.
 *
 * Each tile is compiled for every lane count (1..4) of its last column
 * vector (the _R suffix), so column tails cost a 32- or 64-bit load rather
 * than a branch; tile_b's partial last row vector (x channel counts that are
 * not multiples of 4, never the seed's) loads its lanes one by one.
 */
#include <stddef.h>

#include "kernels.h"
#include "neon.h"

/* ------------------------------------------------- broadcast-A tiles */

#define FMA_LANE_A(l)                                                        \
    do {                                                                     \
        const float *be = bp + (e + (l)) * b_e;                              \
        NEON_UNROLL for (int j = 0; j < V; j++) {                            \
            const float32x4_t wv =                                           \
                neon_load(be + 4 * j, j == V - 1 ? rl : 4);                  \
            NEON_UNROLL for (int p = 0; p < P; p++)                          \
                acc[p][j] = vfmaq_laneq_f32(acc[p][j], wv, xv[p], (l));      \
        }                                                                    \
    } while (0)

NEON_INLINE void tile_a(const int P, const int V, const int rl,
                        const neon_gemm_a *g, ptrdiff_t ntiles)
{
    /* rl: lanes of the last column vector (1..4) */
    const ptrdiff_t a_p = g->a_p, a_r = g->a_r, a_t = g->a_t;
    const ptrdiff_t b_e = g->b_e, b_r = g->b_r, b_t = g->b_t;
    const ptrdiff_t o_p = g->o_p;
    const int nr = g->nr, nt = g->nt, len = g->len;
    const float *bias = g->bias, *mask = g->mask;
    const int relu = g->relu;
    for (ptrdiff_t tile = 0; tile < ntiles; tile++) {
        const float *a = g->a + tile * P * a_p;
        float *o = g->o + tile * P * o_p;
        float32x4_t acc[5][4];
        NEON_UNROLL for (int j = 0; j < V; j++) {
            const float32x4_t start =
                bias ? neon_load(bias + 4 * j, j == V - 1 ? rl : 4)
                     : vdupq_n_f32(0.0f);
            NEON_UNROLL for (int p = 0; p < P; p++) acc[p][j] = start;
        }
        for (int rr = 0; rr < nr; rr++)
            for (int t = 0; t < nt; t++) {
                const float *ap = a + rr * a_r + t * a_t;
                const float *bp = g->b + rr * b_r + t * b_t;
                int e = 0;
                for (; e + 4 <= len; e += 4) {
                    float32x4_t xv[5];
                    NEON_UNROLL for (int p = 0; p < P; p++)
                        xv[p] = vld1q_f32(ap + p * a_p + e);
                    FMA_LANE_A(0);
                    FMA_LANE_A(1);
                    FMA_LANE_A(2);
                    FMA_LANE_A(3);
                }
                for (; e < len; e++) {
                    const float *be = bp + e * b_e;
                    NEON_UNROLL for (int j = 0; j < V; j++) {
                        const float32x4_t wv =
                            neon_load(be + 4 * j, j == V - 1 ? rl : 4);
                        NEON_UNROLL for (int p = 0; p < P; p++)
                            acc[p][j] = vfmaq_n_f32(acc[p][j], wv,
                                                    ap[p * a_p + e]);
                    }
                }
            }
        const float32x4_t zero = vdupq_n_f32(0.0f);
        NEON_UNROLL for (int p = 0; p < P; p++)
            NEON_UNROLL for (int j = 0; j < V; j++) {
                const int rj = j == V - 1 ? rl : 4;
                float32x4_t v = acc[p][j];
                if (mask)
                    v = neon_apply_mask(
                        v, neon_load(mask + tile * P * o_p + p * o_p + 4 * j,
                                     rj));
                else if (relu)
                    v = vmaxq_f32(v, zero);
                neon_store(o + p * o_p + 4 * j, v, rj);
            }
    }
}

typedef void (*tile_a_fn)(const neon_gemm_a *g, ptrdiff_t ntiles);

#define DEFINE_TILE_A1(P, V, R)                                              \
    static NEON_NOINLINE void tile_a_##P##x##V##_##R(const neon_gemm_a *g,   \
                                                     ptrdiff_t ntiles)       \
    {                                                                        \
        tile_a(P, V, R, g, ntiles);                                          \
    }
#define DEFINE_TILE_A(P, V)                                                  \
    DEFINE_TILE_A1(P, V, 1)                                                  \
    DEFINE_TILE_A1(P, V, 2)                                                  \
    DEFINE_TILE_A1(P, V, 3)                                                  \
    DEFINE_TILE_A1(P, V, 4)
#define TILES_A(P, V)                                                        \
    {tile_a_##P##x##V##_1, tile_a_##P##x##V##_2, tile_a_##P##x##V##_3,       \
     tile_a_##P##x##V##_4}

DEFINE_TILE_A(5, 1)
DEFINE_TILE_A(5, 2)
DEFINE_TILE_A(5, 3)
DEFINE_TILE_A(5, 4)
DEFINE_TILE_A(2, 1)
DEFINE_TILE_A(2, 2)
DEFINE_TILE_A(2, 3)
DEFINE_TILE_A(2, 4)
DEFINE_TILE_A(1, 1)
DEFINE_TILE_A(1, 2)
DEFINE_TILE_A(1, 3)
DEFINE_TILE_A(1, 4)

/* [pixels: 5, 2, 1][V - 1][lanes of the last vector - 1] */
static const tile_a_fn tiles_a[3][4][4] = {
    {TILES_A(5, 1), TILES_A(5, 2), TILES_A(5, 3), TILES_A(5, 4)},
    {TILES_A(2, 1), TILES_A(2, 2), TILES_A(2, 3), TILES_A(2, 4)},
    {TILES_A(1, 1), TILES_A(1, 2), TILES_A(1, 3), TILES_A(1, 4)},
};

void cnn_neon_gemm_a(const neon_gemm_a *g0, ptrdiff_t npx, int ncols)
{
    static const int rows[3] = {5, 2, 1};
    for (int c = 0; c < ncols;) {
        const int rem = ncols - c;
        const int V = rem >= 16 ? 4 : (rem + 3) / 4;
        const int r = rem >= 16 || rem % 4 == 0 ? 4 : rem % 4;
        neon_gemm_a g = *g0;
        g.b += c;
        g.o += c;
        if (g.bias)
            g.bias += c;
        if (g.mask)
            g.mask += c;
        ptrdiff_t done = 0;
        for (int k = 0; k < 3; k++) {
            const ptrdiff_t nt = (npx - done) / rows[k];
            if (!nt)
                continue;
            neon_gemm_a h = g;
            h.a += done * g.a_p;
            h.o += done * g.o_p;
            if (h.mask)
                h.mask += done * g.o_p;
            tiles_a[k][V - 1][r - 1](&h, nt);
            done += nt * rows[k];
        }
        c += 4 * (V - 1) + r;
    }
}

/* ------------------------------------------------ outer-product tiles */

#define FMA_LANE_B(l)                                                        \
    NEON_UNROLL for (int q = 0; q < RV; q++)                                 \
        NEON_UNROLL for (int j = 0; j < V; j++)                              \
            acc[4 * q + (l)][j] =                                            \
                vfmaq_laneq_f32(acc[4 * q + (l)][j], dv[j], xv[q], (l));

NEON_INLINE void tile_b(const int RV, const int V, const int part_a,
                        const int lb, const int with_db,
                        const neon_gemm_b *g, int ra)
{
    /* la: valid lanes of the last row vector (runtime: only channel counts
       that are not multiples of 4 have partial rows); lb: of the last
       column vector (1..4, compile time). */
    const int la = part_a ? ra : 4;
    const ptrdiff_t a_i = g->a_i, a_r = g->a_r, a_c = g->a_c;
    const ptrdiff_t b_i = g->b_i, b_r = g->b_r, b_c = g->b_c;
    const int nr = g->nr, nc = g->nc;
    float32x4_t acc[8][3], dacc[3];
    NEON_UNROLL for (int p = 0; p < 4 * RV; p++)
        NEON_UNROLL for (int j = 0; j < V; j++) acc[p][j] = vdupq_n_f32(0.0f);
    NEON_UNROLL for (int j = 0; j < V; j++) dacc[j] = vdupq_n_f32(0.0f);
    for (int i = 0; i < g->ni; i++)
        for (int rr = 0; rr < nr; rr++) {
            const float *ap = g->a + i * a_i + rr * a_r;
            const float *bp = g->b + i * b_i + rr * b_r;
            for (int q0 = 0; q0 < nc; q0++) {
                float32x4_t xv[2], dv[3];
                NEON_UNROLL for (int q = 0; q < RV; q++)
                    xv[q] = neon_load(ap + 4 * q, q == RV - 1 ? la : 4);
                NEON_UNROLL for (int j = 0; j < V; j++)
                    dv[j] = neon_load(bp + 4 * j, j == V - 1 ? lb : 4);
                FMA_LANE_B(0)
                FMA_LANE_B(1)
                FMA_LANE_B(2)
                FMA_LANE_B(3)
                if (with_db)
                    NEON_UNROLL for (int j = 0; j < V; j++)
                        dacc[j] = vaddq_f32(dacc[j], dv[j]);
                ap += a_c;
                bp += b_c;
            }
        }
    const int rows = 4 * (RV - 1) + la;
    NEON_UNROLL for (int p = 0; p < 4 * RV; p++)
        if (p < rows)
            NEON_UNROLL for (int j = 0; j < V; j++) {
                const int rj = j == V - 1 ? lb : 4;
                float *op = g->o + p * g->o_p + 4 * j;
                neon_store(op, vaddq_f32(neon_load(op, rj), acc[p][j]), rj);
            }
    if (with_db)
        NEON_UNROLL for (int j = 0; j < V; j++) {
            const int rj = j == V - 1 ? lb : 4;
            float *dp = g->db + 4 * j;
            neon_store(dp, vaddq_f32(neon_load(dp, rj), dacc[j]), rj);
        }
}

typedef void (*tile_b_fn)(const neon_gemm_b *g, int ra);

#define DEFINE_TILE_B1(RV, V, PA, R, DB)                                     \
    static NEON_NOINLINE void tile_b_##RV##_##V##_##PA##_##R##_##DB(         \
        const neon_gemm_b *g, int ra)                                        \
    {                                                                        \
        tile_b(RV, V, PA, R, DB, g, ra);                                     \
    }
#define DEFINE_TILE_B2(RV, V, PA, R)                                         \
    DEFINE_TILE_B1(RV, V, PA, R, 0)                                          \
    DEFINE_TILE_B1(RV, V, PA, R, 1)
#define DEFINE_TILE_B(RV, V, PA)                                             \
    DEFINE_TILE_B2(RV, V, PA, 1)                                             \
    DEFINE_TILE_B2(RV, V, PA, 2)                                             \
    DEFINE_TILE_B2(RV, V, PA, 3)                                             \
    DEFINE_TILE_B2(RV, V, PA, 4)
#define TILES_B2(RV, V, PA, R)                                               \
    {tile_b_##RV##_##V##_##PA##_##R##_0, tile_b_##RV##_##V##_##PA##_##R##_1}
#define TILES_B(RV, V, PA)                                                   \
    {TILES_B2(RV, V, PA, 1), TILES_B2(RV, V, PA, 2),                         \
     TILES_B2(RV, V, PA, 3), TILES_B2(RV, V, PA, 4)}

DEFINE_TILE_B(2, 1, 0)
DEFINE_TILE_B(2, 2, 0)
DEFINE_TILE_B(2, 3, 0)
DEFINE_TILE_B(1, 1, 0)
DEFINE_TILE_B(1, 2, 0)
DEFINE_TILE_B(1, 3, 0)
DEFINE_TILE_B(1, 1, 1)
DEFINE_TILE_B(1, 2, 1)
DEFINE_TILE_B(1, 3, 1)

/* [row vectors 2 / 1 / 1 partial][V - 1][lanes of the last column vector
   - 1][with db] */
static const tile_b_fn tiles_b[3][3][4][2] = {
    {TILES_B(2, 1, 0), TILES_B(2, 2, 0), TILES_B(2, 3, 0)},
    {TILES_B(1, 1, 0), TILES_B(1, 2, 0), TILES_B(1, 3, 0)},
    {TILES_B(1, 1, 1), TILES_B(1, 2, 1), TILES_B(1, 3, 1)},
};

void cnn_neon_gemm_b(const neon_gemm_b *g0, int nrows, int ncols)
{
    for (int c = 0; c < ncols;) {
        /* Column blocks of 3 vectors, except that 4 whole vectors left
           go as 2 + 2 (so 16 -> 2 + 2, 64 -> 3+3+3+3+2+2): no block of
           a single vector unless the count needs one. */
        const int rem = ncols - c, nv = rem / 4;
        int V, rb = 4;
        if (nv == 4 && rem % 4 == 0)
            V = 2;
        else if (nv >= 3)
            V = 3;
        else
            V = (rem + 3) / 4, rb = rem % 4 ? rem % 4 : 4;
        neon_gemm_b g = *g0;
        g.b += c;
        g.o += c;
        if (g.db)
            g.db += c;
        int with_db = g.db != NULL;
        for (int p = 0; p < nrows;) {
            const int left = nrows - p;
            int kind, ra, step;
            if (left >= 8)
                kind = 0, ra = 4, step = 8;
            else if (left >= 4)
                kind = 1, ra = 4, step = 4;
            else
                kind = 2, ra = left, step = left;
            neon_gemm_b h = g;
            h.a += p;
            h.o += (ptrdiff_t)p * g.o_p;
            tiles_b[kind][V - 1][rb - 1][with_db](&h, ra);
            with_db = 0; /* the bias gradient once per column block */
            p += step;
        }
        if (with_db) /* no rows at all */
            cnn_neon_bias_grad(g.b, g.b_i, g.b_r, g.b_c, g.ni, g.nr, g.nc,
                               4 * (V - 1) + rb, g.db);
        c += 4 * (V - 1) + rb;
    }
}

/* ------------------------------------------------------ bias gradient */

void cnn_neon_bias_grad(const float *b, ptrdiff_t b_i, ptrdiff_t b_r,
                        ptrdiff_t b_c, int ni, int nr, int nc, int ncols,
                        float *db)
{
    for (int c = 0; c < ncols; c += 16) {
        const int rem = ncols - c < 16 ? ncols - c : 16;
        float32x4_t s[4];
        for (int j = 0; j < 4; j++)
            s[j] = vdupq_n_f32(0.0f);
        if (rem == 16) {
            for (int i = 0; i < ni; i++)
                for (int r = 0; r < nr; r++) {
                    const float *bp = b + i * b_i + r * b_r + c;
                    for (int q = 0; q < nc; q++, bp += b_c)
                        NEON_UNROLL for (int j = 0; j < 4; j++)
                            s[j] = vaddq_f32(s[j], vld1q_f32(bp + 4 * j));
                }
        } else {
            for (int i = 0; i < ni; i++)
                for (int r = 0; r < nr; r++) {
                    const float *bp = b + i * b_i + r * b_r + c;
                    for (int q = 0; q < nc; q++, bp += b_c)
                        for (int j = 0; 4 * j < rem; j++) {
                            const int rj = rem - 4 * j < 4 ? rem - 4 * j : 4;
                            s[j] = vaddq_f32(s[j], neon_load(bp + 4 * j, rj));
                        }
                }
        }
        for (int j = 0; 4 * j < rem; j++) {
            const int rj = rem - 4 * j < 4 ? rem - 4 * j : 4;
            float *dp = db + c + 4 * j;
            neon_store(dp, vaddq_f32(neon_load(dp, rj), s[j]), rj);
        }
    }
}

/* ------------------------------------------------------------- packing */

void cnn_conv_pack_transposed_neon(const cnn_conv_geom *g, const float *w,
                                   float *packed)
{
    const int C = g->in_c, M = g->out_c, taps = g->k * g->k;
    for (int t = 0; t < taps; t++) {
        const float *src = w + (ptrdiff_t)t * C * M;
        float *dst = packed + (ptrdiff_t)t * C * M;
        for (int co = 0; co < M; co++)
            for (int ci = 0; ci < C; ci++)
                dst[(ptrdiff_t)co * C + ci] = src[(ptrdiff_t)ci * M + co];
    }
}
