/*
 * conv3x3s2-narrow-avx512.c — backward data of a 3x3 stride-2 convolution
 * whose input has at most 16 channels (one zmm per dx pixel), AVX-512:
 * cnn_avx512_conv3x3s2_backward_data_narrow, called by
 * cnn_conv3x3_backward_data_avx512 for those geometries.
 *
 * With one vector of dx channels, a GEMM tile spends one broadcast of dy
 * per FMA.  Here each broadcast of dy(oy, b)[e] feeds its three column
 * taps at once: dx columns 2b - pad_left + kx, kx = 0, 1, 2, the weights
 * of the three taps (packed [ky][slot][out_c][in_c], see
 * cnn_conv3x3_pack_backward_data_avx512) loaded once per e.  A block of PB
 * dy columns holds the 2*PB + 1 dx columns it reaches in registers over
 * the whole reduction (the kernel rows reaching the dx row, then e); the
 * column shared with the next block is carried into it, so every dx pixel
 * is written once, with the ReLU mask applied in the store (a last column
 * past the image is not computed at all).  The blocks
 * of a row depend on out_w only: an image's bits depend on the geometry
 * alone (batch invariance).
 */
#include <stddef.h>

#include "avx512.h"

#define UNROLL _Pragma("GCC unroll 32")

enum { K = 3, S = 2, PB_MAX = 7 };

/* One dx row: the dy rows of the kernel rows reaching it (nky of them)
   and the packed weights of their three column taps. */
typedef struct narrow_row {
    int nky, M, C, W, first; /* first: dx column of dy column 0, kx 0 */
    const float *dy[K];      /* dy row of kernel row a, column 0 */
    const float *w[K][K];    /* [a][kx]: tap kx's [out_c][in_c] rows */
    float *dx;               /* the dx row, column 0 */
    const float *mask;       /* indexed like dx, or NULL */
    __mmask16 mk;            /* the C lanes */
} narrow_row;

/* Store the block's accumulators acc[0 .. n) at dx column col0 + j, the
   columns inside [0, W), masked by the ReLU mask. */
static inline void store_columns(const narrow_row *r, const __m512 *acc,
                                 int n, int col0)
{
    const __m512 zero = _mm512_setzero_ps();
    for (int j = 0; j < n; j++) {
        const int ix = col0 + j;
        if (ix < 0 || ix >= r->W)
            continue;
        __m512 v = acc[j];
        const ptrdiff_t at = (ptrdiff_t)ix * r->C;
        if (r->mask) {
            const __m512 m = _mm512_maskz_loadu_ps(r->mk, r->mask + at);
            v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(m, zero, _CMP_GT_OQ),
                                    v);
        }
        _mm512_mask_storeu_ps(r->dx + at, r->mk, v);
    }
}

/* Block of PB dy columns from b0: acc[0] starts from carry; returns the
   last column's sum when the block is not the row's last (it is the next
   block's first column), after storing the others.  MC: out_c when a
   compile-time constant (0: r->M); FULL: C == 16, no masked loads (gcc
   keeps masks in memory and reloads them at each use). */
#define DEFINE_BLOCK(PB, MC, FULL, DROP, NAME)                               \
    static __m512 NAME(const narrow_row *r, int b0, __m512 carry, int last) \
    {                                                                        \
        const ptrdiff_t M = (MC) ? (MC) : r->M, C = r->C;                    \
        const __mmask16 mk = r->mk;                                          \
        __m512 acc[2 * (PB) + 1];                                            \
        acc[0] = carry;                                                      \
        UNROLL for (int j = 1; j < 2 * (PB) + 1; j++)                        \
            acc[j] = _mm512_setzero_ps();                                    \
        for (int a = 0; a < r->nky; a++) {                                   \
            const float *d = r->dy[a] + b0 * M;                              \
            const float *w0 = r->w[a][0], *w1 = r->w[a][1];                  \
            const float *w2 = r->w[a][2];                                    \
            for (ptrdiff_t e = 0; e < M; e++, d++) {                         \
                const ptrdiff_t o = e * C;                                   \
                const __m512 v0 = FULL ? _mm512_loadu_ps(w0 + o)             \
                                       : _mm512_maskz_loadu_ps(mk, w0 + o);  \
                const __m512 v1 = FULL ? _mm512_loadu_ps(w1 + o)             \
                                       : _mm512_maskz_loadu_ps(mk, w1 + o);  \
                const __m512 v2 = FULL ? _mm512_loadu_ps(w2 + o)             \
                                       : _mm512_maskz_loadu_ps(mk, w2 + o);  \
                UNROLL for (int j = 0; j < (PB); j++) {                      \
                    const __m512 av = _mm512_set1_ps(d[j * M]);              \
                    acc[2 * j] = _mm512_fmadd_ps(av, v0, acc[2 * j]);        \
                    acc[2 * j + 1] = _mm512_fmadd_ps(av, v1, acc[2 * j + 1]); \
                    if (!(DROP) || j < (PB)-1)                               \
                        acc[2 * j + 2] =                                     \
                            _mm512_fmadd_ps(av, v2, acc[2 * j + 2]);         \
                }                                                            \
            }                                                                \
        }                                                                    \
        store_columns(r, acc, last ? 2 * (PB) + 1 : 2 * (PB),                \
                      r->first + 2 * b0);                                    \
        return acc[2 * (PB)];                                                \
    }

#define FOR_PB(X, MC, FULL, D, K_)                                           \
    X(1, MC, FULL, D, block1_##K_) X(2, MC, FULL, D, block2_##K_)            \
    X(3, MC, FULL, D, block3_##K_) X(4, MC, FULL, D, block4_##K_)            \
    X(5, MC, FULL, D, block5_##K_) X(6, MC, FULL, D, block6_##K_)            \
    X(7, MC, FULL, D, block7_##K_)
/* run-time out_c and masked in_c; run-time out_c; 32; 64 out_c (16 in_c);
   each also without the last column (a row's last block, whose last dx
   column is past the image: "same" padding of an even width) */
FOR_PB(DEFINE_BLOCK, 0, 0, 0, rm)
FOR_PB(DEFINE_BLOCK, 0, 1, 0, rf)
FOR_PB(DEFINE_BLOCK, 32, 1, 0, f32)
FOR_PB(DEFINE_BLOCK, 64, 1, 0, f64)
FOR_PB(DEFINE_BLOCK, 0, 0, 1, rm_d)
FOR_PB(DEFINE_BLOCK, 0, 1, 1, rf_d)
FOR_PB(DEFINE_BLOCK, 32, 1, 1, f32_d)
FOR_PB(DEFINE_BLOCK, 64, 1, 1, f64_d)

typedef __m512 (*block_fn)(const narrow_row *, int, __m512, int);

#define BLOCKS(K_)                                                           \
    {block1_##K_, block2_##K_, block3_##K_, block4_##K_, block5_##K_,        \
     block6_##K_, block7_##K_}
/* [drop the last column][kind][PB - 1] */
static const block_fn blocks[2][4][PB_MAX] = {
    {BLOCKS(rm), BLOCKS(rf), BLOCKS(f32), BLOCKS(f64)},
    {BLOCKS(rm_d), BLOCKS(rf_d), BLOCKS(f32_d), BLOCKS(f64_d)}};

/* Which block kind fits out_c M, in_c C. */
static int block_kind(int M, int C)
{
    if (C < 16)
        return 0;
    return M == 32 ? 2 : M == 64 ? 3 : 1;
}

/* The kernel rows reaching dx row iy (q = iy + pad_top): t0, t0 + 2 (count
   of them), the first from dy row *o0, the next from the row before. */
static void rows_reaching(int q, int out, int *t0, int *count, int *o0)
{
    const int t_min = q - S * out + 1 > 0 ? q - S * out + 1 : 0;
    const int t_max = q < K - 1 ? q : K - 1;
    const int t = t_min + (q - t_min) % S;
    *t0 = t;
    *count = t <= t_max ? (t_max - t) / S + 1 : 0;
    *o0 = (q - t) / S;
}

void cnn_avx512_conv3x3s2_backward_data_narrow(const cnn_conv_geom *g, int n,
                                               const float *dy,
                                               const float *wt,
                                               const int *slot_of,
                                               const float *mask, float *dx)
{
    const int C = g->in_c, M = g->out_c, W = g->in_w, OW = g->out_w;
    const int nblk = (OW + PB_MAX - 1) / PB_MAX;
    const int base = OW / nblk, big = OW % nblk; /* `big` blocks of base+1 */
    const int covered = 2 * OW + 1 - g->pad_left; /* dx columns reached */
    const int kind = block_kind(M, C);
    const block_fn *fn = blocks[0][kind], *fn_last = blocks[covered > W][kind];
    narrow_row r = {.M = M, .C = C, .W = W, .first = -g->pad_left,
                    .mk = cnn_avx512_lanes(C)};
    for (int img = 0; img < n; img++)
        for (int iy = 0; iy < g->in_h; iy++) {
            int t0, count, o0;
            rows_reaching(iy + g->pad_top, g->out_h, &t0, &count, &o0);
            r.nky = count;
            for (int a = 0; a < count; a++) {
                const int ky = t0 + S * a;
                r.dy[a] = dy + ((ptrdiff_t)img * g->out_h + o0 - a) * OW * M;
                for (int kx = 0; kx < K; kx++)
                    r.w[a][kx] =
                        wt + (ptrdiff_t)(ky * K + slot_of[kx]) * M * C;
            }
            const ptrdiff_t row = ((ptrdiff_t)img * g->in_h + iy) * W * C;
            r.dx = dx + row;
            r.mask = mask ? mask + row : NULL;
            __m512 carry = _mm512_setzero_ps();
            for (int k = 0, b0 = 0; k < nblk; k++) {
                const int pb = k < big ? base + 1 : base;
                const block_fn f = k == nblk - 1 ? fn_last[pb - 1] : fn[pb - 1];
                carry = f(&r, b0, carry, k == nblk - 1);
                b0 += pb;
            }
            for (int ix = covered > 0 ? covered : 0; ix < W; ix++)
                _mm512_mask_storeu_ps(r.dx + (ptrdiff_t)ix * C, r.mk,
                                      _mm512_setzero_ps());
        }
}
