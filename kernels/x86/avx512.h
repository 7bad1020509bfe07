/*
 * avx512.h — what the AVX-512 kernels (the kernels/x86 files named
 * -avx512.c) share: the register-tile GEMM machinery (gemm-avx512.c).  The
 * kernels themselves are declared in families.h.
 * Only files compiled with the AVX-512 flags may include it.
 *
 * Every conv and dense pass of this set is a sequence of small GEMMs
 *   out[p][c] (+)= sum over segments s, steps e < len_s of
 *                  a_s[p*a_p + e*a_e] * b_s[e*ldb + c]
 * done by register tiles of P rows (pixels, or input channels for
 * backward-weights) times V zmm vectors of 16 columns (channels): the A
 * scalars are broadcast, the B rows loaded once per step and shared by the
 * P rows.  Column tails use AVX-512 masks.  A "segment" is one contiguous
 * run of the reduction (one kernel row of a 3x3 tap window, one image row
 * of pixels), so padding is handled by choosing segments outside the tile.
 */
#ifndef CNN_KERNELS_X86_AVX512_H
#define CNN_KERNELS_X86_AVX512_H

#include <immintrin.h>
#include <stddef.h>

#include "families.h"

/* ------------------------------------- GEMM tiles (gemm-avx512.c) */

/* One run of the reduction: A at row 0, step 0; B at step 0, column 0. */
typedef struct avx512_seg {
    const float *a, *b;
    ptrdiff_t len;
} avx512_seg;

/* A GEMM over rows [0, L) and columns [0, cols) (see the file comment):
   row p of the output is out + p*out_p; mask, when not NULL, is indexed
   like out and zeroes outputs whose mask is not > 0; bias (per column) is
   the start when not accumulating; relu zeroes negative outputs; accum
   starts from out's own values.  a_r and out_r: the line strides of
   cnn_avx512_gemm_grid (unused by cnn_avx512_gemm). */
typedef struct avx512_gemm {
    const avx512_seg *seg;
    int nseg;
    ptrdiff_t a_p, a_e, ldb;
    float *out;
    ptrdiff_t out_p;
    ptrdiff_t a_r, out_r;
    const float *bias, *mask;
    int accum, relu;
} avx512_gemm;

/* Run the GEMM over L rows and cols columns: columns in chunks of up to 4
   vectors, rows in balanced register tiles. */
void cnn_avx512_gemm(ptrdiff_t L, int cols, const avx512_gemm *t);

/* The same GEMM over a grid of R lines of Q rows: row q of line r is row
   r*a_r + q*a_p of A (in floats, added to the segments' a) and at
   out + r*out_r + q*out_p (mask likewise).  Short lines go by pairs in
   two-line tiles, a one-row line by columns; the tiles of a grid depend
   on R, Q and cols only. */
void cnn_avx512_gemm_grid(ptrdiff_t R, ptrdiff_t Q, int cols,
                          const avx512_gemm *t);

/* db[c] += sum over npix pixels of dy[p*M + c], c < M. */
void cnn_avx512_bias_grad(ptrdiff_t npix, int M, const float *dy, float *db);

/* ------------------- 3x3 stride-2 narrow backward data (conv3x3s2-...) */

/* Backward data of a 3x3 stride-2 geometry with in_c <= 16 (the contract
   of cnn_conv3x3_backward_data_avx512, wt packed by
   cnn_conv3x3_pack_backward_data_avx512; slot_of[kx]: tap kx's slot). */
void cnn_avx512_conv3x3s2_backward_data_narrow(const cnn_conv_geom *g, int n,
                                               const float *dy,
                                               const float *wt,
                                               const int *slot_of,
                                               const float *mask, float *dx);

/* ------------------ 5x5 first layer of 8 outputs (conv5x5c1-pairs-...) */

/* The widest padded image (floats a row) the pair kernels take. */
#define CNN_AVX512_C1X8_PW_CAP 64

/* One image of a 5x5, stride-1, one-input-channel geometry of 8 outputs,
   zero-padded into xp (rows of pw <= CNN_AVX512_C1X8_PW_CAP floats,
   out_h + 4 of them): the passes of cnn_conv3x3c1_*_avx512 for it. */
void cnn_avx512_c1x8_forward_image(const cnn_conv_geom *g, const float *xp,
                                   int pw, const float *w, const float *b,
                                   float *y, int relu);
void cnn_avx512_c1x8_backward_weights_image(const cnn_conv_geom *g,
                                            const float *xp, int pw,
                                            const float *dy, float *dw,
                                            float *db);

/* Mask of the first n (1..16) lanes. */
static inline __mmask16 cnn_avx512_lanes(int n)
{
    return (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
}

#endif /* CNN_KERNELS_X86_AVX512_H */
