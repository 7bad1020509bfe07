/*
 * conv-portable.c — portable C11 convolution kernels, the "scalar" ISA:
 * plain C that gcc and clang vectorise at -O2 for the baseline target (SSE2
 * on x86-64, NEON on aarch64), no -march flags needed.
 *
 *   cnn_conv_{forward,backward_data,backward_weights}_scalar
 *       any k, stride and padding
 *   cnn_conv1x1_{forward,backward_data,backward_weights}_scalar
 *       1x1, stride 1, no padding: a small GEMM over the pixels
 *
 * Every pass is a sequence of small GEMMs, io[r][c] (+)= sum_e A[r][e]*B[e][c],
 * done by one family of micro-kernels (tile_PxW below): P rows of A times
 * a block of W columns of B, held in a P x W accumulator array.  B rows are
 * contiguous (weights [..][cin][cout] or dy pixels), A scalars are broadcast.
 *
 * How gcc -O2 is made to vectorise them.  gcc 12 at -O2 only vectorises a
 * loop whose trip count is a known multiple of the vector width, so the
 * accumulator tile is unrolled completely (`#pragma GCC unroll`) and its
 * straight-line body is turned into SIMD by the basic-block (SLP)
 * vectoriser.  That only works when the tile's reduction is a single loop
 * with the accumulators loaded before it and stored after it; a loop nest
 * around the reduction, or inlining into a caller's loop nest, leaves the
 * products scalar.  Hence each micro-kernel is its own non-inlined function,
 * with literal tile sizes (clang also needs the accumulator array to have
 * exactly the tile's size to keep it in registers), and everything else --
 * padding, strides, phases -- is arranged around it:
 *
 *   forward           im2col: the k*k*in_c patches of a run of output pixels
 *                     are copied (zeros for padding) into a stack buffer,
 *                     then y = patches x w + b (ReLU fused into the store).
 *   backward_weights  the same patches: dw += patches^T x dy, accumulated
 *                     straight into dw over every pixel of all n images; db
 *                     as a GEMM with a column of ones.
 *   backward_data     a gather, nothing scattered: each dx pixel sums the dy
 *                     pixels and taps that touch it.  With stride s the dx
 *                     columns of a row split into s phases (ix mod s); pixels
 *                     of one phase share their taps and sit 1 apart in dy.
 *                     The weights are first copied, transposed, into a stack
 *                     buffer as [ky][kx slot][cout][cin], the kx of each
 *                     phase in descending order, so that for one kernel row
 *                     the taps of a dx pixel meet contiguous dy pixels and
 *                     contiguous weights: one reduction of (taps x cout).
 *
 * No heap allocation (one stack buffer per call: 32 KB of patches, or 64 KB
 * of transposed weights), no threads, no static mutable state.
 */
#include <stddef.h>
#include <string.h>

#include "families.h"

#if defined(__GNUC__) || defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* Unroll the next loop completely (its trip count is a tile size), or not
   at all (so that the loop vectoriser, not straight-line code, handles
   it: fully unrolled selects become branches). */
#define UNROLL _Pragma("GCC unroll 32")
#define NO_UNROLL _Pragma("GCC unroll 1")

enum {
    PATCH_CAP = 8192,  /* floats of im2col patches on the stack (32 KB) */
    WT_CAP = 16384,    /* floats of transposed weights on the stack (64 KB) */
    LEN_BLOCK = 256,   /* reduction steps per micro-kernel call */
    A_BLOCK = 4096,    /* floats of A per row block (stays in L1) */
};

static inline ptrdiff_t pmin(ptrdiff_t a, ptrdiff_t b) { return a < b ? a : b; }
static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

/* ------------------------------------------------------ micro-kernels */

/* One reduction step: acc[p][j] += at[p*a_p + e*a_e] * be[j].  The
   products go through `prod` for clang (with `acc += av * b`, clang 14
   keeps every accumulator twice and spills) but not for gcc (whose SLP
   vectoriser then leaves the products scalar). */
#if defined(__clang__)
#define TILE_STEP(P, W)                                                      \
    UNROLL for (int p = 0; p < P; p++) {                                     \
        const float av = at[p * a_p + e * a_e];                              \
        float prod[W];                                                       \
        UNROLL for (int j = 0; j < W; j++) prod[j] = av * be[j];             \
        UNROLL for (int j = 0; j < W; j++) acc[p][j] += prod[j];             \
    }
#else
#define TILE_STEP(P, W)                                                      \
    UNROLL for (int p = 0; p < P; p++) {                                     \
        const float av = at[p * a_p + e * a_e];                              \
        UNROLL for (int j = 0; j < W; j++) acc[p][j] += av * be[j];          \
    }
#endif

/* An empty asm statement in the loops over tiles and over the reduction:
   at -O3 gcc would otherwise loop-vectorise them (across tiles or across
   reduction steps, with gathers and shuffles), several times slower than
   the tile's own SIMD.  It changes nothing at -O2. */
#if defined(__GNUC__) || defined(__clang__)
#define TILE_LOOP_BARRIER() __asm__ volatile("")
#else
#define TILE_LOOP_BARRIER() ((void)0)
#endif

/*
 * tile_PxW: for each of ntiles tiles t, and p < P, j < W:
 *   io[t*io_t + p*io_p + j] = start + sum_{e < len} a[t*a_t + p*a_p + e*a_e]
 *                                                  * b[e*b_e + j]
 * where start is init[j] when init is not NULL, else io's own value.  Then,
 * when mask is not NULL, elements whose mask (indexed like io) is not > 0
 * are zeroed; else, when relu, negative ones are.
 *
 * The mask and ReLU passes reread io instead of the accumulators: their
 * loops are kept rolled (unrolled selects become branches; the loop
 * vectoriser makes them compare-and-mask), and rolled loops over the
 * accumulators would force those into memory.
 */
#define DEFINE_TILE(P, W)                                                    \
    static NOINLINE void tile_##P##x##W(                                     \
        ptrdiff_t ntiles, ptrdiff_t len, const float *restrict a,            \
        ptrdiff_t a_t, ptrdiff_t a_p, ptrdiff_t a_e,                         \
        const float *restrict b, ptrdiff_t b_e, float *restrict io,          \
        ptrdiff_t io_t, ptrdiff_t io_p, const float *restrict init,          \
        const float *restrict mask, int relu)                                \
    {                                                                        \
        for (ptrdiff_t t = 0; t < ntiles; t++) {                             \
            TILE_LOOP_BARRIER();                                             \
            const float *restrict at = a + t * a_t;                          \
            float *restrict it = io + t * io_t;                              \
            const float *restrict src = init ? init : it;                    \
            const ptrdiff_t src_p = init ? 0 : io_p;                         \
            float acc[P][W];                                                 \
            UNROLL for (int p = 0; p < P; p++)                               \
                UNROLL for (int j = 0; j < W; j++)                           \
                    acc[p][j] = src[p * src_p + j];                          \
            for (ptrdiff_t e = 0; e < len; e++) {                            \
                TILE_LOOP_BARRIER();                                         \
                const float *restrict be = b + e * b_e;                      \
                TILE_STEP(P, W)                                              \
            }                                                                \
            UNROLL for (int p = 0; p < P; p++)                               \
                UNROLL for (int j = 0; j < W; j++)                           \
                    it[p * io_p + j] = acc[p][j];                            \
            if (mask) {                                                      \
                const float *restrict mt = mask + t * io_t;                  \
                NO_UNROLL for (int p = 0; p < P; p++)                        \
                    NO_UNROLL for (int j = 0; j < W; j++) {                  \
                        const float v = it[p * io_p + j];                    \
                        const float m = mt[p * io_p + j];                    \
                        it[p * io_p + j] = m > 0.0f ? v : 0.0f;              \
                    }                                                        \
            } else if (relu) {                                               \
                NO_UNROLL for (int p = 0; p < P; p++)                        \
                    NO_UNROLL for (int j = 0; j < W; j++) {                  \
                        const float v = it[p * io_p + j];                    \
                        it[p * io_p + j] = v > 0.0f ? v : 0.0f;              \
                    }                                                        \
            }                                                                \
        }                                                                    \
    }

/* Main tiles: 3 rows x 16 columns = 12 SSE / NEON accumulator registers
   (x86-64 has 16; clang 14 spills this one, so it uses 4 x 8 there), then
   4 x 8, 4 x 4 and 4 x 1 for narrower column remainders; rows left over
   from those tiles go one at a time. */
#if !defined(__clang__)
DEFINE_TILE(3, 16)
DEFINE_TILE(1, 16)
#endif
DEFINE_TILE(4, 8)
DEFINE_TILE(4, 4)
DEFINE_TILE(4, 1)
DEFINE_TILE(1, 8)
DEFINE_TILE(1, 4)
DEFINE_TILE(1, 1)

/* How a GEMM's outputs start: from io (accumulate), from a bias row, or
   from zero. */
enum start { FROM_IO, FROM_BIAS, FROM_ZERO };

static const float zeros[32]; /* the init row of FROM_ZERO tiles */
static const float one = 1.0f; /* a column of ones (stride 0) for db */

/*
 * io[r*io_r + c] for r < rows, c < cols:
 *   start + sum_{e < len} a[r*a_r + e*a_e] * b[e*b_e + c],
 * start per `start` (bias[c] for FROM_BIAS); then mask (indexed like io) or
 * ReLU as in tile_PxW.  Rows and the reduction are blocked so that a block
 * of A stays in L1 while every column block passes over it.
 */
static void gemm(ptrdiff_t rows, int cols, ptrdiff_t len, const float *a,
                 ptrdiff_t a_r, ptrdiff_t a_e, const float *b, ptrdiff_t b_e,
                 float *io, ptrdiff_t io_r, enum start start,
                 const float *bias, const float *mask, int relu)
{
    const ptrdiff_t lc = len < LEN_BLOCK ? len : LEN_BLOCK;
    /* Rows per block: a multiple of 12, so that only the last block has
       rows left over from tiles of 3 or 4. */
    ptrdiff_t rc = (A_BLOCK / (lc > 0 ? lc : 1)) / 12 * 12;
    if (rc < 12)
        rc = 12;
    if (rows <= 2 * rc)
        rc = rows;
    for (ptrdiff_t r0 = 0; r0 < rows; r0 += rc) {
        const ptrdiff_t nr = pmin(rc, rows - r0);
        ptrdiff_t e0 = 0;
        do {
            const ptrdiff_t ne = pmin(lc, len - e0);
            const int first = e0 == 0, last = e0 + ne >= len;
            const float *A = a + r0 * a_r + e0 * a_e;
            const float *B = b + e0 * b_e;
            float *IO = io + r0 * io_r;
            const float *MK = last && mask ? mask + r0 * io_r : NULL;
            const int RL = last && relu;
#define TILE_INIT(c)                                                         \
    (!first || start == FROM_IO ? NULL                                       \
     : start == FROM_BIAS       ? bias + (c)                                 \
                                : zeros)
#define CALL(fn, ntiles, P, rows_off, c)                                     \
    fn(ntiles, ne, A + (rows_off) * a_r, (P) * a_r, a_r, a_e, B + (c), b_e,  \
       IO + (rows_off) * io_r + (c), (P) * io_r, io_r, TILE_INIT(c),         \
       MK ? MK + (rows_off) * io_r + (c) : NULL, RL)
            /* Columns [c, c+W): tiles of P rows, then single rows. */
#define BLOCK(P, W)                                                          \
    do {                                                                     \
        const ptrdiff_t nt = nr / (P), left = nr - nt * (P);                 \
        if (nt)                                                              \
            CALL(tile_##P##x##W, nt, P, 0, c);                               \
        if (left)                                                            \
            CALL(tile_1x##W, left, 1, nt * (P), c);                          \
    } while (0)
            int c = 0;
#if !defined(__clang__) /* clang 14 spills the 3 x 16 tile */
            for (; c + 16 <= cols; c += 16)
                BLOCK(3, 16);
#endif
            for (; c + 8 <= cols; c += 8)
                BLOCK(4, 8);
            for (; c + 4 <= cols; c += 4)
                BLOCK(4, 4);
            for (; c < cols; c++)
                BLOCK(4, 1);
#undef BLOCK
#undef CALL
#undef TILE_INIT
            e0 += ne;
        } while (e0 < len);
    }
}

/* ------------------------------------------------------------- im2col */

/* d[i] = s[i] (or 0 when s is NULL) for i < n.  Runs are short (k*in_c
   floats at most), so no libc call: blocks of 8, then a tail written so
   that gcc does not turn it into a memcpy call. */
static inline void copy_or_zero(float *restrict d, const float *restrict s,
                                ptrdiff_t n)
{
    ptrdiff_t i = 0;
    if (s) {
        for (; i + 8 <= n; i += 8)
            UNROLL for (int j = 0; j < 8; j++) d[i + j] = s[i + j];
        UNROLL for (int j = 0; j < 7; j++) if (i + j < n) d[i + j] = s[i + j];
    } else {
        for (; i + 8 <= n; i += 8)
            UNROLL for (int j = 0; j < 8; j++) d[i + j] = 0.0f;
        UNROLL for (int j = 0; j < 7; j++) if (i + j < n) d[i + j] = 0.0f;
    }
}

/* Of patch elements [lo, hi), whose values are src[0 ..] (or zeros when
   src is NULL), write those inside [e0, e1) to dst (dst is element e0). */
static void put_range(float *dst, ptrdiff_t e0, ptrdiff_t e1, ptrdiff_t lo,
                      ptrdiff_t hi, const float *src)
{
    const ptrdiff_t from = lo > e0 ? lo : e0, to = hi < e1 ? hi : e1;
    if (from < to)
        copy_or_zero(dst + (from - e0), src ? src + (from - lo) : NULL,
                     to - from);
}

/* Patch elements [e0, e1) of output pixel (img, oy, ox) into dst (which is
   element e0).  Element e of a patch is (ky*k + kx)*in_c + ci, i.e. w's
   [ky][kx][ci] order; taps outside the image read 0. */
static void fill_patch(const cnn_conv_geom *g, const float *x, ptrdiff_t img,
                       int oy, int ox, ptrdiff_t e0, ptrdiff_t e1, float *dst)
{
    const int H = g->in_h, IW = g->in_w, C = g->in_c, k = g->k;
    const ptrdiff_t krow = (ptrdiff_t)k * C;
    const int iy0 = oy * g->stride - g->pad_top;
    const int ix0 = ox * g->stride - g->pad_left;
    const int kx0 = imax(0, -ix0), kx1 = imax(kx0, imin(k, IW - ix0));
    if (e0 == 0 && e1 == k * krow && kx0 == 0 && kx1 == k && iy0 >= 0 &&
        iy0 + k <= H) {
        /* Whole patch, all inside: k runs of k*in_c floats. */
        const float *row = x + ((img * H + iy0) * IW + ix0) * C;
        for (int ky = 0; ky < k; ky++)
            copy_or_zero(dst + ky * krow, row + (ptrdiff_t)ky * IW * C, krow);
        return;
    }
    for (int ky = 0; ky < k; ky++) {
        const ptrdiff_t lo = ky * krow, hi = lo + krow;
        if (hi <= e0 || lo >= e1)
            continue;
        const int iy = iy0 + ky;
        if (iy < 0 || iy >= H || kx0 == kx1) {
            put_range(dst, e0, e1, lo, hi, NULL);
            continue;
        }
        const float *row = x + ((img * H + iy) * IW + ix0 + kx0) * C;
        put_range(dst, e0, e1, lo, lo + kx0 * C, NULL);
        put_range(dst, e0, e1, lo + kx0 * C, lo + kx1 * C, row);
        put_range(dst, e0, e1, lo + kx1 * C, hi, NULL);
    }
}

/*
 * Patch elements [e0, e0+ne) of np output pixels starting at flat pixel p0
 * (over all images) into patch[i*ne + e - e0], as fill_patch does.
 *
 * When a patch row (k*in_c floats, e.g. 3 for a 3x3 kernel on one channel)
 * is too short for per-pixel copies to pay, the pixels of one output row
 * whose taps are all inside are filled element by element across pixels.
 */
static void fill_patches(const cnn_conv_geom *g, const float *x, ptrdiff_t p0,
                         ptrdiff_t np, ptrdiff_t e0, ptrdiff_t ne,
                         float *patch)
{
    const int H = g->in_h, IW = g->in_w, C = g->in_c;
    const int OH = g->out_h, OW = g->out_w, k = g->k, s = g->stride;
    const int pl = g->pad_left;
    const ptrdiff_t per_img = (ptrdiff_t)OH * OW;
    const ptrdiff_t krow = (ptrdiff_t)k * C, K = k * krow;
    /* Output columns whose k taps are all inside the image. */
    const int ox_lo = imin(OW, (pl + s - 1) / s);
    const int ox_hi = IW - k + pl >= 0 ? imin(OW, (IW - k + pl) / s + 1) : 0;
    ptrdiff_t img = p0 / per_img;
    int oy = (int)(p0 % per_img / OW), ox = (int)(p0 % per_img % OW);
    for (ptrdiff_t i = 0; i < np;) {
        const int run = (int)pmin(OW - ox, np - i); /* pixels on this row */
        const int iy0 = oy * s - g->pad_top;
        int a = ox, b = ox; /* [a, b): filled across pixels */
        if (krow < 8 && ne == K && iy0 >= 0 && iy0 + k <= H) {
            a = imax(ox, ox_lo);
            b = imax(a, imin(ox + run, ox_hi));
        }
        for (int o = ox; o < ox + run; o++) {
            float *dst = patch + (i + o - ox) * ne;
            if (o == a && b > a) {
                for (int ky = 0; ky < k; ky++) {
                    const float *src =
                        x + ((img * H + iy0 + ky) * IW + a * s - pl) * C;
                    for (ptrdiff_t e = 0; e < krow; e++)
                        for (int q = 0; q < b - a; q++)
                            dst[q * K + ky * krow + e] =
                                src[(ptrdiff_t)q * s * C + e];
                }
                o = b - 1;
                continue;
            }
            fill_patch(g, x, img, oy, o, e0, e0 + ne, dst);
        }
        i += run;
        ox += run;
        if (ox == OW) {
            ox = 0;
            if (++oy == OH)
                oy = 0, img++;
        }
    }
}

/* ------------------------------------------------------------ forward */

void cnn_conv_forward_scalar(const cnn_conv_geom *g, int n, const float *x,
                             const float *w, const float *b, float *y,
                             int relu)
{
    const int M = g->out_c;
    const ptrdiff_t K = (ptrdiff_t)g->k * g->k * g->in_c;
    const ptrdiff_t npix = (ptrdiff_t)n * g->out_h * g->out_w;
    const ptrdiff_t kc = pmin(K, PATCH_CAP);
    const ptrdiff_t chunk = PATCH_CAP / kc;
    float patch[PATCH_CAP];
    for (ptrdiff_t p0 = 0; p0 < npix; p0 += chunk) {
        const ptrdiff_t np = pmin(chunk, npix - p0);
        for (ptrdiff_t e0 = 0; e0 < K; e0 += kc) {
            const ptrdiff_t ne = pmin(kc, K - e0);
            fill_patches(g, x, p0, np, e0, ne, patch);
            enum start st = e0 ? FROM_IO : b ? FROM_BIAS : FROM_ZERO;
            gemm(np, M, ne, patch, ne, 1, w + e0 * M, M, y + p0 * M, M, st,
                 b, NULL, relu && e0 + ne == K);
        }
    }
}

void cnn_conv1x1_forward_scalar(const cnn_conv_geom *g, int n, const float *x,
                                const float *w, const float *b, float *y,
                                int relu)
{
    const int C = g->in_c, M = g->out_c;
    const ptrdiff_t npix = (ptrdiff_t)n * g->in_h * g->in_w;
    gemm(npix, M, C, x, C, 1, w, M, y, M, b ? FROM_BIAS : FROM_ZERO, b, NULL,
         relu);
}

/* --------------------------------------------------- backward weights */

/* db[c] += sum over npix pixels of dy[pix][c]: a GEMM with a column of
   ones. */
static void bias_grad(ptrdiff_t npix, int M, const float *dy, float *db)
{
    gemm(1, M, npix, &one, 0, 0, dy, M, db, 0, FROM_IO, NULL, NULL, 0);
}

void cnn_conv_backward_weights_scalar(const cnn_conv_geom *g, int n,
                                      const float *x, const float *dy,
                                      float *dw, float *db)
{
    const int M = g->out_c;
    const ptrdiff_t K = (ptrdiff_t)g->k * g->k * g->in_c;
    const ptrdiff_t npix = (ptrdiff_t)n * g->out_h * g->out_w;
    const ptrdiff_t kc = pmin(K, PATCH_CAP);
    const ptrdiff_t chunk = PATCH_CAP / kc;
    float patch[PATCH_CAP];
    for (ptrdiff_t p0 = 0; p0 < npix; p0 += chunk) {
        const ptrdiff_t np = pmin(chunk, npix - p0);
        for (ptrdiff_t e0 = 0; e0 < K; e0 += kc) {
            const ptrdiff_t ne = pmin(kc, K - e0);
            fill_patches(g, x, p0, np, e0, ne, patch);
            /* dw[e][c] += sum_i patch[i][e] * dy[i][c] */
            gemm(ne, M, np, patch, 1, ne, dy + p0 * M, M, dw + e0 * M, M,
                 FROM_IO, NULL, NULL, 0);
        }
    }
    if (db)
        bias_grad(npix, M, dy, db);
}

void cnn_conv1x1_backward_weights_scalar(const cnn_conv_geom *g, int n,
                                         const float *x, const float *dy,
                                         float *dw, float *db)
{
    const int C = g->in_c, M = g->out_c;
    const ptrdiff_t npix = (ptrdiff_t)n * g->in_h * g->in_w;
    gemm(C, M, npix, x, 1, C, dy, M, dw, M, FROM_IO, NULL, NULL, 0);
    if (db)
        bias_grad(npix, M, dy, db);
}

/* ------------------------------------------------------ backward data */

/* Taps t in [0, k) that reach input coordinate i (q = i + pad) from an
   output o = (q - t) / s in [0, out): t = t0, t0 + s, ... (*count of them),
   the first from output *o0, each next one from the output before it. */
static void taps_reaching(int q, int s, int k, int out, int *t0, int *count,
                          int *o0)
{
    const int t_min = imax(0, q - s * out + 1), t_max = imin(k - 1, q);
    const int t = t_min + (q - t_min) % s;
    *t0 = t;
    *count = t <= t_max ? (t_max - t) / s + 1 : 0;
    *o0 = (q - t) / s;
}

/* Slot of tap kx in a packed kernel row: taps grouped by phase kx mod s,
   each group in descending kx. */
static int kx_slot(int kx, int k, int s)
{
    const int rho = kx % s;
    int start = 0;
    for (int r = 0; r < rho && r < k; r++)
        start += (k - 1 - r) / s + 1;
    const int n_rho = (k - 1 - rho) / s + 1;
    return start + n_rho - 1 - (kx - rho) / s;
}

/* wt[((ky*k + slot(kx))*cn + co)*cw + j] = w[ky][kx][cb + j][c0 + co]. */
static void pack_transposed(const cnn_conv_geom *g, const float *w, int cb,
                            int cw, int c0, int cn, float *wt)
{
    const int k = g->k, C = g->in_c, M = g->out_c;
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++) {
            const float *src = w + ((ptrdiff_t)(ky * k + kx) * C + cb) * M + c0;
            float *dst =
                wt + (ptrdiff_t)(ky * k + kx_slot(kx, k, g->stride)) * cn * cw;
            for (int co = 0; co < cn; co++)
                for (int j = 0; j < cw; j++)
                    dst[(ptrdiff_t)co * cw + j] = src[(ptrdiff_t)j * M + co];
        }
}

/* One pass of backward data: input channels [cb, cb+cw) of dx from output
   channels [c0, c0+cn) of dy, weights packed in wt; first: dx starts from
   zero (else accumulates), last: the mask is applied. */
typedef struct bwd_pass {
    const cnn_conv_geom *g;
    const float *dy, *wt, *mask;
    float *dx;
    int cb, cw, c0, cn, first, last;
} bwd_pass;

/*
 * npx dx pixels of row iy of image img, columns ix0, ix0 + s, ...; all of
 * them see kernel rows ty0, ty0 + s, ... (nty, from dy rows oy0, oy0 - 1,
 * ...) and taps tx, tx + s, ... (ntx, from dy columns ox0, ox0 - 1, ...
 * for the first pixel, one more for each next pixel).
 */
static void bwd_pixels(const bwd_pass *ps, int img, int iy, int ix0,
                       ptrdiff_t npx, int ty0, int nty, int oy0, int tx,
                       int ntx, int ox0)
{
    const cnn_conv_geom *g = ps->g;
    const int C = g->in_c, M = g->out_c, k = g->k, s = g->stride;
    const int OW = g->out_w, cw = ps->cw, cn = ps->cn;
    const ptrdiff_t at =
        (((ptrdiff_t)img * g->in_h + iy) * g->in_w + ix0) * C + ps->cb;
    float *io = ps->dx + at;
    const float *mask = ps->mask ? ps->mask + at : NULL;
    const ptrdiff_t io_r = (ptrdiff_t)s * C;
    if (nty == 0 || ntx == 0) { /* no tap reaches these pixels */
        if (ps->first)
            for (ptrdiff_t i = 0; i < npx; i++)
                memset(io + i * io_r, 0, (size_t)cw * sizeof *io);
        return;
    }
    /* cn == M: the taps of one kernel row meet contiguous dy pixels
       ox0-ntx+1 .. ox0 and contiguous weight slots, one reduction. */
    const int merged = cn == M;
    const int groups = merged ? 1 : ntx;
    for (int a = 0; a < nty; a++) {
        const int ky = ty0 + s * a;
        const float *dyrow =
            ps->dy + ((ptrdiff_t)img * g->out_h + oy0 - a) * OW * M + ps->c0;
        for (int grp = 0; grp < groups; grp++) {
            const float *A, *B;
            ptrdiff_t len;
            if (merged) {
                const int last_kx = tx + s * (ntx - 1);
                A = dyrow + (ptrdiff_t)(ox0 - ntx + 1) * M;
                B = ps->wt + (ptrdiff_t)(ky * k + kx_slot(last_kx, k, s)) *
                                 cn * cw;
                len = (ptrdiff_t)ntx * M;
            } else {
                const int kx = tx + s * grp;
                A = dyrow + (ptrdiff_t)(ox0 - grp) * M;
                B = ps->wt + (ptrdiff_t)(ky * k + kx_slot(kx, k, s)) * cn * cw;
                len = cn;
            }
            const int first = ps->first && a == 0 && grp == 0;
            const int last = ps->last && a == nty - 1 && grp == groups - 1;
            gemm(npx, cw, len, A, M, 1, B, cw, io, io_r,
                 first ? FROM_ZERO : FROM_IO, NULL, last ? mask : NULL, 0);
        }
    }
}

static void bwd_data_pass(const bwd_pass *ps, int n)
{
    const cnn_conv_geom *g = ps->g;
    const int IW = g->in_w, OW = g->out_w;
    const int k = g->k, s = g->stride, pl = g->pad_left;
    for (int img = 0; img < n; img++)
        for (int iy = 0; iy < g->in_h; iy++) {
            int ty0, nty, oy0;
            taps_reaching(iy + g->pad_top, s, k, g->out_h, &ty0, &nty, &oy0);
            for (int r = 0; r < s && r < IW; r++) {
                /* Phase r: dx columns ix = r + s*i, i < count. */
                const int count = (IW - 1 - r) / s + 1;
                /* Interior: k-1 <= ix + pl <= s*OW - 1, every tap valid. */
                int i_lo = (k - 1 - pl - r + s - 1) / s;
                if (k - 1 - pl - r <= 0)
                    i_lo = 0;
                i_lo = imin(i_lo, count);
                const int lim = imin(IW - 1, s * OW - 1 - pl);
                int i_hi = lim >= r ? imin(count, (lim - r) / s + 1) : 0;
                i_hi = imax(i_hi, i_lo);
                for (int i = 0; i < count; i++) {
                    const int ix = r + s * i;
                    if (i == i_lo && i_hi > i_lo) {
                        const int tx = (ix + pl) % s;
                        const int ntx = tx < k ? (k - 1 - tx) / s + 1 : 0;
                        bwd_pixels(ps, img, iy, ix, i_hi - i_lo, ty0, nty,
                                   oy0, tx, ntx, (ix + pl - tx) / s);
                        i = i_hi - 1;
                        continue;
                    }
                    int tx, ntx, ox0;
                    taps_reaching(ix + pl, s, k, OW, &tx, &ntx, &ox0);
                    bwd_pixels(ps, img, iy, ix, 1, ty0, nty, oy0, tx, ntx,
                               ox0);
                }
            }
        }
}

/* Fallback for kernels whose single tap row does not fit the buffer
   (k*k > WT_CAP): one dx element at a time, straight from w. */
static void bwd_data_direct(const cnn_conv_geom *g, int n, const float *dy,
                            const float *w, const float *mask, float *dx)
{
    const int H = g->in_h, IW = g->in_w, C = g->in_c;
    const int OH = g->out_h, OW = g->out_w, M = g->out_c;
    const int k = g->k, s = g->stride;
    for (int img = 0; img < n; img++)
        for (int iy = 0; iy < H; iy++) {
            int ty0, nty, oy0;
            taps_reaching(iy + g->pad_top, s, k, OH, &ty0, &nty, &oy0);
            for (int ix = 0; ix < IW; ix++) {
                int tx0, ntx, ox0;
                taps_reaching(ix + g->pad_left, s, k, OW, &tx0, &ntx, &ox0);
                for (int ci = 0; ci < C; ci++) {
                    float sum = 0.0f;
                    for (int a = 0; a < nty; a++)
                        for (int t = 0; t < ntx; t++) {
                            const float *d =
                                dy + (((ptrdiff_t)img * OH + oy0 - a) * OW +
                                      ox0 - t) * M;
                            const float *wc =
                                w + (((ptrdiff_t)(ty0 + s * a) * k + tx0 +
                                      s * t) * C + ci) * M;
                            for (int co = 0; co < M; co++)
                                sum += d[co] * wc[co];
                        }
                    const ptrdiff_t at =
                        (((ptrdiff_t)img * H + iy) * IW + ix) * C + ci;
                    dx[at] = mask && !(mask[at] > 0.0f) ? 0.0f : sum;
                }
            }
        }
}

/* Channel chunks whose packed weights fit WT_CAP: input channels *cw per
   pass (a multiple of 8 when possible), output channels *cn (all of them
   when possible, so taps merge).  Returns 0 when not even one fits. */
static int bwd_chunks(int taps, int C, int M, int *cw, int *cn)
{
    if ((ptrdiff_t)taps * M * C <= WT_CAP) {
        *cw = C, *cn = M;
        return 1;
    }
    int w = (int)(WT_CAP / ((ptrdiff_t)taps * M));
    if (w >= 1) {
        *cw = w >= 8 ? w / 8 * 8 : w, *cn = M;
        return 1;
    }
    *cw = imin(C, 8);
    *cn = (int)(WT_CAP / ((ptrdiff_t)taps * *cw));
    if (*cn < 1) {
        *cw = 1;
        *cn = WT_CAP / taps;
    }
    return *cn >= 1;
}

void cnn_conv_backward_data_scalar(const cnn_conv_geom *g, int n,
                                   const float *dy, const float *w,
                                   const float *mask, float *dx)
{
    const int C = g->in_c, M = g->out_c;
    int cw, cn;
    if (!bwd_chunks(g->k * g->k, C, M, &cw, &cn)) {
        bwd_data_direct(g, n, dy, w, mask, dx);
        return;
    }
    float wt[WT_CAP];
    for (int cb = 0; cb < C; cb += cw)
        for (int c0 = 0; c0 < M; c0 += cn) {
            bwd_pass ps = {.g = g, .dy = dy, .wt = wt, .mask = mask,
                           .dx = dx, .cb = cb, .cw = imin(cw, C - cb),
                           .c0 = c0, .cn = imin(cn, M - c0),
                           .first = c0 == 0, .last = c0 + cn >= M};
            pack_transposed(g, w, ps.cb, ps.cw, ps.c0, ps.cn, wt);
            bwd_data_pass(&ps, n);
        }
}

void cnn_conv1x1_backward_data_scalar(const cnn_conv_geom *g, int n,
                                      const float *dy, const float *w,
                                      const float *mask, float *dx)
{
    const int C = g->in_c, M = g->out_c;
    const ptrdiff_t npix = (ptrdiff_t)n * g->in_h * g->in_w;
    int cw, cn;
    bwd_chunks(1, C, M, &cw, &cn); /* always fits: WT_CAP >= 1 */
    float wt[WT_CAP];
    for (int cb = 0; cb < C; cb += cw)
        for (int c0 = 0; c0 < M; c0 += cn) {
            const int cwn = imin(cw, C - cb), cnn = imin(cn, M - c0);
            pack_transposed(g, w, cb, cwn, c0, cnn, wt);
            /* dx[p][cb + j] (+)= sum_co dy[p][c0 + co] * wt[co][j] */
            gemm(npix, cwn, cnn, dy + c0, M, 1, wt, cwn, dx + cb, C,
                 c0 == 0 ? FROM_ZERO : FROM_IO, NULL,
                 mask && c0 + cnn == M ? mask + cb : NULL, 0);
        }
}
