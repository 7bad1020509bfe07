/*
 * gemm-avx512.c — the register-tile GEMM shared by every kernel of the
 * AVX-512 set (see avx512.h for the GEMM it computes), and the bias
 * gradient.
 *
 * tile_{r,u,a16_,a32_,a64_}PxV: P rows x V zmm vectors of accumulators
 * (P*V <= 24 plus V B registers; broadcasts fold into the FMAs as {1to16}
 * operands).  The A row stride a_p is a compile-time constant in the "u"
 * (1: rows are consecutive A elements, as in backward-weights) and "aN_"
 * (N floats: the seed network's pixel strides) tiles, so that every
 * broadcast is a constant displacement off one pointer; the "r" tiles take
 * it at run time (one register or stack slot per row offset).  Each tile
 * is its own function with literal sizes, so the accumulator array is
 * fully unrolled into registers at -O2 (gcc and clang).  It has an
 * unmasked body, taken when every column vector is complete (all the seed
 * network's shapes: gcc keeps AVX-512 masks in memory and reloads them at
 * each use, ~15% slower), and, in the "r" and "u" tiles, a masked body for
 * ragged channel counts: columns beyond the GEMM's are masked off in the
 * loads and stores, never a scalar path.  Tiles of fewer than 8
 * accumulators split the reduction over 2 or 4 accumulator sets.
 *
 * cnn_avx512_gemm splits columns into chunks of up to 4 vectors and rows
 * into as few tiles as the chunk's largest P allows, of balanced sizes (13
 * rows of 4 vectors: 5 + 4 + 4, not 6 + 6 + 1), so that every tile keeps
 * enough independent FMA chains.  cnn_avx512_gemm_grid does the same line
 * by line over a grid of rows (a region of an image), but takes lines of
 * at most p_max / 2 rows by pairs in the two-line tiles tile2_* (a 7x7
 * image's rows: tiles of 14 pixels, not 7), and a one-row-wide grid as one
 * line along its other axis.  The tiles (and so each element's sequence of
 * operations) depend only on the GEMM's sizes, never on where it sits.
 */
#include <stddef.h>

#include "avx512.h"

#define UNROLL _Pragma("GCC unroll 32")

/* ntiles consecutive tiles of P rows; the first at A offset aoff (rows),
   B offset boff (columns), output out, mask (or NULL). */
typedef void (*tile_fn)(const avx512_gemm *t, ptrdiff_t ntiles,
                        ptrdiff_t aoff, ptrdiff_t boff, float *out,
                        const float *bias, const float *mask,
                        const __mmask16 *mk);

/* One reduction step into accumulator set k: B row at b, A column at a. */
#define TILE_STEP(P, V, FULL, k, a, b)                                       \
    do {                                                                     \
        __m512 bv[V];                                                        \
        UNROLL for (int v = 0; v < V - 1; v++)                               \
            bv[v] = _mm512_loadu_ps((b) + 16 * v);                           \
        bv[V - 1] = FULL ? _mm512_loadu_ps((b) + 16 * (V - 1))               \
                         : _mm512_maskz_loadu_ps(mk_last, (b) + 16 * (V - 1)); \
        UNROLL for (int p = 0; p < P; p++) {                                 \
            const __m512 av = _mm512_set1_ps((a)[ROW_A(p)]);                 \
            UNROLL for (int v = 0; v < V; v++)                               \
                acc[k][p][v] = _mm512_fmadd_ps(av, bv[v], acc[k][p][v]);     \
        }                                                                    \
    } while (0)

/* The whole reduction (every segment) of one tile; FULL: the last
   column vector is complete, so no load in the loop needs a mask (gcc
   keeps masks in memory, and a mask reload per step costs ~15%). */
#define TILE_SEGMENTS(P, V, FULL)                                            \
    do {                                                                     \
        const avx512_seg *sg = t->seg;                                       \
        for (int s = 0; s < nseg; s++) {                                     \
            const float *a = sg[s].a + aoff, *b = sg[s].b + boff;            \
            ptrdiff_t e = sg[s].len;                                         \
            if (NS > 1)                                                      \
                for (; e >= NS; e -= NS, a += NS * a_e, b += NS * ldb) {     \
                    UNROLL for (int k = 0; k < NS; k++)                      \
                        TILE_STEP(P, V, FULL, k, a + k * a_e, b + k * ldb);  \
                }                                                            \
            for (; e > 0; e--, a += a_e, b += ldb)                           \
                TILE_STEP(P, V, FULL, 0, a, b);                              \
        }                                                                    \
    } while (0)

/* Load / store column vector v of a row; FULL: every vector is complete,
   no mask (gcc keeps masks in memory and reloads them at each use). */
#define LOADV(FULL, v, p)                                                    \
    ((FULL) ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mk[v], p))
#define STOREV(FULL, v, p, x)                                                \
    ((FULL) ? _mm512_storeu_ps(p, x) : _mm512_mask_storeu_ps(p, mk[v], x))

/* One tile: start (from out, the bias or zero), the reduction, then ReLU
   or the mask, and the store. */
#define TILE_BODY(P, V, FULL)                                                \
    do {                                                                     \
        __m512 acc[NS][P][V];                                                \
        UNROLL for (int k = 1; k < NS; k++)                                  \
            UNROLL for (int p = 0; p < P; p++)                               \
                UNROLL for (int v = 0; v < V; v++)                           \
                    acc[k][p][v] = _mm512_setzero_ps();                      \
        if (accum) {                                                         \
            const float *o = out;                                            \
            UNROLL for (int p = 0; p < P; p++, o += out_p)                   \
                UNROLL for (int v = 0; v < V; v++)                           \
                    acc[0][p][v] = LOADV(FULL, v, o + 16 * v);               \
        } else if (bias) {                                                   \
            UNROLL for (int v = 0; v < V; v++) {                             \
                const __m512 bv = LOADV(FULL, v, bias + 16 * v);             \
                UNROLL for (int p = 0; p < P; p++) acc[0][p][v] = bv;        \
            }                                                                \
        } else {                                                             \
            UNROLL for (int p = 0; p < P; p++)                               \
                UNROLL for (int v = 0; v < V; v++)                           \
                    acc[0][p][v] = _mm512_setzero_ps();                      \
        }                                                                    \
        TILE_SEGMENTS(P, V, FULL);                                           \
        UNROLL for (int k = 1; k < NS; k++)                                  \
            UNROLL for (int p = 0; p < P; p++)                               \
                UNROLL for (int v = 0; v < V; v++)                           \
                    acc[0][p][v] = _mm512_add_ps(acc[0][p][v], acc[k][p][v]); \
        /* rows by pointer bumps (precomputed p*out_p offsets would not   \
           fit in registers), a new line every Q rows */                     \
        const __m512 zero = _mm512_setzero_ps();                             \
        float *o = out, *line = out;                                         \
        const float *mq = mask, *mline = mask;                               \
        UNROLL for (int p = 0; p < P; p++) {                                 \
            if (p > 0 && p % Q_ == 0) {                                       \
                line += out_r, o = line;                                     \
                mline = mline ? mline + out_r : NULL, mq = mline;            \
            } else if (p > 0) {                                              \
                o += out_p, mq = mq ? mq + out_p : NULL;                     \
            }                                                                \
            UNROLL for (int v = 0; v < V; v++) {                             \
                __m512 r = acc[0][p][v];                                     \
                if (relu)                                                    \
                    r = _mm512_max_ps(r, zero);                              \
                if (mq) {                                                    \
                    const __m512 m = LOADV(FULL, v, mq + 16 * v);            \
                    r = _mm512_maskz_mov_ps(                                 \
                        _mm512_cmp_ps_mask(m, zero, _CMP_GT_OQ), r);         \
                }                                                            \
                STOREV(FULL, v, o + 16 * v, r);                              \
            }                                                                \
        }                                                                    \
    } while (0)

/* Tiles with fewer than 8 accumulators (border pixels, narrow remainders)
   keep NS sets of them, for alternate reduction steps, so that at least 4
   FMA chains are in flight; the sets are summed at the end.  The P rows
   are P / Q lines of Q rows (Q = P: one line; lines a_r apart in A and
   out_r in out, rows a_p and out_p within a line); ntiles consecutive
   tiles follow each other along the line (one line) or by P / Q lines. */
#define DEFINE_TILE_Q(P, Q, V, AP, NAME)                                     \
    static void NAME(const avx512_gemm *t, ptrdiff_t ntiles, ptrdiff_t aoff, \
                     ptrdiff_t boff, float *out, const float *bias,          \
                     const float *mask, const __mmask16 *mkp)                \
    {                                                                        \
        enum { NS = (P) * (V) >= 8 ? 1 : (P) * (V) >= 4 ? 2 : 4 };           \
        enum { Q_ = (Q), NL = (P) / (Q) };                                             \
        const ptrdiff_t a_p = (AP) ? (AP) : t->a_p, a_r = t->a_r;            \
        const ptrdiff_t a_e = t->a_e, ldb = t->ldb, out_p = t->out_p;        \
        const ptrdiff_t out_r = t->out_r;                                    \
        const ptrdiff_t a_step = NL > 1 ? NL * a_r : (P) * a_p;              \
        const ptrdiff_t out_step = NL > 1 ? NL * out_r : (P) * out_p;        \
        const int nseg = t->nseg, accum = t->accum, relu = t->relu;          \
        __mmask16 mk[V];                                                     \
        UNROLL for (int v = 0; v < V; v++) mk[v] = mkp[v];                   \
        const __mmask16 mk_last = mk[V - 1];                                 \
        const int full = mk_last == 0xFFFF;                                  \
        (void)a_r, (void)out_r;                                              \
        for (; ntiles > 0; ntiles--, aoff += a_step, out += out_step,        \
                           mask = mask ? mask + out_step : NULL) {           \
            if (full || (AP) > 1)                                            \
                TILE_BODY(P, V, 1);                                          \
            else                                                             \
                TILE_BODY(P, V, 0);                                          \
        }                                                                    \
    }
#define DEFINE_TILE(P, V, AP, NAME) DEFINE_TILE_Q(P, P, V, AP, NAME)

/* A row's A offset: line p / Q, row p % Q of it (constants once unrolled). */
#define ROW_A(p) ((p) / Q_ * a_r + (p) % Q_ * a_p)

DEFINE_TILE(1, 1, 0, tile_r1x1)
DEFINE_TILE(2, 1, 0, tile_r2x1)
DEFINE_TILE(3, 1, 0, tile_r3x1)
DEFINE_TILE(4, 1, 0, tile_r4x1)
DEFINE_TILE(5, 1, 0, tile_r5x1)
DEFINE_TILE(6, 1, 0, tile_r6x1)
DEFINE_TILE(7, 1, 0, tile_r7x1)
DEFINE_TILE(8, 1, 0, tile_r8x1)
DEFINE_TILE(9, 1, 0, tile_r9x1)
DEFINE_TILE(10, 1, 0, tile_r10x1)
DEFINE_TILE(11, 1, 0, tile_r11x1)
DEFINE_TILE(12, 1, 0, tile_r12x1)
DEFINE_TILE(13, 1, 0, tile_r13x1)
DEFINE_TILE(14, 1, 0, tile_r14x1)
DEFINE_TILE(15, 1, 0, tile_r15x1)
DEFINE_TILE(16, 1, 0, tile_r16x1)
DEFINE_TILE(1, 2, 0, tile_r1x2)
DEFINE_TILE(2, 2, 0, tile_r2x2)
DEFINE_TILE(3, 2, 0, tile_r3x2)
DEFINE_TILE(4, 2, 0, tile_r4x2)
DEFINE_TILE(5, 2, 0, tile_r5x2)
DEFINE_TILE(6, 2, 0, tile_r6x2)
DEFINE_TILE(7, 2, 0, tile_r7x2)
DEFINE_TILE(8, 2, 0, tile_r8x2)
DEFINE_TILE(9, 2, 0, tile_r9x2)
DEFINE_TILE(10, 2, 0, tile_r10x2)
DEFINE_TILE(11, 2, 0, tile_r11x2)
DEFINE_TILE(12, 2, 0, tile_r12x2)
DEFINE_TILE(1, 3, 0, tile_r1x3)
DEFINE_TILE(2, 3, 0, tile_r2x3)
DEFINE_TILE(3, 3, 0, tile_r3x3)
DEFINE_TILE(4, 3, 0, tile_r4x3)
DEFINE_TILE(5, 3, 0, tile_r5x3)
DEFINE_TILE(6, 3, 0, tile_r6x3)
DEFINE_TILE(7, 3, 0, tile_r7x3)
DEFINE_TILE(8, 3, 0, tile_r8x3)
DEFINE_TILE(1, 4, 0, tile_r1x4)
DEFINE_TILE(2, 4, 0, tile_r2x4)
DEFINE_TILE(3, 4, 0, tile_r3x4)
DEFINE_TILE(4, 4, 0, tile_r4x4)
DEFINE_TILE(5, 4, 0, tile_r5x4)
DEFINE_TILE(6, 4, 0, tile_r6x4)
DEFINE_TILE(1, 1, 1, tile_u1x1)
DEFINE_TILE(2, 1, 1, tile_u2x1)
DEFINE_TILE(3, 1, 1, tile_u3x1)
DEFINE_TILE(4, 1, 1, tile_u4x1)
DEFINE_TILE(5, 1, 1, tile_u5x1)
DEFINE_TILE(6, 1, 1, tile_u6x1)
DEFINE_TILE(7, 1, 1, tile_u7x1)
DEFINE_TILE(8, 1, 1, tile_u8x1)
DEFINE_TILE(9, 1, 1, tile_u9x1)
DEFINE_TILE(10, 1, 1, tile_u10x1)
DEFINE_TILE(11, 1, 1, tile_u11x1)
DEFINE_TILE(12, 1, 1, tile_u12x1)
DEFINE_TILE(13, 1, 1, tile_u13x1)
DEFINE_TILE(14, 1, 1, tile_u14x1)
DEFINE_TILE(15, 1, 1, tile_u15x1)
DEFINE_TILE(16, 1, 1, tile_u16x1)
DEFINE_TILE(1, 2, 1, tile_u1x2)
DEFINE_TILE(2, 2, 1, tile_u2x2)
DEFINE_TILE(3, 2, 1, tile_u3x2)
DEFINE_TILE(4, 2, 1, tile_u4x2)
DEFINE_TILE(5, 2, 1, tile_u5x2)
DEFINE_TILE(6, 2, 1, tile_u6x2)
DEFINE_TILE(7, 2, 1, tile_u7x2)
DEFINE_TILE(8, 2, 1, tile_u8x2)
DEFINE_TILE(9, 2, 1, tile_u9x2)
DEFINE_TILE(10, 2, 1, tile_u10x2)
DEFINE_TILE(11, 2, 1, tile_u11x2)
DEFINE_TILE(12, 2, 1, tile_u12x2)
DEFINE_TILE(1, 3, 1, tile_u1x3)
DEFINE_TILE(2, 3, 1, tile_u2x3)
DEFINE_TILE(3, 3, 1, tile_u3x3)
DEFINE_TILE(4, 3, 1, tile_u4x3)
DEFINE_TILE(5, 3, 1, tile_u5x3)
DEFINE_TILE(6, 3, 1, tile_u6x3)
DEFINE_TILE(7, 3, 1, tile_u7x3)
DEFINE_TILE(8, 3, 1, tile_u8x3)
DEFINE_TILE(1, 4, 1, tile_u1x4)
DEFINE_TILE(2, 4, 1, tile_u2x4)
DEFINE_TILE(3, 4, 1, tile_u3x4)
DEFINE_TILE(4, 4, 1, tile_u4x4)
DEFINE_TILE(5, 4, 1, tile_u5x4)
DEFINE_TILE(6, 4, 1, tile_u6x4)
DEFINE_TILE(1, 1, 16, tile_a16_1x1)
DEFINE_TILE(2, 1, 16, tile_a16_2x1)
DEFINE_TILE(3, 1, 16, tile_a16_3x1)
DEFINE_TILE(4, 1, 16, tile_a16_4x1)
DEFINE_TILE(5, 1, 16, tile_a16_5x1)
DEFINE_TILE(6, 1, 16, tile_a16_6x1)
DEFINE_TILE(7, 1, 16, tile_a16_7x1)
DEFINE_TILE(8, 1, 16, tile_a16_8x1)
DEFINE_TILE(9, 1, 16, tile_a16_9x1)
DEFINE_TILE(10, 1, 16, tile_a16_10x1)
DEFINE_TILE(11, 1, 16, tile_a16_11x1)
DEFINE_TILE(12, 1, 16, tile_a16_12x1)
DEFINE_TILE(13, 1, 16, tile_a16_13x1)
DEFINE_TILE(14, 1, 16, tile_a16_14x1)
DEFINE_TILE(15, 1, 16, tile_a16_15x1)
DEFINE_TILE(16, 1, 16, tile_a16_16x1)
DEFINE_TILE(1, 2, 16, tile_a16_1x2)
DEFINE_TILE(2, 2, 16, tile_a16_2x2)
DEFINE_TILE(3, 2, 16, tile_a16_3x2)
DEFINE_TILE(4, 2, 16, tile_a16_4x2)
DEFINE_TILE(5, 2, 16, tile_a16_5x2)
DEFINE_TILE(6, 2, 16, tile_a16_6x2)
DEFINE_TILE(7, 2, 16, tile_a16_7x2)
DEFINE_TILE(8, 2, 16, tile_a16_8x2)
DEFINE_TILE(9, 2, 16, tile_a16_9x2)
DEFINE_TILE(10, 2, 16, tile_a16_10x2)
DEFINE_TILE(11, 2, 16, tile_a16_11x2)
DEFINE_TILE(12, 2, 16, tile_a16_12x2)
DEFINE_TILE(1, 3, 16, tile_a16_1x3)
DEFINE_TILE(2, 3, 16, tile_a16_2x3)
DEFINE_TILE(3, 3, 16, tile_a16_3x3)
DEFINE_TILE(4, 3, 16, tile_a16_4x3)
DEFINE_TILE(5, 3, 16, tile_a16_5x3)
DEFINE_TILE(6, 3, 16, tile_a16_6x3)
DEFINE_TILE(7, 3, 16, tile_a16_7x3)
DEFINE_TILE(8, 3, 16, tile_a16_8x3)
DEFINE_TILE(1, 4, 16, tile_a16_1x4)
DEFINE_TILE(2, 4, 16, tile_a16_2x4)
DEFINE_TILE(3, 4, 16, tile_a16_3x4)
DEFINE_TILE(4, 4, 16, tile_a16_4x4)
DEFINE_TILE(5, 4, 16, tile_a16_5x4)
DEFINE_TILE(6, 4, 16, tile_a16_6x4)
DEFINE_TILE(1, 1, 32, tile_a32_1x1)
DEFINE_TILE(2, 1, 32, tile_a32_2x1)
DEFINE_TILE(3, 1, 32, tile_a32_3x1)
DEFINE_TILE(4, 1, 32, tile_a32_4x1)
DEFINE_TILE(5, 1, 32, tile_a32_5x1)
DEFINE_TILE(6, 1, 32, tile_a32_6x1)
DEFINE_TILE(7, 1, 32, tile_a32_7x1)
DEFINE_TILE(8, 1, 32, tile_a32_8x1)
DEFINE_TILE(9, 1, 32, tile_a32_9x1)
DEFINE_TILE(10, 1, 32, tile_a32_10x1)
DEFINE_TILE(11, 1, 32, tile_a32_11x1)
DEFINE_TILE(12, 1, 32, tile_a32_12x1)
DEFINE_TILE(13, 1, 32, tile_a32_13x1)
DEFINE_TILE(14, 1, 32, tile_a32_14x1)
DEFINE_TILE(15, 1, 32, tile_a32_15x1)
DEFINE_TILE(16, 1, 32, tile_a32_16x1)
DEFINE_TILE(1, 2, 32, tile_a32_1x2)
DEFINE_TILE(2, 2, 32, tile_a32_2x2)
DEFINE_TILE(3, 2, 32, tile_a32_3x2)
DEFINE_TILE(4, 2, 32, tile_a32_4x2)
DEFINE_TILE(5, 2, 32, tile_a32_5x2)
DEFINE_TILE(6, 2, 32, tile_a32_6x2)
DEFINE_TILE(7, 2, 32, tile_a32_7x2)
DEFINE_TILE(8, 2, 32, tile_a32_8x2)
DEFINE_TILE(9, 2, 32, tile_a32_9x2)
DEFINE_TILE(10, 2, 32, tile_a32_10x2)
DEFINE_TILE(11, 2, 32, tile_a32_11x2)
DEFINE_TILE(12, 2, 32, tile_a32_12x2)
DEFINE_TILE(1, 3, 32, tile_a32_1x3)
DEFINE_TILE(2, 3, 32, tile_a32_2x3)
DEFINE_TILE(3, 3, 32, tile_a32_3x3)
DEFINE_TILE(4, 3, 32, tile_a32_4x3)
DEFINE_TILE(5, 3, 32, tile_a32_5x3)
DEFINE_TILE(6, 3, 32, tile_a32_6x3)
DEFINE_TILE(7, 3, 32, tile_a32_7x3)
DEFINE_TILE(8, 3, 32, tile_a32_8x3)
DEFINE_TILE(1, 4, 32, tile_a32_1x4)
DEFINE_TILE(2, 4, 32, tile_a32_2x4)
DEFINE_TILE(3, 4, 32, tile_a32_3x4)
DEFINE_TILE(4, 4, 32, tile_a32_4x4)
DEFINE_TILE(5, 4, 32, tile_a32_5x4)
DEFINE_TILE(6, 4, 32, tile_a32_6x4)
DEFINE_TILE(1, 1, 64, tile_a64_1x1)
DEFINE_TILE(2, 1, 64, tile_a64_2x1)
DEFINE_TILE(3, 1, 64, tile_a64_3x1)
DEFINE_TILE(4, 1, 64, tile_a64_4x1)
DEFINE_TILE(5, 1, 64, tile_a64_5x1)
DEFINE_TILE(6, 1, 64, tile_a64_6x1)
DEFINE_TILE(7, 1, 64, tile_a64_7x1)
DEFINE_TILE(8, 1, 64, tile_a64_8x1)
DEFINE_TILE(9, 1, 64, tile_a64_9x1)
DEFINE_TILE(10, 1, 64, tile_a64_10x1)
DEFINE_TILE(11, 1, 64, tile_a64_11x1)
DEFINE_TILE(12, 1, 64, tile_a64_12x1)
DEFINE_TILE(13, 1, 64, tile_a64_13x1)
DEFINE_TILE(14, 1, 64, tile_a64_14x1)
DEFINE_TILE(15, 1, 64, tile_a64_15x1)
DEFINE_TILE(16, 1, 64, tile_a64_16x1)
DEFINE_TILE(1, 2, 64, tile_a64_1x2)
DEFINE_TILE(2, 2, 64, tile_a64_2x2)
DEFINE_TILE(3, 2, 64, tile_a64_3x2)
DEFINE_TILE(4, 2, 64, tile_a64_4x2)
DEFINE_TILE(5, 2, 64, tile_a64_5x2)
DEFINE_TILE(6, 2, 64, tile_a64_6x2)
DEFINE_TILE(7, 2, 64, tile_a64_7x2)
DEFINE_TILE(8, 2, 64, tile_a64_8x2)
DEFINE_TILE(9, 2, 64, tile_a64_9x2)
DEFINE_TILE(10, 2, 64, tile_a64_10x2)
DEFINE_TILE(11, 2, 64, tile_a64_11x2)
DEFINE_TILE(12, 2, 64, tile_a64_12x2)
DEFINE_TILE(1, 3, 64, tile_a64_1x3)
DEFINE_TILE(2, 3, 64, tile_a64_2x3)
DEFINE_TILE(3, 3, 64, tile_a64_3x3)
DEFINE_TILE(4, 3, 64, tile_a64_4x3)
DEFINE_TILE(5, 3, 64, tile_a64_5x3)
DEFINE_TILE(6, 3, 64, tile_a64_6x3)
DEFINE_TILE(7, 3, 64, tile_a64_7x3)
DEFINE_TILE(8, 3, 64, tile_a64_8x3)
DEFINE_TILE(1, 4, 64, tile_a64_1x4)
DEFINE_TILE(2, 4, 64, tile_a64_2x4)
DEFINE_TILE(3, 4, 64, tile_a64_3x4)
DEFINE_TILE(4, 4, 64, tile_a64_4x4)
DEFINE_TILE(5, 4, 64, tile_a64_5x4)
DEFINE_TILE(6, 4, 64, tile_a64_6x4)

/* Two-line tiles: 2 lines of Q rows (Q up to p_max / 2), for the short
   lines of small images (a 7-pixel row of a 7x7 output). */
#define TWO_LINE(Q, V, AP, K) DEFINE_TILE_Q(2 * (Q), Q, V, AP, tile2_##K##_##Q##x##V)
#define FOR_TWO_LINE(X, AP, K)                                               \
    X(2, 1, AP, K) X(3, 1, AP, K) X(4, 1, AP, K) X(5, 1, AP, K)              \
    X(6, 1, AP, K) X(7, 1, AP, K) X(8, 1, AP, K)                             \
    X(2, 2, AP, K) X(3, 2, AP, K) X(4, 2, AP, K) X(5, 2, AP, K)              \
    X(6, 2, AP, K)                                                           \
    X(2, 3, AP, K) X(3, 3, AP, K) X(4, 3, AP, K)                             \
    X(2, 4, AP, K) X(3, 4, AP, K)
FOR_TWO_LINE(TWO_LINE, 0, r)
FOR_TWO_LINE(TWO_LINE, 16, a16)
FOR_TWO_LINE(TWO_LINE, 32, a32)
FOR_TWO_LINE(TWO_LINE, 64, a64)

enum { MAX_P = 16 };

/* Largest tile height for V vectors: P*V <= 24 accumulators. */
static const int p_max[5] = {0, 16, 12, 8, 6};

/* [a_p == 1][V - 1][P - 1] */
/* By A row stride (run time, 1, 16, 32, 64 floats), V - 1, P - 1. */
static const tile_fn tiles[5][4][MAX_P] = {
    {
        {tile_r1x1, tile_r2x1, tile_r3x1, tile_r4x1,
         tile_r5x1, tile_r6x1, tile_r7x1, tile_r8x1,
         tile_r9x1, tile_r10x1, tile_r11x1, tile_r12x1,
         tile_r13x1, tile_r14x1, tile_r15x1, tile_r16x1},
        {tile_r1x2, tile_r2x2, tile_r3x2, tile_r4x2,
         tile_r5x2, tile_r6x2, tile_r7x2, tile_r8x2,
         tile_r9x2, tile_r10x2, tile_r11x2, tile_r12x2,
         NULL, NULL, NULL, NULL},
        {tile_r1x3, tile_r2x3, tile_r3x3, tile_r4x3,
         tile_r5x3, tile_r6x3, tile_r7x3, tile_r8x3,
         NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL},
        {tile_r1x4, tile_r2x4, tile_r3x4, tile_r4x4,
         tile_r5x4, tile_r6x4, NULL, NULL,
         NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL},
    },
    {
        {tile_u1x1, tile_u2x1, tile_u3x1, tile_u4x1,
         tile_u5x1, tile_u6x1, tile_u7x1, tile_u8x1,
         tile_u9x1, tile_u10x1, tile_u11x1, tile_u12x1,
         tile_u13x1, tile_u14x1, tile_u15x1, tile_u16x1},
        {tile_u1x2, tile_u2x2, tile_u3x2, tile_u4x2,
         tile_u5x2, tile_u6x2, tile_u7x2, tile_u8x2,
         tile_u9x2, tile_u10x2, tile_u11x2, tile_u12x2,
         NULL, NULL, NULL, NULL},
        {tile_u1x3, tile_u2x3, tile_u3x3, tile_u4x3,
         tile_u5x3, tile_u6x3, tile_u7x3, tile_u8x3,
         NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL},
        {tile_u1x4, tile_u2x4, tile_u3x4, tile_u4x4,
         tile_u5x4, tile_u6x4, NULL, NULL,
         NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL},
    },
    {
        {tile_a16_1x1, tile_a16_2x1, tile_a16_3x1, tile_a16_4x1,
         tile_a16_5x1, tile_a16_6x1, tile_a16_7x1, tile_a16_8x1,
         tile_a16_9x1, tile_a16_10x1, tile_a16_11x1, tile_a16_12x1,
         tile_a16_13x1, tile_a16_14x1, tile_a16_15x1, tile_a16_16x1},
        {tile_a16_1x2, tile_a16_2x2, tile_a16_3x2, tile_a16_4x2,
         tile_a16_5x2, tile_a16_6x2, tile_a16_7x2, tile_a16_8x2,
         tile_a16_9x2, tile_a16_10x2, tile_a16_11x2, tile_a16_12x2,
         NULL, NULL, NULL, NULL},
        {tile_a16_1x3, tile_a16_2x3, tile_a16_3x3, tile_a16_4x3,
         tile_a16_5x3, tile_a16_6x3, tile_a16_7x3, tile_a16_8x3,
         NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL},
        {tile_a16_1x4, tile_a16_2x4, tile_a16_3x4, tile_a16_4x4,
         tile_a16_5x4, tile_a16_6x4, NULL, NULL,
         NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL},
    },
    {
        {tile_a32_1x1, tile_a32_2x1, tile_a32_3x1, tile_a32_4x1,
         tile_a32_5x1, tile_a32_6x1, tile_a32_7x1, tile_a32_8x1,
         tile_a32_9x1, tile_a32_10x1, tile_a32_11x1, tile_a32_12x1,
         tile_a32_13x1, tile_a32_14x1, tile_a32_15x1, tile_a32_16x1},
        {tile_a32_1x2, tile_a32_2x2, tile_a32_3x2, tile_a32_4x2,
         tile_a32_5x2, tile_a32_6x2, tile_a32_7x2, tile_a32_8x2,
         tile_a32_9x2, tile_a32_10x2, tile_a32_11x2, tile_a32_12x2,
         NULL, NULL, NULL, NULL},
        {tile_a32_1x3, tile_a32_2x3, tile_a32_3x3, tile_a32_4x3,
         tile_a32_5x3, tile_a32_6x3, tile_a32_7x3, tile_a32_8x3,
         NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL},
        {tile_a32_1x4, tile_a32_2x4, tile_a32_3x4, tile_a32_4x4,
         tile_a32_5x4, tile_a32_6x4, NULL, NULL,
         NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL},
    },
    {
        {tile_a64_1x1, tile_a64_2x1, tile_a64_3x1, tile_a64_4x1,
         tile_a64_5x1, tile_a64_6x1, tile_a64_7x1, tile_a64_8x1,
         tile_a64_9x1, tile_a64_10x1, tile_a64_11x1, tile_a64_12x1,
         tile_a64_13x1, tile_a64_14x1, tile_a64_15x1, tile_a64_16x1},
        {tile_a64_1x2, tile_a64_2x2, tile_a64_3x2, tile_a64_4x2,
         tile_a64_5x2, tile_a64_6x2, tile_a64_7x2, tile_a64_8x2,
         tile_a64_9x2, tile_a64_10x2, tile_a64_11x2, tile_a64_12x2,
         NULL, NULL, NULL, NULL},
        {tile_a64_1x3, tile_a64_2x3, tile_a64_3x3, tile_a64_4x3,
         tile_a64_5x3, tile_a64_6x3, tile_a64_7x3, tile_a64_8x3,
         NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL},
        {tile_a64_1x4, tile_a64_2x4, tile_a64_3x4, tile_a64_4x4,
         tile_a64_5x4, tile_a64_6x4, NULL, NULL,
         NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL},
    },
};

/* Two-line tiles by A row stride (as tiles; none for stride 1), V - 1,
   Q - 1. */
enum { KIND_r = 0, KIND_a16 = 2, KIND_a32 = 3, KIND_a64 = 4, MAX_Q = 8 };
#define TWO_ENTRY(Q, V, AP, K) [KIND_##K][V - 1][Q - 1] = tile2_##K##_##Q##x##V,
static const tile_fn tiles2[5][4][MAX_Q] = {
    FOR_TWO_LINE(TWO_ENTRY, 0, r) FOR_TWO_LINE(TWO_ENTRY, 16, a16)
    FOR_TWO_LINE(TWO_ENTRY, 32, a32) FOR_TWO_LINE(TWO_ENTRY, 64, a64)};

/* The tile kind of a column chunk of nc columns: the constant-stride
   tiles a_p = 16, 32, 64 have no masked variant, ragged columns take the
   run-time-stride tiles. */
static int chunk_kind(const avx512_gemm *t, int nc)
{
    return t->a_p == 1    ? 1
           : nc % 16      ? 0
           : t->a_p == 16 ? 2
           : t->a_p == 32 ? 3
           : t->a_p == 64 ? 4
                          : 0;
}

/* L rows of one column chunk (columns c0 .., V vectors, masks mk), row 0
   at A offset a0 and out / mask offset o0: as few tiles as p_max allows,
   of balanced sizes. */
static void chunk_rows(const avx512_gemm *t, int kind, int V,
                       const __mmask16 *mk, int c0, ptrdiff_t L, ptrdiff_t a0,
                       ptrdiff_t o0)
{
    const int pm = p_max[V];
    const ptrdiff_t ntiles = (L + pm - 1) / pm;
    /* ntiles tiles: the first `big` of base + 1 rows, the rest base */
    const ptrdiff_t base = L / ntiles, big = L % ntiles;
    ptrdiff_t p0 = 0;
    for (int part = 0; part < 2; part++) {
        const ptrdiff_t nt = part == 0 ? big : ntiles - big;
        const int P = (int)(part == 0 ? base + 1 : base);
        if (nt == 0 || P == 0)
            continue;
        const ptrdiff_t o = o0 + p0 * t->out_p + c0;
        tiles[kind][V - 1][P - 1](t, nt, a0 + p0 * t->a_p, c0, t->out + o,
                                  t->bias ? t->bias + c0 : NULL,
                                  t->mask ? t->mask + o : NULL, mk);
        p0 += nt * P;
    }
}

void cnn_avx512_gemm(ptrdiff_t L, int cols, const avx512_gemm *t)
{
    if (L <= 0 || cols <= 0)
        return;
    for (int c0 = 0; c0 < cols; c0 += 64) {
        const int nc = cols - c0 < 64 ? cols - c0 : 64;
        const int V = (nc + 15) / 16;
        __mmask16 mk[4];
        for (int v = 0; v < V; v++)
            mk[v] = cnn_avx512_lanes(nc - 16 * v);
        chunk_rows(t, chunk_kind(t, nc), V, mk, c0, L, 0, 0);
    }
}

void cnn_avx512_gemm_grid(ptrdiff_t R, ptrdiff_t Q, int cols,
                          const avx512_gemm *t)
{
    if (R <= 0 || Q <= 0 || cols <= 0)
        return;
    if (Q == 1) { /* one column of R rows: the lines as rows */
        avx512_gemm u = *t;
        u.a_p = t->a_r;
        u.out_p = t->out_r;
        cnn_avx512_gemm(R, cols, &u);
        return;
    }
    for (int c0 = 0; c0 < cols; c0 += 64) {
        const int nc = cols - c0 < 64 ? cols - c0 : 64;
        const int V = (nc + 15) / 16, kind = chunk_kind(t, nc);
        __mmask16 mk[4];
        for (int v = 0; v < V; v++)
            mk[v] = cnn_avx512_lanes(nc - 16 * v);
        ptrdiff_t r = 0;
        const tile_fn two = R >= 2 && 2 * Q <= p_max[V] && Q <= MAX_Q
                                ? tiles2[kind][V - 1][Q - 1]
                                : NULL;
        if (two) { /* pairs of lines */
            two(t, R / 2, 0, c0, t->out + c0, t->bias ? t->bias + c0 : NULL,
                t->mask ? t->mask + c0 : NULL, mk);
            r = 2 * (R / 2);
        }
        for (; r < R; r++)
            chunk_rows(t, kind, V, mk, c0, Q, r * t->a_r, r * t->out_r);
    }
}

void cnn_avx512_bias_grad(ptrdiff_t npix, int M, const float *dy, float *db)
{
    for (int c = 0; c < M; c += 16) {
        const __mmask16 mk = cnn_avx512_lanes(M - c);
        const float *d = dy + c;
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        ptrdiff_t p = 0;
        for (; p + 4 <= npix; p += 4, d += 4 * (ptrdiff_t)M) {
            s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(mk, d));
            s1 = _mm512_add_ps(s1, _mm512_maskz_loadu_ps(mk, d + M));
            s2 = _mm512_add_ps(s2, _mm512_maskz_loadu_ps(mk, d + 2 * M));
            s3 = _mm512_add_ps(s3, _mm512_maskz_loadu_ps(mk, d + 3 * M));
        }
        for (; p < npix; p++, d += M)
            s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(mk, d));
        const __m512 s = _mm512_add_ps(_mm512_add_ps(s0, s1),
                                       _mm512_add_ps(s2, s3));
        const __m512 old = _mm512_maskz_loadu_ps(mk, db + c);
        _mm512_mask_storeu_ps(db + c, mk, _mm512_add_ps(old, s));
    }
}
